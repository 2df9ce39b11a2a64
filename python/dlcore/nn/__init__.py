"""``dl.nn``: modules with PyTorch's names and semantics. Conv2d, the pools, BatchNorm2d and
Dropout are C++ classes (Conv2d, Linear and the pools extended in Python with torch's extra
options); the containers (containers.py), the layers made of other ops (layers.py, layers_conv.py,
layers_pool.py) and the losses (losses.py) are Python classes over the same C++ Module; the
activation modules are made here from the op table's ``module:`` surfaces; module_api.py adds
torch's bookkeeping methods."""
from __future__ import annotations

from typing import Any

from .. import _C
from .._op_table import module_ops
from . import functional, hooks, init, module_api

Parameter = _C.Parameter
Module = _C.nn.Module
Flatten = _C.nn.Flatten
Dropout = _C.nn.Dropout
BatchNorm2d = _C.nn.BatchNorm2d
hooks.install(Module)
module_api.install(Module)

from .containers import Identity, ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: E402
from .layers import (BatchNorm1d, Dropout2d, Embedding, GroupNorm, LayerNorm, LogSoftmax, PReLU, Softmax,  # noqa: E402
                     Unflatten, Upsample, ZeroPad2d)
from .layers_conv import Conv1d, Conv2d, ConvTranspose2d, Linear  # noqa: E402
from .layers_pool import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool1d, MaxPool2d  # noqa: E402
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,  # noqa: E402
                     NLLLoss, SmoothL1Loss)
from . import utils  # noqa: E402

__all__ = ["Module", "Parameter", "Sequential", "Conv2d", "Linear", "MaxPool2d",
           "AvgPool2d", "Flatten", "Dropout", "BatchNorm2d", "CrossEntropyLoss", "functional", "init", "hooks",
           "Identity", "ModuleDict", "ModuleList", "ParameterDict", "ParameterList",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm1d", "Conv1d", "ConvTranspose2d", "Dropout2d",
           "Embedding", "GroupNorm", "LayerNorm", "LogSoftmax", "MaxPool1d", "PReLU", "Softmax", "Unflatten",
           "Upsample", "ZeroPad2d", "BCELoss", "BCEWithLogitsLoss", "HuberLoss", "KLDivLoss", "L1Loss", "MSELoss",
           "NLLLoss", "SmoothL1Loss", "utils"]


def _activation_module(class_name: str, op: dict[str, Any]) -> type:
    """A Module whose forward is ``F.<op>`` with the op's scalar arguments (and ``inplace`` where
    the op has an in-place form) as constructor arguments and attributes, as torch.nn's are."""
    fn = getattr(functional, op["name"])
    params = [(name, default) for name, _kind, default in op["scalar_args"]]
    if "inplace" in op["surfaces"]:
        params.append(("inplace", False))
    names = [name for name, _ in params]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Module.__init__(self)
        if len(args) > len(params):
            raise TypeError(f"{class_name}() takes at most {len(params)} arguments ({len(args)} given)")
        values = dict(params)
        values.update(zip(names, args))
        for key, value in kwargs.items():
            if key not in values:
                raise TypeError(f"{class_name}() got an unexpected keyword argument '{key}'")
            values[key] = value
        for key, value in values.items():
            setattr(self, key, value)

    def forward(self, input):  # noqa: A002  (PyTorch's argument name)
        return fn(input, **{name: getattr(self, name) for name in names})

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={getattr(self, name)!r}" for name in names if name != "inplace" or self.inplace)

    doc = f"Applies ``dl.nn.functional.{op['name']}`` elementwise (torch.nn.{class_name})."
    return type(class_name, (Module,), {"__init__": __init__, "forward": forward, "extra_repr": extra_repr,
                                         "__doc__": doc, "__module__": __name__})


for _class_name, _op in module_ops():
    globals()[_class_name] = _activation_module(_class_name, _op)
    __all__.append(_class_name)
del _class_name, _op
