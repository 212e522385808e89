/* flightlog_bench.c - bytes/event and speed of the flight log format.
 *
 * Why: the format's goals are numeric (<= 0.3 byte/event on steady
 * workloads, >= 2x smaller than zstd -19 of the NDJSON, >= 5M events/s
 * encode); this measures them on synthetic but realistic streams.
 * Usage: flightlog_bench [EVENTS] [LEVEL]   (writes NDJSON to /tmp for the
 * zstd -19 comparison, which needs the zstd CLI). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long zstd19_size(const char *path)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "zstd -19 -q -c -T1 '%s' | wc -c", path);
	FILE *p = popen(cmd, "r");
	long n = -1;
	if (p) {
		if (fscanf(p, "%ld", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

/* FL_BENCH_BLOCKS=1: print each block's type, raw and stored size. */
static void dump_blocks(const uint8_t *b, size_t len)
{
	if (!getenv("FL_BENCH_BLOCKS") || len < FL_HEADER_SIZE)
		return;
	struct fl_seg_header h;
	memcpy(&h, b, sizeof(h));
	for (uint32_t i = 0; i < le32toh(h.n_blocks); i++) {
		struct fl_block_desc d;
		memcpy(&d, b + le64toh(h.table_offset) + i * sizeof(d), sizeof(d));
		printf("  block type %3u raw %9llu stored %8llu\n", le32toh(d.type),
		       (unsigned long long)le64toh(d.raw_size), (unsigned long long)le64toh(d.stored_size));
	}
}

static void run(const char *name, struct gen *g, int level, size_t seg_events)
{
	struct fl_writer *w;
	struct fl_writer_opts o = {.level = level};
	fl_writer_new(&o, &w);
	size_t total = 0, nseg = 0;
	void **segs = calloc(g->n / seg_events + 2, sizeof(void *));
	size_t *lens = calloc(g->n / seg_events + 2, sizeof(size_t));
	double tadd = 0, tfin = 0, ta = now();
	for (size_t i = 0; i < g->n; i++) {
		fl_writer_add(w, &g->ev[i]);
		if (fl_writer_count(w) == seg_events || i + 1 == g->n) {
			double tb = now();
			fl_writer_finish(w, NULL, nseg + 1, &segs[nseg], &lens[nseg]);
			double tc = now();
			tadd += tb - ta;
			tfin += tc - tb;
			ta = tc;
			total += lens[nseg++];
		}
	}
	double t1 = now();
	dump_blocks(segs[0], lens[0]);
	size_t dec = 0;
	for (size_t s = 0; s < nseg; s++) {
		struct fl_segment *sg;
		if (fl_segment_open(segs[s], lens[s], &sg, NULL))
			abort();
		struct fr_event ev;
		while (fl_segment_next(sg, &ev) == 1)
			dec++;
		fl_segment_free(sg);
	}
	double t2 = now();
	/* NDJSON + zstd -19 */
	char path[128];
	snprintf(path, sizeof(path), "/tmp/flightlog_bench_%s.ndjson", name);
	FILE *f = fopen(path, "w");
	struct fr_buf b = {0};
	size_t json = 0;
	for (size_t i = 0; i < g->n; i++) {
		b.len = 0;
		fr_event_to_json(&g->ev[i], &b);
		fwrite(b.data, 1, b.len, f);
		json += b.len;
	}
	fclose(f);
	fr_buf_free(&b);
	long z = getenv("FL_BENCH_NOZSTD") ? 1 : zstd19_size(path);
	remove(path);
	printf("%-8s events=%zu segs=%zu level=%d: %.3f B/event (%zu B); NDJSON %.1f B/event, "
	       "zstd-19(NDJSON) %.3f B/event -> %.1fx smaller; encode %.2f M ev/s (columns alone %.2f M ev/s), decode %.2f M ev/s%s\n",
	       name, g->n, nseg, level, (double)total / (double)g->n, total, (double)json / (double)g->n,
	       (double)z / (double)g->n, (double)z / (double)total, g->n / (tadd + tfin) / 1e6, g->n / tadd / 1e6,
	       dec / (t2 - t1) / 1e6, dec == g->n ? "" : " DECODE MISMATCH");
	for (size_t s = 0; s < nseg; s++)
		free(segs[s]);
	free(segs);
	free(lens);
	fl_writer_free(w);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	int level = argc > 2 ? atoi(argv[2]) : 0;
	size_t seg = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
	struct gen g = {.rng = 42};
	gen_nginx(&g, n);
	run("nginx", &g, level, seg);
	gen_free(&g);
	g = (struct gen){.rng = 43};
	gen_build(&g, n);
	run("build", &g, level, seg);
	gen_free(&g);
	/* steady timer-driven: a monitoring agent polling the same files every
	 * 10 ms on a tick (timestamps with only small jitter) */
	g = (struct gen){.rng = 44};
	uint64_t t = 1700000000000000000ull;
	static const char *fs[] = {"/proc/stat", "/proc/meminfo", "/proc/loadavg", "/sys/fs/cgroup/cpu.stat"};
	for (size_t i = 0; i < n; i++) {
		struct fr_event *e = gen_push(&g);
		gen_ctx(e, 812, 1, "node_exporter", "/usr/bin/node_exporter", 1699000000000000000ull);
		e->tid = 812 + (uint32_t)(i / 4 % 3);
		if (i % 4 == 0)
			t += 10000000;
		e->ts_ns = t + (i % 4) * 12000 + gen_below(&g, 64);
		e->kind = FR_EV_OPEN;
		e->path = fs[i % 4];
		e->flags = 02000000;
	}
	run("poller", &g, level, seg);
	gen_free(&g);
	return 0;
}
