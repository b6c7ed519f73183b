"""The report's data layer: the runs frame grouped by task and solver, target levels, runtimes.

The records become one tidy pandas frame (:func:`benchmarks.results.runs_frame`, the frame users
load with ``load_runs``); this module groups it with pandas into task groups and solver labels.
Both the tables (``benchmarks/report/document.py``) and the figures
(``benchmarks/report/figures/``) read the records through it, so a number in a table and the same
number in a picture cannot disagree.

Vocabulary:

* A *task group* is one task with one set of options (knob values); its runs are split by
  *solver label*: the solver's name plus any hyperparameter that differs from its defaults.
* A *cost axis* is ``evaluations`` (single-example forward passes), ``seconds`` (the solver's own
  clock) or ``iterations`` (solver-specific, see the accounting section of the report).
* A *target level* is a threshold on the training MSE or loss that a run's trace either reaches
  or not. Each task has its own target (recorded exactly by the harness) plus several easier
  levels derived from the traces (see :func:`target_levels`), as COCO uses several precisions
  per function.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.record_table import Trace, table_rows
from benchmarks.records import RunRecord
from benchmarks.results import (
    DERIVED_OPTIONS,
    CostAxis,
    cost_to_target,
    default_options,
    format_option,
    freeze,
    runs_frame,
    slugify,
)
from benchmarks.suites import resolve_options
from solvers import SOLVERS
from tasks import get_task
from tasks.base import Task
from tasks.errors import BenchmarkError

AXIS_TITLES: dict[str, str] = {
    "iterations": "iterations",
    "evaluations": "evaluations (single-example forward passes)",
    "seconds": "solver seconds",
}
#: Trace field that holds each axis.
TRACE_FIELD: dict[str, str] = {
    "iterations": "iteration",
    "evaluations": "evaluations",
    "seconds": "solver_seconds",
}
#: Easier target levels per task, log-spaced between the initial loss and the task's own target.
EASIER_LEVELS = 4
#: Floors used where a cost must be positive (log axes, ratios): a run solved at initialisation
#: costs 0 evaluations and almost 0 seconds.
COST_FLOOR: dict[str, float] = {"iterations": 1.0, "evaluations": 1.0, "seconds": 1e-6}


def trace_column(record: RunRecord, name: str) -> np.ndarray:
    """One field of the trace as a float array (NaN where missing, e.g. accuracy on regression)."""
    trace = record.trace
    if isinstance(trace, Trace):  # a record read into a table: no point built
        return trace.column(name)
    return np.array([math.nan if p.get(name) is None else float(p[name]) for p in trace],
                    dtype=float)


def trace_present(record: RunRecord, name: str) -> np.ndarray:
    """Where one field of the trace is present (not ``None``), as a bool array."""
    if isinstance(record.trace, Trace):
        return record.trace.present(name)
    return np.array([p.get(name) is not None for p in record.trace], dtype=bool)


def trace_columns(runs: Sequence[RunRecord], names: Sequence[str]
                  ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Trace fields of many runs at once: each run's trace length, and per field every run's
    :func:`trace_column` end to end with where it is present (:func:`trace_present`).

    Runs read into a table are gathered from its buffer in one step per field
    (:meth:`benchmarks.record_table.RecordTable.trace_columns`): a figure of 10^4 runs would
    otherwise build a view's trace per run, per field, per panel.
    """
    found = table_rows(runs)
    if found is not None:
        got = found[0].trace_columns(np.array(found[1], dtype=np.int64), names)
        if got is not None:
            return got
    lengths = np.array([len(r.trace) for r in runs], dtype=np.int64)
    values = [np.concatenate([np.empty(0), *(trace_column(r, n) for r in runs)]) for n in names]
    present = [np.concatenate([np.zeros(0, dtype=bool), *(trace_present(r, n) for r in runs)])
               for n in names]
    return lengths, values, present


def step_counts(lengths: np.ndarray, x: np.ndarray, grid: np.ndarray) -> np.ndarray | None:
    """For runs laid end to end (``lengths``; ``x`` each run's cost axis, ascending), how many
    of each run's points lie at or below each value of the ascending ``grid``, as a
    (runs, grid) array: ``np.searchsorted(x_run, grid, side="right")`` for every run at once.

    ``None`` when some run's ``x`` is not ascending or holds a NaN (the one-run search's answer
    is then not a count; the caller searches run by run, as before).
    """
    n_runs, n_grid = lengths.size, grid.size
    if x.size == 0:
        return np.zeros((n_runs, n_grid), dtype=np.int64)
    run = np.repeat(np.arange(n_runs), lengths)
    if np.isnan(x).any() or bool(np.any((np.diff(x) < 0) & (run[1:] == run[:-1]))):
        return None
    # A point counts from the first grid value at or above it onwards.
    first = np.searchsorted(grid, x, side="left")
    starts = np.bincount(run * (n_grid + 1) + first, minlength=n_runs * (n_grid + 1))
    return np.cumsum(starts.reshape(n_runs, n_grid + 1), axis=1)[:, :n_grid]


#: Runs a step curve computes at once, and matrix cells a quantile reduces at once: the
#: intermediates of 10^5 runs on a 240-point grid at once were a gigabyte.
CHUNK_RUNS = 4096
CHUNK_CELLS = 1 << 21


def run_chunks(lengths: np.ndarray) -> list[tuple[slice, slice]]:
    """Runs laid end to end (``lengths``) in chunks of :data:`CHUNK_RUNS`: each chunk's runs
    and the slice of their points."""
    ends = np.concatenate([[0], np.cumsum(lengths)])
    return [(slice(a, min(a + CHUNK_RUNS, lengths.size)),
             slice(int(ends[a]), int(ends[min(a + CHUNK_RUNS, lengths.size)])))
            for a in range(0, lengths.size, CHUNK_RUNS)]


def column_quantiles(matrix: np.ndarray, q: Sequence[float], *, nan: bool = False,
                     ) -> np.ndarray:
    """``np.quantile(matrix, q, axis=0)`` (``np.nanquantile`` with ``nan``), a block of
    columns at a time: each column's quantiles are computed alone, so the blocks give the
    same numbers, without a sorted copy of the whole matrix."""
    step = max(1, CHUNK_CELLS // max(matrix.shape[0], 1))
    quantile = np.nanquantile if nan else np.quantile
    return np.concatenate([quantile(matrix[:, j:j + step], q, axis=0)
                           for j in range(0, matrix.shape[1], step)], axis=1)


def first_hit(record: RunRecord, metric: str, level: float, axis: CostAxis) -> float:
    """Cost at the first trace point whose ``metric`` is at or below ``level``; ``inf`` if none.

    The trace is log-spaced (every iteration up to 10, then about every 10% more iterations), so
    this over-estimates the true first hitting time by at most one sampling step.
    """
    if not record.trace:
        return math.inf
    values = trace_column(record, metric)
    hit = np.flatnonzero(values <= level)
    if hit.size == 0:
        return math.inf
    return float(trace_column(record, TRACE_FIELD[axis])[int(hit[0])])


# --------------------------------------------------------------------------------------------
# Tasks and labels
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _task_cached(name: str, frozen_options: tuple[tuple[str, Any], ...]) -> Task | str:
    """The task, or why it does not build (a message, never an exception)."""
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in frozen_options}
    try:
        return get_task(name, **options)
    except (BenchmarkError, TypeError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def rebuild_task_or_reason(record: RunRecord) -> Task | str:
    """The record's task rebuilt from its name and options, or why it no longer builds.

    The recorded ``gate`` option of the logic tasks is not a factory knob (the name is the gate),
    nor is a module network's ``network`` record (``benchmarks.results.DERIVED_OPTIONS``), so
    options the factory does not accept are retried without them.
    """
    options = resolve_options(dict(record.task_options), record.seed)
    task = _task_cached(record.task, freeze(options))
    derived = [k for k in options if k in DERIVED_OPTIONS]
    if isinstance(task, str) and derived:
        for k in derived:
            options.pop(k)
        task = _task_cached(record.task, freeze(options))
    return task


def rebuild_task(record: RunRecord) -> Task | None:
    """The record's task rebuilt from its name and options; ``None`` if it no longer builds."""
    task = rebuild_task_or_reason(record)
    return None if isinstance(task, str) else task


@dataclass(frozen=True)
class TargetLevel:
    """One target of a task for the runtime ECDFs: the task's own, or an easier loss level."""

    label: str
    metric: str
    value: float
    own: bool

    def runtime(self, record: RunRecord, axis: CostAxis) -> float:
        """The cost at which ``record`` met this target (``inf`` if never)."""
        if self.own:
            return cost_to_target(record, axis)
        return first_hit(record, self.metric, self.value, axis)


@dataclass
class TaskGroup:
    """All runs of one task with one set of options, split by solver label.

    ``frame`` holds the group's rows of the runs frame (:func:`benchmarks.results.runs_frame`),
    ordered by solver label (registry order), then seed; its index is the position of each run
    in ``records``, which carry what a row does not (traces, final parameters).
    """

    name: str
    task: str
    options: dict[str, Any]
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    records: Sequence[RunRecord] = field(default=(), repr=False)
    task_obj: Task | None = None
    #: Why ``task_obj`` is ``None`` (the task no longer builds from the recorded options).
    task_error: str = ""
    levels: list[TargetLevel] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return slugify(self.name)

    @functools.cached_property
    def runs(self) -> dict[str, list[RunRecord]]:
        """Every run of each solver label, the labels in order."""
        if self.frame.empty:
            return {}
        return {label: [self.records[i] for i in rows.index]
                for label, rows in self.frame.groupby("label", sort=False, observed=True)}

    @functools.cached_property
    def _attempted(self) -> dict[str, list[RunRecord]]:
        """Each label's attempted runs as records: the ``tried`` rows of :attr:`_positions`."""
        return {label: [self.records[i] for i in self.frame.index[positions]]
                for label, positions in self._positions["tried"].items() if label is not None}

    @property
    def first(self) -> RunRecord:
        return next(iter(self.runs.values()))[0]

    def attempted(self, label: str) -> list[RunRecord]:
        """Runs of a solver label that were attempted (unsupported ones left out)."""
        return self._attempted.get(label, [])

    def all_attempted(self) -> list[RunRecord]:
        return [r for runs in self._attempted.values() for r in runs]

    @property
    def seed_count(self) -> int:
        """How many evaluation seeds the task's attempted runs cover (any solver's)."""
        return int(self.frame.loc[self.frame["attempted"], "seed"].nunique())

    @functools.cached_property
    def _positions(self) -> dict[str, dict[str | None, np.ndarray]]:
        """Where the attempted (``tried``) and usable rows are in the group's frame, whole and
        per label (labels in order of their first such row), split once: the report asks for
        them hundreds of times."""
        out: dict[str, dict[str | None, np.ndarray]] = {}
        if self.frame.empty:
            nothing = np.zeros(0, dtype=np.int64)
            return {"tried": {None: nothing}, "usable": {None: nothing}}
        attempted = self.frame["attempted"].to_numpy(dtype=bool)
        usable = attempted & ~self.frame["censored"].to_numpy(dtype=bool)
        where = self.frame.groupby("label", sort=False, observed=True).indices
        for kind, mask in (("tried", attempted), ("usable", usable)):
            parts = {str(label): positions[mask[positions]] for label, positions in where.items()}
            order = sorted((p for p in parts.items() if p[1].size), key=lambda p: p[1][0])
            out[kind] = {None: np.flatnonzero(mask), **dict(order)}
        return out

    def _part(self, kind: str, label: str | None) -> pd.DataFrame:
        """The group's ``kind`` rows (of ``label`` if given): a slice of the frame, sharing its
        columns, when they are contiguous (a label's runs are, and are mostly all attempted);
        a copy made for the caller otherwise. Copies held through the report were 10^5 runs'
        rows over again (150 MB at 2 * 10^5 records), for callers that read two columns."""
        positions = self._positions[kind].get(label)
        if positions is None:
            return self.frame.iloc[:0]
        if positions.size and positions[-1] - positions[0] + 1 == positions.size:
            return self.frame.iloc[int(positions[0]):int(positions[-1]) + 1]
        return self.frame.iloc[positions]

    @functools.cached_property
    def _seed_costs(self) -> dict[tuple[str, bool], pd.DataFrame]:
        return {}

    @functools.cached_property
    def _level_runtimes(self) -> dict[tuple[str, str], list[np.ndarray]]:
        return {}

    def level_runtimes(self, label: str, axis: CostAxis) -> list[np.ndarray]:
        """Per target level, the cost at which each attempted run of ``label`` met it
        (:meth:`TargetLevel.runtime`), computed once: the headline and both ECDF panels ask.
        Each run's trace columns are read once for every level, not once per level."""
        if (label, axis) not in self._level_runtimes:
            runs = self.attempted(label)
            out = [np.empty(len(runs)) for _ in self.levels]
            for k, r in enumerate(runs):
                columns: dict[str, np.ndarray] = {}
                for level, costs in zip(self.levels, out, strict=True):
                    if level.own:
                        costs[k] = cost_to_target(r, axis)
                        continue
                    if level.metric not in columns:
                        columns[level.metric] = trace_column(r, level.metric)
                    hit = np.flatnonzero(columns[level.metric] <= level.value)
                    if hit.size == 0:  # first_hit's answer, from the columns read once
                        costs[k] = math.inf
                        continue
                    if TRACE_FIELD[axis] not in columns:
                        columns[TRACE_FIELD[axis]] = trace_column(r, TRACE_FIELD[axis])
                    costs[k] = float(columns[TRACE_FIELD[axis]][int(hit[0])])
            self._level_runtimes[label, axis] = out
        return self._level_runtimes[label, axis]

    def seed_costs(self, axis: CostAxis = "evaluations", *, floor: bool = True) -> pd.DataFrame:
        """The usable runs' costs to target by seed x label (:func:`paired_costs` of this group
        alone), computed once: the verdict pairs each pick with each rival, in both arms."""
        if (axis, floor) not in self._seed_costs:
            self._seed_costs[axis, floor] = paired_costs(
                [self], list(self.runs), axis, usable_only=True, floor=floor)
        return self._seed_costs[axis, floor]

    def tried(self, label: str | None = None) -> pd.DataFrame:
        """The rows of the group's attempted runs (of ``label`` if given), censored ones
        included."""
        return self._part("tried", label)

    def usable(self, label: str | None = None) -> pd.DataFrame:
        """The group's attempted runs not censored by time (of ``label`` if given), as rows."""
        return self._part("usable", label)

    @property
    def kind(self) -> str:
        if self.task_obj is not None:
            return self.task_obj.kind
        if "return" in self.first.final_train:
            return "control"
        return "classification" if "accuracy" in self.first.final_train else "regression"

    @property
    def target_metric(self) -> str:
        """The trace field the task's loss threshold is on: ``mse`` or ``loss``."""
        return self.levels[-1].metric if self.levels else "loss"

    @property
    def target_value(self) -> float | None:
        """The loss threshold of the task's own target (``None`` if it has none)."""
        return self.levels[-1].value if self.levels else None


def _solver_rank(frame: pd.DataFrame) -> pd.Series:
    """Each row's solver's place in the registry (unknown solvers last)."""
    order = {name: i for i, name in enumerate(SOLVERS)}
    return frame["solver"].astype(str).map(lambda s: order.get(s, len(order)))


#: Text columns of the runs frame that only the whole-study sections read (accounting,
#: environment, cell counts): a group's copy of them was 50 MB at 2 * 10^5 records.
_WHOLE_FRAME_ONLY = frozenset({"timestamp", "group_key", "iteration_unit", "model"})


def group_records(
    records: Sequence[RunRecord], frame: pd.DataFrame | None = None
) -> list[TaskGroup]:
    """Group records by (task, options) in order of first appearance; within a group, solver
    labels in registry order and each label's runs by seed (``frame``: the records' runs frame,
    built here if not given)."""
    frame = runs_frame(records) if frame is None else frame
    group_of = frame.groupby("group_key", sort=False).ngroup()
    # A group's rows carry what the per-task tables and figures read; the configuration, task
    # option and environment columns (most of the frame's width) stay in the whole frame,
    # since every selection of a group's rows copies each column it has.
    frame = frame.drop(columns=[c for c in frame.columns
                                if c.startswith(("config.", "task.", "environment."))
                                or c in _WHOLE_FRAME_ONLY])
    frame = frame.assign(label=frame["label"].astype(str))
    # Groups in order of first appearance; within one, rows by solver rank, label, then seed.
    # The sort orders four key columns and each group takes its own rows once: sorting the
    # whole frame would copy every row twice more (10^5 of them in a large study).
    keys = pd.DataFrame({"_group": group_of,
                         "_rank": _solver_rank(frame), "label": frame["label"],
                         "seed": frame["seed"]})
    keys = keys.sort_values(["_group", "_rank", "label", "seed"], kind="stable")
    out: list[TaskGroup] = []
    for _, order in keys.groupby("_group", sort=False):
        rows = frame.loc[order.index]
        first = records[rows.index.min()]
        group = TaskGroup(
            name=str(rows["group"].iloc[0]), task=first.task, options=dict(first.task_options),
            frame=rows, records=records,
        )
        rebuilt = rebuild_task_or_reason(group.first)
        if isinstance(rebuilt, str):
            group.task_error = rebuilt
        else:
            group.task_obj = rebuilt
        group.levels = target_levels(group)
        out.append(group)
    return out


def solver_order(groups: Sequence[TaskGroup]) -> list[str]:
    """Every solver label of the report, registry order first, then by name."""
    if not groups:
        return []
    frame = pd.concat([g.frame[["solver", "label"]] for g in groups])  # not every column
    labels = frame.assign(_rank=_solver_rank(frame), label=frame["label"].astype(str))
    labels = labels.drop_duplicates("label").sort_values(["_rank", "label"], kind="stable")
    return labels["label"].tolist()


# --------------------------------------------------------------------------------------------
# Target levels
# --------------------------------------------------------------------------------------------

_THRESHOLD = re.compile(r"train (MSE|loss) <= ([0-9.eE+-]+)")


def _own_threshold(group: TaskGroup) -> tuple[str, float | None]:
    target = group.task_obj.target if group.task_obj is not None else None
    if target is not None:
        if target.max_mse is not None:
            return "mse", float(target.max_mse)
        if target.max_loss is not None:
            return "loss", float(target.max_loss)
        return "loss", None
    match = _THRESHOLD.search(group.first.target)
    if match:
        return ("mse" if match.group(1) == "MSE" else "loss"), float(match.group(2))
    return "loss", None


def target_levels(group: TaskGroup) -> list[TargetLevel]:
    """The targets of a task for the ECDFs, easiest first, the task's own target last.

    How they are derived: ``L_t`` is the loss threshold of the task's own target (its
    ``max_mse`` or ``max_loss``; for an accuracy-only target, the median training loss at which
    the successful runs met it, or the best final loss when none did). ``L_0`` is the median
    starting loss over all runs (trace point 0). The easier levels are ``EASIER_LEVELS``
    log-spaced thresholds strictly between ``L_0`` and ``L_t`` on the same metric, reached when a
    trace point is at or below them. The own target is the harness's exact record (it may also
    require an accuracy).
    """
    metric, level = _own_threshold(group)
    runs = group.all_attempted()
    # The runs' traces as columns (10^5 runs' trace points as objects would take minutes).
    lengths, (values, iteration), (present, _) = trace_columns(runs, [metric, "iteration"])
    begin = np.cumsum(lengths) - lengths
    if level is None:
        # The metric where a successful run's trace reached its target iteration.
        hit_at = np.array([r.iterations_to_target if r.success else math.nan for r in runs],
                          dtype=float)
        at_hit = values[present & (iteration == np.repeat(hit_at, lengths))].tolist()
        finals = [r.final_train.get(metric, math.nan) for r in runs]
        finite = [v for v in finals if math.isfinite(v)]
        level = float(np.median(at_hit)) if at_hit else (min(finite) if finite else math.nan)
    own = TargetLevel(
        label=f"own target ({group.first.target})", metric=metric, value=level, own=True
    )
    firsts = values[begin[lengths > 0]]  # trace point 0 of each run; NaN where absent
    starts = [s for s in firsts.tolist() if math.isfinite(s) and s > 0]
    if not starts or not math.isfinite(level) or level <= 0:
        return [own]
    start = float(np.median(starts))
    if start <= level:
        return [own]
    ratio = level / start
    easier = [
        TargetLevel(
            label=f"{metric} <= {start * ratio ** (j / (EASIER_LEVELS + 1)):.3g}",
            metric=metric,
            value=start * ratio ** (j / (EASIER_LEVELS + 1)),
            own=False,
        )
        for j in range(1, EASIER_LEVELS + 1)
    ]
    return [*easier, own]


# --------------------------------------------------------------------------------------------
# Across tasks
# --------------------------------------------------------------------------------------------


def ert_inputs(rows: pd.DataFrame, axis: CostAxis) -> tuple[np.ndarray, np.ndarray]:
    """``(costs, successes)`` of runs for ERT: the cost to target where a run succeeded,
    everything it spent where it did not (COCO's aRT counts failed runs' whole cost)."""
    ok = rows["success"].to_numpy(dtype=bool)
    spent = rows["solver_seconds" if axis == "seconds" else axis].to_numpy(dtype=float)
    return np.where(ok, rows[f"cost_to_target.{axis}"].astype(float).to_numpy(), spent), ok


def success_grid(
    groups: Sequence[TaskGroup], labels: Sequence[str], missing: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Success rates (label x group, NaN where a label did not run) and their ``k/n`` texts
    (``missing`` where it did not run), over attempted runs, for the success heatmaps."""
    rows = pd.concat([g.frame.loc[g.frame["attempted"], ["label", "success"]].assign(group=g.name)
                      for g in groups])  # two columns, not a copy of every one
    counts = rows.pivot_table(index="label", columns="group", values="success",
                              aggfunc=["sum", "count"], observed=True)
    names = [g.name for g in groups]
    ok = counts["sum"].reindex(index=list(labels), columns=names)
    n = counts["count"].reindex(index=list(labels), columns=names)
    notes = (ok.astype("Int64").astype(str) + "/" + n.astype("Int64").astype(str)).where(
        n.notna(), missing)
    return (ok / n).astype(float), notes


def runtime_problems(groups: Sequence[TaskGroup], label: str, axis: CostAxis) -> list[np.ndarray]:
    """Per (task, target) pair, the runtimes of ``label``'s runs (empty when it did not run)."""
    return [runtimes for g in groups for runtimes in g.level_runtimes(label, axis)]


@dataclass(frozen=True)
class Blocks:
    """Paired costs to target: one row per (task, seed), one column per solver label.

    ``NaN`` marks a cell without a run (the solver was not run on that task or seed, or did not
    support it); ``inf`` a run that missed the target.
    """

    labels: list[str]
    rows: list[tuple[str, int]]
    costs: np.ndarray

    def complete(self) -> np.ndarray:
        """Rows where every label has a run."""
        return self.costs[~np.isnan(self.costs).any(axis=1)] if self.costs.size else self.costs

    def pair(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows where both labels ``i`` and ``j`` have a run."""
        both = ~np.isnan(self.costs[:, i]) & ~np.isnan(self.costs[:, j])
        return self.costs[both, i], self.costs[both, j]


def paired_costs(
    groups: Sequence[TaskGroup],
    labels: Sequence[str],
    axis: CostAxis = "evaluations",
    *,
    usable_only: bool = False,
    floor: bool = True,
) -> pd.DataFrame:
    """Costs to target by (task group, seed) x solver label: the one pairing of runs by seed.

    Rows are every seed any label attempted on the group (groups in order, seeds ascending);
    ``NaN`` where a label has no run, ``inf`` where it missed. ``usable_only`` leaves out runs
    censored by time; ``floor`` raises costs to :data:`COST_FLOOR` (for ratios and log axes).
    """
    column = f"cost_to_target.{axis}"
    frames = [(g.usable() if usable_only else g.tried())[["seed", "label", column]]
              .assign(group=g.name) for g in groups if not g.frame.empty]
    index = pd.MultiIndex.from_tuples(
        [(str(f["group"].iloc[0]), int(s)) for f in frames if not f.empty
         for s in sorted(set(f["seed"]))], names=["group", "seed"])
    rows = pd.concat(frames) if frames else pd.DataFrame(columns=["group", "seed", "label", column])
    cost = rows[column].astype("float64").fillna(math.inf)
    if floor:
        cost = cost.clip(lower=COST_FLOOR[axis])
    table = rows.assign(cost=cost)[rows["label"].isin(list(labels))].pivot_table(
        index=["group", "seed"], columns="label", values="cost", aggfunc="last", observed=True)
    return table.reindex(index=index, columns=list(labels)).astype(float)


def paired_blocks(groups: Sequence[TaskGroup], labels: Sequence[str], axis: CostAxis) -> Blocks:
    """Costs to target by (task, seed) x solver label, floored at :data:`COST_FLOOR`."""
    table = paired_costs(groups, labels, axis)
    return Blocks(list(labels), [(str(g), int(s)) for g, s in table.index],
                  table.to_numpy(dtype=float).reshape(len(table), len(labels)))


def varying_knobs(groups: Sequence[TaskGroup]) -> list[tuple[str, str, list[TaskGroup], str]]:
    """Scaling series: ``(task, knob, groups ordered by knob value, fixed-options text)``.

    The fixed-options text names the options held fixed that differ from the task's defaults.

    A knob is a task option that takes at least two values among groups of the same task whose
    other options are all equal (so the series varies one thing at a time).
    """
    series: list[tuple[str, str, list[TaskGroup], str]] = []
    tasks = pd.Series(list(groups), index=[g.task for g in groups], dtype=object)
    for task, gs in tasks.groupby(level=0, sort=False):
        if len(gs) < 2:
            continue
        for knob in sorted({k for g in gs for k in g.options if k not in DERIVED_OPTIONS}):
            # Groups whose other options are all equal form one series along the knob (options
            # derived from the knobs, such as a module's parameter shapes, are not compared).
            rest = [repr(freeze({k: v for k, v in g.options.items()
                                 if k != knob and k not in DERIVED_OPTIONS})) for g in gs]
            for _, series_groups in pd.Series(list(gs), dtype=object).groupby(rest, sort=False):
                members = list(series_groups)
                if len({freeze(m.options.get(knob)) for m in members}) < 2:
                    continue
                members.sort(key=lambda m: _knob_sort_key(m.options.get(knob)))
                # Name only the fixed options that differ from the task's defaults.
                defaults = default_options(str(task))
                fixed = ", ".join(
                    f"{k}={format_option(v)}"
                    for k, v in freeze({k: v for k, v in members[0].options.items() if k != knob})
                    if k not in DERIVED_OPTIONS and v != defaults.get(k))
                series.append((str(task), knob, members, fixed))
    return series


def _knob_sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
        return (1, (len(value), tuple(value)))
    return (2, str(value))


def knob_numeric(value: Any) -> float | None:
    """A knob value as a number for a plot axis: ints and floats as is, a width list as its sum."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return float(sum(value)) if len(value) > 1 else float(value[0])
    return None


def bootstrap_seed(*parts: str) -> int:
    """A stable bootstrap seed from names (CRC32), so every interval is reproducible and a
    table and a figure showing the same interval draw the same resamples."""
    return zlib.crc32("|".join(parts).encode())


def quality_metric(group: TaskGroup) -> tuple[str, str, bool]:
    """The held-out quality the fixed-budget view shows: (trace field, title, higher is better).

    Test accuracy for classification with a split, test MSE for regression with a split, the
    mean return on the test episodes for control tasks (``test_return``: minus the trace's
    ``test_loss``), and the training loss of the target otherwise (logic gates and parity have
    no held-out data).
    """
    split = group.task_obj.has_split if group.task_obj is not None else True
    if group.kind == "control":
        # The loss of a control task is minus its mean return: show the return itself.
        if split:
            return "test_return", "test mean return", True
        return "return", "mean return", True
    if split and group.kind == "classification":
        return "test_accuracy", "test accuracy", True
    if split:
        return "test_mse", "test MSE", False
    metric = group.target_metric
    return metric, f"training {'MSE' if metric == 'mse' else metric}", False


#: A final-state column: (heading, column of the runs frame, the value a diverged run counts as).
Column = tuple[str, str, float]
#: What a run with a non-finite return counts as in a return column (a sentinel, printed).
WORST_RETURN = -1e300


def final_columns(group: TaskGroup, split: bool) -> list[Column]:
    """The final-state table's metric columns: accuracy and loss for classification, MSE for
    regression; for a control task (whose ``mse`` is NaN and whose loss is minus its mean
    return) the mean return on the evaluation episodes (the target's) and on the test
    episodes. Test columns only where the task has a held-out split."""
    if group.kind == "control":
        named = [("mean return, evaluation episodes", "final_train.return", WORST_RETURN),
                 ("mean return, test episodes", "final_test.return", WORST_RETURN)]
    elif group.kind == "classification":
        named = [("train accuracy", "final_train.accuracy", 0.0),
                 ("test accuracy", "final_test.accuracy", 0.0),
                 ("train loss", "final_train.loss", math.inf)]
    else:
        named = [("train MSE", "final_train.mse", math.inf),
                 ("test MSE", "final_test.mse", math.inf)]
    return [c for c in named if split or not c[1].startswith("final_test.")]


def data_sentence(group: TaskGroup, n_train: int) -> str:
    """What the task's ``n_train`` is, in the per-task header: training examples, or for a control
    task the environment steps of its training episodes (and that evaluations are steps)."""
    task = group.task_obj
    if group.kind != "control":
        return f"{n_train} training examples"
    episodes = len(getattr(task, "train_states", ())) if task is not None else 0
    env = getattr(task, "environment", None)
    steps = getattr(env, "max_steps", None)
    shape = (f"{episodes} training episodes of at most {steps} environment steps"
             if episodes and steps else f"at most {n_train} environment steps per training loss")
    return (f"{shape}; one evaluation is one environment step of one policy, so every "
            "evaluation count for this task is in environment steps")
