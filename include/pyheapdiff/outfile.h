/*
 * pyheapdiff/outfile.h - the one way every output file is written: the
 * agent's snapshots, `report -o`, `graph -o`, and `load`'s new database.
 *
 * A path that names a regular file, nothing yet, or a symbolic link is
 * written under a fresh temporary name beside it (PATH.tmp-PID-N, created
 * with O_EXCL and mode 0600 whatever the umask; another N is tried when
 * that name is taken) and renamed over PATH when complete, so a failure
 * leaves no partial file and an existing file is replaced, never
 * rewritten.  A symbolic link is replaced by the new file; its target is
 * not touched.
 *
 * A path that names a character device or a FIFO (also through a link,
 * as /dev/stdout or /dev/fd/N often are) is opened and written in place:
 * /dev/null discards, /dev/full fails with ENOSPC, a FIFO's reader gets
 * the bytes.  Its mode is left alone.  "-" is standard output when the
 * caller allows it.  Any other kind of file (a directory, a block device,
 * a socket) is refused.
 *
 * Functions return 0 or a negative errno value (errno is set to the same
 * value) and fill err, when not NULL, with a line naming the path.
 */
#ifndef PYHEAPDIFF_OUTFILE_H
#define PYHEAPDIFF_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

#include "pyheapdiff/error.h"

enum {
    PHD_OUTFILE_STDOUT = 1, /* "-" means standard output */
};

struct phd_outfile {
    const char *path; /* as given (borrowed) */
    char tmp[4200];   /* the temporary name, "" when writing in place */
    int fd;           /* -1 once closed */
    FILE *f;          /* set by phd_outfile_stream */
    int in_place;     /* a device, a FIFO or standard output */
    int is_stdout;
};

/* Opens path for writing as above; o->fd is the descriptor to write. */
int phd_outfile_open(struct phd_outfile *o, const char *path, unsigned flags, struct phd_error *err);
/* A stdio stream over o->fd (which it then owns); NULL with err set. */
FILE *phd_outfile_stream(struct phd_outfile *o, struct phd_error *err);
/* Flushes and closes, then renames the temporary over the path.  On any
 * failure the temporary is removed.  o is finished either way. */
int phd_outfile_commit(struct phd_outfile *o, struct phd_error *err);
/* Closes and removes the temporary (nothing for in-place writes); saves
 * and restores errno.  Safe to call after commit and twice. */
void phd_outfile_abort(struct phd_outfile *o);

/* Creates a new empty file named after path (PATH.tmp-PID-N, N counting
 * up past names that exist), mode 0600, into tmp[cap]; returns its
 * descriptor, or a negative errno value. */
int phd_tmpfile_create(const char *path, char *tmp, size_t cap);

#endif
