/* Tests of the initializer plugins (plugins/initializers/), loaded through the host registry
 * exactly as a run loads them. Each scheme's sample mean and std on a 400 x 300 matrix at a
 * fixed seed must match its formula within 4 standard errors; moments() must give the formula.
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ROWS 400 /* fan_out */
#define COLS 300 /* fan_in */
#define SEED 20240611u
#define MAX_PARAMS 16

/* ---- helpers ---- */

static fanin_registry *reg;

static int group_setup(void **state) {
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, (const char *[]){FANIN_TEST_PLUGIN_DIR}, 1, err, sizeof err);
    if (rc != FANIN_OK) print_error("registry: %s\n", err);
    return rc;
}

static int group_teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

static const fanin__entry *find(const char *name) {
    const fanin__entry *e = fanin__registry_find(reg, FANIN_KIND_INITIALIZER, name);
    if (!e) fail_msg("initializer '%s' not found in %s", name, FANIN_TEST_PLUGIN_DIR);
    assert_true(e->n_params <= MAX_PARAMS);
    return e;
}

/* p := the schema's defaults, then `name, value` pairs (a NULL name ends them). */
static void params(const fanin__entry *e, fanin_value *p, ...) {
    const fanin_param_spec *s = e->plugin->params;
    for (size_t i = 0; i < e->n_params; i++) {
        switch (s[i].type) {
        case FANIN_PARAM_F64: p[i].f = s[i].def; break;
        case FANIN_PARAM_I64: p[i].i = (int64_t)s[i].def; break;
        case FANIN_PARAM_BOOL: p[i].b = s[i].def != 0.0; break;
        case FANIN_PARAM_ENUM: p[i].e = (int32_t)s[i].def; break;
        default: p[i].s = s[i].def_str; break;
        }
    }
    va_list ap;
    va_start(ap, p);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
        double v = va_arg(ap, double);
        size_t i = 0;
        while (i < e->n_params && strcmp(s[i].name, name) != 0) i++;
        if (i == e->n_params) fail_msg("%s has no parameter '%s'", e->plugin->name, name);
        switch (s[i].type) {
        case FANIN_PARAM_F64: p[i].f = v; break;
        case FANIN_PARAM_I64: p[i].i = (int64_t)v; break;
        case FANIN_PARAM_BOOL: p[i].b = v != 0.0; break;
        case FANIN_PARAM_ENUM: p[i].e = (int32_t)v; break;
        default: fail_msg("string parameters are not set by this helper");
        }
    }
    va_end(ap);
}

static const fanin_initializer_vt *vt(const fanin__entry *e) { return e->plugin->vtable; }

/* |a - b| <= tol in double (cmocka 1.1.5's assert_float_equal rounds to float) */
#define assert_close(a, b, tol)                                                                  \
    do {                                                                                         \
        double a_ = (a), b_ = (b);                                                               \
        if (!(fabs(a_ - b_) <= (tol))) fail_msg("%s = %.17g, want %.17g", #a, a_, b_);           \
    } while (0)

static fanin_tensor weight(float *data) {
    return (fanin_tensor){data, ROWS, COLS, COLS, ROWS, 0};
}

typedef struct stats {
    double mean, std, min, max;
} stats;

static stats sample_stats(const float *x, size_t n) {
    stats s = {0.0, 0.0, INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        s.mean += x[i];
        s.min = fmin(s.min, x[i]);
        s.max = fmax(s.max, x[i]);
    }
    s.mean /= (double)n;
    for (size_t i = 0; i < n; i++) s.std += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = sqrt(s.std / (double)(n - 1));
    return s;
}

/* Fill a 400 x 300 weight with `name` (params p, layer gain `gain`) at the fixed seed; check
 * the sample mean within 4 sigma/sqrt(n) and std within 4 sigma/sqrt(2n) (the normal's
 * standard error of s; a uniform's is smaller) of want_mean/want_std, and that moments()
 * returns exactly those. Returns the stats for extra checks. */
static stats check_fill(const fanin__entry *e, const fanin_value *p, double gain,
                        double want_mean, double want_std) {
    size_t n = (size_t)ROWS * COLS;
    float *w = malloc(n * sizeof *w);
    assert_non_null(w);
    fanin_tensor t = weight(w);
    fanin_ctx ctx;
    fanin_rng rng;
    fanin__ctx_init(&ctx, e, gain);
    fanin__rng_init(&rng, SEED, 1, FANIN_STREAM_WEIGHT);
    assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_OK);
    stats s = sample_stats(w, n);
    free(w);

    double tol_mean = 4.0 * want_std / sqrt((double)n), tol_std = 4.0 * want_std / sqrt(2.0 * n);
    if (fabs(s.mean - want_mean) > tol_mean || fabs(s.std - want_std) > tol_std)
        fail_msg("%s: sample mean %.6g std %.6g, want %.6g +- %.2g and %.6g +- %.2g",
                 e->plugin->name, s.mean, s.std, want_mean, tol_mean, want_std, tol_std);

    double mean = NAN, std = NAN;
    assert_non_null(vt(e)->moments);
    assert_int_equal(vt(e)->moments(&ctx, &t, p, &mean, &std), FANIN_OK);
    assert_close(mean, want_mean, 1e-15 + 1e-12 * fabs(want_mean));
    assert_close(std, want_std, 1e-12 * want_std);
    return s;
}

/* A uniform sample's bounds: inside [lo, hi) and reaching close to both ends. */
static void check_bounds(stats s, double lo, double hi) {
    assert_true(s.min >= (float)lo);
    assert_true(s.max < (float)hi || s.max == nextafterf((float)hi, (float)lo));
    assert_true(s.min < lo + 1e-3 * (hi - lo));
    assert_true(s.max > hi - 1e-3 * (hi - lo));
}

/* ---- constant schemes ---- */

static void test_zeros_exact(void **state) {
    const fanin__entry *e = find("zeros");
    float w[ROWS * 3];
    for (size_t i = 0; i < ROWS * 3; i++) w[i] = 7.0f;
    fanin_tensor t = {w, ROWS, 3, 3, ROWS, 0};
    fanin_ctx ctx;
    fanin_rng rng;
    fanin__ctx_init(&ctx, e, 1.0);
    fanin__rng_init(&rng, SEED, 0, 0);
    assert_int_equal(vt(e)->fill(&ctx, &t, NULL, &rng), FANIN_OK);
    for (size_t i = 0; i < ROWS * 3; i++) assert_true(w[i] == 0.0f);
    double mean = 1, std = 1;
    assert_int_equal(vt(e)->moments(&ctx, &t, NULL, &mean, &std), FANIN_OK);
    assert_true(mean == 0.0 && std == 0.0);
}

static void test_constant_exact(void **state) {
    const fanin__entry *e = find("constant");
    fanin_value p[MAX_PARAMS];
    float w[50];
    fanin_tensor t = {w, 50, 1, 20, 50, 1};
    fanin_ctx ctx;
    fanin_rng rng;
    fanin__ctx_init(&ctx, e, 1.0);
    fanin__rng_init(&rng, SEED, 0, 1);
    params(e, p, NULL);
    assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_OK);
    for (size_t i = 0; i < 50; i++) assert_true(w[i] == 0.0f); /* default value 0 */
    params(e, p, "value", -0.125, NULL);
    assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_OK);
    for (size_t i = 0; i < 50; i++) assert_true(w[i] == -0.125f);
    double mean = 0, std = 1;
    assert_int_equal(vt(e)->moments(&ctx, &t, p, &mean, &std), FANIN_OK);
    assert_true(mean == -0.125 && std == 0.0);
}

/* ---- plain distributions ---- */

static void test_uniform_defaults(void **state) {
    const fanin__entry *e = find("uniform");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL); /* torch.nn.init.uniform_: a = 0, b = 1 */
    check_bounds(check_fill(e, p, 1.0, 0.5, 1.0 / sqrt(12.0)), 0.0, 1.0);
    params(e, p, "a", -2.0, "b", 3.0, NULL);
    check_bounds(check_fill(e, p, 1.0, 0.5, 5.0 / sqrt(12.0)), -2.0, 3.0);
}

static void test_uniform_rejects_empty_interval(void **state) {
    const fanin__entry *e = find("uniform");
    fanin_value p[MAX_PARAMS];
    float w[4] = {0};
    fanin_tensor t = {w, 2, 2, 2, 2, 0};
    fanin_ctx ctx;
    fanin_rng rng;
    fanin__rng_init(&rng, SEED, 0, 0);
    const double bad[][2] = {{1.0, 1.0}, {2.0, -2.0}};
    for (size_t k = 0; k < 2; k++) {
        params(e, p, "a", bad[k][0], "b", bad[k][1], NULL);
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_EINVAL);
        assert_true(ctx.has_error);
        assert_non_null(strstr(ctx.msg, "less than"));
        double mean, std;
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->moments(&ctx, &t, p, &mean, &std), FANIN_EINVAL);
    }
}

static void test_normal_stats(void **state) {
    const fanin__entry *e = find("normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL); /* torch.nn.init.normal_: mean 0, std 1 */
    check_fill(e, p, 1.0, 0.0, 1.0);
    params(e, p, "std", 0.01, NULL); /* the classic small init */
    check_fill(e, p, 1.0, 0.0, 0.01);
    params(e, p, "mean", 0.5, "std", 2.0, NULL);
    check_fill(e, p, 1.0, 0.5, 2.0);
}

/* ---- variance scaling ---- */

static void test_lecun_normal_stats(void **state) {
    const fanin__entry *e = find("lecun_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL);
    check_fill(e, p, sqrt(2.0), 0.0, 1.0 / sqrt(COLS)); /* gain 1 whatever the activation */
    params(e, p, "gain", 2.0, NULL);
    check_fill(e, p, 1.0, 0.0, 2.0 / sqrt(COLS));
    params(e, p, "gain", NAN, NULL); /* auto */
    check_fill(e, p, 5.0 / 3.0, 0.0, 5.0 / 3.0 / sqrt(COLS));
}

static void test_lecun_uniform_stats(void **state) {
    const fanin__entry *e = find("lecun_uniform");
    fanin_value p[MAX_PARAMS];
    double b = sqrt(3.0 / COLS);
    params(e, p, NULL);
    check_bounds(check_fill(e, p, 1.0, 0.0, b / sqrt(3.0)), -b, b);
}

static void test_xavier_normal_stats(void **state) {
    const fanin__entry *e = find("xavier_normal");
    fanin_value p[MAX_PARAMS];
    double std = sqrt(2.0 / (COLS + ROWS));
    params(e, p, NULL); /* gain 1 as PyTorch, even under tanh */
    check_fill(e, p, 5.0 / 3.0, 0.0, std);
    params(e, p, "gain", NAN, NULL);
    check_fill(e, p, 5.0 / 3.0, 0.0, 5.0 / 3.0 * std);
}

static void test_xavier_uniform_stats(void **state) {
    const fanin__entry *e = find("xavier_uniform");
    fanin_value p[MAX_PARAMS];
    double b = sqrt(6.0 / (COLS + ROWS));
    params(e, p, NULL);
    check_bounds(check_fill(e, p, 1.0, 0.0, b / sqrt(3.0)), -b, b);
    params(e, p, "gain", 0.5, NULL);
    check_bounds(check_fill(e, p, 1.0, 0.0, 0.5 * b / sqrt(3.0)), -0.5 * b, 0.5 * b);
}

static void test_he_normal_gain_auto(void **state) {
    const fanin__entry *e = find("he_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL); /* gain auto: the ctx's (relu) gain */
    assert_true(isnan(p[0].f));
    check_fill(e, p, sqrt(2.0), 0.0, sqrt(2.0 / COLS));
    check_fill(e, p, 1.0, 0.0, 1.0 / sqrt(COLS)); /* linear layer */
    params(e, p, "gain", 1.5, NULL);
    check_fill(e, p, sqrt(2.0), 0.0, 1.5 / sqrt(COLS));
}

static void test_he_normal_fan_out(void **state) {
    const fanin__entry *e = find("he_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, "mode", 1.0, NULL);
    check_fill(e, p, sqrt(2.0), 0.0, sqrt(2.0 / ROWS));
}

/* Keras/JAX convention: truncated at 2 sigma of the widened normal, std kept. */
static void test_he_normal_truncated(void **state) {
    const fanin__entry *e = find("he_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, "truncated", 1.0, NULL);
    double std = sqrt(2.0 / COLS);
    stats s = check_fill(e, p, sqrt(2.0), 0.0, std);
    double cut = 2.0 * std / 0.87962566103423978;
    assert_true(s.max <= cut * (1 + 1e-6) && s.min >= -cut * (1 + 1e-6));
    assert_true(s.max > 0.99 * cut && s.min < -0.99 * cut);
}

static void test_lecun_normal_truncated(void **state) {
    const fanin__entry *e = find("lecun_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, "truncated", 1.0, NULL);
    stats s = check_fill(e, p, 1.0, 0.0, 1.0 / sqrt(COLS));
    assert_true(s.max <= 2.0 / sqrt(COLS) / 0.87962566103423978 * (1 + 1e-6));
}

static void test_he_uniform_stats(void **state) {
    const fanin__entry *e = find("he_uniform");
    fanin_value p[MAX_PARAMS];
    double b = sqrt(2.0) * sqrt(3.0 / COLS);
    params(e, p, NULL);
    check_bounds(check_fill(e, p, sqrt(2.0), 0.0, b / sqrt(3.0)), -b, b);
    params(e, p, "mode", 1.0, "gain", 1.0, NULL);
    b = sqrt(3.0 / ROWS);
    check_bounds(check_fill(e, p, sqrt(2.0), 0.0, b / sqrt(3.0)), -b, b);
}

/* ---- every scheme ---- */

static const char *const all_names[] = {"zeros", "constant", "uniform", "normal",
                                        "lecun_normal", "lecun_uniform", "xavier_normal",
                                        "xavier_uniform", "he_normal", "he_uniform"};
#define N_NAMES (sizeof all_names / sizeof all_names[0])

/* A bias (cols 1) is filled using the layer's fans from the view: same moments as W. */
static void test_all_bias_uses_layer_fans(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin__entry *e = find(all_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        float w[1], b[ROWS];
        fanin_tensor tw = weight(w), tb = {b, ROWS, 1, COLS, ROWS, 1};
        double mw, sw, mb, sb;
        fanin_ctx ctx;
        fanin_rng rng;
        fanin__ctx_init(&ctx, e, sqrt(2.0));
        fanin__rng_init(&rng, SEED, 1, FANIN_STREAM_BIAS);
        assert_int_equal(vt(e)->fill(&ctx, &tb, p, &rng), FANIN_OK);
        for (size_t i = 0; i < ROWS; i++) assert_true(isfinite(b[i]));
        assert_int_equal(vt(e)->moments(&ctx, &tw, p, &mw, &sw), FANIN_OK);
        assert_int_equal(vt(e)->moments(&ctx, &tb, p, &mb, &sb), FANIN_OK);
        assert_true(mw == mb && sw == sb);
    }
}

/* n = 0 is a no-op returning FANIN_OK: data is never touched (NULL here). */
static void test_all_empty_is_noop(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin__entry *e = find(all_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        fanin_tensor t0 = {NULL, 0, COLS, COLS, 0, 0}, t1 = {NULL, ROWS, 0, 0, ROWS, 0};
        fanin_ctx ctx;
        fanin_rng rng;
        double mean, std;
        fanin__ctx_init(&ctx, e, 1.0);
        fanin__rng_init(&rng, SEED, 0, 0);
        assert_int_equal(vt(e)->fill(&ctx, &t0, p, &rng), FANIN_OK);
        assert_int_equal(vt(e)->fill(&ctx, &t1, p, &rng), FANIN_OK);
        assert_int_equal(vt(e)->moments(&ctx, &t1, p, &mean, &std), FANIN_OK);
        assert_false(ctx.has_error);
    }
}

/* Same (seed, layer, tensor) -> the same weights; another tensor id -> different ones. */
static void test_all_deterministic(void **state) {
    for (size_t k = 2; k < N_NAMES; k++) { /* the random ones */
        const fanin__entry *e = find(all_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        float a[64], b[64], c[64];
        fanin_tensor ta = {a, 8, 8, 8, 8, 0}, tb = ta, tc = ta;
        tb.data = b;
        tc.data = c;
        fanin_ctx ctx;
        fanin_rng r1, r2, r3;
        fanin__ctx_init(&ctx, e, 1.0);
        fanin__rng_init(&r1, SEED, 2, FANIN_STREAM_WEIGHT);
        fanin__rng_init(&r2, SEED, 2, FANIN_STREAM_WEIGHT);
        fanin__rng_init(&r3, SEED, 2, FANIN_STREAM_BIAS);
        assert_int_equal(vt(e)->fill(&ctx, &ta, p, &r1), FANIN_OK);
        assert_int_equal(vt(e)->fill(&ctx, &tb, p, &r2), FANIN_OK);
        assert_int_equal(vt(e)->fill(&ctx, &tc, p, &r3), FANIN_OK);
        assert_memory_equal(a, b, sizeof a);
        assert_memory_not_equal(a, c, sizeof a);
    }
}

/* A layer without inputs has no fan to scale by: an error, not a division by zero. */
static void test_all_scaled_reject_zero_fan(void **state) {
    for (size_t k = 4; k < N_NAMES; k++) { /* the variance-scaling ones */
        const fanin__entry *e = find(all_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        float w[4] = {0};
        fanin_tensor t = {w, 4, 1, 0, 0, 1};
        fanin_ctx ctx;
        fanin_rng rng;
        fanin__ctx_init(&ctx, e, 1.0);
        fanin__rng_init(&rng, SEED, 0, 0);
        assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_EINVAL);
        assert_true(ctx.has_error);
        assert_non_null(strstr(ctx.msg, "fan_"));
    }
}

/* Every schema row documented, defaults within bounds, names unique. */
static void test_all_schemas_well_formed(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin__entry *e = find(all_names[k]);
        assert_string_equal(e->plugin->name, all_names[k]);
        assert_non_null(e->plugin->doc);
        for (size_t i = 0; i < e->n_params; i++) {
            const fanin_param_spec *s = &e->plugin->params[i];
            assert_non_null(s->doc);
            assert_true(strlen(s->doc) > 0);
            if (isnan(s->def)) {
                assert_true(s->flags & FANIN_PARAM_AUTO);
                continue;
            }
            if (!(s->flags & FANIN_PARAM_NO_MIN))
                assert_true((s->flags & FANIN_PARAM_MIN_EXCL) ? s->def > s->min : s->def >= s->min);
            if (!(s->flags & FANIN_PARAM_NO_MAX))
                assert_true((s->flags & FANIN_PARAM_MAX_EXCL) ? s->def < s->max : s->def <= s->max);
            for (size_t j = 0; j < i; j++)
                assert_string_not_equal(s->name, e->plugin->params[j].name);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeros_exact),
        cmocka_unit_test(test_constant_exact),
        cmocka_unit_test(test_uniform_defaults),
        cmocka_unit_test(test_uniform_rejects_empty_interval),
        cmocka_unit_test(test_normal_stats),
        cmocka_unit_test(test_lecun_normal_stats),
        cmocka_unit_test(test_lecun_uniform_stats),
        cmocka_unit_test(test_xavier_normal_stats),
        cmocka_unit_test(test_xavier_uniform_stats),
        cmocka_unit_test(test_he_normal_gain_auto),
        cmocka_unit_test(test_he_normal_fan_out),
        cmocka_unit_test(test_he_normal_truncated),
        cmocka_unit_test(test_lecun_normal_truncated),
        cmocka_unit_test(test_he_uniform_stats),
        cmocka_unit_test(test_all_bias_uses_layer_fans),
        cmocka_unit_test(test_all_empty_is_noop),
        cmocka_unit_test(test_all_deterministic),
        cmocka_unit_test(test_all_scaled_reject_zero_fan),
        cmocka_unit_test(test_all_schemas_well_formed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
