/* Losses and accuracy on the output layer (loss.c). */
#ifndef FANIN_ENGINE_LOSS_H
#define FANIN_ENGINE_LOSS_H

#include "config/experiment.h"
#include "data/data.h"
#include "engine/model.h"
#include <stdint.h>
#include <stdbool.h>

/* Loss of the last layer's output A [n, k] against Y [n, y_dim]; mean over rows. When
 * `grad` is set also writes dL/dA (or dL/dZ when fused) into the last layer's dA. */
double fanin__loss(fanin_model *m, const float *Y, int n, bool grad);
/* Does the loss fit the output layer and the data? (bce: 1 unit, 2 classes; ...) */
int fanin__loss_check(const fanin_model *m, const fanin_dataset *d, char *err, size_t errlen);
/* Rows whose prediction matches the label (classification); 0 for regression. */
int64_t fanin__count_correct(const fanin_model *m, const float *Y, int n);

/* Does the loss take the output layer's logits (bce on an activation that declares itself the
 * logistic function, FANIN_INTERFACE_LOGISTIC), so it writes dZ itself? */
bool fanin__loss_fuses(const fanin_experiment *x);

#endif /* FANIN_ENGINE_LOSS_H */
