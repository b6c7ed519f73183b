"""The generated report: ``report.md``, its figures and a self-contained ``report.html``.

Never hand-edited: ``benchmarks/run_all.py`` writes it at the end of a suite, and
``python benchmarks/run_all.py --report-only`` rebuilds it from the raw records without running
anything. The Markdown is readable on GitHub with its figures as PNG files in a folder next to
it (``figures/`` for ``report.md``, ``figures-<suite>/`` for ``report-<suite>.md``); the HTML is
the same document with the figures embedded, for reading offline.

What it contains, and why (COCO, AlgoPerf and DeepOBS practice; see
``shared/reference/benchmarking.md``):

* per task: success rates with Wilson intervals; ERT (COCO's aRT, counting failed runs' cost)
  in evaluations and seconds with bootstrap intervals; median [IQR] costs to target among
  successes; final train/test quality; stop reasons; extra metrics; convergence curves; decision
  boundaries, learned functions or phase portraits where the task allows;
* across tasks: runtime ECDFs over (task, target) pairs, Dolan-Moré performance profiles, a
  success heatmap and a ranking with paired tests over seeds (Wilcoxon signed-rank, Holm);
* cost against each scaling knob the records vary;
* the honesty sections: each solver's accounting, the environment and the caveats.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.environment import ROOT
from benchmarks.record_table import read_table
from benchmarks.records import RunRecord, read_records
from benchmarks.report import figures as fig
from benchmarks.report.analysis import (
    EASIER_LEVELS,
    CostAxis,
    TaskGroup,
    bootstrap_seed,
    data_sentence,
    ert_inputs,
    final_columns,
    group_records,
    paired_blocks,
    runtime_problems,
    solver_order,
    trace_columns,
)
from benchmarks.report.baseline import versus_baseline_lines
from benchmarks.report.benchmark_table import benchmark_provenance, latest_benchmark_file
from benchmarks.report.breadth import within_paradigm_section
from benchmarks.report.comparisons import (
    ALPHA,
    arm_labels,
    compare,
    tuning_pairs,
    win_shares,
)
from benchmarks.report.comparisons import table as comparison_table
from benchmarks.report.html import github_slug, write_html
from benchmarks.report.protocol import (
    fixed_budget_table,
    protocol_section,
    seed_text,
    tuning_section,
)
from benchmarks.report.robustness import robustness_section
from benchmarks.report.scaling import scaling_section
from benchmarks.report.sections import REPORT_SECTIONS, ReportSection, SectionInputs
from benchmarks.report.stats import (
    ert,
    ert_bootstrap,
    median_iqr,
    wilson_interval,
)
from benchmarks.report.verdict import regime_of, verdict_section
from benchmarks.results import base_solver, runs_frame, write_atomic, write_csv
from benchmarks.suites import REFERENCE_TUNED, TUNED_FILE, load_tuned
from solvers import SOLVERS

#: Bootstrap resamples for every ERT interval.
N_BOOT = 2000
#: Stand-in for an infinite final metric in quantiles (keeps them ordered, never shown).
_BIG = 1e300
#: Characters of an error message shown in the failed-runs table.
_MESSAGE_CHARS = 320


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def _fmt(value: float, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if math.isinf(value):
        return "∞"
    if value == 0:
        text = "0"
    elif abs(value) >= 1e5:
        text = f"{value:.3g}"
    elif abs(value) >= 100 or value == int(value):
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:.1f}" if abs(value) < 10 else f"{value:.0f}"
    else:
        text = f"{value:.3g}"
    return text + unit


def _cost(values: Sequence[float], unit: str = "") -> str:
    """``median [q25–q75]`` or an em dash for an empty sample."""
    summary = median_iqr(values)
    if summary is None:
        return "—"
    med, q25, q75 = summary
    return f"{_fmt(med, unit)} [{_fmt(q25)}–{_fmt(q75)}]"


def _quality(values: Sequence[float], worst: float) -> str:
    """Median [IQR] of a final metric; a NaN (diverged run) counts as ``worst``."""
    vals = [worst if not math.isfinite(v) else v for v in values]
    if not vals:
        return "—"
    # Infinities would make the interpolated quantiles NaN; a sentinel keeps them ordered.
    big = _BIG
    med, q25, q75 = np.percentile(np.minimum(np.array(vals, dtype=float), big), [50, 25, 75])

    def one(v: float) -> str:
        return "∞" if v >= big else f"{v:.3g}"

    return f"{one(med)} [{one(q25)}–{one(q75)}]"


def _cell(text: str) -> str:
    """Table-safe text: pipes escaped, newlines folded."""
    return text.replace("|", "\\|").replace("\n", " ")


def _counts(values: pd.Series) -> pd.Series:
    """How often each value occurs, most common first, ties in order of first appearance."""
    values = values.astype(str)
    return values.groupby(values, sort=False).size().sort_values(ascending=False, kind="stable")


def _column(frame: pd.DataFrame, name: str, missing: str) -> pd.Series:
    """A column as text, ``missing`` where it is absent or empty."""
    if name not in frame:
        return pd.Series(missing, index=frame.index)
    column = frame[name].astype(object)
    return column.where(column.notna(), missing).astype(str)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


@dataclass
class _Figures:
    """Generated figures: paths relative to the Markdown file, plus any failures."""

    folder: Path
    base: Path
    colours: fig.Palette = field(default_factory=dict)
    made: list[Path] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def make(self, name: str, draw: Callable[[Path], Path | None], alt: str) -> list[str]:
        """Draw one figure; Markdown lines referencing it (an empty list when nothing to draw)."""
        path = self.folder / f"{name}.png"
        try:
            made = draw(path)
        except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the report
            self.failed.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"warning: figure {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return [f"*Figure `{name}` could not be drawn: {_cell(str(exc))}.*", ""]
        if made is None:
            return []
        self.made.append(made)
        rel = made.relative_to(self.base).as_posix()
        return [f"![{alt}]({rel})", ""]


def figures_dir_for(md_path: Path) -> Path:
    """``report.md`` -> ``figures/``; ``report-<suite>.md`` -> ``figures-<suite>/``."""
    stem = md_path.stem
    if stem == "report":
        return md_path.parent / "figures"
    if stem.startswith("report-"):
        return md_path.parent / ("figures-" + stem[len("report-") :])
    return md_path.parent / f"{stem}-figures"


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _how_to_read(n_boot: int) -> list[str]:
    return [
        "## How to read this report",
        "",
        "- **Success**: a run succeeds when it meets the task's own target on the training set "
        "within its budget. Success is reported as `k/n` seeds with a 95% Wilson score interval.",
        "- **ERT** (expected running time, COCO's *aRT*): the total cost of *all* runs of a "
        "solver on a task (successful runs up to the target, failed runs everything they spent) "
        "divided by the number of successes; `∞` when none succeeded. It is the expected cost "
        "of restarting the solver with fresh seeds until it succeeds, so a fast but unreliable "
        "solver pays for its failures. Intervals: 95% percentile bootstrap over runs "
        f"({n_boot:,} resamples, seeded from the task and solver names, so rebuilding the report "
        "gives the same numbers); an upper bound of `∞` means more than 2.5% of the resamples "
        "held no success.",
        "- **Cost to target**: median [interquartile range] over the **successful runs only**. A "
        "run that missed the target counts against the success rate and the ERT, and is never "
        "filled in with its budget.",
        "- **Units**: one *evaluation* is one forward pass of one training example; backward "
        "passes are counted separately (see the accounting section). *Seconds* are the solver's "
        "own clock: the harness stops it while it evaluates the target. *Iterations* mean "
        "different things for different solvers.",
        "- **Seeds are paired**: for a given seed every single-start solver starts from the same "
        "initial weights, so per-seed differences between solvers remove the luck of the draw; "
        "the ranking uses them.",
        "",
    ]


def _targets_text() -> str:
    return (
        "Targets: each task contributes its own target plus "
        f"{EASIER_LEVELS} easier levels on the same training metric (MSE or loss), log-spaced "
        "strictly between the median starting value of all runs and the target's threshold "
        "(for an accuracy-only target, the median loss at which runs met it). The own target "
        "uses the harness's exact record; an easier level counts as reached at the first trace "
        "point at or below it (traces are log-spaced, about 10% apart in iterations, so these "
        "hitting times are upper bounds within one step). A solver that was not run on a task "
        "counts as never reaching its targets."
    )


def _headline(groups: Sequence[TaskGroup], labels: Sequence[str]) -> list[str]:
    lines = [
        "| solver | tasks run | runs | reached own target (95% CI) | (task, target) pairs "
        "reached, share of runs | censored by time |",
        "|---|---|---|---|---|---|",
    ]
    rows = pd.concat([g.frame[["attempted", "censored", "success", "label", "group"]]
                      for g in groups])  # the columns read, not a copy of every one
    rows = rows[rows["attempted"]].assign(
        usable=~rows["censored"], ok=rows["success"] & ~rows["censored"])
    per_label = rows.groupby("label", sort=False).agg(
        tasks=("group", "nunique"), runs=("usable", "sum"), ok=("ok", "sum"),
        censored=("censored", "sum"),
    ).reindex(list(labels), fill_value=0)
    for lab, row in per_label.iterrows():
        lo, hi = wilson_interval(int(row["ok"]), int(row["runs"]))
        problems = runtime_problems(groups, str(lab), "evaluations")
        # An empty problem (solver not run on the task) counts as unsolved.
        share = float(np.mean([np.isfinite(p).mean() if p.size else 0.0 for p in problems]))
        lines.append(
            f"| {_cell(str(lab))} | {row['tasks']}/{len(groups)} | {row['runs']} | "
            f"{row['ok']}/{row['runs']} ({lo:.2f}–{hi:.2f}) | {share:.2f} | "
            f"{row['censored']} |"
        )
    return [*lines, ""]


def _comparisons_section(groups: Sequence[TaskGroup], figs: _Figures) -> list[str]:
    """Reliability and cost given success, apart, for every pair of solvers and arms."""
    labels, arm = arm_labels(groups)
    lines = ["## Paired comparisons", ""]
    if len(labels) < 2:
        return [*lines, "Paired comparisons need at least two solvers.", ""]
    lines += [
        "Blocks are (task, seed) pairs: for a seed every single-start solver starts from the "
        "same weights and every solver sees the same data. Each pair of solvers is asked two "
        "questions apart. **Reliability**: the blocks where only one of the two reached the "
        "target (McNemar's exact test) and the paired difference in success rate with "
        "Newcombe's 95% interval. **Cost given success**: over the blocks where *both* reached "
        "it, the median ratio of evaluations to target with a 95% bootstrap interval "
        "(Wilcoxon's signed-rank test). A failure is never coded as a cost. p-values are "
        f"Holm-adjusted within each question's family (α = {ALPHA:g}); they treat the blocks "
        "as independent, which the seeds of one task are, but the tasks are a chosen set, so "
        "the tests speak about these tasks only. Runs censored by time are left out.",
        "",
        f"### Solvers against each other ({arm} arm)",
        "",
    ]
    pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:]]
    comparisons = compare(groups, pairs)
    lines += comparison_table(comparisons)
    share, notes = win_shares(comparisons, labels)
    lines += figs.make(
        "paired-wins",
        lambda p: fig.win_matrix_figure(labels, share, notes, p),
        "Cost given success: share of the (task, seed) blocks where both reached the target "
        "in which the row solver needed fewer evaluations (ties half; * Holm p < 0.05)",
    )
    tuning = tuning_pairs(groups)
    if tuning:
        lines += [
            "### What tuning changed (tuned arm vs defaults, same solver)",
            "",
            *comparison_table(compare(groups, tuning)),
        ]
    return lines


def _tuned_document(md_path: Path, records: Sequence[RunRecord]) -> dict[str, Any]:
    """The tuning study's document for this report: ``tuned.json`` next to it, else the
    committed reference study's when these records ran its tuned arm."""
    local = md_path.parent / TUNED_FILE
    if local.exists():
        return load_tuned(local)[1]
    if any(r.arm == "tuned" for r in records):
        return load_tuned(REFERENCE_TUNED)[1]
    return {}


def _same_commit(a: str, b: str) -> bool:
    """Two git revisions name the same commit (``-dirty`` ignored; a short sha matches)."""
    a, b = a.removesuffix("-dirty"), b.removesuffix("-dirty")
    return bool(a) and bool(b) and (a.startswith(b) or b.startswith(a))


def _records_of(paths: Sequence[Path], known: dict[Path, Sequence[RunRecord]], *,
                table: bool = False) -> list[RunRecord]:
    """The records of ``paths``, file by file as ``read_records`` reads them (``table``: as
    :func:`~benchmarks.record_table.read_table` does, for a large file read only to look);
    a file in ``known`` (the report's own records file) is not read again: its records are
    given."""
    out: list[RunRecord] = []
    for path in paths:
        given = known.get(path.resolve())
        read = read_table if table else read_records
        out += given if given is not None else read([path]).records
    return out


def _provenance_flags(
    frame: pd.DataFrame, md_path: Path, root: Path, sections: Sequence[ReportSection],
    known: dict[Path, Sequence[RunRecord]],
) -> list[str]:
    """Lines flagging a study or benchmark section measured at another commit or on another
    machine than these records: its numbers are then not directly comparable with theirs."""
    commits = set(_column(frame, "environment.git_revision", ""))
    cpus = set(_column(frame, "environment.cpu", ""))
    others: list[tuple[str, set[str], set[str]]] = []
    titles = {tuple(s.record_files): s.title for s in sections if s.record_files}
    for files, title in titles.items():
        paths = [md_path.parent / "raw" / f"{name}.jsonl" for name in files]
        present = [path for path in paths if path.exists()]
        if not present:
            continue
        own = set(frame["key"])
        study = [r for r in _records_of(present, known, table=True) if r.key not in own]
        if study:
            others.append((
                title,
                {str(r.environment.get("git_revision", "")) for r in study},
                {str(r.environment.get("cpu", "")) for r in study},
            ))
    bench = latest_benchmark_file(root)
    prov = benchmark_provenance(bench) if bench is not None else None
    if prov is not None and any(s.benchmarks for s in sections):
        title = next(s.title for s in sections if s.benchmarks)
        others.append((title, {prov[0]}, {prov[1]}))
    lines = []
    for title, their_commits, their_cpus in others:
        commit_differs = not all(any(_same_commit(c, o) for o in commits) for c in their_commits)
        cpu_differs = not their_cpus <= cpus
        if not (commit_differs or cpu_differs):
            continue
        what = []
        if commit_differs:
            what.append("commit " + ", ".join(sorted(c[:10] or "unknown" for c in their_commits)))
        if cpu_differs:
            what.append("CPU " + ", ".join(sorted(c or "unknown" for c in their_cpus)))
        mine = ([f"these records' commit {', '.join(sorted(c[:10] for c in commits))}"]
                if commit_differs else [])
        mine += [f"CPU {', '.join(sorted(cpus))}"] if cpu_differs else []
        why = (["other code"] if commit_differs else []) + (
            ["another machine"] if cpu_differs else [])
        lines.append(
            f"- **Not measured with these records:** [{title}](#{github_slug(title, {})}) comes "
            f"from {' and '.join(what)}, not {' and '.join(mine)}: its numbers were measured "
            f"with {' and on '.join(why)} than the rest of this report."
        )
    return lines


def _facts(
    records: Sequence[RunRecord],
    md_path: Path | None = None,
    root: Path = ROOT,
    sections: Sequence[ReportSection] = (),
    frame: pd.DataFrame | None = None,
    known: dict[Path, Sequence[RunRecord]] | None = None,
) -> list[str]:
    """How long the suite took, on what, from which commit: facts a reader needs first; and
    which appended study or benchmark section was measured elsewhere (``md_path``'s ``raw/``
    folder, saved pytest-benchmark runs under ``root``; ``known``: records files already
    read, see :func:`build_markdown`)."""
    stamps = sorted(r.timestamp for r in records if r.timestamp)
    span = ""
    if len(stamps) >= 2:
        try:
            first, last = (datetime.fromisoformat(stamps[0]), datetime.fromisoformat(stamps[-1]))
            span = f"{(last - first).total_seconds() / 60:.1f} min from first to last record"
        except ValueError:
            span = ""
    frame = runs_frame(records) if frame is None else frame
    total = sum(float(r.wall_seconds) for r in records)
    cpus = _counts(_column(frame, "environment.cpu", "?"))
    cores = _counts(_column(frame, "environment.cpu_count", "?"))
    commits = _counts(_column(frame, "environment.git_revision", "?").str[:10])
    executors = _counts(frame["executor"].astype(str) + " × " + frame["workers"].astype(str))
    return [
        "## Facts",
        "",
        f"- **Time:** {span or 'one record'}; the runs' own wall-clock times add up to "
        f"{total / 60:.1f} min ({len(records)} runs; executor: {_count_text(executors)}).",
        f"- **Machine:** {_count_text(cpus)}, {_count_text(cores)} cores; commit "
        f"{_count_text(commits)}.",
        *(_provenance_flags(frame, md_path, root, sections, known or {})
          if md_path is not None else []),
        "",
    ]


def _profiles_section(
    groups: Sequence[TaskGroup], labels: Sequence[str], figs: _Figures
) -> list[str]:
    lines = ["### Performance profiles", ""]
    if len(labels) < 2:
        return [*lines, "Performance profiles compare solvers: they need at least two.", ""]
    lines += [
        "For each (task, seed) problem, each solver's cost to the task's own target divided "
        "by the cheapest solver's cost on that problem; ρ(τ) is the share of problems a "
        "solver solved within τ times the best cost (Dolan and Moré, 2002). ρ(1) is how "
        "often it was the cheapest; the right end is how often it succeeded at all. Profiles "
        "are relative: adding or removing a solver changes them.",
        "",
    ]
    return lines + figs.make(
        "performance-profiles",
        lambda p: fig.performance_profile_figure(
            {a: paired_blocks(groups, labels, a) for a in ("evaluations", "seconds")},
            figs.colours,
            p,
        ),
        "Performance profiles in evaluations and in seconds",
    )


def _ert_cells(group: TaskGroup, label: str, rows: pd.DataFrame) -> list[str]:
    cells = []
    axes: tuple[tuple[CostAxis, str], ...] = (("evaluations", ""), ("seconds", " s"))
    for axis, unit in axes:
        costs, ok = ert_inputs(rows, axis)
        e = ert(costs, ok)
        lo, hi = ert_bootstrap(
            costs, ok, seed=bootstrap_seed(group.name, label, axis), n_boot=N_BOOT
        )
        cells.append(
            _fmt(e, unit) if not math.isfinite(e) else f"{_fmt(e, unit)} [{_fmt(lo)}–{_fmt(hi)}]"
        )
    return cells


def _describe_budgets(records: Sequence[RunRecord]) -> str:
    budgets = {tuple(sorted(r.budget.items())) for r in records}
    texts = []
    for b in sorted(budgets):
        d = dict(b)
        parts = []
        if d.get("max_iterations") is not None:
            parts.append(f"{d['max_iterations']:,} iterations")
        if d.get("max_evaluations") is not None:
            parts.append(f"{d['max_evaluations']:,} evaluations")
        if d.get("max_seconds") is not None and math.isfinite(d["max_seconds"]):
            parts.append(f"{d['max_seconds']:g} s")
        texts.append(", ".join(parts) or "none")
    return "; ".join(texts)


def _task_section(group: TaskGroup, figs: _Figures) -> list[str]:
    first = group.first
    task = group.task_obj
    split = task.has_split if task is not None else True
    options = ", ".join(f"{k}={v}" for k, v in sorted(group.options.items())) or "none"
    lines = [f"### {group.name}", ""]
    if task is not None and task.description:
        lines += [task.description, ""]
    if group.task_error:
        lines += [
            "*The task could not be rebuilt from the recorded name and options "
            f"({_cell(group.task_error)}), so its description and the pictures that need its "
            "data are missing.*",
            "",
        ]
    lines += [
        f"Network `{first.model}` ({first.num_params} parameters); "
        f"{data_sentence(group, first.n_train)}"
        + ("" if split else ", no train/test split (test = train)") + "; target: "
        f"{first.target}; budget per run: "
        f"{_describe_budgets([group.records[i] for i in group.frame.index])}; options: {options}; "
        f"seeds: {seed_text(sorted(set(group.frame['seed'].tolist())))}.",
        "",
        "| solver | runs | reached target (95% CI) | ERT, evaluations [95% CI] | "
        "ERT, seconds [95% CI] | censored by time |",
        "|---|---|---|---|---|---|",
    ]
    attempted_labels = []
    # Solvers that do not apply to the task: one row per reason, naming them all (said once,
    # not once per solver and arm).
    inapplicable: dict[str, list[str]] = {}
    for label, rows in group.frame.groupby("label", sort=False):
        if not rows["attempted"].any():
            errors = rows["error"][rows["error"].astype(str) != ""]
            reason = str(errors.iloc[0]) if len(errors) else "not supported"
            cls = SOLVERS.get(base_solver(str(label)))
            if cls is not None:  # "SGDSolver needs ..." and "AdamSolver needs ..." are one reason
                reason = reason.replace(cls.__name__, "the solver")
            inapplicable.setdefault(reason.removeprefix("not applicable: "), []).append(
                str(label))
    for reason, labels in inapplicable.items():
        lines.append(f"| {_cell(', '.join(labels))} | 0 | not applicable: {_cell(reason)} "
                     "| | | |")
    for label, rows in group.frame.groupby("label", sort=False):
        label = str(label)
        if not rows["attempted"].any():
            continue
        attempted_labels.append(label)
        usable = group.usable(label)
        ok = int(usable["success"].sum())
        lo, hi = wilson_interval(ok, len(usable))
        lines.append(
            f"| {_cell(label)} | {len(usable)} | {ok}/{len(usable)} ({lo:.2f}–{hi:.2f}) | "
            + " | ".join(_ert_cells(group, label, usable))
            + f" | {int(rows['censored'].sum())} |"
        )
    lines.append("")
    lines += versus_baseline_lines(group)
    if not attempted_labels:
        return lines
    lines += [
        "Cost to target among the successful runs, median [IQR]:",
        "",
        "| solver | iterations | evaluations | backward passes | seconds |",
        "|---|---|---|---|---|",
    ]
    for label in attempted_labels:
        ok_rows = group.frame[group.frame["label"].eq(label) & group.frame["attempted"]
                              & group.frame["success"]]
        back = _backward_at_target([group.records[i] for i in ok_rows.index])

        def cost(axis: str, rows: pd.DataFrame = ok_rows) -> list[float]:
            return rows[f"cost_to_target.{axis}"].astype(float).tolist()

        lines.append(
            f"| {_cell(label)} | {_cost(cost('iterations'))} | {_cost(cost('evaluations'))} "
            f"| {_cost([b for b in back if b is not None])} | {_cost(cost('seconds'), ' s')} |"
        )
    lines.append("")
    lines += _final_table(group, attempted_labels, split)
    lines += fixed_budget_table(group, attempted_labels)
    for figure in fig.TASK_FIGURES:
        if not figure.applies_to(group):
            continue
        lines += figs.make(
            f"{figure.name}-{group.slug}",
            functools.partial(figure.draw, group, figs.colours),
            figure.caption(group),
        )
    return lines


def _backward_at_target(records: Sequence[RunRecord]) -> list[float | None]:
    """Each run's backward passes at the first trace point of its target iteration (``None``
    where its trace has none), read from the runs' trace columns: 10^4 successful runs'
    trace points as objects would take seconds per task."""
    lengths, (iteration, backward), _ = trace_columns(records, ["iteration", "backward"])
    target = np.array([math.nan if r.iterations_to_target is None else r.iterations_to_target
                       for r in records], dtype=float)
    hits = np.flatnonzero(iteration == np.repeat(target, lengths))
    runs, first = np.unique(np.repeat(np.arange(len(records)), lengths)[hits], return_index=True)
    out: list[float | None] = [None] * len(records)
    for run, at in zip(runs.tolist(), hits[first].tolist(), strict=True):
        out[run] = float(backward[at])
    return out


def _fmt_extra(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) else str(value)


def _final_table(group: TaskGroup, labels: Sequence[str], split: bool) -> list[str]:
    rows = group.frame[group.frame["attempted"] & group.frame["label"].isin(list(labels))]
    columns = final_columns(group, split)
    extras = sorted({f"extra_metrics.{k}" for i in rows.index
                     for k in group.records[i].extra_metrics})
    constant: list[str] = []
    for column in extras:
        values = rows[column]
        if values.notna().all() and values.nunique() == 1 and len(rows) > 1:
            # A property of the task's data (e.g. the numerical-differentiation error), the
            # same in every run: one sentence, not a column of identical cells.
            constant.append(f"`{column.removeprefix('extra_metrics.')}` = "
                            f"{_fmt_extra(values.iloc[0])}")
        else:
            columns.append((column.removeprefix("extra_metrics."), column, math.inf))
    head = ["solver", *[c[0] for c in columns], "stop reasons"]
    lines = [
        "Final state, median [IQR] over the runs (a diverged run counts as the worst value)"
        + (f"; the same in every run: {', '.join(constant)}" if constant else "")
        + ":",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for label, runs in rows.groupby("label", sort=False):
        cells = [_quality(runs[column].astype(float).tolist() if column in runs else
                          [math.nan] * len(runs), worst) for _, column, worst in columns]
        reasons = _counts(runs["stop_reason"])
        lines.append(
            f"| {_cell(str(label))} | "
            + " | ".join(cells)
            + " | "
            + ", ".join(f"{k} {v}" for k, v in reasons.items())
            + " |"
        )
    return [*lines, ""]


def _registered_sections(
    md_path: Path, root: Path, sections: Sequence[ReportSection], failed: list[str],
    known: dict[Path, Sequence[RunRecord]] | None = None,
) -> list[str]:
    """The registered study and benchmark sections (:mod:`benchmarks.report.sections`).

    A section whose record files are all absent is left out. One that raises keeps its heading
    with a line saying why it is missing, and is listed in ``failed``: a broken study must not
    lose the report, nor vanish from it unnoticed.
    """
    lines: list[str] = []
    for section in sections:
        paths = [md_path.parent / "raw" / f"{name}.jsonl" for name in section.record_files]
        present = [path for path in paths if path.exists()]
        if section.record_files and not present:
            continue
        try:
            records = tuple(_records_of(present, known or {})) if present else ()
            body = [str(line) for line in section.lines(SectionInputs(records=records, root=root))]
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the report
            reason = f"{type(exc).__name__}: {exc}"
            failed.append(f"{section.title}: {reason}")
            print(f"warning: report section {section.title!r} failed: {reason}", file=sys.stderr)
            body = [f"*This section could not be built: {_cell(reason)}.*", ""]
        lines += [f"## {section.title}", "", *body, ""]
    return lines


def _accounting(records: Sequence[RunRecord], frame: pd.DataFrame) -> list[str]:
    lines = [
        "## Accounting: what each solver's iteration and evaluation are",
        "",
        "What one iteration is comes from the records; what it costs is the solver's own "
        "statement (its `evaluations` attribute). The measured columns are "
        "medians over all of the solver's attempted runs, on every task: evaluations and "
        "backward passes per iteration (after the first report) in units of `N`, the task's "
        "number of training examples; what the solver spent before its first report (iteration "
        "0: scoring an initial population, building a model, library set-up); and microseconds "
        "of solver time per iteration.",
        "",
        "| solver | one iteration is | evaluations (stated by the solver) | evaluations per "
        "iteration, "
        "measured | backward passes per iteration | evaluations before first report | "
        "seconds before first report, median (max) | µs per iteration | dtype |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # The columns read here only: a selection of every column would copy the whole frame.
    wanted = [c for c in ("solver", "iteration_unit", "config.dtype") if c in frame]
    attempted = frame.loc[frame["attempted"], wanted].assign(
        solver=lambda f: f["solver"].astype(str))
    order = {name: i for i, name in enumerate(SOLVERS)}
    by_solver = dict(list(attempted.groupby("solver", sort=False)))
    for name in sorted(by_solver, key=lambda n: (order.get(n, len(order)), n)):
        rows = by_solver[name]
        runs = [records[i] for i in rows.index]
        per_eval, per_back, setup_e, setup_s, per_us = [], [], [], [], []
        for r in runs:
            if not r.trace:
                continue
            first, last = r.trace[0], r.trace[-1]
            n = max(r.n_train, 1)
            setup_e.append(float(first["evaluations"]) / n)
            setup_s.append(float(first["solver_seconds"]))
            if last["iteration"] > 0:
                its = float(last["iteration"]) * n
                per_eval.append((last["evaluations"] - first["evaluations"]) / its)
                per_back.append((last.get("backward", 0) - first.get("backward", 0)) / its)
                its /= n
                per_us.append(1e6 * (last["solver_seconds"] - first["solver_seconds"]) / its)
        dtypes = sorted(set(_column(rows, "config.dtype", "float64")))
        unit = _counts(rows["iteration_unit"]).index[0]
        declared = SOLVERS[name].evaluations if name in SOLVERS else "—"
        lines.append(
            f"| {name} | {_cell(unit)} | {_cell(declared)} | "
            f"{_med(per_eval, ' N')} | {_med(per_back, ' N')} | {_med(setup_e, ' N')} | "
            f"{_med(setup_s, ' s')} ({_fmt(max(setup_s), ' s') if setup_s else '—'}) | "
            f"{_med(per_us)} | {', '.join(dtypes)} |"
        )
    return [*lines, ""]


def _med(values: Sequence[float], unit: str = "") -> str:
    return _fmt(float(np.median(values)), unit) if values else "—"


def _count_text(counts: pd.Series) -> str:
    if len(counts) == 1:
        return str(counts.index[0])
    return "; ".join(f"{k} ({v} runs)" for k, v in counts.items())


def _version_texts(packages: pd.DataFrame) -> pd.Series:
    """Each row's package versions as text (``numpy 2.4.6, torch 2.13.0``), written once per
    combination: 10^5 runs share a handful."""
    combination = packages.groupby(list(packages.columns), dropna=False, sort=False).ngroup()
    first = packages.loc[~combination.duplicated().to_numpy()]
    text = {
        int(k): ", ".join(f"{c.removeprefix('environment.versions.')} {v}"
                          for c, v in row.items() if pd.notna(v))
        for k, (_, row) in zip(combination.loc[first.index], first.iterrows(), strict=True)
    }
    return combination.map(text)


def _environment(frame: pd.DataFrame) -> list[str]:
    env_columns = [c for c in frame.columns if c.startswith("environment.")]
    envs = (frame.loc[frame[env_columns].notna().any(axis=1), env_columns] if env_columns
            else frame.iloc[:0])
    if envs.empty:
        return ["## Environment", "", "The records carry no environment.", ""]

    def count(key: str) -> pd.Series:
        return _counts(_column(envs, f"environment.{key}", "unknown"))

    packages = [c for c in env_columns if c.startswith("environment.versions.")]
    versions = _counts(_version_texts(envs[packages]) if packages
                       else pd.Series("", index=envs.index))
    executors = _counts(frame["executor"].astype(str) + ", " + frame["workers"].astype(str)
                        + " worker(s)")
    stamps = sorted(t for t in frame["timestamp"] if t)
    revisions = count("git_revision")
    dirty = sum(v for k, v in revisions.items() if k.endswith("-dirty"))
    lines = [
        "## Environment",
        "",
        f"- Report generated {datetime.now(UTC).isoformat(timespec='seconds')}; runs recorded "
        + (f"{stamps[0]} to {stamps[-1]}." if stamps else "at unknown times."),
        f"- CPU: {_count_text(count('cpu'))}; {_count_text(count('cpu_count'))} logical cores.",
        f"- Threads per run (torch and BLAS pinned): {_count_text(count('threads'))}; executor: "
        f"{_count_text(executors)}.",
        f"- Python {_count_text(count('python'))} on {_count_text(count('platform'))}.",
        f"- Packages: {_count_text(versions)}.",
        f"- git revision: {_count_text(revisions)}"
        + (f" ({dirty} runs from a checkout with uncommitted changes)." if dirty else "."),
        "",
    ]
    return lines


def _caveats(frame: pd.DataFrame) -> list[str]:
    solvers = set(frame.loc[frame["attempted"], "solver"].astype(str))
    lines = [
        "## Caveats",
        "",
        "- **Evaluations count forward passes only.** A gradient step also makes one backward "
        "pass per example (listed separately above; it costs roughly one to two forward passes), "
        "so on the evaluation axis gradient methods look up to about 2-3x cheaper than their "
        "arithmetic. Seconds include everything.",
        "- **Seconds measure implementations, not ideas.** On networks of a few dozen weights "
        "the time per iteration is dominated by per-call overhead (Python, library dispatch), "
        "not arithmetic; timings come from a shared machine and carry noise of several percent.",
    ]
    # Each solver states its own caveat (solvers sharing an implementation share the text).
    for caveat in dict.fromkeys(
        SOLVERS[name].caveat for name in SOLVERS if name in solvers and SOLVERS[name].caveat
    ):
        lines.append(f"- {caveat}")
    dtypes = _counts(_column(frame, "config.dtype", "float64"))
    lines.append(
        "- **float64 vs float32.** The harness evaluates every target in float64. Solvers "
        "train in: "
        + ", ".join(f"{k} ({v} runs)" for k, v in dtypes.items())
        + ". float32 runs are faster per step in torch but may stall slightly above a tight "
        "target that float64 reaches."
    )
    if any(SOLVERS.get(s) is not None and not SOLVERS[s].single_start for s in solvers):
        lines.append(
            "- **Pairing of population methods.** Population methods put the seed's shared "
            "initial vector into their starting population (`ga`: member 0; `cmaes`: the "
            "initial mean) and draw the rest from the run's generator, so they are paired with "
            "the single-start solvers by seed and by that one vector, not by their whole start."
        )
    # A cell: one task with its options, one solver with its configuration; its runs: seeds.
    cell = ["group_key", "solver", *(c for c in frame.columns if c.startswith("config."))]
    per_cell = _group_sizes(frame, cell)
    seeds = int(np.median(per_cell)) if len(per_cell) else 0
    lines += [
        f"- **Few seeds.** With {seeds} seeds per cell, success rates must differ a lot to be "
        "distinguishable (the Wilson intervals show how much); COCO's example: 4/15 against "
        "0/15 successes is not significant at 5%.",
        "- **ERT assumes independent restarts** from fresh seeds; a solver whose failures are "
        "systematic (a task it cannot solve) has ERT = ∞ whatever its speed elsewhere.",
        "- **A seconds cap makes failed runs' cost depend on speed.** When a budget has both an "
        "evaluation and a seconds limit, a slow implementation that fails stops at the seconds "
        "cap having spent fewer evaluations than a fast one that fails at the evaluation cap; "
        "the ERT in evaluations then favours the slow one (e.g. `sgd` against "
        "`numpy-backprop`, which follow the same trajectory). Each record's stop reason says "
        "which limit ended it.",
        _tuning_caveat(frame),
        "- **Unsupported pairs count as unsolved** in the ECDFs and performance profiles (the "
        "legend says how many tasks each solver ran).",
        "",
    ]
    return lines


def _tuning_caveat(frame: pd.DataFrame) -> str:
    """What the runs' configurations are: defaults only, or defaults beside tuned choices."""
    arms = set(frame["arm"].dropna()) if "arm" in frame else set()
    if "tuned" in arms:
        return ("- **Tuned on other seeds, with a fixed budget.** A `[tuned]` row runs the "
                "configuration its tuning study chose per task (a few Sobol trials on separate "
                "tuning seeds, `tuned.json`); the other rows run their defaults unless the label "
                "lists the ones changed. A larger tuning budget can change a ranking (the "
                "verdict's *Robustness* subsection, where its studies were run).")
    return ("- **Defaults, not tuned.** Every solver runs with its default hyperparameters unless "
            "its label lists the ones changed; no per-task tuning was done for any solver, and "
            "results for a tuned solver would differ.")


def _group_sizes(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """How many rows share each combination of values of ``columns`` (missing values a value
    too; lists and other objects compared by their ``repr``), in no particular order.

    ``frame.groupby(columns, dropna=False).size()``, a column at a time: the group-by over a
    copy of some sixty configuration columns at once held 300 MB at 2 * 10^5 runs, the peak
    of the whole report.
    """
    ids = np.zeros(len(frame), dtype=np.int64)
    for name in columns:
        column = frame[name]
        if column.dtype == object:
            column = column.map(repr)  # lists do not hash
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        # Both below the row count, so the combined id stays far inside int64.
        ids = pd.factorize(ids * (len(uniques) + 1) + codes)[0]
    return np.unique(ids, return_counts=True)[1]


#: A number in a failure message: failures that differ only in their numbers are one kind.
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w|\.\d)")


def _failure_kind(message: str) -> tuple[str, tuple[float, ...]]:
    """A failure's first line with its numbers taken out, and the numbers."""
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return _NUMBER.sub("#", first), tuple(float(n) for n in _NUMBER.findall(first))


def _failure_text(kind: str, numbers: pd.Series) -> str:
    """The kind's message with each number put back: its value where every run gave the same,
    else the range the runs spanned."""
    slots = iter(zip(*numbers, strict=True)) if numbers.map(len).nunique() == 1 else None

    def put_back(_: re.Match[str]) -> str:
        values = next(slots, None) if slots is not None else None
        if not values:
            return "…"
        lo, hi = min(values), max(values)
        return f"{lo:.3g}" if lo == hi else f"{lo:.3g}–{hi:.3g}"

    return re.sub("#", put_back, kind)


def _errors(groups: Sequence[TaskGroup]) -> list[str]:
    """Failed runs, one row per kind of failure: the same stop reason and message up to its
    numbers, wherever it happened (twenty export-check failures are one row, with the tasks,
    solvers and seeds they hit and the range of the numbers in the message)."""
    # Each group's failed rows, not a copy of every run first.
    parts = [part for g in groups for part in [
        g.frame[g.frame["stop_reason"].isin(["error", "timeout", "numerical_failure"])]]
        if not part.empty]
    if not parts:
        return []
    failed = pd.concat(parts)
    kinds = failed["error"].astype(str).map(_failure_kind)
    failed = failed.assign(kind=kinds.str[0], numbers=kinds.str[1],
                           reason=failed["stop_reason"].astype(str))
    lines = [
        "## Runs that failed with an error",
        "",
        "| stop reason | message (first line; numbers as their range over the runs) | where "
        "(task: solver, seeds) | runs |",
        "|---|---|---|---|",
    ]
    by_kind = failed.groupby(["reason", "kind"], sort=False)
    for (reason, kind), rows in sorted(by_kind, key=lambda kv: -len(kv[1])):
        where = "; ".join(
            f"{task}: " + ", ".join(
                f"{label} on seeds {seed_text(sorted(set(part['seed'].tolist())))}"
                for label, part in at.groupby("label", sort=False))
            for task, at in rows.groupby(rows["group"].astype(str), sort=False))
        message = _cell(_failure_text(str(kind), rows["numbers"])[:_MESSAGE_CHARS])
        lines.append(f"| {reason} | {message} | {_cell(where)} | {len(rows)} |")
    return [*lines, ""]


def _contents(markdown_lines: Sequence[str]) -> list[str]:
    used: dict[str, int] = {}
    items = []
    fenced = False
    for line in markdown_lines:
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("#"):
            continue
        level = len(line) - len(line.lstrip("#"))
        text = line[level:].strip()
        slug = github_slug(text, used)
        if level == 2:
            items.append(f"- [{text}](#{slug})")
        elif level == 3:  # every subsection, so no section is out of reach
            items.append(f"  - [{text}](#{slug})")
    return ["## Contents", "", *items, ""]


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`build_report` wrote."""

    markdown: Path
    html: Path
    figures: tuple[Path, ...]
    failed_figures: tuple[str, ...]
    failed_sections: tuple[str, ...] = ()


def _rebuild_command(suite: str) -> str:
    """The ``--report-only`` command for a suite's records: a user's data is named by its file
    and column (the suite is implied), every other suite by its name."""
    command = "python benchmarks/run_all.py --report-only"
    if suite in ("", "default"):
        return f"`{command}`"
    if suite == "yours":
        return (f"`{command} --data FILE --target COLUMN` (the file, column and `--out` it "
                "ran with)")
    return f"`{command} --suite {suite}`"


def build_markdown(
    records: Sequence[RunRecord],
    title: str,
    md_path: Path,
    *,
    root: Path = ROOT,
    sections: Sequence[ReportSection] = REPORT_SECTIONS,
    superseded: int = 0,
    frame: pd.DataFrame | None = None,
    records_file: Path | None = None,
) -> tuple[str, _Figures, list[str]]:
    """The report as Markdown, drawing its figures into the folder next to ``md_path``.

    Returns the text, the figures drawn (and those that failed) and the registered sections
    (``sections``) that failed. ``superseded``: records the reader dropped because a later
    record of the same cell replaced them (said in the header). ``frame``: the records' runs
    frame (:func:`benchmarks.results.runs_frame`), built here if not given. ``records_file``:
    the file ``records`` were read from (every latest record of it, as ``read_records`` reads
    it); a section that reads the same file takes them instead of reading it again, which for
    10^5 records would cost minutes and a second copy of them in memory.
    """
    known = {records_file.resolve(): records} if records_file is not None else {}
    failed_sections: list[str] = []
    folder = figures_dir_for(md_path)
    figs = _Figures(folder=folder, base=md_path.parent)
    frame = runs_frame(records) if frame is None else frame
    suite = str(_counts(frame["suite"]).index[0]) if records else ""
    head = [
        f"# {title}",
        "",
        f"Generated from {len(records)} run records (suite `{suite}`"
        + (f"; {superseded} superseded records ignored" if superseded else "")
        + ") by "
        "`benchmarks/run_all.py`; do not edit. Rebuild it from the raw records, without running "
        "anything, with " + _rebuild_command(suite) + ".",
        "",
    ]
    if not records:
        return "\n".join([*head, "No records."]) + "\n", figs, failed_sections
    if all(r.arm == "trial" for r in records):
        # A tuning study: its runs are trials of many configurations, which the cross-solver
        # tables would pool into meaningless rows; the report is the study's own section.
        study = [
            *_facts(records, frame=frame),
            *tuning_section(_tuned_document(md_path, records), figs.make),
            *_environment(frame),
        ]
        text = "\n".join([*head, *_contents(study), *study]).rstrip() + "\n"
        return text, figs, failed_sections
    groups = group_records(records, frame)
    labels = solver_order(groups)
    colours = fig.palette(labels)
    figs.colours = colours
    tuned_doc = _tuned_document(md_path, records)
    body = [
        *verdict_section(groups),
        *robustness_section(groups, md_path, figs.make),
        *protocol_section(records, frame, tuned_doc),
        *_facts(records, md_path, root, sections, frame, known),
        *_how_to_read(N_BOOT),
        "## Summary across tasks",
        "",
        *_headline(groups, labels),
        *figs.make(
            "success",
            lambda p: fig.success_heatmap(groups, labels, p),
            "Success rate of each solver on each task (k/n seeds reaching the task's target)",
        ),
        "### Runtime ECDFs",
        "",
        "The share of (task, target) pairs a solver reaches within a given cost, averaged "
        "over pairs, each pair weighing the same (COCO's runtime ECDF, a data profile). A "
        "curve further left is cheaper, higher is more reliable; the height at the right "
        "edge is the share of targets ever reached.",
        "",
        _targets_text(),
        "",
        *figs.make(
            "ecdf",
            lambda p: fig.runtime_ecdf_figure(groups, labels, colours, p),
            "Runtime ECDFs over all (task, target) pairs, in evaluations and in seconds",
        ),
        *_profiles_section(groups, labels, figs),
        *_comparisons_section(groups, figs),
        *within_paradigm_section(groups, {g.name: regime_of(g) for g in groups}),
        "## Per task",
        "",
    ]
    for g in groups:
        body += _task_section(g, figs)
    body += tuning_section(tuned_doc, figs.make)
    body += scaling_section(groups, labels, figs)
    body += _registered_sections(md_path, root, sections, failed_sections, known)
    body += _accounting(records, frame)
    body += _environment(frame)
    body += _caveats(frame)
    body += _errors(groups)
    if figs.failed:
        body += ["## Figures that failed", "", *[f"- {_cell(f)}" for f in figs.failed], ""]
    if failed_sections:
        body += ["## Sections that failed", "", *[f"- {_cell(f)}" for f in failed_sections], ""]
    text = "\n".join([*head, *_contents(body), *body]).rstrip() + "\n"
    return text, figs, failed_sections


def build_report(
    records: Sequence[RunRecord],
    md_path: Path,
    title: str,
    *,
    root: Path = ROOT,
    sections: Sequence[ReportSection] = REPORT_SECTIONS,
    superseded: int = 0,
    records_file: Path | None = None,
) -> ReportFiles:
    """Write ``md_path``, its figures folder, the self-contained HTML next to it and the runs
    as CSV (``<suite>-runs.csv``, one row per run: :mod:`benchmarks.results`).

    Every file is written whole or not at all, and an old report's files are replaced only by
    a complete build: figures of tasks no longer in the records are removed after the new
    report is in place, never before.

    Args:
        records: the raw run records (any suite).
        md_path: where the Markdown goes; the HTML takes the same name with ``.html``.
        title: the report's title.
        root: repository root, where the benchmark table looks for saved runs.
        sections: the study and benchmark sections to append (default: the registry).
        superseded: records the reader dropped because a later record of the cell won.
        records_file: the file ``records`` are every latest record of, if any (a section that
            reads it takes them instead of reading it again).
    """
    md_path.parent.mkdir(parents=True, exist_ok=True)
    frame = runs_frame(records)
    text, figs, failed_sections = build_markdown(
        records, title, md_path, root=root, sections=sections, superseded=superseded,
        frame=frame, records_file=records_file,
    )
    write_atomic(md_path, text)
    # The registered study and benchmark sections are long appendices: folded in the HTML.
    html_path = write_html(
        text, md_path.parent, title, md_path.with_suffix(".html"),
        folded=[section.title for section in sections],
    )
    if records:  # last: it streams to its file, and the report comes first
        write_csv(frame, runs_csv_path(md_path, str(_counts(frame["suite"]).index[0])))
    made = set(figs.made)
    for old in figs.folder.glob("*.png") if figs.folder.is_dir() else ():
        if old not in made:  # a figure of a task no longer in the records
            old.unlink()
    return ReportFiles(
        md_path, html_path, tuple(figs.made), tuple(figs.failed), tuple(failed_sections)
    )


def runs_csv_path(md_path: Path, suite: str) -> Path:
    """Where a report's runs go as CSV: ``<suite>-runs.csv`` next to it."""
    return md_path.parent / f"{suite}-runs.csv"


def write_report(
    records: Sequence[RunRecord], path: Path, title: str, *, superseded: int = 0,
    records_file: Path | None = None,
) -> Path:
    """Write the Markdown report to ``path`` (plus its figures and ``.html``); return ``path``.

    ``superseded``: records the reader dropped because a later record of the cell won;
    ``records_file``: the file ``records`` were read from (:func:`build_report`).
    """
    return build_report(records, path, title, superseded=superseded,
                        records_file=records_file).markdown


__all__ = ["ReportFiles", "build_markdown", "build_report", "figures_dir_for", "write_report"]
