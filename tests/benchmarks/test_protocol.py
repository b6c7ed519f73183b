"""The fair-comparison protocol: machine-independent budgets, both views, arms, tuning, splits."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget, StopReason
from benchmarks.harness import run_one
from benchmarks.records import RunRecord
from benchmarks.studies.tuning import TrialScore, choose, study_description, write_tuned
from benchmarks.suites import (
    DEFAULT,
    EVALUATION_SEEDS,
    PER_SEED,
    TUNING,
    TUNING_SEEDS,
    Suite,
    TaskEntry,
    entry_key,
    load_tuned,
    resolve_options,
)
from solvers import SOLVERS, get_solver
from solvers.space import sobol_points
from tasks import get_task
from tasks.base import Task

# --- Seconds never decide a success ----------------------------------------------------------


def _slowed(task: Task, delay: float, slept: list[float] | None = None) -> Task:
    """The same task whose every evaluation sleeps ``delay`` seconds first (a slow harness).

    Every way the harness evaluates is slowed: the per-report evaluator, the batch evaluator
    of held reports (``delay`` per row) and ``evaluate``. A slower harness holds fewer reports
    at a time (its hold is bounded in the solver's seconds), so this also checks that how many
    reports are held never changes a run. ``slept`` collects the seconds the judging
    evaluators (not ``evaluate``) were made to sleep.
    """
    slept = [] if slept is None else slept
    original, make, make_batch = task.evaluate, task.evaluator, task.batch_evaluator

    def evaluate(params: Any, split: Any = "train") -> Any:
        time.sleep(delay)
        return original(params, split)

    def evaluator(split: Any = "train") -> Any:
        inner = make(split)

        def call(params: Any) -> Any:
            time.sleep(delay)
            slept.append(delay)
            return inner(params)

        return call

    def batch_evaluator(split: Any = "train") -> Any:
        inner = make_batch(split)

        def call(population: Any) -> Any:
            time.sleep(delay * len(population))
            slept.append(delay * len(population))
            return inner(population)

        return call

    slowed = dataclasses.replace(task)
    object.__setattr__(slowed, "evaluate", evaluate)
    object.__setattr__(slowed, "batch_evaluator", batch_evaluator)
    object.__setattr__(slowed, "evaluator", evaluator)
    return slowed


@pytest.fixture
def loaded_cpu() -> Iterator[None]:
    """Every core busy with another process while the test body runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait(5)


def _outcome(record: RunRecord) -> tuple[Any, ...]:
    return (record.stop_reason, record.iterations, record.evaluations,
            record.evaluations_to_target, tuple(record.final_params))


CELLS = [("xor", "sgd", {"learning_rate": 0.5, "momentum": 0.9}), ("xor", "ga", {}),
         ("xor", "cmaes", {})]


@pytest.mark.parametrize(("task_name", "solver_name", "config"), CELLS)
def test_slowed_evaluation_gives_the_same_run(
    task_name: str, solver_name: str, config: dict[str, Any]
) -> None:
    """The harness's own evaluation slowed 100x: same stop reason, iterations, parameters."""
    task, solver = get_task(task_name), get_solver(solver_name, **config)
    budget = Budget(max_evaluations=3_000, max_seconds=60.0)
    idle = run_one(task, solver, budget, 3, strict=True)
    slept: list[float] = []
    slow = run_one(_slowed(task, 2e-4, slept), solver, budget, 3, strict=True)
    assert _outcome(slow) == _outcome(idle)
    # The slowdown happened, and on the evaluation clock: a sleep lasts at least its length
    # however loaded the machine (comparing with the idle run's seconds is not: a busy
    # machine can slow the idle run more than the sleeps slow this one).
    assert sum(slept) > 0 and slow.eval_seconds >= sum(slept)


@pytest.mark.slow
@pytest.mark.parametrize(("task_name", "solver_name", "config"), CELLS)
def test_a_shared_cpu_gives_the_same_run(
    task_name: str, solver_name: str, config: dict[str, Any], loaded_cpu: None
) -> None:
    task, solver = get_task(task_name), get_solver(solver_name, **config)
    budget = Budget(max_evaluations=3_000, max_seconds=60.0)
    loaded = run_one(task, solver, budget, 3, strict=True)
    assert _outcome(loaded) == _outcome(run_one(task, solver, budget, 3, strict=True))


def test_every_fixed_suite_states_its_budget_in_evaluations_with_a_generous_safety_net() -> None:
    from benchmarks.suites import SUITES

    for suite in SUITES.values():
        for entry in suite.tasks:
            b = entry.budget
            assert b.max_evaluations is not None or b.max_iterations is not None, suite.name
            assert b.max_seconds is None or b.max_seconds >= 60.0, (suite.name, entry.name)


# --- Fixed-target and fixed-budget views of the same run -------------------------------------


@pytest.mark.slow
def test_a_run_that_continues_past_the_target_keeps_its_exact_cost_to_target() -> None:
    task, solver = get_task("xor", hidden=4), get_solver("adam", learning_rate=0.1)
    stop = run_one(task, solver, Budget(max_evaluations=20_000), 1, strict=True)
    on = run_one(task, solver, Budget(max_evaluations=20_000, stop_at_target=False), 1,
                 strict=True)
    assert stop.stop_reason == StopReason.TARGET_REACHED
    assert on.stop_reason == StopReason.MAX_EVALUATIONS and on.success
    assert (on.iterations_to_target, on.evaluations_to_target) == (
        stop.iterations_to_target, stop.evaluations_to_target)
    assert on.evaluations > 20_000 - task.n_train - 1
    # The trace keeps going after the target, log-spaced, and ends at the last iteration.
    assert on.trace[-1]["iteration"] == on.iterations
    assert on.final_train["mse"] <= stop.final_train["mse"]


def test_the_budget_key_of_fixed_target_cells_is_unchanged() -> None:
    assert "stop_at_target" not in Budget(max_evaluations=10).to_dict()
    assert Budget(max_evaluations=10, stop_at_target=False).to_dict()["stop_at_target"] is False


def test_real_data_runs_select_the_best_validation_checkpoint_and_trace_held_out_metrics() -> None:
    task = get_task("iris", data_seed=4)
    record = run_one(task, get_solver("adam", learning_rate=0.05),
                     Budget(max_evaluations=60_000, stop_at_target=False), 4, strict=True)
    assert record.selected is not None
    points = [p for p in record.trace if p["val_loss"] is not None]
    best = min(points, key=lambda p: p["val_loss"])
    assert record.selected["val_loss"] == pytest.approx(best["val_loss"])
    assert record.selected["iteration"] == best["iteration"]
    assert record.selected["test"]["accuracy"] == pytest.approx(best["test_accuracy"])
    assert all(p["test_accuracy"] is not None for p in record.trace)


def test_tasks_without_a_split_trace_no_test_metric() -> None:
    record = run_one(get_task("xor"), get_solver("sgd"), Budget(max_evaluations=400), 0,
                     strict=True)
    assert record.selected is None
    assert all(p["test_loss"] is None for p in record.trace)


# --- Splits drawn per seed, paired across solvers --------------------------------------------


def test_suites_draw_data_per_seed_and_an_explicit_data_seed_pins_it() -> None:
    suite = Suite(name="t", description="", tasks=(
        TaskEntry(name="iris", budget=Budget(max_evaluations=1000)),
        TaskEntry(name="circle", options={"data_seed": 7}, budget=Budget(max_evaluations=1000)),
        TaskEntry(name="xor", budget=Budget(max_evaluations=1000)),
    ), solvers=("sgd", "adam"), seeds=(0, 1))
    cells = list(suite.cells(tuple(SOLVERS)))
    iris = [c for c in cells if c.task == "iris"]
    assert all(c.task_options["data_seed"] == PER_SEED for c in iris)
    assert next(c.task_options for c in cells if c.task == "circle") == {"data_seed": 7}
    assert "data_seed" not in next(c for c in cells if c.task == "xor").task_options
    # Same seed, same data for every solver; another seed, another split.
    t0 = get_task("iris", **resolve_options(iris[0].task_options, 0))
    t1 = get_task("iris", **resolve_options(iris[1].task_options, 1))
    assert not np.array_equal(t0.x_test, t1.x_test)


def test_runs_record_the_per_seed_option_and_group_together(tmp_path: Any) -> None:
    from benchmarks.engine.runner import run_cells
    from benchmarks.records import read_records
    from benchmarks.report.analysis import group_records, rebuild_task

    suite = Suite(name="t", description="", tasks=(
        TaskEntry(name="circle", options={"num_train": 20, "num_test": 20},
                  budget=Budget(max_evaluations=400)),), solvers=("sgd", "zorb"), seeds=(0, 1, 2))
    path = tmp_path / "raw.jsonl"
    run_cells(suite.cells(tuple(SOLVERS)), suite="t", records_path=path, progress=False)
    records = read_records([path]).records
    assert len(records) == 6
    assert {r.task_options["data_seed"] for r in records} == {PER_SEED}
    groups = group_records(records)
    assert len(groups) == 1
    task = rebuild_task(records[1])
    assert task is not None and task.options["data_seed"] == records[1].seed


# --- Arms, search spaces, tuning --------------------------------------------------------------


def test_every_solver_declares_a_search_space_that_samples_reproducibly() -> None:
    for name, cls in SOLVERS.items():
        assert cls.search_space, name
        a = TUNING.trial_configs(name)
        assert a == TUNING.trial_configs(name)
        assert len(a) == TUNING.trials and len({repr(c) for c in a}) == len(a)
        for config in a:
            get_solver(name, **config)  # every point of the space is a valid configuration
    np.testing.assert_array_equal(sobol_points(3, 8, 1), sobol_points(3, 8, 1))
    assert not np.array_equal(sobol_points(3, 8, 1), sobol_points(3, 8, 2))


def test_a_study_description_says_where_each_conditional_option_was_searched() -> None:
    spaces = study_description(TUNING)["search_spaces"]
    # Clipping and truncation act on unrolled networks, not on straight-through tasks.
    assert "on unrolled or recurrent networks also clip_norm:" in spaces["adam"]
    assert "straight-through estimator also estimator:" in spaces["adam"]
    assert "estimator also clip_norm" not in spaces["adam"]
    assert spaces["reinforce"].endswith("; on a continuous action space also log_std_init: "
                                        "uniform [-2, 0.5)")
    assert " also " not in spaces["cmaes"]
    for name, cls in SOLVERS.items():  # every conditional option says where it acts
        assert set(cls.conditional_where) == set(cls.conditional_space), name


def test_tuning_and_evaluation_seeds_are_disjoint() -> None:
    assert set(TUNING_SEEDS).isdisjoint(EVALUATION_SEEDS)
    assert DEFAULT.seeds == EVALUATION_SEEDS and TUNING.seeds == TUNING_SEEDS
    assert len(EVALUATION_SEEDS) >= 10
    assert [entry_key(e.name, e.options) for e in TUNING.tasks] == [
        entry_key(e.name, e.options) for e in DEFAULT.tasks]


def test_the_tuned_arm_runs_only_pairs_with_a_tuned_configuration() -> None:
    suite = dataclasses.replace(DEFAULT, tasks=DEFAULT.tasks[:2], solvers=("sgd", "adam"),
                                seeds=(0,))
    tuned = {"xor": {"adam": {"learning_rate": 0.2}}}
    cells = list(suite.cells(tuple(SOLVERS), tuned))
    arms = {(c.task, c.solver, c.arm) for c in cells}
    assert ("xor", "adam", "tuned") in arms and ("xor", "sgd", "tuned") not in arms
    assert ("parity", "adam", "tuned") not in arms
    tuned_cell = next(c for c in cells if c.arm == "tuned")
    assert tuned_cell.solver_options == {"learning_rate": 0.2}


def _trial_record(trial: int, seed: int, evals: int, hit: bool, loss: float) -> RunRecord:
    return RunRecord(
        key=f"{trial}-{seed}", suite="tuning", task="xor", family="logic",
        task_options={"gate": "xor"}, model="", num_params=9, n_train=4, target="",
        solver="adam", config={"learning_rate": 10.0 ** -trial}, iteration_unit="", seed=seed,
        budget={}, stop_reason="target_reached" if hit else "max_evaluations", iterations=evals,
        evaluations=evals, backward=evals, solver_seconds=0.01, eval_seconds=0.0,
        wall_seconds=0.01, iterations_to_target=evals if hit else None,
        evaluations_to_target=evals if hit else None, seconds_to_target=0.01 if hit else None,
        final_train={"loss": loss, "mse": loss}, final_test={}, arm="trial", trial=trial,
    )


def test_choose_ranks_by_ert_with_misses_counted_then_final_loss_then_index() -> None:
    records = [
        # trial 0: fast when it works, misses 2 of 3: ERT (100 + 2 * 1000) / 1 = 2100
        _trial_record(0, 10_000, 100, True, 0.0), _trial_record(0, 10_001, 1000, False, 0.3),
        _trial_record(0, 10_002, 1000, False, 0.3),
        # trial 1: always, slowly: ERT 400
        *(_trial_record(1, s, 400, True, 0.0) for s in TUNING_SEEDS),
        # trial 2: never
        *(_trial_record(2, s, 1000, False, 0.1) for s in TUNING_SEEDS),
    ]
    document = choose(records)
    assert document["tuned"] == {"xor": {"adam": {"learning_rate": 0.1}}}
    detail = document["details"]["xor"]["adam"]
    assert detail["chosen_trial"] == 1 and detail["chosen_ert"] == pytest.approx(400)
    assert [t["ert"] for t in detail["trials"]] == [pytest.approx(2100), pytest.approx(400), None]
    assert detail["tuning_evaluations"] == 2100 + 1200 + 3000
    # All miss: the closest (lowest median final loss) wins, ties by index.
    misses = [_trial_record(t, s, 1000, False, 0.5 - 0.1 * t) for t in (0, 1, 2)
              for s in TUNING_SEEDS]
    assert choose(misses)["details"]["xor"]["adam"]["chosen_trial"] == 2
    assert math.isinf(TrialScore(0, {}, 3, 0, 3000.0, 1.0, 0.5).ert)


@pytest.mark.slow
def test_a_tiny_study_picks_the_obviously_better_configuration(tmp_path: Any) -> None:
    """Adam on XOR 2-4-1: a learning rate of 1e-4 cannot reach the target in the budget, 0.1
    can; the study must choose a rate from the good end of the space.

    The good end is read off the runs, not assumed: the trials below 1e-2 miss on every seed,
    the others reach the target on every seed, and the choice must be the one of those that
    spent the fewest evaluations (the obviously better configuration), not merely any rate
    above 1e-2, which is half of the log-uniform space.
    """
    from benchmarks.engine.runner import run_cells
    from benchmarks.records import read_records

    study = dataclasses.replace(
        TUNING,
        tasks=(TaskEntry(name="xor", options={"hidden": 4}, budget=Budget(max_evaluations=8_000)),),
        solvers=("adam",), seeds=TUNING_SEEDS[:2], trials=4)
    path = tmp_path / "raw" / "tuning.jsonl"
    run_cells(study.cells(tuple(SOLVERS)), suite="tuning", records_path=path, progress=False)
    records = read_records([path]).records
    assert len(records) == 8 and all(r.arm == "trial" for r in records)
    written = write_tuned(records, tmp_path, study)
    tuned, document = load_tuned(written)
    rates = [c["learning_rate"] for c in study.trial_configs("adam")]
    chosen = tuned["xor(hidden=4)"]["adam"]["learning_rate"]
    assert chosen >= 0.01 and min(rates) < 1e-3
    by_trial: dict[int, list[RunRecord]] = {}
    for r in records:
        assert r.trial is not None
        by_trial.setdefault(r.trial, []).append(r)
    never = {t for t, runs in by_trial.items() if all(r.iterations_to_target is None for r in runs)}
    always = {t for t, runs in by_trial.items()
              if all(r.iterations_to_target is not None for r in runs)}
    assert never == {t for t, rate in enumerate(rates) if rate < 1e-2} != set()
    assert always == set(range(len(rates))) - never
    best = min(always, key=lambda t: sum(r.evaluations for r in by_trial[t]))
    assert chosen == rates[best]
    assert document["details"]["xor(hidden=4)"]["adam"]["chosen_trial"] == best
    assert document["study"]["tuning_seeds"] == list(TUNING_SEEDS[:2])
