"""Figure of the tuning-budget check: expected best ERT against the number of trials.

One panel per task, one line per solver (the report's solver colours and markers), so a reader
sees whether a solver's curve is still falling where the committed study stopped (8 trials,
the dashed line) and whether two solvers' curves cross after it: a ranking that flips with the
tuning budget (Sivaprasad et al. 2020).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from benchmarks.report.figures.common import legend_below, palette, save, suptitle, theme

#: Panels per row.
COLUMNS = 3


def tuning_curves_figure(
    curves: Mapping[str, Mapping[str, Sequence[float]]], path: Path, *, committed: int = 8
) -> Path | None:
    """Draw ``curves[task][solver]`` (expected best ERT after ``k`` trials, ``k = 1..n``).

    Points where the expectation is infinite (some draw of ``k`` trials has no success) are
    left out, so a line starts at the first ``k`` from which every draw of ``k`` trials holds a
    success; a solver none of whose trials succeeded has no line and is named under its panel's
    title.
    ``committed``: the trial count of the committed study, drawn as a dashed line.
    """
    tasks = [t for t, by_solver in curves.items() if by_solver]
    if not tasks:
        return None
    solvers = list(dict.fromkeys(s for t in tasks for s in curves[t]))
    colours = palette(solvers)
    # A marker of its own for each of up to 15 solvers: colours alone come close at 13.
    markers = dict(zip(solvers, ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">", "h", "p",
                                 "d", "8", "H") * 2, strict=False))
    cols = min(COLUMNS, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    with theme():
        fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.3 * rows), squeeze=False)
        for ax, task in zip(axes.flat, tasks, strict=False):
            never = []
            longest = 1
            drawn = False
            for solver, curve in curves[task].items():
                points = [(k, v) for k, v in enumerate(curve, start=1)
                          if math.isfinite(v) and v > 0]
                longest = max(longest, len(curve))
                if not points:
                    never.append(solver)
                    continue
                ks, values = zip(*points, strict=True)
                ax.plot(ks, values, color=colours[solver], marker=markers[solver],
                        markevery=max(1, len(ks) // 6), markersize=4, lw=1.4)
                drawn = True
            if committed < longest:
                ax.axvline(committed, color="0.4", ls="--", lw=0.9)
            if drawn:
                ax.set_yscale("log")
            ax.set_xlim(0.5, longest + 0.5)
            # Named under the title, not inside the axes, where it would cover the lines.
            ax.set_title(task + ("\nno success: " + ", ".join(never) if never else ""),
                         fontsize=9)
            ax.set_xlabel("tuning trials k", fontsize=8)
            ax.set_ylabel("expected best ERT, evaluations", fontsize=8)
        for ax in list(axes.flat)[len(tasks):]:
            ax.axis("off")
        suptitle(fig, "Tuning budget: the expected best ERT (tuning seeds) of k trials drawn "
                      f"from all of them, per solver (dashed: the committed study's "
                      f"{committed} trials)", y=1.01)
        fig.tight_layout()
        handles = [Line2D([], [], color=colours[s], marker=markers[s], lw=1.4) for s in solvers]
        legend_below(fig, handles, solvers, ncol=6)
        return save(fig, path)


__all__ = ["tuning_curves_figure"]
