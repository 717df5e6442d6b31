/* The network: its layers (each of a kind, layer.h) with their buffers carved from one block at
 * build time, parameter initialisation, and the forward and backward passes over the layers.
 * Losses live in loss.c, the loop in train.c. Activations are row-major [rows, units]. */
#include "engine/model.h"
#include "base/errors.h"
#include "base/rng.h"
#include "config/experiment.h"
#include "config/pref.h"
#include "engine/layer.h"
#include "engine/loss.h"
#include "plugin/host.h"

#include <stdint.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* aligned_alloc needs a size that is a multiple of the alignment (C11 7.22.3.1) */
static size_t round_up(size_t bytes, size_t align) { return (bytes + align - 1) / align * align; }

/* "[1, 28, 28] -> [8, 26, 26] -> ...": the model's input and the outputs of the layers before
 * L (the last few of a deep model), for shape errors. */
static void shapes_so_far(const fanin__layer *L, char *buf, size_t len) {
    const fanin_model *m = L->model;
    int from = L->index > 6 ? L->index - 6 : 0;
    char s[64];
    size_t o;
    fanin__shape_text(m->input, s, sizeof s);
    o = (size_t)snprintf(buf, len, "%s%s", s, from ? " -> ..." : "");
    for (int l = from; l < L->index && o < len; l++) {
        fanin__shape_text(m->layers[l].out, s, sizeof s);
        o += (size_t)snprintf(buf + o, len - o, " -> %s", s);
    }
}

/* "t.yaml:12:7: layer 4 (conv2d, input [8, 26, 26]): why; shapes so far: [1, 28, 28] -> ...":
 * where the layer (or its residual block) was written, for shape errors. */
static int layer_error(const fanin__layer *L, const char *why, char *err, size_t errlen) {
    const fanin__loc *at = &L->spec->loc;
    char in[64], so_far[300];
    fanin__shape_text(L->in, in, sizeof in);
    shapes_so_far(L, so_far, sizeof so_far);
    if (at->file && at->line)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s:%d:%d: layer %d (%s, input %s): %s; "
                           "shapes so far: %s",
                           at->file, at->line, at->col, L->index + 1, L->kind->name, in, why,
                           so_far);
    return fanin__errf(err, errlen, FANIN_ECONFIG,
                       "layer %d (%s, input %s): %s; shapes so far: "
                       "%s",
                       L->index + 1, L->kind->name, in, why, so_far);
}

/* One layer's kind and shape from its input's; adds what it needs to *total. */
static int shape_layer(fanin__layer *L, fanin__layer_size *total, char *err, size_t errlen) {
    L->kind = fanin__layer_kind_of(L->spec->type);
    if (!L->kind)
        return fanin__errf(err, errlen, FANIN_EINVAL, "model: layer %d has unknown kind %d",
                           L->index + 1, L->spec->type);
    fanin__layer_size sz = {0};
    char why[FANIN_ERRLEN];
    if (L->kind->shape(L, &sz, why, sizeof why) < 0) return layer_error(L, why, err, errlen);
    total->params += sz.params;
    total->buffers += sz.buffers;
    total->act_per_row += sz.act_per_row;
    if (sz.scratch > total->scratch) total->scratch = sz.scratch;
    return FANIN_OK;
}

/* Every layer's kind and shapes, input to output; the sizes of the one block. */
static int shape_layers(fanin_model *m, fanin__layer_size *total, char *err, size_t errlen) {
    fanin__shape prev = m->input;
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        *L = (fanin__layer){.spec = &m->x->layers[l], .model = m, .index = l, .in = prev};
        int rc = shape_layer(L, total, err, errlen);
        if (rc < 0) return rc;
        prev = L->out;
    }
    m->n_params = total->params;
    m->n_bufs = total->buffers;
    m->n_scratch = total->scratch;
    return FANIN_OK;
}

/* Point every layer's views into the block (llm.c's malloc_and_point_parameters): parameters
 * at m->params, gradients at m->grads, buffers at m->bufs, activations from `a` on. */
static void carve(fanin_model *m, float *a) {
    float *p = m->params, *g = m->grads, *b = m->bufs;
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        fanin__layer_size sz = {0};
        char why[8];
        L->kind->shape(L, &sz, why, sizeof why); /* succeeded in shape_layers */
        L->kind->carve(L, p, g, b, a, m->cap);
        L->scratch = m->scratch;
        p += sz.params;
        g += sz.params;
        b += sz.buffers;
        a += sz.act_per_row * (size_t)m->cap;
    }
}

/* Block layout: params, grads, buffers, activations (cap rows per layer), scratch. */
static int alloc_block(fanin_model *m, char *err, size_t errlen) {
    fanin__layer_size total = {0};
    int rc = shape_layers(m, &total, err, errlen);
    if (rc < 0) return rc;
    size_t act = total.act_per_row * (size_t)m->cap;
    size_t nf = 2 * m->n_params + m->n_bufs + act + m->n_scratch;
    m->block = aligned_alloc(64, round_up(nf * sizeof(float), 64));
    if (!m->block)
        return fanin__errf(err, errlen, FANIN_ENOMEM, "model: cannot allocate %zu floats", nf);
    memset(m->block, 0, nf * sizeof(float));
    m->params = m->block;
    m->grads = m->block + m->n_params;
    m->bufs = m->grads + m->n_params;
    m->scratch = m->bufs + m->n_bufs + act;
    carve(m, m->bufs + m->n_bufs);
    return FANIN_OK;
}

/* A replica's block: its own gradients, activations (cap rows) and scratch; src's parameters
 * and buffers. Layout: grads, activations, scratch. */
static int alloc_replica_block(fanin_model *m, const fanin_model *src, char *err, size_t errlen) {
    fanin__layer_size total = {0};
    int rc = shape_layers(m, &total, err, errlen);
    if (rc < 0) return rc;
    size_t act = total.act_per_row * (size_t)m->cap;
    size_t nf = m->n_params + act + m->n_scratch;
    m->block = aligned_alloc(64, round_up((nf ? nf : 1) * sizeof(float), 64));
    if (!m->block)
        return fanin__errf(err, errlen, FANIN_ENOMEM, "model: cannot allocate %zu floats", nf);
    memset(m->block, 0, nf * sizeof(float));
    m->params = src->params;
    m->bufs = src->bufs;
    m->grads = m->block;
    m->scratch = m->block + m->n_params + act;
    carve(m, m->block + m->n_params);
    return FANIN_OK;
}

int fanin__model_new(const fanin_experiment *x, int n_in, int cap, fanin_model **out, char *err,
                     size_t errlen) {
    return fanin__model_new_shaped(x, (fanin__shape){n_in, 1, 1}, cap, out, err, errlen);
}

int fanin__model_new_shaped(const fanin_experiment *x, fanin__shape input, int cap,
                            fanin_model **out, char *err, size_t errlen) {
    *out = NULL;
    int n_in = (int)fanin__shape_size(input);
    if (n_in < 1 || cap < 1 || x->n_layers < 1)
        return fanin__errf(err, errlen, FANIN_EINVAL, "model: empty input or layer list");
    fanin_model *m = calloc(1, sizeof *m);
    if (!m) return fanin__errf(err, errlen, FANIN_ENOMEM, "model: out of memory");
    m->x = x;
    m->n_layers = x->n_layers;
    m->n_in = n_in;
    m->input = input;
    m->cap = cap;
    m->fused_output = fanin__loss_fuses(x);
    m->layers = calloc((size_t)x->n_layers, sizeof *m->layers);
    int rc = m->layers ? alloc_block(m, err, errlen)
                       : fanin__errf(err, errlen, FANIN_ENOMEM, "model: out of memory");
    if (rc == FANIN_OK) rc = fanin__param_groups_new(m, err, errlen); /* param_groups.c */
    if (rc < 0) {
        fanin__model_free(m);
        return rc;
    }
    *out = m;
    return FANIN_OK;
}

int fanin__model_new_replica(const fanin_model *src, int cap, fanin_model **out, char *err,
                             size_t errlen) {
    *out = NULL;
    if (cap < 1) return fanin__errf(err, errlen, FANIN_EINVAL, "model: a replica of 0 rows");
    fanin_model *m = calloc(1, sizeof *m);
    if (!m) return fanin__errf(err, errlen, FANIN_ENOMEM, "model: out of memory");
    m->x = src->x;
    m->n_layers = src->n_layers;
    m->n_in = src->n_in;
    m->input = src->input;
    m->cap = cap;
    m->fused_output = src->fused_output;
    m->layers = calloc((size_t)m->n_layers, sizeof *m->layers);
    int rc = m->layers ? alloc_replica_block(m, src, err, errlen)
                       : fanin__errf(err, errlen, FANIN_ENOMEM, "model: out of memory");
    if (rc == FANIN_OK && m->n_params != src->n_params)
        rc = fanin__errf(err, errlen, FANIN_EINVAL, "model: replica differs from its source");
    if (rc < 0) {
        fanin__model_free(m);
        return rc;
    }
    *out = m;
    return FANIN_OK;
}

void fanin__model_free(fanin_model *m) {
    if (!m) return;
    fanin__param_groups_free(m);
    free(m->opt_state);
    free(m->block);
    free(m->layers);
    free(m);
}

/* The gain of a layer's activation, for initializers that ask (calculate_gain). */
static int layer_gain(const fanin__layer *L, double *gain, char *err, size_t errlen) {
    const fanin__pref *a = &L->spec->activation;
    *gain = 1.0;
    if (!a->entry) return FANIN_OK; /* a kind without an activation (pools, norms, dropout) */
    const fanin_activation_vt *vt = a->entry->plugin->vtable;
    int rc = vt->gain(a->params, gain);
    if (rc < 0 || !isfinite(*gain) || *gain <= 0)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "plugin %s (%s): gain() gave no positive finite gain",
                           a->entry->plugin->name, a->entry->path);
    return FANIN_OK;
}

/* The layer_forward service for the layer being initialised (installed by init_params). */
static int layer_forward_service(void *user, const float **out, int64_t *rows, int64_t *cols,
                                 char *err, size_t errlen) {
    fanin__forward_user *u = user;
    return fanin__model_layer_forward(u->m, u->layer, out, rows, cols, err, errlen);
}

/* rng philox: each tensor draws from its own stream (seed, layer, tensor), so adding a layer
 * leaves the others' initial weights unchanged. rng numpy: np.random.seed(seed) once, then
 * W0, b0, W1, b1, ... from that one stream, as the classic course code's
 * `W[l] = np.random.randn(n_l, n_{l-1}) * 0.01` loop (a zeros bias draws nothing). */
int fanin__model_init_params(fanin_model *m, char *err, size_t errlen) {
    fanin__mt19937 mt;
    fanin__init_env env = {.seed = m->x->seed, .forward = layer_forward_service};
    if (m->x->rng == FANIN_RNG_NUMPY) {
        if (m->x->seed > 0xFFFFFFFFu)
            return fanin__errf(err, errlen, FANIN_ECONFIG,
                               "rng: numpy takes a seed in "
                               "[0, 4294967295], as np.random.seed does; got %llu",
                               (unsigned long long)m->x->seed);
        fanin__mt19937_seed(&mt, (uint32_t)m->x->seed);
        env.mt = &mt;
    }
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        fanin__forward_user u = {m, l};
        double gain;
        int rc = layer_gain(L, &gain, err, errlen);
        if (rc < 0) return rc;
        env.layer = l;
        env.forward_user = &u;
        rc = L->kind->init(L, &env, gain, err, errlen);
        if (rc < 0) return rc;
    }
    return FANIN_OK;
}

void fanin__model_set_init_batch(fanin_model *m, const float *X, int64_t n) {
    m->init_X = n > 0 ? X : NULL;
    m->init_n = !X || n <= 0 ? 0 : n > m->cap ? m->cap : (int)n;
}

void fanin__model_set_init_labels(fanin_model *m, const float *Y) { m->init_Y = Y; }

int fanin__model_forward(fanin_model *m, const float *X, int n, char *err, size_t errlen) {
    const float *in = X;
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        int rc = L->kind->forward(L, in, n, m->pass, err, errlen);
        if (rc < 0) return rc;
        in = L->A;
    }
    return FANIN_OK;
}

/* Layers 0..l-1 in full on the init batch, then layer l's pre-activation with a zero bias:
 * what LSUV (Mishkin & Matas 2016, Alg. 1) measures while it rescales W_l. */
int fanin__model_layer_forward(fanin_model *m, int l, const float **out, int64_t *rows,
                               int64_t *cols, char *err, size_t errlen) {
    if (l < 0 || l >= m->n_layers)
        return fanin__errf(err, errlen, FANIN_EINVAL, "layer_forward: no layer %d", l);
    if (!m->init_X || m->init_n < 1)
        return fanin__errf(err, errlen, FANIN_ENOTSUP,
                           "layer_forward: this model has no data "
                           "batch to run (the caller set none before initialising)");
    const float *in = m->init_X;
    for (int k = 0; k <= l; k++) {
        fanin__layer *L = &m->layers[k];
        int rc = L->kind->forward(L, in, m->init_n, k == l ? FANIN_PASS_PRE : FANIN_PASS_TRAIN, err,
                                  errlen);
        if (rc < 0) return rc;
        in = L->A;
    }
    *out = m->layers[l].Z;
    *rows = m->init_n;
    *cols = m->layers[l].n_out;
    return FANIN_OK;
}

int fanin__model_backward(fanin_model *m, const float *X, int n, char *err, size_t errlen) {
    for (int l = m->n_layers - 1; l >= 0; l--) {
        fanin__layer *L = &m->layers[l];
        const float *in = l ? m->layers[l - 1].A : X;
        float *d_in = l ? m->layers[l - 1].dA : NULL;
        bool dz_ready = l == m->n_layers - 1 && m->fused_output;
        int rc = L->kind->backward(L, in, d_in, n, dz_ready, err, errlen);
        if (rc < 0) return rc;
    }
    return FANIN_OK;
}
