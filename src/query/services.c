/* services.c - the services section of what-changed: unit files, enablement
 * links and service commands, read out of recorded events.
 *
 * Why: "what changed" on a server is as much "nginx was restarted and
 * foo.service enabled" as a list of files. Nothing new is recorded for it:
 * unit files and links are file changes (the change lane), commands are
 * execs with their argv, their status the process's exit. The scan is a
 * few ordinary engine passes, each narrowed so that the engine skips what
 * it can: the file pass by path (change lane only), the command passes by
 * comm dictionary (systemctl, service, ...) or by path (init scripts), so
 * that exec events are decoded only in segments that ran such a program.
 * Results are folded per process and sorted here, so the engine itself is
 * untouched. */
#include "query/fq_internal.h"
#include "query/query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- unit names ---------------- */

static const char *const unit_types[] = {
	".service", ".socket", ".target", ".timer", ".path", ".mount", ".automount",
	".swap", ".device", ".slice", ".scope",
};

static bool has_unit_type(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(unit_types) / sizeof(unit_types[0]); i++) {
		size_t tl = strlen(unit_types[i]);
		if (n > tl && !memcmp(s + n - tl, unit_types[i], tl))
			return true;
	}
	return false;
}

/* systemd's unit name alphabet (unit-name.h VALID_CHARS) */
static bool unit_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
	       c == '-' || c == '_' || c == '.' || c == '\\' || c == '@';
}

int fq_unit_name(const char *name, size_t len, char *buf, size_t buflen)
{
	if (!name || !len || name[0] == '-')
		return -EINVAL;
	const char *nul = memchr(name, '\0', len);
	if (nul)
		len = (size_t)(nul - name);
	if (!len)
		return -EINVAL;
	if (memchr(name, '/', len)) {
		/* `systemctl enable /path/to/x.service`: the file's name. Other
		 * paths (devices, mount points) name units by escaping, which
		 * is not worth guessing here. */
		const char *slash = name + len;
		while (slash > name && slash[-1] != '/')
			slash--;
		if (name[0] != '/' || !has_unit_type(slash, len - (size_t)(slash - name)))
			return -EINVAL;
		len -= (size_t)(slash - name);
		name = slash;
	}
	if (name[0] == '.')
		return -EINVAL;
	bool glob = false;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '*' || c == '?' || c == '[' || c == ']')
			glob = true;
		if (unit_char(c) || c == '*' || c == '?' || c == '[' || c == ']') {
			if (o + 1 >= buflen)
				return -ENAMETOOLONG;
			buf[o++] = (char)c;
		} else {
			static const char hex[] = "0123456789abcdef";
			if (o + 4 >= buflen)
				return -ENAMETOOLONG;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (!glob && !has_unit_type(buf, o)) {
		if (o + 8 >= buflen)
			return -ENAMETOOLONG;
		memcpy(buf + o, ".service", 8);
		o += 8;
	}
	if (o > FQ_UNIT_NAME_MAX)
		return -ENAMETOOLONG;
	buf[o] = 0;
	return (int)o;
}

/* ---------------- file changes ---------------- */

static const struct fq_path svc_paths[] = {
	{FQ_PATH_PREFIX, "/etc/systemd/system/"},
	{FQ_PATH_PREFIX, "/run/systemd/system/"},
	{FQ_PATH_PREFIX, "/lib/systemd/system/"},
	{FQ_PATH_PREFIX, "/usr/lib/systemd/system/"},
	{FQ_PATH_PREFIX, "/usr/local/lib/systemd/system/"},
	{FQ_PATH_PREFIX, "/etc/systemd/user/"},
	{FQ_PATH_PREFIX, "/run/systemd/user/"},
	{FQ_PATH_PREFIX, "/lib/systemd/user/"},
	{FQ_PATH_PREFIX, "/usr/lib/systemd/user/"},
	{FQ_PATH_GLOB, "*/.config/systemd/user/*"},
	{FQ_PATH_PREFIX, "/etc/init.d/"},
	{FQ_PATH_PREFIX, "/etc/rc.d/init.d/"},
	{FQ_PATH_GLOB, "/etc/rc[0-6S].d/*"},
	{FQ_PATH_GLOB, "/etc/rc.d/rc[0-6].d/*"},
};

const struct fq_path *fq_svc_paths(size_t *n)
{
	*n = sizeof(svc_paths) / sizeof(svc_paths[0]);
	return svc_paths;
}

/* Where a path sits, for a service. */
enum place { P_NONE, P_UNIT, P_DROPIN, P_WANTS, P_INITD, P_RC_START, P_RC_STOP };

static const char *const unit_dirs[] = {
	"/etc/systemd/system/", "/run/systemd/system/", "/lib/systemd/system/", "/usr/lib/systemd/system/",
	"/usr/local/lib/systemd/system/", "/etc/systemd/user/", "/run/systemd/user/", "/lib/systemd/user/",
	"/usr/lib/systemd/user/",
};

/* The part of p after a unit directory, or NULL. */
static const char *in_unit_dir(const char *p)
{
	for (size_t i = 0; i < sizeof(unit_dirs) / sizeof(unit_dirs[0]); i++) {
		size_t n = strlen(unit_dirs[i]);
		if (!strncmp(p, unit_dirs[i], n))
			return p + n;
	}
	const char *h = strstr(p, "/.config/systemd/user/");
	return h ? h + strlen("/.config/systemd/user/") : NULL;
}

static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t l = strlen(suf);
	return n >= l && !memcmp(s + n - l, suf, l);
}

/* Classify a path; the unit (normalised) into unit. */
static enum place place_of(const char *p, char *unit, size_t unitlen)
{
	if (!p)
		return P_NONE;
	const char *rest = in_unit_dir(p);
	if (rest) {
		const char *slash = strchr(rest, '/');
		if (!slash) {
			size_t n = strlen(rest);
			if (!has_unit_type(rest, n) || fq_unit_name(rest, n, unit, unitlen) < 0)
				return P_NONE;
			return P_UNIT;
		}
		if (strchr(slash + 1, '/') || !slash[1])
			return P_NONE;
		size_t dl = (size_t)(slash - rest);
		if (ends_with(rest, dl, ".d")) {
			/* drop-in: foo.service.d/override.conf */
			if (!has_unit_type(rest, dl - 2) || fq_unit_name(rest, dl - 2, unit, unitlen) < 0)
				return P_NONE;
			return P_DROPIN;
		}
		if (ends_with(rest, dl, ".wants") || ends_with(rest, dl, ".requires") ||
		    ends_with(rest, dl, ".upholds")) {
			const char *u = slash + 1;
			size_t n = strlen(u);
			if (!has_unit_type(u, n) || fq_unit_name(u, n, unit, unitlen) < 0)
				return P_NONE;
			return P_WANTS;
		}
		return P_NONE;
	}
	const char *name = NULL;
	if (!strncmp(p, "/etc/init.d/", 12))
		name = p + 12;
	else if (!strncmp(p, "/etc/rc.d/init.d/", 17))
		name = p + 17;
	if (name) {
		size_t n = strlen(name);
		if (!n || name[0] == '.' || strchr(name, '/'))
			return P_NONE;
		/* systemd's sysv generator names /etc/init.d/x.sh x.service */
		if (ends_with(name, n, ".sh") && n > 3)
			n -= 3;
		return fq_unit_name(name, n, unit, unitlen) < 0 ? P_NONE : P_INITD;
	}
	/* /etc/rcN.d/S01name, /etc/rc.d/rcN.d/K01name */
	const char *d = !strncmp(p, "/etc/rc.d/rc", 12) ? p + 12 : !strncmp(p, "/etc/rc", 7) ? p + 7 : NULL;
	if (!d || !((d[0] >= '0' && d[0] <= '6') || d[0] == 'S') || strncmp(d + 1, ".d/", 3))
		return P_NONE;
	const char *l = d + 4;
	if ((l[0] != 'S' && l[0] != 'K') || l[1] < '0' || l[1] > '9')
		return P_NONE;
	const char *nm = l + 1;
	while (*nm >= '0' && *nm <= '9')
		nm++;
	size_t n = strlen(nm);
	if (!n || strchr(nm, '/'))
		return P_NONE;
	if (ends_with(nm, n, ".sh") && n > 3)
		n -= 3;
	if (fq_unit_name(nm, n, unit, unitlen) < 0)
		return P_NONE;
	return l[0] == 'S' ? P_RC_START : P_RC_STOP;
}

/* A name appears (create, link, symlink, the new name of a rename). */
static const char *appeared(enum place pl, bool symlink_to_null, bool symlink, bool by_rename)
{
	switch (pl) {
	case P_UNIT:
		if (symlink)
			return symlink_to_null ? "masked" : "linked";
		return by_rename ? "modified" : "created";
	case P_INITD:
		return by_rename ? "modified" : "created";
	case P_DROPIN:
		return "modified";
	case P_WANTS:
	case P_RC_START:
		return "enabled";
	default:
		return NULL;
	}
}

/* A name goes (delete, the old name of a rename). */
static const char *went(enum place pl)
{
	switch (pl) {
	case P_UNIT:
	case P_INITD:
		return "deleted";
	case P_DROPIN:
		return "modified";
	case P_WANTS:
	case P_RC_START:
		return "disabled";
	default:
		return NULL;
	}
}

int fq_svc_classify_file(uint32_t kind, const char *path, const char *path2, const char **action, char *unit,
			 size_t unitlen)
{
	char u1[FQ_UNIT_NAME_MAX + 1], u2[FQ_UNIT_NAME_MAX + 1];
	const char *a = NULL, *u = NULL;
	switch (kind) {
	case FR_EV_CREATE:
	case FR_EV_SYMLINK: {
		enum place pl = place_of(path, u1, sizeof(u1));
		bool to_null = kind == FR_EV_SYMLINK && path2 && !strcmp(path2, "/dev/null");
		a = appeared(pl, to_null, kind == FR_EV_SYMLINK, false);
		u = u1;
		break;
	}
	case FR_EV_LINK: /* path2 is the new name */
		a = appeared(place_of(path2, u1, sizeof(u1)), false, false, false);
		u = u1;
		break;
	case FR_EV_MODIFY:
	case FR_EV_TRUNCATE: {
		enum place pl = place_of(path, u1, sizeof(u1));
		a = pl == P_UNIT || pl == P_INITD || pl == P_DROPIN ? "modified" : NULL;
		u = u1;
		break;
	}
	case FR_EV_DELETE:
		a = went(place_of(path, u1, sizeof(u1)));
		u = u1;
		break;
	case FR_EV_RENAME: {
		enum place from = place_of(path, u1, sizeof(u1));
		enum place to = place_of(path2, u2, sizeof(u2));
		if ((from == P_UNIT || from == P_INITD) && (to == P_UNIT || to == P_INITD) && strcmp(u1, u2)) {
			a = "renamed"; /* one unit's file became another's */
			u = u1;
		} else if (to != P_NONE) {
			/* how editors and sed -i save: a temporary file renamed
			 * over the name (whether it existed is not recorded) */
			a = appeared(to, false, false, true);
			u = u2;
		} else if (from == P_UNIT || from == P_INITD) {
			a = "renamed"; /* moved away: path2 says where */
			u = u1;
		} else {
			a = went(from);
			u = u1;
		}
		break;
	}
	default:
		break;
	}
	if (!a)
		return 0;
	size_t n = strlen(u);
	if (n + 1 > unitlen)
		return -ENAMETOOLONG;
	memcpy(unit, u, n + 1);
	*action = a;
	return 1;
}

/* ---------------- commands ---------------- */

struct arg {
	const char *s;
	uint32_t n;
};

/* Split at most max arguments out of the blob. */
static size_t split_argv(const char *argv, uint32_t len, struct arg *v, size_t max)
{
	size_t n = 0;
	uint32_t i = 0;
	while (argv && i < len && n < max) {
		const char *e = memchr(argv + i, '\0', len - i);
		uint32_t l = e ? (uint32_t)(e - (argv + i)) : len - i;
		v[n].s = argv + i;
		v[n].n = l;
		n++;
		i += l + 1;
	}
	return n;
}

static bool arg_is(const struct arg *a, const char *s)
{
	size_t l = strlen(s);
	return a->n == l && !memcmp(a->s, s, l);
}

/* The static verb for an argument, from a table; NULL when absent. */
static const char *verb_in(const struct arg *a, const char *const *table)
{
	for (size_t i = 0; table[i]; i++)
		if (arg_is(a, table[i]))
			return table[i];
	return NULL;
}

static const char *base_name(const char *s, size_t n, size_t *bl)
{
	const char *b = s + n;
	while (b > s && b[-1] != '/')
		b--;
	*bl = n - (size_t)(b - s);
	return b;
}

static bool name_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(s, want, n);
}

/* systemctl verbs that change something and take units */
static const char *const sc_unit_verbs[] = {
	"start", "stop", "reload", "restart", "try-restart", "reload-or-restart", "try-reload-or-restart",
	"force-reload", "condrestart", "condreload", "condstop", "reload-or-try-restart", "isolate", "kill",
	"clean", "freeze", "thaw", "enable", "disable", "reenable", "preset", "mask", "unmask", "link",
	"revert", "edit", "set-property", "add-wants", "add-requires", "set-default", NULL,
};
/* ... and those that take none */
static const char *const sc_plain_verbs[] = {
	"daemon-reload", "daemon-reexec", "preset-all", "default", "rescue", "emergency", "halt",
	"poweroff", "reboot", "kexec", "soft-reboot", NULL,
};
/* systemctl options that take the next argument as their value */
static const char *const sc_opts_value[] = {
	"--type", "--property", "--signal", "--host", "--machine", "--lines", "--output", "--root", "--image",
	"--kill-whom", "--kill-value", "--job-mode", "--state", "--what", "--timestamp", "--preset-mode",
	"--boot-loader-entry", "--boot-loader-menu", "--reboot-argument", "--message", "--drop-in", "--when",
	"--check-inhibitors", NULL,
};
/* sysv actions that change something (service, invoke-rc.d, init scripts) */
static const char *const sysv_verbs[] = {
	"start", "stop", "restart", "reload", "force-reload", "try-restart", "condrestart",
	"reload-or-restart", "force-stop", NULL,
};
static const char *const updrc_verbs[] = {"defaults", "defaults-disabled", "remove", "enable", "disable", NULL};

static void add_unit(struct fq_svc_cmd *c, const struct arg *a)
{
	if (c->nunits == FQ_SVC_MAX_UNITS) {
		c->more = true;
		return;
	}
	c->unit[c->nunits] = a->s;
	c->unit_len[c->nunits] = a->n;
	c->nunits++;
}

static int parse_systemctl(const struct arg *v, size_t n, struct fq_svc_cmd *c)
{
	const char *verb = NULL;
	bool plain = false, opts_done = false;
	for (size_t i = 1; i < n; i++) {
		const struct arg *a = &v[i];
		if (!opts_done && a->n >= 1 && a->s[0] == '-') {
			if (arg_is(a, "--"))
				opts_done = true;
			else if (a->n > 2 && a->s[1] == '-' && verb_in(a, sc_opts_value))
				i++; /* --root /: its value apart (--root=/ is one) */
			else if (a->n == 2 && strchr("tpPsHMno", a->s[1]))
				i++; /* -t service; -tservice and -fq are one */
			continue;
		}
		if (!verb) {
			verb = verb_in(a, sc_unit_verbs);
			if (!verb) {
				verb = verb_in(a, sc_plain_verbs);
				plain = verb != NULL;
			}
			if (!verb)
				return 0; /* status, show, list-units, a typo: no change */
			continue;
		}
		if (plain)
			continue;
		if (!strcmp(verb, "set-property") && c->nunits)
			continue; /* the rest are PROPERTY=VALUE */
		add_unit(c, a);
	}
	if (!verb)
		return 0;
	c->tool = "systemctl";
	c->verb = verb;
	return 1;
}

/* service NAME ACTION, invoke-rc.d [--options] NAME ACTION */
static int parse_sysv(const struct arg *v, size_t n, struct fq_svc_cmd *c, const char *tool, bool skip_opts)
{
	size_t i = 1;
	if (skip_opts)
		while (i < n && v[i].n > 2 && !memcmp(v[i].s, "--", 2))
			i++;
	if (i + 1 >= n || !v[i].n || v[i].s[0] == '-')
		return 0; /* service --status-all, a name missing */
	const char *verb = arg_is(&v[i + 1], "--full-restart") ? "restart" : verb_in(&v[i + 1], sysv_verbs);
	if (!verb)
		return 0;
	c->tool = tool;
	c->verb = verb;
	add_unit(c, &v[i]);
	return 1;
}

static int parse_update_rc(const struct arg *v, size_t n, struct fq_svc_cmd *c)
{
	size_t i = 1;
	while (i < n && v[i].n >= 2 && v[i].s[0] == '-')
		i++; /* -f, -n */
	if (i + 1 >= n)
		return 0;
	const char *verb = verb_in(&v[i + 1], updrc_verbs);
	if (!verb)
		return 0;
	c->tool = "update-rc.d";
	c->verb = verb;
	add_unit(c, &v[i]);
	return 1;
}

static bool initd_path(const char *s, size_t n, struct arg *name)
{
	const char *dirs[] = {"/etc/init.d/", "/etc/rc.d/init.d/"};
	for (size_t i = 0; i < 2; i++) {
		size_t l = strlen(dirs[i]);
		if (n > l && !memcmp(s, dirs[i], l) && !memchr(s + l, '/', n - l)) {
			name->s = s + l;
			name->n = (uint32_t)(n - l);
			if (name->n > 3 && !memcmp(name->s + name->n - 3, ".sh", 3))
				name->n -= 3;
			return true;
		}
	}
	return false;
}

int fq_svc_classify_cmd(const char *exe, const char *argv, uint32_t argv_len, struct fq_svc_cmd *out)
{
	/* only the arguments a command's meaning needs; units past the cap
	 * set `more` */
	struct arg v[FQ_SVC_MAX_UNITS + 48];
	size_t max = sizeof(v) / sizeof(v[0]);
	size_t n = split_argv(argv, argv_len, v, max);
	bool cut = n == max && fr_argv_count(argv, argv_len) > max;
	if (!n)
		return 0;
	struct fq_svc_cmd c = {0};
	/* the file run names the program; argv[0] is whatever the caller said */
	const char *prog = exe;
	size_t pl = exe ? strlen(exe) : 0;
	struct arg script;
	if (exe && initd_path(exe, pl, &script)) {
		if (n < 2)
			return 0;
		const char *verb = verb_in(&v[1], sysv_verbs);
		if (!verb)
			return 0;
		c.tool = "init.d";
		c.verb = verb;
		add_unit(&c, &script);
		*out = c;
		return 1;
	}
	size_t bl;
	const char *b = prog ? base_name(prog, pl, &bl) : NULL;
	bool known = b && (name_is(b, bl, "systemctl") || name_is(b, bl, "service") ||
			   name_is(b, bl, "invoke-rc.d") || name_is(b, bl, "update-rc.d"));
	if (!known) {
		b = base_name(v[0].s, v[0].n, &bl);
		/* a script's exec path is its interpreter: argv[0] is all there is */
		if (initd_path(v[0].s, v[0].n, &script)) {
			if (n < 2 || !verb_in(&v[1], sysv_verbs))
				return 0;
			c.tool = "init.d";
			c.verb = verb_in(&v[1], sysv_verbs);
			add_unit(&c, &script);
			*out = c;
			return 1;
		}
	}
	int r = 0;
	if (name_is(b, bl, "systemctl"))
		r = parse_systemctl(v, n, &c);
	else if (name_is(b, bl, "service"))
		r = parse_sysv(v, n, &c, "service", false);
	else if (name_is(b, bl, "invoke-rc.d"))
		r = parse_sysv(v, n, &c, "invoke-rc.d", true);
	else if (name_is(b, bl, "update-rc.d"))
		r = parse_update_rc(v, n, &c);
	if (r == 1) {
		c.more |= cut;
		*out = c;
	}
	return r;
}

/* ---------------- the scan ---------------- */

struct entry {
	struct fr_event *ev;
	char *session;
	char *unit;          /* NULL: a command without a unit */
	const char *action;  /* static */
	size_t store;
	uint64_t seq, arrival;
	int rank;            /* at one time: commands, init scripts, files */
	bool command, exited;
	bool dropped;        /* a temporary file renamed over a unit */
	int32_t exit_code, exit_signal;
	uint64_t count;
	size_t next_same_proc; /* the process's next command entry, or SIZE_MAX */
};

enum pass { PASS_TOOLS, PASS_SCRIPT_READS, PASS_SCRIPTS, PASS_FILES };

struct svc {
	const struct fq_filter *base;
	const char *const *stores;
	size_t nstores;
	struct entry *v;
	size_t n, cap;
	uint64_t arrival;
	struct fq_hmap fold;   /* store host pid pstart unit action -> a = entry + 1 */
	struct fq_hmap procs;  /* store host pid pstart -> a = first command entry + 1 */
	struct fq_hmap comms;  /* comms of the init scripts run (for their exits) */
	struct fq_hmap damaged;
	fq_damage_fn damage;
	void *damage_ctx;
	enum pass pass;
	int err;
};

static size_t store_index(const struct svc *S, const char *store)
{
	for (size_t i = 0; i < S->nstores; i++)
		if (S->stores[i] == store)
			return i;
	return 0;
}

/* store, host, pid, pstart[, unit, action] as a key */
static uint32_t proc_key(char *buf, size_t cap, size_t store, const struct fr_event *ev, const char *unit,
			 const char *action)
{
	size_t o = 0;
	uint64_t st = store;
	memcpy(buf, &st, 8);
	o = 8;
	size_t hl = ev->host ? strlen(ev->host) : 0;
	if (hl > 255)
		hl = 255;
	memcpy(buf + o, ev->host ? ev->host : "", hl);
	o += hl;
	buf[o++] = 0;
	memcpy(buf + o, &ev->pid, 4);
	o += 4;
	memcpy(buf + o, &ev->pstart_ns, 8);
	o += 8;
	if (action) {
		size_t ul = unit ? strlen(unit) : 0;
		size_t al = strlen(action);
		if (o + ul + al + 3 > cap)
			ul = cap - o - al - 3;
		buf[o++] = unit ? 1 : 0;
		memcpy(buf + o, unit ? unit : "", ul);
		o += ul;
		buf[o++] = 0;
		memcpy(buf + o, action, al);
		o += al;
	}
	return (uint32_t)o;
}

static int add_entry(struct svc *S, const struct fq_hit *h, const char *unit, const char *action, bool command,
		     int rank)
{
	size_t store = store_index(S, h->store);
	char key[600];
	uint32_t kl = proc_key(key, sizeof(key), store, h->ev, unit, action);
	bool created;
	struct fq_hent *e = fq_hmap_get(&S->fold, key, kl, true, &created);
	if (!e)
		return -ENOMEM;
	if (!created) {
		S->v[e->a - 1].count++;
		return 0;
	}
	if (S->n == S->cap) {
		size_t nc = S->cap ? S->cap * 2 : 32;
		struct entry *v = realloc(S->v, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		S->v = v;
		S->cap = nc;
	}
	struct entry *x = &S->v[S->n];
	memset(x, 0, sizeof(*x));
	x->ev = fr_event_dup(h->ev);
	x->session = h->session ? strdup(h->session) : NULL;
	x->unit = unit ? strdup(unit) : NULL;
	if (!x->ev || (h->session && !x->session) || (unit && !x->unit)) {
		free(x->ev);
		free(x->session);
		free(x->unit);
		return -ENOMEM;
	}
	x->action = action;
	x->store = store;
	x->seq = h->seq;
	x->arrival = S->arrival++;
	x->rank = rank;
	x->command = command;
	x->count = 1;
	x->next_same_proc = SIZE_MAX;
	e->a = ++S->n;
	if (command) {
		kl = proc_key(key, sizeof(key), store, h->ev, NULL, NULL);
		struct fq_hent *p = fq_hmap_get(&S->procs, key, kl, true, &created);
		if (!p)
			return -ENOMEM;
		if (!created)
			x->next_same_proc = p->a - 1;
		p->a = S->n;
	}
	return 0;
}

static int on_exec(struct svc *S, const struct fq_hit *h, int rank)
{
	const struct fr_event *ev = h->ev;
	if (S->base->until_ns && ev->ts_ns > S->base->until_ns)
		return 0; /* the exit pass's slack */
	struct fq_svc_cmd c;
	/* a failed exec ran nothing (often a shell's search along PATH) */
	if (ev->error || fq_svc_classify_cmd(ev->path, ev->argv, ev->argv_len, &c) != 1)
		return 0;
	/* the script pass selects by comm: the tools are the other pass's */
	if ((rank == 1) != !strcmp(c.tool, "init.d"))
		return 0;
	int added = 0;
	for (size_t i = 0; i < c.nunits; i++) {
		char u[FQ_UNIT_NAME_MAX + 1];
		if (fq_unit_name(c.unit[i], c.unit_len[i], u, sizeof(u)) < 0)
			continue; /* the argv keeps what was typed */
		int r = add_entry(S, h, u, c.verb, true, rank);
		if (r < 0)
			return r;
		added++;
	}
	/* an attempt is still reported: without units, or with none valid */
	if (!added) {
		int r = add_entry(S, h, NULL, c.verb, true, rank);
		if (r < 0)
			return r;
	}
	return 0;
}

static void on_exit_ev(struct svc *S, const struct fq_hit *h)
{
	char key[600];
	uint32_t kl = proc_key(key, sizeof(key), store_index(S, h->store), h->ev, NULL, NULL);
	struct fq_hent *p = fq_hmap_get(&S->procs, key, kl, false, NULL);
	for (size_t i = p ? p->a - 1 : SIZE_MAX; i != SIZE_MAX; i = S->v[i].next_same_proc) {
		struct entry *x = &S->v[i];
		if (x->exited)
			continue;
		x->exited = true;
		x->exit_code = h->ev->code;
		x->exit_signal = h->ev->signal;
	}
}

/* What the process that changed the file meant, when it said so: a file a
 * process created and then wrote is "created"; the unit file that
 * `systemctl unmask` deletes is its /dev/null link. */
static const char *file_action(struct svc *S, const struct fq_hit *h, const char *unit, const char *action)
{
	char key[600];
	size_t store = store_index(S, h->store);
	if (!strcmp(action, "modified")) {
		uint32_t kl = proc_key(key, sizeof(key), store, h->ev, unit, "created");
		if (fq_hmap_get(&S->fold, key, kl, false, NULL))
			return "created";
	}
	if (!strcmp(action, "deleted")) {
		uint32_t kl = proc_key(key, sizeof(key), store, h->ev, NULL, NULL);
		struct fq_hent *p = fq_hmap_get(&S->procs, key, kl, false, NULL);
		for (size_t i = p ? p->a - 1 : SIZE_MAX; i != SIZE_MAX; i = S->v[i].next_same_proc)
			if (!strcmp(S->v[i].action, "unmask") && S->v[i].unit && !strcmp(S->v[i].unit, unit))
				return "unmasked";
	}
	return action;
}

/* A rename from a name the same process created (sed -i, editors and
 * package managers write a temporary file, then rename it over the unit's):
 * the temporary name is no service change of its own. */
static bool drop_temporary(struct svc *S, const struct fq_hit *h)
{
	char u[FQ_UNIT_NAME_MAX + 1], key[600];
	const char *a;
	if (fq_svc_classify_file(FR_EV_CREATE, h->ev->path, NULL, &a, u, sizeof(u)) != 1 || strcmp(a, "created"))
		return false;
	uint32_t kl = proc_key(key, sizeof(key), store_index(S, h->store), h->ev, u, "created");
	struct fq_hent *e = fq_hmap_get(&S->fold, key, kl, false, NULL);
	if (!e)
		return false;
	S->v[e->a - 1].dropped = true;
	return true;
}

static int on_hit(const struct fq_hit *h, void *ctx)
{
	struct svc *S = ctx;
	const struct fr_event *ev = h->ev;
	int r = 0;
	switch (S->pass) {
	case PASS_TOOLS:
	case PASS_SCRIPTS:
		if (ev->kind == FR_EV_EXEC)
			r = on_exec(S, h, S->pass == PASS_TOOLS ? 0 : 1);
		else if (ev->kind == FR_EV_EXIT)
			on_exit_ev(S, h);
		break;
	case PASS_SCRIPT_READS:
		/* the shell that runs a script opens it: its comm is the
		 * script's name, which the exec then carries */
		if (ev->comm && !fq_hmap_get(&S->comms, ev->comm, (uint32_t)strlen(ev->comm), true, NULL))
			r = -ENOMEM;
		break;
	case PASS_FILES: {
		char u[FQ_UNIT_NAME_MAX + 1];
		const char *action;
		const char *from = ev->path;
		if (ev->kind == FR_EV_RENAME && drop_temporary(S, h))
			from = ""; /* as if from a name outside the unit directories */
		if (fq_svc_classify_file(ev->kind, from, ev->path2, &action, u, sizeof(u)) == 1)
			r = add_entry(S, h, u, file_action(S, h, u, action), false, 2);
		break;
	}
	}
	if (r < 0)
		S->err = r;
	return r;
}

static void on_damage(const char *file, const char *why, void *ctx)
{
	struct svc *S = ctx;
	bool created;
	/* every pass meets the same damaged segment: say it once */
	if (!fq_hmap_get(&S->damaged, file, (uint32_t)strlen(file), true, &created) || !created)
		return;
	if (S->damage)
		S->damage(file, why, S->damage_ctx);
}

/* One engine pass: f with the pass's kinds, paths and comms. */
static int run_pass(struct svc *S, enum pass pass, struct fq_filter *f, const struct fq_opts *o,
		    struct fq_stats *st)
{
	struct fq_query *q;
	int r = fq_query_new(f, &q);
	if (r < 0)
		return r;
	fq_query_on_damage(q, on_damage, S);
	S->pass = pass;
	struct fq_opts po = {.threads = o ? o->threads : 0, .flags = o ? o->flags : 0};
	struct fq_stats ps = {0};
	r = fq_run(q, S->stores, S->nstores, &po, on_hit, S, &ps);
	fq_query_free(q);
	ps.matched = 0; /* a pass's raw events: the section counts the lines it delivers */
	fq_stats_add_pass(st, &ps);
	return S->err ? S->err : r;
}

/* The user's --comm narrows a pass's own comms: the intersection. */
static size_t comms_and(const struct fq_filter *base, const char *const *mine, size_t n, const char **out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool keep = !base->ncomms;
		for (size_t j = 0; j < base->ncomms && !keep; j++)
			keep = !strcmp(base->comms[j], mine[i]);
		if (keep)
			out[k++] = mine[i];
	}
	return k;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->store != y->store)
		return x->store < y->store ? -1 : 1;
	if (x->ev->ts_ns != y->ev->ts_ns)
		return x->ev->ts_ns < y->ev->ts_ns ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->arrival < y->arrival ? -1 : x->arrival > y->arrival;
}

static void svc_free(struct svc *S)
{
	for (size_t i = 0; i < S->n; i++) {
		free(S->v[i].ev);
		free(S->v[i].session);
		free(S->v[i].unit);
	}
	free(S->v);
	fq_hmap_free(&S->fold);
	fq_hmap_free(&S->procs);
	fq_hmap_free(&S->comms);
	fq_hmap_free(&S->damaged);
}

int fq_services(const struct fq_filter *f, const char *const *stores, size_t nstores, const struct fq_opts *o,
		fq_damage_fn damage, void *damage_ctx, fq_service_fn fn, void *ctx, struct fq_stats *st)
{
	if (!f || (nstores && !stores) || !fn)
		return -EINVAL;
	struct svc S = {.base = f, .stores = stores, .nstores = nstores, .damage = damage, .damage_ctx = damage_ctx};
	struct fq_stats total = {0};
	struct fq_filter pf = *f;
	pf.paths = NULL;
	pf.npaths = 0;
	pf.flags = 0;
	int r = 0;

	/* commands: the programs by name; their exits up to a while after the
	 * window (a restart can take its time) */
	static const char *const tools[] = {"systemctl", "service", "invoke-rc.d", "update-rc.d"};
	const char *comms[4];
	pf.ncomms = comms_and(f, tools, 4, comms);
	pf.comms = comms;
	pf.kinds = (1ull << FR_EV_EXEC) | (1ull << FR_EV_EXIT);
	if (f->until_ns)
		pf.until_ns = f->until_ns + FQ_SVC_EXIT_SLACK_NS;
	if (pf.ncomms)
		r = run_pass(&S, PASS_TOOLS, &pf, o, &total);

	/* init scripts, run directly or by service and invoke-rc.d: the exec
	 * path is the interpreter's and argv[0] is not in any dictionary, but
	 * the shell opens its script. Those readers' comms (the script's name)
	 * then select the execs and exits, from the comms dictionaries. */
	size_t nsp;
	const struct fq_path *sp = fq_svc_paths(&nsp);
	struct fq_path initd[2];
	size_t ninitd = 0;
	for (size_t i = 0; i < nsp; i++)
		if (strstr(sp[i].pattern, "init.d/"))
			initd[ninitd++] = sp[i];
	pf = *f;
	pf.flags = FQ_F_OK_ONLY | FQ_F_READS;
	pf.paths = initd;
	pf.npaths = ninitd;
	pf.kinds = 1ull << FR_EV_OPEN;
	if (!r)
		r = run_pass(&S, PASS_SCRIPT_READS, &pf, o, &total);
	if (!r && S.comms.n) {
		const char **sc = calloc(S.comms.n, sizeof(*sc));
		const char **scu = calloc(S.comms.n, sizeof(*scu));
		if (!sc || !scu) {
			r = -ENOMEM;
		} else {
			size_t k = 0;
			for (size_t i = 0; i < S.comms.cap; i++)
				if (S.comms.v[i].key)
					sc[k++] = S.comms.v[i].key;
			pf = *f;
			pf.paths = NULL;
			pf.npaths = 0;
			pf.flags = 0;
			pf.ncomms = comms_and(f, sc, k, scu);
			pf.comms = scu;
			pf.kinds = (1ull << FR_EV_EXEC) | (1ull << FR_EV_EXIT);
			if (f->until_ns)
				pf.until_ns = f->until_ns + FQ_SVC_EXIT_SLACK_NS;
			if (pf.ncomms)
				r = run_pass(&S, PASS_SCRIPTS, &pf, o, &total);
		}
		free(sc);
		free(scu);
	}

	/* files: successful changes under the unit directories, init.d and
	 * rc links (the change lane only) */
	pf = *f;
	pf.paths = sp;
	pf.npaths = nsp;
	pf.flags = FQ_F_OK_ONLY;
	pf.kinds = (1ull << FR_EV_CREATE) | (1ull << FR_EV_MODIFY) | (1ull << FR_EV_TRUNCATE) |
		   (1ull << FR_EV_DELETE) | (1ull << FR_EV_RENAME) | (1ull << FR_EV_LINK) | (1ull << FR_EV_SYMLINK);
	if (!r)
		r = run_pass(&S, PASS_FILES, &pf, o, &total);

	total.damaged = S.damaged.n;
	if (!r && S.n) {
		qsort(S.v, S.n, sizeof(*S.v), entry_cmp);
		uint64_t limit = o ? o->limit : 0;
		uint64_t sent = 0;
		for (size_t i = 0; i < S.n && !r && (!limit || sent < limit); i++) {
			const struct entry *x = &S.v[i];
			if (x->dropped)
				continue;
			sent++;
			struct fq_service s = {
				.ev = x->ev, .session = x->session, .store = stores[x->store], .unit = x->unit,
				.action = x->action, .command = x->command, .exited = x->exited,
				.exit_code = x->exit_code, .exit_signal = x->exit_signal, .count = x->count,
			};
			total.matched++;
			r = fn(&s, ctx);
		}
	}
	if (st)
		*st = total;
	svc_free(&S);
	return r;
}
