/* When a run splits its batch rows over its own threads (row_threads.h): the model's shape as
 * the rule sees it, which train.row_threads applies, and the rule itself, a pure function
 * measured on tools/bench (tools/bench/README.md, "Row threads"). */
#include "engine/layer.h"
#include "engine/model.h"
#include "engine/row_threads.h"

#include <stdbool.h>
#include <string.h>

/* FLOPs of one step below which the split's fixed costs (the start and the barrier, a second
 * set of small BLAS calls, the gradient sum: about 8 us a step on tiny, more with more layers)
 * cost what the second core gives. Measured at 2 threads (tools/bench/README.md): 0.67 MFLOP
 * (32-32-32-1, 64 rows) 0.71x of the plain step, 2.9 MFLOP (64-64-64-10, 64 rows) 1.02x,
 * 11.5 MFLOP (the same, 256 rows) 2.6x, the seed's 190 MFLOP 1.9x. */
#define MIN_STEP_FLOPS 4e6
/* Rows per slice below which a slice's products are too thin for BLAS to run well. */
#define MIN_SLICE_ROWS 8

void fanin__row_shape_of(const fanin_model *m, int rows, int threads, fanin__row_shape *s) {
    memset(s, 0, sizeof *s);
    s->threads = threads;
    s->rows = rows;
    bool first = true;
    for (int l = 0; l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        if (L->n_out > s->widest) s->widest = L->n_out;
        if (L->spec->type == FANIN_LAYER_BATCHNORM) s->batchnorm = true;
        if (!L->W) continue;
        /* forward and dW, and the input gradient of all but the first weight layer */
        s->flops_row += 2.0 * L->n_out * (double)L->w_cols * (first ? 2 : 3);
        first = false;
    }
}

int fanin__row_threads_mode(int config_mode, const char *env) {
    if (config_mode == FANIN_ROW_THREADS_ON || config_mode == FANIN_ROW_THREADS_OFF)
        return config_mode;
    if (env && !strcmp(env, "on")) return FANIN_ROW_THREADS_ON;
    if (env && !strcmp(env, "off")) return FANIN_ROW_THREADS_OFF;
    return FANIN_ROW_THREADS_AUTO;
}

int fanin__row_threads_rule(const fanin__row_shape *s, int mode, const char **why) {
    if (mode == FANIN_ROW_THREADS_OFF) return *why = "row_threads: off", 1;
    if (s->threads < 2) return *why = "one thread", 1;
    if (s->data_parallel) return *why = "the batch is already split over MPI processes", 1;
    if (s->batchnorm)
        return *why = "batchnorm's batch statistics would be per slice of the batch", 1;
    if (s->rows < s->threads) return *why = "fewer rows than threads", 1;
    if (mode == FANIN_ROW_THREADS_ON) return *why = "row_threads: on", s->threads;
    if (s->flops_row * s->rows < MIN_STEP_FLOPS)
        return *why = "a step too small for a second thread to pay", 1;
    if (s->rows / s->threads < MIN_SLICE_ROWS)
        return *why = "slices of the batch too thin for BLAS", 1;
    return *why = "rows split over the threads (faster than OpenBLAS's threads here)", s->threads;
}
