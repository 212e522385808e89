/* sensor_abi.h - the record layout shared by the BPF programs and the loader.
 *
 * Why: one header, compiled by both clang -target bpf (with vmlinux.h) and
 * gcc (with linux/types.h), so the two sides cannot disagree. This layout is
 * private to the sensor: the loader turns it into struct fr_event
 * (src/event/event.h), which is the stable model. */
#ifndef FLIGHTREC_SENSOR_ABI_H
#define FLIGHTREC_SENSOR_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Raw record kinds (kernel side). The loader maps them to enum fr_kind. */
enum sensor_kind {
	SK_FORK = 1,
	SK_EXEC,
	SK_EXIT,
	SK_KILL,
	SK_SETUID,
	SK_OPEN,     /* success or failure; SF_CREATED set when O_CREAT made it */
	SK_MODIFY,
	SK_DELETE,
	SK_RENAME,
	SK_LINK,
	SK_SYMLINK,
	SK_MKDIR,
	SK_RMDIR,
	SK_CHMOD,
	SK_CHOWN,
	SK_TRUNCATE,
	SK_LISTEN,
	SK_UNLISTEN,
	SK_CONNECT,
	SK_ACCEPT,
	SK_LINE,     /* bash's readline returned a line: SS_PATH_NAME holds it */
};

/* String slots. A path is either a resolved dentry chain (BASE slot alone),
 * or a base chain (the dirfd's or cwd's directory) joined with the name the
 * process passed (NAME slot), or an absolute NAME alone. Chains are the path
 * components from leaf to root, each NUL-terminated; the loader reverses
 * them. */
enum sensor_slot {
	SS_PATH_BASE = 0,
	SS_PATH_NAME,
	SS_PATH2_BASE,
	SS_PATH2_NAME,
	SS_ARGV, /* exec: NUL-separated arguments */
	SS_CWD,  /* exec: the cwd chain */
	SS_EXE,  /* exec success: the new executable's chain */
	SS__COUNT
};

#define SENSOR_NAME_MAX 4096   /* one user-supplied name, PATH_MAX */
#define SENSOR_CHAIN_MAX 4096  /* one dentry chain */
#define SENSOR_CHAIN_DEPTH 48  /* components walked before giving up */
#define SENSOR_ARGV_MAX 4096   /* exec arguments, in bytes */
#define SENSOR_ARGC_MAX 128    /* exec arguments, in count */
#define SENSOR_DATA_MAX 16384  /* all slots of one record: a power of two */
#define SENSOR_DATA_SLACK 4096 /* so that a masked offset plus one write fits */

/* str_flags bits: slot present (1 << slot), slot truncated (1 << (8+slot)) */
#define SF_PRESENT(slot) (1u << (slot))
#define SF_TRUNC(slot) (1u << (8 + (slot)))
#define SF_CREATED (1u << 16)  /* open(O_CREAT) created the file */
#define SF_PROCESS (1u << 17)  /* kill/exit: target is a whole process */

struct sensor_event {
	__u64 ts_ns;        /* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u64 pstart_ns;    /* process start, CLOCK_BOOTTIME */
	__u64 arg[4];       /* kind-specific numbers, see sensor.bpf.c */
	__u32 kind;         /* enum sensor_kind */
	__u32 pid, tid, ppid;
	__u32 uid, euid, auid, ses;
	__u32 tty;          /* major << 20 | minor; 0 when none */
	__s32 error;        /* positive errno, or 0 */
	__u32 str_flags;
	__u32 pad0;
	__u16 str_off[SS__COUNT];
	__u16 str_len[SS__COUNT];
	__u32 pad1;
	char comm[16];
	char comm2[16];     /* kill: the target's comm */
	char data[SENSOR_DATA_MAX + SENSOR_DATA_SLACK];
};

#define SENSOR_HDR_SIZE 168

_Static_assert(sizeof(struct sensor_event) == SENSOR_HDR_SIZE + SENSOR_DATA_MAX + SENSOR_DATA_SLACK,
	       "sensor_event layout changed: update SENSOR_HDR_SIZE");
_Static_assert(__builtin_offsetof(struct sensor_event, data) == SENSOR_HDR_SIZE,
	       "sensor_event header size");
_Static_assert((SENSOR_DATA_MAX & (SENSOR_DATA_MAX - 1)) == 0, "SENSOR_DATA_MAX must be a power of two");

/* Syscall arguments stashed at sys_enter, keyed by thread id. */
struct sensor_pending {
	__u64 args[6];
	__u32 nr;         /* syscall number */
	__u32 signals;    /* kill: signal_generate records emitted */
};
_Static_assert(sizeof(struct sensor_pending) == 56, "sensor_pending layout");

/* Read-only configuration, set by the loader before load. */
struct sensor_config {
	__u32 self_tgid;   /* never record this process */
	__u32 no_reads;    /* skip read-only opens */
};

#endif
