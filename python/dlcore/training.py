"""The training loop the main jobs share (train_mnist.py, train_cifar10.py): device choice, one timed
epoch, evaluation, the metrics.jsonl record, checkpoints and resume. Keeping it in one place keeps the
scripts' numbers comparable: the same timing rules, the same keys, the same checkpoint layout. What a
run leaves beside its metrics (TensorBoard, plots, utilisation) is dlcore.evidence's, driven from fit.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import _C, cat, cuda
from .autograd import no_grad
from .evidence.run_dir import CHECKPOINT_NAME, METRICS_NAME
from .evidence.step_profile import StepProfiler
from .nn import functional as F
from .optim import lr_scheduler
from .serialization import load, save


SCHEDULES = ("none", "cosine", "onecycle")


def make_scheduler(schedule: str, optimizer: Any, lr: float, total_steps: int) -> Any:
    """A per-batch schedule over the whole run (as baseline_torch.train_loop.make_scheduler), or None."""
    if schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
    if schedule == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(2, total_steps))
    return None


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (batch sizes, --limit, --threads, --epochs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (--lr)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def training_parser(description: str, *, batch_size: int, default_lr: str, schedule: str, out: str,
                    data_help: str, limit_help: str, model_file: str) -> argparse.ArgumentParser:
    """The flags every dlcore training script shares (pytorch/examples' MNIST flags plus --device,
    --data, --download, --optimizer, --schedule, --threads, --resume, --out, --limit, --cuda-graph,
    --tensorboard/--no-tensorboard, --plots/--no-plots); scripts add their own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--batch-size", type=positive_int, default=batch_size, help=f"training batch size (default {batch_size})")
    p.add_argument("--test-batch-size", type=positive_int, default=1000, help="evaluation batch size (default 1000)")
    p.add_argument("--epochs", type=positive_int, default=10, help="number of epochs (default 10)")
    p.add_argument("--lr", type=positive_float, default=None, help=f"learning rate (default {default_lr})")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd", help="(default sgd)")
    p.add_argument("--schedule", choices=SCHEDULES, default=schedule,
                   help=f"learning-rate schedule stepped every batch over the whole run (default {schedule}; "
                        "cosine anneals to 0, onecycle warms up to --lr then anneals)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--log-interval", type=positive_int, default=10, help="batches between progress-bar loss updates")
    p.add_argument("--dry-run", action="store_true", help="run a single batch of training and evaluation")
    p.add_argument("--profile", type=positive_int, default=None, metavar="N",
                   help="profile N training steps of the first epoch (after one warm-up step) with dl.profiler: "
                        "OUT/profile_top10.txt (top 10 ops by self CPU time) and OUT/trace.json (Chrome trace)")
    p.add_argument("--save-model", action="store_true", help=f"write OUT/{model_file} at the end")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto picks cuda when a GPU is usable (default auto)")
    p.add_argument("--data", default=None, help=data_help)
    p.add_argument("--download", action="store_true",
                   help="fetch the dataset into --data when it is missing (MD5-checked; mirrors overridable "
                        "with DLCORE_MNIST_MIRRORS / DLCORE_CIFAR10_URL)")
    p.add_argument("--threads", type=positive_int, default=None, help="CPU threads for the kernels (default: all cores)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from (e.g. OUT/checkpoint.safetensors)")
    p.add_argument("--out", default=out, help="the run's directory (metrics, checkpoint, TensorBoard, plots); a "
                   f"fresh run needs it empty or new (default {out})")
    p.add_argument("--limit", type=positive_int, default=None, help=limit_help)
    p.add_argument("--no-progress", action="store_true", help="disable the progress bar")
    p.add_argument("--cuda-graph", action="store_true",
                   help="cuda: capture forward+backward once as a CUDA graph and replay it every batch")
    p.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=True,
                   help="write TensorBoard event files into --out (default on; needs tensorboard)")
    p.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                   help="rewrite OUT/plots/*.png after every epoch (default on; needs matplotlib)")
    return p


def pick_device(name: str, cuda_graph: bool = False) -> str:
    """``auto`` -> cuda when usable, else cpu; ``cuda`` without a GPU (or --cuda-graph off the GPU)
    exits 2 with a one-line reason."""
    if name == "auto":
        name = "cuda" if cuda.is_available() else "cpu"
    if name == "cuda" and not cuda.is_available():
        why = "this build has no CUDA backend" if not cuda.built_with_cuda else "no usable GPU was found"
        print(f"error: --device cuda requested but {why}; use --device cpu", file=sys.stderr)
        raise SystemExit(2)  # a usage error, as a missing dataset
    if cuda_graph and name != "cuda":
        print(f"error: --cuda-graph needs the cuda device, but the run uses {name}", file=sys.stderr)
        raise SystemExit(2)
    return name


def peak_memory_bytes(device: str) -> int:
    """Peak CUDA allocation on a GPU, else the process's peak resident set size."""
    if device == "cuda":
        return cuda.max_memory_allocated()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


@dataclass
class Evaluation:
    """What ``evaluate`` measured: mean loss, accuracy (%) and each sample's predicted class, in order;
    with ``top_k``, the share (%) of samples whose label is among the ``top_k`` highest logits."""

    loss: float
    accuracy: float
    predictions: np.ndarray
    top_k: int | None = None
    top_k_accuracy: float | None = None


def _add(total: Any, value: Any) -> Any:
    return value if total is None else total + value


def evaluate(model: Any, loader: Any, *, label_smoothing: float = 0.0, top_k: int | None = None) -> Evaluation:
    """Loss (cross-entropy with ``label_smoothing``, as torch's criterion computes it), accuracy,
    predictions and (with ``top_k``, e.g. 5) the top-k accuracy over ``loader`` in eval mode; sums
    stay on the device until the end."""
    model.eval()
    loss_sum = correct = correct_k = None
    predicted = []
    with no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum = _add(loss_sum, F.cross_entropy(logits, y, reduction="sum", label_smoothing=label_smoothing))
            batch_predicted = logits.argmax(1)
            predicted.append(batch_predicted)
            correct = _add(correct, batch_predicted.eq(y).sum())
            if top_k is not None:  # fewer classes than k: every label is among them (torch's topk would refuse)
                ranked = logits.topk(min(top_k, logits.shape[1]), 1).indices
                correct_k = _add(correct_k, ranked.eq(y.unsqueeze(1)).sum())
    n = loader.num_samples
    top_k_accuracy = 100.0 * correct_k.item() / n if correct_k is not None else None
    return Evaluation(loss_sum.item() / n, 100.0 * correct.item() / n, np.asarray(cat(predicted)), top_k,
                      top_k_accuracy)


@dataclass
class EpochResult:
    """What one training pass measured: mean batch loss, steps, images seen, wall seconds and the
    share (%) of images the model classified right as it trained on them."""

    train_loss: float
    steps: int
    images: int
    seconds: float
    train_accuracy: float | None = None

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def _progress_bar(total: int, desc: str) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety, not a requirement
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=False, dynamic_ncols=True)


def train_step(model: Any, optimizer: Any, x: Any, y: Any, label_smoothing: float = 0.0) -> tuple[Any, Any]:
    """One eager training step with the cross-entropy loss; returns the loss and logits tensors."""
    optimizer.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    loss.backward()
    optimizer.step()
    return loss, logits


class GraphedTrainStep:
    """``train_step`` with forward and backward captured once as a CUDA graph and replayed per batch.

    The first call captures on a copy of its batch (and then replays it); later batches of that
    shape are copied into the captured input tensors before each replay, and the optimizer steps
    eagerly after it (its learning rate may change every batch). A batch of another shape (an
    epoch's short last batch) runs eagerly; the gradient tensors the graph rewrites are put back
    on the parameters afterwards. The model must not be restructured or moved once captured.
    """

    def __init__(self) -> None:
        self.graph: Any = None

    def _capture(self, model: Any, optimizer: Any, x: Any, y: Any) -> None:
        self.params = list(model.parameters())
        self.static_x, self.static_y = x.clone(), y.clone()
        optimizer.zero_grad(set_to_none=True)  # the captured backward creates the gradient buffers
        graph = cuda.CUDAGraph()
        with cuda.graph(graph):
            self.static_logits = model(self.static_x)
            self.static_loss = F.cross_entropy(self.static_logits, self.static_y)
            self.static_loss.backward()
        self.grads = [p.grad for p in self.params]
        self.graph = graph

    def __call__(self, model: Any, optimizer: Any, x: Any, y: Any) -> tuple[Any, Any]:
        if self.graph is None:
            self._capture(model, optimizer, x, y)
        elif x.shape != self.static_x.shape:
            loss, logits = train_step(model, optimizer, x, y)
            for p, g in zip(self.params, self.grads):
                p.grad = g
            return loss, logits
        else:
            self.static_x.copy_(x)
            self.static_y.copy_(y)
        self.graph.replay()
        optimizer.step()
        return self.static_loss, self.static_logits


def train_epoch(model: Any, loader: Any, optimizer: Any, scheduler: Any = None, *, progress: bool = True,
                log_interval: int = 10, dry_run: bool = False, desc: str = "train",
                graphed: GraphedTrainStep | None = None,
                on_log_step: Callable[[int, Any], None] | None = None,
                on_step: Callable[[], None] | None = None, label_smoothing: float = 0.0) -> EpochResult:
    """One pass over ``loader`` in train mode; ``scheduler`` (if any) steps after every batch; with
    ``graphed`` (cuda) each step replays its captured forward and backward. ``on_log_step(step,
    loss)`` is called every ``log_interval`` steps (step 0 first) with that step's loss tensor;
    ``on_step()`` after every step (the --profile steps' profiler). ``label_smoothing`` goes to the
    eager step's cross-entropy (a captured step has none).

    The loss and the count of right predictions are summed on the device and read once at the end,
    so the step loop never waits for the device (except for the progress bar's loss every
    ``log_interval`` batches); that final read also makes the measured seconds include all queued work.
    """
    model.train()
    bar = _progress_bar(len(loader), desc) if progress else None
    loss_sum = correct = None
    steps = images = 0
    start = time.perf_counter()
    run_step = graphed if graphed is not None else functools.partial(train_step, label_smoothing=label_smoothing)
    for step, (x, y) in enumerate(loader):
        loss, logits = run_step(model, optimizer, x, y)
        if scheduler is not None:
            scheduler.step()
        # A copy to start the sum: a replayed step returns the same tensor every batch, rewritten in place.
        loss_sum = loss.detach().clone() if loss_sum is None else loss_sum + loss.detach()
        batch_correct = logits.detach().argmax(1).eq(y).sum()
        correct = batch_correct if correct is None else correct + batch_correct
        steps += 1
        images += x.shape[0]
        if on_step is not None:
            on_step()
        if step % log_interval == 0:
            if on_log_step is not None:
                on_log_step(step, loss)
            if bar is not None:
                bar.set_postfix(loss=f"{loss.item():.4f}")
        if bar is not None:
            bar.update(1)
        if dry_run:
            break
    if steps == 0:
        raise ValueError("train_epoch: the loader yielded no batches")
    train_loss = loss_sum.item() / steps  # waits for the device: the epoch's time is real
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return EpochResult(train_loss, steps, images, seconds, 100.0 * correct.item() / images)


def epoch_record(epoch: int, result: EpochResult, test_loss: float, test_accuracy: float,
                 device: str, lr: float | None = None, evaluation: Evaluation | None = None) -> dict[str, Any]:
    """One metrics.jsonl line; the keys are shared with baseline_torch's records. ``lr``: the
    learning rate at the epoch's end. An ``evaluation`` with a top-k accuracy adds
    ``test_top{k}_accuracy`` (the ImageNet trainer's top-5)."""
    record = {"epoch": epoch, "train_loss": result.train_loss, "train_accuracy": result.train_accuracy,
              "test_loss": test_loss, "test_accuracy": test_accuracy, "lr": lr,
              "seconds": result.seconds, "images_per_second": result.images_per_second,
              "peak_memory_bytes": peak_memory_bytes(device), "device": device, "framework": "dlcore"}
    if evaluation is not None and evaluation.top_k_accuracy is not None:
        record[f"test_top{evaluation.top_k}_accuracy"] = evaluation.top_k_accuracy
    return record


def append_metrics(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Appends ``record`` as one JSON line (a resumed run continues the same file)."""
    with Path(path).open("a") as f:
        f.write(json.dumps(record) + "\n")


def write_config(out: Path, config: dict[str, Any]) -> None:
    """OUT/config.json: the run's settings, for whoever reads the metrics later."""
    (out / "config.json").write_text(json.dumps(config, indent=2, default=str) + "\n")


def save_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any, epoch: int, scheduler: Any = None,
                    record: dict[str, Any] | None = None) -> None:
    """Model, optimizer, scheduler (when given), the finished epoch and its metrics ``record`` (when
    given: a resumed run recovers a line a kill kept out of metrics.jsonl), written atomically by ``dl.save``."""
    state: dict[str, Any] = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    if record is not None:
        state["metrics"] = record
    save(state, path)


def load_checkpoint(path: str | os.PathLike, model: Any, optimizer: Any, scheduler: Any = None) -> int:
    """Restores what ``save_checkpoint`` wrote into the given objects; returns the finished epoch.

    The scheduler is fast-forwarded to the saved step count rather than overwritten: the one given
    was built for this run (its --epochs may be larger than the interrupted run's). ``step(epoch)``
    computes that step's rate in closed form (the schedules' plain ``step()`` is chainable, deriving
    the rate from the previous one), so the same arguments resume exactly.
    """
    state = load(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        if "scheduler" not in state:
            raise ValueError(f"{path}: the checkpoint holds no scheduler state, but this run uses a schedule")
        steps_done = int(state["scheduler"]["last_epoch"])
        with warnings.catch_warnings():
            # torch's deprecation of step(epoch), and the order check: no optimizer step has run yet
            warnings.simplefilter("ignore", UserWarning)
            scheduler.step(steps_done)  # the rate (and momentum, for one-cycle) of step `steps_done`
    return int(state["epoch"])


def fit(model: Any, optimizer: Any, train_loader: Any, test_loader: Any, *, epochs: int, out: Path, device: str,
        start_epoch: int = 1, scheduler: Any = None, progress: bool = True, log_interval: int = 10,
        dry_run: bool = False, cuda_graph: bool = False, evidence: Any = None, profile_steps: int | None = None,
        log: Callable[[str], None] = print, epoch_scheduler: Any = None, label_smoothing: float = 0.0,
        top_k: int | None = None) -> list[dict[str, Any]]:
    """Epochs ``start_epoch..epochs``: train, evaluate, rewrite OUT/checkpoint.safetensors, then
    append to OUT/metrics.jsonl (in that order: see dlcore.evidence.run_dir) and print one summary
    line each. Returns the records. ``cuda_graph`` (cuda only) captures the training step once and
    replays it (see GraphedTrainStep). ``evidence`` (a started dlcore.evidence.RunEvidence, or None)
    is told of every logged step and finished epoch. ``profile_steps`` (--profile N) records the first
    epoch's steps 2..N+1 with dl.profiler into OUT/profile_top10.txt and OUT/trace.json.

    ``epoch_scheduler`` steps once after each epoch's training (torchvision's reference schedules:
    step, cosine, warm-up) and is checkpointed in the scheduler's place (give one or the other);
    ``label_smoothing`` is the training and evaluation criterion's; ``top_k`` (e.g. 5) adds that
    accuracy to every record and summary line."""
    if scheduler is not None and epoch_scheduler is not None:
        raise ValueError("fit: give a per-batch scheduler or an epoch_scheduler, not both")
    if cuda_graph and label_smoothing:
        raise ValueError("fit: cuda_graph captures the plain cross-entropy; label_smoothing needs the eager step")
    if cuda_graph and device != "cuda":
        raise ValueError(f"fit: cuda_graph needs device 'cuda', got {device!r}")
    graphed = GraphedTrainStep() if cuda_graph else None
    records = []
    profiler = StepProfiler(profile_steps, out, log) if profile_steps else None
    try:
        for epoch in range(start_epoch, epochs + 1):
            train_loader.set_epoch(epoch - 1)  # the order depends only on (seed, epoch): resume-safe
            if evidence is not None:
                evidence.begin_epoch(epoch)
            result = train_epoch(model, train_loader, optimizer, scheduler, progress=progress,
                                 log_interval=log_interval, dry_run=dry_run, desc=f"epoch {epoch}", graphed=graphed,
                                 on_log_step=evidence.log_step if evidence is not None else None,
                                 on_step=profiler.step if profiler is not None else None,
                                 label_smoothing=label_smoothing)
            if epoch_scheduler is not None:
                epoch_scheduler.step()
            if profiler is not None:  # one epoch's steps at most: later epochs run unprofiled
                profiler.finish()
                profiler = None
            evaluation = evaluate(model, test_loader, label_smoothing=label_smoothing, top_k=top_k)
            record = epoch_record(epoch, result, evaluation.loss, evaluation.accuracy, device,
                                  optimizer.param_groups[0]["lr"], evaluation)
            save_checkpoint(out / CHECKPOINT_NAME, model, optimizer, epoch,
                            scheduler if scheduler is not None else epoch_scheduler, record)
            append_metrics(out / METRICS_NAME, record)
            records.append(record)
            top_k_text = (f"  test top-{top_k} {evaluation.top_k_accuracy:.2f}%" if top_k is not None else "")
            log(f"epoch {epoch:2d}  train loss {result.train_loss:.4f}  train accuracy {result.train_accuracy:.2f}%  "
                f"test loss {evaluation.loss:.4f}  test accuracy {evaluation.accuracy:.2f}%{top_k_text}  "
                f"{result.seconds:.1f}s  {result.images_per_second:,.0f} img/s")
            if evidence is not None:
                evidence.end_epoch(record, evaluation.predictions, model, result.steps)
            if dry_run:
                break
    finally:
        if profiler is not None:  # an epoch that raised: the recorder must not stay on
            profiler.finish()
    return records


def set_threads(threads: int | None) -> None:
    """--threads: pins the CPU kernels' thread count when given."""
    if threads:
        _C.set_num_threads(threads)


__all__ = ["pick_device", "peak_memory_bytes", "Evaluation", "evaluate", "EpochResult", "train_step",
           "GraphedTrainStep",
           "train_epoch", "epoch_record",
           "append_metrics", "write_config", "save_checkpoint", "load_checkpoint", "fit", "set_threads",
           "CHECKPOINT_NAME", "METRICS_NAME"]
