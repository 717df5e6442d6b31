/* gradinit: GradInit, Zhu et al. 2021, "GradInit: Learning to initialize neural networks for
 * stable and efficient training" (NeurIPS), Algorithm 1 for SGD: one scale factor α_i per
 * weight tensor, chosen so that one SGD step of size η from the scaled weights lowers the loss
 * most while the gradient stays bounded:
 *   minimise_α  L(θ_α - η g(θ_α))   subject to ‖g(θ_α)‖ <= γ,  α_i >= α_min,
 * θ_α = (α_1 W_1, ..., α_K W_K), g = ∇L. Our approximations, documented in docs/plugins.md:
 *   - the derivatives in the K factors by forward differences (the paper backpropagates through
 *     the step); a sign step of size lr on log α (the paper: Adam on α), kept only when the
 *     objective decreases (else lr is halved), so it never increases;
 *   - the bound as an exact penalty: f(α) = L(θ_α - η g) + penalty · max(0, ‖g‖₂ - γ), where
 *     the paper switches to lowering ‖g‖ while it is violated; ‖g‖₂ over every weight (the
 *     paper's SGD variant also bounds a gradient norm);
 *   - one batch for both the step and the loss after it (the paper draws two, S0 and S1).
 * As metainit it needs the host's gradients (plugin ABI 1.2), so it is the OUTPUT layer's init:
 * it fills that W with N(0, 1/fan_in) (LeCun), then scales every weight tensor of the network.
 * Its bias is zero. Deterministic: the same seed gives the same weights.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"
#include "init_grad.h"

enum { P_STEPS, P_LR, P_ETA, P_GAMMA, P_ALPHA_MIN, P_PENALTY };

/* f(α): the loss after one SGD step from θ_α, plus the penalty on the gradient's norm. */
static int objective(fanin_ctx *ctx, ig_net *net, const double *a, const fanin_value *p,
                     double *f) {
    double loss;
    ig_scale(net, a);
    int rc = FANIN_HOST->init_loss_grad(ctx, &loss, &net->k);
    if (rc < 0) return rc;
    double gn = ig_save_grad(net);
    ig_step(net, -p[P_ETA].f);
    if ((rc = FANIN_HOST->init_loss_grad(ctx, &loss, &net->k)) < 0) return rc;
    *f = loss + p[P_PENALTY].f * fmax(0.0, gn - p[P_GAMMA].f);
    if (!isfinite(*f))
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "gradinit: the loss after one step is %g (gradient norm %g): "
                                 "lower eta or check the data and the other layers' inits",
                                 loss, gn);
    return FANIN_OK;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    const ig_method m = {"gradinit", objective,        p[P_STEPS].i,
                         p[P_LR].f,  p[P_ALPHA_MIN].f, "objective"};
    return ig_fill(ctx, t, p, rng, &m);
}

#define POSITIVE FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX

static const fanin_param_spec schema[] = {
    {.name = "steps",
     .type = FANIN_PARAM_I64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 10,
     .min = 0,
     .doc = "sign steps on log alpha (each costs 2 (layers + 2) forward+backward passes)"},
    {.name = "lr",
     .type = FANIN_PARAM_F64,
     .flags = POSITIVE,
     .def = 0.1,
     .min = 0.0,
     .doc = "first step on each log alpha (halved after a step that does not lower f)"},
    {.name = "eta",
     .type = FANIN_PARAM_F64,
     .flags = POSITIVE,
     .def = 0.1,
     .min = 0.0,
     .doc = "the SGD step size eta whose one step the objective looks through"},
    {.name = "gamma",
     .type = FANIN_PARAM_F64,
     .flags = POSITIVE,
     .def = 1.0,
     .min = 0.0,
     .doc = "bound gamma on the L2 norm of the gradient over every weight"},
    {.name = "alpha_min",
     .type = FANIN_PARAM_F64,
     .flags = POSITIVE,
     .def = 0.01,
     .min = 0.0,
     .doc = "lower bound on every scale factor alpha"},
    {.name = "penalty",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 10.0,
     .min = 0.0,
     .doc = "weight of max(0, |g| - gamma) added to the objective"},
    {0},
};

FANIN_INITIALIZER(gradinit, "gradinit", "1.0.0",
                  "output layer: per-tensor scales so one SGD step lowers the loss most under a "
                  "gradient-norm bound (Zhu et al. 2021)",
                  schema, fill, NULL);
