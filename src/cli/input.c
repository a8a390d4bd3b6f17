/*
 * input.c - what the analysis commands take as input: snapshot files,
 * read into memory, or snapshots of a database made by 'pyheapdiff load',
 * chosen with --snapshot ID.  The file's first bytes decide which, not its
 * name.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/store.h"

int cli_add_snapshot_id(struct cli_inputs *in, const char *val)
{
    char *end;
    long long v = strtoll(val, &end, 10);
    if (end == val || *end || v <= 0)
        return cli_fail("--snapshot takes a snapshot id (a whole number >= 1), not '%s'", val), -1;
    if (in->n_ids == CLI_MAX_INPUTS)
        return cli_fail("--snapshot given more than %d times", CLI_MAX_INPUTS), -1;
    in->ids[in->n_ids++] = v;
    return 0;
}

/* One census per requested input, in order.  Database inputs take the
 * --snapshot ids in order; a database with one snapshot needs none; one
 * database path with several ids stands for that many inputs. */
int cli_load_censuses(const struct cli_inputs *in, int want, int with_objects, struct phd_census **out)
{
    struct phd_error err;
    int got = 0, next_id = 0;
    const char *paths[CLI_MAX_INPUTS];
    int npaths = in->n_paths;
    for (int i = 0; i < npaths; i++)
        paths[i] = in->paths[i];
    if (npaths == 1 && in->n_ids == want && want > 1)
        for (int i = 1; i < want; i++)
            paths[npaths++] = in->paths[0];
    if (npaths != want)
        return cli_fail("expected %d snapshot%s, got %d", want, want == 1 ? "" : "s", npaths), -1;

    for (int i = 0; i < npaths; i++) {
        int kind = phd_file_kind(paths[i], &err);
        if (kind == PHD_FILE_ERROR) {
            cli_fail("%s", err.msg);
            goto fail;
        }
        if (kind == PHD_FILE_SNAPSHOT) {
            struct phd_snapshot *s = NULL;
            if (phd_snapshot_open(&s, paths[i], 0, &err) < 0 ||
                phd_census_from_snapshot(&out[got], s, with_objects, &err) < 0) {
                phd_snapshot_free(&s);
                cli_fail("%s", err.msg);
                goto fail;
            }
            phd_snapshot_free(&s);
            got++;
            continue;
        }
        if (kind != PHD_FILE_DATABASE) {
            cli_fail("%s: neither a pyheapdiff snapshot nor a database", paths[i]);
            goto fail;
        }
        struct phd_store *st = NULL;
        if (phd_store_open(&st, paths[i], PHD_STORE_READ, &err) < 0) {
            cli_fail("%s", err.msg);
            goto fail;
        }
        int64_t id;
        if (next_id < in->n_ids) {
            id = in->ids[next_id++];
        } else {
            int64_t *ids = NULL;
            size_t n = 0;
            if (phd_store_snapshot_ids(st, &ids, &n, &err) < 0) {
                phd_store_close(&st);
                cli_fail("%s", err.msg);
                goto fail;
            }
            id = n ? ids[0] : 0;
            free(ids);
            if (n != 1) {
                phd_store_close(&st);
                if (n)
                    cli_fail("%s: holds %zu snapshots; choose one with --snapshot ID", paths[i], n);
                else
                    cli_fail("%s: holds no snapshot", paths[i]);
                goto fail;
            }
        }
        int rc = phd_store_census(st, id, with_objects, &out[got], &err);
        phd_store_close(&st);
        if (rc < 0) {
            cli_fail("%s", err.msg);
            goto fail;
        }
        got++;
    }
    if (next_id < in->n_ids) {
        cli_fail("--snapshot given %d time%s but only %d database input%s", in->n_ids, in->n_ids == 1 ? "" : "s",
                 next_id, next_id == 1 ? "" : "s");
        goto fail;
    }
    return 0;
fail:
    for (int i = 0; i < got; i++)
        phd_census_free(&out[i]);
    return -1;
}
