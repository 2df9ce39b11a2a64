"""The losses of ``dl.nn.functional`` beyond the fused ``cross_entropy`` kernel: nll_loss, the
regression losses, binary cross-entropy and KL divergence, with torch.nn.functional's signatures,
reductions and error types. Each is a composite of differentiable C++ ops (gather, pointwise
functors, reductions), so autograd and every device come from those ops. ``cross_entropy`` keeps
the fused C++ kernel for its common form (2-D input, class indices, no weight, nothing ignored) and
otherwise composes ``log_softmax`` with ``nll_loss`` as torch does.
"""
from __future__ import annotations

from .. import _C
from .._C import Tensor
from .._C import functional as _F
from ._dims import move_dim
from .functional_layers import log_softmax

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str, op: str, allowed: tuple[str, ...] = _REDUCTIONS) -> None:
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{op}: reduction must be one of {choices}, got {reduction!r} (not a valid value for reduction)")


def _legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """torch's deprecated size_average/reduce pair, when given, overrides ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_same_shape(input: Tensor, target: Tensor, op: str) -> None:  # noqa: A002  (torch's names)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target size {list(target.shape)} must be the same as input size {list(input.shape)}")


def _classes_last(input: Tensor, target: Tensor, op: str) -> tuple[Tensor, Tensor, tuple[int, ...]]:  # noqa: A002
    """``input`` [N, C, d1, ...] (or [C]) as rows [M, C] and ``target`` [N, d1, ...] as [M]; also the
    shape the unreduced loss takes (the target's)."""
    if input.dim() == 0:
        raise ValueError(f"{op}: input must have at least one dimension, got a 0-d tensor")
    if target.dtype != _C.dtype.int64:
        raise RuntimeError(f"{op}: expected target of class indices with dtype int64, got {target.dtype}")
    if input.dim() == 1:
        expected: tuple[int, ...] = ()
    else:
        expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"{op}: target {list(target.shape)} does not match input {list(input.shape)} "
                         f"(expected target {list(expected)})")
    classes = input.shape[0] if input.dim() == 1 else input.shape[1]
    rows = input.unsqueeze(0) if input.dim() == 1 else move_dim(input, 1, -1).reshape([-1, classes])
    return rows, target.reshape([-1]), expected


def _check_class_range(target: Tensor, classes: int, ignore_index: int, op: str) -> None:
    """Targets outside [0, C) that are not ``ignore_index`` raise IndexError, as torch's CPU kernel does.
    (On CUDA the check would cost a synchronisation per step; the gather's own bound check reports.)"""
    if target.is_cuda or target.numel() == 0:
        return
    bad = (target != ignore_index).logical_and((target < 0).logical_or(target >= classes))
    if bool(bad.sum().item()):
        value = int(target.masked_select(bad)[0].item())
        raise IndexError(f"{op}: Target {value} is out of bounds for {classes} classes")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,  # noqa: A002
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood loss of log-probabilities ``input`` [N, C, ...] at class indices
    ``target`` [N, ...] (torch.nn.functional.nll_loss)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "nll_loss")
    rows, flat_target, loss_shape = _classes_last(input, target, "nll_loss")
    classes = rows.shape[1]
    if weight is not None and tuple(weight.shape) != (classes,):
        raise RuntimeError(f"nll_loss: weight tensor should be defined either for all {classes} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    _check_class_range(flat_target, classes, ignore_index, "nll_loss")
    kept = flat_target != ignore_index
    safe_target = _C.where(kept, flat_target, 0)
    picked = rows.gather(1, safe_target.unsqueeze(1)).squeeze(1)
    per_row = kept.to(rows.dtype)
    if weight is not None:
        per_row = per_row * weight.index_select(0, safe_target)
    loss = -picked * per_row
    if reduction == "none":
        return loss.reshape(list(loss_shape))
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / per_row.sum()


def _label_smoothing_term(logp: Tensor, flat_target: Tensor, weight: Tensor | None, ignore_index: int,
                          reduction: str) -> Tensor:
    """torch's smoothing part of cross_entropy with class indices: -sum_c w_c logp_c per row, ignored
    rows zeroed, a weighted mean dividing by the same total weight as the NLL part."""
    kept = (flat_target != ignore_index).to(logp.dtype)
    smooth = -(logp * weight).sum(1) if weight is not None else -logp.sum(1)
    smooth = smooth * kept
    if reduction == "none":
        return smooth
    if reduction == "sum":
        return smooth.sum()
    if weight is None:
        return smooth.sum() / kept.sum()
    safe_target = _C.where(flat_target != ignore_index, flat_target, 0)
    return smooth.sum() / (weight.index_select(0, safe_target) * kept).sum()


def check_label_smoothing(value: float, op: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {value}")


def _fused_cross_entropy_applies(input: Tensor, target: Tensor, weight: Tensor | None,  # noqa: A002
                                 ignore_index: int) -> bool:
    """The C++ kernel covers [N, C] float32 logits with int64 class indices, no weight, none ignored."""
    if weight is not None or input.dim() != 2 or input.dtype != _C.dtype.float32 or target.dtype != _C.dtype.int64:
        return False
    if target.dim() != 1 or target.numel() == 0:
        return False
    if target.is_cuda:
        # Looking for ignored targets would cost a synchronisation per step; a negative ignore_index
        # can never be a class, so the kernel's own bound check reports such a target instead.
        return ignore_index < 0
    return not bool((target == ignore_index).sum().item())


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,  # noqa: A002
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` [N, C, ...] and class indices or class probabilities
    ``target`` (torch.nn.functional.cross_entropy)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "cross_entropy")
    check_label_smoothing(label_smoothing, "cross_entropy")
    if target.is_floating_point():
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    if _fused_cross_entropy_applies(input, target, weight, ignore_index):
        return _F.cross_entropy(input, target, reduction, label_smoothing)
    _classes_last(input, target, "cross_entropy")  # shape errors name cross_entropy, not nll_loss
    class_dim = 0 if input.dim() == 1 else 1
    logp = log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    rows, flat_target, loss_shape = _classes_last(logp, target, "cross_entropy")
    smooth = _label_smoothing_term(rows, flat_target, weight, ignore_index, reduction)
    if reduction == "none":
        smooth = smooth.reshape(list(loss_shape))
    classes = rows.shape[1]
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


def _cross_entropy_probabilities(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,  # noqa: A002
                                 label_smoothing: float) -> Tensor:
    _check_same_shape(input, target, "cross_entropy (class probabilities)")
    class_dim = 0 if input.dim() == 1 else 1
    classes = input.shape[class_dim]
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = log_softmax(input, class_dim) * target
    if weight is not None:
        shape = [1] * input.dim()
        shape[class_dim] = classes
        terms = terms * weight.reshape(shape)
    loss = -terms.sum(class_dim)
    if reduction == "mean":
        return loss.sum() / max(input.numel() // max(classes, 1), 1)
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,  # noqa: A002
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error (torch.nn.functional.mse_loss)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "mse_loss")
    _check_same_shape(input, target, "mse_loss")
    loss = (input - target) ** 2
    return _reduce(loss * weight if weight is not None else loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,  # noqa: A002
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error (torch.nn.functional.l1_loss)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "l1_loss")
    _check_same_shape(input, target, "l1_loss")
    loss = (input - target).abs()
    return _reduce(loss * weight if weight is not None else loss, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,  # noqa: A002
                   reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Quadratic below ``beta``, linear above (torch.nn.functional.smooth_l1_loss)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    _check_same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    diff = (input - target).abs()
    if beta == 0.0:
        return _reduce(diff, reduction)
    return _reduce(_C.where(diff < beta, diff * diff * (0.5 / beta), diff - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,  # noqa: A002
               weight: Tensor | None = None) -> Tensor:
    """Quadratic below ``delta``, ``delta``-scaled linear above (torch.nn.functional.huber_loss)."""
    _check_reduction(reduction, "huber_loss")
    _check_same_shape(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    diff = (input - target).abs()
    loss = _C.where(diff < delta, diff * diff * 0.5, (diff - 0.5 * delta) * delta)
    return _reduce(loss * weight if weight is not None else loss, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` (torch.nn.functional.binary_cross_entropy);
    the logs are clamped at -100 as torch's are, so a probability of exactly 0 or 1 stays finite."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy")
    _check_same_shape(input, target, "binary_cross_entropy")
    if not input.is_cuda and input.numel() and bool(((input < 0).logical_or(input > 1)).sum().item()):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    log_p = input.log().clamp(min=-100.0)
    log_q = (1.0 - input).log().clamp(min=-100.0)
    loss = -(target * log_p + (1.0 - target) * log_q)
    return _reduce(loss * weight if weight is not None else loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in the stable form (torch.nn.functional.binary_cross_entropy_with_logits)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    # log(1 + exp(-x)) without overflow: log1p(exp(-|x|)) + max(-x, 0)
    softplus_neg = (-input.abs()).exp().log1p() + (-input).clamp(min=0.0)
    if pos_weight is None:
        loss = (1.0 - target) * input + softplus_neg
    else:
        loss = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus_neg
    return _reduce(loss * weight if weight is not None else loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence of ``target`` from log-probabilities ``input`` (torch.nn.functional.kl_div);
    ``'batchmean'`` divides the sum by the batch size, the mathematically right mean."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "kl_div", _REDUCTIONS + ("batchmean",))
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _C.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    return _reduce(loss, reduction)
