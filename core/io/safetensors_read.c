/* Reading safetensors files (the writer is safetensors.c): an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets}, __metadata__: {k: "v"}}, then
 * the data. Hostile input is expected (it is fuzzed: tests/fuzz/fuzz_safetensors.c): every
 * length is bounded, every offset checked against the data section, every message names the
 * byte. Not here: what the tensors mean (engine/model_file.c checks them against a model).
 */
#include "base/errors.h"
#include "io/safetensors.h"

#include <stdint.h>
#include <stdio.h>
#include <fanin/plugin.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct jp {
    const unsigned char *s, *p, *end; /* the header: s is its first byte (file byte 8) */
    const char *name;
    char *err;
    size_t errlen;
} jp;

static int jerr(jp *j, const char *what) {
    return fanin__errf(j->err, j->errlen, FANIN_EDATA,
                       "%s: byte %lld: %s; not a safetensors "
                       "file fanin can read",
                       j->name, (long long)(j->p - j->s) + 8, what);
}

static void ws(jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int expect(jp *j, char c) {
    ws(j);
    if (j->p >= j->end || *j->p != (unsigned char)c) {
        char what[32];
        snprintf(what, sizeof what, "expected '%c'", c);
        return jerr(j, what);
    }
    j->p++;
    return FANIN_OK;
}

static int peek(jp *j) {
    ws(j);
    return j->p < j->end ? *j->p : -1;
}

static int hexval(int c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Append code point u as UTF-8 (out has room: callers reserve 4 bytes). */
static size_t put_utf8(char *o, unsigned u) {
    if (u < 0x80) {
        o[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        o[0] = (char)(0xC0 | u >> 6);
        o[1] = (char)(0x80 | (u & 63));
        return 2;
    }
    o[0] = (char)(0xE0 | u >> 12);
    o[1] = (char)(0x80 | ((u >> 6) & 63));
    o[2] = (char)(0x80 | (u & 63));
    return 3;
}

/* A JSON string into out[cap] (unescaped, NUL-terminated); out may be NULL to skip it.
 * Longer strings are an error when out is given. */
static int string(jp *j, char *out, size_t cap) {
    size_t n = 0;
    if (expect(j, '"')) return FANIN_EDATA;
    while (j->p < j->end && *j->p != '"') {
        unsigned c = *j->p++;
        char tmp[4];
        size_t k = 1;
        tmp[0] = (char)c;
        if (c < 0x20) return jerr(j, "control character in a string");
        if (c == '\\') {
            if (j->p >= j->end) break;
            c = *j->p++;
            const char *esc = strchr("\"\\/bfnrt", (int)c);
            if (c && esc) {
                tmp[0] = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
            } else if (c == 'u') {
                unsigned u = 0;
                for (int i = 0; i < 4; i++) {
                    int h = j->p < j->end ? hexval(*j->p++) : -1;
                    if (h < 0) return jerr(j, "bad \\u escape");
                    u = u << 4 | (unsigned)h;
                }
                if (u == 0) return jerr(j, "\\u0000 in a string");
                k = put_utf8(tmp, u);
            } else {
                return jerr(j, "bad escape in a string");
            }
        }
        if (out) {
            if (n + k >= cap) return jerr(j, "string too long");
            memcpy(out + n, tmp, k);
        }
        n += k;
    }
    if (j->p >= j->end) return jerr(j, "unterminated string");
    j->p++;
    if (out) out[n] = 0;
    return FANIN_OK;
}

/* A non-negative integer below 2^53 (shapes and offsets). */
static int integer(jp *j, uint64_t *v) {
    ws(j);
    *v = 0;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') return jerr(j, "expected an integer >= 0");
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        *v = *v * 10 + (uint64_t)(*j->p++ - '0');
        if (*v > (1ull << 53)) return jerr(j, "integer too large");
    }
    return FANIN_OK;
}

/* [a, b, ...] of integers into v[max]; *n gets the count. */
static int int_list(jp *j, uint64_t *v, int max, int *n) {
    *n = 0;
    if (expect(j, '[')) return FANIN_EDATA;
    if (peek(j) == ']') return expect(j, ']');
    for (;;) {
        if (*n == max) return jerr(j, "list too long");
        if (integer(j, &v[(*n)++])) return FANIN_EDATA;
        int c = peek(j);
        if (c == ']') return expect(j, ']');
        if (expect(j, ',')) return FANIN_EDATA;
    }
}

static int dtype_size(const char *d) {
    static const struct {
        const char *name;
        int size;
    } t[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
             {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},  {"BOOL", 1}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(d, t[i].name)) return t[i].size;
    return 0;
}

/* {"dtype": ..., "shape": [...], "data_offsets": [b, e]} */
static int tensor_info(jp *j, fanin__st_tensor *t) {
    int seen = 0;
    if (expect(j, '{')) return FANIN_EDATA;
    for (int first = 1; peek(j) != '}'; first = 0) {
        char key[32];
        if (!first && expect(j, ',')) return FANIN_EDATA;
        if (string(j, key, sizeof key) || expect(j, ':')) return FANIN_EDATA;
        uint64_t v[FANIN_ST_MAX_DIMS];
        int n;
        if (!strcmp(key, "dtype")) {
            if (string(j, t->dtype, sizeof t->dtype)) return FANIN_EDATA;
            if (!dtype_size(t->dtype)) return jerr(j, "unknown dtype");
            seen |= 1;
        } else if (!strcmp(key, "shape")) {
            if (int_list(j, v, FANIN_ST_MAX_DIMS, &n)) return FANIN_EDATA;
            t->ndim = n;
            for (int i = 0; i < n; i++) t->shape[i] = (int64_t)v[i];
            seen |= 2;
        } else if (!strcmp(key, "data_offsets")) {
            if (int_list(j, v, 2, &n)) return FANIN_EDATA;
            if (n != 2 || v[0] > v[1]) return jerr(j, "data_offsets must be [begin, end]");
            t->begin = v[0];
            t->end = v[1];
            seen |= 4;
        } else {
            return jerr(j, "unknown key in a tensor entry");
        }
    }
    j->p++;
    return seen == 7 ? FANIN_OK : jerr(j, "a tensor needs dtype, shape and data_offsets");
}

/* {"k": "v", ...}: keeps "config" (unescaped, malloc'ed). */
static int metadata(jp *j, fanin__st_file *f) {
    if (expect(j, '{')) return FANIN_EDATA;
    for (int first = 1; peek(j) != '}'; first = 0) {
        char key[64];
        if (!first && expect(j, ',')) return FANIN_EDATA;
        if (string(j, key, sizeof key) || expect(j, ':')) return FANIN_EDATA;
        if (peek(j) != '"') return jerr(j, "__metadata__ values must be strings");
        if (strcmp(key, "config") || f->config) {
            if (string(j, NULL, 0)) return FANIN_EDATA;
            continue;
        }
        size_t cap = (size_t)(j->end - j->p) + 1;
        if (!(f->config = malloc(cap)))
            return fanin__errf(j->err, j->errlen, FANIN_ENOMEM, "%s: out of memory", j->name);
        if (string(j, f->config, cap)) return FANIN_EDATA;
    }
    j->p++;
    return FANIN_OK;
}

static int add_tensor(jp *j, fanin__st_file *f, int *cap, const char *key) {
    if (f->n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        fanin__st_tensor *t = realloc(f->t, (size_t)nc * sizeof *t);
        if (!t) return fanin__errf(j->err, j->errlen, FANIN_ENOMEM, "%s: out of memory", j->name);
        f->t = t;
        *cap = nc;
    }
    fanin__st_tensor *t = &f->t[f->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", key);
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, key)) return jerr(j, "a tensor name appears twice");
    if (tensor_info(j, t)) return FANIN_EDATA;
    f->n++;
    return FANIN_OK;
}

static int header(jp *j, fanin__st_file *f) {
    int cap = 0;
    if (expect(j, '{')) return FANIN_EDATA;
    for (int first = 1; peek(j) != '}'; first = 0) {
        char key[sizeof f->t->name];
        if (!first && expect(j, ',')) return FANIN_EDATA;
        if (string(j, key, sizeof key) || expect(j, ':')) return FANIN_EDATA;
        int rc = !strcmp(key, "__metadata__") ? metadata(j, f) : add_tensor(j, f, &cap, key);
        if (rc) return rc;
    }
    j->p++;
    ws(j);
    return j->p == j->end ? FANIN_OK : jerr(j, "text after the header's closing '}'");
}

/* Every tensor's bytes inside the data section and equal to its element count * dtype size. */
static int check_ranges(jp *j, const fanin__st_file *f) {
    for (int i = 0; i < f->n; i++) {
        const fanin__st_tensor *t = &f->t[i];
        uint64_t bytes = (uint64_t)dtype_size(t->dtype);
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] && bytes > (1ull << 53) / (uint64_t)t->shape[d])
                return jerr(j, "a tensor's shape is too large");
            bytes *= (uint64_t)t->shape[d];
        }
        if (t->end > f->data_len)
            return fanin__errf(j->err, j->errlen, FANIN_EDATA,
                               "%s: tensor '%s' ends at data byte %llu but the file has %llu data "
                               "bytes (truncated?)",
                               j->name, t->name, (unsigned long long)t->end,
                               (unsigned long long)f->data_len);
        if (t->end - t->begin != bytes)
            return fanin__errf(j->err, j->errlen, FANIN_EDATA,
                               "%s: tensor '%s' has %llu bytes but its dtype and shape need %llu",
                               j->name, t->name, (unsigned long long)(t->end - t->begin),
                               (unsigned long long)bytes);
    }
    return FANIN_OK;
}

int fanin__st_parse(const unsigned char *buf, size_t len, const char *name, fanin__st_file *out,
                    char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (len < 8)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: %zu bytes; a safetensors file starts "
                           "with an 8-byte header length",
                           name, len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    if (n > FANIN_ST_MAX_HEADER || n > len - 8)
        return fanin__errf(err, errlen, FANIN_EDATA,
                           "%s: byte 0: header length %llu does not fit "
                           "the file's %zu bytes; not a safetensors file, or truncated",
                           name, (unsigned long long)n, len);
    jp j = {buf + 8, buf + 8, buf + 8 + n, name, err, errlen};
    out->data = buf + 8 + n;
    out->data_len = len - 8 - n;
    int rc = header(&j, out);
    if (rc == FANIN_OK) rc = check_ranges(&j, out);
    if (rc != FANIN_OK) fanin__st_deinit(out);
    return rc;
}

int fanin__st_read(const char *path, fanin__st_file *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = f ? EISDIR : errno;
        if (f) fclose(f);
        return fanin__errf(err, errlen, FANIN_EDATA, "%s: cannot open: %s", path, strerror(e));
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    size_t got = buf ? fread(buf, 1, len, f) : 0;
    fclose(f);
    if (!buf) return fanin__errf(err, errlen, FANIN_ENOMEM, "%s: out of memory", path);
    if (got != len) {
        free(buf);
        return fanin__errf(err, errlen, FANIN_EIO, "%s: read error", path);
    }
    int rc = fanin__st_parse(buf, len, path, out, err, errlen);
    if (rc != FANIN_OK) free(buf);
    else out->buf = buf;
    return rc;
}

void fanin__st_deinit(fanin__st_file *f) {
    free(f->t);
    free(f->config);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

const fanin__st_tensor *fanin__st_find(const fanin__st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}
