"""The runner: resume, faults (SIGKILL, torn records, hung and crashing runs, Ctrl-C), Dask.

The fault tests drive real processes: the command line as a subprocess, killed part-way, and
local worker processes. Everything stays on this machine (the Dask cluster listens on
127.0.0.1 only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from benchmarks.budget import Budget, StopReason
from benchmarks.engine import runner
from benchmarks.engine.executors import EngineError, ExecutorConfig, WorkerLostError
from benchmarks.engine.runner import key_of, run_cells
from benchmarks.records import RecordWriter, RunRecord, read_records
from benchmarks.run_all import main
from benchmarks.suites import Cell
from solvers import SOLVERS, get_solver
from solvers.base import Cost, Monitor, Solver
from tasks import get_task
from tasks.base import Task
from tasks.errors import BenchmarkError, InvalidParameterError
from tasks.mlp import FlatParams

ROOT = Path(__file__).resolve().parents[2]


# --- test-only solvers, registered in workers through the runner's plugin hook ---------------


@dataclass(frozen=True, kw_only=True)
class SleepySolver(Solver):
    """Reports its starting point, then hangs without ever reporting again.

    Iteration: none (it never gets past the first report).
    Evaluations: none.
    """

    name: ClassVar[str] = "sleepy"
    iteration: ClassVar[str] = "never"

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        del task, rng
        monitor.report(x0, evaluations=0)
        time.sleep(3600)


@dataclass(frozen=True, kw_only=True)
class CrashySolver(Solver):
    """Kills the process it runs in, as a segfault or the OOM killer would.

    Iteration: none. Evaluations: none.
    """

    name: ClassVar[str] = "crashy"
    iteration: ClassVar[str] = "never"

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        del task, x0, monitor, rng
        os._exit(7)


def register_test_solvers() -> None:
    """The plugin hook (idempotent): workers call it before every run."""
    for cls in (SleepySolver, CrashySolver):
        SOLVERS.setdefault(cls.name, cls)


PLUGIN = f"{__name__}:register_test_solvers"


@pytest.fixture
def test_solvers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the test solvers in this process for one test only."""
    for cls in (SleepySolver, CrashySolver):
        monkeypatch.setitem(SOLVERS, cls.name, cls)
    yield


# --- helpers ---------------------------------------------------------------------------------


def cells(solver: str, seeds: range, *, task: str = "xor", iterations: int = 20,
          options: dict[str, Any] | None = None) -> list[Cell]:
    return [
        Cell(task=task, task_options={}, solver=solver, solver_options=dict(options or {}),
             budget=Budget(max_iterations=iterations), seed=s)
        for s in seeds
    ]


def comparable(record: RunRecord) -> dict[str, Any]:
    """A record without what legitimately differs between two executions of the same run."""
    data = json.loads(record.to_json())
    for field in ("solver_seconds", "eval_seconds", "wall_seconds", "seconds_to_target",
                  "timestamp", "executor", "workers", "environment", "peak_memory_bytes"):
        data.pop(field)
    for point in data["trace"]:
        point.pop("solver_seconds")
    return data


def lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


# --- resume and torn records -----------------------------------------------------------------


def test_a_rerun_skips_every_recorded_cell(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    grid = cells("numpy-backprop", range(3)) + cells("sgd", range(2))
    first = run_cells(grid, suite="t", records_path=path, progress=False)
    assert (first.ran, first.skipped_done, first.failed) == (5, 0, 0)
    again = run_cells(grid + grid[:2], suite="t", records_path=path, progress=False)
    assert (again.ran, again.skipped_done) == (0, 7)
    assert "skipped 7 already recorded" in again.describe() and str(path) in again.describe()
    keys = [r.key for r in read_records([path]).records]
    assert sorted(keys) == sorted(key_of(c) for c in grid)
    forced = run_cells(grid[:1], suite="t", records_path=path, progress=False, rerun=True)
    assert forced.ran == 1


def test_a_callers_bar_is_advanced_across_suites_and_left_open(tmp_path: Path) -> None:
    """A caller running several suites under one progress bar (your data: tuning, then both
    arms) passes it in: every run advances it, and it is the caller's to close."""
    import io

    bar = runner.ProgressBar(total=5, file=io.StringIO(), mininterval=0)
    run_cells(cells("numpy-backprop", range(3)), suite="a", records_path=tmp_path / "a.jsonl",
              bar=bar)
    run_cells(cells("sgd", range(2)), suite="b", records_path=tmp_path / "b.jsonl", bar=bar)
    assert bar.n == 5 and not bar.disable  # tqdm disables a bar when it is closed
    bar.close()


def test_a_suite_leaves_no_thread_behind_so_the_next_pool_forks_warm_workers(
    tmp_path: Path,
) -> None:
    """A second thread left alive (tqdm's monitor was one) stops ``WorkerPool`` from forking,
    and every later suite of the process would pay ~4 s of fresh interpreters importing torch."""
    before = set(threading.enumerate())
    run_cells(cells("numpy-backprop", range(2)), suite="t", records_path=tmp_path / "a.jsonl",
              progress=True)
    assert set(threading.enumerate()) == before


def test_a_torn_last_record_is_reported_ignored_and_never_merged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "records.jsonl"
    run_cells(cells("numpy-backprop", range(2)), suite="t", records_path=path, progress=False)
    whole = path.read_text().splitlines()
    with path.open("a") as f:
        f.write(whole[-1][: len(whole[-1]) // 2])  # the process died mid-write
    summary = run_cells(cells("numpy-backprop", range(4)), suite="t", records_path=path,
                        progress=False)
    assert (summary.ran, summary.skipped_done, summary.bad_lines) == (2, 2, 1)
    assert f"{path}:3" in capsys.readouterr().err
    result = read_records([path])
    assert [(p, n) for p, n, _ in result.bad_lines] == [(path, 3)]
    assert sorted(r.seed for r in result.records) == [0, 1, 2, 3]


# --- hung, crashing and interrupted runs ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.usefixtures("test_solvers")
def test_a_hung_run_is_stopped_by_the_time_limit_and_the_suite_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    # The quick runs first, so that no replacement worker has to start after the kill.
    grid = cells("numpy-backprop", range(2)) + cells("sleepy", range(1))
    summary = run_cells(grid, suite="t", records_path=path, progress=False, plugins=[PLUGIN],
                        executor=ExecutorConfig(kind="process", workers=2, time_limit=2.0))
    records = read_records([path]).records
    by_solver = {r.solver: r for r in records}
    assert len(records) == 3 and (summary.ran, summary.failed) == (3, 1)
    hung = by_solver["sleepy"]
    assert hung.stop_reason == "timeout" and "2 s wall-clock limit" in hung.error
    assert hung.wall_seconds == 2.0
    assert by_solver["numpy-backprop"].stop_reason == "max_iterations"
    assert {(r.executor, r.workers, r.environment["threads"])
            for r in records} == {("process", 2, 1)}


def test_a_run_whose_worker_was_lost_is_retried_then_recorded_as_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's side of a dead worker (the pool's side is in test_engine.py)."""
    lost: Counter[int] = Counter()
    real_run_one = runner.run_one

    def flaky_run_one(task: Task, solver: Solver, budget: Budget, seed: int,
                      **kwargs: Any) -> RunRecord:
        lost[seed] += 1
        if seed == 0 or (seed == 1 and lost[seed] == 1):  # seed 0 always, seed 1 once
            raise WorkerLostError("worker process 1234 exited (status -9) during the run")
        return real_run_one(task, solver, budget, seed, **kwargs)

    monkeypatch.setattr(runner, "run_one", flaky_run_one)
    path = tmp_path / "records.jsonl"
    summary = run_cells(cells("numpy-backprop", range(3)), suite="t", records_path=path,
                        progress=False, retries=1)
    by_seed = {r.seed: r for r in read_records([path]).records}
    assert (by_seed[0].stop_reason, by_seed[0].attempt) == ("error", 2)
    assert "WorkerLostError: worker process 1234" in by_seed[0].error
    assert (by_seed[1].stop_reason, by_seed[1].attempt) == ("max_iterations", 2)
    assert (by_seed[2].stop_reason, by_seed[2].attempt) == ("max_iterations", 1)
    assert (summary.ran, summary.failed, summary.retried) == (3, 1, 2)


def test_a_suite_whose_runs_all_die_stops_and_records_none_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken executor (e.g. workers without this package) must not mark every cell done."""

    def lost(*args: Any, **kwargs: Any) -> RunRecord:
        raise WorkerLostError("worker process 1234 exited (status 1) during the run")

    path = tmp_path / "records.jsonl"
    grid = cells("numpy-backprop", range(5))
    with monkeypatch.context() as patch:
        patch.setattr(runner, "run_one", lost)
        with pytest.raises(EngineError, match=r"first 3 runs all failed .*\(status 1\)"):
            run_cells(grid, suite="t", records_path=path, progress=False)
    assert not path.exists()  # no records, and no empty file to pass for results
    assert run_cells(grid, suite="t", records_path=path, progress=False).ran == 5


CLI = [
    sys.executable, "benchmarks/run_all.py", "--tasks", "sine", "--task-set", "sine.frequency=2.0",
    "--solvers", "numpy-backprop", "--set", "numpy-backprop.learning_rate=0.01",
    "--seeds", "8", "--max-iterations", "1500", "--executor", "process", "--workers", "2",
    "--no-progress", "--arms", "defaults",
]


def start_cli(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "--out", str(out)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_records(proc: subprocess.Popen[str], path: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while lines(path) < count:
        assert proc.poll() is None, f"the suite ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "no records appeared"
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkill_mid_suite_then_rerun_records_every_cell_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "raw" / "default.jsonl"
    proc = start_cli(tmp_path)
    try:
        wait_for_records(proc, path, 2)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    kept = read_records([path]).records
    assert 2 <= len(kept) < 8, "the kill must land part-way through the suite"
    # Simulate the worst moment for a kill: half a record at the end of the file.
    with path.open("a") as f:
        f.write(kept[-1].to_json()[:100])
    # Resume with the same command, in this process (no second interpreter start-up) and
    # serially: cell keys do not depend on the executor.
    argv = [*CLI[2:], "--out", str(tmp_path), "--executor", "serial"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert f"ignoring unreadable record at {path}:{len(kept) + 1}" in err
    assert f"ran {8 - len(kept)} runs" in out and f"skipped {len(kept)} already recorded" in out
    result = read_records([path])
    assert Counter(r.seed for r in result.records) == Counter(range(8))
    assert len({r.key for r in result.records}) == 8
    assert len(result.bad_lines) == 1
    assert {r.key: r.to_json() for r in kept}.items() <= {
        r.key: r.to_json() for r in result.records}.items()


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs_and_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real SIGINT, delivered to this process while ``main`` waits on its workers.

    (In this process rather than a child, to save an interpreter start; the workers are real.)
    """
    path = tmp_path / "raw" / "default.jsonl"
    running = threading.Event()

    def press_ctrl_c() -> None:
        deadline = time.monotonic() + 120
        while lines(path) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        if running.is_set():  # never interrupt pytest itself
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=press_ctrl_c, daemon=True)
    running.set()
    thread.start()
    try:
        status = main([*CLI[2:], "--out", str(tmp_path)])
    finally:
        running.clear()
    thread.join()
    err = capsys.readouterr().err
    assert status == 130
    assert "interrupted after" in err and "rerun the same command to resume" in err
    result = read_records([path])
    assert result.bad_lines == [] and 1 <= len(result.records) < 8


# --- Dask --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_records_as_a_serial_run(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    grid = cells("numpy-backprop", range(3)) + cells("sgd", range(2), task="and")
    serial = tmp_path / "serial.jsonl"
    run_cells(grid, suite="t", records_path=serial, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        on_dask = tmp_path / "dask.jsonl"
        summary = run_cells(grid, suite="t", records_path=on_dask, progress=False,
                            executor=ExecutorConfig(kind="dask",
                                                    scheduler=cluster.scheduler_address))
    assert (summary.executor, summary.workers, summary.ran) == ("dask", 1, len(grid))
    expected = {r.key: comparable(r) for r in read_records([serial]).records}
    got = read_records([on_dask]).records
    assert {r.executor for r in got} == {"dask"}
    assert {r.key: comparable(r) for r in got} == expected


# --- the records lock ---------------------------------------------------------------------------


def _pause_in(thread_name: str, opened: threading.Event, go: threading.Event) -> Any:
    def pause() -> None:
        if threading.current_thread().name == thread_name:
            opened.set()
            assert go.wait(10)

    return pause


def test_a_refused_second_writer_never_removes_the_first_writers_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two near-simultaneous starts, made deterministic: the second opens first, then pauses
    between open and lock while the first locks and writes; the refused second must leave the
    file alone (it used to unlink it, as it "did not exist" and was still empty)."""
    path = tmp_path / "raw" / "default.jsonl"
    opened, go = threading.Event(), threading.Event()
    monkeypatch.setattr(runner, "_before_lock", _pause_in("second", opened, go))
    refused: list[BaseException] = []

    def second() -> None:
        try:
            with runner._single_writer(path):
                pass
        except BenchmarkError as exc:
            refused.append(exc)

    thread = threading.Thread(target=second, name="second")
    thread.start()
    assert opened.wait(10)  # the second writer created and opened the file; no lock yet
    record = runner.run_cell(cells("numpy-backprop", range(1), iterations=2)[0], "t")
    with runner._single_writer(path), RecordWriter(path) as writer:
        go.set()
        thread.join(10)
        writer.write(record)
    assert refused and "another process is writing" in str(refused[0])
    assert [r.key for r in read_records([path]).records] == [record.key]


def test_a_writer_that_locked_a_removed_file_opens_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first writer recorded nothing and removes its empty file while a second waits
    between open and lock: the second must not write into the removed file."""
    path = tmp_path / "raw" / "default.jsonl"
    opened, go = threading.Event(), threading.Event()
    monkeypatch.setattr(runner, "_before_lock", _pause_in("second", opened, go))
    record = runner.run_cell(cells("numpy-backprop", range(1), iterations=2)[0], "t")

    def second() -> None:
        with runner._single_writer(path), RecordWriter(path) as writer:
            writer.write(record)

    with runner._single_writer(path):
        thread = threading.Thread(target=second, name="second")
        thread.start()
        assert opened.wait(10)
    assert not path.exists()  # the first removed its empty file, still holding the lock
    go.set()
    thread.join(10)
    assert [r.key for r in read_records([path]).records] == [record.key]


# --- seeds -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["3", True, np.bool_(False), -1, 2**32, 3.0, None])
def test_run_one_refuses_a_seed_that_is_not_an_int_in_range(seed: Any) -> None:
    """A string seed used to run (NumPy took it) and be recorded with a seed the project's own
    reader rejects; a bool ran as seed 0 or 1."""
    with pytest.raises(InvalidParameterError, match=r"^The 'seed' parameter of run_one must be "
                                                    r"an int in the range \[0, 4294967295\]\."):
        runner.run_one(get_task("xor"), get_solver("sgd"), Budget(max_iterations=2), seed)


def test_run_one_records_a_numpy_integer_seed_as_the_int_it_holds(tmp_path: Path) -> None:
    record = runner.run_one(get_task("xor"), get_solver("sgd"), Budget(max_iterations=2),
                            np.uint32(2**32 - 1))
    assert type(record.seed) is int and record.seed == 2**32 - 1
    path = tmp_path / "records.jsonl"
    with RecordWriter(path) as writer:
        writer.write(record)
    assert [r.seed for r in read_records([path]).records] == [2**32 - 1]


# --- errors inside a run ------------------------------------------------------------------------


def test_an_error_raised_by_the_run_itself_is_that_runs_error_not_a_lost_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> RunRecord:
        raise MemoryError("Unable to allocate 7.45 GiB")

    monkeypatch.setattr(runner, "run_one", broken)
    path = tmp_path / "records.jsonl"
    summary = run_cells(cells("numpy-backprop", range(2)), suite="t", records_path=path,
                        progress=False)
    records = read_records([path]).records
    assert [r.stop_reason for r in records] == ["error", "error"]
    assert all(r.error == "MemoryError: Unable to allocate 7.45 GiB" for r in records)
    assert (summary.retried, records[0].attempt, records[0].suite) == (0, 1, "t")


def test_a_bad_seed_in_the_api_is_refused_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"'seed' parameter of Cell must be an int"):
        run_cells(cells("sgd", range(-1, 1)), suite="t", records_path=tmp_path / "r.jsonl",
                  progress=False)
    assert not (tmp_path / "r.jsonl").exists()


def test_run_metadata_is_stamped_once_and_the_key_computed_once(tmp_path: Path) -> None:
    (planned,) = runner.plan_cells(cells("sgd", range(1)))
    context = runner.RunContext(suite="s", executor="process", workers=3)
    record = runner.run_cell(planned, context, attempt=2)
    assert (record.key, record.suite, record.executor, record.workers, record.attempt) == (
        planned.key, "s", "process", 3, 2)
    failed = runner.failure_record(planned, context, stop=StopReason.TIMEOUT, error="late")
    assert (failed.key, failed.executor, failed.stop_reason) == (planned.key, "process",
                                                                 "timeout")


# --- SIGTERM ------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
@pytest.mark.parametrize("twice", [False, True])
def test_sigterm_prints_the_summary_exits_143_and_stops_every_worker(
    tmp_path: Path, twice: bool
) -> None:
    path = tmp_path / "raw" / "default.jsonl"
    proc = start_cli(tmp_path)
    try:
        wait_for_records(proc, path, 1)
        workers = _children(proc.pid)
        assert workers, "the process executor has worker processes"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        if twice:  # an impatient second signal must not lose the summary
            time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        time.sleep(max(0.0, sent + 1.0 - time.monotonic()))
        assert [pid for pid in workers if _alive(pid)] == []
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert "interrupted after" in err and "rerun the same command to resume" in err
    assert "Traceback" not in err
    result = read_records([path])
    assert result.bad_lines == [] and 1 <= len(result.records) < 8


def test_a_tuning_trial_that_cannot_fit_its_budget_is_a_recorded_miss() -> None:
    """A trial whose first generation alone exceeds the budget is planned (the study goes on)
    and recorded with the harness's reason; the same cell outside a study is a bad command."""
    from benchmarks.suites import Cell
    from tasks.errors import InvalidParameterError

    cell = Cell(task="cartpole", task_options={}, solver="ga",
                solver_options={"population_size": 256}, budget=Budget(max_evaluations=500_000),
                seed=0, arm="trial", trial=3)
    (planned,) = runner.plan_cells([cell])
    record = runner.run_cell(planned, "tuning")
    assert record.stop_reason == StopReason.ERROR and not record.success
    assert "smaller than what GASolver spends before its first report" in record.error
    with pytest.raises(InvalidParameterError, match="first report"):
        runner.plan_cells([Cell(**{**cell.__dict__, "arm": "defaults", "trial": None})])
