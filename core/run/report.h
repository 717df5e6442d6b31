/* report.html (report.c) and its inline SVG charts (report_svg.c). */
#ifndef FANIN_RUN_REPORT_H
#define FANIN_RUN_REPORT_H

#include "engine/diag.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>

/* The self-contained report of a run set: tables, charts and verdicts. */
int fanin__report_write(const fanin__runset *s, const char *path, char *err, size_t errlen);

/* ---- report_sweep.c: the views of a sweep (configurations, axes, mean curves) ---- */

/* Configurations drawn one by one in the curve and depth charts at most; the others join the
 * chart as thin grey lines (and the histograms leave them out). */
#define FANIN_REPORT_MAX_SHOWN 12

/* "Sweep" section: the compared figure against one swept axis with error bars, or a heatmap
 * over two (one per value of the other axes for more, at most 8). Nothing without an axis. */
void fanin__report_axes(FILE *f, const fanin__runset *s);
/* "Training curves": one line per configuration, the mean over its runs with a min-max band
 * when it has several. */
void fanin__report_curves(FILE *f, const fanin__runset *s);
/* Activation std and gradients against depth (against the block for residual nets), one line
 * per configuration (the mean over its runs). */
void fanin__report_depth(FILE *f, const fanin__runset *s);
/* ---- report_coord.c: width as an axis ---- */

/* "Coordinate check" (mean |activation| against width per layer, log-log, a chart per drawn
 * iteration, one row per value of the other swept keys) and "Learning rate against width"
 * (final training loss against log2 lr, a curve per width), each with its verdicts
 * (verdict_width.c); nothing when the runs have no such panels. */
void fanin__report_width(FILE *f, const fanin__runset *s);

/* ---- report_sure.c ---- */

/* One row per configuration in `order` (fanin__groups_ranked): runs, each figure's mean ±
 * std with its min-max and 95% interval, the test set's SE, the verdicts' flags. */
void fanin__report_configurations(FILE *f, const fanin__runset *s, const int *order);
/* "How sure?": the compared figure's intervals (chart) and the overlap sentences. */
void fanin__report_how_sure(FILE *f, const fanin__runset *s);

/* Is configuration g (an index in s->groups) drawn in colour? The best and the worst of the
 * ranking when there are more than FANIN_REPORT_MAX_SHOWN. rank: the group's place in
 * fanin__groups_ranked's order. */
bool fanin__report_shown(const fanin__runset *s, int rank);

/* ---- report_svg.c: charts as inline SVG ---- */
typedef struct fanin__series {
    const char *name;
    const double *x, *y; /* n points; non-finite (or non-positive on a log axis) are skipped */
    int n;
    int color; /* palette index */
    bool dashed, markers;
    const double *lo, *hi; /* may be NULL: a band (or error bars) from lo[j] to hi[j] */
    bool bars;             /* lo/hi as error bars at each point, not a shaded band */
    bool muted;            /* a thin grey line without a legend entry (context, not subject) */
} fanin__series;

typedef struct fanin__chart {
    const char *title, *xlabel, *ylabel;
    int width, height;
    int ylog;          /* 1 log, 0 linear, -1 decide: log when positive values span > 1 decade */
    bool integer_x;    /* ticks at integers (layer numbers) */
    double ymin, ymax; /* fixed range when ymax > ymin, else from the data */
    bool legend;
    const char *const *xnames; /* may be NULL: x is 0..n_xnames-1, ticks named (categories) */
    int n_xnames;
    int xlog; /* 1: log x axis (a swept learning rate) */
} fanin__chart;

void fanin__svg_chart(FILE *f, const fanin__chart *c, const fanin__series *s, int n);
/* A heatmap: a figure over two swept axes, one coloured cell per (row, column), the value
 * written in the cell when it fits, a colour bar at the right. Reusable for any grid (e.g. the
 * edge-of-chaos phase diagram: sigma_w^2 x depth, the cell the final train accuracy). */
typedef struct fanin__heatmap {
    const char *title, *xlabel, *ylabel, *value_label;
    int n_rows, n_cols;
    const char *const *row_names; /* [n_rows], drawn top to bottom */
    const char *const *col_names; /* [n_cols], left to right */
    const double *v;              /* [n_rows * n_cols] row-major; NaN: an empty (grey) cell */
    const char *const *marks;     /* may be NULL; [n_rows * n_cols] text shown instead of the
                                   * value when non-NULL and non-empty ("diverged") */
    bool percent;                 /* values x 100 with a % */
    double vmin, vmax;            /* the colour scale's range when vmax > vmin, else the data's */
} fanin__heatmap;

void fanin__svg_heatmap(FILE *f, const fanin__heatmap *h);
/* The colour of t in [0, 1] on a perceptually uniform dark-blue-to-yellow scale (viridis,
 * van der Walt & Smith 2015, sampled at 9 points and interpolated) into b (8 bytes). */
void fanin__svg_scale_color(double t, char b[8]);

/* One configuration's figure with its 95% interval, for fanin__svg_intervals. */
typedef struct fanin__interval {
    const char *name;
    double mean, lo, hi; /* lo, hi NaN: a dot only */
    int color;           /* palette index */
    bool dashed;         /* the test set's interval (one run), not the seeds' */
} fanin__interval;

/* A dot-and-whisker chart: one row per configuration, its mean as a dot and its interval as a
 * bar, on one shared x axis (values x 100 with a % when percent). */
void fanin__svg_intervals(FILE *f, const char *title, const char *xlabel, const fanin__interval *v,
                          int n, bool percent);
/* One histogram (counts over [lo, hi]) as a small filled step plot; a second (may be NULL) is
 * overlaid as a line. */
void fanin__svg_hist(FILE *f, const char *title, const fanin__hist *a, const fanin__hist *b,
                     int width, int height);
/* The palette colour i (cycled), as "#rrggbb". */
const char *fanin__svg_color(int i);
/* Text with &, <, >, " escaped for HTML/SVG. */
void fanin__html_text(FILE *f, const char *s);

#endif /* FANIN_REPORT_H */
