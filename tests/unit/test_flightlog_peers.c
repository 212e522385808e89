/* test_flightlog_peers.c - the LOCAL_PEERS coding of connect's port and
 * accept's rport (docs/FORMAT.md 5.4.1).
 *
 * Why: the encoder and the decoder each keep a table of unpaired ephemeral
 * ports, and every event that touches it must update both identically: a
 * port that pairs, one that never does, one used again, one equal to the
 * kind state (nothing coded), a burst that overflows the table, pairs in
 * either order. A slip shows up as a wrong port much later, so these are
 * exact round trips of such streams, the exact stream bytes of a small
 * case (the spec's example), column subsets, a segment written before the
 * flag, and corrupt table indexes. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "fl_testseg.h"
#include "tap.h"

static void *encode_opts(const struct gen *g, uint32_t flags, int level, size_t *len)
{
	struct fl_writer_opts o = {.flags = flags, .level = level};
	return gen_encode_opts(g, &o, len);
}

/* gen_check_decode's check of the ports: equal with FL_COL_DETAIL, else 0. */
static int ports_cmp(const struct fr_event *e, const struct fr_event *ev, uint32_t cols)
{
	bool detail = (cols & FL_COL_DETAIL) || !(cols & 0x1f);
	return detail ? ev->port != e->port || ev->rport != e->rport : ev->port || ev->rport;
}

static int check_decode(const void *buf, size_t len, const struct gen *g, uint32_t cols, uint32_t rflags,
			char *why, size_t whylen)
{
	return gen_check_decode(buf, len, g, cols, rflags, ports_cmp, why, whylen);
}

/* Loopback streams of every size (inside the pack and as blocks of their
 * own), every writer layout and level, with and without the flag. */
/* Whether the writer codes a port through the table for g's events: a
 * connect's port or an accept's rport that differs from the previous
 * event of the same kind (the first one from 0). Written from the format's
 * rules (FORMAT.md 5.4.1), independently of the writer. */
static bool has_coded_peer(const struct gen *g)
{
	uint32_t last_connect = 0, last_accept = 0;
	for (size_t i = 0; i < g->n; i++) {
		const struct fr_event *e = &g->ev[i];
		if (e->kind == FR_EV_CONNECT && e->port != last_connect)
			return true;
		if (e->kind == FR_EV_ACCEPT && e->rport != last_accept)
			return true;
		if (e->kind == FR_EV_CONNECT)
			last_connect = e->port;
		if (e->kind == FR_EV_ACCEPT)
			last_accept = e->rport;
	}
	return false;
}

static void test_round_trips(void)
{
	static const struct {
		uint32_t flags;
		int level;
		const char *name;
	} lay[] = {
		{0, 0, "default"},
		{0, 19, "level 19"},
		{FL_WRITER_RAW | FL_WRITER_NO_PACK, 0, "raw, unpacked"},
		{FL_WRITER_NO_PACK, 1, "unpacked, level 1"},
		{FL_WRITER_NO_LOCAL_PEERS, 0, "without LOCAL_PEERS"},
	};
	static const size_t sizes[] = {1, 2, 7, 40, 600, 5000, 30000};
	char why[256] = "";
	for (size_t l = 0; l < sizeof(lay) / sizeof(lay[0]); l++) {
		int bad = 0, flag_ok = 1;
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]) && !bad; k++)
			for (uint64_t seed = 1; seed <= (sizes[k] > 5000 ? 2 : 6) && !bad; seed++) {
				struct gen g = {.rng = seed * 7 + k};
				gen_loopback(&g, sizes[k]);
				size_t len = 0;
				void *buf = encode_opts(&g, lay[l].flags, lay[l].level, &len);
				if (!buf)
					bad = (snprintf(why, sizeof(why), "encode"), 1);
				else
					bad = check_decode(buf, len, &g, FL_COL_ALL, 0, why, sizeof(why));
				if (buf && !!(seg_incompat(buf) & 0x40) != (!(lay[l].flags & FL_WRITER_NO_LOCAL_PEERS) &&
									  has_coded_peer(&g)))
					flag_ok = 0;
				free(buf);
				gen_free(&g);
			}
		ok(!bad && flag_ok, "loopback streams round-trip, %s (flag 0x40 %s) %s", lay[l].name,
		   lay[l].flags & FL_WRITER_NO_LOCAL_PEERS ? "clear" : "set exactly when a port was coded", why);
	}
}

/* Random streams (every kind and field, random ports) with loopback runs
 * in between, so pairs are interrupted by anything; both codings. */
static void test_mixed_property(void)
{
	char why[256] = "";
	int bad = 0, it;
	for (it = 0; it < 60 && !bad; it++) {
		struct gen g = {.rng = 1000 + (uint64_t)it};
		size_t parts = 1 + (size_t)gen_below(&g, 5);
		for (size_t p = 0; p < parts; p++) {
			gen_random_stream(&g, (size_t)gen_below(&g, 200), it % 3 == 0);
			gen_loopback(&g, g.n + (size_t)gen_below(&g, it % 7 == 0 ? 3000 : 300));
		}
		for (int nl = 0; nl < 2 && !bad; nl++) {
			size_t len = 0;
			void *buf = encode_opts(&g, nl ? FL_WRITER_NO_LOCAL_PEERS : 0, it % 5 == 0 ? 1 : 0, &len);
			bad = !buf ? (snprintf(why, sizeof(why), "encode"), 1)
				   : check_decode(buf, len, &g, FL_COL_ALL, 0, why, sizeof(why));
			if (bad)
				printf("# iteration %d%s: %zu events\n", it, nl ? " (no LOCAL_PEERS)" : "", g.n);
			free(buf);
		}
		gen_free(&g);
	}
	ok(!bad, "random streams mixed with loopback runs round-trip with and without the flag (%d streams) %s", it,
	   why);
}

/* Every reader column subset: the table runs only when the port streams
 * are loaded, and then sees every update. */
static void test_columns(void)
{
	struct gen g = {.rng = 77};
	gen_loopback(&g, 3000);
	gen_build(&g, 4000);
	gen_random_stream(&g, 500, 0);
	gen_loopback(&g, 9000);
	size_t len = 0;
	void *buf = encode_opts(&g, 0, 0, &len);
	static const struct {
		uint32_t cols, flags;
	} sub[] = {
		{FL_COL_ALL, 0},
		{FL_COL_ALL, FL_READ_FAST},
		{FL_COL_DETAIL, 0},
		{FL_COL_DETAIL, FL_READ_FAST | FL_READ_NO_SUMMARY},
		{FL_COL_CTX | FL_COL_NAMES | FL_COL_PATHS | FL_COL_ARGV, 0},
		{FL_COL_CTX, FL_READ_FAST},
		{FL_COL_DETAIL | FL_COL_CHANGES, 0},
		{FL_COL_CHANGES, 0},
	};
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		char why[256] = "";
		ok(buf && !check_decode(buf, len, &g, sub[i].cols, sub[i].flags, why, sizeof(why)),
		   "columns 0x%x, read flags 0x%x: kind/ts/pid and ports as expected %s", sub[i].cols, sub[i].flags,
		   why);
	}
	/* a rewind replays the table from empty */
	long n = gen_rewind_decode(buf, len, &g, 100);
	ok(n >= 0 && (size_t)n == g.n, "after a rewind mid-way the whole segment decodes again (%ld events)", n);
	free(buf);
	gen_free(&g);
}

static void conn(struct gen *g, uint32_t kind, uint32_t port)
{
	struct fr_event *e = gen_push(g);
	gen_ctx(e, kind == FR_EV_CONNECT ? 10 : 20, 1, "c", "/c", 5);
	e->ts_ns = 1000 * g->n;
	e->kind = kind;
	e->proto = FR_PROTO_TCP;
	if (kind == FR_EV_CONNECT)
		e->port = port, e->rport = 8080;
	else
		e->port = 8080, e->rport = port;
}

/* The worked example of FORMAT.md 5.4.1, byte for byte. */
static struct gen example(void)
{
	struct gen g = {.rng = 1};
	conn(&g, FR_EV_CONNECT, 40002); /* new: 16 + zz(40002), table [40002] */
	conn(&g, FR_EV_ACCEPT, 40002);  /* index 0, table [] */
	conn(&g, FR_EV_ACCEPT, 40010);  /* accept first: 16 + zz(40010 - 40002) = 32, [40010] */
	conn(&g, FR_EV_CONNECT, 40010); /* index 0, [] */
	conn(&g, FR_EV_CONNECT, 40020); /* never paired: 16 + zz(10) = 36, [40020] */
	conn(&g, FR_EV_CONNECT, 40030); /* 36, [40030 40020] */
	conn(&g, FR_EV_ACCEPT, 40020);  /* index 1, [40030] */
	conn(&g, FR_EV_ACCEPT, 40030);  /* index 0, [] */
	conn(&g, FR_EV_CONNECT, 40030); /* equal to the kind state: nothing coded, [] */
	conn(&g, FR_EV_CONNECT, 40026); /* 16 + zz(-4) = 23, [40026] */
	return g;
}

static void test_exact_bytes(void)
{
	struct gen g = example();
	size_t len = 0, n;
	uint8_t *b = encode_opts(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK, 0, &len);
	/* port (type 83): connect ports and accept's own port 8080 (a plain
	 * delta, zz32(8080) = 16160 = a0 7e), in event order */
	static const uint8_t want_port[] = {0x94, 0xf1, 0x04, 0xa0, 0x7e, 0x00, 0x24, 0x24, 0x17};
	static const uint8_t want_rport[] = {0xa0, 0x7e, 0x00, 0x20, 0x01, 0x00};
	const uint8_t *p = b ? seg_block(b, 64 + 19, &n, NULL) : NULL;
	ok(p && n == sizeof(want_port) && !memcmp(p, want_port, n), "port stream bytes as FORMAT.md 5.4.1 says");
	p = b ? seg_block(b, 64 + 20, &n, NULL) : NULL;
	ok(p && n == sizeof(want_rport) && !memcmp(p, want_rport, n), "rport stream bytes as FORMAT.md 5.4.1 says");
	char why[256] = "";
	ok(b && !check_decode(b, len, &g, FL_COL_ALL, 0, why, sizeof(why)), "and they decode %s", why);
	free(b);
	gen_free(&g);
}


/* Indexes at or past the table's fill are errors naming the stream and
 * the event, never a crash or a made-up port. */
static void test_corrupt_index(void)
{
	struct gen g = example();
	size_t len = 0, n = 0, entry = 0;
	uint8_t *seg = encode_opts(&g, FL_WRITER_RAW | FL_WRITER_NO_PACK, 0, &len);
	uint8_t *b = malloc(len);
	const uint8_t *rp = seg ? seg_block(seg, 64 + 20, &n, &entry) : NULL;
	size_t at = rp ? (size_t)(rp - seg) : 0;
	/* rport byte 2 is event 1's index 0 (table [40002]); byte 4 is event
	 * 6's index 1 (table [40030 40020]) */
	static const struct {
		size_t byte;
		uint8_t v;
		unsigned event;
	} cases[] = {{2, 1, 1}, {2, 15, 1}, {4, 2, 6}, {5, 1, 7}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_error e;
		int r = -1;
		char want[64];
		snprintf(want, sizeof(want), "at event %u ", cases[i].event);
		if (rp && n == 6) {
			memcpy(b, seg, len);
			b[at + cases[i].byte] = cases[i].v;
			seg_fix_crcs(b, entry);
			r = gen_decode_all(b, len, &e);
		}
		ok(r == -EBADMSG && strstr(e.msg, "peer port index out of range") && strstr(e.msg, want) &&
			   !strcmp(e.block, "rport") && e.offset == fl_le64_get(seg + entry + 8),
		   "index %u with the table holding fewer entries: '%s' in '%s'", cases[i].v, r ? e.msg : "",
		   r ? e.block : "");
	}
	/* and the same bytes are valid without the flag: plain deltas */
	if (rp && n == 6) {
		memcpy(b, seg, len);
		fl_le32_put(b + 20, fl_le32_get(seg + 20) & ~0x40u);
		seg_fix_crcs(b, entry);
		struct fl_error e;
		int r = gen_decode_all(b, len, &e);
		ok(r == 0, "the same segment with the flag cleared decodes (as plain deltas): %d %s", r, e.msg);
	} else {
		ok(0, "the rport block");
	}
	free(b);
	free(seg);
	gen_free(&g);
}

/* tests/fixtures/loopback-pre-peers.frl: gen_loopback(rng 11, 600)
 * written by the writer before LOCAL_PEERS (2026-11-22), default options. */
static void test_old_segment(void)
{
	size_t len = 0;
	void *fx = gen_read_fixture("loopback-pre-peers.frl", &len);
	struct gen g = {.rng = 11};
	gen_loopback(&g, 600);
	char why[256] = "";
	ok(fx && !(seg_incompat(fx) & 0x40) && (seg_incompat(fx) & 0x1), "the fixture has DELTA_PORTS, not LOCAL_PEERS");
	ok(fx && !check_decode(fx, len, &g, FL_COL_ALL, 0, why, sizeof(why)),
	   "a segment written before LOCAL_PEERS decodes to exactly its events %s", why);
	ok(fx && !check_decode(fx, len, &g, FL_COL_DETAIL, FL_READ_FAST, why, sizeof(why)),
	   "... and with FL_COL_DETAIL alone %s", why);
	size_t nlen = 0;
	void *nb = encode_opts(&g, 0, 0, &nlen);
	ok(nb && nlen < len && !check_decode(nb, nlen, &g, FL_COL_ALL, 0, why, sizeof(why)),
	   "its events re-encoded with LOCAL_PEERS: %zu bytes, %zu before", nlen, len);
	free(nb);
	free(fx);
	gen_free(&g);
}

int main(void)
{
	test_exact_bytes();
	test_corrupt_index();
	test_old_segment();
	test_round_trips();
	test_columns();
	test_mixed_property();
	return tap_done();
}
