"""fanin plugins in PyTorch: fanin.torch.init_(tensor, name, **params) fills any weight with a
fanin initializer (fans as torch.nn.init computes them: [out, in] for Linear, [out, in, kh, kw]
for Conv, receptive field included), and fanin.torch.Activation(name, **params) is an nn.Module
whose forward and backward are the plugin's own. CPU tensors; the plugin computes in float32
(a float64 input is rounded to float32 and the result cast back), so check gradients with a
float32 finite difference rather than torch.autograd.gradcheck's float64 tolerances.
"""
import numpy as np
import torch as _torch

from . import Activation as _NpActivation, fill as _fill


def init_(tensor, name, seed=None, rng="philox", activation=None, **params):
    """Fill `tensor` in place with initializer `name` and return it, as torch.nn.init's
    functions do. seed=None draws the seed from torch's generator (so torch.manual_seed makes
    it repeatable and two layers get different streams); an explicit seed gives exactly
    fanin.init(name, tensor.shape, seed, rng, activation, **params)."""
    if not isinstance(tensor, _torch.Tensor):
        raise TypeError("fanin.torch.init_ needs a torch.Tensor, not %s" % type(tensor).__name__)
    if seed is None:
        seed = int(_torch.randint(0, 2**31 - 1, (1,)).item())
    buf = np.empty(tuple(tensor.shape), dtype=np.float32)
    _fill(buf, name, seed=seed, rng=rng, activation=activation, **params)
    with _torch.no_grad():
        tensor.copy_(_torch.from_numpy(buf))
    return tensor


class _Apply(_torch.autograd.Function):
    """y = f(x) and dx = dy * f'(x) by the plugin, on float32 copies of CPU tensors."""

    @staticmethod
    def forward(ctx, x, act):
        xs = x.detach().to("cpu", _torch.float32).contiguous().numpy()
        y = act.forward(xs)
        ctx.act, ctx.dtype = act, x.dtype
        ctx.save_for_backward(_torch.from_numpy(xs), _torch.from_numpy(y))
        return _torch.from_numpy(y).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        x, y = ctx.saved_tensors
        dys = dy.detach().to("cpu", _torch.float32).contiguous().numpy()
        dx = ctx.act.backward(x.numpy(), y.numpy(), dys)
        return _torch.from_numpy(dx).to(ctx.dtype), None


class Activation(_torch.nn.Module):
    """Activation plugin `name` with `params` as a module: nn.Sequential(nn.Linear(..),
    fanin.torch.Activation("mish"), ...)."""

    def __init__(self, name, **params):
        super().__init__()
        self.name, self.params = name, params
        self._act = _NpActivation(name, **params)

    def forward(self, x):
        if x.device.type != "cpu":
            raise ValueError("fanin.torch.Activation runs on CPU tensors (got %s)" % x.device)
        return _Apply.apply(x, self._act)

    def gain(self):
        """The recommended initialisation gain (torch.nn.init.calculate_gain's for built-ins)."""
        return self._act.gain()

    def extra_repr(self):
        return ", ".join([repr(self.name)] + ["%s=%r" % kv for kv in self.params.items()])
