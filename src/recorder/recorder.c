/* recorder.c - writer + journal + store, with segment closing and a cap.
 *
 * Ownership: the recorder owns its store, writer, journal and the copies of
 * the events of the current batch. */
#include "recorder/recorder.h"
#include "flightlog/flightlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 4096

struct fr_recorder {
	struct fr_recorder_opts opts;
	char *dir, *host;
	struct fl_store *store;
	struct fl_writer *writer;
	struct fl_journal *journal;
	struct fr_event *batch[BATCH_MAX];
	size_t nbatch;
	uint64_t seg_started_ns; /* monotonic; 0: no event yet */
	uint64_t last_sync_ns;
	bool dirty;              /* journal written since the last fsync */
	bool closing;            /* in close_segment: its gap record must not close again */
	struct fr_recorder_stats stats;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int flush_batch(struct fr_recorder *r)
{
	if (!r->nbatch)
		return 0;
	/* fl_journal_append takes an array of events */
	struct fr_event *evs = malloc(r->nbatch * sizeof(*evs));
	if (!evs)
		return -ENOMEM;
	for (size_t i = 0; i < r->nbatch; i++)
		evs[i] = *r->batch[i];
	int e = fl_journal_append(r->journal, evs, r->nbatch);
	free(evs);
	if (e < 0)
		return e;
	for (size_t i = 0; i < r->nbatch; i++)
		free(r->batch[i]);
	r->nbatch = 0;
	r->dirty = true;
	return 0;
}

/* A record of the recorder's own: stored, and shown to the caller. */
static int own_record(struct fr_recorder *r, uint32_t kind, uint64_t count, const char *reason)
{
	struct fr_event ev = {0};
	uint64_t unit = r->opts.time_unit_ns ? r->opts.time_unit_ns : 1000000u;
	ev.ts_ns = real_ns();
	/* the sensor's unit: one finer time would make the writer store
	 * the whole segment at that resolution */
	ev.ts_ns -= ev.ts_ns % unit;
	ev.kind = kind;
	ev.pid = ev.tid = (uint32_t)getpid();
	ev.auid = ev.ses = FR_ID_UNSET;
	ev.host = r->host;
	ev.comm = "flightrec";
	ev.count = count;
	ev.path = reason;
	if (r->opts.on_event)
		r->opts.on_event(&ev, r->opts.ctx);
	return fr_recorder_add(r, &ev);
}

/* The journal names the seq its segment will take, so that a crash between
 * writing that segment and removing the journal recovers nothing twice. */
static int new_journal(struct fr_recorder *r)
{
	char path[4096];
	uint64_t next = 0;
	uint8_t prev[FL_HASH_LEN];
	fl_journal_close(r->journal);
	r->journal = NULL;
	int e = fl_store_tip(r->store, &next, prev);
	if (e < 0)
		return e;
	fl_store_journal_path(r->store, path, sizeof(path));
	return fl_journal_create_seq(path, next, &r->journal);
}

static int close_segment(struct fr_recorder *r);

int fr_recorder_close_segment(struct fr_recorder *r)
{
	r->closing = true;
	int e = close_segment(r);
	r->closing = false;
	return e;
}

static int close_segment(struct fr_recorder *r)
{
	if (!fl_writer_count(r->writer))
		return 0;
	uint64_t events = fl_writer_count(r->writer);
	uint64_t before = fl_store_bytes(r->store);
	uint64_t seq = 0;
	int e = fl_store_append(r->store, r->writer, &seq);
	if (e < 0)
		return e; /* the writer keeps its events; the journal still has them */
	r->stats.segments_closed++;
	e = fl_store_renew_prior(r->store, r->writer, seq);
	if (e > 0)
		r->stats.priors_made++;
	if (e < 0) {
		r->stats.prior_errors++;
		r->stats.last_prior_error = e;
	}
	r->stats.bytes_written += fl_store_bytes(r->store) - before;
	(void)events;
	/* the segment is durable: its journal is not needed any more */
	for (size_t i = 0; i < r->nbatch; i++)
		free(r->batch[i]);
	r->nbatch = 0;
	e = new_journal(r);
	if (e < 0)
		return e;
	r->seg_started_ns = 0;
	r->dirty = false;
	if (r->opts.max_disk_bytes) {
		struct fl_drop drop = {0};
		e = fl_store_enforce_cap(r->store, r->opts.max_disk_bytes, &drop);
		if (e < 0)
			return e;
		if (drop.segments) {
			char reason[256], t0[40], t1[40];
			fr_format_ts(drop.ts_min, t0, sizeof(t0));
			fr_format_ts(drop.ts_max, t1, sizeof(t1));
			snprintf(reason, sizeof(reason),
				 "disk cap: dropped %llu oldest segments (seq %llu-%llu, %llu bytes), events from %s to %s",
				 (unsigned long long)drop.segments, (unsigned long long)drop.first_seq,
				 (unsigned long long)drop.last_seq, (unsigned long long)drop.bytes, t0, t1);
			r->stats.segments_dropped += drop.segments;
			r->stats.bytes_dropped += drop.bytes;
			e = own_record(r, FR_EV_GAP, drop.events, reason);
		}
	}
	return e;
}

int fr_recorder_add(struct fr_recorder *r, const struct fr_event *ev)
{
	if (r->nbatch == BATCH_MAX) {
		int e = flush_batch(r);
		if (e < 0)
			return e;
	}
	struct fr_event *c = fr_event_dup(ev);
	if (!c)
		return -ENOMEM;
	int e = fl_writer_add(r->writer, ev);
	if (e < 0) {
		free(c);
		return e;
	}
	r->batch[r->nbatch++] = c;
	r->stats.events++;
	if (!r->seg_started_ns)
		r->seg_started_ns = mono_ns();
	/* here, not in the tick: one poll can bring more events than a
	 * segment holds (a burst, a slow build), and N is a promise */
	if (!r->closing && fl_writer_count(r->writer) >= r->opts.segment_events)
		return fr_recorder_close_segment(r);
	return 0;
}

int fr_recorder_tick(struct fr_recorder *r, uint64_t now)
{
	int e = flush_batch(r);
	if (e < 0)
		return e;
	if (r->dirty && now - r->last_sync_ns >= (uint64_t)r->opts.sync_ms * 1000000ull) {
		e = fl_journal_sync(r->journal);
		if (e < 0)
			return e;
		r->dirty = false;
		r->last_sync_ns = now;
	}
	uint64_t n = fl_writer_count(r->writer);
	if (n && (n >= r->opts.segment_events ||
		  (r->seg_started_ns && now - r->seg_started_ns >= (uint64_t)r->opts.segment_seconds * 1000000000ull)))
		e = fr_recorder_close_segment(r);
	return e;
}

void fr_recorder_stats(const struct fr_recorder *r, struct fr_recorder_stats *out)
{
	*out = r->stats;
}

/* Frees everything, writing nothing: an open journal stays for recovery. */
static void recorder_free(struct fr_recorder *r)
{
	for (size_t i = 0; i < r->nbatch; i++)
		free(r->batch[i]);
	fl_journal_close(r->journal);
	fl_writer_free(r->writer);
	fl_store_close(r->store);
	free(r->dir);
	free(r->host);
	free(r);
}

int fr_recorder_open(const struct fr_recorder_opts *opts, struct fr_recorder **out, struct fr_recorder_start *start)
{
	if (!opts || !opts->dir)
		return -EINVAL;
	struct fr_recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->opts = *opts;
	if (!r->opts.segment_events)
		r->opts.segment_events = FR_RECORDER_SEGMENT_EVENTS;
	if (!r->opts.segment_seconds)
		r->opts.segment_seconds = FR_RECORDER_SEGMENT_SECONDS;
	if (!r->opts.sync_ms)
		r->opts.sync_ms = FR_RECORDER_SYNC_MS;
	r->dir = strdup(opts->dir);
	r->host = strdup(opts->host ? opts->host : "");
	struct fl_journal_recovery rec = {0};
	uint64_t seq = 0;
	int e = !r->dir || !r->host ? -ENOMEM : 0;
	if (!e)
		e = fl_store_open(r->dir, &r->store);
	if (!e && !opts->no_prior)
		e = fl_store_use_priors(r->store, 0);
	if (!e)
		e = fl_store_recover_journal(r->store, &rec, &seq);
	/* the flight log's default zstd level (9): the segment is encoded in
	 * the recording loop, where level 19's four seconds of CPU per
	 * million events would let the ring buffer fill */
	struct fl_writer_opts wo = {.level = FR_RECORDER_ZSTD_LEVEL};
	if (!e)
		e = fl_writer_new(&wo, &r->writer);
	if (!e)
		e = new_journal(r);
	if (e < 0)
		goto cleanup;
	r->last_sync_ns = mono_ns();
	if (rec.already_closed) {
		char reason[160];
		snprintf(reason, sizeof(reason),
			 "removed the journal of segment %llu after an unclean stop: the segment had been written",
			 (unsigned long long)rec.seq);
		e = own_record(r, FR_EV_GAP, 0, reason);
		if (e < 0)
			goto cleanup;
	} else if (rec.events || rec.discarded_bytes) {
		char reason[256];
		if (rec.events)
			snprintf(reason, sizeof(reason),
				 "recovered %llu events of an unclosed segment into segment %llu after an unclean stop; "
				 "%llu bytes of torn tail discarded",
				 (unsigned long long)rec.events, (unsigned long long)seq,
				 (unsigned long long)rec.discarded_bytes);
		else
			snprintf(reason, sizeof(reason),
				 "discarded an unclosed segment's journal after an unclean stop: %llu bytes held no "
				 "complete record",
				 (unsigned long long)rec.discarded_bytes);
		e = own_record(r, FR_EV_GAP, rec.discarded_bytes, reason);
		if (e < 0)
			goto cleanup;
	}
	if (start) {
		size_t n = 0;
		fl_store_entries(r->store, &n);
		start->segments = n;
		start->recovered_events = rec.events;
		start->discarded_bytes = rec.discarded_bytes;
		start->recovered_seq = seq;
	}
	*out = r;
	return 0;
cleanup:
	recorder_free(r);
	return e;
}

int fr_recorder_close(struct fr_recorder *r)
{
	if (!r)
		return 0;
	int e = flush_batch(r);
	if (!e)
		e = fr_recorder_close_segment(r);
	if (!e && r->journal) {
		char path[4096];
		fl_journal_close(r->journal);
		r->journal = NULL;
		fl_store_journal_path(r->store, path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			e = -errno;
	}
	recorder_free(r);
	return e;
}
