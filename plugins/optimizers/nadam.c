/* nadam: Adam with Nesterov momentum and momentum decay, as torch.optim.NAdam (PyTorch 1.13
 * docs' algorithm):
 *   t = t + 1
 *   g = g + weight_decay * w                    (L2, coupled)
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

FANIN_USES_HOST;

typedef struct nadam_state {
    uint64_t t;  /* steps taken */
    double prod; /* P = mu_1 * ... * mu_t (1 before the first step) */
    float buf[]; /* m, v */
} nadam_state;

/* p: beta1, beta2, eps, weight_decay, momentum_decay */
static size_t state_size(size_t n, const fanin_value *p) {
    return sizeof(nadam_state) + 2 * n * sizeof(float);
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    nadam_state *s = state;
    s->t = 0;
    s->prod = 1.0;
    for (size_t i = 0; i < 2 * n; i++) s->buf[i] = 0.0f;
    return FANIN_OK;
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    nadam_state *s = state;
    double b1 = p[0].f, b2 = p[1].f, psi = p[4].f, k = (double)++s->t;
    double mu = b1 * (1.0 - 0.5 * pow(0.96, k * psi));
    double mu_next = b1 * (1.0 - 0.5 * pow(0.96, (k + 1.0) * psi));
    s->prod *= mu;
    float a_g = (float)(lr * (1.0 - mu) / (1.0 - s->prod));
    float a_m = (float)(lr * mu_next / (1.0 - s->prod * mu_next));
    float bc2 = (float)sqrt(1.0 - pow(b2, k)), eps = (float)p[2].f, wd = (float)p[3].f;
    float fb1 = (float)b1, c1 = (float)(1.0 - b1), fb2 = (float)b2, c2 = (float)(1.0 - b2);
    float *m = s->buf, *v = m + n;
    for (size_t i = 0; i < n; i++) {
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
    {"beta1", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.9, 0.0, 1.0, NULL, NULL,
     "decay of the gradient's running mean m; also scales mu_t (torch's betas[0])"},
    {"beta2", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.999, 0.0, 1.0, NULL, NULL,
     "decay of the squared gradient's running mean v (torch's betas[1])"},
    {"eps", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, 1e-8, 0.0, 0.0, NULL,
     NULL, "added to sqrt(v_hat): keeps a zero gradient from dividing 0 by 0"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "L2 penalty added to the gradient: g + weight_decay*w"},
    {"momentum_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 4e-3, 0.0, 0.0, NULL, NULL,
     "psi in mu_t = beta1*(1 - 0.5*0.96^(t*psi)): how fast the momentum warms up"},
    {0},
};

FANIN_OPTIMIZER(nadam, "nadam", "1.0.0", "NAdam, Adam with Nesterov momentum "
                "(torch.optim.NAdam)", schema, state_size, init_state, step);
