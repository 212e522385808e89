/* query.h - filters and aggregations over flight logs, fast.
 *
 * Why: a complete record is only useful if "who changed /etc/nginx.conf" is
 * answered in seconds over months of events on many machines. The engine
 * scans one or more stores (directories that `flightrec record --output`
 * wrote), skips every segment it can from its header and summary alone (time
 * range, hosts, kind counts, the path bloom filter, the path and comm
 * dictionaries), decompresses only the column groups a query needs, and
 * scans the remaining segments on several threads. Results come back in a
 * deterministic order: store by store (in the order given), segment seq,
 * then event order, whatever the number of threads.
 *
 * It does not depend on the CLI, so the central server can serve the same
 * queries. Nothing here prints. Conventions: negative errno on failure with
 * out-parameters untouched; destructors accept NULL.
 */
#ifndef FLIGHTREC_QUERY_H
#define FLIGHTREC_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

/* How a path pattern matches. Each pattern is tested against the names an
 * event touches: `path`, and also `path2` for rename and link (both names).
 * A symlink's `path2` is its target text, not a name it touches. */
enum fq_path_mode {
	FQ_PATH_EXACT = 0, /* byte-equal */
	FQ_PATH_PREFIX,    /* starts with the pattern ("/etc/" for a tree) */
	FQ_PATH_GLOB,      /* fnmatch(3) without flags: `*` also matches `/` */
};
struct fq_path {
	enum fq_path_mode mode;
	const char *pattern;
};

/* Filter flags. */
#define FQ_F_OK_ONLY     0x1u /* only events that succeeded (no `error`) */
#define FQ_F_READS       0x2u /* open events only when opened read-only */
#define FQ_F_PERSISTENT  0x4u /* drop paths that are not persistent state:
				 /dev/..., /proc/... (but not /proc/sys/...) */

/* What an event must satisfy: every set member (AND); a list matches when
 * any of its entries does (OR). Strings are borrowed during the query. */
struct fq_filter {
	uint64_t since_ns, until_ns;   /* ts in [since, until]; 0 = unbounded */
	uint64_t kinds;                /* bit (1 << kind); 0 = every kind */
	const char *const *hosts;      /* exact host names */
	size_t nhosts;
	const struct fq_path *paths;
	size_t npaths;
	const char *const *comms;      /* exact comm */
	size_t ncomms;
	const char *const *exes;       /* exe: exact, or a glob when it has * ? [ */
	size_t nexes;
	const char *argv_sub;          /* a substring of the process's command line
					  (see fq_run: processes by their exec/proc) */
	bool has_auid, has_uid, has_ses;
	uint32_t auid, uid, ses;       /* auid FR_ID_UNSET selects "unset" */
	uint32_t flags;                /* FQ_F_* */
};

/* Grouping for fq_count. */
enum fq_group {
	FQ_BY_PATH = 0,  /* the event's `path` (NULL for events without one) */
	FQ_BY_PROCESS,   /* comm */
	FQ_BY_HOST,
	FQ_BY_USER,      /* auid (NULL key when unset) */
};
/* Name <-> enum ("path", "process", "host", "user"); -EINVAL when unknown. */
int fq_group_from_name(const char *name, enum fq_group *out);

/* Progress, called on the caller's thread between results. */
struct fq_progress {
	uint64_t segments_done, segments_total;
	uint64_t events_done, events_total; /* events of the segments handled */
};
typedef void (*fq_progress_fn)(const struct fq_progress *p, void *ctx);

#define FQ_O_SESSIONS 0x1u /* resolve each result's session id (costs a scan
			      of earlier skipped segments when needed) */

struct fq_opts {
	unsigned threads;          /* 0 = the number of online CPUs */
	uint32_t flags;            /* FQ_O_* */
	fq_progress_fn progress;   /* may be NULL */
	void *progress_ctx;
	uint64_t limit;            /* stop after this many results; 0 = all */
};

/* What a query did, for the benchmark and --stats. */
struct fq_stats {
	uint64_t segments;          /* in the stores */
	uint64_t skipped_time, skipped_host, skipped_kind, skipped_path,
		 skipped_comm;      /* skipped from the summary/dictionaries */
	uint64_t decoded;           /* segments whose events were decoded */
	uint64_t session_scanned;   /* segments decoded only to resolve sessions */
	uint64_t path_scanned;      /* segments whose path streams were scanned for
				       exact paths (decoded only when a hit needs it) */
	uint64_t events;            /* events in all segments */
	uint64_t events_decoded;
	uint64_t matched;
	uint64_t bytes_read;        /* file bytes read */
	uint64_t damaged;           /* segments that could not be read (skipped) */
};

/* One result. ev and its strings are valid only during the callback.
 * session is "HOST-SES-START" (docs/EVENTS.md) when FQ_O_SESSIONS is set
 * and the event has a ses, else NULL. store is the directory given. */
struct fq_hit {
	const struct fr_event *ev;
	const char *session;
	const char *store;
	uint64_t seq; /* its segment */
};
/* A non-zero return stops the query; fq_run returns it. */
typedef int (*fq_hit_fn)(const struct fq_hit *hit, void *ctx);

/* Called for each damaged segment (file, reason); may be NULL. */
typedef void (*fq_damage_fn)(const char *file, const char *why, void *ctx);

struct fq_query;
/* Check and compile a filter (patterns, kinds). -EINVAL on a bad filter.
 * The query borrows f's strings; the caller owns *out (fq_query_free). */
int fq_query_new(const struct fq_filter *f, struct fq_query **out);
void fq_query_free(struct fq_query *q);
/* Report damaged segments through fn instead of counting them silently. */
void fq_query_on_damage(struct fq_query *q, fq_damage_fn fn, void *ctx);

/* Scan the stores (directories, or single segment files) and call fn for
 * every matching event, in order. --argv: a process matches by the command
 * line of its exec (or start-up proc) record, identified by host, pid and
 * pstart; events of a forked child before it execs do not match.
 * Returns 0, fn's non-zero return, or a negative errno (a store that cannot
 * be opened). Damaged segments are skipped and counted in st->damaged.
 * st (may be NULL) is filled on return. */
/* Add another pass over the same stores to *a: the segments and events
 * seen are the larger of the two (the same segments again), the work done
 * (skips, decodes, scans, events decoded, matches, bytes read) adds up. */
void fq_stats_add_pass(struct fq_stats *a, const struct fq_stats *b);

int fq_run(struct fq_query *q, const char *const *stores, size_t nstores,
	   const struct fq_opts *o, fq_hit_fn fn, void *ctx, struct fq_stats *st);

/* Aggregation: matching events counted by group, with the first and last
 * time. Rows are ordered by count (descending), then key. */
struct fq_row {
	const char *key;        /* NULL: the group of events without the key */
	uint64_t count;
	uint64_t first_ns, last_ns;
};
struct fq_groups;
int fq_count(struct fq_query *q, const char *const *stores, size_t nstores,
	     const struct fq_opts *o, enum fq_group by, struct fq_groups **out,
	     struct fq_stats *st);
size_t fq_groups_count(const struct fq_groups *g);
const struct fq_row *fq_groups_row(const struct fq_groups *g, size_t i);
void fq_groups_free(struct fq_groups *g);

/* Ready-made questions: fill f (whose lists point into static tables or into
 * the given pattern) for the CLI's subcommands. */
/* Kinds that change a file: create modify delete rename chmod chown truncate
 * link symlink. */
uint64_t fq_kinds_changed(void);
/* what-changed: files created, modified, deleted (and renamed, linked,
 * chmod'ed, chown'ed, truncated, mkdir, rmdir) and ports listened/unlistened. */
uint64_t fq_kinds_what_changed(void);
/* Auto-start points (systemd, cron, rc.local, profile and shell rc files,
 * ld.so.preload, authorized_keys, sudoers). Static. */
const struct fq_path *fq_persistence_paths(size_t *n);
/* A user's pattern: glob when it has * ? [, prefix when it ends in '/',
 * else exact. */
struct fq_path fq_path_parse(const char *pattern);
/* Does the path match the pattern? */
bool fq_path_match(const struct fq_path *p, const char *path);

/* The services section of what-changed: what was done to services in a
 * window, read from the events (docs/QUERY.md, "Services"):
 * - unit files, drop-ins and init scripts created, modified, deleted or
 *   renamed; enablement links created or removed (*.wants/, *.requires/,
 *   *.upholds/, /etc/rc?.d/S*), units masked (a link to /dev/null) or
 *   linked; from successful file changes;
 * - commands run: systemctl, service, invoke-rc.d, update-rc.d and init.d
 *   scripts with a verb that changes something (start, restart, enable,
 *   mask, daemon-reload, ...), with their exit status.
 * One result per (store, host, process, unit, action): the first event
 * stands for the rest (count). Results come store by store (the order
 * given), then by time; at one time, commands before file changes. */
struct fq_service {
	const struct fr_event *ev; /* the first event: a file change or the exec
				      (its argv is the exact command line) */
	const char *session;       /* as fq_hit */
	const char *store;
	const char *unit;          /* normalised ("nginx.service"); NULL for a
				      command without one (daemon-reload) */
	const char *action;        /* a file change: created, modified, deleted,
				      renamed, enabled, disabled, masked, linked;
				      a command: its verb (start, restart, ...) */
	bool command;
	bool exited;               /* command: its exit was seen (up to
				      FQ_SVC_EXIT_SLACK_NS after until) */
	int32_t exit_code, exit_signal;
	uint64_t count;            /* events this result stands for */
};
#define FQ_SVC_EXIT_SLACK_NS (600ull * 1000000000ull)
typedef int (*fq_service_fn)(const struct fq_service *s, void *ctx);
/* Run the services section over the stores. f gives the window and the
 * other narrowing filters (hosts, auid, uid, ses, comms, exes, argv_sub);
 * its kinds, paths and flags are the section's own and are ignored. o's
 * limit caps the results; its progress is not called. damage (may be NULL)
 * is called once per damaged segment. Results are collected first (the
 * scan makes several passes), then fn is called in order; st (may be NULL)
 * sums the passes. Returns 0, fn's non-zero return, or a negative errno. */
int fq_services(const struct fq_filter *f, const char *const *stores, size_t nstores, const struct fq_opts *o,
		fq_damage_fn damage, void *damage_ctx, fq_service_fn fn, void *ctx, struct fq_stats *st);

/* "HOST-SES-START" into buf; returns buf. */
const char *fq_session_id(const char *host, uint32_t ses, uint64_t start_ns, char *buf, size_t len);
/* Parse a session id "HOST-SES-START" (host may contain '-'): host into
 * hostbuf, ses and start (UTC seconds). -EINVAL when malformed (including
 * the "HOST-pPID-START" form of shells without ses, which has no ses). */
int fq_session_parse(const char *id, char *hostbuf, size_t hostlen, uint32_t *ses, uint64_t *start_s);

#endif
