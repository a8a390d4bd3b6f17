/*
 * testutil.c - see testutil.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyheapdiff/format.h"
#include "testutil.h"

unsigned long t_passed, t_failed;

void t_fail(const char *file, int line, const char *what, const char *detail)
{
    t_failed++;
    if (t_failed <= 200) {
        fprintf(stderr, "%s:%d: CHECK failed: %s%s%s\n", file, line, what, detail ? ": " : "",
                detail ? detail : "");
        if (t_failed == 200)
            fprintf(stderr, "(further failures are counted, not printed)\n");
    }
}

int t_summary(const char *name)
{
    printf("%s: %lu passed, %lu failed\n", name, t_passed, t_failed);
    fflush(stdout);
    return t_failed ? 1 : 0;
}

void rng_seed(struct rng *r, uint64_t seed)
{
    /* splitmix64 of the seed, so that small seeds give unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    r->s = z ? z : 1;
}

uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

int rng_chance(struct rng *r, unsigned num, unsigned den)
{
    return rng_below(r, den) < num;
}

uint64_t rng_bits(struct rng *r)
{
    uint64_t v = rng_next(r); /* two statements: a fixed order of draws */
    return v >> rng_below(r, 64);
}

int t_mkstemp(char *path, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(path, 256, "%s/phd-%s-XXXXXX", dir, tag);
    int fd = mkstemp(path);
    if (fd < 0)
        fprintf(stderr, "mkstemp %s: %s\n", path, strerror(errno));
    return fd;
}

int t_write_tmp(char *path, const char *tag, const void *data, size_t len)
{
    int fd = t_mkstemp(path, tag);
    if (fd < 0)
        return -1;
    const unsigned char *p = data;
    while (len) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(path);
            return -1;
        }
        p += k;
        len -= (size_t)k;
    }
    return close(fd);
}

unsigned char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    while (b) {
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        unsigned char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return NULL;
    }
    *len = n;
    return b;
}

void t_put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

void t_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void t_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t t_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t t_get_u64(const unsigned char *p)
{
    return (uint64_t)t_get_u32(p) | ((uint64_t)t_get_u32(p + 4) << 32);
}

void t_patch_crc(unsigned char *buf, size_t len)
{
    t_put_u32(buf + T_CRC_OFFSET(len), phd_crc32c(0, buf, len - PHD_FOOTER_SIZE));
}

void t_tables_init(struct t_tables *t, const char **str, uint32_t n_strings, uint32_t n_types)
{
    if (n_strings > T_MAX_STRINGS || n_types > T_MAX_TYPES || n_types > n_strings) {
        fprintf(stderr, "t_tables_init: %u strings, %u types: too many\n", n_strings, n_types);
        exit(2);
    }
    t->str = str;
    t->n_strings = n_strings;
    t->n_types = n_types;
    for (uint32_t i = 0; i < n_strings; i++)
        t->str_len[i] = (uint32_t)strlen(str[i]);
    for (uint32_t k = 0; k < n_types; k++)
        t->types[k] = (struct phd_type){.name = k, .node = UINT32_MAX, .default_size = 16};
}

struct phd_snapshot *t_snapshot_new(const struct t_tables *t, const char *path, uint32_t n, uint64_t m,
                                    uint32_t nroots)
{
    struct phd_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->path = (char *)path;
    s->hdr.version = 1;
    s->hdr.pointer_size = 8;
    s->hdr.addr_shift = 3;
    s->n_nodes = n;
    s->n_edges = m;
    s->n_types = t->n_types;
    s->n_strings = t->n_strings;
    s->n_roots = nroots;
    /* lent: t_snapshot_free takes them back before phd_snapshot_free */
    s->str = t->str;
    s->str_len = (uint32_t *)t->str_len;
    s->types = (struct phd_type *)t->types;
    s->roots = calloc((size_t)nroots + 1, sizeof *s->roots);
    s->addr = calloc((size_t)n + 1, sizeof *s->addr);
    s->size = calloc((size_t)n + 1, sizeof *s->size);
    s->refcnt = calloc((size_t)n + 1, sizeof *s->refcnt);
    s->type = calloc((size_t)n + 1, sizeof *s->type);
    s->flags = calloc((size_t)n + 1, sizeof *s->flags);
    s->edge_start = calloc((size_t)n + 1, sizeof *s->edge_start);
    s->edge_target = calloc(m + 1, sizeof *s->edge_target);
    s->edge_label = calloc(m + 1, sizeof *s->edge_label);
    if (!s->roots || !s->addr || !s->size || !s->refcnt || !s->type || !s->flags || !s->edge_start ||
        !s->edge_target || !s->edge_label)
        goto nomem;
    for (uint32_t v = 0; v < n; v++)
        s->addr[v] = 0x10000 + 64 * (uint64_t)v;
    return s;
nomem:
    fprintf(stderr, "t_snapshot_new: out of memory\n");
    exit(2);
}

static int by_src(const void *a, const void *b)
{
    const struct t_edge *x = a, *y = b;
    return (x->src > y->src) - (x->src < y->src);
}

void t_snapshot_set_edges(struct phd_snapshot *s, struct t_edge *ed, uint64_t m)
{
    qsort(ed, m, sizeof *ed, by_src);
    free(s->edge_target);
    free(s->edge_label);
    s->n_edges = m;
    s->edge_target = calloc(m + 1, sizeof *s->edge_target);
    s->edge_label = calloc(m + 1, sizeof *s->edge_label);
    if (!s->edge_target || !s->edge_label) {
        fprintf(stderr, "t_snapshot_set_edges: out of memory\n");
        exit(2);
    }
    uint64_t e = 0;
    for (uint32_t v = 0; v < s->n_nodes; v++) {
        s->edge_start[v] = (uint32_t)e;
        for (; e < m && ed[e].src == v; e++) {
            s->edge_target[e] = ed[e].dst;
            s->edge_label[e] = ed[e].label;
            if (PHD_LABEL_KIND(ed[e].label) != PHD_LABEL_WEAK)
                s->refcnt[ed[e].dst]++;
        }
    }
    s->edge_start[s->n_nodes] = (uint32_t)e;
}

void t_snapshot_free(struct phd_snapshot **sp)
{
    struct phd_snapshot *s = *sp;
    if (!s)
        return;
    s->path = NULL;
    s->str = NULL;
    s->str_len = NULL;
    s->types = NULL;
    phd_snapshot_free(sp);
}
