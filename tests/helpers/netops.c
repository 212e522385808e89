/* netops - opens a TCP listener and a UDP listener on 127.0.0.1, connects to
 * the TCP one, accepts, then closes everything, for tests/integration/net.t.
 * Prints "TCP_PORT UDP_PORT CLIENT_PORT" on stdout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "netops: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("getsockname");
	return ntohs(a.sin_port);
}

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);

	int tl = socket(AF_INET, SOCK_STREAM, 0);
	if (tl < 0 || bind(tl, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(tl, 4) < 0)
		die("tcp listen");
	int ul = socket(AF_INET, SOCK_DGRAM, 0);
	if (ul < 0 || bind(ul, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("udp bind");
	unsigned tport = port_of(tl), uport = port_of(ul);

	struct sockaddr_in to = a;
	to.sin_port = htons(tport);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&to, sizeof(to)) < 0)
		die("connect");
	int s = accept(tl, NULL, NULL);
	if (s < 0)
		die("accept");
	unsigned cport = port_of(c);
	close(s);
	close(c);
	close(tl);
	close(ul);
	printf("%u %u %u\n", tport, uport, cport);
	return 0;
}
