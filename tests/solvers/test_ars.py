"""ARSSolver (Augmented Random Search V1-t): the step, the top-b choice, accounting, solves."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.ars import ARSSolver
from tasks import get_task
from tasks.base import Target
from tasks.errors import InvalidParameterError
from tests.solvers.recording import RecordingMonitor


@pytest.mark.parametrize(
    ("field", "value"),
    [("learning_rate", 0.0), ("learning_rate", float("inf")), ("sigma", -0.1),
     ("num_directions", 0), ("num_directions", 8.0), ("num_top_directions", 0),
     ("num_top_directions", True)],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of ARSSolver"):
        ARSSolver(**{field: value})


def test_more_top_directions_than_directions_is_rejected_with_the_range() -> None:
    with pytest.raises(InvalidParameterError, match=r"'num_top_directions' parameter of ARSSolver "
                                                    r"must be an int in the range \[1, 4\]\. "
                                                    r"Got 5 instead"):
        ARSSolver(num_directions=4, num_top_directions=5)
    assert ARSSolver(num_directions=4, num_top_directions=4).kept == 4
    assert ARSSolver(num_directions=6).kept == 6  # None keeps every direction (V1)


def test_top_directions_are_those_whose_better_side_is_best() -> None:
    """Ranked by ``min(l+, l-)`` (the paper's ``max(r+, r-)``), best first, ties to the lower
    index."""
    plus = np.array([5.0, 0.5, 3.0, 9.0, 2.0])
    minus = np.array([1.0, 7.0, 3.0, 0.2, 2.0])
    solver = ARSSolver(num_directions=5, num_top_directions=3)
    np.testing.assert_array_equal(solver.top_directions(plus, minus), [3, 1, 0])
    tied = ARSSolver(num_directions=5, num_top_directions=2)
    np.testing.assert_array_equal(tied.top_directions(np.full(5, 1.0), np.full(5, 1.0)), [0, 1])


def test_step_is_the_papers_update_over_the_kept_directions() -> None:
    """``-alpha / (b sigma_R) * sum_k (l+_k - l-_k) delta_k`` over the top b, ``sigma_R`` the
    standard deviation of their 2b losses; the other directions play no part."""
    rng = np.random.default_rng(0)
    solver = ARSSolver(num_directions=4, num_top_directions=2, learning_rate=0.1)
    deltas = rng.standard_normal((4, 3))
    plus, minus = np.array([4.0, 1.0, 6.0, 3.0]), np.array([2.0, 5.0, 7.0, 0.5])
    # min(l+, l-) = 2, 1, 6, 0.5: directions 3 and 1 are kept.
    kept = np.array([3.0, 1.0, 0.5, 5.0])
    expected = -0.1 / (2 * kept.std()) * ((3.0 - 0.5) * deltas[3] + (1.0 - 5.0) * deltas[1])
    np.testing.assert_allclose(solver.step(deltas, np.concatenate([plus, minus])), expected)


def test_step_on_a_linear_loss_moves_theta_down_the_loss() -> None:
    """On ``L = a . theta`` each pair's difference is ``2 nu a . delta``, so the step's inner
    product with ``a`` is minus a sum of squares: the loss always falls, whatever b."""
    rng = np.random.default_rng(1)
    a, theta = rng.standard_normal(30), rng.standard_normal(30)
    for b in (1, 4, 8):
        solver = ARSSolver(num_top_directions=b)
        for _ in range(20):
            deltas = solver.directions(rng, 30)
            members = np.concatenate([theta + solver.sigma * deltas, theta - solver.sigma * deltas])
            assert a @ (theta + solver.step(deltas, members @ a)) < a @ theta


def test_non_finite_losses_count_as_the_worst_and_a_flat_generation_takes_no_step() -> None:
    solver = ARSSolver(num_directions=2)
    deltas = np.eye(2, 3)
    step = solver.step(deltas, np.array([1.0, np.nan, 3.0, 2.0]))
    np.testing.assert_allclose(step, solver.step(deltas, np.array([1.0, 3.0, 3.0, 2.0])))
    assert np.all(np.isfinite(step))
    np.testing.assert_array_equal(solver.step(deltas, np.full(4, 0.7)), np.zeros(3))
    np.testing.assert_array_equal(solver.step(deltas, np.full(4, np.inf)), np.zeros(3))


def test_charges_both_sides_of_every_direction_and_reports_theta() -> None:
    """``x0`` first at no cost, then ``2 N n_train`` per generation; replaying the generator
    rebuilds every reported ``theta`` exactly."""
    task = dataclasses.replace(get_task("xor", hidden=4), target=Target(max_mse=-1.0))
    solver = ARSSolver(num_directions=5, num_top_directions=3)
    monitor = RecordingMonitor(stop_after=5)
    x0 = initial_params(task, 0)
    solver.run(task, x0, monitor, np.random.default_rng(0))
    assert monitor.evaluations == [0] + [10 * task.n_train] * 4
    assert solver.iteration_cost(task).forward == 10 * task.n_train
    assert solver.initial_cost(task).forward == 0
    np.testing.assert_array_equal(monitor.params[0], x0)
    rng, theta = np.random.default_rng(0), x0.copy()
    for reported in monitor.params[1:]:
        deltas = solver.directions(rng, theta.size)
        scaled = solver.sigma * deltas
        theta = theta + solver.step(deltas, task.losses(np.concatenate([theta + scaled,
                                                                        theta - scaled])))
        np.testing.assert_array_equal(reported, theta)


def test_same_seed_same_run_other_seed_other_run() -> None:
    task = get_task("xor", hidden=4)
    budget = Budget(max_iterations=20)
    first, again, other = (run_one(task, ARSSolver(), budget, seed=s, strict=True)
                           for s in (3, 3, 4))
    assert [p["loss"] for p in first.trace] == [p["loss"] for p in again.trace]
    assert first.final_params == again.final_params != other.final_params


def test_solves_xor_with_four_hidden_units_from_most_seeds() -> None:
    """Measured at the defaults: 5/5 seeds within 40k evaluations (12.9k-22.6k to target)."""
    task = get_task("xor", hidden=4)
    records = [run_one(task, ARSSolver(), Budget(max_evaluations=40_000), seed=s, strict=True)
               for s in range(5)]
    assert sum(r.success for r in records) >= 4


def test_runs_a_few_generations_on_cartpole() -> None:
    """On a control task the losses are negated returns and the charge is the steps taken, at
    most the declared bound per generation."""
    task = get_task("cartpole")
    solver = ARSSolver()
    record = run_one(task, solver, Budget(max_iterations=4), seed=0, strict=True)
    assert record.stop_reason in ("max_iterations", "target_reached")
    steps = [b["evaluations"] - a["evaluations"]
             for a, b in zip(record.trace, record.trace[1:], strict=False)]
    assert steps and all(0 < s <= solver.iteration_cost(task).forward for s in steps)
    assert np.all(np.isfinite(record.final_params))
