"""OpenAIESSolver: sampling, fitness shaping, the gradient estimate, accounting, and a solve."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.openai_es import AdamState, OpenAIESSolver, centered_ranks
from tasks import get_task
from tasks.base import Target
from tasks.errors import InvalidParameterError
from tests.solvers.recording import RecordingMonitor


@pytest.mark.parametrize(
    ("field", "value"),
    [("population_size", 7), ("population_size", 0), ("sigma", 0.0), ("learning_rate", -1.0),
     ("beta1", 1.0), ("eps", 0.0), ("weight_decay", -0.1)],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of OpenAIESSolver"):
        OpenAIESSolver(**{field: value})


def test_centered_ranks_span_minus_half_to_half_in_loss_order() -> None:
    ranks = centered_ranks(np.array([3.0, -1.0, 10.0, 0.5, np.nan]))
    np.testing.assert_allclose(ranks, [0.0, -0.5, 0.25, -0.25, 0.5])
    # Invariant to any monotone transformation of the values.
    values = np.random.default_rng(0).standard_normal(9)
    np.testing.assert_array_equal(centered_ranks(values), centered_ranks(np.exp(3 * values)))


def test_perturbations_come_in_antithetic_pairs() -> None:
    eps = OpenAIESSolver(population_size=6).perturbations(np.random.default_rng(0), 5)
    assert eps.shape == (6, 5)
    np.testing.assert_array_equal(eps[3:], -eps[:3])


def test_gradient_estimate_points_along_the_true_gradient() -> None:
    """On a linear loss ``a . theta`` the estimate (of ranks) is nearly parallel to ``a``."""
    rng = np.random.default_rng(1)
    solver = OpenAIESSolver(population_size=2000, sigma=0.1)
    a, theta = rng.standard_normal(20), rng.standard_normal(20)
    eps = solver.perturbations(rng, 20)
    g = solver.gradient(eps, (theta + solver.sigma * eps) @ a, theta)
    assert g @ a / (np.linalg.norm(g) * np.linalg.norm(a)) > 0.95
    decayed = dataclasses.replace(solver, weight_decay=0.5)
    np.testing.assert_allclose(
        decayed.gradient(eps, (theta + solver.sigma * eps) @ a, theta) - g, 0.5 * theta
    )


def test_adam_state_matches_the_first_step_of_kingma_and_ba() -> None:
    adam = AdamState(np.zeros(2), np.zeros(2))
    # First step of Adam is lr * g / (|g| + eps): the sign of g, scaled by the learning rate.
    np.testing.assert_allclose(adam.step(np.array([4.0, -0.5]), 0.1), [0.1, -0.1], rtol=1e-6)


def test_charges_the_population_per_generation_and_reports_the_mean() -> None:
    task = dataclasses.replace(get_task("xor", hidden=4), target=Target(max_mse=-1.0))
    solver = OpenAIESSolver(population_size=10)
    monitor = RecordingMonitor(stop_after=5)
    x0 = initial_params(task, 0)
    solver.run(task, x0, monitor, np.random.default_rng(0))
    assert monitor.evaluations == [0] + [10 * task.n_train] * 4
    np.testing.assert_array_equal(monitor.params[0], x0)
    # Replaying the generator gives the same perturbations, so the reported means can be rebuilt.
    rng, theta = np.random.default_rng(0), x0.copy()
    adam = AdamState(np.zeros_like(theta), np.zeros_like(theta))
    for reported in monitor.params[1:]:
        eps = solver.perturbations(rng, theta.size)
        g = solver.gradient(eps, task.losses(theta + solver.sigma * eps), theta)
        theta = theta - adam.step(g, solver.learning_rate)
        np.testing.assert_array_equal(reported, theta)


def test_solves_xor_from_most_seeds() -> None:
    task = get_task("xor", hidden=4)
    records = [run_one(task, OpenAIESSolver(), Budget(max_evaluations=400_000), seed=s,
                       strict=True) for s in range(5)]
    assert sum(r.success for r in records) >= 4
