/* The error collector: located messages ("FILE:LINE:COL: message"), deduplicated and capped,
 * so one validation reports every mistake of a file at once. A leaf: it knows no section. */
#include "config/errs.h"
#include "base/errors.h"
#include "config/loc.h"
#include "config/tree.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fanin__errs_vadd(fanin__errs *e, int code, const fanin__loc *loc, const char *fmt, va_list ap) {
    char body[FANIN_ERRLEN], msg[FANIN_ERRLEN + 64];
    vsnprintf(body, sizeof body, fmt, ap);
    if (loc && loc->file && loc->line > 0)
        snprintf(msg, sizeof msg, "%s:%d:%d: %s", loc->file, loc->line, loc->col, body);
    else if (loc && loc->file) snprintf(msg, sizeof msg, "%s: %s", loc->file, body);
    else snprintf(msg, sizeof msg, "%s", body);
    if (e->code == FANIN_OK) e->code = code;
    e->total++;
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->msg[i], msg)) return code;
    if (e->n == FANIN__MAX_ERRORS) {
        e->dropped++;
        return code;
    }
    if (e->n == e->cap) {
        int cap = e->cap ? e->cap * 2 : 4;
        char **m = realloc(e->msg, (size_t)cap * sizeof *m);
        if (!m) return code;
        e->msg = m;
        e->cap = cap;
    }
    if ((e->msg[e->n] = fanin__strdup(msg))) e->n++;
    return code;
}

int fanin__errs_add(fanin__errs *e, int code, const fanin__loc *loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fanin__errs_vadd(e, code, loc, fmt, ap);
    va_end(ap);
    return code;
}

void fanin__errs_deinit(fanin__errs *e) {
    for (int i = 0; i < e->n; i++) free(e->msg[i]);
    free(e->msg);
    memset(e, 0, sizeof *e);
}

void fanin__errs_join(const fanin__errs *e, char *err, size_t errlen) {
    size_t o = 0;
    if (!err || !errlen) return;
    err[0] = '\0';
    for (int i = 0; i < e->n && o < errlen; i++)
        o += (size_t)snprintf(err + o, errlen - o, "%s%s", i ? "\n" : "", e->msg[i]);
    if (e->dropped && o < errlen)
        snprintf(err + o, errlen - o, "\n(%d more error%s not shown)", e->dropped,
                 e->dropped == 1 ? "" : "s");
}
