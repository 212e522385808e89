/* query.c - the query engine: segment skipping, selective decode, threads.
 *
 * Why: see query.h. The plan for each segment is: probe the summary (time
 * range, hosts, kind counts, path bloom filter) and, for prefix/glob paths
 * and comms, the dictionary; skip it when nothing can match; else decode
 * only the columns the filter reads; only a segment with matches is decoded
 * in full to copy its events. Segments are work items taken by a pool of
 * threads in order; the caller's thread consumes finished items strictly in
 * order (a bounded window ahead), so output never depends on the threads. */
#include "query/query.h"
#include "query/fq_internal.h"
#include "flightlog/flightlog.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SESSION_ID_MAX 320

struct fq_query {
	struct fq_filter f;
	uint64_t kinds;          /* effective mask, 0 = all */
	uint32_t cols;           /* columns the filter reads */
	bool path_exact_only;    /* every path pattern is exact */
	bool exes_exact_only;
	fq_damage_fn damage_fn;
	void *damage_ctx;
	struct fq_hmap argv_set; /* host\0 pid pstart of --argv processes */
	bool argv_ready;
};

struct fq_groups {
	struct fq_row *rows;
	size_t n;
	char **keys;
};

enum item_mode { MODE_EVENTS, MODE_COUNT, MODE_ARGV, MODE_SESSIONS };

struct item {
	size_t store;
	char *file;
	/* the segment being recorded, from its store's journal (file names
	 * the journal): read from here, not from the file */
	void *image;
	size_t image_len;
	/* results, filled by a worker */
	int done;
	bool skipped;
	int skip_why; /* 1 time, 2 host, 3 kind, 4 path, 5 comm */
	bool decoded;
	bool path_scanned; /* read through the path streams alone */
	char *damage;
	uint64_t events, events_decoded, bytes, seq;
	struct fr_event **hits;
	size_t nhits;
	struct fq_hmap map;      /* count: groups; argv: processes */
	bool has_ses;            /* sesmap valid */
	struct fq_hmap sesmap;   /* host\0ses -> a = start */
};

struct runner {
	struct fq_query *q;
	struct item *items;
	size_t n;
	enum item_mode mode;
	enum fq_group by;
	bool sessions;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	size_t next, emitted, window;
	bool stop;
	size_t lo, hi; /* parallel_for range */
	/* per store: the priors its segments may need (FORMAT.md 10), loaded
	 * before the workers start and only read by them */
	const struct store_priors *priors;
};

struct store_priors {
	struct fl_store *fs; /* owns the priors; NULL when none */
	const struct fl_prior *const *list;
	size_t n;
};

/* ro with the priors of item it's store. */
static struct fl_read_opts *with_priors(const struct runner *R, const struct item *it, struct fl_read_opts *ro)
{
	if (R->priors) {
		ro->priors = R->priors[it->store].list;
		ro->n_priors = R->priors[it->store].n;
	}
	return ro;
}

/* ---------------- patterns ---------------- */

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

struct fq_path fq_path_parse(const char *pattern)
{
	struct fq_path p = {.mode = FQ_PATH_EXACT, .pattern = pattern};
	size_t n = strlen(pattern);
	if (has_glob(pattern))
		p.mode = FQ_PATH_GLOB;
	else if (n > 1 && pattern[n - 1] == '/')
		p.mode = FQ_PATH_PREFIX;
	return p;
}

bool fq_path_match(const struct fq_path *p, const char *path)
{
	if (!path)
		return false;
	switch (p->mode) {
	case FQ_PATH_EXACT:
		return !strcmp(p->pattern, path);
	case FQ_PATH_PREFIX:
		return !strncmp(p->pattern, path, strlen(p->pattern));
	case FQ_PATH_GLOB:
		return fnmatch(p->pattern, path, 0) == 0;
	}
	return false;
}

int fq_group_from_name(const char *name, enum fq_group *out)
{
	static const char *const names[] = {"path", "process", "host", "user"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i])) {
			*out = (enum fq_group)i;
			return 0;
		}
	return -EINVAL;
}

#define K(x) (1ull << (x))
uint64_t fq_kinds_changed(void)
{
	return K(FR_EV_CREATE) | K(FR_EV_MODIFY) | K(FR_EV_DELETE) | K(FR_EV_RENAME) | K(FR_EV_CHMOD) |
	       K(FR_EV_CHOWN) | K(FR_EV_TRUNCATE) | K(FR_EV_LINK) | K(FR_EV_SYMLINK);
}

uint64_t fq_kinds_what_changed(void)
{
	return fq_kinds_changed() | K(FR_EV_MKDIR) | K(FR_EV_RMDIR) | K(FR_EV_LISTEN) | K(FR_EV_UNLISTEN);
}

static const struct fq_path persistence[] = {
	{FQ_PATH_PREFIX, "/etc/systemd/"},
	{FQ_PATH_PREFIX, "/lib/systemd/system/"},
	{FQ_PATH_PREFIX, "/usr/lib/systemd/"},
	{FQ_PATH_PREFIX, "/run/systemd/system/"},
	{FQ_PATH_GLOB, "/etc/cron*"},
	{FQ_PATH_EXACT, "/etc/crontab"},
	{FQ_PATH_PREFIX, "/var/spool/cron/"},
	{FQ_PATH_GLOB, "/etc/init.d/*"},
	{FQ_PATH_EXACT, "/etc/rc.local"},
	{FQ_PATH_GLOB, "/etc/profile*"},
	{FQ_PATH_EXACT, "/etc/bash.bashrc"},
	{FQ_PATH_EXACT, "/etc/environment"},
	{FQ_PATH_GLOB, "*/.bashrc"},
	{FQ_PATH_GLOB, "*/.profile"},
	{FQ_PATH_GLOB, "*/.bash_profile"},
	{FQ_PATH_GLOB, "*/.bash_login"},
	{FQ_PATH_EXACT, "/etc/ld.so.preload"},
	{FQ_PATH_GLOB, "*/authorized_keys"},
	{FQ_PATH_GLOB, "*/authorized_keys2"},
	{FQ_PATH_GLOB, "/etc/sudoers*"},
};

const struct fq_path *fq_persistence_paths(size_t *n)
{
	*n = sizeof(persistence) / sizeof(persistence[0]);
	return persistence;
}

const char *fq_session_id(const char *host, uint32_t ses, uint64_t start_ns, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%u-%llu", host ? host : "", ses, (unsigned long long)(start_ns / 1000000000ull));
	return buf;
}

int fq_session_parse(const char *id, char *hostbuf, size_t hostlen, uint32_t *ses, uint64_t *start_s)
{
	const char *d2 = strrchr(id, '-');
	if (!d2 || d2 == id)
		return -EINVAL;
	const char *d1 = d2 - 1;
	while (d1 > id && *d1 != '-')
		d1--;
	if (*d1 != '-' || d1 == id)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long st = strtoull(d2 + 1, &end, 10);
	if (!d2[1] || *end || errno)
		return -EINVAL;
	const char *sp = d1 + 1;
	if (sp == d2 || *sp < '0' || *sp > '9')
		return -EINVAL;
	unsigned long long s = strtoull(sp, &end, 10);
	if (end != d2 || s >= FR_ID_UNSET)
		return -EINVAL;
	size_t hl = (size_t)(d1 - id);
	if (hl + 1 > hostlen)
		return -EINVAL;
	memcpy(hostbuf, id, hl);
	hostbuf[hl] = 0;
	*ses = (uint32_t)s;
	*start_s = st;
	return 0;
}

/* ---------------- compile ---------------- */

int fq_query_new(const struct fq_filter *f, struct fq_query **out)
{
	if (f->until_ns && f->since_ns > f->until_ns)
		return -EINVAL;
	for (size_t i = 0; i < f->npaths; i++)
		if (!f->paths[i].pattern || f->paths[i].mode > FQ_PATH_GLOB)
			return -EINVAL;
	if ((f->nhosts && !f->hosts) || (f->ncomms && !f->comms) || (f->nexes && !f->exes))
		return -EINVAL;
	struct fq_query *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->f = *f;
	q->kinds = f->kinds;
	q->cols = 0;
	if (f->nhosts || f->ncomms || f->nexes || f->argv_sub)
		q->cols |= FL_COL_NAMES;
	if (f->npaths || (f->flags & FQ_F_PERSISTENT))
		q->cols |= FL_COL_PATHS;
	if (f->has_auid || f->has_uid || f->has_ses || f->argv_sub)
		q->cols |= FL_COL_CTX;
	if (f->flags & (FQ_F_OK_ONLY | FQ_F_READS))
		q->cols |= FL_COL_DETAIL;
	q->path_exact_only = true;
	for (size_t i = 0; i < f->npaths; i++)
		if (f->paths[i].mode != FQ_PATH_EXACT)
			q->path_exact_only = false;
	q->exes_exact_only = true;
	for (size_t i = 0; i < f->nexes; i++)
		if (has_glob(f->exes[i]))
			q->exes_exact_only = false;
	*out = q;
	return 0;
}

void fq_query_on_damage(struct fq_query *q, fq_damage_fn fn, void *ctx)
{
	q->damage_fn = fn;
	q->damage_ctx = ctx;
}

void fq_query_free(struct fq_query *q)
{
	if (!q)
		return;
	fq_hmap_free(&q->argv_set);
	free(q);
}

/* ---------------- per-event matching ---------------- */

struct memo {
	struct fq_pmemo host, path, pers, comm, exe, argv;
	/* exact paths only: their entries in this segment's dictionary, so
	 * that an event matches by pointer (exact_set: the list is valid) */
	const char **exact;
	size_t nexact;
	bool exact_set;
};

static void memo_clear(struct memo *m)
{
	m->nexact = 0;
	m->exact_set = false;
	fq_pmemo_clear(&m->host);
	fq_pmemo_clear(&m->path);
	fq_pmemo_clear(&m->pers);
	fq_pmemo_clear(&m->comm);
	fq_pmemo_clear(&m->exe);
	fq_pmemo_clear(&m->argv);
}

static void memo_free(struct memo *m)
{
	fq_pmemo_free(&m->host);
	fq_pmemo_free(&m->path);
	fq_pmemo_free(&m->pers);
	fq_pmemo_free(&m->comm);
	fq_pmemo_free(&m->exe);
	fq_pmemo_free(&m->argv);
	free(m->exact);
}

static bool path_patterns(const struct fq_filter *f, const char *s)
{
	for (size_t i = 0; i < f->npaths; i++)
		if (fq_path_match(&f->paths[i], s))
			return true;
	return false;
}

static bool str_in(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static bool exe_match(const struct fq_filter *f, const char *s)
{
	for (size_t i = 0; i < f->nexes; i++)
		if (has_glob(f->exes[i]) ? !fnmatch(f->exes[i], s, 0) : !strcmp(f->exes[i], s))
			return true;
	return false;
}

static bool persistent_path(const char *p)
{
	if (!strncmp(p, "/dev/", 5) || !strcmp(p, "/dev"))
		return false;
	if (!strncmp(p, "/proc/", 6) && strncmp(p, "/proc/sys/", 10))
		return false;
	return true;
}

/* Memoised predicate on a dictionary string: 2 = true, 1 = false. */
#define MEMO(table, s, expr)                                                 \
	({                                                                   \
		const void *k_ = (s);                                        \
		uint8_t v_ = k_ == (table).last_k ? (table).last_v : 0;      \
		if (!v_)                                                     \
			v_ = fq_pmemo_get(&(table), k_);                     \
		if (!v_) {                                                   \
			v_ = (expr) ? 2 : 1;                                 \
			fq_pmemo_put(&(table), k_, v_);                      \
		}                                                            \
		(table).last_k = k_;                                         \
		(table).last_v = v_;                                         \
		v_ == 2;                                                     \
	})

static bool two_names(uint32_t kind)
{
	return kind == FR_EV_RENAME || kind == FR_EV_LINK;
}

static uint32_t argv_key(char *buf, const char *host, uint32_t pid, uint64_t pstart)
{
	size_t hl = host ? strlen(host) : 0;
	if (hl > 255)
		hl = 255;
	memcpy(buf, host ? host : "", hl);
	buf[hl] = 0;
	memcpy(buf + hl + 1, &pid, 4);
	memcpy(buf + hl + 5, &pstart, 8);
	return (uint32_t)(hl + 13);
}

static bool match_event(struct fq_query *q, struct memo *m, const struct fr_event *ev)
{
	const struct fq_filter *f = &q->f;
	if (q->kinds && (ev->kind >= 64 || !(q->kinds & (1ull << ev->kind))))
		return false;
	if ((f->since_ns && ev->ts_ns < f->since_ns) || (f->until_ns && ev->ts_ns > f->until_ns))
		return false;
	if (f->has_auid && ev->auid != f->auid)
		return false;
	if (f->has_uid && ev->uid != f->uid)
		return false;
	if (f->has_ses && ev->ses != f->ses)
		return false;
	if ((f->flags & FQ_F_OK_ONLY) && ev->error)
		return false;
	if ((f->flags & FQ_F_READS) && ev->kind == FR_EV_OPEN && (ev->flags & FR_O_ACCMODE) != 0)
		return false;
	if (f->nhosts && (!ev->host || !MEMO(m->host, ev->host, str_in(f->hosts, f->nhosts, ev->host))))
		return false;
	if (f->npaths && m->exact_set) {
		bool hit = false;
		for (size_t i = 0; i < m->nexact && !hit; i++)
			hit = ev->path == m->exact[i] || (two_names(ev->kind) && ev->path2 == m->exact[i]);
		if (!hit)
			return false;
	} else if (f->npaths) {
		bool hit = ev->path && MEMO(m->path, ev->path, path_patterns(f, ev->path));
		if (!hit && two_names(ev->kind) && ev->path2)
			hit = MEMO(m->path, ev->path2, path_patterns(f, ev->path2));
		if (!hit)
			return false;
	}
	if ((f->flags & FQ_F_PERSISTENT) && ev->path) {
		bool keep = MEMO(m->pers, ev->path, persistent_path(ev->path));
		if (!keep && two_names(ev->kind) && ev->path2)
			keep = MEMO(m->pers, ev->path2, persistent_path(ev->path2));
		if (!keep)
			return false;
	}
	if (f->ncomms && (!ev->comm || !MEMO(m->comm, ev->comm, str_in(f->comms, f->ncomms, ev->comm))))
		return false;
	if (f->nexes && (!ev->exe || !MEMO(m->exe, ev->exe, exe_match(f, ev->exe))))
		return false;
	if (f->argv_sub) {
		char key[300];
		uint32_t kl = argv_key(key, ev->host, ev->pid, ev->pstart_ns);
		if (!fq_hmap_get(&q->argv_set, key, kl, false, NULL))
			return false;
	}
	return true;
}

static bool argv_contains(const char *argv, uint32_t len, const char *sub)
{
	size_t sl = strlen(sub);
	if (!argv || sl > len)
		return false;
	char stack[1024];
	char *tmp = len < sizeof(stack) ? stack : malloc(len);
	if (!tmp)
		return false;
	for (uint32_t i = 0; i < len; i++)
		tmp[i] = argv[i] ? argv[i] : ' ';
	bool r = memmem(tmp, len, sub, sl) != NULL;
	if (tmp != stack)
		free(tmp);
	return r;
}

/* ---------------- one segment ---------------- */

static void set_damage(struct item *it, const char *fmt, const char *why)
{
	char buf[256];
	snprintf(buf, sizeof(buf), fmt, why);
	free(it->damage);
	it->damage = strdup(buf);
}

static bool kinds_present(const struct fl_segment_info *in, uint64_t kinds)
{
	if (!kinds)
		return in->event_count > 0;
	for (int k = 0; k < FL_KIND_SLOTS; k++)
		if ((kinds & (1ull << k)) && in->kind_count[k])
			return true;
	return false;
}

/* Does any entry of dictionary d (decoded by a dictionaries-only open of
 * buf, FL_COL_NONE | cols) satisfy pred? 1 yes, 0 no, or a negative errno
 * with the item marked damaged. */
static int any_dict_match(const struct runner *R, struct item *it, const void *buf, size_t len, uint32_t cols,
			  enum fl_dict_id d, bool (*pred)(const struct fq_filter *, const char *),
			  const struct fq_filter *f)
{
	struct fl_read_opts ro = {.columns = FL_COL_NONE | cols, .flags = FL_READ_FAST | FL_READ_NO_SUMMARY};
	struct fl_segment *seg;
	struct fl_error err = {0};
	int r = fl_segment_open_ex(buf, len, with_priors(R, it, &ro), &seg, &err);
	if (r < 0) {
		char msg[200];
		set_damage(it, "%s", fl_error_format(&err, msg, sizeof(msg)));
		return r;
	}
	size_t n;
	const char *const *v = fl_segment_dict(seg, d, NULL, &n);
	bool any = false;
	for (size_t i = 0; i < n && !any; i++)
		any = pred(f, v[i]);
	fl_segment_free(seg);
	return any;
}

static bool comm_pred(const struct fq_filter *f, const char *s)
{
	return str_in(f->comms, f->ncomms, s);
}

/* Decide from the summary (sum, a summary-only open of buf) and the
 * dictionaries: 0 = decode, else the skip reason, or -1 (damaged). */
static int plan(struct runner *R, const void *buf, size_t len, const struct fl_segment *sum, struct item *it)
{
	struct fq_query *q = R->q;
	const struct fq_filter *f = &q->f;
	const struct fl_segment_info *in = fl_segment_info(sum);
	if (!in->event_count)
		return 3;
	if (R->mode == MODE_SESSIONS)
		return 0;
	if (f->until_ns && in->ts_min > f->until_ns)
		return 1;
	if (R->mode == MODE_ARGV)
		return in->kind_count[FR_EV_EXEC] || in->kind_count[FR_EV_PROC] ? 0 : 3;
	if (f->since_ns && in->ts_max < f->since_ns)
		return 1;
	if (f->nhosts) {
		size_t nh;
		const char *const *hosts = fl_segment_hosts(sum, &nh);
		bool any = false;
		for (size_t i = 0; i < nh && !any; i++)
			any = str_in(f->hosts, f->nhosts, hosts[i]);
		if (!any)
			return 2;
	}
	if (!kinds_present(in, q->kinds))
		return 3;
	if (f->npaths) {
		/* A filter that matches every path (a tree walk's dictionary,
		 * smaller than its filter) answers nothing: ask the dictionary. */
		bool maybe = false, filtered = !fl_segment_path_filter_matches_all(sum);
		for (size_t i = 0; i < f->npaths && !maybe && filtered; i++)
			if (f->paths[i].mode == FQ_PATH_EXACT)
				maybe = fl_segment_may_contain_path(sum, f->paths[i].pattern);
		if (!maybe && (!q->path_exact_only || !filtered)) {
			int r = any_dict_match(R, it, buf, len, FL_COL_PATHS, FL_DICT_PATHS, path_patterns, f);
			if (r < 0)
				return -1;
			maybe = r;
		}
		if (!maybe)
			return 4;
	}
	if (f->nexes && q->exes_exact_only) {
		bool maybe = false;
		for (size_t i = 0; i < f->nexes && !maybe; i++)
			maybe = fl_segment_may_contain_path(sum, f->exes[i]);
		if (!maybe)
			return 4;
	}
	if (f->ncomms) {
		int r = any_dict_match(R, it, buf, len, FL_COL_NAMES, FL_DICT_COMMS, comm_pred, f);
		if (r < 0)
			return -1;
		if (!r)
			return 5;
	}
	return 0;
}

static bool counted_for_sessions(const struct fr_event *ev)
{
	return ev->ses != FR_ID_UNSET && ev->kind != FR_EV_LOST && ev->kind != FR_EV_SOCKET &&
	       ev->kind != FR_EV_GAP;
}

static uint32_t ses_key(char *buf, const char *host, uint32_t ses)
{
	size_t hl = host ? strlen(host) : 0;
	if (hl > 255)
		hl = 255;
	memcpy(buf, host ? host : "", hl);
	buf[hl] = 0;
	memcpy(buf + hl + 1, &ses, 4);
	return (uint32_t)(hl + 5);
}

/* Session (host, ses) was seen at `first`, unless seen before. */
static int sesmap_note(struct fq_hmap *m, const char *host, uint32_t ses, uint64_t first)
{
	char key[300];
	uint32_t kl = ses_key(key, host, ses);
	bool created;
	struct fq_hent *e = fq_hmap_get(m, key, kl, true, &created);
	if (!e)
		return -ENOMEM;
	if (created)
		e->a = first;
	return 0;
}

static int sesmap_add(struct fq_hmap *m, const struct fr_event *ev)
{
	if (!counted_for_sessions(ev))
		return 0;
	return sesmap_note(m, ev->host, ev->ses, ev->kind == FR_EV_PROC ? ev->pstart_ns : ev->ts_ns);
}

static const char *group_key(enum fq_group by, const struct fr_event *ev, char *buf, size_t len, uint32_t *kl)
{
	const char *s = NULL;
	switch (by) {
	case FQ_BY_PATH:
		s = ev->path;
		break;
	case FQ_BY_PROCESS:
		s = ev->comm;
		break;
	case FQ_BY_HOST:
		s = ev->host;
		break;
	case FQ_BY_USER:
		if (ev->auid != FR_ID_UNSET) {
			snprintf(buf, len, "\x01%u", ev->auid);
			*kl = (uint32_t)strlen(buf);
			return buf;
		}
		break;
	}
	if (!s) {
		*kl = 0;
		return "";
	}
	size_t n = strlen(s);
	if (n + 2 > len)
		n = len - 2;
	buf[0] = 1;
	memcpy(buf + 1, s, n);
	buf[n + 1] = 0;
	*kl = (uint32_t)(n + 1);
	return buf;
}

static int agg_add(struct fq_hmap *m, enum fq_group by, const struct fr_event *ev, uint64_t count,
		   uint64_t first, uint64_t last)
{
	char buf[4200];
	uint32_t kl;
	const char *k = group_key(by, ev, buf, sizeof(buf), &kl);
	bool created;
	struct fq_hent *e = fq_hmap_get(m, k, kl, true, &created);
	if (!e)
		return -ENOMEM;
	if (created || first < e->b)
		e->b = first;
	if (created || last > e->c)
		e->c = last;
	e->a += count;
	return 0;
}

static int push_hit(struct item *it, const struct fr_event *ev, size_t *cap)
{
	if (it->nhits == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct fr_event **v = realloc(it->hits, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		it->hits = v;
		*cap = nc;
	}
	struct fr_event *d = fr_event_dup(ev);
	if (!d)
		return -ENOMEM;
	it->hits[it->nhits++] = d;
	return 0;
}

/* Can a count be answered from fl_segment_find_paths' hits alone? They
 * carry kind, time, path and path2; the host too when the segment has one
 * sole host. Any other filter or grouping needs the decoded events. */
static bool count_from_path_hits(const struct fq_query *q, enum fq_group by, bool sole_host)
{
	const struct fq_filter *f = &q->f;
	if (f->has_auid || f->has_uid || f->has_ses || f->ncomms || f->nexes || f->argv_sub ||
	    (f->flags & (FQ_F_OK_ONLY | FQ_F_READS | FQ_F_PERSISTENT)))
		return false;
	if (f->nhosts && !sole_host)
		return false;
	return by == FQ_BY_PATH || (by == FQ_BY_HOST && sole_host);
}

static uint32_t mode_columns(struct runner *R)
{
	struct fq_query *q = R->q;
	switch (R->mode) {
	case MODE_ARGV:
		return FL_COL_ARGV | FL_COL_NAMES | FL_COL_CTX | FL_COL_DETAIL;
	case MODE_SESSIONS:
		return FL_COL_CTX | FL_COL_NAMES;
	case MODE_COUNT: {
		uint32_t c = q->cols;
		c |= R->by == FQ_BY_PATH ? FL_COL_PATHS : R->by == FQ_BY_USER ? FL_COL_CTX : FL_COL_NAMES;
		return c ? c : FL_COL_NONE;
	}
	case MODE_EVENTS:
		break;
	}
	/* A segment that passed a path check (bloom or dictionary) usually has
	 * matches: one pass over every column beats a filter pass then a full
	 * pass. Other filters decode their columns first. */
	if (q->f.npaths)
		return FL_COL_ALL;
	return q->cols ? q->cols : FL_COL_ALL;
}

/* The segment's sessions block into it->sesmap. false: no such block. */
static int sesmap_from_block(struct item *it, const struct fl_segment *seg)
{
	size_t n;
	const struct fl_session_first *v = fl_segment_sessions(seg, &n);
	if (!v)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (sesmap_note(&it->sesmap, v[i].host, v[i].ses, v[i].first_ns) < 0)
			return -ENOMEM;
	return 1;
}

/* Bytes of the file a summary-only open reads: header, table, summary,
 * sessions. */
static uint64_t summary_bytes(const struct fl_segment *sum)
{
	size_t n;
	const struct fl_block_stat *b = fl_segment_blocks(sum, &n);
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(b[i].name, "header") || !strcmp(b[i].name, "summary") || !strcmp(b[i].name, "sessions"))
			t += b[i].stored;
	return t;
}

static void process_item(struct runner *R, struct memo *m, struct item *it)
{
	struct fq_query *q = R->q;
	void *buf = it->image;
	size_t mapped = 0, len = it->image_len;
	struct fl_segment *seg = NULL, *sum = NULL;
	uint32_t *idx = NULL;
	size_t nidx = 0, capidx = 0, caphits = 0;
	struct fl_error err = {0};
	int r;
	int fd = buf ? -1 : open(it->file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (!buf && (fd < 0 || fstat(fd, &st) < 0)) {
		set_damage(it, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	/* Mapped, not read: the decoder touches only the blocks it needs
	 * (FL_READ_FAST skips the whole-file hash and the other blocks' CRCs;
	 * `flightrec verify` checks everything). */
	if (!buf)
		len = (size_t)st.st_size;
	if (!buf && len) {
		buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (buf == MAP_FAILED) {
			buf = NULL;
			set_damage(it, "%s", strerror(errno));
			close(fd);
			return;
		}
		mapped = len;
	}
	if (fd >= 0)
		close(fd);
	/* the summary first: most segments of a long log cannot match, and
	 * it says so from a few KB */
	struct fl_read_opts sro = {.columns = FL_COL_NONE, .flags = FL_READ_FAST};
	if ((r = fl_segment_open_ex(buf ? buf : "", len, with_priors(R, it, &sro), &sum, &err)) < 0) {
		char msg[200];
		set_damage(it, "%s", fl_error_format(&err, msg, sizeof(msg)));
		goto out;
	}
	it->seq = fl_segment_info(sum)->seq;
	it->events = fl_segment_info(sum)->event_count;
	it->bytes = summary_bytes(sum);
	int skip = plan(R, buf, len, sum, it);
	if (skip) {
		it->skipped = skip > 0;
		it->skip_why = skip;
		goto out;
	}
	it->bytes = len;
	uint32_t cols = mode_columns(R);
	if ((R->mode == MODE_EVENTS || R->mode == MODE_COUNT) && q->kinds && !(q->kinds & ~FL_CHANGE_KINDS)) {
		/* only the change lane; change events carry no argv or line, so
		 * the argvs and lines dictionaries (the largest after paths) stay
		 * compressed */
		cols |= FL_COL_CHANGES;
		if ((cols & FL_COL_ALL) == FL_COL_ALL)
			cols &= ~FL_COL_ARGV;
	}
	/* every column a result needs (a change lane never needs argvs) */
	bool full = ((cols | (cols & FL_COL_CHANGES ? FL_COL_ARGV : 0)) & FL_COL_ALL) == FL_COL_ALL;
	bool want_ses = R->sessions && R->mode == MODE_EVENTS;
	/* sessions from the segment's sessions block when it has one (a
	 * summary-sized read), else from every event */
	bool ses_done = false;
	if (R->mode == MODE_SESSIONS || want_ses) {
		int k = sesmap_from_block(it, sum);
		if (k < 0)
			goto oom;
		ses_done = k > 0;
		if (ses_done)
			it->has_ses = true;
	}
	if (R->mode == MODE_SESSIONS && ses_done)
		goto out;
	/* A count of exact paths that needs no field beyond kind, time, path
	 * and (the segment's sole) host: the path-scan streams alone. */
	bool scan_count = R->mode == MODE_COUNT && q->f.npaths && q->path_exact_only &&
			  count_from_path_hits(q, R->by, true);
	struct fl_read_opts ro = {.columns = scan_count ? FL_COL_SCAN | (cols & FL_COL_CHANGES) : cols,
				  .flags = FL_READ_FAST | FL_READ_NO_SUMMARY};
	with_priors(R, it, &ro);
reopen:
	if ((r = fl_segment_open_ex(buf, len, &ro, &seg, &err)) < 0) {
		char msg[200];
		set_damage(it, "%s", fl_error_format(&err, msg, sizeof(msg)));
		goto out;
	}
	/* without a sessions block, a decode of every event builds the map */
	bool ses_from_events = want_ses && !ses_done && !(cols & FL_COL_CHANGES);
	it->decoded = true;
	memo_clear(m);
	if (q->f.npaths && q->path_exact_only && (ro.columns & (FL_COL_PATHS | FL_COL_NAMES | FL_COL_SCAN)) &&
	    R->mode != MODE_SESSIONS) {
		/* exact paths: find them in the dictionary once; none there,
		 * no event of this segment can match */
		const char **v = realloc(m->exact, q->f.npaths * sizeof(*v));
		if (!v)
			goto oom;
		m->exact = v;
		for (size_t i = 0; i < q->f.npaths; i++) {
			const char *e = fl_segment_path_entry(seg, q->f.paths[i].pattern);
			if (e)
				m->exact[m->nexact++] = e;
		}
		m->exact_set = true;
		if (!m->nexact && !ses_from_events && (R->mode == MODE_EVENTS || R->mode == MODE_COUNT))
			goto out; /* the bloom filter's false positive */
	}
	/* Exact paths in the dictionary: find their events from the path
	 * streams alone (a fraction of a decode). No hit: nothing to decode; a
	 * count that needs only kind, time, path and host is answered from
	 * the hits; else decode up to the last hit. */
	uint64_t last_hit = UINT64_MAX;
	if (m->exact_set && m->nexact && (ro.columns & (FL_COL_PATHS | FL_COL_SCAN)) && !ses_from_events &&
	    (R->mode == MODE_EVENTS || R->mode == MODE_COUNT)) {
		struct fl_path_hit *hits = NULL;
		size_t nh = 0;
		r = fl_segment_find_paths(seg, m->exact, m->nexact, &hits, &nh);
		if (r < 0) {
			char msg[200];
			if (fl_segment_error(seg)->code)
				fl_error_format(fl_segment_error(seg), msg, sizeof(msg));
			else
				snprintf(msg, sizeof(msg), "%s", strerror(-r));
			set_damage(it, "%s", msg);
			goto out;
		}
		it->path_scanned = true;
		const char *host = R->mode == MODE_COUNT && (ro.columns & (FL_COL_NAMES | FL_COL_SCAN))
				 ? fl_segment_sole_host(seg) : NULL;
		if (nh && !(R->mode == MODE_COUNT && count_from_path_hits(q, R->by, host != NULL))) {
			last_hit = hits[nh - 1].ordinal;
			free(hits);
			if (ro.columns & FL_COL_SCAN) {
				/* hosts vary within the segment: decode after all */
				fl_segment_free(seg);
				seg = NULL;
				ro.columns = cols;
				goto reopen;
			}
		} else {
			for (size_t i = 0; i < nh; i++) {
				struct fr_event e = {.ts_ns = hits[i].ts_ns, .kind = hits[i].kind,
						     .host = host, .path = hits[i].path,
						     .path2 = hits[i].path2};
				if (match_event(q, m, &e) &&
				    agg_add(&it->map, R->by, &e, 1, e.ts_ns, e.ts_ns) < 0) {
					free(hits);
					goto oom;
				}
			}
			free(hits);
			it->decoded = false;
			goto out;
		}
	}
	struct fr_event ev;
	uint32_t j = 0;
	while (j <= last_hit && (r = fl_segment_next(seg, &ev)) == 1) {
		it->events_decoded++;
		switch (R->mode) {
		case MODE_SESSIONS:
			if (sesmap_add(&it->sesmap, &ev) < 0)
				goto oom;
			break;
		case MODE_ARGV:
			if ((ev.kind == FR_EV_EXEC && !ev.error) || ev.kind == FR_EV_PROC) {
				if (q->f.until_ns && ev.ts_ns > q->f.until_ns)
					break;
				if (MEMO(m->argv, ev.argv ? (const void *)ev.argv : (const void *)&m->argv,
					 argv_contains(ev.argv, ev.argv_len, q->f.argv_sub))) {
					char key[300];
					uint32_t kl = argv_key(key, ev.host, ev.pid, ev.pstart_ns);
					if (!fq_hmap_get(&it->map, key, kl, true, NULL))
						goto oom;
				}
			}
			break;
		case MODE_COUNT:
			if (match_event(q, m, &ev) && agg_add(&it->map, R->by, &ev, 1, ev.ts_ns, ev.ts_ns) < 0)
				goto oom;
			break;
		case MODE_EVENTS:
			if (full && ses_from_events && sesmap_add(&it->sesmap, &ev) < 0)
				goto oom;
			if (match_event(q, m, &ev)) {
				if (full) {
					if (push_hit(it, &ev, &caphits) < 0)
						goto oom;
				} else {
					if (nidx == capidx) {
						size_t nc = capidx ? capidx * 2 : 64;
						uint32_t *v = realloc(idx, nc * sizeof(*v));
						if (!v)
							goto oom;
						idx = v;
						capidx = nc;
					}
					idx[nidx++] = j;
				}
			}
			break;
		}
		j++;
	}
	if (r < 0) {
		char msg[200];
		set_damage(it, "%s", fl_error_format(fl_segment_error(seg), msg, sizeof(msg)));
		goto out;
	}
	if (R->mode == MODE_SESSIONS || (R->mode == MODE_EVENTS && full && ses_from_events))
		it->has_ses = true;
	if (R->mode == MODE_EVENTS && !full && nidx) {
		/* second pass: every column, only for a segment with matches */
		fl_segment_free(seg);
		seg = NULL;
		ro.columns = FL_COL_ALL | (cols & FL_COL_CHANGES);
		r = fl_segment_open_ex(buf, len, &ro, &seg, &err);
		if (r < 0) {
			char msg[200];
			set_damage(it, "%s", fl_error_format(&err, msg, sizeof(msg)));
			goto out;
		}
		size_t k = 0;
		j = 0;
		while ((r = fl_segment_next(seg, &ev)) == 1) {
			if (ses_from_events && sesmap_add(&it->sesmap, &ev) < 0)
				goto oom;
			if (k < nidx && idx[k] == j) {
				if (push_hit(it, &ev, &caphits) < 0)
					goto oom;
				k++;
			} else if (k == nidx && !ses_from_events) {
				break;
			}
			j++;
		}
		if (r < 0) {
			char msg[200];
			set_damage(it, "%s", fl_error_format(fl_segment_error(seg), msg, sizeof(msg)));
			goto out;
		}
		if (ses_from_events)
			it->has_ses = true;
	}
	goto out;
oom:
	set_damage(it, "%s", "out of memory");
out:
	free(idx);
	fl_segment_free(seg);
	fl_segment_free(sum);
	if (mapped)
		munmap(buf, mapped);
}

/* ---------------- the pool ---------------- */

static void *worker(void *arg)
{
	struct runner *R = arg;
	struct memo m = {0};
	for (;;) {
		pthread_mutex_lock(&R->mu);
		while (!R->stop && R->next < R->hi && R->next >= R->emitted + R->window)
			pthread_cond_wait(&R->cv_work, &R->mu);
		if (R->stop || R->next >= R->hi) {
			pthread_mutex_unlock(&R->mu);
			break;
		}
		size_t i = R->next++;
		pthread_mutex_unlock(&R->mu);
		process_item(R, &m, &R->items[i]);
		pthread_mutex_lock(&R->mu);
		R->items[i].done = 1;
		pthread_cond_broadcast(&R->cv_done);
		pthread_mutex_unlock(&R->mu);
	}
	memo_free(&m);
	return NULL;
}

static unsigned thread_count(const struct fq_opts *o)
{
	if (o && o->threads)
		return o->threads;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)(n > 64 ? 64 : n) : 1;
}

/* Start threads over items [lo, hi); the caller then consumes in order with
 * wait_item / release_item, and finishes with pool_join. */
static int pool_start(struct runner *R, size_t lo, size_t hi, unsigned nthreads, pthread_t *tids,
		      unsigned *started)
{
	R->next = lo;
	R->emitted = lo;
	R->lo = lo;
	R->hi = hi;
	R->stop = false;
	R->window = (size_t)nthreads * 4 + 4;
	*started = 0;
	for (unsigned t = 0; t < nthreads && t < hi - lo; t++) {
		if (pthread_create(&tids[t], NULL, worker, R) != 0)
			break;
		(*started)++;
	}
	if (!*started && hi > lo)
		return -EAGAIN;
	return 0;
}

static void wait_item(struct runner *R, size_t i)
{
	pthread_mutex_lock(&R->mu);
	while (!R->items[i].done)
		pthread_cond_wait(&R->cv_done, &R->mu);
	pthread_mutex_unlock(&R->mu);
}

static void release_item(struct runner *R, size_t i)
{
	pthread_mutex_lock(&R->mu);
	R->emitted = i + 1;
	pthread_cond_broadcast(&R->cv_work);
	pthread_mutex_unlock(&R->mu);
}

static void pool_join(struct runner *R, pthread_t *tids, unsigned started)
{
	pthread_mutex_lock(&R->mu);
	R->stop = true;
	pthread_cond_broadcast(&R->cv_work);
	pthread_mutex_unlock(&R->mu);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
}

static void item_clear_results(struct item *it, bool keep_ses)
{
	for (size_t i = 0; i < it->nhits; i++)
		free(it->hits[i]);
	free(it->hits);
	it->hits = NULL;
	it->nhits = 0;
	fq_hmap_free(&it->map);
	if (!keep_ses) {
		fq_hmap_free(&it->sesmap);
		it->has_ses = false;
	}
}

static void item_reset(struct item *it)
{
	item_clear_results(it, false);
	free(it->damage);
	it->damage = NULL;
	it->done = 0;
	it->skipped = it->decoded = false;
	it->skip_why = 0;
	it->events = it->events_decoded = it->bytes = 0;
}

/* ---------------- stores ---------------- */

struct plan_all {
	struct item *items;
	size_t n;
	size_t *store_lo; /* items of store s: [store_lo[s], store_lo[s+1]) */
	struct store_priors *priors; /* per store */
	size_t npriors;
};

static void items_free(struct plan_all *pa)
{
	for (size_t s = 0; pa->priors && s < pa->npriors; s++)
		fl_store_close(pa->priors[s].fs);
	free(pa->priors);
	for (size_t i = 0; i < pa->n; i++) {
		item_reset(&pa->items[i]);
		free(pa->items[i].file);
		free(pa->items[i].image);
	}
	free(pa->items);
	free(pa->store_lo);
}

static int add_item(struct plan_all *pa, size_t *cap, size_t store, const char *file)
{
	if (pa->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct item *v = realloc(pa->items, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pa->items = v;
		*cap = nc;
	}
	struct item *it = &pa->items[pa->n];
	memset(it, 0, sizeof(*it));
	it->store = store;
	it->file = strdup(file);
	if (!it->file)
		return -ENOMEM;
	pa->n++;
	return 0;
}

static int list_stores(const char *const *stores, size_t nstores, struct plan_all *out)
{
	struct plan_all pa = {0};
	size_t cap = 0;
	int r = 0;
	pa.store_lo = calloc(nstores + 1, sizeof(size_t));
	pa.priors = calloc(nstores + 1, sizeof(*pa.priors));
	pa.npriors = nstores;
	if (!pa.store_lo || !pa.priors) {
		items_free(&pa);
		return -ENOMEM;
	}
	for (size_t s = 0; s < nstores && !r; s++) {
		pa.store_lo[s] = pa.n;
		struct stat st;
		if (stat(stores[s], &st) < 0) {
			r = -errno;
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = add_item(&pa, &cap, s, stores[s]);
			/* a lone segment's priors are beside it */
			if (!r && fl_store_open_beside(stores[s], &pa.priors[s].fs) == 0)
				r = fl_store_priors(pa.priors[s].fs, &pa.priors[s].list, &pa.priors[s].n);
			continue;
		}
		/* the segment being recorded too (its journal) */
		struct fl_store *fs;
		void *image = NULL;
		size_t image_len = 0;
		uint64_t image_seq = 0;
		int image_err = 0;
		r = fl_store_open_live(stores[s], &fs, &image, &image_len, &image_seq, &image_err);
		if (!r && image_err) {
			fl_store_close(fs);
			r = image_err;
		}
		if (r < 0)
			break;
		pa.priors[s].fs = fs;
		size_t n;
		const struct fl_store_entry *e = fl_store_entries(fs, &n);
		for (size_t i = 0; i < n && !r; i++) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/%s", stores[s], e[i].name);
			r = add_item(&pa, &cap, s, path);
		}
		if (image && !r) {
			char path[4200];
			fl_store_journal_path(fs, path, sizeof(path));
			r = add_item(&pa, &cap, s, path);
			if (!r) {
				pa.items[pa.n - 1].image = image;
				pa.items[pa.n - 1].image_len = image_len;
				image = NULL;
			}
		}
		free(image);
		if (!r)
			r = fl_store_priors(fs, &pa.priors[s].list, &pa.priors[s].n);
	}
	pa.store_lo[nstores] = pa.n;
	if (r < 0) {
		items_free(&pa);
		return r;
	}
	*out = pa;
	return 0;
}

/* ---------------- running ---------------- */

struct run_state {
	struct runner R;
	struct plan_all pa;
	const char *const *stores;
	size_t nstores;
	const struct fq_opts *o;
	struct fq_stats st;
	struct fq_progress prog;
	/* sessions: per store, the first start of each host/ses, merged from
	 * items [store_lo, merged_upto) */
	struct fq_hmap *ses;
	size_t *merged_upto;
	void *consume_ctx; /* the consumer's: events_ctx or count_ctx */
};

static void account(struct run_state *S, struct item *it)
{
	struct fq_stats *st = &S->st;
	if (it->damage) {
		st->damaged++;
		if (S->R.q->damage_fn)
			S->R.q->damage_fn(it->file, it->damage, S->R.q->damage_ctx);
		return;
	}
	st->events += it->events;
	st->events_decoded += it->events_decoded;
	st->bytes_read += it->bytes;
	if (it->decoded)
		st->decoded++;
	if (it->path_scanned)
		st->path_scanned++;
	switch (it->skip_why) {
	case 1: st->skipped_time++; break;
	case 2: st->skipped_host++; break;
	case 3: st->skipped_kind++; break;
	case 4: st->skipped_path++; break;
	case 5: st->skipped_comm++; break;
	default: break;
	}
	S->prog.segments_done++;
	S->prog.events_done += it->events;
	if (S->o && S->o->progress)
		S->o->progress(&S->prog, S->o->progress_ctx);
}

/* Run items [lo, hi) in mode and consume each in order with fn. */
typedef int (*consume_fn)(struct run_state *S, size_t i);

static int run_range(struct run_state *S, size_t lo, size_t hi, consume_fn fn)
{
	if (lo >= hi)
		return 0;
	unsigned nt = thread_count(S->o);
	pthread_t *tids = calloc(nt, sizeof(*tids));
	if (!tids)
		return -ENOMEM;
	unsigned started;
	int r = pool_start(&S->R, lo, hi, nt, tids, &started);
	for (size_t i = lo; i < hi && !r; i++) {
		wait_item(&S->R, i);
		r = fn(S, i);
		release_item(&S->R, i);
	}
	pool_join(&S->R, tids, started);
	free(tids);
	return r;
}

static int consume_argv(struct run_state *S, size_t i)
{
	struct item *it = &S->pa.items[i];
	/* damage is reported by the main pass */
	for (size_t k = 0; k < it->map.cap; k++) {
		struct fq_hent *e = &it->map.v[k];
		if (e->key && !fq_hmap_get(&S->R.q->argv_set, e->key, e->klen, true, NULL))
			return -ENOMEM;
	}
	item_reset(it);
	return 0;
}

static int merge_sesmap(struct fq_hmap *into, struct item *it)
{
	for (size_t k = 0; k < it->sesmap.cap; k++) {
		struct fq_hent *e = &it->sesmap.v[k];
		if (!e->key)
			continue;
		bool created;
		struct fq_hent *d = fq_hmap_get(into, e->key, e->klen, true, &created);
		if (!d)
			return -ENOMEM;
		if (created)
			d->a = e->a;
	}
	fq_hmap_free(&it->sesmap);
	it->has_ses = false;
	return 0;
}

static int consume_sessions_only(struct run_state *S, size_t i)
{
	struct item *it = &S->pa.items[i];
	S->st.session_scanned++;
	S->st.bytes_read += it->bytes;
	if (it->damage) {
		free(it->damage);
		it->damage = NULL; /* reported by the main pass */
	}
	it->done = 1;
	return 0;
}

/* Make sure store s's session table covers items up to and including i. */
static int sessions_upto(struct run_state *S, size_t s, size_t i)
{
	size_t lo = S->merged_upto[s];
	/* items in [lo, i] without a session map: scan them (another pass);
	 * item i has none when only its change lane was decoded */
	bool need = false;
	for (size_t k = lo; k <= i; k++)
		if (!S->pa.items[k].has_ses)
			need = true;
	if (need) {
		struct item *tmp = calloc(i + 1 - lo, sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
		size_t nt = 0;
		size_t *map = calloc(i + 1 - lo, sizeof(size_t));
		if (!map) {
			free(tmp);
			return -ENOMEM;
		}
		for (size_t k = lo; k <= i; k++)
			if (!S->pa.items[k].has_ses) {
				tmp[nt].file = S->pa.items[k].file;
				tmp[nt].store = s;
				map[nt++] = k;
			}
		/* a separate runner: the main pool's threads keep using S->R */
		struct run_state sub = {0};
		sub.R.q = S->R.q;
		sub.R.priors = S->R.priors;
		sub.stores = S->stores;
		sub.R.items = tmp;
		sub.R.n = nt;
		sub.R.mode = MODE_SESSIONS;
		sub.o = S->o ? &(struct fq_opts){.threads = S->o->threads} : NULL;
		pthread_mutex_init(&sub.R.mu, NULL);
		pthread_cond_init(&sub.R.cv_work, NULL);
		pthread_cond_init(&sub.R.cv_done, NULL);
		sub.pa.items = tmp;
		int r = run_range(&sub, 0, nt, consume_sessions_only);
		pthread_mutex_destroy(&sub.R.mu);
		pthread_cond_destroy(&sub.R.cv_work);
		pthread_cond_destroy(&sub.R.cv_done);
		S->st.session_scanned += sub.st.session_scanned;
		S->st.bytes_read += sub.st.bytes_read;
		for (size_t k = 0; k < nt; k++) {
			struct item *d = &S->pa.items[map[k]];
			d->sesmap = tmp[k].sesmap;
			d->has_ses = true;
			tmp[k].sesmap = (struct fq_hmap){0};
			tmp[k].file = NULL;
			item_reset(&tmp[k]);
		}
		free(tmp);
		free(map);
		if (r < 0)
			return r;
	}
	for (size_t k = lo; k <= i; k++) {
		if (!S->pa.items[k].has_ses)
			break;
		int r = merge_sesmap(&S->ses[s], &S->pa.items[k]);
		if (r < 0)
			return r;
		S->merged_upto[s] = k + 1;
	}
	return 0;
}

struct events_ctx {
	fq_hit_fn fn;
	void *ctx;
	uint64_t limit;
	int ret;
};

static int state_init(struct run_state *S, struct fq_query *q, const char *const *stores, size_t nstores,
		      const struct fq_opts *o, enum item_mode mode)
{
	memset(S, 0, sizeof(*S));
	int r = list_stores(stores, nstores, &S->pa);
	if (r < 0)
		return r;
	S->stores = stores;
	S->nstores = nstores;
	S->o = o;
	S->R.q = q;
	S->R.priors = S->pa.priors;
	S->R.items = S->pa.items;
	S->R.n = S->pa.n;
	S->R.mode = mode;
	S->R.sessions = o && (o->flags & FQ_O_SESSIONS);
	pthread_mutex_init(&S->R.mu, NULL);
	pthread_cond_init(&S->R.cv_work, NULL);
	pthread_cond_init(&S->R.cv_done, NULL);
	S->ses = calloc(nstores + 1, sizeof(*S->ses));
	S->merged_upto = calloc(nstores + 1, sizeof(size_t));
	if (!S->ses || !S->merged_upto) {
		free(S->ses);
		free(S->merged_upto);
		items_free(&S->pa);
		return -ENOMEM;
	}
	for (size_t s = 0; s < nstores; s++)
		S->merged_upto[s] = S->pa.store_lo[s];
	S->st.segments = S->pa.n;
	S->prog.segments_total = S->pa.n;
	return 0;
}

static void state_free(struct run_state *S)
{
	pthread_mutex_destroy(&S->R.mu);
	pthread_cond_destroy(&S->R.cv_work);
	pthread_cond_destroy(&S->R.cv_done);
	for (size_t s = 0; s < S->nstores; s++)
		fq_hmap_free(&S->ses[s]);
	free(S->ses);
	free(S->merged_upto);
	items_free(&S->pa);
}

/* The --argv pre-pass: the processes whose command line matches. */
static int argv_pass(struct run_state *S)
{
	struct fq_query *q = S->R.q;
	if (!q->f.argv_sub || q->argv_ready)
		return 0;
	fq_hmap_free(&q->argv_set);
	enum item_mode m = S->R.mode;
	S->R.mode = MODE_ARGV;
	int r = run_range(S, 0, S->pa.n, consume_argv);
	S->R.mode = m;
	for (size_t i = 0; i < S->pa.n; i++)
		item_reset(&S->pa.items[i]);
	q->argv_ready = r == 0;
	return r;
}

static int consume_events(struct run_state *S, size_t i)
{
	struct events_ctx *E = S->consume_ctx;
	struct item *it = &S->pa.items[i];
	account(S, it);
	int r = 0;
	bool merged = false;
	for (size_t k = 0; k < it->nhits && !r; k++) {
		const struct fr_event *ev = it->hits[k];
		char sid[SESSION_ID_MAX];
		const char *session = NULL;
		if (S->R.sessions && ev->ses != FR_ID_UNSET) {
			if (!merged) {
				r = sessions_upto(S, it->store, i);
				if (r < 0)
					break;
				merged = true;
			}
			char key[300];
			uint32_t kl = ses_key(key, ev->host, ev->ses);
			struct fq_hent *e = fq_hmap_get(&S->ses[it->store], key, kl, false, NULL);
			if (e)
				session = fq_session_id(ev->host, ev->ses, e->a, sid, sizeof(sid));
		}
		struct fq_hit h = {.ev = ev, .session = session, .store = S->stores[it->store], .seq = it->seq};
		S->st.matched++;
		r = E->fn(&h, E->ctx);
		if (r)
			E->ret = r;
		if (!r && E->limit && S->st.matched >= E->limit)
			r = 1;
	}
	/* keep the session map in step when we can do it for free */
	if (S->R.sessions && it->has_ses && S->merged_upto[it->store] == i && !r) {
		int e = merge_sesmap(&S->ses[it->store], it);
		if (e < 0)
			return e;
		S->merged_upto[it->store] = i + 1;
	}
	item_clear_results(it, S->R.sessions);
	return r;
}

int fq_run(struct fq_query *q, const char *const *stores, size_t nstores, const struct fq_opts *o, fq_hit_fn fn,
	   void *ctx, struct fq_stats *st)
{
	struct run_state S;
	int r = state_init(&S, q, stores, nstores, o, MODE_EVENTS);
	if (r < 0)
		return r;
	r = argv_pass(&S);
	struct events_ctx E = {.fn = fn, .ctx = ctx, .limit = o ? o->limit : 0};
	S.consume_ctx = &E;
	if (!r)
		r = run_range(&S, 0, S.pa.n, consume_events);
	if (r > 0)
		r = E.ret; /* stopped by fn (its value) or by the limit (0) */
	if (st)
		*st = S.st;
	state_free(&S);
	return r;
}

/* ---------------- count ---------------- */

struct count_ctx {
	struct fq_hmap all;
};

static int consume_count(struct run_state *S, size_t i)
{
	struct item *it = &S->pa.items[i];
	account(S, it);
	for (size_t k = 0; k < it->map.cap; k++) {
		struct fq_hent *e = &it->map.v[k];
		if (!e->key)
			continue;
		S->st.matched += e->a;
		bool created;
		struct fq_hent *d = fq_hmap_get(&((struct count_ctx *)S->consume_ctx)->all, e->key, e->klen, true, &created);
		if (!d)
			return -ENOMEM;
		if (created || e->b < d->b)
			d->b = e->b;
		if (created || e->c > d->c)
			d->c = e->c;
		d->a += e->a;
	}
	item_clear_results(it, false);
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct fq_row *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (!x->key || !y->key)
		return !x->key - !y->key;
	return strcmp(x->key, y->key);
}

int fq_count(struct fq_query *q, const char *const *stores, size_t nstores, const struct fq_opts *o,
	     enum fq_group by, struct fq_groups **out, struct fq_stats *st)
{
	if ((unsigned)by > FQ_BY_USER)
		return -EINVAL;
	struct run_state S;
	int r = state_init(&S, q, stores, nstores, o, MODE_COUNT);
	if (r < 0)
		return r;
	S.R.by = by;
	S.R.sessions = false;
	r = argv_pass(&S);
	struct count_ctx c = {0};
	S.consume_ctx = &c;
	if (!r)
		r = run_range(&S, 0, S.pa.n, consume_count);
	struct fq_groups *g = NULL;
	if (!r) {
		g = calloc(1, sizeof(*g));
		if (g) {
			g->rows = calloc(c.all.n + 1, sizeof(*g->rows));
			g->keys = calloc(c.all.n + 1, sizeof(char *));
		}
		if (!g || !g->rows || !g->keys) {
			fq_groups_free(g);
			g = NULL;
			r = -ENOMEM;
		}
	}
	if (!r) {
		for (size_t k = 0; k < c.all.cap; k++) {
			struct fq_hent *e = &c.all.v[k];
			if (!e->key)
				continue;
			struct fq_row *row = &g->rows[g->n];
			if (e->klen) {
				g->keys[g->n] = strdup(e->key + 1);
				if (!g->keys[g->n]) {
					r = -ENOMEM;
					break;
				}
			}
			row->key = g->keys[g->n];
			row->count = e->a;
			row->first_ns = e->b;
			row->last_ns = e->c;
			g->n++;
		}
		if (r < 0) {
			fq_groups_free(g);
			g = NULL;
		} else {
			qsort(g->rows, g->n, sizeof(*g->rows), row_cmp);
		}
	}
	fq_hmap_free(&c.all);
	if (st)
		*st = S.st;
	state_free(&S);
	if (!r)
		*out = g;
	return r;
}

size_t fq_groups_count(const struct fq_groups *g)
{
	return g ? g->n : 0;
}

const struct fq_row *fq_groups_row(const struct fq_groups *g, size_t i)
{
	return g && i < g->n ? &g->rows[i] : NULL;
}

void fq_groups_free(struct fq_groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->keys[i]);
	free(g->keys);
	free(g->rows);
	free(g);
}

void fq_stats_add_pass(struct fq_stats *a, const struct fq_stats *b)
{
	a->segments = b->segments > a->segments ? b->segments : a->segments;
	a->events = b->events > a->events ? b->events : a->events;
	a->damaged = b->damaged > a->damaged ? b->damaged : a->damaged;
	a->skipped_time += b->skipped_time;
	a->skipped_host += b->skipped_host;
	a->skipped_kind += b->skipped_kind;
	a->skipped_path += b->skipped_path;
	a->skipped_comm += b->skipped_comm;
	a->decoded += b->decoded;
	a->session_scanned += b->session_scanned;
	a->path_scanned += b->path_scanned;
	a->events_decoded += b->events_decoded;
	a->matched += b->matched;
	a->bytes_read += b->bytes_read;
}
