"""ELM: random hidden layers from x0, the output layer by least squares (ZORB's last step alone)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers import SOLVERS, get_solver
from solvers.elm import ELMSolver
from solvers.zorb import augment, relaxed_inverse, softmax_forward, softmax_inverse
from tasks import TASKS, get_task
from tasks.base import Target
from tasks.errors import InvalidParameterError
from tasks.mlp import activate


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """One BLAS thread, as the harness pins: a multi-threaded BLAS on a busy 2-core machine spins
    (a 0.1 s least-squares solve took 12 s), and direct calls here bypass the harness."""
    with threadpool_limits(limits=1):
        yield


class _Recorder:
    """Stands in for the harness: keeps every reported vector, never stops the solver."""

    def __init__(self) -> None:
        self.reports: list[tuple[np.ndarray, int]] = []

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.reports.append((np.array(params, copy=True), evaluations))
        return False


@pytest.mark.parametrize("name", ["zorb_sinc", "zorb_xor", "zorb_digits"])
def test_output_layer_is_least_squares_on_the_initial_hidden_features(name: str) -> None:
    """Hidden layers stay exactly x0's; the output layer is lstsq([H, 1], f_out^-1(Y)) with H the
    plain features of x0 and the same output inverse as ZORB (relaxed sigmoid, authors' softmax)."""
    task = get_task(name)
    x0 = initial_params(task, 2)
    monitor = _Recorder()
    ELMSolver().run(task, x0.copy(), monitor, np.random.default_rng(0))
    assert [e for _, e in monitor.reports] == [0, task.n_train]
    np.testing.assert_array_equal(monitor.reports[0][0], x0)
    layers = task.model.unpack(monitor.reports[1][0])
    x0_layers = task.model.unpack(x0)
    h = task.x_train
    for i, act in enumerate(task.model.activations[:-1]):
        np.testing.assert_array_equal(layers[i][0], x0_layers[i][0])
        np.testing.assert_array_equal(layers[i][1], x0_layers[i][1])
        h = activate(act, h @ x0_layers[i][0] + x0_layers[i][1])
    act, y = task.model.output_activation, task.y_train
    w0, b0 = x0_layers[-1]
    if act == "sigmoid":
        target, _ = relaxed_inverse("sigmoid", y, (0.0, 1.0))
    elif act == "softmax":
        _, m, s = softmax_forward(h @ w0 + b0)
        target = softmax_inverse(y, m, s)
    else:
        target = y
    expected, *_ = np.linalg.lstsq(augment(h), target, rcond=1e-15)
    w, b = layers[-1]
    # Compare fitted values: with rcond 1e-15 and 200 random sigmoid features (sinc) the weights
    # themselves are ill-determined, but the least-squares fit of the target is not.
    fitted_diff = augment(h) @ (np.vstack([w, b]) - expected)
    assert np.max(np.abs(fitted_diff)) <= 1e-6 * max(1.0, float(np.max(np.abs(target))))


def test_identity_output_is_optimal_given_the_features() -> None:
    """With a linear output, no last layer does better on the training set: not x0's either."""
    task = get_task("sine")
    for seed in range(3):
        record = run_one(task, ELMSolver(), Budget(max_iterations=3), seed=seed, strict=True)
        x0_mse = task.evaluate(initial_params(task, seed))["mse"]
        assert record.final_train["mse"] <= x0_mse


def test_registered_configurable_and_deterministic() -> None:
    assert SOLVERS["elm"] is ELMSolver
    solver = get_solver("elm", rcond=1e-9)
    assert json.loads(json.dumps(solver.config())) == solver.config()
    task = dataclasses.replace(get_task("zorb_iris"), target=Target(min_accuracy=1.0))
    a = run_one(task, ELMSolver(), Budget(max_iterations=3), seed=0, strict=True)
    b = run_one(task, ELMSolver(), Budget(max_iterations=3), seed=0, strict=True)
    c = run_one(task, ELMSolver(), Budget(max_iterations=3), seed=1, strict=True)
    assert a.final_params == b.final_params and a.final_params != c.final_params
    assert (a.iterations, a.evaluations, a.backward, a.stop_reason) == (
        1, task.n_train, 0, "solver_finished")
    assert a.trace[0]["mse"] == task.evaluate(initial_params(task, 0))["mse"]


@pytest.mark.parametrize("value", [-1e-3, 1.0, "tiny", float("nan")])
def test_bad_rcond_is_rejected_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"'rcond' parameter of ELMSolver"):
        ELMSolver(rcond=value)  # type: ignore[arg-type]


def test_budget_stops_before_the_solve() -> None:
    task = dataclasses.replace(get_task("zorb_iris"), target=Target(min_accuracy=1.0))
    record = run_one(task, ELMSolver(), Budget(max_evaluations=task.n_train - 1), seed=0,
                     strict=True)
    assert (record.iterations, record.evaluations, record.stop_reason) == (
        0, 0, "max_evaluations")


def test_unsupported_tasks_get_a_reason_and_every_task_runs_or_is_refused() -> None:
    reason = ELMSolver().unsupported_reason(get_task("sine", output_activation="sigmoid"))
    assert reason and "ELMSolver" in reason
    for name in TASKS:
        task = get_task(name)
        if ELMSolver().unsupported_reason(task) is None:
            record = run_one(task, ELMSolver(), Budget(max_iterations=1), seed=0, strict=True)
            assert record.stop_reason != "error", name
