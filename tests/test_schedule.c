/* Learning-rate schedules (core/schedule.c): each schedule's lr sequence against
 * torch.optim.lr_scheduler (tests/ref/optim_ref.h, made by tests/ref/make_optim_ref.py), the
 * `lr_schedule` section of the experiment file (forms, errors, sweeps, the resolved-YAML round
 * trip) and the lr the training loop reports.
 */
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "base/errors.h"
#include "config/experiment.h"
#include "config/schedule.h"
#include "data/data.h"
#include "engine/model.h"
#include "engine/train.h"
#include "plugin/registry.h"
#include "ref/optim_ref.h"

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

/* ---- the lr sequence ---- */

static fanin__schedule from_ref(const sched_ref_case *c) {
    fanin__schedule s = {0};
    for (int k = 0; fanin__schedule_names[k]; k++)
        if (!strcmp(fanin__schedule_names[k], c->kind)) s.kind = k;
    s.warmup = c->warmup;
    s.step_size = c->step_size;
    s.gamma = c->gamma;
    s.t_max = c->t_max;
    s.eta_min = c->eta_min;
    return s;
}

/* StepLR, ExponentialLR, CosineAnnealingLR, each alone and after a LinearLR warmup
 * (SequentialLR), stepped once per iteration: equal to 1e-12 relative. */
static void test_schedule_matches_torch(void **state) {
    for (size_t k = 0; k < sizeof sched_ref_cases / sizeof sched_ref_cases[0]; k++) {
        const sched_ref_case *c = &sched_ref_cases[k];
        fanin__schedule s = from_ref(c);
        assert_true(c->total <= SCHED_REF_MAX_TOTAL);
        for (int64_t i = 0; i < c->total; i++) {
            double got = fanin__schedule_lr(&s, sched_ref_base_lr, i, c->total), want = c->lr[i];
            if (!(fabs(got - want) <= 1e-12 * fabs(want) + 1e-15))
                fail_msg("%s: iteration %lld lr %.17g, torch %.17g", c->name, (long long)i, got,
                         want);
        }
    }
}

/* Warmup reaches the base lr on its last iteration; the main schedule then starts at its own
 * iteration 0; a zeroed spec is constant; auto t_max spans the iterations after warmup. */
static void test_schedule_shapes(void **state) {
    fanin__schedule s = {0};
    assert_true(fanin__schedule_lr(&s, 0.3, 0, 10) == 0.3);
    assert_true(fanin__schedule_lr(&s, 0.3, 1000000, 10) == 0.3);
    s = (fanin__schedule){.kind = FANIN_SCHEDULE_COSINE, .warmup = 4, .eta_min = 0.01};
    assert_true(fabs(fanin__schedule_lr(&s, 1.0, 0, 14) - 0.25) < 1e-15);
    assert_true(fanin__schedule_lr(&s, 1.0, 3, 14) == 1.0);
    assert_true(fanin__schedule_lr(&s, 1.0, 4, 14) == 1.0);
    assert_true(fabs(fanin__schedule_lr(&s, 1.0, 14, 14) - 0.01) < 1e-15); /* j = T = 10 */
    s.t_max = 10;
    assert_true(fabs(fanin__schedule_lr(&s, 1.0, 9, 14) - fanin__schedule_lr(&s, 1.0, 9, 99)) <
                1e-15);
    s = (fanin__schedule){.kind = FANIN_SCHEDULE_STEP, .step_size = 3, .gamma = 0.5};
    assert_true(fanin__schedule_lr(&s, 1.0, 2, 10) == 1.0);
    assert_true(fanin__schedule_lr(&s, 1.0, 3, 10) == 0.5);
    assert_true(fanin__schedule_lr(&s, 1.0, 9, 10) == 0.125);
    /* degenerate inputs stay finite: negative iteration, warmup as long as the run */
    s = (fanin__schedule){.kind = FANIN_SCHEDULE_COSINE, .warmup = 5};
    assert_true(fanin__schedule_lr(&s, 1.0, -1, 5) == 0.2);
    assert_true(isfinite(fanin__schedule_lr(&s, 1.0, 5, 5)));
}

/* ---- the experiment file ---- */

static const char *const BASE = /* line 1 .. 5 */
    "data: {source: synthetic, kind: moons, n: 200}\n"
    "model: {layers: [{units: 4, activation: tanh}, {units: 1, activation: sigmoid}]}\n"
    "loss: bce\n"
    "optimizer: {name: sgd, lr: 0.5}\n"
    "train: {iterations: 40, log_every: 1}\n";

/* BASE followed by `extra` (line 6 on). */
static char *with(const char *extra) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", BASE, extra);
    return buf;
}

static fanin_config *parse(const char *text) {
    fanin_config *c;
    char err[FANIN_ERRLEN];
    if (fanin__config_parse(&c, "/exp/t.yaml", text, strlen(text), err, sizeof err) != FANIN_OK)
        fail_msg("parse: %s", err);
    return c;
}

static fanin_experiment *resolve_member(const char *text, int member) {
    fanin_config *c = parse(text);
    fanin_experiment *x;
    char err[FANIN_ERRLEN];
    int rc = fanin__config_resolve(c, member, reg, &x, err, sizeof err);
    fanin__config_free(c);
    if (rc != FANIN_OK) fail_msg("resolve: %s", err);
    return x;
}

static fanin_experiment *resolve(const char *text) { return resolve_member(text, 0); }

/* The first error resolving text; it must contain `want`. */
static void expect_error(const char *text, const char *want) {
    fanin_config *c = parse(text);
    fanin_experiment *x = NULL;
    char err[FANIN_ERRLEN] = "";
    assert_int_equal(fanin__config_resolve(c, 0, reg, &x, err, sizeof err), FANIN_ECONFIG);
    fanin__config_free(c);
    assert_null(x);
    if (!strstr(err, want)) fail_msg("error\n  %s\nlacks\n  %s", err, want);
}

static void assert_schedules_equal(const fanin__schedule *a, const fanin__schedule *b) {
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->warmup, b->warmup);
    assert_int_equal(a->step_size, b->step_size);
    assert_true(a->gamma == b->gamma);
    assert_int_equal(a->t_max, b->t_max);
    assert_true(a->eta_min == b->eta_min);
}

static void test_config_default_is_constant(void **state) {
    fanin_experiment *x = resolve(BASE);
    fanin__schedule zero = {0};
    assert_schedules_equal(&x->schedule, &zero);
    fanin__experiment_free(x);
}

static void test_config_forms(void **state) {
    fanin_experiment *x = resolve(with("lr_schedule: cosine\n"));
    assert_int_equal(x->schedule.kind, FANIN_SCHEDULE_COSINE);
    assert_int_equal(x->schedule.t_max, 0);
    fanin__experiment_free(x);
    x = resolve(with("lr_schedule: {name: step, step_size: 10, warmup: 5}\n"));
    assert_int_equal(x->schedule.kind, FANIN_SCHEDULE_STEP);
    assert_int_equal(x->schedule.step_size, 10);
    assert_int_equal(x->schedule.warmup, 5);
    assert_true(x->schedule.gamma == 0.1); /* StepLR's default */
    fanin__experiment_free(x);
    x = resolve(with("lr_schedule: {name: exponential, gamma: 0.99}\n"));
    assert_int_equal(x->schedule.kind, FANIN_SCHEDULE_EXPONENTIAL);
    assert_true(x->schedule.gamma == 0.99);
    fanin__experiment_free(x);
    x = resolve(with("lr_schedule: {name: cosine, t_max: 30, eta_min: 1e-4, warmup: 3}\n"));
    assert_int_equal(x->schedule.t_max, 30);
    assert_true(x->schedule.eta_min == 1e-4);
    fanin__experiment_free(x);
    x = resolve(with("lr_schedule: {name: cosine, t_max: auto}\n"));
    assert_int_equal(x->schedule.t_max, 0);
    fanin__experiment_free(x);
}

static void test_config_errors(void **state) {
    expect_error(with("lr_schedule: cosin\n"),
                 "/exp/t.yaml:6:14: 'lr_schedule' must be one of constant | step | exponential | "
                 "cosine, got 'cosin'; did you mean 'cosine'?");
    expect_error(with("lr_schedule: {name: exponental}\n"), "did you mean 'exponential'?");
    expect_error(with("lr_schedule: {name: cosine, warmpu: 3}\n"),
                 "/exp/t.yaml:6:29: unknown key 'warmpu' in 'lr_schedule'; did you mean 'warmup'?");
    expect_error(with("lr_schedule: {name: cosine, gamma: 0.5}\n"),
                 "/exp/t.yaml:6:29: 'lr_schedule.gamma' does not apply to the cosine schedule "
                 "(its keys: name, warmup, t_max, eta_min)");
    expect_error(with("lr_schedule: {warmup: 3}\n"), "missing required key 'lr_schedule.name'");
    expect_error(with("lr_schedule: step\n"), "the step schedule needs 'lr_schedule.step_size'");
    expect_error(with("lr_schedule: {name: exponential}\n"),
                 "the exponential schedule needs 'lr_schedule.gamma'");
    expect_error(with("lr_schedule: {name: step, step_size: 0}\n"),
                 "'lr_schedule.step_size' must be an integer >= 1");
    expect_error(with("lr_schedule: {name: exponential, gamma: 0}\n"),
                 "'lr_schedule.gamma' must be a number > 0");
    expect_error(with("lr_schedule: {name: cosine, t_max: 0}\n"),
                 "'lr_schedule.t_max' must be auto or an integer >= 1 (iterations), got '0'");
    expect_error(with("lr_schedule: {name: constant, warmup: 40}\n"),
                 "/exp/t.yaml:6:31: 'lr_schedule.warmup' (40) must be less than "
                 "'train.iterations' (40)");
    expect_error(with("lr_schedule: [cosine]\n"), "'lr_schedule' must be a mapping");
}

/* The resolved YAML spells every key of the schedule's kind and reads back the same. */
static void round_trip(const char *extra, const char *text_want) {
    fanin_experiment *a = resolve(with(extra)), *b;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_int_equal(fanin__experiment_write_yaml(a, f), FANIN_OK);
    fclose(f);
    if (!strstr(out, text_want)) fail_msg("no '%s' in\n%s", text_want, out);
    b = resolve(out);
    assert_schedules_equal(&a->schedule, &b->schedule);
    fanin__experiment_free(a);
    fanin__experiment_free(b);
    free(out);
}

static void test_config_round_trip(void **state) {
    round_trip("", "\nlr_schedule: {name: constant, warmup: 0}\n");
    round_trip("lr_schedule: {name: constant, warmup: 7}\n",
               "\nlr_schedule: {name: constant, warmup: 7}\n");
    round_trip("lr_schedule: {name: step, step_size: 12}\n",
               "\nlr_schedule: {name: step, warmup: 0, step_size: 12, gamma: 0.1}\n");
    round_trip("lr_schedule: {name: exponential, gamma: 0.995, warmup: 2}\n",
               "\nlr_schedule: {name: exponential, warmup: 2, gamma: 0.995}\n");
    round_trip("lr_schedule: cosine\n",
               "\nlr_schedule: {name: cosine, warmup: 0, t_max: auto, eta_min: 0}\n");
    round_trip("lr_schedule: {name: cosine, t_max: 25, eta_min: 1e-05, warmup: 5}\n",
               "\nlr_schedule: {name: cosine, warmup: 5, t_max: 25, eta_min: 1e-05}\n");
}

/* Sweeps and --set reach inside lr_schedule. */
static void test_config_sweep_and_set(void **state) {
    const char *text = with("lr_schedule: {name: constant}\n"
                            "sweep: {lr_schedule.name: [constant, cosine], "
                            "lr_schedule.warmup: [0, 4]}\n");
    fanin_config *c = parse(text);
    assert_int_equal(fanin__config_members(c), 4);
    fanin__config_free(c);
    fanin_experiment *x = resolve_member(text, 3);
    assert_int_equal(x->schedule.kind, FANIN_SCHEDULE_COSINE);
    assert_int_equal(x->schedule.warmup, 4);
    assert_int_equal(x->n_swept, 2);
    fanin__experiment_free(x);

    char err[FANIN_ERRLEN];
    c = parse(BASE);
    assert_int_equal(fanin__config_set(c, "lr_schedule.name=exponential", err, sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__config_set(c, "lr_schedule.gamma=0.9", err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__config_resolve(c, 0, reg, &x, err, sizeof err), FANIN_OK);
    assert_int_equal(x->schedule.kind, FANIN_SCHEDULE_EXPONENTIAL);
    assert_true(x->schedule.gamma == 0.9);
    fanin__experiment_free(x);
    fanin__config_free(c);
}

/* ---- training ---- */

typedef struct seen {
    int n;
    int64_t iteration[64];
    double lr[64];
} seen;

static int on_log(void *user, const fanin__progress *p) {
    seen *s = user;
    if (s->n < 64) {
        s->iteration[s->n] = p->iteration;
        s->lr[s->n++] = p->lr;
    }
    return 0;
}

/* Each logged row shows the lr its step used; the final row the last step's. */
static void test_train_reports_scheduled_lr(void **state) {
    fanin_experiment *x = resolve(with("lr_schedule: {name: cosine, warmup: 5, eta_min: 0.01}\n"));
    fanin_dataset *d;
    fanin_model *m;
    fanin__result res;
    char err[FANIN_ERRLEN];
    seen s = {0};
    fanin__train_hooks hooks = {.user = &s, .on_log = on_log};
    assert_int_equal(fanin__data_load(&x->data, x->seed, &d, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__model_new(x, d->n_features, (int)d->n_train, &m, err, sizeof err),
                     FANIN_OK);
    assert_int_equal(fanin__model_init_params(m, err, sizeof err), FANIN_OK);
    assert_int_equal(fanin__train(m, d, &hooks, &res, err, sizeof err), FANIN_OK);
    assert_int_equal(res.status, FANIN_OK);
    assert_int_equal(s.n, 41); /* 40 iterations logged, then the final row */
    for (int k = 0; k < 40; k++) {
        double want = fanin__schedule_lr(&x->schedule, 0.5, s.iteration[k], 40);
        assert_true(s.lr[k] == want);
    }
    assert_true(fabs(s.lr[0] - 0.1) < 1e-15); /* warmup: 0.5 * 1/5 */
    assert_true(s.lr[4] == 0.5 && s.lr[5] == 0.5);
    assert_true(s.lr[40] == s.lr[39] && s.lr[39] < 0.02);
    fanin__model_free(m);
    fanin__data_free(d);
    fanin__experiment_free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_matches_torch),
        cmocka_unit_test(test_schedule_shapes),
        cmocka_unit_test(test_config_default_is_constant),
        cmocka_unit_test(test_config_forms),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_round_trip),
        cmocka_unit_test(test_config_sweep_and_set),
        cmocka_unit_test(test_train_reports_scheduled_lr),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
