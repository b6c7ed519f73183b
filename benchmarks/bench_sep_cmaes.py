"""Per-generation speed of ``sep-cmaes`` against a NumPy floor, at about 1k and 10k weights.

``pytest benchmarks/bench_sep_cmaes.py --benchmark-only`` times them; plain ``pytest`` runs each
once, untimed, as a smoke test (see the root ``conftest.py``).

sep-CMA-ES exists to make CMA-ES linear in the number of weights, so what matters is whether
pycma's diagonal mode costs about what the algorithm itself costs, or adds an engine's overhead
on top. On the sine task with one wide hidden layer (1-333-1: 1,000 weights; 1-3333-1: 10,000)
at P = 50, each group shows:

(a) ``sep-cmaes``: our solver (pycma with ``CMA_diagonal=True``, one batched forward per
    generation), from scratch each round (building pycma's object is amortised over the round);
(b) ``numpy-floor``: a minimal fully vectorized NumPy sep-CMA-ES generation (Ros & Hansen 2008:
    weighted recombination, cumulative step-size adaptation, rank-one and rank-mu updates of the
    diagonal with the ``(n + 2) / 3`` learning-rate factor) with the same batched fitness
    (``Task.losses``) and the same population, written here only as the floor: what a
    generation costs without any engine around it.

pycma's step-size rule differs from the floor's from 300 weights on (TPA, two mirrored samples
per generation, instead of CSA); both are ``O(P n)`` per generation, so the floor is a fair
bound on cost, not a replica of the search. Timer, threads, the per-generation medians and the
ratio helper are ``bench_neuroevolution``'s. The (a) test records ``slowdown_vs_numpy_floor`` =
(a) / (b) per generation (target <= 3, asserted when timed), with both per-generation times.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.bench_neuroevolution import (
    PER_GENERATION,
    _CountingMonitor,
    _ratio,
    _time,
    benchmark_cpu,
)
from benchmarks.harness import initial_params, pinned_threads
from solvers.sep_cmaes import SepCMAESSolver
from tasks import get_task
from tasks.base import Task
from tasks.mlp import FloatArray

POPULATION = 50  # bench_neuroevolution's, which its timing helper records
SEED = 0
#: The floor's target: ours at most this many times slower per generation.
MAX_SLOWDOWN = 3.0

#: network id -> (sine's hidden width, generations per round of (a), of (b), rounds).
NETWORKS: dict[str, tuple[int, int, int, int]] = {
    "sine-1-333-1": (333, 100, 100, 5),
    "sine-1-3333-1": (3333, 15, 15, 5),
}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with pinned_threads(1):
        yield


def _task(network: str) -> Task:
    return get_task("sine", hidden=NETWORKS[network][0])


def _group(network: str, task: Task) -> str:
    return f"sep-cmaes per generation: {network} ({task.num_params} weights), P={POPULATION}"


def _returning(target: Callable[..., Any]) -> Callable[..., None]:
    """``target`` as ``_time`` declares it; ``_time`` does hand back what it returns."""
    return cast("Callable[..., None]", target)


def _generations(network: str, variant: str, config: pytest.Config) -> int:
    """Generations per round; under plain ``pytest`` (untimed) two exercise the code."""
    if config.getoption("benchmark_disable"):
        return 2
    return NETWORKS[network][1 if variant == "sep-cmaes" else 2]


# -- (b) the floor: a minimal, fully vectorized NumPy sep-CMA-ES -------------------------------


class _SepCMAFloor:
    """sep-CMA-ES as plain array code: state in attributes, one :meth:`generation` per call."""

    def __init__(self, mean: FloatArray, sigma: float, population: int) -> None:
        n = mean.size
        self.mean, self.sigma, self.population = mean.copy(), sigma, population
        self.diag, self.p_sigma, self.p_c = np.ones(n), np.zeros(n), np.zeros(n)
        mu = population // 2
        w = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
        self.weights = w / w.sum()
        mueff = 1.0 / float(self.weights @ self.weights)
        self.c_sigma = (mueff + 2) / (n + mueff + 5)
        self.d_sigma = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + self.c_sigma
        self.c_c = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
        c1 = 2 / ((n + 1.3) ** 2 + mueff)
        cmu = 2 * (mueff - 2 + 1 / mueff) / ((n + 2) ** 2 + mueff)
        # Ros & Hansen: a diagonal has n entries to learn, not n^2 / 2: rates times (n + 2) / 3.
        self.c1 = min(1.0, c1 * (n + 2) / 3)
        self.cmu = min(1.0 - self.c1, cmu * (n + 2) / 3)
        self.mueff, self.chi_n = mueff, math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
        self.generations = 0
        self.best = math.inf

    def generation(self, task: Task, rng: np.random.Generator) -> None:
        y = rng.standard_normal((self.population, self.mean.size)) * np.sqrt(self.diag)
        losses = task.losses(self.mean + self.sigma * y)
        self.best = min(self.best, float(losses.min()))
        chosen = y[np.argsort(losses)[: self.weights.size]]
        y_w = self.weights @ chosen
        self.mean = self.mean + self.sigma * y_w
        self.generations += 1
        cs = self.c_sigma
        self.p_sigma = (1 - cs) * self.p_sigma + math.sqrt(cs * (2 - cs) * self.mueff) * (
            y_w / np.sqrt(self.diag))
        norm = float(np.linalg.norm(self.p_sigma))
        stalled = norm / math.sqrt(1 - (1 - cs) ** (2 * self.generations)) / self.chi_n
        h_sigma = float(stalled < 1.4 + 2 / (self.mean.size + 1))
        cc = self.c_c
        self.p_c = (1 - cc) * self.p_c + h_sigma * math.sqrt(cc * (2 - cc) * self.mueff) * y_w
        self.diag = ((1 - self.c1 - self.cmu) * self.diag
                     + self.c1 * (self.p_c**2 + (1 - h_sigma) * cc * (2 - cc) * self.diag)
                     + self.cmu * (self.weights @ chosen**2))
        self.sigma *= math.exp(cs / self.d_sigma * (norm / self.chi_n - 1))


def _floor_run(task: Task, x0: FloatArray, generations: int) -> _SepCMAFloor:
    es = _SepCMAFloor(x0, SepCMAESSolver().sigma0, POPULATION)
    rng = np.random.default_rng(SEED)
    es.best = float(task.losses(x0[None])[0])  # as the solver scores x0 first
    for _ in range(generations):
        es.generation(task, rng)
    return es


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_sep_cmaes_numpy_floor(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                               network: str) -> None:
    """(b): the floor, a minimal fully vectorized NumPy sep-CMA-ES."""
    task = _task(network)
    generations = _generations(network, "numpy-floor", request.config)

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (task, initial_params(task, SEED), generations), {}

    _, es = _time(benchmark, _group(network, task), "numpy-floor", generations,
                  NETWORKS[network][3], _returning(_floor_run), setup)
    # It ran its generations, kept a positive diagonal and a finite mean, and found a point no
    # worse than x0 (the best of 50 perturbations of x0 or better).
    assert es.generations == generations
    assert np.all(es.diag > 0) and np.all(np.isfinite(es.mean)) and es.sigma > 0
    assert es.best <= float(task.losses(initial_params(task, SEED)[None])[0])


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_sep_cmaes_ours(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                        network: str) -> None:
    """(a): ``sep-cmaes`` at P = 50; the ratio against (b) in ``extra_info``, at most 3x."""
    task = _task(network)
    generations = _generations(network, "sep-cmaes", request.config)
    solver = SepCMAESSolver(population_size=POPULATION)
    monitors: list[_CountingMonitor] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        monitors.append(_CountingMonitor(generations))
        return (task, initial_params(task, SEED), monitors[-1], np.random.default_rng(SEED)), {}

    group = _group(network, task)
    ours, _ = _time(benchmark, group, "sep-cmaes", generations, NETWORKS[network][3],
                    _returning(solver.run), setup, teardown=lambda *args: args[2].check())
    monitors[-1].check_result(task)
    if ours is None:
        return
    _ratio(benchmark, group, "sep-cmaes", "numpy-floor", "slowdown_vs_numpy_floor")
    slowdown = benchmark.extra_info.get("slowdown_vs_numpy_floor")
    if slowdown is not None:  # the floor ran in this session
        benchmark.extra_info["target_floor_met"] = slowdown <= MAX_SLOWDOWN
        floor = PER_GENERATION[(group, "numpy-floor")]
        assert slowdown <= MAX_SLOWDOWN, (
            f"sep-cmaes takes {ours * 1e3:.2f} ms per generation, {slowdown:.1f}x the NumPy "
            f"floor's {floor * 1e3:.2f} ms (target <= {MAX_SLOWDOWN}x)")
