"""Per-layer convolution speed: dlcore against PyTorch (oneDNN) on the CPU, layer by layer.

For each convolution shape of ResNet-18 (CIFAR and 224x224), ResNet-50 and the VGG-style CIFAR net,
times the forward pass, the input gradient and the weight gradient in both frameworks, alternating
them within each round so load drifts fall on both alike, and reports GFLOP/s and the fraction of
this machine's measured fp32 peak (the faster of torch.matmul and dlcore.matmul at 2048^3 on the same
threads, in the same run: MKL on AMD reaches about half of what dlcore's GEMM does).

    python bench/conv_layers.py                 # all shape sets, 2 threads
    python bench/conv_layers.py --set resnet18_cifar --repeats 5
Writes bench/results/conv_layers_cpu.json (or --out).
"""
from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import common


@dataclass(frozen=True)
class ConvShape:
    """One convolution: batch N, C -> K channels, H x W input, R x R kernel, stride, padding."""

    N: int
    C: int
    K: int
    H: int
    R: int
    stride: int
    pad: int

    @property
    def out(self) -> int:
        return (self.H + 2 * self.pad - self.R) // self.stride + 1

    @property
    def flops(self) -> float:
        return 2.0 * self.N * self.K * self.out * self.out * self.C * self.R * self.R

    def label(self) -> str:
        return f"{self.C}->{self.K} {self.R}x{self.R}/{self.stride} @{self.H}"


def _resnet_basic_shapes(N: int, size: int, stem: list[ConvShape]) -> list[ConvShape]:
    shapes = list(stem)
    for stage, width in enumerate((64, 128, 256, 512)):
        if stage > 0:
            shapes.append(ConvShape(N, width // 2, width, size, 3, 2, 1))
            shapes.append(ConvShape(N, width // 2, width, size, 1, 2, 0))
            size //= 2
        shapes.append(ConvShape(N, width, width, size, 3, 1, 1))
    return shapes


def _resnet50_shapes(N: int) -> list[ConvShape]:
    shapes = [ConvShape(N, 3, 64, 224, 7, 2, 3)]
    size, inplanes = 56, 64
    for stage, width in enumerate((64, 128, 256, 512)):
        stride = 1 if stage == 0 else 2
        shapes.append(ConvShape(N, inplanes, width, size, 1, 1, 0))          # first block's 1x1 reduce
        shapes.append(ConvShape(N, width, width, size, 3, stride, 1))        # its 3x3 (strided in stages 2-4)
        size //= stride
        shapes.append(ConvShape(N, width, 4 * width, size, 1, 1, 0))         # 1x1 expand
        shapes.append(ConvShape(N, 4 * width, width, size, 1, 1, 0))         # later blocks' 1x1 reduce
        if stage > 0:
            shapes.append(ConvShape(N, width, width, size, 3, 1, 1))         # later blocks' 3x3
        inplanes = 4 * width
    return shapes


def _vgg_cifar_shapes(N: int, width: int = 32) -> list[ConvShape]:
    shapes, size, channels = [], 32, 3
    for out in (width, 2 * width, 4 * width):
        shapes += [ConvShape(N, channels, out, size, 3, 1, 1), ConvShape(N, out, out, size, 3, 1, 1)]
        channels, size = out, size // 2
    return shapes


SHAPE_SETS: dict[str, Callable[[], list[ConvShape]]] = {
    "resnet18_cifar": lambda: _resnet_basic_shapes(64, 32, [ConvShape(64, 3, 64, 32, 3, 1, 1)]),
    "vgg_cifar": lambda: _vgg_cifar_shapes(64),
    "resnet18_224": lambda: _resnet_basic_shapes(32, 56, [ConvShape(32, 3, 64, 224, 7, 2, 3)]),
    "resnet50_224": lambda: _resnet50_shapes(32),
}
PASSES = ("forward", "input_grad", "weight_grad")


def _torch_passes(shape: ConvShape, rng: np.random.Generator) -> dict[str, Callable[[], None]]:
    import torch

    x = torch.from_numpy(rng.standard_normal((shape.N, shape.C, shape.H, shape.H), dtype=np.float32))
    w = torch.from_numpy(rng.standard_normal((shape.K, shape.C, shape.R, shape.R), dtype=np.float32) * 0.05)
    gy = torch.from_numpy(rng.standard_normal((shape.N, shape.K, shape.out, shape.out), dtype=np.float32))
    stride, pad = [shape.stride] * 2, [shape.pad] * 2

    def backward(mask: list[bool]) -> Callable[[], None]:
        return lambda: torch.ops.aten.convolution_backward(gy, x, w, None, stride, pad, [1, 1], False, [0, 0], 1, mask)

    def forward() -> None:
        with torch.no_grad():
            torch.nn.functional.conv2d(x, w, None, shape.stride, shape.pad)

    return {"forward": forward, "input_grad": backward([True, False, False]),
            "weight_grad": backward([False, True, False])}


def _dlcore_passes(shape: ConvShape, rng: np.random.Generator) -> dict[str, Callable[[], None]]:
    import dlcore as dl
    import dlcore.nn.functional as F

    x = dl.from_numpy(rng.standard_normal((shape.N, shape.C, shape.H, shape.H), dtype=np.float32))
    w = dl.from_numpy(rng.standard_normal((shape.K, shape.C, shape.R, shape.R), dtype=np.float32) * 0.05)
    gy = dl.from_numpy(rng.standard_normal((shape.N, shape.K, shape.out, shape.out), dtype=np.float32))

    def backward(needs_input: bool) -> Callable[[], None]:
        # Only the tensor that needs a gradient gets one, so the node runs just that kernel; the
        # graph is recorded once and kept (retain_graph), and clearing .grad first makes each run
        # store the gradient rather than add it.
        xi, wi = x.detach().requires_grad_(needs_input), w.detach().requires_grad_(not needs_input)
        leaf = xi if needs_input else wi
        y = F.conv2d(xi, wi, None, shape.stride, shape.pad)

        def run() -> None:
            leaf.grad = None
            y.backward(gy, retain_graph=True)
        return run

    def forward() -> None:
        with dl.no_grad():
            F.conv2d(x, w, None, shape.stride, shape.pad)

    return {"forward": forward, "input_grad": backward(True), "weight_grad": backward(False)}


def measure_shape(shape: ConvShape, repeats: int) -> dict[str, Any]:
    """Median seconds of each pass in both frameworks, alternated round by round."""
    rng = np.random.default_rng(0)
    passes = {("torch", name): fn for name, fn in _torch_passes(shape, rng).items()}
    passes.update({("dlcore", name): fn for name, fn in _dlcore_passes(shape, rng).items()})
    times = common.alternating_median_times({f"{fw}:{name}": fn for (fw, name), fn in passes.items()}, repeats)
    row: dict[str, Any] = {"shape": shape.label(), "N": shape.N, "C": shape.C, "K": shape.K, "H": shape.H,
                           "R": shape.R, "stride": shape.stride, "gflop": shape.flops / 1e9}
    for framework in ("torch", "dlcore"):
        for name in PASSES:
            row[f"{framework}_{name}_s"] = times[f"{framework}:{name}"][0]
    return row


def fp32_peak_gflops(repeats: int = 5) -> dict[str, float]:
    """This machine's practical fp32 peak on the configured threads: each framework's 2048^3 matmul,
    and their maximum (the ``peak`` fractions are taken against)."""
    import torch

    import dlcore as dl

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    da, db = dl.from_numpy(a.numpy()), dl.from_numpy(b.numpy())
    flop = 2 * 2048 ** 3
    torch_s = min(_timed(lambda: torch.matmul(a, b)) for _ in range(repeats))
    dlcore_s = min(_timed(lambda: dl.matmul(da, db)) for _ in range(repeats))
    rates = {"torch": flop / torch_s / 1e9, "dlcore": flop / dlcore_s / 1e9}
    return {**rates, "peak": max(rates.values())}


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summarise(rows: list[dict[str, Any]], peak: float) -> None:
    for row in rows:
        for framework in ("torch", "dlcore"):
            for name in PASSES:
                gflops = row["gflop"] / row[f"{framework}_{name}_s"]
                row[f"{framework}_{name}_gflops"] = gflops
                row[f"{framework}_{name}_peak_fraction"] = gflops / peak
        for name in PASSES:
            row[f"{name}_ratio"] = row[f"dlcore_{name}_s"] / row[f"torch_{name}_s"]


def print_table(set_name: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{set_name}: GFLOP/s dlcore / torch (time ratio dlcore/torch)")
    print(f"{'shape':<24}" + "".join(f"{name:>26}" for name in PASSES))
    for row in rows:
        cells = [f"{row[f'dlcore_{n}_gflops']:7.0f} /{row[f'torch_{n}_gflops']:4.0f} ({row[f'{n}_ratio']:4.2f}x)"
                 for n in PASSES]
        print(f"{row['shape']:<24}" + "".join(f"{cell:>26}" for cell in cells))
    totals = {fw: sum(row[f"{fw}_{n}_s"] for row in rows for n in PASSES) for fw in ("torch", "dlcore")}
    print(f"{'all passes, summed':<24} dlcore {totals['dlcore']:.3f} s, torch {totals['torch']:.3f} s "
          f"({totals['dlcore'] / totals['torch']:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(SHAPE_SETS), action="append",
                        help="shape set(s) to run (default: all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="result file (default bench/results/conv_layers_cpu.json)")
    args = parser.parse_args()
    import torch

    import dlcore as dl

    torch.set_num_threads(args.threads)
    dl.set_num_threads(args.threads)
    load_before = open("/proc/loadavg").read().split()[:3]
    matmul = fp32_peak_gflops()
    peak = matmul["peak"]
    print(f"fp32 matmul 2048^3 on {args.threads} threads: torch {matmul['torch']:.0f}, dlcore {matmul['dlcore']:.0f} "
          f"GFLOP/s; peak taken as {peak:.0f}")
    results: dict[str, Any] = {"machine": common.machine("cpu"), "threads": args.threads, "repeats": args.repeats,
                               "fp32_peak_gflops": peak, "matmul_2048_gflops": matmul, "sets": {}}
    for set_name in args.set or list(SHAPE_SETS):
        rows = [measure_shape(shape, args.repeats) for shape in SHAPE_SETS[set_name]()]
        summarise(rows, peak)
        print_table(set_name, rows)
        results["sets"][set_name] = rows
    results["load_average"] = [load_before, open("/proc/loadavg").read().split()[:3]]
    results["median_ratio"] = {name: statistics.median(row[f"{name}_ratio"] for rows in results["sets"].values()
                                                       for row in rows) for name in PASSES}
    print("written:", common.write_result("conv_layers_cpu", results, args.out))


if __name__ == "__main__":
    main()
