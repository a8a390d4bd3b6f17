/*
 * input.c - what the commands take as input, opened once for all of them
 * (cli_open) as their row of the command table says: snapshot files, read
 * into memory, with the graph of the last; censuses of snapshot files or
 * of snapshots of a database made by 'pyheapdiff load', chosen with
 * --snapshot ID; or a database to query.  The file's first bytes decide
 * what a file is, not its name.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pyheapdiff/census.h"
#include "pyheapdiff/graph.h"
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
static int load_censuses(const struct cli_inputs *in, int want, int with_objects, struct phd_census **out)
{
    struct phd_error err;
    int got = 0, next_id = 0;
    const char *paths[CLI_MAX_INPUTS];
    int npaths = in->n_args < CLI_MAX_INPUTS ? in->n_args : CLI_MAX_INPUTS;
    for (int i = 0; i < npaths; i++)
        paths[i] = in->args[i];
    if (npaths == 1 && in->n_ids == want && want > 1)
        for (int i = 1; i < want; i++)
            paths[npaths++] = in->args[0];
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

int cli_check_args(const struct cli_command *cmd, int n)
{
    if (n >= cmd->min_args && (cmd->max_args < 0 || n <= cmd->max_args))
        return 0;
    cli_fail("%s: expected %s (see 'pyheapdiff %s --help')", cmd->name, cmd->expects, cmd->name);
    return -1;
}

void cli_close(struct cli_inputs *in)
{
    for (int i = 0; i < CLI_MAX_INPUTS; i++)
        phd_census_free(&in->census[i]);
    phd_graph_free(&in->g);
    phd_snapshot_free(&in->s);
    phd_store_close(&in->store);
}

/* A snapshot file (the graph commands need one, not a database). */
static int open_snapshot(const char *path, struct phd_snapshot **s)
{
    struct phd_error err;
    *s = NULL;
    int kind = phd_file_kind(path, &err);
    if (kind == PHD_FILE_ERROR)
        return cli_fail("%s", err.msg), -1;
    if (kind == PHD_FILE_DATABASE)
        return cli_fail("%s: a database; this command reads snapshot files (give the .snap)", path), -1;
    if (phd_snapshot_open(s, path, 0, &err) < 0)
        return cli_fail("%s", err.msg), -1;
    return 0;
}

/* The same, and its graph. */
static int open_snapshot_graph(const char *path, struct phd_snapshot **s, struct phd_graph **g)
{
    struct phd_error err;
    *g = NULL;
    if (open_snapshot(path, s) < 0)
        return -1;
    if (phd_graph_build(g, *s, &err) < 0) {
        phd_snapshot_free(s);
        return cli_fail("%s", err.msg), -1;
    }
    return 0;
}

/* The graph commands: the earlier snapshots as censuses (addresses and
 * types), each freed before the next is read (less memory at the peak),
 * then the last with its graph, and its census first when the command
 * wants it (the census's sort needs as much memory again as its arrays:
 * not while the graph is alive as well). */
static int open_graph(const struct cli_command *cmd, struct cli_inputs *in)
{
    struct phd_error err;
    for (int i = 0; i < in->n_args - 1; i++) {
        struct phd_snapshot *s = NULL;
        if (open_snapshot(in->args[i], &s) < 0)
            return -1;
        int rc = phd_census_from_snapshot(&in->census[i], s, 1, &err);
        phd_snapshot_free(&s);
        if (rc < 0)
            return cli_fail("%s", err.msg), -1;
    }
    if (!cmd->census_objects)
        return open_snapshot_graph(in->args[in->n_args - 1], &in->s, &in->g);
    if (open_snapshot(in->args[in->n_args - 1], &in->s) < 0)
        return -1;
    if (phd_census_from_snapshot(&in->census[in->n_args - 1], in->s, 1, &err) < 0 ||
        phd_graph_build(&in->g, in->s, &err) < 0)
        return cli_fail("%s", err.msg), -1;
    return 0;
}

/* sql's: one database, or snapshot files seen as one database (virtual
 * tables over them); the last argument is not an input. */
static int open_store(const struct cli_command *cmd, struct cli_inputs *in)
{
    struct phd_error err;
    int nfiles = in->n_args - 1;
    int kind = phd_file_kind(in->args[0], &err);
    if (kind == PHD_FILE_ERROR)
        return cli_fail("%s", err.msg), -1;
    if (kind != PHD_FILE_SNAPSHOT && nfiles != 1)
        return cli_fail("%s: expected one database or snapshot files, then one query (see 'pyheapdiff %s --help')",
                        cmd->name, cmd->name),
               -1;
    if ((kind == PHD_FILE_SNAPSHOT ? phd_store_open_snapshots(&in->store, (const char *const *)in->args, nfiles, &err)
                                   : phd_store_open(&in->store, in->args[0], PHD_STORE_READ, &err)) < 0)
        return cli_fail("%s", err.msg), -1;
    return 0;
}

int cli_open(const struct cli_command *cmd, int n, char **args, struct cli_inputs *in)
{
    struct phd_error err;
    if (cli_check_args(cmd, n) < 0)
        return -1;
    in->args = args;
    in->n_args = n;
    int rc = 0;
    switch (cmd->opens) {
    case CLI_OPENS_NOTHING:
        break;
    case CLI_OPENS_SNAPSHOT:
        if (phd_snapshot_open(&in->s, args[0], 0, &err) < 0) {
            cli_fail("%s", err.msg);
            rc = -1;
        }
        break;
    case CLI_OPENS_GRAPH:
        rc = open_graph(cmd, in);
        break;
    case CLI_OPENS_CENSUSES:
        rc = load_censuses(in, cmd->censuses, cmd->census_objects, in->census);
        break;
    case CLI_OPENS_STORE:
        rc = open_store(cmd, in);
        break;
    }
    if (rc < 0)
        cli_close(in);
    return rc;
}
