/* flightlog.c - segment encoder and decoder.
 *
 * Why: events are highly repetitive (the same few processes touching the same
 * few paths), so a segment stores them as separate column streams of small
 * integers that each compress to almost nothing with zstd: strings become
 * per-segment dictionary references, per-process fields (tid, uids, comm,
 * ...) are only written when they differ from that pid's previous event, and
 * kind-specific fields only when they differ from the previous event of the
 * same kind. Event order is the input order, so decode needs no permutation.
 * docs/FORMAT.md specifies every byte; keep them in step.
 */
#include "flightlog/fl_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <zstd.h>

/* ---------------------------------------------------------------- errors */

int fl_set_error(struct fl_error *err, int code, uint64_t offset, const char *block,
		 const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->code = code;
		err->offset = offset;
		snprintf(err->block, sizeof(err->block), "%s", block ? block : "");
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *fl_error_format(const struct fl_error *err, char *buf, size_t len)
{
	if (len)
		snprintf(buf, len, "offset %llu: %s in block '%s'",
			 (unsigned long long)err->offset, err->msg, err->block);
	return buf;
}

/* ------------------------------------------------------- column tables */

enum ftype {
	F_U32,      /* varint */
	F_U64,      /* varint */
	F_I32,      /* zigzag varint of the value */
	F_RELPID,   /* zigzag varint of (value - pid), 32-bit wrapping */
	F_DELTA32,  /* zigzag varint of (value - previous), 32-bit wrapping */
	F_DELTA64,  /* zigzag varint of (value - previous), 64-bit wrapping */
	F_RELTS,    /* zigzag varint of (event ts - value), 64-bit wrapping */
	F_HOST,     /* reference into the hosts dictionary */
	F_COMM,     /* ... comms */
	F_PATH,     /* ... paths */
	F_ARGV,     /* ... argvs (sets argv and argv_len) */
	F_LINE,     /* ... lines */
	F_ADDR,     /* 17 raw bytes: family, bytes[16] */
};

enum { D_HOST, D_COMM, D_PATH, D_ARGV, D_LINE, ND };
static const uint32_t dict_type[ND] = {16, 17, 18, 19, 20};
static const char *const dict_name[ND] = {"hosts", "comms", "paths", "argvs", "lines"};

struct field {
	const char *name;
	uint16_t off;
	uint8_t type;
	uint8_t group; /* FL_COL_* */
};

#define CF(n, t, g) {#n, offsetof(struct fr_event, n), t, g}
#define NCTX 12
static const struct field ctx_fields[NCTX] = {
	CF(tid, F_RELPID, FL_COL_CTX),     CF(ppid, F_DELTA32, FL_COL_CTX),
	CF(uid, F_DELTA32, FL_COL_CTX),    CF(euid, F_DELTA32, FL_COL_CTX),
	CF(auid, F_DELTA32, FL_COL_CTX),   CF(ses, F_DELTA32, FL_COL_CTX),
	CF(tty, F_DELTA32, FL_COL_CTX),    CF(cgroup, F_DELTA64, FL_COL_CTX),
	{"pstart", offsetof(struct fr_event, pstart_ns), F_RELTS, FL_COL_CTX},
	CF(host, F_HOST, FL_COL_NAMES),    CF(comm, F_COMM, FL_COL_NAMES),
	CF(exe, F_PATH, FL_COL_NAMES),
};
#define NEV 26
static const struct field ev_fields[NEV] = {
	CF(error, F_I32, FL_COL_DETAIL),       CF(path, F_PATH, FL_COL_PATHS),
	CF(path2, F_PATH, FL_COL_PATHS),       CF(argv, F_ARGV, FL_COL_ARGV),
	CF(cwd, F_PATH, FL_COL_PATHS),         CF(trunc, F_U32, FL_COL_DETAIL),
	CF(flags, F_U32, FL_COL_DETAIL),       CF(mode, F_U32, FL_COL_DETAIL),
	CF(owner, F_U32, FL_COL_DETAIL),       CF(group, F_U32, FL_COL_DETAIL),
	CF(length, F_U64, FL_COL_DETAIL),      CF(child_pid, F_DELTA32, FL_COL_DETAIL),
	CF(target_pid, F_RELPID, FL_COL_DETAIL), CF(target_comm, F_COMM, FL_COL_NAMES),
	CF(signal, F_I32, FL_COL_DETAIL),      CF(code, F_I32, FL_COL_DETAIL),
	CF(new_uid, F_U32, FL_COL_DETAIL),     CF(new_euid, F_U32, FL_COL_DETAIL),
	/* port and rport share the LOCAL_PEERS table: they must stay in one
	 * column group, so that a reader loads both or neither */
	CF(proto, F_U32, FL_COL_DETAIL),       CF(port, F_DELTA32, FL_COL_DETAIL),
	CF(rport, F_DELTA32, FL_COL_DETAIL),   CF(addr, F_ADDR, FL_COL_DETAIL),
	CF(raddr, F_ADDR, FL_COL_DETAIL),      CF(count, F_U64, FL_COL_DETAIL),
	CF(inode, F_U64, FL_COL_DETAIL),       CF(line, F_LINE, FL_COL_ARGV),
};
#undef CF

/* Streams: index -> block type and name. */
enum { S_KIND, S_TS, S_PID, S_PIDNEW, S_CTXMASK, S_EVMASK, S_CTX0, S_EV0 = S_CTX0 + NCTX,
       S_SHAPE = S_EV0 + NEV, /* FL_INCOMPAT_SHAPES: instead of kind, pid, ctx-mask, ev-mask */
       S_PGRP,                /* FL_INCOMPAT_GROUPED_PATHS: the path stream's group sizes */
       NSTREAMS };
#define BLK_SUMMARY 1u
#define BLK_PACK 2u
#define BLK_LANES 38u
#define BLK_SESSIONS 39u
#define BLK_SHAPE 40u  /* the S_SHAPE stream */
#define BLK_SHAPES 41u /* a lane's table of shapes (FORMAT.md 5.8) */
#define BLK_PGRP 42u   /* the S_PGRP stream (FORMAT.md 5.4.3) */
/* PRIOR (FORMAT.md 10.1): the blocks under 32 (summary, pack,
 * dictionaries) are compressed against the prior, the event columns
 * alone. The prior holds an earlier segment's strings and pack, which
 * is what these blocks repeat; a column frame given a dictionary costs
 * zstd a setup per frame on reading (a generated fleet's `stats`: 9%)
 * and bought nothing measurable (steady build, segment 2: -3.2% with
 * these blocks against the prior, -2.7% with every block). */
#define BLK_FIRST_COLUMN 32u
static inline bool block_uses_prior(uint32_t type) { return type < BLK_FIRST_COLUMN; }
/* Lanes (FL_INCOMPAT_LANES): events of the change kinds (modify .. unlisten:
 * what who-changed, what-changed, persistence and new-listeners read) are
 * coded in lane 1, every other event in lane 0. Each lane has its own
 * model and streams; lane 1's block types are lane 0's + 128. A query for
 * changes decodes lane 1 only: a few percent of a typical segment. */
#define NLANES 2
#define LANE_TYPE_OFFSET 128u
_Static_assert(FL_CHANGE_KINDS == (((1ull << (FR_EV_UNLISTEN + 1)) - 1) & ~((1ull << FR_EV_MODIFY) - 1)),
	       "the change lane is modify .. unlisten");
static inline int lane_of(uint32_t kind) { return kind < 64 && ((FL_CHANGE_KINDS >> kind) & 1); }
static uint32_t stream_type(int s)
{
	if (s == S_SHAPE)
		return BLK_SHAPE;
	if (s == S_PGRP)
		return BLK_PGRP;
	if (s < S_CTX0)
		return 32u + (uint32_t)s;
	if (s < S_EV0)
		return 48u + (uint32_t)(s - S_CTX0);
	return 64u + (uint32_t)(s - S_EV0);
}
static const char *stream_name(int s)
{
	static const char *const base[] = {"kind", "ts", "pid", "pid-new", "ctx-mask", "ev-mask"};
	if (s == S_SHAPE)
		return "shape";
	if (s == S_PGRP)
		return "path-groups";
	if (s < S_CTX0)
		return base[s];
	if (s < S_EV0)
		return ctx_fields[s - S_CTX0].name;
	return ev_fields[s - S_EV0].name;
}

#define MTF_N 16u
/* FL_INCOMPAT_LOCAL_PEERS: entries of the table of unpaired ports, and the
 * fields it codes (ev_fields indices). */
#define PEER_N 16u
enum { EVF_PORT = 19, EVF_RPORT = 20 };
/* ev_fields indices of path and path2, and ctx_fields' of host: what
 * fl_segment_find_paths and fl_segment_sole_host read, and SUCC_PATHS
 * codes (path) */
enum { EVF_ERROR = 0, EVF_PATH = 1, EVF_PATH2 = 2, CTXF_HOST = 9 };
/* Whether field f of an event of this kind is coded through the table:
 * connect's local port and accept's peer port, the two ends' ephemeral port
 * of a connection between two processes of this host. */
static inline bool peer_field(uint32_t kind, int f)
{
	return (f == EVF_PORT && kind == FR_EV_CONNECT) || (f == EVF_RPORT && kind == FR_EV_ACCEPT);
}
#define KSLOTS FL_KIND_SLOTS
static inline unsigned kslot(uint32_t kind) { return kind < KSLOTS - 1 ? kind : KSLOTS - 1; }

static inline uint32_t rd32(const struct fr_event *ev, unsigned off)
{
	uint32_t v;
	memcpy(&v, (const char *)ev + off, 4);
	return v;
}
static inline uint64_t rd64(const struct fr_event *ev, unsigned off)
{
	uint64_t v;
	memcpy(&v, (const char *)ev + off, 8);
	return v;
}
static inline const char *rdstr(const struct fr_event *ev, unsigned off)
{
	const char *v;
	memcpy(&v, (const char *)ev + off, sizeof(v));
	return v;
}
static inline void wr32(struct fr_event *ev, unsigned off, uint32_t v) { memcpy((char *)ev + off, &v, 4); }
static inline void wr64(struct fr_event *ev, unsigned off, uint64_t v) { memcpy((char *)ev + off, &v, 8); }
static inline void wrstr(struct fr_event *ev, unsigned off, const char *v) { memcpy((char *)ev + off, &v, sizeof(v)); }

static inline bool is_dict_type(uint8_t type)
{
	return type == F_HOST || type == F_COMM || type == F_PATH || type == F_LINE || type == F_ARGV;
}

static inline int dict_of(uint8_t type)
{
	return type == F_HOST ? D_HOST : type == F_COMM ? D_COMM : type == F_PATH ? D_PATH
	     : type == F_LINE ? D_LINE : D_ARGV;
}

/* ------------------------------------------------------------- pid map */

struct pidmap {
	struct pidslot {
		uint32_t key, val; /* val: state index + 1; 0 = empty */
	} *slots;
	uint32_t mask, n;
};

/* Multiplicative hash, high bits: pids are often close together. */
static inline uint32_t pid_hash(uint32_t pid) { return (uint32_t)(((uint64_t)pid * 0x9e3779b97f4a7c15ull) >> 32); }

static uint32_t pidmap_get(const struct pidmap *m, uint32_t pid)
{
	if (!m->slots)
		return 0;
	for (uint32_t i = pid_hash(pid) & m->mask;; i = (i + 1) & m->mask) {
		if (!m->slots[i].val)
			return 0;
		if (m->slots[i].key == pid)
			return m->slots[i].val;
	}
}

/* At most half full: a lookup is one or two probes of one cache line. */
static int pidmap_put(struct pidmap *m, uint32_t pid, uint32_t val)
{
	if (!m->slots || (m->n + 1) * 2 > m->mask + 1) {
		uint32_t ncap = m->slots ? (m->mask + 1) * 2 : 256;
		struct pidslot *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (uint32_t i = 0; m->slots && i <= m->mask; i++) {
			if (!m->slots[i].val)
				continue;
			uint32_t j = pid_hash(m->slots[i].key) & (ncap - 1);
			while (ns[j].val)
				j = (j + 1) & (ncap - 1);
			ns[j] = m->slots[i];
		}
		free(m->slots);
		m->slots = ns;
		m->mask = ncap - 1;
	}
	uint32_t i = pid_hash(pid) & m->mask;
	while (m->slots[i].val)
		i = (i + 1) & m->mask;
	m->slots[i] = (struct pidslot){pid, val};
	m->n++;
	return 0;
}

static void pidmap_free(struct pidmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* Per-pid and per-kind prediction state, identical in encoder and decoder.
 * Strings are dictionary references (0 = NULL, i + 1 = entry i). */
struct ctxstate {
	uint64_t v[NCTX];
	/* FL_INCOMPAT_SUCC_PATHS: the pid's last non-NULL path in this lane (a
	 * reference, 0 = none yet), the key of its successor prediction */
	uint32_t path;
};
struct evstate {
	uint64_t v[NEV];
	struct fr_addr a[2];
};

struct model {
	uint32_t mtf[MTF_N];
	uint32_t mtf_st[MTF_N]; /* index in st of each mtf pid's state */
	unsigned mtf_len;
	uint32_t prev_new_pid;
	uint32_t last_pid;
	struct ctxstate last_ctx;
	struct pidmap pm;
	struct ctxstate *st;
	uint32_t nst, capst;
	struct evstate ks[KSLOTS];
	uint64_t maxref[NSTREAMS]; /* dictionary streams: highest reference so far */
	/* FL_INCOMPAT_LOCAL_PEERS: ports sighted as connect's port or accept's
	 * rport and not yet paired, newest first */
	uint32_t peer[PEER_N];
	unsigned peer_len;
};

/* FL_INCOMPAT_SHAPES (FORMAT.md 5.8): the four values an event starts
 * with, coded as one index into its lane's table. */
struct shape {
	uint32_t kind, code, cm, em; /* pid code (0 .. MTF_N), ctx-mask, ev-mask */
};

static void model_reset(struct model *m)
{
	pidmap_free(&m->pm);
	free(m->st);
	memset(m, 0, sizeof(*m));
}

/* The state for pid, created from the baseline when new; *idx is its
 * index in st. A pid found in the MTF list (hit >= 0) has its state's
 * index there: no hash lookup for the common case. */
static struct ctxstate *model_state(struct model *m, uint32_t pid, int hit, uint32_t *idx)
{
	if (hit >= 0) {
		*idx = m->mtf_st[hit];
		return &m->st[*idx];
	}
	uint32_t v = pidmap_get(&m->pm, pid);
	if (v) {
		*idx = v - 1;
		return &m->st[v - 1];
	}
	if (m->nst == m->capst) {
		uint32_t nc = m->capst ? m->capst * 2 : 64;
		struct ctxstate *n = realloc(m->st, (size_t)nc * sizeof(*n));
		if (!n)
			return NULL;
		m->st = n;
		m->capst = nc;
	}
	if (pidmap_put(&m->pm, pid, m->nst + 1))
		return NULL;
	*idx = m->nst;
	struct ctxstate *s = &m->st[m->nst++];
	*s = m->last_ctx;
	s->v[0] = pid;         /* tid */
	s->v[1] = m->last_pid; /* ppid */
	s->path = 0;           /* a process's first path predicts nothing */
	return s;
}

/* Index of v in a[0..n) or -1: the MTF pid list, the table of ports. */
static int u32_index(const uint32_t *a, unsigned n, uint32_t v)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] == v)
			return (int)i;
	return -1;
}

/* The table of unpaired ports: index of port or -1. */
static int peer_find(const struct model *m, uint32_t port)
{
	return u32_index(m->peer, m->peer_len, port);
}
/* Entry i pairs: it leaves the table (a port pairs once). */
static void peer_take(struct model *m, unsigned i)
{
	memmove(m->peer + i, m->peer + i + 1, (m->peer_len - i - 1) * sizeof(uint32_t));
	m->peer_len--;
}
/* A port sighted the first time goes in front; a full table drops its
 * last (oldest) entry. */
static void peer_insert(struct model *m, uint32_t port)
{
	unsigned n = m->peer_len < PEER_N ? m->peer_len : PEER_N - 1;
	memmove(m->peer + 1, m->peer, n * sizeof(uint32_t));
	m->peer[0] = port;
	m->peer_len = n + 1;
}

/* MTF lookup: index of pid or -1. */
static int mtf_find(const struct model *m, uint32_t pid)
{
	return u32_index(m->mtf, m->mtf_len, pid);
}
static void mtf_front(struct model *m, unsigned i)
{
	uint32_t p = m->mtf[i], st = m->mtf_st[i];
	memmove(m->mtf + 1, m->mtf, i * sizeof(uint32_t));
	memmove(m->mtf_st + 1, m->mtf_st, i * sizeof(uint32_t));
	m->mtf[0] = p;
	m->mtf_st[0] = st;
}
static void mtf_insert(struct model *m, uint32_t pid, uint32_t st)
{
	unsigned n = m->mtf_len < MTF_N ? m->mtf_len : MTF_N - 1;
	memmove(m->mtf + 1, m->mtf, n * sizeof(uint32_t));
	memmove(m->mtf_st + 1, m->mtf_st, n * sizeof(uint32_t));
	m->mtf[0] = pid;
	m->mtf_st[0] = st;
	m->mtf_len = n + 1;
}

/* -------------------------------------------------------- dictionaries */

struct wdict {
	struct fl_bytes data; /* entries, each followed by a NUL */
	struct fl_bytes lens; /* varint lengths */
	uint32_t *off, *len;
	uint64_t *hash;
	uint32_t n, cap;
	uint32_t *ht, htmask; /* index + 1 */
};

static uint64_t str_hash(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h;
}

static int wdict_intern(struct wdict *d, const char *s, size_t len, uint64_t *ref)
{
	uint64_t h = str_hash(s, len);
	if (d->ht) {
		for (uint32_t i = (uint32_t)h & d->htmask;; i = (i + 1) & d->htmask) {
			uint32_t e = d->ht[i];
			if (!e)
				break;
			e--;
			if (d->hash[e] == h && d->len[e] == len && !memcmp(d->data.p + d->off[e], s, len)) {
				*ref = e + 1;
				return 0;
			}
		}
	}
	if (len > UINT32_MAX - 1 || d->data.len + len + 1 > UINT32_MAX || d->n == UINT32_MAX - 1)
		return -E2BIG;
	if (d->n == d->cap) {
		uint32_t nc = d->cap ? d->cap * 2 : 64;
		uint32_t *o = realloc(d->off, nc * sizeof(uint32_t));
		if (!o)
			return -ENOMEM;
		d->off = o;
		uint32_t *l = realloc(d->len, nc * sizeof(uint32_t));
		if (!l)
			return -ENOMEM;
		d->len = l;
		uint64_t *hh = realloc(d->hash, nc * sizeof(uint64_t));
		if (!hh)
			return -ENOMEM;
		d->hash = hh;
		d->cap = nc;
	}
	if ((d->n + 1) * 2 > (d->ht ? d->htmask + 1 : 0)) {
		uint32_t nc = d->ht ? (d->htmask + 1) * 2 : 128;
		uint32_t *t = calloc(nc, sizeof(uint32_t));
		if (!t)
			return -ENOMEM;
		for (uint32_t e = 0; e < d->n; e++) {
			uint32_t i = (uint32_t)d->hash[e] & (nc - 1);
			while (t[i])
				i = (i + 1) & (nc - 1);
			t[i] = e + 1;
		}
		free(d->ht);
		d->ht = t;
		d->htmask = nc - 1;
	}
	size_t off = d->data.len;
	if (fl_bytes_put(&d->data, s, len) || fl_bytes_put(&d->data, "", 1) ||
	    fl_put_varint(&d->lens, len)) {
		d->data.len = off;
		return -ENOMEM;
	}
	uint32_t e = d->n++;
	d->off[e] = (uint32_t)off;
	d->len[e] = (uint32_t)len;
	d->hash[e] = h;
	uint32_t i = (uint32_t)h & d->htmask;
	while (d->ht[i])
		i = (i + 1) & d->htmask;
	d->ht[i] = e + 1;
	*ref = e + 1;
	return 0;
}

static void wdict_free(struct wdict *d)
{
	fl_bytes_free(&d->data);
	fl_bytes_free(&d->lens);
	free(d->off);
	free(d->len);
	free(d->hash);
	free(d->ht);
	memset(d, 0, sizeof(*d));
}

/* Grow the table *t of *cap entries of elem bytes (first: the size of a
 * new table) by doubling until index need fits, the new entries zero.
 * The writer's successor and per-path error tables, the readers' path
 * group tables. need < 2^31 where it is used (a reference into a
 * dictionary of at most 2^30 bytes, a pid state of a 2^30-byte stream),
 * so the doubling stops before it would wrap. */
static int table_grow(void **t, uint32_t *cap, size_t elem, uint64_t need, uint32_t first)
{
	uint32_t nc = *cap ? *cap : first;
	while (nc <= need)
		nc = nc > UINT32_MAX / 2 ? UINT32_MAX : nc * 2;
	uint8_t *n = realloc(*t, (size_t)nc * elem);
	if (!n)
		return -ENOMEM;
	memset(n + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
	*t = n;
	*cap = nc;
	return 0;
}

/* --------------------------------------------------------------- writer */

struct fl_writer {
	int level;
	bool raw, no_pack;
	bool local_peers; /* FL_INCOMPAT_LOCAL_PEERS: not FL_WRITER_NO_LOCAL_PEERS */
	bool peers_coded; /* a port went through the table: the flag is needed */
	bool front_always; /* FL_WRITER_FRONT_ALWAYS */
	bool split_always; /* FL_WRITER_PATHS_SPLIT_ALWAYS */
	bool ts_planes;    /* FL_WRITER_TS_PLANES */
	bool succ_paths;  /* FL_INCOMPAT_SUCC_PATHS: not FL_WRITER_NO_SUCC_PATHS */
	bool shapes;      /* FL_INCOMPAT_SHAPES: not FL_WRITER_NO_SHAPES */
	/* FL_INCOMPAT_GROUPED_PATHS: 0 never (FL_WRITER_NO_GROUPED_PATHS),
	 * 1 when smaller, 2 always (FL_WRITER_GROUPED_PATHS_ALWAYS) */
	int grouping;
	bool path_errors; /* FL_INCOMPAT_PATH_ERRORS: not FL_WRITER_NO_PATH_ERRORS */
	/* SUCC_PATHS: paths coded (non-NULL, differing from the kind
	 * state) and those coded as their prediction; the flag pays when
	 * enough were (succ_flag) */
	uint64_t succ_paths_coded, succ_hits;
	uint32_t pack_max;
	uint64_t count;
	uint64_t ts_min, ts_max;
	uint64_t kind_count[KSLOTS + 1];
	struct wdict d[ND];
	struct wlane {
		struct model m;
		struct fl_bytes s[NSTREAMS]; /* S_TS unused: see tsd */
		uint64_t *tsd;               /* ts_ns of each event, delta-coded at finish */
		size_t tscap;
		uint64_t count;
		/* SUCC_PATHS: succ[r] is the path that followed path r in the
		 * same process the last time (0: none yet); entries 0 ..
		 * succ_cap - 1, more than the paths dictionary's count */
		uint32_t *succ;
		uint32_t succ_cap;
		/* SUCC_PATHS: the path stream is written in the old codes
		 * (NEWREF's) and bit j of predbits says that its j-th value
		 * (of npath) was the prediction; the finish rewrites it in the
		 * new codes when the flag pays (succ_flag). Writing both
		 * codings while adding cost 1.3% more of fl_writer_add's
		 * instructions on the corpus. */
		struct fl_bytes predbits;
		uint64_t npath;
		/* GROUPED_PATHS: the context state (the pid) of each value in
		 * the path stream, npst of them, to group them at the finish */
		uint32_t *pst;
		uint64_t npst, pst_cap;
		/* PATH_ERRORS (FORMAT.md 5.4.4): perr[r] is 1 + the error of the
		 * lane's last event with path r (0: none yet), entries 0 ..
		 * perr_cap - 1, more than the paths dictionary's count */
		uint64_t *perr;
		uint32_t perr_cap;
		/* SHAPES: the lane's shapes in first-appearance order, an
		 * open-addressing index of them (entry + 1, 0 free) and the
		 * last one used + 1, which most events repeat */
		struct wshapes {
			struct shape *v;
			uint32_t n, cap;
			uint32_t *slot;
			uint32_t mask, last;
		} sh;
	} lane[NLANES];
	struct fl_bytes lanesel;     /* bit j: lane of event j */
	/* audit sessions seen: key (host ref << 32 | ses), first time; an
	 * open-addressing table (key 0 is free: ses is never 0 with ref 0
	 * stored, see ses_note) plus the insertion order */
	struct sesmap {
		uint64_t *keys, *first;
		uint32_t *order;     /* slot of the i-th session seen */
		uint32_t n, mask;
	} ses;
	ZSTD_CCtx *cctx;
	/* PRIOR (FORMAT.md 10): the prior (borrowed) and zstd's digested
	 * copy of it at the writer's level (the only level of the blocks
	 * compressed against it: the ts cap is for a column), made when first
	 * needed and kept while the prior given has the same content
	 * (cdict_hash): digesting a 128 KiB prior costs about 10 ms at level
	 * 9, a twentieth of encoding a million events, and a store gives the
	 * writer its prior again before every segment */
	const struct fl_prior *prior;
	ZSTD_CDict *cdict;
	uint8_t cdict_hash[FL_HASH_LEN];
	/* the content of a next prior, from the last finished segment */
	struct fl_bytes prior_next;
};

int fl_writer_new(const struct fl_writer_opts *opts, struct fl_writer **out)
{
	struct fl_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->level = opts && opts->level ? opts->level : FL_DEFAULT_LEVEL;
	w->raw = opts && (opts->flags & FL_WRITER_RAW);
	w->no_pack = opts && (opts->flags & FL_WRITER_NO_PACK);
	w->local_peers = !(opts && (opts->flags & FL_WRITER_NO_LOCAL_PEERS));
	w->front_always = opts && (opts->flags & FL_WRITER_FRONT_ALWAYS);
	w->split_always = opts && (opts->flags & FL_WRITER_PATHS_SPLIT_ALWAYS);
	w->ts_planes = opts && (opts->flags & FL_WRITER_TS_PLANES);
	w->succ_paths = !(opts && (opts->flags & FL_WRITER_NO_SUCC_PATHS));
	w->shapes = !(opts && (opts->flags & FL_WRITER_NO_SHAPES));
	w->path_errors = !(opts && (opts->flags & FL_WRITER_NO_PATH_ERRORS));
	w->grouping = opts && (opts->flags & FL_WRITER_NO_GROUPED_PATHS)       ? 0
		    : opts && (opts->flags & FL_WRITER_GROUPED_PATHS_ALWAYS) ? 2
									      : 1;
	w->pack_max = opts && opts->pack_max ? opts->pack_max : FL_PACK_MAX_DEFAULT;
	if (w->level > ZSTD_maxCLevel())
		w->level = ZSTD_maxCLevel();
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		free(w);
		return -ENOMEM;
	}
	*out = w;
	return 0;
}

static void writer_clear(struct fl_writer *w)
{
	for (int i = 0; i < ND; i++)
		wdict_free(&w->d[i]);
	for (int l = 0; l < NLANES; l++) {
		struct wlane *L = &w->lane[l];
		model_reset(&L->m);
		for (int i = 0; i < NSTREAMS; i++)
			fl_bytes_free(&L->s[i]);
		free(L->tsd);
		L->tsd = NULL;
		L->tscap = 0;
		L->count = 0;
		free(L->succ);
		L->succ = NULL;
		L->succ_cap = 0;
		fl_bytes_free(&L->predbits);
		L->npath = 0;
		free(L->pst);
		L->pst = NULL;
		L->npst = L->pst_cap = 0;
		free(L->perr);
		L->perr = NULL;
		L->perr_cap = 0;
		free(L->sh.v);
		free(L->sh.slot);
		memset(&L->sh, 0, sizeof(L->sh));
	}
	fl_bytes_free(&w->lanesel);
	free(w->ses.keys);
	free(w->ses.first);
	free(w->ses.order);
	memset(&w->ses, 0, sizeof(w->ses));
	w->count = 0;
	w->peers_coded = false;
	w->succ_paths_coded = w->succ_hits = 0;
	w->ts_min = w->ts_max = 0;
	memset(w->kind_count, 0, sizeof(w->kind_count));
}

void fl_writer_free(struct fl_writer *w)
{
	if (!w)
		return;
	writer_clear(w);
	ZSTD_freeCCtx(w->cctx);
	ZSTD_freeCDict(w->cdict);
	fl_bytes_free(&w->prior_next);
	free(w);
}

int fl_writer_set_prior(struct fl_writer *w, const struct fl_prior *p)
{
	/* the same content digested already (by hash: a pointer may be a new
	 * prior at a freed one's address) */
	if (p && w->cdict && !memcmp(fl_prior_info(p)->hash, w->cdict_hash, FL_HASH_LEN)) {
		w->prior = p;
		return 0;
	}
	if (p)
		memcpy(w->cdict_hash, fl_prior_info(p)->hash, FL_HASH_LEN);
	ZSTD_freeCDict(w->cdict);
	w->cdict = NULL;
	w->prior = p;
	return 0;
}

/* zstd's digested prior at the writer's level, made on first use; NULL on
 * ENOMEM. */
static const ZSTD_CDict *writer_cdict(struct fl_writer *w)
{
	if (!w->cdict) {
		size_t len;
		const uint8_t *c = fl_prior_content(w->prior, &len);
		w->cdict = ZSTD_createCDict(c, len, w->level);
	}
	return w->cdict;
}

int fl_writer_prior_content(struct fl_writer *w, void **out, size_t *len)
{
	if (w->prior_next.len < FL_PRIOR_MIN)
		return -ENODATA;
	*out = w->prior_next.p;
	*len = w->prior_next.len;
	w->prior_next = (struct fl_bytes){0};
	return 0;
}

uint64_t fl_writer_count(const struct fl_writer *w)
{
	return w->count;
}

/* Remember the first time audit session (host ref, ses) appears. The key
 * stores ses + 1 in the low half, so no real key is 0. */
static int ses_note(struct sesmap *m, uint64_t host_ref, uint32_t ses, uint64_t first)
{
	uint64_t key = host_ref << 32 | ((uint64_t)ses + 1);
	if ((m->n + 1) * 2 > m->mask + 1 || !m->keys) {
		uint32_t ncap = m->keys ? (m->mask + 1) * 2 : 64;
		uint64_t *nk = calloc(ncap, sizeof(uint64_t)), *nf = calloc(ncap, sizeof(uint64_t));
		uint32_t *no = realloc(m->order, ncap * sizeof(uint32_t));
		if (!nk || !nf || !no) {
			free(nk);
			free(nf);
			if (no)
				m->order = no;
			return -ENOMEM;
		}
		m->order = no;
		for (uint32_t i = 0; i < m->n; i++) {
			uint32_t old = m->order[i];
			uint64_t k = m->keys[old];
			uint32_t h = (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 32) & (ncap - 1);
			while (nk[h])
				h = (h + 1) & (ncap - 1);
			nk[h] = k;
			nf[h] = m->first[old];
			m->order[i] = h;
		}
		free(m->keys);
		free(m->first);
		m->keys = nk;
		m->first = nf;
		m->mask = ncap - 1;
	}
	uint32_t h = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & m->mask;
	while (m->keys[h] && m->keys[h] != key)
		h = (h + 1) & m->mask;
	if (!m->keys[h]) {
		m->keys[h] = key;
		m->first[h] = first;
		m->order[m->n++] = h;
	}
	return 0;
}

/* Reference for a string field: reuse `base` when it has the same bytes. */
static inline __attribute__((always_inline)) int str_ref(struct fl_writer *w, int dict, const char *s,
							 size_t len, uint64_t base, uint64_t *ref)
{
	if (!s) {
		*ref = 0;
		return 0;
	}
	struct wdict *d = &w->d[dict];
	if (base && base <= d->n && d->len[base - 1] == len &&
	    !memcmp(d->data.p + d->off[base - 1], s, len)) {
		*ref = base;
		return 0;
	}
	return wdict_intern(d, s, len, ref);
}

/* str_ref for a C string. Entries are stored NUL-terminated and C strings
 * hold no NUL, so one strcmp decides without a strlen first: the better
 * order when s is usually base (a pid's comm, exe and host). Where it
 * usually is not (the path of an open after another open), the length
 * rejects most bases without reading them: same_likely false. */
static inline __attribute__((always_inline)) int cstr_ref(struct fl_writer *w, int dict, const char *s,
							  uint64_t base, bool same_likely, uint64_t *ref)
{
	if (!s) {
		*ref = 0;
		return 0;
	}
	if (!same_likely)
		return str_ref(w, dict, s, strlen(s), base, ref);
	struct wdict *d = &w->d[dict];
	if (base && base <= d->n && !strcmp((const char *)d->data.p + d->off[base - 1], s)) {
		*ref = base;
		return 0;
	}
	return wdict_intern(d, s, strlen(s), ref);
}

/* The value of field f of ev in model representation (refs for strings).
 * Always inlined into fully unrolled loops over the constant field tables:
 * f->type and f->off are then constants and the dispatch disappears (it
 * was a third of fl_writer_add). */
static inline __attribute__((always_inline)) int field_value(struct fl_writer *w, const struct fr_event *ev,
							     const struct field *f, uint64_t base, uint64_t *v)
{
	switch (f->type) {
	case F_U64:
	case F_DELTA64:
	case F_RELTS:
		*v = rd64(ev, f->off);
		return 0;
	case F_ARGV:
		return str_ref(w, D_ARGV, ev->argv, ev->argv_len, base, v);
	case F_HOST:
	case F_COMM:
	case F_PATH:
	case F_LINE: {
		return cstr_ref(w, dict_of(f->type), rdstr(ev, f->off), base, f->group != FL_COL_PATHS, v);
	}
	case F_ADDR:
		*v = 0;
		return 0;
	default:
		*v = rd32(ev, f->off);
		return 0;
	}
}

/* Append field value v to its stream. */
/* Value v of field f into stream s. A dictionary reference one above the
 * stream's highest so far (a string seen for the first time: new files) is
 * coded 1 and the highest itself (the file just created, modified next) 2,
 * whatever their numbers; other references keep stable codes (v + 2), which
 * zstd matches when the same files are opened again in the same order (a
 * compiler's headers). 0 stays NULL. maxref: the stream's state before this
 * event. */
static int put_value(struct fl_bytes *s, const struct field *f, uint64_t v, uint64_t old,
		     uint32_t pid, uint64_t ts, uint64_t maxref)
{
	switch (f->type) {
	case F_HOST:
	case F_COMM:
	case F_PATH:
	case F_ARGV:
	case F_LINE:
		return fl_put_varint(s, !v ? 0 : v == maxref + 1 ? 1 : v == maxref ? 2 : v + 2);
	case F_RELTS:
		return fl_put_varint(s, fl_zz64(ts - v));
	case F_I32:
		return fl_put_varint(s, fl_zz32((uint32_t)v));
	case F_RELPID:
		return fl_put_varint(s, fl_zz32((uint32_t)v - pid));
	case F_DELTA32:
		return fl_put_varint(s, fl_zz32((uint32_t)v - (uint32_t)old));
	case F_DELTA64:
		return fl_put_varint(s, fl_zz64(v - old));
	default:
		return fl_put_varint(s, v);
	}
}

/* SUCC_PATHS (FORMAT.md 5.4.2): a lane's path stream, in NEWREF's codes,
 * into out in the new ones: 1 for the values predbits marks (the path was
 * the one that followed the pid's previous path the last time: a compiler
 * opening the headers it opened last time, in the same order, even when it
 * is also the stream's highest, which was measured smaller), NEWREF's
 * codes one up for the others (2 a new string, 3 the highest, v + 3). A
 * copy: a failed finish keeps the events, and more may be added. */
static int succ_recode(const struct fl_bytes *b, const struct fl_bytes *predbits, struct fl_bytes *out)
{
	const uint8_t *p = b->p, *end = b->p + b->len;
	uint64_t x;
	if (fl_bytes_grow(out, b->len))
		return -ENOMEM;
	for (uint64_t j = 0; p < end && !fl_get_varint(&p, end, &x); j++) {
		bool pred = (predbits->p[j / 8] >> (j % 8)) & 1;
		if (fl_put_varint(out, pred ? 1 : x ? x + 1 : 0))
			return -ENOMEM;
	}
	return 0;
}

/* The length of the varint at p (< end), or 0 when it runs past end. */
static inline size_t varint_len(const uint8_t *p, const uint8_t *end)
{
	size_t k = 0;
	while (p + k < end && k < 10 && (p[k] & 0x80))
		k++;
	return p + k < end && k < 10 ? k + 1 : 0;
}

/* GROUPED_PATHS (FORMAT.md 5.4.3): the n values of a lane's path stream b
 * into *out grouped by process (st[j], the context state of value j, one
 * of nst), processes in the order of their first value, and the size of
 * each group into *sizes; *moved false (and out, sizes untouched unless
 * force) when grouping would move no value: each process's values already
 * follow one another. Two passes over the varints: sizes and bytes per group, then
 * each value copied to its group's next place. */
static int group_paths(const struct fl_bytes *b, const uint32_t *st, uint64_t n, uint32_t nst,
		       bool force, struct fl_bytes *out, struct fl_bytes *sizes, bool *moved)
{
	uint32_t *gid = malloc((nst ? nst : 1) * sizeof(uint32_t));
	uint64_t *cnt = calloc(nst ? nst : 1, sizeof(uint64_t)), *at = calloc(nst ? nst : 1, sizeof(uint64_t));
	uint32_t ng = 0;
	bool mv = false;
	int r = -ENOMEM;
	if (!gid || !cnt || !at)
		goto out;
	memset(gid, 0xff, (nst ? nst : 1) * sizeof(uint32_t));
	const uint8_t *p = b->p, *end = b->p + b->len;
	for (uint64_t j = 0; j < n; j++) {
		size_t k = p < end ? varint_len(p, end) : 0;
		if (st[j] >= nst || !k) {
			r = -EINVAL; /* the writer's own bookkeeping disagrees */
			goto out;
		}
		uint32_t g = gid[st[j]];
		if (g == UINT32_MAX)
			g = gid[st[j]] = ng++;
		else
			mv |= g != ng - 1; /* a process seen before another came back */
		cnt[g]++;
		at[g] += k;
		p += k;
	}
	if (p != end) {
		r = -EINVAL;
		goto out;
	}
	r = 0;
	if (!mv && !force)
		goto out;
	if (fl_bytes_grow(out, b->len)) {
		r = -ENOMEM;
		goto out;
	}
	for (uint64_t g = 0, sum = 0; g < ng; g++) {
		uint64_t len = at[g];
		at[g] = sum;
		sum += len;
		if (fl_put_varint(sizes, cnt[g])) {
			r = -ENOMEM;
			goto out;
		}
	}
	p = b->p;
	for (uint64_t j = 0; j < n; j++) {
		size_t k = varint_len(p, end); /* checked above */
		memcpy(out->p + at[gid[st[j]]], p, k);
		at[gid[st[j]]] += k;
		p += k;
	}
	out->len = b->len;
out:
	if (!r)
		*moved = mv;
	free(gid);
	free(cnt);
	free(at);
	return r;
}

/* The bytes (raw, raw_len) take on disk (*out): compressed at level lvl,
 * or raw when that is not smaller or the writer stores raw blocks. The
 * compressed copy goes to *z (the caller's to free) when z is not NULL
 * and it is the one stored; else *z is left NULL. */
static int stored_size(struct fl_writer *w, uint32_t type, const uint8_t *raw, size_t raw_len, int lvl, size_t *out,
		       void **z)
{
	if (w->raw || !raw_len) {
		*out = raw_len;
		return 0;
	}
	size_t bound = ZSTD_compressBound(raw_len);
	void *c = malloc(bound);
	if (!c)
		return -ENOMEM;
	bool with_prior = w->prior && block_uses_prior(type);
	/* against the prior, lvl is the writer's: only the ts column is capped */
	const ZSTD_CDict *cd = with_prior ? writer_cdict(w) : NULL;
	if (with_prior && !cd) {
		free(c);
		return -ENOMEM;
	}
	size_t n = cd ? ZSTD_compress_usingCDict(w->cctx, c, bound, raw, raw_len, cd)
		      : ZSTD_compressCCtx(w->cctx, c, bound, raw, raw_len, lvl);
	if (ZSTD_isError(n)) {
		free(c);
		return -EIO;
	}
	*out = n < raw_len ? n : raw_len;
	if (z && n < raw_len)
		*z = c;
	else
		free(c);
	return 0;
}

/* Whether the segment is written with SUCC_PATHS: some paths, and at
 * least one in eight (rounded down) of the coded ones, coded as their
 * prediction. Below that it saves next to nothing (a generated fleet
 * segment: 0.7% predicted, 448 B of 4.3 MB saved) while a path scan of a
 * segment with the flag must decode every event's pid (less than half as
 * fast on that segment); the recordings it is for predict 37% to 97%
 * (FORMAT.md 5.4.2). Without it the path streams are written in the old
 * codes as they are, so the segment stays readable by readers before
 * SUCC_PATHS. */
static bool succ_flag(const struct fl_writer *w)
{
	return w->succ_paths && w->succ_hits && w->succ_hits >= w->succ_paths_coded / 8;
}

static inline uint32_t shape_hash(const struct shape *s)
{
	uint64_t k = ((uint64_t)s->em << 22 | (uint64_t)s->cm << 10 | s->code << 5) ^ ((uint64_t)s->kind << 40);
	return (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 32);
}

/* The index of shape s in table t, added when new. On failure t may have
 * grown its index but holds the same shapes. */
static int shape_intern(struct wshapes *t, const struct shape *s, uint32_t *idx)
{
	if (t->last && !memcmp(&t->v[t->last - 1], s, sizeof(*s))) {
		*idx = t->last - 1;
		return 0;
	}
	if (!t->slot || 2 * (t->n + 1) > t->mask + 1) {
		uint32_t size = t->slot ? 2 * (t->mask + 1) : 64;
		uint32_t *slot = size > t->mask + 1 ? calloc(size, sizeof(*slot)) : NULL;
		if (!slot)
			return -ENOMEM;
		for (uint32_t i = 0; i < t->n; i++) {
			uint32_t h = shape_hash(&t->v[i]) & (size - 1);
			while (slot[h])
				h = (h + 1) & (size - 1);
			slot[h] = i + 1;
		}
		free(t->slot);
		t->slot = slot;
		t->mask = size - 1;
	}
	uint32_t h = shape_hash(s) & t->mask;
	for (; t->slot[h]; h = (h + 1) & t->mask)
		if (!memcmp(&t->v[t->slot[h] - 1], s, sizeof(*s))) {
			t->last = t->slot[h];
			*idx = t->last - 1;
			return 0;
		}
	if (t->n == t->cap) {
		uint32_t nc = t->cap ? 2 * t->cap : 64;
		struct shape *v = nc > t->cap ? realloc(t->v, (size_t)nc * sizeof(*v)) : NULL;
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = nc;
	}
	t->v[t->n] = *s;
	t->slot[h] = t->last = ++t->n;
	*idx = t->n - 1;
	return 0;
}

int fl_writer_add(struct fl_writer *w, const struct fr_event *ev)
{
	if ((!ev->argv && ev->argv_len) || w->count >= UINT32_MAX - 1)
		return -EINVAL;
	struct wlane *L = &w->lane[lane_of(ev->kind)];
	struct model *m = &L->m;
	struct fl_bytes *S = L->s;
	int r;
	/* Remember stream lengths so a failure leaves the writer as it was
	 * (dictionary entries may stay: they are only unused). */
	static const int fixed[] = {S_KIND, S_PID, S_PIDNEW, S_CTXMASK, S_EVMASK, S_SHAPE};
	size_t saved[NSTREAMS];
	uint64_t ctx_saved = 0, ev_saved = 0; /* field streams whose length is in saved[] */
	int mi = mtf_find(m, ev->pid);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		saved[fixed[i]] = S[fixed[i]].len;
	/* kind, ts */
	if (L->count == L->tscap) {
		size_t nc = L->tscap ? L->tscap * 2 : 1024;
		uint64_t *t = realloc(L->tsd, nc * sizeof(uint64_t));
		if (!t)
			return -ENOMEM;
		L->tsd = t;
		L->tscap = nc;
	}
	size_t sel_saved = w->lanesel.len, predbits_saved = L->predbits.len;
	if (w->count % 8 == 0 && fl_bytes_put(&w->lanesel, "", 1))
		return -ENOMEM;
	L->tsd[L->count] = ev->ts_ns;
	/* kind and pid code, unless in the shape */
	uint32_t code = mi >= 0 ? (uint32_t)mi : MTF_N;
	if (!w->shapes && ((r = fl_put_varint(&S[S_KIND], ev->kind)) || (r = fl_put_varint(&S[S_PID], code))))
		goto fail;
	if (mi < 0 && (r = fl_put_varint(&S[S_PIDNEW], fl_zz32(ev->pid - m->prev_new_pid))))
		goto fail;
	uint32_t st_idx = 0;
	struct ctxstate *st = model_state(m, ev->pid, mi, &st_idx);
	if (!st) {
		r = -ENOMEM;
		goto fail;
	}
	/* per-process context */
	struct ctxstate cur;
	uint64_t cm = 0;
#pragma GCC unroll 32
	for (int f = 0; f < NCTX; f++) {
		if ((r = field_value(w, ev, &ctx_fields[f], st->v[f], &cur.v[f])))
			goto fail;
		if (cur.v[f] != st->v[f])
			cm |= 1ull << f;
	}
	if (!w->shapes && (r = fl_put_varint(&S[S_CTXMASK], cm)))
		goto fail;
	for (uint64_t x = cm; x; x &= x - 1) {
		int f = __builtin_ctzll(x);
		saved[S_CTX0 + f] = S[S_CTX0 + f].len;
		ctx_saved |= 1ull << f;
		if ((r = put_value(&S[S_CTX0 + f], &ctx_fields[f], cur.v[f], st->v[f], ev->pid, ev->ts_ns,
				   m->maxref[S_CTX0 + f])))
			goto fail;
	}
	/* kind-specific fields */
	struct evstate *ks = &m->ks[kslot(ev->kind)], ecur;
	uint64_t em = 0;
#pragma GCC unroll 32
	for (int f = 0; f < NEV; f++) {
		const struct field *fd = &ev_fields[f];
		if (fd->type == F_ADDR) {
			int ai = f == 21 ? 0 : 1;
			memcpy(&ecur.a[ai], (const char *)ev + fd->off, sizeof(struct fr_addr));
			ecur.v[f] = 0;
			if (memcmp(&ecur.a[ai], &ks->a[ai], sizeof(struct fr_addr)))
				em |= 1ull << f;
			continue;
		}
		if ((r = field_value(w, ev, fd, ks->v[f], &ecur.v[f])))
			goto fail;
		if (ecur.v[f] != ks->v[f])
			em |= 1ull << f;
	}
	/* PATH_ERRORS: the error is predicted by the last one with the
	 * event's path, when there is one; the table grows with the
	 * dictionary before anything is written (a failed add keeps it) */
	uint64_t path = ecur.v[EVF_PATH];
	if (w->path_errors) {
		if (path >= L->perr_cap &&
		    (r = table_grow((void **)&L->perr, &L->perr_cap, sizeof(uint64_t), path, 256)))
			goto fail;
		uint64_t base = path && L->perr[path] ? L->perr[path] - 1 : ks->v[EVF_ERROR];
		em = (em & ~1ull) | (ecur.v[EVF_ERROR] != base);
	}
	if (w->shapes) {
		struct shape sh = {ev->kind, code, (uint32_t)cm, (uint32_t)em};
		uint32_t si;
		if ((r = shape_intern(&L->sh, &sh, &si)) || (r = fl_put_varint(&S[S_SHAPE], si)))
			goto fail;
	} else if ((r = fl_put_varint(&S[S_EVMASK], em))) {
		goto fail;
	}
	/* the table of unpaired ports (LOCAL_PEERS), applied at commit: -2
	 * untouched, -1 insert peer_port, else take that entry */
	int peer_op = -2;
	uint32_t peer_port = 0;
	for (uint64_t x = em; x; x &= x - 1) {
		int f = __builtin_ctzll(x);
		const struct field *fd = &ev_fields[f];
		saved[S_EV0 + f] = S[S_EV0 + f].len;
		ev_saved |= 1ull << f;
		if (fd->type == F_ADDR) {
			r = fl_bytes_put(&S[S_EV0 + f], &ecur.a[f == 21 ? 0 : 1], 17);
		} else if (w->local_peers && peer_field(ev->kind, f)) {
			peer_port = (uint32_t)ecur.v[f];
			peer_op = peer_find(m, peer_port);
			r = fl_put_varint(&S[S_EV0 + f],
					  peer_op >= 0 ? (uint64_t)peer_op
						       : PEER_N + (uint64_t)fl_zz32(peer_port - (uint32_t)ks->v[f]));
		} else
			r = put_value(&S[S_EV0 + f], fd, ecur.v[f], ks->v[f], ev->pid, ev->ts_ns, m->maxref[S_EV0 + f]);
		if (r)
			goto fail;
	}
	/* SUCC_PATHS: a byte of predbits per 8 path values (the bit is set
	 * at commit), and room in the table for this path as a key before it
	 * becomes one (every key is below succ_cap) */
	bool path_put = (em >> EVF_PATH) & 1;
	if (w->succ_paths &&
	    ((path_put && L->npath % 8 == 0 && fl_bytes_put(&L->predbits, "", 1)) ||
	     (path >= L->succ_cap &&
	      table_grow((void **)&L->succ, &L->succ_cap, sizeof(uint32_t), w->d[D_PATH].n, 256)))) {
		r = -ENOMEM;
		goto fail;
	}
	/* GROUPED_PATHS: room for this value's pid state (set at commit) */
	if (w->grouping && path_put && L->npst == L->pst_cap) {
		uint64_t nc = L->pst_cap ? L->pst_cap * 2 : 1024;
		uint32_t *t = realloc(L->pst, nc * sizeof(uint32_t));
		if (!t) {
			r = -ENOMEM;
			goto fail;
		}
		L->pst = t;
		L->pst_cap = nc;
	}
	/* the sessions block (FORMAT.md 3.1); nothing fails after this */
	if (ev->ses != FR_ID_UNSET && ev->kind != FR_EV_LOST && ev->kind != FR_EV_SOCKET &&
	    ev->kind != FR_EV_GAP &&
	    ses_note(&w->ses, cur.v[9], ev->ses, ev->kind == FR_EV_PROC ? ev->pstart_ns : ev->ts_ns)) {
		r = -ENOMEM;
		goto fail;
	}
	/* commit */
	for (uint64_t x = cm; x; x &= x - 1) {
		int f = __builtin_ctzll(x);
		if (is_dict_type(ctx_fields[f].type) && cur.v[f] > m->maxref[S_CTX0 + f])
			m->maxref[S_CTX0 + f] = cur.v[f];
	}
	for (uint64_t x = em; x; x &= x - 1) {
		int f = __builtin_ctzll(x);
		if (is_dict_type(ev_fields[f].type) && ecur.v[f] > m->maxref[S_EV0 + f])
			m->maxref[S_EV0 + f] = ecur.v[f];
	}
	if (peer_op >= 0)
		peer_take(m, (unsigned)peer_op);
	else if (peer_op == -1)
		peer_insert(m, peer_port);
	w->peers_coded |= peer_op != -2;
	/* SUCC_PATHS: a path put in the stream was the prediction when it is
	 * what followed the pid's last path the last time; then every
	 * non-NULL path, put or equal to the kind state, becomes its
	 * predecessor's successor and the pid's last path */
	cur.path = st->path;
	if (w->succ_paths) {
		if (path_put) {
			bool hit = path && st->path && L->succ[st->path] == path;
			L->predbits.p[L->npath / 8] |= (uint8_t)(hit << (L->npath % 8));
			L->npath++;
			w->succ_hits += hit;
			w->succ_paths_coded += path != 0;
		}
		if (path) {
			if (st->path)
				L->succ[st->path] = (uint32_t)path;
			cur.path = (uint32_t)path;
		}
	}
	if (w->grouping && path_put)
		L->pst[L->npst++] = st_idx;
	if (w->path_errors && path)
		L->perr[path] = ecur.v[EVF_ERROR] + 1;
	int hit = mi;
	if (hit >= 0)
		mtf_front(m, (unsigned)hit);
	else {
		mtf_insert(m, ev->pid, st_idx);
		m->prev_new_pid = ev->pid;
	}
	*st = cur;
	m->last_ctx = cur;
	m->last_pid = ev->pid;
	*ks = ecur;
	if (!w->count || ev->ts_ns < w->ts_min)
		w->ts_min = ev->ts_ns;
	if (!w->count || ev->ts_ns > w->ts_max)
		w->ts_max = ev->ts_ns;
	w->kind_count[ev->kind < KSLOTS ? ev->kind : KSLOTS]++;
	if (L != w->lane)
		w->lanesel.p[w->count / 8] |= (uint8_t)(1u << (w->count % 8));
	L->count++;
	w->count++;
	return 0;
fail:
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		S[fixed[i]].len = saved[fixed[i]];
	for (uint64_t x = ctx_saved; x; x &= x - 1)
		S[S_CTX0 + __builtin_ctzll(x)].len = saved[S_CTX0 + __builtin_ctzll(x)];
	for (uint64_t x = ev_saved; x; x &= x - 1)
		S[S_EV0 + __builtin_ctzll(x)].len = saved[S_EV0 + __builtin_ctzll(x)];
	w->lanesel.len = sel_saved;
	L->predbits.len = predbits_saved;
	/* A state created for a new pid stays: it holds the baseline the
	 * decoder would also create, but only if this pid then appears; drop
	 * it to keep encoder and decoder in step. */
	if (mi < 0 && m->nst && pidmap_get(&m->pm, ev->pid) == m->nst) {
		/* rebuild the map without the last state (rare path) */
		struct pidmap nm = {0};
		m->nst--;
		for (uint32_t i = 0; m->pm.slots && i <= m->pm.mask; i++)
			if (m->pm.slots[i].val && m->pm.slots[i].val <= m->nst &&
			    pidmap_put(&nm, m->pm.slots[i].key, m->pm.slots[i].val))
				break;
		pidmap_free(&m->pm);
		m->pm = nm;
	}
	return r;
}

/* FNV-1a 64: the bloom filter's hash (documented in FORMAT.md). */
static uint64_t fnv1a64(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0xcbf29ce484222325ull;
	while (n--) {
		h ^= *s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void bloom_add(uint8_t *bits, uint32_t m, uint32_t k, const char *s, size_t n)
{
	uint64_t h = fnv1a64(s, n);
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t b = (h1 + i * h2) & (m - 1);
		bits[b >> 3] |= (uint8_t)(1u << (b & 7));
	}
}

static bool bloom_has(const uint8_t *bits, uint32_t m, uint32_t k, const char *s, size_t n)
{
	uint64_t h = fnv1a64(s, n);
	uint32_t h1 = (uint32_t)h, h2 = (uint32_t)(h >> 32) | 1;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t b = (h1 + i * h2) & (m - 1);
		if (!(bits[b >> 3] & (1u << (b & 7))))
			return false;
	}
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The summary's bloom filter for n paths: at least 6 bits per path
 * (readers want a power of two, so 6 to 12), and the number of probes that
 * minimises false positives for the bits there are: 1% to 4.5%. A false
 * positive costs a query one dictionary read; the filter's bits are
 * incompressible, and 10-20 bits per path made it larger than the
 * compressed paths dictionary itself (an unpack's 20k paths: 32 KiB of
 * filter for 20 KiB of dictionary). */
static void bloom_size(uint32_t n, uint32_t *m, uint32_t *k)
{
	*m = *k = 0;
	if (!n)
		return;
	*m = 64;
	while (*m < (1u << 23) && *m < 6ull * n)
		*m *= 2;
	*k = (uint32_t)((double)*m / n * 0.6931 + 0.5);
	*k = *k < 1 ? 1 : *k > 8 ? 8 : *k;
}

/* The summary block (FORMAT.md 3) into b. match_all: instead of the
 * filter, the smallest one that says "maybe" to every path (8 bits, all
 * set), for dictionaries that compress to less than their filter. */
static int build_summary(struct fl_writer *w, struct fl_bytes *b, bool match_all)
{
	int r = 0;
	r |= fl_put_varint(b, w->count);
	r |= fl_put_varint(b, w->ts_min);
	r |= fl_put_varint(b, w->ts_max);
	r |= fl_put_varint(b, KSLOTS);
	for (int k = 0; k <= KSLOTS; k++)
		r |= fl_put_varint(b, w->kind_count[k]);
	/* pids: the keys of the lanes' per-pid state maps */
	uint32_t n = w->lane[0].m.nst + w->lane[1].m.nst, j = 0;
	uint32_t *pids = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!pids)
		return -ENOMEM;
	for (int l = 0; l < NLANES; l++) {
		const struct model *m = &w->lane[l].m;
		for (uint32_t i = 0; m->pm.slots && i <= m->pm.mask; i++)
			if (m->pm.slots[i].val)
				pids[j++] = m->pm.slots[i].key;
	}
	qsort(pids, j, sizeof(uint32_t), cmp_u32);
	uint32_t u = 0;
	for (uint32_t i = 0; i < j; i++)
		if (!u || pids[i] != pids[u - 1])
			pids[u++] = pids[i];
	j = u;
	r |= fl_put_varint(b, j);
	for (uint32_t i = 0; i < j; i++)
		r |= fl_put_varint(b, i ? pids[i] - pids[i - 1] : pids[0]);
	free(pids);
	struct wdict *hd = &w->d[D_HOST];
	r |= fl_put_varint(b, hd->n);
	for (uint32_t i = 0; i < hd->n; i++) {
		r |= fl_put_varint(b, hd->len[i]);
		r |= fl_bytes_put(b, hd->data.p + hd->off[i], hd->len[i]);
	}
	struct wdict *pd = &w->d[D_PATH];
	uint32_t m, k;
	if (match_all && pd->n)
		m = 8, k = 1;
	else
		bloom_size(pd->n, &m, &k);
	r |= fl_put_varint(b, m);
	r |= fl_put_varint(b, k);
	if (r)
		return -ENOMEM;
	if (m) {
		size_t at = b->len;
		if (fl_bytes_grow(b, m / 8))
			return -ENOMEM;
		memset(b->p + at, match_all ? 0xff : 0, m / 8);
		b->len += m / 8;
		for (uint32_t i = 0; i < pd->n && !match_all; i++)
			bloom_add(b->p + at, m, k, (const char *)pd->data.p + pd->off[i], pd->len[i]);
	}
	return 0;
}

struct outblk {
	uint32_t type, items;
	const uint8_t *raw;
	size_t raw_len;
	void *z;        /* compressed copy or NULL */
	size_t z_len;
};

/* Move the blocks of blk[0..*nb) smaller than the writer's pack_max into one
 * pack block (FORMAT.md 2.4) built in *pack, which takes the place of the
 * first member. The summary and the sessions stay out: a summary-only read
 * (FL_COL_NONE, what queries do to every segment first) then never
 * decompresses the pack. Fewer than two members: no pack (one member would
 * only add its sub-table). */
/* Blocks a writer may write: summary, sessions, lanes, pack, the
 * dictionaries, and per lane its streams and its shapes. */
#define FL_MAX_OUTBLK (4 + ND + NLANES * (NSTREAMS + 1))
static int build_pack(const struct fl_writer *w, struct outblk *blk, size_t *nb, struct fl_bytes *pack)
{
	size_t n = 0, first = SIZE_MAX, raw = 0;
	bool in[FL_MAX_OUTBLK] = {0};
	if (w->no_pack)
		return 0;
	for (size_t i = 0; i < *nb; i++) {
		if (blk[i].type == BLK_SUMMARY || blk[i].type == BLK_SESSIONS || blk[i].raw_len >= w->pack_max)
			continue;
		in[i] = true;
		n++;
		raw += blk[i].raw_len;
		if (first == SIZE_MAX)
			first = i;
	}
	if (n < 2)
		return 0;
	int e = fl_put_varint(pack, n);
	for (size_t i = 0; i < *nb && !e; i++)
		if (in[i]) {
			e |= fl_put_varint(pack, blk[i].type);
			e |= fl_put_varint(pack, blk[i].items);
			e |= fl_put_varint(pack, blk[i].raw_len);
		}
	e = e ? e : fl_bytes_grow(pack, raw);
	if (e)
		return -ENOMEM;
	for (size_t i = 0; i < *nb; i++)
		if (in[i])
			fl_bytes_put(pack, blk[i].raw, blk[i].raw_len); /* room reserved above */
	size_t o = 0;
	for (size_t i = 0; i < *nb; i++) {
		if (i == first)
			blk[o++] = (struct outblk){BLK_PACK, 0, pack->p, pack->len, NULL, 0};
		else if (!in[i])
			blk[o++] = blk[i];
	}
	*nb = o;
	return 0;
}

/* t / unit for the units a writer picks (1 s, 1 ms, 1 us, 1 ns): constant
 * divisors, which compile to multiplications; a division per event was a
 * quarter of fl_writer_finish's own time. */
static inline uint64_t in_unit(uint64_t t, uint64_t unit)
{
	switch (unit) {
	case 1000000000u:
		return t / 1000000000u;
	case 1000000u:
		return t / 1000000u;
	case 1000u:
		return t / 1000u;
	default:
		return t;
	}
}

/* A front-coded dictionary block (FL_INCOMPAT_FRONT_CODED, FORMAT.md 4.1):
 * n varint shared-prefix lengths (each at most FL_FRONT_MAX), n varint
 * suffix lengths, the suffixes each followed by a NUL, appended to o: 1.
 * Unless `always`, only when at least FL_FRONT_MIN_SHARE of the entries'
 * bytes are shared with the entry before; else 0, and nothing written (the
 * caller writes the plain layout). A reader rebuilds a
 * front-coded dictionary into a buffer of its own: worth it for a tree
 * walk (75-90% shared: the block 24% to 15x smaller, and faster to read,
 * as there is less to decompress), not for paths in no particular order
 * (26-40% shared: 1-2% smaller, and 25% slower to read a 58k-path
 * dictionary, which is most of a query's per-segment planning). The
 * in-memory dictionary is left as it is (a failed finish keeps the
 * writer). */
#define FL_FRONT_MIN_SHARE 0.6
static int dict_front_code(const struct wdict *d, bool always, struct fl_bytes *o)
{
	uint8_t *pre = malloc(d->n ? d->n : 1); /* p_i <= FL_FRONT_MAX < 256 */
	if (!pre)
		return -ENOMEM;
	_Static_assert(FL_FRONT_MAX <= UINT8_MAX, "prefix lengths fit a byte");
	size_t shared = 0;
	for (uint32_t i = 0; i < d->n; i++) {
		uint32_t q = 0;
		if (i) {
			const uint8_t *a = d->data.p + d->off[i - 1], *b = d->data.p + d->off[i];
			uint32_t m = d->len[i - 1] < d->len[i] ? d->len[i - 1] : d->len[i];
			if (m > FL_FRONT_MAX)
				m = FL_FRONT_MAX;
			while (q < m && a[q] == b[q])
				q++;
		}
		pre[i] = (uint8_t)q;
		shared += q;
	}
	if (!always && (double)shared < FL_FRONT_MIN_SHARE * (double)d->data.len) {
		free(pre);
		return 0;
	}
	int e = 0;
	for (uint32_t i = 0; i < d->n && !e; i++)
		e |= fl_put_varint(o, pre[i]);
	for (uint32_t i = 0; i < d->n && !e; i++)
		e |= fl_put_varint(o, d->len[i] - pre[i]);
	if (!e)
		e = fl_bytes_grow(o, d->data.len - shared);
	for (uint32_t i = 0; i < d->n && !e; i++)
		fl_bytes_put(o, d->data.p + d->off[i] + pre[i], d->len[i] - pre[i] + 1); /* with its NUL */
	free(pre);
	return e ? -ENOMEM : 1;
}

/* A split dictionary block (FL_INCOMPAT_PATHS_SPLIT, FORMAT.md 4.2),
 * appended to o: varint D, varint B, the D directories (what comes before
 * an entry's last '/') and the B basenames (what comes after it), each
 * followed by a NUL, in order of first use; then per entry a directory
 * code (0 no '/', 1 the next new directory, 2 the previous entry's, else
 * directory + 3) and a basename code (0 the next new one, 1 the previous
 * entry's, else basename + 2). "The previous entry's" is what a compiler
 * does: it probes one header in each include directory in turn, then the
 * next header in the same directories, so the pairs repeat and zstd
 * matches them (without those two codes the block was 11-39% larger). The
 * tables carry no lengths: the NULs delimit them (with lengths, 14%
 * larger). */
static int dict_split(const struct wdict *d, struct fl_bytes *o)
{
	struct wdict dirs = {0}, bases = {0};
	struct fl_bytes codes = {0};
	uint64_t pd = 0, pb = 0; /* the previous entry's references (index + 1; 0: none) */
	int e = 0;
	for (uint32_t i = 0; i < d->n && !e; i++) {
		const char *s = (const char *)d->data.p + d->off[i];
		const char *sl = memrchr(s, '/', d->len[i]);
		const char *base = sl ? sl + 1 : s;
		uint64_t dr = 0, br = 0;
		uint32_t nd = dirs.n, nb = bases.n;
		if (sl)
			e = wdict_intern(&dirs, s, (size_t)(sl - s), &dr);
		if (!e)
			e = wdict_intern(&bases, base, d->len[i] - (size_t)(base - s), &br);
		if (!e)
			e = fl_put_varint(&codes, !dr ? 0 : dirs.n > nd ? 1 : dr == pd ? 2 : dr + 2);
		if (!e)
			e = fl_put_varint(&codes, bases.n > nb ? 0 : br == pb ? 1 : br + 1);
		pd = dr;
		pb = br;
	}
	if (!e && (fl_put_varint(o, dirs.n) || fl_put_varint(o, bases.n) ||
		   fl_bytes_put(o, dirs.data.p, dirs.data.len) || fl_bytes_put(o, bases.data.p, bases.data.len) ||
		   fl_bytes_put(o, codes.p, codes.len)))
		e = -ENOMEM;
	wdict_free(&dirs);
	wdict_free(&bases);
	fl_bytes_free(&codes);
	return e;
}

/* The n zigzag deltas z as W byte planes (FORMAT.md 5.1): one byte W,
 * the smallest width that holds `all` (every delta ORed), then byte b of
 * every delta for b < W. */
static int ts_planes(struct fl_bytes *ts, const uint64_t *z, uint64_t n, uint64_t all)
{
	unsigned width = 0;
	while (width < 8 && (all >> (8 * width)))
		width++;
	if (fl_bytes_grow(ts, 1 + width * n))
		return -ENOMEM;
	ts->p[ts->len] = (uint8_t)width;
	for (unsigned b = 0; b < width; b++) {
		uint8_t *o = ts->p + ts->len + 1 + b * n;
		for (uint64_t i = 0; i < n; i++)
			o[i] = (uint8_t)(z[i] >> (8 * b));
	}
	ts->len += 1 + width * n;
	return 0;
}

/* The n zigzag deltas z as runs (FORMAT.md 5.1.1): varint R, the number
 * of non-zero deltas; R + 1 varints, the lengths of the runs of zeros
 * before, between and after them; R varints, each non-zero delta less 1.
 * Runs and values apart: each half is homogeneous, which zstd codes
 * better than them interleaved (corpus build 0.5% smaller). */
static int ts_runs(struct fl_bytes *ts, const uint64_t *z, uint64_t n, uint64_t nonzero)
{
	int e = fl_put_varint(ts, nonzero);
	uint64_t zeros = 0;
	for (uint64_t i = 0; i < n && !e; i++) {
		if (!z[i]) {
			zeros++;
			continue;
		}
		e = fl_put_varint(ts, zeros);
		zeros = 0;
	}
	e = e ? e : fl_put_varint(ts, zeros);
	for (uint64_t i = 0; i < n && !e; i++)
		if (z[i])
			e = fl_put_varint(ts, z[i] - 1);
	return e ? -ENOMEM : 0;
}

/* Compress b at the writer's level into b->z, or leave b->z NULL when that
 * would not be smaller (or the writer stores raw blocks). */
static int compress_block(struct fl_writer *w, struct outblk *b)
{
	if (w->raw || b->z) /* b->z: compressed already (GROUPED_PATHS' trial) */
		return 0;
	/* The timestamp planes (1-2 bytes per event, mostly zeros at ms
	 * resolution) at most at level 6: it finds most of what level 9
	 * does on them (an unpack's change-lane planes: 5.3 KB at 3,
	 * 3.7 at 6, 3.3 at 9) at twice its speed. */
	enum { FL_TS_LEVEL_MAX = 6 };
	int lvl = b->type % LANE_TYPE_OFFSET == stream_type(S_TS) && w->level > FL_TS_LEVEL_MAX ? FL_TS_LEVEL_MAX
												: w->level;
	size_t n = 0;
	int r = stored_size(w, b->type, b->raw, b->raw_len, lvl, &n, &b->z);
	if (!r && b->z)
		b->z_len = n;
	return r;
}

/* The paths dictionary b (plain layout) or its split layout (dict_split,
 * built in *split): the split one when its content is the smaller, and,
 * for a dictionary of FL_SPLIT_LARGE entries or more, smaller by at least
 * FL_SPLIT_MIN_SAVING bytes per entry (or always with
 * FL_WRITER_PATHS_SPLIT_ALWAYS); *used tells whether it went into b.
 * Why the margin: a reader rebuilds a split dictionary, which costs about
 * as much as decompressing 20 more bytes per entry, and queries open the
 * paths dictionary of every segment. A generated fleet (58k paths per
 * segment, 53k distinct names) saves 6.6 bytes per entry split: segments
 * 1% smaller, who-changed 5% slower. Below FL_SPLIT_LARGE entries the
 * rebuild takes a few tens of microseconds, little next to opening the
 * segment. Content
 * size rather than compressed size: compressing both layouts to compare
 * cost 8% of the build recording's encode time, and wherever the split
 * content was the smaller the split block compressed smaller too, or at
 * most 3 bytes larger (FORMAT.md 4.2). */
#define FL_SPLIT_LARGE 1024u
#define FL_SPLIT_MIN_SAVING 16u
static int choose_paths(struct fl_writer *w, struct outblk *b, struct fl_bytes *split, bool *used)
{
	int r = dict_split(&w->d[D_PATH], split);
	if (r)
		return r;
	uint32_t n = w->d[D_PATH].n;
	uint64_t margin = n < FL_SPLIT_LARGE ? 1 : (uint64_t)FL_SPLIT_MIN_SAVING * n;
	if (w->split_always || split->len + margin <= b->raw_len) {
		b->raw = split->p;
		b->raw_len = split->len;
		*used = true;
	}
	return 0;
}

/* The content of a next prior (FORMAT.md 10.3) from the finished blocks:
 * the pack's raw bytes, then each dictionary's, in block order, cut at
 * FL_PRIOR_CONTENT bytes in all, with a 0 byte in front should it start
 * like a trained zstd dictionary. Why those: they are what a later
 * segment of the same host repeats (its daemons' names, paths and command
 * lines), while the event columns of one window say little about the
 * next: a prior of every block of the steady nginx recording's first
 * segment made its second 2.3% larger, this one 0.4% smaller. Why the
 * cut: the steady build's second segment is 1.0% smaller against a 64 KiB
 * prior of its first, 2.5% against 128 KiB or 256 KiB, 2.7% against 1 MiB,
 * whose file is 2.5 times larger (49 KB). */
static int prior_next_build(struct fl_writer *w, const struct outblk *blk, size_t nb)
{
	struct fl_bytes *c = &w->prior_next;
	c->len = 0;
	for (size_t i = 0; i < nb && c->len < FL_PRIOR_CONTENT; i++) {
		bool dict = false;
		for (int d = 0; d < ND; d++)
			dict |= blk[i].type == dict_type[d];
		if (!dict && blk[i].type != BLK_PACK)
			continue;
		size_t take = blk[i].raw_len;
		if (take > FL_PRIOR_CONTENT - c->len)
			take = FL_PRIOR_CONTENT - c->len;
		if (fl_bytes_put(c, blk[i].raw, take))
			return -ENOMEM;
	}
	if (c->len >= 4 && !memcmp(c->p, FL_ZSTD_DICT_MAGIC, 4)) {
		if (fl_bytes_grow(c, 1))
			return -ENOMEM;
		memmove(c->p + 1, c->p, c->len++);
		c->p[0] = 0;
		if (c->len > FL_PRIOR_CONTENT)
			c->len = FL_PRIOR_CONTENT;
	}
	return 0;
}

int fl_writer_finish(struct fl_writer *w, const uint8_t *prev_hash, uint64_t seq,
		     void **out, size_t *out_len)
{
	struct outblk blk[FL_MAX_OUTBLK];
	struct fl_bytes summary = {0}, sessions = {0}, dictraw[ND] = {{0}}, pack = {0}, split = {0};
	struct fl_bytes shapes[NLANES] = {{0}}; /* SHAPES: each lane's table */
	bool shapes_used = false;
	bool front_coded = false, paths_split = false, ts_runs_used = false;
	struct fl_bytes recoded[NLANES] = {{0}}; /* path streams with SUCC_PATHS */
	/* GROUPED_PATHS: each lane's path stream grouped, and the sizes */
	struct fl_bytes grouped[NLANES] = {{0}}, groups[NLANES] = {{0}};
	bool grouped_used = false;
	uint64_t *tsz = NULL;
	size_t nb = 0;
	int r = build_summary(w, &summary, false);
	memset(blk, 0, sizeof(blk));
	if (r)
		goto out;
	blk[nb++] = (struct outblk){BLK_SUMMARY, 0, summary.p, summary.len, NULL, 0};
	{
		/* sessions: n, then (host ref, ses, first) in order of
		 * appearance; omitted when empty (its table entry is 40 bytes of
		 * a small segment): compat flag SESSIONS says this writer lists
		 * them, so the absence means "no sessions", not an older writer */
		int e = fl_put_varint(&sessions, w->ses.n);
		for (uint32_t i = 0; i < w->ses.n && !e; i++) {
			uint64_t k = w->ses.keys[w->ses.order[i]];
			e |= fl_put_varint(&sessions, k >> 32);
			e |= fl_put_varint(&sessions, (uint32_t)k - 1u);
			e |= fl_put_varint(&sessions, w->ses.first[w->ses.order[i]]);
		}
		if (e) {
			r = -ENOMEM;
			goto out;
		}
		if (w->ses.n)
			blk[nb++] = (struct outblk){BLK_SESSIONS, w->ses.n, sessions.p, sessions.len, NULL, 0};
	}
	for (int d = 0; d < ND; d++) {
		if (!w->d[d].n)
			continue;
		/* FL_WRITER_PATHS_SPLIT_ALWAYS splits even a tree walk, unless
		 * FL_WRITER_FRONT_ALWAYS is given too */
		int front = d == D_PATH && (w->front_always || !w->split_always)
				    ? dict_front_code(&w->d[d], w->front_always, &dictraw[d])
				    : 0;
		if (front < 0 || (!front && (fl_bytes_put(&dictraw[d], w->d[d].lens.p, w->d[d].lens.len) ||
					     fl_bytes_put(&dictraw[d], w->d[d].data.p, w->d[d].data.len)))) {
			r = -ENOMEM;
			goto out;
		}
		front_coded |= front > 0;
		blk[nb++] = (struct outblk){dict_type[d], w->d[d].n, dictraw[d].p, dictraw[d].len, NULL, 0};
		/* paths that are not a tree walk: plain or split (FORMAT.md 4.2) */
		if (d == D_PATH && !front && (r = choose_paths(w, &blk[nb - 1], &split, &paths_split)))
			goto out;
	}
	/* ts, per lane: varint unit, varint base tick, then the zigzag tick
	 * deltas as runs (FORMAT.md 5.1.1) or, with FL_WRITER_TS_PLANES, one
	 * width byte W and W byte planes */
	/* the largest power of 1000 (up to 1 s) dividing every time */
	uint64_t unit = 1000000000u;
	for (int l = 0; l < NLANES; l++)
		for (uint64_t i = 0; i < w->lane[l].count && unit > 1; i++)
			while (w->lane[l].tsd[i] != in_unit(w->lane[l].tsd[i], unit) * unit)
				unit /= 1000;
	/* deltas go to a copy: a failed finish keeps the events */
	tsz = malloc((w->count ? w->count : 1) * sizeof(uint64_t));
	if (!tsz) {
		r = -ENOMEM;
		goto out;
	}
	/* every lane's deltas, lane after lane, and how many are not 0 */
	uint64_t nonzero[NLANES] = {0}, all[NLANES] = {0};
	for (uint64_t l = 0, at = 0; l < NLANES; at += w->lane[l].count, l++) {
		struct wlane *L = &w->lane[l];
		uint64_t prev = L->count ? in_unit(L->tsd[0], unit) : 0;
		for (uint64_t i = 0; i < L->count; i++) {
			uint64_t t = in_unit(L->tsd[i], unit);
			uint64_t z = tsz[at + i] = fl_zz64(t - prev);
			prev = t;
			all[l] |= z;
			nonzero[l] += z != 0;
		}
	}
	/* Per lane, runs when at least half its deltas are 0 (at the default
	 * ms resolution, 86 to 99% of most lanes'); else planes, which code a
	 * delta in every event in fewer bytes and decode faster (nanosecond
	 * times; a fleet's change lane, 35% zeros: runs made who-changed 6%
	 * slower). With any lane in runs, every block gets a layout byte. */
	bool runs[NLANES];
	for (int l = 0; l < NLANES; l++) {
		runs[l] = !w->ts_planes && w->lane[l].count && 2 * nonzero[l] <= w->lane[l].count;
		ts_runs_used |= runs[l];
	}
	for (uint64_t l = 0, at = 0; l < NLANES; at += w->lane[l].count, l++) {
		struct wlane *L = &w->lane[l];
		if (!L->count)
			continue;
		struct fl_bytes *ts = &L->s[S_TS];
		ts->len = 0;
		if (fl_put_varint(ts, unit) || fl_put_varint(ts, in_unit(L->tsd[0], unit)) ||
		    (ts_runs_used && fl_bytes_put(ts, &(uint8_t){runs[l]}, 1)) ||
		    (runs[l] ? ts_runs(ts, tsz + at, L->count, nonzero[l]) : ts_planes(ts, tsz + at, L->count, all[l]))) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (int l = 0; l < NLANES; l++) {
		/* the new codes only when the flag pays (succ_flag) */
		const struct fl_bytes *path = &w->lane[l].s[S_EV0 + EVF_PATH];
		if (succ_flag(w) && path->len) {
			if ((r = succ_recode(path, &w->lane[l].predbits, &recoded[l])))
				goto out;
			path = &recoded[l];
		}
		/* GROUPED_PATHS: grouped when that compresses smaller
		 * (FORMAT.md 5.4.3). Not tried when grouping moves no value
		 * (one process, or processes one after another: an unpack,
		 * nginx's worker), which would only add the sizes. The
		 * chosen layout's compressed path block is kept when it is
		 * too large for the pack, which would compress it anew. */
		const struct fl_bytes *sizes = &w->lane[l].s[S_PGRP]; /* empty */
		void *pz = NULL;
		size_t pz_len = 0;
		if (w->grouping && path->len) {
			const struct wlane *L = &w->lane[l];
			void *gz = NULL;
			size_t g = 0, gs = 0;
			bool moved = false;
			if ((r = group_paths(path, L->pst, L->npst, L->m.nst, w->grouping == 2, &grouped[l], &groups[l],
					     &moved)))
				goto out;
			bool use = w->grouping == 2;
			if (w->grouping == 1 && moved) {
				/* all three are columns (compressed without the prior) */
				const uint32_t col = BLK_FIRST_COLUMN;
				if ((r = stored_size(w, col, path->p, path->len, w->level, &pz_len, &pz)) ||
				    (r = stored_size(w, col, grouped[l].p, grouped[l].len, w->level, &g, &gz)) ||
				    (r = stored_size(w, col, groups[l].p, groups[l].len, w->level, &gs, NULL))) {
					free(pz);
					free(gz);
					goto out;
				}
				use = g + gs < pz_len;
			}
			if (use) {
				free(pz);
				pz = gz;
				pz_len = g;
				path = &grouped[l];
				sizes = &groups[l];
				grouped_used = true;
			} else {
				free(gz);
			}
			if (pz && path->len < w->pack_max) {
				free(pz);
				pz = NULL;
			}
		}
		for (int s = 0; s < NSTREAMS; s++) {
			const struct fl_bytes *b = s == S_EV0 + EVF_PATH ? path : s == S_PGRP ? sizes : &w->lane[l].s[s];
			bool z = s == S_EV0 + EVF_PATH && pz;
			if (b->len)
				blk[nb++] = (struct outblk){stream_type(s) + (uint32_t)l * LANE_TYPE_OFFSET, 0,
							    b->p, b->len, z ? pz : NULL, z ? pz_len : 0};
		}
		/* SHAPES: the table, 4 varints an entry (FORMAT.md 5.8) */
		const struct wshapes *t = &w->lane[l].sh;
		if (!w->shapes || !w->lane[l].count)
			continue;
		int e = 0;
		for (uint32_t i = 0; i < t->n && !e; i++)
			e = fl_put_varint(&shapes[l], t->v[i].kind) || fl_put_varint(&shapes[l], t->v[i].code) ||
			    fl_put_varint(&shapes[l], t->v[i].cm) || fl_put_varint(&shapes[l], t->v[i].em);
		if (e) {
			r = -ENOMEM;
			goto out;
		}
		blk[nb++] = (struct outblk){BLK_SHAPES + (uint32_t)l * LANE_TYPE_OFFSET, t->n, shapes[l].p,
					    shapes[l].len, NULL, 0};
		shapes_used = true;
	}
	if (w->count)
		blk[nb++] = (struct outblk){BLK_LANES, 0, w->lanesel.p, (w->count + 7) / 8, NULL, 0};
	/* the paths block's content, should it go into the pack */
	const uint8_t *paths_raw = NULL;
	size_t paths_raw_len = 0;
	for (size_t i = 0; i < nb; i++)
		if (blk[i].type == dict_type[D_PATH]) {
			paths_raw = blk[i].raw;
			paths_raw_len = blk[i].raw_len;
		}
	if ((r = build_pack(w, blk, &nb, &pack)))
		goto out;
	for (size_t i = 0; i < nb; i++)
		if ((r = compress_block(w, &blk[i])))
			goto out;
	/* A paths dictionary that compresses to no more than its filter (a
	 * tree walk: an unpack's 20k paths take 1.3 KiB, their filter 16 KiB)
	 * gets the match-all filter instead: a query then reads the
	 * dictionary, which costs it less I/O than the filter would have. A
	 * packed one is compressed alone for the comparison (against the
	 * prior, the common case: an idle host's few paths are mostly in it,
	 * and the filter was a quarter of its segment). The summary is block
	 * 0. */
	uint32_t bloom_m, bloom_k;
	bloom_size(w->d[D_PATH].n, &bloom_m, &bloom_k);
	size_t paths_z = SIZE_MAX;
	bool paths_packed = paths_raw != NULL;
	for (size_t i = 0; i < nb; i++)
		if (blk[i].type == dict_type[D_PATH]) {
			paths_packed = false;
			if (blk[i].z)
				paths_z = blk[i].z_len;
		}
	if (paths_packed && !w->raw && (r = stored_size(w, dict_type[D_PATH], paths_raw, paths_raw_len, w->level, &paths_z, NULL)))
		goto out;
	if (w->d[D_PATH].n && paths_z <= bloom_m / 8) {
		summary.len = 0;
		free(blk[0].z);
		blk[0] = (struct outblk){BLK_SUMMARY, 0, NULL, 0, NULL, 0};
		if ((r = build_summary(w, &summary, true)))
			goto out;
		blk[0].raw = summary.p;
		blk[0].raw_len = summary.len;
		if ((r = compress_block(w, &blk[0])))
			goto out;
	}
	/* PRIOR: whenever the writer has one, even if no block ended up
	 * compressed (it is then only a name), unless it stores every block
	 * raw by choice (FL_WRITER_RAW) */
	bool prior_used = w->prior && !w->raw;
	size_t hsize = prior_used ? FL_PRIOR_HEADER_SIZE : FL_HEADER_SIZE;
	size_t total = hsize + nb * sizeof(struct fl_block_desc);
	for (size_t i = 0; i < nb; i++)
		total += blk[i].z ? blk[i].z_len : blk[i].raw_len;
	if ((r = prior_next_build(w, blk, nb)))
		goto out;
	uint8_t *o = malloc(total);
	if (!o) {
		r = -ENOMEM;
		goto out;
	}
	struct fl_seg_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, FL_SEG_MAGIC, 8);
	h.version = htole32(FL_SEG_VERSION);
	h.header_size = htole32((uint32_t)hsize);
	h.incompat_flags = htole32((prior_used ? FL_INCOMPAT_PRIOR : 0) | FL_INCOMPAT_DELTA_PORTS | FL_INCOMPAT_TS_UNIT | FL_INCOMPAT_LANES |
				   FL_INCOMPAT_NEWREF | FL_INCOMPAT_TS_BASE | (pack.len ? FL_INCOMPAT_PACKED : 0) |
				   /* like PACKED, only when used: a segment without
				    * them stays readable by older readers */
				   (w->peers_coded ? FL_INCOMPAT_LOCAL_PEERS : 0) |
				   (front_coded ? FL_INCOMPAT_FRONT_CODED : 0) |
				   (paths_split ? FL_INCOMPAT_PATHS_SPLIT : 0) |
				   (ts_runs_used ? FL_INCOMPAT_TS_RUNS : 0) |
				   (succ_flag(w) ? FL_INCOMPAT_SUCC_PATHS : 0) |
				   (shapes_used ? FL_INCOMPAT_SHAPES : 0) |
				   (grouped_used ? FL_INCOMPAT_GROUPED_PATHS : 0) |
				   (w->path_errors && w->count ? FL_INCOMPAT_PATH_ERRORS : 0));
	h.compat_flags = htole32(FL_COMPAT_SESSIONS);
	h.seq = htole64(seq);
	if (prev_hash)
		memcpy(h.prev_hash, prev_hash, FL_HASH_LEN);
	h.event_count = htole64(w->count);
	h.ts_min = htole64(w->ts_min);
	h.ts_max = htole64(w->ts_max);
	h.n_blocks = htole32((uint32_t)nb);
	h.table_offset = htole64(hsize);
	h.file_size = htole64(total);
	size_t at = hsize + nb * sizeof(struct fl_block_desc);
	for (size_t i = 0; i < nb; i++) {
		struct fl_block_desc d;
		const void *data = blk[i].z ? blk[i].z : blk[i].raw;
		size_t len = blk[i].z ? blk[i].z_len : blk[i].raw_len;
		d.type = htole32(blk[i].type);
		d.codec = htole32(blk[i].z ? FL_CODEC_ZSTD : FL_CODEC_RAW);
		d.offset = htole64(at);
		d.stored_size = htole64(len);
		d.raw_size = htole64(blk[i].raw_len);
		d.crc = htole32(fl_crc32c(0, data, len));
		d.items = htole32(blk[i].items);
		memcpy(o + hsize + i * sizeof(d), &d, sizeof(d));
		memcpy(o + at, data, len);
		at += len;
	}
	h.table_crc = htole32(fl_crc32c(0, o + hsize, nb * sizeof(struct fl_block_desc)));
	h.header_crc = 0;
	if (prior_used)
		memcpy(o + FL_PRIOR_HASH_OFFSET, fl_prior_info(w->prior)->hash, FL_HASH_LEN);
	uint32_t hcrc = fl_crc32c(0, &h, sizeof(h));
	h.header_crc = htole32(fl_crc32c(hcrc, o + FL_HEADER_SIZE, hsize - FL_HEADER_SIZE));
	memcpy(o, &h, sizeof(h));
	*out = o;
	*out_len = total;
	writer_clear(w);
	r = 0;
out:
	free(tsz);
	for (size_t i = 0; i < nb; i++)
		free(blk[i].z);
	fl_bytes_free(&summary);
	fl_bytes_free(&sessions);
	fl_bytes_free(&pack);
	fl_bytes_free(&split);
	for (int d = 0; d < ND; d++)
		fl_bytes_free(&dictraw[d]);
	for (int l = 0; l < NLANES; l++) {
		fl_bytes_free(&recoded[l]);
		fl_bytes_free(&shapes[l]);
		fl_bytes_free(&grouped[l]);
		fl_bytes_free(&groups[l]);
	}
	return r;
}

/* --------------------------------------------------------------- reader */

#define FL_MAX_RAW (1ull << 30)     /* one decompressed block */
#define FL_MAX_RATIO 32768ull       /* zstd's own bound: RLE blocks */

struct rdict {
	uint8_t *raw;
	const char **s;
	uint32_t *len;
	uint32_t n;
	uint64_t off; /* file offset, for errors */
};

struct rstream {
	uint8_t *raw;
	const uint8_t *p, *end;
	uint64_t off;
	bool loaded;
};

/* Internal column bit: the path stream and the paths dictionary, which
 * the error column needs with PATH_ERRORS (FORMAT.md 5.4.4) */
#define FL_COL_ERRPATH 0x80000000u

struct fl_segment {
	struct fl_segment_info info;
	uint32_t columns;
	uint32_t load_cols;  /* columns, plus FL_COL_ERRPATH when needed */
	bool hide_path;      /* path decoded for PATH_ERRORS alone: not output */
	uint32_t *pids;
	size_t npids;
	char *hosts_arena;
	const char **hosts;
	size_t nhosts;
	uint8_t *bloom;
	uint32_t bloom_m, bloom_k;
	struct rdict d[ND];
	bool dict_loaded[ND];
	struct rlane {
		struct rstream s[NSTREAMS];
		const uint8_t *ts_planes; /* into s[S_TS].raw */
		unsigned ts_width;
		/* TS_RUNS (FORMAT.md 5.1.1), into s[S_TS].raw: the first run
		 * and the first value; the end of the runs and of the values */
		const uint8_t *ts_runs0, *ts_vals0, *ts_vals_end;
		/* iteration over runs: next run, next value, zeros left */
		const uint8_t *ts_run_p, *ts_val_p;
		uint64_t ts_zeros;
		uint64_t ts_unit;         /* ns per tick */
		uint64_t ts_base;         /* tick the first delta is from */
		uint64_t count;           /* events in this lane */
		bool loaded;              /* decoded by this reader */
		/* iteration */
		uint64_t prev_tick, done;
		struct model m;
		struct fr_event ktmpl[KSLOTS]; /* per kind slot: its fields so far */
		/* SUCC_PATHS, when this lane's path stream is decoded: succ[r]
		 * the path that followed path r in the same process the last
		 * time, for r in 0 .. the paths dictionary's count (nsucc
		 * entries: 4 bytes per entry, beside the 12 the dictionary
		 * itself takes per entry); else NULL */
		uint32_t *succ;
		size_t nsucc;
		/* SHAPES: the lane's table (FORMAT.md 5.8); NULL: the four
		 * streams */
		struct shape *shapes;
		uint32_t nshapes;
		/* GROUPED_PATHS (FORMAT.md 5.4.3), when this lane's path
		 * stream is grouped and decoded: per context state (pid) its
		 * group's cursor (offset + 1 in the path stream, 0: no group
		 * yet) and values left; where the next group starts; values
		 * of started groups not read yet */
		bool grouped;
		struct pgrp {
			uint32_t cur, left;
		} *grp;
		uint32_t ngrp;
		uint64_t grp_next, grp_pending;
		/* PATH_ERRORS (FORMAT.md 5.4.4), when the error column is
		 * decoded: perr[r] is 1 + the error of the lane's last event
		 * with path r (0: none yet), r in 0 .. the paths dictionary's
		 * count (nperr entries); else NULL */
		uint64_t *perr;
		size_t nperr;
	} lane[NLANES];
	uint8_t *lanesel;             /* bit j: lane of event j; NULL: all lane 0 */
	struct fl_session_first *sessions; /* the sessions block, parsed */
	size_t nsessions;
	bool have_sessions;
	bool changes_only;            /* FL_COL_CHANGES: lane 1 alone */
	bool no_summary;              /* FL_READ_NO_SUMMARY: not read */
	bool all_ctx;                 /* every context column is decoded */
	/* iteration */
	uint64_t done;
	uint64_t seen_min, seen_max;
	uint64_t seen_kind[KSLOTS + 1];
	struct fl_error err;
	struct fl_block_stat *blocks;
	size_t nblocks;
};

const struct fl_block_stat *fl_segment_blocks(const struct fl_segment *seg, size_t *n)
{
	*n = seg->nblocks;
	return seg->blocks;
}

/* One varint of a ts runs block checked at open (ts_runs_check): it
 * cannot fail then; 0 if it ever did. */
static inline void ts_runs_next(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	if (fl_get_varint(p, end, v))
		*v = 0;
}

/* Validate lane L's ts runs, p..end (FORMAT.md 5.1.1), and point the lane
 * at them. NULL, or what is wrong. */
static const char *ts_runs_check(struct rlane *L, const uint8_t *p, const uint8_t *end)
{
	uint64_t nonzero, events = 0, x;
	if (fl_get_varint(&p, end, &nonzero) || nonzero > L->count)
		return "bad count of non-zero time deltas";
	const uint8_t *runs = p;
	for (uint64_t i = 0; i <= nonzero; i++) {
		if (fl_get_varint(&p, end, &x) || x > L->count - events)
			return "bad run of zero time deltas";
		events += x;
	}
	if (events + nonzero != L->count)
		return "time delta runs disagree with the event count";
	const uint8_t *vals = p;
	for (uint64_t i = 0; i < nonzero; i++)
		if (fl_get_varint(&p, end, &x) || x == UINT64_MAX)
			return "bad time delta";
	if (p != end)
		return "bytes after the time deltas";
	L->ts_runs0 = runs;
	L->ts_vals0 = vals;
	L->ts_vals_end = end;
	return NULL;
}

/* The next zigzag tick delta of lane L, whose ts block is runs. */
static inline uint64_t ts_runs_delta(struct rlane *L)
{
	if (L->ts_zeros) {
		L->ts_zeros--;
		return 0;
	}
	uint64_t v;
	ts_runs_next(&L->ts_val_p, L->ts_vals_end, &v);
	ts_runs_next(&L->ts_run_p, L->ts_vals0, &L->ts_zeros);
	return v + 1;
}

static void seg_reset_iter(struct fl_segment *g)
{
	for (int l = 0; l < NLANES; l++) {
		struct rlane *L = &g->lane[l];
		model_reset(&L->m);
		for (int i = 0; i < NSTREAMS; i++)
			if (L->s[i].loaded)
				L->s[i].p = i == S_TS ? L->s[i].end : L->s[i].raw;
		L->done = 0;
		L->prev_tick = L->ts_base;
		if (L->ts_runs0) {
			L->ts_run_p = L->ts_runs0;
			L->ts_val_p = L->ts_vals0;
			ts_runs_next(&L->ts_run_p, L->ts_vals0, &L->ts_zeros);
		}
		memset(L->ktmpl, 0, sizeof(L->ktmpl));
		if (L->succ)
			memset(L->succ, 0, L->nsucc * sizeof(uint32_t));
		if (L->grp)
			memset(L->grp, 0, L->ngrp * sizeof(*L->grp));
		if (L->perr)
			memset(L->perr, 0, L->nperr * sizeof(uint64_t));
		L->grp_next = L->grp_pending = 0;
	}
	g->done = 0;
	g->seen_min = g->seen_max = 0;
	memset(g->seen_kind, 0, sizeof(g->seen_kind));
	memset(&g->err, 0, sizeof(g->err));
}

void fl_segment_free(struct fl_segment *g)
{
	if (!g)
		return;
	free(g->pids);
	free(g->lanesel);
	free(g->sessions);
	free(g->hosts_arena);
	free(g->hosts);
	free(g->bloom);
	for (int i = 0; i < ND; i++) {
		free(g->d[i].raw);
		free(g->d[i].s);
		free(g->d[i].len);
	}
	for (int l = 0; l < NLANES; l++) {
		model_reset(&g->lane[l].m);
		for (int i = 0; i < NSTREAMS; i++)
			free(g->lane[l].s[i].raw);
		free(g->lane[l].succ);
		free(g->lane[l].shapes);
		free(g->lane[l].grp);
		free(g->lane[l].perr);
	}
	free(g->blocks);
	free(g);
}

/* Lane 1's stream names: "c:" and lane 0's ("c:path"). */
static char lane1_names[NSTREAMS][24];
static pthread_once_t lane1_once = PTHREAD_ONCE_INIT;
static void lane1_names_init(void)
{
	for (int s = 0; s < NSTREAMS; s++)
		snprintf(lane1_names[s], sizeof(lane1_names[s]), "c:%s", stream_name(s));
}
static const char *lane_stream_name(int lane, int s)
{
	if (!lane)
		return stream_name(s);
	pthread_once(&lane1_once, lane1_names_init);
	return lane1_names[s];
}

static const char *type_name(uint32_t type)
{
	if (type == BLK_SUMMARY)
		return "summary";
	if (type == BLK_PACK)
		return "pack";
	if (type == BLK_LANES)
		return "lanes";
	if (type == BLK_SESSIONS)
		return "sessions";
	if (type == BLK_SHAPES)
		return "shapes";
	if (type == BLK_SHAPES + LANE_TYPE_OFFSET)
		return "c:shapes";
	for (int d = 0; d < ND; d++)
		if (dict_type[d] == type)
			return dict_name[d];
	for (int l = 0; l < NLANES; l++)
		for (int s = 0; s < NSTREAMS; s++)
			if (stream_type(s) + (uint32_t)l * LANE_TYPE_OFFSET == type)
				return lane_stream_name(l, s);
	return "unknown";
}

/* Decompress (or copy) one verified block into a fresh buffer with one
 * spare NUL byte. */
/* Decompress block d of buf into a new buffer (*out, with a NUL after
 * *out_len bytes). check_crc: verify the block's CRC first (when the open did
 * not verify every block). dctx may be NULL, unless ddict (the segment's
 * prior, FORMAT.md 10) is not. */
static int load_block(const uint8_t *buf, const struct fl_block_desc *d, uint32_t codec, uint8_t **out,
		      size_t *out_len, struct fl_error *err, ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, bool check_crc)
{
	uint64_t off = d->offset, sz = d->stored_size, raw = d->raw_size;
	const char *name = type_name(d->type);
	if (!block_uses_prior(d->type))
		ddict = NULL;
	if (check_crc && fl_crc32c(0, buf + off, sz) != d->crc && !FL_FUZZING)
		return fl_set_error(err, -EBADMSG, off, name, "bad checksum");
	if (raw > FL_MAX_RAW)
		return fl_set_error(err, -EFBIG, off, name, "declared size %llu too large",
				    (unsigned long long)raw);
	if (codec == FL_CODEC_RAW && raw != sz)
		return fl_set_error(err, -EBADMSG, off, name, "raw block size mismatch");
	if (codec == FL_CODEC_ZSTD) {
		if (raw / FL_MAX_RATIO > sz)
			return fl_set_error(err, -EBADMSG, off, name, "declared size exceeds zstd ratio bound");
		unsigned long long fcs = ZSTD_getFrameContentSize(buf + off, sz);
		if (fcs != raw)
			return fl_set_error(err, -EBADMSG, off, name, "zstd frame size %s declared size",
					    fcs == ZSTD_CONTENTSIZE_ERROR ? "unreadable, not" : "differs from");
		size_t fsz = ZSTD_findFrameCompressedSize(buf + off, sz);
		if (ZSTD_isError(fsz) || fsz != sz)
			return fl_set_error(err, -EBADMSG, off, name, "zstd frame length mismatch");
	}
	uint8_t *p = malloc(raw + 1);
	if (!p)
		return fl_set_error(err, -ENOMEM, off, name, "out of memory");
	if (codec == FL_CODEC_RAW) {
		memcpy(p, buf + off, raw);
	} else {
		size_t got = ddict ? ZSTD_decompress_usingDDict(dctx, p, raw, buf + off, sz, ddict)
			     : dctx ? ZSTD_decompressDCtx(dctx, p, raw, buf + off, sz)
				    : ZSTD_decompress(p, raw, buf + off, sz);
		if (ZSTD_isError(got) || got != raw) {
			free(p);
			return fl_set_error(err, -EBADMSG, off, name, "zstd decompression failed");
		}
	}
	p[raw] = 0;
	*out = p;
	*out_len = raw;
	return 0;
}

/* The first `want` bytes (at most) of a block, checked like load_block
 * (CRC, declared sizes) but decompressed only that far: a path scan needs
 * the first field mask of a lane, not the megabyte after it. */
static int load_block_prefix(const uint8_t *buf, const struct fl_block_desc *d, size_t want, uint8_t **out,
			     size_t *out_len, struct fl_error *err, ZSTD_DCtx *dctx, const ZSTD_DDict *ddict,
			     bool check_crc)
{
	if (d->codec != FL_CODEC_ZSTD || d->raw_size <= want)
		return load_block(buf, d, d->codec, out, out_len, err, dctx, ddict, check_crc);
	if (!block_uses_prior(d->type))
		ddict = NULL;
	uint64_t off = d->offset, sz = d->stored_size;
	const char *name = type_name(d->type);
	if (check_crc && fl_crc32c(0, buf + off, sz) != d->crc && !FL_FUZZING)
		return fl_set_error(err, -EBADMSG, off, name, "bad checksum");
	if (ZSTD_getFrameContentSize(buf + off, sz) != d->raw_size)
		return fl_set_error(err, -EBADMSG, off, name, "zstd frame size differs from declared size");
	uint8_t *p = malloc(want + 1);
	ZSTD_DStream *ds = ZSTD_createDStream();
	if (ds && ddict && ZSTD_isError(ZSTD_DCtx_refDDict(ds, ddict))) {
		ZSTD_freeDStream(ds);
		ds = NULL;
	}
	if (!p || !ds) {
		free(p);
		ZSTD_freeDStream(ds);
		return fl_set_error(err, -ENOMEM, off, name, "out of memory");
	}
	ZSTD_outBuffer ob = {p, want, 0};
	ZSTD_inBuffer ib = {buf + off, sz, 0};
	size_t rc = 0;
	while (ob.pos < want && ib.pos < ib.size && !ZSTD_isError(rc = ZSTD_decompressStream(ds, &ob, &ib)))
		;
	ZSTD_freeDStream(ds);
	if (ZSTD_isError(rc) || ob.pos != want) {
		free(p);
		return fl_set_error(err, -EBADMSG, off, name, "zstd decompression failed");
	}
	p[want] = 0;
	*out = p;
	*out_len = want;
	return 0;
}

/* The entry arrays of a dictionary of `items` entries in a block of len
 * bytes, each entry taking at least min_bytes of it: a count the block
 * cannot hold is refused before anything is allocated. */
static int rdict_alloc(struct rdict *rd, uint32_t items, size_t len, size_t min_bytes, const char *name,
		       uint64_t off, struct fl_error *err)
{
	if (items > len / min_bytes)
		return fl_set_error(err, -EBADMSG, off, name, "dictionary count %u too large", items);
	rd->s = malloc((items ? items : 1) * sizeof(char *));
	rd->len = malloc((items ? items : 1) * sizeof(uint32_t));
	if (!rd->s || !rd->len)
		return fl_set_error(err, -ENOMEM, off, name, "out of memory");
	return 0;
}

/* Number of NUL bytes in p[0..n), a word at a time (exact: a byte's high
 * bit is set in y only when the byte is 0). A C-string dictionary is valid
 * when each entry's terminator is where its length says and the entries
 * hold no other NUL: one count over the whole block instead of a memchr
 * call per entry, which was a third of reading a 58k-path dictionary. */
static size_t count_nuls(const uint8_t *p, size_t n)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
	size_t c = 0;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t x;
		memcpy(&x, p, 8);
		uint64_t y = ~(((x & low7) + low7) | x | low7);
		c += (size_t)(((y >> 7) * 0x0101010101010101ull) >> 56);
	}
	for (; n; p++, n--)
		c += !*p;
	return c;
}

/* The first entry of the n in p (each followed by its NUL, lengths len[])
 * that holds a NUL before its terminator: the slow path of count_nuls'
 * check, for the error message. */
static uint32_t first_inner_nul(const uint8_t *p, const uint32_t *len, uint32_t n)
{
	for (uint32_t i = 0; i < n; p += len[i] + 1, i++)
		if (memchr(p, 0, len[i]))
			return i;
	return n;
}

/* A front-coded dictionary block (FORMAT.md 4.1) rebuilt into one new
 * buffer laid out as a plain block's data part (entries in index order,
 * each followed by a NUL), which the rest of the reader points into. The
 * rebuilt size is known from the lengths alone and bounded before anything
 * is allocated: p_i <= FL_FRONT_MAX keeps it linear in the block's size,
 * and it must stay <= FL_MAX_RAW like a decompressed block. On success raw
 * is freed and rd->raw is the new buffer; on failure raw is the caller's. */
static int parse_dict_front(struct rdict *rd, uint8_t *raw, size_t len, uint32_t items, bool cstr,
			    const char *name, uint64_t off, struct fl_error *err)
{
	/* each entry has two length bytes and a NUL */
	int r = rdict_alloc(rd, items, len, 3, name, off, err);
	if (r)
		return r;
	const uint8_t *p = raw, *end = raw + len;
	/* shared-prefix lengths, kept in rd->len for now */
	for (uint32_t i = 0; i < items; i++) {
		uint64_t q;
		size_t at = (size_t)(p - raw);
		if (fl_get_varint(&p, end, &q))
			return fl_set_error(err, -EBADMSG, off, name, "bad shared prefix length of entry %u (byte %zu)",
					    i, at);
		if (q > (i ? FL_FRONT_MAX : 0))
			return fl_set_error(err, -EBADMSG, off, name,
					    "shared prefix length %llu of entry %u over %u (byte %zu)",
					    (unsigned long long)q, i, i ? FL_FRONT_MAX : 0, at);
		rd->len[i] = (uint32_t)q;
	}
	const uint8_t *sfx_lens = p;
	uint64_t sfx_total = 0, total = 0;
	for (uint32_t i = 0; i < items; i++) {
		uint64_t sl;
		size_t at = (size_t)(p - raw);
		uint32_t q = rd->len[i];
		if (fl_get_varint(&p, end, &sl) || sl > UINT32_MAX - 1u - q)
			return fl_set_error(err, -EBADMSG, off, name, "bad suffix length of entry %u (byte %zu)", i,
					    at);
		if (i && q > rd->len[i - 1])
			return fl_set_error(err, -EBADMSG, off, name,
					    "shared prefix length %u of entry %u longer than entry %u (%u bytes)", q, i,
					    i - 1, rd->len[i - 1]);
		rd->len[i] = q + (uint32_t)sl;
		sfx_total += sl + 1;
		total += (uint64_t)rd->len[i] + 1;
		if (sfx_total > (uint64_t)(end - p))
			return fl_set_error(err, -EBADMSG, off, name,
					    "suffix lengths overrun the block at entry %u (byte %zu)", i, at);
		if (total > FL_MAX_RAW)
			return fl_set_error(err, -EFBIG, off, name, "rebuilt dictionary over %llu bytes at entry %u",
					    (unsigned long long)FL_MAX_RAW, i);
	}
	if (sfx_total != (uint64_t)(end - p))
		return fl_set_error(err, -EBADMSG, off, name, "dictionary data length mismatch");
	uint8_t *buf = malloc(total + 1);
	if (!buf)
		return fl_set_error(err, -ENOMEM, off, name, "out of memory");
	const uint8_t *pre = raw, *sfx = p;
	uint8_t *o = buf;
	for (uint32_t i = 0; i < items; i++) {
		uint64_t q = 0;
		fl_get_varint(&pre, sfx_lens, &q); /* checked above */
		uint32_t sl = rd->len[i] - (uint32_t)q;
		if (sfx[sl] != 0) {
			free(buf);
			return fl_set_error(err, -EBADMSG, off, name, "dictionary entry %u not terminated (byte %zu)",
					    i, (size_t)(sfx - raw));
		}
		if (q)
			memcpy(o, rd->s[i - 1], q);
		memcpy(o + q, sfx, sl + 1);
		rd->s[i] = (const char *)o;
		o += rd->len[i] + 1;
		sfx += sl + 1;
	}
	*o = 0;
	/* the rebuilt entries, each followed by its NUL, hold no other NUL
	 * (a prefix copies bytes of an entry already checked) */
	if (cstr && count_nuls(buf, total) != items) {
		uint32_t bad = first_inner_nul(buf, rd->len, items);
		free(buf);
		return fl_set_error(err, -EBADMSG, off, name, "dictionary entry %u not terminated (a NUL inside)", bad);
	}
	free(raw);
	rd->n = items;
	rd->raw = buf;
	return 0;
}

/* One code x of a split dictionary (FORMAT.md 4.2) into *ref, an index
 * into a table of `count` entries of which `*used` were used so far:
 * code `fresh` means the next new entry, `fresh + 1` the previous path's
 * (prev; UINT32_MAX: it had none), from `fresh + 2` on an entry already
 * used. NULL, or what is wrong. */
static inline const char *split_code(uint64_t x, uint32_t fresh, uint32_t count, uint32_t *used, uint32_t prev,
				     uint32_t *ref)
{
	if (x == fresh) {
		if (*used == count)
			return "no new one left";
		*ref = (*used)++;
	} else if (x == fresh + 1) {
		if (prev == UINT32_MAX)
			return "the previous entry has none";
		*ref = prev;
	} else {
		if (x - fresh - 2 >= *used)
			return "not used yet";
		*ref = (uint32_t)(x - fresh - 2);
	}
	return NULL;
}

/* The codes [p, end) of a split dictionary (FORMAT.md 4.2) with nd
 * directories and nb basenames whose lengths are tl[] (directories
 * first): checks every code, that every table entry is used and that
 * nothing follows; ref[2i] gets entry i's directory (UINT32_MAX: none),
 * ref[2i + 1] its basename (+ nd), *total the rebuilt size (at most
 * FL_MAX_RAW). */
static int split_refs(const uint8_t *raw, const uint8_t *p, const uint8_t *end, const uint32_t *tl, uint32_t nd,
		      uint32_t nb, uint32_t items, uint32_t *ref, uint64_t *total, const char *name, uint64_t off,
		      struct fl_error *err)
{
	uint32_t used[2] = {0, 0}, prev[2] = {UINT32_MAX, UINT32_MAX};
	uint64_t size = 0;
	for (uint32_t i = 0; i < items; i++) {
		for (int t = 0; t < 2; t++) {
			uint64_t x;
			const uint8_t *at = p;
			const char *bad = NULL;
			uint32_t k = UINT32_MAX;
			/* directories: 0 none, 1 new, 2 previous, 3 + k;
			 * basenames: 0 new, 1 previous, 2 + k */
			if (fl_get_varint(&p, end, &x))
				bad = "truncated";
			else if (t == 1 || x)
				bad = split_code(x, t ? 0 : 1, t ? nb : nd, &used[t], prev[t], &k);
			if (bad)
				return fl_set_error(err, -EBADMSG, off, name, "bad %s code of entry %u: %s (byte %zu)",
						    t ? "basename" : "directory", i, bad, (size_t)(at - raw));
			prev[t] = k;
			if (k != UINT32_MAX)
				size += tl[k + (t ? nd : 0)] + 1u; /* with its '/' or NUL */
			ref[2 * i + t] = k == UINT32_MAX ? k : k + (t ? nd : 0);
		}
		if (size > FL_MAX_RAW)
			return fl_set_error(err, -EFBIG, off, name, "rebuilt dictionary over %llu bytes at entry %u",
					    (unsigned long long)FL_MAX_RAW, i);
	}
	for (int t = 0; t < 2; t++)
		if (used[t] != (t ? nb : nd))
			return fl_set_error(err, -EBADMSG, off, name, "%u of %u %s never used", (t ? nb : nd) - used[t],
					    t ? nb : nd, t ? "basenames" : "directories");
	if (p != end)
		return fl_set_error(err, -EBADMSG, off, name, "%zu bytes after the codes (byte %zu)", (size_t)(end - p),
				    (size_t)(p - raw));
	*total = size;
	return 0;
}

/* n bytes of raw (len bytes) from offset at to o, which has 16 bytes to
 * spare: short ones (most) as one 16-byte copy, when raw has them. */
static inline void split_copy(uint8_t *o, const uint8_t *raw, size_t len, uint32_t at, uint32_t n)
{
	if (n <= 16 && at + 16u <= len)
		memcpy(o, raw + at, 16);
	else
		memcpy(o, raw + at, n);
}

/* A split dictionary block (FORMAT.md 4.2) rebuilt into one new buffer
 * laid out as a plain block's data part (entries in index order, each
 * followed by a NUL), which the rest of the reader points into. Every
 * count and code is checked, and the rebuilt size computed and bounded
 * by FL_MAX_RAW, before that buffer is allocated: a small block can name
 * a long directory many times. On success raw is freed and rd->raw is
 * the new buffer; on failure raw is the caller's. */
static int parse_dict_split(struct rdict *rd, uint8_t *raw, size_t len, uint32_t items, const char *name,
			    uint64_t off, struct fl_error *err)
{
	/* each entry has two code bytes */
	int r = rdict_alloc(rd, items, len, 2, name, off, err);
	if (r)
		return r;
	const uint8_t *p = raw, *end = raw + len;
	uint64_t nt[2]; /* directories, basenames */
	for (int t = 0; t < 2; t++) {
		size_t at = (size_t)(p - raw);
		if (fl_get_varint(&p, end, &nt[t]) || nt[t] > items)
			return fl_set_error(err, -EBADMSG, off, name, "bad %s count (byte %zu)",
					    t ? "basename" : "directory", at);
	}
	/* each table entry takes at least its NUL, each path two codes: the
	 * arrays below are bounded by the block */
	if (nt[0] + nt[1] + 2ull * items > (uint64_t)(end - p))
		return fl_set_error(err, -EBADMSG, off, name,
				    "%llu directories, %llu basenames and %u entries do not fit in %zu bytes",
				    (unsigned long long)nt[0], (unsigned long long)nt[1], items, (size_t)(end - p));
	uint32_t nd = (uint32_t)nt[0], nb = (uint32_t)nt[1];
	size_t ntab = (size_t)nd + nb;
	/* table entry k: at raw + toff[k], tl[k] bytes (raw <= FL_MAX_RAW) */
	uint32_t *toff = malloc((ntab ? ntab : 1) * sizeof(*toff)), *tl = malloc((ntab ? ntab : 1) * sizeof(*tl));
	uint32_t *ref = malloc((items ? items : 1) * 2 * sizeof(*ref));
	uint8_t *buf = NULL;
	if (!toff || !tl || !ref)
		r = fl_set_error(err, -ENOMEM, off, name, "out of memory");
	for (size_t k = 0; k < ntab && !r; k++) {
		const uint8_t *z = memchr(p, 0, (size_t)(end - p));
		if (!z) {
			r = fl_set_error(err, -EBADMSG, off, name, "%s %zu not terminated (byte %zu)",
					 k < nd ? "directory" : "basename", k < nd ? k : k - nd, (size_t)(p - raw));
			break;
		}
		toff[k] = (uint32_t)(p - raw);
		tl[k] = (uint32_t)(z - p);
		p = z + 1;
	}
	uint64_t total = 0;
	if (!r)
		r = split_refs(raw, p, end, tl, nd, nb, items, ref, &total, name, off, err);
	/* 16 bytes to spare: short entries are copied 16 bytes at a time */
	if (!r && !(buf = malloc(total + 16)))
		r = fl_set_error(err, -ENOMEM, off, name, "out of memory");
	if (!r) {
		/* the copy is most of the cost of opening a split
		 * dictionary (a 58k-path one: half of it was in memcpy calls
		 * for a dozen bytes each) */
		uint8_t *o = buf;
		for (uint32_t i = 0; i < items; i++) {
			uint32_t d = ref[2 * i], b = ref[2 * i + 1];
			rd->s[i] = (const char *)o;
			if (d != UINT32_MAX) {
				split_copy(o, raw, len, toff[d], tl[d]);
				o += tl[d];
				*o++ = '/';
			}
			split_copy(o, raw, len, toff[b], tl[b]);
			o += tl[b];
			*o++ = 0;
			rd->len[i] = (uint32_t)(o - 1 - (const uint8_t *)rd->s[i]);
		}
		*o = 0;
		free(raw);
		rd->n = items;
		rd->raw = buf;
	}
	free(toff);
	free(tl);
	free(ref);
	return r;
}

static int parse_dict(struct rdict *rd, uint8_t *raw, size_t len, uint32_t items, bool cstr, bool front,
		      bool split, const char *name, uint64_t off, struct fl_error *err)
{
	if (front)
		return parse_dict_front(rd, raw, len, items, cstr, name, off, err);
	if (split)
		return parse_dict_split(rd, raw, len, items, name, off, err);
	/* each entry has >= 1 length byte and a NUL */
	int r = rdict_alloc(rd, items, len, 2, name, off, err);
	if (r)
		return r;
	const uint8_t *p = raw, *end = raw + len;
	uint64_t total = 0;
	for (uint32_t i = 0; i < items; i++) {
		uint64_t l;
		if (fl_get_varint(&p, end, &l) || l > UINT32_MAX - 1)
			return fl_set_error(err, -EBADMSG, off, name, "bad dictionary length %u", i);
		rd->len[i] = (uint32_t)l;
		total += l + 1;
	}
	if (total != (uint64_t)(end - p))
		return fl_set_error(err, -EBADMSG, off, name, "dictionary data length mismatch");
	const uint8_t *entries = p;
	for (uint32_t i = 0; i < items; i++) {
		rd->s[i] = (const char *)p;
		if (p[rd->len[i]] != 0)
			return fl_set_error(err, -EBADMSG, off, name, "dictionary entry %u not terminated", i);
		p += rd->len[i] + 1;
	}
	if (cstr && count_nuls(entries, (size_t)(end - entries)) != items)
		return fl_set_error(err, -EBADMSG, off, name, "dictionary entry %u not terminated (a NUL inside)",
				    first_inner_nul(entries, rd->len, items));
	rd->n = items;
	rd->raw = raw;
	return 0;
}

/* The sessions block: host references are kept as integers in .host until
 * the summary's hosts are known (fl_segment_open_ex resolves them). */
static int parse_sessions(struct fl_segment *g, const uint8_t *p, size_t len, uint32_t items, uint64_t off,
			  struct fl_error *err)
{
	const uint8_t *end = p + len;
	uint64_t n;
	if (fl_get_varint(&p, end, &n) || n != items || n > len)
		return fl_set_error(err, -EBADMSG, off, "sessions", "bad session count");
	g->sessions = calloc(n ? n : 1, sizeof(*g->sessions));
	if (!g->sessions)
		return fl_set_error(err, -ENOMEM, off, "sessions", "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t host, ses, first;
		if (fl_get_varint(&p, end, &host) || fl_get_varint(&p, end, &ses) || fl_get_varint(&p, end, &first))
			return fl_set_error(err, -EBADMSG, off, "sessions", "truncated");
		if (host > UINT32_MAX || ses >= FR_ID_UNSET)
			return fl_set_error(err, -EBADMSG, off, "sessions", "value out of range");
		g->sessions[i] = (struct fl_session_first){(const char *)(uintptr_t)host, (uint32_t)ses, first};
	}
	if (p != end)
		return fl_set_error(err, -EBADMSG, off, "sessions", "trailing bytes");
	g->nsessions = n;
	return 0;
}

static int parse_summary(struct fl_segment *g, const uint8_t *p, size_t len, uint64_t off,
			 struct fl_error *err)
{
	const uint8_t *end = p + len;
	uint64_t v[3], nk;
	const char *B = "summary";
#define GV(x) do { if (fl_get_varint(&p, end, &(x))) \
		return fl_set_error(err, -EBADMSG, off, B, "truncated summary"); } while (0)
	for (int i = 0; i < 3; i++)
		GV(v[i]);
	if (v[0] != g->info.event_count || v[1] != g->info.ts_min || v[2] != g->info.ts_max)
		return fl_set_error(err, -EBADMSG, off, B, "summary disagrees with header");
	GV(nk);
	if (nk > (uint64_t)(end - p))
		return fl_set_error(err, -EBADMSG, off, B, "bad kind slot count");
	uint64_t sum = 0;
	for (uint64_t k = 0; k <= nk; k++) {
		uint64_t c;
		GV(c);
		if (k < nk && k < KSLOTS)
			g->info.kind_count[k] = c;
		else
			g->info.other_kind_count += c;
		sum += c;
	}
	if (sum != g->info.event_count)
		return fl_set_error(err, -EBADMSG, off, B, "kind counts do not add up");
	uint64_t np;
	GV(np);
	if (np > (uint64_t)(end - p))
		return fl_set_error(err, -EBADMSG, off, B, "bad pid count");
	g->pids = malloc((np ? np : 1) * sizeof(uint32_t));
	if (!g->pids)
		return fl_set_error(err, -ENOMEM, off, B, "out of memory");
	uint64_t prev = 0;
	for (uint64_t i = 0; i < np; i++) {
		uint64_t d;
		GV(d);
		if ((i && !d) || prev + d > UINT32_MAX)
			return fl_set_error(err, -EBADMSG, off, B, "pid list not ascending");
		prev += d;
		g->pids[i] = (uint32_t)prev;
	}
	g->npids = np;
	uint64_t nh;
	GV(nh);
	if (nh > (uint64_t)(end - p))
		return fl_set_error(err, -EBADMSG, off, B, "bad host count");
	g->hosts = malloc((nh ? nh : 1) * sizeof(char *));
	g->hosts_arena = malloc((size_t)(end - p) + nh + 1);
	if (!g->hosts || !g->hosts_arena)
		return fl_set_error(err, -ENOMEM, off, B, "out of memory");
	char *a = g->hosts_arena;
	for (uint64_t i = 0; i < nh; i++) {
		uint64_t l;
		GV(l);
		if (l > (uint64_t)(end - p) || memchr(p, 0, l))
			return fl_set_error(err, -EBADMSG, off, B, "bad host entry");
		memcpy(a, p, l);
		a[l] = 0;
		g->hosts[i] = a;
		a += l + 1;
		p += l;
	}
	g->nhosts = nh;
	uint64_t m, k;
	GV(m);
	GV(k);
	if (m && (m < 8 || m > (1u << 30) || (m & (m - 1)) || k < 1 || k > 32))
		return fl_set_error(err, -EBADMSG, off, B, "bad bloom parameters");
	if (m / 8 != (uint64_t)(end - p))
		return fl_set_error(err, -EBADMSG, off, B, "bloom length mismatch");
	if (m) {
		g->bloom = malloc(m / 8);
		if (!g->bloom)
			return fl_set_error(err, -ENOMEM, off, B, "out of memory");
		memcpy(g->bloom, p, m / 8);
		g->bloom_m = (uint32_t)m;
		g->bloom_k = (uint32_t)k;
	}
#undef GV
	return 0;
}

/* A lane's table of shapes (FORMAT.md 5.8): items entries of 4 varints,
 * each value in range, nothing after. Sets L->shapes (owned by the
 * segment) only on success. */
static int parse_shapes(struct rlane *L, const uint8_t *raw, size_t len, uint32_t items, const char *name,
			uint64_t off, struct fl_error *e)
{
	if (!items)
		return fl_set_error(e, -EBADMSG, off, name, "missing: the table has no entries");
	if ((uint64_t)items * 4 > len) /* every entry takes 4 bytes or more */
		return fl_set_error(e, -EBADMSG, off, name, "truncated: %u entries in %zu bytes", items, len);
	struct shape *v = malloc((size_t)items * sizeof(*v));
	if (!v)
		return fl_set_error(e, -ENOMEM, off, name, "out of memory");
	const uint8_t *p = raw, *end = raw + len;
	for (uint32_t i = 0; i < items; i++) {
		uint64_t x[4];
		const char *bad = NULL;
		for (int k = 0; k < 4 && !bad; k++)
			if (fl_get_varint(&p, end, &x[k]))
				bad = "truncated";
		if (!bad)
			bad = x[0] > UINT32_MAX ? "kind out of range"
			      : x[1] > MTF_N	 ? "pid code over 16"
			      : x[2] >> NCTX	 ? "unknown context bits"
			      : x[3] >> NEV	 ? "unknown field bits"
						 : NULL;
		if (bad) {
			free(v);
			return fl_set_error(e, -EBADMSG, off, name, "entry %u: %s (byte %zu)", i, bad,
					    (size_t)(p - raw));
		}
		v[i] = (struct shape){(uint32_t)x[0], (uint32_t)x[1], (uint32_t)x[2], (uint32_t)x[3]};
	}
	if (p != end) {
		free(v);
		return fl_set_error(e, -EBADMSG, off, name, "trailing bytes after %u entries", items);
	}
	L->shapes = v;
	L->nshapes = items;
	return 0;
}

static bool want_dict(uint32_t cols, int d)
{
	if ((cols & FL_COL_ERRPATH) && d == D_PATH)
		return true;
	if ((cols & FL_COL_SCAN) && (d == D_PATH || d == D_HOST))
		return true;
	switch (d) {
	case D_HOST:
	case D_COMM:
		return cols & FL_COL_NAMES;
	case D_PATH:
		return cols & (FL_COL_NAMES | FL_COL_PATHS);
	default: /* argvs, lines */
		return cols & FL_COL_ARGV;
	}
}
/* succ: the segment has SUCC_PATHS or GROUPED_PATHS, whose path values a
 * scan finds only with each event's pid (FORMAT.md 5.4.2, 5.4.3) */
static bool want_stream(uint32_t cols, bool succ, int s)
{
	if (cols & FL_COL_NONE)
		return false;
	if (s == S_SHAPE)
		return true;
	if (s == S_PGRP)
		s = S_EV0 + EVF_PATH;
	if ((cols & FL_COL_ERRPATH) && s == S_EV0 + EVF_PATH)
		return true;
	if ((cols & FL_COL_SCAN) && (s == S_KIND || s == S_TS || s == S_CTXMASK || s == S_EVMASK ||
				     s == S_CTX0 + CTXF_HOST || s == S_EV0 + EVF_PATH || s == S_EV0 + EVF_PATH2 ||
				     (succ && (s == S_PID || s == S_PIDNEW))))
		return true;
	if (s < S_CTX0)
		return !(cols & FL_COL_SCAN) || (s != S_PID && s != S_PIDNEW);
	const struct field *f = s < S_EV0 ? &ctx_fields[s - S_CTX0] : &ev_fields[s - S_EV0];
	return cols & f->group;
}

/* A block as the reader sees it: a table entry, or a member of the pack
 * (then mem points at its raw bytes inside the decoded pack, and offset and
 * doff are the pack's, for errors). */
struct lblk {
	uint32_t type, codec, items;
	uint64_t offset, stored, raw;
	uint32_t crc;
	uint64_t doff;       /* the table entry's file offset */
	const uint8_t *mem;  /* a pack member's raw bytes; NULL: a table block */
};

/* State of one fl_segment_open_ex shared by its blocks. */
struct open_ctx {
	const uint8_t *buf;
	uint32_t incompat;
	bool fast;
	struct fl_error *e;
	ZSTD_DCtx *dctx;
	const ZSTD_DDict *ddict; /* PRIOR: the prior's, else NULL */
	uint32_t nb;         /* table entries */
	bool no_summary;     /* FL_READ_NO_SUMMARY */
	bool have_summary, have_lanes, have_sessions, seen_dict[ND], seen_stream[NLANES][NSTREAMS];
	bool have_shapes[NLANES];
};

/* A table block's content (load_block), or a copy of a pack member's, with
 * a NUL after it as load_block gives. */
static int load_lblk(const struct open_ctx *c, const struct lblk *L, uint8_t **out, size_t *out_len)
{
	if (!L->mem) {
		struct fl_block_desc d = {L->type, L->codec, L->offset, L->stored, L->raw, L->crc, L->items};
		return load_block(c->buf, &d, L->codec, out, out_len, c->e, c->dctx, c->ddict, c->fast);
	}
	/* the member's length was checked against the pack's, which is
	 * <= FL_MAX_RAW */
	uint8_t *p = malloc(L->raw + 1);
	if (!p)
		return fl_set_error(c->e, -ENOMEM, L->offset, type_name(L->type), "out of memory");
	memcpy(p, L->mem, L->raw);
	p[L->raw] = 0;
	*out = p;
	*out_len = L->raw;
	return 0;
}

/* Take one block (from the table or the pack) into the segment: the
 * summary, the sessions, the lanes, a dictionary or a stream, each at
 * most once, loaded when the selected columns need it. Unknown types are
 * skipped (FORMAT.md 6). */
static int use_block(struct fl_segment *g, struct open_ctx *c, const struct lblk *L)
{
	struct fl_error *e = c->e;
	const char *name = type_name(L->type);
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int r;
	if (L->type == BLK_SUMMARY) {
		if (c->have_summary)
			return fl_set_error(e, -EBADMSG, L->doff, name, "duplicate block");
		c->have_summary = true;
		if (c->no_summary)
			return 0;
		if (!(r = load_lblk(c, L, &raw, &rawlen)))
			r = parse_summary(g, raw, rawlen, L->offset, e);
		free(raw);
		return r;
	}
	if (L->type == BLK_SESSIONS) {
		if (c->have_sessions)
			return fl_set_error(e, -EBADMSG, L->doff, name, "duplicate block");
		c->have_sessions = true;
		if (c->no_summary)
			return 0; /* its host references need the summary */
		g->have_sessions = true;
		if (!(r = load_lblk(c, L, &raw, &rawlen)))
			r = parse_sessions(g, raw, rawlen, L->items, L->offset, e);
		free(raw);
		return r;
	}
	if (L->type == BLK_LANES && (c->incompat & FL_INCOMPAT_LANES)) {
		if (c->have_lanes)
			return fl_set_error(e, -EBADMSG, L->doff, name, "duplicate block");
		c->have_lanes = true;
		if (g->columns & FL_COL_NONE)
			return 0;
		if ((r = load_lblk(c, L, &raw, &rawlen)))
			return r;
		g->lanesel = raw;
		if (rawlen != (g->info.event_count + 7) / 8)
			return fl_set_error(e, -EBADMSG, L->offset, name, "%zu bytes for %llu events", rawlen,
					    (unsigned long long)g->info.event_count);
		uint64_t ones = 0;
		for (size_t k = 0; k < rawlen; k++) { /* no popcnt in the baseline ISA */
			uint8_t x = raw[k];
			x = (uint8_t)(x - ((x >> 1) & 0x55));
			x = (uint8_t)((x & 0x33) + ((x >> 2) & 0x33));
			ones += (x + (x >> 4)) & 0x0f;
		}
		if (g->info.event_count % 8 && raw[rawlen - 1] >> (g->info.event_count % 8))
			return fl_set_error(e, -EBADMSG, L->offset, name, "bits set past the last event");
		g->lane[1].count = ones;
		return 0;
	}
	if ((c->incompat & FL_INCOMPAT_SHAPES) &&
	    (L->type == BLK_SHAPES || (L->type == BLK_SHAPES + LANE_TYPE_OFFSET && (c->incompat & FL_INCOMPAT_LANES)))) {
		int l = L->type != BLK_SHAPES;
		if (c->have_shapes[l])
			return fl_set_error(e, -EBADMSG, L->doff, name, "duplicate block");
		c->have_shapes[l] = true;
		if (!g->lane[l].loaded || (g->columns & FL_COL_NONE))
			return 0;
		if ((r = load_lblk(c, L, &raw, &rawlen)))
			return r;
		r = parse_shapes(&g->lane[l], raw, rawlen, L->items, name, L->offset, e);
		free(raw);
		return r;
	}
	int di = -1, si = -1, li = 0;
	for (int k = 0; k < ND; k++)
		if (dict_type[k] == L->type)
			di = k;
	for (int l = 0; l < NLANES; l++)
		for (int k = 0; k < NSTREAMS; k++)
			if (stream_type(k) + (uint32_t)l * LANE_TYPE_OFFSET == L->type)
				si = k, li = l;
	if ((li && !(c->incompat & FL_INCOMPAT_LANES)) || (si == S_SHAPE && !(c->incompat & FL_INCOMPAT_SHAPES)) ||
	    (si == S_PGRP && !(c->incompat & FL_INCOMPAT_GROUPED_PATHS)))
		si = -1; /* not a block of this segment's features: unknown */
	if (di >= 0) {
		if (c->seen_dict[di])
			return fl_set_error(e, -EBADMSG, L->doff, name, "duplicate block");
		c->seen_dict[di] = true;
		if (!want_dict(g->load_cols, di))
			return 0;
		if ((r = load_lblk(c, L, &raw, &rawlen)))
			return r;
		g->d[di].off = L->offset;
		r = parse_dict(&g->d[di], raw, rawlen, L->items, di != D_ARGV,
			       di == D_PATH && (c->incompat & FL_INCOMPAT_FRONT_CODED),
			       di == D_PATH && (c->incompat & FL_INCOMPAT_PATHS_SPLIT), name, L->offset, e);
		if (r && !g->d[di].raw)
			free(raw);
		return r;
	}
	if (si >= 0) {
		if (c->seen_stream[li][si])
			return fl_set_error(e, -EBADMSG, L->doff, name, "duplicate block");
		c->seen_stream[li][si] = true;
		if (!g->lane[li].loaded ||
		    !want_stream(g->load_cols, c->incompat & (FL_INCOMPAT_SUCC_PATHS | FL_INCOMPAT_GROUPED_PATHS), si))
			return 0;
		/* a path scan reads a lane's first field mask alone
		 * (fl_segment_sole_host); fl_segment_next is refused. A pack
		 * member is at hand whole anyway. */
		if ((g->columns & FL_COL_SCAN) && si == S_CTXMASK && !L->mem) {
			struct fl_block_desc d = {L->type, L->codec, L->offset, L->stored, L->raw, L->crc, L->items};
			r = load_block_prefix(c->buf, &d, 10, &raw, &rawlen, e, c->dctx, c->ddict, c->fast);
		} else {
			r = load_lblk(c, L, &raw, &rawlen);
		}
		if (r)
			return r;
		struct rstream *rs = &g->lane[li].s[si];
		rs->raw = raw;
		rs->p = raw;
		rs->end = raw + rawlen;
		rs->off = L->offset;
	}
	/* unknown block types are skipped (FORMAT.md: versioning) */
	return 0;
}

/* Decode the pack block P (FORMAT.md 2.4), check its sub-table against its
 * content, list its members in g->blocks and take each like a table block.
 * Errors name the pack (sub-table) or the member (content) and give the
 * pack's file offset; the message gives the position inside the pack. */
static int open_pack(struct fl_segment *g, struct open_ctx *c, const struct lblk *P)
{
	struct fl_error *e = c->e;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int r = load_lblk(c, P, &raw, &rawlen);
	if (r)
		return r;
	const uint8_t *p = raw, *end = raw + rawlen;
	uint64_t n;
	struct pmember { uint32_t type, items; uint64_t len; } *m = NULL;
	/* every member takes at least 3 sub-table bytes, so n is bounded by
	 * the content as well as by the table's own limit */
	if (fl_get_varint(&p, end, &n) || n < 1 || n > FL_MAX_BLOCKS || n > rawlen / 3) {
		r = fl_set_error(e, -EBADMSG, P->offset, "pack", "bad member count at pack byte 0");
		goto out;
	}
	m = malloc(n * sizeof(*m));
	/* room for the header, every table block and the members (one pack) */
	struct fl_block_stat *nbs = realloc(g->blocks, ((size_t)c->nb + 1 + n) * sizeof(*g->blocks));
	if (nbs)
		g->blocks = nbs;
	if (!m || !nbs) {
		r = fl_set_error(e, -ENOMEM, P->offset, "pack", "out of memory");
		goto out;
	}
	for (uint64_t k = 0; k < n; k++) {
		size_t at = (size_t)(p - raw);
		uint64_t t, it, l;
		if (fl_get_varint(&p, end, &t) || fl_get_varint(&p, end, &it) || fl_get_varint(&p, end, &l) ||
		    t > UINT32_MAX || it > UINT32_MAX) {
			r = fl_set_error(e, -EBADMSG, P->offset, "pack", "bad sub-table entry %llu at pack byte %zu",
					 (unsigned long long)k, at);
			goto out;
		}
		if (t == BLK_SUMMARY || t == BLK_SESSIONS || t == BLK_PACK) {
			r = fl_set_error(e, -EBADMSG, P->offset, "pack", "member %llu at pack byte %zu: a %s block may not be packed",
					 (unsigned long long)k, at, type_name((uint32_t)t));
			goto out;
		}
		m[k] = (struct pmember){(uint32_t)t, (uint32_t)it, l};
	}
	size_t data = (size_t)(p - raw), left = rawlen - data;
	for (uint64_t k = 0; k < n; k++) {
		if (m[k].len > left) {
			r = fl_set_error(e, -EBADMSG, P->offset, "pack",
					 "member %llu ('%s', %llu bytes at pack byte %zu) past the end of the pack",
					 (unsigned long long)k, type_name(m[k].type), (unsigned long long)m[k].len,
					 rawlen - left);
			goto out;
		}
		left -= m[k].len;
	}
	if (left) {
		r = fl_set_error(e, -EBADMSG, P->offset, "pack", "%zu bytes after the last member", left);
		goto out;
	}
	/* size accounting: members get the stored bytes in proportion to their
	 * raw size, the pack's own entry (just added) keeps the rest */
	struct fl_block_stat *ps = &g->blocks[g->nblocks - 1];
	uint64_t shared = 0;
	ps->raw = data;
	size_t at = data;
	for (uint64_t k = 0; k < n && !r; k++) {
		/* stored <= 2^30 * 32768 and raw <= 2^30: no overflow */
		uint64_t share = rawlen ? P->stored * m[k].len / rawlen : 0;
		shared += share;
		g->blocks[g->nblocks++] = (struct fl_block_stat){type_name(m[k].type), share, m[k].len};
		struct lblk L = {.type = m[k].type, .codec = FL_CODEC_RAW, .items = m[k].items,
				 .offset = P->offset, .stored = m[k].len, .raw = m[k].len, .doff = P->doff,
				 .mem = raw + at};
		r = use_block(g, c, &L);
		at += m[k].len;
	}
	ps->stored = P->stored - shared;
out:
	free(m);
	free(raw);
	return r;
}

int fl_segment_open(const void *buf, size_t len, struct fl_segment **out, struct fl_error *err)
{
	return fl_segment_open_ex(buf, len, NULL, out, err);
}

int fl_segment_open_ex(const void *vbuf, size_t len, const struct fl_read_opts *opts,
		       struct fl_segment **out, struct fl_error *err)
{
	const uint8_t *buf = vbuf;
	struct fl_seg_header h;
	if (len < sizeof(h))
		return fl_set_error(err, -EBADMSG, 0, "header", "file too short (%zu bytes)", len);
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, FL_SEG_MAGIC, 8))
		return fl_set_error(err, -EBADMSG, 0, "header", "bad magic");
	uint32_t version = le32toh(h.version), hsize = le32toh(h.header_size);
	if (version != FL_SEG_VERSION)
		return fl_set_error(err, -EOPNOTSUPP, offsetof(struct fl_seg_header, version), "header",
				    "unsupported version %u", version);
	if (hsize < FL_HEADER_SIZE || hsize > FL_MAX_HEADER_SIZE || hsize > len)
		return fl_set_error(err, -EBADMSG, offsetof(struct fl_seg_header, header_size), "header",
				    "bad header size %u", hsize);
	uint32_t want_crc = le32toh(h.header_crc);
	uint32_t c = fl_crc32c(0, buf, offsetof(struct fl_seg_header, header_crc));
	static const uint8_t zero4[4];
	c = fl_crc32c(c, zero4, 4);
	c = fl_crc32c(c, buf + FL_HEADER_SIZE, hsize - FL_HEADER_SIZE);
	if (c != want_crc && !FL_FUZZING)
		return fl_set_error(err, -EBADMSG, 0, "header", "bad checksum");
	uint32_t incompat = le32toh(h.incompat_flags);
	if (incompat & ~FL_INCOMPAT_KNOWN)
		return fl_set_error(err, -EOPNOTSUPP, offsetof(struct fl_seg_header, incompat_flags),
				    "header", "unknown incompatible features 0x%x", incompat);
	/* both give the paths block a layout of its own (FORMAT.md 4.1, 4.2) */
	if ((incompat & FL_INCOMPAT_FRONT_CODED) && (incompat & FL_INCOMPAT_PATHS_SPLIT))
		return fl_set_error(err, -EBADMSG, offsetof(struct fl_seg_header, incompat_flags), "header",
				    "paths both front coded and split (incompatible features 0x%x)", incompat);
	uint64_t fsize = le64toh(h.file_size);
	if (fsize != len)
		return fl_set_error(err, -EBADMSG, len < fsize ? len : fsize, "header",
				    "file size %zu, header says %llu", len, (unsigned long long)fsize);
	uint32_t nb = le32toh(h.n_blocks);
	uint64_t toff = le64toh(h.table_offset);
	if (nb > FL_MAX_BLOCKS || toff < hsize || toff > len ||
	    (uint64_t)nb * sizeof(struct fl_block_desc) > len - toff)
		return fl_set_error(err, -EBADMSG, offsetof(struct fl_seg_header, n_blocks), "header",
				    "bad block table bounds");
	size_t tlen = nb * sizeof(struct fl_block_desc);
	if (fl_crc32c(0, buf + toff, tlen) != le32toh(h.table_crc) && !FL_FUZZING)
		return fl_set_error(err, -EBADMSG, toff, "block-table", "bad checksum");
	const struct fl_prior *prior = NULL;
	if (incompat & FL_INCOMPAT_PRIOR) {
		if (hsize < FL_PRIOR_HEADER_SIZE)
			return fl_set_error(err, -EBADMSG, offsetof(struct fl_seg_header, header_size), "header",
					    "header size %u leaves no room for the prior's hash", hsize);
		for (size_t i = 0; opts && i < opts->n_priors && !prior; i++)
			if (!memcmp(fl_prior_info(opts->priors[i])->hash, buf + FL_PRIOR_HASH_OFFSET, FL_HASH_LEN))
				prior = opts->priors[i];
		char hex[17];
		if (!prior)
			return fl_set_error(err, -ENOENT, FL_PRIOR_HASH_OFFSET, "header", "needs prior %s (missing)",
					    fl_hash_short(buf + FL_PRIOR_HASH_OFFSET, hex));
	}

	struct fl_segment *g = calloc(1, sizeof(*g));
	if (!g)
		return fl_set_error(err, -ENOMEM, 0, "header", "out of memory");
	struct fl_error e = {0};
	int r = 0;
	g->columns = opts && opts->columns ? opts->columns : FL_COL_ALL;
	if (!(g->columns & (FL_COL_ALL | FL_COL_NONE | FL_COL_SCAN)))
		g->columns |= FL_COL_ALL; /* FL_COL_CHANGES alone: every column */
	/* only segments with lanes can skip the other events */
	g->changes_only = (g->columns & FL_COL_CHANGES) && (incompat & FL_INCOMPAT_LANES);
	g->load_cols = g->columns;
	if ((incompat & FL_INCOMPAT_PATH_ERRORS) && (g->columns & FL_COL_DETAIL) &&
	    !(g->columns & (FL_COL_NONE | FL_COL_SCAN)))
		g->load_cols |= FL_COL_ERRPATH;
	g->hide_path = (g->load_cols & FL_COL_ERRPATH) && !(g->columns & FL_COL_PATHS);
	g->lane[0].loaded = !g->changes_only;
	g->lane[1].loaded = (incompat & FL_INCOMPAT_LANES) != 0;
	g->info.version = version;
	g->info.compat_flags = le32toh(h.compat_flags);
	g->info.incompat_flags = incompat;
	g->info.seq = le64toh(h.seq);
	g->info.event_count = le64toh(h.event_count);
	g->info.ts_min = le64toh(h.ts_min);
	g->info.ts_max = le64toh(h.ts_max);
	g->info.size = len;
	memcpy(g->info.prev_hash, h.prev_hash, FL_HASH_LEN);
	if (prior) {
		g->info.has_prior = true;
		memcpy(g->info.prior_hash, fl_prior_info(prior)->hash, FL_HASH_LEN);
	}
	bool fast = opts && (opts->flags & FL_READ_FAST);
	if (!fast)
		fl_sha256(buf, len, g->info.hash);
	ZSTD_DCtx *dctx = ZSTD_createDCtx(); /* NULL: ZSTD_decompress makes its own */
	if (prior && !dctx) {
		fl_segment_free(g);
		return fl_set_error(err, -ENOMEM, 0, "header", "out of memory");
	}

	struct open_ctx oc = {.buf = buf, .incompat = incompat, .fast = fast, .e = &e, .dctx = dctx, .nb = nb,
			      .ddict = prior ? fl_prior_ddict(prior) : NULL,
			      .no_summary = opts && (opts->flags & FL_READ_NO_SUMMARY)};
	g->no_summary = oc.no_summary;
	const uint64_t table_end = toff + tlen;
	bool have_pack = false, pack_skipped = false;
	/* nb is bounded by the file's size (checked above); pack members are
	 * added when the pack is decoded */
	g->blocks = calloc((size_t)nb + 1, sizeof(*g->blocks));
	if (!g->blocks)
		r = -ENOMEM;
	else
		g->blocks[g->nblocks++] = (struct fl_block_stat){"header", table_end, table_end};
	for (uint32_t i = 0; i < nb && !r; i++) {
		struct fl_block_desc d;
		uint64_t doff = toff + (uint64_t)i * sizeof(d);
		memcpy(&d, buf + doff, sizeof(d));
		struct lblk L = {
			.type = le32toh(d.type), .codec = le32toh(d.codec), .items = le32toh(d.items),
			.offset = le64toh(d.offset), .stored = le64toh(d.stored_size), .raw = le64toh(d.raw_size),
			.crc = le32toh(d.crc), .doff = doff, .mem = NULL,
		};
		const char *name = type_name(L.type);
		if (L.codec > FL_CODEC_ZSTD) {
			r = fl_set_error(&e, -EOPNOTSUPP, doff, name, "unknown codec %u", L.codec);
			break;
		}
		if (L.offset < table_end || L.offset > len || L.stored > len - L.offset) {
			r = fl_set_error(&e, -EBADMSG, doff, name, "block outside the file");
			break;
		}
		if (!fast && fl_crc32c(0, buf + L.offset, L.stored) != L.crc && !FL_FUZZING) {
			r = fl_set_error(&e, -EBADMSG, L.offset, name, "bad checksum");
			break;
		}
		g->blocks[g->nblocks++] = (struct fl_block_stat){name, L.stored, L.raw};
		if (L.type == BLK_PACK && (incompat & FL_INCOMPAT_PACKED)) {
			if (have_pack) {
				r = fl_set_error(&e, -EBADMSG, doff, name, "duplicate block");
				break;
			}
			have_pack = true;
			/* summary and sessions are never members: a summary-only
			 * read has what it needs without decompressing the pack,
			 * unless it asked for a dictionary (FL_COL_NONE with
			 * column groups) */
			bool dicts = false;
			for (int k = 0; k < ND; k++)
				dicts |= want_dict(g->columns, k);
			if ((g->columns & FL_COL_NONE) && !dicts && !(opts && (opts->flags & FL_READ_PACK))) {
				pack_skipped = true;
				continue;
			}
			r = open_pack(g, &oc, &L);
			continue;
		}
		r = use_block(g, &oc, &L);
	}
	bool have_summary = oc.have_summary, have_lanes = oc.have_lanes;
	/* SESSIONS without the block: the writer saw no session (writers
	 * since 2026-11-22 omit the empty block, FORMAT.md 3.1) */
	if (!oc.have_sessions && !oc.no_summary && (le32toh(h.compat_flags) & FL_COMPAT_SESSIONS))
		g->have_sessions = true;
	ZSTD_freeDCtx(dctx);
	if (!r && !have_summary)
		r = fl_set_error(&e, -EBADMSG, toff, "summary", "missing summary block");
	/* host references need the summary's hosts, whatever the block order */
	for (size_t i = 0; i < g->nsessions && !r; i++) {
		uintptr_t ref = (uintptr_t)g->sessions[i].host;
		if (ref > g->nhosts)
			r = fl_set_error(&e, -EBADMSG, toff, "sessions", "host reference out of range");
		else
			g->sessions[i].host = ref ? g->hosts[ref - 1] : NULL;
	}
	/* a summary-only read of a packed segment does not see the members */
	if (!r && (incompat & FL_INCOMPAT_LANES) && g->info.event_count && !have_lanes &&
	    !pack_skipped)
		r = fl_set_error(&e, -EBADMSG, toff, "lanes", "missing lanes block");
	if (!r && g->lane[1].count > g->info.event_count)
		r = fl_set_error(&e, -EBADMSG, toff, "lanes", "more lane-1 events than events");
	g->lane[0].count = g->info.event_count - (r ? 0 : g->lane[1].count);
	/* SHAPES: each lane codes its events one way (FORMAT.md 5.8) */
	for (int l = 0; l < NLANES && !r && (incompat & FL_INCOMPAT_SHAPES); l++)
		if (oc.seen_stream[l][S_KIND] || oc.seen_stream[l][S_PID] || oc.seen_stream[l][S_CTXMASK] ||
		    oc.seen_stream[l][S_EVMASK])
			r = fl_set_error(&e, -EBADMSG, toff, lane_stream_name(l, S_SHAPE),
					 "both shapes and the streams they replace");
	for (int l = 0; l < NLANES && !r && !(g->columns & FL_COL_NONE); l++) {
		struct rlane *L = &g->lane[l];
		if (!L->loaded || !L->count)
			continue;
		if ((incompat & FL_INCOMPAT_SHAPES) && (!L->shapes || !L->s[S_SHAPE].raw)) {
			r = fl_set_error(&e, -EBADMSG, toff, L->shapes ? lane_stream_name(l, S_SHAPE)
								       : type_name(BLK_SHAPES + (uint32_t)l * LANE_TYPE_OFFSET),
					 "missing for %llu events", (unsigned long long)L->count);
			break;
		}
		/* Every event takes at least one byte of the kind (or shape) stream. */
		int ks = L->shapes ? S_SHAPE : S_KIND;
		if (L->count > (uint64_t)(L->s[ks].end - L->s[ks].p)) {
			r = fl_set_error(&e, -EBADMSG, offsetof(struct fl_seg_header, event_count), "header",
					 "event count exceeds the %s stream", lane_stream_name(l, ks));
			break;
		}
		/* ts: [varint unit], width byte, then width planes of count bytes */
		struct rstream *ts = &L->s[S_TS];
		const char *tsname = lane_stream_name(l, S_TS);
		const uint8_t *p = ts->raw;
		uint64_t unit = 1;
		if ((incompat & FL_INCOMPAT_TS_UNIT) &&
		    (fl_get_varint(&p, ts->end, &unit) ||
		     (unit != 1 && unit != 1000 && unit != 1000000 && unit != 1000000000))) {
			r = fl_set_error(&e, -EBADMSG, ts->off, tsname, "bad timestamp unit");
			break;
		}
		uint64_t base = 0;
		if ((incompat & FL_INCOMPAT_TS_BASE) && fl_get_varint(&p, ts->end, &base)) {
			r = fl_set_error(&e, -EBADMSG, ts->off, tsname, "bad timestamp base");
			break;
		}
		L->ts_unit = unit;
		L->ts_base = base;
		if (incompat & FL_INCOMPAT_TS_RUNS) {
			/* the layout byte: 0 planes, 1 runs */
			if (p >= ts->end || p[0] > 1) {
				r = fl_set_error(&e, -EBADMSG, ts->off, tsname, "bad timestamp layout");
				break;
			}
			if (*p++) {
				const char *why = ts_runs_check(L, p, ts->end);
				if (why) {
					r = fl_set_error(&e, -EBADMSG, ts->off, tsname, "%s", why);
					break;
				}
				continue;
			}
		}
		size_t tl = (size_t)(ts->end - p);
		if (tl < 1 || p[0] > 8 || (tl - 1) / (p[0] ? p[0] : 1) != L->count * !!p[0] ||
		    (tl - 1) % (p[0] ? p[0] : 1)) {
			r = fl_set_error(&e, -EBADMSG, ts->off, tsname, "bad timestamp planes");
			break;
		}
		L->ts_width = p[0];
		L->ts_planes = p + 1;
	}
	if (r) {
		if (err)
			*err = e;
		fl_segment_free(g);
		return r;
	}
	for (int i = 0; i < ND; i++)
		g->dict_loaded[i] = want_dict(g->load_cols, i);
	const bool succ = g->info.incompat_flags & FL_INCOMPAT_SUCC_PATHS;
	const bool pids = g->info.incompat_flags & (FL_INCOMPAT_SUCC_PATHS | FL_INCOMPAT_GROUPED_PATHS);
	for (int l = 0; l < NLANES; l++) {
		struct rlane *L = &g->lane[l];
		for (int i = 0; i < NSTREAMS; i++)
			L->s[i].loaded = L->loaded && want_stream(g->load_cols, pids, i);
		/* GROUPED_PATHS: a lane with a non-empty path-groups block */
		L->grouped = L->s[S_PGRP].loaded && L->s[S_PGRP].end > L->s[S_PGRP].raw;
		/* PATH_ERRORS: the last error of each path, for
		 * fl_segment_next (the path stream is loaded with it) */
		if ((g->info.incompat_flags & FL_INCOMPAT_PATH_ERRORS) && L->s[S_EV0 + EVF_ERROR].loaded &&
		    !(g->columns & FL_COL_SCAN)) {
			L->nperr = (size_t)g->d[D_PATH].n + 1;
			if (!(L->perr = calloc(L->nperr, sizeof(uint64_t)))) {
				r = fl_set_error(err, -ENOMEM, 0, "paths", "out of memory");
				fl_segment_free(g);
				return r;
			}
		}
		/* the successor table, for fl_segment_next (a scan keeps its
		 * own): one entry per paths entry and 0, bounded by the
		 * dictionary that was just loaded */
		if (succ && L->s[S_EV0 + EVF_PATH].loaded && !(g->columns & FL_COL_SCAN)) {
			L->nsucc = (size_t)g->d[D_PATH].n + 1;
			if (!(L->succ = calloc(L->nsucc, sizeof(uint32_t)))) {
				r = fl_set_error(err, -ENOMEM, 0, "paths", "out of memory");
				fl_segment_free(g);
				return r;
			}
		}
	}
	g->all_ctx = true;
	for (int f = 0; f < NCTX; f++)
		g->all_ctx &= want_stream(g->columns, pids, S_CTX0 + f);
	seg_reset_iter(g);
	*out = g;
	return 0;
}

const struct fl_error *fl_segment_error(const struct fl_segment *g)
{
	return &g->err;
}

const struct fl_segment_info *fl_segment_info(const struct fl_segment *g)
{
	return &g->info;
}

const struct fl_session_first *fl_segment_sessions(const struct fl_segment *g, size_t *n)
{
	static const struct fl_session_first none;
	*n = g->nsessions;
	return !g->have_sessions ? NULL : g->sessions ? g->sessions : &none;
}

const uint32_t *fl_segment_pids(const struct fl_segment *g, size_t *n)
{
	*n = g->npids;
	return g->pids;
}

const char *const *fl_segment_hosts(const struct fl_segment *g, size_t *n)
{
	*n = g->nhosts;
	return g->hosts;
}

const char *const *fl_segment_dict(const struct fl_segment *g, enum fl_dict_id d, const uint32_t **lens,
				   size_t *n)
{
	_Static_assert((int)FL_DICT_HOSTS == (int)D_HOST && (int)FL_DICT_COMMS == (int)D_COMM &&
			       (int)FL_DICT_PATHS == (int)D_PATH && (int)FL_DICT_ARGVS == (int)D_ARGV &&
			       (int)FL_DICT_LINES == (int)D_LINE,
		       "public dictionary ids are the internal ones");
	if ((unsigned)d >= ND || !g->dict_loaded[d] || !g->d[d].s) {
		*n = 0;
		if (lens)
			*lens = NULL;
		return NULL;
	}
	*n = g->d[d].n;
	if (lens)
		*lens = g->d[d].len;
	return (const char *const *)g->d[d].s;
}

const char *fl_segment_path_entry(const struct fl_segment *g, const char *path)
{
	if (!g->dict_loaded[D_PATH])
		return NULL;
	size_t n = strlen(path);
	const struct rdict *d = &g->d[D_PATH];
	for (uint32_t i = 0; i < d->n; i++)
		if (d->len[i] == n && !memcmp(d->s[i], path, n))
			return d->s[i];
	return NULL;
}

bool fl_segment_may_contain_path(const struct fl_segment *g, const char *path)
{
	if (g->dict_loaded[D_PATH])
		return fl_segment_path_entry(g, path) != NULL;
	size_t n = strlen(path);
	if (g->no_summary)
		return true; /* no filter read: maybe */
	if (!g->bloom_m)
		return false;
	return bloom_has(g->bloom, g->bloom_m, g->bloom_k, path, n);
}

bool fl_segment_path_filter_matches_all(const struct fl_segment *g)
{
	if (g->dict_loaded[D_PATH])
		return false;
	if (g->no_summary)
		return true;
	for (uint32_t i = 0; i < g->bloom_m / 8; i++)
		if (g->bloom[i] != 0xff)
			return false;
	return g->bloom_m != 0;
}

void fl_segment_rewind(struct fl_segment *g)
{
	seg_reset_iter(g);
}

static int stream_err(struct fl_segment *g, struct rlane *L, int s, const char *what)
{
	struct rstream *st = &L->s[s];
	return fl_set_error(&g->err, -EBADMSG, st->off, lane_stream_name(L != g->lane, s),
			    "%s at event %llu (byte %zu)", what, (unsigned long long)g->done,
			    (size_t)(st->p - st->raw));
}

static inline int get(struct fl_segment *g, struct rlane *L, int s, uint64_t *v)
{
	struct rstream *st = &L->s[s];
	if (fl_get_varint(&st->p, st->end, v))
		return stream_err(g, L, s, st->p >= st->end ? "stream exhausted" : "bad varint");
	return 0;
}

static inline int get32(struct fl_segment *g, struct rlane *L, int s, uint64_t *v)
{
	int r = get(g, L, s, v);
	if (!r && *v > UINT32_MAX)
		return stream_err(g, L, s, "value out of range");
	return r;
}

/* Decode the new model value of field f from stream s. */
static inline int get_value(struct fl_segment *g, struct rlane *L, int s, const struct field *f, uint64_t old,
		     uint32_t pid, uint64_t ts, uint64_t *v)
{
	uint64_t x = 0;
	int r;
	uint8_t type = f->type;
	/* segments written before FL_INCOMPAT_DELTA_PORTS hold plain ports */
	if (!(g->info.incompat_flags & FL_INCOMPAT_DELTA_PORTS) &&
	    (f->off == offsetof(struct fr_event, port) || f->off == offsetof(struct fr_event, rport)))
		type = F_U32;
	switch (type) {
	case F_U64:
		return get(g, L, s, v);
	case F_RELTS:
		if ((r = get(g, L, s, &x)))
			return r;
		*v = ts - fl_unzz64(x);
		return 0;
	case F_DELTA64:
		if ((r = get(g, L, s, &x)))
			return r;
		*v = old + fl_unzz64(x);
		return 0;
	case F_I32:
	case F_U32:
	case F_RELPID:
	case F_DELTA32:
		if ((r = get32(g, L, s, &x)))
			return r;
		*v = type == F_U32 ? x
		   : type == F_I32 ? fl_unzz32((uint32_t)x)
		   : type == F_RELPID ? (uint32_t)(pid + fl_unzz32((uint32_t)x))
		   : (uint32_t)((uint32_t)old + fl_unzz32((uint32_t)x));
		return 0;
	default: { /* dictionary reference */
		if ((r = get(g, L, s, &x)))
			return r;
		if (g->info.incompat_flags & FL_INCOMPAT_NEWREF) {
			uint64_t *mr = &L->m.maxref[s];
			x = x == 1 ? *mr + 1 : x == 2 ? *mr : x ? x - 2 : 0;
			if (x > *mr && x <= g->d[dict_of(f->type)].n)
				*mr = x;
		}
		if (x > g->d[dict_of(f->type)].n)
			return stream_err(g, L, s, "dictionary reference out of range");
		*v = x;
		return 0;
	}
	}
}

/* connect's port or accept's rport with LOCAL_PEERS (FORMAT.md 5.4.1):
 * an index into the lane's table of unpaired ports, or PEER_N + the zz32
 * delta from *v (the kind state). Both streams are in FL_COL_DETAIL, so a
 * reader loads both or neither, and the table sees every update. */
static int get_peer_port(struct fl_segment *g, struct rlane *L, int s, uint64_t *v)
{
	struct model *m = &L->m;
	uint64_t x = 0;
	int r;
	if ((r = get(g, L, s, &x)))
		return r;
	if (x < PEER_N) {
		if (x >= m->peer_len)
			return stream_err(g, L, s, "peer port index out of range");
		*v = m->peer[x];
		peer_take(m, (unsigned)x);
		return 0;
	}
	if (x - PEER_N > UINT32_MAX)
		return stream_err(g, L, s, "value out of range");
	/* writers code a port in the table by its index; a reader need not
	 * check (a duplicate entry would only be an unused code) */
	uint32_t port = (uint32_t)*v + fl_unzz32((uint32_t)(x - PEER_N));
	peer_insert(m, port);
	*v = port;
	return 0;
}

/* The path with SUCC_PATHS (FORMAT.md 5.4.2): 1 is the successor of the
 * pid's last path `prev` (an error when there is none: a writer codes 1
 * only for a prediction), 2 a new string, 3 the stream's highest, x - 3
 * any other. Every reference in the table and in `prev` was checked
 * against the dictionary when it was decoded. */
static int get_succ_path(struct fl_segment *g, struct rlane *L, int s, uint32_t prev, uint64_t *v)
{
	uint64_t x = 0, *mr = &L->m.maxref[s];
	int r;
	if ((r = get(g, L, s, &x)))
		return r;
	if (x == 1) {
		if (!prev || !L->succ[prev])
			return stream_err(g, L, s, "no predicted path");
		x = L->succ[prev];
	} else {
		x = x == 2 ? *mr + 1 : x == 3 ? *mr : x ? x - 3 : 0;
	}
	if (x > g->d[D_PATH].n)
		return stream_err(g, L, s, "dictionary reference out of range");
	if (x > *mr)
		*mr = x;
	*v = x;
	return 0;
}

/* GROUPED_PATHS (FORMAT.md 5.4.3): point lane L's path stream at the next
 * value of the pid whose context state is st_idx, starting its group (the
 * next size in path-groups, at grp_next) when it has none. grp_leave
 * records the read. */
/* The group of a pid that has none yet (*q zero): its size read from the
 * path-groups stream at *gs (before gsend), its values from *next in the
 * path stream raw .. end, past which *next then moves. NULL, or what is
 * wrong, in the path-groups block (*in_sizes) or the path stream. Shared
 * by the decoder and the path scan, which keep their state apart. */
static const char *grp_open(const uint8_t **gs, const uint8_t *gsend, const uint8_t *raw, const uint8_t *end,
			    uint64_t *next, struct pgrp *q, bool *in_sizes)
{
	uint64_t c = 0, x;
	bool exhausted = *gs >= gsend;
	*in_sizes = true;
	if (fl_get_varint(gs, gsend, &c))
		return exhausted ? "stream exhausted" : "bad varint";
	if (!c)
		return "empty path group";
	*in_sizes = false;
	/* each value takes at least a byte: c is bounded before the walk */
	if (!raw || c > (uint64_t)(end - raw) - *next)
		return "path group past the end of the stream";
	const uint8_t *p = raw + *next;
	for (uint64_t k = 0; k < c; k++)
		if (fl_get_varint(&p, end, &x))
			return "path group past the end of the stream";
	q->cur = (uint32_t)*next + 1;
	q->left = (uint32_t)c;
	*next = (uint64_t)(p - raw);
	return NULL;
}

static int grp_start(struct fl_segment *g, struct rlane *L, uint32_t st_idx)
{
	struct rstream *ps = &L->s[S_EV0 + EVF_PATH];
	if (st_idx >= L->ngrp && table_grow((void **)&L->grp, &L->ngrp, sizeof(*L->grp), st_idx, 64))
		return fl_set_error(&g->err, -ENOMEM, 0, lane_stream_name(L != g->lane, S_PGRP), "out of memory");
	struct pgrp *q = &L->grp[st_idx];
	if (!q->cur) {
		bool in_sizes;
		uint64_t at = L->grp_next;
		const char *bad = grp_open(&L->s[S_PGRP].p, L->s[S_PGRP].end, ps->raw, ps->end, &L->grp_next, q,
					   &in_sizes);
		if (bad) {
			if (!in_sizes && ps->raw)
				ps->p = ps->raw + at; /* the error's byte: the group's start */
			return stream_err(g, L, in_sizes ? S_PGRP : S_EV0 + EVF_PATH, bad);
		}
		L->grp_pending += q->left;
	}
	if (!q->left)
		return stream_err(g, L, S_EV0 + EVF_PATH, "more path values than the process's group");
	ps->p = ps->raw + q->cur - 1;
	return 0;
}

static inline int grp_enter(struct fl_segment *g, struct rlane *L, uint32_t st_idx)
{
	const struct pgrp *q = st_idx < L->ngrp ? &L->grp[st_idx] : NULL;
	if (__builtin_expect(q && q->left, 1)) {
		L->s[S_EV0 + EVF_PATH].p = L->s[S_EV0 + EVF_PATH].raw + q->cur - 1;
		return 0;
	}
	return grp_start(g, L, st_idx);
}

static inline void grp_leave(struct rlane *L, uint32_t st_idx)
{
	struct pgrp *q = &L->grp[st_idx];
	q->cur = (uint32_t)(L->s[S_EV0 + EVF_PATH].p - L->s[S_EV0 + EVF_PATH].raw) + 1;
	q->left--;
	L->grp_pending--;
}

static inline void set_field(struct fl_segment *g, struct fr_event *ev, const struct field *f, uint64_t v)
{
	switch (f->type) {
	case F_U64:
	case F_DELTA64:
	case F_RELTS:
		wr64(ev, f->off, v);
		break;
	case F_ARGV:
		ev->argv = v ? g->d[D_ARGV].s[v - 1] : NULL;
		ev->argv_len = v ? g->d[D_ARGV].len[v - 1] : 0;
		break;
	case F_HOST:
	case F_COMM:
	case F_PATH:
	case F_LINE:
		wrstr(ev, f->off, v ? g->d[dict_of(f->type)].s[v - 1] : NULL);
		break;
	case F_ADDR:
		break;
	default:
		wr32(ev, f->off, (uint32_t)v);
	}
}

static int finish_check(struct fl_segment *g)
{
	for (int l = 0; l < NLANES; l++)
		for (int s = 0; s < NSTREAMS; s++) {
			struct rlane *L = &g->lane[l];
			struct rstream *st = &L->s[s];
			/* GROUPED_PATHS: every byte in a group, every group read */
			if (L->grouped && s == S_EV0 + EVF_PATH) {
				if (L->grp_next != (uint64_t)(st->end - st->raw)) {
					st->p = st->raw + L->grp_next;
					return stream_err(g, L, s, "path values in no group");
				}
				if (L->grp_pending)
					return stream_err(g, L, s, "path values left in a group");
				continue;
			}
			if (st->loaded && st->p != st->end)
				return stream_err(g, L, s, "trailing bytes");
		}
	bool all = !g->changes_only;
	if (all && g->info.event_count && (g->seen_min != g->info.ts_min || g->seen_max != g->info.ts_max))
		return fl_set_error(&g->err, -EBADMSG, 0, "summary", "time range disagrees with events");
	for (int k = 0; k <= KSLOTS && !g->no_summary; k++)
		if ((all || (k < KSLOTS && lane_of((uint32_t)k))) &&
		    g->seen_kind[k] != (k < KSLOTS ? g->info.kind_count[k] : g->info.other_kind_count))
			return fl_set_error(&g->err, -EBADMSG, 0, "summary",
					    "kind counts disagree with events");
	return 0;
}

/* The context fields of event ev from the pid's state, all columns loaded:
 * the common case, without the per-field dispatch of set_field. */
static inline void put_ctx(const struct fl_segment *g, struct fr_event *ev, const struct ctxstate *c)
{
	ev->tid = (uint32_t)c->v[0];
	ev->ppid = (uint32_t)c->v[1];
	ev->uid = (uint32_t)c->v[2];
	ev->euid = (uint32_t)c->v[3];
	ev->auid = (uint32_t)c->v[4];
	ev->ses = (uint32_t)c->v[5];
	ev->tty = (uint32_t)c->v[6];
	ev->cgroup = c->v[7];
	ev->pstart_ns = c->v[8];
	ev->host = c->v[9] ? g->d[D_HOST].s[c->v[9] - 1] : NULL;
	ev->comm = c->v[10] ? g->d[D_COMM].s[c->v[10] - 1] : NULL;
	ev->exe = c->v[11] ? g->d[D_PATH].s[c->v[11] - 1] : NULL;
}

/* Decode the next event of lane L into *out. Decoding updates the lane's
 * model in place and keeps, per kind slot, the event fields materialised
 * (L->ktmpl): an event costs one struct copy plus the fields its masks say
 * changed. On an error the state is left half-updated, which is harmless:
 * the error is sticky and *out is not written. */
static int next_in_lane(struct fl_segment *g, struct rlane *L, struct fr_event *out)
{
	struct model *m = &L->m;
	uint64_t x = 0, kind = 0;
	int r;
	/* SHAPES: kind, pid code and both masks from the lane's table
	 * (checked when it was parsed), else from their four streams */
	const struct shape *sh = NULL;
	if (L->shapes) {
		if ((r = get(g, L, S_SHAPE, &x)))
			return r;
		if (x >= L->nshapes)
			return stream_err(g, L, S_SHAPE, "shape index out of range");
		sh = &L->shapes[x];
		kind = sh->kind;
	} else if ((r = get32(g, L, S_KIND, &kind))) {
		return r;
	}
	if (lane_of((uint32_t)kind) != (L != g->lane) && g->lanesel)
		return stream_err(g, L, sh ? S_SHAPE : S_KIND, "kind in the wrong lane");
	x = 0;
	if (L->ts_runs0)
		x = ts_runs_delta(L);
	else
		for (unsigned b = 0; b < L->ts_width; b++)
			x |= (uint64_t)L->ts_planes[b * L->count + L->done] << (8 * b);
	L->prev_tick += fl_unzz64(x);
	uint64_t ts = L->prev_tick * L->ts_unit;
	if (sh)
		x = sh->code;
	else if ((r = get(g, L, S_PID, &x)))
		return r;
	int hit = -1;
	uint32_t pid;
	if (x < MTF_N) {
		if (x >= m->mtf_len)
			return stream_err(g, L, sh ? S_SHAPE : S_PID, "pid index out of range");
		hit = (int)x;
		pid = m->mtf[x];
	} else if (x == MTF_N) {
		if ((r = get32(g, L, S_PIDNEW, &x)))
			return r;
		pid = m->prev_new_pid + fl_unzz32((uint32_t)x);
	} else {
		return stream_err(g, L, S_PID, "bad pid code");
	}
	uint32_t st_idx = 0;
	struct ctxstate *st = model_state(m, pid, hit, &st_idx);
	if (!st)
		return fl_set_error(&g->err, -ENOMEM, 0, "pid", "out of memory");
	if (sh)
		x = sh->cm;
	else if ((r = get(g, L, S_CTXMASK, &x)))
		return r;
	else if (x >> NCTX)
		return stream_err(g, L, S_CTXMASK, "unknown context bits");
	for (uint64_t cm = x; cm; cm &= cm - 1) {
		int f = __builtin_ctzll(cm);
		int s = S_CTX0 + f;
		if (L->s[s].loaded &&
		    (r = get_value(g, L, s, &ctx_fields[f], st->v[f], pid, ts, &st->v[f])))
			return r;
	}
	if (sh)
		x = sh->em;
	else if ((r = get(g, L, S_EVMASK, &x)))
		return r;
	else if (x >> NEV)
		return stream_err(g, L, S_EVMASK, "unknown field bits");
	unsigned slot = kslot((uint32_t)kind);
	struct evstate *ks = &m->ks[slot];
	struct fr_event *t = &L->ktmpl[slot];
	for (uint64_t em = x; em; em &= em - 1) {
		int f = __builtin_ctzll(em);
		int s = S_EV0 + f;
		const struct field *fd = &ev_fields[f];
		if (!L->s[s].loaded || (f == EVF_ERROR && L->perr))
			continue; /* PATH_ERRORS: the error after the path */
		bool in_group = f == EVF_PATH && L->grouped;
		if (in_group && (r = grp_enter(g, L, st_idx)))
			return r;
		if (fd->type == F_ADDR) {
			struct rstream *rs = &L->s[s];
			struct fr_addr *a = &ks->a[f == 21 ? 0 : 1];
			if (rs->end - rs->p < 17)
				return stream_err(g, L, s, "stream exhausted");
			memcpy(a, rs->p, 17);
			rs->p += 17;
			memcpy((char *)t + fd->off, a, sizeof(*a));
		} else {
			if (peer_field((uint32_t)kind, f) && (g->info.incompat_flags & FL_INCOMPAT_LOCAL_PEERS))
				r = get_peer_port(g, L, s, &ks->v[f]);
			else if (f == EVF_PATH && L->succ)
				r = get_succ_path(g, L, s, st->path, &ks->v[f]);
			else
				r = get_value(g, L, s, fd, ks->v[f], pid, ts, &ks->v[f]);
			if (r)
				return r;
			if (in_group)
				grp_leave(L, st_idx);
			if (!(f == EVF_PATH && g->hide_path))
				set_field(g, t, fd, ks->v[f]);
		}
	}
	/* PATH_ERRORS: coded when it differs from the last error with the
	 * event's path (checked against the dictionary when decoded), else
	 * the kind's last error; then it is the path's last */
	if (L->perr) {
		uint64_t p = ks->v[EVF_PATH];
		if ((x >> EVF_ERROR) & 1) {
			if ((r = get_value(g, L, S_EV0 + EVF_ERROR, &ev_fields[EVF_ERROR], ks->v[EVF_ERROR], pid, ts,
					   &ks->v[EVF_ERROR])))
				return r;
		} else if (p && L->perr[p]) {
			ks->v[EVF_ERROR] = L->perr[p] - 1;
		}
		if (p)
			L->perr[p] = ks->v[EVF_ERROR] + 1;
		set_field(g, t, &ev_fields[EVF_ERROR], ks->v[EVF_ERROR]);
	}
	/* SUCC_PATHS: the event's path (coded or the kind state's) follows
	 * the pid's last one */
	if (L->succ && ks->v[EVF_PATH]) {
		if (st->path)
			L->succ[st->path] = (uint32_t)ks->v[EVF_PATH];
		st->path = (uint32_t)ks->v[EVF_PATH];
	}
	/* commit the model */
	if (hit >= 0) {
		mtf_front(m, (unsigned)hit);
	} else {
		mtf_insert(m, pid, st_idx);
		m->prev_new_pid = pid;
	}
	m->last_ctx = *st;
	m->last_pid = pid;
	if (!g->done || ts < g->seen_min)
		g->seen_min = ts;
	if (!g->done || ts > g->seen_max)
		g->seen_max = ts;
	g->seen_kind[kind < KSLOTS ? kind : KSLOTS]++;
	L->done++;
	g->done++;
	/* The kind-specific tail from the template, the head field by field:
	 * a 264-byte struct copy compiles to `rep movsq`, which cost a fifth
	 * of the decode. */
	const size_t tail = offsetof(struct fr_event, path);
	_Static_assert(offsetof(struct fr_event, path) == 8 + 10 * 4 + 2 * 8 + 3 * sizeof(char *),
		       "the head of struct fr_event is ts, 10 u32 (kind .. error), cgroup, pstart, host, comm, exe");
	memcpy((char *)out + tail, (const char *)t + tail, sizeof(*out) - tail);
	out->ts_ns = ts;
	out->kind = (uint32_t)kind;
	out->pid = pid;
	out->error = t->error;
	if (g->all_ctx) {
		put_ctx(g, out, st);
	} else {
		struct ctxstate none = {{0}, 0};
		put_ctx(g, out, &none);
		for (int f = 0; f < NCTX; f++)
			if (L->s[S_CTX0 + f].loaded)
				set_field(g, out, &ctx_fields[f], st->v[f]);
	}
	return 1;
}

int fl_segment_next(struct fl_segment *g, struct fr_event *out)
{
	if (g->err.code)
		return g->err.code;
	if (g->columns & FL_COL_NONE)
		return 0;
	if (g->columns & FL_COL_SCAN)
		return -EINVAL;
	if (g->changes_only) {
		struct rlane *L = &g->lane[1];
		return L->done == L->count ? finish_check(g) : next_in_lane(g, L, out);
	}
	for (;;) {
		if (g->done == g->info.event_count)
			return finish_check(g);
		uint64_t j = g->done;
		int l = g->lanesel ? (g->lanesel[j / 8] >> (j % 8)) & 1 : 0;
		struct rlane *L = &g->lane[l];
		if (L->done == L->count)
			return stream_err(g, L, S_KIND, "more events than the lane holds");
		int r = next_in_lane(g, L, out);
		/* FL_COL_CHANGES on a segment without lanes: filter here */
		if (r != 1 || !(g->columns & FL_COL_CHANGES) || lane_of(out->kind))
			return r;
	}
}

/* ------------------------------------------------- path-only scanning */

/* Dictionary reference of a path entry pointer (entries are laid out in
 * index order in the dictionary's raw block), or 0. */
static uint32_t path_ref_of(const struct fl_segment *g, const char *e)
{
	const struct rdict *d = &g->d[D_PATH];
	uint32_t lo = 0, hi = d->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)d->s[mid] < (uintptr_t)e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < d->n && d->s[lo] == e ? lo + 1 : 0;
}

/* A hit within one lane, before its time and ordinal are known. */
struct lane_hit {
	uint64_t idx; /* in the lane (or, filtered, among its change events) */
	uint64_t lane_idx; /* in the lane */
	uint32_t kind, ref[2];
};
struct lane_hits {
	struct lane_hit *v;
	size_t n, cap;
};

static inline int lane_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	if (*p < end && **p < 0x80) {
		*v = *(*p)++;
		return 0;
	}
	return fl_get_varint(p, end, v);
}

/* SUCC_PATHS in a path scan: each event's pid, decoded as FORMAT.md 5.2
 * says (the MTF list, pid-new), only for its last path R: 4 bytes per pid
 * instead of a full decode's context state, and the list moved in place
 * (memmove calls were a tenth of the scan). */
struct scan_pids {
	uint64_t mtf[MTF_N]; /* pid << 32 | index into r */
	unsigned len;
	uint32_t prev_new;
	struct pidmap pm;    /* pid -> index into r + 1 */
	uint32_t *r;         /* R of each pid seen */
	uint32_t n, cap;
};

/* R of the next event's pid, from its code c (checked by the caller: < the
 * list's length, or MTF_N with x from pid-new); NULL when out of memory. */
static uint32_t *scan_pid(struct scan_pids *s, uint64_t c, uint32_t x)
{
	uint64_t e;
	unsigned n = (unsigned)c;
	if (c < MTF_N) {
		e = s->mtf[c];
	} else {
		uint32_t pid = s->prev_new + fl_unzz32(x), v = pidmap_get(&s->pm, pid);
		s->prev_new = pid;
		if (!v) {
			if (s->n == s->cap) {
				uint32_t nc = s->cap ? s->cap * 2 : 64;
				uint32_t *t = nc > s->cap ? realloc(s->r, (size_t)nc * sizeof(uint32_t)) : NULL;
				if (!t)
					return NULL;
				s->r = t;
				s->cap = nc;
			}
			if (pidmap_put(&s->pm, pid, s->n + 1))
				return NULL;
			s->r[s->n] = 0;
			v = ++s->n;
		}
		e = (uint64_t)pid << 32 | (v - 1);
		n = s->len < MTF_N ? s->len : MTF_N - 1;
		s->len = n + 1;
	}
	for (; n; n--)
		s->mtf[n] = s->mtf[n - 1];
	s->mtf[0] = e;
	return &s->r[(uint32_t)e];
}

/* Walk lane l's kind, ev-mask, path and path2 streams; note the events
 * whose path or path2 reference is one of want[]. A tight loop per lane:
 * no model, no times (those come after, for the hits only). With
 * SUCC_PATHS a path code may be "the successor of this process's last
 * path", so then the pid streams are walked too, with the MTF list and a
 * pid map for the last paths, and a successor table of its own. */
static int scan_lane(struct fl_segment *g, int l, const uint32_t *want, size_t nwant, bool filter,
		     struct lane_hits *out)
{
	struct rlane *L = &g->lane[l];
	const struct rstream *sk = &L->s[S_KIND], *se = &L->s[S_EVMASK];
	const struct rstream *sp[2] = {&L->s[S_EV0 + EVF_PATH], &L->s[S_EV0 + EVF_PATH2]};
	const struct rstream *spid = &L->s[S_PID], *snew = &L->s[S_PIDNEW];
	const uint8_t *k = sk->raw, *kend = sk->end, *em = se->raw, *emend = se->end;
	const uint8_t *pp[2] = {sp[0]->raw, sp[1]->raw}, *pend[2] = {sp[0]->end, sp[1]->end};
	const uint8_t *pc = spid->raw, *pcend = spid->end, *pn = snew->raw, *pnend = snew->end;
	const struct rstream *ssh = &L->s[S_SHAPE]; /* SHAPES: instead of kind, ev-mask and pid */
	const uint8_t *shp = ssh->raw, *shend = ssh->end;
	const struct shape *shapes = L->shapes;
	const bool newref = g->info.incompat_flags & FL_INCOMPAT_NEWREF;
	const bool succ = g->info.incompat_flags & FL_INCOMPAT_SUCC_PATHS;
	const bool grouped = L->grouped, need_pids = succ || grouped;
	const uint64_t ndict = g->d[D_PATH].n;
	uint64_t maxref[2] = {0, 0}, kept = 0;
	uint32_t ref[KSLOTS][2];
	struct scan_pids pids; /* SUCC_PATHS, GROUPED_PATHS: pids, their last paths */
	uint32_t *tbl = NULL;
	/* GROUPED_PATHS: per pid (index into pids.r) its group's cursor +
	 * 1 and values left, as grp_enter keeps them */
	struct pgrp *grp = NULL;
	uint32_t ngrp = 0;
	const struct rstream *sgs = &L->s[S_PGRP];
	const uint8_t *gs = sgs->raw, *gsend = sgs->end;
	uint64_t gnext = 0;
	int r = 0;
	memset(ref, 0, sizeof(ref));
	memset(&pids, 0, sizeof(pids));
	if (succ && !(tbl = calloc(ndict + 1, sizeof(uint32_t))))
		return -ENOMEM;
	for (uint64_t i = 0; i < L->count; i++) {
		uint64_t kind, m, code = 0;
		if (shapes) {
			uint64_t x;
			bool exhausted = shp >= shend;
			int bad = lane_varint(&shp, shend, &x);
			if (bad || x >= L->nshapes) {
				r = fl_set_error(&g->err, -EBADMSG, ssh->off, lane_stream_name(l, S_SHAPE),
						 "%s at event %llu",
						 !bad ? "shape index out of range" : exhausted ? "stream exhausted" : "bad varint",
						 (unsigned long long)i);
				goto out;
			}
			kind = shapes[x].kind;
			m = shapes[x].em;
			code = shapes[x].code;
		} else if (lane_varint(&k, kend, &kind) || kind > UINT32_MAX) {
			r = fl_set_error(&g->err, -EBADMSG, sk->off, lane_stream_name(l, S_KIND),
					 "bad kind at event %llu", (unsigned long long)i);
			goto out;
		}
		if (!shapes && (lane_varint(&em, emend, &m) || (m >> NEV))) {
			r = fl_set_error(&g->err, -EBADMSG, se->off, lane_stream_name(l, S_EVMASK),
					 "bad field mask at event %llu", (unsigned long long)i);
			goto out;
		}
		uint32_t *R = NULL;
		if (need_pids) {
			uint64_t c = code, x = 0;
			const char *bad = !shapes && lane_varint(&pc, pcend, &c) ? "bad varint"
					  : c < MTF_N && c >= pids.len ? "pid index out of range"
					  : c > MTF_N ? "bad pid code" : NULL;
			if (!bad && c == MTF_N && (lane_varint(&pn, pnend, &x) || x > UINT32_MAX)) {
				r = fl_set_error(&g->err, -EBADMSG, snew->off, lane_stream_name(l, S_PIDNEW),
						 "bad varint at event %llu", (unsigned long long)i);
				goto out;
			}
			if (bad) {
				r = fl_set_error(&g->err, -EBADMSG, shapes ? ssh->off : spid->off,
						 lane_stream_name(l, shapes ? S_SHAPE : S_PID), "%s at event %llu", bad,
						 (unsigned long long)i);
				goto out;
			}
			if (!(R = scan_pid(&pids, c, (uint32_t)x))) {
				r = -ENOMEM;
				goto out;
			}
		}
		unsigned slot = kslot((uint32_t)kind);
		for (uint64_t w = (m >> EVF_PATH) & 3; w; w &= w - 1) {
			int which = __builtin_ctzll(w);
			uint64_t x;
			struct pgrp *q = NULL;
			if (grouped && !which) {
				uint32_t pi = (uint32_t)(R - pids.r);
				if (pi >= ngrp && table_grow((void **)&grp, &ngrp, sizeof(*grp), pi, 64)) {
					r = -ENOMEM;
					goto out;
				}
				q = &grp[pi];
				const char *bad = NULL;
				bool in_sizes = false;
				if (!q->cur)
					bad = grp_open(&gs, gsend, sp[0]->raw, pend[0], &gnext, q, &in_sizes);
				if (bad && in_sizes) {
					r = fl_set_error(&g->err, -EBADMSG, sgs->off, lane_stream_name(l, S_PGRP),
							 "%s at event %llu", bad, (unsigned long long)i);
					goto out;
				}
				if (!bad && !q->left)
					bad = "more path values than the process's group";
				if (bad) {
					r = fl_set_error(&g->err, -EBADMSG, sp[0]->off, lane_stream_name(l, S_EV0 + EVF_PATH),
							 "%s at event %llu", bad, (unsigned long long)i);
					goto out;
				}
				pp[0] = sp[0]->raw + q->cur - 1;
			}
			if (lane_varint(&pp[which], pend[which], &x)) {
				r = fl_set_error(&g->err, -EBADMSG, sp[which]->off,
						 lane_stream_name(l, S_EV0 + EVF_PATH + which),
						 "bad varint at event %llu", (unsigned long long)i);
				goto out;
			}
			if (q) {
				q->cur = (uint32_t)(pp[0] - sp[0]->raw) + 1;
				q->left--;
			}
			if (succ && !which) {
				if (x != 1) {
					x = x == 2 ? maxref[0] + 1 : x == 3 ? maxref[0] : x ? x - 3 : 0;
				} else if (!(x = *R ? tbl[*R] : 0)) {
					r = fl_set_error(&g->err, -EBADMSG, sp[0]->off,
							 lane_stream_name(l, S_EV0 + EVF_PATH),
							 "no predicted path at event %llu", (unsigned long long)i);
					goto out;
				}
				if (x > maxref[0] && x <= ndict)
					maxref[0] = x;
			} else if (newref) {
				x = x == 1 ? maxref[which] + 1 : x == 2 ? maxref[which] : x ? x - 2 : 0;
				if (x > maxref[which] && x <= ndict)
					maxref[which] = x;
			}
			if (x > ndict) {
				r = fl_set_error(&g->err, -EBADMSG, sp[which]->off,
						 lane_stream_name(l, S_EV0 + EVF_PATH + which),
						 "dictionary reference out of range at event %llu",
						 (unsigned long long)i);
				goto out;
			}
			ref[slot][which] = (uint32_t)x;
		}
		if (succ && ref[slot][0]) {
			if (*R)
				tbl[*R] = ref[slot][0];
			*R = ref[slot][0];
		}
		if (filter && !lane_of((uint32_t)kind))
			continue;
		uint32_t r0 = ref[slot][0], r1 = ref[slot][1];
		bool found = false;
		for (size_t j = 0; j < nwant; j++)
			found |= r0 == want[j] || r1 == want[j];
		if (found) {
			if (out->n == out->cap) {
				size_t nc = out->cap ? out->cap * 2 : 64;
				struct lane_hit *v = realloc(out->v, nc * sizeof(*v));
				if (!v) {
					r = -ENOMEM;
					goto out;
				}
				out->v = v;
				out->cap = nc;
			}
			out->v[out->n++] = (struct lane_hit){kept, i, (uint32_t)kind, {r0, r1}};
		}
		kept++;
	}
out:
	free(tbl);
	free(grp);
	pidmap_free(&pids.pm);
	free(pids.r);
	return r;
}

/* Times of lane l's hits: the prefix sums of the tick deltas up to each,
 * one pass over the planes (plain loops for the common widths). */
static void lane_hit_times(const struct rlane *L, const struct lane_hits *h, uint64_t *ts)
{
	uint64_t tick = L->ts_base, j = 0;
	const uint8_t *pl = L->ts_planes;
	const uint8_t *run = L->ts_runs0, *val = L->ts_vals0;
	uint64_t zeros = 0;
	if (run)
		ts_runs_next(&run, L->ts_vals0, &zeros);
	for (size_t k = 0; k < h->n; k++) {
		uint64_t upto = h->v[k].lane_idx + 1;
		if (run) {
			/* a run of zeros at a time */
			while (j < upto) {
				if (zeros) {
					uint64_t step = zeros < upto - j ? zeros : upto - j;
					j += step;
					zeros -= step;
				} else {
					uint64_t v;
					ts_runs_next(&val, L->ts_vals_end, &v);
					tick += fl_unzz64(v + 1);
					j++;
					ts_runs_next(&run, L->ts_vals0, &zeros);
				}
			}
		} else if (L->ts_width == 1) {
			for (; j < upto; j++)
				tick += fl_unzz64(pl[j]);
		} else if (L->ts_width == 2) {
			for (; j < upto; j++)
				tick += fl_unzz64((uint64_t)pl[j] | (uint64_t)pl[L->count + j] << 8);
		} else {
			for (; j < upto; j++) {
				uint64_t x = 0;
				for (unsigned b = 0; b < L->ts_width; b++)
					x |= (uint64_t)pl[b * L->count + j] << (8 * b);
				tick += fl_unzz64(x);
			}
		}
		ts[k] = tick * L->ts_unit;
	}
}

/* Global ordinals of lane `lane`'s hits (sorted by lane index) from the
 * lanes selector: the position of the (idx+1)-th event of that lane. */
static void lane_hit_ordinals(const struct fl_segment *g, int lane, const struct lane_hits *h, uint64_t *ord)
{
	uint64_t seen = 0, pos = 0, nbytes = (g->info.event_count + 7) / 8;
	size_t k = 0;
	for (uint64_t byte = 0; byte < nbytes && k < h->n; byte++, pos += 8) {
		uint8_t x = lane ? g->lanesel[byte] : (uint8_t)~g->lanesel[byte];
		if (!lane && byte == nbytes - 1 && g->info.event_count % 8)
			x &= (uint8_t)((1u << (g->info.event_count % 8)) - 1);
		unsigned ones = (unsigned)__builtin_popcount(x);
		while (k < h->n && h->v[k].idx < seen + ones) {
			/* the (idx - seen)-th set bit of x */
			unsigned want = (unsigned)(h->v[k].idx - seen), bit = 0;
			for (uint8_t y = x;; y &= (uint8_t)(y - 1)) {
				bit = (unsigned)__builtin_ctz(y);
				if (!want--)
					break;
			}
			ord[k++] = pos + bit;
		}
		seen += ones;
	}
}

int fl_segment_find_paths(struct fl_segment *g, const char *const *entries, size_t n,
			  struct fl_path_hit **hits, size_t *nhits)
{
	if (!(g->columns & (FL_COL_PATHS | FL_COL_SCAN)) || (g->columns & FL_COL_NONE))
		return -EINVAL;
	if (g->err.code)
		return g->err.code;
	/* the references asked for: a few, on the stack; any number allowed */
	uint32_t few[8], *want = n <= 8 ? few : malloc(n * sizeof(*want));
	size_t nwant = 0;
	if (!want)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t r = path_ref_of(g, entries[i]);
		if (r)
			want[nwant++] = r;
	}
	/* With FL_COL_CHANGES on a segment without lanes, fl_segment_next
	 * filters the change kinds out of lane 0: so do the ordinals. */
	bool filter = (g->columns & FL_COL_CHANGES) && !g->changes_only;
	struct lane_hits lh[NLANES] = {{0}};
	uint64_t *ts[NLANES] = {NULL}, *ord[NLANES] = {NULL};
	struct fl_path_hit *v = NULL;
	int r = 0;
	size_t total = 0;
	for (int l = 0; l < NLANES && !r; l++) {
		if (!g->lane[l].loaded || !g->lane[l].count || (g->changes_only && !l) || !nwant)
			continue;
		if ((r = scan_lane(g, l, want, nwant, filter, &lh[l])) || !lh[l].n)
			continue;
		ts[l] = malloc(lh[l].n * sizeof(uint64_t));
		ord[l] = malloc(lh[l].n * sizeof(uint64_t));
		if (!ts[l] || !ord[l]) {
			r = -ENOMEM;
			break;
		}
		lane_hit_times(&g->lane[l], &lh[l], ts[l]);
		if (g->lanesel && !g->changes_only)
			lane_hit_ordinals(g, l, &lh[l], ord[l]);
		else
			for (size_t k = 0; k < lh[l].n; k++)
				ord[l][k] = lh[l].v[k].idx;
		total += lh[l].n;
	}
	if (!r && total && !(v = malloc(total * sizeof(*v))))
		r = -ENOMEM;
	if (!r) {
		/* merge the lanes by ordinal */
		size_t a = 0, b = 0;
		for (size_t k = 0; k < total; k++) {
			int l = b >= lh[1].n || (a < lh[0].n && ord[0][a] < ord[1][b]) ? 0 : 1;
			size_t i = l ? b++ : a++;
			const struct lane_hit *x = &lh[l].v[i];
			v[k] = (struct fl_path_hit){
				.ordinal = ord[l][i],
				.ts_ns = ts[l][i],
				.kind = x->kind,
				.path = x->ref[0] ? g->d[D_PATH].s[x->ref[0] - 1] : NULL,
				.path2 = x->ref[1] ? g->d[D_PATH].s[x->ref[1] - 1] : NULL,
			};
		}
	}
	for (int l = 0; l < NLANES; l++) {
		free(lh[l].v);
		free(ts[l]);
		free(ord[l]);
	}
	if (want != few)
		free(want);
	if (r) {
		free(v);
		return r;
	}
	*hits = v;
	*nhits = total;
	return 0;
}

const char *fl_segment_sole_host(const struct fl_segment *g)
{
	if (!(g->columns & (FL_COL_NAMES | FL_COL_SCAN)) || (g->columns & FL_COL_NONE) || g->d[D_HOST].n != 1)
		return NULL;
	for (int l = 0; l < NLANES; l++) {
		const struct rlane *L = &g->lane[l];
		if (!L->loaded || !L->count || (g->changes_only && l == 0))
			continue;
		/* the first event sets the host (every pid's state starts from
		 * the previous event's context, the first from all zeros) */
		const uint8_t *p = L->s[L->shapes ? S_SHAPE : S_CTXMASK].raw;
		uint64_t x;
		if (fl_get_varint(&p, L->s[L->shapes ? S_SHAPE : S_CTXMASK].end, &x) ||
		    (L->shapes && x >= L->nshapes))
			return NULL;
		if (L->shapes)
			x = L->shapes[x].cm;
		if (!((x >> CTXF_HOST) & 1))
			return NULL;
		/* and no event sets it to NULL (reference 0 in both codings) */
		const struct rstream *h = &L->s[S_CTX0 + CTXF_HOST];
		for (p = h->raw; p < h->end;)
			if (fl_get_varint(&p, h->end, &x) || x == 0)
				return NULL;
	}
	return g->d[D_HOST].s[0];
}
