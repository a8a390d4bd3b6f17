/*
 * test_crc32c.c - CRC-32C: the standard check value, incremental use, and
 * both implementations (the CPU's crc32 instruction where phd_crc32c uses
 * it, and the slicing-by-8 tables of phd_crc32c_tables) against a
 * bit-at-a-time reference at every alignment and length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapdiff/format.h"
#include "testutil.h"

/* Bitwise reference: reflected polynomial 0x82F63B78, init and final ~0. */
static uint32_t ref_crc32c(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void test_vectors(void)
{
    const char *s = "123456789";
    CHECKF(phd_crc32c(0, s, 9) == 0xE3069283u, "got %08x", phd_crc32c(0, s, 9));
    CHECK(ref_crc32c(0, (const unsigned char *)s, 9) == 0xE3069283u);
    CHECK(phd_crc32c(0, "", 0) == 0);
    CHECK(phd_crc32c(0x12345678u, "", 0) == 0x12345678u);

    /* RFC 3720 (iSCSI) B.4 test vectors */
    unsigned char b[48];
    memset(b, 0, 32);
    CHECK(phd_crc32c(0, b, 32) == 0x8A9136AAu);
    memset(b, 0xff, 32);
    CHECK(phd_crc32c(0, b, 32) == 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    CHECK(phd_crc32c(0, b, 32) == 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)(31 - i);
    CHECK(phd_crc32c(0, b, 32) == 0x113FDB5Cu);
    static const unsigned char iscsi[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    CHECK(phd_crc32c(0, iscsi, sizeof iscsi) == 0xD9963A56u);
}

static void test_incremental(void)
{
    const char *s = "123456789";
    for (size_t k = 0; k <= 9; k++) {
        uint32_t c = phd_crc32c(0, s, k);
        c = phd_crc32c(c, s + k, 9 - k);
        CHECKF(c == 0xE3069283u, "split at %zu: %08x", k, c);
    }
    /* three pieces, every pair of split points */
    for (size_t a = 0; a <= 9; a++)
        for (size_t b = a; b <= 9; b++) {
            uint32_t c = phd_crc32c(0, s, a);
            c = phd_crc32c(c, s + a, b - a);
            c = phd_crc32c(c, s + b, 9 - b);
            CHECKF(c == 0xE3069283u, "split at %zu,%zu: %08x", a, b, c);
        }

    /* a longer buffer: every split point equals one shot (exercises the
     * unaligned head, the 8-byte body and the tail in both halves) */
    enum { N = 1000 };
    unsigned char *buf = malloc(N);
    struct rng r;
    rng_seed(&r, 3);
    for (size_t i = 0; i < N; i++)
        buf[i] = (unsigned char)rng_next(&r);
    uint32_t whole = phd_crc32c(0, buf, N);
    CHECK(whole == ref_crc32c(0, buf, N));
    for (size_t k = 0; k <= N; k++) {
        uint32_t c = phd_crc32c(phd_crc32c(0, buf, k), buf + k, N - k);
        CHECKF(c == whole, "split at %zu", k);
    }
    /* byte at a time */
    uint32_t c = 0;
    for (size_t i = 0; i < N; i++)
        c = phd_crc32c(c, buf + i, 1);
    CHECK(c == whole);
    free(buf);
}

static void test_against_reference(void)
{
    enum { N = 300 };
    unsigned char *buf = malloc(N + 8);
    struct rng r;
    rng_seed(&r, 4);
    for (size_t i = 0; i < N + 8; i++)
        buf[i] = (unsigned char)rng_next(&r);
    for (size_t align = 0; align < 8; align++)
        for (size_t len = 0; len <= N; len++) {
            uint32_t seed = (uint32_t)rng_next(&r);
            uint32_t want = ref_crc32c(seed, buf + align, len);
            CHECKF(phd_crc32c(seed, buf + align, len) == want, "align %zu len %zu", align, len);
            CHECKF(phd_crc32c_tables(seed, buf + align, len) == want, "tables: align %zu len %zu", align, len);
        }
    free(buf);
}

int main(void)
{
    test_vectors();
    test_incremental();
    test_against_reference();
    return t_summary("test_crc32c");
}
