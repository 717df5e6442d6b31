/* eye: W[i][j] = gain if i == j else 0, for any rows x cols: the top-left min(rows, cols)
 * square is gain * I, the rest zero, so "as many inputs as possible are preserved"
 * (torch.nn.init.eye_; Keras Identity(gain=1), which is gain * eye(shape)). `identity` is the
 * same scheme under Keras's name. A bias (cols = 1) gets zeros: an identity map has no offset.
 * mean = gain k / N, std = gain sqrt(k/N - (k/N)^2), k = min(rows, cols), N = rows*cols.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN };

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t), cols = (size_t)t->cols;
    for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
    if (t->is_bias) return FANIN_OK;
    for (size_t i = 0; n > 0 && i < (size_t)t->rows && i < cols; i++)
        t->data[i * cols + i] = (float)p[P_GAIN].f;
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    size_t n = init_size(t);
    if (n == 0 || t->is_bias) return init_empty_moments(mean, std);
    double k = (double)(t->rows < t->cols ? t->rows : t->cols), f = k / (double)n;
    *mean = p[P_GAIN].f * f;
    *std = fabs(p[P_GAIN].f) * sqrt(f - f * f);
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .doc = "the diagonal's value (Keras Identity gain; PyTorch eye_ is 1)"},
    {0},
};

FANIN_INITIALIZER(eye, "eye", "1.0.0", "gain on the diagonal, rectangular (torch.nn.init.eye_)",
                  schema, fill, moments);
FANIN_INITIALIZER(identity, "identity", "1.0.0", "alias of eye (Keras Identity)", schema, fill,
                  moments);
