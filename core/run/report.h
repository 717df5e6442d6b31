/* report.html (report.c) and its inline SVG charts (report_svg.c). */
#ifndef FANIN_RUN_REPORT_H
#define FANIN_RUN_REPORT_H

#include "engine/diag.h"
#include "run/runset.h"

#include <stdbool.h>
#include <stdio.h>

/* The self-contained report of a run set: tables, charts and verdicts. */
int fanin__report_write(const fanin__runset *s, const char *path, char *err, size_t errlen);

/* ---- report_svg.c: charts as inline SVG ---- */
typedef struct fanin__series {
    const char *name;
    const double *x, *y; /* n points; non-finite (or non-positive on a log axis) are skipped */
    int n;
    int color; /* palette index */
    bool dashed, markers;
} fanin__series;

typedef struct fanin__chart {
    const char *title, *xlabel, *ylabel;
    int width, height;
    int ylog;          /* 1 log, 0 linear, -1 decide: log when positive values span > 1 decade */
    bool integer_x;    /* ticks at integers (layer numbers) */
    double ymin, ymax; /* fixed range when ymax > ymin, else from the data */
    bool legend;
} fanin__chart;

void fanin__svg_chart(FILE *f, const fanin__chart *c, const fanin__series *s, int n);
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
