/* The activation family's single entry point: lists every activation in this folder.
 * Descriptors are named act_<name> because `tanh` would clash with <math.h>.
 */
#include <fanin/plugin.h>

extern const fanin_plugin act_linear, act_relu, act_sigmoid, act_tanh;

FANIN_PLUGIN_DEFINE(&act_linear, &act_relu, &act_sigmoid, &act_tanh)
