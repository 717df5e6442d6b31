/* The training loop: full-batch or shuffled minibatch gradient steps, logging, evaluation.
 * Every buffer it touches is sized before the loop starts (train_bufs); the loop allocates
 * nothing. Divergence (NaN/Inf loss) ends the run as a result, not an error. */
#include "engine/train.h"
#include "base/clock.h"
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/schedule.h"
#include "data/data.h"
#include "engine/checkpoint.h"
#include "engine/diag.h"
#include "engine/loss.h"
#include "engine/model.h"
#include "engine/row_threads.h"

#include <cblas.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t fanin__interrupt_flag = 0;

/* The loop's state besides the model: its buffers, the shuffle stream and the clock. */
typedef struct train_bufs {
    int64_t *order;    /* row order of the current epoch */
    float *xb, *yb;    /* the gathered minibatch [cap, n_in], [cap, y_dim] */
    bool full;         /* full batch: no order, no minibatch buffers */
    fanin_rng shuffle; /* the minibatch order stream */
    double t0;         /* the run's clock: fanin__now() at the start, less the seconds of the
                          invocations a resumed run continues */
    const fanin__train_hooks *dp; /* data-parallel: the hooks with reduce, else NULL */
    float *red;                   /* data-parallel: the reduced block [n_params + 3] */
    int rows;                     /* data-parallel: the rows of this process's last forward */
    fanin__row_pool *pool;        /* row threads (row_threads.h), or NULL: the plain step */
    int slices;                   /* the pool's slices; 1 without it */
} train_bufs;

/* One chunk of an evaluation: rows of X [rows, n_in] forward in the evaluation pass, their
 * loss times rows and their correct count; split over the row pool when there is one. */
static int eval_chunk(fanin_model *m, fanin__row_pool *pool, const float *X, const float *Y,
                      int y_dim, int rows, double *loss_sum, int64_t *correct, char *err,
                      size_t errlen) {
    if (pool) return fanin__row_pool_eval(pool, X, Y, y_dim, rows, loss_sum, correct, err, errlen);
    int pass = m->pass;
    m->pass = FANIN_PASS_EVAL; /* running statistics, no dropout: torch's model.eval() */
    int rc = fanin__model_forward(m, X, rows, err, errlen);
    m->pass = pass;
    if (rc < 0) return rc;
    *loss_sum = fanin__loss(m, Y, rows, false) * rows;
    *correct = fanin__count_correct(m, Y, rows);
    return FANIN_OK;
}

/* fanin__evaluate, its chunks split over `pool` when not NULL. */
static int evaluate(fanin_model *m, fanin__row_pool *pool, const float *X, const float *Y,
                    int64_t n, double *loss, double *acc, char *err, size_t errlen) {
    const fanin_experiment *x = m->x;
    int y_dim = x->loss == FANIN_LOSS_MSE ? m->layers[m->n_layers - 1].n_out : 1;
    double sum = 0;
    int64_t ok = 0;
    for (int64_t r = 0; r < n; r += m->cap) {
        int rows = (int)(n - r < m->cap ? n - r : m->cap);
        double l;
        int64_t c;
        int rc = eval_chunk(m, pool, X + r * m->n_in, Y + r * y_dim, y_dim, rows, &l, &c, err,
                            errlen);
        if (rc < 0) return rc;
        sum += l;
        ok += c;
    }
    *loss = n ? sum / (double)n : NAN;
    *acc = n && x->loss != FANIN_LOSS_MSE ? (double)ok / (double)n : NAN;
    return FANIN_OK;
}

int fanin__evaluate(fanin_model *m, const float *X, const float *Y, int64_t n, double *loss,
                    double *acc, char *err, size_t errlen) {
    return evaluate(m, NULL, X, Y, n, loss, acc, err, errlen);
}

/* The row-thread pool when the rule (row_rule.c) says the run's threads should split the
 * batch's rows; a refusal of an asked-for `on` is said once through on_warning. */
static int rows_init(train_bufs *b, fanin_model *m, int64_t bs, const fanin__train_hooks *hooks,
                     char *err, size_t errlen) {
    const fanin_experiment *x = m->x;
    int threads = x->threads > 0 ? x->threads : openblas_get_num_threads();
    int mode = fanin__row_threads_mode(x->row_threads, getenv("FANIN_ROW_THREADS"));
    fanin__row_shape s;
    fanin__row_shape_of(m, (int)bs, threads, &s);
    s.data_parallel = b->dp != NULL;
    const char *why;
    b->slices = fanin__row_threads_rule(&s, mode, &why);
    if (b->slices == 1 && mode == FANIN_ROW_THREADS_ON && threads > 1 && hooks &&
        hooks->on_warning) {
        char msg[FANIN_ERRLEN];
        snprintf(msg, sizeof msg, "row_threads: on, but the plain step runs: %s", why);
        hooks->on_warning(hooks->user, msg);
    }
    if (b->slices < 2) return FANIN_OK;
    return fanin__row_pool_new(m, b->slices, (int)bs, &b->pool, err, errlen);
}

static int bufs_init(train_bufs *b, fanin_model *m, const fanin_dataset *d, int64_t bs,
                     const fanin__train_hooks *hooks, char *err, size_t errlen) {
    memset(b, 0, sizeof *b);
    bool full = bs == d->n_train;
    b->full = full;
    b->slices = 1;
    fanin__rng_init(&b->shuffle, m->x->data_seed, 0, FANIN_STREAM_SHUFFLE);
    b->t0 = fanin__now();
    if (hooks && hooks->reduce && hooks->n_shards > 1) {
        b->dp = hooks;
        if (!(b->red = malloc(sizeof(float) * ((size_t)m->n_params + 3)))) return FANIN_ENOMEM;
    }
    int rc = rows_init(b, m, bs, hooks, err, errlen);
    if (rc < 0 || full) return rc;
    b->order = malloc(sizeof(int64_t) * (size_t)d->n_train);
    b->xb = malloc(sizeof(float) * (size_t)m->cap * (size_t)m->n_in);
    b->yb = malloc(sizeof(float) * (size_t)m->cap * (size_t)d->y_dim);
    if (!b->order || !b->xb || !b->yb) return FANIN_ENOMEM;
    for (int64_t i = 0; i < d->n_train; i++) b->order[i] = i;
    return FANIN_OK;
}

static void bufs_deinit(train_bufs *b) {
    fanin__row_pool_free(b->pool); /* OpenBLAS's thread count back */
    free(b->red);
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

/* Loss and accuracies of the weights as they are before this iteration's update: the test set
 * always, the train set by its own pass only for minibatches (full batch reuses the step's
 * forward). With row threads their chunks are split over the pool. */
static int eval_before_step(fanin_model *m, const fanin_dataset *d, const train_bufs *b,
                            fanin__progress *p, char *err, size_t errlen) {
    double loss;
    p->train_acc = p->test_acc = NAN;
    int rc = evaluate(m, b->pool, d->x_test, d->y_test, d->n_test, &p->test_loss, &p->test_acc, err,
                      errlen);
    if (rc < 0 || b->full) return rc;
    return evaluate(m, b->pool, d->x_train, d->y_train, d->n_train, &loss, &p->train_acc, err,
                    errlen);
}

/* The update of step t after the gradients of n rows are in: the optimizer, with the layer
 * statistics taken around it when dg is set (a statistics iteration). */
static int update(fanin_model *m, int n, int64_t t, double lr, fanin__diag *dg, char *err,
                  size_t errlen) {
    if (dg) fanin__diag_before_update(dg, m, n, t - 1);
    int rc = fanin__optimizer_step(m, t, lr, err, errlen);
    if (dg && rc == FANIN_OK) fanin__diag_after_update(dg, m);
    return rc;
}

/* One gradient step on rows [X, Y) of n rows; returns the forward loss through *loss. When dg
 * is set (a statistics iteration) the layer statistics are taken between backward and update. */
static int step(fanin_model *m, const float *X, const float *Y, int n, int64_t t, double lr,
                double *loss, int64_t *correct, fanin__diag *dg, char *err, size_t errlen) {
    m->pass = FANIN_PASS_TRAIN;
    m->step = t; /* dropout's mask stream: (seed, layer, step) */
    int rc = fanin__model_forward(m, X, n, err, errlen);
    if (rc < 0) return rc;
    *loss = fanin__loss(m, Y, n, true);
    if (!isfinite(*loss)) return FANIN_EDIVERGED;
    if (correct) *correct = fanin__count_correct(m, Y, n);
    if ((rc = fanin__model_backward(m, X, n, err, errlen)) < 0) return rc;
    /* one pass over the gradients (as cheap as the update): a NaN stops the run before it
     * reaches the weights */
    if (!fanin__all_finite(m->grads, m->n_params)) return FANIN_EDIVERGED;
    return update(m, n, t, lr, dg, err, errlen);
}

/* One data-parallel step: this process's slice of the batch of n rows forward and backward,
 * then one reduce of [grads * rows/n, loss * rows/n, correct, interrupt] over the processes:
 * the sum is the whole batch's mean gradient, loss and correct count, and whether any process
 * was interrupted (*stop), the same on every process. */
static int step_dp(fanin_model *m, const fanin_dataset *d, train_bufs *b, const float *X,
                   const float *Y, int n, int64_t t, double lr, double *loss, int64_t *correct,
                   bool *stop, fanin__diag *dg, char *err, size_t errlen) {
    const fanin__train_hooks *h = b->dp;
    int lo, rows;
    fanin__slice_rows(n, h->shard, h->n_shards, &lo, &rows);
    b->rows = rows;
    double l;
    int64_t c;
    int rc = fanin__slice_pass(m, X, Y, d->y_dim, lo, rows, t, &l, &c, err, errlen);
    if (rc < 0) return rc;
    size_t p = (size_t)m->n_params;
    float share = (float)rows / (float)n;
    for (size_t j = 0; j < p; j++) b->red[j] = m->grads[j] * share;
    b->red[p] = (float)(l * rows / n);
    b->red[p + 1] = (float)c;
    b->red[p + 2] = fanin__interrupt_flag ? 1.0f : 0.0f;
    h->reduce(h->reduce_user, b->red, p + 3);
    memcpy(m->grads, b->red, sizeof(float) * p);
    *loss = b->red[p];
    if (correct) *correct = (int64_t)b->red[p + 1];
    *stop = b->red[p + 2] > 0;
    if (!isfinite(*loss) || !fanin__all_finite(m->grads, p)) return FANIN_EDIVERGED;
    return update(m, rows, t, lr, dg, err, errlen);
}

/* One step with the batch's rows split over the row pool (row_threads.h): the slices'
 * gradients summed into m->grads in a fixed order, then the checks and update of step(). */
static int step_rows(fanin_model *m, const fanin_dataset *d, train_bufs *b, const float *X,
                     const float *Y, int n, int64_t t, double lr, double *loss, int64_t *correct,
                     char *err, size_t errlen) {
    int64_t c;
    bool finite;
    int rc = fanin__row_pool_step(b->pool, X, Y, d->y_dim, n, t, loss, &c, &finite, err, errlen);
    if (rc < 0) return rc;
    if (correct) *correct = c;
    if (!isfinite(*loss) || !finite) return FANIN_EDIVERGED;
    return update(m, n, t, lr, NULL, err, errlen);
}

/* A diverged split step again on the whole batch in m, without its update, so that where it
 * first went non-finite is found in m's buffers as after a plain step. */
static void replay_whole(fanin_model *m, const float *X, const float *Y, int n, int64_t t) {
    char err[8];
    m->pass = FANIN_PASS_TRAIN;
    m->step = t;
    if (fanin__model_forward(m, X, n, err, sizeof err) < 0) return;
    fanin__loss(m, Y, n, true);
    fanin__model_backward(m, X, n, err, sizeof err);
}

static int64_t total_iterations(const fanin_experiment *x, int64_t steps_per_epoch) {
    return x->epochs > 0 ? x->epochs * steps_per_epoch : x->iterations;
}

/* Rows per step: the whole training set for full batch, else the minibatch size. */
static int64_t batch_rows(const fanin_experiment *x, const fanin_dataset *d) {
    return x->batch == 0 || x->batch >= d->n_train ? d->n_train : x->batch;
}

/* Steps per pass over the training set (at least 1, so an empty set divides nothing by 0). */
static int64_t steps_per_epoch(const fanin_experiment *x, const fanin_dataset *d) {
    int64_t bs = batch_rows(x, d);
    return bs > 0 ? (d->n_train + bs - 1) / bs : 1;
}

/* When resuming with a checkpoint on disk: load it, and return the step to continue from. */
static int resume_from(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                       train_bufs *b, int64_t *start, fanin__result *res, char *err,
                       size_t errlen) {
    *start = 0;
    const char *path = hooks ? hooks->checkpoint_path : NULL;
    if (!path || !hooks->resume || access(path, F_OK) != 0) return FANIN_OK;
    fanin__ckpt c = {.order = b->full ? NULL : b->order, .n_order = b->full ? 0 : d->n_train};
    int rc = fanin__checkpoint_load(path, m, &c, err, errlen);
    if (rc < 0) return rc;
    if (!b->full) b->shuffle = c.shuffle;
    *start = res->resumed_from = c.iteration;
    b->t0 -= c.seconds; /* seconds count every invocation's training */
    if (hooks->threads > 0 && c.threads > 0 && c.threads != hooks->threads && hooks->on_warning) {
        char msg[FANIN_ERRLEN];
        snprintf(msg, sizeof msg,
                 "%s was written with %d BLAS threads and this run uses %d; "
                 "OpenBLAS's sgemm gives other bits at another count, so the result will not be "
                 "bit-identical to an uninterrupted run (use --threads %d)",
                 path, c.threads, hooks->threads, c.threads);
        hooks->on_warning(hooks->user, msg);
    }
    return FANIN_OK;
}

static int save_checkpoint(const fanin_model *m, const fanin_dataset *d,
                           const fanin__train_hooks *hooks, const train_bufs *b, int64_t done,
                           char *err, size_t errlen) {
    fanin__ckpt c = {.iteration = done,
                     .threads = hooks->threads,
                     .shuffle = b->shuffle,
                     .order = b->full ? NULL : b->order,
                     .n_order = b->full ? 0 : d->n_train,
                     .seconds = fanin__now() - b->t0};
    return fanin__checkpoint_save(hooks->checkpoint_path, m, &c, err, errlen);
}

/* After `done` of `iters` steps: a checkpoint every checkpoint_every steps, and at a stop
 * (interrupt), which then returns FANIN_EINTR; a stop after the last step changes nothing:
 * the run is done. */
static int checkpoint_or_stop(const fanin_model *m, const fanin_dataset *d,
                              const fanin__train_hooks *hooks, const train_bufs *b, int64_t done,
                              int64_t iters, bool stop, char *err, size_t errlen) {
    int64_t every = m->x->checkpoint_every;
    stop = stop && done < iters;
    bool due = every > 0 && done % every == 0 && done < iters;
    int rc = FANIN_OK;
    /* data-parallel: every process has the same state; shard 0 writes it */
    if (hooks && hooks->checkpoint_path && (due || stop) && hooks->shard == 0)
        rc = save_checkpoint(m, d, hooks, b, done, err, errlen);
    return rc == FANIN_OK && stop ? FANIN_EINTR : rc;
}

/* The row of a logged iteration: its step's loss and the figures eval_before_step took;
 * nonzero when the hook asks to stop. */
static int log_row(const fanin__train_hooks *hooks, fanin__progress *p, int64_t it, int64_t spe,
                   double loss, double train_acc, const train_bufs *b) {
    p->iteration = it;
    p->epoch = it / spe;
    p->loss = loss;
    p->seconds = fanin__now() - b->t0;
    if (!isnan(train_acc)) p->train_acc = train_acc;
    return hooks && hooks->on_log ? hooks->on_log(hooks->user, p) : 0;
}

/* The step's rows: the training set for full batch, else minibatch `it` of the epoch's order
 * (shuffled at the epoch's first step) gathered into b; their count through *n. */
static void batch_of(const fanin_dataset *d, train_bufs *b, int64_t bs, int64_t pos,
                     const float **X, const float **Y, int *n) {
    *n = (int)(pos + bs <= d->n_train ? bs : d->n_train - pos);
    *X = d->x_train;
    *Y = d->y_train;
    if (b->full) return;
    if (pos == 0) fanin__rng_shuffle(&b->shuffle, b->order, d->n_train);
    gather(b, d, pos, *n);
    *X = b->xb;
    *Y = b->yb;
}

static int train_loop(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                      train_bufs *b, fanin__result *res, char *err, size_t errlen) {
    const fanin_experiment *x = m->x;
    int64_t bs = batch_rows(x, d), spe = steps_per_epoch(x, d), iters = total_iterations(x, spe);
    fanin__progress p = {.iterations = iters};
    fanin__diag *dg = hooks ? hooks->diag : NULL;
    int64_t start;
    int rc = resume_from(m, d, hooks, b, &start, res, err, errlen);
    for (int64_t it = start; rc == FANIN_OK && it < iters; it++) {
        const float *X, *Y;
        int n;
        batch_of(d, b, bs, (it % spe) * bs, &X, &Y, &n);
        bool logging = it % x->log_every == 0;
        rc = logging ? eval_before_step(m, d, b, &p, err, errlen) : FANIN_OK;
        double loss = NAN;
        int64_t correct = 0;
        bool stop = false;
        p.lr = fanin__schedule_lr(&x->schedule, x->lr, it, iters); /* this step's lr */
        fanin__diag *due = fanin__diag_due(dg, it, iters) ? dg : NULL;
        /* a statistics iteration takes the plain step: the layer statistics see every row */
        bool split = b->pool && !due;
        int64_t *want = b->full && logging ? &correct : NULL;
        if (rc == FANIN_OK && b->dp)
            rc = step_dp(m, d, b, X, Y, n, it + 1, p.lr, &loss, &correct, &stop, due, err, errlen);
        else if (rc == FANIN_OK && split)
            rc = step_rows(m, d, b, X, Y, n, it + 1, p.lr, &loss, want, err, errlen);
        else if (rc == FANIN_OK) rc = step(m, X, Y, n, it + 1, p.lr, &loss, want, due, err, errlen);
        res->iterations = it;
        res->final_loss = loss;
        if (rc == FANIN_EDIVERGED && split) replay_whole(m, X, Y, n, it + 1);
        if (rc == FANIN_EDIVERGED)
            fanin__locate_nonfinite(m, b->dp ? b->rows : n, &res->diverged_layer,
                                    &res->diverged_what);
        if (rc < 0) return rc;
        double train_acc = b->full && x->loss != FANIN_LOSS_MSE ? (double)correct / n : NAN;
        if (!b->dp) stop = fanin__interrupt_flag != 0;
        if (logging && log_row(hooks, &p, it, spe, loss, train_acc, b)) stop = true;
        rc = checkpoint_or_stop(m, d, hooks, b, it + 1, iters, stop, err, errlen);
        if (rc == FANIN_EINTR) res->iterations = it + 1;
    }
    if (rc == FANIN_OK) res->iterations = iters;
    return rc;
}

/* The figures after the last update: full passes over train and test. */
static int final_figures(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                         fanin__result *res, double t0, char *err, size_t errlen) {
    const fanin_experiment *x = m->x;
    double test_loss;
    int rc = fanin__evaluate(m, d->x_train, d->y_train, d->n_train, &res->final_loss,
                             &res->train_acc, err, errlen);
    if (rc < 0) return rc;
    rc = fanin__evaluate(m, d->x_test, d->y_test, d->n_test, &test_loss, &res->test_acc, err,
                         errlen);
    if (rc < 0) return rc;
    res->seconds = fanin__now() - t0;
    if (!isfinite(res->final_loss)) return FANIN_EDIVERGED;
    /* the epoch as the loop's rows count it: iteration / steps per epoch */
    fanin__progress p = {.iteration = res->iterations,
                         .iterations = res->iterations,
                         .epoch = res->iterations / steps_per_epoch(x, d),
                         .loss = res->final_loss,
                         .train_acc = res->train_acc,
                         .test_acc = res->test_acc,
                         .test_loss = test_loss,
                         .lr = fanin__schedule_lr(&x->schedule, x->lr, res->iterations - 1,
                                                  res->iterations),
                         .seconds = res->seconds};
    if (hooks && hooks->on_log) hooks->on_log(hooks->user, &p);
    return FANIN_OK;
}

int fanin__train(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                 fanin__result *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    res->train_acc = res->test_acc = res->final_loss = NAN;
    res->diverged_layer = -1;
    res->diverged_what = "loss";
    int rc = fanin__loss_check(m, d, err, errlen);
    if (rc < 0) return rc;
    int64_t bs = batch_rows(m->x, d);
    if (bs > m->cap)
        return fanin__errf(err, errlen, FANIN_EINVAL, "batch larger than the model's buffers");
    if (hooks && hooks->reduce && hooks->n_shards > bs)
        return fanin__errf(err, errlen, FANIN_EINVAL,
                           "data-parallel over %d processes needs a "
                           "batch of at least %d rows",
                           hooks->n_shards, hooks->n_shards);
    train_bufs b;
    rc = bufs_init(&b, m, d, bs, hooks, err, errlen);
    res->row_slices = b.slices;
    if (rc == FANIN_OK) rc = train_loop(m, d, hooks, &b, res, err, errlen);
    bufs_deinit(&b);
    if (rc == FANIN_OK) rc = final_figures(m, d, hooks, res, b.t0, err, errlen);
    res->seconds = fanin__now() - b.t0;
    if (rc == FANIN_EDIVERGED) {
        res->status = rc;
        if (res->diverged_layer >= 0)
            fanin__errf(err, errlen, rc,
                        "diverged at iteration %lld: NaN or Inf first in the %s "
                        "of layer %d (layers.%d)",
                        (long long)res->iterations, res->diverged_what, res->diverged_layer + 1,
                        res->diverged_layer);
        else
            fanin__errf(err, errlen, rc, "diverged at iteration %lld: the loss became NaN or Inf",
                        (long long)res->iterations);
        return FANIN_OK;
    }
    if (rc == FANIN_EINTR) {
        res->status = rc;
        fanin__errf(err, errlen, rc, "interrupted after %lld iterations%s",
                    (long long)res->iterations,
                    hooks && hooks->checkpoint_path ? " (checkpoint written)" : "");
        return FANIN_OK;
    }
    if (rc < 0 && rc == FANIN_ENOMEM) fanin__errf(err, errlen, rc, "training: out of memory");
    return rc;
}
