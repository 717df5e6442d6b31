/* Saving a model as safetensors: an 8-byte little-endian header length, a JSON header naming
 * each tensor's dtype, shape and byte range, then the raw little-endian data. Tensors are
 * `layers.N.weight` [out, in] and `layers.N.bias` [out], F32, as torch's state_dict names them.
 * Written atomically (atomic.c), so a crash never leaves half a model. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The JSON header, padded with spaces so the data starts 8-byte aligned as the format
 * recommends. Caller frees *out. */
static int header_json(const fanin_model *m, const char *metadata, char **out, size_t *len) {
    FILE *h = open_memstream(out, len);
    if (!h) return FANIN_ENOMEM;
    fputc('{', h);
    if (metadata) {
        fputs("\"__metadata__\":{\"format\":\"pt\",\"config\":", h);
        fanin__json_str(h, metadata);
        fputs("},", h);
    }
    size_t off = 0;
    for (int l = 0; l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        size_t nw = (size_t)L->n_out * L->n_in * sizeof(float), nb = L->n_out * sizeof(float);
        fprintf(h, "\"layers.%d.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],"
                "\"data_offsets\":[%zu,%zu]},", l, L->n_out, L->n_in, off, off + nw);
        off += nw;
        fprintf(h, "\"layers.%d.bias\":{\"dtype\":\"F32\",\"shape\":[%d],"
                "\"data_offsets\":[%zu,%zu]}%s", l, L->n_out, off, off + nb,
                l + 1 < m->n_layers ? "," : "");
        off += nb;
    }
    fputc('}', h);
    while (ftell(h) % 8) fputc(' ', h);
    return fclose(h) == 0 ? FANIN_OK : FANIN_ENOMEM;
}

static int write_all(FILE *f, const fanin_model *m, const char *hdr, size_t len) {
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)len >> (8 * i));
    if (fwrite(len8, 1, 8, f) != 8 || fwrite(hdr, 1, len, f) != len) return errno ? errno : EIO;
    /* params hold W then b per layer, exactly the order of the header's offsets */
    if (fwrite(m->params, sizeof(float), m->n_params, f) != m->n_params) return errno ? errno : EIO;
    return 0;
}

int fanin__model_save(const fanin_model *m, const char *path, const char *metadata, char *err,
                      size_t errlen) {
    char *hdr = NULL;
    size_t len = 0;
    if (header_json(m, metadata, &hdr, &len) < 0) {
        free(hdr);
        return fanin__errf(err, errlen, FANIN_ENOMEM, "%s: cannot build the safetensors header",
                           path);
    }
    fanin__atomic a;
    int e = fanin__atomic_open(&a, path);
    if (!e) e = fanin__atomic_commit(&a, path, write_all(a.f, m, hdr, len));
    free(hdr);
    return e ? fanin__errf(err, errlen, FANIN_EIO, "%s: cannot write the model: %s", path,
                           strerror(e))
             : FANIN_OK;
}
