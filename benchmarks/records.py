"""Run records: one immutable record per (task, solver configuration, budget, seed).

Records are written as JSON lines, one per run, appended and flushed as each run finishes, so a
killed suite loses only the runs in flight. A record holds everything needed to read it later on
its own: configuration, seed, budget, stop reason, costs to target, final metrics, a log-spaced
trace and the environment.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from benchmarks import BENCHMARK_VERSION


@dataclass(frozen=True, kw_only=True)
class TracePoint:
    """The state after one iteration (cumulative costs)."""

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
    stop_reason: str
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
    trace: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    final_params: list[float] = field(default_factory=list)
    selected: dict[str, Any] | None = None
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
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def _canonical(value: Any) -> Any:
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
    """Appends records to a JSON-lines file, one ``write`` + ``flush`` + ``fsync`` per record."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._file = self.path.open("a", encoding="utf-8")

    def _repair_torn_tail(self) -> None:
        # A previous process killed mid-write can leave a last line without its newline. Start the
        # next record on a fresh line so the torn fragment stays isolated (and is skipped on read).
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open("rb") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    with self.path.open("a", encoding="utf-8") as g:
                        g.write("\n")

    def write(self, record: RunRecord) -> None:
        self._file.write(record.to_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ReadResult:
    """Records read back, plus the lines that could not be parsed (torn or corrupt)."""

    records: list[RunRecord]
    bad_lines: list[tuple[Path, int, str]]


def read_records(paths: Iterable[Path]) -> ReadResult:
    """Read every record from JSON-lines files; torn or corrupt lines are reported, not fatal."""
    records: list[RunRecord] = []
    bad: list[tuple[Path, int, str]] = []
    for path in paths:
        for lineno, line in _lines(Path(path)):
            try:
                records.append(RunRecord.from_dict(json.loads(line)))
            except (json.JSONDecodeError, TypeError) as exc:
                bad.append((Path(path), lineno, f"{type(exc).__name__}: {exc}"))
    return ReadResult(records, bad)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                yield lineno, line
