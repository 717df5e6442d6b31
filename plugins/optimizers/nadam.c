/* nadam: Adam with Nesterov momentum and momentum decay, as torch.optim.NAdam (PyTorch 1.13
 * docs' algorithm):
 *   t = t + 1
 *   w = w * (1 - lr * weight_decay)             if decoupled_weight_decay (torch >= 2.1,
 *                                                "NAdamW"; Loshchilov & Hutter 2019)
 *   g = g + weight_decay * w                    otherwise (L2, coupled)
 *   mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)),  mu_{t+1} likewise
 *   P = P * mu_t                                (P = prod_{i<=t} mu_i, kept in the state)
 *   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
 *   d = sqrt(v / (1 - beta2^t)) + eps
 *   w = w - lr * (1 - mu_t) / (1 - P) * g / d - lr * mu_{t+1} / (1 - P * mu_{t+1}) * m / d
 * Dozat 2016, "Incorporating Nesterov momentum into Adam", ICLR workshop, Algorithm 2;
 * https://pytorch.org/docs/1.13/generated/torch.optim.NAdam.html
 * This is the docs' formula and torch 1.13's foreach path; 1.13's default single-tensor path
 * multiplies mu_t in twice (fixed in pytorch PR #92699). PyTorch's lr default is 2e-3;
 * fanin's lr is the host's optimizer.lr (default 0.01).
 * w, g: [n]; state: a 16-byte header (t, P), then m, v: [n].
 */
#include <fanin/plugin.h>

#include <math.h>

#include "opt_common.h"

enum { P_BETA1, P_BETA2, P_EPS, P_WEIGHT_DECAY, P_MOMENTUM_DECAY, P_DECOUPLED };

typedef struct nadam_state {
    uint64_t t;  /* steps taken */
    double prod; /* P = mu_1 * ... * mu_t (1 before the first step) */
    float buf[]; /* m, v */
} nadam_state;
_Static_assert(sizeof(nadam_state) == sizeof(opt_state), "nadam's header is 16 bytes");

static size_t state_size(size_t n, const fanin_value *p) { return opt_state_size(n, 2); }

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    nadam_state *s = state;
    opt_zero_state(s, state_size(n, p));
    s->prod = 1.0;
    return FANIN_OK;
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    nadam_state *s = state;
    double b1 = p[P_BETA1].f, b2 = p[P_BETA2].f, psi = p[P_MOMENTUM_DECAY].f, k = (double)++s->t;
    double mu = b1 * (1.0 - 0.5 * pow(0.96, k * psi));
    double mu_next = b1 * (1.0 - 0.5 * pow(0.96, (k + 1.0) * psi));
    s->prod *= mu;
    float a_g = (float)(lr * (1.0 - mu) / (1.0 - s->prod));
    float a_m = (float)(lr * mu_next / (1.0 - s->prod * mu_next));
    float bc2 = (float)sqrt(1.0 - pow(b2, k)), eps = (float)p[P_EPS].f;
    int decoupled = p[P_DECOUPLED].b;
    float wd = decoupled ? 0.0f : (float)p[P_WEIGHT_DECAY].f;
    float shrink = decoupled ? (float)(1.0 - lr * p[P_WEIGHT_DECAY].f) : 1.0f;
    float fb1 = (float)b1, c1 = (float)(1.0 - b1), fb2 = (float)b2, c2 = (float)(1.0 - b2);
    float *m = s->buf, *v = m + n;
    for (size_t i = 0; i < n; i++) {
        w[i] *= shrink;
        float d = g[i] + wd * w[i];
        m[i] = fb1 * m[i] + c1 * d;
        v[i] = fb2 * v[i] + c2 * d * d;
        float den = sqrtf(v[i]) / bc2 + eps;
        w[i] -= a_g * (d / den);
        w[i] -= a_m * (m[i] / den);
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
     .doc = "decay of the gradient's running mean m; also scales mu_t (torch's betas[0])"},
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
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty g + weight_decay*w, or decoupled w *= 1 - lr*weight_decay"},
    {.name = "momentum_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 4e-3,
     .min = 0.0,
     .doc = "psi in mu_t = beta1*(1 - 0.5*0.96^(t*psi)): how fast the momentum warms up"},
    {.name = "decoupled_weight_decay",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "shrink w by 1 - lr*weight_decay instead of adding to g (torch >= 2.1, NAdamW)"},
    {0},
};

FANIN_OPTIMIZER(nadam, "nadam", "1.1.0",
                "NAdam, Adam with Nesterov momentum "
                "(torch.optim.NAdam)",
                schema, state_size, init_state, step);
