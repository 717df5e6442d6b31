/* orthogonal: W = gain * Q, Q (rows x cols) semi-orthogonal: Q Q^T = I when rows <= cols,
 * Q^T Q = I when rows >= cols. Draw A ~ N(0,1) of shape [max(r,c), min(r,c)], A = QR with
 * diag(R) >= 0 (the host's qr service fixes the signs, so Q is Haar-distributed: Mezzadri 2007),
 * transpose back when rows < cols. Saxe, McClelland & Ganguli 2014 ("Exact solutions to the
 * nonlinear dynamics of learning in deep linear networks"); torch.nn.init.orthogonal_(gain=1)
 * (rows = fan_out, PyTorch's layout). A bias (cols = 1) is a rows x 1 matrix: a random unit
 * vector times gain. mean 0, std = gain sqrt(min(r,c) / (r c)) (the squares sum to gain^2 min).
 */
#include <fanin/plugin.h>
#include <limits.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN };

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    if (n == 0) return FANIN_OK;
    if (t->rows > INT_MAX || t->cols > INT_MAX)
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "orthogonal: %lld x %lld is too large for "
                                 "the qr service",
                                 (long long)t->rows, (long long)t->cols);
    double g;
    int rc = init_gain(ctx, p[P_GAIN].f, &g);
    if (rc != FANIN_OK) return rc;
    return init_orthogonal(ctx, rng, t->data, (int)t->rows, (int)t->cols, g, "orthogonal");
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    double r = (double)t->rows, c = (double)t->cols, g = 1.0;
    int rc = init_gain(ctx, p[P_GAIN].f, &g);
    *mean = 0.0;
    *std = fabs(g) * sqrt(fmin(r, c) / (r * c));
    return rc;
}

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = 1.0,
     .doc = "multiplies Q (PyTorch, Keras: 1); auto = the layer activation's gain"},
    {0},
};

FANIN_INITIALIZER(orthogonal, "orthogonal", "1.0.0",
                  "gain * semi-orthogonal Q from a sign-fixed QR (torch.nn.init.orthogonal_)",
                  schema, fill, moments);
