/* session.c - the session builder: events in, sessions with trees out.
 *
 * Why here: one consumer of the event stream that knows about people. It
 * keeps a process table (pid -> node) so that every event finds its process,
 * and a live table of listening ports so that snapshots need no polling: the
 * state at a session's start and end is what the stream says it was.
 *
 * Ownership: the builder owns every node, event copy and session. Nodes of
 * processes outside any session are freed at their exit. */
#include "session/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

/* ---- small growable arrays ---- */

#define VEC(T)                                                                                            \
	struct {                                                                                          \
		T *v;                                                                                     \
		size_t n, cap;                                                                            \
	}

static int vec_grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 8;
	while (c < need)
		c *= 2;
	void *p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

#define VEC_PUSH(vec, x)                                                                                  \
	(vec_grow((void **)&(vec).v, &(vec).cap, (vec).n + 1, sizeof(*(vec).v)) < 0                       \
		 ? -ENOMEM                                                                                \
		 : ((vec).v[(vec).n++] = (x), 0))


/* Events are attributed to command lines by their order, not their times:
 * times are truncated (milliseconds by default), so a line and the effects
 * of the line before it can share a time. Each event the builder takes gets
 * an order key: its time, or one more than the previous key when that is
 * not smaller. Keys stay within the event's time unit but never repeat. */
struct effect {
	struct fr_event *ev;
	uint64_t key;
	bool target_died; /* kill: the target later exited by this signal */
};

struct line {
	struct fr_event *ev;
	uint64_t key;
};

/* ---- the model ---- */



struct node {
	uint32_t pid, ppid;
	uint64_t pstart;
	uint64_t start_ns, end_ns;
	uint64_t start_key;      /* order key of its fork, else start_ns */
	bool exited, outlived, known_start;
	bool was_shell;          /* it exec'd a shell (sh, bash, zsh, ...) */
	int32_t exit_code, exit_signal;
	uint32_t uid, euid, auid, ses, tty;
	char comm[17];
	struct fr_event *exec;   /* last successful exec, or the proc record */
	struct accept_info {
		struct fr_addr addr;
		uint32_t port;
	} last_accept;
	struct fr_session *sess;
	struct node *parent;     /* within the same session only */
	VEC(struct node *) children;
	VEC(struct effect) effects;
	VEC(struct line) lines;
	struct node *hash_next;
};

struct port {
	uint32_t proto, port, pid;
	struct fr_addr addr;
};

struct snapshot {
	bool taken;
	VEC(struct snap_proc {
		uint32_t pid;
		uint64_t pstart;
		char comm[17];
		char *exe;
		uint32_t uid;
	}) procs;
	VEC(struct port) ports;
};

struct fr_session {
	char id[96];
	char *host;
	uint32_t ses, auid, tty;
	uint64_t start_ns, end_ns;
	bool started_before; /* it existed when recording started */
	uint64_t lost;
	struct node *leader;
	struct node *shell;  /* the login shell: the first interactive shell */
	struct fr_addr client;
	uint32_t client_port;
	VEC(struct node *) nodes; /* every process of the session */
	struct snapshot snap_start, snap_end;
};

struct fr_session_builder {
	struct node *table[4096]; /* live processes by pid */
	VEC(struct fr_session *) sessions;
	VEC(struct port) ports;   /* listening now */
	VEC(struct node *) live;  /* all live nodes, for snapshots */
	VEC(struct kill_ref {
		struct node *node;
		size_t effect;
	}) kills;                 /* kill effects whose target has not exited */
	uint64_t last_key;        /* order key of the last event taken */
};

static struct node **slot(struct fr_session_builder *sb, uint32_t pid)
{
	return &sb->table[pid & 4095];
}

static struct node *lookup(struct fr_session_builder *sb, uint32_t pid)
{
	for (struct node *n = *slot(sb, pid); n; n = n->hash_next)
		if (n->pid == pid)
			return n;
	return NULL;
}

static void unlink_node(struct fr_session_builder *sb, struct node *node)
{
	for (struct node **pp = slot(sb, node->pid); *pp; pp = &(*pp)->hash_next)
		if (*pp == node) {
			*pp = node->hash_next;
			break;
		}
	for (size_t i = 0; i < sb->live.n; i++)
		if (sb->live.v[i] == node) {
			sb->live.v[i] = sb->live.v[--sb->live.n];
			break;
		}
	node->hash_next = NULL;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->exec);
	for (size_t i = 0; i < n->effects.n; i++)
		free(n->effects.v[i].ev);
	for (size_t i = 0; i < n->lines.n; i++)
		free(n->lines.v[i].ev);
	free(n->effects.v);
	free(n->lines.v);
	free(n->children.v);
	free(n);
}

static int add_live(struct fr_session_builder *sb, struct node *n)
{
	int r = VEC_PUSH(sb->live, n);
	if (r < 0)
		return r;
	n->hash_next = *slot(sb, n->pid);
	*slot(sb, n->pid) = n;
	return 0;
}

static struct node *node_new(const struct fr_event *ev, uint32_t pid)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->pid = pid;
	n->ppid = ev->ppid;
	n->uid = ev->uid;
	n->euid = ev->euid;
	n->auid = ev->auid;
	n->ses = ev->ses;
	n->tty = ev->tty;
	n->pstart = ev->pstart_ns;
	n->start_ns = ev->pstart_ns ? ev->pstart_ns : ev->ts_ns;
	n->start_key = n->start_ns;
	snprintf(n->comm, sizeof(n->comm), "%s", ev->comm ? ev->comm : "");
	return n;
}

/* Is the event's process the node we hold for its pid? A different start
 * time means the pid was reused (we missed the exit). */
static struct node *node_for(struct fr_session_builder *sb, const struct fr_event *ev)
{
	struct node *n = lookup(sb, ev->pid);
	if (n && ev->pstart_ns && n->pstart && n->pstart != ev->pstart_ns) {
		unlink_node(sb, n);
		if (!n->sess)
			node_free(n);
		n = NULL;
	}
	if (n) {
		if (!n->pstart)
			n->pstart = ev->pstart_ns;
		return n;
	}
	n = node_new(ev, ev->pid);
	if (!n)
		return NULL;
	if (add_live(sb, n) < 0) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* ---- sessions ---- */

static void take_snapshot(struct fr_session_builder *sb, struct snapshot *snap)
{
	if (snap->taken)
		return;
	snap->taken = true;
	for (size_t i = 0; i < sb->live.n; i++) {
		struct node *n = sb->live.v[i];
		struct snap_proc p = {.pid = n->pid, .pstart = n->pstart, .uid = n->uid};
		memcpy(p.comm, n->comm, sizeof(p.comm));
		const char *exe = n->exec ? n->exec->exe : NULL;
		p.exe = exe ? strdup(exe) : NULL;
		if (VEC_PUSH(snap->procs, p) < 0)
			free(p.exe);
	}
	for (size_t i = 0; i < sb->ports.n; i++)
		VEC_PUSH(snap->ports, sb->ports.v[i]);
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->procs.n; i++)
		free(s->procs.v[i].exe);
	free(s->procs.v);
	free(s->ports.v);
}

static struct fr_session *session_new(struct fr_session_builder *sb, const struct fr_event *ev, struct node *leader,
				      bool by_ses)
{
	struct fr_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->host = strdup(ev->host ? ev->host : "");
	s->ses = by_ses ? ev->ses : FR_ID_UNSET;
	s->auid = ev->auid;
	s->leader = leader;
	s->started_before = ev->kind == FR_EV_PROC;
	s->start_ns = s->started_before ? leader->start_ns : ev->ts_ns;
	s->client = leader->last_accept.addr;
	s->client_port = leader->last_accept.port;
	if (by_ses)
		snprintf(s->id, sizeof(s->id), "%s-%u-%llu", s->host, s->ses,
			 (unsigned long long)(s->start_ns / 1000000000ull));
	else
		snprintf(s->id, sizeof(s->id), "%s-p%u-%llu", s->host, leader->pid,
			 (unsigned long long)(s->start_ns / 1000000000ull));
	if (!s->host || VEC_PUSH(sb->sessions, s) < 0) {
		free(s->host);
		free(s);
		return NULL;
	}
	take_snapshot(sb, &s->snap_start);
	return s;
}

static struct fr_session *open_session_by_ses(struct fr_session_builder *sb, const char *host, uint32_t ses)
{
	for (size_t i = sb->sessions.n; i-- > 0;) {
		struct fr_session *s = sb->sessions.v[i];
		if (s->ses == ses && !s->end_ns && !strcmp(s->host, host ? host : ""))
			return s;
	}
	return NULL;
}

static int join(struct fr_session *s, struct node *n)
{
	if (n->sess == s)
		return 0;
	n->sess = s;
	return VEC_PUSH(s->nodes, n);
}

/* Put the process in the session its `ses` says, starting one if needed. */
static int place(struct fr_session_builder *sb, struct node *n, const struct fr_event *ev)
{
	if (ev->ses == FR_ID_UNSET || (n->sess && n->sess->ses == ev->ses))
		return 0;
	if (ev->kind == FR_EV_LOST || ev->kind == FR_EV_SOCKET)
		return 0;
	struct fr_session *s = open_session_by_ses(sb, ev->host, ev->ses);
	if (!s) {
		s = session_new(sb, ev, n, true);
		if (!s)
			return -ENOMEM;
	}
	n->ses = ev->ses;
	n->auid = ev->auid;
	if (n->sess && n->parent && n->parent->sess != s)
		n->parent = NULL;
	return join(s, n);
}

static void end_session(struct fr_session_builder *sb, struct fr_session *s, uint64_t ts)
{
	if (s->end_ns)
		return;
	s->end_ns = ts;
	take_snapshot(sb, &s->snap_end);
	for (size_t i = 0; i < s->nodes.n; i++)
		if (!s->nodes.v[i]->exited && s->nodes.v[i] != s->leader)
			s->nodes.v[i]->outlived = true;
}

/* ---- events ---- */

/* Devices and per-process files are not persistent state: a terminal, a
 * pty, /dev/null. (/proc/sys and /sys are kept: writing them reconfigures
 * the kernel.) */
static bool stateless_path(const char *p)
{
	if (!p)
		return false;
	if (!strncmp(p, "/dev/", 5))
		return strncmp(p, "/dev/shm/", 9) && strncmp(p, "/dev/mqueue/", 12);
	if (!strncmp(p, "/proc/", 6))
		return strncmp(p, "/proc/sys/", 10) != 0;
	return false;
}

static bool is_shell(const char *path)
{
	static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "tcsh", "csh", "ash"};
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path;
	for (size_t i = 0; base && i < sizeof(shells) / sizeof(shells[0]); i++)
		if (!strcmp(base, shells[i]))
			return true;
	return false;
}

static bool is_effect(const struct fr_event *ev)
{
	if (stateless_path(ev->path))
		return false;
	switch (ev->kind) {
	case FR_EV_OPEN:
		return (ev->flags & 01000) != 0; /* truncating opens: the rest show as modify */
	case FR_EV_KILL: case FR_EV_SETUID: case FR_EV_MODIFY: case FR_EV_CREATE:
	case FR_EV_DELETE: case FR_EV_RENAME: case FR_EV_LINK: case FR_EV_SYMLINK:
	case FR_EV_MKDIR: case FR_EV_RMDIR: case FR_EV_CHMOD: case FR_EV_CHOWN:
	case FR_EV_TRUNCATE: case FR_EV_LISTEN: case FR_EV_UNLISTEN: case FR_EV_CONNECT:
	case FR_EV_ACCEPT:
		return true;
	default:
		return false;
	}
}

/* Does this effect change persistent state? (A failed call, a setuid or a
 * write-open that did not truncate does not.) */
static bool changes_state(const struct effect *e)
{
	const struct fr_event *ev = e->ev;
	if (ev->error)
		return false;
	switch (ev->kind) {
	case FR_EV_SETUID:
		return false;
	case FR_EV_OPEN:
		return (ev->flags & 01000) != 0; /* O_TRUNC */
	default:
		return true;
	}
}

static void port_remove(struct fr_session_builder *sb, const struct fr_event *ev)
{
	for (size_t i = 0; i < sb->ports.n; i++) {
		struct port *p = &sb->ports.v[i];
		if (p->proto == ev->proto && p->port == ev->port && !memcmp(&p->addr, &ev->addr, sizeof(p->addr))) {
			sb->ports.v[i] = sb->ports.v[--sb->ports.n];
			return;
		}
	}
}

static int on_fork(struct fr_session_builder *sb, struct node *parent, const struct fr_event *ev, uint64_t key)
{
	struct node *old = lookup(sb, ev->child_pid);
	if (old) { /* we missed its exit */
		unlink_node(sb, old);
		if (!old->sess)
			node_free(old);
	}
	struct node *c = node_new(ev, ev->child_pid);
	if (!c)
		return -ENOMEM;
	c->ppid = parent->pid;
	c->pstart = 0; /* learnt from its first event */
	c->start_ns = ev->ts_ns;
	c->start_key = key;
	c->known_start = true;
	c->last_accept = parent->last_accept;
	if (parent->exec)
		c->exec = fr_event_dup(parent->exec);
	int r = add_live(sb, c);
	if (r < 0) {
		node_free(c);
		return r;
	}
	if (parent->sess) {
		c->parent = parent;
		r = join(parent->sess, c);
		if (!r)
			r = VEC_PUSH(parent->children, c);
	}
	return r;
}

static void on_exit_event(struct fr_session_builder *sb, struct node *n, const struct fr_event *ev)
{
	n->exited = true;
	n->end_ns = ev->ts_ns;
	n->exit_code = ev->code;
	n->exit_signal = ev->signal;
	/* the signals sent to it: did it die of one? */
	for (size_t i = 0; i < sb->kills.n;) {
		struct effect *ef = &sb->kills.v[i].node->effects.v[sb->kills.v[i].effect];
		if (ef->ev->target_pid != n->pid) {
			i++;
			continue;
		}
		if (ev->signal && ef->ev->signal == ev->signal)
			ef->target_died = true;
		sb->kills.v[i] = sb->kills.v[--sb->kills.n];
	}
	unlink_node(sb, n);
	if (n->sess && n->sess->leader == n)
		end_session(sb, n->sess, ev->ts_ns);
	if (!n->sess)
		node_free(n);
}

int fr_session_builder_add(struct fr_session_builder *sb, const struct fr_event *ev)
{
	int r = 0;
	uint64_t key = ev->ts_ns > sb->last_key ? ev->ts_ns : sb->last_key + 1;
	sb->last_key = key;
	if (ev->kind == FR_EV_LOST) {
		for (size_t i = 0; i < sb->sessions.n; i++)
			if (!sb->sessions.v[i]->end_ns)
				sb->sessions.v[i]->lost += ev->count;
		return 0;
	}
	if (ev->kind == FR_EV_GAP)
		return 0;
	if (ev->kind == FR_EV_SOCKET) {
		struct port p = {.proto = ev->proto, .port = ev->port, .pid = ev->pid, .addr = ev->addr};
		return VEC_PUSH(sb->ports, p);
	}
	struct node *n = node_for(sb, ev);
	if (!n)
		return -ENOMEM;
	snprintf(n->comm, sizeof(n->comm), "%s", ev->comm ? ev->comm : "");
	n->uid = ev->uid;
	n->euid = ev->euid;
	if (ev->tty)
		n->tty = ev->tty;

	if (ev->kind == FR_EV_PROC) {
		free(n->exec);
		n->exec = fr_event_dup(ev);
		n->start_ns = ev->pstart_ns;
		n->start_key = ev->pstart_ns;
		struct node *p = lookup(sb, ev->ppid);
		r = place(sb, n, ev);
		if (!r && p && p->sess && p->sess == n->sess && n != p) {
			n->parent = p;
			r = VEC_PUSH(p->children, n);
		}
		return r;
	}
	r = place(sb, n, ev);
	if (r < 0)
		return r;

	switch (ev->kind) {
	case FR_EV_FORK:
		return on_fork(sb, n, ev, key);
	case FR_EV_EXEC:
		if (!ev->error) {
			free(n->exec);
			n->exec = fr_event_dup(ev);
			if (!n->exec)
				return -ENOMEM;
			if (is_shell(ev->path))
				n->was_shell = true;
			return 0;
		}
		break;
	case FR_EV_EXIT:
		on_exit_event(sb, n, ev);
		return 0;
	case FR_EV_LINE: {
		if (!n->sess) {
			/* no audit session: the interactive shell is the session */
			if (!session_new(sb, ev, n, false))
				return -ENOMEM;
			r = join(sb->sessions.v[sb->sessions.n - 1], n);
			if (r < 0)
				return r;
		}
		if (!n->sess->shell)
			n->sess->shell = n;
		if (!n->sess->tty)
			n->sess->tty = ev->tty;
		struct line l = {.ev = fr_event_dup(ev), .key = key};
		if (!l.ev)
			return -ENOMEM;
		r = VEC_PUSH(n->lines, l);
		if (r < 0)
			free(l.ev);
		return r;
	}
	case FR_EV_ACCEPT:
		if (!ev->error) {
			n->last_accept.addr = ev->raddr;
			n->last_accept.port = ev->rport;
		}
		break;
	case FR_EV_LISTEN:
		if (!ev->error) {
			struct port p = {.proto = ev->proto, .port = ev->port, .pid = ev->pid, .addr = ev->addr};
			r = VEC_PUSH(sb->ports, p);
		}
		break;
	case FR_EV_UNLISTEN:
		port_remove(sb, ev);
		break;
	default:
		break;
	}
	if (r < 0)
		return r;
	if (n->sess && is_effect(ev)) {
		struct effect e = {.ev = fr_event_dup(ev), .key = key};
		if (!e.ev)
			return -ENOMEM;
		r = VEC_PUSH(n->effects, e);
		if (r < 0) {
			free(e.ev);
			return r;
		}
		if (ev->kind == FR_EV_KILL && !ev->error) {
			struct kill_ref k = {.node = n, .effect = n->effects.n - 1};
			r = VEC_PUSH(sb->kills, k);
		}
	}
	return r;
}

int fr_session_builder_new(struct fr_session_builder **out)
{
	struct fr_session_builder *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	*out = sb;
	return 0;
}

void fr_session_builder_free(struct fr_session_builder *sb)
{
	if (!sb)
		return;
	/* live nodes outside sessions are owned by the table */
	for (size_t i = 0; i < sb->live.n; i++)
		if (!sb->live.v[i]->sess)
			node_free(sb->live.v[i]);
	for (size_t i = 0; i < sb->sessions.n; i++) {
		struct fr_session *s = sb->sessions.v[i];
		for (size_t j = 0; j < s->nodes.n; j++)
			node_free(s->nodes.v[j]);
		free(s->nodes.v);
		snapshot_free(&s->snap_start);
		snapshot_free(&s->snap_end);
		free(s->host);
		free(s);
	}
	free(sb->sessions.v);
	free(sb->kills.v);
	free(sb->ports.v);
	free(sb->live.v);
	free(sb);
}

size_t fr_session_count(const struct fr_session_builder *sb)
{
	return sb->sessions.n;
}

const struct fr_session *fr_session_at(const struct fr_session_builder *sb, size_t i)
{
	return i < sb->sessions.n ? sb->sessions.v[i] : NULL;
}

const struct fr_session *fr_session_find(const struct fr_session_builder *sb, const char *id)
{
	for (size_t i = 0; i < sb->sessions.n; i++)
		if (!strcmp(sb->sessions.v[i]->id, id))
			return sb->sessions.v[i];
	return NULL;
}

/* ---- the tree: commands are the login shell's lines ---- */

/* Does the process or anything under it change state? */
static bool subtree_changes(const struct node *n)
{
	for (size_t i = 0; i < n->effects.n; i++)
		if (changes_state(&n->effects.v[i]))
			return true;
	for (size_t i = 0; i < n->children.n; i++)
		if (subtree_changes(n->children.v[i]))
			return true;
	return false;
}

/* A command is line i of shell sh: its time window is [line i, line i+1). */
struct command {
	const struct node *shell;
	const struct fr_event *line; /* NULL: a non-interactive session's process */
	uint64_t from, to;           /* order keys; to = UINT64_MAX for the last line */
	uint64_t to_ns;              /* the next line's time (0 for the last line) */
	const struct node *proc;     /* for NULL line: the process itself */
};

/* Line i of shell n as a command: from its key to the next line's. */
static struct command line_command(const struct node *n, size_t i)
{
	bool last = i + 1 >= n->lines.n;
	return (struct command){.shell = n, .line = n->lines.v[i].ev, .from = n->lines.v[i].key,
				.to = last ? UINT64_MAX : n->lines.v[i + 1].key,
				.to_ns = last ? 0 : n->lines.v[i + 1].ev->ts_ns};
}

static bool in_window(uint64_t t, const struct command *c)
{
	return t >= c->from && t < c->to;
}

/* An interactive shell's effects belong to its lines, except those before
 * its first line (its start-up: profile, history). */
static bool before_lines(const struct node *n, uint64_t t)
{
	return !n->lines.n || t < n->lines.v[0].key;
}

static bool command_changes(const struct command *c)
{
	if (c->proc)
		return subtree_changes(c->proc);
	for (size_t i = 0; i < c->shell->effects.n; i++)
		if (in_window(c->shell->effects.v[i].key, c) && changes_state(&c->shell->effects.v[i]))
			return true;
	for (size_t i = 0; i < c->shell->children.n; i++) {
		const struct node *k = c->shell->children.v[i];
		if (in_window(k->start_key, c) && subtree_changes(k))
			return true;
	}
	return false;
}

/* The shell that ran the user's commands, in a session without typed
 * lines: the last shell with no shell above it. (PAM modules run shells of
 * their own first, such as pam_motd's `sh -c run-parts ...`.) */
static const struct node *user_shell(const struct fr_session *s)
{
	const struct node *found = NULL;
	for (size_t i = 0; i < s->nodes.n; i++) {
		const struct node *n = s->nodes.v[i];
		if (!n->was_shell)
			continue;
		bool top = true;
		for (const struct node *p = n->parent; p && top; p = p->parent)
			top = !p->was_shell;
		if (top && (!found || n->start_key >= found->start_key))
			found = n;
	}
	return found;
}

static size_t commands_of(const struct fr_session *s, struct command **out)
{
	*out = NULL;
	size_t n = 0;
	if (s->shell && s->shell->lines.n) {
		const struct node *sh = s->shell;
		struct command *c = calloc(sh->lines.n, sizeof(*c));
		if (!c)
			return 0;
		for (size_t i = 0; i < sh->lines.n; i++)
			c[i] = line_command(sh, i);
		n = sh->lines.n;
		*out = c;
		return n;
	}
	/* no typed lines: each direct child of the session's shell is a
	 * command; a shell that exec'd its only command (`ssh host cmd` runs
	 * `sh -c cmd`) is that command; with no shell, the leader's children */
	const struct node *sh = user_shell(s);
	const struct node *root = sh ? sh : s->leader;
	if (!root)
		return 0;
	if (sh && !root->children.n && !(root->exec && is_shell(root->exec->path))) {
		struct command *c = calloc(1, sizeof(*c));
		if (!c)
			return 0;
		c[0].shell = root;
		c[0].proc = root;
		*out = c;
		return 1;
	}
	struct command *c = calloc(root->children.n ? root->children.n : 1, sizeof(*c));
	if (!c)
		return 0;
	for (size_t i = 0; i < root->children.n; i++) {
		c[n].shell = root;
		c[n].proc = root->children.v[i];
		n++;
	}
	*out = c;
	return n;
}

static void user_name(uint32_t auid, char *buf, size_t len)
{
	if (auid == FR_ID_UNSET) {
		snprintf(buf, len, "?");
		return;
	}
	struct passwd pw, *res = NULL;
	char tmp[1024];
	if (getpwuid_r(auid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, len, "%s", pw.pw_name);
	else
		snprintf(buf, len, "%u", auid);
}

void fr_session_summarize(const struct fr_session *s, struct fr_session_summary *o)
{
	memset(o, 0, sizeof(*o));
	o->id = s->id;
	o->host = s->host;
	o->auid = s->auid;
	o->ses = s->ses;
	o->tty = s->tty ? s->tty : (s->shell ? s->shell->tty : 0);
	o->client = s->client;
	o->client_port = s->client_port;
	o->start_ns = s->start_ns;
	o->end_ns = s->end_ns;
	o->interactive = s->shell != NULL;
	o->lost = s->lost;
	o->complete = s->lost == 0;
	struct command *c;
	size_t n = commands_of(s, &c);
	o->commands = (uint32_t)n;
	for (size_t i = 0; i < n; i++)
		if (command_changes(&c[i]))
			o->commands_with_effects++;
	free(c);
}

/* ---- JSON ---- */

static int jstr(struct fr_buf *b, const char *s)
{
	return fr_json_str(b, s);
}

static int jts(struct fr_buf *b, uint64_t ts)
{
	if (!ts)
		return fr_buf_append(b, "null", 4);
	char t[40];
	fr_format_ts(ts, t, sizeof(t));
	return fr_buf_printf(b, "\"%s\"", t);
}

static int jid(struct fr_buf *b, uint32_t v)
{
	return v == FR_ID_UNSET ? fr_buf_append(b, "null", 4) : fr_buf_printf(b, "%u", v);
}

static int jaddr(struct fr_buf *b, const struct fr_addr *a)
{
	char txt[64];
	if (a->family == 4)
		inet_ntop(AF_INET, a->bytes, txt, sizeof(txt));
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->bytes, txt, sizeof(txt));
	else
		return fr_buf_append(b, "null", 4);
	return fr_buf_printf(b, "\"%s\"", txt);
}

int fr_session_summary_json(const struct fr_session *s, struct fr_buf *b)
{
	struct fr_session_summary o;
	fr_session_summarize(s, &o);
	char user[64], tty[32];
	user_name(o.auid, user, sizeof(user));
	int r = fr_buf_append(b, "{\"id\":", 6);
	if (!r) r = jstr(b, o.id);
	if (!r) r = fr_buf_append(b, ",\"host\":", 8);
	if (!r) r = jstr(b, o.host);
	if (!r) r = fr_buf_append(b, ",\"user\":", 8);
	if (!r) r = jstr(b, user);
	if (!r) r = fr_buf_append(b, ",\"auid\":", 8);
	if (!r) r = jid(b, o.auid);
	if (!r) r = fr_buf_append(b, ",\"ses\":", 7);
	if (!r) r = jid(b, o.ses);
	if (!r) r = fr_buf_append(b, ",\"tty\":", 7);
	if (!r) r = jstr(b, fr_tty_name(o.tty, tty, sizeof(tty)));
	if (!r) r = fr_buf_append(b, ",\"client\":", 10);
	if (!r) r = jaddr(b, &o.client);
	if (!r && o.client.family) r = fr_buf_printf(b, ",\"client_port\":%u", o.client_port);
	if (!r) r = fr_buf_append(b, ",\"start\":", 9);
	if (!r) r = jts(b, o.start_ns);
	if (!r) r = fr_buf_append(b, ",\"end\":", 7);
	if (!r) r = jts(b, o.end_ns);
	if (!r) r = fr_buf_printf(b, ",\"interactive\":%s,\"complete\":%s,\"lost\":%llu,\"commands\":%u,"
				 "\"commands_with_effects\":%u,\"started_before_recording\":%s}",
				 o.interactive ? "true" : "false", o.complete ? "true" : "false",
				 (unsigned long long)o.lost, o.commands, o.commands_with_effects,
				 s->started_before ? "true" : "false");
	return r;
}

static int effect_json(struct fr_buf *b, const struct effect *e)
{
	size_t at = b->len;
	int r = fr_event_to_json(e->ev, b);
	if (r < 0)
		return r;
	/* drop the newline; add our annotations inside the object */
	b->len -= 2; /* "}\n" */
	if (e->ev->kind == FR_EV_KILL)
		r = fr_buf_printf(b, ",\"target_died\":%s", e->target_died ? "true" : "false");
	if (!r)
		r = fr_buf_printf(b, ",\"side_effect\":%s}", changes_state(e) ? "true" : "false");
	(void)at;
	return r;
}

static int node_json(struct fr_buf *b, const struct node *n, bool all, const struct command *cmd);

static int children_json(struct fr_buf *b, const struct node *n, bool all, const struct command *window)
{
	int r = fr_buf_append(b, ",\"children\":[", 13);
	bool first = true;
	if (n->lines.n && !window) {
		/* an interactive shell: its children are its lines */
		for (size_t i = 0; !r && i < n->lines.n; i++) {
			struct command c = line_command(n, i);
			if (!all && !command_changes(&c))
				continue;
			if (!first)
				r = fr_buf_append(b, ",", 1);
			first = false;
			if (!r)
				r = node_json(b, n, all, &c);
		}
		return r ? r : fr_buf_append(b, "]", 1);
	}
	for (size_t i = 0; !r && i < n->children.n; i++) {
		const struct node *k = n->children.v[i];
		if (window && !in_window(k->start_key, window))
			continue;
		if (!first)
			r = fr_buf_append(b, ",", 1);
		first = false;
		if (!r)
			r = node_json(b, k, all, NULL);
	}
	return r ? r : fr_buf_append(b, "]", 1);
}

/* A process node, or (cmd != NULL) a command node: line i of shell n. */
static int node_json(struct fr_buf *b, const struct node *n, bool all, const struct command *cmd)
{
	const struct fr_event *x = n->exec;
	int r = fr_buf_append(b, "{\"line\":", 8);
	if (!r) r = jstr(b, cmd && cmd->line ? cmd->line->line : NULL);
	if (!r) r = fr_buf_printf(b, ",\"pid\":%u,\"argv\":", n->pid);
	if (!r && x && x->argv) {
		r = fr_buf_append(b, "[", 1);
		for (uint32_t i = 0; !r && i < x->argv_len;) {
			if (i)
				r = fr_buf_append(b, ",", 1);
			if (!r)
				r = jstr(b, x->argv + i);
			i += (uint32_t)strnlen(x->argv + i, x->argv_len - i) + 1;
		}
		if (!r) r = fr_buf_append(b, "]", 1);
	} else if (!r) {
		r = fr_buf_append(b, "null", 4);
	}
	if (!r) r = fr_buf_append(b, ",\"comm\":", 8);
	if (!r) r = jstr(b, n->comm);
	if (!r) r = fr_buf_append(b, ",\"exe\":", 7);
	if (!r) r = jstr(b, x ? x->exe : NULL);
	if (!r) r = fr_buf_append(b, ",\"cwd\":", 7);
	if (!r) r = jstr(b, x ? x->cwd : NULL);
	if (!r) r = fr_buf_printf(b, ",\"uid\":%u,\"euid\":%u,\"start\":", n->uid, n->euid);
	if (!r) r = jts(b, cmd && cmd->line ? cmd->line->ts_ns : n->start_ns);
	if (!r) r = fr_buf_append(b, ",\"end\":", 7);
	if (!r) r = jts(b, cmd && cmd->line ? (cmd->to == UINT64_MAX ? n->end_ns : cmd->to_ns) : n->end_ns);
	if (!r) r = fr_buf_append(b, ",\"exit_code\":", 13);
	if (!r) {
		if (cmd && cmd->line) {
			/* a line's status: its last direct child's, if it forked one */
			const struct node *last = NULL;
			for (size_t i = 0; i < n->children.n; i++)
				if (in_window(n->children.v[i]->start_key, cmd))
					last = n->children.v[i];
			if (last && last->exited && !last->exit_signal)
				r = fr_buf_printf(b, "%d", last->exit_code);
			else
				r = fr_buf_append(b, "null", 4);
		} else if (n->exited && !n->exit_signal) {
			r = fr_buf_printf(b, "%d", n->exit_code);
		} else {
			r = fr_buf_append(b, "null", 4);
		}
	}
	if (!r && !(cmd && cmd->line) && n->exited && n->exit_signal)
		r = fr_buf_printf(b, ",\"exit_signal\":%d", n->exit_signal);
	if (!r && !(cmd && cmd->line) && n->outlived)
		r = fr_buf_append(b, ",\"outlived_session\":true", 24);
	bool changes = cmd && cmd->line ? command_changes(cmd) : subtree_changes(n);
	if (!r) r = fr_buf_printf(b, ",\"side_effects\":%s,\"effects\":[", changes ? "true" : "false");
	bool first = true;
	for (size_t i = 0; !r && i < n->effects.n; i++) {
		if (cmd && cmd->line && !in_window(n->effects.v[i].key, cmd))
			continue;
		if (!(cmd && cmd->line) && before_lines(n, n->effects.v[i].key) == false)
			continue; /* shown under the line it belongs to */
		if (!first)
			r = fr_buf_append(b, ",", 1);
		first = false;
		if (!r)
			r = effect_json(b, &n->effects.v[i]);
	}
	if (!r) r = fr_buf_append(b, "]", 1);
	if (!r) r = children_json(b, n, all, cmd && cmd->line ? cmd : NULL);
	return r ? r : fr_buf_append(b, "}", 1);
}

static int snapshot_json(struct fr_buf *b, const struct snapshot *s)
{
	if (!s->taken)
		return fr_buf_append(b, "null", 4);
	int r = fr_buf_append(b, "{\"processes\":[", 14);
	for (size_t i = 0; !r && i < s->procs.n; i++) {
		const struct snap_proc *p = &s->procs.v[i];
		r = fr_buf_printf(b, "%s{\"pid\":%u,\"comm\":", i ? "," : "", p->pid);
		if (!r) r = jstr(b, p->comm);
		if (!r) r = fr_buf_append(b, ",\"exe\":", 7);
		if (!r) r = jstr(b, p->exe);
		if (!r) r = fr_buf_printf(b, ",\"uid\":%u}", p->uid);
	}
	if (!r) r = fr_buf_append(b, "],\"ports\":[", 11);
	for (size_t i = 0; !r && i < s->ports.n; i++) {
		const struct port *p = &s->ports.v[i];
		r = fr_buf_printf(b, "%s{\"proto\":\"%s\",\"addr\":", i ? "," : "", p->proto == FR_PROTO_UDP ? "udp" : "tcp");
		if (!r) r = jaddr(b, &p->addr);
		if (!r) r = fr_buf_printf(b, ",\"port\":%u,\"pid\":%u}", p->port, p->pid);
	}
	return r ? r : fr_buf_append(b, "]}", 2);
}

static bool has_proc(const struct snapshot *s, const struct snap_proc *p)
{
	for (size_t i = 0; i < s->procs.n; i++)
		if (s->procs.v[i].pid == p->pid && (!p->pstart || !s->procs.v[i].pstart || s->procs.v[i].pstart == p->pstart))
			return true;
	return false;
}

static bool has_port(const struct snapshot *s, const struct port *p)
{
	for (size_t i = 0; i < s->ports.n; i++)
		if (s->ports.v[i].proto == p->proto && s->ports.v[i].port == p->port &&
		    !memcmp(&s->ports.v[i].addr, &p->addr, sizeof(p->addr)))
			return true;
	return false;
}

static int diff_json(struct fr_buf *b, const struct snapshot *a, const struct snapshot *z)
{
	if (!a->taken || !z->taken)
		return fr_buf_append(b, "null", 4);
	int r = 0;
	const struct {
		const char *name;
		const struct snapshot *from, *to;
	} procs[] = {{"processes_gone", a, z}, {"processes_new", z, a}};
	r = fr_buf_append(b, "{", 1);
	for (int k = 0; !r && k < 2; k++) {
		r = fr_buf_printf(b, "%s\"%s\":[", k ? "," : "", procs[k].name);
		bool first = true;
		for (size_t i = 0; !r && i < procs[k].from->procs.n; i++) {
			const struct snap_proc *p = &procs[k].from->procs.v[i];
			if (has_proc(procs[k].to, p))
				continue;
			r = fr_buf_printf(b, "%s{\"pid\":%u,\"comm\":", first ? "" : ",", p->pid);
			first = false;
			if (!r) r = jstr(b, p->comm);
			if (!r) r = fr_buf_append(b, ",\"exe\":", 7);
			if (!r) r = jstr(b, p->exe);
			if (!r) r = fr_buf_append(b, "}", 1);
		}
		if (!r) r = fr_buf_append(b, "]", 1);
	}
	const struct {
		const char *name;
		const struct snapshot *from, *to;
	} ports[] = {{"ports_closed", a, z}, {"ports_opened", z, a}};
	for (int k = 0; !r && k < 2; k++) {
		r = fr_buf_printf(b, ",\"%s\":[", ports[k].name);
		bool first = true;
		for (size_t i = 0; !r && i < ports[k].from->ports.n; i++) {
			const struct port *p = &ports[k].from->ports.v[i];
			if (has_port(ports[k].to, p))
				continue;
			r = fr_buf_printf(b, "%s{\"proto\":\"%s\",\"addr\":", first ? "" : ",",
					  p->proto == FR_PROTO_UDP ? "udp" : "tcp");
			first = false;
			if (!r) r = jaddr(b, &p->addr);
			if (!r) r = fr_buf_printf(b, ",\"port\":%u,\"pid\":%u}", p->port, p->pid);
		}
		if (!r) r = fr_buf_append(b, "]", 1);
	}
	return r ? r : fr_buf_append(b, "}", 1);
}

int fr_session_tree_json(const struct fr_session *s, bool all, struct fr_buf *b)
{
	int r = fr_buf_append(b, "{\"session\":", 11);
	if (!r) r = fr_session_summary_json(s, b);
	if (!r) r = fr_buf_append(b, ",\"commands\":[", 13);
	struct command *c;
	size_t n = commands_of(s, &c);
	bool first = true;
	for (size_t i = 0; !r && i < n; i++) {
		if (!all && !command_changes(&c[i]))
			continue;
		if (!first)
			r = fr_buf_append(b, ",", 1);
		first = false;
		if (!r)
			r = c[i].proc ? node_json(b, c[i].proc, all, NULL) : node_json(b, c[i].shell, all, &c[i]);
	}
	free(c);
	if (!r) r = fr_buf_append(b, "],\"snapshots\":{\"start\":", 23);
	if (!r) r = snapshot_json(b, &s->snap_start);
	if (!r) r = fr_buf_append(b, ",\"end\":", 7);
	if (!r) r = snapshot_json(b, &s->snap_end);
	if (!r) r = fr_buf_append(b, ",\"diff\":", 8);
	if (!r) r = diff_json(b, &s->snap_start, &s->snap_end);
	return r ? r : fr_buf_append(b, "}}\n", 3);
}

/* ---- text ---- */

static const char *effect_text(const struct fr_event *ev, char *buf, size_t len)
{
	const char *k = fr_kind_name(ev->kind);
	switch (ev->kind) {
	case FR_EV_RENAME: case FR_EV_LINK: case FR_EV_SYMLINK:
		snprintf(buf, len, "%s %s -> %s", k, ev->path ? ev->path : "?", ev->path2 ? ev->path2 : "?");
		break;
	case FR_EV_KILL:
		snprintf(buf, len, "kill %u (%s) signal %d", ev->target_pid, ev->target_comm ? ev->target_comm : "?",
			 ev->signal);
		break;
	case FR_EV_SETUID:
		snprintf(buf, len, "setuid %u -> %u", ev->uid, ev->new_uid);
		break;
	case FR_EV_LISTEN: case FR_EV_UNLISTEN: case FR_EV_CONNECT: case FR_EV_ACCEPT: {
		char a[64] = "?", ra[64] = "";
		if (ev->addr.family)
			inet_ntop(ev->addr.family == 4 ? AF_INET : AF_INET6, ev->addr.bytes, a, sizeof(a));
		if (ev->raddr.family)
			inet_ntop(ev->raddr.family == 4 ? AF_INET : AF_INET6, ev->raddr.bytes, ra, sizeof(ra));
		if (ev->raddr.family)
			snprintf(buf, len, "%s %s %s:%u -> %s:%u", k, ev->proto == FR_PROTO_UDP ? "udp" : "tcp", a,
				 ev->port, ra, ev->rport);
		else
			snprintf(buf, len, "%s %s %s:%u", k, ev->proto == FR_PROTO_UDP ? "udp" : "tcp", a, ev->port);
		break;
	}
	default:
		snprintf(buf, len, "%s %s", k ? k : "?", ev->path ? ev->path : "");
	}
	if (ev->error) {
		size_t l = strlen(buf);
		const char *en = fr_errno_name(ev->error);
		snprintf(buf + l, len - l, " (%s)", en ? en : "failed");
	}
	return buf;
}

static int text_node(struct fr_buf *b, const struct node *n, bool all, bool color, int depth,
		     const struct command *cmd);

static int text_children(struct fr_buf *b, const struct node *n, bool all, bool color, int depth,
			 const struct command *window)
{
	int r = 0;
	if (n->lines.n && !window) {
		for (size_t i = 0; !r && i < n->lines.n; i++) {
			struct command c = line_command(n, i);
			if (all || command_changes(&c))
				r = text_node(b, n, all, color, depth, &c);
		}
		return r;
	}
	for (size_t i = 0; !r && i < n->children.n; i++)
		if (!window || in_window(n->children.v[i]->start_key, window))
			r = text_node(b, n->children.v[i], all, color, depth, NULL);
	return r;
}

static int text_node(struct fr_buf *b, const struct node *n, bool all, bool color, int depth,
		     const struct command *cmd)
{
	bool line = cmd && cmd->line;
	bool changes = line ? command_changes(cmd) : subtree_changes(n);
	char t[40];
	int r = fr_buf_printf(b, "%*s", depth * 2, "");
	if (!r && line) {
		fr_format_ts(cmd->line->ts_ns, t, sizeof(t));
		r = fr_buf_printf(b, "%s%.19s  $ %s%s\n", color && changes ? "\033[31m" : "", t + 0, cmd->line->line,
				  color && changes ? "\033[0m" : "");
	} else if (!r) {
		r = fr_buf_printf(b, "%s[%u] ", color && changes ? "\033[31m" : "", n->pid);
		const struct fr_event *x = n->exec;
		for (uint32_t i = 0; !r && x && x->argv && i < x->argv_len;) {
			r = fr_buf_printf(b, "%s%s", i ? " " : "", x->argv + i);
			i += (uint32_t)strnlen(x->argv + i, x->argv_len - i) + 1;
		}
		if (!r && !(x && x->argv))
			r = fr_buf_printf(b, "%s", n->comm);
		if (!r && n->uid != n->auid && n->auid != FR_ID_UNSET)
			r = fr_buf_printf(b, "  (uid %u)", n->uid);
		if (!r && n->exited)
			r = n->exit_signal ? fr_buf_printf(b, "  [killed by signal %d]", n->exit_signal)
					   : fr_buf_printf(b, "  [exit %d]", n->exit_code);
		if (!r && n->outlived)
			r = fr_buf_printf(b, "  [outlived the session]");
		if (!r)
			r = fr_buf_printf(b, "%s\n", color && changes ? "\033[0m" : "");
	}
	for (size_t i = 0; !r && i < n->effects.n; i++) {
		const struct effect *e = &n->effects.v[i];
		if (line && !in_window(e->key, cmd))
			continue;
		if (!line && !before_lines(n, e->key))
			continue; /* shown under the line it belongs to */
		bool ch = changes_state(e);
		char buf[512];
		r = fr_buf_printf(b, "%*s%s- %s%s%s\n", depth * 2 + 4, "", color && ch ? "\033[31m" : "",
				  effect_text(e->ev, buf, sizeof(buf)),
				  e->ev->kind == FR_EV_KILL ? (e->target_died ? " [target died]" : " [target survived]") : "",
				  color && ch ? "\033[0m" : "");
	}
	return r ? r : text_children(b, n, all, color, depth + 1, line ? cmd : NULL);
}

int fr_session_tree_text(const struct fr_session *s, bool all, bool color, struct fr_buf *b)
{
	struct fr_session_summary o;
	fr_session_summarize(s, &o);
	char user[64], tty[32], t0[40], t1[40] = "(open)";
	user_name(o.auid, user, sizeof(user));
	fr_format_ts(o.start_ns, t0, sizeof(t0));
	if (o.end_ns)
		fr_format_ts(o.end_ns, t1, sizeof(t1));
	int r = fr_buf_printf(b, "session %s  user %s (auid %d)  host %s  tty %s\n  %s .. %s  %u commands, %u with side effects%s\n",
			      o.id, user, o.auid == FR_ID_UNSET ? -1 : (int)o.auid, o.host,
			      fr_tty_name(o.tty, tty, sizeof(tty)) ? tty : "-", t0, t1, o.commands,
			      o.commands_with_effects, o.complete ? "" : "  INCOMPLETE: events were lost");
	struct command *c;
	size_t n = commands_of(s, &c);
	for (size_t i = 0; !r && i < n; i++) {
		if (!all && !command_changes(&c[i]))
			continue;
		r = c[i].proc ? text_node(b, c[i].proc, all, color, 1, NULL) : text_node(b, c[i].shell, all, color, 1, &c[i]);
	}
	free(c);
	return r;
}
