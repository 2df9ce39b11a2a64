"""The command-line programs fail politely and fast, however dlcore is installed: every user error
(a bad flag value, no GPU, a wrong --resume file, a missing optional package) exits 2 with one
line on stderr and no traceback, before any data is read (the runs point --data at an empty place,
so reaching the data would print a different message); the console scripts pyproject.toml
declares exist; and the checkout's wrappers import a working dlcore whichever copy has the `_C`.
"""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dlcore as dl
from dlcore.cli import run_script

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {"mnist": REPO / "python" / "train_mnist.py", "cifar10": REPO / "python" / "train_cifar10.py"}


def run(script: str, args: list[str], tmp_path: Path, **kw) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(SCRIPTS[script]), "--no-progress", "--data", str(tmp_path / "nodata"),
            "--out", str(tmp_path / "out"), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    for needle in needles:
        assert needle in last, last
    assert "nodata" not in proc.stderr  # failed before looking for the dataset
    return last


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("flag,value", [("--batch-size", "0"), ("--test-batch-size", "-3"), ("--limit", "0"),
                                        ("--lr", "0"), ("--lr", "-0.1"), ("--lr", "nan"), ("--threads", "0"),
                                        ("--epochs", "0"), ("--batch-size", "many")])
def test_bad_numeric_flags_are_usage_errors(script: str, flag: str, value: str, tmp_path: Path) -> None:
    proc = run(script, [f"{flag}={value}"], tmp_path)
    assert_one_line_error(proc, f"argument {flag}", value)
    assert proc.stderr.startswith("usage:")


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_cuda_without_a_gpu_exits_2(script: str, tmp_path: Path) -> None:
    if dl.cuda.is_available():
        pytest.skip("a GPU is usable here")
    assert_one_line_error(run(script, ["--device", "cuda"], tmp_path), "--device cuda", "--device cpu")


def _checkpoint_without_model(tmp_path: Path) -> Path:
    path = tmp_path / "weights.safetensors"
    dl.save({"fc.weight": dl.ones(2, 2)}, path)
    return path


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("case,needle", [("missing", "no checkpoint at"), ("directory", "is a directory"),
                                         ("garbage", "not a readable dlcore checkpoint"),
                                         ("empty", "not a readable dlcore checkpoint"),
                                         ("no-model", "holds no model"), ("device", "not a regular file")])
def test_unusable_resume_file_exits_2(script: str, case: str, needle: str, tmp_path: Path) -> None:
    path = {"missing": lambda: tmp_path / "absent.safetensors", "directory": lambda: tmp_path,
            "garbage": lambda: (tmp_path / "g").write_bytes(b"\xff" * 64) and tmp_path / "g",
            "empty": lambda: (tmp_path / "e").write_bytes(b"") or tmp_path / "e",
            "no-model": lambda: _checkpoint_without_model(tmp_path), "device": lambda: Path("/dev/zero")}[case]()
    assert_one_line_error(run(script, ["--resume", str(path)], tmp_path), "cannot resume", needle)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_help_states_each_default_once(script: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPTS[script]), "--help"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    lines: dict[str, str] = {}  # option -> its whole entry (argparse wraps long ones onto more lines)
    option = ""
    for line in proc.stdout.splitlines():
        if line.startswith("  -"):
            option = line.split()[0].rstrip(",")
            lines[option] = line
        elif option and line.startswith("    "):
            lines[option] += " " + line.strip()
    assert f"(default runs/{script})" in lines["--out"]
    assert lines["--data"].count("default") == 1 and "$DLCORE_DATA" in lines["--data"]
    assert "(default auto" in lines["--device"] and "(default sgd)" in lines["--optimizer"]


def test_missing_pillow_names_the_vision_extra(tmp_path: Path) -> None:
    # A JPEG copy of CIFAR-10 with one (unreadable) image per class: decoding it needs Pillow,
    # which this run hides; a fresh cache directory makes sure nothing decoded earlier is reused.
    for split in ("train", "test"):
        for c in range(10):
            folder = tmp_path / "data" / "cifar10-jpeg" / split / f"class{c}"
            folder.mkdir(parents=True)
            (folder / "0.jpg").write_bytes(b"not a jpeg")
    code = textwrap.dedent(f"""
        import runpy, sys
        sys.modules["PIL"] = None  # as if Pillow were not installed
        sys.argv = ["train_cifar10.py", "--no-progress", "--device", "cpu", "--data", {str(tmp_path / 'data')!r},
                    "--out", {str(tmp_path / 'out')!r}, "--epochs", "1"]
        runpy.run_path({str(SCRIPTS['cifar10'])!r}, run_name="__main__")
    """)
    env = {**os.environ, "DLCORE_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith("pip install 'dlcore[vision]'"), proc.stderr


def test_run_script_passes_other_import_errors_on(capsys: pytest.CaptureFixture) -> None:
    def needs_pillow(argv: object) -> int:
        raise ModuleNotFoundError("No module named 'PIL'", name="PIL")

    def needs_a_typo(argv: object) -> int:
        raise ModuleNotFoundError("No module named 'dlcroe'", name="dlcroe")

    assert run_script(needs_pillow, [], prog="prog") == 2
    assert capsys.readouterr().err == "prog: error: this needs Pillow, which is not installed: " \
                                      "pip install 'dlcore[vision]'\n"
    with pytest.raises(ModuleNotFoundError):  # a bug, not a missing extra: keep the traceback
        run_script(needs_a_typo, [], prog="prog")


@pytest.mark.skipif(tomllib is None, reason="needs tomllib (Python 3.11+) to read pyproject.toml")
def test_console_scripts_point_at_callables() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"dlcore-train-mnist", "dlcore-train-cifar10", "dlcore-train-imagenet"}
    for target in scripts.values():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), target


def _fake_dlcore(where: Path, with_c: bool, tag: str) -> None:
    package = where / "dlcore"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"TAG = {tag!r}\nfrom . import _C\n")
    if with_c:
        (package / "_C.py").write_text("")


@pytest.mark.parametrize("installed", [True, False])
def test_wrapper_prefers_an_installed_dlcore_with_its_extension(installed: bool, tmp_path: Path) -> None:
    # A checkout whose python/dlcore has no _C (as after `pip install .`, which builds into the
    # wheel), next to an installed dlcore that has one: the wrapper must import the installed one,
    # and fall back to the checkout when nothing is installed.
    checkout = tmp_path / "checkout" / "python"
    site = tmp_path / "site"
    _fake_dlcore(checkout, with_c=not installed, tag="checkout")
    if installed:
        _fake_dlcore(site, with_c=True, tag="installed")
    (checkout / "_dlcore_path.py").write_text((REPO / "python" / "_dlcore_path.py").read_text())
    (checkout / "show.py").write_text("import _dlcore_path\n_dlcore_path.use_working_dlcore()\n"
                                      "import dlcore\nprint(dlcore.TAG)\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    # -S: no site-packages, so a dlcore installed in this environment (`pip install -e .`) stays out.
    proc = subprocess.run([sys.executable, "-S", str(checkout / "show.py")], capture_output=True, text=True,
                          timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("installed" if installed else "checkout")


def test_wrapper_without_any_extension_says_how_to_build(tmp_path: Path) -> None:
    checkout = tmp_path / "python"
    _fake_dlcore(checkout, with_c=False, tag="checkout")
    (checkout / "_dlcore_path.py").write_text((REPO / "python" / "_dlcore_path.py").read_text())
    (checkout / "show.py").write_text("import _dlcore_path\n_dlcore_path.use_working_dlcore()\n")
    proc = subprocess.run([sys.executable, "-S", str(checkout / "show.py")], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "pip install -e ." in proc.stderr
