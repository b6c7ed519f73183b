"""Per-generation speed of ``ga`` and ``cmaes`` beside the routes a user would otherwise take.

``pytest benchmarks/bench_neuroevolution.py --benchmark-only`` times them; plain ``pytest`` runs
each once, untimed, as a smoke test (see the root ``conftest.py``).

At population P = 50, on XOR's 2-2-1 network (9 weights) and on a 2-30-30-1 network on the same
data (1,051 weights), each benchmark group shows side by side:

* GA groups:

  (a) ``ga``: our solver (``pygad.GA`` with batched fitness and the vectorized operators of
      ``solvers/_ga_operators.py``), default hyperparameters except ``population_size``;
  (b) ``pygad-torch``: PyGAD with its default operators (steady-state selection, single-point
      crossover, random mutation of 10% of the genes, one elite) and the per-solution route of
      its TorchGA documentation: every solution is loaded into a ``torch.nn`` module
      (``pygad.torchga.model_weights_as_dict`` + ``load_state_dict``) and the module is called.
      Loading into one shared module is already faster than the docs' ``torchga.predict``,
      which deep-copies the module per call;
  (c) ``numpy-floor``: a minimal fully vectorized NumPy GA with the same algorithm as (a)'s
      defaults and the same batched fitness, written here only as the floor: what a generation
      costs without any engine around it.

* CMA-ES groups: (a) ``cmaes``: our solver (one batched forward per generation) against
  (b) ``pycma-torch``: pycma's ask/tell with a per-solution objective (the same torch route).

One round runs ``generations`` generations from scratch (building the GA or the CMA-ES object is
part of it, amortised over the round); the per-generation time in ``extra_info`` is the round's
median over the rounds divided by that count. The timer is the process's CPU time
(``time.process_time``): the benchmark machine is shared, and CPU time is what other jobs'
load perturbs least. Torch and BLAS run on one thread, as the harness runs solvers.

Every variant's result is checked after its rounds, timed or not: each ran its generations,
kept its best (elitism, best-so-far) no worse than where it started, and the per-solution
torch objective of (b) is the task's own loss, so the variants optimise the same function.

Ratios: the GA's (a) test runs after (b) and (c) of its group and records
``speedup_vs_pygad_torch`` = (b) / (a) (target >= 10) and ``slowdown_vs_numpy_floor`` = (a) / (c)
(target <= 3) in its ``extra_info``, with the three per-generation times; the CMA-ES (a) test
records ``speedup_vs_pycma_torch``. Ratios are left out when a variant was deselected.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import cma
import numpy as np
import pygad
import pygad.torchga
import pytest
import torch
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.harness import initial_params, pinned_threads
from solvers.cmaes import CMAESSolver
from solvers.ga import GASolver
from tasks import get_task
from tasks.base import Task
from tasks.mlp import FlatParams

POPULATION = 50
SEED = 0

#: network id -> (task options, generations per round of each variant, rounds). Each round takes
#: roughly 0.1-1 s on a 2-core box.
NETWORKS: dict[str, tuple[dict[str, Any], dict[str, int], int]] = {
    "xor-2-2-1": (
        {},
        # CMA-ES converges on this net in ~150 generations and pycma then stops: stay below.
        {"ga": 400, "pygad-torch": 40, "numpy-floor": 2000, "cmaes": 60, "pycma-torch": 40},
        7,
    ),
    "xor-2-30-30-1": (
        {"hidden": (30, 30)},
        {"ga": 40, "pygad-torch": 6, "numpy-floor": 200, "cmaes": 20, "pycma-torch": 10},
        5,
    ),
}

#: (group, variant) -> median seconds per generation, filled as the benchmarks run.
PER_GENERATION: dict[tuple[str, str], float] = {}

benchmark_cpu = pytest.mark.benchmark(timer=time.process_time)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with pinned_threads(1):
        yield


def _task(network: str) -> Task:
    return get_task("xor", **NETWORKS[network][0])


def _rounds(network: str) -> int:
    return NETWORKS[network][2]


class _CountingMonitor:
    """Lets a solver run ``generations`` generations after its initial report, then stops it.

    Keeps the first and the last reported parameters (a copy each report: negligible beside a
    generation) so the run's result can be checked after the timing.
    """

    def __init__(self, generations: int) -> None:
        self.left = generations + 1
        self.first: FlatParams | None = None
        self.last: FlatParams | None = None

    def report(self, params: FlatParams, *, evaluations: int, backward: int = 0) -> bool:
        self.left -= 1
        self.last = params.copy()
        if self.first is None:
            self.first = self.last
        return self.left <= 0

    def check(self, *args: Any) -> None:
        """Teardown: a run that ended early would make the per-generation time wrong."""
        if self.left != 0:
            raise RuntimeError(f"the solver stopped {self.left} generations early")

    def check_result(self, task: Task) -> None:
        """The run ran every generation and reported its best so far: finite parameters of the
        network's size, whose loss is no worse than the starting point's."""
        self.check()
        assert self.first is not None and self.last is not None
        assert self.last.shape == (task.num_params,) and np.all(np.isfinite(self.last))
        first, last = task.losses(np.stack([self.first, self.last]))
        assert last <= first, f"best-so-far got worse: {first} -> {last}"


def _time(
    benchmark: BenchmarkFixture,
    group: str,
    variant: str,
    generations: int,
    rounds: int,
    target: Callable[..., None],
    setup: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]],
    teardown: Callable[..., None] | None = None,
) -> tuple[float | None, Any]:
    """Time ``rounds`` rounds of ``generations`` generations; record s/generation.

    Returns the seconds per generation (``None`` in the untimed smoke run) and what ``target``
    returned in the last round, for the caller to check.
    """
    benchmark.group = group
    benchmark.extra_info.update(variant=variant, generations=generations, population=POPULATION)
    result = benchmark.pedantic(target, setup=setup, teardown=teardown, rounds=rounds,
                                iterations=1)
    if benchmark.stats is None:  # untimed smoke run (plain ``pytest``)
        return None, result
    stats = benchmark.stats.stats
    median, fastest = float(stats.median) / generations, float(stats.min) / generations
    PER_GENERATION[(group, variant)] = median
    PER_GENERATION[(group, variant + ":min")] = fastest
    benchmark.extra_info["per_generation_us"] = median * 1e6
    benchmark.extra_info["per_generation_us_min"] = fastest * 1e6
    return median, result


def _generations(network: str, variant: str, config: pytest.Config) -> int:
    """Generations per round; under plain ``pytest`` (untimed) two exercise the code."""
    return 2 if config.getoption("benchmark_disable") else NETWORKS[network][1][variant]


# -- (b) PyGAD defaults, one torch module call per solution -----------------------------------


def _torch_module(task: Task) -> torch.nn.Module:
    """The task's network as the ``torch.nn.Sequential`` a PyGAD/pycma user would write."""
    layers: list[torch.nn.Module] = []
    acts = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    for (fan_in, fan_out), act in zip(task.model.shapes, task.model.activations, strict=True):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if act in acts:
            layers.append(acts[act]())
    return torch.nn.Sequential(*layers)


def _task_params(task: Task, weights: np.ndarray) -> FlatParams:
    """A ``torch.nn`` weight vector (PyGAD's and pycma's order: per layer, the ``(out, in)``
    weight then the bias) in the task's flat layout (per layer, ``(in, out)`` then the bias)."""
    layers, offset = [], 0
    for fan_in, fan_out in task.model.shapes:
        w = weights[offset:offset + fan_in * fan_out].reshape(fan_out, fan_in).T
        offset += fan_in * fan_out
        layers.append((w, weights[offset:offset + fan_out]))
        offset += fan_out
    assert offset == len(weights) == task.num_params
    return task.model.pack(layers)


def _check_same_objective(task: Task, weights: np.ndarray, loss: float) -> None:
    """The per-solution torch objective's ``loss`` at ``weights`` is the task's own training
    loss of the same network (to float32 round-off): the routes optimise the same function."""
    ours = float(task.losses(_task_params(task, np.asarray(weights, dtype=np.float64))[None])[0])
    np.testing.assert_allclose(loss, ours, rtol=1e-5)


def _per_solution_objective(task: Task) -> tuple[torch.nn.Module, Callable[[np.ndarray], float]]:
    """``loss(solution)`` the TorchGA way: load the vector into the module, call the module."""
    model = _torch_module(task)
    x = torch.as_tensor(task.x_train, dtype=torch.float32)
    y = torch.as_tensor(task.y_train, dtype=torch.float32)
    mse = torch.nn.MSELoss()

    def loss(solution: np.ndarray) -> float:
        model.load_state_dict(pygad.torchga.model_weights_as_dict(model=model,
                                                                 weights_vector=solution))
        with torch.no_grad():
            return float(mse(model(x), y))

    return model, loss


def _pygad_torch_setup(task: Task, generations: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    model, loss = _per_solution_objective(task)
    np.random.seed(SEED)  # TorchGA draws its population from the global generator
    population = np.array(pygad.torchga.TorchGA(model=model, num_solutions=POPULATION)
                          .population_weights)

    def fitness(ga: Any, solution: np.ndarray, index: Any) -> float:
        return -loss(solution)

    return (population, fitness, generations), {}


def _pygad_torch_run(
    population: np.ndarray, fitness: Callable[..., float], generations: int
) -> pygad.GA:
    ga = pygad.GA(
        num_generations=generations,
        num_parents_mating=GASolver().mating_pool_size,
        fitness_func=fitness,
        initial_population=population,
        suppress_warnings=True,
        random_seed=SEED,
    )
    ga.run()
    return ga


# -- (c) the floor: a minimal, fully vectorized NumPy GA --------------------------------------


def _numpy_ga(
    task: Task, population: np.ndarray, generations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Tournament selection (3), single-point crossover, per-gene mutation, elitism: the same
    algorithm as ``ga``'s defaults, as plain array code with the same batched fitness.

    Returns the last population and its fitness."""
    defaults = GASolver()
    size, genes = population.shape
    elites, parents_count = defaults.keep_elitism, defaults.mating_pool_size
    children = size - elites
    fitness = -task.losses(population)
    for _ in range(generations):
        entrants = rng.integers(0, size, (parents_count, defaults.tournament_size))
        pool = population[entrants[np.arange(parents_count), np.argmax(fitness[entrants], axis=1)]]
        first = rng.integers(0, parents_count, children)
        second = (first + rng.integers(1, parents_count, children)) % parents_count
        cut = rng.integers(1, genes, children)
        offspring = np.where(np.arange(genes) >= cut[:, None], pool[second], pool[first])
        chosen = np.flatnonzero(rng.random(offspring.size) < defaults.mutation_probability)
        scale = defaults.mutation_scale
        if defaults.mutation == "gaussian":
            offspring.reshape(-1)[chosen] += rng.normal(0.0, scale, chosen.size)
        else:
            offspring.reshape(-1)[chosen] += rng.uniform(-scale, scale, chosen.size)
        best = np.argsort(-fitness)[:elites]
        population = np.concatenate([population[best], offspring])
        fitness = np.concatenate([fitness[best], -task.losses(offspring)])
    return population, fitness


# -- GA benchmarks: (b) and (c) first, then (a), which computes the ratios --------------------


def _ga_group(network: str, task: Task) -> str:
    return f"ga per generation: {network} ({task.num_params} weights), P={POPULATION}"


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_ga_pygad_torch(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                        network: str) -> None:
    """(b): PyGAD defaults with one torch module call per solution."""
    task = _task(network)
    generations = _generations(network, "pygad-torch", request.config)
    _, ga = _time(benchmark, _ga_group(network, task), "pygad-torch", generations,
                  _rounds(network), _pygad_torch_run, lambda: _pygad_torch_setup(task, generations))
    assert ga.generations_completed == generations
    # One elite: the best fitness never falls from the initial population's.
    assert ga.best_solutions_fitness[-1] >= ga.best_solutions_fitness[0]
    best, best_fitness, _ = ga.best_solution(pop_fitness=ga.last_generation_fitness)
    _check_same_objective(task, best, -best_fitness)


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_ga_numpy_floor(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                        network: str) -> None:
    """(c): the floor, a minimal fully vectorized NumPy GA."""
    task = _task(network)
    generations = _generations(network, "numpy-floor", request.config)
    starts: list[np.ndarray] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        rng = np.random.default_rng(SEED)
        population = np.vstack([initial_params(task, SEED),
                                task.model.init_params(rng, POPULATION - 1)])
        starts.append(population)
        return (task, population, generations, rng), {}

    _, (population, fitness) = _time(benchmark, _ga_group(network, task), "numpy-floor",
                                     generations, _rounds(network), _numpy_ga, setup)
    # The carried fitness is the final population's own, and elitism kept the best.
    assert population.shape == (POPULATION, task.num_params)
    np.testing.assert_array_equal(fitness, -task.losses(population))
    assert fitness.max() >= -task.losses(starts[-1]).min()


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_ga_ours(benchmark: BenchmarkFixture, request: pytest.FixtureRequest, network: str) -> None:
    """(a): ``ga`` with its defaults at P = 50; ratios against (b) and (c) in ``extra_info``."""
    task = _task(network)
    generations = _generations(network, "ga", request.config)
    solver = GASolver(population_size=POPULATION)
    monitors: list[_CountingMonitor] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        monitors.append(_CountingMonitor(generations))
        return (task, initial_params(task, SEED), monitors[-1], np.random.default_rng(SEED)), {}

    group = _ga_group(network, task)
    ours, _ = _time(benchmark, group, "ga", generations, _rounds(network), solver.run, setup,
                    teardown=lambda *args: args[2].check())
    monitors[-1].check_result(task)
    if ours is None:
        return
    _ratio(benchmark, group, "pygad-torch", "ga", "speedup_vs_pygad_torch")
    _ratio(benchmark, group, "ga", "numpy-floor", "slowdown_vs_numpy_floor")
    info = benchmark.extra_info
    if "speedup_vs_pygad_torch" in info:
        info["target_speedup_met"] = info["speedup_vs_pygad_torch"] >= 10.0
    if "slowdown_vs_numpy_floor" in info:
        info["target_floor_met"] = info["slowdown_vs_numpy_floor"] <= 3.0


def _ratio(
    benchmark: BenchmarkFixture, group: str, slower: str, faster: str, name: str
) -> None:
    """Record ``slower / faster`` per generation, by medians and by fastest rounds, if both ran."""
    for suffix, key in (("", name), (":min", name + "_min")):
        numerator = PER_GENERATION.get((group, slower + suffix))
        denominator = PER_GENERATION.get((group, faster + suffix))
        if numerator is not None and denominator is not None:
            benchmark.extra_info[key] = numerator / denominator
    for variant in (slower, faster):
        if (group, variant) in PER_GENERATION:
            label = variant.replace("-", "_")
            benchmark.extra_info[f"{label}_per_generation_us"] = (
                PER_GENERATION[(group, variant)] * 1e6
            )


# -- CMA-ES benchmarks: (b) first, then (a) ---------------------------------------------------


def _cma_group(network: str, task: Task) -> str:
    return f"cmaes per generation: {network} ({task.num_params} weights), P={POPULATION}"


def _pycma_torch_run(
    x0: np.ndarray, loss: Callable[[np.ndarray], float], generations: int
) -> cma.CMAEvolutionStrategy:
    es = cma.CMAEvolutionStrategy(
        x0, CMAESSolver().sigma0,
        {"popsize": POPULATION, "seed": SEED + 1, "verbose": -9, "signals_filename": "",
         "maxiter": np.inf},
    )
    for done in range(generations):
        if es.stop():
            raise RuntimeError(f"pycma stopped after {done} generations: {es.stop()}")
        solutions = es.ask()
        es.tell(solutions, [loss(s) for s in solutions])
    return es


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_cmaes_pycma_torch(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                           network: str) -> None:
    """(b): pycma ask/tell with a per-solution objective (one torch module call per solution)."""
    task = _task(network)
    generations = _generations(network, "pycma-torch", request.config)

    objectives: list[Callable[[np.ndarray], float]] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        model, loss = _per_solution_objective(task)
        objectives.append(loss)
        x0 = pygad.torchga.model_weights_as_vector(model)
        return (x0, loss, generations), {}

    _, es = _time(benchmark, _cma_group(network, task), "pycma-torch", generations,
                  _rounds(network), _pycma_torch_run, setup)
    assert es.countiter == generations and es.countevals == generations * POPULATION
    # pycma's best is the objective's value at its best point, and that is the task's loss.
    assert es.result.fbest == objectives[-1](es.result.xbest)
    _check_same_objective(task, es.result.xbest, es.result.fbest)


@benchmark_cpu
@pytest.mark.parametrize("network", list(NETWORKS))
def test_cmaes_ours(benchmark: BenchmarkFixture, request: pytest.FixtureRequest,
                    network: str) -> None:
    """(a): ``cmaes`` at P = 50; the ratio against (b) in ``extra_info``."""
    task = _task(network)
    generations = _generations(network, "cmaes", request.config)
    solver = CMAESSolver(population_size=POPULATION)
    monitors: list[_CountingMonitor] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        monitors.append(_CountingMonitor(generations))
        return (task, initial_params(task, SEED), monitors[-1], np.random.default_rng(SEED)), {}

    group = _cma_group(network, task)
    ours, _ = _time(benchmark, group, "cmaes", generations, _rounds(network), solver.run, setup,
                    teardown=lambda *args: args[2].check())
    monitors[-1].check_result(task)
    if ours is not None:
        _ratio(benchmark, group, "pycma-torch", "cmaes", "speedup_vs_pycma_torch")
