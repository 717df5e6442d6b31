/* fann_default: FANN's initial weights, U(-0.1, 0.1) for every connection including the bias
 * ones: libfann's fann_create_standard -> fann_create_sparse_array sets each weight to
 * fann_random_weight(), i.e. fann_rand(-0.1, 0.1) (fann.c; not fann_randomize_weights, which
 * a user calls later with their own bounds; issue 11). mean 0,
 * std 0.2/sqrt(12). For FANN's data-driven fann_init_weights see nguyen_widrow (variant fann).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    if (init_size(t) > 0) FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -0.1, 0.1);
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 0.0;
    *std = 0.2 / sqrt(12.0);
    return FANIN_OK;
}

FANIN_INITIALIZER(fann_default, "fann_default", "1.0.0", "FANN's default U(-0.1, 0.1)", NULL, fill,
                  moments);
