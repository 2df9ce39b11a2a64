"""dlcore's command-line programs (installed as console scripts by pyproject.toml, and run from a
checkout by the thin python/train_*.py wrappers), and what they share: how a run ends.

Every failure a user can cause ends in one line on stderr and exit status 2, never a traceback:
argparse's usage errors, a missing dataset, a missing GPU, an unreadable --resume checkpoint, and a
missing optional dependency, which names the extra that provides it (`pip install 'dlcore[vision]'`).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

# Top-level module name -> (what pip calls it, the dlcore extra that installs it).
OPTIONAL_MODULES = {"PIL": ("Pillow", "vision"), "matplotlib": ("matplotlib", "baseline"),
                    "tensorboard": ("tensorboard", "baseline"), "torch": ("torch", "baseline")}


class UsageFailure(Exception):
    """A run that cannot start or go on for a reason the user can fix; its text is the one line shown."""


def missing_extra_message(error: ModuleNotFoundError) -> str | None:
    """The one-line advice for a missing optional dependency, or None when ``error`` is about another module."""
    root = (error.name or "").split(".")[0]
    if root not in OPTIONAL_MODULES:
        return None
    package, extra = OPTIONAL_MODULES[root]
    return f"this needs {package}, which is not installed: pip install 'dlcore[{extra}]'"


def run_script(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None, *,
               prog: str | None = None) -> int:
    """Runs a program's ``main``; a UsageFailure or a missing optional module prints one line and returns 2."""
    name = prog or (sys.argv[0].rsplit("/", 1)[-1] if sys.argv and sys.argv[0] else "dlcore")
    try:
        return main(argv)
    except UsageFailure as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        message = missing_extra_message(error)
        if message is None:
            raise
        print(f"{name}: error: {message}", file=sys.stderr)
        return 2


def load_resume_state(path: str) -> dict[str, Any]:
    """--resume: reads the checkpoint before any data is loaded, so a wrong path or file fails at once."""
    from ..serialization import load

    target = Path(path)
    if target.is_dir():
        raise UsageFailure(f"cannot resume from {path}: it is a directory, not a checkpoint file")
    if target.exists() and not target.is_file():  # a device or pipe (/dev/zero) would be read forever
        raise UsageFailure(f"cannot resume from {path}: not a regular file")
    try:
        state = load(path)
    except FileNotFoundError:
        raise UsageFailure(f"cannot resume: no checkpoint at {path}") from None
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, RecursionError, OverflowError) as e:
        raise UsageFailure(f"cannot resume from {path}: not a readable dlcore checkpoint ({e})") from None
    missing = [key for key in ("model", "optimizer", "epoch") if not (isinstance(state, dict) and key in state)]
    if missing:
        raise UsageFailure(f"cannot resume from {path}: the file holds no {', '.join(missing)} "
                           "(expected a training checkpoint, OUT/checkpoint.safetensors)")
    return state


__all__ = ["OPTIONAL_MODULES", "UsageFailure", "missing_extra_message", "run_script", "load_resume_state"]
