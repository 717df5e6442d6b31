/* The training loop (train.c): steps, logging, evaluation, checkpoints and interrupts. */
#ifndef FANIN_ENGINE_TRAIN_H
#define FANIN_ENGINE_TRAIN_H

#include "data/data.h"
#include "engine/diag.h"
#include "engine/model.h"
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fanin__progress {
    int64_t iteration, iterations; /* iteration counts steps done so far */
    int64_t epoch;
    double loss, train_acc, test_acc, lr, seconds; /* acc NaN when not computed */
    double test_loss; /* of the same weights as test_acc; NaN without a test set */
} fanin__progress;

typedef struct fanin__train_hooks {
    void *user;
    /* every log_every iterations and at the end; return nonzero to stop (interrupt) */
    int (*on_log)(void *user, const fanin__progress *p);
    struct fanin__diag *diag; /* per-layer statistics recorder (diag.h), or NULL */
    /* checkpoints (checkpoint.h): written every x->checkpoint_every steps and on interrupt to
     * this path (NULL: never); with `resume` an existing one is loaded before the first step */
    const char *checkpoint_path;
    bool resume;
    int threads; /* BLAS threads of this run, recorded in checkpoints (as are the seconds
                    trained, which a resumed run's seconds continue) */
    void (*on_warning)(void *user, const char *msg); /* e.g. a thread count differing on resume */
    /* Data-parallel training (run/mpi.c; NULL: one process, unchanged to the bit). Process
     * `shard` of `n_shards` takes rows [n*shard/n_shards, n*(shard+1)/n_shards) of each step's
     * batch of n; after backward its gradients, scaled by its share of the rows, go into one
     * block with its loss, correct count and interrupt flag, and `reduce` sums the block over
     * the processes in place. Every process then takes the same step; only shard 0 writes
     * checkpoints (all read them on resume). */
    void (*reduce)(void *user, float *block, size_t n);
    void *reduce_user;
    int shard, n_shards;
} fanin__train_hooks;

typedef struct fanin__result {
    int status; /* FANIN_OK, FANIN_EDIVERGED, FANIN_EINTR */
    int64_t iterations;
    double final_loss, train_acc, test_acc, seconds;
    /* diverged: the first layer (0-based) where a non-finite value appeared, or -1 when only
     * the loss was; diverged_what: "weights", "activations", "gradients" or "loss" */
    int diverged_layer;
    const char *diverged_what;
    int64_t resumed_from; /* the checkpoint's iteration when resumed, else 0 */
    int row_slices;       /* slices each step's rows were split into over the run's threads
                             (row_threads.h); 1: the plain step */
} fanin__result;

/* Train m on d as the experiment says; nothing is allocated inside the loop. */
int fanin__train(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                 fanin__result *res, char *err, size_t errlen);
/* Loss and accuracy over a whole set, in chunks of m->cap rows. */
int fanin__evaluate(fanin_model *m, const float *X, const float *Y, int64_t n, double *loss,
                    double *acc, char *err, size_t errlen);


/* Raised by the `fanin` command's SIGINT/SIGTERM handler (async-signal-safe); the training
 * loop checks it after every step, checkpoints and stops. */
extern volatile sig_atomic_t fanin__interrupt_flag;

#endif /* FANIN_ENGINE_TRAIN_H */
