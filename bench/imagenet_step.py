#!/usr/bin/env python3
"""ImageNet-size training-step time: ResNet-18 and ResNet-50 at 224x224, dlcore against PyTorch eager.

dlcore.models.get_model(name) and baseline_torch.vision_models' torch copy of the same network start
from the same weights and train with SGD (momentum 0.9, weight decay 1e-4) on the same seeded random
batches (batch 32 by default, 1000 classes), held in memory: data loading is excluded (the loader's
rate is bench/imagenet_pipeline.py's). Timed: passes of --steps steps, the median of --repeats
passes after a warm-up pass, the frameworks alternating. Writes bench/results/imagenet_step_cpu.json;
the README turns these step times into epoch estimates.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

import numpy as np

from common import REPO, alternating_median_times, machine, training_flops, write_result


def step_pass(model: Any, optimizer: Any, batches: list, loss_fn: Callable, steps: int) -> Callable[[], None]:
    def run() -> None:
        for step in range(steps):
            x, y = batches[step % len(batches)]
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    return run


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["resnet18", "resnet50"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import torch

    import dlcore as dl
    from dlcore.models import get_model

    sys.path.insert(0, str(REPO))
    from baseline_torch.vision_models import build_vision_model

    torch.set_num_threads(args.threads)
    dl.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = [rng.standard_normal((args.batch_size, 3, args.size, args.size), dtype=np.float32) for _ in range(2)]
    labels = [rng.integers(0, 1000, args.batch_size).astype(np.int64) for _ in range(2)]
    result: dict[str, Any] = {"benchmark": "imagenet_step", "threads": args.threads, "batch_size": args.batch_size,
                              "size": args.size, "steps": args.steps, "repeats": args.repeats,
                              "load_before": open("/proc/loadavg").read().split()[:3], "models": {}}
    for name in args.models:
        torch.manual_seed(0)
        tmodel = build_vision_model(name).train()
        model = get_model(name)
        model.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})
        model.train()
        tbatches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in zip(images, labels)]
        dbatches = [(dl.from_numpy(x), dl.from_numpy(y)) for x, y in zip(images, labels)]
        flops = training_flops(tmodel, tbatches[0][0])
        passes = {"torch": step_pass(tmodel, torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9,
                                                             weight_decay=1e-4),
                                     tbatches, torch.nn.functional.cross_entropy, args.steps),
                  "dlcore": step_pass(model, dl.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4),
                                      dbatches, dl.nn.functional.cross_entropy, args.steps)}
        times = alternating_median_times(passes, args.repeats)
        entry = {"flops_per_step": flops}
        for framework, (seconds, samples) in times.items():
            step = seconds / args.steps
            entry[framework] = {"seconds_per_step": step, "gflops": flops / step / 1e9,
                                "images_per_second": args.batch_size / step, "samples": samples}
        entry["ratio_dlcore_over_torch"] = entry["dlcore"]["seconds_per_step"] / entry["torch"]["seconds_per_step"]
        result["models"][name] = entry
        print(f"{name}: {flops / 1e9:.0f} GFLOP/step  torch {entry['torch']['seconds_per_step']:.2f} s  "
              f"dlcore {entry['dlcore']['seconds_per_step']:.2f} s  ratio {entry['ratio_dlcore_over_torch']:.2f}")
    result["load_after"] = open("/proc/loadavg").read().split()[:3]
    result["machine"] = machine("cpu")
    print("wrote", write_result("imagenet_step_cpu", result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
