"""The conformance suite: every registered solver, on every cheap task, must pass these.

Parametrized over the registries at import time, so a solver added to ``solvers.SOLVERS`` is
checked without touching this file.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget, StopReason
from benchmarks.harness import initial_params, run_one
from solvers import SOLVERS, get_solver
from solvers.base import Solver
from tasks import get_task
from tasks.base import BatchEvaluator, Evaluator, Task
from tasks.errors import InvalidParameterError
from tests.conftest import CHEAP_TASKS

SOLVER_NAMES = sorted(SOLVERS)
TASK_IDS = [f"{n}{o}" if o else n for n, o in CHEAP_TASKS]


def _task(name: str, options: dict[str, Any]) -> Task:
    return get_task(name, **options)


def _runnable(solver: Solver, task: Task) -> None:
    reason = solver.unsupported_reason(task)
    if reason is not None:
        assert reason.strip(), "an unsupported task must come with a reason"
        pytest.skip(f"{solver.name} does not run {task.name}: {reason}")


def _budget(solver: Solver, task: Task, iterations: int = 15) -> Budget:
    return Budget(max_iterations=iterations, max_seconds=20.0)


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_name_is_registry_key(name: str) -> None:
    assert SOLVERS[name].name == name


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_states_its_cost_as_data(name: str) -> None:
    """The report's accounting table shows each solver's own statement of what an iteration
    costs; it must be declared on the class, never parsed from the docstring."""
    cls = SOLVERS[name]
    assert "evaluations" in vars(cls), f"{name} must declare `evaluations: ClassVar[str]`"
    assert isinstance(cls.evaluations, str) and cls.evaluations.strip()
    assert isinstance(cls.iteration, str) and cls.iteration.strip()


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_defaults_construct_and_config_round_trips_through_json(name: str) -> None:
    solver = get_solver(name)
    config = solver.config()
    assert json.loads(json.dumps(config)) == config
    assert type(solver)(**config) == solver


def _bad_values(default: Any) -> list[Any]:
    if isinstance(default, bool):
        return ["yes", 3]
    if isinstance(default, int | float):
        return [-1e9, float("nan"), "not-a-number"]
    if isinstance(default, str):
        return ["no-such-option", 7]
    if default is None:
        return [-1e9, "not-a-number"]
    return [object()]


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_every_hyperparameter_is_validated_with_a_message_naming_it(name: str) -> None:
    """For each field, at least one bad value is rejected, and the message names the field."""
    cls = SOLVERS[name]
    defaults = cls().config()
    for field in dataclasses.fields(cls):
        messages = []
        for bad in _bad_values(defaults[field.name]):
            try:
                cls(**{field.name: bad})
            except InvalidParameterError as exc:
                messages.append(str(exc))
        assert messages, f"{cls.__name__}.{field.name} accepted every bad value"
        assert any(f"'{field.name}' parameter of {cls.__name__}" in m for m in messages), messages


@pytest.mark.parametrize("name", SOLVER_NAMES)
@pytest.mark.parametrize(("task_name", "options"), CHEAP_TASKS, ids=TASK_IDS)
def test_same_seed_same_trace_other_seed_other_trace(
    name: str, task_name: str, options: dict[str, Any]
) -> None:
    task, solver = _task(task_name, options), get_solver(name)
    _runnable(solver, task)
    budget = _budget(solver, task)
    first = run_one(task, solver, budget, seed=3, strict=True)
    second = run_one(task, solver, budget, seed=3, strict=True)
    other = run_one(task, solver, budget, seed=4, strict=True)
    assert first.stop_reason != "error"
    assert [p["loss"] for p in first.trace] == [p["loss"] for p in second.trace]
    assert first.final_params == second.final_params
    assert first.final_params != other.final_params


@pytest.mark.parametrize("name", SOLVER_NAMES)
@pytest.mark.parametrize(("task_name", "options"), CHEAP_TASKS, ids=TASK_IDS)
def test_budget_is_never_exceeded(name: str, task_name: str, options: dict[str, Any]) -> None:
    task, solver = _task(task_name, options), get_solver(name)
    _runnable(solver, task)
    it = run_one(task, solver, Budget(max_iterations=7), seed=0, strict=True)
    assert it.iterations <= 7
    if it.stop_reason != "target_reached" and it.stop_reason != "solver_finished":
        assert it.stop_reason == "max_iterations"
    cap = solver.initial_cost(task).forward + 5 * solver.iteration_cost(task).forward + 1
    ev = run_one(task, solver, Budget(max_evaluations=cap), seed=0, strict=True)
    assert ev.evaluations <= cap
    assert ev.stop_reason in ("max_evaluations", "target_reached", "solver_finished")


class _RecordingMonitor:
    """Stands in for the harness: records what the solver reports, stops after a few reports."""

    def __init__(self, stop_after: int) -> None:
        self.reports: list[tuple[np.ndarray, int]] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.reports.append((np.array(params, copy=True), evaluations))
        return len(self.reports) >= self.stop_after


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_first_report_precedes_the_first_update(name: str) -> None:
    """Single-start solvers first report x0 itself; population solvers report after scoring only
    the initial population (exactly their stated initial cost)."""
    task, solver = get_task("xor", hidden=4), get_solver(name)
    _runnable(solver, task)
    x0 = initial_params(task, 0)
    monitor = _RecordingMonitor(stop_after=3)
    solver.run(task, x0.copy(), monitor, np.random.default_rng(0))
    params, evaluations = monitor.reports[0]
    assert evaluations == solver.initial_cost(task).forward
    if solver.single_start:
        np.testing.assert_array_equal(params, x0)
    else:
        # The initial report may be any member of the initial population, and costs exactly it.
        assert evaluations > 0


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_evaluation_time_is_not_charged_to_the_solver(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Make the harness's evaluation slow: solver seconds must not grow with it.

    The solver's own time comes from a first run at normal speed (it also pays any one-off
    start-up cost), so a solver whose iteration is heavy (an L-BFGS step is up to 45 loss
    evaluations) is compared with itself, not with a fixed allowance.
    """
    task, solver = get_task("xor", hidden=4), get_solver(name)
    _runnable(solver, task)
    baseline = run_one(task, solver, Budget(max_iterations=10), seed=0, strict=True)
    # The harness evaluates every report through ``Task.evaluator`` (``Evaluator.__call__``) or,
    # for reports it held, ``Task.batch_evaluator`` (``BatchEvaluator.__call__``): slow both.
    original, original_batch = Evaluator.__call__, BatchEvaluator.__call__
    delay = 0.02

    def slow_evaluate(self: Evaluator, params: np.ndarray) -> dict[str, float]:
        time.sleep(delay)
        return original(self, params)

    def slow_batch(self: BatchEvaluator, population: np.ndarray) -> list[dict[str, float]]:
        time.sleep(delay * len(population))
        return original_batch(self, population)

    monkeypatch.setattr(Evaluator, "__call__", slow_evaluate)
    monkeypatch.setattr(BatchEvaluator, "__call__", slow_batch)
    record = run_one(task, solver, Budget(max_iterations=10), seed=0, strict=True)
    reports = record.iterations + 1
    assert record.eval_seconds >= reports * delay * 0.9
    assert record.solver_seconds < 2 * baseline.solver_seconds + reports * delay * 0.5


@pytest.mark.slow
@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_smoke_budget_on_xor_gives_a_clean_record(name: str) -> None:
    """Within the smoke budget every solver produces a record without error; stop reason is one of
    the harness's, and success fields are consistent with it."""
    task, solver = get_task("xor", hidden=4), get_solver(name)
    _runnable(solver, task)
    record = run_one(
        task, solver, Budget(max_evaluations=40_000, max_seconds=5.0), seed=0, strict=True
    )
    assert record.stop_reason in {s.value for s in StopReason} - {"error", "unsupported"}
    assert (record.stop_reason == "target_reached") == record.success
    if record.success:
        assert record.final_train["accuracy"] == 1.0
        assert record.iterations_to_target == record.iterations
