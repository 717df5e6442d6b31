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

#include "opt_common.h"

enum { P_MOMENTUM, P_DAMPENING, P_NESTEROV, P_WEIGHT_DECAY };

typedef struct sgd_state {
    uint64_t started; /* 1 once b holds a value: a resumed run continues, not restarts */
    uint64_t reserved;
    float b[]; /* momentum buffer; present only when momentum != 0 (16-byte aligned) */
} sgd_state;
_Static_assert(sizeof(sgd_state) == sizeof(opt_state), "sgd's header is 16 bytes");

static int check(fanin_ctx *ctx, const fanin_value *p) {
    if (p[P_NESTEROV].b && (p[P_MOMENTUM].f <= 0.0 || p[P_DAMPENING].f != 0.0))
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "nesterov needs momentum > 0 and dampening 0 (got %g and %g)",
                                 p[P_MOMENTUM].f, p[P_DAMPENING].f);
    return FANIN_OK;
}

static size_t state_size(size_t n, const fanin_value *p) {
    return opt_state_size(n, p[P_MOMENTUM].f != 0.0 ? 1 : 0);
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    opt_zero_state(state, state_size(n, p));
    return check(ctx, p);
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    sgd_state *s = state;
    float mu = (float)p[P_MOMENTUM].f, damp = 1.0f - (float)p[P_DAMPENING].f;
    float wd = (float)p[P_WEIGHT_DECAY].f, a = (float)lr;
    int nesterov = p[P_NESTEROV].b, first = !s->started, rc = check(ctx, p);
    if (rc != FANIN_OK) return rc;
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
    {.name = "momentum",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "momentum factor mu (0 = plain SGD); b = mu*b + (1-dampening)*g"},
    {.name = "dampening",
     .type = FANIN_PARAM_F64,
     .def = 0.0,
     .min = 0.0,
     .max = 1.0,
     .doc = "scales the new gradient added to the momentum buffer by (1 - dampening)"},
    {.name = "nesterov",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "Nesterov momentum: step along g + mu*b (needs momentum > 0, dampening 0)"},
    {.name = "weight_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty added to the gradient: g + weight_decay*w"},
    {0},
};

FANIN_OPTIMIZER(sgd, "sgd", "1.0.0", "SGD with momentum, dampening, Nesterov (torch.optim.SGD)",
                schema, state_size, init_state, step);
