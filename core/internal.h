/* Private declarations shared by libfanin's files (and the `fanin` command and tests, which
 * link the static core). Nothing here is part of the installed API.
 * One section per core file; each file owns the structs of its section.
 */
#ifndef FANIN_INTERNAL_H
#define FANIN_INTERNAL_H

#include <fanin/fanin.h>
#include <fanin/plugin.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "schedule.h" /* fanin__schedule, held by fanin_experiment */

#define FANIN_ERRLEN 1024
#define FANIN_MAX_LAYERS 256
#define FANIN_MAX_CLASSES 64

/* ---- errors.c ---- */

/* Write a formatted message into err (if not NULL) and return code. */
int fanin__errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Seconds on the monotonic clock (for durations only). */
double fanin__now(void);

/* Damerau-free Levenshtein distance, for "did you mean" suggestions. */
int fanin__edit_distance(const char *a, const char *b);

/* The candidate closest to `word` (distance <= max(2, strlen/3)), or NULL. */
const char *fanin__nearest(const char *word, const char *const *candidates, size_t n);

/* ---- atomic.c: files written whole or not at all ---- */

typedef struct fanin__atomic {
    FILE *f;        /* write here between _open and _commit */
    char tmp[4112]; /* PATH.tmp */
} fanin__atomic;

/* Open PATH.tmp for writing. 0, or an errno value. */
int fanin__atomic_open(fanin__atomic *a, const char *path);
/* Finish: with failed == 0 flush, fsync, close and rename over path (then fsync the folder);
 * otherwise, or when a step fails, remove the temporary file. 0, or an errno value. */
int fanin__atomic_commit(fanin__atomic *a, const char *path, int failed);

/* ---- json.c ---- */

/* s as a JSON string literal (quotes, backslashes, control characters escaped; NULL = ""). */
void fanin__json_str(FILE *f, const char *s);
/* v with printf format fmt, or null when it is NaN or Inf. */
void fanin__json_num(FILE *f, const char *fmt, double v);

/* ---- rng.c: random streams ---- */

enum fanin__rng_kind { FANIN_RNG_PHILOX = 0, FANIN_RNG_NUMPY = 1 };

/* Tensor ids of a stream (the third part of its (seed, layer, tensor) key). */
enum fanin__stream {
    FANIN_STREAM_WEIGHT = 0,
    FANIN_STREAM_BIAS = 1,
    FANIN_STREAM_SHUFFLE = 2, /* layer = 0: minibatch order */
    FANIN_STREAM_DATA = 3,    /* layer = 0: synthetic data, sampling */
};

/* numpy's legacy stream (mt19937.c): MT19937 (Matsumoto & Nishimura 1998) with numpy's
 * RandomState state, including its cached second gaussian, so one stream shared by several
 * fanin_rng handles continues exactly as one RandomState does across randn calls. */
typedef struct fanin__mt19937 {
    uint32_t key[624];
    int pos;        /* next word of key to temper; 624 = regenerate first */
    int has_gauss;  /* legacy_gauss caches the second value of each polar pair */
    double gauss;
} fanin__mt19937;

/* np.random.seed(seed) for an integer seed: init_genrand (numpy's mt19937_seed). */
void fanin__mt19937_seed(fanin__mt19937 *mt, uint32_t seed);
uint32_t fanin__mt19937_next32(fanin__mt19937 *mt);  /* genrand_int32 */
double fanin__mt19937_double(fanin__mt19937 *mt);    /* random_sample: genrand_res53 */
double fanin__mt19937_gauss(fanin__mt19937 *mt);     /* numpy's legacy_gauss (randn) */

/* Philox-4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"):
 * key = seed; counter = (block lo, block hi, layer, tensor). Independent streams per
 * (seed, layer, tensor), so adding a layer leaves the other layers' weights unchanged. */
struct fanin_rng {
    int kind;             /* enum fanin__rng_kind */
    uint32_t key[2];      /* the seed */
    uint32_t ctr[4];      /* ctr[0..1] block index, ctr[2] layer, ctr[3] tensor */
    uint32_t buf[4];      /* outputs of the current block */
    int avail;            /* unread words left in buf */
    int has_spare;        /* a cached second normal (Box-Muller gives two) */
    double spare;
    fanin__mt19937 *mt;   /* numpy kind only: the shared MT19937 stream (borrowed) */
};

void fanin__rng_init(fanin_rng *r, uint64_t seed, uint32_t layer, uint32_t tensor);
/* A handle of kind FANIN_RNG_NUMPY drawing from mt (borrowed; several handles may share one
 * mt, which is then one numpy RandomState drawn in call order). */
void fanin__rng_init_numpy(fanin_rng *r, fanin__mt19937 *mt);
uint32_t fanin__rng_u32(fanin_rng *r);
uint64_t fanin__rng_u64(fanin_rng *r);
double fanin__rng_uniform01(fanin_rng *r); /* [0, 1) with 53 random bits */
double fanin__rng_normal(fanin_rng *r);    /* N(0, 1) */
/* the host services of the same names (see fanin_host) */
void fanin__rng_fill_uniform(fanin_rng *r, float *out, size_t n, double lo, double hi);
void fanin__rng_fill_normal(fanin_rng *r, float *out, size_t n, double mean, double std);
void fanin__rng_fill_trunc_normal(fanin_rng *r, float *out, size_t n, double mean, double std,
                                  double lo, double hi);
/* Fisher-Yates shuffle of idx[0..n) */
void fanin__rng_shuffle(fanin_rng *r, int64_t *idx, int64_t n);
/* The Philox-4x32-10 block function: out = philox(ctr, key), 10 rounds (Random123's
 * philox4x32_R(10, ...); exposed for its known-answer tests). */
void fanin__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* ---- loader.c: finding, loading and checking plugin shared objects ---- */

typedef struct fanin__entry {
    const fanin_plugin *plugin; /* borrowed from the mapped library, valid until exit */
    const char *path;           /* the .so it came from (owned by the registry) */
    size_t n_params;            /* rows in plugin->params before the NULL row */
} fanin__entry;

typedef struct fanin_registry fanin_registry;

/* A registry with every plugin found on the search path: `extra` folders or files first (may
 * be NULL), then $FANIN_PLUGIN_PATH (secure_getenv), then the build tree's and install
 * prefix's plugin folders found relative to the running executable. Never the current
 * directory. On error (a bad plugin, a duplicate name) err names the file and the fix. */
int fanin__registry_new(fanin_registry **out, const char *const *extra, size_t n_extra,
                        char *err, size_t errlen);
/* Load one shared object into the registry (used by the above and by `fanin check`). */
int fanin__registry_load(fanin_registry *r, const char *path, char *err, size_t errlen);
/* A registry with no plugins, filled only by fanin__registry_load (`fanin check FILE`, tests).
 * Returns FANIN_OK or FANIN_ENOMEM. */
int fanin__registry_new_empty(fanin_registry **out);
void fanin__registry_free(fanin_registry *r); /* plugins stay mapped until exit */

size_t fanin__registry_count(const fanin_registry *r);
const fanin__entry *fanin__registry_at(const fanin_registry *r, size_t i);
const fanin__entry *fanin__registry_find(const fanin_registry *r, int kind, const char *name);
/* The nearest name of that kind, or NULL. */
const char *fanin__registry_suggest(const fanin_registry *r, int kind, const char *name);
/* The folders searched, joined with ':' (for messages). */
const char *fanin__registry_search_path(const fanin_registry *r);
const char *fanin__kind_name(int kind); /* "initializer", "activation", "optimizer" */

/* ---- host.c: the services table handed to plugins, and call contexts ---- */

struct fanin_ctx {
    const fanin__entry *entry; /* the plugin being called (NULL during the entry call) */
    const char *path;          /* its file */
    double gain;               /* the layer activation's gain (activation_gain service) */
    struct fanin_model *model; /* layer_forward service: the model whose W is being filled, */
    int layer;                 /* and its layer index (NULL model: no data, FANIN_ENOTSUP) */
    int has_error;
    int error_code;
    char msg[FANIN_ERRLEN];    /* the plugin's own message */
};

const fanin_host *fanin__host(void);
void fanin__ctx_init(fanin_ctx *ctx, const fanin__entry *e, double gain);
/* After a plugin call returned rc < 0: "plugin NAME (PATH): its message" into err. */
int fanin__ctx_fail(const fanin_ctx *ctx, int rc, const char *what, char *err, size_t errlen);
/* Test hook: make the n-th host allocation from now fail (0 = never). */
void fanin__host_fail_alloc_after(long n);
/* Host allocations not yet freed (leak checks in tests and `fanin check`). */
long fanin__host_live_allocs(void);
/* Where plugin log lines go; NULL restores the default (WARN and above to stderr as
 * "fanin: plugin NAME: message"). plugin is the plugin's name, or its file during the entry
 * call. Set it before loading plugins, from one thread. */
void fanin__host_set_log(void (*sink)(int level, const char *plugin, const char *msg));
/* The loader calls begin_entry(path) before each fanin_plugin_entry call: it clears the
 * message a plugin may leave with host->error(NULL, ...) and names `path` in the plugin's logs.
 * entry_message is that message, or NULL when the plugin reported none; it stays until the next
 * begin_entry (the loader calls begin_entry(NULL) once it has copied it). */
void fanin__host_begin_entry(const char *path);
const char *fanin__host_entry_message(void);

/* ---- params.c: plugin references and their typed parameters ---- */

/* Where a value came from, for messages. */
typedef struct fanin__loc {
    const char *file; /* borrowed; "--set" for command-line overrides */
    int line, col;    /* 1-based; 0 when unknown */
} fanin__loc;

/* A plugin chosen by the experiment, with its resolved parameters. */
typedef struct fanin__pref {
    const fanin__entry *entry;
    fanin_value *params; /* entry->n_params values in schema order (owned by the experiment) */
    fanin__loc loc;
    char *text;          /* compact form for tables: "normal(std=0.01)" (owned) */
} fanin__pref;

/* Every parameter of e at its schema default (out: e->n_params values; STRING defaults are
 * borrowed from the schema). */
void fanin__params_defaults(const fanin__entry *e, fanin_value *out);

/* ---- config.c (+ config_*.c): the experiment file ---- */

enum fanin__loss { FANIN_LOSS_BCE = 0, FANIN_LOSS_CE = 1, FANIN_LOSS_MSE = 2 };
/* AUTO (hdf5 only): scale255 when the file's x is uint8, else none; the reader decides. */
enum fanin__norm {
    FANIN_NORM_NONE = 0, FANIN_NORM_SCALE255 = 1, FANIN_NORM_STANDARDIZE = 2, FANIN_NORM_AUTO = 3
};
/* The names the file uses for enum fanin__loss, fanin__norm and fanin__rng_kind, indexed by
 * value and ending in NULL (config_resolve.c); the reader and the writer share them. */
extern const char *const fanin__loss_names[], *const fanin__norm_names[],
    *const fanin__rng_names[];

typedef struct fanin__data_spec {
    char source[16];       /* fashion-mnist | idx | csv | synthetic | hdf5 */
    char path[1024];       /* fashion-mnist folder, csv or hdf5 file (absolute after resolution) */
    char images[1024], labels[1024], test_images[1024], test_labels[1024]; /* idx */
    char test_path[1024];  /* hdf5: the file of the test datasets ("" = path) */
    char x[256], y[256], test_x[256], test_y[256]; /* hdf5 dataset names */
    char target[128];      /* csv target column */
    char kind[16];         /* synthetic: spiral | moons | circles | xor | blobs | linear_teacher */
    int classes[FANIN_MAX_CLASSES];
    int n_classes_listed;  /* 0 = all classes */
    int64_t train, test;   /* how many examples; -1 = all available */
    int64_t n;             /* synthetic: total examples generated before the split */
    double noise;          /* synthetic */
    int n_synth_classes;   /* synthetic: classes (spiral, blobs) */
    int features, outputs; /* synthetic linear_teacher: widths of x and y (0 before resolution) */
    int normalize;         /* enum fanin__norm */
} fanin__data_spec;

typedef struct fanin__layer_spec {
    int units;
    fanin__pref activation, init, bias_init;
} fanin__layer_spec;

typedef struct fanin__swept {
    char *key;   /* dotted path, e.g. "model.defaults.init" (owned) */
    char *value; /* compact value text (owned) */
} fanin__swept;

typedef struct fanin_experiment {
    char name[128];
    char *source_file;   /* the YAML file (owned); relative paths resolve against its folder */
    uint64_t seed;
    int rng;             /* enum fanin__rng_kind */
    fanin__data_spec data;
    int n_layers;
    fanin__layer_spec *layers; /* n_layers, repeats expanded (owned) */
    int loss;            /* enum fanin__loss */
    fanin__pref optimizer;
    double lr;
    fanin__schedule schedule; /* lr_schedule: the lr of each step from lr (schedule.h) */
    int64_t iterations;  /* total optimizer steps (epochs converted once data size is known) */
    int64_t epochs;      /* > 0 when the file gave train.epochs instead */
    int64_t batch;       /* 0 = full batch */
    int64_t log_every;
    int64_t layer_stats_every; /* 0 = only at iteration 0 and the end */
    int64_t checkpoint_every;  /* train.checkpoint_every: steps between checkpoints; 0 = never */
    int threads;         /* BLAS threads; 0 = OpenBLAS default */
    int member;          /* index within the sweep */
    int n_swept;
    fanin__swept *swept; /* the values this sweep member took (owned) */
    void *arena;         /* internal allocations (params, strings) */
} fanin_experiment;

typedef struct fanin_config fanin_config; /* a parsed YAML file plus overrides */

/* Parse the file (YAML syntax only; meaning is checked by _resolve). */
int fanin__config_load(fanin_config **out, const char *path, char *err, size_t errlen);
/* Same, from a string (tests, fuzzing); `name` is used in messages. */
int fanin__config_parse(fanin_config **out, const char *name, const char *text, size_t len,
                        char *err, size_t errlen);
/* Apply a --set override "a.b.c=VALUE" (VALUE is YAML: `0.1`, `he_normal`, `{name: x}`). */
int fanin__config_set(fanin_config *c, const char *assignment, char *err, size_t errlen);
/* Number of sweep members (1 without sweep:). */
int fanin__config_members(const fanin_config *c);
/* Resolve sweep member `member` into a checked experiment: every key known, every value of
 * the right type, every plugin found in reg and its parameters validated. */
int fanin__config_resolve(const fanin_config *c, int member, const fanin_registry *reg,
                          fanin_experiment **out, char *err, size_t errlen);
/* Check every member, writing up to max_errors messages (one per line) into err.
 * Returns FANIN_OK or FANIN_ECONFIG. */
int fanin__config_validate(const fanin_config *c, const fanin_registry *reg, char *err,
                           size_t errlen);
void fanin__config_free(fanin_config *c);
void fanin__experiment_free(fanin_experiment *x);
/* The fully resolved experiment as YAML (defaults filled in, no sweep), rerunnable as is. */
int fanin__experiment_write_yaml(const fanin_experiment *x, FILE *f);
/* A plugin parameter from text (for `fanin init-stats --param K=V`). */
int fanin__pref_from_args(fanin__pref *out, const fanin__entry *e, const char *const *kv,
                          size_t n_kv, char *err, size_t errlen);
void fanin__pref_deinit(fanin__pref *p); /* for prefs made by _from_args */

/* ---- data.c, idx.c, csv.c, hdf5.c, synthetic.c: datasets ---- */

typedef struct fanin_dataset {
    int64_t n_train, n_test;
    int n_features;
    int n_classes;     /* classes after relabelling (2 for binary); 0 for regression */
    int y_dim;         /* floats per target: 1 for class labels, >= 1 for regression */
    float *x_train;    /* [n_train, n_features] row-major */
    float *y_train;    /* [n_train, y_dim]; class labels stored as 0.0, 1.0, ... */
    float *x_test, *y_test;
    char desc[256];    /* "fashion-mnist classes [0,6]: 2000 train / 1000 test, 784 features" */
} fanin_dataset;

/* Load what spec describes; seed drives synthetic generation. Errors name the file and byte
 * or row. */
int fanin__data_load(const fanin__data_spec *spec, uint64_t seed, fanin_dataset **out,
                     char *err, size_t errlen);
/* Frees the four arrays (each its own malloc, so a hand-built dataset may use it too) and d.
 * NULL is a no-op. */
void fanin__data_free(fanin_dataset *d);

/* The readers, called by fanin__data_load on a zeroed d; they fill every field but desc, and
 * leave what they allocated in d on error (the caller frees it). */
int fanin__idx_load(const fanin__data_spec *spec, fanin_dataset *d, char *err, size_t errlen);
int fanin__csv_load(const fanin__data_spec *spec, fanin_dataset *d, char *err, size_t errlen);
/* *norm (in: spec->normalize) becomes what FANIN_NORM_AUTO means for this file's x. */
int fanin__hdf5_load(const fanin__data_spec *spec, fanin_dataset *d, int *norm, char *err,
                     size_t errlen);
int fanin__synthetic_load(const fanin__data_spec *spec, uint64_t seed, fanin_dataset *d,
                          char *err, size_t errlen);
/* Shared by the readers (data.c). The position of `label` in data.classes (its new label),
 * or -1 when not listed; with no classes listed the label itself (-1 if negative). */
int fanin__data_class_index(const fanin__data_spec *spec, long label);
/* "[0, 6]", or "" when no classes are listed. */
void fanin__data_classes_text(const fanin__data_spec *spec, char *buf, size_t len);
/* Resolve data.train/data.test (-1 = default) against `avail` examples taken in order:
 * both -1 -> 80% / 20%; one -1 -> the rest. `unit` ("rows") and `have` ("'f.csv' has")
 * word the error "data: asked for 900 training + 200 test rows but 'f.csv' has 1000". */
int fanin__data_split_sizes(const fanin__data_spec *spec, int64_t avail, const char *unit,
                            const char *have, int64_t *n_train, int64_t *n_test, char *err,
                            size_t errlen);
/* Sets the sizes and mallocs x/y of both splits (NULL for an empty split). */
int fanin__data_alloc(fanin_dataset *d, int64_t n_train, int64_t n_test, int n_features,
                      int y_dim, char *err, size_t errlen);

/* ---- model.c, loss.c, train.c: the network ---- */

typedef struct fanin__layer {
    int n_in, n_out;
    const fanin__layer_spec *spec; /* borrowed from the experiment */
    float *W, *b;   /* [n_out, n_in], [n_out]: views into model->params */
    float *dW, *db; /* same shapes: views into model->grads */
    float *Z, *A;   /* [cap, n_out] pre-activation and activation */
    float *dA;      /* [cap, n_out] gradient w.r.t. A, then reused for dZ */
} fanin__layer;

typedef struct fanin_model {
    int n_layers, n_in, cap;   /* cap: rows the buffers hold (batch or eval chunk) */
    fanin__layer *layers;
    float *params, *grads;     /* all W and b, contiguous, layer by layer (W then b) */
    size_t n_params;
    void *opt_state;           /* optimizer-owned bytes, host-allocated */
    size_t opt_state_size;
    float *block;              /* the one allocation the layers' buffers are carved from */
    bool fused_output;         /* bce on a sigmoid output: the loss writes dZ from the logits */
    const fanin_experiment *x; /* borrowed */
    const float *init_X;       /* data-dependent init (layer_forward): [init_n, n_in], borrowed */
    int init_n;                /* 0 = no batch */
} fanin_model;

int fanin__model_new(const fanin_experiment *x, int n_in, int cap, fanin_model **out,
                     char *err, size_t errlen);
void fanin__model_free(fanin_model *m);
/* Initialise every W and b with the experiment's plugins and streams: rng philox gives each
 * tensor its own (seed, layer, tensor) stream; rng numpy one MT19937 stream seeded as
 * np.random.seed(seed), drawn W0, b0, W1, b1, ... (docs/random-streams.md). */
int fanin__model_init_params(fanin_model *m, char *err, size_t errlen);
/* The batch data-dependent initializers see through layer_forward: the first min(cap, n) rows
 * of X [n, n_in] (borrowed until init_params returns). Without it layer_forward reports
 * FANIN_ENOTSUP. */
void fanin__model_set_init_batch(fanin_model *m, const float *X, int64_t n);
/* The layer_forward service: forward the init batch through layers 0..l and point *out at
 * layer l's pre-activation Z [*rows, *cols], computed with a zero bias for layer l. */
int fanin__model_layer_forward(fanin_model *m, int l, const float **out, int64_t *rows,
                               int64_t *cols, char *err, size_t errlen);
/* Forward n <= cap rows of X [n, n_in]; output in the last layer's A. */
int fanin__model_forward(fanin_model *m, const float *X, int n, char *err, size_t errlen);
/* Backward from dA of the last layer (set by the loss); fills grads. */
int fanin__model_backward(fanin_model *m, const float *X, int n, char *err, size_t errlen);
/* Write weights as safetensors: layers.N.weight [out,in], layers.N.bias [out], F32;
 * `metadata` (may be NULL) is a JSON-escaped string stored under __metadata__.config. */
int fanin__model_save(const fanin_model *m, const char *path, const char *metadata,
                      char *err, size_t errlen);

/* Loss of the last layer's output A [n, k] against Y [n, y_dim]; mean over rows. When
 * `grad` is set also writes dL/dA (or dL/dZ when fused) into the last layer's dA. */
double fanin__loss(fanin_model *m, const float *Y, int n, bool grad);
/* Does the loss fit the output layer and the data? (bce: 1 unit, 2 classes; ...) */
int fanin__loss_check(const fanin_model *m, const fanin_dataset *d, char *err, size_t errlen);
/* Rows whose prediction matches the label (classification); 0 for regression. */
int64_t fanin__count_correct(const fanin_model *m, const float *Y, int n);

typedef struct fanin__progress {
    int64_t iteration, iterations; /* iteration counts steps done so far */
    int64_t epoch;
    double loss, train_acc, test_acc, lr, seconds; /* acc NaN when not computed */
} fanin__progress;

typedef struct fanin__train_hooks {
    void *user;
    /* every log_every iterations and at the end; return nonzero to stop (interrupt) */
    int (*on_log)(void *user, const fanin__progress *p);
    struct fanin__diag *diag; /* per-layer statistics recorder (diag.h), or NULL */
    /* checkpoints (checkpoint.h): written every x->checkpoint_every steps and on interrupt to
     * this path (NULL: never); with `resume` an existing one is loaded before the first step */
    const char *checkpoint_path;
    bool resume;
    int threads;    /* BLAS threads of this run, recorded in checkpoints */
    void (*on_warning)(void *user, const char *msg); /* e.g. a thread count differing on resume */
} fanin__train_hooks;

typedef struct fanin__result {
    int status;   /* FANIN_OK, FANIN_EDIVERGED, FANIN_EINTR */
    int64_t iterations;
    double final_loss, train_acc, test_acc, seconds;
    /* diverged: the first layer (0-based) where a non-finite value appeared, or -1 when only
     * the loss was; diverged_what: "weights", "activations", "gradients" or "loss" */
    int diverged_layer;
    const char *diverged_what;
    int64_t resumed_from; /* the checkpoint's iteration when resumed, else 0 */
} fanin__result;

/* Train m on d as the experiment says; nothing is allocated inside the loop. */
int fanin__train(fanin_model *m, const fanin_dataset *d, const fanin__train_hooks *hooks,
                 fanin__result *res, char *err, size_t errlen);
/* Loss and accuracy over a whole set, in chunks of m->cap rows. */
int fanin__evaluate(fanin_model *m, const float *X, const float *Y, int64_t n, double *loss,
                    double *acc, char *err, size_t errlen);

/* ---- npy.c: numpy .npy files ---- */

/* Write data [rows, cols] as a .npy v1.0 file (float32 '<f4', C order), atomically: a temp
 * file in the same folder renamed over path. */
int fanin__npy_write(const char *path, const float *data, int64_t rows, int64_t cols,
                     char *err, size_t errlen);

#endif /* FANIN_INTERNAL_H */
