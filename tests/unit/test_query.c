/* test_query.c - the query engine against a brute-force scan, in C.
 *
 * Why: the engine skips segments from summaries and dictionaries and scans
 * on threads; any skip that is wrong loses answers silently. A store of
 * generated segments is queried with many filters, 1 and 3 threads, and
 * every answer is compared with a plain scan of every event. */
#include "tap.h"

#include "event/event.h"
#include "flightlog/flightlog.h"
#include "flightlog/fl_internal.h"
#include "fl_testgen.h"
#include "query/query.h"
#include "query/fq_internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void make_store(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_query.%d", (int)getpid());
	struct fl_store *st;
	struct fl_writer *w;
	struct fl_writer_opts wo = {.level = 1};
	if (fl_store_open(dir, &st) < 0 || fl_writer_new(&wo, &w) < 0)
		abort();
	static const char *paths[] = {"/etc/a.conf", "/etc/b.conf", "/var/x", "/tmp/t1", "/tmp/t2", "/etc/cron.d/j"};
	static const char *comms[] = {"bash", "vim", "cat", "cron"};
	char argv[] = "vim\0/etc/a.conf";
	for (int i = 0; i < 6000; i++) {
		struct fr_event ev = {0};
		int seg = i / 1000;
		ev.ts_ns = 1000000000000ull + (uint64_t)i * 1000000ull;
		ev.pid = 100 + (uint32_t)(i % 7);
		ev.tid = ev.pid;
		ev.pstart_ns = 5;
		ev.host = seg % 2 ? "h1" : "h2";
		ev.comm = comms[(i / 3) % 4];
		ev.auid = i % 5 ? 1000 : FR_ID_UNSET;
		ev.ses = i % 5 ? (uint32_t)(1 + i / 2000) : FR_ID_UNSET;
		/* segment 3 has no file events at all, segment 4 only /tmp */
		if (seg == 3) {
			ev.kind = i % 2 ? FR_EV_FORK : FR_EV_EXIT;
		} else if (i % 50 == 0) {
			ev.kind = FR_EV_EXEC;
			ev.path = "/usr/bin/vim";
			ev.argv = argv;
			ev.argv_len = sizeof(argv);
		} else {
			static const uint32_t k[] = {FR_EV_OPEN, FR_EV_MODIFY, FR_EV_RENAME, FR_EV_DELETE, FR_EV_CREATE};
			ev.kind = k[i % 5];
			ev.path = seg == 4 ? paths[3 + i % 2] : paths[i % 6];
			if (ev.kind == FR_EV_RENAME)
				ev.path2 = paths[(i + 1) % 6];
			ev.flags = i % 3 ? 0 : 1;
			ev.error = i % 11 ? 0 : 2;
		}
		if (fl_writer_add(w, &ev) < 0)
			abort();
		if (i % 1000 == 999 && fl_store_append(st, w, NULL) < 0)
			abort();
	}
	fl_writer_free(w);
	fl_store_close(st);
}

/* Remove the sessions block (type 39) from every segment of store d: its
 * table entry goes, the bytes stay unreferenced; CRCs fixed. Returns how
 * many segments had one. */
static int strip_sessions_blocks(const char *d)
{
	int n = 0;
	for (int seq = 1; seq <= 64; seq++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/seg-%012d.frl", d, seq);
		FILE *f = fopen(path, "r+b");
		if (!f)
			continue;
		static uint8_t b[1 << 20];
		size_t len = fread(b, 1, sizeof(b), f);
		uint32_t nb = fl_le32_get(b + 88);
		uint64_t toff = fl_le64_get(b + 96);
		for (uint32_t i = 0; i < nb; i++) {
			if (fl_le32_get(b + toff + i * 40) != 39)
				continue;
			memmove(b + toff + i * 40, b + toff + (i + 1) * 40, (nb - i - 1) * 40);
			nb--;
			fl_le32_put(b + 88, nb);
			fl_le32_put(b + 112, fl_crc32c(0, b + toff, nb * 40));
			b[16] &= (uint8_t)~1u; /* compat flag SESSIONS */
			memset(b + 124, 0, 4);
			fl_le32_put(b + 124, fl_crc32c(0, b, 128));
			rewind(f);
			n += fwrite(b, 1, len, f) == len;
			break;
		}
		fclose(f);
	}
	return n;
}

struct list {
	struct fr_event *v[8000];
	size_t n;
	char *sess[8000];
};

static int collect(const struct fq_hit *h, void *ctx)
{
	struct list *l = ctx;
	l->sess[l->n] = h->session ? strdup(h->session) : NULL;
	l->v[l->n++] = fr_event_dup(h->ev);
	return 0;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i]);
		free(l->sess[i]);
	}
	l->n = 0;
}

/* the reference: every event of every segment, the filter's meaning */
static bool ref_match(const struct fq_filter *f, const struct fr_event *ev)
{
	if (f->kinds && !(f->kinds & (1ull << ev->kind)))
		return false;
	if ((f->since_ns && ev->ts_ns < f->since_ns) || (f->until_ns && ev->ts_ns > f->until_ns))
		return false;
	if (f->has_auid && ev->auid != f->auid)
		return false;
	if (f->has_ses && ev->ses != f->ses)
		return false;
	if ((f->flags & FQ_F_OK_ONLY) && ev->error)
		return false;
	if ((f->flags & FQ_F_READS) && ev->kind == FR_EV_OPEN && (ev->flags & 3))
		return false;
	if (f->nhosts) {
		bool any = false;
		for (size_t i = 0; i < f->nhosts; i++)
			any |= ev->host && !strcmp(ev->host, f->hosts[i]);
		if (!any)
			return false;
	}
	if (f->ncomms) {
		bool any = false;
		for (size_t i = 0; i < f->ncomms; i++)
			any |= ev->comm && !strcmp(ev->comm, f->comms[i]);
		if (!any)
			return false;
	}
	if (f->npaths) {
		bool any = false;
		for (size_t i = 0; i < f->npaths; i++) {
			any |= fq_path_match(&f->paths[i], ev->path);
			if (ev->kind == FR_EV_RENAME || ev->kind == FR_EV_LINK)
				any |= fq_path_match(&f->paths[i], ev->path2);
		}
		if (!any)
			return false;
	}
	if (f->argv_sub && !(ev->comm && !strcmp(ev->comm, "nonexistent")))
		return ev->pid >= 100; /* every process exec'd vim with that argv */
	return true;
}

static size_t reference(const struct fq_filter *f, struct list *l)
{
	struct fl_store *st;
	fl_store_open(dir, &st);
	size_t n;
	const struct fl_store_entry *e = fl_store_entries(st, &n);
	l->n = 0;
	for (size_t i = 0; i < n; i++) {
		void *buf;
		size_t len;
		struct fl_segment *seg;
		fl_store_read(st, e[i].seq, &buf, &len);
		fl_segment_open(buf, len, &seg, NULL);
		free(buf);
		struct fr_event ev;
		while (fl_segment_next(seg, &ev) == 1)
			if (ref_match(f, &ev)) {
				l->sess[l->n] = NULL;
				l->v[l->n++] = fr_event_dup(&ev);
			}
		fl_segment_free(seg);
	}
	fl_store_close(st);
	return l->n;
}

static void check(const char *desc, const struct fq_filter *f, uint64_t want_skipped_min)
{
	struct list *want = calloc(1, sizeof(*want)), *got = calloc(1, sizeof(*got));
	reference(f, want);
	for (unsigned threads = 1; threads <= 3; threads += 2) {
		struct fq_query *q;
		int r = fq_query_new(f, &q);
		struct fq_opts o = {.threads = threads, .flags = FQ_O_SESSIONS};
		struct fq_stats st = {0};
		const char *stores[] = {dir};
		r = r ? r : fq_run(q, stores, 1, &o, collect, got, &st);
		bool same = r == 0 && got->n == want->n;
		for (size_t i = 0; same && i < got->n; i++)
			same = fr_event_compare(got->v[i], want->v[i]) == 0;
		uint64_t skipped = st.skipped_time + st.skipped_host + st.skipped_kind + st.skipped_path + st.skipped_comm;
		ok(same && skipped >= want_skipped_min, "%s (%u threads): %zu events as the brute force, %llu segments skipped",
		   desc, threads, want->n, (unsigned long long)skipped);
		if (!same)
			printf("#   r %d got %zu want %zu\n", r, got->n, want->n);
		list_free(got);
		fq_query_free(q);
	}
	list_free(want);
	free(want);
	free(got);
}

/* ---- services: unit names, files and command lines ---- */

static bool unit_is(const char *in, size_t len, const char *want)
{
	char buf[FQ_UNIT_NAME_MAX + 1];
	int r = fq_unit_name(in, len, buf, sizeof(buf));
	if (!want)
		return r < 0;
	if (r < 0 || strcmp(buf, want)) {
		printf("#   %s -> %d %s (want %s)\n", in, r, r < 0 ? "" : buf, want);
		return false;
	}
	return (size_t)r == strlen(want);
}

static bool file_is(uint32_t kind, const char *path, const char *path2, const char *unit, const char *action)
{
	char u[FQ_UNIT_NAME_MAX + 1];
	const char *a = NULL;
	int r = fq_svc_classify_file(kind, path, path2, &a, u, sizeof(u));
	if (!unit)
		return r == 0;
	if (r != 1 || strcmp(u, unit) || strcmp(a, action)) {
		printf("#   %s -> %d %s %s\n", path, r, r == 1 ? u : "", r == 1 ? a : "");
		return false;
	}
	return true;
}

/* argv given as "a|b|c" ('|' separates), exe may be NULL; the units point
 * into a static blob, valid until the next call */
static int cmd_of(const char *exe, const char *args, struct fq_svc_cmd *c)
{
	static char blob[512];
	size_t n = strlen(args);
	memcpy(blob, args, n + 1);
	for (size_t i = 0; i < n; i++)
		if (blob[i] == '|')
			blob[i] = 0;
	return fq_svc_classify_cmd(exe, blob, (uint32_t)(n + 1), c);
}

static bool cmd_is(const char *exe, const char *args, const char *verb, const char *units)
{
	struct fq_svc_cmd c;
	memset(&c, 0x5a, sizeof(c));
	int r = cmd_of(exe, args, &c);
	if (!verb)
		return r == 0;
	char got[512] = "";
	for (size_t i = 0; r == 1 && i < c.nunits; i++) {
		if (i)
			strcat(got, ",");
		strncat(got, c.unit[i], c.unit_len[i]);
	}
	if (r != 1 || strcmp(c.verb, verb) || strcmp(got, units)) {
		printf("#   %s -> %d %s [%s]\n", args, r, r == 1 ? c.verb : "", got);
		return false;
	}
	return true;
}

static void test_services(void)
{
	/* names */
	ok(unit_is("nginx", 5, "nginx.service") && unit_is("nginx.service", 13, "nginx.service"),
	   "nginx and nginx.service are one unit");
	ok(unit_is("foo.socket", 10, "foo.socket") && unit_is("x.timer", 7, "x.timer") &&
	   unit_is("multi-user.target", 17, "multi-user.target"), "a unit's type is kept");
	ok(unit_is("getty@tty1", 10, "getty@tty1.service") && unit_is("getty@.service", 14, "getty@.service"),
	   "instances and templates");
	ok(unit_is("/etc/systemd/system/foo.service", 31, "foo.service"), "the path of a unit file: its name");
	ok(unit_is("/dev/sda", 8, NULL) && unit_is("a/b", 3, NULL), "other paths are not guessed");
	ok(unit_is("ngin*", 5, "ngin*"), "a glob gets no type");
	ok(unit_is("", 0, NULL) && unit_is(NULL, 0, NULL) && unit_is("--now", 5, NULL) && unit_is(".service", 8, NULL),
	   "empty, an option, no name: -EINVAL");
	ok(unit_is("a b\xff\x01", 5, "a\\x20b\\xff\\x01.service"),
	   "bytes outside the unit alphabet (space, non-UTF-8, control) escaped as \\xNN");
	ok(unit_is("x\0yz", 4, "x.service"), "a NUL ends the name");
	char longname[400];
	memset(longname, 'a', sizeof(longname));
	ok(unit_is(longname, 248, NULL) && unit_is(longname, 400, NULL),
	   "longer than 255 with its type: -ENAMETOOLONG");
	{
		char want[256];
		memset(want, 'a', 247);
		memcpy(want + 247, ".service", 9);
		ok(unit_is(longname, 247, want), "255 exactly is a name");
	}
	char small[8];
	ok(fq_unit_name("nginx", 5, small, sizeof(small)) == -ENAMETOOLONG, "a small buffer: -ENAMETOOLONG");
	char escaped[400];
	memset(escaped, 0xff, 100);
	ok(unit_is(escaped, 100, NULL), "100 non-UTF-8 bytes escape past the limit");

	/* file changes */
	ok(file_is(FR_EV_CREATE, "/etc/systemd/system/x.service", NULL, "x.service", "created") &&
	   file_is(FR_EV_MODIFY, "/lib/systemd/system/x.service", NULL, "x.service", "modified") &&
	   file_is(FR_EV_TRUNCATE, "/usr/lib/systemd/system/x.socket", NULL, "x.socket", "modified") &&
	   file_is(FR_EV_DELETE, "/run/systemd/system/x.timer", NULL, "x.timer", "deleted"),
	   "unit files created, modified, deleted in each unit directory");
	ok(file_is(FR_EV_CREATE, "/home/al/.config/systemd/user/u.service", NULL, "u.service", "created") &&
	   file_is(FR_EV_CREATE, "/etc/systemd/user/u.service", NULL, "u.service", "created"), "user units");
	ok(file_is(FR_EV_SYMLINK, "/etc/systemd/system/multi-user.target.wants/x.service",
		   "/etc/systemd/system/x.service", "x.service", "enabled") &&
	   file_is(FR_EV_DELETE, "/etc/systemd/system/sockets.target.requires/x.socket", NULL, "x.socket", "disabled"),
	   "a link in .wants/ or .requires/: enabled; removed: disabled");
	ok(file_is(FR_EV_SYMLINK, "/etc/systemd/system/x.service", "/dev/null", "x.service", "masked") &&
	   file_is(FR_EV_SYMLINK, "/etc/systemd/system/sshd.service", "/lib/systemd/system/ssh.service", "sshd.service",
		   "linked"), "a link to /dev/null masks; another link is an alias");
	ok(file_is(FR_EV_CREATE, "/etc/systemd/system/x.service.d/override.conf", NULL, "x.service", "modified") &&
	   file_is(FR_EV_DELETE, "/etc/systemd/system/x.service.d/override.conf", NULL, "x.service", "modified"),
	   "a drop-in modifies its unit");
	ok(file_is(FR_EV_RENAME, "/etc/systemd/system/.#x.service", "/etc/systemd/system/x.service", "x.service",
		   "modified") &&
	   file_is(FR_EV_RENAME, "/etc/systemd/system/a.service", "/etc/systemd/system/b.service", "a.service",
		   "renamed") &&
	   file_is(FR_EV_RENAME, "/etc/systemd/system/a.service", "/root/a.service", "a.service", "renamed") &&
	   file_is(FR_EV_LINK, "/root/a.service", "/etc/systemd/system/a.service", "a.service", "created"),
	   "renames: saved over, renamed, moved away; a hard link creates");
	ok(file_is(FR_EV_CREATE, "/etc/init.d/nginx", NULL, "nginx.service", "created") &&
	   file_is(FR_EV_MODIFY, "/etc/init.d/hwclock.sh", NULL, "hwclock.service", "modified") &&
	   file_is(FR_EV_DELETE, "/etc/rc.d/init.d/httpd", NULL, "httpd.service", "deleted"),
	   "init scripts: the unit the sysv generator would name");
	ok(file_is(FR_EV_SYMLINK, "/etc/rc2.d/S01nginx", "../init.d/nginx", "nginx.service", "enabled") &&
	   file_is(FR_EV_DELETE, "/etc/rc5.d/S20nginx", NULL, "nginx.service", "disabled") &&
	   file_is(FR_EV_SYMLINK, "/etc/rc0.d/K01nginx", "../init.d/nginx", NULL, NULL) &&
	   file_is(FR_EV_SYMLINK, "/etc/rc.d/rc3.d/S10httpd", "../init.d/httpd", "httpd.service", "enabled"),
	   "rc links: S links enable, K links are not enablement");
	ok(file_is(FR_EV_CREATE, "/etc/systemd/system/sedAbC12", NULL, NULL, NULL) &&
	   file_is(FR_EV_CREATE, "/etc/systemd/system/a/b/c.service", NULL, NULL, NULL) &&
	   file_is(FR_EV_OPEN, "/etc/systemd/system/x.service", NULL, NULL, NULL) &&
	   file_is(FR_EV_CREATE, "/etc/init.d/.depend.start", NULL, NULL, NULL) &&
	   file_is(FR_EV_CREATE, "/etc/systemd/system/multi-user.target.wants/", NULL, NULL, NULL) &&
	   file_is(FR_EV_CREATE, "/etc/nginx/nginx.conf", NULL, NULL, NULL) &&
	   file_is(FR_EV_SYMLINK, "/etc/rc7.d/S01x", "../init.d/x", NULL, NULL) &&
	   file_is(FR_EV_CREATE, "/etc/rc.local", NULL, NULL, NULL) &&
	   file_is(FR_EV_CREATE, NULL, NULL, NULL, NULL) && file_is(FR_EV_RENAME, NULL, NULL, NULL, NULL) &&
	   file_is(FR_EV_MODIFY, "/etc/systemd/system/multi-user.target.wants/x.service", NULL, NULL, NULL),
	   "not a service change: temporary names, deeper paths, reads, dotfiles, other files, no path");
	ok(file_is(FR_EV_CREATE, "/etc/systemd/system/b\xe9" "d\x01.service", NULL, "b\\xe9d\\x01.service", "created"),
	   "a unit file with non-UTF-8 and control bytes: escaped");
	char u[8];
	const char *a;
	ok(fq_svc_classify_file(FR_EV_CREATE, "/etc/systemd/system/long-name.service", NULL, &a, u, sizeof(u)) ==
	   -ENAMETOOLONG, "a small unit buffer: -ENAMETOOLONG");

	/* commands */
	ok(cmd_is("/usr/bin/systemctl", "systemctl|restart|nginx", "restart", "nginx") &&
	   cmd_is("/usr/bin/systemctl", "systemctl|--root=/|enable|--now|a|b.socket", "enable", "a,b.socket") &&
	   cmd_is("/usr/bin/systemctl", "systemctl|--root|/|mask|x", "mask", "x") &&
	   cmd_is("/usr/bin/systemctl", "systemctl|-s|KILL|kill|x", "kill", "x") &&
	   cmd_is("/usr/bin/systemctl", "systemctl|-q|stop|--|-weird", "stop", "-weird") &&
	   cmd_is("/usr/bin/systemctl", "systemctl|daemon-reload", "daemon-reload", "") &&
	   cmd_is("/usr/bin/systemctl", "systemctl|set-property|x|CPUQuota=5%", "set-property", "x"),
	   "systemctl: verbs, options with values, --, verbs without units");
	ok(cmd_is("/usr/bin/systemctl", "systemctl|status|nginx", NULL, NULL) &&
	   cmd_is("/usr/bin/systemctl", "systemctl", NULL, NULL) &&
	   cmd_is("/usr/bin/systemctl", "systemctl|--type|service|list-units", NULL, NULL) &&
	   cmd_is("/usr/bin/systemctl", "systemctl|is-active|--quiet|x", NULL, NULL),
	   "systemctl: read-only verbs and no verb are no change");
	ok(cmd_is("/usr/bin/dash", "service|nginx|restart", "restart", "nginx") &&
	   cmd_is(NULL, "service|nginx|--full-restart", "restart", "nginx") &&
	   cmd_is(NULL, "service|nginx|status", NULL, NULL) && cmd_is(NULL, "service|--status-all", NULL, NULL) &&
	   cmd_is(NULL, "service|nginx", NULL, NULL),
	   "service NAME ACTION (a script: argv[0] names it); status is no change");
	ok(cmd_is(NULL, "invoke-rc.d|--quiet|--force|nginx|reload", "reload", "nginx") &&
	   cmd_is("/usr/bin/perl", "update-rc.d|-f|nginx|remove", "remove", "nginx") &&
	   cmd_is(NULL, "update-rc.d|nginx|defaults", "defaults", "nginx") &&
	   cmd_is("/usr/bin/dash", "/etc/init.d/nginx|stop", "stop", "nginx") &&
	   cmd_is("/usr/bin/dash", "/etc/init.d/nginx|status", NULL, NULL),
	   "invoke-rc.d, update-rc.d, init scripts");
	ok(cmd_is("/usr/bin/sudo", "sudo|systemctl|restart|x", NULL, NULL) &&
	   cmd_is("/usr/bin/vim", "vim|/etc/systemd/system/x.service", NULL, NULL) &&
	   cmd_is("/usr/bin/systemctl", "", NULL, NULL),
	   "other programs (sudo: its child is the command), empty argv: no command");
	struct fq_svc_cmd c;
	ok(fq_svc_classify_cmd("/usr/bin/systemctl", NULL, 0, &c) == 0, "NULL argv: no command");
	/* a very long command line: 1000 units, each 300 bytes */
	size_t cap = 20 + 1000 * 301;
	char *blob = malloc(cap);
	size_t n = 0;
	memcpy(blob, "systemctl\0restart\0", 18);
	n = 18;
	for (int i = 0; i < 1000; i++) {
		memset(blob + n, 'a' + i % 26, 300);
		n += 300;
		blob[n++] = 0;
	}
	int r = fq_svc_classify_cmd("/usr/bin/systemctl", blob, (uint32_t)n, &c);
	char ub[FQ_UNIT_NAME_MAX + 1];
	ok(r == 1 && c.nunits == FQ_SVC_MAX_UNITS && c.more && c.unit_len[0] == 300 &&
	   fq_unit_name(c.unit[0], c.unit_len[0], ub, sizeof(ub)) == -ENAMETOOLONG,
	   "1000 arguments of 300 bytes: the first units kept, `more` set, each name too long");
	/* truncated blob: the last argument without its NUL */
	r = fq_svc_classify_cmd("/usr/bin/systemctl", "systemctl\0start\0ngi", 19, &c);
	ok(r == 1 && c.nunits == 1 && c.unit_len[0] == 3 && !memcmp(c.unit[0], "ngi", 3),
	   "a truncated last argument is read up to the end of the blob");
	r = cmd_of("/usr/bin/systemctl", "systemctl|restart|ng\xffinx\x1b", &c);
	ok(r == 1 && c.nunits == 1 && fq_unit_name(c.unit[0], c.unit_len[0], ub, sizeof(ub)) > 0 &&
	   !strcmp(ub, "ng\\xffinx\\x1b.service"), "non-UTF-8 unit argument: escaped name");
	ok(cmd_is("/usr/bin/systemctl", "systemctl|re\xffstart|x", NULL, NULL), "a non-UTF-8 verb is no verb");
	free(blob);
	size_t np;
	ok(fq_svc_paths(&np) && np >= 10, "the section's file patterns");
}

/* fq_services over a written store: a command's exit matched across
 * segments, folding, a temporary file renamed over a unit, order, --comm,
 * the limit, two stores, and a store that cannot be opened. */
struct svc_list {
	char line[64][200];
	size_t n;
};

static int svc_collect(const struct fq_service *s, void *ctx)
{
	struct svc_list *l = ctx;
	if (l->n < 64)
		snprintf(l->line[l->n++], 200, "%s %s %s pid=%u n=%llu %s%d", s->store[strlen(s->store) - 1] == 'b' ? "B" : "A",
			 s->action, s->unit ? s->unit : "-", s->ev->pid, (unsigned long long)s->count,
			 !s->command ? "file" : !s->exited ? "noexit" : s->exit_signal ? "sig=" : "exit=",
			 !s->command || !s->exited ? 0 : s->exit_signal ? s->exit_signal : s->exit_code);
	return 0;
}

static void svc_store(const char *d, int variant)
{
	struct fl_store *st;
	struct fl_writer *w;
	struct fl_writer_opts wo = {.level = 1};
	if (fl_store_open(d, &st) < 0 || fl_writer_new(&wo, &w) < 0)
		abort();
	static const char a_enable[] = "systemctl\0enable\0nginx";
	static const char a_restart[] = "systemctl\0restart\0a\0b.socket";
	static const char a_status[] = "systemctl\0status\0nginx";
	static const char a_script[] = "/etc/init.d/foo\0stop";
	uint64_t t = 2000000000000ull;
	struct fr_event ev[] = {
		/* 0: filler so that segments hold something else too */
		{.kind = FR_EV_OPEN, .pid = 9, .comm = "cat", .path = "/etc/hosts"},
		{.kind = FR_EV_EXEC, .pid = 10, .comm = "systemctl", .path = "/usr/bin/systemctl", .argv = a_enable,
		 .argv_len = sizeof(a_enable)},
		{.kind = FR_EV_SYMLINK, .pid = 10, .comm = "systemctl",
		 .path = "/etc/systemd/system/multi-user.target.wants/nginx.service",
		 .path2 = "/lib/systemd/system/nginx.service"},
		{.kind = FR_EV_SYMLINK, .pid = 10, .comm = "systemctl",
		 .path = "/etc/systemd/system/sockets.target.wants/nginx.service", .path2 = "x"},
		{.kind = FR_EV_EXEC, .pid = 11, .comm = "systemctl", .path = "/usr/bin/systemctl", .argv = a_status,
		 .argv_len = sizeof(a_status)},
		{.kind = FR_EV_EXIT, .pid = 11, .comm = "systemctl"},
		{.kind = FR_EV_EXEC, .pid = 12, .comm = "systemctl", .path = "/usr/bin/systemctl", .argv = a_restart,
		 .argv_len = sizeof(a_restart)},
		/* a segment boundary falls here: exits in the next segment */
		{.kind = FR_EV_EXIT, .pid = 10, .comm = "systemctl"},
		{.kind = FR_EV_EXIT, .pid = 12, .comm = "systemctl", .code = 3},
		{.kind = FR_EV_CREATE, .pid = 13, .comm = "sed", .path = "/etc/systemd/system/sedX1"},
		{.kind = FR_EV_RENAME, .pid = 13, .comm = "sed", .path = "/etc/systemd/system/sedX1",
		 .path2 = "/etc/systemd/system/nginx.service"},
		{.kind = FR_EV_CREATE, .pid = 14, .comm = "sed", .path = "/etc/init.d/sedY2"},
		{.kind = FR_EV_RENAME, .pid = 14, .comm = "sed", .path = "/etc/init.d/sedY2", .path2 = "/etc/init.d/foo"},
		{.kind = FR_EV_EXEC, .pid = 15, .comm = "foo", .path = "/usr/bin/dash", .argv = a_script,
		 .argv_len = sizeof(a_script)},
		{.kind = FR_EV_OPEN, .pid = 15, .comm = "foo", .path = "/etc/init.d/foo"},
		{.kind = FR_EV_DELETE, .pid = 16, .comm = "rm", .path = "/etc/systemd/system/nginx.service", .error = 2},
		{.kind = FR_EV_EXIT, .pid = 15, .comm = "foo", .signal = 9},
	};
	size_t n = sizeof(ev) / sizeof(ev[0]);
	for (size_t i = 0; i < n; i++) {
		ev[i].ts_ns = t + i * 1000000ull + (variant ? 500000000ull : 0);
		ev[i].tid = ev[i].pid;
		ev[i].pstart_ns = 77;
		ev[i].host = variant ? "hb" : "ha";
		ev[i].auid = 1000;
		ev[i].ses = 3;
		if (fl_writer_add(w, &ev[i]) < 0)
			abort();
		if ((i == 6 || i == n - 1) && fl_store_append(st, w, NULL) < 0)
			abort();
	}
	fl_writer_free(w);
	fl_store_close(st);
}

static void test_services_run(void)
{
	char da[300], db[300];
	snprintf(da, sizeof(da), "%s-svca", dir);
	snprintf(db, sizeof(db), "%s-svcb", dir);
	svc_store(da, 0);
	svc_store(db, 1);
	const char *stores[] = {da, db};
	struct svc_list *l = calloc(1, sizeof(*l));
	struct fq_filter f = {0};
	struct fq_stats st;
	for (unsigned threads = 1; threads <= 3; threads += 2) {
		l->n = 0;
		struct fq_opts o = {.threads = threads, .flags = FQ_O_SESSIONS};
		int r = fq_services(&f, stores, 2, &o, NULL, NULL, svc_collect, l, &st);
		static const char *const want[] = {
			"A enable nginx.service pid=10 n=1 exit=0",
			"A enabled nginx.service pid=10 n=2 file0",
			"A restart a.service pid=12 n=1 exit=3",
			"A restart b.socket pid=12 n=1 exit=3",
			"A modified nginx.service pid=13 n=1 file0",
			"A modified foo.service pid=14 n=1 file0",
			"A stop foo.service pid=15 n=1 sig=9",
		};
		bool same = r == 0 && l->n == 14;
		for (size_t i = 0; same && i < 7; i++)
			same = !strcmp(l->line[i], want[i]) && l->line[i + 7][0] == 'B' && !strcmp(l->line[i + 7] + 1, want[i] + 1);
		ok(same, "fq_services (%u threads): commands with their exits (across segments, a script's found by "
		   "its comm, killed), links folded, temporary files dropped, store by store in time order", threads);
		for (size_t i = 0; (!same || getenv("VERBOSE")) && i < l->n; i++)
			printf("#   %s\n", l->line[i]);
	}
	ok(st.matched == 14 && st.skipped_comm + st.skipped_path + st.skipped_kind > 0,
	   "stats: 14 results, segments skipped by their dictionaries");
	const char *cm[] = {"sed"};
	f.comms = cm;
	f.ncomms = 1;
	l->n = 0;
	int r = fq_services(&f, stores, 2, &(struct fq_opts){.limit = 3}, NULL, NULL, svc_collect, l, NULL);
	ok(r == 0 && l->n == 3 && strstr(l->line[0], "A modified nginx.service pid=13") &&
	   strstr(l->line[2], "B modified nginx.service pid=13"), "--comm narrows the section, the limit caps it");
	f = (struct fq_filter){.since_ns = 2000000000000ull + 7000000ull, .until_ns = 2000000000000ull + 20000000ull};
	l->n = 0;
	r = fq_services(&f, stores, 1, NULL, NULL, NULL, svc_collect, l, NULL);
	ok(r == 0 && l->n == 3 && strstr(l->line[0], "modified nginx.service"),
	   "a window: only the changes inside it (exits after it matched to nothing)");
	const char *bad[] = {"/nonexistent/store"};
	ok(fq_services(&f, bad, 1, NULL, NULL, NULL, svc_collect, l, NULL) < 0, "a missing store is an error");
	ok(fq_services(&f, stores, 1, NULL, NULL, NULL, NULL, l, NULL) == -EINVAL, "no callback: -EINVAL");
	free(l);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", da, db);
	if (!getenv("KEEP") && system(cmd) != 0)
		printf("# could not remove the services stores\n");
}

/* A tree walk's paths dictionary compresses to less than a filter would
 * take, so its segment carries the match-all filter (FORMAT.md 3): an
 * exact-path query must then ask the dictionary, find the path where it
 * is, and still skip the segments where it is not. */
static void test_match_all_filter(void)
{
	char d[256];
	snprintf(d, sizeof(d), "/tmp/test_query_tree.%d", (int)getpid());
	struct fl_store *st;
	struct fl_writer *w;
	if (fl_store_open(d, &st) < 0 || fl_writer_new(NULL, &w) < 0)
		abort();
	static const char *const roots[] = {"/srv/tree", "/srv/other"};
	for (int seg = 0; seg < 2; seg++) {
		for (int i = 0; i < 5000; i++) {
			char p[64];
			snprintf(p, sizeof(p), "%s/d%02d/file-%05d.txt", roots[seg], i / 100, i);
			struct fr_event ev = {.ts_ns = 2000000000000ull + (uint64_t)(seg * 5000 + i) * 1000,
					      .kind = FR_EV_CREATE, .pid = 300, .tid = 300, .host = "h", .comm = "tar",
					      .path = p};
			if (fl_writer_add(w, &ev) < 0)
				abort();
		}
		if (fl_store_append(st, w, NULL) < 0)
			abort();
	}
	fl_writer_free(w);
	fl_store_close(st);
	/* both segments carry the match-all filter */
	int all = 0;
	for (int seq = 1; seq <= 2; seq++) {
		char f[300];
		snprintf(f, sizeof(f), "%s/seg-%012d.frl", d, seq);
		size_t len;
		uint8_t *buf = gen_read_file(f, &len);
		struct fl_read_opts o = {.columns = FL_COL_NONE};
		struct fl_segment *s;
		if (buf && !fl_segment_open_ex(buf, len, &o, &s, NULL)) {
			all += fl_segment_path_filter_matches_all(s) && fl_segment_may_contain_path(s, "/nowhere");
			fl_segment_free(s);
		}
		free(buf);
	}
	is_int(all, 2, "tree walks: both segments carry the match-all filter");
	static const struct {
		const char *path;
		size_t want;
		uint64_t skipped;
	} cases[] = {
		{"/srv/tree/d07/file-00742.txt", 1, 1},
		{"/srv/other/d49/file-04999.txt", 1, 1},
		{"/srv/tree/d07/file-99999.txt", 0, 2},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct fq_path exact = {FQ_PATH_EXACT, cases[c].path};
		struct fq_filter f = {.paths = &exact, .npaths = 1, .kinds = fq_kinds_changed()};
		struct fq_query *q;
		struct list *got = calloc(1, sizeof(*got));
		struct fq_stats stt = {0};
		const char *stores[] = {d};
		int r = fq_query_new(&f, &q);
		r = r ? r : fq_run(q, stores, 1, NULL, collect, got, &stt);
		ok(r == 0 && got->n == cases[c].want && (!got->n || !strcmp(got->v[0]->path, cases[c].path)) &&
			   stt.skipped_path == cases[c].skipped,
		   "match-all filter: %s: %zu results (want %zu), %llu segments skipped from the dictionary (want %llu)",
		   cases[c].path, got->n, cases[c].want, (unsigned long long)stt.skipped_path,
		   (unsigned long long)cases[c].skipped);
		list_free(got);
		free(got);
		fq_query_free(q);
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	if (!getenv("KEEP") && system(cmd) != 0)
		printf("# could not remove %s\n", d);
}

int main(void)
{
	test_services();
	make_store();
	test_services_run();
	test_match_all_filter();
	struct fq_filter f = {0};
	check("no filter", &f, 0);

	struct fq_path exact = {FQ_PATH_EXACT, "/etc/a.conf"};
	f = (struct fq_filter){.paths = &exact, .npaths = 1, .kinds = fq_kinds_changed(), .flags = FQ_F_OK_ONLY};
	check("who-changed exact (rename's new name too)", &f, 1);

	struct fq_path glob = {FQ_PATH_GLOB, "/etc/*.conf"};
	f = (struct fq_filter){.paths = &glob, .npaths = 1};
	check("glob: segments without a matching path are skipped from the dictionary", &f, 1);

	struct fq_path pre = {FQ_PATH_PREFIX, "/etc/cron"};
	f = (struct fq_filter){.paths = &pre, .npaths = 1, .flags = FQ_F_READS, .kinds = 1ull << FR_EV_OPEN};
	check("prefix + reads", &f, 1);

	const char *h1[] = {"h1"};
	f = (struct fq_filter){.hosts = h1, .nhosts = 1, .since_ns = 1000000000000ull + 1500000000ull,
			       .until_ns = 1000000000000ull + 4500000000ull};
	check("host and time: skipped from the summary", &f, 3);

	const char *cron[] = {"cron"};
	f = (struct fq_filter){.comms = cron, .ncomms = 1, .has_auid = true, .auid = 1000};
	check("comm and auid", &f, 0);

	f = (struct fq_filter){.has_ses = true, .ses = 2, .kinds = 1ull << FR_EV_DELETE};
	check("ses and kind", &f, 1);

	f = (struct fq_filter){.argv_sub = "vim /etc/a"};
	check("argv substring", &f, 0);

	/* sessions: HOST-SES-START with START the first event of that ses */
	struct list *got = calloc(1, sizeof(*got));
	struct fq_query *q;
	f = (struct fq_filter){.paths = &exact, .npaths = 1, .since_ns = 1000000000000ull + 5000000000ull};
	fq_query_new(&f, &q);
	struct fq_opts o = {.flags = FQ_O_SESSIONS};
	const char *stores[] = {dir};
	struct fq_stats st;
	fq_run(q, stores, 1, &o, collect, got, &st);
	bool sess_ok = got->n > 0;
	for (size_t i = 0; i < got->n; i++)
		if (got->v[i]->ses != FR_ID_UNSET)
			sess_ok &= got->sess[i] && !strcmp(got->sess[i], "h1-3-1005");
	ok(sess_ok && st.session_scanned > 0, "session ids resolved through skipped segments (%llu scanned)",
	   (unsigned long long)st.session_scanned);
	fq_query_free(q);

	/* the same changes query, with and without the segments' sessions
	 * blocks (as written before 2026-11-22): the ids then come from a
	 * decode of every event, and must be the same */
	f.kinds = (1ull << FR_EV_MODIFY) | (1ull << FR_EV_RENAME) | (1ull << FR_EV_DELETE) | (1ull << FR_EV_CREATE);
	struct list *with = calloc(1, sizeof(*with)), *without = calloc(1, sizeof(*without));
	fq_query_new(&f, &q);
	fq_run(q, stores, 1, &o, collect, with, &st);
	int stripped = strip_sessions_blocks(dir);
	fq_run(q, stores, 1, &o, collect, without, &st);
	bool same = with->n > 0 && with->n == without->n && stripped == 6;
	for (size_t i = 0; same && i < with->n; i++)
		same = !fr_event_compare(with->v[i], without->v[i]) && with->sess[i] && without->sess[i] &&
		       !strcmp(with->sess[i], without->sess[i]);
	ok(same, "changes query: same events and session ids with and without sessions blocks (%zu, %d stripped)",
	   with->n, stripped);
	list_free(with);
	list_free(without);
	free(with);
	free(without);
	list_free(got);
	fq_query_free(q);

	/* count */
	f = (struct fq_filter){.kinds = 1ull << FR_EV_OPEN};
	fq_query_new(&f, &q);
	struct fq_groups *g = NULL;
	int r = fq_count(q, stores, 1, NULL, FQ_BY_PATH, &g, &st);
	uint64_t total = 0;
	for (size_t i = 0; i < fq_groups_count(g); i++)
		total += fq_groups_row(g, i)->count;
	struct list *want = calloc(1, sizeof(*want));
	is_int(r == 0 ? (long long)total : -1, (long long)reference(&f, want), "count by path adds up to the events");
	ok(fq_groups_count(g) >= 2 && fq_groups_row(g, 0)->count >= fq_groups_row(g, 1)->count, "rows most first");
	list_free(want);
	free(want);
	fq_groups_free(g);
	fq_query_free(q);
	free(got);

	/* small pieces */
	struct fq_path p = fq_path_parse("/etc/");
	is_int(p.mode, FQ_PATH_PREFIX, "a trailing / is a prefix");
	is_int(fq_path_parse("/etc/*.conf").mode, FQ_PATH_GLOB, "a wildcard is a glob");
	is_int(fq_path_parse("/etc/x").mode, FQ_PATH_EXACT, "else exact");
	char host[64];
	uint32_t ses;
	uint64_t start;
	ok(fq_session_parse("web-1.example-42-1795337015", host, sizeof(host), &ses, &start) == 0 &&
	   !strcmp(host, "web-1.example") && ses == 42 && start == 1795337015, "session id with '-' in the host");
	ok(fq_session_parse("vm-p123-1795337015", host, sizeof(host), &ses, &start) < 0, "a shell session has no ses");
	ok(fq_query_new(&(struct fq_filter){.since_ns = 5, .until_ns = 4}, &q) == -22, "since after until: -EINVAL");
	fq_query_free(NULL);
	fq_groups_free(NULL);
	fq_query_new(&(struct fq_filter){0}, &q);
	const char *missing[] = {"/nonexistent/store"};
	ok(fq_run(q, missing, 1, NULL, collect, NULL, NULL) < 0, "a missing store is an error");
	fq_query_free(q);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (!getenv("KEEP") && system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
