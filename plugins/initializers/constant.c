/* constant: W = value. torch.nn.init.constant_(val); Keras `Constant(value=0)`; Caffe's
 * "constant" filler (its default, so a Caffe layer without a filler starts at 0).
 */
#include <fanin/plugin.h>

#include "init_common.h"

enum { P_VALUE };

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    float v = (float)p[P_VALUE].f;
    for (size_t i = 0; i < n; i++) t->data[i] = v;
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    *mean = p[P_VALUE].f;
    *std = 0.0;
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "value",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .doc = "the value of every element"},
    {0},
};

FANIN_INITIALIZER(constant, "constant", "1.0.0", "every element = value (torch.nn.init.constant_)",
                  schema, fill, moments);
