/* The verdict in words: a few plain sentences about a finished run, from its per-layer
 * statistics at iteration 0 and at the end (layers.csv) and its loss curve. The rules and their
 * thresholds are documented in docs/diagnostics.md; keep the two in step.
 */
#include "engine/diag.h"
#include "run/rundir.h"
#include "run/runset.h"
#include "run/verdict.h"

#include <fanin/fanin.h>

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* thresholds (docs/diagnostics.md, "The verdict") */
#define SHRINK_FACTOR 0.5 /* per-layer activation-std factor below this: shrinking */
#define GROW_FACTOR 2.0   /* above this: growing */
#define SPAN_RATIO 1e-2   /* last/first hidden activation std below this: collapsed */
#define GRAD_VANISH 1e-3  /* dL/dZ std at layer 1 / output layer below this: vanishing */
#define GRAD_EXPLODE 1e3  /* above this: exploding */
#define SATURATED 0.5     /* a bounded layer with more outputs near a bound: saturated */
#define DEAD 0.5          /* a hidden layer with more units zero on the whole batch: dead */
#define SYMMETRIC 1e-6    /* relative spread of W's rows below this: every unit the same */
#define SYM_SEEN 2        /* rows still equal at this iteration or later: they stay equal */
#define STALLED 0.99      /* final loss above this fraction of the initial one: stalled */
#define SINK_MEAN 0.1     /* a sigmoid layer's mean activation below this: sank towards 0 */
#define TO_LOSS 0.01      /* "iterations to 1% of the initial loss" (Saxe et al. 2014) */
#define ROSE 1.01         /* final loss above this fraction of the initial one: it rose */
#define BLEW_UP 10.0      /* ... above this many times: it diverged without a NaN */
#define FANIN_VERDICT_MAX_LAYERS 8192 /* more rows per snapshot than any model has (4096) */
#define DIPPED \
    0.9 /* a stalled run whose lowest logged loss fell below this fraction
                             * of the initial one fell and climbed back */

const char *fanin__verdict_flag_name(unsigned flag) {
    switch (flag) {
    case FANIN_V_HEALTHY: return "healthy";
    case FANIN_V_VANISHING: return "vanishing";
    case FANIN_V_EXPLODING: return "exploding";
    case FANIN_V_SATURATED: return "saturated";
    case FANIN_V_DEAD: return "dead";
    case FANIN_V_SYMMETRIC: return "symmetric";
    case FANIN_V_STALLED: return "stalled";
    case FANIN_V_DIVERGED: return "diverged";
    case FANIN_V_SHRINKING: return "shrinking";
    case FANIN_V_GROWING: return "growing";
    case FANIN_V_ROSE: return "rose";
    default: return "?";
    }
}

const fanin__layer_stats *fanin__run_stats_at(const fanin__run_view *r, bool last) {
    if (r->n_stats < r->n_layers || r->n_layers < 1) return NULL;
    /* rows come in blocks of n_layers, in iteration order */
    int at = last ? r->n_stats - r->n_layers : 0;
    return &r->stats[at - at % r->n_layers];
}

void fanin__verdict_say(fanin__run_view *r, const char *fmt, ...) {
    size_t u = strlen(r->verdict);
    if (u + 1 >= sizeof r->verdict) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->verdict + u, sizeof r->verdict - u, fmt, ap);
    va_end(ap);
}

/* "1e-07", "0.03", "2.4", "240": short numbers for sentences */
const char *fanin__verdict_num(char *b, double v) {
    if (!isfinite(v)) snprintf(b, 24, "n/a");
    else if (v != 0 && (fabs(v) < 1e-3 || fabs(v) >= 1e4)) snprintf(b, 24, "%.0e", v);
    else if (fabs(v) >= 100) snprintf(b, 24, "%.0f", v); /* 240, not 2.4e+02 */
    else snprintf(b, 24, "%.2g", v);
    return b;
}

/* The first logged iteration whose loss is at most TO_LOSS of the first logged one (Saxe et
 * al. 2014's learning time); NaN when none is. As fine as train.log_every. */
static double iters_to(const fanin__run_view *r) {
    for (int i = 1; i < r->n_metrics; i++)
        if (r->metrics[i].loss <= TO_LOSS * r->metrics[0].loss)
            return (double)r->metrics[i].iteration;
    return NAN;
}

/* The hidden weight layers (dense, conv2d; every weight layer but the network's last) into
 * idx; how many. Pools, norms, dropout and residual joins carry no weight to judge. */
static int hidden_weights(const fanin__run_view *r, const fanin__layer_stats *s, int *idx) {
    int n = 0;
    for (int l = 0; l < r->n_layers; l++)
        if (fanin__verdict_has_weight(&s[l])) idx[n++] = l;
    return n > 0 ? n - 1 : 0;
}

/* Does the output layer start with every weight equal (zero: Fixup's classifier, `init: zeros`
 * on the readout) while no gradient reaches the hidden layers at iteration 0? dL/dA of the last
 * hidden layer is dZ_out W_out: 0 when W_out = 0, and 0 too for a constant W_out under softmax
 * cross-entropy (each row of dZ_out sums to 0). Not vanishing: the weights are not too small,
 * the readout is zero for one step. */
static bool zero_readout(const fanin__run_view *r, const fanin__layer_stats *s0) {
    const fanin__layer_stats *out = &s0[r->n_layers - 1];
    return r->n_layers > 1 && fanin__verdict_has_weight(out) && out->weight_std == 0 &&
           s0[0].dz_std == 0 && out->dz_std > 0;
}

/* The snapshot whose gradient ratio the verdict judges: iteration 0, or with a zero readout
 * the first recorded iteration after it where a gradient reaches layer 1; NULL when none. */
static const fanin__layer_stats *grad_rows(const fanin__run_view *r, const fanin__layer_stats *s0) {
    if (!zero_readout(r, s0)) return s0;
    int L = r->n_layers;
    for (int k = 1; (k + 1) * L <= r->n_stats; k++) {
        const fanin__layer_stats *s = &r->stats[k * L];
        if (s[0].dz_std > 0 && s[L - 1].dz_std > 0) return s;
    }
    return NULL;
}

/* " at iteration 100" into b (32 bytes) when the gradient is judged after iteration 0, else "". */
static const char *grad_when(const fanin__run_view *r, const fanin__layer_stats *s0, char *b) {
    const fanin__layer_stats *sg = grad_rows(r, s0);
    b[0] = 0;
    if (sg && sg != s0) snprintf(b, 32, " at iteration %lld", (long long)sg[0].iteration);
    return b;
}

/* A zero readout: say why iteration 0 has no gradient below the output layer, and where the
 * gradient is judged instead. */
static void readout_note(fanin__run_view *r, const fanin__layer_stats *s0) {
    if (!zero_readout(r, s0)) return;
    const fanin__layer_stats *sg = grad_rows(r, s0), *out = &s0[r->n_layers - 1];
    fanin__verdict_say(r,
                       "The output layer starts %s, so no gradient reaches the hidden layers "
                       "at iteration 0 (not vanishing gradients: dL/dA below it is dL/dZ times "
                       "its W); ",
                       isfinite(out->update_ratio) ? "with all its weights equal" : "at zero");
    if (sg)
        fanin__verdict_say(r,
                           "the gradient is judged at iteration %lld, the first recorded "
                           "after it. ",
                           (long long)sg[0].iteration);
    else
        fanin__verdict_say(r, "no later iteration was recorded, so the gradient is not "
                              "judged. ");
}

static void figures(fanin__run_view *r, const fanin__layer_stats *s0,
                    const fanin__layer_stats *s1) {
    fanin__verdict_figs *g = &r->figs;
    int L = r->n_layers, hw[FANIN_VERDICT_MAX_LAYERS], H;
    g->initial_loss = r->n_metrics ? r->metrics[0].loss : NAN;
    g->final_loss = r->final_loss;
    g->iters_to_1pct = iters_to(r);
    g->act_factor0 = g->act_ratio0 = g->grad_ratio0 = g->weight_scale0 = g->weight_gain0 = NAN;
    g->branch_ratio0 = NAN;
    g->n_blocks = 0;
    g->max_saturated = g->max_dead = 0;
    if (!s0 || L > FANIN_VERDICT_MAX_LAYERS) return;
    H = hidden_weights(r, s0, hw);
    if (H >= 2 && s0[hw[0]].act_std > 0) {
        g->act_ratio0 = s0[hw[H - 1]].act_std / s0[hw[0]].act_std;
        g->act_factor0 = pow(g->act_ratio0, 1.0 / (H - 1));
    }
    fanin__verdict_stream_figs(r, s0); /* a residual net: the stream's factor per block */
    const fanin__layer_stats *sg = grad_rows(r, s0);
    if (sg && sg[L - 1].dz_std > 0) g->grad_ratio0 = sg[0].dz_std / sg[L - 1].dz_std;
    double ws = 0, wg = 0;
    for (int i = 0; i < H; i++) {
        const fanin__layer_stats *x = &s0[hw[i]];
        double scale = x->weight_std * sqrt((double)x->fan_in);
        ws += scale;
        wg += scale / fanin__act_gain(x->activation); /* NaN when a gain is unknown */
    }
    if (H) g->weight_scale0 = ws / H;
    g->weight_gain0 = H ? wg / H : NAN;
    for (int l = 0; l < L; l++) {
        if (isfinite(s0[l].saturated_frac))
            g->max_saturated = fmax(g->max_saturated, s0[l].saturated_frac);
        if (isfinite(s1[l].saturated_frac))
            g->max_saturated = fmax(g->max_saturated, s1[l].saturated_frac);
        if (l < L - 1 && isfinite(s1[l].dead_frac))
            g->max_dead = fmax(g->max_dead, s1[l].dead_frac);
    }
}

/* A zero weight layer inside a residual branch (Fixup's last branch layer). */
static bool zero_branch_layer(const fanin__layer_stats *s) {
    return s->block > 0 && fanin__verdict_has_weight(s) && s->weight_std == 0 &&
           !isfinite(s->update_ratio);
}

/* A hidden layer (more than one unit) whose units all stayed identical: rows identical at
 * iteration 0 and still at the last recorded iteration; or -1. Identical rows alone are not
 * symmetry: a zero layer's gradient rows dZ[:, r]^T A_prev differ as soon as its units' dZ
 * differ (a random next layer, or a residual branch whose units write to different
 * coordinates of the stream), so the first updates separate them. Those updates may come late:
 * a zero readout sends no gradient down at iteration 0, so rows can still be equal at
 * iteration 1. A last snapshot before SYM_SEEN cannot show that they stay equal; there a zero
 * layer inside a residual branch is not called symmetric (it is the identity by design). */
static int symmetric_layer(const fanin__run_view *r, const fanin__layer_stats *s0,
                           const fanin__layer_stats *s1) {
    for (int l = 0; l < r->n_layers - 1; l++) {
        if (!(s1[l].units > 1 && s0[l].row_spread <= SYMMETRIC && s1[l].row_spread <= SYMMETRIC))
            continue;
        if (s1[l].iteration < SYM_SEEN && zero_branch_layer(&s0[l])) continue;
        return l;
    }
    return -1;
}

static void symmetry(fanin__run_view *r, const fanin__layer_stats *s0, const fanin__layer_stats *s1,
                     int l) {
    r->flags |= FANIN_V_SYMMETRIC;
    fanin__verdict_say(
        r,
        "Symmetry never broken: all %d units of layer %d compute the same function (every row "
        "of W is identical from initialisation: a constant or zero init), so the layer acts as "
        "one unit. ",
        s1[l].units, l + 1);
    bool zero = true;
    for (int k = 0; k < r->n_layers - 1; k++)
        zero = zero && (!fanin__verdict_has_weight(&s1[k]) || s1[k].weight_std == 0) &&
               s1[k].grad_norm == 0 && s0[k].weight_std == 0;
    if (zero)
        fanin__verdict_say(
            r, "Every hidden weight is still exactly 0 and gets zero gradient: only the output "
               "bias learns, so the cost can only fall to the label entropy. ");
}

/* "Activations shrink x0.58 per layer from layer 2 (std 0.6 at layer 1, 0.07 at layer 5)";
 * for a residual net "The residual stream's std grows x1.7 per block (1 entering block 1,
 * 39 after block 8)". */
static void act_change(fanin__run_view *r, const fanin__layer_stats *s0) {
    const fanin__verdict_figs *g = &r->figs;
    char a[24], b[24], c[24];
    int hw[FANIN_VERDICT_MAX_LAYERS], H = hidden_weights(r, s0, hw);
    if (g->n_blocks > 0) {
        fanin__verdict_say(r,
                           "The residual stream's std %s x%s per block (x%s from entering "
                           "block 1 to after block %d). ",
                           g->act_factor0 < 1 ? "shrinks" : "grows",
                           fanin__verdict_num(a, g->act_factor0),
                           fanin__verdict_num(b, g->act_ratio0), g->n_blocks);
        return;
    }
    if (H < 2) return;
    fanin__verdict_say(r,
                       "Activations %s x%s per layer from layer %d (std %s at "
                       "layer %d, %s at layer %d). ",
                       g->act_factor0 < 1 ? "shrink" : "grow",
                       fanin__verdict_num(a, g->act_factor0), hw[1] + 1,
                       fanin__verdict_num(b, s0[hw[0]].act_std), hw[0] + 1,
                       fanin__verdict_num(c, s0[hw[H - 1]].act_std), hw[H - 1] + 1);
}

/* The cause of a change of scale: the residual sum for a residual stream, else the weights
 * or the activation (verdict_cause.c). */
static void cause(fanin__run_view *r, const fanin__layer_stats *s0, int dir, bool act) {
    if (act && r->figs.n_blocks > 0) fanin__verdict_stream_cause(r, dir);
    else fanin__verdict_cause(r, s0, dir);
}

static void vanishing(fanin__run_view *r, const fanin__layer_stats *s0) {
    const fanin__verdict_figs *g = &r->figs;
    char a[24];
    bool act = isfinite(g->act_factor0) &&
               (g->act_factor0 < SHRINK_FACTOR || g->act_ratio0 < SPAN_RATIO);
    bool grad = isfinite(g->grad_ratio0) && g->grad_ratio0 < GRAD_VANISH;
    if (!act && !grad) return;
    r->flags |= FANIN_V_VANISHING;
    if (act) act_change(r, s0);
    char when[32];
    if (isfinite(g->grad_ratio0))
        fanin__verdict_say(r,
                           "The back-propagated gradient at layer 1 is %s of "
                           "layer %d's%s. ",
                           fanin__verdict_num(a, g->grad_ratio0), r->n_layers,
                           grad_when(r, s0, when));
    fanin__verdict_say(r, "Vanishing %s: ",
                       grad                   ? "gradients"
                       : r->figs.n_blocks > 0 ? "residual stream"
                                              : "activations");
    cause(r, s0, -1, !grad);
}

/* The stream's std after the last block (its close's output). */
static double last_stream_std(const fanin__run_view *r, const fanin__layer_stats *s0) {
    for (int l = r->n_layers - 1; l >= 0; l--)
        if (!strcmp(s0[l].kind, "residual_close")) return s0[l].act_std;
    return NAN;
}

static void exploding(fanin__run_view *r, const fanin__layer_stats *s0) {
    const fanin__verdict_figs *g = &r->figs;
    char a[24];
    bool act = isfinite(g->act_factor0) &&
               (g->act_factor0 > GROW_FACTOR || g->act_ratio0 > 1 / SPAN_RATIO);
    bool grad = isfinite(g->grad_ratio0) && g->grad_ratio0 > GRAD_EXPLODE;
    if (!act && !grad) return;
    r->flags |= FANIN_V_EXPLODING;
    if (act) act_change(r, s0);
    char when[32];
    if (grad)
        fanin__verdict_say(r,
                           "The back-propagated gradient at layer 1 is %s "
                           "times layer %d's%s. ",
                           fanin__verdict_num(a, g->grad_ratio0), r->n_layers,
                           grad_when(r, s0, when));
    if (!grad && g->n_blocks > 0)
        fanin__verdict_say(r, "Exploding residual stream (std %s after block %d): ",
                           fanin__verdict_num(a, last_stream_std(r, s0)), g->n_blocks);
    else
        fanin__verdict_say(r, "Exploding %s (pre-activation std up to %s): ",
                           grad ? "gradients" : "activations",
                           fanin__verdict_num(a, s0[r->n_layers - 1].preact_std));
    cause(r, s0, 1, !grad);
}

/* A milder change of scale than vanishing or exploding, still never healthy: the per-layer
 * (per-block) activation-std factor outside [FANIN_LEVEL_LO, FANIN_LEVEL_HI] (x0.8 per layer
 * is x0.1 over 10 layers). */
static void drifting(fanin__run_view *r, const fanin__layer_stats *s0) {
    double f = r->figs.act_factor0;
    char a[24];
    if (!isfinite(f) || (f >= FANIN_LEVEL_LO && f <= FANIN_LEVEL_HI)) return;
    if (r->flags & (FANIN_V_VANISHING | FANIN_V_EXPLODING)) return; /* said already */
    r->flags |= f < 1 ? FANIN_V_SHRINKING : FANIN_V_GROWING;
    act_change(r, s0);
    bool blocks = r->figs.n_blocks > 0;
    if (blocks)
        fanin__verdict_say(r,
                           "That is outside the [%g, %g] per block that fanin calls level. %s "
                           "residual stream: ",
                           FANIN_LEVEL_LO, FANIN_LEVEL_HI, f < 1 ? "Shrinking" : "Growing");
    else
        fanin__verdict_say(r,
                           "That is x%s from the first hidden layer to the last, outside the "
                           "[%g, %g] per layer that fanin calls level. %s activations: ",
                           fanin__verdict_num(a, r->figs.act_ratio0), FANIN_LEVEL_LO,
                           FANIN_LEVEL_HI, f < 1 ? "Shrinking" : "Growing");
    cause(r, s0, f < 1 ? -1 : 1, true);
}

/* Bounded layers more than SATURATED saturated, at iteration 0 or the end: the first few by
 * name and place (a residual branch's layer names its block), then how many more. */
static void saturation(fanin__run_view *r, const fanin__layer_stats *s0,
                       const fanin__layer_stats *s1) {
    char a[24], where[96];
    int said = 0, more = 0;
    for (int l = 0; l < r->n_layers; l++) {
        const fanin__layer_stats *s = s0[l].saturated_frac >= s1[l].saturated_frac ? &s0[l]
                                                                                   : &s1[l];
        if (!(s->saturated_frac > SATURATED)) continue;
        r->flags |= FANIN_V_SATURATED;
        if (said++ >= 3) {
            more++;
            continue;
        }
        double lo, hi;
        fanin__act_bounds(s->activation, &lo, &hi);
        fanin__verdict_say(
            r,
            "Saturated %s units: %.0f%% of %s's outputs are "
            "within 1%% of %g or %g at iteration %lld (pre-activation std %s), where the "
            "derivative is nearly 0. ",
            s->activation, 100 * s->saturated_frac,
            fanin__verdict_where(r, s0, l, where, sizeof where), lo, hi, (long long)s->iteration,
            fanin__verdict_num(a, s->preact_std));
    }
    if (more)
        fanin__verdict_say(r, "So %s %d more layer%s. ", more > 1 ? "are" : "is", more,
                           more > 1 ? "s" : "");
    /* Glorot & Bengio 2010, fig. 2: the top sigmoid layer sinks towards 0, the others stay */
    int H = r->n_layers - 1;
    if (H >= 2 && !strcmp(s1[H - 1].activation, "sigmoid") && s1[H - 1].act_mean < SINK_MEAN &&
        s1[0].act_mean > 0.3) {
        r->flags |= FANIN_V_SATURATED;
        fanin__verdict_say(
            r,
            "The top hidden layer's sigmoid units sank towards 0 "
            "(mean %.2f) while layer 1 stays near 0.5 (mean %.2f): the saturation Glorot & "
            "Bengio 2010 describe. ",
            s1[H - 1].act_mean, s1[0].act_mean);
    }
}

/* The first hidden layer with more than DEAD of its units dead at the end, by name and place,
 * and in a residual net how many of the branches' layers are as dead. */
static void dead(fanin__run_view *r, const fanin__layer_stats *s1) {
    char where[96];
    int first = -1, in_branches = 0, branch_layers = 0;
    for (int l = 0; l < r->n_layers - 1; l++) {
        bool branch = s1[l].block > 0 && fanin__verdict_has_weight(&s1[l]);
        branch_layers += branch;
        if (!(s1[l].dead_frac > DEAD)) continue;
        in_branches += branch;
        if (first < 0) first = l;
    }
    if (first < 0) return;
    r->flags |= FANIN_V_DEAD;
    fanin__verdict_say(r,
                       "Dead units: %.0f%% of %s's %s units output 0 "
                       "on every example of the batch at the end; they get no gradient. ",
                       100 * s1[first].dead_frac,
                       fanin__verdict_where(r, s1, first, where, sizeof where),
                       s1[first].activation);
    if (in_branches > 1)
        fanin__verdict_say(r,
                           "Inside the residual branches, %d of %d layers have more than "
                           "%.0f%% dead units. ",
                           in_branches, branch_layers, 100 * DEAD);
}

/* The lowest logged loss, its iteration into *at. */
static double lowest_loss(const fanin__run_view *r, int64_t *at) {
    double best = INFINITY;
    for (int i = 0; i < r->n_metrics; i++)
        if (r->metrics[i].loss < best) best = r->metrics[i].loss, *at = r->metrics[i].iteration;
    return best;
}

/* The cost ended above where it started: rose, and diverged when it grew BLEW_UP times. */
static void rose(fanin__run_view *r) {
    const fanin__verdict_figs *g = &r->figs;
    char a[24];
    int64_t at = 0;
    double low = lowest_loss(r, &at), x = g->final_loss / g->initial_loss;
    r->flags |= FANIN_V_ROSE;
    if (x >= BLEW_UP) snprintf(a, sizeof a, "%.0f", x); /* x1354, not x1.4e+03 */
    else fanin__verdict_num(a, x);
    fanin__verdict_say(r, "The cost rose: %.4g -> %.4g (x%s", g->initial_loss, g->final_loss, a);
    if (low < STALLED * g->initial_loss)
        fanin__verdict_say(r, "; lowest %.4g at iteration %lld", low, (long long)at);
    fanin__verdict_say(r, "). ");
    if (x >= BLEW_UP)
        fanin__verdict_say(r, "The training diverged without reaching NaN: lower "
                              "the learning rate or the initial weights' scale. ");
}

/* The cost ended within 1% of where it started: it barely moved, or it fell on the way (by
 * more than DIPPED) and climbed back, which "barely moved" would misread. */
static void stalled(fanin__run_view *r) {
    const fanin__verdict_figs *g = &r->figs;
    int64_t at = 0;
    double low = lowest_loss(r, &at);
    r->flags |= FANIN_V_STALLED;
    if (low < DIPPED * g->initial_loss)
        fanin__verdict_say(r,
                           "The cost ended where it started, %.4f -> %.4f, after "
                           "falling to %.4g at iteration %lld: it climbed back. ",
                           g->initial_loss, g->final_loss, low, (long long)at);
    else
        fanin__verdict_say(r, "The cost barely moved: %.4f -> %.4f. ", g->initial_loss,
                           g->final_loss);
}

static void loss_sentence(fanin__run_view *r) {
    const fanin__verdict_figs *g = &r->figs;
    if (!isfinite(g->initial_loss) || !isfinite(g->final_loss)) return;
    if (g->final_loss > ROSE * g->initial_loss) {
        rose(r);
    } else if (g->final_loss > STALLED * g->initial_loss) {
        stalled(r);
    } else if (r->flags) {
        fanin__verdict_say(r, "The cost went %.4f -> %.4f. ", g->initial_loss, g->final_loss);
    }
}

/* The run's status is diverged: where the NaN or Inf appeared (diverged.txt), if known. */
static void diverged(fanin__run_view *r) {
    r->flags |= FANIN_V_DIVERGED;
    if (r->divergence[0])
        fanin__verdict_say(r,
                           "Diverged: %s; lower the learning rate or the "
                           "initial weights' scale. ",
                           r->divergence);
    else
        fanin__verdict_say(r,
                           "Diverged: the loss became NaN or Inf after %lld "
                           "iterations; lower the learning rate or the initial weights' scale. ",
                           (long long)r->iterations);
}

/* No rule fired: say so with the figures that show it. */
static void healthy(fanin__run_view *r, const fanin__layer_stats *s0) {
    char a[24], b[24], when[32];
    r->flags = FANIN_V_HEALTHY;
    fanin__verdict_say(r, "Healthy: ");
    if (isfinite(r->figs.act_factor0) && r->figs.n_blocks > 0)
        fanin__verdict_say(r,
                           "the residual stream's std changes x%s per block (x%s over %d "
                           "blocks), ",
                           fanin__verdict_num(a, r->figs.act_factor0),
                           fanin__verdict_num(b, r->figs.act_ratio0), r->figs.n_blocks);
    else if (isfinite(r->figs.act_factor0))
        fanin__verdict_say(r, "activation std changes x%s per layer, ",
                           fanin__verdict_num(a, r->figs.act_factor0));
    if (isfinite(r->figs.grad_ratio0))
        fanin__verdict_say(r, "the gradient at layer 1 is %s of the output layer's%s; ",
                           fanin__verdict_num(b, r->figs.grad_ratio0), grad_when(r, s0, when));
    fanin__verdict_say(r, "the cost went %.4f -> %.4f.", r->figs.initial_loss, r->figs.final_loss);
}

void fanin__verdict(fanin__run_view *r) {
    r->verdict[0] = 0;
    r->flags = 0;
    const fanin__layer_stats *s0 = fanin__run_stats_at(r, false),
                             *s1 = fanin__run_stats_at(r, true);
    figures(r, s0, s1);
    if (!strcmp(r->status, fanin__summary_status(FANIN_EDIVERGED))) diverged(r);
    if (!s0) {
        fanin__verdict_say(r, "No layer statistics were recorded.");
        return;
    }
    int sym = symmetric_layer(r, s0, s1);
    if (sym >= 0) symmetry(r, s0, s1, sym);
    else {
        readout_note(r, s0);
        vanishing(r, s0);
        exploding(r, s0);
        drifting(r, s0);
        saturation(r, s0, s1);
        dead(r, s1);
    }
    loss_sentence(r);
    if (!r->flags) healthy(r, s0);
    size_t n = strlen(r->verdict);
    while (n && r->verdict[n - 1] == ' ') r->verdict[--n] = 0;
}
