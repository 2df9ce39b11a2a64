"""What tools/test_wheel.sh runs with the fresh venv's interpreter, from outside the checkout, after
installing the wheel `pip wheel .` built: the installed dlcore must be the venv's (not the checkout's
python/), its compiled module must not need the CUDA driver, runtime or compiler to load (the wheel is
meant for machines without nvcc, a GPU or a driver: cudart is linked statically and loads the driver
only when a CUDA call is made), and it must train: a few SGD steps on a small regression problem bring
the loss down, through the C++ autograd, the optimizer and the console-script entry points.

Usage: <venv>/bin/python wheel_smoke.py <venv>; exit status 0 when every check holds.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys


def _fail(message: str) -> None:
    sys.exit(f"wheel check: {message}")


def check_location(venv: str) -> None:
    import dlcore
    import dlcore._C as c
    real_venv = os.path.realpath(venv)
    for what, path in (("dlcore", dlcore.__file__), ("dlcore._C", c.__file__)):
        if not os.path.realpath(path).startswith(real_venv + os.sep):
            _fail(f"{what} was imported from {path}, not from the venv {venv}")
    print(f"wheel check: dlcore._C under test: {c.__file__}")


def needed_libraries(path: str) -> list[str]:
    """The shared libraries an ELF file names as DT_NEEDED (readelf -d)."""
    if shutil.which("readelf") is None:
        _fail("readelf (binutils) is missing: cannot list what the compiled module links against")
    dynamic = subprocess.run(["readelf", "-d", path], check=True, capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].split("]", 1)[0] for line in dynamic.splitlines() if "(NEEDED)" in line]


def check_links_no_cuda() -> None:
    import dlcore._C as c
    needed = needed_libraries(c.__file__)
    cuda = [name for name in needed if name.startswith(("libcuda", "libcudart", "libnvrtc", "libcublas"))]
    if cuda:
        _fail(f"{c.__file__} needs {cuda} at load time; a machine without CUDA could not import it")
    print(f"wheel check: the module needs only {needed}")


def check_trains() -> None:
    import dlcore as dl
    dl.manual_seed(0)
    # Asking must not crash without a driver; with none, the answer must be no.
    if dl.cuda.is_available() and os.environ.get("DLCORE_WHEEL_EXPECT_NO_GPU") == "1":
        _fail("dlcore.cuda.is_available() is True on a machine the test command found without a GPU")
    x = dl.randn(64, 8)
    y = x @ dl.randn(8, 1) + 0.5
    model = dl.nn.Sequential(dl.nn.Linear(8, 16), dl.nn.ReLU(), dl.nn.Linear(16, 1))
    opt = dl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = dl.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if not losses[-1] < 0.25 * losses[0]:
        _fail(f"30 SGD steps took the loss from {losses[0]:.4f} only to {losses[-1]:.4f}")
    print(f"wheel check: loss {losses[0]:.4f} -> {losses[-1]:.4f} in 30 steps")


def check_console_scripts(venv: str) -> None:
    for name in ("dlcore-train-mnist", "dlcore-train-cifar10", "dlcore-train-imagenet"):
        script = os.path.join(venv, "bin", name)
        done = subprocess.run([script, "--help"], capture_output=True, text=True)
        if done.returncode != 0 or "usage:" not in done.stdout:
            _fail(f"{name} --help exited {done.returncode}: {done.stderr.strip()[-400:]}")
    print("wheel check: console scripts answer --help")


def main() -> None:
    if len(sys.argv) != 2:
        _fail("usage: <venv>/bin/python wheel_smoke.py <venv>")
    venv = sys.argv[1]
    check_location(venv)
    check_links_no_cuda()
    check_trains()
    check_console_scripts(venv)


if __name__ == "__main__":
    main()
