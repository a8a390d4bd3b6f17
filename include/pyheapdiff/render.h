/*
 * pyheapdiff/render.h - objgraph-style reference graphs of chosen objects,
 * built with Graphviz's cgraph and laid out and rendered in-process by
 * gvc (no 'dot' program, no hand-written DOT).
 */
#ifndef PYHEAPDIFF_RENDER_H
#define PYHEAPDIFF_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/error.h"
#include "pyheapdiff/graph.h"

/* What reaches the layout engine at most: dot's crossing minimisation is
 * superlinear and recursive, so a bigger picture could take minutes or
 * overflow its stack (issue 15).  The walk stops adding objects and
 * references at these and says so in *truncated. */
#define PHD_RENDER_MAX_NODES 400
#define PHD_RENDER_MAX_EDGES 600

struct phd_render_opts {
    const uint32_t *chosen;     /* the objects the picture is about */
    size_t n_chosen;
    int refs;                   /* draw what they refer to instead of what refers to them */
    int path_only;              /* only their retention paths from the roots */
    unsigned max_depth;         /* hops from the chosen objects (default 3) */
    unsigned too_many;          /* more referrers than this fold into one node (default 10) */
    int roots_stop;             /* do not walk past roots (default 1) */
    const uint8_t *type_ok;     /* per type id: may be drawn (NULL: all) */
    const uint8_t *highlight;   /* per type id: highlighted (NULL: none) */
    unsigned max_nodes;         /* 0: PHD_RENDER_MAX_NODES (more is capped to it) */
    unsigned max_edges;         /* 0: PHD_RENDER_MAX_EDGES (likewise) */
    int *truncated;             /* if not NULL: set to 1 when a cap left something out, else 0 */
};

/* Renders to out_path in `format` (svg, png, pdf, dot), written under a
 * temporary name and renamed; out_path "-" writes DOT to stdout.  Returns
 * the number of nodes drawn, or -1 with err set. */
int phd_render_graph(const struct phd_graph *g, const struct phd_render_opts *o, const char *out_path,
                     const char *format, struct phd_error *err);
/* Renders in memory (format svg, png, ...): *data is a malloc'd buffer of
 * *len bytes, NUL-terminated, that the caller frees.  Returns the number
 * of nodes drawn, or -1 with err set (and *data NULL). */
int phd_render_graph_data(const struct phd_graph *g, const struct phd_render_opts *o, const char *format,
                          char **data, size_t *len, struct phd_error *err);

#endif
