/* softsign: y = x / (1 + |x|); dy/dx = 1 / (1 + |x|)^2 = (1 - |y|)^2. Bergstra et al. 2009;
 * the third activation of Glorot & Bengio 2010 (section 2.3), robust to initialisation;
 * torch.nn.Softsign. PyTorch has no gain: 1/sqrt(E[softsign(z)^2]) (act_common.h), 2.3375.
 * x: [n]; x == y and dy == dx allowed (backward reads y only; 1 - |y| loses relative
 * precision only where the derivative is below ~1e-4, |x| > 100).
 */
#include <fanin/plugin.h>
#include <math.h>

#include "act_common.h"

static double softsign(double x, const fanin_value *p) { return x / (1.0 + fabs(x)); }

static int forward(fanin_ctx *ctx, const float *x, float *y, size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) y[i] = (float)softsign(x[i], p);
    return FANIN_OK;
}

/* forward: y = x / (1 + |x|), so 1 - |y| = 1 / (1 + |x|) */
static int backward(fanin_ctx *ctx, const float *x, const float *y, const float *dy, float *dx,
                    size_t n, const fanin_value *p) {
    for (size_t i = 0; i < n; i++) {
        double r = 1.0 - fabs((double)y[i]);
        dx[i] = (float)(dy[i] * r * r);
    }
    return FANIN_OK;
}

static int gain(const fanin_value *p, double *g) { return act_gain_second_moment(softsign, p, g); }

FANIN_ACTIVATION(act_softsign, "softsign", "1.0.0", "x/(1+|x|) (gain 2.3375)", NULL, forward,
                 backward, gain);
