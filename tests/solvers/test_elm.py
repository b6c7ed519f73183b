"""ELM: random hidden layers from x0, the output layer by least squares (ZORB's last step alone);
on a torch module, its declared linear read-out on the module's features."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers import SOLVERS, get_solver
from solvers.elm import ELMSolver
from solvers.zorb import augment, relaxed_inverse, softmax_forward, softmax_inverse
from tasks import TASKS, get_task
from tasks.base import Target, Task
from tasks.errors import InvalidParameterError
from tasks.mlp import activate
from tasks.network import LinearReadout, ModuleSpec


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


# --- torch modules with a declared linear read-out (issue 28) ----------------------------------


def _loaded(task: Task, params: np.ndarray) -> torch.nn.Module:
    """A fresh module of ``task`` holding the flat vector ``params`` (``parameters_to_vector``
    order), to read features and read-outs without ``ModuleSpec``."""
    module = task.model.module().double()  # type: ignore[union-attr]
    torch.nn.utils.vector_to_parameters(torch.from_numpy(params.copy()), module.parameters())
    return module


def _readout_of(module: torch.nn.Module) -> np.ndarray:
    """The module's declared read-out as ``[W; b]`` of shape ``(in + 1, out)`` (``x W + b``)."""
    declared = module.linear_readout
    assert isinstance(declared, LinearReadout)
    named = {n: p.detach().numpy() for n, p in module.named_parameters()}
    weight = named[declared.weight]
    weight = weight.T if declared.layout == "out_in" else weight
    return np.vstack([weight, named[declared.bias][None, :]])


MODULE_TASKS: list[tuple[str, dict[str, Any]]] = [
    ("digits_cnn", {"channels": 2, "test_fraction": 0.9}),
    ("adding", {"length": 6, "num_train": 64}),
    ("adding", {"length": 6, "cell": "elman", "num_train": 64}),
]


@pytest.mark.parametrize(("name", "options"), MODULE_TASKS,
                         ids=[f"{n}-{o.get('cell', '')}" for n, o in MODULE_TASKS])
def test_module_readout_is_least_squares_on_the_modules_features(
        name: str, options: dict[str, Any]) -> None:
    """Through the harness: every parameter but the read-out is x0's exactly; the read-out is
    numpy's lstsq([H, 1], f_out^-1(Y)) on the module's own features of x0 (softmax: the MLP
    path's inverse, normalisers from x0's read-out); one iteration of N evaluations."""
    task = get_task(name, **options)
    spec = task.model
    assert ELMSolver().unsupported_reason(task) is None
    record = run_one(task, ELMSolver(), Budget(max_iterations=3), seed=0, strict=True)
    assert (record.stop_reason, record.iterations, record.evaluations, record.backward) == (
        "solver_finished", 1, task.n_train, 0), record.error
    x0 = initial_params(task, 0)
    final = np.asarray(record.final_params)
    w, b = spec.readout_slices()  # type: ignore[union-attr, misc]
    others = np.ones(task.num_params, dtype=bool)
    others[w], others[b] = False, False
    np.testing.assert_array_equal(final[others], x0[others])
    start = _loaded(task, x0)
    with torch.no_grad():
        h = start.features(torch.from_numpy(task.x_train)).numpy()  # type: ignore[operator]
    if spec.output_activation == "softmax":
        _, m, s = softmax_forward(augment(h) @ _readout_of(start))
        target = softmax_inverse(task.y_train, m, s)
    else:
        target = task.y_train
    expected, *_ = np.linalg.lstsq(augment(h), target, rcond=1e-15)
    fitted = _readout_of(_loaded(task, final))
    assert np.max(np.abs(fitted - expected)) <= 1e-8 * max(1.0, float(np.max(np.abs(expected))))


def test_module_fit_beats_x0_and_matches_the_direct_call() -> None:
    """The harness's vector is the direct call's; on digits_cnn (softmax) it trains, from random
    convolutions alone, far above x0's accuracy."""
    task = get_task("digits_cnn", channels=2, test_fraction=0.9)
    x0 = initial_params(task, 1)
    monitor = _Recorder()
    ELMSolver().run(task, x0.copy(), monitor, np.random.default_rng(0))
    assert [e for _, e in monitor.reports] == [0, task.n_train]
    record = run_one(task, ELMSolver(), Budget(max_iterations=3), seed=1, strict=True)
    np.testing.assert_array_equal(np.asarray(record.final_params), monitor.reports[1][0])
    assert task.evaluate(monitor.reports[1][0])["accuracy"] > 0.8 > task.evaluate(x0)["accuracy"]


class _NoReadout(torch.nn.Module):
    """Ends in an nn.Linear but declares no read-out: no solver may assume one."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(3, 4)
        self.out = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(x)))


def _no_readout_task() -> Task:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3))
    y = x[:, :1] ** 2
    spec = ModuleSpec(module=_NoReadout, n_in=3, n_out=1)
    return Task(name="no_readout", family="test", kind="regression", x_train=x[:12],
                y_train=y[:12], x_test=x[12:], y_test=y[12:], model=spec,
                target=Target(max_mse=0.01))


@pytest.mark.parametrize("make", [lambda: get_task("logistic_map", horizon=5), _no_readout_task],
                         ids=["logistic_map", "no_readout"])
def test_modules_without_a_declared_readout_are_not_applicable(make: Callable[[], Task]) -> None:
    task = make()
    reason = ELMSolver().unsupported_reason(task)
    assert reason is not None and reason.startswith("not applicable: ELMSolver fits a network's")
    assert f"task {task.name!r}'s network is a torch module ({task.model.describe()})" in reason
    assert "declares no linear read-out" in reason and "'linear_readout'" in reason
    record = run_one(task, ELMSolver(), Budget(max_iterations=3), seed=0)
    assert (record.stop_reason, record.iterations, record.error) == ("unsupported", 0, reason)
    with pytest.raises(InvalidParameterError, match=r"ELMSolver\.run cannot run task"):
        ELMSolver().run(task, initial_params(task, 0), _Recorder(), np.random.default_rng(0))


@pytest.mark.parametrize(("name", "options"), MODULE_TASKS[:2],
                         ids=["digits_cnn", "adding"])
def test_zorb_stays_not_applicable_on_modules_with_a_readout(
        name: str, options: dict[str, Any]) -> None:
    """ZORB's hidden-layer solves pull targets back through an MLP's dense layers: a read-out
    alone is not enough."""
    reason = get_solver("zorb").unsupported_reason(get_task(name, **options))
    assert reason is not None and reason.startswith("not applicable: ZORBSolver inverts")
    assert "not an MLP" in reason


def test_module_output_range_is_checked_as_on_an_mlp() -> None:
    """The closed-form checks run on a module too: a sigmoid output cannot fit the adding
    problem's sums in [0, 2]."""
    task = get_task("adding", length=4, num_train=16, output_activation="sigmoid")
    reason = ELMSolver().unsupported_reason(task)
    assert reason is not None and "sigmoid output has range [0, 1]" in reason
