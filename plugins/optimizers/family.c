/* The optimizer family's single entry point: lists every optimizer in this folder. */
#include <fanin/plugin.h>

extern const fanin_plugin sgd;

FANIN_PLUGIN_DEFINE(&sgd)
