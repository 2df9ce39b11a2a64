# Parity with PyTorch on the CPU for the model this project is about: LeNet-5 with the same weights
# and batch gives the same forward, gradients and parameters after SGD-momentum, Adam and AdamW
# steps; state dicts move both ways; the lr schedulers reproduce torch's lr/momentum sequences.
import numpy as np
import pytest

import dlcore as dl

torch = pytest.importorskip("torch")  # parity runs where torch is installed (CI installs it)

# Relative error of a whole tensor, max|a - b| / max|b|: the bar for parity is 1e-4.
PARITY_RTOL = 1e-4


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected)) / max(float(np.max(np.abs(expected))), 1e-12))


def dl_lenet() -> dl.nn.Sequential:
    nn = dl.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def torch_lenet() -> torch.nn.Sequential:
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def batch(seed: int, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((size, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, size).astype(np.int64)


@pytest.fixture
def twins(device):
    """A torch LeNet and a dlcore LeNet (on `device`) holding the torch LeNet's weights."""
    torch.manual_seed(0)
    reference = torch_lenet()
    model = dl_lenet()
    model.load_state_dict(reference.state_dict())
    return reference, model.to(device)


def forward_backward(reference, model, seed: int, device: str) -> tuple:
    images, labels = batch(seed)
    t_logits = reference(torch.tensor(images))
    t_loss = torch.nn.functional.cross_entropy(t_logits, torch.tensor(labels))
    t_loss.backward()
    d_logits = model(dl.tensor(images, device=device))
    d_loss = dl.nn.functional.cross_entropy(d_logits, dl.tensor(labels, device=device))
    d_loss.backward()
    return t_logits, t_loss, d_logits, d_loss


def assert_parameters_match(reference, model, rtol: float = PARITY_RTOL) -> None:
    expected = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        err = relative_error(p.detach().cpu().numpy(), expected[name].detach().numpy())
        assert err <= rtol, f"{name}: relative error {err:.2e}"


def test_forward_and_gradients_match(twins, device):
    reference, model = twins
    t_logits, t_loss, d_logits, d_loss = forward_backward(reference, model, seed=1, device=device)
    assert relative_error(d_logits.detach().cpu().numpy(), t_logits.detach().numpy()) <= PARITY_RTOL
    assert d_loss.item() == pytest.approx(t_loss.item(), rel=PARITY_RTOL)
    expected = dict(reference.named_parameters())
    assert [name for name, _ in model.named_parameters()] == list(expected)
    for name, p in model.named_parameters():
        err = relative_error(p.grad.cpu().numpy(), expected[name].grad.numpy())
        assert err <= PARITY_RTOL, f"grad of {name}: relative error {err:.2e}"


OPTIMIZERS = {
    "sgd-momentum": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                     lambda ps: dl.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "sgd-nesterov-wd": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                        lambda ps: dl.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "sgd-dampening": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3),
                      lambda ps: dl.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3)),
    "adam": (lambda ps: torch.optim.Adam(ps, lr=1e-3), lambda ps: dl.optim.Adam(ps, lr=1e-3)),
    "adam-l2": (lambda ps: torch.optim.Adam(ps, lr=1e-3, betas=(0.8, 0.99), weight_decay=0.05),
                lambda ps: dl.optim.Adam(ps, lr=1e-3, betas=(0.8, 0.99), weight_decay=0.05)),
    "adamw": (lambda ps: torch.optim.AdamW(ps, lr=1e-3, weight_decay=0.1),
              lambda ps: dl.optim.AdamW(ps, lr=1e-3, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_match(twins, device, name):
    reference, model = twins
    make_torch, make_dl = OPTIMIZERS[name]
    t_opt, d_opt = make_torch(reference.parameters()), make_dl(model.parameters())
    # three steps on different batches, so momentum buffers and Adam's moments are exercised too
    for step in range(3):
        t_opt.zero_grad()
        d_opt.zero_grad()
        forward_backward(reference, model, seed=10 + step, device=device)
        t_opt.step()
        d_opt.step()
        assert_parameters_match(reference, model)
    # the updates themselves (not just the parameters, which barely move) agree closely too
    before = {k: v.detach().clone() for k, v in reference.named_parameters()}
    d_before = {k: v.detach().cpu().numpy().copy() for k, v in model.named_parameters()}
    t_opt.zero_grad()
    d_opt.zero_grad()
    forward_backward(reference, model, seed=20, device=device)
    t_opt.step()
    d_opt.step()
    for key, p in model.named_parameters():
        t_update = (dict(reference.named_parameters())[key].detach() - before[key]).numpy()
        d_update = p.detach().cpu().numpy() - d_before[key]
        # measured 3e-5 (SGD) and 2e-3 (Adam): Adam divides by sqrt(v) + eps, so a float32 rounding
        # difference in a gradient entry near eps (1e-8) changes that entry's update by a visible fraction
        tolerance = 3e-4 if name.startswith("sgd") else 1e-2
        assert relative_error(d_update, t_update) <= tolerance, key


def test_optimizer_state_dict_layout_matches_torch(twins, device):
    reference, model = twins
    t_opt = torch.optim.Adam(reference.parameters(), lr=1e-3)
    d_opt = dl.optim.Adam(model.parameters(), lr=1e-3)
    forward_backward(reference, model, seed=3, device=device)
    t_opt.step()
    d_opt.step()
    t_state, d_state = t_opt.state_dict(), d_opt.state_dict()
    assert sorted(d_state["state"]) == sorted(t_state["state"])
    for index, entries in t_state["state"].items():
        for key in ("exp_avg", "exp_avg_sq"):
            err = relative_error(d_state["state"][index][key].cpu().numpy(), entries[key].numpy())
            assert err <= 1e-3, (index, key)
    assert d_state["param_groups"][0]["lr"] == pytest.approx(t_state["param_groups"][0]["lr"])
    assert d_state["param_groups"][0]["betas"] == pytest.approx(t_state["param_groups"][0]["betas"])


def test_state_dict_moves_dlcore_to_torch_with_identical_predictions(device):
    dl.manual_seed(5)
    model = dl_lenet().to(device)
    reference = torch_lenet()
    reference.load_state_dict({k: torch.tensor(v.cpu().numpy()) for k, v in model.state_dict().items()})
    images, _ = batch(seed=4, size=64)
    with dl.no_grad():
        d_logits = model(dl.tensor(images, device=device)).cpu().numpy()
    with torch.no_grad():
        t_logits = reference(torch.tensor(images)).numpy()
    assert relative_error(d_logits, t_logits) <= PARITY_RTOL
    np.testing.assert_array_equal(d_logits.argmax(1), t_logits.argmax(1))


def test_default_initialisation_matches_torch_scale():
    # same distributions (not values), so the training curves of both frameworks are comparable:
    # U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for LeNet's weights and biases
    dl.manual_seed(1)
    d_state = {k: v.numpy() for k, v in dl_lenet().state_dict().items()}
    t_state = {k: v.numpy() for k, v in torch_lenet().state_dict().items()}
    for key, t_value in t_state.items():
        assert d_state[key].shape == t_value.shape, key
        weight = t_state[key.rsplit(".", 1)[0] + ".weight"]
        bound = 1 / np.sqrt(np.prod(weight.shape[1:]))
        assert np.abs(d_state[key]).max() <= bound, key
        if t_value.size >= 100:  # enough samples for the std to be within 10% of bound/sqrt(3)
            assert abs(d_state[key].std() - bound / np.sqrt(3)) <= 0.1 * bound / np.sqrt(3), key


# ---- learning-rate schedulers ----

def lr_sequences(make_torch, make_dl, steps: int, optimizer: str = "sgd", momentum_key: str | None = None):
    t_param, d_param = torch.nn.Parameter(torch.zeros(2)), dl.nn.Parameter(dl.zeros(2))
    if optimizer == "sgd":
        t_opt, d_opt = torch.optim.SGD([t_param], lr=0.1, momentum=0.9), dl.optim.SGD([d_param], lr=0.1, momentum=0.9)
    else:
        t_opt, d_opt = torch.optim.Adam([t_param], lr=0.1), dl.optim.Adam([d_param], lr=0.1)
    t_sched, d_sched = make_torch(t_opt), make_dl(d_opt)
    torch_seq, dl_seq = [], []
    for step in range(steps):  # records `steps` rates: the one set at construction, then steps - 1 more
        if step:
            t_opt.step()
            d_opt.step()
            t_sched.step()
            d_sched.step()
        for seq, opt in ((torch_seq, t_opt), (dl_seq, d_opt)):
            group = opt.param_groups[0]
            momentum = None if momentum_key is None else group[momentum_key]
            seq.append((group["lr"], momentum[0] if isinstance(momentum, tuple) else momentum))
        assert d_sched.get_last_lr() == pytest.approx(t_sched.get_last_lr(), rel=1e-6)
    return torch_seq, dl_seq


def assert_same_sequence(torch_seq, dl_seq) -> None:
    for step, (want, got) in enumerate(zip(torch_seq, dl_seq)):
        assert got[0] == pytest.approx(want[0], rel=1e-6, abs=1e-12), f"lr at step {step}"
        if want[1] is not None:
            assert got[1] == pytest.approx(want[1], rel=1e-6), f"momentum at step {step}"


def test_step_lr_sequence():
    assert_same_sequence(*lr_sequences(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
                                       lambda o: dl.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 12))


def test_cosine_annealing_sequence_including_past_t_max():
    # past T_max torch's rate climbs back along the cosine; the closed form must do the same
    assert_same_sequence(*lr_sequences(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
        lambda o: dl.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01), 13))


@pytest.mark.parametrize("kwargs", [dict(), dict(anneal_strategy="linear", pct_start=0.25),
                                    dict(three_phase=True, div_factor=10.0, final_div_factor=100.0)], ids=str)
@pytest.mark.parametrize("optimizer, key", [("sgd", "momentum"), ("adam", "betas")])
def test_one_cycle_lr_and_momentum_sequence(kwargs, optimizer, key):
    assert_same_sequence(*lr_sequences(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=40, **kwargs),
        lambda o: dl.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=40, **kwargs), 40, optimizer, key))


def test_one_cycle_lr_epochs_and_steps_per_epoch():
    assert_same_sequence(*lr_sequences(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, epochs=3, steps_per_epoch=5),
        lambda o: dl.optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, epochs=3, steps_per_epoch=5), 15))


def test_one_cycle_allows_one_scheduler_step_per_batch():
    p = dl.nn.Parameter(dl.zeros(1))
    optimizer = dl.optim.SGD([p], lr=0.1, momentum=0.9)
    scheduler = dl.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=10)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert scheduler.last_epoch == 10
    with pytest.raises(ValueError, match="OneCycleLR.*total_steps=10"):
        scheduler.step()


def test_scheduler_lr_reaches_the_optimizer_update():
    # the scheduled rate must be the one the C++ update uses, not only a Python-side number
    p = dl.nn.Parameter(dl.zeros(1))
    optimizer = dl.optim.SGD([p], lr=1.0)
    scheduler = dl.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1)
    with pytest.warns(UserWarning, match=r"before optimizer\.step\(\)"):  # torch warns about this order too
        scheduler.step()  # lr 0.1
    p.grad = dl.ones(1)
    optimizer.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1) and p.detach().numpy()[0] == pytest.approx(-0.1)
