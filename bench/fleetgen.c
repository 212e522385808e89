/* fleetgen.c - write N machine-days of realistic flight log segments.
 *
 * Why: the query benchmark needs billions of events on many hosts, more than
 * this machine records in a week. fleetgen writes one store per host
 * (DIR/host-NNN, through fl_writer and fl_store_append, so the files are
 * exactly what the recorder writes) with these distributions, measured from
 * a 150 s recording of this 2-core CI machine with `flightrec record
 * --output` while builds, tests and shells ran (2026-11-22; 43,586 events
 * after dropping the query test's own files and a stress benchmark):
 *
 *   kinds: open 85.7%, exec 3.8%, delete 3.4%, fork 2.0%, exit 1.8%,
 *          create 1.3%, modify 1.1%, mkdir 0.36%, rmdir 0.17%,
 *          proc 0.17% (start-up only here), rename 0.14%, chmod 0.08%,
 *          link 0.07%, kill 0.02%, chown, truncate, symlink, listen,
 *          unlisten 0.01% each;
 *   ~26 events per exec (process lifetime);
 *   91% of path events reuse a path seen before (3,470 distinct paths in
 *          39,919 path events), with a skewed popularity: /usr/lib, the
 *          work tree, /usr/include, /etc/ld.so.cache, locale files;
 *   opens: 99% read-only; 48% of events failed (compilers probing include
 *          paths: ENOENT), modelled per process type;
 *   process mix: cc1 34%, bash 9%, cat 7%, mv 7%, mkdir 6%, rm 5%, ls 4%,
 *          git 3%, ld 3%, sleep 2%, python3 2%, the rest daemons.
 *
 * The rate is FDR's 25M events per machine-day by default (--events-per-day).
 * Interactive sessions (ses, auid) start every ~2 hours per host and own a
 * share of the processes while open; a few changes per day touch /etc and
 * auto-start points (cron, systemd units, authorized_keys), so that
 * who-changed and persistence have answers to find.
 *
 * Generated segments use zstd level 3 (fl_writer_opts.level = 3), not the
 * recorder's 19, to keep generation fast; they are ~10-20% larger than the
 * recorder's would be, which makes the query benchmark slightly pessimistic.
 */
#include "event/event.h"
#include "flightlog/flightlog.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BASE_TS 1767225600000000000ull /* 2026-01-01T00:00:00Z */
#define DAY_NS 86400000000000ull
#define NSLOTS 48

/* kinds and their share (per 10,000 events), from the recording above */
static const struct {
	uint32_t kind;
	unsigned per10k;
} kind_mix[] = {
	{FR_EV_OPEN, 8567}, {FR_EV_EXEC, 378}, {FR_EV_DELETE, 339}, {FR_EV_FORK, 195}, {FR_EV_EXIT, 177},
	{FR_EV_CREATE, 126}, {FR_EV_MODIFY, 112}, {FR_EV_MKDIR, 36}, {FR_EV_RMDIR, 17}, {FR_EV_RENAME, 14},
	{FR_EV_CHMOD, 8}, {FR_EV_LINK, 7}, {FR_EV_KILL, 2}, {FR_EV_CHOWN, 1}, {FR_EV_TRUNCATE, 1},
	{FR_EV_SYMLINK, 1}, {FR_EV_LISTEN, 1}, {FR_EV_UNLISTEN, 1},
};

enum pool { P_LIB, P_INC, P_ETC, P_WORK, P_VAR, P_LOCALE, P_NPOOLS };
static const unsigned pool_size[P_NPOOLS] = {600, 2400, 160, 3000, 800, 60};

/* process types: comm, exe, share (per 1000 new processes), ENOENT rate per
 * 100 opens, main pools */
static const struct ptype {
	const char *comm, *exe;
	unsigned per1000, enoent;
	enum pool a, b;
} ptypes[] = {
	{"cc1", "/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", 340, 55, P_INC, P_LIB},
	{"bash", "/usr/bin/bash", 90, 5, P_ETC, P_LOCALE},
	{"cat", "/usr/bin/cat", 70, 2, P_WORK, P_ETC},
	{"mv", "/usr/bin/mv", 70, 2, P_WORK, P_LIB},
	{"mkdir", "/usr/bin/mkdir", 60, 2, P_WORK, P_LIB},
	{"rm", "/usr/bin/rm", 50, 2, P_WORK, P_LIB},
	{"ls", "/usr/bin/ls", 40, 2, P_LIB, P_LOCALE},
	{"git", "/usr/bin/git", 30, 10, P_WORK, P_ETC},
	{"ld", "/usr/bin/x86_64-linux-gnu-ld.bfd", 30, 30, P_LIB, P_WORK},
	{"sleep", "/usr/bin/sleep", 25, 1, P_LIB, P_LOCALE},
	{"python3", "/usr/bin/python3.11", 25, 20, P_LIB, P_WORK},
	{"nginx", "/usr/sbin/nginx", 40, 1, P_VAR, P_ETC},
	{"postgres", "/usr/lib/postgresql/15/bin/postgres", 40, 1, P_VAR, P_LIB},
	{"cron", "/usr/sbin/cron", 20, 1, P_ETC, P_LIB},
	{"sshd", "/usr/sbin/sshd", 20, 3, P_ETC, P_LIB},
	{"systemd", "/usr/lib/systemd/systemd", 20, 5, P_ETC, P_VAR},
	{"rsyslogd", "/usr/sbin/rsyslogd", 20, 1, P_VAR, P_ETC},
};
#define NPTYPES (sizeof(ptypes) / sizeof(ptypes[0]))

static const char *const words[] = {
	"alpha", "beta", "core", "net", "util", "crypto", "ssl", "xml", "json", "http", "db", "cache",
	"auth", "log", "io", "sys", "proc", "mem", "file", "time", "math", "text", "img", "zip",
	"rpc", "ipc", "term", "user", "conf", "data", "sched", "event",
};
#define NWORDS ((unsigned)(sizeof(words) / sizeof(words[0])))

/* the /etc files the generator changes now and then, and the auto-start
 * points (who-changed and persistence find these) */
static const char *const etc_changes[] = {
	"/etc/nginx/nginx.conf", "/etc/ssh/sshd_config", "/etc/hosts", "/etc/resolv.conf",
	"/etc/postgresql/15/main/postgresql.conf", "/etc/app/app.conf",
};
static const char *const persist_changes[] = {
	"/etc/cron.d/backup", "/etc/systemd/system/app.service", "/root/.ssh/authorized_keys",
	"/home/alice/.bashrc", "/etc/sudoers.d/ops", "/var/spool/cron/crontabs/root",
};

struct rng {
	uint64_t s;
};
static inline uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}
static inline double unif(struct rng *r)
{
	return (double)(rnd(r) >> 11) * (1.0 / 9007199254740992.0);
}
/* skewed index in [0, n): popular entries first */
static inline unsigned skew(struct rng *r, unsigned n)
{
	double u = unif(r);
	return (unsigned)((double)n * u * u * u);
}

struct proc {
	uint32_t pid, ppid, auid, ses, tty;
	uint64_t pstart;
	const struct ptype *t;
	char argv[96];
	uint32_t argv_len;
	int budget;
	bool daemon;
};

struct host {
	int idx;
	char name[32];
	char dir[4096];
	double days;
	uint64_t events_per_day, seg_events;
	int level;
	uint64_t seed;
	bool no_prior;
	/* results */
	uint64_t events, bytes, segments;
	int err;
};

struct gen {
	struct host *h;
	struct rng r;
	char **pools[P_NPOOLS];
	struct proc slots[NSLOTS];
	uint32_t next_pid;
	uint64_t fresh;
	uint64_t ts;
	uint32_t ses_next, cur_ses, cur_auid;
	uint64_t ses_until;
	struct fl_writer *w;
	struct fl_store *st;
	uint64_t in_seg;
};

static void build_pools(struct gen *g)
{
	char buf[256];
	for (int p = 0; p < P_NPOOLS; p++) {
		g->pools[p] = calloc(pool_size[p], sizeof(char *));
		for (unsigned i = 0; i < pool_size[p]; i++) {
			const char *a = words[i % NWORDS], *b = words[(i / NWORDS) % NWORDS];
			switch (p) {
			case P_LIB:
				snprintf(buf, sizeof(buf), "/usr/lib/x86_64-linux-gnu/lib%s%s.so.%u", a, b, i % 7);
				break;
			case P_INC:
				snprintf(buf, sizeof(buf), "/usr/include/%s/%s%u.h", a, b, i / (NWORDS * NWORDS));
				break;
			case P_ETC:
				if (i == 0)
					snprintf(buf, sizeof(buf), "/etc/ld.so.cache");
				else if (i == 1)
					snprintf(buf, sizeof(buf), "/etc/passwd");
				else if (i == 2)
					snprintf(buf, sizeof(buf), "/etc/nsswitch.conf");
				else if (i < 2 + sizeof(etc_changes) / sizeof(etc_changes[0]) + 1)
					snprintf(buf, sizeof(buf), "%s", etc_changes[i - 3]);
				else
					snprintf(buf, sizeof(buf), "/etc/%s/%s%u.conf", a, b, i / NWORDS);
				break;
			case P_WORK:
				snprintf(buf, sizeof(buf), "/srv/app/src/%s/%s_%u.c", a, b, i / (NWORDS * NWORDS));
				break;
			case P_VAR:
				snprintf(buf, sizeof(buf), "/var/lib/postgresql/15/main/base/16384/%u", 2600 + i);
				break;
			case P_LOCALE:
				snprintf(buf, sizeof(buf), "/usr/lib/locale/C.utf8/LC_%s%u", a, i / NWORDS);
				break;
			}
			g->pools[p][i] = strdup(buf);
		}
	}
}

static void free_pools(struct gen *g)
{
	for (int p = 0; p < P_NPOOLS; p++) {
		for (unsigned i = 0; i < pool_size[p]; i++)
			free(g->pools[p][i]);
		free(g->pools[p]);
	}
}

static int emit(struct gen *g, struct fr_event *ev)
{
	ev->host = g->h->name;
	int r = fl_writer_add(g->w, ev);
	if (r < 0)
		return r;
	g->h->events++;
	if (++g->in_seg >= g->h->seg_events) {
		uint64_t seq;
		r = fl_store_append(g->st, g->w, &seq);
		if (r >= 0)
			r = fl_store_renew_prior(g->st, g->w, seq);
		if (r < 0)
			return r;
		g->h->segments++;
		g->in_seg = 0;
	}
	return 0;
}

static void base_event(struct gen *g, const struct proc *p, uint32_t kind, struct fr_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = g->ts - g->ts % 1000000u; /* the recorder's default resolution */
	ev->kind = kind;
	ev->pid = ev->tid = p->pid;
	ev->ppid = p->ppid;
	ev->uid = ev->euid = p->auid == FR_ID_UNSET ? 0 : (p->ses != FR_ID_UNSET ? 0 : p->auid);
	ev->auid = p->auid;
	ev->ses = p->ses;
	ev->tty = p->tty;
	ev->cgroup = p->daemon ? 4000 + (uint64_t)(p->t - ptypes) : 1;
	ev->pstart_ns = p->pstart;
	ev->comm = p->t->comm;
	ev->exe = p->t->exe;
}

static const struct ptype *pick_type(struct gen *g)
{
	unsigned x = (unsigned)(rnd(&g->r) % 1000), acc = 0;
	for (size_t i = 0; i < NPTYPES; i++) {
		acc += ptypes[i].per1000;
		if (x < acc)
			return &ptypes[i];
	}
	return &ptypes[0];
}

/* replace slot i: exit of the old process, fork and exec of a new one */
static int turnover(struct gen *g, int i)
{
	struct fr_event ev;
	struct proc *p = &g->slots[i];
	if (p->pid) {
		base_event(g, p, FR_EV_EXIT, &ev);
		ev.code = rnd(&g->r) % 20 == 0 ? 1 : 0;
		int r = emit(g, &ev);
		if (r < 0)
			return r;
	}
	struct proc *parent = &g->slots[rnd(&g->r) % 4]; /* daemons and shells */
	struct proc np = {0};
	np.pid = g->next_pid++;
	if (g->next_pid > 4000000)
		g->next_pid = 1000;
	np.ppid = parent->pid ? parent->pid : 1;
	np.t = pick_type(g);
	np.pstart = g->ts / 10000000ull * 10000000ull;
	np.budget = 10 + (int)(rnd(&g->r) % 33); /* ~26 events per exec */
	np.auid = FR_ID_UNSET;
	np.ses = FR_ID_UNSET;
	if (g->cur_ses && g->ts < g->ses_until && rnd(&g->r) % 10 < 3) {
		np.auid = g->cur_auid;
		np.ses = g->cur_ses;
		np.tty = (136u << 20) | (g->cur_ses % 8);
	}
	np.argv_len = (uint32_t)snprintf(np.argv, sizeof(np.argv), "%s%c-c%c%s/%s_%u.c", np.t->comm, 0, 0,
					 words[rnd(&g->r) % NWORDS], words[rnd(&g->r) % NWORDS],
					 (unsigned)(rnd(&g->r) % 100)) + 1;
	struct proc fp = *parent;
	if (!fp.pid) {
		fp = np;
		fp.pid = np.ppid;
	}
	base_event(g, &fp, FR_EV_FORK, &ev);
	ev.child_pid = np.pid;
	int r = emit(g, &ev);
	if (r < 0)
		return r;
	base_event(g, &np, FR_EV_EXEC, &ev);
	ev.path = np.t->exe;
	ev.argv = np.argv;
	ev.argv_len = np.argv_len;
	ev.cwd = "/srv/app";
	r = emit(g, &ev);
	*p = np;
	return r;
}

static const char *fresh_path(struct gen *g, char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/cc%08llx.o", (unsigned long long)(g->fresh++ * 2654435761ull & 0xffffffffull));
	return buf;
}

static const char *reuse_or_fresh(struct gen *g, const struct proc *p, char *buf, size_t len)
{
	if (rnd(&g->r) % 100 < 9)
		return fresh_path(g, buf, len);
	enum pool pl = rnd(&g->r) % 3 ? p->t->a : p->t->b;
	return g->pools[pl][skew(&g->r, pool_size[pl])];
}

static int one_event(struct gen *g)
{
	unsigned x = (unsigned)(rnd(&g->r) % 10000), acc = 0;
	uint32_t kind = FR_EV_OPEN;
	for (size_t i = 0; i < sizeof(kind_mix) / sizeof(kind_mix[0]); i++) {
		acc += kind_mix[i].per10k;
		if (x < acc) {
			kind = kind_mix[i].kind;
			break;
		}
	}
	int si = 4 + (int)(rnd(&g->r) % (NSLOTS - 4));
	if (kind == FR_EV_EXEC || kind == FR_EV_FORK || kind == FR_EV_EXIT || g->slots[si].budget-- <= 0)
		return turnover(g, si); /* exit + fork + exec: three events */
	struct proc *p = &g->slots[rnd(&g->r) % 4 == 0 ? (int)(rnd(&g->r) % 4) : si];
	struct fr_event ev;
	char buf[128], buf2[128];
	base_event(g, p, kind, &ev);
	switch (kind) {
	case FR_EV_OPEN: {
		enum pool pl = rnd(&g->r) % 3 ? p->t->a : p->t->b;
		ev.path = g->pools[pl][skew(&g->r, pool_size[pl])];
		ev.flags = rnd(&g->r) % 100 ? 0 : 1 /* wronly */;
		if (rnd(&g->r) % 100 < p->t->enoent)
			ev.error = ENOENT;
		break;
	}
	case FR_EV_CREATE:
		ev.path = fresh_path(g, buf, sizeof(buf));
		ev.flags = 0101 | 01000; /* wronly creat trunc */
		ev.mode = 0644;
		break;
	case FR_EV_MODIFY:
	case FR_EV_TRUNCATE:
	case FR_EV_CHMOD:
	case FR_EV_CHOWN:
		ev.path = rnd(&g->r) % 4 ? fresh_path(g, buf, sizeof(buf)) : g->pools[P_WORK][skew(&g->r, pool_size[P_WORK])];
		ev.mode = 0600;
		ev.owner = ev.group = kind == FR_EV_CHOWN ? 33 : 0;
		ev.length = kind == FR_EV_TRUNCATE ? 0 : 0;
		break;
	case FR_EV_DELETE:
		ev.path = fresh_path(g, buf, sizeof(buf));
		if (rnd(&g->r) % 10 == 0)
			ev.error = ENOENT;
		break;
	case FR_EV_RENAME:
	case FR_EV_LINK:
	case FR_EV_SYMLINK:
		ev.path = reuse_or_fresh(g, p, buf, sizeof(buf));
		ev.path2 = fresh_path(g, buf2, sizeof(buf2));
		break;
	case FR_EV_MKDIR:
	case FR_EV_RMDIR:
		snprintf(buf, sizeof(buf), "/tmp/d%llu", (unsigned long long)(g->fresh / 8));
		ev.path = buf;
		ev.mode = 0755;
		break;
	case FR_EV_KILL:
		ev.target_pid = g->slots[si].pid;
		ev.target_comm = g->slots[si].t->comm;
		ev.signal = 15;
		break;
	case FR_EV_LISTEN:
	case FR_EV_UNLISTEN:
		ev.proto = rnd(&g->r) % 2 ? FR_PROTO_TCP : FR_PROTO_UDP;
		ev.port = 8000 + (uint32_t)(rnd(&g->r) % 100);
		ev.addr.family = 4;
		ev.addr.bytes[0] = 127;
		ev.addr.bytes[3] = 1;
		break;
	default:
		break;
	}
	return emit(g, &ev);
}

/* the rare changes: /etc files and auto-start points, inside a session */
static int rare_change(struct gen *g, bool persist)
{
	struct proc p = g->slots[4];
	static const struct ptype vim = {"vim", "/usr/bin/vim.basic", 0, 0, P_ETC, P_ETC};
	p.t = &vim;
	if (g->cur_ses && g->ts < g->ses_until) {
		p.ses = g->cur_ses;
		p.auid = g->cur_auid;
	}
	struct fr_event ev;
	base_event(g, &p, rnd(&g->r) % 5 ? FR_EV_MODIFY : FR_EV_CREATE, &ev);
	ev.path = persist ? persist_changes[rnd(&g->r) % (sizeof(persist_changes) / sizeof(persist_changes[0]))]
			  : etc_changes[rnd(&g->r) % (sizeof(etc_changes) / sizeof(etc_changes[0]))];
	ev.flags = 01101;
	ev.mode = 0644;
	return emit(g, &ev);
}

static void *gen_host(void *arg)
{
	struct host *h = arg;
	struct gen g = {.h = h};
	g.r.s = h->seed * 0x9E3779B97F4A7C15ull + (uint64_t)h->idx * 7919 + 1;
	g.next_pid = 1000;
	build_pools(&g);
	struct fl_writer_opts wo = {.level = h->level};
	int r = fl_writer_new(&wo, &g.w);
	if (!r) {
		mkdir(h->dir, 0755);
		r = fl_store_open(h->dir, &g.st);
		/* as the recorder: a prior after the first segment, daily */
		if (!r && !h->no_prior)
			r = fl_store_use_priors(g.st, 0);
	}
	uint64_t total = (uint64_t)(h->days * (double)h->events_per_day);
	uint64_t step = DAY_NS / h->events_per_day;
	g.ts = BASE_TS;
	/* daemons in the first slots, as the start-up snapshot sees them */
	for (int i = 0; i < NSLOTS && !r; i++) {
		struct proc *p = &g.slots[i];
		p->pid = g.next_pid++;
		p->ppid = 1;
		p->t = i < 4 ? &ptypes[11 + i] : pick_type(&g);
		p->daemon = i < 4;
		p->pstart = BASE_TS - DAY_NS;
		p->auid = p->ses = FR_ID_UNSET;
		p->budget = i < 4 ? 1 << 30 : 10 + (int)(rnd(&g.r) % 33);
		p->argv_len = (uint32_t)snprintf(p->argv, sizeof(p->argv), "%s", p->t->comm) + 1;
		struct fr_event ev;
		base_event(&g, p, FR_EV_PROC, &ev);
		ev.path = p->t->exe;
		ev.argv = p->argv;
		ev.argv_len = p->argv_len;
		ev.cwd = "/";
		r = emit(&g, &ev);
	}
	uint64_t ses_every = h->events_per_day / 12, etc_every = h->events_per_day / 6,
		 persist_every = h->events_per_day / 3;
	g.ses_next = 1;
	/* events come in bursts (a process's opens microseconds apart) with gaps
	 * between, as recorded; the mean interval is the day's rate */
	uint64_t gap = (step * 10 - 9 * 10000) > 0 ? step * 10 - 9 * 10000 : 1;
	for (uint64_t i = 0; h->events < total && !r; i++) {
		g.ts += rnd(&g.r) % 10 ? rnd(&g.r) % 20000 : rnd(&g.r) % (2 * gap);
		if (i % ses_every == ses_every / 2) {
			g.cur_ses = g.ses_next++;
			g.cur_auid = 1000 + (uint32_t)(rnd(&g.r) % 5);
			g.ses_until = g.ts + DAY_NS / 48;
		}
		if (i % etc_every == etc_every / 3)
			r = rare_change(&g, false);
		else if (i % persist_every == persist_every / 5)
			r = rare_change(&g, true);
		else
			r = one_event(&g);
	}
	if (!r && fl_writer_count(g.w)) {
		r = fl_store_append(g.st, g.w, NULL);
		if (!r)
			h->segments++;
	}
	if (g.st)
		h->bytes = fl_store_bytes(g.st);
	fl_store_close(g.st);
	fl_writer_free(g.w);
	free_pools(&g);
	h->err = r;
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fleetgen --out DIR [--hosts N] [--days D] [--events-per-day N]\n"
		   "                [--segment-events N] [--level L] [--jobs N] [--seed S]\n"
		   "                [--no-prior]\n\n"
		   "Write D days of synthetic events for each of N hosts into DIR/host-NNN\n"
		   "(one flight log store each): N*D machine-days. Defaults: 1 host, 1 day,\n"
		   "25,000,000 events per day (FDR's rate), 1,000,000 events per segment (the\n"
		   "recorder's default), zstd level 3, one job per CPU, and, as the recorder,\n"
		   "segments compressed against a prior of the host's first segment, renewed\n"
		   "daily (docs/FORMAT.md 10; --no-prior: none).\n"
		   "Prints one JSON line: events, bytes, seconds, events/s, bytes/event.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'}, {"hosts", required_argument, NULL, 'n'},
		{"days", required_argument, NULL, 'd'}, {"events-per-day", required_argument, NULL, 'e'},
		{"segment-events", required_argument, NULL, 's'}, {"level", required_argument, NULL, 'l'},
		{"jobs", required_argument, NULL, 'j'}, {"seed", required_argument, NULL, 'S'},
		{"no-prior", no_argument, NULL, 'P'}, {"help", no_argument, NULL, 'h'}, {0},
	};
	const char *out = NULL;
	bool no_prior = false;
	int nhosts = 1, level = 3, jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	double days = 1;
	uint64_t epd = 25000000, seg = 1000000, seed = 1;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'o': out = optarg; break;
		case 'n': nhosts = atoi(optarg); break;
		case 'd': days = atof(optarg); break;
		case 'e': epd = strtoull(optarg, NULL, 10); break;
		case 's': seg = strtoull(optarg, NULL, 10); break;
		case 'l': level = atoi(optarg); break;
		case 'j': jobs = atoi(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		case 'P': no_prior = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!out || nhosts < 1 || nhosts > 100000 || days <= 0 || epd < 1000 || !seg || jobs < 1) {
		usage(stderr);
		return 2;
	}
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "fleetgen: %s: %s\n", out, strerror(errno));
		return 1;
	}
	struct host *hs = calloc((size_t)nhosts, sizeof(*hs));
	for (int i = 0; i < nhosts; i++) {
		hs[i].idx = i;
		snprintf(hs[i].name, sizeof(hs[i].name), "host-%03d", i);
		snprintf(hs[i].dir, sizeof(hs[i].dir), "%s/%s", out, hs[i].name);
		hs[i].days = days;
		hs[i].events_per_day = epd;
		hs[i].seg_events = seg;
		hs[i].level = level;
		hs[i].seed = seed;
		hs[i].no_prior = no_prior;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t *tids = calloc((size_t)jobs, sizeof(*tids));
	for (int i = 0; i < nhosts; i += jobs) {
		int n = nhosts - i < jobs ? nhosts - i : jobs;
		for (int k = 0; k < n; k++)
			pthread_create(&tids[k], NULL, gen_host, &hs[i + k]);
		for (int k = 0; k < n; k++)
			pthread_join(tids[k], NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	uint64_t ev = 0, by = 0, segs = 0;
	int rc = 0;
	for (int i = 0; i < nhosts; i++) {
		ev += hs[i].events;
		by += hs[i].bytes;
		segs += hs[i].segments;
		if (hs[i].err) {
			fprintf(stderr, "fleetgen: %s: %s\n", hs[i].name, strerror(-hs[i].err));
			rc = 1;
		}
	}
	printf("{\"hosts\":%d,\"machine_days\":%.4f,\"events\":%llu,\"segments\":%llu,\"bytes\":%llu,"
	       "\"seconds\":%.3f,\"events_per_second\":%.0f,\"bytes_per_event\":%.4f,\"level\":%d}\n",
	       nhosts, days * nhosts, (unsigned long long)ev, (unsigned long long)segs, (unsigned long long)by, dt,
	       dt > 0 ? (double)ev / dt : 0.0, ev ? (double)by / (double)ev : 0.0, level);
	free(tids);
	free(hs);
	return rc;
}
