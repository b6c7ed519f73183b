"""Scaling figures, for the reader asking how cost grows with a task's knob: ERT against one
knob with bootstrap intervals, and the success counts per knob value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from benchmarks.report.analysis import (
    AXIS_TITLES,
    COST_FLOOR,
    CostAxis,
    TaskGroup,
    bootstrap_seed,
    ert_inputs,
    knob_numeric,
    success_grid,
)
from benchmarks.report.figures.common import (
    Palette,
    legend_below,
    linestyle,
    marker,
    save,
    short,
    success_heatmap_axes,
    suptitle,
    theme,
)
from benchmarks.report.stats import ert, ert_bootstrap

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
    with theme():
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
                "marker": marker(lab, colours),
            }
            for ax, axis in zip(axes[:2], _ERT_AXES, strict=True):
                ys, los, his, miss = [], [], [], []
                for m, pos in zip(members, positions, strict=True):
                    rows = m.tried(lab)
                    if rows.empty:
                        ys.append(math.nan)
                        los.append(math.nan)
                        his.append(math.nan)
                        continue
                    costs, ok = ert_inputs(rows, axis)
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
                    handles.append((line, short(lab, 40)))
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
        suptitle(
            fig,
            f"{task}: cost to target against {knob} (ERT with 95% bootstrap interval; "
            "▼ = never reached at that value)",
            y=1.0,
        )
        fig.subplots_adjust(bottom=0.25, wspace=0.45)
        axes[2].set_xlabel(knob)
        legend_below(fig, [h for h, _ in handles], [t for _, t in handles])
        return save(fig, path)


def scaling_summary_figure(
    series: Sequence[tuple[str, str, Sequence[TaskGroup], str]],
    labels: Sequence[str],
    colours: Palette,
    path: Path,
) -> Path | None:
    """All scaling series at a glance: ERT in evaluations against each knob, one panel each.

    ``series``: ``(task, knob, members, fixed options)`` as the scaling section lists them. A
    knob value where a solver never reached the target is a ``▼`` on the panel's top edge, as in
    :func:`scaling_figure`, which gives each series in detail (seconds, intervals, success).
    """
    if not series:
        return None
    cols = min(len(series), 3)
    rows = math.ceil(len(series) / cols)
    axis: CostAxis = "evaluations"
    with theme():
        fig, axes = plt.subplots(rows, cols, figsize=(4.8 * cols, 3.6 * rows), squeeze=False,
                                 layout="constrained")
        shown: dict[str, Any] = {}
        for ax, (task, knob, members, fixed) in zip(axes.flat, series, strict=False):
            xs = [knob_numeric(m.options.get(knob)) for m in members]
            categorical = any(x is None for x in xs)
            positions = (list(range(len(members))) if categorical
                         else [float(x) for x in xs])  # type: ignore[arg-type]
            for k, lab in enumerate(labels):
                ys, miss = [], []
                for m, pos in zip(members, positions, strict=True):
                    rows = m.tried(lab)
                    e = ert(*ert_inputs(rows, axis)) if len(rows) else math.nan
                    ys.append(max(e, COST_FLOOR[axis]) if math.isfinite(e) else math.nan)
                    if len(rows) and not math.isfinite(e):
                        miss.append(pos)
                if all(math.isnan(y) for y in ys) and not miss:
                    continue
                (line,) = ax.plot(positions, ys, color=colours[lab], ls=linestyle(lab, colours),
                                  marker=marker(lab, colours), ms=5, lw=1.6)
                shown.setdefault(lab, line)
                if miss:
                    ax.plot(miss, [0.97 - 0.035 * k] * len(miss), "v", color=colours[lab],
                            ms=5, transform=ax.get_xaxis_transform(), clip_on=False)
            ax.set_yscale("log")
            if not categorical and min(positions) > 0 and max(positions) / min(positions) >= 8:
                ax.set_xscale("log", base=2)
                ax.minorticks_off()
            if categorical or len(positions) <= 12:
                ax.set_xticks(positions, [_fmt_knob(m.options.get(knob)) for m in members])
            ax.set_xlabel(knob)
            ax.set_title(short(f"{task}" + (f" ({fixed})" if fixed else ""), 40), fontsize=10)
            ax.margins(y=0.25)
        for ax in list(axes.flat)[len(series):]:
            ax.set_visible(False)
        for row in axes:
            row[0].set_ylabel(f"ERT, {axis} (log)")
        fig.suptitle("Scaling at a glance: ERT against each knob (▼ = never reached)")
        fig.legend(list(shown.values()), [short(lab, 30) for lab in shown],
                   loc="outside lower center", ncol=min(len(shown), 5), frameon=False)
        return save(fig, path)


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
    rates, notes = success_grid(members, labels)
    success_heatmap_axes(ax, rates, notes, cbar=False, xticklabels=list(ticks),
                         yticklabels=[short(lab, 20) for lab in labels],
                         annot_kws={"fontsize": 8 if len(members) > 6 else 9})
    ax.set_title("runs reaching the target", fontsize=10)
    ax.set_xlabel(ax.get_xlabel() or "")
    plt.setp(ax.get_yticklabels(), rotation=0)
