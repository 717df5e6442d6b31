/* Learning-rate schedules: the lr of each step (fanin__schedule_lr, called once per step by
 * train.c) and the experiment file's top-level `lr_schedule` section (its keys, reader, checks
 * and writer). The closed forms are torch.optim.lr_scheduler's StepLR, ExponentialLR and
 * CosineAnnealingLR stepped once per iteration; warmup is LinearLR(start_factor=1/N,
 * total_iters=N-1) chained before them by SequentialLR(milestones=[N]).
 * Not here: the optimizers (plugins), which only see the lr they are handed.
 */
#include "config/schedule.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "config/keys.h"
#include "config/sections.h"
#include "config/tree.h"
#include "config/values.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

const char *const fanin__schedule_names[] = {"constant", "step", "exponential", "cosine", NULL};

/* ---- the lr of one iteration ---- */

double fanin__schedule_lr(const fanin__schedule *s, double base_lr, int64_t iteration,
                          int64_t total) {
    int64_t i = iteration < 0 ? 0 : iteration;
    if (i < s->warmup) return base_lr * (double)(i + 1) / (double)s->warmup;
    int64_t j = i - (s->warmup > 0 ? s->warmup : 0);
    switch (s->kind) {
    case FANIN_SCHEDULE_STEP:
        return base_lr * pow(s->gamma, (double)(j / (s->step_size > 0 ? s->step_size : 1)));
    case FANIN_SCHEDULE_EXPONENTIAL: return base_lr * pow(s->gamma, (double)j);
    case FANIN_SCHEDULE_COSINE: {
        /* CosineAnnealingLR's closed form; past T it climbs again, as PyTorch's does */
        int64_t T = s->t_max > 0 ? s->t_max : total - (s->warmup > 0 ? s->warmup : 0);
        if (T < 1) T = 1;
        return s->eta_min +
               (base_lr - s->eta_min) * (1.0 + cos(M_PI * (double)j / (double)T)) / 2.0;
    }
    default: return base_lr;
    }
}

/* ---- the experiment file: lr_schedule ---- */

#define OFF(field) offsetof(fanin_experiment, schedule.field)

static int read_t_max(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base);

const fanin__key fanin__schedule_keys[] = {
    {.name = "name",
     .type = FANIN__KEY_ENUM,
     .off = OFF(kind),
     .choices = fanin__schedule_names,
     .flags = FANIN__KEY_REQUIRED,
     .doc = "constant | step | exponential | cosine"},
    {.name = "warmup",
     .type = FANIN__KEY_I64,
     .off = OFF(warmup),
     .flags = FANIN_PARAM_NO_MAX,
     .min = 0},
    {.name = "step_size",
     .type = FANIN__KEY_I64,
     .off = OFF(step_size),
     .flags = FANIN_PARAM_NO_MAX,
     .min = 1},
    {.name = "gamma",
     .type = FANIN__KEY_F64,
     .off = OFF(gamma),
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .min = 0},
    {.name = "t_max", .type = FANIN__KEY_ANY, .off = OFF(t_max), .fn = read_t_max},
    {.name = "eta_min",
     .type = FANIN__KEY_F64,
     .off = OFF(eta_min),
     .flags = FANIN_PARAM_NO_MAX,
     .min = 0},
    {0},
};

/* The keys each schedule takes, by kind (name and warmup: all of them). */
static const char *const kind_keys[][3] = {
    [FANIN_SCHEDULE_CONSTANT] = {NULL},
    [FANIN_SCHEDULE_STEP] = {"step_size", "gamma", NULL},
    [FANIN_SCHEDULE_EXPONENTIAL] = {"gamma", NULL},
    [FANIN_SCHEDULE_COSINE] = {"t_max", "eta_min", NULL},
};

static bool kind_takes(int kind, const char *key) {
    if (!strcmp(key, "name") || !strcmp(key, "warmup")) return true;
    for (int i = 0; kind_keys[kind][i]; i++)
        if (!strcmp(kind_keys[kind][i], key)) return true;
    return false;
}

static int read_t_max(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                      void *base) {
    (void)base;
    (void)k;
    static const fanin_param_spec spec = {
        "t_max", FANIN_PARAM_I64, FANIN_PARAM_NO_MAX, 0, 1, 0, NULL, NULL, NULL};
    fanin_value v;
    char msg[FANIN_ERRLEN], got[120];
    if (val->type == FANIN__SCALAR && val->plain && !strcmp(val->text, "auto")) {
        r->x->schedule.t_max = 0;
        return FANIN_OK;
    }
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) == FANIN_OK) {
        r->x->schedule.t_max = v.i;
        return FANIN_OK;
    }
    fanin__node_describe(val, got, sizeof got);
    return fanin__rerr(r, val, "'%s' must be auto or an integer >= 1 (iterations), got %s", path,
                       got);
}

/* Keys of another schedule, and the keys a schedule cannot do without (PyTorch's StepLR needs
 * step_size, ExponentialLR gamma); step's gamma defaults to 0.1 as StepLR's. */
static int check_kind(fanin__rctx *r, const fanin__node *val, const char *path) {
    fanin__schedule *s = &r->x->schedule;
    const char *name = fanin__schedule_names[s->kind];
    int rc = FANIN_OK;
    for (size_t i = 0; val->type == FANIN__MAP && i < val->n; i++) {
        if (kind_takes(s->kind, val->keys[i]->text)) continue;
        char list[200] = "name, warmup";
        for (int j = 0; kind_keys[s->kind][j]; j++)
            snprintf(list + strlen(list), sizeof list - strlen(list), ", %s",
                     kind_keys[s->kind][j]);
        rc = fanin__rerr(r, val->keys[i],
                         "'%s.%s' does not apply to the %s schedule (its keys: "
                         "%s)",
                         path, val->keys[i]->text, name, list);
    }
    if (s->kind == FANIN_SCHEDULE_STEP && s->step_size == 0)
        rc = fanin__rerr(r, val,
                         "the step schedule needs '%s.step_size' (iterations between two "
                         "decays), e.g. %s: {name: step, step_size: 1000, gamma: 0.1}",
                         path, path);
    if (s->kind == FANIN_SCHEDULE_STEP && s->gamma == 0) s->gamma = 0.1;
    if (s->kind == FANIN_SCHEDULE_EXPONENTIAL && s->gamma == 0)
        rc = fanin__rerr(r, val,
                         "the exponential schedule needs '%s.gamma' (the factor per "
                         "iteration), e.g. %s: {name: exponential, gamma: 0.999}",
                         path, path);
    return rc;
}

/* `lr_schedule: cosine` or `lr_schedule: {name: step, step_size: 100, gamma: 0.5, warmup: 10}` */
int fanin__resolve_schedule(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                            const char *path, void *base) {
    (void)k;
    int before = r->errs->total;
    r->x->schedule = (fanin__schedule){0};
    if (val->type == FANIN__SCALAR) {
        fanin_value v;
        char msg[FANIN_ERRLEN];
        const fanin_param_spec spec = {"name", FANIN_PARAM_ENUM,      0,    0,   0,
                                       0,      fanin__schedule_names, NULL, NULL};
        if (fanin__value_read(&spec, val, &v, msg, sizeof msg) != FANIN_OK)
            return fanin__rerr(r, val, "'%s' %s", path, msg);
        r->x->schedule.kind = v.e;
    } else {
        fanin__apply_map(r, val, fanin__schedule_keys, base, path, 0);
    }
    if (r->errs->total != before) return FANIN_ECONFIG;
    return check_kind(r, val, path);
}

/* After every key: a warmup as long as the run leaves no iteration to the schedule itself. With
 * train.epochs the length is known only once the data is loaded; training then just ramps. */
void fanin__check_schedule(fanin__rctx *r) {
    const fanin__schedule *s = &r->x->schedule;
    if (s->warmup == 0 || r->x->epochs > 0 || r->x->iterations == 0 || s->warmup < r->x->iterations)
        return;
    const fanin__node *kn = NULL, *sched = fanin__node_get(r->root, "lr_schedule", NULL);
    fanin__node_get(sched, "warmup", &kn);
    fanin__rerr(r, kn ? kn : sched,
                "'lr_schedule.warmup' (%lld) must be less than "
                "'train.iterations' (%lld)",
                (long long)s->warmup, (long long)r->x->iterations);
}

void fanin__schedule_write(FILE *f, const fanin__schedule *s) {
    char v[64];
    fprintf(f, "{name: %s, warmup: %lld", fanin__schedule_names[s->kind], (long long)s->warmup);
    if (s->kind == FANIN_SCHEDULE_STEP) fprintf(f, ", step_size: %lld", (long long)s->step_size);
    if (s->kind == FANIN_SCHEDULE_STEP || s->kind == FANIN_SCHEDULE_EXPONENTIAL) {
        fanin__format_double(s->gamma, v, sizeof v);
        fprintf(f, ", gamma: %s", v);
    }
    if (s->kind == FANIN_SCHEDULE_COSINE) {
        if (s->t_max > 0) fprintf(f, ", t_max: %lld", (long long)s->t_max);
        else fputs(", t_max: auto", f);
        fanin__format_double(s->eta_min, v, sizeof v);
        fprintf(f, ", eta_min: %s", v);
    }
    fputc('}', f);
}
