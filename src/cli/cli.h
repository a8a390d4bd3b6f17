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

/* What a command's inputs (its arguments after the options) are, opened
 * for it by cli_open from its row of the table. */
enum cli_opens {
    CLI_OPENS_NOTHING,   /* the command opens its own (its file says why) */
    CLI_OPENS_SNAPSHOT,  /* one snapshot file, read as it is: in->s */
    CLI_OPENS_GRAPH,     /* snapshot files: the last with its graph (in->s, in->g), each one before it as a
                          * census with objects (in->census[]), read and freed one at a time */
    CLI_OPENS_CENSUSES,  /* `censuses` censuses of snapshot files or of a database's snapshots chosen
                          * with --snapshot ID (in->ids): in->census[] */
    CLI_OPENS_STORE,     /* a database, or snapshot files as one in-memory database, then one more
                          * argument (sql's query): in->store */
};

struct cli_command {
    const char *name;
    /* runs the command with its own row, argv[0] being its name */
    int (*run)(const struct cli_command *cmd, int argc, char **argv);
    const char *summary;
    const char *usage; /* the full --help text */
    enum cli_opens opens;
    /* how many arguments it takes after the options (max -1: no limit),
     * and what the error says it expected: "NAME: expected EXPECTS (see
     * 'pyheapdiff NAME --help')" */
    int min_args, max_args;
    const char *expects;
    int censuses;       /* CLI_OPENS_CENSUSES: how many */
    int census_objects; /* CLI_OPENS_CENSUSES: with their objects (addresses); CLI_OPENS_GRAPH: the
                         * last snapshot's census as well (in->census[n - 1]), made before its graph */
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

/* Inputs of a command: --snapshot ids given, what cli_open opened. */
#define CLI_MAX_INPUTS 8
struct phd_census;
struct phd_snapshot;
struct phd_graph;
struct phd_store;
struct cli_inputs {
    long long ids[CLI_MAX_INPUTS]; /* --snapshot ids (cli_add_snapshot_id) */
    int n_ids;
    /* set by cli_open: the arguments, and what the command's row opens */
    char **args;
    int n_args;
    struct phd_census *census[CLI_MAX_INPUTS];
    struct phd_snapshot *s;
    struct phd_graph *g;
    struct phd_store *store;
};
int cli_add_snapshot_id(struct cli_inputs *in, const char *val);
/* Are n arguments what cmd takes (min_args, max_args)?  Else prints the
 * error and returns -1. */
int cli_check_args(const struct cli_command *cmd, int n);
/* The shared prologue: checks the count of the arguments args[0..n)
 * (those after the options) and opens what cmd->opens says into *in
 * (ids set by the options).  Returns 0, or -1 after printing the error
 * (the command then exits with PHD_EXIT_USAGE); in is then closed. */
int cli_open(const struct cli_command *cmd, int n, char **args, struct cli_inputs *in);
/* Frees what cli_open opened (also what the command has freed already,
 * pointers set to NULL by the library's *_free). */
void cli_close(struct cli_inputs *in);
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
