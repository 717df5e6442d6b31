/* numpy .npy files (npy.c). */
#ifndef FANIN_IO_NPY_H
#define FANIN_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

/* Write data [rows, cols] as a .npy v1.0 file (float32 '<f4', C order), atomically: a temp
 * file in the same folder renamed over path. */
int fanin__npy_write(const char *path, const float *data, int64_t rows, int64_t cols, char *err,
                     size_t errlen);

#endif /* FANIN_IO_NPY_H */
