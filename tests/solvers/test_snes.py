"""SNESSolver: utilities, sampling, the natural-gradient update, accounting, and short solves."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.snes import (
    SNESSolver,
    default_population_size,
    default_sigma_learning_rate,
    utilities,
)
from tasks import get_task
from tasks.base import Target
from tasks.errors import InvalidParameterError
from tests.solvers.recording import RecordingMonitor


def quadratic(num_params: int, optimum: np.ndarray) -> Any:
    """A stand-in task: loss ``|z - optimum|^2``, one evaluation per member."""
    return SimpleNamespace(
        name="quadratic", num_params=num_params, n_train=1,
        scored_losses=lambda pop: (((pop - optimum) ** 2).sum(axis=1), len(pop)),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("population_size", 1), ("population_size", 10.0), ("radius_init", 0.0),
     ("radius_init", float("inf")), ("learning_rate_mean", -1.0), ("learning_rate_sigma", 0.0),
     ("mirrored", 1), ("mirrored", "yes")],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of SNESSolver"):
        SNESSolver(**{field: value})


def test_defaults_are_the_papers() -> None:
    """Population ``4 + floor(3 ln n)``, ``eta_sigma = (3 + ln n) / (5 sqrt n)``, ``eta_mu = 1``."""
    task = get_task("xor", hidden=4)  # 17 weights
    assert SNESSolver().resolved_population_size(task) == default_population_size(17) == 12
    assert default_sigma_learning_rate(10_000) == pytest.approx(
        (3 + math.log(10_000)) / (5 * 100))
    assert SNESSolver().learning_rate_mean == 1.0
    assert SNESSolver().iteration_cost(task).forward == 12 * task.n_train


def test_utilities_are_decreasing_sum_to_zero_and_reward_the_better_half() -> None:
    for size in (2, 7, 12, 100):
        u = utilities(size)
        assert u.sum() == pytest.approx(0.0, abs=1e-12)
        assert np.all(np.diff(u) <= 0)
        # Only ranks up to P/2 (log(P/2 + 1) > log k) carry weight above the baseline -1/P.
        assert np.count_nonzero(u > -1.0 / size + 1e-15) == math.ceil(size / 2)


def test_gradients_rank_by_loss_and_nan_ranks_worst() -> None:
    noise = np.eye(3)
    weights = utilities(3)
    grad_mu, _ = SNESSolver.gradients(noise, np.array([2.0, np.nan, -1.0]), weights)
    # The lowest loss (member 2) gets the top utility, NaN (member 1) the bottom one.
    np.testing.assert_array_equal(grad_mu, weights[[1, 2, 0]])


def test_mirrored_noise_comes_in_pairs_and_an_odd_population_leaves_one_unpaired() -> None:
    solver = SNESSolver(mirrored=True)
    s = solver.noise(np.random.default_rng(0), 7, 4)
    assert s.shape == (7, 4)
    np.testing.assert_array_equal(s[4:], -s[:3])
    assert not np.any(np.all(s[3] == -s, axis=1))


def test_update_moves_the_mean_down_a_linear_loss_and_widens_sigma_along_it() -> None:
    """On ``a . z`` the mean's natural gradient points along ``-a``, and the step sizes of the
    coordinates the loss depends on grow (the paper: SNES expands sigma on a slope)."""
    rng = np.random.default_rng(1)
    a = np.zeros(20)
    a[:5] = [3.0, -3.0, 3.0, -3.0, 3.0]
    s = rng.standard_normal((4000, 20))
    grad_mu, grad_sigma = SNESSolver.gradients(s, s @ a, utilities(4000))
    assert grad_mu @ -a / (np.linalg.norm(grad_mu) * np.linalg.norm(a)) > 0.95
    assert np.all(grad_sigma[:5] > 0) and grad_sigma[:5].min() > np.abs(grad_sigma[5:]).max()


def test_a_run_converges_on_a_quadratic() -> None:
    optimum = np.linspace(-1.0, 1.0, 10)
    monitor = RecordingMonitor(stop_after=300)
    SNESSolver().run(quadratic(10, optimum), np.zeros(10), monitor, np.random.default_rng(0))
    first, last = (float(((p - optimum) ** 2).sum()) for p in (monitor.params[0],
                                                               monitor.params[-1]))
    assert last < 1e-3 * first


def test_charges_the_population_per_generation_and_reports_the_mean() -> None:
    task = dataclasses.replace(get_task("xor", hidden=4), target=Target(max_mse=-1.0))
    solver = SNESSolver(population_size=10, mirrored=True)
    monitor = RecordingMonitor(stop_after=5)
    x0 = initial_params(task, 0)
    solver.run(task, x0, monitor, np.random.default_rng(0))
    assert monitor.evaluations == [0] + [10 * task.n_train] * 4
    np.testing.assert_array_equal(monitor.params[0], x0)
    # Replaying the generator gives the same samples, so the reported means can be rebuilt.
    rng, mu = np.random.default_rng(0), x0.copy()
    sigma = np.full(task.num_params, solver.radius_init / math.sqrt(task.num_params))
    eta_sigma = default_sigma_learning_rate(task.num_params)
    for reported in monitor.params[1:]:
        s = solver.noise(rng, 10, task.num_params)
        grad_mu, grad_sigma = solver.gradients(s, task.losses(mu + sigma * s), utilities(10))
        mu = mu + sigma * grad_mu
        sigma = sigma * np.exp(0.5 * eta_sigma * grad_sigma)
        np.testing.assert_array_equal(reported, mu)


def test_same_seed_same_trace() -> None:
    task, budget = get_task("and"), Budget(max_iterations=20)
    first, second = (run_one(task, SNESSolver(), budget, seed=3, strict=True) for _ in range(2))
    assert [p["loss"] for p in first.trace] == [p["loss"] for p in second.trace]
    assert first.final_params == second.final_params


@pytest.mark.parametrize("mirrored", [False, True])
def test_solves_xor_from_most_seeds(mirrored: bool) -> None:
    task = get_task("xor", hidden=4)
    records = [run_one(task, SNESSolver(mirrored=mirrored), Budget(max_evaluations=40_000),
                       seed=s, strict=True) for s in range(5)]
    assert sum(r.success for r in records) >= 4


def test_runs_a_few_generations_on_cartpole() -> None:
    """On a control task the losses are negated returns and the cost is the steps taken."""
    task = get_task("cartpole")
    solver = SNESSolver(population_size=8)
    monitor = RecordingMonitor(stop_after=4)
    solver.run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    assert monitor.evaluations[0] == 0
    bound = solver.iteration_cost(task).forward
    assert all(0 < e <= bound for e in monitor.evaluations[1:])
    assert all(np.all(np.isfinite(p)) for p in monitor.params)
    assert not np.array_equal(monitor.params[-1], monitor.params[0])
