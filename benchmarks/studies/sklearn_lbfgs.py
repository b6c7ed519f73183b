"""L-BFGS against scikit-learn's L-BFGS: same network, same split, test accuracy and time.

A user's first tool on small tabular data is ``MLPClassifier(solver="lbfgs")``. The suite
``lbfgs-sklearn`` (``python benchmarks/run_all.py --suite lbfgs-sklearn``) runs the benchmark's
``lbfgs`` (``torch.optim.LBFGS``, strong-Wolfe) and ``sklearn-mlp`` with ``solver="lbfgs"``
(SciPy's L-BFGS-B through scikit-learn, ``alpha=0``) on iris, wine, breast cancer and digits, each
seed with its own split shared by both, both to their own convergence. This module writes the
report section from its records: per data set, test accuracy median [IQR], solver seconds
(median, and the per-seed ratio), and success k/n on the task's training-accuracy target.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from benchmarks.records import RunRecord
from benchmarks.suites import SUITES

SUITE = "lbfgs-sklearn"
#: The two sides, as (label, solver, the scikit-learn solver it must run with or None).
_SIDES: tuple[tuple[str, str, str | None], ...] = (
    ("`lbfgs` (torch)", "lbfgs", None),
    ("`sklearn-mlp` (scikit-learn lbfgs)", "sklearn-mlp", "lbfgs"),
)


def _side(record: RunRecord) -> int | None:
    for k, (_, solver, sk) in enumerate(_SIDES):
        if record.solver == solver and (sk is None or record.config.get("solver") == sk):
            return k
    return None


def _median_iqr(values: Sequence[float], fmt: str) -> str:
    if not values:
        return "—"
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return f"{med:{fmt}} [{q1:{fmt}}, {q3:{fmt}}]"


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def markdown_section(records: Sequence[RunRecord]) -> list[str]:
    """The section's Markdown lines (no heading), from the ``lbfgs-sklearn`` records."""
    runs: dict[str, list[dict[int, RunRecord]]] = defaultdict(lambda: [{}, {}])
    for r in records:
        k = _side(r)
        if k is None or r.suite != SUITE or r.stop_reason == "unsupported":
            continue
        runs[r.task][k][r.seed] = r  # the latest record of a seed wins, as everywhere
    suite = SUITES[SUITE]
    out = [
        f"{suite.description} Both sides see the same training rows and test rows on each "
        "seed (the split is drawn from the seed) and the same network; what differs is the "
        "initial weights (scikit-learn's Glorot-uniform weights and biases from its own "
        "generator; the benchmark's shared start), the line search (SciPy's L-BFGS-B against "
        "torch's strong-Wolfe) and the stopping rule (scikit-learn: its `tol` on the projected "
        "gradient; torch: `tolerance_grad`/`tolerance_change`). Seconds are solver seconds "
        "(the harness's evaluations are off the clock for both); scikit-learn's include its "
        "input checks. Evaluations are single-example forward passes, every loss call counted on "
        "both sides (line searches included). Success is the task's training-accuracy target "
        "at the end of the run.",
        "",
    ]
    if not runs:
        return [*out, "No runs of this suite recorded yet."]
    for task in sorted(runs):
        sides = runs[task]
        target = next(iter(next(s for s in sides if s).values())).target
        out += [f"**{task}** (target: {target})", "",
                "| solver | runs | success | test accuracy, median [IQR] | seconds, median "
                "[IQR] | evaluations, median |",
                "|---|---:|---:|---:|---:|---:|"]
        for (label, _, _), side in zip(_SIDES, sides, strict=True):
            rs = [side[s] for s in sorted(side) if side[s].stop_reason != "error"]
            acc = [r.final_test["accuracy"] for r in rs
                   if math.isfinite(r.final_test.get("accuracy", math.nan))]
            secs = [r.solver_seconds for r in rs]
            its = f"{np.median([r.evaluations for r in rs]):,.0f}" if rs else "—"
            out.append(
                f"| {label} | {len(side)} | {sum(r.success for r in rs)}/{len(side)} | "
                f"{_median_iqr(acc, '.3f')} | "
                f"{_median_iqr(secs, '.4f') if secs else '—'} | {its} |"
            )
        paired = sorted(set(sides[0]) & set(sides[1]))
        out.append("")
        if paired:
            ratios = [sides[0][s].solver_seconds / sides[1][s].solver_seconds for s in paired
                      if sides[1][s].solver_seconds > 0]
            diffs = [sides[0][s].final_test.get("accuracy", math.nan)
                     - sides[1][s].final_test.get("accuracy", math.nan) for s in paired]
            diffs = [d for d in diffs if math.isfinite(d)]
            med0 = float(np.median([sides[0][s].solver_seconds for s in paired]))
            med1 = float(np.median([sides[1][s].solver_seconds for s in paired]))
            ratio = f"{np.median(ratios):.2g}×" if ratios else "—"
            out.append(
                f"Paired over {len(paired)} seeds: `lbfgs` takes {ratio} scikit-learn's "
                f"seconds (median of per-seed ratios; medians {_seconds(med0)} against "
                f"{_seconds(med1)}); test accuracy difference (`lbfgs` − scikit-learn) median "
                f"{np.median(diffs):+.3f}, range [{min(diffs):+.3f}, {max(diffs):+.3f}]."
                if diffs else "No paired test accuracies."
            )
        else:
            out.append("No seed ran on both sides.")
        out.append("")
    return out
