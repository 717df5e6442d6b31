/* The keys of each layer kind in model.layers, with their defaults' rows and the readers for
 * the keys a table row cannot check alone (type, padding, bias, a residual's layers). The walk
 * that uses them is section_layers.c. */
#include "config/layers.h"
#include "base/errors.h"
#include "config/errs.h"
#include "config/pref.h"
#include "config/sections.h"
#include "config/values.h"
#include "plugin/registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

const char *const fanin__layer_type_names[] = {"dense",     "conv2d",         "maxpool2d",
                                               "avgpool2d", "global_avgpool", "flatten",
                                               "batchnorm", "layernorm",      "dropout",
                                               "residual",  "residual_close", NULL};
/* what `type:` takes: every name but residual_close */
const char *const fanin__layer_type_choices[] = {
    "dense",     "conv2d",  "maxpool2d", "avgpool2d", "global_avgpool", "flatten", "batchnorm",
    "layernorm", "dropout", "residual",  NULL};
const char *const fanin__scale_names[] = {"1", "rezero", "skipinit", "fixup", NULL};


static int read_type(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                     void *base);
static int read_padding(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base);
static int read_bool(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                     void *base);
static int note_branch(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                       const char *path, void *base);

/* ---- the keys of each kind ---- */

#define K_TYPE                                                                         \
    {                                                                                  \
        .name = "type", .type = FANIN__KEY_ENUM, .choices = fanin__layer_type_choices, \
        .fn = read_type                                                                \
    }
#define K_REPEAT                                                               \
    {                                                                          \
        .name = "repeat", .type = FANIN__KEY_I64, .off = LI(repeat), .min = 1, \
        .max = FANIN_MAX_LAYERS                                                \
    }
#define K_UNITS                                                                                \
    {                                                                                          \
        .name = "units", .type = FANIN__KEY_INT, .off = LI(s.units), .min = 1, .max = 1 << 20, \
        .flags = FANIN__KEY_REQUIRED, .doc = "the layer's width"                               \
    }
#define K_CHANNELS                                                                      \
    {                                                                                   \
        .name = "channels", .type = FANIN__KEY_INT, .off = LI(s.channels), .min = 1,    \
        .max = 1 << 20, .flags = FANIN__KEY_REQUIRED, .doc = "output channels, e.g. 16" \
    }
#define K_KERNEL                                                                              \
    {                                                                                         \
        .name = "kernel", .type = FANIN__KEY_INT, .off = LI(s.kernel), .min = 1, .max = 4096, \
        .flags = FANIN__KEY_REQUIRED, .doc = "the square kernel's side, e.g. 3"               \
    }
#define K_STRIDE \
    { .name = "stride", .type = FANIN__KEY_INT, .off = LI(s.stride), .min = 1, .max = 4096 }
#define K_PADDING \
    { .name = "padding", .type = FANIN__KEY_ANY, .off = LI(s.padding), .fn = read_padding }
#define K_POOL_PADDING \
    { .name = "padding", .type = FANIN__KEY_INT, .off = LI(s.padding), .min = 0, .max = 4096 }
#define K_BIAS \
    { .name = "bias", .type = FANIN__KEY_ANY, .off = LI(s.bias), .fn = read_bool }
#define K_ACT                                                                   \
    {                                                                           \
        .name = "activation", .type = FANIN__KEY_PREF, .off = LI(s.activation), \
        .kind = FANIN_KIND_ACTIVATION                                           \
    }
#define K_INIT \
    { .name = "init", .type = FANIN__KEY_PREF, .off = LI(s.init), .kind = FANIN_KIND_INITIALIZER }
#define K_BIAS_INIT                                                           \
    {                                                                         \
        .name = "bias_init", .type = FANIN__KEY_PREF, .off = LI(s.bias_init), \
        .kind = FANIN_KIND_INITIALIZER                                        \
    }
#define K_EPS                                                              \
    {                                                                      \
        .name = "eps", .type = FANIN__KEY_F64, .off = LI(s.eps), .min = 0, \
        .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX                 \
    }
#define K_MOMENTUM \
    { .name = "momentum", .type = FANIN__KEY_F64, .off = LI(s.momentum), .min = 0, .max = 1 }
#define K_P                                                                      \
    {                                                                            \
        .name = "p", .type = FANIN__KEY_F64, .off = LI(s.p), .min = 0, .max = 1, \
        .flags = FANIN_PARAM_MAX_EXCL                                            \
    }
#define K_LAYERS                                                                                \
    {                                                                                           \
        .name = "layers", .type = FANIN__KEY_LIST, .sub = fanin__layer_keys, .fn = note_branch, \
        .flags = FANIN__KEY_REQUIRED,                                                           \
        .doc = "the branch F, e.g. [{units: 64}, {units: 64, activation: linear}]"              \
    }
#define K_SCALE \
    { .name = "scale", .type = FANIN__KEY_ENUM, .off = LI(s.scale), .choices = fanin__scale_names }
#define K_SCALE_INIT                                                           \
    {                                                                          \
        .name = "scale_init", .type = FANIN__KEY_F64, .off = LI(s.scale_init), \
        .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX                       \
    }
/* multipliers of the optimizer's learning rate and weight decay: > 0 and finite */
#define K_MULT(key, field)                                                    \
    {                                                                         \
        .name = key, .type = FANIN__KEY_F64, .off = LI(s.field), .min = 0,    \
        .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX, .doc = "e.g. 0.5" \
    }
#define K_LR K_MULT("lr_scale", lr_scale), K_MULT("wd_scale", wd_scale)
#define K_BIAS_LR K_MULT("bias_lr_scale", bias_lr_scale), K_MULT("bias_wd_scale", bias_wd_scale)
#define K_PROJECTION \
    { .name = "projection", .type = FANIN__KEY_ANY, .off = LI(s.projection), .fn = read_bool }

static const fanin__key dense_keys[] = {K_TYPE,   K_UNITS, K_ACT,     K_INIT, K_BIAS_INIT,
                                        K_REPEAT, K_LR,    K_BIAS_LR, {0}};
static const fanin__key conv_keys[] = {K_TYPE, K_CHANNELS, K_KERNEL, K_STRIDE,    K_PADDING,
                                       K_BIAS, K_ACT,      K_INIT,   K_BIAS_INIT, K_REPEAT,
                                       K_LR,   K_BIAS_LR,  {0}};
static const fanin__key pool_keys[] = {K_TYPE, K_KERNEL, K_STRIDE, K_POOL_PADDING, K_REPEAT, {0}};
static const fanin__key plain_keys[] = {K_TYPE, K_REPEAT, {0}};
static const fanin__key batchnorm_keys[] = {K_TYPE,      K_EPS,    K_MOMENTUM, K_INIT,
                                            K_BIAS_INIT, K_REPEAT, K_LR,       {0}};
static const fanin__key layernorm_keys[] = {K_TYPE,   K_EPS, K_INIT, K_BIAS_INIT,
                                            K_REPEAT, K_LR,  {0}};
static const fanin__key dropout_keys[] = {K_TYPE, K_P, K_REPEAT, {0}};
static const fanin__key residual_keys[] = {K_TYPE,      K_LAYERS,     K_REPEAT,     K_ACT,
                                           K_SCALE,     K_SCALE_INIT, K_PROJECTION, K_INIT,
                                           K_BIAS_INIT, K_LR,         K_BIAS_LR,    {0}};

/* Every key some kind takes: what sweep and --set paths are checked against. */
const fanin__key fanin__layer_keys[] = {
    K_TYPE,  K_UNITS,      K_CHANNELS,   K_KERNEL, K_STRIDE,   K_PADDING, K_BIAS,
    K_ACT,   K_INIT,       K_BIAS_INIT,  K_EPS,    K_MOMENTUM, K_P,       K_LAYERS,
    K_SCALE, K_SCALE_INIT, K_PROJECTION, K_REPEAT, K_LR,       K_BIAS_LR, {0},
};

/* by enum fanin__layer_type, up to RESIDUAL_OPEN */
const fanin__key *const fanin__layer_kind_keys[] = {
    dense_keys, conv_keys,      pool_keys,      pool_keys,    plain_keys,
    plain_keys, batchnorm_keys, layernorm_keys, dropout_keys, residual_keys,
};


/* ---- custom readers ---- */

static int read_type(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                     void *base) {
    (void)r;
    (void)k;
    (void)val;
    (void)path;
    (void)base;
    return FANIN_OK; /* read first, by read_item: it decides the other keys */
}

/* `padding: same | valid | N` */
static int read_padding(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base) {
    static const fanin_param_spec spec = {"padding", FANIN_PARAM_I64, 0, 0, 0, 4096, 0, 0, 0};
    int *field = (int *)((char *)base + k->off);
    fanin_value v;
    char msg[FANIN_ERRLEN], got[120];
    if (val->type == FANIN__SCALAR && val->plain && !strcmp(val->text, "same")) {
        *field = FANIN_PAD_SAME;
        return FANIN_OK;
    }
    if (val->type == FANIN__SCALAR && val->plain && !strcmp(val->text, "valid")) {
        *field = FANIN_PAD_VALID;
        return FANIN_OK;
    }
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) == FANIN_OK) {
        *field = (int)v.i;
        return FANIN_OK;
    }
    fanin__node_describe(val, got, sizeof got);
    return fanin__rerr(r, val,
                       "'%s' must be same, valid or an integer in [0, 4096] (zeros "
                       "added on each side), got %s",
                       path, got);
}

static int read_bool(fanin__rctx *r, const fanin__key *k, const fanin__node *val, const char *path,
                     void *base) {
    static const fanin_param_spec spec = {"bool", FANIN_PARAM_BOOL, 0, 0, 0, 1, 0, 0, 0};
    fanin_value v;
    char msg[FANIN_ERRLEN];
    if (fanin__value_read(&spec, val, &v, msg, sizeof msg) != FANIN_OK)
        return fanin__rerr(r, val, "'%s' %s", path, msg);
    *(bool *)((char *)base + k->off) = v.b != 0;
    return FANIN_OK;
}

static int note_branch(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                       const char *path, void *base) {
    (void)r;
    (void)k;
    (void)path;
    ((layer_item *)base)->branch = val;
    return FANIN_OK;
}
