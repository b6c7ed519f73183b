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
import pandas as pd

from benchmarks.report.analysis import (
    TaskGroup,
    bootstrap_seed,
    ert_inputs,
    knob_numeric,
    quality_metric,
)
from benchmarks.report.baseline import ratio_text
from benchmarks.report.breadth import label_in_arm, standing_text, standings
from benchmarks.report.comparisons import fmt_p
from benchmarks.report.stats import (
    CostGivenSuccess,
    Reliability,
    cost_given_success,
    ert,
    holm_finite,
    mcnemar,
    wilson_interval,
)
from benchmarks.results import base_solver, default_options
from solvers import SOLVERS
from solvers.base import BASELINE, PARADIGMS, REFERENCE

#: Significance level of the verdict's tests (after Holm's adjustment).
ALPHA = 0.05
#: A paradigm "works" on a task when its best solver reaches the target on this share of seeds.
RELIABLE = 0.8
#: A weight this large marks a fit that rests on cancellation (reported as a pathology).
HUGE_WEIGHT = 1e6
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


def _quality(rows: pd.DataFrame, field: str) -> float:
    """The median held-out metric at the end of the budget, taken at the best-validation
    checkpoint where the task has a validation split (what a user would keep)."""
    metric = field.removeprefix("test_")
    final = rows.get(f"final_test.{metric}" if field.startswith("test_")
                     else f"final_train.{field}")
    values = pd.Series(math.nan, index=rows.index) if final is None else final.astype(float)
    chosen = [c for c in rows.columns if c.startswith("selected.test.")]
    if chosen:  # a run with a best-validation checkpoint is judged there, and only there
        at_best = rows.get(f"selected.test.{metric}", pd.Series(math.nan, index=rows.index))
        values = values.where(rows[chosen].isna().all(axis=1), at_best.astype(float))
    values = values[np.isfinite(values)]
    return float(np.median(values)) if len(values) else math.nan


def representatives(group: TaskGroup, arm: str = "tuned") -> dict[str, Entry]:
    """Each paradigm's best label on the task, in ``arm`` where that arm ran (else defaults)."""
    out: dict[str, Entry] = {}
    field, _, _ = quality_metric(group)
    for paradigm in PARADIGMS:
        best: Entry | None = None
        for solver in dict.fromkeys(base_solver(lab) for lab in group.runs):
            if paradigm_of(solver) != paradigm:
                continue
            label = label_in_arm(group, solver, arm) or solver
            rows = group.usable(label)
            if rows.empty:
                continue
            costs, success = ert_inputs(rows, "evaluations")
            entry = Entry(
                label=label,
                paradigm=paradigm,
                runs=len(rows),
                successes=int(success.sum()),
                ert=ert(costs, success),
                quality=_quality(rows, field),
                censored=int((group.frame["label"].eq(label) & group.frame["censored"]).sum()),
            )
            if best is None or (entry.rate, -entry.ert) > (best.rate, -best.ert):
                best = entry
        if best is not None:
            out[paradigm] = best
    return out


def _paired(group: TaskGroup, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    both = group.seed_costs(floor=False)[[a, b]].dropna()
    return both[a].to_numpy(dtype=float), both[b].to_numpy(dtype=float)


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
    # One family per task: the task's verdict (its pick against each rival, on reliability and
    # on cost) is one question; the cross-task statements have their own family (``pooled``).
    out = []
    for group, entries, pick, rel, cost in raw:
        pvalues = [*(t.pvalue for t in rel.values()), *(t.pvalue for t in cost.values())]
        adjusted = iter(holm_finite(pvalues))
        p_rel = {k: next(adjusted) for k in rel}
        p_cost = {k: next(adjusted) for k in cost}
        out.append(TaskVerdict(group, entries, pick, rel, cost, p_rel, p_cost,
                               _decided(pick, entries, rel, cost, p_rel, p_cost)))
    return out


@dataclass(frozen=True)
class Pooled:
    """Two paradigms compared over every (task, seed) block where both ran, each paradigm
    represented per task by its best solver there."""

    a: str
    b: str
    reliability: Reliability
    cost: CostGivenSuccess
    p_reliability: float
    p_cost: float


def pooled(verdicts: Sequence[TaskVerdict]) -> list[Pooled]:
    """Each pair of paradigms across tasks; Holm over these tests (their own family)."""
    raw = []
    for i, a in enumerate(PARADIGMS):
        for b in PARADIGMS[i + 1:]:
            xs: list[float] = []
            ys: list[float] = []
            for v in verdicts:
                if a in v.entries and b in v.entries:
                    x, y = _paired(v.group, v.entries[a].label, v.entries[b].label)
                    xs += x.tolist()
                    ys += y.tolist()
            if not xs:
                continue
            x_arr, y_arr = np.array(xs), np.array(ys)
            raw.append((a, b, mcnemar(np.isfinite(x_arr), np.isfinite(y_arr)),
                        cost_given_success(x_arr, y_arr, seed=bootstrap_seed(a, b))))
    adjusted = holm_finite([p for *_, r, c in raw for p in (r.pvalue, c.pvalue)])
    return [Pooled(a, b, r, c, adjusted[2 * k], adjusted[2 * k + 1])
            for k, (a, b, r, c) in enumerate(raw)]


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


def _fmt_ratio(c: CostGivenSuccess) -> str:
    if c.n == 0:
        return "no seed where both succeeded"
    lo, hi = 10**c.low, 10**c.high
    return f"{1 / c.ratio:.2g}× [{1 / hi:.2g}–{1 / lo:.2g}] over {c.n} seeds"


#: The regimes the verdict answers apart, in report order: where gradients are at home, where
#: the model or the objective gives them no useful gradient, and control from reward alone.
REGIMES: tuple[str, ...] = ("smooth supervised", "non-differentiable", "control", "long horizon")
#: Task families whose loss unrolls many steps of a recurrent cell or of chaotic dynamics
#: (``tasks/sequence.py``, ``tasks/chaotic.py``), read from the records when the task no longer
#: builds; a task that builds says so itself (its network takes a truncation length).
_LONG_HORIZON_FAMILIES = frozenset({"sequence", "chaotic"})
#: The knob that sets a long-horizon task's unroll length, per task.
HORIZON_KNOBS: dict[str, str] = {"logistic_map": "horizon", "adding": "length"}
#: Task options that make a supervised model non-differentiable (thresholds, quantized
#: weights, the 0-1 loss), read from the records when the task no longer builds.
_NONDIFF_ACTIVATIONS = frozenset({"sign", "step"})


def regime_of(group: TaskGroup) -> str:
    """The regime a task belongs to (:data:`REGIMES`).

    Control tasks are ``control``; a task whose loss unrolls a recurrent cell or chaotic
    dynamics over many steps (its network takes a truncation length) is ``long horizon``, where
    backpropagation through time meets exploding or vanishing gradients (Metz et al. 2021);
    a supervised task whose network has threshold units or
    quantized weights, or whose loss is the 0-1 loss, is ``non-differentiable`` (what its
    gradient solvers descend is a straight-through estimate, not the task's gradient); every
    other task is ``smooth supervised``.
    """
    if group.kind == "control":
        return "control"
    task = group.task_obj
    supports = getattr(getattr(task, "model", None), "supports", None)
    if (callable(supports) and supports("truncation")) or (
            task is None and group.first.family in _LONG_HORIZON_FAMILIES):
        return "long horizon"
    if task is not None:
        flagged = getattr(task, "needs_straight_through", None)
        if flagged is not None:
            return "non-differentiable" if flagged else "smooth supervised"
    options = group.options
    activations = options.get("hidden_activation", ())
    activations = (activations,) if isinstance(activations, str) else tuple(activations or ())
    if (_NONDIFF_ACTIVATIONS & set(activations)
            or options.get("weights", "real") not in ("real", None)
            or options.get("loss") == "zero_one"):
        return "non-differentiable"
    return "smooth supervised"


def verdict_section(groups: Sequence[TaskGroup], budget_note: str = "") -> list[str]:
    """The verdict at the top of the report (about a minute to read), one answer per regime."""
    verdicts = task_verdicts(groups)
    defaults = task_verdicts(groups, arm="defaults")
    if not verdicts:
        return []
    # Seeds per task: a suite may run some tasks on more seeds than others (the horizon suite).
    per_task = sorted({g.seed_count for g in groups})
    seeds_text = (f"{per_task[0]} evaluation seeds each" if len(per_task) == 1
                  else f"{per_task[0]}-{per_task[-1]} evaluation seeds per task")
    by_regime = {r: [v for v in verdicts if regime_of(v.group) == r] for r in REGIMES}
    present = [r for r in REGIMES if by_regime[r]]
    regimes_text = ", ".join(f"{r} ({len(by_regime[r])})" for r in present)
    lines = [
        "## Verdict",
        "",
        f"*Scope: {len(groups)} tasks in {len(present)} regime"
        + ("s" if len(present) != 1 else "") + f" — {regimes_text} — "
        f"{seeds_text}, the budgets stated "
        "in the protocol section" + (f" ({budget_note})" if budget_note else "")
        + ". Each paradigm is represented on each task by its best solver there, in the arm "
        "tuned by the tuning study (defaults in brackets). Picking the best of a paradigm on "
        "these runs flatters every paradigm alike; the tests do not correct for it. Intervals "
        "are 95%. p-values are Holm-adjusted within each family: each task's tests, and the "
        "cross-task tests of each regime. They assume independent seeds within a task; the tasks "
        "are a chosen set, not a sample, so nothing here generalises beyond them without more "
        f"tasks. {_size_scope(groups)}*",
        "",
    ]
    for regime in present:
        chosen = by_regime[regime]
        names = {v.group.name for v in chosen}
        if len(present) > 1:
            lines += [f"### {regime.capitalize()}", ""]
        lines += _regime_lines(regime, chosen,
                               [d for d in defaults if d.group.name in names])
        lines += [
            "",
            "| task | pick | reliability, success k/n [95% CI] | cost where both succeeded: "
            "rival's evaluations per pick's, median [95% CI] (Holm p) | quality at budget, "
            "median (best-validation checkpoint where validated) |",
            "|---|---|---|---|---|",
        ]
        lines += [_task_row(v) for v in chosen]
        lines.append("")
    if len(present) > 1:
        lines += ["### Where the regimes agree and disagree", "",
                  *_disagreement_lines(by_regime, present), ""]
    notes = _notes(verdicts)
    if notes:
        lines += [*notes, ""]
    return lines


def _size_scope(groups: Sequence[TaskGroup]) -> str:
    """The scope line's sentence on network size: the sizes these picks rest on, and where
    the cost's growth with size is measured (the scaling study's fitted exponents)."""
    sizes = [int(g.first.num_params) for g in groups]
    span = (f"{min(sizes):,}" if min(sizes) == max(sizes)
            else f"{min(sizes):,} to {max(sizes):,}")
    return (f"The networks have {span} parameters; for a larger network, the *Scaling* "
            "section's exponents (how evaluations to target grow with the parameter count, per "
            "solver, and where their data stop) are the evidence, in these records or in the "
            "committed scaling study (`results/reference/report-scaling.md`).")


def _regime_lines(regime: str, verdicts: Sequence[TaskVerdict],
                  defaults: Sequence[TaskVerdict]) -> list[str]:
    """One regime's answer: the pooled tests, each paradigm's record, the references, the null
    baseline, and where the data cannot decide."""
    lines: list[str] = []
    untargeted = [v.group.name for v in verdicts if _fixed_budget_only(v.group)]
    targeted = [v for v in verdicts if not _fixed_budget_only(v.group)]
    if targeted:
        lines += _pooled_lines(pooled(targeted))
        lines += _when_lines(targeted, [d for d in defaults if not _fixed_budget_only(d.group)])
        if regime == "control":
            lines.append(
                "- **Closed form** is not applicable to control: a policy has no labelled "
                "targets to fit, so ZORB and ELM do not run on these tasks (not a failure)."
            )
        if regime == "long horizon":
            lines += _horizon_lines(targeted)
        lines += _strongest_lines(targeted)
        lines += _reference_lines(targeted)
        lines += _baseline_lines(targeted)
        open_tasks = [v.group.name for v in targeted if v.decided == "open"]
        lines.append(
            "- **Where the data cannot decide:** "
            + (", ".join(open_tasks) + ": the pick there is the best point estimate, but not "
               "significantly more reliable or cheaper than every rival that also succeeded "
               "(Holm p ≥ 0.05 within the task)."
               if open_tasks else "nowhere; every pick is more reliable or cheaper than each "
               "rival that also succeeded, with Holm p < 0.05.")
        )
    if untargeted:
        lines.append(
            f"- **No target:** {', '.join(untargeted)} had none, so no run could succeed and "
            "neither reliability nor cost to target is compared there; the table's last column "
            "compares the quality each paradigm reached at the budget, and *Choosing a target* "
            "(where present) says how to set one."
        )
    return lines


def _horizon_of(group: TaskGroup) -> float | None:
    """A long-horizon task's unroll length (its factory's default when the records leave the
    knob out, as they do for a default value)."""
    knob = HORIZON_KNOBS.get(group.task)
    if knob is None:
        return None
    return knob_numeric(group.options.get(knob, default_options(group.task).get(knob)))


def _horizon_lines(verdicts: Sequence[TaskVerdict]) -> list[str]:
    """From which unroll length ``T`` evolution is the pick, per long-horizon task: the picks
    in ``T`` order, and the first ``T`` from which every pick is evolution's and decided
    (Holm p < 0.05 within the task), or that there is none."""
    by_task: dict[str, list[tuple[float, TaskVerdict]]] = {}
    for v in verdicts:
        t = _horizon_of(v.group)
        if t is not None:
            by_task.setdefault(v.group.task, []).append((t, v))
    lines = []
    for task, rows in by_task.items():
        rows.sort(key=lambda r: r[0])
        shown = "; ".join(
            f"T = {t:g}: {v.pick or 'no pick'}" + ("" if v.pick is None or v.decided != "open"
                                                    else " (not decided)")
            for t, v in rows)
        start = None
        for i in range(len(rows)):
            if all(v.pick == "evolution" and v.decided != "open" for _, v in rows[i:]):
                start = rows[i][0]
                break
        if start is not None:
            answer = (f"evolution is the decided pick from T = {start:g} on (to the longest "
                      f"horizon run, {rows[-1][0]:g})")
        elif any(v.pick == "evolution" for _, v in rows):
            answer = ("evolution is picked at some horizons but not, decided, at every horizon "
                      "from some T on")
        else:
            answer = "evolution is the pick at no horizon run"
        lines.append(f"- **From which horizon, {task}:** {answer}. Picks by T: {shown}.")
    return lines


def _strongest_lines(verdicts: Sequence[TaskVerdict]) -> list[str]:
    """Each paradigm's strongest solver in the regime, where the paradigm has more than one:
    the best of the paradigm on the most tasks (``benchmarks/report/breadth.py``)."""
    groups = [v.group for v in verdicts]
    parts = []
    for paradigm in ("gradients", "evolution"):
        top = standings(groups, paradigm)
        if len(top) > 1 and top[0].wins:
            parts.append(f"{paradigm}: {standing_text(top[0])}")
        elif len(top) == 1:
            parts.append(f"{paradigm}: {standing_text(top[0])}, the only one that runs here")
    if not parts:
        return []
    return ["- **Strongest solver of each paradigm here** (best of its paradigm on the most "
            "tasks; the others are ranked per task in *Within each paradigm*): "
            + "; ".join(parts) + "."]


def _outside_solvers(verdicts: Sequence[TaskVerdict], paradigm: str) -> list[str]:
    """The solvers of a paradigm outside the picks (reference lines, baselines) that ran."""
    seen = dict.fromkeys(base_solver(lab) for v in verdicts for lab in v.group.runs)
    return [s for s in seen if paradigm_of(s) == paradigm]


def _against_pick(v: TaskVerdict, label: str) -> str:
    """A solver outside the picks on one task: its success (runs censored by time apart), and
    its evaluations per the pick's where both succeeded (median paired ratio with a bootstrap
    interval; descriptive, untested)."""
    rows = v.group.usable(label)
    censored = len(v.group.tried(label)) - len(rows)
    costs, success = ert_inputs(rows, "evaluations")
    ok, n = int(success.sum()), len(rows)
    lo, hi = wilson_interval(ok, n)
    text = f"{v.group.name} {ok}/{n} [{lo:.2f}–{hi:.2f}]"
    if censored:
        text += f" ({censored} more censored by the seconds safety net)"
    if ok:
        text += f", ERT {ert(costs, success):.3g}"
    if v.pick is not None and ok:
        a, b = _paired(v.group, v.entries[v.pick].label, label)
        c = cost_given_success(a, b, seed=bootstrap_seed(v.group.name, label))
        if c.n:
            text += (f"; where both succeeded it needed {_fmt_ratio(c)} the evaluations of the "
                     f"pick ({v.pick})")
    return text


def _reference_lines(verdicts: Sequence[TaskVerdict]) -> list[str]:
    """The libraries a user would otherwise reach for, beside the picks (never picked)."""
    lines = []
    for solver in _outside_solvers(verdicts, REFERENCE):
        parts = [_against_pick(v, label) for v in verdicts
                 if (label := label_in_arm(v.group, solver)) is not None]
        if parts:
            lines.append(f"- **Reference `{solver}`** (what a user would otherwise use; not a "
                         "paradigm pick): " + "; ".join(parts) + ".")
    return lines


def _baseline_lines(verdicts: Sequence[TaskVerdict]) -> list[str]:
    """The null baseline: where it does as well as the pick, the task tests little."""
    lines = []
    for solver in _outside_solvers(verdicts, BASELINE):
        parts, easy = [], []
        for v in verdicts:
            label = label_in_arm(v.group, solver)
            if label is None:
                continue
            parts.append(_against_pick(v, label))
            _, success = ert_inputs(v.group.usable(label), "evaluations")
            if v.pick is not None and len(success) and (
                    success.mean() >= v.entries[v.pick].rate):
                easy.append(v.group.name)
        if parts:
            lines.append(
                f"- **Null baseline `{solver}`**: " + "; ".join(parts) + ". "
                + (f"It is as reliable as the pick on {', '.join(easy)}: there the task "
                   "separates the paradigms by cost only, not by whether they can solve it."
                   if easy else "It is less reliable than the pick on every task.")
            )
    return lines


def _disagreement_lines(by_regime: dict[str, list[TaskVerdict]],
                        present: Sequence[str]) -> list[str]:
    """Each regime's picks side by side, and whether the regimes point the same way."""
    lines, leaders = [], {}
    for regime in present:
        picks = [v.pick for v in by_regime[regime] if v.pick is not None]
        counts = {p: picks.count(p) for p in PARADIGMS if p in picks}
        n = len(by_regime[regime])
        if counts:
            top = max(counts.values())
            leaders[regime] = {p for p, k in counts.items() if k == top}
        shown = ", ".join(f"{p} on {k}" for p, k in counts.items()) or "no paradigm"
        lines.append(f"- **{regime.capitalize()}** ({n} tasks): picked {shown}"
                     + (f"; no pick on {n - len(picks)}" if n > len(picks) else "") + ".")
    distinct = {frozenset(v) for v in leaders.values()}
    if len(distinct) > 1:
        lines.append(
            "- The regimes **disagree**: the paradigm picked most often differs between them ("
            + "; ".join(f"{r}: {' / '.join(sorted(leaders[r]))}" for r in leaders)
            + "), so a single answer across regimes would mislead; read the regime that matches "
              "your problem.")
    elif distinct:
        lines.append(
            "- The regimes **agree** on the paradigm picked most often ("
            + " / ".join(sorted(next(iter(distinct)))) + "); the tables say how firmly.")
    return lines


def _pooled_lines(comparisons: Sequence[Pooled]) -> list[str]:
    """Across tasks: reliability, then cost given success, for each pair of paradigms."""
    lines = []
    for c in comparisons:
        r, k = c.reliability, c.cost
        if r.n == 0:
            continue
        more = c.a if r.a_only > r.b_only else c.b
        text = (
            f"- **{c.a.capitalize()} vs {c.b}** over {r.n} (task, seed) blocks: only "
            f"{c.a} reached the target in {r.a_only}, only {c.b} in {r.b_only} "
            f"(success difference {r.diff:+.2f} [{r.low:+.2f}, {r.high:+.2f}], "
            f"McNemar Holm p {fmt_p(c.p_reliability)}"
        )
        text += (f": **{more} is more reliable**). " if c.p_reliability < ALPHA and
                 r.a_only != r.b_only else ": no significant difference). ")
        if k.n:
            cheaper = c.a if k.log_ratio < 0 else c.b
            other = c.b if cheaper == c.a else c.a
            # The ratio other/cheaper, its interval in the same orientation: an interval that
            # straddles 1 keeps its side below 1 (taking each end's absolute value folded it
            # onto the other side, printing a median outside its own interval).
            sign = -1 if k.log_ratio < 0 else 1
            factor = 10 ** (sign * k.log_ratio)
            lo, hi = sorted((10 ** (sign * k.low), 10 ** (sign * k.high)))
            text += (
                f"Where both succeeded ({k.n} blocks), {other} needed a median "
                f"{factor:.2g}× [{lo:.2g}–{hi:.2g}] the evaluations of {cheaper} "
                f"(Wilcoxon Holm p {fmt_p(c.p_cost)}"
                + (f": **{cheaper} is cheaper when both work**)." if c.p_cost < ALPHA and
                   k.log_ratio != 0 else ": no significant difference).")
            )
        else:
            text += "They never both succeeded on one seed, so their costs cannot be compared."
        lines.append(text)
    return lines


def _when_lines(verdicts: Sequence[TaskVerdict], defaults: Sequence[TaskVerdict]) -> list[str]:
    """Per paradigm: overall success, where it works (>= 80% of seeds), where it is picked."""
    lines = []
    for paradigm in PARADIGMS:
        tot = _totals(verdicts, paradigm)
        if tot is None:
            continue
        ok, n, tasks_ran = tot
        lo, hi = wilson_interval(ok, n)
        tot_def = _totals(defaults, paradigm)
        works = [v for v in verdicts if paradigm in v.entries
                 and v.entries[paradigm].rate >= RELIABLE]
        fails = [v for v in verdicts if paradigm in v.entries
                 and v.entries[paradigm].rate < RELIABLE]
        picks = [v.group.name for v in verdicts if v.pick == paradigm]
        line = (
            f"- **{paradigm.capitalize()}** reached the target in {ok}/{n} runs "
            f"[{lo:.2f}–{hi:.2f}] on {tasks_ran} tasks"
            + (f" (at defaults {tot_def[0]}/{tot_def[1]})" if tot_def is not None else "")
            + ". Reliable (≥ 80% of seeds) on "
            + (_task_list(works) if works else "no task")
            + (f"; not on {_task_list(fails)}" if fails else "")
            + ". "
            + (f"The pick on {', '.join(picks)}." if picks else "The pick on no task.")
        )
        lines.append(line)
    return lines


def _task_list(verdicts: Sequence[TaskVerdict]) -> str:
    """Task names with their network size, so a reader sees where a paradigm stops working."""
    return ", ".join(f"{v.group.name} ({v.group.first.num_params} weights)" for v in verdicts)


def _totals(verdicts: Sequence[TaskVerdict], paradigm: str) -> tuple[int, int, int] | None:
    es = [v.entries[paradigm] for v in verdicts if paradigm in v.entries]
    if not es:
        return None
    return sum(e.successes for e in es), sum(e.runs for e in es), len(es)


def _task_row(v: TaskVerdict) -> str:
    _, title, _ = quality_metric(v.group)
    pick = ("cannot pick: no paradigm reached the target" if not _fixed_budget_only(v.group)
            else "no target (fixed budget only): compare the quality column")
    pick = pick if v.pick is None else (
        f"**{v.pick}** (`{v.entries[v.pick].label}`)"
        + (" — not decided" if v.decided == "open" else ""))
    rel = "; ".join(f"{p}: {e.success_text()}" for p, e in v.entries.items())
    costs = []
    for other, c in v.cost.items():
        if c.n == 0:
            costs.append(f"{other}: no seed where both succeeded")
        else:
            costs.append(f"{other}: {_fmt_ratio(c)} (p {fmt_p(v.p_cost[other])})")
    quality = "; ".join(f"{p}: {e.quality:.3g}" for p, e in v.entries.items()
                        if math.isfinite(e.quality))
    return (f"| {v.group.name} | {pick} | {rel} | {'; '.join(costs) or '—'} | "
            f"{title}: {quality or '—'} |")


def _fixed_budget_only(group: TaskGroup) -> bool:
    """A task whose target sets no threshold (a user's data given without one): its runs all
    go to the budget, and only their quality there can be compared."""
    target = group.task_obj.target if group.task_obj is not None else None
    return target is not None and all(
        getattr(target, name, None) is None
        for name in ("max_mse", "min_accuracy", "max_loss", "min_return"))


def budget_ended(v: TaskVerdict) -> dict[str, Entry]:
    """The paradigms whose representative never reached the target on a task the pick did,
    every usable run stopped by the budget: the budget, not necessarily the method, ended them
    (the verdict's notes say so, and the budget study re-runs them at a larger budget)."""
    out = {}
    for paradigm, e in v.entries.items():
        if not e.runs or e.successes or paradigm == v.pick or v.pick is None:
            continue
        if bool(v.group.usable(e.label)["stop_reason"].isin(BUDGET_STOPS).all()):
            out[paradigm] = e
    return out


def _notes(verdicts: Sequence[TaskVerdict]) -> list[str]:
    """Sentences for recurring pathologies, said where they appear."""
    notes = []
    for v in verdicts:
        ended = budget_ended(v)
        for paradigm, e in v.entries.items():
            rows = v.group.usable(e.label)
            if paradigm in ended and v.pick is not None:
                budget = rows["budget.max_evaluations"].iloc[0] if len(rows) else None
                pick_ert = v.entries[v.pick].ert
                if pd.notna(budget) and budget and math.isfinite(pick_ert) and pick_ert > 0:
                    ratio = budget / pick_ert
                    notes.append(
                        f"- {v.group.name}: `{e.label}` never reached the target within "
                        f"{budget:,} evaluations, {ratio_text(ratio)} the pick's ERT: the "
                        "budget, not necessarily the method, ended those runs; "
                        + ("it needs more than that many times the pick's evaluations."
                           if ratio >= 1 else "the pick's own ERT (misses counted) is above "
                           "the budget, so this says little about how they compare.")
                    )
            notes += _pathologies(v, e, rows)
    return notes


def _pathologies(v: TaskVerdict, e: Entry, rows: pd.DataFrame) -> list[str]:
    """Two recurring failure shapes, checked on the records, explained where they appear."""
    out = []
    task = v.group.task_obj
    failed = rows[~rows["success"]]
    if task is not None and len(failed) and task.loss == "mse":
        variance = float(np.var(task.y_train, axis=0).mean())
        mses = failed["final_train.mse"].astype(float) if "final_train.mse" in failed else []
        constant = [m for m in mses if math.isfinite(m) and abs(m - variance) <= 1e-3 * variance]
        if len(constant) >= max(1, len(failed) // 2):
            out.append(
                f"- {v.group.name}: `{e.label}` ends at the constant predictor in "
                f"{len(constant)}/{len(failed)} failed runs (training MSE = the targets' "
                f"variance, {variance:.3g}). For ZORB this is its symmetric collapse: when no "
                "single input correlates with the labels (XOR, parity, a centred circle), the "
                "first layer's least-squares slopes vanish and the network outputs the mean."
            )
    weights = [max((abs(x) for x in r.final_params), default=0.0)
               for r in (v.group.records[i] for i in rows.index) if r.final_params]
    if weights and float(np.median(weights)) > HUGE_WEIGHT:
        if e.paradigm == "closed form":
            why = ("a least-squares fit with a tiny rcond on nearly collinear features; the fit "
                   "is exact on the training points but rests on cancellation between huge "
                   "weights.")
        elif e.paradigm == "gradients":
            why = ("the steps drove the weights far out and the network computes with "
                   "saturated units (through a long unroll an exploding gradient does this; "
                   "gradient-norm clipping, tuned where the network unrolls, is the usual cure).")
        else:
            why = ("the search moved the weights far out and the network computes with "
                   "saturated units" + (
                       " (nevergrad's PSO maps its bounded search box back to weights, so a "
                       "particle at the box's edge becomes a weight near 1e16 times its sigma)."
                       if e.label.split(" ")[0] == "pso" else "."))
        out.append(
            f"- {v.group.name}: `{e.label}`'s largest weight has a median of "
            f"{float(np.median(weights)):.1e} over its runs: {why}"
        )
    return out
