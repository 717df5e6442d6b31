/* The edge of chaos for any activation (critical.c): the mean-field variance map of a deep
 * random network solved by Gauss-Hermite quadrature over the activation plugin's own forward
 * and backward (Poole et al. 2016; Schoenholz et al. 2017). What `fanin init-stats critical`
 * prints; no per-activation table.
 */
#ifndef FANIN_API_CRITICAL_H
#define FANIN_API_CRITICAL_H

#include "config/pref.h"
#include <stddef.h>

/* Gauss-Hermite nodes: E_z[f(z)], z ~ N(0, 1), as sum_i w_i f(z_i). */
#define FANIN_CRITICAL_NODES 128

enum fanin__critical_status {
    FANIN_CRITICAL_FOUND = 0, /* a fixed point q* with chi_1 = 1 */
    FANIN_CRITICAL_NONE = 1,  /* no finite q*: the map grows without bound at chi_1 = 1 (e.g.
                               * relu with sigma_b^2 > 0: its only critical point is (2, 0)) */
    FANIN_CRITICAL_ANY_Q = 2, /* every q is a fixed point (scale invariant, sigma_b^2 = 0) */
};

typedef struct fanin__critical {
    int status;      /* enum fanin__critical_status */
    double sigma_b2; /* given */
    double sigma_w2; /* 1 / E[phi'(sqrt(q*) z)^2]: the critical weight variance (x fan_in) */
    double q_star;   /* fixed point of q = sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2 (NaN if none) */
    double chi1;     /* sigma_w2 E[phi'(sqrt(q*) z)^2]: 1 at the critical point */
    double xi_q;     /* -1 / log(chi_q), chi_q = chi1 + sigma_w2 E[phi'' phi]: q's depth scale
                      * (negative when chi_q > 1: q* repels, e.g. gelu) */
    double xi_c;     /* -1 / log(chi_c), chi_c = chi1 at c* = 1: infinite at criticality */
} fanin__critical;

/* Mean-field expectations at variance q over z ~ N(0, 1), through act's forward and backward:
 * e[0] = E[phi(sqrt(q) z)^2], e[1] = E[phi'(sqrt(q) z)^2], e[2] = E[z phi phi'(sqrt(q) z)]
 * (= sqrt(q) E[phi'^2 + phi phi''] by Stein's lemma: no second derivative needed). */
int fanin__critical_expect(const fanin__pref *act, double q, double e[3], char *err, size_t errlen);

/* The critical point for bias variance sigma_b2 >= 0: solve q = E[phi^2]/E[phi'^2] + sigma_b2
 * for the smallest q* in [1e-6, 1e6] (log-grid scan, then bisection to 1e-12 relative), then
 * sigma_w2 = 1 / E[phi'^2](q*). */
int fanin__critical_solve(const fanin__pref *act, double sigma_b2, fanin__critical *out, char *err,
                          size_t errlen);

#endif /* FANIN_API_CRITICAL_H */
