"""``dlcore.utils.tensorboard``: torch.utils.tensorboard's ``SummaryWriter`` for dlcore tensors.

It writes TensorBoard's event files through the tensorboard package (an optional dependency, in
the ``dlcore[baseline]`` extra); without it, importing this module raises ModuleNotFoundError
saying how to install it.
"""
try:
    import tensorboard  # noqa: F401
except ModuleNotFoundError:
    raise ModuleNotFoundError("dlcore.utils.tensorboard needs the tensorboard package, which is not installed: "
                              "pip install 'dlcore[baseline]' (or pip install tensorboard)",
                              name="tensorboard") from None

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
