/*
 * mkseed.c - cuts a small seed snapshot for the fuzzers out of an agent
 * snapshot: mkseed IN.snap OUT.snap NODES BATCH.
 *
 * It keeps nodes 0 .. NODES-1 and the edges between them.  Node indices
 * are in discovery order, so the node that discovered node i has a lower
 * index and its discovering edge is kept: the kept prefix is itself a
 * valid discovery order and needs no renumbering.  Everything is written
 * again through the same writer and edge encoder the agent uses (sibling
 * coding included), with only the strings and types the kept part uses.
 * Sections are interleaved in chunks of BATCH records and an unknown-kind
 * chunk is added, so a seed shows the fuzzer every chunk layout the reader
 * accepts.  A dictionary VALUE edge whose key edge was cut is dropped too.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyheapdiff/format.h"

#define NO UINT32_MAX

struct cut {
    const struct phd_snapshot *s;
    uint32_t n;          /* nodes kept */
    uint32_t *str_map;   /* old string id -> new, or NO */
    uint32_t *type_map;  /* old type id -> new, or NO */
    uint32_t *type_old;  /* new type id -> old */
    uint32_t n_str, n_types;
    uint32_t *str_old;   /* new string id -> old */
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "mkseed: out of memory\n");
        exit(1);
    }
    return p;
}

static uint32_t use_string(struct cut *c, uint32_t sid)
{
    if (c->str_map[sid] == NO) {
        c->str_map[sid] = c->n_str;
        c->str_old[c->n_str++] = sid;
    }
    return c->str_map[sid];
}

/* A node's preview: its string id (remapped), its number (version 4) or
 * inline bytes. */
static void node_preview(struct cut *c, uint32_t i, struct phd_node_out *o, char *buf)
{
    const struct phd_snapshot *s = c->s;
    o->preview_sid = NO;
    o->preview_len = 0;
    if (!s->preview[i])
        return;
    const unsigned char *p = s->map + s->preview[i];
    uint64_t v;
    if (phd_varint_get(&p, s->map + s->map_len, &v) < 0)
        return;
    o->flags |= PHD_NODE_PREVIEW;
    if (v & 1) {
        o->preview_sid = use_string(c, (uint32_t)(v >> 1));
    } else if (s->hdr.version >= PHD_FORMAT_VERSION_NUMBERS && (v & 2)) {
        o->preview_kind = (unsigned)(v >> 2);
        if (o->preview_kind == PHD_PREVIEW_INT) {
            uint64_t z = 0;
            phd_varint_get(&p, s->map + s->map_len, &z);
            o->preview_num = (uint64_t)phd_unzigzag(z);
        } else {
            o->preview_num = 0;
            for (int k = 7; k >= 0; k--)
                o->preview_num = o->preview_num << 8 | p[k];
        }
    } else {
        o->preview_len = (size_t)phd_snapshot_preview(s, i, buf, PHD_PREVIEW_MAX);
        o->preview = buf;
    }
}

/* Is edge e of a kept node kept?  Its target must be kept; a VALUE edge
 * also needs the key edge before it. */
static int edge_kept(const struct cut *c, uint64_t e, uint32_t u)
{
    const struct phd_snapshot *s = c->s;
    if (s->edge_target[e] >= c->n)
        return 0;
    if (PHD_LABEL_KIND(s->edge_label[e]) == PHD_LABEL_VALUE)
        return e > s->edge_start[u] && edge_kept(c, e - 1, u);
    return 1;
}

static int write_seed(struct cut *c, int fd, uint32_t batch)
{
    const struct phd_snapshot *s = c->s;
    struct phd_writer w;
    struct phd_encoder enc;
    struct phd_footer f = {0};
    unsigned char *ebuf = NULL;
    size_t ecap = 0;
    if (phd_writer_init(&w, fd, 4096) != 0 || phd_encoder_init(&enc) != 0)
        return -1;
    phd_writer_header(&w, &s->hdr);

    /* first pass over the kept part: which types and strings it uses */
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t t = s->type[i];
        if (c->type_map[t] == NO) {
            c->type_map[t] = c->n_types;
            c->type_old[c->n_types++] = t;
            use_string(c, s->types[t].name);
        }
    }
    for (uint32_t r = 0; r < s->n_roots; r++)
        if (s->roots[r].node < c->n && s->roots[r].name != NO)
            use_string(c, s->roots[r].name);

    /* nodes (interleaved with the other sections further down) */
    uint64_t discovered = 0;
    char pv[PHD_PREVIEW_MAX];
    for (uint32_t i = 0; i < c->n; i++) {
        if (i % batch == 0)
            phd_writer_chunk_begin(&w, PHD_CHUNK_NODES);
        uint32_t t = s->type[i], nt = c->type_map[t];
        if (i == discovered)
            discovered++;
        size_t need = (size_t)(s->edge_start[i + 1] - s->edge_start[i]) * PHD_EDGE_MAX;
        if (need > ecap) {
            free(ebuf);
            ecap = need;
            ebuf = xcalloc(ecap, 1);
        }
        if (phd_encoder_begin(&enc, nt) != 0)
            return -1;
        unsigned char *p = ebuf;
        uint32_t ne = 0;
        int prev_by_addr = 0;
        for (uint64_t e = s->edge_start[i]; e < s->edge_start[i + 1]; e++) {
            if (!edge_kept(c, e, i))
                continue;
            uint32_t lab = s->edge_label[e], kind = PHD_LABEL_KIND(lab), target = s->edge_target[e];
            uint64_t payload = PHD_LABEL_PAYLOAD(lab);
            if (kind == PHD_LABEL_NAME)
                payload = use_string(c, (uint32_t)payload);
            if (kind == PHD_LABEL_VALUE && prev_by_addr)
                payload = PHD_KEY_BY_ADDR;
            int is_new = kind != PHD_LABEL_TYPE && target == discovered;
            /* every third old target by address (format version 3), so
             * that the seeds hold such edges too */
            uint64_t ta = s->addr[target] >> s->hdr.addr_shift;
            prev_by_addr = !is_new && kind != PHD_LABEL_TYPE && e % 3 == 0 && phd_addr_ref_fits(enc.last_addr, ta);
            if (prev_by_addr)
                p = phd_encoder_edge_addr(&enc, p, ta, kind, payload);
            else
                p = phd_encoder_edge(&enc, p, discovered, target, is_new, kind, payload);
            if (is_new)
                discovered++;
            ne++;
        }
        struct phd_node_out o = {
            .type = nt,
            .flags = s->flags[i] & PHD_NODE_GC_TRACKED,
            .addr = s->addr[i],
            .size = phd_snapshot_size(s, i),
            .refcnt = s->refcnt[i],
            .nedges = ne,
            .edges = ebuf,
            .edges_len = (size_t)(p - ebuf),
        };
        if (phd_snapshot_size(s, i) != s->types[t].default_size)
            o.flags |= PHD_NODE_SIZE;
        node_preview(c, i, &o, pv);
        phd_writer_node(&w, phd_encoder_addr(&enc, nt), s->hdr.addr_shift, &o);
        phd_encoder_end(&enc);
        f.edges += ne;
        f.total_size += phd_snapshot_size(s, i);
    }
    /* a chunk of a kind this version does not know: readers skip it */
    phd_writer_chunk_begin(&w, 0x100);
    unsigned char *u = phd_writer_reserve(&w, 5);
    if (u) {
        memcpy(u, "later", 5);
        phd_writer_commit(&w, u + 5);
    }
    for (uint32_t r = 0, k = 0; r < s->n_roots; r++) {
        const struct phd_root *rt = &s->roots[r];
        if (rt->node >= c->n)
            continue;
        if (k++ % batch == 0)
            phd_writer_chunk_begin(&w, PHD_CHUNK_ROOTS);
        phd_writer_root(&w, rt->kind, rt->node, rt->thread_id, rt->name == NO ? NO : c->str_map[rt->name]);
        f.roots++;
    }
    for (uint32_t t = 0; t < c->n_types; t++) {
        const struct phd_type *ty = &s->types[c->type_old[t]];
        if (t % batch == 0)
            phd_writer_chunk_begin(&w, PHD_CHUNK_TYPES);
        phd_writer_type(&w, c->str_map[ty->name], ty->node < c->n ? ty->node : NO, ty->default_size);
    }
    for (uint32_t k = 0; k < c->n_str; k++) {
        if (k % batch == 0)
            phd_writer_chunk_begin(&w, PHD_CHUNK_STRINGS);
        uint32_t o = c->str_old[k];
        phd_writer_string(&w, s->str[o], s->str_len[o]);
    }
    f.nodes = c->n;
    f.strings = c->n_str;
    f.types = c->n_types;
    int rc = phd_writer_finish(&w, &f) == 0 ? 0 : -1;
    phd_writer_release(&w);
    phd_encoder_release(&enc);
    free(ebuf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: mkseed IN.snap OUT.snap NODES BATCH\n");
        return 2;
    }
    struct phd_error err;
    struct phd_snapshot *s;
    if (phd_snapshot_open(&s, argv[1], 0, &err) < 0) {
        fprintf(stderr, "mkseed: %s\n", err.msg);
        return 1;
    }
    long n = atol(argv[3]), batch = atol(argv[4]);
    struct cut c = {.s = s, .n = n < 0 ? 0 : (uint32_t)n < s->n_nodes ? (uint32_t)n : s->n_nodes};
    c.str_map = xcalloc((size_t)s->n_strings + 1, sizeof *c.str_map);
    c.str_old = xcalloc((size_t)s->n_strings + 1, sizeof *c.str_old);
    c.type_map = xcalloc((size_t)s->n_types + 1, sizeof *c.type_map);
    c.type_old = xcalloc((size_t)s->n_types + 1, sizeof *c.type_old);
    memset(c.str_map, 0xff, ((size_t)s->n_strings + 1) * sizeof *c.str_map);
    memset(c.type_map, 0xff, ((size_t)s->n_types + 1) * sizeof *c.type_map);
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = fd >= 0 && write_seed(&c, fd, batch > 0 ? (uint32_t)batch : 1) == 0 ? 0 : 1;
    if (fd >= 0)
        close(fd);
    if (rc)
        fprintf(stderr, "mkseed: cannot write %s\n", argv[2]);
    free(c.str_map);
    free(c.str_old);
    free(c.type_map);
    free(c.type_old);
    phd_snapshot_free(&s);
    return rc;
}
