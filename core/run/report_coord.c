/* Width as an axis in report.html: the coordinate check (mean |activation| against width,
 * log-log, a small chart per recorded iteration with a line per layer, one row per value of
 * the other swept keys: the layout of the mup package's plot_coord_data) and the learning-rate
 * transfer (final training loss against log2 lr, one curve per width). The panels and their
 * verdicts come from verdict_width.c; what to read in them: docs/report.md.
 */
#include "run/report.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_STEPS 4 /* iterations drawn per panel: the first, the last judged, two between */

/* The iterations drawn: all when few, else 0, the judged one and evenly between. */
static int pick_steps(const fanin__coord_panel *p, int *out) {
    int last = p->at, k = last + 1 < SHOWN_STEPS ? last + 1 : SHOWN_STEPS;
    for (int i = 0; i < k; i++) out[i] = k > 1 ? (int)lround((double)i * last / (k - 1)) : 0;
    return k;
}

/* The panel's range of positive values over the drawn iterations, so its charts share a y
 * axis; false when there is none. */
static bool panel_range(const fanin__coord_panel *p, const int *steps, int k, double *lo,
                        double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int i = 0; i < k; i++)
        for (int c = 0; c < p->n_layers * p->n_widths; c++) {
            double v = p->v[(size_t)steps[i] * p->n_layers * p->n_widths + c];
            if (isfinite(v) && v > 0) *lo = fmin(*lo, v), *hi = fmax(*hi, v);
        }
    return *lo <= *hi;
}

static void coord_panel(FILE *f, const fanin__coord_panel *p) {
    int steps[SHOWN_STEPS], k = pick_steps(p, steps);
    double x[FANIN_WIDTH_MAX], lo, hi;
    char names[FANIN_WIDTH_MAX_LAYERS][24], title[48], xlabel[64];
    fanin__series se[FANIN_WIDTH_MAX_LAYERS];
    bool any = panel_range(p, steps, k, &lo, &hi);
    for (int w = 0; w < p->n_widths; w++) x[w] = log2(p->width[w]);
    snprintf(xlabel, sizeof xlabel, "log2 width (%g to %g)", p->width[0],
             p->width[p->n_widths - 1]);
    fprintf(f, "<p><b>");
    fanin__html_text(f, p->name[0] ? p->name : "all runs");
    fprintf(f, "</b></p><div class='row'>\n");
    for (int i = 0; i < k; i++) {
        for (int l = 0; l < p->n_layers; l++) {
            snprintf(names[l], sizeof names[l], "layer %d%s", p->layer[l],
                     p->layer[l] == p->out_layer ? " (output)" : "");
            se[l] = (fanin__series){.name = names[l],
                                    .x = x,
                                    .y = &p->v[((size_t)steps[i] * p->n_layers + l) * p->n_widths],
                                    .n = p->n_widths,
                                    .color = l,
                                    .markers = true};
        }
        snprintf(title, sizeof title, "iteration %d", steps[i]);
        bool last = i == k - 1;
        fanin__chart c = {.title = title,
                          .xlabel = xlabel,
                          .ylabel = "mean |activation|",
                          .width = last ? 340 : 250,
                          .height = 230,
                          .ylog = 1,
                          .integer_x = true,
                          .legend = last};
        if (any) c.ymin = lo, c.ymax = hi * (hi > lo ? 1 : 1.01);
        fanin__svg_chart(f, &c, se, p->n_layers);
    }
    fprintf(f, "</div><p class='verdict'>");
    fanin__html_text(f, p->verdict);
    fprintf(f, "</p>\n");
}

static void coord_section(FILE *f, const fanin__width_view *w) {
    fprintf(f,
            "<h2>Coordinate check</h2><p class='note'>Each weight layer's mean |activation| "
            "over a training batch (layers.csv <code>act_abs_mean</code>, the mup package's "
            "coord_check statistic) against the width of the widest hidden layer, both on log "
            "axes, at the iterations recorded by <code>diagnostics.coord_check</code> "
            "(iteration t is the forward pass after t updates: the mup package's t + 1), the "
            "mean over the seeds. Flat lines: the activations keep their size as the network "
            "widens (what μP promises); lines rising with width: some update grows with width "
            "(the standard parametrization under Adam at a fixed learning rate). The verdict "
            "takes the least-squares slope of log2 mean|activation| on log2 width at the last "
            "drawn iteration, per layer: flat when every |slope| is at most %g (×%.2f per "
            "doubling of width).</p>\n",
            FANIN_COORD_FLAT, pow(2, FANIN_COORD_FLAT));
    for (int i = 0; i < w->n_coord; i++) coord_panel(f, &w->coord[i]);
}

static void lr_panel(FILE *f, const fanin__lr_panel *p) {
    double x[FANIN_WIDTH_MAX];
    char names[FANIN_WIDTH_MAX][32];
    fanin__series se[FANIN_WIDTH_MAX];
    for (int j = 0; j < p->n_lrs; j++) x[j] = log2(p->lr[j]);
    for (int w = 0; w < p->n_widths; w++) {
        snprintf(names[w], sizeof names[w], "width %g", p->width[w]);
        se[w] = (fanin__series){.name = names[w],
                                .x = x,
                                .y = &p->loss[(size_t)w * p->n_lrs],
                                .n = p->n_lrs,
                                .color = w,
                                .markers = true};
    }
    fanin__chart c = {.title = "Final training loss against learning rate",
                      .xlabel = "log2 learning rate",
                      .ylabel = "final training loss",
                      .width = 560,
                      .height = 320,
                      .ylog = -1,
                      .integer_x = true,
                      .legend = true};
    fprintf(f, "<div style='max-width:%dpx'><p><b>", c.width);
    fanin__html_text(f, p->name[0] ? p->name : "all runs");
    fprintf(f, "</b></p>");
    fanin__svg_chart(f, &c, se, p->n_widths);
    fprintf(f, "<p class='verdict'>");
    fanin__html_text(f, p->verdict);
    fprintf(f, "</p></div>\n");
}

static void lr_section(FILE *f, const fanin__width_view *w) {
    fprintf(f, "<h2>Learning rate against width</h2><p class='note'>The final training loss "
               "(summary.csv's final_loss, the mean over the seeds) against log2 of "
               "<code>optimizer.lr</code>, one curve per width, one chart per value of the "
               "other swept keys: under μP the curves' minima line up (the learning rate tuned "
               "on a narrow model transfers: μTransfer, Tensor Programs V), under the standard "
               "parametrization they drift. Runs that diverged or did not finish are left out "
               "(a curve stops there); the verdict counts them. It calls the minima lined up "
               "when the best learning rates of all widths lie within one step of the "
               "grid.</p>\n<div class='row'>\n");
    for (int i = 0; i < w->n_lr; i++) lr_panel(f, &w->lr[i]);
    fprintf(f, "</div>\n");
}

void fanin__report_width(FILE *f, const fanin__runset *s) {
    fanin__width_view *w = malloc(sizeof *w);
    if (!w || fanin__width_view_make(s, w) < 0) {
        free(w);
        return;
    }
    if (w->n_coord) coord_section(f, w);
    if (w->n_lr) lr_section(f, w);
    if (w->more && (w->n_coord || w->n_lr))
        fprintf(f,
                "<p class='note'>More than %d values of the other swept keys: only the first %d "
                "panels are drawn and judged.</p>\n",
                FANIN_WIDTH_MAX_PANELS, FANIN_WIDTH_MAX_PANELS);
    fanin__width_view_deinit(w);
    free(w);
}
