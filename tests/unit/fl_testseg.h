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

#include <stdint.h>
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

#endif
