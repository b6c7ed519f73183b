"""CMAESSolver (pycma adapter): one behaviour per test."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.cmaes import CMAESSolver, default_population_size
from tasks import get_task
from tasks.base import Target, Task
from tasks.errors import InvalidParameterError


class RecordingMonitor:
    """Stands in for the harness: keeps every report, asks to stop after ``stop_after``."""

    def __init__(self, stop_after: int) -> None:
        self.params: list[np.ndarray] = []
        self.evaluations: list[int] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        assert backward == 0
        self.params.append(np.array(params, copy=True))
        self.evaluations.append(evaluations)
        return len(self.params) >= self.stop_after


def unreachable(task: Task) -> Task:
    """The same task with a target no network meets, so only pycma or the budget ends a run."""
    return dataclasses.replace(task, target=Target(max_mse=-1.0))


BAD_HYPERPARAMETERS: list[tuple[str, Any]] = [
    ("sigma0", 0.0),
    ("sigma0", -1.0),
    ("sigma0", float("inf")),
    ("population_size", 1),
    ("population_size", 10.0),
    ("restarts", -1),
    ("restarts", 21),
    ("restarts", True),
]


@pytest.mark.parametrize(("field", "value"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of CMAESSolver"):
        CMAESSolver(**{field: value})


def test_default_population_is_pycmas() -> None:
    assert default_population_size(9) == 10
    task = get_task("xor")
    assert CMAESSolver().iteration_cost(task).forward == 10 * task.n_train
    assert CMAESSolver(population_size=7, restarts=2).iteration_cost(task).forward == 28 * 4


def test_first_report_is_x0_then_one_population_per_generation() -> None:
    task = get_task("xor", hidden=4)
    x0 = initial_params(task, 0)
    monitor = RecordingMonitor(stop_after=4)
    CMAESSolver(population_size=6).run(task, x0.copy(), monitor, np.random.default_rng(0))
    np.testing.assert_array_equal(monitor.params[0], x0)
    assert monitor.evaluations == [task.n_train] + [6 * task.n_train] * 3


def test_reports_the_best_so_far() -> None:
    """The reported loss never increases, although CMA-ES samples worse points every generation."""
    task = get_task("xor")
    monitor = RecordingMonitor(stop_after=80)
    CMAESSolver(sigma0=2.0).run(task, initial_params(task, 1), monitor, np.random.default_rng(1))
    losses = task.losses(np.array(monitor.params))
    assert np.all(np.diff(losses) <= 0)
    assert losses[-1] < losses[0]


def test_same_seed_same_run_other_seed_other_run() -> None:
    task = get_task("xor", hidden=4)
    budget = Budget(max_iterations=30)
    first = run_one(task, CMAESSolver(), budget, seed=5, strict=True)
    again = run_one(task, CMAESSolver(), budget, seed=5, strict=True)
    other = run_one(task, CMAESSolver(), budget, seed=6, strict=True)
    assert [(p["evaluations"], p["loss"]) for p in first.trace] == [
        (p["evaluations"], p["loss"]) for p in again.trace
    ]
    assert first.final_params == again.final_params
    assert first.final_params != other.final_params


def test_global_numpy_random_is_neither_used_nor_reseeded() -> None:
    """Determinism does not hang on global state, and pycma does not reseed it for others."""
    task = get_task("xor", hidden=4)
    budget = Budget(max_iterations=20)
    np.random.seed(123)
    first = run_one(task, CMAESSolver(), budget, seed=2, strict=True)
    # The global stream continues exactly where seeding left it: nothing drew from or reseeded it.
    np.testing.assert_array_equal(np.random.random(3), np.random.RandomState(123).random(3))
    np.random.seed(999)  # a different global state does not change the run
    second = run_one(task, CMAESSolver(), budget, seed=2, strict=True)
    assert first.final_params == second.final_params


def test_no_files_written_or_signals_read_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """pycma would obey a ``cma_signals.in`` asking to stop at once, and log data files."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cma_signals.in").write_text('{"timeout": 0}')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record = run_one(get_task("xor"), CMAESSolver(), Budget(max_iterations=30), seed=0,
                         strict=True)
    assert record.iterations == 30 or record.stop_reason == "target_reached"
    assert sorted(os.listdir(tmp_path)) == ["cma_signals.in"]
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_pycma_stop_conditions_finish_the_run() -> None:
    task = unreachable(get_task("xor"))
    record = run_one(task, CMAESSolver(), Budget(max_iterations=20_000), seed=0, strict=True)
    assert record.stop_reason == "solver_finished"
    assert record.iterations < 20_000


def test_ipop_restarts_double_the_population_until_none_is_left() -> None:
    task = unreachable(get_task("xor"))
    monitor = RecordingMonitor(stop_after=100_000)
    CMAESSolver(population_size=5, restarts=2).run(
        task, initial_params(task, 0), monitor, np.random.default_rng(0)
    )
    sizes = [e // task.n_train for e in monitor.evaluations[1:]]
    assert sorted(set(sizes)) == [5, 10, 20]
    assert sizes == sorted(sizes)  # 5s, then 10s, then 20s
    assert len(monitor.evaluations) < 100_000  # it finished on its own after the last restart


def test_evaluation_budget_is_respected_with_restarts() -> None:
    task = unreachable(get_task("and"))
    solver = CMAESSolver(population_size=4, restarts=3)
    cap = 3_000
    record = run_one(task, solver, Budget(max_evaluations=cap), seed=0, strict=True)
    assert record.evaluations <= cap
    assert record.stop_reason in ("max_evaluations", "solver_finished")


# --- solves easy tasks ---------------------------------------------------------------------------

#: Measured with the default hyperparameters (no restarts) and this budget (``run_one``, seeds
#: 0-99): AND 100/100 and XOR 2-4-1 100/100, median about 1.9k and 2.9k evaluations to target
#: (for scale: the 2-2-1 XOR 166/200 with seeds 0-199, the rest stopped by pycma on a plateau).
#: The thresholds over 30 seeds leave two failures of margin.
EASY_BUDGET = Budget(max_evaluations=100_000)
SEEDS = range(30)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task_name", "options", "minimum"),
    [("and", {}, 28), ("xor", {"hidden": 4}, 28)],
    ids=["and", "xor-4-hidden"],
)
def test_solves_easy_tasks_reliably(task_name: str, options: dict[str, Any], minimum: int) -> None:
    task = get_task(task_name, **options)
    solved = sum(
        run_one(task, CMAESSolver(), EASY_BUDGET, seed=seed, strict=True).success for seed in SEEDS
    )
    assert solved >= minimum, f"{solved}/{len(SEEDS)} seeds solved"
