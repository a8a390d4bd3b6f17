/*
 * test_regressions.c - what two fixed bugs of the format library must not
 * do again.  Both were found by these unit tests (they failed against
 * commit e904978) and fixed in 160c6fb; each check fails if its bug comes
 * back.
 *
 * The reader rejects a footer chunk with non-zero flags.
 *   docs/format.md, "Chunks": flags "must be 0 in version 1"; "What a reader
 *   must reject": "a chunk header ... with non-zero flags".  The CRC does
 *   not cover the footer, so only parse_header() in src/format/reader.c
 *   can see them (it once checked the footer's kind, length and end magic
 *   but not bytes 4..7 of its chunk header).  Input: a valid snapshot of
 *   len bytes with byte len - 64 + 4 (or +5, +6, +7) made non-zero, every
 *   value.
 *
 * phd_encoder_begin() returns for a type id >= 2^31.
 *   src/format/writer.c, phd_encoder_begin() grows its per-type table by
 *   doubling; on a uint32_t, 2^31 * 2 wrapped to 0 and the loop spun
 *   forever, where format.h promises "returns 0, or -1 when out of memory".
 *   Input: phd_encoder_init(&e); phd_encoder_begin(&e, 0x80000000u),
 *   checked in a child process with a 5-second alarm.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pyheapdiff/format.h"
#include "testutil.h"

/* A valid snapshot: one string, one type, one node with a self edge. */
static unsigned char *small_snapshot(size_t *len)
{
    char path[256];
    int fd = t_mkstemp(path, "regress");
    if (fd < 0)
        return NULL;
    struct phd_writer w;
    struct phd_encoder enc;
    struct phd_header h = {.version = 1, .pointer_size = 8, .addr_shift = 3};
    if (phd_writer_init(&w, fd, 4096) != 0 || phd_encoder_init(&enc) != 0)
        return NULL;
    phd_writer_header(&w, &h);
    phd_writer_chunk_begin(&w, PHD_CHUNK_STRINGS);
    phd_writer_string(&w, "object", 6);
    phd_writer_chunk_begin(&w, PHD_CHUNK_TYPES);
    phd_writer_type(&w, 0, UINT32_MAX, 16);
    phd_writer_chunk_begin(&w, PHD_CHUNK_NODES);
    unsigned char e[PHD_EDGE_MAX];
    phd_encoder_begin(&enc, 0);
    unsigned char *p = phd_encoder_edge(&enc, e, 1, 0, 0, PHD_LABEL_NONE, 0); /* node 0 -> itself */
    struct phd_node_out n = {.type = 0, .addr = 0x1000, .size = 16, .refcnt = 1, .preview_sid = UINT32_MAX,
                             .nedges = 1, .edges = e, .edges_len = (size_t)(p - e)};
    phd_writer_node(&w, phd_encoder_addr(&enc, 0), 3, &n);
    phd_encoder_end(&enc);
    struct phd_footer f = {.nodes = 1, .edges = 1, .total_size = 16, .strings = 1, .types = 1};
    int rc = phd_writer_finish(&w, &f);
    phd_writer_release(&w);
    phd_encoder_release(&enc);
    close(fd);
    unsigned char *b = rc ? NULL : t_read_file(path, len);
    unlink(path);
    return b;
}

static void footer_flags_rejected(void)
{
    size_t len = 0;
    unsigned char *good = small_snapshot(&len);
    CHECK(good != NULL);
    if (!good)
        return;
    struct phd_error err;
    struct phd_snapshot *s = NULL;
    int rc = phd_snapshot_parse(&s, "good.phd", good, len, 0, &err);
    CHECKF(rc == 0, "the base snapshot does not load: %s", err.msg);
    phd_snapshot_free(&s);
    if (rc != 0) { /* every variant would fail for the wrong reason */
        free(good);
        return;
    }

    unsigned char *c = malloc(len);
    size_t foot = len - PHD_FOOTER_SIZE;
    for (size_t off = foot + 4; off < foot + 8; off++) {
        unsigned long accepted = 0;
        unsigned first = 0;
        for (unsigned x = 1; x < 256; x++) {
            memcpy(c, good, len);
            c[off] ^= (unsigned char)x;
            strcpy(err.msg, "(no message)");
            rc = phd_snapshot_parse(&s, "footer-flags.phd", c, len, 0, &err);
            if (rc != -1 || !strstr(err.msg, "footer-flags.phd")) {
                if (!accepted++)
                    first = x;
            }
            phd_snapshot_free(&s);
        }
        /* one check per byte, so that the log stays readable */
        CHECKF(accepted == 0,
               "src/format/reader.c parse_header: footer chunk flags not checked again: %lu of 255 "
               "values of byte %zu (footer offset %zu) accepted, e.g. %#04x, in a %zu-byte snapshot",
               accepted, off, off - foot, first, len);
    }
    free(c);
    free(good);
}

/* 1 if phd_encoder_begin(type_id) returned (0 or -1), 0 if it hung (killed
 * by the alarm), -1 if the check could not run. */
static int encoder_begin_returns(uint32_t type_id)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        alarm(5);
        struct phd_encoder e;
        phd_encoder_init(&e);
        int rc = phd_encoder_begin(&e, type_id);
        _exit(rc == 0 || rc == -1 ? 0 : 3);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
        return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 1 : -1;
}

static void encoder_begin_huge_type_id(void)
{
    int r = encoder_begin_returns(0x80000000u);
    CHECKF(r == 1, "src/format/writer.c phd_encoder_begin: type id 0x80000000 %s",
           r == 0 ? "never returns: the capacity doubling wraps a uint32_t to 0" : "could not be checked");
}

int main(void)
{
    footer_flags_rejected();
    encoder_begin_huge_type_id();
    return t_summary("test_regressions");
}
