"""The harness: owns the clock, the budget, evaluation, the trace and the stop decision.

A run is ``run_one(task, solver, budget, seed)``. The harness draws the seed's shared initial
parameters (paired seeds: every single-start solver starts from the same weights for a given
seed), hands the solver a monitor, and on every ``report``:

1. stops the solver clock;
2. evaluates the train metrics (untimed for the solver);
3. keeps a trace point when the iteration is on the log-spaced schedule (or hits the target);
4. checks the target, divergence and the budget;
5. restarts the solver clock and returns the stop decision.

Steps 2-4 may run for a few held reports at once, in order, with exactly the outcome of
running them on each report's arrival (see ``Monitor``).

A solver that keeps going after being told to stop raises ``BudgetOverrunError`` (a solver bug).
Any exception inside a run is recorded with ``stop_reason="error"`` and the suite goes on;
``strict=True`` (for tests) re-raises it instead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch
from threadpoolctl import ThreadpoolController

from benchmarks.budget import Budget, StopReason
from benchmarks.environment import environment
from benchmarks.records import RunRecord, TracePoint, cell_key
from solvers.base import Cost, Solver
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import BudgetOverrunError, InvalidParameterError, NumericalFailureError
from tasks.mlp import FlatParams, FloatArray
from tasks.predictor import Predictor, is_predictor

#: Runs on tasks with at most this many parameters keep their final parameters in the record
#: (for decision-boundary and rollout plots); larger ones would bloat the records.
MAX_STORED_PARAMS = 2_000


#: Seeds are non-negative integers below 2**32 (what NumPy's and torch's seeding accept).
MAX_SEED = 2**32 - 1


def initial_params(task: Task, seed: int) -> FlatParams:
    """The shared starting point of a seed: the same for every single-start solver."""
    return task.model.init_params(np.random.default_rng([seed, 0]))


def solver_rng(seed: int) -> np.random.Generator:
    """The solver's own generator for a seed, independent of the initial parameters' stream."""
    return np.random.default_rng([seed, 1])


class _LogSchedule:
    """Iterations 0-10, then about 24 points per decade: enough for curves, small on disk."""

    def __init__(self) -> None:
        self.next = 0

    def due(self, iteration: int) -> bool:
        if iteration < self.next:
            return False
        self.next = max(iteration + 1, math.ceil(iteration * 1.1))
        return True

    def due_among(self, iterations: list[int]) -> list[bool]:
        """Which of these iterations, taken in order, :meth:`due` would keep (nothing changes)."""
        upcoming, out = self.next, []
        for iteration in iterations:
            keep = iteration >= upcoming
            if keep:
                upcoming = max(iteration + 1, math.ceil(iteration * 1.1))
            out.append(keep)
        return out


#: Reports the monitor may hold before evaluating them together (see ``Monitor``)...
MAX_HELD_REPORTS = 128
#: ... as long as the solver time from the oldest held report to the next expected one stays
#: under this: it bounds the work a solver may do past a stop it has not been told of yet, which
#: is thrown away (wall time, never solver time) ...
MAX_HELD_SECONDS = 0.05
#: ... and the held copies of the parameters stay under this many floats (8 MB).
MAX_HELD_FLOATS = 1 << 20
#: A hold whose quiet screen (``Task.quiet_screen``) clears under this share of the reports it
#: is asked about (near the target, say) skips the screen for the next few holds: each then
#: costs its exact evaluation only, where a screen that fails costs about an eighth more.
SCREEN_MIN_SHARE, SCREEN_REST = 0.25, 4


class Monitor:
    """The harness object a solver reports to (see module docstring).

    **Held reports.** Every report is judged exactly, in order, as if it were judged on arrival:
    the same metrics, trace points, target and budget checks, and the run stops at the first
    report that decides a stop. What may differ is *when*: a fast solver's reports are held (up
    to :data:`MAX_HELD_REPORTS`, :data:`MAX_HELD_SECONDS` of its time, :data:`MAX_HELD_FLOATS`)
    and evaluated together in one vectorized call (``Task.batch_evaluator``, bit-identical to one
    at a time). A report whose iterations, evaluations or seconds exhaust the budget is judged at
    once, with everything held before it. If a held report turns out to have stopped the run, the
    solver is told at its next report, and the record is rolled back to the deciding report:
    iterations, evaluations, solver seconds, parameters, metrics and trace are that report's,
    and nothing the solver did after it counts (not its time, its warnings or a later error).

    Why: judged one at a time, each report interleaves a NumPy evaluation with the solver's own
    steps. On the write-up's XOR that made the evaluation 40 us instead of 13 us, and the
    solver's next torch step 10-25% slower (caches and predictors full of the other code), which
    the solver clock then charged to the solver. Held and batched, the evaluation costs a few us
    per report and the solver's steps run back to back, as in a bare training loop
    (``benchmarks/bench_hotpaths.py``).

    **Quiet reports.** Of the held reports, most decide nothing: not a trace point, not the
    last, finite, and (before the target) a finite loss that does not meet it. Only that has
    to be known of them, not their metrics. ``Task.quiet_screen`` proves it from bounds and an
    eighth of the examples; the held reports it clears are skipped as the judging loop would
    skip them, and only the others are evaluated exactly. A report the screen cannot clear is
    evaluated exactly, so the outcome is the one of evaluating every report. On the 1,001-weight
    parity8 net (256 examples) the exact evaluation is 75 us a report, most of it 25,600
    float64 ``tanh``; that is what the screen saves.
    """

    def __init__(
        self, task: Task, budget: Budget, cost: Cost, warnings: Callable[[], int] | None = None
    ) -> None:
        self.task, self.budget, self.cost = task, budget, cost
        self.iterations = -1
        self.evaluations = 0
        self.backward = 0
        self.solver_seconds = 0.0
        self.eval_seconds = 0.0
        self.stop_reason: StopReason | None = None
        self.trace: list[TracePoint] = []
        #: The judged report's parameters: a flat vector, or a predictor (``_judge_predictor``).
        self.params: FlatParams | Predictor | None = None
        self.metrics: dict[str, float] = {}
        self.to_target: tuple[int, int, float] | None = None
        #: The warnings count at the deciding report when the run was rolled back to it.
        self.warnings_at_stop: int | None = None
        self._best_val: tuple[float, int, int, dict[str, float]] | None = None
        self._evaluated = -1  # the last iteration whose training metrics are in ``metrics``
        self._schedule = _LogSchedule()
        self._held: list[tuple[int, int, int, float, FlatParams, int]] = []
        # Each report's budget check, with "no limit" as a limit never reached.
        self._max_iterations = budget.max_iterations or math.inf
        self._max_evaluations = budget.max_evaluations or math.inf
        self._max_seconds = budget.max_seconds or math.inf
        # What the next iteration may cost, for the "would it pass the budget" check: the
        # declared cost where it is exact; where it is only an upper bound (control episodes),
        # one evaluation, and an iteration that passes the budget is discarded (``report``).
        self._next_cost = cost.forward if task.exact_costs or cost.exact else 1
        self._rolled_back = False
        self._finite = True  # whether the judged report's parameters are all finite
        self._max_held = max(1, min(MAX_HELD_REPORTS, MAX_HELD_FLOATS // max(1, task.num_params)))
        self._warnings = warnings or (lambda: 0)
        # The per-iteration evaluation: ``task.evaluate(params, "train")`` with its set-up (layer
        # views, buffers, labels) done once here; identical metrics, a third of the time on XOR.
        self._evaluate = task.evaluator("train")
        self._evaluate_batch = task.batch_evaluator("train")
        self._screen = task.quiet_screen()
        self._screen_rest = 0  # holds left before the screen is tried again
        self._clock = time.perf_counter
        self._started = self._clock()

    def start(self) -> None:
        self._started = self._clock()

    def report(self, params: FlatParams, *, evaluations: int, backward: int = 0) -> bool:
        stopped_at = self._clock()
        previous = self.solver_seconds
        seconds = self.solver_seconds = previous + (stopped_at - self._started)
        if self.stop_reason is not None:
            raise BudgetOverrunError(
                f"the solver reported again after being told to stop ({self.stop_reason})"
            )
        if self.evaluations + int(evaluations) > self._max_evaluations:
            # Only where costs are not exact (the check below stops every other run before
            # this): the iteration passed the budget, so it never happened. The run ends at the
            # previous report, and nothing of this one counts (evaluations, time, parameters).
            self.solver_seconds = previous
            self._discard_overshoot()
            self._started = self._clock()
            self.eval_seconds += self._started - stopped_at
            return True
        iteration = self.iterations = self.iterations + 1
        spent = self.evaluations = self.evaluations + int(evaluations)
        self.backward += int(backward)
        if type(params) is not np.ndarray and is_predictor(params):
            self._judge_predictor(iteration, spent, self.backward, seconds,
                                  params)  # type: ignore[arg-type]
            self._started = self._clock()
            self.eval_seconds += self._started - stopped_at
            return self.stop_reason is not None
        held = self._held
        held.append((iteration, spent, self.backward, seconds,
                     np.array(params, dtype=np.float64, copy=True), self._warnings()))
        # Judge now: the first report (one evaluation per run; a slow first iteration after it
        # would otherwise be wasted on a starting point that already meets the target), a full
        # hold, a hold that the next iteration would take past its time, or a report that ends
        # the budget (only ever the latest report: every earlier one was checked on arrival).
        if (
            iteration == 0
            or len(held) >= self._max_held
            or 2 * seconds - previous - held[0][3] >= MAX_HELD_SECONDS
            or iteration >= self._max_iterations
            or spent + self._next_cost > self._max_evaluations
            or seconds >= self._max_seconds
        ):
            self._judge_held()
        self._started = self._clock()
        self.eval_seconds += self._started - stopped_at
        return self.stop_reason is not None

    def finish(self) -> None:
        """Called when ``run`` returns: judge what is held, and the solver's own time since the
        last report counts (unless the run was rolled back to an earlier report)."""
        if not self._rolled_back:
            self.solver_seconds += self._clock() - self._started
        started = self._clock()
        self._judge_held()
        self._close()
        self.eval_seconds += self._clock() - started

    def abandon(self) -> None:
        """The solver raised: judge what is held (a held report may have stopped the run before
        the error, which then never happened), without counting time since the last report."""
        self._judge_held()
        self._close()

    def _close(self) -> None:
        """A run that ended without a stop decision: its last report's metrics are fresh and
        it is the trace's last point (after the target, it may not have been evaluated)."""
        if self.stop_reason is not None or self.params is None:
            return
        if self._evaluated != self.iterations:
            with np.errstate(all="ignore"):
                self.metrics = self._evaluate(self.params)
            self._evaluated = self.iterations
        if not self.trace or self.trace[-1].iteration != self.iterations:
            self._keep(self.metrics)

    def _discard_overshoot(self) -> None:
        """An iteration passed the evaluation budget: judge what is held, and unless a held
        report already stopped the run, end it at the last report with ``max_evaluations``
        (that report's metrics kept as the trace's last point)."""
        self._judge_held()
        self._rolled_back = True  # ``finish`` adds no solver time after the last report
        if self.stop_reason is not None:
            return
        if self.params is None:
            # The first report itself passed the budget (a solver that scores its own starting
            # population first, on a task whose costs are only bounded): nothing was judged,
            # and the run is a miss that ended on the budget, not an error.
            self.stop_reason = StopReason.MAX_EVALUATIONS
            return
        self.stop_reason = StopReason.MAX_EVALUATIONS
        if self._evaluated != self.iterations:
            with np.errstate(all="ignore"):
                self.metrics = self._metrics_of(self.params)
            self._evaluated = self.iterations
        if not self.trace or self.trace[-1].iteration != self.iterations:
            self._keep(self.metrics)

    def _judge_held(self) -> None:
        """Judge the held reports in order, as each would have been judged on arrival."""
        held, self._held = self._held, []
        if not held or self.stop_reason is not None:
            return
        now = self.solver_seconds
        # Each report's training metrics; None for a report the quiet screen cleared.
        batch: list[dict[str, float] | None] | None = None
        finite: list[bool]
        if len(held) == 1:
            finite = [bool(np.isfinite(held[0][4]).all())]
            if self.to_target is None:  # until the target is met, every report is evaluated
                batch = [self._metrics_of(held[0][4])]
        else:
            stacked = np.stack([h[4] for h in held])
            finite = np.isfinite(stacked).all(axis=1).tolist()  # type: ignore[assignment]
            if self.to_target is None:
                with np.errstate(all="ignore"):  # a diverging run is recorded, not warned about
                    batch = self._held_metrics(held, stacked, finite)
        schedule, met, last = self._schedule, self.task.target.is_met, len(held) - 1
        for i, (iteration, evaluations, backward, seconds, params, warned) in enumerate(held):
            due = iteration >= schedule.next and schedule.due(iteration)
            # A quiet report (not the last, not a trace point, finite, and before the target
            # neither meeting it nor diverging) decides nothing: skip its bookkeeping.
            if i < last and not due and finite[i] and (
                self.to_target is not None
                or (m := batch[i]) is None  # type: ignore[index]  # cleared by the screen
                or (math.isfinite(m["loss"]) and not met(m))
            ):
                continue
            self.iterations, self.evaluations, self.backward = iteration, evaluations, backward
            self.solver_seconds, self.params, self._finite = seconds, params, finite[i]
            # Until the target is met, every report is evaluated: the cost to target is exact.
            # After it (runs that continue for the fixed-budget view), only trace points, the
            # report that stops the run and a run's last report are: nothing is decided by the
            # training metrics any more but divergence, and non-finite parameters are still
            # caught at every report.
            if self.to_target is None or due:
                known = batch[i] if batch is not None else None
                self._decide_on(known if known is not None else self._metrics_of(params), due)
            else:
                self.stop_reason = self._decide_budget()
                if self.stop_reason is not None:
                    self._decide_on(self._metrics_of(params), True)
            if self.stop_reason is not None:
                if not self.trace or self.trace[-1].iteration != self.iterations:
                    self._keep(self.metrics)
                if i < last:  # roll back: nothing after the deciding report counts
                    self.warnings_at_stop = warned
                    self._rolled_back = True
                    return
                break
        self.solver_seconds = now

    def _judge_predictor(
        self, iteration: int, evaluations: int, backward: int, seconds: float,
        predictor: Predictor,
    ) -> None:
        """Judge a reported predictor at once (``tasks/predictor.py``): after anything held
        before it, with the checks a flat vector's report gets (``_judge_held`` on one report).

        No holding, batching or quiet screen: those serve the flat vectors of fast solvers,
        and a predictor's solver (NEAT) spends far longer per iteration than its evaluation.
        The task's evaluator judges it (``Task.evaluate_predictor``), and its parameters count
        as finite: a non-finite output shows as a non-finite loss (``diverged``).
        """
        self._judge_held()
        if self.stop_reason is not None:  # a held report stopped the run before this one
            return
        due = iteration >= self._schedule.next and self._schedule.due(iteration)
        self.iterations, self.evaluations, self.backward = iteration, evaluations, backward
        self.solver_seconds, self.params, self._finite = seconds, predictor, True
        if self.to_target is None or due:
            self._decide_on(self._metrics_of(predictor), due)
        else:
            self.stop_reason = self._decide_budget()
            if self.stop_reason is not None:
                self._decide_on(self._metrics_of(predictor), True)
        if self.stop_reason is not None and (
            not self.trace or self.trace[-1].iteration != self.iterations
        ):
            self._keep(self.metrics)

    def _held_metrics(
        self, held: list[tuple[int, int, int, float, FlatParams, int]], stacked: FloatArray,
        finite: list[bool],
    ) -> list[dict[str, float] | None]:
        """The held reports' training metrics, before the target: ``None`` for each report the
        quiet screen proves quiet, the exact metrics (``Task.batch_evaluator``) for the rest.

        The screen is asked only about reports the judging loop would skip if quiet: finite,
        not the last, not a trace point (which it reads metrics of whatever they are).
        """
        screen = self._screen
        if screen is None or self._screen_rest > 0:
            self._screen_rest = max(0, self._screen_rest - 1)
            every: list[dict[str, float] | None] = list(self._evaluate_batch(stacked))
            return every
        due = self._schedule.due_among([h[0] for h in held])
        asked = [i for i in range(len(held) - 1) if finite[i] and not due[i]]
        quiet = np.zeros(len(held), dtype=bool)
        if asked:
            quiet[asked] = screen(stacked[asked])
            if np.count_nonzero(quiet) < SCREEN_MIN_SHARE * len(asked):
                self._screen_rest = SCREEN_REST
        rows: list[dict[str, float] | None] = [None] * len(held)
        exact = np.flatnonzero(~quiet)
        for i, metrics in zip(exact.tolist(), self._evaluate_batch(stacked[exact]), strict=True):
            rows[i] = metrics
        return rows

    def _metrics_of(self, params: FlatParams | Predictor) -> dict[str, float]:
        with np.errstate(all="ignore"):
            return self._evaluate(params)

    def _decide_on(self, metrics: dict[str, float], due: bool) -> None:
        self.metrics = metrics
        self._evaluated = self.iterations
        reached = self.to_target is None and self.task.target.is_met(metrics)
        if reached:
            self.to_target = (self.iterations, self.evaluations, self.solver_seconds)
        if reached or due:
            self._keep(metrics)
        self.stop_reason = self._decide(metrics, reached)

    def _keep(self, metrics: dict[str, float]) -> None:
        assert self.params is not None
        held_out: dict[str, float | None] = {}
        with np.errstate(all="ignore"):
            if self.task.has_validation:
                val = self.task.evaluate(self.params, "val")
                held_out["val_loss"] = val["loss"]
                held_out["val_accuracy"] = val.get("accuracy")
                if self._best_val is None or _below(val["loss"], self._best_val[0]):
                    test = self.task.evaluate(self.params, "test")
                    self._best_val = (val["loss"], self.iterations, self.evaluations, test)
            if self.task.has_split:
                test = self.task.evaluate(self.params, "test")
                held_out["test_loss"] = test["loss"]
                held_out["test_mse"] = test["mse"]
                held_out["test_accuracy"] = test.get("accuracy")
        self.trace.append(
            TracePoint(
                iteration=self.iterations,
                evaluations=self.evaluations,
                backward=self.backward,
                solver_seconds=self.solver_seconds,
                loss=metrics["loss"],
                mse=metrics["mse"],
                accuracy=metrics.get("accuracy"),
                **held_out,
            )
        )

    def selected(self) -> dict[str, Any] | None:
        """The best-validation checkpoint: where it was and its test metrics (``None`` without a
        validation split). The test split never chooses anything; validation does."""
        if self._best_val is None:
            return None
        val_loss, iteration, evaluations, test = self._best_val
        return {"iteration": iteration, "evaluations": evaluations, "val_loss": val_loss,
                "test": test}

    def _decide(self, metrics: dict[str, float], reached: bool) -> StopReason | None:
        if reached and self.budget.stop_at_target:
            return StopReason.TARGET_REACHED
        if not math.isfinite(metrics["loss"]):
            return StopReason.DIVERGED
        return self._decide_budget()

    def _decide_budget(self) -> StopReason | None:
        if not self._finite:  # the judged report's parameters
            return StopReason.DIVERGED
        b = self.budget
        if b.max_iterations is not None and self.iterations >= b.max_iterations:
            return StopReason.MAX_ITERATIONS
        if (
            b.max_evaluations is not None
            and self.evaluations + self._next_cost > b.max_evaluations
        ):
            return StopReason.MAX_EVALUATIONS
        if b.max_seconds is not None and self.solver_seconds >= b.max_seconds:
            return StopReason.MAX_SECONDS
        return None


def _below(value: float, best: float) -> bool:
    """``value < best``, with NaN never better than anything."""
    return math.isfinite(value) and (not math.isfinite(best) or value < best)


_CONTROLLER: tuple[int, ThreadpoolController] | None = None


def _thread_pools() -> ThreadpoolController:
    """The process's BLAS and OpenMP pools, found once per set of imported modules.

    Finding them walks every loaded shared library: 0.7-2.5 ms, most of a short run's fixed
    cost. A native library is loaded by an import, so the scan is redone only when
    ``sys.modules`` has grown since (a solver's first run may import scikit-learn, say).
    """
    global _CONTROLLER
    modules = len(sys.modules)
    if _CONTROLLER is None or _CONTROLLER[0] != modules:
        _CONTROLLER = (modules, ThreadpoolController())
    return _CONTROLLER[1]


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """Pin torch and BLAS to ``threads`` threads: oversubscribed cores distort timings."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with _thread_pools().limit(limits=threads):
            yield
    finally:
        torch.set_num_threads(before)


def check_budget_fits(solver: Solver, task: Task, budget: Budget) -> None:
    """Reject a budget that cannot pay for the solver's first report on this task."""
    first = solver.initial_cost(task).forward
    if budget.max_evaluations is not None and first > budget.max_evaluations:
        raise InvalidParameterError(
            f"The 'max_evaluations' budget ({budget.max_evaluations}) is smaller than what "
            f"{type(solver).__name__} spends before its first report on task {task.name!r} "
            f"({first} evaluations)."
        )


def record_base(
    task: Task,
    solver: Solver,
    budget: Budget,
    seed: int,
    *,
    suite: str = "",
    threads: int = 1,
    key: str | None = None,
) -> dict[str, Any]:
    """The fields of a record that describe the cell and its environment, not its outcome.

    ``key`` is the cell's key when the caller computed it already (the runner does, once).
    The execution's metadata (executor, workers, attempt) is stamped on by the runner.
    """
    config = solver.config()
    return {
        "key": key or cell_key(
            task=task.name,
            task_options=dict(task.options),
            solver=solver.name,
            config=config,
            budget=budget.to_dict(),
            seed=seed,
        ),
        "suite": suite,
        "task": task.name,
        "family": task.family,
        "task_options": dict(task.options),
        "model": task.model.describe(),
        "num_params": task.num_params,
        "n_train": task.n_train,
        "target": task.target.describe(),
        "solver": solver.name,
        "config": config,
        "iteration_unit": solver.iteration,
        "seed": seed,
        "budget": budget.to_dict(),
        "environment": environment(threads),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class _WarningCounter:
    """Count the warnings a run raises and keep the first, instead of printing them.

    NumPy and SciPy warn from inside solvers (overflow, ill-conditioned solves); printed, they
    land in the middle of the progress bar and are lost. The record keeps them instead.
    """

    def __init__(self) -> None:
        self.count = 0
        self.first = ""
        self._catch = warnings.catch_warnings()

    def _show(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
              file: Any = None, line: str | None = None) -> None:
        del file, line
        self.count += 1
        if not self.first:
            self.first = f"{category.__name__}: {message} ({filename}:{lineno})"

    def seen(self) -> int:
        return self.count

    def __enter__(self) -> _WarningCounter:
        self._catch.__enter__()
        warnings.simplefilter("always")
        warnings.showwarning = self._show
        return self

    def __exit__(self, *exc: Any) -> None:
        self._catch.__exit__(*exc)


def run_one(
    task: Task,
    solver: Solver,
    budget: Budget,
    seed: int,
    *,
    strict: bool = False,
    suite: str = "",
    threads: int = 1,
    key: str | None = None,
) -> RunRecord:
    """Run one solver on one task from one seed, measured by the harness.

    Args:
        task: the problem.
        solver: a configured solver.
        budget: the limits.
        seed: the run's seed (initial weights and the solver's generator derive from it).
        strict: re-raise exceptions from the solver instead of recording them (tests).
        suite: name of the suite, recorded.
        threads: torch/BLAS threads for this run, recorded.
        key: the cell's key, when the caller computed it already.

    Raises:
        InvalidParameterError: ``seed`` is not an int in ``[0, MAX_SEED]`` (a bool, a string or
            a float included): NumPy would take some of them, and the run would then be
            recorded with a seed the record reader rejects.
    """
    check_interval(seed, "seed", "run_one", kind=int, low=0, high=MAX_SEED)
    seed = int(seed)  # a NumPy integer is recorded as the plain int it holds
    base = record_base(task, solver, budget, seed, suite=suite, threads=threads, key=key)
    reason = solver.unsupported_reason(task)
    if reason is not None:
        return empty_record(base, StopReason.UNSUPPORTED, reason)
    check_budget_fits(solver, task, budget)
    caught = _WarningCounter()
    monitor = Monitor(task, budget, solver.iteration_cost(task), warnings=caught.seen)
    error = detail = ""
    failed = StopReason.ERROR
    measured = reset_peak_memory()
    wall_start = time.perf_counter()
    with pinned_threads(threads), caught:
        try:
            x0 = initial_params(task, seed)
            rng = solver_rng(seed)
            torch.manual_seed(seed)
            monitor.start()
            detail = solver.run(task, x0.copy(), monitor, rng) or ""
            monitor.finish()
        except Exception as exc:
            told = monitor.stop_reason is not None
            monitor.abandon()
            # A stop found only now, in a held report, came before the error: with every report
            # judged on arrival, the solver would have been stopped before it ever raised.
            if told or monitor.stop_reason is None:
                if strict:
                    raise
                error = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, NumericalFailureError):
                    # An expected failure, the solver's own verdict: its reason is the record,
                    # a traceback would only say where the check sits.
                    failed = StopReason.NUMERICAL_FAILURE
                else:  # a bug: where it happened is what the reader needs
                    error += "\n" + "".join(traceback.format_exc(limit=-3))
    wall = time.perf_counter() - wall_start
    peak = peak_memory() if measured else None
    warned = caught.count if monitor.warnings_at_stop is None else monitor.warnings_at_stop
    base = {**base, "warnings": warned, "first_warning": caught.first if warned else ""}
    if monitor.stop_reason is None:  # only a solver that stopped on its own says why
        base["stop_detail"] = str(detail)[:500]
    if error:
        stop = failed
    elif monitor.stop_reason is not None:
        stop = monitor.stop_reason
    elif monitor.params is None:
        stop, error = StopReason.ERROR, "the solver returned without reporting any iteration"
    else:
        stop = StopReason.SOLVER_FINISHED
    if monitor.params is None:
        if stop is StopReason.MAX_EVALUATIONS:
            error = ("the solver's first report alone spent more evaluations than the budget "
                     f"({budget.max_evaluations:,}): nothing within the budget to judge")
        return dataclasses.replace(empty_record(base, stop, error, wall), peak_memory_bytes=peak)
    params = monitor.params
    with np.errstate(all="ignore"):
        test = task.evaluate(params, "test")
    model_size: dict[str, int] | None = None
    stored: list[float] = []
    extra: dict[str, float] = {}
    if isinstance(params, np.ndarray):
        if task.final_metrics is not None:
            extra = task.final_metrics(task.model, params)
        if task.num_params <= MAX_STORED_PARAMS:
            stored = params.tolist()
    else:
        # A predictor, a network of its own topology: no flat vector to store or to hand to the
        # task's extra metrics (they take the task's own network); its size is recorded instead.
        model_size = params.model_size()
    # A run that continued past the target (fixed-budget view) keeps its exact cost to target;
    # an error or a safety-net stop after the target does not undo a success either.
    hit = monitor.to_target
    return RunRecord(
        **base,
        stop_reason=stop,
        iterations=monitor.iterations,
        evaluations=monitor.evaluations,
        backward=monitor.backward,
        solver_seconds=monitor.solver_seconds,
        eval_seconds=monitor.eval_seconds,
        wall_seconds=wall,
        iterations_to_target=hit[0] if hit else None,
        evaluations_to_target=hit[1] if hit else None,
        seconds_to_target=hit[2] if hit else None,
        final_train=monitor.metrics,
        final_test=test,
        extra_metrics=extra,
        trace=list(monitor.trace),
        error=error,
        final_params=stored,
        selected=monitor.selected(),
        model_size=model_size,
        peak_memory_bytes=peak,
    )


def reset_peak_memory() -> bool:
    """Reset this process's resident-memory high-water mark (Linux: writing ``5`` to
    ``/proc/self/clear_refs``); ``False`` where the platform has no such reset.

    Why the process's mark and not ``tracemalloc``: torch and NumPy allocate outside Python's
    allocator, and a population of 10^5-parameter networks is exactly such memory.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_memory() -> int | None:
    """This process's peak resident memory in bytes since the last reset (``VmHWM``), or
    ``None`` where ``/proc/self/status`` has none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def empty_record(
    base: dict[str, Any], stop: StopReason, error: str, wall: float = 0.0
) -> RunRecord:
    """A record without metrics: unsupported, or a run that ended before its first report."""
    return RunRecord(
        **base,
        stop_reason=stop,
        iterations=0,
        evaluations=0,
        backward=0,
        solver_seconds=0.0,
        eval_seconds=0.0,
        wall_seconds=wall,
        iterations_to_target=None,
        evaluations_to_target=None,
        seconds_to_target=None,
        final_train={},
        final_test={},
        error=error,
    )
