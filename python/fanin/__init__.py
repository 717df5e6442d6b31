"""fanin from Python: every fanin plugin (initializers, activations, optimizers, your own) on
numpy arrays and PyTorch tensors, and `fanin run` results in a notebook. Pure Python over
ctypes and libfanin's embedding API; see docs/python.md.

    import fanin
    fanin.plugins("initializer")                       # [{"name": ..., "params": [...]}, ...]
    W = fanin.init("he_normal", (256, 128), seed=1)    # float32 [out, in], as PyTorch
    run = fanin.run("seed.yaml", set={"train.iterations": 100})
    run.summary, run.metrics(0), run.layers(0), run.verdicts, run.model(0)
"""
import ctypes as _c
import json as _json

import numpy as _np

from ._lib import FaninError, lib as _clib, session as _session, kv as _kv, reopen as _reopen
from .runs import Run, load, run

__all__ = ["FaninError", "Run", "Activation", "Optimizer", "plugins", "help", "init", "fill",
           "run", "load", "load_plugins", "version"]

_KINDS = {None: 0, "initializer": 1, "activation": 2, "optimizer": 3}
_RNGS = {"philox": 0, "numpy": 1}


def version():
    """libfanin's version string, e.g. "0.1.0"."""
    return _clib.fanin_version().decode()


def _check(name, table, v):
    if v not in table:
        raise ValueError("%s must be one of %s, not %r" % (name, sorted(k for k in table if k), v))
    return table[v]


def load_plugins(*paths):
    """Search these plugin folders or .so files first from now on (then $FANIN_PLUGIN_PATH,
    then the built-in plugins, as always). Raises FaninError for a bad plugin file."""
    _reopen([str(p) for p in paths])


def plugins(kind=None):
    """Every plugin fanin finds (or those of one kind: "initializer", "activation",
    "optimizer"), as dicts with kind, name, version, file, doc and params (the schema)."""
    s = _session()
    out = _c.c_void_p()
    with s.lock:
        s.check(_clib.fanin_plugins_json(s.h, _check("kind", _KINDS, kind), _c.byref(out)))
    try:
        return _json.loads(_c.string_at(out).decode())["plugins"]
    finally:
        _clib.fanin_free(out)


def _find(name):
    hits = [p for p in plugins() if p["name"] == name]
    if not hits:
        names = sorted(p["name"] for p in plugins())
        import difflib
        near = difflib.get_close_matches(name, names, 1)
        raise FaninError(-1, "unknown plugin '%s'%s; see fanin.plugins()" %
                         (name, "; did you mean '%s'?" % near[0] if near else ""))
    return hits


def help(name):
    """The plugin's description and parameters as text, as `fanin help NAME` shows them
    (print(fanin.help("he_normal")))."""
    lines = []
    for p in _find(name):
        lines.append("%s %s %s: %s" % (p["kind"], p["name"], p["version"], p["doc"]))
        lines.append("  file %s" % p["file"])
        for q in p["params"]:
            rng = ""
            if "min" in q:
                rng = "[%s, %s]" % ("-inf" if q["min"] is None else q["min"],
                                    "inf" if q["max"] is None else q["max"])
            if "choices" in q:
                rng = "|".join(q["choices"])
            dflt = "required" if q["required"] else q["default"]
            dflt = {True: "true", False: "false"}.get(dflt, dflt) if isinstance(dflt, bool) else dflt
            lines.append("  %-14s %-6s default %-9s %-18s %s" %
                         (q["name"], q["type"], dflt, rng, q["doc"]))
    return "\n".join(lines)


def init(name, shape, seed=0, rng="philox", activation=None, **params):
    """A new float32 array of `shape` (PyTorch's: [out, in] or [out, in, kh, kw]) filled by
    initializer `name` with `params` (checked as the experiment file's), drawn from the stream
    (seed, layer 0, weight) (rng="philox") or np.random.seed(seed) (rng="numpy"): for a 2-D
    shape bit-identical to `fanin init-stats NAME --shape OUT,IN --seed S --rng R --dump`.
    `activation` names the activation whose gain a gain=auto parameter uses."""
    shape = tuple(int(d) for d in (shape if hasattr(shape, "__len__") else (shape,)))
    out = _np.empty(shape, dtype=_np.float32)
    fill(out, name, seed=seed, rng=rng, activation=activation, **params)
    return out


def _f32(a):
    return a.ctypes.data_as(_c.POINTER(_c.c_float))


def fill(out, name, seed=0, rng="philox", activation=None, **params):
    """init() into an existing C-contiguous float32 array `out`; returns it."""
    if out.dtype != _np.float32 or not out.flags["C_CONTIGUOUS"] or not out.flags["WRITEABLE"]:
        raise ValueError("fanin.fill needs a writeable C-contiguous float32 array")
    s = _session()
    shape = (_c.c_int64 * 4)(*out.shape)
    arr, n = _kv(params)
    with s.lock:
        s.check(_clib.fanin_init_fill(
            s.h, name.encode(), _f32(out), out.ndim, shape,
            int(seed), _check("rng", _RNGS, rng), activation.encode() if activation else None,
            arr, n))
    return out


class Activation:
    """Activation plugin `name` with `params`, on float32 numpy arrays (fanin.torch.Activation
    wraps it as an nn.Module)."""

    def __init__(self, name, **params):
        self.name, self.params = name, params
        self._s = _session()
        h = _c.c_void_p()
        arr, n = _kv(params)
        with self._s.lock:
            self._s.check(_clib.fanin_activation_open(self._s.h, name.encode(), arr, n,
                                                     _c.byref(h)))
        self._h = h

    def forward(self, x):
        x = _np.ascontiguousarray(x, dtype=_np.float32)
        y = _np.empty_like(x)
        with self._s.lock:
            self._s.check(_clib.fanin_activation_forward(self._h, _f32(x), _f32(y), x.size))
        return y

    def backward(self, x, y, dy):
        """dL/dx from x, y = forward(x) and dL/dy."""
        x, y, dy = (_np.ascontiguousarray(a, dtype=_np.float32) for a in (x, y, dy))
        if not x.shape == y.shape == dy.shape:
            raise ValueError("x, y and dy must have one shape")
        dx = _np.empty_like(x)
        with self._s.lock:
            self._s.check(_clib.fanin_activation_backward(self._h, _f32(x), _f32(y), _f32(dy),
                                                         _f32(dx), x.size))
        return dx

    def gain(self):
        """The recommended initialisation gain (PyTorch's calculate_gain for built-ins)."""
        g = _c.c_double()
        with self._s.lock:
            self._s.check(_clib.fanin_activation_gain(self._h, _c.byref(g)))
        return g.value

    def __del__(self):
        if getattr(self, "_h", None):
            _clib.fanin_activation_close(self._h)
            self._h = None


class Optimizer:
    """Optimizer plugin `name` with `params` over one float32 buffer of n values."""

    def __init__(self, name, n, **params):
        self._s, self.n = _session(), int(n)
        h = _c.c_void_p()
        arr, k = _kv(params)
        with self._s.lock:
            self._s.check(_clib.fanin_optimizer_open(self._s.h, name.encode(), arr, k, self.n,
                                                    _c.byref(h)))
        self._h = h

    def step(self, w, g, lr):
        """Update w (a C-contiguous float32 array of n values) in place from its gradient g."""
        g = _np.ascontiguousarray(g, dtype=_np.float32)
        if w.dtype != _np.float32 or not w.flags["C_CONTIGUOUS"] or w.size != self.n or g.size != self.n:
            raise ValueError("w and g need %d float32 values (w C-contiguous)" % self.n)
        with self._s.lock:
            self._s.check(_clib.fanin_optimizer_step(self._h, _f32(w), _f32(g), float(lr)))

    def __del__(self):
        if getattr(self, "_h", None):
            _clib.fanin_optimizer_close(self._h)
            self._h = None
