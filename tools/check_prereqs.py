"""The test command's first step (tools/test.sh): every prerequisite is checked before anything is
built, so a fresh machine fails (or is fixed) in seconds, not after minutes of compiling.

Missing Python packages (the `dlcore[test]` extra, listed in pyproject.toml) are installed with pip
in one call, or, with DLCORE_NO_INSTALL=1, named in one line. System packages come from apt-get when
running as root: GoogleTest's libgtest-dev is required, and one it cannot install is named in one
line; ccache is optional (tools/test.sh compiles three build trees, and ccache lets them share every
object file that comes out the same, most of all the CPU kernels), so without it a note says so.
Exit status 0 when everything required is there afterwards, 1 otherwise.
"""
from __future__ import annotations

import glob
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

REPO = Path(__file__).resolve().parents[1]
# The fallback when pyproject.toml cannot be parsed (Python < 3.11 has no tomllib): keep in step.
TEST_EXTRA = ["pytest>=7", "torch==2.13.0", "matplotlib", "pillow", "simplejpeg", "tensorboard", "safetensors",
              "pybind11>=3", "scikit-build-core>=0.10", "cmake>=3.24", "ninja", "numpy>=1.22", "tqdm>=4.60"]


def test_requirements() -> list[str]:
    """`dlcore[test]` as pyproject.toml declares it."""
    if tomllib is None:
        return TEST_EXTRA
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return list(project["optional-dependencies"]["test"])


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text.split("+")[0])[:3])


def satisfied(requirement: str) -> bool:
    """Whether an installed distribution meets `name[op version]` (==, >= only: all the extra uses)."""
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(==|>=)?\s*([0-9.]*)\s*", requirement)
    if m is None:
        raise ValueError(f"check_prereqs: cannot read the requirement {requirement!r}")
    name, op, wanted = m.groups()
    try:
        have = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    if not op:
        return True
    if op == "==":
        return _version_tuple(have) == _version_tuple(wanted)
    return _version_tuple(have) >= _version_tuple(wanted)


def gtest_present() -> bool:
    headers = os.path.exists("/usr/include/gtest/gtest.h") or os.path.exists("/usr/local/include/gtest/gtest.h")
    libs = [*glob.glob("/usr/lib/*/libgtest.a"), *glob.glob("/usr/lib/libgtest.a"),
            *glob.glob("/usr/local/lib*/libgtest.a")]
    return headers and bool(libs)


def apt_install(packages: list[str], may_install: bool) -> None:
    """apt-get install `packages` where this process may (root, apt-get present, installs allowed)."""
    if packages and may_install and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env, check=False,
                       stdout=subprocess.DEVNULL)


def ensure_system_packages(may_install: bool) -> bool:
    """libgtest-dev (required) and ccache (optional), installed in one apt-get call when missing."""
    missing = [name for name, present in (("libgtest-dev", gtest_present()), ("ccache", bool(shutil.which("ccache"))))
               if not present]
    apt_install(missing, may_install)
    if shutil.which("ccache") is None:
        print("note: ccache not found (apt-get install ccache): each build tree of the test command "
              "compiles everything itself", file=sys.stderr)
    if gtest_present():
        return True
    print("error: GoogleTest is missing and could not be installed here: install the system package "
          "libgtest-dev (e.g. `sudo apt-get install libgtest-dev`)", file=sys.stderr)
    return False


def ensure_python_packages(may_install: bool) -> bool:
    missing = [r for r in test_requirements() if not satisfied(r)]
    if missing and may_install:
        print(f"test command: installing {' '.join(missing)}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *missing],
                       check=False)
        missing = [r for r in missing if not satisfied(r)]
    if missing:
        quoted = " ".join(f"'{r}'" for r in missing)
        print(f"error: missing Python packages: {quoted} (pip install {quoted}, or pip install -e '.[test]')",
              file=sys.stderr)
        return False
    return True


def main() -> int:
    may_install = os.environ.get("DLCORE_NO_INSTALL", "0") != "1"
    ok = ensure_python_packages(may_install)
    ok = ensure_system_packages(may_install) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
