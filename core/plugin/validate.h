/* Validation of a loaded library's descriptors (validate.c), before the loader registers any. */
#ifndef FANIN_PLUGIN_VALIDATE_H
#define FANIN_PLUGIN_VALIDATE_H

#include <fanin/plugin.h>

#include <stddef.h>
#include <stdint.h>

#define FANIN_MAX_PLUGINS 4096 /* per library: more means a corrupt plugin_count */
#define FANIN_FIX_REBUILD "rebuild the plugin against fanin 1.x headers"

/* The library struct: its ABI header, sizeof_real, min_host_minor and plugin list. */
int fanin__validate_library(const char *path, const fanin_library *lib, char *err, size_t errlen);
/* Descriptor i of a library: its header, identity, vtable and parameter schema. */
int fanin__validate_plugin(const char *path, uint32_t i, const fanin_plugin *p, char *err,
                           size_t errlen);

#endif /* FANIN_PLUGIN_VALIDATE_H */
