"""Executors behind one interface: serial, local worker processes, or a Dask cluster.

The runner talks to an :class:`Engine`: ``submit(fn, *args)`` returns a future,
``as_completed(futures)`` yields futures as they finish, ``close()`` releases the workers. Every
engine's futures follow ``concurrent.futures`` (``result()`` returns the value or raises what the
call raised), so the runner has one code path for all of them:

- ``serial``: runs in this process, one call at a time, when ``as_completed`` asks for it (not
  at ``submit``), so records are still written one by one. For debugging: breakpoints and
  monkeypatches work.
- ``process``: a :class:`WorkerPool` of long-lived local worker processes, one per core by
  default, each pinned to ``threads`` torch/BLAS threads so that parallel runs do not
  oversubscribe the cores and distort each other's timings.
- ``dask``: a ``dask.distributed`` client, either connected to an existing scheduler by address
  or to a ``LocalCluster`` started on the loopback interface.

Why our own pool instead of ``concurrent.futures.ProcessPoolExecutor``: a per-run wall-clock
limit needs a worker that can be killed and replaced without losing the rest of the pool, and a
worker that dies must fail only its own run. ``ProcessPoolExecutor`` can do neither (a dead
worker breaks the whole pool; a running call cannot be stopped). The pool starts its workers
with ``subprocess`` rather than ``multiprocessing`` so that it also works inside daemonic Dask
worker processes (``multiprocessing`` refuses children there), which is how the time limit is
enforced on a Dask cluster too.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures as cf
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

from tasks._validation import check_interval, check_options, check_type
from tasks.errors import BenchmarkError, InvalidParameterError, RunTimeoutError

EXECUTORS = ("serial", "process", "dask")
"""The executor kinds, as the command line spells them."""

#: How a :class:`WorkerPool` starts its workers (see there).
WORKER_STARTS = ("auto", "fork", "spawn")

#: Environment variables that size the thread pools of OpenMP, MKL, OpenBLAS, Apple Accelerate
#: and numexpr. Set before a worker imports numpy or torch, they keep idle BLAS threads from
#: being created at all; ``run_one`` additionally pins torch and BLAS at run time.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

_ROOT = Path(__file__).resolve().parents[2]

def run_preload(item: str) -> None:
    """Import ``module``, or import ``module`` and call its ``function`` for ``module:function``.

    What workers run before taking work, and how the runner loads plugins: one format for both.
    """
    module, _, function = item.partition(":")
    loaded = importlib.import_module(module)
    if function:
        getattr(loaded, function)()


class WorkerLostError(BenchmarkError, RuntimeError):
    """A worker process died (or was stopped) while it held a call; the call did not finish."""


class WorkerError(BenchmarkError, RuntimeError):
    """A call raised inside a worker process; the message carries the worker's traceback."""


class EngineError(BenchmarkError, RuntimeError):
    """An engine could not start: no scheduler at that address, no workers, no Dask installed."""


#: Seconds to wait for a Dask scheduler to answer, and then for its first worker to join.
CONNECT_TIMEOUT = 10.0

_ADDRESS = re.compile(r"(?:(tcp|tls|ucx|ws|wss)://)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")


def check_scheduler_address(address: str) -> None:
    """Raise unless ``address`` reads as ``[protocol://]host:port`` with a port in 1-65535."""
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or not 1 <= int(match.group(3)) <= 65535:
        raise InvalidParameterError(
            f"The 'scheduler' parameter of ExecutorConfig must be an address like "
            f"'tcp://host:8786' (protocol tcp, tls, ucx, ws or wss; a port in 1-65535). "
            f"Got {address!r} instead."
        )


def _probe(address: str, timeout: float) -> None:
    """Fail fast when nothing listens at a TCP scheduler address (Dask would retry to its end)."""
    match = _ADDRESS.fullmatch(address.strip())
    if match is None or match.group(1) not in (None, "tcp"):
        return
    host, port = match.group(2).strip("[]"), int(match.group(3))
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise EngineError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s: "
            f"{exc.strerror or exc}"
        ) from None


def available_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def thread_env(threads: int) -> dict[str, str]:
    """The environment that pins every native thread pool of a worker to ``threads``."""
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


@dataclass(frozen=True, kw_only=True)
class ExecutorConfig:
    """How a suite's runs are executed.

    Attributes:
        kind: ``serial``, ``process`` or ``dask``.
        workers: local worker processes (``process``) or ``LocalCluster`` workers (``dask``
            without a scheduler); ``None`` means one per core divided by the threads per run.
            Ignored by ``serial``; rejected with ``scheduler`` (the cluster decides).
        scheduler: address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``; ``None``
            starts a ``LocalCluster`` on 127.0.0.1. Only for ``kind="dask"``.
        time_limit: wall-clock seconds one run may take before its worker is killed and the run
            is recorded as ``timeout``; ``None`` for no limit. Unlike the budget's
            ``max_seconds`` (checked by the harness when the solver reports), this also stops a
            solver that hangs and never reports.
    """

    kind: str = "process"
    workers: int | None = None
    scheduler: str | None = None
    time_limit: float | None = None

    def __post_init__(self) -> None:
        check_options(self.kind, "executor", "ExecutorConfig", EXECUTORS)
        if self.workers is not None:
            check_interval(self.workers, "workers", "ExecutorConfig", kind=int, low=1)
        if self.time_limit is not None:
            check_interval(self.time_limit, "time_limit", "ExecutorConfig", low=0.0,
                           closed="neither")
        if self.scheduler is not None:
            check_type(self.scheduler, "scheduler", "ExecutorConfig", str,
                       "a scheduler address such as 'tcp://host:8786'")
            check_scheduler_address(self.scheduler)
            if self.kind != "dask":
                check_options(self.kind, "executor", "ExecutorConfig (with a scheduler address)",
                              ("dask",))
            if self.workers is not None:
                raise InvalidParameterError(
                    f"The 'workers' parameter of ExecutorConfig sets the size of a local cluster; "
                    f"with a scheduler address ({self.scheduler!r}) the cluster decides. Got "
                    f"{self.workers!r} instead of None."
                )


# --------------------------------------------------------------------------------------------
# Worker side of the local pool. Kept free of heavy imports: the worker imports what the calls
# need (``preload``) before it says it is ready, so a run's time limit never pays for imports.
# --------------------------------------------------------------------------------------------


def _watch_parent(parent: int) -> None:
    # A parent killed with SIGKILL cannot stop its workers. A worker waiting for work sees the
    # socket close and exits; one stuck in a hung solver would not, so it polls its parent too.
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def worker_main(argv: Sequence[str] | None = None) -> None:
    """Entry point of a worker process: ``python -c '...worker_main()' FD PARENT_PID``."""
    args = list(sys.argv[1:] if argv is None else argv)
    fd, parent = int(args[0]), int(args[1])
    conn = Connection(fd)
    try:
        sys.path[:] = conn.recv()  # as multiprocessing's spawn does
        preload = conn.recv()
    except (EOFError, OSError):
        return
    _serve(conn, parent, preload)


def _serve(conn: Connection, parent: int, preload: Sequence[str]) -> None:
    """A worker's life: preload, say ready, run calls until told to stop or the parent goes."""
    # The parent decides what Ctrl-C means; the worker is in its own process group anyway.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(parent)
    try:
        for item in preload:
            run_preload(item)
    except Exception:  # noqa: BLE001 - reported to the parent, which fails the queued calls
        with contextlib.suppress(OSError):
            conn.send(("broken", traceback.format_exc()))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 - an unpicklable call fails that call only
            reply: tuple[str, Any] = ("error", traceback.format_exc())
        else:
            if message is None:
                # Skip the interpreter's teardown (seconds with torch loaded): nothing to keep.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)
            fn, call_args, kwargs = message
            try:
                reply = ("result", fn(*call_args, **kwargs))
            except Exception:  # noqa: BLE001 - the parent re-raises it as WorkerError
                reply = ("error", traceback.format_exc())
        try:
            conn.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError):
            why = "the call's result could not be pickled:\n" + traceback.format_exc()
            conn.send(("error", why))
        except OSError:
            return


# --------------------------------------------------------------------------------------------
# Parent side of the local pool.
# --------------------------------------------------------------------------------------------


@dataclass
class _Call:
    future: cf.Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


def _single_threaded() -> bool:
    """Whether the calling thread is this process's only Python thread."""
    return threading.active_count() == 1


class _ForkedProcess:
    """The part of ``subprocess.Popen`` the pool uses, for a child made with ``os.fork``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = math.inf if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
            time.sleep(0.005)
        return code

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


class _Worker:
    """One worker process and the parent's end of its socket.

    Started one of two ways. ``fork``: a copy of this process, which has already imported numpy,
    torch, the tasks and the solvers, so the worker is ready after its warm-up alone (about 30x
    faster than a fresh interpreter importing torch; see ``benchmarks/bench_engine.py``). Only
    taken from a single-threaded parent (see ``WorkerPool``), where no lock can be held by a thread
    that does not exist in the child. ``spawn``: a fresh interpreter (``subprocess``), which works
    anywhere, including inside daemonic Dask worker processes and multi-threaded parents.
    """

    def __init__(
        self, threads: int, preload: Sequence[str], *, fork: bool = False,
        inherited: Sequence[Connection] = (),
    ) -> None:
        ours, theirs = socket.socketpair()
        self.process: subprocess.Popen[bytes] | _ForkedProcess
        if fork:
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:  # the worker: never return into the parent's code
                try:
                    ours.close()
                    for conn in inherited:  # other workers' sockets: the parent's, not ours
                        with contextlib.suppress(OSError):
                            conn.close()
                    os.setpgid(0, 0)  # as process_group=0 below: Ctrl-C reaches the parent only
                    os.environ.update(thread_env(threads))
                    # The environment reaches only thread pools not yet started. The parent's
                    # OpenMP pool (libgomp) is already up if it ever ran a parallel torch op,
                    # and a forked child that enters a parallel region of more than one thread
                    # waits forever on pool threads that were not copied. One thread never
                    # enters one (torch runs it inline); the pool forks only with threads=1.
                    import torch  # the parent's copy, already imported: no cost

                    torch.set_num_threads(threads)
                    _serve(Connection(theirs.detach()), parent, preload)
                    os._exit(0)
                finally:
                    os._exit(1)  # an exception escaped: never unwind into the parent's frames
            self.process = _ForkedProcess(pid)
            theirs.close()
            self.conn = Connection(ours.detach())
        else:
            env = {**os.environ, **thread_env(threads)}
            # The worker must import this package before it can hear its sys.path from us.
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p
            )
            self.process = subprocess.Popen(
                [sys.executable, "-c",
                 "from benchmarks.engine.executors import worker_main; worker_main()",
                 str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),),
                env=env,
                # Its own process group: a Ctrl-C at the terminal reaches only the parent, which
                # then stops the workers itself after keeping what finished.
                process_group=0,
            )
            theirs.close()
            self.conn = Connection(ours.detach())
            self.conn.send(list(sys.path))
            self.conn.send(list(preload))
        self.ready = False
        self.call: _Call | None = None
        self.deadline = math.inf

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.conn.close()

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)

    def stop(self) -> None:
        """Wait for a worker asked to stop; kill it if it does not exit within a few seconds."""
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.conn.close()


class WorkerPool(cf.Executor):
    """Long-lived worker processes with a per-call wall-clock limit and crash isolation.

    A ``concurrent.futures.Executor``: ``submit`` returns a ``Future``. A call that raises fails
    its future with :class:`WorkerError` (carrying the worker's traceback); a call still running
    after ``time_limit`` seconds has its worker killed and fails with ``RunTimeoutError``; a
    worker that dies fails its call with :class:`WorkerLostError`. In every case the worker is
    replaced and the other calls go on. Workers import ``preload`` before taking work, so start-up
    never counts against a time limit.

    Start-up: a fresh interpreter spends seconds importing torch and the solvers, which a short
    suite never repays. So where it is safe, the first ``max_workers`` workers are forked from
    this process as the pool is created (they inherit its imports, and only run ``preload``);
    replacements for workers that were killed or died start as fresh interpreters, on demand.
    Before forking, this process runs ``preload`` itself, so the children inherit it done.
    Forking is safe only while the calling thread is the process's only Python thread (no other
    thread can then hold a lock the child would inherit locked), so ``start="auto"`` forks only
    then, and never on platforms without ``os.fork``; Dask's worker processes, which run threads,
    always get fresh interpreters.

    Args:
        max_workers: the most worker processes alive at once.
        time_limit: seconds a call may run, or ``None``.
        threads: native threads per worker (OpenMP/MKL/OpenBLAS environment variables).
        preload: ``module`` or ``module:function`` entries each worker imports (and calls)
            before it is ready (see :func:`run_preload`).
        start: ``auto`` (fork the first workers when safe, see above), ``fork`` (the same,
            even with other threads running: for callers that know they are quiet), or
            ``spawn`` (fresh interpreters only). With ``threads`` above 1 every worker is a
            fresh interpreter whatever ``start`` says: a forked child cannot run OpenMP's
            parallel regions once the parent has started its pool.
    """

    def __init__(
        self,
        max_workers: int,
        *,
        time_limit: float | None = None,
        threads: int = 1,
        preload: Sequence[str] = (),
        start: str = "auto",
    ) -> None:
        check_interval(max_workers, "max_workers", "WorkerPool", kind=int, low=1)
        check_options(start, "start", "WorkerPool", WORKER_STARTS)
        if time_limit is not None:
            check_interval(time_limit, "time_limit", "WorkerPool", low=0.0, closed="neither")
        check_interval(threads, "threads", "WorkerPool", kind=int, low=1)
        self.max_workers, self.time_limit, self.threads = max_workers, time_limit, threads
        self.preload = tuple(preload)
        self._queue: deque[_Call] = deque()
        self._lock = threading.Lock()
        self._closing = False
        self._abort = False
        self._broken: str | None = None
        self._start_failures = 0
        self._workers: list[_Worker] = []
        # More than one native thread per worker rules forking out: see _Worker.__init__.
        forking = hasattr(os, "fork") and threads == 1 and (
            start == "fork" or (start == "auto" and _single_threaded())
        )
        if forking:
            try:
                # Once here rather than once per child: torch's first optimizer step alone
                # takes seconds of lazy set-up, and each child would pay it again.
                for item in self.preload:
                    run_preload(item)
            except Exception:  # noqa: BLE001 - fresh workers will run it and report the error
                forking = False
            else:  # a preload that started a thread makes forking unsafe again
                forking = start == "fork" or _single_threaded()
        if forking:
            for _ in range(max_workers):
                inherited = [w.conn for w in self._workers]
                self._workers.append(_Worker(threads, self.preload, fork=True,
                                             inherited=inherited))
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)  # a full wake-up buffer already means "wake up"
        self._thread = threading.Thread(target=self._manage, daemon=True, name="worker-pool")
        self._thread.start()

    # -- the Executor interface ---------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        with self._lock:
            if self._closing:
                raise RuntimeError("cannot submit to a WorkerPool that is shut down")
            if self._broken is not None:
                future.set_exception(WorkerError(self._broken))
                return future
            self._queue.append(_Call(future, fn, args, kwargs))
        self._wake()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Finish the calls already running (and queued, unless ``cancel_futures``), then stop."""
        with self._lock:
            self._closing = True
            if cancel_futures:
                self._cancel_queued()
        self._wake()
        if wait:
            self._thread.join()

    def kill(self) -> None:
        """Stop now: cancel queued calls, kill every worker, fail the calls they held."""
        with self._lock:
            self._closing = self._abort = True
            self._cancel_queued()
        self._wake()
        self._thread.join()

    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        return [w.process.pid for w in list(self._workers)]

    # -- the manager thread -------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"x")

    def _cancel_queued(self) -> None:
        while self._queue:
            self._queue.popleft().future.cancel()

    def _manage(self) -> None:
        try:
            while self._step():
                pass
        except Exception as exc:  # noqa: BLE001 - a bug here must fail the calls, not hang them
            self._set_broken(f"the worker pool's manager failed: {exc!r}")
        finally:
            idle = []
            for worker in self._workers:
                if worker.call is not None:
                    worker.call.future.set_exception(WorkerLostError("the pool was stopped"))
                    worker.kill()
                elif self._abort:
                    worker.kill()
                else:
                    worker.ask_to_stop()
                    idle.append(worker)
            for worker in idle:  # asked all first, so they exit in parallel
                worker.stop()
            self._workers.clear()
            self._wake_r.close()
            self._wake_w.close()

    def _step(self) -> bool:
        """One round: start workers, hand out calls, wait, collect. False when done."""
        with self._lock:
            if self._abort:
                return False
            busy = sum(w.call is not None for w in self._workers)
            if self._closing and not self._queue and not busy:
                return False
            idle = [w for w in self._workers if w.ready and w.call is None]
            while idle and self._queue:
                call = self._queue.popleft()
                if call.future.set_running_or_notify_cancel():
                    self._send(idle.pop(), call)
            starting = sum(not w.ready for w in self._workers)
            wanted = min(self.max_workers - len(self._workers), len(self._queue) - starting)
        for _ in range(max(0, wanted)):
            self._workers.append(_Worker(self.threads, self.preload))
        deadline = min((w.deadline for w in self._workers), default=math.inf)
        timeout = None if math.isinf(deadline) else max(0.0, deadline - time.monotonic())
        ready = wait([self._wake_r, *(w.conn for w in self._workers)], timeout)
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError, OSError):
                while self._wake_r.recv(4096):
                    pass
        for worker in list(self._workers):
            if worker.conn in ready:
                self._receive(worker)
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.call is not None and now >= worker.deadline:
                self._retire(worker, RunTimeoutError(
                    f"the run exceeded the {self.time_limit:g} s wall-clock limit; its worker "
                    f"process was killed"
                ))
        return True

    def _send(self, worker: _Worker, call: _Call) -> None:
        worker.call = call
        worker.deadline = (
            math.inf if self.time_limit is None else time.monotonic() + self.time_limit
        )
        try:
            worker.conn.send((call.fn, call.args, call.kwargs))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            worker.call, worker.deadline = None, math.inf
            call.future.set_exception(exc)
        except OSError:
            self._retire(worker, WorkerLostError(
                f"worker process {worker.process.pid} died before the run started"
            ))

    def _receive(self, worker: _Worker) -> None:
        try:
            kind, payload = worker.conn.recv()
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=1)
            code = worker.process.poll()
            if not worker.ready:
                # Dying before it is ready is a broken installation, not bad luck: give up after
                # a few tries rather than respawn forever.
                self._start_failures += 1
                if self._start_failures >= 3:
                    self._set_broken(f"worker processes exit during start-up (status {code})")
            self._retire(worker, WorkerLostError(
                f"worker process {worker.process.pid} exited (status {code}) during the run"
            ))
            return
        if kind == "ready":
            worker.ready = True
            self._start_failures = 0
        elif kind == "broken":
            self._set_broken(f"a worker process could not start:\n{payload}")
            self._workers.remove(worker)
            worker.kill()
        else:
            call, worker.call, worker.deadline = worker.call, None, math.inf
            if call is None:
                return
            if kind == "result":
                call.future.set_result(payload)
            else:
                call.future.set_exception(WorkerError(payload))

    def _set_broken(self, why: str) -> None:
        with self._lock:
            self._broken = why
            while self._queue:
                call = self._queue.popleft()
                if call.future.set_running_or_notify_cancel():
                    call.future.set_exception(WorkerError(why))

    def _retire(self, worker: _Worker, error: BaseException) -> None:
        self._workers.remove(worker)
        worker.kill()
        if worker.call is not None:
            worker.call.future.set_exception(error)
            worker.call = None


# --------------------------------------------------------------------------------------------
# Engines: one interface over the three executors.
# --------------------------------------------------------------------------------------------


class Engine(Protocol):
    """What the runner needs from an executor. Futures follow ``concurrent.futures``."""

    name: str
    workers: int

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Schedule ``fn(*args)``; return its future."""
        ...

    def as_completed(self, futures: Sequence[Any]) -> Iterator[Any]:
        """Yield each of ``futures`` once, as it finishes."""
        ...

    def close(self, *, abort: bool = False) -> None:
        """Release the workers; ``abort`` stops runs in flight instead of waiting for them."""
        ...


class SerialEngine:
    """Runs each call in this process when ``as_completed`` reaches it (lazily, in order)."""

    name = "serial"
    workers = 1

    def __init__(self) -> None:
        self._calls: dict[cf.Future[Any], tuple[Callable[..., Any], tuple[Any, ...]]] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        self._calls[future] = (fn, args)
        return future

    def as_completed(self, futures: Sequence[cf.Future[Any]]) -> Iterator[cf.Future[Any]]:
        for future in futures:
            fn, args = self._calls.pop(future)
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except Exception as exc:  # noqa: BLE001 - the caller reads it from the future
                    future.set_exception(exc)
            yield future

    def close(self, *, abort: bool = False) -> None:
        for future in self._calls:
            future.cancel()
        self._calls.clear()


class PoolEngine:
    """A :class:`WorkerPool` as an engine (``process``, or ``serial`` with a time limit)."""

    def __init__(self, name: str, pool: WorkerPool) -> None:
        self.name, self.pool, self.workers = name, pool, pool.max_workers

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> cf.Future[Any]:
        return self.pool.submit(fn, *args)

    def as_completed(self, futures: Sequence[cf.Future[Any]]) -> Iterator[cf.Future[Any]]:
        return cf.as_completed(futures)

    def close(self, *, abort: bool = False) -> None:
        if abort:
            self.pool.kill()
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)


_SANDBOXES: dict[tuple[float, int, tuple[str, ...]], WorkerPool] = {}
_SANDBOX_LOCK = threading.Lock()


def call_in_sandbox(
    fn: Callable[..., Any], args: tuple[Any, ...], time_limit: float, threads: int,
    preload: tuple[str, ...],
) -> Any:
    """Run ``fn(*args)`` in a killable child of this (Dask worker) process, under a time limit.

    A Dask task cannot be stopped from outside, so with a time limit each Dask worker keeps a
    small :class:`WorkerPool` (one child per worker thread) and waits on it; a hung run costs
    one child, which is killed and replaced, and surfaces as ``RunTimeoutError``.
    """
    key = (time_limit, threads, preload)
    with _SANDBOX_LOCK:
        pool = _SANDBOXES.get(key)
        if pool is None:
            for old in _SANDBOXES.values():
                old.shutdown(wait=False)
            _SANDBOXES.clear()
            pool = _SANDBOXES[key] = WorkerPool(
                _dask_worker_threads(), time_limit=time_limit, threads=threads, preload=preload
            )
    return pool.submit(fn, *args).result()


def close_sandboxes(abort: bool = False) -> None:
    """Stop this process's sandbox pools (``abort``: kill the runs in them too)."""
    with _SANDBOX_LOCK:
        for pool in _SANDBOXES.values():
            if abort:
                pool.kill()
            else:
                pool.shutdown(wait=True, cancel_futures=True)
        _SANDBOXES.clear()


def _dask_worker_threads() -> int:
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


class DaskEngine:
    """A ``dask.distributed`` client: an existing cluster by address, or a loopback LocalCluster.

    Worker processes of a cluster need this package importable (``pip install -e .`` on each
    machine). A worker that dies mid-run has its runs rescheduled by the scheduler (up to
    ``distributed.scheduler.allowed-failures`` times) and then failed with ``KilledWorker``,
    which the runner retries or records; nothing is lost silently.
    """

    name = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None,
        workers: int | None,
        threads: int,
        time_limit: float | None,
        preload: tuple[str, ...],
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise EngineError(f"the dask executor needs dask.distributed: {exc}") from exc
        self._cluster: Any = None
        if scheduler is None:
            self._cluster = LocalCluster(
                n_workers=workers or max(1, available_cores() // threads),
                threads_per_worker=1,  # one run per process: torch threads are per process
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                env=thread_env(threads),
            )
            address = self._cluster.scheduler_address
        else:
            address = scheduler
            _probe(scheduler, connect_timeout)
        try:
            self.client = Client(address, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            self._close_cluster()
            raise EngineError(
                f"cannot reach the Dask scheduler at {address!r} within {connect_timeout:g} s: "
                f"{exc}"
            ) from exc
        try:
            self.client.wait_for_workers(1, timeout=connect_timeout)
        except TimeoutError as exc:
            self.close()
            raise EngineError(
                f"no Dask worker joined the scheduler at {address!r} within {connect_timeout:g} s"
            ) from exc
        self.address = address
        self.workers = int(sum(self.client.nthreads().values()))
        if time_limit is None:  # with a limit, the runs happen in sandboxes that preload
            for item in preload:
                self.client.run(run_preload, item)
        self._time_limit, self._threads, self._preload = time_limit, threads, preload
        self._submitted: list[Any] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        if self._time_limit is not None:
            future = self.client.submit(call_in_sandbox, fn, args, self._time_limit,
                                        self._threads, self._preload, pure=False)
        else:
            future = self.client.submit(fn, *args, pure=False)
        self._submitted.append(future)
        return future

    def as_completed(self, futures: Sequence[Any]) -> Iterator[Any]:
        from distributed import as_completed

        return iter(as_completed(list(futures)))

    def close(self, *, abort: bool = False) -> None:
        pending = [f for f in self._submitted if not f.done()]
        if pending:
            with contextlib.suppress(Exception):
                self.client.cancel(pending)
        self._submitted.clear()
        if self._time_limit is not None:
            # Cancelling cannot stop a task already running on a worker, but the sandboxes can
            # stop their runs; and a long-lived cluster should not keep our idle children.
            with contextlib.suppress(Exception):
                self.client.run(close_sandboxes, abort)
        with contextlib.suppress(Exception):
            self.client.close()
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()
            self._cluster = None


def open_engine(
    config: ExecutorConfig, *, threads: int = 1, jobs: int | None = None,
    preload: Sequence[str] = (),
) -> Engine:
    """Start the engine ``config`` describes.

    Args:
        config: which executor, how many workers, which scheduler, which time limit.
        threads: torch/BLAS threads per run; the default worker count divides the cores by it.
        jobs: how many calls will be submitted (local pools start no more workers than that).
        preload: what every worker imports or calls before taking work (see
            :func:`run_preload`); the serial engine leaves it to the caller, whose process it is.
    """
    check_interval(threads, "threads", "open_engine", kind=int, low=1)
    preload = tuple(preload)
    if config.kind == "dask":
        return DaskEngine(scheduler=config.scheduler, workers=config.workers, threads=threads,
                          time_limit=config.time_limit, preload=preload)
    if config.kind == "serial":
        if config.time_limit is None:
            return SerialEngine()
        # A run can only be stopped from outside if it runs in another process.
        return PoolEngine("serial", WorkerPool(1, time_limit=config.time_limit, threads=threads,
                                               preload=preload))
    wanted = config.workers or max(1, available_cores() // threads)
    size = max(1, min(wanted, jobs)) if jobs is not None else wanted
    return PoolEngine("process", WorkerPool(size, time_limit=config.time_limit, threads=threads,
                                            preload=preload))
