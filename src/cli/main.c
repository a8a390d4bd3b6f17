/*
 * main.c - the pyheapdiff command-line tool: a table of commands and a
 * dispatcher.  Each row names a command, its help, and what it opens (its
 * inputs: how many, and a snapshot, a graph, censuses or a database);
 * each command lives in cmd_<name>.c, parses its own options, has its
 * inputs opened by cli_open (input.c) from its row, and calls the
 * library; only this layer prints errors and picks the exit status (0 ok,
 * 1 a finding asked for by a flag, 2 bad usage or input).
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "pyheapdiff/progress.h"
#include "pyheapdiff/text.h"
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
     "  -h, --help  show this help\n",
     CLI_OPENS_SNAPSHOT, 1, 1, "one snapshot file", 0, 0},
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
     "  -h, --help               show this help\n",
     CLI_OPENS_CENSUSES, 1, 2, "two snapshots, BEFORE and AFTER", 2, 1},
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
     "  -h, --help       show this help\n",
     CLI_OPENS_CENSUSES, 1, 1, "one snapshot", 1, 0},
    {"load", cmd_load, "load snapshots into an SQLite database",
     "usage: pyheapdiff load [-o DB] [--json] SNAPSHOT...\n"
     "\n"
     "Loads snapshots into DB (default: the first snapshot's name with .db),\n"
     "creating it when missing; docs/sqlite-schema.md describes the tables.\n"
     "A snapshot already in DB (same checksum) is not loaded again.  A failed\n"
     "load leaves DB as it was.  A new DB gets mode 0600 (its previews may\n"
     "hold secrets).\n"
     "\n"
     "options:\n"
     "  -o, --output DB  the database file\n"
     "  --json           print JSON (see docs/cli.md)\n"
     "  -h, --help       show this help\n",
     /* nothing opened for it: phd_store_load_files reads the snapshots
      * into the database it writes, one at a time */
     CLI_OPENS_NOTHING, 1, -1, "one or more snapshots", 0, 0},
    {"sql", cmd_sql, "run a read-only SQL query on a database or on snapshots",
     "usage: pyheapdiff sql [--json] [--timeout SECONDS] DB QUERY\n"
     "       pyheapdiff sql [--json] [--timeout SECONDS] SNAPSHOT... QUERY\n"
     "\n"
     "Runs one read-only statement on a database made by 'pyheapdiff load' and\n"
     "prints the rows as an aligned table, or as a JSON array of objects\n"
     "(infinite reals as the strings \"Infinity\" and \"-Infinity\").\n"
     "Statements that would write are refused; a PRAGMA that only reads a\n"
     "setting (no value) is allowed.\n"
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
     "  --json               print JSON\n"
     "  --timeout SECONDS    stop the query after SECONDS (exit status 2)\n"
     "  -h, --help           show this help\n",
     CLI_OPENS_STORE, 2, -1, "a database (or snapshots) and one query", 0, 0},
    {"paths", cmd_paths, "why objects are alive: grouped shortest paths from the roots",
     "usage: pyheapdiff paths (--type T | --id ADDRESS...) [--from MODULE]... [--limit N] [--json] SNAPSHOT\n"
     "       pyheapdiff paths [--type T | --id ADDRESS...] [--from MODULE]... [--limit N] [--json] A B\n"
     "\n"
     "For each chosen object, the shortest retention path from the root set\n"
     "(modules, sys, builtins, thread frames and state; objects held by C code,\n"
     "'unknown holders', only for what nothing named reaches).  The user's own\n"
     "modules (__main__, the program's) are preferred: another module's path\n"
     "is taken only when shorter by more than 2 hops.  Identical paths\n"
     "(same types and labels, list indices folded to [*]) are grouped and\n"
     "printed once with their count, most frequent first.  With two snapshots\n"
     "of one process, only the objects of B that are new since A (matched by\n"
     "address), all of them without --type and --id.\n"
     "\n"
     "options:\n"
     "  --type T        instances of T (qualified name or bare class name)\n"
     "  --id ADDRESS    one object by its id() (repeatable)\n"
     "  --from MODULE   paths from MODULE and its submodules first (repeatable)\n"
     "  --limit N       groups to show (default 10; 0: all)\n"
     "  --json          print JSON (see docs/cli.md)\n"
     "  -h, --help      show this help\n",
     CLI_OPENS_GRAPH, 1, 2, "one snapshot, or two for the objects new in the second", 0, 0},
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
     "  -h, --help  show this help\n",
     CLI_OPENS_GRAPH, 1, 1, "one snapshot", 0, 0},
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
     "  -h, --help  show this help\n",
     CLI_OPENS_GRAPH, 1, 1, "one snapshot", 0, 0},
    {"leaks", cmd_leaks, "leak candidates by the three-snapshot technique",
     "usage: pyheapdiff leaks [--top N] [--only ORIGIN] [--type T] [--json] BASELINE AFTER [AGAIN]\n"
     "\n"
     "Objects new in AFTER (not in BASELINE at the same address with the same\n"
     "type) that are still alive in AGAIN and still retained, by type, the\n"
     "type that retains most first, with the retention paths of its new\n"
     "objects.  The dicts, strs and closures of leaked instances count for\n"
     "the instances' type; a builtin or stdlib type whose new objects all lie\n"
     "inside them comes last, as their contents.  Take BASELINE, run the\n"
     "suspect action, take AFTER, run it again (or undo it), take AGAIN.  With\n"
     "two snapshots: objects new in AFTER; two snapshots of different\n"
     "processes give the types that grew, user and third-party first.\n"
     "\n"
     "options:\n"
     "  --top N          types to show (default 10; 0: all)\n"
     "  --only ORIGIN    only types of user, third-party, stdlib or builtin code\n"
     "                   (repeatable)\n"
     "  --type T         only type T, a qualified or bare class name (repeatable)\n"
     "  --json           print JSON\n"
     "  -h, --help       show this help\n",
     CLI_OPENS_GRAPH, 2, 3, "BASELINE AFTER [AGAIN] snapshots", 0, 0},
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
     "  -h, --help  show this help\n",
     CLI_OPENS_GRAPH, 1, 1, "one snapshot", 0, 0},
    {"graph", cmd_graph, "draw why objects are alive (Graphviz: SVG, PNG, PDF, DOT)",
     "usage: pyheapdiff graph (--type T | --id ADDRESS...) [-o OUT] [options] SNAPSHOT\n"
     "\n"
     "Draws the objects that refer to the chosen ones, and what refers to\n"
     "those, up to --max-depth hops (objgraph's show_backrefs), from a\n"
     "snapshot.  OUT's extension picks the format: .svg, .png, .pdf (when\n"
     "Graphviz has the plugin) or .dot; '-o -' writes DOT to stdout.  A new\n"
     "file gets mode 0600 and replaces OUT (a symbolic link is replaced, not\n"
     "followed); a character device or FIFO is written in place (DOT unless\n"
     "its name ends in one of the extensions).\n"
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
     "  -o, --output OUT    the file to write (default: pyheapdiff-T.svg here, numbered\n"
     "                      -2, -3... rather than replacing a file)\n"
     "  -h, --help          show this help\n",
     CLI_OPENS_GRAPH, 1, 1, "one snapshot", 0, 0},
    {"report", cmd_report, "one self-contained HTML page: growth, paths, retainers, leak graph",
     "usage: pyheapdiff report [options] BEFORE AFTER\n"
     "\n"
     "Writes one HTML file (no network, no external assets) with what grew\n"
     "between the snapshots (a sortable table, as 'diff'), what leaked and\n"
     "why it is alive (as 'leaks': new objects still retained, by what they\n"
     "retain, with their paths), the biggest retainers of AFTER (as\n"
     "'dominators') and the leak graph of the first finding (as 'graph\n"
     "--path'), drawn by Graphviz as inline SVG.  BEFORE and AFTER are\n"
     "snapshot files.  FILE gets mode 0600 and replaces what is there (a\n"
     "symbolic link is replaced, not followed); a character device or FIFO is\n"
     "written in place; '-o -' writes the page to stdout.\n"
     "\n"
     "options:\n"
     "  -o, --output FILE  the HTML file to write (default report.html; - for stdout)\n"
     "  --top N            rows of the growth table (default 20; 0: all)\n"
     "  --title TEXT       the page title (default 'BEFORE → AFTER')\n"
     "  --type T           the leak graph's type (default: the first finding)\n"
     "  -h, --help         show this help\n",
     CLI_OPENS_GRAPH, 2, 2, "two snapshots, BEFORE and AFTER", 0, 1},
    {NULL, NULL, NULL, NULL, CLI_OPENS_NOTHING, 0, 0, NULL, 0, 0},
};

const char *cli_esc(const char *text)
{
    /* the CLI is single-threaded; the buffers live until exit */
    static char *ring[4];
    static size_t cap[4];
    static unsigned next;
    unsigned k = next++ % 4;
    size_t n = phd_text_escape(text, NULL, 0);
    if (n + 1 > cap[k]) {
        char *b = realloc(ring[k], n + 1);
        if (!b)
            return "?";
        ring[k] = b;
        cap[k] = n + 1;
    }
    phd_text_escape(text, ring[k], cap[k]);
    return ring[k];
}

int cli_fail(const char *fmt, ...)
{
    /* one line whatever the file and type names in it hold */
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    phd_progress_end(); /* the error is not written over a progress line */
    fprintf(stderr, "pyheapdiff: %s\n", cli_esc(msg));
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

int cli_select_type(const struct cli_command *cmd, struct cli_select *sel, const char *name)
{
    if (sel->ntypes == CLI_MAX_TYPES) {
        cli_fail("%s: at most %d --type options", cmd->name, CLI_MAX_TYPES);
        return -1;
    }
    sel->types[sel->ntypes++] = name;
    return 0;
}

int cli_output_width(void)
{
    if (!isatty(STDOUT_FILENO))
        return 0;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    long n = cols ? strtol(cols, NULL, 10) : 0;
    return n > 20 && n < 10000 ? (int)n : 100;
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
                 "Text output shows control characters in names as escapes (\\x1b, \\n, \\0).\n"
                 "Files written (load's database, report, graph) get mode 0600.\n"
                 "Environment: PYHEAPDIFF_LOCK_TIMEOUT, the seconds to wait for a database that\n"
                 "another process has locked (default 60).\n"
                 "Commands that take more than a second show progress on stderr when it is a\n"
                 "terminal (PYHEAPDIFF_PROGRESS_DELAY: after how many seconds; default 1).\n");
}

/* Other tools' words for what a command does (objgraph, guppy/heapy,
 * pympler), then the nearest command name by edit distance. */
static const char *suggest_command(const char *name)
{
    static const char *const aliases[][2] = {
        {"backrefs", "paths"},          {"show_backrefs", "graph"},     {"find_backref_chain", "paths"},
        {"show_chain", "paths"},        {"chain", "paths"},             {"refs", "graph"},
        {"show_refs", "graph"},         {"show_growth", "diff"},        {"growth", "diff"},
        {"get_new_ids", "leaks"},       {"new", "leaks"},               {"show_most_common_types", "top"},
        {"most_common_types", "top"},   {"typestats", "top"},           {"summary", "top"},
        {"heap", "top"},                {"get_leaking_objects", "orphans"}, {"leaking", "orphans"},
        {"retainers", "dominators"},    {"retained", "dominators"},     {"compare", "diff"},
        {"query", "sql"},               {"html", "report"},             {"dot", "graph"},
    };
    for (size_t k = 0; k < sizeof aliases / sizeof aliases[0]; k++)
        if (strcmp(name, aliases[k][0]) == 0)
            return aliases[k][1];
    const char *best = NULL;
    size_t best_d = 3; /* at most two edits away */
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        size_t d = phd_text_distance(name, c->name);
        if (d < best_d && d * 3 <= strlen(c->name)) {
            best = c->name;
            best_d = d;
        }
    }
    return best;
}

/* ---- progress on the terminal ----------------------------------------- */

/* The width of the progress line on stderr now (0: none shown). */
static int progress_width;

/* The sink of the library's progress (pyheapdiff/progress.h): one line,
 * "pyheapdiff: PHASE 42%", rewritten in place with \r and padded with
 * spaces over a longer line before it (no escape sequences: a dumb
 * terminal shows it too); cleared the same way. */
static void progress_show(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    (void)ctx;
    char line[160];
    int len = 0;
    if (phase && total)
        len = snprintf(line, sizeof line, "pyheapdiff: %s %3u%%", phase, (unsigned)(done * 100 / total));
    else if (phase)
        len = snprintf(line, sizeof line, "pyheapdiff: %s...", phase);
    if (len < 0 || len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    fprintf(stderr, "\r%.*s%*s", len, line, progress_width > len ? progress_width - len : 0, "");
    if (!phase)
        fputc('\r', stderr);
    else if (progress_width > len)
        fprintf(stderr, "\r%.*s", len, line); /* the cursor after the text */
    fflush(stderr);
    progress_width = len;
}

static void progress_clear(void) { phd_progress_end(); }

/* Progress is shown when stderr is a terminal, after a second (or
 * PYHEAPDIFF_PROGRESS_DELAY seconds: the tests set it to 0), at most ten
 * times a second. */
static void progress_setup(void)
{
    if (!isatty(STDERR_FILENO))
        return;
    double delay = 1.0;
    const char *env = getenv("PYHEAPDIFF_PROGRESS_DELAY");
    if (env && *env) {
        char *end;
        double d = strtod(env, &end);
        if (!*end && d >= 0 && d < 1e6)
            delay = d;
    }
    struct phd_progress_sink sink = {progress_show, NULL, (uint64_t)(delay * 1e9), 100000000u};
    phd_progress_install(&sink);
    atexit(progress_clear);
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Per-object arrays (megabytes) always from mmap, returned when freed:
     * glibc otherwise raises its mmap threshold to the size of the first
     * such array freed, and the next ones come from the heap, whose holes
     * stay resident (about 10 bytes per object at the peak of leaks). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
    if (argc < 2) {
        usage(stderr);
        return PHD_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            const struct cli_command *c = cli_find(argv[2]);
            if (!c && suggest_command(argv[2]))
                return cli_fail("unknown command '%s'; did you mean '%s'? (see 'pyheapdiff --help')", argv[2],
                                suggest_command(argv[2]));
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
    progress_setup();
    optind = 1;
    opterr = 0;
    if (!c) {
        /* "pyheapdiff A B" is "pyheapdiff diff A B" */
        if (name[0] != '-' && access(name, F_OK) == 0)
            return cmd_diff(cli_find("diff"), argc, argv);
        const char *near = suggest_command(name);
        if (near)
            return cli_fail("unknown command '%s'; did you mean '%s'? (see 'pyheapdiff --help')", name, near);
        return cli_fail("unknown command '%s' (see 'pyheapdiff --help')", name);
    }
    return c->run(c, argc - 1, argv + 1);
}
