/* fl_testseg.h - surgery on segment files for the flight log's tests.
 *
 * Why: the format tests check what a reader does with one block changed
 * (a corrupt code, a hand-built layout, a block from the spec's example)
 * while the rest of the file stays valid: every CRC, offset and size must
 * follow, or the reader stops at "bad checksum" before the code under
 * test. These work on segments written raw and unpacked
 * (FL_WRITER_RAW | FL_WRITER_NO_PACK), whose blocks are their contents,
 * and read the layout from docs/FORMAT.md 2.1-2.2 (header fields at fixed
 * offsets, 40-byte table entries), not from the library's structs.
 * Header-only, static inline; needs fl_internal.h (le helpers, CRC). */
#ifndef FL_TESTSEG_H
#define FL_TESTSEG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flightlog/fl_internal.h"

/* The content of the first block of `type` in raw, unpacked segment b, its
 * size in *n and (entry non-NULL) its table entry's offset in *entry; NULL
 * and *n = 0 when there is none. Borrowed from b. */
static inline const uint8_t *seg_block(const uint8_t *b, uint32_t type, size_t *n, size_t *entry)
{
	uint32_t nb = fl_le32_get(b + 88);
	uint64_t toff = fl_le64_get(b + 96);
	for (uint32_t i = 0; i < nb; i++) {
		const uint8_t *d = b + toff + i * 40;
		if (fl_le32_get(d) == type) {
			*n = (size_t)fl_le64_get(d + 16);
			if (entry)
				*entry = (size_t)toff + i * 40;
			return b + fl_le64_get(d + 8);
		}
	}
	*n = 0;
	return NULL;
}

/* The raw (decompressed) size of the first block of `type` in segment b,
 * compressed or not, from its table entry; 0 when there is none. */
static inline uint64_t seg_raw_size(const uint8_t *b, uint32_t type)
{
	size_t n, entry;
	return seg_block(b, type, &n, &entry) ? fl_le64_get(b + entry + 24) : 0;
}

/* The header's incompatible feature flags (FORMAT.md 2.1, offset 20). */
static inline uint32_t seg_incompat(const void *b)
{
	return fl_le32_get((const uint8_t *)b + 20);
}

/* The header's CRC after a change to the header. */
static inline void seg_fix_header_crc(uint8_t *b)
{
	memset(b + 124, 0, 4);
	fl_le32_put(b + 124, fl_crc32c(0, b, 128));
}

/* Every CRC after bytes of the block at table entry `entry` changed in
 * place: the block's, the table's and the header's. */
static inline void seg_fix_crcs(uint8_t *b, size_t entry)
{
	const uint8_t *d = b + entry;
	fl_le32_put(b + entry + 32, fl_crc32c(0, b + fl_le64_get(d + 8), (size_t)fl_le64_get(d + 16)));
	fl_le32_put(b + 112, fl_crc32c(0, b + fl_le64_get(b + 96), fl_le32_get(b + 88) * 40));
	seg_fix_header_crc(b);
}

/* A copy of segment seg (its header's file size, blocks stored in table
 * order) whose first block of `type` holds c[0..n) instead, stored raw,
 * with `items` entries (UINT32_MAX: keep its count); later blocks move,
 * and the offsets, sizes, file size and every CRC follow. The caller frees
 * it; NULL when there is no such block or no memory. */
static inline uint8_t *seg_with_block(const uint8_t *seg, uint32_t type, const uint8_t *c, size_t n, uint32_t items,
				      size_t *out_len)
{
	size_t len = (size_t)fl_le64_get(seg + 104), old = 0, entry = 0;
	const uint8_t *at = seg_block(seg, type, &old, &entry);
	if (!at)
		return NULL;
	size_t from = (size_t)(at - seg), nl = len - old + n;
	uint8_t *o = malloc(nl ? nl : 1);
	if (!o)
		return NULL;
	memcpy(o, seg, from);
	if (n) /* c may be NULL for an empty block */
		memcpy(o + from, c, n);
	memcpy(o + from + n, seg + from + old, len - from - old);
	uint32_t nb = fl_le32_get(o + 88);
	uint64_t toff = fl_le64_get(o + 96);
	for (uint32_t i = 0; i < nb; i++) {
		uint8_t *d = o + toff + i * 40;
		uint64_t off = fl_le64_get(d + 8);
		if (off > from)
			fl_le64_put(d + 8, off - old + n);
		if (toff + i * 40 == entry) {
			fl_le32_put(d + 4, 0); /* raw codec */
			fl_le64_put(d + 16, n);
			fl_le64_put(d + 24, n);
			if (items != UINT32_MAX)
				fl_le32_put(d + 36, items);
		}
		fl_le32_put(d + 32, fl_crc32c(0, o + fl_le64_get(d + 8), (size_t)fl_le64_get(d + 16)));
	}
	fl_le64_put(o + 104, nl);
	fl_le32_put(o + 112, fl_crc32c(0, o + toff, nb * 40));
	seg_fix_header_crc(o);
	*out_len = nl;
	return o;
}

/* The table entry's offset (the block's content errors name it) and
 * `items` of the first block of `type` in raw, unpacked segment seg;
 * UINT64_MAX and 0 when there is none. */
static inline uint64_t seg_block_offset(const uint8_t *seg, uint32_t type)
{
	size_t n, entry;
	return seg_block(seg, type, &n, &entry) ? fl_le64_get(seg + entry + 8) : UINT64_MAX;
}

static inline uint32_t seg_block_items(const uint8_t *seg, uint32_t type)
{
	size_t n, entry;
	return seg_block(seg, type, &n, &entry) ? fl_le32_get(seg + entry + 36) : 0;
}

/* Whether raw, unpacked segment seg (may be NULL) has a block of `type`
 * holding exactly want[0..n); if not, prints (as a TAP comment) what it
 * holds instead. */
static inline bool seg_block_is(const uint8_t *seg, uint32_t type, const uint8_t *want, size_t n)
{
	size_t got = 0;
	const uint8_t *p = seg ? seg_block(seg, type, &got, NULL) : NULL;
	if (p && got == n && !memcmp(p, want, n))
		return true;
	printf("#   block %u:", type);
	for (size_t i = 0; p && i < got; i++)
		printf(" %02x", p[i]);
	printf("%s\n", p ? "" : " (absent)");
	return false;
}

/* A copy of raw, unpacked segment seg with one more block (type, content
 * c[0..n), raw, `items`) at the end of the table and of the file; every
 * other block moves 40 bytes on, and sizes and CRCs follow. */
static inline uint8_t *seg_add_block(const uint8_t *seg, uint32_t type, const uint8_t *c, size_t n, uint32_t items,
				     size_t *out_len)
{
	size_t len = (size_t)fl_le64_get(seg + 104), nl = len + 40 + n;
	uint32_t nb = fl_le32_get(seg + 88);
	size_t toff = (size_t)fl_le64_get(seg + 96), tend = toff + (size_t)nb * 40;
	uint8_t *o = calloc(1, nl);
	if (!o)
		return NULL;
	memcpy(o, seg, tend);
	memcpy(o + tend + 40, seg + tend, len - tend);
	if (n)
		memcpy(o + len + 40, c, n);
	for (uint32_t i = 0; i < nb; i++) {
		uint8_t *d = o + toff + i * 40;
		fl_le64_put(d + 8, fl_le64_get(d + 8) + 40);
	}
	uint8_t *d = o + tend;
	fl_le32_put(d, type);
	fl_le64_put(d + 8, len + 40);
	fl_le64_put(d + 16, n);
	fl_le64_put(d + 24, n);
	fl_le32_put(d + 32, fl_crc32c(0, o + len + 40, n));
	fl_le32_put(d + 36, items);
	fl_le32_put(o + 88, nb + 1);
	fl_le64_put(o + 104, nl);
	fl_le32_put(o + 112, fl_crc32c(0, o + toff, (nb + 1) * 40));
	seg_fix_header_crc(o);
	*out_len = nl;
	return o;
}

/* A copy of seg whose block of `type` has type `to` instead (an unknown
 * type: the block is then skipped, as good as absent). */
static inline uint8_t *seg_retype(const uint8_t *seg, uint32_t type, uint32_t to, size_t *out_len)
{
	size_t len = (size_t)fl_le64_get(seg + 104), n, entry;
	if (!seg_block(seg, type, &n, &entry))
		return NULL;
	uint8_t *o = malloc(len);
	if (!o)
		return NULL;
	memcpy(o, seg, len);
	fl_le32_put(o + entry, to);
	seg_fix_crcs(o, entry);
	*out_len = len;
	return o;
}

#endif
