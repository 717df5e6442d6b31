/* {{NAME}}: W ~ N(0, std^2), std = gain / sqrt(fan_in)
 * LeCun, Bottou, Orr & Mueller 1998, "Efficient BackProp", section 4.6: keeps the variance of a
 * layer's pre-activations near that of its inputs. Replace the formula, the source and the
 * code with your scheme's; keep the shape (fill, moments, schema, descriptor, entry point).
 */
#include <fanin/plugin.h>
#include <math.h>

FANIN_USES_HOST; /* the host's services, set by FANIN_PLUGIN_DEFINE below */

enum { P_GAIN }; /* each parameter's index in p[]: its row in the schema below */

static int std_of(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *std) {
    if (t->fan_in <= 0)
        return FANIN_HOST->error(ctx, FANIN_EINVAL, "fan_in is %lld; it must be positive",
                                 (long long)t->fan_in);
    *std = p[P_GAIN].f / sqrt((double)t->fan_in);
    return FANIN_OK;
}

/* Fill t (rows x cols floats) drawing only from rng, so a seed reproduces it. */
static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = t->rows > 0 && t->cols > 0 ? (size_t)t->rows * (size_t)t->cols : 0;
    double std;
    if (n == 0) return FANIN_OK; /* an empty tensor is a no-op */
    int rc = std_of(ctx, t, p, &std);
    if (rc == FANIN_OK) FANIN_HOST->rng_normal(rng, t->data, n, 0.0, std);
    return rc;
}

/* The mean and std the formula gives: `fanin check` compares a sample against them. */
static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 0.0;
    *std = 0.0;
    return t->rows > 0 && t->cols > 0 ? std_of(ctx, t, p, std) : FANIN_OK;
}

/* One row per parameter, in the enum's order; the host validates values against it. */
static const fanin_param_spec schema[] = {
    {.name = "gain", .type = FANIN_PARAM_F64, .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1.0, .min = 0.0, .doc = "multiplies the std"},
    {0},
};

FANIN_INITIALIZER({{NAME}}_plugin, "{{NAME}}", "0.1.0", "N(0, gain^2 / fan_in)", schema, fill,
                  moments);
FANIN_PLUGIN_DEFINE(&{{NAME}}_plugin)
