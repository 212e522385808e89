/* cmd_stats.c - `flightrec stats DIR|FILE [--json]`: what a log holds and
 * what it costs. */
#include "cli/cli.h"
#include "event/event.h"
#include "flightlog/flightlog.h"

#include <getopt.h>
#include <string.h>

#define MAX_STREAMS 96

struct stats_ctx {
	uint64_t events, bytes, segments;
	uint64_t ts_min, ts_max;
	uint64_t kinds[FL_KIND_SLOTS], other;
	struct {
		char name[32];
		uint64_t stored, raw;
	} streams[MAX_STREAMS];
	size_t nstreams;
};

static int add_segment(struct fl_segment *seg, const char *name, void *arg)
{
	(void)name;
	struct stats_ctx *c = arg;
	const struct fl_segment_info *in = fl_segment_info(seg);
	c->segments++;
	c->events += in->event_count;
	c->bytes += in->size;
	if (in->event_count) {
		if (!c->ts_min || in->ts_min < c->ts_min)
			c->ts_min = in->ts_min;
		if (in->ts_max > c->ts_max)
			c->ts_max = in->ts_max;
	}
	for (int k = 0; k < FL_KIND_SLOTS; k++)
		c->kinds[k] += in->kind_count[k];
	c->other += in->other_kind_count;
	size_t nb;
	const struct fl_block_stat *b = fl_segment_blocks(seg, &nb);
	for (size_t i = 0; i < nb; i++) {
		size_t j = 0;
		while (j < c->nstreams && strcmp(c->streams[j].name, b[i].name))
			j++;
		if (j == c->nstreams) {
			if (j == MAX_STREAMS)
				continue;
			snprintf(c->streams[j].name, sizeof(c->streams[j].name), "%s", b[i].name);
			c->nstreams++;
		}
		c->streams[j].stored += b[i].stored;
		c->streams[j].raw += b[i].raw;
	}
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool json = false;
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: flightrec stats DIR|FILE [--json]\n\n"
			       "Summarise a flight log from its segments' summaries (no event is\n"
			       "decoded): segments, events, bytes and bytes per event, events per\n"
			       "kind, the time range, and the bytes of each stream (the header, the\n"
			       "summary, each dictionary and each column; docs/FORMAT.md). Blocks\n"
			       "under 4 KiB are stored together in one `pack` block (FORMAT.md 2.4):\n"
			       "each is shown under its own name with its share of the pack's bytes.\n"
			       "A directory's prior files (what later segments are compressed\n"
			       "against, FORMAT.md 10) are counted on a line of their own.\n\n"
			       "Exit status: 0 ok, 1 a segment was damaged, 2 usage error.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'flightrec stats --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("stats: give one flight log directory or segment file");
		return EXIT_USAGE;
	}
	struct stats_ctx c = {0};
	int damaged = 0;
	struct cli_log_priors pri = {0};
	int r = cli_log_each_ex(argv[optind], FL_COL_NONE, FL_READ_PACK, add_segment, &c, &damaged, &pri);
	if (r < 0)
		return EXIT_FAIL;
	char t0[40] = "", t1[40] = "";
	if (c.events) {
		fr_format_ts(c.ts_min, t0, sizeof(t0));
		fr_format_ts(c.ts_max, t1, sizeof(t1));
	}
	double bpe = c.events ? (double)c.bytes / (double)c.events : 0;
	struct fr_buf b = {0};
	if (json) {
		fr_buf_printf(&b, "{\"segments\":%llu,\"events\":%llu,\"bytes\":%llu,\"bytes_per_event\":%.4f,\"first\":",
			      (unsigned long long)c.segments, (unsigned long long)c.events,
			      (unsigned long long)c.bytes, bpe);
		fr_json_str(&b, c.events ? t0 : NULL);
		fr_buf_append(&b, ",\"last\":", 8);
		fr_json_str(&b, c.events ? t1 : NULL);
		fr_buf_append(&b, ",\"kinds\":{", 10);
		bool first = true;
		for (int k = 0; k < FL_KIND_SLOTS; k++) {
			if (!c.kinds[k])
				continue;
			const char *name = fr_kind_name((uint32_t)k);
			if (name)
				fr_buf_printf(&b, "%s\"%s\":%llu", first ? "" : ",", name, (unsigned long long)c.kinds[k]);
			else
				fr_buf_printf(&b, "%s\"%d\":%llu", first ? "" : ",", k, (unsigned long long)c.kinds[k]);
			first = false;
		}
		fr_buf_append(&b, "},\"streams\":{", 13);
		for (size_t i = 0; i < c.nstreams; i++)
			fr_buf_printf(&b, "%s\"%s\":{\"bytes\":%llu,\"raw_bytes\":%llu}", i ? "," : "", c.streams[i].name,
				      (unsigned long long)c.streams[i].stored, (unsigned long long)c.streams[i].raw);
		fr_buf_printf(&b, "},\"priors\":{\"files\":%zu,\"bytes\":%llu},\"damaged_segments\":%d}\n", pri.count,
			      (unsigned long long)pri.bytes, damaged);
	} else {
		fr_buf_printf(&b, "segments        %llu\nevents          %llu\nbytes           %llu\n"
				  "bytes per event %.3f\n",
			      (unsigned long long)c.segments, (unsigned long long)c.events,
			      (unsigned long long)c.bytes, bpe);
		if (pri.count)
			fr_buf_printf(&b, "priors          %zu file%s, %llu bytes (not in the bytes above)\n", pri.count,
				      pri.count == 1 ? "" : "s", (unsigned long long)pri.bytes);
		if (c.events)
			fr_buf_printf(&b, "first           %s\nlast            %s\n", t0, t1);
		fr_buf_printf(&b, "events per kind\n");
		for (int k = 0; k < FL_KIND_SLOTS; k++)
			if (c.kinds[k]) {
				const char *name = fr_kind_name((uint32_t)k);
				fr_buf_printf(&b, "  %-12s %llu\n", name ? name : "?", (unsigned long long)c.kinds[k]);
			}
		fr_buf_printf(&b, "bytes per stream (stored, raw, share of the log)\n");
		for (size_t i = 0; i < c.nstreams; i++)
			fr_buf_printf(&b, "  %-12s %10llu %10llu %5.1f%%\n", c.streams[i].name,
				      (unsigned long long)c.streams[i].stored, (unsigned long long)c.streams[i].raw,
				      c.bytes ? 100.0 * (double)c.streams[i].stored / (double)c.bytes : 0.0);
		for (size_t i = 0; i < c.nstreams; i++)
			if (!strcmp(c.streams[i].name, "pack")) {
				fr_buf_printf(&b, "  (the small streams share one zstd frame, the pack: their stored\n"
						  "  bytes are its bytes shared out by raw size, an estimate)\n");
				break;
			}
		if (damaged)
			fr_buf_printf(&b, "damaged segments %d (see above)\n", damaged);
	}
	if (b.data)
		fputs(b.data, stdout);
	fr_buf_free(&b);
	return damaged ? EXIT_FAIL : EXIT_OK;
}
