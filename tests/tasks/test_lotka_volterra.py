"""Lotka-Volterra: simulation, derivative variants, their measured error, and the rollout."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from solvers import get_solver
from tasks import get_task
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.lotka_volterra import PARAMETERS, LotkaRollout, simulate, vector_field
from tasks.mlp import FlatParams


def _rollout(task: Task) -> LotkaRollout:
    assert isinstance(task.final_metrics, LotkaRollout)
    return task.final_metrics


def _least_squares_field(task: Task) -> FlatParams:
    """Random tanh features (fixed seed) with a least-squares output layer: a good field."""
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((2, 16)), rng.standard_normal(16)
    design = np.column_stack([np.tanh(task.x_train @ w1 + b1), np.ones(task.n_train)])
    coef, *_ = np.linalg.lstsq(design, task.y_train, rcond=None)
    return task.model.pack([(w1, b1), (coef[:-1], coef[-1])])


def test_simulation_conserves_the_first_integral() -> None:
    """``V = d x - c ln x + b y - a ln y`` is constant on every exact orbit."""
    a, b, c, d = PARAMETERS
    path = simulate(np.array([4.0, 2.0]), np.linspace(0.0, 8.0, 200))
    x, y = path[:, 0], path[:, 1]
    v = d * x - c * np.log(x) + b * y - a * np.log(y)
    assert np.ptp(v) < 1e-7
    assert np.all(path > 0.0)


def test_analytic_labels_are_the_field_at_the_states() -> None:
    task = get_task("lotka")
    r = _rollout(task)
    states = task.x_train * r.in_std + r.in_mean
    labels = task.y_train * r.out_std + r.out_mean
    np.testing.assert_allclose(labels, vector_field(states), rtol=1e-12, atol=1e-12)
    # Standardized with the training statistics.
    np.testing.assert_allclose(task.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(task.y_train.std(axis=0), 1.0)
    assert task.n_train == 4 * 100 and task.x_test.shape == (100, 2)
    assert r.numdiff == {}
    assert "numdiff_rmse" not in r(task.model, np.zeros(task.num_params))


def test_numerical_variant_records_its_error_against_the_analytic_derivatives() -> None:
    task = get_task("lotka", derivatives="numerical")
    r = _rollout(task)
    states = task.x_train * r.in_std + r.in_mean
    labels = task.y_train * r.out_std + r.out_mean
    error = labels - vector_field(states)
    assert r.numdiff["numdiff_rmse"] == pytest.approx(np.sqrt(np.mean(error**2)))
    assert r.numdiff["numdiff_mse"] == pytest.approx(np.mean((error / r.out_std) ** 2))
    assert 0.0 < r.numdiff["numdiff_mse"] < task.target.max_mse  # learnable to the target
    assert f"RMSE {r.numdiff['numdiff_rmse']:.3g}" in task.description
    # Reported with every rollout, so it reaches each record's extra metrics...
    assert r(task.model, np.zeros(task.num_params))["numdiff_rmse"] == r.numdiff["numdiff_rmse"]
    # ... but it is a measurement, not a knob: a sweep over the sampling must not be split by it.
    assert "numdiff_rmse" not in task.options


def test_numerical_derivative_error_shrinks_with_the_square_of_the_step() -> None:
    coarse = get_task("lotka", derivatives="numerical", points_per_trajectory=100)
    fine = get_task("lotka", derivatives="numerical", points_per_trajectory=199)
    # Half the step, second-order differences: about a quarter of the error.
    ratio = _rollout(coarse).numdiff["numdiff_rmse"] / _rollout(fine).numdiff["numdiff_rmse"]
    assert 3.0 < ratio < 5.0


def test_test_set_is_the_held_out_orbit_with_true_derivatives() -> None:
    for variant in ("analytic", "numerical"):
        task = get_task("lotka", derivatives=variant)
        r = _rollout(task)
        np.testing.assert_allclose(task.x_test * r.in_std + r.in_mean, r.truth, atol=1e-12)
        np.testing.assert_allclose(task.y_test * r.out_std + r.out_mean, vector_field(r.truth),
                                   atol=1e-10)


def test_rollout_of_a_good_field_tracks_the_true_orbit() -> None:
    task = get_task("lotka")
    params = _least_squares_field(task)
    assert task.target.is_met(task.evaluate(params))
    metrics = _rollout(task)(task.model, params)
    assert metrics["rollout_completed"] == 1.0
    assert metrics["rollout_rel_rmse"] < 0.2
    # A field that predicts the mean derivative everywhere rolls out far worse.
    flat = _rollout(task)(task.model, np.zeros(task.num_params))
    assert flat["rollout_rmse"] > 5.0 * metrics["rollout_rmse"]


def test_rollout_of_a_wild_field_is_infinite_and_does_not_raise() -> None:
    task = get_task("lotka")
    rng = np.random.default_rng(1)
    wild = 30.0 * task.model.init_params(rng)
    metrics = _rollout(task)(task.model, wild)
    assert metrics["rollout_rmse"] == float("inf") and metrics["rollout_completed"] < 1.0
    nan = _rollout(task)(task.model, np.full(task.num_params, np.nan))
    assert nan["rollout_rmse"] == float("inf")
    wrong_size = _rollout(task)(task.model, np.zeros(task.num_params + 1))
    assert wrong_size["rollout_rmse"] == float("inf")


def test_rollout_follows_a_width_override() -> None:
    """The hook gets the task's network, so ``hidden=8`` rolls out the 8-unit network."""
    wide = get_task("lotka", hidden=8)
    params = wide.model.init_params(np.random.default_rng(0))
    assert _rollout(wide)(wide.model, params)["rollout_completed"] == 1.0
    record = run_one(wide, get_solver("adam"), Budget(max_iterations=5), seed=0, strict=True)
    assert record.extra_metrics["rollout_completed"] == 1.0


def test_a_trained_run_records_the_rollout_and_numdiff_errors() -> None:
    """Through the harness: the record of a (briefly) trained network carries both errors."""
    task = get_task("lotka", derivatives="numerical")
    record = run_one(task, get_solver("adam", learning_rate=0.01), Budget(max_iterations=100),
                     seed=0, strict=True)
    assert set(record.extra_metrics) == {"rollout_rmse", "rollout_rel_rmse", "rollout_completed",
                                         "numdiff_rmse", "numdiff_mse"}
    assert record.task_options["derivatives"] == "numerical"


@pytest.mark.parametrize(
    ("knob", "bad"),
    [("derivatives", "spline"), ("num_trajectories", 0), ("points_per_trajectory", 4),
     ("t_end", 0.0), ("data_seed", -1)],
)
def test_bad_knob_values_name_the_knob(knob: str, bad: object) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{knob}' parameter of task 'lotka'"):
        get_task("lotka", **{knob: bad})


def test_lotka_declares_its_dynamics_and_other_tasks_do_not() -> None:
    task = get_task("lotka")
    dyn = task.dynamics
    assert dyn is not None and dyn is task.final_metrics
    np.testing.assert_allclose(dyn.to_state(task.x_test), dyn.truth, atol=1e-9)
    assert get_task("sine").dynamics is None and get_task("xor").dynamics is None


def test_rollout_is_shared_by_the_metric() -> None:
    """The metric is computed from the same rollout the phase portrait draws."""
    task = get_task("lotka")
    dyn = task.dynamics
    assert dyn is not None
    params = np.zeros(task.num_params)
    rolled = dyn.rollout(task.model, params)
    metrics = task.final_metrics(task.model, params)  # type: ignore[misc]
    assert rolled.finished and rolled.states.shape == dyn.truth.shape
    rmse = float(np.sqrt(np.mean((rolled.states - dyn.truth) ** 2)))
    assert metrics["rollout_rmse"] == rmse
    bad = dyn.rollout(task.model, np.zeros(3))
    assert not bad.finished and bad.completed == 0.0 and bad.states.shape == (1, 2)
