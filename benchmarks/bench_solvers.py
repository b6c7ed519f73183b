"""Solver benchmarks: every registered solver trained to target on each cheap task.

``pytest --benchmark-only`` times them, grouped by task; plain ``pytest`` runs each once,
untimed, on a few iterations, as a smoke test (see the root ``conftest.py``).

One benchmark is one full training run through the harness (``run_one``) from seed 0 and the
task's budget. pytest-benchmark times the whole call -- the solver plus the harness's
per-iteration evaluation, i.e. the wall time a user waits; the record's solver-only clock is in
``extra_info`` as ``solver_seconds`` and ``seconds_to_target``. ``benchmark.pedantic`` with a
``setup`` builds a fresh task and solver before every round (``iterations=1``), so no state
carries over between rounds and every round repeats the same run. ``extra_info`` carries the
run's quality, so speed and quality travel together in the saved JSON.

The grid is ``solvers.SOLVERS`` x ``CHEAP_TASKS``, read at import time: a solver added to the
registry is benchmarked without touching this file. Pairs a solver cannot run are skipped with
its ``unsupported_reason``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.budget import Budget, StopReason
from benchmarks.harness import run_one
from benchmarks.records import RunRecord
from solvers import SOLVERS, get_solver
from solvers.base import Solver
from tasks import get_task
from tasks.base import Task

SEED = 0
#: Timed rounds per benchmark: each is a full training run, so a few are enough for a median.
ROUNDS = 3
#: Iterations of the untimed smoke run under plain ``pytest``: enough to exercise every code path.
SMOKE_ITERATIONS = 3

#: benchmark id -> (registry key, task options, budget). Budgets are in evaluations, the unit all
#: solvers share, with a solver-clock cap so that one slow solver cannot hold the whole run up.
CHEAP_TASKS: dict[str, tuple[str, dict[str, Any], Budget]] = {
    "xor": ("xor", {}, Budget(max_evaluations=200_000, max_seconds=5.0)),
    "parity3": ("parity", {"num_bits": 3}, Budget(max_evaluations=500_000, max_seconds=5.0)),
    "sine": ("sine", {}, Budget(max_evaluations=2_000_000, max_seconds=5.0)),
    "iris": ("iris", {}, Budget(max_evaluations=2_000_000, max_seconds=5.0)),
}


def _build(task_id: str, solver_name: str) -> tuple[Task, Solver]:
    name, options, _ = CHEAP_TASKS[task_id]
    return get_task(name, **options), get_solver(solver_name)


def quality(record: RunRecord) -> dict[str, Any]:
    """The run's outcome as flat JSON fields for ``extra_info`` (``None`` where not reached)."""
    return {
        "success": record.success,
        "stop_reason": record.stop_reason,
        "iterations_to_target": record.iterations_to_target,
        "evaluations_to_target": record.evaluations_to_target,
        "seconds_to_target": record.seconds_to_target,
        "iterations": record.iterations,
        "evaluations": record.evaluations,
        "solver_seconds": record.solver_seconds,
        "train_mse": record.final_train.get("mse"),
        "train_accuracy": record.final_train.get("accuracy"),
        "test_mse": record.final_test.get("mse"),
        "test_accuracy": record.final_test.get("accuracy"),
    }


@pytest.mark.parametrize("solver_name", sorted(SOLVERS))
@pytest.mark.parametrize("task_id", list(CHEAP_TASKS))
def test_solver_to_target(benchmark: BenchmarkFixture, task_id: str, solver_name: str) -> None:
    """A full training run to the task's target from a fixed seed, timed per round."""
    task, solver = _build(task_id, solver_name)
    reason = solver.unsupported_reason(task)
    if reason is not None:
        pytest.skip(f"{solver_name} does not run {task.name}: {reason}")
    budget = CHEAP_TASKS[task_id][2]
    if not benchmark.enabled:
        budget = dataclasses.replace(budget, max_iterations=SMOKE_ITERATIONS)

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        new_task, new_solver = _build(task_id, solver_name)
        return (new_task, new_solver, budget, SEED), {}

    benchmark.group = task.name
    benchmark.extra_info.update(seed=SEED, budget=budget.to_dict(), num_params=task.num_params)
    record: RunRecord = benchmark.pedantic(run_one, setup=fresh, rounds=ROUNDS, iterations=1)
    # The rounds repeat one deterministic run, so the last round's record stands for all of them
    # (only a solver-seconds cap can end two rounds at different iterations).
    benchmark.extra_info.update(quality(record))
    if record.stop_reason == "error":
        pytest.fail(f"{solver_name} on {task_id} crashed:\n{record.error}")
    check_record(record, task, budget)


def check_record(record: RunRecord, task: Task, budget: Budget) -> None:
    """Fail unless the timed run's record is the run it claims to be.

    Its final metrics are its final parameters' (NaN equal to NaN: a diverged run keeps its
    NaN loss); it counts as a success exactly when they meet the task's target, at which point
    the run stopped; and it kept within the budget's iterations and evaluations.
    """
    if record.final_params:
        np.testing.assert_equal(record.final_train,
                                task.evaluate(np.asarray(record.final_params)))
    assert record.success == task.target.is_met(record.final_train)
    if record.success:
        assert record.stop_reason == StopReason.TARGET_REACHED
        assert record.iterations_to_target == record.iterations
    if budget.max_iterations is not None:
        assert record.iterations <= budget.max_iterations
    if budget.max_evaluations is not None:
        assert record.evaluations <= budget.max_evaluations
