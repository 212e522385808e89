/* event.c - names, formatting and JSON for the event model.
 *
 * Why: `record --json` and `dump` must print byte-identical NDJSON for the
 * same events, so there is exactly one encoder, here. */
#include "event/event.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[FR_EV__COUNT] = {
	[FR_EV_FORK] = "fork",       [FR_EV_EXEC] = "exec",
	[FR_EV_EXIT] = "exit",       [FR_EV_KILL] = "kill",
	[FR_EV_SETUID] = "setuid",   [FR_EV_OPEN] = "open",
	[FR_EV_MODIFY] = "modify",   [FR_EV_CREATE] = "create",
	[FR_EV_DELETE] = "delete",   [FR_EV_RENAME] = "rename",
	[FR_EV_LINK] = "link",       [FR_EV_SYMLINK] = "symlink",
	[FR_EV_MKDIR] = "mkdir",     [FR_EV_RMDIR] = "rmdir",
	[FR_EV_CHMOD] = "chmod",     [FR_EV_CHOWN] = "chown",
	[FR_EV_TRUNCATE] = "truncate", [FR_EV_LISTEN] = "listen",
	[FR_EV_UNLISTEN] = "unlisten", [FR_EV_CONNECT] = "connect",
	[FR_EV_ACCEPT] = "accept",   [FR_EV_LOST] = "lost",
	[FR_EV_PROC] = "proc",       [FR_EV_SOCKET] = "socket",
	[FR_EV_GAP] = "gap",         [FR_EV_LINE] = "line",
};

const char *fr_kind_name(uint32_t kind)
{
	return kind < FR_EV__COUNT ? kind_names[kind] : NULL;
}

uint32_t fr_kind_from_name(const char *name)
{
	for (uint32_t k = 1; k < FR_EV__COUNT; k++)
		if (kind_names[k] && strcmp(kind_names[k], name) == 0)
			return k;
	return FR_EV_NONE;
}

const char *fr_errno_name(int err)
{
#define E(x) case x: return #x
	switch (err) {
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG);
	E(ENOEXEC); E(EBADF); E(ECHILD); E(EAGAIN); E(ENOMEM); E(EACCES);
	E(EFAULT); E(EBUSY); E(EEXIST); E(EXDEV); E(ENODEV); E(ENOTDIR);
	E(EISDIR); E(EINVAL); E(ENFILE); E(EMFILE); E(ENOTTY); E(ETXTBSY);
	E(EFBIG); E(ENOSPC); E(ESPIPE); E(EROFS); E(EMLINK); E(EPIPE);
	E(ENAMETOOLONG); E(ENOSYS); E(ENOTEMPTY); E(ELOOP); E(EOVERFLOW);
	E(EDQUOT); E(EADDRINUSE); E(EADDRNOTAVAIL); E(ENETUNREACH);
	E(ECONNREFUSED); E(ECONNRESET); E(EINPROGRESS); E(EALREADY);
	E(EISCONN); E(ETIMEDOUT); E(EHOSTUNREACH); E(ENOTSOCK);
	E(EOPNOTSUPP); E(EAFNOSUPPORT); E(EPROTONOSUPPORT); E(ENOTCONN);
	E(ECANCELED); E(EOWNERDEAD); E(ESTALE); E(ENODATA);
	default: return NULL;
	}
#undef E
}

const char *fr_tty_name(uint32_t tty, char *buf, size_t len)
{
	if (!tty)
		return NULL;
	unsigned major = tty >> 20, minor = tty & 0xfffff;
	if (major >= 136 && major <= 143)
		snprintf(buf, len, "pts/%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor < 64)
		snprintf(buf, len, "tty%u", minor);
	else if (major == 4)
		snprintf(buf, len, "ttyS%u", minor - 64);
	else if (major == 5 && minor == 1)
		snprintf(buf, len, "console");
	else if (major == 5 && minor == 0)
		snprintf(buf, len, "tty");
	else
		snprintf(buf, len, "%u:%u", major, minor);
	return buf;
}

unsigned fr_argv_count(const char *argv, uint32_t len)
{
	unsigned n = 0;
	for (uint32_t i = 0; argv && i < len; i++)
		if (argv[i] == '\0')
			n++;
	if (argv && len && argv[len - 1] != '\0')
		n++; /* unterminated last argument (truncated) */
	return n;
}

void fr_format_ts(uint64_t ts_ns, char *buf, size_t len)
{
	time_t secs = (time_t)(ts_ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (unsigned long long)(ts_ns % 1000000000ull));
}

int fr_buf_reserve(struct fr_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int fr_buf_append(struct fr_buf *b, const void *p, size_t n)
{
	int r = fr_buf_reserve(b, n + 1);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int fr_buf_printf(struct fr_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	int r = fr_buf_reserve(b, (size_t)n + 1);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void fr_buf_free(struct fr_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Length of a valid UTF-8 sequence starting at s (max n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t need;
	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		need = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		need = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (need > n)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

/* JSON string with escaping. Bytes that are not valid UTF-8 are written as
 * \u00XX (documented in docs/EVENTS.md); the flight log keeps raw bytes. */
static int json_str_n(struct fr_buf *b, const char *s, size_t n)
{
	int r = fr_buf_reserve(b, n * 6 + 3);
	if (r < 0)
		return r;
	char *o = b->data + b->len;
	*o++ = '"';
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			static const char hex[] = "0123456789abcdef";
			if (c == '\n') {
				*o++ = '\\'; *o++ = 'n';
			} else if (c == '\t') {
				*o++ = '\\'; *o++ = 't';
			} else if (c == '\r') {
				*o++ = '\\'; *o++ = 'r';
			} else {
				memcpy(o, "\\u00", 4);
				o += 4;
				*o++ = hex[c >> 4];
				*o++ = hex[c & 15];
			}
			i++;
		} else if (c < 0x80) {
			*o++ = (char)c;
			i++;
		} else {
			size_t k = utf8_seq(p + i, n - i);
			if (k) {
				memcpy(o, p + i, k);
				o += k;
				i += k;
			} else {
				static const char hex[] = "0123456789abcdef";
				memcpy(o, "\\u00", 4);
				o += 4;
				*o++ = hex[c >> 4];
				*o++ = hex[c & 15];
				i++;
			}
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	b->data[b->len] = '\0';
	return 0;
}

int fr_json_str(struct fr_buf *b, const char *s)
{
	if (!s)
		return fr_buf_append(b, "null", 4);
	return json_str_n(b, s, strlen(s));
}

static int json_str(struct fr_buf *b, const char *s)
{
	return fr_json_str(b, s);
}

static int key(struct fr_buf *b, const char *k)
{
	return fr_buf_printf(b, ",\"%s\":", k);
}

static int kv_str(struct fr_buf *b, const char *k, const char *v)
{
	int r = key(b, k);
	return r < 0 ? r : json_str(b, v);
}

static int kv_u(struct fr_buf *b, const char *k, unsigned long long v)
{
	return fr_buf_printf(b, ",\"%s\":%llu", k, v);
}

static int kv_id(struct fr_buf *b, const char *k, uint32_t v)
{
	if (v == FR_ID_UNSET)
		return fr_buf_printf(b, ",\"%s\":null", k);
	return kv_u(b, k, v);
}

static int kv_addr(struct fr_buf *b, const char *k, const struct fr_addr *a)
{
	char txt[INET6_ADDRSTRLEN];
	if (a->family == 4)
		inet_ntop(AF_INET, a->bytes, txt, sizeof(txt));
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->bytes, txt, sizeof(txt));
	else
		return kv_str(b, k, NULL);
	return kv_str(b, k, txt);
}

static const struct {
	uint32_t bit;
	const char *name;
} open_flag_names[] = {
	{00000100, "creat"},     {00000200, "excl"},      {00000400, "noctty"},
	{00001000, "trunc"},     {00002000, "append"},    {00004000, "nonblock"},
	{00010000, "dsync"},     {00020000, "async"},     {00040000, "direct"},
	{00100000, "largefile"}, {00200000, "directory"}, {00400000, "nofollow"},
	{01000000, "noatime"},   {02000000, "cloexec"},   {04000000, "sync"},
	{010000000, "path"},     {020000000, "tmpfile"},
};

static int json_open_flags(struct fr_buf *b, uint32_t flags)
{
	static const char *const acc[] = {"rdonly", "wronly", "rdwr", "accmode3"};
	int r = fr_buf_printf(b, "[\"%s\"", acc[flags & FR_O_ACCMODE]);
	for (size_t i = 0; r == 0 && i < sizeof(open_flag_names) / sizeof(open_flag_names[0]); i++) {
		uint32_t bit = open_flag_names[i].bit;
		/* O_TMPFILE includes O_DIRECTORY; print "tmpfile" alone */
		if (bit == 00200000 && (flags & 020000000))
			continue;
		if ((flags & bit) == bit)
			r = fr_buf_printf(b, ",\"%s\"", open_flag_names[i].name);
	}
	return r < 0 ? r : fr_buf_append(b, "]", 1);
}

static int json_argv(struct fr_buf *b, const char *argv, uint32_t len)
{
	int r = fr_buf_append(b, "[", 1);
	uint32_t i = 0;
	bool first = true;
	while (r == 0 && argv && i < len) {
		size_t n = strnlen(argv + i, len - i);
		if (!first)
			r = fr_buf_append(b, ",", 1);
		if (r == 0)
			r = json_str_n(b, argv + i, n);
		first = false;
		i += (uint32_t)n + 1;
	}
	return r < 0 ? r : fr_buf_append(b, "]", 1);
}

static int json_ts(struct fr_buf *b, const char *k, uint64_t ts)
{
	char t[40];
	fr_format_ts(ts, t, sizeof(t));
	return kv_str(b, k, t);
}

static const char *proto_name(uint32_t p)
{
	return p == FR_PROTO_TCP ? "tcp" : p == FR_PROTO_UDP ? "udp" : NULL;
}

int fr_event_to_json(const struct fr_event *ev, struct fr_buf *b)
{
	char t[40], tty[32];
	int r;
	const char *kn = fr_kind_name(ev->kind);
	fr_format_ts(ev->ts_ns, t, sizeof(t));
	r = fr_buf_printf(b, "{\"ts\":\"%s\"", t);
	if (!r) r = kv_str(b, "host", ev->host);
	if (!r && kn) r = kv_str(b, "event", kn);
	if (!r && !kn) r = kv_u(b, "event", ev->kind);
	if (!r) r = kv_u(b, "pid", ev->pid);
	if (!r) r = kv_u(b, "tid", ev->tid);
	if (!r) r = kv_u(b, "ppid", ev->ppid);
	if (!r) r = kv_u(b, "uid", ev->uid);
	if (!r) r = kv_u(b, "euid", ev->euid);
	if (!r) r = kv_id(b, "auid", ev->auid);
	if (!r) r = kv_id(b, "ses", ev->ses);
	if (!r) r = kv_str(b, "tty", fr_tty_name(ev->tty, tty, sizeof(tty)));
	if (!r) r = kv_str(b, "comm", ev->comm);
	if (!r) r = kv_str(b, "exe", ev->exe);
	if (!r) r = kv_u(b, "cgroup", ev->cgroup);
	if (!r && ev->pstart_ns) r = kv_u(b, "pstart", ev->pstart_ns);
	if (!r && ev->error) {
		const char *en = fr_errno_name(ev->error);
		if (en)
			r = kv_str(b, "error", en);
		else
			r = fr_buf_printf(b, ",\"error\":\"E%d\"", ev->error);
	}

	switch (ev->kind) {
	case FR_EV_FORK:
		if (!r) r = kv_u(b, "child_pid", ev->child_pid);
		break;
	case FR_EV_EXEC:
	case FR_EV_PROC:
		if (!r) r = kv_str(b, "path", ev->path);
		if (!r) r = key(b, "argv");
		if (!r) r = json_argv(b, ev->argv, ev->argv_len);
		if (!r && (ev->trunc & FR_TRUNC_ARGV)) r = fr_buf_append(b, ",\"argv_truncated\":true", 22);
		if (!r) r = kv_str(b, "cwd", ev->cwd);
		break;
	case FR_EV_EXIT:
		if (!r && ev->signal) r = fr_buf_printf(b, ",\"signal\":%d", ev->signal);
		else if (!r) r = fr_buf_printf(b, ",\"code\":%d", ev->code);
		break;
	case FR_EV_KILL:
		if (!r) r = kv_u(b, "target_pid", ev->target_pid);
		if (!r) r = kv_str(b, "target_comm", ev->target_comm);
		if (!r) r = fr_buf_printf(b, ",\"signal\":%d", ev->signal);
		break;
	case FR_EV_SETUID:
		if (!r) r = kv_u(b, "new_uid", ev->new_uid);
		if (!r) r = kv_u(b, "new_euid", ev->new_euid);
		break;
	case FR_EV_OPEN:
	case FR_EV_CREATE:
		if (!r) r = kv_str(b, "path", ev->path);
		if (!r) r = key(b, "flags");
		if (!r) r = json_open_flags(b, ev->flags);
		if (!r && (ev->flags & 00000100)) r = fr_buf_printf(b, ",\"mode\":\"%04o\"", ev->mode);
		break;
	case FR_EV_MKDIR:
	case FR_EV_CHMOD:
		if (!r) r = kv_str(b, "path", ev->path);
		if (!r) r = fr_buf_printf(b, ",\"mode\":\"%04o\"", ev->mode);
		break;
	case FR_EV_CHOWN:
		if (!r) r = kv_str(b, "path", ev->path);
		if (!r) r = kv_id(b, "owner", ev->owner);
		if (!r) r = kv_id(b, "group", ev->group);
		break;
	case FR_EV_TRUNCATE:
		if (!r) r = kv_str(b, "path", ev->path);
		if (!r) r = kv_u(b, "length", ev->length);
		break;
	case FR_EV_RENAME:
	case FR_EV_LINK:
	case FR_EV_SYMLINK:
		if (!r) r = kv_str(b, "path", ev->path);
		if (!r) r = kv_str(b, "path2", ev->path2);
		if (!r && ev->flags) r = kv_u(b, "flags", ev->flags);
		break;
	case FR_EV_MODIFY:
	case FR_EV_DELETE:
	case FR_EV_RMDIR:
		if (!r) r = kv_str(b, "path", ev->path);
		break;
	case FR_EV_LISTEN:
	case FR_EV_UNLISTEN:
	case FR_EV_SOCKET:
		if (!r) r = kv_str(b, "proto", proto_name(ev->proto));
		if (!r) r = kv_addr(b, "addr", &ev->addr);
		if (!r) r = kv_u(b, "port", ev->port);
		if (!r && ev->kind == FR_EV_SOCKET) r = kv_u(b, "inode", ev->inode);
		break;
	case FR_EV_CONNECT:
	case FR_EV_ACCEPT:
		if (!r) r = kv_str(b, "proto", proto_name(ev->proto));
		if (!r) r = kv_addr(b, "addr", &ev->addr);
		if (!r) r = kv_u(b, "port", ev->port);
		if (!r) r = kv_addr(b, "raddr", &ev->raddr);
		if (!r) r = kv_u(b, "rport", ev->rport);
		break;
	case FR_EV_LINE:
		if (!r) r = kv_str(b, "line", ev->line);
		break;
	case FR_EV_LOST:
	case FR_EV_GAP:
		if (!r) r = kv_u(b, "count", ev->count);
		if (!r && ev->path) r = kv_str(b, "reason", ev->path);
		break;
	default:
		break;
	}
	if (!r && (ev->trunc & (FR_TRUNC_PATH | FR_TRUNC_PATH2 | FR_TRUNC_CWD)))
		r = fr_buf_printf(b, ",\"truncated\":%u", ev->trunc & ~FR_TRUNC_ARGV);
	if (!r && ev->kind == FR_EV_PROC && ev->pstart_ns)
		r = json_ts(b, "start", ev->pstart_ns);
	if (!r)
		r = fr_buf_append(b, "}\n", 2);
	return r;
}

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

struct fr_event *fr_event_dup(const struct fr_event *ev)
{
	size_t need = sizeof(*ev) + slen(ev->host) + slen(ev->comm) + slen(ev->exe) + slen(ev->path) +
		      slen(ev->path2) + ev->argv_len + 1 + slen(ev->cwd) + slen(ev->target_comm) + slen(ev->line);
	struct fr_event *c = malloc(need);
	if (!c)
		return NULL;
	*c = *ev;
	char *p = (char *)(c + 1);
#define COPY(f)                                                                                           \
	if (ev->f) {                                                                                      \
		size_t n_ = strlen(ev->f) + 1;                                                            \
		memcpy(p, ev->f, n_);                                                                     \
		c->f = p;                                                                                 \
		p += n_;                                                                                  \
	}
	COPY(host) COPY(comm) COPY(exe) COPY(path) COPY(path2) COPY(cwd) COPY(target_comm) COPY(line)
#undef COPY
	if (ev->argv) {
		memcpy(p, ev->argv, ev->argv_len);
		p[ev->argv_len] = '\0';
		c->argv = p;
	}
	return c;
}

static int str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int fr_event_compare(const struct fr_event *a, const struct fr_event *b)
{
	int f = 0;
#define NUM(x) do { f++; if (a->x != b->x) return f; } while (0)
#define STR(x) do { f++; if (!str_eq(a->x, b->x)) return f; } while (0)
	NUM(ts_ns); NUM(kind); NUM(pid); NUM(tid); NUM(ppid); NUM(uid);
	NUM(euid); NUM(auid); NUM(ses); NUM(tty); NUM(error); NUM(cgroup);
	NUM(pstart_ns); STR(host); STR(comm); STR(exe); STR(path); STR(path2);
	NUM(argv_len);
	f++;
	if (a->argv_len && (!a->argv || !b->argv || memcmp(a->argv, b->argv, a->argv_len)))
		return f;
	f++;
	if (!a->argv_len && (!a->argv) != (!b->argv))
		return f;
	STR(cwd); NUM(trunc); NUM(flags); NUM(mode); NUM(owner); NUM(group);
	NUM(length); NUM(child_pid); NUM(target_pid); STR(target_comm);
	NUM(signal); NUM(code); NUM(new_uid); NUM(new_euid); NUM(proto);
	NUM(port); NUM(rport);
	f++;
	if (memcmp(&a->addr, &b->addr, sizeof(a->addr)))
		return f;
	f++;
	if (memcmp(&a->raddr, &b->raddr, sizeof(a->raddr)))
		return f;
	NUM(count); NUM(inode); STR(line);
#undef NUM
#undef STR
	return 0;
}
