/* test_flightlog.c - round trips of the segment codec.
 *
 * Why: the flight log must give back exactly the events it was given, in
 * order, for any input: a fixed-seed property test over random streams that
 * cover every kind and field, plus targeted cases (NULL vs "", huge values,
 * argv with NULs, empty segment) and column-selective decode. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

/* Encode g's events (with writer options o), decode, compare. Returns 0
 * when identical. */
static int round_trip_opts(struct gen *g, struct fl_writer_opts o, size_t *seg_len, char *why, size_t whylen)
{
	struct fl_writer *w;
	void *buf = NULL;
	size_t len = 0;
	int r = fl_writer_new(&o, &w);
	if (r)
		return snprintf(why, whylen, "writer_new %d", r), 1;
	for (size_t i = 0; i < g->n; i++)
		if ((r = fl_writer_add(w, &g->ev[i])))
			return snprintf(why, whylen, "add %zu: %d", i, r), fl_writer_free(w), 1;
	uint8_t prev[FL_HASH_LEN];
	memset(prev, 0xab, sizeof(prev));
	r = fl_writer_finish(w, prev, 7, &buf, &len);
	fl_writer_free(w);
	if (r)
		return snprintf(why, whylen, "finish %d", r), 1;
	if (seg_len)
		*seg_len = len;
	struct fl_segment *s;
	struct fl_error err;
	r = fl_segment_open(buf, len, &s, &err);
	if (r) {
		char eb[200];
		snprintf(why, whylen, "open: %s", fl_error_format(&err, eb, sizeof(eb)));
		free(buf);
		return 1;
	}
	int bad = 0;
	const struct fl_segment_info *inf = fl_segment_info(s);
	if (inf->event_count != g->n || inf->seq != 7 || memcmp(inf->prev_hash, prev, 32))
		bad = (snprintf(why, whylen, "header info"), 1);
	uint8_t h[32];
	fl_sha256(buf, len, h);
	if (!bad && memcmp(h, inf->hash, 32))
		bad = (snprintf(why, whylen, "hash"), 1);
	struct fr_event ev;
	size_t i = 0;
	while (!bad && (r = fl_segment_next(s, &ev)) == 1) {
		int f = i < g->n ? fr_event_compare(&g->ev[i], &ev) : -1;
		if (f)
			bad = (snprintf(why, whylen, "event %zu field %d differs", i, f), 1);
		i++;
	}
	if (!bad && r != 0) {
		char eb[200];
		bad = (snprintf(why, whylen, "next %d: %s", r, fl_error_format(fl_segment_error(s), eb, sizeof(eb))), 1);
	}
	if (!bad && i != g->n)
		bad = (snprintf(why, whylen, "decoded %zu of %zu", i, g->n), 1);
	fl_segment_free(s);
	free(buf);
	return bad;
}

static int round_trip(struct gen *g, int level, size_t *seg_len, char *why, size_t whylen)
{
	return round_trip_opts(g, (struct fl_writer_opts){.level = level}, seg_len, why, whylen);
}

static void test_property(void)
{
	char why[256] = "";
	int fails = 0, iters = 300;
	size_t total = 0;
	for (int it = 0; it < iters && !fails; it++) {
		struct gen g = {.rng = 0x5eed0000u + (uint64_t)it};
		size_t n = it % 10 == 0 ? gen_below(&g, 5) : gen_below(&g, it % 7 == 0 ? 5000 : 400);
		gen_random_stream(&g, n, it % 3 == 0);
		total += n;
		/* packing thresholds from "everything but the summary and the
		 * sessions" down to "nothing" (the old layout) */
		static const uint32_t pack_max[] = {0, 1, 16, 256, 1u << 20, 0};
		struct fl_writer_opts o = {.level = it % 2 ? 1 : 3, .pack_max = pack_max[it % 6],
					   .flags = it % 6 == 5 ? FL_WRITER_NO_PACK : 0};
		if (round_trip_opts(&g, o, NULL, why, sizeof(why))) {
			fails++;
			printf("# iteration %d (n=%zu): %s\n", it, n, why);
		}
		gen_free(&g);
	}
	ok(!fails, "property: %d random streams (%zu events), packed and not, round-trip exactly", iters, total);
}

static void test_targeted(void)
{
	char why[256] = "";
	struct gen g = {.rng = 1};
	ok(!round_trip(&g, 0, NULL, why, sizeof(why)), "empty segment round-trips %s", why);

	/* NULL vs "" on every string, argv NULL / "" / with NULs */
	const char *vals[] = {NULL, "", "x"};
	for (int a = 0; a < 3; a++) {
		for (int b = 0; b < 3; b++) {
			struct fr_event *e = gen_push(&g);
			e->kind = FR_EV_EXEC;
			e->pid = 5;
			e->host = vals[a];
			e->comm = vals[b];
			e->exe = vals[(a + b) % 3];
			e->path = vals[a];
			e->path2 = vals[b];
			e->cwd = vals[(a + 1) % 3];
			e->target_comm = vals[(b + 1) % 3];
			e->line = vals[(a + 2) % 3];
			e->argv = a == 0 ? NULL : a == 1 ? "" : "a\0\0b\0";
			e->argv_len = a == 2 ? 5 : 0;
		}
	}
	ok(!round_trip(&g, 0, NULL, why, sizeof(why)), "NULL vs empty strings and argv blobs %s", why);
	gen_free(&g);

	g.rng = 2;
	for (int k = 0; k < 40; k++) {
		struct fr_event *e = gen_push(&g);
		memset(e, 0xff, sizeof(*e));
		e->host = e->comm = e->exe = e->path = e->path2 = e->cwd = e->target_comm = e->line = NULL;
		e->argv = NULL;
		e->argv_len = 0;
		e->kind = k < 20 ? (uint32_t)k : UINT32_MAX - (uint32_t)k;
		if (k & 1)
			e->ts_ns = 0;
		if (k & 2)
			e->pid = 0;
	}
	ok(!round_trip(&g, 0, NULL, why, sizeof(why)), "all-ones / huge values and unknown kinds %s", why);
	gen_free(&g);

	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	struct fr_event bad = {.argv = NULL, .argv_len = 3};
	is_int(fl_writer_add(w, &bad), -EINVAL, "argv NULL with length is rejected");
	is_int(fl_writer_count(w), 0, "rejected event not counted");
	/* writer is reusable after finish */
	struct fr_event e1 = {.kind = FR_EV_OPEN, .pid = 1, .path = "/a"};
	void *b1, *b2;
	size_t l1, l2;
	fl_writer_add(w, &e1);
	int r1 = fl_writer_finish(w, NULL, 1, &b1, &l1);
	fl_writer_add(w, &e1);
	int r2 = fl_writer_finish(w, NULL, 1, &b2, &l2);
	ok(!r1 && !r2 && l1 == l2 && !memcmp(b1, b2, l1), "writer resets after finish (deterministic output)");
	free(b1);
	free(b2);
	fl_writer_free(w);
	fl_writer_free(NULL);
	fl_segment_free(NULL);
}

/* Times that are multiples of 1 s, 1 ms, 1 us or 1 ns all come back exact,
 * including backward steps and values near 2^64; and a millisecond stream
 * is much smaller than the same stream with nanosecond jitter. */
static void test_ts_units(void)
{
	static const uint64_t units[] = {1000000000u, 1000000u, 1000u, 1u};
	char why[256] = "";
	size_t len_ms = 0, len_ns = 0;
	for (int u = 0; u < 4; u++) {
		struct gen g = {.rng = 77};
		gen_build(&g, 3000);
		for (size_t i = 0; i < g.n; i++) {
			uint64_t t = g.ev[i].ts_ns;
			if (i == 10)
				t -= 5000000000ull; /* the clock stepped back */
			if (i == 20)
				t = UINT64_MAX - 2 * units[u];
			g.ev[i].ts_ns = t - t % units[u];
		}
		size_t len = 0;
		int bad = round_trip(&g, 3, &len, why, sizeof(why));
		ok(!bad, "times in multiples of %llu ns round-trip exactly %s", (unsigned long long)units[u], why);
		if (units[u] == 1000000u)
			len_ms = len;
		if (units[u] == 1u)
			len_ns = len;
		gen_free(&g);
	}
	ok(len_ms + 3000 < len_ns, "3000 events: %zu bytes at ms, %zu at ns (> 1 byte per event saved)", len_ms,
	   len_ns);
}

static bool is_change_kind(uint32_t k)
{
	return k >= FR_EV_MODIFY && k <= FR_EV_UNLISTEN; /* spelt out: checks FL_CHANGE_KINDS */
}

/* FL_COL_CHANGES on seg: the change-kind events of the full decode, in
 * order and identical, and nothing else. Returns how many, or -1. */
static long changes_match(const void *buf, size_t len, uint32_t cols)
{
	struct fl_segment *all, *ch;
	struct fl_read_opts o = {.columns = cols | FL_COL_CHANGES}, oall = {.columns = cols};
	if (fl_segment_open_ex(buf, len, &oall, &all, NULL))
		return -1;
	if (fl_segment_open_ex(buf, len, &o, &ch, NULL)) {
		fl_segment_free(all);
		return -1;
	}
	struct fr_event a, c;
	long n = 0;
	int ra, rc = 1;
	while ((ra = fl_segment_next(all, &a)) == 1) {
		if (!is_change_kind(a.kind))
			continue;
		if ((rc = fl_segment_next(ch, &c)) != 1 || fr_event_compare(&a, &c)) {
			n = -1;
			break;
		}
		n++;
	}
	if (n >= 0 && (ra != 0 || fl_segment_next(ch, &c) != 0))
		n = -1;
	fl_segment_free(all);
	fl_segment_free(ch);
	return n;
}

static void test_change_lane(void)
{
	struct gen g = {.rng = 11};
	gen_build(&g, 5000);
	size_t want = 0;
	for (size_t i = 0; i < g.n; i++)
		want += is_change_kind(g.ev[i].kind);
	size_t len;
	void *buf = gen_encode(&g, &len);
	long n = changes_match(buf, len, 0);
	ok(want > 100 && want < g.n && n == (long)want,
	   "FL_COL_CHANGES: the %zu change events of %zu, identical and in order (%ld)", want, g.n, n);
	/* the change lane alone: its blocks are a fraction of the file */
	struct fl_segment *s;
	fl_segment_open(buf, len, &s, NULL);
	size_t nb;
	const struct fl_block_stat *b = fl_segment_blocks(s, &nb);
	uint64_t lane1 = 0, other = 0;
	bool have_sel = false;
	for (size_t i = 0; i < nb; i++) {
		if (!strncmp(b[i].name, "c:", 2))
			lane1 += b[i].stored;
		else
			other += b[i].stored;
		have_sel |= !strcmp(b[i].name, "lanes");
	}
	ok(have_sel && lane1 > 0 && lane1 < other, "lane 1 blocks: %llu of %llu bytes, and a lanes block",
	   (unsigned long long)lane1, (unsigned long long)(lane1 + other));
	fl_segment_free(s);
	free(buf);
	gen_free(&g);

	/* a segment written before lanes: filtered while decoding */
	size_t flen = 0;
	void *fx = gen_read_file(FIXTURE_DIR "/session-ssh.frl", &flen);
	n = fx ? changes_match(fx, flen, FL_COL_PATHS) : -1;
	ok(n > 10, "FL_COL_CHANGES on a segment without lanes: %ld change events, as a filtered decode", n);
	free(fx);
}

static void test_summary_and_columns(void)
{
	struct gen g = {.rng = 3};
	gen_build(&g, 3000);
	size_t len;
	void *buf = gen_encode(&g, &len);

	struct fl_segment *s;
	struct fl_read_opts o = {.columns = FL_COL_NONE};
	ok(!fl_segment_open_ex(buf, len, &o, &s, NULL), "summary-only open");
	const struct fl_segment_info *inf = fl_segment_info(s);
	uint64_t execs = 0, tmin = UINT64_MAX, tmax = 0;
	for (size_t i = 0; i < g.n; i++) {
		execs += g.ev[i].kind == FR_EV_EXEC;
		tmin = g.ev[i].ts_ns < tmin ? g.ev[i].ts_ns : tmin;
		tmax = g.ev[i].ts_ns > tmax ? g.ev[i].ts_ns : tmax;
	}
	is_int(inf->kind_count[FR_EV_EXEC], execs, "summary counts exec events");
	ok(inf->ts_min == tmin && inf->ts_max == tmax, "summary time range");
	size_t np, nh;
	const uint32_t *pids = fl_segment_pids(s, &np);
	const char *const *hosts = fl_segment_hosts(s, &nh);
	ok(np > 100 && pids[0] == 29999, "summary pid set (%zu pids)", np);
	ok(nh == 1 && !strcmp(hosts[0], "web-01"), "summary hosts");
	ok(fl_segment_may_contain_path(s, "/usr/include/stdio.h"), "bloom: present path");
	int fp = 0;
	for (int i = 0; i < 100; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/nonexistent/%d", i);
		fp += fl_segment_may_contain_path(s, p);
	}
	ok(fp < 10, "bloom: few false positives (%d/100)", fp);
	struct fr_event ev;
	is_int(fl_segment_next(s, &ev), 0, "summary-only open yields no events");
	fl_segment_free(s);

	o.columns = FL_COL_PATHS;
	ok(!fl_segment_open_ex(buf, len, &o, &s, NULL), "paths-only open");
	ok(!fl_segment_may_contain_path(s, "/nonexistent/1"), "exact path lookup with dictionary");
	size_t i = 0;
	int bad = 0, r;
	while ((r = fl_segment_next(s, &ev)) == 1) {
		const struct fr_event *e = &g.ev[i++];
		if (ev.ts_ns != e->ts_ns || ev.kind != e->kind || ev.pid != e->pid ||
		    (e->path ? !ev.path || strcmp(e->path, ev.path) : ev.path != NULL) ||
		    ev.comm || ev.uid || ev.argv || ev.flags)
			bad++;
	}
	ok(r == 0 && i == g.n && !bad, "column-selective decode gives kind/ts/pid/path only (%d bad)", bad);
	fl_segment_rewind(s);
	is_int(fl_segment_next(s, &ev), 1, "rewind restarts");
	fl_segment_free(s);
	free(buf);
	gen_free(&g);
}

/* The summary's bloom filter on a big dictionary (an unpack's 20k new
 * paths): no false negatives, few false positives, and small: at most 12
 * bits per path (FORMAT.md 3, summary item 5). */
static void test_bloom_size(void)
{
	struct gen g = {.rng = 5};
	enum { NPATHS = 20000 };
	for (int i = 0; i < NPATHS; i++) {
		struct fr_event *e = gen_push(&g);
		gen_ctx(e, 4000, 3999, "tar", "/usr/bin/tar", 1700000000000000000ull);
		e->ts_ns = 1700000000000000000ull + (uint64_t)i * 1000;
		e->kind = FR_EV_CREATE;
		/* random bits in each name: split (FORMAT.md 4.2), names
		 * that differ in a counter alone compress to less than the
		 * filter, which then matches all */
		char p[96];
		snprintf(p, sizeof(p), "/srv/tree/d%03d/file-%05d-%08x.txt", i % 211, i, (unsigned)gen_rand(&g));
		e->path = gen_strdup(&g, p);
	}
	size_t len;
	uint8_t *buf = gen_encode(&g, &len);
	ok(buf != NULL, "20000 paths encode");
	if (!buf)
		return;
	/* the summary's raw size from the block table (FORMAT.md 2.2) */
	uint64_t summary_raw = seg_raw_size(buf, 1);
	ok(summary_raw > NPATHS * 6 / 8 && summary_raw < NPATHS * 12 / 8 + 512,
	   "summary of %d paths: %llu bytes, 6 to 12 filter bits per path", NPATHS, (unsigned long long)summary_raw);
	struct fl_segment *s;
	struct fl_read_opts o = {.columns = FL_COL_NONE};
	ok(!fl_segment_open_ex(buf, len, &o, &s, NULL), "summary-only open");
	int fn = 0, fp = 0;
	for (size_t i = 0; i < g.n; i++)
		fn += !fl_segment_may_contain_path(s, g.ev[i].path);
	for (int i = 0; i < NPATHS; i++) {
		char p[96];
		snprintf(p, sizeof(p), "/srv/tree/d%03d/other-%05d.txt", i % 211, i);
		fp += fl_segment_may_contain_path(s, p);
	}
	is_int(fn, 0, "bloom: every present path is a maybe");
	ok(fp <= NPATHS * 6 / 100, "bloom: %.2f%% false positives (<= 6%%)", 100.0 * fp / NPATHS);
	ok(!fl_segment_path_filter_matches_all(s), "bloom: a dictionary that compresses worse than its filter keeps it");
	fl_segment_free(s);
	free(buf);
	gen_free(&g);
}

/* A tree walk (sorted paths sharing most of their bytes) compresses to
 * less than its filter would take: the writer stores the one-byte filter
 * that matches every path instead (FORMAT.md 3, summary item 5). Readers
 * of any age then say "maybe" and read the dictionary, which answers
 * exactly. A writer that stores blocks raw keeps the real filter. */
static void test_bloom_match_all(void)
{
	struct gen g = {.rng = 6};
	enum { NPATHS = 20000 };
	gen_tree_walk(&g, NPATHS);
	size_t len, rlen;
	uint8_t *buf = gen_encode(&g, &len);
	uint8_t *raw = gen_encode_opts(&g, &(struct fl_writer_opts){.flags = FL_WRITER_RAW}, &rlen);
	ok(buf && raw, "tree walk of %d paths encodes (%zu bytes; raw blocks %zu)", NPATHS, len, rlen);
	if (!buf || !raw)
		goto out;
	uint64_t sr = seg_raw_size(buf, 1);
	ok(sr < 300, "tree walk: summary of %llu bytes (no 16 KiB filter)", (unsigned long long)sr);
	ok(seg_raw_size(raw, 1) > NPATHS * 6 / 8, "raw blocks: the real filter (%llu bytes)",
	   (unsigned long long)seg_raw_size(raw, 1));
	struct fl_segment *s;
	struct fl_read_opts o = {.columns = FL_COL_NONE};
	ok(!fl_segment_open_ex(buf, len, &o, &s, NULL), "summary-only open");
	ok(fl_segment_path_filter_matches_all(s) && fl_segment_may_contain_path(s, g.ev[7].path) &&
		   fl_segment_may_contain_path(s, "/srv/tree/d000/absent"),
	   "summary only: the filter matches every path");
	fl_segment_free(s);
	o.columns = FL_COL_PATHS;
	ok(!fl_segment_open_ex(buf, len, &o, &s, NULL), "open with the paths dictionary");
	int fn = 0, fp = 0;
	for (size_t i = 0; i < g.n; i++)
		fn += !fl_segment_may_contain_path(s, g.ev[i].path);
	for (int i = 0; i < 1000; i++) {
		char p[96];
		snprintf(p, sizeof(p), "/srv/tree/d%03d/other-%05d.txt", i / 100, i);
		fp += fl_segment_may_contain_path(s, p);
	}
	ok(!fl_segment_path_filter_matches_all(s) && fn == 0 && fp == 0,
	   "with the dictionary: exact answers (%d present paths missed, %d absent found)", fn, fp);
	fl_segment_free(s);
	char why[256] = "";
	ok(!round_trip(&g, 0, NULL, why, sizeof(why)), "tree walk round trip %s", why);
out:
	free(buf);
	free(raw);
	gen_free(&g);
}

/* The packed layout: size accounting lists the pack and its members, the
 * stored bytes still add up to the file; a summary-only read lists only
 * the pack; each block type is found once. */
static void test_pack_blocks(void)
{
	struct gen g = {.rng = 5};
	gen_build(&g, 2000);
	size_t len;
	void *buf = gen_encode(&g, &len);
	const uint8_t *b = buf;
	uint32_t incompat = (uint32_t)b[20] | (uint32_t)b[21] << 8;
	ok(incompat & 0x10, "the default writer packs (incompat 0x%x)", incompat);
	struct fl_segment *s;
	fl_segment_open(buf, len, &s, NULL);
	size_t nb;
	const struct fl_block_stat *bs = fl_segment_blocks(s, &nb);
	uint64_t stored = 0;
	int packs = 0, summary = 0, paths = 0, kind = 0, members = 0;
	bool after_pack = false;
	for (size_t i = 0; i < nb; i++) {
		stored += bs[i].stored;
		packs += !strcmp(bs[i].name, "pack");
		summary += !strcmp(bs[i].name, "summary");
		paths += !strcmp(bs[i].name, "paths");
		kind += !strcmp(bs[i].name, "shape"); /* with SHAPES, instead of kind */
		members += after_pack && bs[i].raw < FL_PACK_MAX_DEFAULT;
		after_pack |= !strcmp(bs[i].name, "pack");
	}
	ok(stored == len && packs == 1 && summary == 1 && paths == 1 && kind == 1 && members > 10,
	   "blocks: the pack and %d members by name, stored bytes add up to the file (%llu of %zu)", members,
	   (unsigned long long)stored, len);
	fl_segment_free(s);
	struct fl_read_opts o = {.columns = FL_COL_NONE};
	fl_segment_open_ex(buf, len, &o, &s, NULL);
	bs = fl_segment_blocks(s, &nb);
	stored = 0;
	for (size_t i = 0; i < nb; i++)
		stored += bs[i].stored;
	ok(nb >= 3 && nb <= 6 && stored == len, "summary-only: %zu blocks listed (header, summary, sessions, pack, ...)",
	   nb);
	size_t np = 1;
	ok(fl_segment_dict(s, FL_DICT_PATHS, NULL, &np) == NULL && np == 0, "... and no dictionary");
	fl_segment_free(s);
	/* summary and dictionaries (what the query reads first): the paths
	 * dictionary comes from the pack */
	o.columns = FL_COL_NONE | FL_COL_PATHS;
	o.flags = FL_READ_FAST;
	s = NULL;
	int r = fl_segment_open_ex(buf, len, &o, &s, NULL);
	const char *const *pe = r ? NULL : fl_segment_dict(s, FL_DICT_PATHS, NULL, &np);
	bool in_pack = false;
	bs = r ? NULL : fl_segment_blocks(s, &nb);
	for (size_t i = 0; bs && i < nb; i++)
		in_pack |= !strcmp(bs[i].name, "paths") && bs[i].raw < FL_PACK_MAX_DEFAULT;
	ok(!r && pe && np > 10 && in_pack && fl_segment_path_entry(s, "/usr/include/stdio.h"),
	   "summary-only with FL_COL_PATHS: the paths dictionary (%zu entries) from the pack", np);
	fl_segment_free(s);
	free(buf);

	/* the same events unpacked: bigger, every block in the table */
	struct fl_writer *w;
	struct fl_writer_opts wo = {.flags = FL_WRITER_NO_PACK};
	fl_writer_new(&wo, &w);
	for (size_t i = 0; i < g.n; i++)
		fl_writer_add(w, &g.ev[i]);
	void *ub;
	size_t ulen;
	fl_writer_finish(w, NULL, 1, &ub, &ulen);
	fl_writer_free(w);
	ok(!(((uint8_t *)ub)[20] & 0x10) && ulen > len, "FL_WRITER_NO_PACK: no PACKED flag, %zu bytes against %zu packed",
	   ulen, len);
	free(ub);
	gen_free(&g);

	/* an empty segment has nothing to pack: readable by older readers */
	fl_writer_new(NULL, &w);
	fl_writer_finish(w, NULL, 1, &ub, &ulen);
	fl_writer_free(w);
	ok(!(((uint8_t *)ub)[20] & 0x10), "an empty segment is not packed");
	free(ub);
}

/* g's events as one segment written with writer flags `flags`. */
static void *encode_flags(const struct gen *g, uint32_t flags, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags};
	return gen_encode_opts(g, &o, len);
}

/* The share of the bytes of entries e[0..n) (each with its NUL) that each
 * shares with the entry before, up to 255: FORMAT.md 4.1's writers front
 * code from 0.6. */
static double shared_share(const char *const *e, size_t n)
{
	size_t shared = 0, total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t q = 0;
		while (i && q < 255 && e[i][q] && e[i][q] == e[i - 1][q])
			q++;
		shared += q;
		total += strlen(e[i]) + 1;
	}
	return total ? (double)shared / (double)total : 0;
}

/* gen_check_paths_dict for the FRONT_CODED flag. */
static int check_paths_dict(const void *buf, size_t len, const char *const *want, size_t nw, bool front, char *why,
			    size_t wl)
{
	return gen_check_paths_dict(buf, len, want, nw, 0x80, front, "FRONT_CODED", why, wl);
}

/* The paths dictionary is front coded (FORMAT.md 4.1, FRONT_CODED): shared
 * prefixes are capped at 255 bytes, entries may be prefixes of each other,
 * a dictionary may have one entry or none. */
static void test_front_coding(void)
{
	char why[256] = "";
	char *a[8];
	size_t al[8] = {255, 256, 256, 254, 301, 301, 4000, 4003};
	for (int i = 0; i < 8; i++) {
		a[i] = malloc(al[i] + 1);
		memset(a[i], 'a', al[i]);
		a[i][0] = '/';
		a[i][al[i]] = 0;
	}
	a[1][255] = 'b'; /* shares 255 with a[0] */
	a[2][255] = 'c'; /* shares 255 with a[1]: the cap */
	/* a[3]: a prefix of a[2], 254 bytes */
	a[4][300] = 'x';
	a[5][300] = 'y'; /* shares 300 > 255 */
	memcpy(a[7] + 4000, "/zz", 3); /* a[6] + "/zz" */
	const char *paths[] = {"/usr/lib/x", "/usr/lib", "/usr/lib/x/y", "/usr", "", "/", "/usr/lib/x/y",
			       "/usr/lib/x/yz", "/usr/lib/x/y", "/usr/lib/x/yz/", "/usr/lib/x/yz/", "/", "",
			       a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[6], "/usr/lib/x", "/v"};
	size_t np = sizeof(paths) / sizeof(paths[0]);
	const char *want[sizeof(paths) / sizeof(paths[0])];
	struct gen g = {.rng = 11};
	size_t nw = gen_push_opens(&g, paths, np, want);
	struct fl_writer_opts always = {.flags = FL_WRITER_FRONT_ALWAYS};
	ok(!round_trip_opts(&g, always, NULL, why, sizeof(why)),
	   "front coding: prefixes of each other, shared prefixes at and over the 255-byte cap %s", why);
	size_t len;
	void *buf = encode_flags(&g, FL_WRITER_FRONT_ALWAYS, &len);
	ok(buf && !check_paths_dict(buf, len, want, nw, true, why, sizeof(why)),
	   "... the rebuilt paths dictionary: %zu entries in first-seen order, contiguous %s", nw, why);
	free(buf);
	double share = shared_share(want, nw);
	buf = gen_encode(&g, &len);
	ok(share < 0.6 && buf && !check_paths_dict(buf, len, want, nw, false, why, sizeof(why)),
	   "... by default, with %.0f%% of its bytes shared, it is written plain (FRONT_CODED clear) %s", 100 * share,
	   why);
	free(buf);
	gen_free(&g);
	for (int i = 0; i < 8; i++)
		free(a[i]);

	/* one entry; none (no paths block at all) */
	g = (struct gen){.rng = 12};
	const char *one[] = {"/only", "/only"};
	nw = gen_push_opens(&g, one, 2, want);
	buf = encode_flags(&g, FL_WRITER_FRONT_ALWAYS, &len);
	ok(!round_trip_opts(&g, always, NULL, why, sizeof(why)) && buf &&
		   !check_paths_dict(buf, len, want, nw, true, why, sizeof(why)),
	   "front coding: a one-entry paths dictionary %s", why);
	free(buf);
	gen_free(&g);
	g = (struct gen){.rng = 13};
	const char *none[] = {NULL, NULL};
	gen_push_opens(&g, none, 2, want);
	buf = encode_flags(&g, FL_WRITER_FRONT_ALWAYS, &len);
	ok(!round_trip_opts(&g, always, NULL, why, sizeof(why)) && buf &&
		   !check_paths_dict(buf, len, want, 0, false, why, sizeof(why)),
	   "front coding: no paths dictionary, no FRONT_CODED flag %s", why);
	free(buf);
	gen_free(&g);

	/* a tree walk (what a package unpack records): the paths block holds
	 * little more than the last component of each path */
	g = (struct gen){.rng = 14};
	static const char *const dirs[] = {"/usr/lib/python3/dist-packages/numpy/core/include/numpy/",
					   "/usr/share/doc/python3-numpy/examples/", "/usr/include/x86_64-linux-gnu/bits/"};
	const char **tree = malloc(3 * 40 * 25 * sizeof(char *));
	const char **twant = malloc(3 * 40 * 25 * sizeof(char *));
	size_t nt = 0, sum = 0;
	for (int d = 0; d < 3; d++)
		for (int s = 0; s < 40; s++)
			for (int f = 0; f < 25; f++) {
				char p[200];
				snprintf(p, sizeof(p), "%ssub%02d/module_%d.py", dirs[d], s, f);
				tree[nt++] = gen_strdup(&g, p);
				sum += strlen(p) + 1;
			}
	nw = gen_push_opens(&g, tree, nt, twant);
	buf = gen_encode(&g, &len);
	uint64_t praw = 0;
	struct fl_segment *s;
	if (buf && !fl_segment_open(buf, len, &s, NULL)) {
		size_t nb;
		const struct fl_block_stat *b = fl_segment_blocks(s, &nb);
		for (size_t i = 0; i < nb; i++)
			if (!strcmp(b[i].name, "paths"))
				praw = b[i].raw;
		fl_segment_free(s);
	}
	share = shared_share(twant, nw);
	ok(share >= 0.6 && !round_trip(&g, 0, NULL, why, sizeof(why)) && buf &&
		   !check_paths_dict(buf, len, twant, nw, true, why, sizeof(why)),
	   "front coding: a tree walk of %zu paths (%.0f%% of its bytes shared) is front coded by default and "
	   "round-trips %s", nt, 100 * share, why);
	ok(praw > 0 && praw * 3 < sum, "... its paths block is %llu bytes raw for %zu bytes of paths",
	   (unsigned long long)praw, sum);
	free(buf);
	free(tree);
	free(twant);
	gen_free(&g);

	/* the compiler-like stream: header paths out of tree order */
	g = (struct gen){.rng = 15};
	gen_build(&g, 3000);
	ok(!round_trip(&g, 9, NULL, why, sizeof(why)), "front coding: a build stream round-trips %s", why);
	ok(!round_trip_opts(&g, (struct fl_writer_opts){.level = 9, .flags = FL_WRITER_FRONT_ALWAYS}, NULL, why,
			    sizeof(why)),
	   "... and front coded anyway %s", why);
	gen_free(&g);
}

/* A segment written before the pack (tests/fixtures/session-ssh.frl,
 * recorded 2026-11-22) still decodes; its events re-encoded packed come
 * back identical, in fewer bytes. */
static void test_old_fixture(void)
{
	size_t len = 0;
	void *fx = gen_read_fixture("session-ssh.frl", &len);
	struct fl_segment *s = NULL;
	struct fl_error err;
	int r = fx ? fl_segment_open(fx, len, &s, &err) : -ENOENT;
	ok(r == 0 && !(fl_segment_info(s)->incompat_flags & 0x10), "old unpacked fixture opens (%d)", r);
	struct gen g = {.rng = 1};
	struct fr_event ev;
	while (s && (r = fl_segment_next(s, &ev)) == 1) {
		struct fr_event *e = gen_push(&g);
		*e = ev; /* strings borrowed from s, alive until it is freed */
	}
	ok(s && r == 0 && g.n == fl_segment_info(s)->event_count && g.n > 1000, "... and decodes all %zu events", g.n);
	char why[256] = "";
	size_t plen = 0;
	ok(!round_trip(&g, 9, &plen, why, sizeof(why)), "its events round-trip through a packed segment %s", why);
	size_t nlen = 0;
	ok(!round_trip_opts(&g, (struct fl_writer_opts){.level = 9, .flags = FL_WRITER_NO_PACK}, &nlen, why,
			    sizeof(why)) && plen < nlen,
	   "... %zu bytes packed, %zu unpacked (level 9)", plen, nlen);
	g.n = 0;
	gen_free(&g);
	fl_segment_free(s);
	free(fx);
}

static void test_primitives(void)
{
	/* RFC 3720 / iSCSI test vector: 32 bytes of zeros -> 0x8a9136aa */
	uint8_t z[32] = {0};
	is_int(fl_crc32c(0, z, 32), 0x8a9136aa, "crc32c of 32 zero bytes");
	is_int(fl_crc32c(0, "123456789", 9), 0xe3069283, "crc32c check value");
	is_int(fl_crc32c(fl_crc32c(0, "1234", 4), "56789", 5), 0xe3069283, "crc32c incremental");
	uint8_t h[32];
	fl_sha256("abc", 3, h);
	ok(h[0] == 0xba && h[1] == 0x78 && h[31] == 0xad, "sha256(abc)");
	char m[1000];
	memset(m, 'a', sizeof(m));
	fl_sha256(m, 56, h);
	uint8_t h2[32];
	fl_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h2);
	ok(h2[0] == 0x24 && h2[1] == 0x8d && h2[31] == 0xc1, "sha256 two-block padding");
	struct fl_error e = {.offset = 42};
	snprintf(e.block, sizeof(e.block), "paths");
	snprintf(e.msg, sizeof(e.msg), "bad checksum");
	char b[128];
	is_str(fl_error_format(&e, b, sizeof(b)), "offset 42: bad checksum in block 'paths'", "error format");
}

int main(void)
{
	test_primitives();
	test_targeted();
	test_summary_and_columns();
	test_ts_units();
	test_change_lane();
	test_pack_blocks();
	test_front_coding();
	test_old_fixture();
	test_bloom_size();
	test_bloom_match_all();
	test_property();
	return tap_done();
}
