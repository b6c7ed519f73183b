"""Control benchmark: a population's CartPole episodes in one batch vs gymnasium's loop.

A generation of a population method on a control task is ``P`` policies x ``K`` episodes. The
benchmark's rollout (``tasks/control.py``) steps all of them in lockstep through one batched NumPy
environment, choosing every action with one population forward. The usual alternative is a loop:
one gymnasium environment per episode, one policy forward per step. Both run the same policies
from the same seeds and must return the same returns (checked); ``extra_info`` has the speed
ratio (the issue's aim: at least 20x for 50 policies x 10 episodes).

The policies are a known-good linear controller plus Gaussian noise of scales spread from 0.01 to
3.2, so episode lengths range from a few steps to the full 500 (mean about 200, a quarter of the
episodes full length), as in a population mid-training.

``pytest --benchmark-only`` times them; plain ``pytest`` runs each once, small and untimed, as a
smoke test (see the root ``conftest.py``). Everything runs on one thread, as the harness runs
solvers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks.harness import pinned_threads
from tasks import get_task
from tasks.control import ControlTask, rollout
from tasks.mlp import FloatArray, forward

POLICIES, EPISODES = 50, 10
SMOKE_POLICIES, SMOKE_EPISODES = 4, 2
#: Rounds of gymnasium's loop timed for the ratio (its best round is used, like the batch's).
LOOP_ROUNDS = 3


@pytest.fixture
def one_thread() -> Iterator[None]:
    with pinned_threads(1):
        yield


def population(task: ControlTask, size: int) -> FloatArray:
    """A known-good controller (push towards where the pole falls) plus noise of many scales."""
    spec = task.model
    n_in, width, n_out = spec.layer_sizes
    w1, w2 = np.zeros((n_in, width)), np.zeros((width, n_out))
    w1[:, 0] = np.array([0.0, 0.0, 1.0, 0.5])
    w2[0, 1], w2[0, 0] = 5.0, -5.0
    good = spec.pack([(w1, np.zeros(width)), (w2, np.zeros(n_out))])
    rng = np.random.default_rng(0)
    scales = np.logspace(-2.0, 0.5, size)
    return good + scales[:, None] * rng.standard_normal((size, good.size))


def gymnasium_loop(task: ControlTask, policies: FloatArray, seeds: list[int]) -> FloatArray:
    """Each policy on each episode, one gymnasium environment step and one forward at a time."""
    returns = np.zeros((len(policies), len(seeds)))
    envs = [gym.make(task.environment.gym_id) for _ in seeds]
    for p, params in enumerate(policies):
        for k, (env, seed) in enumerate(zip(envs, seeds, strict=True)):
            obs, _ = env.reset(seed=seed)
            done = False
            while not done:
                logits = forward(task.model, params, obs.astype(np.float64)[None, :],
                                 logits=True)
                obs, reward, terminated, truncated, _ = env.step(int(np.argmax(logits[0])))
                returns[p, k] += float(reward)
                done = terminated or truncated
    return returns


@pytest.mark.usefixtures("one_thread")
def test_cartpole_population_batch_vs_gymnasium_loop(benchmark: BenchmarkFixture) -> None:
    """50 policies x 10 episodes of CartPole-v1: one batched rollout vs a per-environment loop."""
    task = get_task("cartpole")
    assert isinstance(task, ControlTask)
    size, episodes = (POLICIES, EPISODES) if benchmark.enabled else (SMOKE_POLICIES,
                                                                      SMOKE_EPISODES)
    policies = population(task, size)
    seeds = list(range(episodes))
    starts = task.environment.initial_states(seeds)
    benchmark.group = f"control: CartPole-v1, {size} policies x {episodes} episodes"
    result = benchmark(rollout, task.environment, task.model, policies, starts)
    loop_seconds = []
    for _ in range(LOOP_ROUNDS if benchmark.enabled else 1):
        start = time.perf_counter()
        looped = gymnasium_loop(task, policies, seeds)
        loop_seconds.append(time.perf_counter() - start)
    np.testing.assert_array_equal(result.returns, looped)
    benchmark.extra_info.update(
        policies=size,
        episodes=episodes,
        environment_steps=result.steps,
        mean_episode_length=float(result.lengths.mean()),
        gymnasium_loop_seconds=min(loop_seconds),
        threads=1,
    )
    if benchmark.stats is not None:  # None in the untimed smoke run
        batch = benchmark.stats.stats.min
        benchmark.extra_info.update(
            batch_seconds=batch,
            speedup_vs_gymnasium_loop=min(loop_seconds) / batch,
            steps_per_second=result.steps / batch,
        )
