"""Records read into columns: the same records as the plain reader, in a fraction of the memory."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.environment import ROOT
from benchmarks.record_table import Floats, RecordView, Trace, read_table, table_rows
from benchmarks.records import RecordWriter, RunRecord, TracePoint, read_records
from benchmarks.report import analysis
from benchmarks.report.analysis import (
    TRACE_FIELD,
    group_records,
    quality_metric,
    step_counts,
    trace_column,
    trace_columns,
    trace_present,
)
from benchmarks.report.figures import fixed_budget, per_task
from benchmarks.report.stats import resample_blocks
from benchmarks.results import runs_frame
from benchmarks.tools.synthetic_records import synthetic_lines
from tests.benchmarks.test_records import junk_lines, make_record, valid_records, write_lines

REFERENCE_RAW = ROOT / "results" / "reference" / "raw"


def same_reading(path: Path) -> None:
    """``read_table`` gives what ``read_records`` gives: the records (their JSON, their repr,
    every field), the skipped lines and the superseded count."""
    plain, table = read_records([path]), read_table([path])
    assert table.bad_lines == plain.bad_lines and table.superseded == plain.superseded
    assert [r.to_json() for r in table.records] == [r.to_json() for r in plain.records]
    assert [repr(r) for r in table.records] == [repr(r) for r in plain.records]
    for view in table.records:
        assert isinstance(view, RecordView) and isinstance(view, RunRecord)


@pytest.mark.parametrize("name", ["control", "writeup-gates", "zorb_claim", "lbfgs-sklearn"])
def test_the_table_reads_reference_records_as_the_plain_reader_does(name: str) -> None:
    same_reading(REFERENCE_RAW / f"{name}.jsonl")


def test_the_table_reads_default_suite_records_as_the_plain_reader_does(tmp_path: Path) -> None:
    path = tmp_path / "default.jsonl"
    with (REFERENCE_RAW / "default.jsonl").open("rb") as f:  # every task, a few seeds each
        path.write_bytes(b"".join(itertools.islice(f, 0, None, 7)))
    same_reading(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_the_table_and_the_plain_reader_agree_on_any_file(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    valid = [data.draw(valid_records(i)) for i in range(data.draw(st.integers(0, 4)))]
    junk = data.draw(st.lists(junk_lines(), max_size=6))
    lines = [r.to_json().encode() for r in valid] + junk
    path = tmp_path_factory.mktemp("fuzz") / "r.jsonl"
    write_lines(path, data.draw(st.permutations(lines)))
    same_reading(path)


# --- traces and parameters ------------------------------------------------------------------


def point(i: int, **changes: Any) -> TracePoint:
    fields: dict[str, Any] = dict(iteration=i, evaluations=4 * i, backward=4 * i,
                                  solver_seconds=0.01 * i, loss=1.0 / (i + 1),
                                  mse=1.0 / (i + 1), accuracy=None)
    fields.update(changes)
    return TracePoint(**fields)


def read_back(tmp_path: Path, record: RunRecord) -> RunRecord:
    path = tmp_path / "r.jsonl"
    with RecordWriter(path) as writer:
        writer.write(record)
    (view,) = read_table([path]).records
    (plain,) = read_records([path]).records
    assert view.to_json() == plain.to_json()
    return view


def test_a_trace_reads_back_as_the_same_points(tmp_path: Path) -> None:
    """Counts stay ints, an absent value stays None (not NaN), -0.0 stays apart from 0.0 where
    the loss and the MSE otherwise share their values, and a NaN stays a value."""
    trace = [point(0, test_loss=None), point(1, test_loss=0.5, loss=-0.0, mse=0.0),
             point(2, test_loss=math.nan, accuracy=0.75)]
    view = read_back(tmp_path, make_record(trace=trace, final_params=[0.5, -1, 2.0]))
    assert isinstance(view.trace, Trace) and len(view.trace) == 3
    assert list(view.trace)[:2] == trace[:2] and repr(view.trace) == repr(trace)  # NaN != NaN
    assert view.trace[-1].iteration == 2 and isinstance(view.trace[-1].iteration, int)
    assert view.trace[0].test_loss is None and math.isnan(view.trace[2]["test_loss"])
    assert str(view.trace[1].loss) == "-0.0" and str(view.trace[1].mse) == "0.0"
    assert view.trace[:2] == [view.trace[0], view.trace[1]] and bool(view.trace)
    np.testing.assert_array_equal(trace_column(view, "iteration"), [0, 1, 2])
    np.testing.assert_array_equal(trace_column(view, "accuracy"), [np.nan, np.nan, 0.75])
    np.testing.assert_array_equal(trace_present(view, "test_loss"), [False, True, True])
    np.testing.assert_array_equal(trace_column(view, "return"), -trace_column(view, "loss"))
    np.testing.assert_array_equal(trace_column(view, "val_loss"), [np.nan] * 3)
    assert view.final_params == [0.5, -1.0, 2.0] and isinstance(view.final_params, Floats)


def test_a_trace_the_table_cannot_hold_as_floats_stays_a_list(tmp_path: Path) -> None:
    huge = 2**60  # not exact as a float64: the table keeps the checked reader's list
    view = read_back(tmp_path, make_record(trace=[point(0, evaluations=huge)]))
    assert view.trace[0].evaluations == huge and not isinstance(view.trace, Trace)


def test_an_empty_trace_and_empty_parameters_read_back_empty(tmp_path: Path) -> None:
    view = read_back(tmp_path, make_record(trace=[], final_params=[]))
    assert not view.trace and view.trace == [] and view.final_params == []


def test_a_view_copied_or_pickled_is_a_plain_record(tmp_path: Path) -> None:
    view = read_back(tmp_path, make_record(final_params=[1.0, 2.0]))
    for copy in (dataclasses.replace(view), pickle.loads(pickle.dumps(view)),
                 dataclasses.replace(view, seed=7)):
        assert type(copy) is RunRecord
        assert copy.to_json() == view.to_json().replace('"seed": 0', f'"seed": {copy.seed}')
    assert view == read_records([tmp_path / "r.jsonl"]).records[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.seed = 3  # type: ignore[misc]


#: Every trace field, a derived one and one no point has.
_FIELDS = ("iteration", "evaluations", "backward", "solver_seconds", "loss", "mse", "accuracy",
           "val_loss", "test_loss", "test_mse", "test_accuracy", "return", "test_return")


def one_by_one(runs: list[RunRecord], names: Any) -> tuple[Any, list[Any], list[Any]]:
    lengths = np.array([len(r.trace) for r in runs], dtype=np.int64)
    return (lengths,
            [np.concatenate([np.empty(0), *(trace_column(r, n) for r in runs)]) for n in names],
            [np.concatenate([np.zeros(0, dtype=bool), *(trace_present(r, n) for r in runs)])
             for n in names])


def test_trace_columns_of_many_runs_are_each_runs_columns_end_to_end(tmp_path: Path) -> None:
    """A gather from the table's buffer gives what reading each view's trace gives: absent
    points (a mask), fields no point has, derived fields, -0.0, NaN, an empty trace, a
    trace kept as a list, and any order of rows."""
    records = [
        make_record("k0", 0, trace=[point(0, test_loss=None), point(1, test_loss=0.5, loss=-0.0),
                                   point(2, test_loss=math.nan, accuracy=0.75)]),
        make_record("k1", 1, trace=[]),
        make_record("k2", 2, trace=[point(i) for i in range(5)]),
        make_record("k3", 3, trace=[point(0, test_mse=2.0), point(1, test_mse=1.0)]),
    ]
    path = tmp_path / "r.jsonl"
    with RecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    views = read_table([path]).records
    for runs in (views, views[::-1], [views[2], views[0], views[2]], views[:0]):
        got = trace_columns(runs, _FIELDS)
        want = one_by_one(runs, _FIELDS)
        np.testing.assert_array_equal(got[0], want[0])
        for a, b in zip(got[1] + got[2], want[1] + want[2], strict=True):
            np.testing.assert_array_equal(a, b)
            assert np.signbit(a).tolist() == np.signbit(b).tolist()  # -0.0 stays -0.0
    found = table_rows(views)
    assert found is not None and found[1] == [0, 1, 2, 3]
    for name in ("seed", "key", "trial", "final_train", "trace", "seconds_to_target"):
        taken = found[0].take(name, [3, 0, 3])
        assert repr(taken) == repr([getattr(views[k], name) for k in (3, 0, 3)])  # NaN too
    (tmp_path / "huge").mkdir()
    huge = read_back(tmp_path / "huge", make_record(trace=[point(0, evaluations=2**60)]))
    assert not isinstance(huge.trace, Trace)  # kept as a list: read one by one, the same
    lengths, (evaluations,), _ = trace_columns([huge], ["evaluations"])
    assert lengths.tolist() == [1] and evaluations.tolist() == [float(2**60)]


def test_step_counts_are_a_search_per_run() -> None:
    rng = np.random.default_rng(3)
    lengths = np.array([0, 1, 5, 3, 12])
    x = np.concatenate([np.sort(rng.choice([0.5, 1.0, 2.0, 3.0, 8.0], n)) for n in lengths])
    grid = np.array([0.1, 0.5, 0.75, 1.0, 2.0, 7.9, 8.0, 100.0])
    counts = step_counts(lengths, x, grid)
    assert counts is not None
    begin = np.cumsum(lengths) - lengths
    for k, (b, n) in enumerate(zip(begin, lengths, strict=True)):
        np.testing.assert_array_equal(counts[k], np.searchsorted(x[b:b + n], grid, "right"))
    assert step_counts(np.array([2]), np.array([2.0, 1.0]), grid) is None  # not ascending
    assert step_counts(np.array([2]), np.array([1.0, math.nan]), grid) is None


def test_curves_of_all_runs_at_once_are_the_curves_run_by_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The convergence and fixed-budget figures' step curves, runs a chunk at a time (seven
    here), are those computed run by run, for every group, label and cost axis of the
    reference; and their quantiles a block of columns at a time are the whole matrix's."""
    monkeypatch.setattr(analysis, "CHUNK_RUNS", 7)
    monkeypatch.setattr(analysis, "CHUNK_CELLS", 100)
    path = REFERENCE_RAW / "default.jsonl"
    records = read_table([path]).records[::3]
    checked = 0
    for group in group_records(records, runs_frame(records)):
        field = quality_metric(group)[0]
        for label in group.runs:
            runs = group.attempted(label)
            for axis in ("iterations", "evaluations", "seconds"):
                xs = trace_columns(runs, [TRACE_FIELD[axis]])[1][0]
                xs = xs[np.isfinite(xs) & (xs > 0)]
                if not xs.size:
                    continue
                grid = np.geomspace(xs.min(), xs.max() * 1.01, 50)
                curves = [per_task._curve_matrix(runs, group.target_metric, axis, grid),
                          fixed_budget._curves(runs, TRACE_FIELD[axis], field, grid)]
                with monkeypatch.context() as m:
                    m.setattr(per_task, "step_counts", lambda *args: None)
                    m.setattr(fixed_budget, "step_counts", lambda *args: None)
                    slow = [per_task._curve_matrix(runs, group.target_metric, axis, grid),
                            fixed_budget._curves(runs, TRACE_FIELD[axis], field, grid)]
                for fast, one in zip(curves, slow, strict=True):
                    assert fast.shape == one.shape
                    np.testing.assert_array_equal(fast, one)
                    if fast.size:
                        np.testing.assert_array_equal(
                            analysis.column_quantiles(fast, [0.25, 0.5], nan=True),
                            np.nanquantile(fast, [0.25, 0.5], axis=0))
                checked += 1
    assert checked > 100


def test_resample_blocks_are_the_single_draw_a_block_at_a_time() -> None:
    """The bootstraps draw their resamples in blocks; the numbers must be those of one draw,
    and the generator must end where one draw leaves it (the scaling fit draws on)."""
    for n, n_boot in [(1, 5), (3, 7), (11, 2000), (1_000_003, 5)]:
        one, blocks = np.random.default_rng(5), np.random.default_rng(5)
        whole = one.integers(0, n, size=(n_boot, n))
        parts = list(resample_blocks(blocks, n, n_boot))
        np.testing.assert_array_equal(np.concatenate(parts), whole)
        assert one.integers(0, 1 << 30) == blocks.integers(0, 1 << 30)


# --- synthetic records and memory -----------------------------------------------------------


def synthetic(tmp_path: Path, count: int, take: int = 150) -> Path:
    path = tmp_path / f"n{count}" / "raw" / "default.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(line + "\n" for line in synthetic_lines(
        REFERENCE_RAW / "default.jsonl", count, take=take)), encoding="utf-8")
    return path


def test_synthetic_records_are_distinct_cells_the_reader_keeps(tmp_path: Path) -> None:
    result = read_table([synthetic(tmp_path, 100, take=30)])
    assert len(result.records) == 100 and result.superseded == 0 and not result.bad_lines
    assert len({r.key for r in result.records}) == 100
    by_cell = {(r.task, json.dumps(r.config, sort_keys=True), r.arm) for r in result.records[:30]}
    assert {(r.task, json.dumps(r.config, sort_keys=True), r.arm)
            for r in result.records} == by_cell  # copies stay in their cells
    seeds = sorted(r.seed for r in result.records[:30])
    assert result.records[30].seed == result.records[0].seed + 1 + max(seeds)
