/* dirac: a convolution that starts as the identity (it passes its input through unchanged,
 * channel for channel, as far as out and in allow). For a conv weight W [out, in, k...] split
 * in `groups` (torch.nn.init.dirac_(tensor, groups)), o_g = out / groups:
 *   W[g*o_g + d, d, k1/2, k2/2, ...] = 1 for every group g and d < min(o_g, in), else 0.
 * torch.nn.init.dirac_ (PyTorch 1.13: the "Dirac delta function", preserving the identity of
 * the inputs in convolutional layers; groups since PyTorch 1.5). torch takes 3-, 4- and 5-D
 * tensors only; here a 2-D weight (dense, or any tensor the host does not describe) is the same
 * rule without a kernel: W[g*o_g + d][d] = 1, torch.nn.init.eye_ for groups 1. A bias (a 1-D
 * tensor) gets zeros: an identity has no offset. out must be divisible by groups.
 * mean = m / N, std = sqrt(m/N - (m/N)^2), m = groups * min(o_g, in) ones among N values.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GROUPS };

/* out, in and the kernel (its size and centre; 1 and 0 without one) of t. */
static void dims(const fanin_tensor *t, int64_t *out, int64_t *in, int64_t *size, int64_t *centre) {
    init_out_in(t, out, in);
    *size = 1;
    *centre = 0;
    if (init_is_conv(t)) init_kernel_centre(t, size, centre);
}

/* out % groups == 0, as torch's "dim 0 must be divisible by groups" */
static int check_groups(fanin_ctx *ctx, int64_t out, int64_t groups) {
    if (out % groups == 0) return FANIN_OK;
    return FANIN_HOST->error(ctx, FANIN_EINVAL,
                             "dirac: %lld output channels are not divisible "
                             "by groups = %lld",
                             (long long)out, (long long)groups);
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    int64_t out, in, size, centre, groups = p[P_GROUPS].i;
    size_t n = init_size(t);
    if (n == 0) return FANIN_OK;
    dims(t, &out, &in, &size, &centre);
    int rc = t->is_bias ? FANIN_OK : check_groups(ctx, out, groups);
    if (rc != FANIN_OK) return rc;
    for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
    if (t->is_bias) return FANIN_OK;
    int64_t og = out / groups, m = og < in ? og : in;
    for (int64_t g = 0; g < groups; g++)
        for (int64_t d = 0; d < m; d++) t->data[((g * og + d) * in + d) * size + centre] = 1.0f;
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    int64_t out, in, size, centre, groups = p[P_GROUPS].i;
    size_t n = init_size(t);
    if (n == 0 || t->is_bias) return init_empty_moments(mean, std);
    dims(t, &out, &in, &size, &centre);
    int rc = check_groups(ctx, out, groups);
    if (rc != FANIN_OK) return rc;
    int64_t og = out / groups;
    double f = (double)(groups * (og < in ? og : in)) / (double)n;
    *mean = f;
    *std = sqrt(f - f * f);
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "groups",
     .type = FANIN_PARAM_I64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .min = 1.0,
     .doc = "channel groups: an identity per group of out/groups outputs (torch)"},
    {0},
};

FANIN_INITIALIZER(dirac, "dirac", "1.0.0",
                  "identity at the kernel centre, zeros elsewhere (torch.nn.init.dirac_)", schema,
                  fill, moments);
