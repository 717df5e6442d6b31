/* Per-layer optimizer multipliers (issue 12, item 1): the layers' lr_scale, wd_scale,
 * bias_lr_scale and bias_wd_scale become parameter groups (core/engine/param_groups.c) and the
 * host calls the optimizer plugin (an ABI 1.x .so, unchanged) once per group with lr *
 * lr_scale, its own state slice and weight_decay * wd_scale. All multipliers at 1 are
 * bit-identical to a model written without them; each group moves by its own rate.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/errors.h"
#include "config/experiment.h"
#include "engine/model.h"
#include "plugin/registry.h"

static fanin_registry *reg;

static int setup(void **state) {
    const char *extra[] = {FANIN_TEST_PLUGIN_DIR};
    char err[FANIN_ERRLEN];
    int rc = fanin__registry_new(&reg, extra, 1, err, sizeof err);
    if (rc != FANIN_OK) fprintf(stderr, "registry: %s\n", err);
    return rc;
}

static int teardown(void **state) {
    fanin__registry_free(reg);
    return 0;
}

/* A model of `layers` (each line "    - {...}\n") on 2 inputs, trained by `opt`. */
typedef struct built {
    fanin_experiment *x;
    fanin_model *m;
} built;

static built build(const char *opt, const char *layers) {
    char text[4096], err[FANIN_ERRLEN];
    snprintf(text, sizeof text,
             "data: {source: synthetic, kind: moons}\nmodel:\n  layers:\n%sloss: bce\n"
             "optimizer: %s\n",
             layers, opt);
    fanin_config *c;
    built b = {0};
    if (fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err) != FANIN_OK)
        fail_msg("parse: %s", err);
    int rc = fanin__config_resolve(c, 0, reg, &b.x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s\nin:\n%s", err, text);
    if (fanin__model_new(b.x, 2, 4, &b.m, err, sizeof err) != FANIN_OK) fail_msg("model: %s", err);
    for (size_t i = 0; i < b.m->n_params; i++) b.m->params[i] = (float)sin(0.7 * (double)i + 0.3);
    return b;
}

static void built_free(built *b) {
    fanin__model_free(b->m);
    fanin__experiment_free(b->x);
}

/* `steps` optimizer steps at lr with the same made-up gradients (varying by step). */
static void run(fanin_model *m, int steps, double lr) {
    char err[FANIN_ERRLEN];
    for (int t = 1; t <= steps; t++) {
        for (size_t i = 0; i < m->n_params; i++)
            m->grads[i] = (float)cos(1.3 * (double)i + 0.5 * t);
        if (fanin__optimizer_step(m, t, lr, err, sizeof err) != FANIN_OK) fail_msg("%s", err);
    }
}

#define PLAIN "    - {units: 3}\n    - {type: residual, layers: [{units: 3}]}\n    - {units: 1}\n"
#define ONES                                                                                     \
    "    - {units: 3, lr_scale: 1, wd_scale: 1, bias_lr_scale: 1, bias_wd_scale: 1}\n"           \
    "    - {type: residual, lr_scale: 1, bias_wd_scale: 1, layers: [{units: 3, lr_scale: 1}]}\n" \
    "    - {units: 1, wd_scale: 1}\n"

/* Every multiplier written as 1: one group, and weights and state bit for bit as without. */
static void test_ones_are_bit_identical(void **state) {
    const char *opts[] = {"{name: adam, lr: 0.01, weight_decay: 0.1}",
                          "{name: sgd, lr: 0.1, momentum: 0.9, weight_decay: 0.01}"};
    for (int o = 0; o < 2; o++) {
        built a = build(opts[o], PLAIN), b = build(opts[o], ONES);
        assert_int_equal(a.m->n_groups, 1);
        assert_int_equal(b.m->n_groups, 1);
        assert_int_equal(a.m->n_params, b.m->n_params);
        run(a.m, 5, 0.01);
        run(b.m, 5, 0.01);
        assert_memory_equal(a.m->params, b.m->params, a.m->n_params * sizeof(float));
        assert_int_equal(a.m->opt_state_size, b.m->opt_state_size);
        assert_memory_equal(a.m->opt_state, b.m->opt_state, a.m->opt_state_size);
        built_free(&a);
        built_free(&b);
    }
}

/* SGD without momentum: each parameter moves by -lr * scale * g; with zero gradients weight
 * decay alone shrinks it by lr * weight_decay * wd_scale. Layer 0 is W [3, 2] then b [3]. */
static void test_sgd_moves_each_group_by_its_rate(void **state) {
    built a = build("{name: sgd, lr: 0.1}", PLAIN);
    built b =
        build("{name: sgd, lr: 0.1}",
              "    - {units: 3, lr_scale: 0.5, bias_lr_scale: 4}\n"
              "    - {type: residual, lr_scale: 2, layers: [{units: 3}]}\n    - {units: 1}\n");
    assert_int_equal(b.m->n_groups, 4); /* W0 | b0 | block | last layer */
    float *w0 = malloc(a.m->n_params * sizeof *w0);
    memcpy(w0, a.m->params, a.m->n_params * sizeof *w0);
    run(a.m, 1, 0.1);
    run(b.m, 1, 0.1);
    size_t n0 = 9, nblock = 12;
    for (size_t i = 0; i < a.m->n_params; i++) {
        double scale = i < 6 ? 0.5 : i < n0 ? 4 : i < n0 + nblock ? 2 : 1;
        double da = a.m->params[i] - w0[i], db = b.m->params[i] - w0[i];
        if (fabs(db - scale * da) > 1e-6 * (1 + fabs(da)))
            fail_msg("param %zu: moved %g, want %g x %g", i, db, scale, da);
    }
    free(w0);
    built_free(&a);
    built_free(&b);
}

static void test_weight_decay_multiplier(void **state) {
    built b = build("{name: sgd, lr: 0.1, weight_decay: 0.2}",
                    "    - {units: 3, wd_scale: 2, bias_wd_scale: 0.5}\n    - {units: 1}\n");
    char err[FANIN_ERRLEN];
    float *w0 = malloc(b.m->n_params * sizeof *w0);
    memcpy(w0, b.m->params, b.m->n_params * sizeof *w0);
    memset(b.m->grads, 0, b.m->n_params * sizeof(float));
    assert_int_equal(fanin__optimizer_step(b.m, 1, 0.1, err, sizeof err), FANIN_OK);
    for (size_t i = 0; i < b.m->n_params; i++) {
        double wd = 0.2 * (i < 6 ? 2 : i < 9 ? 0.5 : 1);
        double want = w0[i] * (1 - 0.1 * wd);
        if (fabs(b.m->params[i] - want) > 1e-6)
            fail_msg("param %zu: %g != %g", i, b.m->params[i], want);
    }
    /* the optimizer's own parameters are untouched: other groups see weight_decay 0.2 */
    assert_null(b.m->groups[b.m->n_groups - 1].params);
    free(w0);
    built_free(&b);
}

/* Adam with groups: each group's state is its own slice, so a layer at lr_scale s moves s
 * times what it moves in the model without multipliers (Adam's update is linear in lr), and
 * the other layers bit for bit the same. */
static void test_adam_state_slices(void **state) {
    const char *opt = "{name: adam, lr: 0.01}";
    built a = build(opt, PLAIN);
    built b = build(opt, "    - {units: 3}\n    - {type: residual, layers: [{units: 3, lr_scale: "
                         "0.25}]}\n    - {units: 1}\n");
    float *w0 = malloc(a.m->n_params * sizeof *w0);
    memcpy(w0, a.m->params, a.m->n_params * sizeof *w0);
    run(a.m, 4, 0.01);
    run(b.m, 4, 0.01);
    for (size_t i = 0; i < a.m->n_params; i++) {
        bool scaled = i >= 9 && i < 21;
        double da = a.m->params[i] - w0[i], db = b.m->params[i] - w0[i];
        if (!scaled) assert_true(a.m->params[i] == b.m->params[i]);
        else if (fabs(db - 0.25 * da) > 1e-6) fail_msg("param %zu: %g != 0.25 x %g", i, db, da);
    }
    free(w0);
    built_free(&a);
    built_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ones_are_bit_identical),
        cmocka_unit_test(test_sgd_moves_each_group_by_its_rate),
        cmocka_unit_test(test_weight_decay_multiplier),
        cmocka_unit_test(test_adam_state_slices),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
