/* Helpers shared by the activation family (private to plugins/activations/, not ABI): a stable
 * logistic, the second-moment gain used where PyTorch's calculate_gain defines none, and the
 * guard for backward kernels that need the pre-activation x.
 */
#ifndef FANIN_ACT_COMMON_H
#define FANIN_ACT_COMMON_H

#include <fanin/plugin.h>
#include <math.h>

FANIN_USES_HOST;

#define ACT_INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */
#define ACT_SQRT1_2 0.70710678118654752440      /* 1/sqrt(2) */

/* 1 / (1 + exp(-x)) with exp of a non-positive number only (no overflow) */
static inline double act_sigmoid(double x) {
    double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* gain = 1 / sqrt(E[f(z)^2]), z ~ N(0, 1): the gain that keeps the second moment of the next
 * pre-activation at 1 (He et al. 2015, eq. 7-10: Var y_l = n Var w E[x_l^2]); it gives relu's
 * sqrt(2) and linear's 1. Trapezoid on [-12, 12], h = 1e-3 (the tails beyond add < 1e-30). */
static inline int act_gain_second_moment(double (*f)(double, const fanin_value *),
                                         const fanin_value *p, double *gain) {
    double m2 = 0.0, h = 1e-3;
    for (int i = -12000; i <= 12000; i++) {
        double z = i * h, y = f(z, p);
        m2 += h * y * y * exp(-0.5 * z * z) * ACT_INV_SQRT_2PI;
    }
    if (!(m2 > 0.0) || !isfinite(m2)) return FANIN_EINVAL;
    *gain = 1.0 / sqrt(m2);
    return FANIN_OK;
}

/* Backward kernels that cannot recover x from y refuse x == y (a forward run in place over
 * the pre-activation); the fanin engine always keeps x (Z) apart from y (A). */
static inline int act_need_x(fanin_ctx *ctx, const float *x, const float *y, size_t n,
                             const char *name) {
    if (n == 0 || x != y) return FANIN_OK;
    return FANIN_HOST->error(ctx, FANIN_EINVAL,
                             "%s backward needs the pre-activation x, but "
                             "x == y (forward ran in place); keep x in its own buffer",
                             name);
}

#endif /* FANIN_ACT_COMMON_H */
