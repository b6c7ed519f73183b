"""The verdict: "evolution, gradients, or closed form?", written by code from the records.

Three questions, asked apart because mixing them misleads (a failure coded as "the largest
cost" lets a slow, reliable solver "beat" a fast one that sometimes fails):

1. **Reliability**: how often does each paradigm reach the task's target within the budget?
   Success ``k/n`` with a Wilson interval; paired over seeds with McNemar's exact test.
2. **Cost given success**: over the seeds where *both* reached the target, how many times the
   evaluations? The median paired ratio with a bootstrap interval; Wilcoxon signed-rank test.
3. **Quality**: the held-out metric at the end of the budget (test accuracy or MSE; the
   training loss where a task has no held-out data; the rollout error for dynamics).

Each paradigm is represented on each task by its best solver there (most successes, then the
lowest ERT), in the tuned arm where the tuning study covered it. Picking the best of a paradigm
on the same runs flatters every paradigm alike; the tests do not correct for that choice, and
the text says so. p-values are Holm-adjusted across every comparison the verdict makes.
The scope of every claim is these tasks, these networks, these budgets and these seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks.records import RunRecord
from benchmarks.report.analysis import (
    TaskGroup,
    base_solver,
    bootstrap_seed,
    censored,
    cost_to_target,
    ert_cost,
    quality_metric,
)
from benchmarks.report.stats import (
    CostGivenSuccess,
    Reliability,
    cost_given_success,
    ert,
    holm,
    mcnemar,
    wilson_interval,
)
from solvers import SOLVERS
from solvers.base import PARADIGMS

#: Significance level of the verdict's tests (after Holm's adjustment).
ALPHA = 0.05
#: Stop reasons that mean the budget, not the method, ended a run.
BUDGET_STOPS = frozenset({"max_evaluations", "max_iterations"})


def paradigm_of(solver: str) -> str | None:
    """The paradigm a solver declares (``Solver.paradigm``); ``None`` for unknown solvers."""
    cls = SOLVERS.get(solver)
    return cls.paradigm if cls is not None else None


@dataclass(frozen=True)
class Entry:
    """One paradigm's representative on one task."""

    label: str
    paradigm: str
    runs: int
    successes: int
    ert: float
    quality: float
    censored: int

    @property
    def rate(self) -> float:
        return self.successes / self.runs if self.runs else math.nan

    def success_text(self) -> str:
        if not self.runs:
            return "not applicable"
        lo, hi = wilson_interval(self.successes, self.runs)
        return f"{self.successes}/{self.runs} [{lo:.2f}–{hi:.2f}]"


@dataclass(frozen=True)
class TaskVerdict:
    """The verdict on one task: representatives, the pick, and the paired comparisons."""

    group: TaskGroup
    entries: dict[str, Entry]
    pick: str | None
    reliability: dict[str, Reliability]
    cost: dict[str, CostGivenSuccess]
    p_reliability: dict[str, float]
    p_cost: dict[str, float]
    decided: str


def _usable(group: TaskGroup, label: str) -> list[RunRecord]:
    return [r for r in group.attempted(label) if not censored(r)]


def _quality(group: TaskGroup, label: str) -> float:
    field, _, _ = quality_metric(group)
    values = []
    for r in _usable(group, label):
        if field.startswith("test_"):
            v = r.final_test.get(field[len("test_"):])
        else:
            v = r.final_train.get(field)
        if isinstance(v, int | float) and math.isfinite(v):
            values.append(float(v))
    return float(np.median(values)) if values else math.nan


def representatives(group: TaskGroup, arm: str = "tuned") -> dict[str, Entry]:
    """Each paradigm's best label on the task, in ``arm`` where that arm ran (else defaults)."""
    out: dict[str, Entry] = {}
    labels = list(group.runs)
    for paradigm in PARADIGMS:
        best: Entry | None = None
        for solver in dict.fromkeys(base_solver(lab) for lab in labels):
            if paradigm_of(solver) != paradigm:
                continue
            wanted = f"{solver} [{arm}]" if arm != "defaults" else solver
            label = wanted if _usable(group, wanted) else solver
            runs = _usable(group, label)
            if not runs:
                continue
            ok = sum(r.success for r in runs)
            entry = Entry(
                label=label,
                paradigm=paradigm,
                runs=len(runs),
                successes=ok,
                ert=ert([ert_cost(r, "evaluations") for r in runs], [r.success for r in runs]),
                quality=_quality(group, label),
                censored=sum(censored(r) for r in group.attempted(label)),
            )
            if best is None or (entry.rate, -entry.ert) > (best.rate, -best.ert):
                best = entry
        if best is not None:
            out[paradigm] = best
    return out


def _paired(group: TaskGroup, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    ra = {r.seed: r for r in _usable(group, a)}
    rb = {r.seed: r for r in _usable(group, b)}
    seeds = sorted(set(ra) & set(rb))
    return (np.array([cost_to_target(ra[s], "evaluations") for s in seeds]),
            np.array([cost_to_target(rb[s], "evaluations") for s in seeds]))


def task_verdicts(groups: Sequence[TaskGroup], arm: str = "tuned") -> list[TaskVerdict]:
    """The verdict on every task, with Holm's adjustment over all of the verdict's tests."""
    raw: list[tuple[TaskGroup, dict[str, Entry], str | None,
                    dict[str, Reliability], dict[str, CostGivenSuccess]]] = []
    for group in groups:
        entries = representatives(group, arm)
        ranked = sorted(entries.values(), key=lambda e: (-e.rate, e.ert, PARADIGMS.index(
            e.paradigm)))
        pick = ranked[0].paradigm if ranked and ranked[0].successes else None
        rel: dict[str, Reliability] = {}
        cost: dict[str, CostGivenSuccess] = {}
        if pick is not None:
            for other, e in entries.items():
                if other == pick:
                    continue
                a, b = _paired(group, entries[pick].label, e.label)
                rel[other] = mcnemar(np.isfinite(a), np.isfinite(b))
                cost[other] = cost_given_success(
                    a, b, seed=bootstrap_seed(group.name, entries[pick].label, e.label))
        raw.append((group, entries, pick, rel, cost))
    # One family: every reliability and every cost test of the verdict.
    pvalues = [
        p
        for *_, rel, cost in raw
        for p in [*(t.pvalue for t in rel.values()), *(t.pvalue for t in cost.values())]
        if math.isfinite(p)
    ]
    adjusted = iter(holm(pvalues)) if pvalues else iter(())
    out = []
    for group, entries, pick, rel, cost in raw:
        p_rel = {k: float(next(adjusted)) if math.isfinite(v.pvalue) else math.nan
                 for k, v in rel.items()}
        p_cost = {k: float(next(adjusted)) if math.isfinite(v.pvalue) else math.nan
                  for k, v in cost.items()}
        out.append(TaskVerdict(group, entries, pick, rel, cost, p_rel, p_cost,
                               _decided(pick, entries, rel, cost, p_rel, p_cost)))
    return out


def _decided(
    pick: str | None,
    entries: dict[str, Entry],
    rel: dict[str, Reliability],
    cost: dict[str, CostGivenSuccess],
    p_rel: dict[str, float],
    p_cost: dict[str, float],
) -> str:
    """How firmly the data pick the paradigm: ``decided``, ``reliability only`` or ``open``."""
    if pick is None:
        return "open"
    rivals = [k for k in entries if k != pick and entries[k].successes]
    if not rivals:
        return "decided"
    firm = True
    for k in rivals:
        more_reliable = p_rel.get(k, 1.0) < ALPHA and rel[k].favours == "a"
        cheaper = p_cost.get(k, 1.0) < ALPHA and cost[k].favours == "a"
        firm = firm and (more_reliable or cheaper)
    return "decided" if firm else "open"


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def _fmt_cost(value: float) -> str:
    if not math.isfinite(value):
        return "∞"
    return f"{value:.2g}" if value < 1e4 else f"{value:.1e}"


def _fmt_ratio(c: CostGivenSuccess) -> str:
    if c.n == 0:
        return "no seed where both succeeded"
    lo, hi = 10**c.low, 10**c.high
    return f"{1 / c.ratio:.2g}× [{1 / hi:.2g}–{1 / lo:.2g}] over {c.n} seeds"


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "—"
    return f"{p:.2g}" if p >= 1e-3 else "<0.001"


def verdict_section(groups: Sequence[TaskGroup], budget_note: str = "") -> list[str]:
    """The verdict at the top of the report (about a minute to read)."""
    verdicts = task_verdicts(groups)
    defaults = task_verdicts(groups, arm="defaults")
    if not verdicts:
        return []
    n_seeds = sorted({r.seed for g in groups for lab in g.runs for r in g.attempted(lab)})
    picks = {p: [v.group.name for v in verdicts if v.pick == p] for p in PARADIGMS}
    lines = [
        "## Verdict",
        "",
        f"*Scope: {len(groups)} tasks, {len(n_seeds)} evaluation seeds each, the budgets stated "
        "in the protocol section" + (f" ({budget_note})" if budget_note else "")
        + ". Each paradigm is represented on each task by its best solver there, tuned by the "
        "tuning study (the defaults arm is summarised below). Intervals are 95%; p-values are "
        f"Holm-adjusted over all {sum(len(v.reliability) + len(v.cost) for v in verdicts)} "
        "tests of this section and assume independent seeds within a task; tasks are not a "
        "random sample of problems, so nothing here generalises beyond them without more "
        "tasks.*",
        "",
    ]
    for paradigm in PARADIGMS:
        tot = _totals(verdicts, paradigm)
        tot_def = _totals(defaults, paradigm)
        if tot is None:
            continue
        ok, n, tasks_ran = tot
        lo, hi = wilson_interval(ok, n)
        where = picks[paradigm]
        line = (
            f"- **{paradigm.capitalize()}** reached the target in {ok}/{n} runs "
            f"[{lo:.2f}–{hi:.2f}] over {tasks_ran} tasks (tuned best per task"
        )
        if tot_def is not None:
            line += f"; at defaults {tot_def[0]}/{tot_def[1]}"
        line += "). "
        line += (f"It is the pick on {len(where)} task(s): {', '.join(where)}."
                 if where else "It is the pick on no task.")
        lines.append(line)
    open_tasks = [v.group.name for v in verdicts if v.decided == "open"]
    lines.append(
        "- **Where the data cannot decide:** "
        + (", ".join(open_tasks) + " — the pick there is the best point estimate, but "
           "neither its reliability nor its cost differs significantly from a rival's."
           if open_tasks else "none; every pick is more reliable or cheaper than each rival "
           "with p < 0.05.")
    )
    lines += [
        "",
        "| task | pick | reliability, success k/n [95% CI] | cost where both succeeded: "
        "rival's evaluations per pick's, median [95% CI] (Holm p) | quality at budget, median |",
        "|---|---|---|---|---|",
    ]
    for v in verdicts:
        lines.append(_task_row(v))
    lines += ["", *_notes(verdicts), ""]
    return lines


def _totals(verdicts: Sequence[TaskVerdict], paradigm: str) -> tuple[int, int, int] | None:
    es = [v.entries[paradigm] for v in verdicts if paradigm in v.entries]
    if not es:
        return None
    return sum(e.successes for e in es), sum(e.runs for e in es), len(es)


def _task_row(v: TaskVerdict) -> str:
    _, title, _ = quality_metric(v.group)
    pick = "cannot pick: no paradigm reached the target" if v.pick is None else (
        f"**{v.pick}** (`{v.entries[v.pick].label}`)"
        + (" — not decided" if v.decided == "open" else ""))
    rel = "; ".join(f"{p}: {e.success_text()}" for p, e in v.entries.items())
    costs = []
    for other, c in v.cost.items():
        if c.n == 0:
            costs.append(f"{other}: no seed where both succeeded")
        else:
            costs.append(f"{other}: {_fmt_ratio(c)} (p {_fmt_p(v.p_cost[other])})")
    quality = "; ".join(f"{p}: {e.quality:.3g}" for p, e in v.entries.items()
                        if math.isfinite(e.quality))
    return (f"| {v.group.name} | {pick} | {rel} | {'; '.join(costs) or '—'} | "
            f"{title}: {quality or '—'} |")


def _notes(verdicts: Sequence[TaskVerdict]) -> list[str]:
    """Sentences for recurring pathologies, said where they appear."""
    notes = []
    for v in verdicts:
        for paradigm, e in v.entries.items():
            runs = _usable(v.group, e.label)
            by_budget = all(r.stop_reason in BUDGET_STOPS for r in runs)
            if (e.runs and e.successes == 0 and paradigm != v.pick and v.pick is not None
                    and by_budget):
                budget = [r.budget.get("max_evaluations") for r in runs]
                pick_ert = v.entries[v.pick].ert
                if budget and budget[0] and math.isfinite(pick_ert) and pick_ert > 0:
                    notes.append(
                        f"- {v.group.name}: `{e.label}` never reached the target within "
                        f"{budget[0]:,} evaluations, {budget[0] / pick_ert:.0f}× the pick's ERT: "
                        "the budget, not necessarily the method, ended those runs; it needs "
                        "more than that many times the pick's evaluations."
                    )
    return notes
