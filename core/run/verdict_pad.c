/* How much of a conv net's shrinking activations its zero padding explains. A border pixel of a
 * padded conv sees fewer non-zero inputs than an interior one, so its pre-activation variance is
 * smaller: with independent zero-mean weights, E[z(y,x)^2] = var(w) sum over the taps that fall
 * inside the input of E[a^2] there. On a uniform input that is the share of non-padded taps,
 * (valid taps / k^2), and the layer's mean is the mean of that share over the output pixels; on
 * small maps (7x7, 4x4) it is far from 1. Through a stack the border's deficit spreads inwards,
 * so the factor is propagated layer by layer: a profile of E[a^2] over the rows (the columns
 * are the same: square maps, the same padding), from uniform at the first hidden weight
 * layer's output. The geometry comes from layers.csv: a conv's channels, kernel, stride and pad
 * columns, its units (C * H * W) and fan_in (C_in * k * k). Documented in docs/diagnostics.md
 * ("The cause of a change of scale").
 */
#include "engine/diag.h"
#include "run/runset.h"
#include "run/verdict.h"

#include <math.h>
#include <string.h>

#define MAX_MAP 1024 /* rows of a map the profile follows */

/* The side of a square map of `cells` pixels, or 0. */
static int side(long cells) {
    long h = lround(sqrt((double)cells));
    return h > 0 && h * h == cells && h <= MAX_MAP ? (int)h : 0;
}

/* The mean of v[0..n). */
static double mean(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : NAN;
}

/* One conv's output profile: out[i] = (1/k) sum over the taps t with 0 <= i*s - lo + t < hin
 * of in[i*s - lo + t] (engine/conv.c's indexing; lo: layers.csv's pad, the zeros above). */
static void conv_profile(const double *in, int hin, const fanin__layer_stats *c, double *out,
                         int hout) {
    int k = c->kernel, s = c->stride > 0 ? c->stride : 1, lo = c->pad;
    for (int i = 0; i < hout; i++) {
        double sum = 0;
        for (int t = 0; t < k; t++) {
            int y = i * s - lo + t;
            if (y >= 0 && y < hin) sum += in[y];
        }
        out[i] = sum / k;
    }
}

double fanin__verdict_pad_ratio(const fanin__layer_stats *s0, int first, int last, int *map) {
    static double a[MAX_MAP], b[MAX_MAP];
    int h = 0, padded = 0;
    *map = 0;
    double ratio = 1;
    for (int l = 0; l <= last; l++) {
        if (strcmp(s0[l].kind, "conv2d")) {
            if (fanin__verdict_has_weight(&s0[l]) && l > first) h = 0; /* dense: mixes all */
            continue;
        }
        const fanin__layer_stats *x = &s0[l];
        int k2 = x->kernel * x->kernel;
        if (x->channels < 1 || k2 < 1 || x->units % x->channels || x->fan_in % k2) return NAN;
        int hout = side(x->units / x->channels);
        if (!hout) return NAN;
        if (l <= first) { /* the reference: uniform at the first hidden layer's output */
            for (int i = 0; i < hout; i++) a[i] = 1;
            h = hout;
            continue;
        }
        int cin = s0[l].fan_in / k2;
        int hin = l > 0 && cin > 0 && s0[l - 1].units % cin == 0 ? side(s0[l - 1].units / cin) : 0;
        if (!hin) return NAN;
        double m = h ? mean(a, h) : ratio;
        if (h != hin) /* a pool or a dense layer between: carry the mean only */
            for (int i = 0; i < hin; i++) a[i] = m;
        conv_profile(a, hin, x, b, hout);
        if (x->pad > 0) {
            padded++;
            *map = *map && *map < hin ? *map : hin;
        }
        memcpy(a, b, sizeof *a * (size_t)hout);
        h = hout;
        ratio = mean(a, h); /* the second moment's mean is mean(a)^2: the std's factor mean(a) */
        ratio = ratio > 0 ? ratio : NAN;
    }
    return padded ? ratio : 1;
}
