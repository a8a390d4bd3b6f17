/*
 * outfile.c - writing output files without leaving partial ones behind
 * and without replacing what is not a regular file (pyheapdiff/outfile.h
 * has the rules).  Shared by the agent (built into phd_format_pic) and
 * the CLI.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyheapdiff/outfile.h"

/* Attempts before giving up on finding a free temporary name. */
#define TMP_TRIES 1000

static int fail(struct phd_error *err, const char *path, const char *what, int e)
{
    phd_error_set(err, "%s: %s: %s", path, what, strerror(e));
    errno = e;
    return -e;
}

int phd_tmpfile_create(const char *path, char *tmp, size_t cap)
{
    /* process-wide so that threads and repeated dumps never pick the
     * same name; a name left by a crash (or by a process that had our
     * pid) is skipped, never reused */
    static atomic_ulong counter;
    if (!tmp || cap == 0) {
        errno = EINVAL;
        return -EINVAL;
    }
    for (int tries = 0; tries < TMP_TRIES; tries++) {
        unsigned long n = atomic_fetch_add(&counter, 1) + 1;
        if (snprintf(tmp, cap, "%s.tmp-%ld-%lu", path, (long)getpid(), n) >= (int)cap) {
            tmp[0] = 0;
            errno = ENAMETOOLONG;
            return -ENAMETOOLONG;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0) {
            int e = errno;
            tmp[0] = 0;
            errno = e;
            return -e;
        }
        /* 0600 whatever the umask: a umask can only take bits away, and
         * 0400 or 0000 would lock the owner out of their own file */
        if (fchmod(fd, 0600) < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            tmp[0] = 0;
            errno = e;
            return -e;
        }
        return fd;
    }
    tmp[0] = 0;
    errno = EEXIST;
    return -EEXIST;
}

int phd_outfile_open(struct phd_outfile *o, const char *path, unsigned flags, struct phd_error *err)
{
    *o = (struct phd_outfile){.path = path, .fd = -1};
    if ((flags & PHD_OUTFILE_STDOUT) && strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
        o->in_place = o->is_stdout = 1;
        return 0;
    }
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
            /* written in place: O_TRUNC is ignored by devices and FIFOs */
            o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
            if (o->fd < 0)
                return fail(err, path, "cannot write", errno);
            o->in_place = 1;
            return 0;
        }
        if (S_ISDIR(st.st_mode))
            return fail(err, path, "cannot write", EISDIR);
        if (!S_ISREG(st.st_mode)) {
            phd_error_set(err, "%s: not a regular file, a character device or a FIFO; not replacing it", path);
            errno = EINVAL;
            return -EINVAL;
        }
    }
    int fd = phd_tmpfile_create(path, o->tmp, sizeof o->tmp);
    if (fd < 0)
        return fail(err, path, fd == -ENAMETOOLONG ? "path too long" : "cannot write", -fd);
    o->fd = fd;
    return 0;
}

FILE *phd_outfile_stream(struct phd_outfile *o, struct phd_error *err)
{
    if (o->is_stdout) {
        o->f = stdout;
        return stdout;
    }
    o->f = fdopen(o->fd, "w");
    if (!o->f) {
        fail(err, o->path, "cannot write", errno);
        return NULL;
    }
    return o->f;
}

int phd_outfile_commit(struct phd_outfile *o, struct phd_error *err)
{
    int e = 0;
    errno = 0;
    if (o->f) {
        if (fflush(o->f) != 0 || ferror(o->f))
            e = errno ? errno : EIO;
        if (!o->is_stdout && fclose(o->f) != 0 && !e)
            e = errno ? errno : EIO;
        o->f = NULL;
        o->fd = -1;
    } else if (o->fd >= 0 && !o->is_stdout) {
        if (close(o->fd) != 0)
            e = errno;
        o->fd = -1;
    }
    o->fd = -1;
    if (!e && o->tmp[0] && rename(o->tmp, o->path) != 0)
        e = errno;
    if (e) {
        phd_outfile_abort(o);
        return fail(err, o->path, "cannot write", e);
    }
    o->tmp[0] = 0;
    return 0;
}

void phd_outfile_abort(struct phd_outfile *o)
{
    int saved = errno;
    if (o->f && !o->is_stdout)
        fclose(o->f);
    else if (o->f)
        fflush(o->f);
    else if (o->fd >= 0 && !o->is_stdout)
        close(o->fd);
    o->f = NULL;
    o->fd = -1;
    if (o->tmp[0])
        unlink(o->tmp);
    o->tmp[0] = 0;
    errno = saved;
}
