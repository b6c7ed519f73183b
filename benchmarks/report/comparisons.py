"""Paired comparisons across tasks that say what they mean: reliability apart from cost.

Blocks are (task, seed) pairs: for a seed, every single-start solver starts from the same
weights and sees the same data, so per-block differences remove the luck of the draw. For each
pair of solvers the report asks two questions, each with an effect size and its interval:

* **reliability**: in how many blocks did only one of the two reach the target? McNemar's
  exact test on those discordant blocks; the paired success-rate difference with Newcombe's
  interval;
* **cost given success**: over the blocks where *both* reached it, the median ratio of their
  evaluations to target, with a bootstrap interval; Wilcoxon's signed-rank test.

p-values are Holm-adjusted within each table's family. The blocks of one task are independent
seeds; the tasks are not a sample of anything, so the tests speak about these tasks only.

The paired-wins matrix drawn in the report is computed here, from the same comparisons as the
table, so the picture and the numbers cannot disagree (a test checks it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmarks.report.analysis import COST_FLOOR, TaskGroup, bootstrap_seed, paired_costs
from benchmarks.report.stats import (
    CostGivenSuccess,
    Reliability,
    cost_given_success,
    holm_finite,
    mcnemar,
)
from benchmarks.results import base_solver, is_reference

#: Family-wise error rate of each table.
ALPHA = 0.05


@dataclass(frozen=True)
class PairComparison:
    """Two solver labels compared over the blocks where both ran."""

    a: str
    b: str
    reliability: Reliability
    cost: CostGivenSuccess
    p_reliability: float
    p_cost: float

    def verdict(self) -> str:
        """What the data show, in words (never a "cheaper" coded from failures)."""
        parts = []
        if self.reliability.n == 0:
            return "no block where both ran"
        if self.p_reliability < ALPHA and self.reliability.favours:
            parts.append(f"**{self._name(self.reliability.favours)}** more reliable")
        if self.p_cost < ALPHA and self.cost.favours:
            parts.append(f"**{self._name(self.cost.favours)}** cheaper when both succeed")
        if not parts:
            return "cannot decide (neither difference is significant)"
        return "; ".join(parts)

    def _name(self, side: str) -> str:
        return self.a if side == "a" else self.b


def compare(
    groups: Sequence[TaskGroup], pairs: Sequence[tuple[str, str]], axis: str = "evaluations"
) -> list[PairComparison]:
    """Both questions for every pair, Holm-adjusted within each question's family.

    A pair's blocks are the (task, seed) pairs where both ran; runs censored by time are left
    out (they say nothing about either algorithm); ``inf`` marks a miss.
    """
    labels = list(dict.fromkeys(label for pair in pairs for label in pair))
    costs = paired_costs(groups, labels, axis, usable_only=True)  # type: ignore[arg-type]
    raw = []
    for a, b in pairs:
        both = costs[[a, b]].dropna()
        x, y = both[a].to_numpy(dtype=float), both[b].to_numpy(dtype=float)
        raw.append((a, b, mcnemar(np.isfinite(x), np.isfinite(y)),
                    cost_given_success(x, y, floor=COST_FLOOR[axis],
                                       seed=bootstrap_seed(a, b, axis))))
    p_rel = holm_finite([r[2].pvalue for r in raw])
    p_cost = holm_finite([r[3].pvalue for r in raw])
    return [PairComparison(a, b, rel, cost, pr, pc)
            for (a, b, rel, cost), pr, pc in zip(raw, p_rel, p_cost, strict=True)]


def win_shares(
    comparisons: Sequence[PairComparison], labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The paired-wins matrix: share of both-succeeded blocks where the row was cheaper (ties
    half), NaN where no block had both succeed; and the cell notes (``*``: cost Holm p < 0.05).
    """
    index = {lab: k for k, lab in enumerate(labels)}
    n = len(labels)
    share = np.full((n, n), math.nan)
    notes = np.full((n, n), "", dtype=object)
    for c in comparisons:
        if c.cost.n == 0:
            continue
        i, j = index[c.a], index[c.b]
        s = (c.cost.a_cheaper + 0.5 * c.cost.ties) / c.cost.n
        share[i, j], share[j, i] = s, 1 - s
        star = "*" if c.p_cost < ALPHA else ""
        notes[i, j], notes[j, i] = f"{s:.2f}{star}", f"{1 - s:.2f}{star}"
    return share, notes


def arm_labels(groups: Sequence[TaskGroup]) -> tuple[list[str], str]:
    """The labels compared across solvers: the tuned arm where it exists, else the defaults.

    A reference line (a solver whose ``paradigm`` is ``reference``, e.g. ``sklearn-mlp``) is
    shown in the tables but never compared.
    """
    labels = [lab for lab in _labels(groups) if not is_reference(lab)]
    tuned = [lab for lab in labels if lab.endswith(" [tuned]")]
    if tuned:
        return tuned, "tuned"
    return [lab for lab in labels if base_solver(lab) == lab], "defaults"


def _labels(groups: Sequence[TaskGroup]) -> list[str]:
    """Every solver label of the groups, in order of first appearance."""
    return list(dict.fromkeys(lab for g in groups for lab in g.runs))


def tuning_pairs(groups: Sequence[TaskGroup]) -> list[tuple[str, str]]:
    """(tuned, defaults) label pairs of every solver that ran in both arms."""
    labels = set(_labels(groups))
    return [(lab, base_solver(lab)) for lab in sorted(labels)
            if lab.endswith(" [tuned]") and base_solver(lab) in labels]


def fmt_p(p: float) -> str:
    """A p-value for a table: two digits, ``<0.001`` below that, a dash when not computed."""
    if not math.isfinite(p):
        return "—"
    return f"{p:.2g}" if p >= 1e-3 else "<0.001"


def _ratio_text(c: CostGivenSuccess) -> str:
    if c.n == 0:
        return "—"
    return f"{c.ratio:.2g}× [{10 ** c.low:.2g}–{10 ** c.high:.2g}]"


def table(comparisons: Sequence[PairComparison]) -> list[str]:
    """One row per pair: both questions, effect sizes with intervals, Holm p, a verdict."""
    lines = [
        "| pair (A vs B) | blocks | success only A / only B | success difference A − B "
        "[95% CI] | Holm p (McNemar) | both succeeded | A cheaper / B cheaper | cost A/B, "
        "median [95% CI] | Holm p (Wilcoxon) | what the data show |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in comparisons:
        r = c.reliability
        diff = (f"{r.diff:+.2f} [{r.low:+.2f}, {r.high:+.2f}]" if r.n else "—")
        lines.append(
            f"| {c.a} vs {c.b} | {r.n} | {r.a_only} / {r.b_only} | {diff} | "
            f"{fmt_p(c.p_reliability)} | {c.cost.n} | {c.cost.a_cheaper} / {c.cost.b_cheaper} | "
            f"{_ratio_text(c.cost)} | {fmt_p(c.p_cost)} | {c.verdict()} |"
        )
    return [*lines, ""]
