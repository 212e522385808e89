/* test_flightlog_shapes.c - the SHAPES coding of each event's kind, pid
 * code, ctx-mask and ev-mask (docs/FORMAT.md 5.8, incompat flag 0x800).
 *
 * Why: with shapes the four values every event starts with come from one
 * index into a per-lane table, and everything else the decoder does (the
 * pid list, the context and kind states, the path successors, the path
 * scan's walk) hangs off them: a wrong entry or a cursor off by one is a
 * wrong event much later, or a scan that silently misses hits. So these
 * are the spec's example byte for byte, a table and index stream checked
 * from the spec alone against the four streams FL_WRITER_NO_SHAPES writes
 * for the same events (every other block byte-identical), exact round
 * trips of every workload in every writer layout and column subset, path
 * scans and the sole host from both codings, every rule of 5.8 broken
 * once on a raw segment (a clear error naming the block, never a crash),
 * random damage to the four blocks, and the size the coding is for.
 * With FL_WRITE_SHAPES_SEEDS=DIR it writes two fuzz seeds into DIR instead. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

#define SHAPES_FLAG 0x800u
#define SUCC_FLAG 0x200u
#define RAWU (FL_WRITER_RAW | FL_WRITER_NO_PACK)
#define L1 128u /* lane 1's block types: lane 0's + 128 */
enum { T_KIND = 32, T_PID = 34, T_PIDNEW = 35, T_CTXMASK = 36, T_EVMASK = 37, T_SHAPE = 40, T_SHAPES = 41 };
static const uint32_t four[] = {T_KIND, T_PID, T_CTXMASK, T_EVMASK};

static void *encode_opts(const struct gen *g, uint32_t flags, int level, uint32_t pack_max, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags, .level = level, .pack_max = pack_max};
	return gen_encode_opts(g, &o, len);
}

/* ---- the format's rules, independently of the writer ---- */

struct shape {
	uint64_t v[4]; /* kind, pid code, ctx-mask, ev-mask */
};

static int shape_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct shape));
}

/* Raw, unpacked s (shaped) against u (FL_WRITER_NO_SHAPES) of g's events,
 * by FORMAT.md 5.8 alone: in each lane with events, s has `shapes` (items
 * n >= 1, n entries of four varints within their bounds, nothing after,
 * distinct) and `shape` (one index < n per event, new ones in order 0, 1,
 * ..., all used) and none of the four streams, and table[shape[j]] is the
 * j-th (kind, pid, ctx-mask, ev-mask) of u's four streams; a lane without
 * events has none of them; every other block is the same in both. 0 when
 * all hold; *nshapes gets the lanes' table sizes. */
static int spec_check(const uint8_t *s, const uint8_t *u, const struct gen *g, size_t nshapes[2], char *why,
		      size_t wl)
{
	size_t cnt[2];
	gen_lane_counts(g, cnt);
	for (int l = 0; l < 2; l++) {
		uint32_t off = l ? L1 : 0;
		size_t n41 = 0, n40 = 0, n;
		const uint8_t *tb = seg_block(s, T_SHAPES + off, &n41, NULL), *sb = seg_block(s, T_SHAPE + off, &n40, NULL);
		nshapes[l] = 0;
		for (int k = 0; k < 4; k++) {
			if (seg_block(s, four[k] + off, &n, NULL))
				return snprintf(why, wl, "lane %d: shaped segment has block %u", l, four[k] + off), 1;
			if (!cnt[l] != !seg_block(u, four[k] + off, &n, NULL))
				return snprintf(why, wl, "lane %d (%zu events): unshaped segment %s block %u", l, cnt[l],
						cnt[l] ? "lacks" : "has", four[k] + off),
				       1;
		}
		if (!cnt[l]) {
			if (tb || sb)
				return snprintf(why, wl, "lane %d has no events but a shape block", l), 1;
			continue;
		}
		if (!tb || !sb)
			return snprintf(why, wl, "lane %d: shapes %s, shape %s", l, tb ? "present" : "missing",
					sb ? "present" : "missing"),
			       1;
		uint32_t items = seg_block_items(s, T_SHAPES + off);
		if (!items)
			return snprintf(why, wl, "lane %d: shapes with 0 items", l), 1;
		struct shape *t = calloc(items, sizeof(*t));
		const uint8_t *p = tb, *end = tb + n41;
		int bad = 0;
		static const uint64_t lim[4] = {UINT32_MAX, 16, (1u << 12) - 1, (1u << 26) - 1};
		for (uint32_t k = 0; k < items && !bad; k++)
			for (int f = 0; f < 4 && !bad; f++)
				if (fl_get_varint(&p, end, &t[k].v[f]) || t[k].v[f] > lim[f])
					bad = (snprintf(why, wl, "lane %d: shapes entry %u value %d bad", l, k, f), 1);
		if (!bad && p != end)
			bad = (snprintf(why, wl, "lane %d: %zu bytes after the shapes", l, (size_t)(end - p)), 1);
		if (!bad) {
			struct shape *c = malloc(items * sizeof(*c));
			memcpy(c, t, items * sizeof(*c));
			qsort(c, items, sizeof(*c), shape_cmp);
			for (uint32_t k = 1; k < items && !bad; k++)
				if (!shape_cmp(&c[k - 1], &c[k]))
					bad = (snprintf(why, wl, "lane %d: two equal entries", l), 1);
			free(c);
		}
		const uint8_t *sp = sb, *se = sb + n40, *up[4], *ue[4];
		for (int k = 0; k < 4; k++) {
			up[k] = seg_block(u, four[k] + off, &n, NULL);
			ue[k] = up[k] + n;
		}
		uint64_t next = 0;
		for (size_t j = 0; j < cnt[l] && !bad; j++) {
			uint64_t idx, v;
			if (fl_get_varint(&sp, se, &idx) || idx >= items) {
				bad = (snprintf(why, wl, "lane %d event %zu: bad index", l, j), 1);
				break;
			}
			if (idx > next)
				bad = (snprintf(why, wl, "lane %d event %zu: index %llu before %llu", l, j,
						(unsigned long long)idx, (unsigned long long)next),
				       1);
			next += idx == next;
			for (int f = 0; f < 4 && !bad; f++)
				if (fl_get_varint(&up[f], ue[f], &v) || v != t[idx].v[f])
					bad = (snprintf(why, wl, "lane %d event %zu: shape %llu value %d is not the %s stream's",
							l, j, (unsigned long long)idx, f, f == 0 ? "kind" : f == 1 ? "pid" : f == 2 ? "ctx-mask" : "ev-mask"),
					       1);
		}
		if (!bad && sp != se)
			bad = (snprintf(why, wl, "lane %d: bytes after the indexes", l), 1);
		for (int f = 0; f < 4 && !bad; f++)
			if (up[f] != ue[f])
				bad = (snprintf(why, wl, "lane %d: unshaped stream %u longer than the events", l, four[f]), 1);
		if (!bad && next != items)
			bad = (snprintf(why, wl, "lane %d: %llu of %u entries used", l, (unsigned long long)next, items), 1);
		nshapes[l] = items;
		free(t);
		if (bad)
			return 1;
	}
	/* every other block: the same type, content and items in both */
	for (int w = 0; w < 2; w++) {
		const uint8_t *a = w ? s : u, *b = w ? u : s;
		uint32_t nb = fl_le32_get(a + 88);
		uint64_t toff = fl_le64_get(a + 96);
		for (uint32_t i = 0; i < nb; i++) {
			uint32_t ty = fl_le32_get(a + toff + i * 40), base = ty >= L1 ? ty - L1 : ty;
			if (base == T_KIND || base == T_PID || base == T_CTXMASK || base == T_EVMASK || base == T_SHAPE ||
			    base == T_SHAPES)
				continue;
			size_t na, nb2;
			const uint8_t *ca = seg_block(a, ty, &na, NULL), *cb = seg_block(b, ty, &nb2, NULL);
			if (!cb || na != nb2 || memcmp(ca, cb, na) || seg_block_items(a, ty) != seg_block_items(b, ty))
				return snprintf(why, wl, "block %u differs between the codings", ty), 1;
		}
	}
	return 0;
}

/* The names fl_segment_blocks gives: in each lane with events, the
 * shaped segment has "shape" and "shapes" and none of "kind", "pid",
 * "ctx-mask", "ev-mask" (lane 1: "c:..."), the unshaped one the reverse;
 * a lane without events has none. Works on packed segments too. */
static int check_names(const void *buf, size_t len, const struct gen *g, bool shaped, char *why, size_t wl)
{
	struct fl_segment *s;
	struct fl_error err;
	if (fl_segment_open(buf, len, &s, &err))
		return snprintf(why, wl, "open: %s", err.msg), 1;
	size_t nb, cnt[2];
	const struct fl_block_stat *bs = fl_segment_blocks(s, &nb);
	gen_lane_counts(g, cnt);
	static const char *const nm[] = {"kind", "pid", "ctx-mask", "ev-mask", "shape", "shapes"};
	int bad = 0;
	for (int l = 0; l < 2 && !bad; l++)
		for (int k = 0; k < 6 && !bad; k++) {
			char full[32];
			snprintf(full, sizeof(full), "%s%s", l ? "c:" : "", nm[k]);
			bool want = cnt[l] && (k >= 4) == shaped, have = false;
			for (size_t i = 0; i < nb; i++)
				have |= bs[i].name && !strcmp(bs[i].name, full);
			if (want != have)
				bad = (snprintf(why, wl, "%s segment %s block '%s'", shaped ? "shaped" : "unshaped",
						have ? "has" : "lacks", full),
				       1);
		}
	fl_segment_free(s);
	return bad;
}

/* ---- the worked example of FORMAT.md 5.8 ---- */

/* An event as a fresh decoder state makes it for a new pid (5.2): tid =
 * pid, ppid = the previous event's pid (0 at first), every other context
 * field 0 but comm, so ctx-mask is exactly comm's bit (0x400). */
static void ex_event(struct gen *g, uint32_t kind, const char *path)
{
	struct fr_event *e = gen_push(g);
	e->ts_ns = 1700000000000000000ull + 1000000ull * g->n;
	e->kind = kind;
	e->pid = e->tid = 700;
	e->comm = "cat";
	e->path = path;
}

/* three lane-0 opens by pid 700 (the spec's example); with_changes: then
 * two creates by pid 700, lane 1's shapes (8, 16, 0x400, 0x2) and (8, 0,
 * 0, 0x2) */
static struct gen example(bool with_changes)
{
	struct gen g = {.rng = 1};
	ex_event(&g, FR_EV_OPEN, "/etc/hosts");
	ex_event(&g, FR_EV_OPEN, "/etc/passwd");
	ex_event(&g, FR_EV_OPEN, "/etc/group");
	if (with_changes) {
		ex_event(&g, FR_EV_CREATE, "/tmp/a");
		ex_event(&g, FR_EV_CREATE, "/tmp/b");
	}
	return g;
}

static const uint8_t ex_shapes[] = {0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02};
static const uint8_t ex_shape[] = {0x00, 0x01, 0x01};
static const uint8_t ex_c_shapes[] = {0x08, 0x10, 0x80, 0x08, 0x02, 0x08, 0x00, 0x00, 0x02};
static const uint8_t ex_c_shape[] = {0x00, 0x01};

static void test_example(void)
{
	struct gen g = example(false);
	size_t len = 0, olen = 0, n;
	uint8_t *b = encode_opts(&g, RAWU, 0, 0, &len);
	uint8_t *ob = encode_opts(&g, RAWU | FL_WRITER_NO_SHAPES, 0, 0, &olen);
	ok(b && (seg_incompat(b) & SHAPES_FLAG), "the example's segment has SHAPES (incompat 0x%x)", b ? seg_incompat(b) : 0);
	ok(seg_block_is(b, T_SHAPES, ex_shapes, sizeof(ex_shapes)) && seg_block_items(b, T_SHAPES) == 2,
	   "shapes = 06 10 80 08 02 06 00 00 02, items 2, as FORMAT.md 5.8 says (items %u)",
	   b ? seg_block_items(b, T_SHAPES) : 0);
	ok(seg_block_is(b, T_SHAPE, ex_shape, sizeof(ex_shape)), "shape = 00 01 01");
	int absent = b != NULL;
	for (int k = 0; k < 4 && b; k++)
		absent &= !seg_block(b, four[k], &n, NULL) && !seg_block(b, four[k] + L1, &n, NULL);
	ok(absent, "no kind, pid, ctx-mask or ev-mask block (32, 34, 36, 37) in either lane");
	ok(b && !seg_block(b, T_SHAPE + L1, &n, NULL) && !seg_block(b, T_SHAPES + L1, &n, NULL),
	   "lane 1 has no events: no c:shape or c:shapes block (168, 169)");
	static const uint8_t pidnew[] = {0xf8, 0x0a}; /* zz32(700 - 0) = 1400 */
	ok(seg_block_is(b, T_PIDNEW, pidnew, sizeof(pidnew)), "pid-new is unchanged: f8 0a");
	char why[256] = "";
	ok(b && !gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)), "the example decodes %s", why);
	/* the same events with FL_WRITER_NO_SHAPES: the four streams, no flag */
	static const uint8_t kinds[] = {6, 6, 6}, pids[] = {0x10, 0, 0}, cm[] = {0x80, 0x08, 0, 0}, em[] = {2, 2, 2};
	ok(ob && !(seg_incompat(ob) & SHAPES_FLAG) && seg_block_is(ob, T_KIND, kinds, 3) && seg_block_is(ob, T_PID, pids, 3) &&
		   seg_block_is(ob, T_CTXMASK, cm, 4) && seg_block_is(ob, T_EVMASK, em, 3) && !seg_block(ob, T_SHAPE, &n, NULL) &&
		   !seg_block(ob, T_SHAPES, &n, NULL),
	   "with FL_WRITER_NO_SHAPES: no flag, kind 06 06 06, pid 10 00 00, ctx-mask 80 08 00 00, ev-mask 02 02 02");
	ok(ob && !gen_check_decode(ob, olen, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)), "... which decodes %s", why);
	size_t ns[2];
	ok(b && ob && !spec_check(b, ob, &g, ns, why, sizeof(why)), "the spec's reading of both agrees %s", why);
	free(b);
	free(ob);
	gen_free(&g);

	/* both lanes: lane 1's blocks are types + 128 with their own table */
	g = example(true);
	b = encode_opts(&g, RAWU, 0, 0, &len);
	ok(seg_block_is(b, T_SHAPES, ex_shapes, sizeof(ex_shapes)) && seg_block_is(b, T_SHAPE, ex_shape, sizeof(ex_shape)) &&
		   seg_block_is(b, T_SHAPES + L1, ex_c_shapes, sizeof(ex_c_shapes)) && seg_block_items(b, T_SHAPES + L1) == 2 &&
		   seg_block_is(b, T_SHAPE + L1, ex_c_shape, sizeof(ex_c_shape)),
	   "with two creates after: lane 0 as before, c:shapes = 08 10 80 08 02 08 00 00 02 (items 2), c:shape = 00 01");
	ok(b && !gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)), "and it decodes %s", why);
	free(b);
	gen_free(&g);
}

/* ---- round trips ---- */

static void w_random_chaos(struct gen *g) { gen_random_stream(g, 600, 1); }
static void w_random(struct gen *g) { gen_random_stream(g, 1500, 0); }
static void w_build_jobs(struct gen *g) { gen_build_jobs(g, 3000, 3); }
static void w_nginx(struct gen *g) { gen_nginx(g, 3000); }
static void w_loopback(struct gen *g) { gen_loopback(g, 2000); }
static void w_tree(struct gen *g) { gen_tree_walk(g, 1500); }
static void w_one(struct gen *g) { ex_event(g, FR_EV_EXEC, "/bin/true"); }
static void w_one_change(struct gen *g) { ex_event(g, FR_EV_RENAME, "/x"); }
static void w_empty(struct gen *g) { (void)g; }
static void w_mixed(struct gen *g)
{
	gen_build_jobs(g, 1500, 2);
	gen_nginx(g, g->n + 1500);
	gen_random_stream(g, 300, 0);
	gen_tree_walk(g, 300);
	gen_loopback(g, g->n + 500);
	gen_build(g, g->n + 500);
	gen_cc_probes(g, g->n + 500);
}
/* Many shapes (every random ctx-mask and ev-mask): indexes past one and
 * two varint bytes. */
static void w_many(struct gen *g) { gen_random_stream(g, 20000, 1); }

static const struct workload {
	const char *name;
	void (*make)(struct gen *);
	bool all_layouts;
} workloads[] = {
	{"random streams (chaos)", w_random_chaos, true},
	{"random streams", w_random, true},
	{"gen_build_jobs", w_build_jobs, true},
	{"gen_nginx", w_nginx, true},
	{"gen_loopback (lane 0 only)", w_loopback, true},
	{"gen_tree_walk (lane 1 only)", w_tree, true},
	{"one exec", w_one, true},
	{"one rename", w_one_change, true},
	{"no event", w_empty, true},
	{"every generator mixed", w_mixed, true},
	{"20000 random events (many shapes)", w_many, false},
};

static const struct layout {
	uint32_t flags;
	int level;
	uint32_t pack_max;
	const char *name;
} layouts[] = {
	{RAWU, 0, 0, "raw, unpacked"},
	{0, 0, 0, "default"},
	{FL_WRITER_NO_PACK, 0, 0, "compressed, unpacked"},
	{FL_WRITER_RAW, 0, 0, "raw, packed"},
	{0, 1, 0, "level 1"},
	{0, 0, 1u << 22, "everything packed"},
};

/* One workload in every layout, shaped and not: both decode exactly, the
 * flag and the blocks are as 5.8 says, and (raw, unpacked) the spec's
 * reading of the table agrees with the four streams. */
static void test_round_trips(void)
{
	for (size_t w = 0; w < sizeof(workloads) / sizeof(workloads[0]); w++) {
		int bad = 0;
		char why[256] = "";
		size_t ns[2] = {0, 0}, cnt[2];
		uint64_t seeds = workloads[w].all_layouts && workloads[w].make != w_empty ? 3 : 1;
		for (uint64_t seed = 1; seed <= seeds && !bad; seed++) {
			struct gen g = {.rng = 100 * w + seed};
			workloads[w].make(&g);
			gen_lane_counts(&g, cnt);
			void *raw[2] = {NULL, NULL};
			size_t nl = workloads[w].all_layouts ? sizeof(layouts) / sizeof(layouts[0]) : 2;
			for (size_t l = 0; l < nl && !bad; l++)
				for (int ns_ = 0; ns_ < 2 && !bad; ns_++) {
					size_t len = 0;
					uint32_t fl = layouts[l].flags | (ns_ ? FL_WRITER_NO_SHAPES : 0);
					void *b = encode_opts(&g, fl, layouts[l].level, layouts[l].pack_max, &len);
					const char *lay = layouts[l].name, *sh = ns_ ? "NO_SHAPES" : "shapes";
					if (!b)
						bad = (snprintf(why, sizeof(why), "%s, %s: encode failed", lay, sh), 1);
					else if (gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)))
						bad = 1;
					else if (ns_ && (seg_incompat(b) & SHAPES_FLAG))
						bad = (snprintf(why, sizeof(why), "flag set with FL_WRITER_NO_SHAPES"), 1);
					else if (!ns_ && g.n && !(seg_incompat(b) & SHAPES_FLAG))
						bad = (snprintf(why, sizeof(why), "flag clear by default"), 1);
					else if (check_names(b, len, &g, !ns_, why, sizeof(why)))
						bad = 1;
					if (bad)
						printf("# %s, seed %llu, %s, %s (%zu + %zu events)\n", workloads[w].name,
						       (unsigned long long)seed, lay, sh, cnt[0], cnt[1]);
					if (l == 0 && !bad) {
						raw[ns_] = b;
					} else {
						free(b);
					}
				}
			if (!bad && raw[0] && raw[1] && spec_check(raw[0], raw[1], &g, ns, why, sizeof(why))) {
				bad = 1;
				printf("# %s, seed %llu: the spec's reading\n", workloads[w].name, (unsigned long long)seed);
			}
			free(raw[0]);
			free(raw[1]);
			gen_free(&g);
		}
		ok(!bad, "%s: round trips in %s, shaped (flag set, shape/shapes) and with FL_WRITER_NO_SHAPES (the four "
			 "streams); table as 5.8 says (%zu and %zu shapes in lanes 0 and 1) %s",
		   workloads[w].name, workloads[w].all_layouts ? "every layout" : "two layouts", ns[0], ns[1], why);
	}
}

/* Column subsets read the same fields from both codings, and the fields
 * the generator wrote; a rewind starts the shape cursor over. */
static void test_columns(void)
{
	struct gen g = {.rng = 31};
	w_mixed(&g);
	size_t len = 0, olen = 0;
	void *b = encode_opts(&g, 0, 0, 0, &len), *ob = encode_opts(&g, FL_WRITER_NO_SHAPES, 0, 0, &olen);
	ok(b && ob && (seg_incompat(b) & SHAPES_FLAG) && !(seg_incompat(ob) & SHAPES_FLAG),
	   "a mixed segment, shaped and not");
	static const struct {
		uint32_t cols, flags;
	} sub[] = {
		{FL_COL_CHANGES, 0},
		{FL_COL_PATHS, 0},
		{FL_COL_PATHS | FL_COL_CHANGES, 0},
		{FL_COL_CTX, 0},
		{FL_COL_NAMES | FL_COL_CHANGES, FL_READ_FAST},
		{FL_COL_DETAIL, 0},
		{FL_COL_ARGV, FL_READ_FAST},
		{FL_COL_CTX | FL_COL_NAMES | FL_COL_DETAIL | FL_COL_ARGV, 0},
		{FL_COL_ALL, FL_READ_FAST | FL_READ_NO_SUMMARY},
		{FL_COL_PATHS, FL_READ_FAST | FL_READ_NO_SUMMARY},
	};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char why[256] = "", why2[256] = "", why3[256] = "";
		int a = !b || gen_check_decode(b, len, &g, sub[i].cols, sub[i].flags, gen_masked_cmp, why, sizeof(why));
		int c = !ob || gen_check_decode(ob, olen, &g, sub[i].cols, sub[i].flags, gen_masked_cmp, why2, sizeof(why2));
		int d = !b || !ob || gen_same_decodes(b, len, ob, olen, sub[i].cols, sub[i].flags, why3, sizeof(why3));
		ok(!a && !c && !d, "columns 0x%x, read flags 0x%x: the same events from both codings, as written %s%s%s",
		   sub[i].cols, sub[i].flags, why, why2, why3);
	}
	/* a rewind mid-way, in both lanes */
	long n = gen_rewind_decode(b, len, &g, 1700);
	ok(n >= 0 && (size_t)n == g.n, "after a rewind mid-way the shaped segment decodes again from the start (%ld of %zu)",
	   n, g.n);
	/* summary-only opens load no shape block */
	struct fl_read_opts none = {.columns = FL_COL_NONE, .flags = FL_READ_FAST};
	struct fl_segment *s;
	struct fr_event ev;
	int r = -1;
	if (b && !fl_segment_open_ex(b, len, &none, &s, NULL)) {
		r = fl_segment_next(s, &ev);
		if (fl_segment_info(s)->event_count != g.n)
			r = -1;
		fl_segment_free(s);
	}
	ok(r == 0, "a summary-only open of the shaped segment: the event count, no events");
	free(b);
	free(ob);
	gen_free(&g);
}

/* Two segments from one writer: the second's tables start empty. */
static void test_writer_reuse(void)
{
	struct gen a = {.rng = 5}, c = {.rng = 6};
	gen_build_jobs(&a, 800, 2);
	gen_nginx(&c, 600);
	struct fl_writer_opts o = {.flags = RAWU};
	struct fl_writer *w;
	uint8_t *s1 = NULL, *s2 = NULL;
	void *v1 = NULL, *v2 = NULL;
	size_t l1 = 0, l2 = 0, ul = 0;
	int r = fl_writer_new(&o, &w);
	for (size_t i = 0; !r && i < a.n; i++)
		r = fl_writer_add(w, &a.ev[i]);
	if (!r)
		r = fl_writer_finish(w, NULL, 1, &v1, &l1);
	for (size_t i = 0; !r && i < c.n; i++)
		r = fl_writer_add(w, &c.ev[i]);
	if (!r)
		r = fl_writer_finish(w, NULL, 2, &v2, &l2);
	fl_writer_free(w);
	s1 = v1;
	s2 = v2;
	uint8_t *u2 = encode_opts(&c, RAWU | FL_WRITER_NO_SHAPES, 0, 0, &ul);
	char why[256] = "";
	size_t ns[2];
	ok(!r && !gen_check_decode(s1, l1, &a, FL_COL_ALL, 0, NULL, why, sizeof(why)) &&
		   !gen_check_decode(s2, l2, &c, FL_COL_ALL, 0, NULL, why, sizeof(why)) && u2 &&
		   !spec_check(s2, u2, &c, ns, why, sizeof(why)),
	   "two segments from one writer: the second's tables start anew (%zu + %zu shapes) %s", ns[0], ns[1], why);
	free(s1);
	free(s2);
	free(u2);
	gen_free(&a);
	gen_free(&c);
}

/* tests/fixtures/build-pre-succ.frl, gen_build_jobs(rng 12, 600, 2)
 * written before SUCC_PATHS and SHAPES: FL_WRITER_NO_SHAPES (with
 * FL_WRITER_NO_SUCC_PATHS) writes exactly those bytes. */
static void test_old_bytes(void)
{
	size_t len = 0, olen = 0;
	void *fx = gen_read_fixture("build-pre-succ.frl", &len);
	struct gen g = {.rng = 12};
	gen_build_jobs(&g, 600, 2);
	void *ob = encode_opts(&g, FL_WRITER_NO_SHAPES | FL_WRITER_NO_SUCC_PATHS | FL_WRITER_NO_GROUPED_PATHS |
					   FL_WRITER_NO_PATH_ERRORS,
				   0, 0, &olen);
	ok(fx && ob && !(seg_incompat(fx) & SHAPES_FLAG) && olen == len && !memcmp(ob, fx, len),
	   "FL_WRITER_NO_SHAPES | NO_SUCC_PATHS | NO_GROUPED_PATHS | NO_PATH_ERRORS writes the fixture's bytes (%zu, %zu)", olen, len);
	char why[256] = "";
	ok(fx && !gen_check_decode(fx, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)),
	   "and the fixture (no SHAPES) still decodes %s", why);
	free(fx);
	free(ob);
	gen_free(&g);
}

/* ---- path scans and the sole host ---- */

static void test_scans(void)
{
	static const struct {
		const char *name;
		int which;
		uint32_t extra;
	} cases[] = {
		{"gen_build_jobs (SUCC_PATHS)", 0, 0},
		{"gen_build_jobs, FL_WRITER_NO_SUCC_PATHS", 0, FL_WRITER_NO_SUCC_PATHS},
		{"gen_build_jobs raw, unpacked", 0, RAWU},
		{"gen_nginx", 1, 0},
		{"random streams", 2, 0},
		{"gen_tree_walk", 3, 0},
		{"mixed", 4, 0},
	};
	static const uint32_t opens[] = {FL_COL_SCAN, FL_COL_PATHS, FL_COL_SCAN | FL_COL_CHANGES,
					 FL_COL_PATHS | FL_COL_CHANGES};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct gen g = {.rng = 900 + c};
		switch (cases[c].which) {
		case 0: gen_build_jobs(&g, 4000, 3); break;
		case 1: gen_nginx(&g, 3000); break;
		case 2: gen_random_stream(&g, 1500, 0); break;
		case 3: gen_tree_walk(&g, 1000); break;
		default: w_mixed(&g);
		}
		size_t len = 0, olen = 0;
		void *b = encode_opts(&g, cases[c].extra, 0, 0, &len);
		void *ob = encode_opts(&g, cases[c].extra | FL_WRITER_NO_SHAPES, 0, 0, &olen);
		char why[256] = "";
		int bad = !b || !ob;
		if (bad)
			snprintf(why, sizeof(why), "encode failed");
		else if (!(seg_incompat(b) & SHAPES_FLAG))
			bad = (snprintf(why, sizeof(why), "no SHAPES flag"), 1);
		else if ((seg_incompat(b) & SUCC_FLAG) != (seg_incompat(ob) & SUCC_FLAG))
			bad = (snprintf(why, sizeof(why), "SUCC_PATHS on one coding only"), 1);
		/* the host every event has, if one */
		const char *host = g.n ? g.ev[0].host : NULL;
		for (size_t i = 0; i < g.n && host; i++)
			if (!gen_same_str(g.ev[i].host, host))
				host = NULL;
		for (size_t o = 0; o < sizeof(opens) / sizeof(opens[0]) && !bad; o++) {
			bool changes = opens[o] & FL_COL_CHANGES;
			for (int k = 0; k < 4 && !bad; k++) {
				/* k 0: every path at once; else a path of some event */
				const char *p = NULL;
				if (k) {
					const struct fr_event *e = &g.ev[gen_below(&g, g.n)];
					p = e->path ? e->path : "/no/such/path";
				}
				struct gen_scan sa, sb;
				gen_scan_paths(b, len, opens[o], k == 0, p, &sa);
				gen_scan_paths(ob, olen, opens[o], k == 0, p, &sb);
				if (gen_same_scans(&sa, &sb, why, sizeof(why)) ||
				    gen_scan_vs_events(&sa, &g, changes, k == 0, p, why, sizeof(why)))
					bad = 1;
				else if ((opens[o] & FL_COL_SCAN) && !changes && !gen_same_str(sa.host, host))
					bad = (snprintf(why, sizeof(why), "sole host '%s', want '%s'",
							sa.host ? sa.host : "(null)", host ? host : "(null)"),
					       1);
				if (bad)
					printf("# open 0x%x, %s\n", opens[o], k ? p : "every path");
				gen_scan_free(&sa);
				gen_scan_free(&sb);
			}
		}
		/* sole host from a FL_COL_NAMES open too */
		for (int v = 0; v < 2 && !bad; v++) {
			struct fl_read_opts ro = {.columns = FL_COL_NAMES};
			struct fl_segment *s;
			if (fl_segment_open_ex(v ? ob : b, v ? olen : len, &ro, &s, NULL))
				bad = (snprintf(why, sizeof(why), "FL_COL_NAMES open"), 1);
			else {
				if (!gen_same_str(fl_segment_sole_host(s), host))
					bad = (snprintf(why, sizeof(why), "FL_COL_NAMES sole host differs"), 1);
				fl_segment_free(s);
			}
		}
		ok(!bad, "%s: path scans (4 opens, every path and single paths) and the sole host ('%s') are the same "
			 "from both codings and the events' (SUCC_PATHS %s) %s",
		   cases[c].name, host ? host : "none", b && (seg_incompat(b) & SUCC_FLAG) ? "set" : "clear", why);
		free(b);
		free(ob);
		gen_free(&g);
	}
}

/* ---- corruption ---- */

enum { REPLACE, RETYPE, ADD, FLAGS };
struct ccase {
	const char *what;
	int op;           /* REPLACE: block `type` holds bytes; RETYPE: type -> 120+; ADD: a block `type`; FLAGS */
	uint32_t type;
	uint8_t bytes[24];
	size_t n;
	uint32_t items;   /* REPLACE: UINT32_MAX keeps; ADD: items */
	const char *blk, *blk2; /* the block named (blk2: or that); NULL: any */
	const char *msg, *msg2; /* in the message (msg2: or that); NULL: any */
	bool at_block;    /* the offset is the (new) block's */
	bool scan;        /* a scan fails the same way */
};

#define B(...) {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})

static const struct ccase ccases[] = {
	/* lane 0's table (the example's: 06 10 80 08 02 06 00 00 02) */
	{"pid code 17", REPLACE, T_SHAPES, B(0x06, 0x11, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02), UINT32_MAX,
	 "shapes", NULL, "pid code", NULL, true, true},
	{"pid code 128", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x80, 0x01, 0x00, 0x02), UINT32_MAX,
	 "shapes", NULL, "pid code", NULL, true, true},
	{"ctx-mask bit 12", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x28, 0x02, 0x06, 0x00, 0x00, 0x02), UINT32_MAX,
	 "shapes", NULL, "context bits", NULL, true, true},
	{"ctx-mask bit 40", REPLACE, T_SHAPES,
	 B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x02), UINT32_MAX, "shapes",
	 NULL, "context bits", NULL, true, true},
	{"ev-mask bit 26", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x82, 0x80, 0x80, 0x20, 0x06, 0x00, 0x00, 0x02),
	 UINT32_MAX, "shapes", NULL, "field bits", NULL, true, true},
	{"ev-mask bit 63", REPLACE, T_SHAPES,
	 B(0x06, 0x00, 0x00, 0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x06, 0x10, 0x00, 0x02), UINT32_MAX,
	 "shapes", NULL, "field bits", NULL, true, true},
	{"kind 2^32", REPLACE, T_SHAPES, B(0x80, 0x80, 0x80, 0x80, 0x10, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02),
	 UINT32_MAX, "shapes", NULL, "kind", NULL, true, true},
	{"kind 2^64-1", REPLACE, T_SHAPES,
	 B(0x06, 0x10, 0x80, 0x08, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x02),
	 UINT32_MAX,
	 "shapes", NULL, "kind", NULL, true, true},
	{"one entry of two", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02), UINT32_MAX, "shapes", NULL, "truncated",
	 NULL, true, true},
	{"the last value missing", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00), UINT32_MAX,
	 "shapes", NULL, "truncated", NULL, true, true},
	{"the last varint cut", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x82), UINT32_MAX,
	 "shapes", NULL, "truncated", NULL, true, true},
	{"items 3 for two entries", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02), 3,
	 "shapes", NULL, "truncated", NULL, true, true},
	{"items 1000000 for two entries", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02),
	 1000000, "shapes", NULL, "truncated", NULL, true, true},
	{"a byte after the entries", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02, 0x00),
	 UINT32_MAX, "shapes", NULL, "trailing", NULL, true, true},
	{"an entry more than items", REPLACE, T_SHAPES,
	 B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02, 0x06, 0x00, 0x00, 0x02), UINT32_MAX, "shapes", NULL,
	 "trailing", NULL, true, true},
	{"items 0, empty", REPLACE, T_SHAPES, {0}, 0, 0, "shapes", "shape", "missing", NULL, false, true},
	{"items 0 with the entries", REPLACE, T_SHAPES, B(0x06, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02), 0,
	 "shapes", "shape", "missing", "trailing", false, true},
	{"a kind of the other lane", REPLACE, T_SHAPES, B(0x08, 0x10, 0x80, 0x08, 0x02, 0x06, 0x00, 0x00, 0x02),
	 UINT32_MAX, NULL, NULL, "wrong lane", NULL, false, false},
	{"no shapes table", RETYPE, T_SHAPES, {0}, 0, 0, "shapes", "shape", "missing", NULL, false, true},
	/* lane 0's indexes (00 01 01) */
	{"index 2 of 2", REPLACE, T_SHAPE, B(0x00, 0x01, 0x02), UINT32_MAX, "shape", NULL, "shape index out of range",
	 NULL, true, true},
	{"index 2^32 - 1", REPLACE, T_SHAPE, B(0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01), UINT32_MAX, "shape", NULL,
	 "shape index out of range", NULL, true, true},
	{"index 2^64 - 1", REPLACE, T_SHAPE, B(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x01),
	 UINT32_MAX, "shape", NULL, "shape index out of range", NULL, true, true},
	{"a cut index", REPLACE, T_SHAPE, B(0x00, 0x01, 0x81), UINT32_MAX, "shape", NULL, NULL, NULL, true, true},
	/* fewer bytes than events: refused at open, as a short kind stream
	 * is, naming the header's event count (offset 64) */
	{"one index short", REPLACE, T_SHAPE, B(0x00, 0x01), UINT32_MAX, "header", NULL, "exceeds the shape stream", NULL,
	 false, true},
	{"one index short (a byte for each event)", REPLACE, T_SHAPE, B(0x00, 0x81, 0x00), UINT32_MAX, "shape", NULL,
	 "stream exhausted", NULL, true, true},
	{"one index long", REPLACE, T_SHAPE, B(0x00, 0x01, 0x01, 0x00), UINT32_MAX, "shape", NULL, "trailing bytes",
	 NULL, true, false},
	{"an empty shape stream", REPLACE, T_SHAPE, {0}, 0, UINT32_MAX, "shape", "header", "missing",
	 "exceeds the shape stream", false, true},
	{"no shape stream", RETYPE, T_SHAPE, {0}, 0, 0, "shape", "shapes", "missing", NULL, false, true},
	{"pid code 0 with an empty pid list", REPLACE, T_SHAPE, B(0x01, 0x01, 0x01), UINT32_MAX, NULL, NULL,
	 "pid index out of range", NULL, false, false},
	{"pid code 16 twice, one pid-new", REPLACE, T_SHAPE, B(0x00, 0x00, 0x01), UINT32_MAX, "pid-new", NULL,
	 "stream exhausted", NULL, false, false},
	/* lane 0: the streams shapes replace as well */
	{"and a kind stream", ADD, T_KIND, B(0x06, 0x06, 0x06), 0, NULL, NULL, "both shapes and the streams", NULL,
	 false, true},
	{"and a pid stream", ADD, T_PID, B(0x10, 0x00, 0x00), 0, NULL, NULL, "both shapes and the streams", NULL, false,
	 true},
	{"and a ctx-mask stream", ADD, T_CTXMASK, B(0x80, 0x08, 0x00, 0x00), 0, NULL, NULL,
	 "both shapes and the streams", NULL, false, true},
	{"and an ev-mask stream", ADD, T_EVMASK, B(0x02, 0x02, 0x02), 0, NULL, NULL, "both shapes and the streams", NULL,
	 false, true},
	/* lane 1's (c:shapes 08 10 80 08 02 08 00 00 02, c:shape 00 01) */
	{"c: pid code 17", REPLACE, T_SHAPES + L1, B(0x08, 0x11, 0x80, 0x08, 0x02, 0x08, 0x00, 0x00, 0x02), UINT32_MAX,
	 "c:shapes", NULL, "pid code", NULL, true, true},
	{"c: ctx-mask bit 12", REPLACE, T_SHAPES + L1, B(0x08, 0x10, 0x80, 0x28, 0x02, 0x08, 0x00, 0x00, 0x02),
	 UINT32_MAX, "c:shapes", NULL, "context bits", NULL, true, true},
	{"c: ev-mask bit 26", REPLACE, T_SHAPES + L1,
	 B(0x08, 0x10, 0x80, 0x08, 0x82, 0x80, 0x80, 0x20, 0x08, 0x00, 0x00, 0x02), UINT32_MAX, "c:shapes", NULL,
	 "field bits", NULL, true, true},
	{"c: kind 2^32", REPLACE, T_SHAPES + L1,
	 B(0x80, 0x80, 0x80, 0x80, 0x10, 0x10, 0x80, 0x08, 0x02, 0x08, 0x00, 0x00, 0x02), UINT32_MAX, "c:shapes", NULL,
	 "kind", NULL, true, true},
	{"c: one entry of two", REPLACE, T_SHAPES + L1, B(0x08, 0x10, 0x80, 0x08, 0x02), UINT32_MAX, "c:shapes", NULL,
	 "truncated", NULL, true, true},
	{"c: a byte after the entries", REPLACE, T_SHAPES + L1,
	 B(0x08, 0x10, 0x80, 0x08, 0x02, 0x08, 0x00, 0x00, 0x02, 0x00), UINT32_MAX, "c:shapes", NULL, "trailing", NULL,
	 true, true},
	{"c: items 0, empty", REPLACE, T_SHAPES + L1, {0}, 0, 0, "c:shapes", "c:shape", "missing", NULL, false, true},
	{"c: an open in the change lane", REPLACE, T_SHAPES + L1,
	 B(0x06, 0x10, 0x80, 0x08, 0x02, 0x08, 0x00, 0x00, 0x02), UINT32_MAX, NULL, NULL, "wrong lane", NULL, false,
	 false},
	{"c: no shapes table", RETYPE, T_SHAPES + L1, {0}, 0, 0, "c:shapes", "c:shape", "missing", NULL, false, true},
	{"c: index 2 of 2", REPLACE, T_SHAPE + L1, B(0x00, 0x02), UINT32_MAX, "c:shape", NULL,
	 "shape index out of range", NULL, true, true},
	{"c: one index short", REPLACE, T_SHAPE + L1, B(0x00), UINT32_MAX, "header", NULL, "exceeds the c:shape stream",
	 NULL, false, true},
	{"c: one index short (a byte for each event)", REPLACE, T_SHAPE + L1, B(0x80, 0x00), UINT32_MAX, "c:shape", NULL,
	 "stream exhausted", NULL, true, true},
	{"c: one index long", REPLACE, T_SHAPE + L1, B(0x00, 0x01, 0x01), UINT32_MAX, "c:shape", NULL, "trailing bytes",
	 NULL, true, false},
	{"c: no shape stream", RETYPE, T_SHAPE + L1, {0}, 0, 0, "c:shape", "c:shapes", "missing", NULL, false, true},
	{"c: and a c:kind stream", ADD, T_KIND + L1, B(0x08, 0x08), 0, NULL, NULL, "both shapes and the streams", NULL,
	 false, true},
	{"c: and a c:ev-mask stream", ADD, T_EVMASK + L1, B(0x02, 0x02), 0, NULL, NULL, "both shapes and the streams",
	 NULL, false, true},
};

/* The path scan words its errors as the full decode does. */
static bool err_matches(int r, const struct fl_error *e, const struct ccase *c, uint64_t off, bool scan)
{
	(void)scan;
	if (r != -EBADMSG)
		return false;
	if (c->blk && strcmp(e->block, c->blk) && (!c->blk2 || strcmp(e->block, c->blk2)))
		return false;
	if (c->msg && !strstr(e->msg, c->msg) && (!c->msg2 || !strstr(e->msg, c->msg2)))
		return false;
	return !c->at_block || e->offset == off;
}

static void test_corrupt(void)
{
	struct gen g = example(true);
	size_t len = 0;
	uint8_t *seg = encode_opts(&g, RAWU, 0, 0, &len);
	bool base = seg && seg_block_is(seg, T_SHAPES, ex_shapes, sizeof(ex_shapes)) &&
		    seg_block_is(seg, T_SHAPE, ex_shape, sizeof(ex_shape)) &&
		    seg_block_is(seg, T_SHAPES + L1, ex_c_shapes, sizeof(ex_c_shapes)) &&
		    seg_block_is(seg, T_SHAPE + L1, ex_c_shape, sizeof(ex_c_shape));
	ok(base, "the damaged segments' base: the example with two creates, raw and unpacked");
	uint32_t unknown = 120; /* types nobody defines (FORMAT.md 2.3) */
	for (size_t i = 0; base && i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		const struct ccase *c = &ccases[i];
		size_t bl = 0;
		uint8_t *b = c->op == REPLACE ? seg_with_block(seg, c->type, c->bytes, c->n, c->items, &bl)
			     : c->op == RETYPE ? seg_retype(seg, c->type, unknown++, &bl)
					       : seg_add_block(seg, c->type, c->bytes, c->n, c->items, &bl);
		uint64_t off = b ? seg_block_offset(b, c->type) : 0;
		struct fl_error e[3];
		int r[3];
		bool lane1 = c->type >= L1;
		for (int m = 0; m < 3; m++)
			r[m] = b ? gen_read_mode(b, bl, m, &e[m]) : -1;
		bool good = err_matches(r[0], &e[0], c, off, false);
		/* with FL_COL_CHANGES only lane 1's damage shows */
		if (lane1 && !err_matches(r[1], &e[1], c, off, false))
			good = false;
		if (c->scan && !err_matches(r[2], &e[2], c, off, true))
			good = false;
		for (int m = 0; m < 3; m++)
			if (r[m])
				printf("#   %s: '%s' in '%s' at %llu (%d)\n", m == 0 ? "decode" : m == 1 ? "changes" : "scan",
				       e[m].msg, e[m].block, (unsigned long long)e[m].offset, r[m]);
		char want[160];
		snprintf(want, sizeof(want), "%s%s%s%s%s%s%s%s%s", c->msg ? "'" : "an error", c->msg ? c->msg : "",
			 c->msg ? "'" : "", c->blk ? " in '" : "", c->blk ? c->blk : "", c->blk ? "'" : "",
			 c->at_block ? " at its offset" : "", lane1 ? ", also reading changes only" : "",
			 c->scan ? ", also in a path scan" : "");
		ok(good, "%s: %s", c->what, want);
		free(b);
	}
	/* lane 1 damage is lane 1's: a decode of lane 1 alone (no lane 0
	 * block loaded) of lane 0 damage goes through */
	if (base) {
		size_t bl;
		uint8_t *b = seg_with_block(seg, T_SHAPE, (const uint8_t *)"\x00\x01\x09", 3, UINT32_MAX, &bl);
		struct fl_error e;
		int r = b ? gen_read_mode(b, bl, 1, &e) : -1;
		ok(r == 0, "lane 0's index out of range does not stop a changes-only read (%d '%s')", r, r ? e.msg : "");
		free(b);
	}
	/* an empty kind block next to the shapes counts as present (5.8) */
	if (base) {
		size_t bl;
		uint8_t *b = seg_add_block(seg, T_KIND, NULL, 0, 0, &bl);
		struct fl_error e;
		int r = b ? gen_decode_all(b, bl, &e) : -1;
		ok(b && r == -EBADMSG && strstr(e.msg, "both shapes and the streams"),
		   "an empty kind block with the shapes: 'both' (%d '%s' in '%s')", r, r ? e.msg : "", r ? e.block : "");
		free(b);
	}
	/* shapes blocks in a lane without events */
	{
		struct gen g0 = example(false);
		size_t l0 = 0, bl = 0, bl2 = 0;
		uint8_t *s0 = encode_opts(&g0, RAWU, 0, 0, &l0);
		uint8_t *b = s0 ? seg_add_block(s0, T_SHAPES + L1, ex_c_shapes, sizeof(ex_c_shapes), 2, &bl) : NULL;
		uint8_t *b2 = b ? seg_add_block(b, T_SHAPE + L1, ex_c_shape, sizeof(ex_c_shape), 0, &bl2) : NULL;
		struct fl_error e;
		int r = b2 ? gen_decode_all(b2, bl2, &e) : -1;
		ok(b2 && r == -EBADMSG && strstr(e.msg, "trailing bytes") && !strcmp(e.block, "c:shape"),
		   "c:shapes and c:shape in a lane without events: trailing bytes (%d '%s' in '%s')", r,
		   r ? e.msg : "", r ? e.block : "");
		free(s0);
		free(b);
		free(b2);
		gen_free(&g0);
	}
	/* with SUCC_PATHS the scan walks the pid codes, from the shapes now:
	 * two compilers, the second repeating the first's paths (5.4.2's
	 * example); event 0 given shape 1 (pid code 0, the list empty) */
	{
		struct gen gs = {.rng = 3};
		static const struct {
			uint32_t pid;
			const char *path;
		} ops[] = {{100, "/a.h"}, {100, "/b.h"}, {200, "/a.h"}, {100, "/c.h"}, {200, "/b.h"}, {200, "/c.h"}};
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
			struct fr_event *e = gen_push(&gs);
			gen_ctx(e, ops[k].pid, 1, "cc1", NULL, 5);
			e->ts_ns = 1000 * gs.n;
			e->kind = FR_EV_OPEN;
			e->path = ops[k].path;
		}
		size_t sl = 0, n = 0, bl = 0;
		uint8_t *ss = encode_opts(&gs, RAWU, 0, 0, &sl);
		const uint8_t *sh = ss ? seg_block(ss, T_SHAPE, &n, NULL) : NULL;
		uint8_t *b = NULL;
		struct fl_error e[3];
		int r[3] = {-1, -1, -1};
		if (sh && n == 6 && sh[0] == 0 && sh[1] == 1 && (seg_incompat(ss) & SUCC_FLAG)) {
			uint8_t nb[6];
			memcpy(nb, sh, 6);
			nb[0] = 1;
			b = seg_with_block(ss, T_SHAPE, nb, 6, UINT32_MAX, &bl);
			for (int m = 0; m < 3 && b; m++)
				r[m] = gen_read_mode(b, bl, m, &e[m]);
		}
		ok(r[0] == -EBADMSG && r[2] == -EBADMSG && strstr(e[0].msg, "pid index out of range") &&
			   strstr(e[2].msg, "pid index out of range"),
		   "SUCC_PATHS: a shape's pid code 0 at the first event is an error in a decode ('%s' in '%s') and a scan "
		   "('%s' in '%s')",
		   r[0] ? e[0].msg : "", r[0] ? e[0].block : "", r[2] ? e[2].msg : "", r[2] ? e[2].block : "");
		free(b);
		free(ss);
		gen_free(&gs);
	}
	/* the flag cleared: 40 and 41 are unknown types, the kind etc.
	 * streams are missing */
	if (seg) {
		uint8_t *b = malloc(len);
		memcpy(b, seg, len);
		fl_le32_put(b + 20, seg_incompat(seg) & ~SHAPES_FLAG);
		seg_fix_header_crc(b);
		struct fl_error e[3];
		int r[3];
		for (int m = 0; m < 3; m++)
			r[m] = gen_read_mode(b, len, m, &e[m]);
		ok(r[0] < 0 && r[1] < 0 && r[2] < 0, "a shaped segment with SHAPES cleared: errors, no crash ('%s' in '%s')",
		   e[0].msg, e[0].block);
		free(b);
	}
	/* the flag set on a segment without shapes */
	{
		size_t ol = 0;
		uint8_t *ob = encode_opts(&g, RAWU | FL_WRITER_NO_SHAPES, 0, 0, &ol);
		struct fl_error e;
		int r = -1;
		if (ob) {
			fl_le32_put(ob + 20, seg_incompat(ob) | SHAPES_FLAG);
			seg_fix_header_crc(ob);
			r = gen_decode_all(ob, ol, &e);
		}
		ok(r == -EBADMSG && (strstr(e.msg, "missing") || strstr(e.msg, "both shapes and the streams")),
		   "SHAPES set on a segment with the four streams: '%s' in '%s'", r ? e.msg : "", r ? e.block : "");
		free(ob);
	}
	free(seg);
	gen_free(&g);
}

/* Random damage to the four blocks of a small build: errors or events,
 * never a crash (run it under valgrind / ASan). */
static void test_random_damage(void)
{
	struct gen g = {.rng = 77};
	gen_build_jobs(&g, 300, 3);
	size_t len = 0;
	uint8_t *seg = encode_opts(&g, RAWU, 0, 0, &len);
	static const uint32_t types[] = {T_SHAPES, T_SHAPE, T_SHAPES + L1, T_SHAPE + L1};
	int runs = 0, errors = 0, bad_code = 0;
	for (int it = 0; seg && it < 1200; it++) {
		uint32_t t = types[gen_below(&g, 4)];
		size_t n = 0;
		const uint8_t *p = seg_block(seg, t, &n, NULL);
		if (!p)
			continue;
		uint8_t buf[4096];
		size_t m = n < sizeof(buf) - 8 ? n : sizeof(buf) - 8;
		memcpy(buf, p, m);
		uint32_t items = UINT32_MAX;
		switch (gen_below(&g, 5)) {
		case 0: /* a random byte */
			if (m)
				buf[gen_below(&g, m)] = (uint8_t)gen_rand(&g);
			break;
		case 1: /* a flipped bit */
			if (m)
				buf[gen_below(&g, m)] ^= (uint8_t)(1u << gen_below(&g, 8));
			break;
		case 2: /* cut */
			m = (size_t)gen_below(&g, m + 1);
			break;
		case 3: /* grown */
			for (int k = (int)gen_below(&g, 8) + 1; k > 0; k--)
				buf[m++] = (uint8_t)gen_rand(&g);
			break;
		default: /* another count */
			items = (uint32_t)(gen_below(&g, 2) ? gen_below(&g, 40) : gen_rand(&g));
		}
		size_t bl = 0;
		uint8_t *b = seg_with_block(seg, t, buf, m, items, &bl);
		for (int mode = 0; b && mode < 3; mode++) {
			struct fl_error e;
			int r = gen_read_mode(b, bl, mode, &e);
			errors += r < 0;
			bad_code += r < 0 && r != -EBADMSG;
			if (r < 0 && r != -EBADMSG)
				printf("# damage %d, mode %d: %d '%s' in '%s'\n", it, mode, r, e.msg, e.block);
		}
		runs++;
		free(b);
	}
	ok(seg && runs > 1000 && !bad_code, "%d randomly damaged shape blocks, 3 reads each: %d errors, all -EBADMSG", runs,
	   errors);
	free(seg);
	gen_free(&g);
}

/* ---- what it is for ---- */

static uint64_t stored_of(const void *buf, size_t len, const char *const *names, size_t nn)
{
	struct fl_segment *s;
	uint64_t sum = 0;
	if (fl_segment_open(buf, len, &s, NULL))
		return 0;
	size_t nb;
	const struct fl_block_stat *bs = fl_segment_blocks(s, &nb);
	for (size_t i = 0; i < nb; i++)
		for (size_t k = 0; k < nn; k++)
			if (bs[i].name && !strcmp(bs[i].name, names[k]))
				sum += bs[i].stored;
	fl_segment_free(s);
	return sum;
}

static void test_size(void)
{
	struct gen g = {.rng = 2026};
	gen_build_jobs(&g, 20000, 4);
	size_t len = 0, olen = 0;
	void *b = encode_opts(&g, 0, 0, 0, &len), *ob = encode_opts(&g, FL_WRITER_NO_SHAPES, 0, 0, &olen);
	static const char *const sh[] = {"shape", "shapes", "c:shape", "c:shapes"};
	static const char *const st[] = {"kind", "pid", "ctx-mask", "ev-mask", "c:kind", "c:pid", "c:ctx-mask", "c:ev-mask"};
	printf("# gen_build_jobs(20000, 4), level %d: shaped %zu B, FL_WRITER_NO_SHAPES %zu B\n", FL_DEFAULT_LEVEL, len,
	       olen);
	if (b && ob)
		printf("#   shape + shapes (both lanes) %llu B stored (estimate), the four streams %llu B\n",
		       (unsigned long long)stored_of(b, len, sh, 4), (unsigned long long)stored_of(ob, olen, st, 8));
	char why[256] = "";
	ok(b && ob && len < olen && !gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)),
	   "a 20000-event parallel build is smaller with shapes: %zu < %zu B %s", len, olen, why);
	free(b);
	free(ob);
	gen_free(&g);
}

/* ---- fuzz seeds (FL_WRITE_SHAPES_SEEDS=DIR) ---- */

static int write_seed(const char *dir, const char *name, const struct gen *g, uint32_t flags)
{
	char why[256] = "";
	size_t len = 0;
	int bad = gen_write_seed(dir, name, g, flags, SHAPES_FLAG, &len, why, sizeof(why));
	ok(!bad, "wrote %s/%s (%zu bytes, SHAPES, decodes) %s", dir, name, len, why);
	return bad;
}

static int write_seeds(const char *dir)
{
	/* two compilers interleaved (their objects in the change lane), and
	 * a few changes of other kinds and pids after */
	struct gen g = {.rng = 12};
	gen_build_jobs(&g, 100, 2);
	for (int k = 0; k < 6; k++) {
		struct fr_event *e = gen_push(&g);
		*e = g.ev[g.n - 2];
		e->ts_ns += 1000000;
		e->kind = k % 3 == 0 ? FR_EV_MODIFY : k % 3 == 1 ? FR_EV_RENAME : FR_EV_CHMOD;
		e->pid = e->tid = 41100 + (uint32_t)(k % 2);
		e->path = "/tmp/out.o";
		e->path2 = k % 3 == 1 ? "/tmp/out2.o" : NULL;
		e->mode = k % 3 == 2 ? 0600 : 0;
	}
	size_t cnt[2];
	gen_lane_counts(&g, cnt);
	printf("# seeds: %zu events, %zu in the change lane\n", g.n, cnt[1]);
	write_seed(dir, "seed-build-shapes.frl", &g, 0);
	write_seed(dir, "seed-build-shapes-raw.frl", &g, RAWU);
	gen_free(&g);
	return tap_done();
}

int main(void)
{
	const char *seeds = getenv("FL_WRITE_SHAPES_SEEDS");
	if (seeds)
		return write_seeds(seeds);
	test_example();
	test_corrupt();
	test_random_damage();
	test_round_trips();
	test_columns();
	test_writer_reuse();
	test_old_bytes();
	test_scans();
	test_size();
	return tap_done();
}
