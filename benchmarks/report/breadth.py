"""Within each paradigm: which solver was best on each task, and how far the others trail.

The verdict compares paradigms, each represented on a task by its best solver there
(:func:`benchmarks.report.verdict.representatives`). A claim about a paradigm is only as strong
as the solvers in it, so this section shows what the representative was chosen from: per task,
every solver of the paradigm ranked by the verdict's own rule (success rate first, then ERT in
evaluations with misses counted, COCO's aRT), each with its k/n and its ERT as a multiple of the
best one's. Per regime it names the paradigm's *strongest* solver: the one that was best on the
most tasks of the regime (ties by total successes, then the lower geometric-mean ERT ratio to
the best), the rule the breadth study uses to choose the default suite's solvers
(``benchmarks/studies/breadth.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.report.analysis import TaskGroup, ert_inputs
from benchmarks.report.baseline import ratio_text
from benchmarks.report.stats import ert
from benchmarks.results import base_solver
from solvers import SOLVERS
from solvers.base import PARADIGMS


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
