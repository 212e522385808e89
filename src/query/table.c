/* table.c - the query engine's two small hash tables.
 *
 * Why: aggregation keys, session first-occurrences and --argv processes
 * need a string-keyed table; per-event matching needs a pointer-keyed memo
 * so that a glob is tested once per dictionary entry, not once per event. */
#include "query/fq_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	while (n--) {
		h ^= *s++;
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static int hmap_grow(struct fq_hmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct fq_hent *v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->v[i].key)
			continue;
		size_t j = m->v[i].hash & (cap - 1);
		while (v[j].key)
			j = (j + 1) & (cap - 1);
		v[j] = m->v[i];
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
	return 0;
}

struct fq_hent *fq_hmap_get(struct fq_hmap *m, const void *key, uint32_t klen, bool create, bool *created)
{
	if (created)
		*created = false;
	uint64_t h = hash_bytes(key, klen);
	if (m->cap) {
		size_t j = h & (m->cap - 1);
		while (m->v[j].key) {
			if (m->v[j].hash == h && m->v[j].klen == klen && !memcmp(m->v[j].key, key, klen))
				return &m->v[j];
			j = (j + 1) & (m->cap - 1);
		}
	}
	if (!create)
		return NULL;
	if ((m->n + 1) * 2 > m->cap && hmap_grow(m) < 0)
		return NULL;
	char *k = malloc(klen + 1);
	if (!k)
		return NULL;
	memcpy(k, key, klen);
	k[klen] = 0;
	size_t j = h & (m->cap - 1);
	while (m->v[j].key)
		j = (j + 1) & (m->cap - 1);
	m->v[j] = (struct fq_hent){.key = k, .klen = klen, .hash = h};
	m->n++;
	if (created)
		*created = true;
	return &m->v[j];
}

void fq_hmap_free(struct fq_hmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static size_t ptr_slot(const void *k, size_t cap)
{
	uint64_t x = (uint64_t)(uintptr_t)k;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x & (cap - 1);
}

uint8_t fq_pmemo_get(const struct fq_pmemo *m, const void *k)
{
	if (!m->cap)
		return 0;
	size_t j = ptr_slot(k, m->cap);
	while (m->k[j]) {
		if (m->k[j] == k)
			return m->v[j];
		j = (j + 1) & (m->cap - 1);
	}
	return 0;
}

int fq_pmemo_put(struct fq_pmemo *m, const void *k, uint8_t v)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		const void **nk = calloc(cap, sizeof(*nk));
		uint8_t *nv = calloc(cap, 1);
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->k[i])
				continue;
			size_t j = ptr_slot(m->k[i], cap);
			while (nk[j])
				j = (j + 1) & (cap - 1);
			nk[j] = m->k[i];
			nv[j] = m->v[i];
		}
		free(m->k);
		free(m->v);
		m->k = nk;
		m->v = nv;
		m->cap = cap;
	}
	size_t j = ptr_slot(k, m->cap);
	while (m->k[j] && m->k[j] != k)
		j = (j + 1) & (m->cap - 1);
	if (!m->k[j])
		m->n++;
	m->k[j] = k;
	m->v[j] = v;
	return 0;
}

void fq_pmemo_clear(struct fq_pmemo *m)
{
	if (m->cap) {
		memset(m->k, 0, m->cap * sizeof(*m->k));
		m->n = 0;
	}
	m->last_k = NULL;
}

void fq_pmemo_free(struct fq_pmemo *m)
{
	if (!m)
		return;
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}
