"""The trainers' run directory (--out) from the command line's side: the policy for a non-empty
one, "nothing left to do" on a finished run, and starting the evidence
(TensorBoard, plots, utilisation) that dlcore.evidence records.

Policy: a fresh run (no --resume) refuses an --out that already holds anything, with exit status 2
and the way out in the message, so old results are never appended to nor overwritten. A resumed
run continues its directory: metrics.jsonl is first made to hold each finished epoch exactly once
(dlcore.evidence.run_dir.reconcile_metrics).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..evidence import RunEvidence, reconcile_metrics
from ..evidence.recorder import first_step_of
from ..evidence.run_dir import CHECKPOINT_NAME, METRICS_NAME, PLOTS_DIR
from ..serialization import save
from ..training import fit
from . import UsageFailure, missing_extra_message


def refuse_non_empty_out(out: Path, resume: str | None) -> None:
    """A fresh run needs an empty or new --out; a resumed one continues whatever is there."""
    if out.exists() and not out.is_dir():
        raise UsageFailure(f"--out {out} is a file, not a directory")
    if resume is not None or not out.is_dir():
        return
    held = sorted(p.name for p in out.iterdir())
    if held:
        shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
        raise UsageFailure(f"--out {out} already holds a run ({shown}); continue it with --resume "
                           f"{out / CHECKPOINT_NAME}, or pick another --out (or delete that one)")


def nothing_left_message(state: dict[str, Any] | None, resume: str | None, epochs: int) -> str | None:
    """The line to print (then exit 0) when ``resume``'s checkpoint has already done ``epochs`` epochs."""
    if state is None or int(state["epoch"]) < epochs:
        return None
    return (f"nothing left to do: {resume} has finished epoch {int(state['epoch'])} and --epochs is {epochs} "
            "(pass a larger --epochs to train further)")


def _available(module: str, what: str) -> bool:
    """Whether optional ``module`` imports; if not, one line says what is skipped and what to install."""
    try:
        __import__(module)
    except ModuleNotFoundError as error:
        advice = missing_extra_message(error) or str(error)
        print(f"note: {what} skipped: {advice}", file=sys.stderr)
        return False
    return True


def describe_outputs(out: Path, evidence: RunEvidence) -> str:
    """One line naming what goes (or went) where."""
    parts = [METRICS_NAME, CHECKPOINT_NAME, "config.json", "test_evaluation.json", "utilisation.jsonl"]
    if evidence.plots_dir is not None:
        parts.append(f"{PLOTS_DIR}/*.png")
    line = f"outputs: {out}/ ({', '.join(parts)})"
    if evidence.writer is not None:
        line += f"; TensorBoard: tensorboard --logdir {out}"
    return line


def start_evidence(args: argparse.Namespace, out: Path, *, title: str, device: str, model: Any, optimizer: Any,
                   train_loader: Any, test_set: Any, test_loader: Any, start_epoch: int,
                   resume_state: dict[str, Any] | None, config: dict[str, Any]) -> RunEvidence:
    """Reconciles a resumed run's metrics, opens the writer (purging what a killed run logged past its
    checkpoint) and starts a RunEvidence; the caller must ``close()`` it."""
    steps_per_epoch = len(train_loader)
    recovered = None
    if resume_state is not None:
        recovered = reconcile_metrics(out / METRICS_NAME, start_epoch - 1, resume_state.get("metrics"))
    writer = None
    if args.tensorboard and _available("tensorboard", "TensorBoard logging"):
        from ..utils.tensorboard import SummaryWriter  # noqa: PLC0415  (an optional dependency)

        purge_step = first_step_of(start_epoch, steps_per_epoch) + 1 if start_epoch > 1 else None
        writer = SummaryWriter(out, purge_step=purge_step)
    plots_dir = out / PLOTS_DIR if args.plots and _available("matplotlib", "plots") else None
    evidence = RunEvidence(out, title=title, device=device, steps_per_epoch=steps_per_epoch, test_set=test_set,
                           num_test=test_loader.num_samples, writer=writer, plots_dir=plots_dir)
    if recovered is not None:
        print(f"recovered the metrics of epoch {start_epoch - 1} from the checkpoint (the run stopped before "
              "writing them)")
        evidence.log_epoch_scalars(recovered, first_step_of(start_epoch, steps_per_epoch))
    example_images, _ = next(iter(test_loader))
    evidence.start(model, optimizer, example_images[:1], start_epoch, config)
    print(describe_outputs(out, evidence))
    return evidence


def train_with_evidence(args: argparse.Namespace, out: Path, *, title: str, device: str, model: Any, optimizer: Any,
                        scheduler: Any, train_loader: Any, test_set: Any, test_loader: Any, start_epoch: int,
                        resume_state: dict[str, Any] | None, config: dict[str, Any], model_file: str,
                        epoch_scheduler: Any = None, label_smoothing: float = 0.0, top_k: int | None = None) -> None:
    """The trainers' shared run: starts the evidence, fits with the shared flags, closes the evidence
    whatever happens, writes OUT/``model_file`` with --save-model and names the outputs.
    ``epoch_scheduler``, ``label_smoothing`` and ``top_k`` go to ``fit`` (the ImageNet trainer's)."""
    evidence = start_evidence(args, out, title=title, device=device, model=model, optimizer=optimizer,
                              train_loader=train_loader, test_set=test_set, test_loader=test_loader,
                              start_epoch=start_epoch, resume_state=resume_state, config=config)
    try:
        fit(model, optimizer, train_loader, test_loader, epochs=args.epochs, start_epoch=start_epoch, out=out,
            device=device, scheduler=scheduler, progress=not args.no_progress, log_interval=args.log_interval,
            dry_run=args.dry_run, cuda_graph=args.cuda_graph, evidence=evidence, profile_steps=args.profile,
            epoch_scheduler=epoch_scheduler, label_smoothing=label_smoothing, top_k=top_k)
    finally:
        evidence.close()
    if args.save_model:
        save(model.state_dict(), out / model_file)
    print(describe_outputs(out, evidence))


__all__ = ["refuse_non_empty_out", "nothing_left_message", "describe_outputs", "start_evidence", "train_with_evidence"]
