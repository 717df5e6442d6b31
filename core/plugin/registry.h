/* The plugins found on the search path (loader.c): loading, checking and looking up
 * shared objects by kind and name. What a plugin does when called is host.h's business. */
#ifndef FANIN_PLUGIN_REGISTRY_H
#define FANIN_PLUGIN_REGISTRY_H

#include <fanin/plugin.h>
#include <stddef.h>

typedef struct fanin__entry {
    const fanin_plugin *plugin; /* borrowed from the mapped library, valid until exit */
    const char *path;           /* the .so it came from (owned by the registry) */
    size_t n_params;            /* rows in plugin->params before the NULL row */
} fanin__entry;

typedef struct fanin_registry fanin_registry;

/* A registry with every plugin found on the search path: `extra` folders or files first (may
 * be NULL), then $FANIN_PLUGIN_PATH (secure_getenv), then the build tree's and install
 * prefix's plugin folders found relative to the running executable. Never the current
 * directory. On error (a bad plugin, a duplicate name) err names the file and the fix. */
int fanin__registry_new(fanin_registry **out, const char *const *extra, size_t n_extra, char *err,
                        size_t errlen);
/* Load one shared object into the registry (used by the above and by `fanin check`). */
int fanin__registry_load(fanin_registry *r, const char *path, char *err, size_t errlen);
/* A registry with no plugins, filled only by fanin__registry_load (`fanin check FILE`, tests).
 * Returns FANIN_OK or FANIN_ENOMEM. */
int fanin__registry_new_empty(fanin_registry **out);
void fanin__registry_free(fanin_registry *r); /* plugins stay mapped until exit */

size_t fanin__registry_count(const fanin_registry *r);
const fanin__entry *fanin__registry_at(const fanin_registry *r, size_t i);
const fanin__entry *fanin__registry_find(const fanin_registry *r, int kind, const char *name);
/* The nearest name of that kind, or NULL. */
const char *fanin__registry_suggest(const fanin_registry *r, int kind, const char *name);
/* The folders searched, joined with ':' (for messages). */
const char *fanin__registry_search_path(const fanin_registry *r);
const char *fanin__kind_name(int kind); /* "initializer", "activation", "optimizer" */

/* Every parameter of e at its schema default (out: e->n_params values; STRING defaults are
 * borrowed from the schema). */
void fanin__params_defaults(const fanin__entry *e, fanin_value *out);

#endif /* FANIN_PLUGIN_REGISTRY_H */
