"""``dl.nn``: modules with PyTorch's names and semantics (all implemented in C++)."""
from .. import _C
from . import functional, hooks, init

Parameter = _C.Parameter
Module = _C.nn.Module
Sequential = _C.nn.Sequential
Conv2d = _C.nn.Conv2d
Linear = _C.nn.Linear
ReLU = _C.nn.ReLU
Sigmoid = _C.nn.Sigmoid
Tanh = _C.nn.Tanh
MaxPool2d = _C.nn.MaxPool2d
AvgPool2d = _C.nn.AvgPool2d
Flatten = _C.nn.Flatten
Dropout = _C.nn.Dropout
BatchNorm2d = _C.nn.BatchNorm2d
CrossEntropyLoss = _C.nn.CrossEntropyLoss
hooks.install(Module)

__all__ = ["Module", "Parameter", "Sequential", "Conv2d", "Linear", "ReLU", "Sigmoid", "Tanh", "MaxPool2d",
           "AvgPool2d", "Flatten", "Dropout", "BatchNorm2d", "CrossEntropyLoss", "functional", "init", "hooks"]
