#!/usr/bin/env python3
"""dlcore's advanced indexing against PyTorch on the same machine, in one run.

The forms a training step uses: rows by index (an embedding lookup) forward and backward (the
scatter-add of the gradient), a bool mask over the whole tensor, assignment by index and by mask,
index_put_ with accumulation of repeated rows, and gather along the last dim. Tensors of
[10000, 128] float32 by default, 4096 rows. Medians of --repeats, alternating the frameworks per
round; GB/s counts the bytes each op must read and write at least. Writes
bench/results/indexing_<device>[_<N>threads].json (no suffix for the default 2 threads).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from common import alternating_median_times, machine, write_result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--rows", type=int, default=10000)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--picks", type=int, default=4096)
    args = p.parse_args()
    import torch

    import dlcore as dl
    torch.set_num_threads(args.threads)
    dl.set_num_threads(args.threads)
    dev = args.device
    sync_torch = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    sync_dl = dl.cuda.synchronize if dev == "cuda" else (lambda: None)

    rng = np.random.default_rng(0)
    values = rng.standard_normal((args.rows, args.width)).astype(np.float32)
    picks = rng.integers(0, args.rows, args.picks)
    grads = rng.standard_normal((args.picks, args.width)).astype(np.float32)
    columns = rng.integers(0, args.width, (args.rows, 16))
    tx, dx = torch.tensor(values, device=dev), dl.tensor(values, device=dev)
    ti, di = torch.tensor(picks, device=dev), dl.tensor(picks, device=dev)
    tg, dg = torch.tensor(grads, device=dev), dl.tensor(grads, device=dev)
    tm, dm = tx > 0.5, dx > 0.5
    tc, dc = torch.tensor(columns, device=dev), dl.tensor(columns, device=dev)
    tleaf, dleaf = tx.clone().requires_grad_(), dl.tensor(values, device=dev, requires_grad=True)
    selected = int(tm.sum())
    row_bytes = args.picks * args.width * 4
    cases = {
        "rows_forward": (lambda m, x, i, g, mask, c, leaf: x[i], 2 * row_bytes),
        "rows_forward_backward": (lambda m, x, i, g, mask, c, leaf: leaf[i].backward(g), 4 * row_bytes + values.nbytes),
        "mask_select": (lambda m, x, i, g, mask, c, leaf: x[mask], values.nbytes + values.size + 8 * selected),
        "setitem_rows": (lambda m, x, i, g, mask, c, leaf: x.__setitem__(i, 1.0), row_bytes),
        "setitem_mask": (lambda m, x, i, g, mask, c, leaf: x.__setitem__(mask, 0.0), values.size + 4 * selected),
        "index_put_accumulate": (lambda m, x, i, g, mask, c, leaf: x.index_put_((i,), g, accumulate=True), 3 * row_bytes),
        "gather_dim1": (lambda m, x, i, g, mask, c, leaf: x.gather(1, c), 12 * columns.size),
    }
    results: dict = {"benchmark": "indexing", "machine": machine(dev), "threads": args.threads,
                     "load_average_1_5_15min_before": list(os.getloadavg()),
                     "shape": [args.rows, args.width], "picks": args.picks, "cases": {}}
    print(f"{'case':24s} {'torch ms':>9s} {'dlcore ms':>9s} {'dlcore/torch':>12s} {'dlcore GB/s':>11s}")
    for name, (fn, nbytes) in cases.items():
        times = alternating_median_times(
            {"torch": lambda: fn(torch, tx, ti, tg, tm, tc, tleaf), "dlcore": lambda: fn(dl, dx, di, dg, dm, dc, dleaf)},
            args.repeats, {"torch": sync_torch, "dlcore": sync_dl})
        t_torch, t_dl = times["torch"][0], times["dlcore"][0]
        results["cases"][name] = {"torch_seconds": t_torch, "dlcore_seconds": t_dl, "ratio": t_dl / t_torch,
                                  "dlcore_gb_per_s": nbytes / t_dl / 1e9}
        print(f"{name:24s} {t_torch * 1e3:9.3f} {t_dl * 1e3:9.3f} {t_dl / t_torch:12.2f} {nbytes / t_dl / 1e9:11.2f}")
    results["load_average_1_5_15min_after"] = list(os.getloadavg())  # DESIGN.md 5: CPU timings state the load
    suffix = "" if args.threads == 2 else f"_{args.threads}thread{'s' if args.threads > 1 else ''}"
    path = write_result(f"indexing_{dev}{suffix}", results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
