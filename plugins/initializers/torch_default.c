/* torch_default: what torch.nn.Linear.reset_parameters does.
 *   weight: kaiming_uniform_(a = sqrt(5)): gain = sqrt(2 / (1 + a^2)) = sqrt(1/3),
 *           bound = sqrt(3) * gain / sqrt(fan_in) = 1/sqrt(fan_in);
 *   bias:   U(+-1/sqrt(fan_in)) (0 when fan_in = 0).
 * Both U(+-1/sqrt(fan_in)), std 1/sqrt(3 fan_in): a third of LeCun's variance (PyTorch issues
 * 15314, 57109, 129302). Computed in torch's order of operations so the bounds match exactly.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

static double torch_bound(const fanin_tensor *t) {
    double fan = (double)t->fan_in;
    if (fan <= 0.0) return 0.0;
    if (t->is_bias) return 1.0 / sqrt(fan);
    double a = sqrt(5.0), gain = sqrt(2.0 / (1.0 + a * a)); /* calculate_gain("leaky_relu", a) */
    return sqrt(3.0) * (gain / sqrt(fan));
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double b = torch_bound(t);
    if (init_size(t) > 0) FANIN_HOST->rng_uniform(rng, t->data, init_size(t), -b, b);
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = 0.0;
    *std = torch_bound(t) / sqrt(3.0);
    return FANIN_OK;
}

FANIN_INITIALIZER(torch_default, "torch_default", "1.0.0",
                  "nn.Linear's default: U(+-1/sqrt(fan_in)) for weight and bias", NULL, fill,
                  moments);
