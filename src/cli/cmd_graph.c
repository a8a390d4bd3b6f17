/*
 * cmd_graph.c - pyheapdiff graph: objgraph's show_backrefs/show_refs from
 * a snapshot, drawn with Graphviz into SVG, PNG, PDF or DOT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/render.h"

#define MAX_LIST 32

/* Marks the type ids matching each name; an unknown name is an error. */
static int mark_types(const struct phd_snapshot *s, const char *const *names, int n, uint8_t *mark)
{
    for (int i = 0; i < n; i++) {
        uint32_t *ids, k;
        if (cli_match_type(s, names[i], &ids, &k) < 0)
            return -1;
        for (uint32_t j = 0; j < k; j++)
            mark[ids[j]] = 1;
        free(ids);
    }
    return 0;
}

/*
 * The file written when -o is not given: pyheapdiff-T.svg in the current
 * directory, T the bare class name of --type ("graph" for --id only), or
 * pyheapdiff-T-2.svg, -3... when that name is taken: a default never
 * replaces a file.  The name is reserved by creating it (O_EXCL, mode
 * 0600), so two runs at once get two names; the picture then replaces the
 * empty file.  Returns 0, or -1 after printing the error.
 */
static int default_output(const char *type, char *out, size_t cap)
{
    char base[80];
    const char *t = type ? strrchr(type, '.') : NULL;
    t = t ? t + 1 : type && type[0] ? type : "graph";
    size_t o = 0;
    for (; *t && o + 1 < sizeof base; t++) {
        unsigned char ch = (unsigned char)*t;
        int ok = ch == '_' || ch == '-' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        base[o++] = ok ? (char)ch : '_';
    }
    base[o] = 0;
    for (int k = 1; k < 1000; k++) {
        if (k == 1)
            snprintf(out, cap, "pyheapdiff-%s.svg", base);
        else
            snprintf(out, cap, "pyheapdiff-%s-%d.svg", base, k);
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (errno != EEXIST)
            return cli_fail("%s: cannot create: %s", out, strerror(errno)), -1;
    }
    return cli_fail("pyheapdiff-%s.svg: 999 numbered names taken; say where with -o FILE", base), -1;
}

int cmd_graph(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'},        {"id", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},      {"max-objects", required_argument, NULL, 'm'},
        {"max-depth", required_argument, NULL, 'd'},   {"too-many", required_argument, NULL, 'T'},
        {"filter-type", required_argument, NULL, 'f'}, {"ignore-type", required_argument, NULL, 'g'},
        {"highlight", required_argument, NULL, 'H'},   {"path", no_argument, NULL, 'p'},
        {"refs", no_argument, NULL, 'r'},              {"no-roots-stop", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
    };
    const char *type = NULL, *out = NULL, *filters[MAX_LIST], *ignores[MAX_LIST], *highs[MAX_LIST];
    uint64_t ids[MAX_LIST];
    int nids = 0, nf = 0, ni = 0, nh = 0, path_only = 0, refs = 0, roots_stop = 1, c;
    long max_objects = 5, max_depth = 3, too_many = 10;
    while ((c = getopt_long(argc, argv, ":ht:i:o:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            type = optarg;
            break;
        case 'i':
            if (cli_add_address(cmd, optarg, ids, &nids, MAX_LIST) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        case 'm':
            if (cli_parse_count(cmd, "--max-objects", optarg, &max_objects) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'd':
            if (cli_parse_count(cmd, "--max-depth", optarg, &max_depth) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'T':
            if (cli_parse_count(cmd, "--too-many", optarg, &too_many) < 0)
                return PHD_EXIT_USAGE;
            break;
        case 'f':
        case 'g':
        case 'H': {
            const char **list = c == 'f' ? filters : c == 'g' ? ignores : highs;
            int *cnt = c == 'f' ? &nf : c == 'g' ? &ni : &nh;
            if (*cnt == MAX_LIST)
                return cli_fail("graph: at most %d of each type option", MAX_LIST);
            list[(*cnt)++] = optarg;
            break;
        }
        case 'p':
            path_only = 1;
            break;
        case 'r':
            refs = 1;
            break;
        case 'n':
            roots_stop = 0;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    if (cli_check_args(cmd, argc - optind) < 0)
        return PHD_EXIT_USAGE;
    if (!type && !nids)
        return cli_fail("graph: say which objects: --type T or --id ADDRESS");
    if (path_only && refs)
        return cli_fail("graph: --path and --refs do not go together");
    char fallback[200];
    int reserved = 0;
    if (!out) {
        if (default_output(type, fallback, sizeof fallback) < 0)
            return PHD_EXIT_USAGE;
        out = fallback;
        reserved = 1;
    }
    const char *format = "dot", *dot = strrchr(out, '.');
    if (strcmp(out, "-") != 0) {
        static const char *const formats[] = {"svg", "png", "pdf", "dot"};
        format = NULL;
        for (size_t k = 0; dot && k < sizeof formats / sizeof *formats; k++)
            if (strcmp(dot + 1, formats[k]) == 0)
                format = formats[k];
        struct stat st;
        if (!format && stat(out, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
            format = "dot"; /* a device or FIFO without an extension: as '-' */
        if (!format)
            return cli_fail("%s: unknown output type; use .svg, .png, .pdf or .dot (or - for DOT)", out);
    }
    struct cli_inputs in = {0};
    if (cli_open(cmd, argc - optind, argv + optind, &in) < 0) {
        if (reserved)
            unlink(out);
        return PHD_EXIT_USAGE;
    }
    const struct phd_snapshot *s = in.s;
    const struct phd_graph *g = in.g;
    int status = PHD_EXIT_USAGE;
    size_t nt = (size_t)s->n_types + 1;
    uint8_t *want = calloc(nt, 1), *filt = calloc(nt, 1), *ign = calloc(nt, 1), *hi = calloc(nt, 1);
    uint8_t *ok = calloc(nt, 1);
    /* at most max_objects of the type plus one node per --id (the reader
     * rejects two nodes at one address); the bound is enforced below too */
    size_t cap = ((size_t)max_objects < s->n_nodes ? (size_t)max_objects : s->n_nodes) + (size_t)nids;
    uint32_t *chosen = malloc((cap + 1) * sizeof *chosen);
    if (!want || !filt || !ign || !hi || !ok || !chosen) {
        cli_fail("%s: out of memory", s->path);
        goto out;
    }
    const char *tl[1] = {type};
    if ((type && mark_types(s, tl, 1, want) < 0) || mark_types(s, filters, nf, filt) < 0 ||
        mark_types(s, ignores, ni, ign) < 0 || mark_types(s, highs, nh, hi) < 0)
        goto out;
    for (uint32_t t = 0; t < s->n_types; t++)
        ok[t] = (!nf || filt[t]) && !ign[t];
    size_t nchosen = 0, of_type = 0;
    for (uint32_t v = 0; v < s->n_nodes && nchosen < cap; v++) {
        int pick = 0;
        for (int k = 0; k < nids && !pick; k++)
            pick = s->addr[v] == ids[k];
        if (!pick && type && want[s->type[v]] && of_type < (size_t)max_objects) {
            pick = 1;
            of_type++;
        }
        if (pick)
            chosen[nchosen++] = v;
    }
    if (!nchosen) {
        cli_fail("%s: no object %s", s->path, type ? "of that type" : "at that address");
        goto out;
    }
    int truncated = 0;
    struct phd_render_opts ro = {chosen, nchosen, refs, path_only, (unsigned)max_depth, (unsigned)too_many,
                                 roots_stop, ok, hi, 0, 0, &truncated};
    struct phd_error err;
    int drawn = phd_render_graph(g, &ro, out, format, &err);
    if (drawn < 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    if (truncated)
        fprintf(stderr,
                "pyheapdiff: %s: the picture stops at %d objects and %d references (the layout's limit); "
                "narrow it with --max-depth, --too-many, --max-objects or --filter-type\n",
                out, PHD_RENDER_MAX_NODES, PHD_RENDER_MAX_EDGES);
    if (strcmp(out, "-") != 0)
        fprintf(stderr, "pyheapdiff: wrote %s: %d object%s from %zu chosen\n", out, drawn, drawn == 1 ? "" : "s",
                nchosen);
    status = PHD_EXIT_OK;
out:
    if (reserved && status != PHD_EXIT_OK)
        unlink(out); /* the name reserved for the default output */
    free(want);
    free(filt);
    free(ign);
    free(hi);
    free(ok);
    free(chosen);
    cli_close(&in);
    return status;
}
