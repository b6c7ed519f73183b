"""Figures of one task's outcome, for a reader who would rather look than read its tables.

- :func:`tradeoff_figure`: success rate against expected running time (ERT), one point per solver
  label with both intervals: the reliability-against-cost choice on one map.
- :func:`final_metric_figure`: the final held-out metric of every run, one strip per label over a
  box of its quartiles.
- :func:`task_ecdf_figure`: this task's runtime ECDF (share of runs at the target within a cost),
  which the pooled cross-task ECDF cannot show per task.

Colours, markers and line styles follow :mod:`~benchmarks.report.figures.common`: one hue and
marker per solver, tuned arm solid and filled, defaults dashed and hollow.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from benchmarks.report.analysis import (
    AXIS_TITLES,
    CostAxis,
    TaskGroup,
    bootstrap_seed,
    ert_inputs,
)
from benchmarks.report.figures.common import (
    Palette,
    coinciding,
    legend_below,
    linestyle,
    marker,
    markevery,
    save,
    short,
    suptitle,
    theme,
    twin_name,
)
from benchmarks.report.stats import ecdf, ert, ert_bootstrap, wilson_interval
from benchmarks.results import base_solver

#: Bootstrap resamples of the trade-off map's ERT intervals (the task table uses 2000; the
#: figure only needs the bars' extent).
N_BOOT = 1000
#: Points on the x grid of the per-task ECDF.
ECDF_POINTS = 200


def _attempted(group: TaskGroup) -> list[str]:
    """The labels with at least one run neither unsupported nor censored by time."""
    return [str(lab) for lab in group.usable()["label"].unique()]


def _filled(label: str) -> bool:
    """Tuned arm (or a report without arms): filled marker; defaults next to a tuned arm: hollow."""
    return base_solver(label) != label


def tradeoff_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Success rate (Wilson 95% interval) against ERT in evaluations (bootstrap 95% interval).

    Up and to the left is better: reliable and cheap. A label that never reached the target has
    an infinite ERT: it is drawn on a band above the axis, with its success rate of 0.
    """
    labels = _attempted(group)
    if not labels:
        return None
    axis: CostAxis = "evaluations"
    points: dict[str, tuple[float, float, float, float, float, float]] = {}
    for lab in labels:
        costs, ok = ert_inputs(group.usable(lab), axis)
        rate = ok.sum() / len(ok)
        lo_rate, hi_rate = wilson_interval(int(ok.sum()), len(ok))
        e = ert(costs, ok)
        lo, hi = ert_bootstrap(
            costs, ok, seed=bootstrap_seed(group.name, lab, "tradeoff"), n_boot=N_BOOT
        )
        points[lab] = (e, lo, hi, rate, lo_rate, hi_rate)
    finite = [v for p in points.values() for v in p[:3] if math.isfinite(v) and v > 0]
    bottom = min(finite) / 3 if finite else 1.0
    top = max(finite) * 3 if finite else 10.0
    never = top * 3  # where an infinite ERT is drawn
    with theme():
        fig, ax = plt.subplots(figsize=(7.2, 4.8), layout="constrained")
        ax.axvspan(top * 1.7, never * 1.8, color="0.92", zorder=0)
        ax.text(never, 1.04, "never\nreached", ha="center", va="bottom", fontsize=7, color="0.35")
        offsets = np.linspace(-0.012, 0.012, len(labels)) if len(labels) > 1 else [0.0]
        # Labels that never reached the target share one spot: spread them across the band.
        missing = [lab for lab in labels if not math.isfinite(points[lab][0])]
        spread = {lab: never * (1.7 * 1.8) ** ((i + 0.5) / max(len(missing), 1) - 0.5)
                  for i, lab in enumerate(missing)}
        for k, lab in enumerate(labels):
            e, lo, hi, rate, lo_rate, hi_rate = points[lab]
            x = e if math.isfinite(e) else spread[lab]
            y = rate + offsets[k]  # a small offset: equal rates must not hide each other
            # Clamped at 0: an interval end can sit a rounding error inside its estimate.
            x_lo = max(x - lo, 0.0) if math.isfinite(e) else 0.0
            x_hi = max(min(hi, never) - x, 0.0) if math.isfinite(e) and math.isfinite(hi) else 0.0
            y_err = [[max(rate - lo_rate, 0.0)], [max(hi_rate - rate, 0.0)]]
            ax.errorbar(
                x, y, xerr=[[x_lo], [x_hi]], yerr=y_err,
                color=colours[lab], lw=1.2, capsize=2, zorder=2,
                ls="none", elinewidth=1.2,
            )
            if math.isfinite(e) and not math.isfinite(hi):
                # The interval's upper end is infinite (resamples without a success).
                ax.annotate("", xy=(never, y), xytext=(x, y), zorder=2,
                            arrowprops={"arrowstyle": "->", "color": colours[lab], "lw": 1,
                                        "ls": "--"})
            ax.plot(
                [x], [y], marker=marker(lab, colours), ms=9, color=colours[lab],
                mfc=colours[lab] if _filled(lab) or linestyle(lab, colours) == "-" else "white",
                mew=1.6, ls="none", zorder=4,
            )
        ax.set_xscale("log")
        ax.set_xlim(bottom, never * 1.8)
        ax.set_ylim(-0.06, 1.12)
        ax.set_xlabel(f"ERT, {AXIS_TITLES[axis]} (log; 95% bootstrap interval)")
        ax.set_ylabel("success rate (95% Wilson interval)")
        handles = [
            Line2D([], [], marker=marker(lab, colours), color=colours[lab], ls="none", ms=8,
                   mfc=colours[lab] if _filled(lab) or linestyle(lab, colours) == "-"
                   else "white", mew=1.6)
            for lab in labels
        ]
        same = coinciding({lab: np.array([points[lab][0], points[lab][3]])
                           for lab in labels if lab not in missing})
        names = [short(lab, 34) + (f" (= {twin_name(same[lab])})" if lab in same else "")
                 for lab in labels]
        ax.set_title(f"{group.name}: reliability against cost (top left is best)")
        ax.legend(handles, names, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize=8)
        return save(fig, path)


def _final_metric(group: TaskGroup) -> tuple[str, str, bool]:
    """(split, metric, log scale): the held-out metric when the task has a split, else train."""
    split = "test" if group.task_obj is None or group.task_obj.has_split else "train"
    if group.kind == "control":  # a control task has no MSE: its metric is the mean return
        return split, "return", False
    metric = "accuracy" if group.kind == "classification" else "mse"
    return split, metric, metric == "mse"


def final_metric_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Every run's final metric, one strip per label over a box of its quartiles."""
    split, metric, log = _final_metric(group)
    column = f"final_{split}.{metric}"
    values = {str(lab): (rows[column].to_numpy(dtype=float) if column in rows
                         else np.full(len(rows), math.nan))
              for lab, rows in group.frame[group.frame["attempted"]].groupby("label", sort=False)}
    labels = list(values)
    if not labels:
        return None
    shown = [v for vs in values.values() for v in vs if math.isfinite(v) and (v > 0 or not log)]
    if not shown:
        return None
    rng = np.random.default_rng(0)
    with theme():
        fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) + 2.5), 4.4),
                               layout="constrained")
        worst = (max(shown) * 3 if log else min(shown) - 0.05)
        diverged_any = False
        for k, lab in enumerate(labels):
            v = values[lab]
            ok = np.isfinite(v) & ((v > 0) if log else True)
            if ok.any():
                ax.boxplot(v[ok], positions=[k], widths=0.55, showfliers=False,
                           medianprops={"color": colours[lab], "lw": 2},
                           boxprops={"color": "0.45"}, whiskerprops={"color": "0.45"},
                           capprops={"color": "0.45"})
            jitter = rng.uniform(-0.18, 0.18, v.size)
            y = np.where(ok, v, worst)
            diverged_any = diverged_any or bool((~ok).any())
            ax.scatter(k + jitter, y, s=22, color=colours[lab], alpha=0.75, lw=0,
                       marker=marker(lab, colours), zorder=3)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([short(lab, 24) for lab in labels], rotation=35, ha="right")
        if log:
            ax.set_yscale("log")
        name = "MSE" if metric == "mse" else metric
        ax.set_ylabel(f"final {split} {name}" + (" (log)" if log else ""))
        if (group.target_value is not None and math.isfinite(group.target_value)
                and split == "train" and group.target_metric == metric):
            ax.axhline(group.target_value, color="black", ls=":", lw=1.2, zorder=1)
        note = "; a diverged run is drawn at the worst edge" if diverged_any else ""
        suptitle(fig, f"{group.name}: final {split} {name} of every run (box: quartiles)"
                 + note)
        return save(fig, path)


def task_ecdf_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Share of this task's runs that reached the target within a cost, per label.

    A run that missed never counts; the curve's right end is the success rate. Evaluations on the
    left, solver seconds on the right.
    """
    labels = _attempted(group)
    if not labels:
        return None
    axes_list: tuple[CostAxis, CostAxis] = ("evaluations", "seconds")
    with theme():
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
        curves: dict[str, np.ndarray] = {}
        drew = False
        for ax, axis in zip(axes, axes_list, strict=True):
            hits = {lab: np.where(ok, costs, math.inf) for lab in labels
                    for costs, ok in [ert_inputs(group.usable(lab), axis)]}
            finite = [v for h in hits.values() for v in h if math.isfinite(v) and v > 0]
            if not finite:
                ax.text(0.5, 0.5, "no run reached the target", ha="center",
                        transform=ax.transAxes, color="0.4")
                continue
            drew = True
            grid = np.geomspace(min(finite) / 1.5, max(finite) * 1.5, ECDF_POINTS)
            for lab in labels:
                y = ecdf(np.maximum(hits[lab], grid[0]), grid)
                if axis == "evaluations":
                    curves[lab] = y
                ax.step(grid, y, where="post", color=colours[lab], lw=2,
                        ls=linestyle(lab, colours), marker=marker(lab, colours), ms=5,
                        markevery=markevery(lab, colours, ECDF_POINTS))
            ax.set_xscale("log")
            ax.set_xlim(grid[0], grid[-1])
            ax.set_ylim(-0.03, 1.05)
            ax.set_xlabel(AXIS_TITLES[axis])
        if not drew:
            plt.close(fig)
            return None
        axes[0].set_ylabel("share of runs at target")
        never = {lab for lab, y in curves.items() if not y.any()}
        twins = coinciding({lab: y for lab, y in curves.items() if lab not in never})
        handles: list[Any] = [
            Line2D([], [], color=colours[lab], lw=2, ls=linestyle(lab, colours),
                   marker=marker(lab, colours), ms=5)
            for lab in labels
        ]
        names = [short(lab, 28) + (" (never reached)" if lab in never else
                                   f" (same curve as {twin_name(twins[lab])})"
                                   if lab in twins else "") for lab in labels]
        suptitle(fig, f"{group.name}: runtime ECDF, share of runs that reached the target "
                      "within a cost (right end = success rate)", y=1.0)
        fig.subplots_adjust(bottom=0.3)
        legend_below(fig, handles, names)
        return save(fig, path)
