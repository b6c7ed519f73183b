"""Scaling figures, for the reader asking how cost grows with a task's knob: ERT against one
knob with bootstrap intervals, and the success counts per knob value; the same on log-log axes
per paradigm with the fitted power laws, and the modeled wall time against the number of
workers (both drawn for :mod:`benchmarks.report.scaling`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

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


# --------------------------------------------------------------------------------------------
# Log-log sweeps per paradigm, and the parallel-workers view (benchmarks/report/scaling.py)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SweepCurve:
    """One solver's numbers along a sweep, one entry per knob value (NaN where it did not run).

    Plain numbers, computed by :mod:`benchmarks.report.scaling`, so the figure and the
    section's tables show the same values.

    Attributes:
        label: the solver label.
        ert: per cost axis (``evaluations``, ``seconds``), the ERT at each knob value (``inf``:
            attempted, never reached the target).
        low, high: the 95% bootstrap interval of each ERT.
        successes, runs: ``k`` and ``n`` of the attempted runs at each knob value (``runs`` 0:
            not run there, e.g. refused as not applicable).
        fit: per cost axis, the fitted line ``(b, a, x_low, x_high)``: ``log10 ERT = a + b
            log10 x`` over the fitted range, or ``None`` where there is no fit.
    """

    label: str
    ert: dict[str, list[float]]
    low: dict[str, list[float]]
    high: dict[str, list[float]]
    successes: list[int]
    runs: list[int]
    fit: dict[str, tuple[float, float, float, float] | None]


def sweep_figure(
    title: str,
    x_title: str,
    xs: Sequence[float],
    ticks: Sequence[str],
    rows: Sequence[tuple[str, Sequence[SweepCurve]]],
    colours: Palette,
    path: Path,
) -> Path | None:
    """One sweep on log-log axes, one row per paradigm: ERT in evaluations and in seconds with
    bootstrap intervals and the fitted power law (dotted, over the values it was fitted on),
    and the success counts beside them.

    A knob value where a solver ran and never reached the target is a ``▼`` in the solver's
    lane at the top of the panel (ERT = ∞), as in :func:`scaling_figure`.
    """
    rows = [(p, curves) for p, curves in rows if curves]
    if not rows or not xs:
        return None
    axes_names: tuple[CostAxis, CostAxis] = ("evaluations", "seconds")
    with theme():
        fig, axes = plt.subplots(
            len(rows), 3, figsize=(15, 3.6 * len(rows) + 0.6), squeeze=False,
            gridspec_kw={"width_ratios": [1.0, 1.0, 0.9]},
        )
        extent: dict[str, list[float]] = {a: [] for a in axes_names}
        legends: list[list[tuple[Any, str]]] = []
        for row, (paradigm, curves) in zip(axes, rows, strict=True):
            handles: list[Any] = []
            for k, curve in enumerate(curves):
                style = {"color": colours[curve.label], "marker": marker(curve.label, colours)}
                for ax, axis in zip(row[:2], axes_names, strict=True):
                    line = _draw_curve(ax, xs, curve, axis, k, style)
                    extent[axis] += [max(v, COST_FLOOR[axis]) for v in curve.ert[axis]
                                     if math.isfinite(v)]
                    if axis == "evaluations":
                        handles.append((line, short(curve.label, 28)))
            for ax, axis in zip(row[:2], axes_names, strict=True):
                ax.set_xscale("log")
                ax.set_yscale("log")
                # Explicit limits: a row where every run missed draws no point to autoscale on.
                ax.set_xlim(min(xs) / 1.4, max(xs) * 1.4)
                ax.set_xticks(list(xs), list(ticks))
                ax.minorticks_off()
                ax.set_xlabel(x_title)
                ax.set_ylabel("ERT, evaluations" if axis == "evaluations"
                              else "ERT, solver seconds")
                ax.set_title(f"{paradigm}: cost to target", fontsize=10)
            legends.append(handles)
        for axis, col in zip(axes_names, (0, 1), strict=True):
            low, high = ((np.log10(min(extent[axis])), np.log10(max(extent[axis])))
                         if extent[axis] else (0.0, 1.0))
            span = max(high - low, 1.0)
            for row in axes:
                # The data take the lower part; the top holds the never-reached lanes.
                row[col].set_ylim(10 ** (low - 0.1 * span), 10 ** (high + 0.55 * span))
        # The heatmaps last: seaborn lays out its tick labels by drawing the figure, which
        # needs every log axis to have its limits.
        for row, (_, curves), handles in zip(axes, rows, legends, strict=True):
            _success_counts(row[2], curves, ticks)
            row[2].set_xlabel(x_title)
            row[2].legend([h for h, _ in handles], [t for _, t in handles], loc="upper left",
                          bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=8)
        suptitle(fig, f"{title}: ERT with 95% bootstrap interval, fitted power law dotted "
                      "(▼ = never reached at that value)", y=1.0)
        fig.tight_layout()
        return save(fig, path)


def _draw_curve(ax: Any, xs: Sequence[float], curve: SweepCurve, axis: str, lane: int,
                style: dict[str, Any]) -> Any:
    """One solver's ERT along the knob with its interval, fitted line and never-reached
    markers (``lane``: its row of markers at the top); returns the line for the legend."""
    floor = COST_FLOOR[axis]
    y = np.array(curve.ert[axis], dtype=float)
    ok = np.isfinite(y)
    drawn = np.where(ok, np.maximum(y, floor), np.nan)
    lo = np.maximum(np.array(curve.low[axis], dtype=float), floor)
    hi = np.maximum(np.array(curve.high[axis], dtype=float), floor)
    err = [np.nan_to_num(np.where(ok & np.isfinite(lo), drawn - lo, 0.0)),
           np.nan_to_num(np.where(ok & np.isfinite(hi), hi - drawn, 0.0))]
    line = ax.errorbar(list(xs), drawn, yerr=err, ms=5, lw=1.6, capsize=3, **style)
    fit = curve.fit.get(axis)
    if fit is not None:
        b, a, x_lo, x_hi = fit
        grid = np.geomspace(x_lo, x_hi, 20)
        ax.plot(grid, 10 ** (a + b * np.log10(grid)), color=style["color"], ls=":", lw=2.2,
                alpha=0.8)
    miss = [x for x, v, n in zip(xs, y, curve.runs, strict=True) if n and not math.isfinite(v)]
    if miss:
        ax.plot(miss, [0.96 - 0.05 * lane] * len(miss), "v", color=style["color"], ms=6,
                transform=ax.get_xaxis_transform(), clip_on=False)
    return line


def _success_counts(ax: Any, curves: Sequence[SweepCurve], ticks: Sequence[str]) -> None:
    """``k/n`` per solver and knob value as a heatmap (grey: not run there)."""
    rates = pd.DataFrame(
        [[s / n if n else math.nan for s, n in zip(c.successes, c.runs, strict=True)]
         for c in curves],
        index=[short(c.label, 18) for c in curves], columns=list(ticks))
    notes = pd.DataFrame(
        [[f"{s}/{n}" if n else "" for s, n in zip(c.successes, c.runs, strict=True)]
         for c in curves],
        index=rates.index, columns=rates.columns)
    success_heatmap_axes(ax, rates, notes, cbar=False,
                         annot_kws={"fontsize": 8 if len(ticks) > 5 else 9})
    ax.set_title("runs reaching the target", fontsize=10)
    plt.setp(ax.get_yticklabels(), rotation=0)


def workers_figure(
    title: str,
    workers: Sequence[int],
    panels: Sequence[tuple[str, dict[str, list[float]]]],
    styles: dict[str, str],
    colours: Palette,
    path: Path,
) -> Path | None:
    """Modeled wall time to target against the number of workers, one panel per knob value.

    ``panels``: ``(panel title, {label: modeled seconds at each W})``; ``styles``: each label's
    line style (its paradigm's: evolution solid, gradients dashed, closed form dotted).
    """
    panels = [(t, curves) for t, curves in panels if curves]
    if not panels:
        return None
    cols = min(len(panels), 3)
    n_rows = math.ceil(len(panels) / cols)
    with theme():
        fig, axes = plt.subplots(n_rows, cols, figsize=(4.8 * cols, 3.6 * n_rows),
                                 squeeze=False, layout="constrained")
        shown: dict[str, Any] = {}
        for ax, (panel, curves) in zip(axes.flat, panels, strict=False):
            for label, seconds in curves.items():
                (line,) = ax.plot(list(workers), seconds, color=colours[label],
                                  ls=styles.get(label, "-"), marker=marker(label, colours),
                                  ms=5, lw=1.6)
                shown.setdefault(label, line)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(list(workers), [f"{w:,}" for w in workers])
            ax.minorticks_off()
            ax.set_xlabel("workers W")
            ax.set_title(short(panel, 48), fontsize=10)
            ax.margins(y=0.15)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        for row in axes:
            row[0].set_ylabel("modeled seconds to target")
        fig.suptitle(title)
        fig.legend(list(shown.values()), [short(lab, 30) for lab in shown],
                   loc="outside lower center", ncol=min(len(shown), 5), frameon=False)
        return save(fig, path)
