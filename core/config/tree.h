/* The experiment file as a tree of located nodes (tree.c): YAML parsing with limits
 * against hostile input, node helpers, and the small string helpers the config code shares. */
#ifndef FANIN_CONFIG_TREE_H
#define FANIN_CONFIG_TREE_H

#include "config/loc.h"
#include <stdbool.h>
#include <stddef.h>

/* Limits that protect the parser from hostile input (alias bombs, deep nesting). */
#define FANIN__YAML_MAX_DEPTH 64
#define FANIN__YAML_MAX_NODES 200000
#define FANIN__MAX_MEMBERS 1000000

/* ---- the node tree ---- */

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

/* ---- small string helpers ---- */

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

#endif /* FANIN_CONFIG_TREE_H */
