/* test_flightlog_scan.c - the path-only scan, the sole-host check and the
 * dictionaries-only open.
 *
 * Why: queries answer "which events touched this path" from a scan of the
 * path streams alone (fl_segment_find_paths) and count by host without
 * decoding hosts (fl_segment_sole_host). Both must agree exactly with a
 * full decode, for every column choice, lane layout and old segment, or a
 * query silently miscounts. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

/* fl_segment_find_paths for the given paths under cols equals a decode
 * that compares path and path2 pointers with the dictionary entries: same
 * ordinals, times, kinds and names. Returns the number of hits, or -1
 * (why says what differed). */
static long scan_matches(const void *buf, size_t len, uint32_t cols, const char *const *paths, size_t np,
			 char *why, size_t wl)
{
	struct fl_read_opts o = {.columns = cols | FL_COL_PATHS, .flags = FL_READ_FAST};
	struct fl_segment *s;
	if (fl_segment_open_ex(buf, len, &o, &s, NULL)) {
		snprintf(why, wl, "open failed");
		return -1;
	}
	const char *ent[16];
	size_t ne = 0;
	for (size_t i = 0; i < np; i++)
		if ((ent[ne] = fl_segment_path_entry(s, paths[i])))
			ne++;
	struct fl_path_hit *hits = NULL;
	size_t nh = 0;
	long res = -1;
	int r = fl_segment_find_paths(s, ent, ne, &hits, &nh);
	if (r) {
		snprintf(why, wl, "find_paths %d", r);
		goto out;
	}
	struct fr_event ev;
	uint64_t j = 0;
	size_t k = 0;
	while ((r = fl_segment_next(s, &ev)) == 1) {
		bool hit = false;
		for (size_t i = 0; i < ne; i++)
			hit |= ev.path == ent[i] || ev.path2 == ent[i];
		if (hit) {
			if (k == nh || hits[k].ordinal != j || hits[k].ts_ns != ev.ts_ns || hits[k].kind != ev.kind ||
			    hits[k].path != ev.path || hits[k].path2 != ev.path2) {
				snprintf(why, wl, "event %llu: hit %zu of %zu differs", (unsigned long long)j, k, nh);
				goto out;
			}
			k++;
		}
		j++;
	}
	if (r || k != nh) {
		snprintf(why, wl, "next %d, %zu hits of %zu seen", r, k, nh);
		goto out;
	}
	res = (long)nh;
out:
	free(hits);
	fl_segment_free(s);
	return res;
}

/* The same scan from a FL_COL_SCAN open (no pid, a prefix of the context
 * masks) and from a FL_COL_PATHS open: same hits. -1 when they differ. */
static long scan_vs_paths(const void *buf, size_t len, uint32_t extra, const char *path)
{
	struct fl_read_opts os = {.columns = FL_COL_SCAN | extra}, op = {.columns = FL_COL_PATHS | extra};
	struct fl_segment *a = NULL, *b = NULL;
	struct fl_path_hit *ha = NULL, *hb = NULL;
	size_t na = 0, nb = 0;
	long res = -1;
	if (fl_segment_open_ex(buf, len, &os, &a, NULL) || fl_segment_open_ex(buf, len, &op, &b, NULL))
		goto out;
	const char *ea = fl_segment_path_entry(a, path), *eb = fl_segment_path_entry(b, path);
	struct fr_event ev;
	if (!ea || !eb || fl_segment_find_paths(a, &ea, 1, &ha, &na) || fl_segment_find_paths(b, &eb, 1, &hb, &nb) ||
	    na != nb || fl_segment_next(a, &ev) != -EINVAL)
		goto out;
	for (size_t i = 0; i < na; i++)
		if (ha[i].ordinal != hb[i].ordinal || ha[i].ts_ns != hb[i].ts_ns || ha[i].kind != hb[i].kind ||
		    !ha[i].path != !hb[i].path || (ha[i].path && strcmp(ha[i].path, hb[i].path)) ||
		    !ha[i].path2 != !hb[i].path2 || (ha[i].path2 && strcmp(ha[i].path2, hb[i].path2)))
			goto out;
	res = (long)na;
out:
	free(ha);
	free(hb);
	fl_segment_free(a);
	fl_segment_free(b);
	return res;
}

static void test_find_paths(void)
{
	char why[160] = "";
	struct gen g = {.rng = 21};
	gen_build(&g, 6000);
	size_t len;
	void *buf = gen_encode(&g, &len);
	const char *one[] = {"/usr/include/stdio.h"};
	const char *three[] = {"/usr/include/string.h", "src/c.o", "/no/such/file"};
	long n1 = scan_matches(buf, len, FL_COL_PATHS, one, 1, why, sizeof(why));
	ok(n1 > 100, "one path, paths columns: %ld hits as the decode %s", n1, why);
	long n2 = scan_matches(buf, len, FL_COL_ALL, three, 3, why, sizeof(why));
	ok(n2 > 100, "three paths (one absent), every column: %ld hits as the decode %s", n2, why);
	long n3 = scan_matches(buf, len, FL_COL_CHANGES, three, 3, why, sizeof(why));
	ok(n3 > 0 && n3 < n2, "change lane only: %ld hits, ordinals among the change events %s", n3, why);

	long s1 = scan_vs_paths(buf, len, 0, one[0]), s2 = scan_vs_paths(buf, len, FL_COL_CHANGES, "src/c.o");
	ok(s1 == n1 && s2 > 0, "FL_COL_SCAN: the same hits as FL_COL_PATHS (%ld, %ld changes), and no events", s1, s2);

	/* more paths than fit on the stack: every one is looked for */
	const char *many[] = {"/usr/include/stdio.h", "/usr/include/stdlib.h", "/usr/include/string.h",
			      "/usr/include/errno.h", "/usr/include/stdint.h", "src/event/event.h",
			      "/usr/include/x86_64-linux-gnu/bits/types.h", "src/a.c", "src/b.c", "src/c.c",
			      "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h"};
	long nm = scan_matches(buf, len, FL_COL_PATHS, many, sizeof(many) / sizeof(many[0]), why, sizeof(why));
	ok(nm > n1, "11 paths at once: %ld hits as the decode %s", nm, why);

	/* the scan does not move the iteration */
	struct fl_read_opts o = {.columns = FL_COL_ALL};
	struct fl_segment *s, *fresh;
	fl_segment_open_ex(buf, len, &o, &s, NULL);
	fl_segment_open_ex(buf, len, &o, &fresh, NULL);
	struct fr_event a, b;
	for (int i = 0; i < 5; i++) {
		fl_segment_next(s, &a);
		fl_segment_next(fresh, &b);
	}
	const char *e = fl_segment_path_entry(s, one[0]);
	struct fl_path_hit *hits = NULL;
	size_t nh = 0;
	int r = fl_segment_find_paths(s, &e, 1, &hits, &nh);
	free(hits);
	bool same = r == 0;
	int ra, rb;
	while (same && (ra = fl_segment_next(s, &a)) == 1 && (rb = fl_segment_next(fresh, &b)) == 1)
		same = !fr_event_compare(&a, &b);
	ok(same && nh == (size_t)n1, "a scan in the middle of an iteration leaves it where it was");
	fl_segment_free(s);
	fl_segment_free(fresh);

	/* a pointer that is not one of the segment's entries matches nothing;
	 * without the path columns the scan is refused */
	struct fl_read_opts op = {.columns = FL_COL_PATHS};
	fl_segment_open_ex(buf, len, &op, &s, NULL);
	const char *foreign = "/usr/include/stdio.h";
	hits = NULL;
	nh = 1;
	r = fl_segment_find_paths(s, &foreign, 1, &hits, &nh);
	ok(r == 0 && nh == 0 && !hits, "a string that is not a dictionary entry: no hit (r %d, %zu)", r, nh);
	fl_segment_free(s);
	struct fl_read_opts oc = {.columns = FL_COL_CTX};
	fl_segment_open_ex(buf, len, &oc, &s, NULL);
	r = fl_segment_find_paths(s, &foreign, 1, &hits, &nh);
	ok(r == -EINVAL, "without FL_COL_PATHS: -EINVAL (%d)", r);
	fl_segment_free(s);
	free(buf);
	gen_free(&g);

	/* random streams: every kind (and kinds past the slots), path2,
	 * NULL names, chaotic times */
	for (int round = 0; round < 4; round++) {
		struct gen rg = {.rng = 100 + (uint64_t)round};
		gen_random_stream(&rg, 3000, round & 1);
		buf = gen_encode(&rg, &len);
		const char *p[3] = {rg.ev[7].path ? rg.ev[7].path : "", rg.ev[100].path2 ? rg.ev[100].path2 : "",
				    rg.ev[2000].path ? rg.ev[2000].path : ""};
		long a1 = scan_matches(buf, len, FL_COL_ALL, p, 3, why, sizeof(why));
		long a2 = scan_matches(buf, len, FL_COL_CHANGES, p, 3, why, sizeof(why));
		ok(a1 > 0 && a2 >= 0, "random stream %d (chaos %d): %ld hits, %ld in the change lane %s", round,
		   round & 1, a1, a2, why);
		free(buf);
		gen_free(&rg);
	}

	/* a segment written before lanes, TS_UNIT and TS_BASE */
	buf = gen_read_fixture("session-ssh.frl", &len);
	const char *fx[] = {"/etc/hostname", "/run/motd.dynamic.new", "/etc/passwd"};
	long f1 = buf ? scan_matches(buf, len, FL_COL_ALL, fx, 3, why, sizeof(why)) : -1;
	long f2 = buf ? scan_matches(buf, len, FL_COL_CHANGES, fx, 3, why, sizeof(why)) : -1;
	ok(f1 > 0 && f2 > 0 && f2 < f1, "an old segment: %ld hits, %ld among change events (filtered) %s", f1,
	   f2, why);
	free(buf);
}

static const char *sole_of(const struct gen *g, uint32_t cols)
{
	size_t len;
	void *buf = gen_encode(g, &len);
	struct fl_read_opts o = {.columns = cols};
	struct fl_segment *s;
	static char res[64];
	const char *h = NULL;
	if (!fl_segment_open_ex(buf, len, &o, &s, NULL)) {
		h = fl_segment_sole_host(s);
		if (h) {
			snprintf(res, sizeof(res), "%s", h);
			h = res;
		}
		fl_segment_free(s);
	}
	free(buf);
	return h;
}

static void test_sole_host(void)
{
	struct gen g = {.rng = 5};
	gen_build(&g, 3000); /* every event on web-01 */
	const char *h = sole_of(&g, FL_COL_NAMES);
	ok(h && !strcmp(h, "web-01"), "one host throughout: web-01 (%s)", h ? h : "NULL");
	ok(!sole_of(&g, FL_COL_PATHS), "without FL_COL_NAMES: NULL");
	h = sole_of(&g, FL_COL_SCAN);
	ok(h && !strcmp(h, "web-01"), "from a FL_COL_SCAN open: web-01 (%s)", h ? h : "NULL");
	g.ev[1500].host = NULL;
	ok(!sole_of(&g, FL_COL_NAMES), "one event without a host in the middle: NULL");
	g.ev[1500].host = "web-01";
	g.ev[0].host = NULL;
	ok(!sole_of(&g, FL_COL_NAMES), "the first event without a host: NULL");
	g.ev[0].host = "web-01";
	g.ev[2999].host = "web-02";
	ok(!sole_of(&g, FL_COL_NAMES), "two hosts: NULL");
	gen_free(&g);
	/* the brute force over random streams: sole host iff every event
	 * has the same non-NULL host */
	int agree = 0;
	for (int round = 0; round < 20; round++) {
		struct gen rg = {.rng = 500 + (uint64_t)round};
		gen_build(&rg, 400);
		if (round % 3 == 1)
			rg.ev[gen_below(&rg, rg.n)].host = NULL;
		if (round % 3 == 2)
			rg.ev[gen_below(&rg, rg.n)].host = "other";
		bool want = true;
		for (size_t i = 0; i < rg.n; i++)
			want &= rg.ev[i].host && !strcmp(rg.ev[i].host, "web-01");
		agree += (sole_of(&rg, FL_COL_ALL) != NULL) == want && (sole_of(&rg, FL_COL_SCAN) != NULL) == want;
		gen_free(&rg);
	}
	ok(agree == 20, "20 streams: the sole host agrees with the events %d times", agree);
}

static void test_dicts_only(void)
{
	struct gen g = {.rng = 9};
	gen_build(&g, 2000);
	size_t len;
	void *buf = gen_encode(&g, &len);
	struct fl_read_opts o = {.columns = FL_COL_NONE | FL_COL_PATHS};
	struct fl_segment *s;
	int r = fl_segment_open_ex(buf, len, &o, &s, NULL);
	size_t np = 0, nc = 7;
	const uint32_t *lens = NULL;
	const char *const *paths = r ? NULL : fl_segment_dict(s, FL_DICT_PATHS, &lens, &np);
	const char *const *comms = r ? NULL : fl_segment_dict(s, FL_DICT_COMMS, NULL, &nc);
	bool found = false;
	for (size_t i = 0; i < np; i++)
		found |= lens[i] == strlen(paths[i]) && !strcmp(paths[i], "/usr/include/stdio.h");
	struct fr_event ev;
	ok(!r && found && !comms && nc == 0 && fl_segment_next(s, &ev) == 0,
	   "FL_COL_NONE | FL_COL_PATHS: the paths dictionary (%zu entries), no comms, no events", np);
	if (!r)
		fl_segment_free(s);
	free(buf);
	gen_free(&g);
}

/* FL_READ_NO_SUMMARY: the same events, without the summary's facts. */
static void test_no_summary(void)
{
	struct gen g = {.rng = 13};
	gen_build(&g, 3000);
	for (size_t i = 0; i < g.n; i++)
		g.ev[i].ses = 7; /* a sessions block */
	size_t len;
	void *buf = gen_encode(&g, &len);
	struct fl_read_opts full = {.columns = FL_COL_ALL | FL_COL_CHANGES},
			    nosum = {.columns = FL_COL_ALL | FL_COL_CHANGES, .flags = FL_READ_NO_SUMMARY};
	struct fl_segment *a = NULL, *b = NULL;
	bool same = !fl_segment_open_ex(buf, len, &full, &a, NULL) && !fl_segment_open_ex(buf, len, &nosum, &b, NULL);
	struct fr_event ea, eb;
	int ra = 0, rb = 0;
	size_t n = 0;
	while (same && (ra = fl_segment_next(a, &ea)) == 1 && (rb = fl_segment_next(b, &eb)) == 1 && ++n)
		same = !fr_event_compare(&ea, &eb);
	same = same && ra == 0 && fl_segment_next(b, &eb) == 0;
	size_t np = 1, nh = 1, ns = 1;
	bool empty = b && fl_segment_info(b)->event_count == g.n && !fl_segment_info(b)->kind_count[FR_EV_CREATE] &&
		     (fl_segment_pids(b, &np), np == 0) && (fl_segment_hosts(b, &nh), nh == 0) &&
		     !fl_segment_sessions(b, &ns) && ns == 0 && fl_segment_sessions(a, &ns) && ns == 1;
	ok(same && n > 100, "FL_READ_NO_SUMMARY: the same %zu change events", n);
	ok(empty, "and no per-kind counts, pids, hosts or sessions from the summary");
	fl_segment_free(a);
	fl_segment_free(b);
	struct fl_read_opts ns_only = {.columns = FL_COL_CTX, .flags = FL_READ_NO_SUMMARY};
	b = NULL;
	ok(!fl_segment_open_ex(buf, len, &ns_only, &b, NULL) && fl_segment_may_contain_path(b, "/not/there"),
	   "without a summary or paths dictionary, any path may be there");
	fl_segment_free(b);
	free(buf);
	gen_free(&g);
}

/* Whether block `type` is in the table of buf (FORMAT.md 2.2). */
static bool has_block(const uint8_t *buf, uint32_t type)
{
	size_t n;
	return seg_block(buf, type, &n, NULL) != NULL;
}

/* A segment whose events have no session has no sessions block (its 40
 * table bytes are most of a quiet segment's overhead), yet says "no
 * sessions" rather than "unknown" (FORMAT.md 3.1): queries then need not
 * decode its events to find sessions. Without the SESSIONS flag the
 * answer stays "unknown", as for a segment from before the block. */
static void test_no_sessions(void)
{
	struct gen g = {.rng = 14};
	gen_build(&g, 500);
	for (size_t i = 0; i < g.n; i++)
		g.ev[i].ses = FR_ID_UNSET;
	size_t len;
	uint8_t *buf = gen_encode(&g, &len);
	struct fl_segment *s = NULL;
	size_t ns = 1;
	struct fl_read_opts sum = {.columns = FL_COL_NONE};
	ok(buf && !has_block(buf, 39) && (buf[16] & 1) && !fl_segment_open_ex(buf, len, &sum, &s, NULL) &&
		   fl_segment_sessions(s, &ns) && ns == 0,
	   "no session: no sessions block, flag SESSIONS set, and the reader says none (not unknown)");
	fl_segment_free(s);
	s = NULL;
	if (buf) {
		buf[16] &= (uint8_t)~1u;
		seg_fix_header_crc(buf);
	}
	ns = 1;
	ok(buf && !fl_segment_open_ex(buf, len, &sum, &s, NULL) && !fl_segment_sessions(s, &ns) && ns == 0,
	   "the same segment without the flag: sessions unknown (NULL)");
	fl_segment_free(s);
	free(buf);
	g.ev[7].ses = 3;
	buf = gen_encode(&g, &len);
	s = NULL;
	ok(buf && has_block(buf, 39) && !fl_segment_open_ex(buf, len, &sum, &s, NULL) && fl_segment_sessions(s, &ns) &&
		   ns == 1,
	   "one event with a session: the block, with that session");
	fl_segment_free(s);
	free(buf);
	gen_free(&g);
}

/* FL_READ_PACK: a summary-only open names the packed blocks (stats). */
static void test_pack_sizes(void)
{
	struct gen g = {.rng = 17};
	gen_build(&g, 300);
	size_t len;
	void *buf = gen_encode(&g, &len);
	bool named[2] = {false, false};
	uint64_t total[2] = {0, 0};
	for (int with = 0; with < 2; with++) {
		struct fl_read_opts o = {.columns = FL_COL_NONE, .flags = with ? FL_READ_PACK : 0};
		struct fl_segment *s;
		if (fl_segment_open_ex(buf, len, &o, &s, NULL))
			continue;
		size_t nb;
		const struct fl_block_stat *b = fl_segment_blocks(s, &nb);
		for (size_t i = 0; i < nb; i++) {
			named[with] |= !strcmp(b[i].name, "shape");
			total[with] += b[i].stored;
		}
		fl_segment_free(s);
	}
	ok(!named[0] && named[1] && total[0] == len && total[1] == len,
	   "summary-only: packed streams are named only with FL_READ_PACK; sizes add up to %zu bytes", len);
	free(buf);
	gen_free(&g);
}

int main(void)
{
	test_no_sessions();
	test_pack_sizes();
	test_no_summary();
	test_find_paths();
	test_sole_host();
	test_dicts_only();
	return tap_done();
}
