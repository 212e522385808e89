/* cmd_sessions.c - `flightrec sessions` and `flightrec show SESSION`:
 * change windows and their command trees, built from a flight log.
 *
 * Why from the log: the flight log is the durable record, so sessions are
 * rebuilt from it after any restart, by the same builder the server runs. */
#include "cli/cli.h"
#include "event/event.h"
#include "flightlog/flightlog.h"
#include "session/session.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DATA "/var/lib/flightrec/log"

static int feed_segment(struct fl_segment *seg, const char *name, void *arg)
{
	struct fr_session_builder *sb = arg;
	struct fr_event ev;
	int r;
	while ((r = fl_segment_next(seg, &ev)) == 1) {
		r = fr_session_builder_add(sb, &ev);
		if (r < 0)
			return r;
	}
	if (r < 0) {
		char msg[256];
		cli_error("%s: %s", name, fl_error_format(fl_segment_error(seg), msg, sizeof(msg)));
	}
	return 0;
}

static int build(const char *dir, struct fr_session_builder **out, int *damaged)
{
	struct fr_session_builder *sb;
	int r = fr_session_builder_new(&sb);
	if (r < 0)
		return r;
	r = cli_log_each(dir, 0, CLI_LOG_OPEN, feed_segment, sb, damaged);
	if (r < 0) {
		fr_session_builder_free(sb);
		return r;
	}
	*out = sb;
	return 0;
}

/* "2026-11-22", "2026-11-22T10:00:00", "3h", "2d", "90m": UTC ns. */
static int parse_since(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end != s && (*end == 's' || *end == 'm' || *end == 'h' || *end == 'd') && !end[1]) {
		double mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		*out = (uint64_t)now.tv_sec * 1000000000ull - (uint64_t)(v * mult * 1e9);
		return 0;
	}
	struct tm tm = {0};
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || *rest) {
		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!rest || (*rest && strcmp(rest, "Z")))
		return -EINVAL;
	*out = (uint64_t)timegm(&tm) * 1000000000ull;
	return 0;
}

static int resolve_user(const char *u, uint32_t *auid)
{
	char *end;
	unsigned long v = strtoul(u, &end, 10);
	if (!*end && end != u) {
		*auid = (uint32_t)v;
		return 0;
	}
	struct passwd *pw = getpwnam(u);
	if (!pw)
		return -ENOENT;
	*auid = pw->pw_uid;
	return 0;
}

/* ---- --live: follow the log as the recorder writes it ---- */

static volatile sig_atomic_t live_stop;

static void on_live_signal(int sig)
{
	(void)sig;
	live_stop = 1;
}

struct live_state {
	struct fr_session_builder *sb;
	uint64_t next_seq;    /* first segment not fed yet */
	uint64_t journal_seq; /* the segment the fed journal events belong to */
	uint64_t journal_fed; /* events of that journal already fed */
	size_t skip;          /* events to skip in the segment being fed */
	uint8_t *shown;       /* per session: 1 start shown, 2 end shown */
	size_t nshown;
};

static int feed_events(struct live_state *ls, struct fl_segment *seg, uint64_t skip, uint64_t *fed)
{
	struct fr_event ev;
	uint64_t i = 0;
	int r;
	while ((r = fl_segment_next(seg, &ev)) == 1) {
		if (i++ < skip)
			continue;
		r = fr_session_builder_add(ls->sb, &ev);
		if (r < 0)
			return r;
	}
	if (fed)
		*fed = i;
	return r < 0 ? r : 0;
}

static int live_poll(struct live_state *ls, const char *dir)
{
	struct fl_store *st;
	int r = fl_store_open(dir, &st);
	if (r < 0)
		return r;
	size_t n;
	const struct fl_store_entry *ents = fl_store_entries(st, &n);
	for (size_t i = 0; i < n && r >= 0; i++) {
		uint64_t seq = ents[i].seq;
		if (seq < ls->next_seq)
			continue;
		void *buf;
		size_t len;
		if (fl_store_read(st, seq, &buf, &len) < 0)
			continue;
		struct fl_segment *seg = NULL;
		if (fl_store_segment_open(st, buf, len, NULL, &seg, NULL) == 0) {
			/* the journal's events of this segment were fed already */
			uint64_t skip = seq == ls->journal_seq ? ls->journal_fed : 0;
			r = feed_events(ls, seg, skip, NULL);
			fl_segment_free(seg);
		}
		free(buf);
		if (seq == ls->journal_seq)
			ls->journal_seq = ls->journal_fed = 0;
		ls->next_seq = seq + 1;
		ents = fl_store_entries(st, &n);
	}
	/* the open segment, from its journal */
	void *buf;
	size_t len;
	uint64_t jseq;
	if (r >= 0 && fl_store_journal_image(st, &buf, &len, &jseq) == 0) {
		if (jseq >= ls->next_seq) {
			if (jseq != ls->journal_seq) {
				ls->journal_seq = jseq;
				ls->journal_fed = 0;
			}
			struct fl_segment *seg = NULL;
			if (fl_segment_open(buf, len, &seg, NULL) == 0) {
				uint64_t total = 0;
				r = feed_events(ls, seg, ls->journal_fed, &total);
				ls->journal_fed = total;
				fl_segment_free(seg);
			}
		}
		free(buf);
	}
	fl_store_close(st);
	return r;
}

static int live_print(struct live_state *ls, bool json, bool by_user, uint32_t auid)
{
	size_t n = fr_session_count(ls->sb);
	if (n > ls->nshown) {
		uint8_t *p = realloc(ls->shown, n);
		if (!p)
			return -ENOMEM;
		memset(p + ls->nshown, 0, n - ls->nshown);
		ls->shown = p;
		ls->nshown = n;
	}
	struct fr_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		const struct fr_session *s = fr_session_at(ls->sb, i);
		struct fr_session_summary sum;
		fr_session_summarize(s, &sum);
		if (by_user && sum.auid != auid)
			continue;
		int want = sum.end_ns ? 2 : 1;
		while (ls->shown[i] < want) {
			ls->shown[i]++;
			const char *what = ls->shown[i] == 1 ? "start" : "end";
			if (json) {
				fr_buf_printf(&b, "{\"change\":\"%s\",\"session\":", what);
				fr_session_summary_json(s, &b);
				fr_buf_append(&b, "}\n", 2);
			} else {
				char t[40], tty[32];
				fr_format_ts(ls->shown[i] == 1 ? sum.start_ns : sum.end_ns, t, sizeof(t));
				fr_buf_printf(&b, "%.19s %-5s %s auid %d tty %s, %u commands, %u with side effects%s\n", t,
					      what, sum.id, sum.auid == FR_ID_UNSET ? -1 : (int)sum.auid,
					      fr_tty_name(sum.tty, tty, sizeof(tty)) ? tty : "-", sum.commands,
					      sum.commands_with_effects, sum.complete ? "" : " (events lost)");
			}
		}
	}
	if (b.data) {
		fputs(b.data, stdout);
		fflush(stdout);
	}
	fr_buf_free(&b);
	return 0;
}

static int live(const char *dir, bool json, bool by_user, uint32_t auid)
{
	struct live_state ls = {.next_seq = 1};
	int r = fr_session_builder_new(&ls.sb);
	if (r < 0)
		return EXIT_FAIL;
	struct sigaction sa = {0};
	sa.sa_handler = on_live_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!live_stop) {
		r = live_poll(&ls, dir);
		if (r < 0) {
			cli_error("sessions: %s: %s", dir, strerror(-r));
			break;
		}
		r = live_print(&ls, json, by_user, auid);
		if (r < 0)
			break;
		for (int i = 0; i < 10 && !live_stop; i++)
			usleep(100000);
	}
	free(ls.shown);
	fr_session_builder_free(ls.sb);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static void sessions_help(void)
{
	printf("usage: flightrec sessions [--data DIR] [--json] [--live] [--since T] [--user U]\n\n"
	       "List the change windows found in a flight log: every login (ssh,\n"
	       "console, su -l; anything pam_loginuid gives an audit session) and every\n"
	       "other interactive shell. A session keeps its person's login uid (auid)\n"
	       "through sudo and su.\n\n"
	       "Options:\n"
	       "  --data DIR   the directory `flightrec record --output` writes\n"
	       "               (default " DEFAULT_DATA ")\n"
	       "  --json       one JSON object per session (docs/EVENTS.md)\n"
	       "  --live       follow the log while `flightrec record` writes it: print\n"
	       "               each session when it starts and when it ends (within\n"
	       "               about a second), until Ctrl-C. With --json, one line\n"
	       "               {\"change\": \"start\"|\"end\", \"session\": {...}} each\n"
	       "  --since T    sessions active since T: 2026-11-22, 2026-11-22T10:00:00,\n"
	       "               or a duration back from now: 90m, 3h, 7d\n"
	       "  --user U     sessions of this login user (name or uid)\n\n"
	       "Columns: id, user (auid), tty, client, start, end (open: still running),\n"
	       "commands / with side effects, and '!' when events were lost.\n\n"
	       "Exit status: 0 ok, 1 the log could not be read, 2 usage error.\n");
}

int cmd_sessions(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
		{"since", required_argument, NULL, 's'}, {"user", required_argument, NULL, 'u'},
		{"live", no_argument, NULL, 'l'},        {"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = DEFAULT_DATA;
	bool json = false, follow = false;
	uint64_t since = 0;
	uint32_t auid = FR_ID_UNSET;
	bool by_user = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'l':
			follow = true;
			break;
		case 's':
			if (parse_since(optarg, &since) < 0) {
				cli_error("sessions: --since needs a date (2026-11-22[T10:00:00]) or a duration (3h), not '%s'",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case 'u':
			if (resolve_user(optarg, &auid) < 0) {
				cli_error("sessions: no such user '%s'", optarg);
				return EXIT_USAGE;
			}
			by_user = true;
			break;
		case 'h':
			sessions_help();
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'flightrec sessions --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cli_error("sessions: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (follow)
		return live(dir, json, by_user, auid);
	struct timespec nowts;
	clock_gettime(CLOCK_REALTIME, &nowts);
	uint64_t now_ns = (uint64_t)nowts.tv_sec * 1000000000ull + (uint64_t)nowts.tv_nsec;
	struct fr_session_builder *sb;
	int damaged = 0;
	int r = build(dir, &sb, &damaged);
	if (r < 0)
		return EXIT_FAIL;
	struct fr_buf b = {0};
	if (!json)
		fr_buf_printf(&b, "%-28s %-10s %-7s %-16s %-19s %-19s %s\n", "ID", "USER", "TTY", "CLIENT", "START",
			      "END", "CMDS/EFFECTS");
	for (size_t i = 0; i < fr_session_count(sb); i++) {
		const struct fr_session *s = fr_session_at(sb, i);
		struct fr_session_summary sum;
		fr_session_summarize(s, &sum);
		if (by_user && sum.auid != auid)
			continue;
		if (since && (sum.end_ns ? sum.end_ns < since : since > now_ns))
			continue; /* not active at or after T */
		if (json) {
			fr_session_summary_json(s, &b);
			fr_buf_append(&b, "\n", 1);
			continue;
		}
		char user[64] = "?", tty[32], client[64] = "-", t0[40], t1[40] = "(open)";
		if (sum.auid != FR_ID_UNSET) {
			struct passwd *pw = getpwuid(sum.auid);
			snprintf(user, sizeof(user), "%s", pw ? pw->pw_name : "");
			if (!pw)
				snprintf(user, sizeof(user), "%u", sum.auid);
		}
		if (sum.client.family == 4)
			snprintf(client, sizeof(client), "%u.%u.%u.%u", sum.client.bytes[0], sum.client.bytes[1],
				 sum.client.bytes[2], sum.client.bytes[3]);
		else if (sum.client.family == 6)
			snprintf(client, sizeof(client), "ipv6");
		fr_format_ts(sum.start_ns, t0, sizeof(t0));
		if (sum.end_ns)
			fr_format_ts(sum.end_ns, t1, sizeof(t1));
		fr_buf_printf(&b, "%-28s %-10s %-7s %-16s %-19.19s %-19.19s %u/%u%s\n", sum.id, user,
			      fr_tty_name(sum.tty, tty, sizeof(tty)) ? tty : "-", client, t0, t1, sum.commands,
			      sum.commands_with_effects, sum.complete ? "" : " !");
	}
	if (b.data)
		fputs(b.data, stdout);
	fr_buf_free(&b);
	fr_session_builder_free(sb);
	return damaged ? EXIT_FAIL : EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, 'a'},         {"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = DEFAULT_DATA;
	bool json = false, all = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "ah", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			printf("usage: flightrec show SESSION [--data DIR] [--all] [--json]\n\n"
			       "Print a session's tree: each command line as typed, with its time and\n"
			       "exit status; under it the processes it started, and under each\n"
			       "process its side effects (files, directories, ports, connections,\n"
			       "signals). Commands that changed state are red on a terminal.\n\n"
			       "  --data DIR  the flight log (default " DEFAULT_DATA ")\n"
			       "  --all       also show commands with no side effects (ls, cd, grep)\n"
			       "  --json      {\"session\", \"commands\", \"snapshots\"} (docs/EVENTS.md)\n\n"
			       "Exit status: 0 ok, 1 no such session or unreadable log, 2 usage error.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'flightrec show --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("show: give one session id (see 'flightrec sessions')");
		return EXIT_USAGE;
	}
	struct fr_session_builder *sb;
	int damaged = 0;
	if (build(dir, &sb, &damaged) < 0)
		return EXIT_FAIL;
	const struct fr_session *s = fr_session_find(sb, argv[optind]);
	if (!s) {
		cli_error("show: no session '%s' in %s (see 'flightrec sessions --data %s')", argv[optind], dir, dir);
		fr_session_builder_free(sb);
		return EXIT_FAIL;
	}
	struct fr_buf b = {0};
	int r = json ? fr_session_tree_json(s, all, &b) : fr_session_tree_text(s, all, cli_color(stdout), &b);
	if (r == 0 && b.data)
		fputs(b.data, stdout);
	fr_buf_free(&b);
	fr_session_builder_free(sb);
	return r < 0 || damaged ? EXIT_FAIL : EXIT_OK;
}
