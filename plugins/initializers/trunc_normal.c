/* trunc_normal: W ~ N(mean, s^2) conditioned on [lo, hi], drawn by rejection (host service).
 * bounds: absolute (PyTorch trunc_normal_(mean=0, std=1, a=-2, b=2): lo = a, hi = b) or std
 * (Keras TruncatedNormal / JAX truncated_normal: lo = mean + a*s, hi = mean + b*s).
 * s = std, or with correct_variance the s whose truncated std equals `std` (std units: s =
 * std / sd(alpha, beta); absolute: solved by bisection). Neither framework corrects by default.
 * Truncated moments: Z = Phi(beta)-Phi(alpha), mean += s (phi(alpha)-phi(beta))/Z,
 * var = s^2 [1 + (alpha phi(alpha) - beta phi(beta))/Z - ((phi(alpha)-phi(beta))/Z)^2].
 */
#include <fanin/plugin.h>
#include <math.h>

#include "init_common.h"

enum { P_MEAN, P_STD, P_A, P_B, P_BOUNDS, P_CORRECT_VARIANCE };
enum { BOUNDS_ABSOLUTE, BOUNDS_STD }; /* index into bounds[] */

#define SQRT2 1.4142135623730950488
#define INV_SQRT_2PI 0.39894228040143267794

/* mean shift and std factor of N(0,1) truncated to [al, be] (Johnson, Kotz & Balakrishnan) */
static void tn_unit(double al, double be, double *shift, double *sd) {
    double pa = isinf(al) ? 0.0 : exp(-0.5 * al * al) * INV_SQRT_2PI;
    double pb = isinf(be) ? 0.0 : exp(-0.5 * be * be) * INV_SQRT_2PI;
    double z = al > 0 ? 0.5 * (erfc(al / SQRT2) - erfc(be / SQRT2)) /* tails: no 1-1 */
                      : 0.5 * (erfc(-be / SQRT2) - erfc(-al / SQRT2));
    double apa = isinf(al) ? 0.0 : al * pa, bpb = isinf(be) ? 0.0 : be * pb;
    *shift = (pa - pb) / z;
    *sd = sqrt(fmax(0.0, 1.0 + (apa - bpb) / z - *shift * *shift));
}

/* the s to draw with, and [lo, hi] in absolute units */
static int resolve(fanin_ctx *ctx, const fanin_value *p, double *s, double *lo, double *hi) {
    double mean = p[P_MEAN].f, std = p[P_STD].f, a = p[P_A].f, b = p[P_B].f, shift, sd;
    if (!(a < b))
        return FANIN_HOST->error(ctx, FANIN_EINVAL, "a = %g must be less than b = %g", a, b);
    *s = std;
    if (p[P_BOUNDS].e == BOUNDS_STD) { /* std units: the factor depends on a, b only */
        if (p[P_CORRECT_VARIANCE].b) {
            tn_unit(a, b, &shift, &sd);
            *s = std / sd;
        }
        *lo = mean + a * *s;
        *hi = mean + b * *s;
        return FANIN_OK;
    }
    *lo = a;
    *hi = b;
    if (!p[P_CORRECT_VARIANCE].b) return FANIN_OK;
    double top = (b - a) / sqrt(12.0); /* s -> inf: the truncated std tends to the uniform's */
    if (std >= top)
        return FANIN_HOST->error(ctx, FANIN_EINVAL,
                                 "correct_variance: std %g is not reachable "
                                 "on [%g, %g] (at most %g)",
                                 std, a, b, top);
    double l = std, h = std; /* the truncated std grows with s: bracket, then bisect */
    for (tn_unit((a - mean) / h, (b - mean) / h, &shift, &sd); h * sd < std && h < 1e300;) {
        h *= 2.0;
        tn_unit((a - mean) / h, (b - mean) / h, &shift, &sd);
    }
    for (int i = 0; i < 200 && l < h; i++) {
        double m = 0.5 * (l + h);
        tn_unit((a - mean) / m, (b - mean) / m, &shift, &sd);
        *(m * sd < std ? &l : &h) = m;
    }
    *s = 0.5 * (l + h);
    return FANIN_OK;
}

static int fill(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, fanin_rng *rng) {
    double s, lo, hi;
    int rc = resolve(ctx, p, &s, &lo, &hi);
    if (rc == FANIN_OK && init_size(t) > 0)
        FANIN_HOST->rng_trunc_normal(rng, t->data, init_size(t), p[P_MEAN].f, s, lo, hi);
    return rc;
}

static int moments(fanin_ctx *ctx, const fanin_tensor *t, const fanin_value *p, double *mean,
                   double *std) {
    double s = 0, lo = 0, hi = 0, shift, sd;
    int rc = resolve(ctx, p, &s, &lo, &hi);
    tn_unit((lo - p[P_MEAN].f) / s, (hi - p[P_MEAN].f) / s, &shift, &sd);
    *mean = p[P_MEAN].f + s * shift;
    *std = s * sd;
    return rc;
}

static const char *const bounds[] = {"absolute", "std", NULL};

static const fanin_param_spec schema[] = {
    {.name = "mean",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 0.0,
     .doc = "mean of the normal before truncation"},
    {.name = "std",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_MIN_EXCL | FANIN_PARAM_NO_MAX,
     .def = 1.0,
     .min = 0.0,
     .doc = "std of the normal before truncation (PyTorch 1, Keras 0.05, JAX 0.01)"},
    {.name = "a",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = -2.0,
     .doc = "lower cut, in the units `bounds` says"},
    {.name = "b",
     .type = FANIN_PARAM_F64,
     .flags = FANIN_PARAM_NO_MIN | FANIN_PARAM_NO_MAX,
     .def = 2.0,
     .doc = "upper cut (> a)"},
    {.name = "bounds",
     .type = FANIN_PARAM_ENUM,
     .def = BOUNDS_ABSOLUTE,
     .choices = bounds,
     .doc = "absolute values (PyTorch, Flux) or multiples of std around mean (Keras, JAX)"},
    {.name = "correct_variance",
     .type = FANIN_PARAM_BOOL,
     .def = 0.0,
     .max = 1.0,
     .doc = "widen the normal so the truncated result has std `std` (off in every framework)"},
    {0},
};

FANIN_INITIALIZER(trunc_normal, "trunc_normal", "1.0.0",
                  "N(mean, std^2) cut to [a, b] (torch trunc_normal_; bounds: std as Keras)",
                  schema, fill, moments);
