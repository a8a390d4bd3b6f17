/*
 * graphutil.c - what the graph commands (paths, cycles, dominators, leaks,
 * orphans) share: opening a snapshot with its graph, matching a type
 * name, and spelling a retention path.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/types.h"
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

int cli_type_name_matches(const char *name, const char *want) { return phd_type_name_matches(name, want); }

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

/*
 * Which keys of plain dicts path_text_into spells as "[…]": the keys of
 * dicts that are not an owner's __dict__ (those are attribute and global
 * names, always kept).  all: every such key; else the hops i with hop[i]
 * set (hop has one entry per node of the chain).
 */
struct key_fold {
    int all;
    const uint8_t *hop;
    size_t nhop;
};

/* The chain root .. v of v's path, into small when it fits, else a
 * malloc'd array (*chain != small).  Returns its length, 0 when out of
 * memory. */
static size_t path_chain(const struct phd_graph *g, const uint32_t *parent, uint32_t v, uint32_t *small,
                         size_t nsmall, uint32_t **chain)
{
    size_t depth = 0;
    for (uint32_t x = v; x != PHD_NONE && depth <= g->n; x = parent[x])
        depth++;
    *chain = small;
    if (depth > nsmall && !(*chain = malloc(depth * sizeof **chain)))
        return 0;
    size_t k = depth;
    for (uint32_t x = v; x != PHD_NONE && k; x = parent[x])
        (*chain)[--k] = x;
    return depth;
}

/* The label of the hop u -> w of a path; *plain_key tells whether it is
 * the key of a dict that is not an owner's __dict__ (owner_dict: the hop
 * before was that __dict__). */
static void hop_label(const struct phd_graph *g, const uint32_t *pedge, uint32_t u, uint32_t w, int fold,
                      int owner_dict, char *lab, size_t cap, int *plain_key)
{
    const struct phd_snapshot *s = g->s;
    uint64_t e = pedge && pedge[w] != PHD_NONE ? pedge[w] : phd_graph_edge_between(s, u, w);
    lab[0] = 0;
    *plain_key = 0;
    if (e == UINT64_MAX)
        return;
    phd_graph_label(s, e, fold, lab, cap);
    *plain_key = !owner_dict && PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_VALUE;
}

/* The hop u -> w is an owner's __dict__, folded into the owner in paths
 * ("module m ['x']" rather than "module m .__dict__ → dict ['x']"). */
static int is_owner_dict(const struct phd_snapshot *s, const char *lab, uint32_t w)
{
    return strcmp(lab, ".__dict__") == 0 && strcmp(phd_snapshot_type_name(s, s->type[w]), "dict") == 0;
}

/* The text of cli_path_text(v) into *out, a buffer of *cap bytes that
 * grows as needed and is reused across calls, with the keys kf says
 * folded (kf NULL: none).  Returns its length, or -1 when out of memory
 * (then *out is freed and NULL). */
static long path_text_into(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, uint32_t v,
                           int fold, const struct key_fold *kf, char **out, size_t *cap)
{
    const struct phd_snapshot *s = g->s;
    size_t len = 0;
    uint32_t small[64], *chain;
    char tmp[600];
    (*out)[0] = 0;
    size_t depth = path_chain(g, parent, v, small, sizeof small / sizeof *small, &chain);
    if (!depth) {
        free(*out);
        *out = NULL;
        return -1;
    }
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
    int owner_dict = 0;
    for (size_t i = 1; i < depth; i++) {
        uint32_t w = chain[i];
        char lab[200];
        int plain_key;
        hop_label(g, pedge, chain[i - 1], w, fold, owner_dict, lab, sizeof lab, &plain_key);
        owner_dict = i + 1 < depth && is_owner_dict(s, lab, w);
        if (owner_dict)
            continue;
        if (plain_key && kf && (kf->all || (i < kf->nhop && kf->hop[i])))
            snprintf(lab, sizeof lab, "[…]");
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
    if (out && path_text_into(g, parent, pedge, v, fold, NULL, &out, &cap) < 0)
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

/*
 * A set of distinct texts: an array of copies and an open-addressing
 * table of their hashes (linear probing, at most half full).
 */
struct text_set {
    char **text;
    uint64_t *hash;
    uint32_t *slot; /* tsize entries: index + 1, 0 free */
    size_t n, cap, tsize;
};

static void text_set_free(struct text_set *t, int free_texts)
{
    for (size_t k = 0; free_texts && t->text && k < t->n; k++)
        free(t->text[k]);
    free(t->text);
    free(t->hash);
    free(t->slot);
    *t = (struct text_set){0};
}

static void slot_put(uint32_t *slot, size_t tsize, uint64_t h, uint32_t k)
{
    size_t i = (size_t)h & (tsize - 1);
    while (slot[i])
        i = (i + 1) & (tsize - 1);
    slot[i] = k + 1;
}

/* The index of text (len bytes) in t, adding a copy when new (*added).
 * -1 when out of memory. */
static long text_set_add(struct text_set *t, const char *text, size_t len, int *added)
{
    uint64_t h = text_hash(text, len);
    *added = 0;
    if (!t->slot) {
        t->tsize = 64;
        if (!(t->slot = calloc(t->tsize, sizeof *t->slot)))
            return -1;
    }
    size_t i = (size_t)h & (t->tsize - 1);
    while (t->slot[i] && (t->hash[t->slot[i] - 1] != h || strcmp(t->text[t->slot[i] - 1], text) != 0))
        i = (i + 1) & (t->tsize - 1);
    if (t->slot[i])
        return (long)t->slot[i] - 1;
    if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 16;
        char **nt = realloc(t->text, nc * sizeof *nt);
        if (nt)
            t->text = nt;
        uint64_t *nh = realloc(t->hash, nc * sizeof *nh);
        if (nh)
            t->hash = nh;
        if (!nt || !nh)
            return -1;
        t->cap = nc;
    }
    if (!(t->text[t->n] = malloc(len + 1)))
        return -1;
    memcpy(t->text[t->n], text, len + 1);
    t->hash[t->n] = h;
    t->slot[i] = (uint32_t)++t->n;
    *added = 1;
    if (2 * t->n > t->tsize) {
        uint32_t *bigger = calloc(2 * t->tsize, sizeof *bigger);
        if (!bigger)
            return -1;
        free(t->slot);
        t->slot = bigger;
        t->tsize *= 2;
        for (size_t j = 0; j < t->n; j++)
            slot_put(t->slot, t->tsize, t->hash[j], (uint32_t)j);
    }
    return (long)t->n - 1;
}

/* Groups of paths that differ only in the keys of plain dicts are merged
 * into one when there are at least this many: a cache or registry keyed
 * by request, id or name, where one group per key says nothing. */
#define KEYED_GROUPS_MIN 4

/*
 * The hops at which the paths of the examples differ (all of the same
 * length and shape: they differ only in plain-dict keys), as a key_fold
 * mask of depth entries.  Returns 0, -1 when out of memory.
 */
static int differing_keys(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge,
                          const uint32_t *examples, size_t m, struct key_fold *kf, uint8_t **mask)
{
    uint32_t small0[64], small[64], *c0, *c;
    char (*labs)[200] = NULL;
    int rc = -1;
    size_t d0 = path_chain(g, parent, examples[0], small0, 64, &c0);
    *mask = NULL;
    if (!d0 || !(labs = malloc(d0 * sizeof *labs)) || !(*mask = calloc(d0, 1)))
        goto out;
    int plain, owner = 0;
    for (size_t i = 1; i < d0; i++) {
        hop_label(g, pedge, c0[i - 1], c0[i], 1, owner, labs[i], sizeof labs[i], &plain);
        owner = i + 1 < d0 && is_owner_dict(g->s, labs[i], c0[i]);
    }
    for (size_t j = 1; j < m; j++) {
        size_t d = path_chain(g, parent, examples[j], small, 64, &c);
        if (!d)
            goto out;
        owner = 0;
        for (size_t i = 1; i < d0; i++) {
            char lab[200];
            if (d != d0) {
                (*mask)[i] = 1;
                continue;
            }
            hop_label(g, pedge, c[i - 1], c[i], 1, owner, lab, sizeof lab, &plain);
            owner = i + 1 < d && is_owner_dict(g->s, lab, c[i]);
            if (strcmp(lab, labs[i]) != 0)
                (*mask)[i] = 1;
        }
        if (c != small)
            free(c);
    }
    *kf = (struct key_fold){0, *mask, d0};
    rc = 0;
out:
    if (c0 != small0)
        free(c0);
    free(labs);
    return rc;
}

/*
 * Merges groups that differ only in plain-dict keys (same text with every
 * such key spelled "[…]") when there are KEYED_GROUPS_MIN or more of
 * them: the merged group's text folds just the keys that differ, its
 * count is the sum, its example the smallest.  *ng shrinks.
 */
static int fold_keyed_groups(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge,
                             struct cli_path_group *gr, size_t *ng, char **buf, size_t *cap)
{
    static const struct key_fold all = {1, NULL, 0};
    struct text_set shapes = {0};
    uint32_t *shape_of = malloc(*ng * sizeof *shape_of), *members = NULL, *size = NULL;
    int rc = -1;
    if (!shape_of)
        goto out;
    for (size_t k = 0; k < *ng; k++) {
        long len = path_text_into(g, parent, pedge, gr[k].example, 1, &all, buf, cap);
        int added;
        long id = len < 0 ? -1 : text_set_add(&shapes, *buf, (size_t)len, &added);
        if (id < 0)
            goto out;
        shape_of[k] = (uint32_t)id;
    }
    if (!(size = calloc(shapes.n + 1, sizeof *size)) || !(members = malloc(*ng * sizeof *members)))
        goto out;
    for (size_t k = 0; k < *ng; k++)
        size[shape_of[k] + 1]++;
    for (size_t c = 0; c < shapes.n; c++)
        size[c + 1] += size[c];
    /* members of shape c: members[size[c] .. size[c+1]) after the fill */
    for (size_t k = 0; k < *ng; k++)
        members[size[shape_of[k]]++] = (uint32_t)k;
    for (size_t c = shapes.n; c > 0; c--)
        size[c] = size[c - 1];
    size[0] = 0;
    size_t out_n = 0;
    for (size_t c = 0; c < shapes.n; c++) {
        size_t lo = size[c], m = size[c + 1] - lo;
        if (m < KEYED_GROUPS_MIN)
            continue;
        uint32_t *ex = malloc(m * sizeof *ex);
        if (!ex)
            goto out;
        struct cli_path_group merged = {NULL, UINT32_MAX, 0};
        for (size_t j = 0; j < m; j++) {
            struct cli_path_group *x = &gr[members[lo + j]];
            ex[j] = x->example;
            merged.count += x->count;
            if (x->example < merged.example)
                merged.example = x->example;
        }
        struct key_fold kf;
        uint8_t *mask;
        int r = differing_keys(g, parent, pedge, ex, m, &kf, &mask);
        long len = r < 0 ? -1 : path_text_into(g, parent, pedge, merged.example, 1, &kf, buf, cap);
        free(ex);
        free(mask);
        if (len < 0 || !(merged.text = malloc((size_t)len + 1)))
            goto out;
        memcpy(merged.text, *buf, (size_t)len + 1);
        /* the first member takes the merged group; the others go */
        for (size_t j = 0; j < m; j++) {
            struct cli_path_group *x = &gr[members[lo + j]];
            free(x->text);
            x->text = NULL;
        }
        gr[members[lo]] = merged;
    }
    for (size_t k = 0; k < *ng; k++)
        if (gr[k].text)
            gr[out_n++] = gr[k];
    *ng = out_n;
    rc = 0;
out:
    text_set_free(&shapes, 1);
    free(shape_of);
    free(members);
    free(size);
    return rc;
}

/*
 * One pass over the nodes: each path is spelled into one reused buffer
 * and looked up in a set of the distinct texts; only a text not seen
 * before is copied.  Time is linear in the total length of the paths,
 * memory in the distinct ones.  Then groups that differ only in the keys
 * of a dict are merged (fold_keyed_groups), and the groups sorted by
 * count, O(G log G).
 */
int cli_path_groups(const struct phd_graph *g, const uint32_t *parent, const uint32_t *pedge, const uint32_t *nodes,
                    size_t n, struct cli_path_group **groups, size_t *ngroups)
{
    size_t cap = 256, ng = 0, gcap = 0;
    char *buf = malloc(cap);
    struct cli_path_group *gr = NULL;
    struct text_set texts = {0};
    *groups = NULL;
    *ngroups = 0;
    if (!buf)
        goto fail;
    for (size_t k = 0; k < n; k++) {
        long len = path_text_into(g, parent, pedge, nodes[k], 1, NULL, &buf, &cap);
        int added;
        long id = len < 0 ? -1 : text_set_add(&texts, buf, (size_t)len, &added);
        if (id < 0)
            goto fail;
        if (!added) {
            struct cli_path_group *x = &gr[id];
            x->count++;
            if (nodes[k] < x->example)
                x->example = nodes[k];
            continue;
        }
        if (ng == gcap) {
            size_t nc = gcap ? 2 * gcap : 16;
            struct cli_path_group *bigger = realloc(gr, nc * sizeof *gr);
            if (!bigger)
                goto fail;
            gr = bigger;
            gcap = nc;
        }
        /* the group owns the set's copy of the text */
        gr[ng++] = (struct cli_path_group){texts.text[id], nodes[k], 1};
    }
    text_set_free(&texts, 0); /* the groups own the texts from here on */
    if (ng >= KEYED_GROUPS_MIN && fold_keyed_groups(g, parent, pedge, gr, &ng, &buf, &cap) < 0) {
        free(buf);
        cli_path_groups_free(&gr, ng);
        return -1;
    }
    if (ng > 1)
        qsort(gr, ng, sizeof *gr, group_by_count);
    free(buf);
    *groups = gr;
    *ngroups = ng;
    return 0;
fail:
    /* the texts are still the set's: freed with it */
    free(gr);
    text_set_free(&texts, 1);
    free(buf);
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
