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

/* aligned_alloc needs a size that is a multiple of the alignment (C11 7.22.3.1) */
static size_t round_up(size_t bytes, size_t align) { return (bytes + align - 1) / align * align; }

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
    m->opt_state = aligned_alloc(16, round_up(m->opt_state_size ? m->opt_state_size : 16, 16));
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
    m->block = aligned_alloc(64, round_up(nf * sizeof(float), 64));
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

/* Fill one tensor with its plugin. `m` (NULL for a bias) is the model the layer_forward
 * service runs, `l` its layer. */
static int fill(const fanin__pref *init, const fanin_tensor *t, double gain, fanin_rng *rng,
                fanin_model *m, int l, const char *what, char *err, size_t errlen) {
    const fanin_initializer_vt *vt = init->entry->plugin->vtable;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, init->entry, gain);
    ctx.model = m;
    ctx.layer = l;
    int rc = vt->fill(&ctx, t, init->params, rng);
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, what, err, errlen) : FANIN_OK;
}

/* The stream tensor `tensor` of layer l draws from: its own Philox (seed, layer, tensor), or
 * with rng numpy the one shared MT19937 stream, in call order. */
static void tensor_rng(const fanin_model *m, fanin__mt19937 *mt, int l, int tensor,
                       fanin_rng *rng) {
    if (mt)
        fanin__rng_init_numpy(rng, mt);
    else
        fanin__rng_init(rng, m->x->seed, (uint32_t)l, (uint32_t)tensor);
}

/* rng philox: each tensor draws from its own stream (seed, layer, tensor), so adding a layer
 * leaves the others' initial weights unchanged. rng numpy: np.random.seed(seed) once, then
 * W0, b0, W1, b1, ... from that one stream, as the classic course code's
 * `W[l] = np.random.randn(n_l, n_{l-1}) * 0.01` loop (a zeros bias draws nothing). */
int fanin__model_init_params(fanin_model *m, char *err, size_t errlen) {
    fanin__mt19937 mt, *shared = NULL;
    if (m->x->rng == FANIN_RNG_NUMPY) {
        if (m->x->seed > 0xFFFFFFFFu)
            return fanin__errf(err, errlen, FANIN_ECONFIG, "rng: numpy takes a seed in "
                               "[0, 4294967295], as np.random.seed does; got %llu",
                               (unsigned long long)m->x->seed);
        fanin__mt19937_seed(&mt, (uint32_t)m->x->seed);
        shared = &mt;
    }
    for (int l = 0; l < m->n_layers; l++) {
        fanin__layer *L = &m->layers[l];
        double gain;
        int rc = layer_gain(L, &gain, err, errlen);
        if (rc < 0) return rc;
        fanin_rng rng;
        fanin_tensor w = {L->W, L->n_out, L->n_in, L->n_in, L->n_out, 0};
        tensor_rng(m, shared, l, FANIN_STREAM_WEIGHT, &rng);
        rc = fill(&L->spec->init, &w, gain, &rng, m, l, "weight init", err, errlen);
        if (rc < 0) return rc;
        fanin_tensor b = {L->b, L->n_out, 1, L->n_in, L->n_out, 1};
        tensor_rng(m, shared, l, FANIN_STREAM_BIAS, &rng);
        rc = fill(&L->spec->bias_init, &b, gain, &rng, NULL, l, "bias init", err, errlen);
        if (rc < 0) return rc;
    }
    return FANIN_OK;
}

void fanin__model_set_init_batch(fanin_model *m, const float *X, int64_t n) {
    m->init_X = n > 0 ? X : NULL;
    m->init_n = !X || n <= 0 ? 0 : n > m->cap ? m->cap : (int)n;
}

/* Layer l on n rows of `in` [n, n_in]: Z = in . W^T + b, then A = f(Z); with `pre_only`,
 * Z = in . W^T alone (zero bias, no activation) for the layer_forward service. */
static int forward_layer(fanin_model *m, int l, const float *in, int n, bool pre_only,
                         char *err, size_t errlen) {
    fanin__layer *L = &m->layers[l];
    if (!pre_only)
        for (int r = 0; r < n; r++)
            memcpy(L->Z + (size_t)r * L->n_out, L->b, sizeof(float) * L->n_out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L->n_out, L->n_in, 1.0f, in,
                L->n_in, L->W, L->n_in, pre_only ? 0.0f : 1.0f, L->Z, L->n_out);
    if (pre_only) return FANIN_OK;
    const fanin__pref *a = &L->spec->activation;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, a->entry, 1.0);
    int rc = act_vt(L)->forward(&ctx, L->Z, L->A, (size_t)n * L->n_out, a->params);
    return rc < 0 ? fanin__ctx_fail(&ctx, rc, "activation forward", err, errlen) : FANIN_OK;
}

/* Z = A_prev . W^T + b   (A_prev [n, n_in], W [n_out, n_in], Z [n, n_out]); A = f(Z).
 * As torch.nn.Linear followed by the activation. */
int fanin__model_forward(fanin_model *m, const float *X, int n, char *err, size_t errlen) {
    const float *in = X;
    for (int l = 0; l < m->n_layers; l++) {
        int rc = forward_layer(m, l, in, n, false, err, errlen);
        if (rc < 0) return rc;
        in = m->layers[l].A;
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
        return fanin__errf(err, errlen, FANIN_ENOTSUP, "layer_forward: this model has no data "
                           "batch to run (the caller set none before initialising)");
    const float *in = m->init_X;
    for (int k = 0; k <= l; k++) {
        int rc = forward_layer(m, k, in, m->init_n, k == l, err, errlen);
        if (rc < 0) return rc;
        in = m->layers[k].A;
    }
    *out = m->layers[l].Z;
    *rows = m->init_n;
    *cols = m->layers[l].n_out;
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
