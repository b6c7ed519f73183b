"""Run records: one immutable record per (task, solver configuration, budget, seed).

Records are written as JSON lines, one per run, appended and flushed as each run finishes, so a
killed suite loses only the runs in flight. A record holds everything needed to read it later on
its own: configuration, seed, budget, stop reason, costs to target, final metrics, a log-spaced
trace and the environment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import hashlib
import json
import math
import os
import stat
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import BENCHMARK_VERSION
from benchmarks.budget import StopReason
from tasks.errors import BenchmarkError


class RecordFormatError(BenchmarkError, ValueError):
    """A line of a records file that is not a record this version can read."""


@dataclass(frozen=True, kw_only=True)
class TracePoint:
    """The state after one iteration (cumulative costs).

    Reads like a mapping too (``point["loss"]``, ``point.get("accuracy")``), so code written
    against the JSON form keeps working on records read back.
    """

    iteration: int
    evaluations: int
    backward: int
    solver_seconds: float
    loss: float
    mse: float
    accuracy: float | None = None
    val_loss: float | None = None
    val_accuracy: float | None = None
    test_loss: float | None = None
    test_mse: float | None = None
    test_accuracy: float | None = None

    def __getitem__(self, name: str) -> Any:
        if name in _DERIVED:
            value = self.get(name)
            if value is None:
                raise KeyError(name)
            return value
        if name not in _TRACE_FIELDS:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        if name in _DERIVED:
            # Read-only views: a control task's mean return is minus its loss
            # (``tasks/control.py``); meaningful only for such tasks, never stored.
            loss = getattr(self, _DERIVED[name])
            return default if loss is None else -loss
        return getattr(self, name) if name in _TRACE_FIELDS else default

    @classmethod
    def from_dict(cls, data: Any) -> TracePoint:
        """A trace point from its JSON form; ``RecordFormatError`` names what is wrong."""
        if isinstance(data, TracePoint):
            return data
        if not isinstance(data, dict):
            raise RecordFormatError(f"a trace point must be an object, got {_kind(data)}")
        return cls(**_typed_fields(cls, data, "trace point"))


_TRACE_FIELDS = frozenset(f.name for f in fields(TracePoint))
#: Derived trace columns (name -> the stored loss it negates): the mean return of a control task
#: on its evaluation episodes (``return``) and on its test episodes (``test_return``).
_DERIVED = {"return": "loss", "test_return": "test_loss"}


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """Everything measured in one run. ``*_to_target`` is ``None`` when the target was missed."""

    key: str
    suite: str
    task: str
    family: str
    task_options: dict[str, Any]
    model: str
    num_params: int
    n_train: int
    target: str
    solver: str
    config: dict[str, Any]
    iteration_unit: str
    seed: int
    budget: dict[str, Any]
    stop_reason: StopReason
    iterations: int
    evaluations: int
    backward: int
    solver_seconds: float
    eval_seconds: float
    wall_seconds: float
    iterations_to_target: int | None
    evaluations_to_target: int | None
    seconds_to_target: float | None
    final_train: dict[str, float]
    final_test: dict[str, float]
    extra_metrics: dict[str, float] = field(default_factory=dict)
    trace: list[TracePoint] = field(default_factory=list)
    error: str = ""
    stop_detail: str = ""
    warnings: int = 0
    first_warning: str = ""
    final_params: list[float] = field(default_factory=list)
    selected: dict[str, Any] | None = None
    #: The size of a network the solver shaped itself (``nodes``, ``connections``, ``params``;
    #: NEAT's evolved topology, reported as a predictor), ``None`` for the task's own network
    #: (``num_params`` says its size). Records written before the field read back as ``None``.
    model_size: dict[str, int] | None = None
    #: The run's peak resident memory in bytes: the process's high-water mark reset just before
    #: the run (Linux ``/proc/self/clear_refs``) and read after it, so it includes the Python,
    #: NumPy and torch already loaded (about 0.4 GB) and every copy the solver made. ``None``
    #: where the platform cannot reset the mark, and in records written before the field.
    peak_memory_bytes: int | None = None
    arm: str = "defaults"
    trial: int | None = None
    executor: str = "serial"
    workers: int = 1
    attempt: int = 1
    environment: dict[str, Any] = field(default_factory=dict)
    version: str = BENCHMARK_VERSION
    timestamp: str = ""

    @property
    def success(self) -> bool:
        return self.iterations_to_target is not None

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=_json_default, allow_nan=True)

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """A record from its JSON form, typed (``StopReason``, ``TracePoint``) and checked.

        Unknown fields (written by a newer version) are ignored; missing optional fields take
        their defaults. Raises ``RecordFormatError`` naming the first field that is missing or
        of the wrong type, so one bad record never reaches a statistic.
        """
        if not isinstance(data, dict):
            raise RecordFormatError(f"a record must be a JSON object, got {_kind(data)}")
        return cls(**_typed_fields(cls, data, "record"))


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def _canonical(value: Any) -> Any:
    if isinstance(value, np.generic):  # a NumPy scalar hashes as the number it holds
        value = value.item()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value) if abs(value) < 2**53 else value
    return value


def cell_key(
    *,
    task: str,
    task_options: dict[str, Any],
    solver: str,
    config: dict[str, Any],
    budget: dict[str, Any],
    seed: int,
    version: str = BENCHMARK_VERSION,
    arm: str = "defaults",
    trial: int | None = None,
) -> str:
    """A stable key for one run cell: the same inputs always give the same 16 hex digits.

    ``arm`` and ``trial`` enter the key only when they are not the plain defaults, so keys of
    cells recorded before arms existed are unchanged; a tuned configuration equal to the
    defaults is still a cell of its own.
    """
    fields_: dict[str, Any] = {
        "task": task,
        "task_options": task_options,
        "solver": solver,
        "config": config,
        "budget": budget,
        "seed": seed,
        "version": version,
    }
    if arm != "defaults":
        fields_["arm"] = arm
    if trial is not None:
        fields_["trial"] = trial
    payload = json.dumps(_canonical(fields_), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class RecordWriter:
    """Appends records to a JSON-lines file, one ``write`` + ``fsync`` per record.

    The file holds only whole records, whatever fails: a write that does not complete (the disk
    is full, the device reports an I/O error, the fsync fails) takes its partial line back out
    before raising, so the records written before it are kept as they were and rerunning the
    command resumes after them. Every ``OSError`` it raises names the file (``exc.filename``),
    which a write error would not otherwise do, so the caller can say which file failed.
    The file is opened without blocking and must be a regular file: a named pipe or a device
    at the path fails at once instead of hanging or swallowing the records.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            raise self._named(exc) from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", str(self.path))
            self._repair_torn_tail(fd, info.st_size)
        except OSError as exc:
            os.close(fd)
            raise self._named(exc) from exc
        self._fd = fd

    def _named(self, exc: OSError) -> OSError:
        """``exc`` as the same kind of ``OSError``, naming this writer's file."""
        if exc.filename is not None:
            return exc
        return OSError(exc.errno, exc.strerror or str(exc), str(self.path))

    @staticmethod
    def _repair_torn_tail(fd: int, size: int) -> None:
        # A previous process killed mid-write can leave a last line without its newline. Start the
        # next record on a fresh line so the torn fragment stays isolated (and is skipped on read).
        if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")

    def write(self, record: RunRecord) -> None:
        """Append one record and make it durable; on failure the file is as it was before."""
        if self._fd is None:
            raise ValueError(f"the record writer for {self.path} is closed")
        line = memoryview((record.to_json() + "\n").encode("utf-8"))
        size: int | None = None
        try:
            size = os.fstat(self._fd).st_size
            while line:
                line = line[os.write(self._fd, line):]
            os.fsync(self._fd)
        except OSError as exc:
            if size is not None:  # take the partial line back: only whole records stay
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, size)
            raise self._named(exc) from exc

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                raise self._named(exc) from exc

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ReadResult:
    """Records read back, the lines that could not be read, and how many were superseded.

    Attributes:
        records: one record per key, the latest (last written) of each, in file order.
        bad_lines: ``(file, line number, reason)`` of every line skipped (line 0: the file).
        superseded: records ignored because a later record has the same key (a ``--rerun``,
            or a duplicated line): every statistic counts each cell once.
    """

    records: list[RunRecord]
    bad_lines: list[tuple[Path, int, str]]
    superseded: int = 0

    def warnings(self) -> list[str]:
        """One line per skipped line, naming its file and line number and the reason."""
        return [
            f"warning: ignoring unreadable record at {path}:{lineno} ({why})"
            for path, lineno, why in self.bad_lines
        ]


def read_records(paths: Iterable[Path], *, latest_only: bool = True,
                 parse: Callable[[Any], RunRecord] | None = None) -> ReadResult:
    """Read every record from JSON-lines files; never raises on the files' content.

    A line that is not UTF-8, not JSON, not an object, or not a record (a missing field, a field
    of the wrong type) is skipped and listed in ``bad_lines``; so is a file that cannot be read.
    Everything else is kept. With ``latest_only`` (the default), the last record of each key
    *within a file* wins and the earlier ones are counted in ``superseded``: a file is one
    suite's record of its cells, re-run in place by ``--rerun``, while two suites' files may
    hold the same cell (the write-up's XOR is in two suites) and each keeps its own.

    The files are read a line at a time, never whole. ``parse`` turns a line's JSON value into
    a record (default :meth:`RunRecord.from_dict`), raising ``RecordFormatError`` for one that
    is not a record: another form of the records (``benchmarks.record_table``, the report's
    reader for 10^5 of them) reads through this same loop.
    """
    parse = RunRecord.from_dict if parse is None else parse
    records: list[RunRecord] = []
    bad: list[tuple[Path, int, str]] = []
    superseded = 0
    for path in paths:
        path = Path(path)
        start, bad_start = len(records), len(bad)
        try:
            for lineno, raw in _lines(path):
                try:
                    record = parse(json.loads(raw.decode("utf-8")))
                except UnicodeDecodeError as exc:
                    bad.append((path, lineno,
                                f"not UTF-8 text: {exc.reason} at byte {exc.start}"))
                except json.JSONDecodeError as exc:
                    bad.append((path, lineno, f"not JSON: {exc.msg} at column {exc.colno}"))
                except RecordFormatError as exc:
                    bad.append((path, lineno, str(exc)))
                except (ValueError, TypeError, RecursionError) as exc:  # e.g. absurd nesting
                    bad.append((path, lineno, f"{type(exc).__name__}: {exc}"))
                else:
                    records.append(record)
        except OSError as exc:  # the whole file is skipped, as when it cannot be opened
            del records[start:], bad[bad_start:]
            bad.append((path, 0, f"cannot read the file: {exc.strerror or exc}"))
            continue
        if latest_only:
            kept, dropped = latest_per_key(records[start:])
            records[start:] = kept
            superseded += dropped
    return ReadResult(records, bad, superseded)


def latest_per_key(records: Iterable[RunRecord]) -> tuple[list[RunRecord], int]:
    """One record per key, the last one given (records are appended, so the latest run).

    Returns the kept records in the order their keys first appeared, and how many were dropped.
    """
    by_key: dict[str, RunRecord] = {}
    total = 0
    for record in records:
        total += 1
        by_key.pop(record.key, None)  # re-insert so the order follows the latest run
        by_key[record.key] = record
    return list(by_key.values()), total - len(by_key)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                yield lineno, line


# --- typed reading ------------------------------------------------------------------------


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


@functools.cache
def _field_converters(cls: type) -> tuple[tuple[str, Callable[[Any], Any], bool], ...]:
    """``(name, converter, required)`` for each field of the dataclass ``cls``, built once."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            f.name,
            _converter(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in fields(cls)
    )


def _typed_fields(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    """The dataclass fields of ``cls`` found in ``data``, converted and type-checked."""
    out: dict[str, Any] = {}
    for name, convert, required in _field_converters(cls):
        if name not in data:
            if required:
                raise RecordFormatError(f"{what} has no {name!r} field")
            continue
        try:
            out[name] = convert(data[name])
        except RecordFormatError as exc:
            raise RecordFormatError(f"{what} field {name!r}: {exc}") from None
    return out


def _convert(value: Any, hint: Any) -> Any:
    """``value`` as type ``hint`` (JSON-shaped input), or ``RecordFormatError``."""
    return _converter(hint)(value)


@functools.cache
def _converter(hint: Any) -> Callable[[Any], Any]:
    """A function that returns its JSON-shaped argument as type ``hint`` or raises
    ``RecordFormatError``. Built once per hint: a records file holds hundreds of thousands of
    values of a few types, and inspecting the hint for each of them was most of the reading time.
    """
    origin = typing.get_origin(hint)
    if hint is Any:
        return _identity

    def wrong(value: Any) -> Any:
        raise RecordFormatError(f"expected {_hint_name(hint)}, got {_kind(value)}")

    if origin in (types.UnionType, typing.Union):
        options = [_converter(option) for option in typing.get_args(hint)]
        if len(options) == 2 and type(None) in typing.get_args(hint):
            # ``X | None``, the commonest union: one test instead of a try per option.
            (inner,) = [_converter(a) for a in typing.get_args(hint) if a is not type(None)]

            def optional(value: Any) -> Any:
                if value is None:
                    return None
                try:
                    return inner(value)
                except RecordFormatError:
                    return wrong(value)

            return optional

        def union(value: Any) -> Any:
            for option in options:
                try:
                    return option(value)
                except RecordFormatError:
                    continue
            return wrong(value)

        return union
    if hint is type(None):
        return lambda value: None if value is None else wrong(value)
    if hint is bool:
        return lambda value: value if isinstance(value, bool) else wrong(value)
    if hint is int:
        return lambda value: (
            value if isinstance(value, int) and not isinstance(value, bool) else wrong(value)
        )
    if hint is float:
        return _to_float
    if hint is str:
        return lambda value: value if isinstance(value, str) else wrong(value)
    if isinstance(hint, type) and issubclass(hint, StopReason):
        return _to_stop_reason
    if isinstance(hint, type) and is_dataclass(hint):
        return _dataclass_converter(hint, wrong)
    if origin is dict:
        _, value_hint = typing.get_args(hint) or (str, Any)
        item = _converter(value_hint)
        return lambda value: (
            {str(k): item(v) for k, v in value.items()} if isinstance(value, dict)
            else wrong(value)
        )
    if origin is list:
        (item_hint,) = typing.get_args(hint) or (Any,)
        if item_hint is float:
            return _to_float_list
        item = _converter(item_hint)
        return lambda value: [item(v) for v in value] if isinstance(value, list) else wrong(value)
    return _identity  # a type this reader does not know (a newer field): keep it as it is


def _dataclass_converter(cls: type, wrong: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A converter for a nested dataclass (a trace point). A record holds dozens of them, so
    where the class has no ``__post_init__`` and only plain defaults, the checked fields go
    straight into a new instance's ``__dict__``: the same object its frozen ``__init__``
    would build, without a ``object.__setattr__`` call per field."""
    defaults = {f.name: f.default for f in fields(cls) if f.default is not dataclasses.MISSING}
    plain = not hasattr(cls, "__post_init__") and all(
        f.default_factory is dataclasses.MISSING for f in fields(cls))
    name = cls.__name__

    def convert(value: Any) -> Any:
        if not isinstance(value, dict):
            return wrong(value)
        checked = _typed_fields(cls, value, name)
        if not plain:
            return cls(**checked)
        instance: Any = object.__new__(cls)
        instance.__dict__.update(defaults)
        instance.__dict__.update(checked)
        return instance

    return convert


def _identity(value: Any) -> Any:
    return value


def _to_float(value: Any) -> float:
    if type(value) is float:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise RecordFormatError(f"expected float, got {_kind(value)}")


def _to_float_list(value: Any) -> list[float]:
    # Final parameters: the longest lists in a record, checked without a call per element.
    if not isinstance(value, list):
        raise RecordFormatError(f"expected {_hint_name(list[float])}, got {_kind(value)}")
    if all(type(v) is float for v in value):
        return value
    return [_to_float(v) for v in value]


def _to_stop_reason(value: Any) -> StopReason:
    if isinstance(value, str) and value in _STOP_VALUES:
        return StopReason(value)
    raise RecordFormatError(
        f"expected a stop reason ({', '.join(sorted(_STOP_VALUES))}), got {value!r}"[:300]
    )


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


_STOP_VALUES = frozenset(s.value for s in StopReason)
