"""RandomSearchSolver: draws, accounting, best-so-far, reproducibility, and the CartPole solve."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one, solver_rng
from benchmarks.records import RunRecord
from solvers import SOLVERS
from solvers.base import BASELINE, PARADIGMS
from solvers.random_search import RandomSearchSolver
from tasks import get_task
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FloatArray
from tests.solvers.recording import RecordingMonitor


class SpyTask:
    """A task whose ``scored_losses`` records each batch and may replace its losses."""

    def __init__(self, task: Task, losses: Any = None) -> None:
        self.task = task
        self.batches: list[FloatArray] = []
        self.fixed_losses = losses

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def scored_losses(self, population: FloatArray) -> tuple[FloatArray, int]:
        self.batches.append(population.copy())
        losses, spent = self.task.scored_losses(population)
        if self.fixed_losses is not None:
            losses = np.full(len(population), self.fixed_losses)
        return losses, spent


@pytest.mark.parametrize(("field", "value"), [("batch_size", 0), ("batch_size", 2.5),
                                              ("scale", 0.0), ("scale", -1.0)])
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of RandomSearchSolver"):
        RandomSearchSolver(**{field: value})


def test_registered_as_the_baseline_paradigm_outside_the_compared_ones() -> None:
    assert SOLVERS["random-search"] is RandomSearchSolver
    assert RandomSearchSolver.paradigm == BASELINE and BASELINE not in PARADIGMS


def test_each_batch_charges_batch_size_times_n_train_and_nothing_else() -> None:
    """Every report, the first included, charges exactly ``batch_size * n_train``."""
    task = get_task("xor", hidden=4)
    solver = RandomSearchSolver(batch_size=7)
    monitor = RecordingMonitor(stop_after=5)
    solver.run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    assert monitor.evaluations == [7 * task.n_train] * 5
    assert solver.initial_cost(task).forward == solver.iteration_cost(task).forward == 7 * 4


def test_harness_record_counts_one_batch_per_iteration() -> None:
    task = get_task("xor", hidden=4)
    record = run_one(task, RandomSearchSolver(batch_size=10), Budget(max_evaluations=2_000),
                     seed=0, strict=True)
    # 2,000 / (10 * 4) = 50 batches: iteration 0 and 49 more.
    assert record.iterations == 49 and record.evaluations == 2_000
    assert all(p["evaluations"] == (p["iteration"] + 1) * 40 for p in record.trace)
    assert all(p.get("backward", 0) == 0 for p in record.trace)


def test_first_batch_holds_x0_and_later_batches_are_fresh_draws() -> None:
    task = get_task("xor", hidden=4)
    spy = SpyTask(task)
    x0 = initial_params(task, 3)
    RandomSearchSolver(batch_size=5).run(spy, x0, RecordingMonitor(3), solver_rng(3))  # type: ignore[arg-type]
    assert [b.shape for b in spy.batches] == [(5, task.num_params)] * 3
    np.testing.assert_array_equal(spy.batches[0][0], x0)
    rows = np.concatenate(spy.batches)
    assert len(np.unique(rows, axis=0)) == len(rows)


def test_scale_multiplies_the_initialisation_draws_and_x0() -> None:
    task = get_task("sine")
    plain = RandomSearchSolver().draw(task, np.random.default_rng(5))
    wide = RandomSearchSolver(scale=2.5).draw(task, np.random.default_rng(5))
    np.testing.assert_allclose(wide, 2.5 * plain)
    spy, x0 = SpyTask(task), initial_params(task, 0)
    RandomSearchSolver(scale=0.5).run(spy, x0, RecordingMonitor(1), solver_rng(0))  # type: ignore[arg-type]
    np.testing.assert_allclose(spy.batches[0][0], 0.5 * x0)


def test_reports_the_best_so_far_never_a_worse_one() -> None:
    task = get_task("sine")
    monitor = RecordingMonitor(stop_after=30)
    RandomSearchSolver(batch_size=4).run(task, initial_params(task, 1), monitor, solver_rng(1))
    losses = task.losses(np.stack(monitor.params))
    assert np.all(np.diff(losses) <= 0.0)
    assert losses[-1] < losses[0]  # 120 draws do better than the best of the first 4


def test_a_tie_with_the_best_so_far_goes_to_the_newest_draw() -> None:
    """With every loss equal, each report is the last member of the latest batch."""
    task = get_task("xor", hidden=4)
    spy = SpyTask(task, losses=0.25)
    monitor = RecordingMonitor(stop_after=3)
    RandomSearchSolver(batch_size=6).run(spy, initial_params(task, 0), monitor, solver_rng(0))  # type: ignore[arg-type]
    for params, batch in zip(monitor.params, spy.batches, strict=True):
        np.testing.assert_array_equal(params, batch[-1])


def test_same_seed_same_record_other_seed_other_record() -> None:
    task, budget = get_task("parity", num_bits=3), Budget(max_evaluations=8_000)
    solver = RandomSearchSolver(batch_size=20)
    first = run_one(task, solver, budget, seed=2, strict=True)
    second = run_one(task, solver, budget, seed=2, strict=True)
    other = run_one(task, solver, budget, seed=3, strict=True)
    def path(record: RunRecord) -> list[tuple[int, int, float]]:
        return [(p["iteration"], p["evaluations"], p["loss"]) for p in record.trace]

    assert path(first) == path(second) and first.final_params == second.final_params
    assert path(first) != path(other) and first.final_params != other.final_params


def test_cartpole_falls_to_random_search_within_a_few_batches() -> None:
    """CartPole's target is met by a random policy of the initialisation distribution within a
    few batches of 50 (Mania et al. 2018; measured here: seeds 0-4 at 33k-94k environment steps,
    i.e. in batch 0, 1 or 2). The budget allows 10 full batches (5,000 steps a policy at most)."""
    task = get_task("cartpole")
    for seed in (0, 1, 2):
        record = run_one(task, RandomSearchSolver(), Budget(max_evaluations=2_500_000), seed=seed,
                         strict=True)
        assert record.success, (seed, record.stop_reason)
        assert record.iterations_to_target is not None and record.iterations_to_target <= 4
