/* test_flightlog_split.c - the split paths dictionary (FORMAT.md 4.2,
 * incompat flag PATHS_SPLIT).
 *
 * Why: the split layout is rebuilt by the reader into the plain entries
 * that references, the path scan and queries point into, so a mistake
 * either loses paths silently or, on a malicious block, over-allocates.
 * An encoder written from FORMAT.md alone is checked byte for byte
 * against the writer (and the spec's example against both), paths that
 * stress the cut at the last '/' round-trip, every validation rule has a
 * corrupt block, and the writer's choice is checked on the workloads it
 * was measured on. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "query/query.h"
#include "tap.h"

#define SPLIT_FLAG 0x400u
#define FRONT_FLAG 0x80u

/* ---- the spec's encoder (FORMAT.md 4.2), independent of the writer ---- */

struct table {
	const char *s[4096];
	size_t l[4096];
	size_t n;
};

/* Index of s[0..l) in t, or -1. */
static long table_find(const struct table *t, const char *s, size_t l)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->l[i] == l && !memcmp(t->s[i], s, l))
			return (long)i;
	return -1;
}

static void put_varint(struct fl_bytes *b, uint64_t v)
{
	if (fl_put_varint(b, v))
		abort();
}

static void put(struct fl_bytes *b, const void *p, size_t n)
{
	if (fl_bytes_put(b, p, n))
		abort();
}

/* The split block of entries e[0..n) with lengths len[]: cut at the last
 * '/', tables in order of first use, per entry a directory code (0 none,
 * 1 new, 2 previous entry's, k + 3) and a basename code (0 new, 1
 * previous entry's, k + 2). At most 4096 distinct parts of each kind. */
static void spec_split(const char *const *e, const uint32_t *len, size_t n, struct fl_bytes *out)
{
	static struct table dirs, bases;
	struct fl_bytes codes = {0};
	dirs.n = bases.n = 0;
	long pd = -1, pb = -1; /* the previous entry's; -1: none */
	for (size_t i = 0; i < n; i++) {
		size_t slash = len[i];
		for (size_t k = len[i]; k-- > 0;)
			if (e[i][k] == '/') {
				slash = k;
				break;
			}
		long d = -1;
		uint64_t dc = 0;
		if (slash < len[i]) {
			d = table_find(&dirs, e[i], slash);
			if (d < 0) {
				d = (long)dirs.n;
				dirs.s[dirs.n] = e[i];
				dirs.l[dirs.n++] = slash;
				dc = 1;
			} else {
				dc = d == pd ? 2 : (uint64_t)d + 3;
			}
		}
		const char *base = slash < len[i] ? e[i] + slash + 1 : e[i];
		size_t bl = slash < len[i] ? len[i] - slash - 1 : len[i];
		long b = table_find(&bases, base, bl);
		uint64_t bc;
		if (b < 0) {
			b = (long)bases.n;
			bases.s[bases.n] = base;
			bases.l[bases.n++] = bl;
			bc = 0;
		} else {
			bc = b == pb ? 1 : (uint64_t)b + 2;
		}
		put_varint(&codes, dc);
		put_varint(&codes, bc);
		pd = d;
		pb = b;
	}
	out->len = 0;
	put_varint(out, dirs.n);
	put_varint(out, bases.n);
	for (size_t i = 0; i < dirs.n; i++)
		put(out, dirs.s[i], dirs.l[i]), put(out, "", 1);
	for (size_t i = 0; i < bases.n; i++)
		put(out, bases.s[i], bases.l[i]), put(out, "", 1);
	put(out, codes.p, codes.len);
	fl_bytes_free(&codes);
}

/* The plain layout (FORMAT.md 4) of the same entries. */
static void spec_plain(const char *const *e, const uint32_t *len, size_t n, struct fl_bytes *out)
{
	out->len = 0;
	for (size_t i = 0; i < n; i++)
		put_varint(out, len[i]);
	for (size_t i = 0; i < n; i++)
		put(out, e[i], len[i] + 1);
}

/* ---- segments ---- */

static void *encode_flags(const struct gen *g, uint32_t flags, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags};
	return gen_encode_opts(g, &o, len);
}

/* The table entry of the block of type `type` in seg (unpacked), or NULL. */
static const uint8_t *block_desc(const uint8_t *seg, uint32_t type)
{
	uint32_t nb = fl_le32_get(seg + 88);
	uint64_t toff = fl_le64_get(seg + 96);
	for (uint32_t i = 0; i < nb; i++)
		if (fl_le32_get(seg + toff + 40 * i) == type)
			return seg + toff + 40 * i;
	return NULL;
}

/* g's events through a segment written with `flags`: every event back
 * equal. 0 when so; *flags_out gets the segment's incompat flags. */
static int round_trip(const struct gen *g, uint32_t flags, uint32_t *flags_out, char *why, size_t wl)
{
	size_t len;
	void *buf = encode_flags(g, flags, &len);
	if (!buf)
		return snprintf(why, wl, "encode failed"), 1;
	if (flags_out)
		*flags_out = seg_incompat(buf);
	struct fl_segment *s;
	struct fl_error err;
	int bad = 0, r;
	if (fl_segment_open(buf, len, &s, &err)) {
		free(buf);
		return snprintf(why, wl, "open: %s", err.msg), 1;
	}
	struct fr_event ev;
	size_t i = 0;
	while (!bad && (r = fl_segment_next(s, &ev)) == 1) {
		int f = i < g->n ? fr_event_compare(&g->ev[i], &ev) : -1;
		if (f)
			bad = (snprintf(why, wl, "event %zu field %d differs", i, f), 1);
		i++;
	}
	if (!bad && (r != 0 || i != g->n))
		bad = (snprintf(why, wl, "decoded %zu of %zu (%d)", i, g->n, r), 1);
	fl_segment_free(s);
	free(buf);
	return bad;
}

/* The paths dictionary's entries of a decoded segment, copied into g's
 * arena (they outlive the segment). */
static size_t dict_entries(const void *buf, size_t len, struct gen *g, const char ***e, uint32_t **lens)
{
	struct fl_segment *s;
	if (fl_segment_open(buf, len, &s, NULL))
		return 0;
	size_t n;
	const uint32_t *l;
	const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, &l, &n);
	*e = (const char **)gen_keep(g, malloc((n ? n : 1) * sizeof(char *)));
	*lens = (uint32_t *)gen_keep(g, malloc((n ? n : 1) * sizeof(uint32_t)));
	for (size_t i = 0; i < n; i++) {
		char *c = malloc(l[i] + 1);
		memcpy(c, d[i], l[i] + 1);
		(*e)[i] = gen_keep(g, c);
		(*lens)[i] = l[i];
	}
	fl_segment_free(s);
	return n;
}

/* ---- tests ---- */

static const char *const example[] = {"/usr/include/stdio.h", "/usr/local/include/stdio.h", "/usr/include/stdlib.h",
				      "/usr/local/include/stdlib.h", "/usr/local/include/errno.h", "a.out",
				      "/", "stdio.h"};
#define NEXAMPLE 8

/* FORMAT.md 4.2's example, byte for byte */
static const uint8_t example_block[] = {
	0x03, 0x05, '/', 'u', 's', 'r', '/', 'i', 'n', 'c', 'l', 'u', 'd', 'e', 0, '/', 'u', 's', 'r', '/', 'l', 'o', 'c',
	'a', 'l', '/', 'i', 'n', 'c', 'l', 'u', 'd', 'e', 0, 0, 's', 't', 'd', 'i', 'o', '.', 'h', 0, 's', 't', 'd', 'l',
	'i', 'b', '.', 'h', 0, 'e', 'r', 'r', 'n', 'o', '.', 'h', 0, 'a', '.', 'o', 'u', 't', 0, 0, 0x01, 0x00, 0x01,
	0x01, 0x03, 0x00, 0x04, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02};

/* gen_check_paths_dict for the PATHS_SPLIT flag. */
static int check_paths_dict(const void *buf, size_t len, const char *const *want, size_t nw, bool split, char *why,
			    size_t wl)
{
	return gen_check_paths_dict(buf, len, want, nw, SPLIT_FLAG, split, "PATHS_SPLIT", why, wl);
}

static void test_example(void)
{
	struct gen g = {.rng = 1};
	const char *want[NEXAMPLE];
	size_t nw = gen_push_opens(&g, example, NEXAMPLE, want);
	size_t len;
	uint8_t *seg = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
	const uint8_t *d = seg ? block_desc(seg, 18) : NULL;
	ok(d && fl_le64_get(d + 16) == sizeof(example_block) && fl_le32_get(d + 36) == NEXAMPLE &&
		   !memcmp(seg + fl_le64_get(d + 8), example_block, sizeof(example_block)),
	   "FORMAT.md 4.2's example: the writer's paths block is the spec's %zu bytes", sizeof(example_block));
	uint32_t lens[NEXAMPLE];
	for (int i = 0; i < NEXAMPLE; i++)
		lens[i] = (uint32_t)strlen(example[i]);
	struct fl_bytes b = {0}, p = {0};
	spec_split(example, lens, NEXAMPLE, &b);
	spec_plain(example, lens, NEXAMPLE, &p);
	ok(b.len == sizeof(example_block) && !memcmp(b.p, example_block, b.len) && p.len == 149,
	   "... and the spec's encoder's (plain layout: %zu bytes)", p.len);
	char why[200] = "";
	ok(seg && !check_paths_dict(seg, len, want, nw, true, why, sizeof(why)), "... which decodes to the 8 paths %s",
	   why);
	free(seg);
	/* the default writer splits it too (8 entries: smaller is enough) */
	seg = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK, &len);
	d = seg ? block_desc(seg, 18) : NULL;
	ok(d && (seg_incompat(seg) & SPLIT_FLAG) && fl_le64_get(d + 16) == sizeof(example_block),
	   "... and the default writer chooses it");
	free(seg);
	fl_bytes_free(&b);
	fl_bytes_free(&p);
	gen_free(&g);
}

/* The writer against the spec's encoder on whole workloads. */
static void spec_vs_writer(struct gen *g, uint32_t flags, const char *what)
{
	size_t len;
	uint8_t *seg = encode_flags(g, FL_WRITER_RAW | FL_WRITER_NO_PACK | flags, &len);
	const char **e = NULL;
	uint32_t *lens = NULL;
	size_t n = seg ? dict_entries(seg, len, g, &e, &lens) : 0;
	struct fl_bytes b = {0};
	spec_split(e, lens, n, &b);
	const uint8_t *d = seg ? block_desc(seg, 18) : NULL;
	ok(seg && (seg_incompat(seg) & SPLIT_FLAG) && d && n > 5 && fl_le64_get(d + 16) == b.len &&
		   !memcmp(seg + fl_le64_get(d + 8), b.p, b.len),
	   "%s: the writer's split paths block (%zu entries, %zu bytes) is the spec's", what, n, b.len);
	fl_bytes_free(&b);
	free(seg);
}

static void test_spec_encoder(void)
{
	struct gen g = {.rng = 2};
	gen_build(&g, 3000);
	spec_vs_writer(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, "gen_build");
	spec_vs_writer(&g, 0, "gen_build, the writer's own choice");
	gen_free(&g);
	g = (struct gen){.rng = 21};
	gen_cc_probes(&g, 20000);
	spec_vs_writer(&g, 0, "gen_cc_probes, the writer's own choice");
	gen_free(&g);
	g = (struct gen){.rng = 3};
	gen_nginx(&g, 2000);
	spec_vs_writer(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, "gen_nginx");
	gen_free(&g);
	g = (struct gen){.rng = 4};
	gen_random_stream(&g, 400, 0);
	spec_vs_writer(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, "gen_random_stream (random bytes, NULL and empty paths)");
	gen_free(&g);
}

/* Paths that stress the cut at the last '/'. */
static void test_edge_paths(void)
{
	const char *paths[] = {"", "/", "//x", "a/", "x", "a//b", "///", "/a/", "\xff\xfe/\x80\x81", "a/b/",
			       "dir/x", "x", "a/x", "/x", "//", "a", "\x01/\x7f\xff/", "/", "", "a//", "/a", "/a//",
			       NULL, "d/e/f/g", "d/e/f/h", "d/e/f/g/", "d/e/f", "d/e", "d", "a/x", "///x///", "//x"};
	size_t np = sizeof(paths) / sizeof(paths[0]);
	const char *want[sizeof(paths) / sizeof(paths[0])];
	struct gen g = {.rng = 5};
	size_t nw = gen_push_opens(&g, paths, np, want);
	char why[200] = "";
	uint32_t fl = 0;
	ok(!round_trip(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, &fl, why, sizeof(why)) && (fl & SPLIT_FLAG),
	   "edge paths (\"\", \"/\", \"//x\", \"a/\", no '/', empty components, non-UTF-8) round-trip split %s", why);
	size_t len;
	void *buf = encode_flags(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
	ok(buf && !check_paths_dict(buf, len, want, nw, true, why, sizeof(why)),
	   "... the rebuilt dictionary: %zu entries in first-seen order, contiguous, found by path and by the path "
	   "scan %s", nw, why);
	free(buf);
	buf = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
	ok(buf && !check_paths_dict(buf, len, want, nw, true, why, sizeof(why)), "... stored raw and unpacked too %s",
	   why);
	uint32_t lens[sizeof(paths) / sizeof(paths[0])] = {0};
	for (size_t i = 0; i < nw; i++)
		lens[i] = (uint32_t)strlen(want[i]);
	struct fl_bytes b = {0};
	spec_split(want, lens, nw, &b);
	const uint8_t *d = buf ? block_desc(buf, 18) : NULL;
	ok(d && fl_le64_get(d + 16) == b.len && !memcmp((uint8_t *)buf + fl_le64_get(d + 8), b.p, b.len),
	   "... and the writer's block is the spec's");
	fl_bytes_free(&b);
	free(buf);
	gen_free(&g);

	/* one entry of each kind alone; an event stream without paths */
	static const char *const one[][1] = {{""}, {"/"}, {"x"}, {"a/"}, {"//x"}};
	int all = 1;
	for (size_t k = 0; k < sizeof(one) / sizeof(one[0]); k++) {
		g = (struct gen){.rng = 6};
		nw = gen_push_opens(&g, one[k], 1, want);
		buf = encode_flags(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
		if (!buf || check_paths_dict(buf, len, want, nw, true, why, sizeof(why)) ||
		    round_trip(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, NULL, why, sizeof(why)))
			all = 0, printf("# '%s': %s\n", one[k][0], why);
		free(buf);
		gen_free(&g);
	}
	ok(all, "one-entry dictionaries \"\", \"/\", \"x\", \"a/\", \"//x\" round-trip split");
	g = (struct gen){.rng = 7};
	const char *none[] = {NULL, NULL};
	gen_push_opens(&g, none, 2, want);
	buf = encode_flags(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
	ok(buf && !(seg_incompat(buf) & SPLIT_FLAG) && !check_paths_dict(buf, len, want, 0, false, why, sizeof(why)),
	   "no paths: no paths block, no PATHS_SPLIT flag %s", why);
	free(buf);
	gen_free(&g);
}

static void test_round_trips(void)
{
	static const uint32_t flags[] = {0, FL_WRITER_PATHS_SPLIT_ALWAYS,
					 FL_WRITER_PATHS_SPLIT_ALWAYS | FL_WRITER_RAW | FL_WRITER_NO_PACK,
					 FL_WRITER_PATHS_SPLIT_ALWAYS | FL_WRITER_NO_PACK};
	struct {
		const char *what;
		int kind;
		size_t n;
	} w[] = {{"gen_build", 0, 5000}, {"gen_nginx", 1, 5000}, {"gen_random_stream", 2, 800},
		 {"gen_random_stream (chaos)", 3, 800}, {"gen_loopback + gen_build", 4, 3000},
		 {"gen_cc_probes", 5, 20000}};
	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
		struct gen g = {.rng = 100 + k};
		switch (w[k].kind) {
		case 0: gen_build(&g, w[k].n); break;
		case 1: gen_nginx(&g, w[k].n); break;
		case 2: gen_random_stream(&g, w[k].n, 0); break;
		case 3: gen_random_stream(&g, w[k].n, 1); break;
		case 4: gen_loopback(&g, w[k].n / 2); gen_build(&g, w[k].n); break;
		default: gen_cc_probes(&g, w[k].n); break;
		}
		int all = 1, split = 0;
		char why[200] = "";
		for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			uint32_t fl = 0;
			if (round_trip(&g, flags[f], &fl, why, sizeof(why)))
				all = 0, printf("# %s, writer flags 0x%x: %s\n", w[k].what, flags[f], why);
			split += (fl & SPLIT_FLAG) != 0;
		}
		ok(all && split >= 3, "%s (%zu events) round-trips by default, split, split raw, split unpacked (%d split)",
		   w[k].what, g.n, split);
		gen_free(&g);
	}
}

/* The size of the paths block as stored in an unpacked segment. */
static uint64_t paths_stored(const uint8_t *seg)
{
	const uint8_t *d = block_desc(seg, 18);
	return d ? fl_le64_get(d + 16) : 0;
}

static void test_writer_choice(void)
{
	/* a compiler's probes: split by default, and smaller than the plain
	 * block compressed at the same level */
	struct gen g = {.rng = 8};
	gen_cc_probes(&g, 20000);
	size_t len;
	uint8_t *seg = encode_flags(&g, FL_WRITER_NO_PACK, &len);
	const char **e = NULL;
	uint32_t *lens = NULL;
	size_t n = seg ? dict_entries(seg, len, &g, &e, &lens) : 0;
	struct fl_bytes p = {0};
	spec_plain(e, lens, n, &p);
	size_t bound = ZSTD_compressBound(p.len);
	void *z = malloc(bound);
	size_t zl = ZSTD_compress(z, bound, p.p, p.len, FL_DEFAULT_LEVEL);
	ok(seg && (seg_incompat(seg) & SPLIT_FLAG) && !ZSTD_isError(zl) && paths_stored(seg) * 10 < zl * 7,
	   "writer's choice: a compiler's header probes (%zu paths) are split: %llu bytes against %zu plain "
	   "(level %d)", n, (unsigned long long)(seg ? paths_stored(seg) : 0), zl, FL_DEFAULT_LEVEL);
	free(z);
	fl_bytes_free(&p);
	free(seg);
	gen_free(&g);

	/* a tiny one: splitting would add bytes */
	g = (struct gen){.rng = 9};
	const char *want[4096];
	const char *tiny[] = {"/usr/bin/gcc"};
	gen_push_opens(&g, tiny, 1, want);
	seg = encode_flags(&g, 0, &len);
	ok(seg && !(seg_incompat(seg) & SPLIT_FLAG), "... a one-path dictionary is not");
	free(seg);
	gen_free(&g);

	/* a tree walk: front coded, not split; FRONT_ALWAYS wins over
	 * PATHS_SPLIT_ALWAYS */
	g = (struct gen){.rng = 10};
	for (int i = 0; i < 600; i++) {
		char q[96];
		snprintf(q, sizeof(q), "/usr/share/doc/package-%02d/examples/sub/file-%03d.txt", i / 40, i);
		const char *c = gen_strdup(&g, q);
		gen_push_opens(&g, &c, 1, want);
	}
	seg = encode_flags(&g, 0, &len);
	ok(seg && (seg_incompat(seg) & FRONT_FLAG) && !(seg_incompat(seg) & SPLIT_FLAG),
	   "... a tree walk is front coded, not split");
	free(seg);
	seg = encode_flags(&g, FL_WRITER_FRONT_ALWAYS | FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
	ok(seg && (seg_incompat(seg) & FRONT_FLAG) && !(seg_incompat(seg) & SPLIT_FLAG),
	   "... FL_WRITER_FRONT_ALWAYS wins over FL_WRITER_PATHS_SPLIT_ALWAYS");
	free(seg);
	seg = encode_flags(&g, FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
	ok(seg && (seg_incompat(seg) & SPLIT_FLAG) && !(seg_incompat(seg) & FRONT_FLAG),
	   "... FL_WRITER_PATHS_SPLIT_ALWAYS alone does not front code it");
	free(seg);
	gen_free(&g);

	/* the margin: from 1024 entries, split only when it saves 16 bytes
	 * per entry. Unique 13-byte names in 8 directories save ~4. */
	for (int big = 0; big < 2; big++) {
		g = (struct gen){.rng = 11};
		int m = big ? 2000 : 1000;
		for (int i = 0; i < m; i++) {
			char q[64];
			snprintf(q, sizeof(q), "/d%d/%08x.tmp", i % 8, (unsigned)gen_rand(&g));
			const char *c = gen_strdup(&g, q);
			gen_push_opens(&g, &c, 1, want);
		}
		seg = encode_flags(&g, 0, &len);
		ok(seg && (!(seg_incompat(seg) & SPLIT_FLAG)) == big,
		   "... %d paths saving ~4 bytes each split: %s", m, big ? "not (1024 or more)" : "yes (under 1024)");
		free(seg);
		gen_free(&g);
	}
}

/* One corrupt block: its error must name the paths block at its offset,
 * with the code and a message containing `want`. */
static int corrupt_case(const uint8_t *seg, const uint8_t *blk, size_t blen, uint32_t items, int code,
			const char *want, const char *what)
{
	size_t len;
	uint8_t *b = seg_with_block(seg, 18, blk, blen, items, &len);
	struct fl_error e;
	int r = gen_decode_all(b, len, &e);
	const uint8_t *d = block_desc(b, 18);
	int good = r == code && strstr(e.msg, want) && !strcmp(e.block, "paths") && e.offset == fl_le64_get(d + 8);
	if (!good)
		printf("# %s: %d, '%s' at %llu: %s (want %d, '%s')\n", what, r, e.block, (unsigned long long)e.offset,
		       e.msg, code, want);
	free(b);
	return good;
}

static void test_corrupt(void)
{
	struct gen g = {.rng = 12};
	const char *want[NEXAMPLE];
	gen_push_opens(&g, example, NEXAMPLE, want);
	size_t len;
	uint8_t *seg = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_PATHS_SPLIT_ALWAYS, &len);
	gen_free(&g);
	size_t E = sizeof(example_block), C = E - 16; /* the codes start at C */
	{
		size_t blen;
		uint8_t *b = seg_with_block(seg, 18, example_block, E, NEXAMPLE, &blen);
		struct fl_error e;
		ok(gen_decode_all(b, blen, &e) == 0, "the example block in a rebuilt segment decodes");
		free(b);
	}
	struct {
		const char *what, *want;
		int at, byte, code; /* at >= 0: example_block[at] = byte */
		int items;          /* 0: 8 */
	} cases[] = {
	    {"entry 0 with the previous entry's directory", "bad directory code of entry 0: the previous entry has none",
	     (int)C + 0, 2, -EBADMSG, 0},
	    {"the previous entry's directory after an entry without", "entry 6: the previous entry has none",
	     (int)C + 12, 2, -EBADMSG, 0},
	    {"entry 0 with the previous entry's basename", "bad basename code of entry 0: the previous entry has none",
	     (int)C + 1, 1, -EBADMSG, 0},
	    {"a directory not used yet", "bad directory code of entry 2: not used yet", (int)C + 4, 5, -EBADMSG, 0},
	    {"a basename not used yet", "bad basename code of entry 7: not used yet", (int)C + 15, 7, -EBADMSG, 0},
	    {"a new directory past the table", "bad directory code of entry 7: no new one left", (int)C + 14, 1,
	     -EBADMSG, 0},
	    {"a new basename past the table", "bad basename code of entry 7: no new one left", (int)C + 15, 0,
	     -EBADMSG, 0},
	    {"a directory never used", "1 of 3 directories never used", (int)C + 12, 0, -EBADMSG, 0},
	    {"a basename never used", "1 of 5 basenames never used", (int)C + 13, 2, -EBADMSG, 0},
	    {"more directories than entries", "bad directory count", 0, 9, -EBADMSG, 0},
	    {"more basenames than entries", "bad basename count", 1, 9, -EBADMSG, 0},
	    {"counts that do not fit (the block cut after 20 bytes)", "do not fit", -1, 0, -EBADMSG, 0},
	    {"a truncated code", "bad basename code of entry 7: truncated", (int)C + 15, 0x80, -EBADMSG, 0},
	    {"one entry more than the codes", "bad directory code of entry 8: truncated", -1, 0, -EBADMSG, 9},
	    {"more entries than the block can hold", "count", -1, 0, -EBADMSG, 1000},
	};
	int all = 1;
	uint8_t blk[sizeof(example_block) + 1];
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		memcpy(blk, example_block, E);
		if (cases[c].at >= 0)
			blk[cases[c].at] = (uint8_t)cases[c].byte;
		size_t bl = strcmp(cases[c].want, "do not fit") ? E : 20; /* 3 + 5 + 16 > 18 */
		all &= corrupt_case(seg, blk, bl, cases[c].items ? (uint32_t)cases[c].items : NEXAMPLE, cases[c].code,
				    cases[c].want, cases[c].what);
	}
	/* a byte after the codes */
	memcpy(blk, example_block, E);
	blk[E] = 0;
	all &= corrupt_case(seg, blk, E + 1, NEXAMPLE, -EBADMSG, "1 bytes after the codes", "a byte after the codes");
	/* a truncated count */
	all &= corrupt_case(seg, (const uint8_t *)"\x80", 1, 0, -EBADMSG, "bad directory count", "a truncated count");
	/* table entries without their NUL: 2 directories, 0 basenames, one
	 * two entries, 6 bytes without a NUL; then a basename likewise */
	all &= corrupt_case(seg, (const uint8_t *)"\x02\x00" "abcdef", 8, 2, -EBADMSG, "directory 0 not terminated",
			    "a directory without its NUL");
	all &= corrupt_case(seg, (const uint8_t *)"\x01\x01" "a\0bcdef", 9, 1, -EBADMSG, "basename 0 not terminated",
			    "a basename without its NUL");
	ok(all, "split paths: every rule of FORMAT.md 4.2 broken once: a clean error naming the paths block at its "
		"offset");

	/* both FRONT_CODED and PATHS_SPLIT */
	uint8_t *b = malloc(len);
	memcpy(b, seg, len);
	fl_le32_put(b + 20, seg_incompat(b) | FRONT_FLAG);
	seg_fix_header_crc(b);
	struct fl_error e;
	int r = gen_decode_all(b, len, &e);
	ok(r == -EBADMSG && !strcmp(e.block, "header") && e.offset == 20 && strstr(e.msg, "both front coded and split"),
	   "a segment with both FRONT_CODED and PATHS_SPLIT is refused: %s", e.msg);
	free(b);

	/* rebuilt over FL_MAX_RAW (1 GiB): one directory of 10^6 bytes named
	 * by 1100 entries, a 1 MB block; refused before allocating */
	{
		size_t m = 1100, dl = 1000000;
		struct fl_bytes big = {0};
		put_varint(&big, 1);
		put_varint(&big, 1);
		if (fl_bytes_grow(&big, dl + 2))
			abort();
		memset(big.p + big.len, 'a', dl);
		big.len += dl;
		put(&big, "\0\0", 2); /* its NUL, then the basename "" */
		put_varint(&big, 1);
		put_varint(&big, 0);
		for (size_t i = 1; i < m; i++)
			put_varint(&big, 2), put_varint(&big, 1);
		int good = corrupt_case(seg, big.p, big.len, (uint32_t)m, -EFBIG, "rebuilt dictionary over",
					"1.1 GB rebuilt");
		ok(good, "a %zu-byte block rebuilding to %llu bytes is refused (-EFBIG) before allocating", big.len,
		   (unsigned long long)m * (dl + 2));
		fl_bytes_free(&big);
	}
	free(seg);
}

/* Queries over split segments answer as over front-coded ones (another
 * rebuilt layout) and as a scan of the events. */
static int count_hit(const struct fq_hit *h, void *ctx)
{
	(void)h;
	++*(size_t *)ctx;
	return 0;
}

static void test_query(void)
{
	struct gen g = {.rng = 13};
	gen_cc_probes(&g, 4000);
	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/test_split.%d", (int)getpid());
	char file[2][128];
	uint32_t flags[2] = {FL_WRITER_PATHS_SPLIT_ALWAYS, FL_WRITER_FRONT_ALWAYS};
	int wrote = mkdir(dir, 0700) == 0;
	for (int k = 0; k < 2 && wrote; k++) {
		size_t len;
		void *buf = encode_flags(&g, flags[k], &len);
		snprintf(file[k], sizeof(file[k]), "%s/seg-%012d.frl", dir, k + 1);
		FILE *f = fopen(file[k], "wb");
		wrote = buf && f && fwrite(buf, 1, len, f) == len;
		if (f)
			fclose(f);
		free(buf);
	}
	struct fq_path pat[] = {{FQ_PATH_EXACT, "/usr/include/stdio.h"}, {FQ_PATH_PREFIX, "/usr/include/"},
				{FQ_PATH_GLOB, "src/*.o"}};
	/* the writer's choice on these */
	int all = wrote;
	for (size_t p = 0; p < 3 && all; p++) {
		size_t want = 0, got[2] = {0, 0};
		for (size_t i = 0; i < g.n; i++) {
			const char *s = g.ev[i].path;
			want += s && (p == 0 ? !strcmp(s, pat[0].pattern)
				      : p == 1 ? !strncmp(s, pat[1].pattern, strlen(pat[1].pattern))
					       : !strncmp(s, "src/", 4) && strstr(s, ".o") == s + strlen(s) - 2);
		}
		for (int k = 0; k < 2; k++) {
			struct fq_filter f = {.paths = &pat[p], .npaths = 1};
			struct fq_query *q;
			const char *stores[] = {file[k]};
			if (fq_query_new(&f, &q)) {
				got[k] = (size_t)-1;
				continue;
			}
			if (fq_run(q, stores, 1, &(struct fq_opts){.threads = 1}, count_hit, &got[k], NULL))
				got[k] = (size_t)-1;
			fq_query_free(q);
		}
		if (got[0] != want || got[1] != want || !want)
			all = 0, printf("# %s: split %zu, front coded %zu, scan %zu\n", pat[p].pattern, got[0], got[1], want);
	}
	ok(all, "queries (exact, prefix, glob path) over a split segment answer as over a front-coded one and as a "
		"scan");
	for (int k = 0; k < 2; k++)
		unlink(file[k]);
	rmdir(dir);
	gen_free(&g);
}

int main(void)
{
	test_example();
	test_spec_encoder();
	test_edge_paths();
	test_round_trips();
	test_writer_choice();
	test_corrupt();
	test_query();
	return tap_done();
}
