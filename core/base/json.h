/* JSON value writing (json.c): one escaper for summary.json, plugins --json and the
 * safetensors header. */
#ifndef FANIN_BASE_JSON_H
#define FANIN_BASE_JSON_H

#include <stdio.h>

/* s as a JSON string literal (quotes, backslashes, control characters escaped; NULL = ""). */
void fanin__json_str(FILE *f, const char *s);
/* v with printf format fmt, or null when it is NaN or Inf. */
void fanin__json_num(FILE *f, const char *fmt, double v);

#endif /* FANIN_BASE_JSON_H */
