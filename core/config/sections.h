/* The sections of the experiment file: their key tables and the readers with rules beyond
 * a table (resolve.c: top level, train, diagnostics; section_data.c; section_model.c;
 * schedule.c). Only config.c and the sections themselves include this. */
#ifndef FANIN_CONFIG_SECTIONS_H
#define FANIN_CONFIG_SECTIONS_H

#include "config/keys.h"
#include "config/schedule.h"
#include <stdio.h>

extern const fanin__key fanin__top_keys[];

/* Resolve the working tree r->root into r->x (defaults first, then every key). */
int fanin__resolve_tree(fanin__rctx *r);
/* Check a dotted sweep path against the tables. Returns the row it ends at (or a row of type
 * ANY for a plugin parameter inside a PREF), or NULL with a suggestion for the whole path in
 * `near` (empty when none) and the reason in msg. */
const fanin__key *fanin__schema_find(const char *path, char *near, size_t nearlen, char *msg,
                                     size_t msglen);
/* ---- section_data.c, section_model.c: the sections with rules beyond the tables ---- */

extern const fanin__key fanin__data_keys[];
extern const fanin__key fanin__model_keys[];
extern const char *const fanin__sources[]; /* fashion-mnist, idx, csv, synthetic, hdf5 */
extern const char *const fanin__synth_kinds[];

int fanin__resolve_data(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                        const char *path, void *base);
int fanin__resolve_model(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                         const char *path, void *base);
/* ---- section_layers.c: model.layers ---- */

/* Every key some layer kind takes (sweep and --set paths; `layers` nests it). */
extern const fanin__key fanin__layer_keys[];
/* The list `layers` (model: mapping `model`, model.defaults in `defaults`: entry NULL where not
 * given) expanded into r->x->layers: repeats, residual blocks, names, places. */
int fanin__read_layers(fanin__rctx *r, const fanin__node *model, const fanin__layer_spec *defaults,
                       const fanin__node *layers);
/* The number of classes the file fixes (listed, synthetic, fashion-mnist's 10), else 0. */
int fanin__data_class_count(const fanin__data_spec *d);
/* After every key: does the loss fit the last layer and the classes? Do convolutions get
 * images (a vector source needs model.input)? */
void fanin__check_loss(fanin__rctx *r);

/* ---- schedule.c: the lr_schedule section ---- */

extern const fanin__key fanin__schedule_keys[];

/* `lr_schedule: NAME` or a mapping of fanin__schedule_keys, with the keys each kind allows. */
int fanin__resolve_schedule(fanin__rctx *r, const fanin__key *k, const fanin__node *val,
                            const char *path, void *base);
/* After every key: the warmup must leave iterations to the schedule. */
void fanin__check_schedule(fanin__rctx *r);
/* The schedule as a YAML flow mapping, every key of its kind spelled out. */
void fanin__schedule_write(FILE *f, const fanin__schedule *s);

#endif /* FANIN_CONFIG_SECTIONS_H */
