/* fl_internal.h - private helpers shared by flightlog.c and store.c.
 *
 * Why: varints, zigzag, little-endian access and a growable byte buffer are
 * needed by both the segment codec and the journal; this header is not part
 * of the public API (only flightlog.h is). */
#ifndef FLIGHTREC_FL_INTERNAL_H
#define FLIGHTREC_FL_INTERNAL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flightlog/flightlog.h"

/* A growable byte buffer with a fast varint path. Owned by its user. */
struct fl_bytes {
	uint8_t *p;
	size_t len, cap;
};

static inline int fl_bytes_grow(struct fl_bytes *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t need = b->len + extra;
	if (need < b->len)
		return -ENOMEM;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	uint8_t *n = realloc(b->p, cap);
	if (!n)
		return -ENOMEM;
	b->p = n;
	b->cap = cap;
	return 0;
}

static inline int fl_bytes_put(struct fl_bytes *b, const void *p, size_t n)
{
	if (fl_bytes_grow(b, n))
		return -ENOMEM;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static inline int fl_put_varint(struct fl_bytes *b, uint64_t v)
{
	if (b->cap - b->len < 10 && fl_bytes_grow(b, 10))
		return -ENOMEM;
	uint8_t *o = b->p + b->len;
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	b->len = (size_t)(o - b->p);
	return 0;
}

static inline void fl_bytes_free(struct fl_bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Read a varint from [*p, end): at most 10 bytes, the 10th <= 1. Returns 0
 * or -EBADMSG (truncated / overlong). */
static inline int fl_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	if (p < end && *p < 0x80) { /* fast path */
		*out = *p;
		*pp = p + 1;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (p >= end)
			return -EBADMSG;
		uint8_t c = *p++;
		if (shift == 63 && c > 1)
			return -EBADMSG;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			*pp = p;
			return 0;
		}
	}
	return -EBADMSG;
}

static inline uint64_t fl_zz64(uint64_t d) { return (d << 1) ^ (uint64_t)((int64_t)d >> 63); }
static inline uint64_t fl_unzz64(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }
static inline uint32_t fl_zz32(uint32_t d) { return (d << 1) ^ (uint32_t)((int32_t)d >> 31); }
static inline uint32_t fl_unzz32(uint32_t z) { return (z >> 1) ^ (0u - (z & 1)); }

static inline void fl_le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void fl_le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t fl_le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t fl_le64_get(const uint8_t *p)
{
	return (uint64_t)fl_le32_get(p) | (uint64_t)fl_le32_get(p + 4) << 32;
}


#include <endian.h>

/* ---- on-disk structures (docs/FORMAT.md). All integers little-endian:
 * fields are stored with htole*() and read with le*toh(). ---- */

#define FL_SEG_MAGIC "FRLOGSEG"
#define FL_SEG_VERSION 1u
#define FL_HEADER_SIZE 128u
#define FL_MAX_HEADER_SIZE 4096u
#define FL_MAX_BLOCKS 1024u

/* Feature flags: readers refuse unknown incompatible flags and ignore unknown
 * compatible ones. */
/* The segment has a sessions block (FORMAT.md 3.1). */
#define FL_COMPAT_SESSIONS 0x1u
#define FL_COMPAT_KNOWN FL_COMPAT_SESSIONS
/* port and rport columns hold zz32 deltas from the previous value of the
 * same kind (without it: plain varints). Ephemeral ports climb by one or
 * two per connection, so this turns nginx's two biggest columns into
 * near-constants. */
#define FL_INCOMPAT_DELTA_PORTS 0x1u
/* The ts block starts with a varint unit (ns per tick): the deltas are in
 * ticks. The recorder stores times at millisecond resolution by default (as
 * the Linux audit log does), which makes the ts stream nearly free; the
 * writer picks the largest power of 1000 that divides every timestamp, so
 * nanosecond input stays exact. */
#define FL_INCOMPAT_TS_UNIT 0x2u
/* Events of the change kinds are coded in a lane of their own, with a
 * selector block saying which lane each event is in (FORMAT.md 5.6). */
#define FL_INCOMPAT_LANES 0x4u
/* Dictionary references: 0 = NULL, 1 = one above the stream's highest
 * reference so far (a new string), 2 = that highest, else reference + 2, so
 * that new files cost a constant instead of an ever-growing number
 * (FORMAT.md 5.3). */
#define FL_INCOMPAT_NEWREF 0x8u
/* Small blocks are members of one pack block: a sub-table and their raw
 * bytes as one zstd frame with one CRC (FORMAT.md 2.4). A block costs a
 * 40-byte table entry and a frame of its own otherwise, which is most of a
 * small segment. */
#define FL_INCOMPAT_PACKED 0x10u
/* The ts block holds, after the unit, a varint base tick: each lane's
 * first delta is from it, not from 0. Without it the first delta is the
 * absolute time, which sets the plane width (6 bytes for milliseconds
 * since 1970) for every event of the lane: 6 MB of planes to decompress
 * and read per million events instead of about 1. */
#define FL_INCOMPAT_TS_BASE 0x20u
/* connect's `port` and accept's `rport` share a table of ephemeral ports
 * sighted but not yet paired (FORMAT.md 5.4.1): a port seen the second
 * time (both ends of a loopback connection are on this host) is coded as
 * its index in the table. On a local reverse proxy these two streams carry
 * the same ports: once they are blocks of their own (thousands of
 * connections per segment), the copy cost as much as the original. */
#define FL_INCOMPAT_LOCAL_PEERS 0x40u
/* The paths dictionary is front coded: per entry the length of the prefix
 * it shares with the previous entry (at most FL_FRONT_MAX), then the
 * suffix (FORMAT.md 4.1). A tree walk repeats its directories in every
 * entry, which zstd matches at a few bytes per entry; a package unpack's
 * paths block shrinks 15x. */
#define FL_INCOMPAT_FRONT_CODED 0x80u
#define FL_FRONT_MAX 255u
/* The ts block holds the tick deltas as runs: the lengths of the runs of
 * zero deltas, then the other deltas (FORMAT.md 5.1.1). At millisecond
 * resolution 90 to 99% of deltas are 0; a byte plane gives zstd a symbol
 * of at least one bit per event, runs give it one number per run. */
#define FL_INCOMPAT_TS_RUNS 0x100u
/* The `path` stream has a code for "the path that followed this process's
 * previous path the last time" (FORMAT.md 5.4.2): compilers open the same
 * headers in the same order, but parallel jobs interleave, so the previous
 * event's path says little and the same process's says much. */
#define FL_INCOMPAT_SUCC_PATHS 0x200u
/* The paths dictionary is split: a table of directories (what comes
 * before an entry's last '/'), a table of basenames, and per entry a code
 * for each (FORMAT.md 4.2). A compiler probes every header in several
 * include directories, so the same few directories and the same few
 * names make up most of its paths, in no tree order that front coding
 * could use; the block shrinks by about 40%. */
#define FL_INCOMPAT_PATHS_SPLIT 0x400u
#define FL_INCOMPAT_SHAPES 0x800u /* kind, pid code and masks as shapes (FORMAT.md 5.8) */
/* a lane's path stream may hold its values grouped by process, with a
 * path-groups block of group sizes (FORMAT.md 5.4.3) */
#define FL_INCOMPAT_GROUPED_PATHS 0x1000u
/* an event's error is predicted by the last error with its path
 * (FORMAT.md 5.4.4) */
#define FL_INCOMPAT_PATH_ERRORS 0x2000u
/* every zstd frame is compressed against a prior named in the header
 * extension (FORMAT.md 10) */
#define FL_INCOMPAT_PRIOR 0x4000u
#define FL_INCOMPAT_KNOWN (FL_INCOMPAT_PRIOR | FL_INCOMPAT_DELTA_PORTS | FL_INCOMPAT_TS_UNIT | FL_INCOMPAT_LANES | FL_INCOMPAT_NEWREF | \
			   FL_INCOMPAT_PACKED | FL_INCOMPAT_TS_BASE | FL_INCOMPAT_LOCAL_PEERS | \
			   FL_INCOMPAT_FRONT_CODED | FL_INCOMPAT_TS_RUNS | FL_INCOMPAT_SUCC_PATHS | \
			   FL_INCOMPAT_PATHS_SPLIT | FL_INCOMPAT_SHAPES | FL_INCOMPAT_GROUPED_PATHS | \
			   FL_INCOMPAT_PATH_ERRORS)

struct fl_seg_header {
	uint8_t magic[8];          /* "FRLOGSEG" */
	uint32_t version;          /* 1 */
	uint32_t header_size;      /* >= 128; the block table may start here */
	uint32_t compat_flags;
	uint32_t incompat_flags;
	uint64_t seq;
	uint8_t prev_hash[32];     /* SHA-256 of the previous segment file */
	uint64_t event_count;
	uint64_t ts_min, ts_max;
	uint32_t n_blocks;
	uint32_t reserved0;
	uint64_t table_offset;
	uint64_t file_size;
	uint32_t table_crc;        /* CRC32C of the n_blocks * 40 table bytes */
	uint32_t reserved1;
	uint32_t reserved2;
	uint32_t header_crc;       /* CRC32C of header_size bytes, this field as 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct fl_seg_header) == FL_HEADER_SIZE, "header size");

/* With PRIOR the header is 160 bytes: the 128 above, then the SHA-256
 * of the prior's content. */
#define FL_PRIOR_HASH_OFFSET FL_HEADER_SIZE
#define FL_PRIOR_HEADER_SIZE (FL_HEADER_SIZE + FL_HASH_LEN)

/* A prior file (FORMAT.md 10.2): this header, then the content, raw when
 * stored_size == content_size, else one zstd frame of it. */
#define FL_PRIOR_MAGIC "FRPRIOR1"
#define FL_PRIOR_VERSION 1u
struct fl_prior_header {
	uint8_t magic[8];          /* "FRPRIOR1" */
	uint32_t version;          /* 1 */
	uint32_t header_size;      /* >= 96, <= 4096 */
	uint32_t compat_flags;
	uint32_t incompat_flags;   /* none defined: readers refuse any */
	uint64_t source_seq;
	uint64_t made_ns;
	uint64_t content_size;
	uint64_t stored_size;      /* bytes after the header */
	uint8_t content_hash[32];  /* SHA-256 of the content */
	uint32_t stored_crc;       /* CRC32C of the stored bytes */
	uint32_t header_crc;       /* CRC32C of header_size bytes, this field as 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct fl_prior_header) == 96, "prior header size");

/* The fuzz build skips checksum comparisons so mutations reach the decoder. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define FL_FUZZING 1
#else
#define FL_FUZZING 0
#endif

/* zstd's dictionary magic (37 A4 30 EC): content starting with it would be
 * taken for a trained dictionary, so a prior's never does (FORMAT.md 10.2). */
#define FL_ZSTD_DICT_MAGIC "\x37\xa4\x30\xec"

/* A prior's content and, for readers, zstd's digested form of it. */
const uint8_t *fl_prior_content(const struct fl_prior *p, size_t *len);
struct ZSTD_DDict_s;
const struct ZSTD_DDict_s *fl_prior_ddict(const struct fl_prior *p);

enum fl_codec { FL_CODEC_RAW = 0, FL_CODEC_ZSTD = 1 };

struct fl_block_desc {
	uint32_t type;             /* FL_BLK_* */
	uint32_t codec;            /* enum fl_codec */
	uint64_t offset;           /* from the start of the file */
	uint64_t stored_size;      /* bytes at offset */
	uint64_t raw_size;         /* bytes after decompression */
	uint32_t crc;              /* CRC32C of the stored bytes */
	uint32_t items;            /* dictionaries: entry count; else 0 */
} __attribute__((packed));
_Static_assert(sizeof(struct fl_block_desc) == 40, "block descriptor size");

#define FL_JOURNAL_MAGIC "FRJOURN1"
struct fl_journal_header {
	uint8_t magic[8];          /* "FRJOURN1" */
	uint32_t version;          /* 1 or 2 */
	uint32_t header_crc;       /* v1: CRC32C of bytes 0..11; v2: of 0..11 and 16..23 */
} __attribute__((packed));
_Static_assert(sizeof(struct fl_journal_header) == 16, "journal header size");
/* Version 2 appends the seq the journal's segment will take, so that a
 * journal whose segment was already written (a crash between the two) is
 * recognised and not recovered twice. */
struct fl_journal_header_v2 {
	struct fl_journal_header h;
	uint64_t seq;
} __attribute__((packed));
_Static_assert(sizeof(struct fl_journal_header_v2) == 24, "journal v2 header size");

struct fl_journal_rec {
	uint32_t payload_len;      /* bytes after this 12-byte record header */
	uint32_t payload_crc;      /* CRC32C of the payload */
	uint32_t len_crc;          /* CRC32C of payload_len's 4 bytes */
} __attribute__((packed));
_Static_assert(sizeof(struct fl_journal_rec) == 12, "journal record size");
#define FL_JOURNAL_MAX_RECORD (64u << 20)

/* Flat, self-contained encoding of one event (journal payloads). */
int fl_event_flat_put(struct fl_bytes *b, const struct fr_event *ev);
/* Decode one flat event from [*p, end); strings point into the buffer,
 * which must hold a NUL after each (the flat format stores them). */
int fl_event_flat_get(const uint8_t **p, const uint8_t *end, struct fr_event *ev);

/* Fill an error (err may be NULL). Returns code. */
int fl_set_error(struct fl_error *err, int code, uint64_t offset, const char *block,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
