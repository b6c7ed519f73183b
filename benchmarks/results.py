"""Run records as data: one tidy pandas frame of runs, one long frame of trace points.

The records files (``results/raw/<suite>.jsonl``) hold nested JSON: the task's options, the
solver's configuration and the final metrics are objects inside each record. Users of this
benchmark ask their own questions of them in notebooks (success by width, cost against seed, a
plot the report does not draw), and the convention there is a tidy frame: one row per run, one
column per variable, which seaborn plots directly and a CSV carries anywhere. This module is
that frame, and the report reads the same frame (``benchmarks/report/analysis.py``), so a
number a user computes and the number in the report come from one place.

>>> from benchmarks.results import load_runs
>>> runs = load_runs("results/reference/raw/default.jsonl")
>>> runs.groupby(["group", "label"], observed=True)["success"].mean()

Column names are stable (the README lists them); nested fields are flattened with a dot:

* every scalar field of :class:`~benchmarks.records.RunRecord` under its own name (``seed``,
  ``stop_reason``, ``evaluations``, ``solver_seconds``, ``evaluations_to_target`` ...);
* ``task.<option>`` (the task's options, e.g. ``task.num_bits``), ``config.<hyperparameter>``,
  ``budget.<limit>``, ``final_train.<metric>``, ``final_test.<metric>``,
  ``extra_metrics.<name>``, ``selected.<field>`` (the best-validation checkpoint,
  ``selected.test.accuracy``), ``environment.<field>`` (``environment.versions.torch``);
* derived columns, computed exactly as the report computes them: ``paradigm`` (the solver's
  declared paradigm), ``label`` (the solver with the hyperparameters that differ from its
  defaults, or ``name [tuned]``), ``group`` (the task with the options that differ from its
  defaults, or that vary between the records' groups of the same task), ``attempted`` (not
  skipped as unsupported), ``success``, ``censored`` (ended by the seconds safety net before the
  target), and ``cost_to_target.iterations`` / ``.evaluations`` / ``.seconds`` (``<NA>`` when the
  target was missed: a miss is never coded as a cost).

Categorical columns: ``suite``, ``task``, ``solver``, ``arm``, ``paradigm``, ``label``,
``group``, ``stop_reason``. Counts that may be missing are nullable integers (``Int64``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import pandas as pd

from benchmarks.record_table import table_rows
from benchmarks.records import RunRecord, read_records
from benchmarks.suites import PER_SEED
from solvers import SOLVERS
from solvers.base import REFERENCE
from tasks import TASKS

CostAxis = Literal["iterations", "evaluations", "seconds"]
AXES: tuple[CostAxis, ...] = ("iterations", "evaluations", "seconds")
#: Stop reasons that mean the machine's clock, not the algorithm, ended the run.
CENSORING = frozenset({"max_seconds", "timeout"})
#: Columns stored as categoricals (few distinct values, used to group).
CATEGORICAL = ("suite", "task", "solver", "arm", "paradigm", "label", "group", "stop_reason")
#: The record's nested objects that become dotted columns, and the prefix each gets.
NESTED = {
    "task_options": "task",
    "config": "config",
    "budget": "budget",
    "final_train": "final_train",
    "final_test": "final_test",
    "extra_metrics": "extra_metrics",
    "selected": "selected",
    "environment": "environment",
}
#: Record fields that are not columns of the runs frame (see :func:`load_trace`).
NOT_COLUMNS = frozenset({"trace", "final_params"})
#: Fields of the long trace frame that identify the run a trace point belongs to.
TRACE_ID = ("key", "suite", "task", "group", "solver", "label", "arm", "paradigm", "seed")

#: Nested fields whose objects repeat between records (flattened once per object).
_REPEATING = frozenset({"task_options", "config", "budget", "environment"})
#: The record fields that become columns, in their order.
_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord) if f.name not in NOT_COLUMNS)

_TO_TARGET: dict[str, str] = {
    "iterations": "iterations_to_target",
    "evaluations": "evaluations_to_target",
    "seconds": "seconds_to_target",
}


class UnreadableRecordWarning(UserWarning):
    """A line of a records file that could not be read and was skipped (file and line named)."""


# --------------------------------------------------------------------------------------------
# One record
# --------------------------------------------------------------------------------------------


def censored(record: RunRecord) -> bool:
    """Whether the seconds safety net (or the engine's wall-clock limit) ended the run before
    the target: such a run says nothing about the algorithm and is reported apart."""
    return record.stop_reason in CENSORING and not record.success


def cost_to_target(record: RunRecord, axis: CostAxis) -> float:
    """The cost at which the run first met the task's target; ``inf`` when it never did."""
    value = getattr(record, _TO_TARGET[axis])
    return math.inf if value is None else float(value)


def spent(record: RunRecord, axis: CostAxis) -> float:
    """Everything the run spent on an axis, whether or not it reached the target."""
    if axis == "seconds":
        return float(record.solver_seconds)
    return float(getattr(record, axis))


def ert_cost(record: RunRecord, axis: CostAxis) -> float:
    """A run's contribution to ERT: cost to target if it succeeded, everything it spent if not."""
    return cost_to_target(record, axis) if record.success else spent(record, axis)


def base_solver(label: str) -> str:
    """``adam [tuned]`` -> ``adam``: the solver behind a label."""
    return label.split(" [", 1)[0]


def is_reference(label: str) -> bool:
    """Whether a label's solver is a reference line (``paradigm == "reference"``, e.g.
    ``sklearn-mlp``): shown next to the others, left out of comparisons and the verdict."""
    cls = SOLVERS.get(base_solver(label))
    return cls is not None and cls.paradigm == REFERENCE


def solver_label(record: RunRecord, defaults: dict[str, dict[str, Any]]) -> str:
    """The solver's name, with the hyperparameters that differ from its defaults.

    A tuned run is ``name [tuned]`` whatever its configuration: the tuned arm's configuration
    differs per task, and one label keeps the arm one row across tasks.
    """
    if record.arm != "defaults":
        return f"{record.solver} [{record.arm}]"
    base = defaults.get(record.solver, {})
    # An option the defaults leave out (``clip_norm`` while off) is a difference, for a solver
    # whose defaults are known.
    diff = {k: v for k, v in record.config.items()
            if base.get(k, v) != v or (base and k not in base)}
    if not diff:
        return record.solver
    return record.solver + " (" + ", ".join(f"{k}={v}" for k, v in diff.items()) + ")"


def solver_defaults() -> dict[str, dict[str, Any]]:
    """Each registered solver's default configuration."""
    return {name: cls().config() for name, cls in SOLVERS.items()}


# --------------------------------------------------------------------------------------------
# Task groups: a task with one set of options
# --------------------------------------------------------------------------------------------


def freeze(value: Any) -> Any:
    """A hashable, order-independent form of a JSON-shaped value (options compare by it)."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


#: Options a task records that no knob sets, so they never name a group: a logic task's
#: ``gate``, and a torch module's ``network`` (``ModuleSpec.record()``: class, parameter shapes
#: and count, which follow from the knobs).
DERIVED_OPTIONS: frozenset[str] = frozenset({"gate", "network"})


@functools.cache
def default_options(task: str) -> dict[str, Any]:
    """The task's default options, frozen (empty for a task no longer registered).

    Read from its factory's keyword defaults, which are the options a task built without any
    (tested for every registered task): building the task would load its data set, which
    cost a third of a second per results frame.
    """
    factory = TASKS.get(task)
    if factory is None:
        return {}
    return dict(freeze({k: p.default for k, p in inspect.signature(factory).parameters.items()
                        if p.default is not inspect.Parameter.empty}))


def format_option(value: Any) -> str:
    """An option value as the report prints it: a width list as ``8x8``."""
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def group_name(task: str, options: dict[str, Any], always: frozenset[str] = frozenset()) -> str:
    """``parity (num_bits=4)``: the task with the options that differ from its defaults, plus
    the ``always`` ones (knobs that vary between groups of the same task, so a sweep's default
    value is named too)."""
    defaults = default_options(task)
    shown = {
        k: v
        for k, v in options.items()
        if k not in DERIVED_OPTIONS and v != PER_SEED
        and (k in always or freeze(v) != defaults.get(k))
    }
    if not shown:
        return task
    return f"{task} ({', '.join(f'{k}={format_option(v)}' for k, v in sorted(shown.items()))})"


def _labels(records: Sequence[RunRecord], defaults: dict[str, dict[str, Any]]) -> list[str]:
    """Each record's :func:`solver_label`, made once per solver, arm and configuration object:
    records read into a table share their configurations, 10^5 records a few hundred."""
    made: dict[tuple[str, str, int], str] = {}
    out = []
    for r in records:
        # ``r.config`` stays alive in the record (or the table), so its id is not reused.
        key = (r.solver, r.arm, id(r.config))
        if key not in made:
            made[key] = solver_label(r, defaults)
        out.append(made[key])
    return out


def _group_names(records: Sequence[RunRecord]) -> tuple[list[str], list[str]]:
    """Each record's task-group key and name.

    A group is one task with one set of options. Its name shows the options that differ from
    the task's defaults, plus every option that varies between the groups of the same task in
    these records; two groups that would print alike are numbered (``#2``), so headings and
    figure files stay unique.
    """
    # Made once per task and options object (records read into a table share them).
    made: dict[tuple[str, int], str] = {}
    keys = []
    for r in records:
        given = r.task_options
        if (r.task, id(given)) not in made:
            made[r.task, id(given)] = json.dumps([r.task, freeze(given)], default=str)
        keys.append(made[r.task, id(given)])
    groups = (
        pd.DataFrame({"key": keys, "task": [r.task for r in records], "row": range(len(records))})
        .drop_duplicates("key")
        .set_index("key")
    )
    names: dict[str, str] = {}
    for task, members in groups.groupby("task", sort=False)["row"]:
        options = [records[i].task_options for i in members]
        varying = frozenset(
            k for k in {k for o in options for k in o}
            if len({json.dumps(freeze(o.get(k)), default=str) for o in options}) > 1
        ) if len(options) > 1 else frozenset()
        for key, o in zip(members.index, options, strict=True):
            names[key] = group_name(str(task), o, varying)
    counts = pd.Series(list(names.values())).groupby(list(names.values()), sort=False).cumcount()
    for (key, name), n in zip(names.items(), counts, strict=True):
        if n:
            names[key] = f"{name} #{n + 1}"
    return keys, [names[k] for k in keys]


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = value


def _typed_column(values: list[Any]) -> pd.Series | list[Any]:
    """A flattened column with a stable dtype: nullable ``Int64``, ``Float64`` or ``boolean``
    where every present value is of that kind, text as ``str``; anything mixed (an option that
    is a number in one record and a list in another) stays as Python objects."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if kinds == {bool}:
        return pd.Series(values, dtype="boolean")
    if kinds == {int}:
        return pd.Series(values, dtype="Int64")
    if kinds and kinds <= {int, float}:
        return pd.Series([math.nan if v is None else float(v) for v in values], dtype="float64")
    if kinds == {str}:
        return pd.Series(values, dtype="str")
    return pd.Series(values, dtype=object)


def _field_reader(records: Sequence[RunRecord]) -> Callable[[str], list[Any]]:
    """``field(name)``: ``[getattr(r, name) for r in records]``, read from the table's column
    when the records are views of one (a call per record and field, 10^5 records and 40
    fields, took seconds)."""
    found = table_rows(records)
    if found is None:
        return lambda name: [getattr(r, name) for r in records]
    table, rows = found
    return lambda name: table.take(name, rows)


def runs_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per record, in the order given (row ``i`` is ``records[i]``); see the module
    docstring for the columns."""
    defaults = solver_defaults()
    field = _field_reader(records)
    index = pd.RangeIndex(len(records))
    # A field at a time, each made a column (and its list let go) before the next: 10^5
    # records' rows, or all their columns as lists at once, would take gigabytes. Columns come
    # in the order their names first appear going down the rows, a row's names in field order.
    data: dict[str, Any] = {}
    first: dict[str, tuple[int, int, int]] = {}  # column -> (row, field, place in the field)
    for field_at, name in enumerate(_RECORD_FIELDS):
        values = field(name)  # not ``r.__dict__``: a view has none
        if not values:
            continue
        if name not in NESTED:
            first[name] = (0, field_at, 0)
            data[name] = values
            continue
        # Options, configurations, budgets and machines repeat (records read into a table
        # share them): each object is flattened once; ``values`` keeps it alive, so its id too.
        flat: dict[int, dict[str, Any]] = {}
        columns: dict[str, list[Any]] = {}
        for i, value in enumerate(values):
            if name not in _REPEATING or id(value) not in flat:
                flat[id(value)] = {}
                _flatten(NESTED[name], value or {}, flat[id(value)])
            for place, (column, item) in enumerate(flat[id(value)].items()):
                if column not in columns:
                    columns[column] = [None] * len(records)
                    first[column] = (i, field_at, place)
                columns[column][i] = item
            if name not in _REPEATING:
                del flat[id(value)]
        del values, flat
        for column in list(columns):
            values = columns.pop(column)
            data[column] = _typed_column(values) if "." in column else values
    data = {column: data[column] for column in sorted(data, key=first.__getitem__)}
    data["stop_reason"] = pd.Series([str(v) for v in field("stop_reason")], index=index)
    for column in ("iterations_to_target", "evaluations_to_target", "trial"):
        data[column] = pd.array(field(column), dtype="Int64")
    data["seconds_to_target"] = pd.array(field("seconds_to_target"), dtype="Float64")
    data["paradigm"] = [getattr(SOLVERS.get(s), "paradigm", None) for s in field("solver")]
    data["label"] = _labels(records, defaults)
    data["group_key"], data["group"] = _group_names(records)
    data["attempted"] = data["stop_reason"] != "unsupported"
    data["success"] = pd.Series(data["iterations_to_target"], index=index).notna().astype(bool)
    data["censored"] = data["stop_reason"].isin(CENSORING) & ~data["success"]
    for axis in AXES:
        data[f"cost_to_target.{axis}"] = data[_TO_TARGET[axis]]
    for column in CATEGORICAL:
        if column in data:
            data[column] = pd.Series(data[column], index=index).astype("category")
    return pd.DataFrame(data, index=index, copy=False)


def trace_frame(records: Sequence[RunRecord], runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per trace point (cumulative costs and metrics after an iteration), with the
    columns of :data:`TRACE_ID` naming its run; ``runs`` is ``runs_frame(records)`` if given."""
    runs = runs_frame(records) if runs is None else runs
    lengths = np.array([len(r.trace) for r in records], dtype=int)
    points = [p.__dict__ for r in records for p in r.trace]
    trace = pd.DataFrame.from_records(points) if points else pd.DataFrame()
    ids = runs[list(TRACE_ID)].iloc[np.repeat(np.arange(len(records)), lengths)]
    trace.index = ids.index = pd.RangeIndex(len(points))
    for column in ("accuracy", "val_loss", "val_accuracy", "test_loss", "test_mse",
                   "test_accuracy"):
        if column in trace:
            trace[column] = trace[column].astype("float64")
    return pd.concat([ids, trace], axis=1)


def record_files(paths_or_dir: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
                 ) -> list[Path]:
    """The records files named: a ``.jsonl`` file, a folder (its ``*.jsonl`` files and those of
    its ``raw/`` folder), or several of either."""
    items = [paths_or_dir] if isinstance(paths_or_dir, str | os.PathLike) else list(paths_or_dir)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.jsonl")) + sorted(path.glob("raw/*.jsonl"))
            if not found:
                raise FileNotFoundError(f"no records (*.jsonl) in {path} or {path / 'raw'}")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"no records file or folder at {path}")
    return files


def read(paths_or_dir: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
         *, latest_only: bool = True) -> list[RunRecord]:
    """The records of the files named, through the project's one reader: every line that cannot
    be read is skipped with an :class:`UnreadableRecordWarning` naming its file and line."""
    result = read_records(record_files(paths_or_dir), latest_only=latest_only)
    for line in result.warnings():
        warnings.warn(line.removeprefix("warning: "), UnreadableRecordWarning, stacklevel=3)
    return result.records


def load_runs(paths_or_dir: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
              *, latest_only: bool = True) -> pd.DataFrame:
    """One row per run of the records files named (see the module docstring for the columns).

    Args:
        paths_or_dir: a records file, a results folder (``results/``, ``results/reference``:
            its ``raw/*.jsonl``), or several.
        latest_only: keep only the latest record of each cell within a file (a ``--rerun``
            replaces a cell's record), as the report does.
    """
    return runs_frame(read(paths_or_dir, latest_only=latest_only))


def load_trace(paths_or_dir: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
               *, latest_only: bool = True) -> pd.DataFrame:
    """The log-spaced traces of the runs named, long format: one row per checkpoint, the run's
    ``key``, task group, solver label, arm and seed beside the trace fields (``iteration``,
    ``evaluations``, ``solver_seconds``, ``loss``, ``mse``, ``accuracy``, ``test_*`` ...)."""
    return trace_frame(read(paths_or_dir, latest_only=latest_only))


def write_atomic(path: Path, data: str | bytes | Callable[[TextIO], object]) -> Path:
    """Write a whole file or nothing: the data goes to a temporary file in the same folder,
    which replaces ``path`` only once it is complete. A full disk or an interrupt while
    writing leaves the previous file as it was, never an empty or half-written one.

    ``data`` may be a function that writes the text to the file it is given, so text too large
    to hold twice (a CSV of 10^5 runs) goes to the file as it is made.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        elif isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            with tmp.open("w", encoding="utf-8") as f:
                data(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a frame as CSV, complete or not at all (:func:`write_atomic`). List-valued cells
    (layer widths) are written as JSON."""
    # Only the object columns are replaced (a new frame over the same other columns, not a
    # copy of every one), and the text goes to the file in chunks, never whole in memory.
    out = frame.assign(**{
        column: [json.dumps(v) if isinstance(v, list | tuple | dict) else v
                 for v in frame[column]]
        for column in frame.columns if pd.api.types.is_object_dtype(frame[column].dtype)
    })
    return write_atomic(path, lambda f: out.to_csv(f, index=False, lineterminator="\n"))


def slugify(text: str) -> str:
    """A file-name-safe form of a label."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


__all__ = [
    "UnreadableRecordWarning",
    "load_runs",
    "load_trace",
    "runs_frame",
    "trace_frame",
    "write_atomic",
    "write_csv",
]
