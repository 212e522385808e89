/* procscan.c - what already existed when recording started, from /proc.
 *
 * Why: events name processes by pid; a process that was running before
 * flightrec started (sshd, a login shell, a daemon) would otherwise be a pid
 * without a name. At start we emit a `proc` record per process and a
 * `socket` record per listening socket, then keep the process table for
 * filling `exe` on later events. */
#include "sensor/sensor_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < cap - 1) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

char *procscan_exe(uint32_t pid)
{
	char p[64], target[PATH_MAX];
	snprintf(p, sizeof(p), "/proc/%u/exe", pid);
	ssize_t n = readlink(p, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	return strdup(target);
}

static uint32_t read_id(uint32_t pid, const char *file)
{
	char p[64], buf[32];
	snprintf(p, sizeof(p), "/proc/%u/%s", pid, file);
	if (read_small(p, buf, sizeof(buf)) <= 0)
		return FR_ID_UNSET;
	return (uint32_t)strtoul(buf, NULL, 10);
}

/* cgroup v2 id: the inode number of the process's cgroup directory. */
static uint64_t cgroup_id_of(uint32_t pid)
{
	char p[64], buf[4096], dir[4200];
	snprintf(p, sizeof(p), "/proc/%u/cgroup", pid);
	if (read_small(p, buf, sizeof(buf)) <= 0)
		return 0;
	char *line = strstr(buf, "0::");
	if (!line)
		return 0;
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	if (!strcmp(line, "/"))
		return 1; /* the kernel's id of the root cgroup */
	struct statfs sfs;
	if (statfs("/sys/fs/cgroup", &sfs) != 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
		return 0; /* no cgroup2 mount to look the id up in */
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", line);
	struct stat st;
	return stat(dir, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static int emit_proc(const char *host, const struct sensor_clock *clk, struct proc_table *procs, uint32_t pid,
		     fr_sensor_cb cb, void *ctx)
{
	char p[64], stat[1024], status[4096], comm[64] = "", cmdline[8192], cwd[PATH_MAX];
	snprintf(p, sizeof(p), "/proc/%u/stat", pid);
	if (read_small(p, stat, sizeof(stat)) <= 0)
		return 0; /* gone */
	/* comm is in parentheses and may itself contain ") " */
	char *lp = strchr(stat, '('), *rp = strrchr(stat, ')');
	if (!lp || !rp || rp < lp)
		return 0;
	size_t cl = (size_t)(rp - lp - 1);
	if (cl >= sizeof(comm))
		cl = sizeof(comm) - 1;
	memcpy(comm, lp + 1, cl);
	comm[cl] = '\0';
	unsigned ppid = 0;
	int tty_nr = 0;
	unsigned long long starttime = 0;
	/* fields after comm: state ppid pgrp session tty_nr ... starttime(22) */
	char state;
	int pgrp, session, tpgid;
	unsigned flags;
	unsigned long minflt, cminflt, majflt, cmajflt, utime, stime;
	long cutime, cstime, prio, nice, nthreads, itreal;
	if (sscanf(rp + 2, "%c %u %d %d %d %d %u %lu %lu %lu %lu %lu %lu %ld %ld %ld %ld %ld %ld %llu", &state,
		   &ppid, &pgrp, &session, &tty_nr, &tpgid, &flags, &minflt, &cminflt, &majflt, &cmajflt, &utime,
		   &stime, &cutime, &cstime, &prio, &nice, &nthreads, &itreal, &starttime) != 20)
		return 0;
	if (state == 'Z')
		return 0;
	struct fr_event ev = {0};
	uint32_t uids[4] = {0};
	snprintf(p, sizeof(p), "/proc/%u/status", pid);
	if (read_small(p, status, sizeof(status)) > 0) {
		char *u = strstr(status, "\nUid:");
		if (u)
			sscanf(u + 5, "%u %u %u %u", &uids[0], &uids[1], &uids[2], &uids[3]);
	}
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t boot_ns = starttime * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
	ev.ts_ns = sensor_now(clk);
	ev.kind = FR_EV_PROC;
	ev.pid = ev.tid = pid;
	ev.ppid = ppid;
	ev.uid = uids[0];
	ev.euid = uids[1];
	ev.auid = read_id(pid, "loginuid");
	ev.ses = read_id(pid, "sessionid");
	ev.tty = tty_nr > 0 ? (uint32_t)(((tty_nr >> 8) & 0xfff) << 20 | ((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00)))
			   : 0;
	ev.cgroup = cgroup_id_of(pid);
	ev.pstart_ns = sensor_pstart_utc(clk, boot_ns);
	ev.host = host;
	ev.comm = comm;
	char *exe = procscan_exe(pid);
	ev.exe = exe;
	ev.path = exe;
	snprintf(p, sizeof(p), "/proc/%u/cmdline", pid);
	ssize_t n = read_small(p, cmdline, sizeof(cmdline));
	if (n > 0) {
		ev.argv = cmdline;
		ev.argv_len = (uint32_t)n;
		if ((size_t)n == sizeof(cmdline) - 1)
			ev.trunc |= FR_TRUNC_ARGV;
	}
	snprintf(p, sizeof(p), "/proc/%u/cwd", pid);
	ssize_t cn = readlink(p, cwd, sizeof(cwd) - 1);
	if (cn > 0) {
		cwd[cn] = '\0';
		ev.cwd = cwd;
	}
	int r = cb(&ev, ctx);
	proc_table_put(procs, pid, ppid, boot_ns / 10000000ull, exe);
	return r;
}

struct sock_row {
	uint64_t inode;
	uint32_t proto, port;
	struct fr_addr addr;
	uint32_t pid;
};

static int parse_net(const char *file, uint32_t proto, int v6, struct sock_row **rows, size_t *nrows, size_t *cap)
{
	FILE *f = fopen(file, "re");
	if (!f)
		return 0;
	char line[512];
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned st;
		unsigned long long inode;
		if (sscanf(line, "%*d: %63s %63s %x %*s %*s %*s %*u %*u %llu", local, remote, &st, &inode) != 4)
			continue;
		if (proto == FR_PROTO_TCP && st != 0x0A)
			continue; /* LISTEN only */
		if (proto == FR_PROTO_UDP && st != 0x07)
			continue;
		char *colon = strchr(local, ':');
		if (!colon)
			continue;
		*colon = '\0';
		unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
		if (proto == FR_PROTO_UDP && port == 0)
			continue;
		if (*nrows == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			struct sock_row *nr = realloc(*rows, nc * sizeof(*nr));
			if (!nr) {
				fclose(f);
				return -ENOMEM;
			}
			*rows = nr;
			*cap = nc;
		}
		struct sock_row *r = &(*rows)[(*nrows)++];
		memset(r, 0, sizeof(*r));
		r->inode = inode;
		r->proto = proto;
		r->port = port;
		r->addr.family = v6 ? 6 : 4;
		/* /proc/net prints each 32-bit word in host order, as hex */
		for (int w = 0; w < (v6 ? 4 : 1); w++) {
			char word[9] = {0};
			memcpy(word, local + w * 8, 8);
			uint32_t v = (uint32_t)strtoul(word, NULL, 16);
			memcpy(r->addr.bytes + w * 4, &v, 4);
		}
	}
	fclose(f);
	return 0;
}

/* Which process holds each socket inode: one pass over /proc/PID/fd. */
static void owners(struct sock_row *rows, size_t n, uint32_t self_pid)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		uint32_t pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		if (pid == self_pid)
			continue;
		char fdpath[64];
		snprintf(fdpath, sizeof(fdpath), "/proc/%u/fd", pid);
		DIR *fd = opendir(fdpath);
		if (!fd)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fd))) {
			char target[64];
			ssize_t k = readlinkat(dirfd(fd), fe->d_name, target, sizeof(target) - 1);
			if (k <= 0)
				continue;
			target[k] = '\0';
			unsigned long long ino;
			if (sscanf(target, "socket:[%llu]", &ino) != 1)
				continue;
			for (size_t i = 0; i < n; i++)
				if (rows[i].inode == ino && !rows[i].pid)
					rows[i].pid = pid;
		}
		closedir(fd);
	}
	closedir(d);
}

int procscan_run(const char *host, const struct sensor_clock *clk, struct proc_table *procs, uint32_t self_pid,
		 fr_sensor_cb cb, void *ctx)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	int r = 0;
	while (r >= 0 && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		uint32_t pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		if (pid == self_pid)
			continue;
		r = emit_proc(host, clk, procs, pid, cb, ctx);
	}
	closedir(d);
	if (r < 0)
		return r;

	struct sock_row *rows = NULL;
	size_t n = 0, cap = 0;
	r = parse_net("/proc/net/tcp", FR_PROTO_TCP, 0, &rows, &n, &cap);
	if (!r) r = parse_net("/proc/net/tcp6", FR_PROTO_TCP, 1, &rows, &n, &cap);
	if (!r) r = parse_net("/proc/net/udp", FR_PROTO_UDP, 0, &rows, &n, &cap);
	if (!r) r = parse_net("/proc/net/udp6", FR_PROTO_UDP, 1, &rows, &n, &cap);
	if (r < 0) {
		free(rows);
		return r;
	}
	owners(rows, n, self_pid);
	uint64_t now = sensor_now(clk);
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct fr_event ev = {0};
		ev.ts_ns = now;
		ev.kind = FR_EV_SOCKET;
		ev.host = host;
		ev.auid = ev.ses = FR_ID_UNSET;
		ev.pid = ev.tid = rows[i].pid;
		struct proc_entry *pe = rows[i].pid ? proc_table_get(procs, rows[i].pid) : NULL;
		if (pe) {
			ev.exe = pe->exe;
			ev.ppid = pe->ppid;
		}
		ev.proto = rows[i].proto;
		ev.port = rows[i].port;
		ev.addr = rows[i].addr;
		ev.inode = rows[i].inode;
		r = cb(&ev, ctx);
	}
	free(rows);
	return r < 0 ? r : 0;
}
