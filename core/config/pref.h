/* Plugin references of the experiment (pref.c): a plugin and its resolved parameters. */
#ifndef FANIN_CONFIG_PREF_H
#define FANIN_CONFIG_PREF_H

#include "config/loc.h"
#include "plugin/registry.h"
#include <fanin/plugin.h>

struct fanin__node;
struct fanin__errs;

/* A plugin chosen by the experiment, with its resolved parameters. */
typedef struct fanin__pref {
    const fanin__entry *entry;
    fanin_value *params; /* entry->n_params values in schema order (owned by the experiment) */
    fanin__loc loc;
    char *text; /* compact form for tables: "normal(std=0.01)" (owned) */
} fanin__pref;

/* Resolve a plugin reference node (a name, or a mapping with `name` and parameters) of `kind`
 * against reg. `skip` names a host key the mapping may carry that is not a parameter (the
 * optimizer's "lr"), or NULL. `what` names the reference in messages ("model.defaults.init").
 * Every problem is added to errs; returns FANIN_OK or the first error's code. */
int fanin__pref_from_node(fanin__pref *out, const fanin_registry *reg, int kind,
                          const struct fanin__node *n, const char *skip, struct fanin__errs *errs);
/* The same for a known plugin: `map` (may be NULL) holds the parameters. */
int fanin__pref_from_entry(fanin__pref *out, const fanin__entry *e, const struct fanin__node *map,
                           const fanin__loc *loc, const char *skip, struct fanin__errs *errs);
int fanin__pref_copy(fanin__pref *dst, const fanin__pref *src);

/* A plugin parameter from text (for `fanin init-stats --param K=V`). */
int fanin__pref_from_args(fanin__pref *out, const fanin__entry *e, const char *const *kv,
                          size_t n_kv, char *err, size_t errlen);
void fanin__pref_deinit(fanin__pref *p); /* for prefs made by _from_args */

#endif /* FANIN_CONFIG_PREF_H */
