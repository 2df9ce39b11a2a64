#!/usr/bin/env python3
"""Our CUDA kernels against PyTorch (cuBLAS/cuDNN) on the same GPU, in one run.

SGEMM at 4096^3 in fp32 with TF32 off on both sides (throughput in TFLOP/s and the ratio), and
conv2d forward+backward on the LeNet layers and on a CIFAR-sized layer (64->64, 3x3, 32x32, batch
128). Timings: median of --repeats after a warm-up, each synchronised. Writes
bench/results/gpu_kernels.json.
"""
from __future__ import annotations

import argparse
import sys

from common import machine, median_time, write_result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--size", type=int, default=4096)
    args = p.parse_args()
    import torch

    import dlcore as dl
    import dlcore.nn.functional as F
    if not (torch.cuda.is_available() and dl.cuda.is_available()):
        print("error: needs a GPU visible to both torch and dlcore", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results: dict = {"benchmark": "gpu_kernels", "machine": machine("cuda")}

    n = args.size
    ta, tb = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")
    da, db = dl.from_numpy(ta.cpu().numpy()).cuda(), dl.from_numpy(tb.cpu().numpy()).cuda()
    t_torch, _ = median_time(lambda: torch.matmul(ta, tb), args.repeats, torch.cuda.synchronize)
    t_dl, _ = median_time(lambda: da @ db, args.repeats, dl.cuda.synchronize)
    flops = 2 * n ** 3
    err = float((torch.from_numpy((da @ db).cpu().numpy()).cuda() - ta @ tb).abs().max() / (ta @ tb).abs().max())
    results["sgemm"] = {"n": n, "torch_seconds": t_torch, "dlcore_seconds": t_dl,
                        "torch_tflops": flops / t_torch / 1e12, "dlcore_tflops": flops / t_dl / 1e12,
                        "dlcore_fraction_of_torch": t_torch / t_dl, "max_rel_error": err}
    print(f"SGEMM {n}^3 fp32 (TF32 off): torch {flops / t_torch / 1e12:.1f} TFLOP/s, dlcore {flops / t_dl / 1e12:.1f} "
          f"TFLOP/s = {100 * t_torch / t_dl:.0f}% of torch (max rel error {err:.1e})")

    layers = {"lenet_conv1": (64, 1, 28, 28, 6, 5, 2), "lenet_conv2": (64, 6, 14, 14, 16, 5, 0),
              "cifar_64x64_3x3": (128, 64, 32, 32, 64, 3, 1)}
    results["conv2d_fwd_bwd"] = {}
    for name, (N, C, H, W, K, R, pad) in layers.items():
        tx = torch.randn(N, C, H, W, device="cuda", requires_grad=True)
        tw = torch.randn(K, C, R, R, device="cuda", requires_grad=True)
        tbias = torch.randn(K, device="cuda", requires_grad=True)
        dx = dl.from_numpy(tx.detach().cpu().numpy()).cuda().requires_grad_()
        dw = dl.from_numpy(tw.detach().cpu().numpy()).cuda().requires_grad_()
        dbias = dl.from_numpy(tbias.detach().cpu().numpy()).cuda().requires_grad_()

        def torch_step() -> None:
            torch.nn.functional.conv2d(tx, tw, tbias, padding=pad).sum().backward()

        def dl_step() -> None:
            F.conv2d(dx, dw, dbias, padding=pad).sum().backward()

        t_torch, _ = median_time(torch_step, args.repeats, torch.cuda.synchronize)
        t_dl, _ = median_time(dl_step, args.repeats, dl.cuda.synchronize)
        results["conv2d_fwd_bwd"][name] = {"shape": [N, C, H, W, K, R, pad], "torch_seconds": t_torch,
                                           "dlcore_seconds": t_dl, "ratio_dlcore_over_torch": t_dl / t_torch}
        print(f"conv2d fwd+bwd {name}: torch {1e3 * t_torch:.3f} ms, dlcore {1e3 * t_dl:.3f} ms, "
              f"ratio {t_dl / t_torch:.2f}")
    print("wrote", write_result("gpu_kernels", results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
