// SPDX-License-Identifier: GPL-2.0
/* sensor.bpf.c - flightrec's kernel side: persistent-state interactions.
 *
 * Why this shape: the kernel here allows tracepoints and uprobes only (no
 * kprobes, no fentry, so no bpf_d_path). Syscall entries stash their
 * arguments per thread; the matching exits read the (now resident) user
 * strings, resolve directories by walking dentries, and emit one complete
 * record. Writes are aggregated in the kernel: only the first write through
 * an open file by a process is sent. Records are assembled in a per-CPU
 * scratch buffer and copied into the ring buffer with their exact size.
 *
 * Argument meanings in sensor_event.arg[] per kind:
 *   FORK    arg0 child tgid
 *   EXIT    arg0 raw exit_code (status << 8 | signal)
 *   KILL    arg0 target pid, arg1 signal
 *   SETUID  arg0 new uid, arg1 new euid
 *   OPEN    arg0 flags, arg1 mode
 *   CHMOD   arg0 mode        CHOWN arg0 owner, arg1 group
 *   MKDIR   arg0 mode        TRUNCATE arg0 length
 *   RENAME  arg0 flags
 *   LISTEN/UNLISTEN/CONNECT/ACCEPT
 *           arg0 proto | family << 8 | port << 16 | rport << 32,
 *           arg1..arg2 local address (16 bytes), raddr in data[0..15]
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "sensor_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define AT_EMPTY_PATH 0x1000
#define O_ACCMODE 3
#define O_CREAT 0100
#define FMODE_WRITE 0x2
#define FMODE_CREATED 0x100000
#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFSOCK 0140000
#define AF_INET 2
#define AF_INET6 10
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_LISTEN 10
#define TCP_CLOSE 7
#define EINPROGRESS 115
#define DATA_MASK (SENSOR_DATA_MAX - 1)

const volatile struct sensor_config cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} events SEC(".maps");

/* Records that could not be sent: index 0, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sensor_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct sensor_pending);
} pending SEC(".maps");

/* exec records, built at sys_enter_execve and sent at sys_exit_execve */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, struct sensor_event);
} exec_pending SEC(".maps");

/* The first-write filter: (file, tgid) pairs already reported. An open for
 * writing re-arms its file, so a reused struct file is never suppressed. */
struct write_key {
	__u64 file;
	__u32 tgid;
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct write_key);
	__type(value, __u8);
} written SEC(".maps");

/* Processes holding bound UDP sockets: their exit scans their fds. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} udp_owners SEC(".maps");

/* How many bound UDP sockets are tracked: close(2) is free while it is 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} udp_count SEC(".maps");

static __always_inline void udp_count_add(__s64 d)
{
	__u32 zero = 0;
	__s64 *n = bpf_map_lookup_elem(&udp_count, &zero);
	if (n)
		__sync_fetch_and_add(n, d);
}

static __always_inline bool udp_none(void)
{
	__u32 zero = 0;
	__s64 *n = bpf_map_lookup_elem(&udp_count, &zero);
	return !n || *n <= 0;
}

/* Bound UDP sockets (struct sock *), so that their close is an unlisten. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} udp_bound SEC(".maps");

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline bool is_self(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == cfg.self_tgid;
}

static __always_inline __u32 tty_of(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	if (!tty)
		return 0;
	int index = BPF_CORE_READ(tty, index);
	struct tty_driver *drv = BPF_CORE_READ(tty, driver);
	__u32 major = BPF_CORE_READ(drv, major);
	__u32 minor = BPF_CORE_READ(drv, minor_start) + index;
	return major << 20 | (minor & 0xfffff);
}

/* Fill the task-derived header fields for the current task. */
static __always_inline void fill_task(struct sensor_event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pstart_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, cred, uid.val);
	e->euid = BPF_CORE_READ(task, cred, euid.val);
	e->auid = BPF_CORE_READ(task, loginuid.val);
	e->ses = BPF_CORE_READ(task, sessionid);
	e->tty = tty_of(task);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* Fill the whole header, with no strings yet. */
static __always_inline void fill_common(struct sensor_event *e, __u32 kind)
{
	fill_task(e);
	e->kind = kind;
	e->error = 0;
	e->str_flags = 0;
	e->arg[0] = e->arg[1] = e->arg[2] = e->arg[3] = 0;
	for (int i = 0; i < SS__COUNT; i++) {
		e->str_off[i] = 0;
		e->str_len[i] = 0;
	}
	e->comm2[0] = 0;
}

static __always_inline struct sensor_event *new_event(__u32 kind)
{
	__u32 zero = 0;
	struct sensor_event *e = bpf_map_lookup_elem(&scratch, &zero); /* scratch_event() */
	if (!e)
		return NULL;
	fill_common(e, kind);
	return e;
}

/* Send the record: header plus `used` bytes of data. Wakes the reader only
 * when a good amount is waiting, so a quiet system costs no wakeups. */
static __always_inline void submit(struct sensor_event *e, __u32 used)
{
	__u64 size = SENSOR_HDR_SIZE + (used & (SENSOR_DATA_MAX - 1));
	if (used >= SENSOR_DATA_MAX)
		size = SENSOR_HDR_SIZE + SENSOR_DATA_MAX;
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > (256 << 10) ? BPF_RB_FORCE_WAKEUP
										    : BPF_RB_NO_WAKEUP;
	if (size > sizeof(*e))
		return;
	if (bpf_ringbuf_output(&events, e, size, flags))
		count_lost();
}

/* Append a user string as slot `slot`; returns the new used length. */
static __noinline __u32 put_user_str(struct sensor_event *e, __u32 used, __u32 slot, const char *ustr)
{
	if (!e || used >= SENSOR_DATA_MAX || slot >= SS__COUNT)
		return used;
	long n = bpf_probe_read_user_str(&e->data[used & DATA_MASK], SENSOR_NAME_MAX, ustr);
	if (n <= 0)
		return used;
	e->str_off[slot] = used;
	e->str_len[slot] = n - 1;
	e->str_flags |= SF_PRESENT(slot);
	if (n == SENSOR_NAME_MAX)
		e->str_flags |= SF_TRUNC(slot);
	return used + n;
}

/* The dentry walk runs under bpf_loop so that the verifier checks one step
 * once, instead of every path through 48 unrolled iterations. */
struct chain_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 complete;
};

/* The write cursor of a loop lives in a map, not on the stack: values loaded
 * from a map are unknown to the verifier, so loop states converge instead of
 * being explored once per possible offset. */
struct cursor {
	__u32 used;
	__u32 start;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cursor);
} cursors SEC(".maps");

static __always_inline struct cursor *cursor_get(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&cursors, &zero);
}

static __always_inline struct sensor_event *scratch_event(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

static long chain_step(__u32 index, void *arg)
{
	struct chain_walk *w = arg;
	struct sensor_event *e = scratch_event();
	struct cursor *cur = cursor_get();
	if (!e || !cur)
		return 1;
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	if (dentry == w->root_dentry && vfsmnt == w->root_mnt) {
		w->complete = 1;
		return 1;
	}
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	__u32 used = cur->used;
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent && mnt_parent != mnt) {
			w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			w->vfsmnt = (struct vfsmount *)((char *)mnt_parent + bpf_core_field_offset(struct mount, mnt));
			return 0;
		}
		if (dentry != mnt_root && used < SENSOR_DATA_MAX) {
			/* a dentry of its own: pipe, socket, anon inode, memfd */
			const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
			long n = bpf_probe_read_kernel_str(&e->data[used & DATA_MASK], 256, name);
			if (n > 0)
				cur->used = used + n;
		}
		w->complete = 1;
		return 1;
	}
	if (used - cur->start >= SENSOR_CHAIN_MAX - 256 || used >= SENSOR_DATA_MAX)
		return 1;
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	long n = bpf_probe_read_kernel_str(&e->data[used & DATA_MASK], 256, name);
	if (n > 0)
		cur->used = used + n;
	w->dentry = parent;
	return 0;
}

/* Append the dentry chain of (dentry, vfsmnt) to the scratch record `e` as
 * slot `slot`: components leaf to root, stopping at the task's root.
 * Returns the new used length. */
static __always_inline __u32 put_chain(struct sensor_event *e, __u32 used, __u32 slot, struct dentry *dentry,
				       struct vfsmount *vfsmnt)
{
	if (slot >= SS__COUNT || !dentry || !vfsmnt)
		return used;
	struct cursor *cur = cursor_get();
	if (!cur)
		return used;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct chain_walk w = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
	};
	cur->used = used;
	cur->start = used;
	bpf_loop(SENSOR_CHAIN_DEPTH, chain_step, &w, 0);
	__u32 end = cur->used;
	e->str_off[slot] = used;
	e->str_len[slot] = end - used;
	e->str_flags |= SF_PRESENT(slot);
	if (!w.complete)
		e->str_flags |= SF_TRUNC(slot);
	return end;
}

static __always_inline struct file *file_of_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned int)fd >= max)
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 put_file(struct sensor_event *e, __u32 used, __u32 slot, struct file *f)
{
	if (!f)
		return used;
	return put_chain(e, used, slot, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

/* A path argument: `dirfd`-relative (or cwd-relative) user string `name`.
 * The base chain is only added when the name is relative. */
static __always_inline __u32 put_path(struct sensor_event *e, __u32 used, __u32 base_slot, int dirfd,
				      const char *name)
{
	__u32 name_slot = base_slot + 1;
	if (name_slot >= SS__COUNT)
		return used;
	used = put_user_str(e, used, name_slot, name);
	char first = 0;
	if (e->str_flags & SF_PRESENT(name_slot)) {
		__u32 off = e->str_off[name_slot];
		first = e->data[off & DATA_MASK];
	}
	if (first == '/')
		return used;
	if (dirfd == AT_FDCWD) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		return put_chain(e, used, base_slot, BPF_CORE_READ(task, fs, pwd.dentry),
				 BPF_CORE_READ(task, fs, pwd.mnt));
	}
	return put_file(e, used, base_slot, file_of_fd(dirfd));
}

static __always_inline int errno_of(long ret)
{
	return ret < 0 && ret > -4096 ? (int)-ret : 0;
}

/* ---- syscall entries: stash the arguments ---- */

/* Only read the arguments the syscall has: a tracepoint program that reads
 * past its record is refused at attach time (EACCES). */
static __always_inline int stash(struct trace_event_raw_sys_enter *ctx, int nargs)
{
	if (is_self())
		return 0;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sensor_pending p = {};
	p.nr = ctx->id;
	/* one by one: the verifier rejects a walking pointer into ctx */
	if (nargs > 0)
		p.args[0] = ctx->args[0];
	if (nargs > 1)
		p.args[1] = ctx->args[1];
	if (nargs > 2)
		p.args[2] = ctx->args[2];
	if (nargs > 3)
		p.args[3] = ctx->args[3];
	if (nargs > 4)
		p.args[4] = ctx->args[4];
	if (bpf_map_update_elem(&pending, &tid, &p, BPF_ANY))
		count_lost();
	return 0;
}

static __always_inline struct sensor_pending *take(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	return bpf_map_lookup_elem(&pending, &tid);
}

static __always_inline void drop(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&pending, &tid);
}

#define ENTER(name, nargs)                                                                                \
	SEC("tp/syscalls/sys_enter_" #name)                                                               \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                                           \
	{                                                                                                 \
		return stash(ctx, nargs);                                                                 \
	}

/* Credential changes also keep the ids from before the change: the event
 * is attributed to who the process was when it asked. */
#define ENTER_CRED(name, nargs)                                                                           \
	SEC("tp/syscalls/sys_enter_" #name)                                                               \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                                           \
	{                                                                                                 \
		stash(ctx, nargs);                                                                        \
		struct sensor_pending *p = take();                                                        \
		if (p) {                                                                                  \
			struct task_struct *task = (struct task_struct *)bpf_get_current_task();          \
			p->args[4] = BPF_CORE_READ(task, cred, uid.val) |                                 \
				     (__u64)BPF_CORE_READ(task, cred, euid.val) << 32;                    \
			p->args[5] = BPF_CORE_READ(task, cred, gid.val) |                                 \
				     (__u64)BPF_CORE_READ(task, cred, egid.val) << 32;                    \
		}                                                                                         \
		return 0;                                                                                 \
	}

ENTER(open, 3)
ENTER(openat, 4)
ENTER(openat2, 4)
ENTER(creat, 2)
ENTER(unlink, 1)
ENTER(unlinkat, 3)
ENTER(rmdir, 1)
ENTER(mkdir, 2)
ENTER(mkdirat, 3)
ENTER(rename, 2)
ENTER(renameat, 4)
ENTER(renameat2, 5)
ENTER(link, 2)
ENTER(linkat, 5)
ENTER(symlink, 2)
ENTER(symlinkat, 3)
ENTER(chmod, 2)
ENTER(fchmod, 2)
ENTER(fchmodat, 3)
ENTER(fchmodat2, 4)
ENTER(chown, 3)
ENTER(lchown, 3)
ENTER(fchown, 3)
ENTER(fchownat, 5)
ENTER(truncate, 2)
ENTER(ftruncate, 2)
ENTER(kill, 2)
ENTER(tkill, 2)
ENTER(tgkill, 3)
ENTER(pidfd_send_signal, 4)
ENTER_CRED(setuid, 1)
ENTER_CRED(setreuid, 2)
ENTER_CRED(setresuid, 3)
ENTER_CRED(setgid, 1)
ENTER_CRED(setregid, 2)
ENTER_CRED(setresgid, 3)
ENTER(listen, 2)
ENTER(bind, 3)
ENTER(connect, 3)
ENTER(accept, 3)
ENTER(accept4, 4)

/* ---- files ---- */

/* open/openat/openat2/creat: args differ in position, normalised here. */
static __always_inline int on_open_exit(long ret, int dirfd, const char *name, __u32 flags, __u32 mode)
{
	__u32 acc = flags & O_ACCMODE;
	if (cfg.no_reads && acc == 0 && !(flags & O_CREAT))
		return 0;
	struct sensor_event *e = new_event(SK_OPEN);
	if (!e)
		return 0;
	e->arg[0] = flags;
	e->arg[1] = mode;
	__u32 used = 0;
	if (ret >= 0) {
		struct file *f = file_of_fd((int)ret);
		if (!f)
			return 0;
		if (BPF_CORE_READ(f, f_mode) & FMODE_CREATED)
			e->str_flags |= SF_CREATED;
		if (acc != 0) {
			/* re-arm the first-write filter for this open file */
			struct write_key k = {.file = (__u64)f, .tgid = e->pid};
			bpf_map_delete_elem(&written, &k);
		}
		used = put_file(e, used, SS_PATH_BASE, f);
	} else {
		e->error = errno_of(ret);
		used = put_path(e, used, SS_PATH_BASE, dirfd, name);
	}
	submit(e, used);
	return 0;
}

SEC("tp/syscalls/sys_exit_open")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p)
		on_open_exit(ctx->ret, AT_FDCWD, (const char *)p->args[0], p->args[1], p->args[2]);
	drop();
	return 0;
}

SEC("tp/syscalls/sys_exit_creat")
int exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p)
		on_open_exit(ctx->ret, AT_FDCWD, (const char *)p->args[0], 01 | 0100 | 01000, p->args[1]);
	drop();
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p)
		on_open_exit(ctx->ret, (int)p->args[0], (const char *)p->args[1], p->args[2], p->args[3]);
	drop();
	return 0;
}

SEC("tp/syscalls/sys_exit_openat2")
int exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p) {
		struct open_how how = {};
		bpf_probe_read_user(&how, sizeof(how), (void *)p->args[2]);
		on_open_exit(ctx->ret, (int)p->args[0], (const char *)p->args[1], how.flags, how.mode);
	}
	drop();
	return 0;
}

/* One path, dirfd-relative: unlink, rmdir, mkdir, chmod, chown, truncate. */
static __always_inline void path_op(long ret, __u32 kind, int dirfd, const char *name, __u64 a0, __u64 a1)
{
	struct sensor_event *e = new_event(kind);
	if (!e)
		return;
	e->error = errno_of(ret);
	e->arg[0] = a0;
	e->arg[1] = a1;
	__u32 used = put_path(e, 0, SS_PATH_BASE, dirfd, name);
	submit(e, used);
}

/* An fd's file: fchmod, fchown, ftruncate, and *at(fd, "", AT_EMPTY_PATH). */
static __always_inline void fd_op(long ret, __u32 kind, int fd, __u64 a0, __u64 a1)
{
	struct sensor_event *e = new_event(kind);
	if (!e)
		return;
	e->error = errno_of(ret);
	e->arg[0] = a0;
	e->arg[1] = a1;
	__u32 used = put_file(e, 0, SS_PATH_BASE, file_of_fd(fd));
	submit(e, used);
}

/* Two paths: rename, link, symlink (whose first name is literal text). */
static __always_inline void path2_op(long ret, __u32 kind, int olddirfd, const char *oldname, int newdirfd,
				     const char *newname, __u64 a0)
{
	struct sensor_event *e = new_event(kind);
	if (!e)
		return;
	e->error = errno_of(ret);
	e->arg[0] = a0;
	__u32 used;
	if (kind == SK_SYMLINK) {
		/* path = the new link, path2 = its target as written */
		used = put_path(e, 0, SS_PATH_BASE, newdirfd, newname);
		used = put_user_str(e, used, SS_PATH2_NAME, oldname);
	} else {
		used = put_path(e, 0, SS_PATH_BASE, olddirfd, oldname);
		used = put_path(e, used, SS_PATH2_BASE, newdirfd, newname);
	}
	submit(e, used);
}

#define EXIT_PATH(name, kind, dirfd_expr, name_arg, a0_expr, a1_expr)                                     \
	SEC("tp/syscalls/sys_exit_" #name)                                                                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                                             \
	{                                                                                                 \
		struct sensor_pending *p = take();                                                        \
		if (p)                                                                                    \
			path_op(ctx->ret, kind, dirfd_expr, (const char *)p->args[name_arg], a0_expr,     \
				a1_expr);                                                                 \
		drop();                                                                                   \
		return 0;                                                                                 \
	}

EXIT_PATH(unlink, SK_DELETE, AT_FDCWD, 0, 0, 0)
EXIT_PATH(rmdir, SK_RMDIR, AT_FDCWD, 0, 0, 0)
EXIT_PATH(mkdir, SK_MKDIR, AT_FDCWD, 0, p->args[1], 0)
EXIT_PATH(mkdirat, SK_MKDIR, (int)p->args[0], 1, p->args[2], 0)
EXIT_PATH(chmod, SK_CHMOD, AT_FDCWD, 0, p->args[1], 0)
EXIT_PATH(chown, SK_CHOWN, AT_FDCWD, 0, p->args[1], p->args[2])
EXIT_PATH(lchown, SK_CHOWN, AT_FDCWD, 0, p->args[1], p->args[2])
EXIT_PATH(truncate, SK_TRUNCATE, AT_FDCWD, 0, p->args[1], 0)

SEC("tp/syscalls/sys_exit_unlinkat")
int exit_unlinkat(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p)
		path_op(ctx->ret, (p->args[2] & AT_REMOVEDIR) ? SK_RMDIR : SK_DELETE, (int)p->args[0],
			(const char *)p->args[1], 0, 0);
	drop();
	return 0;
}

/* fchmodat(dirfd, name, mode) and fchmodat2(dirfd, name, mode, flags) */
static __always_inline void at_or_fd_op(long ret, __u32 kind, struct sensor_pending *p, __u64 flags, __u64 a0,
					__u64 a1)
{
	char first = 1;
	if (flags & AT_EMPTY_PATH)
		bpf_probe_read_user(&first, 1, (void *)p->args[1]);
	if (first == 0)
		fd_op(ret, kind, (int)p->args[0], a0, a1);
	else
		path_op(ret, kind, (int)p->args[0], (const char *)p->args[1], a0, a1);
}

SEC("tp/syscalls/sys_exit_fchmodat")
int exit_fchmodat(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p)
		at_or_fd_op(ctx->ret, SK_CHMOD, p, 0, p->args[2], 0);
	drop();
	return 0;
}

SEC("tp/syscalls/sys_exit_fchmodat2")
int exit_fchmodat2(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p)
		at_or_fd_op(ctx->ret, SK_CHMOD, p, p->args[3], p->args[2], 0);
	drop();
	return 0;
}

SEC("tp/syscalls/sys_exit_fchownat")
int exit_fchownat(struct trace_event_raw_sys_exit *ctx)
{
	struct sensor_pending *p = take();
	if (p)
		at_or_fd_op(ctx->ret, SK_CHOWN, p, p->args[4], p->args[2], p->args[3]);
	drop();
	return 0;
}

#define EXIT_FD(name, kind, a0_expr, a1_expr)                                                             \
	SEC("tp/syscalls/sys_exit_" #name)                                                                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                                             \
	{                                                                                                 \
		struct sensor_pending *p = take();                                                        \
		if (p)                                                                                    \
			fd_op(ctx->ret, kind, (int)p->args[0], a0_expr, a1_expr);                         \
		drop();                                                                                   \
		return 0;                                                                                 \
	}

EXIT_FD(fchmod, SK_CHMOD, p->args[1], 0)
EXIT_FD(fchown, SK_CHOWN, p->args[1], p->args[2])
EXIT_FD(ftruncate, SK_TRUNCATE, p->args[1], 0)

#define EXIT_PATH2(name, kind, od, on, nd, nn, a0_expr)                                                   \
	SEC("tp/syscalls/sys_exit_" #name)                                                                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                                             \
	{                                                                                                 \
		struct sensor_pending *p = take();                                                        \
		if (p)                                                                                    \
			path2_op(ctx->ret, kind, od, (const char *)p->args[on], nd,                       \
				 (const char *)p->args[nn], a0_expr);                                     \
		drop();                                                                                   \
		return 0;                                                                                 \
	}

EXIT_PATH2(rename, SK_RENAME, AT_FDCWD, 0, AT_FDCWD, 1, 0)
EXIT_PATH2(renameat, SK_RENAME, (int)p->args[0], 1, (int)p->args[2], 3, 0)
EXIT_PATH2(renameat2, SK_RENAME, (int)p->args[0], 1, (int)p->args[2], 3, p->args[4])
EXIT_PATH2(link, SK_LINK, AT_FDCWD, 0, AT_FDCWD, 1, 0)
EXIT_PATH2(linkat, SK_LINK, (int)p->args[0], 1, (int)p->args[2], 3, 0)
EXIT_PATH2(symlink, SK_SYMLINK, AT_FDCWD, 0, AT_FDCWD, 1, 0)
EXIT_PATH2(symlinkat, SK_SYMLINK, AT_FDCWD, 0, (int)p->args[1], 2, 0)

/* ---- the first write through each open file ---- */

static __always_inline int on_write(int fd)
{
	if (is_self())
		return 0;
	struct file *f = file_of_fd(fd);
	if (!f)
		return 0;
	struct write_key k = {.file = (__u64)f, .tgid = bpf_get_current_pid_tgid() >> 32};
	if (bpf_map_lookup_elem(&written, &k))
		return 0;
	if (!(BPF_CORE_READ(f, f_mode) & FMODE_WRITE))
		return 0;
	__u32 imode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((imode & S_IFMT) != S_IFREG)
		return 0;
	__u8 one = 1;
	bpf_map_update_elem(&written, &k, &one, BPF_ANY);
	struct sensor_event *e = new_event(SK_MODIFY);
	if (!e)
		return 0;
	submit(e, put_file(e, 0, SS_PATH_BASE, f));
	return 0;
}

#define ENTER_WRITE(name)                                                                                 \
	SEC("tp/syscalls/sys_enter_" #name)                                                               \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                                           \
	{                                                                                                 \
		return on_write((int)ctx->args[0]);                                                       \
	}

ENTER_WRITE(write)
ENTER_WRITE(writev)
ENTER_WRITE(pwrite64)
ENTER_WRITE(pwritev)
ENTER_WRITE(pwritev2)

static __always_inline void udp_exit_scan(__u32 tgid);

/* ---- processes ---- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	if (is_self())
		return 0;
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a thread */
	struct sensor_event *e = new_event(SK_FORK);
	if (!e)
		return 0;
	e->arg[0] = BPF_CORE_READ(child, tgid);
	submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task, bool group_dead)
{
	if (!group_dead || is_self())
		return 0;
	udp_exit_scan(BPF_CORE_READ(task, tgid));
	struct sensor_event *e = new_event(SK_EXIT);
	if (!e)
		return 0;
	e->arg[0] = BPF_CORE_READ(task, exit_code);
	submit(e, 0);
	return 0;
}

struct argv_walk {
	const char *const *argv;
	__u32 complete; /* 2: saw the terminating NULL; 0: something was cut */
};

static long argv_step(__u32 i, void *arg)
{
	struct argv_walk *w = arg;
	struct sensor_event *e = scratch_event();
	struct cursor *cur = cursor_get();
	if (!e || !cur)
		return 1;
	const char *p = NULL;
	bpf_probe_read_user(&p, sizeof(p), &w->argv[i & (SENSOR_ARGC_MAX - 1)]);
	if (!p) {
		w->complete = w->complete ? 2 : 0;
		return 1;
	}
	__u32 used = cur->used;
	if (used - cur->start >= SENSOR_ARGV_MAX - 256 || used >= SENSOR_DATA_MAX) {
		w->complete = 0;
		return 1;
	}
	long n = bpf_probe_read_user_str(&e->data[used & DATA_MASK], 256, p);
	if (n <= 0) {
		w->complete = 0;
		return 1;
	}
	if (n == 256)
		w->complete = 0; /* this argument was cut */
	cur->used = used + n;
	return 0;
}

static __always_inline int on_exec_enter(int dirfd, const char *filename, const char *const *argv)
{
	if (is_self())
		return 0;
	struct sensor_event *e = new_event(SK_EXEC);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 used = put_path(e, 0, SS_PATH_BASE, dirfd, filename);
	used = put_chain(e, used, SS_CWD, BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt));
	struct cursor *cur = cursor_get();
	if (!cur)
		return 0;
	struct argv_walk aw = {.argv = argv, .complete = 1};
	cur->used = used;
	cur->start = used;
	bpf_loop(SENSOR_ARGC_MAX, argv_step, &aw, 0);
	__u32 start = used;
	used = cur->used;
	__u32 argc_done = aw.complete == 2; /* reached argv's NULL, nothing cut */
	e->str_off[SS_ARGV] = start;
	e->str_len[SS_ARGV] = used - start;
	e->str_flags |= SF_PRESENT(SS_ARGV);
	if (!argc_done)
		e->str_flags |= SF_TRUNC(SS_ARGV);
	e->arg[3] = used;
	__u32 tid = e->tid;
	if (bpf_map_update_elem(&exec_pending, &tid, e, BPF_ANY))
		count_lost();
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return on_exec_enter(AT_FDCWD, (const char *)ctx->args[0], (const char *const *)ctx->args[1]);
}

SEC("tp/syscalls/sys_enter_execveat")
int enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return on_exec_enter((int)ctx->args[0], (const char *)ctx->args[1], (const char *const *)ctx->args[2]);
}

static __always_inline int on_exec_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sensor_event *pend = bpf_map_lookup_elem(&exec_pending, &tid);
	struct sensor_event *e = scratch_event();
	if (!pend || !e)
		return 0;
	/* chains are appended in the scratch record only, so work on a copy */
	bpf_probe_read_kernel(e, sizeof(*e), pend);
	bpf_map_delete_elem(&exec_pending, &tid);
	__u32 used = e->arg[3];
	e->arg[3] = 0;
	/* after a successful exec, the header describes the new program */
	fill_task(e);
	e->error = errno_of(ret);
	if (ret == 0) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		struct file *exe = BPF_CORE_READ(task, mm, exe_file);
		used = put_file(e, used, SS_EXE, exe);
	}
	submit(e, used);
	return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return on_exec_exit(ctx->ret);
}

SEC("tp/syscalls/sys_exit_execveat")
int exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return on_exec_exit(ctx->ret);
}

/* ---- credentials ---- */

static __always_inline int on_setuid_exit(long ret)
{
	struct sensor_pending *p = take();
	if (p && ret == 0) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		__u64 ids = BPF_CORE_READ(task, cred, uid.val) | (__u64)BPF_CORE_READ(task, cred, euid.val) << 32;
		__u64 gids = BPF_CORE_READ(task, cred, gid.val) | (__u64)BPF_CORE_READ(task, cred, egid.val) << 32;
		/* only real changes: sudo and su repeat the same ids many times */
		struct sensor_event *e = ids != p->args[4] || gids != p->args[5] ? new_event(SK_SETUID) : NULL;
		if (e) {
			e->arg[0] = e->uid;
			e->arg[1] = e->euid;
			e->arg[2] = gids;
			e->uid = (__u32)p->args[4];
			e->euid = (__u32)(p->args[4] >> 32);
			submit(e, 0);
		}
	}
	drop();
	return 0;
}

#define EXIT_CRED(name)                                                                                   \
	SEC("tp/syscalls/sys_exit_" #name)                                                                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                                             \
	{                                                                                                 \
		return on_setuid_exit(ctx->ret);                                                          \
	}
EXIT_CRED(setuid)
EXIT_CRED(setreuid)
EXIT_CRED(setresuid)
EXIT_CRED(setgid)
EXIT_CRED(setregid)
EXIT_CRED(setresgid)

/* ---- signals: one record per signal actually generated ---- */

SEC("tp/signal/signal_generate")
int on_signal_generate(struct trace_event_raw_signal_generate *ctx)
{
	struct sensor_pending *p = take();
	if (!p)
		return 0;
	if (p->nr != 62 && p->nr != 200 && p->nr != 234 && p->nr != 424)
		return 0; /* not inside kill/tkill/tgkill/pidfd_send_signal */
	struct sensor_event *e = new_event(SK_KILL);
	if (!e)
		return 0;
	p->signals++;
	e->arg[0] = ctx->pid;
	e->arg[1] = ctx->sig;
	if (ctx->group)
		e->str_flags |= SF_PROCESS;
	bpf_probe_read_kernel(e->comm2, sizeof(e->comm2), ctx->comm);
	submit(e, 0);
	return 0;
}

static __always_inline int on_kill_exit(long ret, __u32 target_arg, __u32 sig_arg)
{
	struct sensor_pending *p = take();
	if (p && ret < 0 && p->signals == 0 && target_arg < 6 && sig_arg < 6) {
		__u64 sig = p->args[sig_arg];
		if (sig != 0) {
			struct sensor_event *e = new_event(SK_KILL);
			if (e) {
				e->error = errno_of(ret);
				e->arg[0] = p->args[target_arg];
				e->arg[1] = sig;
				submit(e, 0);
			}
		}
	}
	drop();
	return 0;
}

SEC("tp/syscalls/sys_exit_kill")
int exit_kill(struct trace_event_raw_sys_exit *ctx)
{
	return on_kill_exit(ctx->ret, 0, 1);
}

SEC("tp/syscalls/sys_exit_tkill")
int exit_tkill(struct trace_event_raw_sys_exit *ctx)
{
	return on_kill_exit(ctx->ret, 0, 1);
}

SEC("tp/syscalls/sys_exit_tgkill")
int exit_tgkill(struct trace_event_raw_sys_exit *ctx)
{
	return on_kill_exit(ctx->ret, 1, 2);
}

SEC("tp/syscalls/sys_exit_pidfd_send_signal")
int exit_pidfd_send_signal(struct trace_event_raw_sys_exit *ctx)
{
	return on_kill_exit(ctx->ret, 0, 1);
}

/* ---- sockets ---- */

static __always_inline struct sock *sock_of_fd(int fd)
{
	struct file *f = file_of_fd(fd);
	if (!f)
		return NULL;
	__u32 imode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((imode & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

/* Fill addresses of an inet socket; returns false for other families. */
static __always_inline bool put_sock(struct sensor_event *e, struct sock *sk)
{
	if (!sk)
		return false;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return false;
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);
	__u16 lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u16 rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->arg[0] = proto | (__u64)(family == AF_INET ? 4 : 6) << 8 | (__u64)lport << 16 | (__u64)rport << 32;
	if (family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(&e->arg[1], &l, 4);
		__builtin_memcpy(&e->data[0], &r, 4);
	} else {
		BPF_CORE_READ_INTO(&e->arg[1], sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->data[0], sk, __sk_common.skc_v6_daddr);
	}
	return true;
}

static __always_inline void sock_event(long ret, __u32 kind, int fd, bool need_udp)
{
	struct sock *sk = sock_of_fd(fd);
	if (!sk)
		return;
	if (need_udp && BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return;
	struct sensor_event *e = new_event(kind);
	if (!e)
		return;
	e->error = errno_of(ret);
	if (kind == SK_CONNECT && e->error == EINPROGRESS)
		e->error = 0;
	__builtin_memset(e->data, 0, 16);
	if (!put_sock(e, sk))
		return;
	if (need_udp && !e->error) {
		__u64 key = (__u64)sk;
		__u8 one = 1;
		if (bpf_map_update_elem(&udp_bound, &key, &one, BPF_NOEXIST) == 0)
			udp_count_add(1);
		bpf_map_update_elem(&udp_owners, &e->pid, &one, BPF_ANY);
	}
	submit(e, 16);
}

#define EXIT_SOCK(name, kind, udp_only)                                                                    \
	SEC("tp/syscalls/sys_exit_" #name)                                                                \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                                             \
	{                                                                                                 \
		struct sensor_pending *p = take();                                                        \
		if (p)                                                                                    \
			sock_event(ctx->ret, kind, (int)p->args[0], udp_only);                            \
		drop();                                                                                   \
		return 0;                                                                                 \
	}

EXIT_SOCK(listen, SK_LISTEN, false)
EXIT_SOCK(bind, SK_LISTEN, true) /* a bound UDP port is a listener */
EXIT_SOCK(connect, SK_CONNECT, false)

SEC("tp/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret >= 0)
		sock_event(0, SK_ACCEPT, (int)ctx->ret, false);
	drop();
	return 0;
}

SEC("tp/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret >= 0)
		sock_event(0, SK_ACCEPT, (int)ctx->ret, false);
	drop();
	return 0;
}

/* A listening TCP socket closes: LISTEN -> CLOSE, in the closer's context. */
SEC("tp/sock/inet_sock_set_state")
int on_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->oldstate != TCP_LISTEN || ctx->newstate != TCP_CLOSE || ctx->protocol != IPPROTO_TCP)
		return 0;
	if (is_self())
		return 0;
	struct sensor_event *e = new_event(SK_UNLISTEN);
	if (!e)
		return 0;
	__builtin_memset(e->data, 0, 16);
	if (!put_sock(e, (struct sock *)ctx->skaddr))
		return 0;
	/* the port is already unhashed here; the tracepoint kept a copy */
	e->arg[0] = (e->arg[0] & ~0xffff0000ull) | (__u64)ctx->sport << 16;
	submit(e, 16);
	return 0;
}

/* The last reference to a bound UDP socket's file goes: an unlisten. */
static __always_inline void udp_release(struct file *f)
{
	if (!f)
		return;
	__u32 imode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((imode & S_IFMT) != S_IFSOCK)
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u64 key = (__u64)sk;
	if (!sk || !bpf_map_lookup_elem(&udp_bound, &key))
		return;
	long refs = BPF_CORE_READ(f, f_ref.refcnt.counter);
	if (refs != 0) /* file_ref_t: 0 means exactly one reference */
		return;
	if (bpf_map_delete_elem(&udp_bound, &key) == 0)
		udp_count_add(-1);
	struct sensor_event *e = new_event(SK_UNLISTEN);
	if (!e)
		return;
	__builtin_memset(e->data, 0, 16);
	if (!put_sock(e, sk))
		return;
	submit(e, 16);
}

SEC("tp/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	if (udp_none() || is_self())
		return 0;
	udp_release(file_of_fd((int)ctx->args[0]));
	return 0;
}

/* A process that exits closes its files without close(2): scan its fd
 * table, but only if it ever bound a UDP socket. */
#define EXIT_FD_SCAN 1024
static long exit_scan_step(__u32 fd, void *arg)
{
	(void)arg;
	udp_release(file_of_fd((int)fd));
	return 0;
}

static __always_inline void udp_exit_scan(__u32 tgid)
{
	if (!bpf_map_lookup_elem(&udp_owners, &tgid))
		return;
	bpf_map_delete_elem(&udp_owners, &tgid);
	bpf_loop(EXIT_FD_SCAN, exit_scan_step, NULL, 0);
}

/* ---- interactive shells: the command line as typed ---- */

/* bash's readline() returns each line the user typed, before the shell
 * expands or runs it: builtins, redirections and pipelines included. The
 * loader attaches this to every bash binary it finds. */
SEC("uretprobe")
int BPF_KRETPROBE(on_readline, const char *line)
{
	if (!line || is_self())
		return 0;
	struct sensor_event *e = new_event(SK_LINE);
	if (!e)
		return 0;
	submit(e, put_user_str(e, 0, SS_PATH_NAME, line));
	return 0;
}
