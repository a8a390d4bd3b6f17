/*
 * testutil.h - the few helpers the C unit tests share: a CHECK macro that
 * counts and reports failures, a seeded PRNG, temporary files, little-endian
 * byte helpers, the footer-CRC patcher and in-memory snapshots for the
 * analysis tests.  No framework: each test is a
 * plain executable whose exit status is what meson looks at.
 */
#ifndef PHD_TESTUTIL_H
#define PHD_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pyheapdiff/format.h"

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

/*
 * In-memory snapshots (struct phd_snapshot, no file) for the analysis
 * tests.  They borrow their strings and types from a struct t_tables that
 * outlives them: strings str[0..n_strings), the first n_types of which are
 * also the type names (type id == string id; change types[] after
 * t_tables_init for anything else).
 */
#define T_MAX_STRINGS 64
#define T_MAX_TYPES 32
struct t_tables {
    const char **str;
    uint32_t n_strings, n_types;
    uint32_t str_len[T_MAX_STRINGS];
    struct phd_type types[T_MAX_TYPES];
};
void t_tables_init(struct t_tables *t, const char **str, uint32_t n_strings, uint32_t n_types);

/* A snapshot of n nodes, m references and nroots root records, every
 * array the analyses read allocated and zeroed (edge_start with n + 1
 * entries), addr[v] = 0x10000 + 64 v, no previews; the caller fills the
 * rest.  Exits when out of memory.  Free with t_snapshot_free. */
struct phd_snapshot *t_snapshot_new(const struct t_tables *t, const char *path, uint32_t n, uint64_t m,
                                    uint32_t nroots);

/* One reference, for t_snapshot_set_edges. */
struct t_edge {
    uint32_t src, dst, label;
};
/* Replaces s's references by ed[0..m) (sorted by source here, in place)
 * and adds each retaining (not weak) one to its target's refcnt. */
void t_snapshot_set_edges(struct phd_snapshot *s, struct t_edge *ed, uint64_t m);

/* phd_snapshot_free, after taking back what t_snapshot_new lent. */
void t_snapshot_free(struct phd_snapshot **s);

#endif
