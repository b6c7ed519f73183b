"""The breadth study: the within-paradigm ranking, the rule that picks the default suite's
solvers from it, and the default suite built from the committed choice."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.records import RunRecord
from benchmarks.report.analysis import group_records
from benchmarks.report.breadth import (
    KEEP_PER_PARADIGM,
    choose,
    ranked,
    standings,
    within_paradigm_section,
    write_breadth,
)
from benchmarks.report.verdict import verdict_section
from benchmarks.suites import BREADTH, DEFAULT, REFERENCE_BREADTH, narrowed
from solvers import SOLVERS, builtin_solvers
from tests.benchmarks.test_report import _record


def _three_evolvers() -> list[RunRecord]:
    """On xor: cmaes 10/10 and cheap, openai-es 10/10 at 3x cmaes's cost, ga 4/10; on and:
    openai-es 10/10, cmaes 6/10, ga 0/10; adam and sgd alike on both."""
    out = []
    for s in range(10):
        out.append(_record("xor", {}, "cmaes", s, solved_at=10))
        out.append(_record("xor", {}, "openai-es", s, solved_at=30))
        out.append(_record("xor", {}, "ga", s, solved_at=5 if s < 4 else None))
        out.append(_record("and", {}, "openai-es", s, solved_at=20))
        out.append(_record("and", {}, "cmaes", s, solved_at=20 if s < 6 else None))
        out.append(_record("and", {}, "ga", s, solved_at=None))
        for task in ("xor", "and"):
            out.append(_record(task, {}, "adam", s, solved_at=50))
            out.append(_record(task, {}, "sgd", s, solved_at=80))
    return out


def test_ranking_is_success_rate_then_ert() -> None:
    xor, and_ = group_records(_three_evolvers())
    rows = ranked(xor, "evolution")
    assert [r.solver for r in rows] == ["cmaes", "openai-es", "ga"]
    assert [(r.successes, r.runs) for r in rows] == [(10, 10), (10, 10), (4, 10)]
    assert rows[1].ert == pytest.approx(3 * rows[0].ert)
    assert [r.solver for r in ranked(and_, "evolution")] == ["openai-es", "cmaes", "ga"]


def test_standings_count_wins_then_successes() -> None:
    groups = group_records(_three_evolvers())
    top = standings(groups, "evolution")
    # One win each for cmaes and openai-es: openai-es has more successes (20 against 16).
    assert [(s.solver, s.wins, s.successes) for s in top] == [
        ("openai-es", 1, 20), ("cmaes", 1, 16), ("ga", 0, 4)]
    assert math.isinf(top[2].trail)  # ga missed "and", where the best succeeded


def test_section_states_each_solvers_trail_behind_the_best() -> None:
    groups = group_records(_three_evolvers())
    text = "\n".join(within_paradigm_section(groups, {g.name: "smooth supervised"
                                                      for g in groups}))
    assert "### Smooth supervised: gradients" in text
    text = text.split("### Smooth supervised: evolution")[1]
    row = next(line for line in text.splitlines() if line.startswith("| xor"))
    assert row.startswith("| xor | cmaes |")
    assert "**10/10, 1.0×**" in row and "10/10, 3.0×" in row and "4/10, " in row
    row = next(line for line in text.splitlines() if line.startswith("| and"))
    assert "0/10, no success" in row
    assert "Strongest: **openai-es (best on 1 of 2 tasks" in text


def test_the_verdict_names_each_paradigms_strongest_solver() -> None:
    text = "\n".join(verdict_section(group_records(_three_evolvers())))
    assert "Strongest solver of each paradigm here" in text
    assert "evolution: openai-es (best on 1 of 2 tasks" in text


def test_choose_keeps_the_strongest_per_paradigm(tmp_path: Path) -> None:
    records = _three_evolvers()
    document = choose(records)
    assert document["keep_per_paradigm"] == KEEP_PER_PARADIGM == 2
    evolution = document["standings"]["smooth supervised"]["evolution"]
    assert [e["solver"] for e in evolution] == ["openai-es", "cmaes", "ga"]
    # "and" is not a default-suite entry: the choice names only the suite's entries.
    assert set(document["solvers"]) == {"xor"}
    path = write_breadth(records, tmp_path)
    assert json.loads(path.read_text())["rule"] == document["rule"]


def test_choose_names_the_kept_solvers_per_default_entry() -> None:
    records = [r for r in _three_evolvers() if r.task == "xor"]
    document = choose(records)
    assert document["solvers"]["xor"] == ["sgd", "adam", "cmaes", "openai-es"]


def test_default_suite_runs_what_the_committed_choice_keeps() -> None:
    """The main command's cells: each entry limited to its kept solvers, none outside them."""
    entries = narrowed(BREADTH)
    if not REFERENCE_BREADTH.exists():
        pytest.skip("no committed breadth choice")
    chosen = json.loads(REFERENCE_BREADTH.read_text())["solvers"]
    assert DEFAULT.tasks == entries
    cells = list(DEFAULT.cells(tuple(SOLVERS)))
    for entry in DEFAULT.tasks:
        ran = {c.solver for c in cells if c.task == entry.name}
        assert entry.solvers is not None
        assert ran == set(entry.solvers) & set(builtin_solvers(tuple(SOLVERS)))
    assert all(e.solvers is not None for e in DEFAULT.tasks) == (len(chosen) == len(entries))


def test_a_missing_choice_file_leaves_every_solver(tmp_path: Path) -> None:
    assert narrowed(BREADTH, tmp_path / "absent.json") == BREADTH.tasks
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert narrowed(BREADTH, bad) == BREADTH.tasks


def test_a_paradigm_with_one_solver_is_named_as_the_only_one() -> None:
    records = [r for r in _three_evolvers() if r.solver != "sgd"]
    text = "\n".join(verdict_section(group_records(records)))
    assert "gradients: adam (best on 2 of 2 tasks, 20/20 runs reached the target), the only " \
           "one that runs here" in text
