/* test_flightlog_store.c - the segment store, chain verification, byte cap
 * and journal recovery.
 *
 * Why: the store is what proves nothing was deleted or edited and what
 * survives a crash; each tamper case (delete, edit, swap, reorder) must be
 * detected and the segment named, and a torn journal must keep its valid
 * prefix. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flightlog/fl_internal.h"
#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "tap.h"

static char root[64];

static void mkstore(const char *name, char *dir, size_t segs, size_t per_seg)
{
	snprintf(dir, 256, "%s/%s", root, name);
	struct fl_store *st;
	fl_store_open(dir, &st);
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	struct gen g = {.rng = 7};
	gen_build(&g, segs * per_seg);
	for (size_t s = 0; s < segs; s++) {
		for (size_t i = 0; i < per_seg; i++)
			fl_writer_add(w, &g.ev[s * per_seg + i]);
		fl_store_append(st, w, NULL);
	}
	gen_free(&g);
	fl_writer_free(w);
	fl_store_close(st);
}

static int verify(const char *dir, struct fl_verify_result *res)
{
	struct fl_store *st;
	int r = fl_store_open(dir, &st);
	if (r)
		return r;
	r = fl_store_verify(st, res);
	fl_store_close(st);
	return r;
}

static void path_of(char *out, const char *dir, uint64_t seq)
{
	snprintf(out, 512, "%s/seg-%012llu.frl", dir, (unsigned long long)seq);
}

static void test_store_basic(void)
{
	char dir[256];
	mkstore("basic", dir, 5, 200);
	struct fl_store *st;
	ok(!fl_store_open(dir, &st), "open store");
	size_t n;
	const struct fl_store_entry *e = fl_store_entries(st, &n);
	ok(n == 5 && e[0].seq == 1 && e[4].seq == 5 && !strcmp(e[2].name, "seg-000000000003.frl"),
	   "5 segments listed in order");
	struct fl_verify_result res;
	ok(!fl_store_verify(st, &res) && res.checked == 5, "chain verifies (%llu)", (unsigned long long)res.checked);
	uint64_t next;
	uint8_t h[32];
	fl_store_tip(st, &next, h);
	void *buf;
	size_t len;
	fl_store_read(st, 5, &buf, &len);
	uint8_t h5[32];
	fl_sha256(buf, len, h5);
	ok(next == 6 && !memcmp(h, h5, 32), "tip is seq 6 chained to segment 5's hash");
	struct fl_segment *seg;
	fl_segment_open(buf, len, &seg, NULL);
	free(buf);
	fl_store_read(st, 4, &buf, &len);
	uint8_t h4[32];
	fl_sha256(buf, len, h4);
	free(buf);
	ok(!memcmp(fl_segment_info(seg)->prev_hash, h4, 32), "segment 5 carries segment 4's hash");
	fl_segment_free(seg);
	ok(fl_store_write_segment(st, 3, "x", 1) == -EEXIST, "existing seq is not overwritten");
	fl_store_close(st);
	fl_store_close(NULL);
	/* stray files are ignored */
	char p[512];
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	FILE *f = fopen(p, "w");
	fputs("hi", f);
	fclose(f);
	ok(!verify(dir, &res), "unrelated files ignored");
}

static void test_tamper(void)
{
	char dir[256], p[512], q[512];
	struct fl_verify_result res;

	mkstore("deleted", dir, 5, 100);
	path_of(p, dir, 3);
	unlink(p);
	ok(verify(dir, &res) == -EBADMSG && res.problem == FL_VERIFY_MISSING && res.seq == 3,
	   "deleted segment named: %s", res.msg);

	mkstore("swapped", dir, 5, 100);
	path_of(p, dir, 2);
	path_of(q, dir, 4);
	char t[600];
	snprintf(t, sizeof(t), "%s.tmp", p);
	rename(p, t);
	rename(q, p);
	rename(t, q);
	ok(verify(dir, &res) == -EBADMSG && res.problem == FL_VERIFY_MISPLACED && res.seq == 2,
	   "swapped segments named: %s", res.msg);

	/* edited in place (a byte flip): checksum error names the segment */
	mkstore("edited", dir, 5, 100);
	path_of(p, dir, 4);
	int fd = open(p, O_RDWR);
	uint8_t c;
	pread(fd, &c, 1, 300);
	c ^= 0x10;
	pwrite(fd, &c, 1, 300);
	close(fd);
	ok(verify(dir, &res) == -EBADMSG && res.problem == FL_VERIFY_CORRUPT && res.seq == 4,
	   "edited segment named: %s", res.msg);

	/* replaced by a fully consistent forgery (re-encoded, valid checksums,
	 * right seq and prev hash): the next link breaks */
	mkstore("forged", dir, 5, 100);
	{
		struct fl_store *st;
		fl_store_open(dir, &st);
		void *buf;
		size_t len;
		fl_store_read(st, 2, &buf, &len);
		struct fl_segment *seg;
		fl_segment_open(buf, len, &seg, NULL);
		uint8_t prev[32];
		memcpy(prev, fl_segment_info(seg)->prev_hash, 32);
		struct fl_writer *w;
		fl_writer_new(NULL, &w);
		struct fr_event ev;
		int k = 0;
		while (fl_segment_next(seg, &ev) == 1)
			if (k++ != 10) /* drop one event */
				fl_writer_add(w, &ev);
		void *nb;
		size_t nl;
		fl_writer_finish(w, prev, 2, &nb, &nl);
		fl_writer_free(w);
		fl_segment_free(seg);
		free(buf);
		path_of(p, dir, 2);
		FILE *f = fopen(p, "w");
		fwrite(nb, 1, nl, f);
		fclose(f);
		free(nb);
		fl_store_close(st);
	}
	ok(verify(dir, &res) == -EBADMSG && res.problem == FL_VERIFY_BROKEN_LINK && res.seq == 2,
	   "forged segment named by the broken link: %s", res.msg);

	/* reordered: the content of 5 renamed to 6 and 3 deleted ... simplest
	 * reorder: move the newest segment to a new, later number */
	mkstore("renamed", dir, 4, 100);
	path_of(p, dir, 4);
	path_of(q, dir, 9);
	rename(p, q);
	ok(verify(dir, &res) == -EBADMSG && res.problem == FL_VERIFY_MISSING && res.seq == 4,
	   "renamed-away segment named: %s", res.msg);
}

static void test_cap(void)
{
	char dir[256];
	mkstore("cap", dir, 6, 300);
	struct fl_store *st;
	fl_store_open(dir, &st);
	size_t n;
	const struct fl_store_entry *e = fl_store_entries(st, &n);
	uint64_t total = fl_store_bytes(st), keep = e[4].size + e[5].size + e[3].size;
	struct fl_drop d;
	ok(!fl_store_enforce_cap(st, keep, &d), "enforce cap");
	e = fl_store_entries(st, &n);
	ok(d.segments == 3 && d.first_seq == 1 && d.last_seq == 3 && d.events == 900 &&
	   d.bytes == total - keep && d.ts_min && d.ts_max >= d.ts_min,
	   "dropped the 3 oldest: seq %llu-%llu, %llu events, %llu bytes",
	   (unsigned long long)d.first_seq, (unsigned long long)d.last_seq,
	   (unsigned long long)d.events, (unsigned long long)d.bytes);
	ok(n == 3 && e[0].seq == 4 && fl_store_bytes(st) <= keep, "3 newest remain");
	struct fl_verify_result res;
	ok(!fl_store_verify(st, &res) && res.checked == 3, "chain still verifies via the anchor: %s", res.msg);
	ok(!fl_store_enforce_cap(st, 1, &d) && d.segments == 2 && fl_store_entries(st, &n) && n == 1,
	   "never deletes the newest segment");
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	struct fr_event ev = {.kind = FR_EV_GAP, .count = d.bytes, .path = "store byte cap"};
	fl_writer_add(w, &ev);
	uint64_t seq;
	ok(!fl_store_append(st, w, &seq) && seq == 7, "append continues the chain (seq %llu)", (unsigned long long)seq);
	fl_writer_free(w);
	fl_store_close(st);
	ok(!verify(dir, &res) && res.checked == 2, "reopened store verifies");
	/* deleting the oldest kept segment is still detected */
	char p[512];
	path_of(p, dir, 6);
	unlink(p);
	ok(verify(dir, &res) == -EBADMSG && res.problem == FL_VERIFY_MISSING && res.seq == 6,
	   "oldest segment deleted after a trim: %s", res.msg);
}

static void test_journal(void)
{
	char dir[256], jp[512];
	snprintf(dir, sizeof(dir), "%s/journal", root);
	struct fl_store *st;
	fl_store_open(dir, &st);
	fl_store_journal_path(st, jp, sizeof(jp));
	struct gen g = {.rng = 11};
	gen_random_stream(&g, 300, 0);
	struct fl_journal *j;
	ok(!fl_journal_create(jp, &j), "journal create");
	for (size_t i = 0; i < 300; i += 30)
		fl_journal_append(j, &g.ev[i], 30);
	ok(!fl_journal_sync(j), "journal sync");
	fl_journal_close(j);
	fl_journal_close(NULL);

	/* full journal */
	struct fl_writer *w;
	fl_writer_new(NULL, &w);
	struct fl_journal_recovery rec;
	ok(!fl_journal_recover(jp, w, &rec) && rec.records == 10 && rec.events == 300 && !rec.discarded_bytes,
	   "complete journal recovers every event");
	void *buf;
	size_t len;
	fl_writer_finish(w, NULL, 1, &buf, &len);
	struct fl_segment *seg;
	fl_segment_open(buf, len, &seg, NULL);
	struct fr_event ev;
	int bad = 0, i = 0;
	while (fl_segment_next(seg, &ev) == 1)
		bad += fr_event_compare(&g.ev[i++], &ev) != 0;
	ok(!bad && i == 300, "journal round-trips events exactly");
	fl_segment_free(seg);
	free(buf);

	/* torn tail: cut the last record in the middle (simulated crash) */
	void *jb;
	size_t jl;
	int fd = open(jp, O_RDONLY);
	struct stat sb;
	fstat(fd, &sb);
	jl = (size_t)sb.st_size;
	jb = malloc(jl);
	read(fd, jb, jl);
	close(fd);
	int all = 1;
	for (size_t cut = 0; cut < jl; cut += 1 + cut / 50) {
		struct fl_writer *w2;
		fl_writer_new(NULL, &w2);
		int r = fl_journal_recover_buf(jb, cut, w2, &rec);
		if (cut < 24 ? r != -EBADMSG : (r || rec.valid_bytes + rec.discarded_bytes != cut ||
						 fl_writer_count(w2) != rec.events || rec.events % 30))
			all = 0;
		fl_writer_free(w2);
	}
	ok(all, "recovery of a journal cut at any point keeps whole records only");

	/* a journal whose segment was written before a crash is not recovered
	 * twice: the v2 header names the segment's seq */
	{
		char d2[] = "/tmp/fl-jseq-XXXXXX";
		mkdtemp(d2);
		struct fl_store *st2;
		fl_store_open(d2, &st2);
		char jp2[4200];
		fl_store_journal_path(st2, jp2, sizeof(jp2));
		struct fl_journal *j2;
		ok(!fl_journal_create_seq(jp2, 1, &j2), "journal for seq 1");
		fl_journal_append(j2, g.ev, 30);
		fl_journal_sync(j2);
		fl_journal_close(j2);
		struct fl_writer *w3;
		fl_writer_new(NULL, &w3);
		for (int k = 0; k < 30; k++)
			fl_writer_add(w3, &g.ev[k]);
		uint64_t s3 = 0;
		ok(!fl_store_append(st2, w3, &s3) && s3 == 1, "its segment 1 was written (then the crash)");
		fl_writer_free(w3);
		struct fl_journal_recovery rr;
		uint64_t got = 99;
		ok(!fl_store_recover_journal(st2, &rr, &got) && rr.already_closed && rr.seq == 1 && rr.events == 0 &&
			   got == 0,
		   "recovery sees the segment exists and keeps nothing twice");
		size_t n2;
		fl_store_entries(st2, &n2);
		ok(n2 == 1 && access(jp2, F_OK) != 0, "still one segment, and the journal is gone");
		/* the same journal before its segment exists is recovered */
		fl_journal_create_seq(jp2, 2, &j2);
		fl_journal_append(j2, g.ev, 30);
		fl_journal_close(j2);
		ok(!fl_store_recover_journal(st2, &rr, &got) && !rr.already_closed && rr.events == 30 && got == 2,
		   "a journal for the next seq is recovered into it");
		fl_store_close(st2);
		char cmd[4300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", d2);
		system(cmd);
	}
	/* corrupt a byte in the 5th record: records 1-4 kept */
	uint8_t *c = malloc(jl);
	memcpy(c, jb, jl);
	c[jl / 2] ^= 0xff;
	fl_writer_free(w);
	fl_writer_new(NULL, &w);
	ok(!fl_journal_recover_buf(c, jl, w, &rec) && rec.records >= 4 && rec.records < 10 && rec.discarded_bytes,
	   "corrupt record: valid prefix kept (%llu records)", (unsigned long long)rec.records);
	free(c);
	fl_writer_free(w);

	/* store-level restart: torn journal becomes the next segment */
	fd = open(jp, O_WRONLY | O_TRUNC);
	write(fd, jb, jl - 7);
	close(fd);
	uint64_t seq;
	ok(!fl_store_recover_journal(st, &rec, &seq) && seq == 1 && rec.events == 270,
	   "store recovers the torn journal into segment %llu (%llu events)",
	   (unsigned long long)seq, (unsigned long long)rec.events);
	ok(access(jp, F_OK) < 0, "journal removed after recovery");
	ok(!fl_store_recover_journal(st, &rec, &seq) && seq == 0, "no journal: nothing to do");
	/* garbage journal is discarded */
	fd = open(jp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	write(fd, "garbage", 7);
	close(fd);
	ok(!fl_store_recover_journal(st, &rec, &seq) && seq == 0 && access(jp, F_OK) < 0,
	   "a journal with a bad header is discarded");
	struct fl_verify_result res;
	ok(!fl_store_verify(st, &res) && res.checked == 1, "store verifies");
	free(jb);
	gen_free(&g);
	fl_store_close(st);
}

/* The segment being recorded, as readers see it from the journal. */
static void test_journal_image(void)
{
	char dir[256], jp[512];
	snprintf(dir, sizeof(dir), "%s/image", root);
	struct fl_store *st;
	fl_store_open(dir, &st);
	fl_store_journal_path(st, jp, sizeof(jp));
	void *buf = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	ok(fl_store_journal_image(st, &buf, &len, &seq) == -ENOENT && !buf, "no journal: -ENOENT");
	struct fl_journal *j;
	fl_journal_create_seq(jp, 5, &j);
	ok(fl_store_journal_image(st, &buf, &len, &seq) == -ENOENT && !buf, "a journal without events: -ENOENT");
	struct gen g = {.rng = 23};
	gen_build(&g, 60);
	fl_journal_append(j, g.ev, 40);
	int r = fl_store_journal_image(st, &buf, &len, &seq);
	struct fl_segment *sg = NULL;
	struct fl_error err;
	size_t n = 0;
	bool same = true;
	if (!r && !fl_segment_open(buf, len, &sg, &err)) {
		struct fr_event ev;
		while (fl_segment_next(sg, &ev) == 1) {
			same = same && n < 40 && ev.ts_ns == g.ev[n].ts_ns && ev.kind == g.ev[n].kind &&
			       ev.pid == g.ev[n].pid;
			n++;
		}
	}
	ok(!r && seq == 5 && n == 40 && same, "the journal's 40 events as segment 5 (%zu)", n);
	fl_segment_free(sg);
	free(buf);
	fl_journal_close(j);
	fl_store_close(st);
	gen_free(&g);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/fl-store-test-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	test_store_basic();
	test_tamper();
	test_cap();
	test_journal();
	test_journal_image();
	rm_rf(root);
	return tap_done();
}
