"""Running a suite: validate everything first, then run cell by cell, appending records.

Every cell is validated (task and solver built) before the first run starts, so a typo fails in
a second, not an hour in. Records are appended and flushed one at a time; cells whose key is
already recorded are skipped, so an interrupted suite resumes where it stopped.
"""

from __future__ import annotations

import functools
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.harness import check_budget_fits, run_one
from benchmarks.records import RecordWriter, RunRecord, cell_key, read_records
from benchmarks.suites import Cell
from solvers import get_solver
from tasks import get_task
from tasks.base import Task


@functools.lru_cache(maxsize=64)
def _task(name: str, options_items: tuple[tuple[str, Any], ...]) -> Task:
    return get_task(name, **dict(options_items))


def _freeze(options: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


def build_task(cell: Cell) -> Task:
    """The cell's task (cached: tasks are frozen and identical across seeds)."""
    return _task(cell.task, _freeze(cell.task_options))


def key_of(cell: Cell) -> str:
    """The stable key of a cell, equal to the key its record will carry."""
    task = build_task(cell)
    solver = get_solver(cell.solver, **cell.solver_options)
    return cell_key(task=task.name, task_options=dict(task.options), solver=solver.name,
                    config=solver.config(), budget=cell.budget.to_dict(), seed=cell.seed)


def validate_cells(cells: Sequence[Cell]) -> None:
    """Build every task and solver of the grid once; raise on the first bad name or value."""
    seen: set[tuple[Any, ...]] = set()
    for cell in cells:
        ident = (cell.task, _freeze(cell.task_options), cell.solver, _freeze(cell.solver_options))
        if ident in seen:
            continue
        seen.add(ident)
        task = build_task(cell)
        solver = get_solver(cell.solver, **cell.solver_options)
        if solver.unsupported_reason(task) is None:
            check_budget_fits(solver, task, cell.budget)


def run_cell(cell: Cell, suite: str, threads: int = 1, executor: str = "serial",
             workers: int = 1) -> RunRecord:
    """Run one cell (a module-level function, so process and Dask executors can ship it)."""
    return run_one(
        build_task(cell),
        get_solver(cell.solver, **cell.solver_options),
        cell.budget,
        cell.seed,
        suite=suite,
        threads=threads,
        executor=executor,
        workers=workers,
    )


@dataclass
class SuiteSummary:
    """What a suite run did."""

    ran: int
    skipped_done: int
    failed: int
    stop_reasons: Counter[str]
    seconds: float
    records_path: Path
    bad_lines: int

    def describe(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.stop_reasons.items()))
        return (
            f"ran {self.ran} runs in {self.seconds:.1f} s, skipped {self.skipped_done} already "
            f"recorded, {self.failed} failed (error/timeout/diverged); stop reasons: "
            f"{reasons or 'none'}; records in {self.records_path}"
        )


def done_keys(path: Path) -> tuple[set[str], int]:
    """Keys already recorded in ``path`` and the number of unreadable (torn) lines."""
    if not path.exists():
        return set(), 0
    result = read_records([path])
    for file, lineno, why in result.bad_lines:
        print(f"warning: ignoring unreadable record at {file}:{lineno} ({why})", file=sys.stderr)
    return {r.key for r in result.records}, len(result.bad_lines)


def run_cells(
    cells: Iterable[Cell],
    *,
    suite: str,
    records_path: Path,
    rerun: bool = False,
    progress: bool = True,
    threads: int = 1,
) -> SuiteSummary:
    """Run cells serially, appending each record to ``records_path`` as it finishes."""
    cells = list(cells)
    validate_cells(cells)
    done, bad = (set(), 0) if rerun else done_keys(records_path)
    todo = [c for c in cells if rerun or key_of(c) not in done]
    skipped = len(cells) - len(todo)
    reasons: Counter[str] = Counter()
    failed = 0
    start = time.perf_counter()
    bar = tqdm(total=len(todo), disable=not progress, unit="run", dynamic_ncols=True,
               desc=suite, file=sys.stderr)
    with RecordWriter(records_path) as writer:
        for cell in todo:
            record = run_cell(cell, suite, threads)
            writer.write(record)
            reasons[record.stop_reason] += 1
            failed += record.stop_reason in ("error", "timeout", "diverged")
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)
    bar.close()
    return SuiteSummary(len(todo), skipped, failed, reasons, time.perf_counter() - start,
                        records_path, bad)
