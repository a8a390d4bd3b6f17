/*
 * cli.h - private to the command-line tool: the command table and the
 * helpers every cmd_*.c uses for options and errors.
 */
#ifndef PHD_CLI_H
#define PHD_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "pyheapdiff/error.h"

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage; /* the full --help text */
};

extern const struct cli_command cli_commands[];

/* Prints "pyheapdiff: <msg>" on stderr and returns PHD_EXIT_USAGE. */
int cli_fail(const char *fmt, ...) PHD_PRINTF(1, 2);
/* Reports an unknown option or a missing argument from getopt_long. */
int cli_bad_option(const struct cli_command *cmd, int c, int argc, char **argv);
/* Parses a non-negative integer option value; on failure prints the
 * error and returns -1. */
int cli_parse_count(const struct cli_command *cmd, const char *opt, const char *val, long *out);
/* Prints the command's help on stdout and returns PHD_EXIT_OK. */
int cli_help(const struct cli_command *cmd);
const struct cli_command *cli_find(const char *name);

int cmd_info(int argc, char **argv);

#endif
