"""``dl.nn.init``: torch.nn.init's in-place initialisers (kaiming, xavier, normal, truncated normal,
uniform, orthogonal, constants, eye).

Models that copy a reference architecture (torchvision's VGG scheme for CifarVGG) must reproduce its
initialisation, not only its layers. Draws come from dlcore's seeded generator (``dl.randn``/``dl.rand``,
host-side), so ``dl.manual_seed`` fixes the result on every device; fans and gains follow torch's rules.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _C
from ..autograd import no_grad

Tensor = _C.Tensor

_LINEAR_GAIN_NONLINEARITIES = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
                               "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch recommends for a nonlinearity (e.g. sqrt(2) for relu)."""
    if nonlinearity in _LINEAR_GAIN_NONLINEARITIES:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) as torch computes them: dims 1 and 0 times the receptive field (dims 2+)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dimensions, got shape {list(shape)}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check_float(tensor: Tensor, name: str) -> None:
    if not isinstance(tensor, Tensor):
        raise ValueError(f"{name}: expected a dlcore Tensor, got {type(tensor).__name__}")
    if tensor.dtype != _C.dtype.float32:
        raise ValueError(f"{name}: expected a float32 tensor, got {tensor.dtype}")


def _fill_from(tensor: Tensor, values: Tensor) -> Tensor:
    # Parameters are leaves that require grad: writing them must not be recorded in the graph.
    with no_grad():
        tensor.copy_(values)
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fills ``tensor`` with N(mean, std^2) draws; returns it."""
    _check_float(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill_from(tensor, _C.randn(*tensor.shape, device=tensor.device) * float(std) + float(mean))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fills ``tensor`` with U(a, b) draws; returns it."""
    _check_float(tensor, "uniform_")
    if a > b:
        raise ValueError(f"uniform_: a must be <= b, got a={a}, b={b}")
    return _fill_from(tensor, _C.rand(*tensor.shape, device=tensor.device) * float(b - a) + float(a))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills ``tensor`` with ``val``; returns it."""
    _check_float(tensor, "constant_")
    with no_grad():
        tensor.fill_(float(val))
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` with 0; returns it."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fills ``tensor`` with 1; returns it."""
    return constant_(tensor, 1.0)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He initialisation: N(0, std^2) with std = gain / sqrt(fan); torch's defaults (a=0 gives relu's gain)."""
    _check_float(tensor, "kaiming_normal_")
    if tensor.numel() == 0:  # torch: a no-op (the fan would be zero)
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He initialisation: U(-bound, bound) with bound = gain * sqrt(3 / fan)."""
    _check_float(tensor, "kaiming_uniform_")
    if tensor.numel() == 0:  # torch: a no-op (the fan would be zero)
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check_float(tensor, "xavier_normal_")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot initialisation: U(-bound, bound) with bound = gain * sqrt(6 / (fan_in + fan_out))."""
    _check_float(tensor, "xavier_uniform_")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: object = None) -> Tensor:
    """N(mean, std^2) restricted to [a, b], drawn by inverting the normal CDF on a uniform draw over
    [cdf(a), cdf(b)] (torch's method), then clamped against rounding at the ends."""
    _check_float(tensor, "trunc_normal_")
    if generator is not None:
        raise NotImplementedError("trunc_normal_: generator= is not supported; seed with dl.manual_seed")

    def normal_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    low, high = 2.0 * normal_cdf((a - mean) / std) - 1.0, 2.0 * normal_cdf((b - mean) / std) - 1.0
    draws = _C.rand(*tensor.shape, device=tensor.device) * (high - low) + low
    values = _C.erfinv(draws) * (std * math.sqrt(2.0)) + mean
    return _fill_from(tensor, values.clamp(min=a, max=b))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: object = None) -> Tensor:
    """A (semi-)orthogonal matrix over the tensor viewed as [rows, everything else]: the Q of a QR
    decomposition of a normal draw, with signs fixed by R's diagonal so Q is uniformly distributed
    (torch's method; the QR runs in numpy on the host, as dlcore has no QR op)."""
    _check_float(tensor, "orthogonal_")
    if tensor.dim() < 2:
        raise ValueError("orthogonal_: only tensors with 2 or more dimensions are supported")
    if generator is not None:
        raise NotImplementedError("orthogonal_: generator= is not supported; seed with dl.manual_seed")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _C.randn(rows, cols).numpy().astype(np.float64)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    values = _C.tensor((q * gain).astype(np.float32).reshape(tuple(tensor.shape)), device=tensor.device)
    return _fill_from(tensor, values)


def eye_(tensor: Tensor) -> Tensor:
    """Fills the 2-D ``tensor`` with the identity (ones on the main diagonal); returns it."""
    _check_float(tensor, "eye_")
    if tensor.dim() != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got {list(tensor.shape)}")
    identity = np.eye(tensor.shape[0], tensor.shape[1], dtype=np.float32)
    return _fill_from(tensor, _C.tensor(identity, device=tensor.device))


__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "normal_", "uniform_", "constant_", "zeros_", "ones_",
           "kaiming_normal_", "kaiming_uniform_", "xavier_normal_", "xavier_uniform_", "trunc_normal_", "orthogonal_",
           "eye_"]
