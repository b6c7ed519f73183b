"""Figures of one task, for the reader of that task's section: convergence curves, decision
boundaries, learned functions and surfaces, and phase portraits of a learned vector field.

Each takes ``(group, colours, path)``, writes a PNG and returns its path, or ``None`` when the
records hold nothing to draw (e.g. no stored parameters). Which figures a task gets is decided
by the registry in :mod:`benchmarks.report.figures` (each entry's ``applies_to``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from benchmarks.report.analysis import (
    AXIS_TITLES,
    TRACE_FIELD,
    CostAxis,
    TaskGroup,
    column_quantiles,
    run_chunks,
    step_counts,
    trace_column,
    trace_columns,
)
from benchmarks.report.figures.common import (
    MAX_DRAWN,
    TOP,
    Palette,
    coinciding,
    drawable,
    left_labels_only,
    legend_below,
    linestyle,
    marker,
    markevery,
    median_run,
    metric_name,
    nothing_to_draw,
    panel_grid,
    panel_title,
    sample_runs,
    save,
    short,
    stored,
    suptitle,
    theme,
    twin_name,
)
from benchmarks.report.stats import step_interpolate
from tasks.mlp import forward

#: Points on the common x grid of the convergence curves.
CURVE_POINTS = 240
#: Convergence curves are floored this many times below the target (exact fits reach 1e-17).
BELOW_TARGET = 1e3
#: Grid points per axis of a decision-boundary panel, and of a learned-surface panel.
BOUNDARY_GRID = 160
SURFACE_GRID = 120
#: Points along x of a learned-function panel.
FUNCTION_POINTS = 400


def _curve_matrix(runs: Sequence[Any], metric: str, axis: CostAxis, grid: np.ndarray,
                  columns: tuple[np.ndarray, list[np.ndarray], list[np.ndarray]] | None = None,
                  ) -> np.ndarray:
    """Each run with a trace as a step function of ``axis`` through its ``metric`` on
    ``grid`` (:func:`~benchmarks.report.stats.step_interpolate`), one row per run.

    ``columns``: the runs' ``trace_columns(runs, [axis field, metric])``, if read already.
    Runs are interpolated :data:`~benchmarks.report.analysis.CHUNK_RUNS` at a time when their
    costs ascend (they always do: the costs are cumulative); run by run otherwise, with the
    same result.
    """
    lengths, (x, y), _ = (columns if columns is not None
                          else trace_columns(runs, [TRACE_FIELD[axis], metric]))
    has = lengths > 0
    out = np.empty((int(has.sum()), grid.size))
    done = 0
    for some, points in run_chunks(lengths):
        counts = step_counts(lengths[some], x[points], grid)
        if counts is None:
            break
        n = lengths[some]
        ys = y[points]
        ys = np.where(np.isfinite(ys), ys, np.inf)  # a diverged run is infinitely bad
        begin = (np.cumsum(n) - n)[n > 0, None]
        # Before its first point a run holds its first value, after its last its last.
        rows = ys[begin + np.clip(counts[n > 0] - 1, 0, n[n > 0, None] - 1)]
        out[done:done + len(rows)] = rows
        done += len(rows)
    else:
        return out if out.size else np.array([])
    # A run whose costs do not ascend: run by run, as the search needs.
    slow = []
    for r in runs:
        if not r.trace:
            continue
        xr = trace_column(r, TRACE_FIELD[axis])
        yr = trace_column(r, metric)
        yr = np.where(np.isfinite(yr), yr, np.inf)  # a diverged run is infinitely bad
        slow.append(step_interpolate(xr, yr, grid))
    return np.array(slow)


def convergence_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Training loss against iterations, evaluations and seconds: median over seeds, IQR band.

    Each run is a step function through its log-spaced trace, held at its final value after it
    stopped (a finished run keeps its final loss), evaluated on a common log grid.
    """
    metric = group.target_metric
    labels = [lab for lab in group.runs if any(r.trace for r in group.attempted(lab))]
    if not labels:
        return None
    axes_list: tuple[CostAxis, ...] = ("iterations", "evaluations", "seconds")
    with theme():
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), sharey=True)
        target = group.target_value
        finite_target = target is not None and math.isfinite(target) and target > 0
        floor = target / BELOW_TARGET if finite_target and target is not None else None
        clipped = False
        shown: list[float] = []  # quartile values on screen, to fit the y axis
        starts: list[float] = []  # starting values, to cap the axis above
        medians: dict[str, np.ndarray] = {}  # evaluation-axis medians, to name coinciding lines
        # A log axis, unless the metric goes below zero (a control task's loss is minus its
        # return: on a log axis nothing of it would be drawn). A loss of exactly zero (L-BFGS
        # solves XOR exactly) stays on the log axis, drawn on its bottom edge.
        # (Array by array: 10^5 runs' trace values are millions of numbers.)
        # Each label's trace columns, read once for the three panels (10^4 runs a label in a
        # large study: one gather per field, not a trace per run).
        fields = [metric, *(TRACE_FIELD[a] for a in axes_list)]
        read = {lab: trace_columns(group.attempted(lab), fields) for lab in labels}

        def column(lab: str, name: str) -> np.ndarray:
            return read[lab][1][fields.index(name)]

        log_y = all(bool(np.all(v[np.isfinite(v)] >= 0))
                    for lab in labels for v in [column(lab, metric)])
        for ax, axis in zip(axes, axes_list, strict=True):
            xs = np.concatenate([np.empty(0), *(column(lab, TRACE_FIELD[axis])
                                                for lab in labels)])
            xs = xs[np.isfinite(xs) & (xs > 0)]  # positive_range, on arrays
            if not xs.size:
                continue
            lo, hi = float(xs.min()), float(xs.max())
            grid = np.geomspace(lo, max(hi, lo * 1.01), CURVE_POINTS)
            for lab in labels:
                m = _curve_matrix(group.attempted(lab), metric, axis, grid, (
                    read[lab][0], [column(lab, TRACE_FIELD[axis]), column(lab, metric)], []))
                if m.size == 0:
                    continue
                # Quantiles with infinities: a sentinel keeps the arithmetic finite; the axis
                # limits below cut it off.
                np.minimum(m, TOP, out=m)
                q25, q50, q75 = column_quantiles(m, [0.25, 0.5, 0.75])
                if floor is not None:
                    # An exact fit (1e-17 after a least-squares solve) would squash every other
                    # curve into the top of the panel: such values run along the bottom edge.
                    clipped = clipped or bool(np.any(q25 < floor))
                    q25, q50, q75 = (np.maximum(q, floor) for q in (q25, q50, q75))
                if axis == "evaluations":
                    medians[lab] = q50
                # Markers at a per-label offset: two solvers with the same curve (sgd and
                # numpy-backprop, elm and zorb) both stay visible.
                ax.plot(
                    grid,
                    q50,
                    color=colours[lab],
                    lw=2,
                    drawstyle="steps-post",
                    ls=linestyle(lab, colours),
                    marker=marker(lab, colours),
                    markevery=markevery(lab, colours, CURVE_POINTS),
                    ms=5,
                    zorder=3,
                )
                ax.fill_between(grid, q25, q75, color=colours[lab], alpha=0.2, step="post", lw=0)
                shown += [v for v in (*q25, *q75) if (v > 0 or not log_y) and v < TOP]
                starts += [v for v in m[:, 0] if (v > 0 or not log_y) and v < TOP]
            if group.target_value is not None and math.isfinite(group.target_value):
                # Above the curves: a curve that ends on the target must not hide it (dotted, so
                # the curve shows between the dots).
                ax.axhline(group.target_value, color="black", ls=":", lw=1.2, zorder=4)
            ax.set_xscale("log")
            ax.set_xlim(lo, grid[-1])
            ax.set_xlabel(AXIS_TITLES[axis])
        ax0 = axes[0]
        if not log_y and shown:
            low, high = min(shown), max(shown)
            if group.target_value is not None and math.isfinite(group.target_value):
                low, high = min(low, group.target_value), max(high, group.target_value)
            pad = 0.05 * (high - low) or 1.0
            ax0.set_ylim(low - pad, high + pad)
        elif log_y:
            ax0.set_yscale("log")
        if shown and log_y:
            low = min(shown)
            if group.target_value is not None and group.target_value > 0:
                low = min(low, group.target_value)
            # Diverging runs shoot to 1e30 and beyond; nothing above 10x the worst start is
            # worth the vertical space, so such curves leave through the top.
            high = max(shown)
            if starts:
                high = min(high, 10 * max(starts))
            ax0.set_ylim(low / 2 if floor is None else max(low, floor) / 2, max(high, low) * 2)
        if clipped:
            axes[0].annotate(
                f"values below {floor:.0e} drawn on the bottom edge",
                xy=(0.02, 0.07),
                xycoords="axes fraction",
                fontsize=8,
                color="0.3",
            )
        name = metric_name(metric)
        ax0.set_ylabel(f"training {name}" + (" (log)" if log_y else ""))
        handles: list[Any] = [
            Line2D(
                [], [], color=colours[lab], lw=2, ls=linestyle(lab, colours),
                marker=marker(lab, colours), ms=5,
            )
            for lab in labels
        ]
        twins = coinciding(medians)
        # Curves a few percent apart look the same on a log axis (zorb and elm both stuck at
        # the constant output on XOR): the legend says which one lies under which.
        near = _overlapping(medians)

        def note(lab: str) -> str:
            if lab in twins:
                return f" (same curve as {twin_name(twins[lab])})"
            return f" (overlaps {twin_name(near[lab])})" if lab in near else ""

        names = [short(lab, 40) + note(lab) for lab in labels]
        if group.target_value is not None:
            handles.append(Line2D([], [], color="black", ls=":", lw=1.2))
            names.append(f"target: {name} {group.target_value:.3g}")
        suptitle(
            fig,
            f"{group.name}: training {name}, median over seeds with interquartile "
            "band (a run keeps its final value after it stops)",
            y=1.0,
        )
        fig.subplots_adjust(bottom=0.25)
        legend_below(fig, handles, names)
        return save(fig, path)


def _overlapping(curves: dict[str, np.ndarray], tolerance: float = 0.03) -> dict[str, str]:
    """Labels whose curve lies within ``tolerance`` (relative) of an earlier label's wherever
    both are drawn, over at least a third of the axis: on a log axis the two look like one line.
    """
    out: dict[str, str] = {}
    labels = list(curves)
    for i, a in enumerate(labels):
        for b in labels[:i]:
            ca, cb = curves[a], curves[b]
            both = np.isfinite(ca) & np.isfinite(cb) & (ca > 0) & (cb > 0) & (ca < TOP) & (cb < TOP)
            if both.sum() < ca.size / 3:
                continue
            if np.all(np.abs(np.log(ca[both] / cb[both])) < tolerance):
                out[a] = b
                break
    return out


def is_2d_classification(group: TaskGroup) -> bool:
    t = group.task_obj
    return t is not None and t.kind == "classification" and t.model.layer_sizes[0] == 2


def decision_boundary_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """The trained networks' decision regions on a grid, one panel per solver.

    Background: the output of the run with the median final training loss (its class for a
    multi-class softmax). Thin black lines: the decision boundary of every drawn run, so the
    spread over seeds is visible. Points: the training set, coloured by label.
    """
    task = group.task_obj
    if task is None:
        return None
    labels = [lab for lab in group.runs if stored(group, lab)]
    if not labels:
        return None
    x = task.x_train
    pad = 0.15 * (x.max(axis=0) - x.min(axis=0)) + 0.25
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], BOUNDARY_GRID), np.linspace(lo[1], hi[1], BOUNDARY_GRID)
    )
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    n_out = task.model.layer_sizes[-1]
    classes = np.argmax(task.y_train, axis=1) if n_out > 1 else (task.y_train[:, 0] > 0.5)
    n_classes = max(2, n_out)
    point_cmap = (
        ListedColormap(sns.color_palette("deep", n_classes))
        if n_out > 1
        else ListedColormap(["#3b6fb6", "#c44e52"])
    )
    sampled = False
    with theme("ticks"):
        fig, axes = panel_grid(len(labels), height=3.7)
        mesh = None
        for ax, lab in zip(axes, labels, strict=False):
            runs = drawable(group, lab)
            extra = ""
            if runs:
                median = median_run(runs, "loss")
                drawn = sample_runs(runs, median)
                params = np.array([r.final_params for r in drawn])
                with np.errstate(over="ignore", invalid="ignore"):
                    out = forward(task.model, params, pts)  # (R, G, n_out)
                score = np.argmax(out, axis=2) if n_out > 1 else out[:, :, 0]
                k = drawn.index(median)
                extra = f"shaded: seed {median.seed} (median loss)"
                if len(drawn) < len(runs):
                    sampled = True
                    extra += f"; lines: {len(drawn)} of {len(runs)} seeds"
                if n_out == 1 and np.nanmax(score[k]) - np.nanmin(score[k]) < 1e-3:
                    extra += f"\noutput constant {np.nanmean(score[k]):.2f}"
                if n_out > 1:
                    ax.contourf(
                        gx,
                        gy,
                        score[k].reshape(gx.shape),
                        levels=np.arange(n_classes + 1) - 0.5,
                        cmap=point_cmap,
                        alpha=0.35,
                    )
                    for sc in score:
                        ax.contour(
                            gx,
                            gy,
                            sc.reshape(gx.shape),
                            levels=np.arange(n_classes - 1) + 0.5,
                            colors="black",
                            linewidths=0.6,
                            alpha=0.35,
                        )
                else:
                    mesh = ax.pcolormesh(
                        gx,
                        gy,
                        np.clip(score[k], 0, 1).reshape(gx.shape),
                        cmap="RdBu_r",
                        vmin=0,
                        vmax=1,
                        alpha=0.55,
                        shading="auto",
                    )
                    for sc in score:
                        if np.nanmin(sc) < 0.5 < np.nanmax(sc):
                            ax.contour(
                                gx,
                                gy,
                                sc.reshape(gx.shape),
                                levels=[0.5],
                                colors="black",
                                linewidths=0.7,
                                alpha=0.45,
                            )
            else:
                nothing_to_draw(ax)
            size = 90 if len(x) <= 16 else 12
            ax.scatter(
                x[:, 0],
                x[:, 1],
                c=classes.astype(int),
                cmap=point_cmap,
                s=size,
                edgecolors="white",
                linewidths=0.5 if len(x) > 16 else 0.8,
                vmin=0,
                vmax=n_classes - 1,
                zorder=3,
            )
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_aspect("equal")
            ax.set_title(panel_title(group, lab, runs, extra), fontsize=9)
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        left_labels_only(axes, len(labels))
        if mesh is not None:
            fig.colorbar(
                mesh,
                ax=list(axes[: len(labels)]),
                shrink=0.8,
                label="network output (0.5 = boundary)",
            )
        suptitle(
            fig,
            f"{group.name}: decision regions of the trained networks "
            + (f"(lines: boundary of up to {MAX_DRAWN} seeds, spread evenly)" if sampled
               else "(lines: boundary of every seed)"),
        )
        return save(fig, path)


def _is_regression_from(group: TaskGroup, n_inputs: int) -> bool:
    """A regression task with ``n_inputs`` inputs and one output (plottable as a curve/surface)."""
    t = group.task_obj
    return (
        t is not None
        and t.kind == "regression"
        and t.model.layer_sizes[0] == n_inputs
        and t.model.layer_sizes[-1] == 1
    )


def is_1d_regression(group: TaskGroup) -> bool:
    return _is_regression_from(group, 1)


def function_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Learned function against the truth for a 1-D regression task, one panel per solver.

    Thin lines: every run's network; thick: the run with the median final training MSE. The
    truth is the test set (a dense grid over the domain); dots are the training points.
    """
    task = group.task_obj
    if task is None:
        return None
    labels = [lab for lab in group.runs if stored(group, lab)]
    if not labels:
        return None
    order = np.argsort(task.x_test[:, 0])
    xt, yt = task.x_test[order, 0], task.y_test[order, 0]
    grid = np.linspace(
        min(xt.min(), task.x_train.min()), max(xt.max(), task.x_train.max()), FUNCTION_POINTS
    )[
        :, None
    ]
    span = float(np.ptp(np.concatenate([yt, task.y_train[:, 0]]))) or 1.0
    ylo = min(yt.min(), task.y_train.min()) - 0.35 * span
    yhi = max(yt.max(), task.y_train.max()) + 0.35 * span
    sampled = False
    with theme():
        fig, axes = panel_grid(len(labels), width=3.8, height=3.1)
        for ax, lab in zip(axes, labels, strict=False):
            runs = drawable(group, lab)
            ax.plot(xt, yt, color="black", lw=1.5, ls="--", label="truth", zorder=4)
            ax.scatter(
                task.x_train[:, 0],
                task.y_train[:, 0],
                s=9,
                color="0.35",
                zorder=3,
                label="training points",
            )
            extra = ""
            if runs:
                median = median_run(runs, "mse")
                drawn = sample_runs(runs, median)
                with np.errstate(over="ignore", invalid="ignore"):
                    out = forward(task.model, np.array([r.final_params for r in drawn]), grid)[
                        :, :, 0
                    ]
                for r, y in zip(drawn, out, strict=True):
                    if r is not median:
                        ax.plot(grid[:, 0], y, color=colours[lab], lw=0.8, alpha=0.45)
                ax.plot(
                    grid[:, 0],
                    out[drawn.index(median)],
                    color=colours[lab],
                    lw=2.2,
                    label="median run",
                )
                extra = f"thick: seed {median.seed} (median MSE)"
                if len(drawn) < len(runs):
                    sampled = True
                    extra += f"; thin: {len(drawn)} of {len(runs)} seeds"
            else:
                nothing_to_draw(ax)
            ax.set_ylim(ylo, yhi)
            ax.set_title(panel_title(group, lab, runs, extra), fontsize=9)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        left_labels_only(axes, len(labels))
        axes[0].legend(fontsize=7, loc="best", framealpha=0.8)
        suptitle(
            fig, f"{group.name}: learned function (thin: "
            + (f"up to {MAX_DRAWN} seeds, spread evenly" if sampled else "every seed")
            + ") against the truth (dashed)"
        )
        return save(fig, path)


def is_2d_regression(group: TaskGroup) -> bool:
    return _is_regression_from(group, 2)


def surface_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Learned surface against the truth for a 2-D regression task: the truth, then one panel
    per solver showing the network of the run with the median final training MSE."""
    task = group.task_obj
    if task is None:
        return None
    labels = [lab for lab in group.runs if stored(group, lab)]
    if not labels:
        return None
    xt, yt = task.x_test, task.y_test[:, 0]
    levels = np.linspace(yt.min(), yt.max(), 21)
    lo, hi = xt.min(axis=0), xt.max(axis=0)
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], SURFACE_GRID), np.linspace(lo[1], hi[1], SURFACE_GRID)
    )
    fine = np.column_stack([gx.ravel(), gy.ravel()])
    with theme("ticks"):
        fig, axes = panel_grid(len(labels) + 1, width=3.6, height=3.5)
        cs = axes[0].tricontourf(
            xt[:, 0], xt[:, 1], yt, levels=levels, cmap="viridis", extend="both"
        )
        axes[0].scatter(task.x_train[:, 0], task.x_train[:, 1], s=3, color="white", alpha=0.7)
        axes[0].set_title("truth (test grid)\ndots: training inputs", fontsize=9)
        for ax, lab in zip(axes[1:], labels, strict=False):
            runs = drawable(group, lab)
            extra = ""
            if runs:
                median = median_run(runs, "mse")
                with np.errstate(over="ignore", invalid="ignore"):
                    pred = forward(task.model, np.asarray(median.final_params), fine)[:, 0]
                ax.contourf(
                    gx,
                    gy,
                    np.clip(pred, levels[0], levels[-1]).reshape(gx.shape),
                    levels=levels,
                    cmap="viridis",
                    extend="both",
                )
                extra = f"seed {median.seed} (median MSE)"
            else:
                nothing_to_draw(ax)
            ax.set_title(panel_title(group, lab, runs, extra), fontsize=9)
        for ax in axes[: len(labels) + 1]:
            ax.set_aspect("equal")
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        left_labels_only(axes, len(labels) + 1)
        bar = fig.colorbar(cs, ax=list(axes[: len(labels) + 1]), shrink=0.8, label="output")
        bar.locator = MaxNLocator(6)
        bar.update_ticks()
        suptitle(fig, f"{group.name}: learned surface (median run) against the truth")
        return save(fig, path)


def has_dynamics(group: TaskGroup) -> bool:
    """A task that declares a learned 2-D vector field (``Task.dynamics``, e.g. Lotka-Volterra)."""
    t = group.task_obj
    return t is not None and t.dynamics is not None and t.model.layer_sizes[0] == 2


#: Grid points per axis of the streamline plots.
_STREAM_GRID = 40
#: At most this many training states are drawn as dots (every k-th one).
_MAX_DOTS = 200


def phase_portrait_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Phase portraits of a learned 2-D vector field against the truth, in state units.

    The first panel is the true field's streamlines with the held-out orbit (dashed); each
    solver's panel shows the streamlines of the network of its median run (final training MSE),
    the true held-out orbit (dashed) and the network's own orbit from the same starting state
    (solid), integrated by the task's own rollout: what the rollout error measures.
    """
    task = group.task_obj
    dyn = task.dynamics if task is not None else None
    if task is None or dyn is None:
        return None
    labels = [lab for lab in group.runs if stored(group, lab)]
    if not labels:
        return None
    states = dyn.to_state(task.x_train)
    orbit = np.asarray(dyn.truth)
    pad = 0.12 * (states.max(axis=0) - states.min(axis=0))
    lo, hi = states.min(axis=0) - pad, states.max(axis=0) + pad
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], _STREAM_GRID), np.linspace(lo[1], hi[1], _STREAM_GRID)
    )
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    step = max(1, len(states) // _MAX_DOTS)
    stream = {"color": "0.6", "density": 0.9, "linewidth": 0.7, "arrowsize": 0.8}
    with theme("ticks"):
        fig, axes = panel_grid(len(labels) + 1, width=3.8, height=3.7)
        ax = axes[0]
        field = dyn.true_field(pts)
        ax.streamplot(
            gx, gy, field[:, 0].reshape(gx.shape), field[:, 1].reshape(gx.shape), **stream
        )
        ax.plot(orbit[:, 0], orbit[:, 1], color="black", dashes=(5, 3), lw=1.5)
        ax.scatter(states[::step, 0], states[::step, 1], s=3, color="0.55", zorder=3)
        ax.set_title("truth: analytic field\nblack dashed: held-out orbit", fontsize=9)
        for ax, lab in zip(axes[1:], labels, strict=False):
            runs = drawable(group, lab)
            extra = ""
            if runs:
                median = median_run(runs, "mse")
                params = np.asarray(median.final_params)
                with np.errstate(over="ignore", invalid="ignore"):
                    field = dyn.learned_field(task.model, params, pts)
                u, v = field[:, 0].reshape(gx.shape), field[:, 1].reshape(gx.shape)
                if np.all(np.isfinite(u)) and np.all(np.isfinite(v)):
                    ax.streamplot(gx, gy, u, v, **stream)
                ax.plot(orbit[:, 0], orbit[:, 1], color="black", dashes=(5, 3), lw=1.3)
                rolled = dyn.rollout(task.model, params).states
                ax.plot(rolled[:, 0], rolled[:, 1], color=colours[lab], lw=2.4, zorder=5)
                ax.plot(*orbit[0], "o", color="black", ms=4, zorder=4)
                extra = f"seed {median.seed}: learned field, its orbit (colour)"
            else:
                nothing_to_draw(ax)
            ax.scatter(states[::step, 0], states[::step, 1], s=3, color="0.6", zorder=3)
            ax.set_title(panel_title(group, lab, runs, extra), fontsize=9)
        for ax in axes[: len(labels) + 1]:
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_xlabel(dyn.state_labels[0])
            ax.set_ylabel(dyn.state_labels[1])
        left_labels_only(axes, len(labels) + 1)
        suptitle(
            fig, f"{group.name}: phase portrait of the learned vector field against the truth"
        )
        return save(fig, path)
