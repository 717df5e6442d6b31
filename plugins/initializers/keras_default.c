/* keras_default: what keras.layers.Dense does: kernel glorot_uniform, i.e. VarianceScaling(1,
 * fan_avg, uniform): U(+-sqrt(3 / n)), n = max(1, (fan_in + fan_out) / 2) (= sqrt(6/(fi+fo)));
 * bias zeros. Glorot & Bengio 2010, eq. 16; keras.initializers.GlorotUniform.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

static double keras_limit(const fanin_tensor *t) {
    double scale = 1.0 / fmax(1.0, 0.5 * ((double)t->fan_in + (double)t->fan_out));
    return t->is_bias ? 0.0 : sqrt(3.0 * scale); /* Keras's own order of operations */
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    if (t->is_bias) {
        for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
    } else if (n > 0) {
        FANIN_HOST->rng_uniform(rng, t->data, n, -keras_limit(t), keras_limit(t));
    }
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 0.0;
    *std = keras_limit(t) / sqrt(3.0);
    return FANIN_OK;
}

FANIN_INITIALIZER(keras_default, "keras_default", "1.0.0",
                  "Keras Dense default: glorot_uniform kernel, zero bias", NULL, fill, moments);
