#!/usr/bin/env python3
"""LeNet-5 training throughput, dlcore against PyTorch eager, in one run on one machine.

Both frameworks start from the same weights and train on the same MNIST batches (same order) held
in memory on the target device, with the same optimizer (SGD, momentum 0.9), batch size and thread
count. Timed: whole training passes over the full batches of --images images (default: an epoch,
937 batches of 64), or over --steps batches of the first --steps x --batch-size images when given
(a shorter run, for bench/before_after.py to repeat), median of --repeats runs after a warm-up, the two frameworks
alternating run by run. Data loading is excluded for both: batches are gathered from tensors
already in memory. GFLOP/s count the convolutions and linear layers (common.training_flops). On cuda dlcore is timed twice: eager, and with
forward+backward captured once as a CUDA graph and replayed per batch (dlcore.training's
GraphedTrainStep, as train_mnist.py --cuda-graph; the optimizer step runs after each replay).
Prints the ratios dlcore / PyTorch (< 1 means dlcore is faster) and writes
bench/results/lenet_train_<device>.json.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from common import alternating_median_times, machine, median_time, training_flops, write_result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--images", type=int, default=60000, help="images per timed pass (default: one epoch)")
    p.add_argument("--steps", type=int, default=None, help="time this many batches per pass instead of --images")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", default=None)
    p.add_argument("--name", default=None, help="result file name (default lenet_train_<device>)")
    p.add_argument("--output", default=None, help="write the JSON here instead of bench/results/<name>.json")
    args = p.parse_args()

    import torch

    import dlcore as dl
    from dlcore.data import MNIST, DataLoader, data_root, normalize_images
    from dlcore.models import LeNet5
    from dlcore.training import GraphedTrainStep

    torch.set_num_threads(args.threads)
    dl.set_num_threads(args.threads)
    if args.device == "cuda" and not (torch.cuda.is_available() and dl.cuda.is_available()):
        print("error: --device cuda needs a GPU visible to both torch and dlcore", file=sys.stderr)
        return 2
    dataset = MNIST(data_root(args.data), train=True)
    images = args.images if args.steps is None else args.steps * args.batch_size
    n = min(images, len(dataset)) // args.batch_size * args.batch_size  # full batches only
    if n == 0:
        print(f"error: --images must hold at least one batch of {args.batch_size}", file=sys.stderr)
        return 2

    # PyTorch: the normalised dataset as one device tensor; a batch is an index_select.
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10)).to(args.device)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
    tx = torch.from_numpy(normalize_images(dataset.images[:n], dataset.mean, dataset.std)).to(args.device)
    ty = torch.from_numpy(dataset.labels[:n].astype(np.int64)).to(args.device)
    order = np.random.default_rng(0).permutation(n)
    batches = [torch.from_numpy(order[i:i + args.batch_size]).to(args.device) for i in range(0, n, args.batch_size)]

    def torch_pass() -> None:
        for idx in batches:
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tmodel(tx.index_select(0, idx)), ty.index_select(0, idx))
            loss.backward()
            topt.step()

    # dlcore: same weights (state dict conversion), same batches via its device-side gather.
    model = LeNet5().to(args.device)
    names = [k for k, _ in model.named_parameters()]
    model.load_state_dict({name: v.detach().cpu().numpy() for name, v in zip(names, tmodel.state_dict().values())})
    opt = dl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(dataset, args.batch_size, shuffle=False, device=args.device, limit=n)
    dindex = [dl.from_numpy(order[i:i + args.batch_size]).to(args.device) for i in range(0, n, args.batch_size)]
    gather = dl._C.functional.gather_normalize

    def dlcore_pass() -> None:
        for idx in dindex:
            x, y = gather(loader._images, loader._labels, idx, list(dataset.mean), list(dataset.std), False)
            opt.zero_grad()
            loss = dl.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

    def dlcore_graph_pass() -> None:  # the step train_mnist.py --cuda-graph takes
        for idx in dindex:
            x, y = gather(loader._images, loader._labels, idx, list(dataset.mean), list(dataset.std), False)
            graphed(model, opt, x, y)

    tsync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    dsync = dl.cuda.synchronize if args.device == "cuda" else (lambda: None)
    times = alternating_median_times({"torch": torch_pass, "dlcore": dlcore_pass}, args.repeats,
                                     {"torch": tsync, "dlcore": dsync})
    (t_torch, s_torch), (t_dl, s_dl) = times["torch"], times["dlcore"]
    flops = training_flops(tmodel, tx[:args.batch_size]) * (n // args.batch_size)  # per pass
    ratio = t_dl / t_torch
    print(f"LeNet-5 training, {n} images, batch {args.batch_size}, {args.device}, {args.threads} threads; "
          f"{flops / 1e9:.1f} GFLOP per pass (conv + linear)")
    print(f"  PyTorch {torch.__version__}: {t_torch:.2f} s  ({n / t_torch:,.0f} img/s, {flops / t_torch / 1e9:.1f} GFLOP/s)")
    print(f"  dlcore            : {t_dl:.2f} s  ({n / t_dl:,.0f} img/s, {flops / t_dl / 1e9:.1f} GFLOP/s)")
    print(f"  ratio dlcore/PyTorch = {ratio:.3f}  ({'dlcore faster' if ratio < 1 else 'PyTorch faster'})")
    result = {"benchmark": "lenet_train", "device": args.device, "threads": args.threads, "batch_size": args.batch_size,
              "images": n, "repeats": args.repeats, "torch_seconds": t_torch, "dlcore_seconds": t_dl,
              "torch_samples": s_torch, "dlcore_samples": s_dl, "ratio_dlcore_over_torch": ratio,
              "flops_per_pass": flops, "torch_gflops": flops / t_torch / 1e9, "dlcore_gflops": flops / t_dl / 1e9,
              "machine": machine(args.device)}
    if args.device == "cuda":
        graphed = GraphedTrainStep()  # captures on the first batch of the warm-up pass
        t_graph, s_graph = median_time(dlcore_graph_pass, args.repeats, dsync)
        print(f"  dlcore, CUDA graph: {t_graph:.2f} s  ({n / t_graph:,.0f} img/s, {flops / t_graph / 1e9:.1f} GFLOP/s), "
              f"ratio dlcore/PyTorch = {t_graph / t_torch:.3f}")
        result.update(dlcore_graph_seconds=t_graph, dlcore_graph_samples=s_graph,
                      ratio_dlcore_graph_over_torch=t_graph / t_torch)
    print("wrote", write_result(args.name or f"lenet_train_{args.device}", result, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
