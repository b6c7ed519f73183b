"""The nevergrad adapter (``ngopt``, ``de``, ``pso``): validation, accounting, seeding, NGOpt's
budget and choice, what is reported, and short runs on XOR, AND and CartPole."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.nevergrad_opt import (
    LOSS_CEILING,
    DESolver,
    NevergradSolver,
    NGOptSolver,
    PSOSolver,
    nevergrad_name,
    told_losses,
)
from tasks import get_task
from tasks.base import Target, Task
from tasks.errors import InvalidParameterError, UnknownNameError
from tasks.mlp import FloatArray

CLASSES = (NGOptSolver, DESolver, PSOSolver)


class RecordingMonitor:
    """A bare monitor (optionally with a harness-like ``budget``): records, stops after a few."""

    def __init__(self, stop_after: int, budget: Budget | None = None) -> None:
        self.params: list[np.ndarray] = []
        self.evaluations: list[int] = []
        self.stop_after = stop_after
        if budget is not None:
            self.budget = budget

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        assert backward == 0
        self.params.append(np.array(params, copy=True))
        self.evaluations.append(evaluations)
        return len(self.params) >= self.stop_after


class ScoringSpy:
    """Records every population a task scores and what it charged."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, task: Task) -> None:
        self.populations: list[np.ndarray] = []
        self.losses: list[np.ndarray] = []
        self.charged: list[int] = []
        original = type(task).scored_losses

        def spy(inner: Task, population: FloatArray) -> tuple[FloatArray, int]:
            losses, spent = original(inner, population)
            self.populations.append(np.array(population, copy=True))
            self.losses.append(np.array(losses, copy=True))
            self.charged.append(spent)
            return losses, spent

        monkeypatch.setattr(type(task), "scored_losses", spy)


def unreachable(task: Task) -> Task:
    return dataclasses.replace(task, target=Target(max_mse=-1.0))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    ("field", "value"),
    [("population_size", 1), ("population_size", 2.5), ("sigma", 0.0), ("sigma", np.inf),
     ("budget", 0), ("budget", "many")],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(
    cls: type[NevergradSolver], field: str, value: Any
) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of {cls.__name__} "
                       r"must be an? (int|float) in the range"):
        cls(**{field: value})


def test_an_unknown_optimizer_name_lists_the_registered_rows() -> None:
    assert [nevergrad_name(n) for n in ("ngopt", "de", "pso")] == ["NGOpt", "TwoPointsDE", "PSO"]
    with pytest.raises(UnknownNameError, match=r"Unknown nevergrad optimizer 'cma'\. Available "
                       r"nevergrad optimizers: de, ngopt, pso\."):
        nevergrad_name("cma")


@pytest.mark.parametrize("cls", CLASSES)
def test_charges_exactly_the_asks_it_scored_in_one_call_per_generation(
    cls: type[NevergradSolver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every generation is one ``scored_losses`` call of ``population_size`` rows, and the run
    charges exactly what those calls returned: the recommendation costs nothing."""
    task = unreachable(get_task("xor", hidden=4))
    spy = ScoringSpy(monkeypatch, task)
    solver = cls(population_size=8)
    monitor = RecordingMonitor(stop_after=6)
    solver.run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    assert [p.shape for p in spy.populations] == [(8, task.num_params)] * 5
    assert monitor.evaluations == [0, *spy.charged] == [0] + [8 * task.n_train] * 5
    assert sum(monitor.evaluations) == 5 * 8 * task.n_train
    assert solver.iteration_cost(task).forward == 8 * task.n_train


@pytest.mark.parametrize("cls", CLASSES)
def test_reports_x0_first_then_the_best_point_it_has_evaluated(
    cls: type[NevergradSolver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DE's and PSO's recommendations are their best evaluated points; NGOpt's CMA-ES recommends
    its (never evaluated) mean, so the adapter reports the best evaluated point instead."""
    task = unreachable(get_task("xor", hidden=4))
    spy = ScoringSpy(monkeypatch, task)
    monitor = RecordingMonitor(stop_after=6, budget=Budget(max_evaluations=400_000))
    x0 = initial_params(task, 1)
    cls().run(task, x0, monitor, np.random.default_rng(1))
    np.testing.assert_array_equal(monitor.params[0], x0)
    best = np.inf
    for reported, losses in zip(monitor.params[1:], spy.losses, strict=True):
        best = min(best, float(losses.min()))
        assert task.losses(reported[None, :])[0] == pytest.approx(best, rel=1e-12)
        assert any(np.array_equal(reported, row) for p in spy.populations for row in p)


def test_reported_prefers_an_evaluated_recommendation_over_the_best() -> None:
    class Candidate:
        def __init__(self, value: np.ndarray, loss: float | None) -> None:
            self.value, self.loss = value, loss

    best = np.zeros(3)
    told = Candidate(np.ones(3), 0.5)
    computed = Candidate(np.full(3, 2.0), None)
    np.testing.assert_array_equal(NevergradSolver.reported(told, best), np.ones(3))
    np.testing.assert_array_equal(NevergradSolver.reported(computed, best), best)


@pytest.mark.parametrize("cls", CLASSES)
def test_same_seed_same_run_other_seed_other_run_global_numpy_untouched(
    cls: type[NevergradSolver],
) -> None:
    task = get_task("sine")
    x0 = initial_params(task, 0)

    def run(seed: int) -> list[np.ndarray]:
        monitor = RecordingMonitor(stop_after=5)
        cls(population_size=6).run(task, x0, monitor, np.random.default_rng(seed))
        return monitor.params

    np.random.seed(12345)
    first, second, other = run(3), run(3), run(4)
    after = np.random.random()
    np.random.seed(12345)
    assert after == np.random.random()  # nothing drew from the global generator
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not np.array_equal(first[-1], other[-1])


def test_ngopt_gets_the_harness_budget_in_asks_and_names_its_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = unreachable(get_task("xor", hidden=4))
    created: list[Any] = []
    original = NevergradSolver.optimizer

    def spy(self: NevergradSolver, *args: Any) -> Any:
        created.append(original(self, *args))
        return created[-1]

    monkeypatch.setattr(NevergradSolver, "optimizer", spy)
    solver = NGOptSolver()
    record = run_one(task, solver, Budget(max_evaluations=4_000), seed=0, strict=True)
    assert record.stop_reason == "max_evaluations"
    assert created[0].budget == 4_000 // task.n_train
    assert created[0].num_workers == solver.workers(task) == 4 + int(3 * np.log(task.num_params))
    assert created[0].optim.name == solver.chosen_optimizer(task, 1_000) == "CMA"
    # Run directly, the note comes back (the harness keeps it when a run ends on its own).
    monitor = RecordingMonitor(stop_after=3, budget=Budget(max_evaluations=4_000))
    note = solver.run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    assert note == (f"nevergrad NGOpt chose CMA (budget 1000 asks, {solver.workers(task)} "
                    f"workers, dimension {task.num_params})")
    # A small budget makes it choose otherwise.
    assert solver.chosen_optimizer(task, 100) == "MetaModel"


def test_ngopt_meta_model_runs_under_numpy_2_quietly_and_reproducibly() -> None:
    """On a budget under 600 asks NGOpt picks its meta-model, whose ``float()`` of a one-element
    array NumPy 2.4 refuses (the module's shim); its SciPy line-search overflows stay silent."""
    task, solver, budget = get_task("and"), NGOptSolver(), Budget(max_iterations=15)
    assert solver.chosen_optimizer(task, 15 * solver.workers(task)) == "MetaModel"
    first, second = (run_one(task, solver, budget, seed=3, strict=True) for _ in range(2))
    assert first.stop_reason == "max_iterations" and first.warnings == 0, first.first_warning
    assert first.final_params == second.final_params


def test_budget_in_asks_follows_the_harness_budget_or_falls_back() -> None:
    xor, cartpole = get_task("xor", hidden=4), get_task("cartpole")
    solver = DESolver(population_size=10, budget=777)

    class Bare:
        pass

    def with_budget(**limits: Any) -> RecordingMonitor:
        return RecordingMonitor(1, Budget(**limits))

    assert solver.budget_in_asks(xor, Bare()) == 777
    assert solver.budget_in_asks(xor, with_budget(max_seconds=5.0)) == 777
    assert solver.budget_in_asks(xor, with_budget(max_evaluations=4_000)) == 1_000
    assert solver.budget_in_asks(xor, with_budget(max_iterations=7)) == 70
    assert solver.budget_in_asks(xor, with_budget(max_iterations=7, max_evaluations=200)) == 50
    assert solver.budget_in_asks(xor, with_budget(max_evaluations=5)) == 10  # one generation
    # A control task charges up to ``n_train`` steps a member: the bound derives the asks.
    assert solver.budget_in_asks(cartpole, with_budget(max_evaluations=500_000)) == (
        500_000 // cartpole.n_train)


def test_non_finite_losses_rank_last_without_nevergrad_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    np.testing.assert_array_equal(told_losses(np.array([1.0, np.nan, np.inf, -np.inf, 1e30])),
                                  [1.0, LOSS_CEILING, LOSS_CEILING, -LOSS_CEILING, LOSS_CEILING])
    task = unreachable(get_task("xor", hidden=4))
    original = type(task).scored_losses

    def half_nan(inner: Task, population: FloatArray) -> tuple[FloatArray, int]:
        losses, spent = original(inner, population)
        return np.where(np.arange(len(losses)) % 2 == 0, np.nan, losses), spent

    monkeypatch.setattr(type(task), "scored_losses", half_nan)
    for cls in CLASSES:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            monitor = RecordingMonitor(stop_after=4, budget=Budget(max_iterations=3))
            cls(population_size=6).run(task, initial_params(task, 0), monitor,
                                       np.random.default_rng(0))
        assert not caught, [str(w.message) for w in caught]
        assert all(np.all(np.isfinite(p)) for p in monitor.params)


@pytest.mark.parametrize(
    "cls",  # nevergrad's DE spends about 0.3 ms a candidate in Python: 1-3 s a seed here
    [NGOptSolver, pytest.param(DESolver, marks=pytest.mark.slow), PSOSolver],
)
def test_solves_and_from_a_few_seeds(cls: type[NevergradSolver]) -> None:
    task = get_task("and")
    records = [run_one(task, cls(), Budget(max_evaluations=40_000), seed=s, strict=True)
               for s in range(3)]
    assert sum(r.success for r in records) >= 2
    assert all(r.warnings == 0 for r in records)


def test_ngopt_solves_xor_from_most_seeds() -> None:
    task = get_task("xor", hidden=4)
    records = [run_one(task, NGOptSolver(), Budget(max_evaluations=400_000), seed=s,
                       strict=True) for s in range(3)]
    assert sum(r.success for r in records) >= 2


@pytest.mark.parametrize("cls", CLASSES)
def test_a_few_generations_on_cartpole(cls: type[NevergradSolver]) -> None:
    task = get_task("cartpole", train_episodes=2, eval_episodes=3)
    budget = Budget(max_iterations=3, max_evaluations=200_000)
    record = run_one(task, cls(), budget, seed=0, strict=True)
    assert record.stop_reason in {"max_iterations", "max_evaluations", "target_reached"}
    assert 0 < record.evaluations <= 200_000
    assert record.evaluations <= record.iterations * cls().iteration_cost(task).forward
    assert "return" in record.final_train and record.error == ""
