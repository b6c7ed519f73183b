"""The verdict separates reliability from cost, says when it cannot decide, and its numbers
recompute from the records."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from benchmarks.records import RunRecord
from benchmarks.report.analysis import group_records
from benchmarks.report.stats import cost_given_success, mcnemar, wilson_interval
from benchmarks.report.verdict import task_verdicts, verdict_section
from tests.benchmarks.test_report import _record


def _slow_and_sure_vs_fast_and_rare(seeds: int = 12) -> list[RunRecord]:
    """sgd (gradients) always succeeds, slowly; zorb (closed form) succeeds on 3 seeds in 12,
    each time at a hundredth of sgd's cost; ga (evolution) never does."""
    out = []
    for s in range(seeds):
        out.append(_record("xor", {}, "sgd", s, solved_at=200))
        out.append(_record("xor", {}, "zorb", s, solved_at=2 if s % 4 == 0 else None,
                           iterations=2))
        out.append(_record("xor", {}, "ga", s, solved_at=None, iterations=50))
    return out


def test_reliable_but_slow_against_rare_but_fast_is_reported_as_exactly_that() -> None:
    groups = group_records(_slow_and_sure_vs_fast_and_rare())
    (v,) = task_verdicts(groups, arm="defaults")
    assert v.pick == "gradients"
    rel = v.reliability["closed form"]
    assert (rel.a_only, rel.b_only, rel.both) == (9, 0, 3)
    assert rel.favours == "a" and v.p_reliability["closed form"] < 0.05
    cost = v.cost["closed form"]
    # Where both succeeded, the closed form is the cheaper one: the verdict must not turn the
    # gradient method's reliability into a "cheaper" claim.
    assert cost.n == 3 and cost.favours == "b" and cost.b_cheaper == 3
    text = "\n".join(verdict_section(groups))
    row = next(line for line in text.splitlines() if line.startswith("| xor"))
    assert "gradients: 12/12" in row and "closed form: 3/12" in row
    assert re.search(r"closed form: 0\.0\d+× \[", row), row  # the rival is ~100x cheaper
    assert "cheaper" not in row.lower()


def test_verdict_numbers_recompute_from_the_records() -> None:
    records = _slow_and_sure_vs_fast_and_rare()
    groups = group_records(records)
    text = "\n".join(verdict_section(groups))
    sgd = [r for r in records if r.solver == "sgd"]
    lo, hi = wilson_interval(sum(r.success for r in sgd), len(sgd))
    assert f"12/12 [{lo:.2f}–{hi:.2f}]" in text
    a = np.array([r.evaluations_to_target or math.inf for r in sgd], dtype=float)
    z = np.array([r.evaluations_to_target if r.success else math.inf
                  for r in records if r.solver == "zorb"], dtype=float)
    assert mcnemar(np.isfinite(a), np.isfinite(z)).a_only == 9
    c = cost_given_success(a, z)
    assert c.n == 3 and c.ratio == pytest.approx(
        float(np.median(a[np.isfinite(z)])) / float(np.median(z[np.isfinite(z)])))


def test_the_verdict_says_when_the_data_cannot_decide() -> None:
    records = []
    for s in range(4):  # two solvers alike on four seeds: no test can separate them
        records.append(_record("xor", {}, "sgd", s, solved_at=100 + s))
        records.append(_record("xor", {}, "cmaes", s, solved_at=101 + s))
    (v,) = task_verdicts(group_records(records), arm="defaults")
    assert v.decided == "open"
    assert "cannot decide" in "\n".join(verdict_section(group_records(records)))


def test_mcnemar_and_newcombe_on_known_values() -> None:
    r = mcnemar([1] * 10, [1, 1] + [0] * 8)
    assert (r.a_only, r.b_only) == (8, 0)
    assert r.pvalue == pytest.approx(2 * 0.5**8)
    assert r.diff == pytest.approx(0.8)
    assert r.low < r.diff < r.high <= 1.0
    same = mcnemar([1, 0, 1], [1, 0, 1])
    assert same.pvalue == 1.0 and same.diff == 0.0


def test_paired_wins_matrix_agrees_with_the_comparison_table() -> None:
    from benchmarks.report.comparisons import compare, table, win_shares

    groups = group_records(_slow_and_sure_vs_fast_and_rare())
    labels = ["sgd", "zorb", "ga"]
    comparisons = compare(groups, [("sgd", "zorb"), ("sgd", "ga"), ("zorb", "ga")])
    share, notes = win_shares(comparisons, labels)
    rows = table(comparisons)
    for c in comparisons:
        i, j = labels.index(c.a), labels.index(c.b)
        row = next(r for r in rows if r.startswith(f"| {c.a} vs {c.b} |"))
        cells = [x.strip() for x in row.strip("|").split("|")]
        both = int(cells[5])
        a_cheaper, b_cheaper = (int(x) for x in cells[6].split("/"))
        if both == 0:
            assert math.isnan(share[i, j]) and notes[i, j] == ""
            continue
        ties = both - a_cheaper - b_cheaper
        assert share[i, j] == pytest.approx((a_cheaper + ties / 2) / both)
        assert share[j, i] == pytest.approx(1 - share[i, j])
    # sgd vs zorb: zorb cheaper in every block where both succeeded, and sgd more reliable.
    sz = comparisons[0]
    assert share[1, 0] == 1.0 and sz.reliability.favours == "a"
    assert "more reliable" in sz.verdict() and "**sgd** cheaper" not in sz.verdict()


@pytest.mark.slow
def test_the_committed_verdict_recomputes_from_its_records() -> None:
    """Every number of the reference report's verdict comes from the records next to it."""
    from pathlib import Path

    from benchmarks.records import read_records

    root = Path(__file__).resolve().parents[2] / "results" / "reference"
    report = (root / "report.md").read_text(encoding="utf-8")
    records = read_records([root / "raw" / "default.jsonl"]).records
    section = "\n".join(verdict_section(group_records(records))).strip()
    start = report.index("## Verdict")
    end = report.index("\n## ", start + 1)
    # The Robustness subsection closes the verdict; it reads the robustness studies' records.
    robustness = report.find("\n### Robustness", start, end)
    end = end if robustness < 0 else robustness
    assert report[start:end].strip() == section


def _two_regimes() -> list[RunRecord]:
    """xor (smooth supervised): sgd always, ga never; cartpole (control): ga always, reinforce
    on half the seeds at ten times the cost."""
    out = []
    for s in range(10):
        out.append(_record("xor", {}, "sgd", s, solved_at=100))
        out.append(_record("xor", {}, "ga", s, solved_at=None, iterations=50))
        out.append(_record("cartpole", {}, "ga", s, solved_at=5))
        out.append(_record("cartpole", {}, "reinforce", s,
                           solved_at=2000 if s % 2 else None, iterations=2000))
    return out


def test_the_verdict_answers_each_regime_apart_and_says_where_they_disagree() -> None:
    from benchmarks.report.verdict import regime_of

    groups = group_records(_two_regimes())
    assert {g.name: regime_of(g) for g in groups} == {
        "xor": "smooth supervised", "cartpole": "control"}
    text = "\n".join(verdict_section(groups))
    assert "2 regimes — smooth supervised (1), control (1)" in text
    smooth = text.index("### Smooth supervised")
    control = text.index("### Control")
    where = text.index("### Where the regimes agree and disagree")
    assert smooth < control < where
    # Each regime has its own table: xor's row under its heading, cartpole's under control's.
    assert smooth < text.index("| xor |") < control < text.index("| cartpole |") < where
    # Closed form is said once to be not applicable on control, and nowhere per cell.
    assert text.count("not applicable to control") == 1
    assert "**Control** (1 tasks): picked evolution on 1" in text
    assert "**Smooth supervised** (1 tasks): picked gradients on 1" in text
    assert "The regimes **disagree**" in text


def test_one_regime_keeps_one_table_without_regime_headings() -> None:
    text = "\n".join(verdict_section(group_records(_slow_and_sure_vs_fast_and_rare())))
    assert "1 regime — smooth supervised (1)" in text
    assert "###" not in text


def _horizons() -> list[RunRecord]:
    """logistic_map at T = 5, 10, 20: adam always succeeds at T = 5 and never from T = 10;
    openai-es succeeds everywhere, at four times adam's cost at T = 5."""
    out = []
    for t in (5, 10, 20):
        for s in range(10):
            out.append(_record("logistic_map", {"horizon": t}, "adam", s,
                               solved_at=50 if t == 5 else None, iterations=300))
            out.append(_record("logistic_map", {"horizon": t}, "openai-es", s, solved_at=200,
                               iterations=300))
    return out


def test_the_long_horizon_regime_says_from_which_horizon_evolution_is_the_pick() -> None:
    """Issue 28: unrolled tasks form their own regime, and its answer names the first T from
    which every pick is evolution's, decided, with the picks at each T."""
    from benchmarks.report.verdict import regime_of

    groups = group_records(_horizons())
    assert {regime_of(g) for g in groups} == {"long horizon"}
    text = "\n".join(verdict_section(groups))
    assert "1 regime — long horizon (3)" in text
    line = next(x for x in text.splitlines() if x.startswith("- **From which horizon"))
    assert "evolution is the decided pick from T = 10 on (to the longest horizon run, 20)" in line
    assert "T = 5: gradients" in line and "T = 20: evolution" in line


def test_the_scope_states_seeds_per_task_where_tasks_differ() -> None:
    """The horizon suite runs logistic_map on 10 seeds and its other tasks on 5: the scope says
    so instead of the union of all seeds."""
    text = "\n".join(verdict_section(group_records(_horizons())))
    assert "10 evaluation seeds each" in text
    fewer = [r for r in _horizons() if r.task_options["horizon"] != 20 or r.seed < 5]
    text = "\n".join(verdict_section(group_records(fewer)))
    assert "5-10 evaluation seeds per task" in text and "seeds each" not in text


@pytest.mark.parametrize("sign", [1, -1])
def test_the_pooled_cost_interval_that_straddles_one_keeps_its_side(sign: int) -> None:
    """A median cost ratio just above 1 with an interval from below 1 to 8.5: the line states
    the interval around its median, in the median's orientation (it once folded the side below
    1 onto the other side and printed "1× [1.1–8.5]")."""
    from benchmarks.report.stats import CostGivenSuccess, Reliability
    from benchmarks.report.verdict import Pooled, _pooled_lines

    # log10(cost_a / cost_b): a is cheaper when sign = -1.
    cost = CostGivenSuccess(n=3, a_cheaper=1, b_cheaper=2, ties=0, log_ratio=sign * 0.0128,
                            low=sign * -0.0414 if sign > 0 else -0.929,
                            high=0.929 if sign > 0 else 0.0414, pvalue=1.0)
    reliability = Reliability(n=10, a_only=1, b_only=1, both=3, neither=5, pvalue=1.0,
                              diff=0.0, low=-0.3, high=0.3)
    line = _pooled_lines([Pooled("gradients", "evolution", reliability, cost, 1.0, 1.0)])[0]
    other, cheaper = ("gradients", "evolution") if sign > 0 else ("evolution", "gradients")
    assert f"{other} needed a median 1× [0.91–8.5] the evaluations of {cheaper}" in line


def test_a_huge_weight_note_explains_it_by_the_paradigm_that_made_it() -> None:
    """Gradient steps that blew the weights up are explained by an exploding gradient (and
    clipping), not by nevergrad's PSO, which the note names only for PSO's own runs."""
    import dataclasses

    records = []
    for seed in range(4):
        records.append(_record("xor", {}, "ga", seed, solved_at=30))
        sgd = _record("xor", {}, "sgd", seed, solved_at=None)  # gradients' only solver
        records.append(dataclasses.replace(sgd, final_params=[3e7] + [0.1] * 8))
    text = "\n".join(verdict_section(group_records(records)))
    line = next(x for x in text.splitlines() if "`sgd`'s largest weight" in x)
    assert "exploding gradient" in line and "clipping" in line and "PSO" not in line


def test_the_tuning_caveat_says_whether_the_records_hold_a_tuned_arm() -> None:
    import pandas as pd

    from benchmarks.report.document import _tuning_caveat

    assert "Defaults, not tuned" in _tuning_caveat(pd.DataFrame({"arm": ["defaults"] * 3}))
    both = _tuning_caveat(pd.DataFrame({"arm": ["defaults", "tuned"]}))
    assert "Tuned on other seeds" in both and "no per-task tuning" not in both
