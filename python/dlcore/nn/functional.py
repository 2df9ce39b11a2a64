"""``dl.nn.functional``: the differentiable ops under PyTorch's names (implemented in C++).

Beyond PyTorch's names: ``conv2d_relu`` and ``linear_relu`` equal ``relu(conv2d(...))`` and
``relu(linear(...))`` with the ReLU fused into the bias kernel (one launch and one activation
buffer fewer per layer; torch.ao.nn.intrinsic's ConvReLU2d and LinearReLU are the analogues).
"""
from .._C import functional as _F
from .._op_table import names_on

conv2d = _F.conv2d
linear = _F.linear
conv2d_relu = _F.conv2d_relu
linear_relu = _F.linear_relu
matmul = _F.matmul
max_pool2d = _F.max_pool2d
avg_pool2d = _F.avg_pool2d
dropout = _F.dropout
batch_norm = _F.batch_norm
log_softmax = _F.log_softmax
softmax = _F.softmax
cross_entropy = _F.cross_entropy
flatten = _F.flatten
reshape = _F.reshape
sum, mean, argmax = _F.sum, _F.mean, _F.argmax  # noqa: A001  (PyTorch's names)

__all__ = ["conv2d", "linear", "conv2d_relu", "linear_relu", "matmul", "max_pool2d", "avg_pool2d", "dropout", "batch_norm",
           "log_softmax", "softmax", "cross_entropy", "flatten", "reshape", "sum", "mean", "argmax"]

# The op table's functional surface (relu, gelu, leaky_relu, ...).
for _name in names_on("F"):
    globals()[_name] = getattr(_F, _name)
    __all__.append(_name)
del _name
