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

/* Inputs of an analysis command: paths and --snapshot ids. */
#define CLI_MAX_INPUTS 8
struct cli_inputs {
    const char *paths[CLI_MAX_INPUTS];
    int n_paths;
    long long ids[CLI_MAX_INPUTS];
    int n_ids;
};
struct phd_census;
int cli_add_snapshot_id(struct cli_inputs *in, const char *val);
/* Loads `want` censuses (see input.c); prints the error and returns -1. */
int cli_load_censuses(const struct cli_inputs *in, int want, int with_objects, struct phd_census **out);
/* Is stdout/stderr a terminal (for colour-free progress). */
int cli_stderr_is_tty(void);

int cmd_info(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_sql(int argc, char **argv);

#endif
