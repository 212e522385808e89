/* fl_testgen.h - random and realistic event streams for the flight log tests
 * and benchmark.
 *
 * Why: the round-trip property test needs events that exercise every kind
 * and every field (NULL vs "", huge values, argv with embedded NULs), and the
 * benchmark needs steady, realistic workloads; both share one generator.
 * Strings live in a per-stream arena freed by gen_free. */
#ifndef FLIGHTREC_FL_TESTGEN_H
#define FLIGHTREC_FL_TESTGEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "flightlog/flightlog.h"

struct gen {
	uint64_t rng;
	char **allocs;
	size_t nallocs, capallocs;
	struct fr_event *ev;
	size_t n, cap;
};

static inline uint64_t gen_rand(struct gen *g)
{
	/* splitmix64 */
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static inline uint64_t gen_below(struct gen *g, uint64_t n) { return n ? gen_rand(g) % n : 0; }

static inline char *gen_keep(struct gen *g, char *p)
{
	if (g->nallocs == g->capallocs) {
		g->capallocs = g->capallocs ? g->capallocs * 2 : 256;
		g->allocs = realloc(g->allocs, g->capallocs * sizeof(char *));
		if (!g->allocs)
			abort();
	}
	g->allocs[g->nallocs++] = p;
	return p;
}

/* Remove a test's temporary directory tree (the tests that write stores). */
static inline void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		printf("# rm failed\n");
}

static inline const char *gen_strdup(struct gen *g, const char *s)
{
	return gen_keep(g, strdup(s));
}

static inline struct fr_event *gen_push(struct gen *g)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1024;
		g->ev = realloc(g->ev, g->cap * sizeof(*g->ev));
		if (!g->ev)
			abort();
	}
	struct fr_event *e = &g->ev[g->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static inline void gen_free(struct gen *g)
{
	for (size_t i = 0; i < g->nallocs; i++)
		free(g->allocs[i]);
	free(g->allocs);
	free(g->ev);
	memset(g, 0, sizeof(*g));
}

/* A random string: NULL, "", from a small pool, or random non-NUL bytes. */
static inline const char *gen_str(struct gen *g)
{
	static const char *pool[] = {"/etc/passwd", "/usr/bin/bash", "bash", "host-a", "/tmp",
				     "\xff\xfe\x01 weird \"quoted\" \\ bytes", "nginx"};
	switch (gen_below(g, 6)) {
	case 0: return NULL;
	case 1: return gen_strdup(g, "");
	case 2:
	case 3: return pool[gen_below(g, sizeof(pool) / sizeof(pool[0]))];
	default: {
		size_t n = 1 + gen_below(g, gen_below(g, 8) ? 40 : 5000);
		char *s = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			s[i] = (char)(1 + gen_below(g, 255));
		s[n] = 0;
		return gen_keep(g, s);
	}
	}
}

static inline uint64_t gen_num(struct gen *g)
{
	switch (gen_below(g, 6)) {
	case 0: return 0;
	case 1: return UINT64_MAX - gen_below(g, 3);
	case 2: return gen_below(g, 10);
	case 3: return 1ull << gen_below(g, 64);
	default: return gen_rand(g);
	}
}

static inline void gen_addr(struct gen *g, struct fr_addr *a)
{
	if (gen_below(g, 3) == 0)
		return;
	a->family = (uint8_t)gen_rand(g);
	for (int i = 0; i < 16; i++)
		a->bytes[i] = (uint8_t)gen_rand(g);
}

/* One fully random event: any kind (including unknown numbers), any field. */
static inline void gen_random_event(struct gen *g, struct fr_event *e, int chaos)
{
	e->ts_ns = chaos ? gen_num(g) : 1700000000000000000ull + g->n * 1000 + gen_below(g, 999);
	e->kind = gen_below(g, 10) ? (uint32_t)gen_below(g, FR_EV__COUNT) : (uint32_t)gen_num(g);
	e->pid = chaos ? (uint32_t)gen_num(g) : 100 + (uint32_t)gen_below(g, 20);
	e->tid = gen_below(g, 2) ? e->pid : (uint32_t)gen_num(g);
	e->ppid = (uint32_t)gen_num(g);
	e->uid = (uint32_t)gen_num(g);
	e->euid = (uint32_t)gen_num(g);
	e->auid = gen_below(g, 2) ? FR_ID_UNSET : (uint32_t)gen_num(g);
	e->ses = (uint32_t)gen_num(g);
	e->tty = (uint32_t)gen_num(g);
	e->error = (int32_t)gen_num(g);
	e->cgroup = gen_num(g);
	e->pstart_ns = gen_num(g);
	e->host = gen_str(g);
	e->comm = gen_str(g);
	e->exe = gen_str(g);
	e->path = gen_str(g);
	e->path2 = gen_str(g);
	switch (gen_below(g, 4)) {
	case 0: e->argv = NULL; e->argv_len = 0; break;
	case 1: e->argv = gen_strdup(g, ""); e->argv_len = 0; break;
	default: {
		uint32_t n = 1 + (uint32_t)gen_below(g, 300);
		char *a = malloc(n);
		for (uint32_t i = 0; i < n; i++)
			a[i] = gen_below(g, 4) ? (char)gen_rand(g) : 0;
		e->argv = gen_keep(g, a);
		e->argv_len = n;
	}
	}
	e->cwd = gen_str(g);
	e->trunc = (uint32_t)gen_num(g);
	e->flags = (uint32_t)gen_num(g);
	e->mode = (uint32_t)gen_num(g);
	e->owner = (uint32_t)gen_num(g);
	e->group = (uint32_t)gen_num(g);
	e->length = gen_num(g);
	e->child_pid = (uint32_t)gen_num(g);
	e->target_pid = (uint32_t)gen_num(g);
	e->target_comm = gen_str(g);
	e->signal = (int32_t)gen_num(g);
	e->code = (int32_t)gen_num(g);
	e->new_uid = (uint32_t)gen_num(g);
	e->new_euid = (uint32_t)gen_num(g);
	e->proto = (uint32_t)gen_num(g);
	e->port = (uint32_t)gen_num(g);
	e->rport = (uint32_t)gen_num(g);
	gen_addr(g, &e->addr);
	gen_addr(g, &e->raddr);
	e->count = gen_num(g);
	e->inode = gen_num(g);
	e->line = gen_str(g);
}

/* A random stream mixing fully random events with copies of earlier ones
 * (partially mutated), so the "same as before" paths get exercised. */
static inline void gen_random_stream(struct gen *g, size_t n, int chaos)
{
	for (size_t i = 0; i < n; i++) {
		size_t have = g->n;
		struct fr_event *e = gen_push(g);
		if (have && gen_below(g, 3)) {
			*e = g->ev[gen_below(g, have)];
			e->ts_ns += gen_below(g, 100000);
			if (gen_below(g, 2))
				e->path = gen_str(g);
			if (gen_below(g, 4) == 0)
				e->line = gen_str(g);
			if (gen_below(g, 4) == 0)
				e->pid = (uint32_t)gen_num(g);
			if (gen_below(g, 4) == 0)
				e->kind = (uint32_t)gen_below(g, FR_EV__COUNT);
		} else {
			gen_random_event(g, e, chaos);
		}
	}
}

/* ---- realistic workloads for the benchmark ---- */

static inline void gen_ctx(struct fr_event *e, uint32_t pid, uint32_t ppid, const char *comm,
			   const char *exe, uint64_t pstart)
{
	e->pid = e->tid = pid;
	e->ppid = ppid;
	e->uid = e->euid = 33;
	e->auid = FR_ID_UNSET;
	e->ses = FR_ID_UNSET;
	e->cgroup = 4242;
	e->pstart_ns = pstart;
	e->host = "web-01";
	e->comm = comm;
	e->exe = exe;
}

/* nginx-like: 4 workers; each request opens the file asked for (a few hot
 * ones), sometimes a missing one, and appends to the access log. Requests
 * arrive with exponential-ish gaps; events within a request a few us apart.
 * Timestamps keep full nanosecond jitter. */
static inline void gen_nginx(struct gen *g, size_t n)
{
	static const char *files[] = {"/var/www/html/index.html", "/var/www/html/style.css",
				      "/var/www/html/app.js", "/var/www/html/logo.png",
				      "/var/www/html/favicon.ico", "/var/www/html/api/status.json"};
	uint64_t t = 1700000000000000000ull;
	while (g->n < n) {
		uint32_t w = (uint32_t)gen_below(g, 4);
		t += 200000 + gen_below(g, 800000); /* 0.2 - 1 ms between requests */
		struct fr_event *e = gen_push(g);
		gen_ctx(e, 2001 + w, 2000, "nginx", "/usr/sbin/nginx", 1699990000000000000ull + w * 1000);
		e->ts_ns = t;
		unsigned f = (unsigned)gen_below(g, 16);
		e->kind = FR_EV_OPEN;
		e->flags = 04000 | 02000000; /* O_NONBLOCK | O_CLOEXEC */
		if (f < 6) {
			e->path = files[f];
		} else if (f < 15) {
			e->path = files[f % 3];
		} else {
			e->path = "/var/www/html/missing.html";
			e->error = 2;
		}
		if (gen_below(g, 8) == 0 && g->n < n) { /* log rotation check */
			struct fr_event *l = gen_push(g);
			*l = g->ev[g->n - 2]; /* gen_push may move e */
			l->ts_ns = t + 3000 + gen_below(g, 2000);
			l->kind = FR_EV_MODIFY;
			l->path = "/var/log/nginx/access.log";
			l->flags = 0;
			l->error = 0;
		}
	}
	g->n = n;
}

/* Loopback TCP, as a local reverse proxy or database client sees it: a
 * client connects from an ephemeral port (previous + 2*(1..8), as Linux
 * picks them) and a server worker accepts that same port as its peer's.
 * Mixed in: pairs in either order (different CPUs), several connections
 * in flight (accepts shuffled), bursts of more than 16 connects before
 * their accepts (the LOCAL_PEERS table overflows), connects to and
 * accepts from other hosts (never paired), a port used again after it
 * paired, a connect whose port equals the previous connect's (nothing
 * coded), opens in between. Deterministic for a given g->rng:
 * tests/fixtures/loopback-pre-peers.frl holds gen_loopback(rng 11, 600)
 * written before LOCAL_PEERS, and its test compares against this. */
static inline void gen_loopback_conn(struct gen *g, uint64_t t, uint32_t kind, uint32_t port, uint32_t rport,
				     int remote)
{
	struct fr_event *e = gen_push(g);
	if (kind == FR_EV_CONNECT)
		gen_ctx(e, 3000, 1, "python3", "/usr/bin/python3.12", 1699990000000000000ull);
	else
		gen_ctx(e, 3001 + (uint32_t)gen_below(g, 4), 3000 - 1, "nginx", "/usr/sbin/nginx",
			1699990000000001000ull);
	e->ts_ns = t;
	e->kind = kind;
	e->proto = FR_PROTO_TCP;
	e->port = port;
	e->rport = rport;
	e->addr.family = e->raddr.family = 2;
	e->addr.bytes[0] = e->raddr.bytes[0] = 127;
	e->addr.bytes[3] = e->raddr.bytes[3] = 1;
	if (remote)
		e->raddr.bytes[0] = 10, e->raddr.bytes[3] = (uint8_t)remote;
}

static inline void gen_loopback(struct gen *g, size_t n)
{
	uint64_t t = 1700000000000000000ull;
	uint32_t eph = 40000, pending[24], used[64];
	size_t nused = 0;
	while (g->n < n) {
		t += 100000 + gen_below(g, 400000);
		unsigned what = (unsigned)gen_below(g, 20);
		if (what < 10) { /* one pair, connect first mostly */
			eph += 2 * (1 + (uint32_t)gen_below(g, 8));
			if (eph > 60999)
				eph -= 28232;
			int acc_first = gen_below(g, 4) == 0;
			for (int k = 0; k < 2; k++)
				if ((k == 0) == acc_first)
					gen_loopback_conn(g, t + (uint64_t)k * 20000, FR_EV_ACCEPT, 8080, eph, 0);
				else
					gen_loopback_conn(g, t + (uint64_t)k * 20000, FR_EV_CONNECT, eph, 8080, 0);
			used[nused++ % 64] = eph;
		} else if (what < 13) { /* k in flight, or a burst past the table */
			size_t k = what == 12 ? 17 + (size_t)gen_below(g, 8) : 2 + (size_t)gen_below(g, 6);
			for (size_t i = 0; i < k; i++) {
				eph += 2 * (1 + (uint32_t)gen_below(g, 8));
				if (eph > 60999)
					eph -= 28232;
				pending[i] = eph;
				gen_loopback_conn(g, t + i * 1000, FR_EV_CONNECT, eph, 8080, 0);
			}
			for (size_t i = k; i > 1; i--) { /* shuffle */
				size_t j = (size_t)gen_below(g, i);
				uint32_t x = pending[i - 1];
				pending[i - 1] = pending[j];
				pending[j] = x;
			}
			for (size_t i = 0; i < k; i++) {
				gen_loopback_conn(g, t + 50000 + i * 1000, FR_EV_ACCEPT, 8080, pending[i], 0);
				used[nused++ % 64] = pending[i];
			}
		} else if (what < 15) { /* to another host: the server's side is not here */
			gen_loopback_conn(g, t, FR_EV_CONNECT, 32768 + (uint32_t)gen_below(g, 28232), 443,
					  1 + (int)gen_below(g, 200));
		} else if (what < 16) { /* from another host */
			gen_loopback_conn(g, t, FR_EV_ACCEPT, 8080, 1024 + (uint32_t)gen_below(g, 64511),
					  1 + (int)gen_below(g, 200));
		} else if (what < 17 && nused) { /* a port used again, much later */
			uint32_t p = used[gen_below(g, nused < 64 ? nused : 64)];
			gen_loopback_conn(g, t, FR_EV_CONNECT, p, 8080, 0);
			gen_loopback_conn(g, t + 30000, FR_EV_ACCEPT, 8080, p, 0);
		} else if (what < 18 && g->n) { /* the same port as the last connect: nothing coded */
			uint32_t p = 0;
			for (size_t i = g->n; i-- > 0;)
				if (g->ev[i].kind == FR_EV_CONNECT) {
					p = g->ev[i].port;
					break;
				}
			gen_loopback_conn(g, t, FR_EV_CONNECT, p, 8081, 0);
		} else { /* the server opens something */
			struct fr_event *e = gen_push(g);
			gen_ctx(e, 3001, 2999, "nginx", "/usr/sbin/nginx", 1699990000000001000ull);
			e->ts_ns = t;
			e->kind = FR_EV_OPEN;
			e->path = gen_below(g, 2) ? "/var/www/html/index.html" : "/var/www/html/app.js";
		}
	}
	g->n = n;
}

/* build-like: make forks a shell that execs gcc, which opens headers and
 * writes an object, then exits; many execs, many new pids. */
static inline void gen_build(struct gen *g, size_t n)
{
	static const char *hdrs[] = {"/usr/include/stdio.h", "/usr/include/stdlib.h",
				     "/usr/include/string.h", "/usr/include/errno.h",
				     "/usr/include/stdint.h", "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h",
				     "/usr/include/x86_64-linux-gnu/bits/types.h", "src/event/event.h"};
	static const char *srcs[] = {"src/a.c", "src/b.c", "src/c.c", "src/d.c", "src/e.c",
				     "src/f.c", "src/g.c", "src/h.c"};
	uint64_t t = 1700000000000000000ull;
	uint32_t pid = 30000;
	const uint32_t make = 29999;
	unsigned job = 0;
	while (g->n < n) {
		const char *src = srcs[job++ % 8];
		uint32_t child = ++pid;
		uint64_t start = t;
		struct fr_event *e = gen_push(g);
		gen_ctx(e, make, 29000, "make", "/usr/bin/make", 1699999000000000000ull);
		e->uid = e->euid = 1000;
		e->ts_ns = t += 50000 + gen_below(g, 100000);
		e->kind = FR_EV_FORK;
		e->child_pid = child;
		struct fr_event base;
		memset(&base, 0, sizeof(base));
		gen_ctx(&base, child, make, "make", "/usr/bin/make", start);
		base.uid = base.euid = 1000;
		e = gen_push(g);
		*e = base;
		e->ts_ns = t += 100000 + gen_below(g, 100000);
		e->kind = FR_EV_EXEC;
		e->comm = "gcc";
		e->exe = "/usr/bin/gcc-12";
		e->path = "/usr/bin/gcc";
		char argv[128];
		int al = snprintf(argv, sizeof(argv), "gcc%c-O2%c-c%c%s%c-o%c%.*s.o", 0, 0, 0, src, 0, 0,
				  (int)strlen(src) - 2, src);
		char *a = malloc((size_t)al + 1);
		memcpy(a, argv, (size_t)al + 1);
		e->argv = gen_keep(g, a);
		e->argv_len = (uint32_t)al + 1;
		e->cwd = "/home/dev/flightrec";
		base.comm = "gcc";
		base.exe = "/usr/bin/gcc-12";
		e = gen_push(g);
		*e = base;
		e->ts_ns = t += 20000 + gen_below(g, 20000);
		e->kind = FR_EV_OPEN;
		e->path = src;
		e->flags = 0;
		for (unsigned h = 0; h < 8 && g->n < n; h++) {
			if (gen_below(g, 4) == 0)
				continue;
			e = gen_push(g);
			*e = base;
			e->ts_ns = t += 5000 + gen_below(g, 20000);
			e->kind = FR_EV_OPEN;
			e->path = hdrs[h];
		}
		e = gen_push(g);
		*e = base;
		e->ts_ns = t += 1000000 + gen_below(g, 5000000);
		e->kind = FR_EV_CREATE;
		char o[32];
		snprintf(o, sizeof(o), "%.*s.o", (int)strlen(src) - 2, src);
		e->path = gen_strdup(g, o);
		e->flags = 01 | 0100 | 01000;
		e->mode = 0644;
		e = gen_push(g);
		*e = base;
		e->ts_ns = t += 10000 + gen_below(g, 10000);
		e->kind = FR_EV_EXIT;
	}
	g->n = n;
}
/* A compiler's header probes: for each source, cc1 looks for every header
 * it includes in each include directory in turn until one has it (the
 * misses fail with ENOENT), so the paths are few directories times few
 * names, in no tree order (what FORMAT.md 4.2's split dictionary is for).
 * Then it writes the object. One new pid per compile. */
static inline void gen_cc_probes(struct gen *g, size_t n)
{
	static const char *dirs[] = {"src", "build", "/usr/lib/gcc/x86_64-linux-gnu/12/include", "/usr/local/include",
				     "/usr/include/x86_64-linux-gnu", "/usr/include"};
	static const char *hdrs[] = {"stdio.h", "stdlib.h", "string.h", "errno.h", "stdint.h", "stddef.h",
				     "stdarg.h", "stdbool.h", "limits.h", "unistd.h", "fcntl.h", "time.h",
				     "signal.h", "pthread.h", "sched.h", "features.h", "bits/types.h",
				     "bits/wordsize.h", "sys/types.h", "sys/stat.h", "sys/cdefs.h", "gnu/stubs.h",
				     "bits/libc-header-start.h", "bits/stdio_lim.h", "bits/time64.h", "zstd.h",
				     "endian.h", "bits/endian.h", "event/event.h", "flightlog/flightlog.h",
				     "flightlog/fl_internal.h", "query/query.h", "sensor/sensor.h", "bpf/libbpf.h"};
	/* the directory that has each header (an index into dirs) */
	static const unsigned has[] = {5, 5, 5, 5, 2, 2, 2, 2, 2, 5, 5, 5, 5, 5, 5, 5, 4,
				       4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 4, 0, 0, 0, 0, 0, 5};
	enum { NH = sizeof(hdrs) / sizeof(hdrs[0]) };
	uint64_t t = 1700000000000000000ull;
	uint32_t pid = 50000;
	unsigned job = 0;
	while (g->n < n) {
		char src[64];
		snprintf(src, sizeof(src), "src/mod%u/file%02u.c", job % 7, job % 23);
		job++;
		uint32_t me = ++pid;
		struct fr_event base;
		memset(&base, 0, sizeof(base));
		gen_ctx(&base, me, 49999, "cc1", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", t);
		base.uid = base.euid = 1000;
		struct fr_event *e = gen_push(g);
		*e = base;
		e->ts_ns = t += 1000000;
		e->kind = FR_EV_OPEN;
		e->path = gen_strdup(g, src);
		for (unsigned h = 0; h < NH && g->n < n; h++) {
			if (gen_below(g, 3) == 0)
				continue; /* this source does not include it */
			for (unsigned d = 0; d <= has[h] && g->n < n; d++) {
				char p[128];
				snprintf(p, sizeof(p), "%s/%s", dirs[d], hdrs[h]);
				e = gen_push(g);
				*e = base;
				e->ts_ns = t += 2000 + gen_below(g, 3000);
				e->kind = FR_EV_OPEN;
				e->path = gen_strdup(g, p);
				e->error = d < has[h] ? 2 : 0; /* ENOENT */
			}
		}
		if (g->n < n) {
			char o[64];
			snprintf(o, sizeof(o), "%.*s.o", (int)strlen(src) - 2, src);
			e = gen_push(g);
			*e = base;
			e->ts_ns = t += 5000000;
			e->kind = FR_EV_CREATE;
			e->path = gen_strdup(g, o);
			e->mode = 0644;
		}
	}
	g->n = n;
}

/* A parallel build (make -jJOBS): up to `jobs` compilers at a time, each a
 * new pid that opens its source and then the headers it includes, mostly
 * the same ones in the same order (sometimes one is skipped, sometimes a
 * source includes two extra headers, sometimes a header is missing
 * (ENOENT) and looked up again further down the search path, a rare job
 * opens them in another order), writes its object (the change lane) and
 * exits; the jobs' events interleave at random. What SUCC_PATHS predicts
 * (FORMAT.md 5.4.2): the path a pid opens after its previous one is the
 * one another pid opened after it before. Deterministic for a given
 * g->rng: tests/fixtures/build-pre-succ.frl holds gen_build_jobs(rng 12,
 * 600, 2) written before SUCC_PATHS, and its test compares against this. */
static inline void gen_build_jobs(struct gen *g, size_t n, unsigned jobs)
{
	static const char *hdrs[] = {"/usr/include/stdio.h", "/usr/include/x86_64-linux-gnu/bits/libc-header-start.h",
				     "/usr/include/features.h", "/usr/include/stdc-predef.h",
				     "/usr/include/x86_64-linux-gnu/sys/cdefs.h", "/usr/include/stdlib.h",
				     "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h", "/usr/include/string.h",
				     "/usr/include/errno.h", "/usr/include/stdint.h", "src/event/event.h",
				     "src/flightlog/flightlog.h"};
	static const char *extra[] = {"/usr/include/pthread.h", "/usr/include/zstd.h", "src/flightlog/fl_internal.h",
				      "/usr/include/sched.h"};
	enum { NH = sizeof(hdrs) / sizeof(hdrs[0]), MAXJ = 8 };
	struct job {
		struct fr_event base;
		unsigned step, order[NH + 2], nsteps;
		const char *src;
		int live;
	} j[MAXJ];
	if (jobs < 1)
		jobs = 1;
	if (jobs > MAXJ)
		jobs = MAXJ;
	memset(j, 0, sizeof(j));
	uint64_t t = 1700000000000000000ull;
	uint32_t pid = 41000;
	unsigned nsrc = 0;
	while (g->n < n) {
		unsigned k = (unsigned)gen_below(g, jobs);
		struct job *b = &j[k];
		t += 2000 + gen_below(g, 30000);
		struct fr_event *e;
		if (!b->live) { /* start a compiler: exec, then its source */
			char src[32];
			snprintf(src, sizeof(src), "src/m%u.c", nsrc++);
			b->src = gen_strdup(g, src);
			memset(&b->base, 0, sizeof(b->base));
			gen_ctx(&b->base, ++pid, 40999, "cc1", "/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", t);
			b->base.uid = b->base.euid = 1000;
			b->nsteps = 0;
			int shuffle = gen_below(g, 16) == 0;
			for (unsigned h = 0; h < NH; h++)
				if (gen_below(g, 8))
					b->order[b->nsteps++] = h;
			if (gen_below(g, 3) == 0) { /* two extra headers, in the middle */
				unsigned x = (unsigned)gen_below(g, 3), at = b->nsteps / 2;
				memmove(b->order + at + 2, b->order + at, (b->nsteps - at) * sizeof(unsigned));
				b->order[at] = NH + x;
				b->order[at + 1] = NH + x + 1;
				b->nsteps += 2;
			}
			for (unsigned i = 0; shuffle && i + 1 < b->nsteps; i++) {
				unsigned r = i + (unsigned)gen_below(g, b->nsteps - i), tmp = b->order[i];
				b->order[i] = b->order[r];
				b->order[r] = tmp;
			}
			b->step = 0;
			b->live = 1;
			e = gen_push(g);
			*e = b->base;
			e->ts_ns = t;
			e->kind = FR_EV_OPEN;
			e->path = b->src;
			continue;
		}
		e = gen_push(g);
		*e = b->base;
		e->ts_ns = t;
		if (b->step < b->nsteps) {
			unsigned h = b->order[b->step++];
			e->kind = FR_EV_OPEN;
			e->path = h < NH ? hdrs[h] : extra[h - NH];
			if (h == 9 && gen_below(g, 4) == 0) { /* not in the first directory */
				e->path = "/usr/local/include/stdint.h";
				e->error = 2;
				if (g->n < n) {
					e = gen_push(g);
					*e = b->base;
					e->ts_ns = t + 1000;
					e->kind = FR_EV_OPEN;
					e->path = hdrs[h];
				}
			}
		} else if (b->step++ == b->nsteps) {
			char o[40];
			snprintf(o, sizeof(o), "%.*s.o", (int)strlen(b->src) - 2, b->src);
			e->kind = FR_EV_CREATE;
			e->path = gen_strdup(g, o);
			e->mode = 0644;
			e->flags = 01 | 0100 | 01000;
		} else {
			e->kind = FR_EV_EXIT;
			b->live = 0;
		}
	}
	g->n = n;
}

/* Parallel writers of the change lane (tar -x of several archives at
 * once, a package manager's workers): up to `jobs` processes at a time,
 * each a new pid that creates the files of its own directory in order,
 * now and then chmods the file it just created or writes an earlier one
 * again, rarely opens a shared file (lane 0), and exits (lane 0) after
 * its last file; the jobs' events interleave at random. Each pid's
 * change paths are a run of their own in lane 1 (what FORMAT.md 5.4.3
 * groups there). Deterministic for a given g->rng. */
static inline void gen_unpack_jobs(struct gen *g, size_t n, unsigned jobs)
{
	enum { MAXJ = 8 };
	struct {
		uint32_t pid;
		unsigned dir, file, nfiles;
		uint64_t start;
		int live;
	} j[MAXJ];
	if (jobs < 1)
		jobs = 1;
	if (jobs > MAXJ)
		jobs = MAXJ;
	memset(j, 0, sizeof(j));
	uint64_t t = 1700000000000000000ull;
	uint32_t pid = 60000;
	unsigned ndir = 0;
	while (g->n < n) {
		unsigned k = (unsigned)gen_below(g, jobs);
		t += 1000 + gen_below(g, 40000);
		if (!j[k].live) {
			j[k].pid = ++pid;
			j[k].dir = ndir++;
			j[k].file = 0;
			j[k].nfiles = 3 + (unsigned)gen_below(g, 30);
			j[k].start = t;
			j[k].live = 1;
		}
		struct fr_event *e = gen_push(g);
		gen_ctx(e, j[k].pid, 59999, "tar", "/usr/bin/tar", j[k].start);
		e->ts_ns = t;
		unsigned what = (unsigned)gen_below(g, 20);
		char p[64];
		if (j[k].file >= j[k].nfiles) {
			e->kind = FR_EV_EXIT;
			j[k].live = 0;
			continue;
		}
		if (what < 14 || !j[k].file) {
			snprintf(p, sizeof(p), "/srv/pkg%u/lib/file%03u.so", j[k].dir, j[k].file++);
			e->kind = FR_EV_CREATE;
			e->mode = 0644;
			e->flags = 01 | 0100 | 01000;
		} else if (what < 17) {
			snprintf(p, sizeof(p), "/srv/pkg%u/lib/file%03u.so", j[k].dir, j[k].file - 1);
			e->kind = FR_EV_CHMOD;
			e->mode = 0755;
		} else if (what < 19) {
			snprintf(p, sizeof(p), "/srv/pkg%u/lib/file%03u.so", j[k].dir,
				 (unsigned)gen_below(g, j[k].file));
			e->kind = FR_EV_MODIFY;
			e->length = 4096;
		} else {
			snprintf(p, sizeof(p), "/etc/ld.so.cache");
			e->kind = FR_EV_OPEN;
		}
		e->path = gen_strdup(g, p);
	}
	g->n = n;
}

/* Decode buf and check its paths dictionary against want[0..nw): the
 * incompat flag `flag` (named flag_name) set exactly when `flagged`, the
 * entries in order, contiguous, each followed by a NUL (what the path
 * scan relies on), each found by fl_segment_path_entry and by the path
 * scan (every entry must be some event's path). 0 when all hold. */
static inline int gen_check_paths_dict(const void *buf, size_t len, const char *const *want, size_t nw, uint32_t flag,
				       bool flagged, const char *flag_name, char *why, size_t wl)
{
	struct fl_segment *s;
	struct fl_error err;
	if (fl_segment_open(buf, len, &s, &err))
		return snprintf(why, wl, "open: %s", err.msg), 1;
	int bad = 0;
	if (!(fl_segment_info(s)->incompat_flags & flag) != !flagged)
		bad = (snprintf(why, wl, "%s flag %s", flag_name, flagged ? "missing" : "set"), 1);
	size_t n;
	const uint32_t *lens;
	const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, &lens, &n);
	if (!bad && n != nw)
		bad = (snprintf(why, wl, "%zu entries, want %zu", n, nw), 1);
	for (size_t i = 0; i < n && !bad; i++) {
		if (lens[i] != strlen(want[i]) || memcmp(d[i], want[i], lens[i]) || d[i][lens[i]])
			bad = (snprintf(why, wl, "entry %zu differs", i), 1);
		else if (i + 1 < n && d[i + 1] != d[i] + lens[i] + 1)
			bad = (snprintf(why, wl, "entry %zu not right after entry %zu", i + 1, i), 1);
	}
	for (size_t i = 0; i < nw && !bad; i++)
		if (fl_segment_path_entry(s, want[i]) != d[i])
			bad = (snprintf(why, wl, "fl_segment_path_entry of entry %zu", i), 1);
	for (size_t i = 0; i < nw && !bad; i++) {
		struct fl_path_hit *hits = NULL;
		size_t nh = 0;
		const char *e = d[i];
		if (fl_segment_find_paths(s, &e, 1, &hits, &nh) || !nh || strcmp(hits[0].path, want[i]))
			bad = (snprintf(why, wl, "find_paths of entry %zu: %zu hits", i, nh), 1);
		free(hits);
	}
	fl_segment_free(s);
	return bad;
}

/* Events of pid 7 opening paths[0..n) in turn, 1 ms apart (NULL: an
 * event without a path); *distinct gets the paths in first-seen order
 * without repeats (the paths dictionary's order). Returns their number. */
static inline size_t gen_push_opens(struct gen *g, const char *const *paths, size_t n, const char **distinct)
{
	size_t nd = 0;
	for (size_t i = 0; i < n; i++) {
		struct fr_event *e = gen_push(g);
		e->kind = FR_EV_OPEN;
		e->pid = 7;
		e->ts_ns = 1000000 * (i + 1);
		e->path = paths[i];
		if (!paths[i])
			continue;
		size_t k = 0;
		while (k < nd && strcmp(distinct[k], paths[i]))
			k++;
		if (k == nd)
			distinct[nd++] = paths[i];
	}
	return nd;
}

/* A tree walk: n `create` events by one tar process, 1 us apart, of
 * /srv/tree/dDDD/file-NNNNN.txt, 100 files per directory, in order (an
 * unpack; its paths share most of their bytes). */
static inline void gen_tree_walk(struct gen *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fr_event *e = gen_push(g);
		gen_ctx(e, 4000, 3999, "tar", "/usr/bin/tar", 1700000000000000000ull);
		e->ts_ns = 1700000000000000000ull + (uint64_t)i * 1000;
		e->kind = FR_EV_CREATE;
		char p[64];
		snprintf(p, sizeof(p), "/srv/tree/d%03zu/file-%05zu.txt", i / 100, i);
		e->path = gen_strdup(g, p);
	}
}

/* g's events as one segment written with opts (NULL: defaults); NULL when
 * an add or the finish fails. The caller frees it. */
static inline void *gen_encode_opts(const struct gen *g, const struct fl_writer_opts *opts, size_t *len)
{
	struct fl_writer *w;
	void *buf = NULL;
	if (fl_writer_new(opts, &w))
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		if (fl_writer_add(w, &g->ev[i]))
			goto out;
	if (fl_writer_finish(w, NULL, 1, &buf, len))
		buf = NULL;
out:
	fl_writer_free(w);
	return buf;
}

/* g's events as one segment (default writer options). */
static inline void *gen_encode(const struct gen *g, size_t *len)
{
	return gen_encode_opts(g, NULL, len);
}

/* Whether kind is one of the change lane's (FL_CHANGE_KINDS). */
/* Decodes `skip` events of segment buf, rewinds, then decodes it all
 * again against g's events: how many matched in order, or -1 when the
 * second pass did not end cleanly right after them. */
static inline long gen_rewind_decode(const void *buf, size_t len, const struct gen *g, int skip)
{
	struct fl_segment *s;
	struct fr_event ev;
	int r = -1;
	size_t n = 0;
	if (!buf || fl_segment_open(buf, len, &s, NULL))
		return -1;
	for (int k = 0; k < skip && fl_segment_next(s, &ev) == 1; k++)
		;
	fl_segment_rewind(s);
	while (n < g->n && (r = fl_segment_next(s, &ev)) == 1 && !fr_event_compare(&g->ev[n], &ev))
		n++;
	if (n == g->n)
		r = fl_segment_next(s, &ev);
	fl_segment_free(s);
	return r == 0 ? (long)n : -1;
}

/* Two event strings are the same: both NULL, or equal. */
static inline bool gen_same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static inline bool gen_is_change(uint32_t kind)
{
	return kind < 64 && ((FL_CHANGE_KINDS >> kind) & 1);
}

/* For gen_check_decode with a subset of the column groups: 0 when `got`
 * holds what `want` has in the fields the test is about (and nothing in
 * them when their group cols leaves out), else a number for the message. */
typedef int (*gen_cols_cmp)(const struct fr_event *want, const struct fr_event *got, uint32_t cols);

/* Decode buf with columns cols and read flags rflags and compare with g's
 * events (only the change kinds with FL_COL_CHANGES): every field when
 * cols is FL_COL_ALL, else kind, ts, pid and what cmp checks. 0 when
 * equal; else 1 and why says where. */
static inline int gen_check_decode(const void *buf, size_t len, const struct gen *g, uint32_t cols, uint32_t rflags,
				   gen_cols_cmp cmp, char *why, size_t whylen)
{
	struct fl_segment *s;
	struct fl_error err;
	struct fl_read_opts o = {.columns = cols, .flags = rflags};
	if (fl_segment_open_ex(buf, len, &o, &s, &err)) {
		char eb[200];
		return snprintf(why, whylen, "open: %s", fl_error_format(&err, eb, sizeof(eb))), 1;
	}
	bool changes = cols & FL_COL_CHANGES;
	struct fr_event ev;
	size_t i = 0;
	int r, bad = 0;
	while (!bad && (r = fl_segment_next(s, &ev)) == 1) {
		while (changes && i < g->n && !gen_is_change(g->ev[i].kind))
			i++;
		if (i >= g->n) {
			bad = (snprintf(why, whylen, "more events than written"), 1);
			break;
		}
		const struct fr_event *e = &g->ev[i];
		int f = 0;
		if (cols == FL_COL_ALL)
			f = fr_event_compare(e, &ev);
		else if (ev.kind != e->kind || ev.ts_ns != e->ts_ns || ev.pid != e->pid)
			f = -1;
		else
			f = cmp(e, &ev, cols);
		if (f)
			bad = (snprintf(why, whylen, "event %zu (kind %u, pid %u) differs (%d)", i, e->kind, e->pid, f), 1);
		i++;
	}
	if (!bad && r != 0) {
		char eb[200];
		bad = (snprintf(why, whylen, "next %d: %s", r, fl_error_format(fl_segment_error(s), eb, sizeof(eb))), 1);
	}
	while (!bad && changes && i < g->n && !gen_is_change(g->ev[i].kind))
		i++;
	if (!bad && i != g->n)
		bad = (snprintf(why, whylen, "decoded %zu of %zu", i, g->n), 1);
	fl_segment_free(s);
	return bad;
}

/* Open and decode every event of buf: 0 when all decoded, else the error
 * code with *e filled. */
static inline int gen_decode_all(const void *buf, size_t len, struct fl_error *e)
{
	struct fl_segment *s;
	memset(e, 0, sizeof(*e));
	int r = fl_segment_open(buf, len, &s, e);
	if (r)
		return r;
	struct fr_event ev;
	while ((r = fl_segment_next(s, &ev)) == 1)
		;
	if (r < 0)
		*e = *fl_segment_error(s);
	fl_segment_free(s);
	return r;
}

/* The number of g's events in each lane (FORMAT.md 5.6): cnt[1] the
 * change kinds', cnt[0] the rest. */
static inline void gen_lane_counts(const struct gen *g, size_t cnt[2])
{
	cnt[0] = cnt[1] = 0;
	for (size_t i = 0; i < g->n; i++)
		cnt[gen_is_change(g->ev[i].kind)]++;
}

/* e as a read with column groups cols returns it: the fields outside the
 * groups zero / NULL (flightlog.h). */
static inline void gen_mask_event(struct fr_event *e, uint32_t cols)
{
	uint32_t gr = cols & FL_COL_ALL;
	if (!gr)
		gr = FL_COL_ALL;
	if (!(gr & FL_COL_CTX)) {
		e->tid = e->ppid = e->uid = e->euid = e->auid = e->ses = e->tty = 0;
		e->cgroup = e->pstart_ns = 0;
	}
	if (!(gr & FL_COL_NAMES))
		e->host = e->comm = e->exe = e->target_comm = NULL;
	if (!(gr & FL_COL_PATHS))
		e->path = e->path2 = e->cwd = NULL;
	if (!(gr & FL_COL_ARGV)) {
		e->argv = NULL;
		e->argv_len = 0;
		e->line = NULL;
	}
	if (!(gr & FL_COL_DETAIL)) {
		e->error = e->signal = e->code = 0;
		e->trunc = e->flags = e->mode = e->owner = e->group = e->child_pid = e->target_pid = 0;
		e->new_uid = e->new_euid = e->proto = e->port = e->rport = 0;
		e->length = e->count = e->inode = 0;
		memset(&e->addr, 0, sizeof(e->addr));
		memset(&e->raddr, 0, sizeof(e->raddr));
	}
}

/* A gen_cols_cmp: every field of the groups cols selects equal, every
 * other field zero / NULL. */
static inline int gen_masked_cmp(const struct fr_event *want, const struct fr_event *got, uint32_t cols)
{
	struct fr_event w = *want;
	gen_mask_event(&w, cols);
	return fr_event_compare(&w, got);
}

/* Segments a and b decode to the same events (and the same end) with
 * columns cols and read flags rflags. 0 when they do. */
static inline int gen_same_decodes(const void *a, size_t alen, const void *b, size_t blen, uint32_t cols,
				   uint32_t rflags, char *why, size_t wl)
{
	struct fl_read_opts o = {.columns = cols, .flags = rflags};
	struct fl_segment *sa = NULL, *sb = NULL;
	struct fl_error e;
	int bad = 0;
	if (fl_segment_open_ex(a, alen, &o, &sa, &e) || fl_segment_open_ex(b, blen, &o, &sb, &e))
		bad = (snprintf(why, wl, "open: %s", e.msg), 1);
	size_t i = 0;
	while (!bad) {
		struct fr_event ea, eb;
		int ra = fl_segment_next(sa, &ea), rb = fl_segment_next(sb, &eb);
		if (ra != rb)
			bad = (snprintf(why, wl, "event %zu: next %d and %d", i, ra, rb), 1);
		else if (ra != 1)
			break;
		else if (fr_event_compare(&ea, &eb))
			bad = (snprintf(why, wl, "event %zu differs (%d)", i, fr_event_compare(&ea, &eb)), 1);
		i++;
	}
	fl_segment_free(sa);
	fl_segment_free(sb);
	return bad;
}

/* What one (damaged) segment does in one of three reads: mode 0 decodes
 * every event, mode 1 decodes with FL_COL_CHANGES, mode 2 scans every
 * path (FL_COL_SCAN open, fl_segment_find_paths). Returns the code (0
 * when all went through), *e the error (zeroed when none). */
static inline int gen_read_mode(const uint8_t *b, size_t len, int mode, struct fl_error *e)
{
	memset(e, 0, sizeof(*e));
	if (mode == 0)
		return gen_decode_all(b, len, e);
	struct fl_read_opts o = {.columns = mode == 1 ? FL_COL_CHANGES : FL_COL_SCAN};
	struct fl_segment *s;
	int r = fl_segment_open_ex(b, len, &o, &s, e);
	if (r)
		return r;
	if (mode == 1) {
		struct fr_event ev;
		while ((r = fl_segment_next(s, &ev)) == 1)
			;
	} else {
		size_t nd = 0, nh = 0;
		const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, NULL, &nd);
		struct fl_path_hit *h = NULL;
		r = nd ? fl_segment_find_paths(s, d, nd, &h, &nh) : 0;
		free(h);
	}
	if (r < 0)
		*e = *fl_segment_error(s);
	fl_segment_free(s);
	return r;
}

/* ---- path scans (fl_segment_find_paths) against each other and the
 * events ---- */

struct gen_scan {
	int r;
	struct fl_segment *s; /* the hits' paths and the host are borrowed from it */
	struct fl_path_hit *h;
	size_t n;
	const char *host; /* fl_segment_sole_host */
};

static inline void gen_scan_free(struct gen_scan *sc)
{
	free(sc->h);
	fl_segment_free(sc->s);
	memset(sc, 0, sizeof(*sc));
}

/* Scan buf (opened with cols and FL_READ_FAST) for every paths dictionary
 * entry at once (all = true) or for the entry of path p. */
static inline void gen_scan_paths(const void *buf, size_t len, uint32_t cols, bool all, const char *p,
				  struct gen_scan *sc)
{
	struct fl_read_opts o = {.columns = cols, .flags = FL_READ_FAST};
	struct fl_error err;
	memset(sc, 0, sizeof(*sc));
	if ((sc->r = fl_segment_open_ex(buf, len, &o, &sc->s, &err)))
		return;
	size_t nd = 0;
	const char *const *d = fl_segment_dict(sc->s, FL_DICT_PATHS, NULL, &nd);
	const char *ent = all ? NULL : fl_segment_path_entry(sc->s, p);
	if (all ? nd > 0 : ent != NULL)
		sc->r = fl_segment_find_paths(sc->s, all ? d : &ent, all ? nd : 1, &sc->h, &sc->n);
	sc->host = fl_segment_sole_host(sc->s);
}

/* The hits g's events give: events with a non-NULL path or path2 (all),
 * or whose path or path2 is p; only change events with changes. 0 when
 * sc has exactly those. */
static inline int gen_scan_vs_events(const struct gen_scan *sc, const struct gen *g, bool changes, bool all,
				     const char *p, char *why, size_t wl)
{
	if (sc->r)
		return snprintf(why, wl, "scan: %d", sc->r), 1;
	size_t k = 0, ord = 0;
	for (size_t i = 0; i < g->n; i++) {
		const struct fr_event *e = &g->ev[i];
		if (changes && !gen_is_change(e->kind))
			continue;
		bool hit = all ? e->path || e->path2 : gen_same_str(e->path, p) || gen_same_str(e->path2, p);
		if (hit) {
			if (k >= sc->n || sc->h[k].ordinal != ord || sc->h[k].kind != e->kind ||
			    sc->h[k].ts_ns != e->ts_ns || !gen_same_str(sc->h[k].path, e->path) ||
			    !gen_same_str(sc->h[k].path2, e->path2))
				return snprintf(why, wl, "event %zu is not hit %zu of %zu", i, k, sc->n), 1;
			k++;
		}
		ord++;
	}
	if (k != sc->n)
		return snprintf(why, wl, "%zu hits, %zu expected", sc->n, k), 1;
	return 0;
}

/* Two scans found the same hits (and the same sole host). */
static inline int gen_same_scans(const struct gen_scan *a, const struct gen_scan *b, char *why, size_t wl)
{
	if (a->r || b->r)
		return snprintf(why, wl, "scans returned %d and %d", a->r, b->r), 1;
	if (a->n != b->n)
		return snprintf(why, wl, "%zu and %zu hits", a->n, b->n), 1;
	for (size_t k = 0; k < a->n; k++)
		if (a->h[k].ordinal != b->h[k].ordinal || a->h[k].ts_ns != b->h[k].ts_ns ||
		    a->h[k].kind != b->h[k].kind || !gen_same_str(a->h[k].path, b->h[k].path) ||
		    !gen_same_str(a->h[k].path2, b->h[k].path2))
			return snprintf(why, wl, "hit %zu differs", k), 1;
	if (!gen_same_str(a->host, b->host))
		return snprintf(why, wl, "sole hosts '%s' and '%s'", a->host ? a->host : "(null)",
				b->host ? b->host : "(null)"),
		       1;
	return 0;
}

/* A fuzz seed: g's events written with writer flags `flags` (seq 3, a
 * made-up previous hash) into DIR/name, after checking that the segment
 * has the incompat flag `flag` and decodes to exactly g's events. 0 when
 * written; *len gets its size, why what went wrong. */
static inline int gen_write_seed(const char *dir, const char *name, const struct gen *g, uint32_t flags,
				 uint32_t flag, size_t *len, char *why, size_t wl)
{
	struct fl_writer *w;
	struct fl_writer_opts o = {.flags = flags};
	void *buf = NULL;
	uint8_t prev[FL_HASH_LEN] = {1, 2, 3};
	*len = 0;
	int r = fl_writer_new(&o, &w);
	for (size_t i = 0; !r && i < g->n; i++)
		r = fl_writer_add(w, &g->ev[i]);
	if (!r)
		r = fl_writer_finish(w, prev, 3, &buf, len);
	fl_writer_free(w);
	struct fl_segment *s;
	int bad = r != 0;
	if (bad)
		snprintf(why, wl, "encode: %d", r);
	if (!bad && !fl_segment_open(buf, *len, &s, NULL)) {
		if (!(fl_segment_info(s)->incompat_flags & flag))
			bad = (snprintf(why, wl, "incompat flag 0x%x clear", flag), 1);
		fl_segment_free(s);
	} else if (!bad) {
		bad = (snprintf(why, wl, "open failed"), 1);
	}
	bad = bad || gen_check_decode(buf, *len, g, FL_COL_ALL, 0, NULL, why, wl);
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = bad ? NULL : fopen(p, "wb");
	if (!bad && (!f || fwrite(buf, 1, *len, f) != *len))
		bad = (snprintf(why, wl, "cannot write the file"), 1);
	if (f && fclose(f))
		bad = 1;
	free(buf);
	return bad;
}

/* A whole file (a fixture) in a malloc'd buffer; NULL when unreadable. */
static inline void *gen_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *b = NULL;
	long n;
	if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) && (b = malloc((size_t)n)) &&
	    fread(b, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(b);
		b = NULL;
	}
	if (f)
		fclose(f);
	return b;
}

#ifdef FIXTURE_DIR
/* tests/fixtures/NAME, whole (gen_read_file). */
static inline void *gen_read_fixture(const char *name, size_t *len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", FIXTURE_DIR, name);
	return gen_read_file(p, len);
}
#endif

#endif
