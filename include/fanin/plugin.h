/* fanin plugin ABI, version 1 (minor 2: tensors described by shape, role and residual branch).
 *
 * The only header a plugin includes. A shared object exports one symbol, fanin_plugin_entry,
 * which receives the host's services and returns a library descriptor listing one or more
 * plugin descriptors (initializers, activations, optimizers). Everything else stays hidden.
 * Rules for growing this ABI (append-only structs, struct_size checks) are in
 * docs/writing-plugins.md; do not reorder, retype or delete any field below.
 */
#ifndef FANIN_PLUGIN_H
#define FANIN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ---- */
#define FANIN_ABI_MAJOR 1
/* 1.0: the first release. 1.1: fanin_host.layer_forward (appended; data-dependent
 * initializers such as lsuv). 1.2: fanin_tensor's description (full shape, torch's fans, role,
 * residual-branch position, output flag; appended) and fanin_host.tensor_size saying so.
 * Also in 1.2: fanin_host.init_loss_grad and init_weight, gradients at initialisation (metainit,
 * gradinit). A 1.0 or 1.1 plugin loads unchanged in a 1.2 host and sees the 2-D view it always
 * saw. */
#define FANIN_ABI_MINOR 2
#define FANIN_MAGIC 0x4E494E46u /* "FNIN" read as a little-endian u32 */

#if defined(__GNUC__)
#define FANIN_EXPORT __attribute__((visibility("default")))
#else
#define FANIN_EXPORT
#endif

/* Does a struct that says it is `size` bytes long contain `field`? (read before every access to
 * a field added after 1.0) */
#define FANIN_HAS_FIELD(type, field, size) \
    (offsetof(type, field) + sizeof(((type *)0)->field) <= (size_t)(size))

/* ---- status codes (append-only; shared with <fanin/fanin.h>) ---- */
enum {
    FANIN_OK = 0,
    FANIN_EINVAL = -1,    /* bad argument or parameter */
    FANIN_ENOMEM = -2,    /* an allocation failed */
    FANIN_EIO = -3,       /* reading or writing a file failed */
    FANIN_ECONFIG = -4,   /* the experiment file is wrong */
    FANIN_EDATA = -5,     /* a data file is missing or corrupt */
    FANIN_EPLUGIN = -6,   /* a plugin could not be loaded or misbehaved */
    FANIN_ENOTSUP = -7,   /* the operation or service is not supported */
    FANIN_EDIVERGED = -8, /* NaN or Inf appeared in training */
    FANIN_EINTR = -9,     /* interrupted by a signal */
};

/* ---- the frozen header that starts every ABI struct ---- */
typedef struct fanin_abi_header {
    uint32_t magic;       /* FANIN_MAGIC */
    uint16_t abi_major;   /* must equal the host's FANIN_ABI_MAJOR */
    uint16_t abi_minor;   /* the minor this struct was compiled against */
    uint32_t struct_size; /* sizeof the struct at compile time */
} fanin_abi_header;

#define FANIN_HEADER(type) \
    { FANIN_MAGIC, FANIN_ABI_MAJOR, FANIN_ABI_MINOR, (uint32_t)sizeof(type) }

/* ---- opaque host objects ---- */
typedef struct fanin_ctx fanin_ctx; /* one plugin call's context: errors, layer info */
typedef struct fanin_rng
    fanin_rng; /* a random stream, derived by the host from (seed, layer, tensor) */

/* ---- parameter schema (validated by the host; plugins never parse text) ---- */
enum fanin_param_type {
    FANIN_PARAM_F64 = 1,
    FANIN_PARAM_I64 = 2,
    FANIN_PARAM_BOOL = 3,
    FANIN_PARAM_ENUM = 4, /* value is the index into choices */
    FANIN_PARAM_STRING = 5,
};

enum fanin_param_flag {
    FANIN_PARAM_NO_MIN = 1u << 0,   /* min is ignored */
    FANIN_PARAM_NO_MAX = 1u << 1,   /* max is ignored */
    FANIN_PARAM_MIN_EXCL = 1u << 2, /* value > min rather than >= */
    FANIN_PARAM_MAX_EXCL = 1u << 3, /* value < max rather than <= */
    FANIN_PARAM_REQUIRED = 1u << 4, /* no default: the user must give it */
    FANIN_PARAM_AUTO = 1u << 5,     /* F64 that also accepts `auto`, passed as NaN */
};

/* One parameter. A schema is an array ending in a row whose name is NULL. */
typedef struct fanin_param_spec {
    const char *name;           /* [a-z][a-z0-9_]*, unique within the schema */
    int32_t type;               /* enum fanin_param_type */
    uint32_t flags;             /* enum fanin_param_flag */
    double def;                 /* default: F64, I64, BOOL (0/1), ENUM (index); NaN = auto */
    double min, max;            /* inclusive bounds unless flagged otherwise */
    const char *const *choices; /* ENUM: NULL-terminated names */
    const char *def_str;        /* STRING default */
    const char *doc;            /* one line, required */
} fanin_param_spec;

/* A resolved parameter value. Plugins receive `const fanin_value *p`, one entry per schema
 * row, in schema order: p[0] is the first parameter. Owned by the host, valid for the run. */
typedef union fanin_value {
    double f;      /* F64 (NaN when the user wrote `auto`) */
    int64_t i;     /* I64 */
    int32_t b;     /* BOOL: 0 or 1 */
    int32_t e;     /* ENUM: index into choices */
    const char *s; /* STRING */
} fanin_value;

/* ---- host services (host -> plugin) ---- */
enum fanin_log_level { FANIN_LOG_DEBUG = 0, FANIN_LOG_INFO = 1, FANIN_LOG_WARN = 2 };

typedef struct fanin_host {
    fanin_abi_header hdr;
    const char *fanin_version; /* e.g. "0.1.0" */
    int32_t threads;           /* compute threads the host runs BLAS with */
    int32_t sizeof_real;       /* 4: weights are float32 */

    /* Errors and logs: record a message for the current call; the host prefixes the plugin's
     * name and file. `error` returns `code` so a plugin can write `return h->error(...)`. */
    int (*error)(fanin_ctx *ctx, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    void (*log)(fanin_ctx *ctx, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Memory that outlives a call; may return NULL (the checker injects failures). */
    void *(*alloc)(fanin_ctx *ctx, size_t size);
    void (*free)(fanin_ctx *ctx, void *p);

    /* Random streams. Deterministic for a given (seed, layer, tensor) and draw order. */
    void (*rng_uniform)(fanin_rng *rng, float *out, size_t n, double lo, double hi);
    void (*rng_normal)(fanin_rng *rng, float *out, size_t n, double mean, double std);
    /* normal(mean, std) redrawn until inside [lo, hi] (absolute units) */
    void (*rng_trunc_normal)(fanin_rng *rng, float *out, size_t n, double mean, double std,
                             double lo, double hi);
    uint64_t (*rng_u64)(fanin_rng *rng);

    /* The recommended gain of the activation of the layer being initialised (PyTorch's
     * calculate_gain); 1.0 when there is no layer (e.g. `fanin init-stats` without
     * --activation). */
    int (*activation_gain)(fanin_ctx *ctx, double *gain);

    /* BLAS/LAPACK, routed to the host's single OpenBLAS (plugins link none).
     * sgemm: row-major C[m,n] = alpha * op(A)[m,k] op(B)[k,n] + beta * C. */
    void (*sgemm)(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc);
    /* qr: the row-major m x n matrix a (m >= n) is replaced by the Q factor of its thin QR
     * decomposition, with columns' signs fixed so that diag(R) >= 0 (Haar measure).
     * Returns FANIN_OK or a negative code (reported through ctx). */
    int (*qr)(fanin_ctx *ctx, float *a, int m, int n);

    /* ---- added in 1.1: read behind FANIN_HAS_FIELD(fanin_host, field, hdr.struct_size) and
     * check for NULL; a library that cannot work without them says so with
     * FANIN_PLUGIN_DEFINE_MIN(1, ...). ---- */

    /* Data-dependent initialisation (LSUV): runs the model's forward pass on the experiment's
     * init batch (its first training rows) through the layer being initialised, using the
     * current contents of its weights (the tensor the initializer is filling IS that layer's W;
     * the layer's bias reads as zero), and points *out at that layer's pre-activation output,
     * row-major [*rows, *cols] = [batch rows, fan_out], borrowed until the next call.
     * Earlier layers are already initialised. Returns FANIN_ENOTSUP (with a message) when
     * there is no batch: `fanin init-stats`, a bias tensor, or a caller without a model. */
    int (*layer_forward)(fanin_ctx *ctx, const float **out, int64_t *rows, int64_t *cols);

    /* ---- added in 1.2: read behind FANIN_HAS_FIELD(fanin_host, field, hdr.struct_size) ---- */

    /* sizeof(fanin_tensor) as this host fills every tensor it hands to an initializer: the
     * fields of fanin_tensor inside it are there (test with FANIN_TENSOR_HAS below). */
    uint32_t tensor_size;

    /* Gradients at initialisation (1.2, appended; read behind FANIN_HAS_FIELD and check for
     * NULL). Available only while an initializer fills the OUTPUT layer's weight (the tensor
     * has FANIN_TENSOR_OUTPUT, role DENSE_WEIGHT or CONV_WEIGHT) during a run: every other
     * layer is then initialised, so the whole network can be evaluated. An initializer used
     * there first fills t itself, then may rescale every layer's weight (metainit, gradinit).
     *
     * init_loss_grad: forward the init batch (the experiment's first training rows and their
     * labels) through the network with the weights' current contents (biases as initialised;
     * the output bias reads as its current contents, zero on a new model), compute the run's
     * loss (mean over rows) and backpropagate it. *loss := the loss, *n_weights := the number
     * of weight tensors (dense, conv and skip-projection W, input to output). Every call
     * re-evaluates: rescale weights, call again. Running statistics are left unchanged.
     * Elsewhere (fanin init-stats, another tensor) returns FANIN_ENOTSUP with a message. */
    int (*init_loss_grad)(fanin_ctx *ctx, double *loss, int32_t *n_weights);
    /* Weight tensor k (0 <= k < n_weights): *w := its values, writable until the fill returns
     * (the last one is the tensor being filled), *grad := dLoss/dW from the last
     * init_loss_grad call, *n := its number of floats. */
    int (*init_weight)(fanin_ctx *ctx, int32_t k, float **w, const float **grad, int64_t *n);
} fanin_host;

/* ---- tensors handed to initializers ---- */

/* What a tensor is for (1.2; append-only: treat an unknown value as FANIN_ROLE_UNKNOWN). */
enum fanin_role {
    FANIN_ROLE_UNKNOWN = 0,         /* not described: only the 2-D view and is_bias */
    FANIN_ROLE_DENSE_WEIGHT = 1,    /* a dense layer's W [out, in] */
    FANIN_ROLE_CONV_WEIGHT = 2,     /* a convolution's W [out, in, kh, kw] */
    FANIN_ROLE_BIAS = 3,            /* b [out] of a dense layer, a convolution, a projection */
    FANIN_ROLE_NORM_SCALE = 4,      /* gamma of a batchnorm [C] or layernorm */
    FANIN_ROLE_NORM_SHIFT = 5,      /* beta of a batchnorm [C] or layernorm */
    FANIN_ROLE_SKIP_PROJECTION = 6, /* P [out, in] on a residual block's skip path */
    FANIN_ROLE_RESIDUAL_SCALE = 7,  /* a residual block's scalar multiplier alpha [1] */
    FANIN_ROLE_RESIDUAL_BIAS = 8,   /* a residual branch's scalar bias [1] (Fixup) */
};

/* fanin_tensor.flags (1.2) */
enum fanin_tensor_flag {
    /* the weight or bias of the network's output layer (its last dense or conv layer, outside
     * any residual branch): Fixup's "classification layer" */
    FANIN_TENSOR_OUTPUT = 1u << 0,
};

/* One tensor to fill, borrowed for the call. The 1.0 fields are the 2-D view every plugin
 * sees; a 1.2 host appends the description below them.
 *
 * Reading a 1.2 field: a host older than 1.2 passes the 1.0 struct, so test
 * FANIN_TENSOR_HAS(host, field) first; then `ndim > 0` says the caller described this tensor
 * (ndim 0: a caller that knows only the 2-D view, e.g. `fanin init-stats` on a rows x cols
 * matrix: role UNKNOWN, no branch, no flags). Plugins never write to the struct itself. */
typedef struct fanin_tensor {
    float *data;     /* rows * cols floats, row-major; write only inside */
    int64_t rows;    /* weight: fan_out units (shape[0]); a vector: its length */
    int64_t cols;    /* weight: the product of shape[1:] (in * kh * kw); a vector: 1 */
    int64_t fan_in;  /* as torch.nn.init._calculate_fan_in_and_fan_out: in * kh * kw; a bias:
                      * its layer weight's; a norm or residual vector: its length */
    int64_t fan_out; /* out * kh * kw (receptive field included, as torch); a bias: its layer's */
    int32_t is_bias; /* 1 for a vector that adds: a bias, a norm shift, a residual bias */

    /* ---- added in 1.2 (see above: FANIN_TENSOR_HAS, then ndim > 0) ---- */
    int32_t ndim;     /* 1, 2, 3 or 4; 0 = not described */
    int64_t shape[4]; /* PyTorch's shape: [out, in, kh, kw], [out, in], [n]; unused dims 1 */
    int32_t role;     /* enum fanin_role */
    uint32_t flags;   /* enum fanin_tensor_flag */
    /* The layer's place in a residual stack (Fixup's L and m): block index from 0 and number of
     * blocks of its stack, position among its branch's weight layers from 0 and the branch's
     * number of weight layers. All -1 outside any residual block; a block's own tensors (skip
     * projection, alpha) have its block and pos -1; a branch layer's have pos >= 0. */
    int32_t block, n_blocks, pos, branch_len;
} fanin_tensor;

/* Does this host's fanin_tensor have `field` (a field added after 1.0)? A plugin reads t->field
 * only when this holds, then uses the description only when t->ndim > 0. */
#define FANIN_TENSOR_HAS(host, field)                                     \
    (FANIN_HAS_FIELD(fanin_host, tensor_size, (host)->hdr.struct_size) && \
     FANIN_HAS_FIELD(fanin_tensor, field, (host)->tensor_size))

/* ---- per-kind function tables (plugin -> host) ---- */
enum fanin_kind {
    FANIN_KIND_INITIALIZER = 1,
    FANIN_KIND_ACTIVATION = 2,
    FANIN_KIND_OPTIMIZER = 3,
};

/* Every function must treat n == 0 (or an empty tensor) as a no-op returning FANIN_OK, keep no
 * mutable global state, start no threads and never call exit/abort/longjmp. */
typedef struct fanin_initializer_vt {
    fanin_abi_header hdr;
    /* Fill t with the scheme's values, drawing only from rng. */
    int (*fill)(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng);
    /* Optional (may be NULL): the mean and std the scheme's formula gives for t, for
     * `fanin init-stats` and `fanin check`. */
    int (*moments)(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std);
} fanin_initializer_vt;

typedef struct fanin_activation_vt {
    fanin_abi_header hdr;
    /* y[i] = f(x[i]) for i < n. x == y allowed when the descriptor sets FANIN_FLAG_IN_PLACE. */
    int (*forward)(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p);
    /* dx[i] = dy[i] * f'(x[i]); y = f(x) is given so cheap derivatives can reuse it. */
    int (*backward)(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p);
    /* The recommended gain for initialisation (positive, finite). */
    int (*gain)(const fanin_value *p, double *gain);
} fanin_activation_vt;

typedef struct fanin_optimizer_vt {
    fanin_abi_header hdr;
    /* Bytes of state for n parameters; the host allocates it (16-byte aligned) and keeps it,
     * so a checkpoint is a plain copy. */
    size_t (*state_size)(size_t n, const fanin_value *p);
    int (*init_state)(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p);
    /* One update of w[0..n) from its gradient g. t is the 1-based step number. */
    int (*step)(fanin_ctx *ctx, void *state, float *w, const float *g, size_t n, double lr,
                int64_t t, const fanin_value *p);
} fanin_optimizer_vt;

/* ---- descriptors ---- */
enum fanin_plugin_flag {
    FANIN_FLAG_DETERMINISTIC = 1u << 0, /* same inputs and stream -> same output */
    FANIN_FLAG_IN_PLACE = 1u << 1,      /* activation forward/backward accept x == y */
};
/* A host rejects a plugin that sets any bit of this range it does not know. */
#define FANIN_FLAG_MUST_UNDERSTAND 0xFFFF0000u

typedef struct fanin_plugin {
    fanin_abi_header hdr;
    int32_t kind;                   /* enum fanin_kind */
    uint32_t flags;                 /* enum fanin_plugin_flag */
    const char *name;               /* [a-z][a-z0-9_]*, unique per kind: what YAML uses */
    const char *version;            /* the plugin's own semver */
    const char *doc;                /* one line */
    const fanin_param_spec *params; /* schema, ending in a NULL-name row; NULL = none */
    const void *vtable;             /* fanin_{initializer,activation,optimizer}_vt */
    /* Optional: extra interfaces by versioned name ("fanin.x/1"); NULL for unknown names. */
    const void *(*get_interface)(const char *name);
} fanin_plugin;

/* Interfaces an activation may answer through get_interface (any non-NULL pointer means yes):
 * FANIN_INTERFACE_LOGISTIC declares forward(x) = 1 / (1 + exp(-x)) exactly, so the host may
 * fuse it with binary cross-entropy and compute the loss from the logits (torch's
 * BCEWithLogitsLoss). A plugin's name never grants it. */
#define FANIN_INTERFACE_LOGISTIC "fanin.logistic/1"

typedef struct fanin_library {
    fanin_abi_header hdr;
    uint16_t min_host_minor; /* oldest host minor providing every service used */
    uint16_t sizeof_real;    /* must be 4 */
    uint32_t plugin_count;
    const fanin_plugin *const *plugins;
    void (*teardown)(void); /* optional; called at host shutdown, the library stays mapped */
} fanin_library;

/* The one exported symbol. Returns a static library descriptor, or NULL after reporting why
 * with host->error(NULL, ...). */
typedef const fanin_library *(*fanin_plugin_entry_fn)(const fanin_host *host);
#define FANIN_ENTRY_SYMBOL "fanin_plugin_entry"

/* ---- helpers for plugin authors ---- */

/* The host table a family's entry point received; set by FANIN_PLUGIN_DEFINE. A global shared
 * by the plugin's files, hidden like every symbol but the entry. Formerly `fanin__host`, also
 * the name of a host function; the rename changes no ABI: it is never exported or looked up. */
#define FANIN_HOST fanin_plugin__host_table

/* Descriptors. Each plugin file ends with one of these; `sym` names the descriptor so the
 * family's entry point can list it. */
#define FANIN_INITIALIZER(sym, nm, ver, doc_, schema, fill_fn, moments_fn)                     \
    static const fanin_initializer_vt sym##_vt = {FANIN_HEADER(fanin_initializer_vt), fill_fn, \
                                                  moments_fn};                                 \
    const fanin_plugin sym = {FANIN_HEADER(fanin_plugin),                                      \
                              FANIN_KIND_INITIALIZER,                                          \
                              FANIN_FLAG_DETERMINISTIC,                                        \
                              nm,                                                              \
                              ver,                                                             \
                              doc_,                                                            \
                              schema,                                                          \
                              &sym##_vt,                                                       \
                              NULL}

#define FANIN_ACTIVATION(sym, nm, ver, doc_, schema, fwd_fn, bwd_fn, gain_fn)               \
    static const fanin_activation_vt sym##_vt = {FANIN_HEADER(fanin_activation_vt), fwd_fn, \
                                                 bwd_fn, gain_fn};                          \
    const fanin_plugin sym = {FANIN_HEADER(fanin_plugin),                                   \
                              FANIN_KIND_ACTIVATION,                                        \
                              FANIN_FLAG_DETERMINISTIC | FANIN_FLAG_IN_PLACE,               \
                              nm,                                                           \
                              ver,                                                          \
                              doc_,                                                         \
                              schema,                                                       \
                              &sym##_vt,                                                    \
                              NULL}

#define FANIN_OPTIMIZER(sym, nm, ver, doc_, schema, size_fn, init_fn, step_fn)             \
    static const fanin_optimizer_vt sym##_vt = {FANIN_HEADER(fanin_optimizer_vt), size_fn, \
                                                init_fn, step_fn};                         \
    const fanin_plugin sym = {FANIN_HEADER(fanin_plugin),                                  \
                              FANIN_KIND_OPTIMIZER,                                        \
                              FANIN_FLAG_DETERMINISTIC,                                    \
                              nm,                                                          \
                              ver,                                                         \
                              doc_,                                                        \
                              schema,                                                      \
                              &sym##_vt,                                                   \
                              NULL}

/* The entry point: FANIN_PLUGIN_DEFINE(&a, &b, ...) lists the descriptors of one shared
 * object, fills every version field and stores the host table in FANIN_HOST. A plugin file
 * that is used by another file's FANIN_PLUGIN_DEFINE declares `extern const fanin_host
 * *FANIN_HOST;` through FANIN_USES_HOST. */
#define FANIN_USES_HOST extern const fanin_host *FANIN_HOST

#define FANIN_PLUGIN_DEFINE(...) FANIN_PLUGIN_DEFINE_MIN(0, __VA_ARGS__)

/* The same, for a library that needs host services added in minor `min_minor` (e.g. 1 for
 * layer_forward): it sets the library's min_host_minor, so an older host refuses it at load
 * time with "needs fanin plugin ABI >= 1.<min_minor>" instead of failing mid-run. Its plugins
 * must still test FANIN_HAS_FIELD before each call to a newer service. */
#define FANIN_PLUGIN_DEFINE_MIN(min_minor, ...)                                                \
    const fanin_host *FANIN_HOST;                                                              \
    static const fanin_plugin *const fanin__plugins[] = {__VA_ARGS__};                         \
    static const fanin_library fanin__library = {FANIN_HEADER(fanin_library),                  \
                                                 (uint16_t)(min_minor),                        \
                                                 (uint16_t)sizeof(float),                      \
                                                 (uint32_t)(sizeof(fanin__plugins) /           \
                                                            sizeof(fanin__plugins[0])),        \
                                                 fanin__plugins,                               \
                                                 NULL};                                        \
    FANIN_EXPORT const fanin_library *fanin_plugin_entry(const fanin_host *host);              \
    FANIN_EXPORT const fanin_library *fanin_plugin_entry(const fanin_host *host) {             \
        if (!host || host->hdr.magic != FANIN_MAGIC || host->hdr.abi_major != FANIN_ABI_MAJOR) \
            return NULL;                                                                       \
        FANIN_HOST = host;                                                                     \
        return &fanin__library;                                                                \
    }

#ifdef __cplusplus
}
#endif
#endif /* FANIN_PLUGIN_H */
