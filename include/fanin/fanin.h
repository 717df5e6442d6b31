/* fanin engine API: the calls the `fanin` command and embedders use.
 *
 * Status codes are shared with the plugin ABI (<fanin/plugin.h>): FANIN_OK or a negative
 * FANIN_E*. Calls without a handle take `char *err, size_t errlen` and write the specific
 * message there ("FILE:LINE:COL: what; hint").
 */
#ifndef FANIN_FANIN_H
#define FANIN_FANIN_H

#include <fanin/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FANIN_API FANIN_EXPORT

#define FANIN_VERSION_MAJOR 0
#define FANIN_VERSION_MINOR 1
#define FANIN_VERSION_PATCH 0
#define FANIN_VERSION_STRING "0.1.0"

/* Exit codes of the `fanin` command (documented in docs/errors.md). */
enum {
    FANIN_EXIT_OK = 0,
    FANIN_EXIT_RUNTIME = 1,
    FANIN_EXIT_USAGE = 2, /* usage, config or data error */
    FANIN_EXIT_INTERRUPTED = 130,
};

/* A status code's symbolic name ("FANIN_ECONFIG") and its text. Never NULL. */
FANIN_API const char *fanin_err_name(int code);
FANIN_API const char *fanin_strerror(int code);

/* The exit code the `fanin` command uses for a status code. */
FANIN_API int fanin_exit_code(int code);

/* The library's version string, e.g. "0.1.0". */
FANIN_API const char *fanin_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FANIN_FANIN_H */
