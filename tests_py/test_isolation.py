"""tools/test.sh tests the `_C` it has just built even after `pip install -e .`: the editable
install's import redirect (scikit-build-core's meta-path finder, installed by a .pth file in
site-packages) is dropped by tools/isolate/sitecustomize.py. Here a virtual environment gets a real
scikit-build-core redirect for dlcore, pointing `dlcore._C` at a decoy (a copy of the extension elsewhere), exactly as an editable
install's .pth sets it up; without the isolation the decoy is imported, with it the checkout's _C.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHECK = "import dlcore._C as c; print(c.__file__)"


@pytest.fixture(scope="module")
def redirected_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    redirect = pytest.importorskip("scikit_build_core.resources._editable_redirect")
    root = tmp_path_factory.mktemp("editable")
    env_dir = root / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The decoy stands for the pip-built extension: a working copy of the same module elsewhere.
    init = REPO / "python" / "dlcore" / "__init__.py"
    built = next(p for p in init.parent.glob("_C.*") if p.suffix in (".so", ".pyd"))
    (root / "decoy").mkdir()
    decoy = root / "decoy" / built.name
    shutil.copyfile(built, decoy)
    # As scikit-build-core writes it: its redirect module's source, then the install() call.
    (site / "_fake_dlcore_editable.py").write_text(
        Path(redirect.__file__).read_text() +
        f"\ninstall({{'dlcore': {str(init)!r}}}, {{'dlcore._C': {str(decoy)!r}}},\n"
        f"        known_directories={{'dlcore': [{str(init.parent)!r}]}}, known_packages=['dlcore'])\n")
    (site / "_fake_dlcore_editable.pth").write_text("import _fake_dlcore_editable\n")
    return python


def run(python: Path, pythonpath: list[Path]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))}
    return subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True, timeout=60, env=env)


def test_the_redirect_wins_over_pythonpath_without_isolation(redirected_python: Path) -> None:
    # The defect the isolation exists for: PYTHONPATH alone imports the pip-installed (decoy) _C.
    proc = run(redirected_python, [REPO / "python"])
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).parent.name == "decoy", proc.stdout


def test_isolation_imports_the_checkouts_extension(redirected_python: Path) -> None:
    proc = run(redirected_python, [REPO / "tools" / "isolate", REPO / "python"])
    assert proc.returncode == 0, proc.stderr
    got = Path(proc.stdout.strip())
    assert got.parent == REPO / "python" / "dlcore" and got.name.startswith("_C"), got
