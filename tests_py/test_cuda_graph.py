"""dl.cuda.CUDAGraph / dl.cuda.graph: a LeNet-5 training step captured once and replayed on new
batches trains exactly like the eager step; unrecordable work raises inside a capture and leaves the
runtime usable; without a GPU the API exists and says why it cannot run."""
from __future__ import annotations

import numpy as np
import pytest

import dlcore as dl
import dlcore.nn.functional as F
from dlcore.models import LeNet5

needs_gpu = pytest.mark.skipif(not dl.cuda.is_available(), reason="CUDA is not available (CPU-only build or no GPU)")


def test_without_a_gpu_capture_raises_a_clear_error() -> None:
    if dl.cuda.is_available():
        pytest.skip("a GPU is available")
    assert not dl.cuda.is_current_stream_capturing()
    with pytest.raises(RuntimeError, match="CUDA"):
        with dl.cuda.graph(dl.cuda.CUDAGraph()):
            pass
    assert not dl.cuda.is_current_stream_capturing()


def _batches(steps: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((8, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 8)) for _ in range(steps)]


@needs_gpu
def test_replayed_training_steps_match_eager_steps() -> None:
    batches = _batches(4, seed=0)
    dl.manual_seed(0)
    eager_model = LeNet5().to("cuda")
    graph_model = LeNet5().to("cuda")
    graph_model.load_state_dict(eager_model.state_dict())
    eager_opt = dl.optim.SGD(eager_model.parameters(), lr=0.05, momentum=0.9)
    graph_opt = dl.optim.SGD(graph_model.parameters(), lr=0.05, momentum=0.9)

    static_x = dl.zeros(8, 1, 28, 28, device="cuda")
    static_y = dl.tensor(np.zeros(8, np.int64), device="cuda")
    graph = dl.cuda.CUDAGraph()
    with dl.cuda.graph(graph):
        static_loss = F.cross_entropy(graph_model(static_x), static_y)
        static_loss.backward()

    for x, y in batches:
        eager_opt.zero_grad()
        eager_loss = F.cross_entropy(eager_model(dl.tensor(x, device="cuda")), dl.tensor(y, device="cuda"))
        eager_loss.backward()
        eager_opt.step()
        static_x.copy_(dl.tensor(x, device="cuda"))
        static_y.copy_(dl.tensor(y, device="cuda"))
        graph.replay()
        graph_opt.step()
        assert static_loss.item() == eager_loss.item()  # same kernels, same data, same order
    for (name, a), (_, b) in zip(eager_model.state_dict().items(), graph_model.state_dict().items()):
        np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy(), err_msg=name)


@needs_gpu
def test_unrecordable_work_raises_and_the_capture_is_abandoned() -> None:
    w = dl.randn(4, device="cuda", requires_grad=True)
    loss = (w * w).sum()
    graph = dl.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="CUDA graph is being captured"):
        with dl.cuda.graph(graph):
            loss.item()
    assert not dl.cuda.is_current_stream_capturing()
    assert not graph.captured
    opt = dl.optim.Adam([w], lr=0.1)
    loss.backward()
    with pytest.raises(RuntimeError, match=r"Adam.step .*cannot run while a CUDA graph is being captured"):
        with dl.cuda.graph(dl.cuda.CUDAGraph()):
            opt.step()
    opt.step()  # eager again
    assert np.isfinite(w.detach().cpu().numpy()).all()
    with pytest.raises(RuntimeError, match="nothing has been captured"):
        graph.replay()


def test_cuda_graph_flag_needs_the_gpu(capsys: pytest.CaptureFixture) -> None:
    from dlcore.training import pick_device
    with pytest.raises(SystemExit) as stop:
        pick_device("cpu", cuda_graph=True)
    assert stop.value.code == 2  # a usage error, as argparse's
    assert "--cuda-graph needs the cuda device" in capsys.readouterr().err


@needs_gpu
def test_graphed_epochs_train_exactly_like_eager_ones() -> None:
    # 200 samples in batches of 64: three captured-shape batches and a short one run eagerly, whose
    # gradient buffers must not replace the graph's; the schedule changes the rate every batch.
    from dlcore import training
    from test_training import TinyImages, tiny_model

    def run(graphed: training.GraphedTrainStep | None) -> tuple[list[float], list[np.ndarray]]:
        dl.manual_seed(0)
        model = tiny_model().to("cuda")
        optimizer = dl.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        scheduler = training.make_scheduler("cosine", optimizer, 0.05, 3 * 4)
        loader = dl.data.DataLoader(TinyImages(200), batch_size=64, shuffle=True, seed=1, device="cuda")
        losses = [training.train_epoch(model, loader, optimizer, scheduler, progress=False, graphed=graphed).train_loss
                  for _ in range(3)]
        return losses, [p.detach().cpu().numpy() for p in model.parameters()]

    eager_losses, eager_params = run(None)
    graph_losses, graph_params = run(training.GraphedTrainStep())
    assert graph_losses == eager_losses
    for a, b in zip(eager_params, graph_params):
        np.testing.assert_array_equal(a, b)
