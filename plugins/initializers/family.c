/* The initializer family's single entry point: lists every initializer in this folder.
 * A new scheme is one more file here and one more name below.
 */
#include <fanin/plugin.h>

extern const fanin_plugin zeros, constant, uniform, normal, lecun_normal, lecun_uniform,
    xavier_normal, xavier_uniform, he_normal, he_uniform;

FANIN_PLUGIN_DEFINE(&zeros, &constant, &uniform, &normal, &lecun_normal, &lecun_uniform,
                    &xavier_normal, &xavier_uniform, &he_normal, &he_uniform)
