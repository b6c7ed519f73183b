"""The population forward of a torch module's network (issue 28): vmap against its two
alternatives, side by side in one run.

``pytest benchmarks/bench_module.py --benchmark-only`` times them; plain ``pytest`` runs each
once, untimed, on a small network, as a smoke test (see the root ``conftest.py``).

The network: ``digits_cnn`` at its default 8 channels (1,954 parameters), a population of
P = 64 (the GA's and ES's usual size). Each round times, on the same population and rows:

1. ``vmap``: ``ModuleSpec.population_logits``, the path ``Task.losses`` takes: one
   ``functional_call`` under ``torch.vmap`` over the population;
2. ``loop``: a Python loop over 64 ``DigitsCNN`` modules, each holding one member's parameters
   (loaded before the clock starts), each called on the rows: what a population method pays
   without vmap. ``loop_over_vmap`` = loop seconds / vmap seconds (goal: >= 5);
3. ``big batch``: one module called once on the rows repeated P times (a batch P times
   larger): the same arithmetic with every member's weights equal, the speed vmap can hope
   for. ``vmap_over_big_batch`` = vmap seconds / big-batch seconds (goal: <= 2).

Rows: a mini-batch of 64 (where per-call overhead dominates and vmap's batching pays) and the
whole training split (1,078 rows, where each member's convolutions dominate and a loop loses
little); each in float32 (``dtype="float32"`` fitness) and float64 (the default). Torch runs on
one thread, as the harness runs solvers. Each figure is the least disturbed round's (minimum).
The goals are recorded (``goal_*_met``), never asserted: timings on a shared machine decide
nothing in a test run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.harness import pinned_threads
from tasks import get_task
from tasks.cnn import DigitsCNN
from tasks.network import ModuleSpec

SEED = 0
POPULATION, CHANNELS = 64, 8
#: The untimed smoke run's sizes.
SMOKE_POPULATION, SMOKE_CHANNELS = 4, 2
ROUNDS = 3
#: The issue's goals: vmap at least 5x a loop over modules, within 2x one big batch.
GOAL_LOOP, GOAL_BIG_BATCH = 5.0, 2.0
ROWS = {"minibatch": 64, "train": None}  # None: the whole training split
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _timed(config: pytest.Config) -> bool:
    return not config.getoption("benchmark_disable")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with pinned_threads(1):
        yield


def _modules(spec: ModuleSpec, population: np.ndarray, dtype: torch.dtype) -> list[DigitsCNN]:
    """One module per member, its parameters loaded from the flat vector (untimed)."""
    modules = []
    for member in population:
        module = spec.module().to(dtype).eval()
        assert isinstance(module, DigitsCNN)
        torch.nn.utils.vector_to_parameters(torch.as_tensor(member, dtype=dtype),
                                            module.parameters())
        modules.append(module)
    return modules


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("rows", list(ROWS))
def test_vmap_population_forward_against_a_loop_and_a_big_batch(
    benchmark: BenchmarkFixture, request: pytest.FixtureRequest, rows: str, dtype: str
) -> None:
    """digits_cnn, P = 64: vmap vs a loop over 64 modules vs one batch 64 times larger."""
    timed = _timed(request.config)
    channels, population_size = (CHANNELS, POPULATION) if timed else (SMOKE_CHANNELS,
                                                                       SMOKE_POPULATION)
    task = get_task("digits_cnn", channels=channels)
    spec = task.model
    assert isinstance(spec, ModuleSpec)
    count = ROWS[rows] or task.n_train
    np_dtype = np.float32 if dtype == "float32" else np.float64
    x = np.ascontiguousarray(task.x_train[:count], dtype=np_dtype)
    population = spec.init_params(np.random.default_rng(SEED), population_size).astype(np_dtype)
    modules = _modules(spec, population, DTYPES[dtype])
    xt = torch.from_numpy(x)
    big = torch.from_numpy(np.tile(x, (population_size, 1)))
    seconds: dict[str, list[float]] = {"vmap": [], "loop": [], "big_batch": []}
    outputs: list[np.ndarray] = []

    def others() -> None:
        with torch.no_grad():
            start = time.perf_counter()
            looped = [module(xt) for module in modules]
            seconds["loop"].append(time.perf_counter() - start)
            start = time.perf_counter()
            modules[0](big)
            seconds["big_batch"].append(time.perf_counter() - start)
        outputs.append(torch.stack(looped).numpy())

    def vmap_round() -> None:
        start = time.perf_counter()
        outputs.append(spec.population_logits(population, x))
        seconds["vmap"].append(time.perf_counter() - start)

    benchmark.group = (f"population forward: {spec.describe()}, P={population_size}, "
                       f"{count} rows, {dtype}")
    benchmark.pedantic(vmap_round, setup=others, rounds=ROUNDS if timed else 1, iterations=1)
    vmapped, looped = outputs[-1], outputs[-2]
    assert vmapped.shape == (population_size, count, 10)
    tolerance = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(vmapped, looped, rtol=tolerance, atol=tolerance)
    best = {key: min(values) for key, values in seconds.items()}
    loop_over_vmap = best["loop"] / best["vmap"]
    vmap_over_big = best["vmap"] / best["big_batch"]
    benchmark.extra_info.update(
        task="digits_cnn",
        channels=channels,
        num_params=task.num_params,
        population=population_size,
        rows=count,
        dtype=dtype,
        threads=1,
        vmap_ms=1e3 * best["vmap"],
        loop_ms=1e3 * best["loop"],
        big_batch_ms=1e3 * best["big_batch"],
        loop_over_vmap=loop_over_vmap,
        vmap_over_big_batch=vmap_over_big,
        goal_loop_over_vmap=GOAL_LOOP,
        goal_vmap_over_big_batch=GOAL_BIG_BATCH,
        goal_loop_met=loop_over_vmap >= GOAL_LOOP,
        goal_big_batch_met=vmap_over_big <= GOAL_BIG_BATCH,
    )
