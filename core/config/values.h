/* Typed values of a parameter schema (values.c), read from the tree and written back. */
#ifndef FANIN_CONFIG_VALUES_H
#define FANIN_CONFIG_VALUES_H

#include "config/tree.h"
#include <fanin/plugin.h>
#include <stdbool.h>

/* Read a scalar node as a value of spec's type (F64, I64, BOOL, ENUM, STRING) and check its
 * range. STRING values borrow n->text. On failure writes "must be a number >= 0, got 'x'"
 * (and a hint) into msg and returns FANIN_ECONFIG. */
int fanin__value_read(const fanin_param_spec *spec, const fanin__node *n, fanin_value *out,
                      char *msg, size_t msglen);
/* "a number > 0", "an integer in [1, 64]", "true or false", "one of a | b". */
void fanin__value_expect(const fanin_param_spec *spec, char *buf, size_t len);
/* A value as YAML text: shortest round-trip number, `auto`, true/false, an enum choice, a
 * string (quoted when needed when `quote` is set). */
void fanin__value_format(const fanin_param_spec *spec, const fanin_value *v, bool quote, char *buf,
                         size_t len);
/* "a | b | c" */
void fanin__choices_text(const char *const *choices, char *buf, size_t len);
size_t fanin__choices_count(const char *const *choices);

#endif /* FANIN_CONFIG_VALUES_H */
