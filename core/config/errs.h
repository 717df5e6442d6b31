/* The error collector (errs.c): every mistake of a file, located, in the order found. */
#ifndef FANIN_CONFIG_ERRS_H
#define FANIN_CONFIG_ERRS_H

#include "config/loc.h"
#include <stdarg.h>
#include <stddef.h>

#define FANIN__MAX_ERRORS 20

/* Errors as "FILE:LINE:COL: message", deduplicated, in the order found. */
typedef struct fanin__errs {
    char **msg;
    int n, cap;
    int dropped; /* distinct messages beyond FANIN__MAX_ERRORS */
    int total;   /* every add, duplicates too: "did this step fail?" compares totals */
    int code;    /* the first error's code (FANIN_OK while empty) */
} fanin__errs;

/* Add a located message; returns `code`. loc may be NULL (no prefix). */
int fanin__errs_add(fanin__errs *e, int code, const fanin__loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int fanin__errs_vadd(fanin__errs *e, int code, const fanin__loc *loc, const char *fmt, va_list ap);
void fanin__errs_deinit(fanin__errs *e);

/* All messages, one per line, into err. */
void fanin__errs_join(const fanin__errs *e, char *err, size_t errlen);

#endif /* FANIN_CONFIG_ERRS_H */
