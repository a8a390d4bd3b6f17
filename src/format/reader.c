/*
 * reader.c - loads and validates a snapshot.
 *
 * The file is mapped read-only and checked outside-in before anything is
 * trusted: size, header, footer, the CRC-32C of every byte before the
 * footer, then the chunk chain.  Counts from the footer are checked against
 * the file size before any array is allocated, so a hostile count cannot
 * make us allocate more than the file could describe.  Every varint read
 * takes the end of its chunk.  Errors name the file, the byte offset and
 * the check that failed.
 *
 * Node records are decoded in one pass into structure-of-arrays form
 * (see struct phd_snapshot); edge targets are resolved from the "discovered
 * so far" encoding described in docs/format.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyheapdiff/floatrepr.h"
#include "pyheapdiff/format.h"
#include "pyheapdiff/progress.h"
#include "pyheapdiff/text.h"

static uint16_t get_u16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

struct chunk {
    uint32_t kind;
    uint64_t off; /* of the payload */
    uint64_t len;
};

struct parse {
    struct phd_snapshot *s;
    struct phd_error *err;
    const char *name;
    struct chunk *chunks;
    size_t n_chunks;
    struct phd_sibling *sibs;
    unsigned char *inl; /* version 2: a bit per node written inline */
    /* version 3: edges given by address, resolved once every node's
     * address is known (check_unique_addresses) */
    uint64_t *pend_addr;   /* the address */
    uint32_t *pend_edge;   /* the edge */
    size_t n_pend, pend_cap;
    /* the image is a file mapping (phd_snapshot_open): its pages are
     * dropped as they are done with, so that they never all count against
     * the peak memory at once (a later read faults them back in from the
     * page cache) */
    int mapped;
    size_t dropped; /* bytes from the start dropped so far, page-aligned */
};

/* Drops the mapped pages before `upto` once 16 MiB have gathered. */
static void drop_pages(struct parse *ps, size_t upto, int all)
{
    upto &= ~(size_t)0xfffff; /* a multiple of 1 MiB: page-aligned */
    if (!ps->mapped || upto <= ps->dropped || (!all && upto - ps->dropped < ((size_t)16 << 20)))
        return;
    madvise((void *)(ps->s->map + ps->dropped), upto - ps->dropped, MADV_DONTNEED);
    ps->dropped = upto;
}

/* Stores node i's size: 32 bits in s->size, or UINT32_MAX there and the
 * size in s->big_size (4 GiB - 1 or more: rare; sorted after the parse). */
static int set_size(struct parse *ps, uint64_t i, uint64_t size)
{
    struct phd_snapshot *s = ps->s;
    if (size < UINT32_MAX) {
        s->size[i] = (uint32_t)size;
        return 0;
    }
    if ((s->n_big_size & (s->n_big_size - 1)) == 0) { /* 0, 1, 2, 4...: grow */
        size_t cap = s->n_big_size ? 2 * (size_t)s->n_big_size : 1;
        struct phd_big_size *nb = realloc(s->big_size, cap * sizeof *nb);
        if (!nb)
            return phd_error_set(ps->err, "%s: out of memory", ps->name);
        s->big_size = nb;
    }
    s->big_size[s->n_big_size++] = (struct phd_big_size){(uint32_t)i, size};
    s->size[i] = UINT32_MAX;
    return 0;
}

#define CORRUPT(ps, off, ...) corrupt((ps), (uint64_t)(off), __VA_ARGS__)

static int corrupt(struct parse *ps, uint64_t off, const char *fmt, ...) PHD_PRINTF(3, 4);
static int corrupt(struct parse *ps, uint64_t off, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return phd_error_set(ps->err, "%s: corrupt snapshot at byte %llu: %s", ps->name,
                         (unsigned long long)off, what);
}

static int parse_header(struct parse *ps)
{
    struct phd_snapshot *s = ps->s;
    const unsigned char *b = s->map;
    size_t len = s->map_len;

    if (len == 0)
        return phd_error_set(ps->err, "%s: empty file, not a snapshot", ps->name);
    if (len < 8 || memcmp(b, PHD_MAGIC, 8) != 0)
        return phd_error_set(ps->err, "%s: not a pyheapdiff snapshot (wrong magic)", ps->name);
    if (len < PHD_HEADER_SIZE)
        return phd_error_set(ps->err, "%s: truncated: %zu bytes, shorter than the %d-byte header",
                             ps->name, len, PHD_HEADER_SIZE);
    s->hdr.version = get_u16(b + 8);
    if (s->hdr.version > PHD_FORMAT_VERSION)
        return phd_error_set(ps->err,
                             "%s: format version %u is newer than this pyheapdiff reads (%d); upgrade pyheapdiff",
                             ps->name, s->hdr.version, PHD_FORMAT_VERSION);
    if (s->hdr.version == 0)
        return CORRUPT(ps, 8, "format version 0");
    uint16_t hsize = get_u16(b + 10);
    if (hsize < PHD_HEADER_SIZE || hsize > len)
        return CORRUPT(ps, 10, "header size %u", hsize);
    s->hdr.pointer_size = b[12];
    s->hdr.addr_shift = b[13];
    if ((s->hdr.pointer_size != 4 && s->hdr.pointer_size != 8) || s->hdr.addr_shift > 4)
        return CORRUPT(ps, 12, "pointer size %u, address shift %u", b[12], b[13]);
    s->hdr.py_major = b[14];
    s->hdr.py_minor = b[15];
    s->hdr.py_micro = b[16];
    s->hdr.flags = get_u32(b + 20);
    s->hdr.pid = get_u64(b + 24);
    s->hdr.start_time_ns = get_u64(b + 32);
    s->hdr.timestamp_ns = get_u64(b + 40);

    if (len < (size_t)hsize + PHD_FOOTER_SIZE)
        return phd_error_set(ps->err, "%s: truncated: %zu bytes, no room for the footer", ps->name, len);
    const unsigned char *f = b + len - PHD_FOOTER_SIZE;
    if (get_u32(f) != PHD_CHUNK_FOOTER || get_u32(f + 4) != 0 || get_u64(f + 8) != PHD_FOOTER_PAYLOAD ||
        memcmp(f + 16 + 40, PHD_END_MAGIC, 8) != 0)
        return phd_error_set(ps->err, "%s: truncated or damaged: no footer at the end of the file",
                             ps->name);
    const unsigned char *p = f + PHD_CHUNK_HEADER_SIZE;
    uint64_t nodes = get_u64(p), edges = get_u64(p + 8);
    s->total_size = get_u64(p + 16);
    s->n_strings = get_u32(p + 24);
    s->n_types = get_u32(p + 28);
    s->n_roots = get_u32(p + 32);
    s->crc = get_u32(p + 36);
    /* the checksum in 16 MiB pieces, so that progress can be shown */
    uint32_t crc = 0;
    size_t crc_len = len - PHD_FOOTER_SIZE, piece = (size_t)16 << 20;
    phd_progress_begin("checking the checksum", crc_len);
    for (size_t off = 0; off < crc_len; off += piece) {
        phd_progress_tick(off);
        crc = phd_crc32c(crc, b + off, crc_len - off < piece ? crc_len - off : piece);
        drop_pages(ps, off + piece < crc_len ? off + piece : crc_len, 0);
    }
    ps->dropped = 0; /* the sections are read from the start again */
    phd_progress_end();
    if (crc != s->crc)
        return phd_error_set(ps->err, "%s: checksum mismatch (stored %08x, computed %08x): the file is damaged",
                             ps->name, s->crc, crc);
    /* Each record takes at least this many bytes, so no count may exceed
     * the file size divided by it: checked before anything is allocated. */
    /* a node takes 4 bytes (head, address, refcount, edge count), an
     * inline node (version 2) 2 */
    uint64_t node_min = s->hdr.version >= PHD_FORMAT_VERSION_INLINE ? 2 : 4;
    if (nodes > PHD_MAX_NODES || nodes * node_min > len || edges > len || (uint64_t)s->n_strings > len ||
        (uint64_t)s->n_types * 3 > len || (uint64_t)s->n_roots * 4 > len)
        return CORRUPT(ps, len - PHD_FOOTER_SIZE, "footer counts too large for a %zu-byte file", len);
    if (s->total_size > PHD_SIZE_MAX)
        return CORRUPT(ps, len - PHD_FOOTER_SIZE, "footer's total size %llu is past 2^63 - 1 bytes",
                       (unsigned long long)s->total_size);
    if (edges >= UINT32_MAX)
        return phd_error_set(ps->err, "%s: %llu references: more than this pyheapdiff handles (2^32 - 1)", ps->name,
                             (unsigned long long)edges);
    s->n_nodes = (uint32_t)nodes;
    s->n_edges = edges;

    /* the chunk chain */
    size_t cap = 16;
    ps->chunks = malloc(cap * sizeof *ps->chunks);
    if (!ps->chunks)
        return phd_error_set(ps->err, "%s: out of memory", ps->name);
    uint64_t off = hsize, end = len - PHD_FOOTER_SIZE;
    while (off < end) {
        if (end - off < PHD_CHUNK_HEADER_SIZE)
            return CORRUPT(ps, off, "chunk header cut short");
        uint32_t kind = get_u32(b + off), cflags = get_u32(b + off + 4);
        uint64_t clen = get_u64(b + off + 8);
        if (cflags != 0)
            return CORRUPT(ps, off, "chunk flags %08x", cflags);
        if (clen > end - off - PHD_CHUNK_HEADER_SIZE)
            return CORRUPT(ps, off, "chunk of kind %u claims %llu bytes, past the end of the data", kind,
                           (unsigned long long)clen);
        if (kind == PHD_CHUNK_FOOTER)
            return CORRUPT(ps, off, "footer before the end of the file");
        if (ps->n_chunks == cap) {
            cap *= 2;
            struct chunk *nc = realloc(ps->chunks, cap * sizeof *nc);
            if (!nc)
                return phd_error_set(ps->err, "%s: out of memory", ps->name);
            ps->chunks = nc;
        }
        ps->chunks[ps->n_chunks++] = (struct chunk){kind, off + PHD_CHUNK_HEADER_SIZE, clen};
        off += PHD_CHUNK_HEADER_SIZE + clen;
    }
    return 0;
}

/* Reads a varint at *pp within its chunk or reports where it broke. */
#define GETV(ps, pp, end, out, what)                                                                \
    do {                                                                                            \
        if (phd_varint_get((pp), (end), (out)) < 0)                                                 \
            return CORRUPT((ps), *(pp) - (ps)->s->map, "%s: varint runs past its chunk or overflows", \
                           (what));                                                                 \
    } while (0)

static int parse_strings(struct parse *ps)
{
    struct phd_snapshot *s = ps->s;
    uint32_t n = 0;
    s->str = calloc((size_t)s->n_strings + 1, sizeof *s->str);
    s->str_len = calloc((size_t)s->n_strings + 1, sizeof *s->str_len);
    if (!s->str || !s->str_len)
        return phd_error_set(ps->err, "%s: out of memory", ps->name);
    /* Strings are copied NUL-terminated into one arena, repaired as they go
     * (phd_utf8_repair: invalid UTF-8 becomes U+FFFD, three bytes for one,
     * and a NUL C0 80): at most three times the string chunks. */
    size_t total = 0;
    for (size_t c = 0; c < ps->n_chunks; c++)
        if (ps->chunks[c].kind == PHD_CHUNK_STRINGS)
            total += ps->chunks[c].len + 1;
    char *arena = malloc(3 * total + s->n_strings + 1);
    if (!arena)
        return phd_error_set(ps->err, "%s: out of memory", ps->name);
    s->str_arena = arena;
    for (size_t c = 0; c < ps->n_chunks; c++) {
        if (ps->chunks[c].kind != PHD_CHUNK_STRINGS)
            continue;
        const unsigned char *p = s->map + ps->chunks[c].off, *end = p + ps->chunks[c].len;
        while (p < end) {
            uint64_t l;
            GETV(ps, &p, end, &l, "string length");
            if (l > (uint64_t)(end - p))
                return CORRUPT(ps, p - s->map, "string of %llu bytes runs past its chunk",
                               (unsigned long long)l);
            if (n >= s->n_strings)
                return CORRUPT(ps, p - s->map, "more strings than the footer's %u", s->n_strings);
            size_t bad = 0;
            size_t ol = phd_utf8_repair(p, (size_t)l, (unsigned char *)arena, &bad);
            arena[ol] = 0;
            s->str[n] = arena;
            s->str_len[n] = (uint32_t)ol;
            s->n_repaired_strings += bad != 0;
            arena += ol + 1;
            p += l;
            n++;
        }
    }
    if (n != s->n_strings)
        return CORRUPT(ps, s->map_len - PHD_FOOTER_SIZE, "footer says %u strings, found %u", s->n_strings, n);
    return 0;
}

static int parse_types(struct parse *ps)
{
    struct phd_snapshot *s = ps->s;
    uint32_t n = 0;
    s->types = calloc((size_t)s->n_types + 1, sizeof *s->types);
    if (!s->types)
        return phd_error_set(ps->err, "%s: out of memory", ps->name);
    for (size_t c = 0; c < ps->n_chunks; c++) {
        if (ps->chunks[c].kind != PHD_CHUNK_TYPES)
            continue;
        const unsigned char *p = s->map + ps->chunks[c].off, *end = p + ps->chunks[c].len;
        while (p < end) {
            uint64_t name, node, dsize;
            const unsigned char *at = p;
            GETV(ps, &p, end, &name, "type name");
            GETV(ps, &p, end, &node, "type node");
            GETV(ps, &p, end, &dsize, "type default size");
            if (n >= s->n_types)
                return CORRUPT(ps, at - s->map, "more types than the footer's %u", s->n_types);
            if (name >= s->n_strings)
                return CORRUPT(ps, at - s->map, "type %u names string %llu of %u", n,
                               (unsigned long long)name, s->n_strings);
            if (node > s->n_nodes)
                return CORRUPT(ps, at - s->map, "type %u refers to node %llu of %u", n,
                               (unsigned long long)node - 1, s->n_nodes);
            s->types[n].name = (uint32_t)name;
            s->types[n].node = node ? (uint32_t)(node - 1) : UINT32_MAX;
            s->types[n].default_size = dsize;
            n++;
        }
    }
    if (n != s->n_types)
        return CORRUPT(ps, s->map_len - PHD_FOOTER_SIZE, "footer says %u types, found %u", s->n_types, n);
    return 0;
}

/* TYPE_ORIGINS (optional): one origin per type, in type id order. */
static int parse_origins(struct parse *ps)
{
    struct phd_snapshot *s = ps->s;
    uint32_t n = 0;
    int seen = 0;
    for (size_t c = 0; c < ps->n_chunks; c++) {
        if (ps->chunks[c].kind != PHD_CHUNK_TYPE_ORIGINS)
            continue;
        seen = 1;
        const unsigned char *p = s->map + ps->chunks[c].off, *end = p + ps->chunks[c].len;
        while (p < end) {
            uint64_t origin;
            const unsigned char *at = p;
            GETV(ps, &p, end, &origin, "type origin");
            if (n >= s->n_types)
                return CORRUPT(ps, at - s->map, "more type origins than the footer's %u types", s->n_types);
            if (origin >= PHD_ORIGIN_COUNT)
                return CORRUPT(ps, at - s->map, "type %u has origin %llu", n, (unsigned long long)origin);
            s->types[n++].origin = (uint8_t)origin;
        }
    }
    if (seen && n != s->n_types)
        return CORRUPT(ps, s->map_len - PHD_FOOTER_SIZE, "%u types but %u type origins", s->n_types, n);
    return 0;
}

static int parse_roots(struct parse *ps)
{
    struct phd_snapshot *s = ps->s;
    uint32_t n = 0;
    s->roots = calloc((size_t)s->n_roots + 1, sizeof *s->roots);
    if (!s->roots)
        return phd_error_set(ps->err, "%s: out of memory", ps->name);
    for (size_t c = 0; c < ps->n_chunks; c++) {
        if (ps->chunks[c].kind != PHD_CHUNK_ROOTS)
            continue;
        const unsigned char *p = s->map + ps->chunks[c].off, *end = p + ps->chunks[c].len;
        while (p < end) {
            uint64_t kind, node, tid, name;
            const unsigned char *at = p;
            GETV(ps, &p, end, &kind, "root kind");
            GETV(ps, &p, end, &node, "root node");
            GETV(ps, &p, end, &tid, "root thread");
            GETV(ps, &p, end, &name, "root name");
            if (n >= s->n_roots)
                return CORRUPT(ps, at - s->map, "more roots than the footer's %u", s->n_roots);
            if (kind == 0 || kind > PHD_ROOT_KIND_MAX)
                return CORRUPT(ps, at - s->map, "root of unknown kind %llu", (unsigned long long)kind);
            if (node >= s->n_nodes)
                return CORRUPT(ps, at - s->map, "root refers to node %llu of %u", (unsigned long long)node,
                               s->n_nodes);
            if (name > s->n_strings)
                return CORRUPT(ps, at - s->map, "root names string %llu of %u", (unsigned long long)name - 1,
                               s->n_strings);
            s->roots[n] = (struct phd_root){(uint32_t)kind, (uint32_t)node, tid,
                                            name ? (uint32_t)(name - 1) : UINT32_MAX};
            n++;
        }
    }
    if (n != s->n_roots)
        return CORRUPT(ps, s->map_len - PHD_FOOTER_SIZE, "footer says %u roots, found %u", s->n_roots, n);
    return 0;
}

/* The preview of node i at *pp, if its flags have one (docs/format.md):
 * odd, a string id; version 4: a multiple of 4, the length of the text
 * behind; 2 mod 4, a number of kind v >> 2 behind; older versions: even,
 * the length of the text behind. */
static int parse_preview(struct parse *ps, const unsigned char **pp, const unsigned char *end,
                         const unsigned char *at, uint64_t head, uint64_t i)
{
    struct phd_snapshot *s = ps->s;
    s->preview[i] = 0;
    if (!(head & PHD_NODE_PREVIEW))
        return 0;
    uint64_t pv;
    s->preview[i] = (uint64_t)(*pp - s->map);
    GETV(ps, pp, end, &pv, "preview");
    if (pv & 1) {
        if ((pv >> 1) >= s->n_strings)
            return CORRUPT(ps, at - s->map, "node %llu preview names string %llu of %u", (unsigned long long)i,
                           (unsigned long long)(pv >> 1), s->n_strings);
        return 0;
    }
    if (s->hdr.version >= PHD_FORMAT_VERSION_NUMBERS && (pv & 2)) {
        uint64_t v;
        switch (pv >> 2) {
        case PHD_PREVIEW_INT:
            GETV(ps, pp, end, &v, "int preview");
            return 0;
        case PHD_PREVIEW_FLOAT:
            if (end - *pp < 8)
                return CORRUPT(ps, at - s->map, "node %llu float preview runs past its chunk", (unsigned long long)i);
            *pp += 8;
            return 0;
        default:
            return CORRUPT(ps, at - s->map, "node %llu preview of unknown kind %llu", (unsigned long long)i,
                           (unsigned long long)(pv >> 2));
        }
    }
    uint64_t pl = pv >> (s->hdr.version >= PHD_FORMAT_VERSION_NUMBERS ? 2 : 1);
    if (pl == 0 || pl > PHD_PREVIEW_MAX || pl > (uint64_t)(end - *pp))
        return CORRUPT(ps, at - s->map, "node %llu preview of %llu bytes", (unsigned long long)i,
                       (unsigned long long)pl);
    *pp += pl;
    return 0;
}

/* An inline node's record (version 2): head, address, size, preview; its
 * refcount is 1 and it has no edges.  Node i was just discovered. */
static int parse_inline(struct parse *ps, const unsigned char **pp, const unsigned char *end,
                        const unsigned char *at, uint64_t i, uint64_t *total)
{
    struct phd_snapshot *s = ps->s;
    uint64_t head, daddr, size;
    GETV(ps, pp, end, &head, "inline node head");
    uint64_t tid = head >> 3;
    if (tid >= s->n_types)
        return CORRUPT(ps, at - s->map, "inline node %llu has type %llu of %u", (unsigned long long)i,
                       (unsigned long long)tid, s->n_types);
    if (head & PHD_NODE_GC_TRACKED)
        return CORRUPT(ps, at - s->map, "inline node %llu is GC-tracked", (unsigned long long)i);
    struct phd_sibling *sib = &ps->sibs[tid];
    GETV(ps, pp, end, &daddr, "inline node address");
    sib->addr += (uint64_t)phd_unzigzag(daddr);
    s->addr[i] = sib->addr << s->hdr.addr_shift;
    if (head & PHD_NODE_SIZE)
        GETV(ps, pp, end, &size, "inline node size");
    else
        size = s->types[tid].default_size;
    if (parse_preview(ps, pp, end, at, head, i) < 0)
        return -1;
    s->type[i] = (uint32_t)tid;
    s->flags[i] = (uint8_t)(head & 7);
    if (set_size(ps, i, size) < 0)
        return -1;
    s->refcnt[i] = 1;
    *total += size;
    return 0;
}

static int by_big_node(const void *a, const void *b)
{
    const struct phd_big_size *x = a, *y = b;
    return (x->node > y->node) - (x->node < y->node);
}

uint64_t phd_snapshot_big_size(const struct phd_snapshot *s, uint32_t i)
{
    struct phd_big_size key = {i, 0};
    const struct phd_big_size *hit =
        s->n_big_size ? bsearch(&key, s->big_size, s->n_big_size, sizeof key, by_big_node) : NULL;
    return hit ? hit->size : UINT32_MAX;
}

/* Room for more edges given by address: 1.5 times as many, 12 bytes each. */
static int pend_grow(struct parse *ps)
{
    size_t ncap = ps->pend_cap ? ps->pend_cap + ps->pend_cap / 2 : 4096;
    uint64_t *na = realloc(ps->pend_addr, ncap * sizeof *na);
    if (!na)
        return -1;
    ps->pend_addr = na;
    uint32_t *ne = realloc(ps->pend_edge, ncap * sizeof *ne);
    if (!ne)
        return -1;
    ps->pend_edge = ne;
    ps->pend_cap = ncap;
    return 0;
}

static int parse_nodes(struct parse *ps)
{
    struct phd_snapshot *s = ps->s;
    size_t nn = s->n_nodes;
    s->addr = malloc((nn + 1) * sizeof *s->addr);
    s->size = malloc((nn + 1) * sizeof *s->size);
    s->refcnt = malloc((nn + 1) * sizeof *s->refcnt);
    s->type = malloc((nn + 1) * sizeof *s->type);
    s->flags = malloc(nn + 1);
    s->preview = malloc((nn + 1) * sizeof *s->preview);
    s->edge_start = malloc((nn + 1) * sizeof *s->edge_start);
    s->edge_target = malloc((s->n_edges + 1) * sizeof *s->edge_target);
    s->edge_label = malloc((s->n_edges + 1) * sizeof *s->edge_label);
    if (!s->addr || !s->size || !s->refcnt || !s->type || !s->flags || !s->preview || !s->edge_start ||
        !s->edge_target || !s->edge_label)
        return phd_error_set(ps->err, "%s: out of memory for %u nodes", ps->name, s->n_nodes);

    /* one sibling state per type: bounded by the TYPES records present */
    struct phd_sibling *sibs = calloc((size_t)s->n_types + 1, sizeof *sibs);
    if (!sibs)
        return phd_error_set(ps->err, "%s: out of memory for %u types", ps->name, s->n_types);
    ps->sibs = sibs;
    /* inline nodes (version 2): one bit each, so that the top-level records
     * can skip the indices inline records already took */
    const int v2 = s->hdr.version >= PHD_FORMAT_VERSION_INLINE;
    const int v3 = s->hdr.version >= PHD_FORMAT_VERSION_ADDR;
    ps->inl = v2 ? calloc(nn / 8 + 1, 1) : NULL;
    if (v2 && !ps->inl)
        return phd_error_set(ps->err, "%s: out of memory for %u nodes", ps->name, s->n_nodes);
    struct phd_sibling cur;
    uint64_t i = 0, next = 0, discovered = 0, e = 0, total = 0;
    uint64_t last_addr = 0; /* version 3: the last target given by address, >> addr_shift */
    phd_progress_begin("reading objects", nn);
    for (size_t c = 0; c < ps->n_chunks; c++) {
        if (ps->chunks[c].kind != PHD_CHUNK_NODES)
            continue;
        const unsigned char *p = s->map + ps->chunks[c].off, *end = p + ps->chunks[c].len;
        while (p < end) {
            const unsigned char *at = p;
            uint64_t head, daddr, size, refcnt, nedges;
            if (next >= nn)
                return CORRUPT(ps, at - s->map, "more nodes than the footer's %u", s->n_nodes);
            i = next;
            phd_progress_tick(i);
            if (i == discovered)
                discovered++; /* a seed: first seen by its own record */
            GETV(ps, &p, end, &head, "node head");
            uint64_t tid = head >> 3;
            if (tid >= s->n_types)
                return CORRUPT(ps, at - s->map, "node %llu has type %llu of %u", (unsigned long long)i,
                               (unsigned long long)tid, s->n_types);
            struct phd_sibling *sib = &sibs[tid];
            GETV(ps, &p, end, &daddr, "node address");
            sib->addr += (uint64_t)phd_unzigzag(daddr);
            s->addr[i] = sib->addr << s->hdr.addr_shift;
            if (head & PHD_NODE_SIZE)
                GETV(ps, &p, end, &size, "node size");
            else
                size = s->types[tid].default_size;
            GETV(ps, &p, end, &refcnt, "node refcount");
            if (parse_preview(ps, &p, end, at, head, i) < 0)
                return -1;
            GETV(ps, &p, end, &nedges, "edge count");
            if (nedges > s->n_edges - e)
                return CORRUPT(ps, at - s->map, "node %llu has %llu edges, more than the footer allows",
                               (unsigned long long)i, (unsigned long long)nedges);
            s->type[i] = (uint32_t)tid;
            s->flags[i] = (uint8_t)(head & 7);
            if (set_size(ps, i, size) < 0)
                return -1;
            s->refcnt[i] = refcnt > UINT32_MAX ? UINT32_MAX : (uint32_t)refcnt;
            s->edge_start[i] = (uint32_t)e;
            if (size > PHD_SIZE_MAX - total)
                return CORRUPT(ps, at - s->map, "node %llu: sizes add up past 2^63 - 1 bytes",
                               (unsigned long long)i);
            total += size;
            uint64_t next_index = 0;
            cur.n = 0;
            for (uint64_t k = 0; k < nedges; k++, e++) {
                uint64_t eh, payload = 0, target;
                GETV(ps, &p, end, &eh, "edge");
                uint32_t kind = (uint32_t)(eh & 7);
                uint64_t tcode = eh >> 3;
                int known = k < sib->n;
                /* version 3: odd codes >= 3 are version 2's back-references,
                 * even ones >= 4 addresses (docs/format.md) */
                int by_addr = 0;
                uint64_t zaddr = 0;
                if (v3 && tcode >= 3) {
                    if (tcode & 1) {
                        tcode = (tcode - 1) / 2 + 2;
                    } else {
                        by_addr = 1;
                        zaddr = (tcode - 4) / 2;
                        tcode = 0;
                    }
                }
                if (kind == PHD_LABEL_SIBLING) {
                    if (!known)
                        return CORRUPT(ps, at - s->map, "node %llu: edge %llu copies a label its sibling lacks",
                                       (unsigned long long)i, (unsigned long long)k);
                    kind = PHD_LABEL_KIND(sib->label[k]);
                    payload = PHD_LABEL_PAYLOAD(sib->label[k]);
                    if (kind == PHD_LABEL_INDEX)
                        next_index = payload + 1;
                } else {
                    switch (kind) {
                    case PHD_LABEL_INDEX:
                        GETV(ps, &p, end, &payload, "index label");
                        payload += next_index;
                        if (payload >= (1u << 29))
                            return CORRUPT(ps, at - s->map, "node %llu: index label too large",
                                           (unsigned long long)i);
                        next_index = payload + 1;
                        break;
                    case PHD_LABEL_NAME:
                        GETV(ps, &p, end, &payload, "name label");
                        if (payload >= s->n_strings || payload >= (1u << 29))
                            return CORRUPT(ps, at - s->map, "node %llu: label names string %llu of %u",
                                           (unsigned long long)i, (unsigned long long)payload, s->n_strings);
                        break;
                    default:
                        break;
                    }
                }
                /* version 2: 1 is an inline node, the others are version
                 * 1's codes plus one (docs/format.md) */
                int is_inline = 0;
                if (v2 && tcode >= 1) {
                    if (tcode == 1)
                        is_inline = 1;
                    else
                        tcode--;
                }
                if (kind == PHD_LABEL_VALUE) {
                    /* the key is this node's previous edge, copied label or
                     * not (a copy means the sibling's key had the same
                     * target); one given by address is resolved with it */
                    if (k == 0)
                        return CORRUPT(ps, at - s->map, "node %llu: value edge without a key edge",
                                       (unsigned long long)i);
                    payload = s->edge_target[e - 1];
                    if (payload == PHD_NO_TARGET)
                        payload = PHD_KEY_BY_ADDR;
                }
                if (by_addr) {
                    if (kind == PHD_LABEL_TYPE)
                        return CORRUPT(ps, at - s->map, "node %llu: type edge given by address",
                                       (unsigned long long)i);
                    uint64_t a = last_addr + (uint64_t)phd_unzigzag(zaddr);
                    last_addr = a;
                    if (ps->n_pend == ps->pend_cap && pend_grow(ps) < 0)
                        return phd_error_set(ps->err, "%s: out of memory for %u nodes", ps->name, s->n_nodes);
                    ps->pend_addr[ps->n_pend] = a << s->hdr.addr_shift;
                    ps->pend_edge[ps->n_pend++] = (uint32_t)e;
                    target = PHD_NO_TARGET;
                } else if (kind == PHD_LABEL_TYPE) {
                    target = s->types[tid].node;
                    if (tcode != 0 || is_inline || target == UINT32_MAX)
                        return CORRUPT(ps, at - s->map, "node %llu: type edge without a type node",
                                       (unsigned long long)i);
                } else if (is_inline) {
                    target = discovered++;
                    if (target >= nn)
                        return CORRUPT(ps, at - s->map, "node %llu: edge discovers node %llu of %u",
                                       (unsigned long long)i, (unsigned long long)target, s->n_nodes);
                    if (parse_inline(ps, &p, end, at, target, &total) < 0)
                        return -1;
                    ps->inl[target >> 3] |= (unsigned char)(1u << (target & 7));
                } else if (tcode == 0) {
                    target = discovered++;
                    if (target >= nn)
                        return CORRUPT(ps, at - s->map, "node %llu: edge discovers node %llu of %u",
                                       (unsigned long long)i, (unsigned long long)target, s->n_nodes);
                } else if (tcode == 1) {
                    /* (a sibling's edge given by address left no target) */
                    if (!known || sib->target[k] == PHD_NO_TARGET)
                        return CORRUPT(ps, at - s->map, "node %llu: edge %llu copies a target its sibling lacks",
                                       (unsigned long long)i, (unsigned long long)k);
                    target = sib->target[k];
                } else {
                    if (tcode - 1 > discovered)
                        return CORRUPT(ps, at - s->map, "node %llu: edge target before node 0",
                                       (unsigned long long)i);
                    target = discovered - (tcode - 1);
                }
                s->edge_target[e] = (uint32_t)target;
                s->edge_label[e] = PHD_LABEL_MAKE(kind, payload);
                if (k < PHD_SIBLING_EDGES) {
                    cur.target[k] = (uint32_t)target;
                    cur.label[k] = s->edge_label[e];
                    cur.n = (uint32_t)k + 1;
                }
            }
            sib->n = cur.n;
            memcpy(sib->target, cur.target, cur.n * sizeof cur.target[0]);
            memcpy(sib->label, cur.label, cur.n * sizeof cur.label[0]);
            /* the next top-level record is the first node without one;
             * the inline nodes skipped have no edges */
            for (next = i + 1; v2 && next < discovered && (ps->inl[next >> 3] >> (next & 7)) & 1; next++)
                s->edge_start[next] = (uint32_t)e;
        }
        drop_pages(ps, (size_t)(end - s->map), 0);
    }
    phd_progress_end();
    /* inline nodes come out of index order: sort the big sizes by node */
    if (s->n_big_size > 1)
        qsort(s->big_size, s->n_big_size, sizeof *s->big_size, by_big_node);
    if (next != nn)
        return phd_error_set(ps->err, "%s: corrupt snapshot: footer says %u nodes, found %llu", ps->name,
                             s->n_nodes, (unsigned long long)next);
    if (e != s->n_edges)
        return phd_error_set(ps->err, "%s: corrupt snapshot: footer says %llu edges, found %llu", ps->name,
                             (unsigned long long)s->n_edges, (unsigned long long)e);
    if (discovered != nn)
        return phd_error_set(ps->err, "%s: corrupt snapshot: %llu nodes referenced, %u recorded", ps->name,
                             (unsigned long long)discovered, s->n_nodes);
    if (total != s->total_size)
        return phd_error_set(ps->err, "%s: corrupt snapshot: sizes add up to %llu, footer says %llu",
                             ps->name, (unsigned long long)total, (unsigned long long)s->total_size);
    s->edge_start[nn] = (uint32_t)e;
    return 0;
}

/*
 * Two nodes at one address: a real heap never has two live objects at one
 * address, and every command that finds objects by address (diff's
 * matching, --id) relies on it, so the snapshot is corrupt.  Open
 * addressing over node indices (uint32, table of 2^k >= 1.5 n slots: 6 to
 * 12 bytes per node, freed before returning), O(n) expected.
 */
/* The home slot of address a in a table of tsize (a power of two) slots. */
static size_t addr_slot(uint64_t a, size_t tsize)
{
    return (size_t)(((a >> 3) ^ (a >> 29)) * 0x9e3779b97f4a7c15u >> 20) & (tsize - 1);
}

static int check_unique_addresses(struct parse *ps)
{
    const struct phd_snapshot *s = ps->s;
    size_t nn = s->n_nodes, tsize = 16;
    while (tsize < nn + nn / 2)
        tsize *= 2;
    uint32_t *slot = malloc(tsize * sizeof *slot);
    if (!slot)
        return phd_error_set(ps->err, "%s: out of memory for %u nodes", ps->name, s->n_nodes);
    memset(slot, 0xff, tsize * sizeof *slot);
    phd_progress_begin("checking addresses", nn);
    for (size_t i = 0; i < nn; i++) {
        phd_progress_tick(i);
        uint64_t a = s->addr[i];
        size_t h = addr_slot(a, tsize);
        while (slot[h] != UINT32_MAX) {
            if (s->addr[slot[h]] == a) {
                int rc = phd_error_set(ps->err,
                                       "%s: corrupt snapshot: nodes %u and %zu have the same address 0x%llx",
                                       ps->name, slot[h], i, (unsigned long long)a);
                free(slot);
                return rc;
            }
            h = (h + 1) & (tsize - 1);
        }
        slot[h] = (uint32_t)i;
    }
    phd_progress_end();
    /* version 3: the edges given by address, now that every address is
     * known; one of no node, or of an inline node (which nothing else
     * refers to), is corrupt */
    for (size_t k = 0; k < ps->n_pend; k++) {
        uint64_t a = ps->pend_addr[k];
        uint32_t edge = ps->pend_edge[k];
        size_t h = addr_slot(a, tsize);
        while (slot[h] != UINT32_MAX && s->addr[slot[h]] != a)
            h = (h + 1) & (tsize - 1);
        uint32_t t = slot[h];
        if (t == UINT32_MAX || (ps->inl && (ps->inl[t >> 3] >> (t & 7)) & 1)) {
            int rc = phd_error_set(ps->err, "%s: corrupt snapshot: edge %u refers to address 0x%llx, %s", ps->name,
                                   edge, (unsigned long long)a,
                                   t == UINT32_MAX ? "which no object has" : "an inline object's");
            free(slot);
            return rc;
        }
        s->edge_target[edge] = t;
        /* a VALUE behind it (always in the same node: a node's first edge
         * is never a VALUE) has it as its key */
        if (edge + 1 < s->n_edges && s->edge_label[edge + 1] == PHD_LABEL_MAKE(PHD_LABEL_VALUE, PHD_KEY_BY_ADDR))
            s->edge_label[edge + 1] = PHD_LABEL_MAKE(PHD_LABEL_VALUE, t);
    }
    free(slot);
    return 0;
}

static int parse_image(struct phd_snapshot **out, const char *name, const void *data, size_t len,
                       unsigned flags, int mapped, struct phd_error *err)
{
    struct parse ps = {0};
    ps.mapped = mapped;
    struct phd_snapshot *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || !(s->path = strdup(name))) {
        free(s);
        return phd_error_set(err, "%s: out of memory", name);
    }
    s->map = data;
    s->map_len = len;
    ps.s = s;
    ps.err = err;
    ps.name = name;
    if (parse_header(&ps) < 0)
        goto fail;
    if (!(flags & PHD_OPEN_HEADER_ONLY)) {
        if (parse_strings(&ps) < 0 || parse_types(&ps) < 0 || parse_origins(&ps) < 0 || parse_nodes(&ps) < 0 ||
            check_unique_addresses(&ps) < 0 || parse_roots(&ps) < 0)
            goto fail;
    }
    free(ps.chunks);
    free(ps.sibs);
    free(ps.inl);
    free(ps.pend_addr);
    free(ps.pend_edge);
    *out = s;
    return 0;
fail:
    phd_progress_end();
    free(ps.chunks);
    free(ps.sibs);
    free(ps.inl);
    free(ps.pend_addr);
    free(ps.pend_edge);
    s->map = NULL; /* not ours */
    phd_snapshot_free(&s);
    return -1;
}

int phd_snapshot_parse(struct phd_snapshot **out, const char *name, const void *data, size_t len,
                       unsigned flags, struct phd_error *err)
{
    return parse_image(out, name, data, len, flags, 0, err);
}

int phd_snapshot_open(struct phd_snapshot **out, const char *path, unsigned flags, struct phd_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return phd_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return phd_error_set(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return phd_error_set(err, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    void *map = NULL;
    if (len) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return phd_error_set(err, "%s: cannot map: %s", path, strerror(e));
        }
    }
    close(fd);
    if (parse_image(out, path, map ? map : "", len, flags, map != NULL, err) < 0) {
        if (map)
            munmap(map, len);
        return -1;
    }
    (*out)->mapped = map != NULL;
    /* Everything but previews has been copied into the arrays: let the
     * kernel drop the file's pages (a preview read later faults its page
     * back in from the page cache), so they do not count against us. */
    if (!(flags & PHD_OPEN_HEADER_ONLY))
        phd_snapshot_drop_pages(*out);
    return 0;
}

void phd_snapshot_drop_pages(const struct phd_snapshot *s)
{
    if (s->mapped && s->map && s->map_len)
        madvise((void *)s->map, s->map_len, MADV_DONTNEED);
}

void phd_snapshot_free(struct phd_snapshot **sp)
{
    struct phd_snapshot *s = *sp;
    if (!s)
        return;
    if (s->mapped && s->map)
        munmap((void *)s->map, s->map_len);
    free(s->path);
    free(s->str);
    free(s->str_len);
    free(s->str_arena);
    free(s->types);
    free(s->roots);
    free(s->addr);
    free(s->size);
    free(s->big_size);
    free(s->refcnt);
    free(s->type);
    free(s->flags);
    free(s->preview);
    free(s->edge_start);
    free(s->edge_target);
    free(s->edge_label);
    free(s);
    *sp = NULL;
}

int phd_snapshot_preview(const struct phd_snapshot *s, uint32_t i, char *buf, size_t cap)
{
    if (!s->preview || i >= s->n_nodes || !s->preview[i])
        return -1;
    const unsigned char *p = s->map + s->preview[i], *end = s->map + s->map_len;
    uint64_t v;
    if (phd_varint_get(&p, end, &v) < 0) /* validated at load; cannot fail */
        return -1;
    const void *src = p;
    uint64_t l;
    char num[PHD_FLOAT_REPR_MAX];
    if (v & 1) {
        src = s->str[v >> 1];
        l = s->str_len[v >> 1];
    } else if (s->hdr.version < PHD_FORMAT_VERSION_NUMBERS) {
        l = v >> 1;
    } else if (!(v & 2)) {
        l = v >> 2;
    } else {
        uint64_t bits;
        if (v >> 2 == PHD_PREVIEW_FLOAT)
            bits = get_u64(p);
        else if (phd_varint_get(&p, end, &bits) < 0)
            return -1;
        else
            bits = (uint64_t)phd_unzigzag(bits);
        l = phd_number_text(v >> 2 == PHD_PREVIEW_FLOAT, bits, num);
        src = num;
    }
    if (l > cap)
        l = cap;
    memcpy(buf, src, l);
    return (int)l;
}

int phd_snapshot_preview_is_name(const struct phd_snapshot *s, uint32_t i)
{
    if (!s->preview || i >= s->n_nodes || !s->preview[i])
        return 0;
    const unsigned char *p = s->map + s->preview[i], *end = s->map + s->map_len;
    uint64_t v;
    return phd_varint_get(&p, end, &v) == 0 && (v & 1);
}

const char *phd_snapshot_type_name(const struct phd_snapshot *s, uint32_t type_id)
{
    if (!s->types || type_id >= s->n_types)
        return "?";
    return s->str[s->types[type_id].name];
}

const char *phd_root_kind_name(uint32_t kind)
{
    static const char *const names[] = {"?", "modules", "sys", "builtins", "interpreter", "thread", "frame"};
    return kind <= PHD_ROOT_KIND_MAX ? names[kind] : "?";
}

const char *phd_label_kind_name(uint32_t kind)
{
    static const char *const names[] = {"none", "index", "key", "value", "name", "weak", "type", "?"};
    return names[kind & 7];
}
