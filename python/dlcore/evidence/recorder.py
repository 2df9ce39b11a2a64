"""``RunEvidence``: what a training run leaves beside its metrics — TensorBoard logs, plots, utilisation.

dlcore.training.fit calls it at four points: ``start`` (the graph, once per run directory, and the
utilisation sampler), ``log_step`` every --log-interval steps, ``end_epoch`` and ``close``. The
step loop itself only keeps a detached copy of the loss at the logged steps: the values are read
after the epoch's own final wait for the device, so logging adds no host synchronisation per step.

TensorBoard's step axis is the global training step throughout (epoch values at the epoch's last
step), so the ``purge_step`` of a resumed run's writer discards exactly what the killed run logged
after its last checkpoint.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import stack
from .evaluation import confusion_matrix, per_class_accuracy, write_evaluation
from .run_dir import EVALUATION_NAME, METRICS_NAME, read_metrics
from .utilisation import UTILISATION_NAME, UtilisationSample, UtilisationSampler, append_jsonl, read_utilisation

GIB = float(1 << 30)

# metrics.jsonl key -> TensorBoard tag of the per-epoch scalars.
EPOCH_TAGS = {"train_loss": "loss/train", "test_loss": "loss/test", "train_accuracy": "accuracy/train",
              "test_accuracy": "accuracy/test", "lr": "learning_rate/epoch_end",
              "images_per_second": "throughput/images_per_second", "seconds": "time/epoch_seconds"}


def first_step_of(epoch: int, steps_per_epoch: int) -> int:
    """The global step count before ``epoch`` (1-based) starts."""
    return (epoch - 1) * steps_per_epoch


class RunEvidence:
    """TensorBoard logging, plots and utilisation sampling for one run into ``out``.

    ``writer``: a SummaryWriter, or None for no TensorBoard. ``plots_dir``: where the PNGs go, or
    None for no plots. ``test_set`` provides the class names, images and labels the evaluation's
    predictions refer to (its first ``num_test`` samples, in order); a dataset read from disk
    (ImageFolder) has ``targets`` for labels and no ``images``, and its plots leave out the
    misclassified images. ``device`` decides whether the
    sampler reads the GPU.
    """

    def __init__(self, out: Path, *, title: str, device: str, steps_per_epoch: int, test_set: Any, num_test: int,
                 writer: Any | None, plots_dir: Path | None, sample_interval: float = 0.5) -> None:
        self.out, self.title, self.writer, self.plots_dir = out, title, writer, plots_dir
        self.steps_per_epoch = steps_per_epoch
        self.class_names = [str(name) for name in test_set.classes]
        images = getattr(test_set, "images", None)
        self.test_images = images[:num_test] if images is not None else None
        labels = test_set.labels if hasattr(test_set, "labels") else test_set.targets
        self.test_labels = np.asarray(labels[:num_test]).astype(np.int64)
        self.global_step = 0
        self.epoch_first_step = 0
        self.pending: list[tuple[int, Any, float]] = []  # (global step, detached loss tensor, lr)
        self.optimizer: Any = None
        self.plotted = False
        self.sampler = UtilisationSampler(lambda: self.global_step, use_gpu=device == "cuda", interval=sample_interval)

    def start(self, model: Any, optimizer: Any, example_input: Any, start_epoch: int,
              config: dict[str, Any]) -> None:
        """Starts sampling; a fresh run (``start_epoch`` 1) also logs the config and the model's graph."""
        self.optimizer = optimizer
        self.global_step = first_step_of(start_epoch, self.steps_per_epoch)
        if self.writer is not None and start_epoch == 1:
            self.writer.add_text("config", "```\n" + json.dumps(config, indent=2, default=str) + "\n```")
            was_training = model.training
            model.eval()  # one forward with no side effects: batch norm's running statistics stay as they are
            try:
                self.writer.add_graph(model, example_input)
            finally:
                model.train(was_training)
        self.sampler.start()
        append_jsonl(self.out / UTILISATION_NAME, [], header=self.sampler.header())

    def begin_epoch(self, epoch: int) -> None:
        self.epoch_first_step = first_step_of(epoch, self.steps_per_epoch)

    def log_step(self, step_in_epoch: int, loss: Any) -> None:
        """Keeps the loss of one logged step (a copy: a replayed CUDA graph rewrites its loss in place)."""
        self.global_step = self.epoch_first_step + step_in_epoch + 1
        self.pending.append((self.global_step, loss.detach().clone(), self.optimizer.param_groups[0]["lr"]))

    def _flush_steps(self) -> None:
        pending, self.pending = self.pending, []
        if self.writer is None or not pending:
            return
        losses = np.asarray(stack([loss for _, loss, _ in pending]))  # one read for the epoch's logged steps
        for (step, _, lr), loss in zip(pending, losses):
            self.writer.add_scalar("loss/train_step", float(loss), step)
            self.writer.add_scalar("learning_rate/step", lr, step)

    def log_epoch_scalars(self, record: dict[str, Any], step: int) -> None:
        """The per-epoch scalars of one metrics.jsonl record (also used for a record recovered on resume)."""
        if self.writer is None:
            return
        for key, tag in EPOCH_TAGS.items():
            if record.get(key) is not None:
                self.writer.add_scalar(tag, record[key], step)

    def _log_histograms(self, model: Any, step: int) -> None:
        for name, parameter in model.named_parameters():
            for tag, values in ((f"weights/{name}", parameter), (f"gradients/{name}", parameter.grad)):
                array = None if values is None else np.asarray(values)
                if array is not None and array.size and np.isfinite(array).any():  # a diverged run has none
                    self.writer.add_histogram(tag, array, step)

    def _log_samples(self, samples: list[UtilisationSample]) -> None:
        if self.writer is None:
            return
        for s in samples:
            values = {"cpu_percent": s.cpu_percent, "process_cpu_percent": s.process_cpu_percent,
                      "rss_gib": None if s.rss_bytes is None else s.rss_bytes / GIB, "gpu_percent": s.gpu_percent,
                      "gpu_memory_gib": None if s.gpu_memory_bytes is None else s.gpu_memory_bytes / GIB,
                      "gpu_power_watts": s.gpu_power_watts}
            for key, value in values.items():
                if value is not None:
                    self.writer.add_scalar(f"utilisation/{key}", value, s.step, walltime=s.time)

    def _drain_samples(self) -> None:
        samples = self.sampler.drain()
        append_jsonl(self.out / UTILISATION_NAME, samples)
        self._log_samples(samples)

    def end_epoch(self, record: dict[str, Any], predictions: np.ndarray, model: Any, steps: int) -> None:
        """Logs a finished epoch (written to metrics.jsonl already) and rewrites the plots."""
        step = self.global_step = self.epoch_first_step + steps
        self._flush_steps()
        self.log_epoch_scalars(record, step)
        matrix = confusion_matrix(self.test_labels, predictions, len(self.class_names))
        write_evaluation(self.out / EVALUATION_NAME, record["epoch"], self.class_names, matrix)
        if self.writer is not None:
            for name, value in zip(self.class_names, per_class_accuracy(matrix)):
                self.writer.add_scalar(f"test_per_class_accuracy/{name}", value, step)
            self._log_histograms(model, step)
        self._drain_samples()
        if self.writer is not None:
            self.writer.flush()
        if self.plots_dir is not None:
            self._plot_epoch(record, matrix, predictions)
            self.plotted = True

    def _plot_curves(self) -> None:
        from . import plots  # noqa: PLC0415  (matplotlib is optional: only a run with plots imports it)

        _, samples = read_utilisation(self.out / UTILISATION_NAME)
        plots.plot_curves(read_metrics(self.out / METRICS_NAME), samples, self.plots_dir / plots.CURVES_NAME,
                          title=self.title, cpu_count=self.sampler.header()["cpu_count"] or 1,
                          gpu_status=self.sampler.gpu_status)

    def _plot_epoch(self, record: dict[str, Any], matrix: np.ndarray, predictions: np.ndarray) -> None:
        from . import plots  # noqa: PLC0415

        self.plots_dir.mkdir(parents=True, exist_ok=True)
        self._plot_curves()
        epoch = f"{self.title}, epoch {record['epoch']}"
        plots.plot_per_class_accuracy(matrix, self.class_names, self.plots_dir / plots.PER_CLASS_NAME,
                                      title=f"per-class test accuracy ({epoch})")
        plots.plot_confusion_matrix(matrix, self.class_names, self.plots_dir / plots.CONFUSION_NAME,
                                    title=f"confusion matrix ({epoch})")
        if self.test_images is not None:
            plots.plot_misclassified(self.test_images, self.test_labels, predictions, self.class_names,
                                     self.plots_dir / plots.MISCLASSIFIED_NAME, title=epoch)

    def close(self) -> None:
        """Stops the sampler and writes what it still held (the curves' utilisation panels too)."""
        self.sampler.stop()
        self._drain_samples()
        if self.plotted:
            self._plot_curves()
        if self.writer is not None:
            self.writer.close()


__all__ = ["RunEvidence", "EPOCH_TAGS", "first_step_of"]
