/* main.c - `flightrec SUBCOMMAND ...`: dispatch and top-level help. */
#include "cli/cli.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"record", cmd_record, "record persistent-state events from the kernel (eBPF)"},
	{"dump", cmd_dump, "print the events of a flight log"},
	{"stats", cmd_stats, "summarise a flight log: events, bytes per event, kinds"},
	{"verify", cmd_verify, "check a flight log's checksums and hash chain"},
	{"sessions", cmd_sessions, "list logins and interactive shells (change windows)"},
	{"show", cmd_show, "show a session's commands, processes and side effects"},
	{"query", cmd_query, "search flight logs: who changed what, reads, persistence, listeners"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: flightrec COMMAND [OPTIONS]\n\n"
		   "flightrec is a flight data recorder for Linux: it records every process's\n"
		   "persistent-state interactions (processes, files, signals, ports) so that\n"
		   "you can tell who changed what, when, and from which session.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'flightrec COMMAND --help' for a command's options.\n"
		   "Exit codes: 0 success, 1 failure, 2 usage error or refusal to start.\n");
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("flightrec: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(fileno(f)) && !(nc && *nc);
}

int main(int argc, char **argv)
{
	/* The flight log decoder decompresses each segment's blocks into
	 * buffers of up to a few MB and frees them at the next segment. Left
	 * to glibc's defaults they are mmap'ed and unmapped every time, and
	 * the page faults of their first touch cost more than the decoding
	 * (bench: 5.9 -> 13.1M events/s decoded). Keep them in the heap. */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("flightrec 0.1.0");
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see 'flightrec --help')", argv[1]);
	return EXIT_USAGE;
}
