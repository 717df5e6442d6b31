/* delta_orthogonal: a convolution that starts as an orthogonal 1x1 map. For a conv weight
 * W [out, in, kh, kw] (any number of spatial dimensions):
 *   W = 0 everywhere except the kernel centre W[:, :, kh/2, kw/2] = gain * H,
 *   H [out, in] semi-orthogonal: H^T H = I when out >= in (the paper's case), H H^T = I else;
 * H as `orthogonal` draws it (A ~ N(0,1), sign-fixed QR: Haar; Mezzadri 2007).
 * Xiao, Bahri, Sohl-Dickstein, Schoenholz & Pennington 2018, "Dynamical Isometry and a Mean
 * Field Theory of CNNs: How to Train 10,000-Layer Vanilla Convolutional Neural Networks"
 * (ICML), Algorithms 1 and 2; TF's ConvolutionDeltaOrthogonal, which refuses out < in (here a
 * wide centre gets orthonormal rows, as torch.nn.init.orthogonal_ does, without the isometry).
 * A dense weight, a bias and any tensor the host does not describe (ABI < 1.2, fanin
 * init-stats) are plain `orthogonal`, draw for draw. mean 0, std = gain sqrt(min(out, in) / N),
 * N = the tensor's size (the centre's squares sum to gain^2 min(out, in)).
 */
#include <fanin/plugin.h>
#include <limits.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN };

/* t = 0, then the centre of each (o, i) kernel = H[o][i] (H [out, in], gain included). */
static int fill_conv(fanin_ctx *ctx, const fanin_tensor *t, double g, fanin_rng *rng) {
    int64_t out = t->shape[0], in = t->shape[1], size, centre;
    init_kernel_centre(t, &size, &centre);
    size_t n = init_size(t), nh = (size_t)out * (size_t)in;
    for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
    float *h = FANIN_HOST->alloc(ctx, nh * sizeof *h);
    if (!h)
        return FANIN_HOST->error(ctx, FANIN_ENOMEM,
                                 "delta_orthogonal: no memory for the %lld x "
                                 "%lld kernel centre",
                                 (long long)out, (long long)in);
    int rc = init_orthogonal(ctx, rng, h, (int)out, (int)in, g, "delta_orthogonal");
    for (size_t k = 0; rc == FANIN_OK && k < nh; k++) /* k = o * in + i */
        t->data[k * (size_t)size + (size_t)centre] = h[k];
    FANIN_HOST->free(ctx, h);
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    int64_t out, in;
    double g;
    if (init_size(t) == 0) return FANIN_OK;
    init_out_in(t, &out, &in);
    if (out > INT_MAX || in > INT_MAX)
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "delta_orthogonal: %lld x %lld is too large "
                                 "for the qr service",
                                 (long long)out, (long long)in);
    int rc = init_gain(ctx, p[P_GAIN].f, &g);
    if (rc != FANIN_OK) return rc;
    if (init_is_conv(t)) return fill_conv(ctx, t, g, rng);
    return init_orthogonal(ctx, rng, t->data, (int)out, (int)in, g, "delta_orthogonal");
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    int64_t out, in;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    init_out_in(t, &out, &in);
    double g = 1.0, k = (double)(out < in ? out : in);
    int rc = init_gain(ctx, p[P_GAIN].f, &g);
    *mean = 0.0;
    *std = fabs(g) * sqrt(k / (double)init_size(t));
    return rc;
}

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = 1.0,
     .doc = "multiplies the centre's orthogonal matrix (the paper's sigma_w); auto = the "
            "layer activation's gain"},
    {0},
};

FANIN_INITIALIZER(delta_orthogonal, "delta_orthogonal", "1.0.0",
                  "conv kernel centre = gain * orthogonal, zeros elsewhere (Xiao et al. 2018)",
                  schema, fill, moments);
