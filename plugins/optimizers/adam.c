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

FANIN_USES_HOST;

typedef struct adam_state {
    uint64_t t; /* steps taken */
    uint64_t reserved;
    float buf[]; /* m, v, vmax */
} adam_state;

/* p: beta1, beta2, eps, weight_decay, amsgrad (the same rows in adam and adamw) */
size_t fanin_adam__state_size(size_t n, const fanin_value *p) {
    return sizeof(adam_state) + (p[4].b ? 3 : 2) * n * sizeof(float);
}

int fanin_adam__init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    unsigned char *s = state;
    for (size_t i = 0, size = fanin_adam__state_size(n, p); i < size; i++) s[i] = 0;
    return FANIN_OK;
}

/* One step; `decoupled` applies weight_decay as w *= 1 - lr * weight_decay (AdamW). */
void fanin_adam__update(void *state, float *w, const float *g, size_t n, double lr,
                        const fanin_value *p, int decoupled) {
    adam_state *s = state;
    double b1 = p[0].f, b2 = p[1].f, wd = p[3].f, t = (double)++s->t;
    float step = (float)(lr / (1.0 - pow(b1, t))), bc2 = (float)sqrt(1.0 - pow(b2, t));
    float fb1 = (float)b1, fb2 = (float)b2, c1 = (float)(1.0 - b1), c2 = (float)(1.0 - b2);
    float eps = (float)p[2].f, l2 = decoupled ? 0.0f : (float)wd;
    float keep = decoupled ? (float)(1.0 - lr * wd) : 1.0f;
    float *m = s->buf, *v = m + n, *vmax = p[4].b ? v + n : v;
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
    {"beta1", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.9, 0.0, 1.0, NULL, NULL,
     "decay of the gradient's running mean m (torch's betas[0])"},
    {"beta2", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.999, 0.0, 1.0, NULL, NULL,
     "decay of the squared gradient's running mean v (torch's betas[1])"},
    {"eps", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, 1e-8, 0.0, 0.0, NULL,
     NULL, "added to sqrt(v_hat): keeps a zero gradient from dividing 0 by 0"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "L2 penalty added to the gradient: g + weight_decay*w (use adamw to decouple it)"},
    {"amsgrad", FANIN_PARAM_BOOL, 0, 0.0, 0.0, 1.0, NULL, NULL,
     "AMSGrad: divide by the largest v seen so far (Reddi et al. 2018)"},
    {0},
};

FANIN_OPTIMIZER(adam, "adam", "1.0.0", "Adam with optional AMSGrad and L2 (torch.optim.Adam)",
                schema, fanin_adam__state_size, fanin_adam__init_state, step);
