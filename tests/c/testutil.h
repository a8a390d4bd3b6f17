/*
 * testutil.h - the few helpers the C unit tests share: a CHECK macro that
 * counts and reports failures, a seeded PRNG, temporary files, little-endian
 * byte helpers and the footer-CRC patcher.  No framework: each test is a
 * plain executable whose exit status is what meson looks at.
 */
#ifndef PHD_TESTUTIL_H
#define PHD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern unsigned long t_passed, t_failed;

/* Reports a failed check (the first 200 are printed, then only counted). */
void t_fail(const char *file, int line, const char *what, const char *detail);

#define CHECK(cond)                                            \
    do {                                                       \
        if (cond)                                              \
            t_passed++;                                        \
        else                                                   \
            t_fail(__FILE__, __LINE__, #cond, NULL);           \
    } while (0)

/* CHECKF(cond, fmt, ...): like CHECK, with a printf-style explanation. */
#define CHECKF(cond, ...)                                      \
    do {                                                       \
        if (cond) {                                            \
            t_passed++;                                        \
        } else {                                               \
            char t_detail_[768];                               \
            snprintf(t_detail_, sizeof t_detail_, __VA_ARGS__); \
            t_fail(__FILE__, __LINE__, #cond, t_detail_);      \
        }                                                      \
    } while (0)

/* Prints "name: N passed, M failed" and returns the exit status. */
int t_summary(const char *name);

/* xorshift64*: deterministic across platforms. */
struct rng {
    uint64_t s;
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* 1 with probability num/den. */
int rng_chance(struct rng *r, unsigned num, unsigned den);
/* A random value of random bit length (0 to 64 bits), for edge values. */
uint64_t rng_bits(struct rng *r);

/* Creates an empty temporary file "<tmpdir>/phd-<tag>-XXXXXX"; the path is
 * written to path (at least 256 bytes).  Returns the fd, or -1. */
int t_mkstemp(char *path, const char *tag);
/* Writes data to a new temporary file; returns 0 or -1. */
int t_write_tmp(char *path, const char *tag, const void *data, size_t len);
/* Reads a whole file into a malloc'd buffer (never NULL on success, even
 * for an empty file); returns NULL on failure. */
unsigned char *t_read_file(const char *path, size_t *len);

void t_put_u16(unsigned char *p, uint16_t v);
void t_put_u32(unsigned char *p, uint32_t v);
void t_put_u64(unsigned char *p, uint64_t v);
uint32_t t_get_u32(const unsigned char *p);
uint64_t t_get_u64(const unsigned char *p);

/* Offset of the CRC field in a file of len bytes: the footer starts at
 * len - 64, its payload 16 bytes later, the CRC at payload offset 36. */
#define T_CRC_OFFSET(len) ((len) - PHD_FOOTER_SIZE + PHD_CHUNK_HEADER_SIZE + 36)
/* Recomputes the CRC-32C of every byte before the footer and stores it in
 * the footer, so that a deliberately corrupted file passes the checksum and
 * reaches the structural checks.  len must be at least 64. */
void t_patch_crc(unsigned char *buf, size_t len);

#endif
