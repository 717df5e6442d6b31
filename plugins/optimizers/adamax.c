/* adamax: AdaMax, Adam's infinity-norm variant, as torch.optim.Adamax (PyTorch 1.13 docs):
 *   t = t + 1
 *   g = g + weight_decay * w                    (L2, coupled)
 *   m = beta1 * m + (1 - beta1) * g
 *   u = max(beta2 * u, |g| + eps)
 *   w = w - lr / (1 - beta1^t) * m / u
 * Kingma & Ba 2015, "Adam: A method for stochastic optimization", section 7.1, Algorithm 2
 * (eps added as PyTorch does); https://pytorch.org/docs/1.13/generated/torch.optim.Adamax.html
 * PyTorch's lr default is 2e-3; fanin's lr is the host's optimizer.lr (default 0.01).
 * w, g: [n]; state: a 16-byte header (t), then m, u: [n].
 */
#include <fanin/plugin.h>

#include <math.h>

#include "opt_common.h"

enum { P_BETA1, P_BETA2, P_EPS, P_WEIGHT_DECAY };

static size_t state_size(size_t n, const fanin_value *p) { return opt_state_size(n, 2); }

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    return opt_zero_state(state, state_size(n, p));
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    opt_state *s = state;
    s->t++;
    float clr = (float)(lr / (1.0 - pow(p[P_BETA1].f, (double)s->t)));
    float b1 = (float)p[P_BETA1].f, c1 = (float)(1.0 - p[P_BETA1].f), b2 = (float)p[P_BETA2].f;
    float eps = (float)p[P_EPS].f, wd = (float)p[P_WEIGHT_DECAY].f;
    float *m = s->buf, *u = m + n;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        m[i] = b1 * m[i] + c1 * d;
        u[i] = fmaxf(b2 * u[i], fabsf(d) + eps);
        w[i] -= clr * (m[i] / u[i]);
    }
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
     .doc = "decay of the running max u of |g| (torch's betas[1])"},
    {.name = "eps",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1e-8,
     .min = 0.0,
     .doc = "added to |g|: keeps a zero gradient from dividing 0 by 0"},
    {.name = "weight_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty added to the gradient: g + weight_decay*w"},
    {0},
};

FANIN_OPTIMIZER(adamax, "adamax", "1.0.0",
                "AdaMax, Adam with the infinity norm "
                "(torch.optim.Adamax)",
                schema, state_size, init_state, step);
