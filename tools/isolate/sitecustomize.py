"""Put on PYTHONPATH by tools/test.sh so that every Python process of the test command (pytest, the
scripts the tests start, the emulator checks) imports the dlcore it has just built.

Why: `pip install -e .` (scikit-build-core, editable.mode "redirect") leaves a meta-path finder in
site-packages, installed by a .pth file at startup and placed *first* on sys.meta_path, so it wins
over PYTHONPATH and maps `dlcore._C` to the pip-built extension. Python runs sitecustomize after
the .pth files, so this is the one place where, in every process, the finder can be taken out
before anything imports dlcore. Finders of other editable packages stay; a sitecustomize this file
shadows (a distribution's or a virtual environment's) is still run afterwards.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys


def _maps_dlcore(finder: object) -> bool:
    names = [*getattr(finder, "known_source_files", {}), *getattr(finder, "known_wheel_files", {})]
    return any(n == "dlcore" or n.startswith("dlcore.") for n in names)


def _drop_dlcore_redirect() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not (type(f).__name__.startswith("ScikitBuild") and _maps_dlcore(f))]


def _run_shadowed_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_drop_dlcore_redirect()
_run_shadowed_sitecustomize()
