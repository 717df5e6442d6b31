/* The edge of chaos (Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli 2016, "Exponential
 * expressivity in deep neural networks through transient chaos", eq. 3-6; Schoenholz, Gilmer,
 * Ganguli & Sohl-Dickstein 2017, "Deep Information Propagation", eq. 3-9): for a wide network
 * with W ~ N(0, sigma_w2 / fan_in), b ~ N(0, sigma_b2), the pre-activation variance follows
 *   q_l = sigma_w2 E_z[phi(sqrt(q_{l-1}) z)^2] + sigma_b2,
 * and perturbations grow by chi_1 = sigma_w2 E_z[phi'(sqrt(q*) z)^2] per layer. Critical:
 * chi_1 = 1 at the fixed point q*. Expectations by Gauss-Hermite quadrature (128 nodes) calling
 * the activation plugin's forward and backward in float32; nothing here knows an activation.
 */
#include "api/critical.h"
#include "base/errors.h"
#include "plugin/host.h"

#include <math.h>
#include <string.h>

#define N FANIN_CRITICAL_NODES
#define Q_LO 1e-6
#define Q_HI 1e6
#define GRID 241 /* log-spaced q for the scan: 20 a decade */

/* Probabilists' Gauss-Hermite nodes z and weights w (sum 1) for E over N(0, 1): the
 * physicists' rule for exp(-x^2) by Newton's method on the orthonormal recurrence (Numerical
 * Recipes 3rd ed., 4.6, gauher), then z = sqrt(2) x, w = w_x / sqrt(pi). */
static void hermite_rule(double *z, double *w) {
    const double pim4 = 0.7511255444649425; /* pi^(-1/4) */
    double x = 0.0, pp = 0.0;
    for (int i = 0; i < N / 2; i++) {
        if (i == 0) x = sqrt(2.0 * N + 1) - 1.85575 * pow(2.0 * N + 1, -0.16667);
        else if (i == 1) x -= 1.14 * pow((double)N, 0.426) / x;
        else if (i == 2) x = 1.86 * x - 0.86 * z[0] / sqrt(2.0);
        else if (i == 3) x = 1.91 * x - 0.91 * z[1] / sqrt(2.0);
        else x = 2.0 * x - z[i - 2] / sqrt(2.0);
        for (int it = 0; it < 100; it++) {
            double p1 = pim4, p2 = 0.0, p3;
            for (int j = 0; j < N; j++) { /* orthonormal Hermite recurrence */
                p3 = p2;
                p2 = p1;
                p1 = x * sqrt(2.0 / (j + 1)) * p2 - sqrt((double)j / (j + 1)) * p3;
            }
            pp = sqrt(2.0 * N) * p2;
            double dx = p1 / pp;
            x -= dx;
            if (fabs(dx) <= 3e-14 * fabs(x)) break;
        }
        z[i] = sqrt(2.0) * x, z[N - 1 - i] = -z[i];
        w[i] = w[N - 1 - i] = 2.0 / (pp * pp) / sqrt(M_PI);
    }
}

/* e[0..2] as fanin__critical_expect, without judging them */
static int expect_raw(const fanin__pref *act, double q, double e[3], char *err, size_t errlen) {
    double z[N], w[N];
    hermite_rule(z, w); /* ~0.1 ms: recomputed rather than cached, so any thread may call */
    float x[N], y[N], one[N], d[N];
    for (int i = 0; i < N; i++) x[i] = (float)(sqrt(q) * z[i]), one[i] = 1.0f;
    const fanin_activation_vt *vt = act->entry->plugin->vtable;
    fanin_ctx ctx;
    fanin__ctx_init(&ctx, act->entry, 1.0);
    int rc = vt->forward(&ctx, x, y, N, act->params);
    if (rc == FANIN_OK) rc = vt->backward(&ctx, x, y, one, d, N, act->params);
    if (rc < 0) return fanin__ctx_fail(&ctx, rc, "forward/backward", err, errlen);
    e[0] = e[1] = e[2] = 0.0;
    for (int i = 0; i < N; i++) {
        e[0] += w[i] * (double)y[i] * y[i];
        e[1] += w[i] * (double)d[i] * d[i];
        e[2] += w[i] * z[i] * (double)y[i] * d[i];
    }
    return FANIN_OK;
}

int fanin__critical_expect(const fanin__pref *act, double q, double e[3], char *err,
                           size_t errlen) {
    int rc = expect_raw(act, q, e, err, errlen);
    if (rc == FANIN_OK && (!(e[1] > 0.0) || !isfinite(e[0]) || !isfinite(e[1])))
        return fanin__errf(err, errlen, FANIN_EINVAL,
                           "activation '%s': E[phi'^2] = %g at q = "
                           "%g; a critical point needs a non-zero, finite derivative",
                           act->entry->plugin->name, e[1], q);
    return rc;
}

/* f(q) = E[phi^2]/E[phi'^2] + sigma_b2 - q: zero at the critical fixed point; NaN where
 * E[phi'^2] is 0 or not finite in float32 (tanh saturated at large q: the scan stops). */
static int gap(const fanin__pref *act, double sb2, double q, double *f, char *err, size_t len) {
    double e[3];
    int rc = expect_raw(act, q, e, err, len);
    *f = e[1] > 0.0 && isfinite(e[0]) && isfinite(e[1]) ? e[0] / e[1] + sb2 - q : NAN;
    return rc;
}

/* The smallest grid cell [a, b] where f goes from > 0 to <= 0: returns 1; 2 when the first
 * value beyond noise (|f| > 1e-6 q) is negative (q* = 0: tanh with sigma_b2 = 0, whose
 * critical point is sigma_w2 = 1 / phi'(0)^2 at q* -> 0); 0 when none. Sets *flat when
 * |f| <= 1e-6 q everywhere (a scale-invariant activation with sigma_b2 = 0). The tolerances
 * are the plugin's float32 noise. */
static int bracket(const fanin__pref *act, double sb2, double *a, double *b, int *flat, char *err,
                   size_t len) {
    double prev = 0.0, qp = 0.0;
    int pos = 0; /* f was above the noise somewhere */
    for (int k = 0; k < GRID; k++) {
        double q = Q_LO * pow(Q_HI / Q_LO, (double)k / (GRID - 1)), f;
        int rc = gap(act, sb2, q, &f, err, len);
        if (rc < 0) return rc;
        if (isnan(f)) break;
        if (!pos && f < -1e-6 * q) return 2;
        pos |= f > 1e-6 * q;
        if (k > 0 && prev > 1e-6 * qp && f <= 0.0) {
            *a = qp, *b = q;
            return 1;
        }
        prev = f, qp = q;
    }
    *flat = !pos; /* (a value below the noise would have returned 1 or 2) */
    return 0;
}

/* chi_1, xi_q, xi_c at (sigma_w2, q) (xi = -1/log chi; infinite at chi = 1) */
static int depth_scales(const fanin__pref *act, fanin__critical *c, char *err, size_t len) {
    double e[3];
    int rc = fanin__critical_expect(act, c->q_star, e, err, len);
    if (rc < 0) return rc;
    c->chi1 = c->sigma_w2 * e[1];
    double chi_q = c->sigma_w2 * e[2] / sqrt(c->q_star);
    c->xi_q = chi_q == 1.0 ? INFINITY : -1.0 / log(chi_q); /* < 0: q* repels (gelu) */
    c->xi_c = fabs(c->chi1 - 1.0) < 1e-9 ? INFINITY : -1.0 / log(c->chi1);
    return FANIN_OK;
}

int fanin__critical_solve(const fanin__pref *act, double sigma_b2, fanin__critical *out, char *err,
                          size_t errlen) {
    memset(out, 0, sizeof *out);
    out->sigma_b2 = sigma_b2;
    out->q_star = NAN;
    double a = 0, b = 0, fm, e[3];
    int flat, rc = bracket(act, sigma_b2, &a, &b, &flat, err, errlen);
    if (rc < 0) return rc;
    if (rc == 0) { /* no crossing: report the chi_1 = 1 weight variance at q = 1 */
        out->status = flat ? FANIN_CRITICAL_ANY_Q : FANIN_CRITICAL_NONE;
        if ((rc = fanin__critical_expect(act, 1.0, e, err, errlen)) < 0) return rc;
        out->sigma_w2 = 1.0 / e[1];
        out->chi1 = 1.0;
        out->xi_q = out->xi_c = INFINITY;
        return FANIN_OK;
    }
    if (rc == 2) { /* q* = 0: chi_1 and chi_q at the grid's first q */
        out->q_star = 0.0;
        if ((rc = fanin__critical_expect(act, Q_LO, e, err, errlen)) < 0) return rc;
        out->sigma_w2 = 1.0 / e[1];
        fanin__critical c = *out;
        c.q_star = Q_LO;
        rc = depth_scales(act, &c, err, errlen);
        out->chi1 = c.chi1, out->xi_q = c.xi_q, out->xi_c = c.xi_c;
        return rc;
    }
    for (int it = 0; it < 200 && b - a > 1e-12 * b; it++) { /* bisection in log q */
        double m = sqrt(a * b);
        if ((rc = gap(act, sigma_b2, m, &fm, err, errlen)) < 0) return rc;
        if (fm > 0.0) a = m;
        else b = m;
    }
    out->q_star = sqrt(a * b);
    if ((rc = fanin__critical_expect(act, out->q_star, e, err, errlen)) < 0) return rc;
    out->sigma_w2 = 1.0 / e[1];
    return depth_scales(act, out, err, errlen);
}
