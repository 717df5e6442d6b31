/* numpy's .npy format, version 1.0, for float32 matrices (`fanin init-stats --dump`). Writing
 * only: the 6-byte magic "\x93NUMPY", version 1.0, a little-endian u16 header length, the
 * header dict padded with spaces and a newline so the data starts at a multiple of 64 bytes
 * (numpy >= 1.14 aligns to 64), then the float32 values in C order. NEP 1
 * (numpy.lib.format) describes it.
 */
#include "io/npy.h"
#include "base/atomic.h"
#include "base/errors.h"

#include <stdint.h>
#include <stdio.h>
#include <fanin/plugin.h>

#include <errno.h>
#include <string.h>

#define NPY_ALIGN 64
#define NPY_PREAMBLE 10 /* magic (6) + version (2) + header length (2) */

/* The header: dict text, spaces, '\n', total (with the preamble) a multiple of 64. Returns
 * its length, or 0 when it does not fit hdr. */
static size_t npy_header(char *hdr, size_t cap, int64_t rows, int64_t cols) {
    int n = snprintf(hdr, cap, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long)rows, (long long)cols);
    if (n < 0 || (size_t)n + 1 >= cap) return 0;
    size_t len = (size_t)n + 1; /* + the newline */
    size_t total = (NPY_PREAMBLE + len + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    len = total - NPY_PREAMBLE;
    if (len >= cap || len > 0xFFFF) return 0;
    memset(hdr + n, ' ', len - 1 - (size_t)n);
    hdr[len - 1] = '\n';
    return len;
}

static int little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Preamble, header and data into f; nonzero when a write failed. */
static int npy_emit(FILE *f, const char *hdr, size_t len, const float *data, size_t n) {
    unsigned char pre[NPY_PREAMBLE] = {0x93,
                                       'N',
                                       'U',
                                       'M',
                                       'P',
                                       'Y',
                                       1,
                                       0,
                                       (unsigned char)(len & 0xFF),
                                       (unsigned char)(len >> 8)};
    if (fwrite(pre, 1, sizeof pre, f) != sizeof pre || fwrite(hdr, 1, len, f) != len) return -1;
    if (little_endian()) return fwrite(data, sizeof(float), n, f) != n ? -1 : 0;
    for (size_t i = 0; i < n; i++) { /* '<f4' on a big-endian machine: swap each value */
        unsigned char b[4];
        memcpy(b, &data[i], 4);
        unsigned char s[4] = {b[3], b[2], b[1], b[0]};
        if (fwrite(s, 1, 4, f) != 4) return -1;
    }
    return 0;
}

int fanin__npy_write(const char *path, const float *data, int64_t rows, int64_t cols, char *err,
                     size_t errlen) {
    char hdr[256];
    size_t len = rows >= 0 && cols >= 0 ? npy_header(hdr, sizeof hdr, rows, cols) : 0;
    if (!len)
        return fanin__errf(err, errlen, FANIN_EINVAL, "%s: bad shape %lld x %lld", path,
                           (long long)rows, (long long)cols);
    fanin__atomic a;
    int e = fanin__atomic_open(&a, path);
    if (!e) {
        int bad = npy_emit(a.f, hdr, len, data, (size_t)rows * (size_t)cols);
        e = fanin__atomic_commit(&a, path, bad ? (errno ? errno : EIO) : 0);
    }
    return e ? fanin__errf(err, errlen, FANIN_EIO, "cannot write %s: %s", path, strerror(e))
             : FANIN_OK;
}
