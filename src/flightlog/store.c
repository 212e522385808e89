/* store.c - the local segment store and the open-segment journal.
 *
 * Why: segments are only useful if they survive crashes and tampering is
 * visible. The store names segments by sequence number, writes them
 * atomically (tmp + fsync + rename + fsync dir), verifies the SHA-256 chain
 * across the directory, and trims the oldest segments to a byte cap while
 * remembering the last dropped link (chain.anchor) so the chain still
 * verifies. The journal holds the events of the segment being built, as
 * checksummed records, so a crash loses at most the unsynced tail. The
 * store also keeps the priors its segments are compressed against
 * (prior-<seq>.frp, FORMAT.md 10): it hands the newest to each segment it
 * writes, makes a new one when that is old, gives readers all of them, and
 * deletes one only when no kept segment needs it. */
#include "flightlog/fl_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define ANCHOR_NAME "chain.anchor"
#define ANCHOR_MAGIC "FRANCHOR"
#define ANCHOR_SIZE 52 /* magic 8, le64 seq, hash 32, le32 crc of the first 48 */
#define MAX_SEGMENT_FILE (1ull << 32)
#define MAX_PRIOR_FILE (FL_PRIOR_MAX + 4096ull)

/* ------------------------------------------------------------ file I/O */

static int read_file_at(int dfd, const char *name, uint64_t cap, void **buf, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if ((uint64_t)st.st_size > cap) {
		close(fd);
		return -EFBIG;
	}
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *p = malloc(n ? n : 1);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int r = k < 0 ? -errno : -EIO;
			free(p);
			close(fd);
			return r;
		}
		got += (size_t)k;
	}
	close(fd);
	*buf = p;
	*len = n;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Durably replace dir/name with buf: tmp file, fsync, rename, fsync dir. */
static int write_durable(int dfd, const char *name, const void *buf, size_t len)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, buf, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r) {
		unlinkat(dfd, tmp, 0);
		return r;
	}
	return fsync(dfd) < 0 ? -errno : 0;
}

/* ---------------------------------------------------------------- store */

struct fl_store {
	char *dir;
	int dfd;
	struct fl_store_entry *e;
	size_t n, cap;
	uint64_t bytes;
	bool have_anchor;
	uint64_t anchor_seq;
	uint8_t anchor_hash[FL_HASH_LEN];
	bool tip_known;
	uint64_t tip_seq;
	uint8_t tip_hash[FL_HASH_LEN];
	/* priors in ascending seq order; pr[i].p loaded on first need */
	struct store_prior {
		uint64_t seq, size;
		struct fl_prior *p;
		bool tried;          /* loaded, or failed to: err says why */
		struct fl_error err;
	} *pr;
	size_t npr, prcap;
	const struct fl_prior **plist; /* the loaded ones, for readers */
	size_t nplist;
	bool use_priors;
	uint64_t prior_renew_ns;
};

/* PREFIX + 12 decimal digits + SUFFIX: the digits' value. */
static bool parse_numbered_name(const char *name, const char *prefix, const char *suffix, uint64_t *seq)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	if (strlen(name) != pl + 12 + sl || strncmp(name, prefix, pl) || strcmp(name + pl + 12, suffix))
		return false;
	uint64_t v = 0;
	for (size_t i = pl; i < pl + 12; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*seq = v;
	return true;
}

static bool parse_seg_name(const char *name, uint64_t *seq)
{
	return parse_numbered_name(name, "seg-", ".frl", seq) && *seq != 0;
}

static void seg_name(uint64_t seq, char out[32])
{
	snprintf(out, 32, "seg-%012llu.frl", (unsigned long long)seq);
}

static bool parse_prior_name(const char *name, uint64_t *seq)
{
	return parse_numbered_name(name, "prior-", ".frp", seq);
}

static void prior_name(uint64_t seq, char out[32])
{
	snprintf(out, 32, "prior-%012llu.frp", (unsigned long long)seq);
}

static int cmp_prior(const void *a, const void *b)
{
	uint64_t x = ((const struct store_prior *)a)->seq, y = ((const struct store_prior *)b)->seq;
	return x < y ? -1 : x > y;
}

static void priors_clear(struct fl_store *st)
{
	for (size_t i = 0; i < st->npr; i++)
		fl_prior_free(st->pr[i].p);
	st->npr = 0;
	free(st->plist);
	st->plist = NULL;
	st->nplist = 0;
}

static int prior_add(struct fl_store *st, uint64_t seq, uint64_t size, struct fl_prior *p)
{
	if (st->npr == st->prcap) {
		size_t nc = st->prcap ? st->prcap * 2 : 8;
		struct store_prior *n = realloc(st->pr, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		st->pr = n;
		st->prcap = nc;
	}
	st->pr[st->npr++] = (struct store_prior){.seq = seq, .size = size, .p = p, .tried = p != NULL};
	st->bytes += size;
	qsort(st->pr, st->npr, sizeof(*st->pr), cmp_prior);
	free(st->plist); /* rebuilt by store_priors */
	st->plist = NULL;
	st->nplist = 0;
	return 0;
}

/* Load prior i if not tried yet. A file that does not parse stays listed
 * (verify names it) but gives no prior. */
static void prior_load(struct fl_store *st, size_t i)
{
	struct store_prior *sp = &st->pr[i];
	if (sp->tried)
		return;
	char name[32];
	prior_name(sp->seq, name);
	void *buf;
	size_t len;
	int r = read_file_at(st->dfd, name, MAX_PRIOR_FILE, &buf, &len);
	if (r) {
		/* not remembered as tried: a short read or ENOMEM may pass */
		fl_set_error(&sp->err, r, 0, "prior", "cannot read: %s", strerror(-r));
		return;
	}
	sp->tried = true;
	fl_prior_parse(buf, len, &sp->p, &sp->err);
	free(buf);
}

static int cmp_entry(const void *a, const void *b)
{
	uint64_t x = ((const struct fl_store_entry *)a)->seq, y = ((const struct fl_store_entry *)b)->seq;
	return x < y ? -1 : x > y;
}

static int load_anchor(struct fl_store *st)
{
	void *buf;
	size_t len;
	int r = read_file_at(st->dfd, ANCHOR_NAME, 4096, &buf, &len);
	if (r == -ENOENT) {
		st->have_anchor = false;
		return 0;
	}
	if (r)
		return r;
	const uint8_t *p = buf;
	if (len != ANCHOR_SIZE || memcmp(p, ANCHOR_MAGIC, 8) ||
	    fl_crc32c(0, p, 48) != fl_le32_get(p + 48)) {
		free(buf);
		return -EBADMSG;
	}
	st->have_anchor = true;
	st->anchor_seq = fl_le64_get(p + 8);
	memcpy(st->anchor_hash, p + 16, FL_HASH_LEN);
	free(buf);
	return 0;
}

static int save_anchor(struct fl_store *st, uint64_t seq, const uint8_t hash[FL_HASH_LEN])
{
	uint8_t b[ANCHOR_SIZE];
	memcpy(b, ANCHOR_MAGIC, 8);
	fl_le64_put(b + 8, seq);
	memcpy(b + 16, hash, FL_HASH_LEN);
	fl_le32_put(b + 48, fl_crc32c(0, b, 48));
	int r = write_durable(st->dfd, ANCHOR_NAME, b, sizeof(b));
	if (!r) {
		st->have_anchor = true;
		st->anchor_seq = seq;
		memcpy(st->anchor_hash, hash, FL_HASH_LEN);
	}
	return r;
}

static int scan(struct fl_store *st)
{
	int fd = openat(st->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	st->n = 0;
	st->bytes = 0;
	priors_clear(st);
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		uint64_t seq;
		bool prior = parse_prior_name(de->d_name, &seq);
		if (!prior && !parse_seg_name(de->d_name, &seq))
			continue;
		struct stat sb;
		if (fstatat(st->dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		if (prior) {
			if ((r = prior_add(st, seq, (uint64_t)sb.st_size, NULL)))
				break;
			continue;
		}
		if (st->n == st->cap) {
			size_t nc = st->cap ? st->cap * 2 : 64;
			struct fl_store_entry *ne = realloc(st->e, nc * sizeof(*ne));
			if (!ne) {
				r = -ENOMEM;
				break;
			}
			st->e = ne;
			st->cap = nc;
		}
		struct fl_store_entry *e = &st->e[st->n++];
		e->seq = seq;
		e->size = (uint64_t)sb.st_size;
		seg_name(seq, e->name);
		st->bytes += e->size;
	}
	closedir(d);
	if (!r && st->n > 1)
		qsort(st->e, st->n, sizeof(*st->e), cmp_entry);
	st->tip_known = false;
	return r;
}

int fl_store_open(const char *dir, struct fl_store **out)
{
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	struct fl_store *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->dir = strdup(dir);
	st->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = !st->dir ? -ENOMEM : st->dfd < 0 ? -errno : 0;
	if (!r)
		r = load_anchor(st);
	if (!r)
		r = scan(st);
	/* Finish a trim interrupted between writing the anchor and unlinking. */
	if (!r && st->have_anchor) {
		size_t k = 0;
		while (k < st->n && st->e[k].seq <= st->anchor_seq)
			unlinkat(st->dfd, st->e[k++].name, 0);
		if (k) {
			fsync(st->dfd);
			r = scan(st);
		}
	}
	if (r) {
		fl_store_close(st);
		return r;
	}
	*out = st;
	return 0;
}

int fl_store_open_beside(const char *file, struct fl_store **out)
{
	char dir[4096];
	const char *slash = strrchr(file, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == file)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - file) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
	else
		return -ENAMETOOLONG;
	struct stat sb;
	if (stat(dir, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	return fl_store_open(dir, out);
}

void fl_store_close(struct fl_store *st)
{
	if (!st)
		return;
	if (st->dfd >= 0)
		close(st->dfd);
	free(st->dir);
	free(st->e);
	priors_clear(st);
	free(st->pr);
	free(st);
}

const struct fl_store_entry *fl_store_entries(const struct fl_store *st, size_t *n)
{
	*n = st->n;
	return st->e;
}

uint64_t fl_store_bytes(const struct fl_store *st)
{
	return st->bytes;
}

int fl_store_read(struct fl_store *st, uint64_t seq, void **buf, size_t *len)
{
	char name[32];
	seg_name(seq, name);
	return read_file_at(st->dfd, name, MAX_SEGMENT_FILE, buf, len);
}

/* The seq the next segment takes, from the listing alone (no hashing). */
static uint64_t next_seq_of(const struct fl_store *st)
{
	if (st->tip_known)
		return st->tip_seq;
	return st->n ? st->e[st->n - 1].seq + 1 : st->have_anchor ? st->anchor_seq + 1 : 1;
}

int fl_store_tip(struct fl_store *st, uint64_t *next_seq, uint8_t prev_hash[FL_HASH_LEN])
{
	if (!st->tip_known) {
		if (st->n) {
			void *buf;
			size_t len;
			int r = fl_store_read(st, st->e[st->n - 1].seq, &buf, &len);
			if (r)
				return r;
			fl_sha256(buf, len, st->tip_hash);
			free(buf);
		} else if (st->have_anchor) {
			memcpy(st->tip_hash, st->anchor_hash, FL_HASH_LEN);
		} else {
			memset(st->tip_hash, 0, FL_HASH_LEN);
		}
		st->tip_seq = next_seq_of(st);
		st->tip_known = true;
	}
	*next_seq = st->tip_seq;
	memcpy(prev_hash, st->tip_hash, FL_HASH_LEN);
	return 0;
}

int fl_store_write_segment(struct fl_store *st, uint64_t seq, const void *buf, size_t len)
{
	if (!seq)
		return -EINVAL;
	for (size_t i = 0; i < st->n; i++)
		if (st->e[i].seq == seq)
			return -EEXIST;
	if (st->n == st->cap) {
		size_t nc = st->cap ? st->cap * 2 : 64;
		struct fl_store_entry *ne = realloc(st->e, nc * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		st->e = ne;
		st->cap = nc;
	}
	char name[32];
	seg_name(seq, name);
	int r = write_durable(st->dfd, name, buf, len);
	if (r)
		return r;
	struct fl_store_entry *e = &st->e[st->n++];
	e->seq = seq;
	e->size = len;
	memcpy(e->name, name, sizeof(name));
	st->bytes += len;
	qsort(st->e, st->n, sizeof(*st->e), cmp_entry);
	if (st->e[st->n - 1].seq == seq) {
		st->tip_seq = seq + 1;
		fl_sha256(buf, len, st->tip_hash);
		st->tip_known = true;
	} else {
		st->tip_known = false;
	}
	return 0;
}

/* The prior new segments take: the newest one that loads, or NULL. */
static const struct fl_prior *store_current_prior(struct fl_store *st)
{
	for (size_t i = st->npr; i-- > 0;) {
		prior_load(st, i);
		if (st->pr[i].p)
			return st->pr[i].p;
	}
	return NULL;
}

int fl_store_use_priors(struct fl_store *st, uint64_t renew_ns)
{
	st->use_priors = true;
	st->prior_renew_ns = renew_ns ? renew_ns : FL_PRIOR_RENEW_NS;
	return 0;
}

int fl_store_priors(struct fl_store *st, const struct fl_prior *const **list, size_t *n)
{
	if (!st->plist && st->npr) {
		const struct fl_prior **l = calloc(st->npr, sizeof(*l));
		if (!l)
			return -ENOMEM;
		size_t k = 0;
		for (size_t i = 0; i < st->npr; i++) {
			prior_load(st, i);
			if (st->pr[i].p)
				l[k++] = st->pr[i].p;
		}
		st->plist = l;
		st->nplist = k;
	}
	*list = (const struct fl_prior *const *)st->plist;
	*n = st->nplist;
	return 0;
}

int fl_store_segment_open(struct fl_store *st, const void *buf, size_t len, const struct fl_read_opts *opts,
			  struct fl_segment **out, struct fl_error *err)
{
	struct fl_read_opts ro = opts ? *opts : (struct fl_read_opts){0};
	/* only a segment that needs a prior makes the store load them */
	if (fl_segment_peek_prior(buf, len, NULL) == 1) {
		int r = fl_store_priors(st, &ro.priors, &ro.n_priors);
		if (r)
			return fl_set_error(err, r, 0, "header", "cannot load the store's priors");
	}
	return fl_segment_open_ex(buf, len, &ro, out, err);
}

uint64_t fl_store_prior_bytes(const struct fl_store *st, size_t *count)
{
	uint64_t b = 0;
	for (size_t i = 0; i < st->npr; i++)
		b += st->pr[i].size;
	if (count)
		*count = st->npr;
	return b;
}

int fl_store_renew_prior(struct fl_store *st, struct fl_writer *w, uint64_t seq)
{
	if (!st->use_priors)
		return 0;
	char name[32];
	seg_name(seq, name);
	uint8_t head[sizeof(struct fl_seg_header)];
	int fd = openat(st->dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t got = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (got != (ssize_t)sizeof(head))
		return -EBADMSG;
	uint64_t ts_max = fl_le64_get(head + offsetof(struct fl_seg_header, ts_max));
	const struct fl_prior *cur = store_current_prior(st);
	if (cur) {
		uint64_t made = fl_prior_info(cur)->made_ns;
		if (ts_max < made || ts_max - made < st->prior_renew_ns)
			return 0;
	}
	void *content;
	size_t clen;
	int r = fl_writer_prior_content(w, &content, &clen);
	if (r == -ENODATA)
		return 0; /* too little to make one of */
	if (r)
		return r;
	struct fl_prior *p;
	r = fl_prior_new(content, clen, seq, ts_max, &p);
	free(content);
	if (r)
		return r;
	void *img;
	size_t ilen;
	if ((r = fl_prior_encode(p, FL_PRIOR_LEVEL, &img, &ilen))) {
		fl_prior_free(p);
		return r;
	}
	prior_name(seq, name);
	r = write_durable(st->dfd, name, img, ilen);
	free(img);
	if (!r)
		r = prior_add(st, seq, ilen, p);
	if (r) {
		fl_prior_free(p);
		return r;
	}
	return 1;
}

int fl_store_seal(struct fl_store *st, struct fl_writer *w, uint64_t *seq, void **buf, size_t *len)
{
	uint64_t next;
	uint8_t prev[FL_HASH_LEN];
	int r = fl_store_tip(st, &next, prev);
	if (r)
		return r;
	if (st->use_priors && (r = fl_writer_set_prior(w, store_current_prior(st))))
		return r;
	if ((r = fl_writer_finish(w, prev, next, buf, len)))
		return r;
	*seq = next;
	return 0;
}

int fl_store_append(struct fl_store *st, struct fl_writer *w, uint64_t *seq_out)
{
	uint64_t seq;
	void *buf;
	size_t len;
	int r = fl_store_seal(st, w, &seq, &buf, &len);
	if (r)
		return r;
	r = fl_store_write_segment(st, seq, buf, len);
	free(buf);
	if (!r && seq_out)
		*seq_out = seq;
	return r;
}

static int verify_fail(struct fl_verify_result *res, enum fl_verify_problem p, uint64_t seq,
		       const char *fmt, const char *detail)
{
	res->problem = p;
	res->seq = seq;
	seg_name(seq, res->name);
	snprintf(res->msg, sizeof(res->msg), fmt, res->name, detail ? detail : "");
	return -EBADMSG;
}

int fl_store_verify(struct fl_store *st, struct fl_verify_result *out)
{
	struct fl_verify_result res;
	memset(&res, 0, sizeof(res));
	uint64_t expect = st->have_anchor ? st->anchor_seq + 1 : 1;
	uint8_t prev[FL_HASH_LEN] = {0};
	if (st->have_anchor)
		memcpy(prev, st->anchor_hash, FL_HASH_LEN);
	const struct fl_prior *const *priors;
	size_t npriors;
	int r = fl_store_priors(st, &priors, &npriors);
	if (r)
		return r;
	/* every prior file, needed or not: a damaged one is damage */
	for (size_t i = 0; i < st->npr; i++) {
		if (st->pr[i].p)
			continue;
		char eb[200];
		fl_error_format(&st->pr[i].err, eb, sizeof(eb));
		res.problem = FL_VERIFY_CORRUPT;
		res.seq = st->pr[i].seq;
		res.err = st->pr[i].err;
		prior_name(st->pr[i].seq, res.name);
		snprintf(res.msg, sizeof(res.msg), "%s: %s", res.name, eb);
		if (out)
			*out = res;
		return -EBADMSG;
	}
	for (size_t i = 0; i < st->n && !r; i++) {
		const struct fl_store_entry *e = &st->e[i];
		if (e->seq > expect) {
			r = verify_fail(&res, FL_VERIFY_MISSING, expect, "%s: missing (deleted segment)%s", NULL);
			break;
		}
		if (e->seq < expect) {
			r = verify_fail(&res, FL_VERIFY_MISPLACED, e->seq, "%s: older than the chain anchor%s", NULL);
			break;
		}
		void *buf;
		size_t len;
		struct fl_segment *seg = NULL;
		if ((r = fl_store_read(st, e->seq, &buf, &len))) {
			res.err.code = r;
			r = verify_fail(&res, FL_VERIFY_CORRUPT, e->seq, "%s: cannot read: %s", strerror(-r));
			break;
		}
		struct fl_read_opts ro = {.priors = priors, .n_priors = npriors};
		r = fl_segment_open_ex(buf, len, &ro, &seg, &res.err);
		/* the header passed its checksum and names a prior the store
		 * lacks (a damaged hash fails the checksum first) */
		uint8_t ph[FL_HASH_LEN];
		if (r == -ENOENT && res.err.offset == FL_PRIOR_HASH_OFFSET && fl_segment_peek_prior(buf, len, ph) == 1) {
			free(buf);
			char hex[17];
			r = verify_fail(&res, FL_VERIFY_NO_PRIOR, e->seq,
					"%s: needs prior %s, which is not in the store (deleted prior file)",
					fl_hash_short(ph, hex));
			break;
		}
		free(buf);
		if (!r) {
			struct fr_event ev;
			int k;
			while ((k = fl_segment_next(seg, &ev)) == 1)
				;
			if (k < 0) {
				res.err = *fl_segment_error(seg);
				r = k;
			}
		}
		if (r) {
			char eb[200];
			fl_error_format(&res.err, eb, sizeof(eb));
			fl_segment_free(seg);
			r = verify_fail(&res, FL_VERIFY_CORRUPT, e->seq, "%s: %s", eb);
			break;
		}
		const struct fl_segment_info *inf = fl_segment_info(seg);
		if (inf->seq != e->seq) {
			char d[64];
			snprintf(d, sizeof(d), "%llu", (unsigned long long)inf->seq);
			r = verify_fail(&res, FL_VERIFY_MISPLACED, e->seq,
					"%s: holds segment %s (renamed or swapped)", d);
		} else if (memcmp(inf->prev_hash, prev, FL_HASH_LEN)) {
			if (i == 0)
				r = verify_fail(&res, FL_VERIFY_BROKEN_LINK, e->seq,
						"%s: does not chain to the anchor / start of the log%s", NULL);
			else
				r = verify_fail(&res, FL_VERIFY_BROKEN_LINK, e->seq - 1,
						"%s: replaced (the next segment's hash link does not match)%s", NULL);
		} else {
			memcpy(prev, inf->hash, FL_HASH_LEN);
			res.checked++;
		}
		fl_segment_free(seg);
		expect++;
	}
	if (out)
		*out = res;
	return r;
}

/* Delete the priors that no kept segment needs, but never the newest that
 * reads (new segments take it, and a writer may still borrow it). A
 * segment can only need a prior older than itself, so each is looked for
 * in the segments after it; a segment that cannot be read counts as
 * needing every prior (nothing is deleted on a guess). */
static int priors_trim(struct fl_store *st, uint64_t *freed)
{
	const struct fl_prior *current = store_current_prior(st);
	for (size_t i = 0; i < st->npr;) {
		prior_load(st, i);
		bool needed = !st->pr[i].p || st->pr[i].p == current; /* damaged: left for verify to name */
		for (size_t k = 0; k < st->n && !needed; k++) {
			if (st->e[k].seq <= st->pr[i].seq)
				continue;
			uint8_t head[FL_PRIOR_HEADER_SIZE];
			int fd = openat(st->dfd, st->e[k].name, O_RDONLY | O_CLOEXEC);
			ssize_t got = fd < 0 ? -1 : pread(fd, head, sizeof(head), 0);
			if (fd >= 0)
				close(fd);
			uint8_t ph[FL_HASH_LEN];
			int np = got < 0 ? -EIO : fl_segment_peek_prior(head, (size_t)got, ph);
			needed = np < 0 || (np == 1 && !memcmp(ph, fl_prior_info(st->pr[i].p)->hash, FL_HASH_LEN));
		}
		if (needed) {
			i++;
			continue;
		}
		char name[32];
		prior_name(st->pr[i].seq, name);
		if (unlinkat(st->dfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		*freed += st->pr[i].size;
		st->bytes -= st->pr[i].size;
		fl_prior_free(st->pr[i].p);
		memmove(st->pr + i, st->pr + i + 1, (st->npr - i - 1) * sizeof(*st->pr));
		st->npr--;
		free(st->plist);
		st->plist = NULL;
		st->nplist = 0;
	}
	return 0;
}

int fl_store_enforce_cap(struct fl_store *st, uint64_t max_bytes, struct fl_drop *drop)
{
	struct fl_drop d;
	memset(&d, 0, sizeof(d));
	size_t k = 0;
	uint64_t bytes = st->bytes;
	while (k + 1 < st->n && bytes > max_bytes)
		bytes -= st->e[k++].size;
	if (!k) {
		if (drop)
			*drop = d;
		return 0;
	}
	const struct fl_prior *const *priors;
	size_t npriors;
	int r = fl_store_priors(st, &priors, &npriors);
	if (r)
		return r;
	/* Summaries of the dropped segments (for the caller's gap event) and
	 * the hash of the last one (the new anchor). */
	uint8_t hash[FL_HASH_LEN] = {0};
	for (size_t i = 0; i < k; i++) {
		void *buf;
		size_t len;
		r = fl_store_read(st, st->e[i].seq, &buf, &len);
		if (r)
			return r;
		struct fl_segment *seg;
		struct fl_read_opts o = {.columns = FL_COL_NONE, .priors = priors, .n_priors = npriors};
		if (!fl_segment_open_ex(buf, len, &o, &seg, NULL)) {
			const struct fl_segment_info *inf = fl_segment_info(seg);
			d.events += inf->event_count;
			if (inf->event_count) {
				if (!d.ts_min || inf->ts_min < d.ts_min)
					d.ts_min = inf->ts_min;
				if (inf->ts_max > d.ts_max)
					d.ts_max = inf->ts_max;
			}
			fl_segment_free(seg);
		}
		if (i == k - 1)
			fl_sha256(buf, len, hash);
		free(buf);
	}
	r = save_anchor(st, st->e[k - 1].seq, hash);
	if (r)
		return r;
	for (size_t i = 0; i < k; i++) {
		if (unlinkat(st->dfd, st->e[i].name, 0) < 0 && errno != ENOENT)
			return -errno;
		d.segments++;
		d.bytes += st->e[i].size;
	}
	d.first_seq = st->e[0].seq;
	d.last_seq = st->e[k - 1].seq;
	fsync(st->dfd);
	memmove(st->e, st->e + k, (st->n - k) * sizeof(*st->e));
	st->n -= k;
	st->bytes -= d.bytes;
	uint64_t freed = 0;
	r = priors_trim(st, &freed);
	if (freed)
		fsync(st->dfd);
	if (drop)
		*drop = d;
	return r;
}

/* -------------------------------------------------------------- journal */

static int put_str(struct fl_bytes *b, const char *s, size_t len)
{
	if (!s)
		return fl_put_varint(b, 0);
	int r = fl_put_varint(b, (uint64_t)len + 1);
	if (!r)
		r = fl_bytes_put(b, s, len);
	if (!r)
		r = fl_bytes_put(b, "", 1);
	return r;
}

int fl_event_flat_put(struct fl_bytes *b, const struct fr_event *e)
{
	if (!e->argv && e->argv_len)
		return -EINVAL;
	int r = 0;
	const uint64_t nums1[] = {e->ts_ns, e->kind, e->pid, e->tid, e->ppid, e->uid, e->euid,
				  e->auid, e->ses, e->tty, fl_zz32((uint32_t)e->error), e->cgroup,
				  e->pstart_ns};
	for (size_t i = 0; i < sizeof(nums1) / 8; i++)
		r |= fl_put_varint(b, nums1[i]);
	const char *strs[] = {e->host, e->comm, e->exe, e->path, e->path2};
	for (size_t i = 0; i < 5; i++)
		r |= put_str(b, strs[i], strs[i] ? strlen(strs[i]) : 0);
	r |= put_str(b, e->argv, e->argv_len);
	r |= put_str(b, e->cwd, e->cwd ? strlen(e->cwd) : 0);
	const uint64_t nums2[] = {e->trunc, e->flags, e->mode, e->owner, e->group, e->length,
				  e->child_pid, e->target_pid};
	for (size_t i = 0; i < sizeof(nums2) / 8; i++)
		r |= fl_put_varint(b, nums2[i]);
	r |= put_str(b, e->target_comm, e->target_comm ? strlen(e->target_comm) : 0);
	const uint64_t nums3[] = {fl_zz32((uint32_t)e->signal), fl_zz32((uint32_t)e->code),
				  e->new_uid, e->new_euid, e->proto, e->port, e->rport};
	for (size_t i = 0; i < sizeof(nums3) / 8; i++)
		r |= fl_put_varint(b, nums3[i]);
	r |= fl_bytes_put(b, &e->addr, 17);
	r |= fl_bytes_put(b, &e->raddr, 17);
	r |= fl_put_varint(b, e->count);
	r |= fl_put_varint(b, e->inode);
	r |= put_str(b, e->line, e->line ? strlen(e->line) : 0);
	return r ? -ENOMEM : 0;
}

static int get_str(const uint8_t **p, const uint8_t *end, bool cstr, const char **s, uint32_t *len)
{
	uint64_t l;
	if (fl_get_varint(p, end, &l))
		return -EBADMSG;
	if (!l) {
		*s = NULL;
		if (len)
			*len = 0;
		return 0;
	}
	l--;
	if (l > UINT32_MAX - 1 || l >= (uint64_t)(end - *p) || (*p)[l] != 0 ||
	    (cstr && memchr(*p, 0, l)))
		return -EBADMSG;
	*s = (const char *)*p;
	if (len)
		*len = (uint32_t)l;
	*p += l + 1;
	return 0;
}

static int get_u32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	uint64_t x;
	if (fl_get_varint(p, end, &x) || x > UINT32_MAX)
		return -EBADMSG;
	*v = (uint32_t)x;
	return 0;
}

int fl_event_flat_get(const uint8_t **pp, const uint8_t *end, struct fr_event *out)
{
	struct fr_event e;
	memset(&e, 0, sizeof(e));
	const uint8_t *p = *pp;
	uint32_t t;
	int r = 0;
	r |= fl_get_varint(&p, end, &e.ts_ns);
	uint32_t *u1[] = {&e.kind, &e.pid, &e.tid, &e.ppid, &e.uid, &e.euid, &e.auid, &e.ses, &e.tty};
	for (size_t i = 0; i < 9 && !r; i++)
		r |= get_u32(&p, end, u1[i]);
	if (!r && !(r = get_u32(&p, end, &t)))
		e.error = (int32_t)fl_unzz32(t);
	if (!r)
		r = fl_get_varint(&p, end, &e.cgroup) | fl_get_varint(&p, end, &e.pstart_ns);
	const char **s1[] = {&e.host, &e.comm, &e.exe, &e.path, &e.path2};
	for (size_t i = 0; i < 5 && !r; i++)
		r = get_str(&p, end, true, s1[i], NULL);
	if (!r)
		r = get_str(&p, end, false, &e.argv, &e.argv_len);
	if (!r)
		r = get_str(&p, end, true, &e.cwd, NULL);
	uint32_t *u2[] = {&e.trunc, &e.flags, &e.mode, &e.owner, &e.group};
	for (size_t i = 0; i < 5 && !r; i++)
		r = get_u32(&p, end, u2[i]);
	if (!r)
		r = fl_get_varint(&p, end, &e.length);
	if (!r)
		r = get_u32(&p, end, &e.child_pid);
	if (!r)
		r = get_u32(&p, end, &e.target_pid);
	if (!r)
		r = get_str(&p, end, true, &e.target_comm, NULL);
	if (!r && !(r = get_u32(&p, end, &t)))
		e.signal = (int32_t)fl_unzz32(t);
	if (!r && !(r = get_u32(&p, end, &t)))
		e.code = (int32_t)fl_unzz32(t);
	uint32_t *u3[] = {&e.new_uid, &e.new_euid, &e.proto, &e.port, &e.rport};
	for (size_t i = 0; i < 5 && !r; i++)
		r = get_u32(&p, end, u3[i]);
	if (!r && end - p < 34)
		r = -EBADMSG;
	if (!r) {
		memcpy(&e.addr, p, 17);
		memcpy(&e.raddr, p + 17, 17);
		p += 34;
		r = fl_get_varint(&p, end, &e.count);
	}
	if (!r)
		r = fl_get_varint(&p, end, &e.inode);
	if (!r)
		r = get_str(&p, end, true, &e.line, NULL);
	if (r)
		return -EBADMSG;
	*pp = p;
	*out = e;
	return 0;
}

struct fl_journal {
	int fd;
	struct fl_bytes buf;
	uint64_t size;  /* bytes of whole records (and the header) in the file */
	uint64_t limit; /* appends may not take the file over this; 0: none */
	int broken;     /* a failed append could not be cut back: its error */
};

int fl_journal_create_seq(const char *path, uint64_t seq, struct fl_journal **out)
{
	struct fl_journal *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
	if (j->fd < 0) {
		int r = -errno;
		free(j);
		return r;
	}
	struct fl_journal_header_v2 h;
	memcpy(h.h.magic, FL_JOURNAL_MAGIC, 8);
	h.h.version = htole32(2);
	h.seq = htole64(seq);
	uint32_t crc = fl_crc32c(0, &h, 12);
	h.h.header_crc = htole32(fl_crc32c(crc, &h.seq, 8));
	int r = write_all(j->fd, &h, sizeof(h));
	if (!r && fsync(j->fd) < 0)
		r = -errno;
	if (r) {
		fl_journal_close(j);
		return r;
	}
	j->size = sizeof(h);
	*out = j;
	return 0;
}

int fl_journal_create(const char *path, struct fl_journal **out)
{
	return fl_journal_create_seq(path, 0, out);
}

int fl_journal_append(struct fl_journal *j, const struct fr_event *evs, size_t n)
{
	if (j->broken)
		return j->broken;
	struct fl_bytes *b = &j->buf;
	b->len = 0;
	int r = fl_bytes_grow(b, sizeof(struct fl_journal_rec));
	if (r)
		return r;
	b->len = sizeof(struct fl_journal_rec);
	if ((r = fl_put_varint(b, n)))
		return r;
	for (size_t i = 0; i < n; i++)
		if ((r = fl_event_flat_put(b, &evs[i])))
			return r;
	size_t plen = b->len - sizeof(struct fl_journal_rec);
	if (plen > FL_JOURNAL_MAX_RECORD)
		return -E2BIG;
	if (j->limit && j->size + b->len > j->limit)
		return -EFBIG;
	uint8_t lenb[4];
	fl_le32_put(lenb, (uint32_t)plen);
	fl_le32_put(b->p, (uint32_t)plen);
	fl_le32_put(b->p + 4, fl_crc32c(0, b->p + sizeof(struct fl_journal_rec), plen));
	fl_le32_put(b->p + 8, fl_crc32c(0, lenb, 4));
	/* O_APPEND + one write: a crash leaves a prefix of this record at
	 * most, which recovery discards. */
	r = write_all(j->fd, b->p, b->len);
	if (!r) {
		j->size += b->len;
		return 0;
	}
	/* A full disk can take part of the record. Recovery stops at a torn
	 * record, so anything appended after it would be lost: cut the file
	 * back to its last whole record (shrinking needs no space), or
	 * refuse every later append. */
	if (ftruncate(j->fd, (off_t)j->size) < 0)
		j->broken = r;
	return r;
}

uint64_t fl_journal_size(const struct fl_journal *j)
{
	return j->size;
}

void fl_journal_set_limit(struct fl_journal *j, uint64_t bytes)
{
	j->limit = bytes;
}

int fl_journal_sync(struct fl_journal *j)
{
	return fdatasync(j->fd) < 0 ? -errno : 0;
}

void fl_journal_close(struct fl_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	fl_bytes_free(&j->buf);
	free(j);
}

int fl_journal_recover_buf(const void *vbuf, size_t len, struct fl_writer *w,
			   struct fl_journal_recovery *out)
{
	const uint8_t *buf = vbuf;
	struct fl_journal_recovery rec = {0};
	uint32_t version = len >= sizeof(struct fl_journal_header) ? fl_le32_get(buf + 8) : 0;
	size_t hlen = version == 2 ? sizeof(struct fl_journal_header_v2) : sizeof(struct fl_journal_header);
	uint32_t crc = len >= hlen ? fl_crc32c(0, buf, 12) : 0;
	if (version == 2 && len >= hlen)
		crc = fl_crc32c(crc, buf + 16, 8);
	if (len < hlen || memcmp(buf, FL_JOURNAL_MAGIC, 8) || (version != 1 && version != 2) ||
	    crc != fl_le32_get(buf + 12)) {
		rec.discarded_bytes = len;
		if (out)
			*out = rec;
		return -EBADMSG;
	}
	if (version == 2)
		rec.seq = fl_le64_get(buf + 16);
	size_t pos = hlen;
	struct fr_event *evs = NULL;
	size_t cap = 0;
	int r = 0;
	while (len - pos >= sizeof(struct fl_journal_rec)) {
		const uint8_t *h = buf + pos;
		uint32_t plen = fl_le32_get(h);
		if (fl_crc32c(0, h, 4) != fl_le32_get(h + 8) || plen > FL_JOURNAL_MAX_RECORD ||
		    plen > len - pos - sizeof(struct fl_journal_rec))
			break;
		const uint8_t *p = h + sizeof(struct fl_journal_rec), *end = p + plen;
		if (fl_crc32c(0, p, plen) != fl_le32_get(h + 4))
			break;
		uint64_t n;
		/* every flat event takes well over one byte */
		if (fl_get_varint(&p, end, &n) || n > plen)
			break;
		if (n > cap) {
			struct fr_event *ne = realloc(evs, n * sizeof(*evs));
			if (!ne) {
				r = -ENOMEM;
				break;
			}
			evs = ne;
			cap = n;
		}
		uint64_t i;
		for (i = 0; i < n; i++)
			if (fl_event_flat_get(&p, end, &evs[i]))
				break;
		if (i != n || p != end)
			break;
		for (i = 0; i < n && !r; i++)
			r = fl_writer_add(w, &evs[i]);
		if (r)
			break;
		rec.records++;
		rec.events += n;
		pos = (size_t)(end - buf);
	}
	free(evs);
	rec.valid_bytes = pos;
	rec.discarded_bytes = len - pos;
	if (out)
		*out = rec;
	return r;
}

int fl_journal_recover(const char *path, struct fl_writer *w, struct fl_journal_recovery *rec)
{
	void *buf;
	size_t len;
	int r = read_file_at(AT_FDCWD, path, 1ull << 40, &buf, &len);
	if (r)
		return r;
	r = fl_journal_recover_buf(buf, len, w, rec);
	free(buf);
	return r;
}

const char *fl_store_journal_path(const struct fl_store *st, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", st->dir, FL_JOURNAL_NAME);
	return buf;
}

int fl_store_journal_read(struct fl_store *st, struct fl_writer *w, struct fl_journal_recovery *rec)
{
	char path[4096];
	struct fl_journal_recovery rr = {0};
	fl_store_journal_path(st, path, sizeof(path));
	int r = fl_journal_recover(path, w, &rr);
	/* a crash after its segment was written but before the journal was
	 * removed: the events are already in that segment */
	rr.already_closed = (!r || r == -EBADMSG) && rr.seq && next_seq_of(st) > rr.seq;
	*rec = rr;
	return r;
}

int fl_store_journal_image(struct fl_store *st, void **buf, size_t *len, uint64_t *seq)
{
	struct fl_writer_opts wo = {.flags = FL_WRITER_RAW};
	struct fl_writer *w;
	int r = fl_writer_new(&wo, &w);
	if (r)
		return r;
	struct fl_journal_recovery rec = {0};
	r = fl_store_journal_read(st, w, &rec);
	if (r == -EBADMSG || (!r && (!rec.seq || !fl_writer_count(w))))
		r = -ENOENT; /* nothing readable in it (yet) */
	void *b;
	size_t n;
	if (!r)
		r = fl_writer_finish(w, NULL, rec.seq, &b, &n);
	fl_writer_free(w);
	if (r)
		return r;
	*buf = b;
	*len = n;
	*seq = rec.seq;
	return 0;
}

int fl_store_open_live(const char *dir, struct fl_store **out, void **image, size_t *len, uint64_t *seq,
		       int *image_err)
{
	struct fl_store *st;
	int r = fl_store_open(dir, &st);
	if (r)
		return r;
	void *b = NULL;
	size_t n = 0;
	uint64_t s = 0;
	int e = fl_store_journal_image(st, &b, &n, &s);
	if (e < 0)
		b = NULL;
	/* listed after the journal was read: a segment closed meanwhile is
	 * listed, with every event the journal had */
	fl_store_close(st);
	r = fl_store_open(dir, &st);
	if (r) {
		free(b);
		return r;
	}
	for (size_t i = 0; i < st->n && b; i++)
		if (st->e[i].seq >= s) {
			free(b); /* closed since */
			b = NULL;
		}
	*out = st;
	*image = b;
	*len = b ? n : 0;
	*seq = b ? s : 0;
	if (image_err)
		*image_err = e == -ENOENT ? 0 : e;
	return 0;
}

int fl_store_recover_journal(struct fl_store *st, struct fl_journal_recovery *rec,
			     uint64_t *seq_out)
{
	char path[4096];
	struct fl_journal_recovery rr = {0};
	uint64_t seq = 0;
	fl_store_journal_path(st, path, sizeof(path));
	if (access(path, F_OK) < 0) {
		if (errno != ENOENT)
			return -errno;
		if (rec)
			*rec = rr;
		if (seq_out)
			*seq_out = 0;
		return 0;
	}
	struct fl_writer *w;
	int r = fl_writer_new(NULL, &w);
	if (r)
		return r;
	r = fl_store_journal_read(st, w, &rr);
	if (r == -EBADMSG)
		r = 0; /* bad header: nothing to keep, discard */
	if (!r && rr.already_closed)
		rr.records = rr.events = 0;
	if (!r && !rr.already_closed && fl_writer_count(w))
		r = fl_store_append(st, w, &seq);
	fl_writer_free(w);
	if (r)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fsync(st->dfd);
	if (rec)
		*rec = rr;
	if (seq_out)
		*seq_out = seq;
	return 0;
}
