"""Speed at 10^5 parameters (issue 24): a population generation against the float32 matmul rate,
an Adam step against torch's bare loop, and the workers model against two real workers.

``pytest benchmarks/bench_scale.py --benchmark-only`` times them; plain ``pytest`` runs each
once, untimed, on a small network, as a smoke test (see the root ``conftest.py``).

The network: digits with one tanh hidden layer of 1,366 units (64-1366-10, 102,460
parameters) on 1,437 training rows (``test_fraction=0.2``, no validation split). Torch and BLAS
run on one thread, as the harness runs solvers.

1. **A generation** of P = 64 (``ga`` in float32 and at its float64 default, ``openai-es``,
   ``snes``) through ``Solver.run`` with a monitor that only timestamps each report: the
   per-generation time is the median gap between reports after the first (the initial
   population and set-up are left out). Its arithmetic rate is the dense layers' FLOPs of the
   members it scored (``2 x evaluations x weights``) over that time, and ``share_of_matmul32``
   is that rate over the rate of a single-thread 1024x1024 float32 matmul measured between the
   rounds (target: >= 0.5). ``extra_info`` also says where a generation's time goes: the
   population forward alone (``Task.losses`` of P members at the solver's precision), the
   hidden tanh alone, and drawing P x n normal numbers.
2. **An Adam step**: K full-batch steps through ``run_one`` against the bare torch loop of
   ``benchmarks/bench_hotpaths.py`` (same weights, data and optimizer; the loops alternate
   round by round); ``bare_over_harness`` = bare seconds / harness solver seconds per step
   (target: >= 0.5, i.e. the harness's step at least half as fast as torch's own loop).
3. **The workers model at W = 2** (``benchmarks/report/scaling.py``): SNES (P = 64) on the
   9,610-parameter network, first with the population scored in this process (W = 1), then
   with each generation's members split over two worker processes (W = 2, each scoring half,
   parameters and losses sent through pipes). From the W = 1 run the model takes the forward
   time per member (``Task.losses`` timed alone) and the serial rest of a generation, and
   predicts W = 2 as ``ceil(64 / 2) x member seconds + serial``; ``measured_over_modeled`` is
   the W = 2 generation's measured time over that prediction. The model leaves out the pipes'
   transfer (2 x 32 x 9,610 floats a generation) and needs two free cores: on a shared
   2-core machine the ratio is above 1 by both.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import statistics
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture
from threadpoolctl import threadpool_limits

from benchmarks.bench_hotpaths import (
    bare_loop,
    endless,
    forward_flops,
    hidden_activation_seconds,
    matmul_seconds,
)
from benchmarks.budget import Budget
from benchmarks.harness import initial_params, pinned_threads, run_one
from solvers import get_solver
from solvers.adam import AdamSolver
from solvers.base import Solver
from tasks import get_task
from tasks.base import Task
from tasks.mlp import FlatParams, FloatArray

SEED = 0
POPULATION = 64
#: The issue's targets: a generation at half the float32 matmul rate; Adam's step at half the
#: bare loop's speed.
TARGET_SHARE = 0.5
TARGET_ADAM = 0.5
#: Digits on 1,437 training rows: 1,366 hidden units give 102,460 parameters (timed), 16 give
#: 1,210 (the untimed smoke run).
WIDTH, SMOKE_WIDTH = 1366, 16
#: solver variant -> (registry key, hyperparameters).
GENERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "ga-float32": ("ga", {"population_size": POPULATION, "dtype": "float32"}),
    "ga": ("ga", {"population_size": POPULATION}),
    "openai-es": ("openai-es", {"population_size": POPULATION}),
    "snes": ("snes", {"population_size": POPULATION}),
}
GENERATIONS_PER_ROUND, ROUNDS = 4, 3
ADAM_STEPS, ADAM_ROUNDS = 8, 5
#: The W = 2 check's network (9,610 parameters) and generations per measurement.
WORKERS_WIDTH, WORKERS_GENERATIONS = 128, 6


def _timed(config: pytest.Config) -> bool:
    return not config.getoption("benchmark_disable")


def _digits(width: int) -> Task:
    return get_task("digits", hidden=width, test_fraction=0.2, val_fraction=0.0)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with pinned_threads(1):
        yield


class _StampMonitor:
    """Lets a solver run ``generations`` generations after its first report; stamps each."""

    def __init__(self, generations: int) -> None:
        self.left = generations + 1
        self.stamps: list[float] = []
        self.evaluations: list[int] = []
        self.last: FlatParams | None = None

    def report(self, params: FlatParams, *, evaluations: int, backward: int = 0) -> bool:
        del backward
        self.stamps.append(time.perf_counter())
        self.evaluations.append(int(evaluations))
        self.last = params
        self.left -= 1
        return self.left <= 0

    def per_generation(self) -> tuple[float, float]:
        """Median seconds and evaluations of the generations after the first report."""
        gaps = np.diff(self.stamps)
        return float(np.median(gaps)), float(np.median(self.evaluations[1:]))


def _run(solver: Solver, task: Task, generations: int) -> _StampMonitor:
    monitor = _StampMonitor(generations)
    solver.run(task, initial_params(task, SEED), monitor, np.random.default_rng(SEED))
    return monitor


def _dense_weights(task: Task) -> int:
    return sum(fi * fo for fi, fo in task.model.shapes)


# -- 1. a generation against the float32 matmul rate -----------------------------------------


@pytest.mark.parametrize("variant", list(GENERATIONS))
def test_generation_share_of_matmul32(
    benchmark: BenchmarkFixture, request: pytest.FixtureRequest, variant: str
) -> None:
    """One generation of P = 64 at 10^5 parameters, as a share of the float32 matmul rate."""
    timed = _timed(request.config)
    task = _digits(WIDTH if timed else SMOKE_WIDTH)
    name, options = GENERATIONS[variant]
    solver = get_solver(name, **options)
    generations = GENERATIONS_PER_ROUND if timed else 1
    monitors: list[_StampMonitor] = []
    matmul32: list[float] = []

    def reference() -> None:
        if timed:
            matmul32.append(matmul_seconds(np.float32))

    def round_() -> None:
        monitors.append(_run(solver, task, generations))

    benchmark.group = f"generation at 10^5 parameters: {task.model.describe()}, P={POPULATION}"
    benchmark.pedantic(round_, setup=reference, rounds=ROUNDS if timed else 1, iterations=1)
    assert all(m.last is not None and np.all(np.isfinite(m.last)) for m in monitors)
    seconds = min(m.per_generation()[0] for m in monitors)  # the least disturbed round
    evaluations = monitors[-1].per_generation()[1]
    assert evaluations > 0
    if not timed:
        return
    dtype = str(options.get("dtype", "float64"))
    rate = 2.0 * evaluations * _dense_weights(task) / seconds / 1e9
    rate32 = 2.0 * 1024**3 / min(matmul32) / 1e9
    forward = _forward_seconds(task, dtype)
    draws = _normal_seconds(task)
    share = rate / rate32
    benchmark.extra_info.update(
        variant=variant,
        num_params=task.num_params,
        n_train=task.n_train,
        population=POPULATION,
        evaluations_per_generation=evaluations,
        dtype=dtype,
        threads=1,
        generation_ms=1e3 * seconds,
        generation_gflops=rate,
        matmul32_gflops=rate32,
        share_of_matmul32=share,
        target_share_met=share >= TARGET_SHARE,
        # Where the time goes, each timed alone on the same population size.
        forward_ms=1e3 * forward,
        forward_share_of_matmul32=forward_flops(task, POPULATION) / forward / 1e9 / rate32,
        tanh_ms=1e3 * hidden_activation_seconds(task, POPULATION, dtype),
        normal_draws_ms=1e3 * draws,
        rest_ms=1e3 * (seconds - forward * evaluations / (POPULATION * task.n_train) - draws),
    )
    assert share >= TARGET_SHARE, (
        f"{variant}: a generation runs at {share:.2f} of the float32 matmul rate (target "
        f">= {TARGET_SHARE}); forward alone {benchmark.extra_info['forward_ms']:.0f} ms "
        f"(tanh {benchmark.extra_info['tanh_ms']:.0f} ms), normal draws {1e3 * draws:.0f} ms, "
        f"generation {1e3 * seconds:.0f} ms"
    )


def _forward_seconds(task: Task, dtype: str) -> float:
    """Fastest of three population forwards of P members (``Task.losses``) at ``dtype``."""
    population = task.model.init_params(np.random.default_rng(SEED), size=POPULATION)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        task.losses(population, dtype=dtype)
        best = min(best, time.perf_counter() - start)
    return best


def _normal_seconds(task: Task) -> float:
    """Drawing one generation's P x n standard normal numbers (what every ES samples)."""
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    rng.standard_normal((POPULATION, task.num_params))
    return time.perf_counter() - start


# -- 2. an Adam step against torch's bare loop ------------------------------------------------


def test_adam_step_vs_bare_torch(benchmark: BenchmarkFixture,
                                 request: pytest.FixtureRequest) -> None:
    """K Adam steps through the harness against the same K steps of a bare torch loop."""
    timed = _timed(request.config)
    task = endless(_digits(WIDTH if timed else SMOKE_WIDTH))
    solver = AdamSolver()
    steps = ADAM_STEPS if timed else 2
    bare: list[float] = []
    bare_params: list[np.ndarray] = []
    harness: list[float] = []
    finals: list[np.ndarray] = []

    def bare_round() -> None:
        seconds, params = bare_loop(task, solver, steps)
        bare.append(seconds)
        bare_params.append(params)

    def through_harness() -> None:
        record = run_one(task, solver, Budget(max_iterations=steps), SEED, strict=True)
        harness.append(record.solver_seconds)
        finals.append(np.asarray(record.final_params))

    benchmark.group = f"adam step at 10^5 parameters: {task.model.describe()}"
    benchmark.pedantic(through_harness, setup=bare_round, rounds=ADAM_ROUNDS if timed else 1,
                       iterations=1)
    # The same K steps: the harness run ends on the bare loop's weights (stored up to the
    # record's size limit; compared where it kept them).
    if finals[-1].size:
        np.testing.assert_allclose(finals[-1], bare_params[-1], rtol=1e-10, atol=1e-12)
    if not timed:
        return
    ratio = statistics.median(b / h for b, h in zip(bare, harness, strict=True))
    benchmark.extra_info.update(
        num_params=task.num_params,
        n_train=task.n_train,
        steps=steps,
        threads=1,
        bare_ms_per_step=1e3 * statistics.median(bare) / steps,
        harness_ms_per_step=1e3 * statistics.median(harness) / steps,
        bare_over_harness=ratio,
        target_met=ratio >= TARGET_ADAM,
    )
    assert ratio >= TARGET_ADAM, (
        f"an Adam step through the harness runs at {ratio:.2f} of the bare torch loop's speed "
        f"(target >= {TARGET_ADAM})"
    )


# -- 3. the workers model against two real workers --------------------------------------------

_WORKER_TASK: Task | None = None


def _worker_start(width: int) -> None:
    global _WORKER_TASK
    threadpool_limits(1)
    _WORKER_TASK = _digits(width)


def _worker_losses(population: FloatArray) -> FloatArray:
    assert _WORKER_TASK is not None
    return _WORKER_TASK.losses(population)


class _PooledTask(Task):
    """The task, with each population's members scored by a pool of worker processes."""

    pool: Any = None

    def scored_losses(self, population: FloatArray) -> tuple[FloatArray, int]:
        halves = np.array_split(population, 2)
        losses = np.concatenate(list(self.pool.map(_worker_losses, halves)))
        return losses, len(population) * self.n_train


def _pooled(task: Task, pool: cf.Executor) -> Task:
    fields = {f: getattr(task, f) for f in task.__dataclass_fields__}
    pooled = _PooledTask(**fields)
    object.__setattr__(pooled, "pool", pool)
    return pooled


def test_workers_model_at_two_workers(benchmark: BenchmarkFixture,
                                      request: pytest.FixtureRequest) -> None:
    """SNES generations with the population scored by 2 processes, against the model's
    prediction from the same generations scored in this process."""
    timed = _timed(request.config)
    width = WORKERS_WIDTH if timed else SMOKE_WIDTH
    task = _digits(width)
    solver = get_solver("snes", population_size=POPULATION)
    generations = WORKERS_GENERATIONS if timed else 1
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(2, mp_context=context, initializer=_worker_start,
                                initargs=(width,)) as pool:
        pooled = _pooled(task, pool)
        _run(solver, pooled, 1)  # start both workers before the clock
        single: list[float] = []
        member = _forward_seconds(task, "float64") / POPULATION

        def in_process() -> None:
            single.append(_run(solver, task, generations).per_generation()[0])

        pooled_runs: list[_StampMonitor] = []

        def two_workers() -> None:
            pooled_runs.append(_run(solver, pooled, generations))

        benchmark.group = f"workers model at W=2: {task.model.describe()}, P={POPULATION}"
        benchmark.pedantic(two_workers, setup=in_process, rounds=3 if timed else 1,
                           iterations=1)
    assert all(m.last is not None and np.all(np.isfinite(m.last)) for m in pooled_runs)
    if not timed:
        return
    # Fastest rounds of each (the least disturbed), per generation after the first report.
    one = min(single)
    measured = min(m.per_generation()[0] for m in pooled_runs)
    serial = max(one - POPULATION * member, 0.0)
    modeled = math.ceil(POPULATION / 2) * member + serial
    benchmark.extra_info.update(
        num_params=task.num_params,
        n_train=task.n_train,
        population=POPULATION,
        w1_generation_ms=1e3 * one,
        member_ms=1e3 * member,
        serial_ms=1e3 * serial,
        w2_modeled_ms=1e3 * modeled,
        w2_measured_ms=1e3 * measured,
        measured_over_modeled=measured / modeled,
        speedup_measured=one / measured,
        speedup_modeled=one / modeled,
    )
    assert measured > 0
