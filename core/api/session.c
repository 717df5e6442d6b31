/* The embedding API's session (<fanin/fanin.h>): a registry opened once, the plugins listed as
 * JSON (the format of `fanin plugins --json`), and fanin_init_fill, which draws a tensor exactly
 * as `fanin init-stats --dump` does (both call init.c). Nothing here prints or exits.
 */
#include "api/api.h"
#include "base/json.h"
#include "plugin/host.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fanin_session_open(fanin_session **out, const char *const *paths, size_t n_paths, char *err,
                       size_t errlen) {
    if (!out) return fanin__errf(err, errlen, FANIN_EINVAL, "fanin_session_open: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out) return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory for a session");
    int rc = fanin__registry_new(&(*out)->reg, paths, n_paths, err, errlen);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

void fanin_session_close(fanin_session *s) {
    if (!s) return;
    fanin__registry_free(s->reg);
    free(s);
}

const char *fanin_session_error(const fanin_session *s) { return s ? s->err : "no session"; }

void fanin_free(void *p) { free(p); }

static const char *type_name(int t) {
    static const char *const names[] = {"?", "float", "int", "bool", "enum", "string"};
    return t >= 1 && t <= 5 ? names[t] : "?";
}

static void json_bool(FILE *f, const char *key, int v) {
    fprintf(f, ", \"%s\": %s", key, v ? "true" : "false");
}

static void json_default(FILE *f, const fanin_param_spec *p) {
    if (p->flags & FANIN_PARAM_REQUIRED) fputs("null", f);
    else if (p->type == FANIN_PARAM_ENUM)
        fanin__json_str(f, p->choices ? p->choices[(int)p->def] : "");
    else if (p->type == FANIN_PARAM_STRING) fanin__json_str(f, p->def_str);
    else if (p->type == FANIN_PARAM_BOOL) fputs(p->def != 0.0 ? "true" : "false", f);
    else if (isnan(p->def)) fanin__json_str(f, "auto");
    else fanin__json_num(f, "%.17g", p->def);
}

/* One schema row: name, type, default, required, auto, min/max (numbers), choices, doc. */
static void json_param(FILE *f, const fanin_param_spec *p) {
    fputs("{\"name\": ", f);
    fanin__json_str(f, p->name);
    fputs(", \"type\": ", f);
    fanin__json_str(f, type_name(p->type));
    fputs(", \"default\": ", f);
    json_default(f, p);
    json_bool(f, "required", p->flags & FANIN_PARAM_REQUIRED);
    json_bool(f, "auto", p->flags & FANIN_PARAM_AUTO);
    if (p->type == FANIN_PARAM_F64 || p->type == FANIN_PARAM_I64) {
        fputs(", \"min\": ", f);
        fanin__json_num(f, "%.17g", (p->flags & FANIN_PARAM_NO_MIN) ? NAN : p->min);
        fputs(", \"max\": ", f);
        fanin__json_num(f, "%.17g", (p->flags & FANIN_PARAM_NO_MAX) ? NAN : p->max);
        json_bool(f, "min_exclusive", p->flags & FANIN_PARAM_MIN_EXCL);
        json_bool(f, "max_exclusive", p->flags & FANIN_PARAM_MAX_EXCL);
    }
    if (p->type == FANIN_PARAM_ENUM && p->choices) {
        fputs(", \"choices\": [", f);
        for (int i = 0; p->choices[i]; i++) {
            fputs(i ? ", " : "", f);
            fanin__json_str(f, p->choices[i]);
        }
        fputc(']', f);
    }
    fputs(", \"doc\": ", f);
    fanin__json_str(f, p->doc);
    fputc('}', f);
}

static void json_plugin(FILE *f, const fanin__entry *e) {
    const fanin_plugin *p = e->plugin;
    fputs("{\"kind\": ", f);
    fanin__json_str(f, fanin__kind_name(p->kind));
    fputs(", \"name\": ", f);
    fanin__json_str(f, p->name);
    fputs(", \"version\": ", f);
    fanin__json_str(f, p->version);
    fputs(", \"file\": ", f);
    fanin__json_str(f, e->path);
    fputs(", \"doc\": ", f);
    fanin__json_str(f, p->doc);
    json_bool(f, "deterministic", p->flags & FANIN_FLAG_DETERMINISTIC);
    if (p->kind == FANIN_KIND_ACTIVATION) json_bool(f, "in_place", p->flags & FANIN_FLAG_IN_PLACE);
    fputs(", \"params\": [", f);
    for (size_t i = 0; i < e->n_params; i++) {
        fputs(i ? ", " : "", f);
        json_param(f, &p->params[i]);
    }
    fputs("]}", f);
}

void fanin__api_plugins_json(FILE *f, const fanin_registry *reg, int kind) {
    fputs("{\"fanin_version\": ", f);
    fanin__json_str(f, fanin_version());
    fprintf(f, ", \"abi\": \"%d.%d\", \"search_path\": ", FANIN_ABI_MAJOR, FANIN_ABI_MINOR);
    fanin__json_str(f, fanin__registry_search_path(reg));
    fputs(",\n  \"plugins\": [", f);
    int first = 1;
    for (size_t i = 0; i < fanin__registry_count(reg); i++) {
        const fanin__entry *e = fanin__registry_at(reg, i);
        if (kind && e->plugin->kind != kind) continue;
        fputs(first ? "\n    " : ",\n    ", f);
        json_plugin(f, e);
        first = 0;
    }
    fputs("\n  ]\n}\n", f);
}

int fanin_plugins_json(fanin_session *s, int kind, char **json) {
    if (!s || !json) return FANIN_EINVAL;
    size_t len = 0;
    FILE *f = open_memstream(json, &len);
    if (!f) return fanin__errf(s->err, sizeof s->err, FANIN_ENOMEM, "out of memory for JSON");
    fanin__api_plugins_json(f, s->reg, kind);
    if (fclose(f) != 0) {
        free(*json);
        *json = NULL;
        return fanin__errf(s->err, sizeof s->err, FANIN_ENOMEM, "out of memory for JSON");
    }
    return FANIN_OK;
}

/* shape[0..ndim) all positive with at most 2^28 elements (1 GiB of float32). */
static int check_shape(fanin_session *s, int ndim, const int64_t *shape) {
    if (ndim < 1 || ndim > 4 || !shape)
        return fanin__errf(s->err, sizeof s->err, FANIN_EINVAL,
                           "shape has %d dimensions; give 1 to 4 ([out, in, kh, kw])", ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1 || shape[i] > (1LL << 28) / n)
            return fanin__errf(s->err, sizeof s->err, FANIN_EINVAL,
                               "shape: dimension %d is %lld; each must be positive and the "
                               "product at most 2^28",
                               i, (long long)shape[i]);
        n *= shape[i];
    }
    return FANIN_OK;
}

int fanin_init_fill(fanin_session *s, const char *name, float *data, int ndim, const int64_t *shape,
                    uint64_t seed, int rng, const char *activation, const char *const *params,
                    size_t n_params) {
    if (!s) return FANIN_EINVAL;
    s->err[0] = 0;
    if (!data) return fanin__errf(s->err, sizeof s->err, FANIN_EINVAL, "data is NULL");
    int rc = check_shape(s, ndim, shape);
    double gain;
    if (rc == FANIN_OK)
        rc = fanin__api_activation_gain(s->reg, activation, &gain, s->err, sizeof s->err);
    if (rc < 0) return rc;
    fanin__pref init;
    rc = fanin__api_pref(s->reg, FANIN_KIND_INITIALIZER, name, params, n_params, &init, s->err,
                         sizeof s->err);
    if (rc < 0) return rc;
    int role = ndim == 1   ? FANIN_ROLE_UNKNOWN
               : ndim == 2 ? FANIN_ROLE_DENSE_WEIGHT
                           : FANIN_ROLE_CONV_WEIGHT;
    fanin_tensor t;
    fanin__tensor_init(&t, data, role, ndim, shape, NULL);
    rc = fanin__api_sample(&init, gain, seed, rng, &t, s->err, sizeof s->err);
    fanin__pref_deinit(&init);
    return rc;
}
