/* The verdict in words: a few plain sentences about a finished run, from its per-layer
 * statistics at iteration 0 and at the end (layers.csv) and its loss curve. The rules and their
 * thresholds are documented in docs/diagnostics.md; keep the two in step.
 */
#include "engine/diag.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

/* thresholds (docs/diagnostics.md, "The verdict") */
#define SHRINK_FACTOR 0.5   /* per-layer activation-std factor below this: shrinking */
#define GROW_FACTOR 2.0     /* above this: growing */
#define SPAN_RATIO 1e-2     /* last/first hidden activation std below this: collapsed */
#define GRAD_VANISH 1e-3    /* dL/dZ std at layer 1 / output layer below this: vanishing */
#define GRAD_EXPLODE 1e3    /* above this: exploding */
#define SATURATED 0.5       /* a bounded layer with more outputs near a bound: saturated */
#define DEAD 0.5            /* a hidden layer with more units zero on the whole batch: dead */
#define SYMMETRIC 1e-6      /* relative spread of W's rows below this: every unit the same */
#define STALLED 0.99        /* final loss above this fraction of the initial one: stalled */
#define SINK_MEAN 0.1       /* a sigmoid layer's mean activation below this: sank towards 0 */
#define TO_LOSS 0.01        /* "iterations to 1% of the initial loss" (Saxe et al. 2014) */

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
    default: return "?";
    }
}

const fanin__layer_stats *fanin__run_stats_at(const fanin__run_view *r, bool last) {
    if (r->n_stats < r->n_layers || r->n_layers < 1) return NULL;
    /* rows come in blocks of n_layers, in iteration order */
    int at = last ? r->n_stats - r->n_layers : 0;
    return &r->stats[at - at % r->n_layers];
}

static void say(char *buf, size_t len, const char *fmt, ...) {
    size_t u = strlen(buf);
    if (u + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + u, len - u, fmt, ap);
    va_end(ap);
}

/* "1e-07", "0.03", "2.4": short numbers for sentences */
static const char *fmt_num(char *b, double v) {
    if (!isfinite(v)) snprintf(b, 24, "n/a");
    else if (v != 0 && (fabs(v) < 1e-3 || fabs(v) >= 1e4)) snprintf(b, 24, "%.0e", v);
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

static void figures(fanin__run_view *r, const fanin__layer_stats *s0, const fanin__layer_stats *s1) {
    fanin__verdict_figs *g = &r->figs;
    int L = r->n_layers, H = L - 1; /* hidden layers: 1..H */
    g->initial_loss = r->n_metrics ? r->metrics[0].loss : NAN;
    g->final_loss = r->final_loss;
    g->iters_to_1pct = iters_to(r);
    g->act_factor0 = g->act_ratio0 = g->grad_ratio0 = g->weight_scale0 = NAN;
    g->max_saturated = g->max_dead = 0;
    if (!s0) return;
    if (H >= 2 && s0[0].act_std > 0) {
        g->act_ratio0 = s0[H - 1].act_std / s0[0].act_std;
        g->act_factor0 = pow(g->act_ratio0, 1.0 / (H - 1));
    }
    if (s0[L - 1].dz_std > 0) g->grad_ratio0 = s0[0].dz_std / s0[L - 1].dz_std;
    double ws = 0;
    for (int l = 0; l < H; l++) ws += s0[l].weight_std * sqrt((double)s0[l].fan_in);
    if (H) g->weight_scale0 = ws / H;
    for (int l = 0; l < L; l++) {
        if (isfinite(s0[l].saturated_frac)) g->max_saturated = fmax(g->max_saturated, s0[l].saturated_frac);
        if (isfinite(s1[l].saturated_frac)) g->max_saturated = fmax(g->max_saturated, s1[l].saturated_frac);
        if (l < H) g->max_dead = fmax(g->max_dead, s1[l].dead_frac);
    }
}

/* A hidden layer (more than one unit) whose units all stayed identical, or -1. */
static int symmetric_layer(const fanin__run_view *r, const fanin__layer_stats *s0,
                           const fanin__layer_stats *s1) {
    for (int l = 0; l < r->n_layers - 1; l++)
        if (s1[l].units > 1 && s0[l].row_spread <= SYMMETRIC && s1[l].row_spread <= SYMMETRIC)
            return l;
    return -1;
}

static void symmetry(fanin__run_view *r, const fanin__layer_stats *s0, const fanin__layer_stats *s1,
                     int l) {
    r->flags |= FANIN_V_SYMMETRIC;
    say(r->verdict, sizeof r->verdict,
        "Symmetry never broken: all %d units of layer %d compute the same function (every row "
        "of W is identical from initialisation: a constant or zero init), so the layer acts as "
        "one unit. ", s1[l].units, l + 1);
    bool zero = true;
    for (int k = 0; k < r->n_layers - 1; k++)
        zero = zero && s1[k].weight_std == 0 && s1[k].grad_norm == 0 && s0[k].weight_std == 0;
    if (zero)
        say(r->verdict, sizeof r->verdict,
            "Every hidden weight is still exactly 0 and gets zero gradient: only the output "
            "bias learns, so the cost can only fall to the label entropy. ");
}

static void vanishing(fanin__run_view *r, const fanin__layer_stats *s0) {
    const fanin__verdict_figs *g = &r->figs;
    char a[24], b[24], c[24];
    int L = r->n_layers;
    bool act = isfinite(g->act_factor0) && (g->act_factor0 < SHRINK_FACTOR || g->act_ratio0 < SPAN_RATIO);
    bool grad = isfinite(g->grad_ratio0) && g->grad_ratio0 < GRAD_VANISH;
    if (!act && !grad) return;
    r->flags |= FANIN_V_VANISHING;
    if (act)
        say(r->verdict, sizeof r->verdict, "Activations shrink x%s per layer from layer 2 "
            "(std %s at layer 1, %s at layer %d). ", fmt_num(a, g->act_factor0),
            fmt_num(b, s0[0].act_std), fmt_num(c, s0[L - 2].act_std), L - 1);
    if (isfinite(g->grad_ratio0))
        say(r->verdict, sizeof r->verdict, "The back-propagated gradient at layer 1 is %s of "
            "layer %d's. ", fmt_num(a, g->grad_ratio0), L);
    say(r->verdict, sizeof r->verdict, "Vanishing %s: the weights' variance is too small for "
        "their fan-in (weight std x sqrt(fan_in) = %s; 1 keeps the scale", grad ? "gradients" :
        "activations", fmt_num(a, g->weight_scale0));
    say(r->verdict, sizeof r->verdict, !strcmp(s0[0].activation, "relu") ?
        ", and ReLU halves the variance, so it needs sqrt(2): He et al. 2015). " : "). ");
}

static void exploding(fanin__run_view *r, const fanin__layer_stats *s0) {
    const fanin__verdict_figs *g = &r->figs;
    char a[24], b[24];
    bool act = isfinite(g->act_factor0) && (g->act_factor0 > GROW_FACTOR || g->act_ratio0 > 1 / SPAN_RATIO);
    bool grad = isfinite(g->grad_ratio0) && g->grad_ratio0 > GRAD_EXPLODE;
    if (!act && !grad) return;
    r->flags |= FANIN_V_EXPLODING;
    if (act)
        say(r->verdict, sizeof r->verdict, "Activations grow x%s per layer from layer 2. ",
            fmt_num(a, g->act_factor0));
    if (grad)
        say(r->verdict, sizeof r->verdict, "The back-propagated gradient at layer 1 is %s "
            "times layer %d's. ", fmt_num(a, g->grad_ratio0), r->n_layers);
    say(r->verdict, sizeof r->verdict, "Exploding %s: the weights' variance is too large for "
        "their fan-in (weight std x sqrt(fan_in) = %s; pre-activation std up to %s). ",
        grad ? "gradients" : "activations", fmt_num(a, g->weight_scale0),
        fmt_num(b, s0[r->n_layers - 1].preact_std));
}

static void saturation(fanin__run_view *r, const fanin__layer_stats *s0, const fanin__layer_stats *s1) {
    char a[24];
    for (int l = 0; l < r->n_layers; l++) {
        const fanin__layer_stats *s = s0[l].saturated_frac >= s1[l].saturated_frac ? &s0[l] : &s1[l];
        if (!(s->saturated_frac > SATURATED)) continue;
        r->flags |= FANIN_V_SATURATED;
        double lo, hi;
        fanin__act_bounds(s->activation, &lo, &hi);
        say(r->verdict, sizeof r->verdict, "Saturated %s units: %.0f%% of layer %d's outputs are "
            "within 1%% of %g or %g at iteration %lld (pre-activation std %s), where the "
            "derivative is nearly 0. ", s->activation, 100 * s->saturated_frac, l + 1, lo, hi,
            (long long)s->iteration, fmt_num(a, s->preact_std));
    }
    /* Glorot & Bengio 2010, fig. 2: the top sigmoid layer sinks towards 0, the others stay */
    int H = r->n_layers - 1;
    if (H >= 2 && !strcmp(s1[H - 1].activation, "sigmoid") && s1[H - 1].act_mean < SINK_MEAN &&
        s1[0].act_mean > 0.3) {
        r->flags |= FANIN_V_SATURATED;
        say(r->verdict, sizeof r->verdict, "The top hidden layer's sigmoid units sank towards 0 "
            "(mean %.2f) while layer 1 stays near 0.5 (mean %.2f): the saturation Glorot & "
            "Bengio 2010 describe. ", s1[H - 1].act_mean, s1[0].act_mean);
    }
}

static void dead(fanin__run_view *r, const fanin__layer_stats *s1) {
    for (int l = 0; l < r->n_layers - 1; l++) {
        if (!(s1[l].dead_frac > DEAD)) continue;
        r->flags |= FANIN_V_DEAD;
        say(r->verdict, sizeof r->verdict, "Dead units: %.0f%% of layer %d's %s units output 0 "
            "on every example of the batch at the end; they get no gradient. ",
            100 * s1[l].dead_frac, l + 1, s1[l].activation);
        return;
    }
}

static void loss_sentence(fanin__run_view *r) {
    const fanin__verdict_figs *g = &r->figs;
    if (!isfinite(g->initial_loss) || !isfinite(g->final_loss)) return;
    if (g->final_loss > STALLED * g->initial_loss) {
        r->flags |= FANIN_V_STALLED;
        say(r->verdict, sizeof r->verdict, "The cost barely moved: %.4f -> %.4f. ",
            g->initial_loss, g->final_loss);
    } else if (r->flags) {
        say(r->verdict, sizeof r->verdict, "The cost went %.4f -> %.4f. ", g->initial_loss,
            g->final_loss);
    }
}

void fanin__verdict(fanin__run_view *r) {
    r->verdict[0] = 0;
    r->flags = 0;
    const fanin__layer_stats *s0 = fanin__run_stats_at(r, false), *s1 = fanin__run_stats_at(r, true);
    figures(r, s0, s1);
    if (!strcmp(r->status, "diverged")) {
        r->flags |= FANIN_V_DIVERGED;
        if (r->divergence[0])
            say(r->verdict, sizeof r->verdict, "Diverged: %s; lower the learning rate or the "
                "initial weights' scale. ", r->divergence);
        else
            say(r->verdict, sizeof r->verdict, "Diverged: the loss became NaN or Inf after %lld "
                "iterations; lower the learning rate or the initial weights' scale. ",
                (long long)r->iterations);
    }
    if (!s0) {
        say(r->verdict, sizeof r->verdict, "No layer statistics were recorded.");
        return;
    }
    int sym = symmetric_layer(r, s0, s1);
    if (sym >= 0) symmetry(r, s0, s1, sym);
    else {
        vanishing(r, s0);
        exploding(r, s0);
        saturation(r, s0, s1);
        dead(r, s1);
    }
    loss_sentence(r);
    if (!r->flags) {
        char a[24], b[24];
        r->flags = FANIN_V_HEALTHY;
        say(r->verdict, sizeof r->verdict, "Healthy: ");
        if (isfinite(r->figs.act_factor0))
            say(r->verdict, sizeof r->verdict, "activation std changes x%s per layer, ",
                fmt_num(a, r->figs.act_factor0));
        say(r->verdict, sizeof r->verdict, "the gradient at layer 1 is %s of the output "
            "layer's; the cost went %.4f -> %.4f.", fmt_num(b, r->figs.grad_ratio0),
            r->figs.initial_loss, r->figs.final_loss);
    }
    size_t n = strlen(r->verdict);
    while (n && r->verdict[n - 1] == ' ') r->verdict[--n] = 0;
}
