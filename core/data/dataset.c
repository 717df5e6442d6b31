/* The rules every reader shares: class subset and relabelling, train/test split sizes, the
 * dataset's allocation and release, and where Fashion-MNIST's files are. Called by the readers,
 * never calling them. */
#include "data/dataset.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"

#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fanin__data_class_index(const fanin__data_spec *spec, long label) {
    if (spec->n_classes_listed == 0) return label >= 0 && label <= INT_MAX ? (int)label : -1;
    for (int i = 0; i < spec->n_classes_listed; i++)
        if (spec->classes[i] == label) return i;
    return -1;
}

void fanin__data_classes_text(const fanin__data_spec *spec, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    if (spec->n_classes_listed == 0) return;
    used += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < spec->n_classes_listed && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? ", " : "", spec->classes[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

/* " of classes [0, 6]" or "" (for "asked for N training examples of classes [0, 6]"). */
static void of_classes(const fanin__data_spec *spec, char *buf, size_t len) {
    char list[FANIN_MAX_CLASSES * 12];
    fanin__data_classes_text(spec, list, sizeof list);
    snprintf(buf, len, "%s%s", list[0] ? " of classes " : "", list);
}

int fanin__data_split_sizes(const fanin__data_spec *spec, int64_t avail, const char *unit,
                            const char *have, int64_t *n_train, int64_t *n_test, char *err,
                            size_t errlen) {
    char of[FANIN_MAX_CLASSES * 12 + 16];
    int64_t tr = spec->train, te = spec->test;
    of_classes(spec, of, sizeof of);
    if (tr < 0 && te < 0) {
        tr = avail * 4 / 5; /* the conventional 80/20 split */
        te = avail - tr;
    } else if (tr < 0) {
        if (te > avail)
            return fanin__errf(err, errlen, FANIN_EDATA,
                               "data: asked for %lld test %s%s but %s %lld; lower data.test",
                               (long long)te, unit, of, have, (long long)avail);
        tr = avail - te;
    } else if (te < 0) {
        if (tr > avail)
            return fanin__errf(err, errlen, FANIN_EDATA,
                               "data: asked for %lld training %s%s but %s %lld; lower data.train",
                               (long long)tr, unit, of, have, (long long)avail);
        te = avail - tr;
    } else if (tr + te > avail) {
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "data: asked for %lld training + %lld test %s%s but %s %lld; "
                           "lower data.train or data.test",
                           (long long)tr, (long long)te, unit, of, have, (long long)avail);
    }
    if (tr == 0 && spec->train != 0)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "data: no training %s left%s: %s %lld and data.test takes %lld; "
                           "lower data.test",
                           unit, of, have, (long long)avail, (long long)te);
    *n_train = tr;
    *n_test = te;
    return FANIN_OK;
}

static float *alloc_floats(int64_t rows, int cols) {
    if (rows <= 0 || cols <= 0) return NULL;
    if ((uint64_t)rows > SIZE_MAX / sizeof(float) / (uint64_t)cols) return NULL;
    return malloc((size_t)rows * (size_t)cols * sizeof(float));
}

int fanin__data_alloc(fanin_dataset *d, int64_t n_train, int64_t n_test, int n_features, int y_dim,
                      char *err, size_t errlen) {
    d->n_train = n_train;
    d->n_test = n_test;
    d->n_features = n_features;
    d->y_dim = y_dim;
    d->x_train = alloc_floats(n_train, n_features);
    d->y_train = alloc_floats(n_train, y_dim);
    d->x_test = alloc_floats(n_test, n_features);
    d->y_test = alloc_floats(n_test, y_dim);
    if ((n_train > 0 && (!d->x_train || !d->y_train)) || (n_test > 0 && (!d->x_test || !d->y_test)))
        return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory for %lld x %d floats",
                           (long long)(n_train + n_test), n_features + y_dim);
    return FANIN_OK;
}

void fanin__data_free(fanin_dataset *d) {
    if (!d) return;
    free(d->x_train);
    free(d->y_train);
    free(d->x_test);
    free(d->y_test);
    free(d);
}

const char *const fanin__fmnist_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

void fanin__fmnist_file(const char *dir, const char *name, char *out, size_t len) {
    struct stat st;
    snprintf(out, len, "%s/%s", dir, name);
    if (stat(out, &st) == 0) {
        char gz[1200];
        if (snprintf(gz, sizeof gz, "%s.gz", out) < (int)sizeof gz && stat(gz, &st) == 0)
            snprintf(out, len, "%s", gz);
        return;
    }
    snprintf(out, len, "%s/%s.gz", dir, name);
}
