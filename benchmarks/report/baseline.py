"""How far each solver beats the null baseline (random search) on one task: the per-task line.

A solver earns its place on a task only by reaching the target with fewer evaluations than
random draws from the same initialisation distribution would (``solvers/random_search.py``).
Each task's section therefore states, per solver, the ratio of the baseline's ERT to the
solver's, both in evaluations with misses counted (COCO's aRT, the ERT column of the task's
table, over the same usable runs), so a task that tests nothing, one random search solves about
as cheaply as every solver, shows itself where the reader looks at that task.

The baseline is recognised by what it declares (``paradigm == "baseline"``), never by its name,
and is compared within an arm: tuned solvers against the tuned baseline, defaults against the
defaults, since the tuning study tunes the baseline like everyone.
"""

from __future__ import annotations

import math

from benchmarks.report.analysis import TaskGroup, ert_inputs
from benchmarks.report.stats import ert
from benchmarks.results import base_solver
from solvers import SOLVERS
from solvers.base import BASELINE

#: Below this ratio (baseline ERT / solver ERT) a solver's edge over random search is called
#: small: with 10 seeds an ERT's bootstrap interval commonly spans a factor of two, so a smaller
#: ratio is no evidence that the solver learnt anything random draws would not find.
NULL_FACTOR = 2.0


def is_baseline(label: str) -> bool:
    """Whether a label's solver declares the null-baseline paradigm (``random-search``)."""
    cls = SOLVERS.get(base_solver(label))
    return cls is not None and cls.paradigm == BASELINE


def label_ert(group: TaskGroup, label: str) -> float:
    """A label's ERT in evaluations over its usable runs (``inf`` when none reached the target)."""
    costs, ok = ert_inputs(group.usable(label), "evaluations")
    return ert(costs, ok)


def ratio_text(ratio: float) -> str:
    """``40×``, ``3.2×``, ``0.45×``: two or three significant figures, never scientific."""
    if ratio >= 10:
        return f"{ratio:,.0f}×"
    return f"{ratio:.1f}×" if ratio >= 1 else f"{ratio:.2g}×"


def _arm(group: TaskGroup, label: str) -> str:
    return str(group.tried(label)["arm"].iloc[0])


def versus_baseline_lines(group: TaskGroup) -> list[str]:
    """The task's "against random search" paragraph, one per arm with a baseline (Markdown).

    Empty when no baseline ran on the task. Each solver reads ``N×`` (the baseline's ERT over
    the solver's: above 1 the solver needed N times fewer evaluations), or in words where an ERT
    is infinite; the paragraph ends by saying whether the task tells solvers from chance.
    """
    labels = [lab for lab in group.runs if not group.tried(lab).empty]
    baselines = [lab for lab in labels if is_baseline(lab)]
    if not baselines:
        return []
    lines: list[str] = []
    for arm in dict.fromkeys(_arm(group, lab) for lab in labels):
        here = [lab for lab in labels if _arm(group, lab) == arm]
        own = [lab for lab in here if is_baseline(lab)]
        others = [lab for lab in here if not is_baseline(lab)]
        if others:
            lines += [_arm_paragraph(group, own[0] if own else baselines[0], others), ""]
    return lines


def _arm_paragraph(group: TaskGroup, baseline: str, labels: list[str]) -> str:
    base = label_ert(group, baseline)
    usable = group.usable(baseline)
    reached = f"{int(usable['success'].sum())}/{len(usable)}"
    parts: list[str] = []
    ratios: list[float] = []
    for label in labels:
        mine = label_ert(group, label)
        if math.isfinite(mine) and math.isfinite(base):
            ratios.append(base / mine)
            parts.append(f"{label} {ratio_text(base / mine)}")
        elif math.isfinite(mine):
            ratios.append(math.inf)
            parts.append(f"{label} reaches the target, random search does not")
        elif math.isfinite(base):
            ratios.append(0.0)
            parts.append(f"{label} does not reach the target, random search does")
        else:
            parts.append(f"{label}: neither reaches the target")
    head = (f"**Against random search** (`{baseline}` reached the target in {reached} runs; "
            "its ERT in evaluations over each solver's, misses counted: above 1 the solver "
            "needed that many times fewer evaluations): ")
    return head + "; ".join(parts) + ". " + _judgement(base, ratios)


def _judgement(base: float, ratios: list[float]) -> str:
    """Whether the task separates the solvers from chance, from the ratios of those that ran."""
    if not math.isfinite(base):
        if any(r == math.inf for r in ratios):
            return "Random search does not reach the target: the task asks for more than luck."
        return "Neither random search nor any solver reaches the target here."
    best = max(ratios, default=0.0)
    if best < NULL_FACTOR:
        return (f"**This task tests little**: random search reaches the target too, and no "
                f"solver is even {NULL_FACTOR:g}× cheaper.")
    return (f"Random search reaches the target too (ERT {base:,.0f} evaluations); the best "
            f"solver needs {ratio_text(best)} fewer.")
