/* stress - generates persistent-state events as fast as asked, for the
 * benchmarks: `stress MODE SECONDS [RATE]`.
 *   open   open and close an existing file (one `open` event each)
 *   create create, write, close and unlink a file (create, modify, delete)
 *   fork   fork and exec /bin/true (fork, exec, exit)
 * RATE, when given, caps operations per second (paced every millisecond).
 * Prints "OPS SECONDS" on stdout: operations done and time taken. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: stress open|create|fork SECONDS [RATE]\n");
		return 2;
	}
	const char *mode = argv[1];
	double secs = atof(argv[2]);
	double rate = argc > 3 ? atof(argv[3]) : 0;
	char dir[] = "/tmp/frstress-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char path[64];
	snprintf(path, sizeof(path), "%s/f", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	unsigned long long ops = 0;
	double t0 = now(), end = t0 + secs;
	for (;;) {
		double t = now();
		if (t >= end)
			break;
		if (rate > 0 && ops >= (t - t0) * rate) {
			usleep(1000);
			continue;
		}
		for (int burst = 0; burst < 16; burst++) {
			if (!strcmp(mode, "open")) {
				fd = open(path, O_RDONLY);
				close(fd);
			} else if (!strcmp(mode, "create")) {
				char p2[80];
				snprintf(p2, sizeof(p2), "%s/c%llu", dir, ops & 1023);
				fd = open(p2, O_CREAT | O_WRONLY | O_TRUNC, 0644);
				if (write(fd, "x", 1) < 0)
					return 1;
				close(fd);
				unlink(p2);
			} else if (!strcmp(mode, "fork")) {
				pid_t pid = fork();
				if (pid == 0) {
					execl("/bin/true", "true", (char *)NULL);
					_exit(127);
				}
				waitpid(pid, NULL, 0);
			} else {
				fprintf(stderr, "stress: unknown mode %s\n", mode);
				return 2;
			}
			ops++;
			if (rate > 0)
				break;
		}
	}
	double took = now() - t0;
	unlink(path);
	rmdir(dir);
	printf("%llu %.3f\n", ops, took);
	return 0;
}
