/*
 * main.c - the pyheapdiff command-line tool: a table of commands and a
 * dispatcher.  Each command lives in cmd_<name>.c, parses its own options
 * and calls the library; only this layer prints errors and picks the exit
 * status (0 ok, 1 a finding asked for by a flag, 2 bad usage or input).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define PHD_VERSION "0.1.0"

const struct cli_command cli_commands[] = {
    {"info", cmd_info, "show a snapshot's header, counts and most common types",
     "usage: pyheapdiff info [--json] [--top N] SNAPSHOT\n"
     "\n"
     "Validates SNAPSHOT (checksum and structure) and prints its header,\n"
     "object, reference and type counts, total size and the most common types.\n"
     "\n"
     "options:\n"
     "  --top N     how many types to list (default 10)\n"
     "  --json      print one JSON object instead of text (see docs/cli.md)\n"
     "  -h, --help  show this help\n"},
    {NULL, NULL, NULL, NULL},
};

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("pyheapdiff: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return PHD_EXIT_USAGE;
}

int cli_bad_option(const struct cli_command *cmd, int c, int argc, char **argv)
{
    const char *arg = (optind > 0 && optind <= argc) ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_fail("%s: option '%s' needs a value (see 'pyheapdiff %s --help')", cmd->name, arg,
                        cmd->name);
    if (optopt)
        return cli_fail("%s: unknown option '-%c' (see 'pyheapdiff %s --help')", cmd->name, optopt,
                        cmd->name);
    return cli_fail("%s: unknown option '%s' (see 'pyheapdiff %s --help')", cmd->name, arg, cmd->name);
}

int cli_parse_count(const struct cli_command *cmd, const char *opt, const char *val, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < 0) {
        cli_fail("%s: %s takes a whole number >= 0, not '%s'", cmd->name, opt, val);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_help(const struct cli_command *cmd)
{
    fputs(cmd->usage, stdout);
    return PHD_EXIT_OK;
}

const struct cli_command *cli_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: pyheapdiff COMMAND [options] SNAPSHOT...\n\n"
                 "pyheapdiff analyzes heap snapshots written by the Python agent\n"
                 "(import pyheapdiff; pyheapdiff.dump('a.snap')).\n\ncommands:\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\n'pyheapdiff COMMAND --help' describes a command's options.\n"
                 "Exit status: 0 success, 1 a finding asked for by a flag, 2 bad usage or input.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PHD_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            const struct cli_command *c = cli_find(argv[2]);
            if (!c)
                return cli_fail("unknown command '%s' (see 'pyheapdiff --help')", argv[2]);
            return cli_help(c);
        }
        usage(stdout);
        return PHD_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("pyheapdiff %s\n", PHD_VERSION);
        return PHD_EXIT_OK;
    }
    const struct cli_command *c = cli_find(name);
    if (!c)
        return cli_fail("unknown command '%s' (see 'pyheapdiff --help')", name);
    optind = 1;
    opterr = 0;
    return c->run(argc - 1, argv + 1);
}
