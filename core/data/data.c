/* Datasets: dispatch on data.source, normalisation and the one-line description. The readers
 * live in idx.c (IDX files, fashion-mnist), csv.c, hdf5.c and synthetic.c, the rules they share
 * in dataset.c, the checks of the files before reading in check.c; this file opens no files
 * itself.
 */
#include "data/data.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "data/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- normalisation ---- */

static void scale(float *x, int64_t n, float s) {
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

/* z = (x - mean) / std per feature, mean and population std (ddof 0, as scikit-learn's
 * StandardScaler) from the training rows only, so the test set leaks nothing into them.
 * A constant feature (std ~ 0) is only centred. */
static int standardize(fanin_dataset *d, char *err, size_t errlen) {
    int nf = d->n_features;
    if (d->n_train == 0 || nf == 0) return FANIN_OK;
    double *mean = calloc((size_t)nf * 2, sizeof(double));
    if (!mean) return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    double *sd = mean + nf;
    for (int64_t i = 0; i < d->n_train; i++)
        for (int j = 0; j < nf; j++) mean[j] += d->x_train[i * nf + j];
    for (int j = 0; j < nf; j++) mean[j] /= (double)d->n_train;
    for (int64_t i = 0; i < d->n_train; i++)
        for (int j = 0; j < nf; j++) {
            double dv = d->x_train[i * nf + j] - mean[j];
            sd[j] += dv * dv;
        }
    for (int j = 0; j < nf; j++) {
        sd[j] = sqrt(sd[j] / (double)d->n_train);
        if (!(sd[j] > 1e-12 * (1.0 + fabs(mean[j])))) sd[j] = 1.0;
    }
    for (int64_t i = 0; i < d->n_train; i++)
        for (int j = 0; j < nf; j++)
            d->x_train[i * nf + j] = (float)((d->x_train[i * nf + j] - mean[j]) / sd[j]);
    for (int64_t i = 0; i < d->n_test; i++)
        for (int j = 0; j < nf; j++)
            d->x_test[i * nf + j] = (float)((d->x_test[i * nf + j] - mean[j]) / sd[j]);
    free(mean);
    return FANIN_OK;
}

/* norm: spec->normalize, with FANIN_NORM_AUTO already decided by the reader. */
static int normalize(int norm, fanin_dataset *d, char *err, size_t errlen) {
    switch (norm) {
    case FANIN_NORM_NONE: return FANIN_OK;
    case FANIN_NORM_SCALE255:
        scale(d->x_train, d->n_train * d->n_features, 1.0f / 255.0f);
        scale(d->x_test, d->n_test * d->n_features, 1.0f / 255.0f);
        return FANIN_OK;
    case FANIN_NORM_STANDARDIZE: return standardize(d, err, errlen);
    default:
        return fanin__errf(err, errlen, FANIN_EINVAL, "data: unknown normalize value %d", norm);
    }
}

/* ---- loading ---- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Append to a fixed buffer, truncating quietly. */
static void appendf(char *buf, size_t len, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* "fashion-mnist classes [0, 6]: 2000 train / 1000 test, 784 features" */
static void describe(const fanin__data_spec *spec, int norm, fanin_dataset *d) {
    char list[FANIN_MAX_CLASSES * 12];
    size_t len = sizeof d->desc;
    d->desc[0] = '\0';
    if (!strcmp(spec->source, "idx")) appendf(d->desc, len, "idx %s", base_name(spec->images));
    else if (!strcmp(spec->source, "csv"))
        appendf(d->desc, len, "csv %s target '%s'", base_name(spec->path), spec->target);
    else if (!strcmp(spec->source, "synthetic"))
        appendf(d->desc, len, "synthetic %s (noise %g)", spec->kind, spec->noise);
    else if (!strcmp(spec->source, "hdf5"))
        appendf(d->desc, len, "hdf5 %s '%s'%s", base_name(spec->path), spec->x,
                spec->normalize != FANIN_NORM_AUTO ? ""
                : norm == FANIN_NORM_SCALE255      ? " (uint8: scale255)"
                                                   : " (not uint8: no scaling)");
    else appendf(d->desc, len, "%s", spec->source);
    fanin__data_classes_text(spec, list, sizeof list);
    if (list[0]) appendf(d->desc, len, " classes %s", list);
    appendf(d->desc, len, ": %lld train / %lld test, %d features", (long long)d->n_train,
            (long long)d->n_test, d->n_features);
    if (d->n_classes == 0) appendf(d->desc, len, ", regression target");
    else if (!list[0]) appendf(d->desc, len, ", %d classes", d->n_classes);
}

static int check_classes(const fanin__data_spec *spec, char *err, size_t errlen) {
    if (spec->n_classes_listed < 0 || spec->n_classes_listed > FANIN_MAX_CLASSES)
        return fanin__errf(err, errlen, FANIN_EINVAL, "data.classes: %d classes listed; at most %d",
                           spec->n_classes_listed, FANIN_MAX_CLASSES);
    for (int i = 0; i < spec->n_classes_listed; i++) {
        if (spec->classes[i] < 0)
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "data.classes: %d is not a class label (labels are 0, 1, ...)",
                               spec->classes[i]);
        for (int j = 0; j < i; j++)
            if (spec->classes[j] == spec->classes[i])
                return fanin__errf(err, errlen, FANIN_ECONFIG, "data.classes: %d is listed twice",
                                   spec->classes[i]);
    }
    return FANIN_OK;
}

static int dispatch(const fanin__data_spec *spec, uint64_t seed, fanin_dataset *d, int *norm,
                    char *err, size_t errlen) {
    static const char *const sources[] = {"fashion-mnist", "idx", "csv", "synthetic", "hdf5"};
    if (*norm == FANIN_NORM_AUTO && strcmp(spec->source, "hdf5"))
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: normalize auto is for source "
                           "hdf5; use none, scale255 or standardize");
    if (!strcmp(spec->source, "fashion-mnist") || !strcmp(spec->source, "idx"))
        return fanin__idx_load(spec, d, err, errlen);
    if (!strcmp(spec->source, "csv")) return fanin__csv_load(spec, d, err, errlen);
    if (!strcmp(spec->source, "synthetic"))
        return fanin__synthetic_load(spec, seed, d, err, errlen);
    if (!strcmp(spec->source, "hdf5")) return fanin__hdf5_load(spec, d, norm, err, errlen);
    const char *near = fanin__nearest(spec->source, sources, 5);
    return fanin__errf(err, errlen, FANIN_ECONFIG,
                       "data: unknown source '%s'%s%s%s (sources: fashion-mnist, idx, csv, "
                       "synthetic, hdf5)",
                       spec->source, near ? "; did you mean '" : "", near ? near : "",
                       near ? "'?" : "");
}

int fanin__data_load(const fanin__data_spec *spec, uint64_t seed, fanin_dataset **out, char *err,
                     size_t errlen) {
    *out = NULL;
    int rc = check_classes(spec, err, errlen);
    if (rc == FANIN_OK) rc = fanin__data_check_exist(spec, err, errlen);
    if (rc < 0) return rc;
    fanin_dataset *d = calloc(1, sizeof *d);
    if (!d) return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    int norm = spec->normalize;
    rc = dispatch(spec, seed, d, &norm, err, errlen);
    if (rc == FANIN_OK && d->shape.c == 0) /* csv, synthetic: vectors */
        d->shape = (fanin__data_shape){d->n_features, 1, 1};
    if (rc == FANIN_OK) rc = normalize(norm, d, err, errlen);
    if (rc < 0) {
        fanin__data_free(d);
        return rc;
    }
    describe(spec, norm, d);
    *out = d;
    return FANIN_OK;
}
