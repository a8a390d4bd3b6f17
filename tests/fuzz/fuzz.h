/*
 * fuzz.h - what the fuzz targets share: parsing an input the way the
 * targets do, and the checks every target makes on what the reader says.
 *
 * Every target defines LLVMFuzzerTestOneInput.  Built with clang and
 * -fsanitize=fuzzer (meson -Dfuzz=true) it is driven by libFuzzer; built
 * with replay.c instead it replays files, so that the seed corpus and every
 * crash found (tests/fuzz/regressions/) run in the normal unit suite.
 *
 * The checks abort(), which both libFuzzer and the replay driver report
 * as a failure: a rejected input must give one line naming the input, an
 * accepted one must satisfy the invariants the analyses rely on.
 */
#ifndef PHD_FUZZ_H
#define PHD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/format.h"

/* The name inputs are parsed under; every error message must start with it. */
#define FZ_NAME "fuzz.snap"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints what failed and aborts. */
void fz_fail(const char *what, const char *detail);
#define FZ_CHECK(cond, detail)                  \
    do {                                        \
        if (!(cond))                            \
            fz_fail(#cond, (detail));           \
    } while (0)

/*
 * Parses the input as given.  When that fails and the stored CRC-32C does
 * not match (where most mutations would stop), it also parses a copy with
 * the CRC recomputed: the checksum check and the chunk parsers behind it
 * both see every input.  Returns the snapshot or NULL.  An accepted
 * snapshot has passed the invariants the analyses rely on (every index in
 * range, edge rows in order, sizes adding up to the footer's total).
 * *image is the buffer the snapshot points into (NULL: data itself; else
 * the patched copy, freed by fz_release).
 */
struct phd_snapshot *fz_parse(const uint8_t *data, size_t size, unsigned flags, unsigned char **image);
/* Frees what fz_parse returned. */
void fz_release(struct phd_snapshot **s, unsigned char **image);

#endif
