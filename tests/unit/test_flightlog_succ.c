/* test_flightlog_succ.c - the SUCC_PATHS coding of the path stream
 * (docs/FORMAT.md 5.4.2).
 *
 * Why: the encoder and the decoder each keep, per lane, every pid's last
 * path and a table of which path followed which, and every event with a
 * path must update both identically, whether its path was coded or equals
 * the kind state; the path scan keeps the same state from the pid streams.
 * A slip shows up as a wrong path much later, so these are exact round
 * trips (parallel builds, random streams), the exact stream bytes of the
 * spec's example, corrupt codes (a prediction where there is none, a
 * reference past the dictionary, a bad pid for the scan), column subsets,
 * scans against full decodes, a segment written before the flag, and the
 * writer's promise that without a prediction the bytes are the old ones. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

#define SUCC_FLAG 0x200u

static void *encode_opts(const struct gen *g, uint32_t flags, int level, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags, .level = level};
	return gen_encode_opts(g, &o, len);
}

/* gen_check_decode's check of path and path2: equal with FL_COL_PATHS,
 * else NULL. */
static int paths_cmp(const struct fr_event *e, const struct fr_event *ev, uint32_t cols)
{
	bool paths = (cols & FL_COL_PATHS) || !(cols & 0x1f);
	return paths ? !gen_same_str(ev->path, e->path) || !gen_same_str(ev->path2, e->path2) : ev->path || ev->path2;
}

static int check_decode(const void *buf, size_t len, const struct gen *g, uint32_t cols, uint32_t rflags,
			char *why, size_t whylen)
{
	return gen_check_decode(buf, len, g, cols, rflags, paths_cmp, why, whylen);
}

/* fl_segment_find_paths for path p, from an open with columns cols (FL_COL_SCAN
 * or FL_COL_PATHS), against the events of g: the ordinals of the events
 * whose path or path2 is p. 0 when equal (or p is not in the segment and
 * no event has it). */
static int check_scan(const void *buf, size_t len, const struct gen *g, uint32_t cols, const char *p, char *why,
		      size_t whylen)
{
	struct fl_read_opts o = {.columns = cols, .flags = FL_READ_FAST};
	struct fl_segment *s;
	struct fl_error err;
	if (fl_segment_open_ex(buf, len, &o, &s, &err)) {
		char eb[200];
		return snprintf(why, whylen, "open: %s", fl_error_format(&err, eb, sizeof(eb))), 1;
	}
	size_t nd = 0, nh = 0, k = 0;
	const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, NULL, &nd);
	const char *ent = NULL;
	for (size_t i = 0; i < nd && !ent; i++)
		if (!strcmp(d[i], p))
			ent = d[i];
	struct fl_path_hit *h = NULL;
	int bad = 0, r = ent ? fl_segment_find_paths(s, &ent, 1, &h, &nh) : 0;
	if (r) {
		char eb[200];
		bad = (snprintf(why, whylen, "find_paths %d: %s", r,
				fl_error_format(fl_segment_error(s), eb, sizeof(eb))), 1);
	}
	for (size_t i = 0; i < g->n && !bad; i++) {
		const struct fr_event *e = &g->ev[i];
		if (!gen_same_str(e->path, p) && !gen_same_str(e->path2, p))
			continue;
		if (k >= nh || h[k].ordinal != i || h[k].kind != e->kind || h[k].ts_ns != e->ts_ns)
			bad = (snprintf(why, whylen, "%s: event %zu is not hit %zu of %zu", p, i, k, nh), 1);
		k++;
	}
	if (!bad && k != nh)
		bad = (snprintf(why, whylen, "%s: %zu hits, %zu expected", p, nh, k), 1);
	free(h);
	fl_segment_free(s);
	return bad;
}

/* ---- the format's rules, independently of the writer ---- */

/* string -> id (1, 2, ...): a small open-addressing map */
struct smap {
	const char **k;
	uint32_t *v;
	size_t mask, n;
};

static size_t pid_mix(uint32_t pid)
{
	return (size_t)(((uint64_t)pid * 0x9e3779b97f4a7c15ull) >> 32);
}

static uint64_t s_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h;
}

static uint32_t smap_id(struct smap *m, const char *s)
{
	if ((m->n + 1) * 2 > m->mask + 1) {
		struct smap o = *m;
		m->mask = o.k ? o.mask * 2 + 1 : 1023;
		m->k = calloc(m->mask + 1, sizeof(*m->k));
		m->v = calloc(m->mask + 1, sizeof(*m->v));
		for (size_t i = 0; o.k && i <= o.mask; i++)
			if (o.k[i]) {
				size_t j = s_hash(o.k[i]) & m->mask;
				while (m->k[j])
					j = (j + 1) & m->mask;
				m->k[j] = o.k[i];
				m->v[j] = o.v[i];
			}
		free(o.k);
		free(o.v);
	}
	size_t j = s_hash(s) & m->mask;
	for (; m->k[j]; j = (j + 1) & m->mask)
		if (!strcmp(m->k[j], s))
			return m->v[j];
	m->k[j] = s;
	m->v[j] = (uint32_t)++m->n;
	return m->v[j];
}

/* pid -> a slot for its last path id (0: none): the same kind of map */
struct pmap {
	uint32_t *k, *v;
	uint8_t *used;
	size_t mask, n;
};

static uint32_t *pmap_slot(struct pmap *m, uint32_t pid)
{
	if ((m->n + 1) * 2 > m->mask + 1) {
		struct pmap o = *m;
		m->mask = o.k ? o.mask * 2 + 1 : 1023;
		m->k = calloc(m->mask + 1, sizeof(*m->k));
		m->v = calloc(m->mask + 1, sizeof(*m->v));
		m->used = calloc(m->mask + 1, 1);
		for (size_t i = 0; o.k && i <= o.mask; i++)
			if (o.used[i]) {
				size_t j = (pid_mix(o.k[i])) & m->mask;
				while (m->used[j])
					j = (j + 1) & m->mask;
				m->k[j] = o.k[i];
				m->v[j] = o.v[i];
				m->used[j] = 1;
			}
		free(o.k);
		free(o.v);
		free(o.used);
	}
	size_t j = pid_mix(pid) & m->mask;
	for (; m->used[j]; j = (j + 1) & m->mask)
		if (m->k[j] == pid)
			return &m->v[j];
	m->used[j] = 1;
	m->k[j] = pid;
	m->v[j] = 0;
	m->n++;
	return &m->v[j];
}

/* Whether the writer sets SUCC_PATHS for g's events (FORMAT.md 5.4.2):
 * at least one path in eight of those coded (non-NULL and different from
 * the previous path of its kind slot, per lane) is the path that followed
 * its pid's last path the last time (code 1). *hits and *coded (if not
 * NULL) get the counts. */
static bool writes_flag_n(const struct gen *g, size_t *nhits, size_t *ncoded)
{
	struct smap ids = {0};
	struct pmap last[2] = {{0}};
	uint32_t kpath[2][64] = {{0}}, *succ[2] = {NULL, NULL};
	size_t cap = 0, hits = 0, coded = 0;
	for (size_t i = 0; i < g->n; i++) {
		const struct fr_event *e = &g->ev[i];
		int l = gen_is_change(e->kind);
		unsigned slot = e->kind < 63 ? e->kind : 63;
		uint32_t id = e->path ? smap_id(&ids, e->path) : 0;
		if (ids.n + 1 > cap) {
			size_t nc = (ids.n + 1) * 2;
			for (int k = 0; k < 2; k++) {
				succ[k] = realloc(succ[k], nc * sizeof(uint32_t));
				memset(succ[k] + cap, 0, (nc - cap) * sizeof(uint32_t));
			}
			cap = nc;
		}
		uint32_t *prev = pmap_slot(&last[l], e->pid);
		if (id && id != kpath[l][slot]) {
			coded++;
			hits += *prev && succ[l][*prev] == id;
		}
		kpath[l][slot] = id;
		if (id) {
			if (*prev)
				succ[l][*prev] = id;
			*prev = id;
		}
	}
	free(ids.k);
	free(ids.v);
	for (int k = 0; k < 2; k++) {
		free(last[k].k);
		free(last[k].v);
		free(last[k].used);
		free(succ[k]);
	}
	if (nhits)
		*nhits = hits;
	if (ncoded)
		*ncoded = coded;
	return hits && hits >= coded / 8;
}

static bool writes_flag(const struct gen *g)
{
	return writes_flag_n(g, NULL, NULL);
}

/* ---- the worked example of FORMAT.md 5.4.2 ---- */

static void op(struct gen *g, uint32_t pid, const char *path)
{
	struct fr_event *e = gen_push(g);
	gen_ctx(e, pid, 1, "cc1", NULL, 5); /* no exe: the paths are only a, b, c */
	e->ts_ns = 1000 * g->n;
	e->kind = FR_EV_OPEN;
	e->path = path;
}

static struct gen example(void)
{
	struct gen g = {.rng = 1};
	op(&g, 100, "/a.h"); /* new: 2                                     */
	op(&g, 100, "/b.h"); /* new: 2; succ[a] = b                         */
	op(&g, 200, "/a.h"); /* pid 200 has no last path: 1 + 3 = 4         */
	op(&g, 100, "/c.h"); /* new: 2; succ[b] = c                         */
	op(&g, 200, "/b.h"); /* succ[a] = b: predicted, 1                   */
	op(&g, 200, "/c.h"); /* succ[b] = c: 1                              */
	op(&g, 100, "/a.h"); /* succ[c] = 0: 1 + 3 = 4; succ[c] = a          */
	op(&g, 200, "/c.h"); /* succ[c] = a, not c; c is the highest: 3     */
	op(&g, 200, "/c.h"); /* equal to the kind state: nothing coded      */
	return g;
}

static void test_exact_bytes(void)
{
	struct gen g = example();
	size_t len = 0, n = 0, olen = 0;
	uint8_t *b = encode_opts(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK, 0, &len);
	uint8_t *ob = encode_opts(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_NO_SUCC_PATHS, 0, &olen);
	static const uint8_t want[] = {2, 2, 4, 2, 1, 1, 4, 3};
	static const uint8_t want_old[] = {1, 1, 3, 1, 4, 2, 3, 2};
	const uint8_t *p = b ? seg_block(b, 64 + 1, &n, NULL) : NULL;
	ok(p && n == sizeof(want) && !memcmp(p, want, n), "path stream bytes as FORMAT.md 5.4.2 says");
	ok(b && (seg_incompat(b) & SUCC_FLAG), "and the flag is set");
	p = ob ? seg_block(ob, 64 + 1, &n, NULL) : NULL;
	ok(p && n == sizeof(want_old) && !memcmp(p, want_old, n) && !(seg_incompat(ob) & SUCC_FLAG),
	   "with FL_WRITER_NO_SUCC_PATHS: NEWREF's codes, flag clear");
	char why[256] = "";
	ok(b && !check_decode(b, len, &g, FL_COL_ALL, 0, why, sizeof(why)), "the example decodes %s", why);
	ok(ob && !check_decode(ob, olen, &g, FL_COL_ALL, 0, why, sizeof(why)), "... and without the flag %s", why);
	int sb = 0;
	static const char *const pp[] = {"/a.h", "/b.h", "/c.h"};
	for (int i = 0; i < 3 && !sb; i++)
		sb = check_scan(b, len, &g, FL_COL_SCAN, pp[i], why, sizeof(why));
	ok(b && !sb, "a path scan of the example finds every event %s", why);
	free(b);
	free(ob);
	gen_free(&g);
}

/* Corrupt path codes are errors naming the stream and the event, in a
 * full decode, a path-only decode and a scan; never a crash or a made-up
 * path. */
static void test_corrupt(void)
{
	struct gen g = example();
	size_t len = 0, n = 0, entry = 0;
	/* without SHAPES: the pid case below corrupts the pid stream
	 * (test_flightlog_shapes covers a scan's shaped pid codes) */
	uint8_t *seg = encode_opts(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_NO_SHAPES, 0, &len);
	uint8_t *b = malloc(len);
	const uint8_t *pp = seg ? seg_block(seg, 64 + 1, &n, &entry) : NULL;
	size_t at = pp ? (size_t)(pp - seg) : 0;
	static const struct {
		size_t byte;
		uint8_t v;
		unsigned event;
		const char *msg;
	} cases[] = {
		{0, 1, 0, "no predicted path"},  /* pid 100's first path */
		{2, 1, 2, "no predicted path"},  /* pid 200's first path */
		{6, 1, 6, "no predicted path"},  /* pid 100's last path c: nothing followed c yet */
		{1, 7, 1, "dictionary reference out of range"},   /* reference 4 of 3 */
		{3, 0x7f, 3, "dictionary reference out of range"}, /* 124 */
		{7, 2, 7, "dictionary reference out of range"},   /* new: maxref + 1 = 4 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "at event %u", cases[i].event);
		int good = pp && n == 8;
		for (int mode = 0; mode < 3 && good; mode++) {
			memcpy(b, seg, len);
			b[at + cases[i].byte] = cases[i].v;
			seg_fix_crcs(b, entry);
			struct fl_error e = {0};
			int r;
			if (mode == 0) {
				r = gen_decode_all(b, len, &e);
			} else if (mode == 1) {
				struct fl_read_opts o = {.columns = FL_COL_PATHS};
				struct fl_segment *s;
				struct fr_event ev;
				r = fl_segment_open_ex(b, len, &o, &s, &e);
				if (!r) {
					while ((r = fl_segment_next(s, &ev)) == 1)
						;
					e = *fl_segment_error(s);
					fl_segment_free(s);
				}
			} else {
				struct fl_read_opts o = {.columns = FL_COL_SCAN};
				struct fl_segment *s;
				r = fl_segment_open_ex(b, len, &o, &s, &e);
				if (!r) {
					size_t nd = 0, nh = 0;
					const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, NULL, &nd);
					struct fl_path_hit *h = NULL;
					r = nd ? fl_segment_find_paths(s, d, 1, &h, &nh) : -1;
					free(h);
					e = *fl_segment_error(s);
					fl_segment_free(s);
				}
			}
			good = r == -EBADMSG && strstr(e.msg, cases[i].msg) && strstr(e.msg, want) &&
			       !strcmp(e.block, "path") && e.offset == fl_le64_get(seg + entry + 8);
			if (!good)
				printf("# mode %d: %d '%s' in '%s'\n", mode, r, e.msg, e.block);
		}
		ok(good, "code %u at event %u: '%s ... %s' from a full decode, a paths decode and a scan", cases[i].v,
		   cases[i].event, cases[i].msg, want);
	}
	/* the scan reads the pid streams with the flag: a bad pid index is
	 * its error too (event 1 is pid 100 again: index 0 of 1) */
	const uint8_t *pidb = seg ? seg_block(seg, 34, &n, &entry) : NULL;
	int r = -1;
	struct fl_error e = {0};
	if (pidb && n == 9 && pidb[1] == 0) {
		memcpy(b, seg, len);
		b[(size_t)(pidb - seg) + 1] = 5;
		seg_fix_crcs(b, entry);
		struct fl_read_opts o = {.columns = FL_COL_SCAN};
		struct fl_segment *s;
		if (!(r = fl_segment_open_ex(b, len, &o, &s, &e))) {
			size_t nd = 0, nh = 0;
			const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, NULL, &nd);
			struct fl_path_hit *h = NULL;
			r = fl_segment_find_paths(s, d, 1, &h, &nh);
			free(h);
			e = *fl_segment_error(s);
			fl_segment_free(s);
		}
	}
	ok(r == -EBADMSG && strstr(e.msg, "pid index out of range at event 1") && !strcmp(e.block, "pid"),
	   "a scan with SUCC_PATHS checks the pid codes: '%s' in '%s'", e.msg, e.block);
	free(b);
	free(seg);
	gen_free(&g);
}

/* tests/fixtures/build-pre-succ.frl: gen_build_jobs(rng 12, 600, 2) written
 * by the writer before SUCC_PATHS (2026-11-22), default options. */
static void test_old_segment(void)
{
	size_t len = 0, nlen = 0, olen = 0;
	void *fx = gen_read_fixture("build-pre-succ.frl", &len);
	struct gen g = {.rng = 12};
	gen_build_jobs(&g, 600, 2);
	char why[256] = "";
	ok(fx && !(seg_incompat(fx) & SUCC_FLAG) && (seg_incompat(fx) & 0x8), "the fixture has NEWREF, not SUCC_PATHS");
	ok(fx && !check_decode(fx, len, &g, FL_COL_ALL, 0, why, sizeof(why)),
	   "a segment written before SUCC_PATHS decodes to exactly its events %s", why);
	ok(fx && !check_decode(fx, len, &g, FL_COL_PATHS, FL_READ_FAST, why, sizeof(why)),
	   "... and with FL_COL_PATHS alone %s", why);
	/* the fixture is older than SHAPES, GROUPED_PATHS and PATH_ERRORS too */
	void *ob = encode_opts(&g,
			       FL_WRITER_NO_SUCC_PATHS | FL_WRITER_NO_SHAPES | FL_WRITER_NO_GROUPED_PATHS |
				       FL_WRITER_NO_PATH_ERRORS,
			       0, &olen);
	ok(ob && fx && olen == len && !memcmp(ob, fx, len),
	   "re-encoded with FL_WRITER_NO_SUCC_PATHS, NO_SHAPES, NO_GROUPED_PATHS and NO_PATH_ERRORS: the same bytes "
	   "(%zu, %zu)",
	   olen, len);
	void *nb = encode_opts(&g, 0, 0, &nlen);
	ok(nb && nlen < len && (seg_incompat(nb) & SUCC_FLAG) && !check_decode(nb, nlen, &g, FL_COL_ALL, 0, why, sizeof(why)),
	   "re-encoded with SUCC_PATHS: %zu bytes, %zu before %s", nlen, len, why);
	free(ob);
	free(nb);
	free(fx);
	gen_free(&g);
}

/* Parallel builds of every size (inside the pack and as blocks of their
 * own), every writer layout and level, with and without the flag; the
 * flag is set exactly when one path in eight was predicted, and when it is
 * not the bytes are those of FL_WRITER_NO_SUCC_PATHS. */
static void test_round_trips(void)
{
	static const struct {
		uint32_t flags;
		int level;
		const char *name;
	} lay[] = {
		{0, 0, "default"},
		{0, 19, "level 19"},
		{FL_WRITER_RAW | FL_WRITER_NO_PACK, 0, "raw, unpacked"},
		{FL_WRITER_NO_PACK, 1, "unpacked, level 1"},
		{FL_WRITER_NO_SUCC_PATHS, 0, "without SUCC_PATHS"},
	};
	static const size_t sizes[] = {1, 2, 7, 40, 600, 5000, 30000};
	char why[256] = "";
	for (size_t l = 0; l < sizeof(lay) / sizeof(lay[0]); l++) {
		int bad = 0, flag_ok = 1, same_ok = 1, flagged = 0, runs = 0;
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]) && !bad; k++)
			for (uint64_t seed = 1; seed <= (sizes[k] > 5000 ? 2 : 6) && !bad; seed++) {
				struct gen g = {.rng = seed * 7 + k};
				gen_build_jobs(&g, sizes[k], 1 + (unsigned)(seed % 4));
				size_t len = 0;
				void *buf = encode_opts(&g, lay[l].flags, lay[l].level, &len);
				if (!buf)
					bad = (snprintf(why, sizeof(why), "encode"), 1);
				else
					bad = check_decode(buf, len, &g, FL_COL_ALL, 0, why, sizeof(why));
				bool flag = writes_flag(&g);
				if (buf && !!(seg_incompat(buf) & SUCC_FLAG) != (!(lay[l].flags & FL_WRITER_NO_SUCC_PATHS) && flag))
					flag_ok = 0;
				if (buf && !flag) {
					size_t olen = 0;
					void *ob = encode_opts(&g, lay[l].flags | FL_WRITER_NO_SUCC_PATHS, lay[l].level, &olen);
					same_ok &= ob && olen == len && !memcmp(ob, buf, len);
					free(ob);
				}
				flagged += buf && (seg_incompat(buf) & SUCC_FLAG);
				runs++;
				free(buf);
				gen_free(&g);
			}
		ok(!bad && flag_ok && same_ok, "parallel builds round-trip, %s (flag 0x200 %s, on %d of %d) %s",
		   lay[l].name,
		   lay[l].flags & FL_WRITER_NO_SUCC_PATHS ? "clear" : "set exactly when 1 path in 8 was predicted",
		   flagged, runs, why);
	}
}

/* Random streams (every kind and field, random paths) with build, nginx
 * and tree-walk runs in between, so predictions are interrupted by
 * anything and pids come back; both codings; scans of a few paths. */
static void test_mixed_property(void)
{
	char why[256] = "";
	int bad = 0, it, with = 0, same = 1;
	for (it = 0; it < 60 && !bad; it++) {
		struct gen g = {.rng = 2000 + (uint64_t)it};
		size_t parts = 1 + (size_t)gen_below(&g, 5);
		for (size_t p = 0; p < parts; p++) {
			gen_random_stream(&g, (size_t)gen_below(&g, 200), it % 3 == 0);
			switch (gen_below(&g, 3)) {
			case 0:
				gen_build_jobs(&g, g.n + (size_t)gen_below(&g, it % 7 == 0 ? 3000 : 300),
					       1 + (unsigned)gen_below(&g, 4));
				break;
			case 1:
				gen_nginx(&g, g.n + (size_t)gen_below(&g, 300));
				break;
			default:
				gen_build(&g, g.n + (size_t)gen_below(&g, 300));
			}
		}
		bool flag = writes_flag(&g);
		void *buf[2] = {NULL, NULL};
		size_t len[2] = {0, 0};
		for (int nf = 0; nf < 2 && !bad; nf++) {
			buf[nf] = encode_opts(&g, nf ? FL_WRITER_NO_SUCC_PATHS : 0, it % 5 == 0 ? 1 : 0, &len[nf]);
			bad = !buf[nf] ? (snprintf(why, sizeof(why), "encode"), 1)
				       : check_decode(buf[nf], len[nf], &g, FL_COL_ALL, 0, why, sizeof(why));
			if (!bad && !nf && !!(seg_incompat(buf[0]) & SUCC_FLAG) != flag)
				bad = (snprintf(why, sizeof(why), "flag %s", flag ? "clear" : "set"), 1);
			for (size_t k = 0; k < 4 && !bad && g.n; k++) {
				const struct fr_event *e = &g.ev[gen_below(&g, g.n)];
				if (e->path)
					bad = check_scan(buf[nf], len[nf], &g, k & 1 ? FL_COL_SCAN : FL_COL_PATHS,
							 e->path, why, sizeof(why));
			}
			if (bad)
				printf("# iteration %d%s: %zu events\n", it, nf ? " (no SUCC_PATHS)" : "", g.n);
		}
		if (!bad && !flag)
			same &= len[0] == len[1] && !memcmp(buf[0], buf[1], len[0]);
		with += flag;
		free(buf[0]);
		free(buf[1]);
		gen_free(&g);
	}
	ok(!bad, "random streams mixed with build and nginx runs round-trip with and without the flag, and scan "
		 "(%d streams, %d with the flag) %s",
	   it, with, why);
	ok(same, "the streams without the flag are written byte for byte as with FL_WRITER_NO_SUCC_PATHS");
}

/* Every reader column subset: the table runs only when the path stream
 * is loaded, and then sees every update; scans from either open. */
static void test_columns(void)
{
	struct gen g = {.rng = 77};
	gen_build_jobs(&g, 3000, 2);
	gen_nginx(&g, 4000);
	gen_random_stream(&g, 500, 0);
	gen_build_jobs(&g, 9000, 3);
	size_t len = 0;
	void *buf = encode_opts(&g, 0, 0, &len);
	ok(buf && (seg_incompat(buf) & SUCC_FLAG), "the segment has SUCC_PATHS");
	static const struct {
		uint32_t cols, flags;
	} sub[] = {
		{FL_COL_ALL, 0},
		{FL_COL_ALL, FL_READ_FAST},
		{FL_COL_PATHS, 0},
		{FL_COL_PATHS, FL_READ_FAST | FL_READ_NO_SUMMARY},
		{FL_COL_CTX | FL_COL_NAMES | FL_COL_DETAIL | FL_COL_ARGV, 0},
		{FL_COL_NAMES, FL_READ_FAST},
		{FL_COL_PATHS | FL_COL_CHANGES, 0},
		{FL_COL_CHANGES, 0},
	};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char why[256] = "";
		ok(buf && !check_decode(buf, len, &g, sub[i].cols, sub[i].flags, why, sizeof(why)),
		   "columns 0x%x, read flags 0x%x: kind/ts/pid and paths as expected %s", sub[i].cols, sub[i].flags,
		   why);
	}
	static const char *const probe[] = {"/usr/include/stdlib.h", "src/event/event.h", "/usr/include/zstd.h",
					    "/usr/local/include/stdint.h", "/var/www/html/index.html", "src/m7.o"};
	int bad = 0;
	char why[256] = "";
	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]) && !bad && buf; i++)
		bad = check_scan(buf, len, &g, FL_COL_SCAN, probe[i], why, sizeof(why)) ||
		      check_scan(buf, len, &g, FL_COL_PATHS, probe[i], why, sizeof(why));
	ok(buf && !bad, "scans (FL_COL_SCAN and FL_COL_PATHS opens) find exactly the events of each path %s", why);
	/* a rewind replays the table from empty */
	struct fl_segment *s;
	struct fr_event ev;
	int r = -1;
	size_t n = 0;
	if (buf && !fl_segment_open(buf, len, &s, NULL)) {
		for (int k = 0; k < 1000 && fl_segment_next(s, &ev) == 1; k++)
			;
		fl_segment_rewind(s);
		while ((r = fl_segment_next(s, &ev)) == 1 && !fr_event_compare(&g.ev[n], &ev))
			n++;
		/* and a scan after the iteration starts from empty too */
		if (!r) {
			const char *ent = fl_segment_path_entry(s, probe[1]);
			struct fl_path_hit *h = NULL;
			size_t nh = 0;
			if (!ent || fl_segment_find_paths(s, &ent, 1, &h, &nh) || !nh)
				r = -1;
			free(h);
		}
		fl_segment_free(s);
	}
	ok(r == 0 && n == g.n, "after a rewind mid-way the whole segment decodes again, then scans (%zu events)", n);
	free(buf);
	gen_free(&g);
}

/* Two segments from one writer: the tables and counts start anew with
 * each, so the second (new files only, nothing predicted) has the flag
 * clear. (Failed adds and finishes are test_flightlog_oom's.) */
static void test_writer_reuse(void)
{
	struct gen a = {.rng = 5}, b = {.rng = 6};
	gen_build_jobs(&a, 800, 2);
	for (int k = 0; k < 50; k++) {
		char p[32];
		snprintf(p, sizeof(p), "/srv/tree/f%d", k);
		struct fr_event *e = gen_push(&b);
		gen_ctx(e, 700, 1, "tar", "/usr/bin/tar", 5);
		e->ts_ns = 1700000000000000000ull + 1000ull * (uint64_t)k;
		e->kind = FR_EV_CREATE;
		e->path = gen_strdup(&b, p);
	}
	struct fl_writer *w;
	void *s1 = NULL, *s2 = NULL;
	size_t l1 = 0, l2 = 0;
	int r = fl_writer_new(NULL, &w);
	for (size_t i = 0; !r && i < a.n; i++)
		r = fl_writer_add(w, &a.ev[i]);
	if (!r)
		r = fl_writer_finish(w, NULL, 1, &s1, &l1);
	for (size_t i = 0; !r && i < b.n; i++)
		r = fl_writer_add(w, &b.ev[i]);
	if (!r)
		r = fl_writer_finish(w, NULL, 2, &s2, &l2);
	fl_writer_free(w);
	char why[256] = "";
	ok(!r && (seg_incompat(s1) & SUCC_FLAG) && !check_decode(s1, l1, &a, FL_COL_ALL, 0, why, sizeof(why)),
	   "first segment: a build, predicted %s", why);
	ok(!r && !writes_flag(&b) && !(seg_incompat(s2) & SUCC_FLAG) &&
		   !check_decode(s2, l2, &b, FL_COL_ALL, 0, why, sizeof(why)),
	   "second segment from the same writer: new files only, flag clear, decodes %s", why);
	free(s1);
	free(s2);
	gen_free(&a);
	gen_free(&b);
}

/* The writer's threshold: one predicted path (pid 2 repeats pid 1's a,
 * b) among 4 + k coded ones (pid 3 opens k new files) sets the flag for
 * k <= 11 (1 >= 15 / 8) and not for k = 12 (1 < 16 / 8), where the bytes
 * are those of FL_WRITER_NO_SUCC_PATHS. */
static void test_threshold(void)
{
	for (int k = 11; k <= 12; k++) {
		struct gen g = {.rng = 9};
		op(&g, 1, "/a");
		op(&g, 1, "/b");
		op(&g, 2, "/a");
		op(&g, 2, "/b");
		for (int i = 0; i < k; i++) {
			char p[16];
			snprintf(p, sizeof(p), "/new%d", i);
			op(&g, 3, gen_strdup(&g, p));
		}
		size_t hits = 0, coded = 0, len = 0, olen = 0;
		bool want = writes_flag_n(&g, &hits, &coded);
		void *b = encode_opts(&g, 0, 0, &len), *ob = encode_opts(&g, FL_WRITER_NO_SUCC_PATHS, 0, &olen);
		char why[256] = "";
		bool flag = b && (seg_incompat(b) & SUCC_FLAG);
		ok(b && ob && hits == 1 && coded == (size_t)(4 + k) && flag == (k <= 11) && flag == want &&
			   (flag ? olen != len || memcmp(b, ob, len) : olen == len && !memcmp(b, ob, len)) &&
			   !check_decode(b, len, &g, FL_COL_ALL, 0, why, sizeof(why)),
		   "%zu predicted of %zu coded: flag %s%s %s", hits, coded, flag ? "set" : "clear",
		   flag ? "" : ", the bytes of FL_WRITER_NO_SUCC_PATHS", why);
		free(b);
		free(ob);
		gen_free(&g);
	}
}

int main(void)
{
	test_exact_bytes();
	test_corrupt();
	test_old_segment();
	test_threshold();
	test_round_trips();
	test_columns();
	test_mixed_property();
	test_writer_reuse();
	return tap_done();
}
