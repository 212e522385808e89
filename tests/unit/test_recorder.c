/* test_recorder.c - the recorder when its store cannot be written.
 *
 * Why: an always-on recorder meets full disks. A failed write must not
 * stop it nor lose what it holds: the journal stays a readable prefix, the
 * events wait in memory (up to a segment's worth, the rest counted), and
 * once the store takes writes again every held event is in a segment and a
 * `gap` record says what happened. RLIMIT_FSIZE makes writes fail here the
 * way a full disk does (part of a write, then an error) without root; the
 * integration test (flightlog_store.t) fills a real tmpfs. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flightlog/flightlog.h"
#include "recorder/recorder.h"
#include "fl_testgen.h"
#include "tap.h"

static char root[64];

static void file_limit(rlim_t bytes)
{
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = bytes;
	setrlimit(RLIMIT_FSIZE, &rl);
}

static void no_file_limit(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_FSIZE, &rl);
}

static long long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) ? -1 : (long long)sb.st_size;
}

static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The gap records the recorder showed, kept for the checks. */
struct seen {
	size_t gaps;
	uint64_t last_count;
	char last_reason[512];
};

static void on_own(const struct fr_event *ev, void *ctx)
{
	struct seen *s = ctx;
	if (ev->kind != FR_EV_GAP)
		return;
	s->gaps++;
	s->last_count = ev->count;
	snprintf(s->last_reason, sizeof(s->last_reason), "%s", ev->path ? ev->path : "");
}

/* Events and gap records of every segment of the store at dir. */
static int read_store(const char *dir, size_t *events, size_t *gaps, uint64_t *gap_count)
{
	struct fl_store *st;
	int r = fl_store_open(dir, &st);
	if (r)
		return r;
	size_t n;
	const struct fl_store_entry *e = fl_store_entries(st, &n);
	*events = *gaps = 0;
	*gap_count = 0;
	for (size_t i = 0; i < n && !r; i++) {
		void *buf;
		size_t len;
		struct fl_segment *sg;
		struct fl_error err;
		if ((r = fl_store_read(st, e[i].seq, &buf, &len)))
			break;
		r = fl_store_segment_open(st, buf, len, NULL, &sg, &err);
		struct fr_event ev;
		while (!r && (r = fl_segment_next(sg, &ev)) == 1) {
			(*events)++;
			if (ev.kind == FR_EV_GAP) {
				(*gaps)++;
				*gap_count += ev.count;
			}
			r = 0;
		}
		fl_segment_free(sg);
		free(buf);
	}
	r = r < 0 ? r : 0;
	if (!r) {
		struct fl_verify_result res;
		r = fl_store_verify(st, &res);
	}
	fl_store_close(st);
	return r;
}

/* A write cut short leaves the journal as it was, and records appended
 * after it are recovered. */
static void test_journal_cut_back(void)
{
	char jp[512];
	snprintf(jp, sizeof(jp), "%s/cut.frj", root);
	struct gen g = {.rng = 3};
	gen_build(&g, 200);
	struct fl_journal *j;
	ok(!fl_journal_create(jp, &j), "journal created");
	ok(!fl_journal_append(j, g.ev, 50), "50 events appended");
	uint64_t before = fl_journal_size(j);
	ok(before == (uint64_t)file_size(jp), "fl_journal_size is the file's size (%llu)", (unsigned long long)before);
	/* room for part of the next record only, as on a disk about to fill */
	file_limit(before + 100);
	int e = fl_journal_append(j, g.ev + 50, 50);
	no_file_limit();
	ok(e == -EFBIG, "an append the file cannot take fails (%d)", e);
	ok(file_size(jp) == (long long)before && fl_journal_size(j) == before,
	   "the part written is cut back off (%lld bytes)", file_size(jp));
	ok(!fl_journal_append(j, g.ev + 100, 50), "the next append succeeds");
	fl_journal_set_limit(j, fl_journal_size(j) + 10);
	uint64_t at_limit = fl_journal_size(j);
	ok(fl_journal_append(j, g.ev + 150, 50) == -EFBIG && fl_journal_size(j) == at_limit &&
		   file_size(jp) == (long long)at_limit,
	   "an append past the set limit writes nothing and fails with EFBIG");
	fl_journal_close(j);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	struct fl_journal_recovery rec;
	ok(!fl_journal_recover(jp, w, &rec) && rec.records == 2 && rec.events == 100 && !rec.discarded_bytes,
	   "recovery reads both whole records and nothing torn (%llu records, %llu events, %llu discarded)",
	   (unsigned long long)rec.records, (unsigned long long)rec.events, (unsigned long long)rec.discarded_bytes);
	fl_writer_free(w);
	gen_free(&g);
}

/* fl_store_seal then a failed write: the bytes can be written later, the
 * chain intact. */
static void test_seal_retry(void)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/seal", root);
	struct fl_store *st;
	fl_store_open(dir, &st);
	struct gen g = {.rng = 5};
	gen_build(&g, 300);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	for (size_t i = 0; i < 100; i++)
		fl_writer_add(w, &g.ev[i]);
	ok(!fl_store_append(st, w, NULL), "segment 1 written");
	for (size_t i = 100; i < 300; i++)
		fl_writer_add(w, &g.ev[i]);
	uint64_t seq = 0;
	void *buf = NULL;
	size_t len = 0;
	ok(!fl_store_seal(st, w, &seq, &buf, &len) && seq == 2 && fl_writer_count(w) == 0,
	   "sealed as segment 2, the writer empty");
	file_limit(len / 2);
	int e = fl_store_write_segment(st, seq, buf, len);
	no_file_limit();
	size_t n;
	fl_store_entries(st, &n);
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s/.seg-000000000002.frl.tmp", dir);
	ok(e == -EFBIG && n == 1 && file_size(tmp) < 0, "the write fails and leaves nothing behind (%d)", e);
	ok(!fl_store_write_segment(st, seq, buf, len), "the same bytes, written again, succeed");
	free(buf);
	fl_writer_free(w);
	fl_store_close(st);
	size_t events, gaps;
	uint64_t gc;
	ok(!read_store(dir, &events, &gaps, &gc) && events == 300, "the store verifies and holds all 300 events");
	gen_free(&g);
}

/* The recorder on a store that stops taking writes, then takes them again. */
static void test_recorder_failed_state(uint64_t segment_events, size_t during, const char *name)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	struct seen seen = {0};
	struct fr_recorder_opts o = {
		.dir = dir, .host = "h", .segment_events = segment_events, .on_event = on_own, .ctx = &seen};
	struct fr_recorder *r;
	ok(!fr_recorder_open(&o, &r, NULL), "%s: recorder open", name);
	struct gen g = {.rng = 9};
	gen_build(&g, 100 + during + 100);
	size_t k = 0;
	for (; k < 100; k++)
		fr_recorder_add(r, &g.ev[k]);
	ok(!fr_recorder_tick(r, mono_now()), "%s: 100 events journaled", name);

	/* the disk is full: no file can grow, no segment can be written */
	char jp[512];
	snprintf(jp, sizeof(jp), "%s/open.frj", dir);
	file_limit(64);
	int e = 0;
	for (; k < 100 + during && !e; k++) {
		e = fr_recorder_add(r, &g.ev[k]);
		if (!e && k % 64 == 0)
			e = fr_recorder_tick(r, mono_now());
	}
	if (!e)
		e = fr_recorder_tick(r, mono_now());
	struct fr_recorder_stats st;
	fr_recorder_stats(r, &st);
	ok(!e && st.store_error == -EFBIG && st.store_failures == 1,
	   "%s: writes fail, the recorder goes on (add/tick %d, store_error %d)", name, e, st.store_error);
	/* memory holds the segment that failed to be written and one more
	 * segment's worth: at least segment_events of what came */
	uint64_t came = 100 + during;
	uint64_t expect_dropped = st.events_dropped;
	ok(came <= segment_events ? expect_dropped == 0
				  : expect_dropped > 0 && expect_dropped <= came - segment_events &&
					    st.held_events + expect_dropped == during,
	   "%s: events past what memory holds are counted as dropped (%llu of %llu; %llu held)", name,
	   (unsigned long long)expect_dropped, (unsigned long long)came, (unsigned long long)st.held_events);
	ok(fr_recorder_close_segment(r) == -EFBIG, "%s: closing while it fails returns the store's error", name);
	ok(!fr_recorder_tick(r, mono_now() + 2000000000ull) && seen.gaps == 0,
	   "%s: a retry while it still fails says nothing", name);

	no_file_limit();
	ok(!fr_recorder_tick(r, mono_now() + 4000000000ull), "%s: the retry after the disk frees up", name);
	fr_recorder_stats(r, &st);
	ok(st.store_error == 0 && st.held_events == 0, "%s: the store is writable again, nothing held", name);
	char held_text[64];
	snprintf(held_text, sizeof(held_text), ": %llu events held in memory are written",
		 (unsigned long long)(during - expect_dropped));
	ok(seen.gaps == 1 && strstr(seen.last_reason, "could not be written") && strstr(seen.last_reason, held_text) &&
		   strstr(seen.last_reason, strerror(EFBIG)) && seen.last_count == expect_dropped &&
		   (!expect_dropped || strstr(seen.last_reason, "did not fit in memory")),
	   "%s: a gap record says so (count %llu): %s", name, (unsigned long long)seen.last_count,
	   seen.last_reason);
	for (; k < 100 + during + 100; k++)
		fr_recorder_add(r, &g.ev[k]);
	ok(!fr_recorder_close(r), "%s: clean close", name);
	size_t events, gaps;
	uint64_t gc;
	int rr = read_store(dir, &events, &gaps, &gc);
	ok(!rr && gaps == 1 && events == 100 + during + 100 + 1 - expect_dropped && gc == expect_dropped,
	   "%s: the store verifies and holds every event but the dropped ones, and the gap (%d: %zu events, "
	   "%zu gaps)",
	   name, rr, events, gaps);
	ok(file_size(jp) < 0, "%s: no journal left", name);
	gen_free(&g);
}

/* Stopping while the store fails: the error, and what is lost, is said. */
static void test_close_while_failing(void)
{
	char dir[256], jp[512];
	snprintf(dir, sizeof(dir), "%s/stop", root);
	snprintf(jp, sizeof(jp), "%s/open.frj", dir);
	struct fr_recorder_opts o = {.dir = dir, .host = "h"};
	struct fr_recorder *r;
	fr_recorder_open(&o, &r, NULL);
	struct gen g = {.rng = 13};
	gen_build(&g, 300);
	for (size_t k = 0; k < 100; k++)
		fr_recorder_add(r, &g.ev[k]);
	fr_recorder_tick(r, mono_now());
	file_limit(64);
	for (size_t k = 100; k < 300; k++)
		fr_recorder_add(r, &g.ev[k]);
	fr_recorder_tick(r, mono_now());
	struct fr_recorder_stats st;
	fr_recorder_stats(r, &st);
	ok(st.store_error && st.held_events == 200, "200 events held in memory only (%llu)",
	   (unsigned long long)st.held_events);
	ok(fr_recorder_close(r) == -EFBIG, "closing fails with the store's error");
	no_file_limit();
	/* the journal's 100 come back at the next start */
	struct fr_recorder_start start = {0};
	ok(!fr_recorder_open(&o, &r, &start) && start.recovered_events == 100,
	   "the next start recovers the 100 journaled events (%llu)", (unsigned long long)start.recovered_events);
	fr_recorder_close(r);
	gen_free(&g);
}

/* Started on a full disk: it records into memory, and writes once it can. */
static void test_start_full(void)
{
	char dir[256], jp[512];
	snprintf(dir, sizeof(dir), "%s/startfull", root);
	snprintf(jp, sizeof(jp), "%s/open.frj", dir);
	struct seen seen = {0};
	struct fr_recorder_opts o = {.dir = dir, .host = "h", .on_event = on_own, .ctx = &seen};
	struct fr_recorder *r = NULL;
	file_limit(0);
	int e = fr_recorder_open(&o, &r, NULL);
	struct fr_recorder_stats st = {0};
	if (!e)
		fr_recorder_stats(r, &st);
	ok(!e && st.store_error == -EFBIG, "it opens on a disk where no journal can be written (%d)", e);
	struct gen g = {.rng = 19};
	gen_build(&g, 100);
	for (size_t k = 0; k < 100 && r; k++)
		fr_recorder_add(r, &g.ev[k]);
	no_file_limit();
	ok(r && !fr_recorder_tick(r, mono_now() + 2000000000ull) && file_size(jp) > 0 && seen.gaps == 1,
	   "once the disk has room: a segment, a journal and a gap record");
	ok(r && !fr_recorder_close(r), "clean close");
	size_t events, gaps;
	uint64_t gc;
	ok(!read_store(dir, &events, &gaps, &gc) && events == 101 && gaps == 1,
	   "the 100 events and the gap record are in the store (%zu)", events);
	gen_free(&g);
}

/* With a byte cap, the journal stays within an eighth of it. */
static void test_journal_within_cap(void)
{
	char dir[256], jp[512];
	snprintf(dir, sizeof(dir), "%s/cap", root);
	snprintf(jp, sizeof(jp), "%s/open.frj", dir);
	struct fr_recorder_opts o = {.dir = dir, .host = "h", .max_disk_bytes = 64000};
	struct fr_recorder *r;
	fr_recorder_open(&o, &r, NULL);
	struct gen g = {.rng = 17};
	gen_build(&g, 5000);
	long long biggest = 0;
	for (size_t k = 0; k < 5000; k++) {
		fr_recorder_add(r, &g.ev[k]);
		if (k % 50 == 49) {
			fr_recorder_tick(r, mono_now());
			long long s = file_size(jp);
			biggest = s > biggest ? s : biggest;
		}
	}
	struct fr_recorder_stats st;
	fr_recorder_stats(r, &st);
	ok(biggest > 0 && biggest <= 8000, "the journal never passed 8000 bytes (largest seen: %lld)", biggest);
	ok(st.segments_closed >= 5 && st.store_error == 0,
	   "segments close early to keep it there (%llu), and no write failed",
	   (unsigned long long)st.segments_closed);
	ok(!fr_recorder_close(r), "clean close");
	size_t events, gaps;
	uint64_t gc;
	ok(!read_store(dir, &events, &gaps, &gc) && events - gaps + gc >= 5000 - 0,
	   "the capped store verifies; kept + dropped events account for all 5000 (%zu kept, %llu dropped)",
	   events - gaps, (unsigned long long)gc);
	gen_free(&g);
}

int main(void)
{
	/* a write past RLIMIT_FSIZE would otherwise kill the process */
	signal(SIGXFSZ, SIG_IGN);
	snprintf(root, sizeof(root), "/tmp/fr-recorder-test-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	test_journal_cut_back();
	test_seal_retry();
	test_recorder_failed_state(1000000, 300, "held");
	test_recorder_failed_state(150, 300, "bounded");
	test_close_while_failing();
	test_start_full();
	test_journal_within_cap();
	rm_rf(root);
	return tap_done();
}
