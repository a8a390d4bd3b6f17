/*
 * test_inline.c - format version 2's inline nodes (docs/format.md, "Inline
 * nodes"): written with phd_encoder_edge(PHD_TARGET_INLINE) and
 * phd_encoder_inline() as the agent does, read back by the reader with
 * their indices, sizes, previews and empty edge lists, and the records a
 * reader must reject (an inline node marked GC-tracked, one behind a TYPE
 * edge, one discovering past the node count).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyheapdiff/format.h"
#include "testutil.h"

enum { BAD_NONE, BAD_GC_TRACKED, BAD_TYPE_EDGE, BAD_TOO_MANY };

/*
 * Node 0 (type obj, a seed): [0] -> inline float 1 ("1.5"), [1] -> new
 * obj 2, [2] -> inline float 3 ("2.5", explicit size 32), [3] -> TYPE.
 * Node 2 (type obj): [0] -> node 1 (a back-reference), [1] -> inline
 * bytes 4.  Top-level records: 0 and 2 only.
 */
static size_t build(unsigned char *out, size_t cap, int bad)
{
    char path[256];
    int fd = t_mkstemp(path, "inline");
    if (fd < 0)
        return 0;
    struct phd_writer w;
    struct phd_encoder e;
    phd_writer_init(&w, fd, 4096);
    phd_encoder_init(&e);
    struct phd_header h = {.version = PHD_FORMAT_VERSION, .pointer_size = 8, .addr_shift = 3, .py_major = 3,
                           .py_minor = 11, .flags = PHD_HDR_VALUES};
    phd_writer_header(&w, &h);
    phd_writer_chunk_begin(&w, PHD_CHUNK_STRINGS);
    phd_writer_string(&w, "obj", 3);
    phd_writer_string(&w, "float", 5);
    phd_writer_string(&w, "bytes", 5);
    phd_writer_chunk_begin(&w, PHD_CHUNK_TYPES);
    phd_writer_type(&w, 0, 0, 16);
    phd_writer_type(&w, 1, UINT32_MAX, 24);
    phd_writer_type(&w, 2, UINT32_MAX, 40);
    phd_writer_chunk_begin(&w, PHD_CHUNK_NODES);

    unsigned char eb[4 * (PHD_EDGE_MAX + PHD_INLINE_MAX)], *p = eb;
    struct phd_node_out f1 = {.type = 1, .flags = PHD_NODE_PREVIEW, .addr = 0x2000, .size = 24, .preview = "1.5",
                              .preview_len = 3, .preview_sid = UINT32_MAX};
    struct phd_node_out f3 = {.type = 1, .flags = PHD_NODE_PREVIEW | PHD_NODE_SIZE, .addr = 0x2020, .size = 32,
                              .preview = "2.5", .preview_len = 3, .preview_sid = UINT32_MAX};
    if (bad == BAD_GC_TRACKED)
        f3.flags |= PHD_NODE_GC_TRACKED;
    phd_encoder_begin(&e, 0);
    p = phd_encoder_edge(&e, p, 1, 1, PHD_TARGET_INLINE, PHD_LABEL_INDEX, 0);
    p = phd_encoder_inline(&e, p, 3, &f1);
    p = phd_encoder_edge(&e, p, 2, 2, PHD_TARGET_NEW, PHD_LABEL_INDEX, 1);
    p = phd_encoder_edge(&e, p, 3, 3, PHD_TARGET_INLINE, PHD_LABEL_INDEX, 2);
    if (bad == BAD_GC_TRACKED) {
        /* phd_encoder_inline masks the flag off: write the head by hand */
        p = phd_varint_put(p, (1u << 3) | PHD_NODE_GC_TRACKED | PHD_NODE_PREVIEW | PHD_NODE_SIZE);
        p = phd_varint_put(p, phd_zigzag((0x2020 - 0x2000) >> 3));
        p = phd_varint_put(p, 32);
        p = phd_varint_put(p, 3 << 1);
        memcpy(p, "2.5", 3);
        p += 3;
    } else {
        p = phd_encoder_inline(&e, p, 3, &f3);
    }
    if (bad == BAD_TYPE_EDGE) {
        p = phd_varint_put(p, (1u << 3) | PHD_LABEL_TYPE); /* code 1 (inline) on a TYPE edge */
    } else {
        p = phd_encoder_edge(&e, p, 4, 0, PHD_TARGET_OLD, PHD_LABEL_TYPE, 0);
    }
    struct phd_node_out n0 = {.type = 0, .addr = 0x1000, .size = 16, .refcnt = 3, .preview_sid = UINT32_MAX,
                              .nedges = 4, .edges = eb, .edges_len = (size_t)(p - eb)};
    phd_writer_node(&w, phd_encoder_addr(&e, 0), 3, &n0);
    phd_encoder_end(&e);

    p = eb;
    struct phd_node_out b4 = {.type = 2, .flags = PHD_NODE_PREVIEW, .addr = 0x3000, .size = 40, .preview = "\x01\x02",
                              .preview_len = 2, .preview_sid = UINT32_MAX};
    phd_encoder_begin(&e, 0);
    p = phd_encoder_edge(&e, p, 4, 1, PHD_TARGET_OLD, PHD_LABEL_NAME, 1);
    p = phd_encoder_edge(&e, p, 4, 4, PHD_TARGET_INLINE, PHD_LABEL_NAME, 2);
    p = phd_encoder_inline(&e, p, 3, &b4);
    struct phd_node_out n2 = {.type = 0, .addr = 0x1010, .size = 16, .refcnt = 1, .preview_sid = UINT32_MAX,
                              .nedges = 2, .edges = eb, .edges_len = (size_t)(p - eb)};
    phd_writer_node(&w, phd_encoder_addr(&e, 0), 3, &n2);
    phd_encoder_end(&e);

    phd_writer_chunk_begin(&w, PHD_CHUNK_ROOTS);
    phd_writer_root(&w, PHD_ROOT_MODULES, 0, 0, UINT32_MAX);
    struct phd_footer foot = {.nodes = bad == BAD_TOO_MANY ? 4 : 5, .edges = 6, .total_size = 16 + 24 + 16 + 32 + 40,
                              .strings = 3, .types = 3, .roots = 1};
    CHECK(phd_writer_finish(&w, &foot) == 0);
    phd_writer_release(&w);
    phd_encoder_release(&e);
    close(fd);
    size_t len = 0;
    unsigned char *b = t_read_file(path, &len);
    unlink(path);
    if (!b || len > cap) {
        free(b);
        return 0;
    }
    memcpy(out, b, len);
    free(b);
    return len;
}

static void test_read(void)
{
    static unsigned char img[8192];
    size_t len = build(img, sizeof img, BAD_NONE);
    CHECK(len > 0);
    struct phd_snapshot *s = NULL;
    struct phd_error err;
    int rc = phd_snapshot_parse(&s, "inline.snap", img, len, 0, &err);
    CHECKF(rc == 0, "%s", err.msg);
    if (rc != 0)
        return;
    CHECK(s->hdr.version == PHD_FORMAT_VERSION && s->n_nodes == 5 && s->n_edges == 6);
    static const uint32_t type[] = {0, 1, 0, 1, 2};
    static const uint64_t addr[] = {0x1000, 0x2000, 0x1010, 0x2020, 0x3000};
    static const uint64_t size[] = {16, 24, 16, 32, 40};
    static const uint32_t refcnt[] = {3, 1, 1, 1, 1};
    for (uint32_t i = 0; i < 5; i++)
        CHECKF(s->type[i] == type[i] && s->addr[i] == addr[i] && phd_snapshot_size(s, i) == size[i] && s->refcnt[i] == refcnt[i],
               "node %u: type %u addr %llx size %llu refcnt %u", i, s->type[i], (unsigned long long)s->addr[i],
               (unsigned long long)phd_snapshot_size(s, i), s->refcnt[i]);
    /* inline nodes have no edges: node 0 has 4, node 2 has 2 */
    static const uint32_t start[] = {0, 4, 4, 6, 6, 6};
    for (uint32_t i = 0; i <= 5; i++)
        CHECKF(s->edge_start[i] == start[i], "edge_start[%u] = %u", i, s->edge_start[i]);
    static const uint32_t target[] = {1, 2, 3, 0, 1, 4};
    for (uint32_t k = 0; k < 6; k++)
        CHECKF(s->edge_target[k] == target[k], "edge %u -> %u", k, s->edge_target[k]);
    CHECK(PHD_LABEL_KIND(s->edge_label[3]) == PHD_LABEL_TYPE);
    CHECK(s->edge_label[2] == PHD_LABEL_MAKE(PHD_LABEL_INDEX, 2));
    CHECK(s->edge_label[5] == PHD_LABEL_MAKE(PHD_LABEL_NAME, 2));
    char pv[8];
    CHECK(phd_snapshot_preview(s, 1, pv, sizeof pv) == 3 && memcmp(pv, "1.5", 3) == 0);
    CHECK(phd_snapshot_preview(s, 3, pv, sizeof pv) == 3 && memcmp(pv, "2.5", 3) == 0);
    CHECK(phd_snapshot_preview(s, 4, pv, sizeof pv) == 2 && memcmp(pv, "\x01\x02", 2) == 0);
    CHECK(phd_snapshot_preview(s, 0, pv, sizeof pv) == -1);
    CHECK(!(s->flags[1] & PHD_NODE_GC_TRACKED));
    phd_snapshot_free(&s);
}

static void expect_reject(int bad, const char *phrase)
{
    static unsigned char img[8192];
    size_t len = build(img, sizeof img, bad);
    CHECK(len > 0);
    struct phd_snapshot *s = NULL;
    struct phd_error err;
    int rc = phd_snapshot_parse(&s, "bad.snap", img, len, 0, &err);
    CHECKF(rc != 0 && strstr(err.msg, phrase) != NULL, "case %d: %s", bad, rc ? err.msg : "accepted");
    phd_snapshot_free(&s);
}

int main(void)
{
    test_read();
    expect_reject(BAD_GC_TRACKED, "inline node 3 is GC-tracked");
    expect_reject(BAD_TYPE_EDGE, "type edge without a type node");
    expect_reject(BAD_TOO_MANY, "discovers node 4 of 4");
    return t_summary("test_inline");
}
