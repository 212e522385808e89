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

/* Open and fully decode; returns 0 when everything decoded, else the
 * error code, with *e filled. */
static int decode_all(const void *buf, size_t len, struct fl_error *e)
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

static void fix_header_crc(uint8_t *b)
{
	memset(b + 124, 0, 4);
	fl_le32_put(b + 124, fl_crc32c(0, b, 128));
}

static void test_flip_each_block(void)
{
	size_t len;
	uint8_t *seg = make_segment(1, 3000, &len);
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
			int r = decode_all(b, len, &e);
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
	ok(all_failed && tested > 30, "a flipped byte in any of %u blocks is detected (%d flips)", nb, tested);
	ok(all_named, "... reported as 'bad checksum' at the block's offset with its name");
	/* example message */
	memcpy(b, seg, len);
	for (uint32_t i = 0; i < nb; i++) {
		const uint8_t *d = seg + 128 + i * 40;
		if (fl_le32_get(d) == 18)
			b[fl_le64_get(d + 8)] ^= 1;
	}
	struct fl_error e;
	char msg[200];
	decode_all(b, len, &e);
	fl_error_format(&e, msg, sizeof(msg));
	ok(strstr(msg, "bad checksum in block 'paths'") != NULL, "message: %s", msg);
	/* header and table */
	memcpy(b, seg, len);
	b[70] ^= 1;
	ok(decode_all(b, len, &e) == -EBADMSG && !strcmp(e.block, "header"), "flipped header byte");
	memcpy(b, seg, len);
	b[128 + 5] ^= 1;
	ok(decode_all(b, len, &e) == -EBADMSG && !strcmp(e.block, "block-table"), "flipped table byte");
	free(b);
	free(seg);
}

static void test_truncate_and_flip_everywhere(void)
{
	size_t len;
	uint8_t *seg = make_segment(5, 300, &len);
	uint8_t *b = malloc(len);
	int bad = 0;
	for (size_t cut = 0; cut < len; cut++) {
		struct fl_error e;
		memcpy(b, seg, cut);
		if (decode_all(b, cut, &e) >= 0 || !e.block[0])
			bad++;
	}
	ok(!bad, "truncation at each of %zu offsets is an error (%d not)", len, bad);
	bad = 0;
	for (size_t i = 0; i < len; i++) {
		struct fl_error e;
		memcpy(b, seg, len);
		b[i] ^= (uint8_t)(1u << (i % 8));
		if (decode_all(b, len, &e) >= 0)
			bad++;
	}
	ok(!bad, "a single bit flip at each of %zu offsets is an error (%d not)", len, bad);
	struct fl_error e;
	ok(decode_all(seg, len, &e) == 0, "the original still decodes");
	free(b);
	free(seg);
}

/* Corruptions that keep the checksums valid: the structural checks must
 * catch them (or the result must at least be a clean decode). */
static void test_structural(void)
{
	size_t len;
	uint8_t *seg = make_segment(3, 500, &len);
	uint8_t *b = malloc(len + 64);
	struct fl_error e;
	int r;

	memcpy(b, seg, len);
	fl_le32_put(b + 8, 2);
	fix_header_crc(b);
	r = decode_all(b, len, &e);
	ok(r == -EOPNOTSUPP && strstr(e.msg, "version"), "future version refused: %s", e.msg);

	memcpy(b, seg, len);
	fl_le32_put(b + 20, 0x10);
	fix_header_crc(b);
	ok(decode_all(b, len, &e) == -EOPNOTSUPP, "unknown incompatible flag refused");

	memcpy(b, seg, len);
	fl_le32_put(b + 16, 0x80000000u);
	fix_header_crc(b);
	ok(decode_all(b, len, &e) == 0, "unknown compatible flag ignored");

	memcpy(b, seg, len);
	fl_le64_put(b + 64, fl_le64_get(seg + 64) + 1);
	fix_header_crc(b);
	ok(decode_all(b, len, &e) == -EBADMSG, "event count edited: %s", e.msg);

	memcpy(b, seg, len);
	fl_le64_put(b + 64, UINT64_MAX);
	fix_header_crc(b);
	ok(decode_all(b, len, &e) == -EBADMSG, "huge event count: %s", e.msg);

	memcpy(b, seg, len);
	fl_le32_put(b + 88, 100000);
	fix_header_crc(b);
	ok(decode_all(b, len, &e) == -EBADMSG, "huge block count: %s", e.msg);

	memcpy(b, seg, len);
	fl_le32_put(b + 12, 100000);
	fix_header_crc(b);
	ok(decode_all(b, len, &e) == -EBADMSG, "huge header size: %s", e.msg);

	/* a block descriptor claiming a huge raw size, table CRC fixed */
	memcpy(b, seg, len);
	uint32_t nb = fl_le32_get(b + 88);
	fl_le64_put(b + 128 + 40 * 5 + 24, 1ull << 40);
	fl_le32_put(b + 112, fl_crc32c(0, b + 128, nb * 40));
	fix_header_crc(b);
	r = decode_all(b, len, &e);
	ok(r == -EFBIG || r == -EBADMSG, "huge declared raw size refused: %s", e.msg);

	memcpy(b, seg, len);
	fl_le64_put(b + 128 + 40 * 5 + 8, len - 2);
	fl_le32_put(b + 112, fl_crc32c(0, b + 128, nb * 40));
	fix_header_crc(b);
	ok(decode_all(b, len, &e) == -EBADMSG, "block outside the file: %s", e.msg);

	/* trailing garbage */
	memcpy(b, seg, len);
	memset(b + len, 0, 64);
	ok(decode_all(b, len + 64, &e) == -EBADMSG, "trailing bytes: %s", e.msg);
	free(b);
	free(seg);
}

/* Valid-checksum but mutated stream contents: re-encode a block with fixed
 * CRCs after mutating its raw bytes. Errors must be clean. */
/* The ts block's unit must be a power of 1000 up to 1 s. */
static void test_bad_ts_unit(void)
{
	size_t len;
	uint8_t *b = make_segment_opts(3, 100, &len, FL_WRITER_RAW);
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
	fix_header_crc(b);
	struct fl_error e;
	int r = decode_all(b, len, &e);
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
	uint8_t *seg = make_segment(1, 400, &len);
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
		full_bad += decode_all(b, len, &e) == -EBADMSG;
		free(b);
	}
	ok(tried == 2 && skipped_ok == 1 && loaded_bad == 1 && full_bad == 2,
	   "FL_READ_FAST: a damaged block it skips is not read, one it decodes is refused; a full open refuses both");
	free(seg);
}

static void test_mutated_streams(void)
{
	size_t len;
	uint8_t *seg = make_segment_opts(4, 150, &len, FL_WRITER_RAW);
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
		fix_header_crc(b);
		struct fl_error e;
		int r = decode_all(b, len, &e);
		total++;
		if (r < 0)
			errors++;
		else
			crashed_or_ok++;
		free(b);
	}
	gen_free(&g);
	ok(total > 1000, "mutated raw stream blocks with fixed checksums: %d errors, %d still decodable, no crash",
	   errors, crashed_or_ok);
	free(seg);
}

int main(void)
{
	test_flip_each_block();
	test_truncate_and_flip_everywhere();
	test_structural();
	test_bad_ts_unit();
	test_fast_read();
	test_mutated_streams();
	return tap_done();
}
