/* fq_internal.h - private to src/query: small tables the engine shares, and
 * the services section's classifiers.
 *
 * Why: a hash table for groups and sets, a pointer memo for per-segment
 * match results and the unit-name / service-action classification are used
 * by several files of the engine (and its unit tests); they are not part of
 * its public API (query.h). */
#ifndef FLIGHTREC_FQ_INTERNAL_H
#define FLIGHTREC_FQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

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
