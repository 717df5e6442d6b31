/* Charts for report.html as inline SVG: line charts with ticked, labelled axes (linear or log),
 * a legend, and small histograms. No script, no fonts fetched: the browser's sans-serif.
 */
#include "run/report.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Okabe & Ito's colour-blind-safe palette, then a few more */
static const char *const palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00",
                                      "#56b4e9", "#000000", "#f0e442", "#8c564b", "#7f7f7f"};

const char *fanin__svg_color(int i) {
    int n = (int)(sizeof palette / sizeof palette[0]);
    return palette[((i % n) + n) % n];
}

void fanin__html_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

typedef struct axis {
    double lo, hi; /* data range (log10 of it on a log axis) */
    bool log;
    double p0, p1; /* pixel positions of lo and hi */
} axis;

static double to_px(const axis *a, double v) {
    double t = a->log ? log10(v) : v;
    return a->p0 + (t - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

static bool usable(const axis *a, double v) { return isfinite(v) && (!a->log || v > 0); }

/* A "nice" step (1, 2 or 5 times a power of ten) giving about `want` ticks over span. */
static double nice_step(double span, int want) {
    double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void fmt_tick(char *b, double v, bool log) {
    if (log) {
        double e = round(v);
        if (e >= -2 && e <= 3) snprintf(b, 24, "%g", pow(10, e));
        else snprintf(b, 24, "1e%d", (int)e);
    } else if (v != 0 && (fabs(v) < 1e-4 || fabs(v) >= 1e5)) snprintf(b, 24, "%.2g", v);
    else snprintf(b, 24, "%.4g", fabs(v) < 1e-12 * (fabs(v) + 1) ? 0 : v);
}

/* Data range of x or y over all series; returns false when empty. */
static bool range(const fanin__series *s, int n, bool y, bool log, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++) {
            double v[3] = {y ? s[i].y[j] : s[i].x[j], NAN, NAN};
            if (y && s[i].lo && s[i].hi) v[1] = s[i].lo[j], v[2] = s[i].hi[j];
            for (int k = 0; k < 3; k++) {
                if (!isfinite(v[k]) || (log && v[k] <= 0)) continue;
                *lo = fmin(*lo, log ? log10(v[k]) : v[k]);
                *hi = fmax(*hi, log ? log10(v[k]) : v[k]);
            }
        }
    if (*lo > *hi) return false;
    if (*hi - *lo < 1e-12) {
        *lo -= log ? 0.5 : fabs(*lo) * 0.1 + 0.5;
        *hi += log ? 0.5 : fabs(*hi) * 0.1 + 0.5;
    }
    return true;
}

static int decide_log(const fanin__chart *c, const fanin__series *s, int n) {
    if (c->ylog >= 0) return c->ylog;
    double lo, hi; /* over the positive values: zeros are left out of a log chart */
    if (!range(s, n, true, true, &lo, &hi)) return 0;
    return hi - lo > 1;
}

static void ticks_y(FILE *f, const axis *a, double x0, double x1) {
    char b[24];
    double step = a->log ? fmax(1, ceil((a->hi - a->lo) / 8)) : nice_step(a->hi - a->lo, 5);
    for (double t = ceil(a->lo / step - 1e-9) * step; t <= a->hi + 1e-9 * step; t += step) {
        double y = a->p0 + (t - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
        fmt_tick(b, t, a->log);
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>"
                "<text x='%.1f' y='%.1f' class='tick' text-anchor='end'>%s</text>\n",
                x0, y, x1, y, x0 - 5, y + 4, b);
    }
}

/* Ticks on an x axis; decades on a log one. */
static void ticks_x(FILE *f, const axis *a, double y0, double y1, bool integer) {
    char b[24];
    double step = a->log ? fmax(1, ceil((a->hi - a->lo) / 8)) : nice_step(a->hi - a->lo, 6);
    if (integer && step < 1) step = 1;
    for (double t = ceil(a->lo / step - 1e-9) * step; t <= a->hi + 1e-9 * step; t += step) {
        double x = a->p0 + (t - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
        fmt_tick(b, t, a->log);
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>"
                "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>%s</text>\n",
                x, y0, x, y1, x, y0 + 16, b);
    }
}

/* A shaded band from lo to hi under the line (a closed polygon: lo forwards, hi back). */
static void band(FILE *f, const fanin__series *s, const axis *ax, const axis *ay) {
    fprintf(f, "<polygon fill='%s' fill-opacity='0.18' stroke='none' points='",
            s->muted ? "#999999" : fanin__svg_color(s->color));
    for (int j = 0; j < s->n; j++)
        if (usable(ax, s->x[j]) && usable(ay, s->lo[j]) && usable(ay, s->hi[j]))
            fprintf(f, "%.1f,%.1f ", to_px(ax, s->x[j]), to_px(ay, s->lo[j]));
    for (int j = s->n - 1; j >= 0; j--)
        if (usable(ax, s->x[j]) && usable(ay, s->lo[j]) && usable(ay, s->hi[j]))
            fprintf(f, "%.1f,%.1f ", to_px(ax, s->x[j]), to_px(ay, s->hi[j]));
    fprintf(f, "'/>\n");
}

/* Error bars from lo to hi at each point, with end caps. */
static void bars(FILE *f, const fanin__series *s, const axis *ax, const axis *ay) {
    const char *col = fanin__svg_color(s->color);
    for (int j = 0; j < s->n; j++) {
        if (!usable(ax, s->x[j]) || !usable(ay, s->lo[j]) || !usable(ay, s->hi[j])) continue;
        double x = to_px(ax, s->x[j]), y0 = to_px(ay, s->lo[j]), y1 = to_px(ay, s->hi[j]);
        fprintf(f,
                "<path d='M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8' stroke='%s' "
                "stroke-width='1.5' fill='none'/>\n",
                x, y0, y1, x - 4, y0, x - 4, y1, col);
    }
}

static void polyline(FILE *f, const fanin__series *s, const axis *ax, const axis *ay) {
    const char *col = s->muted ? "#b0b0b0" : fanin__svg_color(s->color);
    if (s->lo && s->hi && !s->bars) band(f, s, ax, ay);
    fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='%s'%s points='", col,
            s->muted ? "1" : "2", s->dashed ? " stroke-dasharray='6 4'" : "");
    for (int j = 0; j < s->n; j++)
        if (usable(ax, s->x[j]) && usable(ay, s->y[j]))
            fprintf(f, "%.1f,%.1f ", to_px(ax, s->x[j]), to_px(ay, s->y[j]));
    fprintf(f, "'/>\n");
    if (s->lo && s->hi && s->bars) bars(f, s, ax, ay);
    for (int j = 0; s->markers && j < s->n; j++)
        if (usable(ax, s->x[j]) && usable(ay, s->y[j]))
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>", to_px(ax, s->x[j]),
                    to_px(ay, s->y[j]), col);
}

static void legend(FILE *f, const fanin__series *s, int n, double x, double y) {
    for (int i = 0, k = 0; i < n; i++) {
        if (s[i].muted) continue;
        double yy = y + 18 * k++;
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='3'%s/>"
                "<text x='%.1f' y='%.1f' class='legend'>",
                x, yy, x + 22, yy, fanin__svg_color(s[i].color),
                s[i].dashed ? " stroke-dasharray='6 4'" : "", x + 28, yy + 4);
        fanin__html_text(f, s[i].name);
        fprintf(f, "</text>\n");
    }
}

/* Does series b lie on a (at least 80% of the points within 0.1%)? Then b hides a: seed.yaml's
 * zeros and normal(std=0.01) runs have the same loss curve to four digits. */
static bool same_points(const fanin__series *a, const fanin__series *b) {
    if (a->n != b->n || a->n == 0) return false;
    int close = 0;
    for (int j = 0; j < a->n; j++)
        close += a->x[j] == b->x[j] &&
                 (fabs(a->y[j] - b->y[j]) <= 1e-3 * (fabs(a->y[j]) + fabs(b->y[j])) ||
                  (isnan(a->y[j]) && isnan(b->y[j])));
    return close >= 0.8 * a->n;
}

/* The legend's width: its longest name at ~6.8 px a character (12 px sans-serif), so short
 * names leave the plot more room. */
static double legend_width(const fanin__series *s, int n) {
    size_t longest = 0;
    for (int i = 0; i < n; i++)
        if (!s[i].muted && strlen(s[i].name) > longest) longest = strlen(s[i].name);
    return fmin(fmax(48 + 6.8 * (double)longest, 100), 280);
}

/* Ticks of a categorical x axis: each name under its position 0..n-1. */
static void ticks_names(FILE *f, const axis *a, double y0, double y1, const char *const *names,
                        int n) {
    int every = n > 12 ? (n + 11) / 12 : 1;
    for (int i = 0; i < n; i += every) {
        double x = to_px(a, i);
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='grid'/>"
                "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>",
                x, y0, x, y1, x, y0 + 16);
        fanin__html_text(f, names[i]);
        fprintf(f, "</text>\n");
    }
}

/* The axes' ranges from the series and the chart's fixed ones; false when there is no data. */
static bool chart_axes(const fanin__chart *c, const fanin__series *s, int n, axis *ax, axis *ay) {
    bool any = range(s, n, false, ax->log, &ax->lo, &ax->hi) &&
               range(s, n, true, ay->log, &ay->lo, &ay->hi);
    if (c->xnames) ax->lo = -0.5, ax->hi = c->n_xnames - 0.5;
    if (c->ymax > c->ymin) {
        ay->lo = ay->log ? log10(c->ymin) : c->ymin;
        ay->hi = ay->log ? log10(c->ymax) : c->ymax;
    }
    if (ay->log) {
        ay->lo = floor(ay->lo);
        ay->hi = ceil(ay->hi);
    } else if (!(c->ymax > c->ymin)) {
        double pad = (ay->hi - ay->lo) * 0.05;
        ay->lo -= pad;
        ay->hi += pad;
    }
    if (ax->log) ax->lo = floor(ax->lo), ax->hi = ceil(ax->hi);
    return any;
}

static void chart_frame(FILE *f, const fanin__chart *c, const axis *ax, const axis *ay, double H) {
    ticks_y(f, ay, ax->p0, ax->p1);
    if (c->xnames) ticks_names(f, ax, ay->p0, ay->p1, c->xnames, c->n_xnames);
    else ticks_x(f, ax, ay->p0, ay->p1, c->integer_x);
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' class='frame'/>\n", ax->p0,
            ay->p1, ax->p1 - ax->p0, ay->p0 - ay->p1);
    fprintf(f, "<text x='%.1f' y='%.1f' class='label' text-anchor='middle'>", (ax->p0 + ax->p1) / 2,
            H - 8);
    fanin__html_text(f, c->xlabel);
    fprintf(f,
            "</text>\n<text x='14' y='%.1f' class='label' text-anchor='middle' "
            "transform='rotate(-90 14 %.1f)'>",
            (ay->p0 + ay->p1) / 2, (ay->p0 + ay->p1) / 2);
    fanin__html_text(f, c->ylabel);
    if (ay->log) fputs(" (log scale)", f);
    fprintf(f, "</text>\n");
}

void fanin__svg_chart(FILE *f, const fanin__chart *c, const fanin__series *series, int n) {
    /* a series drawn exactly over an earlier one is dashed (in the legend too), so both show */
    fanin__series *s = malloc(sizeof *s * (size_t)(n > 0 ? n : 1));
    if (!s) return;
    for (int i = 0; i < n; i++) {
        s[i] = series[i];
        for (int j = 0; j < i && !s[i].dashed && !s[i].muted; j++)
            s[i].dashed = !series[j].muted && same_points(&series[j], &s[i]);
    }
    double W = c->width, H = c->height, left = 70, right = c->legend ? legend_width(s, n) : 20,
           top = 30, bottom = 48;
    axis ax = {0, 1, c->xlog == 1, left, W - right},
         ay = {0, 1, decide_log(c, s, n), H - bottom, top};
    bool any = chart_axes(c, s, n, &ax, &ay);
    fprintf(f, "<svg class='chart' width='%d' height='%d' viewBox='0 0 %d %d'>\n", c->width,
            c->height, c->width, c->height);
    fprintf(f, "<text x='%.1f' y='18' class='title'>", left);
    fanin__html_text(f, c->title);
    fprintf(f, "</text>\n");
    if (!any) {
        fprintf(f, "<text x='%.1f' y='%.1f' class='tick'>no data</text></svg>\n", left, H / 2);
        free(s);
        return;
    }
    chart_frame(f, c, &ax, &ay, H);
    fprintf(f, "<g>\n");
    for (int pass = 0; pass < 2; pass++) /* the grey context first, the subjects over it */
        for (int i = 0; i < n; i++)
            if (s[i].muted == (pass == 0)) polyline(f, &s[i], &ax, &ay);
    fprintf(f, "</g>\n");
    if (c->legend) legend(f, s, n, W - right + 14, top + 8);
    fprintf(f, "</svg>\n");
    free(s);
}

/* The x range over the intervals' ends and means, padded 5%; false when nothing is finite. */
static bool interval_range(const fanin__interval *v, int n, double k, axis *ax) {
    ax->lo = INFINITY;
    ax->hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double x[3] = {v[i].mean, v[i].lo, v[i].hi};
        for (int j = 0; j < 3; j++)
            if (isfinite(x[j])) ax->lo = fmin(ax->lo, k * x[j]), ax->hi = fmax(ax->hi, k * x[j]);
    }
    if (ax->lo > ax->hi) return false;
    double pad = ax->hi - ax->lo > 1e-12 ? 0.05 * (ax->hi - ax->lo) : 0.5;
    ax->lo -= pad;
    ax->hi += pad;
    return true;
}

/* One row: the name at the left, the interval as a bar with end caps, the mean as a dot. */
static void interval_row(FILE *f, const fanin__interval *v, const axis *ax, double k, double y) {
    const char *col = fanin__svg_color(v->color);
    fprintf(f, "<text x='%.1f' y='%.1f' class='legend' text-anchor='end'>", ax->p0 - 10, y + 4);
    fanin__html_text(f, v->name);
    fprintf(f, "</text>\n");
    if (isfinite(v->lo) && isfinite(v->hi)) {
        double x0 = to_px(ax, k * v->lo), x1 = to_px(ax, k * v->hi);
        fprintf(f,
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='3'%s/>"
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>"
                "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>\n",
                x0, y, x1, y, col, v->dashed ? " stroke-dasharray='5 3'" : "", x0, y - 6, x0, y + 6,
                col, x1, y - 6, x1, y + 6, col);
    }
    if (isfinite(v->mean))
        fprintf(f, "<circle cx='%.1f' cy='%.1f' r='5' fill='%s'/>\n", to_px(ax, k * v->mean), y,
                col);
}

void fanin__svg_intervals(FILE *f, const char *title, const char *xlabel, const fanin__interval *v,
                          int n, bool percent) {
    size_t longest = 0;
    for (int i = 0; i < n; i++) longest = strlen(v[i].name) > longest ? strlen(v[i].name) : longest;
    double k = percent ? 100 : 1, left = fmin(fmax(30 + 6.8 * (double)longest, 110), 360);
    double row = 26, top = 34, H = top + row * n + 46, W = 1000;
    axis ax = {0, 1, false, left, W - 30};
    fprintf(f,
            "<svg class='chart' width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f'>\n<text "
            "x='%.1f' y='18' class='title'>",
            W, H, W, H, left);
    fanin__html_text(f, title);
    fprintf(f, "</text>\n");
    if (!interval_range(v, n, k, &ax)) {
        fprintf(f, "<text x='%.1f' y='%.1f' class='tick'>no data</text></svg>\n", left, H / 2);
        return;
    }
    double y1 = top + row * n;
    ticks_x(f, &ax, y1, top - 6, false);
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' class='frame'/>\n", ax.p0,
            top - 6, ax.p1 - ax.p0, y1 - top + 6);
    for (int i = 0; i < n; i++) interval_row(f, &v[i], &ax, k, top + row * i + row / 2 - 3);
    fprintf(f, "<text x='%.1f' y='%.1f' class='label' text-anchor='middle'>", (ax.p0 + ax.p1) / 2,
            H - 8);
    fanin__html_text(f, xlabel);
    fprintf(f, "%s</text>\n</svg>\n", percent ? " (%)" : "");
}

static void hist_path(FILE *f, const fanin__hist *h, double x0, double w, double y0, double hgt,
                      double peak, bool fill, const char *col) {
    fprintf(f, "<polyline points='%.1f,%.1f ", x0, y0);
    for (int b = 0; b < FANIN_HIST_BINS; b++) {
        double y = y0 - hgt * (double)h->count[b] / peak;
        fprintf(f, "%.1f,%.1f %.1f,%.1f ", x0 + w * b / FANIN_HIST_BINS, y,
                x0 + w * (b + 1) / FANIN_HIST_BINS, y);
    }
    fprintf(f, "%.1f,%.1f' fill='%s' fill-opacity='%s' stroke='%s' stroke-width='1.5'/>\n", x0 + w,
            y0, fill ? col : "none", fill ? "0.35" : "0", col);
}

void fanin__svg_hist(FILE *f, const char *title, const fanin__hist *a, const fanin__hist *b,
                     int width, int height) {
    double x0 = 8, w = width - 16, y0 = height - 30, hgt = height - 52;
    int64_t peak = 1;
    for (int i = 0; i < FANIN_HIST_BINS; i++) {
        if (a && a->count[i] > peak) peak = a->count[i];
        if (b && b->count[i] > peak) peak = b->count[i];
    }
    fprintf(f,
            "<svg class='hist' width='%d' height='%d'>\n"
            "<text x='%.0f' y='14' class='htitle'>",
            width, height, x0);
    fanin__html_text(f, title);
    fprintf(f, "</text>\n<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' class='axis'/>\n", x0, y0,
            x0 + w, y0);
    if (a) hist_path(f, a, x0, w, y0, hgt, (double)peak, true, fanin__svg_color(0));
    if (b) hist_path(f, b, x0, w, y0, hgt, (double)peak, false, fanin__svg_color(1));
    const fanin__hist *r = a ? a : b;
    if (r) {
        char lo[24], hi[24];
        fmt_tick(lo, r->lo, false);
        fmt_tick(hi, r->hi, false);
        fprintf(f,
                "<text x='%.1f' y='%.1f' class='tick' text-anchor='start'>%s</text>"
                "<text x='%.1f' y='%.1f' class='tick' text-anchor='end'>%s</text>\n",
                x0, y0 + 14, lo, x0 + w, y0 + 14, hi);
    }
    fprintf(f, "</svg>\n");
}
