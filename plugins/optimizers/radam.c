/* radam: Rectified Adam, as torch.optim.RAdam (PyTorch 1.13's algorithm; decoupled_weight_decay
 * as torch >= 2.1):
 *   t = t + 1
 *   w = w * (1 - lr * weight_decay)   if decoupled_weight_decay (torch 2.1, "RAdamW")
 *   g = g + weight_decay * w          otherwise (L2, coupled)
 *   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2;   m_hat = m / (1 - beta1^t)
 *   rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
 *   rho_t > 5: r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
 *              w = w - lr * m_hat * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)
 *   else:      w = w - lr * m_hat      (the variance estimate is not yet trustworthy: SGD with
 *                                       momentum)
 * Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond", ICLR, Alg. 2;
 * https://pytorch.org/docs/1.13/generated/torch.optim.RAdam.html (defaults lr 1e-3, betas
 * (0.9, 0.999), eps 1e-8, weight_decay 0). w, g: [n]; state: header (t), then m, v: [n].
 */
#include <fanin/plugin.h>

#include <math.h>

#include "opt_common.h"

enum { P_BETA1, P_BETA2, P_EPS, P_WEIGHT_DECAY, P_DECOUPLED };

static size_t state_size(size_t n, const fanin_value *p) { return opt_state_size(n, 2); }

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    return opt_zero_state(state, state_size(n, p));
}

/* rect * sqrt(1 - beta2^t) when rho_t > 5, else 0 (the un-adapted branch) */
static double rectifier(double b2, double k) {
    double bc2 = 1.0 - pow(b2, k), rho_inf = 2.0 / (1.0 - b2) - 1.0;
    double rho = rho_inf - 2.0 * k * pow(b2, k) / bc2;
    if (!(rho > 5.0)) return 0.0;
    return sqrt((rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)) *
           sqrt(bc2);
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    opt_state *s = state;
    double b1 = p[P_BETA1].f, b2 = p[P_BETA2].f, k = (double)++s->t, r = rectifier(b2, k);
    int decoupled = p[P_DECOUPLED].b;
    float wd = decoupled ? 0.0f : (float)p[P_WEIGHT_DECAY].f;
    float shrink = decoupled ? (float)(1.0 - lr * p[P_WEIGHT_DECAY].f) : 1.0f;
    float bc1 = (float)(1.0 - pow(b1, k)), flr = (float)lr, fr = (float)r;
    float fb1 = (float)b1, c1 = (float)(1.0 - b1), fb2 = (float)b2, c2 = (float)(1.0 - b2);
    float eps = (float)p[P_EPS].f, *m = s->buf, *v = m + n;
    for (size_t i = 0; i < n; i++) {
        w[i] *= shrink;
        float d = g[i] + wd * w[i];
        m[i] = fb1 * m[i] + c1 * d;
        v[i] = fb2 * v[i] + c2 * d * d;
        float mh = m[i] / bc1;
        w[i] -= r > 0.0 ? mh * flr * (fr / (sqrtf(v[i]) + eps)) : mh * flr;
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
     .doc = "decay of the squared gradient's running mean v; sets rho_inf (torch's betas[1])"},
    {.name = "eps",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1e-8,
     .min = 0.0,
     .doc = "added to sqrt(v) in the rectified branch"},
    {.name = "weight_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty g + weight_decay*w, or decoupled w *= 1 - lr*weight_decay"},
    {.name = "decoupled_weight_decay",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "shrink w by 1 - lr*weight_decay instead of adding to g (torch >= 2.1, RAdamW)"},
    {0},
};

FANIN_OPTIMIZER(radam, "radam", "1.0.0",
                "RAdam, Adam with a rectified adaptive lr "
                "(torch.optim.RAdam; Liu et al. 2020)",
                schema, state_size, init_state, step);
