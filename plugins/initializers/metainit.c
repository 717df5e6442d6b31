/* metainit: MetaInit, Dauphin & Schoenholz 2019, "MetaInit: Initializing learning by learning
 * to initialize" (NeurIPS), Algorithm 1: keep each weight tensor's direction and tune its norm
 * by a few steps of signed gradient descent on the gradient quotient
 *   GQ(θ) = 1/N Σ_j | (g - H g)_j / (g_j + ε sign g_j) - 1 | = 1/N Σ_j | (H g)_j / (g_j + ε sign g_j) |
 * (g = ∇L(θ), H its Hessian, N the number of weights): GQ = 0 when one gradient step would
 * leave the gradient's direction unchanged, as for a well-conditioned quadratic.
 * Our approximations, documented in docs/plugins.md:
 *   - H g by a finite difference of gradients, H g ≈ (g(θ + δ g) - g(θ)) / δ with
 *     δ = delta · ‖θ‖ / ‖g‖ (a step of relative size `delta`), not by double backprop;
 *   - the derivative of GQ in each log-norm by a forward difference, a sign step of size lr on
 *     the log-norms (the paper: signSGD with momentum on the norms), kept only when GQ
 *     decreases (else lr is halved), so GQ never increases;
 *   - one batch: the run's init batch (its first training rows and labels), not fresh batches.
 * The host's gradients (plugin ABI 1.2) exist once every layer is initialised, so metainit is
 * the OUTPUT layer's init: it fills that W with N(0, 1/fan_in) (LeCun), then rescales every
 * weight tensor of the network (the others keep the direction their own init gave). Its bias
 * is zero. Deterministic: the same seed gives the same weights.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"
#include "init_grad.h"

enum { P_STEPS, P_LR, P_EPS, P_DELTA };

/* ‖W‖ over every weight at s (the tensors hold s * W(start)). */
static double weight_norm(const ig_net *net) {
    double ss = 0.0;
    for (int32_t i = 0; i < net->k; i++)
        for (int64_t j = 0; j < net->n[i]; j++) ss += (double)net->w[i][j] * net->w[i][j];
    return sqrt(ss);
}

/* GQ with H g from two gradient evaluations; the weights are left moved (ig_minimise resets). */
static int gradient_quotient(fanin_ctx *ctx, ig_net *net, const double *s, const fanin_value *p,
                             double *f) {
    double loss;
    ig_scale(net, s);
    int rc = FANIN_HOST->init_loss_grad(ctx, &loss, &net->k);
    if (rc < 0) return rc;
    double gn = ig_save_grad(net), tn = weight_norm(net), eps = p[P_EPS].f;
    if (!(gn > 0) || !isfinite(gn) || !isfinite(loss))
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "metainit: the loss's gradient at init is %g (loss %g): "
                                 "nothing to measure; check the data and the other layers' inits",
                                 gn, loss);
    double delta = p[P_DELTA].f * tn / gn, sum = 0.0;
    ig_step(net, delta);
    if ((rc = FANIN_HOST->init_loss_grad(ctx, &loss, &net->k)) < 0) return rc;
    size_t o = 0;
    for (int32_t i = 0; i < net->k; i++)
        for (int64_t j = 0; j < net->n[i]; j++, o++) {
            double g = net->gsave[o], hg = ((double)net->g[i][j] - g) / delta;
            sum += fabs(hg / (g + (g < 0 ? -eps : eps)));
        }
    *f = sum / (double)net->total;
    return FANIN_OK;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    const ig_method m = {"metainit", gradient_quotient,  p[P_STEPS].i, p[P_LR].f,
                         1e-3,       "gradient quotient"};
    return ig_fill(ctx, t, p, rng, &m);
}

static const fanin_param_spec schema[] = {
    {.name = "steps",
     .type = FANIN_PARAM_I64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 5,
     .min = 0,
     .doc = "sign steps on the log-norms (each costs 2 (layers + 2) forward+backward passes)"},
    {.name = "lr",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 0.1,
     .min = 0.0,
     .doc = "first step on each log-norm (halved after a step that does not lower GQ)"},
    {.name = "eps",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1e-5,
     .min = 0.0,
     .doc = "epsilon of GQ's denominator g + eps sign(g) (the paper's)"},
    {.name = "delta",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1e-3,
     .min = 0.0,
     .doc = "finite-difference step for H g, relative to the weights' norm"},
    {0},
};

FANIN_INITIALIZER(metainit, "metainit", "1.0.0",
                  "output layer: rescale every weight tensor to lower the gradient quotient "
                  "(Dauphin & Schoenholz 2019)",
                  schema, fill, NULL);
