/* probe.c - read a segment's summary and one dictionary without the rest.
 *
 * Why: most segments of a long log cannot match a query, and the summary
 * (docs/FORMAT.md section 3) and the dictionaries say so from a few KB.
 * Reading the whole file, checksumming and hashing it, as fl_segment_open
 * does, would cost far more than the answer. This is a second reader of the
 * documented format, limited to the header, block table, summary and
 * dictionaries, with the same CRC and bounds checks on what it reads. */
#include "query/fq_internal.h"
#include "flightlog/flightlog.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#define HDR_SIZE 128
#define DESC_SIZE 40
#define MAX_BLOCKS 1024
#define MAX_RAW (1ull << 30)

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

int fq_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EBADMSG;
		got += (size_t)k;
	}
	return 0;
}

static int varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	for (int i = 0; i < 10; i++) {
		if (p >= end)
			return -EBADMSG;
		uint8_t b = *p++;
		if (i == 9 && b > 1)
			return -EBADMSG;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*pp = p;
			*out = v;
			return 0;
		}
	}
	return -EBADMSG;
}

static int read_member(int fd, struct fq_probe *p, uint32_t type, uint8_t **out, size_t *len,
		       uint32_t *items, const char **why);

/* Read, check and decompress block `type`; *out NULL with *len 0 when the
 * block is absent. */
static int read_block(int fd, struct fq_probe *p, uint32_t type, uint8_t **out, size_t *len,
		      uint32_t *items, const char **why)
{
	for (uint32_t i = 0; i < p->nblocks; i++) {
		const uint8_t *d = p->table + (size_t)i * DESC_SIZE;
		if (rd32(d) != type)
			continue;
		uint32_t codec = rd32(d + 4);
		uint64_t off = rd64(d + 8), stored = rd64(d + 16), raw = rd64(d + 24);
		uint32_t crc = rd32(d + 32);
		if (codec > 1 || off > p->file_size || stored > p->file_size - off || raw > MAX_RAW ||
		    (codec == 0 && raw != stored)) {
			*why = "bad block descriptor";
			return -EBADMSG;
		}
		uint8_t *s = malloc(stored ? stored : 1);
		if (!s)
			return -ENOMEM;
		int r = fq_pread_all(fd, s, stored, off);
		if (r < 0) {
			free(s);
			*why = "cannot read block";
			return r;
		}
		p->bytes_read += stored;
		if (fl_crc32c(0, s, stored) != crc) {
			free(s);
			*why = "bad block checksum";
			return -EBADMSG;
		}
		if (codec == 1) {
			uint8_t *u = malloc(raw ? raw : 1);
			if (!u) {
				free(s);
				return -ENOMEM;
			}
			size_t z = ZSTD_decompress(u, raw, s, stored);
			free(s);
			if (ZSTD_isError(z) || z != raw) {
				free(u);
				*why = "bad zstd block";
				return -EBADMSG;
			}
			s = u;
		}
		*out = s;
		*len = raw;
		if (items)
			*items = rd32(d + 36);
		return 0;
	}
	if (type != FQ_BLK_PACK && type != FQ_BLK_SUMMARY && (p->incompat & FQ_INCOMPAT_PACKED))
		return read_member(fd, p, type, out, len, items, why);
	*out = NULL;
	*len = 0;
	if (items)
		*items = 0;
	return 0;
}

/* Block `type` as a member of the pack (FORMAT.md 2.4): the pack is read
 * and checked like any block, its sub-table checked against its length,
 * and the member's bytes moved to the front of the pack's buffer. */
static int read_member(int fd, struct fq_probe *p, uint32_t type, uint8_t **out, size_t *len,
		       uint32_t *items, const char **why)
{
	uint8_t *s = NULL;
	size_t slen = 0;
	int r = read_block(fd, p, FQ_BLK_PACK, &s, &slen, NULL, why);
	if (r < 0)
		return r;
	uint64_t n, at = 0, found = UINT64_MAX, flen = 0, fitems = 0;
	const uint8_t *q = s, *end = s + slen;
	*why = "bad pack sub-table";
	if (s && (varint(&q, end, &n) < 0 || n < 1 || n > MAX_BLOCKS || n > slen / 3))
		r = -EBADMSG;
	for (uint64_t k = 0; s && !r && k < n; k++) {
		uint64_t t, it, l;
		if (varint(&q, end, &t) < 0 || varint(&q, end, &it) < 0 || varint(&q, end, &l) < 0 ||
		    it > UINT32_MAX || l > slen)
			r = -EBADMSG;
		else if (t == type && found == UINT64_MAX)
			found = at, flen = l, fitems = it;
		at += l;
	}
	if (!r && s && at != (uint64_t)(end - q))
		r = -EBADMSG;
	if (r < 0 || found == UINT64_MAX) {
		free(s);
		*out = NULL;
		*len = 0;
		if (items)
			*items = 0;
		return r;
	}
	memmove(s, q + found, flen);
	*out = s;
	*len = flen;
	if (items)
		*items = (uint32_t)fitems;
	*why = NULL;
	return 0;
}

static int parse_summary(struct fq_probe *p, const uint8_t *s, size_t len, const char **why)
{
	const uint8_t *q = s, *end = s + len;
	uint64_t ec, t0, t1, nk, np, nh, m, k;
	*why = "bad summary";
#define GV(x)                                      \
	do {                                       \
		if (varint(&q, end, &(x)) < 0)     \
			return -EBADMSG;           \
	} while (0)
	GV(ec);
	GV(t0);
	GV(t1);
	if (ec != p->event_count || t0 != p->ts_min || t1 != p->ts_max)
		return -EBADMSG;
	GV(nk);
	if (nk > (uint64_t)(end - q))
		return -EBADMSG;
	for (uint64_t i = 0; i <= nk; i++) {
		uint64_t c;
		GV(c);
		if (i < nk && i < FQ_KIND_SLOTS)
			p->kind_count[i] = c;
		else
			p->other_kinds += c;
	}
	GV(np);
	if (np > (uint64_t)(end - q))
		return -EBADMSG;
	for (uint64_t i = 0; i < np; i++) {
		uint64_t d;
		GV(d);
	}
	GV(nh);
	if (nh > (uint64_t)(end - q))
		return -EBADMSG;
	p->hosts = malloc((nh ? nh : 1) * sizeof(char *));
	p->hosts_blob = malloc((size_t)(end - q) + nh + 1);
	if (!p->hosts || !p->hosts_blob)
		return -ENOMEM;
	char *a = p->hosts_blob;
	for (uint64_t i = 0; i < nh; i++) {
		uint64_t l;
		GV(l);
		if (l > (uint64_t)(end - q))
			return -EBADMSG;
		memcpy(a, q, l);
		a[l] = 0;
		p->hosts[i] = a;
		a += l + 1;
		q += l;
	}
	p->nhosts = nh;
	GV(m);
	GV(k);
	if (m && (m < 8 || m > (1u << 30) || (m & (m - 1)) || k < 1 || k > 32))
		return -EBADMSG;
	if (m / 8 != (uint64_t)(end - q))
		return -EBADMSG;
	if (m) {
		p->bloom = malloc(m / 8);
		if (!p->bloom)
			return -ENOMEM;
		memcpy(p->bloom, q, m / 8);
		p->bloom_m = (uint32_t)m;
		p->bloom_k = (uint32_t)k;
	}
#undef GV
	*why = NULL;
	return 0;
}

int fq_probe_read(int fd, uint64_t size, struct fq_probe *out, const char **why)
{
	struct fq_probe p = {0};
	uint8_t h[HDR_SIZE];
	*why = "file too short";
	if (size < HDR_SIZE)
		return -EBADMSG;
	int r = fq_pread_all(fd, h, HDR_SIZE, 0);
	if (r < 0)
		return r;
	p.bytes_read = HDR_SIZE;
	*why = "bad magic";
	if (memcmp(h, "FRLOGSEG", 8))
		return -EBADMSG;
	*why = "unsupported version";
	if (rd32(h + 8) != 1)
		return -EOPNOTSUPP;
	uint32_t hsize = rd32(h + 12);
	*why = "bad header size";
	if (hsize < HDR_SIZE || hsize > 4096 || hsize > size)
		return -EBADMSG;
	uint8_t hx[4096];
	memcpy(hx, h, HDR_SIZE);
	if (hsize > HDR_SIZE) {
		r = fq_pread_all(fd, hx + HDR_SIZE, hsize - HDR_SIZE, HDR_SIZE);
		if (r < 0)
			return r;
	}
	static const uint8_t zero4[4];
	uint32_t c = fl_crc32c(0, hx, 124);
	c = fl_crc32c(c, zero4, 4);
	c = fl_crc32c(c, hx + HDR_SIZE, hsize - HDR_SIZE);
	*why = "bad header checksum";
	if (c != rd32(h + 124))
		return -EBADMSG;
	/* Incompatible features known not to change the header, table, summary
	 * or dictionaries (0x1: delta-coded ports, 0x2: the ts unit, both in
	 * event columns; 0x4: lanes and 0x8: new-reference codes, event
	 * columns too), and 0x10, the pack, which this reader reads; the full
	 * decoder (fl_segment_open) checks the flags again for the columns. */
	*why = "unknown incompatible features";
	if (rd32(h + 20) & ~0x1fu)
		return -EOPNOTSUPP;
	p.incompat = rd32(h + 20);
	p.seq = rd64(h + 24);
	p.event_count = rd64(h + 64);
	p.ts_min = rd64(h + 72);
	p.ts_max = rd64(h + 80);
	p.nblocks = rd32(h + 88);
	uint64_t toff = rd64(h + 96);
	p.file_size = rd64(h + 104);
	*why = "file size differs from the header's";
	if (p.file_size != size)
		return -EBADMSG;
	*why = "bad block table bounds";
	if (p.nblocks > MAX_BLOCKS || toff < hsize || toff > size ||
	    (uint64_t)p.nblocks * DESC_SIZE > size - toff)
		return -EBADMSG;
	size_t tlen = (size_t)p.nblocks * DESC_SIZE;
	p.table = malloc(tlen ? tlen : 1);
	if (!p.table)
		return -ENOMEM;
	r = fq_pread_all(fd, p.table, tlen, toff);
	p.bytes_read += tlen;
	if (r < 0 || fl_crc32c(0, p.table, tlen) != rd32(h + 112)) {
		free(p.table);
		*why = "bad block table checksum";
		return r < 0 ? r : -EBADMSG;
	}
	uint8_t *s = NULL;
	size_t slen = 0;
	r = read_block(fd, &p, FQ_BLK_SUMMARY, &s, &slen, NULL, why);
	if (!r && !s) {
		*why = "no summary block";
		r = -EBADMSG;
	}
	if (!r)
		r = parse_summary(&p, s, slen, why);
	free(s);
	if (r < 0) {
		fq_probe_free(&p);
		return r;
	}
	*out = p;
	*why = NULL;
	return 0;
}

int fq_probe_dict(int fd, struct fq_probe *p, uint32_t type, struct fq_dict *out, const char **why)
{
	uint8_t *s = NULL;
	size_t len = 0;
	uint32_t n = 0;
	int r = read_block(fd, p, type, &s, &len, &n, why);
	if (r < 0)
		return r;
	struct fq_dict d = {0};
	d.off = malloc((n ? n : 1) * sizeof(uint32_t));
	d.len = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!d.off || !d.len) {
		free(s);
		fq_dict_free(&d);
		return -ENOMEM;
	}
	const uint8_t *q = s, *end = s + len;
	uint64_t total = 0;
	r = 0;
	for (uint32_t i = 0; i < n && !r; i++) {
		uint64_t l;
		if (varint(&q, end, &l) < 0 || l > len)
			r = -EBADMSG;
		else {
			d.len[i] = (uint32_t)l;
			d.off[i] = (uint32_t)total;
			total += l + 1;
		}
	}
	if (!r && total != (uint64_t)(end - q))
		r = -EBADMSG;
	if (r < 0) {
		*why = "bad dictionary";
		free(s);
		fq_dict_free(&d);
		return r;
	}
	size_t hdr = (size_t)(q - s);
	for (uint32_t i = 0; i < n; i++)
		d.off[i] += (uint32_t)hdr;
	d.data = (char *)s;
	d.n = n;
	*out = d;
	return 0;
}

static uint64_t fnv1a64(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	while (n--) {
		h ^= (uint8_t)*s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

bool fq_probe_may_have_path(const struct fq_probe *p, const char *path)
{
	if (!p->bloom_m)
		return false; /* no filter: the paths dictionary is empty */
	uint64_t h = fnv1a64(path, strlen(path));
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	for (uint32_t i = 0; i < p->bloom_k; i++) {
		uint32_t b = (h1 + i * h2) & (p->bloom_m - 1);
		if (!(p->bloom[b >> 3] & (1u << (b & 7))))
			return false;
	}
	return true;
}

void fq_probe_free(struct fq_probe *p)
{
	if (!p)
		return;
	free(p->hosts_blob);
	free(p->hosts);
	free(p->bloom);
	free(p->table);
	memset(p, 0, sizeof(*p));
}

void fq_dict_free(struct fq_dict *d)
{
	if (!d)
		return;
	free(d->data);
	free(d->off);
	free(d->len);
	memset(d, 0, sizeof(*d));
}
