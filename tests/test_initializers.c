/* Tests of the initializer plugins (plugins/initializers/), loaded through the host registry
 * exactly as a run loads them. Each scheme's sample mean and std on a 400 x 300 matrix at a
 * fixed seed must match its formula within 4 standard errors; moments() must give the formula.
 * Plus the exact properties: bounds, orthogonality, zeros per column, row sums, alias identity.
 * The initializers that read a tensor's description (plugin ABI 1.2: shape, role, residual
 * branch) are checked on hand-built descriptions: dirac against torch.nn.init.dirac_ bit for
 * bit, delta_orthogonal's centre against torch.nn.init.orthogonal_ on the same draws
 * (tests/ref/make_init_ref.py), fixup against the rule of Zhang et al. 2019.
 */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <dlfcn.h>

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A tensor given by its 2-D view alone (the 1.0 fields; ndim 0: not described), as callers
 * that know no layer pass it (fanin init-stats). */
#define T2D(d, r, c, fi, fo, b) \
    ((fanin_tensor){            \
        .data = (d), .rows = (r), .cols = (c), .fan_in = (fi), .fan_out = (fo), .is_bias = (b)})
#include <fanin/testing.h>

#include "plugin_tests.h"
#include "ref/init_ref.h"

#define ROWS 400 /* fan_out */
#define COLS 300 /* fan_in */
#define SEED 20240611u
#define N_OF(a) (sizeof a / sizeof a[0])

/* ---- helpers ---- */


static const fanin__entry *find(const char *name) {
    return find_kind(FANIN_KIND_INITIALIZER, name);
}


static const fanin_initializer_vt *vt(const fanin__entry *e) { return e->plugin->vtable; }

/* The initializer `name` through <fanin/testing.h> (its fake host, fanin check's checks). */
static fanin_test_plugin *load(const char *name) {
    char err[FANIN_ERRLEN];
    fanin_test_plugin *tp = NULL;
    if (fanin_test_load(&tp, FANIN_TEST_PLUGIN_DIR "/initializers.so", FANIN_KIND_INITIALIZER, name,
                        err, sizeof err) != FANIN_OK)
        fail_msg("%s", err);
    return tp;
}

/* |a - b| <= tol in double (cmocka 1.1.5's assert_float_equal rounds to float) */
#define assert_close(a, b, tol)                                                        \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (tol))) fail_msg("%s = %.17g, want %.17g", #a, a_, b_); \
    } while (0)

static fanin_tensor weight(float *data) { return T2D(data, ROWS, COLS, COLS, ROWS, 0); }

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
static stats check_fill_t(const fanin__entry *e, const fanin_value *p, double gain, fanin_tensor t,
                          double want_mean, double want_std) {
    size_t n = (size_t)t.rows * (size_t)t.cols;
    float *w = malloc(n * sizeof *w);
    assert_non_null(w);
    t.data = w;
    fanin_ctx ctx;
    fanin_rng rng;
    fanin__ctx_init(&ctx, e, gain);
    fanin__rng_init(&rng, SEED, 1, t.is_bias ? FANIN_STREAM_BIAS : FANIN_STREAM_WEIGHT);
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

static stats check_fill(const fanin__entry *e, const fanin_value *p, double gain, double want_mean,
                        double want_std) {
    return check_fill_t(e, p, gain, weight(NULL), want_mean, want_std);
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
    fanin_tensor t = T2D(w, ROWS, 3, 3, ROWS, 0);
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
    fanin_tensor t = T2D(w, 50, 1, 20, 50, 1);
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
    fanin_tensor t = T2D(w, 2, 2, 2, 2, 0);
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

/* Issue 11: he_normal's default is sqrt 2 whatever the layer (torch kaiming_normal_, Keras
 * HeNormal): `fanin init-stats he_normal --shape 256,512` is std 0.0625, not LeCun's 0.0442.
 * `nonlinearity: auto` asks for the layer's gain; `a` alone is leaky_relu. */
static void test_he_normal_gain_auto(void **state) {
    enum { AUTO, LINEAR, SIGMOID, TANH, RELU, LEAKY, SELU };
    const fanin__entry *e = find("he_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL); /* gain auto, nonlinearity leaky_relu, a = 0 */
    assert_true(isnan(p[0].f));
    check_fill(e, p, sqrt(2.0), 0.0, sqrt(2.0 / COLS));
    check_fill(e, p, 1.0, 0.0, sqrt(2.0 / COLS));       /* linear layer: still sqrt 2 */
    check_fill(e, p, 5.0 / 3.0, 0.0, sqrt(2.0 / COLS)); /* tanh layer: still sqrt 2 */
    params(e, p, "a", 0.2, NULL); /* a alone: leaky_relu's sqrt(2 / (1 + a^2)) */
    check_fill(e, p, 5.0 / 3.0, 0.0, sqrt(2.0 / 1.04) / sqrt(COLS));
    params(e, p, "nonlinearity", (double)AUTO, NULL); /* the layer's own gain */
    check_fill(e, p, 5.0 / 3.0, 0.0, 5.0 / 3.0 / sqrt(COLS));
    check_fill(e, p, 1.0, 0.0, 1.0 / sqrt(COLS));
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

/* ---- issue 3: the rest of the catalogue ---- */

/* Fill t with `name` at the fixed seed's weight (or bias) stream; returns fill's status. */
static int fill_t(const fanin__entry *e, const fanin_value *p, double gain, fanin_tensor *t) {
    fanin_ctx ctx;
    fanin_rng rng;
    fanin__ctx_init(&ctx, e, gain);
    fanin__rng_init(&rng, SEED, 1, t->is_bias ? FANIN_STREAM_BIAS : FANIN_STREAM_WEIGHT);
    return vt(e)->fill(&ctx, t, p, &rng);
}

static double moments_std(const fanin__entry *e, const fanin_value *p, fanin_tensor t,
                          double *mean) {
    fanin_ctx ctx;
    double m = NAN, sd = NAN;
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->moments(&ctx, &t, p, &m, &sd), FANIN_OK);
    if (mean) *mean = m;
    return sd;
}

static void test_ones_exact(void **state) {
    const fanin__entry *e = find("ones");
    float w[ROWS];
    fanin_tensor t = T2D(w, ROWS, 1, 3, ROWS, 1);
    assert_int_equal(fill_t(e, NULL, 1.0, &t), FANIN_OK);
    for (size_t i = 0; i < ROWS; i++) assert_true(w[i] == 1.0f);
    double mean;
    assert_true(moments_std(e, NULL, t, &mean) == 0.0 && mean == 1.0);
}

/* PyTorch's defaults: N(0,1) cut at the absolute [-2, 2], no correction: std 0.8796. */
static void test_trunc_normal_torch(void **state) {
    const fanin__entry *e = find("trunc_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL);
    stats s = check_fill(e, p, 1.0, 0.0, 0.87962566103423978);
    assert_true(s.min >= -2.0 && s.max <= 2.0 && s.min < -1.99 && s.max > 1.99);
    params(e, p, "std", 0.05, "a", -0.06, "b", 0.06, NULL); /* absolute: cut at 1.2 sigma */
    s = check_fill(e, p, 1.0, 0.0, moments_std(e, p, weight(NULL), NULL));
    assert_true(s.min >= -0.06f && s.max <= 0.06f);
}

/* Keras TruncatedNormal: bounds in sigma; correct_variance gives Keras VarianceScaling's
 * widened normal (std / 0.8796, cut at 2 of its own std), whose std is the requested one. */
static void test_trunc_normal_std_units(void **state) {
    const fanin__entry *e = find("trunc_normal");
    fanin_value p[MAX_PARAMS];
    params(e, p, "std", 0.05, "bounds", 1.0, NULL);
    stats s = check_fill(e, p, 1.0, 0.0, 0.05 * 0.87962566103423978);
    assert_true(s.min >= -0.1f && s.max <= 0.1f && s.max > 0.099);
    params(e, p, "std", 0.05, "bounds", 1.0, "correct_variance", 1.0, NULL);
    s = check_fill(e, p, 1.0, 0.0, 0.05);
    double cut = 2.0 * 0.05 / 0.87962566103423978;
    assert_true(s.min >= -cut * (1 + 1e-6) && s.max <= cut * (1 + 1e-6) && s.max > 0.99 * cut);
}

/* Absolute, asymmetric bounds with the correction: std is the requested one, the mean moves
 * as the truncated normal's does; the sample agrees with both. */
static void test_trunc_normal_correct_absolute(void **state) {
    const fanin__entry *e = find("trunc_normal");
    fanin_value p[MAX_PARAMS];
    double mean;
    params(e, p, "mean", 0.25, "std", 0.5, "a", -0.5, "b", 1.5, "correct_variance", 1.0, NULL);
    double sd = moments_std(e, p, weight(NULL), &mean);
    assert_close(sd, 0.5, 1e-12);
    assert_true(mean > 0.25);
    stats s = check_fill(e, p, 1.0, mean, sd);
    assert_true(s.min >= -0.5f && s.max <= 1.5f);
    /* more than a uniform on [a, b] can give: refused */
    fanin_ctx ctx;
    float w[4];
    fanin_tensor t = T2D(w, 2, 2, 2, 2, 0);
    params(e, p, "std", 1.2, "a", -2.0, "b", 2.0, "correct_variance", 1.0, NULL);
    fanin__ctx_init(&ctx, e, 1.0);
    fanin_rng rng;
    fanin__rng_init(&rng, SEED, 0, 0);
    assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_EINVAL);
    assert_non_null(strstr(ctx.msg, "not reachable"));
    params(e, p, "a", 1.0, "b", 1.0, NULL);
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_EINVAL);
}

/* Rectangular identity both ways (torch eye_), gain as Keras Identity; a bias gets zeros. */
static void test_eye_exact(void **state) {
    const char *names[] = {"eye", "identity"};
    for (size_t k = 0; k < 2; k++) {
        const fanin__entry *e = find(names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, "gain", 2.0, NULL);
        float w[15];
        for (int shape = 0; shape < 2; shape++) {
            int r = shape ? 5 : 3, c = shape ? 3 : 5;
            fanin_tensor t = T2D(w, r, c, c, r, 0);
            assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++) assert_true(w[i * c + j] == (i == j ? 2.0f : 0.0f));
            double mean, sd = moments_std(e, p, t, &mean);
            assert_close(mean, 2.0 * 3 / 15, 1e-15);
            assert_close(sd, 2.0 * sqrt(0.2 - 0.04), 1e-15);
        }
        fanin_tensor b = T2D(w, 15, 1, 4, 15, 1);
        assert_int_equal(fill_t(e, p, 1.0, &b), FANIN_OK);
        for (int i = 0; i < 15; i++) assert_true(w[i] == 0.0f);
    }
}

/* Aliases are their target under another name: same output from the same stream. */
static void test_aliases_identical(void **state) {
    const char *pairs[][2] = {{"kaiming_normal", "he_normal"},
                              {"kaiming_uniform", "he_uniform"},
                              {"glorot_normal", "xavier_normal"},
                              {"glorot_uniform", "xavier_uniform"},
                              {"identity", "eye"}};
    static float a[ROWS * COLS], b[ROWS * COLS];
    for (size_t k = 0; k < N_OF(pairs); k++) {
        const fanin__entry *ea = find(pairs[k][0]), *eb = find(pairs[k][1]);
        assert_ptr_equal(ea->plugin->params, eb->plugin->params);
        fanin_value p[MAX_PARAMS];
        params(ea, p, NULL);
        fanin_tensor ta = weight(a), tb = weight(b);
        assert_int_equal(fill_t(ea, p, sqrt(2.0), &ta), FANIN_OK);
        assert_int_equal(fill_t(eb, p, sqrt(2.0), &tb), FANIN_OK);
        assert_memory_equal(a, b, sizeof a);
    }
}

/* kaiming's gain: explicit gain > nonlinearity (+ a; default leaky_relu) > (auto) the layer's. */
static void test_kaiming_nonlinearity(void **state) {
    const fanin__entry *e = find("kaiming_normal");
    fanin_value p[MAX_PARAMS];
    enum { AUTO, LINEAR, SIGMOID, TANH, RELU, LEAKY, SELU };
    params(e, p, "nonlinearity", (double)LEAKY, "a", 0.2, NULL); /* layer gain 5/3 ignored */
    check_fill(e, p, 5.0 / 3.0, 0.0, sqrt(2.0 / 1.04) / sqrt(COLS));
    params(e, p, "nonlinearity", (double)LEAKY, NULL); /* PyTorch's default: a = 0 -> sqrt 2 */
    check_fill(e, p, 1.0, 0.0, sqrt(2.0) / sqrt(COLS));
    params(e, p, "nonlinearity", (double)TANH, "mode", 1.0, NULL);
    check_fill(e, p, 1.0, 0.0, 5.0 / 3.0 / sqrt(ROWS));
    params(e, p, "nonlinearity", (double)SELU, NULL);
    check_fill(e, p, 1.0, 0.0, 0.75 / sqrt(COLS));
    params(e, p, "nonlinearity", (double)TANH, "gain", 1.5, NULL); /* explicit gain wins */
    check_fill(e, p, 1.0, 0.0, 1.5 / sqrt(COLS));
    e = find("he_uniform");
    params(e, p, "nonlinearity", (double)LEAKY, "a", sqrt(5.0), NULL);
    double b = sqrt(3.0) * sqrt(2.0 / 6.0) / sqrt(COLS); /* nn.Linear's 1/sqrt(fan_in) */
    check_bounds(check_fill(e, p, sqrt(2.0), 0.0, b / sqrt(3.0)), -b, b);
}

/* Keras VarianceScaling: the three distributions, three modes, n floored at 1. */
static void test_variance_scaling(void **state) {
    const fanin__entry *e = find("variance_scaling");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL); /* scale 1, fan_in, truncated_normal */
    double std = 1.0 / sqrt(COLS), cut = 2.0 * std / 0.87962566103423978;
    stats s = check_fill(e, p, 1.0, 0.0, std);
    assert_true(s.max <= cut * (1 + 1e-6) && s.min >= -cut * (1 + 1e-6) && s.max > 0.99 * cut);
    params(e, p, "scale", 2.0, "mode", 1.0, "distribution", 1.0, NULL);
    s = check_fill(e, p, 1.0, 0.0, sqrt(2.0 / ROWS));
    assert_true(s.max > 4.0 * sqrt(2.0 / ROWS)); /* untruncated: a 4-sigma value in 120000 */
    params(e, p, "mode", 2.0, "distribution", 2.0, NULL); /* = glorot_uniform */
    double b = sqrt(3.0 / ((ROWS + COLS) / 2.0));
    check_bounds(check_fill(e, p, 1.0, 0.0, b / sqrt(3.0)), -b, b);
    fanin_tensor t0 = T2D(NULL, 4, 1, 0, 0, 1);
    params(e, p, "scale", 3.0, NULL);
    assert_close(moments_std(e, p, t0, NULL), sqrt(3.0), 1e-15);
}

static void test_orthogonal(void **state) {
    const fanin__entry *e = find("orthogonal");
    fanin_value p[MAX_PARAMS];
    fanin_test_plugin *tp = load("orthogonal");
    const int shapes[][2] = {{ROWS, COLS}, {COLS, ROWS}, {64, 64}, {ROWS, 1}};
    for (size_t k = 0; k < N_OF(shapes); k++)
        for (int gi = 0; gi < 2; gi++) { /* W W^T (or W^T W) = gain^2 I */
            double g = gi ? 2.0 : 1.0;
            assert_fanin_ok(tp, fanin_test_set_param(tp, "gain", g));
            assert_fanin_orthogonal(tp, shapes[k][0], shapes[k][1], g, 1e-5 * g * g);
        }
    params(e, p, NULL);
    double std = sqrt((double)COLS / ((double)ROWS * COLS)); /* semi-orthogonal: mean 0 */
    check_fill(e, p, 1.0, 0.0, std);
    assert_fanin_ok(tp, fanin_test_set_param_text(tp, "gain", "auto")); /* the layer's gain */
    fanin_test_set_gain(tp, 5.0 / 3.0);
    assert_fanin_orthogonal(tp, COLS, ROWS, 5.0 / 3.0, 1e-4);
    fanin_test_free(tp);
}

/* Exactly ceil(sparsity * rows) zeros in every column; the rest N(0, std). */
static void test_sparse(void **state) {
    const fanin__entry *e = find("sparse");
    fanin_value p[MAX_PARAMS];
    static float w[ROWS * COLS];
    const double sparsity[] = {0.1, 0.25, 0.333, 1.0, 0.0};
    for (size_t k = 0; k < N_OF(sparsity); k++) {
        params(e, p, "sparsity", sparsity[k], NULL);
        fanin_tensor t = weight(w);
        assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
        size_t want = (size_t)ceil(sparsity[k] * ROWS);
        for (int j = 0; j < COLS; j++) {
            size_t z = 0;
            for (int i = 0; i < ROWS; i++) z += w[i * COLS + j] == 0.0f;
            if (z != want)
                fail_msg("sparsity %g column %d: %zu zeros, want %zu", sparsity[k], j, z, want);
        }
    }
    params(e, p, "sparsity", 0.1, NULL);
    check_fill(e, p, 1.0, 0.0, 0.01 * sqrt(1.0 - 40.0 / ROWS));
    params(e, p, "sparsity", 0.25, NULL); /* a bias is one column */
    fanin_tensor b = T2D(w, ROWS, 1, COLS, ROWS, 1);
    assert_int_equal(fill_t(e, p, 1.0, &b), FANIN_OK);
    size_t z = 0;
    for (int i = 0; i < ROWS; i++) z += w[i] == 0.0f;
    assert_int_equal(z, 100);
}

/* Rows are positive and sum to 1; mean 1/c; std against E[w^2] computed in float64 by
 * tests/ref's quadrature (make_activation_ref.py's method, h = 1e-3: 300 and 3 columns). */
static void test_positive_unitball(void **state) {
    const fanin__entry *e = find("positive_unitball");
    static float w[ROWS * COLS];
    fanin_tensor t = weight(w);
    assert_int_equal(fill_t(e, NULL, 1.0, &t), FANIN_OK);
    for (int i = 0; i < ROWS; i++) {
        double sum = 0.0;
        for (int j = 0; j < COLS; j++) {
            assert_true(w[i * COLS + j] >= 0.0f);
            sum += w[i * COLS + j];
        }
        assert_close(sum, 1.0, 1e-5);
    }
    double mean, sd = moments_std(e, NULL, weight(NULL), &mean);
    assert_close(mean, 1.0 / COLS, 1e-18);
    assert_close(sd, 0.0019244951504353387, 1e-9 * sd);
    check_fill(e, NULL, 1.0, mean, sd);
    fanin_tensor t3 = T2D(NULL, ROWS * 100, 3, 3, ROWS * 100, 0);
    sd = moments_std(e, NULL, t3, &mean);
    assert_close(sd, 0.17974262652843148, 1e-9 * sd);
    check_fill_t(e, NULL, 1.0, t3, 1.0 / 3.0, sd);
    fanin_tensor b = T2D(w, ROWS, 1, COLS, ROWS, 1); /* one-element rows: all ones, as Caffe */
    assert_int_equal(fill_t(e, NULL, 1.0, &b), FANIN_OK);
    for (int i = 0; i < ROWS; i++) assert_true(w[i] == 1.0f);
}

static void test_nguyen_widrow_textbook(void **state) {
    const fanin__entry *e = find("nguyen_widrow");
    fanin_value p[MAX_PARAMS];
    static float w[ROWS * COLS];
    params(e, p, NULL);
    double beta = 0.7 * pow(ROWS, 1.0 / COLS); /* H = fan_out, I = fan_in */
    fanin_tensor t = weight(w);
    assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
    for (int i = 0; i < ROWS; i++) {
        double ss = 0.0;
        for (int j = 0; j < COLS; j++) ss += (double)w[i * COLS + j] * w[i * COLS + j];
        assert_close(sqrt(ss), beta, 1e-5 * beta);
    }
    check_fill(e, p, 1.0, 0.0, beta / sqrt(COLS));
    fanin_tensor b = T2D(NULL, ROWS * 100, 1, COLS, ROWS, 1);
    check_bounds(check_fill_t(e, p, 1.0, b, 0.0, beta / sqrt(3.0)), -beta, beta);
    params(e, p, "input_min", 0.0, "input_max", 4.0, "hidden", 10.0, NULL); /* range 4: / 2 */
    beta = 0.7 * pow(10.0, 1.0 / COLS);
    check_fill(e, p, 1.0, 0.0, beta / 2.0 / sqrt(COLS));
}

/* FANN's fann_init_weights: s = (0.7 H)^(1/I) / (max - min); U(0, s), bias U(-s, s). */
static void test_nguyen_widrow_fann(void **state) {
    const fanin__entry *e = find("nguyen_widrow");
    fanin_value p[MAX_PARAMS];
    params(e, p, "variant", 1.0, NULL);
    double s = pow(0.7 * ROWS, 1.0 / COLS) / 2.0;
    check_bounds(check_fill(e, p, 1.0, s / 2.0, s / sqrt(12.0)), 0.0, s);
    fanin_tensor b = T2D(NULL, ROWS * 100, 1, COLS, ROWS, 1);
    check_bounds(check_fill_t(e, p, 1.0, b, 0.0, s / sqrt(3.0)), -s, s);
    params(e, p, "variant", 1.0, "input_min", 0.0, "input_max", 1.0, "hidden", 7.0, NULL);
    s = pow(0.7 * 7.0, 1.0 / COLS);
    check_bounds(check_fill(e, p, 1.0, s / 2.0, s / sqrt(12.0)), 0.0, s);
    fanin_ctx ctx;
    double m, sd;
    params(e, p, "input_min", 1.0, "input_max", 1.0, NULL);
    fanin__ctx_init(&ctx, e, 1.0);
    fanin_tensor t = weight(NULL);
    assert_int_equal(vt(e)->moments(&ctx, &t, p, &m, &sd), FANIN_EINVAL);
}

/* a and b filled from the same stream agree within a float's rounding of the bound */
static void assert_same_draws(const char *name_a, const char *name_b, const fanin_value *pb,
                              int is_bias) {
    static float a[ROWS * COLS], b[ROWS * COLS];
    const fanin__entry *ea = find(name_a), *eb = find(name_b);
    fanin_value p[MAX_PARAMS];
    params(ea, p, NULL);
    fanin_tensor ta = weight(a), tb = weight(b);
    ta.is_bias = tb.is_bias = is_bias;
    assert_int_equal(fill_t(ea, p, 5.0 / 3.0, &ta), FANIN_OK);
    assert_int_equal(fill_t(eb, pb, 5.0 / 3.0, &tb), FANIN_OK);
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++)
        if (!(fabs(a[i] - b[i]) <= 1e-6 * fabs(b[i]) + 1e-12))
            fail_msg("%s[%zu] = %.9g, %s gives %.9g", name_a, i, a[i], name_b, b[i]);
}

/* torch.nn.Linear: kaiming_uniform_(a = sqrt 5) -> U(+-1/sqrt(fan_in)); bias the same bound. */
static void test_torch_default(void **state) {
    const fanin__entry *e = find("torch_default");
    double torch_w = 0.05773502691896256; /* math.sqrt(3) * (sqrt(2/(1+sqrt(5)**2)) / sqrt(300)) */
    double torch_b = 0.05773502691896257; /* 1 / math.sqrt(300) */
    check_bounds(check_fill(e, NULL, 5.0 / 3.0, 0.0, torch_w / sqrt(3.0)), -torch_w, torch_w);
    fanin_tensor b = T2D(NULL, ROWS * 100, 1, COLS, ROWS, 1);
    check_bounds(check_fill_t(e, NULL, 1.0, b, 0.0, torch_b / sqrt(3.0)), -torch_b, torch_b);
    const fanin__entry *k = find("kaiming_uniform");
    fanin_value p[MAX_PARAMS];
    params(k, p, "a", sqrt(5.0), "nonlinearity", 5.0, NULL);
    assert_same_draws("torch_default", "kaiming_uniform", p, 0);
    float z[3] = {1, 1, 1};
    fanin_tensor b0 = T2D(z, 3, 1, 0, 3, 1); /* fan_in 0: bound 0, as PyTorch */
    assert_int_equal(fill_t(e, NULL, 1.0, &b0), FANIN_OK);
    assert_true(z[0] == 0.0f && z[2] == 0.0f);
}

static void test_keras_default(void **state) {
    const fanin__entry *e = find("keras_default");
    double b = sqrt(6.0 / (ROWS + COLS));
    check_bounds(check_fill(e, NULL, 1.0, 0.0, b / sqrt(3.0)), -b, b);
    fanin_value p[MAX_PARAMS];
    params(find("glorot_uniform"), p, NULL);
    assert_same_draws("keras_default", "glorot_uniform", p, 0);
    float w[ROWS];
    fanin_tensor t = T2D(w, ROWS, 1, COLS, ROWS, 1);
    assert_int_equal(fill_t(e, NULL, 1.0, &t), FANIN_OK);
    for (int i = 0; i < ROWS; i++) assert_true(w[i] == 0.0f);
}

/* Caffe "xavier": U(+-sqrt(3/n)); the default n = fan_in is LeCun uniform. */
static void test_caffe_xavier(void **state) {
    const fanin__entry *e = find("caffe_xavier");
    fanin_value p[MAX_PARAMS];
    const double n[] = {COLS, ROWS, (ROWS + COLS) / 2.0};
    for (int k = 0; k < 3; k++) {
        params(e, p, "variance_norm", (double)k, NULL);
        double b = sqrt(3.0 / n[k]);
        check_bounds(check_fill(e, p, 1.0, 0.0, b / sqrt(3.0)), -b, b);
    }
    fanin_value q[MAX_PARAMS];
    params(find("lecun_uniform"), q, NULL);
    assert_same_draws("caffe_xavier", "lecun_uniform", q, 0);
}

static void test_fann_default(void **state) {
    const fanin__entry *e = find("fann_default");
    check_bounds(check_fill(e, NULL, 1.0, 0.0, 0.2 / sqrt(12.0)), -0.1, 0.1);
}

/* ---- every scheme ---- */

/* ---- issue 10: initializers that read the tensor's description (ABI 1.2) ---- */

static size_t init_size_of(const fanin_tensor *t) { return (size_t)t->rows * (size_t)t->cols; }

/* A described tensor: PyTorch's shape in a role, the engine's view and fans (host.c). */
static fanin_tensor shaped(float *data, int role, int ndim, const int64_t *shape) {
    fanin_tensor t;
    fanin__tensor_init(&t, data, role, ndim, shape, NULL);
    return t;
}

/* ... of block `block` of L, position pos among the branch's m weight layers */
static fanin_tensor in_branch(fanin_tensor t, int block, int L, int pos, int m) {
    t.block = block, t.n_blocks = L, t.pos = pos, t.branch_len = m;
    return t;
}

static void assert_all_equal(const float *w, size_t n, float v) {
    for (size_t i = 0; i < n; i++)
        if (w[i] != v) fail_msg("w[%zu] = %.9g, want %.9g", i, w[i], v);
}

/* dirac against torch.nn.init.dirac_ bit for bit: 4-D and 3-D, odd and even kernels, out < in,
 * out > in, groups 2 (tests/ref/init_ref.h); and torch.nn.init.eye_ on a 2-D weight. */
static void test_dirac_torch(void **state) {
    const fanin__entry *e = find("dirac");
    fanin_value p[MAX_PARAMS];
    float w[256];
    for (size_t k = 0; k < N_OF(dirac_refs); k++) {
        const dirac_ref *r = &dirac_refs[k];
        fanin_tensor t = shaped(w, FANIN_ROLE_CONV_WEIGHT, r->ndim, r->shape);
        params(e, p, "groups", (double)r->groups, NULL);
        memset(w, 0x7f, sizeof w);
        assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
        assert_memory_equal(w, r->w, init_size_of(&t) * sizeof *w);
        double m = (double)r->groups * (double)(r->shape[0] / r->groups < r->shape[1]
                                                    ? r->shape[0] / r->groups
                                                    : r->shape[1]);
        double f = m / (double)init_size_of(&t), mean, std = moments_std(e, p, t, &mean);
        assert_close(mean, f, 1e-15);
        assert_close(std, sqrt(f - f * f), 1e-15);
    }
    params(e, p, NULL);
    fanin_tensor d = shaped(w, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){5, 3});
    assert_int_equal(fill_t(e, p, 1.0, &d), FANIN_OK);
    assert_memory_equal(w, dirac_ref_dense_5x3, sizeof dirac_ref_dense_5x3);
    fanin_tensor u = T2D(w, 5, 3, 3, 5, 0); /* not described: the 2-D rule, the same */
    assert_int_equal(fill_t(e, p, 1.0, &u), FANIN_OK);
    assert_memory_equal(w, dirac_ref_dense_5x3, sizeof dirac_ref_dense_5x3);
    fanin_tensor b = shaped(w, FANIN_ROLE_BIAS, 1, (int64_t[]){6}); /* no offset */
    assert_int_equal(fill_t(e, p, 1.0, &b), FANIN_OK);
    assert_all_equal(w, 6, 0.0f);
}

/* torch: "dim 0 must be divisible by groups"; here an error naming both. */
static void test_dirac_groups_must_divide(void **state) {
    const fanin__entry *e = find("dirac");
    fanin_value p[MAX_PARAMS];
    float w[6 * 4 * 9];
    fanin_ctx ctx;
    fanin_rng rng;
    params(e, p, "groups", 4.0, NULL);
    fanin_tensor t = shaped(w, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){6, 4, 3, 3});
    fanin__ctx_init(&ctx, e, 1.0);
    fanin__rng_init(&rng, SEED, 1, FANIN_STREAM_WEIGHT);
    assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_EINVAL);
    assert_non_null(strstr(ctx.msg, "6 output channels are not divisible by groups = 4"));
}

/* The centre [out, in] of W [out, in, kh, kw] and the largest value off the centre. */
static double split_centre(const float *w, const int64_t *s, double *centre) {
    int64_t kk = s[2] * s[3], c = (s[2] / 2) * s[3] + s[3] / 2;
    double off = 0.0;
    for (int64_t oi = 0; oi < s[0] * s[1]; oi++)
        for (int64_t k = 0; k < kk; k++) {
            double v = w[oi * kk + k];
            if (k == c) centre[oi] = v;
            else off = fmax(off, fabs(v));
        }
    return off;
}

/* The largest |(C^T C or C C^T) - gain^2 I| entry of C [r, c], the smaller Gram matrix. */
static double gram_error(const double *C, int64_t r, int64_t c, double gain) {
    int64_t m = r < c ? r : c, k = r < c ? c : r;
    double worst = 0.0;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < m; j++) {
            double dot = 0.0;
            for (int64_t l = 0; l < k; l++)
                dot += r >= c ? C[l * c + i] * C[l * c + j] : C[i * c + l] * C[j * c + l];
            worst = fmax(worst, fabs(dot - (i == j ? gain * gain : 0.0)));
        }
    return worst;
}

/* Zeros off the kernel centre; the centre gain * semi-orthogonal: C^T C = gain^2 I (out >= in,
 * the paper's case), C C^T = gain^2 I (out < in); moments = the formula, sample within 4 SE. */
static void test_delta_orthogonal_structure(void **state) {
    const fanin__entry *e = find("delta_orthogonal");
    fanin_value p[MAX_PARAMS];
    static float w[64 * 32 * 9];
    static double C[64 * 32];
    const int64_t shapes[][4] = {{64, 32, 3, 3}, {32, 32, 3, 3}, {16, 64, 3, 3}, {8, 4, 5, 5}};
    for (size_t k = 0; k < N_OF(shapes); k++) {
        const int64_t *s = shapes[k];
        double g = k == 1 ? 1.0 : 1.7;
        params(e, p, "gain", g, NULL);
        fanin_tensor t = shaped(w, FANIN_ROLE_CONV_WEIGHT, 4, s);
        assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
        assert_close(split_centre(w, s, C), 0.0, 0.0);
        assert_true(gram_error(C, s[0], s[1], g) < 1e-5 * g * g);
        double k_min = (double)(s[0] < s[1] ? s[0] : s[1]);
        check_fill_t(e, p, 1.0, t, 0.0, g * sqrt(k_min / (double)init_size_of(&t)));
    }
}

/* A dense weight, an undescribed tensor and a bias are plain `orthogonal`, draw for draw. */
static void test_delta_orthogonal_dense_is_orthogonal(void **state) {
    const fanin__entry *e = find("delta_orthogonal"), *o = find("orthogonal");
    fanin_value p[MAX_PARAMS], q[MAX_PARAMS];
    static float a[ROWS * COLS], b[ROWS * COLS];
    params(e, p, "gain", 1.3, NULL);
    params(o, q, "gain", 1.3, NULL);
    const fanin_tensor ts[] = {shaped(NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){ROWS, COLS}),
                               shaped(NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){COLS, ROWS}),
                               T2D(NULL, 40, 30, 30, 40, 0),
                               shaped(NULL, FANIN_ROLE_BIAS, 1, (int64_t[]){ROWS})};
    for (size_t k = 0; k < N_OF(ts); k++) {
        fanin_tensor ta = ts[k], tb = ts[k];
        ta.data = a, tb.data = b;
        assert_int_equal(fill_t(e, p, 1.0, &ta), FANIN_OK);
        assert_int_equal(fill_t(o, q, 1.0, &tb), FANIN_OK);
        assert_memory_equal(a, b, init_size_of(&ta) * sizeof *a);
        double ma, mb;
        assert_close(moments_std(e, p, ta, &ma), moments_std(o, q, tb, &mb), 0.0);
    }
}

/* ---- a host whose rng_normal replays given draws (for the PyTorch comparison) ---- */

typedef struct replay {
    const float *v;
    size_t n, next;
} replay;

static void replay_normal(fanin_rng *rng, float *out, size_t n, double mean, double std) {
    replay *r = (replay *)(void *)rng; /* the plugin passes the stream through unread */
    for (size_t i = 0; i < n; i++)
        out[i] = r->next < r->n ? (float)(mean + std * r->v[r->next++]) : NAN;
}

/* Run the family's entry point again with `host`, so its plugins call that table. */
static void reenter_family(const fanin__entry *e, const fanin_host *host) {
    void *h = dlopen(e->path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    assert_non_null(h);
    void *sym = dlsym(h, FANIN_ENTRY_SYMBOL);
    assert_non_null(sym);
    fanin_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    assert_non_null(entry(host));
    dlclose(h); /* drops only this extra reference */
}

/* delta_orthogonal [6, 4, 3, 3], gain 1.5, on fixed draws = torch.nn.init.orthogonal_ of the
 * same draws at the kernel centre, zeros elsewhere (tests/ref/init_ref.h), within 1e-5. */
static void test_delta_orthogonal_torch(void **state) {
    const fanin__entry *e = find("delta_orthogonal");
    fanin_value p[MAX_PARAMS];
    float w[216];
    static fanin_host host;
    host = *fanin__host();
    host.rng_normal = replay_normal;
    replay r = {delta_ref_draws, N_OF(delta_ref_draws), 0};
    params(e, p, "gain", DELTA_REF_GAIN, NULL);
    fanin_tensor t = shaped(w, FANIN_ROLE_CONV_WEIGHT, 4, delta_ref_shape);
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, e, 1.0);
    reenter_family(e, &host);
    int rc = vt(e)->fill(&ctx, &t, p, (fanin_rng *)(void *)&r);
    reenter_family(e, fanin__host());
    assert_int_equal(rc, FANIN_OK);
    assert_int_equal(r.next, r.n); /* every draw used, no more */
    for (size_t i = 0; i < N_OF(delta_ref_w); i++)
        if (!(fabs(w[i] - delta_ref_w[i]) <= 1e-5))
            fail_msg("w[%zu] = %.9g, torch %.9g", i, w[i], delta_ref_w[i]);
}

/* ---- fixup ---- */

/* Fill t with fixup (params p) and check every value is v. */
static void fixup_constant(const fanin__entry *e, const fanin_value *p, fanin_tensor t, float v) {
    static float w[ROWS * COLS];
    t.data = w;
    assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
    assert_all_equal(w, init_size_of(&t), v);
    double mean, std = moments_std(e, p, t, &mean);
    assert_close(mean, v, 0.0);
    assert_close(std, 0.0, 0.0);
}

/* Zhang et al. 2019, Sec. 3: in a branch of m weight layers among L branches, the first m - 1
 * layers are He normal times L^(-1/(2m-2)), the last is 0; sample std within 4 SE. */
static void test_fixup_branch(void **state) {
    const fanin__entry *e = find("fixup");
    fanin_value p[MAX_PARAMS];
    const int64_t s[4] = {64, 32, 3, 3}; /* fan_in 288, fan_out 576 */
    fanin_tensor conv = shaped(NULL, FANIN_ROLE_CONV_WEIGHT, 4, s);
    fanin_tensor dense = shaped(NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){ROWS, COLS});
    params(e, p, NULL);
    double he = sqrt(2.0) / sqrt(288.0);
    check_fill_t(e, p, 1.0, in_branch(conv, 3, 16, 0, 2), 0.0, he * pow(16.0, -0.5));
    check_fill_t(e, p, 1.0, in_branch(conv, 0, 16, 1, 3), 0.0, he * pow(16.0, -0.25));
    check_fill_t(e, p, 1.0, in_branch(dense, 7, 8, 0, 2), 0.0, sqrt(2.0 / COLS) / sqrt(8.0));
    fixup_constant(e, p, in_branch(conv, 3, 16, 1, 2), 0.0f); /* the branch's last layer */
    fixup_constant(e, p, in_branch(conv, 3, 16, 2, 3), 0.0f);
    fixup_constant(e, p, in_branch(dense, 0, 4, 0, 1), 0.0f); /* m = 1: it is the last */
    params(e, p, "mode", 1.0, "gain", 1.0, NULL);             /* fan_out, as the authors' code */
    check_fill_t(e, p, 1.0, in_branch(conv, 3, 16, 0, 2), 0.0, 1.0 / sqrt(576.0) / 4.0);
}

/* Outside the branches: He normal (skip projections too), the output layer 0 unless
 * classifier_zero is off; biases and shifts 0, norm scales and residual multipliers 1. */
static void test_fixup_outside_branches(void **state) {
    const fanin__entry *e = find("fixup");
    fanin_value p[MAX_PARAMS];
    fanin_tensor w = shaped(NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){ROWS, COLS});
    fanin_tensor out = w, proj = in_branch(w, 2, 8, -1, 2);
    out.flags = FANIN_TENSOR_OUTPUT;
    proj.role = FANIN_ROLE_SKIP_PROJECTION;
    params(e, p, NULL);
    double he = sqrt(2.0 / COLS);
    check_fill_t(e, p, 1.0, w, 0.0, he);
    check_fill_t(e, p, 1.0, proj, 0.0, he);
    fixup_constant(e, p, out, 0.0f);
    const int64_t n[1] = {ROWS};
    fixup_constant(e, p, shaped(NULL, FANIN_ROLE_BIAS, 1, n), 0.0f);
    fixup_constant(e, p, shaped(NULL, FANIN_ROLE_NORM_SHIFT, 1, n), 0.0f);
    fixup_constant(e, p, shaped(NULL, FANIN_ROLE_RESIDUAL_BIAS, 1, (int64_t[]){1}), 0.0f);
    fixup_constant(e, p, shaped(NULL, FANIN_ROLE_NORM_SCALE, 1, n), 1.0f);
    fixup_constant(e, p, shaped(NULL, FANIN_ROLE_RESIDUAL_SCALE, 1, (int64_t[]){1}), 1.0f);
    fixup_constant(e, p, T2D(NULL, ROWS, 1, COLS, ROWS, 1), 0.0f); /* an undescribed bias */
    params(e, p, "classifier_zero", 0.0, NULL);
    check_fill_t(e, p, 1.0, out, 0.0, he);
    params(e, p, "gain", NAN, NULL); /* auto: the layer's activation (tanh here) */
    check_fill_t(e, p, 5.0 / 3.0, w, 0.0, 5.0 / 3.0 / sqrt((double)COLS));
}

/* What the host cannot describe (fanin init-stats, a host before 1.2) is a weight outside the
 * branches: the very draws of he_normal with the same gain. */
static void test_fixup_undescribed_is_he_normal(void **state) {
    const fanin__entry *e = find("fixup"), *h = find("he_normal");
    fanin_value p[MAX_PARAMS], q[MAX_PARAMS];
    static float a[ROWS * COLS], b[ROWS * COLS];
    params(e, p, NULL);
    params(h, q, "gain", sqrt(2.0), NULL);
    fanin_tensor ta = weight(a), tb = weight(b);
    assert_int_equal(fill_t(e, p, 1.0, &ta), FANIN_OK);
    assert_int_equal(fill_t(h, q, 1.0, &tb), FANIN_OK);
    assert_memory_equal(a, b, sizeof a);
}

/* fanin__layer_tensor (engine/layer.c): PyTorch's shape and fans, the spec's branch place, the
 * output flag on the last dense or conv layer only when it is outside any branch. */
static void test_layer_tensor_description(void **state) {
    fanin__layer_spec specs[4] = {
        {.type = FANIN_LAYER_DENSE, .block = -1},
        {.type = FANIN_LAYER_CONV2D, .block = 1, .n_blocks = 4, .pos = 1, .branch_len = 2},
        {.type = FANIN_LAYER_DENSE}, /* a spec left at zero */
        {.type = FANIN_LAYER_FLATTEN, .block = -1}};
    fanin__layer layers[4];
    fanin_model m = {.n_layers = 4, .layers = layers};
    for (int l = 0; l < 4; l++)
        layers[l] = (fanin__layer){.spec = &specs[l], .model = &m, .index = l};
    fanin_tensor w, b;
    fanin__layer_tensor(&w, &layers[1], NULL, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){8, 3, 3, 3},
                        NULL);
    fanin__layer_tensor(&b, &layers[1], NULL, FANIN_ROLE_BIAS, 1, (int64_t[]){8}, &w);
    assert_true(w.rows == 8 && w.cols == 27 && w.fan_in == 27 && w.fan_out == 72);
    assert_true(w.block == 1 && w.n_blocks == 4 && w.pos == 1 && w.branch_len == 2);
    assert_true(b.block == 1 && b.fan_in == 27 && b.is_bias && w.flags == 0 && b.flags == 0);
    fanin__layer_tensor(&w, &layers[2], NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){10, 5}, NULL);
    fanin__layer_tensor(&b, &layers[2], NULL, FANIN_ROLE_BIAS, 1, (int64_t[]){10}, &w);
    assert_true(w.block == -1 && w.n_blocks == -1 && w.pos == -1 && w.branch_len == -1);
    assert_int_equal(w.flags, FANIN_TENSOR_OUTPUT); /* the last dense; a flatten follows */
    assert_int_equal(b.flags, FANIN_TENSOR_OUTPUT);
    fanin__layer_tensor(&w, &layers[0], NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){5, 4}, NULL);
    assert_int_equal(w.flags, 0);
    specs[2].type = FANIN_LAYER_BATCHNORM; /* now the last weight layer is in a branch: */
    fanin__layer_tensor(&w, &layers[0], NULL, FANIN_ROLE_DENSE_WEIGHT, 2, (int64_t[]){5, 4},
                        NULL); /* no layer is the classifier */
    assert_int_equal(w.flags, 0);
}

/* ---- issue 11: defaults as the frameworks have them, the missing schemes ---- */

/* Caffe's fans for a 1-D blob: fan_in = count / shape(0) = 1, fan_out = count: xavier's bias is
 * U(+-sqrt 3), msra's N(0, 2); a weight with no fan is still refused. */
static void test_caffe_bias_1d(void **state) {
    fanin_value p[MAX_PARAMS];
    const fanin__entry *x = find("caffe_xavier"), *m = find("caffe_msra");
    fanin_tensor b = T2D(NULL, 4000, 1, COLS, 4000, 1);
    params(x, p, NULL);
    check_bounds(check_fill_t(x, p, 1.0, b, 0.0, 1.0), -sqrt(3.0), sqrt(3.0));
    params(x, p, "variance_norm", 1.0, NULL); /* fan_out = count */
    check_fill_t(x, p, 1.0, b, 0.0, 1.0 / sqrt(4000.0));
    params(m, p, NULL);
    check_fill_t(m, p, 1.0, b, 0.0, sqrt(2.0));
    check_fill(m, p, 1.0, 0.0, sqrt(2.0 / COLS)); /* a weight: He's fan_in rule */
    params(m, p, "variance_norm", 2.0, NULL);
    check_fill(m, p, 1.0, 0.0, sqrt(2.0 / ((ROWS + COLS) / 2.0)));
    const fanin__entry *both[] = {x, m};
    for (int k = 0; k < 2; k++) {
        float w[4] = {0};
        fanin_tensor t = T2D(w, 4, 1, 0, 0, 0);
        params(both[k], p, NULL);
        assert_int_equal(fill_t(both[k], p, 1.0, &t), FANIN_EINVAL);
    }
}

/* Caffe's gaussian with `sparse: k`: Bernoulli(k / rows) mask; moments p*mean and
 * p (std^2 + mean^2) - (p mean)^2; the share of zeros within 4 binomial sigma. */
static void test_caffe_gaussian_sparse(void **state) {
    const fanin__entry *e = find("caffe_gaussian");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL); /* Caffe's defaults: N(0, 1), dense */
    check_fill(e, p, 1.0, 0.0, 1.0);
    params(e, p, "sparse", 30.0, NULL);
    double keep = 30.0 / ROWS;
    check_fill(e, p, 1.0, 0.0, sqrt(keep));
    params(e, p, "sparse", 30.0, "mean", 0.5, "std", 0.2, NULL);
    check_fill(e, p, 1.0, keep * 0.5, sqrt(keep * (0.04 + 0.25) - keep * keep * 0.25));
    static float w[ROWS * COLS];
    fanin_tensor t = weight(w);
    assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
    double nz = 0, n = (double)ROWS * COLS;
    for (int i = 0; i < ROWS * COLS; i++) nz += w[i] != 0.0f;
    assert_true(fabs(nz / n - keep) < 4.0 * sqrt(keep * (1 - keep) / n));
    params(e, p, "sparse", 1000.0, NULL); /* k > rows: p capped at 1 */
    check_fill(e, p, 1.0, 0.0, 1.0);
}

/* sparse per: row (Martens 2010): exactly `nonzeros` non-zero weights in every row. */
static void test_sparse_per_row(void **state) {
    const fanin__entry *e = find("sparse");
    fanin_value p[MAX_PARAMS];
    static float w[ROWS * COLS];
    const double k[] = {15.0, 1.0, 300.0, 1000.0};
    for (size_t c = 0; c < N_OF(k); c++) {
        params(e, p, "per", 1.0, "nonzeros", k[c], "std", 1.0, NULL);
        fanin_tensor t = weight(w);
        assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
        size_t want = k[c] < COLS ? (size_t)k[c] : COLS;
        for (int i = 0; i < ROWS; i++) {
            size_t nz = 0;
            for (int j = 0; j < COLS; j++) nz += w[i * COLS + j] != 0.0f;
            if (nz != want) fail_msg("nonzeros %g row %d: %zu, want %zu", k[c], i, nz, want);
        }
    }
    params(e, p, "per", 1.0, NULL); /* 15 per row, std 0.01 */
    check_fill(e, p, 1.0, 0.0, 0.01 * sqrt(15.0 / COLS));
}

/* JAX's variance_scaling mode fan_geo_avg: n = sqrt(fan_in fan_out). */
static void test_variance_scaling_fan_geo_avg(void **state) {
    const fanin__entry *e = find("variance_scaling");
    fanin_value p[MAX_PARAMS];
    params(e, p, "scale", 2.0, "mode", 3.0, "distribution", 1.0, NULL);
    check_fill(e, p, 1.0, 0.0, sqrt(2.0 / sqrt((double)ROWS * COLS)));
}

/* ZerO (Zhao et al. 2022): I* when out <= in; else the Sylvester Hadamard H/sqrt(p) cut to
 * [out, in], which for out = p has orthonormal columns; a conv gets it at the kernel centre. */
static void test_zero(void **state) {
    const fanin__entry *e = find("zero");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL);
    float w[8 * 5 * 9];
    fanin_tensor t = T2D(w, 3, 5, 5, 3, 0);
    assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) assert_true(w[i * 5 + j] == (i == j ? 1.0f : 0.0f));
    t = T2D(w, 8, 3, 3, 8, 0); /* widening: p = 8 */
    assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
    const int8_t h8[8][3] = {{1, 1, 1}, {1, -1, 1}, {1, 1, -1}, {1, -1, -1},
                             {1, 1, 1}, {1, -1, 1}, {1, 1, -1}, {1, -1, -1}};
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 3; j++) assert_close(w[i * 3 + j], h8[i][j] / sqrt(8.0), 1e-7);
    for (int a = 0; a < 3; a++) /* W^T W = I */
        for (int b = 0; b < 3; b++) {
            double g = 0;
            for (int i = 0; i < 8; i++) g += (double)w[i * 3 + a] * w[i * 3 + b];
            assert_close(g, a == b, 1e-6);
        }
    t = T2D(w, 5, 2, 2, 5, 0); /* p = 8, rows 0..4 of H/sqrt 8 */
    assert_int_equal(fill_t(e, p, 1.0, &t), FANIN_OK);
    assert_close(w[3 * 2 + 1], -1.0 / sqrt(8.0), 1e-7); /* popcount(3 & 1) = 1 */
    assert_close(w[4 * 2 + 1], 1.0 / sqrt(8.0), 1e-7);
    fanin_tensor c;
    fanin__tensor_init(&c, w, FANIN_ROLE_CONV_WEIGHT, 4, (int64_t[]){2, 5, 3, 3}, NULL);
    assert_int_equal(fill_t(e, p, 1.0, &c), FANIN_OK);
    double sum = 0;
    for (int i = 0; i < 2 * 5 * 9; i++) sum += w[i];
    assert_close(sum, 2.0, 0);
    assert_true(w[(0 * 5 + 0) * 9 + 4] == 1.0f && w[(1 * 5 + 1) * 9 + 4] == 1.0f);
    double mean, sd = moments_std(e, p, T2D(NULL, 3, 5, 5, 3, 0), &mean);
    assert_close(mean, 3.0 / 15.0, 1e-15);
    assert_close(sd, sqrt(3.0 / 15.0 - 0.04), 1e-12);
}

/* the constant schemes first, then the random ones (from index N_CONST) */
static const char *const all_names[] = {"zeros",
                                        "ones",
                                        "constant",
                                        "eye",
                                        "identity",
                                        "keras_default",
                                        "dirac",
                                        "zero",
                                        "uniform",
                                        "normal",
                                        "trunc_normal",
                                        "lecun_normal",
                                        "lecun_uniform",
                                        "xavier_normal",
                                        "xavier_uniform",
                                        "glorot_normal",
                                        "glorot_uniform",
                                        "he_normal",
                                        "he_uniform",
                                        "kaiming_normal",
                                        "kaiming_uniform",
                                        "variance_scaling",
                                        "orthogonal",
                                        "sparse",
                                        "positive_unitball",
                                        "nguyen_widrow",
                                        "torch_default",
                                        "caffe_xavier",
                                        "fann_default",
                                        "fixup",
                                        "delta_orthogonal",
                                        "caffe_msra",
                                        "caffe_gaussian",
                                        "critical"};
#define N_NAMES (sizeof all_names / sizeof all_names[0])
#define N_CONST 8

/* These fill a bias (cols 1) by the weight's rule with the layer's fans from the view: same
 * moments as W. (eye, keras_default: zeros; orthogonal, sparse, positive_unitball: a rows x 1
 * matrix; nguyen_widrow: its own bias rule; torch_default: 1/sqrt(fan_in), which differs
 * from the weight's sqrt(3)*sqrt(1/3)/sqrt(fan_in) in the last bit, as in PyTorch.) */
static const char *const fan_bias_names[] = {
    "zeros",
    "ones",
    "constant",
    "uniform",
    "normal",
    "trunc_normal",
    "lecun_normal",
    "lecun_uniform",
    "xavier_normal",
    "xavier_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "variance_scaling",
    "fann_default"}; /* not the caffe_* fillers: a bias is a 1-D blob (test_caffe_bias_1d) */

/* the schemes that scale by a fan and so need one */
static const char *const fan_names[] = {"lecun_normal",    "lecun_uniform", "xavier_normal",
                                        "xavier_uniform",  "glorot_normal", "glorot_uniform",
                                        "he_normal",       "he_uniform",    "kaiming_normal",
                                        "kaiming_uniform", "nguyen_widrow"};


/* A bias (cols 1) is filled using the layer's fans from the view: same moments as W. */
static void test_all_bias_uses_layer_fans(void **state) {
    for (size_t k = 0; k < N_OF(fan_bias_names); k++) {
        const fanin__entry *e = find(fan_bias_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        float w[1], b[ROWS];
        fanin_tensor tw = weight(w), tb = T2D(b, ROWS, 1, COLS, ROWS, 1);
        double mw, sw, mb, sb;
        fanin_ctx ctx;
        fanin_rng rng;
        fanin__ctx_init(&ctx, e, sqrt(2.0));
        fanin__rng_init(&rng, SEED, 1, FANIN_STREAM_BIAS);
        assert_int_equal(vt(e)->fill(&ctx, &tb, p, &rng), FANIN_OK);
        for (size_t i = 0; i < ROWS; i++) assert_true(isfinite(b[i]));
        assert_int_equal(vt(e)->moments(&ctx, &tw, p, &mw, &sw), FANIN_OK);
        assert_int_equal(vt(e)->moments(&ctx, &tb, p, &mb, &sb), FANIN_OK);
        if (!(mw == mb && sw == sb)) fail_msg("%s: bias moments differ", fan_bias_names[k]);
    }
}

/* Every scheme fills a bias with finite values and describes it. */
static void test_all_bias_finite(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin__entry *e = find(all_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        float b[ROWS];
        fanin_tensor tb = T2D(b, ROWS, 1, COLS, ROWS, 1);
        double mb = NAN, sb = NAN;
        fanin_ctx ctx;
        fanin_rng rng;
        fanin__ctx_init(&ctx, e, sqrt(2.0));
        fanin__rng_init(&rng, SEED, 1, FANIN_STREAM_BIAS);
        assert_int_equal(vt(e)->fill(&ctx, &tb, p, &rng), FANIN_OK);
        for (size_t i = 0; i < ROWS; i++) assert_true(isfinite(b[i]));
        assert_int_equal(vt(e)->moments(&ctx, &tb, p, &mb, &sb), FANIN_OK);
        assert_true(isfinite(mb) && isfinite(sb) && sb >= 0.0);
    }
}

/* n = 0 is a no-op returning FANIN_OK: data is never touched (NULL here). */
static void test_all_empty_is_noop(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        const fanin__entry *e = find(all_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        fanin_tensor t0 = T2D(NULL, 0, COLS, COLS, 0, 0), t1 = T2D(NULL, ROWS, 0, 0, ROWS, 0);
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
    for (size_t k = N_CONST; k < N_NAMES; k++) { /* the random ones */
        const fanin__entry *e = find(all_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        float a[64], b[64], c[64];
        fanin_tensor ta = T2D(a, 8, 8, 8, 8, 0), tb = ta, tc = ta;
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
    for (size_t k = 0; k < N_OF(fan_names); k++) {
        const fanin__entry *e = find(fan_names[k]);
        fanin_value p[MAX_PARAMS];
        params(e, p, NULL);
        float w[4] = {0};
        fanin_tensor t = T2D(w, 4, 1, 0, 0, 1);
        fanin_ctx ctx;
        fanin_rng rng;
        fanin__ctx_init(&ctx, e, 1.0);
        fanin__rng_init(&rng, SEED, 0, 0);
        assert_int_equal(vt(e)->fill(&ctx, &t, p, &rng), FANIN_EINVAL);
        assert_true(ctx.has_error);
        assert_non_null(strstr(ctx.msg, "fan_"));
    }
}

/* Every schema row named, unique, documented, min <= default <= max (fanin check's check). */
static void test_all_schemas_well_formed(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        fanin_test_plugin *tp = load(all_names[k]);
        assert_string_equal(fanin_test_descriptor(tp)->name, all_names[k]);
        assert_fanin_schema(tp);
        fanin_test_free(tp);
    }
}

/* Every initializer passes the behaviour checks of `fanin check`: empty tensors, guard words,
 * same seed same weights, finite values, sample moments against moments(), allocation
 * failures (orthogonal's QR included). */
static void test_all_conform(void **state) {
    for (size_t k = 0; k < N_NAMES; k++) {
        fanin_test_plugin *tp = load(all_names[k]);
        assert_fanin_conforms(tp);
        fanin_test_free(tp);
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
        cmocka_unit_test(test_ones_exact),
        cmocka_unit_test(test_trunc_normal_torch),
        cmocka_unit_test(test_trunc_normal_std_units),
        cmocka_unit_test(test_trunc_normal_correct_absolute),
        cmocka_unit_test(test_eye_exact),
        cmocka_unit_test(test_aliases_identical),
        cmocka_unit_test(test_kaiming_nonlinearity),
        cmocka_unit_test(test_variance_scaling),
        cmocka_unit_test(test_orthogonal),
        cmocka_unit_test(test_sparse),
        cmocka_unit_test(test_positive_unitball),
        cmocka_unit_test(test_nguyen_widrow_textbook),
        cmocka_unit_test(test_nguyen_widrow_fann),
        cmocka_unit_test(test_torch_default),
        cmocka_unit_test(test_keras_default),
        cmocka_unit_test(test_caffe_xavier),
        cmocka_unit_test(test_caffe_bias_1d),
        cmocka_unit_test(test_caffe_gaussian_sparse),
        cmocka_unit_test(test_sparse_per_row),
        cmocka_unit_test(test_variance_scaling_fan_geo_avg),
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_fann_default),
        cmocka_unit_test(test_dirac_torch),
        cmocka_unit_test(test_dirac_groups_must_divide),
        cmocka_unit_test(test_delta_orthogonal_structure),
        cmocka_unit_test(test_delta_orthogonal_dense_is_orthogonal),
        cmocka_unit_test(test_delta_orthogonal_torch),
        cmocka_unit_test(test_fixup_branch),
        cmocka_unit_test(test_fixup_outside_branches),
        cmocka_unit_test(test_fixup_undescribed_is_he_normal),
        cmocka_unit_test(test_layer_tensor_description),
        cmocka_unit_test(test_all_bias_uses_layer_fans),
        cmocka_unit_test(test_all_bias_finite),
        cmocka_unit_test(test_all_empty_is_noop),
        cmocka_unit_test(test_all_deterministic),
        cmocka_unit_test(test_all_scaled_reject_zero_fan),
        cmocka_unit_test(test_all_schemas_well_formed),
        cmocka_unit_test(test_all_conform),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
