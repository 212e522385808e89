/* sensor.h - the eBPF sensor: loads the kernel programs and turns their raw
 * records into struct fr_event.
 *
 * Why: everything above the sensor (recorder, sessions, server) consumes
 * fr_events and never sees BPF. The sensor also knows what existed before
 * it started (a /proc snapshot) and fills `exe` from its process table, so
 * the kernel does not walk the executable's path on every event.
 *
 * Lifecycle, as in libbpf-tools: open, set read-only config, load, attach
 * (all in fr_sensor_open), then fr_sensor_snapshot once, then fr_sensor_poll
 * in a loop, then fr_sensor_free. */
#ifndef FLIGHTREC_SENSOR_H
#define FLIGHTREC_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

struct fr_sensor;

struct fr_sensor_opts {
	bool no_modify;   /* do not attach the write programs at all */
	bool no_reads;    /* drop read-only opens in the kernel */
	const char *host; /* NULL: gethostname() */
	uint32_t ring_mb; /* ring buffer size in MiB, a power of two; 0: 32 */
	/* Event times are truncated to multiples of this many ns: 1, 1000,
	 * 1000000 or 1000000000; 0: 1000000 (milliseconds, like the audit
	 * log). The order of events is exact whatever the unit. */
	uint64_t time_unit_ns;
};

/* Called for each event, in ring-buffer order. The event and its strings are
 * valid only during the call. A negative return stops fr_sensor_poll, which
 * then returns that value. */
typedef int (*fr_sensor_cb)(const struct fr_event *ev, void *ctx);

/* Load and attach. On failure returns a negative errno and writes a one-line
 * explanation, with what to do about it, into err:
 *   -EPERM   not root (or the kernel refused the programs)
 *   -ENOENT  the kernel has no BTF (/sys/kernel/btf/vmlinux)
 *   other    the kernel refused to load or attach a program
 * On success *out owns the sensor; free it with fr_sensor_free. */
int fr_sensor_open(const struct fr_sensor_opts *opts, fr_sensor_cb cb, void *ctx, struct fr_sensor **out,
		   char *err, size_t errlen);

/* Emit a `proc` record for every running process and a `socket` record for
 * every listening TCP socket and bound UDP socket, read from /proc. */
int fr_sensor_snapshot(struct fr_sensor *s);

/* Wait up to timeout_ms for events and deliver them. Returns the number of
 * events delivered, or a negative errno (or the callback's negative value).
 * Drops reported by the kernel since the last call are delivered first, as
 * one `lost` event. -EINTR is returned when a signal interrupted the wait. */
int fr_sensor_poll(struct fr_sensor *s, int timeout_ms);

/* Deliver everything still buffered, without waiting. */
int fr_sensor_drain(struct fr_sensor *s);

/* Events the kernel could not deliver, since open. */
uint64_t fr_sensor_lost(const struct fr_sensor *s);
/* Events delivered, since open. */
uint64_t fr_sensor_delivered(const struct fr_sensor *s);

/* Detach and free. Accepts NULL. */
void fr_sensor_free(struct fr_sensor *s);

/* Build an absolute, lexically normalised path from an optional dentry chain
 * (components leaf to root, each NUL-terminated, `chain_len` bytes) and an
 * optional name as passed to a syscall. An absolute name ignores the chain.
 * Writes at most `cap` bytes including the NUL; returns the length, or
 * -ENAMETOOLONG (the result is then cut) or -EINVAL when both are absent. */
int fr_path_build(const char *chain, size_t chain_len, const char *name, char *out, size_t cap);

#endif
