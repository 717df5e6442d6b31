/* Typed values of a parameter schema (fanin_param_spec): reading a scalar node strictly (types,
 * ranges, `auto`, enum choices with "did you mean"), describing what is expected, and writing a
 * value back as YAML. Shared by plugin parameters and the experiment's own keys (keys.c). */
#include "config/values.h"
#include "base/errors.h"
#include "config/tree.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void range_text(const fanin_param_spec *s, char *buf, size_t len) {
    bool lo = !(s->flags & FANIN_PARAM_NO_MIN), hi = !(s->flags & FANIN_PARAM_NO_MAX);
    char a[40], b[40];
    fanin__format_double(s->min, a, sizeof a);
    fanin__format_double(s->max, b, sizeof b);
    if (lo && hi)
        snprintf(buf, len, " in %c%s, %s%c", s->flags & FANIN_PARAM_MIN_EXCL ? '(' : '[', a, b,
                 s->flags & FANIN_PARAM_MAX_EXCL ? ')' : ']');
    else if (lo) snprintf(buf, len, " %s %s", s->flags & FANIN_PARAM_MIN_EXCL ? ">" : ">=", a);
    else if (hi) snprintf(buf, len, " %s %s", s->flags & FANIN_PARAM_MAX_EXCL ? "<" : "<=", b);
    else buf[0] = '\0';
}

void fanin__choices_text(const char *const *choices, char *buf, size_t len) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; choices && choices[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " | " : "", choices[i]);
}

size_t fanin__choices_count(const char *const *choices) {
    size_t n = 0;
    while (choices && choices[n]) n++;
    return n;
}

void fanin__value_expect(const fanin_param_spec *s, char *buf, size_t len) {
    char r[100], c[400];
    switch (s->type) {
    case FANIN_PARAM_F64:
        range_text(s, r, sizeof r);
        snprintf(buf, len, "a number%s%s", r, s->flags & FANIN_PARAM_AUTO ? " or auto" : "");
        break;
    case FANIN_PARAM_I64:
        range_text(s, r, sizeof r);
        snprintf(buf, len, "an integer%s", r);
        break;
    case FANIN_PARAM_BOOL: snprintf(buf, len, "true or false"); break;
    case FANIN_PARAM_ENUM:
        fanin__choices_text(s->choices, c, sizeof c);
        snprintf(buf, len, "one of %s", c);
        break;
    default: snprintf(buf, len, "a string"); break;
    }
}

static bool in_range(const fanin_param_spec *s, double v) {
    bool lo = (s->flags & FANIN_PARAM_NO_MIN) ||
              (s->flags & FANIN_PARAM_MIN_EXCL ? v > s->min : v >= s->min);
    bool hi = (s->flags & FANIN_PARAM_NO_MAX) ||
              (s->flags & FANIN_PARAM_MAX_EXCL ? v < s->max : v <= s->max);
    return lo && hi;
}

static int read_number(const fanin_param_spec *s, const fanin__node *n, fanin_value *out) {
    bool is_int;
    if (!n->plain || !fanin__text_is_number(n->text, &is_int)) return FANIN_ECONFIG;
    errno = 0;
    if (s->type == FANIN_PARAM_I64) {
        if (!is_int) return FANIN_ECONFIG;
        long long v = strtoll(n->text, NULL, 10);
        if (errno == ERANGE || !in_range(s, (double)v)) return FANIN_EINVAL;
        out->i = (int64_t)v;
        return FANIN_OK;
    }
    double v = strtod(n->text, NULL);
    if (!isfinite(v) || !in_range(s, v)) return FANIN_EINVAL;
    out->f = v;
    return FANIN_OK;
}

static int read_bool(const fanin__node *n, fanin_value *out) {
    static const char *const t[] = {"true", "True", "TRUE"}, *const f[] = {"false", "False",
                                                                           "FALSE"};
    for (int i = 0; n->plain && i < 3; i++) {
        if (!strcmp(n->text, t[i])) return out->b = 1, FANIN_OK;
        if (!strcmp(n->text, f[i])) return out->b = 0, FANIN_OK;
    }
    return FANIN_ECONFIG;
}

static int read_enum(const fanin_param_spec *s, const fanin__node *n, fanin_value *out,
                     const char **near) {
    size_t count = fanin__choices_count(s->choices);
    for (size_t i = 0; i < count; i++)
        if (!strcmp(n->text, s->choices[i])) return out->e = (int32_t)i, FANIN_OK;
    *near = fanin__nearest(n->text, (const char *const *)s->choices, count);
    return FANIN_ECONFIG;
}

int fanin__value_read(const fanin_param_spec *s, const fanin__node *n, fanin_value *out, char *msg,
                      size_t msglen) {
    const char *near = NULL;
    int rc = FANIN_ECONFIG;
    if (n->type == FANIN__SCALAR) {
        switch (s->type) {
        case FANIN_PARAM_F64:
            if ((s->flags & FANIN_PARAM_AUTO) && n->plain && !strcmp(n->text, "auto")) {
                out->f = NAN;
                return FANIN_OK;
            }
            rc = read_number(s, n, out);
            break;
        case FANIN_PARAM_I64: rc = read_number(s, n, out); break;
        case FANIN_PARAM_BOOL: rc = read_bool(n, out); break;
        case FANIN_PARAM_ENUM: rc = read_enum(s, n, out, &near); break;
        default: out->s = n->text; return FANIN_OK;
        }
        if (rc == FANIN_OK) return rc;
    }
    char expect[300], got[120];
    bool is_int;
    fanin__value_expect(s, expect, sizeof expect);
    fanin__node_describe(n, got, sizeof got);
    bool quoted_number = n->type == FANIN__SCALAR && !n->plain &&
                         fanin__text_is_number(n->text, &is_int) &&
                         (s->type == FANIN_PARAM_F64 || s->type == FANIN_PARAM_I64);
    snprintf(msg, msglen, "must be %s, got %s%s%s%s", expect, got,
             quoted_number ? "; write the number without quotes" : "",
             near ? "; did you mean '" : "", near ? near : "");
    if (near && strlen(msg) + 2 < msglen) strcat(msg, "'?");
    return FANIN_ECONFIG;
}

void fanin__value_format(const fanin_param_spec *s, const fanin_value *v, bool quote, char *buf,
                         size_t len) {
    switch (s->type) {
    case FANIN_PARAM_F64:
        if (isnan(v->f)) snprintf(buf, len, "auto");
        else fanin__format_double(v->f, buf, len);
        break;
    case FANIN_PARAM_I64: snprintf(buf, len, "%lld", (long long)v->i); break;
    case FANIN_PARAM_BOOL: snprintf(buf, len, "%s", v->b ? "true" : "false"); break;
    case FANIN_PARAM_ENUM:
        snprintf(buf, len, "%s",
                 v->e >= 0 && (size_t)v->e < fanin__choices_count(s->choices) ? s->choices[v->e]
                                                                              : "?");
        break;
    default:
        if (quote && fanin__needs_quotes(v->s ? v->s : ""))
            fanin__quote(v->s ? v->s : "", buf, len);
        else snprintf(buf, len, "%s", v->s ? v->s : "");
        break;
    }
}
