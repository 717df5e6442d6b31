/* Learning-rate schedules of the engine (not plugins): the lr of each optimizer step, from the
 * experiment's `optimizer.lr` and its `lr_schedule`. Included by internal.h, whose
 * fanin_experiment holds one; the experiment-file side (keys, reading, writing) is declared in
 * config_int.h and lives in schedule.c too.
 */
#ifndef FANIN_SCHEDULE_H
#define FANIN_SCHEDULE_H

#include <stdint.h>

enum fanin__schedule_kind {
    FANIN_SCHEDULE_CONSTANT = 0,
    FANIN_SCHEDULE_STEP = 1,
    FANIN_SCHEDULE_EXPONENTIAL = 2,
    FANIN_SCHEDULE_COSINE = 3,
};

/* One schedule as the experiment file gives it. A zeroed struct is constant, no warmup. */
typedef struct fanin__schedule {
    int kind;          /* enum fanin__schedule_kind */
    int64_t warmup;    /* linear warmup iterations; 0 = none */
    int64_t step_size; /* step: iterations between two decays (>= 1) */
    double gamma;      /* step, exponential: the decay factor (> 0; 0 = not given) */
    int64_t t_max;     /* cosine: iterations from lr down to eta_min; 0 = auto (total - warmup) */
    double eta_min;    /* cosine: the lr reached after t_max iterations */
} fanin__schedule;

/* "constant", "step", "exponential", "cosine", NULL: indexed by kind */
extern const char *const fanin__schedule_names[];

/* The lr of 0-based `iteration` of a run of `total` iterations starting from base_lr:
 *   iteration < warmup:  base_lr * (iteration + 1) / warmup
 *   then, with j = iteration - warmup, the main schedule restarted at j = 0:
 *   constant:     base_lr
 *   step:         base_lr * gamma^floor(j / step_size)
 *   exponential:  base_lr * gamma^j
 *   cosine:       eta_min + (base_lr - eta_min) * (1 + cos(pi * j / T)) / 2,
 *                 T = t_max, or total - warmup when t_max is 0 (at least 1)
 * Pure; never fails (out-of-range inputs are clamped). */
double fanin__schedule_lr(const fanin__schedule *s, double base_lr, int64_t iteration,
                          int64_t total);

#endif /* FANIN_SCHEDULE_H */
