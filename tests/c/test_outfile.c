/*
 * test_outfile.c - src/util/outfile.c and src/util/text.c: how output
 * files are written (temporary names, 0600, symlinks, FIFOs, devices,
 * refusals, no partial files) and the strict UTF-8 check and terminal
 * escape every output uses (issue 15, items 4-8).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pyheapdiff/outfile.h"
#include "pyheapdiff/text.h"
#include "testutil.h"

static char dir[4096];

static const char *at(const char *name)
{
    static char buf[4][4200];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static int entries(void)
{
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static int write_all(struct phd_outfile *o, const char *text)
{
    size_t n = strlen(text);
    return write(o->fd, text, n) == (ssize_t)n ? 0 : -1;
}

static void test_regular_file(void)
{
    struct phd_outfile o;
    struct phd_error err;
    mode_t old = umask(0);
    CHECK(phd_outfile_open(&o, at("a.out"), 0, &err) == 0);
    CHECK(o.tmp[0] && !o.in_place && strstr(o.tmp, "a.out.tmp-"));
    CHECK(write_all(&o, "hello") == 0);
    CHECK(access(at("a.out"), F_OK) != 0); /* not there before commit */
    CHECK(phd_outfile_commit(&o, &err) == 0);
    umask(old);
    struct stat st;
    CHECK(stat(at("a.out"), &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 5);
    CHECK(entries() == 1);

    /* abort leaves nothing and the old file as it was */
    CHECK(phd_outfile_open(&o, at("a.out"), 0, &err) == 0);
    CHECK(write_all(&o, "partial") == 0);
    phd_outfile_abort(&o);
    phd_outfile_abort(&o); /* twice is fine */
    CHECK(stat(at("a.out"), &st) == 0 && st.st_size == 5 && entries() == 1);
    unlink(at("a.out"));
}

/* A stale temporary named like the next one is skipped, never reused. */
static void test_stale_temporary(void)
{
    struct phd_outfile o;
    struct phd_error err;
    char first[4200];
    int fd = phd_tmpfile_create(at("b.out"), first, sizeof first);
    CHECK(fd >= 0);
    close(fd);
    /* the next names this process will try, taken in advance */
    char name[4300];
    for (int k = 1; k <= 5; k++) {
        char *dash = strrchr(first, '-');
        unsigned long n = strtoul(dash + 1, NULL, 10);
        snprintf(name, sizeof name, "%.*s%lu", (int)(dash + 1 - first), first, n + (unsigned long)k);
        int f = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        CHECK(f >= 0);
        close(f);
    }
    CHECK(phd_outfile_open(&o, at("b.out"), 0, &err) == 0);
    CHECK(write_all(&o, "x") == 0 && phd_outfile_commit(&o, &err) == 0);
    struct stat st;
    CHECK(stat(at("b.out"), &st) == 0 && st.st_size == 1);
    CHECK(entries() == 7); /* b.out and the six stale names, untouched */
    system(strcat(strcpy(name, "rm -f "), at("b.out*")));
}

static void test_symlink_replaced(void)
{
    struct phd_outfile o;
    struct phd_error err;
    FILE *f = fopen(at("target"), "w");
    fputs("keep", f);
    fclose(f);
    CHECK(symlink("target", at("link.out")) == 0);
    CHECK(phd_outfile_open(&o, at("link.out"), 0, &err) == 0 && !o.in_place);
    CHECK(write_all(&o, "new") == 0 && phd_outfile_commit(&o, &err) == 0);
    struct stat st;
    CHECK(lstat(at("link.out"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 3);
    CHECK(stat(at("target"), &st) == 0 && st.st_size == 4);
    unlink(at("link.out"));
    unlink(at("target"));
}

static void test_fifo_written_in_place(void)
{
    struct phd_outfile o;
    struct phd_error err;
    CHECK(mkfifo(at("fifo"), 0600) == 0);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) { /* the reader: copies what it reads to the pipe */
        char buf[64];
        int fd = open(at("fifo"), O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
        if (n > 0 && write(pipefd[1], buf, (size_t)n) != n)
            _exit(1);
        _exit(0);
    }
    close(pipefd[1]);
    CHECK(phd_outfile_open(&o, at("fifo"), 0, &err) == 0 && o.in_place && !o.tmp[0]);
    CHECK(write_all(&o, "through") == 0 && phd_outfile_commit(&o, &err) == 0);
    char got[64] = "";
    ssize_t n = read(pipefd[0], got, sizeof got - 1);
    CHECK(n == 7 && memcmp(got, "through", 7) == 0);
    close(pipefd[0]);
    waitpid(pid, NULL, 0);
    struct stat st;
    CHECK(lstat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode) && entries() == 1);
    unlink(at("fifo"));
}

static void test_devices(void)
{
    struct phd_outfile o;
    struct phd_error err;
    /* Devices are opened, never replaced.  As root a regression could
     * rename a file over the machine's /dev/null, so root tests private
     * nodes; others cannot replace /dev's and use them. */
    const char *null = "/dev/null", *full = "/dev/full";
    if (geteuid() == 0) {
        null = at("null");
        full = at("full");
        if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0 || mknod(full, S_IFCHR | 0666, makedev(1, 7)) != 0) {
            printf("test_outfile: no device nodes here (%s); devices not tested\n", strerror(errno));
            unlink(null);
            return;
        }
    }
    CHECK(phd_outfile_open(&o, null, 0, &err) == 0 && o.in_place);
    CHECK(write_all(&o, "gone") == 0 && phd_outfile_commit(&o, &err) == 0);
    CHECK(phd_outfile_open(&o, full, 0, &err) == 0 && o.in_place);
    FILE *f = phd_outfile_stream(&o, &err);
    CHECK(f != NULL);
    fputs("no room", f);
    CHECKF(phd_outfile_commit(&o, &err) == -ENOSPC && strstr(err.msg, full) && strstr(err.msg, "No space left"),
           "%s", err.msg);
    struct stat st;
    CHECK(lstat(null, &st) == 0 && S_ISCHR(st.st_mode));
    CHECK(lstat(full, &st) == 0 && S_ISCHR(st.st_mode));
    if (null[0] != '/' || strncmp(null, "/dev/", 5) != 0) {
        unlink(null);
        unlink(full);
    }
}

static void test_refused(void)
{
    struct phd_outfile o;
    struct phd_error err;
    CHECK(mkdir(at("d"), 0700) == 0);
    CHECKF(phd_outfile_open(&o, at("d"), 0, &err) == -EISDIR && strstr(err.msg, "/d: "), "%s", err.msg);
    CHECK(phd_outfile_open(&o, at("nodir/x"), 0, &err) == -ENOENT && strstr(err.msg, "nodir/x"));
    CHECK(entries() == 1);
    rmdir(at("d"));
    /* "-" is a file name unless stdout is allowed */
    CHECK(phd_outfile_open(&o, "-", PHD_OUTFILE_STDOUT, &err) == 0 && o.is_stdout && o.fd == 1);
    CHECK(phd_outfile_commit(&o, &err) == 0);
    CHECK(fcntl(1, F_GETFD) != -1); /* not closed */
}

static void test_utf8_and_escape(void)
{
    static const struct {
        const char *s;
        int valid;
    } u[] = {
        {"plain", 1}, {"caf\xc3\xa9", 1}, {"\xe2\x82\xac", 1}, {"\xf0\x9f\x98\x80", 1}, {"\xf4\x8f\xbf\xbf", 1},
        {"\xc0\xaf", 0}, {"\xc1\xbf", 0}, {"\xe0\x80\xaf", 0}, {"\xf0\x80\x80\xaf", 0}, /* overlong */
        {"\xed\xa0\x80", 0}, {"\xed\xbf\xbf", 0},                                       /* surrogates */
        {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0}, {"\xff", 0}, {"\x80", 0}, {"\xe2\x82", 0},
    };
    for (size_t k = 0; k < sizeof u / sizeof *u; k++)
        CHECKF(phd_utf8_valid((const unsigned char *)u[k].s, strlen(u[k].s)) == u[k].valid, "case %zu", k);

    static const struct {
        const char *in, *out;
    } e[] = {
        {"ok \xc3\xa9", "ok \xc3\xa9"},
        {"\x1b[2Jx", "\\x1b[2Jx"},
        {"\x1b]0;t\x07", "\\x1b]0;t\\x07"},
        {"a\r\nb\tc", "a\\r\\nb\\tc"},
        {"W\xc0\x80" "A", "W\\0A"},
        {"\xc2\x9b" "31m", "\\u009b31m"},
        {"\x7f", "\\x7f"},
        {"bad\xff", "bad\\xff"},
        {"\xc2\xa0", "\xc2\xa0"}, /* NBSP is text */
    };
    for (size_t k = 0; k < sizeof e / sizeof *e; k++) {
        char buf[64];
        size_t n = phd_text_escape(e[k].in, buf, sizeof buf);
        CHECKF(strcmp(buf, e[k].out) == 0 && n == strlen(e[k].out), "escape %zu: '%s'", k, buf);
        char small[4];
        CHECK(phd_text_escape(e[k].in, small, sizeof small) == n && strlen(small) <= 3);
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/phd-outfile-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    test_regular_file();
    test_stale_temporary();
    test_symlink_replaced();
    test_fifo_written_in_place();
    test_devices();
    test_refused();
    test_utf8_and_escape();
    rmdir(dir);
    return t_summary("test_outfile");
}
