"""The report's pictures (matplotlib with seaborn styling, Agg backend: no display needed).

Every function draws one figure from the grouped records (:mod:`benchmarks.analysis`), writes
it as a PNG and returns its path, or ``None`` when the records hold nothing to draw (e.g. no
stored parameters). Colours follow one palette for the whole report, so a solver has the same
colour in every figure.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from benchmarks.analysis import (
    AXIS_TITLES,
    COST_FLOOR,
    TRACE_FIELD,
    Blocks,
    CostAxis,
    TaskGroup,
    bootstrap_seed,
    ert_cost,
    knob_numeric,
    runtime_problems,
    spent,
    trace_column,
)
from benchmarks.stats import (
    PairedTest,
    ert,
    ert_bootstrap,
    performance_profile,
    runtime_ecdf,
    step_interpolate,
)
from tasks.mlp import forward

DPI = 110
#: Points on the common x grid of the convergence curves.
CURVE_POINTS = 240
Palette = dict[str, Any]


@contextlib.contextmanager
def _theme() -> Iterator[None]:
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.85):
        yield


def palette(labels: Sequence[str]) -> Palette:
    """One colour per solver label, colour-blind safe up to 10 labels."""
    colours = sns.color_palette("colorblind" if len(labels) <= 10 else "husl", len(labels))
    return dict(zip(labels, colours, strict=True))


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No "Software" metadata: the same records give byte-identical files across machines.
    fig.savefig(path, dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def _legend_below(fig: Figure, handles: list[Any], labels: list[str]) -> None:
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4),
                   bbox_to_anchor=(0.5, -0.02), frameon=False)


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


# --------------------------------------------------------------------------------------------
# Across tasks
# --------------------------------------------------------------------------------------------


def success_heatmap(groups: Sequence[TaskGroup], labels: Sequence[str], path: Path) -> Path:
    """Solver x task grid of success rates, annotated ``k/n``; grey where a solver did not run."""
    rates = np.full((len(labels), len(groups)), math.nan)
    notes = np.full((len(labels), len(groups)), "n/a", dtype=object)
    for j, g in enumerate(groups):
        for i, lab in enumerate(labels):
            runs = g.attempted(lab)
            if runs:
                ok = sum(r.success for r in runs)
                rates[i, j] = ok / len(runs)
                notes[i, j] = f"{ok}/{len(runs)}"
    with _theme():
        fig, ax = plt.subplots(
            figsize=(max(4.0, 1.2 * len(groups) + 2.5), max(2.2, 0.5 * len(labels) + 1.4))
        )
        ax.set_facecolor("#d9d9d9")
        sns.heatmap(rates, ax=ax, vmin=0, vmax=1, cmap="RdYlGn", annot=notes, fmt="",
                    cbar_kws={"label": "success rate"}, linewidths=1, linecolor="white",
                    xticklabels=[_short(g.name, 22) for g in groups],
                    yticklabels=[_short(lab) for lab in labels])
        ax.set_xlabel("task")
        ax.set_ylabel("solver")
        ax.set_title("Runs that reached the task's target (grey: not run)")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        plt.setp(ax.get_yticklabels(), rotation=0)
        return _save(fig, path)


def _positive_range(values: Sequence[float]) -> tuple[float, float] | None:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    if not finite:
        return None
    return min(finite), max(finite)


def runtime_ecdf_figure(
    groups: Sequence[TaskGroup], labels: Sequence[str], colours: Palette, path: Path
) -> Path:
    """COCO-style runtime ECDFs over all (task, target) pairs, in evaluations and in seconds.

    A cross marks, for each solver, the median cost spent by its runs that missed a target: the
    curve cannot rise beyond where the budget ran out.
    """
    axes_list: tuple[CostAxis, CostAxis] = ("evaluations", "seconds")
    n_pairs = sum(len(g.levels) for g in groups)
    with _theme():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        handles: list[Any] = []
        for ax, axis in zip(axes, axes_list, strict=True):
            runtimes = {lab: runtime_problems(groups, lab, axis) for lab in labels}
            spends = [spent(r, axis) for g in groups for lab in labels for r in g.attempted(lab)]
            hits = [v for lab in labels for p in runtimes[lab] for v in p]
            span = _positive_range([*hits, *spends])
            if span is None:
                ax.text(0.5, 0.5, "no runs", ha="center", transform=ax.transAxes)
                continue
            lo, hi = span[0] / 1.5, span[1] * 1.5
            grid = np.geomspace(lo, hi, 400)
            for lab in labels:
                y = runtime_ecdf(runtimes[lab], grid)
                (line,) = ax.step(grid, y, where="post", color=colours[lab], lw=2)
                missed = [spent(r, axis) for g in groups for r in g.attempted(lab)
                          if not r.success]
                if missed:
                    x = max(float(np.median(missed)), lo)
                    ax.plot([x], [np.interp(x, grid, y)], "x", color=colours[lab], ms=9, mew=2)
                if axis == "evaluations":
                    n_run = sum(1 for g in groups if g.attempted(lab))
                    suffix = f" (ran {n_run}/{len(groups)} tasks)" if n_run < len(groups) else ""
                    handles.append((line, _short(lab, 40) + suffix))
            ax.set_xscale("log")
            ax.set_xlim(lo, hi)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(AXIS_TITLES[axis])
            ax.set_title(f"in {axis}")
        axes[0].set_ylabel(f"fraction of {n_pairs} (task, target) pairs solved")
        fig.suptitle("Runtime ECDF: share of (task, target) pairs reached within a cost "
                     "(x: median cost of missed runs)", y=1.0)
        _legend_below(fig, [h for h, _ in handles], [t for _, t in handles])
        fig.subplots_adjust(bottom=0.25)
        return _save(fig, path)


def performance_profile_figure(
    blocks: dict[str, Blocks], colours: Palette, path: Path
) -> Path:
    """Dolan-Moré performance profiles; problems are (task, seed) pairs, failures never count."""
    with _theme():
        fig, axes = plt.subplots(1, len(blocks), figsize=(5.5 * len(blocks), 4.2), sharey=True,
                                 squeeze=False)
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
            taus = np.geomspace(1.0, top, 400)
            rho = performance_profile(costs, taus)
            for s, lab in enumerate(blk.labels):
                (line,) = ax.step(taus, rho[s], where="post", color=colours[lab], lw=2)
                if not handles or len(handles) < len(blk.labels):
                    handles.append((line, _short(lab, 40)))
            ax.set_xscale("log", base=2)
            ax.set_xlim(1.0, top)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(f"τ: within this factor of the cheapest solver ({axis})")
            ax.set_title(f"{axis} to target, {costs.shape[0]} (task, seed) problems")
        axes[0][0].set_ylabel("fraction of problems")
        fig.suptitle("Performance profiles (Dolan-Moré): ρ(τ) = share of problems solved within "
                     "τ × the best solver's cost", y=1.0)
        _legend_below(fig, [h for h, _ in handles], [t for _, t in handles])
        fig.subplots_adjust(bottom=0.25)
        return _save(fig, path)


def win_matrix_figure(
    blocks: dict[str, Blocks],
    tests: dict[str, dict[tuple[int, int], tuple[PairedTest, float]]],
    path: Path,
) -> Path:
    """Share of paired (task, seed) blocks where the row solver beat the column solver.

    Ties (equal cost, or both missed the target) count half. A star marks a Holm-adjusted
    Wilcoxon p-value below 0.05.
    """
    with _theme():
        n = len(next(iter(blocks.values())).labels)
        size = max(4.0, 0.8 * n + 2.5)
        fig, axes = plt.subplots(1, len(blocks), figsize=(size * len(blocks), size * 0.85),
                                 squeeze=False)
        for ax, (axis, blk) in zip(axes[0], blocks.items(), strict=True):
            k = len(blk.labels)
            share = np.full((k, k), math.nan)
            notes = np.full((k, k), "", dtype=object)
            for (i, j), (test, p_holm) in tests[axis].items():
                if test.n == 0:
                    continue
                s_ij = (test.a_better + 0.5 * test.ties) / test.n
                share[i, j], share[j, i] = s_ij, 1 - s_ij
                star = "*" if p_holm < 0.05 else ""
                notes[i, j] = f"{s_ij:.2f}{star}"
                notes[j, i] = f"{1 - s_ij:.2f}{star}"
            sns.heatmap(share, ax=ax, vmin=0, vmax=1, cmap="vlag_r", center=0.5, annot=notes,
                        fmt="", cbar=ax is axes[0][-1], linewidths=1, linecolor="white",
                        xticklabels=[_short(lab, 18) for lab in blk.labels],
                        yticklabels=[_short(lab, 18) for lab in blk.labels],
                        cbar_kws={"label": "share of paired runs won"})
            ax.set_title(f"{axis} to target")
            ax.set_xlabel("against")
            ax.set_ylabel("solver")
            plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
            plt.setp(ax.get_yticklabels(), rotation=0)
        fig.suptitle("Paired comparison over (task, seed): share of runs where the row solver "
                     "was cheaper (* Holm p < 0.05)", y=1.02)
        return _save(fig, path)


# --------------------------------------------------------------------------------------------
# Per task
# --------------------------------------------------------------------------------------------


def _curve_matrix(
    runs: Sequence[Any], metric: str, axis: CostAxis, grid: np.ndarray
) -> np.ndarray:
    rows = []
    for r in runs:
        if not r.trace:
            continue
        x = trace_column(r, TRACE_FIELD[axis])
        y = trace_column(r, metric)
        y = np.where(np.isfinite(y), y, np.inf)  # a diverged run is infinitely bad, not missing
        rows.append(step_interpolate(x, y, grid))
    return np.array(rows)


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
    with _theme():
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), sharey=True)
        shown: list[float] = []  # quartile values on screen, to fit the y axis
        starts: list[float] = []  # starting values, to cap the axis above
        for ax, axis in zip(axes, axes_list, strict=True):
            xs = [v for lab in labels for r in group.attempted(lab)
                  for v in trace_column(r, TRACE_FIELD[axis])]
            span = _positive_range(xs)
            if span is None:
                continue
            lo, hi = span
            grid = np.geomspace(lo, max(hi, lo * 1.01), CURVE_POINTS)
            for lab in labels:
                m = _curve_matrix(group.attempted(lab), metric, axis, grid)
                if m.size == 0:
                    continue
                # Quantiles with infinities: a sentinel keeps the arithmetic finite; the axis
                # limits below cut it off.
                q25, q50, q75 = np.quantile(np.minimum(m, 1e300), [0.25, 0.5, 0.75], axis=0)
                ax.plot(grid, q50, color=colours[lab], lw=2, drawstyle="steps-post")
                ax.fill_between(grid, q25, q75, color=colours[lab], alpha=0.2, step="post",
                                lw=0)
                shown += [v for v in (*q25, *q75) if 0 < v < 1e299]
                starts += [v for v in m[:, 0] if 0 < v < 1e299]
            if group.target_value is not None and math.isfinite(group.target_value):
                ax.axhline(group.target_value, color="black", ls="--", lw=1)
            ax.set_xscale("log")
            ax.set_xlim(lo, grid[-1])
            ax.set_xlabel(AXIS_TITLES[axis])
        ax0 = axes[0]
        ax0.set_yscale("log")
        if shown:
            low = min(shown)
            if group.target_value is not None and group.target_value > 0:
                low = min(low, group.target_value)
            # Diverging runs shoot to 1e30 and beyond; nothing above 10x the worst start is
            # worth the vertical space, so such curves leave through the top.
            high = max(shown)
            if starts:
                high = min(high, 10 * max(starts))
            ax0.set_ylim(low / 2, max(high, low) * 2)
        ax0.set_ylabel(f"training {metric} (log)")
        handles: list[Any] = [Line2D([], [], color=colours[lab], lw=2) for lab in labels]
        names = [_short(lab, 40) for lab in labels]
        if group.target_value is not None:
            handles.append(Line2D([], [], color="black", ls="--", lw=1))
            names.append(f"target {metric} {group.target_value:.3g}")
        fig.suptitle(f"{group.name}: training {metric}, median over seeds with interquartile "
                     "band", y=1.0)
        _legend_below(fig, handles, names)
        fig.subplots_adjust(bottom=0.25)
        return _save(fig, path)


def _with_params(group: TaskGroup, label: str) -> list[Any]:
    n = group.task_obj.num_params if group.task_obj is not None else -1
    return [r for r in group.attempted(label)
            if len(r.final_params) == n and np.all(np.isfinite(r.final_params))]


def _median_run(runs: Sequence[Any], metric: str) -> Any:
    """The run with the median final training ``metric`` (the lower middle for an even count)."""
    scored = sorted(runs, key=lambda r: (r.final_train.get(metric, math.inf), r.seed))
    return scored[(len(scored) - 1) // 2]


def _panel_grid(n: int, width: float = 3.6, height: float = 3.4) -> tuple[Figure, np.ndarray]:
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _solved_text(group: TaskGroup, label: str) -> str:
    runs = group.attempted(label)
    return f"{sum(r.success for r in runs)}/{len(runs)} reached target"


def is_2d_classification(group: TaskGroup) -> bool:
    t = group.task_obj
    return t is not None and t.kind == "classification" and t.model.layer_sizes[0] == 2


def decision_boundary_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """The trained networks' decision regions on a grid, one panel per solver.

    Background: the output of the run with the median final training loss (its class for a
    multi-class softmax). Thin black lines: the decision boundary of every run, so the spread
    over seeds is visible. Points: the training set, coloured by label.
    """
    task = group.task_obj
    if task is None or not is_2d_classification(group):
        return None
    labels = [lab for lab in group.runs if _with_params(group, lab)]
    if not labels:
        return None
    x = task.x_train
    pad = 0.15 * (x.max(axis=0) - x.min(axis=0)) + 0.25
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 160), np.linspace(lo[1], hi[1], 160))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    n_out = task.model.layer_sizes[-1]
    classes = np.argmax(task.y_train, axis=1) if n_out > 1 else (task.y_train[:, 0] > 0.5)
    n_classes = max(2, n_out)
    point_cmap = ListedColormap(sns.color_palette("deep", n_classes)) if n_out > 1 else \
        ListedColormap(["#3b6fb6", "#c44e52"])
    with _theme():
        fig, axes = _panel_grid(len(labels))
        mesh = None
        for ax, lab in zip(axes, labels, strict=False):
            runs = _with_params(group, lab)
            params = np.array([r.final_params for r in runs])
            out = forward(task.model, params, pts)  # (R, G, n_out)
            with np.errstate(invalid="ignore"):
                score = np.argmax(out, axis=2) if n_out > 1 else out[:, :, 0]
            median = _median_run(runs, "loss")
            k = runs.index(median)
            if n_out > 1:
                ax.contourf(gx, gy, score[k].reshape(gx.shape), levels=np.arange(n_classes + 1)
                            - 0.5, cmap=point_cmap, alpha=0.35)
                for s in score:
                    ax.contour(gx, gy, s.reshape(gx.shape), levels=np.arange(n_classes) + 0.5,
                               colors="black", linewidths=0.6, alpha=0.35)
            else:
                mesh = ax.pcolormesh(gx, gy, np.clip(score[k], 0, 1).reshape(gx.shape),
                                     cmap="RdBu_r", vmin=0, vmax=1, alpha=0.55, shading="auto")
                for s in score:
                    if np.nanmin(s) < 0.5 < np.nanmax(s):
                        ax.contour(gx, gy, s.reshape(gx.shape), levels=[0.5], colors="black",
                                   linewidths=0.7, alpha=0.45)
            size = 90 if len(x) <= 16 else 14
            ax.scatter(x[:, 0], x[:, 1], c=classes.astype(int), cmap=point_cmap, s=size,
                       edgecolors="white", linewidths=0.6, vmin=0, vmax=n_classes - 1, zorder=3)
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_aspect("equal")
            ax.set_title(f"{_short(lab)}\n{_solved_text(group, lab)}; shaded: seed {median.seed}",
                         color=colours[lab], fontsize=9)
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        if mesh is not None:
            fig.colorbar(mesh, ax=list(axes[: len(labels)]), shrink=0.8,
                         label="network output (0.5 = boundary)")
        fig.suptitle(f"{group.name}: decision regions of the trained networks "
                     "(lines: boundary of every seed)", y=1.02)
        return _save(fig, path)


def is_1d_regression(group: TaskGroup) -> bool:
    t = group.task_obj
    return (t is not None and t.kind == "regression" and t.model.layer_sizes[0] == 1
            and t.model.layer_sizes[-1] == 1)


def function_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Learned function against the truth for a 1-D regression task, one panel per solver.

    Thin lines: every run's network; thick: the run with the median final training MSE. The
    truth is the test set (a dense grid over the domain); dots are the training points.
    """
    task = group.task_obj
    if task is None or not is_1d_regression(group):
        return None
    labels = [lab for lab in group.runs if _with_params(group, lab)]
    if not labels:
        return None
    order = np.argsort(task.x_test[:, 0])
    xt, yt = task.x_test[order, 0], task.y_test[order, 0]
    grid = np.linspace(min(xt.min(), task.x_train.min()), max(xt.max(), task.x_train.max()),
                       400)[:, None]
    span = float(np.ptp(np.concatenate([yt, task.y_train[:, 0]]))) or 1.0
    ylo = min(yt.min(), task.y_train.min()) - 0.35 * span
    yhi = max(yt.max(), task.y_train.max()) + 0.35 * span
    with _theme():
        fig, axes = _panel_grid(len(labels), width=3.8, height=3.0)
        for ax, lab in zip(axes, labels, strict=False):
            runs = _with_params(group, lab)
            out = forward(task.model, np.array([r.final_params for r in runs]), grid)[:, :, 0]
            median = _median_run(runs, "mse")
            for r, y in zip(runs, out, strict=True):
                if r is not median:
                    ax.plot(grid[:, 0], y, color=colours[lab], lw=0.8, alpha=0.4)
            ax.plot(xt, yt, color="black", lw=1.5, ls="--", label="truth")
            ax.plot(grid[:, 0], out[runs.index(median)], color=colours[lab], lw=2.2,
                    label=f"seed {median.seed} (median)")
            ax.scatter(task.x_train[:, 0], task.y_train[:, 0], s=10, color="0.35", zorder=3,
                       label="training points")
            ax.set_ylim(ylo, yhi)
            ax.set_title(f"{_short(lab)}\n{_solved_text(group, lab)}", color=colours[lab],
                         fontsize=9)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        axes[0].legend(fontsize=7, loc="upper left")
        fig.suptitle(f"{group.name}: learned function (thin: every seed) against the truth "
                     "(dashed)", y=1.02)
        fig.tight_layout()
        return _save(fig, path)


def is_2d_regression(group: TaskGroup) -> bool:
    t = group.task_obj
    return (t is not None and t.kind == "regression" and t.model.layer_sizes[0] == 2
            and t.model.layer_sizes[-1] == 1)


def surface_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Learned surface against the truth for a 2-D regression task: the truth, then one panel
    per solver showing the network of the run with the median final training MSE."""
    task = group.task_obj
    if task is None or not is_2d_regression(group):
        return None
    labels = [lab for lab in group.runs if _with_params(group, lab)]
    if not labels:
        return None
    xt, yt = task.x_test, task.y_test[:, 0]
    levels = np.linspace(yt.min(), yt.max(), 21)
    with _theme():
        fig, axes = _panel_grid(len(labels) + 1, width=3.6, height=3.2)
        cs = axes[0].tricontourf(xt[:, 0], xt[:, 1], yt, levels=levels, cmap="viridis",
                                 extend="both")
        axes[0].set_title("truth (test grid)", fontsize=9)
        for ax, lab in zip(axes[1:], labels, strict=False):
            runs = _with_params(group, lab)
            median = _median_run(runs, "mse")
            pred = forward(task.model, np.asarray(median.final_params), xt)[:, 0]
            ax.tricontourf(xt[:, 0], xt[:, 1], np.clip(pred, levels[0], levels[-1]),
                           levels=levels, cmap="viridis", extend="both")
            ax.set_title(f"{_short(lab)}: seed {median.seed}\n{_solved_text(group, lab)}",
                         color=colours[lab], fontsize=9)
        for ax in axes[: len(labels) + 1]:
            ax.set_aspect("equal")
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        fig.colorbar(cs, ax=list(axes[: len(labels) + 1]), shrink=0.8, label="output")
        fig.suptitle(f"{group.name}: learned surface (median run) against the truth", y=1.02)
        return _save(fig, path)


def is_vector_field(group: TaskGroup) -> bool:
    """A dynamics task: a 2-D state mapped to its 2-D time derivative (Lotka-Volterra)."""
    t = group.task_obj
    if t is None or t.kind != "regression":
        return False
    two_by_two = t.model.layer_sizes[0] == 2 and t.model.layer_sizes[-1] == 2
    return two_by_two and ("lotka" in t.name or t.family in ("dynamics", "ode"))


def _lv_truth(options: dict[str, Any]) -> tuple[float, float, float, float] | None:
    names = ("alpha", "beta", "gamma", "delta")
    if all(isinstance(options.get(n), int | float) for n in names):
        return tuple(float(options[n]) for n in names)  # type: ignore[return-value]
    return None


def phase_portrait_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Phase portraits of a learned 2-D vector field (Lotka-Volterra) against the truth.

    First panel: the truth: the analytic field's streamlines when the task's options give the
    Lotka-Volterra parameters (alpha, beta, gamma, delta), and the training derivatives as arrows
    at the sampled states. Then one panel per solver: the streamlines of the network of the run
    with the median final training MSE, over the same states.
    """
    task = group.task_obj
    if task is None or not is_vector_field(group):
        return None
    labels = [lab for lab in group.runs if _with_params(group, lab)]
    if not labels:
        return None
    states = task.x_train
    pad = 0.1 * (states.max(axis=0) - states.min(axis=0))
    lo, hi = states.min(axis=0) - pad, states.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 40), np.linspace(lo[1], hi[1], 40))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    step = max(1, len(states) // 150)
    lv = _lv_truth(group.options)
    with _theme():
        fig, axes = _panel_grid(len(labels) + 1, width=3.8, height=3.6)
        ax = axes[0]
        if lv is not None:
            a, b, c, d = lv
            u = a * gx - b * gx * gy
            v = d * gx * gy - c * gy
            ax.streamplot(gx, gy, u, v, color="0.3", density=1.0, linewidth=0.8)
        ax.quiver(states[::step, 0], states[::step, 1], task.y_train[::step, 0],
                  task.y_train[::step, 1], color="black", angles="xy", width=0.004, alpha=0.7)
        ax.set_title("truth" + (" (analytic field; arrows: training data)" if lv else
                                " (training derivatives)"), fontsize=9)
        for ax, lab in zip(axes[1:], labels, strict=False):
            runs = _with_params(group, lab)
            median = _median_run(runs, "mse")
            field = forward(task.model, np.asarray(median.final_params), pts)
            u = field[:, 0].reshape(gx.shape)
            v = field[:, 1].reshape(gx.shape)
            if np.all(np.isfinite(u)) and np.all(np.isfinite(v)):
                ax.streamplot(gx, gy, u, v, color=colours[lab], density=1.0, linewidth=0.9)
            ax.scatter(states[::step, 0], states[::step, 1], s=3, color="0.5", zorder=3)
            ax.set_title(f"{_short(lab)}: seed {median.seed}\n{_solved_text(group, lab)}",
                         color=colours[lab], fontsize=9)
        for ax in axes[: len(labels) + 1]:
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_xlabel("prey $x$")
            ax.set_ylabel("predator $y$")
        fig.suptitle(f"{group.name}: phase portrait of the learned vector field against the "
                     "truth", y=1.02)
        fig.tight_layout()
        return _save(fig, path)


# --------------------------------------------------------------------------------------------
# Scaling
# --------------------------------------------------------------------------------------------


_ERT_AXES: tuple[CostAxis, CostAxis] = ("evaluations", "seconds")


def scaling_figure(
    task: str,
    knob: str,
    members: Sequence[TaskGroup],
    labels: Sequence[str],
    colours: Palette,
    path: Path,
) -> Path | None:
    """ERT (evaluations, seconds) and success rate against one knob, with bootstrap intervals.

    A solver with no success at a knob value has an infinite ERT: its line stops there and a
    triangle at the top edge marks the miss.
    """
    xs = [knob_numeric(m.options.get(knob)) for m in members]
    categorical = any(x is None for x in xs)
    positions = list(range(len(members))) if categorical else [float(x) for x in xs]  # type: ignore[arg-type]
    ticks = [str(m.options.get(knob)) for m in members]
    with _theme():
        fig, axes = plt.subplots(1, 3, figsize=(14, 4.0))
        drawn = False
        for lab in labels:
            for ax, axis in zip(axes[:2], _ERT_AXES, strict=True):
                ys, los, his, miss = [], [], [], []
                for m, pos in zip(members, positions, strict=True):
                    runs = m.attempted(lab)
                    if not runs:
                        ys.append(math.nan)
                        los.append(math.nan)
                        his.append(math.nan)
                        continue
                    costs = [ert_cost(r, axis) for r in runs]
                    ok = [r.success for r in runs]
                    e = ert(costs, ok)
                    lo, hi = ert_bootstrap(costs, ok, seed=bootstrap_seed(m.name, lab, axis))
                    # Same numbers as the task's table; floored only to sit on a log axis.
                    floor = COST_FLOOR[axis]
                    ys.append(max(e, floor) if math.isfinite(e) else math.nan)
                    los.append(max(lo, floor))
                    his.append(max(hi, floor))
                    if not math.isfinite(e):
                        miss.append(pos)
                y = np.array(ys)
                if np.all(np.isnan(y)) and not miss:
                    continue
                drawn = True
                err_lo = np.where(np.isfinite(los), y - np.array(los), 0)
                err_hi = np.where(np.isfinite(his), np.array(his) - y, 0)
                ax.errorbar(positions, y, yerr=[np.nan_to_num(err_lo), np.nan_to_num(err_hi)],
                            color=colours[lab], marker="o", ms=5, lw=1.8, capsize=3)
                if miss:
                    ax.plot(miss, [1.0] * len(miss), "^", color=colours[lab], ms=8,
                            transform=ax.get_xaxis_transform(), clip_on=False)
            rates = []
            for m in members:
                runs = m.attempted(lab)
                rates.append(sum(r.success for r in runs) / len(runs) if runs else math.nan)
            axes[2].plot(positions, rates, color=colours[lab], marker="o", ms=5, lw=1.8,
                         label=_short(lab, 40))
        if not drawn:
            plt.close(fig)
            return None
        for ax, axis in zip(axes[:2], _ERT_AXES, strict=True):
            ax.set_yscale("log")
            ax.set_ylabel(f"ERT, {AXIS_TITLES[axis]}")
        axes[2].set_ylim(-0.03, 1.03)
        axes[2].set_ylabel("success rate")
        for ax in axes:
            ax.set_xlabel(knob)
            if categorical:
                ax.set_xticks(positions, ticks)
        handles, names = axes[2].get_legend_handles_labels()
        fig.suptitle(f"{task}: cost to target against {knob} (ERT with 95% bootstrap interval; "
                     "▲ = never reached)", y=1.0)
        _legend_below(fig, handles, names)
        fig.subplots_adjust(bottom=0.25, wspace=0.3)
        return _save(fig, path)
