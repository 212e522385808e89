/* recorder.c - writer + journal + store, with segment closing and a cap.
 *
 * Why the failed state: a full disk (or any write error of the store) must
 * not stop an always-on recorder, and must not lose what it was given. The
 * events are in the writer's memory before they reach the journal, so
 * while the store cannot be written the recorder keeps them there (the
 * segment whose write failed, encoded, and one more segment's worth),
 * retries every second, and when a write succeeds closes the segment,
 * which makes all of them durable at once, and says in a `gap` record how
 * long the store was unwritable and what, if anything, did not fit in
 * memory.
 *
 * Ownership: the recorder owns its store, writer, journal, the copies of
 * the events of the current batch and the sealed segment awaiting its
 * write. */
#include "recorder/recorder.h"
#include "flightlog/flightlog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define BATCH_MAX 4096
#define RETRY_NS 1000000000ull
/* With a byte cap, the journal may take this share of it (the segments the
 * rest): a journal holds flat events, 80 to 160 bytes each, so a
 * million-event segment's journal would otherwise pass a small cap. */
#define JOURNAL_CAP_SHARE 8
#define JOURNAL_MIN_LIMIT (64u << 10)

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
	/* A segment encoded but not yet written (the store failed): written
	 * before anything else, with the same bytes, so the chain holds. */
	void *sealed;
	size_t sealed_len;
	uint64_t sealed_seq;
	/* The failed state (stats.store_error != 0). */
	uint64_t failed_since_ns;  /* realtime of the first failure */
	uint64_t retry_ns;         /* monotonic time of the last attempt */
	uint64_t dropped, dropped_ts_min, dropped_ts_max; /* did not fit in memory */
	uint64_t written_held;     /* events held in memory that the last close wrote */
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
	e = fl_journal_create_seq(path, next, &r->journal);
	if (e < 0)
		return e;
	/* The journal must not fill the host's disk either: at most half of
	 * what was free, so that its segment, about a hundredth of its size,
	 * still fits when it closes. */
	uint64_t limit = r->opts.max_disk_bytes / JOURNAL_CAP_SHARE;
	struct statvfs sv;
	if (!statvfs(r->dir, &sv)) {
		uint64_t half = (uint64_t)sv.f_bavail * sv.f_frsize / 2;
		half = half > JOURNAL_MIN_LIMIT ? half : JOURNAL_MIN_LIMIT;
		limit = limit && limit < half ? limit : half;
	}
	fl_journal_set_limit(r->journal, limit);
	return 0;
}

static int close_segment(struct fr_recorder *r);

static int close_now(struct fr_recorder *r)
{
	r->closing = true;
	int e = close_segment(r);
	r->closing = false;
	return e;
}

/* Write the sealed segment, if any: 1 when written, 0 when there was none. */
static int write_sealed(struct fr_recorder *r)
{
	if (!r->sealed)
		return 0;
	uint64_t before = fl_store_bytes(r->store);
	int e = fl_store_write_segment(r->store, r->sealed_seq, r->sealed, r->sealed_len);
	if (e < 0)
		return e;
	free(r->sealed);
	r->sealed = NULL;
	r->stats.segments_closed++;
	r->stats.bytes_written += fl_store_bytes(r->store) - before;
	e = fl_store_renew_prior(r->store, r->writer, r->sealed_seq);
	if (e > 0)
		r->stats.priors_made++;
	if (e < 0) {
		r->stats.prior_errors++;
		r->stats.last_prior_error = e;
	}
	return 1;
}

static int close_segment(struct fr_recorder *r)
{
	int e = write_sealed(r);
	if (e < 0)
		return e;
	bool wrote = e > 0;
	if (fl_writer_count(r->writer)) {
		e = fl_store_seal(r->store, r->writer, &r->sealed_seq, &r->sealed, &r->sealed_len);
		if (e < 0)
			return e; /* the writer keeps its events */
		/* from here on the events are in r->sealed until written */
		e = write_sealed(r);
		if (e < 0)
			return e;
		wrote = true;
	}
	if (!wrote && r->journal)
		return 0;
	/* the segments are durable: the journal is not needed any more */
	for (size_t i = 0; i < r->nbatch; i++)
		free(r->batch[i]);
	r->nbatch = 0;
	r->written_held = r->stats.held_events;
	r->stats.held_events = 0;
	r->seg_started_ns = 0;
	r->dirty = false;
	e = new_journal(r);
	if (e < 0)
		return e;
	if (r->opts.max_disk_bytes) {
		struct fl_drop drop = {0};
		uint64_t cap = r->opts.max_disk_bytes - r->opts.max_disk_bytes / JOURNAL_CAP_SHARE;
		e = fl_store_enforce_cap(r->store, cap, &drop);
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

/* A write of the store failed with e: enter (or stay in) the failed state
 * and return 0, the events being held in memory; errors that are not the
 * store's (no memory, a bug) are returned. */
static int store_failed(struct fr_recorder *r, int e)
{
	if (e >= 0 || e == -ENOMEM || e == -EINVAL)
		return e;
	if (!r->stats.store_error) {
		r->failed_since_ns = real_ns();
		r->stats.store_failures++;
	}
	r->stats.store_error = e;
	r->retry_ns = mono_ns();
	/* the batch's events are in the writer (or the sealed segment) */
	for (size_t i = 0; i < r->nbatch; i++)
		free(r->batch[i]);
	r->stats.held_events += r->nbatch;
	r->nbatch = 0;
	return 0;
}

/* When the journal has reached its share of the cap, or fills the disk,
 * close the segment: the events of the batch that did not fit are in the
 * writer, and a segment takes about a hundredth of their journal's bytes
 * (whose space it frees). */
static int flush_or_close(struct fr_recorder *r)
{
	int e = flush_batch(r);
	if (e == -EFBIG || e == -ENOSPC || e == -EDQUOT)
		e = close_now(r);
	return store_failed(r, e);
}

/* In the failed state: write everything held, then say what happened.
 * Returns 0, written or not (stats.store_error tells), or an error that
 * is not the store's. */
static int retry_store(struct fr_recorder *r)
{
	int e = close_now(r);
	if (e < 0)
		return store_failed(r, e);
	uint64_t held = r->written_held;
	int err = r->stats.store_error;
	r->stats.store_error = 0;
	char reason[448], t0[40], t1[40], d0[40], d1[40], lost[160] = "";
	fr_format_ts(r->failed_since_ns, t0, sizeof(t0));
	fr_format_ts(real_ns(), t1, sizeof(t1));
	if (r->dropped) {
		fr_format_ts(r->dropped_ts_min, d0, sizeof(d0));
		fr_format_ts(r->dropped_ts_max, d1, sizeof(d1));
		snprintf(lost, sizeof(lost), "; %llu events from %s to %s did not fit in memory and are lost",
			 (unsigned long long)r->dropped, d0, d1);
	}
	snprintf(reason, sizeof(reason),
		 "the flight log could not be written from %s to %s (%s): %llu events held in memory are written%s",
		 t0, t1, strerror(-err), (unsigned long long)held, lost);
	uint64_t dropped = r->dropped;
	r->dropped = 0;
	return store_failed(r, own_record(r, FR_EV_GAP, dropped, reason));
}

int fr_recorder_close_segment(struct fr_recorder *r)
{
	if (!r->stats.store_error)
		return close_now(r);
	int e = retry_store(r);
	return e < 0 ? e : r->stats.store_error;
}

int fr_recorder_add(struct fr_recorder *r, const struct fr_event *ev)
{
	if (r->stats.store_error) {
		/* memory holds the sealed segment and one segment's worth
		 * more; the rest is counted */
		if (fl_writer_count(r->writer) >= r->opts.segment_events) {
			if (!r->dropped || ev->ts_ns < r->dropped_ts_min)
				r->dropped_ts_min = ev->ts_ns;
			if (!r->dropped || ev->ts_ns > r->dropped_ts_max)
				r->dropped_ts_max = ev->ts_ns;
			r->dropped++;
			r->stats.events_dropped++;
			return 0;
		}
		int e = fl_writer_add(r->writer, ev);
		if (e < 0)
			return e;
		r->stats.events++;
		r->stats.held_events++;
		if (!r->seg_started_ns)
			r->seg_started_ns = mono_ns();
		return 0;
	}
	if (r->nbatch == BATCH_MAX) {
		int e = flush_or_close(r);
		if (e < 0)
			return e;
		if (r->stats.store_error)
			return fr_recorder_add(r, ev);
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
		return store_failed(r, close_now(r));
	return 0;
}

int fr_recorder_tick(struct fr_recorder *r, uint64_t now)
{
	if (r->stats.store_error) {
		if (now - r->retry_ns < RETRY_NS)
			return 0;
		r->retry_ns = now;
		return retry_store(r);
	}
	int e = flush_or_close(r);
	if (e < 0 || r->stats.store_error)
		return e;
	if (r->dirty && now - r->last_sync_ns >= (uint64_t)r->opts.sync_ms * 1000000ull) {
		e = store_failed(r, fl_journal_sync(r->journal));
		if (e < 0 || r->stats.store_error)
			return e;
		r->dirty = false;
		r->last_sync_ns = now;
	}
	uint64_t n = fl_writer_count(r->writer);
	if (n && (n >= r->opts.segment_events ||
		  (r->seg_started_ns && now - r->seg_started_ns >= (uint64_t)r->opts.segment_seconds * 1000000000ull)))
		e = store_failed(r, close_now(r));
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
	free(r->sealed);
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
	/* a disk full at start: record into memory until it frees up (any
	 * journal of the last run is recovered by now, so none is lost) */
	if (!e)
		e = store_failed(r, new_journal(r));
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
	/* journaled first, so that a failed close loses none of them */
	if (!r->stats.store_error)
		(void)flush_batch(r);
	int e = fr_recorder_close_segment(r);
	if (!e && fl_writer_count(r->writer)) /* the gap record of a late write */
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
