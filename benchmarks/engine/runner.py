"""Running a suite: validate every cell, skip what is recorded, run the rest, append records.

Every cell is planned once before the first run starts (``plan_cells``: task and solver built,
budget, seed and memory estimate checked, key computed), so a typo fails in a second, not an
hour in. The runs then go to an engine (``benchmarks/engine/executors.py``: serial,
local processes or Dask) through one code path: submit every cell, take results as they
complete, and write each record as it arrives. Only this process writes the records file (one
writer, holding an advisory lock), one record at a time with a flush and an fsync, so:

- a suite killed with SIGKILL loses only the runs in flight; rerunning the same command skips
  every cell whose key is already recorded (``rerun=True`` runs them again);
- a torn last line (the process died mid-write) is reported with its file and line, ignored,
  and isolated on its own line before the next record is appended, so it never merges;
- Ctrl-C or SIGTERM stops the workers, keeps every finished record and says how to resume
  (a second signal while stopping is ignored, so the summary always prints);
- the suite's metadata (suite, executor, workers, attempt) is stamped onto each record in one
  place, ``RunContext.stamp``;
- a run that raises or diverges is recorded by the harness with its reason; whatever a run raises
  inside a worker is that run's ``error``, never a lost worker; a run that exceeds
  the engine's wall-clock limit is killed and recorded as ``timeout``; a run whose worker died
  is retried (``retries`` times) and then recorded as ``error`` with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import signal
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from tqdm import tqdm

from benchmarks.budget import StopReason
from benchmarks.engine.executors import (
    Engine,
    EngineError,
    ExecutorConfig,
    SerialEngine,
    WorkerLostError,
    open_engine,
    run_preload,
)
from benchmarks.environment import environment
from benchmarks.harness import (
    MAX_SEED,
    check_budget_fits,
    empty_record,
    record_base,
    run_one,
)
from benchmarks.records import RecordWriter, RunRecord, cell_key, read_records
from benchmarks.suites import PER_SEED, Cell, resolve_options
from solvers import get_solver
from solvers.base import Solver
from tasks import get_task
from tasks._validation import check_file_target, check_interval, file_kind
from tasks.base import Task
from tasks.errors import BenchmarkError, InvalidParameterError, RunTimeoutError

try:  # advisory locks exist on POSIX only; elsewhere the single-writer rule is by convention
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: A suite whose first this-many runs all fail before reporting back stops (see ``_drive``).
BROKEN_AFTER = 3

#: The most seeds one command may ask for: far beyond any study, small enough to list.
MAX_SEEDS = 100_000

#: Stop reasons that count as failures in the progress bar and the summary.
FAILURES = frozenset({StopReason.ERROR, StopReason.TIMEOUT, StopReason.DIVERGED,
                      StopReason.NUMERICAL_FAILURE})


@functools.lru_cache(maxsize=64)
def _task(name: str, options_items: tuple[tuple[str, Any], ...]) -> Task:
    return get_task(name, **dict(options_items))


def _freeze(options: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))


def build_task(cell: Cell) -> Task:
    """The cell's task (cached: tasks are frozen; ``data_seed: per-seed`` resolves to the
    cell's seed, so the tasks that draw data draw them per seed, paired across solvers)."""
    return _task(cell.task, _freeze(resolve_options(cell.task_options, cell.seed)))


def key_of(cell: Cell) -> str:
    """The stable key of a cell, equal to the key its record will carry."""
    return _plan_one(cell).key


@dataclass(frozen=True)
class PlannedCell:
    """A cell checked once, with its key: what the runner submits and records."""

    cell: Cell
    key: str


def _plan_one(cell: Cell) -> PlannedCell:
    task, solver = _task_and_solver(cell)
    if solver.unsupported_reason(task) is None:
        check_memory(solver, task)
        # A tuning trial whose first iteration alone costs more than the budget (a population
        # of 256 on 10 CartPole episodes) is a trial that cannot succeed, not a bad command:
        # its run records the harness's message as its error, and the study scores it a miss.
        if cell.arm != "trial":
            check_budget_fits(solver, task, cell.budget)
    return PlannedCell(cell, cell_key(
        task=task.name,
        task_options=dict(task.options),
        solver=solver.name,
        config=solver.config(),
        budget=cell.budget.to_dict(),
        seed=cell.seed,
        arm=cell.arm,
        trial=cell.trial,
    ))


def plan_cells(cells: Sequence[Cell | PlannedCell]) -> list[PlannedCell]:
    """Validate every cell (task, solver, budget, seed, memory) and key it, in one pass.

    Raises on the first bad name or value, before anything runs. Tasks are cached and a solver
    configuration is checked once, so a 10,000-cell grid costs one check per distinct cell.
    Cells planned already (a caller that checks the grid before deciding to run it, as the
    command line does) pass through unchanged, so no grid is planned twice.
    """
    planned: list[PlannedCell] = []
    checked: dict[tuple[Any, ...], PlannedCell] = {}
    for cell in cells:
        if isinstance(cell, PlannedCell):
            planned.append(cell)
            continue
        check_interval(cell.seed, "seed", "Cell", kind=int, low=0, high=MAX_SEED)
        ident = (cell.task, _freeze(cell.task_options), cell.solver, _freeze(cell.solver_options),
                 cell.budget, cell.seed)
        if ident not in checked:
            checked[ident] = _plan_one(cell)
        planned.append(checked[ident])
    return planned


def check_memory(solver: Solver, task: Task) -> None:
    """Refuse a run whose estimated memory use exceeds this machine's memory."""
    need = solver.memory_estimate(task)
    have = physical_memory()
    if have is not None and need > have:
        raise InvalidParameterError(
            f"A run of solver {solver.name!r} on task {task.name!r} "
            f"({task.num_params:,} parameters, {task.n_train:,} training examples) needs about "
            f"{_gib(need)} of memory by its estimate, more than this machine has ({_gib(have)}). "
            f"Choose a smaller network, data set or population."
        )


def physical_memory() -> int | None:
    """Bytes of physical memory, or ``None`` where the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB" if n < 2**70 else f"{n:.1e} bytes"


def load_plugins(plugins: Sequence[str]) -> None:
    """Import ``module`` or call ``module:function`` for each plugin (registering extra solvers).

    Worker processes and Dask workers start from a fresh interpreter, so solvers or tasks added
    to the registries at run time (a notebook, a test) exist there only if the worker imports
    the code that adds them. Every run calls this first; registration functions must therefore
    be idempotent.
    """
    for plugin in plugins:
        run_preload(plugin)


class ProgressBar(tqdm):
    """tqdm without its monitor thread.

    tqdm starts a daemon thread on its first bar (even a disabled one) that outlives it. A
    process with a second thread no longer forks its warm workers (see ``WorkerPool``), so every
    suite after the first would start fresh interpreters instead: measured, 3.8 s instead of
    under 0.1 s for two workers. The monitor only retunes ``miniters`` of stalled bars.
    """

    monitor_interval = 0


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


@dataclass(frozen=True)
class RunContext:
    """What every run of one suite execution shares; stamped onto each record in one place."""

    suite: str
    threads: int = 1
    executor: str = "serial"
    workers: int = 1
    plugins: tuple[str, ...] = ()

    def stamp(self, record: RunRecord, cell: Cell, attempt: int = 1) -> RunRecord:
        """``record`` with this execution's metadata (suite, executor, workers, attempt) and
        what the cell, not the harness, knows: its arm and trial, and ``data_seed: per-seed``
        as the suite wrote it (so the report groups every seed's runs of a task together; the
        resolved value is the record's seed)."""
        per_seed = {k: v for k, v in cell.task_options.items() if v == PER_SEED}
        return dataclasses.replace(
            record, suite=self.suite, executor=self.executor, workers=self.workers,
            attempt=attempt, arm=cell.arm, trial=cell.trial,
            task_options={**record.task_options, **per_seed},
        )


def run_cell(
    cell: Cell | PlannedCell, context: RunContext | str, attempt: int = 1
) -> RunRecord:
    """Run one cell (a module-level function, so process and Dask executors can ship it).

    Whatever the run itself raises (a bad seed, memory, a solver bug) is recorded as that run's
    ``error``, never reported as a lost worker; only the engine's own failures propagate.
    """
    ctx = context if isinstance(context, RunContext) else RunContext(suite=context)
    planned = cell if isinstance(cell, PlannedCell) else None
    cell = cell.cell if isinstance(cell, PlannedCell) else cell
    load_plugins(ctx.plugins)
    try:
        record = run_one(*_task_and_solver(cell), cell.budget, cell.seed, suite=ctx.suite,
                         threads=ctx.threads, key=planned.key if planned else None)
    except (WorkerLostError, EngineError):
        raise
    except Exception as exc:  # noqa: BLE001 - the run's own failure: recorded, the suite goes on
        record = failure_record(planned or cell, ctx, stop=StopReason.ERROR,
                                error=f"{type(exc).__name__}: {exc}")
    return ctx.stamp(record, cell, attempt)


def failure_record(
    cell: Cell | PlannedCell,
    context: RunContext,
    *,
    stop: StopReason,
    error: str,
    attempt: int = 1,
    wall_seconds: float = 0.0,
) -> RunRecord:
    """The record of a run that produced none itself: timed out, raised, or its worker was lost.

    Built from the same fields ``run_one`` records; it carries no metrics (the run never
    finished) and counts as a failure.
    """
    key = cell.key if isinstance(cell, PlannedCell) else None
    cell = cell.cell if isinstance(cell, PlannedCell) else cell
    base = record_base(*_task_and_solver(cell), cell.budget, cell.seed, threads=context.threads,
                       key=key)
    return context.stamp(empty_record(base, stop, error, wall_seconds), cell, attempt)


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
            f"(error/timeout/diverged/numerical_failure){extra}; "
            f"stop reasons: {reasons or 'none'}{torn}; "
            f"records in {self.records_path}"
        )


def done_keys(path: Path) -> tuple[set[str], int]:
    """Keys already recorded in ``path`` and the number of unreadable (torn) lines."""
    if not path.exists():
        return set(), 0
    result = read_records([path])
    for line in result.warnings():
        print(line, file=sys.stderr)
    return {r.key for r in result.records}, len(result.bad_lines)


def _before_lock() -> None:
    """A seam for the two-writer race test: it pauses here, between open and lock."""


@contextlib.contextmanager
def _single_writer(path: Path) -> Iterator[None]:
    """Hold an advisory lock on the records file: a second suite on it fails instead of racing.

    The lock is taken before anything is decided about the file. A process refused the lock
    leaves the file alone; the holder removes the file only if it created it and recorded
    nothing, and only while it still holds the lock. A process that locks a file that was
    removed (or replaced) in between sees that the path no longer names what it locked, and
    opens again.
    """
    check_file_target(path, "records file", source="run_cells's records_path")
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        # O_NONBLOCK: a named pipe at the path fails at once (ENXIO) instead of blocking until
        # some reader opens it; on a regular file the flag changes nothing.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise InvalidParameterError(
                    f"The records file {str(path)!r} must be a regular file. It is "
                    f"{file_kind(mode)}."
                )
            _before_lock()
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise BenchmarkError(
                        f"another process is writing {path}; wait for it to finish (or stop "
                        f"it) and run this command again to resume"
                    ) from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: again
    else:  # pragma: no cover - five removals in a row
        raise BenchmarkError(f"{path} keeps being removed by another process; try again")
    created = os.fstat(fd).st_size == 0
    try:
        yield
    finally:
        try:
            if created and os.fstat(fd).st_size == 0:
                # Nothing was recorded: leave no empty file to be mistaken for results. Still
                # holding the lock, so no one else is writing it.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        finally:
            os.close(fd)  # closing releases the lock (so does dying, even by SIGKILL)


#: The signals that stop a suite cleanly: Ctrl-C, and what kill, systemd, Slurm and Docker send.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SuiteInterrupted(KeyboardInterrupt):
    """A stop signal arrived; ``signum`` says which (the exit status is 128 + signum)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


#: Whether a :func:`stop_on_signals` block is active in this process (only the outermost one
#: installs handlers).
_CATCHING = False


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`SuiteInterrupted`, once, for the whole block.

    A second signal while the suite is already stopping is ignored, so the workers are still
    stopped and the summary is still printed. Blocks nest: the command line wraps everything it
    does (checking the input, running the suite, writing the report) in one, so a signal at any
    point becomes the same exception and the same exit status; :func:`run_cells` opens its own
    for callers that have none, and an inner block leaves the outer one in charge.
    """
    global _CATCHING
    if threading.current_thread() is not threading.main_thread() or _CATCHING:
        yield
        return
    stopping = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        del frame
        if stopping:
            return
        stopping = True
        raise SuiteInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    _CATCHING = True
    try:
        yield
    finally:
        _CATCHING = False
        if stopping:
            # The interrupt is still on its way to the caller, which prints the summary and
            # exits: a further stop signal now would kill the process with the default action
            # and lose both. Ignore them until the caller calls :func:`restore_stop_signals`.
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            _PENDING_RESTORE.update(previous)
        else:
            for sig, old in previous.items():
                signal.signal(sig, old)


#: Handlers to put back once an interrupted suite's caller has said what it needed to say.
_PENDING_RESTORE: dict[signal.Signals, Any] = {}


def restore_stop_signals() -> None:
    """Put back the stop-signal handlers an interrupted suite left ignoring further signals."""
    for sig, old in _PENDING_RESTORE.items():
        signal.signal(sig, old)
    _PENDING_RESTORE.clear()


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """Hold stop signals back while a record is written, so they never tear a line."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, set(STOP_SIGNALS))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(STOP_SIGNALS))


def _unique_todo(planned: Sequence[PlannedCell], done: set[str], rerun: bool) -> list[PlannedCell]:
    todo: list[PlannedCell] = []
    seen: set[str] = set()
    for item in planned:
        if item.key in seen or (not rerun and item.key in done):
            continue
        seen.add(item.key)
        todo.append(item)
    return todo


def run_cells(
    cells: Iterable[Cell | PlannedCell],
    *,
    suite: str,
    records_path: Path,
    rerun: bool = False,
    progress: bool = True,
    threads: int = 1,
    executor: ExecutorConfig | str = "serial",
    retries: int = 1,
    plugins: Sequence[str] = (),
    bar: tqdm | None = None,
) -> SuiteSummary:
    """Run cells on an executor, appending each record to ``records_path`` as it finishes.

    Args:
        cells: the grid (duplicates, by key, run once), as cells or as :func:`plan_cells`
            returned them.
        suite: the suite's name, recorded.
        records_path: the JSON-lines file to append to (created with its folder).
        rerun: run cells even if their key is already recorded.
        progress: show a progress bar (runs done, failures, time left) on stderr.
        threads: torch/BLAS threads per run (recorded; divides the default worker count).
        executor: an :class:`ExecutorConfig`, or just its kind (``serial`` is the default here,
            so that callers in tests can monkeypatch; the command line defaults to ``process``).
        bar: a progress bar to advance instead of drawing one (a caller that runs several
            suites under one bar); it stays the caller's: neither its total nor closing it.
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
    planned = plan_cells(list(cells))
    start = time.perf_counter()
    with stop_on_signals(), _single_writer(records_path):
        done, bad = (set(), 0) if rerun else done_keys(records_path)
        todo = _unique_todo(planned, done, rerun)
        summary = SuiteSummary(0, len(planned) - len(todo), 0, Counter(), 0.0, records_path,
                               bad, executor=config.kind, workers=0, planned=len(todo))
        if todo:
            engine = open_engine(config, threads=threads, jobs=len(todo),
                                 preload=(*plugins, "benchmarks.engine.runner:warm_worker"))
            summary.executor, summary.workers = engine.name, engine.workers
            context = RunContext(suite=suite, threads=threads, executor=engine.name,
                                 workers=engine.workers, plugins=plugins)
            if isinstance(engine, SerialEngine):
                warm_worker()  # this process is the worker
            _drive(engine, todo, summary, context, retries=retries, progress=progress,
                   time_limit=config.time_limit, start=start, bar=bar)
    summary.seconds = time.perf_counter() - start
    return summary


def _drive(
    engine: Engine,
    todo: list[PlannedCell],
    summary: SuiteSummary,
    context: RunContext,
    *,
    retries: int,
    progress: bool,
    time_limit: float | None,
    start: float,
    bar: tqdm | None = None,
) -> None:
    """Submit every cell, write records as runs complete, resubmit runs whose worker was lost
    (advancing ``bar`` if given, else a bar of its own)."""
    suite = context.suite

    def submit(item: PlannedCell, attempt: int) -> Any:
        return engine.submit(run_cell, item, context, attempt)

    def failure(item: PlannedCell, stop: StopReason, error: str, attempt: int,
                wall: float) -> RunRecord:
        return failure_record(item.cell, context, stop=stop, error=error, attempt=attempt,
                              wall_seconds=wall)

    own_bar = bar is None
    bar = bar if bar is not None else ProgressBar(
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

            pending = {submit(item, 1): (item, 1) for item in todo}
            while pending:
                for future in engine.as_completed(list(pending)):
                    item, attempt = pending.pop(future)
                    try:
                        record = future.result()
                    except RunTimeoutError as exc:
                        record = failure(item, StopReason.TIMEOUT, f"RunTimeoutError: {exc}",
                                         attempt, time_limit or 0.0)
                    except Exception as exc:  # a lost run: retried, then recorded
                        if attempt <= retries:
                            # Resubmit now, then start a fresh as_completed over what is pending
                            # (which includes the new future); finished futures come back first.
                            pending[submit(item, attempt + 1)] = (item, attempt + 1)
                            summary.retried += 1
                            break
                        record = failure(item, StopReason.ERROR,
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
        if own_bar:
            bar.close()
        engine.close(abort=True)  # the runs in flight are lost; everything finished is on disk
        summary.interrupted = True
        summary.seconds = time.perf_counter() - start
        print(summary.describe(), file=sys.stderr)
        raise
    except BaseException:
        if own_bar:
            bar.close()
        engine.close(abort=True)
        raise
    if own_bar:
        bar.close()
    engine.close()

