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

FANIN_USES_HOST;

/* adam.c; p has the same rows: beta1, beta2, eps, weight_decay, amsgrad */
size_t fanin_adam__state_size(size_t n, const fanin_value *p);
int fanin_adam__init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p);
void fanin_adam__update(void *state, float *w, const float *g, size_t n, double lr,
                        const fanin_value *p, int decoupled);

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    /* 1 - lr*wd <= 0 would flip or zero every weight at each step */
    if (lr * p[3].f >= 1.0)
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "lr * weight_decay must be < 1 (got %g * %g): the decay step "
                                 "multiplies w by 1 - lr*weight_decay", lr, p[3].f);
    fanin_adam__update(state, w, g, n, lr, p, 1);
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {"beta1", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.9, 0.0, 1.0, NULL, NULL,
     "decay of the gradient's running mean m (torch's betas[0])"},
    {"beta2", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.999, 0.0, 1.0, NULL, NULL,
     "decay of the squared gradient's running mean v (torch's betas[1])"},
    {"eps", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, 1e-8, 0.0, 0.0, NULL,
     NULL, "added to sqrt(v_hat): keeps a zero gradient from dividing 0 by 0"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 1e-2, 0.0, 0.0, NULL, NULL,
     "decoupled decay: w = w - lr*weight_decay*w before each step"},
    {"amsgrad", FANIN_PARAM_BOOL, 0, 0.0, 0.0, 1.0, NULL, NULL,
     "AMSGrad: divide by the largest v seen so far (Reddi et al. 2018)"},
    {0},
};

FANIN_OPTIMIZER(adamw, "adamw", "1.0.0",
                "Adam with decoupled weight decay (torch.optim.AdamW)", schema,
                fanin_adam__state_size, fanin_adam__init_state, step);
