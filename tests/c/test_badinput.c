/*
 * test_badinput.c - the reader's defences (docs/format.md, "What a reader
 * must reject"): every case must fail with -1 and a message that names the
 * file and the problem, and must never crash or read out of bounds (this
 * test is also meant to be run under -fsanitize=address,undefined).
 *
 * A small valid snapshot is produced twice - by the phd_writer_* API and by
 * a byte-level builder in this file - and the two must be identical; the
 * builder then makes the corrupt variants.  Structural corruptions get their
 * CRC recomputed (t_patch_crc) so that they reach the structural checks
 * instead of stopping at the checksum.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyheapdiff/format.h"
#include "testutil.h"

/* ---- a byte buffer ------------------------------------------------------ */

struct img {
    unsigned char *b;
    size_t len, cap;
};

static void img_put(struct img *m, const void *p, size_t n)
{
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + n)
            cap *= 2;
        unsigned char *nb = realloc(m->b, cap);
        if (!nb) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        m->b = nb;
        m->cap = cap;
    }
    if (n)
        memcpy(m->b + m->len, p, n);
    m->len += n;
}

static void img_byte(struct img *m, unsigned v)
{
    unsigned char c = (unsigned char)v;
    img_put(m, &c, 1);
}

static void img_varint(struct img *m, uint64_t v)
{
    unsigned char b[10];
    img_put(m, b, (size_t)(phd_varint_put(b, v) - b));
}

static void img_u32(struct img *m, uint32_t v)
{
    unsigned char b[4];
    t_put_u32(b, v);
    img_put(m, b, 4);
}

static void img_u64(struct img *m, uint64_t v)
{
    unsigned char b[8];
    t_put_u64(b, v);
    img_put(m, b, 8);
}

static void img_free(struct img *m)
{
    free(m->b);
    memset(m, 0, sizeof *m);
}

/* ---- the small snapshot ------------------------------------------------- */

static const struct phd_header std_hdr = {
    .version = 1,
    .pointer_size = 8,
    .addr_shift = 3,
    .py_major = 3,
    .py_minor = 12,
    .py_micro = 1,
    .flags = PHD_HDR_VALUES,
    .pid = 4242,
    .start_time_ns = 1700000000000000000ull,
    .timestamp_ns = 1700000001000000000ull,
};

/* The parts of a snapshot, each a chunk payload, plus the footer counts. */
struct parts {
    uint16_t version, header_size;
    uint8_t pointer_size, addr_shift;
    struct img strings, types, nodes, roots;
    struct phd_footer f;
};

static void std_strings(struct img *p)
{
    img_varint(p, 3);
    img_put(p, "obj", 3);
    img_varint(p, 4);
    img_put(p, "attr", 4);
}

static void std_types(struct img *p)
{
    img_varint(p, 0);  /* T0: name "obj", */
    img_varint(p, 1);  /* type object node 0, */
    img_varint(p, 16); /* default size 16 */
    img_varint(p, 1);  /* T1: name "attr", */
    img_varint(p, 0);  /* no type object, */
    img_varint(p, 24); /* default size 24 */
}

/* Node record head fields. */
static void node_head(struct img *p, uint32_t type, unsigned flags, int64_t daddr)
{
    img_varint(p, ((uint64_t)type << 3) | flags);
    img_varint(p, phd_zigzag(daddr));
}

/* The images below are built in version 1's codes; test_valid builds the
 * standard image in the current version's as well, to compare it with the
 * writer's. */
static int edges_v2;

static void edge(struct img *p, uint64_t tcode, unsigned kind)
{
    /* version 2: 1 is an inline node, the others move up; version 3: the
     * back-reference d (version 1's d + 1) is 2d + 1 */
    if (edges_v2 && tcode == 1)
        tcode = 2;
    else if (edges_v2 && tcode >= 2)
        tcode = PHD_FORMAT_VERSION >= 3 ? 2 * (tcode - 1) + 1 : tcode + 1;
    img_varint(p, (tcode << 3) | kind);
}

/* Offsets of the node records in the standard NODES payload. */
static size_t std_node_off[5];

/*
 * Sibling coding at work: tcode 0 discovers, 1 takes the target of the same
 * edge of the previous node of the same type, t >= 2 is discovered - (t - 1);
 * label kind 7 copies the sibling edge's label.
 *
 * N0 (T0, addr 0x1000): KEY -> new 1, VALUE -> new 2 (key 1), TYPE -> 0
 * N1 (T1, size 100, addr 0x1010): NAME "attr" -> 0 (t 4), INDEX [4] -> 2 (t 2)
 * N2 (T1, inline preview "hi", addr 0x1008): sibling label NAME "attr" and
 *    sibling target 0; WEAK with the sibling's target 2
 * N3 (T0, preview string 0 "obj", addr 0x1040; a seed): NONE with the
 *    sibling's target 1; sibling label VALUE (key 1) and target 2; sibling
 *    label TYPE -> 0
 */
static void std_nodes_x(struct img *p, int n2_extra);
static void std_nodes(struct img *p)
{
    std_nodes_x(p, -1);
}

/* n2_extra >= 0: N2 gets a third edge with this head byte. */
static void std_nodes_x(struct img *p, int n2_extra)
{
    std_node_off[0] = p->len;
    node_head(p, 0, 0, 0x1000 >> 3);
    img_varint(p, 1); /* refcount */
    img_varint(p, 3); /* nedges */
    edge(p, 0, PHD_LABEL_KEY);   /* +5 */
    edge(p, 0, PHD_LABEL_VALUE); /* +6 */
    edge(p, 0, PHD_LABEL_TYPE);  /* +7 */
    std_node_off[1] = p->len;
    node_head(p, 1, PHD_NODE_SIZE, 0x1010 >> 3); /* first T1: delta from 0 */
    img_varint(p, 100); /* size */
    img_varint(p, 2);   /* refcount */
    img_varint(p, 2);
    edge(p, 4, PHD_LABEL_NAME); /* +6: discovered 3 - (4 - 1) = node 0 */
    img_varint(p, 1);           /* +7 */
    edge(p, 2, PHD_LABEL_INDEX); /* +8: node 2 */
    img_varint(p, 4);            /* +9 */
    std_node_off[2] = p->len;
    node_head(p, 1, PHD_NODE_PREVIEW | PHD_NODE_GC_TRACKED, -1);
    img_varint(p, 3);
    img_varint(p, 2 << (edges_v2 ? 2 : 1)); /* inline preview of 2 bytes (version 4: length << 2) */
    img_put(p, "hi", 2);
    img_varint(p, n2_extra >= 0 ? 3 : 2);
    edge(p, 1, PHD_LABEL_SIBLING); /* +7 */
    edge(p, 1, PHD_LABEL_WEAK);    /* +8 */
    if (n2_extra >= 0)
        img_byte(p, (unsigned)n2_extra);
    std_node_off[3] = p->len;
    node_head(p, 0, PHD_NODE_PREVIEW, 8); /* 0x1040 >> 3 = 0x208, T0's sibling at 0x200 */
    img_varint(p, 4);
    img_varint(p, (0 << 1) | 1); /* preview: string 0 */
    img_varint(p, 3);
    edge(p, 1, PHD_LABEL_NONE);    /* +5 */
    edge(p, 1, PHD_LABEL_SIBLING); /* +6 */
    edge(p, 0, PHD_LABEL_SIBLING); /* +7 */
    std_node_off[4] = p->len;
}

static void std_roots(struct img *p)
{
    img_varint(p, PHD_ROOT_MODULES);
    img_varint(p, 0);
    img_varint(p, 0);
    img_varint(p, 0);
    img_varint(p, PHD_ROOT_FRAME);
    img_varint(p, 2);
    img_varint(p, 77);
    img_varint(p, 2); /* "attr" */
}

static const struct phd_footer std_footer = {
    .nodes = 4, .edges = 10, .total_size = 16 + 100 + 24 + 16, .strings = 2, .types = 2, .roots = 2,
};

static void parts_init(struct parts *d)
{
    memset(d, 0, sizeof *d);
    d->version = 1;
    d->header_size = PHD_HEADER_SIZE;
    d->pointer_size = 8;
    d->addr_shift = 3;
    std_strings(&d->strings);
    std_types(&d->types);
    std_nodes(&d->nodes);
    std_roots(&d->roots);
    d->f = std_footer;
}

static void parts_free(struct parts *d)
{
    img_free(&d->strings);
    img_free(&d->types);
    img_free(&d->nodes);
    img_free(&d->roots);
}

static void put_header(struct img *m, const struct parts *d)
{
    unsigned char b[PHD_HEADER_SIZE];
    memset(b, 0, sizeof b);
    memcpy(b, PHD_MAGIC, 8);
    t_put_u16(b + 8, d->version);
    t_put_u16(b + 10, d->header_size);
    b[12] = d->pointer_size;
    b[13] = d->addr_shift;
    b[14] = std_hdr.py_major;
    b[15] = std_hdr.py_minor;
    b[16] = std_hdr.py_micro;
    t_put_u32(b + 20, std_hdr.flags);
    t_put_u64(b + 24, std_hdr.pid);
    t_put_u64(b + 32, std_hdr.start_time_ns);
    t_put_u64(b + 40, std_hdr.timestamp_ns);
    img_put(m, b, sizeof b);
    /* a larger header (a later version) is padded with zeros */
    for (size_t k = PHD_HEADER_SIZE; k < d->header_size; k++)
        img_byte(m, 0);
}

static void put_chunk_raw(struct img *m, uint32_t kind, uint32_t flags, uint64_t len, const void *p, size_t n)
{
    img_u32(m, kind);
    img_u32(m, flags);
    img_u64(m, len);
    img_put(m, p, n);
}

static void put_chunk(struct img *m, uint32_t kind, const struct img *payload)
{
    if (payload->len)
        put_chunk_raw(m, kind, 0, payload->len, payload->b, payload->len);
}

/* Appends the footer chunk with a correct CRC. */
static void put_footer(struct img *m, const struct phd_footer *f)
{
    img_u32(m, PHD_CHUNK_FOOTER);
    img_u32(m, 0);
    img_u64(m, PHD_FOOTER_PAYLOAD);
    img_u64(m, f->nodes);
    img_u64(m, f->edges);
    img_u64(m, f->total_size);
    img_u32(m, f->strings);
    img_u32(m, f->types);
    img_u32(m, f->roots);
    img_u32(m, 0);
    img_put(m, PHD_END_MAGIC, 8);
    t_patch_crc(m->b, m->len);
}

/* header, STRINGS, TYPES, NODES, ROOTS, footer */
static void build(struct img *m, const struct parts *d)
{
    m->len = 0;
    put_header(m, d);
    put_chunk(m, PHD_CHUNK_STRINGS, &d->strings);
    put_chunk(m, PHD_CHUNK_TYPES, &d->types);
    put_chunk(m, PHD_CHUNK_NODES, &d->nodes);
    put_chunk(m, PHD_CHUNK_ROOTS, &d->roots);
    put_footer(m, &d->f);
}

/* One node through the writer API, edges through the library's encoder. */
struct wedge {
    uint32_t target;
    int is_new;
    unsigned kind;
    uint64_t payload;
};

static void write_std_node(struct phd_writer *w, struct phd_encoder *enc, uint64_t *discovered,
                           const struct phd_node_out *n, const struct wedge *ed)
{
    unsigned char buf[8 * PHD_EDGE_MAX], *p = buf;
    phd_encoder_begin(enc, n->type);
    for (uint32_t k = 0; k < n->nedges; k++) {
        p = phd_encoder_edge(enc, p, *discovered, ed[k].target, ed[k].is_new, ed[k].kind, ed[k].payload);
        *discovered += ed[k].is_new != 0;
    }
    struct phd_node_out rec = *n;
    rec.edges = buf;
    rec.edges_len = (size_t)(p - buf);
    phd_writer_node(w, phd_encoder_addr(enc, n->type), 3, &rec);
    phd_encoder_end(enc);
}

/* The same snapshot through the writer API; with dup_addr, N3 at N1's
 * address (of another type). */
static int write_std(const char *path_tag, char *path, int dup_addr)
{
    int fd = t_mkstemp(path, path_tag);
    if (fd < 0)
        return -1;
    struct phd_writer w;
    struct phd_encoder enc;
    if (phd_writer_init(&w, fd, 4096) != 0 || phd_encoder_init(&enc) != 0)
        return -1;
    phd_writer_header(&w, &std_hdr);
    phd_writer_chunk_begin(&w, PHD_CHUNK_STRINGS);
    phd_writer_string(&w, "obj", 3);
    phd_writer_string(&w, "attr", 4);
    phd_writer_chunk_begin(&w, PHD_CHUNK_TYPES);
    phd_writer_type(&w, 0, 0, 16);
    phd_writer_type(&w, 1, UINT32_MAX, 24);
    phd_writer_chunk_begin(&w, PHD_CHUNK_NODES);
    uint64_t discovered = 1; /* N0 is a seed */
    static const struct wedge e0[] = {
        {1, 1, PHD_LABEL_KEY, 0}, {2, 1, PHD_LABEL_VALUE, 1}, {0, 0, PHD_LABEL_TYPE, 0}};
    struct phd_node_out n0 = {.type = 0, .flags = 0, .addr = 0x1000, .size = 16, .refcnt = 1,
                              .preview_sid = UINT32_MAX, .nedges = 3};
    write_std_node(&w, &enc, &discovered, &n0, e0);
    static const struct wedge e1[] = {{0, 0, PHD_LABEL_NAME, 1}, {2, 0, PHD_LABEL_INDEX, 4}};
    struct phd_node_out n1 = {.type = 1, .flags = PHD_NODE_SIZE, .addr = 0x1010, .size = 100, .refcnt = 2,
                              .preview_sid = UINT32_MAX, .nedges = 2};
    write_std_node(&w, &enc, &discovered, &n1, e1);
    static const struct wedge e2[] = {{0, 0, PHD_LABEL_NAME, 1}, {2, 0, PHD_LABEL_WEAK, 0}};
    struct phd_node_out n2 = {.type = 1, .flags = PHD_NODE_PREVIEW | PHD_NODE_GC_TRACKED, .addr = 0x1008,
                              .size = 24, .refcnt = 3, .preview = "hi", .preview_len = 2,
                              .preview_sid = UINT32_MAX, .nedges = 2};
    write_std_node(&w, &enc, &discovered, &n2, e2);
    discovered++; /* N3 is a seed */
    static const struct wedge e3[] = {
        {1, 0, PHD_LABEL_NONE, 0}, {2, 0, PHD_LABEL_VALUE, 1}, {0, 0, PHD_LABEL_TYPE, 0}};
    struct phd_node_out n3 = {.type = 0, .flags = PHD_NODE_PREVIEW, .addr = dup_addr ? 0x1010 : 0x1040,
                              .size = 16, .refcnt = 4, .preview_sid = 0, .nedges = 3};
    write_std_node(&w, &enc, &discovered, &n3, e3);
    phd_writer_chunk_begin(&w, PHD_CHUNK_ROOTS);
    phd_writer_root(&w, PHD_ROOT_MODULES, 0, 0, UINT32_MAX);
    phd_writer_root(&w, PHD_ROOT_FRAME, 2, 77, 1);
    int rc = phd_writer_finish(&w, &std_footer);
    phd_writer_release(&w);
    phd_encoder_release(&enc);
    close(fd);
    return rc ? -1 : 0;
}

/* ---- expectations ------------------------------------------------------- */

static unsigned long n_cases;

/* Parses an exact-size heap copy (a sanitizer sees any overread). */
static int parse_copy(const unsigned char *b, size_t len, const char *name, struct phd_error *err,
                      unsigned flags)
{
    unsigned char *c = malloc(len ? len : 1);
    if (len)
        memcpy(c, b, len);
    struct phd_snapshot *s = NULL;
    int rc = phd_snapshot_parse(&s, name, c, len, flags, err);
    if (rc == 0 && !s)
        rc = -2;
    phd_snapshot_free(&s);
    free(c);
    return rc;
}

/* Writes the bytes to a temporary file, opens it with phd_snapshot_open(),
 * expects -1 and a message naming the file and containing phrase; also the
 * in-memory parse must fail the same way. */
static void expect_fail_flags(const char *what, const unsigned char *b, size_t len, const char *phrase,
                              unsigned flags, int line)
{
    n_cases++;
    char path[256];
    if (t_write_tmp(path, "bad", b, len) != 0) {
        t_fail(__FILE__, line, what, "cannot write the temporary file");
        return;
    }
    struct phd_error err;
    strcpy(err.msg, "(no message)");
    struct phd_snapshot *s = NULL;
    int rc = phd_snapshot_open(&s, path, flags, &err);
    CHECKF(rc == -1 && s == NULL, "line %d, %s: open returned %d, expected -1", line, what, rc);
    CHECKF(strstr(err.msg, path) != NULL, "line %d, %s: message does not name the file: %s", line, what,
           err.msg);
    CHECKF(strstr(err.msg, phrase) != NULL, "line %d, %s: message lacks \"%s\": %s", line, what, phrase,
           err.msg);
    phd_snapshot_free(&s);
    unlink(path);

    strcpy(err.msg, "(no message)");
    rc = parse_copy(b, len, "memory.phd", &err, flags);
    CHECKF(rc == -1, "line %d, %s: parse returned %d", line, what, rc);
    CHECKF(strstr(err.msg, "memory.phd") != NULL && strstr(err.msg, phrase) != NULL,
           "line %d, %s: parse message: %s", line, what, err.msg);
}

#define EXPECT_FAIL(what, m, phrase) expect_fail_flags((what), (m)->b, (m)->len, (phrase), 0, __LINE__)

static void expect_load(const char *what, const unsigned char *b, size_t len, int line)
{
    n_cases++;
    struct phd_error err;
    strcpy(err.msg, "(no message)");
    struct phd_snapshot *s = NULL;
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    int rc = phd_snapshot_parse(&s, "memory.phd", c, len, 0, &err);
    CHECKF(rc == 0, "line %d, %s: failed to load: %s", line, what, err.msg);
    if (rc == 0) {
        CHECKF(s->n_nodes == 4 && s->n_edges == 10 && s->n_strings == 2 && s->n_types == 2 && s->n_roots == 2,
               "line %d, %s: wrong counts", line, what);
        CHECKF(s->total_size == 156 && s->edge_target[3] == 0 && s->edge_label[4] == PHD_LABEL_MAKE(PHD_LABEL_INDEX, 4) &&
                   s->edge_target[8] == 2 && s->edge_label[8] == PHD_LABEL_MAKE(PHD_LABEL_VALUE, 1),
               "line %d, %s: wrong contents", line, what);
    }
    phd_snapshot_free(&s);
    free(c);
}

#define EXPECT_LOAD(what, m) expect_load((what), (m)->b, (m)->len, __LINE__)

/* ---- the tests ---------------------------------------------------------- */

/* The builder, the writer and the reader agree on the small snapshot. */
static void test_valid(struct img *good)
{
    struct parts d;
    parts_init(&d);
    build(good, &d);
    parts_free(&d);
    /* the writer writes the current version: the same image in its codes */
    struct img good2 = {0};
    edges_v2 = 1;
    parts_init(&d);
    d.version = PHD_FORMAT_VERSION;
    build(&good2, &d);
    edges_v2 = 0;
    parts_free(&d);

    char path[256];
    CHECK(write_std("std", path, 0) == 0);
    size_t wlen = 0;
    unsigned char *w = t_read_file(path, &wlen);
    CHECK(w != NULL);
    CHECKF(w && wlen == good2.len && memcmp(w, good2.b, wlen) == 0,
           "writer output (%zu bytes) differs from the builder's (%zu bytes)", wlen, good2.len);
    free(w);
    img_free(&good2);

    struct phd_error err;
    struct phd_snapshot *s = NULL;
    int rc = phd_snapshot_open(&s, path, 0, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc == 0) {
        static const uint32_t targets[] = {1, 2, 0, 0, 2, 0, 2, 1, 2, 0};
        static const uint32_t labels[] = {
            PHD_LABEL_MAKE(PHD_LABEL_KEY, 0),  PHD_LABEL_MAKE(PHD_LABEL_VALUE, 1),
            PHD_LABEL_MAKE(PHD_LABEL_TYPE, 0), PHD_LABEL_MAKE(PHD_LABEL_NAME, 1),
            PHD_LABEL_MAKE(PHD_LABEL_INDEX, 4), PHD_LABEL_MAKE(PHD_LABEL_NAME, 1),
            PHD_LABEL_MAKE(PHD_LABEL_WEAK, 0), PHD_LABEL_MAKE(PHD_LABEL_NONE, 0),
            PHD_LABEL_MAKE(PHD_LABEL_VALUE, 1), PHD_LABEL_MAKE(PHD_LABEL_TYPE, 0),
        };
        CHECK(s->n_nodes == 4 && s->n_edges == 10 && s->total_size == 156);
        for (int e = 0; e < 10; e++)
            CHECKF(s->edge_target[e] == targets[e] && s->edge_label[e] == labels[e], "edge %d: %u %#x", e,
                   s->edge_target[e], s->edge_label[e]);
        CHECK(s->addr[0] == 0x1000 && s->addr[1] == 0x1010 && s->addr[2] == 0x1008 && s->addr[3] == 0x1040);
        CHECK(s->size[0] == 16 && s->size[1] == 100 && s->size[2] == 24 && s->size[3] == 16);
        CHECK(s->refcnt[0] == 1 && s->refcnt[3] == 4);
        CHECK(s->type[0] == 0 && s->type[1] == 1 && s->type[2] == 1 && s->type[3] == 0);
        CHECK(s->flags[2] == (PHD_NODE_PREVIEW | PHD_NODE_GC_TRACKED) && s->flags[3] == PHD_NODE_PREVIEW);
        CHECK(s->edge_start[0] == 0 && s->edge_start[1] == 3 && s->edge_start[2] == 5 && s->edge_start[3] == 7 &&
              s->edge_start[4] == 10);
        char pv[8];
        CHECK(phd_snapshot_preview(s, 0, pv, sizeof pv) == -1);
        CHECK(phd_snapshot_preview(s, 2, pv, sizeof pv) == 2 && memcmp(pv, "hi", 2) == 0);
        CHECK(phd_snapshot_preview(s, 3, pv, sizeof pv) == 3 && memcmp(pv, "obj", 3) == 0);
        CHECK(phd_snapshot_preview(s, 3, pv, 2) == 2 && memcmp(pv, "ob", 2) == 0);
        CHECK(s->types[0].node == 0 && s->types[1].node == UINT32_MAX);
        CHECK(s->roots[1].kind == PHD_ROOT_FRAME && s->roots[1].node == 2 && s->roots[1].thread_id == 77 &&
              s->roots[1].name == 1);
        CHECK(s->roots[0].name == UINT32_MAX);
        CHECK(s->hdr.version == PHD_FORMAT_VERSION && s->hdr.pointer_size == 8 && s->hdr.addr_shift == 3 && s->hdr.py_major == 3 &&
              s->hdr.py_minor == 12 && s->hdr.py_micro == 1 && s->hdr.flags == PHD_HDR_VALUES &&
              s->hdr.pid == 4242 && s->hdr.start_time_ns == std_hdr.start_time_ns &&
              s->hdr.timestamp_ns == std_hdr.timestamp_ns);
        phd_snapshot_free(&s);
    }
    unlink(path);
    EXPECT_LOAD("the builder's snapshot", good);
}

/* Two nodes at one address (issue 15: graph --id overflowed its array):
 * a corrupt snapshot, rejected with a message naming the file.  The same
 * bytes are tests/fuzz/regressions/dup-address.bin. */
static void test_duplicate_address(void)
{
    char path[256];
    CHECK(write_std("dup", path, 1) == 0);
    size_t len = 0;
    unsigned char *b = t_read_file(path, &len);
    unlink(path);
    CHECK(b != NULL);
    if (b)
        expect_fail_flags("two nodes at one address", b, len, "have the same address 0x1010", 0, __LINE__);
    free(b);
}

static void test_open_errors(void)
{
    struct phd_error err;
    struct phd_snapshot *s = NULL;
    const char *missing = "/nonexistent-dir-for-pyheapdiff-tests/x.phd";
    CHECK(phd_snapshot_open(&s, missing, 0, &err) == -1 && s == NULL);
    CHECK(strstr(err.msg, missing) && strstr(err.msg, "cannot open"));
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    CHECK(phd_snapshot_open(&s, dir, 0, &err) == -1 && s == NULL);
    CHECK(strstr(err.msg, dir) && strstr(err.msg, "not a regular file"));
}

static void test_header(const struct img *good)
{
    struct img m = {0};

    EXPECT_FAIL("empty file", &m, "empty file");

    img_put(&m, "hello", 5);
    EXPECT_FAIL("5-byte text file", &m, "wrong magic");
    m.len = 0;
    img_put(&m, "PYHDSNA", 7);
    EXPECT_FAIL("7 bytes of the magic", &m, "wrong magic");

    m.len = 0;
    img_put(&m, good->b, good->len);
    m.b[7] = 'Q';
    EXPECT_FAIL("wrong magic", &m, "wrong magic");
    m.b[7] = 'P';
    m.b[0] = 'p';
    EXPECT_FAIL("lower-case magic", &m, "wrong magic");

    struct parts d;
    parts_init(&d);
    d.version = PHD_FORMAT_VERSION + 1;
    build(&m, &d);
    _Static_assert(PHD_FORMAT_VERSION == 4, "the phrases below name the next version");
    EXPECT_FAIL("version 5", &m, "newer");
    EXPECT_FAIL("version 5", &m, "version 5");
    d.version = 0xffff;
    build(&m, &d);
    EXPECT_FAIL("version 65535", &m, "newer");
    d.version = 0;
    build(&m, &d);
    EXPECT_FAIL("version 0", &m, "version 0");
    d.version = 1;

    d.header_size = 63;
    build(&m, &d);
    t_put_u16(m.b + 10, 63); /* the builder wrote 64 header bytes */
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("header size 63", &m, "header size 63");
    t_put_u16(m.b + 10, 0);
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("header size 0", &m, "header size 0");
    t_put_u16(m.b + 10, (uint16_t)(m.len + 1));
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("header size past the end", &m, "header size");
    t_put_u16(m.b + 10, (uint16_t)(m.len - PHD_FOOTER_SIZE + 1));
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("header overlapping the footer", &m, "no room for the footer");
    d.header_size = 64;

    /* a later version may grow the header: chunks start at header_size */
    d.header_size = 80;
    build(&m, &d);
    EXPECT_LOAD("80-byte header", &m);
    d.header_size = 64;

    d.pointer_size = 5;
    build(&m, &d);
    EXPECT_FAIL("pointer size 5", &m, "pointer size 5");
    d.pointer_size = 0;
    build(&m, &d);
    EXPECT_FAIL("pointer size 0", &m, "pointer size 0");
    d.pointer_size = 4;
    build(&m, &d);
    EXPECT_LOAD("pointer size 4", &m);
    d.pointer_size = 8;
    d.addr_shift = 5;
    build(&m, &d);
    EXPECT_FAIL("address shift 5", &m, "address shift 5");
    d.addr_shift = 3;

    /* too short for header and footer */
    m.len = 0;
    img_put(&m, good->b, PHD_HEADER_SIZE + 10);
    EXPECT_FAIL("header and 10 bytes", &m, "no room for the footer");
    m.len = 0;
    img_put(&m, good->b, 40);
    EXPECT_FAIL("40 bytes", &m, "shorter than the 64-byte header");

    /* footer damage (the footer is not covered by the CRC) */
    m.len = 0;
    img_put(&m, good->b, good->len);
    m.b[m.len - 1] = '?';
    EXPECT_FAIL("end magic", &m, "no footer");
    m.len = 0;
    img_put(&m, good->b, good->len);
    t_put_u32(m.b + m.len - PHD_FOOTER_SIZE, PHD_CHUNK_NODES);
    EXPECT_FAIL("footer kind", &m, "no footer");
    m.len = 0;
    img_put(&m, good->b, good->len);
    t_put_u64(m.b + m.len - PHD_FOOTER_SIZE + 8, 47);
    EXPECT_FAIL("footer length", &m, "no footer");
    m.len = 0;
    img_put(&m, good->b, good->len);
    m.b[m.len / 2] ^= 0x20;
    EXPECT_FAIL("one flipped bit", &m, "checksum mismatch");
    m.len = 0;
    img_put(&m, good->b, good->len);
    m.b[T_CRC_OFFSET(m.len)] ^= 1;
    EXPECT_FAIL("stored CRC", &m, "checksum mismatch");
    /* the header is covered by the CRC too */
    m.len = 0;
    img_put(&m, good->b, good->len);
    m.b[50] = 1; /* reserved */
    EXPECT_FAIL("reserved header byte", &m, "checksum mismatch");
    /* a snapshot appended to twice: the footer is not at the end */
    m.len = 0;
    img_put(&m, good->b, good->len);
    img_put(&m, "\n", 1);
    EXPECT_FAIL("trailing byte", &m, "no footer");

    parts_free(&d);
    img_free(&m);
}

/* Truncation at every length: each must fail cleanly. */
static void test_truncation(const struct img *good)
{
    struct phd_error err;
    unsigned long bad = 0;
    for (size_t len = 0; len < good->len; len++) {
        strcpy(err.msg, "(no message)");
        int rc = parse_copy(good->b, len, "cut.phd", &err, 0);
        const char *phrase = len == 0 ? "empty file" : len < 8 ? "wrong magic" : "truncated";
        int ok = rc == -1 && strstr(err.msg, "cut.phd") && strstr(err.msg, phrase);
        CHECKF(ok, "cut at %zu of %zu: rc %d: %s", len, good->len, rc, err.msg);
        bad += !ok;
        /* the header-only open must fail too */
        rc = parse_copy(good->b, len, "cut.phd", &err, PHD_OPEN_HEADER_ONLY);
        CHECKF(rc == -1, "header-only, cut at %zu: rc %d", len, rc);
    }
    /* and through files, at the interesting lengths */
    const size_t cuts[] = {0, 1, 7, 8, 63, 64, 127, 128, good->len - 64, good->len - 8, good->len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        size_t len = cuts[k];
        const char *phrase = len == 0 ? "empty file" : len < 8 ? "wrong magic" : "truncated";
        char what[64];
        snprintf(what, sizeof what, "cut at %zu", len);
        expect_fail_flags(what, good->b, len, phrase, 0, __LINE__);
    }
    printf("truncation: %zu lengths, %lu accepted or misreported\n", good->len, bad);
}

/* Every value of every byte: each must fail (checksum or structure). */
static void test_flips(const struct img *good)
{
    struct phd_error err;
    unsigned char *c = malloc(good->len);
    size_t foot = good->len - PHD_FOOTER_SIZE;
    unsigned long accepted = 0, tried = 0;
    for (size_t off = 0; off < good->len; off++) {
        /* The footer's chunk flags (foot + 4 .. foot + 7): test_regressions.c
         * covers these four bytes. */
        if (off >= foot + 4 && off < foot + 8)
            continue;
        for (unsigned x = 1; x < 256; x++) {
            memcpy(c, good->b, good->len);
            c[off] ^= (unsigned char)x;
            strcpy(err.msg, "(no message)");
            struct phd_snapshot *s = NULL;
            int rc = phd_snapshot_parse(&s, "flip.phd", c, good->len, 0, &err);
            tried++;
            int ok = rc == -1 && s == NULL && strstr(err.msg, "flip.phd") != NULL;
            /* past the header checks, any change before the footer is a CRC mismatch */
            if (off >= PHD_HEADER_SIZE && off < foot)
                ok = ok && strstr(err.msg, "checksum mismatch") != NULL;
            CHECKF(ok, "byte %zu ^ %#x: rc %d: %s", off, x, rc, err.msg);
            accepted += !ok;
            phd_snapshot_free(&s);
        }
    }
    free(c);
    printf("flips: %lu variants, %lu accepted or misreported\n", tried, accepted);
}

/* Corruptions behind a valid CRC, one check of the reader each. */
static void test_structure(const struct img *good)
{
    struct img m = {0};
    struct parts d;

    /* ---- footer counts ---- */
    parts_init(&d);
    d.f.nodes = 1ull << 40;
    build(&m, &d);
    EXPECT_FAIL("nodes = 2^40", &m, "footer counts too large");
    expect_fail_flags("nodes = 2^40, header only", m.b, m.len, "footer counts too large", PHD_OPEN_HEADER_ONLY,
                      __LINE__);
    d.f.nodes = PHD_MAX_NODES + 1ull;
    build(&m, &d);
    EXPECT_FAIL("nodes = 2^29", &m, "footer counts too large");
    d.f.nodes = m.len / 4 + 1;
    build(&m, &d);
    EXPECT_FAIL("nodes = len/4 + 1", &m, "footer counts too large");
    d.f.nodes = std_footer.nodes;
    d.f.edges = m.len + 1;
    build(&m, &d);
    EXPECT_FAIL("edges = len + 1", &m, "footer counts too large");
    d.f.edges = UINT64_MAX;
    build(&m, &d);
    EXPECT_FAIL("edges = 2^64 - 1", &m, "footer counts too large");
    d.f.edges = std_footer.edges;
    d.f.strings = (uint32_t)m.len + 1;
    build(&m, &d);
    EXPECT_FAIL("strings = len + 1", &m, "footer counts too large");
    d.f.strings = UINT32_MAX;
    build(&m, &d);
    EXPECT_FAIL("strings = 2^32 - 1", &m, "footer counts too large");
    d.f.strings = 2;
    d.f.types = (uint32_t)(m.len / 3 + 1);
    build(&m, &d);
    EXPECT_FAIL("types = len/3 + 1", &m, "footer counts too large");
    d.f.types = UINT32_MAX;
    build(&m, &d);
    EXPECT_FAIL("types = 2^32 - 1", &m, "footer counts too large");
    d.f.types = 2;
    d.f.roots = (uint32_t)(m.len / 4 + 1);
    build(&m, &d);
    EXPECT_FAIL("roots = len/4 + 1", &m, "footer counts too large");
    d.f.roots = UINT32_MAX;
    build(&m, &d);
    EXPECT_FAIL("roots = 2^32 - 1", &m, "footer counts too large");
    /* at the limit: not too large, but not what the records say */
    d.f.roots = (uint32_t)(m.len / 4);
    build(&m, &d);
    EXPECT_FAIL("roots = len/4", &m, "roots, found 2");
    d.f.roots = 2;
    d.f.types = (uint32_t)(m.len / 3);
    build(&m, &d);
    EXPECT_FAIL("types = len/3", &m, "types, found 2");
    d.f.types = 2;
    d.f.nodes = m.len / 4;
    build(&m, &d);
    EXPECT_FAIL("nodes = len/4", &m, "nodes, found 4");

    /* counts that disagree with the records */
    d.f = std_footer;
    d.f.nodes = 5;
    build(&m, &d);
    EXPECT_FAIL("footer says 5 nodes", &m, "footer says 5 nodes, found 4");
    d.f.nodes = 3;
    build(&m, &d);
    EXPECT_FAIL("footer says 3 nodes", &m, "more nodes than the footer's 3");
    d.f.nodes = 2;
    build(&m, &d);
    EXPECT_FAIL("footer says 2 nodes", &m, "discovers node 2 of 2");
    d.f = std_footer;
    d.f.edges = 11;
    build(&m, &d);
    EXPECT_FAIL("footer says 11 edges", &m, "footer says 11 edges, found 10");
    d.f.edges = 9;
    build(&m, &d);
    EXPECT_FAIL("footer says 9 edges", &m, "node 3 has 3 edges, more than the footer allows");
    d.f.edges = 0;
    build(&m, &d);
    EXPECT_FAIL("footer says 0 edges", &m, "more than the footer allows");
    d.f = std_footer;
    d.f.total_size = 157;
    build(&m, &d);
    EXPECT_FAIL("total size 157", &m, "sizes add up to 156, footer says 157");
    d.f.total_size = 0;
    build(&m, &d);
    EXPECT_FAIL("total size 0", &m, "sizes add up to 156");
    d.f = std_footer;
    d.f.strings = 3;
    build(&m, &d);
    EXPECT_FAIL("footer says 3 strings", &m, "footer says 3 strings, found 2");
    d.f.strings = 1;
    build(&m, &d);
    EXPECT_FAIL("footer says 1 string", &m, "more strings than the footer's 1");
    d.f = std_footer;
    d.f.types = 3;
    build(&m, &d);
    EXPECT_FAIL("footer says 3 types", &m, "footer says 3 types, found 2");
    d.f.types = 1;
    build(&m, &d);
    EXPECT_FAIL("footer says 1 type", &m, "more types than the footer's 1");
    d.f = std_footer;
    d.f.roots = 3;
    build(&m, &d);
    EXPECT_FAIL("footer says 3 roots", &m, "footer says 3 roots, found 2");
    d.f.roots = 1;
    build(&m, &d);
    EXPECT_FAIL("footer says 1 root", &m, "more roots than the footer's 1");
    d.f = std_footer;

    /* more node records than the footer: three seeds, footer says 2 */
    img_free(&d.nodes);
    for (int i = 0; i < 3; i++) {
        node_head(&d.nodes, 1, 0, 1);
        img_varint(&d.nodes, 1);
        img_varint(&d.nodes, 0);
    }
    d.f = (struct phd_footer){.nodes = 2, .edges = 0, .total_size = 48, .strings = 2, .types = 2, .roots = 0};
    img_free(&d.roots);
    img_free(&d.types);
    img_varint(&d.types, 0);
    img_varint(&d.types, 0);
    img_varint(&d.types, 16);
    img_varint(&d.types, 1);
    img_varint(&d.types, 0);
    img_varint(&d.types, 24);
    build(&m, &d);
    EXPECT_FAIL("3 seed records, footer says 2 nodes", &m, "more nodes than the footer's 2");
    d.f.nodes = 3;
    d.f.total_size = 72;
    build(&m, &d);
    {
        struct phd_error err;
        CHECKF(parse_copy(m.b, m.len, "seeds.phd", &err, 0) == 0, "3 seeds: %s", err.msg);
    }
    parts_free(&d);

    /* ---- chunks ---- */
    /* non-zero flags on a chunk: patch the first chunk header of the good file */
    m.len = 0;
    img_put(&m, good->b, good->len);
    CHECK(t_get_u32(m.b + PHD_HEADER_SIZE) == PHD_CHUNK_STRINGS);
    t_put_u32(m.b + PHD_HEADER_SIZE + 4, 1);
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("chunk flags 1", &m, "chunk flags 00000001");
    t_put_u32(m.b + PHD_HEADER_SIZE + 4, 0x80000000u);
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("chunk flags 0x80000000", &m, "chunk flags 80000000");

    /* chunk length past the end */
    m.len = 0;
    img_put(&m, good->b, good->len);
    uint64_t l0 = t_get_u64(m.b + PHD_HEADER_SIZE + 8);
    size_t data_end = m.len - PHD_FOOTER_SIZE;
    t_put_u64(m.b + PHD_HEADER_SIZE + 8, data_end - PHD_HEADER_SIZE - PHD_CHUNK_HEADER_SIZE + 1);
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("chunk length one past the data", &m, "past the end of the data");
    t_put_u64(m.b + PHD_HEADER_SIZE + 8, UINT64_MAX);
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("chunk length 2^64 - 1", &m, "past the end of the data");
    t_put_u64(m.b + PHD_HEADER_SIZE + 8, UINT64_MAX - PHD_CHUNK_HEADER_SIZE + 1);
    t_patch_crc(m.b, m.len);
    EXPECT_FAIL("chunk length wrapping the offset", &m, "past the end of the data");
    /* a chunk that swallows the rest exactly: the strings chunk then holds
     * types, nodes and roots as strings, which must fail somewhere */
    t_put_u64(m.b + PHD_HEADER_SIZE + 8, data_end - PHD_HEADER_SIZE - PHD_CHUNK_HEADER_SIZE);
    t_patch_crc(m.b, m.len);
    expect_fail_flags("strings chunk covering all data", m.b, m.len, "corrupt", 0, __LINE__);
    t_put_u64(m.b + PHD_HEADER_SIZE + 8, l0);

    /* a chunk header cut short before the footer */
    parts_init(&d);
    build(&m, &d);
    m.len -= PHD_FOOTER_SIZE;
    img_put(&m, "\x02\0\0\0\0\0\0\0", 8);
    put_footer(&m, &d.f);
    EXPECT_FAIL("8 stray bytes before the footer", &m, "chunk header cut short");
    m.len -= PHD_FOOTER_SIZE + 8;
    img_put(&m, "\x02\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
    put_footer(&m, &d.f);
    EXPECT_FAIL("15 stray bytes before the footer", &m, "chunk header cut short");

    /* a second footer in the middle */
    m.len = 0;
    put_header(&m, &d);
    put_chunk(&m, PHD_CHUNK_STRINGS, &d.strings);
    put_chunk(&m, PHD_CHUNK_TYPES, &d.types);
    put_footer(&m, &d.f); /* a complete footer, CRC and all */
    put_chunk(&m, PHD_CHUNK_NODES, &d.nodes);
    put_chunk(&m, PHD_CHUNK_ROOTS, &d.roots);
    put_footer(&m, &d.f);
    EXPECT_FAIL("a second footer in the middle", &m, "footer before the end");

    /* unknown chunk kinds are skipped */
    static const uint32_t unknown[] = {0, 6, 7, 99, 0x7ffffffe, 0x80000000u, 0xffffffffu};
    for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++) {
        m.len = 0;
        put_header(&m, &d);
        put_chunk_raw(&m, unknown[k], 0, 5, "\xff\xff\xff\xff\xff", 5); /* garbage payload */
        put_chunk(&m, PHD_CHUNK_STRINGS, &d.strings);
        put_chunk(&m, PHD_CHUNK_TYPES, &d.types);
        put_chunk_raw(&m, unknown[k], 0, 0, "", 0); /* an empty one */
        put_chunk(&m, PHD_CHUNK_NODES, &d.nodes);
        put_chunk_raw(&m, unknown[k], 0, 3, "\x80\x80\x80", 3);
        put_chunk(&m, PHD_CHUNK_ROOTS, &d.roots);
        put_chunk_raw(&m, unknown[k], 0, 1, "\x01", 1);
        put_footer(&m, &d.f);
        char what[64];
        snprintf(what, sizeof what, "unknown chunk kind %#x", unknown[k]);
        EXPECT_LOAD(what, &m);
        /* ...but their flags must still be zero */
        t_put_u32(m.b + PHD_HEADER_SIZE + 4, 2);
        t_patch_crc(m.b, m.len);
        EXPECT_FAIL("unknown chunk with flags", &m, "chunk flags 00000002");
    }

    /* TYPE_ORIGINS (kind 5) is optional, but when present it holds one
     * known origin per type */
    {
        unsigned char origins[64];
        uint32_t nt = d.f.types;
        for (uint32_t t = 0; t < nt && t < sizeof origins; t++)
            origins[t] = (unsigned char)(1 + t % (PHD_ORIGIN_COUNT - 1));
        for (int variant = 0; variant < 3; variant++) {
            m.len = 0;
            put_header(&m, &d);
            put_chunk(&m, PHD_CHUNK_STRINGS, &d.strings);
            put_chunk(&m, PHD_CHUNK_TYPES, &d.types);
            if (variant == 0) /* one per type: fine */
                put_chunk_raw(&m, PHD_CHUNK_TYPE_ORIGINS, 0, nt, origins, nt);
            else if (variant == 1) /* one too few */
                put_chunk_raw(&m, PHD_CHUNK_TYPE_ORIGINS, 0, nt - 1, origins, nt - 1);
            else { /* an origin out of range */
                origins[0] = PHD_ORIGIN_COUNT;
                put_chunk_raw(&m, PHD_CHUNK_TYPE_ORIGINS, 0, nt, origins, nt);
            }
            put_chunk(&m, PHD_CHUNK_NODES, &d.nodes);
            put_chunk(&m, PHD_CHUNK_ROOTS, &d.roots);
            put_footer(&m, &d.f);
            if (variant == 0)
                EXPECT_LOAD("type origins, one per type", &m);
            else if (variant == 1)
                EXPECT_FAIL("type origins, one too few", &m, "type origins");
            else
                EXPECT_FAIL("type origin out of range", &m, "has origin");
        }
    }

    /* sections in reverse order and empty known chunks: still fine */
    m.len = 0;
    put_header(&m, &d);
    put_chunk(&m, PHD_CHUNK_ROOTS, &d.roots);
    put_chunk_raw(&m, PHD_CHUNK_NODES, 0, 0, "", 0);
    put_chunk(&m, PHD_CHUNK_NODES, &d.nodes);
    put_chunk(&m, PHD_CHUNK_TYPES, &d.types);
    put_chunk_raw(&m, PHD_CHUNK_STRINGS, 0, 0, "", 0);
    put_chunk(&m, PHD_CHUNK_STRINGS, &d.strings);
    put_footer(&m, &d.f);
    EXPECT_LOAD("reverse section order", &m);

    /* sections split at record boundaries load; split inside a record (a
     * record straddling two chunks) must fail */
    {
        struct img *secs[4] = {&d.strings, &d.types, &d.nodes, &d.roots};
        const uint32_t kinds[4] = {PHD_CHUNK_STRINGS, PHD_CHUNK_TYPES, PHD_CHUNK_NODES, PHD_CHUNK_ROOTS};
        /* record boundaries of the standard payloads */
        const size_t str_b[] = {4}, type_b[] = {3}, root_b[] = {4};
        for (int sct = 0; sct < 4; sct++) {
            for (size_t cut = 1; cut < secs[sct]->len; cut++) {
                int boundary = 0;
                if (sct == 0)
                    boundary = cut == str_b[0];
                else if (sct == 1)
                    boundary = cut == type_b[0];
                else if (sct == 2)
                    boundary = cut == std_node_off[1] || cut == std_node_off[2] || cut == std_node_off[3];
                else
                    boundary = cut == root_b[0];
                m.len = 0;
                put_header(&m, &d);
                for (int o = 0; o < 4; o++) {
                    if (o != sct) {
                        put_chunk(&m, kinds[o], secs[o]);
                        continue;
                    }
                    put_chunk_raw(&m, kinds[o], 0, cut, secs[o]->b, cut);
                    put_chunk_raw(&m, kinds[o], 0, secs[o]->len - cut, secs[o]->b + cut, secs[o]->len - cut);
                }
                put_footer(&m, &d.f);
                char what[80];
                snprintf(what, sizeof what, "section %d split at %zu", sct, cut);
                if (boundary) {
                    EXPECT_LOAD(what, &m);
                } else {
                    struct phd_error err;
                    strcpy(err.msg, "(no message)");
                    int rc = parse_copy(m.b, m.len, "split.phd", &err, 0);
                    n_cases++;
                    CHECKF(rc == -1 && strstr(err.msg, "split.phd") && strstr(err.msg, "corrupt snapshot at byte"),
                           "%s: rc %d: %s", what, rc, err.msg);
                }
            }
        }
    }
    parts_free(&d);

    /* ---- strings ---- */
    parts_init(&d);
    img_free(&d.strings);
    img_varint(&d.strings, 3);
    img_put(&d.strings, "obj", 3);
    img_varint(&d.strings, 10);
    img_put(&d.strings, "attr", 4);
    build(&m, &d);
    EXPECT_FAIL("string length past its chunk", &m, "string of 10 bytes runs past its chunk");
    img_free(&d.strings);
    img_varint(&d.strings, 3);
    img_put(&d.strings, "obj", 3);
    img_varint(&d.strings, UINT64_MAX);
    img_put(&d.strings, "attr", 4);
    build(&m, &d);
    EXPECT_FAIL("string length 2^64 - 1", &m, "runs past its chunk");
    img_free(&d.strings);
    img_varint(&d.strings, 3);
    img_put(&d.strings, "obj", 3);
    img_put(&d.strings, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
    build(&m, &d);
    EXPECT_FAIL("string length of 11 bytes", &m, "string length: varint runs past its chunk or overflows");
    img_free(&d.strings);
    img_varint(&d.strings, 3);
    img_put(&d.strings, "obj", 3);
    img_byte(&d.strings, 0x84); /* length varint cut by the chunk end */
    build(&m, &d);
    EXPECT_FAIL("string length cut", &m, "string length: varint runs past");
    parts_free(&d);

    /* ---- types ---- */
    parts_init(&d);
    img_free(&d.types);
    img_varint(&d.types, 0);
    img_varint(&d.types, 1);
    img_varint(&d.types, 16);
    img_varint(&d.types, 2); /* string 2 of 2 */
    img_varint(&d.types, 0);
    img_varint(&d.types, 24);
    build(&m, &d);
    EXPECT_FAIL("type name out of range", &m, "type 1 names string 2 of 2");
    img_free(&d.types);
    img_varint(&d.types, 0);
    img_varint(&d.types, 5); /* node 4 of 4 */
    img_varint(&d.types, 16);
    img_varint(&d.types, 1);
    img_varint(&d.types, 0);
    img_varint(&d.types, 24);
    build(&m, &d);
    EXPECT_FAIL("type node out of range", &m, "type 0 refers to node 4 of 4");
    img_free(&d.types);
    img_varint(&d.types, 0);
    img_varint(&d.types, 1);
    img_varint(&d.types, 16);
    img_varint(&d.types, 1);
    img_varint(&d.types, 0); /* default size missing: record cut */
    build(&m, &d);
    EXPECT_FAIL("type record cut", &m, "type default size: varint runs past");
    img_free(&d.types);
    img_varint(&d.types, 0);
    img_varint(&d.types, 1);
    img_put(&d.types, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10); /* 2^64 and more */
    img_varint(&d.types, 1);
    img_varint(&d.types, 0);
    img_varint(&d.types, 24);
    build(&m, &d);
    EXPECT_FAIL("type default size over 64 bits", &m, "type default size: varint runs past its chunk or overflows");
    parts_free(&d);

    /* ---- roots ---- */
    parts_init(&d);
    static const struct {
        uint64_t kind, node, tid, name;
        const char *phrase;
    } bad_roots[] = {
        {0, 0, 0, 0, "root of unknown kind 0"},
        {7, 0, 0, 0, "root of unknown kind 7"},
        {UINT64_MAX, 0, 0, 0, "root of unknown kind"},
        {1, 4, 0, 0, "root refers to node 4 of 4"},
        {1, 1ull << 32, 0, 0, "root refers to node 4294967296 of 4"},
        {1, 0, 0, 3, "root names string 2 of 2"},
        {1, 0, 0, 1ull << 32, "root names string"},
    };
    for (size_t k = 0; k < sizeof bad_roots / sizeof bad_roots[0]; k++) {
        img_free(&d.roots);
        std_roots(&d.roots);
        img_varint(&d.roots, bad_roots[k].kind);
        img_varint(&d.roots, bad_roots[k].node);
        img_varint(&d.roots, bad_roots[k].tid);
        img_varint(&d.roots, bad_roots[k].name);
        d.f.roots = 3;
        build(&m, &d);
        EXPECT_FAIL(bad_roots[k].phrase, &m, bad_roots[k].phrase);
    }
    img_free(&d.roots);
    std_roots(&d.roots);
    img_varint(&d.roots, 1);
    img_varint(&d.roots, 0);
    img_varint(&d.roots, 0); /* name missing */
    build(&m, &d);
    EXPECT_FAIL("root record cut", &m, "root name: varint runs past");
    img_free(&d.roots);
    std_roots(&d.roots);
    img_put(&d.roots, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11);
    build(&m, &d);
    EXPECT_FAIL("root kind of 11 bytes", &m, "root kind: varint runs past its chunk or overflows");
    parts_free(&d);

    /* ---- nodes ---- */
    parts_init(&d);
#define NODES_CASE(what, phrase, ...)            \
    do {                                         \
        img_free(&d.nodes);                      \
        __VA_ARGS__;                             \
        build(&m, &d);                           \
        EXPECT_FAIL((what), &m, (phrase));       \
    } while (0)

    /* an out-of-range type id */
    NODES_CASE("type id 2 of 2", "node 0 has type 2 of 2", node_head(&d.nodes, 2, 0, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 0));
    NODES_CASE("type id 2^61", "node 0 has type", img_varint(&d.nodes, UINT64_MAX);
               img_varint(&d.nodes, 2); img_varint(&d.nodes, 1); img_varint(&d.nodes, 0));
    /* the third node with type 5 */
    img_free(&d.nodes);
    std_nodes(&d.nodes);
    d.nodes.b[std_node_off[2]] = (5 << 3) | PHD_NODE_PREVIEW | PHD_NODE_GC_TRACKED;
    build(&m, &d);
    EXPECT_FAIL("node 2 type 5", &m, "node 2 has type 5 of 2");

    /* a varint of 11 bytes as a refcount; a 10-byte one overflowing */
    NODES_CASE("refcount of 11 bytes", "node refcount: varint runs past its chunk or overflows",
               node_head(&d.nodes, 0, 0, 1);
               img_put(&d.nodes, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11); img_varint(&d.nodes, 0));
    NODES_CASE("refcount over 64 bits", "node refcount: varint runs past its chunk or overflows",
               node_head(&d.nodes, 0, 0, 1);
               img_put(&d.nodes, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10); img_varint(&d.nodes, 0));
    NODES_CASE("address of 11 bytes", "node address: varint runs past its chunk or overflows",
               img_varint(&d.nodes, 0);
               img_put(&d.nodes, "\x81\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11); img_varint(&d.nodes, 1);
               img_varint(&d.nodes, 0));
    NODES_CASE("edge head of 11 bytes", "edge: varint runs past its chunk or overflows",
               node_head(&d.nodes, 0, 0, 1); img_varint(&d.nodes, 1); img_varint(&d.nodes, 1);
               img_put(&d.nodes, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11));
    NODES_CASE("edge count cut", "edge count: varint runs past", node_head(&d.nodes, 0, 0, 1);
               img_varint(&d.nodes, 1); img_byte(&d.nodes, 0x80));
    NODES_CASE("size missing", "node refcount: varint runs past", node_head(&d.nodes, 0, PHD_NODE_SIZE, 1);
               img_varint(&d.nodes, 1));

    /* edge targets out of range (tcode t >= 2 is node discovered - (t - 1)) */
    NODES_CASE("edge before node 0", "node 0: edge target before node 0", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[0] + 5] = (3 << 3) | PHD_LABEL_KEY); /* discovered 1, 2 back */
    NODES_CASE("edge tcode 2^60", "node 0: edge target before node 0", node_head(&d.nodes, 0, 0, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 1); edge(&d.nodes, 1ull << 60, PHD_LABEL_NONE));
    NODES_CASE("edge discovers node 4 of 4", "node 3: edge discovers node 4 of 4", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[3] + 5] = PHD_LABEL_NONE); /* N3's first edge: tcode 0 */
    /* t - 1 == discovered is node 0: fine */
    img_free(&d.nodes);
    std_nodes(&d.nodes);
    d.nodes.b[std_node_off[2] + 8] = (4 << 3) | PHD_LABEL_WEAK;
    build(&m, &d);
    {
        struct phd_error err;
        struct phd_snapshot *s = NULL;
        CHECKF(phd_snapshot_parse(&s, "t4.phd", m.b, m.len, 0, &err) == 0, "tcode = discovered + 1: %s", err.msg);
        if (s)
            CHECK(s->edge_target[6] == 0 && s->edge_label[6] == PHD_LABEL_WEAK);
        phd_snapshot_free(&s);
    }

    /* sibling coding */
    NODES_CASE("SIBLING label without a sibling", "node 0: edge 0 copies a label its sibling lacks",
               std_nodes(&d.nodes); d.nodes.b[std_node_off[0] + 5] = PHD_LABEL_SIBLING);
    NODES_CASE("SIBLING label and tcode 1 without a sibling", "node 0: edge 2 copies a label its sibling lacks",
               std_nodes(&d.nodes); d.nodes.b[std_node_off[0] + 7] = (1 << 3) | PHD_LABEL_SIBLING);
    NODES_CASE("tcode 1 without a sibling", "node 0: edge 0 copies a target its sibling lacks",
               std_nodes(&d.nodes); d.nodes.b[std_node_off[0] + 5] = (1 << 3) | PHD_LABEL_KEY);
    NODES_CASE("SIBLING label past the sibling's edges", "node 2: edge 2 copies a label its sibling lacks",
               std_nodes_x(&d.nodes, (2 << 3) | PHD_LABEL_SIBLING));
    NODES_CASE("tcode 1 past the sibling's edges", "node 2: edge 2 copies a target its sibling lacks",
               std_nodes_x(&d.nodes, (1 << 3) | PHD_LABEL_NONE));
    NODES_CASE("copied TYPE label with tcode 1", "node 3: type edge without a type node", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[3] + 7] = (1 << 3) | PHD_LABEL_SIBLING);
    /* an explicit third edge on N2 is fine (back to node 1: t = 3) */
    img_free(&d.nodes);
    std_nodes_x(&d.nodes, (3 << 3) | PHD_LABEL_NONE);
    d.f.edges = 11;
    build(&m, &d);
    {
        struct phd_error err;
        struct phd_snapshot *s = NULL;
        CHECKF(phd_snapshot_parse(&s, "x.phd", m.b, m.len, 0, &err) == 0, "third edge: %s", err.msg);
        if (s)
            CHECK(s->edge_target[7] == 1 && s->edge_target[9] == 2);
        phd_snapshot_free(&s);
    }
    d.f = std_footer;

    /* label problems */
    NODES_CASE("VALUE first", "node 0: value edge without a key edge", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[0] + 5] = PHD_LABEL_VALUE);
    NODES_CASE("TYPE without a type node", "node 1: type edge without a type node", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[1] + 6] = PHD_LABEL_TYPE); /* N1 is a T1, which has no type node */
    NODES_CASE("TYPE with tcode 1", "node 0: type edge without a type node", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[0] + 7] = (1 << 3) | PHD_LABEL_TYPE);
    NODES_CASE("TYPE with tcode 2", "node 0: type edge without a type node", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[0] + 7] = (2 << 3) | PHD_LABEL_TYPE);
    NODES_CASE("NAME string 2 of 2", "node 1: label names string 2 of 2", std_nodes(&d.nodes);
               d.nodes.b[std_node_off[1] + 7] = 2);
    NODES_CASE("INDEX 2^29", "node 0: index label too large", node_head(&d.nodes, 0, 0, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 1); edge(&d.nodes, 2, PHD_LABEL_INDEX);
               img_varint(&d.nodes, 1u << 29));
    NODES_CASE("INDEX 2^29 by delta", "node 0: index label too large", node_head(&d.nodes, 0, 0, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 2); edge(&d.nodes, 2, PHD_LABEL_INDEX);
               img_varint(&d.nodes, (1u << 29) - 1); edge(&d.nodes, 2, PHD_LABEL_INDEX); img_varint(&d.nodes, 0));
    NODES_CASE("NAME payload cut", "name label: varint runs past", node_head(&d.nodes, 0, 0, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 1); edge(&d.nodes, 2, PHD_LABEL_NAME));
    NODES_CASE("INDEX payload cut", "index label: varint runs past", node_head(&d.nodes, 0, 0, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 1); edge(&d.nodes, 2, PHD_LABEL_INDEX));

    /* previews: (length << 1) and inline bytes, or (string id << 1) | 1 */
    NODES_CASE("preview of 81 bytes", "node 0 preview of 81 bytes", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 81 << 1); for (int k = 0; k < 81; k++) img_byte(&d.nodes, 'x');
               img_varint(&d.nodes, 0));
    NODES_CASE("preview past its chunk", "node 0 preview of 50 bytes", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 50 << 1); img_put(&d.nodes, "short", 5));
    NODES_CASE("preview length 2^63-1", "node 0 preview of 9223372036854775807 bytes",
               node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1); img_varint(&d.nodes, 1);
               img_varint(&d.nodes, UINT64_MAX - 1); img_put(&d.nodes, "short", 5));
    NODES_CASE("preview string 2 of 2", "node 0 preview names string 2 of 2",
               node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1); img_varint(&d.nodes, 1);
               img_varint(&d.nodes, (2 << 1) | 1); img_varint(&d.nodes, 0));
    NODES_CASE("preview string 2^63-1", "node 0 preview names string 9223372036854775807 of 2",
               node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1); img_varint(&d.nodes, 1);
               img_varint(&d.nodes, UINT64_MAX); img_varint(&d.nodes, 0));
    NODES_CASE("preview varint of 11 bytes", "preview: varint runs past its chunk or overflows",
               node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1); img_varint(&d.nodes, 1);
               img_put(&d.nodes, "\x81\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11); img_varint(&d.nodes, 0));

    /* version 4: (length << 2) before text, (kind << 2) | 2 before a number */
    d.version = PHD_FORMAT_VERSION_NUMBERS;
    NODES_CASE("v4 preview of 81 bytes", "node 0 preview of 81 bytes", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 81 << 2); for (int k = 0; k < 81; k++) img_byte(&d.nodes, 'x');
               img_varint(&d.nodes, 0));
    NODES_CASE("v4 preview of 0 bytes", "node 0 preview of 0 bytes", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 0); img_varint(&d.nodes, 0));
    NODES_CASE("number preview of kind 0", "node 0 preview of unknown kind 0", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, 2); img_varint(&d.nodes, 0));
    NODES_CASE("number preview of kind 3", "node 0 preview of unknown kind 3", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, (3 << 2) | 2); img_varint(&d.nodes, 0));
    NODES_CASE("float preview cut", "node 0 float preview runs past its chunk", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, (PHD_PREVIEW_FLOAT << 2) | 2); img_put(&d.nodes, "1234567", 7));
    NODES_CASE("int preview cut", "int preview: varint runs past its chunk", node_head(&d.nodes, 0, PHD_NODE_PREVIEW, 1);
               img_varint(&d.nodes, 1); img_varint(&d.nodes, (PHD_PREVIEW_INT << 2) | 2); img_byte(&d.nodes, 0x80));
    d.version = 1;

    /* edge count larger than the footer's edges */
    NODES_CASE("nedges 2^40", "node 0 has 1099511627776 edges, more than the footer allows",
               node_head(&d.nodes, 0, 0, 1); img_varint(&d.nodes, 1); img_varint(&d.nodes, 1ull << 40));
    parts_free(&d);
#undef NODES_CASE

    /* header-only opening checks header, footer and CRC but not records */
    parts_init(&d);
    img_free(&d.nodes);
    node_head(&d.nodes, 9, 0, 1);
    img_varint(&d.nodes, 1);
    img_varint(&d.nodes, 0);
    build(&m, &d);
    {
        struct phd_error err;
        CHECKF(parse_copy(m.b, m.len, "hdr-only.phd", &err, PHD_OPEN_HEADER_ONLY) == 0, "%s", err.msg);
        CHECK(parse_copy(m.b, m.len, "hdr-only.phd", &err, 0) == -1 && strstr(err.msg, "has type 9"));
    }
    parts_free(&d);

    img_free(&m);
}

/* A snapshot of the standard strings and types with the given NODES payload. */
static void nodes_image(struct img *m, const struct img *nodes, uint64_t n_nodes, uint64_t n_edges, uint64_t total)
{
    struct parts d;
    parts_init(&d);
    img_free(&d.nodes);
    img_put(&d.nodes, nodes->b, nodes->len);
    img_free(&d.roots);
    d.f = (struct phd_footer){.nodes = n_nodes, .edges = n_edges, .total_size = total, .strings = 2, .types = 2};
    build(m, &d);
    parts_free(&d);
}

static struct phd_snapshot *load_ok(const struct img *m, const char *what)
{
    struct phd_error err;
    struct phd_snapshot *s = NULL;
    n_cases++;
    CHECKF(phd_snapshot_parse(&s, "sib.phd", m->b, m->len, 0, &err) == 0, "%s: %s", what, err.msg);
    return s;
}

static void expect_parse_fail(const struct img *m, const char *what, const char *phrase)
{
    struct phd_error err;
    strcpy(err.msg, "(no message)");
    n_cases++;
    int rc = parse_copy(m->b, m->len, "sib.phd", &err, 0);
    CHECKF(rc == -1 && strstr(err.msg, "sib.phd") && strstr(err.msg, phrase), "%s: rc %d: %s", what, rc, err.msg);
}

/* The rules of the sibling coding, one at a time (T0 and T1 are the
 * standard types: T0's type object is node 0, T1 has none). */
static void test_sibling_rules(void)
{
    struct img n = {0}, m = {0};
    struct phd_snapshot *s;

    /* A copied INDEX label sets next_index to index + 1 */
    node_head(&n, 1, 0, 0x200); /* N0 (T1, seed) */
    img_varint(&n, 1);
    img_varint(&n, 2);
    edge(&n, 0, PHD_LABEL_INDEX); /* [3] -> new 1 */
    img_varint(&n, 3);
    edge(&n, 2, PHD_LABEL_INDEX); /* [7] -> 1 (discovered 2, 1 back) */
    img_varint(&n, 3);
    node_head(&n, 1, 0, 1); /* N1 (T1): */
    img_varint(&n, 1);
    img_varint(&n, 2);
    edge(&n, 1, PHD_LABEL_SIBLING); /* copies [3], target of the sibling's edge 0: 1 */
    edge(&n, 2, PHD_LABEL_INDEX);   /* delta 0 after the copied [3]: [4] */
    img_varint(&n, 0);
    node_head(&n, 1, 0, 1); /* N2 (T1, seed): */
    img_varint(&n, 1);
    img_varint(&n, 3);
    edge(&n, 2, PHD_LABEL_INDEX); /* [10] -> node 2 itself (discovered 3, 1 back) */
    img_varint(&n, 10);
    edge(&n, 1, PHD_LABEL_SIBLING); /* copies [4] (indices may go down this way), target 1 */
    edge(&n, 3, PHD_LABEL_INDEX);   /* delta 0 after the copied [4]: [5] -> node 1 */
    img_varint(&n, 0);
    nodes_image(&m, &n, 3, 7, 72);
    if ((s = load_ok(&m, "copied INDEX")) != NULL) {
        static const uint32_t idx[] = {3, 7, 3, 4, 10, 4, 5};
        static const uint32_t tgt[] = {1, 1, 1, 1, 2, 1, 1};
        for (int e = 0; e < 7; e++)
            CHECKF(s->edge_label[e] == PHD_LABEL_MAKE(PHD_LABEL_INDEX, idx[e]) && s->edge_target[e] == tgt[e],
                   "copied INDEX, edge %d: target %u label %#x", e, s->edge_target[e], s->edge_label[e]);
        CHECK(s->addr[0] == 0x1000 && s->addr[1] == 0x1008 && s->addr[2] == 0x1010);
        phd_snapshot_free(&s);
    }

    /* Only the first 16 edges of the sibling can be copied */
    for (int variant = 0; variant < 3; variant++) {
        n.len = 0;
        node_head(&n, 1, 0, 0x200); /* N0 (T1, seed): 17 edges to node 1 */
        img_varint(&n, 1);
        img_varint(&n, 17);
        edge(&n, 0, PHD_LABEL_NONE);
        for (int k = 1; k < 17; k++)
            edge(&n, 2, PHD_LABEL_NONE);
        node_head(&n, 1, 0, 1); /* N1 (T1): copies 16 edges, then the 17th */
        img_varint(&n, 1);
        img_varint(&n, 17);
        for (int k = 0; k < 16; k++)
            edge(&n, 1, PHD_LABEL_SIBLING);
        if (variant == 0)
            edge(&n, 2, PHD_LABEL_NONE); /* explicit: fine */
        else if (variant == 1)
            edge(&n, 2, PHD_LABEL_SIBLING);
        else
            edge(&n, 1, PHD_LABEL_NONE);
        nodes_image(&m, &n, 2, 34, 48);
        if (variant == 0) {
            if ((s = load_ok(&m, "16 copied edges")) != NULL) {
                int ok = 1;
                for (int e = 0; e < 34; e++)
                    ok &= s->edge_target[e] == 1 && s->edge_label[e] == PHD_LABEL_NONE;
                CHECK(ok);
                phd_snapshot_free(&s);
            }
        } else {
            expect_parse_fail(&m, "17th copied edge",
                              variant == 1 ? "node 1: edge 16 copies a label its sibling lacks"
                                           : "node 1: edge 16 copies a target its sibling lacks");
        }
    }

    /* The sibling is the previous node of the same type, not the previous
     * node; addresses are deltas against it too */
    n.len = 0;
    node_head(&n, 1, 0, 0x200); /* N0 (T1, seed) -> new 1 */
    img_varint(&n, 1);
    img_varint(&n, 1);
    edge(&n, 0, PHD_LABEL_WEAK);
    node_head(&n, 0, 0, 0xa00); /* N1 (T0), first of its type: address 0x5000 */
    img_varint(&n, 1);
    img_varint(&n, 0);
    node_head(&n, 1, 0, 1); /* N2 (T1, seed): sibling N0 */
    img_varint(&n, 1);
    img_varint(&n, 1);
    edge(&n, 1, PHD_LABEL_SIBLING);
    nodes_image(&m, &n, 3, 2, 64);
    if ((s = load_ok(&m, "per-type sibling")) != NULL) {
        CHECK(s->edge_target[1] == 1 && s->edge_label[1] == PHD_LABEL_WEAK);
        CHECK(s->addr[0] == 0x1000 && s->addr[1] == 0x5000 && s->addr[2] == 0x1008);
        phd_snapshot_free(&s);
    }

    /* A sibling without edges leaves nothing to copy */
    n.len = 0;
    node_head(&n, 1, 0, 0x200); /* N0 (T1, seed) -> new 1 */
    img_varint(&n, 1);
    img_varint(&n, 1);
    edge(&n, 0, PHD_LABEL_NONE);
    node_head(&n, 1, 0, 1); /* N1 (T1): no edges */
    img_varint(&n, 1);
    img_varint(&n, 0);
    node_head(&n, 1, 0, 1); /* N2 (T1, seed): copies from N1 */
    img_varint(&n, 1);
    img_varint(&n, 1);
    edge(&n, 1, PHD_LABEL_NONE);
    nodes_image(&m, &n, 3, 2, 72);
    expect_parse_fail(&m, "sibling without edges", "node 2: edge 0 copies a target its sibling lacks");

    /* A copied TYPE label resolves to the type node; it may discover nothing */
    n.len = 0;
    node_head(&n, 0, 0, 0x200); /* N0 (T0, the type object of T0, seed): TYPE -> 0 */
    img_varint(&n, 1);
    img_varint(&n, 1);
    edge(&n, 0, PHD_LABEL_TYPE);
    node_head(&n, 0, 0, 1); /* N1 (T0, seed): copied TYPE */
    img_varint(&n, 1);
    img_varint(&n, 1);
    edge(&n, 0, PHD_LABEL_SIBLING);
    nodes_image(&m, &n, 2, 2, 32);
    if ((s = load_ok(&m, "copied TYPE")) != NULL) {
        CHECK(s->edge_target[1] == 0 && s->edge_label[1] == PHD_LABEL_TYPE);
        phd_snapshot_free(&s);
    }

    img_free(&n);
    img_free(&m);
}

/* Random multi-byte damage behind a valid CRC: never a crash; whatever
 * loads must be internally consistent. */
static void test_fuzz(const struct img *good)
{
    struct rng r;
    rng_seed(&r, 77);
    unsigned char *c = malloc(good->len);
    unsigned long loaded = 0, n = 20000;
    size_t foot = good->len - PHD_FOOTER_SIZE;
    for (unsigned long it = 0; it < n; it++) {
        memcpy(c, good->b, good->len);
        unsigned k = 1 + (unsigned)rng_below(&r, 4);
        for (unsigned j = 0; j < k; j++) {
            size_t off = PHD_HEADER_SIZE + (size_t)rng_below(&r, foot - PHD_HEADER_SIZE);
            c[off] = rng_chance(&r, 1, 2) ? (unsigned char)rng_next(&r) : (unsigned char)(c[off] ^ (1u << rng_below(&r, 8)));
        }
        t_patch_crc(c, good->len);
        struct phd_error err;
        struct phd_snapshot *s = NULL;
        int rc = phd_snapshot_parse(&s, "fuzz.phd", c, good->len, 0, &err);
        if (rc == 0) {
            loaded++;
            int ok = 1;
            for (uint32_t i = 0; i < s->n_nodes; i++)
                ok &= s->type[i] < s->n_types && s->edge_start[i] <= s->edge_start[i + 1];
            ok &= s->edge_start[s->n_nodes] == s->n_edges;
            for (uint64_t e = 0; e < s->n_edges; e++) {
                uint32_t kind = PHD_LABEL_KIND(s->edge_label[e]);
                ok &= s->edge_target[e] < s->n_nodes && kind <= PHD_LABEL_TYPE;
                if (kind == PHD_LABEL_NAME)
                    ok &= PHD_LABEL_PAYLOAD(s->edge_label[e]) < s->n_strings;
                if (kind == PHD_LABEL_VALUE)
                    ok &= PHD_LABEL_PAYLOAD(s->edge_label[e]) < s->n_nodes;
            }
            for (uint32_t t = 0; t < s->n_types; t++)
                ok &= s->types[t].name < s->n_strings && (s->types[t].node == UINT32_MAX || s->types[t].node < s->n_nodes);
            for (uint32_t k2 = 0; k2 < s->n_roots; k2++)
                ok &= s->roots[k2].kind >= 1 && s->roots[k2].kind <= PHD_ROOT_KIND_MAX &&
                      s->roots[k2].node < s->n_nodes &&
                      (s->roots[k2].name == UINT32_MAX || s->roots[k2].name < s->n_strings);
            CHECKF(ok, "iteration %lu loaded an inconsistent snapshot", it);
        } else {
            CHECKF(rc == -1 && strstr(err.msg, "fuzz.phd"), "iteration %lu: rc %d: %s", it, rc, err.msg);
        }
        phd_snapshot_free(&s);
    }
    free(c);
    printf("fuzz: %lu damaged variants with valid CRCs, %lu still loaded (consistently)\n", n, loaded);
}

/* Sizes must add up to at most PHD_SIZE_MAX (2^63 - 1): sizes that wrap
 * past 2^64 once matched a crafted footer, and a total past 2^63 - 1 was
 * printed negative in JSON (issue 15, item 10). */
static void test_size_limits(void)
{
    struct img n = {0}, m = {0};
    static const struct {
        uint64_t a, b, total;
        const char *phrase; /* NULL: loads */
    } cases[] = {
        {UINT64_C(1) << 63, UINT64_C(1) << 63, 0, "sizes add up past 2^63 - 1"},
        {UINT64_MAX, 2, 1, "sizes add up past 2^63 - 1"},
        {(uint64_t)INT64_MAX - 8, 16, (uint64_t)INT64_MAX + 8, "past 2^63 - 1 bytes"},
        {(uint64_t)INT64_MAX - 8, 8, (uint64_t)INT64_MAX, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        n.len = 0;
        node_head(&n, 1, PHD_NODE_SIZE, 0x200); /* N0 (T1, seed), explicit size */
        img_varint(&n, cases[c].a);
        img_varint(&n, 1);
        img_varint(&n, 0);
        node_head(&n, 1, PHD_NODE_SIZE, 1); /* N1 (T1, seed) */
        img_varint(&n, cases[c].b);
        img_varint(&n, 1);
        img_varint(&n, 0);
        nodes_image(&m, &n, 2, 0, cases[c].total);
        if (cases[c].phrase) {
            expect_parse_fail(&m, "sizes", cases[c].phrase);
        } else {
            struct phd_snapshot *s = load_ok(&m, "sizes at the limit");
            CHECK(s && s->total_size == (uint64_t)INT64_MAX);
            phd_snapshot_free(&s);
        }
    }
    img_free(&n);
    img_free(&m);
}

/* Strings are repaired to strict UTF-8 at read time and a NUL is kept
 * (as C0 80), so names stay whole (issue 15, items 8 and 9). */
static void test_string_repair(void)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
        int repaired;
    } cases[] = {
        {"ok", 2, "ok", 0},
        {"caf\xc3\xa9", 5, "caf\xc3\xa9", 0},
        {"o\xc0\xaf", 3, "o\xef\xbf\xbd\xef\xbf\xbd", 1},             /* overlong '/' */
        {"s\xed\xa0\x80", 4, "s\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1}, /* a surrogate */
        {"\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1}, /* past U+10FFFF */
        {"W\0A", 3, "W\xc0\x80" "A", 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct parts d;
        struct img m = {0};
        parts_init(&d);
        img_free(&d.strings);
        img_varint(&d.strings, cases[c].n);
        img_put(&d.strings, cases[c].in, cases[c].n);
        img_varint(&d.strings, 4);
        img_put(&d.strings, "attr", 4);
        build(&m, &d);
        struct phd_snapshot *s = load_ok(&m, "string repair");
        if (s) {
            CHECKF(strcmp(s->str[0], cases[c].out) == 0 && s->str_len[0] == strlen(cases[c].out) &&
                       s->n_repaired_strings == (uint32_t)cases[c].repaired,
                   "case %zu: '%s' (%u bytes), %u repaired", c, s->str[0], s->str_len[0], s->n_repaired_strings);
            phd_snapshot_free(&s);
        }
        parts_free(&d);
        img_free(&m);
    }
}

int main(void)
{
    struct img good = {0};
    test_valid(&good);
    test_duplicate_address();
    test_open_errors();
    test_header(&good);
    test_truncation(&good);
    test_flips(&good);
    test_structure(&good);
    test_sibling_rules();
    test_size_limits();
    test_string_repair();
    test_fuzz(&good);
    printf("%lu hand-made bad or odd inputs\n", n_cases);
    img_free(&good);
    return t_summary("test_badinput");
}
