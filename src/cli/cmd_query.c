/* cmd_query.c - `flightrec query`: filters, aggregations and the ready-made
 * questions (who-changed, what-changed, reads, persistence, new-listeners)
 * over one or more flight logs.
 *
 * Why: the engine (src/query) answers; this file only turns options into a
 * filter and prints: a table for people, NDJSON for programs, progress on a
 * terminal's stderr. */
#include "cli/cli.h"
#include "event/event.h"
#include "query/query.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DATA "/var/lib/flightrec/log"
#define MAX_LIST 64

enum sub { SUB_NONE, SUB_WHO_CHANGED, SUB_WHAT_CHANGED, SUB_READS, SUB_PERSISTENCE, SUB_NEW_LISTENERS };

static const struct {
	const char *name;
	enum sub sub;
} subs[] = {
	{"who-changed", SUB_WHO_CHANGED}, {"what-changed", SUB_WHAT_CHANGED}, {"reads", SUB_READS},
	{"persistence", SUB_PERSISTENCE}, {"new-listeners", SUB_NEW_LISTENERS},
};

static void help(void)
{
	printf(
"usage: flightrec query [--data DIR ...] [FILTERS] [--count-by GROUP] [--json]\n"
"       flightrec query who-changed PATH|GLOB ... [OPTIONS]\n"
"       flightrec query what-changed --since T --until T [--host H] [OPTIONS]\n"
"       flightrec query reads PATH|GLOB ... [OPTIONS]\n"
"       flightrec query persistence [OPTIONS]\n"
"       flightrec query new-listeners [--since T] [--until T] [OPTIONS]\n"
"\n"
"Search flight logs (directories written by `flightrec record --output`) for\n"
"events, fast: segments that cannot match are skipped from their summaries,\n"
"only the columns a query needs are decompressed, and the scan runs on every\n"
"CPU. Results come in log order: each --data directory in turn, by segment,\n"
"then by event. On a terminal they are a table; with --json, one event per\n"
"line exactly as docs/EVENTS.md describes, plus \"session\" (the session id\n"
"HOST-SES-START of `flightrec sessions`, or null). docs/QUERY.md has more.\n"
"\n"
"Questions:\n"
"  who-changed PATH|GLOB   every create, modify, delete, rename, chmod, chown,\n"
"                          truncate, link or symlink of the path (either name\n"
"                          of a rename or link), with process, person, session,\n"
"                          host and time. Failed attempts are left out.\n"
"  what-changed            the window's persistent-state diff: files created,\n"
"                          modified, deleted, renamed, chmod'ed, chown'ed,\n"
"                          truncated, directories made and removed, ports that\n"
"                          started or stopped listening. /dev and /proc (but\n"
"                          not /proc/sys) are not persistent state and are left\n"
"                          out. Needs --since and --until. Then a Services\n"
"                          section (below).\n"
"  reads PATH|GLOB         successful read-only opens: which processes read a\n"
"                          configuration file.\n"
"  persistence             changes to auto-start points: systemd units, cron,\n"
"                          init.d and rc.local, profile and shell rc files,\n"
"                          ld.so.preload, authorized_keys, sudoers.\n"
"  new-listeners           ports that started listening (TCP listen, UDP bind).\n"
"\n"
"Services (what-changed): what was done to services in the window, one line\n"
"per unit, action and process, in time order (a command before the file\n"
"changes it makes), after the files and ports:\n"
"  created, modified, deleted, renamed\n"
"                    a unit file (/etc/systemd/system, /run/systemd/system,\n"
"                    /lib/systemd/system, /usr/lib/systemd/system, the user\n"
"                    unit directories), a drop-in (X.service.d/: X modified) or\n"
"                    an init script (/etc/init.d/X: X.service). A file renamed\n"
"                    over the name (sed -i, editors) is a modification.\n"
"  enabled, disabled a link made or removed in *.wants/, *.requires/,\n"
"                    *.upholds/, or an /etc/rc?.d/S* link\n"
"  masked, unmasked, linked\n"
"                    a unit linked to /dev/null, that link removed by\n"
"                    `systemctl unmask`, another link (an alias)\n"
"  start, stop, restart, reload, enable, disable, mask, unmask, kill, ...\n"
"                    a command that ran: systemctl VERB UNIT..., service NAME\n"
"                    ACTION, invoke-rc.d NAME ACTION, update-rc.d NAME\n"
"                    defaults|remove|enable|disable, /etc/init.d/NAME ACTION,\n"
"                    and systemctl verbs without a unit (daemon-reload,\n"
"                    reboot, ...). The table shows the command line and, when\n"
"                    it failed, its exit status; read-only verbs (status,\n"
"                    show, list-units) are not changes.\n"
"  A unit is named as systemd names it: nginx is nginx.service, init script\n"
"  x.sh is x.service. With --json each line is the first event (the file\n"
"  change, or the exec with its argv) plus \"section\":\"service\", \"unit\",\n"
"  \"action\", \"count\" (events folded into the line) and, for a command,\n"
"  \"exit_code\" (null when its exit was not recorded within 10 minutes of\n"
"  --until, or it was killed: then \"exit_signal\"); the file and port lines\n"
"  carry \"section\":\"file\" or \"port\". --host, --user, --uid, --session,\n"
"  --ses, --comm, --exe and --argv narrow the section too; with --kind or\n"
"  --path it is left out. --limit applies to each section.\n"
"\n"
"A PATH is matched exactly; one ending in '/' matches everything under it; one\n"
"with * ? or [ is a glob (fnmatch, where * also matches '/').\n"
"\n"
"Filters (all must hold; a repeated option matches any of its values):\n"
"  --data DIR        a flight log (repeatable; default\n"
"                    " DEFAULT_DATA "). While a recorder writes it, the\n"
"                    segment being filled is read from its journal too: a\n"
"                    change is found a moment after it is made\n"
"  --host H          events of host H\n"
"  --since T, --until T\n"
"                    time range, inclusive. T is 2026-11-22, 2026-11-22T10:00:00,\n"
"                    an RFC 3339 time with fraction and Z, @EPOCH_SECONDS, or a\n"
"                    duration before now: 90s, 30m, 3h, 2d\n"
"  --kind K[,K...]   event kinds (docs/EVENTS.md: exec, open, delete, ...)\n"
"  --path P          path exact, DIR/ prefix or glob (as above); also\n"
"                    --prefix P and --glob G to say which\n"
"  --comm C          process command name (exact)\n"
"  --exe E           process executable (exact, or a glob)\n"
"  --argv S          processes whose command line (from their exec or the\n"
"                    start-up snapshot; arguments joined by spaces) contains S\n"
"  --user U          login user (auid): a name or a number\n"
"  --uid N           real uid\n"
"  --session ID      one session: HOST-SES-START as `flightrec sessions` shows\n"
"  --ses N           audit session id N (with --host for one machine)\n"
"  --ok              only operations that succeeded\n"
"\n"
"Output:\n"
"  --count-by GROUP  count matching events by path, process (comm), host or\n"
"                    user (auid), with the first and last time, most first\n"
"  --json            NDJSON on stdout\n"
"  --limit N         stop after N events\n"
"  --progress        progress on stderr even when it is not a terminal\n"
"  --no-session      do not resolve session ids (faster when results are many\n"
"                    and old); \"session\" is then null\n"
"  --threads N       scan threads (default: the number of CPUs)\n"
"  --stats           print what the scan did (segments skipped, events\n"
"                    decoded, time) as one JSON line on stderr\n"
"\n"
"Examples:\n"
"  flightrec query who-changed /etc/nginx/nginx.conf\n"
"  flightrec query who-changed '/etc/nginx/*' --since 2d --json\n"
"  flightrec query what-changed --since 2026-11-22T10:00:00 --until 2026-11-22T11:00:00 --host web1\n"
"  flightrec query what-changed --since 1h --until now --json | jq 'select(.section == \"service\")'\n"
"  flightrec query reads /etc/resolv.conf --count-by process\n"
"  flightrec query persistence --since 7d\n"
"  flightrec query new-listeners --since 1d --data /srv/logs/web1 --data /srv/logs/web2\n"
"  flightrec query --kind exec --user alice --argv 'systemctl restart'\n"
"  flightrec query --kind delete --prefix /var/lib/ --count-by process\n"
"\n"
"Exit status: 0 ok (with or without results), 1 a log could not be read or a\n"
"segment was damaged (reported on stderr; the others are still searched),\n"
"2 usage error.\n");
}

/* "2026-11-22", "2026-11-22T10:00:00[.123][Z]", "@1700000000", "3h": UTC ns. */
static int parse_time(const char *s, uint64_t *out)
{
	char *end;
	if (s[0] == '@') {
		errno = 0;
		double v = strtod(s + 1, &end);
		if (end == s + 1 || *end || errno || v < 0)
			return -EINVAL;
		*out = (uint64_t)(v * 1e9);
		return 0;
	}
	if (!strcmp(s, "now")) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		*out = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
		return 0;
	}
	double v = strtod(s, &end);
	if (end != s && (*end == 's' || *end == 'm' || *end == 'h' || *end == 'd') && !end[1] && v >= 0) {
		double mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		uint64_t n = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
		uint64_t d = (uint64_t)(v * mult * 1e9);
		*out = d > n ? 1 : n - d;
		return 0;
	}
	struct tm tm = {0};
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest) {
		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, "%Y-%m-%d", &tm);
		if (!rest || *rest)
			return -EINVAL;
	}
	uint64_t frac = 0;
	if (*rest == '.') {
		rest++;
		int digits = 0;
		while (*rest >= '0' && *rest <= '9') {
			if (digits < 9) {
				frac = frac * 10 + (uint64_t)(*rest - '0');
				digits++;
			}
			rest++;
		}
		if (!digits)
			return -EINVAL;
		while (digits++ < 9)
			frac *= 10;
	}
	if (*rest && strcmp(rest, "Z"))
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000ull + frac;
	return 0;
}

static int resolve_user(const char *u, uint32_t *id)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(u, &end, 10);
	if (!*end && end != u && !errno && v <= 0xffffffffu) {
		*id = (uint32_t)v;
		return 0;
	}
	struct passwd *pw = getpwnam(u);
	if (!pw)
		return -ENOENT;
	*id = pw->pw_uid;
	return 0;
}

static const char *user_name(uint32_t auid, char *buf, size_t len)
{
	if (auid == FR_ID_UNSET)
		return "-";
	struct passwd *pw = getpwuid(auid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", auid);
	return buf;
}

struct out_ctx {
	bool json, color;
	struct fr_buf b;
	uint64_t n;
	int io_error;
	const char *want_session; /* --session: exact id */
	bool progress_shown;
	bool sections;            /* what-changed: results name their section */
	uint64_t nsvc;            /* services printed */
	char **damaged;           /* files already reported */
	size_t ndamaged;
};

static const char *kind_color(uint32_t k)
{
	switch (k) {
	case FR_EV_DELETE:
	case FR_EV_RMDIR:
	case FR_EV_UNLISTEN:
		return "\033[31m";
	case FR_EV_CREATE:
	case FR_EV_MKDIR:
	case FR_EV_LISTEN:
		return "\033[32m";
	case FR_EV_MODIFY:
	case FR_EV_TRUNCATE:
	case FR_EV_RENAME:
		return "\033[33m";
	case FR_EV_CHMOD:
	case FR_EV_CHOWN:
	case FR_EV_LINK:
	case FR_EV_SYMLINK:
		return "\033[35m";
	default:
		return "";
	}
}

/* A time for the tables: 2026-11-22T08:43:36.663206034Z -> 2026-11-22
 * 08:43:36.663 (len >= 40). */
static void table_time(uint64_t ts_ns, char *t, size_t len)
{
	fr_format_ts(ts_ns, t, len);
	t[10] = ' ';
	t[23] = 0;
}

static void clear_progress(struct out_ctx *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = false;
	}
}

static int on_hit(const struct fq_hit *h, void *arg)
{
	struct out_ctx *c = arg;
	if (c->want_session && (!h->session || strcmp(h->session, c->want_session)))
		return 0;
	const struct fr_event *ev = h->ev;
	c->b.len = 0;
	int r;
	if (c->json) {
		r = fr_event_to_json(ev, &c->b);
		if (!r && c->b.len >= 2 && c->b.data[c->b.len - 1] == '\n' && c->b.data[c->b.len - 2] == '}') {
			c->b.len -= 2;
			r = fr_buf_append(&c->b, ",\"session\":", 11);
			if (!r)
				r = fr_json_str(&c->b, h->session);
			if (!r && c->sections)
				r = fr_buf_printf(&c->b, ",\"section\":\"%s\"",
						  ev->kind == FR_EV_LISTEN || ev->kind == FR_EV_UNLISTEN ? "port" : "file");
			if (!r)
				r = fr_buf_append(&c->b, "}\n", 2);
		}
	} else {
		char t[40], u[64];
		table_time(ev->ts_ns, t, sizeof(t));
		const char *k = fr_kind_name(ev->kind);
		const char *what = ev->path;
		char port[80];
		if (!what && (ev->kind == FR_EV_LISTEN || ev->kind == FR_EV_UNLISTEN || ev->kind == FR_EV_SOCKET)) {
			snprintf(port, sizeof(port), "%s port %u", ev->proto == FR_PROTO_UDP ? "udp" : "tcp", ev->port);
			what = port;
		}
		if (!what)
			what = ev->line ? ev->line : "";
		r = fr_buf_printf(&c->b, "%s  %-12s %s%-8s%s %7u %-15s %-8s %-22s %s%s%s%s\n", t,
				  ev->host ? ev->host : "-", c->color ? kind_color(ev->kind) : "", k ? k : "?",
				  c->color ? "\033[0m" : "", ev->pid, ev->comm ? ev->comm : "-",
				  user_name(ev->auid, u, sizeof(u)), h->session ? h->session : "-", what,
				  ev->path2 ? " -> " : "", ev->path2 ? ev->path2 : "", ev->error ? " (failed)" : "");
	}
	if (r < 0)
		return r;
	clear_progress(c);
	if (!c->json && !c->n) {
		printf("%-23s  %-12s %-8s %7s %-15s %-8s %-22s %s\n", "TIME (UTC)", "HOST", "EVENT", "PID", "COMM", "USER",
		       "SESSION", "PATH");
	}
	c->n++;
	if (fwrite(c->b.data, 1, c->b.len, stdout) != c->b.len) {
		c->io_error = errno ? errno : EIO;
		return -c->io_error;
	}
	return 0;
}

static void on_damage(const char *file, const char *why, void *ctx)
{
	struct out_ctx *c = ctx;
	/* what-changed scans the logs more than once: one message a segment */
	for (size_t i = 0; i < c->ndamaged; i++)
		if (!strcmp(c->damaged[i], file))
			return;
	char **v = realloc(c->damaged, (c->ndamaged + 1) * sizeof(*v));
	if (v) {
		c->damaged = v;
		if ((v[c->ndamaged] = strdup(file)))
			c->ndamaged++;
	}
	clear_progress(c);
	cli_error("%s: %s", file, why);
}

/* The command line as typed, for a table: arguments joined by spaces, an
 * argument with a space or nothing in it quoted, control bytes as \xNN. */
static int format_argv(struct fr_buf *b, const char *argv, uint32_t len)
{
	int r = 0;
	uint32_t i = 0;
	bool first = true;
	while (argv && i < len && !r) {
		const char *e = memchr(argv + i, '\0', len - i);
		uint32_t n = e ? (uint32_t)(e - (argv + i)) : len - i;
		bool quote = !n || memchr(argv + i, ' ', n);
		if (!first)
			r = fr_buf_append(b, " ", 1);
		if (!r && quote)
			r = fr_buf_append(b, "'", 1);
		for (uint32_t k = 0; k < n && !r; k++) {
			unsigned char ch = (unsigned char)argv[i + k];
			r = ch < 0x20 || ch == 0x7f ? fr_buf_printf(b, "\\x%02x", ch) : fr_buf_append(b, &argv[i + k], 1);
		}
		if (!r && quote)
			r = fr_buf_append(b, "'", 1);
		first = false;
		i += n + 1;
	}
	return r;
}

static int on_service(const struct fq_service *s, void *arg)
{
	struct out_ctx *c = arg;
	if (c->want_session && (!s->session || strcmp(s->session, c->want_session)))
		return 0;
	const struct fr_event *ev = s->ev;
	c->b.len = 0;
	int r = 0;
	if (c->json) {
		r = fr_event_to_json(ev, &c->b);
		if (!r && c->b.len >= 2 && c->b.data[c->b.len - 1] == '\n' && c->b.data[c->b.len - 2] == '}') {
			c->b.len -= 2;
			r = fr_buf_append(&c->b, ",\"session\":", 11);
			if (!r)
				r = fr_json_str(&c->b, s->session);
			if (!r)
				r = fr_buf_printf(&c->b, ",\"section\":\"service\",\"unit\":");
			if (!r)
				r = fr_json_str(&c->b, s->unit);
			if (!r)
				r = fr_buf_printf(&c->b, ",\"action\":");
			if (!r)
				r = fr_json_str(&c->b, s->action);
			if (!r)
				r = fr_buf_printf(&c->b, ",\"count\":%llu", (unsigned long long)s->count);
			if (!r && s->command) {
				if (s->exited && !s->exit_signal)
					r = fr_buf_printf(&c->b, ",\"exit_code\":%d", s->exit_code);
				else if (s->exited)
					r = fr_buf_printf(&c->b, ",\"exit_code\":null,\"exit_signal\":%d", s->exit_signal);
				else
					r = fr_buf_printf(&c->b, ",\"exit_code\":null");
			}
			if (!r)
				r = fr_buf_append(&c->b, "}\n", 2);
		}
	} else {
		char t[40], u[64];
		table_time(ev->ts_ns, t, sizeof(t));
		const char *col = "";
		if (c->color)
			col = s->command && s->exited && (s->exit_code || s->exit_signal) ? "\033[31m"
			      : s->command ? "\033[36m" : kind_color(ev->kind);
		r = fr_buf_printf(&c->b, "%s  %-12s %s%-13s%s %-28s %7u %-15s %-8s %-22s ", t, ev->host ? ev->host : "-",
				  col, s->action, c->color ? "\033[0m" : "", s->unit ? s->unit : "-", ev->pid,
				  ev->comm ? ev->comm : "-", user_name(ev->auid, u, sizeof(u)),
				  s->session ? s->session : "-");
		if (!r && s->command) {
			r = format_argv(&c->b, ev->argv, ev->argv_len);
			if (!r && !s->exited)
				r = fr_buf_printf(&c->b, " (exit not seen)");
			else if (!r && s->exit_signal)
				r = fr_buf_printf(&c->b, " (killed by signal %d)", s->exit_signal);
			else if (!r && s->exit_code)
				r = fr_buf_printf(&c->b, " (failed: exit %d)", s->exit_code);
		} else if (!r) {
			r = fr_buf_printf(&c->b, "%s%s%s", ev->path ? ev->path : "", ev->path2 ? " -> " : "",
					  ev->path2 ? ev->path2 : "");
		}
		if (!r && s->count > 1)
			r = fr_buf_printf(&c->b, " (%llu events)", (unsigned long long)s->count);
		if (!r)
			r = fr_buf_append(&c->b, "\n", 1);
	}
	if (r < 0)
		return r;
	clear_progress(c);
	if (!c->json && !c->nsvc)
		printf("%sServices:\n%-23s  %-12s %-13s %-28s %7s %-15s %-8s %-22s %s\n", c->n ? "\n" : "",
		       "TIME (UTC)", "HOST", "ACTION", "UNIT", "PID", "COMM", "USER", "SESSION", "COMMAND OR PATH");
	c->nsvc++;
	if (fwrite(c->b.data, 1, c->b.len, stdout) != c->b.len) {
		c->io_error = errno ? errno : EIO;
		return -c->io_error;
	}
	return 0;
}

struct prog_ctx {
	struct out_ctx *out;
	struct timespec last;
};

static void on_progress(const struct fq_progress *p, void *arg)
{
	struct prog_ctx *pc = arg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double dt = (double)(now.tv_sec - pc->last.tv_sec) + (double)(now.tv_nsec - pc->last.tv_nsec) / 1e9;
	if (dt < 0.2 && p->segments_done < p->segments_total)
		return;
	pc->last = now;
	fprintf(stderr, "\r\033[Kquery: %llu/%llu segments, %.1fM events",
		(unsigned long long)p->segments_done, (unsigned long long)p->segments_total,
		(double)p->events_done / 1e6);
	pc->out->progress_shown = true;
}

static int add_list(const char **v, size_t *n, const char *s, const char *opt)
{
	if (*n == MAX_LIST) {
		cli_error("query: too many %s", opt);
		return -1;
	}
	v[(*n)++] = s;
	return 0;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int cmd_query(int argc, char **argv)
{
	enum opt_id {
		O_DATA = 256, O_HOST, O_SINCE, O_UNTIL, O_KIND, O_PATH, O_PREFIX, O_GLOB, O_COMM, O_EXE, O_ARGV,
		O_USER, O_UID, O_SESSION, O_SES, O_OK, O_COUNT_BY, O_JSON, O_LIMIT, O_PROGRESS, O_NO_SESSION,
		O_THREADS, O_STATS,
	};
	static const struct option opts[] = {
		{"data", required_argument, NULL, O_DATA}, {"host", required_argument, NULL, O_HOST},
		{"since", required_argument, NULL, O_SINCE}, {"until", required_argument, NULL, O_UNTIL},
		{"kind", required_argument, NULL, O_KIND}, {"path", required_argument, NULL, O_PATH},
		{"prefix", required_argument, NULL, O_PREFIX}, {"glob", required_argument, NULL, O_GLOB},
		{"comm", required_argument, NULL, O_COMM}, {"exe", required_argument, NULL, O_EXE},
		{"argv", required_argument, NULL, O_ARGV}, {"user", required_argument, NULL, O_USER},
		{"uid", required_argument, NULL, O_UID}, {"session", required_argument, NULL, O_SESSION},
		{"ses", required_argument, NULL, O_SES}, {"ok", no_argument, NULL, O_OK},
		{"count-by", required_argument, NULL, O_COUNT_BY}, {"json", no_argument, NULL, O_JSON},
		{"limit", required_argument, NULL, O_LIMIT}, {"progress", no_argument, NULL, O_PROGRESS},
		{"no-session", no_argument, NULL, O_NO_SESSION}, {"threads", required_argument, NULL, O_THREADS},
		{"stats", no_argument, NULL, O_STATS}, {"help", no_argument, NULL, 'h'},
		{0},
	};
	enum sub sub = SUB_NONE;
	const char *data[MAX_LIST], *hosts[MAX_LIST], *comms[MAX_LIST], *exes[MAX_LIST];
	size_t ndata = 0, nhosts = 0, ncomms = 0, nexes = 0;
	struct fq_path paths[MAX_LIST + 32];
	size_t npaths = 0;
	struct fq_filter f = {0};
	bool json = false, progress = false, no_session = false, stats = false, have_count = false;
	enum fq_group by = FQ_BY_PATH;
	struct fq_opts qo = {0};
	const char *want_session = NULL;
	char shost[256];
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		switch (o) {
		case O_DATA:
			if (add_list(data, &ndata, optarg, "--data") < 0)
				return EXIT_USAGE;
			break;
		case O_HOST:
			if (add_list(hosts, &nhosts, optarg, "--host") < 0)
				return EXIT_USAGE;
			break;
		case O_SINCE:
		case O_UNTIL:
			if (parse_time(optarg, o == O_SINCE ? &f.since_ns : &f.until_ns) < 0) {
				cli_error("query: --%s needs a time (2026-11-22[T10:00:00[.5][Z]], @EPOCH, or 3h), not '%s'",
					  o == O_SINCE ? "since" : "until", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_KIND: {
			char *copy = strdup(optarg), *save = NULL;
			if (!copy)
				return EXIT_FAIL;
			for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
				uint32_t n = fr_kind_from_name(k);
				if (n == FR_EV_NONE) {
					cli_error("query: unknown event kind '%s' (docs/EVENTS.md)", k);
					free(copy);
					return EXIT_USAGE;
				}
				f.kinds |= 1ull << n;
			}
			free(copy);
			break;
		}
		case O_PATH:
		case O_PREFIX:
		case O_GLOB:
			if (npaths == MAX_LIST) {
				cli_error("query: too many paths");
				return EXIT_USAGE;
			}
			if (optarg[0] != '/' && !(o == O_GLOB && optarg[0] == '*')) {
				cli_error("query: paths are absolute: '%s'", optarg);
				return EXIT_USAGE;
			}
			paths[npaths] = o == O_PATH ? fq_path_parse(optarg)
					: (struct fq_path){o == O_PREFIX ? FQ_PATH_PREFIX : FQ_PATH_GLOB, optarg};
			npaths++;
			break;
		case O_COMM:
			if (add_list(comms, &ncomms, optarg, "--comm") < 0)
				return EXIT_USAGE;
			break;
		case O_EXE:
			if (add_list(exes, &nexes, optarg, "--exe") < 0)
				return EXIT_USAGE;
			break;
		case O_ARGV:
			if (!*optarg) {
				cli_error("query: --argv needs a non-empty string");
				return EXIT_USAGE;
			}
			f.argv_sub = optarg;
			break;
		case O_USER:
			if (resolve_user(optarg, &f.auid) < 0) {
				cli_error("query: no such user '%s'", optarg);
				return EXIT_USAGE;
			}
			f.has_auid = true;
			break;
		case O_UID:
			if (resolve_user(optarg, &f.uid) < 0) {
				cli_error("query: no such user '%s'", optarg);
				return EXIT_USAGE;
			}
			f.has_uid = true;
			break;
		case O_SESSION: {
			uint64_t st;
			if (fq_session_parse(optarg, shost, sizeof(shost), &f.ses, &st) < 0) {
				cli_error("query: --session needs an id HOST-SES-START as `flightrec sessions` prints, not '%s'",
					  optarg);
				return EXIT_USAGE;
			}
			f.has_ses = true;
			want_session = optarg;
			if (add_list(hosts, &nhosts, shost, "--host") < 0)
				return EXIT_USAGE;
			break;
		}
		case O_SES: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v >= FR_ID_UNSET) {
				cli_error("query: --ses needs a number, not '%s'", optarg);
				return EXIT_USAGE;
			}
			f.ses = (uint32_t)v;
			f.has_ses = true;
			break;
		}
		case O_OK:
			f.flags |= FQ_F_OK_ONLY;
			break;
		case O_COUNT_BY:
			if (fq_group_from_name(optarg, &by) < 0) {
				cli_error("query: --count-by takes path, process, host or user, not '%s'", optarg);
				return EXIT_USAGE;
			}
			have_count = true;
			break;
		case O_JSON:
			json = true;
			break;
		case O_LIMIT:
			qo.limit = strtoull(optarg, &end, 10);
			if (!*optarg || *end || !qo.limit) {
				cli_error("query: --limit needs a positive number, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_PROGRESS:
			progress = true;
			break;
		case O_NO_SESSION:
			no_session = true;
			break;
		case O_THREADS: {
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || !v || v > 256) {
				cli_error("query: --threads needs a number from 1 to 256, not '%s'", optarg);
				return EXIT_USAGE;
			}
			qo.threads = (unsigned)v;
			break;
		}
		case O_STATS:
			stats = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'flightrec query --help'.\n");
			return EXIT_USAGE;
		}
	}
	/* the question, wherever it was given (getopt moved it after the options) */
	if (optind < argc) {
		for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
			if (!strcmp(argv[optind], subs[i].name))
				sub = subs[i].sub;
		if (sub == SUB_NONE) {
			cli_error("query: unknown question '%s' (see 'flightrec query --help')", argv[optind]);
			return EXIT_USAGE;
		}
		optind++;
	}
	/* positional patterns: who-changed and reads */
	if (sub == SUB_WHO_CHANGED || sub == SUB_READS) {
		if (optind == argc) {
			cli_error("query %s: give a PATH or GLOB", sub == SUB_READS ? "reads" : "who-changed");
			return EXIT_USAGE;
		}
		for (; optind < argc; optind++) {
			if (npaths == MAX_LIST) {
				cli_error("query: too many paths");
				return EXIT_USAGE;
			}
			if (argv[optind][0] != '/' && argv[optind][0] != '*') {
				cli_error("query: paths are absolute: '%s'", argv[optind]);
				return EXIT_USAGE;
			}
			paths[npaths++] = fq_path_parse(argv[optind]);
		}
	}
	if (optind != argc) {
		cli_error("query: unexpected argument '%s' (see 'flightrec query --help')", argv[optind]);
		return EXIT_USAGE;
	}
	uint64_t user_kinds = f.kinds;
	/* --kind and --path select raw events: the services section is then
	 * left out, as with --count-by (it is not a count of events) */
	bool services = sub == SUB_WHAT_CHANGED && !user_kinds && !npaths && !have_count;
	switch (sub) {
	case SUB_NONE:
		break;
	case SUB_WHO_CHANGED:
		f.kinds = fq_kinds_changed();
		f.flags |= FQ_F_OK_ONLY;
		break;
	case SUB_WHAT_CHANGED:
		if (!f.since_ns || !f.until_ns) {
			cli_error("query what-changed: give the window with --since T and --until T");
			return EXIT_USAGE;
		}
		f.kinds = fq_kinds_what_changed();
		f.flags |= FQ_F_OK_ONLY | FQ_F_PERSISTENT;
		break;
	case SUB_READS:
		f.kinds = 1ull << FR_EV_OPEN;
		f.flags |= FQ_F_OK_ONLY | FQ_F_READS;
		break;
	case SUB_PERSISTENCE: {
		if (npaths) {
			cli_error("query persistence: the paths are built in (see --help); use who-changed for others");
			return EXIT_USAGE;
		}
		size_t n;
		const struct fq_path *pp = fq_persistence_paths(&n);
		for (size_t i = 0; i < n; i++)
			paths[npaths++] = pp[i];
		f.kinds = fq_kinds_changed() | (1ull << FR_EV_MKDIR);
		f.flags |= FQ_F_OK_ONLY;
		break;
	}
	case SUB_NEW_LISTENERS:
		f.kinds = 1ull << FR_EV_LISTEN;
		f.flags |= FQ_F_OK_ONLY;
		break;
	}
	if (sub != SUB_NONE && user_kinds) {
		f.kinds &= user_kinds;
		if (!f.kinds) {
			cli_error("query: --kind selects none of the question's kinds");
			return EXIT_USAGE;
		}
	}
	if (!ndata)
		data[ndata++] = DEFAULT_DATA;
	f.hosts = hosts;
	f.nhosts = nhosts;
	f.paths = paths;
	f.npaths = npaths;
	f.comms = comms;
	f.ncomms = ncomms;
	f.exes = exes;
	f.nexes = nexes;
	for (size_t i = 0; i < ndata; i++)
		if (access(data[i], R_OK) < 0) {
			cli_error("query: %s: %s", data[i], strerror(errno));
			return EXIT_FAIL;
		}
	struct fq_query *q;
	int r = fq_query_new(&f, &q);
	if (r < 0) {
		cli_error("query: bad filter (--since after --until?)");
		return EXIT_USAGE;
	}
	struct out_ctx oc = {.json = json, .color = !json && cli_color(stdout), .want_session = want_session,
			     .sections = sub == SUB_WHAT_CHANGED};
	fq_query_on_damage(q, on_damage, &oc);
	struct prog_ctx pc = {.out = &oc};
	if (progress || isatty(fileno(stderr))) {
		qo.progress = on_progress;
		qo.progress_ctx = &pc;
		clock_gettime(CLOCK_MONOTONIC, &pc.last);
	}
	if (!no_session && (!have_count || want_session))
		qo.flags |= FQ_O_SESSIONS;
	struct fq_stats st = {0};
	double t0 = now_s();
	int rc = EXIT_OK;
	if (have_count && want_session) {
		cli_error("query: --count-by with --session is not supported; use --ses N --host H");
		fq_query_free(q);
		return EXIT_USAGE;
	}
	if (have_count) {
		struct fq_groups *g = NULL;
		r = fq_count(q, data, ndata, &qo, by, &g, &st);
		clear_progress(&oc);
		if (r < 0) {
			cli_error("query: %s", strerror(-r));
			rc = EXIT_FAIL;
		} else {
			static const char *const names[] = {"path", "process", "host", "user"};
			struct fr_buf b = {0};
			if (!json)
				fr_buf_printf(&b, "%10s  %-23s  %-23s  %s\n", "COUNT", "FIRST (UTC)", "LAST (UTC)",
					      by == FQ_BY_USER ? "USER" : by == FQ_BY_PATH ? "PATH"
					      : by == FQ_BY_HOST ? "HOST" : "PROCESS");
			for (size_t i = 0; i < fq_groups_count(g); i++) {
				const struct fq_row *row = fq_groups_row(g, i);
				char t0s[40], t1s[40], u[64];
				fr_format_ts(row->first_ns, t0s, sizeof(t0s));
				fr_format_ts(row->last_ns, t1s, sizeof(t1s));
				if (json) {
					if (by == FQ_BY_USER) {
						fr_buf_printf(&b, "{\"auid\":");
						if (row->key)
							fr_buf_printf(&b, "%s,\"user\":", row->key);
						else
							fr_buf_printf(&b, "null,\"user\":");
						if (row->key) {
							const char *nm = user_name((uint32_t)strtoul(row->key, NULL, 10), u, sizeof(u));
							fr_json_str(&b, nm);
						} else {
							fr_json_str(&b, NULL);
						}
					} else {
						fr_buf_printf(&b, "{\"%s\":", names[by]);
						fr_json_str(&b, row->key);
					}
					fr_buf_printf(&b, ",\"count\":%llu,\"first\":\"%s\",\"last\":\"%s\"}\n",
						      (unsigned long long)row->count, t0s, t1s);
				} else {
					t0s[10] = t1s[10] = ' ';
					t0s[23] = t1s[23] = 0;
					const char *key = row->key ? row->key : "-";
					if (by == FQ_BY_USER && row->key)
						key = user_name((uint32_t)strtoul(row->key, NULL, 10), u, sizeof(u));
					fr_buf_printf(&b, "%10llu  %s  %s  %s\n", (unsigned long long)row->count, t0s, t1s, key);
				}
			}
			if (b.data && fwrite(b.data, 1, b.len, stdout) != b.len)
				rc = EXIT_FAIL;
			fr_buf_free(&b);
		}
		fq_groups_free(g);
	} else {
		r = fq_run(q, data, ndata, &qo, on_hit, &oc, &st);
		clear_progress(&oc);
		if (r < 0) {
			cli_error("query: %s", oc.io_error ? strerror(oc.io_error) : strerror(-r));
			rc = EXIT_FAIL;
		}
		if (!json && !oc.n && isatty(fileno(stdout)))
			printf("(no matching events)\n");
		if (r >= 0 && services) {
			struct fq_stats ss = {0};
			r = fq_services(&f, data, ndata, &qo, on_damage, &oc, on_service, &oc, &ss);
			if (r < 0) {
				cli_error("query: services: %s", oc.io_error ? strerror(oc.io_error) : strerror(-r));
				rc = EXIT_FAIL;
			}
			if (!json && !oc.nsvc && isatty(fileno(stdout)))
				printf("\nServices: (no changes)\n");
			fq_stats_add_pass(&st, &ss);
			st.damaged = oc.ndamaged; /* each segment once */
		}
	}
	double dt = now_s() - t0;
	if (st.damaged)
		rc = EXIT_FAIL;
	if (stats)
		fprintf(stderr,
			"{\"seconds\":%.6f,\"segments\":%llu,\"skipped_time\":%llu,\"skipped_host\":%llu,"
			"\"skipped_kind\":%llu,\"skipped_path\":%llu,\"skipped_comm\":%llu,\"decoded\":%llu,"
			"\"session_scanned\":%llu,\"path_scanned\":%llu,\"events\":%llu,\"events_decoded\":%llu,\"matched\":%llu,"
			"\"bytes_read\":%llu,\"damaged\":%llu,\"events_per_second\":%.0f}\n",
			dt, (unsigned long long)st.segments, (unsigned long long)st.skipped_time,
			(unsigned long long)st.skipped_host, (unsigned long long)st.skipped_kind,
			(unsigned long long)st.skipped_path, (unsigned long long)st.skipped_comm,
			(unsigned long long)st.decoded, (unsigned long long)st.session_scanned,
			(unsigned long long)st.path_scanned,
			(unsigned long long)st.events, (unsigned long long)st.events_decoded,
			(unsigned long long)st.matched, (unsigned long long)st.bytes_read,
			(unsigned long long)st.damaged, dt > 0 ? (double)st.events / dt : 0.0);
	fr_buf_free(&oc.b);
	for (size_t i = 0; i < oc.ndamaged; i++)
		free(oc.damaged[i]);
	free(oc.damaged);
	fq_query_free(q);
	fflush(stdout);
	return rc;
}
