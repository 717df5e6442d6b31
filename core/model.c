/* The network: dense float32 layers, their buffers carved from one block at build time, and
 * the forward and backward passes through cblas_sgemm. Losses live in loss.c, the loop in
 * train.c. Shapes: activations are row-major [rows, units]; W is [n_out, n_in] as PyTorch. */
#include "internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const fanin_activation_vt *act_vt(const fanin__layer *L) {
    return (const fanin_activation_vt *)L->spec->activation.entry->plugin->vtable;
}

static size_t round16(size_t bytes) { return (bytes + 15) & ~(size_t)15; }

/* Sizes of the one block: params, grads, then Z, A, dA per layer. */
static size_t block_floats(const fanin_experiment *x, int n_in, int cap, size_t *n_params) {
    size_t np = 0, act = 0;
    int prev = n_in;
    for (int l = 0; l < x->n_layers; l++) {
        int u = x->layers[l].units;
        np += (size_t)u * (size_t)prev + (size_t)u;
        act += 3 * (size_t)cap * (size_t)u;
        prev = u;
    }
    *n_params = np;
    return 2 * np + act;
}

/* Point every layer's views into the block (llm.c's malloc_and_point_parameters). */
static void carve(fanin_model *m) {
    float *p = m->params, *g = m->grads, *a = m->grads + m->n_params;
    int prev = m->n_in;
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        L->n_in = prev;
        L->n_out = m->x->layers[l].units;
        L->spec = &m->x->layers[l];
        size_t nw = (size_t)L->n_out * (size_t)L->n_in, cells = (size_t)m->cap * L->n_out;
        L->W = p; L->b = p + nw; p += nw + L->n_out;
        L->dW = g; L->db = g + nw; g += nw + L->n_out;
        L->Z = a; L->A = a + cells; L->dA = a + 2 * cells; a += 3 * cells;
        prev = L->n_out;
    }
}

static int alloc_optimizer(fanin_model *m, char *err, size_t errlen) {
    const fanin__pref *o = &m->x->optimizer;
    const fanin_optimizer_vt *vt = o->entry->plugin->vtable;
    m->opt_state_size = vt->state_size(m->n_params, o->params);
    m->opt_state = aligned_alloc(16, round16(m->opt_state_size ? m->opt_state_size : 16));
    if (!m->opt_state) return fanin__errf(err, errlen, FANIN_ENOMEM, "optimizer state: out of memory");
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, o->entry, 1.0);
    int rc = vt->init_state(&ctx, m->opt_state, m->n_params, o->params);
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, "init_state", err, errlen) : FANIN_OK;
}

int fanin__model_new(const fanin_experiment *x, int n_in, int cap, fanin_model **out,
                     char *err, size_t errlen) {
    *out = NULL;
    if (n_in < 1 || cap < 1 || x->n_layers < 1)
        return fanin__errf(err, errlen, FANIN_EINVAL, "model: empty input or layer list");
    fanin_model *m = calloc(1, sizeof *m);
    if (!m) return fanin__errf(err, errlen, FANIN_ENOMEM, "model: out of memory");
    m->x = x;
    m->n_layers = x->n_layers;
    m->n_in = n_in;
    m->cap = cap;
    m->fused_output = x->loss == FANIN_LOSS_BCE &&
                      !strcmp(x->layers[x->n_layers - 1].activation.entry->plugin->name, "sigmoid");
    size_t nf = block_floats(x, n_in, cap, &m->n_params);
    m->layers = calloc((size_t)x->n_layers, sizeof *m->layers);
    m->block = aligned_alloc(64, round16(nf * sizeof(float)) + 64);
    if (!m->layers || !m->block) {
        fanin__model_free(m);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "model: cannot allocate %zu floats", nf);
    }
    memset(m->block, 0, nf * sizeof(float));
    m->params = m->block;
    m->grads = m->block + m->n_params;
    carve(m);
    int rc = alloc_optimizer(m, err, errlen);
    if (rc < 0) {
        fanin__model_free(m);
        return rc;
    }
    *out = m;
    return FANIN_OK;
}

void fanin__model_free(fanin_model *m) {
    if (!m) return;
    free(m->opt_state);
    free(m->block);
    free(m->layers);
    free(m);
}

/* The gain of a layer's activation, for initializers that ask (calculate_gain). */
static int layer_gain(const fanin__layer *L, double *gain, char *err, size_t errlen) {
    const fanin__pref *a = &L->spec->activation;
    int rc = act_vt(L)->gain(a->params, gain);
    if (rc < 0 || !isfinite(*gain) || *gain <= 0)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "plugin %s (%s): gain() gave no positive finite gain",
                           a->entry->plugin->name, a->entry->path);
    return FANIN_OK;
}

static int fill(const fanin__pref *init, const fanin_tensor *t, double gain, fanin_rng *rng,
                const char *what, char *err, size_t errlen) {
    const fanin_initializer_vt *vt = init->entry->plugin->vtable;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, init->entry, gain);
    int rc = vt->fill(&ctx, t, init->params, rng);
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, what, err, errlen) : FANIN_OK;
}

/* Each tensor draws from its own Philox stream (seed, layer, tensor): adding a layer leaves
 * the others' initial weights unchanged. */
int fanin__model_init_params(fanin_model *m, char *err, size_t errlen) {
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        double gain;
        int rc = layer_gain(L, &gain, err, errlen);
        if (rc < 0) return rc;
        fanin_rng rng;
        fanin_tensor w = {L->W, L->n_out, L->n_in, L->n_in, L->n_out, 0};
        fanin__rng_init(&rng, m->x->seed, (uint32_t)l, FANIN_STREAM_WEIGHT);
        if ((rc = fill(&L->spec->init, &w, gain, &rng, "weight init", err, errlen)) < 0) return rc;
        fanin_tensor b = {L->b, L->n_out, 1, L->n_in, L->n_out, 1};
        fanin__rng_init(&rng, m->x->seed, (uint32_t)l, FANIN_STREAM_BIAS);
        if ((rc = fill(&L->spec->bias_init, &b, gain, &rng, "bias init", err, errlen)) < 0) return rc;
    }
    return FANIN_OK;
}

/* Z = A_prev . W^T + b   (A_prev [n, n_in], W [n_out, n_in], Z [n, n_out]); A = f(Z).
 * As torch.nn.Linear followed by the activation. */
int fanin__model_forward(fanin_model *m, const float *X, int n, char *err, size_t errlen) {
    const float *in = X;
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        for (int r = 0; r < n; r++) memcpy(L->Z + (size_t)r * L->n_out, L->b, sizeof(float) * L->n_out);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L->n_out, L->n_in, 1.0f, in,
                    L->n_in, L->W, L->n_in, 1.0f, L->Z, L->n_out);
        const fanin__pref *a = &L->spec->activation;
        fanin_ctx ctx;
        fanin__ctx_init(&ctx, a->entry, 1.0);
        int rc = act_vt(L)->forward(&ctx, L->Z, L->A, (size_t)n * L->n_out, a->params);
        if (rc < 0) return fanin__ctx_fail(&ctx, rc, "activation forward", err, errlen);
        in = L->A;
    }
    return FANIN_OK;
}

/* Backward of one layer, given dA (overwritten by dZ unless the loss already wrote dZ):
 *   dZ = dA * f'(Z)          (the activation plugin)
 *   dW = dZ^T . A_prev       [n_out, n_in]
 *   db = sum over rows of dZ [n_out]
 *   dA_prev = dZ . W         [n, n_in]   (skipped for the first layer) */
static int layer_backward(fanin_model *m, int l, const float *in, int n, bool dz_ready,
                          char *err, size_t errlen) {
    fanin__layer *L = &m->layers[l];
    if (!dz_ready) {
        const fanin__pref *a = &L->spec->activation;
        fanin_ctx ctx;
        fanin__ctx_init(&ctx, a->entry, 1.0);
        int rc = act_vt(L)->backward(&ctx, L->Z, L->A, L->dA, L->dA, (size_t)n * L->n_out, a->params);
        if (rc < 0) return fanin__ctx_fail(&ctx, rc, "activation backward", err, errlen);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->n_out, L->n_in, n, 1.0f, L->dA,
                L->n_out, in, L->n_in, 0.0f, L->dW, L->n_in);
    memset(L->db, 0, sizeof(float) * L->n_out);
    for (int r = 0; r < n; r++) {
        const float *dz = L->dA + (size_t)r * L->n_out;
        for (int j = 0; j < L->n_out; j++) L->db[j] += dz[j];
    }
    if (l > 0) {
        fanin__layer *P = &m->layers[l - 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, L->n_in, L->n_out, 1.0f, L->dA,
                    L->n_out, L->W, L->n_in, 0.0f, P->dA, L->n_in);
    }
    return FANIN_OK;
}

int fanin__model_backward(fanin_model *m, const float *X, int n, char *err, size_t errlen) {
    for (int l = m->n_layers - 1; l >= 0; l--) {
        const float *in = l ? m->layers[l - 1].A : X;
        bool dz_ready = l == m->n_layers - 1 && m->fused_output;
        int rc = layer_backward(m, l, in, n, dz_ready, err, errlen);
        if (rc < 0) return rc;
    }
    return FANIN_OK;
}
