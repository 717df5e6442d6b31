/* The row-thread pool (row_threads.h): slices - 1 persistent threads, each with a replica of
 * the model's per-row buffers and gradients, and the calling thread as slice 0. A step is one
 * start signal, the slices' forward and backward, a barrier, the gradient sum split by
 * parameter ranges, and a finish count. Counters only grow (step g is done when `finished`
 * reaches g * slices), so nothing is reset between steps. A waiting thread spins briefly (the
 * next step usually starts within microseconds), then sleeps on a condition variable. */
#include "engine/row_threads.h"
#include "base/clock.h"
#include "base/errors.h"
#include "engine/loss.h"
#include "engine/model.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How long a waiting thread spins before it sleeps. */
#define SPIN_SECONDS 50e-6

/* One slice's results, a cache line of its own (threads write them concurrently). */
typedef struct slot {
    _Alignas(64) double loss;
    int64_t correct;
    int rc;
    bool finite; /* its range of the summed gradients */
    char err[FANIN_ERRLEN];
} slot;

struct fanin__row_pool {
    fanin_model *m;    /* slice 0's model, whose grads receive the sum */
    fanin_model **rep; /* rep[k], k >= 1: slice k's replica; rep[0] = m */
    int slices, blas;  /* blas: OpenBLAS's thread count before the pool */
    int n_threads;     /* threads started (slices - 1 once all are) */
    pthread_t *tid;
    slot *slots;
    /* the job in flight (written before `go` is raised) */
    bool eval; /* an evaluation chunk (forward only), else a training step */
    const float *X, *Y;
    int y_dim, n;
    int64_t t;
    bool quit;
    atomic_uint go, arrived, finished; /* step count; slices past the barrier; slices done */
    atomic_int sleepers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* One worker's start: its pool and its slice. */
typedef struct worker_arg {
    fanin__row_pool *p;
    int k;
} worker_arg;

/* Has counter c reached `target`? (wrap-safe: counters only grow) */
static bool reached(atomic_uint *c, unsigned target) { return (int)(atomic_load(c) - target) >= 0; }

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait until c reaches target: spin for SPIN_SECONDS, then sleep until a wake(). A sleeper is
 * counted before its last look under the lock, so a waker that misses it has already changed c
 * (both are sequentially consistent). */
static void wait_for(fanin__row_pool *p, atomic_uint *c, unsigned target) {
    double until = 0;
    for (int i = 0; !reached(c, target); i++) {
        cpu_relax();
        if (i % 64) continue;
        double now = fanin__now();
        if (until == 0) until = now + SPIN_SECONDS;
        if (now < until) continue;
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1);
        while (!reached(c, target)) pthread_cond_wait(&p->cv, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
        return;
    }
}

/* c += 1, waking the sleepers if any. */
static void bump(fanin__row_pool *p, atomic_uint *c) {
    atomic_fetch_add(c, 1);
    if (atomic_load(&p->sleepers) == 0) return;
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void fanin__slice_rows(int n, int k, int parts, int *lo, int *rows) {
    *lo = (int)((int64_t)n * k / parts);
    *rows = (int)((int64_t)n * (k + 1) / parts) - *lo;
}

int fanin__slice_pass(fanin_model *m, const float *X, const float *Y, int y_dim, int lo, int rows,
                      int64_t t, double *loss, int64_t *correct, char *err, size_t errlen) {
    const float *Xs = X + (size_t)lo * m->n_in, *Ys = Y + (size_t)lo * y_dim;
    m->pass = FANIN_PASS_TRAIN;
    m->step = t; /* dropout's mask stream: (seed, layer, step), from row lo */
    m->row0 = lo;
    int rc = fanin__model_forward(m, Xs, rows, err, errlen);
    if (rc == FANIN_OK) {
        *loss = fanin__loss(m, Ys, rows, true);
        *correct = fanin__count_correct(m, Ys, rows);
        rc = fanin__model_backward(m, Xs, rows, err, errlen);
    }
    m->row0 = 0;
    return rc;
}

/* Slice k of the step in flight through its model, into its slot. */
static void run_slice(fanin__row_pool *p, int k) {
    slot *s = &p->slots[k];
    int lo, rows;
    fanin__slice_rows(p->n, k, p->slices, &lo, &rows);
    s->loss = 0;
    s->correct = 0;
    s->rc = rows < 1 ? FANIN_OK
                     : fanin__slice_pass(p->rep[k], p->X, p->Y, p->y_dim, lo, rows, p->t, &s->loss,
                                         &s->correct, s->err, sizeof s->err);
}

/* Parameters [a, b) of the sum, the slices in order (an empty slice adds nothing):
 *   g = g_0 * w_0;  g += g_k * w_k for k = 1, 2, ...   with w_k = (float)rows_k / (float)n
 * Each element sees the same operations whichever thread sums its range. */
static void sum_range(fanin__row_pool *p, size_t a, size_t b) {
    float *out = p->m->grads;
    for (int k = 0; k < p->slices; k++) {
        int lo, rows;
        fanin__slice_rows(p->n, k, p->slices, &lo, &rows);
        const float *g = p->rep[k]->grads;
        float w = (float)rows / (float)p->n;
        if (k == 0)
            for (size_t j = a; j < b; j++) out[j] = rows ? g[j] * w : 0.0f;
        else if (rows)
            for (size_t j = a; j < b; j++) out[j] += g[j] * w;
    }
}

/* Slice k's share of the sum: the k-th of `slices` ranges, cut at multiples of 16 floats;
 * whether its range is finite into its slot (the check step() makes, on every thread). */
static void sum_share(fanin__row_pool *p, int k) {
    size_t n = p->m->n_params, per = (n / (size_t)p->slices + 15) / 16 * 16;
    size_t a = per * (size_t)k, b = a + per;
    if (k == p->slices - 1 || b > n) b = n;
    if (a < b) sum_range(p, a, b);
    p->slots[k].finite = a >= b || fanin__all_finite(p->m->grads + a, b - a);
}

/* Slice k of an evaluation chunk: the forward in the evaluation pass, its loss times its rows
 * and its correct count into its slot. */
static void eval_slice(fanin__row_pool *p, int k) {
    slot *s = &p->slots[k];
    fanin_model *m = p->rep[k];
    int lo, rows, pass = m->pass;
    fanin__slice_rows(p->n, k, p->slices, &lo, &rows);
    s->loss = 0;
    s->correct = 0;
    s->rc = FANIN_OK;
    if (rows < 1) return;
    const float *Ys = p->Y + (size_t)lo * p->y_dim;
    m->pass = FANIN_PASS_EVAL; /* running statistics, no dropout */
    s->rc = fanin__model_forward(m, p->X + (size_t)lo * m->n_in, rows, s->err, sizeof s->err);
    if (s->rc == FANIN_OK) {
        s->loss = fanin__loss(m, Ys, rows, false) * rows;
        s->correct = fanin__count_correct(m, Ys, rows);
    }
    m->pass = pass;
}

/* One slice's part of job g: an evaluation chunk's slice; or a step's forward and backward,
 * the barrier, its range of the sum. Both count past the barrier and finish once. */
static void step_part(fanin__row_pool *p, int k, unsigned g) {
    if (p->eval) {
        eval_slice(p, k);
        bump(p, &p->arrived);
        bump(p, &p->finished);
        return;
    }
    run_slice(p, k);
    bump(p, &p->arrived);
    wait_for(p, &p->arrived, g * (unsigned)p->slices);
    sum_share(p, k);
    bump(p, &p->finished);
}

/* A small product on the thread's first call, so OpenBLAS's per-thread set-up happens before
 * the training loop (which allocates nothing). */
static void warm_blas(void) {
    float a[16 * 16] = {0}, c[16 * 16];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 16, 16, 16, 1.0f, a, 16, a, 16, 0.0f, c,
                16);
}

static void *worker(void *arg) {
    fanin__row_pool *p = ((worker_arg *)arg)->p;
    int k = ((worker_arg *)arg)->k;
    free(arg);
    warm_blas();
    for (unsigned g = 1;; g++) {
        wait_for(p, &p->go, g);
        if (p->quit) return NULL;
        step_part(p, k, g);
    }
}

/* Run one job over the slices: the other threads started, slice 0 here, all finished. */
static void run_job(fanin__row_pool *p, bool eval, const float *X, const float *Y, int y_dim, int n,
                    int64_t t) {
    p->eval = eval;
    p->X = X;
    p->Y = Y;
    p->y_dim = y_dim;
    p->n = n;
    p->t = t;
    unsigned g = atomic_load(&p->go) + 1;
    bump(p, &p->go); /* publishes the fields above (sequentially consistent) */
    step_part(p, 0, g);
    wait_for(p, &p->finished, g * (unsigned)p->slices);
}

int fanin__row_pool_eval(fanin__row_pool *p, const float *X, const float *Y, int y_dim, int n,
                         double *loss_sum, int64_t *correct, char *err, size_t errlen) {
    run_job(p, true, X, Y, y_dim, n, 0);
    double l = 0;
    int64_t c = 0;
    for (int k = 0; k < p->slices; k++) {
        const slot *s = &p->slots[k];
        if (s->rc < 0) return fanin__errf(err, errlen, s->rc, "%s", s->err);
        l += s->loss;
        c += s->correct;
    }
    *loss_sum = l;
    *correct = c;
    return FANIN_OK;
}

int fanin__row_pool_step(fanin__row_pool *p, const float *X, const float *Y, int y_dim, int n,
                         int64_t t, double *loss, int64_t *correct, bool *finite, char *err,
                         size_t errlen) {
    run_job(p, false, X, Y, y_dim, n, t);
    double l = 0;
    int64_t c = 0;
    *finite = true;
    for (int k = 0; k < p->slices; k++) {
        const slot *s = &p->slots[k];
        int lo, rows;
        fanin__slice_rows(n, k, p->slices, &lo, &rows);
        if (s->rc < 0) return fanin__errf(err, errlen, s->rc, "%s", s->err);
        l += s->loss * rows / n;
        c += s->correct;
        *finite = *finite && s->finite;
    }
    *loss = l;
    *correct = c;
    return FANIN_OK;
}

/* The replicas, the slots and the threads; on failure what was made stays for _free. */
static int pool_start(fanin__row_pool *p, int max_rows, char *err, size_t errlen) {
    int cap = (max_rows + p->slices - 1) / p->slices;
    p->rep[0] = p->m;
    for (int k = 1; k < p->slices; k++) {
        int rc = fanin__model_new_replica(p->m, cap, &p->rep[k], err, errlen);
        if (rc < 0) return rc;
    }
    for (int k = 1; k < p->slices; k++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) return fanin__errf(err, errlen, FANIN_ENOMEM, "row threads: out of memory");
        *a = (worker_arg){p, k};
        if (pthread_create(&p->tid[k - 1], NULL, worker, a) != 0) {
            free(a);
            return fanin__errf(err, errlen, FANIN_ENOMEM, "row threads: cannot start a thread");
        }
        p->n_threads++;
    }
    return FANIN_OK;
}

int fanin__row_pool_new(fanin_model *m, int slices, int max_rows, fanin__row_pool **out, char *err,
                        size_t errlen) {
    *out = NULL;
    if (slices < 2 || max_rows < 1)
        return fanin__errf(err, errlen, FANIN_EINVAL, "row threads: %d slices of %d rows", slices,
                           max_rows);
    fanin__row_pool *p = calloc(1, sizeof *p);
    if (!p) return fanin__errf(err, errlen, FANIN_ENOMEM, "row threads: out of memory");
    p->m = m;
    p->slices = slices;
    p->blas = openblas_get_num_threads();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->rep = calloc((size_t)slices, sizeof *p->rep);
    p->tid = calloc((size_t)slices, sizeof *p->tid);
    p->slots = aligned_alloc(64, sizeof(slot) * (size_t)slices);
    openblas_set_num_threads(1); /* each slice's products on its own thread */
    int rc = p->rep && p->tid && p->slots
                 ? pool_start(p, max_rows, err, errlen)
                 : fanin__errf(err, errlen, FANIN_ENOMEM, "row threads: out of memory");
    if (rc < 0) {
        fanin__row_pool_free(p);
        return rc;
    }
    *out = p;
    return FANIN_OK;
}

void fanin__row_pool_free(fanin__row_pool *p) {
    if (!p) return;
    p->quit = true;
    bump(p, &p->go);
    for (int i = 0; i < p->n_threads; i++) pthread_join(p->tid[i], NULL);
    for (int k = 1; p->rep && k < p->slices; k++) fanin__model_free(p->rep[k]);
    openblas_set_num_threads(p->blas);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->slots);
    free(p->rep);
    free(p->tid);
    free(p);
}
