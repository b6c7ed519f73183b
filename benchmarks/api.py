"""Your problem, your solver: the whole protocol on your data, from Python.

``compare(X, y)`` (or ``compare_file(path, target_column)``) runs what
``python benchmarks/run_all.py --data FILE --target COLUMN`` runs, and the command line calls
:func:`run_protocol` here, so the two cannot drift apart:

1. the task: your data as the registered ``data`` task (``tasks/user_data.py``), every input
   checked before anything runs;
2. a short tuning study on it (``benchmarks/studies/tuning.py``: the same number of Sobol
   trials for every solver, on tuning seeds disjoint from the evaluation seeds), written as
   ``tuned.json`` into the output folder;
3. both arms (defaults and tuned) over the evaluation seeds, every run with the budget of the
   stated rule (``benchmarks.suites.yours_budget``), to the end of its budget;
4. the runs as the tidy frame (``benchmarks.results.runs_frame``), the verdict as data
   (``benchmarks.report.verdict.task_verdicts``) and the report
   (``benchmarks.report.document.build_report``).

One progress bar covers steps 2 and 3, with the time left. Records go to
``<out>/raw/yours-tuning.jsonl`` and ``<out>/raw/yours.jsonl``; a stopped call resumes where it
stopped when called again, and a changed data file is a new set of cells (its content hash is
a task option), never mixed with the old one's runs.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.budget import Budget
from benchmarks.engine import runner
from benchmarks.engine.executors import ExecutorConfig
from benchmarks.engine.runner import (
    PlannedCell,
    check_memory,
    done_keys,
    plan_cells,
    run_cells,
)
from benchmarks.records import RunRecord, read_records
from benchmarks.report.analysis import group_records
from benchmarks.report.document import build_report
from benchmarks.report.sections import ReportSection, SectionInputs
from benchmarks.report.verdict import TaskVerdict, task_verdicts
from benchmarks.results import runs_frame, write_atomic
from benchmarks.studies.tuning import choose
from benchmarks.suites import (
    ARMS,
    DATA_SEED,
    TUNED_FILE,
    YOURS,
    YOURS_SEEDS,
    YOURS_SIZE_LIMITS,
    YOURS_TRIALS,
    YOURS_TUNING,
    YOURS_TUNING_SEEDS,
    Suite,
    TaskEntry,
    yours_budget,
    yours_suites,
)
from solvers import SOLVERS, builtin_solvers, get_solver
from solvers.base import REFERENCE
from tasks import get_task
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.user_data import NoTarget

#: Where ``compare`` writes unless told otherwise (the command line's default ``--out`` for
#: ``--data`` too): apart from ``results/``, whose ``tuned.json`` is the default suite's.
DEFAULT_OUT = Path("results") / "yours"


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """How much of the protocol to run (the defaults are the yours suite's).

    Attributes:
        solvers: which solvers; ``None``: every built-in one.
        solver_options: hyperparameters set on a solver in every arm (only with
            ``arms=("defaults",)``: the tuned arm runs what the study chose).
        seeds: the evaluation seeds.
        tuning_seeds: the tuning study's seeds, disjoint from ``seeds``.
        trials: Sobol trials per solver in the tuning study (0: no tuning, no tuned arm).
        arms: ``defaults``, ``tuned`` or both.
        budget: every run's budget; ``None``: :func:`benchmarks.suites.yours_budget`.
    """

    solvers: tuple[str, ...] | None = None
    solver_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeds: tuple[int, ...] = YOURS_SEEDS
    tuning_seeds: tuple[int, ...] = YOURS_TUNING_SEEDS
    trials: int = YOURS_TRIALS
    arms: tuple[str, ...] = ARMS
    budget: Budget | None = None


@dataclass(frozen=True, kw_only=True)
class TargetAdvice:
    """Targets read off fixed-budget runs: what to pass as ``--target-accuracy``/``--target-mse``.

    Attributes:
        metric: ``accuracy`` (classification, higher is better) or ``mse`` (regression, of the
            standardized target, lower is better): the training metric a target is set on.
        option: the command-line option that sets it.
        best_label: the solver label with the best median final training metric.
        best_median: that median, rounded towards easier: a target the best solver met on about
            half of its seeds.
        all_median: the median over every attempted run, rounded the same way: a target about
            half of all runs met.
        table: per solver label, the runs and the quartiles of the final training metric.
    """

    metric: str
    option: str
    best_label: str
    best_median: float
    all_median: float
    table: pd.DataFrame


@dataclass(frozen=True)
class Results:
    """What ``compare`` found: the runs, the verdict as data, and the report on demand.

    Attributes:
        task: the task (your data, at the first evaluation seed's split).
        records: the evaluation runs' records (both arms), this data file's only.
        tuned: the tuning study's document (``tuned.json``: choices and every trial's score);
            empty without a tuned arm.
        runs: the runs as the tidy frame (:func:`benchmarks.results.runs_frame`), one row per run.
        verdict: the verdict on the task (:class:`benchmarks.report.verdict.TaskVerdict`): each
            paradigm's representative, the pick (``None`` when no run reached a target), the
            paired tests and how firmly it is decided.
        out: the folder the records (``raw/``) and ``tuned.json`` are in.
    """

    task: Task
    records: tuple[RunRecord, ...]
    tuned: dict[str, Any]
    runs: pd.DataFrame
    verdict: TaskVerdict | None
    out: Path

    def verdict_table(self) -> pd.DataFrame:
        """The verdict as one row per paradigm: its representative label, runs, successes,
        success rate, ERT in evaluations, held-out quality at the budget, and which is picked."""
        columns = ["paradigm", "label", "runs", "successes", "success_rate",
                   "ert_evaluations", "quality", "pick"]
        if self.verdict is None:
            return pd.DataFrame(columns=columns)
        rows = [(p, e.label, e.runs, e.successes, e.rate, e.ert, e.quality,
                 p == self.verdict.pick) for p, e in self.verdict.entries.items()]
        return pd.DataFrame(rows, columns=columns)

    def target_advice(self) -> TargetAdvice | None:
        """Targets read off the runs, for a task run without one (``None`` when it had one)."""
        if not isinstance(self.task.target, NoTarget):
            return None
        return target_advice(self.runs, self.task.kind)

    def report(self, path: str | Path) -> Path:
        """Write the Markdown report to ``path``, with its HTML, figures and runs CSV beside it.

        The tuning study's ``tuned.json`` is copied next to it (the report's tuning section
        reads it from there). Returns the Markdown's path.
        """
        md_path = Path(path)
        md_path.parent.mkdir(parents=True, exist_ok=True)
        source = self.out / TUNED_FILE
        if self.tuned and source.exists() and source.resolve() != (
                md_path.parent / TUNED_FILE).resolve():
            shutil.copyfile(source, md_path.parent / TUNED_FILE)
        files = build_report(list(self.records), md_path, "evo-vs-grad report: your data",
                             sections=report_sections(self))
        return files.markdown


def _round(value: float, metric: str) -> float:
    """Round towards the easier side: accuracy down to 2 decimals, MSE up to 2 digits."""
    if not math.isfinite(value):
        return value
    if metric == "accuracy":
        return math.floor(value * 100) / 100
    if value <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / scale) * scale


def target_advice(runs: pd.DataFrame, kind: str) -> TargetAdvice | None:
    """Targets from what fixed-budget runs reached (the final training metric's medians)."""
    metric = "accuracy" if kind == "classification" else "mse"
    column = f"final_train.{metric}"
    rows = runs[runs["attempted"] & ~runs["censored"]] if len(runs) else runs
    if column not in rows or rows[column].dropna().empty:
        return None
    rows = rows.assign(value=rows[column].astype(float)).dropna(subset=["value"])
    table = rows.groupby("label", observed=True, sort=False)["value"].describe(
        percentiles=[0.25, 0.5, 0.75])[["count", "25%", "50%", "75%"]]
    table = table.rename(columns={"count": "runs"}).astype({"runs": int})
    higher = metric == "accuracy"
    best = table["50%"].idxmax() if higher else table["50%"].idxmin()
    return TargetAdvice(
        metric=metric,
        option="--target-accuracy" if higher else "--target-mse",
        best_label=str(best),
        best_median=_round(float(table.loc[best, "50%"]), metric),
        all_median=_round(float(rows["value"].median()), metric),
        table=table.reset_index(),
    )


def advice_lines(results: Results) -> list[str]:
    """The report section for a task run without a target: how to choose one from the runs."""
    advice = results.target_advice()
    if advice is None:
        return []
    name = "training accuracy" if advice.metric == "accuracy" else (
        "training MSE (standardized target)")
    lines = [
        "These runs had no target (none was given), so none of them can succeed: the verdict "
        "cannot pick a paradigm by reliability or cost, and the comparison is the quality at "
        "the budget (the verdict's last column, the final-state tables and the fixed-budget "
        "figures). To add the fixed-target view, choose a target from what the runs reached "
        "and run again with it; a target is part of the task, so those are new runs.",
        "",
        f"| solver | runs | final {name}: 25% | median | 75% |",
        "|---|---|---|---|---|",
    ]
    for row in advice.table.itertuples(index=False):
        values = row[2:]
        lines.append(f"| {row[0]} | {row[1]} | "
                     + " | ".join(f"{float(v):.4g}" for v in values) + " |")
    lines += [
        "",
        f"- A target the best solver met on about half of its seeds: `{advice.option} "
        f"{advice.best_median:g}` (`{advice.best_label}`'s median, rounded towards easier).",
        f"- A target about half of all runs met: `{advice.option} {advice.all_median:g}`.",
        "",
    ]
    return lines


def report_sections(results: Results) -> tuple[ReportSection, ...]:
    """The report's extra sections for your data: how to choose a target, when it had none."""
    lines = advice_lines(results)
    if not lines:
        return ()

    def section(inputs: SectionInputs) -> list[str]:
        del inputs
        return lines

    # Computed from the report's own records, so it needs no record file of its own.
    return (ReportSection(title="Choosing a target", record_files=(), lines=section),)


@contextlib.contextmanager
def _one_bar(total: int, progress: bool) -> Iterator[runner.ProgressBar]:
    """One progress bar (runs done, time left) over the protocol's two ``run_cells`` calls
    (tuning, then both arms), which advance it (their ``bar`` argument)."""
    bar = runner.ProgressBar(total=total, disable=not progress, unit="run", dynamic_ncols=True,
                             desc="yours: tuning, then both arms", file=sys.stderr)
    try:
        yield bar
    finally:
        bar.close()


def _fitting(task: Task, protocol: Protocol) -> tuple[tuple[str, ...] | None, list[str]]:
    """The solvers whose runs fit this machine's memory, and a note for each one left out.

    A solver whose state grows with the parameters squared (CMA-ES's covariance) may not fit
    a network that the others train easily; it is left out with its estimate, not the data.
    When no applicable solver fits, the data set is too large: refused with the estimate.
    """
    names = protocol.solvers if protocol.solvers is not None else builtin_solvers(tuple(SOLVERS))
    kept: list[str] = []
    refused: list[InvalidParameterError] = []
    slow: list[str] = []
    applicable = 0
    for name in names:
        solver = get_solver(name, **protocol.solver_options.get(name, {}))
        if solver.unsupported_reason(task) is not None:
            kept.append(name)
            continue
        limit, why = YOURS_SIZE_LIMITS.get(name, (None, ""))
        if limit is not None and task.num_params > limit and protocol.solvers is None:
            slow.append(f"left out: solver {name!r} on {task.num_params:,} parameters (more "
                        f"than {limit:,}): {why}; name it in the solvers to run it anyway.")
            continue
        applicable += 1
        try:
            check_memory(solver, task)
        except InvalidParameterError as exc:
            refused.append(exc)
            continue
        kept.append(name)
    if applicable and len(refused) == applicable:
        raise refused[0]
    if not refused and not slow:
        return protocol.solvers, []
    return tuple(kept), [*slow, *(f"left out: {exc}" for exc in refused)]


def _todo(planned: Sequence[PlannedCell], path: Path, rerun: bool) -> int:
    keys = {p.key for p in planned}
    return len(keys) if rerun else len(keys - done_keys(path)[0])


def _records(path: Path, planned: Sequence[PlannedCell]) -> list[RunRecord]:
    """The records of exactly these cells (a records file may hold other versions' cells)."""
    keys = {p.key for p in planned}
    if not path.exists():
        return []
    return [r for r in read_records([path]).records if r.key in keys]


def plan(task_options: dict[str, Any], protocol: Protocol) -> tuple[
        Task, TaskEntry, Suite | None, Suite, list[str]]:
    """Check everything and lay the protocol out, running nothing.

    Returns the task (first evaluation seed's split), its suite entry, the tuning suite
    (``None`` without a tuned arm), the evaluation suite and notes (solvers left out).

    Raises:
        InvalidParameterError: any bad input (the data file, an option, a solver, a seed).
    """
    for seed in (*protocol.seeds, *protocol.tuning_seeds):
        check_interval(seed, "seed", "the yours protocol", kind=int, low=0, high=runner.MAX_SEED)
    if not protocol.seeds:
        raise InvalidParameterError("The yours protocol needs at least one evaluation seed.")
    if protocol.solver_options and "tuned" in protocol.arms and protocol.trials:
        raise InvalidParameterError(
            f"Solver options ({', '.join(protocol.solver_options)}) cannot be set with the tuned "
            f"arm: it runs the configuration the tuning study chose. Run the defaults arm alone "
            f"to set them."
        )
    task = get_task("data", **{**task_options, DATA_SEED: protocol.seeds[0]})
    solvers, notes = _fitting(task, protocol)
    # The entry's options are the task's own (as recorded), so the tuning study's records
    # match their entry exactly; the data are drawn per seed.
    options = {k: v for k, v in task.options.items() if k != DATA_SEED}
    budget = protocol.budget or yours_budget(task.n_train, task.num_params)
    entry = TaskEntry(name="data", options=options, budget=budget)
    tuning, evaluation = yours_suites(
        entry, solvers=solvers, solver_options=protocol.solver_options, seeds=protocol.seeds,
        tuning_seeds=protocol.tuning_seeds, trials=protocol.trials, arms=protocol.arms,
    )
    return task, entry, tuning, evaluation, notes


def run_protocol(
    task_options: dict[str, Any],
    protocol: Protocol = Protocol(),
    *,
    out: str | Path = DEFAULT_OUT,
    executor: ExecutorConfig | str = "process",
    threads: int = 1,
    progress: bool = True,
    rerun: bool = False,
    run: bool = True,
    notes: list[str] | None = None,
) -> Results:
    """Tune, run both arms and gather the results on the ``data`` task with ``task_options``.

    Args:
        task_options: the options of ``tasks.user_data.make_data`` and the network options
            (``path``, ``target_column``, ``hidden``, ``hidden_activation``, ...).
        protocol: solvers, seeds, trials, arms, budget.
        out: the folder for ``raw/`` records and ``tuned.json``.
        executor: ``process`` (default), ``serial`` or ``dask``, or an ``ExecutorConfig``.
        threads: torch/BLAS threads per run.
        progress: one progress bar over the whole protocol on stderr.
        rerun: run recorded cells again.
        run: ``False`` gathers what is recorded without running anything (``--report-only``).
        notes: where to append what the caller should be told (solvers left out).

    Raises:
        InvalidParameterError: bad input, before anything runs or is recorded.
        BenchmarkError: the records file is in use, or the engine cannot start.
    """
    out = Path(out)
    task, _, tuning, evaluation, left_out = plan(task_options, protocol)
    if notes is not None:
        notes.extend(left_out)
    registered = tuple(SOLVERS)
    tuning_path = out / "raw" / f"{YOURS_TUNING}.jsonl"
    records_path = out / "raw" / f"{YOURS}.jsonl"
    tuning_cells = plan_cells(list(tuning.cells(registered))) if tuning else []
    # Until the study has chosen, the tuned arm's cells are unknown; it will have one
    # configuration per tuned solver that applies to the task, so its size is known.
    defaults_cells = plan_cells([c for c in evaluation.cells(registered) if c.arm != "tuned"])
    tuned_solvers = sorted({c.cell.solver for c in tuning_cells
                            if get_solver(c.cell.solver).unsupported_reason(task) is None
                            and SOLVERS[c.cell.solver].paradigm != REFERENCE})
    expected = len(tuned_solvers) * len(evaluation.seeds) if tuning else 0
    document: dict[str, Any] = {}
    kind = executor if isinstance(executor, ExecutorConfig) else ExecutorConfig(kind=executor)
    total = (_todo(tuning_cells, tuning_path, rerun) + _todo(defaults_cells, records_path, rerun)
             + expected) if run else 0
    with _one_bar(total, progress and run) as bar:
        if tuning is not None:
            if run and tuning_cells:
                run_cells(tuning_cells, suite=YOURS_TUNING, records_path=tuning_path,
                          rerun=rerun, progress=progress, threads=threads, executor=kind,
                          bar=bar)
            document = choose(_records(tuning_path, tuning_cells), tuning)
            if document["tuned"]:
                out.mkdir(parents=True, exist_ok=True)
                write_atomic(out / TUNED_FILE, _json(document))
        cells = plan_cells(list(evaluation.cells(registered, document.get("tuned", {}))))
        if run:
            tuned_cells = [c for c in cells if c.cell.arm == "tuned"]
            bar.total = bar.n + _todo(defaults_cells, records_path, rerun) + _todo(
                tuned_cells, records_path, rerun)
            bar.refresh()
            run_cells(cells, suite=YOURS, records_path=records_path, rerun=rerun,
                      progress=progress, threads=threads, executor=kind, bar=bar)
    records = tuple(_records(records_path, cells))
    frame = runs_frame(records)
    verdicts = task_verdicts(group_records(records, frame)) if records else []
    return Results(task=task, records=records, tuned=document, runs=frame,
                   verdict=verdicts[0] if verdicts else None, out=out)


def _json(document: dict[str, Any]) -> str:
    import json

    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def _seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, Sequence):
        return tuple(seeds)
    check_interval(seeds, "seeds", "compare", kind=int, low=1, high=runner.MAX_SEEDS)
    return tuple(range(seeds))


def compare_file(
    path: str | Path,
    target_column: str = "",
    *,
    hidden: Sequence[int] = (32,),
    activation: str = "tanh",
    kind: str = "auto",
    encode: str = "none",
    target_accuracy: float | None = None,
    target_mse: float | None = None,
    solvers: Sequence[str] | None = None,
    seeds: int | Sequence[int] = len(YOURS_SEEDS),
    trials: int = YOURS_TRIALS,
    max_evaluations: int | None = None,
    out: str | Path = DEFAULT_OUT,
    executor: str = "process",
    progress: bool = True,
) -> Results:
    """:func:`compare` on a CSV, Parquet or NPZ file (what ``run_all.py --data`` runs).

    Args:
        path: the data file.
        target_column: the column to predict (empty for NPZ, whose target is ``y``).
        encode: ``none`` or ``onehot`` (for non-numeric feature columns).
        Others: as :func:`compare`.
    """
    options: dict[str, Any] = {
        "path": str(Path(path).resolve()), "target_column": target_column, "kind": kind,
        "encode": encode, "target_accuracy": target_accuracy, "target_mse": target_mse,
        "hidden": list(hidden), "hidden_activation": activation,
    }
    budget = (None if max_evaluations is None
              else Budget(max_evaluations=max_evaluations, stop_at_target=False))
    protocol = Protocol(solvers=None if solvers is None else tuple(solvers),
                        seeds=_seeds(seeds), trials=trials, budget=budget,
                        arms=ARMS if trials else ("defaults",))
    return run_protocol(options, protocol, out=out, executor=executor, progress=progress)


def compare(
    X: Any,
    y: Any,
    *,
    hidden: Sequence[int] = (32,),
    activation: str = "tanh",
    kind: str = "auto",
    target_accuracy: float | None = None,
    target_mse: float | None = None,
    solvers: Sequence[str] | None = None,
    seeds: int | Sequence[int] = len(YOURS_SEEDS),
    trials: int = YOURS_TRIALS,
    max_evaluations: int | None = None,
    out: str | Path = DEFAULT_OUT,
    executor: str = "process",
    progress: bool = True,
) -> Results:
    """Should I train this network with evolution, gradients or in closed form? On ``X, y``.

    ``X`` and ``y`` are saved to ``<out>/data.npz`` (the task is rebuilt from that file, like
    every task from its records), then the protocol runs (module docstring).

    Args:
        X: features, rows x columns, numeric (a NumPy array or a DataFrame).
        y: the target, one value per row: class labels or a quantity.
        hidden: hidden layer widths.
        activation: the hidden activation (``tanh``, ``relu``, ``sigmoid``, ...).
        kind: ``auto`` (inferred from ``y``), ``classification`` or ``regression``.
        target_accuracy: the target, training accuracy (classification).
        target_mse: the target, training MSE of the standardized target (regression).
            Neither: fixed-budget runs; ``Results.target_advice()`` suggests one.
        solvers: which solvers (default: every built-in one).
        seeds: evaluation seeds: a count (seeds 0..N-1) or the seeds themselves.
        trials: tuning trials per solver (0: no tuning study and no tuned arm).
        max_evaluations: every run's budget in evaluations; default: the yours budget rule.
        out: the folder for the data file, records and ``tuned.json``.
        executor: ``process`` (one worker per core), ``serial`` or ``dask``.
        progress: a progress bar on stderr.

    Example:
        >>> from sklearn.datasets import load_breast_cancer   # doctest: +SKIP
        >>> X, y = load_breast_cancer(return_X_y=True)        # doctest: +SKIP
        >>> results = compare(X, y, hidden=(16,), seeds=10)    # doctest: +SKIP
        >>> results.verdict_table()                            # doctest: +SKIP

    Raises:
        InvalidParameterError: bad input (before anything runs or is recorded).
    """
    x = np.asarray(X)
    target = np.asarray(y)
    if x.ndim != 2 or target.ndim != 1 or len(x) != len(target):
        raise InvalidParameterError(
            f"The 'X' and 'y' parameters of compare must be rows x features and one value per "
            f"row. Got X of shape {x.shape} and y of shape {target.shape} instead."
        )
    path = Path(out) / "data.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:  # np.savez on a path would add ".npz" to a name without it
        np.savez(handle, X=x, y=target)
    return compare_file(path, "", hidden=hidden, activation=activation, kind=kind,
                        target_accuracy=target_accuracy, target_mse=target_mse, solvers=solvers,
                        seeds=seeds, trials=trials, max_evaluations=max_evaluations, out=out,
                        executor=executor, progress=progress)


__all__ = ["Protocol", "Results", "TargetAdvice", "compare", "compare_file", "run_protocol"]
