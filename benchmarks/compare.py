"""Compare two record sets cell by cell: what changed between two machines (or two runs)?

The benchmark's budgets are in evaluations, so a run on another machine should give the same
records, and mostly does; the question a user asks after running the suite is *which* cells
differ, how, and whether the verdict survives. This module answers it from the records alone:

* Cells are matched by ``key`` (task, options, solver, configuration, budget, seed and the
  benchmark's version), so two runs of one commit match cell for cell; a cell in one set only
  is listed, never guessed at.
* Each matched cell gets one class, the first that applies, from the most to the least
  serious: ``outcome`` (success or stop reason differs), ``cost to target`` (same outcome,
  different iterations or evaluations to the target), ``parameters only`` (same outcome and
  cost; final parameters, final metrics or the iterations and evaluations spent differ) and
  ``identical``. Seconds are never compared: they differ on every machine.
* The verdict (:func:`benchmarks.report.verdict.task_verdicts`) is computed on each side: the
  paradigm it picks per task, and each paradigm's success count ``k/n`` with its Wilson
  interval. The verdict holds when every pick and every ``k/n`` agree.

Across CPUs some differences are expected (``results/reference/README.md``): torch's kernels
round differently from one CPU to another, L-BFGS's line searches amplify those differences,
and ZORB at ``rcond`` 1e-15 rests on round-off (its export check says so in its reason,
``CPU-dependent``). What is *not* expected is an outcome change in a solver that computes in
NumPy whose record does not say it is CPU-dependent, or a changed pick: the report flags both.

Run: ``python -m benchmarks.compare OTHER [--base results] [--suite default] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from benchmarks.records import RunRecord
from benchmarks.report.analysis import group_records, solver_order
from benchmarks.report.verdict import TaskVerdict, task_verdicts
from benchmarks.results import UnreadableRecordWarning, read, runs_frame, write_atomic
from solvers import SOLVERS
from solvers.base import PARADIGMS
from tasks._validation import check_file_target
from tasks.errors import BenchmarkError, InvalidParameterError

#: The classes of a matched cell, from the least to the most serious.
IDENTICAL = "identical"
PARAMETERS = "parameters only"
COST = "cost to target"
OUTCOME = "outcome"
CLASSES: tuple[str, ...] = (IDENTICAL, PARAMETERS, COST, OUTCOME)
#: What a record's reason says when its outcome rests on the CPU's round-off (ZORB's export
#: check writes it; see ``solvers/zorb.py``).
CPU_DEPENDENT = "CPU-dependent"
#: Rows listed per table of cells before the rest are only counted.
MAX_LISTED = 50


class CompareError(InvalidParameterError):
    """Two record sets that cannot be compared (a missing file, no records, no common cell)."""


# --------------------------------------------------------------------------------------------
# Records of the comparison
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellDiff:
    """One cell present in both sets, and how the other set's record differs from the base's."""

    key: str
    group: str
    label: str
    solver: str
    seed: int
    kind: str
    base_stop: str
    other_stop: str
    base_cost: int | None
    other_cost: int | None
    base_success: bool = False
    other_success: bool = False
    note: str = ""

    @property
    def expected(self) -> bool:
        """Whether a difference of this kind is expected across CPUs (see the module doc)."""
        return self.kind != OUTCOME or self.note.startswith("expected")


@dataclass(frozen=True)
class OneSide:
    """A cell found in only one of the two sets."""

    key: str
    group: str
    label: str
    seed: int
    side: str


@dataclass(frozen=True)
class TaskAgreement:
    """The verdict on one task on each side: the pick and each paradigm's ``k/n [interval]``."""

    group: str
    base_pick: str | None
    other_pick: str | None
    base_entries: dict[str, str]
    other_entries: dict[str, str]
    base_decided: str
    other_decided: str
    base_ert: dict[str, float]
    other_ert: dict[str, float]
    base_labels: dict[str, str]
    other_labels: dict[str, str]

    @property
    def same_pick(self) -> bool:
        return self.base_pick == self.other_pick

    @property
    def same_counts(self) -> bool:
        return self.base_entries == self.other_entries

    @property
    def same_solvers(self) -> bool:
        """Whether each paradigm is represented by the same solver label on both sides."""
        return self.base_labels == self.other_labels

    @property
    def agrees(self) -> bool:
        """The verdict's agreement: the same pick and every paradigm's ``k/n`` and interval
        (a paradigm's best solver may change between equally successful ones)."""
        return self.same_pick and self.same_counts


@dataclass(frozen=True)
class Side:
    """One record set: where it came from and what machine and commit made it."""

    name: str
    path: Path
    records: tuple[RunRecord, ...]
    cpu: str
    commit: str
    versions: str


@dataclass(frozen=True)
class Comparison:
    """Everything the command reports: matched cells, one-sided cells and the verdicts."""

    base: Side
    other: Side
    cells: tuple[CellDiff, ...]
    only: tuple[OneSide, ...]
    tasks: tuple[TaskAgreement, ...]
    labels: tuple[str, ...]

    def counts(self) -> pd.DataFrame:
        """Cells per solver label (rows, in report order, then ``all``) and class (columns)."""
        frame = pd.DataFrame({"label": [c.label for c in self.cells],
                              "kind": [c.kind for c in self.cells]})
        table = pd.crosstab(frame["label"], frame["kind"]).reindex(
            index=[lab for lab in self.labels if lab in set(frame["label"])],
            columns=list(CLASSES), fill_value=0)
        table.loc["all"] = table.sum()
        table.insert(0, "cells", table.sum(axis=1))
        return table.astype(int)

    def of_kind(self, kind: str) -> list[CellDiff]:
        return [c for c in self.cells if c.kind == kind]

    @property
    def unexpected(self) -> list[CellDiff]:
        """Outcome changes nothing explains: not torch, not marked CPU-dependent."""
        return [c for c in self.cells if not c.expected]

    @property
    def verdict_holds(self) -> bool:
        return bool(self.tasks) and all(t.agrees for t in self.tasks)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def records_path(path: Path, suite: str, option: str) -> Path:
    """The records file a command-line path names: a ``.jsonl`` file as is, a results folder's
    ``raw/<suite>.jsonl`` (or ``<suite>.jsonl`` directly in it)."""
    if not path.exists() and not path.is_symlink():
        raise CompareError(f"{option[0].upper()}{option[1:]} names {str(path)!r}, which does not "
                           f"exist: give a results folder (with raw/{suite}.jsonl) or a records "
                           f"file (.jsonl).")
    if path.is_dir():
        for candidate in (path / "raw" / f"{suite}.jsonl", path / f"{suite}.jsonl"):
            if candidate.exists():
                path = candidate
                break
        else:
            raise CompareError(
                f"{option[0].upper()}{option[1:]} names {str(path)!r}, a folder without records "
                f"of suite {suite!r}: "
                f"neither {str(path / 'raw' / f'{suite}.jsonl')!r} nor "
                f"{str(path / f'{suite}.jsonl')!r} exists (run the suite with --out there, or "
                f"pass --suite).")
    check_file_target(path, "records file", source=option, write=False)
    return path


def _most_common(values: Sequence[Any]) -> str:
    present = [str(v) for v in values if v not in (None, "")]
    return pd.Series(present).mode().iloc[0] if present else "unknown"


def read_side(path: Path, suite: str, option: str, name: str) -> Side:
    """One side's records (the latest record of each cell), with its machine and commit.

    Args:
        path: a results folder or records file.
        suite: the suite whose records a folder holds.
        option: where the path came from, for messages (``"the '--base' option"``).
        name: what the report calls this side.
    """
    file = records_path(path, suite, option)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableRecordWarning)
        records = tuple(read(file))
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if not records:
        why = f" ({len(caught)} unreadable lines, the first: {caught[0].message})" if caught else ""
        raise CompareError(f"The records file {str(file)!r} (from {option}) holds no records"
                           f"{why}; run a suite first or name another file.")
    env = [r.environment for r in records]
    versions = _most_common([
        ", ".join(f"{lib} {e.get('versions', {}).get(lib, '?')}" for lib in ("torch", "numpy"))
        for e in env])
    return Side(name=name, path=file, records=records,
                cpu=_most_common([e.get("cpu") for e in env]),
                commit=_most_common([str(e.get("git_revision", ""))[:7] for e in env]),
                versions=versions)


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def _same_value(a: Any, b: Any) -> bool:
    """Exact equality, NaN equal to NaN (a diverged metric is NaN on both sides)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _same_metrics(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


def _same_params(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and bool(np.array_equal(np.asarray(a, dtype=float),
                                                    np.asarray(b, dtype=float), equal_nan=True))


def classify(base: RunRecord, other: RunRecord) -> str:
    """The class of a matched cell (module docstring): the most serious difference found."""
    if base.success != other.success or base.stop_reason != other.stop_reason:
        return OUTCOME
    if (base.iterations_to_target, base.evaluations_to_target) != (
            other.iterations_to_target, other.evaluations_to_target):
        return COST
    same = (
        (base.iterations, base.evaluations) == (other.iterations, other.evaluations)
        and _same_metrics(base.final_train, other.final_train)
        and _same_metrics(base.final_test, other.final_test)
        and _same_params(base.final_params, other.final_params)
    )
    return IDENTICAL if same else PARAMETERS


def computes_in_torch(solver: str) -> bool:
    """Whether a solver's arithmetic runs in torch (its module imports torch): those are the
    solvers whose records differ across CPUs, because torch's kernels round differently."""
    cls = SOLVERS.get(solver)
    module = sys.modules.get(cls.__module__) if cls is not None else None
    return module is not None and "torch" in vars(module)


def outcome_note(base: RunRecord, other: RunRecord) -> str:
    """Why an outcome change is expected across CPUs, or ``not expected: ...``."""
    if any(CPU_DEPENDENT in text for r in (base, other) for text in (r.error, r.stop_detail)):
        return "expected: the record says its outcome is CPU-dependent (it rests on round-off)"
    if computes_in_torch(base.solver):
        if base.solver == "lbfgs":
            return "expected: torch rounding, amplified by L-BFGS's line search"
        return "expected: torch kernels round differently across CPUs"
    return "not expected: a NumPy solver whose record does not say it is CPU-dependent"


def _cost(record: RunRecord) -> int | None:
    return record.evaluations_to_target


def compare_cells(base: Side, other: Side) -> tuple[list[CellDiff], list[OneSide]]:
    """Every matched cell classified, and the cells found in one set only."""
    base_frame = runs_frame(base.records)
    other_frame = runs_frame(other.records)
    theirs = {r.key: i for i, r in enumerate(other.records)}
    ours = {r.key for r in base.records}
    cells: list[CellDiff] = []
    only: list[OneSide] = []
    for i, record in enumerate(base.records):
        row = base_frame.iloc[i]
        j = theirs.get(record.key)
        if j is None:
            only.append(OneSide(record.key, str(row["group"]), str(row["label"]), record.seed,
                                base.name))
            continue
        twin = other.records[j]
        kind = classify(record, twin)
        cells.append(CellDiff(
            key=record.key, group=str(row["group"]), label=str(row["label"]),
            solver=record.solver, seed=record.seed, kind=kind,
            base_stop=str(record.stop_reason), other_stop=str(twin.stop_reason),
            base_cost=_cost(record), other_cost=_cost(twin),
            base_success=record.success, other_success=twin.success,
            note=outcome_note(record, twin) if kind == OUTCOME else "",
        ))
    for j, record in enumerate(other.records):
        if record.key not in ours:
            row = other_frame.iloc[j]
            only.append(OneSide(record.key, str(row["group"]), str(row["label"]), record.seed,
                                other.name))
    return cells, only


# --------------------------------------------------------------------------------------------
# The verdict on each side
# --------------------------------------------------------------------------------------------


def _verdicts(records: Sequence[RunRecord]) -> tuple[dict[str, TaskVerdict], list[str]]:
    groups = group_records(records)
    return {v.group.name: v for v in task_verdicts(groups)}, solver_order(groups)


def compare_verdicts(base: dict[str, TaskVerdict], other: dict[str, TaskVerdict]
                     ) -> list[TaskAgreement]:
    """Per task group (in the base's order, then the other's): picks and ``k/n`` on each side.

    A task on one side only has no pick and no entries on the other, so it disagrees.
    """
    out = []
    for name in dict.fromkeys([*base, *other]):
        a, b = base.get(name), other.get(name)
        out.append(TaskAgreement(
            group=name,
            base_pick=a.pick if a else None,
            other_pick=b.pick if b else None,
            base_entries={p: e.success_text() for p, e in a.entries.items()} if a else {},
            other_entries={p: e.success_text() for p, e in b.entries.items()} if b else {},
            base_decided=a.decided if a else "absent",
            other_decided=b.decided if b else "absent",
            base_ert={p: e.ert for p, e in a.entries.items()} if a else {},
            other_ert={p: e.ert for p, e in b.entries.items()} if b else {},
            base_labels={p: e.label for p, e in a.entries.items()} if a else {},
            other_labels={p: e.label for p, e in b.entries.items()} if b else {},
        ))
    return out


def compare(base: Side, other: Side) -> Comparison:
    """Compare two record sets (``base`` is the reader's own run, ``other`` what it is held
    against); raises :class:`CompareError` when they have no cell in common."""
    cells, only = compare_cells(base, other)
    if not cells:
        raise CompareError(
            f"The records in {str(base.path)!r} and {str(other.path)!r} have no cell in common "
            f"(no key in both; {len(base.records)} and {len(other.records)} records): they come "
            f"from different suites, options or benchmark versions.")
    base_verdicts, labels = _verdicts(base.records)
    other_verdicts, other_labels = _verdicts(other.records)
    labels += [lab for lab in other_labels if lab not in labels]
    return Comparison(base=base, other=other, cells=tuple(cells), only=tuple(only),
                      tasks=tuple(compare_verdicts(base_verdicts, other_verdicts)),
                      labels=tuple(labels))


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _both(a: str, b: str) -> str:
    """One table cell: the value if both sides agree, else ``base → other``."""
    return a if a == b else f"**{a} → {b}**"


def _outcome(stop: str, success: bool) -> str:
    return f"{stop} ({'target reached' if success else 'target missed'})"


def _fmt_ert(value: float | None) -> str:
    if value is None:
        return "—"
    return "∞" if not math.isfinite(value) else f"{value:,.0f}"


def verdict_sentence(c: Comparison) -> str:
    """Whether the verdict holds, in words."""
    tasks = c.tasks
    picks = sum(t.same_pick for t in tasks)
    counts = sum(t.same_counts for t in tasks)
    swapped = [t.group for t in tasks if t.agrees and not t.same_solvers]
    also = (f" A paradigm's best solver changed, with the same k/n, on {', '.join(swapped)}."
            if swapped else "")
    if c.verdict_holds:
        return (f"The verdict holds: the same paradigm is picked on all {len(tasks)} tasks, and "
                f"every paradigm's success count k/n and Wilson interval agree.{also}")
    off = [t.group for t in tasks if not t.agrees]
    return (f"The verdict differs: the same pick on {picks} of {len(tasks)} tasks, the same "
            f"k/n and intervals on {counts} of {len(tasks)}; it differs on "
            f"{', '.join(off)}.{also}")


def summary_lines(c: Comparison) -> list[str]:
    """The few lines the command prints."""
    counts = c.counts().loc["all"]
    mine = sum(o.side == c.base.name for o in c.only)
    lines = [
        f"{c.base.name} vs {c.other.name}: {len(c.cells):,} cells in both "
        f"({mine} only in {c.base.name}, {len(c.only) - mine} only in {c.other.name})",
        "  " + ", ".join(f"{kind} {int(counts[kind]):,}" for kind in CLASSES),
        "  " + verdict_sentence(c),
    ]
    if c.unexpected:
        lines.append(f"  {_plural(len(c.unexpected), 'outcome change')} not expected across "
                     f"CPUs (a NumPy solver, not marked CPU-dependent): see the written section")
    return lines


def _opening(c: Comparison) -> str:
    counts = c.counts().loc["all"]
    mine = sum(o.side == c.base.name for o in c.only)
    parts = [
        f"{c.base.name} ({c.base.cpu}, commit {c.base.commit}, {c.base.versions}) against "
        f"{c.other.name} ({c.other.cpu}, commit {c.other.commit}, {c.other.versions}). "
        f"Of the {len(c.cells):,} cells in both sets, {int(counts[IDENTICAL]):,} are identical, "
        f"{int(counts[PARAMETERS]):,} differ in their final parameters or metrics only, "
        f"{int(counts[COST]):,} in their cost to target and {int(counts[OUTCOME]):,} in their "
        f"outcome (success or stop reason)."
    ]
    if c.only:
        parts.append(f"{_plural(mine, 'cell')} only in {c.base.name} and "
                     f"{_plural(len(c.only) - mine, 'cell')} only in {c.other.name} (not "
                     f"compared).")
    if c.base.commit != c.other.commit:
        parts.append(f"The two sets come from different commits ({c.base.commit}, "
                     f"{c.other.commit}): code changes, not only the CPU, can explain "
                     f"differences.")
    if c.base.versions != c.other.versions:
        parts.append("The library versions differ, which also changes rounding.")
    changed = sorted({d.label for d in c.cells if d.kind != IDENTICAL})
    if changed:
        parts.append(f"The solvers with a difference: {', '.join(changed)}.")
    parts.append(verdict_sentence(c))
    if c.unexpected:
        parts.append(f"{_plural(len(c.unexpected), 'outcome change')} in a solver that computes "
                     f"in NumPy, without a record saying it is CPU-dependent, is not expected "
                     f"across CPUs: see the list below.")
    elif any(d.kind == OUTCOME for d in c.cells):
        parts.append("Every outcome change is of a kind expected across CPUs (see the notes "
                     "below).")
    return " ".join(parts)


def markdown(c: Comparison) -> str:
    """The ``## Comparison with <other>`` section: a paragraph in words, then the tables."""
    lines = [f"## Comparison with {c.other.name}", "", _opening(c), "",
             "### Cells by solver", "",
             "Classes, from the most serious: *outcome* (success or stop reason differs), "
             "*cost to target* (same outcome, different iterations or evaluations to the "
             "target), *parameters only* (same outcome and cost; final parameters, final "
             "metrics or the budget spent differ), *identical*. Seconds are never compared.", ""]
    table = c.counts()
    lines.append("| solver | cells | " + " | ".join(CLASSES) + " |")
    lines.append("|---|" + "---:|" * (len(CLASSES) + 1))
    for label, row in table.iterrows():
        name = "**all**" if label == "all" else _cell(str(label))
        lines.append(f"| {name} | " + " | ".join(f"{int(row[k]):,}" for k in ["cells", *CLASSES])
                     + " |")
    outcome = c.of_kind(OUTCOME)
    lines += ["", "### Cells whose outcome differs", ""]
    if outcome:
        lines.append(f"| task | solver | seed | stop reason ({_cell(c.base.name)}) | "
                     f"stop reason ({_cell(c.other.name)}) | across CPUs |")
        lines.append("|---|---|---:|---|---|---|")
        for d in outcome[:MAX_LISTED]:
            lines.append(f"| {_cell(d.group)} | {_cell(d.label)} | {d.seed} | "
                         f"{_outcome(d.base_stop, d.base_success)} | "
                         f"{_outcome(d.other_stop, d.other_success)} | {d.note} |")
        if len(outcome) > MAX_LISTED:
            lines.append(f"\n{len(outcome) - MAX_LISTED} more not listed.")
    else:
        lines.append("None.")
    cost = c.of_kind(COST)
    lines += ["", "### Cells whose cost to target differs", ""]
    if cost:
        lines.append(f"| task | solver | seed | evaluations to target ({c.base.name}) | "
                     f"({c.other.name}) |")
        lines.append("|---|---|---:|---:|---:|")
        for d in cost[:MAX_LISTED]:
            lines.append(f"| {_cell(d.group)} | {_cell(d.label)} | {d.seed} | "
                         f"{_fmt_ert(d.base_cost)} | {_fmt_ert(d.other_cost)} |")
        if len(cost) > MAX_LISTED:
            lines.append(f"\n{len(cost) - MAX_LISTED} more not listed.")
    else:
        lines.append("None.")
    if c.only:
        lines += ["", "### Cells in one set only", "", "| in | task | solver | seed |",
                  "|---|---|---|---:|"]
        for o in c.only[:MAX_LISTED]:
            lines.append(f"| {o.side} | {_cell(o.group)} | {_cell(o.label)} | {o.seed} |")
        if len(c.only) > MAX_LISTED:
            lines.append(f"\n{len(c.only) - MAX_LISTED} more not listed.")
    lines += ["", "### The verdict on each side", "",
              f"Per task: the paradigm picked and each paradigm's best solver with its "
              f"successes k/n and 95% Wilson interval, and its ERT in evaluations (which may "
              f"differ without changing the verdict); where the sides differ, "
              f"**{c.base.name} → {c.other.name}**.", ""]
    paradigms = [p for p in PARADIGMS
                 if any(p in t.base_entries or p in t.other_entries for t in c.tasks)]
    lines.append("| task | pick | " + " | ".join(paradigms) + " | decided | agree |")
    lines.append("|---|---|" + "---|" * len(paradigms) + "---|---|")
    for t in c.tasks:
        cells = []
        for p in paradigms:
            a, b = t.base_entries.get(p, "—"), t.other_entries.get(p, "—")
            ert = _both(_fmt_ert(t.base_ert.get(p)), _fmt_ert(t.other_ert.get(p)))
            label = _both(t.base_labels.get(p, "—"), t.other_labels.get(p, "—"))
            cells.append(f"{_cell(label)}: {_both(a, b)}, ERT {ert}")
        lines.append(f"| {_cell(t.group)} | {_both(str(t.base_pick), str(t.other_pick))} | "
                     + " | ".join(cells)
                     + f" | {_both(t.base_decided, t.other_decided)} | "
                     + ("yes" if t.agrees else "**no**") + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def default_out(base: Path, suite: str) -> Path:
    """``<base>/compare-<suite>.md``; for a records file, beside its results folder."""
    if base.is_dir():
        return base / f"compare-{suite}.md"
    folder = base.parent.parent if base.parent.name == "raw" else base.parent
    return folder / f"compare-{suite}.md"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description="Compare two record sets cell by cell (e.g. your run with the reference "
        "made on another CPU): which cells differ and how, per solver, and whether the "
        "verdict's picks, k/n and intervals agree. Writes a Markdown section and prints a "
        "summary.",
    )
    parser.add_argument("other", type=Path,
                        help="the results folder (its raw/<suite>.jsonl) or records file to "
                        "compare with, e.g. results/reference")
    parser.add_argument("--base", type=Path, default=Path("results"),
                        help="your results folder or records file (default: results)")
    parser.add_argument("--suite", default="default",
                        help="the suite whose records a folder holds (default: default)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the Markdown file to write (default: <base>/compare-<suite>.md)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line. Statuses: 0 written; 2 a bad input (one line, no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)

    def fail(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {message}\n")

    out = args.out if args.out is not None else default_out(args.base, args.suite)
    try:
        base = read_side(args.base, args.suite, "the '--base' option", str(args.base))
        other = read_side(args.other, args.suite, "the OTHER argument", str(args.other))
        check_file_target(out, "comparison report", source="the '--out' option"
                          if args.out is not None else "the '--base' and '--suite' options")
        result = compare(base, other)
    except BenchmarkError as exc:
        fail(str(exc))
    try:
        write_atomic(out, markdown(result))
    except OSError as exc:
        fail(f"The comparison report {str(out)!r} cannot be written: {exc.strerror or exc}.")
    print("\n".join(summary_lines(result)))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
