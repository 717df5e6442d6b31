/* Drawing one tensor with an initializer plugin: the code behind both `fanin init-stats` and
 * fanin_init_fill, so that the two agree bit for bit. The stream is the one a run's first layer
 * draws its W from: Philox (seed, 0, weight), or np.random.seed(seed) (docs/random-streams.md).
 */
#include "api/api.h"
#include "base/rng.h"
#include "plugin/host.h"

#include <math.h>
#include <stdlib.h>

const fanin__entry *fanin__api_find(const fanin_registry *reg, int kind, const char *name,
                                    char *err, size_t errlen) {
    const fanin__entry *e = name ? fanin__registry_find(reg, kind, name) : NULL;
    if (e) return e;
    const char *near = name ? fanin__registry_suggest(reg, kind, name) : NULL;
    fanin__errf(err, errlen, FANIN_EINVAL, "unknown %s '%s'%s%s%s; see 'fanin plugins --kind %s'",
                fanin__kind_name(kind), name ? name : "(null)", near ? "; did you mean '" : "",
                near ? near : "", near ? "'?" : "", fanin__kind_name(kind));
    return NULL;
}

int fanin__api_pref(const fanin_registry *reg, int kind, const char *name, const char *const *kv,
                    size_t n_kv, fanin__pref *out, char *err, size_t errlen) {
    const fanin__entry *e = fanin__api_find(reg, kind, name, err, errlen);
    if (!e) return FANIN_EINVAL;
    return fanin__pref_from_args(out, e, kv, n_kv, err, errlen);
}

int fanin__api_activation_gain(const fanin_registry *reg, const char *name, double *gain, char *err,
                               size_t errlen) {
    *gain = 1.0;
    if (!name) return FANIN_OK;
    fanin__pref p;
    int rc = fanin__api_pref(reg, FANIN_KIND_ACTIVATION, name, NULL, 0, &p, err, errlen);
    if (rc < 0) return rc;
    const fanin_activation_vt *vt = p.entry->plugin->vtable;
    rc = vt->gain(p.params, gain);
    fanin__pref_deinit(&p);
    if (rc < 0 || !isfinite(*gain) || *gain <= 0)
        return fanin__errf(err, errlen, FANIN_EPLUGIN,
                           "activation '%s': its gain() gave no positive finite gain", name);
    return FANIN_OK;
}

int fanin__api_sample(const fanin__pref *init, double gain, uint64_t seed, int rng,
                      const fanin_tensor *t, char *err, size_t errlen) {
    fanin_rng r;
    fanin__mt19937 mt;
    if (rng == FANIN_INIT_RNG_NUMPY) {
        if (seed > 0xFFFFFFFFu)
            return fanin__errf(err, errlen, FANIN_EINVAL,
                               "rng numpy takes a seed in [0, 4294967295], as np.random.seed "
                               "does (got %llu)",
                               (unsigned long long)seed);
        fanin__mt19937_seed(&mt, (uint32_t)seed);
        fanin__rng_init_numpy(&r, &mt);
    } else if (rng == FANIN_INIT_RNG_PHILOX) {
        fanin__rng_init(&r, seed, 0, FANIN_STREAM_WEIGHT);
    } else {
        return fanin__errf(err, errlen, FANIN_EINVAL, "rng is philox (%d) or numpy (%d), not %d",
                           FANIN_INIT_RNG_PHILOX, FANIN_INIT_RNG_NUMPY, rng);
    }
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, init->entry, gain);
    const fanin_initializer_vt *vt = init->entry->plugin->vtable;
    int rc = vt->fill(&ctx, t, init->params, &r);
    if (rc < 0) return fanin__ctx_fail(&ctx, rc, "fill", err, errlen);
    return FANIN_OK;
}
