"""The report's data layer: records grouped by task and solver, costs, target levels, runtimes.

Both the tables (``benchmarks/report/document.py``) and the figures
(``benchmarks/report/figures/``) read the records through this module, so a number in a table
and the same number in a picture cannot disagree.

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
import json
import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from benchmarks.records import RunRecord
from benchmarks.suites import PER_SEED, resolve_options
from solvers import SOLVERS
from solvers.base import REFERENCE
from tasks import get_task
from tasks.base import Task
from tasks.errors import BenchmarkError

CostAxis = Literal["iterations", "evaluations", "seconds"]
AXES: tuple[CostAxis, ...] = ("iterations", "evaluations", "seconds")
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


# --------------------------------------------------------------------------------------------
# Single records
# --------------------------------------------------------------------------------------------


#: Stop reasons that mean the machine's clock, not the algorithm, ended the run.
CENSORING = frozenset({"max_seconds", "timeout"})


def censored(record: RunRecord) -> bool:
    """Whether the seconds safety net (or the engine's wall-clock limit) ended the run before
    the target: such a run says nothing about the algorithm and is reported apart."""
    return record.stop_reason in CENSORING and not record.success


def base_solver(label: str) -> str:
    """``adam [tuned]`` -> ``adam``: the solver behind a label."""
    return label.split(" [", 1)[0]


def is_reference(label: str) -> bool:
    """Whether a label's solver is a reference line (``paradigm == "reference"``, e.g.
    ``sklearn-mlp``): shown next to the others, left out of comparisons and the verdict."""
    cls = SOLVERS.get(base_solver(label))
    return cls is not None and cls.paradigm == REFERENCE


def ran(record: RunRecord) -> bool:
    """Whether the run was attempted (not skipped as unsupported by the solver)."""
    return record.stop_reason != "unsupported"


def spent(record: RunRecord, axis: CostAxis) -> float:
    """Everything the run spent on an axis, whether or not it reached the target."""
    if axis == "iterations":
        return float(record.iterations)
    if axis == "evaluations":
        return float(record.evaluations)
    return float(record.solver_seconds)


def cost_to_target(record: RunRecord, axis: CostAxis) -> float:
    """The cost at which the run first met the task's target; ``inf`` when it never did."""
    value = {
        "iterations": record.iterations_to_target,
        "evaluations": record.evaluations_to_target,
        "seconds": record.seconds_to_target,
    }[axis]
    return math.inf if value is None else float(value)


def ert_cost(record: RunRecord, axis: CostAxis) -> float:
    """A run's contribution to ERT: cost to target if it succeeded, everything it spent if not."""
    return cost_to_target(record, axis) if record.success else spent(record, axis)


def trace_column(record: RunRecord, name: str) -> np.ndarray:
    """One field of the trace as a float array (NaN where missing, e.g. accuracy on regression)."""
    return np.array(
        [math.nan if p.get(name) is None else float(p[name]) for p in record.trace], dtype=float
    )


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
    return float(record.trace[int(hit[0])][TRACE_FIELD[axis]])


# --------------------------------------------------------------------------------------------
# Tasks and labels
# --------------------------------------------------------------------------------------------


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


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
    so options the factory does not accept are retried without.
    """
    options = resolve_options(dict(record.task_options), record.seed)
    task = _task_cached(record.task, _freeze(options))
    if isinstance(task, str) and "gate" in options:
        options.pop("gate")
        task = _task_cached(record.task, _freeze(options))
    return task


def rebuild_task(record: RunRecord) -> Task | None:
    """The record's task rebuilt from its name and options; ``None`` if it no longer builds."""
    task = rebuild_task_or_reason(record)
    return None if isinstance(task, str) else task


@functools.lru_cache(maxsize=64)
def _default_options(name: str) -> tuple[tuple[str, Any], ...]:
    try:
        return _freeze(dict(get_task(name).options))
    except (BenchmarkError, TypeError, ValueError):
        return ()


def solver_defaults() -> dict[str, dict[str, Any]]:
    """Each registered solver's default configuration."""
    return {name: cls().config() for name, cls in SOLVERS.items()}


def solver_label(record: RunRecord, defaults: dict[str, dict[str, Any]]) -> str:
    """The solver's name, with the hyperparameters that differ from its defaults.

    A tuned run is ``name [tuned]`` whatever its configuration: the tuned arm's configuration
    differs per task, and one label keeps the arm one row across tasks.
    """
    if record.arm != "defaults":
        return f"{record.solver} [{record.arm}]"
    base = defaults.get(record.solver, {})
    diff = {k: v for k, v in record.config.items() if base.get(k, v) != v}
    if not diff:
        return record.solver
    return record.solver + " (" + ", ".join(f"{k}={v}" for k, v in diff.items()) + ")"


def slugify(text: str) -> str:
    """A file-name-safe form of a label."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


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
    """All runs of one task with one set of options, split by solver label."""

    name: str
    task: str
    options: dict[str, Any]
    runs: dict[str, list[RunRecord]] = field(default_factory=dict)
    task_obj: Task | None = None
    #: Why ``task_obj`` is ``None`` (the task no longer builds from the recorded options).
    task_error: str = ""
    levels: list[TargetLevel] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return slugify(self.name)

    @property
    def first(self) -> RunRecord:
        return next(iter(self.runs.values()))[0]

    def attempted(self, label: str) -> list[RunRecord]:
        """Runs of a solver label that were attempted (unsupported ones left out)."""
        return [r for r in self.runs.get(label, []) if ran(r)]

    def all_attempted(self) -> list[RunRecord]:
        return [r for label in self.runs for r in self.attempted(label)]

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


def group_name(task: str, options: dict[str, Any], always: frozenset[str] = frozenset()) -> str:
    """``parity (num_bits=4)``: the task with the options that differ from its defaults, plus
    the ``always`` ones (knobs that vary between groups of the same task, so a sweep's default
    value is named too)."""
    defaults = dict(_default_options(task))
    shown = {
        k: v
        for k, v in options.items()
        if k != "gate" and v != PER_SEED and (k in always or _freeze(v) != defaults.get(k))
    }
    if not shown:
        return task
    return f"{task} ({', '.join(f'{k}={_fmt_option(v)}' for k, v in sorted(shown.items()))})"


def _fmt_option(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def group_records(records: Sequence[RunRecord]) -> list[TaskGroup]:
    """Group records by (task, options) in order of first appearance; solvers in registry order."""
    defaults = solver_defaults()
    order = {name: i for i, name in enumerate(SOLVERS)}
    groups: dict[str, TaskGroup] = {}
    for r in records:
        key = json.dumps([r.task, _freeze(r.task_options)], default=str)
        group = groups.get(key)
        if group is None:
            group = TaskGroup(
                name=group_name(r.task, r.task_options), task=r.task, options=dict(r.task_options)
            )
            groups[key] = group
        group.runs.setdefault(solver_label(r, defaults), []).append(r)
    out = list(groups.values())
    by_task: dict[str, list[TaskGroup]] = {}
    for g in out:
        by_task.setdefault(g.task, []).append(g)
    for gs in by_task.values():
        if len(gs) > 1:
            keys = {k for g in gs for k in g.options}
            varying = frozenset(
                k
                for k in keys
                if len({json.dumps(_freeze(g.options.get(k)), default=str) for g in gs}) > 1
            )
            for g in gs:
                g.name = group_name(g.task, g.options, varying)
    # Two option sets can print the same name (e.g. options no longer in the factory): keep them
    # apart by numbering, so files and headings stay unique.
    seen: dict[str, int] = {}
    for g in out:
        seen[g.name] = seen.get(g.name, 0) + 1
        if seen[g.name] > 1:
            g.name = f"{g.name} #{seen[g.name]}"
        g.runs = dict(
            sorted(g.runs.items(), key=lambda kv: (order.get(kv[1][0].solver, len(order)), kv[0]))
        )
        for runs in g.runs.values():
            runs.sort(key=lambda r: r.seed)
        rebuilt = rebuild_task_or_reason(g.first)
        if isinstance(rebuilt, str):
            g.task_error = rebuilt
        else:
            g.task_obj = rebuilt
        g.levels = target_levels(g)
    return out


def solver_order(groups: Sequence[TaskGroup]) -> list[str]:
    """Every solver label of the report, registry order first, then order of appearance."""
    order = {name: i for i, name in enumerate(SOLVERS)}
    labels: dict[str, str] = {}
    for g in groups:
        for label, runs in g.runs.items():
            labels.setdefault(label, runs[0].solver)
    return sorted(labels, key=lambda lab: (order.get(labels[lab], len(order)), lab))


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
    if level is None:
        at_hit = [
            float(p[metric])
            for r in runs
            if r.success
            for p in r.trace
            if p.get("iteration") == r.iterations_to_target and p.get(metric) is not None
        ]
        finals = [r.final_train.get(metric, math.nan) for r in runs]
        finite = [v for v in finals if math.isfinite(v)]
        level = float(np.median(at_hit)) if at_hit else (min(finite) if finite else math.nan)
    own = TargetLevel(
        label=f"own target ({group.first.target})", metric=metric, value=level, own=True
    )
    starts = [
        float(r.trace[0][metric]) for r in runs if r.trace and r.trace[0].get(metric) is not None
    ]
    starts = [s for s in starts if math.isfinite(s) and s > 0]
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


def runtime_problems(groups: Sequence[TaskGroup], label: str, axis: CostAxis) -> list[np.ndarray]:
    """Per (task, target) pair, the runtimes of ``label``'s runs (empty when it did not run)."""
    problems: list[np.ndarray] = []
    for g in groups:
        runs = g.attempted(label)
        for level in g.levels:
            problems.append(np.array([level.runtime(r, axis) for r in runs], dtype=float))
    return problems


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


def paired_blocks(groups: Sequence[TaskGroup], labels: Sequence[str], axis: CostAxis) -> Blocks:
    """Costs to target by (task, seed) x solver label, floored at :data:`COST_FLOOR`."""
    rows: list[tuple[str, int]] = []
    table: list[list[float]] = []
    for g in groups:
        seeds = sorted({r.seed for lab in g.runs for r in g.attempted(lab)})
        by_label = {lab: {r.seed: r for r in g.attempted(lab)} for lab in labels}
        for seed in seeds:
            row = []
            for lab in labels:
                rec = by_label[lab].get(seed)
                row.append(
                    math.nan if rec is None else max(cost_to_target(rec, axis), COST_FLOOR[axis])
                )
            rows.append((g.name, seed))
            table.append(row)
    costs = np.array(table, dtype=float).reshape(len(rows), len(labels))
    return Blocks(list(labels), rows, costs)


def varying_knobs(groups: Sequence[TaskGroup]) -> list[tuple[str, str, list[TaskGroup], str]]:
    """Scaling series: ``(task, knob, groups ordered by knob value, fixed-options text)``.

    The fixed-options text names the options held fixed that differ from the task's defaults.

    A knob is a task option that takes at least two values among groups of the same task whose
    other options are all equal (so the series varies one thing at a time).
    """
    by_task: dict[str, list[TaskGroup]] = {}
    for g in groups:
        by_task.setdefault(g.task, []).append(g)
    series: list[tuple[str, str, list[TaskGroup], str]] = []
    for task, gs in by_task.items():
        if len(gs) < 2:
            continue
        keys = sorted({k for g in gs for k in g.options})
        for knob in keys:
            buckets: dict[Any, list[TaskGroup]] = {}
            for g in gs:
                rest = _freeze({k: v for k, v in g.options.items() if k != knob})
                buckets.setdefault(rest, []).append(g)
            for rest, members in buckets.items():
                values = {_freeze(m.options.get(knob)) for m in members}
                if len(values) < 2:
                    continue
                members = sorted(members, key=lambda m: _knob_sort_key(m.options.get(knob)))
                # Name only the fixed options that differ from the task's defaults.
                defaults = dict(_default_options(task))
                fixed = ", ".join(
                    f"{k}={_fmt_option(v)}" for k, v in rest if k != "gate" and v != defaults.get(k)
                )
                series.append((task, knob, members, fixed))
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


#: A final-state column: (heading, value of a record, the value a diverged run counts as).
Column = tuple[str, Callable[[RunRecord], float], float]
#: What a run with a non-finite return counts as in a return column (a sentinel, printed).
WORST_RETURN = -1e300


def control_columns(group: TaskGroup, split: bool) -> list[Column] | None:
    """The final-state table's metric columns for a control task, ``None`` for other tasks.

    A control task's ``mse`` is NaN and its loss is minus its mean return, so the table shows
    the mean return on the evaluation episodes (the target's) and on the held-out test episodes.
    """
    if group.kind != "control":
        return None
    columns: list[Column] = [
        ("mean return, evaluation episodes",
         lambda r: r.final_train.get("return", math.nan), WORST_RETURN),
    ]
    if split:
        columns.append(("mean return, test episodes",
                        lambda r: r.final_test.get("return", math.nan), WORST_RETURN))
    return columns


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
