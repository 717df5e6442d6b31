/* Dropout, as torch.nn.Dropout (inverted dropout; Srivastava et al. 2014, JMLR 15, sec. 10,
 * scaled at training time as PyTorch does): y = x * m / (1 - p) in training, y = x otherwise.
 * No parameters. Its mask draws from the Philox stream (seed, layer, FANIN_STREAM_DROPOUT)
 * started at block step << 32, so a step's mask depends on (seed, layer, step) alone: runs
 * repeat and resume bit-identically (docs/random-streams.md). Z and A are one buffer (no
 * activation); aux holds the scaled mask for backward. */
#include "base/errors.h"
#include "base/rng.h"
#include "engine/layer.h"
#include "engine/model.h"
#include "io/safetensors.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* p in [0, 1): p = 1 would zero everything (PyTorch allows it; its output is all zeros and
 * its gradient too, which no experiment wants). */
static int dropout_shape(fanin__layer *L, fanin__layer_size *sz, char *err, size_t errlen) {
    double p = L->spec->p;
    if (!(p >= 0 && p < 1))
        return fanin__errf(err, errlen, FANIN_ECONFIG, "dropout needs p in [0, 1); got %g", p);
    L->out = L->in;
    L->n_in = L->n_out = (int)fanin__shape_size(L->in);
    sz->act_per_row = 3 * (size_t)L->n_out; /* A (= Z), dA, mask */
    return FANIN_OK;
}

static void dropout_carve(fanin__layer *L, float *p, float *g, float *b, float *a, int cap) {
    (void)p, (void)g, (void)b;
    size_t cells = (size_t)cap * L->n_out;
    L->P = L->dP = L->B = NULL;
    L->n_p = L->n_b = 0;
    L->W = L->b = L->dW = L->db = NULL;
    L->w_rows = L->w_cols = 0;
    L->Z = L->A = a;
    L->dA = a + cells;
    L->aux = a + 2 * cells;
}

static int dropout_init(fanin__layer *L, const fanin__init_env *env, double gain, char *err,
                        size_t errlen) {
    (void)L, (void)env, (void)gain, (void)err, (void)errlen;
    return FANIN_OK; /* nothing to draw: the masks have their own stream */
}

/* The scaled mask of n rows [n, K], one 32-bit Philox word per element in row-major order:
 *   u_i = w_i / 2^32 (uniform in [0, 1)),  m_i = (u_i >= p),  mask_i = m_i / (1 - p)
 * (torch.nn.Dropout: bernoulli(1 - p) keeps, then divides by 1 - p). Step s starts at block
 * s << 32: 2^34 words per step before the next step's range. w_i >= p * 2^32 is compared in
 * double, exactly. Element i of batch row r is word r * K + i: a slice of the batch starting
 * at row m->row0 (row_threads.h, data-parallel) starts at word row0 * K, so its masks are the
 * whole batch's rows. */
static void dropout_mask(const fanin__layer *L, float *mask, size_t cells) {
    const fanin_model *m = L->model;
    double p = L->spec->p, cut = p * 4294967296.0;
    float keep = (float)(1.0 / (1.0 - p));
    uint64_t skip = (uint64_t)m->row0 * (uint64_t)L->n_out; /* words before the first row */
    fanin_rng rng;
    fanin__rng_init_at(&rng, m->x->seed, (uint32_t)L->index, FANIN_STREAM_DROPOUT,
                       ((uint64_t)m->step << 32) + skip / 4);
    for (uint64_t i = 0; i < skip % 4; i++) fanin__rng_u32(&rng); /* 4 words per block */
    for (size_t i = 0; i < cells; i++) mask[i] = (double)fanin__rng_u32(&rng) >= cut ? keep : 0.0f;
}

/* TRAIN: y = x * mask (mask as above); EVAL and PRE: y = x, the mask all ones so that
 * backward stays right. p = 0 is the identity in every pass. */
static int dropout_forward(fanin__layer *L, const float *in, int n, int pass, char *err,
                           size_t errlen) {
    (void)err, (void)errlen;
    size_t cells = (size_t)n * L->n_out;
    if (pass != FANIN_PASS_TRAIN || L->spec->p == 0) {
        memcpy(L->A, in, sizeof(float) * cells);
        for (size_t i = 0; i < cells; i++) L->aux[i] = 1.0f;
        return FANIN_OK;
    }
    dropout_mask(L, L->aux, cells);
    for (size_t i = 0; i < cells; i++) L->A[i] = in[i] * L->aux[i];
    return FANIN_OK;
}

/* From y = x * mask: dx = dy * mask   ([n, K]; the mask of the forward pass). */
static int dropout_backward(fanin__layer *L, const float *in, float *d_in, int n, bool dz_ready,
                            char *err, size_t errlen) {
    (void)in, (void)dz_ready, (void)err, (void)errlen;
    if (!d_in) return FANIN_OK;
    size_t cells = (size_t)n * L->n_out;
    for (size_t i = 0; i < cells; i++) d_in[i] = L->dA[i] * L->aux[i];
    return FANIN_OK;
}

/* nn.Dropout has no state_dict entries. */
static int dropout_tensors(const fanin__layer *L, fanin__st_out *out, char (*names)[64]) {
    (void)L, (void)out, (void)names;
    return 0;
}

const fanin__layer_kind fanin__dropout_kind = {
    .name = "dropout",
    .shape = dropout_shape,
    .carve = dropout_carve,
    .init = dropout_init,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .tensors = dropout_tensors,
};
