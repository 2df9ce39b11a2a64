# Tests of baseline_torch's parallel training: the by-hand K-replica step and the micro-batched
# pipeline give the same parameters as the large-batch step (tolerance stated below), the check
# itself catches a wrong averaging, and the `parallel` tool runs every mode, DDP over Gloo with two
# CPU processes included, on a slice of real MNIST.
from __future__ import annotations

import json

import pytest  # noqa: E402
import torch  # noqa: E402

from baseline_torch import parallel  # noqa: E402
from baseline_torch.data import batches, load_dataset  # noqa: E402
from baseline_torch.distributed import DDPJob, plan_ranks, run_ddp  # noqa: E402
from baseline_torch.models import LeNet5  # noqa: E402
from baseline_torch.train_loop import TrainConfig, Trainer, evaluate  # noqa: E402
from baseline_torch.pipeline import pipeline_equivalence  # noqa: E402
from baseline_torch.replicas import ReplicaTrainer, equivalence_to_large_batch, replica_equivalence  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


# Largest parameter difference after two SGD-momentum steps (lr 0.1), relative to the largest
# update. Only float32 summation order differs: observed ~1e-6 (LeNet) to ~1e-4 (CIFAR CNN on one
# thread); a wrong averaging is off by ~1x the update.
RTOL = 1e-3


@pytest.mark.parametrize("model_name,replicas,batch", [("lenet", 2, 64), ("lenet", 3, 50),
                                                       ("lenet", 4, 64), ("cifar", 2, 16)])
def test_replicas_equal_large_batch_step(model_name, replicas, batch):
    result = replica_equivalence(model_name, replicas, batch, steps=2, rtol=RTOL)
    assert result["max_abs_param_update"] > 1e-3  # the step really moved the weights
    assert result["max_abs_param_diff"] <= RTOL * result["max_abs_param_update"]
    assert result["equivalent"]


class SummingReplicaTrainer(ReplicaTrainer):
    """A wrong all-reduce (sum instead of average) that the equivalence check must reject."""

    def forward_backward(self, images, labels):
        loss, logits, labels = super().forward_backward(images, labels)
        for param in self.model.parameters():
            param.grad *= len(self.replicas)
        return loss, logits, labels


def test_equivalence_check_catches_wrong_averaging():
    device = torch.device("cpu")
    result = equivalence_to_large_batch(
        "lenet", lambda model, cfg: SummingReplicaTrainer(model, cfg, device, 1, 4), rtol=RTOL)
    assert not result["equivalent"] and result["relative_diff"] > 0.1


def test_pipeline_equals_large_batch_step():
    result = pipeline_equivalence("lenet", micro_batches=4, steps=2, rtol=RTOL)
    assert result["equivalent"], result


def test_parallel_tool_runs_every_mode_with_gloo_ddp(tmp_path, data_dir):
    out = tmp_path / "parallel"
    rc = parallel.main(["--device", "cpu", "--epochs", "1", "--limit", "256", "--batch-size", "64",
                        "--threads", "1", "--models", "lenet", "--data", str(data_dir), "--out", str(out)])
    assert rc == 0
    result = json.loads((out / "parallel.json").read_text())
    status = {row["mode"]: row["status"] for row in result["summary"]}
    assert status == {"single": "ok", "dataparallel": "ok", "replicas": "ok", "ddp-gloo": "ok",
                      "ddp-nccl": "skipped", "model-parallel": "ok"}
    rows = {row["mode"]: row for row in result["summary"]}
    assert "simulated" in rows["ddp-gloo"]["placement"] and "simulated" in rows["dataparallel"]["placement"]
    ddp_epochs = result["runs"]["lenet/ddp-gloo"]["epochs"]
    assert len(ddp_epochs) == 1 and 0 < ddp_epochs[0]["test_accuracy"] <= 100
    # By-hand replicas and the pipeline compute the single-device gradient: same accuracy after an epoch.
    single = rows["single"]["final_test_accuracy"]
    assert rows["replicas"]["final_test_accuracy"] == pytest.approx(single, abs=0.5)
    assert rows["model-parallel"]["final_test_accuracy"] == pytest.approx(single, abs=0.5)
    assert all(check["equivalent"] for check in result["equivalence_checks"])
    assert (out / "parallel_lenet.png").stat().st_size > 0 and (out / "parallel.md").exists()


def test_batches_cover_exactly_the_given_order(data_dir):
    train, _ = load_dataset("mnist", str(data_dir), 100, torch.device("cpu"))
    share = torch.arange(1, 100, 2).numpy()  # one DDP rank's half of the split
    seen = torch.cat([labels for _, labels in batches(train, 16, share)])
    assert torch.equal(seen, train.labels[share])


def test_ddp_gloo_two_ranks_equals_single_device_large_batch(tmp_path, data_dir):
    """Two Gloo ranks with per-rank batch 64 take the same steps as one device with batch 128 fed
    the DistributedSampler's whole permutation: global batch i is perm[128 i : 128 (i + 1)]."""
    from torch.utils.data.distributed import DistributedSampler
    cfg = TrainConfig(epochs=1, batch_size=128, test_batch_size=256, lr=0.05, seed=4)
    job = DDPJob(placement=plan_ranks("gloo", 2, torch.device("cpu")), model_name="lenet", cfg=cfg,
                 data=str(data_dir), limit=512, result_path=str(tmp_path / "ddp.json"))
    ddp = run_ddp(job)
    assert ddp["status"] == "ok", ddp
    train, test = load_dataset("mnist", str(data_dir), 512, torch.device("cpu"))
    sampler = DistributedSampler(range(len(train)), num_replicas=1, rank=0, shuffle=True, seed=cfg.seed)
    sampler.set_epoch(1)
    torch.manual_seed(cfg.seed)
    trainer = Trainer(LeNet5(), cfg, torch.device("cpu"), 4)
    single = trainer.train_epoch(train, 1, torch.tensor(list(sampler)).numpy())
    single.update(evaluate(trainer.model, test, cfg.test_batch_size))
    record = ddp["epochs"][0]
    # Only float32 summation order differs (observed ~2e-7 relative); any wrong step is >> 1e-5.
    assert record["train_loss"] == pytest.approx(single["train_loss"], rel=1e-5)
    assert record["test_loss"] == pytest.approx(single["test_loss"], rel=1e-5)
    assert record["train_accuracy"] == pytest.approx(single["train_accuracy"], abs=0.2)
