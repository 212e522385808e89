/* fq_internal.h - private to src/query: the segment probe and small tables.
 *
 * Why: skipping a segment must cost a few small reads, not the whole file.
 * The probe reads a segment's header, block table and summary (and, on
 * demand, one dictionary) with pread, straight from docs/FORMAT.md, so the
 * engine decides from a few KB whether the events are worth decoding. */
#ifndef FLIGHTREC_FQ_INTERNAL_H
#define FLIGHTREC_FQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

#define FQ_KIND_SLOTS 64
#define FQ_BLK_SUMMARY 1u
#define FQ_BLK_HOSTS 16u
#define FQ_BLK_COMMS 17u
#define FQ_BLK_PATHS 18u

struct fq_probe {
	uint64_t seq, event_count, ts_min, ts_max, file_size;
	uint64_t kind_count[FQ_KIND_SLOTS], other_kinds;
	char *hosts_blob;      /* NUL-terminated hosts, one after the other */
	const char **hosts;
	size_t nhosts;
	uint8_t *bloom;
	uint32_t bloom_m, bloom_k;
	uint32_t nblocks;
	uint8_t *table;        /* nblocks * 40 bytes */
	uint64_t bytes_read;
};

/* A dictionary block, decompressed: entry i is data + off[i] (NUL-terminated),
 * of length len[i]. */
struct fq_dict {
	char *data;
	uint32_t *off, *len;
	size_t n;
};

/* Read the header, table and summary of the segment file fd (size bytes).
 * Checks magic, version, CRCs and bounds. 0, or -EBADMSG/-EOPNOTSUPP/-errno
 * with why (a static string) set. */
int fq_probe_read(int fd, uint64_t size, struct fq_probe *p, const char **why);
/* Read dictionary block `type` (FQ_BLK_*); an absent block is empty. */
int fq_probe_dict(int fd, struct fq_probe *p, uint32_t type, struct fq_dict *d, const char **why);
/* The summary's bloom filter: false when path is surely absent from the
 * paths dictionary. */
bool fq_probe_may_have_path(const struct fq_probe *p, const char *path);
void fq_probe_free(struct fq_probe *p);
/* pread exactly n bytes at off (-EBADMSG on a short file). */
int fq_pread_all(int fd, void *buf, size_t n, uint64_t off);
void fq_dict_free(struct fq_dict *d);


/* A hash table with byte-string keys (copied) and three u64 values. */
struct fq_hent {
	char *key;       /* NULL: free slot */
	uint32_t klen;
	uint64_t hash;
	uint64_t a, b, c;
};
struct fq_hmap {
	struct fq_hent *v;
	size_t cap, n;
};
/* Find key; when absent and create is true, insert it with a = b = c = 0
 * (*created set). NULL when absent (create false) or out of memory. */
struct fq_hent *fq_hmap_get(struct fq_hmap *m, const void *key, uint32_t klen, bool create, bool *created);
void fq_hmap_free(struct fq_hmap *m);

/* Pointer -> small value memo (results of matching dictionary strings:
 * within one decoded segment, equal strings share one pointer). */
struct fq_pmemo {
	const void **k;
	uint8_t *v;
	size_t cap, n;
	const void *last_k; /* the last key looked up, and its value: a change */
	uint8_t last_v;     /* and the next event often name the same file */
};
/* 0 unknown, else the stored value (1..255). */
uint8_t fq_pmemo_get(const struct fq_pmemo *m, const void *k);
int fq_pmemo_put(struct fq_pmemo *m, const void *k, uint8_t v);
void fq_pmemo_clear(struct fq_pmemo *m);
void fq_pmemo_free(struct fq_pmemo *m);

/* ---- services.c: reading service changes out of events ---- */

#define FQ_UNIT_NAME_MAX 255  /* systemd's limit on a unit name */

/* Normalise a unit name as systemctl does (nginx and nginx.service are one
 * unit): bytes outside systemd's unit-name alphabet become \xNN, a name
 * without a unit type gets ".service" (not a glob), an absolute path to a
 * unit file gives its file name. Writes a NUL-terminated name into buf and
 * returns its length; -EINVAL for an empty name, an option or a path that
 * does not name a unit file, -ENAMETOOLONG past FQ_UNIT_NAME_MAX or buflen. */
int fq_unit_name(const char *name, size_t len, char *buf, size_t buflen);

/* What a file change does to a service: 1 with *action (a static string:
 * created, modified, deleted, renamed, enabled, disabled, masked, linked)
 * and the unit in unit; 0 when the event touches no unit file, drop-in,
 * enablement link, init script or rc link. kind, path and path2 as in
 * struct fr_event. */
int fq_svc_classify_file(uint32_t kind, const char *path, const char *path2, const char **action, char *unit,
			 size_t unitlen);

/* A command that changes a service, parsed from an exec's argv. */
#define FQ_SVC_MAX_UNITS 16
struct fq_svc_cmd {
	const char *tool;  /* static: systemctl, service, invoke-rc.d, update-rc.d, init.d */
	const char *verb;  /* static: start, restart, enable, daemon-reload, ... */
	size_t nunits;     /* unit arguments (not normalised): pointers into
			      argv (or into the exe for an init script) */
	const char *unit[FQ_SVC_MAX_UNITS];
	uint32_t unit_len[FQ_SVC_MAX_UNITS];
	bool more;         /* more units than FQ_SVC_MAX_UNITS */
};
/* exe: the exec's path (the file run), may be NULL; argv: the NUL-separated
 * blob (the last argument may lack its NUL when truncated). 1 and *out
 * filled for a service-changing command, 0 for anything else (another
 * program, a read-only verb such as status, no arguments). */
int fq_svc_classify_cmd(const char *exe, const char *argv, uint32_t argv_len, struct fq_svc_cmd *out);

/* The file patterns of the services section (unit directories, init.d, rc
 * links), for the engine's path filter. Static. */
const struct fq_path *fq_svc_paths(size_t *n);

#endif
