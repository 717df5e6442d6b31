/* The key-table interpreter: reads a mapping by its table of known keys (fanin__key), with
 * unknown keys and "did you mean", keys not allowed for a data source, strict types, ranges,
 * paths made absolute and required keys. The tables themselves are the sections' (resolve.c,
 * section_data.c, section_model.c, schedule.c); this file knows none of them. */
#include "config/keys.h"
#include "base/errors.h"
#include "config/errs.h"
#include "config/loc.h"
#include "config/pref.h"
#include "config/sections.h"
#include "config/tree.h"
#include "config/values.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- messages ---- */

int fanin__rerr(fanin__rctx *r, const fanin__node *n, const char *fmt, ...) {
    fanin__loc whole = {r->x->source_file, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    fanin__errs_vadd(r->errs, FANIN_ECONFIG, n ? &n->loc : &whole, fmt, ap);
    va_end(ap);
    return FANIN_ECONFIG;
}

const fanin__key *fanin__key_find(const fanin__key *table, const char *name) {
    for (; table && table->name; table++)
        if (!strcmp(table->name, name)) return table;
    return NULL;
}

size_t fanin__key_names(const fanin__key *table, const char **out, size_t cap, unsigned bit) {
    size_t n = 0;
    for (; table && table->name && n < cap; table++)
        if (!bit || !table->sources || (table->sources & bit)) out[n++] = table->name;
    return n;
}

static void names_text(const char *const *names, size_t n, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
}

static int unknown_key(fanin__rctx *r, const fanin__node *key, const fanin__key *table,
                       const char *path) {
    const char *names[64], *near;
    char list[600], where[300] = "";
    size_t n = fanin__key_names(table, names, 64, 0);
    near = fanin__nearest(key->text, names, n);
    if (path) snprintf(where, sizeof where, " in '%s'", path);
    if (near)
        return fanin__rerr(r, key, "unknown key '%s'%s; did you mean '%s'?", key->text, where,
                           near);
    names_text(names, n, list, sizeof list);
    return fanin__rerr(r, key, "unknown key '%s'%s (known keys: %s)", key->text, where, list);
}

static int wrong_source(fanin__rctx *r, const fanin__node *key, const fanin__key *table,
                        const char *path, unsigned bit) {
    const char *names[64], *src = "?";
    char list[600];
    for (int i = 0; fanin__sources[i]; i++)
        if (bit == 1u << i) src = fanin__sources[i];
    names_text(names, fanin__key_names(table, names, 64, bit), list, sizeof list);
    return fanin__rerr(r, key, "'%s' is not a key of data source '%s' (its keys: %s)", path, src,
                       list);
}

/* ---- reading one value by its row ---- */

static fanin_param_spec spec_of(const fanin__key *k) {
    fanin_param_spec s = {k->name,
                          FANIN_PARAM_STRING,
                          k->flags & ~FANIN__KEY_REQUIRED,
                          0.0,
                          k->min,
                          k->max,
                          k->choices,
                          NULL,
                          k->doc};
    switch (k->type) {
    case FANIN__KEY_I64:
    case FANIN__KEY_INT:
    case FANIN__KEY_U64: s.type = FANIN_PARAM_I64; break;
    case FANIN__KEY_F64: s.type = FANIN_PARAM_F64; break;
    case FANIN__KEY_ENUM: s.type = FANIN_PARAM_ENUM; break;
    default: s.type = k->choices ? FANIN_PARAM_ENUM : FANIN_PARAM_STRING; break;
    }
    return s;
}

int fanin__key_store_text(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                          const char *path, char *field, const char *text) {
    if (strlen(text) >= k->size)
        return fanin__rerr(r, val, "'%s' is too long (at most %zu characters)", path, k->size - 1);
    memcpy(field, text, strlen(text) + 1);
    return FANIN_OK;
}

/* A file name made absolute: relative to the experiment file's folder when it came from the
 * file, to the current directory when it came from --set. */
static int store_path(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      char *field, const char *text) {
    char cwd[PATH_MAX], buf[PATH_MAX + 1024];
    const char *dir = r->c->dir;
    if (!*text) return fanin__rerr(r, val, "'%s' is empty; give a file name", path);
    if (text[0] == '/') return fanin__key_store_text(r, k, val, path, field, text);
    if (val->loc.file != r->x->source_file) dir = getcwd(cwd, sizeof cwd) ? cwd : ".";
    while (text[0] == '.' && text[1] == '/') text += 2;
    snprintf(buf, sizeof buf, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", text);
    return fanin__key_store_text(r, k, val, path, field, buf);
}

/* Seeds use all 64 bits, beyond what an I64 value holds. */
static bool read_u64(const fanin__node *val, uint64_t *out) {
    const char *t = val->text;
    if (val->type != FANIN__SCALAR || !val->plain || !*t || strspn(t, "0123456789") != strlen(t))
        return false;
    errno = 0;
    unsigned long long u = strtoull(t, NULL, 10);
    *out = (uint64_t)u;
    return errno != ERANGE;
}

static int read_scalar(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                       const char *path, char *field) {
    fanin_param_spec s = spec_of(k);
    if (k->type == FANIN__KEY_U64 && read_u64(val, (uint64_t *)field)) return FANIN_OK;
    fanin_value v;
    char msg[FANIN_ERRLEN];
    if (fanin__value_read(&s, val, &v, msg, sizeof msg) != FANIN_OK)
        return fanin__rerr(r, val, "'%s' %s", path, msg);
    switch (k->type) {
    case FANIN__KEY_I64: *(int64_t *)field = v.i; break;
    case FANIN__KEY_INT: *(int *)field = (int)v.i; break;
    case FANIN__KEY_U64: *(uint64_t *)field = (uint64_t)v.i; break;
    case FANIN__KEY_F64: *(double *)field = v.f; break;
    case FANIN__KEY_ENUM: *(int *)field = v.e; break;
    case FANIN__KEY_PATH: return store_path(r, k, val, path, field, v.s);
    default:
        return fanin__key_store_text(r, k, val, path, field, k->choices ? k->choices[v.e] : v.s);
    }
    return FANIN_OK;
}

static int read_value(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base) {
    char *field = (char *)base + k->off;
    if (k->fn) return k->fn(r, k, val, path, base);
    switch (k->type) {
    case FANIN__KEY_MAP: return fanin__apply_map(r, val, k->sub, base, path, 0);
    case FANIN__KEY_PREF: {
        fanin__pref *p = (fanin__pref *)field, np;
        int rc = fanin__pref_from_node(&np, r->reg, k->kind, val, NULL, r->errs);
        if (rc == FANIN_OK) {
            fanin__pref_deinit(p);
            *p = np;
        }
        return rc;
    }
    case FANIN__KEY_LIST:
    case FANIN__KEY_ANY: return FANIN_OK; /* only through fn */
    default: return read_scalar(r, k, val, path, field);
    }
}

int fanin__apply_map(fanin__rctx *r, const fanin__node *map, const fanin__key *table, void *base,
                     const char *path, unsigned source_bit) {
    int rc = FANIN_OK;
    if (fanin__node_is_null(map)) {
        map = NULL;
    } else if (map->type != FANIN__MAP) {
        char got[120];
        fanin__node_describe(map, got, sizeof got);
        return fanin__rerr(r, map, "'%s' must be a mapping (key: value), got %s", path, got);
    }
    for (size_t i = 0; map && i < map->n; i++) {
        const fanin__node *key = map->keys[i], *val = map->vals[i];
        const fanin__key *k = fanin__key_find(table, key->text);
        char child[512];
        snprintf(child, sizeof child, "%s%s%s", path ? path : "", path ? "." : "", key->text);
        if (!k) rc = unknown_key(r, key, table, path);
        else if (source_bit && k->sources && !(k->sources & source_bit))
            rc = wrong_source(r, key, table, child, source_bit);
        else if (!fanin__node_is_null(val) && read_value(r, k, val, child, base) != FANIN_OK)
            rc = FANIN_ECONFIG;
    }
    for (const fanin__key *k = table; k->name; k++) {
        const fanin__node *kn = NULL;
        if (!(k->flags & FANIN__KEY_REQUIRED) ||
            !fanin__node_is_null(fanin__node_get(map, k->name, &kn)))
            continue;
        rc = fanin__rerr(r, kn ? kn : map, "missing required key '%s%s%s'%s%s%s", path ? path : "",
                         path ? "." : "", k->name, k->doc ? " (" : "", k->doc ? k->doc : "",
                         k->doc ? ")" : "");
    }
    return rc;
}
