/* fsops - performs a fixed sequence of file operations under BASE, with
 * absolute paths, relative paths, dirfd-relative *at() calls and paths after
 * chdir, for tests/integration/files_syscalls.t, which knows the sequence. */

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CHECK(x)                                                                                          \
	do {                                                                                              \
		if ((x) < 0) {                                                                            \
			fprintf(stderr, "fsops: %s: %s\n", #x, strerror(errno));                          \
			exit(1);                                                                          \
		}                                                                                         \
	} while (0)

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fsops BASE\n");
		return 2;
	}
	const char *base = argv[1];
	char p[4096];

	snprintf(p, sizeof(p), "%s/abs.txt", base);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* create abs.txt */
	CHECK(fd);
	CHECK(write(fd, "x", 1)); /* modify abs.txt */
	CHECK(write(fd, "y", 1)); /* (no second modify) */
	close(fd);
	CHECK(chmod(p, 0755)); /* chmod abs.txt */

	CHECK(chdir(base));
	int rel = open("rel.txt", O_WRONLY | O_CREAT, 0600); /* create rel.txt */
	CHECK(rel);
	CHECK(mkdir("sub", 0755)); /* mkdir sub */
	int dirfd = open("sub", O_RDONLY | O_DIRECTORY); /* open sub */
	CHECK(dirfd);
	int at = openat(dirfd, "at.txt", O_WRONLY | O_CREAT, 0640); /* create sub/at.txt */
	CHECK(at);
	close(at);
	CHECK(renameat(dirfd, "at.txt", AT_FDCWD, "moved.txt")); /* rename sub/at.txt -> moved.txt */
	CHECK(linkat(AT_FDCWD, "moved.txt", dirfd, "hard.txt", 0)); /* link moved.txt -> sub/hard.txt */
	CHECK(symlinkat("../moved.txt", dirfd, "sym")); /* symlink sub/sym -> ../moved.txt */
	CHECK(fchmodat(dirfd, "hard.txt", 0600, 0)); /* chmod sub/hard.txt */
	CHECK(fchownat(dirfd, "hard.txt", 1, 1, 0)); /* chown sub/hard.txt 1:1 */
	CHECK(truncate("moved.txt", 10)); /* truncate moved.txt 10 */
	CHECK(ftruncate(rel, 5)); /* truncate rel.txt 5 */
	CHECK(fchmod(rel, 0604)); /* chmod rel.txt */
	CHECK(fchown(rel, 2, 2)); /* chown rel.txt 2:2 */
	CHECK(pwrite(rel, "z", 1, 0)); /* modify rel.txt */
	close(rel);

	CHECK(chdir("sub"));
	CHECK(unlink("../rel.txt")); /* delete rel.txt */
	CHECK(unlinkat(dirfd, "sym", 0)); /* delete sub/sym */
	CHECK(mkdirat(dirfd, "d2", 0700)); /* mkdir sub/d2 */
	CHECK(unlinkat(dirfd, "d2", AT_REMOVEDIR)); /* rmdir sub/d2 */
	CHECK(mkdir("./d3/", 0711)); /* mkdir sub/d3 */
	CHECK(rmdir("d3")); /* rmdir sub/d3 */
	int c = creat("viacreat.txt", 0644); /* create sub/viacreat.txt */
	CHECK(c);
	close(c);
	snprintf(p, sizeof(p), "%s/final.txt", base);
	CHECK(rename("hard.txt", p)); /* rename sub/hard.txt -> final.txt */
	struct open_how how = {.flags = O_RDONLY};
	int o2 = (int)syscall(SYS_openat2, AT_FDCWD, "../abs.txt", &how, sizeof(how)); /* open abs.txt */
	CHECK(o2);
	close(o2);

	/* failures: each must appear once, with its error */
	if (open("/nonexistent-dir/x", O_RDONLY) >= 0 || errno != ENOENT)
		return 1; /* open /nonexistent-dir/x ENOENT */
	if (open("missing.txt", O_RDONLY) >= 0 || errno != ENOENT)
		return 1; /* open sub/missing.txt ENOENT */
	if (unlink("missing2") == 0 || errno != ENOENT)
		return 1; /* delete sub/missing2 ENOENT */
	if (mkdir("..", 0755) == 0 || errno != EEXIST)
		return 1; /* mkdir BASE EEXIST */
	close(dirfd);
	return 0;
}
