"""ReinforceSolver: returns to go, advantages, accounting, and the gradient it follows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.harness import initial_params
from solvers.reinforce import ReinforceSolver, rewards_to_go
from tasks import get_task
from tasks.control import Rollout, Transition
from tasks.errors import InvalidParameterError


class RecordingMonitor:
    def __init__(self, stop_after: int) -> None:
        self.evaluations: list[int] = []
        self.backward: list[int] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.evaluations.append(evaluations)
        self.backward.append(backward)
        return len(self.evaluations) >= self.stop_after


@pytest.mark.parametrize(
    ("field", "value"),
    [("learning_rate", 0.0), ("gamma", 1.5), ("baseline", "learned"), ("standardize", 1)],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of ReinforceSolver"):
        ReinforceSolver(**{field: value})


def _two_episodes() -> Rollout:
    """Episode 0 lasts 3 steps (rewards 1, 2, 3), episode 1 lasts 1 step (reward 5)."""
    obs = np.zeros((2, 4))
    steps = [
        Transition(np.array([0, 1]), obs, np.array([0, 1]), np.array([1.0, 5.0])),
        Transition(np.array([0]), obs[:1], np.array([1]), np.array([2.0])),
        Transition(np.array([0]), obs[:1], np.array([0]), np.array([3.0])),
    ]
    return Rollout(np.array([[6.0, 5.0]]), np.array([[3, 1]]), steps)


def test_rewards_to_go_are_discounted_per_episode_and_stop_at_its_end() -> None:
    matrix, per_step = rewards_to_go(_two_episodes(), gamma=0.5)
    np.testing.assert_allclose(matrix, [[1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0],
                                        [5.0, 0.0, 0.0]])
    np.testing.assert_allclose(np.concatenate(per_step), [2.75, 5.0, 3.5, 3.0])


def test_mean_baseline_and_standardisation() -> None:
    per_step = [np.array([2.75, 5.0]), np.array([3.5]), np.array([3.0])]
    flat = np.concatenate(per_step)
    raw = np.concatenate(ReinforceSolver(baseline="none", standardize=False).advantages(per_step))
    np.testing.assert_allclose(raw, flat)
    centred = np.concatenate(ReinforceSolver(standardize=False).advantages(per_step))
    np.testing.assert_allclose(centred, flat - flat.mean())
    standard = np.concatenate(ReinforceSolver().advantages(per_step))
    np.testing.assert_allclose(standard, (flat - flat.mean()) / (flat.std() + 1e-8))


def test_charges_the_environment_steps_taken_forward_and_backward() -> None:
    task = get_task("cartpole", train_episodes=4, eval_episodes=5)
    monitor = RecordingMonitor(stop_after=4)
    ReinforceSolver().run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    assert monitor.evaluations[0] == 0
    assert monitor.backward == monitor.evaluations
    # Each batch is 4 episodes of at least one and at most 500 steps.
    assert all(4 <= e <= task.n_train for e in monitor.evaluations[1:])


def test_updates_lengthen_the_sampled_cartpole_episodes() -> None:
    """Policy-gradient steps improve the sampled policy: its episodes (the charged steps) grow.

    Fifteen updates suffice (the last five batches' episodes are 3.5x as long as the first
    five's); the cost grows with the episodes, so thirty (12.9x, up to 500-step episodes) took
    five times as long to show the same thing.
    """
    task = get_task("cartpole", train_episodes=8, eval_episodes=5)
    x0 = initial_params(task, 0)
    solver = ReinforceSolver(learning_rate=0.05)
    monitor = RecordingMonitor(stop_after=16)
    solver.run(task, x0, monitor, np.random.default_rng(1))
    assert np.mean(monitor.evaluations[-5:]) > 2 * np.mean(monitor.evaluations[1:6])
