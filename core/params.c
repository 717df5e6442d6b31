/* Plugin references and typed values: `he_normal` or `{name: normal, std: 0.01}` becomes a
 * fanin__pref whose fanin_value array follows the plugin's schema (types strict, ranges
 * checked, defaults filled). The same value reader checks the experiment's own keys.
 * Not here: finding plugins (loader.c) or the meaning of experiment keys (config_resolve.c).
 */
#include "config_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- typed values ---- */

static void range_text(const fanin_param_spec *s, char *buf, size_t len) {
    bool lo = !(s->flags & FANIN_PARAM_NO_MIN), hi = !(s->flags & FANIN_PARAM_NO_MAX);
    char a[40], b[40];
    fanin__format_double(s->min, a, sizeof a);
    fanin__format_double(s->max, b, sizeof b);
    if (lo && hi)
        snprintf(buf, len, " in %c%s, %s%c", s->flags & FANIN_PARAM_MIN_EXCL ? '(' : '[', a, b,
                 s->flags & FANIN_PARAM_MAX_EXCL ? ')' : ']');
    else if (lo)
        snprintf(buf, len, " %s %s", s->flags & FANIN_PARAM_MIN_EXCL ? ">" : ">=", a);
    else if (hi)
        snprintf(buf, len, " %s %s", s->flags & FANIN_PARAM_MAX_EXCL ? "<" : "<=", b);
    else
        buf[0] = '\0';
}

void fanin__choices_text(const char *const *choices, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; choices && choices[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " | " : "", choices[i]);
}

size_t fanin__choices_count(const char *const *choices) {
    size_t n = 0;
    while (choices && choices[n]) n++;
    return n;
}

void fanin__value_expect(const fanin_param_spec *s, char *buf, size_t len) {
    char r[100], c[400];
    switch (s->type) {
    case FANIN_PARAM_F64:
        range_text(s, r, sizeof r);
        snprintf(buf, len, "a number%s%s", r, s->flags & FANIN_PARAM_AUTO ? " or auto" : "");
        break;
    case FANIN_PARAM_I64:
        range_text(s, r, sizeof r);
        snprintf(buf, len, "an integer%s", r);
        break;
    case FANIN_PARAM_BOOL: snprintf(buf, len, "true or false"); break;
    case FANIN_PARAM_ENUM:
        fanin__choices_text(s->choices, c, sizeof c);
        snprintf(buf, len, "one of %s", c);
        break;
    default: snprintf(buf, len, "a string"); break;
    }
}

static bool in_range(const fanin_param_spec *s, double v) {
    bool lo = (s->flags & FANIN_PARAM_NO_MIN) ||
              (s->flags & FANIN_PARAM_MIN_EXCL ? v > s->min : v >= s->min);
    bool hi = (s->flags & FANIN_PARAM_NO_MAX) ||
              (s->flags & FANIN_PARAM_MAX_EXCL ? v < s->max : v <= s->max);
    return lo && hi;
}

static int read_number(const fanin_param_spec *s, const fanin__node *n, fanin_value *out) {
    bool is_int;
    if (!n->plain || !fanin__text_is_number(n->text, &is_int)) return FANIN_ECONFIG;
    errno = 0;
    if (s->type == FANIN_PARAM_I64) {
        if (!is_int) return FANIN_ECONFIG;
        long long v = strtoll(n->text, NULL, 10);
        if (errno == ERANGE || !in_range(s, (double)v)) return FANIN_EINVAL;
        out->i = (int64_t)v;
        return FANIN_OK;
    }
    double v = strtod(n->text, NULL);
    if (!isfinite(v) || !in_range(s, v)) return FANIN_EINVAL;
    out->f = v;
    return FANIN_OK;
}

static int read_bool(const fanin__node *n, fanin_value *out) {
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False",
                                                                          "FALSE"};
    for (int i = 0; n->plain && i < 3; i++) {
        if (!strcmp(n->text, t[i])) return out->b = 1, FANIN_OK;
        if (!strcmp(n->text, f[i])) return out->b = 0, FANIN_OK;
    }
    return FANIN_ECONFIG;
}

static int read_enum(const fanin_param_spec *s, const fanin__node *n, fanin_value *out,
                     const char **near) {
    size_t count = fanin__choices_count(s->choices);
    for (size_t i = 0; i < count; i++)
        if (!strcmp(n->text, s->choices[i])) return out->e = (int32_t)i, FANIN_OK;
    *near = fanin__nearest(n->text, (const char *const *)s->choices, count);
    return FANIN_ECONFIG;
}

int fanin__value_read(const fanin_param_spec *s, const fanin__node *n, fanin_value *out,
                      char *msg, size_t msglen) {
    const char *near = NULL;
    int rc = FANIN_ECONFIG;
    if (n->type == FANIN__SCALAR) {
        switch (s->type) {
        case FANIN_PARAM_F64:
            if ((s->flags & FANIN_PARAM_AUTO) && n->plain && !strcmp(n->text, "auto")) {
                out->f = NAN;
                return FANIN_OK;
            }
            rc = read_number(s, n, out);
            break;
        case FANIN_PARAM_I64: rc = read_number(s, n, out); break;
        case FANIN_PARAM_BOOL: rc = read_bool(n, out); break;
        case FANIN_PARAM_ENUM: rc = read_enum(s, n, out, &near); break;
        default: out->s = n->text; return FANIN_OK;
        }
        if (rc == FANIN_OK) return rc;
    }
    char expect[300], got[120];
    bool is_int;
    fanin__value_expect(s, expect, sizeof expect);
    fanin__node_describe(n, got, sizeof got);
    bool quoted_number = n->type == FANIN__SCALAR && !n->plain &&
                         fanin__text_is_number(n->text, &is_int) &&
                         (s->type == FANIN_PARAM_F64 || s->type == FANIN_PARAM_I64);
    snprintf(msg, msglen, "must be %s, got %s%s%s%s", expect, got,
             quoted_number ? "; write the number without quotes" : "",
             near ? "; did you mean '" : "", near ? near : "");
    if (near && strlen(msg) + 2 < msglen) strcat(msg, "'?");
    return FANIN_ECONFIG;
}

void fanin__value_format(const fanin_param_spec *s, const fanin_value *v, bool quote,
                         char *buf, size_t len) {
    switch (s->type) {
    case FANIN_PARAM_F64:
        if (isnan(v->f))
            snprintf(buf, len, "auto");
        else
            fanin__format_double(v->f, buf, len);
        break;
    case FANIN_PARAM_I64: snprintf(buf, len, "%lld", (long long)v->i); break;
    case FANIN_PARAM_BOOL: snprintf(buf, len, "%s", v->b ? "true" : "false"); break;
    case FANIN_PARAM_ENUM:
        snprintf(buf, len, "%s",
                 v->e >= 0 && (size_t)v->e < fanin__choices_count(s->choices) ? s->choices[v->e]
                                                                             : "?");
        break;
    default:
        if (quote && fanin__needs_quotes(v->s ? v->s : ""))
            fanin__quote(v->s ? v->s : "", buf, len);
        else
            snprintf(buf, len, "%s", v->s ? v->s : "");
        break;
    }
}

/* ---- plugin references ---- */

static fanin_value default_value(const fanin_param_spec *s) {
    fanin_value v;
    memset(&v, 0, sizeof v);
    switch (s->type) {
    case FANIN_PARAM_F64: v.f = s->def; break;
    case FANIN_PARAM_I64: v.i = (int64_t)s->def; break;
    case FANIN_PARAM_BOOL: v.b = s->def != 0.0; break;
    case FANIN_PARAM_ENUM: v.e = (int32_t)s->def; break;
    default: v.s = s->def_str ? s->def_str : ""; break;
    }
    return v;
}

void fanin__params_defaults(const fanin__entry *e, fanin_value *out) {
    for (size_t i = 0; i < e->n_params; i++) out[i] = default_value(&e->plugin->params[i]);
}

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
        rc = fanin__str_appendf(&s, &len, "%s%s=%s", k++ ? ", " : "(",
                                e->plugin->params[i].name, val);
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
                               "unknown %s '%s'%s%s%s (plugins searched in: %s)", kname,
                               name->text, near ? "; did you mean '" : "", near ? near : "",
                               near ? "'?" : "", fanin__registry_search_path(reg));
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
    int rc = fanin__yaml_parse("--param", eq + 1, strlen(eq + 1), i, (int)(eq + 1 - kv), &val,
                               err, sizeof err);
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
