/* Helpers shared by the initializer family (private to plugins/initializers/, not ABI).
 * Small static inline functions: resolving `gain: auto`, choosing a fan by mode, drawing a
 * zero-mean normal (optionally truncated as Keras/JAX do). Every plugin file keeps its formula.
 */
#ifndef FANIN_INIT_COMMON_H
#define FANIN_INIT_COMMON_H

#include <fanin/plugin.h>
#include <math.h>

FANIN_USES_HOST;

/* std of N(0,1) truncated to [-2, 2]; Keras/JAX divide their std by it so a truncated draw
 * keeps the nominal std (keras VarianceScaling, jax variance_scaling). */
#define INIT_TRUNC_STD 0.87962566103423978

enum { INIT_FAN_IN = 0, INIT_FAN_OUT = 1 }; /* index into a plugin's `mode` choices */

/* Elements in t (0 for an empty tensor: every function is then a no-op). */
static inline size_t init_size(const fanin_tensor *t) {
    return t->rows > 0 && t->cols > 0 ? (size_t)t->rows * (size_t)t->cols : 0;
}

/* For moments() of an empty tensor: nothing to describe, report 0 and 0. */
static inline int init_empty_moments(double *mean, double *std) {
    *mean = 0.0;
    *std = 0.0;
    return FANIN_OK;
}

/* `gain: auto` arrives as NaN: ask the host for the layer activation's gain
 * (torch.nn.init.calculate_gain; 1.0 when there is no layer). */
static inline int init_gain(fanin_ctx *ctx, double gain, double *out) {
    if (!isnan(gain)) {
        *out = gain;
        return FANIN_OK;
    }
    return FANIN_HOST->activation_gain(ctx, out);
}

/* The fan a variance-scaling rule divides by; a layer with no inputs (or outputs) has none. */
static inline int init_fan(fanin_ctx *ctx, const fanin_tensor *t, int mode, double *fan) {
    int64_t f = mode == INIT_FAN_OUT ? t->fan_out : t->fan_in;
    *fan = (double)f;
    if (f > 0)
        return FANIN_OK;
    return FANIN_HOST->error(ctx, FANIN_EINVAL, "%s is %lld; it must be positive",
                             mode == INIT_FAN_OUT ? "fan_out" : "fan_in", (long long)f);
}

/* N(0, std) as PyTorch, or with `truncated` as Keras/JAX: N(0, std/0.8796) redrawn outside
 * two of its own std, so the result's std is still `std`. */
static inline void init_normal0(fanin_rng *rng, const fanin_tensor *t, double std,
                                int truncated) {
    if (!truncated) {
        FANIN_HOST->rng_normal(rng, t->data, init_size(t), 0.0, std);
        return;
    }
    double s = std / INIT_TRUNC_STD;
    FANIN_HOST->rng_trunc_normal(rng, t->data, init_size(t), 0.0, s, -2.0 * s, 2.0 * s);
}

#endif /* FANIN_INIT_COMMON_H */
