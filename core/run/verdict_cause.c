/* Who is to blame when the activations or gradients change scale from layer to layer: the
 * weights, when weight std x sqrt(fan_in) is off from the activation's gain, or else the
 * activation itself (sigmoid's derivative bound and mean), or a narrow layer's single draw.
 * The gains of the built-in activations live here. The rules that call it: verdict.c;
 * documented in docs/diagnostics.md ("The cause of a change of scale").
 */
#include "engine/diag.h"
#include "run/runset.h"
#include "run/verdict.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#define NARROW 32     /* a hidden layer with fewer units: its one draw of W is noisy */
#define PAD_SAYS 0.99 /* zero padding shrinking the std by more per layer: say its share */

/* The built-in activation plugins' gains at their default parameters (plugins/activations/):
 * PyTorch's torch.nn.init.calculate_gain where it defines one (linear, sigmoid 1, tanh 5/3,
 * relu sqrt 2, leaky_relu sqrt(2/(1+0.01^2)), selu 3/4), else 1/sqrt(E[f(z)^2]) for z ~ N(0,1)
 * (act_common.h; He et al. 2015, eq. 10, gives relu's sqrt 2 the same way). layers.csv names
 * the activation but not its parameters: another slope or `gain:` is judged at the default. */
static const struct {
    const char *name;
    double gain;
} gains[] = {
    {"linear", 1},
    {"sigmoid", 1},
    {"tanh", 5.0 / 3},
    {"relu", 1.4142136},
    {"leaky_relu", 1.4141429},
    {"relu6", 1.4142},
    {"selu", 0.75},
    {"elu", 1.2452},
    {"gelu", 1.5335},
    {"silu", 1.6765},
    {"swish", 1.6765},
    {"mish", 1.4868},
    {"softplus", 1.0419},
    {"softsign", 2.3375},
    {"hard_tanh", 1.3920},
    {"hard_sigmoid", 1.8978},
};

double fanin__act_gain(const char *activation) {
    for (size_t i = 0; i < sizeof gains / sizeof gains[0]; i++)
        if (!strcmp(gains[i].name, activation)) return gains[i].gain;
    return NAN;
}

/* What the activation itself does to the signal's scale, for activations known to shrink it
 * whatever the weights: "" for the others. */
static const char *act_note(const char *act) {
    if (!strcmp(act, "sigmoid"))
        return "sigmoid's derivative is at most 1/4, so each layer passes back at most a quarter "
               "of the gradient, and its outputs have mean ~0.5, not 0, which shifts the next "
               "layer's pre-activations (Glorot & Bengio 2010, sec. 3; LeCun et al. 1998)";
    if (!strcmp(act, "hard_sigmoid"))
        return "hard_sigmoid's derivative is at most 1/6, and its outputs have mean ~0.5, not 0";
    if (!strcmp(act, "softplus"))
        return "softplus's outputs are all positive (mean not 0), which shifts the next layer's "
               "pre-activations";
    return "";
}

/* The fewest units of a hidden dense layer (0: none). A conv's units are C * H * W, not a
 * width, and a pool's or norm's draw no weight. */
static int narrowest(const fanin__run_view *r, const fanin__layer_stats *s0) {
    int n = 0;
    for (int l = 0; l < r->n_layers - 1; l++)
        if (fanin__verdict_has_weight(&s0[l]) && strcmp(s0[l].kind, "conv2d") &&
            (!n || s0[l].units < n))
            n = s0[l].units;
    return n;
}

/* The first and last hidden weight rows into *first, *last; how many hidden weight layers. */
static int hidden_span(const fanin__run_view *r, const fanin__layer_stats *s0, int *first,
                       int *last) {
    int n = 0, prev = -1;
    *first = *last = -1;
    for (int l = 0; l < r->n_layers; l++) {
        if (!fanin__verdict_has_weight(&s0[l])) continue;
        if (n++ == 0) *first = l;
        *last = prev; /* every weight layer but the network's last */
        prev = l;
    }
    return n > 0 ? n - 1 : 0;
}

/* Shrinking activations in a padded conv net: the share zero padding explains, per layer.
 * Returns the factor left to the weights and the activation (the measured one when padding
 * explains nothing or the geometry is unknown). */
static double padding_share(fanin__run_view *r, const fanin__layer_stats *s0) {
    double f = r->figs.act_factor0;
    int first, last, map, H = hidden_span(r, s0, &first, &last);
    if (!(f < 1) || r->figs.n_blocks > 0 || H < 2) return f;
    double p = fanin__verdict_pad_ratio(s0, first, last, &map);
    double per = pow(p, 1.0 / (H - 1));
    if (!(per < PAD_SAYS)) return f;
    char a[24], b[24], c[24];
    fanin__verdict_say(r,
                       "zero padding on small maps (down to %dx%d) accounts for x%s per layer "
                       "of the shrinking (x%s from layer %d to layer %d: a border pixel sees "
                       "fewer non-zero inputs; expected from the convs' geometry); the rest is x%s "
                       "per layer",
                       map, map, fanin__verdict_num(a, per), fanin__verdict_num(b, p), first + 1,
                       last + 1, fanin__verdict_num(c, f / per));
    return f / per;
}

/* The blamed weights: too small (dir < 0) or too large for their fan-in and activation; a
 * bounded activation's gradients vanish when it is too large (its units saturate). */
static void blame_weights(fanin__run_view *r, const char *act, bool small, int dir) {
    char a[24], b[24];
    fanin__verdict_num(a, r->figs.weight_scale0);
    fanin__verdict_num(b, fanin__act_gain(act));
    fanin__verdict_say(r,
                       "the weights' variance is too %s for their fan-in (weight std x "
                       "sqrt(fan_in) = %s where %s keeps the scale: %s's gain%s)%s",
                       small ? "small" : "large", a, b, act,
                       !strcmp(act, "relu") ? ", He et al. 2015" : "",
                       !small && dir < 0 ? ", so the bounded units saturate, where the "
                                           "derivative is ~0"
                                         : "");
    const char *note = act_note(act);
    fanin__verdict_say(r, "%s%s. ", *note ? "; besides, " : "", note);
}

/* The weights are scaled for their activation: blame the activation (act_note), or, for one
 * with nothing to blame, a narrow layer's single draw of W or the input and biases. */
static void blame_other(fanin__run_view *r, const fanin__layer_stats *s0, const char *act) {
    char a[24], b[24];
    const char *note = act_note(act);
    fanin__verdict_num(a, r->figs.weight_scale0);
    fanin__verdict_num(b, fanin__act_gain(act));
    if (*note) {
        fanin__verdict_say(r,
                           "not the weights (weight std x sqrt(fan_in) = %s, %s's gain is %s) "
                           "but the activation: %s. ",
                           a, act, b, note);
        return;
    }
    fanin__verdict_say(r,
                       "not the weights' scale (weight std x sqrt(fan_in) = %s, %s's gain is "
                       "%s); ",
                       a, act, b);
    int narrow = narrowest(r, s0);
    if (narrow > 0 && narrow < NARROW)
        fanin__verdict_say(r,
                           "with layers as narrow as %d units, one draw of W scales the "
                           "signal by more or less than on average (sweep seed to see how "
                           "much). ",
                           narrow);
    else fanin__verdict_say(r, "look at the input's scale and the biases. ");
}

/* The weights are to blame when weight std x sqrt(fan_in) / gain is outside [FANIN_LEVEL_LO,
 * FANIN_LEVEL_HI] in the symptom's direction, or too large for a bounded activation; else the
 * activation or, failing that, neither. Unknown gain: no blame. */
void fanin__verdict_cause(fanin__run_view *r, const fanin__layer_stats *s0, int dir) {
    const char *act = s0[0].activation;
    double q = r->figs.weight_gain0, lo, hi;
    char a[24];
    if (!isfinite(r->figs.weight_scale0)) { /* no weight to judge (e.g. a zero classifier) */
        fanin__verdict_say(r, "the weights' scale could not be measured at iteration 0, so "
                              "fanin cannot tell whether the weights or the activation are to "
                              "blame. ");
        return;
    }
    if (!isfinite(q)) {
        fanin__verdict_say(r,
                           "weight std x sqrt(fan_in) = %s, but fanin knows no gain for %s, "
                           "so it cannot tell whether the weights or the activation are to "
                           "blame. ",
                           fanin__verdict_num(a, r->figs.weight_scale0), act);
        return;
    }
    double rest = dir < 0 ? padding_share(r, s0) : r->figs.act_factor0;
    bool padded = rest != r->figs.act_factor0, level = padded && rest >= FANIN_LEVEL_LO;
    bool small = dir < 0 && q < FANIN_LEVEL_LO;
    bool large = q > FANIN_LEVEL_HI && (dir > 0 || fanin__act_bounds(act, &lo, &hi));
    if (padded) fanin__verdict_say(r, level ? ", level. " : ", and for that ");
    if (small || large) {
        if (level) fanin__verdict_say(r, "Besides, ");
        blame_weights(r, act, small, dir);
    } else if (!level) blame_other(r, s0, act);
}
