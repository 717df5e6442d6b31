/* The experiment file as a mutable tree: libyaml events -> nodes that keep FILE:LINE:COL, deep
 * copies, setting a dotted path (--set, sweep members), and the small text helpers the config
 * files share. Meaning (which keys exist, their types) is config_resolve.c's business.
 */
#include "config/tree.h"
#include "base/errors.h"
#include "config/loc.h"

#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* ---- nodes ---- */

fanin__node *fanin__node_new(int type, const fanin__loc *loc) {
    fanin__node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->type = type;
    if (loc) n->loc = *loc;
    return n;
}

fanin__node *fanin__node_scalar(const char *text, bool plain, const fanin__loc *loc) {
    fanin__node *n = fanin__node_new(FANIN__SCALAR, loc);
    if (!n) return NULL;
    n->plain = plain;
    if (!(n->text = fanin__strdup(text))) {
        free(n);
        return NULL;
    }
    return n;
}

void fanin__node_free(fanin__node *n) {
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys) fanin__node_free(n->keys[i]);
        fanin__node_free(n->vals[i]);
    }
    free(n->keys);
    free(n->vals);
    free(n->text);
    free(n);
}

static int grow(fanin__node *c) {
    if (c->n < c->cap) return FANIN_OK;
    size_t cap = c->cap ? c->cap * 2 : 4;
    fanin__node **v = realloc(c->vals, cap * sizeof *v);
    if (!v) return FANIN_ENOMEM;
    c->vals = v;
    if (c->type == FANIN__MAP) {
        fanin__node **k = realloc(c->keys, cap * sizeof *k);
        if (!k) return FANIN_ENOMEM;
        c->keys = k;
    }
    c->cap = cap;
    return FANIN_OK;
}

int fanin__node_map_add(fanin__node *map, fanin__node *key, fanin__node *val) {
    if (!key || !val || grow(map) != FANIN_OK) {
        fanin__node_free(key);
        fanin__node_free(val);
        return FANIN_ENOMEM;
    }
    map->keys[map->n] = key;
    map->vals[map->n++] = val;
    return FANIN_OK;
}

int fanin__node_seq_add(fanin__node *seq, fanin__node *val) {
    if (!val || grow(seq) != FANIN_OK) {
        fanin__node_free(val);
        return FANIN_ENOMEM;
    }
    seq->vals[seq->n++] = val;
    return FANIN_OK;
}

fanin__node *fanin__node_clone(const fanin__node *n, const char *from, const char *to) {
    if (!n) return NULL;
    fanin__node *c = fanin__node_new(n->type, &n->loc);
    if (!c) return NULL;
    if (from && c->loc.file == from) c->loc.file = to;
    c->plain = n->plain;
    if (n->text && !(c->text = fanin__strdup(n->text))) goto fail;
    for (size_t i = 0; i < n->n; i++) {
        fanin__node *v = fanin__node_clone(n->vals[i], from, to);
        int rc = n->type == FANIN__MAP
                     ? fanin__node_map_add(c, fanin__node_clone(n->keys[i], from, to), v)
                     : fanin__node_seq_add(c, v);
        if (rc != FANIN_OK) goto fail;
    }
    return c;
fail:
    fanin__node_free(c);
    return NULL;
}

const fanin__node *fanin__node_get(const fanin__node *m, const char *key,
                                   const fanin__node **key_node) {
    if (key_node) *key_node = NULL;
    if (!m || m->type != FANIN__MAP) return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i]->text, key)) {
            if (key_node) *key_node = m->keys[i];
            return m->vals[i];
        }
    return NULL;
}

bool fanin__node_is_null(const fanin__node *n) {
    if (!n) return true;
    if (n->type != FANIN__SCALAR || !n->plain) return false;
    const char *t = n->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

static size_t count_nodes(const fanin__node *n) {
    size_t c = 1;
    for (size_t i = 0; i < n->n; i++) c += count_nodes(n->vals[i]) + (n->keys ? 1 : 0);
    return c;
}

/* ---- YAML events -> nodes ---- */

typedef struct frame {
    fanin__node *node;
    fanin__node *key; /* MAP: the key waiting for its value (owned until attached) */
} frame;

typedef struct anchor {
    char *name;
    fanin__node *node; /* borrowed from the tree being built */
    bool done;         /* false while the node is still open (an alias to it would recurse) */
} anchor;

typedef struct builder {
    const char *file, *text;
    size_t len; /* text's length: it need not be NUL-terminated (fuzz_config found it) */
    int line0, col0;
    frame stack[FANIN__YAML_MAX_DEPTH];
    int depth;
    anchor *anchors;
    size_t n_anchors, cap_anchors;
    size_t nodes;
    fanin__node *root;
    char *err;
    size_t errlen;
} builder;

static fanin__loc mark_loc(const builder *b, yaml_mark_t m) {
    fanin__loc l = {b->file, (int)m.line + 1 + b->line0,
                    (int)m.column + 1 + (m.line == 0 ? b->col0 : 0)};
    return l;
}

static int fail_at(builder *b, yaml_mark_t m, const char *fmt, const char *arg) {
    fanin__loc l = mark_loc(b, m);
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    return fanin__errf(b->err, b->errlen, FANIN_ECONFIG, "%s:%d:%d: %s", l.file, l.line, l.col,
                       msg);
}

static int add_anchor(builder *b, const yaml_char_t *name, fanin__node *n, bool done) {
    if (!name) return FANIN_OK;
    if (b->n_anchors == b->cap_anchors) {
        size_t cap = b->cap_anchors ? b->cap_anchors * 2 : 8;
        anchor *a = realloc(b->anchors, cap * sizeof *a);
        if (!a) return FANIN_ENOMEM;
        b->anchors = a;
        b->cap_anchors = cap;
    }
    anchor *a = &b->anchors[b->n_anchors];
    if (!(a->name = fanin__strdup((const char *)name))) return FANIN_ENOMEM;
    a->node = n;
    a->done = done;
    b->n_anchors++;
    return FANIN_OK;
}

/* Place a finished (or just opened) node: as the root, a list item, a key or a value. */
static int attach(builder *b, fanin__node *n, yaml_mark_t m) {
    if (++b->nodes > FANIN__YAML_MAX_NODES) {
        fanin__node_free(n);
        return fail_at(b, m, "the document is too large (more than %s nodes)", "200000");
    }
    if (b->depth == 0) {
        b->root = n;
        return FANIN_OK;
    }
    frame *f = &b->stack[b->depth - 1];
    if (f->node->type == FANIN__SEQ) return fanin__node_seq_add(f->node, n);
    if (f->key) {
        fanin__node *k = f->key;
        f->key = NULL;
        return fanin__node_map_add(f->node, k, n);
    }
    if (n->type != FANIN__SCALAR) {
        fanin__node_free(n);
        return fail_at(b, m, "mapping keys must be plain names, not %s", "a mapping or a list");
    }
    const fanin__node *first;
    if (fanin__node_get(f->node, n->text, &first)) {
        char what[400];
        snprintf(what, sizeof what, "duplicate key '%.200s' (first given at line %d)", n->text,
                 first->loc.line);
        fanin__node_free(n);
        return fail_at(b, m, "%s", what);
    }
    f->key = n;
    return FANIN_OK;
}

static int on_scalar(builder *b, const yaml_event_t *ev) {
    fanin__loc l = mark_loc(b, ev->start_mark);
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
    fanin__node *n = fanin__node_scalar((const char *)ev->data.scalar.value, plain, &l);
    if (!n) return FANIN_ENOMEM;
    int rc = add_anchor(b, ev->data.scalar.anchor, n, true);
    if (rc != FANIN_OK) {
        fanin__node_free(n);
        return rc;
    }
    return attach(b, n, ev->start_mark);
}

static int on_start(builder *b, const yaml_event_t *ev, int type, const yaml_char_t *anchor_name) {
    if (b->depth == FANIN__YAML_MAX_DEPTH)
        return fail_at(b, ev->start_mark, "nesting deeper than %s levels", "64");
    fanin__loc l = mark_loc(b, ev->start_mark);
    fanin__node *n = fanin__node_new(type, &l);
    if (!n) return FANIN_ENOMEM;
    int rc = attach(b, n, ev->start_mark);
    if (rc != FANIN_OK) return rc;
    b->stack[b->depth].node = n;
    b->stack[b->depth++].key = NULL;
    return add_anchor(b, anchor_name, n, false);
}

static void on_end(builder *b) {
    fanin__node *n = b->stack[--b->depth].node;
    for (size_t i = 0; i < b->n_anchors; i++)
        if (b->anchors[i].node == n) b->anchors[i].done = true;
}

static int on_alias(builder *b, const yaml_event_t *ev) {
    const char *name = (const char *)ev->data.alias.anchor;
    for (size_t i = b->n_anchors; i-- > 0;) {
        anchor *a = &b->anchors[i];
        if (strcmp(a->name, name)) continue;
        if (!a->done)
            return fail_at(b, ev->start_mark, "alias '*%s' refers to a node that contains it",
                           name);
        size_t count = count_nodes(a->node);
        if (count > FANIN__YAML_MAX_NODES || (b->nodes += count - 1) > FANIN__YAML_MAX_NODES)
            return fail_at(b, ev->start_mark,
                           "the document is too large (more than %s nodes after aliases)",
                           "200000");
        fanin__node *c = fanin__node_clone(a->node, NULL, NULL);
        return c ? attach(b, c, ev->start_mark) : FANIN_ENOMEM;
    }
    return fail_at(b, ev->start_mark, "unknown alias '*%s'", name);
}

/* 0-based line and column of byte `off` (for reader errors, which give only an offset). */
static yaml_mark_t offset_mark(const char *text, size_t len, size_t off) {
    yaml_mark_t m = {off, 0, 0};
    for (size_t i = 0; i < off && i < len && text[i]; i++) {
        if (text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            m.column++;
        }
    }
    return m;
}

/* libyaml's problems that, in a hand-written file, nearly always mean a line indented
 * differently from its neighbours (issue 16), each with what else it may mean. */
static const char *const indent_problems[][2] = {
    {"did not find expected key", ""},
    {"mapping values are not allowed", " (or an unquoted value holds ': ': quote it)"},
    {"did not find expected '-' indicator", ""},
    {"block sequence entries are not allowed", " (or a '- ' item is on its key's line)"},
};

/* "; this usually means ..." after an indentation problem, with where libyaml's enclosing
 * mapping or list started; "" for other problems. */
static void indent_hint(const builder *b, const yaml_parser_t *p, char *buf, size_t len) {
    buf[0] = '\0';
    for (size_t i = 0; p->problem && i < sizeof indent_problems / sizeof *indent_problems; i++) {
        if (strncmp(p->problem, indent_problems[i][0], strlen(indent_problems[i][0]))) continue;
        char ctx[160] = "";
        fanin__loc at = mark_loc(b, p->context_mark);
        if (p->context) /* "while parsing a block mapping" / "... a block collection" */
            snprintf(ctx, sizeof ctx, " (in the %s that starts at line %d, column %d)",
                     strstr(p->context, "mapping") ? "mapping" : "list", at.line, at.col);
        snprintf(buf, len,
                 "%s; this usually means the indentation is inconsistent%s: check that "
                 "keys and '- ' items at the same level start in the same column; tabs are not "
                 "allowed",
                 ctx, indent_problems[i][1]);
        return;
    }
}

static int syntax_error(builder *b, const yaml_parser_t *p) {
    if (p->error == YAML_MEMORY_ERROR)
        return fanin__errf(b->err, b->errlen, FANIN_ENOMEM, "%s: out of memory", b->file);
    size_t len = strnlen(b->text, b->len);
    yaml_mark_t m = p->error == YAML_READER_ERROR ? offset_mark(b->text, len, p->problem_offset)
                                                  : p->problem_mark;
    if (m.index >= len) m = offset_mark(b->text, len, len); /* at the end: not on a line after it */
    bool tab = m.index < len && b->text[m.index] == '\t';
    char msg[512], hint[360];
    indent_hint(b, p, hint, sizeof hint);
    snprintf(msg, sizeof msg, "YAML syntax error: %.100s%s",
             p->problem ? p->problem : "unknown problem",
             tab ? "; indent with spaces, not tabs" : hint);
    return fail_at(b, m, "%s", msg);
}

static int on_event(builder *b, const yaml_event_t *ev, int *docs) {
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return fail_at(b, ev->start_mark, "%s",
                           "a second YAML document ('---'); an experiment is one document");
        return FANIN_OK;
    case YAML_SCALAR_EVENT: return on_scalar(b, ev);
    case YAML_ALIAS_EVENT: return on_alias(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, FANIN__SEQ, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, FANIN__MAP, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: on_end(b); return FANIN_OK;
    default: return FANIN_OK;
    }
}

static void builder_deinit(builder *b, bool keep_root) {
    for (int i = 0; i < b->depth; i++) fanin__node_free(b->stack[i].key);
    for (size_t i = 0; i < b->n_anchors; i++) free(b->anchors[i].name);
    free(b->anchors);
    if (!keep_root) fanin__node_free(b->root);
}

int fanin__yaml_parse(const char *file, const char *text, size_t len, int line0, int col0,
                      fanin__node **out, char *err, size_t errlen) {
    builder b = {.file = file,
                 .text = text,
                 .len = len,
                 .line0 = line0,
                 .col0 = col0,
                 .err = err,
                 .errlen = errlen};
    yaml_parser_t p;
    *out = NULL;
    if (!yaml_parser_initialize(&p)) return fanin__errf(err, errlen, FANIN_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = FANIN_OK, docs = 0;
    for (bool done = false; !done && rc == FANIN_OK;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(&b, &p);
            break;
        }
        rc = on_event(&b, &ev, &docs);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    if (rc == FANIN_ENOMEM && err && errlen && !*err) fanin__errf(err, errlen, rc, "out of memory");
    yaml_parser_delete(&p);
    builder_deinit(&b, rc == FANIN_OK);
    if (rc == FANIN_OK) *out = b.root;
    return rc;
}

/* ---- setting a dotted path ---- */

static bool all_digits(const char *s, size_t n) {
    if (n == 0 || n > 9) return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

/* One step down from *slot by the segment seg[0..n); creates a mapping key when missing. */
static int step_into(fanin__node ***slot, const char *path, const char *seg, size_t n, bool last,
                     fanin__node **val, const fanin__loc *loc, char *msg, size_t msglen) {
    fanin__node *cur = **slot;
    int prefix = (int)(seg - path) - 1;
    if (cur->type == FANIN__SEQ) {
        if (!all_digits(seg, n)) {
            snprintf(msg, msglen, "'%.*s' is a list; index it with a number, not '%.*s'", prefix,
                     path, (int)n, seg);
            return FANIN_ECONFIG;
        }
        size_t i = (size_t)atol(seg);
        if (i >= cur->n) {
            snprintf(msg, msglen, "the list has %zu item%s", cur->n, cur->n == 1 ? "" : "s");
            return FANIN_ECONFIG;
        }
        *slot = &cur->vals[i];
        return FANIN_OK;
    }
    if (cur->type == FANIN__SCALAR) {
        snprintf(msg, msglen, "'%.*s' is a value ('%.60s'), not a mapping; it has no key '%.*s'",
                 prefix, path, cur->text, (int)n, seg);
        return FANIN_ECONFIG;
    }
    for (size_t i = 0; i < cur->n; i++)
        if (strlen(cur->keys[i]->text) == n && !strncmp(cur->keys[i]->text, seg, n)) {
            *slot = &cur->vals[i];
            return FANIN_OK;
        }
    fanin__loc kl = *loc;
    kl.col += (int)(seg - path);
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)n, seg);
    fanin__node *v = last ? *val : fanin__node_new(FANIN__MAP, &kl);
    if (last) *val = NULL;
    if (fanin__node_map_add(cur, fanin__node_scalar(name, true, &kl), v) != FANIN_OK)
        return FANIN_ENOMEM;
    *slot = &cur->vals[cur->n - 1];
    return FANIN_OK;
}

int fanin__node_set_path(fanin__node **root, const char *path, fanin__node *val,
                         const fanin__loc *loc, char *msg, size_t msglen) {
    fanin__node **slot = root;
    const char *seg = path;
    int rc = FANIN_OK;
    while (rc == FANIN_OK) {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        if (n == 0) {
            snprintf(msg, msglen, "empty key in the path '%s'", path);
            rc = FANIN_ECONFIG;
            break;
        }
        if (fanin__node_is_null(*slot)) { /* `diagnostics:` with nothing yet: a mapping now */
            fanin__node *m = fanin__node_new(FANIN__MAP, *slot ? &(*slot)->loc : loc);
            if (!m) {
                rc = FANIN_ENOMEM;
                break;
            }
            fanin__node_free(*slot);
            *slot = m;
        }
        rc = step_into(&slot, path, seg, n, !dot, &val, loc, msg, msglen);
        if (!dot) break;
        seg = dot + 1;
    }
    if (rc == FANIN_OK && val) { /* the key existed: replace its value */
        fanin__node_free(*slot);
        *slot = val;
        val = NULL;
    }
    fanin__node_free(val);
    if (rc == FANIN_ENOMEM) snprintf(msg, msglen, "out of memory");
    return rc;
}

/* ---- text ---- */

char *fanin__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

int fanin__str_appendf(char **s, size_t *len, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n >= 0 ? realloc(*s, *len + (size_t)n + 1) : NULL;
    if (p) {
        vsnprintf(p + *len, (size_t)n + 1, fmt, ap2);
        *s = p;
        *len += (size_t)n;
    }
    va_end(ap2);
    return p ? FANIN_OK : FANIN_ENOMEM;
}

void fanin__format_double(double v, char *buf, size_t len) {
    /* range first: converting a double beyond long long is undefined (fuzz_config found it) */
    if (fabs(v) < 1e15 && v == (double)(long long)v) { /* 10, not 1e+01 */
        snprintf(buf, len, "%lld", (long long)v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

static bool is_word(const char *t, const char *const *words) {
    for (; *words; words++)
        if (!strcasecmp(t, *words)) return true;
    return false;
}

bool fanin__needs_quotes(const char *t) {
    static const char *const words[] = {"true", "false", "yes",  "no", "on", "off",
                                        "y",    "n",     "null", "~",  NULL};
    bool is_int;
    if (!*t || is_word(t, words) || fanin__text_is_number(t, &is_int)) return true;
    if (!isalnum((unsigned char)t[0]) && t[0] != '_' && t[0] != '/' && t[0] != '.') return true;
    for (const char *c = t; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_./+-", *c)) return true;
    return false;
}

void fanin__quote(const char *t, char *buf, size_t len) {
    size_t o = 0;
    if (len < 3) return;
    buf[o++] = '"';
    for (const unsigned char *c = (const unsigned char *)t; *c && o + 6 < len; c++) {
        if (*c == '"' || *c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*c;
        } else if (*c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (*c < 0x20 || *c == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *c);
        } else {
            buf[o++] = (char)*c;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

bool fanin__text_is_number(const char *s, bool *is_int) {
    const char *c = s;
    bool digits = false, frac = false;
    if (*c == '+' || *c == '-') c++;
    while (isdigit((unsigned char)*c)) c++, digits = true;
    if (*c == '.') {
        c++;
        frac = true;
        while (isdigit((unsigned char)*c)) c++, digits = true;
    }
    if (!digits) return false;
    if (*c == 'e' || *c == 'E') {
        c++;
        frac = true;
        if (*c == '+' || *c == '-') c++;
        if (!isdigit((unsigned char)*c)) return false;
        while (isdigit((unsigned char)*c)) c++;
    }
    *is_int = !frac;
    return *c == '\0';
}

static int flow(const fanin__node *n, char **s, size_t *len) {
    if (n->type == FANIN__SCALAR) {
        if (n->plain || !fanin__needs_quotes(n->text))
            return fanin__str_appendf(s, len, "%s", n->text);
        char q[512];
        fanin__quote(n->text, q, sizeof q);
        return fanin__str_appendf(s, len, "%s", q);
    }
    int rc = fanin__str_appendf(s, len, n->type == FANIN__MAP ? "{" : "[");
    for (size_t i = 0; i < n->n && rc == FANIN_OK; i++) {
        if (i) rc = fanin__str_appendf(s, len, ", ");
        if (rc == FANIN_OK && n->keys) rc = flow(n->keys[i], s, len);
        if (rc == FANIN_OK && n->keys) rc = fanin__str_appendf(s, len, ": ");
        if (rc == FANIN_OK) rc = flow(n->vals[i], s, len);
    }
    return rc == FANIN_OK ? fanin__str_appendf(s, len, n->type == FANIN__MAP ? "}" : "]") : rc;
}

char *fanin__node_flow_text(const fanin__node *n) {
    char *s = NULL;
    size_t len = 0;
    if (fanin__str_appendf(&s, &len, "%s", "") != FANIN_OK || flow(n, &s, &len) != FANIN_OK) {
        free(s);
        return NULL;
    }
    return s;
}

void fanin__node_describe(const fanin__node *n, char *buf, size_t len) {
    if (!n || fanin__node_is_null(n)) snprintf(buf, len, "nothing (null)");
    else if (n->type == FANIN__MAP) snprintf(buf, len, "a mapping");
    else if (n->type == FANIN__SEQ) snprintf(buf, len, "a list");
    else if (!n->plain) snprintf(buf, len, "the quoted string '%.80s'", n->text);
    else snprintf(buf, len, "'%.80s'", n->text);
}
