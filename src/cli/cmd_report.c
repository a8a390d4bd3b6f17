/*
 * cmd_report.c - pyheapdiff report BEFORE AFTER -o report.html: one
 * self-contained HTML page with what the text commands say about a pair
 * of snapshots: the diff table (as 'diff'), what leaked with the paths
 * that hold it (the library's ranking, include/pyheapdiff/findings.h, as
 * 'leaks'), the biggest retainers (as 'dominators') and the leak graph of
 * the first finding (as 'graph --path').  The library gathers it
 * (src/report/gather.c) and writes the page (src/report/html.c); this
 * file opens the snapshots and parses the options.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/html.h"
#include "pyheapdiff/report.h"

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

int cmd_report(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"top", required_argument, NULL, 'n'},
        {"title", required_argument, NULL, 'T'},  {"type", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *out = "report.html", *title = NULL, *type = NULL;
    long top = 20;
    int c;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            if (cli_parse_count(cmd, "--top", optarg, &top) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'T':
            title = optarg;
            break;
        case 't':
            type = optarg;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    if (cli_check_args(cmd, argc - optind) < 0)
        return PHD_EXIT_USAGE;
    if (!*out)
        return cli_fail("report: -o needs a file name");

    int status = PHD_EXIT_USAGE;
    struct phd_error err;
    struct cli_inputs in = {0};
    struct phd_census **cs = in.census;
    struct phd_report_gathered *x = NULL;
    uint32_t *tids = NULL, ntids = 0;
    char deftitle[600];

    /* BEFORE as a census (addresses and types), AFTER with its census
     * and its graph (the command table's row) */
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0)
        return PHD_EXIT_USAGE;
    const struct phd_snapshot *s = in.s;
    /* the type of the leak graph, when asked for (suggestions when unknown) */
    if (type && cli_match_type(s, type, &tids, &ntids) < 0)
        goto out;
    if (phd_report_gather(&x, cs[0], cs[1], in.g, (size_t)top, type ? phd_snapshot_type_name(s, tids[0]) : NULL,
                          &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    struct phd_report *rep = phd_report_gathered_report(x);
    snprintf(deftitle, sizeof deftitle, "%.280s → %.280s", base_name(cs[0]->label), base_name(cs[1]->label));
    rep->title = title ? title : deftitle;
    rep->version = PHD_VERSION;
    if (phd_report_html_file(rep, out, &err) < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    if (strcmp(out, "-") != 0)
        fprintf(stderr, "pyheapdiff: wrote %s\n", out);
    status = PHD_EXIT_OK;
out:
    phd_report_gathered_free(&x);
    free(tids);
    cli_close(&in);
    return status;
}
