/* The experiment: a parsed file plus overrides (fanin_config) and one resolved sweep member
 * (fanin_experiment), with the API that loads, overrides, counts, resolves, validates and writes
 * them (config.c, write.c). What the rest of libfanin reads of the experiment file. */
#ifndef FANIN_CONFIG_EXPERIMENT_H
#define FANIN_CONFIG_EXPERIMENT_H

#include "config/errs.h"
#include "config/loc.h"
#include "config/pref.h"
#include "config/schedule.h"
#include "plugin/registry.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* layers after repeats and residual blocks are expanded (a 64-block residual net of 4-layer
 * branches has 384); the list is allocated to size, nothing is sized by this on the stack */
#define FANIN_MAX_LAYERS 4096
#define FANIN_MAX_CLASSES 64
/* data.path's default for source fashion-mnist (Debian's dataset-fashion-mnist) */
#define FANIN__FMNIST_DIR "/usr/share/datasets/fashion-mnist"

enum fanin__loss { FANIN_LOSS_BCE = 0, FANIN_LOSS_CE = 1, FANIN_LOSS_MSE = 2 };
/* AUTO (hdf5 only): scale255 when the file's x is uint8, else none; the reader decides. */
enum fanin__norm {
    FANIN_NORM_NONE = 0,
    FANIN_NORM_SCALE255 = 1,
    FANIN_NORM_STANDARDIZE = 2,
    FANIN_NORM_AUTO = 3
};
/* The names the file uses for enum fanin__loss, fanin__norm and fanin__rng_kind, indexed by
 * value and ending in NULL (resolve.c); the reader and the writer share them. */
extern const char *const fanin__loss_names[], *const fanin__norm_names[], *const fanin__rng_names[];

/* train.parallel: none, or mpi (every rank takes a slice of each batch under mpirun) */
enum fanin__parallel { FANIN_PARALLEL_NONE = 0, FANIN_PARALLEL_MPI = 1 };
extern const char *const fanin__parallel_names[]; /* "none", "mpi", NULL */
/* train.row_threads: split each step's batch rows over the run's threads (engine/row_threads.h)
 * when the rule says so (auto), always when it can (on), or never (off) */
enum fanin__row_threads {
    FANIN_ROW_THREADS_AUTO = 0,
    FANIN_ROW_THREADS_ON = 1,
    FANIN_ROW_THREADS_OFF = 2
};
extern const char *const fanin__row_threads_names[]; /* "auto", "on", "off", NULL */

/* hdf5 `data.layout`: how a 4-D x [n, a, b, c] holds one example, [H, W, C] (the course's
 * [64, 64, 3] images) or [C, H, W]; the dataset is stored [C, H, W] either way. */
enum fanin__layout { FANIN_LAYOUT_HWC = 0, FANIN_LAYOUT_CHW = 1 };
extern const char *const fanin__layout_names[]; /* "hwc", "chw", NULL (section_data.c) */

typedef struct fanin__data_spec {
    char source[16]; /* fashion-mnist | idx | csv | synthetic | hdf5 */
    char path[1024]; /* fashion-mnist folder, csv or hdf5 file (absolute after resolution) */
    char images[1024], labels[1024], test_images[1024], test_labels[1024]; /* idx */
    char test_path[1024]; /* hdf5: the file of the test datasets ("" = path) */
    char x[256], y[256], test_x[256], test_y[256]; /* hdf5 dataset names */
    char target[128];                              /* csv target column */
    char kind[16]; /* synthetic: spiral | moons | circles | xor | blobs | linear_teacher */
    int classes[FANIN_MAX_CLASSES];
    int n_classes_listed;  /* 0 = all classes */
    int64_t train, test;   /* how many examples; -1 = all available */
    int64_t n;             /* synthetic: total examples generated before the split */
    double noise;          /* synthetic */
    int n_synth_classes;   /* synthetic: classes (spiral, blobs) */
    int features, outputs; /* synthetic linear_teacher: widths of x and y (0 before resolution) */
    int normalize;         /* enum fanin__norm */
    int layout;            /* hdf5: enum fanin__layout (4-D x only) */
    /* not a key: set from model.layers when a layer reads images (conv2d, pools, flatten,
     * global_avgpool). Then an hdf5 x [n, h, w, c] is stored [c, h, w] per example; else its
     * rows stay in the file's order (numpy's reshape(n, -1)), as before layer kinds existed. */
    int model_images;
} fanin__data_spec;

/* The data keys that name files (and the csv target), whose places in the file the data
 * checks report (data/data.h): indexes of fanin_experiment.data_loc, spelt as in
 * fanin__data_key_names (section_data.c). */
enum fanin__data_key {
    FANIN__DK_PATH,
    FANIN__DK_TEST_PATH,
    FANIN__DK_IMAGES,
    FANIN__DK_LABELS,
    FANIN__DK_TEST_IMAGES,
    FANIN__DK_TEST_LABELS,
    FANIN__DK_TARGET,
    FANIN__DK_COUNT
};
extern const char *const fanin__data_key_names[]; /* "path", ..., "target" */

/* Layer kinds (engine/layer.h has a row for each). A residual block is written as one layer
 * with its own `layers:` and expands into RESIDUAL_OPEN, its branch's layers, RESIDUAL_CLOSE. */
enum fanin__layer_type {
    FANIN_LAYER_DENSE = 0,
    FANIN_LAYER_CONV2D = 1,
    FANIN_LAYER_MAXPOOL2D = 2,
    FANIN_LAYER_AVGPOOL2D = 3,
    FANIN_LAYER_GLOBAL_AVGPOOL = 4,
    FANIN_LAYER_FLATTEN = 5,
    FANIN_LAYER_BATCHNORM = 6,
    FANIN_LAYER_LAYERNORM = 7,
    FANIN_LAYER_DROPOUT = 8,
    FANIN_LAYER_RESIDUAL_OPEN = 9,
    FANIN_LAYER_RESIDUAL_CLOSE = 10,
    FANIN_LAYER_TYPE_COUNT = 11,
};
/* residual `scale:`: y = x + alpha * F(x) with alpha 1, learnable from 0 (ReZero), learnable from
 * `init` (SkipInit), or Fixup's scalar multiplier and biases (Zhang et al. 2019). */
enum fanin__residual_scale {
    FANIN_SCALE_ONE = 0,
    FANIN_SCALE_REZERO = 1,
    FANIN_SCALE_SKIPINIT = 2,
    FANIN_SCALE_FIXUP = 3
};
/* The names `type:` takes, by enum fanin__layer_type ("residual" is the open;
 * "residual_close" is never written), and `scale:`'s by enum fanin__residual_scale ("1",
 * "rezero", "skipinit", "fixup"); both end in NULL (section_layers.c). */
extern const char *const fanin__layer_type_names[], *const fanin__scale_names[];
#define FANIN_PAD_SAME (-1)  /* conv2d/pool padding: output size ceil(in / stride) */
#define FANIN_PAD_VALID (-2) /* no padding (0) */

/* model.parametrization (docs/configuration.md, "Parametrizations"): standard = as drawn;
 * ntk = weights drawn times sqrt(fan_in), output times 1/sqrt(fan_in); mup = Tensor Programs V
 * relative to model.base_width, as the mup package. Names in fanin__pz_names (NULL-ended). */
enum fanin__parametrization { FANIN_PZ_STANDARD = 0, FANIN_PZ_NTK = 1, FANIN_PZ_MUP = 2 };
enum fanin__pz_role { FANIN_PZ_NONE = 0, FANIN_PZ_INPUT, FANIN_PZ_HIDDEN, FANIN_PZ_OUTPUT };
extern const char *const fanin__pz_names[], *const fanin__pz_role_names[];
/* A dense layer's factors from the parametrization (all 0 = 1, as a spec zeroed by hand):
 *   W0 = init * (drawn W) * (fan_in ? sqrt(n_in) : 1),   b0 = bias_init * (drawn b)
 *   Z  = out * (fan_in ? 1/sqrt(n_in) : 1) * (x W^T) + b
 * and learning-rate multipliers (times the layer's own lr_scale / bias_lr_scale) by optimizer
 * family: [0] SGD-like, [1] Adam-like (fanin__pz_adam_like). */
typedef struct fanin__pz {
    int role; /* enum fanin__pz_role */
    bool fan_in;
    double init, bias_init, out, lr[2], bias_lr[2];
} fanin__pz;
/* Does the optimizer plugin `name` normalise the gradient entrywise (Adam, RMSProp, Adagrad..)? */
bool fanin__pz_adam_like(const char *name);
/* pz's factor v, 1 when unset (0). */
static inline double fanin__pz_f(double v) { return v > 0 ? v : 1.0; }

typedef struct fanin__layer_spec {
    int type;       /* enum fanin__layer_type */
    fanin__loc loc; /* where the layer (or its residual block) was written */
    char name[64];  /* the module path its tensors are saved under: "layers.3" or
                        * "layers.2.1.branch.0"; "" = "layers.<index>" */
    int units;      /* dense */
    /* dense, conv2d; residual close: the activation after the sum ("linear" = none), its
     * projection's init and bias_init; batchnorm/layernorm: init = gamma, bias_init = beta */
    fanin__pref activation, init, bias_init;
    int channels;                /* conv2d: output channels */
    int kernel, stride, padding; /* conv2d, pools: square kernel; padding >= 0 or FANIN_PAD_* */
    bool bias;                   /* conv2d: with a bias (dense always has one) */
    double p;                    /* dropout: the probability of zeroing */
    double eps, momentum;        /* batchnorm (1e-5, 0.1 as PyTorch), layernorm (eps) */
    /* residual blocks: an open and its close link to each other (indices in the layer list) */
    int link;
    int scale;         /* close: enum fanin__residual_scale */
    double scale_init; /* close: skipinit's initial alpha */
    bool projection;   /* close: a dense x.P^T on the skip path (init: its init) */
    /* the layer's place in a residual branch, for initializers (Fixup): block index from 0 and
     * number of blocks of its residual stack (the item's repeat), position in the branch from
     * 0 and the branch's number of weight layers (dense, conv2d). pos of a layer without a
     * weight is that of the last weight layer before it (-1: none), of an open or close -1.
     * block = -1 (and n_blocks, pos, branch_len 0, -1, 0) outside any residual block. */
    int block, n_blocks, pos, branch_len;
    /* the optimizer's learning-rate and weight-decay multipliers of this layer's parameters and
     * of its bias (> 0, finite; 1 = as the optimizer says). A branch layer without its own takes
     * its residual block's; bias_* without its own takes the layer's lr_scale and wd_scale.
     * 0 (a spec built by hand, zeroed) means 1, and bias_* 0 the layer's. */
    double lr_scale, wd_scale, bias_lr_scale, bias_wd_scale;
    fanin__pz pz; /* what model.parametrization applies to this layer (dense only) */
} fanin__layer_spec;

typedef struct fanin__swept {
    char *key;   /* dotted path, e.g. "model.defaults.init" (owned) */
    char *value; /* compact value text (owned) */
} fanin__swept;

typedef struct fanin_experiment {
    char name[128];
    char *source_file;  /* the YAML file (owned); relative paths resolve against its folder */
    uint64_t seed;      /* the initial weights */
    uint64_t data_seed; /* minibatch order and synthetic data (default: seed) */
    int rng;            /* enum fanin__rng_kind */
    fanin__data_spec data;
    /* where each enum fanin__data_key value was written (data.source's place for a default);
     * loc.file is source_file or "--set", so valid as long as the experiment */
    fanin__loc data_loc[FANIN__DK_COUNT];
    int n_layers;
    fanin__layer_spec *layers; /* n_layers, repeats and residual blocks expanded (owned) */
    int input[3];              /* model.input: one example's [C, H, W]; all 0 when not given */
    fanin__loc input_loc;      /* where model.input was written */
    int parametrization;       /* enum fanin__parametrization (model.parametrization) */
    double base_width;         /* model.base_width: mup's base model's hidden width (0: none) */
    int loss;                  /* enum fanin__loss */
    fanin__pref optimizer;
    double lr;
    fanin__schedule schedule; /* lr_schedule: the lr of each step from lr (schedule.h) */
    int64_t iterations;       /* total optimizer steps (epochs converted once data size is known) */
    int64_t epochs;           /* > 0 when the file gave train.epochs instead */
    int64_t batch;            /* 0 = full batch */
    int64_t log_every;
    int64_t layer_stats_every; /* 0 = only at iteration 0 and the end */
    int64_t coord_check_steps; /* diagnostics.coord_check.steps: also record iterations 0..N
                                * (the mup package's coordinate check); 0 = off */
    int64_t checkpoint_every;  /* train.checkpoint_every: steps between checkpoints; 0 = never */
    double timeout;            /* train.timeout: seconds before a member is killed; 0 = none
                                * (the default of `fanin run --timeout S`) */
    int parallel;    /* train.parallel: enum fanin__parallel (--data-parallel's default) */
    int threads;     /* BLAS threads; 0 = OpenBLAS default */
    int row_threads; /* train.row_threads: enum fanin__row_threads */
    int member;      /* index within the sweep */
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
/* A further check of one resolved member, adding its problems to errs (user: the caller's). */
typedef void (*fanin__member_check)(const fanin_experiment *x, fanin__errs *errs, void *user);
/* fanin__config_validate, also running check (may be NULL) on every member that resolves, so
 * a higher layer's checks (data/'s files) join the same located, deduplicated list. */
int fanin__config_validate_with(const fanin_config *c, const fanin_registry *reg,
                                fanin__member_check check, void *user, char *err, size_t errlen);
void fanin__config_free(fanin_config *c);
void fanin__experiment_free(fanin_experiment *x);
/* The fully resolved experiment as YAML (defaults filled in, no sweep), rerunnable as is. */
int fanin__experiment_write_yaml(const fanin_experiment *x, FILE *f);

#endif /* FANIN_CONFIG_EXPERIMENT_H */
