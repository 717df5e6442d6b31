/* lsuv: layer-sequential unit-variance init. Mishkin & Matas 2016, "All you need is a good
 * init" (ICLR), Algorithm 1:
 *   pre-initialise W with an orthonormal matrix (Saxe et al. 2014);
 *   repeat: B = this layer's output on a batch; if |Var(B) - 1| < tol or T >= T_max: stop;
 *           W = W / sqrt(Var(B)).
 * Layers are initialised first to last, so each sees the already-normalised layers before it.
 * B is the pre-activation x W^T (bias zero while measuring), from the host's layer_forward
 * service (ABI 1.1) on the experiment's first training rows. A bias (`bias_init: lsuv`) is
 * filled with zeros, as the paper's networks start. None of PyTorch, Keras or JAX ships it.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_TOL, P_MAX_ITER, P_PRE };
enum { PRE_ORTHOGONAL, PRE_NORMAL }; /* index into pre_choices[] */

/* W [r, c] = Q of the QR of a N(0, 1) matrix (host qr: Haar-distributed, diag(R) >= 0). QR
 * needs rows >= cols, so a wide W factors its transpose, as torch.nn.init.orthogonal_ does:
 * its rows are then orthonormal. */
static int orthogonal(fanin_ctx *ctx, const fanin_tensor *t, fanin_rng *rng) {
    int r = (int)t->rows, c = (int)t->cols;
    size_t n = init_size(t);
    FANIN_HOST->rng_normal(rng, t->data, n, 0.0, 1.0);
    if (r >= c) return FANIN_HOST->qr(ctx, t->data, r, c);
    float *wt = FANIN_HOST->alloc(ctx, n * sizeof *wt); /* W^T [c, r] */
    if (!wt) return FANIN_HOST->error(ctx, FANIN_ENOMEM, "no memory for a %d x %d matrix", c, r);
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) wt[(size_t)j * r + i] = t->data[(size_t)i * c + j];
    int rc = FANIN_HOST->qr(ctx, wt, c, r);
    if (rc == FANIN_OK)
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++) t->data[(size_t)i * c + j] = wt[(size_t)j * r + i];
    FANIN_HOST->free(ctx, wt);
    return rc;
}

/* Var over all n values (mean-centred, two passes in double). */
static double variance(const float *z, size_t n) {
    double mean = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) mean += z[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) ss += ((double)z[i] - mean) * ((double)z[i] - mean);
    return ss / (double)n;
}

static int has_layer_forward(void) {
    return FANIN_HAS_FIELD(fanin_host, layer_forward, FANIN_HOST->hdr.struct_size) &&
           FANIN_HOST->layer_forward;
}

static int needs_data(fanin_ctx *ctx) {
    if (!has_layer_forward())
        return FANIN_HOST->error(ctx, FANIN_ENOTSUP,
                                 "lsuv needs data: this fanin (plugin ABI "
                                 "1.%u) has no layer_forward service (ABI >= 1.1); upgrade fanin",
                                 (unsigned)FANIN_HOST->hdr.abi_minor);
    return FANIN_HOST->error(ctx, FANIN_ENOTSUP,
                             "lsuv needs data: it rescales each layer until "
                             "its output on a batch of training rows has variance 1, and no batch "
                             "is available here (init-stats and plugin checks run without data); "
                             "use it as a layer's init in an experiment, or `orthogonal` for a "
                             "data-free init");
}

/* Algorithm 1's loop on a pre-initialised W: rescale until |Var - 1| < tol or max_iter
 * rescalings were made (then keep W and warn). */
static int rescale(fanin_ctx *ctx, const fanin_tensor *t, double tol, int64_t max_iter) {
    size_t n = init_size(t);
    for (int64_t it = 0;; it++) {
        const float *z;
        int64_t rows, cols;
        int rc = FANIN_HOST->layer_forward(ctx, &z, &rows, &cols);
        if (rc == FANIN_ENOTSUP) return needs_data(ctx);
        if (rc < 0) return rc;
        double var = variance(z, (size_t)(rows * cols));
        if (!isfinite(var) || var <= 0.0)
            return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                     "lsuv: the layer's output on the batch "
                                     "has variance %g (%lld x %lld values), so it cannot be "
                                     "scaled to 1; check the data and the earlier layers",
                                     var, (long long)rows, (long long)cols);
        if (fabs(var - 1.0) < tol) return FANIN_OK;
        if (it >= max_iter) {
            FANIN_HOST->log(ctx, FANIN_LOG_WARN,
                            "lsuv: output variance %.4g after %lld "
                            "rescalings is not within tol %g of 1; keeping it",
                            var, (long long)max_iter, tol);
            return FANIN_OK;
        }
        double s = sqrt(var);
        for (size_t i = 0; i < n; i++) t->data[i] = (float)(t->data[i] / s);
    }
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t);
    if (n == 0) return FANIN_OK;
    if (t->is_bias) {
        for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
        return FANIN_OK;
    }
    if (!has_layer_forward()) return needs_data(ctx);
    int rc = FANIN_OK;
    if (p[P_PRE].e == PRE_NORMAL) FANIN_HOST->rng_normal(rng, t->data, n, 0.0, 1.0);
    else rc = orthogonal(ctx, t, rng);
    return rc < 0 ? rc : rescale(ctx, t, p[P_TOL].f, p[P_MAX_ITER].i);
}

static const char *const pre_choices[] = {"orthogonal", "normal", NULL};

static const fanin_param_spec schema[] = {
    {.name = "tol",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 0.1,
     .min = 0.0,
     .doc = "stop when |Var(layer output) - 1| < tol (Tol_var)"},
    {.name = "max_iter",
     .type = FANIN_PARAM_I64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 10,
     .min = 0,
     .doc = "at most this many rescalings per layer (T_max)"},
    {.name = "pre",
     .type = FANIN_PARAM_ENUM,
     .def = PRE_ORTHOGONAL,
     .choices = pre_choices,
     .doc = "pre-initialisation: orthogonal (Saxe et al. 2014, the paper's) or normal N(0, 1)"},
    {0},
};

FANIN_INITIALIZER(lsuv, "lsuv", "1.0.0",
                  "data-dependent: orthogonal, then W /= sqrt(Var(output)) until Var = 1 "
                  "(Mishkin & Matas 2016)",
                  schema, fill, NULL);
