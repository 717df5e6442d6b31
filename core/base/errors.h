/* Formatted error messages and "did you mean" suggestions (errors.c); the status
 * codes themselves are public (<fanin/fanin.h>). */
#ifndef FANIN_BASE_ERRORS_H
#define FANIN_BASE_ERRORS_H

#include <fanin/fanin.h>
#include <stddef.h>

#define FANIN_ERRLEN 1024

/* Write a formatted message into err (if not NULL) and return code. */
int fanin__errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Damerau-free Levenshtein distance, for "did you mean" suggestions. */
int fanin__edit_distance(const char *a, const char *b);

/* The candidate closest to `word` (distance <= max(2, strlen/3)), or NULL. */
const char *fanin__nearest(const char *word, const char *const *candidates, size_t n);

#endif /* FANIN_BASE_ERRORS_H */
