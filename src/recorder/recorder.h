/* recorder.h - the local recorder store: events in, durable segments out.
 *
 * Why: the sensor produces events; the recorder makes them survive. Every
 * event goes into the open segment's writer and, in batches, into a
 * crash-safe journal (flushed to the kernel at each batch, fsync'ed every
 * `sync_ms`), so a kill -9 loses nothing the recorder had been given and a
 * power loss loses at most the last sync interval. A segment is closed every
 * `segment_events` events or `segment_seconds` seconds (or earlier, when its
 * journal reaches its share of the disk), then the disk cap is enforced,
 * oldest segments first, with a `gap` event saying what went. A full disk
 * does not stop it: events wait in memory until the store takes writes
 * again (fr_recorder_add).
 *
 * The recorder emits its own records (`gap`) through on_event so that the
 * caller can show them too; they are also stored. */
#ifndef FLIGHTREC_RECORDER_H
#define FLIGHTREC_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"

/* Defaults, justified in docs/FORMAT.md ("Closing segments"). */
#define FR_RECORDER_SEGMENT_EVENTS 1000000u
#define FR_RECORDER_SEGMENT_SECONDS 600u
#define FR_RECORDER_SYNC_MS 1000u
#define FR_RECORDER_ZSTD_LEVEL 0 /* the flight log's default, FL_DEFAULT_LEVEL */

struct fr_recorder;

struct fr_recorder_opts {
	const char *dir;          /* the store directory (created if missing) */
	const char *host;         /* for the recorder's own records */
	uint64_t segment_events;  /* 0: FR_RECORDER_SEGMENT_EVENTS */
	uint32_t segment_seconds; /* 0: FR_RECORDER_SEGMENT_SECONDS */
	uint64_t max_disk_bytes;  /* 0: no cap */
	uint32_t sync_ms;         /* 0: FR_RECORDER_SYNC_MS */
	uint64_t time_unit_ns;    /* own records' times are multiples; 0: 1 ms */
	/* Do not compress segments against the store's prior (FORMAT.md 10),
	 * nor make one: each segment then carries all its strings. */
	bool no_prior;
	/* Called for each record the recorder itself creates (may be NULL). */
	void (*on_event)(const struct fr_event *ev, void *ctx);
	void *ctx;
};

/* What the start-up found, for the caller to report. */
struct fr_recorder_start {
	uint64_t segments;        /* closed segments already in the store */
	uint64_t recovered_events;/* from an unclosed segment's journal */
	uint64_t discarded_bytes; /* its torn tail */
	uint64_t recovered_seq;   /* the segment they went into, or 0 */
};

/* Open the store, recover an unclosed segment if any (and record a `gap`
 * event saying what was kept and what was discarded), start a journal.
 * When the journal cannot be written (a full disk) the recorder starts in
 * the failed state (see fr_recorder_add); when the recovered segment
 * cannot be, it fails, leaving that journal for the next start. The
 * caller owns *out (fr_recorder_close). */
int fr_recorder_open(const struct fr_recorder_opts *opts, struct fr_recorder **out, struct fr_recorder_start *start);

/* Add one event (copied). The event that fills the segment closes it,
 * so that no segment holds more than segment_events.
 *
 * A write of the store that fails (a full disk, an I/O error) does not
 * stop the recorder: it enters the failed state (stats.store_error), where
 * events are held in memory only (the segment whose write failed, and up
 * to segment_events more; the rest are counted as dropped) until
 * fr_recorder_tick, retrying once a second, writes them all. It then records a `gap` event saying from when to when
 * the store failed and what was lost, if anything. Returns a negative
 * errno only for errors that are not the store's (no memory). */
int fr_recorder_add(struct fr_recorder *r, const struct fr_event *ev);

/* Housekeeping, to call after each batch and at least every second: writes
 * the batch to the journal, fsyncs when due, closes the segment when it is
 * full or old, enforces the cap, and in the failed state retries. With a
 * byte cap the journal may take an eighth of it: a segment closes early
 * when its journal would pass that. now_ns: CLOCK_MONOTONIC. */
int fr_recorder_tick(struct fr_recorder *r, uint64_t now_ns);

/* Close the open segment now (if it has events). */
int fr_recorder_close_segment(struct fr_recorder *r);

/* Counters since open. */
struct fr_recorder_stats {
	uint64_t events, segments_closed, bytes_written, segments_dropped, bytes_dropped;
	/* priors written, and those that failed (the store goes on with the
	 * older one: nothing is lost, segments are just larger) */
	uint64_t priors_made, prior_errors;
	int last_prior_error;     /* negative errno of the last failure */
	/* The store cannot be written (a full disk): the negative errno of
	 * the last attempt, 0 when it can. Events are then held in memory. */
	int store_error;
	uint64_t store_failures;  /* times the store became unwritable */
	uint64_t held_events;     /* events in memory only (not journaled) */
	uint64_t events_dropped;  /* did not fit in memory while it was */
};
void fr_recorder_stats(const struct fr_recorder *r, struct fr_recorder_stats *out);

/* Close the open segment, remove the journal, free. On a clean close
 * nothing is left to recover. Returns the first error of the final close
 * (the recorder is freed anyway). Accepts NULL. */
int fr_recorder_close(struct fr_recorder *r);

#endif
