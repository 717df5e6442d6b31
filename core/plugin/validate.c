/* What the loader checks of a library before registering any of its plugins: the ABI headers
 * of every struct, each descriptor's identity (kind, name, version, doc), its vtable's
 * functions, and its parameter schema (lv2lint's "range invalid" and friends). Every rejection
 * names the file, what is wrong and the fix. Not here: finding, opening or registering files
 * (loader.c), or what a plugin does when called (check.c).
 */
#include "plugin/validate.h"
#include "base/errors.h"
#include "plugin/registry.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- ABI constants ---- */

/* End of `field` in `type`: the smallest struct_size that contains it. */
#define END_OF(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* 1.0 baselines (ABI rule 3): the end of each struct's last 1.0 field, never today's sizeof, so
 * a 1.0 plugin keeps loading when later minors append fields. Fields appended after 1.0 must
 * be read behind FANIN_HAS_FIELD(type, field, hdr.struct_size). */
#define BASE_LIBRARY END_OF(fanin_library, teardown)
#define BASE_PLUGIN END_OF(fanin_plugin, get_interface)
#define BASE_INITIALIZER_VT END_OF(fanin_initializer_vt, moments)
#define BASE_ACTIVATION_VT END_OF(fanin_activation_vt, gain)
#define BASE_OPTIMIZER_VT END_OF(fanin_optimizer_vt, step)

#define KNOWN_MUST_UNDERSTAND 0u /* must-understand flag bits this host knows (none in 1.0) */
#define MAX_SCHEMA_ROWS 256      /* more means a missing NULL-name terminator row */


/* ---- header checks ---- */

/* The frozen header of any ABI struct: magic, major, and at least the 1.0 size. `path` and
 * `what` say which struct, e.g. ("/p/x.so", "library descriptor"). */
static int check_header(const fanin_abi_header *h, size_t baseline, const char *path,
                        const char *what, char *err, size_t errlen) {
    if (h->magic != FANIN_MAGIC)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s is corrupt (bad magic 0x%08x, expected 0x%08x); %s", path, what,
                           (unsigned)h->magic, FANIN_MAGIC, FANIN_FIX_REBUILD);
    if (h->abi_major != FANIN_ABI_MAJOR)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s was built for fanin plugin ABI %u.x; this fanin provides ABI "
                           "%d.%d \u2014 rebuild against fanin %d.x headers",
                           path, what, (unsigned)h->abi_major, FANIN_ABI_MAJOR, FANIN_ABI_MINOR,
                           FANIN_ABI_MAJOR);
    if (h->struct_size < baseline)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s is corrupt (struct_size %u < 1.0 baseline %zu); %s", path, what,
                           (unsigned)h->struct_size, baseline, FANIN_FIX_REBUILD);
    return FANIN_OK;
}

int fanin__validate_library(const char *path, const fanin_library *lib, char *err, size_t errlen) {
    int rc = check_header(&lib->hdr, BASE_LIBRARY, path, "library descriptor", err, errlen);
    if (rc) return rc;
    if (lib->min_host_minor > FANIN_ABI_MINOR)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s needs fanin plugin ABI >= %d.%u (this fanin provides %d.%d); "
                           "upgrade fanin",
                           path, FANIN_ABI_MAJOR, (unsigned)lib->min_host_minor, FANIN_ABI_MAJOR,
                           FANIN_ABI_MINOR);
    if (lib->sizeof_real != sizeof(float))
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s was built with a %u-byte real; this fanin uses %zu-byte reals "
                           "(float); %s",
                           path, (unsigned)lib->sizeof_real, sizeof(float), FANIN_FIX_REBUILD);
    if (lib->plugin_count == 0 || !lib->plugins)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s lists no plugins (plugin_count %u, plugins %s); list its "
                           "descriptors in FANIN_PLUGIN_DEFINE(&a, &b, ...)",
                           path, (unsigned)lib->plugin_count, lib->plugins ? "set" : "NULL");
    if (lib->plugin_count > FANIN_MAX_PLUGINS)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: library descriptor is corrupt (plugin_count %u > %d); %s", path,
                           (unsigned)lib->plugin_count, FANIN_MAX_PLUGINS, FANIN_FIX_REBUILD);
    return FANIN_OK;
}

/* ---- descriptor checks ---- */

/* [a-z][a-z0-9_]*: what YAML keys and the CLI can spell without quoting. */
static int valid_name(const char *s) {
    if (!s || !(*s >= 'a' && *s <= 'z')) return 0;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

static int empty(const char *s) { return !s || !*s; }

/* "initializer 'he_normal'" for messages (the name is known to be valid by then). */
static void plugin_label(const fanin_plugin *p, char *buf, size_t len) {
    snprintf(buf, len, "%s '%s'", fanin__kind_name(p->kind), p->name);
}

/* Header, kind, name, version, doc and flags of plugins[i]. */
static int check_identity(const char *path, uint32_t i, const fanin_plugin *p, char *err,
                          size_t errlen) {
    char what[64];
    snprintf(what, sizeof what, "plugins[%u] descriptor", (unsigned)i);
    if (!p)
        return fanin__errf(err, errlen, FANIN_EPLUGIN, "%s: %s is NULL; %s", path, what,
                           "list only valid descriptors in FANIN_PLUGIN_DEFINE");
    int rc = check_header(&p->hdr, BASE_PLUGIN, path, what, err, errlen);
    if (rc) return rc;
    if (!valid_name(p->name))
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s has invalid name '%s'; names must match [a-z][a-z0-9_]* "
                           "(they are what experiment files use)",
                           path, what, p->name ? p->name : "(null)");
    if (p->kind < FANIN_KIND_INITIALIZER || p->kind > FANIN_KIND_OPTIMIZER)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: plugin '%s' has unknown kind %d (this fanin knows 1 initializer, "
                           "2 activation, 3 optimizer); upgrade fanin or fix the descriptor",
                           path, p->name, (int)p->kind);
    char label[128];
    plugin_label(p, label, sizeof label);
    if (empty(p->version))
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s has no version; set the "
                           "descriptor's version string (semver, e.g. \"1.0.0\")",
                           path, label);
    if (empty(p->doc))
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s has no doc; give the descriptor "
                           "a one-line description",
                           path, label);
    uint32_t unknown = p->flags & FANIN_FLAG_MUST_UNDERSTAND & ~KNOWN_MUST_UNDERSTAND;
    if (unknown)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s sets must-understand flags 0x%08x this fanin does not know; "
                           "upgrade fanin",
                           path, label, (unsigned)unknown);
    return FANIN_OK;
}

static int null_fn(const char *path, const char *label, const char *fn, char *err, size_t errlen) {
    return fanin__errf(err, errlen, FANIN_EPLUGIN,
                       "%s: %s: vtable function '%s' is NULL but required; implement it", path,
                       label, fn);
}

/* The per-kind vtable: header, then every function 1.0 requires. */
static int check_vtable(const char *path, const fanin_plugin *p, char *err, size_t errlen) {
    static const size_t baseline[] = {0, BASE_INITIALIZER_VT, BASE_ACTIVATION_VT,
                                      BASE_OPTIMIZER_VT};
    char label[128], what[160];
    plugin_label(p, label, sizeof label);
    if (!p->vtable)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "%s: %s has no vtable; point the "
                           "descriptor at its fanin_%s_vt",
                           path, label, fanin__kind_name(p->kind));
    snprintf(what, sizeof what, "%s: vtable", label);
    int rc = check_header(p->vtable, baseline[p->kind], path, what, err, errlen);
    if (rc) return rc;
    if (p->kind == FANIN_KIND_INITIALIZER) {
        const fanin_initializer_vt *vt = p->vtable;
        if (!vt->fill) return null_fn(path, label, "fill", err, errlen);
    } else if (p->kind == FANIN_KIND_ACTIVATION) {
        const fanin_activation_vt *vt = p->vtable;
        if (!vt->forward) return null_fn(path, label, "forward", err, errlen);
        if (!vt->backward) return null_fn(path, label, "backward", err, errlen);
        if (!vt->gain) return null_fn(path, label, "gain", err, errlen);
    } else {
        const fanin_optimizer_vt *vt = p->vtable;
        if (!vt->state_size) return null_fn(path, label, "state_size", err, errlen);
        if (!vt->init_state) return null_fn(path, label, "init_state", err, errlen);
        if (!vt->step) return null_fn(path, label, "step", err, errlen);
    }
    return FANIN_OK;
}

/* ---- schema checks (lv2lint's "range invalid" and friends) ---- */

/* Write into why[] what is wrong with the bounds of a F64/I64 row, or leave it empty. */
static void check_bounds(const fanin_param_spec *s, char *why, size_t len) {
    int has_min = !(s->flags & FANIN_PARAM_NO_MIN), has_max = !(s->flags & FANIN_PARAM_NO_MAX);
    int excl = (s->flags & (FANIN_PARAM_MIN_EXCL | FANIN_PARAM_MAX_EXCL)) != 0;
    if ((has_min && isnan(s->min)) || (has_max && isnan(s->max)))
        snprintf(why, len, "min or max is NaN (use FANIN_PARAM_NO_MIN/NO_MAX for no bound)");
    else if (has_min && has_max && s->min > s->max)
        snprintf(why, len, "min %g > max %g", s->min, s->max);
    else if (has_min && has_max && s->min == s->max && excl)
        snprintf(why, len, "min == max == %g with an exclusive bound: no value fits", s->min);
}

/* Is v inside the row's bounds, honouring NO_MIN/NO_MAX and the exclusive flags? */
static int in_bounds(const fanin_param_spec *s, double v) {
    int above = (s->flags & FANIN_PARAM_NO_MIN) ||
                ((s->flags & FANIN_PARAM_MIN_EXCL) ? v > s->min : v >= s->min);
    int below = (s->flags & FANIN_PARAM_NO_MAX) ||
                ((s->flags & FANIN_PARAM_MAX_EXCL) ? v < s->max : v <= s->max);
    return above && below;
}

/* Number of ENUM choices, or -1 when a choice is empty or repeated. */
static int count_choices(const char *const *choices) {
    int n = 0;
    for (; choices[n]; n++) {
        if (!*choices[n]) return -1;
        for (int j = 0; j < n; j++)
            if (strcmp(choices[j], choices[n]) == 0) return -1;
    }
    return n;
}

/* The default of a row (unless REQUIRED) against its type and bounds. */
static void check_default(const fanin_param_spec *s, char *why, size_t len) {
    double d = s->def;
    if ((s->flags & FANIN_PARAM_REQUIRED) || s->type == FANIN_PARAM_STRING) return;
    if (s->type == FANIN_PARAM_F64 && isnan(d)) {
        if (!(s->flags & FANIN_PARAM_AUTO))
            snprintf(why, len, "default is NaN (auto) but FANIN_PARAM_AUTO is not set");
    } else if (s->type == FANIN_PARAM_BOOL) {
        if (d != 0.0 && d != 1.0) snprintf(why, len, "BOOL default %g is not 0 or 1", d);
    } else if (s->type == FANIN_PARAM_I64 && !(isfinite(d) && d == floor(d))) {
        snprintf(why, len, "I64 default %g is not an integer", d);
    } else if (s->type != FANIN_PARAM_ENUM && !in_bounds(s, d)) {
        snprintf(why, len, "default %g is outside [min %g, max %g] (bounds flags 0x%x)", d, s->min,
                 s->max, (unsigned)(s->flags & 0xFu));
    }
}

static void check_enum(const fanin_param_spec *s, char *why, size_t len) {
    int n = s->choices ? count_choices(s->choices) : 0;
    if (n <= 0)
        snprintf(why, len, "ENUM needs a NULL-terminated list of distinct, non-empty choices");
    else if (!(s->flags & FANIN_PARAM_REQUIRED) &&
             !(s->def >= 0 && s->def < n && s->def == floor(s->def)))
        snprintf(why, len, "ENUM default index %g is not in [0, %d)", s->def, n);
}

/* Row k of the schema: name, uniqueness, type, doc, bounds, default. */
static void check_param(const fanin_param_spec *rows, size_t k, char *why, size_t len) {
    const fanin_param_spec *s = &rows[k];
    why[0] = '\0';
    if (!valid_name(s->name)) {
        snprintf(why, len, "invalid name (must match [a-z][a-z0-9_]*)");
        return;
    }
    for (size_t j = 0; j < k; j++)
        if (strcmp(rows[j].name, s->name) == 0) {
            snprintf(why, len, "duplicate name (rows %zu and %zu)", j, k);
            return;
        }
    if (s->type < FANIN_PARAM_F64 || s->type > FANIN_PARAM_STRING)
        snprintf(why, len, "unknown type %d (1 F64, 2 I64, 3 BOOL, 4 ENUM, 5 STRING)",
                 (int)s->type);
    else if (empty(s->doc)) snprintf(why, len, "no doc; give it a one-line description");
    else if (s->type == FANIN_PARAM_ENUM) check_enum(s, why, len);
    else if (s->type == FANIN_PARAM_F64 || s->type == FANIN_PARAM_I64) check_bounds(s, why, len);
    if (!why[0]) check_default(s, why, len);
}

/* Every row of p's schema, up to its NULL-name terminator. */
static int check_schema(const char *path, const fanin_plugin *p, char *err, size_t errlen) {
    char label[128], why[256];
    plugin_label(p, label, sizeof label);
    size_t k = 0;
    for (; p->params && p->params[k].name; k++) {
        if (k == MAX_SCHEMA_ROWS)
            return fanin__errf(err, errlen, FANIN_EPLUGIN,
                               "%s: %s: schema has more than %d "
                               "rows; is its terminating {0} row missing?",
                               path, label, MAX_SCHEMA_ROWS);
        check_param(p->params, k, why, sizeof why);
        if (why[0])
            return fanin__errf(err, errlen, FANIN_EPLUGIN,
                               "%s: %s: parameter '%s' (schema row %zu): %s; fix the schema", path,
                               label, p->params[k].name, k, why);
    }
    return FANIN_OK;
}

int fanin__validate_plugin(const char *path, uint32_t i, const fanin_plugin *p, char *err,
                           size_t errlen) {
    int rc = check_identity(path, i, p, err, errlen);
    if (!rc) rc = check_vtable(path, p, err, errlen);
    if (!rc) rc = check_schema(path, p, err, errlen);
    return rc;
}
