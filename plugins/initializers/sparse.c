/* sparse: W ~ N(0, std^2), then in every column ceil(sparsity * rows) distinct, uniformly
 * chosen entries set to 0. Martens 2010, "Deep learning via Hessian-free optimization",
 * section 5 (sparse initialization); torch.nn.init.sparse_(sparsity, std=0.01), whose
 * defaults' std this is. (Caffe's gaussian `sparse: k` is a Bernoulli mask instead.) A bias
 * (cols = 1) is one column. mean 0, std = std * sqrt(1 - ceil(sparsity rows) / rows).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_SPARSITY, P_STD };

static size_t zeros_per_column(const fanin_tensor *t, const fanin_value *p) {
    /* as PyTorch: int(math.ceil(s * rows)) */
    return (size_t)ceil(p[P_SPARSITY].f * (double)t->rows);
}

/* Each column: a partial Fisher-Yates shuffle of the row indices picks its zeros. */
static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t), rows = (size_t)t->rows, cols = (size_t)t->cols;
    if (n == 0)
        return FANIN_OK;
    size_t *idx = FANIN_HOST->alloc(ctx, rows * sizeof *idx), k = zeros_per_column(t, p);
    if (!idx)
        return FANIN_HOST->error(ctx, FANIN_ENOMEM, "sparse: no memory for %zu indices", rows);
    FANIN_HOST->rng_normal(rng, t->data, n, 0.0, p[P_STD].f);
    for (size_t j = 0; j < cols; j++) {
        for (size_t i = 0; i < rows; i++)
            idx[i] = i;
        for (size_t i = 0; i < k; i++) {
            size_t s = i + (size_t)init_below(rng, rows - i), v = idx[s];
            idx[s] = idx[i];
            idx[i] = v;
            t->data[v * cols + j] = 0.0f;
        }
    }
    FANIN_HOST->free(ctx, idx);
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    if (init_size(t) == 0)
        return init_empty_moments(mean, std);
    *mean = 0.0;
    *std = p[P_STD].f * sqrt(1.0 - (double)zeros_per_column(t, p) / (double)t->rows);
    return FANIN_OK;
}

static const fanin_param_spec schema[] = {
    {.name = "sparsity", .type = FANIN_PARAM_F64, .flags = FANIN_PARAM_REQUIRED, .def = 0.1,
     .min = 0.0, .max = 1.0,
     .doc = "fraction of each column set to zero, in [0, 1] (required, as in PyTorch)"},
    {.name = "std", .type = FANIN_PARAM_F64, .flags = FANIN_PARAM_NO_MAX, .def = 0.01, .min = 0.0,
     .doc = "std of the non-zero entries (PyTorch default 0.01)"},
    {0},
};

FANIN_INITIALIZER(sparse, "sparse", "1.0.0",
                  "N(0, std^2) with ceil(sparsity*rows) zeros per column (Martens 2010)", schema,
                  fill, moments);
