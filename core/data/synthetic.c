/* Synthetic datasets: the `synthetic` source: 2-D classification sets (spiral, moons, circles,
 * xor, blobs) and one regression set (linear_teacher). Everything is drawn from one Philox
 * stream (seed, layer 0, FANIN_STREAM_DATA): for the 2-D sets first the points in class order,
 * then one Fisher-Yates shuffle; the first `train` shuffled points are the training set, the
 * next `test` the test set. Same seed -> the same bytes.
 */
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "data/data.h"
#include "data/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

typedef struct synth_points {
    int64_t n;
    double *x; /* [n, 2] */
    int *y;    /* [n] */
} synth_points;

/* numpy.linspace(a, b, m, endpoint) element i */
static double linspace(double a, double b, int64_t m, int64_t i, int endpoint) {
    int64_t div = endpoint ? m - 1 : m;
    return div > 0 ? a + (b - a) * (double)i / (double)div : a;
}

/* Points per class: n / k each, the first n % k classes one more (as scikit-learn). */
static int64_t class_size(int64_t n, int k, int c) { return n / k + (c < n % k); }

static void add_noise(fanin_rng *r, synth_points *p, double noise) {
    for (int64_t i = 0; i < 2 * p->n; i++) p->x[i] += noise * fanin__rng_normal(r);
}

/* scikit-learn make_moons: n_out = n / 2 points on the upper unit half circle (class 0),
 * n_in = n - n_out on (1 - cos t, 0.5 - sin t) (class 1), t = linspace(0, pi); then
 * x += noise * N(0, 1). */
static void moons(fanin_rng *r, synth_points *p, double noise) {
    int64_t n_out = p->n / 2, n_in = p->n - n_out;
    for (int64_t i = 0; i < n_out; i++) {
        double t = linspace(0, PI, n_out, i, 1);
        p->x[2 * i] = cos(t);
        p->x[2 * i + 1] = sin(t);
        p->y[i] = 0;
    }
    for (int64_t i = 0; i < n_in; i++) {
        double t = linspace(0, PI, n_in, i, 1);
        p->x[2 * (n_out + i)] = 1 - cos(t);
        p->x[2 * (n_out + i) + 1] = 1 - sin(t) - 0.5;
        p->y[n_out + i] = 1;
    }
    add_noise(r, p, noise);
}

/* scikit-learn make_circles(factor=0.5): n_out = n / 2 points on the unit circle (class 0),
 * the rest on the circle of radius 0.5 (class 1), t = linspace(0, 2 pi, endpoint=False);
 * then x += noise * N(0, 1). */
static void circles(fanin_rng *r, synth_points *p, double noise) {
    int64_t n_out = p->n / 2, n_in = p->n - n_out;
    for (int64_t i = 0; i < p->n; i++) {
        int inner = i >= n_out;
        int64_t j = inner ? i - n_out : i;
        double t = linspace(0, 2 * PI, inner ? n_in : n_out, j, 0), rad = inner ? 0.5 : 1.0;
        p->x[2 * i] = rad * cos(t);
        p->x[2 * i + 1] = rad * sin(t);
        p->y[i] = inner;
    }
    add_noise(r, p, noise);
}

/* XOR: (u, v) uniform in [-1, 1]^2, label (u > 0) xor (v > 0), then noise * N(0, 1) added to
 * the coordinates (labels stay those of the clean point, so noise blurs the boundary). */
static void xor_(fanin_rng *r, synth_points *p, double noise) {
    for (int64_t i = 0; i < p->n; i++) {
        double u = 2 * fanin__rng_uniform01(r) - 1, v = 2 * fanin__rng_uniform01(r) - 1;
        p->x[2 * i] = u;
        p->x[2 * i + 1] = v;
        p->y[i] = (u > 0) != (v > 0);
    }
    add_noise(r, p, noise);
}

/* CS231n's spiral (Karpathy, "Putting it together: minimal neural network case study"):
 * arm c of k has N points, r = linspace(0, 1, N), theta = linspace(4c, 4(c + 1), N)
 * + noise * N(0, 1), x = (r sin theta, r cos theta). */
static void spiral(fanin_rng *r, synth_points *p, int k, double noise) {
    int64_t i = 0;
    for (int c = 0; c < k; c++) {
        int64_t m = class_size(p->n, k, c);
        for (int64_t j = 0; j < m; j++, i++) {
            double rad = linspace(0, 1, m, j, 1);
            double t = linspace(4.0 * c, 4.0 * (c + 1), m, j, 1) + noise * fanin__rng_normal(r);
            p->x[2 * i] = rad * sin(t);
            p->x[2 * i + 1] = rad * cos(t);
            p->y[i] = c;
        }
    }
}

/* scikit-learn make_blobs: k centres uniform in the box [-10, 10]^2 (drawn first), each
 * class N(centre, std^2 I) with std = 1 + noise (scikit-learn's cluster_std = 1 at noise 0). */
static void blobs(fanin_rng *r, synth_points *p, int k, double noise) {
    double centre[2 * FANIN_MAX_CLASSES];
    for (int c = 0; c < 2 * k; c++) centre[c] = -10 + 20 * fanin__rng_uniform01(r);
    int64_t i = 0;
    for (int c = 0; c < k; c++) {
        int64_t m = class_size(p->n, k, c);
        for (int64_t j = 0; j < m; j++, i++) {
            p->x[2 * i] = centre[2 * c] + (1 + noise) * fanin__rng_normal(r);
            p->x[2 * i + 1] = centre[2 * c + 1] + (1 + noise) * fanin__rng_normal(r);
            p->y[i] = c;
        }
    }
}

/* ---- linear_teacher: y = T x + noise ---- */

/* A linear teacher (Saxe et al. 2014, "Exact solutions to the nonlinear dynamics of learning in
 * deep linear neural networks", section 2): T [outputs, features] with N(0, 1/features) entries
 * (so each y component has variance ~1) drawn first, then per example x ~ N(0, I_features) and
 * y = T x + noise * N(0, 1) per output. Examples are i.i.d., so no shuffle: the first `train`
 * are the training set, the next `test` the test set. Regression: n_classes 0, y_dim outputs. */
static int linear_teacher(const fanin__data_spec *spec, uint64_t seed, fanin_dataset *d, char *err,
                          size_t errlen) {
    int nf = spec->features > 0 ? spec->features : 32;
    int no = spec->outputs > 0 ? spec->outputs : nf;
    int64_t n_train, n_test;
    if (!(spec->noise >= 0) || !isfinite(spec->noise))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: synthetic noise = %g; use a finite value >= 0", spec->noise);
    int rc = fanin__data_split_sizes(spec, spec->n, "examples", "the generated set has", &n_train,
                                     &n_test, err, errlen);
    if (rc == FANIN_OK) rc = fanin__data_alloc(d, n_train, n_test, nf, no, err, errlen);
    double *T = rc == FANIN_OK ? malloc(sizeof(double) * (size_t)nf * (size_t)no) : NULL;
    if (rc == FANIN_OK && !T)
        rc = fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory for the teacher");
    if (rc < 0) return rc;
    fanin_rng r;
    fanin__rng_init(&r, seed, 0, FANIN_STREAM_DATA);
    for (size_t i = 0; i < (size_t)nf * (size_t)no; i++) T[i] = fanin__rng_normal(&r) / sqrt(nf);
    for (int64_t j = 0; j < n_train + n_test; j++) {
        float *x = j < n_train ? d->x_train + j * nf : d->x_test + (j - n_train) * nf;
        float *y = j < n_train ? d->y_train + j * no : d->y_test + (j - n_train) * no;
        for (int k = 0; k < nf; k++) x[k] = (float)fanin__rng_normal(&r);
        for (int o = 0; o < no; o++) {
            double v = spec->noise * fanin__rng_normal(&r);
            for (int k = 0; k < nf; k++) v += T[(size_t)o * nf + k] * x[k];
            y[o] = (float)v;
        }
    }
    free(T);
    d->n_classes = 0;
    return FANIN_OK;
}

/* ---- checks, shuffling, the split ---- */

static int check(const fanin__data_spec *spec, int *k, char *err, size_t errlen) {
    static const char *const kinds[] = {"spiral", "moons", "circles",
                                        "xor",    "blobs", "linear_teacher"};
    int fixed = !strcmp(spec->kind, "moons") || !strcmp(spec->kind, "circles") ||
                !strcmp(spec->kind, "xor");
    if (!fixed && strcmp(spec->kind, "spiral") && strcmp(spec->kind, "blobs")) {
        const char *near = fanin__nearest(spec->kind, kinds, 6);
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: unknown synthetic kind '%s'%s%s%s (kinds: spiral, moons, "
                           "circles, xor, blobs, linear_teacher)",
                           spec->kind, near ? "; did you mean '" : "", near ? near : "",
                           near ? "'?" : "");
    }
    *k = spec->n_synth_classes > 0 ? spec->n_synth_classes : 2;
    if (fixed && *k != 2)
        return fanin__errf(err, errlen, FANIN_ECONFIG, "data: synthetic '%s' has 2 classes, not %d",
                           spec->kind, *k);
    if (*k < 2 || *k > FANIN_MAX_CLASSES)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: synthetic '%s' with %d classes; use 2 to %d", spec->kind, *k,
                           FANIN_MAX_CLASSES);
    if (spec->n < *k || spec->n > (int64_t)1 << 31)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: synthetic n = %lld; use %d to 2^31 points", (long long)spec->n,
                           *k);
    if (!(spec->noise >= 0) || !isfinite(spec->noise))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: synthetic noise = %g; use a finite value >= 0", spec->noise);
    return FANIN_OK;
}

static void generate(fanin_rng *r, const fanin__data_spec *spec, int k, synth_points *p) {
    if (!strcmp(spec->kind, "moons")) moons(r, p, spec->noise);
    else if (!strcmp(spec->kind, "circles")) circles(r, p, spec->noise);
    else if (!strcmp(spec->kind, "xor")) xor_(r, p, spec->noise);
    else if (!strcmp(spec->kind, "spiral")) spiral(r, p, k, spec->noise);
    else blobs(r, p, k, spec->noise);
}

/* Shuffled points kept by data.classes go, in order, to train then test. */
static int fill(const fanin__data_spec *spec, const synth_points *p, const int64_t *order, int k,
                fanin_dataset *d, char *err, size_t errlen) {
    int64_t avail = 0, n_train, n_test, j = 0;
    for (int64_t i = 0; i < p->n; i++) avail += fanin__data_class_index(spec, p->y[i]) >= 0;
    char have[64];
    snprintf(have, sizeof have, "the generated set (data.n = %lld) has", (long long)p->n);
    int rc = fanin__data_split_sizes(spec, avail, "points", have, &n_train, &n_test, err, errlen);
    if (rc == FANIN_OK) rc = fanin__data_alloc(d, n_train, n_test, 2, 1, err, errlen);
    for (int64_t i = 0; rc == FANIN_OK && i < p->n && j < n_train + n_test; i++) {
        int64_t src = order[i];
        int c = fanin__data_class_index(spec, p->y[src]);
        if (c < 0) continue;
        float *x = j < n_train ? d->x_train + 2 * j : d->x_test + 2 * (j - n_train);
        float *y = j < n_train ? d->y_train + j : d->y_test + (j - n_train);
        x[0] = (float)p->x[2 * src];
        x[1] = (float)p->x[2 * src + 1];
        *y = (float)c;
        j++;
    }
    d->n_classes = spec->n_classes_listed ? spec->n_classes_listed : k;
    return rc;
}

int fanin__synthetic_load(const fanin__data_spec *spec, uint64_t seed, fanin_dataset *d, char *err,
                          size_t errlen) {
    if (!strcmp(spec->kind, "linear_teacher")) return linear_teacher(spec, seed, d, err, errlen);
    int k = 0;
    int rc = check(spec, &k, err, errlen);
    if (rc < 0) return rc;
    synth_points p = {.n = spec->n};
    p.x = malloc(sizeof(double) * 2 * (size_t)p.n);
    p.y = malloc(sizeof(int) * (size_t)p.n);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)p.n);
    if (!p.x || !p.y || !order) {
        rc = fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory for %lld points",
                         (long long)p.n);
    } else {
        fanin_rng r;
        fanin__rng_init(&r, seed, 0, FANIN_STREAM_DATA);
        generate(&r, spec, k, &p);
        for (int64_t i = 0; i < p.n; i++) order[i] = i;
        fanin__rng_shuffle(&r, order, p.n);
        rc = fill(spec, &p, order, k, d, err, errlen);
    }
    free(p.x);
    free(p.y);
    free(order);
    return rc;
}
