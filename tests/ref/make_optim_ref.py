#!/usr/bin/python3
"""Reference values for tests/test_optimizers.c and tests/test_schedule.c: writes optim_ref.h.

Run from this folder with Debian's python3 (python3-torch 1.13, python3-numpy):
    /usr/bin/python3 make_optim_ref.py > optim_ref.h
Optimizers: the problem of make_sgd_ref.py (n = 6 weights, loss 0.5 * sum(c * (w - target)^2),
gradient g = c * (w - target) computed in float32 by the test); each case runs STEPS steps of
the real torch.optim class (float32) and records w after every step.
NAdam and RAdam with decoupled_weight_decay (torch >= 2.1): see run_optimizer.
NAdam: torch 1.13's single-tensor NAdam multiplies mu_t into the next product twice
(mu_product_next = mu_product * mu * mu_next, fixed in pytorch PR #92699); its foreach
implementation computes the formula of the documentation, so the NAdam cases use foreach=True.
Schedules: the lr of each of TOTAL iterations from torch.optim.lr_scheduler (StepLR,
ExponentialLR, CosineAnnealingLR; warmup = SequentialLR of LinearLR(1/N, 1, N-1) and the main
schedule at milestone N), each checked against fanin's closed form before it is written.
"""
import math
import sys
import warnings

import numpy as np
import torch

N, STEPS = 6, 10
W0 = np.array([0.5, -1.25, 2.0, 0.0, -0.3, 1.7], dtype=np.float32)
C = np.array([1.0, 0.5, 2.0, 4.0, 0.25, 1.5], dtype=np.float32)
TARGET = np.array([0.1, 0.2, -0.4, 1.0, 0.0, -2.0], dtype=np.float32)

# fanin name, lr, fanin parameters (torch's betas split into beta1, beta2)
CASES = [
    ("adam", "default", 0.1, {}),
    ("adam", "amsgrad", 0.1, {"amsgrad": True}),
    ("adam", "weight_decay", 0.05, {"weight_decay": 0.1}),
    ("adam", "betas_eps", 0.1, {"beta1": 0.8, "beta2": 0.99, "eps": 1e-3}),
    ("adam", "amsgrad_wd", 0.2, {"amsgrad": True, "weight_decay": 0.05, "beta2": 0.9}),
    ("adamw", "default", 0.1, {}),
    ("adamw", "amsgrad_wd", 0.1, {"amsgrad": True, "weight_decay": 0.3}),
    ("adamw", "no_decay", 0.05, {"weight_decay": 0.0, "beta1": 0.5}),
    ("rmsprop", "default", 0.01, {}),
    ("rmsprop", "centered", 0.01, {"centered": True}),
    ("rmsprop", "momentum", 0.01, {"momentum": 0.9}),
    ("rmsprop", "centered_momentum", 0.02, {"centered": True, "momentum": 0.5, "alpha": 0.9}),
    ("rmsprop", "weight_decay_eps", 0.01, {"weight_decay": 0.1, "eps": 1e-2}),
    ("adagrad", "default", 0.1, {}),
    ("adagrad", "lr_decay", 0.5, {"lr_decay": 0.1}),
    ("adagrad", "accumulator", 0.3, {"initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("adagrad", "weight_decay", 0.2, {"weight_decay": 0.05, "lr_decay": 0.01}),
    ("adadelta", "default", 1.0, {}),
    ("adadelta", "rho_wd", 2.0, {"rho": 0.5, "weight_decay": 0.1}),
    ("adadelta", "eps", 0.5, {"eps": 1e-3}),
    ("adamax", "default", 0.1, {}),
    ("adamax", "betas_wd", 0.05, {"beta1": 0.5, "beta2": 0.9, "weight_decay": 0.1}),
    ("adamax", "eps", 0.2, {"eps": 0.1}),
    ("nadam", "default", 0.1, {}),
    ("nadam", "momentum_decay", 0.05, {"momentum_decay": 0.1}),
    ("nadam", "wd_betas", 0.1, {"weight_decay": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-4}),
    ("nadam", "decoupled", 0.1, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("nadam", "decoupled_betas", 0.05, {"weight_decay": 0.5, "decoupled_weight_decay": True,
                                        "beta1": 0.8, "momentum_decay": 0.1}),
    ("radam", "default", 0.1, {}),
    ("radam", "beta2_short", 0.1, {"beta2": 0.9}),
    ("radam", "wd_eps", 0.05, {"weight_decay": 0.1, "beta2": 0.8, "eps": 1e-3}),
    ("radam", "decoupled", 0.1, {"weight_decay": 0.2, "decoupled_weight_decay": True,
                                 "beta2": 0.9}),
]

CLASSES = {"adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
           "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam"}

# name, main schedule, warmup, total, its keys (t_max 0 = auto: total - warmup)
SCHEDULES = [
    ("constant", "constant", 0, 20, {}),
    ("constant_warmup", "constant", 5, 20, {}),
    ("step", "step", 0, 20, {"step_size": 6, "gamma": 0.1}),
    ("step_warmup", "step", 3, 20, {"step_size": 4, "gamma": 0.5}),
    ("exponential", "exponential", 0, 20, {"gamma": 0.9}),
    ("exponential_warmup", "exponential", 4, 20, {"gamma": 0.8}),
    ("cosine", "cosine", 0, 20, {"t_max": 0, "eta_min": 0.0}),
    ("cosine_eta_min", "cosine", 0, 20, {"t_max": 12, "eta_min": 0.01}),
    ("cosine_warmup", "cosine", 5, 25, {"t_max": 0, "eta_min": 0.001}),
]
BASE_LR = 0.5


def run_optimizer(name, lr, params):
    """decoupled_weight_decay (torch >= 2.1, absent from 1.13): torch 2.1's _single_tensor_nadam
    and _single_tensor_radam do `param.mul_(1 - lr * weight_decay)` before the update, instead of
    adding weight_decay * param to the gradient; so the step is that multiply, then the 1.13
    class with weight_decay=0 (the rest of torch 2.1's update is 1.13's)."""
    kw = dict(params)
    decoupled = kw.pop("decoupled_weight_decay", False)
    wd = kw.pop("weight_decay", 0.0) if decoupled else 0.0
    if "beta1" in kw or "beta2" in kw:
        kw["betas"] = (kw.pop("beta1", 0.9), kw.pop("beta2", 0.999))
    if name == "nadam":
        kw["foreach"] = True
    w = torch.nn.Parameter(torch.tensor(W0))
    c, target = torch.tensor(C), torch.tensor(TARGET)
    opt = getattr(torch.optim, CLASSES[name])([w], lr=lr, **kw)
    out = []
    for _ in range(STEPS):
        with torch.no_grad():
            w.grad = c * (w - target)
            if decoupled:
                w.mul_(1 - lr * wd)
        opt.step()
        out.append(w.detach().numpy().copy())
    return np.array(out)


def closed_form(kind, warmup, total, keys, i):
    """fanin's schedule (core/schedule.c) in float64."""
    if i < warmup:
        return BASE_LR * (i + 1) / warmup
    j = i - warmup
    if kind == "step":
        return BASE_LR * keys["gamma"] ** (j // keys["step_size"])
    if kind == "exponential":
        return BASE_LR * keys["gamma"] ** j
    if kind == "cosine":
        t_max = keys["t_max"] or total - warmup
        eta = keys["eta_min"]
        return eta + (BASE_LR - eta) * (1 + math.cos(math.pi * j / t_max)) / 2
    return BASE_LR


def run_schedule(kind, warmup, total, keys):
    S = torch.optim.lr_scheduler
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=BASE_LR)
    if kind == "step":
        main = S.StepLR(opt, step_size=keys["step_size"], gamma=keys["gamma"])
    elif kind == "exponential":
        main = S.ExponentialLR(opt, gamma=keys["gamma"])
    elif kind == "cosine":
        main = S.CosineAnnealingLR(opt, T_max=keys["t_max"] or total - warmup,
                                   eta_min=keys["eta_min"])
    else:
        main = S.LambdaLR(opt, lambda e: 1.0)
    sched = main
    if warmup > 0:
        ramp = S.LinearLR(opt, start_factor=1.0 / warmup, end_factor=1.0,
                          total_iters=warmup - 1)
        sched = S.SequentialLR(opt, [ramp, main], milestones=[warmup])
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def c_floats(values):
    return "{" + ", ".join("%.9g" % v for v in values) + "}"


def print_optimizers():
    print("#define OPTIM_REF_N %d" % N)
    print("#define OPTIM_REF_STEPS %d" % STEPS)
    print("#define OPTIM_REF_MAX_SET 6")
    print("static const float optim_ref_w0[OPTIM_REF_N] = %s;" % c_floats(W0))
    print("static const float optim_ref_c[OPTIM_REF_N] = %s;" % c_floats(C))
    print("static const float optim_ref_target[OPTIM_REF_N] = %s;" % c_floats(TARGET))
    print("typedef struct optim_ref_set {")
    print("    const char *name; /* a fanin parameter; NULL ends the list */")
    print("    double value;     /* booleans as 0/1 */")
    print("} optim_ref_set;")
    print("typedef struct optim_ref_case {")
    print("    const char *optimizer, *name;")
    print("    double lr;")
    print("    optim_ref_set set[OPTIM_REF_MAX_SET]; /* parameters that differ from defaults */")
    print("    float w[OPTIM_REF_STEPS][OPTIM_REF_N]; /* w after each step */")
    print("} optim_ref_case;")
    print("static const optim_ref_case optim_ref_cases[] = {")
    for opt, name, lr, params in CASES:
        ref = run_optimizer(opt, lr, params)
        if not np.all(np.isfinite(ref)):
            sys.exit("non-finite values in case %s/%s" % (opt, name))
        sets = ", ".join('{"%s", %r}' % (k, float(v)) for k, v in params.items())
        rows = ",\n      ".join(c_floats(r) for r in ref)
        print('    {"%s", "%s", %r, {%s},\n     {%s}},' % (opt, name, lr, sets, rows))
    print("};")


def print_schedules():
    print("#define SCHED_REF_MAX_TOTAL 32")
    print("static const double sched_ref_base_lr = %r;" % BASE_LR)
    print("typedef struct sched_ref_case {")
    print("    const char *name, *kind;")
    print("    int64_t warmup, total, step_size, t_max; /* t_max 0 = auto */")
    print("    double gamma, eta_min;")
    print("    double lr[SCHED_REF_MAX_TOTAL]; /* the lr of iterations 0 .. total-1 */")
    print("} sched_ref_case;")
    print("static const sched_ref_case sched_ref_cases[] = {")
    for name, kind, warmup, total, keys in SCHEDULES:
        lrs = run_schedule(kind, warmup, total, keys)
        want = [closed_form(kind, warmup, total, keys, i) for i in range(total)]
        if not np.allclose(lrs, want, rtol=1e-12, atol=1e-15):
            sys.exit("torch's %s disagrees with the closed form: %s vs %s" % (name, lrs, want))
        print('    {"%s", "%s", %d, %d, %d, %d, %r, %r,\n     {%s}},' % (
            name, kind, warmup, total, keys.get("step_size", 0), keys.get("t_max", 0),
            float(keys.get("gamma", 0.0)), float(keys.get("eta_min", 0.0)),
            ", ".join("%.17g" % v for v in lrs)))
    print("};")


def main():
    warnings.filterwarnings("ignore", message="The epoch parameter")
    print("/* Generated by tests/ref/make_optim_ref.py from torch %s (torch.optim, "
          "torch.optim.lr_scheduler); do not edit. */" % torch.__version__)
    print("#include <stdint.h>")
    print_optimizers()
    print_schedules()


if __name__ == "__main__":
    main()
