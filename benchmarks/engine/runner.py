"""Running a suite: validate every cell, skip what is recorded, run the rest, append records.

Every cell is validated (task and solver built) before the first run starts, so a typo fails in
a second, not an hour in. The runs then go to an engine (``benchmarks/engine/executors.py``: serial,
local processes or Dask) through one code path: submit every cell, take results as they
complete, and write each record as it arrives. Only this process writes the records file (one
writer, holding an advisory lock), one record at a time with a flush and an fsync, so:

- a suite killed with SIGKILL loses only the runs in flight; rerunning the same command skips
  every cell whose key is already recorded (``rerun=True`` runs them again);
- a torn last line (the process died mid-write) is reported with its file and line, ignored,
  and isolated on its own line before the next record is appended, so it never merges;
- Ctrl-C stops the workers, keeps every finished record and says how to resume;
- a run that raises or diverges is recorded by the harness with its reason; a run that exceeds
  the engine's wall-clock limit is killed and recorded as ``timeout``; a run whose worker died
  is retried (``retries`` times) and then recorded as ``error`` with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import torch
from tqdm import tqdm

from benchmarks.budget import StopReason
from benchmarks.engine.executors import (
    Engine,
    EngineError,
    ExecutorConfig,
    SerialEngine,
    open_engine,
    run_preload,
)
from benchmarks.environment import environment
from benchmarks.harness import check_budget_fits, empty_record, record_base, run_one
from benchmarks.records import RecordWriter, RunRecord, cell_key, read_records
from benchmarks.suites import PER_SEED, Cell, resolve_options
from solvers import get_solver
from solvers.base import Solver
from tasks import get_task
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import BenchmarkError, RunTimeoutError

try:  # advisory locks exist on POSIX only; elsewhere the single-writer rule is by convention
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: A suite whose first this-many runs all fail before reporting back stops (see ``_drive``).
BROKEN_AFTER = 3

#: Stop reasons that count as failures in the progress bar and the summary.
FAILURES = frozenset({StopReason.ERROR, StopReason.TIMEOUT, StopReason.DIVERGED})


@functools.lru_cache(maxsize=64)
def _task(name: str, options_items: tuple[tuple[str, Any], ...]) -> Task:
    return get_task(name, **dict(options_items))


def _freeze(options: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


def build_task(cell: Cell) -> Task:
    """The cell's task (cached: tasks are frozen and identical across seeds)."""
    return _task(cell.task, _freeze(resolve_options(cell.task_options, cell.seed)))


def key_of(cell: Cell) -> str:
    """The stable key of a cell, equal to the key its record will carry."""
    task = build_task(cell)
    solver = get_solver(cell.solver, **cell.solver_options)
    return cell_key(
        task=task.name,
        task_options=dict(task.options),
        solver=solver.name,
        config=solver.config(),
        budget=cell.budget.to_dict(),
        seed=cell.seed,
        arm=cell.arm,
        trial=cell.trial,
    )


def stamp(record: RunRecord, cell: Cell) -> RunRecord:
    """What the cell, not the harness, knows: its key, its arm and trial, and its task options
    as the suite wrote them (``data_seed: per-seed`` stays so, and the report groups runs of
    every seed together; the resolved value is the record's seed)."""
    return dataclasses.replace(
        record,
        key=key_of(cell),
        task_options={
            **record.task_options,
            **{k: v for k, v in cell.task_options.items() if v == PER_SEED},
        },
        arm=cell.arm,
        trial=cell.trial,
    )



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


def load_plugins(plugins: Sequence[str]) -> None:
    """Import ``module`` or call ``module:function`` for each plugin (registering extra solvers).

    Worker processes and Dask workers start from a fresh interpreter, so solvers or tasks added
    to the registries at run time (a notebook, a test) exist there only if the worker imports
    the code that adds them. Every run calls this first; registration functions must therefore
    be idempotent.
    """
    for plugin in plugins:
        run_preload(plugin)


def warm_worker() -> None:
    """Pay a process's one-off costs before it takes its first run.

    The first torch optimizer step of a process spends about a second (several on a loaded
    machine) on lazy initialisation; unpaid, it would land in the solver seconds of whichever
    run a worker takes first, and in its time limit. Only this fixed, known-safe step runs here,
    never a suite's own solver: a solver that hangs or crashes must do so inside a run, where the
    time limit and the retry rules apply. The git revision in the environment is looked up once
    per process, here too.
    """
    environment(1)
    model = torch.nn.Linear(2, 1, dtype=torch.float64)
    x, y = torch.ones(4, 2, dtype=torch.float64), torch.zeros(4, 1, dtype=torch.float64)
    for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      torch.optim.Adam(model.parameters())):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()


def _task_and_solver(cell: Cell) -> tuple[Task, Solver]:
    """The cell's task (cached) and a fresh solver with its hyperparameters."""
    return build_task(cell), get_solver(cell.solver, **cell.solver_options)


def run_cell(
    cell: Cell,
    suite: str,
    threads: int = 1,
    executor: str = "serial",
    workers: int = 1,
    attempt: int = 1,
    plugins: tuple[str, ...] = (),
) -> RunRecord:
    """Run one cell (a module-level function, so process and Dask executors can ship it)."""
    load_plugins(plugins)
    record = run_one(
        *_task_and_solver(cell),
        cell.budget,
        cell.seed,
        suite=suite,
        threads=threads,
        executor=executor,
        workers=workers,
    )
    record = stamp(record, cell)
    return dataclasses.replace(record, attempt=attempt) if attempt != 1 else record


def failure_record(
    cell: Cell,
    *,
    suite: str,
    stop: StopReason,
    error: str,
    threads: int,
    executor: str,
    workers: int,
    attempt: int,
    wall_seconds: float = 0.0,
) -> RunRecord:
    """The record of a run that produced none itself: timed out, or its worker was lost.

    Built here, in the writing process, from the same fields ``run_one`` records; it carries no
    metrics (the run never finished) and counts as a failure.
    """
    base = record_base(
        *_task_and_solver(cell),
        cell.budget,
        cell.seed,
        suite=suite,
        threads=threads,
        executor=executor,
        workers=workers,
    )
    return dataclasses.replace(
        stamp(empty_record(base, stop, error, wall_seconds), cell), attempt=attempt
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
    executor: str = "serial"
    workers: int = 1
    planned: int = 0
    retried: int = 0
    interrupted: bool = False

    def describe(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.stop_reasons.items()))
        ran = (
            f"interrupted after {self.ran} of {self.planned} runs"
            if self.interrupted
            else f"ran {self.ran} runs"
        )
        extra = f", {self.retried} retried after a lost worker" if self.retried else ""
        torn = f"; ignored {self.bad_lines} unreadable record lines" if self.bad_lines else ""
        where = f" ({self.executor}, {self.workers} workers)" if self.planned else ""
        return (
            f"{ran} in {self.seconds:.1f} s{where}, skipped "
            f"{self.skipped_done} already recorded, {self.failed} failed "
            f"(error/timeout/diverged){extra}; stop reasons: {reasons or 'none'}{torn}; "
            f"records in {self.records_path}"
        )


def done_keys(path: Path) -> tuple[set[str], int]:
    """Keys already recorded in ``path`` and the number of unreadable (torn) lines."""
    if not path.exists():
        return set(), 0
    result = read_records([path])
    for file, lineno, why in result.bad_lines:
        print(f"warning: ignoring unreadable record at {file}:{lineno} ({why})", file=sys.stderr)
    return {r.key for r in result.records}, len(result.bad_lines)


@contextlib.contextmanager
def _single_writer(path: Path) -> Iterator[None]:
    """Hold an advisory lock on the records file: a second suite on it fails instead of racing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    handle: IO[str] = path.open("a", encoding="utf-8")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise BenchmarkError(
                    f"another process is writing {path}; wait for it to finish (or stop it) "
                    f"and run this command again to resume"
                ) from None
        yield
    finally:
        if not existed and path.stat().st_size == 0:
            path.unlink()  # nothing was recorded: leave no empty file to be mistaken for results
        handle.close()  # closing releases the lock (so does dying, even by SIGKILL)


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C back while a record is written, so it never tears a line by itself."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _unique_todo(cells: Sequence[Cell], done: set[str], rerun: bool) -> list[Cell]:
    todo: list[Cell] = []
    seen: set[str] = set()
    for cell in cells:
        key = key_of(cell)
        if key in seen or (not rerun and key in done):
            continue
        seen.add(key)
        todo.append(cell)
    return todo


def run_cells(
    cells: Iterable[Cell],
    *,
    suite: str,
    records_path: Path,
    rerun: bool = False,
    progress: bool = True,
    threads: int = 1,
    executor: ExecutorConfig | str = "serial",
    retries: int = 1,
    plugins: Sequence[str] = (),
) -> SuiteSummary:
    """Run cells on an executor, appending each record to ``records_path`` as it finishes.

    Args:
        cells: the grid (duplicates, by key, run once).
        suite: the suite's name, recorded.
        records_path: the JSON-lines file to append to (created with its folder).
        rerun: run cells even if their key is already recorded.
        progress: show a progress bar (runs done, failures, time left) on stderr.
        threads: torch/BLAS threads per run (recorded; divides the default worker count).
        executor: an :class:`ExecutorConfig`, or just its kind (``serial`` is the default here,
            so that callers in tests can monkeypatch; the command line defaults to ``process``).
        retries: how many times a run whose worker was lost is submitted again before it is
            recorded as ``error``. Timeouts are never retried: a hung solver would hang again.
        plugins: ``module`` or ``module:function`` imported/called in this process and in every
            worker before a run (see :func:`load_plugins`).

    Raises:
        BenchmarkError: a bad cell (before anything runs), or the records file is being
            written by another process, or the engine cannot start.
        KeyboardInterrupt: after stopping the workers and keeping every finished record.
    """
    config = executor if isinstance(executor, ExecutorConfig) else ExecutorConfig(kind=executor)
    check_interval(threads, "threads", "run_cells", kind=int, low=1)
    check_interval(retries, "retries", "run_cells", kind=int, low=0)
    plugins = tuple(plugins)
    load_plugins(plugins)
    cells = list(cells)
    validate_cells(cells)
    start = time.perf_counter()
    with _single_writer(records_path):
        done, bad = (set(), 0) if rerun else done_keys(records_path)
        todo = _unique_todo(cells, done, rerun)
        summary = SuiteSummary(0, len(cells) - len(todo), 0, Counter(), 0.0, records_path, bad,
                               executor=config.kind, workers=0, planned=len(todo))
        if todo:
            engine = open_engine(config, threads=threads, jobs=len(todo),
                                 preload=(*plugins, "benchmarks.engine.runner:warm_worker"))
            summary.executor, summary.workers = engine.name, engine.workers
            if isinstance(engine, SerialEngine):
                warm_worker()  # this process is the worker
            _drive(engine, todo, summary, suite=suite, threads=threads, retries=retries,
                   plugins=plugins, progress=progress, time_limit=config.time_limit, start=start)
    summary.seconds = time.perf_counter() - start
    return summary


def _drive(
    engine: Engine,
    todo: list[Cell],
    summary: SuiteSummary,
    *,
    suite: str,
    threads: int,
    retries: int,
    plugins: tuple[str, ...],
    progress: bool,
    time_limit: float | None,
    start: float,
) -> None:
    """Submit every cell, write records as runs complete, resubmit runs whose worker was lost."""

    def submit(cell: Cell, attempt: int) -> Any:
        return engine.submit(run_cell, cell, suite, threads, engine.name, engine.workers,
                             attempt, plugins)

    def failure(cell: Cell, stop: StopReason, error: str, attempt: int, wall: float) -> RunRecord:
        return failure_record(cell, suite=suite, stop=stop, error=error, threads=threads,
                              executor=engine.name, workers=engine.workers, attempt=attempt,
                              wall_seconds=wall)

    bar = tqdm(
        total=len(todo),
        disable=not progress,
        unit="run",
        dynamic_ncols=True,
        desc=f"{suite} ({engine.name} x{engine.workers})",
        file=sys.stderr,
    )
    # Lost-run failures are held back until some run has come back from a worker: if the first
    # few all fail that way, the executor is broken (a worker environment without this package,
    # a plugin that does not import), not the runs, and recording them would make a resumed
    # suite skip every cell as "done".
    breaker = min(BROKEN_AFTER, len(todo))
    held: list[RunRecord] = []
    engine_works = False
    try:
        with RecordWriter(summary.records_path) as writer:

            def keep(record: RunRecord) -> None:
                with _deferred_interrupt():
                    writer.write(record)
                summary.ran += 1
                summary.stop_reasons[record.stop_reason] += 1
                summary.failed += record.stop_reason in FAILURES
                bar.update(1)
                bar.set_postfix(failed=summary.failed, refresh=False)

            pending = {submit(cell, 1): (cell, 1) for cell in todo}
            while pending:
                for future in engine.as_completed(list(pending)):
                    cell, attempt = pending.pop(future)
                    try:
                        record = future.result()
                    except RunTimeoutError as exc:
                        record = failure(cell, StopReason.TIMEOUT, f"RunTimeoutError: {exc}",
                                         attempt, time_limit or 0.0)
                    except Exception as exc:  # a lost run: retried, then recorded
                        if attempt <= retries:
                            # Resubmit now, then start a fresh as_completed over what is pending
                            # (which includes the new future); finished futures come back first.
                            pending[submit(cell, attempt + 1)] = (cell, attempt + 1)
                            summary.retried += 1
                            break
                        record = failure(cell, StopReason.ERROR,
                                         f"{type(exc).__name__}: {exc} (attempt {attempt} of "
                                         f"{retries + 1}; the run never reported back)",
                                         attempt, 0.0)
                        if not engine_works:
                            held.append(record)
                            if len(held) >= breaker:
                                raise EngineError(
                                    f"the first {len(held)} runs all failed before reporting "
                                    f"back, so the {engine.name} executor cannot run cells; "
                                    f"none of them was recorded. First reason: {held[0].error}"
                                ) from exc
                            continue
                        keep(record)
                        continue
                    engine_works = True
                    for earlier in held:
                        keep(earlier)
                    held.clear()
                    keep(record)
    except KeyboardInterrupt:
        bar.close()
        engine.close(abort=True)  # the runs in flight are lost; everything finished is on disk
        summary.interrupted = True
        summary.seconds = time.perf_counter() - start
        print(summary.describe(), file=sys.stderr)
        raise
    except BaseException:
        bar.close()
        engine.close(abort=True)
        raise
    bar.close()
    engine.close()

