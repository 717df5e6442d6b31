/* Both cores for one run (issue 14): each training step's batch rows split into contiguous
 * slices, each slice's forward and backward on its own thread with single-threaded BLAS, the
 * slices' gradients summed in a fixed order weighted by their share of the rows, as the
 * data-parallel step sums its processes' (train.c). The pool (row_threads.c), the slices both
 * share, and the rule that says when the split beats OpenBLAS's own threading (row_rule.c).
 * Evaluation chunks are split the same way; the optimizer step stays on the calling thread. */
#ifndef FANIN_ENGINE_ROW_THREADS_H
#define FANIN_ENGINE_ROW_THREADS_H

#include "engine/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- slices of a batch (the data-parallel step's too) ---- */

/* Slice k of `parts` over n rows: rows [*lo, *lo + *rows) with lo = n*k/parts (integer
 * division), so the slices are contiguous, in order, and differ by at most one row. */
void fanin__slice_rows(int n, int k, int parts, int *lo, int *rows);

/* Rows [lo, lo + rows) of the step's batch X [n, n_in], Y [n, y_dim] through m at step t
 * (training pass): forward, loss with its gradient, the correct count, backward into
 * m->grads. *loss is the slice's mean loss; m->row0 = lo, so dropout masks are those of the
 * batch's rows. rows >= 1. Returns FANIN_OK or a layer's (plugin's) error. */
int fanin__slice_pass(fanin_model *m, const float *X, const float *Y, int y_dim, int lo, int rows,
                      int64_t t, double *loss, int64_t *correct, char *err, size_t errlen);

/* ---- the rule (row_rule.c) ---- */

/* What the rule looks at: the run, the batch, the model's arithmetic. */
typedef struct fanin__row_shape {
    int threads;        /* the run's threads (x->threads, else OpenBLAS's count) */
    int rows;           /* rows per step (the batch) */
    double flops_row;   /* FLOPs of one row's products: 2 per multiply-add, forward, dW and the
                          input gradient of every weight layer but the first */
    int widest;         /* the most units (a conv: channels x output pixels) of any layer */
    bool batchnorm;     /* a batchnorm layer: its batch statistics would be per slice */
    bool data_parallel; /* the step is already split over MPI processes */
} fanin__row_shape;

/* The rule's input for model m, batches of `rows`, `threads` threads. */
void fanin__row_shape_of(const fanin_model *m, int rows, int threads, fanin__row_shape *s);

/* Which train.row_threads applies: the experiment's (enum fanin__row_threads) when it says on
 * or off, else the environment's FANIN_ROW_THREADS (`env`, may be NULL: on, off or auto;
 * anything else is auto). Pure. */
int fanin__row_threads_mode(int config_mode, const char *env);

/* Pure: how many slices each step takes, 1 meaning the plain path (OpenBLAS's own threads
 * over the whole batch), for a model of shape s under `mode` (enum fanin__row_threads, as
 * fanin__row_threads_mode chose it). *why (static text) says why, for the run's log. */
int fanin__row_threads_rule(const fanin__row_shape *s, int mode, const char **why);

/* ---- the pool (row_threads.c) ---- */

typedef struct fanin__row_pool fanin__row_pool;

/* A pool splitting m's steps into `slices` (>= 2) slices of batches of at most max_rows rows:
 * slices - 1 threads, each with a replica of m (model.h), started now; slice 0 runs on m on
 * the calling thread. OpenBLAS runs at 1 thread until fanin__row_pool_free restores its
 * count. Caller owns *out. */
int fanin__row_pool_new(fanin_model *m, int slices, int max_rows, fanin__row_pool **out, char *err,
                        size_t errlen);
/* Stops and joins the threads, frees the replicas, restores OpenBLAS's thread count. NULL: a
 * no-op. */
void fanin__row_pool_free(fanin__row_pool *p);
/* One step's gradients: the n rows of X [n, n_in], Y [n, y_dim] split into the pool's slices
 * (fanin__slice_rows), each through fanin__slice_pass at step t, then
 *   grads = sum_k grads_k * (rows_k / n)     (k = 0, 1, ... in order; float, as step_dp)
 * into m->grads, *loss = sum_k loss_k * rows_k / n and *correct = sum_k correct_k; *finite:
 * are all the summed gradients finite (fanin__all_finite, each thread over its range). The
 * same bits for the same n, slices and inputs, whatever the threads' timing. Allocates
 * nothing. A slice's error is returned (the first slice's first). */
int fanin__row_pool_step(fanin__row_pool *p, const float *X, const float *Y, int y_dim, int n,
                         int64_t t, double *loss, int64_t *correct, bool *finite, char *err,
                         size_t errlen);

/* An evaluation chunk of n <= max_rows rows split likewise: each slice's forward in the
 * evaluation pass (no dropout, running statistics), then *loss_sum = sum_k loss_k * rows_k
 * (the slices' mean losses times their rows, in slice order) and *correct = sum_k correct_k.
 * Allocates nothing. */
int fanin__row_pool_eval(fanin__row_pool *p, const float *X, const float *Y, int y_dim, int n,
                         double *loss_sum, int64_t *correct, char *err, size_t errlen);

#endif /* FANIN_ENGINE_ROW_THREADS_H */
