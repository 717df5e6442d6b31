/* The embedding API's shared pieces (session.c, init.c, ops.c, run.c): the session object behind
 * <fanin/fanin.h>'s fanin_session, and the initializer draw `fanin init-stats` shares with
 * fanin_init_fill so both give the same numbers. */
#ifndef FANIN_API_API_H
#define FANIN_API_API_H

#include "base/errors.h"
#include "config/pref.h"
#include "plugin/registry.h"
#include <fanin/fanin.h>
#include <stdint.h>
#include <stdio.h>

struct fanin_session {
    fanin_registry *reg;
    char err[4 * FANIN_ERRLEN]; /* the last failure's message (a config may have several) */
};

/* Every plugin of `kind` (0: all) in reg as one JSON document: fanin_version, abi,
 * search_path and plugins with their schemas (`fanin plugins --json`, fanin_plugins_json). */
void fanin__api_plugins_json(FILE *f, const fanin_registry *reg, int kind);
/* The registered plugin of that kind, or NULL with "unknown KIND 'NAME'; did you mean 'X'?;
 * see 'fanin plugins --kind KIND'" in err. */
const fanin__entry *fanin__api_find(const fanin_registry *reg, int kind, const char *name,
                                    char *err, size_t errlen);
/* Resolve plugin `name` of `kind` with "key=value" parameters into *out (deinit with
 * fanin__pref_deinit). */
int fanin__api_pref(const fanin_registry *reg, int kind, const char *name, const char *const *kv,
                    size_t n_kv, fanin__pref *out, char *err, size_t errlen);
/* The recommended gain of activation `name` at its default parameters; 1.0 when name is NULL. */
int fanin__api_activation_gain(const fanin_registry *reg, const char *name, double *gain, char *err,
                               size_t errlen);
/* Fill t with initializer `init` drawing from the stream a run's first layer would use:
 * (seed, layer 0, weight) for FANIN_INIT_RNG_PHILOX, np.random.seed(seed) for
 * FANIN_INIT_RNG_NUMPY; `gain` is what the activation_gain service answers. */
int fanin__api_sample(const fanin__pref *init, double gain, uint64_t seed, int rng,
                      const fanin_tensor *t, char *err, size_t errlen);

#endif /* FANIN_API_API_H */
