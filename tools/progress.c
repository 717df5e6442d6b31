/* Progress while a run works: on a terminal one bar per run redrawn in place, at most 10 times a
 * second (the sweep's position, iteration, loss, the run's ETA and the whole sweep's), and one
 * summary line per finished run; otherwise, or with --quiet, plain line logs. "[4/6]" is the
 * member's place in the whole sweep, also in a --jobs process running a shard of it; a member
 * that crashed, timed out or failed prints why (its signal, the phase it was in). Updates
 * come from train.log_every, so a large log_every updates the bar rarely. */
#include "cli.h"
#include "base/clock.h"
#include "config/experiment.h"
#include "data/data.h"
#include "engine/train.h"
#include "run/run.h"
#include "run/rundir.h"

#include <stdio.h>
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* "42s", "3m05s", "1h02m" */
static const char *duration(char *b, size_t len, double s) {
    long t = isfinite(s) && s > 0 ? lround(s) : 0;
    if (t < 60) snprintf(b, len, "%lds", t);
    else if (t < 3600) snprintf(b, len, "%ldm%02lds", t / 60, t % 60);
    else snprintf(b, len, "%ldh%02ldm", t / 3600, t % 3600 / 60);
    return b;
}

/* The terminal's width, so the bar never wraps (a wrapped line cannot be redrawn with \r). */
static int columns(void) {
    struct winsize w;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col >= 20) return w.ws_col;
    return 80;
}

static void on_start(void *user, const fanin_experiment *x, const fanin_dataset *d,
                     const fanin__member_result *r) {
    (void)x;
    cli_progress *p = user;
    p->started = fanin__now();
    p->last_draw = 0;
    p->member = r->member;
    if (p->done == 0) fprintf(stderr, "data: %s\n", d->desc);
    if (!p->quiet && !p->is_tty)
        fprintf(stderr, "[%d/%d] %s: started\n", p->member + 1, p->n_members, r->id);
    p->label = r->id;
}

static void bar(char *out, int width, double frac) {
    int full = (int)(frac * width + 0.5);
    for (int i = 0; i < width; i++) out[i] = i < full ? '#' : '.';
    out[width] = 0;
}

/* "NAME 0.8123" or "" when not computed (regression) */
static const char *acc_text(char *b, size_t len, const char *name, double v) {
    if (isfinite(v)) snprintf(b, len, "%s %.4f", name, v);
    else b[0] = 0;
    return b;
}

static void draw(cli_progress *p, const fanin__progress *q, double frac, double t) {
    char b[31], line[512], e1[24], e2[24];
    double elapsed = t - p->started;
    double eta = frac > 0 ? elapsed * (1 - frac) / frac : NAN;
    bar(b, 24, frac);
    int n = snprintf(line, sizeof line, "[%d/%d] %s [%s] %lld/%lld loss %.4f ETA %s", p->member + 1,
                     p->n_members, p->label, b, (long long)q->iteration, (long long)q->iterations,
                     q->loss, frac > 0 ? duration(e1, 24, eta) : "?");
    if (p->n_todo > 1 && frac > 0 && n > 0 && (size_t)n < sizeof line) {
        /* the members still to start take as long as the finished ones did on average (or
         * as this one will, before any finished) */
        double each = p->done ? p->done_seconds / p->done : elapsed / frac;
        double sweep = eta + each * (p->n_todo - p->done - 1);
        snprintf(line + n, sizeof line - (size_t)n, ", sweep %s", duration(e2, 24, sweep));
    }
    int cols = columns() - 1;
    if ((int)strlen(line) > cols) line[cols] = 0;
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    p->last_draw = t;
}

static int on_progress(void *user, const fanin__progress *q) {
    cli_progress *p = user;
    double frac = q->iterations ? (double)q->iteration / (double)q->iterations : 1;
    if (p->quiet) return 0;
    if (p->is_tty) {
        double t = fanin__now();
        if (t - p->last_draw >= 0.1 || q->iteration == 0) draw(p, q, frac, t);
        return 0;
    }
    char a[40], b[40];
    fprintf(stderr, "[%d/%d] %s: iteration %lld/%lld loss %.6f%s%s\n", p->member + 1, p->n_members,
            p->label, (long long)q->iteration, (long long)q->iterations, q->loss,
            acc_text(a, sizeof a, " train_acc", q->train_acc),
            acc_text(b, sizeof b, " test_acc", q->test_acc));
    return 0;
}

static void on_end(void *user, const fanin__member_result *r) {
    cli_progress *p = user;
    if (p->is_tty && !p->quiet) fprintf(stderr, "\r\033[K");
    p->done++;
    p->done_seconds += fanin__now() - p->started;
    const char *status = fanin__summary_status(r->res.status);
    char a[48], t[24];
    if (FANIN_RUN_NO_RESULT(r->res.status)) {
        /* crashed, timeout, failed: why, from its process (the summary row has no room) */
        fprintf(stderr, "[%d/%d] %s: %s: %s\n", r->member + 1, p->n_members, r->id, status,
                r->message);
        return;
    }
    fprintf(stderr, "[%d/%d] %s: %s, loss %.6f%s, %s\n", r->member + 1, p->n_members, r->id, status,
            r->res.final_loss, acc_text(a, sizeof a, ", test accuracy", r->res.test_acc),
            r->res.seconds < 60 ? (snprintf(t, sizeof t, "%.2fs", r->res.seconds), t)
                                : duration(t, sizeof t, r->res.seconds));
}

void cli_progress_hooks(cli_progress *p, fanin__run_hooks *h) {
    h->user = p;
    h->on_member_start = on_start;
    h->on_progress = on_progress;
    h->on_member_end = on_end;
}
