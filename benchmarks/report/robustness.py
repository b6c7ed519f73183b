"""The verdict's *Robustness* subsection, and which runs the robustness studies need.

The verdict's picks rest on 8 tuning trials per solver and task, on budgets sized from Adam's
cost and on 10 seeds. Three committed studies (``benchmarks/studies/robustness.py``) stress
each, and this subsection, right under the verdict's tables, says from their records whether
the answer changes:

* **Tuning budget:** per task, the pick when each solver runs its 32-trial choice on the
  evaluation seeds (``tuned32``) against the pick above; the expected best ERT after ``k``
  trials (Dodge et al. 2019) per solver, drawn per task; and the ``k`` at which each paradigm's
  best solver stops improving.
* **Budget:** each paradigm the verdict reports as ended by the budget, at 10x the budget.
* **Seeds:** each task the verdict marks not decided, on 30 seeds.

It states each study's cost (runs made and reused, core-hours from the runs' wall seconds), and
for a study whose records are absent, the command that runs it. The studies' records live under
the report's folder (``<folder>/tuning32/raw/``, ``budget10x/``, ``seeds30/``); the main
command never runs them.

:func:`narrow_study` is the other direction: it reads the main study's records and narrows the
budget and seeds studies to what its verdict selects, before ``run_all.py`` runs them. It lives
here because it needs the verdict; the studies' module never imports the report.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.record_table import read_table
from benchmarks.records import RunRecord
from benchmarks.report.analysis import TaskGroup, group_records
from benchmarks.report.figures.robustness import tuning_curves_figure
from benchmarks.report.verdict import TaskVerdict, budget_ended, task_verdicts
from benchmarks.results import base_solver, group_name
from benchmarks.studies.robustness import (
    MAIN_SUITE,
    PLATEAU,
    STUDIES,
    RobustnessStudy,
    budget_suite,
    expected_best_curve,
    main_folder,
    plateau_k,
    seeds_suite,
    study_cost,
)
from benchmarks.studies.tuning import score_trials
from benchmarks.suites import (
    BUDGET10X,
    BUDGET_FACTOR,
    SEEDS30,
    TUNED32,
    TUNING,
    TUNING32,
    Suite,
    entry_key,
)
from solvers import SOLVERS
from solvers.base import PARADIGMS
from tasks.errors import InvalidParameterError

#: Draws a figure: ``(name, draw(path), alt text) -> Markdown lines`` (the report's figures).
Draw = Callable[[str, Callable[[Path], Path | None], str], list[str]]


# --------------------------------------------------------------------------------------------
# What the studies run
# --------------------------------------------------------------------------------------------


def budget_pairs(groups: Sequence[TaskGroup]) -> list[tuple[str, dict[str, Any], str, str]]:
    """``(task, options, solver, arm)`` of every paradigm the verdict reports as ended by the
    budget (:func:`~benchmarks.report.verdict.budget_ended`): what the budget study re-runs."""
    out = []
    for v in task_verdicts(groups):
        for entry in budget_ended(v).values():
            arm = v.group.runs[entry.label][0].arm
            out.append((v.group.task, dict(v.group.options), base_solver(entry.label), arm))
    return out


def undecided(verdicts: Sequence[TaskVerdict]) -> list[TaskVerdict]:
    """The tasks the verdict's table marks *not decided*: a pick, not firmer than every rival."""
    return [v for v in verdicts if v.pick is not None and v.decided == "open"]


def narrow_study(suite: Suite, out: Path) -> Suite:
    """The suite a robustness study runs with ``--out out``: for the budget and seeds studies,
    narrowed to what the verdict of the main study's records (``<out>/../raw/default.jsonl``)
    selects; any other suite unchanged.

    Raises:
        InvalidParameterError: the main study's records are absent or empty, or its verdict
            selects nothing for the study to run.
    """
    study = STUDIES.get(suite.name)
    if study is None or not study.narrowed:
        return suite
    main = main_folder(out)
    path = main / "raw" / f"{MAIN_SUITE}.jsonl"
    records = read_table([path]).records if path.exists() else []
    if not records:
        raise InvalidParameterError(
            f"The {suite.name} study runs what the main study's verdict selects, from its "
            f"records {str(path)!r}, which {'hold none' if path.exists() else 'do not exist'}. "
            f"Give --out a folder inside the main study's (e.g. --out "
            f"results/reference/{study.folder}), or run the default suite there first."
        )
    groups = group_records(records)
    if study.narrowed == "budget":
        pairs = budget_pairs(groups)
        if not pairs:
            raise InvalidParameterError(
                f"The {suite.name} study has nothing to run: the verdict of {str(path)!r} "
                "reports no paradigm as ended by the budget."
            )
        return budget_suite(pairs)
    tasks = [(v.group.task, dict(v.group.options)) for v in undecided(task_verdicts(groups))]
    if not tasks:
        raise InvalidParameterError(
            f"The {suite.name} study has nothing to run: the verdict of {str(path)!r} decides "
            "every task it picks on."
        )
    return seeds_suite(tasks)


# --------------------------------------------------------------------------------------------
# The subsection
# --------------------------------------------------------------------------------------------


@dataclass
class _Check:
    """One check's lines, and the answers it changes or leaves as they were."""

    lines: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)


def _read(path: Path) -> list[RunRecord]:
    return list(read_table([path]).records) if path.exists() else []


def _shown(main: Path) -> str:
    """The main study's folder as a command gives it (relative to the working directory when
    it is inside it)."""
    try:
        return str(main.resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(main)


def _command(study: RobustnessStudy, main: Path) -> str:
    return f"`{study.command(_shown(main))}`"


def _ert(value: float) -> str:
    return "∞" if not math.isfinite(value) else f"{value:,.0f}"


def _pick_text(v: TaskVerdict | None) -> str:
    if v is None or v.pick is None:
        return "no pick"
    return v.pick + (" (not decided)" if v.decided == "open" else "")


def robustness_section(groups: Sequence[TaskGroup], md_path: Path, draw: Draw) -> list[str]:
    """The *Robustness* subsection of the main suite's report (``report.md``), from the
    robustness studies' records under ``md_path``'s folder; empty for any other report."""
    if not groups or md_path.name != "report.md":
        return []
    main = md_path.parent
    # Each study's records, read once (the 32-trial study's are 10^4 records).
    studies = {name: _read(study.records_path(main)) for name, study in STUDIES.items()}
    verdicts = task_verdicts(groups)
    checks = [
        _tuning_check(groups, verdicts, main, studies, draw),
        _budget_check(verdicts, main, studies[BUDGET10X.name]),
        _seeds_check(verdicts, main, studies[SEEDS30.name]),
    ]
    changes = [c for check in checks for c in check.changes]
    holds = [h for check in checks for h in check.holds]
    lines = [
        "### Robustness",
        "",
        "The picks above rest on three choices the protocol makes once: 8 tuning trials per "
        "solver and task, budgets sized from Adam's cost (7-63x its median), and 10 evaluation "
        "seeds. Rankings can flip with the tuning budget (Sivaprasad et al. 2020; Dodge et al. "
        "2019, *Show your work*), so three studies stress each choice. Each runs by its own "
        "command (README, *Robustness studies*) into a folder beside these records, where this "
        "subsection reads it; the main command does not re-run them.",
        "",
    ]
    if changes:
        lines += ["**Where the checks change the answer:** " + "; ".join(changes) + "."
                  + (" **Where they do not:** " + "; ".join(holds) + "." if holds else ""), ""]
    elif holds:
        lines += ["**The checks change no answer above:** " + "; ".join(holds) + ".", ""]
    for check in checks:
        lines += [*check.lines, ""]
    lines += _cost_lines(main, studies)
    return lines


def _tuning_check(groups: Sequence[TaskGroup], verdicts: Sequence[TaskVerdict], main: Path,
                  studies: dict[str, list[RunRecord]], draw: Draw) -> _Check:
    trials_study, eval_study = STUDIES[TUNING32.name], STUDIES[TUNED32.name]
    trial_records, eval_records = studies[TUNING32.name], studies[TUNED32.name]
    check = _Check(lines=["**Tuning budget (32 trials).**"])
    if not trial_records and not eval_records:
        check.lines[0] += (f" Not run: {_command(trials_study, main)}, then "
                           f"{_command(eval_study, main)}.")
        return check
    if eval_records:
        _pick_lines(groups, verdicts, eval_records, check)
    else:
        check.lines[0] += (" The 32-trial choices have not run on the evaluation seeds: "
                           f"{_command(eval_study, main)}.")
    if trial_records:
        check.lines += ["", *_curve_lines(trial_records, draw)]
    else:
        check.lines += ["", "The 32-trial study's records are absent: "
                        f"{_command(trials_study, main)}."]
    return check


def _pick_lines(groups: Sequence[TaskGroup], verdicts: Sequence[TaskVerdict],
                eval_records: Sequence[RunRecord], check: _Check) -> None:
    """Per task, the pick when every solver runs its 32-trial choice, against the pick above.

    The 32-trial verdict reads the same records as the one above, with the tuned arm's runs
    replaced by the ``tuned32`` study's (the 32-trial choices on the evaluation seeds; a choice
    that did not change is the same cell, reused)."""
    kept = [r for g in groups for runs in g.runs.values() for r in runs if r.arm != "tuned"]
    at32 = {v.group.name: v for v in task_verdicts(group_records([*kept, *eval_records]))}
    check.lines[0] += (
        " Every solver re-run with the configuration it would have been given by 32 trials "
        "instead of 8 (the `tuning32` study's choice), on the evaluation seeds; the verdict "
        "recomputed with those runs as the tuned arm:")
    check.lines += ["", "| task | pick with 8 trials (above) | pick with 32 trials | |",
                    "|---|---|---|---|"]
    held = []
    for v in verdicts:
        w = at32.get(v.group.name)
        if w is None:
            answer = "not in the study's records"
        else:
            answer, change = compare_picks(v, w)
            if change is None:
                held.append(v.group.name)
            else:
                check.changes.append(f"{v.group.name}: {change}")
        check.lines.append(f"| {v.group.name} | {_pick_text(v)} | {_pick_text(w)} | {answer} |")
    if held:
        check.holds.append("the pick holds at 32 trials, as firm as with 8, on "
                           + ", ".join(held))


def compare_picks(at8: TaskVerdict, at32: TaskVerdict) -> tuple[str, str | None]:
    """What 32 trials do to a task's pick: the table's cell, and the change in words (``None``
    where the pick and how firm it is are both the same).

    A pick that holds but is decided on one side and not on the other is a change of the
    answer's strength, and is reported as one.
    """
    if at32.pick != at8.pick:
        return "**changes**", f"with 32 trials the pick is {_pick_text(at32)}, not {at8.pick}"
    if at8.pick is None:
        return "holds", None
    open8, open32 = at8.decided == "open", at32.decided == "open"
    if open8 == open32:
        return "holds", None
    if open32:
        return ("holds, **no longer decided**",
                f"the pick ({at8.pick}) holds at 32 trials but is no longer decided")
    return "holds, **now decided**", f"with 32 trials the pick ({at8.pick}) is decided"


def _curve_lines(records: Sequence[RunRecord], draw: Draw) -> list[str]:
    """The expected best ERT after ``k`` trials per (task, solver), and where each paradigm's
    best solver stops improving."""
    scores = score_trials(records, TUNING32)
    curves = {task: {solver: expected_best_curve([t.ert for t in trials])
                     for solver, trials in by_solver.items()}
              for task, by_solver in scores.items()}
    if not curves:
        return ["The 32-trial study's records hold no scored trial."]
    n = max(len(c) for by in curves.values() for c in by.values())
    committed = TUNING.trials
    lines = [
        f"Expected best ERT on the tuning seeds after k trials drawn from the study's {n} "
        "(Dodge et al.'s expected validation performance, exact by order statistics; ∞ while "
        "some draw of k trials has no success), for each paradigm's best solver (the lowest "
        f"ERT of all trials), and the k from which more trials improve it by less than "
        f"{PLATEAU:.0%}:",
        "",
        f"| task | paradigm | best solver | expected best ERT, {committed} trials | "
        f"expected best ERT, {n} trials | stops improving at k |",
        "|---|---|---|---|---|---|",
    ]
    # In the suite's order, named as the tables above name them (``group_name``).
    names = {entry_key(e.name, e.options): group_name(e.name, e.options)
             for e in TUNING32.tasks}
    order = {key: i for i, key in enumerate(names)}
    panels = {names.get(task, task): curves[task]
              for task in sorted(curves, key=lambda t: (order.get(t, len(order)), t))}
    for shown, by_solver in panels.items():
        for paradigm in PARADIGMS:
            mine = {s: c for s, c in by_solver.items()
                    if getattr(SOLVERS.get(s), "paradigm", None) == paradigm}
            if not mine:
                continue
            best = min(mine, key=lambda s: (mine[s][-1], mine[s][min(committed, len(mine[s])) - 1],
                                            s))
            curve = mine[best]
            at = plateau_k(curve)
            lines.append(
                f"| {shown} | {paradigm} | {best} | {_ert(curve[min(committed, len(curve)) - 1])} "
                f"| {_ert(curve[-1])} | "
                + ("never reaches the target" if at is None
                   else f"{at}" + (f" (beyond the committed {committed})" if at > committed
                                   else "")) + " |")
    lines += [""]
    lines += draw(
        "robustness-tuning-budget",
        lambda p: tuning_curves_figure(panels, p, committed=committed),
        "Tuning budget: expected best ERT after k trials, per task, one line per solver",
    )
    return lines


def _budget_check(verdicts: Sequence[TaskVerdict], main: Path,
                  records: Sequence[RunRecord]) -> _Check:
    study = STUDIES[BUDGET10X.name]
    check = _Check(lines=[f"**Budget ({BUDGET_FACTOR}x).**"])
    ended = [(v, paradigm, e) for v in verdicts for paradigm, e in budget_ended(v).items()]
    if not ended:
        check.lines[0] += (" The verdict reports no paradigm as ended by the budget: nothing "
                           "to re-run.")
        return check
    named = ", ".join(f"{v.group.name} ({paradigm}, `{e.label}`)" for v, paradigm, e in ended)
    if not records:
        check.lines[0] += (f" The verdict reports as ended by the budget: {named}. Not re-run at "
                           f"{BUDGET_FACTOR}x the budget: {_command(study, main)}.")
        return check
    check.lines[0] += (
        f" Each paradigm the verdict reports as ended by the budget, its representative re-run "
        f"at {BUDGET_FACTOR}x the task's budget (stopping at the target) on the evaluation "
        "seeds, in the same arm:")
    check.lines.append("")
    by_name = {g.name: g for g in group_records(records)}
    for v, paradigm, e in ended:
        g = by_name.get(v.group.name)
        runs = g.attempted(e.label) if g is not None else []
        if not runs:
            check.lines.append(f"- {v.group.name}: `{e.label}` has no run at {BUDGET_FACTOR}x "
                               f"in the study's records; {_command(study, main)} runs it.")
            continue
        usable = [r for r in runs if r.stop_reason != "max_seconds"]
        hits = [float(r.evaluations_to_target) for r in usable
                if r.evaluations_to_target is not None]
        budget = runs[0].budget.get("max_evaluations")
        shown = f" ({budget:,} evaluations)" if isinstance(budget, int) else ""
        censored = len(runs) - len(usable)
        extra = (f"; {censored} more stopped by the seconds safety net (censored)"
                 if censored else "")
        if hits:
            text = (f"at {BUDGET_FACTOR}x the budget{shown}, {paradigm} (`{e.label}`) reaches the "
                    f"target on {len(hits)}/{len(usable)} seeds at a median "
                    f"{statistics.median(hits):,.0f} evaluations")
            check.changes.append(f"{v.group.name}: {text}, so the budget, not the method, ended "
                                 "its runs above")
        else:
            text = (f"at {BUDGET_FACTOR}x the budget{shown}, {paradigm} (`{e.label}`) still "
                    f"0/{len(usable)}")
            check.holds.append(f"{v.group.name}: `{e.label}` ({paradigm}) misses the target at "
                               f"{BUDGET_FACTOR}x the budget too")
        check.lines.append(f"- {v.group.name}: {text}{extra}.")
    return check


def _seeds_check(verdicts: Sequence[TaskVerdict], main: Path,
                 records: Sequence[RunRecord]) -> _Check:
    study = STUDIES[SEEDS30.name]
    seeds = len(SEEDS30.seeds)
    check = _Check(lines=[f"**Seeds ({seeds}).**"])
    open_ = undecided(verdicts)
    if not open_:
        check.lines[0] += " The verdict decides every task it picks on: nothing to add."
        return check
    names = ", ".join(v.group.name for v in open_)
    if not records:
        check.lines[0] += (f" Not decided on the evaluation seeds: {names}. Not run on {seeds} "
                           f"seeds: {_command(study, main)}.")
        return check
    check.lines[0] += (f" Each task the verdict marks not decided, on {seeds} seeds (the "
                       "evaluation seeds and more), every solver and arm as above:")
    check.lines.append("")
    more = {w.group.name: w for w in task_verdicts(group_records(records))}
    for v in open_:
        w = more.get(v.group.name)
        if w is None:
            check.lines.append(f"- {v.group.name}: not in the study's records; "
                               f"{_command(study, main)} runs it.")
            continue
        n = w.group.seed_count
        if w.pick is not None and w.decided != "open":
            text = (f"**decided at {n} seeds**: {w.pick}"
                    + (" (the pick on 10 seeds)" if w.pick == v.pick
                       else f" (not {v.pick}, the pick on 10 seeds)"))
            check.changes.append(f"{v.group.name}: decided at {n} seeds ({w.pick})")
        else:
            text = (f"still not decided at {n} seeds (pick {w.pick or 'none'}"
                    + ("" if w.pick == v.pick else f", not {v.pick}") + ")")
            check.holds.append(f"{v.group.name}: still not decided at {n} seeds")
        check.lines.append(f"- {v.group.name}: {text}.")
    return check


def _cost_lines(main: Path, studies: dict[str, list[RunRecord]]) -> list[str]:
    """What each study cost: runs it made, runs it reused, core-hours of the runs it made."""
    rows = []
    for study in STUDIES.values():
        records = studies[study.suite]
        if not records:
            continue
        made, reused, hours = study_cost(records, study.suite)
        rows.append(f"| `{study.suite}` | {made:,} | {reused:,} | {hours:.2f} | "
                    f"{_command(study, main)} |")
    if not rows:
        return []
    return ["Cost of the studies (core-hours: the wall seconds of the runs each made; a reused "
            "record is the main study's run of the same cell):", "",
            "| study | runs made | runs reused | core-hours | command |", "|---|---|---|---|---|",
            *rows, ""]


__all__ = ["budget_pairs", "compare_picks", "narrow_study", "robustness_section", "undecided"]
