/* sensor_int.h - internals shared by the sensor's own files. Not public. */
#ifndef FLIGHTREC_SENSOR_INT_H
#define FLIGHTREC_SENSOR_INT_H

#include "sensor/sensor.h"

/* The process table: pid -> (start, exe), so that every event can carry its
 * process's executable without the kernel resolving it each time. */
struct proc_entry {
	uint32_t pid;     /* 0: free slot */
	uint32_t ppid;
	uint64_t pstart;  /* boot-clock ticks of 10 ms, as in /proc/PID/stat */
	char *exe;        /* owned; may be NULL */
};

struct proc_table {
	struct proc_entry *slots;
	size_t cap, used;
};

struct proc_entry *proc_table_get(struct proc_table *t, uint32_t pid);
/* Insert or replace; takes ownership of exe (may be NULL). */
int proc_table_put(struct proc_table *t, uint32_t pid, uint32_t ppid, uint64_t pstart, char *exe);
void proc_table_remove(struct proc_table *t, uint32_t pid);
void proc_table_free(struct proc_table *t);

/* Clock conversion shared by the live decoder and the /proc snapshot. */
struct sensor_clock {
	int64_t boot_to_real_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	uint64_t unit_ns;        /* event times are truncated to multiples of this */
};
/* unit_ns: 1, 1000, 1000000 or 1000000000 (0: 1000000). */
void sensor_clock_init(struct sensor_clock *c, uint64_t unit_ns);
/* An event time in UTC ns, truncated to the clock's unit: from a BPF
 * boot-clock reading, and from CLOCK_REALTIME now. */
uint64_t sensor_event_time(const struct sensor_clock *c, uint64_t boot_ns);
uint64_t sensor_now(const struct sensor_clock *c);
/* A process start, in boot-clock ns, truncated to /proc's 10 ms ticks and
 * converted to UTC ns: the same value from BPF and from /proc/PID/stat. */
uint64_t sensor_pstart_utc(const struct sensor_clock *c, uint64_t boot_ns);

/* /proc snapshot: calls cb for each proc and socket record. */
int procscan_run(const char *host, const struct sensor_clock *clk, struct proc_table *procs, uint32_t self_pid,
		 fr_sensor_cb cb, void *ctx);

/* Read /proc/PID/exe; returns a malloc'd string or NULL. */
char *procscan_exe(uint32_t pid);

#endif
