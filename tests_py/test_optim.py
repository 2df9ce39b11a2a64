# dl.optim against torch.optim: every optimizer under each of its options runs 50 steps next to
# torch's on the same parameters and gradients (two param groups, a frozen parameter and one whose
# gradient is missing every third step) and must end within 1e-6 relative; state dicts hold what
# torch's hold and round trip mid-run (also from a torch optimizer's state dict); edits of lr,
# momentum and betas reach the next step as schedulers make them; torch's argument errors; and a
# dropped optimizer releases its parameters and state (issue 11).
import gc
import math
import weakref

import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")

STEPS = 50
# max|a - b| / max|b| over a parameter: float32 rounding (and FMA contraction) differences between
# the two implementations stay near 1e-7 per step; 50 steps stay below this.
RTOL = 1e-6

SHAPES = [(6, 5), (5,), (3, 4, 2), (4,)]  # group 0: the first two; group 1: the rest (the last one frozen)
SOMETIMES_NO_GRAD = 1  # parameter 1 has no gradient on every third step: its step count falls behind


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / max(float(np.max(np.abs(expected))), 1e-12))


def initial_values(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]


def gradients(step: int) -> list[np.ndarray | None]:
    rng = np.random.default_rng(1000 + step)
    grads = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES[:-1]]
    if step % 3 == 2:
        grads[SOMETIMES_NO_GRAD] = None
    return grads + [None]  # the frozen parameter never has one


class Twins:
    """The same parameters as dlcore and torch tensors, the last one frozen (requires_grad=False)."""

    def __init__(self, seed: int = 0) -> None:
        values = initial_values(seed)
        self.d = [dl.nn.Parameter(dl.tensor(v)) for v in values]
        self.t = [torch.nn.Parameter(torch.tensor(v)) for v in values]
        self.d[-1].requires_grad_(False)
        self.t[-1].requires_grad_(False)

    def groups(self, which: str, second: dict) -> list[dict]:
        params = self.d if which == "d" else self.t
        return [{"params": params[:2]}, {"params": params[2:], **second}]

    def set_grads(self, step: int) -> None:
        for d, t, g in zip(self.d, self.t, gradients(step)):
            d.grad = None if g is None else dl.tensor(g)
            t.grad = None if g is None else torch.tensor(g)

    def assert_close(self, rtol: float = RTOL, what: str = "") -> None:
        for i, (d, t) in enumerate(zip(self.d, self.t)):
            err = relative_error(d.detach().numpy(), t.detach().numpy())
            assert err <= rtol, f"{what} parameter {i}: relative error {err:.2e}"


# (optimizer name, constructor options, options of the second group)
CASES = [
    ("SGD", dict(lr=0.1), dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9), dict(momentum=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01), dict(lr=0.02)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3), dict(weight_decay=0.0)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True, foreach=True), dict(lr=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, fused=True), dict(lr=0.01)),
    ("Adam", dict(lr=0.01), dict(lr=0.005)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05), dict(betas=(0.9, 0.9))),
    ("Adam", dict(lr=0.01, amsgrad=True), dict(eps=1e-6)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.01), dict(amsgrad=False)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(weight_decay=0.0)),
    ("Adam", dict(lr=0.01, foreach=True), dict(lr=0.02)),
    ("Adam", dict(lr=0.01, fused=True), dict(lr=0.02)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True), dict(lr=0.003)),
    ("Adadelta", dict(), dict(lr=0.5)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True), dict(rho=0.95)),
    ("Adagrad", dict(lr=0.05), dict(lr=0.1)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.05), dict(eps=1e-6)),
    ("Adagrad", dict(lr=0.05, maximize=True, fused=True), dict(lr_decay=0.1)),
    ("RMSprop", dict(lr=0.01), dict(alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True), dict(lr=0.005)),
    ("RMSprop", dict(lr=0.01, momentum=0.9), dict(momentum=0.0)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01, maximize=True), dict(centered=False)),
    ("Adamax", dict(), dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.05, maximize=True), dict(eps=1e-4)),
    ("NAdam", dict(lr=0.01), dict(lr=0.005)),
    ("NAdam", dict(lr=0.01, weight_decay=0.05, momentum_decay=0.01), dict(betas=(0.8, 0.99))),
    ("NAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True), dict(weight_decay=0.2)),
    ("NAdam", dict(lr=0.01, maximize=True), dict(momentum_decay=0.0)),
    ("RAdam", dict(lr=0.01), dict(lr=0.005)),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05), dict(betas=(0.9, 0.95))),
    ("RAdam", dict(lr=0.01, weight_decay=0.05, decoupled_weight_decay=True, maximize=True), dict(weight_decay=0.0)),
]


def case_id(case) -> str:
    name, options, second = case
    def text(d: dict) -> str:
        return ",".join(f"{k}={v}" for k, v in d.items())
    return f"{name}-{text(options)}|{text(second)}"


def make_pair(twins: Twins, name: str, options: dict, second: dict):
    return (getattr(dl.optim, name)(twins.groups("d", second), **options),
            getattr(torch.optim, name)(twins.groups("t", second), **options))


def run(twins: Twins, d_opt, t_opt, steps: range) -> None:
    for step in steps:
        twins.set_grads(step)
        d_opt.step()
        t_opt.step()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_fifty_steps_match_torch(case):
    twins = Twins()
    d_opt, t_opt = make_pair(twins, *case)
    for chunk in range(5):
        run(twins, d_opt, t_opt, range(chunk * 10, chunk * 10 + 10))
        twins.assert_close(what=f"after {chunk * 10 + 10} steps:")
    assert_state_dicts_match(d_opt.state_dict(), t_opt.state_dict())


def assert_state_dicts_match(d_state: dict, t_state: dict, rtol: float = RTOL) -> None:
    """Same parameter indices, state names and (to rtol) values; the same param_groups entries."""
    assert list(d_state) == list(t_state) == ["state", "param_groups"]
    assert sorted(d_state["state"]) == sorted(t_state["state"])
    for index, t_entries in t_state["state"].items():
        d_entries = d_state["state"][index]
        assert sorted(d_entries) == sorted(t_entries), index
        for key, t_value in t_entries.items():
            d_value = d_entries[key]
            if t_value is None:
                assert d_value is None
                continue
            t_array = t_value.detach().cpu().numpy()
            d_array = d_value.detach().cpu().numpy()
            assert d_array.shape == t_array.shape and d_array.dtype == t_array.dtype, (index, key)
            if key == "step":
                assert d_array == t_array, (index, key)
            else:
                assert relative_error(d_array, t_array) <= rtol, (index, key)
    assert len(d_state["param_groups"]) == len(t_state["param_groups"])
    for d_group, t_group in zip(d_state["param_groups"], t_state["param_groups"]):
        assert list(d_group) == list(t_group)  # the same keys in the same order
        assert d_group == t_group


def test_defaults_and_groups_hold_torch_keys_and_values():
    for name in ["SGD", "Adam", "AdamW", "Adadelta", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam"]:
        twins = Twins()
        d_opt, t_opt = getattr(dl.optim, name)(twins.d, lr=0.01), getattr(torch.optim, name)(twins.t, lr=0.01)
        assert d_opt.defaults == t_opt.defaults and list(d_opt.defaults) == list(t_opt.defaults), name
        d_group, t_group = d_opt.param_groups[0], t_opt.param_groups[0]
        assert list(d_group) == list(t_group), name
        assert ({k: v for k, v in d_group.items() if k != "params"}
                == {k: v for k, v in t_group.items() if k != "params"}), name
        assert all(a is b for a, b in zip(d_group["params"], twins.d))


def test_named_parameters_keep_their_names_like_torch():
    d_model, t_model = dl.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    d_opt = dl.optim.Adam(d_model.named_parameters(), lr=0.1)
    t_opt = torch.optim.Adam(t_model.named_parameters(), lr=0.1)
    assert d_opt.param_groups[0]["param_names"] == t_opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert d_opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    with pytest.raises(ValueError, match="with/without names"):
        d_opt.add_param_group({"params": [dl.nn.Parameter(dl.zeros(2))]})


def test_add_param_group_mid_run_matches_torch():
    twins = Twins()
    d_opt = dl.optim.Adam(twins.d[:2], lr=0.01)
    t_opt = torch.optim.Adam(twins.t[:2], lr=0.01)
    run(twins, d_opt, t_opt, range(5))
    d_opt.add_param_group({"params": twins.d[2:], "lr": 0.03, "amsgrad": True})
    t_opt.add_param_group({"params": twins.t[2:], "lr": 0.03, "amsgrad": True})
    run(twins, d_opt, t_opt, range(5, 20))
    twins.assert_close()
    assert_state_dicts_match(d_opt.state_dict(), t_opt.state_dict())


def test_adagrad_creates_state_for_every_parameter_at_construction_like_torch():
    twins = Twins()
    d_opt = dl.optim.Adagrad(twins.d, initial_accumulator_value=0.3)
    t_opt = torch.optim.Adagrad(twins.t, initial_accumulator_value=0.3)
    assert_state_dicts_match(d_opt.state_dict(), t_opt.state_dict())  # frozen parameter included


def test_hyperparameter_edits_reach_the_next_step():
    # what a scheduler does between steps: lr, momentum and betas written into the groups
    for name, options, edits in [
            ("SGD", dict(lr=0.05, momentum=0.9), [("lr", 0.02), ("momentum", 0.3), ("dampening", 0.1)]),
            ("Adam", dict(lr=0.01), [("lr", 0.002), ("betas", (0.5, 0.9)), ("eps", 1e-3)]),
            ("RMSprop", dict(lr=0.01, momentum=0.5), [("alpha", 0.5), ("momentum", 0.8)]),
            ("NAdam", dict(lr=0.01), [("betas", (0.7, 0.95)), ("weight_decay", 0.1)])]:
        twins = Twins()
        d_opt, t_opt = make_pair(twins, name, options, {})
        run(twins, d_opt, t_opt, range(4))
        for step, (key, value) in enumerate(edits):
            for opt in (d_opt, t_opt):
                opt.param_groups[step % 2][key] = value
            run(twins, d_opt, t_opt, range(4 + 3 * step, 7 + 3 * step))
            twins.assert_close(what=f"{name} after setting {key}:")


@pytest.mark.parametrize("name, key", [("SGD", "momentum"), ("Adam", "betas")])
def test_one_cycle_schedule_of_lr_and_momentum_matches_torch(name, key):
    twins = Twins()
    options = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.01)
    d_opt, t_opt = make_pair(twins, name, options, {"lr": 0.02})
    d_sched = dl.optim.lr_scheduler.OneCycleLR(d_opt, max_lr=[0.1, 0.05], total_steps=STEPS)
    t_sched = torch.optim.lr_scheduler.OneCycleLR(t_opt, max_lr=[0.1, 0.05], total_steps=STEPS)
    for step in range(STEPS - 1):
        run(twins, d_opt, t_opt, range(step, step + 1))
        d_sched.step()
        t_sched.step()
        assert [g[key] for g in d_opt.param_groups] == [g[key] for g in t_opt.param_groups]
    twins.assert_close()


ROUND_TRIP_CASES = [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True)),
                    ("Adagrad", dict(lr=0.05)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
                    ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)), ("Adadelta", dict()), ("Adamax", dict())]


@pytest.mark.parametrize("name, options", ROUND_TRIP_CASES)
def test_state_dict_round_trip_mid_run_resumes_identically(tmp_path, name, options):
    straight = Twins()
    d_opt = getattr(dl.optim, name)(straight.groups("d", {"lr": 0.02}), **options)
    resumed = Twins()
    first_half = getattr(dl.optim, name)(resumed.groups("d", {"lr": 0.02}), **options)
    for step in range(10):
        for twins, opt in ((straight, d_opt), (resumed, first_half)):
            twins.set_grads(step)
            opt.step()
    path = tmp_path / "optimizer.safetensors"
    dl.save({"optimizer": first_half.state_dict(), "params": [p.detach() for p in resumed.d]}, path)
    loaded = dl.load(path)
    fresh = Twins(seed=5)  # other values: everything must come from the file
    with dl.no_grad():
        for p, saved in zip(fresh.d, loaded["params"]):
            p.copy_(saved)
    second_half = getattr(dl.optim, name)(fresh.groups("d", {"lr": 0.5}), **options)
    second_half.load_state_dict(loaded["optimizer"])
    assert second_half.param_groups[1]["lr"] == 0.02
    for step in range(10, 20):
        for twins, opt in ((straight, d_opt), (fresh, second_half)):
            twins.set_grads(step)
            opt.step()
    for a, b in zip(straight.d, fresh.d):  # the same kernels on the same values: bit for bit
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize("name, options", [("Adam", dict(lr=0.01, amsgrad=True)), ("SGD", dict(lr=0.05, momentum=0.9)),
                                           ("NAdam", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, centered=True))])
def test_loading_a_torch_state_dict_continues_like_torch(name, options):
    twins = Twins()
    d_opt, t_opt = make_pair(twins, name, options, {"lr": 0.02})
    for step in range(10):  # only torch trains; dlcore then takes over its parameters and state
        twins.set_grads(step)
        t_opt.step()
    with dl.no_grad():
        for d, t in zip(twins.d, twins.t):
            d.copy_(dl.tensor(t.detach().numpy()))
    t_state = t_opt.state_dict()
    converted = {"state": {index: {key: dl.tensor(value.numpy()) for key, value in entries.items()}
                           for index, entries in t_state["state"].items()},
                 "param_groups": t_state["param_groups"]}
    d_opt.load_state_dict(converted)
    assert_state_dicts_match(d_opt.state_dict(), t_opt.state_dict(), rtol=0.0)
    run(twins, d_opt, t_opt, range(10, 30))
    twins.assert_close()


def test_load_state_dict_is_all_or_nothing():
    twins = Twins()
    opt = dl.optim.Adam(twins.groups("d", {"lr": 0.02}), lr=0.01)
    run_dl(twins, opt, range(3))
    before = snapshot(opt)
    good = opt.state_dict()

    def bad(edit):
        state = {"state": {i: dict(e) for i, e in good["state"].items()},
                 "param_groups": [dict(g) for g in good["param_groups"]]}
        edit(state)
        return state

    cases = [
        (lambda s: s["param_groups"][1].update(lr=-1.0), ValueError, r"param_groups\[1\]: Invalid learning rate: -1.0"),
        (lambda s: s["param_groups"][0].update(betas=(1.0, 0.9)), ValueError, r"beta parameter at index 0: 1.0"),
        (lambda s: s["state"][2].update(step=dl.tensor(-3.0)), ValueError, r"state '2.step' is -3.0; a step count"),
        (lambda s: s["state"][0].update(exp_avg=dl.zeros(5, 6)), ValueError, r"state '0.exp_avg' is float32\[5, 6\]"),
        (lambda s: s["state"][0].update(momentum_buffer=dl.zeros(6, 5)), ValueError, r"'0.momentum_buffer': unknown"),
        (lambda s: s["state"].update({7: {}}), ValueError, r"state for parameter 7"),
        (lambda s: s["state"][0].pop("exp_avg_sq"), ValueError, r"the state of parameter 0 lacks \['exp_avg_sq'\]"),
        (lambda s: s["param_groups"].pop(), ValueError, r"different number of parameter groups"),
        (lambda s: s["param_groups"][0].update(params=[0]), ValueError, r"doesn't match the size"),
    ]
    for edit, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            opt.load_state_dict(bad(edit))
        assert snapshot(opt) == before, pattern  # nothing changed


def run_dl(twins: Twins, opt, steps: range) -> None:
    for step in steps:
        twins.set_grads(step)
        opt.step()


def snapshot(opt) -> str:
    state = opt.state_dict()
    return repr(([(i, k, v.numpy().tolist()) for i, e in sorted(state["state"].items()) for k, v in e.items()],
                 state["param_groups"]))


def test_state_is_keyed_by_the_parameter_whatever_its_handle():
    model = dl.nn.Linear(3, 2)
    opt = dl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(dl.randn(4, 3)).sum().backward()
    opt.step()
    weight = model.weight  # a new Python handle of the same tensor
    assert weight in opt.state and set(opt.state[weight]) == {"momentum_buffer"}
    assert len(opt.state) == 2 and opt.state.get(dl.nn.Parameter(dl.zeros(1))) is None
    assert opt.state[dl.nn.Parameter(dl.zeros(1))] == {}  # a defaultdict, as torch's


def test_zero_grad_to_none_or_zeros():
    model = dl.nn.Linear(3, 2)
    opt = dl.optim.SGD(model.parameters(), lr=0.1)
    model(dl.randn(4, 3)).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_step_runs_the_closure_and_hooks():
    p = dl.nn.Parameter(dl.tensor([1.0, -2.0]))
    opt = dl.optim.SGD([p], lr=0.5)
    calls = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", o is opt)))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0 and calls == [("pre", True), ("post", True)]
    np.testing.assert_allclose(p.detach().numpy(), [0.0, 0.0])  # p - 0.5 * 2p
    pre.remove()
    opt.step(closure)
    assert calls[-1] == ("post", True) and len(calls) == 3


OPTIMIZER_NAMES = ["SGD", "Adam", "AdamW", "Adadelta", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam"]

# (optimizer, options, exception, message) -- torch's messages, after dlcore's "<Optimizer>: " prefix
ARGUMENT_ERRORS = [
    ("SGD", dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    ("SGD", dict(lr=0.1, momentum=-1.0), ValueError, "Invalid momentum value: -1.0"),
    ("SGD", dict(lr=0.1, nesterov=True, momentum=0.9, dampening=0.1), ValueError, "Nesterov momentum requires"),
    ("SGD", dict(lr=0.1, fused=True, foreach=True), RuntimeError, "`fused` and `foreach` cannot be `True` together"),
    ("Adam", dict(betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, 1.5)), ValueError, "Invalid beta parameter at index 1: 1.5"),
    ("Adam", dict(betas=(0, 0.999)), ValueError, "betas must be either both floats or both Tensors"),
    ("Adam", dict(eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    ("Adam", dict(fused=True, differentiable=True), RuntimeError, "`fused` does not support `differentiable`"),
    ("AdamW", dict(weight_decay=-0.01), ValueError, "Invalid weight_decay value: -0.01"),
    ("Adadelta", dict(rho=1.5), ValueError, "Invalid rho value: 1.5"),
    ("Adagrad", dict(lr_decay=-1.0), ValueError, "Invalid lr_decay value: -1.0"),
    ("Adagrad", dict(initial_accumulator_value=-0.5), ValueError, "Invalid initial_accumulator_value value: -0.5"),
    ("RMSprop", dict(alpha=-0.5), ValueError, "Invalid alpha value: -0.5"),
    ("RMSprop", dict(momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    ("Adamax", dict(betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    ("NAdam", dict(momentum_decay=-0.1), ValueError, "Invalid momentum_decay value: -0.1"),
    ("RAdam", dict(lr=-1e-3), ValueError, "Invalid learning rate: -0.001"),
]


@pytest.mark.parametrize("name, options, error, message", ARGUMENT_ERRORS,
                         ids=[f"{r[0]}-{r[3][:30]}" for r in ARGUMENT_ERRORS])
def test_argument_errors_match_torch(name, options, error, message):
    with pytest.raises(error, match=f"^{name}: " + message.replace("(", r"\(").replace(")", r"\)")):
        getattr(dl.optim, name)([dl.nn.Parameter(dl.zeros(2))], **options)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):  # torch raises the same
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **options)


def test_parameter_list_errors_match_torch():
    p = dl.nn.Parameter(dl.zeros(2))
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        dl.optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        dl.optim.Adam([])
    with pytest.raises(TypeError, match="ordered collections"):
        dl.optim.Adam([{"params": {p}}])
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is int"):
        dl.optim.Adam([p, 3])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        dl.optim.Adam([dl.nn.Parameter(dl.zeros(2)) * 2.0])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        dl.optim.Adam([{"params": [p]}, {"params": [p], "lr": 0.1}])
    with pytest.raises(TypeError, match="param_group must be a dict"):
        dl.optim.Adam([p]).add_param_group([p])
    with pytest.raises(TypeError, match=r"float32 parameters .* float64\[2\]"):
        dl.optim.Adam([dl.zeros(2, dtype=dl.float64, requires_grad=True)])
    with pytest.raises(NotImplementedError, match="differentiable=True is not supported"):
        dl.optim.RMSprop([p], differentiable=True)


def test_parameters_without_gradients_or_requires_grad_are_skipped():
    frozen = dl.nn.Parameter(dl.ones(3))
    frozen.requires_grad_(False)
    idle, active = dl.nn.Parameter(dl.ones(2)), dl.nn.Parameter(dl.ones(2))
    for name in OPTIMIZER_NAMES:
        opt = getattr(dl.optim, name)([frozen, idle, active], lr=0.1, **({"weight_decay": 0.1}))
        active.grad = dl.ones(2)
        opt.step()
        assert np.all(frozen.detach().numpy() == 1) and np.all(idle.detach().numpy() == 1), name  # not even decay
        indices = set(opt.state_dict()["state"])
        # Adagrad makes every parameter's state up front, SGD without momentum keeps none (as torch)
        assert indices == {"Adagrad": {0, 1, 2}, "SGD": set()}.get(name, {2}), (name, indices)


def test_dropped_optimizer_frees_its_parameters_and_state():
    # issue 11: the optimizer, the parameter handles it holds and its state tensors die with it
    for name in OPTIMIZER_NAMES:
        model = dl.nn.Linear(784, 256)
        opt = getattr(dl.optim, name)(model.parameters(), lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
        model(dl.randn(2, 784)).sum().backward()
        opt.step()
        dl.optim.lr_scheduler.StepLR(opt, 1)  # a scheduler (which wraps step) must not keep it either
        refs = [weakref.ref(opt), weakref.ref(opt.param_groups[0]["params"][0]),
                *(weakref.ref(value) for entry in opt.state.values() for value in entry.values())]
        del opt, model
        gc.collect()
        assert all(ref() is None for ref in refs), name


def test_step_refuses_mismatched_state_with_a_clear_error():
    p = dl.nn.Parameter(dl.zeros(3))
    opt = dl.optim.Adam([p])
    p.grad = dl.ones(3)
    opt.step()
    opt.state[p]["exp_avg"] = dl.zeros(4)
    with pytest.raises(ValueError, match=r"Adam.step: parameter 0: exp_avg is float32\[4\]"):
        opt.step()
    assert math.isclose(opt.state[p]["step"].item(), 1.0)  # the failed step changed nothing


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_every_optimizer_steps_on_the_device_like_torch(device, name):
    # the state lives on the parameters' device, the step counts on the host (torch's layout)
    twins = Twins()
    d_params = [dl.nn.Parameter(p.detach().to(device)) for p in twins.d[:3]]
    d_opt = getattr(dl.optim, name)([{"params": d_params[:2]}, {"params": d_params[2:], "lr": 0.005}], lr=0.01)
    t_opt = getattr(torch.optim, name)([{"params": twins.t[:2]}, {"params": twins.t[2:3], "lr": 0.005}], lr=0.01)
    for step in range(8):
        for d, t, g in zip(d_params, twins.t, gradients(step)):
            d.grad = None if g is None else dl.tensor(g, device=device)
            t.grad = None if g is None else torch.tensor(g)
        d_opt.step()
        t_opt.step()
    for d, t in zip(d_params, twins.t):
        assert relative_error(d.detach().cpu().numpy(), t.detach().numpy()) <= RTOL
    for entries in d_opt.state.values():
        for key, value in entries.items():
            assert str(value.device) == ("cpu" if key in ("step", "mu_product") else str(d_params[0].device)), key
