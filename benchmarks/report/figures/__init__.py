"""The report's pictures, split by audience, and the registry of per-task figures.

- :mod:`~benchmarks.report.figures.common`: theme, solver palette, PNG writer, panel helpers.
- :mod:`~benchmarks.report.figures.cross_task`: the reader comparing solvers over all tasks
  (success heatmap, runtime ECDFs, performance profiles, paired wins); each is drawn by the
  report section that explains it.
- :mod:`~benchmarks.report.figures.outcomes` and :mod:`~benchmarks.report.figures.per_task`:
  the reader of one task's section (reliability-against-cost map, final metric by solver,
  the task's runtime ECDF; convergence, decision boundary, learned function or surface, phase
  portrait); drawn through :data:`TASK_FIGURES` below.
- :mod:`~benchmarks.report.figures.scaling`: cost against a task's knob.

To add a per-task figure: write ``draw(group, colours, path) -> Path | None`` in a module of
this package and add one :class:`TaskFigure` line to :data:`TASK_FIGURES`. The report draws
every entry whose ``applies_to(group)`` holds, in this order, into ``<name>-<task slug>.png``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report.analysis import TaskGroup
from benchmarks.report.figures.common import Palette, palette
from benchmarks.report.figures.cross_task import (
    performance_profile_figure,
    runtime_ecdf_figure,
    success_heatmap,
    win_matrix_figure,
)
from benchmarks.report.figures.fixed_budget import (
    continued_past_target,
    control_return_figure,
    quality_curves_figure,
)
from benchmarks.report.figures.outcomes import (
    final_metric_figure,
    task_ecdf_figure,
    tradeoff_figure,
)
from benchmarks.report.figures.per_task import (
    convergence_figure,
    decision_boundary_figure,
    function_figure,
    has_dynamics,
    is_1d_regression,
    is_2d_classification,
    is_2d_regression,
    phase_portrait_figure,
    surface_figure,
)
from benchmarks.report.figures.scaling import scaling_figure, scaling_summary_figure


@dataclass(frozen=True, kw_only=True)
class TaskFigure:
    """One figure drawn for every task it applies to.

    Attributes:
        name: the file prefix, ``<name>-<task slug>.png``; unique in the registry.
        applies_to: whether the task of this group gets the figure (from the task's declared
            shape and capabilities, never its name).
        draw: writes the PNG for ``(group, colours, path)``; ``None`` when the records hold
            nothing to draw (e.g. no stored parameters).
        caption: the figure's alt text and caption in the report.
    """

    name: str
    applies_to: Callable[[TaskGroup], bool]
    draw: Callable[[TaskGroup, Palette, Path], Path | None]
    caption: Callable[[TaskGroup], str]


def _always(group: TaskGroup) -> bool:
    del group
    return True


def _convergence_caption(group: TaskGroup) -> str:
    metric = group.target_metric
    return (
        f"{group.name}: training {'MSE' if metric == 'mse' else metric} against iterations, "
        "evaluations and seconds (median over seeds, interquartile band; dotted: target)"
    )


def _final_split(group: TaskGroup) -> str:
    task = group.task_obj
    return "test" if task is None or task.has_split else "training"


#: Per-task figures, in the order a task's section shows them.
TASK_FIGURES: tuple[TaskFigure, ...] = (
    TaskFigure(
        name="tradeoff",
        applies_to=_always,
        draw=tradeoff_figure,
        caption=lambda g: (
            f"{g.name}: success rate against expected running time in evaluations, one point "
            "per solver and arm with 95% intervals (top left: reliable and cheap; hollow: "
            "defaults arm)"
        ),
    ),
    TaskFigure(
        name="final-metric",
        applies_to=_always,
        draw=final_metric_figure,
        caption=lambda g: (
            f"{g.name}: final {_final_split(g)} metric of every run, by solver and arm "
            "(dots: runs; box: quartiles)"
        ),
    ),
    TaskFigure(
        name="task-ecdf",
        applies_to=_always,
        draw=task_ecdf_figure,
        caption=lambda g: (
            f"{g.name}: share of runs that reached the target within a cost (runtime ECDF of "
            "this task alone; the right end is the success rate)"
        ),
    ),
    TaskFigure(
        name="convergence",
        applies_to=_always,
        draw=convergence_figure,
        caption=_convergence_caption,
    ),
    TaskFigure(
        name="boundary",
        applies_to=is_2d_classification,
        draw=decision_boundary_figure,
        caption=lambda g: (
            f"{g.name}: decision regions of the trained networks, one panel per solver"
        ),
    ),
    TaskFigure(
        name="function",
        applies_to=is_1d_regression,
        draw=function_figure,
        caption=lambda g: f"{g.name}: learned function against the truth, one panel per solver",
    ),
    TaskFigure(
        name="surface",
        applies_to=is_2d_regression,
        draw=surface_figure,
        caption=lambda g: f"{g.name}: learned surface against the truth, one panel per solver",
    ),
    TaskFigure(
        name="phase",
        applies_to=has_dynamics,
        draw=phase_portrait_figure,
        caption=lambda g: (
            f"{g.name}: phase portrait of the learned vector field against the truth"
        ),
    ),
    TaskFigure(
        name="quality",
        applies_to=continued_past_target,
        draw=quality_curves_figure,
        caption=lambda g: (
            f"{g.name}: held-out quality against evaluations and seconds, median over seeds "
            "with interquartile band (the fixed-budget view; solid: tuned, dashed: defaults)"
        ),
    ),
    TaskFigure(
        name="control-return",
        applies_to=lambda g: g.kind == "control",
        draw=control_return_figure,
        caption=lambda g: (
            f"{g.name}: mean evaluation return against training environment steps, linear "
            "axis, ±1 standard error over seeds, dotted: the target (the fixed-budget view of "
            "control)"
        ),
    ),
)

__all__ = [
    "TASK_FIGURES",
    "Palette",
    "TaskFigure",
    "palette",
    "performance_profile_figure",
    "runtime_ecdf_figure",
    "scaling_figure",
    "scaling_summary_figure",
    "success_heatmap",
    "win_matrix_figure",
]
