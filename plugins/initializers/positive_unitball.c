/* positive_unitball: W ~ U(0, 1), then each row divided by its sum, so every unit's incoming
 * weights are positive and sum to 1. Caffe's PositiveUnitballFiller (filler.hpp: rows are
 * blob `num` = outputs). A bias (cols = 1) has one-element rows: all ones, as Caffe gives.
 * mean = 1/c exactly (c = cols); the std is E[w^2] - 1/c^2 with, for w = x_1 / sum_c x_i,
 * E[w^2] = int_0^inf t M2(t) M0(t)^(c-1) dt (1/S^2 = int t e^-tS dt), M0 = (1-e^-t)/t,
 * M2 = int_0^1 x^2 e^-tx dx; ~ sqrt((c-1)/(3c^3)) for large c. Integrated on t = e^v.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

/* M2(t) = int_0^1 x^2 e^(-t x) dx: its series for small t (the closed form cancels there) */
static double m2(double t) {
    if (t >= 1.0) return (2.0 - exp(-t) * (t * t + 2.0 * t + 2.0)) / (t * t * t);
    double s = 0.0, term = 1.0; /* sum_k (-t)^k / (k! (k + 3)) */
    for (int k = 0; k < 20; k++, term *= -t / k) s += term / (k + 3);
    return s;
}

static double unitball_std(double c) {
    double ew2 = 0.0, h = 0.01; /* trapezoid in v = log t: smooth, decays at both ends */
    for (double v = -40.0; v <= 40.0; v += h) {
        double t = exp(v), m0 = -expm1(-t) / t;
        ew2 += h * t * t * m2(t) * pow(m0, c - 1.0);
    }
    return sqrt(fmax(0.0, ew2 - 1.0 / (c * c)));
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t), cols = (size_t)t->cols;
    if (n == 0) return FANIN_OK;
    FANIN_HOST->rng_uniform(rng, t->data, n, 0.0, 1.0);
    for (float *row = t->data; row < t->data + n; row += cols) {
        double sum = 0.0;
        for (size_t j = 0; j < cols; j++) sum += row[j];
        for (size_t j = 0; j < cols; j++) /* sum > 0 unless every draw was exactly 0 */
            row[j] = sum > 0.0 ? (float)(row[j] / sum) : (float)(1.0 / (double)cols);
    }
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    *mean = 1.0 / (double)t->cols;
    *std = t->cols == 1 ? 0.0 : unitball_std((double)t->cols);
    return FANIN_OK;
}

FANIN_INITIALIZER(positive_unitball, "positive_unitball", "1.0.0",
                  "U(0,1), each row scaled to sum 1 (Caffe positive_unitball)", NULL, fill,
                  moments);
