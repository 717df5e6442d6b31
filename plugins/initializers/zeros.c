/* zeros: W = 0. torch.nn.init.zeros_; Keras `Zeros`, the usual bias initializer.
 * All-zero weights leave every unit of a layer identical (no symmetry breaking): use it for
 * biases, or to watch a network fail to learn.
 */
#include <fanin/plugin.h>

#include "init_common.h"

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 0.0;
    *std = 0.0;
    return FANIN_OK;
}

FANIN_INITIALIZER(zeros, "zeros", "1.0.0", "all zeros (torch.nn.init.zeros_)", NULL, fill, moments);
