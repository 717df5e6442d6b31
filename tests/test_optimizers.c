/* Tests of the optimizer plugins (plugins/optimizers/), loaded through the host registry.
 * sgd follows torch.optim.SGD step for step: the trajectories in tests/ref/sgd_ref.h come from
 * tests/ref/make_sgd_ref.py (torch when installed; see the header's first line).
 */
#include "internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ref/sgd_ref.h"

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
    const fanin__entry *e = fanin__registry_find(reg, FANIN_KIND_OPTIMIZER, name);
    if (!e) fail_msg("optimizer '%s' not found in %s", name, FANIN_TEST_PLUGIN_DIR);
    assert_true(e->n_params <= MAX_PARAMS);
    return e;
}

static const fanin_optimizer_vt *vt(const fanin__entry *e) { return e->plugin->vtable; }

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
        assert_non_null(s->doc);
        assert_true(s->def == 0.0);
        assert_true((s->flags & FANIN_PARAM_NO_MIN) || s->def >= s->min);
        assert_true((s->flags & FANIN_PARAM_NO_MAX) || s->def <= s->max);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_matches_torch),
        cmocka_unit_test(test_sgd_resume_from_copied_state),
        cmocka_unit_test(test_sgd_state_size),
        cmocka_unit_test(test_sgd_nesterov_needs_momentum),
        cmocka_unit_test(test_sgd_empty_is_noop),
        cmocka_unit_test(test_sgd_schema_well_formed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
