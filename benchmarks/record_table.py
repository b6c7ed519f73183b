"""Records read into columns: the form the report holds 10^5 records in.

A :class:`~benchmarks.records.RunRecord` read back costs about 29 kB: a dict for each of its
fields, a point object for each trace point. The report reads every record of a study at once,
and 10^5 of them would take 3 GB that way (15 GB before this module, with the rest of the
report). :func:`read_table` reads the same JSON lines, through the same reader
(:func:`~benchmarks.records.read_records`: the same checks, the same messages for a bad line),
into a :class:`RecordTable`: one column per field (numbers in flat arrays, strings and repeated
objects shared, every trace's values in one float buffer, every record's final parameters in
another), about 2.5 kB a record. Each record comes back as a :class:`RecordView`: a
``RunRecord`` whose fields read from the columns, equal to the record ``read_records`` would
give and writing the same JSON, with its trace as a :class:`Trace` (a sequence of the same
trace points, built on access) and its final parameters as :class:`Floats`.

Views are for reading: a field's object is built on access (``final_train`` is a new dict
each time) or shared between records (``config``, ``environment``), so changing one changes
nothing or every record. ``dataclasses.replace`` and pickling give a plain ``RunRecord``.
"""

from __future__ import annotations

import array
import dataclasses
import math
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.records import (
    ReadResult,
    RunRecord,
    TracePoint,
    _typed_fields,
    read_records,
)

#: Derived trace fields (name -> the stored loss it negates), as ``TracePoint.get`` reads them.
_DERIVED = {"return": "loss", "test_return": "test_loss"}


# --------------------------------------------------------------------------------------------
# Traces and parameters
# --------------------------------------------------------------------------------------------


class Trace(Sequence[TracePoint]):
    """A run's trace held as one float array, read as a sequence of :class:`TracePoint`.

    A point object costs about 900 bytes, the same values here 8 bytes each. Points are built
    on access, equal to the ones a list would hold (counts come back as ``int``, absent values
    as ``None``); :meth:`column` and :meth:`present` give one field as an array without
    building them. Equal to a list of the same points; writes back as the same JSON.
    """

    __slots__ = ("_layout", "_missing", "_values")
    __hash__ = None  # type: ignore[assignment]  # unhashable, like the list it stands for

    def __init__(self, layout: tuple[tuple[str, ...], tuple[int, ...]], values: np.ndarray,
                 missing: np.ndarray | None = None) -> None:
        #: ``layout``: the stored fields (a field absent from every point is not stored) and
        #: the row of ``values`` (fields x points) that holds each; fields with the same
        #: values share a row (a task's MSE that is its loss, backward passes that are its
        #: evaluations). ``missing``: where a stored field is absent (``None``), one row per
        #: field, when any is.
        self._layout = layout
        self._values = values
        self._missing = missing

    def __len__(self) -> int:
        return int(self._values.shape[1])

    @typing.overload
    def __getitem__(self, index: int) -> TracePoint: ...

    @typing.overload
    def __getitem__(self, index: slice) -> list[TracePoint]: ...

    def __getitem__(self, index: int | slice) -> TracePoint | list[TracePoint]:
        if isinstance(index, slice):
            return list(self)[index]
        n = len(self)
        if not -n <= index < n:
            raise IndexError("trace index out of range")
        return self._point(self._values[:, index].tolist(),
                           None if self._missing is None else self._missing[:, index].tolist())

    def __iter__(self) -> Iterator[TracePoint]:
        rows = self._values.T.tolist()
        if self._missing is None:
            return (self._point(row, None) for row in rows)
        return (self._point(row, gone)
                for row, gone in zip(rows, self._missing.T.tolist(), strict=True))

    def _point(self, row: list[float], gone: list[bool] | None) -> TracePoint:
        names, row_of = self._layout
        values: dict[str, Any] = {name: row[k] for name, k in zip(names, row_of, strict=True)}
        for name in _TRACE_INTS:
            values[name] = int(values[name])
        if gone is not None:
            for name, absent in zip(names, gone, strict=True):
                if absent:
                    values[name] = None
        # The object the frozen ``__init__`` would build, without a ``__setattr__`` per field.
        point: Any = object.__new__(TracePoint)
        point.__dict__.update(_TRACE_DEFAULTS)
        point.__dict__.update(values)
        return typing.cast(TracePoint, point)

    def column(self, name: str) -> np.ndarray:
        """One field over the trace as a new float array, NaN where it is absent (a derived
        field such as ``return`` too): ``[p.get(name) for p in trace]`` as floats."""
        if name in _DERIVED:
            return -self.column(_DERIVED[name])
        names, row_of = self._layout
        if name not in names:
            return np.full(len(self), math.nan)
        k = names.index(name)
        out = self._values[row_of[k]].copy()
        if self._missing is not None:
            out[self._missing[k]] = math.nan
        return out

    def present(self, name: str) -> np.ndarray:
        """Where a field is not ``None`` over the trace, as a new bool array."""
        names = self._layout[0]
        name = _DERIVED.get(name, name)
        if name not in names:
            return np.zeros(len(self), dtype=bool)
        if self._missing is None:
            return np.ones(len(self), dtype=bool)
        return ~self._missing[names.index(name)]

    def tolist(self) -> list[dict[str, Any]]:
        """The JSON form, as a list of the points writes it (``RunRecord.to_json``)."""
        return [asdict(p) for p in self]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Trace | list | tuple):
            return len(self) == len(other) and all(
                a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return repr(list(self))  # as the list would print, inside a record's repr too

    def __reduce__(self) -> tuple[Any, ...]:
        return (Trace, (self._layout, self._values.copy(), self._missing))


class Floats(array.array):
    """Floats at 8 bytes each (``array('d')``) that compare equal to the list they stand for:
    a view's final parameters (a list of them costs 32 bytes a value)."""

    __slots__ = ()
    __hash__ = None

    def __new__(cls, values: Iterable[float] = ()) -> Floats:
        return typing.cast(Floats, super().__new__(cls, "d", values))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list | tuple):
            return self.tolist() == list(other)
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return repr(self.tolist())


class _Absent:
    """The type of a field missing from a trace point's JSON (``None`` is a value)."""


_ABSENT = _Absent()


def _trace_kind(f: dataclasses.Field[Any]) -> str:
    if f.default is dataclasses.MISSING and f.type in ("int", "float"):
        return str(f.type)
    return "optional" if f.type == "float | None" and f.default is None else "other"


#: Each trace field and how it is stored: a count (``int``), a float, an optional float, or
#: another kind, which this form does not store (its traces are then kept as lists).
_TRACE_KINDS = tuple((f.name, _trace_kind(f)) for f in fields(TracePoint))
_TRACE_OTHER = any(kind == "other" for _, kind in _TRACE_KINDS)
_TRACE_INTS = tuple(name for name, kind in _TRACE_KINDS if kind == "int")
_TRACE_DEFAULTS = {f.name: f.default for f in fields(TracePoint)
                   if f.default is not dataclasses.MISSING}


def _trace_columns(
    points: Any,
) -> tuple[tuple[tuple[str, ...], tuple[int, ...]], np.ndarray, np.ndarray | None] | None:
    """A trace's JSON as (layout, values, missing) for :class:`Trace`, or ``None`` when it is
    not a plain, valid one (the checked reader then converts it, or names what is wrong)."""
    if type(points) is not list or _TRACE_OTHER or not set(map(type, points)) <= {dict}:
        return None
    given = tuple(points[0]) if points else ()
    if len(set(map(tuple, points))) <= 1:
        # The usual case, every point with the same fields in the same order: one column per
        # field at C speed (the check too: 2 * 10^5 traces are read).
        by_name = dict(zip(given, zip(*map(dict.values, points), strict=True), strict=True))
    else:
        by_name = {name: tuple(p.get(name, _ABSENT) for p in points) for name, _ in _TRACE_KINDS}
    absent = (_ABSENT,) * len(points)
    names: list[str] = []
    rows: list[Sequence[Any]] = []
    missing: dict[int, list[bool]] = {}  # stored field -> where it is absent, if anywhere
    for name, kind in _TRACE_KINDS:
        values = by_name.get(name, absent)
        kinds = set(map(type, values))
        if kind == "int":
            # Counts travel as float64: exact below 2**53, and they are far below it.
            if not kinds <= {int} or (values and max(map(abs, values)) >= 2**53):
                return None
        elif kind == "float":
            if not kinds <= {float, int}:
                return None
        elif not kinds <= {float, int, type(None), _Absent}:
            return None
        elif kinds <= {type(None), _Absent}:
            continue  # absent from every point: not stored
        elif type(None) in kinds or _Absent in kinds:
            missing[len(names)] = [v is None or v is _ABSENT for v in values]
            values = tuple(math.nan if v is None or v is _ABSENT else v for v in values)
        names.append(name)
        rows.append(values)
    matrix = (np.array(rows, dtype=np.float64) if rows and points
              else np.empty((len(names), len(points))))
    # One row per distinct series of bits (equal by value is not enough: -0.0 == 0.0).
    where: dict[bytes, int] = {}
    row_of = tuple(where.setdefault(row.tobytes(), len(where)) for row in matrix)
    if len(where) < len(row_of):
        matrix = matrix[[row_of.index(k) for k in range(len(where))]]
    if not missing:
        return (tuple(names), row_of), matrix, None
    mask = np.zeros((len(names), len(points)), dtype=bool)
    for k, gone in missing.items():
        mask[k] = gone
    return (tuple(names), row_of), matrix, (mask if mask.any() else None)


# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


class _Column:
    """One field of every record: ``append`` while reading, ``get`` a row's value after."""

    def append(self, value: Any) -> None:
        raise NotImplementedError

    def get(self, row: int) -> Any:
        raise NotImplementedError

    def finish(self) -> None:
        """Reading is over: no more appends (flat buffers become arrays)."""

    def take(self, rows: list[int]) -> list[Any]:
        """``[self.get(row) for row in rows]``; columns held flat do it without a call a row."""
        return [self.get(row) for row in rows]


class _Objects(_Column):
    """Python objects, one reference a row; equal values shared when ``share`` says how to
    key them (a string by itself, an options or machine object by its ``repr``)."""

    def __init__(self, share: Callable[[Any], Any] | None, shared: dict[Any, Any]) -> None:
        self.values: list[Any] = []
        self.share = share
        self.shared = shared

    def append(self, value: Any) -> None:
        if self.share is not None and value is not None:
            value = self.shared.setdefault(self.share(value), value)
        self.values.append(value)

    def get(self, row: int) -> Any:
        return self.values[row]

    def take(self, rows: list[int]) -> list[Any]:
        values = self.values
        return [values[row] for row in rows]


class _Numbers(_Column):
    """Ints or floats in a flat array (8 bytes a row), ``None`` in a mask made on first use.

    A value the array cannot hold exactly (an int beyond 64 bits) turns the column into
    :class:`_Objects`-like storage, so nothing is ever rounded.
    """

    def __init__(self, code: str) -> None:
        self.code = code
        self.data: array.array[Any] | None = array.array(code)
        self.none: bytearray | None = None
        self.objects: list[Any] | None = None

    def append(self, value: Any) -> None:
        if self.objects is not None:
            self.objects.append(value)
            return
        assert self.data is not None
        if value is None:
            if self.none is None:
                self.none = bytearray(len(self.data))
            self.none.append(1)
            self.data.append(0)
            return
        try:
            self.data.append(value)
        except OverflowError:
            self.objects = [self.get(row) for row in range(len(self.data))] + [value]
            self.data = self.none = None
            return
        if self.none is not None:
            self.none.append(0)

    def get(self, row: int) -> Any:
        if self.objects is not None:
            return self.objects[row]
        if self.none is not None and self.none[row]:
            return None
        assert self.data is not None
        return self.data[row]

    def take(self, rows: list[int]) -> list[Any]:
        if self.objects is not None or self.data is None:
            return super().take(rows)
        # ``tolist`` gives Python ints and floats, as ``get`` does.
        values = np.array(self.data)[rows].tolist()
        if self.none is not None:
            for k in np.flatnonzero(np.frombuffer(bytes(self.none), dtype=np.uint8)[rows]):
                values[k] = None
        return values


class _FloatMaps(_Column):
    """``dict[str, float]`` fields (final metrics): the keys of each row shared, the values
    in one flat buffer; each access builds the dict anew."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, ...] | None] = []
        self.start = array.array("q")
        self.values = array.array("d")
        self.shared: dict[tuple[str, ...], tuple[str, ...]] = {}

    def append(self, value: Any) -> None:
        self.start.append(len(self.values))
        if value is None:
            self.keys.append(None)
            return
        keys = tuple(value)
        self.keys.append(self.shared.setdefault(keys, keys))
        self.values.extend(value.values())

    def get(self, row: int) -> Any:
        keys = self.keys[row]
        if keys is None:
            return None
        start = self.start[row]
        return dict(zip(keys, self.values[start:start + len(keys)], strict=True))


class _Params(_Column):
    """Final parameters: every record's in one flat buffer, a row read as :class:`Floats`."""

    def __init__(self) -> None:
        self.start = array.array("q", [0])
        self.values = array.array("d")

    def append(self, value: Any) -> None:
        self.values.extend(value)
        self.start.append(len(self.values))

    def get(self, row: int) -> Any:
        return Floats(self.values[self.start[row]:self.start[row + 1]])


class _Traces(_Column):
    """Traces: every record's values in one flat float buffer, its layout shared, its mask
    (rare) kept apart; a row read as a :class:`Trace` over its part of the buffer. A trace
    this form does not hold (an unusual field kind) is kept as the list the checked reader
    made."""

    def __init__(self) -> None:
        self.start = array.array("q", [0])
        self.values = array.array("d")
        self.layouts: list[tuple[tuple[str, ...], tuple[int, ...]]] = []
        self.layout_of = array.array("H")
        self.lengths = array.array("l")
        self.missing: dict[int, np.ndarray] = {}
        self.lists: dict[int, Any] = {}
        self.index: dict[tuple[tuple[str, ...], tuple[int, ...]], int] = {}
        self.flat: np.ndarray | None = None

    def append(self, value: Any) -> None:
        row = len(self.lengths)
        if not isinstance(value, tuple):  # a list from the checked reader
            self.lists[row] = value
            self.layout_of.append(0)
            self.lengths.append(0)
            self.start.append(len(self.values))
            return
        layout, matrix, mask = value
        self.layout_of.append(self.index.setdefault(layout, len(self.index)))
        if len(self.index) > len(self.layouts):
            self.layouts.append(layout)
        self.lengths.append(matrix.shape[1])
        self.values.frombytes(matrix.tobytes())
        self.start.append(len(self.values))
        if mask is not None:
            self.missing[row] = mask

    def finish(self) -> None:
        self.flat = np.frombuffer(self.values, dtype=np.float64)  # no copy

    def get(self, row: int) -> Any:
        if row in self.lists:
            return self.lists[row]
        flat = self.flat if self.flat is not None else np.array(self.values, dtype=np.float64)
        layout = self.layouts[self.layout_of[row]]
        rows = max(layout[1], default=-1) + 1  # distinct rows: the layout numbers them in order
        part = flat[self.start[row]:self.start[row + 1]]
        return Trace(layout, part.reshape(rows, self.lengths[row]), self.missing.get(row))

    def columns(self, rows: np.ndarray, names: Sequence[str]
                ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]] | None:
        """Fields of many rows' traces at once, each as one float array of every row's values
        end to end (``Trace.column`` of each row, concatenated), with the rows' lengths and,
        per field, where it is present (``Trace.present``). ``None`` when a row is held as a
        list (the caller then reads the rows one by one).

        A figure over 10^4 runs reads their traces this way: a gather from the one buffer per
        field, where a view and a :class:`Trace` per run cost microseconds each, times 10^4
        runs, times every figure and field.
        """
        if self.lists and any(int(r) in self.lists for r in rows):
            return None
        flat = self.flat if self.flat is not None else np.array(self.values, dtype=np.float64)
        lengths = np.array(self.lengths, dtype=np.int64)[rows]
        starts = np.array(self.start, dtype=np.int64)[rows]
        layout_of = np.array(self.layout_of, dtype=np.int64)[rows]
        total = int(lengths.sum())
        ends = np.cumsum(lengths)
        # Each value's place within its row's trace.
        within = np.arange(total, dtype=np.int64) - np.repeat(ends - lengths, lengths)
        masked = ([k for k, r in enumerate(rows.tolist()) if r in self.missing]
                  if self.missing else [])
        values: list[np.ndarray] = []
        present: list[np.ndarray] = []
        for name in names:
            stored = _DERIVED.get(name, name)
            # Per layout, the buffer row that holds the field (-1: not stored).
            held = np.array([layout[1][layout[0].index(stored)] if stored in layout[0] else -1
                             for layout in self.layouts] or [-1], dtype=np.int64)
            row_of = held[layout_of]
            at = np.repeat(starts + np.maximum(row_of, 0) * lengths, lengths) + within
            out = flat[at] if total else np.empty(0)
            here = np.repeat(row_of >= 0, lengths)
            out[~here] = math.nan
            for k in masked:  # rare: a row where a field is absent from some points
                if row_of[k] < 0:
                    continue
                field_names = self.layouts[layout_of[k]][0]
                gone = self.missing[int(rows[k])][field_names.index(stored)]
                begin = int(ends[k] - lengths[k])
                here[begin:begin + gone.size] &= ~gone
                out[begin:begin + gone.size][gone] = math.nan
            values.append(-out if name in _DERIVED else out)
            present.append(here)
        return lengths, values, present


# --------------------------------------------------------------------------------------------
# The table and its views
# --------------------------------------------------------------------------------------------

#: Record fields of text that repeats between records (shared); the key never does.
_UNSHARED_TEXT = frozenset({"key", "timestamp"})
#: Record fields whose objects repeat between the records of a study (shared by ``repr``).
_SHARED_OBJECTS = frozenset({"task_options", "config", "budget", "environment"})
#: Record fields of final metrics, held as shared keys and flat values.
_FLOAT_MAPS = frozenset({"final_train", "final_test", "extra_metrics"})


def _column_for(name: str, hint: Any, shared: dict[Any, Any]) -> _Column:
    """The column that holds a record field of type ``hint``."""
    if name == "trace":
        return _Traces()
    if name == "final_params":
        return _Params()
    if name in _FLOAT_MAPS and hint == dict[str, float]:
        return _FloatMaps()
    if hint in (int, int | None):
        return _Numbers("q")
    if hint in (float, float | None):
        return _Numbers("d")
    if hint is str:
        return _Objects(None if name in _UNSHARED_TEXT else (lambda v: v), shared)
    if name in _SHARED_OBJECTS:
        return _Objects(lambda v: (name, repr(v)), shared)
    return _Objects(None, shared)


class RecordTable:
    """Every record read, one column per field (see the module docstring).

    ``append`` checks a record's JSON as :meth:`RunRecord.from_dict` does (raising the same
    ``RecordFormatError`` for one that is not a record) and returns its view.
    """

    def __init__(self) -> None:
        self.shared: dict[Any, Any] = {}
        hints = typing.get_type_hints(RunRecord)
        #: Each field: its name, its default (``_ABSENT``: required) and default factory.
        self.layout = tuple(
            (f.name, _ABSENT if f.default is dataclasses.MISSING else f.default,
             None if f.default_factory is dataclasses.MISSING else f.default_factory)
            for f in fields(RunRecord))
        self.columns = {f.name: _column_for(f.name, hints[f.name], self.shared)
                        for f in fields(RunRecord)}
        self.rows = 0

    def append(self, data: Any) -> RecordView:
        """Check one record's JSON and add it; its view."""
        trace = _trace_columns(data.get("trace", [])) if isinstance(data, dict) else None
        params = data.get("final_params", []) if isinstance(data, dict) else None
        if trace is not None and type(params) is list and set(map(type, params)) <= {
                float, int}:
            checked = _typed_fields(
                RunRecord, {k: v for k, v in data.items() if k not in _OWN_FORM}, "record")
            checked["trace"] = trace
            checked["final_params"] = params
        else:  # not plain: the checked reader converts it, or raises its message
            record = RunRecord.from_dict(data)
            checked = {f.name: getattr(record, f.name) for f in fields(RunRecord)}
        for name, default, factory in self.layout:
            if name not in checked:  # an optional field the record does not have
                checked[name] = default if factory is None else factory()
            self.columns[name].append(checked[name])
        self.rows += 1
        return RecordView._of(self, self.rows - 1)

    def finish(self) -> None:
        for column in self.columns.values():
            column.finish()

    def get(self, name: str, row: int) -> Any:
        return self.columns[name].get(row)

    def take(self, name: str, rows: list[int]) -> list[Any]:
        """One field of many rows: ``[self.get(name, row) for row in rows]``."""
        return self.columns[name].take(rows)

    def trace_columns(self, rows: np.ndarray, names: Sequence[str]
                      ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]] | None:
        """Trace fields of many rows at once (:meth:`_Traces.columns`)."""
        traces = self.columns["trace"]
        return traces.columns(rows, names) if isinstance(traces, _Traces) else None

    def param_counts(self, rows: np.ndarray) -> np.ndarray | None:
        """How many final parameters each row holds (``len(final_params)``), read from the
        buffer's offsets without building them."""
        params = self.columns["final_params"]
        if not isinstance(params, _Params):
            return None
        start = np.array(params.start, dtype=np.int64)
        return start[rows + 1] - start[rows]


#: Fields a table holds in a form of its own (not through the checked converters).
_OWN_FORM = frozenset({"trace", "final_params"})


def _plain(values: dict[str, Any]) -> RunRecord:
    return RunRecord(**values)


class RecordView(RunRecord):
    """One record of a :class:`RecordTable`, read as a ``RunRecord`` (see the module
    docstring): its fields are properties over the table's columns."""

    __slots__ = ("_row", "_table")

    _table: RecordTable
    _row: int

    def __new__(cls, *args: Any, **kwargs: Any) -> RecordView:
        # ``dataclasses.replace`` and ``copy`` call the class with a record's fields: that is
        # a new plain record, not a view of anything.
        return typing.cast(RecordView, RunRecord(*args, **kwargs))

    @classmethod
    def _of(cls, table: RecordTable, row: int) -> RecordView:
        view = object.__new__(cls)
        object.__setattr__(view, "_table", table)
        object.__setattr__(view, "_row", row)
        return view

    def __reduce__(self) -> tuple[Any, ...]:
        return (_plain, ({f.name: getattr(self, f.name) for f in fields(RunRecord)},))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunRecord):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(RunRecord))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:  # the plain record's, which the view stands for
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                          for f in fields(RunRecord) if f.repr)
        return f"{RunRecord.__qualname__}({shown})"


def _field_property(name: str) -> property:
    def get(self: RecordView) -> Any:
        return self._table.columns[name].get(self._row)

    get.__name__ = name
    return property(get)


for _field in fields(RunRecord):
    setattr(RecordView, _field.name, _field_property(_field.name))


def table_rows(records: Sequence[RunRecord]) -> tuple[RecordTable, list[int]] | None:
    """The one table ``records`` are views of and their rows in it, for reading a field of
    them all from its column at once; ``None`` for plain records or views of several tables."""
    if not records or type(records[0]) is not RecordView:
        return None
    table = records[0]._table
    rows = []
    for r in records:
        if type(r) is not RecordView or r._table is not table:
            return None
        rows.append(r._row)
    return table, rows


def read_table(paths: Iterable[Path], *, latest_only: bool = True) -> ReadResult:
    """:func:`~benchmarks.records.read_records` into one :class:`RecordTable`: the same
    records, skipped lines and superseded count, each record a :class:`RecordView`."""
    table = RecordTable()
    result = read_records(paths, latest_only=latest_only, parse=table.append)
    table.finish()
    return result


__all__ = ["Floats", "RecordTable", "RecordView", "Trace", "read_table", "table_rows"]
