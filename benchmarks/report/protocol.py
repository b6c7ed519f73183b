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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.records import RunRecord
from benchmarks.report.analysis import TaskGroup, quality_metric
from benchmarks.report.figures.fixed_budget import sensitivity_figure
from benchmarks.report.stats import median_iqr
from benchmarks.results import runs_frame

Draw = Callable[[str, Callable[[Path], Path | None], str], list[str]]


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "∞"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


# --------------------------------------------------------------------------------------------
# Protocol: arms, seeds, budgets, censoring
# --------------------------------------------------------------------------------------------


def protocol_section(
    records: Sequence[RunRecord], frame: pd.DataFrame, tuned_doc: dict[str, Any]
) -> list[str]:
    """How the runs were made fair: arms, seeds, budgets, the safety net and what it censored
    (``frame``: the records' runs frame)."""
    arms = frame["arm"].astype(str).value_counts().sort_index()
    seeds = sorted(set(frame["seed"].tolist()))
    lines = [
        "## Protocol",
        "",
        "- **Arms.** `defaults`: every solver with its documented defaults (library or paper "
        "values; each solver's docstring states the origin of each). `[tuned]`: the "
        "configuration the tuning study chose for that task. "
        + ", ".join(f"{arm}: {n} runs" for arm, n in arms.items())
        + ".",
        f"- **Evaluation seeds:** {seed_text(seeds)}. Tasks that draw data (real data "
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
            f"per task, each run on tuning seeds {seed_text(tuning_seeds)}"
            + (" (disjoint from the evaluation seeds)" if not overlap else
               f" (**overlapping the evaluation seeds {sorted(overlap)}**)")
            + f"; objective: {study.get('objective', '?')}; ties by "
            f"{study.get('ties', '?')}. The same trial count, seeds and objective for every "
            "solver; the cost of tuning is in the tuning section."
        )
    else:
        lines.append("- **Tuning:** no tuned configurations were given, so there is no tuned "
                     "arm in these records.")
    # The budget of each task's first record (a suite gives every solver of a task the same).
    budgets = {str(t): _budget_text(records[i].budget)
               for i, t in frame["task"].astype(str).drop_duplicates().items()}
    lines.append(
        "- **Budgets** are in evaluations (single-example forward passes; an environment step "
        "on control tasks), the same for every solver of a task, so a success never depends on "
        "the machine's speed. Per task: "
        + "; ".join(f"{task}: {text}" for task, text in budgets.items())
        + "."
    )
    n_censored = int(frame["censored"].sum())
    lines.append(
        "- **Safety net.** A solver-clock limit in seconds only guards against a run far slower "
        "than planned. A run it stops is *censored by time*: not a success, not a failure; it "
        "is left out of success rates and ERT and counted apart. "
        + (f"**{n_censored} run(s) were censored by time.**" if n_censored else
           "No run was censored by time.")
    )
    if _past_target(frame):
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


def _past_target(rows: pd.DataFrame) -> bool:
    """Whether any run went on past its target to the end of its budget."""
    return "budget.stop_at_target" in rows and bool(rows["budget.stop_at_target"].eq(False).any())


def seed_text(seeds: Sequence[int]) -> str:
    """Seeds as a range where they are consecutive (``0–9 (10)``), else listed."""
    seeds = sorted(seeds)
    if not seeds:
        return "none"
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]} ({len(seeds)})"
    return ", ".join(map(str, seeds))


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
    spent: list[tuple[str, float, float]] = []
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
            spent.append((solver, float(d.get("tuning_evaluations", 0)),
                          float(d.get("tuning_seconds", 0))))
    totals = pd.DataFrame(spent, columns=["solver", "evaluations", "seconds"]).groupby(
        "solver", sort=False).sum()
    lines += [
        "",
        "Tuning cost per solver, all tasks: "
        + "; ".join(f"{s}: {row.evaluations:,.0f} evaluations, {row.seconds:.0f} s"
                    for s, row in totals.iterrows())
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


# --------------------------------------------------------------------------------------------
# Fixed-budget view
# --------------------------------------------------------------------------------------------


def fixed_budget_table(group: TaskGroup, labels: Sequence[str]) -> list[str]:
    """Quality at the end of the budget (and at the best-validation checkpoint), per solver."""
    field, title, higher = quality_metric(group)
    rows = group.frame[group.frame["attempted"] & group.frame["label"].isin(list(labels))]
    if rows.empty or not _past_target(rows):
        return []
    metric = field.removeprefix("test_")
    chosen = [c for c in rows.columns if c.startswith("selected.")]
    has_val = bool(rows[chosen].notna().any(axis=None)) if chosen else False
    head = ["solver", f"{title} at budget, median [IQR]"]
    if has_val:
        head.append(f"{title} at the best-validation checkpoint, median [IQR]")
    head.append(("environment steps" if group.kind == "control" else "evaluations")
                + " spent, median")
    lines = [
        f"Fixed budget: {title} when the budget ran out"
        + (" and at the checkpoint with the lowest validation loss" if has_val else "")
        + (" (higher is better)" if higher else " (lower is better)")
        + "; censored runs left out.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    at_budget = f"final_test.{metric}" if field.startswith("test_") else f"final_train.{field}"
    for label, runs in rows[~rows["censored"]].groupby("label", sort=False):
        cells = [_quantiles(_values(runs, at_budget))]
        if has_val:
            cells.append(_quantiles(_values(runs, f"selected.test.{metric}")))
        spent = float(np.median(runs["evaluations"]))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {spent:,.0f} |")
    return [*lines, ""]


def _values(rows: pd.DataFrame, column: str) -> list[float]:
    """A metric column as floats, NaN where a run has none."""
    return rows[column].astype(float).tolist() if column in rows else [math.nan] * len(rows)


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




# --------------------------------------------------------------------------------------------
# Control tasks: published reference points
# --------------------------------------------------------------------------------------------

#: Published results on the control tasks, quoted next to ours: (task, who, what, source).
CONTROL_REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("cartpole", "PPO, tuned", "solves CartPole-v1 in about 1e5 environment steps (its tuned "
     "training budget)", "RL Baselines3 Zoo, `hyperparams/ppo.yml`"),
    ("cartpole", "OpenAI-ES (OpenES), population 100 × 20 rollouts, 100 generations, MLP 64×2",
     "reaches a return of 500", "gymnax-blines, `agents/*/es.yaml`"),
    ("acrobot", "PPO, tuned", "trained for 1e6 environment steps", "RL Baselines3 Zoo, "
     "`hyperparams/ppo.yml`"),
    ("acrobot", "OpenAI-ES (OpenES), population 100 × 20 rollouts, 100 generations, MLP 64×2",
     "reaches a return of about −80", "gymnax-blines, `agents/*/es.yaml`"),
    ("acrobot", "PPO / ARS / DQN, one agent each, deterministic policy, 64×2 networks",
     "mean evaluation return −73.5 at 1e6 / −82.9 at 5e5 / −76.6 at 1e5 steps",
     "RL Baselines3 Zoo's benchmark table, which its authors call not a quantitative "
     "benchmark"),
    ("mountaincar", "PPO / ARS / DQN, one agent each, deterministic policy",
     "−110.4 at 1e6 (at the −110 threshold) / −122.0 at 5e5 (below it) / −100.8 at 1.2e5 "
     "steps; at default settings policy gradients are known to fail this sparse-reward task",
     "RL Baselines3 Zoo's benchmark table"),
    ("mountaincar_continuous", "PPO (gSDE, normalisation) / ARS / SAC, one agent each",
     "88.3 at 2e4 (below the 90 threshold) / 96.7 at 5e5 / 94.7 at 5e4 steps",
     "RL Baselines3 Zoo's benchmark table"),
)


def control_reference_lines(records: Sequence[RunRecord]) -> list[str]:
    """Ours next to the published reference points, per control task: success k/n and the
    median environment steps and solver seconds to the target over successful runs."""
    # The control runs alone: a frame of every run (10^5 in a large study) would be built for
    # nothing.
    records = [r for r in records if r.family == "control"]
    frame = runs_frame(records) if records else pd.DataFrame()
    runs = frame[frame["family"].eq("control") & frame["attempted"]] if records else frame
    out = [
        "The default suite's control runs (both arms together; PPO on its seeds and arm). "
        "On a control task one evaluation is one environment step of one policy, so the costs "
        "below are environment steps. Published reference points are quoted with their "
        "sources; they use other networks, other budgets and their own evaluation protocols "
        "(gymnax-blines' ES a 64×2 network and 20 rollouts per policy), so they place our "
        "numbers, they are not a head-to-head comparison. Solvers that need a differentiable "
        "loss are not applicable to these tasks and are left out here (the per-task sections "
        "list them as such).",
        "",
    ]
    if runs.empty:
        return [*out, "No control runs recorded."]
    for task, by_task in runs.groupby(runs["task"].astype(str), sort=True):
        out += [f"**{task}** (target: {by_task['target'].iloc[0]})", "",
                "| solver | success | environment steps to target, median | solver seconds to "
                "target, median |", "|---|---:|---:|---:|"]
        for solver, rs in by_task.groupby(by_task["solver"].astype(str), sort=False):
            hits = rs[rs["success"]]
            steps = (f"{np.median(hits['evaluations_to_target'].astype(float)):,.0f}"
                     if len(hits) else "—")
            secs = (f"{np.median(hits['seconds_to_target'].fillna(0.0).astype(float)):.3g}"
                    if len(hits) else "—")
            out.append(f"| `{solver}` | {len(hits)}/{len(rs)} | {steps} | {secs} |")
        out.append("")
        refs = [ref for ref in CONTROL_REFERENCES if ref[0] == task]
        if refs:
            out += ["Published:", ""]
            out += [f"- {who}: {what} ({source})." for _, who, what, source in refs]
            out.append("")
    return out
