/* Divergence: a fast finiteness check for the training loop, and finding where a diverged step
 * first went non-finite (the first layer from the input whose parameters or activations did,
 * else the last whose gradients did), for diverged.txt and the verdict. */
#include "engine/model.h"

#include <stdint.h>
#include <stdbool.h>
#include <string.h>

/* A float is NaN or Inf exactly when its 8 exponent bits are all ones (IEEE 754 binary32).
 * An OR over integer flags vectorizes; a float sum would be one long dependency chain. */
bool fanin__all_finite(const float *p, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &p[i], sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

void fanin__locate_nonfinite(const fanin_model *m, int n, int *layer, const char **what) {
    *layer = -1;
    *what = "loss";
    for (int l = 0; l < m->n_layers; l++) {
        const fanin__layer *L = &m->layers[l];
        size_t cells = (size_t)n * (size_t)L->n_out;
        if (!fanin__all_finite(L->P, L->n_p)) {
            *layer = l;
            *what = "weights";
            return;
        }
        if (!fanin__all_finite(L->Z, cells) || !fanin__all_finite(L->A, cells)) {
            *layer = l;
            *what = "activations";
            return;
        }
    }
    for (int l = m->n_layers - 1; l >= 0; l--) {
        const fanin__layer *L = &m->layers[l];
        if (!fanin__all_finite(L->dP, L->n_p)) {
            *layer = l;
            *what = "gradients";
            return;
        }
    }
}
