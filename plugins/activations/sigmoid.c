/* sigmoid: y = 1 / (1 + exp(-x)); dy/dx = y (1 - y); gain 1
 * (torch.nn.init.calculate_gain("sigmoid")). torch.nn.Sigmoid; the logistic unit of
 * Glorot & Bengio 2010, which saturates the top layer early. x: [n]; x == y, dy == dx allowed.
 */
#include <fanin/plugin.h>
#include <math.h>
#include <string.h>

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) {
        /* exp of a non-positive number only: no overflow for large |x|, and 1 - y keeps its
         * precision for very negative x */
        if (x[i] >= 0.0f) {
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        } else {
            float e = expf(x[i]);
            y[i] = e / (1.0f + e);
        }
    }
    return FANIN_OK;
}

/* forward: y = 1 / (1 + exp(-x)), so dy/dx = y (1 - y) from y alone */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) {
    *g = 1.0;
    return FANIN_OK;
}

/* forward is exactly the logistic function, so the host may fuse it with binary cross-entropy
 * and take the loss from the logits (FANIN_INTERFACE_LOGISTIC). */
static const void *get_interface(const char *name) {
    static const int logistic = 1;
    return strcmp(name, FANIN_INTERFACE_LOGISTIC) == 0 ? &logistic : NULL;
}

static const fanin_activation_vt vt = {
    .hdr = FANIN_HEADER(fanin_activation_vt),
    .forward = forward,
    .backward = backward,
    .gain = gain,
};

const fanin_plugin act_sigmoid = {
    .hdr = FANIN_HEADER(fanin_plugin),
    .kind = FANIN_KIND_ACTIVATION,
    .flags = FANIN_FLAG_DETERMINISTIC | FANIN_FLAG_IN_PLACE,
    .name = "sigmoid",
    .version = "1.0.0",
    .doc = "1/(1+exp(-x)), stable for large |x| (gain 1)",
    .vtable = &vt,
    .get_interface = get_interface,
};
