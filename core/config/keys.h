/* The key-table interpreter (keys.c): a section of the experiment file is a table of
 * known keys; this reads a mapping by its table. The tables are the sections' (sections.h). */
#ifndef FANIN_CONFIG_KEYS_H
#define FANIN_CONFIG_KEYS_H

#include "config/errs.h"
#include "config/experiment.h"
#include "config/tree.h"
#include <stddef.h>

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

/* Read every key of map by table into base; unknown keys, keys not allowed for `source_bit`
 * (0 = no source filter) and missing required keys are errors. A null map counts as empty. */
int fanin__apply_map(fanin__rctx *r, const fanin__node *map, const fanin__key *table, void *base,
                     const char *path, unsigned source_bit);
/* A located error, the location taken from node n (n may be NULL: the file). */
int fanin__rerr(fanin__rctx *r, const fanin__node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The row of `name` in table, or NULL. */
const fanin__key *fanin__key_find(const fanin__key *table, const char *name);
/* Up to cap names of table's rows (only those allowed for source_bit when nonzero) into out. */
size_t fanin__key_names(const fanin__key *table, const char **out, size_t cap, unsigned bit);
/* Copy text into a STR row's field (k->size bytes), or a located error when it is too long. */
int fanin__key_store_text(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                          const char *path, char *field, const char *text);

#endif /* FANIN_CONFIG_KEYS_H */
