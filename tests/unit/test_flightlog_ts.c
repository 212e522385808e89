/* test_flightlog_ts.c - the TS_RUNS coding of the timestamp block
 * (docs/FORMAT.md 5.1.1).
 *
 * Why: the writer turns each lane's tick deltas into runs of zeros and the
 * other deltas, and the reader walks them with a cursor in two places (the
 * event iterator and the path scan's hit times, which skips whole runs).
 * A slip shifts every later time of the lane. These are the spec's
 * example byte for byte, round trips of streams with every shape of run
 * (none, all zeros, long, back to back, huge deltas, both lanes), the path
 * scan's times against a full decode, the old plane layout still written
 * and read, and every way the block can lie about its runs. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

static void *encode_flags(const struct gen *g, uint32_t flags, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags};
	return gen_encode_opts(g, &o, len);
}

/* buf decodes to exactly g's events. 0 when it does; why says otherwise. */
static int same_events(const void *buf, size_t len, const struct gen *g, char *why, size_t whylen)
{
	if (!buf)
		return snprintf(why, whylen, "no segment"), 1;
	return gen_check_decode(buf, len, g, FL_COL_ALL, 0, NULL, why, whylen);
}

static void open_at(struct gen *g, uint64_t ms)
{
	struct fr_event *e = gen_push(g);
	gen_ctx(e, 10, 1, "c", "/c", 5);
	e->ts_ns = ms * 1000000ull;
	e->kind = FR_EV_OPEN;
	e->path = "/etc/hosts";
}

/* FORMAT.md 5.1.1's example: opens at ticks (ms) 1000 1000 1000 1003
 * 1003 1002 1002 1010. */
static struct gen example(void)
{
	struct gen g = {.rng = 1};
	static const uint64_t ms[] = {1000, 1000, 1000, 1003, 1003, 1002, 1002, 1010};
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		open_at(&g, ms[i]);
	return g;
}

static const uint8_t example_ts[] = {
	0xc0, 0x84, 0x3d, /* unit 1000000 ns */
	0xe8, 0x07,       /* base tick 1000 */
	0x01,             /* layout: runs */
	0x03,             /* 3 non-zero deltas */
	0x03, 0x01, 0x01, 0x00, /* runs of zeros: 3, 1, 1, 0 */
	0x05, 0x00, 0x0f, /* zz(3) - 1, zz(-1) - 1, zz(8) - 1 */
};

static void test_exact_bytes(void)
{
	struct gen g = example();
	size_t len = 0, n = 0;
	uint8_t *b = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK, &len);
	const uint8_t *p = b ? seg_block(b, 33, &n, NULL) : NULL;
	ok(p && n == sizeof(example_ts) && !memcmp(p, example_ts, n), "ts block bytes as FORMAT.md 5.1.1 says");
	ok(b && (seg_incompat(b) & FL_INCOMPAT_TS_RUNS), "the segment has TS_RUNS");
	char why[256] = "";
	ok(!same_events(b, len, &g, why, sizeof(why)), "and it decodes %s", why);
	free(b);
	gen_free(&g);
}

/* Every way the runs can disagree with the lane: a clear error naming the
 * ts block, never a crash or a made-up time. */
static void test_corrupt(void)
{
	struct gen g = example();
	size_t len = 0, n = 0, entry = 0;
	uint8_t *seg = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK, &len);
	const uint8_t *p = seg ? seg_block(seg, 33, &n, &entry) : NULL;
	static const struct {
		const char *what;
		uint8_t bytes[24];
		size_t n;
		const char *msg;
	} cases[] = {
		{"more non-zero deltas than events", {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x09}, 7,
		 "bad count of non-zero time deltas"},
		{"a run longer than the lane", {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x03, 0x09, 0x01, 0x01, 0x00, 0x05, 0x00, 0x0f}, 14, "bad run of zero time deltas"},
		{"runs and values one event short", {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x02, 0x03, 0x01, 0x01, 0x05, 0x00}, 12,
		 "time delta runs disagree with the event count"},
		{"runs and values one event long",
		 {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x03, 0x03, 0x01, 0x01, 0x01, 0x05, 0x00, 0x0f}, 14,
		 "time delta runs disagree with the event count"},
		{"a run cut short", {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x03, 0x03, 0x01}, 9, "bad run of zero time deltas"},
		{"a value cut short", {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x03, 0x03, 0x01, 0x01, 0x00, 0x05, 0x00, 0x8f}, 14,
		 "bad time delta"},
		{"a value that overflows (2^64 - 1, plus 1)",
		 {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x03, 0x03, 0x01, 0x01, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0x01}, 23, "bad time delta"},
		{"a byte after the values",
		 {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01, 0x03, 0x03, 0x01, 0x01, 0x00, 0x05, 0x00, 0x0f, 0x00}, 15,
		 "bytes after the time deltas"},
		{"no count", {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x01}, 6, "bad count of non-zero time deltas"},
		{"an unknown layout", {0xc0, 0x84, 0x3d, 0xe8, 0x07, 0x02, 0x03, 0x03, 0x01, 0x01, 0x00, 0x05, 0x00, 0x0f}, 14,
		 "bad timestamp layout"},
		{"no layout byte", {0xc0, 0x84, 0x3d, 0xe8, 0x07}, 5, "bad timestamp layout"},
	};
	ok(p && n == sizeof(example_ts), "the example's ts block");
	for (size_t i = 0; p && i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t bl = 0;
		uint8_t *b = seg_with_block(seg, 33, cases[i].bytes, cases[i].n, UINT32_MAX, &bl);
		struct fl_error e = {0};
		int r = b ? gen_decode_all(b, bl, &e) : -1;
		ok(r == -EBADMSG && strstr(e.msg, cases[i].msg) && !strcmp(e.block, "ts") &&
			   e.offset == fl_le64_get(seg + entry + 8),
		   "%s: '%s' in '%s' at %llu", cases[i].what, r ? e.msg : "", r ? e.block : "",
		   (unsigned long long)e.offset);
		free(b);
	}
	/* the same file with its own bytes put back decodes: the helper is sound */
	size_t bl = 0;
	uint8_t *b = p ? seg_with_block(seg, 33, example_ts, sizeof(example_ts), UINT32_MAX, &bl) : NULL;
	struct fl_error e = {0};
	ok(b && bl == len && !memcmp(b, seg, len) && gen_decode_all(b, bl, &e) == 0,
	   "the block put back as it was: the same file, which decodes");
	free(b);
	/* and TS_RUNS cleared: the same bytes are not planes */
	if (seg) {
		b = malloc(len);
		memcpy(b, seg, len);
		fl_le32_put(b + 20, fl_le32_get(seg + 20) & ~FL_INCOMPAT_TS_RUNS);
		seg_fix_header_crc(b);
		int r = gen_decode_all(b, len, &e);
		ok(r == -EBADMSG, "runs read as planes: an error ('%s')", r ? e.msg : "");
		free(b);
	}
	free(seg);
	gen_free(&g);
}

/* Streams whose deltas take every shape: runs, lone zeros, no zeros,
 * deltas over 2^32 ticks, times going back, both lanes. */
static void shapes(struct gen *g, int which)
{
	uint64_t t = 1700000000000ull;
	for (int i = 0; i < 3000; i++) {
		struct fr_event *e = gen_push(g);
		gen_ctx(e, 100 + (uint32_t)(i % 3), 1, "w", "/w", 5);
		switch (which) {
		case 0: /* all in one tick */
			break;
		case 1: /* every event a new tick */
			t += 1 + gen_below(g, 3);
			break;
		case 2: /* long runs, back-to-back changes, a few huge jumps */
			if (i % 700 == 699)
				t += 1ull << 40;
			else if (i % 100 > 95 || gen_below(g, 50) == 0)
				t += gen_below(g, 5);
			break;
		default: /* going back and forth */
			t = t + 5 - gen_below(g, 11);
			break;
		}
		e->ts_ns = t * 1000000ull;
		e->kind = i % 4 == 3 ? FR_EV_MODIFY : FR_EV_OPEN; /* both lanes */
		e->path = i % 2 ? "/var/log/a" : "/etc/b";
	}
}

static void put_varint(uint8_t *b, size_t *n, uint64_t v)
{
	while (v >= 0x80) {
		b[(*n)++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[(*n)++] = (uint8_t)v;
}

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned sh = 0; *p < end && sh < 64; sh += 7) {
		uint8_t c = *(*p)++;
		*v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/* A raw, unpacked segment with planes (FORMAT.md 5.1) rewritten with runs
 * (5.1.1), both layouts read and written here from the spec alone, the
 * flag set. NULL if a ts block is not as 5.1 says. */
static uint8_t *planes_to_runs(const uint8_t *seg, size_t len, size_t *out_len)
{
	uint8_t *cur = malloc(len);
	size_t cl = len;
	memcpy(cur, seg, len);
	for (uint32_t lane = 0; lane < 2; lane++) {
		size_t n = 0, entry = 0;
		const uint8_t *p = seg_block(cur, 33 + 128 * lane, &n, &entry), *end = p + n;
		if (!p)
			continue;
		uint64_t unit, base, count = 0;
		const uint8_t *q = p;
		if (!get_varint(&q, end, &unit) || !get_varint(&q, end, &base) || q >= end) {
			free(cur);
			return NULL;
		}
		unsigned w = *q++;
		/* the lane's events: the 1 bits of the lanes block (5.6) for
		 * lane 1, the rest for lane 0 (W = 0 leaves no planes to count) */
		size_t sn = 0;
		const uint8_t *sel = seg_block(cur, 38, &sn, NULL);
		uint64_t events = fl_le64_get(cur + 64), ones = 0;
		for (size_t i = 0; sel && i < sn; i++)
			ones += (uint64_t)__builtin_popcount(sel[i]);
		count = lane ? ones : events - ones;
		if (w && (uint64_t)(end - q) != w * count) {
			free(cur);
			return NULL;
		}
		uint8_t *runs = malloc(32 + 30 * (count + 1)), *vals = malloc(10 * (count + 1));
		size_t rn = 0, vn = 0, nz = 0;
		uint64_t zeros = 0;
		put_varint(runs, &rn, unit);
		put_varint(runs, &rn, base);
		runs[rn++] = 1; /* layout: runs */
		uint8_t *body = malloc(10 * (count + 2));
		size_t bn = 0;
		for (uint64_t j = 0; j < count; j++) {
			uint64_t z = 0;
			for (unsigned b = 0; b < w; b++)
				z |= (uint64_t)q[b * count + j] << (8 * b);
			if (!z) {
				zeros++;
				continue;
			}
			put_varint(body, &bn, zeros);
			put_varint(vals, &vn, z - 1);
			zeros = 0;
			nz++;
		}
		put_varint(body, &bn, zeros);
		put_varint(runs, &rn, nz);
		memcpy(runs + rn, body, bn);
		rn += bn;
		memcpy(runs + rn, vals, vn);
		rn += vn;
		size_t nl = 0;
		uint8_t *next = seg_with_block(cur, 33 + 128 * lane, runs, rn, UINT32_MAX, &nl);
		free(runs);
		free(vals);
		free(body);
		free(cur);
		cur = next;
		cl = nl;
	}
	fl_le32_put(cur + 20, fl_le32_get(cur + 20) | FL_INCOMPAT_TS_RUNS);
	seg_fix_header_crc(cur);
	*out_len = cl;
	return cur;
}

/* The writer codes runs when at least half of the deltas are 0, planes
 * otherwise; readers decode both whatever the deltas. */
static void test_round_trips(void)
{
	static const char *const name[] = {"one tick", "every event a new tick", "runs and jumps", "back and forth"};
	static const bool want_runs[] = {true, false, true, false};
	for (int which = 0; which < 4; which++) {
		struct gen g = {.rng = 7 + (uint64_t)which};
		shapes(&g, which);
		char why[256] = "";
		size_t ld = 0, lp = 0, lx = 0, lc = 0;
		uint8_t *def = encode_flags(&g, 0, &ld), *planes = encode_flags(&g, FL_WRITER_TS_PLANES, &lp);
		uint8_t *raw = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_TS_PLANES, &lx);
		uint8_t *conv = raw ? planes_to_runs(raw, lx, &lc) : NULL;
		ok(def && !!(fl_le32_get(def + 20) & FL_INCOMPAT_TS_RUNS) == want_runs[which] &&
			   !same_events(def, ld, &g, why, sizeof(why)),
		   "%s: the writer codes %s, which round-trip (%zu bytes) %s", name[which],
		   want_runs[which] ? "runs" : "planes", ld, why);
		ok(planes && !(fl_le32_get(planes + 20) & FL_INCOMPAT_TS_RUNS) &&
			   !same_events(planes, lp, &g, why, sizeof(why)),
		   "%s: FL_WRITER_TS_PLANES writes planes (%zu bytes) %s", name[which], lp, why);
		ok(conv && !same_events(conv, lc, &g, why, sizeof(why)),
		   "%s: its planes rewritten as runs from the spec decode %s", name[which], why);
		free(def);
		free(planes);
		free(raw);
		free(conv);
		gen_free(&g);
	}
	/* realistic streams too: a build, nginx, and random events */
	struct gen g = {.rng = 20261122};
	gen_build(&g, 2000);
	gen_nginx(&g, 3000);
	gen_random_stream(&g, 1000, 1);
	char why[256] = "";
	size_t lr = 0, lp = 0;
	uint8_t *runs = encode_flags(&g, 0, &lr), *planes = encode_flags(&g, FL_WRITER_TS_PLANES, &lp);
	ok(!same_events(runs, lr, &g, why, sizeof(why)), "build, nginx and random events: runs round-trip %s", why);
	ok(!same_events(planes, lp, &g, why, sizeof(why)), "... and planes %s", why);
	free(runs);
	free(planes);
	gen_free(&g);
}

/* The path scan computes its hits' times from the runs, skipping whole
 * runs: they must equal the times a full decode gives, in every lane
 * layout and on a rewound segment. */
static void test_scan_times(void)
{
	struct gen g = {.rng = 9};
	shapes(&g, 2);
	const char *want[] = {"/var/log/a"};
	for (int planes = 0; planes < 2; planes++) {
		size_t len = 0;
		uint8_t *b = encode_flags(&g, planes ? FL_WRITER_TS_PLANES : 0, &len);
		struct fl_read_opts o = {.columns = FL_COL_SCAN};
		struct fl_segment *s;
		struct fl_path_hit *hits = NULL;
		size_t nh = 0, bad = 0, expect = 0, k = 0;
		const char *ent = NULL;
		if (b && !fl_segment_open_ex(b, len, &o, &s, NULL)) {
			ent = fl_segment_path_entry(s, want[0]);
			if (ent && !fl_segment_find_paths(s, &ent, 1, &hits, &nh)) {
				for (size_t i = 0; i < g.n; i++) {
					if (strcmp(g.ev[i].path, want[0]))
						continue;
					expect++;
					bad += k >= nh || hits[k].ordinal != i || hits[k].ts_ns != g.ev[i].ts_ns;
					k++;
				}
			}
			free(hits);
			fl_segment_free(s);
		}
		ok(ent && nh == expect && expect > 1000 && !bad,
		   "%s: the path scan's %zu hit times equal the events' (%zu wrong)", planes ? "planes" : "runs", nh,
		   bad);
		free(b);
	}
	/* a rewound segment reads its runs from the start again */
	size_t len = 0;
	uint8_t *b = encode_flags(&g, 0, &len);
	struct fl_segment *s;
	uint64_t first = 0, again = 0, last = 0, last2 = 0;
	struct fr_event ev;
	if (b && !fl_segment_open(b, len, &s, NULL)) {
		for (int pass = 0; pass < 2; pass++) {
			uint64_t sum = 0;
			while (fl_segment_next(s, &ev) == 1)
				sum += ev.ts_ns, *(pass ? &last2 : &last) = ev.ts_ns;
			*(pass ? &again : &first) = sum;
			fl_segment_rewind(s);
		}
		fl_segment_free(s);
	}
	ok(first && first == again && last == last2 && last == g.ev[g.n - 1].ts_ns,
	   "a rewound segment decodes the same times");
	free(b);
	gen_free(&g);
}

/* Each lane chooses: a lane with few zero deltas keeps planes (layout
 * byte 0) in a segment whose other lane has runs (byte 1). */
static void test_mixed_lanes(void)
{
	struct gen g = {.rng = 21};
	uint64_t ms = 1700000000000ull;
	for (int i = 0; i < 4000; i++) {
		struct fr_event *e = gen_push(&g);
		gen_ctx(e, 300, 1, "w", "/w", 5);
		bool change = i % 10 == 9;
		ms += change || i % 16 == 0; /* a change is the only event of its tick */
		e->ts_ns = ms * 1000000ull;
		e->kind = change ? FR_EV_MODIFY : FR_EV_OPEN;
		e->path = change ? "/var/lib/x" : "/etc/x";
	}
	size_t len = 0, n0 = 0, n1 = 0;
	uint8_t *b = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK, &len);
	const uint8_t *t0 = b ? seg_block(b, 33, &n0, NULL) : NULL, *t1 = b ? seg_block(b, 33 + 128, &n1, NULL) : NULL;
	/* after the unit (3 bytes: 1000000) and the base (6 bytes) */
	ok(b && (seg_incompat(b) & FL_INCOMPAT_TS_RUNS) && t0 && t1 && n0 > 9 && n1 > 9 && t0[9] == 1 && t1[9] == 0,
	   "mixed lanes: the opens' lane in runs, the changes' lane in planes");
	char why[256] = "";
	ok(!same_events(b, len, &g, why, sizeof(why)), "and they decode %s", why);
	size_t clen = 0;
	uint8_t *c = encode_flags(&g, 0, &clen);
	ok(!same_events(c, clen, &g, why, sizeof(why)), "compressed and packed too %s", why);
	free(c);
	free(b);
	gen_free(&g);
}

int main(void)
{
	test_exact_bytes();
	test_corrupt();
	test_round_trips();
	test_scan_times();
	test_mixed_lanes();
	return tap_done();
}
