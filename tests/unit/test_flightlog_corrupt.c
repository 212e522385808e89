/* test_flightlog_corrupt.c - every corruption of a segment gets a clean error.
 *
 * Why: segments are read back after crashes, disk errors and tampering; the
 * reader must never crash, hang or over-allocate, and must say which block
 * is bad and where. Flips bytes in every block, truncates at every offset,
 * rewrites header fields (with a fixed-up header CRC, so deeper checks run)
 * and runs under ASan in `make SAN=1`. */
#include <errno.h>
#include <stdlib.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

static void *make_segment_opts(uint64_t seed, size_t n, size_t *len, uint32_t flags)
{
	struct gen g = {.rng = seed};
	if (seed & 1)
		gen_build(&g, n);
	else
		gen_random_stream(&g, n, 0);
	struct fl_writer *w;
	struct fl_writer_opts o = {.flags = flags};
	fl_writer_new(&o, &w);
	for (size_t i = 0; i < g.n; i++)
		fl_writer_add(w, &g.ev[i]);
	void *buf;
	fl_writer_finish(w, NULL, 1, &buf, len);
	fl_writer_free(w);
	gen_free(&g);
	return buf;
}

static void *make_segment(uint64_t seed, size_t n, size_t *len)
{
	return make_segment_opts(seed, n, len, 0);
}


/* Flip a byte at the start, middle and end of every block of a segment
 * written with writer flags `flags`: each must be "bad checksum" at the
 * block's offset, naming it. Returns the number of flips (0: a failure,
 * already reported). */
static void flip_each_block(uint32_t flags, const char *what, int min_flips)
{
	size_t len;
	uint8_t *seg = make_segment_opts(1, 3000, &len, flags);
	uint8_t *b = malloc(len);
	uint32_t nb = fl_le32_get(seg + 88);
	int all_named = 1, all_failed = 1, tested = 0;
	for (uint32_t i = 0; i < nb; i++) {
		const uint8_t *d = seg + 128 + i * 40;
		uint64_t off = fl_le64_get(d + 8), sz = fl_le64_get(d + 16);
		/* flip a byte at the start, middle and end of the block */
		uint64_t at[3] = {off, off + sz / 2, off + sz - 1};
		for (int k = 0; k < 3; k++) {
			memcpy(b, seg, len);
			b[at[k]] ^= 0x40;
			struct fl_error e;
			int r = gen_decode_all(b, len, &e);
			tested++;
			if (r >= 0)
				all_failed = 0;
			if (e.offset != off || strcmp(e.msg, "bad checksum") || !e.block[0] ||
			    !strcmp(e.block, "unknown")) {
				if (all_named) /* the first one, for the log */
					printf("# block %u (type %u): offset %llu vs %llu, '%s' in '%s'\n", i,
					       fl_le32_get(d), (unsigned long long)e.offset, (unsigned long long)off,
					       e.msg, e.block);
				all_named = 0;
			}
		}
	}
	ok(all_failed && tested >= min_flips, "%s: a flipped byte in any of %u blocks is detected (%d flips)", what,
	   nb, tested);
	ok(all_named, "... reported as 'bad checksum' at the block's offset with its name");
	free(b);
	free(seg);
}

/* The error message names the block: a separate `paths` block, or the
 * pack holding it. */
static void flipped_block_message(uint32_t flags, uint32_t type, const char *want)
{
	size_t len;
	uint8_t *b = make_segment_opts(1, 3000, &len, flags);
	uint32_t nb = fl_le32_get(b + 88);
	int found = 0;
	for (uint32_t i = 0; i < nb; i++) {
		const uint8_t *d = b + 128 + i * 40;
		if (fl_le32_get(d) == type) {
			b[fl_le64_get(d + 8)] ^= 1;
			found++;
		}
	}
	struct fl_error e;
	char msg[200];
	gen_decode_all(b, len, &e);
	fl_error_format(&e, msg, sizeof(msg));
	ok(found == 1 && strstr(msg, want) != NULL, "message: %s", msg);
	free(b);
}

static void test_flip_each_block(void)
{
	flip_each_block(FL_WRITER_NO_PACK, "unpacked", 30);
	flip_each_block(0, "packed", 9);
	/* a low threshold: more blocks outside the pack */
	flipped_block_message(FL_WRITER_NO_PACK, 18, "bad checksum in block 'paths'");
	flipped_block_message(0, 2, "bad checksum in block 'pack'");
	size_t len;
	uint8_t *seg = make_segment(1, 3000, &len);
	uint8_t *b = malloc(len);
	struct fl_error e;
	/* header and table */
	memcpy(b, seg, len);
	b[70] ^= 1;
	ok(gen_decode_all(b, len, &e) == -EBADMSG && !strcmp(e.block, "header"), "flipped header byte");
	memcpy(b, seg, len);
	b[128 + 5] ^= 1;
	ok(gen_decode_all(b, len, &e) == -EBADMSG && !strcmp(e.block, "block-table"), "flipped table byte");
	free(b);
	free(seg);
}

static void truncate_and_flip_everywhere(uint32_t flags, const char *what)
{
	size_t len;
	uint8_t *seg = make_segment_opts(5, 300, &len, flags);
	uint8_t *b = malloc(len);
	int bad = 0;
	for (size_t cut = 0; cut < len; cut++) {
		struct fl_error e;
		memcpy(b, seg, cut);
		if (gen_decode_all(b, cut, &e) >= 0 || !e.block[0])
			bad++;
	}
	ok(!bad, "%s: truncation at each of %zu offsets is an error (%d not)", what, len, bad);
	bad = 0;
	for (size_t i = 0; i < len; i++) {
		struct fl_error e;
		memcpy(b, seg, len);
		b[i] ^= (uint8_t)(1u << (i % 8));
		if (gen_decode_all(b, len, &e) >= 0)
			bad++;
	}
	ok(!bad, "%s: a single bit flip at each of %zu offsets is an error (%d not)", what, len, bad);
	struct fl_error e;
	ok(gen_decode_all(seg, len, &e) == 0, "the original still decodes");
	free(b);
	free(seg);
}

static void test_truncate_and_flip_everywhere(void)
{
	truncate_and_flip_everywhere(FL_WRITER_NO_PACK, "unpacked");
	truncate_and_flip_everywhere(0, "packed");
	truncate_and_flip_everywhere(FL_WRITER_RAW, "packed, stored raw");
}

/* Corruptions that keep the checksums valid: the structural checks must
 * catch them (or the result must at least be a clean decode). */
static void test_structural(void)
{
	size_t len;
	/* unpacked: more than 5 blocks, so that entry 5 below is a block */
	uint8_t *seg = make_segment_opts(3, 500, &len, FL_WRITER_NO_PACK);
	uint8_t *b = malloc(len + 64);
	struct fl_error e;
	int r;

	memcpy(b, seg, len);
	fl_le32_put(b + 8, 2);
	seg_fix_header_crc(b);
	r = gen_decode_all(b, len, &e);
	ok(r == -EOPNOTSUPP && strstr(e.msg, "version"), "future version refused: %s", e.msg);

	memcpy(b, seg, len);
	fl_le32_put(b + 20, fl_le32_get(seg + 20) | 0x80000000u); /* not a defined bit */
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == -EOPNOTSUPP, "unknown incompatible flag refused");


	memcpy(b, seg, len);
	fl_le32_put(b + 16, 0x80000000u);
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == 0, "unknown compatible flag ignored");

	memcpy(b, seg, len);
	fl_le64_put(b + 64, fl_le64_get(seg + 64) + 1);
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == -EBADMSG, "event count edited: %s", e.msg);

	memcpy(b, seg, len);
	fl_le64_put(b + 64, UINT64_MAX);
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == -EBADMSG, "huge event count: %s", e.msg);

	memcpy(b, seg, len);
	fl_le32_put(b + 88, 100000);
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == -EBADMSG, "huge block count: %s", e.msg);

	memcpy(b, seg, len);
	fl_le32_put(b + 12, 100000);
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == -EBADMSG, "huge header size: %s", e.msg);

	/* a block descriptor claiming a huge raw size, table CRC fixed */
	memcpy(b, seg, len);
	uint32_t nb = fl_le32_get(b + 88);
	fl_le64_put(b + 128 + 40 * 5 + 24, 1ull << 40);
	fl_le32_put(b + 112, fl_crc32c(0, b + 128, nb * 40));
	seg_fix_header_crc(b);
	r = gen_decode_all(b, len, &e);
	ok(r == -EFBIG || r == -EBADMSG, "huge declared raw size refused: %s", e.msg);

	memcpy(b, seg, len);
	fl_le64_put(b + 128 + 40 * 5 + 8, len - 2);
	fl_le32_put(b + 112, fl_crc32c(0, b + 128, nb * 40));
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == -EBADMSG, "block outside the file: %s", e.msg);

	/* trailing garbage */
	memcpy(b, seg, len);
	memset(b + len, 0, 64);
	ok(gen_decode_all(b, len + 64, &e) == -EBADMSG, "trailing bytes: %s", e.msg);
	free(b);
	free(seg);
}

/* Valid-checksum but mutated stream contents: re-encode a block with fixed
 * CRCs after mutating its raw bytes. Errors must be clean. */
/* The ts block's unit must be a power of 1000 up to 1 s. */
static void test_bad_ts_unit(void)
{
	size_t len;
	uint8_t *b = make_segment_opts(3, 100, &len, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	uint32_t nb = fl_le32_get(b + 88);
	int found = 0;
	for (uint32_t i = 0; i < nb; i++) {
		uint8_t *d = b + 128 + i * 40;
		if (fl_le32_get(d) != 33) /* ts */
			continue;
		uint64_t off = fl_le64_get(d + 8), sz = fl_le64_get(d + 16);
		found = sz > 1 && b[off] < 0x80; /* a one-byte varint unit */
		b[off] = 7;
		fl_le32_put(d + 32, fl_crc32c(0, b + off, sz));
	}
	fl_le32_put(b + 112, fl_crc32c(0, b + 128, nb * 40));
	seg_fix_header_crc(b);
	struct fl_error e;
	int r = gen_decode_all(b, len, &e);
	ok(found && r == -EBADMSG && !strcmp(e.block, "ts") && strstr(e.msg, "unit"),
	   "a ts unit of 7 ns is refused: %s", e.msg);
	free(b);
}

/* FL_READ_FAST checks only what it decodes: damage in a block it skips
 * goes unnoticed (fl_segment_open, and so `verify`, still catches it), and
 * damage in a block it decodes is an error as before. */
static void test_fast_read(void)
{
	size_t len;
	uint8_t *seg = make_segment_opts(1, 400, &len, FL_WRITER_NO_PACK);
	uint32_t nb = fl_le32_get(seg + 88);
	int skipped_ok = 0, loaded_bad = 0, full_bad = 0, tried = 0;
	for (uint32_t i = 0; i < nb; i++) {
		uint8_t *d = seg + 128 + i * 40;
		uint32_t type = fl_le32_get(d);
		uint64_t off = fl_le64_get(d + 8), sz = fl_le64_get(d + 16);
		bool argvs = type == 19, paths = type == 18;
		if ((!argvs && !paths) || !sz)
			continue;
		tried++;
		uint8_t *b = malloc(len);
		memcpy(b, seg, len);
		b[off + sz / 2] ^= 0x10;
		struct fl_segment *s = NULL;
		struct fl_error e = {0};
		struct fl_read_opts o = {.columns = FL_COL_PATHS, .flags = FL_READ_FAST};
		int r = fl_segment_open_ex(b, len, &o, &s, &e);
		if (argvs && r == 0)
			skipped_ok++;
		if (paths && r == -EBADMSG && strstr(e.msg, "checksum"))
			loaded_bad++;
		fl_segment_free(s);
		full_bad += gen_decode_all(b, len, &e) == -EBADMSG;
		free(b);
	}
	ok(tried == 2 && skipped_ok == 1 && loaded_bad == 1 && full_bad == 2,
	   "FL_READ_FAST: a damaged block it skips is not read, one it decodes is refused; a full open refuses both");
	free(seg);
}

static void mutated_streams(uint32_t flags, const char *what)
{
	size_t len;
	uint8_t *seg = make_segment_opts(4, 150, &len, FL_WRITER_RAW | flags);
	struct gen g = {.rng = 99};
	int crashed_or_ok = 0, errors = 0, total = 0;
	for (int it = 0; it < 2000; it++) {
		uint8_t *b = malloc(len);
		memcpy(b, seg, len);
		uint32_t nb = fl_le32_get(b + 88);
		uint32_t bi = (uint32_t)gen_below(&g, nb);
		uint8_t *d = b + 128 + bi * 40;
		if (fl_le32_get(d + 4) != FL_CODEC_RAW) {
			free(b);
			continue;
		}
		uint64_t off = fl_le64_get(d + 8), sz = fl_le64_get(d + 16);
		if (!sz) {
			free(b);
			continue;
		}
		b[off + gen_below(&g, sz)] = (uint8_t)gen_rand(&g);
		fl_le32_put(d + 32, fl_crc32c(0, b + off, sz));
		fl_le32_put(b + 112, fl_crc32c(0, b + 128, nb * 40));
		seg_fix_header_crc(b);
		struct fl_error e;
		int r = gen_decode_all(b, len, &e);
		total++;
		if (r < 0)
			errors++;
		else
			crashed_or_ok++;
		free(b);
	}
	gen_free(&g);
	ok(total > 1000, "%s: mutated raw blocks with fixed checksums: %d errors, %d still decodable, no crash",
	   what, errors, crashed_or_ok);
	free(seg);
}


/* ---- the pack (FORMAT.md 2.4), stored raw so that its sub-table and
 * members can be edited in place; checksums are fixed afterwards, so the
 * structural checks are what must catch each edit ---- */

struct rawpack {
	uint64_t entry;            /* file offset of the pack's table entry */
	uint64_t off, sz;          /* its stored bytes */
	size_t n;                  /* members */
	struct {
		uint32_t type, items;
		uint64_t len;
		uint64_t at_type, at_items, at_len; /* file offsets of the varints */
		uint64_t data;                      /* file offset of the bytes */
	} m[128];
};

static uint64_t rd_varint(const uint8_t *b, uint64_t *at)
{
	uint64_t v = 0;
	for (unsigned sh = 0;; sh += 7) {
		uint8_t c = b[(*at)++];
		v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80))
			return v;
	}
}

/* Find and parse the raw pack of b; 0 when there is none. */
static int find_pack(const uint8_t *b, struct rawpack *P)
{
	uint32_t nb = fl_le32_get(b + 88);
	memset(P, 0, sizeof(*P));
	for (uint32_t i = 0; i < nb; i++) {
		const uint8_t *d = b + 128 + i * 40;
		if (fl_le32_get(d) != 2 || fl_le32_get(d + 4) != FL_CODEC_RAW)
			continue;
		P->entry = 128 + i * 40;
		P->off = fl_le64_get(d + 8);
		P->sz = fl_le64_get(d + 16);
		uint64_t at = P->off;
		P->n = rd_varint(b, &at);
		if (P->n > 128)
			return 0;
		for (size_t k = 0; k < P->n; k++) {
			P->m[k].at_type = at;
			P->m[k].type = (uint32_t)rd_varint(b, &at);
			P->m[k].at_items = at;
			P->m[k].items = (uint32_t)rd_varint(b, &at);
			P->m[k].at_len = at;
			P->m[k].len = rd_varint(b, &at);
		}
		for (size_t k = 0; k < P->n; k++) {
			P->m[k].data = at;
			at += P->m[k].len;
		}
		return at == P->off + P->sz;
	}
	return 0;
}

/* Recompute every block CRC, the table CRC and the header CRC. */
static void fix_all_crcs(uint8_t *b)
{
	uint32_t nb = fl_le32_get(b + 88);
	for (uint32_t i = 0; i < nb; i++) {
		uint8_t *d = b + 128 + i * 40;
		fl_le32_put(d + 32, fl_crc32c(0, b + fl_le64_get(d + 8), fl_le64_get(d + 16)));
	}
	fl_le32_put(b + 112, fl_crc32c(0, b + 128, nb * 40));
	seg_fix_header_crc(b);
}

/* The member of type t, or -1. */
static int member_of(const struct rawpack *P, uint32_t t)
{
	for (size_t k = 0; k < P->n; k++)
		if (P->m[k].type == t)
			return (int)k;
	return -1;
}

static void test_pack_structure(void)
{
	size_t len;
	uint8_t *seg = make_segment_opts(3, 150, &len, FL_WRITER_RAW);
	uint8_t *b = malloc(len);
	struct rawpack P;
	struct fl_error e;
	int r;
	ok(find_pack(seg, &P) && P.n > 10, "a raw pack with %zu members, its sub-table consistent", P.n);
	ok(gen_decode_all(seg, len, &e) == 0, "... and it decodes");

	/* a pack in a segment without the PACKED flag is an unknown block:
	 * skipped, so its members are missing */
	memcpy(b, seg, len);
	ok(fl_le32_get(seg + 20) & 0x10, "the writer sets PACKED (0x10) when it writes a pack");
	fl_le32_put(b + 20, fl_le32_get(seg + 20) & ~0x10u);
	seg_fix_header_crc(b);
	ok(gen_decode_all(b, len, &e) == -EBADMSG, "pack without the PACKED flag: its members are missing: %s", e.msg);
	size_t last = P.n - 1;
	int paths = member_of(&P, 18), ts = member_of(&P, 33);
	ok(paths >= 0 && ts >= 0 && P.m[last].len < 127 && P.m[last].len > 0 && P.m[0].type < 128 &&
	   P.m[1].type < 128 && (uint8_t)P.n < 127 && (uint8_t)P.m[paths].items < 127,
	   "the members edited below have one-byte varints (paths: member %d, ts: %d)", paths, ts);

#define PACK_ERR(cond, ...) ok(r == -EBADMSG && e.offset == P.off && (cond), __VA_ARGS__)
	/* the last member one byte longer than the pack */
	memcpy(b, seg, len);
	b[P.m[last].at_len]++;
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	PACK_ERR(!strcmp(e.block, "pack") && strstr(e.msg, "past the end"), "member past the end: %s", e.msg);
	/* ... one byte shorter: a byte left over */
	memcpy(b, seg, len);
	b[P.m[last].at_len]--;
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	PACK_ERR(!strcmp(e.block, "pack") && strstr(e.msg, "after the last member"), "bytes after the members: %s",
		 e.msg);
	/* no members */
	memcpy(b, seg, len);
	b[P.off] = 0;
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	PACK_ERR(!strcmp(e.block, "pack") && strstr(e.msg, "member count"), "zero members: %s", e.msg);
	/* more members than the sub-table holds: member bytes read as entries */
	memcpy(b, seg, len);
	b[P.off] = (uint8_t)(P.n + 1);
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	PACK_ERR(e.block[0] && strcmp(e.block, "unknown"), "one member too many: %s in '%s'", e.msg, e.block);
	/* the summary, the sessions and a pack may not be members */
	static const uint8_t banned[] = {1, 39, 2};
	for (int k = 0; k < 3; k++) {
		memcpy(b, seg, len);
		b[P.m[0].at_type] = banned[k];
		fix_all_crcs(b);
		r = gen_decode_all(b, len, &e);
		PACK_ERR(!strcmp(e.block, "pack") && strstr(e.msg, "may not be packed"), "a type-%u member: %s",
			 banned[k], e.msg);
	}
	/* the same type twice */
	memcpy(b, seg, len);
	b[P.m[1].at_type] = (uint8_t)P.m[0].type;
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	ok(r == -EBADMSG && e.offset == P.entry && strstr(e.msg, "duplicate"), "a type twice in the pack: %s in '%s'",
	   e.msg, e.block);
	/* a member whose content is bad: the error names the member */
	memcpy(b, seg, len);
	b[P.m[paths].at_items]++;
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	PACK_ERR(!strcmp(e.block, "paths"), "paths member with one entry too many: %s in '%s'", e.msg, e.block);
	memcpy(b, seg, len);
	if (b[P.m[ts].data] < 0x80)
		b[P.m[ts].data] = 7; /* the ts unit varint */
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	PACK_ERR(!strcmp(e.block, "ts") && strstr(e.msg, "unit"), "a ts member's unit of 7 ns: %s", e.msg);
	/* a huge declared size for the pack */
	memcpy(b, seg, len);
	fl_le64_put(b + P.entry + 24, 1ull << 40);
	fix_all_crcs(b);
	r = gen_decode_all(b, len, &e);
	ok(r == -EFBIG || r == -EBADMSG, "huge declared pack size refused: %s", e.msg);
#undef PACK_ERR

	/* a byte flipped at the start, middle and end of every member (CRC
	 * fixed): a clean decode or an error naming a block, never a crash */
	int named = 1, errors = 0, flips = 0;
	for (size_t k = 0; k < P.n; k++) {
		uint64_t at[3] = {P.m[k].data, P.m[k].data + P.m[k].len / 2, P.m[k].data + P.m[k].len - 1};
		for (int j = 0; j < 3 && P.m[k].len; j++) {
			memcpy(b, seg, len);
			b[at[j]] ^= 0x21;
			fix_all_crcs(b);
			r = gen_decode_all(b, len, &e);
			flips++;
			if (r < 0) {
				errors++;
				if (!e.block[0] || !strcmp(e.block, "unknown"))
					named = 0;
			}
		}
	}
	ok(flips > 30 && errors > flips / 4 && named, "flipped member bytes: %d of %d flips are errors, each naming its block",
	   errors, flips);
	/* every truncation of the pack (the rest of the file moved up, offsets
	 * and sizes fixed): its sub-table no longer matches */
	int bad = 0, tried = 0;
	for (uint64_t cut = 1; cut <= P.sz; cut += 1 + P.sz / 200) {
		uint64_t keep = P.sz - cut;
		memcpy(b, seg, len);
		memmove(b + P.off + keep, seg + P.off + P.sz, len - (P.off + P.sz));
		size_t nlen = len - cut;
		uint32_t nb = fl_le32_get(b + 88);
		for (uint32_t i = 0; i < nb; i++) {
			uint8_t *d = b + 128 + i * 40;
			uint64_t o = fl_le64_get(d + 8);
			if (o > P.off)
				fl_le64_put(d + 8, o - cut);
		}
		fl_le64_put(b + P.entry + 16, keep);
		fl_le64_put(b + P.entry + 24, keep);
		fl_le64_put(b + 104, nlen);
		fix_all_crcs(b);
		r = gen_decode_all(b, nlen, &e);
		tried++;
		if (r != -EBADMSG || !e.block[0])
			bad++;
	}
	ok(tried > 50 && !bad, "the pack truncated at %d lengths (offsets fixed): all -EBADMSG (%d not)", tried, bad);
	free(b);
	free(seg);
}

/* FL_READ_FAST and the pack: a summary-only read never decodes it, so
 * damage there goes unnoticed; any read of events decodes it and checks
 * its CRC. */
static void test_fast_read_pack(void)
{
	size_t len;
	uint8_t *b = make_segment(1, 400, &len);
	uint32_t nb = fl_le32_get(b + 88);
	int found = 0;
	for (uint32_t i = 0; i < nb; i++) {
		uint8_t *d = b + 128 + i * 40;
		if (fl_le32_get(d) == 2) {
			b[fl_le64_get(d + 8) + fl_le64_get(d + 16) / 2] ^= 0x10;
			found++;
		}
	}
	struct fl_segment *s = NULL;
	struct fl_error e = {0};
	struct fl_read_opts o = {.columns = FL_COL_NONE, .flags = FL_READ_FAST};
	int r0 = fl_segment_open_ex(b, len, &o, &s, &e);
	fl_segment_free(s);
	s = NULL;
	o.columns = FL_COL_PATHS;
	int r1 = fl_segment_open_ex(b, len, &o, &s, &e);
	fl_segment_free(s);
	s = NULL;
	ok(found == 1 && r0 == 0 && r1 == -EBADMSG && !strcmp(e.block, "pack") && strstr(e.msg, "checksum"),
	   "FL_READ_FAST: a damaged pack passes a summary-only read, any other read refuses it");
	o.columns = FL_COL_NONE;
	o.flags = 0;
	ok(fl_segment_open_ex(b, len, &o, &s, &e) == -EBADMSG, "... a full summary-only open checks it");
	fl_segment_free(s);
	free(b);
}

static void test_mutated_streams(void)
{
	mutated_streams(FL_WRITER_NO_PACK, "unpacked");
	mutated_streams(0, "packed (sub-table and members)");
}

/* ---- front-coded paths dictionary (FORMAT.md 4.1) ---- */

static void put_varint(struct fl_bytes *b, uint64_t v)
{
	if (fl_put_varint(b, v))
		abort();
}

/* The layout of FORMAT.md 4.1 from per-entry shared-prefix lengths p[],
 * suffix lengths sl[] and the suffixes' bytes (each with its NUL). */
static void fc_block(struct fl_bytes *b, const uint64_t *p, const uint64_t *sl, size_t n, const void *sfx,
		     size_t sfxlen)
{
	b->len = 0;
	for (size_t i = 0; i < n; i++)
		put_varint(b, p[i]);
	for (size_t i = 0; i < n; i++)
		put_varint(b, sl[i]);
	if (fl_bytes_put(b, sfx, sfxlen))
		abort();
}

static void test_front_coded_paths(void)
{
	size_t len;
	uint8_t *seg = make_segment_opts(3, 500, &len, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_FRONT_ALWAYS);
	struct fl_error e;
	struct fl_segment *s;
	ok(!fl_segment_open(seg, len, &s, &e) && (fl_segment_info(s)->incompat_flags & 0x80),
	   "front coded: the writer sets FRONT_CODED (0x80)");
	size_t n;
	const uint32_t *lens;
	const char *const *d = fl_segment_dict(s, FL_DICT_PATHS, &lens, &n);
	/* the spec's encoding of those entries, independently of the writer */
	uint64_t *p = calloc(n + 1, sizeof(uint64_t)), *sl = calloc(n + 1, sizeof(uint64_t));
	struct fl_bytes sfx = {0}, blk = {0};
	for (size_t i = 0; i < n; i++) {
		while (i && p[i] < 255 && p[i] < lens[i] && p[i] < lens[i - 1] && d[i][p[i]] == d[i - 1][p[i]])
			p[i]++;
		sl[i] = lens[i] - p[i];
		fl_bytes_put(&sfx, d[i] + p[i], sl[i] + 1);
	}
	fc_block(&blk, p, sl, n, sfx.p, sfx.len);
	size_t wlen = 0;
	const uint8_t *wb = seg_block(seg, 18, &wlen, NULL);
	ok(n > 10 && wb && wlen == blk.len && !memcmp(wb, blk.p, blk.len),
	   "front coded: the writer's paths block (%zu entries, %zu bytes) is the FORMAT.md 4.1 layout", n, wlen);

	size_t blen;
	uint8_t *b = seg_with_block(seg, 18, blk.p, blk.len, (uint32_t)n, &blen);
	ok(gen_decode_all(b, blen, &e) == 0, "front coded: a rebuilt segment with the spec's block decodes");
	free(b);

	/* one field changed at a time */
	struct {
		const char *what, *want;
		int code;
	} cases[] = {
	    {"entry 0 with a shared prefix", "of entry 0 over 0", -EBADMSG},
	    {"a shared prefix longer than the previous entry", "longer than entry", -EBADMSG},
	    {"a shared prefix over 255", "over 255", -EBADMSG},
	    {"a suffix length past the block", "suffix lengths overrun", -EBADMSG},
	    {"a huge suffix length", "bad suffix length", -EBADMSG},
	    {"a NUL inside a suffix", "not terminated", -EBADMSG},
	    {"a suffix without its NUL", "not terminated", -EBADMSG},
	    {"a byte after the suffixes", "data length mismatch", -EBADMSG},
	    {"more entries than the block can hold", "count", -EBADMSG},
	    {"a truncated shared-prefix varint", "bad shared prefix length", -EBADMSG},
	};
	size_t k0 = 0; /* an entry with a suffix of 2+ bytes after entry 0 */
	for (size_t i = 1; i < n && !k0; i++)
		if (sl[i] >= 2 && p[i] > 0)
			k0 = i;
	int all = k0 > 0;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]) && all; c++) {
		uint64_t *p2 = malloc((n + 1) * sizeof(uint64_t)), *s2 = malloc((n + 1) * sizeof(uint64_t));
		memcpy(p2, p, n * sizeof(uint64_t));
		memcpy(s2, sl, n * sizeof(uint64_t));
		uint8_t *x = malloc(sfx.len + 1);
		memcpy(x, sfx.p, sfx.len);
		size_t xl = sfx.len, items = n;
		size_t at = 0; /* suffix k0's start */
		for (size_t i = 0; i < k0; i++)
			at += sl[i] + 1;
		switch (c) {
		case 0: p2[0] = 1, s2[0]--; break;
		case 1: p2[k0] = lens[k0 - 1] + 1, s2[k0] = lens[k0] - p2[k0]; break;
		case 2: p2[k0] = 256; break;
		case 3: s2[k0] += sfx.len; break;
		case 4: s2[k0] = 1ull << 40; break;
		case 5: x[at] = 0; break;
		case 6: x[at + sl[k0]] = 'z'; break;
		case 7: x[xl++] = 0; break;
		case 8: items = n * 100; break;
		}
		if (c == 1 && p2[k0] > lens[k0])
			s2[k0] = 0; /* still "longer than entry k0 - 1" */
		fc_block(&blk, p2, s2, n, x, xl);
		if (c == 9) { /* a continuation byte at the end of the prefixes */
			blk.len = 0;
			for (size_t i = 0; i < n; i++)
				put_varint(&blk, i == n - 1 ? 0x80 : p[i]);
			blk.len--;
			blk.p[blk.len++] = 0x80;
			items = n;
			/* pad so the count check passes: the block is long */
			fl_bytes_put(&blk, x, xl);
			memset(blk.p + blk.len - xl, 0x80, xl);
		}
		b = seg_with_block(seg, 18, blk.p, blk.len, (uint32_t)items, &blen);
		int r = gen_decode_all(b, blen, &e);
		if (r != cases[c].code || !strstr(e.msg, cases[c].want) || strcmp(e.block, "paths")) {
			all = 0;
			printf("# %s: %d, %s: %s (want %s)\n", cases[c].what, r, e.block, e.msg, cases[c].want);
		}
		free(b);
		free(x);
		free(p2);
		free(s2);
	}
	ok(all, "front coded: corrupt shared-prefix and suffix lengths, NULs, counts: clean errors naming the paths block");

	/* quadratic blow-up: one long entry, then entries each repeating it
	 * whole. Without the 255-byte cap 3000 entries of 100000 bytes would
	 * rebuild to 300 MB from a 300 kB block. */
	{
		size_t m = 3001, l0 = 100000;
		uint64_t *qp = calloc(m, sizeof(uint64_t)), *qs = calloc(m, sizeof(uint64_t));
		uint8_t *q = malloc(l0 + m);
		memset(q, 'a', l0);
		memset(q + l0, 0, m);
		q[0] = '/';
		qs[0] = l0;
		for (size_t i = 1; i < m; i++)
			qp[i] = l0;
		fc_block(&blk, qp, qs, m, q, l0 + m);
		b = seg_with_block(seg, 18, blk.p, blk.len, (uint32_t)m, &blen);
		int r = gen_decode_all(b, blen, &e);
		ok(r == -EBADMSG && strstr(e.msg, "over 255"), "front coded: a block repeating a 100 kB entry is refused: %s",
		   e.msg);
		free(b);
		free(qp);
		free(qs);
		free(q);
	}
	/* within the cap but over FL_MAX_RAW (1 GiB) rebuilt: 255 bytes
	 * repeated by 4.3 million entries of 3 bytes each (a 13 MB block) */
	{
		size_t m = 4300000;
		struct fl_bytes big = {0};
		put_varint(&big, 0);
		for (size_t i = 1; i < m; i++)
			put_varint(&big, 255);
		put_varint(&big, 255);
		for (size_t i = 1; i < m; i++)
			put_varint(&big, 0);
		if (fl_bytes_grow(&big, 256 + m))
			abort();
		memset(big.p + big.len, 'a', 255);
		big.p[big.len] = '/';
		memset(big.p + big.len + 255, 0, m);
		big.len += 255 + m;
		b = seg_with_block(seg, 18, big.p, big.len, (uint32_t)m, &blen);
		int r = gen_decode_all(b, blen, &e);
		ok(r == -EFBIG && strstr(e.msg, "rebuilt dictionary over"),
		   "front coded: a %zu-byte block rebuilding to %llu bytes is refused before allocating: %s", big.len,
		   (unsigned long long)m * 256, e.msg);
		free(b);
		fl_bytes_free(&big);
	}
	fl_segment_free(s); /* d and lens point into it */
	fl_bytes_free(&sfx);
	fl_bytes_free(&blk);
	free(p);
	free(sl);
	free(seg);
}

int main(void)
{
	test_flip_each_block();
	test_truncate_and_flip_everywhere();
	test_structural();
	test_bad_ts_unit();
	test_fast_read();
	test_fast_read_pack();
	test_pack_structure();
	test_mutated_streams();
	test_front_coded_paths();
	return tap_done();
}
