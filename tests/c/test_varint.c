/*
 * test_varint.c - LEB128 varints, zigzag, the wire edge encoder of format.h
 * and the library's sibling edge encoder (phd_encoder_*).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pyheapdiff/format.h"
#include "testutil.h"

/* Number of bytes the LEB128 encoding of v takes. */
static size_t expected_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void round_trip(uint64_t v)
{
    unsigned char buf[16];
    memset(buf, 0xAA, sizeof buf);
    unsigned char *end = phd_varint_put(buf, v);
    size_t n = (size_t)(end - buf);
    CHECKF(n == expected_len(v) && n <= 10, "%" PRIu64 ": %zu bytes", v, n);
    CHECKF(buf[n] == 0xAA, "%" PRIu64 ": wrote past its end", v);
    for (size_t i = 0; i + 1 < n; i++)
        CHECKF(buf[i] & 0x80, "%" PRIu64 ": byte %zu lacks the continuation bit", v, i);
    CHECKF(!(buf[n - 1] & 0x80), "%" PRIu64 ": last byte has the continuation bit", v);

    const unsigned char *p = buf;
    uint64_t out = ~v;
    CHECKF(phd_varint_get(&p, end, &out) == 0, "%" PRIu64 ": decode failed", v);
    CHECKF(out == v, "%" PRIu64 " decoded as %" PRIu64, v, out);
    CHECKF(p == end, "%" PRIu64 ": consumed %td of %zu bytes", v, p - buf, n);

    /* decoding with trailing bytes present stops at the right place */
    p = buf;
    CHECK(phd_varint_get(&p, buf + sizeof buf, &out) == 0 && out == v && p == end);

    /* every proper prefix is truncated input: -1 and *pp untouched */
    for (size_t cut = 0; cut < n; cut++) {
        p = buf;
        out = 12345;
        CHECKF(phd_varint_get(&p, buf + cut, &out) == -1, "%" PRIu64 " cut at %zu decoded", v, cut);
        CHECKF(p == buf && out == 12345, "%" PRIu64 " cut at %zu: outputs changed on failure", v, cut);
    }
}

static void test_edges(void)
{
    static const uint64_t vals[] = {
        0, 1, 2, 63, 64, 127, 128, 129, 255, 256, 16383, 16384, 16385,
        (1ull << 21) - 1, 1ull << 21, (1ull << 28) - 1, 1ull << 28, UINT32_MAX,
        1ull << 32, (1ull << 32) + 1, (1ull << 35) - 1, 1ull << 35, (1ull << 49) - 1, 1ull << 49,
        (1ull << 56) - 1, 1ull << 56, (1ull << 63) - 1, 1ull << 63, (1ull << 63) + 1,
        UINT64_MAX - 1, UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        round_trip(vals[i]);

    /* exact encodings of the brief's edge values */
    unsigned char b[16];
    CHECK(phd_varint_put(b, 0) - b == 1 && b[0] == 0);
    CHECK(phd_varint_put(b, 127) - b == 1 && b[0] == 0x7f);
    CHECK(phd_varint_put(b, 128) - b == 2 && b[0] == 0x80 && b[1] == 0x01);
    CHECK(phd_varint_put(b, 1ull << 32) - b == 5 && b[4] == 0x10);
    CHECK(phd_varint_put(b, 1ull << 63) - b == 10 && b[9] == 0x01);
    CHECK(phd_varint_put(b, UINT64_MAX) - b == 10 && b[8] == 0xff && b[9] == 0x01);

    /* every power of two and its neighbours */
    for (unsigned k = 0; k < 64; k++) {
        uint64_t v = 1ull << k;
        round_trip(v - 1);
        round_trip(v);
        round_trip(v + 1);
    }

    struct rng r;
    rng_seed(&r, 1);
    for (int i = 0; i < 20000; i++)
        round_trip(rng_bits(&r));
}

/* Decodes bytes b[0..n) and expects -1 with *pp unchanged. */
static void expect_reject(const unsigned char *b, size_t n, const char *what)
{
    const unsigned char *p = b;
    uint64_t out = 777;
    CHECKF(phd_varint_get(&p, b + n, &out) == -1, "%s: accepted, value %" PRIu64, what, out);
    CHECKF(p == b && out == 777, "%s: outputs changed on failure", what);
}

static void test_rejects(void)
{
    unsigned char b[16];

    /* empty input */
    expect_reject(b, 0, "empty");

    /* truncated: continuation bit on the last available byte */
    b[0] = 0x80;
    expect_reject(b, 1, "lone continuation byte");
    memset(b, 0xff, 9);
    expect_reject(b, 9, "9 continuation bytes");

    /* 11-byte encodings: ten continuation bytes then a terminator */
    memset(b, 0x80, 10);
    b[10] = 0x00;
    expect_reject(b, 11, "11 bytes, 0x80 x10 then 0x00");
    memset(b, 0xff, 10);
    b[10] = 0x01;
    expect_reject(b, 11, "11 bytes, 0xff x10 then 0x01");
    memset(b, 0x80, 9);
    b[9] = 0x81;
    b[10] = 0x00;
    expect_reject(b, 11, "10th byte 0x81 (continues into an 11th)");
    memset(b, 0x80, 16);
    expect_reject(b, 16, "16 continuation bytes");

    /* overflow past 64 bits: the 10th byte may only be 0 or 1 */
    for (unsigned last = 2; last < 0x80; last++) {
        memset(b, 0xff, 9);
        b[9] = (unsigned char)last;
        char what[64];
        snprintf(what, sizeof what, "10th byte %#x", last);
        expect_reject(b, 10, what);
    }

    /* the largest accepted 10-byte encodings */
    memset(b, 0xff, 9);
    b[9] = 0x01;
    const unsigned char *p = b;
    uint64_t out = 0;
    CHECK(phd_varint_get(&p, b + 10, &out) == 0 && out == UINT64_MAX && p == b + 10);
    memset(b, 0x80, 9);
    b[9] = 0x01;
    p = b;
    CHECK(phd_varint_get(&p, b + 10, &out) == 0 && out == 1ull << 63 && p == b + 10);
    /* a 10-byte encoding of 0 (non-canonical but within 10 bytes and 64 bits) */
    memset(b, 0x80, 9);
    b[9] = 0x00;
    p = b;
    CHECK(phd_varint_get(&p, b + 10, &out) == 0 && out == 0 && p == b + 10);
}

static void test_zigzag(void)
{
    static const int64_t vals[] = {
        0, 1, -1, 2, -2, 63, -64, 64, -65, INT32_MAX, INT32_MIN, (int64_t)1 << 40,
        -((int64_t)1 << 40), INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        int64_t v = vals[i];
        CHECKF(phd_unzigzag(phd_zigzag(v)) == v, "%" PRId64, v);
    }
    /* the mapping itself: 0,-1,1,-2,2 -> 0,1,2,3,4; extremes at the top */
    CHECK(phd_zigzag(0) == 0);
    CHECK(phd_zigzag(-1) == 1);
    CHECK(phd_zigzag(1) == 2);
    CHECK(phd_zigzag(-2) == 3);
    CHECK(phd_zigzag(2) == 4);
    CHECK(phd_zigzag(INT64_MAX) == UINT64_MAX - 1);
    CHECK(phd_zigzag(INT64_MIN) == UINT64_MAX);
    CHECK(phd_unzigzag(UINT64_MAX) == INT64_MIN);
    CHECK(phd_unzigzag(UINT64_MAX - 1) == INT64_MAX);

    struct rng r;
    rng_seed(&r, 2);
    for (int i = 0; i < 20000; i++) {
        uint64_t u = rng_bits(&r);
        int64_t v = (int64_t)u;
        if (rng_chance(&r, 1, 2))
            v = -v - 1;
        CHECKF(phd_unzigzag(phd_zigzag(v)) == v, "%" PRId64, v);
        CHECKF(phd_zigzag(phd_unzigzag(u)) == u, "%" PRIu64, u);
        /* small magnitudes stay small */
        if (v > -64 && v < 64)
            CHECK(phd_zigzag(v) < 128);
    }
}

/* The edge encoder: head = tcode << 3 | kind; INDEX payloads delta-coded. */
static void test_edge_encode(void)
{
    unsigned char b[PHD_EDGE_MAX * 8];
    uint64_t next = 0;
    unsigned char *p = b;
    p = phd_edge_encode(p, 0, PHD_LABEL_INDEX, 0, &next);     /* [0] -> delta 0 */
    p = phd_edge_encode(p, 3, PHD_LABEL_INDEX, 1, &next);     /* [1] -> delta 0 */
    p = phd_edge_encode(p, 0, PHD_LABEL_INDEX, 7, &next);     /* [7] -> delta 5 */
    p = phd_edge_encode(p, 1, PHD_LABEL_NAME, 300, &next);    /* payload 300, 2 bytes */
    p = phd_edge_encode(p, 16, PHD_LABEL_VALUE, 999, &next);  /* no payload */
    p = phd_edge_encode(p, 0, PHD_LABEL_TYPE, 0, &next);
    static const unsigned char want[] = {
        0x01, 0x00, (3 << 3) | 1, 0x00, 0x01, 0x05, (1 << 3) | 4, 0xac, 0x02, 0x83, 0x01, 0x06,
    };
    CHECK((size_t)(p - b) == sizeof want);
    CHECK(memcmp(b, want, sizeof want) == 0);
    CHECK(next == 8);

    /* the largest edge fits in PHD_EDGE_MAX */
    next = 0;
    p = phd_edge_encode(b, UINT64_MAX >> 3, PHD_LABEL_INDEX, UINT64_MAX, &next);
    CHECK((size_t)(p - b) <= PHD_EDGE_MAX);
    p = phd_edge_encode(b, UINT64_MAX >> 3, PHD_LABEL_NAME, UINT64_MAX, &next);
    CHECK((size_t)(p - b) <= PHD_EDGE_MAX);

    /* label packing */
    CHECK(PHD_LABEL_KIND(PHD_LABEL_MAKE(PHD_LABEL_NAME, 12345)) == PHD_LABEL_NAME);
    CHECK(PHD_LABEL_PAYLOAD(PHD_LABEL_MAKE(PHD_LABEL_NAME, 12345)) == 12345);
    CHECK(PHD_LABEL_PAYLOAD(PHD_LABEL_MAKE(PHD_LABEL_VALUE, PHD_MAX_NODES)) == PHD_MAX_NODES);
}

/* The library's sibling encoder (docs/format.md, "Siblings"): tcode 0 new,
 * 1 the sibling's target, t >= 2 discovered - (t - 1); kind 7 copies the
 * sibling edge's label.  Bytes checked by hand. */
static void test_encoder(void)
{
    struct phd_encoder e;
    unsigned char b[16 * PHD_EDGE_MAX], *p;
    CHECK(phd_encoder_init(&e) == 0);
    CHECK(e.version == PHD_FORMAT_VERSION);
    e.version = 2; /* the bytes below are version 2's; version 3's after them */

    /* node 0 (type 5, a seed; discovered 1): [0] -> new 1, .name(3) -> 0, TYPE -> 0 */
    CHECK(phd_encoder_begin(&e, 5) == 0);
    CHECK(*phd_encoder_addr(&e, 5) == 0); /* no sibling yet: address delta from 0 */
    p = phd_encoder_edge(&e, b, 1, 1, 1, PHD_LABEL_INDEX, 0);
    p = phd_encoder_edge(&e, p, 2, 0, 0, PHD_LABEL_NAME, 3);
    p = phd_encoder_edge(&e, p, 2, 0, 0, PHD_LABEL_TYPE, 0);
    static const unsigned char n0[] = {0x01, 0x00, (4 << 3) | 4, 3, 6}; /* version 2: back-references are t + 1 */
    CHECK((size_t)(p - b) == sizeof n0 && memcmp(b, n0, sizeof n0) == 0);
    *phd_encoder_addr(&e, 5) = 0x200; /* what phd_writer_node does with it */
    phd_encoder_end(&e);

    /* node 1 (type 5, discovered 2): same labels; [0] -> 1 (the sibling's
     * target), .name(3) -> 1 (another target), TYPE -> 0, then a 4th edge */
    CHECK(phd_encoder_begin(&e, 5) == 0);
    CHECK(*phd_encoder_addr(&e, 5) == 0x200);
    p = phd_encoder_edge(&e, b, 2, 1, 0, PHD_LABEL_INDEX, 0);
    p = phd_encoder_edge(&e, p, 2, 1, 0, PHD_LABEL_NAME, 3);
    p = phd_encoder_edge(&e, p, 2, 0, 0, PHD_LABEL_TYPE, 0);
    p = phd_encoder_edge(&e, p, 2, 0, 0, PHD_LABEL_INDEX, 1); /* k 3: no sibling edge; next_index 1 */
    static const unsigned char n1[] = {(2 << 3) | 7, (3 << 3) | 7, 7, (4 << 3) | 1, 0};
    CHECK((size_t)(p - b) == sizeof n1 && memcmp(b, n1, sizeof n1) == 0);
    phd_encoder_end(&e);

    /* another type in between does not disturb type 5's sibling; a large
     * type id grows the table (zeroed: no sibling, address 0) */
    CHECK(phd_encoder_begin(&e, 1000) == 0);
    CHECK(*phd_encoder_addr(&e, 1000) == 0);
    CHECK(*phd_encoder_addr(&e, 5) == 0x200);
    p = phd_encoder_edge(&e, b, 2, 1, 0, PHD_LABEL_INDEX, 0);
    CHECK(p - b == 2 && b[0] == ((3 << 3) | 1) && b[1] == 0); /* explicit: discovered 2 - (3 - 2) = 1 */
    phd_encoder_end(&e);

    /* node 3 (type 5): the sibling is node 1: [0] copied (target 0 given
     * explicitly); a different label at k 1 with the sibling's target 1; k 2
     * TYPE copied; k 3 [1] and target copied, so that [2] after it (k 4, no
     * sibling edge) is delta 0 */
    CHECK(phd_encoder_begin(&e, 5) == 0);
    p = phd_encoder_edge(&e, b, 2, 0, 0, PHD_LABEL_INDEX, 0);
    p = phd_encoder_edge(&e, p, 2, 1, 0, PHD_LABEL_WEAK, 0);
    p = phd_encoder_edge(&e, p, 2, 0, 0, PHD_LABEL_TYPE, 0);
    p = phd_encoder_edge(&e, p, 2, 0, 0, PHD_LABEL_INDEX, 1);
    p = phd_encoder_edge(&e, p, 2, 0, 0, PHD_LABEL_INDEX, 2);
    static const unsigned char n3[] = {(4 << 3) | 7, (2 << 3) | 5, 7, (2 << 3) | 7, (4 << 3) | 1, 0};
    CHECK((size_t)(p - b) == sizeof n3 && memcmp(b, n3, sizeof n3) == 0);
    phd_encoder_end(&e);

    /* only the first 16 edges are remembered */
    CHECK(phd_encoder_begin(&e, 7) == 0);
    p = b;
    for (int k = 0; k < 20; k++)
        p = phd_encoder_edge(&e, p, 2, 1, 0, PHD_LABEL_NONE, 0);
    phd_encoder_end(&e);
    CHECK(phd_encoder_begin(&e, 7) == 0);
    p = b;
    for (int k = 0; k < 20; k++)
        p = phd_encoder_edge(&e, p, 2, 1, 0, PHD_LABEL_NONE, 0);
    int ok = p - b == 20;
    for (int k = 0; k < 20; k++)
        ok &= b[k] == (k < PHD_SIBLING_EDGES ? ((2 << 3) | 7) : (3 << 3));
    CHECK(ok);
    phd_encoder_end(&e);
    phd_encoder_release(&e);
    CHECK(e.sib == NULL);

    /* version 3: a back-reference d is 2d + 1; an address, 4 + 2 * the
     * zigzag delta from the previous address (0 at first); it leaves no
     * target for a sibling to copy, and a VALUE behind it has the key
     * PHD_KEY_BY_ADDR */
    CHECK(phd_encoder_init(&e) == 0);
    CHECK(phd_encoder_begin(&e, 5) == 0);
    p = phd_encoder_edge(&e, b, 5, 3, 0, PHD_LABEL_NONE, 0);          /* d 2: t 5 */
    p = phd_encoder_edge_addr(&e, p, 0x2, PHD_LABEL_NONE, 0);          /* +2: zigzag 4, t 12 */
    p = phd_encoder_edge_addr(&e, p, 0x1, PHD_LABEL_INDEX, 7);        /* -1: zigzag 1, t 6 */
    p = phd_encoder_edge(&e, p, 5, 4, 0, PHD_LABEL_VALUE, PHD_KEY_BY_ADDR); /* d 1: t 3 */
    static const unsigned char v3a[] = {(5 << 3) | 0, (12 << 3) | 0, (6 << 3) | 1, 7, (3 << 3) | 3};
    CHECK((size_t)(p - b) == sizeof v3a && memcmp(b, v3a, sizeof v3a) == 0);
    phd_encoder_end(&e);
    /* the next node of the type: same targets; the addressed ones cannot be
     * copied, the labels can (the VALUE's too: its key went by address
     * again) */
    CHECK(phd_encoder_begin(&e, 5) == 0);
    p = phd_encoder_edge(&e, b, 6, 3, 0, PHD_LABEL_NONE, 0);          /* the sibling's target: t 2 */
    p = phd_encoder_edge(&e, p, 6, 1, 0, PHD_LABEL_NONE, 0);          /* not the sibling's (by address): d 5, t 11 */
    p = phd_encoder_edge_addr(&e, p, 0x0, PHD_LABEL_INDEX, 7);        /* -1 again, label copied: t 6 */
    p = phd_encoder_edge(&e, p, 6, 4, 0, PHD_LABEL_VALUE, PHD_KEY_BY_ADDR); /* both copied: t 2 */
    static const unsigned char v3b[] = {(2 << 3) | 7, (11 << 3) | 7, (6 << 3) | 7, (2 << 3) | 7};
    CHECK((size_t)(p - b) == sizeof v3b && memcmp(b, v3b, sizeof v3b) == 0);
    CHECK(phd_addr_ref_fits(0, (uint64_t)1 << 54) && !phd_addr_ref_fits(0, (uint64_t)1 << 55) &&
          phd_addr_ref_fits((uint64_t)1 << 55, 1));
    phd_encoder_end(&e);
    phd_encoder_release(&e);
}

/* Number previews (docs/format.md, "Numbers by value"): an inline node's
 * record with an int and with a float, in version 4's codes and, for a
 * writer of version 3, as text.  Bytes checked by hand. */
static void test_number_previews(void)
{
    struct phd_encoder e;
    unsigned char b[64], *p;
    CHECK(phd_encoder_init(&e) == 0);
    double tenth = 0.1;
    uint64_t bits;
    memcpy(&bits, &tenth, sizeof bits);
    struct phd_node_out f = {.type = 2, .flags = PHD_NODE_PREVIEW, .addr = 8 << 3, .preview_sid = UINT32_MAX,
                             .preview_kind = PHD_PREVIEW_FLOAT, .preview_num = bits};
    p = phd_encoder_inline(&e, b, 3, &f);
    /* head 2 << 3 | PREVIEW, address delta zigzag(8) = 16, (2 << 2) | 2, 8 bytes LE */
    static const unsigned char f4[] = {0x12, 16, 10, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f};
    CHECK((size_t)(p - b) == sizeof f4 && memcmp(b, f4, sizeof f4) == 0);
    struct phd_node_out n = {.type = 3, .flags = PHD_NODE_PREVIEW, .addr = 8 << 3, .preview_sid = UINT32_MAX,
                             .preview_kind = PHD_PREVIEW_INT, .preview_num = (uint64_t)(int64_t)-3};
    p = phd_encoder_inline(&e, b, 3, &n);
    /* (1 << 2) | 2, zigzag(-3) = 5 */
    static const unsigned char n4[] = {0x1a, 16, 6, 5};
    CHECK((size_t)(p - b) == sizeof n4 && memcmp(b, n4, sizeof n4) == 0);
    /* text: length << 2 */
    struct phd_node_out t = {.type = 4, .flags = PHD_NODE_PREVIEW, .addr = 8 << 3, .preview = "hi",
                             .preview_len = 2, .preview_sid = UINT32_MAX};
    p = phd_encoder_inline(&e, b, 3, &t);
    static const unsigned char t4[] = {0x22, 16, 2 << 2, 'h', 'i'};
    CHECK((size_t)(p - b) == sizeof t4 && memcmp(b, t4, sizeof t4) == 0);
    /* version 3: numbers as text, length << 1 */
    e.version = 3;
    f.type = n.type = 5;
    p = phd_encoder_inline(&e, b, 3, &f);
    static const unsigned char f3[] = {0x2a, 16, 3 << 1, '0', '.', '1'};
    CHECK((size_t)(p - b) == sizeof f3 && memcmp(b, f3, sizeof f3) == 0);
    p = phd_encoder_inline(&e, b, 3, &n);
    static const unsigned char n3[] = {0x2a, 0, 2 << 1, '-', '3'};
    CHECK((size_t)(p - b) == sizeof n3 && memcmp(b, n3, sizeof n3) == 0);
    phd_encoder_release(&e);
}

int main(void)
{
    test_edges();
    test_rejects();
    test_zigzag();
    test_edge_encode();
    test_encoder();
    test_number_previews();
    return t_summary("test_varint");
}
