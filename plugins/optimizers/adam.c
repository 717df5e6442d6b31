/* adam: Adam, as torch.optim.Adam (PyTorch 1.13 docs' algorithm); its update is shared with
 * adamw.c, which only moves the weight decay.
 *   t = t + 1                                   (kept in the state: resumes continue)
 *   g = g + weight_decay * w                    (L2, coupled; adamw decays w instead)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   amsgrad: vmax = max(vmax, v), used for v below
 *   w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * Kingma & Ba 2015, "Adam: A method for stochastic optimization", Algorithm 1; amsgrad: Reddi
 * et al. 2018, "On the convergence of Adam and beyond", Algorithm 2;
 * https://pytorch.org/docs/1.13/generated/torch.optim.Adam.html
 * w, g: [n]; state: a 16-byte header, then m, v: [n], then vmax: [n] with amsgrad.
 */
#include <fanin/plugin.h>

#include <math.h>

#include "adam.h"

size_t fanin_adam__state_size(size_t n, const fanin_value *p) {
    return opt_state_size(n, p[P_AMSGRAD].b ? 3 : 2);
}

int fanin_adam__init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    return opt_zero_state(state, fanin_adam__state_size(n, p));
}

void fanin_adam__update(void *state, float *w, const float *g, size_t n, double lr,
                        const fanin_value *p, int decoupled) {
    opt_state *s = state;
    double b1 = p[P_BETA1].f, b2 = p[P_BETA2].f, wd = p[P_WEIGHT_DECAY].f, t = (double)++s->t;
    float step = (float)(lr / (1.0 - pow(b1, t))), bc2 = (float)sqrt(1.0 - pow(b2, t));
    float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1.0 - b1), c2 = (float)(1.0 - b2);
    float eps = (float)p[P_EPS].f, l2 = decoupled ? 0.0f : (float)wd;
    float keep = decoupled ? (float)(1.0 - lr * wd) : 1.0f;
    float *m = s->buf, *v = m + n, *vmax = p[P_AMSGRAD].b ? v + n : v;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + l2 * w[i];
        w[i] *= keep;
        m[i] = fb1 * m[i] + c1 * d;
        v[i] = fb2 * v[i] + c2 * d * d;
        if (vmax[i] < v[i]) vmax[i] = v[i];
        w[i] -= step * (m[i] / (sqrtf(vmax[i]) / bc2 + eps));
    }
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    fanin_adam__update(state, w, g, n, lr, p, 0);
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
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty added to the gradient: g + weight_decay*w (use adamw to decouple it)"},
    {.name = "amsgrad",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "AMSGrad: divide by the largest v seen so far (Reddi et al. 2018)"},
    {0},
};

FANIN_OPTIMIZER(adam, "adam", "1.0.0", "Adam with optional AMSGrad and L2 (torch.optim.Adam)",
                schema, fanin_adam__state_size, fanin_adam__init_state, step);
