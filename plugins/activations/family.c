/* The activation family's single entry point: lists every activation in this folder.
 * Descriptors are named act_<name> because `tanh` would clash with <math.h>. `swish` is a
 * separate descriptor sharing silu's functions.
 */
#include <fanin/plugin.h>

extern const fanin_plugin act_linear, act_relu, act_sigmoid, act_tanh, act_leaky_relu, act_elu,
    act_selu, act_gelu, act_silu, act_swish, act_mish, act_softplus, act_softsign, act_hard_sigmoid,
    act_hard_tanh, act_relu6;

FANIN_PLUGIN_DEFINE(&act_linear, &act_relu, &act_sigmoid, &act_tanh, &act_leaky_relu, &act_elu,
                    &act_selu, &act_gelu, &act_silu, &act_swish, &act_mish, &act_softplus,
                    &act_softsign, &act_hard_sigmoid, &act_hard_tanh, &act_relu6)
