/* Private declarations of the experiment-file code: params.c, config.c, config_tree.c,
 * config_resolve.c, config_model.c, config_data.c, config_write.c. Nothing outside these files
 * includes this header; the rest of the engine sees only the config.c section of internal.h.
 *
 * The pipeline: YAML text -> a mutable node tree (every node keeps FILE:LINE:COL) -> --set
 * overrides edit the tree -> a sweep member's values are set on a clone -> the resolver walks
 * the clone with the key tables below and fills a fanin_experiment, collecting every error.
 */
#ifndef FANIN_CONFIG_INT_H
#define FANIN_CONFIG_INT_H

#include "internal.h"

#include <stdarg.h>

/* Limits that protect the parser from hostile input (alias bombs, deep nesting). */
#define FANIN__YAML_MAX_DEPTH 64
#define FANIN__YAML_MAX_NODES 200000
#define FANIN__MAX_MEMBERS 1000000
#define FANIN__MAX_ERRORS 20

/* ---- config_tree.c: the node tree ---- */

enum fanin__node_type { FANIN__SCALAR = 1, FANIN__MAP = 2, FANIN__SEQ = 3 };

typedef struct fanin__node {
    int type;                  /* enum fanin__node_type */
    fanin__loc loc;            /* where the node starts; loc.file borrowed (see fanin_config) */
    char *text;                /* scalar: its text, NUL-terminated (owned) */
    bool plain;                /* scalar: unquoted and untagged, so it may be a number/bool/null */
    size_t n, cap;             /* pairs (MAP) or items (SEQ) */
    struct fanin__node **keys; /* MAP: the key scalars (owned) */
    struct fanin__node **vals; /* MAP: the values; SEQ: the items (owned) */
} fanin__node;

/* A parsed file plus its overrides. */
struct fanin_config {
    char *name;        /* the file as named by the caller: used in messages (owned) */
    char *dir;         /* the absolute folder relative paths resolve against (owned) */
    fanin__node *root; /* always a mapping; every loc.file is `name` or a static literal */
};

/* Parse one YAML document. Locations are reported as `file`:LINE:COL; line0/col0 shift them
 * (a --set value starts at column col0 + 1 of line 1). An empty document gives *out = NULL.
 * Errors (syntax, duplicate keys, aliases to enclosing nodes, too deep or too large) are
 * written as "FILE:LINE:COL: message". */
int fanin__yaml_parse(const char *file, const char *text, size_t len, int line0, int col0,
                      fanin__node **out, char *err, size_t errlen);

fanin__node *fanin__node_new(int type, const fanin__loc *loc);
fanin__node *fanin__node_scalar(const char *text, bool plain, const fanin__loc *loc);
void fanin__node_free(fanin__node *n);
/* Deep copy; every loc.file equal to `from` (pointer) becomes `to` (when `from` != NULL). */
fanin__node *fanin__node_clone(const fanin__node *n, const char *from, const char *to);
/* Append a pair / an item; takes ownership of key and val (freed on failure). */
int fanin__node_map_add(fanin__node *map, fanin__node *key, fanin__node *val);
int fanin__node_seq_add(fanin__node *seq, fanin__node *val);
/* The value under `key` of a mapping (NULL if absent or m is not a mapping); *key_node gets
 * the key scalar when not NULL. */
const fanin__node *fanin__node_get(const fanin__node *m, const char *key,
                                   const fanin__node **key_node);
/* A plain `~`, `null`, `Null`, `NULL` or empty scalar: the key counts as absent. */
bool fanin__node_is_null(const fanin__node *n);
/* Set `path` (dotted; numbers index lists) in *root to val, creating missing mapping keys
 * (located at loc, column shifted by each segment's offset in the path). Takes ownership of
 * val. A null scalar on the way becomes a mapping. On error writes the reason (no location)
 * into msg: "the list has 4 items", and returns FANIN_ECONFIG. */
int fanin__node_set_path(fanin__node **root, const char *path, fanin__node *val,
                         const fanin__loc *loc, char *msg, size_t msglen);
/* Compact one-line flow text of a node ("{name: normal, std: 0.01}"); caller frees. */
char *fanin__node_flow_text(const fanin__node *n);
/* "'abc'", "the quoted string '0.1'", "a mapping", "a list", "null": what was found. */
void fanin__node_describe(const fanin__node *n, char *buf, size_t len);

/* ---- config_tree.c: small string helpers ---- */

char *fanin__strdup(const char *s);
/* printf into a growing malloc'd string (*s may be NULL); returns FANIN_OK or FANIN_ENOMEM. */
int fanin__str_appendf(char **s, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Shortest "%.*g" text that reads back as the same double (always a YAML number). */
void fanin__format_double(double v, char *buf, size_t len);
/* Is text a YAML number (`[-+]?(digits[.digits]|.digits)([eE][-+]?digits)?`)? *is_int when
 * it has no fraction or exponent. */
bool fanin__text_is_number(const char *text, bool *is_int);
/* Does text need quotes to stay a string in YAML (a number, bool, null, special chars)? */
bool fanin__needs_quotes(const char *text);
/* text as a YAML double-quoted string with escapes, into buf. */
void fanin__quote(const char *text, char *buf, size_t len);

/* ---- config.c: the error collector ---- */

/* Errors as "FILE:LINE:COL: message", deduplicated, in the order found. */
typedef struct fanin__errs {
    char **msg;
    int n, cap;
    int dropped; /* distinct messages beyond FANIN__MAX_ERRORS */
    int total;   /* every add, duplicates too: "did this step fail?" compares totals */
    int code;    /* the first error's code (FANIN_OK while empty) */
} fanin__errs;

/* Add a located message; returns `code`. loc may be NULL (no prefix). */
int fanin__errs_add(fanin__errs *e, int code, const fanin__loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int fanin__errs_vadd(fanin__errs *e, int code, const fanin__loc *loc, const char *fmt,
                     va_list ap);
void fanin__errs_deinit(fanin__errs *e);

/* ---- params.c: typed values and plugin references ---- */

/* Read a scalar node as a value of spec's type (F64, I64, BOOL, ENUM, STRING) and check its
 * range. STRING values borrow n->text. On failure writes "must be a number >= 0, got 'x'"
 * (and a hint) into msg and returns FANIN_ECONFIG. */
int fanin__value_read(const fanin_param_spec *spec, const fanin__node *n, fanin_value *out,
                      char *msg, size_t msglen);
/* "a number > 0", "an integer in [1, 64]", "true or false", "one of a | b". */
void fanin__value_expect(const fanin_param_spec *spec, char *buf, size_t len);
/* A value as YAML text: shortest round-trip number, `auto`, true/false, an enum choice, a
 * string (quoted when needed when `quote` is set). */
void fanin__value_format(const fanin_param_spec *spec, const fanin_value *v, bool quote,
                         char *buf, size_t len);
/* Resolve a plugin reference node (a name, or a mapping with `name` and parameters) of `kind`
 * against reg. `skip` names a host key the mapping may carry that is not a parameter (the
 * optimizer's "lr"), or NULL. `what` names the reference in messages ("model.defaults.init").
 * Every problem is added to errs; returns FANIN_OK or the first error's code. */
int fanin__pref_from_node(fanin__pref *out, const fanin_registry *reg, int kind,
                          const fanin__node *n, const char *skip, fanin__errs *errs);
/* The same for a known plugin: `map` (may be NULL) holds the parameters. */
int fanin__pref_from_entry(fanin__pref *out, const fanin__entry *e, const fanin__node *map,
                           const fanin__loc *loc, const char *skip, fanin__errs *errs);
int fanin__pref_copy(fanin__pref *dst, const fanin__pref *src);

/* ---- config_resolve.c: the schema of known keys ---- */

enum fanin__key_type {
    FANIN__KEY_I64 = 1, /* int64_t, read as FANIN_PARAM_I64 with flags/min/max */
    FANIN__KEY_INT,     /* int, same */
    FANIN__KEY_U64,     /* uint64_t, same (min >= 0) */
    FANIN__KEY_F64,     /* double */
    FANIN__KEY_ENUM,    /* int: the index into choices */
    FANIN__KEY_STR,     /* char[size]; any scalar, or one of choices when given */
    FANIN__KEY_PATH,    /* char[size]: a file name made absolute */
    FANIN__KEY_PREF,    /* fanin__pref of `kind` */
    FANIN__KEY_MAP,     /* a mapping described by `sub`, offsets from the same base */
    FANIN__KEY_LIST,    /* a list of mappings described by `sub` (read by `fn`) */
    FANIN__KEY_ANY,     /* anything: read by `fn` (a leaf for sweep paths) */
};

#define FANIN__KEY_REQUIRED FANIN_PARAM_REQUIRED /* in fanin__key.flags */

typedef struct fanin__rctx fanin__rctx;
typedef struct fanin__key fanin__key;

/* A custom reader: val is not null; base is the section's struct. */
typedef int (*fanin__key_fn)(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                             const char *path, void *base);

/* One known key. A section is an array of these ending in a row whose name is NULL. Adding a
 * scalar key (e.g. train.checkpoint_every) is one row plus its field and default. */
struct fanin__key {
    const char *name;
    int type;                   /* enum fanin__key_type */
    size_t off;                 /* the field's offset from the section's base struct */
    size_t size;                /* STR and PATH: the buffer's size */
    unsigned flags;             /* FANIN_PARAM_* range flags, FANIN__KEY_REQUIRED */
    double min, max;            /* numeric bounds (see flags) */
    const char *const *choices; /* ENUM, STR: NULL-terminated */
    const fanin__key *sub;      /* MAP, LIST: the (items') keys */
    int kind;                   /* PREF: FANIN_KIND_* */
    unsigned sources;           /* data keys: the sources allowing it (bit per source); 0 all */
    fanin__key_fn fn;           /* custom reader replacing the generic one, or NULL */
    const char *doc;            /* what the value is, for "missing required key" hints */
};

/* The state of one resolution. */
struct fanin__rctx {
    const fanin_config *c;
    const fanin_registry *reg;
    fanin_experiment *x;
    fanin__errs *errs;
    const fanin__node *root; /* the working tree (sweep values applied) */
};

extern const fanin__key fanin__top_keys[];

/* Resolve the working tree r->root into r->x (defaults first, then every key). */
int fanin__resolve_tree(fanin__rctx *r);
/* Read every key of map by table into base; unknown keys, keys not allowed for `source_bit`
 * (0 = no source filter) and missing required keys are errors. A null map counts as empty. */
int fanin__apply_map(fanin__rctx *r, const fanin__node *map, const fanin__key *table,
                     void *base, const char *path, unsigned source_bit);
/* A located error, the location taken from node n (n may be NULL: the file). */
int fanin__rerr(fanin__rctx *r, const fanin__node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Check a dotted sweep path against the tables. Returns the row it ends at (or a row of type
 * ANY for a plugin parameter inside a PREF), or NULL with a suggestion for the whole path in
 * `near` (empty when none) and the reason in msg. */
const fanin__key *fanin__schema_find(const char *path, char *near, size_t nearlen, char *msg,
                                     size_t msglen);
/* "a | b | c" */
void fanin__choices_text(const char *const *choices, char *buf, size_t len);
size_t fanin__choices_count(const char *const *choices);

/* ---- config_data.c, config_model.c: the sections with rules beyond the tables ---- */

extern const fanin__key fanin__data_keys[];
extern const fanin__key fanin__model_keys[];
extern const char *const fanin__sources[]; /* fashion-mnist, idx, csv, synthetic, hdf5 */
extern const char *const fanin__synth_kinds[];

int fanin__resolve_data(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base);
int fanin__resolve_model(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                         const char *path, void *base);
/* The number of classes the file fixes (listed, synthetic, fashion-mnist's 10), else 0. */
int fanin__data_class_count(const fanin__data_spec *d);
/* After every key: does the loss fit the last layer and the classes? */
void fanin__check_loss(fanin__rctx *r);

/* ---- schedule.c: the lr_schedule section ---- */

extern const fanin__key fanin__schedule_keys[];

/* `lr_schedule: NAME` or a mapping of fanin__schedule_keys, with the keys each kind allows. */
int fanin__resolve_schedule(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                            const char *path, void *base);
/* After every key: the warmup must leave iterations to the schedule. */
void fanin__check_schedule(fanin__rctx *r);
/* The schedule as a YAML flow mapping, every key of its kind spelled out. */
void fanin__schedule_write(FILE *f, const fanin__schedule *s);

#endif /* FANIN_CONFIG_INT_H */
