"""Figures across tasks, for the reader comparing solvers: the success heatmap, runtime ECDFs,
performance profiles and the paired-wins matrix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from benchmarks.report.analysis import (
    AXIS_TITLES,
    Blocks,
    CostAxis,
    TaskGroup,
    runtime_problems,
    success_grid,
)
from benchmarks.report.figures.common import (
    Palette,
    coinciding,
    legend_below,
    linestyle,
    marker,
    markevery,
    positive_range,
    save,
    short,
    success_heatmap_axes,
    suptitle,
    theme,
    twin_name,
    wrap,
)
from benchmarks.report.stats import performance_profile, runtime_ecdf

#: Points on the log-spaced x grid of the ECDF and performance-profile curves.
CURVE_GRID = 400
#: Holm-adjusted p-value below which the paired-wins matrix stars a pair (the report's ALPHA).
SIGNIFICANCE = 0.05


def success_heatmap(groups: Sequence[TaskGroup], labels: Sequence[str], path: Path) -> Path:
    """Solver x task grid of success rates, annotated ``k/n``; grey where a solver did not run."""
    rates, notes = success_grid(groups, labels, missing="n/a")
    task_names = [g.name for g in groups]
    # Many tasks read better as rows (long names stay horizontal); few as columns.
    tall = len(groups) > len(labels) + 2
    with theme():
        if tall:
            rates, notes = rates.T, notes.T
            size = (max(4.0, 1.0 * len(labels) + 4.0), max(2.2, 0.42 * len(groups) + 1.6))
            xticks, yticks = [wrap(lab, 16) for lab in labels], [wrap(t, 45) for t in task_names]
            xlabel, ylabel = "solver", "task"
        else:
            size = (max(4.0, 1.2 * len(groups) + 2.5), max(2.2, 0.5 * len(labels) + 1.4))
            xticks, yticks = [wrap(t, 22) for t in task_names], [wrap(lab, 30) for lab in labels]
            xlabel, ylabel = "task", "solver"
        fig, ax = plt.subplots(figsize=size)
        success_heatmap_axes(ax, rates, notes, cbar_kws={"label": "success rate"},
                             xticklabels=xticks, yticklabels=yticks)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title("Runs that reached the task's target (grey: not run)")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
        plt.setp(ax.get_yticklabels(), rotation=0)
        return save(fig, path)


def runtime_ecdf_figure(
    groups: Sequence[TaskGroup], labels: Sequence[str], colours: Palette, path: Path
) -> Path:
    """COCO-style runtime ECDFs over all (task, target) pairs, in evaluations and in seconds.

    A cross marks, for each solver, the median cost spent by its runs that missed a target: the
    curve cannot rise beyond where the budget ran out.
    """
    axes_list: tuple[CostAxis, CostAxis] = ("evaluations", "seconds")
    n_pairs = sum(len(g.levels) for g in groups)
    with theme():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        handles: list[Any] = []
        ecdfs: dict[str, np.ndarray] = {}  # evaluation-axis curves, to name coinciding ones
        # The columns read here only: every column of every group would be a copy of them all.
        wanted = ["label", "success", "evaluations", "solver_seconds"]
        rows = pd.concat([g.frame.loc[g.frame["attempted"], wanted].assign(group=g.name)
                          for g in groups])
        tried = rows[rows["label"].isin(list(labels))]
        for ax, axis in zip(axes, axes_list, strict=True):
            spent = "solver_seconds" if axis == "seconds" else axis
            runtimes = {lab: runtime_problems(groups, lab, axis) for lab in labels}
            spends = tried[spent].tolist()
            hits = [v for lab in labels for p in runtimes[lab] for v in p]
            span = positive_range([*hits, *spends])
            if span is None:
                ax.text(0.5, 0.5, "no runs", ha="center", transform=ax.transAxes)
                continue
            lo, hi = span[0] / 1.5, span[1] * 1.5
            grid = np.geomspace(lo, hi, CURVE_GRID)
            for lab in labels:
                y = runtime_ecdf(runtimes[lab], grid)
                (line,) = ax.step(
                    grid, y, where="post", color=colours[lab], lw=2, ls=linestyle(lab, colours),
                    marker=marker(lab, colours), ms=5,
                    markevery=markevery(lab, colours, CURVE_GRID),
                )
                if axis == "evaluations":
                    ecdfs[lab] = y
                mine = tried[tried["label"].eq(lab)]
                missed = mine.loc[~mine["success"], spent].tolist()
                if missed:
                    x = max(float(np.median(missed)), lo)
                    ax.plot([x], [np.interp(x, grid, y)], "x", color=colours[lab], ms=9, mew=2)
                if axis == "evaluations":
                    n_run = mine["group"].nunique()
                    suffix = f" (ran {n_run}/{len(groups)} tasks)" if n_run < len(groups) else ""
                    handles.append((line, short(lab, 40) + suffix))
            ax.set_xscale("log")
            ax.set_xlim(lo, hi)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(AXIS_TITLES[axis])
            ax.set_title(f"in {axis}")
        axes[0].set_ylabel(f"fraction of {n_pairs} (task, target) pairs solved")
        suptitle(
            fig,
            "Runtime ECDF: share of (task, target) pairs reached within a cost "
            "(x: median cost of missed runs)",
            y=1.0,
        )
        twins = coinciding(ecdfs)
        names = [
            t + (f" (same curve as {twin_name(twins[lab])})" if lab in twins else "")
            for (_, t), lab in zip(handles, ecdfs, strict=True)
        ]
        fig.subplots_adjust(bottom=0.25)
        legend_below(fig, [h for h, _ in handles], names)
        return save(fig, path)


def performance_profile_figure(blocks: dict[str, Blocks], colours: Palette, path: Path) -> Path:
    """Dolan-Moré performance profiles; problems are (task, seed) pairs, failures never count."""
    with theme():
        fig, axes = plt.subplots(
            1, len(blocks), figsize=(5.5 * len(blocks), 4.2), sharey=True, squeeze=False
        )
        handles: list[Any] = []
        for ax, (axis, blk) in zip(axes[0], blocks.items(), strict=True):
            costs = np.where(np.isnan(blk.costs), np.inf, blk.costs)
            if costs.size == 0:
                ax.text(0.5, 0.5, "no runs", ha="center", transform=ax.transAxes)
                continue
            best = np.min(costs, axis=1, keepdims=True)
            with np.errstate(invalid="ignore"):
                ratios = np.where(np.isfinite(best), costs / best, np.inf)
            finite = ratios[np.isfinite(ratios)]
            top = max(2.0, float(finite.max()) * 1.5) if finite.size else 2.0
            taus = np.geomspace(1.0, top, CURVE_GRID)
            rho = performance_profile(costs, taus)
            for s, lab in enumerate(blk.labels):
                (line,) = ax.step(
                    taus, rho[s], where="post", color=colours[lab], lw=2,
                    ls=linestyle(lab, colours), marker=marker(lab, colours), ms=5,
                    markevery=markevery(lab, colours, CURVE_GRID),
                )
                if len(handles) < len(blk.labels):
                    handles.append((line, short(lab, 40)))
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            ax.set_xlim(1.0, top)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(f"τ: within this factor of the cheapest solver ({axis})")
            ax.set_title(f"{axis} to target, {costs.shape[0]} (task, seed) problems")
        axes[0][0].set_ylabel("fraction of problems")
        suptitle(
            fig,
            "Performance profiles (Dolan-Moré): ρ(τ) = share of problems solved within "
            "τ × the best solver's cost",
            y=1.0,
        )
        fig.subplots_adjust(bottom=0.25)
        legend_below(fig, [h for h, _ in handles], [t for _, t in handles])
        return save(fig, path)


def win_matrix_figure(
    labels: Sequence[str], share: np.ndarray, notes: np.ndarray, path: Path
) -> Path:
    """Share of the (task, seed) blocks where both succeeded in which the row was cheaper.

    Computed by :func:`benchmarks.report.comparisons.win_shares` from the same comparisons as
    the report's table, so the two agree. Ties count half; blank: no block where both
    succeeded; a star marks a Holm-adjusted Wilcoxon p below 0.05. Failures are not in these
    shares at all: reliability is the table's other question.
    """
    with theme("white"):
        n = len(labels)
        cell = 0.75 if n <= 6 else 0.55
        side = max(2.5, cell * n)
        fig, (ax, cax) = plt.subplots(
            1, 2, figsize=(side + 3.2, side + 1.6), gridspec_kw={"width_ratios": [1.0, 0.05]}
        )
        sns.heatmap(
            share,
            ax=ax,
            vmin=0,
            vmax=1,
            cmap="vlag_r",
            center=0.5,
            annot=notes,
            fmt="",
            cbar_ax=cax,
            linewidths=1,
            linecolor="white",
            square=True,
            annot_kws={"fontsize": 8 if n > 6 else 10},
            xticklabels=[wrap(lab, 16) for lab in labels],
            yticklabels=[wrap(lab, 22) for lab in labels],
            cbar_kws={"label": "share of both-succeeded blocks where the row was cheaper"},
        )
        ax.set_xlabel("against")
        ax.set_ylabel("solver")
        plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
        plt.setp(ax.get_yticklabels(), rotation=0)
        suptitle(
            fig,
            "Cost given success: share of (task, seed) blocks where both reached the target "
            "and the row needed fewer evaluations (* Holm p < 0.05)",
            y=1.0,
        )
        fig.tight_layout()
        return save(fig, path)


