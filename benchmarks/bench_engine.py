"""Engine benchmarks: one CPU-bound suite run serially and on local worker processes.

``pytest benchmarks/bench_engine.py --benchmark-only`` times both executors side by side, twice:

- group ``engine-suite``: a whole ``run_cells`` call into a fresh records file -- validation,
  starting the engine (for processes: forking warm workers from this process), the
  runs, writing the records, stopping the engine. The wall time a user waits for the suite.
- group ``engine-throughput``: the same runs submitted to an engine started once, before the
  timer (``run_cell`` through ``submit``/``as_completed``, no records file): the steady state of
  a long suite, where start-up is amortised.

The difference between the two is the fixed cost of starting workers, which a suite must be
long enough to repay. Each process round follows a serial round of the same work (not part of
the timed round), and ``speedup_vs_serial`` is the median of the paired ratios. Plain ``pytest``
runs each once, untimed, on a two-cell suite, as a smoke test. The suite is NumPy backprop on
the sine task with a fixed iteration budget, so every run does the same work whatever the
executor (no target is reached, no time limit decides). The suite benchmarks also record the
summed solver seconds of their runs: if that grows under the process executor, the runs slowed
each other down (oversubscription, or other load on the machine) rather than the engine adding
overhead.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.budget import Budget
from benchmarks.conftest import timing_enabled
from benchmarks.engine.executors import Engine, ExecutorConfig, available_cores, open_engine
from benchmarks.engine.runner import run_cell, run_cells, warm_worker
from benchmarks.records import RunRecord, read_records
from benchmarks.suites import Cell

#: Timed rounds per benchmark: each is a whole suite.
ROUNDS = 3
#: The timed suite: 16 runs of about a second each on an idle core.
CELLS, ITERATIONS = 16, 20_000
#: The untimed smoke suite: enough to start the engine and write records.
SMOKE_CELLS, SMOKE_ITERATIONS = 2, 20
#: Local processes compared with serial (this machine has 2 cores).
WORKERS = 2

def suite(cells: int, iterations: int) -> list[Cell]:
    """NumPy backprop on ``sin(2x)`` at a rate that neither diverges nor reaches the target."""
    return [
        Cell(task="sine", task_options={"frequency": 2.0}, solver="numpy-backprop",
             solver_options={"learning_rate": 0.002}, budget=Budget(max_iterations=iterations),
             seed=seed)
        for seed in range(cells)
    ]


def check_records(records: list[RunRecord], cells: list[Cell]) -> None:
    """Fail unless the records are one full run of each cell, whatever the executor.

    Every seed once, each run exactly its budget's iterations, and the same final loss as the
    same cell run here in this process: a worker must not change a run's outcome.
    """
    assert sorted(r.seed for r in records) == sorted(c.seed for c in cells)
    assert {r.iterations for r in records} == {c.budget.max_iterations for c in cells}
    first = next(c for c in cells if c.seed == min(c.seed for c in cells))
    here = run_cell(first, "bench")
    (there,) = (r for r in records if r.seed == first.seed)
    assert there.final_train == here.final_train


def config(executor: str) -> ExecutorConfig:
    return ExecutorConfig(kind=executor, workers=WORKERS if executor == "process" else None)


def sized_suite(request: pytest.FixtureRequest) -> list[Cell]:
    timed = timing_enabled(request.config)
    return suite(*((CELLS, ITERATIONS) if timed else (SMOKE_CELLS, SMOKE_ITERATIONS)))


def record_speedup(benchmark: BenchmarkFixture, serial: list[float]) -> None:
    """``speedup_vs_serial``: median over rounds of (serial round / process round), each serial
    round run just before its process round, so both see the same machine (this VM's speed
    drifts by 20-30% over minutes: medians of separate benchmarks were off by as much)."""
    if benchmark.stats is None or benchmark.disabled or not serial:
        return
    process = benchmark.stats.stats.data
    ratios = [s / p for s, p in zip(serial, process, strict=True)]
    benchmark.extra_info["speedup_vs_serial"] = statistics.median(ratios)
    benchmark.extra_info["serial_median_s"] = statistics.median(serial)


@pytest.mark.benchmark(group="engine-suite")
@pytest.mark.parametrize("executor", ["serial", pytest.param("process", marks=pytest.mark.slow)])
def test_engine_suite(benchmark: BenchmarkFixture, executor: str, tmp_path: Path,
                      request: pytest.FixtureRequest) -> None:
    cells = sized_suite(request)
    paths = (tmp_path / f"round{i}.jsonl" for i in count())
    last: list[Path] = []
    serial: list[float] = []  # the serial rounds run beside the process ones

    def setup() -> tuple[tuple[()], dict[str, object]]:
        if executor == "process" and timing_enabled(request.config):
            start = time.perf_counter()
            run_cells(cells, suite="bench", records_path=next(paths), progress=False,
                      executor=config("serial"))
            serial.append(time.perf_counter() - start)
        path = next(paths)
        last[:] = [path]
        return (), {"cells": cells, "suite": "bench", "records_path": path, "progress": False,
                    "executor": config(executor)}

    summary = benchmark.pedantic(run_cells, setup=setup, rounds=ROUNDS, iterations=1)
    assert summary.ran == len(cells) and summary.failed == 0
    records = read_records(last).records
    assert {r.stop_reason for r in records} == {"max_iterations"}
    check_records(records, cells)
    benchmark.extra_info.update(
        executor=summary.executor,
        workers=summary.workers,
        cores=available_cores(),
        cells=len(cells),
        iterations=cells[0].budget.max_iterations,
        solver_seconds_total=sum(r.solver_seconds for r in records),
    )
    record_speedup(benchmark, serial)


@pytest.fixture(params=["serial", pytest.param("process", marks=pytest.mark.slow)])
def started_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine whose workers are up and warm before any timing starts."""
    engine = open_engine(config(request.param), preload=("benchmarks.engine.runner:warm_worker",))
    if engine.name == "serial":
        warm_worker()
    else:  # one trivial call per worker, so that every worker has started and warmed up
        futures = [engine.submit(abs, -1) for _ in range(engine.workers)]
        assert [f.result() for f in engine.as_completed(futures)] == [1] * engine.workers
    yield engine
    engine.close()


@pytest.mark.benchmark(group="engine-throughput")
def test_engine_throughput(benchmark: BenchmarkFixture, started_engine: Engine,
                           request: pytest.FixtureRequest) -> None:
    cells = sized_suite(request)
    engine = started_engine
    serial: list[float] = []

    def run_all() -> list[RunRecord]:
        futures = [engine.submit(run_cell, cell, "bench") for cell in cells]
        return [f.result() for f in engine.as_completed(futures)]

    def serial_round() -> None:
        if engine.name == "process" and timing_enabled(request.config):
            start = time.perf_counter()
            for cell in cells:
                run_cell(cell, "bench")
            serial.append(time.perf_counter() - start)

    records = benchmark.pedantic(run_all, setup=serial_round, rounds=ROUNDS, iterations=1)
    assert len(records) == len(cells)
    assert {r.stop_reason for r in records} == {"max_iterations"}
    check_records(records, cells)
    benchmark.extra_info.update(executor=engine.name, workers=engine.workers,
                                cells=len(cells), iterations=cells[0].budget.max_iterations)
    record_speedup(benchmark, serial)
