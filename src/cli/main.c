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
#include <unistd.h>

#include "cli.h"
#include "pyheapdiff/types.h"

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
    {"diff", cmd_diff, "what grew between two snapshots, per type (also: pyheapdiff A B)",
     "usage: pyheapdiff diff [options] BEFORE AFTER\n"
     "       pyheapdiff BEFORE AFTER\n"
     "\n"
     "One row per type: count and size in BEFORE and AFTER and their change,\n"
     "largest growth first, then a total.  When both snapshots come from one\n"
     "process (same pid and start time), objects are matched by address and\n"
     "the rows also count new and freed objects (see docs/cli.md for limits).\n"
     "BEFORE and AFTER are snapshot files or databases from 'pyheapdiff load'.\n"
     "\n"
     "options:\n"
     "  --sort size|count        order by change in size (default) or count\n"
     "  --top N                  show N types (default 20; 0: all)\n"
     "  --min-delta N            only types whose count changed by at least N\n"
     "  --all                    include types that did not change\n"
     "  --snapshot ID            choose a snapshot of a database input (repeatable:\n"
     "                           one per database input; 'diff x.db --snapshot 1\n"
     "                           --snapshot 2' compares two snapshots of x.db)\n"
     "  --only ORIGIN            only types of user, third-party, stdlib or\n"
     "                           builtin code (repeatable; docs/cli.md says how\n"
     "                           a type's origin is decided)\n"
     "  --type T                 only type T, a qualified or bare class name\n"
     "                           (repeatable)\n"
     "  --fail-on-growth TYPE[=N]  exit 1 when TYPE grew by more than N objects\n"
     "                           (default 0); TYPE is a qualified or bare class\n"
     "                           name; repeatable; sees every type, whatever\n"
     "                           --only and --type show\n"
     "  --json                   print JSON (see docs/cli.md)\n"
     "  -h, --help               show this help\n"},
    {"top", cmd_top, "the most common types of a snapshot, with sizes",
     "usage: pyheapdiff top [--by count|size] [--top N] [--only ORIGIN] [--type T] [--snapshot ID]\n"
     "                      [--json] SNAPSHOT\n"
     "\n"
     "The types with the most objects (or bytes), with count, total and\n"
     "average size and share of the heap.\n"
     "\n"
     "options:\n"
     "  --by count|size  rank by object count (default) or total size\n"
     "  --top N          show N types (default 20; 0: all)\n"
     "  --only ORIGIN    only types of user, third-party, stdlib or builtin code\n"
     "                   (repeatable)\n"
     "  --type T         only type T, a qualified or bare class name (repeatable)\n"
     "  --snapshot ID    choose a snapshot of a database input\n"
     "  --json           print JSON (see docs/cli.md)\n"
     "  -h, --help       show this help\n"},
    {"load", cmd_load, "load snapshots into an SQLite database",
     "usage: pyheapdiff load [-o DB] [--json] SNAPSHOT...\n"
     "\n"
     "Loads snapshots into DB (default: the first snapshot's name with .db),\n"
     "creating it when missing; docs/sqlite-schema.md describes the tables.\n"
     "A snapshot already in DB (same checksum) is not loaded again.  A failed\n"
     "load leaves DB as it was.\n"
     "\n"
     "options:\n"
     "  -o, --output DB  the database file\n"
     "  --json           print JSON (see docs/cli.md)\n"
     "  -h, --help       show this help\n"},
    {"sql", cmd_sql, "run a read-only SQL query on a database or on snapshots",
     "usage: pyheapdiff sql [--json] DB QUERY\n"
     "       pyheapdiff sql [--json] SNAPSHOT... QUERY\n"
     "\n"
     "Runs one read-only statement on a database made by 'pyheapdiff load' and\n"
     "prints the rows as an aligned table, or as a JSON array of objects.\n"
     "Statements that would write are refused.\n"
     "\n"
     "Given snapshot files instead, the query sees the same tables, views and\n"
     "ids as in a database that 'pyheapdiff load SNAPSHOT...' would make (the\n"
     "first file is snapshot 1), read straight from the files: nothing is\n"
     "loaded and no file is written.\n"
     "\n"
     "examples:\n"
     "  pyheapdiff sql a.db \"SELECT type, count(*) FROM objects_v GROUP BY 1 ORDER BY 2 DESC LIMIT 5\"\n"
     "  pyheapdiff sql a.snap b.snap \"SELECT * FROM objects_v WHERE snapshot = 2 AND type = 'app.Widget'\"\n"
     "\n"
     "options:\n"
     "  --json      print JSON\n"
     "  -h, --help  show this help\n"},
    {"paths", cmd_paths, "why objects are alive: grouped shortest paths from the roots",
     "usage: pyheapdiff paths (--type T | --id ADDRESS...) [--limit N] [--json] SNAPSHOT\n"
     "\n"
     "For each chosen object, the shortest retention path from the root set\n"
     "(modules, sys, builtins, thread frames and state; objects held by C code,\n"
     "'unknown holders', only for what nothing named reaches).  Identical paths\n"
     "(same types and labels, list indices folded to [*]) are grouped and\n"
     "printed once with their count, most frequent first.\n"
     "\n"
     "options:\n"
     "  --type T        instances of T (qualified name or bare class name)\n"
     "  --id ADDRESS    one object by its id() (repeatable)\n"
     "  --limit N       groups to show (default 10; 0: all)\n"
     "  --json          print JSON (see docs/cli.md)\n"
     "  -h, --help      show this help\n"},
    {"cycles", cmd_cycles, "reference cycles (strongly connected components)",
     "usage: pyheapdiff cycles [--type T] [--top N] [--json] SNAPSHOT\n"
     "\n"
     "Groups of objects that refer to each other (more than one object, or one\n"
     "that refers to itself), largest first: objects, size, types, whether the\n"
     "roots reach them (in a collect=False snapshot garbage cycles do not) and\n"
     "one short example cycle spelled with labels.\n"
     "\n"
     "options:\n"
     "  --type T    only cycles containing T\n"
     "  --top N     cycles to show (default 10; 0: all)\n"
     "  --json      print JSON\n"
     "  -h, --help  show this help\n"},
    {"dominators", cmd_dominators, "what retains the most memory (retained sizes)",
     "usage: pyheapdiff dominators [--type T] [--top N] [--json] SNAPSHOT\n"
     "\n"
     "The objects with the largest retained size (what would be freed with\n"
     "them: the total size of what they dominate), with their path from a\n"
     "root, and per type the memory its instances retain (an instance inside\n"
     "another of its type counted once).\n"
     "\n"
     "options:\n"
     "  --type T    only objects and rows of type T\n"
     "  --top N     rows to show (default 10; 0: all)\n"
     "  --json      print JSON\n"
     "  -h, --help  show this help\n"},
    {"leaks", cmd_leaks, "leak candidates by the three-snapshot technique",
     "usage: pyheapdiff leaks [--top N] [--json] BASELINE AFTER [AGAIN]\n"
     "\n"
     "Objects new in AFTER (not in BASELINE at the same address with the same\n"
     "type) that are still alive in AGAIN, grouped by type and retention path\n"
     "in the last snapshot, sorted by retained size.  Take BASELINE, run the\n"
     "suspect action, take AFTER, run it again (or undo it), take AGAIN.  With\n"
     "two snapshots: objects new in AFTER.  All from one process.\n"
     "\n"
     "options:\n"
     "  --top N     types to show (default 10; 0: all)\n"
     "  --json      print JSON\n"
     "  -h, --help  show this help\n"},
    {"orphans", cmd_orphans, "objects held only by C code (unknown holders)",
     "usage: pyheapdiff orphans [--top N] [--json] SNAPSHOT\n"
     "\n"
     "Objects whose refcount is larger than the references found to them and\n"
     "that no module, frame or interpreter root reaches: held by C code or the\n"
     "C stack only (objgraph's get_leaking_objects), grouped by type.\n"
     "\n"
     "options:\n"
     "  --top N     types to show (default 10; 0: all)\n"
     "  --json      print JSON\n"
     "  -h, --help  show this help\n"},
    {"graph", cmd_graph, "draw why objects are alive (Graphviz: SVG, PNG, PDF, DOT)",
     "usage: pyheapdiff graph (--type T | --id ADDRESS...) -o OUT [options] SNAPSHOT\n"
     "\n"
     "Draws the objects that refer to the chosen ones, and what refers to\n"
     "those, up to --max-depth hops (objgraph's show_backrefs), from a\n"
     "snapshot.  OUT's extension picks the format: .svg, .png, .pdf (when\n"
     "Graphviz has the plugin) or .dot; '-o -' writes DOT to stdout.\n"
     "\n"
     "options:\n"
     "  --type T            up to --max-objects instances of T\n"
     "  --id ADDRESS        one object by its id() (repeatable)\n"
     "  --max-objects N     instances of --type to start from (default 5)\n"
     "  --path              only the chosen objects' retention paths from the roots\n"
     "  --refs              draw what they refer to instead (objgraph's show_refs)\n"
     "  --max-depth N       hops from the chosen objects (default 3)\n"
     "  --too-many N        more referrers than N fold into one node (default 10)\n"
     "  --filter-type T     draw only objects of T (repeatable)\n"
     "  --ignore-type T     never draw objects of T (repeatable)\n"
     "  --highlight T       colour objects of T (repeatable)\n"
     "  --no-roots-stop     walk on past modules and other roots\n"
     "  -o, --output OUT    the file to write\n"
     "  -h, --help          show this help\n"},
    {"report", cmd_report, "one self-contained HTML page: growth, paths, retainers, leak graph",
     "usage: pyheapdiff report [options] BEFORE AFTER\n"
     "\n"
     "Writes one HTML file (no network, no external assets) with what grew\n"
     "between the snapshots (a sortable table, as 'diff'), why the types that\n"
     "grew most are alive (as 'paths'), the biggest retainers of AFTER (as\n"
     "'dominators') and the leak graph of the top grown type (as 'graph\n"
     "--path'), drawn by Graphviz as inline SVG.  BEFORE and AFTER are\n"
     "snapshot files.\n"
     "\n"
     "options:\n"
     "  -o, --output FILE  the HTML file to write (default report.html)\n"
     "  --top N            rows of the growth table (default 20; 0: all)\n"
     "  --title TEXT       the page title (default 'BEFORE → AFTER')\n"
     "  --type T           the leak graph's type (default: the first grown type\n"
     "                     defined in Python code, else the first grown type)\n"
     "  -h, --help         show this help\n"},
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

int cli_parse_only(const struct cli_command *cmd, const char *val, unsigned *mask)
{
    int o = phd_origin_parse(val);
    if (o <= PHD_ORIGIN_UNKNOWN) {
        cli_fail("%s: --only takes user, third-party, stdlib or builtin, not '%s'", cmd->name, val);
        return -1;
    }
    *mask |= PHD_ORIGIN_BIT(o);
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
                 "Exit status: 0 success, 1 a finding asked for by a flag, 2 bad usage or input.\n"
                 "Environment: PYHEAPDIFF_LOCK_TIMEOUT, the seconds to wait for a database that\n"
                 "another process has locked (default 60).\n");
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
    optind = 1;
    opterr = 0;
    if (!c) {
        /* "pyheapdiff A B" is "pyheapdiff diff A B" */
        if (name[0] != '-' && access(name, F_OK) == 0)
            return cmd_diff(argc, argv);
        return cli_fail("unknown command '%s' (see 'pyheapdiff --help')", name);
    }
    return c->run(argc - 1, argv + 1);
}
