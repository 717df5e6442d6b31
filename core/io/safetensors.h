/* The safetensors format (safetensors.c writes, safetensors_read.c reads): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
 * then the raw data. Knows tensors, not models (engine/model_file.c maps one to the other). */
#ifndef FANIN_IO_SAFETENSORS_H
#define FANIN_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

/* ---- safetensors_read.c: reading ---- */

#define FANIN_ST_MAX_DIMS 8
#define FANIN_ST_MAX_HEADER (100u << 20) /* as the format's reference reader: 100 MB */

typedef struct fanin__st_tensor {
    char name[128];
    char dtype[8]; /* "F32", "F64", "I64", ... as written */
    int ndim;
    int64_t shape[FANIN_ST_MAX_DIMS];
    uint64_t begin, end; /* byte range within the data section */
} fanin__st_tensor;

typedef struct fanin__st_file {
    fanin__st_tensor *t; /* n tensors, in header order (owned) */
    int n;
    char *config;              /* __metadata__.config, unescaped, or NULL (owned) */
    const unsigned char *data; /* the data section: borrowed from the parsed buffer */
    uint64_t data_len;
    unsigned char *buf; /* the whole file when read by fanin__st_read (owned) */
} fanin__st_file;

/* Parse a safetensors image buf[0..len) (borrowed until deinit). `name` is used in messages,
 * which give the byte offset: "model.safetensors: byte 57: expected ':'". Every tensor's byte
 * range must lie in the data section and match its dtype and shape. Returns FANIN_OK or
 * FANIN_EDATA (FANIN_ENOMEM). */
int fanin__st_parse(const unsigned char *buf, size_t len, const char *name, fanin__st_file *out,
                    char *err, size_t errlen);
/* Read and parse a file (the file's bytes are owned by out). FANIN_EDATA when missing. */
int fanin__st_read(const char *path, fanin__st_file *out, char *err, size_t errlen);
void fanin__st_deinit(fanin__st_file *f);
const fanin__st_tensor *fanin__st_find(const fanin__st_file *f, const char *name);
/* ---- safetensors.c: writing ---- */

/* One F32 tensor to write: a name, a shape and its data (borrowed). */
typedef struct fanin__st_out {
    const char *name;
    int ndim;
    int64_t shape[FANIN_ST_MAX_DIMS];
    const float *data;
} fanin__st_out;

/* Write t[0..n) as a safetensors file, atomically (base/atomic.h); `metadata` (may be NULL) is
 * stored as a JSON string under __metadata__.config. Tensors appear in the given order. */
int fanin__st_write(const char *path, const fanin__st_out *t, int n, const char *metadata,
                    char *err, size_t errlen);

#endif /* FANIN_IO_SAFETENSORS_H */
