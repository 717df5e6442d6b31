/* {{NAME}}: heavy-ball momentum, v = momentum * v + g; w = w - lr * v (state: v, one float
 * per parameter). Polyak 1964; torch.optim.SGD(momentum=m) without dampening. Replace the
 * formula, the source and the code with your optimizer's.
 */
#include <fanin/plugin.h>
#include <string.h>

/* Bytes of state for n parameters; the host allocates them (16-byte aligned) and keeps them, so
 * a checkpoint is a plain copy. Keep nothing anywhere else. */
static size_t state_size(size_t n, const fanin_value *p) { return n * sizeof(float); }

static int init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p) {
    if (n) memset(state, 0, n * sizeof(float));
    return FANIN_OK;
}

/* One update of w[0..n) from its gradient g; t is the 1-based step number. */
static int step(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p) {
    float *v = state, mu = (float)p[0].f;
    for (size_t i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        w[i] -= (float)lr * v[i];
    }
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {"momentum", FANIN_PARAM_F64, FANIN_PARAM_MAX_EXCL, 0.9, 0.0, 1.0, NULL, NULL,
     "fraction of the previous update kept"},
    {0},
};

FANIN_OPTIMIZER({{NAME}}_plugin, "{{NAME}}", "0.1.0", "SGD with heavy-ball momentum", schema,
                state_size, init_state, step);
FANIN_PLUGIN_DEFINE(&{{NAME}}_plugin)
