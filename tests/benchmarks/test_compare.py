"""The cross-CPU comparison (``python -m benchmarks.compare``): each kind of difference lands in
its class, the counts and the verdict's agreement are right, and bad inputs exit 2 in one line.

The records are a slice of the committed breadth study (two task groups, every solver but lm,
both arms), perturbed one field at a time in copies, so the expected answer is known.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.compare import (
    COST,
    IDENTICAL,
    OUTCOME,
    PARAMETERS,
    CompareError,
    Comparison,
    compare,
    main,
    markdown,
    read_side,
    summary_lines,
)
from benchmarks.environment import ROOT

DEFAULT = ROOT / "results" / "reference" / "raw" / "breadth.jsonl"
#: Two small task groups of the breadth study: every solver, both arms, 10 seeds each (nevergrad's
#: rows 5, defaults).
TASKS = ("xor", "parity")

Record = dict[str, Any]


def _write(path: Path, records: list[Record]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _find(records: list[Record], **fields: Any) -> int:
    """Index of the first record with these field values (``success`` is derived)."""
    for i, r in enumerate(records):
        values = {**r, "success": r["iterations_to_target"] is not None}
        if all(values[k] == v for k, v in fields.items()):
            return i
    raise LookupError(fields)


def _fail(record: Record, stop: str) -> None:
    """Turn a success into a miss that stopped for ``stop``."""
    record.update(stop_reason=stop, iterations_to_target=None, evaluations_to_target=None,
                  seconds_to_target=None)


@pytest.fixture(scope="module")
def reference() -> list[Record]:
    lines = DEFAULT.read_text(encoding="utf-8").splitlines()
    # Without lm: 10/10 on both tasks, it would represent gradients and hide the designed
    # changes to the sgd and adam records below (which the verdict must notice).
    return [r for r in map(json.loads, lines) if r["task"] in TASKS and r["solver"] != "lm"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compare")


@pytest.fixture(scope="module")
def base_file(folder: Path, reference: list[Record]) -> Path:
    return _write(folder / "base" / "raw" / "default.jsonl", reference)


@pytest.fixture(scope="module")
def perturbed(reference: list[Record]) -> tuple[list[Record], dict[str, str]]:
    """The reference slice with one difference of each kind; returns the records and, per
    perturbed key, the class it must land in (``removed`` for the record left out)."""
    records = copy.deepcopy(reference)
    expect: dict[str, str] = {}
    # One final parameter, by an ulp-sized amount: parameters only.
    i = _find(records, task="xor", solver="numpy-backprop", arm="defaults", seed=3)
    records[i]["final_params"][0] += 1e-15
    expect[records[i]["key"]] = PARAMETERS
    # One cost to target (a success, later by one iteration): cost to target.
    i = _find(records, task="parity", solver="adam", arm="defaults", success=True)
    records[i]["iterations_to_target"] += 1
    records[i]["evaluations_to_target"] += 16
    expect[records[i]["key"]] = COST
    # One stop reason, success unchanged (a miss that now diverged): outcome.
    i = _find(records, task="parity", solver="sgd", arm="defaults", success=False)
    records[i]["stop_reason"] = "diverged"
    expect[records[i]["key"]] = OUTCOME
    # One success of gradients' best solver on xor (sgd [tuned], 9/10) becomes a miss: outcome;
    # two other gradient solvers have 9/10 there, so the verdict's k/n stays and its solver
    # changes.
    i = _find(records, task="xor", solver="sgd", arm="tuned", success=True)
    _fail(records[i], "max_evaluations")
    expect[records[i]["key"]] = OUTCOME
    # The same on parity, where adam [tuned] (9/10) is far ahead: the k/n there changes.
    i = _find(records, task="parity", solver="adam", arm="tuned", success=True)
    _fail(records[i], "max_evaluations")
    expect[records[i]["key"]] = OUTCOME
    # One record removed: only in the base.
    i = _find(records, task="parity", solver="ga", arm="defaults", seed=5)
    expect[records.pop(i)["key"]] = "removed"
    return records, expect


@pytest.fixture(scope="module")
def against_perturbed(folder: Path, base_file: Path,
                      perturbed: tuple[list[Record], dict[str, str]]) -> Comparison:
    other = _write(folder / "other" / "raw" / "default.jsonl", perturbed[0])
    return compare(read_side(base_file, "default", "--base", "mine"),
                   read_side(other, "default", "OTHER", "theirs"))


@pytest.fixture(scope="module")
def against_itself(base_file: Path) -> Comparison:
    return compare(read_side(base_file, "default", "--base", "mine"),
                   read_side(base_file, "default", "OTHER", "theirs"))


def test_a_record_set_against_itself_is_identical_and_the_verdict_holds(
        against_itself: Comparison, reference: list[Record]) -> None:
    c = against_itself
    n = len(reference)  # every solver on both tasks, both arms (PPO unsupported): 450
    assert len(c.cells) == n and not c.only
    assert {d.kind for d in c.cells} == {IDENTICAL}
    counts = c.counts()
    assert counts.loc["all", IDENTICAL] == counts.loc["all", "cells"] == n
    assert counts.loc["sgd [tuned]", IDENTICAL] == 20  # one row per solver label, 2 tasks x 10
    assert [t.group for t in c.tasks] == ["xor", "parity (num_bits=4)"]
    assert c.verdict_holds and all(t.same_pick and t.same_counts for t in c.tasks)
    text = markdown(c)
    assert "The verdict holds" in text and f"{n} are identical" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert not any("→" in line or "**no**" in line for line in rows)


def test_each_difference_lands_in_its_class(
        against_perturbed: Comparison, perturbed: tuple[list[Record], dict[str, str]],
        reference: list[Record]) -> None:
    c = against_perturbed
    n = len(reference) - 1  # one record left out
    expect = perturbed[1]
    found = {d.key: d.kind for d in c.cells if d.kind != IDENTICAL}
    assert found == {k: v for k, v in expect.items() if v != "removed"}
    removed = [k for k, v in expect.items() if v == "removed"]
    assert [(o.key, o.side, o.label, o.seed) for o in c.only] == [(removed[0], "mine", "ga", 5)]
    counts = c.counts()
    assert counts.loc["all"].to_dict() == {"cells": n, IDENTICAL: n - 5, PARAMETERS: 1,
                                           COST: 1, OUTCOME: 3}
    assert counts.loc["numpy-backprop", PARAMETERS] == 1
    assert counts.loc["adam", COST] == 1
    assert counts.loc["sgd", OUTCOME] == counts.loc["sgd [tuned]", OUTCOME] == 1
    assert counts.loc["adam [tuned]", OUTCOME] == 1
    assert counts.loc["ga", "cells"] == 19


def test_outcome_changes_are_listed_with_both_stop_reasons_and_whether_expected(
        against_perturbed: Comparison) -> None:
    c = against_perturbed
    outcome = {(d.group, d.label): d for d in c.of_kind(OUTCOME)}
    diverged = outcome[("parity (num_bits=4)", "sgd")]
    assert (diverged.base_stop, diverged.other_stop) == ("max_evaluations", "diverged")
    assert diverged.note.startswith("expected: torch")  # sgd computes in torch
    missed = outcome[("xor", "sgd [tuned]")]
    assert missed.base_stop == missed.other_stop == "max_evaluations"  # success alone differs
    text = markdown(c)
    assert ("| parity (num_bits=4) | sgd | " in text
            and "| max_evaluations (target missed) | diverged (target missed) |" in text)
    assert "| max_evaluations (target reached) | max_evaluations (target missed) |" in text
    assert not c.unexpected


def test_a_changed_success_count_is_named_and_the_verdict_said_to_differ(
        against_perturbed: Comparison) -> None:
    c = against_perturbed
    assert not c.verdict_holds
    off = [t for t in c.tasks if not t.agrees]
    assert [t.group for t in off] == ["parity (num_bits=4)"]
    parity = off[0]
    assert parity.same_pick and not parity.same_counts
    assert parity.base_entries["gradients"].startswith("9/10 [")
    assert parity.other_entries["gradients"].startswith("8/10 [")
    assert parity.base_entries["evolution"] == parity.other_entries["evolution"]
    xor = c.tasks[0]
    assert xor.agrees and not xor.same_solvers
    assert xor.base_labels["gradients"] == "sgd [tuned]" != xor.other_labels["gradients"]
    text = markdown(c)
    assert "The verdict differs" in text and "it differs on parity (num_bits=4)." in text
    assert "**9/10 [0.60–0.98] → 8/10 [0.49–0.94]**" in text
    assert "best solver changed, with the same k/n, on xor." in text
    summary = "\n".join(summary_lines(c))
    assert "outcome 3" in summary and "The verdict differs" in summary


def test_an_outcome_change_in_a_numpy_solver_is_flagged_unless_cpu_dependent(
        folder: Path, base_file: Path, reference: list[Record]) -> None:
    records = copy.deepcopy(reference)
    i = _find(records, task="xor", solver="ga", arm="defaults", success=True)
    _fail(records[i], "max_evaluations")
    j = _find(records, task="xor", solver="zorb", arm="defaults", seed=1)
    records[j]["stop_reason"] = "numerical_failure"
    records[j]["error"] = ("NumericalFailureError: ZORBSolver's exported parameters do not "
                           "reproduce its own forward pass (CPU-dependent: ...)")
    other = _write(folder / "numpy" / "default.jsonl", records)
    c = compare(read_side(base_file, "default", "--base", "mine"),
                read_side(other, "default", "OTHER", "theirs"))
    assert [(d.label, d.expected) for d in c.of_kind(OUTCOME)] == [("zorb", True), ("ga", False)]
    assert [d.label for d in c.unexpected] == ["ga"]
    assert "not expected" in markdown(c) and "not expected" in summary_lines(c)[-1]


def test_the_command_writes_the_section_and_prints_the_summary(
        folder: Path, base_file: Path, perturbed: tuple[list[Record], dict[str, str]],
        capsys: pytest.CaptureFixture[str], reference: list[Record]) -> None:
    n = len(reference) - 1
    other = _write(folder / "cli" / "raw" / "default.jsonl", perturbed[0])
    assert main([str(other.parent.parent), "--base", str(base_file.parent.parent)]) == 0
    written = base_file.parent.parent / "compare-default.md"
    text = written.read_text(encoding="utf-8")
    assert text.startswith(f"## Comparison with {other.parent.parent}\n\n")
    assert f"| **all** | {n} | {n - 5} | 1 | 1 | 3 |" in text
    out = capsys.readouterr().out
    assert f"{n} cells in both (1 only in" in out and f"wrote {written}" in out
    chosen = folder / "elsewhere.md"
    assert main([str(other), "--base", str(base_file), "--out", str(chosen)]) == 0
    assert chosen.read_text(encoding="utf-8") == text.replace(
        str(other.parent.parent), str(other)).replace(str(base_file.parent.parent),
                                                      str(base_file))


def _junk(folder: Path) -> Path:
    path = folder / "junk.jsonl"
    path.write_text("not json\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "which does not exist: give a results folder"),
        (lambda d: d, "a folder without records of suite 'default'"),
        (lambda d: _write(d / "empty.jsonl", []), "holds no records; run a suite first"),
        (_junk, "holds no records (1 unreadable lines, the first: "),
    ],
    ids=["missing", "folder-without-records", "empty", "unreadable"],
)
def test_bad_inputs_exit_2_naming_the_path(
        tmp_path: Path, base_file: Path, make: Any, message: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = make(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([str(path), "--base", str(base_file), "--out", str(tmp_path / "out.md")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("python -m benchmarks.compare: error: ")
    assert (f"{str(path)!r} (from the OTHER argument)" in err
            or f"The OTHER argument names {str(path)!r}" in err)
    assert message in err
    assert not (tmp_path / "out.md").exists()


def test_no_cell_in_common_exits_2(tmp_path: Path, base_file: Path, reference: list[Record],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    records = copy.deepcopy(reference[:5])
    for r in records:
        r["key"] = "x" + r["key"]
    other = _write(tmp_path / "other.jsonl", records)
    with pytest.raises(SystemExit) as stop:
        main([str(other), "--base", str(base_file), "--out", str(tmp_path / "out.md")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "have no cell in common" in err and str(other) in err
    with pytest.raises(CompareError, match="no cell in common"):
        compare(read_side(base_file, "default", "--base", "a"),
                read_side(other, "default", "OTHER", "b"))
