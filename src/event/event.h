/* event.h - the flightrec event model.
 *
 * Why: every component (sensor, flight log, sessions, queries, server) speaks
 * in these events. The kernel-facing record layout is private to the sensor
 * (src/sensor/sensor_abi.h); this is the stable, user-space model that the
 * on-disk format encodes losslessly and that `--json` prints.
 *
 * Ownership: string fields are borrowed pointers. Whoever fills an event owns
 * the memory they point to and keeps it valid until the consumer returns.
 * A NULL string means "absent" and is distinct from "".
 */
#ifndef FLIGHTREC_EVENT_H
#define FLIGHTREC_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Event kinds. The numbers are part of the on-disk format (docs/FORMAT.md):
 * never renumber, only append. */
enum fr_kind {
	FR_EV_NONE = 0,
	FR_EV_FORK = 1,
	FR_EV_EXEC = 2,
	FR_EV_EXIT = 3,
	FR_EV_KILL = 4,
	FR_EV_SETUID = 5,
	FR_EV_OPEN = 6,
	FR_EV_MODIFY = 7,
	FR_EV_CREATE = 8,
	FR_EV_DELETE = 9,
	FR_EV_RENAME = 10,
	FR_EV_LINK = 11,
	FR_EV_SYMLINK = 12,
	FR_EV_MKDIR = 13,
	FR_EV_RMDIR = 14,
	FR_EV_CHMOD = 15,
	FR_EV_CHOWN = 16,
	FR_EV_TRUNCATE = 17,
	FR_EV_LISTEN = 18,
	FR_EV_UNLISTEN = 19,
	FR_EV_CONNECT = 20,
	FR_EV_ACCEPT = 21,
	FR_EV_LOST = 22,   /* the sensor dropped `count` events */
	FR_EV_PROC = 23,   /* a process that existed when recording started */
	FR_EV_SOCKET = 24, /* a listening socket that existed when recording started */
	FR_EV_GAP = 25,    /* the recorder store dropped or discarded data */
	FR_EV_LINE = 26,   /* an interactive shell read a command line */
	FR_EV__COUNT
};

/* "unset" for auid and ses, as the kernel reports it. */
#define FR_ID_UNSET 0xffffffffu

/* Open flags, in the kernel's own O_* bit values (x86_64 / generic). */
#define FR_O_ACCMODE 00000003u

/* Network protocols for listen/unlisten/connect/accept/socket. */
enum fr_proto { FR_PROTO_NONE = 0, FR_PROTO_TCP = 6, FR_PROTO_UDP = 17 };

/* Bits of fr_event.trunc: which variable-length fields were cut by a cap. */
#define FR_TRUNC_PATH 0x1u
#define FR_TRUNC_PATH2 0x2u
#define FR_TRUNC_ARGV 0x4u
#define FR_TRUNC_CWD 0x8u

struct fr_addr {
	uint8_t family; /* 0 (none), 4 or 6 */
	uint8_t bytes[16]; /* IPv4 in the first 4 bytes, network order */
};

struct fr_event {
	/* common */
	uint64_t ts_ns;     /* UTC, nanoseconds since the epoch */
	uint32_t kind;      /* enum fr_kind */
	uint32_t pid;       /* process (thread group) id */
	uint32_t tid;       /* thread id */
	uint32_t ppid;
	uint32_t uid, euid;
	uint32_t auid, ses; /* FR_ID_UNSET when unset */
	uint32_t tty;       /* kernel tty_nr: major << 20 | minor; 0 when none */
	int32_t error;      /* positive errno when the operation failed, else 0 */
	uint64_t cgroup;    /* cgroup v2 id */
	uint64_t pstart_ns; /* process start, UTC ns: with pid, identifies a process */
	const char *host;
	const char *comm;
	const char *exe;

	/* kind-specific; unused fields are zero / NULL */
	const char *path;   /* exec, open, modify, file ops, proc (exe); lost/gap: reason */
	const char *path2;  /* rename/link: new name; symlink: target text */
	const char *argv;   /* exec, proc: NUL-separated arguments... */
	uint32_t argv_len;  /* ...of this many bytes, each argument NUL-terminated */
	const char *cwd;    /* exec, proc */
	uint32_t trunc;     /* FR_TRUNC_* */
	uint32_t flags;     /* open: O_* flags; rename: RENAME_* flags */
	uint32_t mode;      /* create/open(O_CREAT)/mkdir/chmod: permission bits */
	uint32_t owner, group; /* chown: new ids (FR_ID_UNSET = unchanged) */
	uint64_t length;    /* truncate: new length */
	uint32_t child_pid; /* fork */
	uint32_t target_pid;/* kill */
	const char *target_comm; /* kill */
	int32_t signal;     /* kill: signal sent; exit: killing signal or 0 */
	int32_t code;       /* exit: exit status when not killed by a signal */
	uint32_t new_uid, new_euid; /* setuid */
	uint32_t proto;     /* enum fr_proto */
	uint32_t port, rport;
	struct fr_addr addr, raddr;
	uint64_t count;     /* lost: events dropped; gap: bytes dropped */
	uint64_t inode;     /* socket: socket inode */
	const char *line;   /* line: the command line as typed */
};

/* Name of a kind ("fork", "exec", ...) or NULL for an unknown number. */
const char *fr_kind_name(uint32_t kind);
/* Kind number for a name, or FR_EV_NONE. */
uint32_t fr_kind_from_name(const char *name);

/* Short errno name ("ENOENT"); NULL if unknown. */
const char *fr_errno_name(int err);

/* tty name into buf ("pts/3", "tty1", "ttyS0", "console"); returns buf, or
 * NULL when tty is 0. */
const char *fr_tty_name(uint32_t tty, char *buf, size_t len);

/* Iterate a NUL-separated argv blob: returns the number of arguments. */
unsigned fr_argv_count(const char *argv, uint32_t len);

/* Format ts as RFC 3339 UTC with nanoseconds into buf (>= 32 bytes). */
void fr_format_ts(uint64_t ts_ns, char *buf, size_t len);

/* A growable output buffer. Owned by the caller; fr_buf_free accepts NULL
 * members. */
struct fr_buf {
	char *data;
	size_t len, cap;
};
int fr_buf_reserve(struct fr_buf *b, size_t extra);
int fr_buf_append(struct fr_buf *b, const void *p, size_t n);
int fr_buf_printf(struct fr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fr_buf_free(struct fr_buf *b);

/* Append s as a JSON string (quoted, escaped as in docs/EVENTS.md), or
 * null for NULL. Returns 0 or -ENOMEM. */
int fr_json_str(struct fr_buf *out, const char *s);

/* Append the event as one line of JSON (with the trailing newline) to out.
 * Returns 0 or -ENOMEM. The schema is docs/EVENTS.md. */
int fr_event_to_json(const struct fr_event *ev, struct fr_buf *out);

/* A deep copy in one malloc'd block (strings after the struct): the caller
 * owns it and frees it with free(). NULL when out of memory. */
struct fr_event *fr_event_dup(const struct fr_event *ev);

/* Compare two events field by field (strings by content). Returns 0 when
 * equal; else the 1-based index of the first differing field, for tests. */
int fr_event_compare(const struct fr_event *a, const struct fr_event *b);

#endif
