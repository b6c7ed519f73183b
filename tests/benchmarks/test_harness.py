"""The harness owns the stop decision: stop reasons, costs to target, errors, paired seeds."""

from __future__ import annotations

import dataclasses
import sys
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

from benchmarks import harness
from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from benchmarks.records import RunRecord
from solvers import get_solver
from solvers.base import Cost, Monitor, Solver
from tasks import get_task
from tasks.base import QuietScreen, Target, Task
from tasks.errors import BudgetOverrunError, InvalidParameterError
from tasks.mlp import ModelSpec

# A hand-set 2-2-1 network (sigmoid hidden, linear output) that solves XOR: h1 ~ OR, h2 ~ AND,
# output = h1 - h2.
XOR_SOLUTION = np.array([20.0, 20.0, 20.0, 20.0, -10.0, -30.0, 1.0, -1.0, 0.0])


@dataclass(frozen=True, kw_only=True)
class Scripted(Solver):
    """Reports a fixed script of parameter vectors (a test double)."""

    name: ClassVar[str] = "scripted"
    iteration: ClassVar[str] = "one scripted report"
    mode: str = "solve_at"
    at: int = 3
    cost: int = 10

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(self.cost)

    def run(self, task: Task, x0: np.ndarray, monitor: Monitor, rng: np.random.Generator) -> None:
        if self.mode == "raise":
            monitor.report(x0, evaluations=0)
            raise RuntimeError("boom")
        if self.mode == "return_early":
            monitor.report(x0, evaluations=0)
            monitor.report(x0, evaluations=self.cost)
            return
        if self.mode == "ignore_stop":
            for _ in range(5):
                monitor.report(x0, evaluations=self.cost)
            return
        i = 0
        while True:
            if self.mode == "nan" and i == self.at:
                params = np.full_like(x0, np.nan)
            elif self.mode == "solve_at" and i >= self.at:
                params = XOR_SOLUTION
            else:
                params = x0
            if monitor.report(params, evaluations=0 if i == 0 else self.cost):
                return
            i += 1


def test_hand_set_xor_network_meets_the_target() -> None:
    task = get_task("xor")
    assert task.target.is_met(task.evaluate(XOR_SOLUTION))


def test_target_reached_records_costs_at_the_hit() -> None:
    record = run_one(get_task("xor"), Scripted(at=3, cost=10), Budget(max_iterations=100), 0)
    assert record.stop_reason == "target_reached"
    assert record.iterations_to_target == 3
    assert record.evaluations_to_target == 30
    assert record.seconds_to_target is not None
    assert record.trace[-1]["iteration"] == 3


def test_solved_at_initialisation_scores_zero_iterations() -> None:
    record = run_one(get_task("xor"), Scripted(at=0), Budget(max_iterations=5), 0)
    assert record.iterations_to_target == 0
    assert record.evaluations_to_target == 0


def test_a_miss_is_none_not_the_budget() -> None:
    record = run_one(get_task("xor"), Scripted(at=10**9), Budget(max_iterations=20), 0)
    assert record.stop_reason == "max_iterations"
    assert record.iterations == 20
    assert record.iterations_to_target is None
    assert record.evaluations_to_target is None
    assert record.seconds_to_target is None


def test_evaluation_budget_stops_before_it_would_be_exceeded() -> None:
    record = run_one(get_task("xor"), Scripted(at=10**9, cost=10), Budget(max_evaluations=95), 0)
    assert record.stop_reason == "max_evaluations"
    assert record.evaluations == 90


@pytest.mark.slow
def test_seconds_budget() -> None:
    record = run_one(get_task("xor"), Scripted(at=10**9, cost=1), Budget(max_seconds=0.05), 0)
    assert record.stop_reason == "max_seconds"
    assert record.solver_seconds >= 0.05


def test_divergence_is_recorded() -> None:
    record = run_one(get_task("xor"), Scripted(mode="nan", at=2), Budget(max_iterations=10), 0)
    assert record.stop_reason == "diverged"
    assert record.iterations == 2


def test_an_exception_is_recorded_and_reraised_only_when_strict() -> None:
    record = run_one(get_task("xor"), Scripted(mode="raise"), Budget(max_iterations=10), 0)
    assert record.stop_reason == "error"
    assert record.error.startswith("RuntimeError: boom")
    with pytest.raises(RuntimeError, match="boom"):
        run_one(get_task("xor"), Scripted(mode="raise"), Budget(max_iterations=10), 0, strict=True)


def test_reporting_after_stop_is_a_solver_bug() -> None:
    with pytest.raises(BudgetOverrunError):
        run_one(
            get_task("xor"), Scripted(mode="ignore_stop"), Budget(max_iterations=2), 0, strict=True
        )


def test_solver_returning_on_its_own_is_solver_finished() -> None:
    record = run_one(get_task("xor"), Scripted(mode="return_early"), Budget(max_iterations=10), 0)
    assert record.stop_reason == "solver_finished"
    assert record.iterations == 1


def test_empty_or_bad_budget_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="at least one limit"):
        Budget()
    with pytest.raises(InvalidParameterError, match="'max_iterations' parameter of Budget"):
        Budget(max_iterations=0)
    with pytest.raises(InvalidParameterError, match="'max_seconds' parameter of Budget"):
        Budget(max_seconds=-1.0)


@pytest.mark.slow
def test_paired_seeds_share_initial_weights() -> None:
    task = get_task("xor")
    sgd = run_one(task, get_solver("sgd"), Budget(max_iterations=1), 7)
    adam = run_one(task, get_solver("adam"), Budget(max_iterations=1), 7)
    assert sgd.trace[0]["loss"] == adam.trace[0]["loss"]
    x0 = initial_params(task, 7)
    assert sgd.trace[0]["loss"] == task.evaluate(x0)["loss"]
    assert not np.array_equal(x0, initial_params(task, 8))


def test_trace_is_log_spaced_and_keeps_the_last_point() -> None:
    record = run_one(get_task("xor"), Scripted(at=10**9, cost=1), Budget(max_iterations=5000), 0)
    iterations = [p["iteration"] for p in record.trace]
    assert iterations[:11] == list(range(11))
    assert iterations[-1] == 5000
    assert len(iterations) < 120


def test_record_carries_configuration_and_environment() -> None:
    task, solver = get_task("xor"), get_solver("adam", learning_rate=0.1)
    record = run_one(task, solver, Budget(max_iterations=3), 1)
    assert record.config["learning_rate"] == 0.1
    assert record.config == solver.config()
    assert record.environment["threads"] == 1
    assert "torch" in record.environment["versions"]
    assert record.environment["git_revision"]
    assert record.model == "2-2sigmoid-1identity (normal)"
    # The final metrics are those of the final parameters the record carries.
    final = np.asarray(record.final_params)
    assert final.shape == (task.num_params,)
    assert record.final_train == task.evaluate(final)
    assert record.final_test == task.evaluate(final, "test")


def test_final_test_metrics_are_the_test_split_of_the_final_parameters() -> None:
    """On a task whose test split differs from its training split, ``final_test`` is the test
    split's evaluation, not a copy of the training metrics (XOR cannot tell the two apart)."""
    task = get_task("circle", num_train=20, num_test=20)
    record = run_one(task, get_solver("adam", learning_rate=0.1), Budget(max_iterations=3), 1)
    final = np.asarray(record.final_params)
    assert record.final_train == task.evaluate(final)
    assert record.final_test == task.evaluate(final, "test")
    assert record.final_test != record.final_train


# --- held reports: judged together, exactly as if one at a time -----------------------------


def _judged_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "MAX_HELD_REPORTS", 1)


def _everything_but_time(record: RunRecord) -> dict[str, Any]:
    """The record's outcome: every field but measured seconds, timestamps and the warnings text
    (the first warning of a run names a line of code, which is the same either way)."""
    timed = {"solver_seconds", "eval_seconds", "wall_seconds", "seconds_to_target", "timestamp",
             "peak_memory_bytes",
             "environment"}
    out = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)
           if f.name not in timed}
    out["trace"] = [dataclasses.replace(p, solver_seconds=0.0) for p in record.trace]
    return out


HELD_CELLS = [
    ("xor", {}, "sgd", {"learning_rate": 0.5, "momentum": 0.9}, True),  # target mid-hold
    ("xor", {}, "adam", {"learning_rate": 0.05}, False),  # continues past the target
    ("iris", {}, "adam", {}, False),  # validation split: held-out trace, best checkpoint
    ("xor", {}, "ga", {}, True),
    ("sine", {}, "numpy-backprop", {"learning_rate": 50.0}, True),  # diverges
    ("sine", {}, "lbfgs", {}, False),  # returns on its own
]


@pytest.mark.parametrize(("task_name", "options", "solver_name", "config", "stop"), HELD_CELLS)
def test_held_reports_give_the_record_of_reports_judged_one_at_a_time(
    task_name: str, options: dict[str, Any], solver_name: str, config: dict[str, Any],
    stop: bool, monkeypatch: pytest.MonkeyPatch,
) -> None:
    task, solver = get_task(task_name, **options), get_solver(solver_name, **config)
    budget = Budget(max_evaluations=8_000, stop_at_target=stop)
    held = run_one(task, solver, budget, 2, strict=True)
    _judged_one_at_a_time(monkeypatch)
    alone = run_one(task, solver, budget, 2, strict=True)
    assert _everything_but_time(held) == _everything_but_time(alone)
    assert held.iterations > 3


#: Cells on tasks the quiet screen serves (``Task.quiet_screen``): held reports it clears are
#: never evaluated exactly; the records must not change. (A target met mid-hold after cleared
#: reports: ``test_a_target_met_after_reports_the_screen_cleared_is_found_at_its_report``.)
SCREENED_CELLS = [
    ("parity", {"num_bits": 8, "hidden": 64}, "adam", {"learning_rate": 0.01}, False,
     Budget(max_iterations=400)),  # a fixed budget, cleared all along (accuracy about 0.5)
    ("parity", {"num_bits": 7, "hidden": 32}, "adam", {"learning_rate": 0.02}, True,
     Budget(max_iterations=600)),  # the fourth hold's screen clears nothing: it rests
    ("lotka", {}, "sgd", {"learning_rate": 5.0}, True, Budget(max_iterations=400)),  # diverges
    ("parity", {"num_bits": 8, "hidden": 16}, "ga", {}, True, Budget(max_iterations=200)),
]


def _count_cleared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many reports each call of the quiet screen clears, from now on."""
    cleared: list[int] = []
    screen = QuietScreen.__call__

    def counting(self: QuietScreen, population: np.ndarray) -> np.ndarray:
        quiet = screen(self, population)
        cleared.append(int(quiet.sum()))
        return quiet

    monkeypatch.setattr(QuietScreen, "__call__", counting)
    return cleared


@pytest.mark.parametrize(("task_name", "options", "solver_name", "config", "stop", "budget"),
                         SCREENED_CELLS)
def test_screened_held_reports_give_the_record_of_reports_judged_one_at_a_time(
    task_name: str, options: dict[str, Any], solver_name: str, config: dict[str, Any],
    stop: bool, budget: Budget, monkeypatch: pytest.MonkeyPatch,
) -> None:
    cleared = _count_cleared(monkeypatch)
    task, solver = get_task(task_name, **options), get_solver(solver_name, **config)
    budget = dataclasses.replace(budget, stop_at_target=stop)
    held = run_one(task, solver, budget, 2, strict=True)
    assert sum(cleared) > 0  # the screen took part
    _judged_one_at_a_time(monkeypatch)
    alone = run_one(task, solver, budget, 2, strict=True)
    assert _everything_but_time(held) == _everything_but_time(alone)


@dataclass(frozen=True, kw_only=True)
class Switches(Solver):
    """Reports ``before`` until report ``at``, then ``after`` (a test double)."""

    name: ClassVar[str] = "switches"
    iteration: ClassVar[str] = "one scripted report"
    before: tuple[float, ...]
    after: tuple[float, ...]
    at: int

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(1)

    def run(self, task: Task, x0: np.ndarray, monitor: Monitor, rng: np.random.Generator) -> None:
        i = 0
        while not monitor.report(np.array(self.after if i >= self.at else self.before),
                                 evaluations=0 if i == 0 else 1):
            i += 1


def test_a_target_met_after_reports_the_screen_cleared_is_found_at_its_report(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 1-1-1 net on 256 examples that gets every example wrong (the screen clears those
    reports), then every one right, in the middle of a hold: the target is met exactly there."""
    sign = np.where(np.arange(256) % 2 == 0, 1.0, -1.0)[:, None]
    task = Task(name="separable", family="test", kind="classification", x_train=sign,
                y_train=(sign > 0).astype(float), x_test=sign, y_test=(sign > 0).astype(float),
                model=ModelSpec.build(1, (1,), 1, hidden_activation="identity",
                                      output_activation="sigmoid"),
                target=Target(min_accuracy=1.0, max_mse=0.01), has_split=False)
    cleared = _count_cleared(monkeypatch)
    solver = Switches(before=(-8.0, 0.0, 1.0, 0.0), after=(8.0, 0.0, 1.0, 0.0), at=300)
    held = run_one(task, solver, Budget(max_iterations=1_000), 0, strict=True)
    assert (held.stop_reason, held.iterations_to_target, held.iterations) == \
        ("target_reached", 300, 300)
    assert sum(cleared) > 250
    _judged_one_at_a_time(monkeypatch)
    alone = run_one(task, solver, Budget(max_iterations=1_000), 0, strict=True)
    assert _everything_but_time(held) == _everything_but_time(alone)


@dataclass(frozen=True, kw_only=True)
class SolvesThenFails(Solver):
    """Meets the XOR target at report 3, keeps going while not told to stop, then raises or
    warns: what comes after the deciding report must not count."""

    name: ClassVar[str] = "solves-then-fails"
    iteration: ClassVar[str] = "one scripted report"
    fail: str = "raise"

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(1)

    def run(self, task: Task, x0: np.ndarray, monitor: Monitor, rng: np.random.Generator) -> None:
        for i in range(harness.MAX_HELD_REPORTS + 10):
            if i > 3:
                if self.fail == "raise":
                    raise RuntimeError("after the target")
                warnings.warn("after the target", RuntimeWarning, stacklevel=1)
            if monitor.report(XOR_SOLUTION if i >= 3 else x0, evaluations=0 if i == 0 else 1):
                return


@pytest.mark.parametrize("fail", ["raise", "warn"])
def test_what_a_solver_does_after_a_held_report_stopped_the_run_does_not_count(
    fail: str,
) -> None:
    record = run_one(get_task("xor"), SolvesThenFails(fail=fail), Budget(max_iterations=100), 0)
    assert record.stop_reason == "target_reached"
    assert (record.iterations, record.iterations_to_target, record.evaluations) == (3, 3, 3)
    assert record.error == "" and record.warnings == 0 and record.first_warning == ""
    assert record.trace[-1]["iteration"] == 3
    assert record.solver_seconds == record.seconds_to_target
    np.testing.assert_array_equal(record.final_params, XOR_SOLUTION)


def test_a_solver_is_told_to_stop_within_one_hold_of_the_deciding_report() -> None:
    told: list[int] = []

    @dataclass(frozen=True, kw_only=True)
    class Counting(Scripted):
        def run(self, task: Task, x0: np.ndarray, monitor: Monitor,
                rng: np.random.Generator) -> None:
            for i in range(10_000):
                if monitor.report(XOR_SOLUTION if i >= 5 else x0, evaluations=1):
                    told.append(i)
                    return

    record = run_one(get_task("xor"), Counting(), Budget(max_iterations=10_000), 0)
    assert record.iterations == 5
    assert 5 <= told[0] < 5 + harness.MAX_HELD_REPORTS


def test_pinned_threads_pins_every_pool_and_restores_it() -> None:
    """The pools are found once and reused (a scan costs milliseconds per run): every pool a
    fresh scan finds must still be pinned inside, and restored after."""
    from threadpoolctl import threadpool_info

    before = {p["filepath"]: p["num_threads"] for p in threadpool_info()}
    with harness.pinned_threads(1), harness.pinned_threads(1):  # reused, not rescanned
        inside = threadpool_info()
    assert inside and all(p["num_threads"] == 1 for p in inside)
    assert {p["filepath"]: p["num_threads"] for p in threadpool_info()} == before


@dataclass(frozen=True, kw_only=True)
class Episodic(Solver):
    """Declares an upper bound of ``bound`` evaluations an iteration and spends ``spent`` (a
    control task's episodes end early); keeps the same parameters (a test double)."""

    name: ClassVar[str] = "episodic"
    iteration: ClassVar[str] = "one scripted report"
    needs_differentiable: ClassVar[bool] = False
    bound: int = 600
    spent: int = 70
    reports: list[int] = dataclasses.field(default_factory=list, compare=False)

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(self.bound)

    def run(self, task: Task, x0: np.ndarray, monitor: Monitor, rng: np.random.Generator) -> None:
        if monitor.report(x0, evaluations=0):
            return
        while not monitor.report(x0, evaluations=self.spent):
            self.reports.append(self.spent)


def test_an_upper_bound_cost_does_not_end_a_control_run_early_and_an_overshoot_never_counts(
) -> None:
    """On a control task the declared cost is a bound: the run goes on while budget is left,
    and the iteration that passes the budget is discarded, so the record never exceeds it."""
    task = get_task("cartpole", train_episodes=1, eval_episodes=2, test_episodes=2, target=1e9)
    assert not task.exact_costs and get_task("xor").exact_costs
    solver = Episodic()
    record = run_one(task, solver, Budget(max_evaluations=1_000), seed=0, strict=True)
    # With the bound (600) checked, the run would stop after one iteration (70 + 600 > 1000).
    assert record.stop_reason == "max_evaluations"
    assert record.evaluations == 14 * 70 <= 1_000  # the 15th iteration (1,050) never happened
    assert record.iterations == 14
    assert record.trace[-1].iteration == 14 and record.trace[-1].evaluations == 980
    # Where costs are exact, the declared cost still stops the run before it would pass.
    exact = run_one(get_task("xor"), Scripted(mode="never", cost=300),
                    Budget(max_evaluations=1_000), seed=0, strict=True)
    assert exact.evaluations == 900 and exact.stop_reason == "max_evaluations"


@dataclass(frozen=True, kw_only=True)
class Allocates(Solver):
    """Touches ``megabytes`` of fresh memory, then reports once (a test double)."""

    name: ClassVar[str] = "allocates"
    iteration: ClassVar[str] = "one report"
    megabytes: int = 0

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(1)

    def run(self, task: Task, x0: np.ndarray, monitor: Monitor, rng: np.random.Generator) -> None:
        block = np.ones(self.megabytes * 2**20 // 8)  # written, so resident
        monitor.report(x0 + 0.0 * block[:1], evaluations=0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/clear_refs: Linux")
def test_peak_memory_is_the_runs_own_high_water_mark() -> None:
    """Issue 24: the record states the run's peak memory. The mark is reset before each run, so
    a run that allocates 200 MB after one that allocated 400 MB shows 200 MB more than a run
    that allocates nothing, not the earlier run's 400."""
    task, budget = get_task("xor"), Budget(max_iterations=1)
    peaks = {}
    for megabytes in (400, 0, 200):
        record = run_one(task, Allocates(megabytes=megabytes), budget, seed=0)
        assert record.peak_memory_bytes is not None
        peaks[megabytes] = record.peak_memory_bytes
    grown = (peaks[200] - peaks[0]) / 2**20
    assert 190 <= grown <= 260, f"{grown:.0f} MB above a run that allocates nothing"
