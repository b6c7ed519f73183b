"""Records: typed read-back, one record per cell, and a reader that survives any line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.budget import StopReason
from benchmarks.records import RecordWriter, RunRecord, TracePoint, read_records


def make_record(key: str = "k0", seed: int = 0, **changes: Any) -> RunRecord:
    fields: dict[str, Any] = dict(
        key=key, suite="t", task="xor", family="logic", task_options={"gate": "xor"},
        model="2-2-1", num_params=9, n_train=4, target="mse", solver="sgd",
        config={"learning_rate": 0.1}, iteration_unit="epoch", seed=seed,
        budget={"max_iterations": 5}, stop_reason=StopReason.TARGET_REACHED, iterations=3,
        evaluations=12, backward=12, solver_seconds=0.01, eval_seconds=0.0, wall_seconds=0.02,
        iterations_to_target=3, evaluations_to_target=12, seconds_to_target=0.01,
        final_train={"mse": 0.001, "loss": 0.001, "accuracy": 1.0},
        final_test={"mse": 0.001, "loss": 0.001, "accuracy": 1.0},
        trace=[TracePoint(iteration=0, evaluations=0, backward=0, solver_seconds=0.0, loss=0.5,
                          mse=0.5, accuracy=0.5)],
    )
    fields.update(changes)
    return RunRecord(**fields)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


# --- typed read-back ------------------------------------------------------------------------


def test_records_read_back_typed(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with RecordWriter(path) as writer:
        writer.write(make_record())
    (record,) = read_records([path]).records
    assert record.stop_reason is StopReason.TARGET_REACHED
    assert isinstance(record.trace[0], TracePoint)
    assert record.trace[0].loss == record.trace[0]["loss"] == 0.5  # mapping access still works
    assert record.trace[0].get("nope") is None
    assert record == make_record()


def test_unknown_fields_are_ignored_and_missing_optional_fields_defaulted(tmp_path: Path) -> None:
    data = json.loads(make_record().to_json())
    data["arm"] = "some future field"
    for optional in ("warnings", "attempt", "environment", "trace", "error"):
        del data[optional]
    path = tmp_path / "r.jsonl"
    write_lines(path, [json.dumps(data).encode()])
    result = read_records([path])
    assert result.bad_lines == [] and result.records[0].attempt == 1


# --- one record per cell --------------------------------------------------------------------


def test_the_latest_record_of_a_key_wins_and_superseded_ones_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    first = make_record("a", stop_reason=StopReason.MAX_ITERATIONS, iterations_to_target=None,
                        evaluations_to_target=None, seconds_to_target=None)
    again = make_record("a")
    other = make_record("b", seed=1)
    write_lines(path, [first.to_json().encode(), other.to_json().encode(),
                       again.to_json().encode(), again.to_json().encode()])
    result = read_records([path])
    assert [r.key for r in result.records] == ["b", "a"]
    assert result.records[1].success and result.superseded == 2
    assert len(read_records([path], latest_only=False).records) == 4


# --- bad lines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2, 3]", "must be a JSON object, got list"),
        (b"null", "got null"),
        (b"42", "got int"),
        (b'{"key": "x"', "not JSON"),
        (b'{"key": 3}', "field 'key': expected str, got int"),
        (b"{}", "has no 'key' field"),
    ],
)
def test_a_bad_line_is_skipped_with_file_line_and_reason(
    tmp_path: Path, line: bytes, reason: str
) -> None:
    path = tmp_path / "r.jsonl"
    good = make_record().to_json().encode()
    write_lines(path, [good, line, good.replace(b'"k0"', b'"k1"')])
    result = read_records([path])
    assert [r.key for r in result.records] == ["k0", "k1"]
    ((where, lineno, why),) = result.bad_lines
    assert (where, lineno) == (path, 2) and reason in why
    assert result.warnings()[0].startswith(f"warning: ignoring unreadable record at {path}:2 (")


def test_a_record_with_a_wrong_field_type_never_reaches_the_report(tmp_path: Path) -> None:
    data = json.loads(make_record().to_json())
    data["final_train"] = {"mse": "low"}
    data["trace"] = [{"iteration": "zero"}]
    path = tmp_path / "r.jsonl"
    write_lines(path, [json.dumps(data).encode()])
    result = read_records([path])
    assert result.records == [] and "final_train" in result.bad_lines[0][2]


def test_an_unreadable_file_is_a_bad_line_not_a_crash(tmp_path: Path) -> None:
    result = read_records([tmp_path / "missing.jsonl", tmp_path])
    assert result.records == [] and [n for _, n, _ in result.bad_lines] == [0, 0]


# --- fuzz -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)

FIELDS = sorted(json.loads(make_record().to_json()))


@st.composite
def valid_records(draw: st.DrawFn, index: int) -> RunRecord:
    nan_or_float = st.floats(allow_nan=True, allow_infinity=True)
    hit = draw(st.booleans())
    return make_record(
        f"valid{index}",
        seed=draw(st.integers(0, 2**32 - 1)),
        stop_reason=draw(st.sampled_from(list(StopReason))),
        solver_seconds=draw(nan_or_float),
        iterations_to_target=3 if hit else None,
        config=draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
        final_train={"mse": draw(nan_or_float)},
        error=draw(st.text(max_size=20)),
    )


@st.composite
def junk_lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutated"]))
    if kind == "bytes":
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    data = json.loads(make_record("junk").to_json())
    data[draw(st.sampled_from(FIELDS))] = draw(json_values)
    data["key"] = "junk"  # a mutated record may still be valid: keep it apart from the valid ones
    return json.dumps(data).encode()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_the_reader_never_raises_and_never_drops_a_valid_record(
    data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    count = data.draw(st.integers(0, 5))
    valid = [data.draw(valid_records(i)) for i in range(count)]
    junk = data.draw(st.lists(junk_lines(), max_size=8))
    order = data.draw(st.permutations([*range(count), *[-1 - j for j in range(len(junk))]]))
    lines = [valid[i].to_json().encode() if i >= 0 else junk[-1 - i] for i in order]
    path = tmp_path_factory.mktemp("fuzz") / "r.jsonl"
    write_lines(path, lines)
    result = read_records([path])
    kept = {r.key: r.to_json() for r in result.records}
    for record in valid:
        assert kept[record.key] == record.to_json()
    assert all(math.isfinite(n) for _, n, _ in result.bad_lines)
