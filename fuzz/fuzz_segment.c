/* fuzz_segment.c - libFuzzer target for the segment reader and the journal.
 *
 * Why: segments and journals are read back from disk that may be damaged or
 * hostile; any input must give a clean error. Built with checksum checks
 * disabled (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) so mutations reach the
 * block parsers and the column decoder instead of stopping at a CRC.
 * `make fuzz` builds it; scripts/fuzz.sh SECONDS runs it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flightlog/flightlog.h"
#include "fuzz_prior.h"

/* made once: segments with the PRIOR flag decode against it */
static struct fl_prior *prior;

static void decode_ex(const uint8_t *data, size_t size, uint32_t columns, uint32_t flags)
{
	struct fl_segment *s;
	struct fl_error err;
	const struct fl_prior *const list[1] = {prior};
	struct fl_read_opts o = {.columns = columns, .flags = flags, .priors = list, .n_priors = prior ? 1 : 0};
	if (fl_segment_open_ex(data, size, &o, &s, &err))
		return;
	struct fr_event ev;
	struct fr_buf b = {0};
	int r, n = 0;
	while ((r = fl_segment_next(s, &ev)) == 1) {
		/* touch every string the reader handed out */
		if (n++ < 64) {
			b.len = 0;
			fr_event_to_json(&ev, &b);
		}
		if (ev.argv_len)
			(void)fr_argv_count(ev.argv, ev.argv_len);
	}
	fr_buf_free(&b);
	size_t np, nh;
	fl_segment_pids(s, &np);
	const char *const *h = fl_segment_hosts(s, &nh);
	for (size_t i = 0; i < nh; i++)
		(void)strlen(h[i]);
	(void)fl_segment_may_contain_path(s, "/etc/passwd");
	/* the path-only scan, for the first few paths, from a fresh reader
	 * and after the iteration */
	size_t nd;
	const char *const *paths = fl_segment_dict(s, FL_DICT_PATHS, NULL, &nd);
	if (paths && nd) {
		struct fl_path_hit *hits = NULL;
		size_t nhits = 0;
		if (!fl_segment_find_paths(s, paths, nd < 3 ? nd : 3, &hits, &nhits))
			free(hits);
	}
	const char *sole = fl_segment_sole_host(s);
	if (sole)
		(void)strlen(sole);
	fl_segment_free(s);
}

static void decode(const uint8_t *data, size_t size, uint32_t columns)
{
	decode_ex(data, size, columns, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!prior)
		prior = fuzz_prior_new();
	decode(data, size, FL_COL_ALL);
	decode(data, size, FL_COL_PATHS);
	decode(data, size, FL_COL_PATHS | FL_COL_NAMES | FL_COL_CHANGES);
	/* the query's second open: blocks' CRCs only, no summary */
	decode_ex(data, size, FL_COL_ALL | FL_COL_CHANGES, FL_READ_FAST | FL_READ_NO_SUMMARY);
	decode_ex(data, size, FL_COL_SCAN, FL_READ_FAST | FL_READ_NO_SUMMARY);
	/* summary and dictionaries only (the query's first look): in a packed
	 * segment this decodes the pack without the event streams */
	decode(data, size, FL_COL_NONE | FL_COL_PATHS | FL_COL_NAMES);
	struct fl_writer *w;
	if (!fl_writer_new(NULL, &w)) {
		struct fl_journal_recovery rec;
		fl_journal_recover_buf(data, size, w, &rec);
		fl_writer_free(w);
	}
	return 0;
}
