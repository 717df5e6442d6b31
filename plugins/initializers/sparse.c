/* sparse: two rules, by `per`.
 *   per: column (default): W ~ N(0, std^2), then in every column ceil(sparsity * rows)
 *     distinct, uniformly chosen entries set to 0: torch.nn.init.sparse_(sparsity, std=0.01),
 *     whose default std this is. mean 0, std = std * sqrt(1 - ceil(sparsity rows) / rows).
 *   per: row: every row (unit) keeps exactly min(nonzeros, cols) non-zero incoming weights
 *     N(0, std^2) at uniformly chosen columns, the rest 0: Martens 2010, "Deep learning via
 *     Hessian-free optimization", section 5 ("we hard limit the number of non-zero incoming
 *     connection weights to each unit (we used 15)"). std = std * sqrt(min(k, cols) / cols).
 * torch's rule is a share of zeros per column, not Martens's fixed count per unit (issue 11);
 * Caffe's gaussian `sparse: k` is a Bernoulli mask (`caffe_gaussian`). A bias (cols = 1) is one
 * column. `sparsity` is required by torch; here it defaults to 0.1 so `per: row` needs none.
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_SPARSITY, P_STD, P_PER, P_NONZEROS };
enum { PER_COLUMN, PER_ROW };

/* column: zeros chosen per column among rows (as PyTorch: int(math.ceil(s * rows)));
 * row: non-zeros chosen per row among cols */
static size_t picks(const fanin_tensor *t, const fanin_value *p) {
    if (p[P_PER].e == PER_ROW)
        return p[P_NONZEROS].i < t->cols ? (size_t)p[P_NONZEROS].i : (size_t)t->cols;
    return (size_t)ceil(p[P_SPARSITY].f * (double)t->rows);
}

/* Among m slots [0, m) (stride apart from base) a partial Fisher-Yates shuffle picks k; each
 * picked slot gets `value` (draw 0) or a fresh N(0, value) draw (draw 1). */
static void pick(fanin_rng *rng, size_t *idx, size_t m, size_t k, float *base, size_t stride,
                 float value, int draw) {
    for (size_t i = 0; i < m; i++) idx[i] = i;
    for (size_t i = 0; i < k; i++) {
        size_t s = i + (size_t)init_below(rng, m - i), v = idx[s];
        idx[s] = idx[i];
        idx[i] = v;
        if (draw) FANIN_HOST->rng_normal(rng, &base[v * stride], 1, 0.0, value);
        else base[v * stride] = value;
    }
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    size_t n = init_size(t), rows = (size_t)t->rows, cols = (size_t)t->cols;
    if (n == 0) return FANIN_OK;
    int per_row = p[P_PER].e == PER_ROW;
    size_t m = per_row ? cols : rows, k = picks(t, p);
    size_t *idx = FANIN_HOST->alloc(ctx, m * sizeof *idx);
    if (!idx) return FANIN_HOST->error(ctx, FANIN_ENOMEM, "sparse: no memory for %zu indices", m);
    if (per_row) { /* zeros, then k N(0, std) per row */
        for (size_t i = 0; i < n; i++) t->data[i] = 0.0f;
        for (size_t i = 0; i < rows; i++)
            pick(rng, idx, cols, k, t->data + i * cols, 1, (float)p[P_STD].f, 1);
    } else { /* N(0, std), then k zeros per column */
        FANIN_HOST->rng_normal(rng, t->data, n, 0.0, p[P_STD].f);
        for (size_t j = 0; j < cols; j++) pick(rng, idx, rows, k, t->data + j, cols, 0.0f, 0);
    }
    FANIN_HOST->free(ctx, idx);
    return FANIN_OK;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    (void)ctx;
    if (init_size(t) == 0) return init_empty_moments(mean, std);
    double k = (double)picks(t, p);
    double keep = p[P_PER].e == PER_ROW ? k / (double)t->cols : 1.0 - k / (double)t->rows;
    *mean = 0.0;
    *std = p[P_STD].f * sqrt(keep);
    return FANIN_OK;
}

static const char *const pers[] = {"column", "row", NULL};

static const fanin_param_spec schema[] = {
    {.name = "sparsity",
     .type = FANIN_PARAM_F64,
     .def = 0.1,
     .min = 0.0,
     .max = 1.0,
     .doc = "per: column: fraction of each column set to zero, in [0, 1] (torch requires it)"},
    {.name = "std",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 0.01,
     .min = 0.0,
     .doc = "std of the non-zero entries (PyTorch default 0.01; Martens drew N(0, 1))"},
    {.name = "per",
     .type = FANIN_PARAM_ENUM,
     .def = PER_COLUMN,
     .choices = pers,
     .doc = "column: torch's share of zeros per column; row: Martens's non-zeros per unit"},
    {.name = "nonzeros",
     .type = FANIN_PARAM_I64,
     .flags = FANIN_PARAM_NO_MAX,
     .def = 15.0,
     .min = 1.0,
     .doc = "per: row: non-zero incoming weights per unit (Martens 2010: 15)"},
    {0},
};

FANIN_INITIALIZER(sparse, "sparse", "1.1.0",
                  "N(0, std^2), zeros per column (torch sparse_) or N per row (Martens 2010)",
                  schema, fill, moments);
