/* adagrad: Adagrad, as torch.optim.Adagrad (PyTorch 1.13 docs' algorithm):
 *   t = t + 1;  clr = lr / (1 + (t - 1) * lr_decay)
 *   g = g + weight_decay * w                    (L2, coupled)
 *   s = s + g^2                                 (s starts at initial_accumulator_value)
 *   w = w - clr * g / (sqrt(s) + eps)
 * Duchi, Hazan & Singer 2011, "Adaptive subgradient methods for online learning and stochastic
 * optimization", JMLR 12, Figure 1 (diagonal version);
 * https://pytorch.org/docs/1.13/generated/torch.optim.Adagrad.html
 * w, g: [n]; state: a 16-byte header (t), then s: [n].
 */
#include <fanin/plugin.h>

#include <math.h>

#include "opt_common.h"

enum { P_LR_DECAY, P_WEIGHT_DECAY, P_INITIAL_ACCUMULATOR_VALUE, P_EPS };

static int check(fanin_ctx *ctx, const fanin_value *p) {
    if (p[P_EPS].f == 0.0 && p[P_INITIAL_ACCUMULATOR_VALUE].f == 0.0)
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "eps = 0 needs initial_accumulator_value > 0: otherwise a zero "
                                 "gradient divides 0 by 0");
    return FANIN_OK;
}

static size_t state_size(size_t n, const fanin_value *p) { return opt_state_size(n, 1); }

/* t = 0; the sum s starts at initial_accumulator_value */
static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    opt_state *s = state;
    s->t = s->reserved = 0;
    for (size_t i = 0; i < n; i++) s->buf[i] = (float)p[P_INITIAL_ACCUMULATOR_VALUE].f;
    return check(ctx, p);
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    opt_state *s = state;
    int rc = check(ctx, p);
    if (rc != FANIN_OK) return rc;
    s->t++;
    float clr = (float)(lr / (1.0 + (double)(s->t - 1) * p[P_LR_DECAY].f));
    float wd = (float)p[P_WEIGHT_DECAY].f, eps = (float)p[P_EPS].f, *sum = s->buf;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        sum[i] += d * d;
        w[i] -= clr * (d / (sqrtf(sum[i]) + eps));
    }
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "lr_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "step t uses lr / (1 + (t-1)*lr_decay)"},
    {.name = "weight_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty added to the gradient: g + weight_decay*w"},
    {.name = "initial_accumulator_value",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "starting value of the sum of squared gradients s"},
    {.name = "eps",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 1e-10,
     .min = 0.0,
     .doc = "added to sqrt(s); 0 only with initial_accumulator_value > 0"},
    {0},
};

FANIN_OPTIMIZER(adagrad, "adagrad", "1.0.0",
                "Adagrad with lr decay and initial accumulator (torch.optim.Adagrad)", schema,
                state_size, init_state, step);
