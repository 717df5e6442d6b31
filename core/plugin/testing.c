/* <fanin/testing.h>: the fake host and the plugin handle cmocka tests of a plugin use. The
 * checks themselves are check.c's (the same ones `fanin check` runs); this file loads the
 * plugin, hands it a host whose allocations go to the test's allocator, and keeps parameters,
 * a call context and a stream for the test. Exported from libfanin; nothing here needs cmocka.
 */
#include <stdint.h>
#include <stdio.h>
#include <fanin/testing.h>

#include "base/errors.h"
#include "base/rng.h"
#include "plugin/check.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <dlfcn.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct fanin_test_plugin {
    fanin_registry *reg; /* owns the entry */
    const fanin__entry *entry;
    fanin_value *params; /* entry->n_params values (at least one slot) */
    fanin_ctx ctx;
    fanin_rng rng;
    double gain;
    char why[FANIN_CHECK_MSGLEN];
};

/* ---- the fake host ---- */

static void *(*user_alloc)(size_t, const char *, int);
static void (*user_free)(void *, const char *, int);
static atomic_long fail_countdown, live;

void fanin_test_set_allocator(void *(*alloc)(size_t, const char *, int),
                              void (*release)(void *, const char *, int)) {
    user_alloc = alloc && release ? alloc : NULL;
    user_free = alloc && release ? release : NULL;
}

void fanin_test_fail_alloc_after(long n) { atomic_store(&fail_countdown, n > 0 ? n : 0); }

long fanin_test_live_allocs(void) { return atomic_load(&live); }

static void *fake_alloc(fanin_ctx *ctx, size_t size) {
    (void)ctx;
    long left = atomic_load(&fail_countdown);
    while (left > 0 && !atomic_compare_exchange_weak(&fail_countdown, &left, left - 1)) {}
    if (left == 1) return NULL;
    size = size ? size : 1; /* malloc(0) may be NULL, which reads as failure */
    void *p = user_alloc ? user_alloc(size, "plugin (host->alloc)", 0) : malloc(size);
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

static void fake_free(fanin_ctx *ctx, void *p) {
    (void)ctx;
    if (!p) return;
    atomic_fetch_sub(&live, 1);
    if (user_free) user_free(p, "plugin (host->free)", 0);
    else free(p);
}

/* The real host's table (errors into the call context, Philox streams, BLAS) with the
 * allocator replaced. */
static const fanin_host *fake_host(void) {
    static fanin_host fake;
    fake = *fanin__host();
    fake.alloc = fake_alloc;
    fake.free = fake_free;
    return &fake;
}

/* Run the plugin's entry point again with the fake host, so its FANIN_HOST points there. */
static int reenter(const fanin__entry *e, char *err, size_t errlen) {
    void *h = dlopen(e->path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    void *sym = h ? dlsym(h, FANIN_ENTRY_SYMBOL) : NULL;
    fanin_plugin_entry_fn entry;
    if (!sym)
        return fanin__errf(err, errlen, FANIN_EPLUGIN, "%s: cannot find %s again", e->path,
                           FANIN_ENTRY_SYMBOL);
    memcpy(&entry, &sym, sizeof entry);
    fanin__host_begin_entry(e->path);
    const fanin_library *lib = entry(fake_host());
    fanin__host_begin_entry(NULL);
    if (!lib)
        return fanin__errf(err, errlen, FANIN_EPLUGIN, "%s: %s refused the test host", e->path,
                           FANIN_ENTRY_SYMBOL);
    return FANIN_OK;
}

/* ---- loading ---- */

static const fanin__entry *pick(const fanin_registry *r, int kind, const char *name) {
    for (size_t i = 0; i < fanin__registry_count(r); i++) {
        const fanin__entry *e = fanin__registry_at(r, i);
        if ((!kind || e->plugin->kind == kind) && (!name || !strcmp(e->plugin->name, name)))
            return e;
    }
    return NULL;
}

int fanin_test_load(fanin_test_plugin **out, const char *path, int kind, const char *name,
                    char *err, size_t errlen) {
    fanin_test_plugin *tp = calloc(1, sizeof *tp);
    *out = NULL;
    if (!tp || fanin__registry_new_empty(&tp->reg)) {
        free(tp);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    }
    int rc = fanin__registry_load(tp->reg, path, err, errlen);
    if (rc == FANIN_OK && !(tp->entry = pick(tp->reg, kind, name)))
        rc = fanin__errf(err, errlen, FANIN_EINVAL, "%s has no %s%s%s", path,
                         kind ? fanin__kind_name(kind) : "plugin", name ? " named " : "",
                         name ? name : "");
    if (rc == FANIN_OK) rc = reenter(tp->entry, err, errlen);
    if (rc == FANIN_OK && !(tp->params = calloc(tp->entry->n_params + 1, sizeof *tp->params)))
        rc = fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    if (rc != FANIN_OK) {
        fanin_test_free(tp);
        return rc;
    }
    tp->gain = 1.0;
    fanin__params_defaults(tp->entry, tp->params);
    fanin__ctx_init(&tp->ctx, tp->entry, tp->gain);
    *out = tp;
    return FANIN_OK;
}

void fanin_test_free(fanin_test_plugin *tp) {
    if (!tp) return;
    fanin__registry_free(tp->reg);
    free(tp->params);
    free(tp);
}

const fanin_plugin *fanin_test_descriptor(const fanin_test_plugin *tp) { return tp->entry->plugin; }

/* ---- parameters ---- */

const fanin_value *fanin_test_params(const fanin_test_plugin *tp) { return tp->params; }

void fanin_test_reset_params(fanin_test_plugin *tp) {
    fanin__params_defaults(tp->entry, tp->params);
}

void fanin_test_set_values(fanin_test_plugin *tp, const fanin_value *p) {
    if (p && tp->entry->n_params) memcpy(tp->params, p, tp->entry->n_params * sizeof *p);
}

void fanin_test_set_gain(fanin_test_plugin *tp, double gain) { tp->gain = gain; }

static int param_index(fanin_test_plugin *tp, const char *name) {
    for (size_t i = 0; i < tp->entry->n_params; i++)
        if (!strcmp(tp->entry->plugin->params[i].name, name)) return (int)i;
    snprintf(tp->why, sizeof tp->why, "%s has no parameter '%s'", tp->entry->plugin->name, name);
    return -1;
}

int fanin_test_set_param(fanin_test_plugin *tp, const char *name, double v) {
    int i = param_index(tp, name);
    if (i < 0) return FANIN_EINVAL;
    switch (tp->entry->plugin->params[i].type) {
    case FANIN_PARAM_F64: tp->params[i].f = v; break;
    case FANIN_PARAM_I64: tp->params[i].i = (int64_t)v; break;
    case FANIN_PARAM_BOOL: tp->params[i].b = v != 0.0; break;
    case FANIN_PARAM_ENUM: tp->params[i].e = (int32_t)v; break;
    default:
        snprintf(tp->why, sizeof tp->why, "'%s' is a string: use fanin_test_set_param_text", name);
        return FANIN_EINVAL;
    }
    return FANIN_OK;
}

int fanin_test_set_param_text(fanin_test_plugin *tp, const char *name, const char *text) {
    int i = param_index(tp, name);
    if (i < 0) return FANIN_EINVAL;
    const fanin_param_spec *s = &tp->entry->plugin->params[i];
    char *end = NULL;
    if (s->type == FANIN_PARAM_STRING) {
        tp->params[i].s = text;
        return FANIN_OK;
    }
    if (s->type == FANIN_PARAM_ENUM) {
        for (int k = 0; s->choices && s->choices[k]; k++)
            if (!strcmp(s->choices[k], text)) return tp->params[i].e = k, FANIN_OK;
    } else if (s->type == FANIN_PARAM_BOOL) {
        if (!strcmp(text, "true") || !strcmp(text, "false"))
            return tp->params[i].b = text[0] == 't', FANIN_OK;
    } else if (s->type == FANIN_PARAM_F64 && !strcmp(text, "auto")) {
        return tp->params[i].f = NAN, FANIN_OK;
    } else {
        double v = strtod(text, &end);
        if (end != text && !*end) return fanin_test_set_param(tp, name, v);
    }
    snprintf(tp->why, sizeof tp->why, "'%s' is not a valid %s value for '%s'", text,
             s->type == FANIN_PARAM_ENUM ? "choice" : "number or keyword", name);
    return FANIN_EINVAL;
}

/* ---- calling ---- */

fanin_ctx *fanin_test_ctx(fanin_test_plugin *tp) {
    fanin__ctx_init(&tp->ctx, tp->entry, tp->gain);
    return &tp->ctx;
}

const char *fanin_test_message(const fanin_test_plugin *tp) {
    return tp->ctx.has_error ? tp->ctx.msg : "";
}

fanin_rng *fanin_test_rng(fanin_test_plugin *tp, uint64_t seed, uint32_t stream) {
    fanin__rng_init(&tp->rng, seed, 1, stream);
    return &tp->rng;
}

void fanin_test_tensor_init(fanin_tensor *t, float *data, int role, int ndim, const int64_t *shape,
                            const fanin_tensor *of) {
    fanin__tensor_init(t, data, role, ndim, shape, of);
}

/* A rows x cols dense weight as a 1.2 host describes it. */
static void dense(fanin_tensor *t, float *w, int64_t rows, int64_t cols) {
    fanin__tensor_init(t, w, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){rows, cols}, NULL);
}

int fanin_test_fill_tensor(fanin_test_plugin *tp, const fanin_tensor *t, uint64_t seed) {
    const fanin_initializer_vt *vt = tp->entry->plugin->vtable;
    if (tp->entry->plugin->kind != FANIN_KIND_INITIALIZER) {
        snprintf(tp->why, sizeof tp->why, "%s is not an initializer", tp->entry->plugin->name);
        return FANIN_EINVAL;
    }
    fanin_ctx *ctx = fanin_test_ctx(tp);
    uint32_t stream = t->is_bias ? FANIN_STREAM_BIAS : FANIN_STREAM_WEIGHT;
    int rc = vt->fill(ctx, t, tp->params, fanin_test_rng(tp, seed, stream));
    snprintf(tp->why, sizeof tp->why, "%s", fanin_test_message(tp));
    return rc;
}

int fanin_test_fill(fanin_test_plugin *tp, float *w, int64_t rows, int64_t cols, uint64_t seed) {
    fanin_tensor t;
    dense(&t, w, rows, cols);
    return fanin_test_fill_tensor(tp, &t, seed);
}

/* ---- checks ---- */

const char *fanin_test_why(const fanin_test_plugin *tp) { return tp->why; }

static fanin__check_env env_of(const fanin_test_plugin *tp) {
    return (fanin__check_env){fanin_test_fail_alloc_after, fanin_test_live_allocs, tp->gain};
}

/* A check's status as a return code; why[] keeps its message. */
static int verdict(fanin_test_plugin *tp, int status) {
    if (status == FANIN_CHECK_PASS) tp->why[0] = '\0';
    return status == FANIN_CHECK_PASS   ? FANIN_OK
           : status == FANIN_CHECK_SKIP ? FANIN_ENOTSUP
                                        : FANIN_EINVAL;
}

/* Is this the kind the check needs? */
static int need_kind(fanin_test_plugin *tp, int kind) {
    if (tp->entry->plugin->kind == kind) return 1;
    snprintf(tp->why, sizeof tp->why, "%s is a %s, not a%s %s", tp->entry->plugin->name,
             fanin__kind_name(tp->entry->plugin->kind),
             kind == FANIN_KIND_INITIALIZER || kind == FANIN_KIND_ACTIVATION ? "n" : "",
             fanin__kind_name(kind));
    return 0;
}

#define SUBJECT(tp)                     \
    fanin__check_env env_ = env_of(tp); \
    fanin__check_subject s_ = {(tp)->entry, (tp)->params, &env_}

int fanin_test_check_schema(fanin_test_plugin *tp) {
    return verdict(tp, fanin__check_schema(tp->entry->plugin, tp->why, sizeof tp->why));
}

int fanin_test_check_conformance(fanin_test_plugin *tp) {
    size_t n;
    const fanin__check_def *defs = fanin__check_list(&n);
    char msg[FANIN_CHECK_MSGLEN - 128];
    SUBJECT(tp);
    for (size_t i = 0; i < n; i++) {
        if (defs[i].kind && defs[i].kind != tp->entry->plugin->kind) continue;
        if (defs[i].fn(&s_, msg, sizeof msg) == FANIN_CHECK_FAIL) {
            snprintf(tp->why, sizeof tp->why, "%s: %s", defs[i].name, msg);
            return FANIN_EINVAL;
        }
    }
    tp->why[0] = '\0';
    return FANIN_OK;
}

int fanin_test_init_stats(fanin_test_plugin *tp, int64_t rows, int64_t cols, uint64_t seed,
                          fanin_test_stats *out) {
    fanin__sample_stats st;
    fanin_tensor t;
    if (!need_kind(tp, FANIN_KIND_INITIALIZER)) return FANIN_EINVAL;
    SUBJECT(tp);
    dense(&t, NULL, rows, cols);
    int rc = verdict(tp, fanin__check_init_sample(&s_, &t, seed, &st, tp->why, sizeof tp->why));
    if (rc == FANIN_OK)
        *out = (fanin_test_stats){st.mean, st.std, st.min, st.max, st.n, st.nonfinite};
    return rc;
}

int fanin_test_check_init_moments_tensor(fanin_test_plugin *tp, const fanin_tensor *shape,
                                         double mean, double std, double nsigma) {
    if (!need_kind(tp, FANIN_KIND_INITIALIZER)) return FANIN_EINVAL;
    SUBJECT(tp);
    return verdict(tp, fanin__check_init_moments(&s_, shape, mean, std, nsigma, tp->why,
                                                 sizeof tp->why));
}

int fanin_test_check_init_moments(fanin_test_plugin *tp, int64_t rows, int64_t cols, double mean,
                                  double std, double nsigma) {
    fanin_tensor t;
    dense(&t, NULL, rows, cols);
    return fanin_test_check_init_moments_tensor(tp, &t, mean, std, nsigma);
}

int fanin_test_check_init_bounds(fanin_test_plugin *tp, int64_t rows, int64_t cols, double lo,
                                 double hi) {
    if (!need_kind(tp, FANIN_KIND_INITIALIZER)) return FANIN_EINVAL;
    SUBJECT(tp);
    return verdict(tp, fanin__check_init_bounds(&s_, rows, cols, lo, hi, tp->why, sizeof tp->why));
}

int fanin_test_check_orthogonal(fanin_test_plugin *tp, int64_t rows, int64_t cols, double gain,
                                double tol) {
    if (!need_kind(tp, FANIN_KIND_INITIALIZER)) return FANIN_EINVAL;
    SUBJECT(tp);
    return verdict(tp,
                   fanin__check_orthogonal(&s_, rows, cols, gain, tol, tp->why, sizeof tp->why));
}

int fanin_test_check_gradient(fanin_test_plugin *tp, double lo, double hi, size_t n, double rtol,
                              double atol) {
    if (!need_kind(tp, FANIN_KIND_ACTIVATION)) return FANIN_EINVAL;
    SUBJECT(tp);
    return verdict(tp, fanin__check_gradient(&s_, lo, hi, n ? n : 1, rtol, atol, tp->why,
                                             sizeof tp->why));
}

int fanin_test_check_quadratic(fanin_test_plugin *tp, size_t n, double lr, int steps,
                               double factor) {
    if (!need_kind(tp, FANIN_KIND_OPTIMIZER)) return FANIN_EINVAL;
    SUBJECT(tp);
    return verdict(tp, fanin__check_quadratic(&s_, n, lr, steps, factor, NULL, NULL, tp->why,
                                              sizeof tp->why));
}
