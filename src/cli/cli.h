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

int cmd_record(int argc, char **argv);

/* Print "flightrec: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True when colour may be used on this stream (a terminal, NO_COLOR unset). */
bool cli_color(FILE *f);

#endif
