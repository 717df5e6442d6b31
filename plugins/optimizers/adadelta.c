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

FANIN_USES_HOST;

typedef struct adadelta_state {
    uint64_t t; /* steps taken */
    uint64_t reserved;
    float buf[]; /* v, u */
} adadelta_state;

/* p: rho, eps, weight_decay */
static size_t state_size(size_t n, const fanin_value *p) {
    return sizeof(adadelta_state) + 2 * n * sizeof(float);
}

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    unsigned char *s = state;
    for (size_t i = 0, size = state_size(n, p); i < size; i++) s[i] = 0;
    return FANIN_OK;
}

static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    adadelta_state *s = state;
    float rho = (float)p[0].f, c = (float)(1.0 - p[0].f), eps = (float)p[1].f;
    float wd = (float)p[2].f, rate = (float)lr;
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
    {"rho", FANIN_PARAM_F64, 0, 0.9, 0.0, 1.0, NULL, NULL,
     "decay of the running means of g^2 and dx^2"},
    {"eps", FANIN_PARAM_F64, FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, 1e-6, 0.0, 0.0, NULL,
     NULL, "added inside both square roots; sets the size of the first steps"},
    {"weight_decay", FANIN_PARAM_F64, FANIN_PARAM_NO_MAX, 0.0, 0.0, 0.0, NULL, NULL,
     "L2 penalty added to the gradient: g + weight_decay*w"},
    {0},
};

FANIN_OPTIMIZER(adadelta, "adadelta", "1.0.0",
                "Adadelta (torch.optim.Adadelta; PyTorch's lr default is 1.0, fanin's 0.01)",
                schema, state_size, init_state, step);
