/* Status codes' names and texts, formatted error messages and "did you mean" suggestions:
 * the small services every other file uses.
 * The status table is append-only: codes are never renumbered. */
#include "base/errors.h"

#include <fanin/fanin.h>

#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FANIN_ERRNO_MAP(X)                             \
    X(OK, 0, "success")                                \
    X(EINVAL, -1, "invalid argument")                  \
    X(ENOMEM, -2, "out of memory")                     \
    X(EIO, -3, "input/output error")                   \
    X(ECONFIG, -4, "error in the experiment file")     \
    X(EDATA, -5, "missing or corrupt data")            \
    X(EPLUGIN, -6, "plugin error")                     \
    X(ENOTSUP, -7, "not supported")                    \
    X(EDIVERGED, -8, "training diverged (NaN or Inf)") \
    X(EINTR, -9, "interrupted")

const char *fanin_err_name(int code) {
#define NAME_CASE(name, val, text) \
    case val: return "FANIN_" #name;
    switch (code) { FANIN_ERRNO_MAP(NAME_CASE) }
#undef NAME_CASE
    return "FANIN_EUNKNOWN";
}

const char *fanin_strerror(int code) {
#define TEXT_CASE(name, val, text) \
    case val: return text;
    switch (code) { FANIN_ERRNO_MAP(TEXT_CASE) }
#undef TEXT_CASE
    return "unknown error";
}

int fanin_exit_code(int code) {
    switch (code) {
    case FANIN_OK:
    case FANIN_EDIVERGED: return FANIN_EXIT_OK;
    case FANIN_EINVAL:
    case FANIN_ECONFIG:
    case FANIN_EDATA:
    case FANIN_EPLUGIN: return FANIN_EXIT_USAGE;
    case FANIN_EINTR: return FANIN_EXIT_INTERRUPTED;
    default: return FANIN_EXIT_RUNTIME;
    }
}

const char *fanin_version(void) { return FANIN_VERSION_STRING; }

int fanin__errf(char *err, size_t errlen, int code, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Levenshtein distance with two rows; names are short, so a fixed cap is enough. */
int fanin__edit_distance(const char *a, const char *b) {
    enum { CAP = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= CAP || lb >= CAP) return (int)(la > lb ? la : lb);
    int prev[CAP + 1], cur[CAP + 1];
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

const char *fanin__nearest(const char *word, const char *const *candidates, size_t n) {
    const char *best = NULL;
    int best_d = 1 << 30;
    int limit = (int)strlen(word) / 3;
    if (limit < 2) limit = 2;
    for (size_t i = 0; i < n; i++) {
        int d = fanin__edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}
