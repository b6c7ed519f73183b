"""LMSolver (Levenberg-Marquardt, Hagan & Menhaj's loop): Jacobian, accounting, mu, refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

import solvers.lm as lm_module
from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers import SOLVERS
from solvers._torch import torch_forward
from solvers.adam import AdamSolver
from solvers.lm import LMSolver, residual_jacobian
from solvers.numpy_backprop import forward_layers
from tasks import get_task
from tasks.base import Target, Task
from tasks.errors import InvalidParameterError
from tasks.mlp import ModelSpec


class RecordingMonitor:
    """Stands in for the harness: keeps every report, asks to stop after ``stop_after``."""

    def __init__(self, stop_after: int) -> None:
        self.params: list[np.ndarray] = []
        self.evaluations: list[int] = []
        self.backward: list[int] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.params.append(np.array(params, copy=True))
        self.evaluations.append(evaluations)
        self.backward.append(backward)
        return len(self.evaluations) >= self.stop_after


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """One BLAS thread, as the harness pins: the tests below call ``run`` and ``trial``
    directly, and a multi-threaded SVD on a busy 2-core machine spins (0.4 s against 0.015 s
    for lotka's 800 x 82 Jacobian, measured)."""
    with threadpool_limits(limits=1):
        yield


def unreachable(task: Task) -> Task:
    return dataclasses.replace(task, target=Target(max_mse=-1.0))


def test_registered() -> None:
    assert SOLVERS["lm"] is LMSolver


@pytest.mark.parametrize(
    ("field", "value"),
    [("mu", 0.0), ("mu_dec", 1.0), ("mu_dec", 0.0), ("mu_inc", 1.0), ("mu_max", 1e-4)],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of LMSolver"):
        LMSolver(**{field: value})


def test_defaults_are_trainlms() -> None:
    solver = LMSolver()
    assert (solver.mu, solver.mu_dec, solver.mu_inc, solver.mu_max) == (1e-3, 0.1, 10.0, 1e10)


@pytest.mark.parametrize(
    ("hidden", "output"),
    [
        (("tanh",), "identity"),
        (("sigmoid",), "sigmoid"),
        (("relu", "tanh"), "identity"),
        (("tanh", "relu"), "sigmoid"),
        (("sigmoid",), "softmax"),  # zorb_iris: MSE on a softmax output
    ],
)
def test_jacobian_matches_torch_autograd(hidden: tuple[str, ...], output: str) -> None:
    """Every residual's gradient, against ``torch.func.jacrev`` of the project's torch forward."""
    rng = np.random.default_rng(0)
    widths = (5, 4)[: len(hidden)]
    spec = ModelSpec.build(3, widths, 3, hidden_activation=hidden, output_activation=output,
                           init="torch")
    params = spec.init_params(rng)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    ours = residual_jacobian(spec, *forward_layers(spec, params, x))

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def residuals(theta: torch.Tensor) -> torch.Tensor:
        z = torch_forward(spec, theta, xt)
        out = {"identity": z, "sigmoid": torch.sigmoid(z),
               "softmax": torch.softmax(z, dim=-1)}[output]
        return (out - yt).reshape(-1)

    theirs = torch.func.jacrev(residuals)(torch.from_numpy(params)).numpy()
    assert ours.shape == theirs.shape == (7 * 3, spec.num_params)
    np.testing.assert_allclose(ours, theirs, rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("name", ["iris", "circle_zero_one", "cartpole", "sine_int4"])
def test_not_applicable_is_recorded_not_crashed(name: str) -> None:
    task = get_task(name)
    reason = LMSolver().unsupported_reason(task)
    assert reason is not None and reason.startswith("not applicable: LMSolver")
    assert repr(name) in reason
    record = run_one(task, LMSolver(), Budget(max_iterations=5), seed=0, strict=True)
    assert record.stop_reason == "unsupported"
    assert record.error == reason and record.iterations == 0


def test_cross_entropy_is_refused_for_its_loss() -> None:
    reason = LMSolver().unsupported_reason(get_task("iris"))
    assert reason is not None and "'cross_entropy' loss" in reason


def test_a_network_too_large_for_the_normal_matrix_is_refused() -> None:
    task = get_task("sine")
    big = dataclasses.replace(task, model=ModelSpec.build(1, (1400,), 1, hidden_activation="tanh"))
    assert big.num_params > lm_module.MAX_PARAMS
    reason = LMSolver().unsupported_reason(big)
    assert reason is not None and reason.startswith("not applicable") and "4,201" in reason
    assert LMSolver().unsupported_reason(task) is None


def test_memory_estimate_counts_the_jacobian() -> None:
    task = get_task("lotka")
    rows = task.n_train * task.model.layer_sizes[-1]
    assert LMSolver().memory_estimate(task) >= 8 * 2 * rows * task.num_params


def test_accounting_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every forward pass of the training set and every Jacobian made is charged, no more.

    lotka has two outputs, so a Jacobian is ``2 N`` backward passes (one per residual row).
    """
    task = unreachable(get_task("lotka"))
    n, k = task.n_train, task.model.layer_sizes[-1]
    forwards: list[int] = []
    jacobians: list[int] = []
    original_forward, original_jacobian = lm_module.forward_layers, lm_module.residual_jacobian

    def counting_forward(*args: Any) -> Any:
        forwards.append(1)
        return original_forward(*args)

    def counting_jacobian(*args: Any) -> Any:
        jacobians.append(1)
        return original_jacobian(*args)

    monkeypatch.setattr(lm_module, "forward_layers", counting_forward)
    monkeypatch.setattr(lm_module, "residual_jacobian", counting_jacobian)
    solver = LMSolver(mu=1e-6)  # a small first damping: some trials are rejected
    monitor = RecordingMonitor(stop_after=25)
    x0 = initial_params(task, 0)
    solver.run(task, x0, monitor, np.random.default_rng(0))
    assert len(monitor.evaluations) == 25
    assert (monitor.evaluations[0], monitor.backward[0]) == (n, n * k)
    assert (solver.initial_cost(task).forward, solver.initial_cost(task).backward) == (n, n * k)
    assert np.array_equal(monitor.params[0], x0)
    assert monitor.evaluations[1:] == [solver.iteration_cost(task).forward] * 24 == [n] * 24
    assert sum(monitor.evaluations) == len(forwards) * n
    assert sum(monitor.backward) == len(jacobians) * n * k
    # A trial pays for a Jacobian exactly when it moved the parameters (was accepted).
    for before, after, backward in zip(monitor.params, monitor.params[1:], monitor.backward[1:],
                                       strict=False):
        assert backward == (0 if np.array_equal(before, after) else n * k)
    assert 0 < monitor.backward[1:].count(0) < 24  # both kinds of trial happened


def test_mu_falls_on_an_accepted_step_and_rises_on_a_rejected_one() -> None:
    task = get_task("sine")
    solver = LMSolver(mu=10.0, mu_dec=0.2, mu_inc=7.0)
    state = solver.start(task, initial_params(task, 0))
    # A large damping is a short step down the gradient: the error falls.
    accepted, ok = solver.trial(task, state)
    assert ok and accepted.sse < state.sse
    assert accepted.mu == pytest.approx(10.0 * 0.2)
    assert not np.array_equal(accepted.params, state.params)
    # The same short step, uphill (the residuals' projection negated): rejected.
    uphill = dataclasses.replace(state, projected=-state.projected)
    rejected, ok = solver.trial(task, uphill)
    assert not ok and rejected.mu == pytest.approx(10.0 * 7.0)
    assert rejected.params is uphill.params and rejected.sse == uphill.sse


def test_the_run_ends_when_mu_passes_mu_max() -> None:
    task = unreachable(get_task("xor"))
    record = run_one(task, LMSolver(mu_max=2e-3), Budget(max_iterations=500), seed=0,
                     strict=True)
    assert record.stop_reason == "solver_finished"
    assert "mu_max" in record.stop_detail and record.iterations < 500


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solves_sine_in_tens_of_iterations_where_adam_does_not(seed: int) -> None:
    """Hagan & Menhaj's point: a handful of LM trials fit what Adam has barely started."""
    task = get_task("sine")
    budget = Budget(max_iterations=40)
    record = run_one(task, LMSolver(), budget, seed=seed, strict=True)
    assert record.success and record.iterations <= 40
    assert record.final_train["mse"] <= 0.01
    adam = run_one(task, AdamSolver(), budget, seed=seed, strict=True)
    assert not adam.success
