/*
 * filekind.c - what a file is, from its first bytes: a snapshot (the
 * format's magic) or an SQLite database (SQLite's header string).  Needs
 * neither the reader nor SQLite, so any command can pick how to open an
 * input before opening it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pyheapdiff/format.h"

int phd_file_kind(const char *path, struct phd_error *err)
{
    unsigned char b[16] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return phd_error_set(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return phd_error_set(err, "%s: is a directory", path);
    }
    ssize_t n = read(fd, b, sizeof b);
    close(fd);
    if (n < 0)
        return phd_error_set(err, "%s: cannot read: %s", path, strerror(errno));
    if (n >= 8 && memcmp(b, PHD_MAGIC, 8) == 0)
        return PHD_FILE_SNAPSHOT;
    if (n == 16 && memcmp(b, "SQLite format 3", 16) == 0)
        return PHD_FILE_DATABASE;
    return PHD_FILE_OTHER;
}
