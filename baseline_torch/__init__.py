"""PyTorch reference implementations that dlcore is measured against (issue 4).

Each tool is a module runnable as ``python -m baseline_torch.<tool>``; the shared pieces
(models, data, training loop, result writing) live in small modules so no tool repeats them.
"""

TOOLS = ("lenet_mnist", "cifar10", "parallel", "amp", "backends", "profile", "compare")
