/* cmd_record.c - `flightrec record`: run the sensor and write its events.
 *
 * Why: the foreground recorder, for people and for tests. It owns the
 * process lifetime (signals, duration, final flush) and the outputs; the
 * sensor owns the kernel side. */
#include "cli/cli.h"
#include "event/event.h"
#include "recorder/recorder.h"
#include "sensor/sensor.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct record_ctx {
	bool json;
	struct fr_buf line;
	uint64_t events;
	int write_error;
	int store_error;
	struct fr_recorder *recorder;
	bool store_failing;        /* the recorder is in its failed state */
	uint64_t dropped_reported; /* its events_dropped when that was said */
};

static int print_json(struct record_ctx *c, const struct fr_event *ev)
{
	c->line.len = 0;
	int r = fr_event_to_json(ev, &c->line);
	if (r < 0)
		return r;
	if (fwrite(c->line.data, 1, c->line.len, stdout) != c->line.len) {
		c->write_error = errno ? errno : EIO;
		return -c->write_error;
	}
	return 0;
}

static int on_event(const struct fr_event *ev, void *arg)
{
	struct record_ctx *c = arg;
	c->events++;
	if (c->recorder) {
		int r = fr_recorder_add(c->recorder, ev);
		if (r < 0) {
			c->store_error = -r;
			return r;
		}
	}
	return c->json ? print_json(c, ev) : 0;
}

/* Say once when the flight log stops being writable (a full disk) and once
 * when it is again: recording goes on in between. */
static void report_store_state(struct record_ctx *c, const char *dir)
{
	struct fr_recorder_stats st;
	fr_recorder_stats(c->recorder, &st);
	if (st.store_error && !c->store_failing)
		cli_error("record: cannot write the flight log in %s: %s; recording goes on, holding events in "
			  "memory, and writing is retried every second",
			  dir, strerror(-st.store_error));
	else if (!st.store_error && c->store_failing && st.events_dropped > c->dropped_reported)
		cli_error("record: the flight log in %s is writable again; the events held in memory are written, "
			  "but %llu did not fit and are lost (see the `gap` event)",
			  dir, (unsigned long long)(st.events_dropped - c->dropped_reported));
	else if (!st.store_error && c->store_failing)
		fprintf(stderr, "flightrec: %s: the flight log is writable again; the events held in memory are "
				"written, none lost\n",
			dir);
	if (!st.store_error)
		c->dropped_reported = st.events_dropped;
	c->store_failing = st.store_error != 0;
}

/* The recorder's own records (gaps) are shown on --json too. */
static void on_recorder_event(const struct fr_event *ev, void *arg)
{
	struct record_ctx *c = arg;
	if (c->json)
		print_json(c, ev);
}

/* "10G", "500M", "64k", "12345": bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v <= 0)
		return -EINVAL;
	uint64_t mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	case 't': case 'T': mult = 1ull << 40; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -EINVAL;
	*out = (uint64_t)(v * (double)mult);
	return 0;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: flightrec record [--json] [--output DIR [--max-disk SIZE]\n"
		"                        [--segment-events N] [--segment-seconds T] [--no-prior]]\n"
		"                        [--duration SECS] [--no-modify] [--no-reads]\n"
		"                        [--ring-buffer MB] [--time-resolution ns|us|ms|s]\n"
		"\n"
		"Record every persistent-state interaction on this machine, system-wide,\n"
		"through eBPF: fork, exec, exit, kill, setuid, file open/create/modify/\n"
		"delete/rename/link/symlink/mkdir/rmdir/chmod/chown/truncate, listening\n"
		"ports opened and closed, connections made and accepted. At start, one\n"
		"`proc` record per running process and one `socket` record per listening\n"
		"socket describe what already existed. flightrec's own activity is never\n"
		"recorded. Needs root and a kernel with BTF; mounts tracefs on\n"
		"/sys/kernel/tracing if the host booted without it.\n"
		"\n"
		"Options:\n"
		"  --json            print one event per line (NDJSON) on stdout; the schema\n"
		"                    is docs/EVENTS.md\n"
		"  --output DIR      write the flight log into DIR: compressed, checksummed,\n"
		"                    hash-chained segments (docs/FORMAT.md), read back with\n"
		"                    `flightrec dump`, `stats` and `verify`. Can be combined\n"
		"                    with --json\n"
		"  --max-disk SIZE   cap DIR at SIZE bytes (suffixes k, M, G, T): when a closed\n"
		"                    segment takes it over, the oldest segments are deleted\n"
		"                    and a `gap` event says what went (default: no cap). The\n"
		"                    journal counts: it may take an eighth of SIZE, and a\n"
		"                    segment closes early when its journal would pass that\n"
		"  --segment-events N   close a segment every N events (default 1000000)\n"
		"  --segment-seconds T  ... or every T seconds (default 600): bigger segments\n"
		"                    compress better; events are never at risk in between,\n"
		"                    they are journaled as they come\n"
		"  --no-prior        do not compress segments against DIR's prior. By default\n"
		"                    the first segment's process names, paths and command\n"
		"                    lines become a prior (DIR/prior-*.frp, renewed daily)\n"
		"                    and later segments carry only what is new (an idle\n"
		"                    machine's ten-minute segments: a third smaller).\n"
		"                    `dump`, `verify` and queries need the prior files\n"
		"                    kept beside them\n"
		"  --duration SECS   stop after SECS seconds (default: until SIGINT/SIGTERM)\n"
		"  --no-modify       do not trace writes: no `modify` events. Saves the cost\n"
		"                    of a probe on every write(2) (the iTrack paper's\n"
		"                    \"disable write tracing\"); opens for writing, creates,\n"
		"                    truncates and deletes are still recorded\n"
		"  --no-reads        drop read-only opens in the kernel: the largest share of\n"
		"                    events on most servers; `reads` queries then see nothing\n"
		"  --ring-buffer MB  kernel-to-user ring buffer size in MiB, a power of two\n"
		"                    (default 32). Larger absorbs longer bursts while the\n"
		"                    recorder is starved of CPU; it is locked kernel memory\n"
		"  --time-resolution ns|us|ms|s\n"
		"                    truncate event times to this unit (default ms, the\n"
		"                    Linux audit log's). The order of events is always\n"
		"                    exact; finer units cost log space: about 0.05 byte\n"
		"                    per event at ms, 0.7 at us and 2 at ns (docs/FORMAT.md)\n"
		"  -h, --help        show this help\n"
		"\n"
		"Events dropped because the ring buffer was full are never silent: they are\n"
		"reported as a `lost` event with a `count`, and in the summary on stderr.\n"
		"\n"
		"A full disk does not stop recording either: the events are held in memory\n"
		"(the segment that could not be written, and one more segment's worth; any\n"
		"more are counted), writing is retried every second, and once it succeeds a\n"
		"`gap` event says from when to when the disk was full and how many events,\n"
		"if any, were lost. stderr says when it starts and when it ends. The journal\n"
		"never takes more than half of the space that was free, so it does not\n"
		"fill the disk itself.\n"
		"\n"
		"Exit status: 0 on a clean stop, 1 on a runtime failure (for example stdout\n"
		"closed, or the disk still full at the stop: stderr then says how many\n"
		"events held in memory are lost), 2 on a usage error or when the sensor\n"
		"cannot start (not root, no BTF, programs refused by the kernel, tracefs\n"
		"missing).\n");
}

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},      {"duration", required_argument, NULL, 'd'},
		{"no-modify", no_argument, NULL, 'M'}, {"no-reads", no_argument, NULL, 'R'},
		{"ring-buffer", required_argument, NULL, 'B'},
		{"time-resolution", required_argument, NULL, 'U'},
		{"output", required_argument, NULL, 'o'},
		{"max-disk", required_argument, NULL, 'X'},
		{"segment-events", required_argument, NULL, 'E'},
		{"segment-seconds", required_argument, NULL, 'T'},
		{"no-prior", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},      {0},
	};
	struct record_ctx ctx = {0};
	struct fr_sensor_opts sopts = {0};
	struct fr_recorder_opts ropts = {0};
	double duration = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			ctx.json = true;
			break;
		case 'd': {
			char *end;
			duration = strtod(optarg, &end);
			if (*end || duration <= 0) {
				cli_error("record: --duration needs a positive number of seconds, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'M':
			sopts.no_modify = true;
			break;
		case 'R':
			sopts.no_reads = true;
			break;
		case 'B': {
			char *end;
			unsigned long mb = strtoul(optarg, &end, 10);
			if (*end || mb == 0 || mb > 4096 || (mb & (mb - 1))) {
				cli_error("record: --ring-buffer needs a power of two from 1 to 4096 (MiB), not '%s'",
					  optarg);
				return EXIT_USAGE;
			}
			sopts.ring_mb = (uint32_t)mb;
			break;
		}
		case 'U': {
			static const struct { const char *name; uint64_t ns; } units[] = {
				{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000},
			};
			sopts.time_unit_ns = 0;
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (!strcmp(optarg, units[i].name))
					sopts.time_unit_ns = units[i].ns;
			if (!sopts.time_unit_ns) {
				cli_error("record: --time-resolution takes ns, us, ms or s, not '%s'", optarg);
				return EXIT_USAGE;
			}
			ropts.time_unit_ns = sopts.time_unit_ns;
			break;
		}
		case 'o':
			ropts.dir = optarg;
			break;
		case 'P':
			ropts.no_prior = true;
			break;
		case 'X':
			if (parse_size(optarg, &ropts.max_disk_bytes) < 0) {
				cli_error("record: --max-disk needs a size such as 500M or 10G, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'E': {
			char *end;
			unsigned long long n = strtoull(optarg, &end, 10);
			if (*end || n == 0) {
				cli_error("record: --segment-events needs a positive count, not '%s'", optarg);
				return EXIT_USAGE;
			}
			ropts.segment_events = n;
			break;
		}
		case 'T': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || n == 0 || n > 86400) {
				cli_error("record: --segment-seconds needs 1 to 86400, not '%s'", optarg);
				return EXIT_USAGE;
			}
			ropts.segment_seconds = (uint32_t)n;
			break;
		}
		case 'h':
			help(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'flightrec record --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("record: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!ctx.json && !ropts.dir) {
		cli_error("record: say where the events go: --json (stdout), --output DIR, or both");
		return EXIT_USAGE;
	}
	if ((ropts.max_disk_bytes || ropts.segment_events || ropts.segment_seconds || ropts.no_prior) && !ropts.dir) {
		cli_error("record: --max-disk, --segment-* and --no-prior apply to --output DIR");
		return EXIT_USAGE;
	}

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	struct fr_sensor *sensor = NULL;
	char err[512];
	int r = fr_sensor_open(&sopts, on_event, &ctx, &sensor, err, sizeof(err));
	if (r < 0) {
		cli_error("%s", err);
		return EXIT_USAGE;
	}
	int rc = EXIT_OK;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	if (ropts.dir) {
		struct fr_recorder_start start = {0};
		ropts.host = host;
		ropts.on_event = on_recorder_event;
		ropts.ctx = &ctx;
		r = fr_recorder_open(&ropts, &ctx.recorder, &start);
		if (r < 0) {
			cli_error("record: cannot open the flight log in %s: %s", ropts.dir, strerror(-r));
			fr_sensor_free(sensor);
			fr_buf_free(&ctx.line);
			return EXIT_FAIL;
		}
		if (start.recovered_events || start.discarded_bytes)
			fprintf(stderr,
				"flightrec: %s: recovered %llu events of an unclosed segment (segment %llu), "
				"discarded %llu bytes of torn tail\n",
				ropts.dir, (unsigned long long)start.recovered_events,
				(unsigned long long)start.recovered_seq, (unsigned long long)start.discarded_bytes);
	}
	r = fr_sensor_snapshot(sensor);
	if (r < 0)
		goto failed;
	fflush(stdout);
	fprintf(stderr, "flightrec: recording%s%s\n", sopts.no_modify ? " (no modify)" : "",
		sopts.no_reads ? " (no reads)" : "");

	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop_requested) {
		int timeout = 100;
		if (duration > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			double left = duration - ((double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9);
			if (left <= 0)
				break;
			if (left * 1000 < timeout)
				timeout = (int)(left * 1000) + 1;
		}
		r = fr_sensor_poll(sensor, timeout);
		if (r == -EINTR)
			continue;
		if (r < 0)
			goto failed;
		/* a live reader (a pipe, `tail -f`) sees each batch at once */
		if (r > 0 && ctx.json && fflush(stdout) != 0) {
			ctx.write_error = errno ? errno : EIO;
			goto failed;
		}
		if (ctx.recorder) {
			struct timespec mt;
			clock_gettime(CLOCK_MONOTONIC, &mt);
			r = fr_recorder_tick(ctx.recorder, (uint64_t)mt.tv_sec * 1000000000ull + (uint64_t)mt.tv_nsec);
			if (r < 0) {
				ctx.store_error = -r;
				goto failed;
			}
			report_store_state(&ctx, ropts.dir);
		}
	}
	r = fr_sensor_drain(sensor);
	if (r < 0)
		goto failed;
	goto done;

failed:
	if (ctx.write_error)
		cli_error("record: cannot write events to stdout: %s", strerror(ctx.write_error));
	else if (ctx.store_error)
		cli_error("record: cannot write the flight log in %s: %s", ropts.dir, strerror(ctx.store_error));
	else
		cli_error("record: %s", strerror(-r));
	rc = EXIT_FAIL;
done:
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		cli_error("record: cannot write events to stdout: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	if (ctx.recorder) {
		struct fr_recorder_stats st;
		r = fr_recorder_close_segment(ctx.recorder);
		fr_recorder_stats(ctx.recorder, &st);
		int r2 = fr_recorder_close(ctx.recorder);
		r = r < 0 ? r : r2;
		uint64_t lost_here = st.held_events + st.events_dropped - ctx.dropped_reported;
		if (r < 0 && lost_here) {
			cli_error("record: cannot close the flight log's last segment in %s: %s; the events journaled "
				  "are recovered at the next start, but %llu events held in memory only are lost",
				  ropts.dir, strerror(-r), (unsigned long long)lost_here);
			rc = EXIT_FAIL;
		} else if (r < 0) {
			cli_error("record: cannot close the flight log's last segment in %s: %s (it stays in the "
				  "journal and is recovered at the next start)",
				  ropts.dir, strerror(-r));
			rc = EXIT_FAIL;
		} else {
			fprintf(stderr, "flightrec: %s: %llu segments written%s\n", ropts.dir,
				(unsigned long long)st.segments_closed, st.priors_made ? ", and a new prior" : "");
		}
		if (st.prior_errors)
			cli_error("record: %llu times a new prior could not be written in %s (last: %s); segments "
				  "were kept, compressed against the older prior or none",
				  (unsigned long long)st.prior_errors, ropts.dir, strerror(-st.last_prior_error));
	}
	uint64_t lost = fr_sensor_lost(sensor);
	fprintf(stderr, "flightrec: %llu events recorded, %llu lost%s\n", (unsigned long long)ctx.events,
		(unsigned long long)lost, lost ? " (the ring buffer overflowed: see the `lost` events)" : "");
	fr_sensor_free(sensor);
	fr_buf_free(&ctx.line);
	return rc;
}
