/* test_flightlog_groups.c - the GROUPED_PATHS layout of a lane's path
 * stream (docs/FORMAT.md 5.4.3, incompat flag 0x1000).
 *
 * Why: grouped, a lane's path values are stored process by process while
 * they are still computed and decoded in event order, so the reader keeps
 * a cursor per pid into the path stream and a cursor into the group sizes;
 * a group handed to the wrong pid, a cursor off by one or a rewind that
 * keeps a cursor is a wrong path much later (or a scan that silently misses
 * hits), and a bad count must be a clear error, never a read past a
 * buffer. So these are the spec's example byte for byte (with and without
 * SUCC_PATHS codes, in both lanes), the grouped stream checked from the
 * spec alone against the stream FL_WRITER_NO_GROUPED_PATHS writes for the
 * same events (its permutation by process, the group sizes, every other
 * block byte-identical), exact round trips of every generator in every
 * writer layout, column subsets and rewinds, path scans from both layouts,
 * the default writer's choice, every rule of 5.4.3 broken once in each
 * lane (a clear error naming the block, in a full decode, a changes-only
 * decode and a scan) and random damage to the blocks.
 * With FL_WRITE_GROUPS_SEEDS=DIR it writes two fuzz seeds into DIR instead. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

#define GROUPED_FLAG 0x1000u
#define SUCC_FLAG 0x200u
#define SHAPES_FLAG 0x800u
#define RAWU (FL_WRITER_RAW | FL_WRITER_NO_PACK)
#define NOG FL_WRITER_NO_GROUPED_PATHS
#define ALWAYS FL_WRITER_GROUPED_PATHS_ALWAYS
#define L1 128u /* lane 1's block types: lane 0's + 128 */
enum { T_PATH = 65, T_GROUPS = 42 };

static void *encode_opts(const struct gen *g, uint32_t flags, int level, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags, .level = level};
	return gen_encode_opts(g, &o, len);
}

/* ---- the format's rules, independently of the writer ---- */

/* The pids of lane `lane`'s path values, in event order: the events of
 * the lane whose `path` bit is set in ev-mask, i.e. whose path differs
 * from the kind state's (FORMAT.md 5.4: the previous path of the same
 * kind slot min(kind, 63) in the lane, NULL at first). *pids is malloc'd
 * (NULL when there are none); returns their number. */
static size_t path_value_pids(const struct gen *g, int lane, uint32_t **pids)
{
	const char *state[64] = {NULL};
	size_t n = 0, cap = 0;
	*pids = NULL;
	for (size_t i = 0; i < g->n; i++) {
		const struct fr_event *e = &g->ev[i];
		if (gen_is_change(e->kind) != lane)
			continue;
		unsigned slot = e->kind < 63 ? e->kind : 63;
		if (!gen_same_str(e->path, state[slot])) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				uint32_t *t = realloc(*pids, cap * sizeof(uint32_t));
				if (!t)
					abort();
				*pids = t;
			}
			(*pids)[n++] = e->pid;
		}
		state[slot] = e->path;
	}
	return n;
}

/* Whether each lane has path values. */
static void lanes_with_paths(const struct gen *g, bool has[2])
{
	for (int l = 0; l < 2; l++) {
		uint32_t *p;
		has[l] = path_value_pids(g, l, &p) > 0;
		free(p);
	}
}

struct val {
	uint32_t pid;
	size_t j, first; /* the value's place in event order; its pid's first value's */
};

static int by_pid(const void *a, const void *b)
{
	const struct val *x = a, *y = b;
	return x->pid != y->pid ? (x->pid < y->pid ? -1 : 1) : x->j < y->j ? -1 : x->j > y->j;
}

static int by_group(const void *a, const void *b)
{
	const struct val *x = a, *y = b;
	return x->first != y->first ? (x->first < y->first ? -1 : 1) : x->j < y->j ? -1 : x->j > y->j;
}

/* The spec's grouping of path stream u[0..un) whose values belong to
 * pids[0..nv) in event order: the values of the first process (in the
 * order of first values) in event order, then the second's, ...; *out
 * gets the grouped stream (un bytes), *sizes the path-groups content (one
 * varint per group), *ngroups their number. 0 when u holds exactly nv
 * varints, else 1 and why says so. */
static int spec_group(const uint8_t *u, size_t un, const uint32_t *pids, size_t nv, uint8_t **out,
		      struct fl_bytes *sizes, size_t *ngroups, char *why, size_t wl)
{
	size_t *at = malloc((nv + 1) * sizeof(size_t)), k = 0;
	struct val *v = malloc((nv ? nv : 1) * sizeof(*v));
	const uint8_t *p = u, *end = u + un;
	uint64_t x;
	*out = malloc(un ? un : 1);
	*ngroups = 0;
	memset(sizes, 0, sizeof(*sizes));
	if (!at || !v || !*out)
		abort();
	while (p < end && k <= nv) {
		at[k++] = (size_t)(p - u);
		if (fl_get_varint(&p, end, &x)) {
			free(at);
			free(v);
			return snprintf(why, wl, "the ungrouped path stream has a bad varint"), 1;
		}
	}
	if (k != nv) {
		free(at);
		free(v);
		return snprintf(why, wl, "the ungrouped path stream holds %s%zu values, the events carry %zu",
				k > nv ? "more than " : "", k, nv),
		       1;
	}
	at[nv] = un;
	for (size_t j = 0; j < nv; j++)
		v[j] = (struct val){pids[j], j, 0};
	qsort(v, nv, sizeof(*v), by_pid);
	for (size_t j = 0; j < nv; j++)
		v[j].first = j && v[j - 1].pid == v[j].pid ? v[j - 1].first : v[j].j;
	qsort(v, nv, sizeof(*v), by_group);
	size_t o = 0, run = 0;
	for (size_t j = 0; j < nv; j++) {
		size_t a = at[v[j].j], b = at[v[j].j + 1];
		memcpy(*out + o, u + a, b - a);
		o += b - a;
		run++;
		if (j + 1 == nv || v[j + 1].first != v[j].first) {
			if (fl_put_varint(sizes, run))
				abort();
			++*ngroups;
			run = 0;
		}
	}
	free(at);
	free(v);
	return 0;
}

/* Raw, unpacked s (FL_WRITER_GROUPED_PATHS_ALWAYS) against u
 * (FL_WRITER_NO_GROUPED_PATHS, otherwise the same writer flags) of g's
 * events, by FORMAT.md 5.4.3 alone: in each lane with path values, s's
 * path stream is u's grouped by process and its path-groups block (items
 * 0) lists the group sizes; a lane without path values has no path-groups
 * block; u has none; s has the flag exactly when a lane has path values,
 * u never, and otherwise the same header fields and flags; every other
 * block is the same in both (type, content, items). 0 when all hold;
 * ngroups[] gets the lanes' group counts. */
static int spec_check(const uint8_t *s, const uint8_t *u, const struct gen *g, size_t ngroups[2], char *why,
		      size_t wl)
{
	bool any = false;
	for (int l = 0; l < 2; l++) {
		uint32_t off = l ? L1 : 0, *pids;
		size_t un = 0, sn = 0, gn = 0, n;
		const uint8_t *up = seg_block(u, T_PATH + off, &un, NULL), *sp = seg_block(s, T_PATH + off, &sn, NULL);
		const uint8_t *gp = seg_block(s, T_GROUPS + off, &gn, NULL);
		size_t nv = path_value_pids(g, l, &pids);
		ngroups[l] = 0;
		if (seg_block(u, T_GROUPS + off, &n, NULL)) {
			free(pids);
			return snprintf(why, wl, "lane %d: the ungrouped segment has a path-groups block", l), 1;
		}
		if (!nv) {
			free(pids);
			if (gp)
				return snprintf(why, wl, "lane %d has no path values but a path-groups block", l), 1;
			if (!up != !sp || un != sn || (un && memcmp(up, sp, un)))
				return snprintf(why, wl, "lane %d: path blocks differ without path values", l), 1;
			continue;
		}
		any = true;
		uint8_t *want = NULL;
		struct fl_bytes sizes;
		if (!up || spec_group(up, un, pids, nv, &want, &sizes, &ngroups[l], why, wl)) {
			if (!up)
				snprintf(why, wl, "lane %d: %zu path values but no path block", l, nv);
			free(pids);
			free(want);
			return 1;
		}
		free(pids);
		int bad = 0;
		if (!sp || sn != un || memcmp(sp, want, un))
			bad = (snprintf(why, wl, "lane %d: the path stream (%zu bytes) is not the ungrouped one (%zu bytes) "
					"grouped by process", l, sn, un), 1);
		else if (!gp || gn != sizes.len || memcmp(gp, sizes.p, gn))
			bad = (snprintf(why, wl, "lane %d: path-groups (%zu bytes) is not the %zu group sizes (%zu bytes)", l,
					gn, ngroups[l], sizes.len), 1);
		else if (seg_block_items(s, T_GROUPS + off) != 0)
			bad = (snprintf(why, wl, "lane %d: path-groups has items %u", l, seg_block_items(s, T_GROUPS + off)),
			       1);
		free(want);
		fl_bytes_free(&sizes);
		if (bad)
			return 1;
	}
	if (seg_incompat(u) & GROUPED_FLAG)
		return snprintf(why, wl, "the ungrouped segment has the flag"), 1;
	if (seg_incompat(s) != (seg_incompat(u) | (any ? GROUPED_FLAG : 0)))
		return snprintf(why, wl, "incompat flags 0x%x, want 0x%x", seg_incompat(s),
				seg_incompat(u) | (any ? GROUPED_FLAG : 0)),
		       1;
	if (memcmp(s + 16, u + 16, 4) || memcmp(s + 24, u + 24, 88 - 24))
		return snprintf(why, wl, "compat flags, seq, prev hash, count or times differ"), 1;
	/* every other block: the same type, content and items in both */
	for (int w = 0; w < 2; w++) {
		const uint8_t *a = w ? s : u, *b = w ? u : s;
		uint32_t nb = fl_le32_get(a + 88);
		uint64_t toff = fl_le64_get(a + 96);
		for (uint32_t i = 0; i < nb; i++) {
			uint32_t ty = fl_le32_get(a + toff + i * 40), base = ty >= L1 ? ty - L1 : ty;
			if (base == T_PATH || base == T_GROUPS)
				continue;
			size_t na, nb2;
			const uint8_t *ca = seg_block(a, ty, &na, NULL), *cb = seg_block(b, ty, &nb2, NULL);
			if (!cb || na != nb2 || memcmp(ca, cb, na) || seg_block_items(a, ty) != seg_block_items(b, ty))
				return snprintf(why, wl, "block %u differs between the layouts", ty), 1;
		}
	}
	return 0;
}

/* Whether fl_segment_blocks of buf names "path-groups" (lane 0) and
 * "c:path-groups" (lane 1); works on packed segments too. 0 when the
 * open works. */
static int group_blocks(const void *buf, size_t len, bool named[2])
{
	struct fl_segment *s;
	named[0] = named[1] = false;
	if (fl_segment_open(buf, len, &s, NULL))
		return 1;
	size_t nb;
	const struct fl_block_stat *bs = fl_segment_blocks(s, &nb);
	for (size_t i = 0; i < nb; i++) {
		named[0] |= bs[i].name && !strcmp(bs[i].name, "path-groups");
		named[1] |= bs[i].name && !strcmp(bs[i].name, "c:path-groups");
	}
	fl_segment_free(s);
	return 0;
}

/* ---- the worked example of FORMAT.md 5.4.3 ---- */

/* An open (or, change, a create) by pid with path; no exe or cwd, so the
 * paths dictionary holds only the events' paths. */
static void op(struct gen *g, uint32_t pid, const char *path, bool change)
{
	struct fr_event *e = gen_push(g);
	gen_ctx(e, pid, 1, "cc1", NULL, 5);
	e->ts_ns = 1000 * g->n;
	e->kind = change ? FR_EV_CREATE : FR_EV_OPEN;
	e->path = path;
}

/* The spec's six opens; with_changes: then four creates (lane 1) by the
 * same pids: 100 /x, 200 /y, 100 /c, 200 /x. The paths dictionary is /a
 * = 1, /b = 2, /c = 3, /d = 4, /x = 5, /y = 6; lane 1's NEWREF codes in
 * event order are 07 (5 + 2), 01 (new), 05 (3 + 2), 07; grouped, pid
 * 100's 07 05 then pid 200's 01 07, path-groups 02 02. */
static struct gen example(bool with_changes)
{
	struct gen g = {.rng = 1};
	op(&g, 100, "/a", false);
	op(&g, 200, "/b", false);
	op(&g, 100, "/c", false);
	op(&g, 200, "/d", false);
	op(&g, 100, "/b", false);
	op(&g, 200, "/a", false);
	if (with_changes) {
		op(&g, 100, "/x", true);
		op(&g, 200, "/y", true);
		op(&g, 100, "/c", true);
		op(&g, 200, "/x", true);
	}
	return g;
}

static const uint8_t ex_path[] = {0x01, 0x01, 0x04, 0x01, 0x01, 0x03};
static const uint8_t ex_groups[] = {0x03, 0x03};
static const uint8_t ex_path_old[] = {0x01, 0x01, 0x01, 0x01, 0x04, 0x03};
static const uint8_t ex_c_path[] = {0x07, 0x05, 0x01, 0x07};
static const uint8_t ex_c_groups[] = {0x02, 0x02};
static const uint8_t ex_c_path_old[] = {0x07, 0x01, 0x05, 0x07};

/* FORMAT.md 5.4.2's example (two compilers, the second repeating the
 * first's headers), whose path stream has SUCC_PATHS codes 02 02 04 02 01
 * 01 04 03 for pids 100 100 200 100 200 200 100 200 (the last event's bit
 * is clear); grouped: 02 02 02 04 | 04 01 01 03, path-groups 04 04. */
static struct gen succ_example(void)
{
	struct gen g = {.rng = 2};
	static const struct {
		uint32_t pid;
		const char *path;
	} ops[] = {{100, "/a.h"}, {100, "/b.h"}, {200, "/a.h"}, {100, "/c.h"}, {200, "/b.h"},
		   {200, "/c.h"}, {100, "/a.h"}, {200, "/c.h"}, {200, "/c.h"}};
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		op(&g, ops[k].pid, ops[k].path, false);
	return g;
}

static void test_example(void)
{
	struct gen g = example(false);
	size_t len = 0, olen = 0, n, ns[2];
	char why[256] = "";
	uint8_t *b = encode_opts(&g, RAWU | FL_WRITER_NO_SUCC_PATHS | ALWAYS, 0, &len);
	uint8_t *ob = encode_opts(&g, RAWU | FL_WRITER_NO_SUCC_PATHS | NOG, 0, &olen);
	ok(b && (seg_incompat(b) & GROUPED_FLAG), "the example written with FL_WRITER_GROUPED_PATHS_ALWAYS has "
						  "GROUPED_PATHS (incompat 0x%x)", b ? seg_incompat(b) : 0);
	ok(seg_block_is(b, T_PATH, ex_path, sizeof(ex_path)), "path = 01 01 04 01 01 03, as FORMAT.md 5.4.3 says");
	ok(seg_block_is(b, T_GROUPS, ex_groups, sizeof(ex_groups)) && seg_block_items(b, T_GROUPS) == 0,
	   "path-groups (type 42) = 03 03, items 0");
	ok(b && !seg_block(b, T_GROUPS + L1, &n, NULL) && !seg_block(b, T_PATH + L1, &n, NULL),
	   "lane 1 has no events: no c:path or c:path-groups block (193, 170)");
	static const char *const dict[] = {"/a", "/b", "/c", "/d"};
	ok(b && !gen_check_paths_dict(b, len, dict, 4, GROUPED_FLAG, true, "GROUPED_PATHS", why, sizeof(why)),
	   "the paths dictionary is /a /b /c /d, and a scan finds each %s", why);
	ok(b && !gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)),
	   "the grouped example decodes to exactly its events %s", why);
	ok(ob && !(seg_incompat(ob) & GROUPED_FLAG) && seg_block_is(ob, T_PATH, ex_path_old, sizeof(ex_path_old)) &&
		   !seg_block(ob, T_GROUPS, &n, NULL),
	   "with FL_WRITER_NO_GROUPED_PATHS: no flag, path = 01 01 01 01 04 03, no path-groups block");
	ok(ob && !gen_check_decode(ob, olen, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)), "... which decodes %s", why);
	ok(b && ob && !spec_check(b, ob, &g, ns, why, sizeof(why)) && ns[0] == 2,
	   "the spec's reading of both agrees (2 groups) %s", why);
	/* FL_WRITER_NO_GROUPED_PATHS wins over ..._ALWAYS (flightlog.h) */
	size_t bl = 0;
	uint8_t *both = encode_opts(&g, RAWU | FL_WRITER_NO_SUCC_PATHS | NOG | ALWAYS, 0, &bl);
	ok(both && ob && bl == olen && !memcmp(both, ob, olen), "NO_GROUPED_PATHS with ..._ALWAYS: the bytes of NO alone");
	free(both);
	/* compressed and packed, the same events */
	uint8_t *pk = encode_opts(&g, FL_WRITER_NO_SUCC_PATHS | ALWAYS, 0, &bl);
	ok(pk && (seg_incompat(pk) & GROUPED_FLAG) && !gen_check_decode(pk, bl, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)),
	   "packed and compressed, grouped: decodes %s", why);
	free(pk);
	free(b);
	free(ob);
	gen_free(&g);

	/* both lanes: lane 1 groups its own values with its own counts */
	g = example(true);
	b = encode_opts(&g, RAWU | FL_WRITER_NO_SUCC_PATHS | ALWAYS, 0, &len);
	ob = encode_opts(&g, RAWU | FL_WRITER_NO_SUCC_PATHS | NOG, 0, &olen);
	static const char *const dict2[] = {"/a", "/b", "/c", "/d", "/x", "/y"};
	ok(b && !gen_check_paths_dict(b, len, dict2, 6, GROUPED_FLAG, true, "GROUPED_PATHS", why, sizeof(why)),
	   "with four creates after: the dictionary /a /b /c /d /x /y %s", why);
	ok(seg_block_is(b, T_PATH, ex_path, sizeof(ex_path)) && seg_block_is(b, T_GROUPS, ex_groups, sizeof(ex_groups)) &&
		   seg_block_is(b, T_PATH + L1, ex_c_path, sizeof(ex_c_path)) &&
		   seg_block_is(b, T_GROUPS + L1, ex_c_groups, sizeof(ex_c_groups)),
	   "lane 0 as before; c:path = 07 05 01 07, c:path-groups (type 170) = 02 02");
	ok(seg_block_is(ob, T_PATH + L1, ex_c_path_old, sizeof(ex_c_path_old)) && ob &&
		   !seg_block(ob, T_GROUPS + L1, &n, NULL),
	   "ungrouped: c:path = 07 01 05 07, no c:path-groups");
	ok(b && !gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)), "and it decodes %s", why);
	ok(b && ob && !spec_check(b, ob, &g, ns, why, sizeof(why)) && ns[0] == 2 && ns[1] == 2,
	   "the spec's reading agrees in both lanes %s", why);
	free(b);
	free(ob);
	gen_free(&g);

	/* SUCC_PATHS codes grouped: the values are computed in event order */
	g = succ_example();
	b = encode_opts(&g, RAWU | ALWAYS, 0, &len);
	ob = encode_opts(&g, RAWU | NOG, 0, &olen);
	static const uint8_t sp[] = {0x02, 0x02, 0x02, 0x04, 0x04, 0x01, 0x01, 0x03}, sg[] = {0x04, 0x04};
	static const uint8_t sp_old[] = {0x02, 0x02, 0x04, 0x02, 0x01, 0x01, 0x04, 0x03};
	ok(b && (seg_incompat(b) & (SUCC_FLAG | GROUPED_FLAG)) == (SUCC_FLAG | GROUPED_FLAG) &&
		   seg_block_is(b, T_PATH, sp, sizeof(sp)) && seg_block_is(b, T_GROUPS, sg, sizeof(sg)),
	   "5.4.2's example grouped: SUCC_PATHS and GROUPED_PATHS, path = 02 02 02 04 04 01 01 03, path-groups = 04 04");
	ok(ob && seg_block_is(ob, T_PATH, sp_old, sizeof(sp_old)) && !(seg_incompat(ob) & GROUPED_FLAG),
	   "... and ungrouped the stream of 5.4.2, 02 02 04 02 01 01 04 03");
	ok(b && !gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)) &&
		   !gen_check_decode(b, len, &g, FL_COL_PATHS, FL_READ_FAST, gen_masked_cmp, why, sizeof(why)),
	   "which decodes, also with FL_COL_PATHS alone %s", why);
	free(b);
	free(ob);
	gen_free(&g);
}

/* ---- generators ---- */

static void w_random_chaos(struct gen *g) { gen_random_stream(g, 600, 1); }
static void w_random(struct gen *g) { gen_random_stream(g, 1500, 0); }
static void w_build_jobs(struct gen *g) { gen_build_jobs(g, 3000, 3); }
static void w_build_jobs8(struct gen *g) { gen_build_jobs(g, 2500, 8); }
static void w_build_serial(struct gen *g) { gen_build_jobs(g, 1200, 1); }
static void w_build(struct gen *g) { gen_build(g, 1500); }
static void w_nginx(struct gen *g) { gen_nginx(g, 3000); }
static void w_loopback(struct gen *g) { gen_loopback(g, 2000); }
static void w_tree(struct gen *g) { gen_tree_walk(g, 1500); }
static void w_probes(struct gen *g) { gen_cc_probes(g, 1500); }
static void w_unpack(struct gen *g) { gen_unpack_jobs(g, 3000, 4); }
static void w_one(struct gen *g) { op(g, 9, "/bin/true", false); }
static void w_one_change(struct gen *g) { op(g, 9, "/x", true); }
static void w_no_path(struct gen *g)
{
	for (int k = 0; k < 20; k++) {
		struct fr_event *e = gen_push(g);
		gen_ctx(e, 300 + (uint32_t)(k % 3), 1, "sh", "/bin/sh", 5);
		e->ts_ns = 1000 * g->n;
		e->kind = k % 2 ? FR_EV_EXIT : FR_EV_FORK;
	}
}
static void w_empty(struct gen *g) { (void)g; }
static void w_mixed(struct gen *g)
{
	gen_build_jobs(g, 1500, 2);
	gen_nginx(g, g->n + 1500);
	gen_random_stream(g, 300, 0);
	gen_unpack_jobs(g, g->n + 800, 3);
	gen_tree_walk(g, 300);
	gen_loopback(g, g->n + 500);
	gen_build(g, g->n + 500);
	gen_cc_probes(g, g->n + 500);
	gen_build_jobs(g, g->n + 1000, 4);
}

static const struct workload {
	const char *name;
	void (*make)(struct gen *);
	int seeds;
} workloads[] = {
	{"random streams (chaos)", w_random_chaos, 2},
	{"random streams", w_random, 1},
	{"gen_build_jobs, 3 jobs", w_build_jobs, 2},
	{"gen_build_jobs, 8 jobs", w_build_jobs8, 1},
	{"gen_build_jobs, 1 job", w_build_serial, 1},
	{"gen_build", w_build, 1},
	{"gen_nginx", w_nginx, 2},
	{"gen_loopback", w_loopback, 1},
	{"gen_tree_walk", w_tree, 1},
	{"gen_cc_probes", w_probes, 1},
	{"gen_unpack_jobs (lane 1 interleaved)", w_unpack, 2},
	{"one open", w_one, 1},
	{"one create", w_one_change, 1},
	{"forks and exits, no path", w_no_path, 1},
	{"no event", w_empty, 1},
	{"every generator mixed", w_mixed, 1},
};
#define NWORK (sizeof(workloads) / sizeof(workloads[0]))

/* ---- 2: the grouped stream from the spec alone ---- */

static void test_spec(void)
{
	static const uint32_t extra[] = {0, FL_WRITER_NO_SUCC_PATHS, FL_WRITER_NO_SHAPES,
					 FL_WRITER_NO_SUCC_PATHS | FL_WRITER_NO_SHAPES};
	for (size_t w = 0; w < NWORK; w++) {
		int bad = 0, runs = 0, succ = 0;
		size_t groups[2] = {0, 0}, ng[2];
		char why[256] = "";
		for (int seed = 1; seed <= workloads[w].seeds && !bad; seed++) {
			struct gen g = {.rng = 500 + 10 * w + (uint64_t)seed};
			workloads[w].make(&g);
			for (size_t x = 0; x < 4 && !bad; x++) {
				size_t len = 0, olen = 0;
				uint8_t *b = encode_opts(&g, RAWU | ALWAYS | extra[x], 0, &len);
				uint8_t *ob = encode_opts(&g, RAWU | NOG | extra[x], 0, &olen);
				if (!b || !ob)
					bad = (snprintf(why, sizeof(why), "encode failed"), 1);
				else
					bad = spec_check(b, ob, &g, ng, why, sizeof(why));
				if (bad)
					printf("# %s, seed %d, writer flags 0x%x\n", workloads[w].name, seed, extra[x]);
				groups[0] += ng[0];
				groups[1] += ng[1];
				succ += b && (seg_incompat(b) & SUCC_FLAG);
				runs++;
				free(b);
				free(ob);
			}
			gen_free(&g);
		}
		ok(!bad, "%s: GROUPED_PATHS_ALWAYS's path streams are NO_GROUPED_PATHS's grouped by process, path-groups "
			 "the group sizes, every other block the same, with and without SUCC_PATHS and SHAPES "
			 "(%d segments, %d with SUCC_PATHS; %zu and %zu groups in lanes 0 and 1) %s",
		   workloads[w].name, runs, succ, groups[0], groups[1], why);
	}
}

/* ---- 3: round trips ---- */

static const struct layout {
	uint32_t flags;
	int level;
	const char *name;
} layouts[] = {
	{0, 0, "default"},
	{FL_WRITER_NO_PACK, 0, "compressed, unpacked"},
	{FL_WRITER_RAW, 0, "raw, packed"},
	{RAWU, 0, "raw, unpacked"},
};

static const struct grouping {
	uint32_t flags;
	const char *name;
} groupings[] = {
	{ALWAYS, "always"},
	{NOG, "never"},
	{0, "default"},
	{NOG | ALWAYS, "never and always"},
};

/* Every generator in every layout and grouping, with and without
 * SUCC_PATHS and SHAPES: exact decodes; never: no flag; always: the flag
 * and a path-groups block exactly in the lanes with path values; default:
 * without the flag the bytes of never, with it a path-groups block. */
static void test_round_trips(void)
{
	for (size_t w = 0; w < NWORK; w++) {
		int bad = 0, runs = 0, dflt = 0, dflt_grouped = 0;
		char why[256] = "";
		for (int seed = 1; seed <= workloads[w].seeds && !bad; seed++) {
			struct gen g = {.rng = 700 + 10 * w + (uint64_t)seed};
			workloads[w].make(&g);
			bool has[2];
			lanes_with_paths(&g, has);
			for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]) && !bad; l++)
				for (uint32_t x = 0; x < 4 && !bad; x++) {
					uint32_t base = layouts[l].flags | (x & 1 ? FL_WRITER_NO_SUCC_PATHS : 0) |
							(x & 2 ? FL_WRITER_NO_SHAPES : 0);
					size_t nlen = 0;
					void *nb = encode_opts(&g, base | NOG, layouts[l].level, &nlen);
					for (size_t k = 0; k < sizeof(groupings) / sizeof(groupings[0]) && !bad; k++) {
						size_t len = 0;
						uint32_t fl = base | groupings[k].flags;
						void *b = encode_opts(&g, fl, layouts[l].level, &len);
						bool named[2] = {false, false}, flag = b && (seg_incompat(b) & GROUPED_FLAG);
						bool same = b && nb && len == nlen && !memcmp(b, nb, len);
						if (!b || !nb)
							bad = (snprintf(why, sizeof(why), "encode failed"), 1);
						else if (gen_check_decode(b, len, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)))
							bad = 1;
						else if (group_blocks(b, len, named))
							bad = (snprintf(why, sizeof(why), "open failed"), 1);
						else if (groupings[k].flags & NOG) {
							if (flag || named[0] || named[1] || !same)
								bad = (snprintf(why, sizeof(why),
										"never: flag %d, path-groups %d %d, %s bytes",
										flag, named[0], named[1],
										same ? "the same" : "other"),
								       1);
						} else if (groupings[k].flags & ALWAYS) {
							if (flag != (has[0] || has[1]) || named[0] != has[0] ||
							    named[1] != has[1])
								bad = (snprintf(why, sizeof(why),
										"always: flag %d, path-groups %d %d, lanes "
										"with path values %d %d",
										flag, named[0], named[1], has[0], has[1]),
								       1);
						} else {
							dflt++;
							dflt_grouped += flag;
							if (flag ? !named[0] && !named[1] : !same || named[0] || named[1])
								bad = (snprintf(why, sizeof(why),
										"default: flag %d, path-groups %d %d, %s bytes "
										"as never",
										flag, named[0], named[1],
										same ? "the same" : "other"),
								       1);
							if ((named[0] && !has[0]) || (named[1] && !has[1]))
								bad = (snprintf(why, sizeof(why),
										"default: path-groups in a lane without "
										"path values"),
								       1);
						}
						if (bad)
							printf("# %s, seed %d, %s, writer flags 0x%x (%s)\n", workloads[w].name,
							       seed, layouts[l].name, fl, groupings[k].name);
						runs++;
						free(b);
					}
					free(nb);
				}
			gen_free(&g);
		}
		ok(!bad, "%s: %d round trips (layouts x SUCC_PATHS x SHAPES x always/never/default/both); flags and "
			 "blocks as 5.4.3 says; the default grouped %d of %d %s",
		   workloads[w].name, runs, dflt_grouped, dflt, why);
	}
}

/* Column subsets read the same fields from both layouts and what the
 * generator wrote; rewinds start every group over; a scan in the middle
 * of an iteration moves none of its cursors. */
static void test_columns(void)
{
	struct gen g = {.rng = 31};
	w_mixed(&g);
	size_t len = 0, olen = 0, dlen = 0;
	void *b = encode_opts(&g, ALWAYS, 0, &len), *ob = encode_opts(&g, NOG, 0, &olen);
	void *db = encode_opts(&g, 0, 0, &dlen);
	bool named[2] = {false, false};
	ok(b && ob && !group_blocks(b, len, named) && named[0] && named[1] && (seg_incompat(b) & GROUPED_FLAG) &&
		   !(seg_incompat(ob) & GROUPED_FLAG),
	   "a mixed segment, grouped in both lanes and not");
	static const struct {
		uint32_t cols, flags;
	} sub[] = {
		{FL_COL_CHANGES, 0},
		{FL_COL_PATHS, 0},
		{FL_COL_PATHS | FL_COL_CHANGES, 0},
		{FL_COL_PATHS | FL_COL_CHANGES, FL_READ_FAST | FL_READ_NO_SUMMARY},
		{FL_COL_CTX, 0},
		{FL_COL_NAMES | FL_COL_CHANGES, FL_READ_FAST},
		{FL_COL_DETAIL, 0},
		{FL_COL_ARGV, FL_READ_FAST},
		{FL_COL_CTX | FL_COL_NAMES | FL_COL_DETAIL | FL_COL_ARGV, 0},
		{FL_COL_ALL, FL_READ_FAST | FL_READ_NO_SUMMARY},
		{FL_COL_PATHS, FL_READ_FAST | FL_READ_NO_SUMMARY},
		{FL_COL_PATHS | FL_COL_NAMES, FL_READ_FAST},
	};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char why[256] = "", why2[256] = "", why3[256] = "", why4[256] = "";
		int a = !b || gen_check_decode(b, len, &g, sub[i].cols, sub[i].flags, gen_masked_cmp, why, sizeof(why));
		int c = !ob || gen_check_decode(ob, olen, &g, sub[i].cols, sub[i].flags, gen_masked_cmp, why2, sizeof(why2));
		int d = !b || !ob || gen_same_decodes(b, len, ob, olen, sub[i].cols, sub[i].flags, why3, sizeof(why3));
		int e = !db || gen_check_decode(db, dlen, &g, sub[i].cols, sub[i].flags, gen_masked_cmp, why4, sizeof(why4));
		ok(!a && !c && !d && !e,
		   "columns 0x%x, read flags 0x%x: the same events grouped, ungrouped and by default, as written %s%s%s%s",
		   sub[i].cols, sub[i].flags, why, why2, why3, why4);
	}
	/* rewinds at the start, early, mid-way and at the end */
	static const int skips[] = {0, 1, 7, 1700, 4000, 1 << 30};
	long n = 0;
	int bad = 0;
	for (size_t k = 0; k < sizeof(skips) / sizeof(skips[0]) && !bad; k++) {
		n = gen_rewind_decode(b, len, &g, skips[k]);
		if (n < 0 || (size_t)n != g.n) {
			bad = 1;
			printf("# rewind after %d events: %ld of %zu\n", skips[k], n, g.n);
		}
	}
	ok(!bad, "after a rewind at the start, early, mid-way or at the end the grouped segment decodes again from "
		 "the start (%ld of %zu)",
	   n, g.n);
	/* a rewind of a changes-only read (lane 1 alone) */
	struct fl_read_opts co = {.columns = FL_COL_CHANGES};
	struct fl_segment *s;
	struct fr_event ev;
	size_t nc = 0, cnt[2];
	gen_lane_counts(&g, cnt);
	int r = -1;
	if (b && !fl_segment_open_ex(b, len, &co, &s, NULL)) {
		for (int k = 0; k < 300 && fl_segment_next(s, &ev) == 1; k++)
			;
		fl_segment_rewind(s);
		size_t i = 0;
		while ((r = fl_segment_next(s, &ev)) == 1) {
			while (i < g.n && !gen_is_change(g.ev[i].kind))
				i++;
			if (i >= g.n || fr_event_compare(&g.ev[i], &ev))
				break;
			i++;
			nc++;
		}
		fl_segment_free(s);
	}
	ok(r == 0 && nc == cnt[1], "a changes-only read rewound after 300 events decodes lane 1 again (%zu of %zu)", nc,
	   cnt[1]);
	/* a scan in the middle of an iteration, then the rest of it */
	r = -1;
	size_t i = 0, nh = 0;
	int scan_r = -1;
	if (b && !fl_segment_open(b, len, &s, NULL)) {
		while (i < 2500 && (r = fl_segment_next(s, &ev)) == 1 && !fr_event_compare(&g.ev[i], &ev))
			i++;
		size_t nd = 0;
		const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, NULL, &nd);
		struct fl_path_hit *h = NULL;
		scan_r = fl_segment_find_paths(s, d, nd, &h, &nh);
		free(h);
		while ((r = fl_segment_next(s, &ev)) == 1 && i < g.n && !fr_event_compare(&g.ev[i], &ev))
			i++;
		fl_segment_free(s);
	}
	size_t want_hits = 0;
	for (size_t k = 0; k < g.n; k++)
		want_hits += g.ev[k].path || g.ev[k].path2;
	ok(scan_r == 0 && nh == want_hits && r == 0 && i == g.n,
	   "a scan of every path after 2500 events (%zu hits of %zu), then the rest: all %zu events (%d)", nh, want_hits,
	   i, r);
	free(b);
	free(ob);
	free(db);
	gen_free(&g);
}

/* Two segments from one writer: the second's groups start anew. */
static void test_writer_reuse(void)
{
	struct gen a = {.rng = 5}, c = {.rng = 6};
	gen_build_jobs(&a, 800, 2);
	gen_unpack_jobs(&c, 700, 3);
	struct fl_writer_opts o = {.flags = RAWU | ALWAYS};
	struct fl_writer *w;
	void *v1 = NULL, *v2 = NULL;
	size_t l1 = 0, l2 = 0, ul = 0, ng[2];
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
	uint8_t *u2 = encode_opts(&c, RAWU | NOG, 0, &ul);
	char why[256] = "";
	/* the second segment's prev hash and seq differ from u2's: compare
	 * through a copy of u2 with its header fields */
	uint8_t *u2c = u2 ? malloc(ul) : NULL;
	if (u2c && v2 && l2 >= 128) {
		memcpy(u2c, u2, ul);
		memcpy(u2c + 24, (uint8_t *)v2 + 24, 40);
		seg_fix_header_crc(u2c);
	}
	ok(!r && !gen_check_decode(v1, l1, &a, FL_COL_ALL, 0, NULL, why, sizeof(why)) &&
		   !gen_check_decode(v2, l2, &c, FL_COL_ALL, 0, NULL, why, sizeof(why)) && u2c &&
		   !spec_check(v2, u2c, &c, ng, why, sizeof(why)),
	   "two segments from one writer: both decode, the second's groups start anew (%zu + %zu groups) %s", ng[0],
	   ng[1], why);
	free(v1);
	free(v2);
	free(u2);
	free(u2c);
	gen_free(&a);
	gen_free(&c);
}

/* ---- 4: path scans ---- */

static void test_scans(void)
{
	static const struct {
		const char *name;
		void (*make)(struct gen *);
		uint32_t extra;
		bool both; /* both lanes grouped */
	} cases[] = {
		{"gen_build_jobs (SUCC_PATHS)", w_build_jobs, 0, true},
		{"gen_build_jobs, FL_WRITER_NO_SUCC_PATHS", w_build_jobs, FL_WRITER_NO_SUCC_PATHS, true},
		{"gen_build_jobs, FL_WRITER_NO_SHAPES", w_build_jobs, FL_WRITER_NO_SHAPES, true},
		{"gen_build_jobs, neither", w_build_jobs, FL_WRITER_NO_SUCC_PATHS | FL_WRITER_NO_SHAPES, true},
		{"gen_build_jobs raw, unpacked", w_build_jobs, RAWU, true},
		{"gen_unpack_jobs", w_unpack, 0, true},
		{"gen_unpack_jobs, FL_WRITER_NO_SUCC_PATHS", w_unpack, FL_WRITER_NO_SUCC_PATHS, true},
		{"gen_nginx", w_nginx, 0, true},
		{"random streams", w_random, 0, true},
		{"random streams (chaos), neither", w_random_chaos, FL_WRITER_NO_SUCC_PATHS | FL_WRITER_NO_SHAPES, true},
		{"gen_tree_walk", w_tree, 0, false},
		{"mixed", w_mixed, 0, true},
		{"mixed, FL_WRITER_NO_SUCC_PATHS", w_mixed, FL_WRITER_NO_SUCC_PATHS, true},
	};
	static const uint32_t opens[] = {FL_COL_SCAN, FL_COL_PATHS, FL_COL_SCAN | FL_COL_CHANGES,
					 FL_COL_PATHS | FL_COL_CHANGES};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct gen g = {.rng = 900 + c};
		cases[c].make(&g);
		size_t len = 0, olen = 0;
		void *b = encode_opts(&g, cases[c].extra | ALWAYS, 0, &len);
		void *ob = encode_opts(&g, cases[c].extra | NOG, 0, &olen);
		char why[256] = "";
		bool named[2] = {false, false};
		int bad = !b || !ob;
		if (bad)
			snprintf(why, sizeof(why), "encode failed");
		else if (!(seg_incompat(b) & GROUPED_FLAG) || group_blocks(b, len, named) || !named[cases[c].both ? 0 : 1] ||
			 !named[1])
			bad = (snprintf(why, sizeof(why), "not grouped in %s (%d %d)",
					cases[c].both ? "both lanes" : "lane 1", named[0], named[1]),
			       1);
		else if ((seg_incompat(b) & SUCC_FLAG) != (seg_incompat(ob) & SUCC_FLAG))
			bad = (snprintf(why, sizeof(why), "SUCC_PATHS in one layout only"), 1);
		int singles = 0;
		for (size_t o = 0; o < sizeof(opens) / sizeof(opens[0]) && !bad; o++) {
			bool changes = opens[o] & FL_COL_CHANGES;
			for (int k = 0; k < 6 && !bad; k++) {
				/* k 0: every path at once; else the path of some event */
				const char *p = NULL;
				if (k) {
					const struct fr_event *e = &g.ev[gen_below(&g, g.n)];
					p = e->path ? e->path : "/no/such/path";
					singles++;
				}
				struct gen_scan sa, sb;
				gen_scan_paths(b, len, opens[o], k == 0, p, &sa);
				gen_scan_paths(ob, olen, opens[o], k == 0, p, &sb);
				if (gen_same_scans(&sa, &sb, why, sizeof(why)) ||
				    gen_scan_vs_events(&sa, &g, changes, k == 0, p, why, sizeof(why)))
					bad = 1;
				if (bad)
					printf("# open 0x%x, %s\n", opens[o], k ? p : "every path");
				gen_scan_free(&sa);
				gen_scan_free(&sb);
			}
		}
		ok(!bad, "%s: path scans (4 opens, every path and %d single paths) find the same hits grouped and "
			 "ungrouped, the events' (SUCC_PATHS %s, SHAPES %s) %s",
		   cases[c].name, singles, b && (seg_incompat(b) & SUCC_FLAG) ? "set" : "clear",
		   b && (seg_incompat(b) & SHAPES_FLAG) ? "set" : "clear", why);
		free(b);
		free(ob);
		gen_free(&g);
	}
}

/* ---- 5: the default writer's choice ---- */

/* Whether the default writer groups lane l follows 5.4.3's rule where one
 * choice is clearly smaller: compressed, unpacked, the grouped path stream
 * plus path-groups against the stream in event order (stored sizes, which
 * may differ from the writer's own estimate by a frame header, hence the
 * margin). Returns the number of lanes decided clearly, -1 on a breach. */
static int check_rule(const struct gen *g, const char *name)
{
	size_t dl = 0, nl = 0, al = 0;
	uint8_t *d = encode_opts(g, FL_WRITER_NO_PACK, 0, &dl), *nb = encode_opts(g, FL_WRITER_NO_PACK | NOG, 0, &nl);
	uint8_t *a = encode_opts(g, FL_WRITER_NO_PACK | ALWAYS, 0, &al);
	int clear = 0;
	for (int l = 0; l < 2 && d && nb && a && clear >= 0; l++) {
		uint32_t off = l ? L1 : 0;
		size_t np = 0, ap = 0, ag = 0, n;
		seg_block(nb, T_PATH + off, &np, NULL);
		seg_block(a, T_PATH + off, &ap, NULL);
		seg_block(a, T_GROUPS + off, &ag, NULL);
		bool grouped = seg_block(d, T_GROUPS + off, &n, NULL) != NULL;
		size_t margin = 32 + np / 50;
		printf("# %s, lane %d: path %zu B in event order, grouped %zu + %zu B; the default %s\n", name, l, np, ap,
		       ag, grouped ? "groups" : "does not group");
		if (!ag)
			continue;
		if (ap + ag + margin < np) {
			clear = grouped ? clear + 1 : -1;
		} else if (ap + ag > np + margin) {
			clear = !grouped ? clear + 1 : -1;
		}
	}
	if (!d || !nb || !a)
		clear = -1;
	free(d);
	free(nb);
	free(a);
	return clear;
}

static void test_default_choice(void)
{
	/* a parallel build: lane 0 (compilers' headers) grouped; lane 1 (one
	 * object per compiler, one value per pid) cannot gain */
	struct gen g = {.rng = 2026};
	gen_build_jobs(&g, 20000, 4);
	size_t dl = 0, nl = 0, al = 0;
	void *d = encode_opts(&g, 0, 0, &dl), *nb = encode_opts(&g, NOG, 0, &nl), *a = encode_opts(&g, ALWAYS, 0, &al);
	bool named[2] = {false, false};
	char why[256] = "";
	printf("# gen_build_jobs(20000, 4), level %d: default %zu B, never %zu B, always %zu B\n", FL_DEFAULT_LEVEL, dl,
	       nl, al);
	ok(d && (seg_incompat(d) & GROUPED_FLAG) && !group_blocks(d, dl, named) && named[0] && !named[1],
	   "the default writer groups lane 0 of a 20000-event parallel build, not lane 1 (one path per pid) (%d %d)",
	   named[0], named[1]);
	ok(d && nb && dl <= nl && !gen_check_decode(d, dl, &g, FL_COL_ALL, 0, NULL, why, sizeof(why)),
	   "and is not larger than ungrouped: %zu <= %zu B %s", dl, nl, why);
	free(d);
	free(nb);
	free(a);
	int clear = check_rule(&g, "gen_build_jobs(20000, 4)");
	gen_free(&g);

	/* one process at a time: each pid's values are one run already, so
	 * the grouped stream is the stream (checked), and the default writes
	 * the ungrouped bytes */
	static const struct {
		const char *name;
		void (*make)(struct gen *, size_t);
	} serial[] = {
		{"gen_tree_walk(5000)", gen_tree_walk},
		{"gen_build(5000)", gen_build},
		{"gen_cc_probes(5000)", gen_cc_probes},
	};
	for (size_t k = 0; k < sizeof(serial) / sizeof(serial[0]); k++) {
		struct gen s = {.rng = 40 + k};
		serial[k].make(&s, 5000);
		size_t rl = 0, rnl = 0, n0 = 0, n1 = 0;
		uint8_t *ra = encode_opts(&s, RAWU | ALWAYS, 0, &rl), *rn = encode_opts(&s, RAWU | NOG, 0, &rnl);
		bool same_stream = ra && rn;
		for (int l = 0; l < 2 && same_stream; l++) {
			const uint8_t *p0 = seg_block(ra, T_PATH + (l ? L1 : 0), &n0, NULL);
			const uint8_t *p1 = seg_block(rn, T_PATH + (l ? L1 : 0), &n1, NULL);
			same_stream = n0 == n1 && (!n0 || !memcmp(p0, p1, n0));
		}
		d = encode_opts(&s, 0, 0, &dl);
		nb = encode_opts(&s, NOG, 0, &nl);
		a = encode_opts(&s, ALWAYS, 0, &al);
		printf("# %s: default %zu B, never %zu B, always %zu B\n", serial[k].name, dl, nl, al);
		ok(same_stream && d && nb && a && !(seg_incompat(d) & GROUPED_FLAG) && dl == nl && !memcmp(d, nb, dl) &&
			   (seg_incompat(a) & GROUPED_FLAG) && dl <= al,
		   "%s: one process at a time (grouped = the stream in event order): the default writes the ungrouped "
		   "bytes, no flag, not larger than always (%zu <= %zu B)",
		   serial[k].name, dl, al);
		free(ra);
		free(rn);
		free(d);
		free(nb);
		free(a);
		int c = clear < 0 ? 0 : check_rule(&s, serial[k].name);
		clear = c < 0 ? -1 : clear < 0 ? -1 : clear + c;
		gen_free(&s);
	}
	/* other workloads: whichever way it chose */
	static const struct {
		const char *name;
		void (*make)(struct gen *);
	} other[] = {{"gen_nginx", w_nginx}, {"gen_unpack_jobs", w_unpack}, {"mixed", w_mixed}, {"random", w_random}};
	for (size_t k = 0; k < sizeof(other) / sizeof(other[0]) && clear >= 0; k++) {
		struct gen s = {.rng = 60 + k};
		other[k].make(&s);
		int c = check_rule(&s, other[k].name);
		clear = c < 0 ? -1 : clear + c;
		gen_free(&s);
	}
	ok(clear >= 4, "where one choice is clearly smaller (compressed, unpacked), the default writer makes it in each "
		       "lane (%d lanes decided clearly)",
	   clear);
}

/* ---- 6: every rule broken once ---- */

enum { REPLACE, RETYPE, ADD };
struct ccase {
	const char *what;
	int op; /* REPLACE: block `type` holds bytes; RETYPE: type -> an unknown type; ADD: a block `type` */
	uint32_t type;
	uint8_t bytes[16];
	size_t n;
	uint32_t type2; /* and, if not 0, block type2 holds bytes2 */
	uint8_t bytes2[16];
	size_t n2;
	const char *blk;        /* the block named */
	const char *msg, *msg2; /* in the message (msg2: or that) */
	bool mid;               /* found during the events: a scan reports it too */
};

#define B(...) {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})
#define NONE 0, {0}, 0

/* The base: example(true) written raw, unpacked, NEWREF codes, grouped:
 * path 01 01 04 01 01 03, path-groups 03 03; c:path 07 05 01 07,
 * c:path-groups 02 02. Events 0-5 lane 0 (pids 100 200 100 200 100 200),
 * 6-9 lane 1 (100 200 100 200). */
static const struct ccase ccases[] = {
	/* lane 0 */
	{"a count of 0", REPLACE, T_GROUPS, B(0x03, 0x00), NONE, "path-groups", "empty path group", NULL, true},
	{"a first count of 0", REPLACE, T_GROUPS, B(0x00, 0x06), NONE, "path-groups", "empty path group", NULL, true},
	{"a count missing", REPLACE, T_GROUPS, B(0x03), NONE, "path-groups", "stream exhausted", NULL, true},
	{"a count cut short", REPLACE, T_GROUPS, B(0x03, 0x83), NONE, "path-groups", "bad varint", "stream exhausted",
	 true},
	{"a count past the end", REPLACE, T_GROUPS, B(0x03, 0x04), NONE, "path", "path group past the end of the stream",
	 NULL, true},
	{"a first count past the end", REPLACE, T_GROUPS, B(0x07), NONE, "path", "path group past the end of the stream",
	 NULL, true},
	{"a count of 2^64-1", REPLACE, T_GROUPS, B(0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	 NONE, "path", "path group past the end of the stream", NULL, true},
	{"a count too small", REPLACE, T_GROUPS, B(0x02, 0x04), NONE, "path", "more path values than the process's group",
	 NULL, true},
	{"an extra count", REPLACE, T_GROUPS, B(0x03, 0x03, 0x01), NONE, "path-groups", "trailing bytes", NULL, false},
	{"a path value after the last group", REPLACE, T_PATH, B(0x01, 0x01, 0x04, 0x01, 0x01, 0x03, 0x01), NONE, "path",
	 "path values in no group", NULL, false},
	{"a group not read to its end", REPLACE, T_PATH, B(0x01, 0x01, 0x04, 0x01, 0x01, 0x01, 0x03), T_GROUPS,
	 B(0x04, 0x03), "path", "path values left in a group", NULL, false},
	{"a varint cut at the end of a group", REPLACE, T_PATH, B(0x01, 0x01, 0x04, 0x01, 0x01, 0x83), NONE, "path",
	 "path group past the end of the stream", "bad varint", true},
	{"an empty path stream", REPLACE, T_PATH, {0}, 0, NONE, "path", "path group past the end of the stream", NULL,
	 true},
	{"a reference past the dictionary in pid 200's group", REPLACE, T_PATH, B(0x01, 0x01, 0x04, 0x01, 0x01, 0x7f),
	 NONE, "path", "dictionary reference out of range", NULL, true},
	/* lane 1 */
	{"c: a count of 0", REPLACE, T_GROUPS + L1, B(0x02, 0x00), NONE, "c:path-groups", "empty path group", NULL, true},
	{"c: a count missing", REPLACE, T_GROUPS + L1, B(0x02), NONE, "c:path-groups", "stream exhausted", NULL, true},
	{"c: a count past the end", REPLACE, T_GROUPS + L1, B(0x02, 0x03), NONE, "c:path",
	 "path group past the end of the stream", NULL, true},
	{"c: a count too small", REPLACE, T_GROUPS + L1, B(0x01, 0x03), NONE, "c:path",
	 "more path values than the process's group", NULL, true},
	{"c: an extra count", REPLACE, T_GROUPS + L1, B(0x02, 0x02, 0x01), NONE, "c:path-groups", "trailing bytes", NULL,
	 false},
	{"c: a path value after the last group", REPLACE, T_PATH + L1, B(0x07, 0x05, 0x01, 0x07, 0x01), NONE, "c:path",
	 "path values in no group", NULL, false},
	{"c: a group not read to its end", REPLACE, T_PATH + L1, B(0x07, 0x05, 0x05, 0x01, 0x07), T_GROUPS + L1,
	 B(0x03, 0x02), "c:path", "path values left in a group", NULL, false},
	{"c: a reference past the dictionary", REPLACE, T_PATH + L1, B(0x07, 0x05, 0x01, 0x7f), NONE, "c:path",
	 "dictionary reference out of range", NULL, true},
};

static bool err_matches(int r, const struct fl_error *e, const struct ccase *c, uint64_t off)
{
	return r == -EBADMSG && !strcmp(e->block, c->blk) &&
	       (strstr(e->msg, c->msg) || (c->msg2 && strstr(e->msg, c->msg2))) && e->offset == off;
}

/* The hits of a scan of every path of buf (FL_COL_SCAN), into *h. */
static int scan_all(const uint8_t *buf, size_t len, struct gen_scan *sc)
{
	gen_scan_paths(buf, len, FL_COL_SCAN, true, NULL, sc);
	return sc->r;
}

static uint8_t *damage(const uint8_t *seg, const struct ccase *c, uint32_t *unknown, size_t *bl)
{
	uint8_t *b = c->op == REPLACE ? seg_with_block(seg, c->type, c->bytes, c->n, UINT32_MAX, bl)
		     : c->op == RETYPE ? seg_retype(seg, c->type, (*unknown)++, bl)
				       : seg_add_block(seg, c->type, c->bytes, c->n, 0, bl);
	if (b && c->type2) {
		size_t bl2 = 0;
		uint8_t *b2 = seg_with_block(b, c->type2, c->bytes2, c->n2, UINT32_MAX, &bl2);
		free(b);
		b = b2;
		*bl = bl2;
	}
	return b;
}

/* A copy of g with the paths of events [from, from + n) replaced. */
static struct gen with_paths(const struct gen *g, size_t from, const char *const *paths, size_t n)
{
	struct gen c = {.rng = g->rng};
	for (size_t i = 0; i < g->n; i++)
		*gen_push(&c) = g->ev[i];
	for (size_t k = 0; k < n; k++)
		c.ev[from + k].path = paths[k];
	return c;
}

/* buf decodes (fully, lane 1 alone, and scans) exactly as g's events. */
static int reads_as(const uint8_t *buf, size_t len, const struct gen *g, char *why, size_t wl)
{
	if (gen_check_decode(buf, len, g, FL_COL_ALL, 0, NULL, why, wl) ||
	    gen_check_decode(buf, len, g, FL_COL_CHANGES, 0, gen_masked_cmp, why, wl))
		return 1;
	for (int changes = 0; changes < 2; changes++) {
		struct gen_scan sc;
		gen_scan_paths(buf, len, FL_COL_SCAN | (changes ? FL_COL_CHANGES : 0), true, NULL, &sc);
		int bad = gen_scan_vs_events(&sc, g, changes, true, NULL, why, wl);
		gen_scan_free(&sc);
		if (bad)
			return 1;
	}
	return 0;
}

static void test_corrupt(void)
{
	struct gen g = example(true);
	size_t len = 0, olen = 0;
	uint8_t *seg = encode_opts(&g, RAWU | FL_WRITER_NO_SUCC_PATHS | ALWAYS, 0, &len);
	uint8_t *useg = encode_opts(&g, RAWU | FL_WRITER_NO_SUCC_PATHS | NOG, 0, &olen);
	bool base = seg && useg && (seg_incompat(seg) & GROUPED_FLAG) && seg_block_is(seg, T_PATH, ex_path, sizeof(ex_path)) &&
		    seg_block_is(seg, T_GROUPS, ex_groups, sizeof(ex_groups)) &&
		    seg_block_is(seg, T_PATH + L1, ex_c_path, sizeof(ex_c_path)) &&
		    seg_block_is(seg, T_GROUPS + L1, ex_c_groups, sizeof(ex_c_groups));
	ok(base, "the damaged segments' base: the example with four creates, raw, unpacked, grouped in both lanes");
	struct gen_scan good;
	int gr = base ? scan_all(seg, len, &good) : -1;
	char why[256] = "";
	ok(base && gr == 0 && !gen_scan_vs_events(&good, &g, false, true, NULL, why, sizeof(why)),
	   "its scan finds every event %s", why);
	uint32_t unknown = 120; /* types nobody defines (FORMAT.md 2.3) */
	for (size_t i = 0; base && i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		const struct ccase *c = &ccases[i];
		size_t bl = 0;
		uint8_t *b = damage(seg, c, &unknown, &bl);
		uint32_t named = !strcmp(c->blk, "path")	 ? T_PATH
				 : !strcmp(c->blk, "c:path")	 ? T_PATH + L1
				 : !strcmp(c->blk, "path-groups") ? T_GROUPS
								  : T_GROUPS + L1;
		uint64_t off = b ? seg_block_offset(b, named) : 0;
		bool lane1 = c->type >= L1;
		struct fl_error e[3];
		int r[3];
		for (int m = 0; m < 3; m++)
			r[m] = b ? gen_read_mode(b, bl, m, &e[m]) : -1;
		bool full = err_matches(r[0], &e[0], c, off);
		/* a changes-only read: lane 1's damage is its error, lane 0's is
		 * not read at all */
		bool changes = lane1 ? err_matches(r[1], &e[1], c, off) : r[1] == 0;
		/* a scan: damage found during the events is its error; at the
		 * end of the segment, its hits are those of the good segment or
		 * it is the same error */
		bool scan;
		if (c->mid) {
			scan = err_matches(r[2], &e[2], c, off);
		} else if (r[2] == 0) {
			struct gen_scan sc;
			scan = b && !scan_all(b, bl, &sc) && !gen_same_scans(&sc, &good, why, sizeof(why));
			gen_scan_free(&sc);
		} else {
			scan = err_matches(r[2], &e[2], c, off);
		}
		for (int m = 0; m < 3; m++)
			if (r[m])
				printf("#   %s: '%s' in '%s' at %llu (%d); want offset %llu\n",
				       m == 0 ? "decode" : m == 1 ? "changes" : "scan", e[m].msg, e[m].block,
				       (unsigned long long)e[m].offset, r[m], (unsigned long long)off);
		ok(full && changes && scan, "%s: '%s'%s%s%s in '%s' at its offset; %s; %s", c->what, c->msg,
		   c->msg2 ? " or '" : "", c->msg2 ? c->msg2 : "", c->msg2 ? "'" : "", c->blk,
		   lane1 ? "also reading changes only" : "a changes-only read goes through",
		   c->mid ? "also in a path scan" : "a path scan finds the same hits or the same error");
		free(b);
	}
	/* the SUCC_PATHS codes of 5.4.2's example grouped (02 02 02 04 | 04
	 * 01 01 03): pid 100's first value made the prediction code 1 */
	{
		struct gen gs = succ_example();
		size_t sl = 0, bl = 0;
		uint8_t *ss = encode_opts(&gs, RAWU | ALWAYS, 0, &sl), *b = NULL;
		static const uint8_t bad_p[] = {0x01, 0x02, 0x02, 0x04, 0x04, 0x01, 0x01, 0x03};
		struct fl_error e[3];
		int r[3] = {-1, -1, -1};
		if (ss && (seg_incompat(ss) & SUCC_FLAG) && (b = seg_with_block(ss, T_PATH, bad_p, 8, UINT32_MAX, &bl)))
			for (int m = 0; m < 3; m += 2)
				r[m] = gen_read_mode(b, bl, m, &e[m]);
		uint64_t off = b ? seg_block_offset(b, T_PATH) : 1;
		ok(r[0] == -EBADMSG && r[2] == -EBADMSG && strstr(e[0].msg, "no predicted path at event 0") &&
			   strstr(e[2].msg, "no predicted path") && !strcmp(e[0].block, "path") &&
			   !strcmp(e[2].block, "path") && e[0].offset == off,
		   "grouped SUCC_PATHS codes: a prediction for pid 100's first path is 'no predicted path at event 0' in "
		   "'path', decoding ('%s') and scanning ('%s')",
		   r[0] ? e[0].msg : "", r[2] ? e[2].msg : "");
		free(b);
		free(ss);
		gen_free(&gs);
	}
	/* an empty or absent path-groups block: that lane's path stream is
	 * read in event order (5.4.3): lane 0's 01 01 04 01 01 03 is then /a
	 * /b /b /c /d /a, lane 1's 07 05 01 07 /x /c /y /x */
	static const char *const p0[] = {"/a", "/b", "/b", "/c", "/d", "/a"}, *const p1[] = {"/x", "/c", "/y", "/x"};
	struct gen g0 = with_paths(&g, 0, p0, 6), g1 = with_paths(&g, 6, p1, 4), g01 = with_paths(&g0, 6, p1, 4);
	static const struct {
		const char *what;
		int op;
		uint32_t type;
		int lanes; /* 1: lane 0 in event order, 2: lane 1, 3: both */
	} plain[] = {
		{"an empty path-groups", REPLACE, T_GROUPS, 1},
		{"no path-groups (an unknown type)", RETYPE, T_GROUPS, 1},
		{"an empty c:path-groups", REPLACE, T_GROUPS + L1, 2},
		{"no c:path-groups (an unknown type)", RETYPE, T_GROUPS + L1, 2},
	};
	for (size_t i = 0; base && i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t bl = 0;
		uint8_t *b = plain[i].op == REPLACE ? seg_with_block(seg, plain[i].type, NULL, 0, UINT32_MAX, &bl)
						    : seg_retype(seg, plain[i].type, unknown++, &bl);
		const struct gen *want = plain[i].lanes == 1 ? &g0 : &g1;
		why[0] = 0;
		ok(b && (seg_incompat(b) & GROUPED_FLAG) && !reads_as(b, bl, want, why, sizeof(why)),
		   "the flag set, %s: lane %d's path stream is read in event order (%s), in a decode, a changes-only "
		   "decode and scans %s",
		   plain[i].what, plain[i].lanes == 1 ? 0 : 1, plain[i].lanes == 1 ? "/a /b /b /c /d /a" : "/x /c /y /x",
		   why);
		free(b);
	}
	/* the flag cleared: both path-groups are unknown blocks, skipped */
	if (base) {
		uint8_t *b = malloc(len);
		memcpy(b, seg, len);
		fl_le32_put(b + 20, seg_incompat(seg) & ~GROUPED_FLAG);
		seg_fix_header_crc(b);
		why[0] = 0;
		ok(!reads_as(b, len, &g01, why, sizeof(why)),
		   "GROUPED_PATHS cleared on the grouped segment: path-groups skipped, both path streams read in event "
		   "order %s",
		   why);
		free(b);
	}
	/* path-groups blocks in a segment without the flag: skipped */
	{
		size_t bl = 0, bl2 = 0;
		uint8_t *b = useg ? seg_add_block(useg, T_GROUPS, ex_groups, sizeof(ex_groups), 0, &bl) : NULL;
		uint8_t *b2 = b ? seg_add_block(b, T_GROUPS + L1, ex_c_groups, sizeof(ex_c_groups), 0, &bl2) : NULL;
		why[0] = 0;
		ok(b2 && !(seg_incompat(b2) & GROUPED_FLAG) && !reads_as(b2, bl2, &g, why, sizeof(why)),
		   "path-groups (03 03) and c:path-groups (02 02) added to the ungrouped segment, no flag: unknown, "
		   "skipped; it reads as its events %s",
		   why);
		free(b);
		free(b2);
	}
	/* the flag set on the ungrouped segment, no path-groups: event order */
	if (useg) {
		uint8_t *b = malloc(olen);
		memcpy(b, useg, olen);
		fl_le32_put(b + 20, seg_incompat(useg) | GROUPED_FLAG);
		seg_fix_header_crc(b);
		why[0] = 0;
		ok(!reads_as(b, olen, &g, why, sizeof(why)),
		   "GROUPED_PATHS set on the ungrouped segment (no path-groups block): it reads as its events %s", why);
		free(b);
	}
	/* c:path-groups in a lane without events */
	{
		struct gen ge = example(false);
		size_t el = 0, bl = 0;
		uint8_t *es = encode_opts(&ge, RAWU | FL_WRITER_NO_SUCC_PATHS | ALWAYS, 0, &el);
		uint8_t *b = es ? seg_add_block(es, T_GROUPS + L1, (const uint8_t *)"\x01", 1, 0, &bl) : NULL;
		struct fl_error e[2];
		int r[2] = {-1, -1};
		for (int m = 0; m < 2 && b; m++)
			r[m] = gen_read_mode(b, bl, m, &e[m]);
		uint64_t off = b ? seg_block_offset(b, T_GROUPS + L1) : 1;
		ok(r[0] == -EBADMSG && r[1] == -EBADMSG && strstr(e[0].msg, "trailing bytes") &&
			   strstr(e[1].msg, "trailing bytes") && !strcmp(e[0].block, "c:path-groups") &&
			   !strcmp(e[1].block, "c:path-groups") && e[0].offset == off,
		   "c:path-groups (01) in a lane without events: 'trailing bytes' in 'c:path-groups', decoding and "
		   "reading changes ('%s' in '%s')",
		   r[0] ? e[0].msg : "", r[0] ? e[0].block : "");
		free(es);
		free(b);
		gen_free(&ge);
	}
	if (base)
		gen_scan_free(&good);
	gen_free(&g0);
	gen_free(&g1);
	gen_free(&g01);
	free(seg);
	free(useg);
	gen_free(&g);
}

/* ---- 7: random damage ---- */

/* Random damage to the path and path-groups blocks of both lanes of a
 * small build with interleaved changes: errors or events, never a crash
 * (run it under valgrind / ASan). */
static void test_random_damage(void)
{
	struct gen g = {.rng = 77};
	gen_build_jobs(&g, 300, 3);
	gen_unpack_jobs(&g, 450, 3);
	gen_random_stream(&g, 60, 0);
	size_t len = 0;
	uint8_t *seg = encode_opts(&g, RAWU | ALWAYS, 0, &len);
	static const uint32_t types[] = {T_PATH, T_GROUPS, T_PATH + L1, T_GROUPS + L1};
	size_t n;
	bool all4 = seg != NULL;
	for (int k = 0; k < 4 && seg; k++)
		all4 &= seg_block(seg, types[k], &n, NULL) != NULL;
	int runs = 0, errors = 0, bad_code = 0;
	for (int it = 0; all4 && it < 1600; it++) {
		/* one block damaged, or (one in four) a path stream and its groups */
		int k = (int)gen_below(&g, 4), both = gen_below(&g, 4) == 0;
		uint8_t *cur = malloc(len), *b = NULL;
		size_t cl = len;
		memcpy(cur, seg, len);
		for (int step = 0; step <= both; step++) {
			uint32_t t = types[step ? k ^ 1 : k];
			const uint8_t *p = seg_block(cur, t, &n, NULL);
			uint8_t buf[8192];
			size_t m = n < sizeof(buf) - 16 ? n : sizeof(buf) - 16;
			memcpy(buf, p, m);
			uint32_t items = UINT32_MAX;
			switch (gen_below(&g, 7)) {
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
				for (int x = (int)gen_below(&g, 8) + 1; x > 0; x--)
					buf[m++] = (uint8_t)gen_rand(&g);
				break;
			case 4: /* a byte removed */
				if (m) {
					size_t at = (size_t)gen_below(&g, m);
					memmove(buf + at, buf + at + 1, m - at - 1);
					m--;
				}
				break;
			case 5: /* two bytes swapped */
				if (m > 1) {
					size_t x = (size_t)gen_below(&g, m), y = (size_t)gen_below(&g, m);
					uint8_t tmp = buf[x];
					buf[x] = buf[y];
					buf[y] = tmp;
				}
				break;
			default: /* another count */
				items = (uint32_t)(gen_below(&g, 2) ? gen_below(&g, 40) : gen_rand(&g));
			}
			b = seg_with_block(cur, t, buf, m, items, &cl);
			free(cur);
			cur = b;
			if (!cur)
				break;
		}
		for (int mode = 0; b && mode < 3; mode++) {
			struct fl_error e;
			int r = gen_read_mode(b, cl, mode, &e);
			errors += r < 0;
			bad_code += r < 0 && r != -EBADMSG;
			if (r < 0 && r != -EBADMSG)
				printf("# damage %d, mode %d: %d '%s' in '%s'\n", it, mode, r, e.msg, e.block);
		}
		runs += b != NULL;
		free(b);
	}
	ok(all4 && runs > 1500 && !bad_code, "%d randomly damaged path and path-groups blocks, 3 reads each: %d errors, "
					     "all -EBADMSG, the rest decoded",
	   runs, errors);
	free(seg);
	gen_free(&g);
}

/* ---- 8: fuzz seeds (FL_WRITE_GROUPS_SEEDS=DIR) ---- */

static int write_seed(const char *dir, const char *name, const struct gen *g, uint32_t flags)
{
	char why[256] = "";
	size_t len = 0;
	int bad = gen_write_seed(dir, name, g, flags, GROUPED_FLAG, &len, why, sizeof(why));
	ok(!bad, "wrote %s/%s (%zu bytes, GROUPED_PATHS, decodes) %s", dir, name, len, why);
	return bad;
}

static int write_seeds(const char *dir)
{
	/* two compilers interleaved (lane 0), then three unpacking
	 * processes interleaved (lane 1, some lane 0 opens): both lanes
	 * grouped */
	struct gen g = {.rng = 12};
	gen_build_jobs(&g, 100, 2);
	gen_unpack_jobs(&g, g.n + 40, 3);
	size_t cnt[2];
	gen_lane_counts(&g, cnt);
	printf("# seeds: %zu events, %zu in the change lane\n", g.n, cnt[1]);
	write_seed(dir, "seed-build-groups.frl", &g, ALWAYS);
	write_seed(dir, "seed-build-groups-raw.frl", &g, RAWU | ALWAYS);
	gen_free(&g);
	return tap_done();
}

int main(void)
{
	const char *seeds = getenv("FL_WRITE_GROUPS_SEEDS");
	if (seeds)
		return write_seeds(seeds);
	test_example();
	test_corrupt();
	test_random_damage();
	test_spec();
	test_round_trips();
	test_columns();
	test_writer_reuse();
	test_scans();
	test_default_choice();
	return tap_done();
}
