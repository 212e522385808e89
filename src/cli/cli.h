/* cli.h - the flightrec command-line tool: one function per subcommand.
 *
 * Why: main.c only dispatches; each subcommand lives in its own cmd_*.c,
 * parses its own options, prints its own --help, and returns an exit code:
 *   0 success, 1 runtime failure (or damage found), 2 usage error or a
 *   refusal to start (not root, no BTF, kernel refused the programs). */
#ifndef FLIGHTREC_CLI_H
#define FLIGHTREC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#include <stdint.h>

struct fl_segment;

int cmd_record(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_query(int argc, char **argv);

/* Called for each readable segment of a log, in order. A negative return
 * stops the walk. */
typedef int (*cli_segment_fn)(struct fl_segment *seg, const char *name, void *ctx);
/* Walk PATH (a store directory or one segment file), decoding `columns`
 * (FL_COL_*, 0 = all) with read flags `flags` (FL_READ_*, and
 * CLI_LOG_OPEN). Damaged segments are reported on stderr
 * ("FILE: offset N: ...") and counted in *damaged; the walk goes on.
 * Returns 0 or the first negative errno (reported). */
/* Also walk, last, the segment a recorder is filling in the directory,
 * from its journal (fl_store_journal_image), named DIR/open.frj. */
#define CLI_LOG_OPEN 0x80000000u
int cli_log_each(const char *path, uint32_t columns, uint32_t flags, cli_segment_fn fn, void *ctx, int *damaged);
/* The same, also telling (for a directory) how many prior files it holds
 * and their bytes (FORMAT.md 10). */
struct cli_log_priors {
	size_t count;
	uint64_t bytes;
};
int cli_log_each_ex(const char *path, uint32_t columns, uint32_t flags, cli_segment_fn fn, void *ctx, int *damaged,
		    struct cli_log_priors *priors);

/* Print "flightrec: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when colour may be used on this stream (a terminal, NO_COLOR unset). */
bool cli_color(FILE *f);

#endif
