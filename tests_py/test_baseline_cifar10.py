# Tests of baseline_torch.cifar10: the tensor augmentation is exactly "pad 4, crop, maybe flip", the
# VGG-style model honours its switches, and --compare-regularizers trains two configurations on a
# small slice of real CIFAR-10 and writes curves and tables.
from __future__ import annotations

import json

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from baseline_torch import cifar10  # noqa: E402
from baseline_torch.data import augment_crop_flip, limit_indices  # noqa: E402
from baseline_torch.models import CifarConfig, CifarVGG  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def test_augmentation_is_a_window_of_the_padded_image_maybe_flipped():
    images = torch.randn(16, 3, 32, 32)
    out = augment_crop_flip(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    padded = F.pad(images, (4, 4, 4, 4))
    flips = 0
    for i in range(16):
        windows = [padded[i, :, y:y + 32, x:x + 32] for y in range(9) for x in range(9)]
        plain = any(torch.equal(out[i], w) for w in windows)
        flipped = any(torch.equal(out[i], w.flip(2)) for w in windows)
        assert plain or flipped, f"sample {i} is not a (flipped) crop of its padded input"
        flips += flipped and not plain
    assert 0 < flips < 16  # both outcomes occur with this seed
    again = augment_crop_flip(images, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_cifar_model_switches():
    plain = CifarVGG(CifarConfig(width=8))
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.Dropout)) for m in plain.modules())
    regular = CifarVGG(CifarConfig(width=8, batch_norm=True, dropout=0.5))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in regular.modules()) == 6
    assert any(isinstance(m, nn.Dropout) for m in regular.modules())
    assert regular(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_limit_keeps_every_class_of_the_class_sorted_cifar_copy():
    labels = torch.arange(10).repeat_interleave(5000)  # the JPEG copy's order: sorted by class
    kept = labels[torch.from_numpy(limit_indices("cifar10", 50000, 100))]
    assert torch.bincount(kept, minlength=10).tolist() == [10] * 10
    assert limit_indices("mnist", 60000, 7).tolist() == list(range(7))  # dlcore's --limit: first N


def test_compare_regularizers_runs_end_to_end(tmp_path, data_dir):
    out = tmp_path / "cifar"
    rc = cifar10.main(["--device", "cpu", "--epochs", "1", "--limit", "256", "--batch-size", "64", "--threads", "1",
                       "--width", "8", "--compare-regularizers", "--configs", "none,all",
                       "--data", str(data_dir), "--out", str(out)])
    assert rc == 0
    result = json.loads((out / "cifar10.json").read_text())
    assert [run["name"] for run in result["runs"]] == ["none", "all"]
    assert result["runs"][1]["settings"]["augment"] and result["runs"][1]["settings"]["batch_norm"]
    for run in result["runs"]:
        assert len(run["epochs"]) == 1 and run["epochs"][0]["train_loss"] > 0
    assert (out / "cifar10.png").stat().st_size > 0
    assert "none" in (out / "cifar10.md").read_text()
    assert (out / "metrics_all.jsonl").exists()


def test_model_flag_trains_dlcores_other_networks(tmp_path, data_dir):
    out = tmp_path / "resnet"
    rc = cifar10.main(["--device", "cpu", "--epochs", "1", "--limit", "32", "--batch-size", "16", "--threads", "2",
                       "--model", "resnet18", "--data", str(data_dir), "--out", str(out)])
    assert rc == 0
    result = json.loads((out / "cifar10.json").read_text())
    assert result["model_flag"] == "resnet18" and result["model"].startswith("ResNet-18 (CIFAR stem)")
    assert result["runs"][0]["parameters"] == 11_173_962  # dlcore's resnet18(stem="cifar", num_classes=10)
    with pytest.raises(SystemExit) as exit_info:
        cifar10.main(["--model", "vgg16_bn", "--batch-norm", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2
