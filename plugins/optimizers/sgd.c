/* sgd: stochastic gradient descent with momentum, as torch.optim.SGD (PyTorch docs' algorithm):
 *   g = g + weight_decay * w                       (L2, coupled)
 *   momentum != 0:  b = g on the first step, else b = momentum * b + (1 - dampening) * g
 *                   g = nesterov ? g + momentum * b : b
 *   w = w - lr * g
 * PyTorch's v = mu v + g differs from Sutskever et al. 2013's v = mu v + lr g (same for a
 * constant lr). Nesterov as Sutskever et al. 2013, eq. 3-4, reformulated. w, g: [n];
 * state: a 16-byte header, then b: [n] when momentum != 0.
 */
#include <fanin/plugin.h>

FANIN_USES_HOST;

typedef struct sgd_state {
    uint64_t started; /* 1 once b holds a value: a resumed run continues, not restarts */
    uint64_t reserved;
    float b[];        /* momentum buffer; present only when momentum != 0 (16-byte aligned) */
} sgd_state;

static int check(fanin_ctx *ctx, const fanin_value *p) {
    if (p[2].b && (p[0].f <= 0.0 || p[1].f != 0.0))
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "nesterov needs momentum > 0 and dampening 0 (got %g and %g)",
                                 p[0].f, p[1].f);
    return FANIN_OK;
}

static size_t state_size(size_t n, const fanin_value *p) {
    return sizeof(sgd_state) + (p[0].f != 0.0 ? n * sizeof(float) : 0);
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    unsigned char *s = state;
    for (size_t i = 0, size = state_size(n, p); i < size; i++)
        s[i] = 0;
    return check(ctx, p);
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    sgd_state *s = state;
    float mu = (float)p[0].f, damp = 1.0f - (float)p[1].f, wd = (float)p[3].f, a = (float)lr;
    int nesterov = p[2].b, first = !s->started, rc = check(ctx, p);
    if (rc != FANIN_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        if (mu != 0.0f) {
            s->b[i] = first ? d : mu * s->b[i] + damp * d;
            d = nesterov ? d + mu * s->b[i] : s->b[i];
        }
        w[i] -= a * d;
    }
    s->started = 1;
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {"momentum", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "momentum factor mu (0 = plain SGD); b = mu*b + (1-dampening)*g"},
    {"dampening", FANIN_PARAM_F64, 0, 0.0, 0.0, 1.0, NULL, NULL,
     "scales the new gradient added to the momentum buffer by (1 - dampening)"},
    {"nesterov", FANIN_PARAM_BOOL, 0, 0.0, 0.0, 1.0, NULL, NULL,
     "Nesterov momentum: step along g + mu*b (needs momentum > 0, dampening 0)"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "L2 penalty added to the gradient: g + weight_decay*w"},
    {0},
};

FANIN_OPTIMIZER(sgd, "sgd", "1.0.0", "SGD with momentum, dampening, Nesterov (torch.optim.SGD)",
                schema, state_size, init_state, step);
