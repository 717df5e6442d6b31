/* Writing safetensors: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data, tensors in the order
 * given. Written atomically (base/atomic.c), so a crash never leaves half a file. What the
 * tensors are called is the caller's business (engine/model_file.c: torch's state_dict names).
 */
#include "io/safetensors.h"
#include "base/atomic.h"
#include "base/errors.h"
#include "base/json.h"

#include <fanin/plugin.h>

#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t count(const fanin__st_out *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

/* The JSON header, padded with spaces so the data starts 8-byte aligned as the format
 * recommends. Caller frees *out. */
static int header_json(const fanin__st_out *t, int n, const char *metadata, char **out,
                       size_t *len) {
    FILE *h = open_memstream(out, len);
    if (!h) return FANIN_ENOMEM;
    fputc('{', h);
    if (metadata) {
        fputs("\"__metadata__\":{\"format\":\"pt\",\"config\":", h);
        fanin__json_str(h, metadata);
        fputs("},", h);
    }
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t bytes = count(&t[i]) * sizeof(float);
        fprintf(h, "\"%s\":{\"dtype\":\"F32\",\"shape\":[", t[i].name);
        for (int d = 0; d < t[i].ndim; d++)
            fprintf(h, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
        fprintf(h, "],\"data_offsets\":[%zu,%zu]}%s", off, off + bytes, i + 1 < n ? "," : "");
        off += bytes;
    }
    fputc('}', h);
    while (ftell(h) % 8) fputc(' ', h);
    return fclose(h) == 0 ? FANIN_OK : FANIN_ENOMEM;
}

static int write_all(FILE *f, const fanin__st_out *t, int n, const char *hdr, size_t len) {
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    if (fwrite(len8, 1, 8, f) != 8 || fwrite(hdr, 1, len, f) != len) return errno ? errno : EIO;
    for (int i = 0; i < n; i++)
        if (fwrite(t[i].data, sizeof(float), count(&t[i]), f) != count(&t[i]))
            return errno ? errno : EIO;
    return 0;
}

int fanin__st_write(const char *path, const fanin__st_out *t, int n, const char *metadata,
                    char *err, size_t errlen) {
    char *hdr = NULL;
    size_t len = 0;
    if (header_json(t, n, metadata, &hdr, &len) < 0) {
        free(hdr);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "%s: cannot build the safetensors header",
                           path);
    }
    fanin__atomic a;
    int e = fanin__atomic_open(&a, path);
    if (!e) e = fanin__atomic_commit(&a, path, write_all(a.f, t, n, hdr, len));
    free(hdr);
    return e ? fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write the model: %s", path,
                           strerror(e))
             : FANIN_OK;
}
