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

FANIN_USES_HOST;

typedef struct adagrad_state {
    uint64_t t; /* steps taken: drives lr_decay, so a resumed run continues the decay */
    uint64_t reserved;
    float sum[];
} adagrad_state;

/* p: lr_decay, weight_decay, initial_accumulator_value, eps */
static int check(fanin_ctx *ctx, const fanin_value *p) {
    if (p[3].f == 0.0 && p[2].f == 0.0)
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "eps = 0 needs initial_accumulator_value > 0: otherwise a zero "
                                 "gradient divides 0 by 0");
    return FANIN_OK;
}

static size_t state_size(size_t n, const fanin_value *p) {
    return sizeof(adagrad_state) + n * sizeof(float);
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    adagrad_state *s = state;
    s->t = s->reserved = 0;
    for (size_t i = 0; i < n; i++) s->sum[i] = (float)p[2].f;
    return check(ctx, p);
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    adagrad_state *s = state;
    int rc = check(ctx, p);
    if (rc != FANIN_OK) return rc;
    s->t++;
    float clr = (float)(lr / (1.0 + (double)(s->t - 1) * p[0].f));
    float wd = (float)p[1].f, eps = (float)p[3].f;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        s->sum[i] += d * d;
        w[i] -= clr * (d / (sqrtf(s->sum[i]) + eps));
    }
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {"lr_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "step t uses lr / (1 + (t-1)*lr_decay)"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "L2 penalty added to the gradient: g + weight_decay*w"},
    {"initial_accumulator_value", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "starting value of the sum of squared gradients s"},
    {"eps", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 1e-10, 0.0, 0.0, NULL, NULL,
     "added to sqrt(s); 0 only with initial_accumulator_value > 0"},
    {0},
};

FANIN_OPTIMIZER(adagrad, "adagrad", "1.0.0",
                "Adagrad with lr decay and initial accumulator (torch.optim.Adagrad)", schema,
                state_size, init_state, step);
