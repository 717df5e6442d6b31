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

FANIN_USES_HOST;

typedef struct rmsprop_state {
    uint64_t t; /* steps taken */
    uint64_t reserved;
    float buf[]; /* v, gm, b */
} rmsprop_state;

/* p: alpha, eps, weight_decay, momentum, centered */
static size_t state_size(size_t n, const fanin_value *p) {
    size_t bufs = 1 + (p[4].b ? 1 : 0) + (p[3].f > 0.0 ? 1 : 0);
    return sizeof(rmsprop_state) + bufs * n * sizeof(float);
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    unsigned char *s = state;
    for (size_t i = 0, size = state_size(n, p); i < size; i++) s[i] = 0;
    return FANIN_OK;
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    rmsprop_state *s = state;
    float a = (float)p[0].f, c = (float)(1.0 - p[0].f), eps = (float)p[1].f;
    float wd = (float)p[2].f, mu = (float)p[3].f, rate = (float)lr;
    int centered = p[4].b, momentum = p[3].f > 0.0;
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
    {"alpha", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.99, 0.0, 1.0, NULL, NULL,
     "decay of the squared gradient's running mean v"},
    {"eps", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, 1e-8, 0.0, 0.0, NULL,
     NULL, "added to sqrt(v): keeps a zero gradient from dividing 0 by 0"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "L2 penalty added to the gradient: g + weight_decay*w"},
    {"momentum", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "momentum factor: b = momentum*b + g/d, w -= lr*b (0 = none)"},
    {"centered", FANIN_PARAM_BOOL, 0, 0.0, 0.0, 1.0, NULL, NULL,
     "divide by the gradient's estimated std (v - mean^2) instead of its RMS (Graves 2013)"},
    {0},
};

FANIN_OPTIMIZER(rmsprop, "rmsprop", "1.0.0",
                "RMSprop with optional momentum and centering (torch.optim.RMSprop)", schema,
                state_size, init_state, step);
