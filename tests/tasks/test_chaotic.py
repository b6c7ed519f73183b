"""Chaos control on the logistic map (``tasks/chaotic.py``): the target, finiteness, and the
exponential growth of the gradient with the horizon."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from solvers import get_solver
from solvers._torch import torch_loss
from tasks import TASKS, get_task
from tasks.base import Task
from tasks.chaotic import FIXED_POINT, RATE, known_good, make_logistic_map
from tasks.errors import InvalidParameterError
from tasks.network import ModuleSpec

HORIZONS = (5, 10, 20, 40)
DRAWS = 9


def spec(task: Task) -> ModuleSpec:
    """The task's network, which is a torch module's."""
    assert isinstance(task.model, ModuleSpec)
    return task.model


def test_registered_with_its_knobs_and_network() -> None:
    assert TASKS["logistic_map"] is make_logistic_map
    task = get_task("logistic_map", horizon=7, hidden_size=3)
    assert task.model.layer_sizes == (1, 7)
    assert task.y_train.shape == (task.n_train, 7)
    np.testing.assert_array_equal(task.y_train, FIXED_POINT)
    assert {"horizon": 7, "hidden_size": 3}.items() <= task.options.items()
    assert set(task.options) == {"horizon", "hidden_size", "num_train", "num_test", "data_seed"}
    assert spec(task).record()["class"] == "LogisticController"
    assert spec(task).record()["num_params"] == task.num_params == 3 * 3 + 1
    assert "Metz" in task.description and "0.001" in task.description


def test_data_are_deterministic_and_follow_the_seed() -> None:
    a, b = make_logistic_map(), make_logistic_map()
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, make_logistic_map(data_seed=1).x_train)
    assert np.all((a.x_train >= 0) & (a.x_train <= 1))


@pytest.mark.parametrize(("knob", "value"), [("horizon", 0), ("horizon", 2.5),
                                             ("hidden_size", 0), ("num_train", 0)])
def test_bad_knobs_are_refused(knob: str, value: object) -> None:
    with pytest.raises(InvalidParameterError,
                       match=rf"The '{knob}' parameter of task 'logistic_map' must be an int"):
        make_logistic_map(**{knob: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("horizon", [1, 5, 20, 40, 200])
def test_the_closed_form_dead_beat_controller_meets_the_target(horizon: int) -> None:
    task = make_logistic_map(horizon=horizon)
    metrics = task.evaluate(known_good(task))
    assert metrics["mse"] < 1e-4 and task.target.is_met(metrics)


def test_the_uncontrolled_map_is_far_from_the_target() -> None:
    """A controller that never pushes leaves the chaotic orbit: MSE about 0.11."""
    task = make_logistic_map(horizon=40, num_train=256)
    params = known_good(task)
    params[-9:] = 0.0  # read-out weights and bias: u = tanh(0) = 0
    mse = task.evaluate(params)["mse"]
    assert 0.05 < mse < 0.2
    # It is the plain logistic map: check the orbit against NumPy.
    s, orbit = task.x_train[:, 0].copy(), []
    for _ in range(40):
        s = RATE * s * (1 - s)
        orbit.append(s)
    assert mse == pytest.approx(np.mean((np.array(orbit) - FIXED_POINT) ** 2), rel=1e-9)


def test_the_loss_is_finite_and_bounded_for_any_parameters() -> None:
    task = make_logistic_map(horizon=30)
    rng = np.random.default_rng(0)
    population = np.concatenate([
        rng.normal(0.0, 1e6, (20, task.num_params)),
        np.full((1, task.num_params), 1e300),
        np.full((1, task.num_params), -1e300),
        np.zeros((1, task.num_params)),
    ])
    losses = task.losses(population)
    assert np.all(np.isfinite(losses)) and np.all((losses >= 0) & (losses <= 1))


def test_population_forward_equals_a_loop_over_members() -> None:
    """To rounding, over a short horizon: vmap's batched matmul may round the controller's
    output differently in the last bit, and the chaotic map amplifies such a difference by about
    e^(0.5 t) (at T = 25, to 3e-11), which is the task's point, not a fault of the forward."""
    task = make_logistic_map(horizon=8)
    pop = task.model.init_params(np.random.default_rng(5), 6)
    batched = spec(task).population_logits(pop, task.x_train)
    x = torch.from_numpy(task.x_train)
    for member, out in zip(pop, batched, strict=True):
        one = spec(task).torch_logits(torch.from_numpy(member), x).detach().numpy()
        np.testing.assert_allclose(out, one, rtol=1e-12, atol=1e-13)


def test_truncation_keeps_the_orbit_and_cuts_the_gradient() -> None:
    task = make_logistic_map(horizon=12)
    theta = torch.from_numpy(task.model.init_params(np.random.default_rng(0)))
    x = torch.from_numpy(task.x_train).requires_grad_(True)
    full = spec(task).torch_logits(theta, x)
    cut = spec(task).torch_logits(theta, x, truncation=4)
    torch.testing.assert_close(cut, full, rtol=0.0, atol=0.0)
    # The last state reaches back to the initial state only without truncation.
    (g_full,) = torch.autograd.grad(full[:, -1].sum(), x)
    (g_cut,) = torch.autograd.grad(cut[:, -1].sum(), x)
    assert torch.all(g_cut == 0) and torch.any(g_full != 0)


def gradient_norms(horizon: int, draws: int = DRAWS) -> np.ndarray:
    """||d loss / d theta|| at ``draws`` random initial controllers (the task's own init)."""
    task = make_logistic_map(horizon=horizon)
    x, y = torch.from_numpy(task.x_train), torch.from_numpy(task.y_train)
    population = task.model.init_params(np.random.default_rng(0), draws)
    norms = []
    for member in population:
        theta = torch.tensor(member, requires_grad=True)
        loss = torch_loss(task, spec(task).torch_logits(theta, x), y)
        (grad,) = torch.autograd.grad(loss, theta)
        norms.append(float(grad.norm()))
    return np.array(norms)


def test_the_gradient_grows_exponentially_with_the_horizon() -> None:
    """Metz et al.'s observation, measured: the median gradient norm at a random controller
    grows with T (measured: 1.0, 2.6, 36 and 8.3e5 at T = 5, 10, 20, 40, a factor 8e5;
    the logistic map's Lyapunov exponent at r = 3.9 is about 0.49), while the loss stays in
    [0, 1]."""
    medians = np.array([np.median(gradient_norms(t)) for t in HORIZONS])
    shown = dict(zip(HORIZONS, medians.round(3).tolist(), strict=True))
    print("median gradient norm at T =", shown,
          "growth factor T=5 -> 40:", f"{medians[-1] / medians[0]:.3g}")
    assert np.all(np.diff(medians) > 0)
    assert medians[-1] / medians[0] > 1e3
    # At least e^(0.2 T) between T = 20 and 40.
    assert medians[3] / medians[2] > np.exp(0.2 * 20)


@pytest.mark.parametrize("solver", ["adam", "openai-es"])
def test_a_short_run_lowers_the_loss(solver: str) -> None:
    task = get_task("logistic_map", horizon=10, num_train=32, num_test=16)
    record = run_one(task, get_solver(solver), Budget(max_iterations=30), seed=0, strict=True)
    assert record.stop_reason != "error", record.error
    losses = [p["loss"] for p in record.trace]
    assert min(losses[1:]) < losses[0]
