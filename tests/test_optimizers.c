/* Tests of the optimizer plugins (plugins/optimizers/), loaded through the host registry.
 * Each follows its torch.optim class step for step: the trajectories in tests/ref/sgd_ref.h
 * and tests/ref/optim_ref.h come from tests/ref/make_sgd_ref.py and make_optim_ref.py (torch
 * 1.13; see each header's first line).
 */
#include "base/errors.h"
#include "plugin/host.h"
#include "plugin/registry.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fanin/testing.h>

#include "plugin_tests.h"

#include "ref/optim_ref.h"
#include "ref/sgd_ref.h"


/* ---- helpers ---- */


static const fanin__entry *find(const char *name) { return find_kind(FANIN_KIND_OPTIMIZER, name); }

static const fanin_optimizer_vt *vt(const fanin__entry *e) { return e->plugin->vtable; }

/* The optimizer `name` through <fanin/testing.h> (its fake host, fanin check's checks). */
static fanin_test_plugin *load(const char *name) {
    char err[FANIN_ERRLEN];
    fanin_test_plugin *tp = NULL;
    if (fanin_test_load(&tp, FANIN_TEST_PLUGIN_DIR "/optimizers.so", FANIN_KIND_OPTIMIZER, name,
                        err, sizeof err) != FANIN_OK)
        fail_msg("%s", err);
    return tp;
}

/* Every row named, documented, min <= default <= max (fanin check's schema check). */
static void assert_schema_sane(const char *name) {
    fanin_test_plugin *tp = load(name);
    assert_fanin_schema(tp);
    fanin_test_free(tp);
}


/* State as the host allocates it: 16-byte aligned, garbage until init_state. */
static void *state_new(const fanin__entry *e, size_t n, const fanin_value *p) {
    size_t size = vt(e)->state_size(n, p);
    void *s = aligned_alloc(16, (size + 15) / 16 * 16 + 16);
    assert_non_null(s);
    memset(s, 0xAB, size);
    return s;
}

static void sgd_params(const fanin__entry *e, fanin_value *p, const sgd_ref_case *c) {
    params(e, p, "momentum", c->momentum, "dampening", c->dampening, "nesterov",
           (double)c->nesterov, "weight_decay", c->weight_decay, NULL);
}

/* g = c * (w - target): the gradient of 0.5 * sum(c (w - target)^2), in float as torch. */
static void grad(const float *w, float *g) {
    for (int i = 0; i < SGD_REF_N; i++) g[i] = sgd_ref_c[i] * (w[i] - sgd_ref_target[i]);
}

/* Steps first..last (1-based) of case c on w with state s, checking w after each. */
static void run_steps(const fanin__entry *e, const fanin_value *p, void *s, float *w,
                      const sgd_ref_case *c, int first, int last) {
    fanin_ctx ctx;
    float g[SGD_REF_N];
    fanin__ctx_init(&ctx, e, 1.0);
    for (int t = first; t <= last; t++) {
        grad(w, g);
        assert_int_equal(vt(e)->step(&ctx, s, w, g, SGD_REF_N, sgd_ref_lr, t, p), FANIN_OK);
        for (int i = 0; i < SGD_REF_N; i++) {
            double want = c->w[t - 1][i];
            if (!(fabs(w[i] - want) <= 1e-5 * fabs(want) + 1e-6))
                fail_msg("sgd %s step %d w[%d] = %.9g, torch %.9g", c->name, t, i, w[i], want);
        }
    }
}

/* ---- sgd ---- */

/* plain, momentum, dampening, nesterov, weight_decay and mixes against torch.optim.SGD */
static void test_sgd_matches_torch(void **state) {
    const fanin__entry *e = find("sgd");
    for (size_t k = 0; k < sizeof sgd_ref_cases / sizeof sgd_ref_cases[0]; k++) {
        const sgd_ref_case *c = &sgd_ref_cases[k];
        fanin_value p[MAX_PARAMS];
        fanin_ctx ctx;
        float w[SGD_REF_N];
        sgd_params(e, p, c);
        void *s = state_new(e, SGD_REF_N, p);
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->init_state(&ctx, s, SGD_REF_N, p), FANIN_OK);
        memcpy(w, sgd_ref_w0, sizeof w);
        run_steps(e, p, s, w, c, 1, SGD_REF_STEPS);
        free(s);
    }
}

/* The state is a plain copy: stop after 5 steps, copy it to a new buffer (a checkpoint), go on;
 * the result is bit-identical to an uninterrupted run. */
static void test_sgd_resume_from_copied_state(void **state) {
    const fanin__entry *e = find("sgd");
    const sgd_ref_case *c = &sgd_ref_cases[3]; /* nesterov: uses the buffer twice per step */
    fanin_value p[MAX_PARAMS];
    fanin_ctx ctx;
    float w[SGD_REF_N], w2[SGD_REF_N];
    sgd_params(e, p, c);
    size_t size = vt(e)->state_size(SGD_REF_N, p);
    void *s = state_new(e, SGD_REF_N, p), *s2 = state_new(e, SGD_REF_N, p);
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->init_state(&ctx, s, SGD_REF_N, p), FANIN_OK);
    memcpy(w, sgd_ref_w0, sizeof w);
    run_steps(e, p, s, w, c, 1, 5);
    memcpy(s2, s, size);
    memcpy(w2, w, sizeof w);
    run_steps(e, p, s, w, c, 6, SGD_REF_STEPS);
    run_steps(e, p, s2, w2, c, 6, SGD_REF_STEPS);
    assert_memory_equal(w, w2, sizeof w);
    free(s);
    free(s2);
}

/* Header only without momentum; one float per parameter with it. */
static void test_sgd_state_size(void **state) {
    const fanin__entry *e = find("sgd");
    fanin_value p[MAX_PARAMS];
    params(e, p, NULL);
    size_t header = vt(e)->state_size(0, p);
    assert_true(header % 16 == 0);
    assert_int_equal(vt(e)->state_size(1000, p), header);
    params(e, p, "momentum", 0.9, NULL);
    assert_int_equal(vt(e)->state_size(1000, p), header + 1000 * sizeof(float));
}

/* nesterov needs momentum > 0 and dampening 0, as torch.optim.SGD's constructor says. */
static void test_sgd_nesterov_needs_momentum(void **state) {
    const fanin__entry *e = find("sgd");
    const double bad[][2] = {{0.0, 0.0}, {0.9, 0.5}}; /* momentum, dampening */
    for (size_t k = 0; k < 2; k++) {
        fanin_value p[MAX_PARAMS];
        fanin_ctx ctx;
        float w[2] = {1, 2}, g[2] = {1, 1};
        params(e, p, "nesterov", 1.0, "momentum", bad[k][0], "dampening", bad[k][1], NULL);
        void *s = state_new(e, 2, p);
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->init_state(&ctx, s, 2, p), FANIN_EINVAL);
        assert_true(ctx.has_error);
        assert_non_null(strstr(ctx.msg, "nesterov"));
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->step(&ctx, s, w, g, 2, 0.1, 1, p), FANIN_EINVAL);
        assert_true(w[0] == 1.0f && w[1] == 2.0f); /* nothing updated */
        free(s);
    }
}

static void test_sgd_empty_is_noop(void **state) {
    const fanin__entry *e = find("sgd");
    fanin_value p[MAX_PARAMS];
    fanin_ctx ctx;
    params(e, p, "momentum", 0.9, NULL);
    void *s = state_new(e, 0, p);
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->init_state(&ctx, s, 0, p), FANIN_OK);
    assert_int_equal(vt(e)->step(&ctx, s, NULL, NULL, 0, 0.1, 1, p), FANIN_OK);
    free(s);
}

/* Every schema row documented, defaults within bounds; lr is the host's, not a parameter. */
static void test_sgd_schema_well_formed(void **state) {
    const fanin__entry *e = find("sgd");
    static const char *const names[] = {"momentum", "dampening", "nesterov", "weight_decay"};
    assert_int_equal(e->n_params, 4);
    for (size_t i = 0; i < e->n_params; i++) {
        const fanin_param_spec *s = &e->plugin->params[i];
        assert_string_equal(s->name, names[i]);
        assert_true(s->def == 0.0);
    }
    assert_schema_sane("sgd");
}

/* ---- the adaptive optimizers against torch.optim ---- */

/* The PyTorch defaults of each optimizer, in schema order (lr is the host's). */
typedef struct defaults_row {
    const char *optimizer;
    const char *names[6];
    double def[6];
} defaults_row;

static const defaults_row torch_defaults[] = {
    {"adam", {"beta1", "beta2", "eps", "weight_decay", "amsgrad"}, {0.9, 0.999, 1e-8, 0, 0}},
    {"adamw", {"beta1", "beta2", "eps", "weight_decay", "amsgrad"}, {0.9, 0.999, 1e-8, 1e-2, 0}},
    {"rmsprop", {"alpha", "eps", "weight_decay", "momentum", "centered"}, {0.99, 1e-8, 0, 0, 0}},
    {"adagrad", {"lr_decay", "weight_decay", "initial_accumulator_value", "eps"}, {0, 0, 0, 1e-10}},
    {"adadelta", {"rho", "eps", "weight_decay"}, {0.9, 1e-6, 0}},
    {"adamax", {"beta1", "beta2", "eps", "weight_decay"}, {0.9, 0.999, 1e-8, 0}},
    {"nadam",
     {"beta1", "beta2", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"},
     {0.9, 0.999, 1e-8, 0, 4e-3, 0}},
    {"radam",
     {"beta1", "beta2", "eps", "weight_decay", "decoupled_weight_decay"},
     {0.9, 0.999, 1e-8, 0, 0}},
};
#define N_OPTIMIZERS (sizeof torch_defaults / sizeof torch_defaults[0])

/* p := defaults, then the case's settings */
static void case_params(const fanin__entry *e, fanin_value *p, const optim_ref_case *c) {
    params(e, p, NULL);
    for (int k = 0; k < OPTIM_REF_MAX_SET && c->set[k].name; k++) {
        const fanin_param_spec *s = e->plugin->params;
        size_t i = 0;
        while (i < e->n_params && strcmp(s[i].name, c->set[k].name) != 0) i++;
        if (i == e->n_params) fail_msg("%s has no parameter '%s'", c->optimizer, c->set[k].name);
        if (s[i].type == FANIN_PARAM_BOOL) p[i].b = c->set[k].value != 0.0;
        else p[i].f = c->set[k].value;
    }
}

/* Steps first..last of case c on w with state s; checks w after each against torch (float32
 * arithmetic, maybe in another order or contracted: 2e-6 relative, 2e-7 absolute). */
static void run_case(const fanin__entry *e, const fanin_value *p, void *s, float *w,
                     const optim_ref_case *c, int first, int last) {
    fanin_ctx ctx;
    float g[OPTIM_REF_N];
    fanin__ctx_init(&ctx, e, 1.0);
    for (int t = first; t <= last; t++) {
        for (int i = 0; i < OPTIM_REF_N; i++) g[i] = optim_ref_c[i] * (w[i] - optim_ref_target[i]);
        int rc = vt(e)->step(&ctx, s, w, g, OPTIM_REF_N, c->lr, t, p);
        if (rc != FANIN_OK) fail_msg("%s %s step %d: %d %s", c->optimizer, c->name, t, rc, ctx.msg);
        for (int i = 0; i < OPTIM_REF_N; i++) {
            double want = c->w[t - 1][i];
            if (!(fabs(w[i] - want) <= 2e-6 * fabs(want) + 2e-7))
                fail_msg("%s %s step %d w[%d] = %.9g, torch %.9g", c->optimizer, c->name, t, i,
                         w[i], want);
        }
    }
}

static void test_optimizers_match_torch(void **state) {
    for (size_t k = 0; k < sizeof optim_ref_cases / sizeof optim_ref_cases[0]; k++) {
        const optim_ref_case *c = &optim_ref_cases[k];
        const fanin__entry *e = find(c->optimizer);
        fanin_value p[MAX_PARAMS];
        fanin_ctx ctx;
        float w[OPTIM_REF_N];
        case_params(e, p, c);
        void *s = state_new(e, OPTIM_REF_N, p);
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->init_state(&ctx, s, OPTIM_REF_N, p), FANIN_OK);
        memcpy(w, optim_ref_w0, sizeof w);
        run_case(e, p, s, w, c, 1, OPTIM_REF_STEPS);
        free(s);
    }
}

/* Every case: stop after 4 steps, copy the state to a new buffer (a checkpoint) and go on in
 * both; the two runs end bit-identical, and still on torch's trajectory. */
static void test_optimizers_resume_from_copied_state(void **state) {
    for (size_t k = 0; k < sizeof optim_ref_cases / sizeof optim_ref_cases[0]; k++) {
        const optim_ref_case *c = &optim_ref_cases[k];
        const fanin__entry *e = find(c->optimizer);
        fanin_value p[MAX_PARAMS];
        fanin_ctx ctx;
        float w[OPTIM_REF_N], w2[OPTIM_REF_N];
        case_params(e, p, c);
        size_t size = vt(e)->state_size(OPTIM_REF_N, p);
        void *s = state_new(e, OPTIM_REF_N, p), *s2 = state_new(e, OPTIM_REF_N, p);
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->init_state(&ctx, s, OPTIM_REF_N, p), FANIN_OK);
        memcpy(w, optim_ref_w0, sizeof w);
        run_case(e, p, s, w, c, 1, 4);
        memcpy(s2, s, size);
        memcpy(w2, w, sizeof w);
        run_case(e, p, s, w, c, 5, OPTIM_REF_STEPS);
        run_case(e, p, s2, w2, c, 5, OPTIM_REF_STEPS);
        assert_memory_equal(w, w2, sizeof w);
        free(s);
        free(s2);
    }
}

/* Names, order and defaults as PyTorch 1.13's docs; every row documented, defaults in range. */
static void test_optimizers_schema_defaults(void **state) {
    for (size_t k = 0; k < N_OPTIMIZERS; k++) {
        const defaults_row *d = &torch_defaults[k];
        const fanin__entry *e = find(d->optimizer);
        size_t n = 0;
        while (n < 6 && d->names[n]) n++;
        assert_int_equal(e->n_params, n);
        for (size_t i = 0; i < n; i++) {
            const fanin_param_spec *s = &e->plugin->params[i];
            if (strcmp(s->name, d->names[i]) || s->def != d->def[i])
                fail_msg("%s row %zu: %s = %g, want %s = %g", d->optimizer, i, s->name, s->def,
                         d->names[i], d->def[i]);
        }
        assert_schema_sane(d->optimizer);
    }
}

/* Every optimizer passes the behaviour checks of `fanin check` (empty calls, guard words around
 * w, g and the state, determinism, a decreasing quadratic, allocation failures), and plain
 * settings take a 32-parameter quadratic's loss down a hundredfold in 500 steps at lr 0.05. */
static void test_optimizers_conform(void **state) {
    for (size_t k = 0; k < N_OPTIMIZERS; k++) {
        fanin_test_plugin *tp = load(torch_defaults[k].optimizer);
        assert_fanin_conforms(tp);
        if (strcmp(torch_defaults[k].optimizer, "adadelta") != 0) /* its lr is a multiplier */
            assert_fanin_converges(tp, 32, 0.05, 500, 0.01);
        fanin_test_free(tp);
    }
}

/* A 16-byte multiple of header, plus one float per parameter per buffer the settings need. */
static void test_optimizers_state_size(void **state) {
    static const struct {
        const char *optimizer, *set;
        double value;
        size_t buffers;
    } rows[] = {
        {"adam", NULL, 0, 2},
        {"adam", "amsgrad", 1, 3},
        {"adamw", NULL, 0, 2},
        {"adamw", "amsgrad", 1, 3},
        {"rmsprop", NULL, 0, 1},
        {"rmsprop", "centered", 1, 2},
        {"rmsprop", "momentum", 0.9, 2},
        {"adagrad", NULL, 0, 1},
        {"adadelta", NULL, 0, 2},
        {"adamax", NULL, 0, 2},
        {"nadam", NULL, 0, 2},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        const fanin__entry *e = find(rows[k].optimizer);
        fanin_value p[MAX_PARAMS];
        params(e, p, rows[k].set, rows[k].value, NULL);
        size_t header = vt(e)->state_size(0, p);
        assert_true(header > 0 && header % 16 == 0);
        if (vt(e)->state_size(1000, p) != header + rows[k].buffers * 1000 * sizeof(float))
            fail_msg("%s %s: %zu bytes for 1000 parameters", rows[k].optimizer,
                     rows[k].set ? rows[k].set : "", vt(e)->state_size(1000, p));
    }
    { /* centered and momentum together: three buffers */
        const fanin__entry *e = find("rmsprop");
        fanin_value p[MAX_PARAMS];
        params(e, p, "centered", 1.0, "momentum", 0.5, NULL);
        assert_int_equal(vt(e)->state_size(10, p), vt(e)->state_size(0, p) + 30 * sizeof(float));
    }
}

/* n = 0: init_state and step succeed and touch nothing (NULL buffers). */
static void test_optimizers_empty_is_noop(void **state) {
    for (size_t k = 0; k < N_OPTIMIZERS; k++) {
        const fanin__entry *e = find(torch_defaults[k].optimizer);
        fanin_value p[MAX_PARAMS];
        fanin_ctx ctx;
        params(e, p, NULL);
        void *s = state_new(e, 0, p);
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->init_state(&ctx, s, 0, p), FANIN_OK);
        for (int t = 1; t <= 3; t++)
            assert_int_equal(vt(e)->step(&ctx, s, NULL, NULL, 0, 0.01, t, p), FANIN_OK);
        assert_false(ctx.has_error);
        free(s);
    }
}

/* A gradient of exactly 0 with default settings moves nothing and makes no NaN (eps > 0). */
static void test_optimizers_zero_gradient_stays_finite(void **state) {
    for (size_t k = 0; k < N_OPTIMIZERS; k++) {
        const fanin__entry *e = find(torch_defaults[k].optimizer);
        fanin_value p[MAX_PARAMS];
        fanin_ctx ctx;
        float w[3] = {0, 0, 0}, g[3] = {0, 0, 0};
        params(e, p, NULL);
        void *s = state_new(e, 3, p);
        fanin__ctx_init(&ctx, e, 1.0);
        assert_int_equal(vt(e)->init_state(&ctx, s, 3, p), FANIN_OK);
        for (int t = 1; t <= 3; t++)
            assert_int_equal(vt(e)->step(&ctx, s, w, g, 3, 0.1, t, p), FANIN_OK);
        for (int i = 0; i < 3; i++)
            if (w[i] != 0.0f) fail_msg("%s: w[%d] = %g", torch_defaults[k].optimizer, i, w[i]);
        free(s);
    }
}

/* Combinations the schema ranges cannot express are refused with a message, weights intact. */
static void test_optimizers_bad_combinations(void **state) {
    fanin_value p[MAX_PARAMS];
    fanin_ctx ctx;
    float w[2] = {1, 2}, g[2] = {1, 1};
    const fanin__entry *e = find("adagrad"); /* eps 0 and no initial accumulator: 0/0 */
    params(e, p, "eps", 0.0, NULL);
    void *s = state_new(e, 2, p);
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->init_state(&ctx, s, 2, p), FANIN_EINVAL);
    assert_non_null(strstr(ctx.msg, "initial_accumulator_value"));
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->step(&ctx, s, w, g, 2, 0.1, 1, p), FANIN_EINVAL);
    params(e, p, "eps", 0.0, "initial_accumulator_value", 0.1, NULL);
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->init_state(&ctx, s, 2, p), FANIN_OK);
    free(s);
    e = find("adamw"); /* lr * weight_decay >= 1 flips the weights' sign */
    params(e, p, "weight_decay", 10.0, NULL);
    s = state_new(e, 2, p);
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->init_state(&ctx, s, 2, p), FANIN_OK);
    assert_int_equal(vt(e)->step(&ctx, s, w, g, 2, 0.1, 1, p), FANIN_EINVAL);
    assert_non_null(strstr(ctx.msg, "weight_decay"));
    assert_true(w[0] == 1.0f && w[1] == 2.0f);
    fanin__ctx_init(&ctx, e, 1.0);
    assert_int_equal(vt(e)->step(&ctx, s, w, g, 2, 0.05, 1, p), FANIN_OK);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_matches_torch),
        cmocka_unit_test(test_sgd_resume_from_copied_state),
        cmocka_unit_test(test_sgd_state_size),
        cmocka_unit_test(test_sgd_nesterov_needs_momentum),
        cmocka_unit_test(test_sgd_empty_is_noop),
        cmocka_unit_test(test_sgd_schema_well_formed),
        cmocka_unit_test(test_optimizers_match_torch),
        cmocka_unit_test(test_optimizers_resume_from_copied_state),
        cmocka_unit_test(test_optimizers_schema_defaults),
        cmocka_unit_test(test_optimizers_state_size),
        cmocka_unit_test(test_optimizers_empty_is_noop),
        cmocka_unit_test(test_optimizers_zero_gradient_stays_finite),
        cmocka_unit_test(test_optimizers_bad_combinations),
        cmocka_unit_test(test_optimizers_conform),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
