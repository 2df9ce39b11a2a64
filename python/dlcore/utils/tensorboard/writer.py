"""``SummaryWriter``: torch.utils.tensorboard's writer for dlcore, on tensorboard's own event-file writer.

Events go through ``tensorboard.summary.writer.event_file_writer.EventFileWriter`` (a queue and a
background thread, so logging never waits for the disk); the protos come from summary.py and, for
``add_graph``, graph.py. Names, signatures, defaults and the ``runs/DATE_HOST`` log directory are
torch's, so code written for torch's writer runs unchanged.
"""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any, Mapping, Sequence

from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from . import summary
from .graph import record_graph


def default_log_dir(comment: str = "") -> str:
    """torch's default: runs/<Mon>DD_HH-MM-SS_<host><comment>."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


class SummaryWriter:
    """Writes TensorBoard event files under ``log_dir`` (default ``runs/DATE_HOST`` + ``comment``).

    ``purge_step``: a run restarted after a crash at step N passes N, and TensorBoard discards the
    earlier events at steps >= N. ``max_queue`` events are buffered, and the writer flushes at least
    every ``flush_secs`` seconds. Values may be dlcore tensors (on any device), numpy arrays or
    Python numbers. Usable as a context manager, which closes it.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        self.log_dir = os.fspath(log_dir) if log_dir is not None else default_log_dir(comment)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        self._writers: dict[str, EventFileWriter] = {}  # log_dir -> writer: this run's and add_scalars' runs
        self._writer_for(self.log_dir)

    def get_logdir(self) -> str:
        """The directory this writer's event files go to."""
        return self.log_dir

    def _writer_for(self, log_dir: str) -> EventFileWriter:
        writer = self._writers.get(log_dir)
        if writer is None:
            writer = EventFileWriter(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            if self.purge_step is not None and log_dir == self.log_dir:
                writer.add_event(Event(step=self.purge_step, wall_time=time.time(),
                                       session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None  # once: a reopened file must not purge what this writer wrote
            self._writers[log_dir] = writer
        return writer

    def _add(self, summary_proto: Summary, global_step: int | None, walltime: float | None,
             log_dir: str | None = None) -> None:
        event = Event(summary=summary_proto, wall_time=time.time() if walltime is None else walltime,
                      step=0 if global_step is None else int(global_step))
        self._writer_for(log_dir or self.log_dir).add_event(event)

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """One point of the curve ``tag``."""
        self._add(summary.scalar(tag, scalar_value, new_style, double_precision), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: Mapping[str, Any], global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several curves on one chart: each key is written to its own run, LOG_DIR/MAIN_TAG_KEY, under ``main_tag``."""
        if not isinstance(tag_scalar_dict, Mapping):
            raise TypeError(f"add_scalars({main_tag!r}): tag_scalar_dict must be a dict, "
                            f"got {type(tag_scalar_dict).__name__}")
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            run_dir = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            self._add(summary.scalar(main_tag, value), global_step, walltime, run_dir)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None,
                      bins: str | int | Sequence[float] = "tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        """The distribution of ``values`` (see summary.histogram for ``bins`` and ``max_bins``)."""
        self._add(summary.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """One image: uint8, or floats in [0, 1]; 1, 3 or 4 channels laid out as ``dataformats`` says."""
        self._add(summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Markdown text shown in TensorBoard's text tab."""
        self._add(summary.text(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any],
                    hparam_domain_discrete: Mapping[str, Sequence[Any]] | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """One row of the hparams table: a run LOG_DIR/RUN_NAME (default: the current time) holding
        the hyperparameters and ``metric_dict``'s values as scalars."""
        records = summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        run_dir = os.path.join(self.log_dir, run_name or str(time.time()))
        for record in records:
            self._add(record, global_step, None, run_dir)
        for tag, value in metric_dict.items():
            self._add(summary.scalar(tag, value), global_step, None, run_dir)

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """The module and op graph of one forward of ``model`` on ``input_to_model`` (a tensor or a
        tuple of them), for TensorBoard's graph tab; see graph.py for what is recorded.
        ``use_strict_trace`` is accepted for torch's signature (there is no JIT to be strict about)."""
        if input_to_model is None:
            raise ValueError("add_graph: input_to_model is required (one forward of the model is recorded)")
        graph_def = record_graph(model, input_to_model)
        if verbose:
            print(graph_def)
        self._writer_for(self.log_dir).add_event(Event(graph_def=graph_def.SerializeToString(), wall_time=time.time()))

    def flush(self) -> None:
        """Writes every queued event to disk."""
        for writer in self._writers.values():
            writer.flush()

    def close(self) -> None:
        """Flushes and closes the event files; a later add_* opens a new one."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
