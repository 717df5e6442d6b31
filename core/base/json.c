/* Writing JSON values (RFC 8259) to a stream: summary.json, `fanin plugins --json` and the
 * safetensors header. Writing only; fanin never parses JSON except safetensors headers. */
#include "base/json.h"

#include <stdio.h>
#include <math.h>

void fanin__json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f); /* UTF-8 passes through */
    }
    fputc('"', f);
}

void fanin__json_num(FILE *f, const char *fmt, double v) {
    if (isfinite(v)) fprintf(f, fmt, v);
    else fputs("null", f); /* JSON has no NaN or Inf */
}
