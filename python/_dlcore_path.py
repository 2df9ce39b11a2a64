"""Which dlcore the checkout's scripts (train_mnist.py, train_cifar10.py, train_imagenet.py) import.

Python puts a script's own directory, python/, first on sys.path, and python/dlcore there shadows
any installed dlcore; after a plain `pip install .` that copy has no compiled `_C` and the import
fails half-way. So the scripts first try dlcore without that entry (an installed package, an
editable install, or python/ named on PYTHONPATH), and fall back to the checkout's own copy only
when that yields no importable `dlcore._C`.
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _forget_dlcore() -> None:
    for name in [n for n in sys.modules if n == "dlcore" or n.startswith("dlcore.")]:
        del sys.modules[name]


def use_working_dlcore() -> None:
    """Imports a dlcore whose extension loads, preferring an installed one over the checkout's copy;
    exits 2 with one line when there is none."""
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == HERE:
        del sys.path[0]
    try:
        import dlcore._C  # noqa: F401
        return
    except ImportError:
        _forget_dlcore()
    sys.path.insert(0, HERE)
    try:
        import dlcore._C  # noqa: F401
    except ImportError as error:
        _forget_dlcore()
        print(f"error: dlcore's compiled extension could not be imported ({error}); install dlcore "
              "(`pip install -e .`) or build it (see the README)", file=sys.stderr)
        sys.exit(2)
