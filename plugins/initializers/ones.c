/* ones: W = 1. torch.nn.init.ones_; Keras `Ones`. Mostly for biases or scale vectors; a weight
 * matrix of ones breaks no symmetry (every unit of the layer computes the same thing).
 */
#include <fanin/plugin.h>

#include "init_common.h"

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    for (size_t i = 0; i < n; i++) t->data[i] = 1.0f;
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 1.0;
    *std = 0.0;
    return FANIN_OK;
}

FANIN_INITIALIZER(ones, "ones", "1.0.0", "all ones (torch.nn.init.ones_)", NULL, fill, moments);
