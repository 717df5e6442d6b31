/* nguyen_widrow: Nguyen & Widrow 1990, "Improving the learning speed of 2-layer neural
 * networks by choosing initial values of the adaptive weights" (IJCNN), per layer with
 * I = fan_in inputs, H = `hidden` (0: fan_out) units and r = input_max - input_min:
 *   textbook: beta = 0.7 H^(1/I); each row (a unit's incoming weights) U(-0.5, 0.5) rescaled
 *             to norm beta * 2/r (the paper assumes inputs in [-1, 1]); bias U(-beta, beta).
 *   fann:     s = (0.7 H)^(1/I) / r, weights U(0, s) (one-sided), bias U(-s, s): libfann's
 *             fann_init_weights, which takes r from the training data and H = all hidden
 *             neurons of the net; give `hidden` and the range to reproduce it exactly.
 * moments: textbook W mean 0, std beta 2/(r sqrt(I)); bias std beta/sqrt(3); fann W mean s/2,
 * std s/sqrt(12); bias std s/sqrt(3).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_VARIANT, P_INPUT_MIN, P_INPUT_MAX, P_HIDDEN };
enum { NW_TEXTBOOK, NW_FANN }; /* index into variants[] */

/* beta (textbook) or s (fann) for t's layer */
static int nw_scale(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *b) {
    double fi, fo, r = p[P_INPUT_MAX].f - p[P_INPUT_MIN].f;
    int rc = init_fan(ctx, t, INIT_FAN_IN, &fi);
    if (rc != FANIN_OK || (rc = init_fan(ctx, t, INIT_FAN_OUT, &fo)) != FANIN_OK) return rc;
    if (!(r > 0.0))
        return FANIN_HOST->error(ctx, FANIN_EINVAL, "input_min %g must be below input_max %g",
                                 p[P_INPUT_MIN].f, p[P_INPUT_MAX].f);
    double h = p[P_HIDDEN].i > 0 ? (double)p[P_HIDDEN].i : fo;
    *b = p[P_VARIANT].e == NW_FANN ? pow(0.7 * h, 1.0 / fi) / r : 0.7 * pow(h, 1.0 / fi);
    return FANIN_OK;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double b;
    size_t n = init_size(t), cols = (size_t)t->cols;
    int rc = n == 0 ? FANIN_OK : nw_scale(ctx, t, p, &b);
    if (n == 0 || rc != FANIN_OK) return rc;
    if (t->is_bias || p[P_VARIANT].e == NW_FANN) {
        FANIN_HOST->rng_uniform(rng, t->data, n, t->is_bias ? -b : 0.0, b);
        return FANIN_OK;
    }
    FANIN_HOST->rng_uniform(rng, t->data, n, -0.5, 0.5);
    for (float *row = t->data; row < t->data + n; row += cols) {
        double ss = 0.0;
        for (size_t j = 0; j < cols; j++) ss += (double)row[j] * row[j];
        double k = ss > 0.0 ? b * 2.0 / (p[P_INPUT_MAX].f - p[P_INPUT_MIN].f) / sqrt(ss) : 0.0;
        for (size_t j = 0; j < cols; j++) row[j] = (float)(row[j] * k);
    }
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double b = 0.0;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    int rc = nw_scale(ctx, t, p, &b);
    int fann = p[P_VARIANT].e == NW_FANN;
    *mean = fann && !t->is_bias ? 0.5 * b : 0.0;
    *std = t->is_bias ? b / sqrt(3.0)
           : fann     ? b / sqrt(12.0)
                      : b * 2.0 / (p[P_INPUT_MAX].f - p[P_INPUT_MIN].f) / sqrt((double)t->cols);
    return rc;
}

static const char *const variants[] = {"textbook", "fann", NULL};

static const fanin_param_spec schema[] = {
    {.name = "variant",
     .type = FANIN_PARAM_ENUM,
     .def = NW_TEXTBOOK,
     .choices = variants,
     .doc = "textbook (Nguyen & Widrow 1990) or fann (libfann's fann_init_weights)"},
    {.name = "input_min",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = -1.0,
     .doc = "smallest input value the layer sees (FANN: of the training data)"},
    {.name = "input_max",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .doc = "largest input value (> input_min)"},
    {.name = "hidden",
     .type = FANIN_PARAM_I64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .min = 0.0,
     .doc = "H, hidden units; 0 = this layer's fan_out (FANN counts every hidden neuron)"},
    {0},
};

FANIN_INITIALIZER(nguyen_widrow, "nguyen_widrow", "1.0.0",
                  "Nguyen-Widrow 1990, textbook or FANN variant, per layer", schema, fill, moments);
