/* cmd_verify.c - `flightrec verify DIR`: checksums and the hash chain. */
#include "cli/cli.h"
#include "event/event.h"
#include "flightlog/flightlog.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

int cmd_verify(int argc, char **argv)
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
			printf("usage: flightrec verify DIR [--json]\n\n"
			       "Check a flight log directory: every block checksum of every\n"
			       "segment, and the hash chain that links each segment to the one\n"
			       "before it, so a deleted, edited, reordered or swapped segment is\n"
			       "found. Segments dropped by --max-disk are not damage: the chain\n"
			       "starts at the anchor they left. Prior files (prior-*.frp: what\n"
			       "later segments are compressed against) are checked too, and a\n"
			       "segment whose prior is missing is named with the prior's hash.\n"
			       "The journal of the segment being recorded (open.frj; not in the\n"
			       "chain yet) is read as the next start would: its events are\n"
			       "counted, and a torn record at its end (a crash) is reported, not\n"
			       "counted as damage.\n\n"
			       "Exit status: 0 intact, 1 damage found (the first damaged segment\n"
			       "is named), 2 usage error.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'flightrec verify --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		cli_error("verify: give one flight log directory");
		return EXIT_USAGE;
	}
	const char *dir = argv[optind];
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		cli_error("verify: %s is not a flight log directory", dir);
		return EXIT_USAGE;
	}
	struct fl_store *store;
	int r = fl_store_open(dir, &store);
	if (r < 0) {
		cli_error("verify: %s: %s", dir, strerror(-r));
		return EXIT_FAIL;
	}
	struct fl_verify_result res = {0};
	r = fl_store_verify(store, &res);
	/* The segment being recorded (or left by a crash) is not in the chain
	 * yet: say what its journal holds, as the next start would read it. */
	struct fl_journal_recovery jr = {0};
	struct fl_writer_opts wo = {.flags = FL_WRITER_RAW};
	struct fl_writer *w = NULL;
	int jrc = fl_writer_new(&wo, &w);
	if (!jrc)
		jrc = fl_store_journal_read(store, w, &jr);
	fl_writer_free(w);
	fl_store_close(store);
	if (json) {
		struct fr_buf b = {0};
		fr_buf_append(&b, "{\"dir\":", 7);
		fr_json_str(&b, dir);
		fr_buf_printf(&b, ",\"ok\":%s,\"checked\":%llu", r == 0 ? "true" : "false",
			      (unsigned long long)res.checked);
		if (jrc == 0 || jrc == -EBADMSG)
			fr_buf_printf(&b,
				      ",\"journal\":{\"readable\":%s,\"segment_written\":%s,\"events\":%llu,"
				      "\"torn_bytes\":%llu}",
				      jrc == 0 ? "true" : "false", jr.already_closed ? "true" : "false",
				      (unsigned long long)jr.events, (unsigned long long)jr.discarded_bytes);
		if (r != 0) {
			fr_buf_append(&b, ",\"segment\":", 11);
			fr_json_str(&b, res.name);
			fr_buf_printf(&b, ",\"seq\":%llu,\"problem\":", (unsigned long long)res.seq);
			fr_json_str(&b, res.msg);
		}
		fr_buf_append(&b, "}\n", 2);
		if (b.data)
			fputs(b.data, stdout);
		fr_buf_free(&b);
	}
	if (!json && jrc == -EBADMSG)
		printf("%s: %s is not a journal (bad header): the next start discards its %llu bytes\n", dir,
		       FL_JOURNAL_NAME, (unsigned long long)jr.discarded_bytes);
	else if (!json && jrc == 0 && jr.already_closed)
		printf("%s: %s is left from a stop after its segment was written: the next start removes it\n",
		       dir, FL_JOURNAL_NAME);
	else if (!json && jrc == 0 && jr.discarded_bytes)
		printf("%s: the segment being recorded: %llu events in %s, and a torn record of %llu bytes at its "
		       "end (a crash), which the next start discards\n",
		       dir, (unsigned long long)jr.events, FL_JOURNAL_NAME, (unsigned long long)jr.discarded_bytes);
	else if (!json && jrc == 0)
		printf("%s: the segment being recorded: %llu events in %s\n", dir, (unsigned long long)jr.events,
		       FL_JOURNAL_NAME);
	if (r == 0) {
		if (!json)
			printf("%s: %llu segments intact, hash chain unbroken\n", dir, (unsigned long long)res.checked);
		return EXIT_OK;
	}
	if (r == -EBADMSG) {
		cli_error("verify: %s/%s", dir, res.msg); /* msg starts with the file's name */
		return EXIT_FAIL;
	}
	cli_error("verify: %s: %s", dir, strerror(-r));
	return EXIT_FAIL;
}
