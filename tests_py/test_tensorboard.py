"""dl.utils.tensorboard.SummaryWriter against torch's: what it writes parses back with tensorboard's
own reader (EventAccumulator) as the values given; histograms and images are the ones torch's
writer makes from the same data; add_graph shows a model's modules and ops with their edges; bad
arguments raise errors naming the tag; a missing tensorboard names the extra to install."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dlcore as dl

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import metadata as hparams_metadata  # noqa: E402

from dlcore.models import LeNet5  # noqa: E402
from dlcore.utils.tensorboard import SummaryWriter  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def read(log_dir: Path) -> EventAccumulator:
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


def test_scalars_from_tensors_arrays_and_numbers_parse_back(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_scalar("loss", dl.tensor(2.5), 1)
        writer.add_scalar("loss", np.float32(1.25), 2)
        writer.add_scalar("loss", 0.5, 3, walltime=1234.5)
        writer.add_scalar("new", dl.tensor([7.0]), 4, new_style=True, double_precision=True)
        writer.add_scalars("pair", {"train": 1.0, "test": dl.tensor(3.0)}, 5)
    loss = read(tmp_path).Scalars("loss")
    assert [(e.step, e.value) for e in loss] == [(1, 2.5), (2, 1.25), (3, 0.5)]
    assert loss[2].wall_time == 1234.5
    tensor = read(tmp_path).Tensors("new")[0]
    assert tensor.step == 4 and tensor.tensor_proto.double_val == [7.0]
    # add_scalars: one run per key, LOG_DIR/MAIN_TAG_KEY, each holding the main tag (torch's layout).
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["pair_test", "pair_train"]
    assert [e.value for e in read(tmp_path / "pair_test").Scalars("pair")] == [3.0]


def test_histogram_matches_torchs_writer(tmp_path: Path) -> None:
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    values = np.random.default_rng(0).normal(size=2000).astype(np.float32)
    for bins in ("tensorflow", 30, "auto"):
        ours, theirs = tmp_path / f"dl-{bins}", tmp_path / f"torch-{bins}"
        with SummaryWriter(ours) as writer:
            writer.add_histogram("w", dl.from_numpy(values), 7, bins=bins)
        torch_writer = torch_tb.SummaryWriter(str(theirs))
        torch_writer.add_histogram("w", values, 7, bins=bins)
        torch_writer.close()
        a, b = read(ours).Histograms("w")[0], read(theirs).Histograms("w")[0]
        assert a.step == b.step == 7
        a, b = a.histogram_value, b.histogram_value
        assert (a.num, a.min, a.max) == (b.num, b.min, b.max) == (2000, values.min(), values.max())
        assert a.sum == pytest.approx(b.sum, rel=1e-9) and a.sum_squares == pytest.approx(b.sum_squares, rel=1e-9)
        assert list(a.bucket) == list(b.bucket), bins
        np.testing.assert_allclose(a.bucket_limit, b.bucket_limit, rtol=1e-12)  # edges: 1.1**k vs repeated *1.1


def test_histogram_max_bins_keeps_every_count(tmp_path: Path) -> None:
    values = np.random.default_rng(1).uniform(-1, 1, 5000)
    with SummaryWriter(tmp_path) as writer:
        writer.add_histogram("w", values, bins=100, max_bins=16)
    histogram = read(tmp_path).Histograms("w")[0].histogram_value
    assert len(histogram.bucket) <= 17 and sum(histogram.bucket) == 5000  # 16 merged buckets + the leading empty one


@pytest.mark.parametrize("shape,dataformats", [((3, 6, 5), "CHW"), ((6, 5, 3), "HWC"), ((6, 5), "HW"),
                                               ((1, 6, 5), "CHW"), ((4, 6, 5), "CHW")])
def test_image_is_torchs_png(tmp_path: Path, shape: tuple, dataformats: str) -> None:
    torch_summary = pytest.importorskip("torch.utils.tensorboard.summary")
    image = np.random.default_rng(2).random(shape)
    with SummaryWriter(tmp_path) as writer:
        writer.add_image("img", dl.from_numpy(image.astype(np.float32)), 3, dataformats=dataformats)
        writer.add_image("bytes", (image * 255).astype(np.uint8), 3, dataformats=dataformats)
    event = read(tmp_path).Images("img")[0]
    reference = torch_summary.image("img", image.astype(np.float32), dataformats=dataformats).value[0].image
    assert (event.step, event.height, event.width) == (3, reference.height, reference.width)
    import matplotlib.image  # decodes the PNGs for the comparison

    decoded = matplotlib.image.imread(io.BytesIO(event.encoded_image_string))
    expected = matplotlib.image.imread(io.BytesIO(reference.encoded_image_string))
    np.testing.assert_array_equal(decoded, expected)
    assert decoded.std() > 0.1  # random pixels, not a blank image


def test_text_and_hparams(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        writer.add_text("notes", "**lr** 0.1", 2)
        writer.add_hparams({"lr": 0.1, "optimizer": "sgd", "augment": True, "batch": dl.tensor(64)},
                           {"hparam/accuracy": 98.5}, run_name="trial")
    text = read(tmp_path).Tensors("notes/text_summary")[0]
    assert text.step == 2 and text.tensor_proto.string_val == [b"**lr** 0.1"]
    trial = read(tmp_path / "trial")
    assert [e.value for e in trial.Scalars("hparam/accuracy")] == [98.5]
    content = trial.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    experiment = hparams_metadata.parse_experiment_plugin_data(content[hparams_metadata.EXPERIMENT_TAG])
    assert [info.name for info in experiment.hparam_infos] == ["lr", "optimizer", "augment", "batch"]
    assert [m.name.tag for m in experiment.metric_infos] == ["hparam/accuracy"]
    start = hparams_metadata.parse_session_start_info_plugin_data(content[hparams_metadata.SESSION_START_INFO_TAG])
    assert start.hparams["lr"].number_value == 0.1 and start.hparams["optimizer"].string_value == "sgd"
    assert start.hparams["augment"].bool_value is True and start.hparams["batch"].number_value == 64


def test_graph_of_lenet_holds_its_ops_and_edges(tmp_path: Path) -> None:
    add_before = dl.Tensor.__add__
    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(LeNet5(), dl.randn(2, 1, 28, 28))
    nodes = {node.name: node for node in read(tmp_path).Graph().node}
    # LeNet5.forward calls functional ops on conv1/conv2/fc1/fc2's weights and the fc3 module.
    assert nodes["LeNet5/conv2d_relu"].op == "dlcore::conv2d_relu"
    assert list(nodes["LeNet5/conv2d_relu"].input) == ["input/input.0", "LeNet5/conv1/weight", "LeNet5/conv1/bias"]
    assert list(nodes["LeNet5/max_pool2d"].input) == ["LeNet5/conv2d_relu"]
    assert list(nodes["LeNet5/flatten"].input) == ["LeNet5/max_pool2d_1"]
    assert list(nodes["LeNet5/fc3/Linear"].input) == ["LeNet5/linear_relu_1"]
    assert list(nodes["output/output.0"].input) == ["LeNet5/fc3/Linear"]
    assert nodes["LeNet5/max_pool2d"].attr["grad_fn"].s == b"MaxPool2dBackward"
    shape = nodes["LeNet5/flatten"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [2, 400]
    assert dl.Tensor.__add__ is add_before and (dl.ones(2) + 1).tolist() == [2.0, 2.0]  # the tracing is undone


def test_graph_of_a_python_module_with_tensor_operators(tmp_path: Path) -> None:
    class Residual(dl.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = dl.nn.Sequential(dl.nn.Linear(4, 4), dl.nn.ReLU())

        def forward(self, x):  # type: ignore[override]
            return self.body(x) + x * 2

    with SummaryWriter(tmp_path) as writer:
        writer.add_graph(Residual(), (dl.randn(3, 4),))
    nodes = {node.name: node for node in read(tmp_path).Graph().node}
    assert list(nodes["Residual/body/1/ReLU"].input) == ["Residual/body/0/Linear"]
    assert list(nodes["Residual/mul"].input) == ["input/input.0"]  # the 2 is an argument, not an input
    assert nodes["Residual/mul"].attr["arguments"].s == b"T, 2"
    assert list(nodes["Residual/add"].input) == ["Residual/body/1/ReLU", "Residual/mul"]


def test_purge_step_drops_what_a_crashed_run_logged_past_it(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        for step in range(1, 11):
            writer.add_scalar("loss", float(step), step)
    with SummaryWriter(tmp_path, purge_step=5) as writer:
        for step in range(5, 8):
            writer.add_scalar("loss", 100.0 + step, step)
    assert [(e.step, e.value) for e in read(tmp_path).Scalars("loss")] == \
        [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0), (5, 105.0), (6, 106.0), (7, 107.0)]


def test_default_log_dir_is_torchs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    writer = SummaryWriter(comment="_lr0.1")
    writer.close()
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_.+_lr0\.1", writer.get_logdir())
    assert any(name.startswith("events.out.tfevents.") for name in os.listdir(writer.get_logdir()))


def test_bad_arguments_name_the_tag(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as writer:
        with pytest.raises(ValueError, match=r"add_scalar\('loss'\).*shape \(2,\)"):
            writer.add_scalar("loss", dl.ones(2))
        with pytest.raises(TypeError, match=r"add_scalar\('loss'\)"):
            writer.add_scalar("loss", "high")
        with pytest.raises(ValueError, match=r"add_histogram\('w'\): the input has no element"):
            writer.add_histogram("w", np.array([]))
        with pytest.raises(ValueError, match=r"add_image\('img'\): dataformats 'CHW' needs a 3-d image"):
            writer.add_image("img", np.zeros((4, 4)))
        with pytest.raises(ValueError, match=r"add_image\('img'\): an image needs 1, 3 or 4 channels, got 2"):
            writer.add_image("img", np.zeros((2, 4, 4)))
        with pytest.raises(TypeError, match="add_graph: model must be a dlcore.nn.Module"):
            writer.add_graph(lambda x: x, dl.ones(1))
        with pytest.raises(TypeError, match="hparam_dict and metric_dict should be dictionaries"):
            writer.add_hparams([("lr", 0.1)], {})
        with pytest.raises(ValueError, match="value of 'layers' should be one of"):
            writer.add_hparams({"layers": [1, 2]}, {})


def test_missing_tensorboard_names_the_extra() -> None:
    code = "import sys; sys.modules['tensorboard'] = None\nimport dlcore.utils.tensorboard"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "ModuleNotFoundError: dlcore.utils.tensorboard needs the tensorboard package, which is not installed: "
        "pip install 'dlcore[baseline]' (or pip install tensorboard)")
