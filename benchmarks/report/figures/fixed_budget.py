"""Figures of the fair protocol: fixed-budget quality curves per task, tuning sensitivity.

Colour and marker follow the solver, line style the arm (tuned solid, defaults dashed), so a
solver's two arms read as one family and two solvers never share a look; when two labels'
median curves coincide exactly, the legend names the twin instead of letting one line hide the
other.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from benchmarks.records import RunRecord
from benchmarks.report.analysis import (
    TaskGroup,
    column_quantiles,
    quality_metric,
    run_chunks,
    step_counts,
    trace_column,
    trace_columns,
    trace_present,
)
from benchmarks.report.figures.common import legend_below, palette, save, suptitle, theme
from benchmarks.results import base_solver

#: Quantile band of the fixed-budget curves.
BAND = (0.25, 0.75)
#: Points on the common x grid of the fixed-budget curves.
CURVE_POINTS = 200
#: Columns of the fixed-budget figure's legend.
LEGEND_COLUMNS = 5


def sensitivity_figure(details: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """Each trial's ERT per (task, solver): how much the choice of hyperparameters matters.

    One panel per task; solvers along x; each trial a dot at its ERT (log scale), misses on a
    band above the axis, the chosen trial ringed. A solver whose dots spread over decades is
    sensitive to tuning; one with most dots in the miss band is hard to tune in this space.
    """
    tasks = list(details)
    solvers = sorted({s for by in details.values() for s in by},
                     key=lambda s: _solver_rank(s))
    if not tasks or not solvers:
        return None
    colours = palette(solvers)
    cols = min(3, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    rng = np.random.default_rng(0)
    with theme():
        f, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
        for ax, task in zip(axes.flat, tasks, strict=False):
            erts = [t["ert"] for d in details[task].values() for t in d["trials"]
                    if t["ert"] is not None and t["ert"] > 0]
            top = max(erts) * 10 if erts else 10.0
            bottom = min(erts) / 3 if erts else 1.0
            for i, solver in enumerate(solvers):
                d = details[task].get(solver)
                if d is None:
                    continue
                # The jitter drawn trial by trial as before (the same dots), each solver's
                # dots then drawn as one collection: an artist per trial cost seconds.
                xs, ys, chosen = [], [], []
                for t in d["trials"]:
                    ys.append(top if t["ert"] is None else max(t["ert"], bottom))
                    xs.append(i + rng.uniform(-0.18, 0.18))
                    if t["trial"] == d["chosen_trial"]:
                        chosen.append((xs[-1], ys[-1]))
                if xs:
                    ax.scatter(xs, ys, s=18, color=colours[solver], alpha=0.8, lw=0)
                for x, y in chosen:
                    ax.scatter(x, y, s=90, facecolor="none", edgecolor="black", lw=1.2)
            ax.axhspan(top / 1.6, top * 1.6, color="0.9", zorder=0)
            ax.text(len(solvers) - 0.5, top, "miss", ha="right", va="center", fontsize=7,
                    color="0.35")
            ax.set_yscale("log")
            ax.set_ylim(bottom / 1.5, top * 2)
            ax.set_xticks(range(len(solvers)))
            ax.set_xticklabels(solvers, rotation=40, ha="right", fontsize=8)
            ax.set_title(task, fontsize=10)
            ax.set_ylabel("ERT, evaluations (tuning seeds)", fontsize=8)
        for ax in list(axes.flat)[len(tasks):]:
            ax.axis("off")
        suptitle(f, "Tuning sensitivity: ERT of every trial (ringed: chosen; grey band: "
                         "never reached the target)", y=1.01)
        f.tight_layout()
        return save(f, path)


def _solver_rank(name: str) -> int:
    from solvers import SOLVERS

    names = list(SOLVERS)
    return names.index(name) if name in names else len(names)


def quality_curves_figure(group: TaskGroup, colours: Any, path: Path) -> Path | None:
    """Held-out quality against evaluations and against seconds: median with a quantile band.

    Each run is a step function through its trace points (held at its last value), on a common
    log grid; the band is the interquartile range over seeds. Two solvers with identical curves
    (e.g. ``sgd`` and ``numpy-backprop`` at the same hyperparameters) are drawn with different
    line styles and markers, and the legend says when two coincide.
    """
    del colours  # colour by solver, style by arm (module docstring)
    field, title, higher = quality_metric(group)
    labels = [lab for lab in group.runs
              if any(len(r.trace) > 1 for r in group.attempted(lab))]
    if not labels:
        return None
    solvers = palette(list(dict.fromkeys(base_solver(lab) for lab in labels)))
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
    with theme():
        f, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        for ax, axis, x_field in zip(axes, ("evaluations", "seconds"),
                                     ("evaluations", "solver_seconds"), strict=True):
            xs = _trace_values([r for lab in labels for r in group.attempted(lab)], x_field)
            positive = xs[xs > 0]
            if not positive.size:
                continue
            grid = np.geomspace(float(positive.min()), float(positive.max()) * 1.001,
                                CURVE_POINTS)
            for k, lab in enumerate(labels):
                m = _curves(group.attempted(lab), x_field, field, grid)
                if m.size == 0:
                    continue
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    # Before a run's first trace point its column is NaN: no value yet.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    lo, mid, hi = column_quantiles(m, [BAND[0], 0.5, BAND[1]], nan=True)
                curves.setdefault(lab, {})[axis] = (grid, lo, mid, hi)
                colour, style, marker = _style(lab, solvers)
                ax.plot(grid, mid, color=colour, lw=1.8, ls=style, marker=marker,
                        markevery=(k * 7 % 40 + 5, 40), ms=4, drawstyle="steps-post")
                ax.fill_between(grid, lo, hi, color=colour, alpha=0.07, step="post", lw=0)
            ax.set_xscale("log")
            ax.set_xlabel("evaluations" if axis == "evaluations" else "solver seconds")
        if not higher:
            axes[0].set_yscale("log")
        axes[0].set_ylabel(title + (" (log)" if not higher else ""))
        twins = _coinciding(curves)
        handles = [Line2D([], [], color=_style(lab, solvers)[0], lw=1.8,
                          ls=_style(lab, solvers)[1], marker=_style(lab, solvers)[2], ms=4)
                   for lab in labels]
        names = [lab + (f" (= {twins[lab]})" if lab in twins else "") for lab in labels]
        suptitle(f, f"{group.name}: {title} against cost, median over seeds with "
                         "interquartile band (fixed-budget view)", y=1.0)
        legend_below(f, handles, names, ncol=LEGEND_COLUMNS)
        return save(f, path)


def control_return_figure(group: TaskGroup, colours: Any, path: Path) -> Path | None:
    """Control's fixed-budget view: mean evaluation return against environment steps.

    The harness's evaluation return (the greedy policy on the task's evaluation episodes, the
    metric the target is checked on) against the training environment steps charged so far, on
    a linear axis (a user reads "how many steps to a given return" off it), one line per solver
    and arm: the mean over seeds with a band of one standard error. A run is a step function
    through its reports, held at its last value after it ended (a run that stopped at the
    target is drawn at the return it reached). The dotted line is the target.
    """
    del colours  # colour by solver, style by arm (module docstring)
    labels = [lab for lab in group.runs
              if any(len(r.trace) > 1 for r in group.attempted(lab))]
    if not labels:
        return None
    xs = _trace_values([r for lab in labels for r in group.attempted(lab)], "evaluations")
    top = float(xs.max()) if xs.size else 0.0
    if top <= 0:
        return None
    grid = np.linspace(0.0, top, CURVE_POINTS)
    solvers = palette(list(dict.fromkeys(base_solver(lab) for lab in labels)))
    with theme():
        f, ax = plt.subplots(figsize=(9, 4.4))
        for k, lab in enumerate(labels):
            m = _curves(group.attempted(lab), "evaluations", "return", grid)
            if m.size == 0:
                continue
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(m, axis=0)
                n = np.sum(np.isfinite(m), axis=0)
                se = np.nanstd(m, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1))
            colour, style, marker = _style(lab, solvers)
            ax.plot(grid, mean, color=colour, lw=1.8, ls=style, marker=marker,
                    markevery=(k * 7 % 40 + 5, 40), ms=4, drawstyle="steps-post", label=lab)
            ax.fill_between(grid, mean - se, mean + se, color=colour, alpha=0.08, step="post",
                            lw=0)
        target = group.task_obj.target.min_return if group.task_obj is not None else None
        if target is not None:
            ax.axhline(target, color="0.2", ls=":", lw=1.2)
            ax.annotate(f"target {target:g}", (grid[-1], target), xytext=(-4, 4),
                        textcoords="offset points", ha="right", fontsize=8, color="0.2")
        ax.set_xlabel("training environment steps")
        ax.set_ylabel("mean evaluation return")
        handles = [Line2D([], [], color=_style(lab, solvers)[0], lw=1.8,
                          ls=_style(lab, solvers)[1], marker=_style(lab, solvers)[2], ms=4)
                   for lab in labels]
        suptitle(f, f"{group.name}: mean evaluation return against environment steps "
                    "(fixed-budget view; band: ±1 standard error over seeds)", y=1.0)
        legend_below(f, handles, labels, ncol=LEGEND_COLUMNS)
        return save(f, path)


_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">")



def _style(label: str, solvers: dict[str, Any]) -> tuple[Any, str, str]:
    """Colour and marker by solver, line style by arm (tuned solid, defaults dashed), so a
    solver's two arms read as one family and two solvers never share a look."""
    name = base_solver(label)
    names = list(solvers)
    k = names.index(name) if name in names else 0
    return solvers.get(name, "0.3"), ("-" if label != name else "--"), _MARKERS[k % len(_MARKERS)]


def _trace_values(runs: Sequence[RunRecord], field: str) -> np.ndarray:
    """Every trace point's ``field`` over ``runs``, one float array (NaN where absent)."""
    return trace_columns(runs, [field])[1][0]


def _curves(runs: Sequence[RunRecord], x_field: str, field: str, grid: np.ndarray) -> np.ndarray:
    """Each run that reports ``field`` as a step function of ``x_field`` on ``grid``: NaN
    before its first report, its last report after its end; one row per run.

    A point without the field is skipped, not a NaN. All runs are searched at once when their
    costs ascend (they always do: the costs are cumulative); run by run otherwise, with the
    same result.
    """
    lengths, (x, y), (_, keep) = trace_columns(runs, [x_field, field])
    run = np.repeat(np.arange(lengths.size), lengths)
    kept = np.bincount(run[keep], minlength=lengths.size)
    x, y = x[keep], y[keep]
    y[~np.isfinite(y)] = np.nan  # a diverged run has no quality to draw (log axes choke on inf)
    out = np.empty((int((kept > 0).sum()), grid.size))
    done = 0
    for some, points in run_chunks(kept):  # a chunk of runs at a time (CHUNK_RUNS)
        counts = step_counts(kept[some], x[points], grid)
        if counts is None:
            return _curves_one_by_one(runs, x_field, field, grid)
        n = kept[some]
        idx = counts[n > 0] - 1
        begin = (np.cumsum(n) - n)[n > 0, None]
        rows = np.where(idx >= 0, y[points][begin + np.clip(idx, 0, None)], np.nan)
        out[done:done + len(rows)] = rows
        done += len(rows)
    return out


def _curves_one_by_one(runs: Sequence[RunRecord], x_field: str, field: str,
                       grid: np.ndarray) -> np.ndarray:
    """:func:`_curves`, a run at a time (for costs that do not ascend)."""
    rows = []
    for r in runs:
        keep = trace_present(r, field)  # a point without the field is skipped, not a NaN
        if not keep.any():
            continue
        x = trace_column(r, x_field)[keep]
        y = trace_column(r, field)[keep]
        y[~np.isfinite(y)] = np.nan  # a diverged run has no quality to draw (log axes choke on inf)
        idx = np.searchsorted(x, grid, side="right") - 1
        row = np.where(idx >= 0, y[np.clip(idx, 0, None)], np.nan)
        rows.append(row)
    return np.array(rows) if rows else np.empty((0, grid.size))


def _coinciding(
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]],
) -> dict[str, str]:
    """Labels whose median evaluation curve equals an earlier label's (to 1e-9): one line would
    hide the other, so the legend names the twin."""
    out: dict[str, str] = {}
    labels = list(curves)
    for i, a in enumerate(labels):
        for b in labels[:i]:
            ca, cb = curves[a].get("evaluations"), curves[b].get("evaluations")
            if ca is None or cb is None:
                continue
            if np.allclose(ca[2], cb[2], rtol=1e-9, atol=1e-12, equal_nan=True):
                out[a] = b
                break
    return out


def continued_past_target(group: TaskGroup) -> bool:
    """Whether the group's runs went on to the end of their budget (the fixed-budget view)."""
    return any(not r.budget.get("stop_at_target", True) for r in group.all_attempted())
