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
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.executors import ExecutorConfig
from benchmarks.records import RunRecord, read_records
from benchmarks.runner import key_of, run_cells
from benchmarks.suites import Cell
from solvers import SOLVERS
from solvers.base import Cost, Monitor, Solver
from tasks.base import Task
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
                  "timestamp", "executor", "workers", "environment"):
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


@pytest.mark.usefixtures("test_solvers")
def test_a_hung_run_times_out_and_a_crashing_one_is_retried_then_recorded(
    tmp_path: Path,
) -> None:
    path = tmp_path / "records.jsonl"
    grid = cells("sleepy", range(1)) + cells("crashy", range(1)) + cells("numpy-backprop", range(2))
    summary = run_cells(grid, suite="t", records_path=path, progress=False, plugins=[PLUGIN],
                        executor=ExecutorConfig(kind="process", workers=2, time_limit=2.0))
    by_solver = {r.solver: r for r in read_records([path]).records}
    assert len(read_records([path]).records) == 4
    hung, crashed = by_solver["sleepy"], by_solver["crashy"]
    assert hung.stop_reason == "timeout" and "2 s wall-clock limit" in hung.error
    assert crashed.stop_reason == "error" and crashed.attempt == 2
    assert "WorkerLostError" in crashed.error and "status 7" in crashed.error
    assert by_solver["numpy-backprop"].stop_reason == "max_iterations"
    assert {(r.executor, r.workers, r.environment["threads"])
            for r in by_solver.values()} == {("process", 2, 1)}
    assert (summary.ran, summary.failed, summary.retried) == (4, 2, 1)


CLI = [
    sys.executable, "benchmarks/run_all.py", "--tasks", "sine", "--task-set", "sine.frequency=2.0",
    "--solvers", "numpy-backprop", "--set", "numpy-backprop.learning_rate=0.01",
    "--seeds", "8", "--max-iterations", "1500", "--executor", "process", "--workers", "2",
    "--no-progress",
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


def test_sigkill_mid_suite_then_rerun_records_every_cell_once(tmp_path: Path) -> None:
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
    rerun = subprocess.run([*CLI, "--out", str(tmp_path)], cwd=ROOT, text=True,
                           capture_output=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"ignoring unreadable record at {path}:{len(kept) + 1}" in rerun.stderr
    assert f"ran {8 - len(kept)} runs" in rerun.stdout
    assert f"skipped {len(kept)} already recorded" in rerun.stdout
    result = read_records([path])
    assert Counter(r.seed for r in result.records) == Counter(range(8))
    assert len({r.key for r in result.records}) == 8
    assert len(result.bad_lines) == 1
    assert {r.key: r.to_json() for r in kept}.items() <= {
        r.key: r.to_json() for r in result.records}.items()


def test_ctrl_c_keeps_finished_runs_and_says_how_to_resume(tmp_path: Path) -> None:
    path = tmp_path / "raw" / "default.jsonl"
    proc = start_cli(tmp_path)
    try:
        wait_for_records(proc, path, 1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err and "interrupted after" in err
    result = read_records([path])
    assert result.bad_lines == [] and 1 <= len(result.records) < 8
    assert "Traceback" not in err


# --- Dask --------------------------------------------------------------------------------------


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
