/* corpus_codec.c - the flight log codec measured on a recorded corpus, for
 * bench/corpus.
 *
 * Why: bench/corpus records real workloads with `flightrec record`; this
 * tool takes the segment files it wrote and reports (as JSON on stdout)
 * where their bytes go, per block (parsed from the block table as
 * docs/FORMAT.md specifies, independently of the library's structs), and
 * how fast the library decodes and re-encodes them on one core.
 *
 * Usage:
 *   corpus_codec blocks [--reencode] [--writer-flags F] [--exclude-kinds K,K,..]
 *                       [--no-pack] SEG...
 *       per-block stored/raw sizes summed over the segments. With
 *       --reencode the events are decoded and re-encoded by this build's
 *       writer (same segmentation, default level) first: the current
 *       format's numbers for a segment recorded by an older writer. With
 *       --exclude-kinds the listed kinds are dropped before re-encoding;
 *       with --no-pack re-encoded without the pack (FL_WRITER_NO_PACK), so
 *       that every block is compressed, and counted, alone; with
 *       --writer-flags F (a number, FL_WRITER_* bits, e.g. 0x10) re-encoded
 *       with those writer flags (to compare a format feature on and off).
 *   corpus_codec prefix --events K SEG...
 *       bytes of the first K events re-encoded (same segmentation, cut
 *       after K, default level) and of all events re-encoded.
 *   corpus_codec speed [--seconds S] [--cpu N] [--writer-flags F] [--prior-from SEG] SEG...
 *       decode (fl_segment_open + fl_segment_next over every segment, in
 *       memory) and encode (fl_writer_add + fl_writer_finish of the decoded
 *       events, same segmentation, writer flags F) at FL_DEFAULT_LEVEL (9),
 *       3 and 19; each repeated until S seconds (default 1) have passed,
 *       pinned to CPU N (default: the last one). With --prior-from SEG,
 *       each segment is encoded against a prior made of SEG (as `prior`
 *       makes it), given to the writer before each segment as the store
 *       does (so zstd digests it again for every segment).
 *   corpus_codec prior --from SEG [--from SEG...] SEG...
 *       what a prior (docs/FORMAT.md 10) buys: the --from segments are
 *       re-encoded in order and a prior is made of the last one, as the
 *       recorder does (fl_writer_prior_content); each other SEG is then
 *       re-encoded at the default level without and with it, and decoded
 *       back with it and compared field by field with its events.
 * A segment that needs a prior is read with the priors of its directory.
 * Exit status: 0 ok, 1 a segment failed to decode or re-encode, 2 usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <malloc.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event/event.h"
#include "flightlog/flightlog.h"

struct seg {
	const char *name;
	uint8_t *buf;
	size_t len;
	struct fl_store *st; /* its directory, when it needs a prior */
	struct fr_event **ev; /* decoded copies (fr_event_dup) */
	size_t n;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "corpus_codec: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n");
	exit(1);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void load(struct seg *s)
{
	FILE *f = fopen(s->name, "rb");
	if (!f)
		die("%s: %s", s->name, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s->buf = malloc(n > 0 ? (size_t)n : 1);
	if (!s->buf || fread(s->buf, 1, (size_t)n, f) != (size_t)n)
		die("%s: %s", s->name, "read failed");
	fclose(f);
	s->len = (size_t)n;
	if (fl_segment_peek_prior(s->buf, s->len, NULL) == 1 && fl_store_open_beside(s->name, &s->st))
		die("%s: %s", s->name, "cannot open its directory for its prior");
}

static int seg_open(struct seg *s, struct fl_segment **sg, struct fl_error *err)
{
	return s->st ? fl_store_segment_open(s->st, s->buf, s->len, NULL, sg, err)
		     : fl_segment_open(s->buf, s->len, sg, err);
}

static void seg_free(struct seg *s)
{
	for (size_t k = 0; k < s->n; k++)
		free(s->ev[k]);
	free(s->ev);
	s->ev = NULL;
	s->n = 0;
	free(s->buf);
	s->buf = NULL;
	fl_store_close(s->st);
	s->st = NULL;
}

/* Decode a segment into owned copies of its events. */
static void decode_copy(struct seg *s, const uint32_t *exclude, size_t nex)
{
	struct fl_segment *sg;
	struct fl_error err;
	char eb[200];
	if (seg_open(s, &sg, &err))
		die("%s: %s", s->name, fl_error_format(&err, eb, sizeof(eb)));
	size_t cap = fl_segment_info(sg)->event_count + 1;
	s->ev = malloc(cap * sizeof(*s->ev));
	s->n = 0;
	struct fr_event ev;
	int r;
	while ((r = fl_segment_next(sg, &ev)) == 1) {
		int skip = 0;
		for (size_t i = 0; i < nex; i++)
			skip |= ev.kind == exclude[i];
		if (skip)
			continue;
		if (s->n == cap)
			die("%s: %s", s->name, "more events than the summary says");
		s->ev[s->n++] = fr_event_dup(&ev);
		if (!s->ev[s->n - 1])
			die("%s: %s", s->name, "out of memory");
	}
	if (r < 0)
		die("%s: %s", s->name, fl_error_format(fl_segment_error(sg), eb, sizeof(eb)));
	fl_segment_free(sg);
}

/* Encode the segment's events; returns the encoded size. *out (if not
 * NULL) gets the buffer, else it is freed. *add_s (if not NULL) gets the
 * seconds spent in fl_writer_add added. */
static size_t encode_t(struct fl_writer *w, struct seg *s, uint64_t seq, uint8_t **out,
		       double *add_s)
{
	double t0 = add_s ? now() : 0;
	for (size_t i = 0; i < s->n; i++)
		if (fl_writer_add(w, s->ev[i]))
			die("%s: %s", s->name, "fl_writer_add failed");
	if (add_s)
		*add_s += now() - t0;
	void *buf;
	size_t len;
	if (fl_writer_finish(w, NULL, seq, &buf, &len))
		die("%s: %s", s->name, "fl_writer_finish failed");
	if (out)
		*out = buf;
	else
		free(buf);
	return len;
}

static size_t encode(struct fl_writer *w, struct seg *s, uint64_t seq, uint8_t **out)
{
	return encode_t(w, s, seq, out, NULL);
}

/* ---- blocks ---- */

static const char *ctx_names[12] = {"tid", "ppid", "uid", "euid", "auid", "ses", "tty", "cgroup",
				    "pstart", "host", "comm", "exe"};
static const char *ev_names[26] = {"error", "path", "path2", "argv", "cwd", "trunc", "flags",
				   "mode", "owner", "group", "length", "child_pid", "target_pid",
				   "target_comm", "signal", "code", "new_uid", "new_euid", "proto",
				   "port", "rport", "addr", "raddr", "count", "inode", "line"};

/* Block names; lane 1's streams (type + 128, FORMAT.md 5.6) get "c:". */
static void type_name(uint32_t t, char *b, size_t n)
{
	static const char *fixed[] = {[1] = "summary", [2] = "pack", [16] = "dict:hosts", [17] = "dict:comms",
				      [18] = "dict:paths", [19] = "dict:argvs", [20] = "dict:lines",
				      [32] = "kind", [33] = "ts", [34] = "pid", [35] = "pid-new",
				      [36] = "ctx-mask", [37] = "ev-mask", [38] = "lanes", [39] = "sessions",
				      [40] = "shape", [41] = "shapes", [42] = "path-groups"};
	if (t >= 128 + 32 && t < 128 + 90) {
		char sub[32];
		type_name(t - 128, sub, sizeof(sub));
		snprintf(b, n, "c:%.29s", sub);
	} else if (t < sizeof(fixed) / sizeof(fixed[0]) && fixed[t])
		snprintf(b, n, "%s", fixed[t]);
	else if (t >= 48 && t < 60)
		snprintf(b, n, "ctx:%s", ctx_names[t - 48]);
	else if (t >= 64 && t < 90)
		snprintf(b, n, "ev:%s", ev_names[t - 64]);
	else
		snprintf(b, n, "type%u", t);
}

#define NTYPES 256
struct tally {
	uint64_t events, bytes, segments, overhead; /* overhead: header + table */
	uint64_t stored[NTYPES], raw[NTYPES], items[NTYPES];
};

/* Parse the header and block table per docs/FORMAT.md section 2. Blocks
 * packed together (section 2.4) are counted as one, "pack". */
static void tally_segment(struct tally *t, const char *name, const uint8_t *b, size_t len)
{
	if (len < 128 || memcmp(b, "FRLOGSEG", 8))
		die("%s: %s", name, "not a segment");
	uint64_t events = le64(b + 64);
	uint32_t nblocks = le32(b + 88);
	uint64_t table = le64(b + 96);
	if (table + (uint64_t)nblocks * 40 > len)
		die("%s: %s", name, "block table out of bounds");
	t->segments++;
	t->events += events;
	t->bytes += len;
	t->overhead += table + (uint64_t)nblocks * 40;
	for (uint32_t i = 0; i < nblocks; i++) {
		const uint8_t *d = b + table + 40 * (uint64_t)i;
		uint32_t type = le32(d);
		if (type >= NTYPES)
			type = NTYPES - 1;
		t->stored[type] += le64(d + 16);
		t->raw[type] += le64(d + 24);
		t->items[type] += le32(d + 36);
	}
}

static void print_tally(const struct tally *t)
{
	printf("{\"segments\":%llu,\"events\":%llu,\"bytes\":%llu,\"header_and_table\":%llu,\"blocks\":[",
	       (unsigned long long)t->segments, (unsigned long long)t->events,
	       (unsigned long long)t->bytes, (unsigned long long)t->overhead);
	int first = 1;
	for (uint32_t ty = 0; ty < NTYPES; ty++) {
		if (!t->stored[ty] && !t->raw[ty])
			continue;
		char nm[32];
		type_name(ty, nm, sizeof(nm));
		printf("%s{\"type\":%u,\"name\":\"%s\",\"stored\":%llu,\"raw\":%llu,\"items\":%llu}",
		       first ? "" : ",", ty, nm, (unsigned long long)t->stored[ty],
		       (unsigned long long)t->raw[ty], (unsigned long long)t->items[ty]);
		first = 0;
	}
	printf("]}\n");
}

static int cmd_blocks(int argc, char **argv)
{
	uint32_t ex[64];
	size_t nex = 0;
	bool no_pack = false, reencode = false;
	uint32_t wflags = 0;
	int i = 0;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--no-pack")) {
			no_pack = true;
		} else if (!strcmp(argv[i], "--reencode")) {
			reencode = true;
		} else if (!strcmp(argv[i], "--writer-flags") && i + 1 < argc) {
			wflags = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--exclude-kinds") && i + 1 < argc) {
			char *p = argv[++i];
			while (*p && nex < 64) {
				ex[nex++] = (uint32_t)strtoul(p, &p, 10);
				if (*p == ',')
					p++;
			}
		} else {
			fprintf(stderr, "corpus_codec blocks: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	struct tally *t = calloc(1, sizeof(*t));
	struct fl_writer *w = NULL;
	struct fl_writer_opts o = {.flags = wflags | (no_pack ? FL_WRITER_NO_PACK : 0)};
	reencode |= nex || no_pack || wflags;
	if (reencode && fl_writer_new(&o, &w))
		die("%s%s", "fl_writer_new failed", "");
	for (; i < argc; i++) {
		struct seg s = {.name = argv[i]};
		load(&s);
		if (!reencode) {
			tally_segment(t, s.name, s.buf, s.len);
		} else {
			decode_copy(&s, ex, nex);
			uint8_t *out;
			size_t len = encode(w, &s, t->segments + 1, &out);
			tally_segment(t, s.name, out, len);
			free(out);
		}
		seg_free(&s);
	}
	print_tally(t);
	fl_writer_free(w);
	free(t);
	return 0;
}

/* ---- prefix ---- */

/* The bytes of the first K events of the segments (in order), re-encoded
 * at the default level with the same segment boundaries, cut after event
 * K; and of all of them re-encoded the same way. The difference is what
 * the events after K cost once the segment's dictionaries and fixed parts
 * exist: the steady-state cost. */
static int cmd_prefix(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[0], "--events")) {
		fprintf(stderr, "usage: corpus_codec prefix --events K SEG...\n");
		return 2;
	}
	uint64_t k = strtoull(argv[1], NULL, 10);
	struct fl_writer *w;
	if (fl_writer_new(NULL, &w))
		die("%s%s", "fl_writer_new failed", "");
	uint64_t seen = 0, bytes_k = 0, bytes_all = 0, events = 0, seq = 1;
	for (int i = 2; i < argc; i++) {
		struct seg s = {.name = argv[i]};
		load(&s);
		decode_copy(&s, NULL, 0);
		events += s.n;
		bytes_all += encode(w, &s, seq, NULL);
		if (seen < k) {
			size_t full = s.n;
			if (k - seen < s.n)
				s.n = (size_t)(k - seen);
			bytes_k += encode(w, &s, seq, NULL);
			seen += s.n;
			s.n = full;
		}
		seq++;
		for (size_t j = 0; j < s.n; j++)
			free(s.ev[j]);
		free(s.ev);
		free(s.buf);
	}
	printf("{\"events\":%llu,\"bytes\":%llu,\"prefix_events\":%llu,\"prefix_bytes\":%llu}\n",
	       (unsigned long long)events, (unsigned long long)bytes_all, (unsigned long long)seen,
	       (unsigned long long)bytes_k);
	fl_writer_free(w);
	return 0;
}

/* ---- speed ---- */

static struct fl_prior *prior_of(struct fl_writer *w, char *const *from, size_t n, size_t *clen);

static int cmd_speed(int argc, char **argv)
{
	double secs = 1.0;
	long cpu = sysconf(_SC_NPROCESSORS_ONLN) - 1;
	uint32_t wflags = 0;
	char *prior_from = NULL;
	int i = 0;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--prior-from"))
			prior_from = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--cpu"))
			cpu = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--writer-flags"))
			wflags = (uint32_t)strtoul(argv[i + 1], NULL, 0);
		else
			return 2;
	}
	struct fl_prior *prior = NULL;
	if (prior_from) {
		struct fl_writer *pw;
		size_t clen;
		if (fl_writer_new(NULL, &pw))
			die("%s%s", "fl_writer_new failed", "");
		prior = prior_of(pw, &prior_from, 1, &clen);
		fl_writer_free(pw);
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity: %s%s", strerror(errno), "");
	size_t nseg = (size_t)(argc - i);
	struct seg *segs = calloc(nseg + 1, sizeof(*segs));
	uint64_t events = 0, bytes = 0;
	for (size_t k = 0; k < nseg; k++) {
		segs[k].name = argv[i + (int)k];
		load(&segs[k]);
		decode_copy(&segs[k], NULL, 0);
		events += segs[k].n;
		bytes += segs[k].len;
	}
	/* decode */
	uint64_t dec = 0;
	int reps = 0;
	double t0 = now(), t1;
	do {
		for (size_t k = 0; k < nseg; k++) {
			struct fl_segment *sg;
			if (seg_open(&segs[k], &sg, NULL))
				die("%s: %s", segs[k].name, "open failed");
			struct fr_event ev;
			int r;
			while ((r = fl_segment_next(sg, &ev)) == 1)
				dec++;
			if (r < 0)
				die("%s: %s", segs[k].name, "decode failed");
			fl_segment_free(sg);
		}
		reps++;
		t1 = now();
	} while (t1 - t0 < secs);
	if (dec != events * (uint64_t)reps)
		die("%s%s", "decode count mismatch", "");
	printf("{\"cpu\":%ld,\"segments\":%zu,\"events\":%llu,\"bytes\":%llu,"
	       "\"decode\":{\"reps\":%d,\"seconds\":%.4f,\"events_per_s\":%.0f},\"encode\":[",
	       cpu, nseg, (unsigned long long)events, (unsigned long long)bytes, reps, t1 - t0,
	       (double)dec / (t1 - t0));
	int levels[3] = {FL_DEFAULT_LEVEL, 3, 19};
	for (int l = 0; l < 3; l++) {
		struct fl_writer *w;
		struct fl_writer_opts o = {.flags = wflags, .level = levels[l]};
		if (fl_writer_new(&o, &w))
			die("%s%s", "fl_writer_new failed", "");
		uint64_t enc = 0, out = 0;
		double add_s = 0;
		reps = 0;
		t0 = now();
		do {
			out = 0;
			for (size_t k = 0; k < nseg; k++) {
				if (prior && fl_writer_set_prior(w, prior))
					die("%s%s", "fl_writer_set_prior failed", "");
				out += encode_t(w, &segs[k], k + 1, NULL, &add_s);
				enc += segs[k].n;
			}
			reps++;
			t1 = now();
		} while (t1 - t0 < secs);
		fl_writer_free(w);
		printf("%s{\"level\":%d,\"reps\":%d,\"seconds\":%.4f,\"events_per_s\":%.0f,"
		       "\"add_seconds\":%.4f,\"bytes\":%llu}",
		       l ? "," : "", levels[l], reps, t1 - t0, (double)enc / (t1 - t0), add_s,
		       (unsigned long long)out);
	}
	printf("]}\n");
	for (size_t k = 0; k < nseg; k++)
		seg_free(&segs[k]);
	free(segs);
	fl_prior_free(prior);
	return 0;
}

/* ---- prior ---- */

/* Every field of two events: their NDJSON (docs/EVENTS.md), which shows
 * them all, strings by content. */
static bool same_event(const struct fr_event *a, const struct fr_event *b)
{
	struct fr_buf x = {0}, y = {0};
	fr_event_to_json(a, &x);
	fr_event_to_json(b, &y);
	bool same = x.len == y.len && (!x.len || !memcmp(x.data, y.data, x.len));
	fr_buf_free(&x);
	fr_buf_free(&y);
	return same;
}

/* A prior made as the recorder makes it, of the last of the n segments
 * from[] re-encoded in order by writer w (*clen: its content's bytes). */
static struct fl_prior *prior_of(struct fl_writer *w, char *const *from, size_t n, size_t *clen)
{
	for (size_t k = 0; k < n; k++) {
		struct seg s = {.name = from[k]};
		load(&s);
		decode_copy(&s, NULL, 0);
		(void)encode(w, &s, (uint64_t)k + 1, NULL);
		seg_free(&s);
	}
	void *content;
	struct fl_prior *p;
	if (!n || fl_writer_prior_content(w, &content, clen) || fl_prior_new(content, *clen, 1, 0, &p))
		die("%s%s", "no prior: give --from SEG with enough events", "");
	free(content);
	return p;
}

static int cmd_prior(int argc, char **argv)
{
	struct fl_writer *w;
	if (fl_writer_new(NULL, &w))
		die("%s%s", "fl_writer_new failed", "");
	int i = 0;
	char *from[64];
	size_t nfrom = 0;
	for (; i + 1 < argc && !strcmp(argv[i], "--from") && nfrom < 64; i += 2)
		from[nfrom++] = argv[i + 1];
	size_t clen;
	struct fl_prior *p = prior_of(w, from, nfrom, &clen);
	void *img;
	size_t ilen;
	if (fl_prior_encode(p, FL_PRIOR_LEVEL, &img, &ilen))
		die("%s%s", "fl_prior_encode failed", "");
	free(img);
	printf("{\"prior_content\":%zu,\"prior_file\":%zu,\"segments\":[", clen, ilen);
	struct fl_writer *wp;
	if (fl_writer_new(NULL, &wp) || fl_writer_set_prior(wp, p))
		die("%s%s", "fl_writer_new failed", "");
	const struct fl_prior *const list[1] = {p};
	struct fl_read_opts ro = {.priors = list, .n_priors = 1};
	for (int k = 0; i < argc; i++, k++) {
		struct seg s = {.name = argv[i]};
		load(&s);
		decode_copy(&s, NULL, 0);
		uint8_t *with;
		size_t without = encode(w, &s, 2, NULL), wlen = encode(wp, &s, 2, &with);
		struct fl_segment *sg;
		struct fl_error err;
		char eb[200];
		if (fl_segment_open_ex(with, wlen, &ro, &sg, &err))
			die("%s: %s", s.name, fl_error_format(&err, eb, sizeof(eb)));
		struct fr_event ev;
		size_t j = 0;
		int r;
		while ((r = fl_segment_next(sg, &ev)) == 1)
			if (j >= s.n || !same_event(&ev, s.ev[j++]))
				die("%s: %s", s.name, "decoded with the prior, an event differs");
		if (r < 0 || j != s.n)
			die("%s: %s", s.name, "decoded with the prior, events are missing");
		fl_segment_free(sg);
		printf("%s{\"name\":\"%s\",\"events\":%zu,\"without\":%zu,\"with\":%zu}", k ? "," : "", s.name,
		       s.n, without, wlen);
		free(with);
		seg_free(&s);
	}
	printf("]}\n");
	fl_writer_free(wp);
	fl_writer_free(w);
	fl_prior_free(p);
	return 0;
}

int main(int argc, char **argv)
{
	/* as flightrec's main() does: block buffers stay in the heap */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (argc >= 2 && !strcmp(argv[1], "blocks"))
		return cmd_blocks(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "speed"))
		return cmd_speed(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "prefix"))
		return cmd_prefix(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "prior"))
		return cmd_prior(argc - 2, argv + 2);
	fprintf(stderr, "usage: corpus_codec blocks [--reencode] [--writer-flags F] [--exclude-kinds K,..]\n"
			"                           [--no-pack] SEG...\n"
			"       corpus_codec prefix --events K SEG...\n"
			"       corpus_codec speed [--seconds S] [--cpu N] [--writer-flags F] [--prior-from SEG] SEG...\n"
			"       corpus_codec prior --from SEG [--from SEG...] SEG...\n");
	return 2;
}
