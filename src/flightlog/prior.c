/* prior.c - priors: the bytes a host's segments are compressed against.
 *
 * Why: every segment starts its dictionaries empty, so each one carries
 * the process names, paths and command lines of its host again. On a busy
 * host that is a few percent; on an idle one it is nearly the whole
 * segment, and idle hosts are most of a fleet. A prior is a run of those
 * strings from an earlier segment of the same host, used as zstd's
 * raw-content dictionary: a later segment references it by hash and pays
 * only for what is new. Segments stay independent of each other (any one
 * reads with its prior alone), and the prior is a file of its own with a
 * checksum and a hash, so a missing or edited one is named, not guessed.
 * FORMAT.md 10 is the specification. */
#include "flightlog/fl_internal.h"

#include <stdio.h>
#include <zstd.h>

#define PRIOR_MAX_HEADER_SIZE 4096u

struct fl_prior {
	struct fl_prior_info info;
	uint8_t *content;
	ZSTD_DDict *ddict;
};

const char *fl_hash_short(const uint8_t hash[FL_HASH_LEN], char buf[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(buf + 2 * i, 3, "%02x", hash[i]);
	return buf;
}

/* Takes ownership of content (malloc'd, len bytes) whatever it returns. */
static int prior_make(uint8_t *content, size_t len, uint64_t source_seq, uint64_t made_ns,
		      const uint8_t *hash, struct fl_prior **out)
{
	struct fl_prior *p = calloc(1, sizeof(*p));
	if (!p) {
		free(content);
		return -ENOMEM;
	}
	p->content = content;
	p->info.size = len;
	p->info.source_seq = source_seq;
	p->info.made_ns = made_ns;
	if (hash)
		memcpy(p->info.hash, hash, FL_HASH_LEN);
	else
		fl_sha256(content, len, p->info.hash);
	p->ddict = ZSTD_createDDict(content, len);
	if (!p->ddict) {
		fl_prior_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

static bool content_ok(const void *content, size_t len)
{
	return len >= FL_PRIOR_MIN && len <= FL_PRIOR_MAX && memcmp(content, FL_ZSTD_DICT_MAGIC, 4);
}

int fl_prior_new(const void *content, size_t len, uint64_t source_seq, uint64_t made_ns, struct fl_prior **out)
{
	if (!content || !content_ok(content, len))
		return -EINVAL;
	uint8_t *c = malloc(len);
	if (!c)
		return -ENOMEM;
	memcpy(c, content, len);
	return prior_make(c, len, source_seq, made_ns, NULL, out);
}

int fl_prior_encode(const struct fl_prior *p, int level, void **out, size_t *len)
{
	size_t bound = ZSTD_compressBound(p->info.size);
	uint8_t *o = malloc(sizeof(struct fl_prior_header) + bound);
	if (!o)
		return -ENOMEM;
	uint8_t *body = o + sizeof(struct fl_prior_header);
	size_t n = ZSTD_compress(body, bound, p->content, p->info.size, level ? level : FL_DEFAULT_LEVEL);
	if (ZSTD_isError(n) || n >= p->info.size) { /* stored raw when zstd does not help */
		n = p->info.size;
		memcpy(body, p->content, n);
	}
	struct fl_prior_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, FL_PRIOR_MAGIC, 8);
	h.version = htole32(FL_PRIOR_VERSION);
	h.header_size = htole32(sizeof(h));
	h.source_seq = htole64(p->info.source_seq);
	h.made_ns = htole64(p->info.made_ns);
	h.content_size = htole64(p->info.size);
	h.stored_size = htole64(n);
	memcpy(h.content_hash, p->info.hash, FL_HASH_LEN);
	h.stored_crc = htole32(fl_crc32c(0, body, n));
	h.header_crc = htole32(fl_crc32c(0, &h, sizeof(h)));
	memcpy(o, &h, sizeof(h));
	*out = o;
	*len = sizeof(h) + n;
	return 0;
}

int fl_prior_parse(const void *vbuf, size_t len, struct fl_prior **out, struct fl_error *err)
{
	const uint8_t *buf = vbuf;
	struct fl_prior_header h;
	if (len < sizeof(h))
		return fl_set_error(err, -EBADMSG, 0, "prior", "file too short (%zu bytes)", len);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, FL_PRIOR_MAGIC, 8))
		return fl_set_error(err, -EBADMSG, 0, "prior", "bad magic");
	uint32_t version = le32toh(h.version), hsize = le32toh(h.header_size);
	if (version != FL_PRIOR_VERSION)
		return fl_set_error(err, -EOPNOTSUPP, offsetof(struct fl_prior_header, version), "prior",
				    "unsupported version %u", version);
	if (hsize < sizeof(h) || hsize > PRIOR_MAX_HEADER_SIZE || hsize > len)
		return fl_set_error(err, -EBADMSG, offsetof(struct fl_prior_header, header_size), "prior",
				    "bad header size %u", hsize);
	static const uint8_t zero4[4];
	uint32_t c = fl_crc32c(0, buf, offsetof(struct fl_prior_header, header_crc));
	c = fl_crc32c(c, zero4, 4);
	c = fl_crc32c(c, buf + sizeof(h), hsize - sizeof(h));
	if (c != le32toh(h.header_crc) && !FL_FUZZING)
		return fl_set_error(err, -EBADMSG, 0, "prior", "bad checksum");
	if (le32toh(h.incompat_flags))
		return fl_set_error(err, -EOPNOTSUPP, offsetof(struct fl_prior_header, incompat_flags), "prior",
				    "unknown incompatible features 0x%x", le32toh(h.incompat_flags));
	uint64_t csize = le64toh(h.content_size), ssize = le64toh(h.stored_size);
	if (csize < FL_PRIOR_MIN || csize > FL_PRIOR_MAX)
		return fl_set_error(err, -EBADMSG, offsetof(struct fl_prior_header, content_size), "prior",
				    "content size %llu out of range", (unsigned long long)csize);
	if (ssize != len - hsize)
		return fl_set_error(err, -EBADMSG, len, "prior", "file size %zu, header says %llu", len,
				    (unsigned long long)(hsize + ssize));
	if (ssize > csize)
		return fl_set_error(err, -EBADMSG, offsetof(struct fl_prior_header, stored_size), "prior",
				    "stored size %llu larger than the content", (unsigned long long)ssize);
	const uint8_t *body = buf + hsize;
	if (fl_crc32c(0, body, ssize) != le32toh(h.stored_crc) && !FL_FUZZING)
		return fl_set_error(err, -EBADMSG, hsize, "prior", "bad checksum");
	uint8_t *content = malloc(csize);
	if (!content)
		return fl_set_error(err, -ENOMEM, hsize, "prior", "out of memory");
	if (ssize == csize) {
		memcpy(content, body, csize);
	} else {
		/* one frame, exactly (ZSTD_decompress would take several) */
		size_t got = ZSTD_getFrameContentSize(body, ssize) == csize &&
				     ZSTD_findFrameCompressedSize(body, ssize) == ssize
			     ? ZSTD_decompress(content, csize, body, ssize)
			     : (size_t)-1;
		if (ZSTD_isError(got) || got != csize) {
			free(content);
			return fl_set_error(err, -EBADMSG, hsize, "prior", "zstd decompression failed");
		}
	}
	uint8_t hash[FL_HASH_LEN];
	fl_sha256(content, csize, hash);
	if (memcmp(hash, h.content_hash, FL_HASH_LEN) && !FL_FUZZING) {
		free(content);
		return fl_set_error(err, -EBADMSG, offsetof(struct fl_prior_header, content_hash), "prior",
				    "content does not match its hash");
	}
	if (!content_ok(content, csize)) {
		free(content);
		return fl_set_error(err, -EBADMSG, hsize, "prior", "content starts with zstd's dictionary magic");
	}
	int r = prior_make(content, csize, le64toh(h.source_seq), le64toh(h.made_ns), h.content_hash, out);
	if (r)
		return fl_set_error(err, r, 0, "prior", "out of memory");
	return 0;
}

const struct fl_prior_info *fl_prior_info(const struct fl_prior *p)
{
	return &p->info;
}

const uint8_t *fl_prior_content(const struct fl_prior *p, size_t *len)
{
	*len = p->info.size;
	return p->content;
}

const struct ZSTD_DDict_s *fl_prior_ddict(const struct fl_prior *p)
{
	return p->ddict;
}

void fl_prior_free(struct fl_prior *p)
{
	if (!p)
		return;
	ZSTD_freeDDict(p->ddict);
	free(p->content);
	free(p);
}

int fl_segment_peek_prior(const void *vbuf, size_t len, uint8_t hash[FL_HASH_LEN])
{
	const uint8_t *buf = vbuf;
	struct fl_seg_header h;
	if (len < sizeof(h))
		return -EBADMSG;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, FL_SEG_MAGIC, 8))
		return -EBADMSG;
	if (!(le32toh(h.incompat_flags) & FL_INCOMPAT_PRIOR))
		return 0;
	if (le32toh(h.header_size) < FL_PRIOR_HEADER_SIZE || len < FL_PRIOR_HEADER_SIZE)
		return -EBADMSG;
	if (hash)
		memcpy(hash, buf + FL_PRIOR_HASH_OFFSET, FL_HASH_LEN);
	return 1;
}
