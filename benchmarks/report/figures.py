"""The report's pictures (matplotlib with seaborn styling, Agg backend: no display needed).

Every function draws one figure from the grouped records (:mod:`benchmarks.report.analysis`), writes
it as a PNG and returns its path, or ``None`` when the records hold nothing to draw (e.g. no
stored parameters). Colours follow one palette for the whole report, so a solver has the same
colour in every figure.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator, Sequence
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
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PIL import Image

from benchmarks.report.analysis import (
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
from benchmarks.report.stats import (
    PairedTest,
    ert,
    ert_bootstrap,
    performance_profile,
    runtime_ecdf,
    step_interpolate,
)
from tasks.mlp import forward

DPI = 110
#: Stand-in for an infinite loss (a diverged run) in quantiles; far above any axis shown.
_TOP = 1e30
#: Points on the common x grid of the convergence curves.
CURVE_POINTS = 240
Palette = dict[str, Any]


@contextlib.contextmanager
def _theme(style: str = "whitegrid") -> Iterator[None]:
    with (
        sns.axes_style(style),
        sns.plotting_context("notebook", font_scale=0.85),
        warnings.catch_warnings(),
    ):
        # seaborn 0.13's heatmap calls a colormap method matplotlib 3.11 marks as pending
        # deprecation; the figure is unaffected.
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
        yield


def palette(labels: Sequence[str]) -> Palette:
    """One colour per solver label (seaborn's "deep": ten well-separated hues).

    Colour is never the only cue: line plots also vary the line style (:func:`linestyle`) and
    markers, for readers who do not tell the hues apart. Pale members are darkened, as thin lines
    in them vanish on a white background.
    """
    colours = sns.color_palette("deep" if len(labels) <= 10 else "husl", len(labels))
    out: Palette = {}
    for label, (r, g, b) in zip(labels, colours, strict=True):
        if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.65:
            r, g, b = 0.75 * r, 0.75 * g, 0.75 * b
        out[label] = (r, g, b)
    return out


def _save(fig: Figure, path: Path) -> Path:
    """Write the figure as a 256-colour PNG.

    The reference report is committed: quantizing to a palette makes the files about three
    times smaller with no visible loss on these flat-coloured plots (checked by eye). No
    "Software" metadata and no dithering, so the same records give byte-identical files.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette_image = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
        palette_image.save(path, format="PNG", optimize=True)
    return path


def _suptitle(fig: Figure, text: str, **kwargs: Any) -> None:
    """A figure title wrapped to the figure's width (a one-panel figure is narrow)."""
    width = max(30, int(fig.get_figwidth() * 11))
    fig.suptitle(textwrap.fill(text, width=width, break_long_words=False), **kwargs)


def _legend_below(fig: Figure, handles: list[Any], labels: list[str]) -> None:
    if handles:
        fig.legend(
            handles,
            labels,
            loc="lower center",
            ncol=min(len(labels), 4),
            bbox_to_anchor=(0.5, -0.02),
            frameon=False,
        )


def _short(label: str, width: int = 28) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _wrap(label: str, width: int = 26) -> str:
    """A long label on several lines (at spaces), never cut."""
    return textwrap.fill(label, width=width, break_long_words=False, break_on_hyphens=False)


_LINESTYLES = ("-", "--", "-.", ":")


def linestyle(label: str, colours: Palette) -> str:
    """A line style per solver on top of its colour: two solvers with identical costs (the same
    algorithm in two libraries) would otherwise draw one line over the other."""
    labels = list(colours)
    return _LINESTYLES[(labels.index(label) if label in labels else 0) % len(_LINESTYLES)]


def _metric_name(metric: str) -> str:
    return "MSE" if metric == "mse" else metric


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
    task_names = [g.name for g in groups]
    # Many tasks read better as rows (long names stay horizontal); few as columns.
    tall = len(groups) > len(labels) + 2
    with _theme():
        if tall:
            rates, notes = rates.T, notes.T
            size = (max(4.0, 1.0 * len(labels) + 4.0), max(2.2, 0.42 * len(groups) + 1.6))
            xticks, yticks = [_wrap(lab, 16) for lab in labels], [_wrap(t, 45) for t in task_names]
            xlabel, ylabel = "solver", "task"
        else:
            size = (max(4.0, 1.2 * len(groups) + 2.5), max(2.2, 0.5 * len(labels) + 1.4))
            xticks, yticks = [_wrap(t, 22) for t in task_names], [_wrap(lab, 30) for lab in labels]
            xlabel, ylabel = "task", "solver"
        fig, ax = plt.subplots(figsize=size)
        ax.set_facecolor("#d9d9d9")
        sns.heatmap(
            rates,
            ax=ax,
            vmin=0,
            vmax=1,
            cmap="RdYlGn",
            annot=notes,
            fmt="",
            cbar_kws={"label": "success rate"},
            linewidths=1,
            linecolor="white",
            xticklabels=xticks,
            yticklabels=yticks,
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title("Runs that reached the task's target (grey: not run)")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
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
                (line,) = ax.step(
                    grid, y, where="post", color=colours[lab], lw=2, ls=linestyle(lab, colours)
                )
                missed = [spent(r, axis) for g in groups for r in g.attempted(lab) if not r.success]
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
        _suptitle(
            fig,
            "Runtime ECDF: share of (task, target) pairs reached within a cost "
            "(x: median cost of missed runs)",
            y=1.0,
        )
        _legend_below(fig, [h for h, _ in handles], [t for _, t in handles])
        fig.subplots_adjust(bottom=0.25)
        return _save(fig, path)


def performance_profile_figure(blocks: dict[str, Blocks], colours: Palette, path: Path) -> Path:
    """Dolan-Moré performance profiles; problems are (task, seed) pairs, failures never count."""
    with _theme():
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
            taus = np.geomspace(1.0, top, 400)
            rho = performance_profile(costs, taus)
            for s, lab in enumerate(blk.labels):
                (line,) = ax.step(
                    taus, rho[s], where="post", color=colours[lab], lw=2, ls=linestyle(lab, colours)
                )
                if len(handles) < len(blk.labels):
                    handles.append((line, _short(lab, 40)))
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            ax.set_xlim(1.0, top)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(f"τ: within this factor of the cheapest solver ({axis})")
            ax.set_title(f"{axis} to target, {costs.shape[0]} (task, seed) problems")
        axes[0][0].set_ylabel("fraction of problems")
        _suptitle(
            fig,
            "Performance profiles (Dolan-Moré): ρ(τ) = share of problems solved within "
            "τ × the best solver's cost",
            y=1.0,
        )
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
    with _theme("white"):
        labels = next(iter(blocks.values())).labels
        n = len(labels)
        cell = 0.75 if n <= 6 else 0.55
        side = max(2.5, cell * n)
        fig, axes = plt.subplots(
            1,
            len(blocks) + 1,
            figsize=(side * len(blocks) + 3.2, side + 1.6),
            gridspec_kw={"width_ratios": [*([1.0] * len(blocks)), 0.05]},
        )
        cax = axes[-1]
        for num, (ax, (axis, blk)) in enumerate(zip(axes[:-1], blocks.items(), strict=True)):
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
            sns.heatmap(
                share,
                ax=ax,
                vmin=0,
                vmax=1,
                cmap="vlag_r",
                center=0.5,
                annot=notes,
                fmt="",
                cbar=num == 0,
                cbar_ax=cax if num == 0 else None,
                linewidths=1,
                linecolor="white",
                square=True,
                annot_kws={"fontsize": 8 if n > 6 else 10},
                xticklabels=[_wrap(lab, 16) for lab in blk.labels],
                yticklabels=[_wrap(lab, 22) for lab in blk.labels] if num == 0 else False,
                cbar_kws={"label": "share of paired runs won by the row"},
            )
            ax.set_title(f"{axis} to target")
            ax.set_xlabel("against")
            ax.set_ylabel("solver" if num == 0 else "")
            plt.setp(ax.get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
            plt.setp(ax.get_yticklabels(), rotation=0)
        _suptitle(
            fig,
            "Paired comparison over (task, seed): share of runs where the row solver "
            "was cheaper (* Holm p < 0.05)",
            y=1.0,
        )
        fig.tight_layout()
        return _save(fig, path)


# --------------------------------------------------------------------------------------------
# Per task
# --------------------------------------------------------------------------------------------


def _curve_matrix(runs: Sequence[Any], metric: str, axis: CostAxis, grid: np.ndarray) -> np.ndarray:
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
        target = group.target_value
        floor = (
            target / 1e3 if target is not None and math.isfinite(target) and target > 0 else None
        )
        clipped = False
        shown: list[float] = []  # quartile values on screen, to fit the y axis
        starts: list[float] = []  # starting values, to cap the axis above
        for ax, axis in zip(axes, axes_list, strict=True):
            xs = [
                v
                for lab in labels
                for r in group.attempted(lab)
                for v in trace_column(r, TRACE_FIELD[axis])
            ]
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
                q25, q50, q75 = np.quantile(np.minimum(m, _TOP), [0.25, 0.5, 0.75], axis=0)
                if floor is not None:
                    # An exact fit (1e-17 after a least-squares solve) would squash every other
                    # curve into the top of the panel: such values run along the bottom edge.
                    clipped = clipped or bool(np.any(q25 < floor))
                    q25, q50, q75 = (np.maximum(q, floor) for q in (q25, q50, q75))
                ax.plot(
                    grid,
                    q50,
                    color=colours[lab],
                    lw=2,
                    drawstyle="steps-post",
                    ls=linestyle(lab, colours),
                )
                ax.fill_between(grid, q25, q75, color=colours[lab], alpha=0.2, step="post", lw=0)
                shown += [v for v in (*q25, *q75) if 0 < v < _TOP]
                starts += [v for v in m[:, 0] if 0 < v < _TOP]
            if group.target_value is not None and math.isfinite(group.target_value):
                ax.axhline(group.target_value, color="black", ls=":", lw=1.2)
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
            ax0.set_ylim(low / 2 if floor is None else max(low, floor) / 2, max(high, low) * 2)
        if clipped:
            axes[0].annotate(
                f"values below {floor:.0e} drawn on the bottom edge",
                xy=(0.02, 0.07),
                xycoords="axes fraction",
                fontsize=8,
                color="0.3",
            )
        name = _metric_name(metric)
        ax0.set_ylabel(f"training {name} (log)")
        handles: list[Any] = [
            Line2D([], [], color=colours[lab], lw=2, ls=linestyle(lab, colours)) for lab in labels
        ]
        names = [_short(lab, 40) for lab in labels]
        if group.target_value is not None:
            handles.append(Line2D([], [], color="black", ls=":", lw=1.2))
            names.append(f"target: {name} {group.target_value:.3g}")
        _suptitle(
            fig,
            f"{group.name}: training {name}, median over seeds with interquartile "
            "band (a run keeps its final value after it stops)",
            y=1.0,
        )
        _legend_below(fig, handles, names)
        fig.subplots_adjust(bottom=0.25)
        return _save(fig, path)


def _stored(group: TaskGroup, label: str) -> list[Any]:
    """Attempted runs of ``label`` whose final parameters the record kept (small networks)."""
    n = group.task_obj.num_params if group.task_obj is not None else -1
    return [r for r in group.attempted(label) if len(r.final_params) == n]


def _drawable(group: TaskGroup, label: str) -> list[Any]:
    """Stored runs worth drawing: finite parameters and a finite final loss (not diverged)."""
    return [
        r
        for r in _stored(group, label)
        if r.stop_reason != "diverged"
        and np.all(np.isfinite(r.final_params))
        and math.isfinite(r.final_train.get("loss", math.nan))
    ]


def _median_run(runs: Sequence[Any], metric: str) -> Any:
    """The run with the median final training ``metric`` (the lower middle for an even count)."""
    scored = sorted(runs, key=lambda r: (r.final_train.get(metric, math.inf), r.seed))
    return scored[(len(scored) - 1) // 2]


def _panel_grid(
    n: int, width: float = 3.6, height: float = 3.4, cols: int = 4
) -> tuple[Figure, np.ndarray]:
    cols = min(n, cols)
    rows = math.ceil(n / cols)
    # Constrained layout keeps multi-line panel titles, tick labels and a shared colour bar from
    # running into each other.
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _left_labels_only(axes: np.ndarray, n: int, cols: int = 4) -> None:
    """Keep the y label on the first column only, so it cannot run into the panel beside it."""
    cols = min(n, cols)
    for k, ax in enumerate(axes[:n]):
        if k % cols:
            ax.set_ylabel("")


def _panel_title(group: TaskGroup, label: str, drawn: Sequence[Any], extra: str = "") -> str:
    runs = group.attempted(label)
    text = f"{_wrap(label, 30)}\n{sum(r.success for r in runs)}/{len(runs)} reached target"
    skipped = len(_stored(group, label)) - len(drawn)
    if skipped:
        text += f"; {skipped} diverged (not drawn)"
    return text + (f"\n{extra}" if extra else "")


def _nothing_to_draw(ax: Any) -> None:
    ax.text(
        0.5,
        0.5,
        "no run to draw\n(every run diverged)",
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="0.4",
    )


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
    if task is None or not is_2d_classification(group):
        return None
    labels = [lab for lab in group.runs if _stored(group, lab)]
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
    point_cmap = (
        ListedColormap(sns.color_palette("deep", n_classes))
        if n_out > 1
        else ListedColormap(["#3b6fb6", "#c44e52"])
    )
    with _theme("ticks"):
        fig, axes = _panel_grid(len(labels), height=3.7)
        mesh = None
        for ax, lab in zip(axes, labels, strict=False):
            runs = _drawable(group, lab)
            extra = ""
            if runs:
                params = np.array([r.final_params for r in runs])
                with np.errstate(over="ignore", invalid="ignore"):
                    out = forward(task.model, params, pts)  # (R, G, n_out)
                score = np.argmax(out, axis=2) if n_out > 1 else out[:, :, 0]
                median = _median_run(runs, "loss")
                k = runs.index(median)
                extra = f"shaded: seed {median.seed} (median loss)"
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
                _nothing_to_draw(ax)
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
            ax.set_title(_panel_title(group, lab, runs, extra), fontsize=9)
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        _left_labels_only(axes, len(labels))
        if mesh is not None:
            fig.colorbar(
                mesh,
                ax=list(axes[: len(labels)]),
                shrink=0.8,
                label="network output (0.5 = boundary)",
            )
        _suptitle(
            fig,
            f"{group.name}: decision regions of the trained networks "
            "(lines: boundary of every seed)",
        )
        return _save(fig, path)


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
    if task is None or not is_1d_regression(group):
        return None
    labels = [lab for lab in group.runs if _stored(group, lab)]
    if not labels:
        return None
    order = np.argsort(task.x_test[:, 0])
    xt, yt = task.x_test[order, 0], task.y_test[order, 0]
    grid = np.linspace(min(xt.min(), task.x_train.min()), max(xt.max(), task.x_train.max()), 400)[
        :, None
    ]
    span = float(np.ptp(np.concatenate([yt, task.y_train[:, 0]]))) or 1.0
    ylo = min(yt.min(), task.y_train.min()) - 0.35 * span
    yhi = max(yt.max(), task.y_train.max()) + 0.35 * span
    with _theme():
        fig, axes = _panel_grid(len(labels), width=3.8, height=3.1)
        for ax, lab in zip(axes, labels, strict=False):
            runs = _drawable(group, lab)
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
                with np.errstate(over="ignore", invalid="ignore"):
                    out = forward(task.model, np.array([r.final_params for r in runs]), grid)[
                        :, :, 0
                    ]
                median = _median_run(runs, "mse")
                for r, y in zip(runs, out, strict=True):
                    if r is not median:
                        ax.plot(grid[:, 0], y, color=colours[lab], lw=0.8, alpha=0.45)
                ax.plot(
                    grid[:, 0],
                    out[runs.index(median)],
                    color=colours[lab],
                    lw=2.2,
                    label="median run",
                )
                extra = f"thick: seed {median.seed} (median MSE)"
            else:
                _nothing_to_draw(ax)
            ax.set_ylim(ylo, yhi)
            ax.set_title(_panel_title(group, lab, runs, extra), fontsize=9)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        _left_labels_only(axes, len(labels))
        axes[0].legend(fontsize=7, loc="best", framealpha=0.8)
        _suptitle(
            fig, f"{group.name}: learned function (thin: every seed) against the truth (dashed)"
        )
        return _save(fig, path)


def is_2d_regression(group: TaskGroup) -> bool:
    return _is_regression_from(group, 2)


def surface_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Learned surface against the truth for a 2-D regression task: the truth, then one panel
    per solver showing the network of the run with the median final training MSE."""
    task = group.task_obj
    if task is None or not is_2d_regression(group):
        return None
    labels = [lab for lab in group.runs if _stored(group, lab)]
    if not labels:
        return None
    xt, yt = task.x_test, task.y_test[:, 0]
    levels = np.linspace(yt.min(), yt.max(), 21)
    lo, hi = xt.min(axis=0), xt.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
    fine = np.column_stack([gx.ravel(), gy.ravel()])
    with _theme("ticks"):
        fig, axes = _panel_grid(len(labels) + 1, width=3.6, height=3.5)
        cs = axes[0].tricontourf(
            xt[:, 0], xt[:, 1], yt, levels=levels, cmap="viridis", extend="both"
        )
        axes[0].scatter(task.x_train[:, 0], task.x_train[:, 1], s=3, color="white", alpha=0.7)
        axes[0].set_title("truth (test grid)\ndots: training inputs", fontsize=9)
        for ax, lab in zip(axes[1:], labels, strict=False):
            runs = _drawable(group, lab)
            extra = ""
            if runs:
                median = _median_run(runs, "mse")
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
                _nothing_to_draw(ax)
            ax.set_title(_panel_title(group, lab, runs, extra), fontsize=9)
        for ax in axes[: len(labels) + 1]:
            ax.set_aspect("equal")
            ax.set_xlabel("$x_1$")
            ax.set_ylabel("$x_2$")
        _left_labels_only(axes, len(labels) + 1)
        bar = fig.colorbar(cs, ax=list(axes[: len(labels) + 1]), shrink=0.8, label="output")
        bar.locator = MaxNLocator(6)
        bar.update_ticks()
        _suptitle(fig, f"{group.name}: learned surface (median run) against the truth")
        return _save(fig, path)


def is_vector_field(group: TaskGroup) -> bool:
    """A dynamics task: a 2-D state mapped to its 2-D time derivative (Lotka-Volterra)."""
    t = group.task_obj
    if t is None or t.kind != "regression":
        return False
    two_by_two = t.model.layer_sizes[0] == 2 and t.model.layer_sizes[-1] == 2
    return two_by_two and ("lotka" in t.name or t.family in ("dynamics", "ode"))


def _state_space(task: Any) -> tuple[Any, Callable[..., Any] | None] | None:
    """The task's rollout helper (scaling, held-out orbit, learned field in state units) and its
    module's analytic ``vector_field``, when the task provides them; else ``None``."""
    roll = task.final_metrics
    needed = ("learned_field", "in_mean", "in_std", "truth", "times")
    if roll is None or not all(hasattr(roll, name) for name in needed):
        return None
    module = sys.modules.get(type(roll).__module__)
    return roll, getattr(module, "vector_field", None)


def _rk4_rollout(
    field: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    times: np.ndarray,
    limit: float,
    substeps: int = 5,
) -> np.ndarray:
    """Integrate ``ds/dt = field(s)`` with fixed-step RK4 at ``times``; stops where the state
    leaves ``|s| <= limit`` or stops being finite (a learned field can blow up)."""
    states = [np.asarray(start, dtype=float)]
    s = states[0].copy()
    for t0, t1 in itertools.pairwise(times):
        h = (t1 - t0) / substeps
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(substeps):
                k1 = field(s)
                k2 = field(s + h / 2 * k1)
                k3 = field(s + h / 2 * k2)
                k4 = field(s + h * k3)
                s = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.isfinite(s)) or np.max(np.abs(s)) > limit:
            break
        states.append(s.copy())
    return np.array(states)


def phase_portrait_figure(group: TaskGroup, colours: Palette, path: Path) -> Path | None:
    """Phase portraits of a learned 2-D vector field (Lotka-Volterra) against the truth.

    In state units when the task exposes its scaling and held-out orbit (the Lotka-Volterra
    task does): the first panel is the analytic field's streamlines with the held-out orbit
    (dashed); each solver's panel shows the streamlines of the network of its median run (final
    training MSE), the true held-out orbit (dashed) and the network's own orbit from the same
    starting state (solid, integrated with RK4), which is what the rollout error measures.
    Otherwise the panels use the task's own (scaled) units and the training derivatives.
    """
    task = group.task_obj
    if task is None or not is_vector_field(group):
        return None
    labels = [lab for lab in group.runs if _stored(group, lab)]
    if not labels:
        return None
    helpers = _state_space(task)
    if helpers is not None:
        roll, truth_field = helpers
        states = task.x_train * roll.in_std + roll.in_mean
        orbit = np.asarray(roll.truth)
    else:
        roll, truth_field = None, None
        states, orbit = task.x_train, None
    pad = 0.12 * (states.max(axis=0) - states.min(axis=0))
    lo, hi = states.min(axis=0) - pad, states.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 40), np.linspace(lo[1], hi[1], 40))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    step = max(1, len(states) // 200)
    limit = 10.0 * float(np.max(np.abs(states)))
    with _theme("ticks"):
        fig, axes = _panel_grid(len(labels) + 1, width=3.8, height=3.7)
        ax = axes[0]
        if truth_field is not None:
            field = truth_field(pts)
            ax.streamplot(
                gx,
                gy,
                field[:, 0].reshape(gx.shape),
                field[:, 1].reshape(gx.shape),
                color="0.6",
                density=0.9,
                linewidth=0.7,
                arrowsize=0.8,
            )
            title = "truth: analytic field"
        else:
            ax.quiver(
                states[::step, 0],
                states[::step, 1],
                task.y_train[::step, 0],
                task.y_train[::step, 1],
                color="0.3",
                angles="xy",
                width=0.004,
            )
            title = "truth: training derivatives"
        if orbit is not None:
            ax.plot(orbit[:, 0], orbit[:, 1], color="black", dashes=(5, 3), lw=1.5)
            title += "\nblack dashed: held-out orbit"
        ax.scatter(states[::step, 0], states[::step, 1], s=3, color="0.55", zorder=3)
        ax.set_title(title, fontsize=9)
        for ax, lab in zip(axes[1:], labels, strict=False):
            runs = _drawable(group, lab)
            extra = ""
            if runs:
                median = _median_run(runs, "mse")
                params = np.asarray(median.final_params)

                def learned(s: np.ndarray, p: np.ndarray = params) -> np.ndarray:
                    if roll is not None:
                        out: np.ndarray = roll.learned_field(task.model, p, s)
                        return out
                    return forward(task.model, p, s)

                with np.errstate(over="ignore", invalid="ignore"):
                    field = learned(pts)
                u, v = field[:, 0].reshape(gx.shape), field[:, 1].reshape(gx.shape)
                if np.all(np.isfinite(u)) and np.all(np.isfinite(v)):
                    ax.streamplot(
                        gx, gy, u, v, color="0.6", density=0.9, linewidth=0.7, arrowsize=0.8
                    )
                if orbit is not None and roll is not None:
                    ax.plot(orbit[:, 0], orbit[:, 1], color="black", dashes=(5, 3), lw=1.3)

                    def one(s: np.ndarray, f: Callable[..., np.ndarray] = learned) -> np.ndarray:
                        return f(s[None, :])[0]

                    path_ = _rk4_rollout(one, orbit[0], np.asarray(roll.times), limit)
                    ax.plot(path_[:, 0], path_[:, 1], color=colours[lab], lw=2.4, zorder=5)
                    ax.plot(*orbit[0], "o", color="black", ms=4, zorder=4)
                    extra = f"seed {median.seed}: learned field, its orbit (colour)"
                else:
                    extra = f"seed {median.seed} (median MSE)"
            else:
                _nothing_to_draw(ax)
            ax.scatter(states[::step, 0], states[::step, 1], s=3, color="0.6", zorder=3)
            ax.set_title(_panel_title(group, lab, runs, extra), fontsize=9)
        names = (
            ("prey $x$", "predator $y$")
            if roll is not None
            else ("$x_1$ (scaled)", "$x_2$ (scaled)")
        )
        for ax in axes[: len(labels) + 1]:
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
        _left_labels_only(axes, len(labels) + 1)
        _suptitle(
            fig, f"{group.name}: phase portrait of the learned vector field against the truth"
        )
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
    """ERT (evaluations, seconds) against one knob with bootstrap intervals, and success counts.

    A solver with no success at a knob value has an infinite ERT: its line stops there and a
    triangle in the solver's own lane along the top edge marks the miss. The right panel gives
    the success counts ``k/n`` per solver and knob value.
    """
    xs = [knob_numeric(m.options.get(knob)) for m in members]
    categorical = any(x is None for x in xs)
    positions = list(range(len(members))) if categorical else [float(x) for x in xs]  # type: ignore[arg-type]
    ticks = [_fmt_knob(m.options.get(knob)) for m in members]
    with _theme():
        fig, axes = plt.subplots(
            1, 3, figsize=(15, 4.2), gridspec_kw={"width_ratios": [1.0, 1.0, 0.9]}
        )
        drawn = False
        handles: list[Any] = []
        extent: dict[str, list[float]] = {axis: [] for axis in _ERT_AXES}
        for k, lab in enumerate(labels):
            style = {
                "color": colours[lab],
                "ls": linestyle(lab, colours),
                "marker": _MARKERS[k % len(_MARKERS)],
            }
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
                extent[axis] += [v for v in (*ys, *los, *his) if math.isfinite(v) and v > 0]
                err_lo = np.where(np.isfinite(los), y - np.array(los), 0)
                err_hi = np.where(np.isfinite(his), np.array(his) - y, 0)
                line = ax.errorbar(
                    positions,
                    y,
                    yerr=[np.nan_to_num(err_lo), np.nan_to_num(err_hi)],
                    ms=5,
                    lw=1.8,
                    capsize=3,
                    **style,
                )
                if miss:
                    ax.plot(
                        miss,
                        [0.96 - 0.04 * k] * len(miss),
                        "v",
                        color=colours[lab],
                        ms=6,
                        transform=ax.get_xaxis_transform(),
                        clip_on=False,
                    )
                if axis == "evaluations":
                    handles.append((line, _short(lab, 40)))
        if not drawn:
            plt.close(fig)
            return None
        _success_grid(axes[2], members, labels, ticks)
        for ax, axis in zip(axes[:2], _ERT_AXES, strict=True):
            ax.set_yscale("log")
            ax.set_ylabel(f"ERT, {AXIS_TITLES[axis]}")
            ax.set_xlabel(knob)
            spread = not categorical and min(positions) > 0 and max(positions) / min(positions) >= 8
            if spread:  # widths, data sizes, bit counts growing geometrically
                ax.set_xscale("log", base=2)
                ax.minorticks_off()
            if categorical or len(positions) <= 12:
                ax.set_xticks(positions, ticks)
            if extent[axis]:
                # The data take the lower two thirds; the top third holds one lane of
                # never-reached markers per solver, clear of the curves.
                low, high = np.log10(min(extent[axis])), np.log10(max(extent[axis]))
                span = max(high - low, 1.0)
                ax.set_ylim(10 ** (low - 0.1 * span), 10 ** (high + 0.6 * span))
        _suptitle(
            fig,
            f"{task}: cost to target against {knob} (ERT with 95% bootstrap interval; "
            "▼ = never reached at that value)",
            y=1.0,
        )
        _legend_below(fig, [h for h, _ in handles], [t for _, t in handles])
        fig.subplots_adjust(bottom=0.25, wspace=0.45)
        axes[2].set_xlabel(knob)
        return _save(fig, path)


_MARKERS = ("o", "s", "D", "^", "P", "X", "v", "*")


def _fmt_knob(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def _success_grid(
    ax: Any, members: Sequence[TaskGroup], labels: Sequence[str], ticks: Sequence[str]
) -> None:
    """Success counts as a solver x knob-value heatmap (lines would hide each other at 0 and 1)."""
    rates = np.full((len(labels), len(members)), math.nan)
    notes = np.full((len(labels), len(members)), "", dtype=object)
    for i, lab in enumerate(labels):
        for j, m in enumerate(members):
            runs = m.attempted(lab)
            if runs:
                ok = sum(r.success for r in runs)
                rates[i, j] = ok / len(runs)
                notes[i, j] = f"{ok}/{len(runs)}"
    sns.heatmap(
        rates,
        ax=ax,
        vmin=0,
        vmax=1,
        cmap="RdYlGn",
        annot=notes,
        fmt="",
        cbar=False,
        linewidths=1,
        linecolor="white",
        xticklabels=list(ticks),
        yticklabels=[_short(lab, 20) for lab in labels],
        annot_kws={"fontsize": 8 if len(members) > 6 else 9},
    )
    ax.set_facecolor("#d9d9d9")
    ax.set_title("runs reaching the target", fontsize=10)
    ax.set_xlabel(ax.get_xlabel() or "")
    plt.setp(ax.get_yticklabels(), rotation=0)
