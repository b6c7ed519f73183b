"""The executors behind the runner: the local worker pool, the serial engine, their settings.

Every test here uses real worker processes on this machine; nothing leaves the loopback.
Functions sent to workers are standard-library ones, so workers import nothing from the tests.
"""

from __future__ import annotations

import math
import operator
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from benchmarks.engine.executors import (
    ExecutorConfig,
    SerialEngine,
    WorkerError,
    WorkerLostError,
    WorkerPool,
    _ForkedProcess,
    open_engine,
    thread_env,
)
from tasks.errors import InvalidParameterError, RunTimeoutError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["fork", "spawn"])
def pool(request: pytest.FixtureRequest) -> Iterator[WorkerPool]:
    """Two workers with a 1 s limit per call, shared by the tests of this module; forked from
    this process, or fresh interpreters (replacements are always fresh)."""
    with WorkerPool(2, time_limit=1.0, start=request.param) as workers:
        yield workers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its new parent) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


@pytest.mark.slow
def test_pool_returns_results_of_calls(pool: WorkerPool) -> None:
    futures = [pool.submit(operator.mul, i, 3) for i in range(6)]
    assert [f.result(timeout=60) for f in futures] == [0, 3, 6, 9, 12, 15]


@pytest.mark.slow
def test_pool_reports_a_raising_call_with_the_worker_traceback(pool: WorkerPool) -> None:
    future = pool.submit(math.sqrt, -1.0)
    with pytest.raises(WorkerError, match="ValueError: math domain error"):
        future.result(timeout=60)
    assert pool.submit(math.sqrt, 4.0).result(timeout=60) == 2.0


@pytest.mark.slow
def test_pool_kills_a_call_past_its_time_limit_and_goes_on(pool: WorkerPool) -> None:
    """A hung call costs its worker, not the pool: the next call runs on a fresh worker."""
    pool.submit(abs, 1).result(timeout=60)  # both workers up before the clock matters
    before = set(pool.pids())
    hung = pool.submit(time.sleep, 60)
    with pytest.raises(RunTimeoutError, match="1 s wall-clock limit"):
        hung.result(timeout=30)
    assert pool.submit(operator.add, 2, 2).result(timeout=60) == 4
    assert before - set(pool.pids()), "the hung worker was not replaced"


@pytest.mark.slow
def test_pool_fails_only_the_call_whose_worker_died(pool: WorkerPool) -> None:
    died = pool.submit(os._exit, 3)
    other = pool.submit(operator.add, 1, 1)
    with pytest.raises(WorkerLostError, match="status 3"):
        died.result(timeout=60)
    assert other.result(timeout=60) == 2


@pytest.mark.slow
def test_pool_workers_get_pinned_thread_variables(pool: WorkerPool) -> None:
    seen = {k: pool.submit(os.getenv, k).result(timeout=60) for k in thread_env(1)}
    assert seen == thread_env(1)


@pytest.mark.slow
def test_kill_cancels_queued_calls_and_stops_running_ones() -> None:
    pool = WorkerPool(1)
    running = pool.submit(time.sleep, 60)
    queued = pool.submit(operator.add, 1, 2)
    deadline = time.monotonic() + 60
    while not running.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = pool.pids()
    pool.kill()
    assert queued.cancelled()
    with pytest.raises(WorkerLostError):
        running.result(timeout=5)
    assert not any(_alive(pid) for pid in pids)


@pytest.mark.slow
def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL on the suite's process leaves no worker behind, even one in a hung call."""
    script = textwrap.dedent(
        """
        import sys, time
        from benchmarks.engine.executors import WorkerPool
        pool = WorkerPool(2)
        busy = pool.submit(time.sleep, 600)  # a hung call
        pool.submit(abs, 1).result()  # the second worker, idle afterwards
        while not busy.running():
            time.sleep(0.05)
        print(*pool.pids(), flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids)
    finally:
        parent.kill()


def test_serial_engine_runs_each_call_only_when_its_result_is_asked_for() -> None:
    """Submitting the whole suite must not run it: records are written as runs complete."""
    calls: list[int] = []

    def record(i: int) -> int:
        calls.append(i)
        if i == 2:
            raise ValueError("boom")
        return i

    engine = SerialEngine()
    futures: list[Future[int]] = [engine.submit(record, i) for i in range(4)]
    assert calls == []
    seen = []
    for future in engine.as_completed(futures):
        seen.append(future)
        assert calls == list(range(len(seen)))
    assert isinstance(futures[2].exception(), ValueError)
    assert [f.result() for f in futures if f is not futures[2]] == [0, 1, 3]


@pytest.mark.slow
def test_serial_with_a_time_limit_runs_in_a_killable_child() -> None:
    engine = open_engine(ExecutorConfig(kind="serial", time_limit=0.5), jobs=1)
    try:
        assert engine.name == "serial" and engine.workers == 1
        future = engine.submit(os.getpid)
        assert next(iter(engine.as_completed([future]))).result() != os.getpid()
    finally:
        engine.close()


def test_process_engine_starts_no_more_workers_than_runs() -> None:
    engine = open_engine(ExecutorConfig(kind="process", workers=8), jobs=2)
    try:
        assert (engine.name, engine.workers) == ("process", 2)
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "threads"}, "'executor' parameter of ExecutorConfig must be one of"),
        ({"workers": 0}, "'workers' parameter of ExecutorConfig"),
        ({"time_limit": 0.0}, "'time_limit' parameter of ExecutorConfig"),
        ({"kind": "process", "scheduler": "tcp://127.0.0.1:8786"}, "one of 'dask'"),
        ({"kind": "dask", "scheduler": "tcp://127.0.0.1:8786", "workers": 2}, "cluster decides"),
    ],
)
def test_executor_config_rejects_bad_settings(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        ExecutorConfig(**kwargs)  # type: ignore[arg-type]


def test_forked_workers_inherit_this_process_and_its_preload() -> None:
    """``start="fork"``: the workers are children of this process, ready without re-importing."""
    started = time.monotonic()
    with WorkerPool(2, start="fork", preload=("json",)) as workers:
        parents = {workers.submit(os.getppid).result(timeout=60) for _ in range(4)}
        assert parents == {os.getpid()}
        assert set(workers.pids()) <= set(_children())
    assert time.monotonic() - started < 30


def test_a_forked_worker_runs_parallel_torch_ops_after_the_parent_started_its_openmp_pool(
) -> None:
    """A forked child inherits libgomp's pool bookkeeping but not its threads: a parallel
    region of two threads there waits forever (it hung the horizon study on ``digits_cnn``'s
    test evaluation, which runs outside the solver's pinned threads). The child pins torch to
    the pool's one thread, so torch runs its ops inline."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.ones(4_000_000).add_(1.0)  # large enough for a parallel region: starts the pool
        with WorkerPool(1, start="fork", time_limit=60) as workers:
            assert isinstance(workers._workers[0].process, _ForkedProcess)
            assert workers.submit(torch.get_num_threads).result(timeout=90) == 1
            filled = workers.submit(torch.full, (4_000_000,), 2.0).result(timeout=90)
            assert float(filled.sum()) == 8_000_000.0
    finally:
        torch.set_num_threads(before)


def test_workers_of_more_than_one_thread_are_never_forked() -> None:
    with WorkerPool(1, start="fork", threads=2) as workers:
        assert workers.submit(operator.add, 1, 1).result(timeout=120) == 2
        assert not any(isinstance(w.process, _ForkedProcess) for w in workers._workers)


def _children() -> list[int]:
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_a_pool_started_with_other_threads_running_uses_fresh_interpreters() -> None:
    """Forking next to another thread could copy a lock that thread holds: ``auto`` refuses."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with WorkerPool(1, start="auto") as workers:
            assert workers.submit(operator.add, 1, 1).result(timeout=120) == 2
            assert not any(isinstance(w.process, _ForkedProcess) for w in workers._workers)
    finally:
        stop.set()
        other.join()


def test_the_pool_starts_inside_a_daemonic_process(tmp_path: Path) -> None:
    """Dask runs its workers as daemonic processes, and a time limit there needs a child per run
    (``call_in_sandbox``). ``multiprocessing`` refuses children in daemonic processes, and so
    does every pool built on it: this is the test ``pebble.ProcessPool`` fails (issue 11)."""
    script = textwrap.dedent(
        """
        import multiprocessing, os, sys
        def inner(queue):
            from benchmarks.engine.executors import WorkerPool
            with WorkerPool(1, time_limit=60) as pool:
                queue.put(pool.submit(os.getppid).result(timeout=120) == os.getpid())
        if __name__ == "__main__":
            ctx = multiprocessing.get_context("spawn")
            queue = ctx.Queue()
            child = ctx.Process(target=inner, args=(queue,), daemon=True)
            child.start()
            print(queue.get(timeout=240), flush=True)
            child.join(60)
        """
    )
    path = tmp_path / "daemonic.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert done.stdout.strip() == "True", done.stderr
