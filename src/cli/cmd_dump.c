/* cmd_dump.c - `flightrec dump DIR|FILE [--json]`: print a flight log. */
#include "cli/cli.h"
#include "event/event.h"
#include "flightlog/flightlog.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

struct dump_ctx {
	bool json;
	struct fr_buf out;
	int error;
};

static int dump_segment(struct fl_segment *seg, const char *name, void *arg)
{
	struct dump_ctx *c = arg;
	struct fr_event ev;
	int r;
	while ((r = fl_segment_next(seg, &ev)) == 1) {
		c->out.len = 0;
		if (c->json) {
			r = fr_event_to_json(&ev, &c->out);
		} else {
			char t[40];
			fr_format_ts(ev.ts_ns, t, sizeof(t));
			const char *k = fr_kind_name(ev.kind);
			r = fr_buf_printf(&c->out, "%s %-8s %6u %-15s %s%s%s%s\n", t, k ? k : "?", ev.pid,
					  ev.comm ? ev.comm : "", ev.line ? ev.line : ev.path ? ev.path : "",
					  ev.path2 ? " -> " : "", ev.path2 ? ev.path2 : "",
					  ev.error ? " (failed)" : "");
		}
		if (r < 0)
			return r;
		if (fwrite(c->out.data, 1, c->out.len, stdout) != c->out.len) {
			c->error = errno ? errno : EIO;
			return -c->error;
		}
	}
	if (r < 0) {
		char msg[256];
		cli_error("%s: %s", name, fl_error_format(fl_segment_error(seg), msg, sizeof(msg)));
		return r;
	}
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dump_ctx c = {0};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			c.json = true;
			break;
		case 'h':
			printf("usage: flightrec dump DIR|FILE [--json]\n\n"
			       "Print every event of a flight log: a directory written by\n"
			       "`flightrec record --output DIR`, or one segment file. With --json,\n"
			       "one JSON object per line, exactly as `record --json` printed them\n"
			       "(docs/EVENTS.md); without, one short line per event. While a\n"
			       "recorder writes the directory, the events of the segment it is\n"
			       "filling (its journal, DIR/open.frj) come last.\n\n"
			       "A damaged segment is reported on stderr with its file and byte\n"
			       "offset, and the others are still printed.\n\n"
			       "Exit status: 0 all read, 1 a segment was damaged or output failed,\n"
			       "2 usage error.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'flightrec dump --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("dump: give one flight log directory or segment file");
		return EXIT_USAGE;
	}
	int damaged = 0;
	int r = cli_log_each(argv[optind], 0, CLI_LOG_OPEN, dump_segment, &c, &damaged);
	if (fflush(stdout) != 0 && !c.error)
		c.error = errno;
	fr_buf_free(&c.out);
	if (c.error)
		cli_error("dump: cannot write: %s", strerror(c.error));
	return r < 0 || damaged || c.error ? EXIT_FAIL : EXIT_OK;
}
