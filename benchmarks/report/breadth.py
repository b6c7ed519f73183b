"""Within each paradigm: which solver was best on each task, and how far the others trail.

The verdict compares paradigms, each represented on a task by its best solver there
(:func:`benchmarks.report.verdict.representatives`). A claim about a paradigm is only as strong
as the solvers in it, so this section shows what the representative was chosen from: per task,
every solver of the paradigm ranked by the verdict's own rule (success rate first, then ERT in
evaluations with misses counted, COCO's aRT), each with its k/n and its ERT as a multiple of the
best one's. Per regime it names the paradigm's *strongest* solver: the one that was best on the
most tasks of the regime (ties by total successes, then the lower geometric-mean ERT ratio to
the best), the rule the breadth study uses to choose the default suite's solvers.

The breadth study (suite ``breadth``, issue 27) runs every built-in solver, both arms, on the
evaluation seeds of every default-suite task; the default suite then runs, per regime, the
solvers it shows to be the strongest of each paradigm, so the main command stays affordable
while the data, not an assumption, chooses who represents evolution and gradients.

**The rule** (:func:`choose`): in each regime (smooth supervised, non-differentiable, control)
and each paradigm (gradients, evolution, closed form), rank the paradigm's solvers by the
number of the regime's tasks on which each was the paradigm's best (the verdict's ranking:
success rate, then ERT in evaluations; tuned arm where tuned), then by total successes, then by
the geometric-mean ERT ratio to each task's best (``benchmarks/report/breadth.py``), and keep
the first :data:`KEEP_PER_PARADIGM`: the strongest, and a runner-up so that the default report
still shows a comparison within each paradigm. Reference lines (PPO, scikit-learn's MLP) and
the null baseline (random search) are kept wherever they ran. A solver ranked below the cut is
not lost: its runs stay in the committed breadth records and report.

``choose`` writes ``breadth.json`` beside the study's records (the committed one is
``results/reference/breadth.json``); the default suite reads it (``benchmarks/suites.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.records import RunRecord
from benchmarks.report.analysis import TaskGroup, ert_inputs, group_records
from benchmarks.report.baseline import ratio_text
from benchmarks.report.stats import ert
from benchmarks.results import base_solver, write_atomic
from benchmarks.suites import BREADTH, BREADTH_FILE, Suite, entry_key
from solvers import SOLVERS
from solvers.base import BASELINE, PARADIGMS, REFERENCE


@dataclass(frozen=True)
class Ranked:
    """One solver of a paradigm on one task, in the arm the verdict reads."""

    solver: str
    label: str
    runs: int
    successes: int
    ert: float

    @property
    def rate(self) -> float:
        return self.successes / self.runs if self.runs else math.nan


@dataclass(frozen=True)
class Standing:
    """A solver's record over a regime's tasks within its paradigm."""

    solver: str
    wins: int
    tasks: int
    successes: int
    runs: int
    #: Geometric mean over the tasks where it ran of its ERT over the best one's (inf: it
    #: missed a task whose best succeeded).
    trail: float


def label_in_arm(group: TaskGroup, solver: str, arm: str = "tuned") -> str | None:
    """A solver's label on a task in ``arm`` where it ran there, else its defaults label;
    ``None`` when it has no usable run at all (the verdict's rule for a paradigm's entries)."""
    wanted = f"{solver} [{arm}]"
    if len(group.usable(wanted)):
        return wanted
    return solver if len(group.usable(solver)) else None


def ranked(group: TaskGroup, paradigm: str, arm: str = "tuned") -> list[Ranked]:
    """The paradigm's solvers on the task, best first (success rate, then ERT, then name)."""
    out = []
    for solver in dict.fromkeys(base_solver(lab) for lab in group.runs):
        cls = SOLVERS.get(solver)
        if cls is None or cls.paradigm != paradigm:
            continue
        label = label_in_arm(group, solver, arm)
        if label is None:
            continue
        rows = group.usable(label)
        costs, success = ert_inputs(rows, "evaluations")
        out.append(Ranked(solver, label, len(rows), int(success.sum()), ert(costs, success)))
    return sorted(out, key=lambda r: (-r.rate, r.ert, r.solver))


def standings(groups: Sequence[TaskGroup], paradigm: str, arm: str = "tuned") -> list[Standing]:
    """The paradigm's solvers over the tasks of ``groups``, strongest first: most tasks won,
    then most successes, then the smallest geometric-mean trail behind each task's best."""
    wins: dict[str, int] = {}
    tasks: dict[str, int] = {}
    ok: dict[str, int] = {}
    runs: dict[str, int] = {}
    logs: dict[str, list[float]] = {}
    for group in groups:
        rows = ranked(group, paradigm, arm)
        if not rows:
            continue
        best = rows[0]
        if best.successes:
            wins[best.solver] = wins.get(best.solver, 0) + 1
        for r in rows:
            tasks[r.solver] = tasks.get(r.solver, 0) + 1
            ok[r.solver] = ok.get(r.solver, 0) + r.successes
            runs[r.solver] = runs.get(r.solver, 0) + r.runs
            if best.successes and math.isfinite(best.ert):
                ratio = r.ert / best.ert if best.ert > 0 else 1.0
                logs.setdefault(r.solver, []).append(
                    math.log(ratio) if math.isfinite(ratio) else math.inf)
    out = [
        Standing(s, wins.get(s, 0), tasks[s], ok[s], runs[s],
                 math.exp(sum(logs[s]) / len(logs[s])) if logs.get(s) else math.nan)
        for s in tasks
    ]
    return sorted(out, key=lambda st: (-st.wins, -st.successes,
                                       st.trail if math.isfinite(st.trail) else math.inf,
                                       st.solver))


def _trail_text(r: Ranked, best: Ranked) -> str:
    if not r.successes:
        return "no success"
    if not math.isfinite(best.ert) or best.ert <= 0:
        return "—"
    return ratio_text(r.ert / best.ert)


def standing_text(st: Standing) -> str:
    """``cmaes (best on 4 of 9 tasks, 70/90 runs)``."""
    return (f"{st.solver} (best on {st.wins} of {st.tasks} task{'s' if st.tasks != 1 else ''}, "
            f"{st.successes}/{st.runs} runs reached the target)")


def within_paradigm_section(groups: Sequence[TaskGroup], regimes: dict[str, str]) -> list[str]:
    """The report's "Within each paradigm" section (Markdown): per regime and paradigm with more
    than one solver, the strongest solver and a task table of every solver's k/n and ERT
    ratio to the task's best. ``regimes`` maps each group's name to its regime."""
    order = list(dict.fromkeys(regimes[g.name] for g in groups))
    body: list[str] = []
    for regime in order:
        chosen = [g for g in groups if regimes[g.name] == regime]
        for paradigm in PARADIGMS:
            table = [(g, ranked(g, paradigm)) for g in chosen]
            table = [(g, rows) for g, rows in table if rows]
            solvers = list(dict.fromkeys(r.solver for _, rows in table for r in rows))
            if len(solvers) < 2:
                continue
            top = standings(chosen, paradigm)
            body += [
                f"### {regime.capitalize()}: {paradigm}",
                "",
                f"Strongest: **{standing_text(top[0])}**"
                + ("; then " + "; ".join(standing_text(s) for s in top[1:3]) if len(top) > 1
                   else "") + ".",
                "",
                "| task | best | " + " | ".join(solvers) + " |",
                "|---|---|" + "---|" * len(solvers),
            ]
            for g, rows in table:
                best = rows[0]
                by_solver = {r.solver: r for r in rows}
                cells = []
                for s in solvers:
                    r = by_solver.get(s)
                    if r is None:
                        cells.append("n/a")
                        continue
                    text = f"{r.successes}/{r.runs}, {_trail_text(r, best)}"
                    cells.append(f"**{text}**" if r is best and best.successes else text)
                shown = best.solver if best.successes else "none reached the target"
                body.append(f"| {g.name} | {shown} | " + " | ".join(cells) + " |")
            body.append("")
    if not body:
        return []
    return [
        "## Within each paradigm",
        "",
        "Every solver of a paradigm on each task, in the arm the verdict reads (tuned where the "
        "tuning study chose a configuration, else defaults): success k/n and the ERT in "
        "evaluations (misses counted) as a multiple of the best solver's there (1.0× is the "
        "best; *no success*: it never reached the target). Ranking: success rate, then ERT. "
        "The strongest solver of a paradigm in a regime is the one that was best on the most "
        "tasks (ties: more successes, then the smaller geometric-mean ratio).",
        "",
        *body,
    ]


#: Solvers of each paradigm the default suite keeps per regime (see the module docstring).
KEEP_PER_PARADIGM = 2

RULE = (
    "Per regime and paradigm, the solvers ranked by the number of the regime's tasks on which "
    "each was its paradigm's best (success rate, then ERT in evaluations; tuned arm where "
    "tuned), then total successes, then the geometric-mean ERT ratio to each task's best; the "
    f"first {KEEP_PER_PARADIGM} are kept. Reference lines and the null baseline are kept "
    "wherever they ran."
)


def choose(records: Sequence[RunRecord], suite: Suite = BREADTH) -> dict[str, Any]:
    """The default suite's solvers per task entry, chosen from the breadth study's records.

    Returns the ``breadth.json`` document: ``rule``, ``standings`` (per regime and paradigm,
    every solver's wins, successes and runs, strongest first) and ``solvers`` (per task entry
    of ``suite``, the solvers the default suite runs there).
    """
    from benchmarks.report.verdict import REGIMES, regime_of  # verdict imports this module

    groups = group_records([r for r in records if r.arm in ("defaults", "tuned")])
    by_regime: dict[str, list[Any]] = {r: [] for r in REGIMES}
    for group in groups:
        by_regime[regime_of(group)].append(group)
    keep: dict[str, set[str]] = {}
    table: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for regime, chosen in by_regime.items():
        if not chosen:
            continue
        for paradigm in PARADIGMS:
            ranked = standings(chosen, paradigm)
            if not ranked:
                continue
            table.setdefault(regime, {})[paradigm] = [
                {"solver": s.solver, "wins": s.wins, "tasks": s.tasks,
                 "successes": s.successes, "runs": s.runs} for s in ranked
            ]
            keep.setdefault(regime, set()).update(s.solver for s in ranked[:KEEP_PER_PARADIGM])
    entries = {e.name: entry_key(e.name, e.options) for e in suite.tasks}
    solvers: dict[str, list[str]] = {}
    for group in groups:
        key = entries.get(group.task)
        if key is None:
            continue
        ran = {r.solver for rs in group.runs.values() for r in rs}
        kept = keep.get(regime_of(group), set()) | {
            s for s in ran if SOLVERS.get(s) is not None
            and SOLVERS[s].paradigm in (REFERENCE, BASELINE)
        }
        solvers[key] = [s for s in SOLVERS if s in kept and s in ran]
    return {"rule": RULE, "keep_per_paradigm": KEEP_PER_PARADIGM, "standings": table,
            "solvers": solvers}


def write_breadth(records: Sequence[RunRecord], folder: Path, suite: Suite = BREADTH) -> Path:
    """Choose from the study's records and write ``breadth.json`` into ``folder``."""
    path = Path(folder) / BREADTH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    document = choose(records, suite)
    return write_atomic(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
