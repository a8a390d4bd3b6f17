/*
 * types.h - rules about types that every command, the report and the
 * Python package (through the CLI's JSON) share: which name a --type
 * argument selects, and where a type comes from (builtin, standard
 * library, third-party, the user's own code).
 */
#ifndef PYHEAPDIFF_TYPES_H
#define PYHEAPDIFF_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapdiff/format.h"

/* Whether the module-qualified type name matches want: want equals name,
 * or want has no dot and is name's last dotted part ("Widget" matches
 * "app.ui.Widget"). */
int phd_type_name_matches(const char *name, const char *want);

/* The selection of --only and --type: a type is selected when its origin
 * is in the mask (PHD_ORIGIN_BIT; 0: any) and its name matches one of
 * types (none: any). */
int phd_type_selected(const char *name, unsigned origin, unsigned origins, const char *const *types,
                      size_t n_types);

/* "builtin", "stdlib", "third-party", "user" or "unknown". */
const char *phd_origin_name(unsigned origin);
/* The PHD_ORIGIN_* a word names ("stdlib"...), or -1. */
int phd_origin_parse(const char *word);
/* A bit per origin (1u << PHD_ORIGIN_*): the set --only selects. */
#define PHD_ORIGIN_BIT(o) (1u << (o))

/* The origin of type t of s: as the agent recorded it (TYPE_ORIGINS), or,
 * for snapshots without that chunk, phd_origin_guess of its name. */
unsigned phd_snapshot_type_origin(const struct phd_snapshot *s, uint32_t t);
/* From the name alone: a name without a module is builtin, __main__'s
 * types are the user's, anything else is unknown. */
unsigned phd_origin_guess(const char *name);

/*
 * The origin of each module of modules[0..n) (nodes of type "module"),
 * into origins[k] (enum phd_origin), from what the snapshot records:
 * __main__ is the user's; else the origin the agent recorded for the types
 * of the module, or of its closest enclosing package that has types
 * (TYPE_ORIGINS), when they agree; else its __file__ (a value
 * preview: snapshots with values): under site-packages or dist-packages is
 * third-party, in the folder the standard library's modules (by their
 * types) were loaded from is stdlib, elsewhere the user's; a module
 * without __file__ is stdlib when Python's builtin or frozen importer
 * loaded it, else one made at run time (types.ModuleType): the user's.
 * pyheapdiff's own modules are third-party, as the agent has them.  What
 * cannot be told (no values recorded) is unknown.  O(types + modules' globals).  Returns 0, or
 * -1 when out of memory.
 */
int phd_module_origins(const struct phd_snapshot *s, const uint32_t *modules, size_t n, uint8_t *origins);

#endif
