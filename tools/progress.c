/* Progress while a run works: on a terminal one bar per run redrawn in place (iteration, loss,
 * ETA, the sweep's position); otherwise, or with --quiet, plain line logs. */
#include "cli.h"

#include <math.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_start(void *user, const fanin_experiment *x, const fanin_dataset *d,
                     const fanin__member_result *r) {
    cli_progress *p = user;
    p->started = now_seconds();
    if (p->done == 0) fprintf(stderr, "data: %s\n", d->desc);
    if (!p->quiet && !p->is_tty)
        fprintf(stderr, "[%d/%d] %s: started\n", p->done + 1, p->n_members, r->id);
    p->label = r->id;
}

static void bar(char *out, int width, double frac) {
    int full = (int)(frac * width + 0.5);
    for (int i = 0; i < width; i++) out[i] = i < full ? '#' : '.';
    out[width] = 0;
}

static int on_progress(void *user, const fanin__progress *q) {
    cli_progress *p = user;
    double frac = q->iterations ? (double)q->iteration / (double)q->iterations : 1;
    if (p->is_tty && !p->quiet) {
        char b[31];
        bar(b, 30, frac);
        double eta = frac > 0 ? (now_seconds() - p->started) * (1 - frac) / frac : 0;
        fprintf(stderr, "\r\033[K[%d/%d] %-28.28s %s %lld/%lld loss %.4f ETA %.0fs", p->done + 1,
                p->n_members, p->label, b, (long long)q->iteration, (long long)q->iterations,
                q->loss, eta);
    } else if (!p->quiet) {
        fprintf(stderr, "[%d/%d] %s: iteration %lld/%lld loss %.6f train_acc %.4f test_acc %.4f\n",
                p->done + 1, p->n_members, p->label, (long long)q->iteration,
                (long long)q->iterations, q->loss, q->train_acc, q->test_acc);
    }
    return 0;
}

static void on_end(void *user, const fanin__member_result *r) {
    cli_progress *p = user;
    if (p->is_tty && !p->quiet) fprintf(stderr, "\r\033[K");
    p->done++;
    const char *status = r->res.status == FANIN_EDIVERGED ? "diverged" : "done";
    fprintf(stderr, "[%d/%d] %s: %s, loss %.6f, test accuracy %.4f, %.2fs\n", p->done,
            p->n_members, r->id, status, r->res.final_loss, r->res.test_acc, r->res.seconds);
}

void cli_progress_hooks(cli_progress *p, fanin__run_hooks *h) {
    h->user = p;
    h->on_member_start = on_start;
    h->on_progress = on_progress;
    h->on_member_end = on_end;
}
