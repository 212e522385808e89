/* test_flightlog_oom.c - the segment writer under allocation failures.
 *
 * Why: fl_writer_add promises that a failed add leaves the writer as it
 * was (the event is simply not in the segment) and fl_writer_finish that a
 * failed finish keeps every event added. Those undo paths only run when
 * memory runs out, so this test makes it run out: the binary is linked
 * with --wrap for malloc, calloc and realloc (see the Makefile), and each
 * trial fails exactly one allocation, the k-th, for every k the workload
 * reaches. The segment finished afterwards must decode to exactly the
 * events whose add succeeded. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"
#include "fl_testgen.h"
#include "flightlog/flightlog.h"
#include "tap.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

/* Allocation calls counted while armed; the one numbered fail_at fails. */
static bool armed;
static long calls, fail_at;

static bool should_fail(void)
{
	return armed && ++calls == fail_at;
}
void *__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	return should_fail() ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

/* Decode buf and compare it with want[0..n). 0 when equal. */
static int decodes_to(const void *buf, size_t len, const struct fr_event *const *want, size_t n, char *why,
		      size_t whylen)
{
	struct fl_segment *s;
	struct fl_error err;
	if (fl_segment_open(buf, len, &s, &err)) {
		char eb[200];
		return snprintf(why, whylen, "open: %s", fl_error_format(&err, eb, sizeof(eb))), 1;
	}
	struct fr_event ev;
	size_t i = 0;
	int r, bad = 0;
	while (!bad && (r = fl_segment_next(s, &ev)) == 1) {
		int f = i < n ? fr_event_compare(want[i], &ev) : -1;
		if (f)
			bad = (snprintf(why, whylen, "event %zu field %d differs", i, f), 1);
		i++;
	}
	if (!bad && r != 0)
		bad = (snprintf(why, whylen, "next: %d", r), 1);
	if (!bad && i != n)
		bad = (snprintf(why, whylen, "decoded %zu of %zu", i, n), 1);
	fl_segment_free(s);
	return bad;
}

/* One trial: the fail_at-th allocation inside fl_writer_add fails. Sets
 * *reached when that allocation happened (else the workload makes fewer
 * calls and the sweep is over). 0 when the segment holds exactly the
 * accepted events. */
static int add_trial(const struct gen *g, long k, bool *reached, size_t *rejected, char *why, size_t whylen)
{
	struct fl_writer *w;
	const struct fr_event **acc = malloc(g->n * sizeof(*acc));
	size_t nacc = 0;
	int bad = 0;
	if (!acc || fl_writer_new(NULL, &w))
		return snprintf(why, whylen, "setup"), 1;
	calls = 0;
	fail_at = k;
	*rejected = 0;
	for (size_t i = 0; i < g->n && !bad; i++) {
		armed = true;
		int r = fl_writer_add(w, &g->ev[i]);
		armed = false;
		if (!r)
			acc[nacc++] = &g->ev[i];
		else if (r == -ENOMEM)
			++*rejected;
		else
			bad = (snprintf(why, whylen, "add %zu: %d, not -ENOMEM", i, r), 1);
	}
	*reached = calls >= k;
	void *buf = NULL;
	size_t len = 0;
	if (!bad && fl_writer_finish(w, NULL, 1, &buf, &len))
		bad = (snprintf(why, whylen, "finish failed"), 1);
	if (!bad)
		bad = decodes_to(buf, len, acc, nacc, why, whylen);
	if (!bad && *reached && *rejected != 1)
		bad = (snprintf(why, whylen, "%zu adds failed for one failed allocation", *rejected), 1);
	free(buf);
	fl_writer_free(w);
	free(acc);
	return bad;
}

/* One trial: the fail_at-th allocation inside fl_writer_finish fails; the
 * retry must give every event. */
static int finish_trial(const struct gen *g, long k, bool *reached, char *why, size_t whylen)
{
	struct fl_writer *w;
	const struct fr_event **all = malloc(g->n * sizeof(*all));
	int bad = 0;
	if (!all || fl_writer_new(NULL, &w))
		return snprintf(why, whylen, "setup"), 1;
	for (size_t i = 0; i < g->n && !bad; i++) {
		all[i] = &g->ev[i];
		if (fl_writer_add(w, &g->ev[i]))
			bad = (snprintf(why, whylen, "add %zu", i), 1);
	}
	void *buf = NULL;
	size_t len = 0;
	calls = 0;
	fail_at = k;
	armed = true;
	int r = bad ? 0 : fl_writer_finish(w, NULL, 1, &buf, &len);
	armed = false;
	*reached = calls >= k;
	if (!bad && *reached && r != -ENOMEM)
		bad = (snprintf(why, whylen, "finish with a failed allocation: %d, not -ENOMEM", r), 1);
	if (!bad && r) {
		if (fl_writer_count(w) != g->n)
			bad = (snprintf(why, whylen, "%llu events left after a failed finish",
					(unsigned long long)fl_writer_count(w)), 1);
		else if (fl_writer_finish(w, NULL, 1, &buf, &len))
			bad = (snprintf(why, whylen, "retried finish failed"), 1);
	}
	if (!bad)
		bad = decodes_to(buf, len, all, g->n, why, whylen);
	free(buf);
	fl_writer_free(w);
	free(all);
	return bad;
}

/* finish_trial for every allocation fl_writer_finish makes on g. */
static void finish_trials(const struct gen *g, const char *what)
{
	char why[200] = "";
	long k, failed = 0;
	bool reached = true;
	for (k = 1; reached; k++) {
		if (finish_trial(g, k, &reached, why, sizeof(why)) && !failed++)
			printf("# allocation %ld in fl_writer_finish%s: %s\n", k, what, why);
	}
	ok(k > 5, "fl_writer_finish%s makes %ld allocations", what, k - 2);
	ok(!failed, "failing each of them once: finish fails with -ENOMEM, keeps all %zu events, and the retry "
		    "decodes to all of them (%ld bad trials)", g->n, failed);
}

int main(void)
{
	struct gen g = {.rng = 20261122};
	/* realistic streams (new pids, dictionaries growing) then random ones
	 * (every field, every kind); the realistic generators fill up to n.
	 * Loopback connections first, so that allocations fail inside events
	 * that pair or add a port (the LOCAL_PEERS table must not change then);
	 * interleaved compilers, so that they fail inside events whose path is
	 * predicted or grows the successor table (SUCC_PATHS) */
	gen_loopback(&g, 300);
	gen_build(&g, 800);
	gen_build_jobs(&g, 1100, 3);
	gen_nginx(&g, 1400);
	gen_random_stream(&g, 600, 1);
	printf("# %zu events\n", g.n);

	char why[200] = "";
	long k, failed = 0, first_bad = 0;
	size_t rejected = 0;
	bool reached = true;
	for (k = 1; reached; k++) {
		if (add_trial(&g, k, &reached, &rejected, why, sizeof(why)) && !failed++)
			first_bad = k;
		if (failed == 1 && first_bad == k)
			printf("# allocation %ld in fl_writer_add: %s\n", k, why);
	}
	ok(k > 20, "the workload makes %ld allocations inside fl_writer_add", k - 2);
	ok(!failed, "failing each of them once: the add fails with -ENOMEM and the segment holds exactly the "
		    "other %zu events (%ld bad trials)", g.n - 1, failed);

	finish_trials(&g, "");

	/* a tree walk: its dictionary compresses to less than its filter, so
	 * the finish writes the summary a second time with the match-all
	 * filter (FORMAT.md 3) and allocates there too; and no path is
	 * predicted (every one is new), so the finish copies the path stream
	 * into the coding without SUCC_PATHS (FORMAT.md 5.4.2) */
	struct gen tree = {.rng = 7};
	gen_tree_walk(&tree, 3000);
	finish_trials(&tree, " (tree walk, match-all filter)");
	gen_free(&tree);

	/* a compiler's header probes: the paths dictionary is split
	 * (FORMAT.md 4.2), which allocates its two tables and codes */
	struct gen cc = {.rng = 8};
	gen_cc_probes(&cc, 3000);
	size_t cl;
	uint8_t *cs = gen_encode(&cc, &cl);
	ok(cs && cl > 24 && (cs[21] & 0x04), "the compiler probes' segment has a split paths dictionary");
	free(cs);
	finish_trials(&cc, " (compiler probes, split paths)");
	gen_free(&cc);
	gen_free(&g);
	return tap_done();
}
