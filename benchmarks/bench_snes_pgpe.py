"""Per-generation speed of ``snes`` and ``pgpe`` beside a NumPy floor of the same generation.

``pytest benchmarks/bench_snes_pgpe.py --benchmark-only`` times them; plain ``pytest`` runs each
once, untimed, for two generations, as a smoke test (see the root ``conftest.py``).

On the sine task with two wider hidden layers, at about 1,000 weights (1-30-30-1: 1,021) and
about 10,000 weights (1-98-98-1: 9,997), each benchmark group shows side by side:

(a) ``snes`` / ``pgpe``: our solver with its defaults (SNES: the paper's population
    ``4 + floor(3 ln n)``, 24 and 31 here; PGPE: 100 members in symmetric pairs, EvoTorch's
    functional ``pgpe_tell`` with ClipUp), run through ``Solver.run`` with a counting monitor;
(b) ``numpy-floor``: the same generation written here as plain array code with the same batched
    fitness (``Task.losses``, one call per generation) and the same random draws, with no
    monitor, no state objects and no torch: what a generation costs without any engine around
    it.

One round runs ``generations`` generations from scratch; the per-generation time in
``extra_info`` is the round's median divided by that count. The timer is the process's CPU
time (``time.process_time``), torch and BLAS on one thread, as in ``bench_neuroevolution.py``,
whose timing helpers this file reuses.

Every variant's result is checked after its rounds, timed or not: the floor and the solver,
given the same seed, end on the same center (SNES exactly; PGPE to round-off, since EvoTorch
recovers each perturbation as ``member - center``), so the floor times the same algorithm.

Ratio: each (a) test runs after its (b) and records ``slowdown_vs_numpy_floor`` = (a) / (b)
per generation (medians; ``_min`` for the fastest rounds) in its ``extra_info``, and fails when
the median ratio exceeds the target, :data:`TARGET_RATIO` (3x).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.bench_neuroevolution import _ratio, _time
from benchmarks.harness import initial_params, pinned_threads
from solvers.pgpe import PGPESolver
from solvers.snes import SNESSolver
from tasks import get_task
from tasks.base import Task
from tasks.mlp import FlatParams

SEED = 0
#: The most a solver's generation may cost, as a multiple of the NumPy floor's.
TARGET_RATIO = 3.0

#: network id -> (sine task options, generations per round, rounds). A round takes about
#: 0.1-1 s on a 2-core box.
NETWORKS: dict[str, tuple[dict[str, Any], int, int]] = {
    "sine-1k": ({"hidden": (30, 30)}, 40, 5),
    "sine-10k": ({"hidden": (98, 98)}, 8, 5),
}

benchmark_cpu = pytest.mark.benchmark(timer=time.process_time)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with pinned_threads(1):
        yield


def _task(network: str) -> Task:
    return get_task("sine", **NETWORKS[network][0])


def _generations(network: str, config: pytest.Config) -> int:
    """Generations per round; under plain ``pytest`` (untimed) two exercise the code."""
    return 2 if config.getoption("benchmark_disable") else NETWORKS[network][1]


def _group(solver: str, network: str, task: Task) -> str:
    return f"{solver} per generation: {network} ({task.num_params} weights)"


class _LastMonitor:
    """Lets a solver run ``generations`` generations after its first report, keeps the last."""

    def __init__(self, generations: int) -> None:
        self.left = generations + 1
        self.last: FlatParams | None = None

    def report(self, params: FlatParams, *, evaluations: int, backward: int = 0) -> bool:
        self.left -= 1
        self.last = params
        return self.left <= 0


# -- (b) the floors: one generation as plain NumPy --------------------------------------------


def _numpy_snes(task: Task, mu: FlatParams, generations: int, rng: np.random.Generator,
                population: int, radius: float) -> FlatParams:
    """SNES (Schaul et al. 2011, algorithm 2) with NES utilities; returns the last mean."""
    n = mu.size
    sigma = np.full(n, radius / math.sqrt(n))
    eta_sigma = (3.0 + math.log(n)) / (5.0 * math.sqrt(n))
    raw = np.maximum(0.0, math.log(population / 2 + 1) - np.log(np.arange(1, population + 1)))
    utilities = raw / raw.sum() - 1.0 / population
    weights = np.empty(population)
    for _ in range(generations):
        s = rng.standard_normal((population, n))
        weights[np.argsort(task.losses(mu + sigma * s), kind="stable")] = utilities
        mu = mu + sigma * (weights @ s)
        sigma = sigma * np.exp(0.5 * eta_sigma * (weights @ (s * s - 1.0)))
    return mu


def _numpy_pgpe(task: Task, center: FlatParams, generations: int, rng: np.random.Generator,
                solver: PGPESolver) -> FlatParams:
    """Symmetric PGPE with centered ranks, ClipUp and the bounded stdev update; returns the
    last center."""
    n, pairs = center.size, solver.population_size // 2
    stdev = np.full(n, solver.radius_init / math.sqrt(n))
    velocity = np.zeros(n)
    lr, speed_cap = solver.resolved_center_learning_rate, solver.max_speed
    ranks = np.arange(solver.population_size) / (solver.population_size - 1) - 0.5
    shaped = np.empty(solver.population_size)
    members = np.empty((solver.population_size, n))
    for _ in range(generations):
        e = rng.standard_normal((pairs, n)) * stdev
        members[0::2] = center + e
        members[1::2] = center - e
        shaped[np.argsort(-task.losses(members))] = ranks  # the lowest loss gets +0.5
        plus, minus = shaped[0::2], shaped[1::2]
        grad_center = (plus - minus) / 2 @ e / pairs
        grad_stdev = (plus + minus) / 2 @ ((e * e - stdev * stdev) / stdev) / pairs
        velocity = solver.momentum * velocity + lr * grad_center / np.linalg.norm(grad_center)
        speed = np.linalg.norm(velocity)
        if speed > speed_cap:
            velocity = velocity * (speed_cap / speed)
        center = center + velocity
        bound = stdev * solver.stdev_max_change
        stdev = np.clip(stdev + solver.stdev_learning_rate * grad_stdev, stdev - bound,
                        stdev + bound)
    return center


#: (solver, network) -> the floor's last center, for the solver's test to compare with.
FLOOR_RESULT: dict[tuple[str, str], FlatParams] = {}


def _floor_setup(task: Task, generations: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (task, initial_params(task, SEED), generations, np.random.default_rng(SEED)), {}


def _solver_setup(task: Task, generations: int,
                  monitors: list[_LastMonitor]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    monitors.append(_LastMonitor(generations))
    return (task, initial_params(task, SEED), monitors[-1], np.random.default_rng(SEED)), {}


def _record(benchmark: BenchmarkFixture, group: str, variant: str, population: int) -> None:
    benchmark.extra_info["population"] = population  # ``_time`` records GA's P=50 by default
    if variant != "numpy-floor":
        _ratio(benchmark, group, variant, "numpy-floor", "slowdown_vs_numpy_floor")
        ratio = benchmark.extra_info.get("slowdown_vs_numpy_floor")
        if ratio is not None:
            benchmark.extra_info["target_floor_met"] = ratio <= TARGET_RATIO
            assert ratio <= TARGET_RATIO, (
                f"{group}: {variant} costs {ratio:.2f}x the NumPy floor per generation "
                f"(target <= {TARGET_RATIO}x)"
            )


# -- SNES ---------------------------------------------------------------------------------------


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_snes_numpy_floor(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                          network: str) -> None:
    """(b) for SNES: the generation as plain NumPy."""
    task, solver = _task(network), SNESSolver()
    population = solver.resolved_population_size(task)
    generations = _generations(network, request.config)
    group = _group("snes", network, task)

    def floor(*args: Any) -> FlatParams:
        return _numpy_snes(*args, population=population, radius=solver.radius_init)

    _, mean = _time(benchmark, group, "numpy-floor", generations, NETWORKS[network][2], floor,
                    lambda: _floor_setup(task, generations))
    _record(benchmark, group, "numpy-floor", population)
    assert mean.shape == (task.num_params,) and np.all(np.isfinite(mean))
    FLOOR_RESULT[("snes", network)] = mean


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_snes_ours(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                   network: str) -> None:
    """(a) ``snes`` with its defaults; the ratio against (b) in ``extra_info``."""
    task, solver = _task(network), SNESSolver()
    generations = _generations(network, request.config)
    group = _group("snes", network, task)
    monitors: list[_LastMonitor] = []
    _time(benchmark, group, "snes", generations, NETWORKS[network][2], solver.run,
          lambda: _solver_setup(task, generations, monitors))
    _record(benchmark, group, "snes", solver.resolved_population_size(task))
    last = monitors[-1].last
    assert monitors[-1].left == 0 and last is not None
    expected = FLOOR_RESULT.get(("snes", network))
    if expected is not None:  # same seed, same draws, same arithmetic: the same mean
        np.testing.assert_allclose(last, expected, rtol=1e-12, atol=1e-12)


# -- PGPE ---------------------------------------------------------------------------------------


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_pgpe_numpy_floor(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                          network: str) -> None:
    """(b) for PGPE: the generation (symmetric sampling, ranks, ClipUp) as plain NumPy."""
    task, solver = _task(network), PGPESolver()
    generations = _generations(network, request.config)
    group = _group("pgpe", network, task)

    def floor(*args: Any) -> FlatParams:
        return _numpy_pgpe(*args, solver=solver)

    _, center = _time(benchmark, group, "numpy-floor", generations, NETWORKS[network][2], floor,
                      lambda: _floor_setup(task, generations))
    _record(benchmark, group, "numpy-floor", solver.population_size)
    assert center.shape == (task.num_params,) and np.all(np.isfinite(center))
    FLOOR_RESULT[("pgpe", network)] = center


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_pgpe_ours(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                   network: str) -> None:
    """(a) ``pgpe`` with its defaults (EvoTorch's ``pgpe_tell``); the ratio in ``extra_info``."""
    task, solver = _task(network), PGPESolver()
    solver.iteration_cost(task)  # imports EvoTorch before the first timed round, as the harness
    generations = _generations(network, request.config)
    group = _group("pgpe", network, task)
    monitors: list[_LastMonitor] = []
    _time(benchmark, group, "pgpe", generations, NETWORKS[network][2], solver.run,
          lambda: _solver_setup(task, generations, monitors))
    _record(benchmark, group, "pgpe", solver.population_size)
    last = monitors[-1].last
    assert monitors[-1].left == 0 and last is not None
    expected = FLOOR_RESULT.get(("pgpe", network))
    if expected is not None:  # the same draws; EvoTorch's arithmetic differs by round-off only
        np.testing.assert_allclose(last, expected, rtol=1e-6, atol=1e-9)
