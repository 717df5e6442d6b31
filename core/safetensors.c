/* Saving a model as safetensors: an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype, shape and byte range, then the raw little-endian data. Tensors are
 * `layers.N.weight` [out, in] and `layers.N.bias` [out], F32, as torch's state_dict names them.
 * Written to a temporary file, fsynced and renamed, so a crash never leaves half a model. */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static int sbuf_put(sbuf *b, const char *text, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
        char *s = realloc(b->s, cap);
        if (!s) return FANIN_ENOMEM;
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = 0;
    return FANIN_OK;
}

static int sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sbuf_printf(sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= sizeof tmp ? FANIN_EINVAL : sbuf_put(b, tmp, (size_t)n);
}

/* A JSON string literal of text (RFC 8259 escapes). */
static int sbuf_json_string(sbuf *b, const char *text) {
    int rc = sbuf_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)text; *p && rc == FANIN_OK; p++) {
        if (*p == '"' || *p == '\\') rc = sbuf_printf(b, "\\%c", *p);
        else if (*p == '\n') rc = sbuf_put(b, "\\n", 2);
        else if (*p < 0x20) rc = sbuf_printf(b, "\\u%04x", *p);
        else rc = sbuf_put(b, (const char *)p, 1);
    }
    return rc == FANIN_OK ? sbuf_put(b, "\"", 1) : rc;
}

static int header_json(const fanin_model *m, const char *metadata, sbuf *h) {
    int rc = sbuf_put(h, "{", 1);
    if (metadata && rc == FANIN_OK) {
        rc = sbuf_printf(h, "\"__metadata__\":{\"format\":\"pt\",\"config\":");
        if (rc == FANIN_OK) rc = sbuf_json_string(h, metadata);
        if (rc == FANIN_OK) rc = sbuf_put(h, "},", 2);
    }
    size_t off = 0;
    for (int l = 0; l < m->n_layers && rc == FANIN_OK; l++) {
        const fanin__layer *L = &m->layers[l];
        size_t nw = (size_t)L->n_out * L->n_in * sizeof(float), nb = L->n_out * sizeof(float);
        rc = sbuf_printf(h, "\"layers.%d.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],"
                         "\"data_offsets\":[%zu,%zu]},", l, L->n_out, L->n_in, off, off + nw);
        off += nw;
        if (rc == FANIN_OK)
            rc = sbuf_printf(h, "\"layers.%d.bias\":{\"dtype\":\"F32\",\"shape\":[%d],"
                             "\"data_offsets\":[%zu,%zu]}%s", l, L->n_out, off, off + nb,
                             l + 1 < m->n_layers ? "," : "");
        off += nb;
    }
    if (rc == FANIN_OK) rc = sbuf_put(h, "}", 1);
    /* pad with spaces so the data starts 8-byte aligned, as the format recommends */
    while (rc == FANIN_OK && h->len % 8) rc = sbuf_put(h, " ", 1);
    return rc;
}

static int write_all(FILE *f, const fanin_model *m, const sbuf *h) {
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h->len >> (8 * i));
    if (fwrite(len8, 1, 8, f) != 8 || fwrite(h->s, 1, h->len, f) != h->len) return FANIN_EIO;
    /* params hold W then b per layer, exactly the order of the header's offsets */
    if (fwrite(m->params, sizeof(float), m->n_params, f) != m->n_params) return FANIN_EIO;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) return FANIN_EIO;
    return FANIN_OK;
}

int fanin__model_save(const fanin_model *m, const char *path, const char *metadata, char *err,
                      size_t errlen) {
    sbuf h = {0};
    int rc = header_json(m, metadata, &h);
    if (rc < 0) {
        free(h.s);
        return fanin__errf(err, errlen, rc, "%s: cannot build the safetensors header", path);
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(h.s);
        return fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    rc = write_all(f, m, &h);
    free(h.s);
    if (fclose(f) != 0 && rc == FANIN_OK) rc = FANIN_EIO;
    if (rc == FANIN_OK && rename(tmp, path) != 0) rc = FANIN_EIO;
    if (rc < 0) {
        int e = errno;
        unlink(tmp);
        return fanin__errf(err, errlen, rc, "%s: cannot write the model: %s", path, strerror(e));
    }
    return FANIN_OK;
}
