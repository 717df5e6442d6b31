/* adam.c's state and update, shared with adamw.c (private to plugins/optimizers/, not ABI).
 * Both schemas have these rows, in this order.
 */
#ifndef FANIN_OPT_ADAM_H
#define FANIN_OPT_ADAM_H

#include "opt_common.h"

enum { P_BETA1, P_BETA2, P_EPS, P_WEIGHT_DECAY, P_AMSGRAD };

size_t fanin_adam__state_size(size_t n, const fanin_value *p);
int fanin_adam__init_state(fanin_ctx *ctx, void *state, size_t n, const fanin_value *p);
/* One step; `decoupled` applies weight_decay as w *= 1 - lr * weight_decay (AdamW). */
void fanin_adam__update(void *state, float *w, const float *g, size_t n, double lr,
                        const fanin_value *p, int decoupled);

#endif /* FANIN_OPT_ADAM_H */
