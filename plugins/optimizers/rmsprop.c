/* rmsprop: RMSprop, as torch.optim.RMSprop (PyTorch 1.13 docs' algorithm):
 *   g = g + weight_decay * w                    (L2, coupled)
 *   v = alpha * v + (1 - alpha) * g^2
 *   centered: gm = alpha * gm + (1 - alpha) * g;  d = sqrt(v - gm^2) + eps
 *   else:     d = sqrt(v) + eps                 (eps outside the root; TensorFlow puts it in)
 *   momentum > 0: b = momentum * b + g / d;  w = w - lr * b
 *   else:         w = w - lr * g / d
 * Hinton, Srivastava & Swersky 2012, Neural Networks for Machine Learning, lecture 6e;
 * centered: Graves 2013, "Generating sequences with recurrent neural networks", eq. 38-45;
 * https://pytorch.org/docs/1.13/generated/torch.optim.RMSprop.html
 * v - gm^2 is a variance (>= 0); rounding can leave it a hair below 0, which is clamped to 0
 * rather than becoming NaN. w, g: [n]; state: a 16-byte header, v: [n], gm: [n] when centered,
 * b: [n] when momentum > 0.
 */
#include <fanin/plugin.h>

#include <math.h>

#include "opt_common.h"

enum { P_ALPHA, P_EPS, P_WEIGHT_DECAY, P_MOMENTUM, P_CENTERED };

static size_t state_size(size_t n, const fanin_value *p) {
    return opt_state_size(n, 1 + (p[P_CENTERED].b ? 1 : 0) + (p[P_MOMENTUM].f > 0.0 ? 1 : 0));
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    return opt_zero_state(state, state_size(n, p));
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    opt_state *s = state;
    float a = (float)p[P_ALPHA].f, c = (float)(1.0 - p[P_ALPHA].f), eps = (float)p[P_EPS].f;
    float wd = (float)p[P_WEIGHT_DECAY].f, mu = (float)p[P_MOMENTUM].f, rate = (float)lr;
    int centered = p[P_CENTERED].b, momentum = p[P_MOMENTUM].f > 0.0;
    float *v = s->buf, *gm = v + n, *b = centered ? gm + n : gm;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i], var;
        v[i] = a * v[i] + c * d * d;
        var = v[i];
        if (centered) {
            gm[i] = a * gm[i] + c * d;
            var = fmaxf(v[i] - gm[i] * gm[i], 0.0f);
        }
        float den = sqrtf(var) + eps;
        if (momentum) {
            b[i] = mu * b[i] + d / den;
            w[i] -= rate * b[i];
        } else {
            w[i] -= rate * (d / den);
        }
    }
    s->t++;
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "alpha",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MAX_EXCL,
     .def = 0.99,
     .min = 0.0,
     .max = 1.0,
     .doc = "decay of the squared gradient's running mean v"},
    {.name = "eps",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1e-8,
     .min = 0.0,
     .doc = "added to sqrt(v): keeps a zero gradient from dividing 0 by 0"},
    {.name = "weight_decay",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "L2 penalty added to the gradient: g + weight_decay*w"},
    {.name = "momentum",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "momentum factor: b = momentum*b + g/d, w -= lr*b (0 = none)"},
    {.name = "centered",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "divide by the gradient's estimated std (v - mean^2) instead of its RMS (Graves 2013)"},
    {0},
};

FANIN_OPTIMIZER(rmsprop, "rmsprop", "1.0.0",
                "RMSprop with optional momentum and centering (torch.optim.RMSprop)", schema,
                state_size, init_state, step);
