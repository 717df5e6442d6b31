/* CSV files: the `csv` source. A header row names the columns; `data.target` picks the label
 * column and every other column is a numeric feature. Rows are taken in file order.
 * Handles CRLF, a UTF-8 BOM, blank lines and double-quoted fields ("" for a quote); not
 * newlines inside quotes. Messages give FILE:LINE:COL, LINE being the file's line (header = 1).
 */
#include "base/errors.h"
#include "config/experiment.h"
#include "data/data.h"
#include "data/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_CLASS_LABEL (FANIN_MAX_CLASSES - 1)

typedef struct csv_table {
    const char *path;
    char *text;   /* the whole file, split in place */
    char **names; /* [n_cols] column names (into text) */
    int n_cols, target;
    int64_t header_line; /* the header row's line (after blank lines) */
    double *v;           /* [n_rows, n_cols] */
    int64_t *line;       /* [n_rows] each row's line number */
    int64_t n_rows, cap;
} csv_table;

static void table_free(csv_table *t) {
    free(t->text);
    free(t->names);
    free(t->v);
    free(t->line);
}

static int slurp(csv_table *t, char *err, size_t errlen) {
    FILE *f = fopen(t->path, "rb");
    if (!f)
        return fanin__errf(err, errlen, FANIN_EDATA, "data.path: cannot read '%s': %s", t->path,
                           strerror(errno));
    size_t len = 0, cap = 1 << 16, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    int bad = buf && ferror(f);
    fclose(f);
    if (!buf)
        return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory reading '%s'", t->path);
    buf[len] = '\0';
    t->text = buf;
    if (bad) return fanin__errf(err, errlen, FANIN_EIO, "%s: read error", t->path);
    if (strlen(buf) != len)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: byte %zu: NUL byte; not a text file",
                           t->path, strlen(buf));
    return FANIN_OK;
}

/* ---- lines and fields ---- */

/* The next line (NUL-terminated in place, without "\r\n"), or NULL at the end. */
static char *next_line(char **p) {
    if (!**p) return NULL;
    char *s = *p, *e = strchr(s, '\n');
    if (e) {
        *e = '\0';
        *p = e + 1;
    } else {
        *p = s + strlen(s);
    }
    size_t n = strlen(s);
    if (n && s[n - 1] == '\r') s[n - 1] = '\0';
    return s;
}

static int is_blank(const char *s) {
    while (*s == ' ' || *s == '\t') s++;
    return *s == '\0';
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

/* A quoted field starting at s (on the '"'): unquoted in place; returns the char after the
 * closing quote, or NULL when it is missing. */
static char *unquote(char *s) {
    char *w = s;
    for (char *r = s + 1; *r; r++) {
        if (*r != '"') {
            *w++ = *r;
        } else if (r[1] == '"') {
            *w++ = '"';
            r++;
        } else {
            *w = '\0';
            return r + 1;
        }
    }
    return NULL;
}

/* Split a line into up to max fields (in place); returns the number of fields found, or -1
 * with *bad_col set on an unterminated quote. */
static int split(char *line, char **fields, int max, int *bad_col) {
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char *start = p, *end;
        int quoted = *p == '"';
        if (quoted) {
            end = unquote(p);
            if (!end) {
                *bad_col = n + 1;
                return -1;
            }
            while (*end && *end != ',') end++; /* text after the closing quote is dropped */
        } else {
            end = p + strcspn(p, ",");
        }
        int last = *end == '\0';
        *end = '\0';
        if (n < max) fields[n] = quoted ? start : trim(start);
        n++;
        if (last) return n;
        p = end + 1;
    }
}

static int count_fields_bound(const char *line) {
    int n = 1;
    for (; *line; line++) n += *line == ',';
    return n;
}

/* ---- numbers ---- */

static int parse_number(const char *s, double *out) {
    char *end;
    if (!*s) return 0;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

static int not_number(const csv_table *t, int64_t line, int col, const char *s, char *err,
                      size_t errlen) {
    if (!*s)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s:%lld:%d: empty field is not a number "
                           "(column '%s')",
                           t->path, (long long)line, col, t->names[col - 1]);
    return fanin__errf(err, errlen, FANIN_EDATA, "%s:%lld:%d: '%.40s' is not a number", t->path,
                       (long long)line, col, s);
}

/* ---- header and rows ---- */

static void column_list(const csv_table *t, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n_cols && used + 1 < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", t->names[i]);
}

static int find_target(csv_table *t, const char *target, char *err, size_t errlen) {
    char cols[512];
    column_list(t, cols, sizeof cols);
    if (!target[0])
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "data: source csv needs data.target, the label column; %s has "
                           "columns: %s",
                           t->path, cols);
    for (int i = 0; i < t->n_cols; i++)
        if (!strcmp(t->names[i], target)) {
            t->target = i;
            if (t->n_cols < 2)
                return fanin__errf(err, errlen, FANIN_EDATA,
                                   "%s:%lld: no feature columns "
                                   "besides the target '%s'",
                                   t->path, (long long)t->header_line, target);
            return FANIN_OK;
        }
    const char *near = fanin__nearest(target, (const char *const *)t->names, (size_t)t->n_cols);
    if (near)
        return fanin__errf(err, errlen, FANIN_ECONFIG,
                           "%s:%lld: no column '%s' (data.target) in the header; did you mean "
                           "'%s'? columns: %s",
                           t->path, (long long)t->header_line, target, near, cols);
    return fanin__errf(err, errlen, FANIN_ECONFIG,
                       "%s:%lld: no column '%s' (data.target) in the header; columns: %s", t->path,
                       (long long)t->header_line, target, cols);
}

static int read_header(csv_table *t, char **p, int64_t *line, char *err, size_t errlen) {
    char *s;
    while ((s = next_line(p)) && (++*line, is_blank(s))) {}
    if (!s)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: empty file; csv needs a header row "
                           "naming the columns, then data rows",
                           t->path);
    t->header_line = *line;
    int bound = count_fields_bound(s), bad = 0, numeric = 0;
    t->names = malloc(sizeof(char *) * (size_t)bound);
    if (!t->names) return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    t->n_cols = split(s, t->names, bound, &bad);
    if (t->n_cols < 0)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s:%lld:%d: unterminated quote", t->path,
                           (long long)*line, bad);
    for (int i = 0; i < t->n_cols; i++) {
        double v;
        numeric += parse_number(t->names[i], &v);
    }
    if (numeric == t->n_cols)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s:%lld: the first row is all numbers; "
                           "csv needs a header row naming the columns",
                           t->path, (long long)*line);
    return FANIN_OK;
}

static int grow(csv_table *t) {
    if (t->n_rows < t->cap) return 1;
    int64_t cap = t->cap ? t->cap * 2 : 1024;
    double *v = realloc(t->v, sizeof(double) * (size_t)cap * (size_t)t->n_cols);
    if (v) t->v = v;
    int64_t *l = v ? realloc(t->line, sizeof(int64_t) * (size_t)cap) : NULL;
    if (l) t->line = l;
    if (!v || !l) return 0;
    t->cap = cap;
    return 1;
}

static int read_row(csv_table *t, char *s, int64_t line, char **fields, char *err, size_t errlen) {
    int bad = 0, n = split(s, fields, t->n_cols, &bad);
    if (n < 0)
        return fanin__errf(err, errlen, FANIN_EDATA, "%s:%lld:%d: unterminated quote", t->path,
                           (long long)line, bad);
    if (n != t->n_cols)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s:%lld: %d fields, but the header has %d "
                           "columns",
                           t->path, (long long)line, n, t->n_cols);
    if (!grow(t)) return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    double *row = t->v + t->n_rows * t->n_cols;
    for (int j = 0; j < n; j++)
        if (!parse_number(fields[j], &row[j]))
            return not_number(t, line, j + 1, fields[j], err, errlen);
    t->line[t->n_rows++] = line;
    return FANIN_OK;
}

static int read_table(csv_table *t, const char *target, char *err, size_t errlen) {
    int rc = slurp(t, err, errlen);
    char *p = t->text, *s;
    int64_t line = 0;
    if (rc == FANIN_OK && !strncmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    if (rc == FANIN_OK) rc = read_header(t, &p, &line, err, errlen);
    if (rc == FANIN_OK) rc = find_target(t, target, err, errlen);
    if (rc < 0) return rc;
    char **fields = malloc(sizeof(char *) * (size_t)t->n_cols);
    if (!fields) return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory");
    while (rc == FANIN_OK && (s = next_line(&p))) {
        line++;
        if (!is_blank(s)) rc = read_row(t, s, line, fields, err, errlen);
    }
    free(fields);
    if (rc == FANIN_OK && t->n_rows == 0)
        rc = fanin__errf(err, errlen, FANIN_EDATA, "%s: no data rows after the header", t->path);
    return rc;
}

/* ---- the header alone (for the checks before loading) ---- */

#define CSV_HEAD_MAX (16 << 20)

/* Has buf[0..n) a line with something in it, ended by a newline? */
static int has_header_line(const char *buf, size_t n) {
    const char *nl = memchr(buf, '\n', n);
    return nl && buf + strspn(buf, " \t\r\n") < nl;
}

/* The file's beginning up to its first non-blank line's end (at most CSV_HEAD_MAX bytes), into
 * t->text. */
static int slurp_head(csv_table *t, char *err, size_t errlen) {
    FILE *f = fopen(t->path, "rb");
    if (!f)
        return fanin__errf(err, errlen, FANIN_EDATA, "data.path: cannot read '%s': %s", t->path,
                           strerror(errno));
    size_t len = 0, cap = 1 << 16, r;
    char *buf = malloc(cap + 1);
    while (buf && len < CSV_HEAD_MAX && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        buf[len += r] = '\0';
        if (has_header_line(buf, len)) break;
        char *nb = len == cap ? realloc(buf, (cap *= 2) + 1) : buf;
        if (!nb) free(buf);
        buf = nb;
    }
    fclose(f);
    if (!buf)
        return fanin__errf(err, errlen, FANIN_ENOMEM, "data: out of memory reading '%s'", t->path);
    buf[len] = '\0';
    t->text = buf;
    return FANIN_OK;
}

int fanin__csv_check_header(const char *path, const char *target, int *n_cols, char *err,
                            size_t errlen) {
    csv_table t = {.path = path};
    int64_t line = 0;
    int rc = slurp_head(&t, err, errlen);
    char *p = t.text;
    if (rc == FANIN_OK && !strncmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    if (rc == FANIN_OK) rc = read_header(&t, &p, &line, err, errlen);
    if (rc == FANIN_OK && target[0]) rc = find_target(&t, target, err, errlen);
    if (n_cols) *n_cols = t.n_cols;
    table_free(&t);
    return rc;
}

/* ---- targets and the dataset ---- */

/* Class labels when every target is an integer in 0..63; otherwise a regression target. With
 * data.classes, targets must be integers. */
static int target_kind(const csv_table *t, const fanin__data_spec *spec, int *max_label, char *err,
                       size_t errlen) {
    int classes = 1;
    *max_label = 0;
    for (int64_t i = 0; i < t->n_rows; i++) {
        double y = t->v[i * t->n_cols + t->target];
        int integral = y == floor(y);
        if (!integral && spec->n_classes_listed)
            return fanin__errf(err, errlen, FANIN_EDATA,
                               "%s:%lld:%d: target %g is not a class "
                               "label, but data.classes needs integer labels",
                               t->path, (long long)t->line[i], t->target + 1, y);
        if (!integral || y < 0 || y > CSV_MAX_CLASS_LABEL) classes = 0;
        else if ((int)y > *max_label) *max_label = (int)y;
    }
    return classes || spec->n_classes_listed > 0;
}

static void copy_row(const csv_table *t, const double *row, float *x, float *y, int label) {
    for (int j = 0, k = 0; j < t->n_cols; j++)
        if (j != t->target) x[k++] = (float)row[j];
    *y = label >= 0 ? (float)label : (float)row[t->target];
}

/* The target as a class label for fanin__data_class_index (-1: never a class). */
static long label_of(double y) { return y >= 0 && y <= 1e9 ? (long)y : -1; }

/* Rows kept by data.classes go, in order, to train then test. */
static int fill(const csv_table *t, const fanin__data_spec *spec, int classes, fanin_dataset *d,
                char *err, size_t errlen) {
    int64_t avail = 0, n_train, n_test, k = 0;
    for (int64_t i = 0; i < t->n_rows; i++)
        avail += !spec->n_classes_listed ||
                 fanin__data_class_index(spec, label_of(t->v[i * t->n_cols + t->target])) >= 0;
    char have[1100];
    snprintf(have, sizeof have, "'%s' has", t->path);
    int rc = fanin__data_split_sizes(spec, avail, "rows", have, &n_train, &n_test, err, errlen);
    if (rc == FANIN_OK) rc = fanin__data_alloc(d, n_train, n_test, t->n_cols - 1, 1, err, errlen);
    for (int64_t i = 0; rc == FANIN_OK && i < t->n_rows && k < n_train + n_test; i++) {
        const double *row = t->v + i * t->n_cols;
        int label = classes ? fanin__data_class_index(spec, label_of(row[t->target])) : -1;
        if (classes && label < 0) continue;
        if (k < n_train) copy_row(t, row, d->x_train + k * d->n_features, d->y_train + k, label);
        else
            copy_row(t, row, d->x_test + (k - n_train) * d->n_features, d->y_test + k - n_train,
                     label);
        k++;
    }
    return rc;
}

int fanin__csv_load(const fanin__data_spec *spec, fanin_dataset *d, char *err, size_t errlen) {
    csv_table t = {.path = spec->path};
    int max_label = 0;
    int rc = read_table(&t, spec->target, err, errlen);
    int classes = rc == FANIN_OK ? target_kind(&t, spec, &max_label, err, errlen) : rc;
    if (classes < 0) rc = classes;
    if (rc == FANIN_OK) rc = fill(&t, spec, classes, d, err, errlen);
    if (rc == FANIN_OK)
        d->n_classes = !classes                 ? 0
                       : spec->n_classes_listed ? spec->n_classes_listed
                                                : max_label + 1;
    table_free(&t);
    return rc;
}
