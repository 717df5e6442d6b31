/* The comparison table printed after a run: one row per sweep member, best test accuracy
 * first, diverged runs last and marked. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int rank(const fanin__member_result *r) { return r->res.status == FANIN_EDIVERGED; }

static int by_result(const void *pa, const void *pb) {
    const fanin__member_result *a = *(const fanin__member_result *const *)pa;
    const fanin__member_result *b = *(const fanin__member_result *const *)pb;
    if (rank(a) != rank(b)) return rank(a) - rank(b);
    double ta = isnan(a->res.test_acc) ? -a->res.final_loss : a->res.test_acc;
    double tb = isnan(b->res.test_acc) ? -b->res.final_loss : b->res.test_acc;
    if (ta != tb) return ta < tb ? 1 : -1;
    return a->member - b->member;
}

static void print_acc(FILE *f, double acc) {
    if (isnan(acc)) fprintf(f, " %9s", "-");
    else fprintf(f, " %8.2f%%", 100 * acc);
}

void cli_print_table(FILE *f, const fanin__runner *rn, const char *label_header) {
    int n = rn->n_results;
    const fanin__member_result **rows = malloc(sizeof *rows * (size_t)n);
    if (!rows) return;
    for (int i = 0; i < n; i++) rows[i] = &rn->results[i];
    qsort(rows, (size_t)n, sizeof *rows, by_result);
    int w = (int)strlen(label_header);
    for (int i = 0; i < n; i++)
        if ((int)strlen(rows[i]->label) > w) w = (int)strlen(rows[i]->label);
    fprintf(f, "\n%-4s %-*s %12s %9s %9s %8s %8s  %s\n", "#", w, label_header, "final loss",
            "train", "test", "iters", "seconds", "status");
    for (int i = 0; i < n; i++) {
        const fanin__member_result *r = rows[i];
        fprintf(f, "%-4d %-*s %12.6f", r->member, w, r->label, r->res.final_loss);
        print_acc(f, r->res.train_acc);
        print_acc(f, r->res.test_acc);
        fprintf(f, " %8lld %8.2f  %s\n", (long long)r->res.iterations, r->res.seconds,
                r->res.status == FANIN_EDIVERGED ? "DIVERGED" : "done");
    }
    free(rows);
}
