#!/usr/bin/env python3
"""CIFAR-10 training-step time, dlcore against PyTorch eager, in one run on one machine.

The model is one both packages define: by default (--model vgg) the VGG-style CIFAR-10 CNN
(dlcore.models.CifarVGG and baseline_torch.models.CifarVGG: width 32, batch norm); --model resnet18 /
vgg16_bn take train_cifar10.py's ResNet-18 (CIFAR stem) / VGG-16-BN (CIFAR head) from dlcore.models
and baseline_torch.vision_models. It is trained with SGD (momentum 0.9) from the same
weights on the same batches of 128: seeded random images and labels held in memory, so no dataset
is needed and data loading is excluded. Timed: passes of --steps training steps, median of
--repeats passes after a warm-up pass, the two frameworks alternating pass by pass (the order
reversed every other pass) so that changing machine load hits both alike. GFLOP/s count the
convolutions and linear layers (bench/common.py: training_flops). Prints the ratio dlcore / PyTorch
(< 1 means dlcore is faster) and writes bench/results/vgg_cifar_train_<device>.json (for another
--model: <model>_cifar_train_<device>.json).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from common import REPO, alternating_median_times, machine, training_flops, write_result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--model", choices=["vgg", "resnet18", "vgg16_bn"], default="vgg", help="the network (default vgg)")
    p.add_argument("--width", type=int, default=32, help="vgg: CifarVGG width (channels of the first block)")
    p.add_argument("--steps", type=int, default=10, help="training steps per timed pass")
    p.add_argument("--repeats", type=int, default=5, help="timed passes per framework (the median is reported)")
    p.add_argument("--batches", type=int, default=4, help="distinct random batches, cycled through the steps")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="result file name (default vgg_cifar_train_<device>)")
    p.add_argument("--output", default=None, help="write the JSON here instead of bench/results/<name>.json")
    args = p.parse_args()
    if min(args.steps, args.repeats, args.batches, args.batch_size, args.threads) < 1:
        print("error: --steps, --repeats, --batches, --batch-size and --threads must be >= 1", file=sys.stderr)
        return 2

    import torch

    import dlcore as dl
    from dlcore.models import CifarVGG, get_model

    sys.path.insert(0, str(REPO))  # baseline_torch sits at the repository root
    from baseline_torch.models import CifarConfig
    from baseline_torch.models import CifarVGG as TorchCifarVGG
    from baseline_torch.vision_models import build_vision_model

    torch.set_num_threads(args.threads)
    dl.set_num_threads(args.threads)
    if args.device == "cuda" and not (torch.cuda.is_available() and dl.cuda.is_available()):
        print("error: --device cuda needs a GPU visible to both torch and dlcore", file=sys.stderr)
        return 2

    rng = np.random.default_rng(args.seed)
    images = [rng.standard_normal((args.batch_size, 3, 32, 32), dtype=np.float32) for _ in range(args.batches)]
    labels = [rng.integers(0, 10, args.batch_size).astype(np.int64) for _ in range(args.batches)]
    schedule = [i % args.batches for i in range(args.steps)]

    torch.manual_seed(args.seed)
    if args.model == "vgg":
        tmodel = TorchCifarVGG(CifarConfig(batch_norm=True, width=args.width))
        model = CifarVGG(width=args.width, batch_norm=True)
        title = f"CifarVGG (width {args.width}, batch norm)"
    else:
        tmodel = build_vision_model(args.model, 10, "cifar")
        model = get_model(args.model, num_classes=10, **{"stem" if args.model == "resnet18" else "head": "cifar"})
        title = f"{args.model} (CIFAR variant)"
    tmodel = tmodel.to(args.device).train()
    tbatches = [(torch.from_numpy(x).to(args.device), torch.from_numpy(y).to(args.device))
                for x, y in zip(images, labels)]
    flops_per_step = training_flops(tmodel, tbatches[0][0])
    # dlcore starts from PyTorch's weights and batch-norm state (same keys, same order).
    model.load_state_dict({k: v.detach().cpu().numpy() for k, v in tmodel.state_dict().items()})
    model = model.to(args.device)
    model.train()
    dbatches = [(dl.from_numpy(x).to(args.device), dl.from_numpy(y).to(args.device)) for x, y in zip(images, labels)]
    topt = torch.optim.SGD(tmodel.parameters(), lr=args.lr, momentum=0.9)
    opt = dl.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    def torch_pass() -> None:
        for i in schedule:
            x, y = tbatches[i]
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tmodel(x), y)
            loss.backward()
            topt.step()

    def dlcore_pass() -> None:
        for i in schedule:
            x, y = dbatches[i]
            opt.zero_grad()
            loss = dl.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

    syncs = {"torch": torch.cuda.synchronize, "dlcore": dl.cuda.synchronize} if args.device == "cuda" else None
    times = alternating_median_times({"torch": torch_pass, "dlcore": dlcore_pass}, args.repeats, syncs)
    (t_torch, s_torch), (t_dl, s_dl) = times["torch"], times["dlcore"]
    step_torch, step_dl = t_torch / args.steps, t_dl / args.steps
    ratio = t_dl / t_torch
    print(f"{title} training, batch {args.batch_size}, {args.steps} steps per pass, "
          f"median of {args.repeats}, {args.device}, {args.threads} threads; "
          f"{flops_per_step / 1e9:.1f} GFLOP per step (conv + linear)")
    print(f"  PyTorch {torch.__version__}: {step_torch * 1e3:8.1f} ms/step  ({flops_per_step / step_torch / 1e9:6.1f} GFLOP/s)")
    print(f"  dlcore            : {step_dl * 1e3:8.1f} ms/step  ({flops_per_step / step_dl / 1e9:6.1f} GFLOP/s)")
    print(f"  ratio dlcore/PyTorch = {ratio:.3f}  ({'dlcore faster' if ratio < 1 else 'PyTorch faster'})")
    result = {"benchmark": "vgg_cifar_train", "model": args.model, "device": args.device, "threads": args.threads,
              "batch_size": args.batch_size, "width": args.width, "steps": args.steps, "repeats": args.repeats,
              "flops_per_step": flops_per_step, "torch_seconds": t_torch, "dlcore_seconds": t_dl,
              "torch_samples": s_torch, "dlcore_samples": s_dl,
              "torch_gflops": flops_per_step / step_torch / 1e9, "dlcore_gflops": flops_per_step / step_dl / 1e9,
              "ratio_dlcore_over_torch": ratio, "machine": machine(args.device)}
    default_name = f"vgg_cifar_train_{args.device}" if args.model == "vgg" else f"{args.model}_cifar_train_{args.device}"
    print("wrote", write_result(args.name or default_name, result, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
