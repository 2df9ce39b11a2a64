# Shared pytest fixtures for dlcore's Python tests: one `device` parameter so every device-aware
# test runs on the CPU and (when a GPU is usable) on CUDA, and the `data_dir` rule of DESIGN.md §4
# (skip without $DLCORE_DATA, fail instead when DLCORE_REQUIRE_DATA=1).
from __future__ import annotations

import os
import pathlib
import sys

import pytest

try:
    import dlcore  # noqa: F401  (an installed or editable dlcore wins)
except ImportError:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "python"))
    import dlcore  # noqa: F401

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))  # `import helpers` from any cwd


def pytest_report_header(config: pytest.Config) -> str:
    return f"dlcore._C: {dlcore._C.__file__}"


def pytest_sessionstart(session: pytest.Session) -> None:
    # tools/test.sh names the _C it has just built; testing any other (a pip-installed or stale one)
    # would pass or fail for the wrong build, so the session stops before collecting anything.
    expected = os.environ.get("DLCORE_EXPECT_C")
    got = os.path.realpath(dlcore._C.__file__)
    if expected and os.path.dirname(got) != os.path.realpath(expected):
        raise pytest.UsageError(f"dlcore._C is {got}, not the one just built in {expected}")


@pytest.fixture(params=["cpu", "cuda"])
def device(request: pytest.FixtureRequest) -> str:
    """The device a test runs on; the cuda case skips where no GPU is usable."""
    if request.param == "cuda" and not dlcore.cuda.is_available():
        pytest.skip("CUDA is not available (CPU-only build or no GPU)")
    return request.param


def _require_data(available: bool, message: str) -> None:
    """Skips a test whose dataset is missing, or fails it when DLCORE_REQUIRE_DATA=1 (as in CI)."""
    if available:
        return
    if os.environ.get("DLCORE_REQUIRE_DATA") == "1":
        pytest.fail(message + " but DLCORE_REQUIRE_DATA=1")
    pytest.skip(message)


@pytest.fixture
def data_dir() -> pathlib.Path:
    """$DLCORE_DATA as a Path; skips when unset, unless DLCORE_REQUIRE_DATA=1 demands the data."""
    root = os.environ.get("DLCORE_DATA", "")
    _require_data(bool(root) and pathlib.Path(root).is_dir(), f"dataset directory not available (DLCORE_DATA={root!r})")
    return pathlib.Path(root)


@pytest.fixture
def cifar_data_dir(data_dir: pathlib.Path) -> pathlib.Path:
    """data_dir, when it holds CIFAR-10 in a layout dl.data.CIFAR10 reads (e.g. not the GPU machine's MNIST-only copy)."""
    layouts = [data_dir / "cifar-10-batches-py", data_dir / "cifar10-jpeg" / "train.zip", data_dir / "cifar10-jpeg" / "train"]
    _require_data(any(p.exists() for p in layouts), f"CIFAR-10 not found under {data_dir}")
    return data_dir


@pytest.fixture
def exact_convolutions():
    """The CPU's 3x3 convolutions without Winograd (dl.backends.cpu.allow_winograd): whole-network
    gradients then agree with PyTorch's elementwise. With it, an activation within ~1e-5 of zero may
    take the other side of a ReLU and move a batch-norm sum by ~1/sqrt(elements)."""
    import dlcore as dl  # noqa: PLC0415

    before = dl.backends.cpu.allow_winograd
    dl.backends.cpu.allow_winograd = False
    yield
    dl.backends.cpu.allow_winograd = before


@pytest.fixture
def one_torch_thread():
    """Tiny PyTorch problems run fastest (and least disturbed by a busy machine) on one thread."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
