/* fixup: Zhang, Dauphin & Ma 2019, "Fixup Initialization: Residual Learning Without
 * Normalization" (ICLR), Section 3, rules 1-2, for a network of L residual branches of m
 * weight layers each (L = n_blocks, m = branch_len of the tensor's description, ABI 1.2):
 *   a weight in a branch, not its last layer:  N(0, s^2), s = gain / sqrt(fan) * L^(-1/(2m-2))
 *   the last weight layer of each branch:      0
 *   the classification layer (FANIN_TENSOR_OUTPUT, with classifier_zero):  0
 *   any other weight (skip projections, layers outside the branches):  N(0, (gain/sqrt(fan))^2)
 *     ("initialize ... by a standard method", He et al. 2015; gain sqrt 2 as for ReLU)
 *   biases, norm shifts, residual biases: 0;  norm scales, residual multipliers: 1
 *     (rule 3's scalar multiplier starts at 1 and its scalar biases at 0: the residual close
 *     owns them, this is what it gets if it asks).
 * m = 1: the branch's one layer is its last, so 0 (the exponent -1/(2m-2) is never needed).
 * fan = fan_in (default) or fan_out: the authors' code (github.com/hongyi-zhang/Fixup,
 * fixup_resnet_*.py) uses std sqrt(2 / (shape[0] * prod(shape[2:]))), i.e. fan_out.
 * A tensor the host does not describe (ABI < 1.2, fanin init-stats) is a weight outside any
 * branch: He normal; a bias is 0.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_GAIN, P_MODE, P_CLASSIFIER_ZERO };

/* what the rule gives t: N(0, v^2) when normal, else the constant v */
typedef struct rule {
    int normal;
    double v;
} rule;

/* roles that start at 1 (multipliers) or at 0 (offsets) whatever their place */
static int constant_role(const fanin_tensor *t, double *v) {
    int role = init_role(t);
    if (role == FANIN_ROLE_NORM_SCALE || role == FANIN_ROLE_RESIDUAL_SCALE) return *v = 1.0, 1;
    if (t->is_bias || role == FANIN_ROLE_BIAS || role == FANIN_ROLE_NORM_SHIFT ||
        role == FANIN_ROLE_RESIDUAL_BIAS)
        return *v = 0.0, 1;
    return 0;
}

/* Is t a weight of a residual branch (block, position among its m weight layers)? */
static int in_branch(const fanin_tensor *t) {
    return init_described(t) && t->block >= 0 && t->pos >= 0 && t->branch_len > 0 &&
           t->role != FANIN_ROLE_SKIP_PROJECTION;
}

/* scale = L^(-1/(2m-2)) inside a branch's first m - 1 layers, 1 elsewhere; 0: a zero layer */
static double fixup_scale(const fanin_tensor *t, const fanin_value *p) {
    if (in_branch(t)) {
        if (t->pos >= t->branch_len - 1) return 0.0;
        double L = t->n_blocks > 1 ? (double)t->n_blocks : 1.0, m = (double)t->branch_len;
        return pow(L, -1.0 / (2.0 * m - 2.0));
    }
    if (init_described(t) && (t->flags & FANIN_TENSOR_OUTPUT) && p[P_CLASSIFIER_ZERO].b) return 0.0;
    return 1.0;
}

static int fixup_rule(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, rule *r) {
    double gain, fan, scale;
    if (constant_role(t, &r->v)) return r->normal = 0, FANIN_OK;
    if ((scale = fixup_scale(t, p)) == 0.0) return r->normal = 0, r->v = 0.0, FANIN_OK;
    int rc = init_gain(ctx, p[P_GAIN].f, &gain);
    if (rc == FANIN_OK) rc = init_fan(ctx, t, p[P_MODE].e, &fan);
    r->normal = 1;
    r->v = rc == FANIN_OK ? gain / sqrt(fan) * scale : 0.0;
    return rc;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    rule r;
    if (n == 0) return FANIN_OK;
    int rc = fixup_rule(ctx, t, p, &r);
    if (rc != FANIN_OK) return rc;
    if (r.normal) {
        FANIN_HOST->rng_normal(rng, t->data, n, 0.0, r.v);
        return FANIN_OK;
    }
    for (size_t i = 0; i < n; i++) t->data[i] = (float)r.v;
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    rule r;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    int rc = fixup_rule(ctx, t, p, &r);
    *mean = r.normal ? 0.0 : r.v;
    *std = r.normal ? r.v : 0.0;
    return rc;
}

static const char *const modes[] = {"fan_in", "fan_out", NULL};

static const fanin_param_spec schema[] = {
    {.name = "gain",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX | FANIN_PARAM_AUTO,
     .def = 1.4142135623730951,
     .min = 0.0,
     .doc = "He's gain (sqrt 2, ReLU's, as the paper); auto = the layer activation's"},
    {.name = "mode",
     .type = FANIN_PARAM_ENUM,
     .def = INIT_FAN_IN,
     .max = 1.0,
     .choices = modes,
     .doc = "the fan He's std divides by; fan_out is what the authors' code does"},
    {.name = "classifier_zero",
     .type = FANIN_PARAM_BOOL,
     .def = 1.0,
     .max = 1.0,
     .doc = "the output layer (the last dense or conv, outside branches) starts at 0 (Fixup)"},
    {0},
};

FANIN_INITIALIZER(fixup, "fixup", "1.0.0",
                  "0 for each branch's last layer and the classifier, He * L^(-1/(2m-2)) in "
                  "branches (Zhang et al. 2019)",
                  schema, fill, moments);
