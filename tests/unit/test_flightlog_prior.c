/* test_flightlog_prior.c - priors (docs/FORMAT.md 10): prior objects and
 * files, segments compressed against a prior (incompatible flag PRIOR,
 * bit 14), and the store's prior files.
 *
 * Why: a segment with PRIOR cannot be read without the exact bytes it was
 * compressed against, so everything that names, stores, finds or deletes
 * a prior must be right: a prior file that parses when damaged, a reader
 * that decodes with the wrong prior, a store that trims a prior a kept
 * segment still needs, or a verify that blames the wrong file would each
 * lose or misreport data. So: the prior file's bytes against the spec's
 * table (and files built here from the spec alone), every flip and cut of
 * one, exact decodes of several workloads in several column sets with the
 * prior and the documented refusal without it, every zstd frame decoded
 * here with the prior as zstd's raw content dictionary (and a segment
 * built here that way read by the library), the writer's prior content
 * against 10.3, and a real store in a temp directory: renewal, reopen,
 * verify with a deleted or damaged prior, the byte cap's trim and journal
 * recovery. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

#define PRIOR_FLAG 0x4000u /* FORMAT.md 6, bit 14 */
#define SEG_HDR 128u      /* FORMAT.md 2.1 */
#define SEG_PRIOR_HDR 160u /* FORMAT.md 10.1 */
#define PF_HDR 96u         /* FORMAT.md 10.2 */
static const uint8_t dict_magic[4] = {0x37, 0xa4, 0x30, 0xec};
static const uint8_t zstd_frame_magic[4] = {0x28, 0xb5, 0x2f, 0xfd}; /* RFC 8878 3.1.1 */

static char root[64];

/* ------------------------------------------------------------ helpers */


static void cp_a(const char *from, const char *to)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", from, to);
	if (system(cmd))
		printf("# cp failed\n");
}

/* Events [from, to) of g, as a gen of their own (borrowed: never gen_free). */
static struct gen view(const struct gen *g, size_t from, size_t to)
{
	struct gen v = {0};
	v.ev = g->ev + from;
	v.n = to - from;
	return v;
}

static const char *workload(struct gen *g, int k)
{
	switch (k) {
	case 0: gen_build(g, 4000); return "gen_build";
	case 1: gen_nginx(g, 4000); return "gen_nginx";
	case 2: gen_cc_probes(g, 4000); return "gen_cc_probes";
	case 3: gen_build_jobs(g, 4000, 3); return "gen_build_jobs";
	case 4: gen_unpack_jobs(g, 3000, 2); return "gen_unpack_jobs";
	default: gen_random_stream(g, 1500, 0); return "random stream";
	}
}
#define N_WORKLOADS 6

/* Add v's events to w and finish them as segment seq; NULL on failure. */
static uint8_t *write_seg(struct fl_writer *w, const struct gen *v, const uint8_t *prev, uint64_t seq, size_t *len)
{
	void *buf = NULL;
	for (size_t i = 0; i < v->n; i++)
		if (fl_writer_add(w, &v->ev[i]))
			return NULL;
	if (fl_writer_finish(w, prev, seq, &buf, len))
		return NULL;
	return buf;
}

/* v's events as one segment from a new writer with flags, against p. */
static uint8_t *encode_with(const struct gen *v, uint32_t flags, const struct fl_prior *p, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags};
	struct fl_writer *w;
	if (fl_writer_new(&o, &w))
		return NULL;
	uint8_t *b = fl_writer_set_prior(w, p) ? NULL : write_seg(w, v, NULL, 1, len);
	fl_writer_free(w);
	return b;
}

static bool has(const char *s, const char *sub)
{
	return s && strstr(s, sub);
}

static int open_seg(struct fl_store *st, const void *buf, size_t len, const struct fl_read_opts *o,
		    struct fl_segment **s, struct fl_error *e)
{
	return st ? fl_store_segment_open(st, buf, len, o, s, e) : fl_segment_open_ex(buf, len, o, s, e);
}

/* Every paths dictionary entry scanned (fl_segment_find_paths) against
 * v's events: 0 when the hits are exactly those. */
static int check_scan(struct fl_store *st, const void *buf, size_t len, const struct gen *v, uint32_t cols,
		      const struct fl_prior *const *pl, size_t np, char *why, size_t wl)
{
	struct fl_read_opts o = {.columns = cols, .flags = FL_READ_FAST, .priors = pl, .n_priors = np};
	struct gen_scan sc;
	struct fl_error e;
	memset(&sc, 0, sizeof(sc));
	if ((sc.r = open_seg(st, buf, len, &o, &sc.s, &e)))
		return snprintf(why, wl, "scan open: %d %s", sc.r, e.msg), 1;
	size_t nd = 0;
	const char *const *d = fl_segment_dict(sc.s, FL_DICT_PATHS, NULL, &nd);
	if (nd)
		sc.r = fl_segment_find_paths(sc.s, d, nd, &sc.h, &sc.n);
	int bad = gen_scan_vs_events(&sc, v, (cols & FL_COL_CHANGES) != 0, true, NULL, why, wl);
	gen_scan_free(&sc);
	return bad;
}

/* gen_check_decode with priors (or through store st): buf decodes to
 * exactly v's events in column set cols (only the change kinds with
 * FL_COL_CHANGES; with FL_COL_NONE the summary's counts; with FL_COL_SCAN
 * the path scan). 0 when it does, else 1 and why. */
static int check_decode(struct fl_store *st, const void *buf, size_t len, const struct gen *v, uint32_t cols,
			uint32_t rflags, const struct fl_prior *const *pl, size_t np, char *why, size_t wl)
{
	if (cols & FL_COL_SCAN)
		return check_scan(st, buf, len, v, cols, pl, np, why, wl);
	struct fl_read_opts o = {.columns = cols, .flags = rflags, .priors = pl, .n_priors = np};
	struct fl_segment *s;
	struct fl_error err;
	int r = open_seg(st, buf, len, &o, &s, &err);
	if (r) {
		char eb[200];
		return snprintf(why, wl, "open %d: %s", r, fl_error_format(&err, eb, sizeof(eb))), 1;
	}
	const struct fl_segment_info *inf = fl_segment_info(s);
	int bad = 0;
	struct fr_event ev;
	if (inf->event_count != v->n)
		bad = (snprintf(why, wl, "event_count %llu, want %zu", (unsigned long long)inf->event_count, v->n), 1);
	if (!bad && (cols & FL_COL_NONE)) {
		uint64_t kc[FL_KIND_SLOTS] = {0}, other = 0;
		for (size_t i = 0; i < v->n; i++)
			v->ev[i].kind < FL_KIND_SLOTS ? kc[v->ev[i].kind]++ : other++;
		if ((r = fl_segment_next(s, &ev)) != 0)
			bad = (snprintf(why, wl, "FL_COL_NONE: next %d", r), 1);
		else if (memcmp(kc, inf->kind_count, sizeof(kc)) || other != inf->other_kind_count)
			bad = (snprintf(why, wl, "FL_COL_NONE: kind counts differ"), 1);
		fl_segment_free(s);
		return bad;
	}
	bool changes = cols & FL_COL_CHANGES;
	size_t i = 0;
	r = 0;
	while (!bad && (r = fl_segment_next(s, &ev)) == 1) {
		while (changes && i < v->n && !gen_is_change(v->ev[i].kind))
			i++;
		if (i >= v->n) {
			bad = (snprintf(why, wl, "more events than written"), 1);
			break;
		}
		int f = cols == FL_COL_ALL ? fr_event_compare(&v->ev[i], &ev) : gen_masked_cmp(&v->ev[i], &ev, cols);
		if (f)
			bad = (snprintf(why, wl, "event %zu (kind %u) differs (%d)", i, v->ev[i].kind, f), 1);
		i++;
	}
	if (!bad && r != 0) {
		char eb[200];
		bad = (snprintf(why, wl, "next %d: %s", r, fl_error_format(fl_segment_error(s), eb, sizeof(eb))), 1);
	}
	while (!bad && changes && i < v->n && !gen_is_change(v->ev[i].kind))
		i++;
	if (!bad && i != v->n)
		bad = (snprintf(why, wl, "decoded %zu of %zu", i, v->n), 1);
	fl_segment_free(s);
	return bad;
}

/* Segment s's header CRC (FORMAT.md 2.1) over its header_size bytes. */
static void seg_fix_crc_n(uint8_t *s)
{
	memset(s + 124, 0, 4);
	fl_le32_put(s + 124, fl_crc32c(0, s, fl_le32_get(s + 12)));
}

/* Every zstd block (codec 1) of segment s decoded here, as FORMAT.md 10.1
 * says: one frame without a dictionary ID that turns into exactly raw_size
 * bytes, with ZSTD_decompress_usingDict and the prior's content for the
 * blocks under type 32 (summary, pack, dictionaries), with ZSTD_decompress
 * alone for the event columns. *nz counts them, *need those that do not
 * decode the same without the prior. 0 when every one does. */
static int zstd_blocks_check(const uint8_t *s, const void *content, size_t clen, int *nz, int *need)
{
	uint32_t nb = fl_le32_get(s + 88);
	uint64_t toff = fl_le64_get(s + 96);
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	int bad = !dc;
	*nz = *need = 0;
	for (uint32_t i = 0; i < nb && !bad; i++) {
		const uint8_t *d = s + toff + i * 40;
		if (fl_le32_get(d + 4) != 1)
			continue;
		const uint8_t *z = s + fl_le64_get(d + 8);
		size_t zn = (size_t)fl_le64_get(d + 16), raw = (size_t)fl_le64_get(d + 24);
		uint8_t *o = malloc(raw + 1), *o2 = malloc(raw + 1);
		bool column = fl_le32_get(d) >= 32;
		(*nz)++;
		size_t got = column ? ZSTD_decompressDCtx(dc, o, raw + 1, z, zn)
				    : ZSTD_decompress_usingDict(dc, o, raw + 1, z, zn, content, clen);
		if (ZSTD_getDictID_fromFrame(z, zn) != 0 || ZSTD_isError(got) || got != raw ||
		    ZSTD_findFrameCompressedSize(z, zn) != zn)
			bad = 1;
		size_t got2 = ZSTD_decompress(o2, raw + 1, z, zn);
		if (ZSTD_isError(got2) || got2 != raw || memcmp(o, o2, raw))
			(*need)++;
		free(o);
		free(o2);
	}
	ZSTD_freeDCtx(dc);
	return bad;
}

/* What FORMAT.md 10.3 says fl_writer_prior_content gives for segment s
 * (written against the prior content pc, or none): the raw bytes of its
 * pack and dictionary blocks (types 2, 16..20) in block order, cut at
 * FL_PRIOR_CONTENT, with a 0 byte in front should that start with zstd's
 * dictionary magic. NULL when a block does not decode. */
static uint8_t *spec_prior_content(const uint8_t *s, const void *pc, size_t pclen, size_t *out)
{
	uint32_t nb = fl_le32_get(s + 88);
	uint64_t toff = fl_le64_get(s + 96);
	struct fl_bytes c = {0};
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	for (uint32_t i = 0; i < nb && c.len < FL_PRIOR_CONTENT; i++) {
		const uint8_t *d = s + toff + i * 40;
		uint32_t type = fl_le32_get(d);
		if (type != 2 && (type < 16 || type > 20))
			continue;
		const uint8_t *st = s + fl_le64_get(d + 8);
		size_t sn = (size_t)fl_le64_get(d + 16), raw = (size_t)fl_le64_get(d + 24);
		uint8_t *o = malloc(raw + 1);
		if (fl_le32_get(d + 4) == 0) {
			memcpy(o, st, sn);
		} else {
			size_t got = pc ? ZSTD_decompress_usingDict(dc, o, raw + 1, st, sn, pc, pclen)
					: ZSTD_decompress(o, raw + 1, st, sn);
			if (ZSTD_isError(got) || got != raw) {
				free(o);
				fl_bytes_free(&c);
				ZSTD_freeDCtx(dc);
				return NULL;
			}
		}
		size_t take = raw < FL_PRIOR_CONTENT - c.len ? raw : FL_PRIOR_CONTENT - c.len;
		fl_bytes_put(&c, o, take);
		free(o);
	}
	ZSTD_freeDCtx(dc);
	if (c.len >= 4 && !memcmp(c.p, dict_magic, 4)) {
		fl_bytes_grow(&c, 1);
		memmove(c.p + 1, c.p, c.len++);
		c.p[0] = 0;
	}
	*out = c.len;
	return c.p ? c.p : malloc(1);
}

/* A PRIOR segment built here from raw, unpacked segment s (FL_WRITER_RAW |
 * FL_WRITER_NO_PACK) as FORMAT.md 10.1 describes it: a 160-byte header
 * naming `hash`, each block compressed by zstd itself (kept raw when that
 * is not smaller): the blocks under type 32 with content[0..clen) as
 * their raw content dictionary, the columns without, or against it too
 * when columns_too (which the spec forbids). *nz counts the compressed
 * blocks. */
static uint8_t *seg_to_prior(const uint8_t *s, const void *content, size_t clen, const uint8_t hash[FL_HASH_LEN],
			     bool columns_too, size_t *out_len, int *nz)
{
	uint32_t nb = fl_le32_get(s + 88);
	uint64_t toff = fl_le64_get(s + 96);
	size_t cap = SEG_PRIOR_HDR + (size_t)nb * 40;
	for (uint32_t i = 0; i < nb; i++)
		cap += ZSTD_compressBound((size_t)fl_le64_get(s + toff + i * 40 + 16));
	uint8_t *o = calloc(1, cap);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	memcpy(o, s, SEG_HDR);
	memcpy(o + SEG_HDR, hash, FL_HASH_LEN);
	size_t at = SEG_PRIOR_HDR + (size_t)nb * 40;
	*nz = 0;
	for (uint32_t i = 0; i < nb; i++) {
		const uint8_t *d = s + toff + i * 40;
		uint8_t *e = o + SEG_PRIOR_HDR + i * 40;
		const uint8_t *raw = s + fl_le64_get(d + 8);
		size_t n = (size_t)fl_le64_get(d + 16);
		memcpy(e, d, 40);
		bool dict = columns_too || fl_le32_get(d) < 32;
		size_t z = !n ? 0
			 : dict ? ZSTD_compress_usingDict(cc, o + at, cap - at, raw, n, content, clen, 3)
				: ZSTD_compressCCtx(cc, o + at, cap - at, raw, n, 3);
		if (n && !ZSTD_isError(z) && z < n) {
			fl_le32_put(e + 4, 1);
			(*nz)++;
		} else {
			memcpy(o + at, raw, n);
			z = n;
		}
		fl_le64_put(e + 8, at);
		fl_le64_put(e + 16, z);
		fl_le32_put(e + 32, fl_crc32c(0, o + at, z));
		at += z;
	}
	ZSTD_freeCCtx(cc);
	fl_le32_put(o + 12, SEG_PRIOR_HDR);
	fl_le32_put(o + 20, fl_le32_get(o + 20) | PRIOR_FLAG);
	fl_le64_put(o + 96, SEG_PRIOR_HDR);
	fl_le64_put(o + 104, at);
	fl_le32_put(o + 112, fl_crc32c(0, o + SEG_PRIOR_HDR, (size_t)nb * 40));
	seg_fix_crc_n(o);
	*out_len = at;
	return o;
}

/* ---- prior files built from FORMAT.md 10.2 alone ---- */

/* A prior file of content[0..clen): stored raw (zmode 0), as one zstd
 * frame made by zstd here (1), or as that frame without its content size
 * (2); header_size hsize, the bytes beyond 96 set to 0x5a; source_seq 77,
 * made_ns 88. Hash and CRCs as the spec says. */
static uint8_t *pf_build(const void *content, size_t clen, int zmode, uint32_t hsize, size_t *len)
{
	size_t bound = ZSTD_compressBound(clen);
	uint8_t *b = calloc(1, hsize + bound);
	size_t sn = clen;
	if (zmode) {
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, zmode == 1);
		sn = ZSTD_compress2(cc, b + hsize, bound, content, clen);
		ZSTD_freeCCtx(cc);
	} else {
		memcpy(b + hsize, content, clen);
	}
	memcpy(b, "FRPRIOR1", 8);
	fl_le32_put(b + 8, 1);
	fl_le32_put(b + 12, hsize);
	fl_le64_put(b + 24, 77);
	fl_le64_put(b + 32, 88);
	fl_le64_put(b + 40, clen);
	fl_le64_put(b + 48, sn);
	fl_sha256(content, clen, b + 56);
	memset(b + PF_HDR, 0x5a, hsize - PF_HDR);
	fl_le32_put(b + 88, fl_crc32c(0, b + hsize, sn));
	fl_le32_put(b + 92, 0);
	fl_le32_put(b + 92, fl_crc32c(0, b, hsize));
	*len = hsize + sn;
	return b;
}

/* Both CRCs of prior file b after an edit: the stored bytes' (from
 * header_size on) and the header's. */
static void pf_fix(uint8_t *b, size_t len)
{
	uint32_t hs = fl_le32_get(b + 12);
	fl_le32_put(b + 88, fl_crc32c(0, b + hs, len - hs));
	fl_le32_put(b + 92, 0);
	fl_le32_put(b + 92, fl_crc32c(0, b, hs));
}

/* fl_prior_parse that must fail: its code (0 when it parsed, or left *out
 * set or changed on failure), err filled. */
static int parse_fails(const void *b, size_t len, struct fl_error *e)
{
	struct fl_prior *sentinel = (struct fl_prior *)(uintptr_t)0x1, *p = sentinel;
	memset(e, 0, sizeof(*e));
	int r = fl_prior_parse(b, len, &p, e);
	if (!r) {
		fl_prior_free(p);
		return 0;
	}
	return p == sentinel ? r : 0;
}

static bool parses(const void *b, size_t len, struct fl_prior_info *info)
{
	struct fl_prior *p = NULL;
	if (fl_prior_parse(b, len, &p, NULL))
		return false;
	if (info)
		*info = *fl_prior_info(p);
	fl_prior_free(p);
	return true;
}

static void fill_text(uint8_t *b, size_t n)
{
	static const char *w[] = {"/usr/lib/x86_64-linux-gnu/", "libc.so.6", "nginx", "/var/www/html/", "gcc"};
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)w[(i / 13) % 5][i % strlen(w[(i / 13) % 5])];
}

static void fill_random(uint8_t *b, size_t n, uint64_t seed)
{
	struct gen g = {.rng = seed};
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)gen_rand(&g);
}

/* ------------------------------------------------------ 1. prior objects */

static void test_prior_objects(void)
{
	uint8_t c[64];
	fill_text(c, sizeof(c));
	struct fl_prior *sentinel = (struct fl_prior *)(uintptr_t)0x1, *p = sentinel;
	is_int(fl_prior_new(c, FL_PRIOR_MIN - 1, 0, 0, &p), -EINVAL, "fl_prior_new: 7 bytes -> -EINVAL");
	is_int(fl_prior_new(c, 0, 0, 0, &p), -EINVAL, "fl_prior_new: 0 bytes -> -EINVAL");
	is_int(fl_prior_new(NULL, 64, 0, 0, &p), -EINVAL, "fl_prior_new: NULL content -> -EINVAL");
	uint8_t *big = calloc(1, FL_PRIOR_MAX + 1);
	big[0] = 'x';
	is_int(fl_prior_new(big, FL_PRIOR_MAX + 1, 0, 0, &p), -EINVAL, "fl_prior_new: 1 MiB + 1 -> -EINVAL");
	uint8_t m[64];
	memcpy(m, c, sizeof(m));
	memcpy(m, dict_magic, 4);
	is_int(fl_prior_new(m, sizeof(m), 0, 0, &p), -EINVAL, "fl_prior_new: content starting 37 A4 30 EC -> -EINVAL");
	ok(p == sentinel, "... *out untouched on every failure");

	struct fl_prior *q = NULL;
	m[3] = 0xed; /* 37 A4 30 ED: not the magic */
	ok(!fl_prior_new(m, sizeof(m), 0, 0, &q) && q, "37 A4 30 ED is not the magic: accepted");
	fl_prior_free(q);
	q = NULL;
	memcpy(m + 1, dict_magic, 4); /* the magic, but not at the start */
	ok(!fl_prior_new(m, sizeof(m), 0, 0, &q) && q, "the magic at offset 1: accepted");
	fl_prior_free(q);
	q = NULL;
	ok(!fl_prior_new(big, FL_PRIOR_MAX, 5, 6, &q) && q && fl_prior_info(q)->size == FL_PRIOR_MAX,
	   "exactly FL_PRIOR_MAX (1 MiB) accepted");
	fl_prior_free(q);
	free(big);

	uint8_t eight[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
	q = NULL;
	ok(!fl_prior_new(eight, 8, 3, 4, &q) && q, "fl_prior_new: 8 bytes accepted");
	uint8_t h[FL_HASH_LEN];
	fl_sha256(eight, 8, h);
	const struct fl_prior_info *inf = q ? fl_prior_info(q) : NULL;
	ok(inf && !memcmp(inf->hash, h, FL_HASH_LEN) && inf->size == 8 && inf->source_seq == 3 && inf->made_ns == 4,
	   "info: hash is SHA-256 of the content, size 8, source_seq 3, made_ns 4");
	fl_prior_free(q);

	/* the content is copied: editing the caller's bytes changes nothing */
	uint8_t cc[64];
	memcpy(cc, c, sizeof(cc));
	q = NULL;
	fl_prior_new(cc, sizeof(cc), 0, 0, &q);
	memset(cc, 'Z', sizeof(cc));
	void *img = NULL;
	size_t ilen = 0;
	struct fl_prior_info pi;
	fl_sha256(c, sizeof(c), h);
	ok(q && !fl_prior_encode(q, 0, &img, &ilen) && parses(img, ilen, &pi) && !memcmp(pi.hash, h, FL_HASH_LEN),
	   "the content was copied (the caller's buffer edited after fl_prior_new)");
	free(img);
	fl_prior_free(q);
	fl_prior_free(NULL);
	ok(1, "fl_prior_free(NULL) is a no-op");

	/* fl_hash_short: SHA-256("abc") starts ba7816bf8f01cfea (FIPS 180-4) */
	char hex[17];
	fl_sha256("abc", 3, h);
	is_str(fl_hash_short(h, hex), "ba7816bf8f01cfea", "fl_hash_short: the first 8 bytes in hex");
}

/* ------------------------------------------------------ 2. prior files */

static bool header_per_spec(const uint8_t *f, size_t len, const struct fl_prior *p, const uint8_t *content,
			    char *why, size_t wl)
{
	const struct fl_prior_info *inf = fl_prior_info(p);
	uint8_t h[FL_HASH_LEN];
	fl_sha256(content, inf->size, h);
	uint8_t hd[PF_HDR];
	memcpy(hd, f, PF_HDR);
	memset(hd + 92, 0, 4);
	const char *bad = len < PF_HDR			       ? "short"
			  : memcmp(f, "FRPRIOR1", 8)		       ? "magic"
			  : fl_le32_get(f + 8) != 1		       ? "version"
			  : fl_le32_get(f + 12) != PF_HDR	       ? "header_size"
			  : fl_le32_get(f + 16) || fl_le32_get(f + 20) ? "flags"
			  : fl_le64_get(f + 24) != inf->source_seq     ? "source_seq"
			  : fl_le64_get(f + 32) != inf->made_ns	       ? "made_ns"
			  : fl_le64_get(f + 40) != inf->size	       ? "content_size"
			  : fl_le64_get(f + 48) != len - PF_HDR	       ? "stored_size"
			  : memcmp(f + 56, h, FL_HASH_LEN)	       ? "content_hash"
			  : fl_le32_get(f + 88) != fl_crc32c(0, f + PF_HDR, len - PF_HDR) ? "stored_crc"
			  : fl_le32_get(f + 92) != fl_crc32c(0, hd, PF_HDR)		  ? "header_crc"
											  : NULL;
	if (bad)
		snprintf(why, wl, "field %s", bad);
	return !bad;
}

static void test_prior_file(void)
{
	enum { N = 4096 };
	uint8_t *text = malloc(N), *rnd = malloc(N);
	fill_text(text, N);
	fill_random(rnd, N, 99);
	for (int form = 0; form < 2; form++) {
		const uint8_t *c = form ? rnd : text;
		const char *fn = form ? "incompressible" : "compressible";
		struct fl_prior *p = NULL, *q = NULL;
		fl_prior_new(c, N, 12345, 1700000000123456789ull, &p);
		for (int lv = 0; lv < 2; lv++) {
			int level = lv ? 19 : 0;
			void *img = NULL;
			size_t len = 0;
			char why[128] = "";
			ok(p && !fl_prior_encode(p, level, &img, &len) && header_per_spec(img, len, p, c, why, sizeof(why)),
			   "%s content, level %d: every header field as FORMAT.md 10.2's table says %s", fn, level, why);
			const uint8_t *f = img;
			uint64_t ss = img ? fl_le64_get(f + 48) : 0;
			if (form)
				ok(img && ss == N && !memcmp(f + PF_HDR, c, N),
				   "incompressible: stored raw (stored_size %llu == content_size)", (unsigned long long)ss);
			else
				ok(img && ss < N && !memcmp(f + PF_HDR, zstd_frame_magic, 4) &&
					   ZSTD_getFrameContentSize(f + PF_HDR, ss) == N &&
					   ZSTD_findFrameCompressedSize(f + PF_HDR, ss) == ss,
				   "compressible: one zstd frame (%llu bytes) declaring content size %d",
				   (unsigned long long)ss, N);
			q = NULL;
			struct fl_error e = {0};
			int r = img ? fl_prior_parse(img, len, &q, &e) : -1;
			const struct fl_prior_info *a = p ? fl_prior_info(p) : NULL, *b = q ? fl_prior_info(q) : NULL;
			ok(!r && a && b && !memcmp(a->hash, b->hash, FL_HASH_LEN) && a->source_seq == b->source_seq &&
				   a->made_ns == b->made_ns && a->size == b->size,
			   "%s, level %d: parse(encode) gives the same hash, source_seq, made_ns, size (%s)", fn, level,
			   e.msg);
			size_t plen = 0;
			const uint8_t *pc = q ? fl_prior_content(q, &plen) : NULL;
			ok(pc && plen == N && !memcmp(pc, c, N), "... and the same content");
			fl_prior_free(q);
			free(img);
		}
		fl_prior_free(p);
	}

	/* files built here from the spec alone */
	struct fl_prior_info pi;
	size_t len;
	uint8_t h[FL_HASH_LEN];
	fl_sha256(text, N, h);
	for (int z = 0; z < 2; z++) {
		uint8_t *f = pf_build(text, N, z, PF_HDR, &len);
		memset(&pi, 0, sizeof(pi));
		ok(parses(f, len, &pi) && !memcmp(pi.hash, h, FL_HASH_LEN) && pi.source_seq == 77 && pi.made_ns == 88 &&
			   pi.size == N,
		   "a prior file built from FORMAT.md 10.2 (%s) parses", z ? "zstd frame made by zstd" : "raw");
		free(f);
	}
	uint8_t *f = pf_build(rnd, FL_PRIOR_MIN, 0, PF_HDR, &len);
	ok(parses(f, len, NULL), "hand-built, 8 bytes of content (the minimum) parses");
	free(f);
	/* a longer header: its extra bytes covered by header_crc */
	f = pf_build(text, N, 1, 128, &len);
	memset(&pi, 0, sizeof(pi));
	ok(parses(f, len, &pi) && !memcmp(pi.hash, h, FL_HASH_LEN),
	   "header_size 128, extra bytes covered by the CRC: accepted");
	f[100] ^= 1;
	struct fl_error e;
	ok(parse_fails(f, len, &e) == -EBADMSG, "... and a flip in those extra bytes is caught (%s)", e.msg);
	free(f);
	f = pf_build(text, N, 1, 128, &len);
	fl_le32_put(f + 92, 0);
	fl_le32_put(f + 92, fl_crc32c(0, f, PF_HDR)); /* CRC of 96 bytes only */
	ok(parse_fails(f, len, &e) == -EBADMSG, "header_size 128 with a CRC of only 96 bytes: rejected");
	free(f);
	f = pf_build(text, N, 0, 4096, &len);
	ok(parses(f, len, NULL), "header_size 4096 (the maximum) accepted");
	free(f);
	f = pf_build(text, N, 0, 4100, &len);
	ok(parse_fails(f, len, &e) == -EBADMSG && !strcmp(e.block, "prior"), "header_size 4100: rejected (%s)", e.msg);
	free(f);
	f = pf_build(text, N, 0, PF_HDR, &len);
	fl_le32_put(f + 12, 95);
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EBADMSG, "header_size 95: rejected (%s)", e.msg);
	free(f);
	/* compat flags: readers ignore them */
	f = pf_build(text, N, 1, PF_HDR, &len);
	fl_le32_put(f + 16, 0xffffffffu);
	pf_fix(f, len);
	ok(parses(f, len, NULL), "compat_flags all set: ignored, parses");
	free(f);
	free(text);
	free(rnd);
}

/* ------------------------------------------------------ 3. prior file damage */

static void flips_and_cuts(const uint8_t *img, size_t len, const char *form)
{
	uint8_t *b = malloc(len + 1);
	int bad = 0, tried = 0;
	char where[300] = "";
	static const uint8_t xors[] = {0x01, 0x80, 0xff};
	for (size_t i = 0; i < len; i++) {
		for (int x = 0; x < 3; x++) {
			memcpy(b, img, len);
			b[i] ^= xors[x];
			struct fl_error e;
			int r = parse_fails(b, len, &e);
			int want = i >= 8 && i < 12 ? -EOPNOTSUPP : -EBADMSG; /* version is checked before the CRC */
			tried++;
			if (r != want || strcmp(e.block, "prior") || !e.msg[0]) {
				if (!bad++)
					snprintf(where, sizeof(where), "byte %zu ^ 0x%02x: code %d block '%s' msg '%s'", i,
						 xors[x], r, e.block, e.msg);
			}
		}
	}
	ok(!bad, "%s prior file: every one of %d single-byte flips fails with a message in block 'prior' %s", form,
	   tried, where);
	bad = 0;
	for (size_t cut = 0; cut < len; cut++) {
		struct fl_error e;
		if (parse_fails(img, cut, &e) != -EBADMSG || strcmp(e.block, "prior"))
			if (!bad++)
				snprintf(where, sizeof(where), "cut at %zu: %s", cut, e.msg);
	}
	ok(!bad, "%s prior file: every truncation (%zu) fails %s", form, len, bad ? where : "");
	memcpy(b, img, len);
	b[len] = 0;
	struct fl_error e;
	ok(parse_fails(b, len + 1, &e) == -EBADMSG, "%s prior file: a trailing byte fails (%s)", form, e.msg);
	free(b);
}

static void test_prior_damage(void)
{
	enum { N = 4096 };
	uint8_t *text = malloc(N), *rnd = malloc(N);
	fill_text(text, N);
	fill_random(rnd, N, 7);
	for (int form = 0; form < 2; form++) {
		struct fl_prior *p = NULL;
		fl_prior_new(form ? rnd : text, N, 9, 10, &p);
		void *img = NULL;
		size_t len = 0;
		if (!p || fl_prior_encode(p, 0, &img, &len)) {
			ok(0, "encode a prior");
			continue;
		}
		flips_and_cuts(img, len, form ? "raw (incompressible)" : "zstd (compressible)");
		free(img);
		fl_prior_free(p);
	}

	size_t len;
	struct fl_error e;
	/* every incompatible flag bit, header CRC fixed: -EOPNOTSUPP */
	int bad = 0;
	for (int bit = 0; bit < 32; bit++) {
		uint8_t *f = pf_build(text, N, 1, PF_HDR, &len);
		fl_le32_put(f + 20, 1u << bit);
		pf_fix(f, len);
		if (parse_fails(f, len, &e) != -EOPNOTSUPP || strcmp(e.block, "prior"))
			bad++;
		free(f);
	}
	ok(!bad, "each of the 32 incompat_flags bits (CRC fixed): -EOPNOTSUPP (%d wrong)", bad);
	uint8_t *f = pf_build(text, N, 1, PF_HDR, &len);
	fl_le32_put(f + 8, 2);
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EOPNOTSUPP && has(e.msg, "unsupported version"),
	   "version 2 (CRC fixed): -EOPNOTSUPP '%s'", e.msg);
	fl_le32_put(f + 8, 0);
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EOPNOTSUPP, "version 0: -EOPNOTSUPP");
	free(f);
	f = pf_build(text, N, 1, PF_HDR, &len);
	f[0] = 'G';
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EBADMSG && !strcmp(e.block, "prior"), "bad magic: -EBADMSG (%s)", e.msg);
	free(f);

	/* content that does not match its hash, every CRC consistent */
	f = pf_build(text, N, 0, PF_HDR, &len);
	f[PF_HDR + 100] ^= 0x20;
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EBADMSG && has(e.msg, "content does not match its hash") &&
		   !strcmp(e.block, "prior"),
	   "raw content edited (CRCs fixed): -EBADMSG '%s'", e.msg);
	free(f);
	f = pf_build(text, N, 1, PF_HDR, &len);
	f[56] ^= 1;
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EBADMSG && has(e.msg, "content does not match its hash"),
	   "zstd form, content_hash edited (CRCs fixed): -EBADMSG '%s'", e.msg);
	free(f);

	/* content starting with zstd's dictionary magic, hash and CRCs consistent */
	uint8_t *m = malloc(N);
	memcpy(m, text, N);
	memcpy(m, dict_magic, 4);
	for (int z = 0; z < 2; z++) {
		f = pf_build(m, N, z, PF_HDR, &len);
		ok(parse_fails(f, len, &e) == -EBADMSG && !strcmp(e.block, "prior"),
		   "content starting 37 A4 30 EC (%s, hash and CRCs right): rejected '%s'", z ? "zstd" : "raw", e.msg);
		free(f);
	}
	free(m);

	/* sizes */
	f = pf_build(text, 7, 0, PF_HDR, &len);
	ok(parse_fails(f, len, &e) == -EBADMSG && has(e.msg, "content size"),
	   "content_size 7 (consistent file): rejected '%s'", e.msg);
	free(f);
	uint8_t *zeros = calloc(1, FL_PRIOR_MAX + 1);
	zeros[0] = 1;
	f = pf_build(zeros, FL_PRIOR_MAX + 1, 1, PF_HDR, &len);
	ok(parse_fails(f, len, &e) == -EBADMSG && has(e.msg, "content size"),
	   "content_size 1 MiB + 1 (consistent, zstd): rejected before decompressing '%s'", e.msg);
	free(f);
	f = pf_build(zeros, FL_PRIOR_MAX, 1, PF_HDR, &len);
	ok(parses(f, len, NULL), "content_size 1 MiB (zstd): accepted");
	free(f);
	free(zeros);
	/* a zstd frame of 100 random bytes is larger than they are: a valid
	 * frame, but stored_size above content_size */
	f = pf_build(rnd, 100, 1, PF_HDR, &len);
	ok(len - PF_HDR > 100 && parse_fails(f, len, &e) == -EBADMSG && has(e.msg, "stored size"),
	   "stored_size %zu > content_size 100 (a valid frame, consistent file): rejected '%s'", len - PF_HDR, e.msg);
	free(f);
	f = pf_build(text, N, 1, PF_HDR, &len);
	fl_le64_put(f + 48, fl_le64_get(f + 48) + 1);
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EBADMSG, "stored_size not the bytes after the header: rejected '%s'", e.msg);
	free(f);
	/* the frame must declare the content size */
	f = pf_build(text, N, 2, PF_HDR, &len);
	ok(f && ZSTD_getFrameContentSize(f + PF_HDR, len - PF_HDR) == ZSTD_CONTENTSIZE_UNKNOWN &&
		   parse_fails(f, len, &e) == -EBADMSG,
	   "a zstd frame without its content size: rejected '%s'", e.msg);
	free(f);
	/* content_size larger than what the frame holds */
	f = pf_build(text, N, 1, PF_HDR, &len);
	fl_le64_put(f + 40, N + 1);
	pf_fix(f, len);
	ok(parse_fails(f, len, &e) == -EBADMSG, "content_size one more than the frame's: rejected '%s'", e.msg);
	free(f);
	/* "one zstd frame": a second (empty) frame after it, CRCs right
	 * (ZSTD_decompress alone would take any number of frames) */
	f = pf_build(text, N, 1, PF_HDR, &len);
	f = realloc(f, len + 64);
	size_t extra = ZSTD_compress(f + len, 64, "", 0, 1);
	if (!ZSTD_isError(extra)) {
		fl_le64_put(f + 48, len - PF_HDR + extra);
		pf_fix(f, len + extra);
	}
	ok(!ZSTD_isError(extra) && parse_fails(f, len + extra, &e) == -EBADMSG,
	   "a zstd frame followed by a second, empty frame is not \"one zstd frame\": rejected (%s)",
	   e.code ? e.msg : "it parsed");
	free(f);
	free(text);
	free(rnd);
}

/* ------------------------------------------------------ 4. segments */

static void test_segments(void)
{
	static const uint32_t cols[] = {FL_COL_ALL,
					FL_COL_NONE,
					FL_COL_PATHS,
					FL_COL_NAMES | FL_COL_ARGV,
					FL_COL_CTX | FL_COL_DETAIL,
					FL_COL_CHANGES,
					FL_COL_CHANGES | FL_COL_PATHS,
					FL_COL_SCAN,
					FL_COL_SCAN | FL_COL_CHANGES};
	enum { NCOLS = sizeof(cols) / sizeof(cols[0]) };
	uint8_t other_c[64];
	fill_text(other_c, sizeof(other_c));
	struct fl_prior *other = NULL, *other2 = NULL;
	fl_prior_new(other_c, sizeof(other_c), 0, 0, &other);
	other_c[0] ^= 1;
	fl_prior_new(other_c, sizeof(other_c), 0, 0, &other2);
	for (int k = 0; k < N_WORKLOADS; k++) {
		struct gen g = {.rng = 100 + (uint64_t)k};
		const char *name = workload(&g, k);
		size_t half = g.n / 2;
		struct gen a = view(&g, 0, half), b = view(&g, half, g.n);
		struct fl_writer *w = NULL;
		fl_writer_new(NULL, &w);
		size_t la = 0, lb = 0, lb0 = 0, clen = 0;
		uint8_t *sa = write_seg(w, &a, NULL, 1, &la);
		void *content = NULL;
		int rc = fl_writer_prior_content(w, &content, &clen);
		struct fl_prior *p = NULL;
		if (!rc)
			rc = fl_prior_new(content, clen, 1, sa ? fl_le64_get(sa + 80) : 0, &p);
		uint8_t ha[FL_HASH_LEN];
		fl_sha256(sa, la, ha);
		fl_writer_set_prior(w, p);
		uint8_t *sb = p ? write_seg(w, &b, ha, 2, &lb) : NULL;
		uint8_t *sb0 = encode_with(&b, 0, NULL, &lb0);
		ok(sa && !rc && p && sb && sb0, "%s: segment A, a prior of %zu bytes from it, segment B against it", name,
		   clen);
		if (!(sa && p && sb && sb0)) {
			free(sa), free(sb), free(sb0), free(content), fl_prior_free(p), fl_writer_free(w), gen_free(&g);
			continue;
		}
		const uint8_t *hash = fl_prior_info(p)->hash;
		ok((seg_incompat(sb) & PRIOR_FLAG) && fl_le32_get(sb + 12) == SEG_PRIOR_HDR &&
			   fl_le64_get(sb + 96) >= SEG_PRIOR_HDR && !memcmp(sb + 128, hash, FL_HASH_LEN),
		   "%s: B has incompat bit 0x4000, header_size 160, the table after it, bytes 128..159 the prior's hash",
		   name);
		ok(!(seg_incompat(sa) & PRIOR_FLAG) && fl_le32_get(sa + 12) == SEG_HDR && !(seg_incompat(sb0) & PRIOR_FLAG),
		   "%s: A (and B without a prior) have no PRIOR flag and a 128-byte header", name);
		uint8_t ph[FL_HASH_LEN] = {0};
		ok(fl_segment_peek_prior(sb, lb, ph) == 1 && !memcmp(ph, hash, FL_HASH_LEN) &&
			   fl_segment_peek_prior(sb, lb, NULL) == 1 && fl_segment_peek_prior(sa, la, ph) == 0,
		   "%s: fl_segment_peek_prior: 1 and the hash for B, 0 for A", name);

		/* decodes with the prior, in every column set, exactly */
		const struct fl_prior *pl[] = {p};
		int bad = 0, runs = 0;
		char why[256] = "", where[64] = "";
		for (size_t c = 0; c < NCOLS && !bad; c++)
			for (uint32_t rf = 0; rf < 2 && !bad; rf++, runs++)
				if (check_decode(NULL, sb, lb, &b, cols[c], rf ? FL_READ_FAST : 0, pl, 1, why, sizeof(why)))
					bad = 1, snprintf(where, sizeof(where), "columns %#x flags %u", cols[c], rf);
		ok(!bad, "%s: B decodes with its prior to exactly its events: %d reads %s %s", name, runs, where, why);
		ok(!check_decode(NULL, sa, la, &a, FL_COL_ALL, 0, pl, 1, why, sizeof(why)),
		   "%s: A (no prior needed) decodes with priors given %s", name, why);

		/* without it: refused, as FORMAT.md 10.1 says */
		struct fl_segment *s = NULL;
		struct fl_error e;
		memset(&e, 0, sizeof(e));
		char hex[17], want[64];
		snprintf(want, sizeof(want), "needs prior %s", fl_hash_short(hash, hex));
		int r = fl_segment_open(sb, lb, &s, &e);
		ok(r == -ENOENT && !s && !strcmp(e.block, "header") && e.offset == 128 && has(e.msg, want) &&
			   e.code == -ENOENT,
		   "%s: without priors: -ENOENT, block header, offset 128, '%s'", name, e.msg);
		struct fl_read_opts o = {.priors = NULL, .n_priors = 0, .columns = FL_COL_NONE};
		ok(fl_segment_open_ex(sb, lb, &o, &s, &e) == -ENOENT, "%s: ... even summary only (FL_COL_NONE)", name);
		const struct fl_prior *wrong[] = {other, other2};
		o = (struct fl_read_opts){.priors = wrong, .n_priors = 2};
		ok(fl_segment_open_ex(sb, lb, &o, &s, &e) == -ENOENT && has(e.msg, want),
		   "%s: with other priors only: -ENOENT", name);
		const struct fl_prior *several[] = {other, other2, p};
		ok(!check_decode(NULL, sb, lb, &b, FL_COL_ALL, 0, several, 3, why, sizeof(why)),
		   "%s: with three priors, its own last: decodes exactly %s", name, why);
		o = (struct fl_read_opts){.priors = several, .n_priors = 3};
		s = NULL;
		r = fl_segment_open_ex(sb, lb, &o, &s, &e);
		const struct fl_segment_info *inf = s ? fl_segment_info(s) : NULL;
		ok(!r && inf && inf->has_prior && !memcmp(inf->prior_hash, hash, FL_HASH_LEN) &&
			   (inf->incompat_flags & PRIOR_FLAG),
		   "%s: fl_segment_info: has_prior, prior_hash", name);
		/* sessions (their block is a zstd frame too) as without the prior */
		struct fl_segment *s0 = NULL;
		size_t n1 = 0, n0 = 0;
		const struct fl_session_first *f1 = s ? fl_segment_sessions(s, &n1) : NULL, *f0 = NULL;
		if (!fl_segment_open(sb0, lb0, &s0, NULL))
			f0 = fl_segment_sessions(s0, &n0);
		bool same = s0 && n1 == n0;
		for (size_t i = 0; same && i < n0; i++)
			same = gen_same_str(f1[i].host, f0[i].host) && f1[i].ses == f0[i].ses && f1[i].first_ns == f0[i].first_ns;
		ok(same, "%s: B's sessions (%zu) are those B has without a prior", name, n1);
		fl_segment_free(s0);
		fl_segment_free(s);
		s = NULL;
		ok(!fl_segment_open(sa, la, &s, NULL) && !fl_segment_info(s)->has_prior, "%s: A: has_prior false", name);
		fl_segment_free(s);

		/* every zstd frame, decoded here with the content as zstd's raw
		 * content dictionary */
		int nz = 0, need = 0;
		size_t pcl = 0;
		const uint8_t *pc = fl_prior_content(p, &pcl);
		ok(!zstd_blocks_check(sb, pc, pcl, &nz, &need) && nz > 0 && need > 0,
		   "%s: B's %d zstd frames: no dictionary ID; under type 32 each decodes with ZSTD_decompress_usingDict(content), the columns alone (%d need the prior)",
		   name, nz, need);
		/* the parsed prior is the same prior: byte-identical segments */
		void *img = NULL;
		size_t il = 0, l1 = 0, l2 = 0;
		struct fl_prior *pp = NULL;
		fl_prior_encode(p, 0, &img, &il);
		fl_prior_parse(img, il, &pp, NULL);
		uint8_t *x1 = encode_with(&b, 0, p, &l1), *x2 = pp ? encode_with(&b, 0, pp, &l2) : NULL;
		const struct fl_prior *ppl[] = {pp};
		ok(x1 && x2 && l1 == l2 && !memcmp(x1, x2, l1) &&
			   !check_decode(NULL, sb, lb, &b, FL_COL_ALL, 0, ppl, 1, why, sizeof(why)),
		   "%s: the prior after encode and parse: B decodes with it, and writing with it gives the same bytes %s",
		   name, why);
		free(x1);
		free(x2);
		free(img);
		fl_prior_free(pp);
		/* the size the prior buys */
		printf("# %s: B is %zu bytes against the prior, %zu without (prior content %zu)\n", name, lb, lb0, clen);
		if (k == 0 || k == 1 || k == 2)
			ok(lb < lb0, "%s: B against A's prior is smaller than without (%zu < %zu)", name, lb, lb0);

		/* fl_writer_set_prior(w, NULL): the next segment has no flag */
		fl_writer_set_prior(w, NULL);
		size_t lc = 0;
		uint8_t *sc = write_seg(w, &b, NULL, 3, &lc);
		ok(sc && !(seg_incompat(sc) & PRIOR_FLAG) && fl_le32_get(sc + 12) == SEG_HDR &&
			   !check_decode(NULL, sc, lc, &b, FL_COL_ALL, 0, NULL, 0, why, sizeof(why)),
		   "%s: after fl_writer_set_prior(w, NULL): no flag, reads without priors %s", name, why);
		free(sc);
		free(sa);
		free(sb);
		free(sb0);
		free(content);
		fl_writer_free(w);
		fl_prior_free(p);
		gen_free(&g);
	}
	fl_prior_free(other);
	fl_prior_free(other2);

	/* peek on what is not a segment header */
	uint8_t junk[256];
	memset(junk, 'j', sizeof(junk));
	uint8_t ph[FL_HASH_LEN];
	is_int(fl_segment_peek_prior(junk, sizeof(junk), ph), -EBADMSG, "fl_segment_peek_prior(garbage): -EBADMSG");
	is_int(fl_segment_peek_prior(junk, 10, ph), -EBADMSG, "fl_segment_peek_prior(10 bytes): -EBADMSG");
}

/* A PRIOR segment built here (zstd + the spec) is read by the library. */
static void test_hand_built_segment(void)
{
	struct gen g = {.rng = 5};
	gen_build(&g, 3000);
	struct gen a = view(&g, 0, 1500), b = view(&g, 1500, 3000);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	size_t la = 0, clen = 0, lr = 0, lh = 0;
	uint8_t *sa = write_seg(w, &a, NULL, 1, &la);
	void *content = NULL;
	fl_writer_prior_content(w, &content, &clen);
	fl_writer_free(w);
	struct fl_prior *p = NULL;
	if (content)
		fl_prior_new(content, clen, 1, 0, &p);
	uint8_t *raw = encode_with(&b, FL_WRITER_RAW | FL_WRITER_NO_PACK, NULL, &lr);
	int nz = 0;
	uint8_t *hb = p && raw ? seg_to_prior(raw, content, clen, fl_prior_info(p)->hash, false, &lh, &nz) : NULL;
	const struct fl_prior *pl[] = {p};
	char why[256] = "";
	ok(hb && nz > 0 && !check_decode(NULL, hb, lh, &b, FL_COL_ALL, 0, pl, 1, why, sizeof(why)),
	   "a PRIOR segment built here (%d blocks compressed by zstd, those under type 32 with the content as raw "
	   "dictionary) decodes %s",
	   nz, why);
	/* the columns compressed against the prior too: not the format. A
	 * column frame whose matches reach into the prior does not decode
	 * alone, and the reader names it */
	{
		size_t lx = 0;
		int nx = 0;
		uint8_t *hx = p && raw ? seg_to_prior(raw, content, clen, fl_prior_info(p)->hash, true, &lx, &nx) : NULL;
		struct fl_segment *sx = NULL;
		struct fl_error ex = {0};
		int rx = hx ? fl_segment_open_ex(hx, lx, &(struct fl_read_opts){.columns = FL_COL_ALL, .priors = pl,
									   .n_priors = 1},
						  &sx, &ex)
			    : 0;
		struct fr_event ev;
		while (!rx && (rx = fl_segment_next(sx, &ev)) > 0)
			;
		if (rx < 0 && sx)
			ex = *fl_segment_error(sx);
		ok(rx < 0 && strstr(ex.msg, "zstd decompression failed") && strcmp(ex.block, "summary") &&
			   strncmp(ex.block, "paths", 5) && strcmp(ex.block, "comms"),
		   "columns compressed against the prior are refused, in a column block ('%s': %s)", ex.block,
		   ex.msg);
		fl_segment_free(sx);
		free(hx);
	}
	struct fl_error e;
	struct fl_segment *s = NULL;
	ok(hb && fl_segment_open(hb, lh, &s, &e) == -ENOENT, "... and is refused without its prior");
	free(hb);
	free(raw);
	free(sa);
	free(content);
	fl_prior_free(p);
	gen_free(&g);
}

/* fl_writer_prior_content against FORMAT.md 10.3, and writer corners */
static void test_writer_content(void)
{
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	void *sentinel = (void *)(uintptr_t)0x1, *c = sentinel;
	size_t clen = 77;
	is_int(fl_writer_prior_content(w, &c, &clen), -ENODATA, "fl_writer_prior_content before any finish: -ENODATA");
	ok(c == sentinel && clen == 77, "... out-parameters untouched");
	struct gen g = {.rng = 3};
	gen_nginx(&g, 2000);
	size_t len = 0;
	uint8_t *s = write_seg(w, &g, NULL, 1, &len);
	c = NULL;
	int r = fl_writer_prior_content(w, &c, &clen);
	size_t el = 0;
	uint8_t *exp = s ? spec_prior_content(s, NULL, 0, &el) : NULL;
	ok(!r && c && clen >= FL_PRIOR_MIN && clen <= FL_PRIOR_CONTENT && exp && el == clen && !memcmp(exp, c, el),
	   "after a finish: %zu bytes, the pack's and dictionaries' raw bytes in block order (FORMAT.md 10.3)", clen);
	free(exp);
	free(c);
	c = sentinel;
	is_int(fl_writer_prior_content(w, &c, &clen), -ENODATA, "taken once: -ENODATA the second time");
	free(s);
	s = write_seg(w, &g, NULL, 2, &len);
	c = NULL;
	ok(s && !fl_writer_prior_content(w, &c, &clen) && c, "after the next finish: available again");
	free(c);
	free(s);
	fl_writer_free(w);

	/* raw, unpacked: the dictionary blocks themselves */
	struct fl_writer_opts ro = {.flags = FL_WRITER_RAW | FL_WRITER_NO_PACK};
	fl_writer_new(&ro, &w);
	s = write_seg(w, &g, NULL, 1, &len);
	c = NULL;
	exp = s ? spec_prior_content(s, NULL, 0, &el) : NULL;
	ok(s && !fl_writer_prior_content(w, &c, &clen) && exp && el == clen && !memcmp(exp, c, el),
	   "raw, unpacked writer: the dictionary blocks in block order (%zu bytes)", clen);
	free(exp);
	free(c);
	free(s);
	fl_writer_free(w);
	gen_free(&g);

	/* more than FL_PRIOR_CONTENT of dictionaries: cut there */
	struct gen big = {.rng = 8};
	gen_random_stream(&big, 1500, 0);
	fl_writer_new(NULL, &w);
	s = write_seg(w, &big, NULL, 1, &len);
	c = NULL;
	exp = s ? spec_prior_content(s, NULL, 0, &el) : NULL;
	ok(s && !fl_writer_prior_content(w, &c, &clen) && clen == FL_PRIOR_CONTENT && exp && el == clen &&
		   !memcmp(exp, c, el),
	   "large dictionaries: cut at FL_PRIOR_CONTENT (%zu bytes), their first bytes", clen);
	free(exp);
	free(c);
	free(s);
	fl_writer_free(w);
	gen_free(&big);

	/* dictionaries that start with zstd's dictionary magic: a 0 in front.
	 * Hosts of 55, 6180 and 236 bytes make the hosts block (the first
	 * dictionary, unpacked) start 37 A4 30 EC 01 (FORMAT.md 4: lengths as
	 * varints). With more dictionary bytes than FL_PRIOR_CONTENT the result
	 * is FL_PRIOR_CONTENT + 1 bytes. */
	for (int large = 0; large < 2; large++) {
		struct gen m = {.rng = 9};
		static const size_t hl[] = {55, 6180, 236};
		size_t nh = large ? 3 + 30 : 3;
		for (size_t i = 0; i < nh; i++) {
			size_t n = i < 3 ? hl[i] : 5000;
			char *h = malloc(n + 1);
			memset(h, 'a' + (int)(i % 26), n);
			h[n] = 0;
			if (i >= 3)
				snprintf(h, 8, "%05zu", i), h[5] = 'x';
			struct fr_event *e = gen_push(&m);
			e->ts_ns = 1000000000ull + i;
			e->kind = FR_EV_OPEN;
			e->pid = 1;
			e->host = gen_keep(&m, h);
		}
		struct fl_writer_opts no = {.flags = FL_WRITER_NO_PACK};
		fl_writer_new(&no, &w);
		s = write_seg(w, &m, NULL, 1, &len);
		c = NULL;
		exp = s ? spec_prior_content(s, NULL, 0, &el) : NULL;
		r = fl_writer_prior_content(w, &c, &clen);
		const uint8_t *cb = c;
		struct fl_prior *p = NULL;
		/* the length past the cut is 175's question: here, the bytes */
		bool same = exp && (large ? (clen == el || clen == FL_PRIOR_CONTENT) && !memcmp(exp, c, clen < el ? clen : el)
				      : clen == el && !memcmp(exp, c, el));
		ok(!r && same && cb[0] == 0 && !memcmp(cb + 1, dict_magic, 4) && !fl_prior_new(c, clen, 1, 0, &p),
		   "%s: dictionaries starting 37 A4 30 EC: a 0 byte in front (%zu bytes), and it makes a prior",
		   large ? "over 128 KiB" : "small", clen);
		if (large)
			ok(!r && clen <= FL_PRIOR_CONTENT,
			   "at most FL_PRIOR_CONTENT (%u) bytes with the 0 byte in front, got %zu",
			   FL_PRIOR_CONTENT, clen);
		fl_prior_free(p);
		free(exp);
		free(c);
		free(s);
		fl_writer_free(w);
		gen_free(&m);
	}

	/* FL_WRITER_RAW with a prior: no flag (see the report: the spec says
	 * writers set it whenever they are given a prior) */
	uint8_t pc[64];
	fill_text(pc, sizeof(pc));
	struct fl_prior *p = NULL;
	fl_prior_new(pc, sizeof(pc), 0, 0, &p);
	struct gen g2 = {.rng = 4};
	gen_build(&g2, 500);
	uint8_t *rs = encode_with(&g2, FL_WRITER_RAW, p, &len);
	char why[256] = "";
	ok(rs && !(seg_incompat(rs) & PRIOR_FLAG) && fl_le32_get(rs + 12) == SEG_HDR &&
		   !check_decode(NULL, rs, len, &g2, FL_COL_ALL, 0, NULL, 0, why, sizeof(why)),
	   "FL_WRITER_RAW with a prior: no PRIOR flag, 128-byte header, reads without priors %s", why);
	free(rs);
	/* a writer given a prior sets the flag even for an empty segment */
	struct gen none = {0};
	rs = encode_with(&none, 0, p, &len);
	struct fl_segment *s0 = NULL;
	const struct fl_prior *pl[] = {p};
	ok(rs && (seg_incompat(rs) & PRIOR_FLAG) && fl_segment_open(rs, len, &s0, NULL) == -ENOENT &&
		   !check_decode(NULL, rs, len, &none, FL_COL_ALL, 0, pl, 1, why, sizeof(why)),
	   "empty segment with a prior: PRIOR set, needs it, reads with it %s", why);
	free(rs);
	/* a second prior replaces the first */
	uint8_t pc2[64];
	fill_random(pc2, sizeof(pc2), 5);
	struct fl_prior *p2 = NULL;
	fl_prior_new(pc2, sizeof(pc2), 0, 0, &p2);
	fl_writer_new(NULL, &w);
	fl_writer_set_prior(w, p);
	fl_writer_set_prior(w, p2);
	s = write_seg(w, &g2, NULL, 1, &len);
	ok(s && !memcmp(s + 128, fl_prior_info(p2)->hash, FL_HASH_LEN),
	   "fl_writer_set_prior twice: the segment names the second prior");
	free(s);
	fl_writer_free(w);
	fl_prior_free(p2);
	fl_prior_free(p);
	gen_free(&g2);
}

/* ------------------------------------------------------ 5. damaged PRIOR segments */

static void test_segment_damage(void)
{
	struct gen g = {.rng = 21};
	gen_nginx(&g, 2000);
	struct gen a = view(&g, 0, 1000), b = view(&g, 1000, 2000);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	size_t la = 0, lb = 0, clen = 0;
	uint8_t *sa = write_seg(w, &a, NULL, 1, &la);
	void *content = NULL;
	fl_writer_prior_content(w, &content, &clen);
	struct fl_prior *p = NULL;
	fl_prior_new(content, clen, 1, 0, &p);
	fl_writer_set_prior(w, p);
	uint8_t *sb = write_seg(w, &b, NULL, 2, &lb);
	const struct fl_prior *pl[] = {p};
	struct fl_read_opts o = {.priors = pl, .n_priors = 1};
	uint8_t *d = malloc(lb);
	int bad = 0, tried = 0;
	char where[200] = "";
	for (size_t i = 128; i < 160 && sb; i++) {
		for (int fix = 0; fix < 2; fix++) {
			for (int x = 0; x < 3; x++) {
				static const uint8_t xors[] = {0x01, 0x80, 0xff};
				memcpy(d, sb, lb);
				d[i] ^= xors[x];
				if (fix)
					seg_fix_crc_n(d);
				struct fl_segment *s = NULL;
				struct fl_error e = {0};
				int r = fl_segment_open_ex(d, lb, &o, &s, &e);
				fl_segment_free(s);
				bool good = fix ? r == -ENOENT && has(e.msg, "needs prior")
						: r == -EBADMSG && !strcmp(e.block, "header") && has(e.msg, "checksum");
				tried++;
				if (!good && !bad++)
					snprintf(where, sizeof(where), "byte %zu ^ %02x %s: %d %s", i, xors[x],
						 fix ? "CRC fixed" : "", r, e.msg);
			}
		}
	}
	ok(sb && !bad, "%d flips in the prior hash: 'bad checksum', or with the CRC fixed -ENOENT 'needs prior' %s",
	   tried, where);
	/* header_size below 160 with PRIOR */
	for (uint32_t hs = 128; hs <= 159 && sb; hs += 31) {
		memcpy(d, sb, lb);
		fl_le32_put(d + 12, hs);
		seg_fix_crc_n(d);
		struct fl_segment *s = NULL;
		struct fl_error e = {0};
		int r = fl_segment_open_ex(d, lb, &o, &s, &e);
		fl_segment_free(s);
		ok(r == -EBADMSG && has(e.msg, "leaves no room") && !strcmp(e.block, "header") && e.offset == 12,
		   "PRIOR with header_size %u (CRC fixed): -EBADMSG '%s' at offset %llu", hs, e.msg,
		   (unsigned long long)e.offset);
		uint8_t ph[FL_HASH_LEN];
		is_int(fl_segment_peek_prior(d, lb, ph), -EBADMSG, "... fl_segment_peek_prior: -EBADMSG");
	}
	uint8_t ph[FL_HASH_LEN];
	is_int(sb ? fl_segment_peek_prior(sb, 150, ph) : 0, -EBADMSG,
	       "fl_segment_peek_prior of 150 bytes of a PRIOR segment: -EBADMSG");
	/* the flag cleared (CRC fixed): the frames do not decode without the
	 * prior, and nothing reads as events */
	memcpy(d, sb, lb);
	fl_le32_put(d + 20, seg_incompat(d) & ~PRIOR_FLAG);
	seg_fix_crc_n(d);
	struct fl_error e;
	ok(sb && gen_decode_all(d, lb, &e) < 0, "PRIOR cleared (CRC fixed): does not decode (%s)", e.msg);
	/* The segment made to name another prior (hash replaced, CRC fixed)
	 * and read with that prior: the frames meet the wrong history. zstd
	 * frames carry no checksum, so what stops this is the header hash
	 * (under the CRC and the chain); here zstd itself fails, and no
	 * events come out. */
	uint8_t oc[64];
	fill_random(oc, sizeof(oc), 12);
	struct fl_prior *q = NULL;
	fl_prior_new(oc, sizeof(oc), 0, 0, &q);
	memcpy(d, sb, lb);
	memcpy(d + 128, fl_prior_info(q)->hash, FL_HASH_LEN);
	seg_fix_crc_n(d);
	const struct fl_prior *ql[] = {q};
	char why[256] = "";
	int wr = check_decode(NULL, d, lb, &b, FL_COL_ALL, 0, ql, 1, why, sizeof(why));
	ok(wr, "a segment decoded with a prior it was not written against does not give its events (%s)", why);
	fl_prior_free(q);
	free(d);
	free(sa);
	free(sb);
	free(content);
	fl_prior_free(p);
	fl_writer_free(w);
	gen_free(&g);
}

/* ------------------------------------------------------ 6. store */

static long file_len(const char *dir, const char *name)
{
	char p[600];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &sb) ? -1 : (long)sb.st_size;
}

static void prior_file(char *out, uint64_t seq)
{
	snprintf(out, 32, "prior-%012llu.frp", (unsigned long long)seq);
}

/* Bytes of the dir's seg-*.frl (segs) and prior-*.frp files, their count,
 * and whether any dot file is left (a tmp file). */
static void dir_bytes(const char *dir, uint64_t *segs, uint64_t *priors, size_t *npriors, bool *dot)
{
	*segs = *priors = 0;
	*npriors = 0;
	*dot = false;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		long n = file_len(dir, de->d_name);
		if (!strncmp(de->d_name, "seg-", 4))
			*segs += (uint64_t)n;
		else if (!strncmp(de->d_name, "prior-", 6))
			*priors += (uint64_t)n, ++*npriors;
		else if (de->d_name[0] == '.' && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			*dot = true;
	}
	if (d)
		closedir(d);
}

/* The prior file dir/prior-SEQ.frp, parsed; NULL when absent or bad. */
static struct fl_prior *load_prior(const char *dir, uint64_t seq)
{
	char n[32], p[600];
	prior_file(n, seq);
	snprintf(p, sizeof(p), "%s/%s", dir, n);
	size_t len;
	void *b = gen_read_file(p, &len);
	struct fl_prior *pr = NULL;
	if (b)
		fl_prior_parse(b, len, &pr, NULL);
	free(b);
	return pr;
}

/* Segment seq's header: whether it names a prior, and which. */
static int seg_prior(struct fl_store *st, uint64_t seq, uint8_t hash[FL_HASH_LEN])
{
	void *b;
	size_t len;
	if (fl_store_read(st, seq, &b, &len))
		return -99;
	int r = fl_segment_peek_prior(b, len, hash);
	free(b);
	return r;
}

static bool seg_names(struct fl_store *st, uint64_t seq, const struct fl_prior *p)
{
	uint8_t h[FL_HASH_LEN];
	return p && seg_prior(st, seq, h) == 1 && !memcmp(h, fl_prior_info(p)->hash, FL_HASH_LEN);
}

static int append(struct fl_store *st, struct fl_writer *w, const struct gen *v, uint64_t *seq)
{
	for (size_t i = 0; i < v->n; i++)
		if (fl_writer_add(w, &v->ev[i]))
			return -1;
	return fl_store_append(st, w, seq);
}

static int store_check(struct fl_store *st, uint64_t seq, const struct gen *v, uint32_t cols, char *why, size_t wl)
{
	void *b;
	size_t len;
	if (fl_store_read(st, seq, &b, &len))
		return snprintf(why, wl, "cannot read %llu", (unsigned long long)seq), 1;
	int r = check_decode(st, b, len, v, cols, 0, NULL, 0, why, wl);
	free(b);
	return r;
}

static void flip_file(const char *dir, const char *name, long at)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_RDWR);
	uint8_t c = 0;
	if (fd < 0 || pread(fd, &c, 1, at) != 1)
		printf("# cannot read %s\n", p);
	c ^= 0x10;
	if (fd < 0 || pwrite(fd, &c, 1, at) != 1)
		printf("# cannot write %s\n", p);
	if (fd >= 0)
		close(fd);
}

static int verify_dir(const char *dir, struct fl_verify_result *res)
{
	struct fl_store *st;
	memset(res, 0, sizeof(*res));
	int r = fl_store_open(dir, &st);
	if (r)
		return r;
	r = fl_store_verify(st, res);
	fl_store_close(st);
	return r;
}

static void test_store(void)
{
	char dir[256], name[32], hex[17];
	snprintf(dir, sizeof(dir), "%s/main", root);
	struct gen g = {.rng = 31};
	gen_build(&g, 2400);
	struct gen ch[4];
	for (int i = 0; i < 4; i++)
		ch[i] = view(&g, (size_t)i * 600, (size_t)(i + 1) * 600);
	struct fl_store *st = NULL;
	ok(!fl_store_open(dir, &st) && !fl_store_use_priors(st, 0), "store opened, priors in use");
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	uint64_t seq = 0;
	uint8_t h[FL_HASH_LEN];
	ok(!append(st, w, &ch[0], &seq) && seq == 1 && seg_prior(st, 1, h) == 0,
	   "segment 1: no prior yet, no PRIOR flag");
	int r = fl_store_renew_prior(st, w, 1);
	prior_file(name, 1);
	ok(r == 1 && file_len(dir, name) > PF_HDR, "fl_store_renew_prior after segment 1: 1, %s written", name);
	struct fl_prior *p1 = load_prior(dir, 1);
	void *b1 = NULL;
	size_t l1 = 0, el = 0, pl1 = 0;
	fl_store_read(st, 1, &b1, &l1);
	uint8_t *exp = b1 ? spec_prior_content(b1, NULL, 0, &el) : NULL;
	const uint8_t *pc1 = p1 ? fl_prior_content(p1, &pl1) : NULL;
	ok(p1 && b1 && fl_prior_info(p1)->source_seq == 1 && fl_prior_info(p1)->made_ns == fl_le64_get((uint8_t *)b1 + 80) &&
		   exp && pl1 == el && !memcmp(pc1, exp, el),
	   "%s: source_seq 1, made_ns segment 1's ts_max, content segment 1's dictionaries (10.3)", name);
	free(exp);
	free(b1);
	const struct fl_prior *const *list = NULL;
	size_t n = 0;
	ok(!fl_store_priors(st, &list, &n) && n == 1 && p1 &&
		   !memcmp(fl_prior_info(list[0])->hash, fl_prior_info(p1)->hash, FL_HASH_LEN),
	   "fl_store_priors: that one");

	ok(!append(st, w, &ch[1], &seq) && seq == 2 && seg_names(st, 2, p1), "segment 2 names prior 1");
	prior_file(name, 2);
	ok(fl_store_renew_prior(st, w, 2) == 0 && file_len(dir, name) < 0,
	   "renew after segment 2: 0 (prior 1 not a day old), no %s", name);
	fl_store_use_priors(st, 1);
	ok(fl_store_renew_prior(st, w, 2) == 1 && file_len(dir, name) > 0,
	   "with renew_ns 1 (events' times advance): 1, %s written", name);
	struct fl_prior *p2 = load_prior(dir, 2);
	fl_store_use_priors(st, 0);
	ok(!append(st, w, &ch[2], &seq) && seq == 3 && seg_names(st, 3, p2), "segment 3 names prior 2");
	ok(fl_store_renew_prior(st, w, 3) == 0, "renew after segment 3: 0");
	char why[256] = "";
	ok(!store_check(st, 2, &ch[1], FL_COL_ALL, why, sizeof(why)) &&
		   !store_check(st, 3, &ch[2], FL_COL_ALL, why, sizeof(why)),
	   "the same handle reads segments 2 and 3 (fl_store_segment_open sees the prior it just made) %s", why);
	struct fl_verify_result res;
	ok(!fl_store_verify(st, &res) && res.checked == 3 && res.problem == FL_VERIFY_OK, "verify: OK, checked %llu %s",
	   (unsigned long long)res.checked, res.msg);
	size_t ne;
	fl_store_entries(st, &ne);
	uint64_t sbytes, pbytes;
	size_t np, cnt = 99;
	bool dot;
	dir_bytes(dir, &sbytes, &pbytes, &np, &dot);
	uint64_t spb = fl_store_prior_bytes(st, &cnt);
	ok(ne == 3 && np == 2 && cnt == 2 && spb == pbytes && fl_store_bytes(st) == sbytes + pbytes && !dot,
	   "3 entries; fl_store_prior_bytes %llu in %zu files; fl_store_bytes %llu = segments + priors; no tmp file",
	   (unsigned long long)spb, cnt, (unsigned long long)fl_store_bytes(st));
	fl_writer_free(w);
	fl_store_close(st);

	/* reopened: readers get the priors */
	st = NULL;
	fl_store_open(dir, &st);
	cnt = 0;
	fl_store_prior_bytes(st, &cnt);
	ok(cnt == 2, "reopened: 2 priors found");
	int bad = 0;
	for (uint64_t s = 1; s <= 3 && !bad; s++)
		bad = store_check(st, s, &ch[s - 1], FL_COL_ALL, why, sizeof(why)) ||
		      store_check(st, s, &ch[s - 1], FL_COL_PATHS, why, sizeof(why)) ||
		      store_check(st, s, &ch[s - 1], FL_COL_SCAN, why, sizeof(why));
	ok(!bad, "fl_store_segment_open: every segment reads exactly (3 column sets) %s", why);
	void *b2 = NULL;
	size_t l2 = 0;
	struct fl_segment *sg = NULL;
	struct fl_error e;
	fl_store_read(st, 2, &b2, &l2);
	ok(b2 && fl_segment_open(b2, l2, &sg, &e) == -ENOENT, "segment 2 alone (fl_segment_open): -ENOENT");
	/* a lone segment file's priors are the ones beside it */
	struct fl_store *bs = NULL;
	char sp[600];
	snprintf(sp, sizeof(sp), "%s/seg-000000000002.frl", dir);
	ok(b2 && !fl_store_open_beside(sp, &bs) && !check_decode(bs, b2, l2, &ch[1], FL_COL_ALL, 0, NULL, 0, why, sizeof(why)),
	   "fl_store_open_beside(segment 2's file): it reads with the priors beside it %s", why);
	fl_store_close(bs);
	snprintf(sp, sizeof(sp), "%s/no-such-dir/seg-000000000002.frl", dir);
	bs = NULL;
	ok(fl_store_open_beside(sp, &bs) == -ENOENT && !bs, "fl_store_open_beside in a missing directory: -ENOENT");
	free(b2);
	fl_store_use_priors(st, 0);
	fl_writer_new(NULL, &w);
	ok(!append(st, w, &ch[3], &seq) && seq == 4 && seg_names(st, 4, p2),
	   "after reopening, segment 4 takes the newest prior (2)");
	ok(!fl_store_verify(st, &res) && res.checked == 4, "verify: checked 4 %s", res.msg);
	fl_writer_free(w);
	fl_store_close(st);

	/* a store handle without use_priors writes without */
	char d2[300];
	snprintf(d2, sizeof(d2), "%s/main-nouse", root);
	cp_a(dir, d2);
	fl_store_open(d2, &st);
	fl_writer_new(NULL, &w);
	ok(!append(st, w, &ch[0], &seq) && seq == 5 && seg_prior(st, 5, h) == 0 && fl_store_renew_prior(st, w, 5) == 0,
	   "without fl_store_use_priors: segment 5 has no prior, renew 0");
	ok(!fl_store_verify(st, &res) && res.checked == 5, "... and the store verifies (%s)", res.msg);
	fl_writer_free(w);
	fl_store_close(st);

	/* prior 1 deleted */
	snprintf(d2, sizeof(d2), "%s/main-noprior", root);
	cp_a(dir, d2);
	prior_file(name, 1);
	char pth[600];
	snprintf(pth, sizeof(pth), "%s/%s", d2, name);
	unlink(pth);
	r = verify_dir(d2, &res);
	ok(r == -EBADMSG && res.problem == FL_VERIFY_NO_PRIOR && res.seq == 2 && !strcmp(res.name, "seg-000000000002.frl") &&
		   p1 && has(res.msg, fl_hash_short(fl_prior_info(p1)->hash, hex)) && res.checked == 1,
	   "prior 1 deleted: verify names seg-000000000002.frl: '%s'", res.msg);
	fl_store_open(d2, &st);
	ok(!store_check(st, 3, &ch[2], FL_COL_ALL, why, sizeof(why)), "... segment 3 still reads %s", why);
	fl_store_read(st, 2, &b2, &l2);
	sg = NULL;
	ok(fl_store_segment_open(st, b2, l2, NULL, &sg, &e) == -ENOENT && has(e.msg, "needs prior"),
	   "... segment 2 through the store: -ENOENT '%s'", e.msg);
	free(b2);
	fl_store_close(st);

	/* prior 2 damaged */
	snprintf(d2, sizeof(d2), "%s/main-badprior", root);
	cp_a(dir, d2);
	prior_file(name, 2);
	flip_file(d2, name, file_len(d2, name) / 2);
	r = verify_dir(d2, &res);
	ok(r == -EBADMSG && res.problem == FL_VERIFY_CORRUPT && !strcmp(res.name, name) && !strcmp(res.err.block, "prior"),
	   "prior 2 damaged: verify names %s: '%s'", res.name, res.msg);
	fl_store_open(d2, &st);
	list = NULL;
	ok(!fl_store_priors(st, &list, &n) && n == 1 && p1 &&
		   !memcmp(fl_prior_info(list[0])->hash, fl_prior_info(p1)->hash, FL_HASH_LEN),
	   "... fl_store_priors leaves it out");
	fl_store_use_priors(st, 0);
	fl_writer_new(NULL, &w);
	ok(!append(st, w, &ch[0], &seq) && seg_names(st, seq, p1),
	   "... the newest prior that reads (1) is the one a new segment takes");
	fl_writer_free(w);
	fl_store_close(st);

	/* a damaged prior no segment needs is still damage */
	snprintf(d2, sizeof(d2), "%s/main-unneeded", root);
	cp_a(dir, d2);
	fl_store_open(d2, &st);
	fl_store_use_priors(st, 1);
	fl_writer_new(NULL, &w);
	ok(!append(st, w, &ch[3], &seq) && seq == 5 && fl_store_renew_prior(st, w, 5) == 1, "prior 5, unreferenced");
	fl_writer_free(w);
	fl_store_close(st);
	prior_file(name, 5);
	flip_file(d2, name, 30);
	r = verify_dir(d2, &res);
	ok(r == -EBADMSG && res.problem == FL_VERIFY_CORRUPT && !strcmp(res.name, name),
	   "... damaged: verify names it although no segment needs it: '%s'", res.msg);

	/* one flipped byte in segment 2's prior hash is a corrupt segment
	 * (the header checksum), not a deleted prior file */
	snprintf(d2, sizeof(d2), "%s/main-seghash", root);
	cp_a(dir, d2);
	flip_file(d2, "seg-000000000002.frl", 140);
	r = verify_dir(d2, &res);
	ok(r == -EBADMSG && res.seq == 2 && res.problem == FL_VERIFY_CORRUPT,
	   "a flip in segment 2's prior hash: verify says corrupt (bad checksum), problem %d '%s'",
	   res.problem, res.msg);

	fl_prior_free(p1);
	fl_prior_free(p2);
	gen_free(&g);
}

/* Renewal at exactly FL_PRIOR_RENEW_NS, and when nothing is made. */
static void test_renew(void)
{
	char dir[256], name[32];
	snprintf(dir, sizeof(dir), "%s/renew", root);
	struct fl_store *st;
	fl_store_open(dir, &st);
	fl_store_use_priors(st, 0);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	const uint64_t t0 = 1700000000000000000ull;
	uint64_t ts[] = {t0, t0 + FL_PRIOR_RENEW_NS - 1, t0 + FL_PRIOR_RENEW_NS, t0 + 1, t0 + 3 * FL_PRIOR_RENEW_NS};
	int want[] = {1, 0, 1, 0, 0};
	int bad = 0;
	char why[128] = "";
	for (int i = 0; i < 5; i++) {
		struct fr_event e = {.ts_ns = ts[i], .kind = FR_EV_OPEN, .pid = 9, .host = "h1", .comm = "daemon",
				     .exe = "/usr/sbin/daemon", .path = "/etc/daemon.conf"};
		uint64_t seq = 0;
		if (i == 4) { /* the writer's content already taken: nothing to make a prior of */
			fl_writer_add(w, &e);
			fl_store_append(st, w, &seq);
			void *c;
			size_t cl;
			if (!fl_writer_prior_content(w, &c, &cl))
				free(c);
		} else {
			fl_writer_add(w, &e);
			fl_store_append(st, w, &seq);
		}
		int r = fl_store_renew_prior(st, w, seq);
		prior_file(name, seq);
		if (r != want[i] || (file_len(dir, name) >= 0) != (want[i] == 1))
			if (!bad++)
				snprintf(why, sizeof(why), "segment %llu: %d", (unsigned long long)seq, r);
	}
	ok(!bad, "renew: first segment 1; a day minus 1 ns later 0; exactly a day 1; earlier than the prior 0; "
		 "nothing to make one of 0 %s", why);
	struct fl_prior *p3 = load_prior(dir, 3);
	ok(p3 && fl_prior_info(p3)->made_ns == t0 + FL_PRIOR_RENEW_NS && fl_prior_info(p3)->source_seq == 3,
	   "prior 3: made_ns its segment's ts_max, source_seq 3");
	fl_prior_free(p3);
	fl_writer_free(w);
	fl_store_close(st);
}

static void test_store_no_priors(void)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/plain", root);
	struct gen g = {.rng = 41};
	gen_nginx(&g, 1000);
	struct fl_store *st;
	fl_store_open(dir, &st);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	uint64_t s1 = 0, s2 = 0;
	struct gen a = view(&g, 0, 500), b = view(&g, 500, 1000);
	uint8_t h[FL_HASH_LEN];
	int r1 = append(st, w, &a, &s1), n1 = fl_store_renew_prior(st, w, s1);
	int r2 = append(st, w, &b, &s2), n2 = fl_store_renew_prior(st, w, s2);
	uint64_t sb, pb;
	size_t np, cnt = 9;
	bool dot;
	dir_bytes(dir, &sb, &pb, &np, &dot);
	ok(!r1 && !r2 && !n1 && !n2 && np == 0 && fl_store_prior_bytes(st, &cnt) == 0 && cnt == 0 &&
		   seg_prior(st, 1, h) == 0 && seg_prior(st, 2, h) == 0,
	   "store without fl_store_use_priors: renew 0, no prior files, segments without the flag");
	fl_writer_free(w);
	fl_store_close(st);
	gen_free(&g);
}

static void test_store_cap(void)
{
	char dir[256], name[32];
	snprintf(dir, sizeof(dir), "%s/cap", root);
	struct gen g = {.rng = 51};
	gen_nginx(&g, 3000);
	struct gen ch[5];
	for (int i = 0; i < 5; i++)
		ch[i] = view(&g, (size_t)i * 600, (size_t)(i + 1) * 600);
	struct fl_store *st;
	fl_store_open(dir, &st);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	uint64_t seq;
	/* 1 (none) -> p1; 2 (p1) -> p2; 3 (p2); 4 (p2) -> p4 (unreferenced) */
	fl_store_use_priors(st, 1);
	int ok1 = !append(st, w, &ch[0], &seq) && fl_store_renew_prior(st, w, 1) == 1;
	ok1 = ok1 && !append(st, w, &ch[1], &seq) && fl_store_renew_prior(st, w, 2) == 1;
	fl_store_use_priors(st, 0);
	ok1 = ok1 && !append(st, w, &ch[2], &seq) && !append(st, w, &ch[3], &seq);
	fl_store_use_priors(st, 1);
	ok1 = ok1 && fl_store_renew_prior(st, w, 4) == 1;
	struct fl_prior *p1 = load_prior(dir, 1), *p2 = load_prior(dir, 2), *p4 = load_prior(dir, 4);
	ok(ok1 && seg_names(st, 2, p1) && seg_names(st, 3, p2) && seg_names(st, 4, p2) && p4,
	   "cap store: segments 1..4 (2 names prior 1, 3 and 4 prior 2), priors 1, 2, 4");
	fl_writer_free(w);
	fl_store_close(st);
	char d2[300];
	snprintf(d2, sizeof(d2), "%s/cap-unreadable", root);
	cp_a(dir, d2);

	fl_store_open(dir, &st);
	fl_store_use_priors(st, 0);
	size_t n;
	const struct fl_store_entry *e = fl_store_entries(st, &n);
	struct fl_drop d;
	uint64_t s1 = e[0].size, s2 = e[1].size;
	ok(!fl_store_enforce_cap(st, fl_store_bytes(st) - s1, &d) && d.segments == 1 && d.events == 600 &&
		   d.ts_min == ch[0].ev[0].ts_ns && d.ts_max == ch[0].ev[599].ts_ns,
	   "cap drops segment 1 (its summary read: %llu events)", (unsigned long long)d.events);
	size_t cnt = 0;
	fl_store_prior_bytes(st, &cnt);
	prior_file(name, 1);
	ok(cnt == 3 && file_len(dir, name) > 0, "... prior 1 kept: segment 2 still names it");
	ok(!fl_store_enforce_cap(st, fl_store_bytes(st) - s2, &d) && d.segments == 1 && d.events == 600,
	   "cap drops segment 2 (a PRIOR segment: its summary read with prior 1)");
	uint64_t sb, pb;
	size_t np;
	bool dot;
	dir_bytes(dir, &sb, &pb, &np, &dot);
	char n2[32], n4[32];
	prior_file(n2, 2);
	prior_file(n4, 4);
	cnt = 0;
	uint64_t spb = fl_store_prior_bytes(st, &cnt);
	ok(file_len(dir, name) < 0 && file_len(dir, n2) > 0 && file_len(dir, n4) > 0 && cnt == 2 && np == 2 &&
		   spb == pb && fl_store_bytes(st) == sb + pb,
	   "... prior 1 deleted (no kept segment needs it), 2 kept (3 and 4 name it), 4 kept (newest, unreferenced); "
	   "bytes %llu",
	   (unsigned long long)fl_store_bytes(st));
	struct fl_verify_result res;
	ok(!fl_store_verify(st, &res) && res.checked == 2, "... verify OK, checked 2 %s", res.msg);
	ok(!fl_store_enforce_cap(st, 1, &d) && d.segments == 1 && file_len(dir, n2) > 0 && file_len(dir, n4) > 0,
	   "cap to 1 byte drops segment 3; prior 2 kept (segment 4 names it)");
	fl_writer_new(NULL, &w);
	ok(!append(st, w, &ch[4], &seq) && seq == 5 && seg_names(st, 5, p4), "segment 5 takes prior 4");
	fl_writer_free(w);
	ok(!fl_store_enforce_cap(st, 1, &d) && d.segments == 1 && file_len(dir, n2) < 0 && file_len(dir, n4) > 0 &&
		   fl_store_prior_bytes(st, &cnt) == (uint64_t)file_len(dir, n4) && cnt == 1,
	   "cap drops segment 4: prior 2 deleted, prior 4 kept");
	ok(!fl_store_verify(st, &res) && res.checked == 1, "verify OK, checked 1 %s", res.msg);
	fl_store_close(st);

	/* a kept segment whose header cannot be read names every prior */
	flip_file(d2, "seg-000000000003.frl", 0);
	fl_store_open(d2, &st);
	e = fl_store_entries(st, &n);
	s1 = e[0].size, s2 = e[1].size;
	ok(!fl_store_enforce_cap(st, fl_store_bytes(st) - s1 - s2, &d) && d.segments == 2 && file_len(d2, name) > 0,
	   "segment 3's header unreadable: cap drops 1 and 2 but keeps prior 1");
	fl_store_close(st);

	/* the newest prior is the newest that reads (10.4): with the newest
	 * file damaged, the trim keeps the one before it */
	snprintf(d2, sizeof(d2), "%s/cap-newest-bad", root);
	fl_store_open(d2, &st);
	fl_store_use_priors(st, 1);
	fl_writer_new(NULL, &w);
	ok1 = 1;
	for (int i = 0; i < 4; i++) /* 1 -> p1, 2 (p1) -> p2, 3 (p2) -> p3, 4 (p3) */
		ok1 = ok1 && !append(st, w, &ch[i], &seq) && (i == 3 || fl_store_renew_prior(st, w, seq) == 1);
	fl_writer_free(w);
	fl_store_close(st);
	prior_file(name, 3);
	flip_file(d2, name, 40);
	prior_file(n2, 2);
	fl_store_open(d2, &st);
	ok(ok1 && !fl_store_enforce_cap(st, 1, &d) && d.segments == 3, "newest prior (3) damaged; cap keeps segment 4 only");
	ok(file_len(d2, n2) > 0, "prior 2, the newest that reads, is kept");
	fl_store_close(st);

	fl_prior_free(p1);
	fl_prior_free(p2);
	fl_prior_free(p4);
	gen_free(&g);
}

/* ------------------------------------------------------ 7. journal */

static void test_journal(void)
{
	char dir[256], jp[4200];
	snprintf(dir, sizeof(dir), "%s/journal", root);
	struct gen g = {.rng = 61};
	gen_build(&g, 1500);
	struct gen a = view(&g, 0, 500), b = view(&g, 500, 1000), c = view(&g, 1000, 1500);
	struct fl_store *st;
	fl_store_open(dir, &st);
	fl_store_use_priors(st, 0);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	uint64_t seq = 0;
	ok(!append(st, w, &a, &seq) && fl_store_renew_prior(st, w, 1) == 1, "journal store: segment 1, prior 1");
	fl_writer_free(w);
	struct fl_prior *p1 = load_prior(dir, 1);
	fl_store_journal_path(st, jp, sizeof(jp));
	struct fl_journal *j = NULL;
	int r = fl_journal_create_seq(jp, 2, &j);
	for (size_t i = 0; !r && i < b.n; i += 100)
		r = fl_journal_append(j, b.ev + i, 100);
	fl_journal_close(j);
	struct fl_journal_recovery rec;
	uint64_t got = 0;
	ok(!r && !fl_store_recover_journal(st, &rec, &got) && got == 2 && rec.events == 500 && seg_names(st, 2, p1),
	   "recovered journal: segment 2, written against the newest prior (1)");
	char why[256] = "";
	ok(!store_check(st, 2, &b, FL_COL_ALL, why, sizeof(why)), "... it reads back exactly %s", why);
	struct fl_verify_result res;
	ok(!fl_store_verify(st, &res) && res.checked == 2, "... verify OK %s", res.msg);
	fl_store_close(st);
	/* without use_priors, recovery writes without a prior */
	fl_store_open(dir, &st);
	r = fl_journal_create_seq(jp, 3, &j);
	if (!r)
		r = fl_journal_append(j, c.ev, c.n);
	fl_journal_close(j);
	uint8_t h[FL_HASH_LEN];
	ok(!r && !fl_store_recover_journal(st, &rec, &got) && got == 3 && seg_prior(st, 3, h) == 0 &&
		   !store_check(st, 3, &c, FL_COL_ALL, why, sizeof(why)),
	   "recovery on a store without fl_store_use_priors: no prior %s", why);
	fl_store_close(st);
	fl_prior_free(p1);
	gen_free(&g);
}

/* FORMAT.md 3's match-all filter for a paths dictionary in the pack: it
 * is compressed alone (against the prior) for the comparison with the
 * filter. A host's few paths, all in its prior, compress to less than
 * their filter: the segment drops the filter and a reader falls back to
 * the dictionary; random paths without a prior keep it. */
static void test_packed_paths_filter(void)
{
	struct gen g = {.rng = 77};
	for (int i = 0; i < 120; i++) {
		struct fr_event *e = gen_push(&g);
		gen_ctx(e, 300 + (uint32_t)(i % 3), 1, "cron", "/usr/sbin/cron", 1700000000000000000ull);
		e->ts_ns = 1700000000000000000ull + 1000000000ull * (uint64_t)i;
		e->kind = FR_EV_OPEN;
		char p[64];
		snprintf(p, sizeof(p), "/etc/cron.d/job-%02d-%08x", i % 40, (unsigned)(gen_rand(&g) % 9 ? 7 * (i % 40) : i));
		e->path = gen_strdup(&g, p);
	}
	size_t alen, blen, clen;
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	uint8_t *a = write_seg(w, &g, NULL, 1, &alen);
	void *content = NULL;
	size_t n = 0;
	struct fl_prior *p = NULL;
	int r = a ? fl_writer_prior_content(w, &content, &n) : -1;
	if (!r)
		r = fl_prior_new(content, n, 1, 0, &p);
	fl_writer_free(w);
	uint8_t *b = p ? encode_with(&g, 0, p, &blen) : NULL;
	uint8_t *c = encode_with(&g, 0, NULL, &clen);
	const struct fl_prior *const list[1] = {p};
	struct fl_read_opts o = {.columns = FL_COL_NONE, .priors = list, .n_priors = 1};
	struct fl_segment *sb = NULL, *sc = NULL, *sd = NULL;
	ok(b && c && !fl_segment_open_ex(b, blen, &o, &sb, NULL) && !fl_segment_open_ex(c, clen, &o, &sc, NULL),
	   "packed paths: the same events against their own prior and without (%zu and %zu bytes)", blen, clen);
	ok(sb && fl_segment_path_filter_matches_all(sb) && fl_segment_may_contain_path(sb, "/nowhere"),
	   "against the prior: the match-all filter");
	ok(sc && !fl_segment_path_filter_matches_all(sc) && !fl_segment_may_contain_path(sc, "/nowhere") &&
		   fl_segment_may_contain_path(sc, g.ev[5].path),
	   "without: a real filter (no to an absent path, maybe to a present one)");
	o.columns = FL_COL_PATHS;
	int miss = 0;
	if (b && !fl_segment_open_ex(b, blen, &o, &sd, NULL))
		for (size_t i = 0; i < g.n; i++)
			miss += !fl_segment_may_contain_path(sd, g.ev[i].path);
	ok(sd && miss == 0 && !fl_segment_may_contain_path(sd, "/nowhere"),
	   "with the dictionary read: exact answers (%d present paths missed)", miss);
	fl_segment_free(sb);
	fl_segment_free(sc);
	fl_segment_free(sd);
	fl_prior_free(p);
	free(content);
	free(a);
	free(b);
	free(c);
	gen_free(&g);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/fl-prior-test-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	test_prior_objects();
	test_prior_file();
	test_prior_damage();
	test_segments();
	test_hand_built_segment();
	test_writer_content();
	test_segment_damage();
	test_store();
	test_renew();
	test_store_no_priors();
	test_store_cap();
	test_journal();
	test_packed_paths_filter();
	rm_rf(root);
	return tap_done();
}
