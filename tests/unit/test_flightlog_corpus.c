/* test_flightlog_corpus.c - replay every fuzz corpus file through the reader.
 *
 * Why: inputs that once crashed the fuzzer are kept in fuzz/corpus/segment/
 * as regression files (SQLite style); this runs them all through the normal
 * (checksum-checking) reader and the journal recovery in every build,
 * including ASan. seed-* files are valid segments and must decode fully.
 * With FL_WRITE_CORPUS=DIR it (re)writes the seed files into DIR instead. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "flightlog/flightlog.h"
#include "fl_testgen.h"
#include "../../fuzz/fuzz_prior.h"
#include "tap.h"

/* prior: written against it (the fuzzer's, FORMAT.md 10), or NULL */
static void write_seed_with(const char *dir, const char *name, struct gen *g, uint32_t flags,
			    const struct fl_prior *prior)
{
	struct fl_writer *w;
	struct fl_writer_opts o = {.flags = flags};
	fl_writer_new(&o, &w);
	fl_writer_set_prior(w, prior);
	for (size_t i = 0; i < g->n; i++)
		fl_writer_add(w, &g->ev[i]);
	void *buf;
	size_t len;
	uint8_t prev[FL_HASH_LEN] = {1, 2, 3};
	fl_writer_finish(w, prev, 3, &buf, &len);
	fl_writer_free(w);
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	fwrite(buf, 1, len, f);
	fclose(f);
	free(buf);
}

static void write_seed(const char *dir, const char *name, struct gen *g, uint32_t flags)
{
	write_seed_with(dir, name, g, flags, NULL);
}

/* The events of a fixture segment, with their strings kept in g. */
static void read_fixture_events(struct gen *g, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", FIXTURE_DIR, name);
	FILE *f = fopen(p, "rb");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = (uint8_t *)gen_keep(g, malloc(n > 0 ? (size_t)n : 1));
	size_t len = fread(buf, 1, n > 0 ? (size_t)n : 0, f);
	fclose(f);
	struct fl_segment *s;
	if (fl_segment_open(buf, len, &s, NULL))
		return;
	struct fr_event ev;
	while (fl_segment_next(s, &ev) == 1) {
		struct fr_event *e = gen_push(g);
		*e = ev;
		/* the strings outlive s: copies in g's arena */
		const char **str[] = {&e->host, &e->comm, &e->exe, &e->path, &e->path2, &e->cwd,
				      &e->target_comm, &e->line};
		for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++)
			if (*str[i])
				*str[i] = gen_strdup(g, *str[i]);
		if (e->argv) {
			char *a = gen_keep(g, malloc(e->argv_len + 1));
			memcpy(a, e->argv, e->argv_len);
			a[e->argv_len] = 0;
			e->argv = a;
		}
	}
	fl_segment_free(s);
}

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "tests/fixtures"
#endif

/* The seeds before the pack (2026-11-22) are written unpacked, as they
 * were: they are also the regression test that old segments decode. */
static int write_corpus(const char *dir)
{
	struct gen g = {.rng = 1};
	write_seed(dir, "seed-empty.frl", &g, FL_WRITER_NO_PACK);
	gen_build(&g, 40);
	write_seed(dir, "seed-build.frl", &g, FL_WRITER_NO_PACK);
	write_seed(dir, "seed-build-raw.frl", &g, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	write_seed(dir, "seed-build-packed.frl", &g, 0);
	write_seed(dir, "seed-build-packed-raw.frl", &g, FL_WRITER_RAW);
	gen_free(&g);
	g = (struct gen){.rng = 4};
	read_fixture_events(&g, "session-ssh.frl");
	write_seed(dir, "seed-ssh-packed.frl", &g, 0);
	gen_free(&g);
	g = (struct gen){.rng = 2};
	gen_nginx(&g, 30);
	write_seed(dir, "seed-nginx-raw.frl", &g, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	gen_free(&g);
	/* LOCAL_PEERS (2026-11-22): connect/accept pairs through the table */
	g = (struct gen){.rng = 5};
	gen_loopback(&g, 120);
	write_seed(dir, "seed-loopback.frl", &g, 0);
	write_seed(dir, "seed-loopback-raw.frl", &g, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	gen_free(&g);
	g = (struct gen){.rng = 3};
	for (int i = 0; i < 12; i++) {
		struct fr_event *e = gen_push(&g);
		gen_random_event(&g, e, i & 1);
		if (e->host && strlen(e->host) > 20) e->host = "h";
		if (e->path && strlen(e->path) > 20) e->path = "/p";
		if (e->path2 && strlen(e->path2) > 20) e->path2 = NULL;
		if (e->cwd && strlen(e->cwd) > 20) e->cwd = "";
		if (e->comm && strlen(e->comm) > 20) e->comm = "c";
		if (e->exe && strlen(e->exe) > 20) e->exe = "/e";
		if (e->target_comm && strlen(e->target_comm) > 20) e->target_comm = "t";
		if (e->argv_len > 20) e->argv_len = 20;
		if (e->line && strlen(e->line) > 20) e->line = "ls";
	}
	write_seed(dir, "seed-random-raw.frl", &g, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	/* front-coded paths (FRONT_CODED, 2026-11-22; the seeds above were
	 * written before it): a small tree walk, with entries that are
	 * prefixes of each other and one sharing more than the 255-byte cap */
	struct gen t = {.rng = 5};
	static const char *const tdirs[] = {"/usr/lib/python3/dist-packages/pkg/", "/usr/share/doc/pkg/", "/etc/pkg/"};
	char *longp = malloc(300);
	memset(longp, 'l', 299);
	longp[0] = '/';
	longp[299] = 0;
	for (int k = 0; k < 40; k++) {
		struct fr_event *e = gen_push(&t);
		char p[128];
		snprintf(p, sizeof(p), "%s%s%d%s", tdirs[k / 14], k % 3 ? "sub/" : "", k, k % 5 ? ".py" : "");
		e->kind = k % 4 ? FR_EV_CREATE : FR_EV_OPEN;
		e->pid = 900;
		e->ts_ns = 1700000000000000000ull + 1000000ull * k;
		e->comm = "dpkg";
		e->exe = "/usr/bin/dpkg";
		e->path = k == 20 ? gen_keep(&t, longp) : k == 21 ? "/lllll" : gen_strdup(&t, p);
		e->mode = 0644;
	}
	write_seed(dir, "seed-tree-front-raw.frl", &t, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	write_seed(dir, "seed-tree-front.frl", &t, 0);
	gen_free(&t);
	/* times as runs (TS_RUNS, 2026-11-22; the seeds above were written
	 * before it): millisecond times, most in the tick of the event
	 * before, in both lanes, with a jump back and a big jump */
	t = (struct gen){.rng = 6};
	uint64_t ms = 1700000000000ull;
	for (int k = 0; k < 60; k++) {
		struct fr_event *e = gen_push(&t);
		gen_ctx(e, 700 + (uint32_t)(k % 2), 1, "svc", "/usr/sbin/svc", 1700000000000000000ull);
		ms += k == 30 ? (uint64_t)-3 : k == 45 ? 1u << 30 : k % 7 == 6 ? 1 + (uint64_t)k % 3 : 0;
		e->ts_ns = ms * 1000000ull;
		e->kind = k % 5 == 4 ? FR_EV_MODIFY : FR_EV_OPEN;
		e->path = k % 3 ? "/etc/svc.conf" : "/var/lib/svc/state";
	}
	write_seed(dir, "seed-ms-runs-raw.frl", &t, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	write_seed(dir, "seed-ms-runs.frl", &t, 0);
	gen_free(&t);
	/* split paths (PATHS_SPLIT, 2026-11-22; the seeds above were written
	 * before it): a compiler's header probes, then paths without a '/',
	 * with empty directories and basenames, and a repeated long directory */
	t = (struct gen){.rng = 7};
	gen_cc_probes(&t, 60);
	static const char *const odd[] = {"a.out", "/", "//x", "a/", "", "a//b", "x", "/usr/include/x/", "/x"};
	for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
		struct fr_event *e = gen_push(&t);
		*e = t.ev[t.n - 2];
		e->ts_ns += 1000000;
		e->path = odd[k];
	}
	write_seed(dir, "seed-build-split-raw.frl", &t, FL_WRITER_RAW | FL_WRITER_NO_PACK | FL_WRITER_PATHS_SPLIT_ALWAYS);
	write_seed(dir, "seed-build-split.frl", &t, FL_WRITER_PATHS_SPLIT_ALWAYS);
	gen_free(&t);
	/* SUCC_PATHS (2026-11-22; the seeds above were written before it):
	 * two compilers interleaved, whose header paths are coded as the
	 * successor of the pid's last one */
	t = (struct gen){.rng = 12};
	gen_build_jobs(&t, 120, 2);
	write_seed(dir, "seed-build-jobs.frl", &t, 0);
	write_seed(dir, "seed-build-jobs-raw.frl", &t, FL_WRITER_RAW | FL_WRITER_NO_PACK);
	/* PRIOR (2026-11-23): the same compilers against the fuzzer's prior,
	 * packed and with every block of its own */
	struct fl_prior *prior = fuzz_prior_new();
	write_seed_with(dir, "seed-build-jobs-prior.frl", &t, 0, prior);
	write_seed_with(dir, "seed-build-jobs-prior-unpacked.frl", &t, FL_WRITER_NO_PACK, prior);
	fl_prior_free(prior);
	gen_free(&t);
	/* a journal with two records */
	char p[512];
	snprintf(p, sizeof(p), "%s/seed-journal.frj", dir);
	struct fl_journal *j;
	if (fl_journal_create(p, &j) == 0) {
		fl_journal_append(j, g.ev, 3);
		fl_journal_append(j, g.ev + 3, 2);
		fl_journal_close(j);
	}
	gen_free(&g);
	return 0;
}

int main(void)
{
	const char *wr = getenv("FL_WRITE_CORPUS");
	if (wr)
		return write_corpus(wr);
	const char *cands[] = {getenv("FL_CORPUS_DIR"), FIXTURE_DIR "/../../fuzz/corpus/segment",
			       "fuzz/corpus/segment"};
	DIR *d = NULL;
	const char *dir = NULL;
	for (size_t i = 0; i < 3 && !d; i++)
		if (cands[i] && (d = opendir(cands[i])))
			dir = cands[i];
	if (!d) {
		/* a missing corpus is a broken checkout, not a reason to pass */
		printf("not ok 1 - the fuzz corpus fuzz/corpus/segment is there\n1..1\n");
		return 1;
	}
	struct dirent *de;
	int files = 0, seeds_ok = 1, packed = 0, unpacked = 0, front = 0, runs = 0, split = 0, succ = 0, prior = 0;
	struct fl_prior *fp = fuzz_prior_new();
	const struct fl_prior *const fpl[1] = {fp};
	struct fl_read_opts ro = {.priors = fpl, .n_priors = 1};
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		FILE *f = fopen(p, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		fseek(f, 0, SEEK_SET);
		uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
		size_t len = fread(buf, 1, n > 0 ? (size_t)n : 0, f);
		fclose(f);
		files++;
		struct fl_segment *s;
		struct fl_error err;
		int r = fl_segment_open_ex(buf, len, &ro, &s, &err), k = 0;
		if (!r) {
			struct fr_event ev;
			while ((k = fl_segment_next(s, &ev)) == 1)
				;
			fl_segment_free(s);
		}
		struct fl_writer *w;
		fl_writer_new(NULL, &w);
		struct fl_journal_recovery rec;
		int jr = fl_journal_recover_buf(buf, len, w, &rec);
		fl_writer_free(w);
		if (!strncmp(de->d_name, "seed-", 5)) {
			int good = strstr(de->d_name, ".frj") ? jr == 0 && rec.events == 5 : r == 0 && k == 0;
			if (good && strstr(de->d_name, ".frl") && len >= 128) {
				*(buf[20] & 0x10 ? &packed : &unpacked) += 1; /* incompat PACKED */
				front += (buf[20] & 0x80) != 0;               /* FRONT_CODED */
				runs += (buf[21] & 0x01) != 0;                /* TS_RUNS */
				split += (buf[21] & 0x04) != 0;               /* PATHS_SPLIT */
				succ += (buf[21] & 0x02) != 0;                /* SUCC_PATHS */
				prior += (buf[21] & 0x40) != 0;               /* PRIOR */
			}
			if (!good) {
				seeds_ok = 0;
				printf("# seed %s did not decode (%d/%d/%d)\n", de->d_name, r, k, jr);
			}
		}
		free(buf);
	}
	closedir(d);
	fl_prior_free(fp);
	ok(files > 0, "replayed %d corpus files from %s without a crash", files, dir);
	ok(seeds_ok, "every seed-* file decodes cleanly");
	ok(packed >= 2 && unpacked >= 2, "seeds in both layouts decode: %d packed, %d unpacked", packed, unpacked);
	ok(front >= 2 && packed + unpacked - front >= 2, "seeds with and without front-coded paths decode: %d and %d",
	   front, packed + unpacked - front);
	ok(runs >= 2 && packed + unpacked - runs >= 2, "seeds with time runs and with time planes decode: %d and %d",
	   runs, packed + unpacked - runs);
	ok(split >= 2 && packed + unpacked - split >= 2, "seeds with split and with other paths dictionaries decode: "
	   "%d and %d", split, packed + unpacked - split);
	ok(succ >= 2 && packed + unpacked - succ >= 2, "seeds with and without SUCC_PATHS decode: %d and %d", succ,
	   packed + unpacked - succ);
	ok(prior >= 2, "seeds written against the fuzzer's prior decode with it: %d", prior);
	return tap_done();
}
