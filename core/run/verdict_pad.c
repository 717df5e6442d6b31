/* How much of a conv net's shrinking activations its zero padding explains. A border pixel of a
 * padded conv sees fewer non-zero inputs than an interior one, so its pre-activation variance is
 * smaller: with independent zero-mean weights, E[z(y,x)^2] = var(w) sum over the taps that fall
 * inside the input of E[a^2] there. On a uniform input that is the share of non-padded taps,
 * (valid taps / k^2), and the layer's mean is the mean of that share over the output pixels; on
 * small maps (7x7, 4x4) it is far from 1. Through a stack the border's deficit spreads inwards,
 * so the factor is propagated layer by layer: a profile of E[a^2] over the rows (the columns
 * are the same: square maps, the same padding), from uniform at the first hidden weight
 * layer's output. The geometry (channels, kernel, stride, padding) comes from the run's
 * resolved config.yaml; the map sizes from layers.csv's units (C * H * W) and fan_in (C_in *
 * k * k). Documented in docs/diagnostics.md ("The cause of a change of scale").
 */
#include "config/experiment.h"
#include "engine/diag.h"
#include "run/rundir.h"
#include "run/runset.h"
#include "run/verdict.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#define MAX_CONVS 4096
#define MAX_MAP 1024 /* rows of a map the profile follows */

typedef struct conv_geom {
    int channels, kernel, stride, padding; /* padding: FANIN_PAD_SAME, FANIN_PAD_VALID or n */
} conv_geom;

typedef struct item {
    int indent; /* of its "- " */
    bool residual, conv;
    int repeat;
    conv_geom g;
} item;

/* One "key: value" of a layer item into it. */
static void item_key(item *it, const char *k) {
    int v;
    char word[16];
    if (!strncmp(k, "type: residual", 14)) it->residual = true;
    else if (!strncmp(k, "type: conv2d", 12)) it->conv = true;
    else if (sscanf(k, "repeat: %d", &v) == 1) it->repeat = v;
    else if (sscanf(k, "channels: %d", &v) == 1) it->g.channels = v;
    else if (sscanf(k, "kernel: %d", &v) == 1) it->g.kernel = v;
    else if (sscanf(k, "stride: %d", &v) == 1) it->g.stride = v;
    else if (sscanf(k, "padding: %d", &v) == 1) it->g.padding = v;
    else if (sscanf(k, "padding: %15s", word) == 1)
        it->g.padding = !strcmp(word, "same") ? FANIN_PAD_SAME : FANIN_PAD_VALID;
}

/* The conv2d layers of the run's config.yaml (as fanin__experiment_write_yaml writes it: layers
 * expanded, each residual item once with its repeat), in network order, into g; how many, or
 * -1 when the file is missing or has more than cap. */
static int read_convs(const char *dir, conv_geom *g, int cap) {
    char path[FANIN_PATHLEN], line[512];
    FILE *f = fanin__rundir_path(path, dir, FANIN_RUNDIR_CONFIG) == FANIN_OK ? fopen(path, "r")
                                                                             : NULL;
    if (!f) return -1;
    static item items[MAX_CONVS];
    int n = 0;
    bool in_model = false;
    while (fgets(line, sizeof line, f) && n < MAX_CONVS) {
        int ind = (int)strspn(line, " ");
        if (ind == 0 && line[0] != '#' && line[0] != '\n') in_model = !strncmp(line, "model:", 6);
        if (!in_model || ind == 0) continue;
        const char *k = line + ind;
        if (!strncmp(k, "- ", 2)) {
            items[n++] = (item){.indent = ind, .repeat = 1, .g = {0, 0, 1, 0}};
            k += 2;
        }
        if (n) item_key(&items[n - 1], k);
    }
    fclose(f);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!items[i].residual) {
            if (items[i].conv && m < cap) g[m] = items[i].g;
            m += items[i].conv;
            continue;
        }
        int end = i + 1;
        while (end < n && items[end].indent > items[i].indent) end++;
        for (int b = 0; b < items[i].repeat; b++)
            for (int j = i + 1; j < end; j++) {
                if (items[j].conv && m < cap) g[m] = items[j].g;
                m += items[j].conv;
            }
        i = end - 1;
    }
    return m <= cap ? m : -1;
}

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
 * of in[i*s - lo + t] (engine/conv.c's indexing; 'same' pads (k - 1)/2 above). */
static void conv_profile(const double *in, int hin, const conv_geom *g, double *out, int hout) {
    int k = g->kernel, s = g->stride > 0 ? g->stride : 1;
    int lo = g->padding == FANIN_PAD_SAME ? (k - 1) / 2 : g->padding < 0 ? 0 : g->padding;
    for (int i = 0; i < hout; i++) {
        double sum = 0;
        for (int t = 0; t < k; t++) {
            int y = i * s - lo + t;
            if (y >= 0 && y < hin) sum += in[y];
        }
        out[i] = sum / k;
    }
}

double fanin__verdict_pad_ratio(const fanin__run_view *r, const fanin__layer_stats *s0, int first,
                                int last, int *map) {
    static conv_geom g[MAX_CONVS];
    static double a[MAX_MAP], b[MAX_MAP];
    int n = read_convs(r->dir, g, MAX_CONVS), c = 0, h = 0, padded = 0;
    *map = 0;
    if (n <= 0) return NAN;
    for (int l = 0; l < r->n_layers; l++) c += !strcmp(s0[l].kind, "conv2d");
    if (c != n) return NAN; /* the config does not describe these rows */
    c = 0;
    double ratio = 1;
    for (int l = 0; l <= last; l++) {
        if (strcmp(s0[l].kind, "conv2d")) {
            if (fanin__verdict_has_weight(&s0[l]) && l > first) h = 0; /* dense: mixes all */
            continue;
        }
        const conv_geom *x = &g[c++];
        int k2 = x->kernel * x->kernel;
        if (x->channels < 1 || k2 < 1 || s0[l].units % x->channels || s0[l].fan_in % k2) return NAN;
        int hout = side(s0[l].units / x->channels);
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
        if (x->padding != FANIN_PAD_VALID && x->padding != 0) {
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
