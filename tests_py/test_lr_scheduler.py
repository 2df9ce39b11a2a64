"""dl.optim.lr_scheduler against torch.optim.lr_scheduler: every scheduler over 100 steps on the same
optimizer settings (rates and momenta equal to 1e-12 relative), state dicts equal to torch's and
round-tripped through dl.save mid-run, resuming with last_epoch, ReduceLROnPlateau on a fixed metric
sequence, SequentialLR/ChainedScheduler compositions, several param groups (on torch optimizers, as
dlcore's take one group), torch's error types and warnings, and proof that a rate or momentum written
into a dlcore param group changes the next C++ update exactly as it changes torch's.
"""
from __future__ import annotations

import copy
import math
import warnings
from collections import Counter

import numpy as np
import pytest

import dlcore as dl
from dlcore.optim import lr_scheduler as dls

torch = pytest.importorskip("torch")
tls = torch.optim.lr_scheduler

STEPS = 100
REL = 1e-12


def dl_optimizer(kind: str, lr: float = 0.1):
    p = dl.nn.Parameter(dl.zeros(3))
    return dl.optim.SGD([p], lr=lr, momentum=0.9) if kind == "sgd" else dl.optim.Adam([p], lr=lr)


def torch_optimizer(kind: str, lr: float = 0.1, groups: int = 1):
    # several groups with different rates, to check the per-group bookkeeping
    params = [{"params": [torch.nn.Parameter(torch.zeros(3))], "lr": lr * (1 + 0.5 * i)} for i in range(groups)]
    return torch.optim.SGD(params, lr=lr, momentum=0.9) if kind == "sgd" else torch.optim.Adam(params, lr=lr)


def _momentum(group):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum")


def record(optimizer, scheduler) -> tuple:
    groups = optimizer.param_groups
    return ([g["lr"] for g in groups], [_momentum(g) for g in groups], list(scheduler.get_last_lr()))


def run_steps(optimizer, scheduler, steps: int, metrics=None) -> list[tuple]:
    seq = []
    for i in range(steps):
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[i])
        seq.append(record(optimizer, scheduler))
    return seq


def close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL, abs_tol=1e-300) or (a == b)
    return a == b


def assert_same_values(want, got, where: str = "") -> None:
    """Equal structure, floats to REL, everything else exactly (Counter == Counter, inf == inf)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{where}: keys {sorted(got)} != {sorted(want)}"
        if isinstance(want, Counter):
            assert Counter(got) == want, where
        for k in want:
            assert_same_values(want[k], got[k], f"{where}.{k}")
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (w, g) in enumerate(zip(want, got)):
            assert_same_values(w, g, f"{where}[{i}]")
    else:
        assert close(want, got), f"{where}: {got!r} != {want!r} (torch)"


# (id, optimizer kind, factory(module, optimizer) -> scheduler); the factory builds the same scheduler
# from dl.optim.lr_scheduler or torch.optim.lr_scheduler.
CASES = [
    ("StepLR", "sgd", lambda L, o: L.StepLR(o, 7, gamma=0.5)),
    ("StepLR-default-gamma", "sgd", lambda L, o: L.StepLR(o, step_size=30)),
    ("MultiStepLR", "sgd", lambda L, o: L.MultiStepLR(o, milestones=[10, 30, 30, 60], gamma=0.3)),
    ("ConstantLR-defaults", "sgd", lambda L, o: L.ConstantLR(o)),
    ("ConstantLR", "adam", lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=40)),
    ("LinearLR-defaults", "sgd", lambda L, o: L.LinearLR(o)),
    ("LinearLR-warmup", "sgd", lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=37)),
    ("LinearLR-decay-to-zero", "adam", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=100)),
    ("ExponentialLR", "sgd", lambda L, o: L.ExponentialLR(o, gamma=0.97)),
    ("PolynomialLR-defaults", "sgd", lambda L, o: L.PolynomialLR(o)),
    ("PolynomialLR", "adam", lambda L, o: L.PolynomialLR(o, total_iters=60, power=2.5)),
    ("CosineAnnealingLR-past-T_max", "sgd", lambda L, o: L.CosineAnnealingLR(o, T_max=30, eta_min=0.001)),
    ("CosineAnnealingLR-to-zero", "adam", lambda L, o: L.CosineAnnealingLR(o, 100)),
    ("LambdaLR", "sgd", lambda L, o: L.LambdaLR(o, lambda e: 0.95 ** e)),
    ("LambdaLR-steps", "adam", lambda L, o: L.LambdaLR(o, lr_lambda=lambda e: 1 / (1 + e // 10))),
    ("MultiplicativeLR", "sgd", lambda L, o: L.MultiplicativeLR(o, lambda e: 0.98 if e % 3 else 1.01)),
    ("CosineAnnealingWarmRestarts", "sgd", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=10)),
    ("CosineAnnealingWarmRestarts-T_mult", "adam",
     lambda L, o: L.CosineAnnealingWarmRestarts(o, 5, T_mult=2, eta_min=1e-3)),
    ("CyclicLR-triangular-sgd", "sgd", lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=7)),
    ("CyclicLR-triangular2", "sgd",
     lambda L, o: L.CyclicLR(o, base_lr=0.001, max_lr=0.05, step_size_up=5, step_size_down=13, mode="triangular2",
                             base_momentum=0.7, max_momentum=0.95)),
    ("CyclicLR-exp_range-adam", "adam",
     lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=9, mode="exp_range", gamma=0.97)),
    ("CyclicLR-scale_fn", "sgd",
     lambda L, o: L.CyclicLR(o, 0.01, 0.2, step_size_up=4, scale_fn=lambda x: 0.5 * (1 + math.sin(x * math.pi / 2)),
                             scale_mode="iterations")),
    ("CyclicLR-no-momentum", "adam", lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=6, cycle_momentum=False)),
    ("OneCycleLR-sgd", "sgd", lambda L, o: L.OneCycleLR(o, max_lr=0.5, total_steps=STEPS)),
    ("OneCycleLR-adam", "adam", lambda L, o: L.OneCycleLR(o, max_lr=0.01, total_steps=STEPS)),
    # total_steps=STEPS + 1: at step total_steps itself torch's linear rate is negative (see below)
    ("OneCycleLR-linear", "sgd",
     lambda L, o: L.OneCycleLR(o, 0.3, total_steps=STEPS + 1, pct_start=0.25, anneal_strategy="linear")),
    ("OneCycleLR-three_phase", "adam",
     lambda L, o: L.OneCycleLR(o, 0.3, total_steps=STEPS, three_phase=True, div_factor=10.0, final_div_factor=100.0,
                               base_momentum=0.8, max_momentum=0.9)),
    ("OneCycleLR-epochs", "sgd", lambda L, o: L.OneCycleLR(o, 0.2, epochs=10, steps_per_epoch=10)),
    ("OneCycleLR-no-momentum", "sgd", lambda L, o: L.OneCycleLR(o, 0.2, total_steps=STEPS, cycle_momentum=False)),
    ("SequentialLR-warmup-cosine", "sgd",
     lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=10), L.CosineAnnealingLR(o, 90)],
                                 milestones=[10])),
    ("SequentialLR-three", "adam",
     lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=0.5, total_iters=5), L.ExponentialLR(o, 0.9),
                                     L.StepLR(o, 10)], [5, 40])),
    ("ChainedScheduler", "sgd",
     lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.1, total_iters=2), L.ExponentialLR(o, gamma=0.9)])),
    ("ChainedScheduler-three", "adam",
     lambda L, o: L.ChainedScheduler([L.CosineAnnealingLR(o, 20), L.MultiStepLR(o, [30, 60]), L.LinearLR(o)],
                                     optimizer=o)),
    ("SequentialLR-of-chained", "sgd",
     lambda L, o: L.SequentialLR(o, [L.ChainedScheduler([L.LinearLR(o, 0.2, total_iters=8), L.ExponentialLR(o, 0.99)]),
                                     L.PolynomialLR(o, total_iters=50)], milestones=[20])),
]
CASE_IDS = [c[0] for c in CASES]


def make_pair(kind: str, factory, groups: int = 1):
    """The same scheduler from torch and from dlcore; dlcore's on a dlcore optimizer when one group
    is asked for, else on a torch optimizer (dlcore's optimizers take a single param group)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's composites step their parts before any optimizer step
        t_opt = torch_optimizer(kind, groups=groups)
        t_sched = factory(tls, t_opt)
        d_opt = dl_optimizer(kind) if groups == 1 else torch_optimizer(kind, groups=groups)
        d_sched = factory(dls, d_opt)
    return t_opt, t_sched, d_opt, d_sched


@pytest.mark.parametrize("name, kind, factory", CASES, ids=CASE_IDS)
def test_matches_torch_over_100_steps(name, kind, factory):
    t_opt, t_sched, d_opt, d_sched = make_pair(kind, factory)
    assert_same_values(record(t_opt, t_sched), record(d_opt, d_sched), "after construction")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stepping in the documented order must not warn
        want, got = run_steps(t_opt, t_sched, STEPS), run_steps(d_opt, d_sched, STEPS)
    for step, (w, g) in enumerate(zip(want, got)):
        assert_same_values(w, g, f"{name} step {step + 1}")
    assert_same_values(t_sched.state_dict(), d_sched.state_dict(), f"{name} state_dict")


@pytest.mark.parametrize("name, kind, factory", CASES, ids=CASE_IDS)
def test_two_param_groups_match_torch(name, kind, factory):
    t_opt, t_sched, d_opt, d_sched = make_pair(kind, factory, groups=2)
    want, got = run_steps(t_opt, t_sched, 40), run_steps(d_opt, d_sched, 40)
    for step, (w, g) in enumerate(zip(want, got)):
        assert_same_values(w, g, f"{name} step {step + 1}")
    assert_same_values(t_sched.state_dict(), d_sched.state_dict(), f"{name} state_dict")
    for t_group, d_group in zip(t_opt.param_groups, d_opt.param_groups):
        assert_same_values({k: v for k, v in t_group.items() if k != "params"},
                           {k: v for k, v in d_group.items() if k != "params"}, f"{name} param group")


PER_GROUP_CASES = [
    ("LambdaLR-list", "sgd", lambda L, o: L.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1.0 / (e + 1)])),
    ("MultiplicativeLR-list", "adam", lambda L, o: L.MultiplicativeLR(o, [lambda e: 0.99, lambda e: 0.9])),
    ("CyclicLR-lists", "sgd",
     lambda L, o: L.CyclicLR(o, [0.01, 0.001], [0.1, 0.05], step_size_up=5, base_momentum=[0.8, 0.5],
                             max_momentum=[0.9, 0.99])),
    ("OneCycleLR-lists", "adam",
     lambda L, o: L.OneCycleLR(o, [0.1, 0.02], total_steps=40, base_momentum=(0.8, 0.7), max_momentum=[0.95, 0.9])),
]


@pytest.mark.parametrize("name, kind, factory", PER_GROUP_CASES, ids=[c[0] for c in PER_GROUP_CASES])
def test_per_group_arguments_match_torch(name, kind, factory):
    t_opt, t_sched, d_opt, d_sched = make_pair(kind, factory, groups=2)
    want, got = run_steps(t_opt, t_sched, 40), run_steps(d_opt, d_sched, 40)
    for step, (w, g) in enumerate(zip(want, got)):
        assert_same_values(w, g, f"{name} step {step + 1}")


@pytest.mark.parametrize("name, kind, factory", CASES, ids=CASE_IDS)
def test_state_dict_round_trip_through_a_checkpoint_continues_the_same(name, kind, factory, tmp_path):
    # torch's recipe: build optimizer and scheduler, then load the optimizer's state, then the scheduler's
    opt = dl_optimizer(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sched = factory(dls, opt)
    run_steps(opt, sched, 45)
    dl.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, tmp_path / "ckpt.safetensors")
    straight = run_steps(opt, sched, STEPS - 45)

    checkpoint = dl.load(tmp_path / "ckpt.safetensors")
    opt2 = dl_optimizer(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sched2 = factory(dls, opt2)
    opt2.load_state_dict(checkpoint["optimizer"])
    sched2.load_state_dict(checkpoint["scheduler"])
    resumed = run_steps(opt2, sched2, STEPS - 45)
    for step, (w, g) in enumerate(zip(straight, resumed)):
        assert_same_values(w, g, f"{name} step {46 + step}")


@pytest.mark.parametrize("name, kind, factory", [c for c in CASES if c[0] in (
    "MultiStepLR", "CosineAnnealingLR-past-T_max", "CyclicLR-triangular2", "OneCycleLR-three_phase",
    "CosineAnnealingWarmRestarts-T_mult", "SequentialLR-warmup-cosine")], ids=str)
def test_torch_state_dict_loads_into_dlcore(name, kind, factory):
    # the state dicts hold the same entries, so one saved by torch resumes a dlcore scheduler
    t_opt, t_sched, d_opt, d_sched = make_pair(kind, factory)
    run_steps(t_opt, t_sched, 30)
    group = {k: v for k, v in t_opt.state_dict()["param_groups"][0].items() if k in d_opt.param_groups[0]}
    for key, value in group.items():
        if key != "params":
            d_opt.param_groups[0][key] = value
    for key in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):
        if key in t_opt.param_groups[0]:
            d_opt.param_groups[0][key] = t_opt.param_groups[0][key]
    d_sched.load_state_dict(copy.deepcopy(t_sched.state_dict()))
    want, got = run_steps(t_opt, t_sched, 30), run_steps(d_opt, d_sched, 30)
    for step, (w, g) in enumerate(zip(want, got)):
        assert_same_values(w, g, f"{name} step {31 + step}")


@pytest.mark.parametrize("factory", [
    lambda L, o: L.ExponentialLR(o, 0.9, last_epoch=9),
    lambda L, o: L.StepLR(o, 4, last_epoch=9),
    lambda L, o: L.CosineAnnealingLR(o, 25, eta_min=0.01, last_epoch=9),
    lambda L, o: L.LinearLR(o, 0.25, total_iters=20, last_epoch=9),
    lambda L, o: L.LambdaLR(o, lambda e: 0.9 ** e, last_epoch=9),
    lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=4, last_epoch=9),
    lambda L, o: L.CosineAnnealingWarmRestarts(o, 4, T_mult=2, last_epoch=9),
], ids=["ExponentialLR", "StepLR", "CosineAnnealingLR", "LinearLR", "LambdaLR", "CyclicLR", "CAWR"])
def test_resuming_with_last_epoch_matches_torch(factory):
    # an optimizer whose groups already carry initial_lr (and momentum bounds), as after load_state_dict
    t_opt, d_opt = torch_optimizer("sgd"), dl_optimizer("sgd")
    for opt in (t_opt, d_opt):
        group = opt.param_groups[0]
        group["lr"], group["initial_lr"], group["max_momentum"], group["base_momentum"] = 0.03, 0.1, 0.9, 0.8
    t_sched, d_sched = factory(tls, t_opt), factory(dls, d_opt)
    assert_same_values(record(t_opt, t_sched), record(d_opt, d_sched), "after construction")
    assert d_sched.last_epoch == t_sched.last_epoch
    want, got = run_steps(t_opt, t_sched, 30), run_steps(d_opt, d_sched, 30)
    for step, (w, g) in enumerate(zip(want, got)):
        assert_same_values(w, g, f"step {step + 1}")


def test_resuming_without_initial_lr_raises_key_error_like_torch():
    with pytest.raises(KeyError):
        tls.StepLR(torch_optimizer("sgd"), 3, last_epoch=4)
    with pytest.raises(KeyError, match=r"StepLR: param 'initial_lr' is not specified in param_groups\[0\].*=4"):
        dls.StepLR(dl_optimizer("sgd"), 3, last_epoch=4)
    with pytest.raises(KeyError, match="initial_lr"):
        dls.OneCycleLR(dl_optimizer("sgd"), 0.1, total_steps=10, last_epoch=3)


def test_an_existing_initial_lr_is_kept_like_torch():
    # a second scheduler on the same optimizer must not take the first one's rate as its base
    t_opt, d_opt = torch_optimizer("sgd"), dl_optimizer("sgd")
    for L, opt in ((tls, t_opt), (dls, d_opt)):
        L.ConstantLR(opt, factor=0.5)
        assert L.ExponentialLR(opt, 0.9).base_lrs == [0.1]
        assert opt.param_groups[0]["initial_lr"] == 0.1


def test_step_with_epoch_uses_the_closed_form_and_warns_like_torch():
    for factory in (lambda L, o: L.CosineAnnealingLR(o, 20), lambda L, o: L.MultiStepLR(o, [3, 8], 0.5),
                    lambda L, o: L.PolynomialLR(o, 10, 2.0), lambda L, o: L.OneCycleLR(o, 0.2, total_steps=30)):
        t_opt, t_sched, d_opt, d_sched = make_pair("sgd", factory)
        t_opt.step()
        d_opt.step()
        for epoch in (5, 2, 9, 9, 13):
            with pytest.warns(UserWarning, match="deprecated"):
                d_sched.step(epoch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                t_sched.step(epoch)
            assert_same_values(record(t_opt, t_sched), record(d_opt, d_sched), f"epoch {epoch}")


def test_warm_restarts_with_fractional_epochs_match_torch():
    t_opt, t_sched, d_opt, d_sched = make_pair("sgd", lambda L, o: L.CosineAnnealingWarmRestarts(o, 3, 2, 0.005))
    batches = 7
    for epoch in range(12):
        for batch in range(batches):
            for opt, sched in ((t_opt, t_sched), (d_opt, d_sched)):
                opt.step()
                sched.step(epoch + batch / batches)
            assert_same_values(record(t_opt, t_sched), record(d_opt, d_sched), f"epoch {epoch} batch {batch}")
    # interleaving stepwise and epoch-wise calls, as torch documents
    for sched in (t_sched, d_sched):
        sched.step()
        sched.step(2.5)
        sched.step()
    assert_same_values(record(t_opt, t_sched), record(d_opt, d_sched), "interleaved")
    assert_same_values(t_sched.state_dict(), d_sched.state_dict(), "state_dict")


def _metric_sequence(kind: str) -> list[float]:
    # plateaus, small (sub-threshold) improvements, and real improvements, deterministic
    values, level = [], 10.0
    for i in range(STEPS):
        if i % 17 == 0:
            level *= 0.7
        wiggle = [0.0, 2e-5, -1e-5, 0.3, -0.0005, 0.0][i % 6]
        values.append(level + wiggle if kind == "min" else -(level + wiggle))
    return values


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(patience=0),
    dict(mode="max", factor=0.5, patience=2),
    dict(threshold_mode="abs", threshold=0.01, patience=1, cooldown=3),
    dict(mode="max", threshold_mode="abs", threshold=0.2, patience=3, cooldown=1, min_lr=0.004),
    dict(factor=0.5, patience=1, min_lr=0.05, eps=1e-3),
    dict(factor=0.9, patience=0, eps=0.02),
], ids=str)
def test_reduce_lr_on_plateau_follows_torch_on_a_fixed_metric_sequence(kwargs):
    metrics = _metric_sequence(kwargs.get("mode", "min"))
    t_opt, d_opt = torch_optimizer("sgd"), dl_optimizer("sgd")
    t_sched, d_sched = tls.ReduceLROnPlateau(t_opt, **kwargs), dls.ReduceLROnPlateau(d_opt, **kwargs)
    want, got = run_steps(t_opt, t_sched, STEPS, metrics), run_steps(d_opt, d_sched, STEPS, metrics)
    for step, (w, g) in enumerate(zip(want, got)):
        assert_same_values(w, g, f"step {step + 1}")
    assert len({w[0][0] for w in want}) > 1 or kwargs.get("eps", 0) > 0.01, "the sequence should trigger reductions"
    assert_same_values(t_sched.state_dict(), d_sched.state_dict(), "state_dict")
    assert d_sched.in_cooldown == t_sched.in_cooldown


def test_reduce_lr_on_plateau_per_group_min_lr_tensor_metric_and_round_trip(tmp_path):
    metrics = _metric_sequence("min")
    t_opt = torch_optimizer("adam", groups=2)
    d_opt = torch_optimizer("adam", groups=2)
    t_sched = tls.ReduceLROnPlateau(t_opt, factor=0.5, patience=1, min_lr=[0.02, 0.001])
    d_sched = dls.ReduceLROnPlateau(d_opt, factor=0.5, patience=1, min_lr=[0.02, 0.001])
    for i in range(50):
        t_sched.step(metrics[i])
        d_sched.step(dl.tensor(metrics[i]))  # a one-element tensor, as torch accepts
        assert_same_values(record(t_opt, t_sched), record(d_opt, d_sched), f"step {i + 1}")
    one = dl_optimizer("sgd")
    sched = dls.ReduceLROnPlateau(one, mode="max", patience=2)
    run_steps(one, sched, 20, [-m for m in metrics])
    dl.save(sched.state_dict(), tmp_path / "plateau.safetensors")
    state = dl.load(tmp_path / "plateau.safetensors")
    fresh = dls.ReduceLROnPlateau(dl_optimizer("sgd"), mode="max", patience=2)
    fresh.load_state_dict(state)
    assert_same_values(sched.state_dict(), fresh.state_dict(), "reloaded")


def test_callable_objects_keep_their_state_through_state_dict():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    for L in (tls, dls):
        opt = torch_optimizer("sgd") if L is tls else dl_optimizer("sgd")
        sched = L.LambdaLR(opt, [Decay(0.5)])
        state = sched.state_dict()
        assert state["lr_lambdas"] == [{"rate": 0.5}]
        other = L.LambdaLR(opt, [Decay(0.9)])
        other.load_state_dict(state)
        assert other.lr_lambdas[0].rate == 0.5
        cyclic = L.CyclicLR(opt, 0.01, 0.1, scale_fn=Decay(0.8))
        assert cyclic.state_dict()["_scale_fn_custom"] == {"rate": 0.8}
        assert L.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 1.0).state_dict()["_scale_fn_custom"] is None


def test_names_match_torch():
    assert set(dls.__all__) == set(tls.__all__)
    assert issubclass(dls._LRScheduler, dls.LRScheduler) and dls._LRScheduler.__name__ == "_LRScheduler"
    for name in tls.__all__:
        assert issubclass(getattr(dls, name), dls.LRScheduler), name


def _opt():
    return dl_optimizer("sgd")


def _other_opt_sched():
    return dls.StepLR(_opt(), 3)


BAD_ARGUMENTS = [
    # (id, torch call, dlcore call, error type)
    ("not-an-optimizer", lambda L, o: L.StepLR(object(), 3), TypeError),
    ("ConstantLR-factor", lambda L, o: L.ConstantLR(o, factor=1.5), ValueError),
    ("LinearLR-start", lambda L, o: L.LinearLR(o, start_factor=0.0), ValueError),
    ("LinearLR-end", lambda L, o: L.LinearLR(o, end_factor=1.5), ValueError),
    ("LambdaLR-count", lambda L, o: L.LambdaLR(o, [lambda e: 1.0, lambda e: 1.0]), ValueError),
    ("MultiplicativeLR-not-callable", lambda L, o: L.MultiplicativeLR(o, 0.9), TypeError),
    ("CAWR-T_0", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
    ("CAWR-T_0-float", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError),
    ("CAWR-T_mult", lambda L, o: L.CosineAnnealingWarmRestarts(o, 5, T_mult=0), ValueError),
    ("CAWR-eta_min", lambda L, o: L.CosineAnnealingWarmRestarts(o, 5, eta_min="0"), ValueError),
    ("CAWR-negative-epoch", lambda L, o: L.CosineAnnealingWarmRestarts(o, 5).step(-1), ValueError),
    ("CyclicLR-mode", lambda L, o: L.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError),
    ("CyclicLR-base_lr-count", lambda L, o: L.CyclicLR(o, [0.01, 0.02], 0.1), ValueError),
    ("CyclicLR-momentum-count", lambda L, o: L.CyclicLR(o, 0.01, 0.1, base_momentum=[0.8, 0.8]), ValueError),
    ("OneCycleLR-no-length", lambda L, o: L.OneCycleLR(o, 0.1), ValueError),
    ("OneCycleLR-total_steps", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=0), ValueError),
    ("OneCycleLR-total_steps-float", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10.0), ValueError),
    ("OneCycleLR-epochs", lambda L, o: L.OneCycleLR(o, 0.1, epochs=0, steps_per_epoch=3), ValueError),
    ("OneCycleLR-steps_per_epoch", lambda L, o: L.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=-1), ValueError),
    ("OneCycleLR-pct_start", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), ValueError),
    ("OneCycleLR-pct_start-int", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=1), ValueError),
    ("OneCycleLR-anneal", lambda L, o: L.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"), ValueError),
    ("OneCycleLR-max_lr-count", lambda L, o: L.OneCycleLR(o, [0.1, 0.2], total_steps=10), ValueError),
    ("Plateau-factor", lambda L, o: L.ReduceLROnPlateau(o, factor=1.0), ValueError),
    ("Plateau-mode", lambda L, o: L.ReduceLROnPlateau(o, mode="avg"), ValueError),
    ("Plateau-threshold_mode", lambda L, o: L.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError),
    ("Plateau-min_lr-count", lambda L, o: L.ReduceLROnPlateau(o, min_lr=[0.0, 0.0]), ValueError),
    ("Plateau-not-an-optimizer", lambda L, o: L.ReduceLROnPlateau(None), TypeError),
    ("SequentialLR-empty", lambda L, o: L.SequentialLR(o, [], []), ValueError),
    ("SequentialLR-milestones", lambda L, o: L.SequentialLR(o, [L.StepLR(o, 3), L.StepLR(o, 4)], [1, 2]), ValueError),
    ("SequentialLR-plateau", lambda L, o: L.SequentialLR(o, [L.ReduceLROnPlateau(o)], []), ValueError),
    ("SequentialLR-no-optimizer", lambda L, o: L.SequentialLR(o, [object()], []), TypeError),
    ("ChainedScheduler-empty", lambda L, o: L.ChainedScheduler([]), ValueError),
    ("ChainedScheduler-plateau", lambda L, o: L.ChainedScheduler([L.StepLR(o, 3), L.ReduceLROnPlateau(o)]), ValueError),
]


@pytest.mark.parametrize("call, error", [row[1:] for row in BAD_ARGUMENTS], ids=[row[0] for row in BAD_ARGUMENTS])
def test_bad_arguments_raise_torchs_error_types(call, error):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(error):
            call(tls, torch_optimizer("sgd"))
        with pytest.raises(error, match=r"\w+: "):  # dlcore's messages start with the scheduler's name
            call(dls, _opt())


def test_composites_refuse_schedulers_of_another_optimizer():
    for L, make in ((tls, lambda: torch_optimizer("sgd")), (dls, _opt)):
        a, b = make(), make()
        with pytest.raises(ValueError):
            L.SequentialLR(a, [L.StepLR(a, 3), L.StepLR(b, 3)], [5])
        with pytest.raises(ValueError):
            L.ChainedScheduler([L.StepLR(a, 3), L.StepLR(b, 3)])


def test_one_cycle_refuses_an_optimizer_without_momentum_like_torch():
    # dlcore's optimizers all have momentum or betas; a torch Adagrad shows the check
    for L in (tls, dls):
        with pytest.raises(ValueError, match="momentum"):
            L.OneCycleLR(torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))]), 0.1, total_steps=10)
        with pytest.raises(ValueError, match="momentum"):
            L.CyclicLR(torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))]), 0.01, 0.1)


def test_one_cycle_refuses_steps_past_total_steps():
    opt = _opt()
    sched = dls.OneCycleLR(opt, 0.5, total_steps=10)
    run_steps(opt, sched, 10)
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 11 times, but total_steps=10"):
        sched.step()


def test_one_cycle_linear_rate_past_the_schedule_is_floored_at_zero():
    # Known difference: one step past the schedule torch's linear anneal overshoots below zero, which
    # dlcore's optimizers refuse; everything before it matches, and the momentum still follows torch.
    factory = lambda L, o: L.OneCycleLR(o, 0.3, total_steps=20, anneal_strategy="linear")  # noqa: E731
    t_opt, t_sched, d_opt, d_sched = make_pair("sgd", factory)
    want, got = run_steps(t_opt, t_sched, 20), run_steps(d_opt, d_sched, 20)
    for step, (w, g) in enumerate(zip(want[:-1], got[:-1])):
        assert_same_values(w, g, f"step {step + 1}")
    assert want[-1][0][0] < 0 and got[-1][0] == [0.0] and got[-1][2] == [0.0]
    assert_same_values(want[-1][1], got[-1][1], "momentum at step total_steps")


def test_scheduler_step_before_optimizer_step_warns_like_torch():
    for L, make in ((tls, lambda: torch_optimizer("sgd")), (dls, _opt)):
        opt = make()
        sched = L.StepLR(opt, 3)
        with pytest.warns(UserWarning, match=r"before `?optimizer\.step\(\)"):
            sched.step()
        opt = make()
        sched = L.StepLR(opt, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step()
            sched.step()
            sched.step()  # only the first step is checked


def test_replacing_optimizer_step_after_construction_warns_like_torch():
    for L, make in ((tls, lambda: torch_optimizer("sgd")), (dls, _opt)):
        opt = make()
        sched = L.ExponentialLR(opt, 0.9)
        opt.step = lambda: None
        with pytest.warns(UserWarning, match="optimizer.step"):
            sched.step()


def test_get_lr_outside_step_warns_like_torch():
    for L, make in ((tls, lambda: torch_optimizer("sgd")), (dls, _opt)):
        sched = L.StepLR(make(), 3)
        with pytest.warns(UserWarning, match="get_last_lr"):
            sched.get_lr()


def test_wrapped_optimizer_step_keeps_working_and_releases_the_optimizer():
    import gc
    import weakref

    opt = _opt()
    p = opt.param_groups[0]["params"][0]
    dls.StepLR(opt, 3)
    dls.ExponentialLR(opt, 0.5)  # wraps once
    p.grad = dl.ones(3)
    opt.step()
    assert getattr(opt, "_opt_called", False)
    np.testing.assert_allclose(p.detach().numpy(), -0.1 * np.ones(3), rtol=1e-6)
    # The wrapper holds its optimizer weakly: dropping the optimizer frees it, dlcore's and torch's.
    ref = weakref.ref(opt)
    del opt
    gc.collect()
    assert ref() is None
    t_opt = torch_optimizer("sgd")
    dls.StepLR(t_opt, 3)
    t_opt.step()
    assert t_opt._opt_called
    ref = weakref.ref(t_opt)
    del t_opt
    gc.collect()
    assert ref() is None


# --- the update sees what the param groups say --------------------------------------------------------

def _paired_params(kind: str, lr: float):
    init = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    d_p, t_p = dl.nn.Parameter(dl.tensor(init.tolist())), torch.nn.Parameter(torch.tensor(init))
    if kind == "sgd":
        return (d_p, dl.optim.SGD([d_p], lr=lr, momentum=0.9)), (t_p, torch.optim.SGD([t_p], lr=lr, momentum=0.9))
    return (d_p, dl.optim.Adam([d_p], lr=lr)), (t_p, torch.optim.Adam([t_p], lr=lr))


def _grad(i: int) -> list[float]:
    return [math.sin(i + 1.0), math.cos(2.0 * i), 0.3 - 0.05 * i]


@pytest.mark.parametrize("kind, changes", [
    ("sgd", {3: {"lr": 0.5}, 5: {"momentum": 0.2}, 7: {"lr": 0.01, "momentum": 0.99}}),
    ("adam", {3: {"lr": 0.05}, 5: {"betas": (0.5, 0.999)}, 7: {"betas": (0.95, 0.9), "lr": 0.001}}),
], ids=["sgd-lr-momentum", "adam-lr-betas"])
def test_param_group_changes_reach_the_next_update_like_torch(kind, changes):
    (d_p, d_opt), (t_p, t_opt) = _paired_params(kind, 0.1)
    (u_p, untouched), _ = _paired_params(kind, 0.1)
    for i in range(10):
        for group in (d_opt.param_groups[0], t_opt.param_groups[0]):
            group.update(changes.get(i, {}))
        d_p.grad, u_p.grad, t_p.grad = dl.tensor(_grad(i)), dl.tensor(_grad(i)), torch.tensor(_grad(i))
        d_opt.step()
        untouched.step()
        t_opt.step()
        np.testing.assert_allclose(d_p.detach().numpy(), t_p.detach().numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"step {i}")
        if i in changes:  # the change alters this very step's update
            assert not np.allclose(d_p.detach().numpy(), u_p.detach().numpy(), rtol=1e-7, atol=0), f"step {i}"
        elif i < min(changes):
            np.testing.assert_array_equal(d_p.detach().numpy(), u_p.detach().numpy())


@pytest.mark.parametrize("kind, factory", [
    ("sgd", lambda L, o: L.CyclicLR(o, 0.01, 0.2, step_size_up=4, base_momentum=0.5, max_momentum=0.95)),
    ("adam", lambda L, o: L.OneCycleLR(o, 0.05, total_steps=30, base_momentum=0.6, max_momentum=0.95)),
    ("sgd", lambda L, o: L.SequentialLR(o, [L.LinearLR(o, 0.2, total_iters=5), L.CosineAnnealingLR(o, 25)], [5])),
], ids=["CyclicLR-sgd-momentum", "OneCycleLR-adam-beta1", "SequentialLR-sgd"])
def test_scheduled_training_trajectory_matches_torch(kind, factory):
    (d_p, d_opt), (t_p, t_opt) = _paired_params(kind, 0.1)
    d_sched, t_sched = factory(dls, d_opt), factory(tls, t_opt)
    for i in range(30):
        d_p.grad, t_p.grad = dl.tensor(_grad(i)), torch.tensor(_grad(i))
        d_opt.step()
        t_opt.step()
        d_sched.step()
        t_sched.step()
        np.testing.assert_allclose(d_p.detach().numpy(), t_p.detach().numpy(), rtol=2e-5, atol=2e-6,
                                   err_msg=f"step {i}")


def test_param_group_reads_back_the_exact_value_given():
    opt = _opt()
    group = opt.param_groups[0]
    assert group["lr"] == 0.1 and group["momentum"] == 0.9  # not float32(0.1)
    group["lr"] = 0.0123456789
    assert group["lr"] == 0.0123456789
    adam = dl.optim.Adam(opt.param_groups[0]["params"], lr=0.003, betas=(0.85, 0.995))
    assert adam.param_groups[0]["betas"] == (0.85, 0.995) and adam.param_groups[0]["lr"] == 0.003


def test_schedules_drive_every_param_group_of_a_dlcore_optimizer():
    # per-group rates on dlcore's optimizers, as torch_optimizer(groups=3) makes them for torch
    d_groups = [{"params": [dl.nn.Parameter(dl.zeros(3))], "lr": 0.1 * (1 + 0.5 * i)} for i in range(3)]
    d_opt = dl.optim.SGD(d_groups, lr=0.1, momentum=0.9)
    t_opt = torch_optimizer("sgd", groups=3)
    d_sched, t_sched = dls.StepLR(d_opt, 2, gamma=0.5), tls.StepLR(t_opt, 2, gamma=0.5)
    for _ in range(5):
        d_opt.step()
        t_opt.step()
        d_sched.step()
        t_sched.step()
        assert d_sched.get_last_lr() == t_sched.get_last_lr()
        assert [g["lr"] for g in d_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]
