"""Robustness studies (issue 25): the expected best of k trials is exact, the 32-trial study
reuses the committed trials by key, the budget and seeds studies run what the verdict selects,
and the verdict's Robustness subsection says where the checks change the answer."""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from benchmarks.engine.runner import key_of
from benchmarks.records import RecordWriter, RunRecord, read_records
from benchmarks.report.analysis import group_records
from benchmarks.report.robustness import budget_pairs, compare_picks, robustness_section
from benchmarks.report.verdict import TaskVerdict
from benchmarks.studies.robustness import (
    STUDIES,
    budget_suite,
    expected_best_curve,
    expected_best_of_k,
    plateau_k,
    reuse_records,
    seeds_suite,
    study_cost,
)
from benchmarks.suites import (
    BUDGET10X,
    DEFAULT,
    SEEDS30,
    SUITES,
    TUNED32,
    TUNING,
    TUNING32,
    entry_key,
)
from solvers import SOLVERS
from tasks.errors import InvalidParameterError
from tests.benchmarks.test_report import _record

# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------


def _brute_force(scores: Sequence[float], k: int) -> float:
    """The mean, over every k-subset of the trials, of the subset's best (lowest) score."""
    best = [min(subset) for subset in itertools.combinations(scores, k)]
    if any(math.isinf(b) for b in best):
        return math.inf
    return statistics.fmean(best)


@pytest.mark.parametrize("scores", [
    [5.0],
    [3.0, 1.0, 2.0],
    [4.0, 4.0, 4.0, 4.0],                             # all tied
    [3.0, 1.0, 3.0, 2.0, 1.0, 7.0],                   # ties among the best and the rest
    [math.inf, 2.0, math.inf, 8.0, 2.0],              # misses and ties
    [math.inf, math.inf, math.inf],                   # no trial ever succeeded
    [0.0, math.inf, 10.0, 10.0, math.inf, math.inf, 1e6],
])
def test_expected_best_of_k_equals_enumerating_every_k_subset(scores: list[float]) -> None:
    for k in range(1, len(scores) + 1):
        got, want = expected_best_of_k(scores, k), _brute_force(scores, k)
        assert got == want if math.isinf(want) else got == pytest.approx(want, rel=1e-12), k
    assert expected_best_curve(scores) == [expected_best_of_k(scores, k)
                                           for k in range(1, len(scores) + 1)]


def test_expected_best_of_k_on_random_trials_with_misses() -> None:
    rng = np.random.default_rng(25)
    for _ in range(20):
        n = int(rng.integers(1, 10))
        scores = [math.inf if rng.random() < 0.3 else float(rng.choice([1.0, 2.0, 3.5, 10.0]))
                  for _ in range(n)]
        curve = expected_best_curve(scores)
        for k, value in enumerate(curve, start=1):
            want = _brute_force(scores, k)
            assert value == want if math.isinf(want) else value == pytest.approx(want)
        # More trials never make the expected best worse; all n trials give the best of them.
        assert all(b <= a for a, b in itertools.pairwise(curve))
        assert curve[-1] == min(scores)
        # Finite from k = (number of misses) + 1 on: then every k-subset holds a success.
        misses = sum(math.isinf(s) for s in scores)
        assert [math.isinf(v) for v in curve] == [k <= misses for k in range(1, n + 1)]


@pytest.mark.parametrize(("scores", "k", "match"), [
    ([], 1, "'scores' parameter of expected_best_of_k"),
    ([1.0, math.nan], 1, "'scores' parameter of expected_best_of_k"),
    ([1.0, -math.inf], 1, "'scores' parameter of expected_best_of_k"),
    ([1.0, 2.0], 0, r"'k' parameter of expected_best_of_k must be an int in the range \[1, 2\]"),
    ([1.0, 2.0], 3, r"'k' parameter of expected_best_of_k .* Got 3 instead"),
])
def test_expected_best_of_k_refuses_bad_input(scores: list[float], k: int, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        expected_best_of_k(scores, k)


def test_plateau_is_the_first_k_within_five_percent_of_the_last() -> None:
    assert plateau_k([100.0, 50.0, 20.0, 10.4, 10.2, 10.0]) == 4
    assert plateau_k([math.inf, math.inf, 30.0, 30.0]) == 3
    assert plateau_k([math.inf, math.inf]) is None
    assert plateau_k([7.0]) == 1


# --------------------------------------------------------------------------------------------
# The studies' suites
# --------------------------------------------------------------------------------------------


def test_robustness_suites_are_registered_and_have_a_study_each() -> None:
    for suite in (TUNING32, TUNED32, BUDGET10X, SEEDS30):
        assert SUITES[suite.name] is suite
        assert STUDIES[suite.name].suite == suite.name
    assert TUNING32.trials == 32 and TUNING32.sobol_seed == TUNING.sobol_seed
    assert TUNING32.seeds == TUNING.seeds


def test_the_32_trials_start_with_the_committed_8_for_every_solver() -> None:
    for name in SOLVERS:
        assert TUNING32.trial_configs(name)[:8] == TUNING.trial_configs(name), name


def test_trials_0_to_7_of_the_32_trial_study_are_the_tuning_studys_cells_key_for_key() -> None:
    """Their records are reused by key, so the keys must be the committed study's."""
    for entry in TUNING32.tasks[:2]:  # xor and parity: two search spaces' worth of solvers
        small = dataclasses.replace(TUNING32, tasks=(entry,))
        own = [c for c in small.cells(tuple(SOLVERS)) if c.trial is not None and c.trial < 8]
        base = dataclasses.replace(
            TUNING, tasks=tuple(e for e in TUNING.tasks
                                if entry_key(e.name, e.options) == entry_key(entry.name,
                                                                             entry.options)))
        theirs = [c for c in base.cells(tuple(SOLVERS)) if c.solver in (entry.solvers or ())]
        assert own and own == theirs
        assert [key_of(c) for c in own] == [key_of(c) for c in theirs]
    # ... and trials 8-31 are new cells, 24 per solver and seed.
    cells = list(dataclasses.replace(TUNING32, tasks=TUNING32.tasks[:1]).cells(tuple(SOLVERS)))
    assert max(c.trial or 0 for c in cells) == 31


def test_the_32_trial_study_tunes_the_solvers_the_default_suite_tunes() -> None:
    default = {entry_key(e.name, e.options): set(e.solvers or ()) for e in DEFAULT.tasks}
    for entry in TUNING32.tasks:
        ran = {c.solver for c in dataclasses.replace(TUNING32, tasks=(entry,)).cells(
            tuple(SOLVERS))}
        assert ran <= default[entry_key(entry.name, entry.options)]
        assert not ran & {"ngopt", "de", "pso", "ppo", "sklearn-mlp"}


def test_budget_study_runs_each_pair_at_ten_times_its_budget_in_its_arm() -> None:
    suite = budget_suite([("step", {}, "cmaes", "tuned"),
                          ("parity", {"num_bits": 4, "data_seed": 3}, "ga", "defaults")])
    cells = list(suite.cells(tuple(SOLVERS), {"step": {"cmaes": {"sigma0": 0.3}}}))
    assert {(c.task, c.solver, c.arm) for c in cells} == {("step", "cmaes", "tuned"),
                                                          ("parity", "ga", "defaults")}
    assert sorted(c.seed for c in cells if c.task == "step") == list(range(10))
    step = next(c for c in cells if c.task == "step")
    base = next(e for e in DEFAULT.tasks if e.name == "step").budget
    assert step.budget.max_evaluations == 10 * (base.max_evaluations or 0)
    assert step.budget.max_seconds == 10 * (base.max_seconds or 0)
    assert step.budget.stop_at_target and step.solver_options == {"sigma0": 0.3}
    with pytest.raises(InvalidParameterError, match="none of them"):
        budget_suite([("sine", {"frequency": 9.0}, "ga", "tuned")])


def test_seeds_study_adds_seeds_to_the_undecided_tasks_keeping_the_first_ten_cells() -> None:
    suite = seeds_suite([("iris", {"data_seed": 4})])
    assert [e.name for e in suite.tasks] == ["iris"]
    assert suite.seeds == tuple(range(30))
    ours = [c for c in suite.cells(tuple(SOLVERS)) if c.seed < 10]
    default = dataclasses.replace(DEFAULT, tasks=suite.tasks)
    assert ours == list(default.cells(tuple(SOLVERS)))  # seeds 0-9: the default suite's cells


def test_reuse_copies_only_the_wanted_records_once(tmp_path: Path) -> None:
    source, target = tmp_path / "src.jsonl", tmp_path / "raw" / "study.jsonl"
    records = [dataclasses.replace(_record("xor", {}, "sgd", s, solved_at=10), key=f"k{s}")
               for s in range(4)]
    with RecordWriter(source) as writer:
        for r in records:
            writer.write(r)
    assert reuse_records({"k1", "k3", "absent"}, [source, tmp_path / "none.jsonl"], target) == 2
    assert reuse_records({"k1", "k3"}, [source], target) == 0  # already there
    copied = read_records([target]).records
    assert [r.key for r in copied] == ["k1", "k3"]
    assert copied[0] == read_records([source]).records[1]  # the record, field for field
    made, reused, hours = study_cost([*copied, dataclasses.replace(
        records[0], suite="study", wall_seconds=7200.0)], "study")
    assert (made, reused, hours) == (1, 2, 2.0)


# --------------------------------------------------------------------------------------------
# The subsection
# --------------------------------------------------------------------------------------------


def _rec(solver: str, seed: int, solved_at: int | None, *, arm: str = "tuned",
         suite: str = "default", budget: int = 10**6, trial: int | None = None,
         config: dict[str, Any] | None = None) -> RunRecord:
    r = _record("xor", {}, solver, seed, solved_at=solved_at)
    return dataclasses.replace(
        r, arm=arm, suite=suite, trial=trial, key=f"{r.key}-{arm}-{suite}-{budget}-{trial}",
        budget={**r.budget, "max_evaluations": budget},
        config={**r.config, **(config or {})})


def _main(sgd_at: int | None, cmaes_at: Callable[[int], int | None]) -> list[RunRecord]:
    """The main study's records on xor: sgd and cmaes in the tuned arm, 10 seeds."""
    return [r for s in range(10) for r in (_rec("sgd", s, sgd_at), _rec("cmaes", s, cmaes_at(s)))]


def _write(path: Path, records: Sequence[RunRecord]) -> None:
    with RecordWriter(path) as writer:
        for r in records:
            writer.write(r)


def _no_figure(name: str, draw: Callable[[Path], Path | None], alt: str) -> list[str]:
    return []


def _section(tmp_path: Path, records: Sequence[RunRecord]) -> str:
    return "\n".join(robustness_section(group_records(records), tmp_path / "report.md",
                                        _no_figure))


def test_subsection_says_how_to_run_each_study_when_none_has_run(tmp_path: Path) -> None:
    text = _section(tmp_path, _main(100, lambda s: None))
    assert text.startswith("### Robustness")
    for suite, folder in (("tuning32", "tuning32"), ("tuned32", "tuning32"),
                          ("budget10x", "budget10x")):
        assert f"--suite {suite} --out {tmp_path / folder}" in text
    # Evolution never reached the target and every run ended by the budget: named.
    assert "xor (evolution, `cmaes [tuned]`)" in text
    assert "decides every task" in text or "nothing to add" in text
    # Only the main suite's report has the subsection.
    assert robustness_section(group_records(_main(100, lambda s: None)),
                              tmp_path / "report-breadth.md", _no_figure) == []


def test_pick_holds_or_changes_with_the_32_trial_choices(tmp_path: Path) -> None:
    main = _main(100, lambda s: 400)  # gradients cheaper on every seed: the pick
    folder = tmp_path / "tuning32" / "raw"
    _write(folder / "tuned32.jsonl", [
        *[_rec("sgd", s, 100) for s in range(10)],  # the same choice: the main study's cells
        *[_rec("cmaes", s, 300, suite="tuned32", config={"sigma0": 0.9}) for s in range(10)]])
    text = _section(tmp_path, main)
    assert "| xor | gradients | gradients | holds |" in text
    assert ("The checks change no answer above:** the pick holds at 32 trials, as firm as "
            "with 8, on xor") in text
    assert "| `tuned32` | 10 | 10 |" in text  # 10 made, 10 reused

    _write(folder / "tuned32.jsonl", [
        _rec("cmaes", s, 20, suite="tuned32", config={"sigma0": 0.2}) for s in range(10)])
    text = _section(tmp_path, main)
    assert "| xor | gradients | evolution | **changes** |" in text
    assert ("Where the checks change the answer:** xor: with 32 trials the pick is evolution, "
            "not gradients") in text


def test_a_pick_that_holds_but_changes_firmness_is_reported_as_a_change() -> None:
    def verdict(pick: str | None, decided: str) -> TaskVerdict:
        return cast(TaskVerdict, SimpleNamespace(pick=pick, decided=decided))

    firm, loose = verdict("gradients", "reliability"), verdict("gradients", "open")
    assert compare_picks(firm, verdict("gradients", "cost")) == ("holds", None)
    assert compare_picks(loose, loose) == ("holds", None)
    assert compare_picks(verdict(None, "open"), verdict(None, "open")) == ("holds", None)
    assert compare_picks(firm, loose) == (
        "holds, **no longer decided**",
        "the pick (gradients) holds at 32 trials but is no longer decided")
    assert compare_picks(loose, firm) == (
        "holds, **now decided**", "with 32 trials the pick (gradients) is decided")
    assert compare_picks(firm, verdict("evolution", "open")) == (
        "**changes**", "with 32 trials the pick is evolution (not decided), not gradients")


def test_tuning_curves_table_and_figure_from_the_32_trial_records(tmp_path: Path) -> None:
    records = []
    successes = {"sgd": [1, 0, 3, 2, 0, 3, 1, 3], "cmaes": [0] * 7 + [1]}
    for solver, per_trial in successes.items():
        for trial, ok in enumerate(per_trial):
            for k, seed in enumerate(TUNING32.seeds):
                records.append(_rec(solver, seed, 50 * (trial + 1) if k < ok else None,
                                    arm="trial", suite="tuning32", trial=trial,
                                    config={"momentum": 0.01 * trial} if solver == "sgd"
                                    else {"sigma0": 0.1 + 0.1 * trial}))
    _write(tmp_path / "tuning32" / "raw" / "tuning32.jsonl", records)
    drawn: list[Path] = []

    def draw(name: str, make: Callable[[Path], Path | None], alt: str) -> list[str]:
        path = make(tmp_path / f"{name}.png")
        assert path is not None
        drawn.append(path)
        return [f"![{alt}]({path.name})"]

    text = "\n".join(robustness_section(group_records(_main(100, lambda s: 400)),
                                        tmp_path / "report.md", draw))
    assert drawn and drawn[0].stat().st_size > 0
    from benchmarks.studies.tuning import score_trials

    scores = score_trials(records, TUNING32)["xor"]
    sgd = expected_best_curve([t.ert for t in scores["sgd"]])
    row = next(line for line in text.splitlines() if line.startswith("| xor | gradients | sgd"))
    assert f"| {sgd[-1]:,.0f} | {plateau_k(sgd)}" in row
    cmaes = expected_best_curve([t.ert for t in scores["cmaes"]])
    assert math.isinf(cmaes[6]) and plateau_k(cmaes) == 8  # one success in 8 trials
    # No evaluation runs yet: the subsection says which command gives the pick at 32.
    assert "have not run on the evaluation seeds" in text


def test_ten_times_the_budget_reaches_the_target_or_still_misses(tmp_path: Path) -> None:
    main = _main(100, lambda s: None)
    raw = tmp_path / "budget10x" / "raw" / "budget10x.jsonl"
    _write(raw, [_rec("cmaes", s, None, suite="budget10x", budget=10**7) for s in range(10)])
    text = _section(tmp_path, main)
    assert ("xor: at 10x the budget (10,000,000 evaluations), evolution (`cmaes [tuned]`) "
            "still 0/10.") in text
    assert "xor: `cmaes [tuned]` (evolution) misses the target at 10x the budget too" in text

    hits = [_rec("cmaes", s, 1000 + 100 * s if s < 3 else None, suite="budget10x",
                 budget=10**7) for s in range(10)]
    raw.unlink()
    _write(raw, hits)
    median = statistics.median(r.evaluations_to_target for r in hits
                               if r.evaluations_to_target is not None)
    text = _section(tmp_path, main)
    assert (f"at 10x the budget (10,000,000 evaluations), evolution (`cmaes [tuned]`) reaches "
            f"the target on 3/10 seeds at a median {median:,.0f} evaluations") in text
    assert "Where the checks change the answer:** xor: at 10x the budget" in text


def test_budget_pairs_are_what_the_verdict_reports_as_ended_by_the_budget() -> None:
    pairs = budget_pairs(group_records(_main(100, lambda s: None)))
    assert [(task, solver, arm) for task, _, solver, arm in pairs] == [("xor", "cmaes", "tuned")]
    # The record's options (with the task's resolved knobs) name the suite's entry.
    assert [e.name for e in budget_suite(pairs).tasks] == ["xor"]
    assert budget_pairs(group_records(_main(100, lambda s: 400))) == []


def test_undecided_task_decided_or_still_open_at_30_seeds(tmp_path: Path) -> None:
    # Both reach the target on every seed, each 10% cheaper than the other on half of them:
    # not decided (evolution's ERT is the lower by a hair: the pick).
    def alike(s: int, suite: str = "default") -> list[RunRecord]:
        return [_rec("sgd", s, 100 if s % 2 else 121, suite=suite),
                _rec("cmaes", s, 110, suite=suite)]

    main = [r for s in range(10) for r in alike(s)]
    assert "Not decided on the evaluation seeds: xor." in _section(tmp_path, main)
    raw = tmp_path / "seeds30" / "raw" / "seeds30.jsonl"
    # Seeds 10-29: evolution always reaches the target, gradients never: decided.
    more = [r for s in range(10, 30)
            for r in (_rec("sgd", s, None, suite="seeds30"),
                      _rec("cmaes", s, 110, suite="seeds30"))]
    _write(raw, [*main, *more])
    text = _section(tmp_path, main)
    assert "xor: **decided at 30 seeds**: evolution (the pick on 10 seeds)." in text
    assert "Where the checks change the answer:** xor: decided at 30 seeds (evolution)" in text

    raw.unlink()
    _write(raw, [*main, *[r for s in range(10, 30) for r in alike(s, "seeds30")]])
    text = _section(tmp_path, main)
    assert "xor: still not decided at 30 seeds (pick evolution)." in text
    assert "The checks change no answer above:** xor: still not decided at 30 seeds" in text
    assert "| `seeds30` | 40 | 20 |" in text


def test_the_subsection_sits_right_under_the_verdict_in_the_main_report(tmp_path: Path) -> None:
    from benchmarks.report.document import build_markdown

    records = _main(100, lambda s: None)
    text, _, _ = build_markdown(records, "t", tmp_path / "report.md", root=tmp_path)
    verdict, robustness = text.index("\n## Verdict"), text.index("\n### Robustness")
    assert verdict < robustness < text.index("\n## ", verdict + 1)
    assert text.rfind("| xor |", 0, robustness) > verdict  # after the verdict's table
    other, _, _ = build_markdown(records, "t", tmp_path / "report-x.md", root=tmp_path)
    assert "### Robustness" not in other


def test_narrow_study_reads_the_main_verdict_from_the_folder_above(tmp_path: Path) -> None:
    from benchmarks.report.robustness import narrow_study

    assert narrow_study(TUNING32, tmp_path / "tuning32") is TUNING32  # nothing to narrow
    with pytest.raises(InvalidParameterError, match="do not exist"):
        narrow_study(BUDGET10X, tmp_path / "budget10x")
    _write(tmp_path / "raw" / "default.jsonl", _main(100, lambda s: None))
    suite = narrow_study(BUDGET10X, tmp_path / "budget10x")
    assert [(e.name, e.solvers) for e in suite.tasks] == [("xor", ("cmaes",))]
    with pytest.raises(InvalidParameterError, match="decides every task"):
        narrow_study(SEEDS30, tmp_path / "seeds30")


def test_tuned32_needs_the_32_trial_choices_in_its_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.run_all import main

    with pytest.raises(SystemExit) as exc:
        main(["--suite", "tuned32", "--out", str(tmp_path / "tuning32"), "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "tuned32 study runs the choices of the 32-trial tuning study" in err
    assert "--suite tuning32 --out" in err
