"""``dl.nn.functional``: the differentiable ops under PyTorch's names (implemented in C++).

The fused C++ kernels are bound here; the losses (functional_losses.py) and the functions made of
other ops (functional_conv.py, functional_pool.py, functional_resample.py, functional_layers.py)
are re-exported from their files. ``softmax``/``log_softmax`` take any dim.

Beyond PyTorch's names: ``conv2d_relu`` and ``linear_relu`` equal ``relu(conv2d(...))`` and
``relu(linear(...))`` with the ReLU fused into the bias kernel (one launch and one activation
buffer fewer per layer; torch.ao.nn.intrinsic's ConvReLU2d and LinearReLU are the analogues).
"""
from .._C import functional as _F
from .._op_table import names_on
from .functional_conv import conv1d, conv2d, conv_transpose2d
from .functional_layers import (dropout2d, embedding, group_norm, layer_norm, log_softmax, normalize, one_hot,
                                softmax)
from .functional_pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool1d, max_pool2d,
                              max_pool2d_with_indices)
from .functional_resample import interpolate, pad
from .functional_losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss,
                                kl_div, l1_loss, mse_loss, nll_loss, smooth_l1_loss)

linear = _F.linear
conv2d_relu = _F.conv2d_relu
linear_relu = _F.linear_relu
matmul = _F.matmul
dropout = _F.dropout
batch_norm = _F.batch_norm
flatten = _F.flatten
reshape = _F.reshape
sum, mean, argmax = _F.sum, _F.mean, _F.argmax  # noqa: A001  (PyTorch's names)

__all__ = ["conv2d", "linear", "conv2d_relu", "linear_relu", "matmul", "max_pool2d", "max_pool2d_with_indices", "avg_pool2d", "dropout", "batch_norm",
           "log_softmax", "softmax", "cross_entropy", "flatten", "reshape", "sum", "mean", "argmax",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "conv1d", "conv_transpose2d", "dropout2d", "embedding",
           "group_norm", "interpolate", "layer_norm", "max_pool1d", "normalize", "one_hot", "pad",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "huber_loss", "kl_div", "l1_loss", "mse_loss",
           "nll_loss", "smooth_l1_loss"]

# The op table's functional surface (relu, gelu, leaky_relu, ...).
for _name in names_on("F"):
    globals()[_name] = getattr(_F, _name)
    __all__.append(_name)
del _name
