"""The report's protocol sections: arms, budgets, censoring, tuning, and the fixed-budget view.

What makes the comparison fair is stated next to the numbers it qualifies:

* each solver runs in two *arms*, ``defaults`` (library or paper values) and ``tuned`` (chosen
  by the tuning study on tuning seeds, disjoint from the evaluation seeds), so a reader sees how
  much of a gap is the method and how much its tuning;
* budgets are in evaluations; a run stopped by the seconds safety net is *censored by time*:
  it counts neither as a success nor as a failure, and is shown apart everywhere;
* the runs continue to the end of their budget, so the same runs answer "how long to reach the
  target?" (fixed target) and "how good after this budget?" (fixed budget); real data sets add
  the test metric of the best-validation checkpoint, the only model selection a user could do.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.budget import StopReason
from benchmarks.records import RunRecord
from benchmarks.report.analysis import TaskGroup
from benchmarks.report.stats import median_iqr

#: Stop reasons that mean the machine's clock, not the algorithm, ended the run.
CENSORING = frozenset({StopReason.MAX_SECONDS.value, StopReason.TIMEOUT.value})
#: Quantile band of the fixed-budget curves.
BAND = (0.25, 0.75)
#: Points on the common x grid of the fixed-budget curves.
CURVE_POINTS = 200

Draw = Callable[[str, Callable[[Path], Path | None], str], list[str]]


def censored(record: RunRecord) -> bool:
    """Whether the seconds safety net (or the engine's wall-clock limit) ended the run before
    the target: such a run says nothing about the algorithm and is reported apart."""
    return record.stop_reason in CENSORING and not record.success


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "∞"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


# --------------------------------------------------------------------------------------------
# Protocol: arms, seeds, budgets, censoring
# --------------------------------------------------------------------------------------------


def protocol_section(records: Sequence[RunRecord], tuned_doc: dict[str, Any]) -> list[str]:
    """How the runs were made fair: arms, seeds, budgets, the safety net and what it censored."""
    arms = Counter(r.arm for r in records)
    seeds = sorted({r.seed for r in records})
    lines = [
        "## Protocol",
        "",
        "- **Arms.** `defaults`: every solver with its documented defaults (library or paper "
        "values; each solver's docstring states the origin of each). `[tuned]`: the "
        "configuration the tuning study chose for that task. "
        + ", ".join(f"{arm}: {n} runs" for arm, n in sorted(arms.items()))
        + ".",
        f"- **Evaluation seeds:** {_seed_text(seeds)}. Tasks that draw data (real data "
        "splits, Playground samples, sampled function points) draw them from the seed, so "
        "the spread of a test metric includes the split's; every solver with seed *s* sees the "
        "same data and, if it starts from one point, the same initial weights.",
    ]
    study = tuned_doc.get("study", {})
    if study:
        tuning_seeds = study.get("tuning_seeds", [])
        overlap = set(tuning_seeds) & set(seeds)
        lines.append(
            f"- **Tuning:** {study.get('trials')} Sobol points of each solver's search space "
            f"per task, each run on tuning seeds {_seed_text(tuning_seeds)}"
            + (" (disjoint from the evaluation seeds)" if not overlap else
               f" (**overlapping the evaluation seeds {sorted(overlap)}**)")
            + f"; objective: {study.get('objective', '?')}; ties by "
            f"{study.get('ties', '?')}. The same trial count, seeds and objective for every "
            "solver; the cost of tuning is in the tuning section."
        )
    else:
        lines.append("- **Tuning:** no tuned configurations were given, so there is no tuned "
                     "arm in these records.")
    budgets: dict[str, str] = {}
    for r in records:
        budgets.setdefault(r.task + _options_text(r), _budget_text(r.budget))
    lines.append(
        "- **Budgets** are in evaluations (single-example forward passes; an environment step "
        "on control tasks), the same for every solver of a task, so a success never depends on "
        "the machine's speed. Per task: "
        + "; ".join(f"{task}: {text}" for task, text in budgets.items())
        + "."
    )
    n_censored = sum(censored(r) for r in records)
    lines.append(
        "- **Safety net.** A solver-clock limit in seconds only guards against a run far slower "
        "than planned. A run it stops is *censored by time*: not a success, not a failure; it "
        "is left out of success rates and ERT and counted apart. "
        + (f"**{n_censored} run(s) were censored by time.**" if n_censored else
           "No run was censored by time.")
    )
    if any(not r.budget.get("stop_at_target", True) for r in records):
        lines.append(
            "- **Two views of the same runs.** Runs continue past the target to the end of "
            "their budget. *Fixed target* (how much to get there?): the harness records the "
            "cost at the first report that meets the target, exactly. *Fixed budget* (how good "
            "after this much?): the metrics at the end of the budget, the curves of held-out "
            "quality against cost, and on real data the test metric of the best-validation "
            "checkpoint (validation rows are carved from the training split; the test split "
            "never chooses anything)."
        )
    return [*lines, ""]


def _seed_text(seeds: Sequence[int]) -> str:
    seeds = sorted(seeds)
    if not seeds:
        return "none"
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]} ({len(seeds)})"
    return ", ".join(map(str, seeds))


def _options_text(record: RunRecord) -> str:
    return ""


def _budget_text(budget: dict[str, Any]) -> str:
    parts = []
    if budget.get("max_evaluations") is not None:
        parts.append(f"{budget['max_evaluations']:,} evaluations")
    if budget.get("max_iterations") is not None:
        parts.append(f"{budget['max_iterations']:,} iterations")
    if budget.get("max_seconds") is not None:
        parts.append(f"{budget['max_seconds']:g} s safety net")
    return ", ".join(parts) or "none"


# --------------------------------------------------------------------------------------------
# Tuning: choices, cost, sensitivity
# --------------------------------------------------------------------------------------------


def tuning_section(tuned_doc: dict[str, Any], draw: Draw) -> list[str]:
    """The tuning study's choices, its cost per solver, and a sensitivity figure."""
    details: dict[str, dict[str, Any]] = tuned_doc.get("details", {})
    if not details:
        return []
    study = tuned_doc.get("study", {})
    lines = [
        "## Tuning",
        "",
        f"The tuning study (`python benchmarks/run_all.py --suite tuning`; records "
        f"`raw/tuning.jsonl`, choices `tuned.json`) tried {study.get('trials', '?')} "
        "configurations per solver and task on the tuning seeds and kept the one with the "
        "lowest ERT in evaluations (misses counted; a configuration that never reached the "
        "target scores ∞). *ERT* below is on the tuning seeds, with its trial's successes; "
        "*cost* is what the whole study spent on that solver and task.",
        "",
        "| task | solver | chosen configuration | ERT on tuning seeds | successes | trials "
        "reaching the target | tuning cost: evaluations | tuning cost: seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    totals: dict[str, list[float]] = {}
    for task, by_solver in details.items():
        for solver, d in by_solver.items():
            trials = d.get("trials", [])
            chosen = next((t for t in trials if t["trial"] == d["chosen_trial"]), None)
            config = ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}"
                               for k, v in (chosen or {}).get("config", {}).items())
            ok = f"{chosen['successes']}/{chosen['runs']}" if chosen else "—"
            reaching = sum(1 for t in trials if t.get("successes"))
            lines.append(
                f"| {task} | {solver} | {config or '—'} | {_fmt(d.get('chosen_ert'))} | {ok} | "
                f"{reaching}/{len(trials)} | {d.get('tuning_evaluations', 0):,.0f} | "
                f"{d.get('tuning_seconds', 0):.1f} |"
            )
            tot = totals.setdefault(solver, [0.0, 0.0])
            tot[0] += float(d.get("tuning_evaluations", 0))
            tot[1] += float(d.get("tuning_seconds", 0))
    lines += [
        "",
        "Tuning cost per solver, all tasks: "
        + "; ".join(f"{s}: {e:,.0f} evaluations, {sec:.0f} s" for s, (e, sec) in totals.items())
        + ".",
        "",
    ]
    lines += draw(
        "tuning-sensitivity",
        lambda p: sensitivity_figure(details, p),
        "Tuning sensitivity: each trial's ERT on the tuning seeds, per task and solver; the "
        "chosen trial is ringed; misses (no success) on the top band",
    )
    return lines


def sensitivity_figure(details: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """Each trial's ERT per (task, solver): how much the choice of hyperparameters matters.

    One panel per task; solvers along x; each trial a dot at its ERT (log scale), misses on a
    band above the axis, the chosen trial ringed. A solver whose dots spread over decades is
    sensitive to tuning; one with most dots in the miss band is hard to tune in this space.
    """
    import matplotlib.pyplot as plt

    from benchmarks.report import figures as fig

    tasks = list(details)
    solvers = sorted({s for by in details.values() for s in by},
                     key=lambda s: _solver_rank(s))
    if not tasks or not solvers:
        return None
    colours = fig.palette(solvers)
    cols = min(3, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    rng = np.random.default_rng(0)
    with fig._theme():
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
                for t in d["trials"]:
                    y = top if t["ert"] is None else max(t["ert"], bottom)
                    x = i + rng.uniform(-0.18, 0.18)
                    ax.scatter(x, y, s=18, color=colours[solver], alpha=0.8, lw=0)
                    if t["trial"] == d["chosen_trial"]:
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
        fig._suptitle(f, "Tuning sensitivity: ERT of every trial (ringed: chosen; grey band: "
                         "never reached the target)", y=1.01)
        f.tight_layout()
        return fig._save(f, path)


def _solver_rank(name: str) -> int:
    from solvers import SOLVERS

    names = list(SOLVERS)
    return names.index(name) if name in names else len(names)


# --------------------------------------------------------------------------------------------
# Fixed-budget view
# --------------------------------------------------------------------------------------------


def quality_metric(group: TaskGroup) -> tuple[str, str, bool]:
    """The held-out quality the fixed-budget view shows: (trace field, title, higher is better).

    Test accuracy for classification with a split, test MSE for regression with a split, and the
    training loss of the target otherwise (logic gates and parity have no held-out data).
    """
    split = group.task_obj.has_split if group.task_obj is not None else True
    if split and group.kind == "classification":
        return "test_accuracy", "test accuracy", True
    if split:
        return "test_mse", "test MSE", False
    metric = group.target_metric
    return metric, f"training {'MSE' if metric == 'mse' else metric}", False


def _at_budget(record: RunRecord, field: str) -> float:
    if field.startswith("test_"):
        value = record.final_test.get(field[len("test_"):])
    else:
        value = record.final_train.get(field)
    return float(value) if isinstance(value, int | float) else math.nan


def _selected(record: RunRecord, metric: str) -> float:
    sel = record.selected or {}
    value = sel.get("test", {}).get(metric)
    return float(value) if isinstance(value, int | float) else math.nan


def fixed_budget_table(group: TaskGroup, labels: Sequence[str]) -> list[str]:
    """Quality at the end of the budget (and at the best-validation checkpoint), per solver."""
    field, title, higher = quality_metric(group)
    runs_all = [r for lab in labels for r in group.attempted(lab)]
    if not runs_all or all(r.budget.get("stop_at_target", True) for r in runs_all):
        return []
    has_val = any(r.selected for r in runs_all)
    metric = field[len("test_"):] if field.startswith("test_") else field
    head = ["solver", f"{title} at budget, median [IQR]"]
    if has_val:
        head.append(f"{title} at the best-validation checkpoint, median [IQR]")
    head.append("evaluations spent, median")
    lines = [
        f"Fixed budget: {title} when the budget ran out"
        + (" and at the checkpoint with the lowest validation loss" if has_val else "")
        + (" (higher is better)" if higher else " (lower is better)")
        + "; censored runs left out.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for label in labels:
        runs = [r for r in group.attempted(label) if not censored(r)]
        if not runs:
            continue
        cells = [_quantiles([_at_budget(r, field) for r in runs])]
        if has_val:
            cells.append(_quantiles([_selected(r, metric) for r in runs]))
        spent = float(np.median([r.evaluations for r in runs]))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {spent:,.0f} |")
    return [*lines, ""]


def _quantiles(values: Sequence[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "—"
    stats = median_iqr(finite)
    if stats is None:
        return "—"
    med, q1, q3 = stats
    extra = f" ({len(values) - len(finite)} non-finite)" if len(finite) < len(values) else ""
    return f"{_fmt(med)} [{_fmt(q1)}–{_fmt(q3)}]{extra}"


def quality_curves_figure(group: TaskGroup, colours: Any, path: Path) -> Path | None:
    """Held-out quality against evaluations and against seconds: median with a quantile band.

    Each run is a step function through its trace points (held at its last value), on a common
    log grid; the band is the interquartile range over seeds. Two solvers with identical curves
    (e.g. ``sgd`` and ``numpy-backprop`` at the same hyperparameters) are drawn with different
    line styles and markers, and the legend says when two coincide.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from benchmarks.report import figures as fig

    field, title, higher = quality_metric(group)
    labels = [lab for lab in group.runs
              if any(len(r.trace) > 1 for r in group.attempted(lab))]
    if not labels:
        return None
    solvers = fig.palette(list(dict.fromkeys(base_solver(lab) for lab in labels)))
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
    with fig._theme():
        f, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        for ax, axis, x_field in zip(axes, ("evaluations", "seconds"),
                                     ("evaluations", "solver_seconds"), strict=True):
            xs = [p[x_field] for lab in labels for r in group.attempted(lab) for p in r.trace
                  if p.get(x_field)]
            positive = [x for x in xs if x > 0]
            if not positive:
                continue
            grid = np.geomspace(min(positive), max(positive) * 1.001, CURVE_POINTS)
            for k, lab in enumerate(labels):
                m = _curves(group.attempted(lab), x_field, field, grid)
                if m.size == 0:
                    continue
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    # Before a run's first trace point its column is NaN: no value yet.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    lo, mid, hi = np.nanquantile(m, [BAND[0], 0.5, BAND[1]], axis=0)
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
        fig._suptitle(f, f"{group.name}: {title} against cost, median over seeds with "
                         "interquartile band (fixed-budget view)", y=1.0)
        fig._legend_below(f, handles, names)
        f.subplots_adjust(bottom=0.27)
        return fig._save(f, path)


_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*", "<", ">")


def base_solver(label: str) -> str:
    """``adam [tuned]`` -> ``adam``: the solver behind a label."""
    return label.split(" [", 1)[0]


def _style(label: str, solvers: dict[str, Any]) -> tuple[Any, str, str]:
    """Colour and marker by solver, line style by arm (tuned solid, defaults dashed), so a
    solver's two arms read as one family and two solvers never share a look."""
    name = base_solver(label)
    names = list(solvers)
    k = names.index(name) if name in names else 0
    return solvers.get(name, "0.3"), ("-" if label != name else "--"), _MARKERS[k % len(_MARKERS)]


def _curves(runs: Sequence[RunRecord], x_field: str, field: str, grid: np.ndarray) -> np.ndarray:
    rows = []
    for r in runs:
        pts = [(p[x_field], p.get(field)) for p in r.trace if p.get(field) is not None]
        if not pts:
            continue
        x = np.array([p[0] for p in pts], dtype=float)
        y = np.array([p[1] for p in pts], dtype=float)
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
