/* Private to the verdict's two files: verdict.c (the rules) and verdict_cause.c (who is to blame
 * for a change of scale: the weights or the activation). Other callers use runset.h. */
#ifndef FANIN_RUN_VERDICT_H
#define FANIN_RUN_VERDICT_H

#include "engine/diag.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stddef.h>

/* Per-layer factors (activation std, weight scale / gain) inside [0.8, 1.25] are level: over
 * 10 layers that is at most x10 either way (docs/diagnostics.md, "The verdict"). */
#define FANIN_LEVEL_LO 0.8
#define FANIN_LEVEL_HI 1.25

/* Append printf-style text to r->verdict, as far as it fits. */
void fanin__verdict_say(fanin__run_view *r, const char *fmt, ...);
/* "1e-07", "0.03", "2.4" into b (24 bytes), "n/a" when not finite: numbers for sentences. */
const char *fanin__verdict_num(char *b, double v);
/* Append the cause of a change of scale seen at iteration 0 (s0) to r->verdict: dir < 0 for
 * shrinking or vanishing, > 0 for growing or exploding. */
void fanin__verdict_cause(fanin__run_view *r, const fanin__layer_stats *s0, int dir);

/* ---- verdict_block.c: kinds and residual blocks ---- */

/* Does the row describe a layer with a weight the statistics judge (dense, conv2d; every row
 * of a layers.csv written before layer kinds, whose kind is empty)? */
bool fanin__verdict_has_weight(const fanin__layer_stats *s);
/* The residual stream's figures at iteration 0 into r->figs (n_blocks, and when > 0
 * act_factor0 and act_ratio0 per block, branch_ratio0). */
void fanin__verdict_stream_figs(fanin__run_view *r, const fanin__layer_stats *s0);
/* "layer 7 (block 3's branch, layer 2 of 2)", "layer 5 (the residual stream after block 1)",
 * "layer 4": where row l of st sits, for sentences. Returns buf. */
const char *fanin__verdict_where(const fanin__run_view *r, const fanin__layer_stats *st, int l,
                                 char *buf, size_t len);
/* Why a residual stream grows (dir > 0) or shrinks: each block adds alpha * F(x) to x. */
void fanin__verdict_stream_cause(fanin__run_view *r, int dir);

/* ---- verdict_pad.c: zero padding on small maps ---- */

/* The factor by which zero padding alone multiplies the activation std from row `first`'s
 * output (a hidden weight layer) to row `last`'s, expected from the conv layers' geometry and map
 * sizes (layers.csv); 1 when no conv pads; NaN when the geometry is
 * unknown. *map: the smallest padded input map's side (0: none). */
double fanin__verdict_pad_ratio(const fanin__layer_stats *s0, int first, int last, int *map);

#endif /* FANIN_RUN_VERDICT_H */
