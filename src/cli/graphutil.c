/*
 * graphutil.c - what the graph commands (paths, cycles, dominators, leaks,
 * orphans) share: opening a snapshot with its graph, matching a type
 * name, and spelling a retention path.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/graph.h"
#include "pyheapdiff/store.h"

int cli_open_snapshot(const char *path, struct phd_snapshot **s)
{
    struct phd_error err;
    *s = NULL;
    int kind = phd_file_kind(path, &err);
    if (kind == PHD_FILE_ERROR)
        return cli_fail("%s", err.msg), -1;
    if (kind == PHD_FILE_DATABASE)
        return cli_fail("%s: a database; this command reads snapshot files (give the .snap)", path), -1;
    if (phd_snapshot_open(s, path, 0, &err) < 0)
        return cli_fail("%s", err.msg), -1;
    return 0;
}

int cli_open_graph(const char *path, struct phd_snapshot **s, struct phd_graph **g)
{
    struct phd_error err;
    *g = NULL;
    if (cli_open_snapshot(path, s) < 0)
        return -1;
    if (phd_graph_build(g, *s, &err) < 0) {
        phd_snapshot_free(s);
        return cli_fail("%s", err.msg), -1;
    }
    return 0;
}

int cli_type_name_matches(const char *name, const char *want)
{
    if (strcmp(name, want) == 0)
        return 1;
    if (strchr(want, '.'))
        return 0;
    size_t n = strlen(name), k = strlen(want);
    return n > k && name[n - k - 1] == '.' && strcmp(name + n - k, want) == 0;
}

/* Edit distance, case-insensitive, for suggestions; two rows of ints. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 80 || lb > 80)
        return 1000;
    size_t row[81], prev[81];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
            size_t sub = prev[j - 1] + (ca != cb), del = prev[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, row, (lb + 1) * sizeof *row);
    }
    return prev[lb];
}

int cli_match_type(const struct phd_snapshot *s, const char *name, uint32_t **ids, uint32_t *n)
{
    *ids = malloc(((size_t)s->n_types + 1) * sizeof **ids);
    *n = 0;
    if (!*ids)
        return cli_fail("out of memory"), -1;
    for (uint32_t t = 0; t < s->n_types; t++)
        if (cli_type_name_matches(phd_snapshot_type_name(s, t), name))
            (*ids)[(*n)++] = t;
    if (*n)
        return 0;
    /* suggest the three closest names (by the bare name too) */
    const char *best[3] = {NULL, NULL, NULL};
    size_t bd[3] = {(size_t)-1, (size_t)-1, (size_t)-1};
    for (uint32_t t = 0; t < s->n_types; t++) {
        const char *tn = phd_snapshot_type_name(s, t), *dot = strrchr(tn, '.');
        size_t d = distance(name, tn), d2 = dot ? distance(name, dot + 1) : d;
        if (d2 < d)
            d = d2;
        if (strstr(tn, name))
            d = d > 1 ? 1 : d;
        for (int k = 0; k < 3; k++) {
            if (d < bd[k]) {
                for (int j = 2; j > k; j--) {
                    bd[j] = bd[j - 1];
                    best[j] = best[j - 1];
                }
                bd[k] = d;
                best[k] = tn;
                break;
            }
        }
    }
    free(*ids);
    *ids = NULL;
    if (best[0] && bd[0] <= strlen(name) / 2 + 2)
        cli_fail("%s: no type '%s'; did you mean %s%s%s%s%s?", s->path, name, best[0], best[1] ? ", " : "",
                 best[1] ? best[1] : "", best[2] ? ", " : "", best[2] ? best[2] : "");
    else
        cli_fail("%s: no type '%s' (see 'pyheapdiff top %s')", s->path, name, s->path);
    return -1;
}

/* Appends to a growing string; on failure frees it and leaves it NULL. */
void cli_put(char **buf, size_t *len, size_t *cap, const char *text)
{
    if (!*buf)
        return;
    size_t l = strlen(text);
    if (*len + l + 1 > *cap) {
        size_t nc = (*cap + l + 1) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, text, l + 1);
    *len += l;
}

/* The text of cli_path_text(v) into *out, a buffer of *cap bytes that
 * grows as needed and is reused across calls.  Returns its length, or -1
 * when out of memory (then *out is freed and NULL). */
static long path_text_into(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t v,
                           int fold, char **out, size_t *cap)
{
    const struct phd_snapshot *s = g->s;
    size_t len = 0, depth = 0;
    uint32_t small[64], *chain = small;
    char tmp[600];
    (*out)[0] = 0;
    /* the chain root .. v, collected backwards */
    for (uint32_t x = v; x != PHD_NONE && depth <= g->n; x = parent[x])
        depth++;
    if (depth > sizeof small / sizeof *small && !(chain = malloc(depth * sizeof *chain))) {
        free(*out);
        *out = NULL;
        return -1;
    }
    size_t k = depth;
    for (uint32_t x = v; x != PHD_NONE && k; x = parent[x])
        chain[--k] = x;
    uint32_t r = chain[0];
    unsigned kind = g->root_kind[r];
    if (kind == PHD_ROOT_MODULE || kind == 0 || kind == PHD_ROOT_UNKNOWN) {
        phd_graph_describe(s, r, tmp, sizeof tmp);
        if (kind == PHD_ROOT_UNKNOWN)
            cli_put(out, &len, cap, "[held by C] ");
        else if (kind == 0)
            cli_put(out, &len, cap, "[unreachable] ");
        cli_put(out, &len, cap, tmp);
    } else {
        uint32_t ri = phd_graph_root_record(g, r);
        const struct phd_root *rec = ri != PHD_NONE ? &s->roots[ri] : NULL;
        if (rec && (kind == PHD_ROOT_FRAME || kind == PHD_ROOT_THREAD))
            snprintf(tmp, sizeof tmp, "[thread %llu] %s", (unsigned long long)rec->thread_id,
                     rec->name != PHD_NONE ? s->str[rec->name] : phd_graph_root_kind_name(kind));
        else if (rec && rec->name != PHD_NONE)
            snprintf(tmp, sizeof tmp, "%s", s->str[rec->name]);
        else
            phd_graph_describe(s, r, tmp, sizeof tmp);
        cli_put(out, &len, cap, tmp);
        if (kind == PHD_ROOT_FRAME || kind == PHD_ROOT_THREAD) {
            cli_put(out, &len, cap, ": ");
            phd_graph_describe(s, r, tmp, sizeof tmp);
            cli_put(out, &len, cap, tmp);
        }
    }
    for (size_t i = 1; i < depth; i++) {
        uint32_t u = chain[i - 1], w = chain[i];
        uint64_t e = pedge && pedge[w] != PHD_NONE ? pedge[w] : phd_graph_edge_between(s, u, w);
        char lab[200] = "";
        if (e != UINT64_MAX)
            phd_graph_label(s, e, fold, lab, sizeof lab);
        /* an owner's __dict__ is folded into the owner: module m ['x'] */
        if (i + 1 < depth && strcmp(lab, ".__dict__") == 0 &&
            strcmp(phd_snapshot_type_name(s, s->type[w]), "dict") == 0)
            continue;
        if (lab[0]) {
            cli_put(out, &len, cap, " ");
            cli_put(out, &len, cap, lab);
        }
        cli_put(out, &len, cap, " → ");
        /* the target's own identity only matters for the last hop and
         * names; long values make groups differ needlessly */
        if (i + 1 == depth) {
            cli_put(out, &len, cap, phd_snapshot_type_name(s, s->type[w]));
        } else {
            phd_graph_describe(s, w, tmp, sizeof tmp);
            cli_put(out, &len, cap, tmp);
        }
    }
    if (chain != small)
        free(chain);
    return *out ? (long)len : -1;
}

char *cli_path_text(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t v, int fold)
{
    size_t cap = 256;
    char *out = malloc(cap);
    if (out && path_text_into(g, parent, pedge, v, fold, &out, &cap) < 0)
        return NULL;
    return out;
}

static int group_by_count(const void *a, const void *b)
{
    const struct cli_path_group *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->text, y->text);
}

/* FNV-1a, 64 bits. */
static uint64_t text_hash(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    return h;
}

/* Puts group k into the open-addressing table (tsize a power of two). */
static void table_put(uint32_t *table, size_t tsize, uint64_t h, uint32_t k)
{
    size_t i = (size_t)h & (tsize - 1);
    while (table[i])
        i = (i + 1) & (tsize - 1);
    table[i] = k + 1;
}

/*
 * One pass over the nodes: each path is spelled into one reused buffer
 * and looked up in a hash table of the distinct texts (linear probing,
 * at most half full); only a text not seen before is copied.  Time is
 * linear in the total length of the paths, memory in the distinct ones;
 * then the groups are sorted by count, O(G log G).
 */
int cli_path_groups(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, const uint32_t *nodes,
                    size_t n, struct cli_path_group **groups, size_t *ngroups)
{
    size_t cap = 256, ng = 0, gcap = 16, tsize = 64;
    char *buf = malloc(cap);
    struct cli_path_group *gr = malloc(gcap * sizeof *gr);
    uint64_t *hashes = malloc(gcap * sizeof *hashes);
    uint32_t *table = calloc(tsize, sizeof *table);
    *groups = NULL;
    *ngroups = 0;
    if (!buf || !gr || !hashes || !table)
        goto fail;
    for (size_t k = 0; k < n; k++) {
        long len = path_text_into(g, parent, pedge, nodes[k], 1, &buf, &cap);
        if (len < 0)
            goto fail;
        uint64_t h = text_hash(buf, (size_t)len);
        size_t i = (size_t)h & (tsize - 1);
        while (table[i] && (hashes[table[i] - 1] != h || strcmp(gr[table[i] - 1].text, buf) != 0))
            i = (i + 1) & (tsize - 1);
        if (table[i]) {
            struct cli_path_group *x = &gr[table[i] - 1];
            x->count++;
            if (nodes[k] < x->example)
                x->example = nodes[k];
            continue;
        }
        if (ng == gcap) {
            struct cli_path_group *ng_gr = realloc(gr, 2 * gcap * sizeof *gr);
            if (ng_gr)
                gr = ng_gr;
            uint64_t *ng_h = realloc(hashes, 2 * gcap * sizeof *hashes);
            if (ng_h)
                hashes = ng_h;
            if (!ng_gr || !ng_h)
                goto fail;
            gcap *= 2;
        }
        char *text = malloc((size_t)len + 1);
        if (!text)
            goto fail;
        memcpy(text, buf, (size_t)len + 1);
        gr[ng] = (struct cli_path_group){text, nodes[k], 1};
        hashes[ng] = h;
        table[i] = (uint32_t)++ng;
        if (2 * ng > tsize) {
            uint32_t *bigger = calloc(2 * tsize, sizeof *bigger);
            if (!bigger)
                goto fail;
            free(table);
            table = bigger;
            tsize *= 2;
            for (size_t j = 0; j < ng; j++)
                table_put(table, tsize, hashes[j], (uint32_t)j);
        }
    }
    qsort(gr, ng, sizeof *gr, group_by_count);
    free(buf);
    free(hashes);
    free(table);
    *groups = gr;
    *ngroups = ng;
    return 0;
fail:
    free(buf);
    free(hashes);
    free(table);
    cli_path_groups_free(&gr, ng);
    return -1;
}

void cli_path_groups_free(struct cli_path_group **groups, size_t n)
{
    for (size_t k = 0; *groups && k < n; k++)
        free((*groups)[k].text);
    free(*groups);
    *groups = NULL;
}

int cli_parse_report_opts(const struct cli_command *cmd, int argc, char **argv, const char **type, long *top,
                          int *json)
{
    static const struct option with_type[] = {
        {"type", required_argument, NULL, 't'}, {"top", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct option *opts = type ? with_type : with_type + 1;
    int c;
    while ((c = getopt_long(argc, argv, type ? ":ht:n:" : ":hn:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            *type = optarg;
            break;
        case 'n':
            if (cli_parse_count(cmd, "--top", optarg, top) < 0)
                return -1;
            break;
        case 'j':
            *json = 1;
            break;
        case 'h':
            cli_help(cmd);
            return 1;
        default:
            cli_bad_option(cmd, c, argc, argv);
            return -1;
        }
    }
    return 0;
}

int cli_add_address(const struct cli_command *cmd, const char *val, uint64_t *ids, int *n, int max)
{
    char *end;
    unsigned long long a = strtoull(val, &end, 0);
    if (end == val || *end)
        return cli_fail("%s: --id takes an address such as 0x7f3a2b1c4d50, not '%s'", cmd->name, val), -1;
    if (*n == max)
        return cli_fail("%s: at most %d --id", cmd->name, max), -1;
    ids[(*n)++] = a;
    return 0;
}
