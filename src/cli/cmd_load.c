/*
 * cmd_load.c - pyheapdiff load SNAPSHOT... [-o DB]: snapshots into SQLite.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "pyheapdiff/output.h"
#include "pyheapdiff/progress.h"
#include "pyheapdiff/store.h"

/* The store's progress (a snapshot's objects as they are inserted, then
 * the indexes) as phases of the CLI's progress line (main.c). */
struct load_progress {
    uint64_t total, done; /* of the phase begun last */
};

static void progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
    struct load_progress *p = arg;
    (void)what;
    /* a new phase: another total, or a count that starts again (the
     * reader's own phases came in between) */
    if (total != p->total || done < p->done || !p->total)
        phd_progress_begin(total ? "loading objects" : "creating indexes", total);
    p->total = total;
    p->done = done;
    phd_progress_tick(done);
}

int cmd_load(const struct cli_command *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            return cli_help(cmd);
        default:
            return cli_bad_option(cmd, c, argc, argv);
        }
    }
    /* Opens nothing through cli_open (its row says so): the library's
     * phd_store_load_files reads the snapshots one at a time into the
     * database it writes, in one transaction. */
    int n = argc - optind;
    if (cli_check_args(cmd, n) < 0)
        return PHD_EXIT_USAGE;
    char *def = NULL;
    if (!out) {
        /* a.snap -> a.db beside it */
        const char *first = argv[optind];
        size_t len = strlen(first);
        def = malloc(len + 4);
        if (!def)
            return cli_fail("load: out of memory");
        memcpy(def, first, len + 1);
        if (len > 5 && strcmp(first + len - 5, ".snap") == 0)
            def[len - 5] = 0;
        strcat(def, ".db");
        out = def;
    }
    struct phd_load_result *res = calloc((size_t)n, sizeof *res);
    if (!res) {
        free(def);
        return cli_fail("load: out of memory");
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct phd_error err;
    struct load_progress lp = {UINT64_MAX, 0};
    int rc = phd_store_load_files(out, (const char *const *)&argv[optind], n, res, progress, &lp, &err);
    phd_progress_end();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc < 0) {
        free(res);
        free(def);
        return cli_fail("%s", err.msg);
    }
    if (json) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:I, s:b}", "snapshot", argv[optind + i], "id",
                                                 (json_int_t)res[i].id, "already_loaded", res[i].already));
        phd_json_print(json_pack("{s:s, s:o, s:f}", "database", out, "snapshots", arr, "seconds", secs), stdout);
    } else {
        for (int i = 0; i < n; i++)
            printf("%s: %s snapshot %lld in %s\n", argv[optind + i], res[i].already ? "already loaded as" : "loaded as",
                   (long long)res[i].id, out);
        printf("(%.2f s)\n", secs);
    }
    free(res);
    free(def);
    return PHD_EXIT_OK;
}
