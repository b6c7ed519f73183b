"""SepCMAESSolver (pycma with a diagonal covariance) and full CMA-ES's size limit."""

from __future__ import annotations

import tracemalloc
from typing import Any

import cma
import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.cmaes import CMAESSolver, default_population_size
from solvers.sep_cmaes import SepCMAESSolver
from tasks import get_task
from tasks.base import Task
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


def run_briefly(solver: CMAESSolver, task: Task, reports: int, seed: int = 0) -> RecordingMonitor:
    monitor = RecordingMonitor(stop_after=reports)
    solver.run(task, initial_params(task, seed), monitor, np.random.default_rng(seed))
    return monitor


@pytest.fixture
def strategies(monkeypatch: pytest.MonkeyPatch) -> list[cma.CMAEvolutionStrategy]:
    """Every pycma object the solvers build during the test, for a look at its internals."""
    built: list[cma.CMAEvolutionStrategy] = []
    original = cma.CMAEvolutionStrategy

    def spy(*args: Any, **kwargs: Any) -> cma.CMAEvolutionStrategy:
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(cma, "CMAEvolutionStrategy", spy)
    return built


@pytest.mark.parametrize(
    ("field", "value"),
    [("sigma0", 0.0), ("sigma0", float("nan")), ("population_size", 1), ("restarts", 21)],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of SepCMAESSolver"):
        SepCMAESSolver(**{field: value})


def test_record_keys_and_defaults_are_cmaess() -> None:
    """Only the covariance differs: the configuration a record carries has cmaes's keys."""
    assert SepCMAESSolver().config() == CMAESSolver().config()
    assert SepCMAESSolver.name == "sep-cmaes" and CMAESSolver.name == "cmaes"


def test_pycma_runs_with_a_diagonal_covariance_and_no_n_by_n_array(
    strategies: list[cma.CMAEvolutionStrategy],
) -> None:
    """``CMA_diagonal=True`` reaches pycma, which then samples from the identity and keeps the
    diagonal as a vector (its largest array is the population); full CMA-ES on the same task
    holds ``n x n`` matrices."""
    task = get_task("sine", hidden=333)  # 1,000 weights
    n = task.num_params
    run_briefly(SepCMAESSolver(), task, reports=3)
    run_briefly(CMAESSolver(), task, reports=2)
    sep, full = strategies
    assert sep.opts["CMA_diagonal"] is True and not full.opts["CMA_diagonal"]
    assert isinstance(sep.sm, cma.sampler.GaussStandardConstant)
    assert isinstance(full.sm, cma.sampler.GaussFullSampler)

    def largest_array(es: cma.CMAEvolutionStrategy) -> int:
        holders = [es, es.sm, es.sigma_vec, es.adapt_sigma]
        return max(v.size for h in holders for v in vars(h).values() if isinstance(v, np.ndarray))

    assert largest_array(sep) <= sep.popsize * n  # the population, and vectors of n
    assert largest_array(full) >= n * n


def test_memory_at_ten_thousand_weights_is_linear() -> None:
    """At n = 10^4 a generation's peak memory is within the linear estimate and a small
    fraction of one n x n matrix (800 MB), let alone full CMA-ES's three."""
    task = get_task("sine", hidden=3333)  # 10,000 weights
    n = task.num_params
    tracemalloc.start()
    try:
        monitor = run_briefly(SepCMAESSolver(), task, reports=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(monitor.evaluations) == 3
    assert peak <= SepCMAESSolver().memory_estimate(task)
    assert peak < 8 * n * n / 8
    assert SepCMAESSolver().memory_estimate(task) < CMAESSolver().memory_estimate(task) / 20


def test_first_report_is_x0_then_one_population_per_generation() -> None:
    task = get_task("xor", hidden=4)
    monitor = run_briefly(SepCMAESSolver(population_size=6), task, reports=4)
    np.testing.assert_array_equal(monitor.params[0], initial_params(task, 0))
    assert monitor.evaluations == [task.n_train] + [6 * task.n_train] * 3
    default = default_population_size(task.num_params)
    assert SepCMAESSolver().iteration_cost(task).forward == default * task.n_train


def test_same_seed_same_run_other_seed_other_run() -> None:
    task = get_task("xor", hidden=4)
    budget = Budget(max_iterations=25)
    first, again, other = (run_one(task, SepCMAESSolver(), budget, seed=s, strict=True)
                           for s in (5, 5, 6))
    assert [p["loss"] for p in first.trace] == [p["loss"] for p in again.trace]
    assert first.final_params == again.final_params != other.final_params


@pytest.mark.parametrize("solver", [CMAESSolver(), SepCMAESSolver()], ids=["cmaes", "sep"])
def test_global_numpy_random_is_untouched_on_a_network_of_300_weights_or_more(
    solver: CMAESSolver,
) -> None:
    """From 300 weights pycma adapts the step size by TPA, whose self-test drew from the global
    generator after every tell; the adapter switches that test off."""
    task = get_task("spirals")
    assert task.num_params >= 300
    np.random.seed(123)
    run_one(task, solver, Budget(max_iterations=8), seed=0, strict=True)
    np.testing.assert_array_equal(np.random.random(3), np.random.RandomState(123).random(3))


def test_full_cmaes_refuses_networks_above_its_limit_and_names_sep_cmaes() -> None:
    limit = CMAESSolver.max_params
    assert limit == 3_000
    above = get_task("sine", hidden=1000)  # 3,001 weights
    assert above.num_params == limit + 1
    reason = CMAESSolver().unsupported_reason(above)
    assert reason is not None
    assert reason.startswith("not applicable beyond 3,000 parameters: full covariance needs n^2")
    assert "use sep-cmaes" in reason
    assert SepCMAESSolver().unsupported_reason(above) is None
    record = run_one(above, CMAESSolver(), Budget(max_iterations=3), seed=0)
    assert record.stop_reason == "unsupported"


def test_full_cmaes_runs_just_below_its_limit() -> None:
    below = get_task("sine", hidden=999)  # 2,998 weights
    assert below.num_params <= CMAESSolver.max_params  # type: ignore[operator]
    assert CMAESSolver().unsupported_reason(below) is None
    monitor = run_briefly(CMAESSolver(), below, reports=2)
    population = default_population_size(below.num_params)
    assert monitor.evaluations == [below.n_train, population * below.n_train]


def test_no_network_of_the_default_suite_reaches_the_limit() -> None:
    """The limit changes nothing in the default suite: no network there comes near it."""
    from benchmarks.suites import DEFAULT

    sizes = {e.name: get_task(e.name, **e.options).num_params for e in DEFAULT.tasks}
    assert max(sizes.values()) < CMAESSolver.max_params  # type: ignore[operator]


def test_solves_xor_with_four_hidden_units_from_most_seeds() -> None:
    task = get_task("xor", hidden=4)
    records = [run_one(task, SepCMAESSolver(), Budget(max_evaluations=20_000), seed=s,
                       strict=True) for s in range(5)]
    assert sum(r.success for r in records) >= 4


def test_runs_a_few_generations_on_cartpole() -> None:
    """On a control task the losses are negated returns and the charge is the steps taken."""
    task = get_task("cartpole")
    solver = SepCMAESSolver()
    record = run_one(task, solver, Budget(max_iterations=3), seed=0, strict=True)
    assert record.stop_reason in ("max_iterations", "target_reached")
    steps = [b["evaluations"] - a["evaluations"]
             for a, b in zip(record.trace, record.trace[1:], strict=False)]
    assert steps and all(0 < s <= solver.iteration_cost(task).forward for s in steps)
