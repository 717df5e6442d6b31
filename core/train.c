/* The training loop: full-batch or shuffled minibatch gradient steps, logging, evaluation.
 * Every buffer it touches is sized before the loop starts (train_bufs); the loop allocates
 * nothing. Divergence (NaN/Inf loss) ends the run as a result, not an error. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct train_bufs {
    int64_t *order; /* row order of the current epoch */
    float *xb, *yb; /* the gathered minibatch [cap, n_in], [cap, y_dim] */
} train_bufs;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int fanin__evaluate(fanin_model *m, const float *X, const float *Y, int64_t n, double *loss,
                    double *acc, char *err, size_t errlen) {
    const fanin_experiment *x = m->x;
    int y_dim = x->loss == FANIN_LOSS_MSE ? m->layers[m->n_layers - 1].n_out : 1;
    double sum = 0;
    int64_t ok = 0;
    for (int64_t r = 0; r < n; r += m->cap) {
        int rows = (int)(n - r < m->cap ? n - r : m->cap);
        int rc = fanin__model_forward(m, X + r * m->n_in, rows, err, errlen);
        if (rc < 0) return rc;
        sum += fanin__loss(m, Y + r * y_dim, rows, false) * rows;
        ok += fanin__count_correct(m, Y + r * y_dim, rows);
    }
    *loss = n ? sum / (double)n : NAN;
    *acc = n && x->loss != FANIN_LOSS_MSE ? (double)ok / (double)n : NAN;
    return FANIN_OK;
}

static int bufs_init(train_bufs *b, const fanin_model *m, const fanin_dataset *d, bool full) {
    memset(b, 0, sizeof *b);
    if (full) return FANIN_OK;
    b->order = malloc(sizeof(int64_t) * (size_t)d->n_train);
    b->xb = malloc(sizeof(float) * (size_t)m->cap * (size_t)m->n_in);
    b->yb = malloc(sizeof(float) * (size_t)m->cap * (size_t)d->y_dim);
    if (!b->order || !b->xb || !b->yb) return FANIN_ENOMEM;
    for (int64_t i = 0; i < d->n_train; i++) b->order[i] = i;
    return FANIN_OK;
}

static void bufs_deinit(train_bufs *b) {
    free(b->order);
    free(b->xb);
    free(b->yb);
}

/* Copy rows order[from .. from+n) into the minibatch buffers. */
static void gather(train_bufs *b, const fanin_dataset *d, int64_t from, int n) {
    for (int i = 0; i < n; i++) {
        int64_t r = b->order[from + i];
        memcpy(b->xb + (size_t)i * d->n_features, d->x_train + r * d->n_features,
               sizeof(float) * (size_t)d->n_features);
        memcpy(b->yb + (size_t)i * d->y_dim, d->y_train + r * d->y_dim,
               sizeof(float) * (size_t)d->y_dim);
    }
}

static int optimizer_step(fanin_model *m, int64_t t, double lr, char *err, size_t errlen) {
    const fanin__pref *o = &m->x->optimizer;
    const fanin_optimizer_vt *vt = o->entry->plugin->vtable;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, o->entry, 1.0);
    int rc = vt->step(&ctx, m->opt_state, m->params, m->grads, m->n_params, lr, t, o->params);
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, "optimizer step", err, errlen) : FANIN_OK;
}

/* Accuracies of the weights as they are before this iteration's update: the test set always,
 * the train set by its own pass only for minibatches (full batch reuses the step's forward). */
static int eval_before_step(fanin_model *m, const fanin_dataset *d, bool full,
                            fanin__progress *p, char *err, size_t errlen) {
    double loss;
    p->train_acc = p->test_acc = NAN;
    int rc = fanin__evaluate(m, d->x_test, d->y_test, d->n_test, &loss, &p->test_acc, err, errlen);
    if (rc < 0 || full) return rc;
    return fanin__evaluate(m, d->x_train, d->y_train, d->n_train, &loss, &p->train_acc, err, errlen);
}

/* One gradient step on rows [X, Y) of n rows; returns the forward loss through *loss. */
static int step(fanin_model *m, const float *X, const float *Y, int n, int64_t t, double *loss,
                int64_t *correct, char *err, size_t errlen) {
    int rc = fanin__model_forward(m, X, n, err, errlen);
    if (rc < 0) return rc;
    *loss = fanin__loss(m, Y, n, true);
    if (!isfinite(*loss)) return FANIN_EDIVERGED;
    if (correct) *correct = fanin__count_correct(m, Y, n);
    if ((rc = fanin__model_backward(m, X, n, err, errlen)) < 0) return rc;
    return optimizer_step(m, t, m->x->lr, err, errlen);
}

static int64_t total_iterations(const fanin_experiment *x, int64_t steps_per_epoch) {
    return x->epochs > 0 ? x->epochs * steps_per_epoch : x->iterations;
}

static int train_loop(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                      train_bufs *b, fanin__result *res, char *err, size_t errlen) {
    const fanin_experiment *x = m->x;
    bool full = x->batch == 0 || x->batch >= d->n_train;
    int64_t bs = full ? d->n_train : x->batch;
    int64_t spe = (d->n_train + bs - 1) / bs;
    int64_t iters = total_iterations(x, spe);
    double t0 = now_seconds();
    fanin_rng shuffle;
    fanin__rng_init(&shuffle, x->seed, 0, FANIN_STREAM_SHUFFLE);
    fanin__progress p = {.iterations = iters};
    for (int64_t it = 0; it < iters; it++) {
        int64_t pos = (it % spe) * bs;
        int n = (int)(pos + bs <= d->n_train ? bs : d->n_train - pos);
        const float *X = d->x_train, *Y = d->y_train;
        if (!full) {
            if (pos == 0) fanin__rng_shuffle(&shuffle, b->order, d->n_train);
            gather(b, d, pos, n);
            X = b->xb;
            Y = b->yb;
        }
        bool logging = it % x->log_every == 0;
        int rc = logging ? eval_before_step(m, d, full, &p, err, errlen) : FANIN_OK;
        double loss = NAN;
        int64_t correct = 0;
        if (rc == FANIN_OK)
            rc = step(m, X, Y, n, it + 1, &loss, full && logging ? &correct : NULL, err, errlen);
        res->iterations = it;
        res->final_loss = loss;
        if (rc < 0) return rc;
        if (logging) {
            p.iteration = it;
            p.epoch = it / spe;
            p.loss = loss;
            p.lr = x->lr;
            p.seconds = now_seconds() - t0;
            if (full && x->loss != FANIN_LOSS_MSE) p.train_acc = (double)correct / n;
            if (hooks && hooks->on_log && hooks->on_log(hooks->user, &p)) return FANIN_EINTR;
        }
    }
    res->iterations = iters;
    return FANIN_OK;
}

/* The figures after the last update: full passes over train and test. */
static int final_figures(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                         fanin__result *res, double t0, char *err, size_t errlen) {
    double test_loss;
    int rc = fanin__evaluate(m, d->x_train, d->y_train, d->n_train, &res->final_loss,
                             &res->train_acc, err, errlen);
    if (rc < 0) return rc;
    rc = fanin__evaluate(m, d->x_test, d->y_test, d->n_test, &test_loss, &res->test_acc, err, errlen);
    if (rc < 0) return rc;
    res->seconds = now_seconds() - t0;
    if (!isfinite(res->final_loss)) return FANIN_EDIVERGED;
    fanin__progress p = {res->iterations, res->iterations, 0, res->final_loss, res->train_acc,
                         res->test_acc, m->x->lr, res->seconds};
    if (hooks && hooks->on_log) hooks->on_log(hooks->user, &p);
    return FANIN_OK;
}

int fanin__train(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                 fanin__result *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    res->train_acc = res->test_acc = res->final_loss = NAN;
    int rc = fanin__loss_check(m, d, err, errlen);
    if (rc < 0) return rc;
    bool full = m->x->batch == 0 || m->x->batch >= d->n_train;
    if ((full ? d->n_train : m->x->batch) > m->cap)
        return fanin__errf(err, errlen, FANIN_EINVAL, "batch larger than the model's buffers");
    train_bufs b;
    double t0 = now_seconds();
    rc = bufs_init(&b, m, d, full);
    if (rc == FANIN_OK) rc = train_loop(m, d, hooks, &b, res, err, errlen);
    bufs_deinit(&b);
    if (rc == FANIN_OK) rc = final_figures(m, d, hooks, res, t0, err, errlen);
    res->seconds = now_seconds() - t0;
    if (rc == FANIN_EDIVERGED || rc == FANIN_EINTR) {
        res->status = rc;
        fanin__errf(err, errlen, rc, "%s at iteration %lld",
                    rc == FANIN_EDIVERGED ? "loss became NaN or Inf" : "interrupted",
                    (long long)res->iterations);
        return FANIN_OK;
    }
    if (rc < 0 && rc == FANIN_ENOMEM) fanin__errf(err, errlen, rc, "training: out of memory");
    return rc;
}
