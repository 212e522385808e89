/* sensor.c - load the BPF programs and decode their records into fr_events.
 *
 * Why: the only place that knows both the kernel record layout
 * (sensor_abi.h) and the event model (event.h). It follows libbpf-tools:
 * open, set rodata, load, attach, poll, with a single cleanup path. */
#include "sensor/sensor_int.h"
#include "sensor/sensor_abi.h"
#include "sensor.skel.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fr_sensor {
	struct sensor_bpf *skel;
	struct ring_buffer *rb;
	fr_sensor_cb cb;
	void *ctx;
	int cb_error;
	char host[256];
	struct sensor_clock clock;
	struct proc_table procs;
	uint64_t lost_reported;
	uint64_t delivered;
	int ncpus;
	/* decode buffers, reused for every record */
	char path[2][8192];
	char cwd[8192];
	char exe_buf[8192];
	char target_comm[17];
	struct bpf_link *shell_links[4];
	int nshell_links;
};

void sensor_clock_init(struct sensor_clock *c, uint64_t unit_ns)
{
	c->unit_ns = unit_ns ? unit_ns : 1000000u;
	struct timespec rt, bt, rt2;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	clock_gettime(CLOCK_REALTIME, &rt2);
	int64_t real = ((int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec + (int64_t)rt2.tv_sec * 1000000000 +
			rt2.tv_nsec) / 2;
	c->boot_to_real_ns = real - ((int64_t)bt.tv_sec * 1000000000 + bt.tv_nsec);
}

uint64_t sensor_event_time(const struct sensor_clock *c, uint64_t boot_ns)
{
	uint64_t t = (uint64_t)((int64_t)boot_ns + c->boot_to_real_ns);
	return t - t % c->unit_ns;
}

uint64_t sensor_now(const struct sensor_clock *c)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	uint64_t t = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	return t - t % c->unit_ns;
}

uint64_t sensor_pstart_utc(const struct sensor_clock *c, uint64_t boot_ns)
{
	uint64_t ticks = boot_ns / 10000000ull;
	return (uint64_t)((int64_t)(ticks * 10000000ull) + c->boot_to_real_ns);
}

static int errf(char *err, size_t len, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t len, int code, const char *fmt, ...)
{
	if (err && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* libbpf speaks only when asked to (FLIGHTREC_BPF_DEBUG): the CLI prints
 * one clear line of its own on failure. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!getenv("FLIGHTREC_BPF_DEBUG") || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static const char *slot(const struct sensor_event *e, size_t rec_size, int s, size_t *len)
{
	if (!(e->str_flags & SF_PRESENT(s)))
		return NULL;
	size_t off = e->str_off[s], n = e->str_len[s];
	if (SENSOR_HDR_SIZE + off + n > rec_size)
		return NULL;
	*len = n;
	return e->data + off;
}

/* Resolve path number `which` (0 or 1) of a record into s->path[which]. */
static const char *decode_path(struct fr_sensor *s, const struct sensor_event *e, size_t rec_size, int which,
			       uint32_t *trunc)
{
	int base_slot = which ? SS_PATH2_BASE : SS_PATH_BASE, name_slot = base_slot + 1;
	size_t clen = 0, nlen = 0;
	const char *chain = slot(e, rec_size, base_slot, &clen);
	const char *name = slot(e, rec_size, name_slot, &nlen);
	if (!chain && !name)
		return NULL;
	char namebuf[SENSOR_NAME_MAX + 1];
	if (name) {
		memcpy(namebuf, name, nlen < SENSOR_NAME_MAX ? nlen : SENSOR_NAME_MAX);
		namebuf[nlen < SENSOR_NAME_MAX ? nlen : SENSOR_NAME_MAX] = '\0';
	}
	/* A symlink's target is literal text, never resolved. */
	if (which == 1 && e->kind == SK_SYMLINK) {
		snprintf(s->path[1], sizeof(s->path[1]), "%s", name ? namebuf : "");
		if (e->str_flags & SF_TRUNC(name_slot))
			*trunc |= FR_TRUNC_PATH2;
		return s->path[1];
	}
	int r = fr_path_build(chain, clen, name ? namebuf : NULL, s->path[which], sizeof(s->path[which]));
	if (r == -ENAMETOOLONG || (e->str_flags & (SF_TRUNC(base_slot) | SF_TRUNC(name_slot))))
		*trunc |= which ? FR_TRUNC_PATH2 : FR_TRUNC_PATH;
	return r < 0 && r != -ENAMETOOLONG ? NULL : s->path[which];
}

static void decode_sock(struct fr_event *ev, const struct sensor_event *e)
{
	uint64_t a = e->arg[0];
	ev->proto = a & 0xff;
	uint8_t fam = (a >> 8) & 0xff;
	ev->port = (a >> 16) & 0xffff;
	ev->rport = (a >> 32) & 0xffff;
	ev->addr.family = fam;
	memcpy(ev->addr.bytes, &e->arg[1], fam == 4 ? 4 : 16);
	if (e->kind == SK_CONNECT || e->kind == SK_ACCEPT) {
		ev->raddr.family = fam;
		memcpy(ev->raddr.bytes, e->data, fam == 4 ? 4 : 16);
	}
}

static const uint32_t kind_map[] = {
	[SK_FORK] = FR_EV_FORK,       [SK_EXEC] = FR_EV_EXEC,         [SK_EXIT] = FR_EV_EXIT,
	[SK_KILL] = FR_EV_KILL,       [SK_SETUID] = FR_EV_SETUID,     [SK_OPEN] = FR_EV_OPEN,
	[SK_MODIFY] = FR_EV_MODIFY,   [SK_DELETE] = FR_EV_DELETE,     [SK_RENAME] = FR_EV_RENAME,
	[SK_LINK] = FR_EV_LINK,       [SK_SYMLINK] = FR_EV_SYMLINK,   [SK_MKDIR] = FR_EV_MKDIR,
	[SK_RMDIR] = FR_EV_RMDIR,     [SK_CHMOD] = FR_EV_CHMOD,       [SK_CHOWN] = FR_EV_CHOWN,
	[SK_TRUNCATE] = FR_EV_TRUNCATE, [SK_LISTEN] = FR_EV_LISTEN,   [SK_UNLISTEN] = FR_EV_UNLISTEN,
	[SK_CONNECT] = FR_EV_CONNECT, [SK_ACCEPT] = FR_EV_ACCEPT,   [SK_LINE] = FR_EV_LINE,
};

static char *dup_or_null(const char *p)
{
	return p ? strdup(p) : NULL;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct fr_sensor *s = ctx;
	const struct sensor_event *e = data;
	if (size < SENSOR_HDR_SIZE || e->kind == 0 || e->kind >= sizeof(kind_map) / sizeof(kind_map[0]))
		return 0;
	struct fr_event ev = {0};
	uint32_t trunc = 0;
	ev.ts_ns = sensor_event_time(&s->clock, e->ts_ns);
	ev.kind = kind_map[e->kind];
	ev.pid = e->pid;
	ev.tid = e->tid;
	ev.ppid = e->ppid;
	ev.uid = e->uid;
	ev.euid = e->euid;
	ev.auid = e->auid;
	ev.ses = e->ses;
	ev.tty = e->tty;
	ev.error = e->error;
	ev.cgroup = e->cgroup_id;
	ev.pstart_ns = sensor_pstart_utc(&s->clock, e->pstart_ns);
	ev.host = s->host;
	char comm[17];
	memcpy(comm, e->comm, 16);
	comm[16] = '\0';
	ev.comm = comm;

	uint64_t pstart_ticks = e->pstart_ns / 10000000ull;
	struct proc_entry *pe = proc_table_get(&s->procs, e->pid);
	if (pe && pe->pstart == 0)
		pe->pstart = pstart_ticks; /* first event of a child seen at fork */
	if (!pe || pe->pstart != pstart_ticks) {
		/* not seen before (or a reused pid): learn it from /proc */
		proc_table_put(&s->procs, e->pid, e->ppid, pstart_ticks, procscan_exe(e->pid));
		pe = proc_table_get(&s->procs, e->pid);
	}
	ev.exe = pe ? pe->exe : NULL;

	switch (e->kind) {
	case SK_FORK:
		ev.child_pid = (uint32_t)e->arg[0];
		/* the child starts with the parent's executable */
		proc_table_put(&s->procs, ev.child_pid, ev.pid, 0, dup_or_null(ev.exe));
		break;
	case SK_EXEC: {
		size_t n = 0;
		const char *exe = slot(e, size, SS_EXE, &n);
		if (exe) {
			fr_path_build(exe, n, NULL, s->exe_buf, sizeof(s->exe_buf));
			ev.path = s->exe_buf;
			if (pe) {
				free(pe->exe);
				pe->exe = strdup(s->exe_buf);
				pe->pstart = pstart_ticks;
				ev.exe = pe->exe;
			}
		} else {
			ev.path = decode_path(s, e, size, 0, &trunc);
		}
		const char *argv = slot(e, size, SS_ARGV, &n);
		if (argv) {
			ev.argv = argv;
			ev.argv_len = (uint32_t)n;
			if (e->str_flags & SF_TRUNC(SS_ARGV))
				trunc |= FR_TRUNC_ARGV;
		}
		const char *cwd = slot(e, size, SS_CWD, &n);
		if (cwd) {
			fr_path_build(cwd, n, NULL, s->cwd, sizeof(s->cwd));
			ev.cwd = s->cwd;
			if (e->str_flags & SF_TRUNC(SS_CWD))
				trunc |= FR_TRUNC_CWD;
		}
		break;
	}
	case SK_EXIT: {
		uint32_t code = (uint32_t)e->arg[0];
		ev.signal = code & 0x7f;
		ev.code = ev.signal ? 0 : (code >> 8) & 0xff;
		break;
	}
	case SK_KILL:
		ev.target_pid = (uint32_t)e->arg[0];
		ev.signal = (int32_t)e->arg[1];
		memcpy(s->target_comm, e->comm2, 16);
		s->target_comm[16] = '\0';
		ev.target_comm = s->target_comm[0] ? s->target_comm : NULL;
		break;
	case SK_SETUID:
		ev.new_uid = (uint32_t)e->arg[0];
		ev.new_euid = (uint32_t)e->arg[1];
		break;
	case SK_OPEN:
		ev.kind = (e->str_flags & SF_CREATED) ? FR_EV_CREATE : FR_EV_OPEN;
		ev.flags = (uint32_t)e->arg[0];
		ev.mode = (ev.flags & 0100) ? (uint32_t)e->arg[1] & 07777 : 0;
		ev.path = decode_path(s, e, size, 0, &trunc);
		break;
	case SK_CHMOD:
	case SK_MKDIR:
		ev.mode = (uint32_t)e->arg[0] & 07777;
		ev.path = decode_path(s, e, size, 0, &trunc);
		break;
	case SK_CHOWN:
		ev.owner = (uint32_t)e->arg[0];
		ev.group = (uint32_t)e->arg[1];
		ev.path = decode_path(s, e, size, 0, &trunc);
		break;
	case SK_TRUNCATE:
		ev.length = e->arg[0];
		ev.path = decode_path(s, e, size, 0, &trunc);
		break;
	case SK_RENAME:
	case SK_LINK:
	case SK_SYMLINK:
		ev.flags = (uint32_t)e->arg[0];
		ev.path = decode_path(s, e, size, 0, &trunc);
		ev.path2 = decode_path(s, e, size, 1, &trunc);
		break;
	case SK_MODIFY:
	case SK_DELETE:
	case SK_RMDIR:
		ev.path = decode_path(s, e, size, 0, &trunc);
		break;
	case SK_LINE: {
		size_t n = 0;
		const char *line = slot(e, size, SS_PATH_NAME, &n);
		if (!line)
			return 0;
		size_t cut = n < sizeof(s->path[0]) - 1 ? n : sizeof(s->path[0]) - 1;
		memcpy(s->path[0], line, cut);
		s->path[0][cut] = '\0';
		ev.line = s->path[0];
		if (e->str_flags & SF_TRUNC(SS_PATH_NAME))
			trunc |= FR_TRUNC_PATH;
		break;
	}
	case SK_LISTEN:
	case SK_UNLISTEN:
	case SK_CONNECT:
	case SK_ACCEPT:
		if (size < SENSOR_HDR_SIZE + 16)
			return 0;
		decode_sock(&ev, e);
		break;
	}
	ev.trunc = trunc;
	int r = s->cb(&ev, s->ctx);
	s->delivered++;
	if (e->kind == SK_EXIT)
		proc_table_remove(&s->procs, e->pid);
	if (r < 0) {
		s->cb_error = r;
		return r;
	}
	return 0;
}

/* Attach the readline uretprobe to each bash binary that exists. A missing
 * bash is fine (no interactive bash to watch); a bash that exists but cannot
 * be probed is an error, so that command lines are never silently missing. */
static int attach_shells(struct fr_sensor *s, struct sensor_bpf *skel, char *err, size_t errlen)
{
	static const char *const shells[] = {"/usr/bin/bash", "/bin/bash"};
	char seen[2][PATH_MAX];
	int nseen = 0;
	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		char real[PATH_MAX];
		if (!realpath(shells[i], real))
			continue;
		bool dup = false;
		for (int j = 0; j < nseen; j++)
			dup |= strcmp(seen[j], real) == 0;
		if (dup || nseen >= 2)
			continue;
		snprintf(seen[nseen++], PATH_MAX, "%s", real);
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "readline", .retprobe = true);
		struct bpf_link *link = bpf_program__attach_uprobe_opts(skel->progs.on_readline, -1, real, 0, &uo);
		if (!link) {
			int r = -errno ? -errno : -EINVAL;
			return errf(err, errlen, r, "cannot attach to readline in %s (%s): is it stripped of its symbols?",
				    real, strerror(-r));
		}
		if (s->nshell_links < (int)(sizeof(s->shell_links) / sizeof(s->shell_links[0])))
			s->shell_links[s->nshell_links++] = link;
		else
			bpf_link__destroy(link);
	}
	return 0;
}

/* Tracepoints are attached by their ids in tracefs, and a minimal host (a
 * container image, an init without systemd) may boot with it unmounted:
 * mount it where libbpf looks first, as an administrator would. */
static int ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return -errno;
	return 0;
}

int fr_sensor_open(const struct fr_sensor_opts *opts, fr_sensor_cb cb, void *ctx, struct fr_sensor **out,
		   char *err, size_t errlen)
{
	struct fr_sensor *s = NULL;
	struct sensor_bpf *skel = NULL;
	int r;

	if (geteuid() != 0)
		return errf(err, errlen, -EPERM,
			    "flightrec must run as root to load its eBPF programs: run it with sudo");
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return errf(err, errlen, -ENOENT,
			    "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): boot a kernel built "
			    "with CONFIG_DEBUG_INFO_BTF=y, or use the ptrace fallback");
	s = calloc(1, sizeof(*s));
	if (!s)
		return errf(err, errlen, -ENOMEM, "out of memory");
	s->cb = cb;
	s->ctx = ctx;
	if (opts && opts->host)
		snprintf(s->host, sizeof(s->host), "%s", opts->host);
	else if (gethostname(s->host, sizeof(s->host) - 1) != 0)
		snprintf(s->host, sizeof(s->host), "localhost");
	sensor_clock_init(&s->clock, opts ? opts->time_unit_ns : 0);
	s->ncpus = libbpf_num_possible_cpus();
	libbpf_set_print(libbpf_quiet);

	skel = sensor_bpf__open();
	if (!skel) {
		r = errf(err, errlen, -errno ? -errno : -EINVAL, "cannot open the eBPF object: %s", strerror(errno));
		goto cleanup;
	}
	skel->rodata->cfg.self_tgid = (uint32_t)getpid();
	skel->rodata->cfg.no_reads = opts && opts->no_reads;
	if (opts && opts->no_modify) {
		bpf_program__set_autoload(skel->progs.enter_write, false);
		bpf_program__set_autoload(skel->progs.enter_writev, false);
		bpf_program__set_autoload(skel->progs.enter_pwrite64, false);
		bpf_program__set_autoload(skel->progs.enter_pwritev, false);
		bpf_program__set_autoload(skel->progs.enter_pwritev2, false);
	}
	if (opts && opts->ring_mb) {
		r = bpf_map__set_max_entries(skel->maps.events, opts->ring_mb << 20);
		if (r) {
			errf(err, errlen, r, "invalid ring buffer size %u MiB: it must be a power of two",
			     opts->ring_mb);
			goto cleanup;
		}
	}
	r = sensor_bpf__load(skel);
	if (r) {
		r = r < 0 ? r : -EINVAL;
		errf(err, errlen, r,
		     "the kernel refused flightrec's eBPF programs (%s): it needs tracepoints, BTF and "
		     "CAP_BPF+CAP_PERFMON; set FLIGHTREC_BPF_DEBUG=1 for the verifier log",
		     strerror(-r));
		goto cleanup;
	}
	r = ensure_tracefs();
	if (r < 0) {
		errf(err, errlen, r,
		     "tracefs is not mounted and mounting it on /sys/kernel/tracing failed (%s): mount it "
		     "with 'mount -t tracefs tracefs /sys/kernel/tracing'",
		     strerror(-r));
		goto cleanup;
	}
	/* the uretprobe has no fixed target: attach it per shell binary below */
	bpf_program__set_autoattach(skel->progs.on_readline, false);
	r = sensor_bpf__attach(skel);
	if (r) {
		r = r < 0 ? r : -EINVAL;
		errf(err, errlen, r,
		     "cannot attach flightrec's eBPF programs to their tracepoints (%s): is tracefs "
		     "available and the kernel built with CONFIG_FTRACE_SYSCALLS?",
		     strerror(-r));
		goto cleanup;
	}
	r = attach_shells(s, skel, err, errlen);
	if (r < 0)
		goto cleanup;
	s->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, s, NULL);
	if (!s->rb) {
		r = -errno ? -errno : -EINVAL;
		errf(err, errlen, r, "cannot map the eBPF ring buffer: %s", strerror(-r));
		goto cleanup;
	}
	s->skel = skel;
	*out = s;
	return 0;

cleanup:
	sensor_bpf__destroy(skel);
	free(s);
	return r;
}

int fr_sensor_snapshot(struct fr_sensor *s)
{
	return procscan_run(s->host, &s->clock, &s->procs, (uint32_t)getpid(), s->cb, s->ctx);
}

uint64_t fr_sensor_lost(const struct fr_sensor *s)
{
	uint32_t zero = 0;
	uint64_t vals[512] = {0}, sum = 0;
	int n = s->ncpus > 0 && s->ncpus <= 512 ? s->ncpus : 512;
	if (bpf_map__lookup_elem(s->skel->maps.lost, &zero, sizeof(zero), vals, sizeof(uint64_t) * (size_t)n, 0))
		return s->lost_reported;
	for (int i = 0; i < n; i++)
		sum += vals[i];
	return sum;
}

uint64_t fr_sensor_delivered(const struct fr_sensor *s)
{
	return s->delivered;
}

static int report_lost(struct fr_sensor *s)
{
	uint64_t lost = fr_sensor_lost(s);
	if (lost <= s->lost_reported)
		return 0;
	struct fr_event ev = {0};
	ev.ts_ns = sensor_now(&s->clock);
	ev.kind = FR_EV_LOST;
	ev.auid = ev.ses = FR_ID_UNSET;
	ev.host = s->host;
	ev.comm = "flightrec";
	ev.pid = ev.tid = (uint32_t)getpid();
	ev.count = lost - s->lost_reported;
	ev.path = "ring buffer full";
	s->lost_reported = lost;
	return s->cb(&ev, s->ctx);
}

int fr_sensor_poll(struct fr_sensor *s, int timeout_ms)
{
	s->cb_error = 0;
	int r = report_lost(s);
	if (r < 0)
		return r;
	int n = ring_buffer__poll(s->rb, timeout_ms);
	if (s->cb_error)
		return s->cb_error;
	if (n < 0)
		return n;
	/* The kernel side skips wakeups for small amounts (see submit() in
	 * sensor.bpf.c), so whatever is waiting is consumed here: the latency
	 * is at most one poll timeout. */
	int m = ring_buffer__consume(s->rb);
	if (s->cb_error)
		return s->cb_error;
	if (m < 0)
		return m;
	n += m;
	r = report_lost(s);
	return r < 0 ? r : n;
}

int fr_sensor_drain(struct fr_sensor *s)
{
	s->cb_error = 0;
	int n = ring_buffer__consume(s->rb);
	if (s->cb_error)
		return s->cb_error;
	int r = report_lost(s);
	return r < 0 ? r : n;
}

void fr_sensor_free(struct fr_sensor *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	for (int i = 0; i < s->nshell_links; i++)
		bpf_link__destroy(s->shell_links[i]);
	sensor_bpf__destroy(s->skel);
	proc_table_free(&s->procs);
	free(s);
}
