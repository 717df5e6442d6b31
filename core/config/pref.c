/* Plugin references: `he_normal` or `{name: normal, std: 0.01}` becomes a fanin__pref whose
 * fanin_value array follows the plugin's schema (types strict, ranges checked, defaults
 * filled), from the experiment file or from `--param K=V` arguments.
 * Not here: finding plugins (plugin/loader.c) or typed values themselves (values.c). */
#include "config/pref.h"
#include "base/errors.h"
#include "config/errs.h"
#include "config/loc.h"
#include "config/tree.h"
#include "config/values.h"
#include "plugin/registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One block: n values, then the STRING values' bytes (so freeing params frees them). */
static fanin_value *pack_values(const fanin_param_spec *spec, const fanin_value *v, size_t n) {
    size_t size = n * sizeof *v, o = size;
    for (size_t i = 0; i < n; i++)
        if (spec[i].type == FANIN_PARAM_STRING) size += strlen(v[i].s) + 1;
    fanin_value *out = malloc(size ? size : 1);
    if (!out) return NULL;
    memcpy(out, v, n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        if (spec[i].type == FANIN_PARAM_STRING) {
            size_t l = strlen(v[i].s) + 1;
            out[i].s = memcpy((char *)out + o, v[i].s, l);
            o += l;
        }
    return out;
}

/* "normal(std=0.01)": the name, then the given parameters in schema order. */
static char *pref_text(const fanin__entry *e, const fanin_value *v, const bool *given) {
    char *s = NULL, val[300];
    size_t len = 0;
    int rc = fanin__str_appendf(&s, &len, "%s", e->plugin->name), k = 0;
    for (size_t i = 0; i < e->n_params && rc == FANIN_OK; i++) {
        if (!given[i]) continue;
        fanin__value_format(&e->plugin->params[i], &v[i], true, val, sizeof val);
        rc = fanin__str_appendf(&s, &len, "%s%s=%s", k++ ? ", " : "(", e->plugin->params[i].name,
                                val);
    }
    if (rc == FANIN_OK && k) rc = fanin__str_appendf(&s, &len, ")");
    if (rc != FANIN_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static int param_index(const fanin__entry *e, const char *name) {
    for (size_t i = 0; i < e->n_params; i++)
        if (!strcmp(e->plugin->params[i].name, name)) return (int)i;
    return -1;
}

static int unknown_param(const fanin__entry *e, const fanin__node *key, const char *skip,
                         fanin__errs *errs) {
    const char *kind = fanin__kind_name(e->plugin->kind), *name = e->plugin->name;
    const char *cand[65];
    size_t n = 0;
    char list[400] = "";
    for (size_t i = 0; i < e->n_params && n < sizeof cand / sizeof *cand - 1; i++)
        cand[n++] = e->plugin->params[i].name;
    for (size_t i = 0, o = 0; i < n && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", cand[i]);
    if (skip) cand[n++] = skip;
    const char *near = fanin__nearest(key->text, cand, n);
    if (e->n_params == 0 && !near)
        return fanin__errs_add(errs, FANIN_ECONFIG, &key->loc,
                               "%s '%s' takes no parameters, got '%s'", kind, name, key->text);
    if (near)
        return fanin__errs_add(errs, FANIN_ECONFIG, &key->loc,
                               "%s '%s' has no parameter '%s'; did you mean '%s'?", kind, name,
                               key->text, near);
    return fanin__errs_add(errs, FANIN_ECONFIG, &key->loc,
                           "%s '%s' has no parameter '%s' (its parameters: %s)", kind, name,
                           key->text, list);
}

/* Read the parameters given in map into v; marks them in given. Returns the errors' count. */
static int read_params(const fanin__entry *e, const fanin__node *map, const char *skip,
                       fanin_value *v, bool *given, fanin__errs *errs) {
    const char *kind = fanin__kind_name(e->plugin->kind);
    int bad = 0;
    for (size_t k = 0; map && k < map->n; k++) {
        const fanin__node *key = map->keys[k], *val = map->vals[k];
        if (!strcmp(key->text, "name") || (skip && !strcmp(key->text, skip))) continue;
        int i = param_index(e, key->text);
        if (i < 0) {
            bad += unknown_param(e, key, skip, errs) != FANIN_OK;
            continue;
        }
        if (fanin__node_is_null(val)) continue; /* `std:` with nothing: the default */
        char msg[600];
        if (fanin__value_read(&e->plugin->params[i], val, &v[i], msg, sizeof msg) != FANIN_OK) {
            fanin__errs_add(errs, FANIN_ECONFIG, &val->loc, "parameter '%s' of %s '%s' %s",
                            key->text, kind, e->plugin->name, msg);
            bad++;
            continue;
        }
        given[i] = true;
    }
    return bad;
}

int fanin__pref_from_entry(fanin__pref *out, const fanin__entry *e, const fanin__node *map,
                           const fanin__loc *loc, const char *skip, fanin__errs *errs) {
    memset(out, 0, sizeof *out);
    size_t n = e->n_params;
    fanin_value *v = calloc(n ? n : 1, sizeof *v);
    bool *given = calloc(n ? n : 1, sizeof *given);
    int rc = v && given ? FANIN_OK : FANIN_ENOMEM;
    if (rc == FANIN_OK) fanin__params_defaults(e, v);
    if (rc == FANIN_OK && read_params(e, map, skip, v, given, errs) > 0) rc = FANIN_ECONFIG;
    for (size_t i = 0; i < n && v && given; i++) {
        const fanin_param_spec *s = &e->plugin->params[i];
        if ((s->flags & FANIN_PARAM_REQUIRED) && !given[i])
            rc = fanin__errs_add(errs, FANIN_ECONFIG, loc, "%s '%s' needs parameter '%s' (%s)",
                                 fanin__kind_name(e->plugin->kind), e->plugin->name, s->name,
                                 s->doc ? s->doc : "no default");
    }
    if (rc == FANIN_OK) {
        out->params = pack_values(e->plugin->params, v, n);
        out->text = pref_text(e, v, given);
        if (!out->params || !out->text) {
            fanin__pref_deinit(out);
            rc = FANIN_ENOMEM;
        }
    }
    if (rc == FANIN_ENOMEM) fanin__errs_add(errs, rc, loc, "out of memory");
    if (rc == FANIN_OK) {
        out->entry = e;
        out->loc = *loc;
    }
    free(v);
    free(given);
    return rc;
}

int fanin__pref_from_node(fanin__pref *out, const fanin_registry *reg, int kind,
                          const fanin__node *n, const char *skip, fanin__errs *errs) {
    const char *kname = fanin__kind_name(kind);
    const fanin__node *name = n, *map = NULL;
    memset(out, 0, sizeof *out);
    if (n->type == FANIN__MAP) {
        map = n;
        if (!(name = fanin__node_get(n, "name", NULL)) || fanin__node_is_null(name))
            return fanin__errs_add(errs, FANIN_ECONFIG, &n->loc,
                                   "this %s has no 'name'; write {name: NAME, param: value}",
                                   kname);
    }
    if (name->type != FANIN__SCALAR || fanin__node_is_null(name)) {
        char got[120];
        fanin__node_describe(name, got, sizeof got);
        return fanin__errs_add(errs, FANIN_ECONFIG, &name->loc,
                               "expected an %s name or {name: NAME, param: value}, got %s", kname,
                               got);
    }
    const fanin__entry *e = fanin__registry_find(reg, kind, name->text);
    if (!e) {
        const char *near = fanin__registry_suggest(reg, kind, name->text);
        return fanin__errs_add(errs, FANIN_ECONFIG, &name->loc,
                               "unknown %s '%s'%s%s%s (plugins searched in: %s)", kname, name->text,
                               near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "",
                               fanin__registry_search_path(reg));
    }
    return fanin__pref_from_entry(out, e, map, &n->loc, skip, errs);
}

int fanin__pref_copy(fanin__pref *dst, const fanin__pref *src) {
    memset(dst, 0, sizeof *dst);
    if (!src->entry) return FANIN_OK;
    const fanin__entry *e = src->entry;
    dst->params = pack_values(e->plugin->params, src->params, e->n_params);
    dst->text = fanin__strdup(src->text);
    if (!dst->params || !dst->text) {
        fanin__pref_deinit(dst);
        return FANIN_ENOMEM;
    }
    dst->entry = e;
    dst->loc = src->loc;
    return FANIN_OK;
}

void fanin__pref_deinit(fanin__pref *p) {
    if (!p) return;
    free(p->params);
    free(p->text);
    memset(p, 0, sizeof *p);
}

/* ---- from the command line: `--param std=0.1` ---- */

/* Parse "k=v" number i (0-based) into a key scalar and a value node at --param:i+1:COL. */
static int arg_pair(const char *kv, int i, fanin__node *map, fanin__errs *errs) {
    fanin__loc kl = {"--param", i + 1, 1};
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return fanin__errs_add(errs, FANIN_EINVAL, &kl, "expected KEY=VALUE, got '%s'", kv);
    char key[128], err[FANIN_ERRLEN] = "";
    snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
    if (fanin__node_get(map, key, NULL) || !strcmp(key, "name"))
        return fanin__errs_add(errs, FANIN_EINVAL, &kl, "parameter '%s' %s", key,
                               strcmp(key, "name") ? "is given twice" : "is not a parameter");
    fanin__node *val;
    int rc = fanin__yaml_parse("--param", eq + 1, strlen(eq + 1), i, (int)(eq + 1 - kv), &val, err,
                               sizeof err);
    if (rc != FANIN_OK) return fanin__errs_add(errs, FANIN_EINVAL, NULL, "%s", err);
    if (!val) val = fanin__node_scalar("", true, &kl);
    return fanin__node_map_add(map, fanin__node_scalar(key, true, &kl), val);
}

int fanin__pref_from_args(fanin__pref *out, const fanin__entry *e, const char *const *kv,
                          size_t n_kv, char *err, size_t errlen) {
    fanin__loc loc = {"--param", 0, 0};
    fanin__errs errs = {0};
    fanin__node *map = fanin__node_new(FANIN__MAP, &loc);
    int rc = map ? FANIN_OK : FANIN_ENOMEM;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n_kv && rc == FANIN_OK; i++) rc = arg_pair(kv[i], (int)i, map, &errs);
    if (rc == FANIN_OK) rc = fanin__pref_from_entry(out, e, map, &loc, NULL, &errs);
    if (rc != FANIN_OK) {
        fanin__errf(err, errlen, rc == FANIN_ENOMEM ? rc : FANIN_EINVAL, "%s",
                    errs.n ? errs.msg[0] : "out of memory");
        rc = rc == FANIN_ENOMEM ? rc : FANIN_EINVAL;
        /* pref locations point at the literal "--param"; nothing else refers to map */
    }
    out->loc.file = "--param";
    fanin__node_free(map);
    fanin__errs_deinit(&errs);
    return rc;
}
