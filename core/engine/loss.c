/* Losses on the output layer, averaged over the rows of a batch, with their gradients.
 * bce on a logistic output (FANIN_INTERFACE_LOGISTIC) is fused (computed from the logits, as torch's BCEWithLogitsLoss);
 * cross_entropy applies a stable softmax to the output (torch's CrossEntropyLoss). */
#include "engine/loss.h"
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/model.h"

#include <stdint.h>
#include <stdbool.h>
#include <math.h>
#include <string.h>

static const fanin__layer *out_layer(const fanin_model *m) { return &m->layers[m->n_layers - 1]; }

/* Fused sigmoid + binary cross-entropy on logits z, label y in {0, 1}:
 *   L  = max(z, 0) - z*y + log(1 + exp(-|z|))   (never takes log of 0)
 *   dZ = (sigmoid(z) - y) / n                   (PyTorch BCEWithLogitsLoss) */
static double bce_logits(fanin__layer *L, const float *Y, int n, bool grad) {
    double sum = 0;
    for (int r = 0; r < n; r++) {
        double z = L->Z[r], y = Y[r];
        sum += fmax(z, 0) - z * y + log1p(exp(-fabs(z)));
        if (grad) L->dA[r] = (float)((L->A[r] - y) / n);
    }
    return sum / n;
}

/* Binary cross-entropy on probabilities a (any output activation), clamped to [eps, 1-eps]
 * as torch.nn.BCELoss clamps its log at -100:
 *   L = -(y log a + (1-y) log(1-a)),  dL/da = (a - y) / (a (1 - a)) / n */
static double bce_probs(fanin__layer *L, const float *Y, int n, bool grad) {
    const double eps = 1e-7;
    double sum = 0;
    for (int r = 0; r < n; r++) {
        double a = fmin(fmax(L->A[r], eps), 1 - eps), y = Y[r];
        sum -= y * log(a) + (1 - y) * log(1 - a);
        if (grad) L->dA[r] = (float)((a - y) / (a * (1 - a)) / n);
    }
    return sum / n;
}

/* Softmax cross-entropy of row a [k] with class c:
 *   L = logsumexp(a) - a[c]   (max subtracted first for stability)
 *   dL/da = (softmax(a) - onehot(c)) / n */
static double cross_entropy(fanin__layer *L, const float *Y, int n, bool grad) {
    int k = L->n_out;
    double sum = 0;
    for (int r = 0; r < n; r++) {
        const float *a = L->A + (size_t)r * k;
        int c = (int)Y[r];
        double mx = a[0], se = 0;
        for (int j = 1; j < k; j++) mx = fmax(mx, a[j]);
        for (int j = 0; j < k; j++) se += exp(a[j] - mx);
        double lse = mx + log(se);
        sum += lse - a[c];
        if (!grad) continue;
        float *d = L->dA + (size_t)r * k;
        for (int j = 0; j < k; j++) d[j] = (float)((exp(a[j] - lse) - (j == c)) / n);
    }
    return sum / n;
}

/* Mean squared error over all n*k outputs (torch.nn.MSELoss, reduction mean):
 *   L = sum (a - y)^2 / (n k),  dL/da = 2 (a - y) / (n k) */
static double mse(fanin__layer *L, const float *Y, int n, bool grad) {
    size_t cells = (size_t)n * L->n_out;
    double sum = 0;
    for (size_t i = 0; i < cells; i++) {
        double e = (double)L->A[i] - Y[i];
        sum += e * e;
        if (grad) L->dA[i] = (float)(2 * e / (double)cells);
    }
    return sum / (double)cells;
}

bool fanin__loss_fuses(const fanin_experiment *x) {
    const fanin__entry *e = x->layers[x->n_layers - 1].activation.entry;
    const fanin_plugin *p = e ? e->plugin : NULL;
    return x->loss == FANIN_LOSS_BCE && p && p->get_interface &&
           p->get_interface(FANIN_INTERFACE_LOGISTIC) != NULL;
}

double fanin__loss(fanin_model *m, const float *Y, int n, bool grad) {
    fanin__layer *L = &m->layers[m->n_layers - 1];
    switch (m->x->loss) {
    case FANIN_LOSS_BCE:
        return m->fused_output ? bce_logits(L, Y, n, grad) : bce_probs(L, Y, n, grad);
    case FANIN_LOSS_CE: return cross_entropy(L, Y, n, grad);
    default: return mse(L, Y, n, grad);
    }
}

/* Argmax of a row; ties go to the first index as numpy.argmax. */
static int argmax(const float *a, int k) {
    int best = 0;
    for (int j = 1; j < k; j++)
        if (a[j] > a[best]) best = j;
    return best;
}

int64_t fanin__count_correct(const fanin_model *m, const float *Y, int n) {
    const fanin__layer *L = out_layer(m);
    int64_t ok = 0;
    for (int r = 0; r < n; r++) {
        int pred;
        if (m->x->loss == FANIN_LOSS_BCE) pred = L->A[r] > 0.5f;
        else if (m->x->loss == FANIN_LOSS_CE) pred = argmax(L->A + (size_t)r * L->n_out, L->n_out);
        else return 0;
        ok += pred == (int)Y[r];
    }
    return ok;
}

int fanin__loss_check(const fanin_model *m, const fanin_dataset *d, char *err, size_t errlen) {
    int units = out_layer(m)->n_out;
    const char *file = m->x->source_file;
    switch (m->x->loss) {
    case FANIN_LOSS_BCE:
        if (units != 1 || d->n_classes != 2)
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "%s: loss bce needs 1 output unit and 2 classes; the model has %d "
                               "units and the data %d classes; use cross_entropy for more classes",
                               file, units, d->n_classes);
        break;
    case FANIN_LOSS_CE:
        if (d->n_classes < 2 || units != d->n_classes)
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "%s: loss cross_entropy needs one output unit per class; the model "
                               "has %d units and the data %d classes; set the last layer's units "
                               "to %d",
                               file, units, d->n_classes, d->n_classes);
        break;
    default:
        if (units != d->y_dim)
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "%s: loss mse needs %d output units (the targets' width); the model "
                               "has %d",
                               file, d->y_dim, units);
    }
    return FANIN_OK;
}
