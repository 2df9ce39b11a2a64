"""dlcore.training, the loop train_mnist.py and train_cifar10.py share: an epoch's accounting, the
evaluation, and checkpoints that resume model, optimizer and schedule exactly."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import dlcore as dl
from dlcore import training


class TinyImages:
    """An in-memory uint8 dataset shaped like MNIST (what DataLoader reads)."""

    mean, std = (0.5,), (0.25,)

    def __init__(self, n: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, 3, n).astype(np.uint8)
        # Class k has brightness around 60 + 60k, so a linear model can separate the classes.
        self.images = np.clip(rng.normal(60 + 60 * self.labels[:, None, None], 20, (n, 6, 6)), 0, 255).astype(np.uint8)

    def __len__(self) -> int:
        return len(self.labels)


def tiny_model() -> dl.nn.Module:
    return dl.nn.Sequential(dl.nn.Flatten(), dl.nn.Linear(36, 16), dl.nn.ReLU(), dl.nn.Linear(16, 3))


def test_train_epoch_counts_and_learns() -> None:
    dl.manual_seed(0)
    model = tiny_model()
    optimizer = dl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = dl.data.DataLoader(TinyImages(200), batch_size=32, shuffle=True, seed=1)
    test_loader = dl.data.DataLoader(TinyImages(100, seed=1), batch_size=64)
    first = training.train_epoch(model, loader, optimizer, progress=False)
    assert (first.steps, first.images) == (7, 200) and first.seconds > 0
    for _ in range(4):
        last = training.train_epoch(model, loader, optimizer, progress=False)
    assert last.train_loss < first.train_loss
    evaluation = training.evaluate(model, test_loader)
    assert evaluation.accuracy > 90.0 and evaluation.loss < 0.5
    # The predictions are the test samples' classes in order, and the accuracy is theirs.
    labels = TinyImages(100, seed=1).labels
    assert evaluation.predictions.shape == (100,)
    assert 100.0 * np.mean(evaluation.predictions == labels) == pytest.approx(evaluation.accuracy)
    assert last.train_accuracy is not None and last.train_accuracy > first.train_accuracy
    dry = training.train_epoch(model, loader, optimizer, progress=False, dry_run=True)
    assert (dry.steps, dry.images) == (1, 32)


def test_metrics_record_keys(tmp_path: Path) -> None:
    result = training.EpochResult(train_loss=1.5, steps=3, images=96, seconds=2.0, train_accuracy=40.0)
    record = training.epoch_record(4, result, 1.25, 55.0, "cpu", lr=0.01)
    assert list(record) == ["epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds",
                            "images_per_second", "peak_memory_bytes", "device", "framework"]
    assert record["images_per_second"] == 48.0 and record["peak_memory_bytes"] > 0
    training.append_metrics(tmp_path / "m.jsonl", record)
    training.append_metrics(tmp_path / "m.jsonl", {**record, "epoch": 5})
    assert [json.loads(line)["epoch"] for line in (tmp_path / "m.jsonl").read_text().splitlines()] == [4, 5]


def make_run(schedule: str):
    dl.manual_seed(2)
    model = tiny_model()
    optimizer = dl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    if schedule == "onecycle":
        scheduler = dl.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=40)
    else:
        scheduler = dl.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=40)
    return model, optimizer, scheduler


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_checkpoint_resumes_model_optimizer_and_schedule(tmp_path: Path, schedule: str) -> None:
    loader = dl.data.DataLoader(TinyImages(160), batch_size=16, shuffle=True, seed=4)  # 10 steps an epoch
    model, optimizer, scheduler = make_run(schedule)
    training.train_epoch(model, loader, optimizer, scheduler, progress=False)
    training.save_checkpoint(tmp_path / "c.safetensors", model, optimizer, 1, scheduler)
    training.train_epoch(model, loader, optimizer, scheduler, progress=False)

    model2, optimizer2, scheduler2 = make_run(schedule)
    assert training.load_checkpoint(tmp_path / "c.safetensors", model2, optimizer2, scheduler2) == 1
    assert scheduler2.last_epoch == 10
    loader.set_epoch(1)
    training.train_epoch(model2, loader, optimizer2, scheduler2, progress=False)
    assert optimizer2.param_groups[0]["lr"] == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-12)
    assert optimizer2.param_groups[0]["momentum"] == pytest.approx(optimizer.param_groups[0]["momentum"], rel=1e-12)
    for (name, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=name)


def test_resuming_a_schedule_from_a_checkpoint_without_one_fails_clearly(tmp_path: Path) -> None:
    model, optimizer, scheduler = make_run("cosine")
    training.save_checkpoint(tmp_path / "c.safetensors", model, optimizer, 1)
    with pytest.raises(ValueError, match="no scheduler state"):
        training.load_checkpoint(tmp_path / "c.safetensors", model, optimizer, scheduler)
