/* Gradients at initialisation: the fanin_host.init_loss_grad and init_weight services (plugin
 * ABI 1.2) behind metainit and gradinit. Installed by layer.c in the context of the output
 * layer's weight fill, when every other layer is initialised. eval runs what a training step
 * computes before its update, on the init batch (the first min(cap, n_train) training rows and
 * their targets): forward (FANIN_PASS_TRAIN, step m->step), the run's loss, backward into
 * m->grads; the running statistics a train-mode forward updates are restored afterwards, so
 * the model after init is as if the service had never run. Weight tensors are the layers'
 * W (dense [out, in], conv [out, in*kh*kw], a residual block's skip projection), input to
 * output. */
#include "base/errors.h"
#include "engine/loss.h"
#include "engine/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Number of layers with a weight tensor, and the index of the k-th (or -1). */
static int32_t weight_layer(const fanin_model *m, int32_t k, int *at) {
    int32_t count = 0;
    *at = -1;
    for (int l = 0; l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        if (!L->W || L->w_rows < 1 || L->w_cols < 1) continue;
        if (count == k) *at = l;
        count++;
    }
    return count;
}

/* forward, loss and backward on the init batch; bufs (running statistics) kept as they were */
static int eval_batch(fanin_model *m, double *loss, char *err, size_t errlen) {
    float *saved = NULL;
    if (m->n_bufs) {
        saved = malloc(m->n_bufs * sizeof *saved);
        if (!saved) return fanin__errf(err, errlen, FANIN_ENOMEM, "init_loss_grad: out of memory");
        memcpy(saved, m->bufs, m->n_bufs * sizeof *saved);
    }
    int pass = m->pass;
    m->pass = FANIN_PASS_TRAIN;
    int rc = fanin__model_forward(m, m->init_X, m->init_n, err, errlen);
    if (rc == FANIN_OK) {
        *loss = fanin__loss(m, m->init_Y, m->init_n, true);
        rc = fanin__model_backward(m, m->init_X, m->init_n, err, errlen);
    }
    m->pass = pass;
    if (saved) memcpy(m->bufs, saved, m->n_bufs * sizeof *saved);
    free(saved);
    return rc;
}

static int init_grad_eval(void *user, double *loss, int32_t *n_weights, char *err, size_t errlen) {
    fanin_model *m = ((fanin__forward_user *)user)->m;
    if (!m->init_X || m->init_n < 1 || !m->init_Y)
        return fanin__errf(err, errlen, FANIN_ENOTSUP,
                           "init_loss_grad: this model has no labelled batch to evaluate "
                           "(the caller set no init batch or no labels before initialising)");
    int at;
    *n_weights = weight_layer(m, 0, &at);
    return eval_batch(m, loss, err, errlen);
}

static int init_grad_weight(void *user, int32_t k, float **w, const float **grad, int64_t *n,
                            char *err, size_t errlen) {
    const fanin_model *m = ((fanin__forward_user *)user)->m;
    int at;
    int32_t count = weight_layer(m, k, &at);
    if (at < 0)
        return fanin__errf(err, errlen, FANIN_EINVAL,
                           "init_weight: no weight tensor %d (the model has %d, from 0)", (int)k,
                           (int)count);
    const fanin__layer *L = &m->layers[at];
    *w = L->W;
    *grad = L->dW;
    *n = (int64_t)L->w_rows * L->w_cols;
    return FANIN_OK;
}

const fanin__init_grad_ops fanin__model_init_grad = {init_grad_eval, init_grad_weight};
