/* adadelta: Adadelta, as torch.optim.Adadelta (PyTorch 1.13 docs' algorithm):
 *   g = g + weight_decay * w                    (L2, coupled)
 *   v = rho * v + (1 - rho) * g^2
 *   dx = sqrt(u + eps) / sqrt(v + eps) * g
 *   u = rho * u + (1 - rho) * dx^2
 *   w = w - lr * dx
 * Zeiler 2012, "ADADELTA: an adaptive learning rate method", arXiv:1212.5701, Algorithm 1
 * (lr = 1 there); https://pytorch.org/docs/1.13/generated/torch.optim.Adadelta.html
 * PyTorch's lr default is 1.0; fanin's lr is the host's optimizer.lr (default 0.01), so write
 * `lr: 1.0` for PyTorch's behaviour. eps must be > 0: with u starting at 0 and eps = 0 every dx
 * would be 0 and the weights would never move.
 * w, g: [n]; state: a 16-byte header (t), then v, u: [n].
 */
#include <fanin/plugin.h>

#include <math.h>

#include "opt_common.h"

enum { P_RHO, P_EPS, P_WEIGHT_DECAY };

static size_t state_size(size_t n, const fanin_value *p) { return opt_state_size(n, 2); }

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    return opt_zero_state(state, state_size(n, p));
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    opt_state *s = state;
    float rho = (float)p[P_RHO].f, c = (float)(1.0 - p[P_RHO].f), eps = (float)p[P_EPS].f;
    float wd = (float)p[P_WEIGHT_DECAY].f, rate = (float)lr;
    float *v = s->buf, *u = v + n;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        v[i] = rho * v[i] + c * d * d;
        float dx = sqrtf(u[i] + eps) / sqrtf(v[i] + eps) * d;
        u[i] = rho * u[i] + c * dx * dx;
        w[i] -= rate * dx;
    }
    s->t++;
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "rho",
     .type = FANIN_PARAM_F64,
     .def = 0.9,
     .min = 0.0,
     .max = 1.0,
     .doc = "decay of the running means of g^2 and dx^2"},
    {.name = "eps",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1e-6,
     .min = 0.0,
     .doc = "added inside both square roots; sets the size of the first steps"},
    {.name = "weight_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty added to the gradient: g + weight_decay*w"},
    {0},
};

FANIN_OPTIMIZER(adadelta, "adadelta", "1.0.0",
                "Adadelta (torch.optim.Adadelta; PyTorch's lr default is 1.0, fanin's 0.01)",
                schema, state_size, init_state, step);
