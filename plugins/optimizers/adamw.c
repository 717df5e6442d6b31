/* adamw: Adam with decoupled weight decay, as torch.optim.AdamW (PyTorch 1.13 docs):
 *   w = w - lr * weight_decay * w               (before the step; the gradient is untouched)
 *   then the Adam step of adam.c with weight_decay 0:
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;  amsgrad: v = max(vmax, v)
 *   w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * Loshchilov & Hutter 2019, "Decoupled weight decay regularization", Algorithm 2 (with the
 * schedule multiplier folded into lr, as PyTorch does);
 * https://pytorch.org/docs/1.13/generated/torch.optim.AdamW.html
 * w, g: [n]; state: the same as adam's (16-byte header, m, v, vmax with amsgrad).
 */
#include <fanin/plugin.h>

#include "adam.h"

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    /* 1 - lr*wd <= 0 would flip or zero every weight at each step */
    if (lr * p[P_WEIGHT_DECAY].f >= 1.0)
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "lr * weight_decay must be < 1 (got %g * %g): the decay step "
                                 "multiplies w by 1 - lr*weight_decay",
                                 lr, p[P_WEIGHT_DECAY].f);
    fanin_adam__update(state, w, g, n, lr, p, 1);
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "beta1",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MAX_EXCL,
     .def = 0.9,
     .min = 0.0,
     .max = 1.0,
     .doc = "decay of the gradient's running mean m (torch's betas[0])"},
    {.name = "beta2",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MAX_EXCL,
     .def = 0.999,
     .min = 0.0,
     .max = 1.0,
     .doc = "decay of the squared gradient's running mean v (torch's betas[1])"},
    {.name = "eps",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1e-8,
     .min = 0.0,
     .doc = "added to sqrt(v_hat): keeps a zero gradient from dividing 0 by 0"},
    {.name = "weight_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 1e-2,
     .min = 0.0,
     .doc = "decoupled decay: w = w - lr*weight_decay*w before each step"},
    {.name = "amsgrad",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "AMSGrad: divide by the largest v seen so far (Reddi et al. 2018)"},
    {0},
};

FANIN_OPTIMIZER(adamw, "adamw", "1.0.0", "Adam with decoupled weight decay (torch.optim.AdamW)",
                schema, fanin_adam__state_size, fanin_adam__init_state, step);
