/* A heatmap as inline SVG (report.h, fanin__svg_heatmap): a figure over two swept axes, one
 * coloured cell per pair of values, the value written in the cell when it fits, a colour bar
 * with the scale's ends. The colours are viridis (van der Walt & Smith 2015): uniform in
 * perceived lightness, readable in grey and by colour-blind readers. No script.
 */
#include "run/report.h"

#include <stdbool.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

/* viridis at t = 0, 1/8, ..., 1 as 8-bit RGB (matplotlib's viridis table, entries 0, 32, ...,
 * 224 and 255, rounded; between them linear interpolation, within a few levels of the table) */
static const unsigned char viridis[9][3] = {
    {68, 1, 84},    {72, 36, 117}, {59, 82, 139},  {44, 114, 142}, {33, 145, 140},
    {34, 168, 132}, {94, 201, 98}, {173, 220, 48}, {253, 231, 37},
};

void fanin__svg_scale_color(double t, char b[8]) {
    t = isfinite(t) ? fmin(1, fmax(0, t)) : 0;
    double u = t * 8;
    int i = u >= 8 ? 7 : (int)u;
    double w = u - i;
    int rgb[3];
    for (int k = 0; k < 3; k++)
        rgb[k] = (int)lround(viridis[i][k] * (1 - w) + viridis[i + 1][k] * w);
    snprintf(b, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* "83.4%" or "0.301": a cell's text. */
static void cell_text(char *b, size_t len, double v, bool percent) {
    if (percent) snprintf(b, len, "%.1f%%", 100 * v);
    else snprintf(b, len, "%.3g", v);
}

/* The colour scale's range: the heatmap's own, else the finite values'. */
static bool value_range(const fanin__heatmap *h, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < h->n_rows * h->n_cols; i++)
        if (isfinite(h->v[i])) *lo = fmin(*lo, h->v[i]), *hi = fmax(*hi, h->v[i]);
    if (h->vmax > h->vmin) *lo = h->vmin, *hi = h->vmax;
    if (*lo > *hi) return false;
    if (*hi - *lo < 1e-12) *lo -= 0.5, *hi += 0.5;
    return true;
}

/* One cell at (x, y) of cw x ch: its colour, and its value (or mark) in black or white,
 * whichever reads on it. */
static void heat_cell(FILE *f, const fanin__heatmap *h, int i, double lo, double hi, double x,
                      double y, double cw, double ch) {
    double v = h->v[i], t = (v - lo) / (hi - lo);
    char col[8], text[32];
    const char *mark = h->marks && h->marks[i] && h->marks[i][0] ? h->marks[i] : NULL;
    if (isfinite(v)) fanin__svg_scale_color(t, col);
    else snprintf(col, sizeof col, "#dddddd");
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s' stroke='#fff'>", x, y,
            cw, ch, col);
    fprintf(f, "<title>");
    if (mark) fanin__html_text(f, mark);
    else if (isfinite(v)) cell_text(text, sizeof text, v, h->percent), fputs(text, f);
    else fputs("no value", f);
    fprintf(f, "</title></rect>\n");
    if (cw < 34 || ch < 14) return;
    if (mark) snprintf(text, sizeof text, "%.12s", mark);
    else if (isfinite(v)) cell_text(text, sizeof text, v, h->percent);
    else return;
    fprintf(f,
            "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle' style='fill:%s'>%s</text>\n",
            x + cw / 2, y + ch / 2 + 4, isfinite(v) && t > 0.55 ? "#000" : "#fff", text);
}

/* The colour bar at x0: the scale from lo (bottom) to hi (top) in 20 steps, its ends named. */
static void color_bar(FILE *f, const fanin__heatmap *h, double lo, double hi, double x0, double y0,
                      double H) {
    char col[8], a[32], b[32];
    for (int k = 0; k < 20; k++) {
        fanin__svg_scale_color((k + 0.5) / 20, col);
        fprintf(f, "<rect x='%.1f' y='%.1f' width='14' height='%.1f' fill='%s'/>", x0,
                y0 + H * (19 - k) / 20, H / 20 + 0.5, col);
    }
    cell_text(a, sizeof a, hi, h->percent);
    cell_text(b, sizeof b, lo, h->percent);
    fprintf(f,
            "\n<text x='%.1f' y='%.1f' class='tick'>%s</text><text x='%.1f' y='%.1f' "
            "class='tick'>%s</text>\n",
            x0 + 18, y0 + 10, a, x0 + 18, y0 + H, b);
    fprintf(f, "<text x='%.1f' y='%.1f' class='tick' transform='rotate(90 %.1f %.1f)'>", x0 + 26,
            y0 + 20, x0 + 26, y0 + 20);
    fanin__html_text(f, h->value_label);
    fprintf(f, "</text>\n");
}

/* The names down the left and along the bottom (every k-th when they would crowd). */
static void heat_labels(FILE *f, const fanin__heatmap *h, double left, double top, double cw,
                        double ch) {
    size_t widest = 1;
    for (int c = 0; c < h->n_cols; c++)
        widest = strlen(h->col_names[c]) > widest ? strlen(h->col_names[c]) : widest;
    double need = 6.2 * (double)widest + 6; /* px a column's name takes */
    int er = ch < 12 ? (int)ceil(12 / ch) : 1, ec = cw < need ? (int)ceil(need / cw) : 1;
    for (int r = 0; r < h->n_rows; r += er) {
        fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='end'>", left - 6,
                top + ch * r + ch / 2 + 4);
        fanin__html_text(f, h->row_names[r]);
        fprintf(f, "</text>\n");
    }
    double y = top + ch * h->n_rows + 16;
    for (int c = 0; c < h->n_cols; c += ec) {
        fprintf(f, "<text x='%.1f' y='%.1f' class='tick' text-anchor='middle'>",
                left + cw * c + cw / 2, y);
        fanin__html_text(f, h->col_names[c]);
        fprintf(f, "</text>\n");
    }
}

void fanin__svg_heatmap(FILE *f, const fanin__heatmap *h) {
    size_t longest = 4, widest = 4;
    for (int r = 0; r < h->n_rows; r++)
        longest = strlen(h->row_names[r]) > longest ? strlen(h->row_names[r]) : longest;
    for (int c = 0; c < h->n_cols; c++)
        widest = strlen(h->col_names[c]) > widest ? strlen(h->col_names[c]) : widest;
    double left = fmin(40 + 6.5 * (double)longest, 260), top = 34;
    /* a column as wide as its name (11 px sans-serif: ~6.2 px a character), within reason */
    double cw = fmax(8, fmin(fmax(80, 6.2 * (double)widest + 10),
                             820.0 / (h->n_cols ? h->n_cols : 1)));
    double ch = fmax(6, fmin(32, 420.0 / (h->n_rows ? h->n_rows : 1)));
    double W = left + cw * h->n_cols + 90, H = top + ch * h->n_rows + 50, lo, hi;
    fprintf(f, "<svg class='chart' width='%.0f' height='%.0f' viewBox='0 0 %.0f %.0f'>\n", W, H, W,
            H);
    fprintf(f, "<text x='%.1f' y='18' class='title'>", left);
    fanin__html_text(f, h->title);
    fprintf(f, "</text>\n");
    if (!value_range(h, &lo, &hi)) {
        fprintf(f, "<text x='%.1f' y='%.1f' class='tick'>no data</text></svg>\n", left, H / 2);
        return;
    }
    for (int r = 0; r < h->n_rows; r++)
        for (int c = 0; c < h->n_cols; c++)
            heat_cell(f, h, r * h->n_cols + c, lo, hi, left + cw * c, top + ch * r, cw, ch);
    heat_labels(f, h, left, top, cw, ch);
    color_bar(f, h, lo, hi, left + cw * h->n_cols + 14, top, ch * h->n_rows);
    fprintf(f, "<text x='%.1f' y='%.1f' class='label' text-anchor='middle'>",
            left + cw * h->n_cols / 2, H - 6);
    fanin__html_text(f, h->xlabel);
    fprintf(f,
            "</text>\n<text x='14' y='%.1f' class='label' text-anchor='middle' "
            "transform='rotate(-90 14 %.1f)'>",
            top + ch * h->n_rows / 2, top + ch * h->n_rows / 2);
    fanin__html_text(f, h->ylabel);
    fprintf(f, "</text>\n</svg>\n");
}
