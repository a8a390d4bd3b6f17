/*
 * cli.h - private to the command-line tool: the command table and the
 * helpers every cmd_*.c uses for options and errors.
 */
#ifndef PHD_CLI_H
#define PHD_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "pyheapdiff/error.h"

/* PHD_VERSION, meson.build's project version, comes from the build
 * (-DPHD_VERSION="..."), as does the Python package's __version__. */
#ifndef PHD_VERSION
#error "PHD_VERSION is defined by meson.build"
#endif

/* Named exit statuses of the CLI (the library returns 0 or -1 and fills
 * struct phd_error; only the CLI picks a status). */
enum phd_exit {
    PHD_EXIT_OK = 0,
    PHD_EXIT_FINDING = 1, /* a check asked for by a flag found something */
    PHD_EXIT_USAGE = 2,   /* bad usage or bad input */
};

struct cli_command {
    const char *name;
    /* runs the command with its own row, argv[0] being its name */
    int (*run)(const struct cli_command *cmd, int argc, char **argv);
    const char *summary;
    const char *usage; /* the full --help text */
};

extern const struct cli_command cli_commands[];

/* Prints "pyheapdiff: <msg>" on stderr and returns PHD_EXIT_USAGE. */
int cli_fail(const char *fmt, ...) PHD_PRINTF(1, 2);
/* text escaped for the terminal (phd_text_escape) in one of four buffers
 * that the next calls reuse: for the arguments of one printf.  Out of
 * memory gives "?". */
const char *cli_esc(const char *text);
/* Reports an unknown option or a missing argument from getopt_long. */
int cli_bad_option(const struct cli_command *cmd, int c, int argc, char **argv);
/* Parses a non-negative integer option value; on failure prints the
 * error and returns -1. */
int cli_parse_count(const struct cli_command *cmd, const char *opt, const char *val, long *out);
/* --only WORD: adds the origin WORD names (types.h) to *mask; -1 after
 * printing the error. */
int cli_parse_only(const struct cli_command *cmd, const char *val, unsigned *mask);

/* What --only ORIGIN and --type T (both repeatable) select: the origins'
 * mask (0: any) and the type names (none: any), for phd_type_selected. */
#define CLI_MAX_TYPES 32
struct cli_select {
    unsigned only;
    const char *types[CLI_MAX_TYPES];
    size_t ntypes;
};
/* --type NAME: adds it to sel; -1 after printing the error. */
int cli_select_type(const struct cli_command *cmd, struct cli_select *sel, const char *name);

/* How wide text tables may be: 0 (no limit: names are never cut) when
 * standard output is not a terminal, else the terminal's width ($COLUMNS
 * when the terminal does not say; 100 when neither does). */
int cli_output_width(void);
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

struct phd_snapshot;
struct phd_graph;
/* Opens a snapshot file (the graph commands need one, not a database) and
 * builds its graph; prints the error and returns -1. */
int cli_open_graph(const char *path, struct phd_snapshot **s, struct phd_graph **g);
/* The same without the graph. */
int cli_open_snapshot(const char *path, struct phd_snapshot **s);
/* Appends text to a malloc'd string of *len bytes in *cap; on allocation
 * failure frees it and sets *buf to NULL (later calls do nothing). */
/* Type ids of s matching name (qualified, or a bare class name); when none
 * match, prints an error suggesting close names and returns -1.  *ids is
 * a malloc'd array of *n ids. */
int cli_match_type(const struct phd_snapshot *s, const char *name, uint32_t **ids, uint32_t *n);
/* --type NAME as a mask over s's types (cli_match_type): *want is a
 * malloc'd array of n_types flags, NULL when name is NULL.  Prints the
 * error and returns -1. */
int cli_type_mask(const struct phd_snapshot *s, const char *name, uint8_t **want);
/* Does a type name match what the user typed: equal, or the bare class
 * name of a qualified one ("Widget" matches "app.ui.Widget")? */
int cli_type_name_matches(const char *name, const char *want);
/* Options of the report commands: [--type T] (when type is non-NULL),
 * --top N, --json, --help.  Returns 0, 1 after printing help, or -1 after
 * printing an error. */
int cli_parse_report_opts(const struct cli_command *cmd, int argc, char **argv, const char **type, long *top,
                          int *json);
/* Parses an --id ADDRESS into ids[*n] (at most max); prints the error and
 * returns -1. */
int cli_add_address(const struct cli_command *cmd, const char *val, uint64_t *ids, int *n, int max);
int cmd_info(const struct cli_command *cmd, int argc, char **argv);
int cmd_paths(const struct cli_command *cmd, int argc, char **argv);
int cmd_cycles(const struct cli_command *cmd, int argc, char **argv);
int cmd_dominators(const struct cli_command *cmd, int argc, char **argv);
int cmd_leaks(const struct cli_command *cmd, int argc, char **argv);
int cmd_orphans(const struct cli_command *cmd, int argc, char **argv);
int cmd_graph(const struct cli_command *cmd, int argc, char **argv);
int cmd_load(const struct cli_command *cmd, int argc, char **argv);
int cmd_diff(const struct cli_command *cmd, int argc, char **argv);
int cmd_top(const struct cli_command *cmd, int argc, char **argv);
int cmd_sql(const struct cli_command *cmd, int argc, char **argv);
int cmd_report(const struct cli_command *cmd, int argc, char **argv);

#endif
