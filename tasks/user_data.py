"""Your data as a task: one CSV, Parquet or NPZ file and its target column, drawn per seed.

``python benchmarks/run_all.py --data FILE --target COLUMN`` and ``benchmarks.api.compare``
build their task here, registered as ``data`` so that the report can rebuild it from a
record's name and options like any other task.

What it does with the file, in order (every refusal names the file and what is wrong, before
any run; :class:`~tasks.errors.InvalidParameterError`):

* **Read.** ``.csv`` / ``.tsv`` through pandas, ``.parquet`` / ``.pq`` through pandas (with
  pyarrow, a pinned dependency), ``.npz`` with arrays ``X`` (rows x features) and ``y``. The
  memory the task will hold is estimated from the file before it is read, and a file that
  would not fit this machine is refused with the estimate.
* **Check.** The target column must exist; feature columns must be numeric unless an encoding
  is asked for (``encode="onehot"``: one 0/1 column per category, the categories read from the
  whole file so every seed's network has the same inputs); no value may be missing or infinite
  (the message counts them and says where); a classification target needs two classes or more,
  and enough rows of each for the stratified splits.
* **Kind.** ``kind="auto"`` reads a non-numeric or boolean target, or a numeric one holding at
  most :data:`MAX_AUTO_CLASSES` distinct integers, as classes, anything else as a regression
  target; ``classification`` or ``regression`` overrides it.
* **Split and standardize.** Exactly as the bundled real data sets
  (``tasks.real.split_and_standardize``): duplicate feature rows dropped first, a stratified
  test split drawn from ``data_seed`` (the run's seed in a suite), a validation split carved
  from the training rows, features standardized with the training rows' statistics only. A
  regression target is standardized with the training rows' statistics too, so its MSE is in
  units of the target's variance (0.1 = about 90% of it explained).
* **Network.** One tanh hidden layer of 32 units, Glorot init by default (``hidden`` and
  ``hidden_activation``, the options every task accepts, change it); a sigmoid output and
  cross-entropy for two classes, softmax for more, a linear output and MSE for regression.
* **Target.** ``target_accuracy`` (training accuracy, classification) or ``target_mse``
  (training MSE of the standardized target, regression). With neither, the runs are
  fixed-budget only: :class:`NoTarget` is never met, and the report's quality-at-budget view
  is the comparison.

The file's content hash (the first 16 hex digits of its SHA-256) is one of the task's options,
so it is in every cell key and record: a changed file is a different cell, a resumed suite never
mixes two versions of a file, and rebuilding a task whose file has changed since its runs were
recorded is refused, naming both hashes.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tasks._validation import (
    MAX_EXAMPLES,
    check_interval,
    check_options,
    file_problem,
    unknown_name,
)
from tasks.base import Target, Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FloatArray, ModelSpec
from tasks.real import VAL_FRACTION, deduplicate, split_and_standardize

#: ``kind`` values: infer from the target column, or say which.
KINDS: tuple[str, ...] = ("auto", "classification", "regression")
#: ``encode`` values: refuse non-numeric features, or one-hot encode them.
ENCODINGS: tuple[str, ...] = ("none", "onehot")
#: File suffixes read, and as what.
FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npz": "npz",
}
#: Under ``kind="auto"``, a numeric target of integers with at most this many distinct values is
#: read as class labels (0/1, ratings 1-5, digit labels); more distinct values, a quantity.
MAX_AUTO_CLASSES = 20
#: The default network's hidden layer (the ``hidden`` option overrides it).
DEFAULT_HIDDEN: tuple[int, ...] = (32,)
#: Hex digits of the SHA-256 kept as the file's content hash (64 bits: enough to tell two
#: versions of a file apart, short enough to read in a report heading).
HASH_DIGITS = 16
#: Copies of the data a task holds at its peak, as float64: the file's frame, its feature
#: array, the three splits, their standardized copies.
DATA_COPIES = 4
#: At most this many places are listed per column when missing values are reported.
PLACES_SHOWN = 5


@dataclass(frozen=True, kw_only=True)
class NoTarget(Target):
    """No target: the runs are fixed-budget only (the target is never met).

    Every run then goes to the end of its budget and ends with ``max_evaluations``; the report
    compares the solvers by their quality at the budget and says how to choose a target from
    what the runs reached.
    """

    def __post_init__(self) -> None:
        """A target without thresholds is this class's point (``Target`` requires one)."""

    def is_met(self, metrics: Any) -> bool:
        del metrics
        return False

    def describe(self) -> str:
        return "none (fixed budget only)"


@dataclass(frozen=True)
class _Table:
    """A data file as read: feature matrix, raw target values, names, and where it came from."""

    x: FloatArray
    y: np.ndarray
    features: tuple[str, ...]
    target: str
    sha256: str
    what: str


def _owner(path: str) -> str:
    return f"the data file {path!r}" if path else "the demonstration data (scikit-learn's wine)"


def _fail(path: str, problem: str) -> InvalidParameterError:
    """``The data file 'x.csv' ...``: one line naming the file, then what is wrong."""
    owner = _owner(path)
    return InvalidParameterError(owner[0].upper() + owner[1:] + " " + problem)


def physical_memory() -> int | None:
    """Bytes of physical memory, or ``None`` where the platform does not say (a seam for tests:
    ``tasks`` imports nothing from ``benchmarks``, whose runner has the same function)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _estimate_shape(path: Path, fmt: str) -> tuple[int, int]:
    """Rows and columns of a file, estimated without reading it whole.

    CSV: the header's columns, and the file's size over the mean length of its first lines.
    NPZ: the array headers. Parquet: the footer's row count where pyarrow is installed, else
    the file size over 8 bytes per value (a lower bound for a compressed file).
    """
    size = path.stat().st_size
    if fmt == "csv":
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        lines = head.splitlines()
        if not lines:
            return 0, 0
        sep = b"\t" if path.suffix.lower() == ".tsv" else b","
        columns = lines[0].count(sep) + 1
        body = lines[1:-1] if len(lines) > 2 else lines[1:]
        per_line = max(1.0, sum(len(b) + 1 for b in body) / max(1, len(body)))
        return int(size / per_line) + 1, columns
    if fmt == "npz":
        try:
            with zipfile.ZipFile(path) as archive:
                rows = columns = 0
                for name in archive.namelist():
                    with archive.open(name) as member:
                        version = np.lib.format.read_magic(member)
                        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                else np.lib.format.read_array_header_2_0)
                        shape, _, _ = read(member)
                    if name.removesuffix(".npy") == "X" and len(shape) == 2:
                        rows, columns = int(shape[0]), int(shape[1]) + 1
                return rows, columns
        except (OSError, ValueError, zipfile.BadZipFile):
            return 0, 0  # the reader says what is wrong with it
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        return int(meta.num_rows), int(meta.num_columns)
    except Exception:  # noqa: BLE001 - no pyarrow, or not a Parquet file: the reader says
        return size // 8, 1


def check_fits_memory(path: Path, fmt: str) -> None:
    """Refuse a file whose task would not fit this machine's memory, with the estimate.

    Checked before the file is read: reading it would be what runs out of memory.
    """
    rows, columns = _estimate_shape(path, fmt)
    need = DATA_COPIES * 8 * rows * columns
    have = physical_memory()
    if have is not None and need > have:
        raise _fail(str(path), (
            f"would need about {need / 2**30:,.1f} GiB of memory as a task by its estimate "
            f"(about {rows:,} rows x {columns:,} columns as float64, {DATA_COPIES} copies for "
            f"the splits), more than this machine has ({have / 2**30:,.1f} GiB). Use fewer rows "
            f"or columns."
        ))
    if rows > MAX_EXAMPLES:
        raise _fail(str(path), (
            f"has about {rows:,} rows by its estimate; a task holds at most {MAX_EXAMPLES:,} "
            f"examples per split. Use fewer rows."
        ))


def file_hash(path: Path) -> str:
    """The file's content hash: the first :data:`HASH_DIGITS` hex digits of its SHA-256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:HASH_DIGITS]


def _read_frame(path: Path, fmt: str) -> Any:
    """The file as a pandas DataFrame (CSV, Parquet) or a dict of arrays (NPZ)."""
    import pandas as pd

    name = str(path)
    if fmt == "npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {k: archive[k] for k in archive.files}
        except ValueError as exc:
            if "allow_pickle" in str(exc):
                raise _fail(name, "holds arrays of Python objects (non-numeric values); "
                                  "store X and y as numbers.") from None
            raise _fail(name, f"cannot be read as NPZ: {exc}.") from None
        except (OSError, zipfile.BadZipFile, EOFError) as exc:
            raise _fail(name, f"cannot be read as NPZ: {exc}.") from None
    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return pd.read_csv(path, sep=sep, skipinitialspace=True)
    except ImportError as exc:
        raise _fail(name, f"is Parquet, which pandas reads with pyarrow or fastparquet, and "
                          f"neither is installed ({exc}); pip install pyarrow, or save the "
                          f"data as CSV.") from None
    except pd.errors.EmptyDataError:
        raise _fail(name, "is empty: it has no header and no rows.") from None
    except UnicodeDecodeError as exc:
        raise _fail(name, f"is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        kind = "Parquet" if fmt == "parquet" else "CSV"
        reason = " ".join(str(exc).split())
        raise _fail(name, f"cannot be read as {kind}: {reason}") from None


def _places(mask: np.ndarray, csv: bool) -> str:
    """``lines 3, 7`` (a CSV's file lines, header at 1) or ``rows 1, 5`` (0-based)."""
    rows = np.flatnonzero(mask)
    shown = [str(r + 2) if csv else str(r) for r in rows[:PLACES_SHOWN]]
    more = f" and {len(rows) - PLACES_SHOWN} more" if len(rows) > PLACES_SHOWN else ""
    word = ("line" if csv else "row") + ("s" if len(rows) > 1 else "")
    return f"{word} {', '.join(shown)}{more}"


def _check_finite(name: str, columns: dict[str, Any], csv: bool) -> None:
    """Refuse missing (NaN, empty) or infinite values, counting them and saying where."""
    import pandas as pd

    problems: list[str] = []
    total = 0
    for column, values in columns.items():
        series = pd.Series(values)
        missing = series.isna().to_numpy()
        infinite = np.zeros(len(series), dtype=bool)
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            infinite = np.isinf(series.to_numpy(dtype=float, na_value=np.nan))
        for mask, what in ((missing, "missing (NaN or empty)"), (infinite, "infinite")):
            if mask.any():
                total += int(mask.sum())
                problems.append(f"{int(mask.sum())} {what} in column {column!r} "
                                f"({_places(mask, csv)})")
    if problems:
        where = "" if csv else " (rows counted from 0)"
        raise _fail(name, (
            f"holds {total} missing or infinite value{'s' if total > 1 else ''}{where}: "
            f"{'; '.join(problems)}. Remove or impute them first."
        ))


@functools.lru_cache(maxsize=8)
def _load(path: str, target_column: str, encode: str, stamp: tuple[int, int]) -> _Table:
    """Read and check a file once per process (``stamp``: its mtime and size, so an edited
    file is read again). Runs of every seed and solver share it."""
    del stamp
    import pandas as pd

    file = Path(path)
    fmt = FORMATS[file.suffix.lower()]
    check_fits_memory(file, fmt)
    digest = file_hash(file)
    raw = _read_frame(file, fmt)
    if fmt == "npz":
        missing = [k for k in ("X", "y") if k not in raw]
        if missing:
            raise _fail(path, f"must hold arrays 'X' (rows x features) and 'y' (the target); "
                              f"it holds {', '.join(repr(k) for k in raw) or 'none'}.")
        if target_column not in ("", "y"):
            raise _fail(path, f"is NPZ, whose target is its array 'y'; the target column "
                              f"must be empty or 'y'. Got {target_column!r} instead.")
        x_raw, y_raw = np.asarray(raw["X"]), np.asarray(raw["y"])
        if x_raw.ndim == 1:
            x_raw = x_raw[:, None]
        if y_raw.ndim == 2 and y_raw.shape[1] == 1:
            y_raw = y_raw[:, 0]
        if x_raw.ndim != 2 or y_raw.ndim != 1 or len(x_raw) != len(y_raw):
            raise _fail(path, f"must hold X of shape (rows, features) and y of shape (rows,) "
                              f"with the same rows. Got X {x_raw.shape} and y {y_raw.shape}.")
        if not np.issubdtype(x_raw.dtype, np.number) and x_raw.dtype != bool:
            raise _fail(path, f"holds non-numeric features (X has dtype {x_raw.dtype}); "
                              f"store them as numbers.")
        features = tuple(f"x{i}" for i in range(x_raw.shape[1]))
        columns = {**{f: x_raw[:, i] for i, f in enumerate(features)}, "y": y_raw}
        _check_finite(path, columns, csv=False)
        return _Table(x=x_raw.astype(np.float64), y=y_raw, features=features, target="y",
                      sha256=digest, what=f"NPZ, {len(x_raw):,} rows")
    frame = raw
    if not target_column:
        raise _fail(path, f"needs a target column (--target COLUMN, or target_column=); its "
                          f"columns: {', '.join(map(str, frame.columns))}.")
    if target_column not in frame.columns:
        raise unknown_name("target column", target_column, [str(c) for c in frame.columns],
                           where=f" in the data file {path!r}")
    return _table_from_frame(frame, path, target_column, encode, digest, fmt, pd)


def _table_from_frame(frame: Any, path: str, target_column: str, encode: str, digest: str,
                      fmt: str, pd: Any) -> _Table:
    """Features and target of a DataFrame, checked and (where asked) one-hot encoded."""
    if len(frame) == 0:
        raise _fail(path, "has a header but no rows.")
    features = [c for c in frame.columns if c != target_column]
    if not features:
        raise _fail(path, f"has no feature columns besides the target {target_column!r}.")
    _check_finite(path, {str(c): frame[c] for c in frame.columns}, csv=fmt == "csv")
    text = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    data = frame[features]
    encoded = ""
    if text:
        if encode == "none":
            examples = ", ".join(f"{str(c)!r} (e.g. {str(frame[c].iloc[0])!r})" for c in text[:3])
            more = f" and {len(text) - 3} more" if len(text) > 3 else ""
            raise _fail(path, (
                f"has non-numeric feature columns: {examples}{more}. Ask for an encoding "
                f"(--encode onehot, or encode='onehot') or drop them."
            ))
        data = pd.get_dummies(data, columns=text, dtype=np.float64)
        encoded = f", {len(text)} column(s) one-hot encoded into {data.shape[1]} features"
    x = data.to_numpy(dtype=np.float64)
    what = f"{'Parquet' if fmt == 'parquet' else 'CSV'}, {len(frame):,} rows{encoded}"
    return _Table(x=x, y=frame[target_column].to_numpy(), features=tuple(map(str, data.columns)),
                  target=target_column, sha256=digest, what=what)


@functools.lru_cache(maxsize=1)
def _demo() -> _Table:
    """The demonstration data: scikit-learn's wine, as if read from a CSV with column 'target'
    (what ``get_task("data")`` builds, so the task builds without a file like every task)."""
    from sklearn.datasets import load_wine

    bunch = load_wine()
    return _Table(x=np.asarray(bunch.data, dtype=np.float64), y=np.asarray(bunch.target),
                  features=tuple(bunch.feature_names), target="target", sha256="",
                  what=f"scikit-learn's wine data, {len(bunch.target)} rows")


def read_table(path: str, target_column: str = "", encode: str = "none") -> _Table:
    """Check the path and read the file (cached while it is unchanged).

    Raises:
        InvalidParameterError: the file is missing, unreadable, of an unknown format, or its
            content cannot make a task (the message names the file and what is wrong).
    """
    if not path:
        return _demo()
    file = Path(path)
    if not os.path.lexists(file):
        raise _fail(path, "does not exist.")
    problem = file_problem(file, write=False)
    if problem is not None:
        raise _fail(path, f"must be a regular file this command can read. {problem}")
    suffix = file.suffix.lower()
    if suffix not in FORMATS:
        raise _fail(path, f"must end in one of {', '.join(FORMATS)} (CSV, Parquet or NPZ). "
                          f"Got {suffix or 'no suffix'!r} instead.")
    info = file.stat()
    return _load(path, target_column, encode, (info.st_mtime_ns, info.st_size))


def _is_classes(y: np.ndarray) -> bool:
    """``kind="auto"``: classes for a non-numeric or boolean target, or few integers."""
    if y.dtype == bool or not np.issubdtype(y.dtype, np.number):
        return True
    values = np.unique(y)
    return len(values) <= MAX_AUTO_CLASSES and bool(np.all(values == np.round(values)))


def rows_needed(strata: int, test_fraction: float, val_fraction: float) -> int:
    """The fewest rows for which stratified train/validation/test splits exist.

    scikit-learn's stratified split holds out ``ceil(fraction * n)`` rows and needs at least
    one row per stratum on each side; the network needs two training rows at least.
    """
    need = max(1, strata)
    for n in range(2, 100 * need + 100):
        n_test = math.ceil(test_fraction * n)
        n_train = n - n_test
        n_val = math.ceil(val_fraction * n_train) if val_fraction > 0 else 0
        if (n_test >= need and n_train - n_val >= max(2, need)
                and (val_fraction == 0 or n_val >= need)):
            return n
    raise AssertionError("unreachable")  # pragma: no cover


def _check_rows(path: str, strata: np.ndarray, test_fraction: float, val_fraction: float,
                dropped: int, what: str, names: list[Any]) -> None:
    """Refuse a data set with fewer rows (or rows per stratum) than the splits need.

    ``names``: the class labels as the file spells them, by class code (empty for the
    quintiles of a regression target).
    """
    values, counts = np.unique(strata, return_counts=True)
    after = f" (after dropping {dropped} duplicate feature rows)" if dropped else ""
    need = rows_needed(len(values), test_fraction, val_fraction)
    if len(strata) < need:
        raise _fail(path, (
            f"has {len(strata)} rows{after}; a train/validation/test split with "
            f"test_fraction={test_fraction:g} and val_fraction={val_fraction:g} over "
            f"{len(values)} {what} needs at least {need}."
        ))
    per = 3 if val_fraction > 0 else 2
    small = [(v, c) for v, c in zip(values.tolist(), counts.tolist(), strict=True) if c < per]
    if small:
        listed = ", ".join(f"{(names[int(v)] if names else v)!r} ({c} row{'s' if c > 1 else ''})"
                           for v, c in small[:5])
        raise _fail(path, (
            f"has too few rows of some {what}{after} for stratified splits: {listed}; each "
            f"needs at least {per} (one for each split)."
        ))


def make_data(
    *,
    path: str = "",
    target_column: str = "",
    kind: str = "auto",
    encode: str = "none",
    target_accuracy: float | None = None,
    target_mse: float | None = None,
    test_fraction: float = 0.25,
    val_fraction: float = VAL_FRACTION,
    data_seed: int = 0,
    sha256: str = "",
) -> Task:
    """A task from your data file (module docstring: what is read, checked and drawn).

    Args:
        path: the CSV, Parquet or NPZ file (an absolute path keeps records rebuildable from
            anywhere). Empty: scikit-learn's wine data, the demonstration.
        target_column: the column to predict (CSV, Parquet); empty or ``y`` for NPZ.
        kind: ``auto`` (inferred from the target column), ``classification`` or ``regression``.
        encode: ``none`` (non-numeric features are refused) or ``onehot``.
        target_accuracy: the target, training accuracy at or above this, in (0, 1]
            (classification).
        target_mse: the target, training MSE of the standardized target at or below this, > 0
            (regression). Neither target: fixed-budget runs only (:class:`NoTarget`).
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the stratified split.
        sha256: the file's content hash as recorded; when given, a file whose content differs
            is refused (its runs were made on another version). Empty: not checked. The task's
            options always hold the hash of the file read.

    Raises:
        InvalidParameterError: a bad option, or a file that cannot make a task (the message
            names the file and what is wrong).
        UnknownNameError: the target column is not in the file (its columns are listed).
    """
    owner = "task 'data'"
    check_options(kind, "kind", owner, KINDS)
    check_options(encode, "encode", owner, ENCODINGS)
    check_interval(test_fraction, "test_fraction", owner, low=0.05, high=0.9)
    check_interval(val_fraction, "val_fraction", owner, low=0.0, high=0.5)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    if target_accuracy is not None:
        check_interval(target_accuracy, "target_accuracy", owner, low=0.0, high=1.0,
                       closed="right")
    if target_mse is not None:
        check_interval(target_mse, "target_mse", owner, low=0.0, closed="neither")
    if not isinstance(path, str) or not isinstance(target_column, str):
        raise InvalidParameterError(
            f"The 'path' and 'target_column' parameters of {owner} must be strings. Got "
            f"{path!r} and {target_column!r} instead."
        )
    table = read_table(path, target_column, encode)
    if sha256 and table.sha256 != sha256:
        raise _fail(path, (
            f"has changed since these runs were recorded: its content hash is {table.sha256}, "
            f"the records' is {sha256}. Runs of the old version cannot be rebuilt from it."
        ))
    classes = _is_classes(table.y) if kind == "auto" else kind == "classification"
    y_raw = table.y
    if not classes:
        if y_raw.dtype == bool or not np.issubdtype(y_raw.dtype, np.number):
            raise _fail(path, (
                f"has a non-numeric target column {table.target!r} (e.g. {str(y_raw[0])!r}), "
                f"which cannot be a regression target; use kind 'classification'."
            ))
        y_values = y_raw.astype(np.float64)
        labels: list[Any] = []
    else:
        labels = sorted(np.unique(y_raw.astype(str) if y_raw.dtype == object else y_raw).tolist())
        if len(labels) < 2:
            raise _fail(path, (
                f"has one class in its target column {table.target!r} ({labels[0]!r} in all "
                f"{len(y_raw)} rows); a classification task needs at least two."
            ))
        codes = {v: i for i, v in enumerate(labels)}
        keyed = y_raw.astype(str) if y_raw.dtype == object else y_raw
        y_values = np.array([codes[v] for v in keyed.tolist()], dtype=np.float64)
    if target_accuracy is not None and not classes:
        raise InvalidParameterError(
            f"The 'target_accuracy' parameter of {owner} applies to classification; the target "
            f"column {table.target!r} of {_owner(path)} is a regression target. Use "
            f"target_mse (--target-mse) instead."
        )
    if target_mse is not None and classes:
        raise InvalidParameterError(
            f"The 'target_mse' parameter of {owner} applies to regression; the target column "
            f"{table.target!r} of {_owner(path)} holds {len(labels)} classes. Use "
            f"target_accuracy (--target-accuracy) instead."
        )
    x, y = deduplicate(table.x, y_values)
    dropped = len(table.x) - len(x)
    strata = y if classes else np.digitize(y, np.quantile(y, [0.2, 0.4, 0.6, 0.8]))
    _check_rows(path, strata, test_fraction, val_fraction, dropped,
                "classes" if classes else "target quintiles", labels)
    try:
        x_train, x_val, x_test, y_train, y_val, y_test = split_and_standardize(
            x, y, test_fraction, data_seed, classes=classes, val_fraction=val_fraction
        )
    except ValueError as exc:  # a stratum too small for this draw: said with the file
        raise _fail(path, f"cannot be split as asked: {exc}") from None
    if classes:
        if len(labels) == 2:
            y_tr, y_va, y_te = y_train[:, None], y_val[:, None], y_test[:, None]
            n_out, output, loss = 1, "sigmoid", "cross_entropy"
        else:
            eye = np.eye(len(labels))
            y_tr, y_va, y_te = (eye[v.astype(int)] for v in (y_train, y_val, y_test))
            n_out, output, loss = len(labels), "softmax", "cross_entropy"
        target: Target = (NoTarget() if target_accuracy is None
                          else Target(min_accuracy=target_accuracy))
        kind_text = f"classification, {len(labels)} classes ({', '.join(map(str, labels[:10]))}" \
            + (", ..." if len(labels) > 10 else "") + ")"
    else:
        mean, std = float(y_train.mean()), float(y_train.std()) or 1.0
        y_tr, y_va, y_te = (((v - mean) / std)[:, None] for v in (y_train, y_val, y_test))
        n_out, output, loss = 1, "identity", "mse"
        target = NoTarget() if target_mse is None else Target(max_mse=target_mse)
        kind_text = "regression, standardized with the training rows' mean and deviation"
    goal = ("none: fixed-budget runs only" if isinstance(target, NoTarget)
            else target.describe())
    return Task(
        name="data",
        family="user data",
        kind="classification" if classes else "regression",
        x_train=x_train,
        y_train=y_tr,
        x_test=x_test,
        y_test=y_te,
        x_val=x_val,
        y_val=y_va,
        model=ModelSpec.build(x_train.shape[1], DEFAULT_HIDDEN, n_out, hidden_activation="tanh",
                              output_activation=output, init="glorot"),
        loss=loss,
        target=target,
        options={"path": path, "target_column": target_column, "kind": kind, "encode": encode,
                 "target_accuracy": target_accuracy, "target_mse": target_mse,
                 "test_fraction": test_fraction, "val_fraction": val_fraction,
                 "data_seed": data_seed, "sha256": table.sha256},
        description=(
            f"Your data: {_owner(path)} ({table.what}; {len(table.features)} features"
            + (f", {dropped} duplicate feature rows dropped" if dropped else "")
            + f"); target column {table.target!r}: {kind_text}. {len(x_train)} train / "
            f"{len(x_val)} validation / {len(x_test)} test rows drawn with data seed "
            f"{data_seed}, stratified, features standardized with the training rows' "
            f"statistics; target: {goal}."
        ),
    )
