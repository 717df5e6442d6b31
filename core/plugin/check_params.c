/* The parameter values `fanin check` calls a plugin with (issue 16): set 0 is the schema's
 * defaults with the --param overrides applied; with --sweep-params, then each numeric
 * parameter at its range ends and at a value between, one at a time, the others as in set 0.
 * The sets are a pure function of the schema and the options, so the parent (which never loads
 * a plugin) and the checks' children agree on set k. Nothing here prints.
 */
#include "plugin/check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SWEEP 3 /* points per parameter: low end, high end, between */

/* ---- one value as text ---- */

static int has_min(const fanin_param_spec *s) { return !(s->flags & FANIN_PARAM_NO_MIN); }
static int has_max(const fanin_param_spec *s) { return !(s->flags & FANIN_PARAM_NO_MAX); }

static int is_numeric(const fanin_param_spec *s) {
    return s->type == FANIN_PARAM_F64 || s->type == FANIN_PARAM_I64;
}

void fanin__check_param_format(const fanin_param_spec *s, fanin_value v, char *buf, size_t len) {
    int n = 0;
    while (s->type == FANIN_PARAM_ENUM && s->choices && s->choices[n]) n++;
    switch (s->type) {
    case FANIN_PARAM_F64: snprintf(buf, len, isnan(v.f) ? "auto" : "%g", v.f); break;
    case FANIN_PARAM_I64: snprintf(buf, len, "%lld", (long long)v.i); break;
    case FANIN_PARAM_BOOL: snprintf(buf, len, "%s", v.b ? "true" : "false"); break;
    case FANIN_PARAM_ENUM:
        snprintf(buf, len, "%s", v.e >= 0 && v.e < n ? s->choices[v.e] : "?");
        break;
    default: snprintf(buf, len, "%s", v.s ? v.s : ""); break;
    }
}

/* "a number in [0, 4]", "an integer >= 1", "a number > 0" */
static void describe_range(const fanin_param_spec *s, char *buf, size_t len) {
    const char *what = s->type == FANIN_PARAM_I64 ? "an integer" : "a number";
    const char *lo = (s->flags & FANIN_PARAM_MIN_EXCL) ? "(" : "[";
    const char *hi = (s->flags & FANIN_PARAM_MAX_EXCL) ? ")" : "]";
    if (has_min(s) && has_max(s))
        snprintf(buf, len, "%s in %s%g, %g%s", what, lo, s->min, s->max, hi);
    else if (has_min(s)) snprintf(buf, len, "%s %s %g", what, *lo == '(' ? ">" : ">=", s->min);
    else if (has_max(s)) snprintf(buf, len, "%s %s %g", what, *hi == ')' ? "<" : "<=", s->max);
    else snprintf(buf, len, "%s", what);
}

static int in_range(const fanin_param_spec *s, double v) {
    if (has_min(s) && ((s->flags & FANIN_PARAM_MIN_EXCL) ? !(v > s->min) : v < s->min)) return 0;
    if (has_max(s) && ((s->flags & FANIN_PARAM_MAX_EXCL) ? !(v < s->max) : v > s->max)) return 0;
    return 1;
}

/* A number of row s from text: FANIN_OK, or FANIN_EINVAL with what was expected in why. */
static int parse_number(const fanin_param_spec *s, const char *text, fanin_value *v, char *why,
                        size_t len) {
    char *end = NULL, range[128];
    describe_range(s, range, sizeof range);
    if (s->type == FANIN_PARAM_F64 && (s->flags & FANIN_PARAM_AUTO) && !strcmp(text, "auto"))
        return v->f = NAN, FANIN_OK;
    double d = strtod(text, &end);
    int ok = end != text && !*end && isfinite(d) && in_range(s, d);
    if (ok && s->type == FANIN_PARAM_I64) ok = d == floor(d) && fabs(d) < 9e15;
    if (!ok) return snprintf(why, len, "must be %s, got '%s'", range, text), FANIN_EINVAL;
    if (s->type == FANIN_PARAM_I64) v->i = (int64_t)d;
    else v->f = d;
    return FANIN_OK;
}

int fanin__check_param_parse(const fanin_param_spec *s, const char *text, fanin_value *v, char *why,
                             size_t len) {
    if (is_numeric(s)) return parse_number(s, text, v, why, len);
    if (s->type == FANIN_PARAM_BOOL) {
        if (!strcmp(text, "true") || !strcmp(text, "false")) return v->b = text[0] == 't', FANIN_OK;
        return snprintf(why, len, "must be true or false, got '%s'", text), FANIN_EINVAL;
    }
    if (s->type == FANIN_PARAM_ENUM) {
        size_t used = 0;
        for (int k = 0; s->choices && s->choices[k]; k++)
            if (!strcmp(s->choices[k], text)) return v->e = k, FANIN_OK;
        used += (size_t)snprintf(why, len, "must be one of");
        for (int k = 0; s->choices && s->choices[k] && used < len; k++)
            used += (size_t)snprintf(why + used, len - used, "%s %s", k ? " |" : "", s->choices[k]);
        if (used < len) snprintf(why + used, len - used, ", got '%s'", text);
        return FANIN_EINVAL;
    }
    v->s = text;
    return FANIN_OK;
}

/* ---- --param ---- */

/* Row index of the override's key in e's schema, or -1; *value points after the '='. */
static long override_row(const fanin__entry *e, const char *kv, const char **value) {
    const char *eq = strchr(kv, '=');
    size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
    *value = eq ? eq + 1 : "";
    for (size_t i = 0; i < e->n_params; i++)
        if (strlen(e->plugin->params[i].name) == n && !strncmp(e->plugin->params[i].name, kv, n))
            return (long)i;
    return -1;
}

int fanin__check_overrides(const fanin__entry *e, const fanin__check_opts *o, fanin_value *p,
                           unsigned char *used, unsigned char *set, char *err, size_t len) {
    fanin__params_defaults(e, p);
    if (set) memset(set, 0, e->n_params);
    for (size_t k = 0; k < o->n_params; k++) {
        const char *value;
        long row = override_row(e, o->params[k], &value);
        char why[512];
        if (row < 0) continue;
        if (used) used[k] = 1;
        if (set) set[row] = 1;
        if (fanin__check_param_parse(&e->plugin->params[row], value, &p[row], why, sizeof why))
            return snprintf(err, len, "--param %s: parameter '%s' of %s '%s' %s", o->params[k],
                            e->plugin->params[row].name, fanin__kind_name(e->plugin->kind),
                            e->plugin->name, why),
                   FANIN_EINVAL;
    }
    return FANIN_OK;
}

/* ---- the sweep ---- */

typedef struct sweep_point {
    double v;
    const char *why;
} sweep_point;

/* The value just inside an exclusive end, a thousandth of the way towards `toward`. */
static double inside(const fanin_param_spec *s, double end, double toward) {
    if (s->type == FANIN_PARAM_I64) return toward > end ? end + 1 : end - 1;
    double step = isfinite(toward) && toward != end ? (toward - end) * 1e-3 : 1e-3;
    return end + step;
}

/* One end: the bound, just inside an exclusive bound, or for an unbounded side ten times the
 * base value (when that lies on that side) or ten past it. */
static sweep_point end_point(const fanin_param_spec *s, double base, int upper) {
    int bounded = upper ? has_max(s) : has_min(s);
    int excl = s->flags & (upper ? FANIN_PARAM_MAX_EXCL : FANIN_PARAM_MIN_EXCL);
    double bound = upper ? s->max : s->min, other = upper ? s->min : s->max;
    double ref = isfinite(base) ? base : 0.0, sign = upper ? 1.0 : -1.0;
    if (bounded && !excl) return (sweep_point){bound, upper ? "max" : "min"};
    if (bounded) {
        double toward = isfinite(base) && base != bound     ? base
                        : (upper ? has_min(s) : has_max(s)) ? other
                                                            : bound - sign;
        return (sweep_point){inside(s, bound, toward),
                             upper ? "just below the max" : "just above the min"};
    }
    if (ref * sign > 0)
        return (sweep_point){ref * 10.0,
                             upper ? "no max: 10 x the default" : "no min: 10 x the default"};
    return (sweep_point){ref + sign * 10.0,
                         upper ? "no max: default + 10" : "no min: default - 10"};
}

/* Up to MAX_SWEEP values for numeric row s around base, each different from base and from the
 * others; returns the count. */
static size_t sweep_points(const fanin_param_spec *s, double base, sweep_point out[MAX_SWEEP]) {
    sweep_point cand[MAX_SWEEP] = {end_point(s, base, 0), end_point(s, base, 1), {0, "between"}};
    int is_int = s->type == FANIN_PARAM_I64;
    double lo = cand[0].v, hi = cand[1].v, mid = (lo + hi) / 2.0;
    if (is_int) mid = floor(mid);
    if (mid == base) mid = is_int ? floor((base + hi) / 2.0) : (base + hi) / 2.0;
    cand[2].v = mid;
    size_t n = 0;
    for (size_t i = 0; i < MAX_SWEEP; i++) {
        int dup = !isfinite(cand[i].v) || cand[i].v == base || !in_range(s, cand[i].v);
        for (size_t j = 0; j < n; j++) dup |= out[j].v == cand[i].v;
        if (!dup) out[n++] = cand[i];
    }
    return n;
}

/* The base value of numeric row i as a double. */
static double as_double(const fanin_param_spec *s, fanin_value v) {
    return s->type == FANIN_PARAM_I64 ? (double)v.i : v.f;
}

size_t fanin__check_set_count(const fanin__entry *e, const fanin__check_opts *o) {
    size_t n = 1;
    fanin_value *p = calloc(e->n_params ? e->n_params : 1, sizeof *p);
    char err[64];
    sweep_point pts[MAX_SWEEP];
    if (p && o->sweep && fanin__check_overrides(e, o, p, NULL, NULL, err, sizeof err) == FANIN_OK)
        for (size_t i = 0; i < e->n_params; i++)
            if (is_numeric(&e->plugin->params[i]))
                n += sweep_points(&e->plugin->params[i], as_double(&e->plugin->params[i], p[i]),
                                  pts);
    free(p);
    return n;
}

/* ---- naming a set ---- */

/* "alpha=1, beta=0.5" with notes: "(--param)" on overridden rows, "(sweep: why)" on `varied`. */
static void list_values(const fanin__entry *e, const fanin_value *p, const unsigned char *set,
                        long varied, const char *why, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < e->n_params && used < len; i++) {
        char v[256], note[128] = "";
        fanin__check_param_format(&e->plugin->params[i], p[i], v, sizeof v);
        if ((long)i == varied) snprintf(note, sizeof note, " (sweep: %s)", why);
        else if (set[i]) snprintf(note, sizeof note, " (--param)");
        used += (size_t)snprintf(buf + used, len - used, "%s%s=%s%s", i ? ", " : "",
                                 e->plugin->params[i].name, v, note);
    }
}

/* The row and value of sweep set k >= 1, or -1 when there is no such set. */
static long sweep_set(const fanin__entry *e, const fanin_value *p, size_t k, sweep_point *pt) {
    sweep_point pts[MAX_SWEEP];
    for (size_t i = 0, seen = 1; i < e->n_params; i++) {
        const fanin_param_spec *s = &e->plugin->params[i];
        size_t n = is_numeric(s) ? sweep_points(s, as_double(s, p[i]), pts) : 0;
        if (k < seen + n) return *pt = pts[k - seen], (long)i;
        seen += n;
    }
    return -1;
}

/* "beta=2": the values of set k that differ from the defaults (the varied row, or the rows
 * --param set), into tag. */
static void set_tag(const fanin__entry *e, const fanin_value *p, const unsigned char *set,
                    long varied, char *tag, size_t len) {
    size_t used = 0;
    tag[0] = '\0';
    for (size_t i = 0; i < e->n_params && used < len; i++) {
        if (varied >= 0 ? (long)i != varied : !set[i]) continue;
        char v[256];
        fanin__check_param_format(&e->plugin->params[i], p[i], v, sizeof v);
        used += (size_t)snprintf(tag + used, len - used, "%s%s=%s", used ? ", " : "",
                                 e->plugin->params[i].name, v);
    }
}

int fanin__check_set(const fanin__entry *e, const fanin__check_opts *o, size_t k, fanin_value *p,
                     char *tag, size_t tag_len, char *desc, size_t desc_len) {
    unsigned char *set = calloc(e->n_params ? e->n_params : 1, 1);
    char values[FANIN_CHECK_MSGLEN];
    sweep_point pt = {0, ""};
    long row = -1;
    int rc = set ? fanin__check_overrides(e, o, p, NULL, set, desc, desc_len)
                 : (snprintf(desc, desc_len, "out of memory"), FANIN_ENOMEM);
    if (rc == FANIN_OK && k > 0 && (row = sweep_set(e, p, k, &pt)) < 0)
        rc = (snprintf(desc, desc_len, "no parameter set %zu", k), FANIN_EINVAL);
    if (rc == FANIN_OK && row >= 0 && e->plugin->params[row].type == FANIN_PARAM_I64)
        p[row].i = (int64_t)pt.v;
    else if (rc == FANIN_OK && row >= 0) p[row].f = pt.v;
    if (rc == FANIN_OK) {
        int defaults = row < 0 && !memchr(set, 1, e->n_params);
        set_tag(e, p, set, row, tag, tag_len);
        list_values(e, p, set, row, pt.why, values, sizeof values);
        if (e->n_params == 0) snprintf(desc, desc_len, "with no parameters");
        else snprintf(desc, desc_len, "with %s%s", defaults ? "defaults: " : "", values);
    }
    free(set);
    return rc;
}
