/* {{NAME}}: heavy-ball momentum, v = momentum * v + g; w = w - lr * v (state: v, one float
 * per parameter). Polyak 1964; torch.optim.SGD(momentum=m) without dampening. Replace the
 * formula, the source and the code with your optimizer's.
 */
#include <fanin/plugin.h>
#include <string.h>

enum { P_MOMENTUM }; /* each parameter's index in p[]: its row in the schema below */

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
    float *v = state, mu = (float)p[P_MOMENTUM].f;
    for (size_t i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        w[i] -= (float)lr * v[i];
    }
    return FANIN_OK;
}

/* One row per parameter, in the enum's order; the host validates values against it. */
static const fanin_param_spec schema[] = {
    {.name = "momentum", .type = FANIN_PARAM_F64, .flags = FANIN_PARAM_MAX_EXCL, .def = 0.9,
     .min = 0.0, .max = 1.0, .doc = "fraction of the previous update kept"},
    {0},
};

FANIN_OPTIMIZER({{NAME}}_plugin, "{{NAME}}", "0.1.0", "SGD with heavy-ball momentum", schema,
                state_size, init_state, step);
FANIN_PLUGIN_DEFINE(&{{NAME}}_plugin)
