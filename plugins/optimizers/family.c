/* The optimizer family's single entry point: lists every optimizer in this folder. */
#include <fanin/plugin.h>

extern const fanin_plugin sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam, radam;

FANIN_PLUGIN_DEFINE(&sgd, &adam, &adamw, &rmsprop, &adagrad, &adadelta, &adamax, &nadam, &radam)
