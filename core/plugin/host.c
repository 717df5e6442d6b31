/* The services table handed to plugins (fanin_host) and the per-call contexts that collect a
 * plugin's error message. Also the test hooks for allocation failures and leak counts. Loading
 * and checking plugins is loader.c's job; random streams are rng.c's.
 */
#include "plugin/host.h"
#include "base/errors.h"
#include "base/rng.h"
#include "plugin/registry.h"

#include <fanin/fanin.h>

#include <stdint.h>
#include <stdio.h>
#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK's Fortran entry points (Debian's OpenBLAS exports them but ships no LAPACKE);
 * LP64: Fortran INTEGER is int, every argument by reference. */
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau, float *work,
             const int *lwork, int *info);
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda, const float *tau,
             float *work, const int *lwork, int *info);

/* ---- messages and logs ---- */

static char entry_msg[FANIN_ERRLEN]; /* host->error(NULL, ...) during an entry call */
static int has_entry_msg;
static const char *entry_path; /* the file whose entry is running (for logs) */

static void default_log(int level, const char *plugin, const char *msg) {
    /* the one place the library writes to stderr: a plugin's own warnings */
    if (level >= FANIN_LOG_WARN) fprintf(stderr, "fanin: plugin %s: %s\n", plugin, msg);
}

static void (*log_sink)(int level, const char *plugin, const char *msg) = default_log;

void fanin__host_set_log(void (*sink)(int level, const char *plugin, const char *msg)) {
    log_sink = sink ? sink : default_log;
}

void fanin__host_begin_entry(const char *path) {
    entry_msg[0] = '\0';
    has_entry_msg = 0;
    entry_path = path;
}

const char *fanin__host_entry_message(void) { return has_entry_msg ? entry_msg : NULL; }

static void format_into(char *buf, size_t len, const char *fmt, va_list ap) {
    if (fmt) vsnprintf(buf, len, fmt, ap);
    else snprintf(buf, len, "(no message)");
}

__attribute__((format(printf, 3, 4))) static int host_error(fanin_ctx *ctx, int code,
                                                            const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (ctx) {
        format_into(ctx->msg, sizeof ctx->msg, fmt, ap);
        ctx->has_error = 1;
        ctx->error_code = code;
    } else { /* no call context yet: the entry call; the loader picks the message up */
        format_into(entry_msg, sizeof entry_msg, fmt, ap);
        has_entry_msg = 1;
    }
    va_end(ap);
    return code;
}

/* The name a log line is attributed to: the plugin, else its file, else the loading file. */
static const char *log_label(const fanin_ctx *ctx) {
    if (ctx && ctx->entry && ctx->entry->plugin && ctx->entry->plugin->name)
        return ctx->entry->plugin->name;
    if (ctx && ctx->path) return ctx->path;
    return entry_path ? entry_path : "(unknown)";
}

__attribute__((format(printf, 3, 4))) static void host_log(fanin_ctx *ctx, int level,
                                                           const char *fmt, ...) {
    char msg[FANIN_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    format_into(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_sink(level, log_label(ctx), msg);
}

/* ---- memory ---- */

static atomic_long fail_countdown; /* > 0: allocations left until the one that fails */
static atomic_long live_allocs;

void fanin__host_fail_alloc_after(long n) { atomic_store(&fail_countdown, n > 0 ? n : 0); }

long fanin__host_live_allocs(void) { return atomic_load(&live_allocs); }

/* True when this allocation is the injected failure. A CAS loop so that concurrent callers
 * consume the countdown exactly once each. */
static int injected_failure(void) {
    long left = atomic_load(&fail_countdown);
    while (left > 0 && !atomic_compare_exchange_weak(&fail_countdown, &left, left - 1)) {}
    return left == 1;
}

/* malloc(0) may return NULL, which a plugin would read as failure: allocate 1 byte instead. */
static void *counted_alloc(size_t size) {
    if (injected_failure()) return NULL;
    void *p = malloc(size ? size : 1);
    if (p) atomic_fetch_add(&live_allocs, 1);
    return p;
}

static void counted_free(void *p) {
    if (!p) return;
    free(p);
    atomic_fetch_sub(&live_allocs, 1);
}

static void *host_alloc(fanin_ctx *ctx, size_t size) {
    (void)ctx;
    return counted_alloc(size);
}

static void host_free(fanin_ctx *ctx, void *p) {
    (void)ctx;
    counted_free(p);
}

/* ---- activation gain ---- */

static int host_activation_gain(fanin_ctx *ctx, double *gain) {
    if (!gain) return host_error(ctx, FANIN_EINVAL, "activation_gain: gain is NULL");
    *gain = ctx ? ctx->gain : 1.0;
    if (ctx) ctx->gain_asked = 1;
    return FANIN_OK;
}

/* ---- BLAS ---- */

/* Are the row-major leading dimensions valid for op(A)[m,k] op(B)[k,n] and C[m,n]? */
static int sgemm_args_ok(int trans_a, int trans_b, int m, int n, int k, int lda, int ldb) {
    int min_lda = trans_a ? m : k, min_ldb = trans_b ? k : n;
    return lda >= (min_lda > 1 ? min_lda : 1) && ldb >= (min_ldb > 1 ? min_ldb : 1);
}

/* C[m,n] = alpha op(A)[m,k] op(B)[k,n] + beta C, row-major (BLAS xGEMM). The service cannot
 * return an error, and OpenBLAS would print on bad arguments: check them here and make a
 * wrong call visible as NaN in C instead. */
static void host_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                       int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0 || ldc < n) return;
    if (k < 0 || !sgemm_args_ok(trans_a, trans_b, m, n, k, lda, ldb)) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = NAN;
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* ---- QR ---- */

/* LAPACK's optimal workspace for sgeqrf and sorgqr on an m x n matrix (lwork = -1 queries). */
static int qr_lwork(int m, int n, float *col, float *tau) {
    int query = -1, info = 0;
    float best = 0.0f, w = 0.0f;
    sgeqrf_(&m, &n, col, &m, tau, &w, &query, &info);
    if (info == 0) best = w;
    sorgqr_(&m, &n, &n, col, &m, tau, &w, &query, &info);
    if (info == 0 && w > best) best = w;
    return best > (float)n ? (int)best : n;
}

/* col (column-major m x n) = Q of a = QR, columns multiplied by sign(R_jj) so diag(R) >= 0:
 * then Q is Haar-distributed when a is Gaussian (Mezzadri 2007, "How to generate random
 * matrices from the classical compact groups", section 5). LAPACK sgeqrf + sorgqr. */
static int qr_factor(fanin_ctx *ctx, float *col, int m, int n, float *tau, float *work, int lwork,
                     float *sign) {
    int info = 0;
    sgeqrf_(&m, &n, col, &m, tau, work, &lwork, &info);
    if (info != 0) return host_error(ctx, FANIN_EINVAL, "qr: LAPACK sgeqrf failed (info %d)", info);
    for (int j = 0; j < n; j++) sign[j] = col[(size_t)j * m + j] < 0.0f ? -1.0f : 1.0f;
    sorgqr_(&m, &n, &n, col, &m, tau, work, &lwork, &info);
    if (info != 0) return host_error(ctx, FANIN_EINVAL, "qr: LAPACK sorgqr failed (info %d)", info);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) col[(size_t)j * m + i] *= sign[j];
    return FANIN_OK;
}

/* a (row-major m x n, m >= n) := the sign-fixed thin Q. LAPACK is column-major, so the matrix
 * goes through a transposed copy. */
static int host_qr(fanin_ctx *ctx, float *a, int m, int n) {
    if (m < 0 || n < 0 || (n > 0 && !a))
        return host_error(ctx, FANIN_EINVAL, "qr: bad arguments (a %p, %d x %d)", (void *)a, m, n);
    if (n == 0) return FANIN_OK;
    if (m < n)
        return host_error(ctx, FANIN_EINVAL,
                          "qr: needs rows >= cols, got %d x %d; "
                          "factor the transpose and transpose Q back",
                          m, n);
    size_t mn = (size_t)m * n;
    float *col = counted_alloc((mn + 2 * (size_t)n) * sizeof *col);
    if (!col) return host_error(ctx, FANIN_ENOMEM, "qr: out of memory for a %d x %d matrix", m, n);
    float *tau = col + mn, *sign = tau + n;
    for (size_t i = 0; i < (size_t)m; i++)
        for (size_t j = 0; j < (size_t)n; j++) col[j * m + i] = a[i * n + j];
    int lwork = qr_lwork(m, n, col, tau);
    float *work = counted_alloc((size_t)lwork * sizeof *work);
    int rc = work ? qr_factor(ctx, col, m, n, tau, work, lwork, sign)
                  : host_error(ctx, FANIN_ENOMEM, "qr: out of memory for LAPACK's workspace");
    if (rc == FANIN_OK)
        for (size_t i = 0; i < (size_t)m; i++)
            for (size_t j = 0; j < (size_t)n; j++) a[i * n + j] = col[j * m + i];
    counted_free(work);
    counted_free(col);
    return rc;
}

/* ---- layer forward (ABI 1.1) ---- */

/* The forward pass through the layer being initialised, as the caller installed it in the
 * context (the engine does, for a weight fill during a run); FANIN_ENOTSUP without one. */
static int host_layer_forward(fanin_ctx *ctx, const float **out, int64_t *rows, int64_t *cols) {
    if (!out || !rows || !cols)
        return host_error(ctx, FANIN_EINVAL, "layer_forward: out, rows or cols is NULL");
    *out = NULL;
    *rows = *cols = 0;
    if (!ctx || !ctx->layer_forward)
        return host_error(ctx, FANIN_ENOTSUP,
                          "layer_forward: no model here (only a layer's "
                          "weight fill during a run has one; fanin init-stats and bias fills do "
                          "not)");
    char err[FANIN_ERRLEN];
    int rc = ctx->layer_forward(ctx->layer_forward_user, out, rows, cols, err, sizeof err);
    return rc < 0 ? host_error(ctx, rc, "%s", err) : FANIN_OK;
}

/* ---- gradients at initialisation (ABI 1.2) ---- */

static int no_init_grad(fanin_ctx *ctx, const char *what) {
    return host_error(ctx, FANIN_ENOTSUP,
                      "%s: no network to evaluate here (only the output layer's weight fill "
                      "during a run with a labelled batch has one; fanin init-stats and other "
                      "tensors do not): use this initializer as the output layer's init",
                      what);
}

/* Forward + loss + backward on the init batch, as the caller installed it in the context. */
static int host_init_loss_grad(fanin_ctx *ctx, double *loss, int32_t *n_weights) {
    if (!loss || !n_weights)
        return host_error(ctx, FANIN_EINVAL, "init_loss_grad: loss or n_weights is NULL");
    if (!ctx || !ctx->init_grad) return no_init_grad(ctx, "init_loss_grad");
    char err[FANIN_ERRLEN];
    int rc = ctx->init_grad->eval(ctx->init_grad_user, loss, n_weights, err, sizeof err);
    return rc < 0 ? host_error(ctx, rc, "%s", err) : FANIN_OK;
}

/* Weight tensor k and its gradient from the last init_loss_grad. */
static int host_init_weight(fanin_ctx *ctx, int32_t k, float **w, const float **grad, int64_t *n) {
    if (!w || !grad || !n)
        return host_error(ctx, FANIN_EINVAL, "init_weight: w, grad or n is NULL");
    *w = NULL;
    *grad = NULL;
    *n = 0;
    if (!ctx || !ctx->init_grad) return no_init_grad(ctx, "init_weight");
    char err[FANIN_ERRLEN];
    int rc = ctx->init_grad->weight(ctx->init_grad_user, k, w, grad, n, err, sizeof err);
    return rc < 0 ? host_error(ctx, rc, "%s", err) : FANIN_OK;
}

/* ---- tensors (ABI 1.2) ---- */

/* Roles of a vector that adds (is_bias for 1.0 plugins) and of any vector a layer owns. */
static int additive_role(int role) {
    return role == FANIN_ROLE_BIAS || role == FANIN_ROLE_NORM_SHIFT ||
           role == FANIN_ROLE_RESIDUAL_BIAS;
}

static int vector_role(int role) {
    return additive_role(role) || role == FANIN_ROLE_NORM_SCALE ||
           role == FANIN_ROLE_RESIDUAL_SCALE;
}

/* The 2-D view and the fans of a tensor of PyTorch's shape, as
 * torch.nn.init._calculate_fan_in_and_fan_out: fan_in = shape[1] * rf, fan_out = shape[0] * rf,
 * rf = prod(shape[2:]) (the receptive field). A vector (a vector role or ndim 1) is [n, 1] with
 * the fans of `of`, or n and n (Keras's _compute_fans for 1-D; torch refuses 1-D). */
void fanin__tensor_init(fanin_tensor *t, float *data, int role, int ndim, const int64_t *shape,
                        const fanin_tensor *of) {
    memset(t, 0, sizeof *t);
    t->data = data;
    t->ndim = ndim < 1 ? 1 : ndim > 4 ? 4 : ndim;
    int64_t n = 1, rf = 1;
    for (int d = 0; d < 4; d++) {
        t->shape[d] = d < t->ndim ? shape[d] : 1;
        n *= t->shape[d];
        if (d >= 2) rf *= t->shape[d];
    }
    t->role = role;
    t->is_bias = additive_role(role);
    t->block = t->n_blocks = t->pos = t->branch_len = -1;
    if (vector_role(role) || t->ndim == 1) {
        t->rows = n;
        t->cols = 1;
        t->fan_in = of ? of->fan_in : n;
        t->fan_out = of ? of->fan_out : n;
        return;
    }
    t->rows = t->shape[0];
    t->cols = t->shape[0] > 0 ? n / t->shape[0] : t->shape[1] * rf;
    t->fan_in = t->shape[1] * rf;
    t->fan_out = t->shape[0] * rf;
}

/* ---- the table ---- */

/* Every field but `threads` is constant; threads follows OpenBLAS (the experiment may change
 * it after plugins are loaded), refreshed whenever the table is handed out. */
static fanin_host host_table = {
    .hdr = FANIN_HEADER(fanin_host),
    .fanin_version = FANIN_VERSION_STRING,
    .threads = 1,
    .sizeof_real = (int32_t)sizeof(float),
    .error = host_error,
    .log = host_log,
    .alloc = host_alloc,
    .free = host_free,
    .rng_uniform = fanin__rng_fill_uniform,
    .rng_normal = fanin__rng_fill_normal,
    .rng_trunc_normal = fanin__rng_fill_trunc_normal,
    .rng_u64 = fanin__rng_u64,
    .activation_gain = host_activation_gain,
    .sgemm = host_sgemm,
    .qr = host_qr,
    .layer_forward = host_layer_forward,
    .tensor_size = (uint32_t)sizeof(fanin_tensor),
    .init_loss_grad = host_init_loss_grad,
    .init_weight = host_init_weight,
};

const fanin_host *fanin__host(void) {
    __atomic_store_n(&host_table.threads, (int32_t)openblas_get_num_threads(), __ATOMIC_RELAXED);
    return &host_table;
}

/* ---- call contexts ---- */

static fanin__call_record own_call = {.layer = -1};
static fanin__call_record *call = &own_call;

/* dst := src cut to n - 1 bytes; no library call, so safe anywhere */
static void copy_text(char *dst, const char *src, size_t n) {
    size_t i = 0;
    for (; src && src[i] && i + 1 < n; i++) dst[i] = src[i];
    dst[i] = 0;
}

void fanin__call_record_place(fanin__call_record *where) {
    call = where ? where : &own_call;
    fanin__call_clear();
}

void fanin__call_note(const char *what, int layer) {
    copy_text(call->what, what, sizeof call->what);
    call->layer = layer;
}

void fanin__call_done(void) { call->active = 0; }

void fanin__call_clear(void) {
    call->active = 0;
    call->layer = -1;
    call->kind[0] = call->name[0] = call->what[0] = 0;
}

void fanin__ctx_init(fanin_ctx *ctx, const fanin__entry *e, double gain) {
    memset(ctx, 0, sizeof *ctx);
    ctx->entry = e;
    ctx->path = e ? e->path : NULL;
    ctx->gain = gain;
    const fanin_plugin *p = e ? e->plugin : NULL;
    call->active = 0; /* while the fields change, it names no call */
    copy_text(call->kind, p ? fanin__kind_name(p->kind) : "plugin", sizeof call->kind);
    copy_text(call->name, p && p->name ? p->name : "?", sizeof call->name);
    call->what[0] = 0;
    call->layer = -1;
    call->active = 1;
}

static int known_status(int rc) { return rc <= FANIN_EINVAL && rc >= FANIN_EINTR; }

int fanin__ctx_fail(const fanin_ctx *ctx, int rc, const char *what, char *err, size_t errlen) {
    const fanin_plugin *p = ctx->entry ? ctx->entry->plugin : NULL;
    char why[FANIN_ERRLEN];
    if (ctx->has_error) snprintf(why, sizeof why, "%s", ctx->msg);
    else if (known_status(rc))
        snprintf(why, sizeof why, "returned %s (%s) without a message", fanin_err_name(rc),
                 fanin_strerror(rc));
    else snprintf(why, sizeof why, "returned unknown status %d", rc);
    int code = known_status(rc) ? rc : FANIN_EPLUGIN;
    return fanin__errf(err, errlen, code, "%s plugin '%s' (%s): %s failed: %s",
                       p ? fanin__kind_name(p->kind) : "unknown", p && p->name ? p->name : "?",
                       ctx->path ? ctx->path : "unknown file", what ? what : "call", why);
}
