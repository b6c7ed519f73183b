"""The null baseline (``random-search``, paradigm "baseline") in the report: each task's section
says how far each solver beats it, as the ratio of ERTs in evaluations with misses counted; the
baseline is tuned and compared like a solver, and never one of the verdict's paradigm picks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks.records import RunRecord
from benchmarks.report import document
from benchmarks.report.analysis import group_records
from benchmarks.report.baseline import is_baseline, label_ert, versus_baseline_lines
from benchmarks.report.comparisons import arm_labels
from benchmarks.report.stats import ert
from benchmarks.report.verdict import representatives
from benchmarks.suites import Suite, TaskEntry, _b
from solvers import SOLVERS
from tasks import get_task
from tests.benchmarks.test_report import _record

N = get_task("iris").n_train


def _runs(solver: str, solved: list[int | None], arm: str = "defaults") -> list[RunRecord]:
    """One run per seed; ``solved[s]`` is the iteration reaching the target (``None``: a miss,
    which spends 60 iterations). Every iteration costs ``n_train`` evaluations."""
    out = []
    for seed, at in enumerate(solved):
        record = _record("iris", {}, solver, seed, solved_at=at)
        if arm != "defaults":
            record = dataclasses.replace(record, arm=arm, key=record.key + arm)
        out.append(record)
    return out


def _paragraph(records: list[RunRecord]) -> str:
    (group,) = group_records(records)
    return "\n".join(versus_baseline_lines(group))


def test_the_baseline_is_known_by_its_declared_paradigm() -> None:
    assert is_baseline("random-search") and is_baseline("random-search [tuned]")
    assert not any(is_baseline(n) for n in SOLVERS if SOLVERS[n].paradigm != "baseline")


def test_the_ratio_is_the_baselines_ert_over_the_solvers_with_misses_counted() -> None:
    """Random search: 2 of 4 seeds at 50 iterations, two misses of 60: ERT 110 n_train.
    Adam: every seed at 5 iterations: ERT 5 n_train; the ratio is 22."""
    records = _runs("random-search", [50, 50, None, None]) + _runs("adam", [5, 5, 5, 5])
    (group,) = group_records(records)
    assert label_ert(group, "random-search") == pytest.approx(110 * N)
    assert label_ert(group, "random-search") == ert([50 * N, 50 * N, 60 * N, 60 * N],
                                                    [True, True, False, False])
    text = _paragraph(records)
    assert "`random-search` reached the target in 2/4 runs" in text
    assert "adam 22×" in text
    assert "the best solver needs 22× fewer" in text
    assert "tests little" not in text


def test_a_task_random_search_solves_as_cheaply_says_it_tests_little() -> None:
    records = _runs("random-search", [20, 20, 20]) + _runs("adam", [200, 200, 200])
    text = _paragraph(records)
    assert "adam 0.1×" in text
    assert "**This task tests little**" in text


def test_infinite_erts_are_said_in_words() -> None:
    only_solver = _runs("random-search", [None, None]) + _runs("adam", [5, 5])
    text = _paragraph(only_solver)
    assert "adam reaches the target, random search does not" in text
    assert "asks for more than luck" in text
    only_baseline = _runs("random-search", [10, 10]) + _runs("adam", [None, None])
    text = _paragraph(only_baseline)
    assert "adam does not reach the target, random search does" in text
    assert "tests little" in text
    neither = _runs("random-search", [None]) + _runs("adam", [None])
    assert "adam: neither reaches the target" in _paragraph(neither)


def test_no_baseline_no_line() -> None:
    assert _paragraph(_runs("adam", [5, 5])) == ""


def test_each_arm_is_compared_with_the_baseline_of_its_own_arm() -> None:
    records = (_runs("random-search", [40, 40]) + _runs("adam", [20, 20])
               + _runs("random-search", [10, 10], arm="tuned") + _runs("adam", [5, 5], arm="tuned"))
    lines = [line for line in _paragraph(records).splitlines() if line]
    assert len(lines) == 2
    assert "`random-search` reached" in lines[0] and "adam 2.0×" in lines[0]
    assert "`random-search [tuned]` reached" in lines[1] and "adam [tuned] 2.0×" in lines[1]


def test_the_task_section_carries_the_line_under_its_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(document.fig, "TASK_FIGURES", ())  # the line, not the pictures
    (group,) = group_records(_runs("random-search", [50, 50]) + _runs("adam", [5, 5]))
    figs = document._Figures(folder=tmp_path, base=tmp_path)
    text = "\n".join(document._task_section(group, figs))
    table = text.index("| random-search |")
    assert text.index("**Against random search**") > table
    assert "adam 10×" in text


def test_the_baseline_is_compared_and_tuned_but_never_a_paradigm_pick() -> None:
    records = _runs("random-search", [2, 2, 2]) + _runs("adam", [50, 50, 50])
    (group,) = group_records(records)
    reps = representatives(group, arm="defaults")
    assert set(reps) == {"gradients"} and reps["gradients"].label == "adam"
    labels, _ = arm_labels([group])
    assert "random-search" in labels
    suite = Suite(name="t", description="t", tasks=(TaskEntry(name="iris", budget=_b(1000)),),
                  solvers=("adam", "random-search"), seeds=(1,), arms=("trial",), trials=2)
    assert {c.solver for c in suite.cells(tuple(SOLVERS))} == {"adam", "random-search"}
    every = Suite(name="t", description="t", tasks=(TaskEntry(name="iris", budget=_b(1000)),),
                  seeds=(1,))
    assert "random-search" in every.solver_names(tuple(SOLVERS))
