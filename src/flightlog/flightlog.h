/* flightlog.h - the flight log: immutable, compressed, hash-chained segments
 * of events, plus the local segment store and the open-segment journal.
 *
 * Why: the recorder must keep weeks of events on a small disk and prove that
 * nobody edited or deleted any of it. A segment is one file holding a columnar,
 * dictionary-coded, zstd-compressed run of `struct fr_event`, with a summary
 * a query can read without decoding events, a CRC32C on every block and the
 * SHA-256 of the previous segment. docs/FORMAT.md is the byte-level spec.
 *
 * Conventions: functions that can fail return 0 (or a documented positive
 * value) on success and a negative errno on failure, leaving out-parameters
 * untouched. Destructors accept NULL. Nothing here prints.
 */
#ifndef FLIGHTREC_FLIGHTLOG_H
#define FLIGHTREC_FLIGHTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

#define FL_HASH_LEN 32 /* SHA-256 */
#define FL_KIND_SLOTS 64 /* kinds >= this are counted together */

/* ---- primitives (exposed for the CLI, tests and a second decoder) ---- */

/* CRC32C (Castagnoli), reflected, init/xorout 0xffffffff. Pass crc = 0 to
 * start; feed the result back to continue. */
uint32_t fl_crc32c(uint32_t crc, const void *p, size_t n);
/* SHA-256 of n bytes into out. */
void fl_sha256(const void *p, size_t n, uint8_t out[FL_HASH_LEN]);

/* ---- errors ---- */

/* Where and why a segment or journal was rejected. `block` names the bad
 * block ("header", "block-table", "summary", "paths", "ts", ...). */
struct fl_error {
	int code;          /* negative errno (-EBADMSG, -EOPNOTSUPP, ...) */
	uint64_t offset;   /* byte offset in the file of the bad item */
	char block[24];
	char msg[96];      /* e.g. "bad checksum" */
};
/* "offset N: MSG in block 'BLOCK'" into buf; returns buf. */
const char *fl_error_format(const struct fl_error *err, char *buf, size_t len);

/* ---- priors: a host's earlier strings, shared by its later segments ---- */

/* A prior (FORMAT.md 10) is a run of bytes, normally the dictionaries of
 * an earlier segment of the same host, that a segment's zstd frames are
 * compressed against (incompatible flag PRIOR): a new segment then pays
 * only for the process names, paths and command lines its host did not
 * show before. Each segment otherwise starts its dictionaries empty, which
 * on an idle host is most of every segment (the reference corpus's idle
 * recording: 2,876 bytes alone, 1,060 with the prior of an earlier idle
 * minute). A segment names its prior by the SHA-256 of the content; the
 * store keeps priors as files beside the segments (section 7). Immutable
 * once made, so one prior may be shared by readers on several threads. */
struct fl_prior;
#define FL_PRIOR_MIN 8u          /* bytes of content, at least (zstd ignores less) */
#define FL_PRIOR_MAX (1u << 20)  /* and at most */
struct fl_prior_info {
	uint8_t hash[FL_HASH_LEN];  /* SHA-256 of the content: the segments' reference */
	uint64_t source_seq;        /* the segment it was made from (0: none) */
	uint64_t made_ns;           /* that segment's last event time */
	uint64_t size;              /* bytes of content */
};
/* A prior of the len bytes at content (copied). -EINVAL when len is out of
 * [FL_PRIOR_MIN, FL_PRIOR_MAX] or the content starts with zstd's
 * dictionary magic (37 A4 30 EC: zstd would read it as a trained
 * dictionary, not as content). The caller owns *out (fl_prior_free). */
int fl_prior_new(const void *content, size_t len, uint64_t source_seq, uint64_t made_ns, struct fl_prior **out);
/* The prior file image (FORMAT.md 10.2), its content compressed at zstd
 * level `level` (0: FL_DEFAULT_LEVEL). *out is malloc'd, the caller's. */
int fl_prior_encode(const struct fl_prior *p, int level, void **out, size_t *len);
/* Parse and verify a prior file image: header, checksums, sizes and the
 * content's hash. On failure *err (may be NULL) says where. */
int fl_prior_parse(const void *buf, size_t len, struct fl_prior **out, struct fl_error *err);
const struct fl_prior_info *fl_prior_info(const struct fl_prior *p);
void fl_prior_free(struct fl_prior *p);
/* Whether the segment image buf needs a prior: 1 (its hash into hash, when
 * not NULL), 0, or -EBADMSG when buf is not a segment header (the full
 * checks are fl_segment_open's). */
int fl_segment_peek_prior(const void *buf, size_t len, uint8_t hash[FL_HASH_LEN]);
/* Hex of the first 8 bytes of a hash (16 digits and a NUL) into buf, for
 * messages; returns buf. */
const char *fl_hash_short(const uint8_t hash[FL_HASH_LEN], char buf[17]);

/* ---- writer ---- */

struct fl_writer;
struct fl_writer_opts {
	int level;      /* zstd level; 0 = default (FL_DEFAULT_LEVEL) */
	uint32_t flags; /* FL_WRITER_* */
	/* Blocks of fewer raw bytes than this (except the summary and the
	 * sessions) go into one pack block (FORMAT.md 2.4); 0 = the default,
	 * FL_PACK_MAX_DEFAULT. */
	uint32_t pack_max;
};
#define FL_WRITER_RAW 0x1u /* store every block uncompressed (tests, debugging) */
/* Write every block separately, as writers before the pack did (a segment
 * any reader since 2026-11-22 decodes; tests and measurements). */
#define FL_WRITER_NO_PACK 0x2u
/* Code connect's port and accept's rport as writers before LOCAL_PEERS did
 * (plain deltas, FORMAT.md 5.4; tests and measurements). */
#define FL_WRITER_NO_LOCAL_PEERS 0x4u
/* Front code the paths dictionary (FORMAT.md 4.1) whatever share of its
 * bytes the entries share with the entry before (by default only from 60%:
 * a tree walk); tests of the layout, measurements. */
#define FL_WRITER_FRONT_ALWAYS 0x8u
/* Write the ts block as byte planes, as writers before TS_RUNS did
 * (FORMAT.md 5.1; tests and measurements). */
#define FL_WRITER_TS_PLANES 0x10u
/* Write the paths dictionary split into directories and basenames
 * (FORMAT.md 4.2) always, even a tree walk that would be front coded, not
 * only when that is smaller (tests of the layout, measurements).
 * FL_WRITER_FRONT_ALWAYS wins when both are given. */
#define FL_WRITER_PATHS_SPLIT_ALWAYS 0x20u
/* Code the path stream as writers before SUCC_PATHS did (FORMAT.md 5.3,
 * without the predicted-successor code of 5.4.2; tests and measurements). */
#define FL_WRITER_NO_SUCC_PATHS 0x40u
/* Write each event's kind, pid code, ctx-mask and ev-mask in their four
 * streams, as writers before SHAPES did (FORMAT.md 5.8; tests and
 * measurements). */
#define FL_WRITER_NO_SHAPES 0x80u
/* Never store a lane's path stream grouped by process (FORMAT.md 5.4.3),
 * or group every lane that has path values even where that is larger
 * (tests and measurements). NO wins when both are given. */
#define FL_WRITER_NO_GROUPED_PATHS 0x100u
#define FL_WRITER_GROUPED_PATHS_ALWAYS 0x200u
/* Code the error field against the kind's last error alone, as writers
 * before PATH_ERRORS did (FORMAT.md 5.4.4; tests and measurements). */
#define FL_WRITER_NO_PATH_ERRORS 0x400u
#define FL_PACK_MAX_DEFAULT 4096u
/* zstd level 9: the recorder encodes segments in its recording loop, and
 * level 19 costs ten times the CPU (0.36M against 3.85M events/s on the
 * reference corpus) for 0.5% fewer bytes (bench/results/corpus-*.md). */
#define FL_DEFAULT_LEVEL 9

/* New empty writer; opts may be NULL. The caller owns *out (fl_writer_free). */
int fl_writer_new(const struct fl_writer_opts *opts, struct fl_writer **out);
/* Append one event. The writer copies everything it needs: ev and its
 * strings may be freed on return. -EINVAL if argv is NULL with argv_len > 0
 * or the writer already holds 2^32-1 events. */
int fl_writer_add(struct fl_writer *w, const struct fr_event *ev);
/* Events added since creation or the last finish. */
uint64_t fl_writer_count(const struct fl_writer *w);
/* Encode everything added into one segment with sequence number seq, chained
 * to prev_hash (the SHA-256 of the previous segment file; NULL = all zero,
 * for the first segment). On success *out is a malloc'd buffer the caller
 * owns (free()) and the writer is empty again, ready for the next segment.
 * On failure the writer keeps its events. */
int fl_writer_finish(struct fl_writer *w, const uint8_t *prev_hash, uint64_t seq,
		     void **out, size_t *out_len);
void fl_writer_free(struct fl_writer *w);
/* Compress the segments finished from now on against prior p (NULL: none).
 * p is borrowed: the caller keeps it until the writer is freed or given
 * another prior. -ENOMEM when zstd cannot load it. */
int fl_writer_set_prior(struct fl_writer *w, const struct fl_prior *p);
/* The content a new prior would have, made from the last segment this
 * writer finished: its raw dictionaries and pack, at most FL_PRIOR_CONTENT
 * bytes (FORMAT.md 10.3). On success *out (malloc'd, the caller's) holds
 * *len bytes and the writer forgets them; -ENODATA when no segment was
 * finished since the last call, or it had too little to make a prior. */
#define FL_PRIOR_CONTENT (128u << 10)
int fl_writer_prior_content(struct fl_writer *w, void **out, size_t *len);

/* ---- reader ---- */

struct fl_segment;

/* Column groups for selective decode. Fields outside the selected groups
 * come back zero / NULL. kind, ts and pid are always decoded. */
#define FL_COL_CTX    0x01u /* tid ppid uid euid auid ses tty cgroup pstart_ns */
#define FL_COL_NAMES  0x02u /* host comm exe target_comm */
#define FL_COL_PATHS  0x04u /* path path2 cwd */
#define FL_COL_ARGV   0x08u /* argv argv_len line */
#define FL_COL_DETAIL 0x10u /* every other kind-specific field */
#define FL_COL_ALL    0x1fu
#define FL_COL_NONE   0x100u /* summary only: fl_segment_next returns 0; with
				* column groups, their dictionaries too */
/* Only events of the change kinds (modify, create, delete, rename, link,
 * symlink, mkdir, rmdir, chmod, chown, truncate, listen, unlisten), with
 * the selected columns (all when none is). Segments written with lanes
 * (FORMAT.md 5.6) decode those events alone; older ones are filtered. */
#define FL_COL_CHANGES 0x200u
/* Only what fl_segment_find_paths and fl_segment_sole_host read: the
 * kind, ts, context and field masks, host, path and path2 streams (not
 * pid) and the paths and hosts dictionaries, besides any group selected;
 * fl_segment_next then returns -EINVAL. Combines with FL_COL_CHANGES. */
#define FL_COL_SCAN 0x400u
/* Those kinds, as a mask of bits (1 << kind): modify (7) .. unlisten (19). */
#define FL_CHANGE_KINDS (((1ull << 20) - 1) & ~((1ull << 7) - 1))

struct fl_read_opts {
	uint32_t columns; /* FL_COL_*; 0 = FL_COL_ALL */
	uint32_t flags;   /* FL_READ_* */
	/* The priors a segment may need (borrowed for the call): one written
	 * with a prior opens only when that prior is among these, else
	 * -ENOENT ("needs prior HASH"). */
	const struct fl_prior *const *priors;
	size_t n_priors;
};
/* For queries: do not hash the file (fl_segment_info's hash is then all
 * zero) and check the CRC of only the blocks that are decoded. */
#define FL_READ_FAST 0x1u
/* The caller read the summary (and sessions) in an earlier open of the
 * same bytes: do not decompress or parse them again. fl_segment_info then
 * has the header's counts and times but no per-kind counts,
 * fl_segment_pids / _hosts / _sessions are empty, fl_segment_may_contain_path
 * says "maybe" (unless the paths dictionary was decoded), and the end of
 * the iteration does not cross-check the kind counts. */
#define FL_READ_NO_SUMMARY 0x2u
/* Decompress the pack (FORMAT.md 2.4) even when no selected column needs
 * it, so that fl_segment_blocks names every packed block with its size:
 * `flightrec stats` on a summary-only open. */
#define FL_READ_PACK 0x4u

/* Parse and verify a segment: header, block table, every block checksum, and
 * decompress the selected columns. buf is only read during the call (the
 * segment copies what it keeps). On success the caller owns *out
 * (fl_segment_free). On failure *err (if not NULL) says where. */
int fl_segment_open(const void *buf, size_t len, struct fl_segment **out,
		    struct fl_error *err);
int fl_segment_open_ex(const void *buf, size_t len, const struct fl_read_opts *opts,
		       struct fl_segment **out, struct fl_error *err);
/* Decode the next event into *ev. Returns 1 with an event, 0 at the end, or a
 * negative errno on malformed data (details in fl_segment_error). Strings in
 * ev are borrowed from the segment, valid until fl_segment_free. */
int fl_segment_next(struct fl_segment *seg, struct fr_event *ev);
/* Restart iteration from the first event. */
void fl_segment_rewind(struct fl_segment *seg);
/* The last error of fl_segment_next (code 0 if none). Borrowed. */
const struct fl_error *fl_segment_error(const struct fl_segment *seg);
void fl_segment_free(struct fl_segment *seg);

/* Summary, readable without decoding events. Borrowed from seg. */
struct fl_segment_info {
	uint32_t version, compat_flags, incompat_flags;
	uint64_t seq;
	uint64_t event_count;
	uint64_t ts_min, ts_max;          /* 0, 0 when empty */
	uint64_t size;                    /* bytes of the segment file */
	uint8_t hash[FL_HASH_LEN];        /* SHA-256 of the whole segment */
	uint8_t prev_hash[FL_HASH_LEN];
	uint64_t kind_count[FL_KIND_SLOTS];
	uint64_t other_kind_count;        /* kinds >= FL_KIND_SLOTS */
	bool has_prior;                   /* written against a prior (FORMAT.md 10) */
	uint8_t prior_hash[FL_HASH_LEN];  /* that prior's hash */
};
const struct fl_segment_info *fl_segment_info(const struct fl_segment *seg);
/* The segment's blocks, for size accounting: the header with the block
 * table ("header"), the summary, each dictionary and each column stream.
 * stored: bytes in the file; raw: after decompression. A pack block is
 * listed as "pack"; when it was decoded (any read but FL_COL_NONE without
 * column groups) its
 * members follow it under their own names, each with stored = its share
 * of the pack's stored bytes (in proportion to raw sizes: an estimate, the
 * frame has no per-member cost), and the pack's own entry keeps the rest
 * (its sub-table's share plus rounding), so the stored bytes of all
 * entries still add up to the file size. Borrowed. */
struct fl_block_stat {
	const char *name;
	uint64_t stored, raw;
};
const struct fl_block_stat *fl_segment_blocks(const struct fl_segment *seg, size_t *n);
/* The audit sessions of the segment's events: each distinct (host, ses)
 * with ses set, in order of first appearance, with that first event's time
 * (for a `proc` record, its process start). lost, socket and gap records
 * do not count. Borrowed. NULL (and *n = 0) when the segment has no
 * sessions block (written before 2026-11-22): decode the events instead. */
struct fl_session_first {
	const char *host;
	uint32_t ses;
	uint64_t first_ns;
};
const struct fl_session_first *fl_segment_sessions(const struct fl_segment *seg, size_t *n);
/* The segment's own copy of path (its `paths` dictionary entry), or NULL
 * when the segment has no such path or its paths dictionary was not
 * decoded (FL_COL_PATHS or FL_COL_NAMES). Decoded events' path, path2, cwd
 * and exe point into that dictionary, so comparing pointers with this one
 * matches them exactly. Borrowed. */
const char *fl_segment_path_entry(const struct fl_segment *seg, const char *path);
/* Events whose path or path2 is one of the n dictionary entries `entries`
 * (pointers returned by fl_segment_path_entry), found by reading only the
 * kind, ev-mask, path and path2 streams and the times: several times
 * faster than fl_segment_next, for queries that need no other field or
 * that then decode only segments with hits. The segment must have been
 * opened with FL_COL_PATHS or FL_COL_SCAN (-EINVAL otherwise). Each hit gives the event's
 * ordinal (its position in fl_segment_next's order under the same
 * columns: with FL_COL_CHANGES, among the change events), time, kind and
 * its own path and path2 (either may be the match: a caller that matches
 * path2 only for some kinds checks the kind). On success *hits (NULL when
 * *nhits is 0) is malloc'd and the caller frees it; the iteration of
 * fl_segment_next is not moved. -EBADMSG on malformed streams (details in
 * fl_segment_error, which then stays set). */
struct fl_path_hit {
	uint64_t ordinal;
	uint64_t ts_ns;
	uint32_t kind;
	const char *path, *path2;
};
int fl_segment_find_paths(struct fl_segment *seg, const char *const *entries, size_t n,
			  struct fl_path_hit **hits, size_t *nhits);
/* The host of every event fl_segment_next would return, when they all have
 * the same non-NULL one (one hosts dictionary entry, set from the first
 * event of each lane and never cleared), else NULL. Exact, from the
 * context-mask and host streams alone: the segment must have been opened
 * with FL_COL_NAMES or FL_COL_SCAN (NULL otherwise). Borrowed. */
const char *fl_segment_sole_host(const struct fl_segment *seg);
/* The entries of one of the segment's dictionaries, in reference order,
 * with their lengths (lens may be NULL; argvs hold NULs, the others are C
 * strings), or NULL (and *n = 0) when it was not decoded: paths with
 * FL_COL_PATHS or FL_COL_NAMES, hosts and comms with FL_COL_NAMES, argvs
 * and lines with FL_COL_ARGV. Borrowed. */
enum fl_dict_id { FL_DICT_HOSTS, FL_DICT_COMMS, FL_DICT_PATHS, FL_DICT_ARGVS, FL_DICT_LINES };
const char *const *fl_segment_dict(const struct fl_segment *seg, enum fl_dict_id d, const uint32_t **lens,
				   size_t *n);
/* Sorted distinct pids of the segment's events. Borrowed. */
const uint32_t *fl_segment_pids(const struct fl_segment *seg, size_t *n);
/* Distinct non-NULL hosts. Borrowed. */
const char *const *fl_segment_hosts(const struct fl_segment *seg, size_t *n);
/* false when no event of the segment has path (as path, path2, cwd or exe);
 * true means "maybe" (bloom filter; exact when the path dictionary was
 * decoded, i.e. FL_COL_PATHS or FL_COL_NAMES was selected). */
bool fl_segment_may_contain_path(const struct fl_segment *seg, const char *path);
/* true when fl_segment_may_contain_path says "maybe" to every path without
 * reading the dictionary: the summary was not read, or its filter has every
 * bit set (writers store that one-byte filter when the paths dictionary
 * compresses to less than a real filter would take, FORMAT.md 3). A query
 * then checks the dictionary instead. */
bool fl_segment_path_filter_matches_all(const struct fl_segment *seg);

/* ---- store: a directory of segments seg-<seq 12 digits>.frl ---- */

struct fl_store;
struct fl_store_entry {
	uint64_t seq;
	uint64_t size;
	char name[32];
};

/* Open (creating the directory if missing) and scan a store. Caller owns
 * *out (fl_store_close). Files that are not seg-*.frl are ignored. */
int fl_store_open(const char *dir, struct fl_store **out);
/* The store of the directory that holds file (a lone segment's priors are
 * beside it); the directory must exist. */
int fl_store_open_beside(const char *file, struct fl_store **out);
void fl_store_close(struct fl_store *st);
/* Segments in ascending seq order; borrowed until the next store call. */
const struct fl_store_entry *fl_store_entries(const struct fl_store *st, size_t *n);
/* Total bytes of all segments and priors. */
uint64_t fl_store_bytes(const struct fl_store *st);
/* The chain tip: the seq the next segment must take and the prev hash it
 * must carry (SHA-256 of the newest segment, or of the anchor left by the
 * byte cap, or zeros in an empty store). */
int fl_store_tip(struct fl_store *st, uint64_t *next_seq, uint8_t prev_hash[FL_HASH_LEN]);
/* Finish w at the chain tip and write it durably (tmp file, fsync, rename,
 * fsync dir). On success *seq_out (may be NULL) is its seq; the writer is
 * empty again. When the write fails the events are gone from the writer:
 * a caller that must not lose them seals and writes in two steps. */
int fl_store_append(struct fl_store *st, struct fl_writer *w, uint64_t *seq_out);
/* The first step of fl_store_append: finish w at the chain tip (with the
 * store's prior) into *buf (malloc'd, the caller's), to take seq *seq.
 * The writer is empty again; on failure it keeps its events. Until the
 * bytes are written with fl_store_write_segment, which the caller may
 * retry (a full disk), the chain tip does not move. */
int fl_store_seal(struct fl_store *st, struct fl_writer *w, uint64_t *seq, void **buf, size_t *len);
/* Write an already encoded segment durably as seq. On failure nothing of
 * it is left in the directory. */
int fl_store_write_segment(struct fl_store *st, uint64_t seq, const void *buf, size_t len);
/* Read a whole segment file into a malloc'd buffer the caller owns. */
int fl_store_read(struct fl_store *st, uint64_t seq, void **buf, size_t *len);

/* Priors (FORMAT.md 10): files prior-<seq 12 digits>.frp beside the
 * segments, seq being the segment each was made from. fl_store_bytes
 * counts them. */
/* Renew the prior when it is a day older than the segment just written:
 * a host's daemons, paths and command lines change over weeks, and a
 * prior costs about one idle segment's worth of bytes (2.5 KB on the
 * reference corpus's idle minute, against 144 segments a day that it
 * makes 1.8 KB smaller each). */
#define FL_PRIOR_RENEW_NS (24ull * 3600 * 1000000000)
/* Priors are written once a day: compressing them hard costs little. */
#define FL_PRIOR_LEVEL 19
/* From now on, fl_store_append (and fl_store_recover_journal) compress
 * each segment against the store's newest prior (its writer keeps
 * borrowing it: free the writer before closing the store), and
 * fl_store_renew_prior makes new ones; renew_ns 0 = FL_PRIOR_RENEW_NS. */
int fl_store_use_priors(struct fl_store *st, uint64_t renew_ns);
/* After fl_store_append(st, w, &seq): make a prior of segment seq (from
 * w's fl_writer_prior_content) when priors are in use and the store has
 * none, or its newest is renew_ns older than that segment's last event.
 * Returns 1 when it wrote one, 0 when none was due (or the segment was
 * too small to make one), or a negative errno (the segment is written
 * regardless; the store just goes on with its older prior). */
int fl_store_renew_prior(struct fl_store *st, struct fl_writer *w, uint64_t seq);
/* Every prior of the store that reads (the list and the priors are the
 * store's, valid until the next call that changes the store: append,
 * renew, cap, close), for fl_read_opts. A damaged prior file is left out
 * (fl_store_verify names it). */
int fl_store_priors(struct fl_store *st, const struct fl_prior *const **list, size_t *n);

/* fl_segment_open_ex (opts may be NULL) with the store's priors: how
 * every reader of a store opens its segments. */
int fl_store_segment_open(struct fl_store *st, const void *buf, size_t len, const struct fl_read_opts *opts,
			  struct fl_segment **out, struct fl_error *err);
/* Bytes and number of the store's prior files. */
uint64_t fl_store_prior_bytes(const struct fl_store *st, size_t *count);

/* Chain verification. On a problem fl_store_verify returns -EBADMSG and fills
 * res with the first bad segment. */
enum fl_verify_problem {
	FL_VERIFY_OK = 0,
	FL_VERIFY_MISSING,   /* a seq is absent (deleted segment): `seq` is it */
	FL_VERIFY_CORRUPT,   /* does not parse / bad checksum: `err` says where */
	FL_VERIFY_MISPLACED, /* header seq differs from file name (renamed/swapped) */
	FL_VERIFY_BROKEN_LINK, /* prev_hash differs from the previous file's hash:
				  the previous segment (`seq`) was replaced */
	FL_VERIFY_NO_PRIOR,  /* the segment needs a prior the store lacks */
};
struct fl_verify_result {
	uint64_t checked;          /* segments verified */
	enum fl_verify_problem problem;
	uint64_t seq;              /* segment named by the problem */
	char name[32];             /* its file name */
	struct fl_error err;       /* for FL_VERIFY_CORRUPT */
	char msg[256];             /* human-readable one-liner */
};
int fl_store_verify(struct fl_store *st, struct fl_verify_result *res);

/* What the byte cap dropped, for the caller's gap event. */
struct fl_drop {
	uint64_t segments, bytes, events;
	uint64_t first_seq, last_seq; /* 0, 0 when nothing dropped */
	uint64_t ts_min, ts_max;
};
/* Delete oldest segments until the store holds <= max_bytes (the newest
 * segment is never deleted). Records the last dropped segment's seq and hash
 * in the anchor file first, so verify still checks the first kept link.
 * Returns 0 (drop->segments may be 0). */
int fl_store_enforce_cap(struct fl_store *st, uint64_t max_bytes, struct fl_drop *drop);

/* ---- journal: crash-safe log of the open segment (open.frj) ---- */

struct fl_journal;
#define FL_JOURNAL_NAME "open.frj"

/* Create (truncating) a journal file. Caller owns *out (fl_journal_close).
 * fl_journal_create_seq also records the seq its segment will take (the
 * store's next seq): recovery then skips a journal whose segment exists. */
int fl_journal_create(const char *path, struct fl_journal **out);
int fl_journal_create_seq(const char *path, uint64_t seq, struct fl_journal **out);
/* Append n events as one checksummed record (buffered in the kernel; call
 * fl_journal_sync to make it durable). A failed append (a full disk)
 * leaves the file as it was: the part written is cut back off (or, should
 * that fail, every later append returns the same error), so recovery
 * still reads every record appended before it. */
int fl_journal_append(struct fl_journal *j, const struct fr_event *evs, size_t n);
/* Bytes of the journal file: its header and whole records. */
uint64_t fl_journal_size(const struct fl_journal *j);
/* From now on an append that would take the file over bytes (0: no limit)
 * writes nothing and returns -EFBIG: the byte cap counts the journal. */
void fl_journal_set_limit(struct fl_journal *j, uint64_t bytes);
int fl_journal_sync(struct fl_journal *j);
void fl_journal_close(struct fl_journal *j);

struct fl_journal_recovery {
	uint64_t seq;              /* the seq the journal was for (0: unknown, v1) */
	bool already_closed;       /* its segment exists: nothing was recovered */
	uint64_t records, events;  /* kept */
	uint64_t valid_bytes;      /* length of the valid prefix */
	uint64_t discarded_bytes;  /* torn / corrupt tail */
};
/* Decode a journal image: add every event of the valid record prefix to w
 * (which copies them); stops at the first torn or corrupt record. Returns 0,
 * or -EBADMSG when the journal header itself is bad (nothing added). */
int fl_journal_recover_buf(const void *buf, size_t len, struct fl_writer *w,
			   struct fl_journal_recovery *rec);
/* Same from a file; -ENOENT when it does not exist. */
int fl_journal_recover(const char *path, struct fl_writer *w,
		       struct fl_journal_recovery *rec);
/* Store-level restart: if DIR/open.frj exists, turn its valid prefix into the
 * next segment (none if it holds no event) and unlink it. rec (may be NULL)
 * reports what was kept; *seq_out (may be NULL) is the new seq or 0. */
int fl_store_recover_journal(struct fl_store *st, struct fl_journal_recovery *rec,
			     uint64_t *seq_out);
/* Read the store's journal into w as the next start would, changing
 * nothing: *rec says what it holds, with already_closed when its segment
 * was written before a crash (its events are in that segment). Returns
 * fl_journal_recover's result: -ENOENT without a journal, -EBADMSG for a
 * bad header (everything discarded). */
int fl_store_journal_read(struct fl_store *st, struct fl_writer *w, struct fl_journal_recovery *rec);
/* The segment being recorded, from the store's journal as it is now: a
 * segment image (blocks stored raw, no prior, zero prev hash) of the
 * events of its whole records, to take seq *seq. A reader that lists the
 * store's segments after this call uses it when no listed segment has
 * *seq (else that segment was closed meanwhile and holds these events).
 * -ENOENT when there is no journal or it has no events yet. The caller
 * owns *buf. */
int fl_store_journal_image(struct fl_store *st, void **buf, size_t *len, uint64_t *seq);
/* fl_store_open, for a reader of a store that may be being recorded: the
 * segment being recorded is read first (fl_store_journal_image), then the
 * segments are listed, so that one closed in between is in the listing.
 * *image (the caller's) is NULL when there is none, when the listing has
 * its seq, or when the journal could not be read: *image_err (may be NULL)
 * then has that negative errno, else 0. */
int fl_store_open_live(const char *dir, struct fl_store **out, void **image, size_t *len, uint64_t *seq,
		       int *image_err);
/* Path of the store's journal into buf. */
const char *fl_store_journal_path(const struct fl_store *st, char *buf, size_t len);

#endif
