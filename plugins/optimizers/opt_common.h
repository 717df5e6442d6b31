/* Helpers shared by the optimizer family (private to plugins/optimizers/, not ABI).
 * A state is a 16-byte header then float buffers of n each, one after another, so every buffer
 * is 16-byte aligned. The host keeps the state as plain bytes (a checkpoint is a copy of it):
 * this layout is the checkpoint format, so the header's fields never move.
 */
#ifndef FANIN_OPT_COMMON_H
#define FANIN_OPT_COMMON_H

#include <fanin/plugin.h>
#include <string.h>

FANIN_USES_HOST;

/* The state of adam, adamw, adamax, adagrad, adadelta and rmsprop; nadam and sgd keep other
 * values in their 16-byte headers. */
typedef struct opt_state {
    uint64_t t; /* steps taken: kept in the state, so a resumed run continues, not restarts */
    uint64_t reserved;
    float buf[]; /* the optimizer's buffers, n floats each */
} opt_state;

/* Bytes of a state with `bufs` buffers of n floats. */
static inline size_t opt_state_size(size_t n, size_t bufs) {
    return sizeof(opt_state) + bufs * n * sizeof(float);
}

/* init_state of an optimizer whose state starts all zero (t = 0, every buffer 0). */
static inline int opt_zero_state(void *state, size_t size) {
    memset(state, 0, size);
    return FANIN_OK;
}

#endif /* FANIN_OPT_COMMON_H */
