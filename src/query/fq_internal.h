/* fq_internal.h - private to src/query: small tables the engine shares.
 *
 * Why: a hash table for groups and sets and a pointer memo for per-segment
 * match results are used by several parts of the engine; they are not part
 * of its public API (query.h). */
#ifndef FLIGHTREC_FQ_INTERNAL_H
#define FLIGHTREC_FQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
