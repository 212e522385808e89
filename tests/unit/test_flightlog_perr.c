/* test_flightlog_perr.c - the PATH_ERRORS coding of the error field
 * (docs/FORMAT.md 5.4.4).
 *
 * Why: with the flag an event's error is decided after its path, against
 * the last error seen with that path, and encoder and decoder must keep
 * the per-path table in step on every event, coded or not; a reader that
 * wants errors but not paths must still decode the path stream and must
 * not hand the paths out. So: the spec's example byte for byte, exact
 * round trips of every generator in several writer layouts and in every
 * column subset that holds errors, the bytes of the old coding with
 * FL_WRITER_NO_PATH_ERRORS, and the measured point of the feature: fewer
 * error bits on compiler probes. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

#define PERR_FLAG 0x2000u
#define T_EVMASK 37u
#define T_ERROR 64u

static void *encode_flags(const struct gen *g, uint32_t flags, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags};
	return gen_encode_opts(g, &o, len);
}

/* The spec's example: one compiler probes three directories for stdio.h,
 * twice. */
static void spec_events(struct gen *g)
{
	static const char *paths[] = {"/a/stdio.h", "/b/stdio.h", "/c/stdio.h"};
	for (int i = 0; i < 6; i++) {
		struct fr_event *e = gen_push(g);
		e->ts_ns = 1000000000ull + (uint64_t)i * 1000000;
		e->kind = FR_EV_OPEN;
		e->pid = e->tid = 100;
		e->path = paths[i % 3];
		e->error = i % 3 == 2 ? 0 : -ENOENT;
	}
}

static void test_spec_example(void)
{
	struct gen g = {.rng = 1};
	spec_events(&g);
	const uint32_t raw = FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_NO_SHAPES;
	size_t len = 0, olen = 0;
	uint8_t *b = encode_flags(&g, raw, &len), *o = encode_flags(&g, raw | FL_WRITER_NO_PATH_ERRORS, &olen);
	/* error bit 0x1, path bit 0x2; the error values zz32: -ENOENT = 3 */
	static const uint8_t mask_new[] = {0x03, 0x02, 0x03, 0x02, 0x02, 0x02};
	static const uint8_t mask_old[] = {0x03, 0x02, 0x03, 0x03, 0x02, 0x03};
	static const uint8_t err_new[] = {0x03, 0x00};
	static const uint8_t err_old[] = {0x03, 0x00, 0x03, 0x00};
	ok(b && (seg_incompat(b) & PERR_FLAG), "the example is written with PATH_ERRORS");
	ok(b && seg_block_is(b, T_EVMASK, mask_new, sizeof(mask_new)),
	   "ev-mask: the error bit at events 0 and 2 only (03 02 03 02 02 02)");
	ok(b && seg_block_is(b, T_ERROR, err_new, sizeof(err_new)), "error stream: 03 00");
	ok(o && !(seg_incompat(o) & PERR_FLAG), "FL_WRITER_NO_PATH_ERRORS: no flag");
	ok(o && seg_block_is(o, T_EVMASK, mask_old, sizeof(mask_old)),
	   "... and the kind-state coding: the bit at events 0, 2, 3 and 5");
	ok(o && seg_block_is(o, T_ERROR, err_old, sizeof(err_old)), "... error stream 03 00 03 00");
	char why[256] = "";
	ok(b && !gen_check_decode(b, len, &g, FL_COL_ALL, 0, gen_masked_cmp, why, sizeof(why)),
	   "the example decodes to its events %s", why);
	ok(b && !gen_check_decode(b, len, &g, FL_COL_DETAIL, 0, gen_masked_cmp, why, sizeof(why)),
	   "... and with FL_COL_DETAIL alone: the errors, no paths %s", why);
	free(b);
	free(o);
	gen_free(&g);
}

/* Every generator, several writer layouts, every column subset: exact. */
static void test_round_trips(void)
{
	static const uint32_t layouts[] = {0,
					   FL_WRITER_NO_PATH_ERRORS,
					   FL_WRITER_NO_SHAPES,
					   FL_WRITER_NO_SUCC_PATHS | FL_WRITER_NO_GROUPED_PATHS,
					   FL_WRITER_GROUPED_PATHS_ALWAYS,
					   FL_WRITER_RAW | FL_WRITER_NO_PACK};
	static const uint32_t cols[] = {FL_COL_ALL,
					FL_COL_DETAIL,
					FL_COL_DETAIL | FL_COL_CTX,
					FL_COL_DETAIL | FL_COL_NAMES,
					FL_COL_PATHS,
					FL_COL_DETAIL | FL_COL_PATHS,
					FL_COL_CHANGES | FL_COL_DETAIL,
					FL_COL_CHANGES};
	for (int k = 0; k < 6; k++) {
		struct gen g = {.rng = 40 + (uint64_t)k};
		const char *name = "";
		switch (k) {
		case 0: gen_cc_probes(&g, 3000), name = "gen_cc_probes"; break;
		case 1: gen_build_jobs(&g, 3000, 3), name = "gen_build_jobs"; break;
		case 2: gen_random_stream(&g, 2000, 1), name = "random stream"; break;
		case 3: gen_nginx(&g, 2000), name = "gen_nginx"; break;
		case 4: gen_unpack_jobs(&g, 2000, 2), name = "gen_unpack_jobs"; break;
		default: gen_build(&g, 2000), name = "gen_build"; break;
		}
		int bad = 0, runs = 0;
		char why[256] = "", where[64] = "";
		for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]) && !bad; l++) {
			size_t len = 0;
			void *b = encode_flags(&g, layouts[l], &len);
			bool flag = b && (seg_incompat(b) & PERR_FLAG);
			if (!b || flag != !(layouts[l] & FL_WRITER_NO_PATH_ERRORS)) {
				bad = 1;
				snprintf(why, sizeof(why), "flag %d with writer flags %#x", flag, layouts[l]);
			}
			for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]) && !bad; c++, runs++)
				if (gen_check_decode(b, len, &g, cols[c], c % 2 ? FL_READ_FAST : 0, gen_masked_cmp, why,
						     sizeof(why)))
					bad = 1, snprintf(where, sizeof(where), "writer %#x, columns %#x", layouts[l],
							  cols[c]);
			if (!bad && gen_rewind_decode(b, len, &g, 7) != (long)g.n)
				bad = 1, snprintf(why, sizeof(why), "rewind mid-way with writer %#x", layouts[l]);
			free(b);
		}
		ok(!bad, "%s: %d decodes exact in 6 layouts and 8 column sets %s %s", name, runs, where, why);
		gen_free(&g);
	}
}

/* The point of the feature: compiler probes, where each path fails or
 * succeeds as it did the last time, code fewer errors and a smaller
 * segment; nginx, whose opens do not fail, is not made larger by much. */
static void test_gain(void)
{
	struct gen g = {.rng = 7};
	gen_cc_probes(&g, 20000);
	size_t a = 0, b = 0, ra = 0, rb = 0;
	void *sa = encode_flags(&g, 0, &a), *sb = encode_flags(&g, FL_WRITER_NO_PATH_ERRORS, &b);
	void *xa = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_NO_SHAPES, &ra);
	void *xb = encode_flags(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_NO_SHAPES | FL_WRITER_NO_PATH_ERRORS,
				&rb);
	uint64_t ea = xa ? seg_raw_size(xa, T_ERROR) : 0, eb = xb ? seg_raw_size(xb, T_ERROR) : 0;
	ok(sa && sb && a < b, "gen_cc_probes: %zu bytes with PATH_ERRORS, %zu without", a, b);
	ok(xa && xb && ea * 2 < eb, "gen_cc_probes: the error stream holds %llu bytes with, %llu without",
	   (unsigned long long)ea, (unsigned long long)eb);
	free(sa);
	free(sb);
	free(xa);
	free(xb);
	gen_free(&g);
	struct gen n = {.rng = 8};
	gen_nginx(&n, 5000);
	sa = encode_flags(&n, 0, &a);
	sb = encode_flags(&n, FL_WRITER_NO_PATH_ERRORS, &b);
	ok(sa && sb && a <= b + 8, "gen_nginx: %zu bytes with, %zu without (at most the same + 8)", a, b);
	free(sa);
	free(sb);
	gen_free(&n);
}

/* A segment without the flag decodes as before: the old coding of a
 * stream whose errors flip between paths must not be read through a
 * table. Its events come back exactly, in every column subset. */
static void test_without_flag(void)
{
	struct gen g = {.rng = 9};
	gen_cc_probes(&g, 4000);
	size_t len = 0;
	void *b = encode_flags(&g, FL_WRITER_NO_PATH_ERRORS, &len);
	char why[256] = "";
	int bad = !b;
	for (uint32_t c = 1; c <= FL_COL_ALL && !bad; c++)
		bad = gen_check_decode(b, len, &g, c, 0, gen_masked_cmp, why, sizeof(why));
	ok(!bad, "without the flag: exact in all 31 column subsets %s", why);
	free(b);
	b = encode_flags(&g, 0, &len);
	bad = !b;
	for (uint32_t c = 1; c <= FL_COL_ALL && !bad; c++)
		bad = gen_check_decode(b, len, &g, c, 0, gen_masked_cmp, why, sizeof(why));
	ok(!bad, "with the flag: exact in all 31 column subsets %s", why);
	free(b);
	gen_free(&g);
}

int main(void)
{
	test_spec_example();
	test_round_trips();
	test_gain();
	test_without_flag();
	return tap_done();
}
