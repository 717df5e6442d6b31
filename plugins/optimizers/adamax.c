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

FANIN_USES_HOST;

typedef struct adamax_state {
    uint64_t t; /* steps taken: the bias correction's exponent */
    uint64_t reserved;
    float buf[]; /* m, u */
} adamax_state;

/* p: beta1, beta2, eps, weight_decay */
static size_t state_size(size_t n, const fanin_value *p) {
    return sizeof(adamax_state) + 2 * n * sizeof(float);
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    unsigned char *s = state;
    for (size_t i = 0, size = state_size(n, p); i < size; i++) s[i] = 0;
    return FANIN_OK;
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    adamax_state *s = state;
    s->t++;
    float clr = (float)(lr / (1.0 - pow(p[0].f, (double)s->t)));
    float b1 = (float)p[0].f, c1 = (float)(1.0 - p[0].f), b2 = (float)p[1].f;
    float eps = (float)p[2].f, wd = (float)p[3].f;
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
    {"beta1", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.9, 0.0, 1.0, NULL, NULL,
     "decay of the gradient's running mean m (torch's betas[0])"},
    {"beta2", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.999, 0.0, 1.0, NULL, NULL,
     "decay of the running max u of |g| (torch's betas[1])"},
    {"eps", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, 1e-8, 0.0, 0.0, NULL,
     NULL, "added to |g|: keeps a zero gradient from dividing 0 by 0"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "L2 penalty added to the gradient: g + weight_decay*w"},
    {0},
};

FANIN_OPTIMIZER(adamax, "adamax", "1.0.0", "AdaMax, Adam with the infinity norm "
                "(torch.optim.Adamax)", schema, state_size, init_state, step);
