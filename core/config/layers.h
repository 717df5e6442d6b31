/* What the model.layers reader shares between its key tables (layer_keys.c) and its walk
 * (section_layers.c). Private to core/config. */
#ifndef FANIN_CONFIG_LAYERS_H
#define FANIN_CONFIG_LAYERS_H

#include "config/experiment.h"
#include "config/keys.h"
#include "config/tree.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One item of model.layers (or of a residual branch), as read. */
typedef struct layer_item {
    fanin__layer_spec s;
    int64_t repeat;
    const fanin__node *branch; /* residual: its `layers:` */
} layer_item;

#define LI(field) offsetof(layer_item, field)

/* What `type:` takes: every kind name but residual_close (layer_keys.c). */
extern const char *const fanin__layer_type_choices[];
/* Each kind's keys, by enum fanin__layer_type up to RESIDUAL_OPEN (layer_keys.c). */
extern const fanin__key *const fanin__layer_kind_keys[];

/* Dense and conv2d carry a weight (and model.defaults' init, bias_init). */
static inline bool fanin__layer_has_weight(int type) {
    return type == FANIN_LAYER_DENSE || type == FANIN_LAYER_CONV2D;
}

#endif /* FANIN_CONFIG_LAYERS_H */
