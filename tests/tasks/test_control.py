"""Control tasks: the batched steppers against gymnasium, episodes, costs, and which solvers run."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from benchmarks.records import RunRecord
from solvers import SOLVERS, get_solver
from tasks import get_task
from tasks.base import Target
from tasks.control import ENVIRONMENTS, ControlTask, rollout, sample_actions
from tasks.errors import InvalidParameterError
from tasks.mlp import forward, forward_each

ENV_IDS = sorted(ENVIRONMENTS)


@pytest.mark.parametrize("gym_id", ENV_IDS)
def test_batched_stepper_agrees_with_gymnasium_step_for_step(gym_id: str) -> None:
    """Same seeds, same random actions: same states, rewards and terminations at every step."""
    env = ENVIRONMENTS[gym_id]
    seeds = list(range(100, 112))
    states = env.initial_states(seeds)
    singles = []
    for i, seed in enumerate(seeds):
        single = gym.make(gym_id)
        obs, _ = single.reset(seed=seed)
        np.testing.assert_array_equal(single.unwrapped.state, states[i])  # type: ignore[attr-defined]
        np.testing.assert_array_equal(obs.astype(np.float64), env.observe(states[i : i + 1])[0])
        singles.append(single)
    running = np.ones(len(seeds), dtype=bool)
    actions_rng = np.random.default_rng(0)
    steps_checked = terminations = 0
    for _ in range(env.max_steps):
        # A biased random walk, so that some episodes last and some end.
        actions = actions_rng.integers(0, env.n_actions, len(seeds))
        new, rewards, terminated = env.step(states, actions)
        for i in np.flatnonzero(running):
            obs, reward, term, trunc, _ = singles[i].step(int(actions[i]))
            np.testing.assert_array_equal(singles[i].unwrapped.state, new[i])  # type: ignore[attr-defined]
            np.testing.assert_array_equal(obs.astype(np.float64), env.observe(new[i : i + 1])[0])
            assert reward == rewards[i] and term == terminated[i]
            steps_checked += 1
            if term or trunc:
                running[i] = False
                terminations += int(term)
        states = new
        if not running.any():
            break
    assert steps_checked >= 100 and terminations >= 1


@pytest.mark.parametrize("name", ["cartpole", "acrobot"])
def test_rollout_returns_match_gymnasiums_loop(name: str) -> None:
    """A population of greedy policies scored in one batch scores what a per-episode loop over
    gymnasium's environment scores, episode by episode (episode lengths included)."""
    task = get_task(name, train_episodes=3)
    assert isinstance(task, ControlTask)
    population = task.model.init_params(np.random.default_rng(1), 3)
    population[0] *= 4.0  # larger weights: a policy that acts, not one that dithers
    seeds = [7, 8, 9]
    result = rollout(task.environment, task.model, population,
                     task.environment.initial_states(seeds))
    for p in range(len(population)):
        for k, seed in enumerate(seeds):
            single = gym.make(task.environment.gym_id)
            obs, _ = single.reset(seed=seed)
            total, length, done = 0.0, 0, False
            while not done:
                logits = forward(task.model, population[p], obs.astype(np.float64)[None, :],
                                 logits=True)[0]
                obs, reward, term, trunc, _ = single.step(int(np.argmax(logits)))
                total, length, done = total + float(reward), length + 1, term or trunc
            assert (result.returns[p, k], result.lengths[p, k]) == (total, length)


def test_scored_losses_charge_the_steps_actually_taken() -> None:
    task = get_task("cartpole")
    population = task.model.init_params(np.random.default_rng(0), 20)
    losses, steps = task.scored_losses(population)
    result = rollout(task.environment, task.model, population, task.train_states)
    np.testing.assert_array_equal(losses, -result.returns.mean(axis=1))
    assert steps == result.lengths.sum() < 20 * task.n_train
    assert task.n_train == 10 * 500


def test_episode_sets_are_disjoint_and_fixed_by_the_data_seed() -> None:
    task = get_task("acrobot", train_episodes=5, eval_episodes=50, test_episodes=50)
    rows = np.concatenate([task.train_states, task.eval_states, task.test_states])
    assert len(np.unique(rows, axis=0)) == len(rows)
    again = get_task("acrobot", train_episodes=5, eval_episodes=50, test_episodes=50)
    np.testing.assert_array_equal(again.eval_states, task.eval_states)
    other = get_task("acrobot", train_episodes=5, data_seed=1)
    assert not np.array_equal(other.train_states, task.train_states)


def test_evaluation_is_on_the_evaluation_episodes_and_test_on_held_out_ones() -> None:
    task = get_task("cartpole", eval_episodes=20, test_episodes=30)
    params = task.model.init_params(np.random.default_rng(3)) * 5.0
    train, test = task.evaluate(params, "train"), task.evaluate(params, "test")
    evaluation = rollout(task.environment, task.model, params[None, :], task.eval_states)
    held_out = rollout(task.environment, task.model, params[None, :], task.test_states)
    assert train["return"] == evaluation.returns.mean() == -train["loss"]
    assert test["return"] == held_out.returns.mean()


def test_bad_knobs_are_rejected_naming_them() -> None:
    with pytest.raises(InvalidParameterError, match="'train_episodes' parameter of task"):
        get_task("cartpole", train_episodes=0)
    with pytest.raises(InvalidParameterError, match="'loss' parameter of task 'cartpole'"):
        get_task("cartpole", loss="mse")
    with pytest.raises(InvalidParameterError, match="must map 4 observations to 2"):
        get_task("cartpole", output_activation="softmax").__class__(
            **{**vars(get_task("cartpole")), "model": get_task("xor").model}
        )


def test_sampled_actions_follow_the_probabilities() -> None:
    probabilities = np.tile([0.2, 0.5, 0.3], (40_000, 1))
    actions = sample_actions(probabilities, np.random.default_rng(0))
    np.testing.assert_allclose(np.bincount(actions) / len(actions), [0.2, 0.5, 0.3], atol=0.01)


GRADIENT_FREE = {"ga", "cmaes", "openai-es", "reinforce", "random-search"}


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solvers_run_or_say_not_applicable(name: str) -> None:
    """Population and policy-gradient solvers run a control task and give a clean, reproducible
    record; the others are unsupported with a "not applicable" reason, never an error."""
    task = get_task("cartpole", train_episodes=2, eval_episodes=5)
    solver = get_solver(name)
    reason = solver.unsupported_reason(task)
    if name not in GRADIENT_FREE:
        assert reason is not None and reason.startswith("not applicable")
        record = run_one(task, solver, Budget(max_iterations=3), seed=0, strict=True)
        assert record.stop_reason == "unsupported"
        return
    assert reason is None
    budget = Budget(max_iterations=3, max_evaluations=200_000)
    first = run_one(task, solver, budget, seed=4, strict=True)
    second = run_one(task, solver, budget, seed=4, strict=True)
    assert first.stop_reason in {"max_iterations", "max_evaluations", "target_reached"}
    def path(record: RunRecord) -> list[tuple[int, int, float]]:
        return [(p["iteration"], p["evaluations"], p["loss"]) for p in record.trace]

    assert path(first) == path(second) and first.final_params == second.final_params
    assert 0 < first.evaluations <= budget.max_evaluations  # type: ignore[operator]
    assert "return" in first.final_train and "return" in first.final_test


def test_supervised_tasks_are_not_applicable_to_reinforce() -> None:
    reason = get_solver("reinforce").unsupported_reason(get_task("xor"))
    assert reason is not None and reason.startswith("not applicable")


@pytest.mark.slow
def test_reinforce_solves_cartpole() -> None:
    """The policy-gradient baseline reaches 475 on CartPole-v1 well within 300k steps."""
    task = get_task("cartpole")
    record = run_one(task, get_solver("reinforce"), Budget(max_evaluations=300_000), seed=1,
                     strict=True)
    assert record.success, record.final_train


def test_forward_each_is_each_member_on_its_own_inputs() -> None:
    task = get_task("acrobot")
    rng = np.random.default_rng(0)
    population = task.model.init_params(rng, 5)
    x = rng.standard_normal((5, 7, task.model.layer_sizes[0]))
    out = forward_each(task.model, population, x, logits=True)
    for p in range(5):
        np.testing.assert_allclose(out[p], forward(task.model, population[p], x[p], logits=True))


def test_return_target_is_met_at_its_threshold_and_described() -> None:
    target = Target(min_return=475.0)
    assert target.is_met({"return": 475.0, "loss": -475.0, "mse": float("nan")})
    assert not target.is_met({"return": 474.9, "loss": -474.9, "mse": float("nan")})
    assert not target.is_met({"loss": 0.0, "mse": 0.0})  # a supervised metric set never meets it
    assert target.describe() == "mean evaluation return >= 475"


def test_supervised_scored_losses_charge_one_pass_per_example_and_member() -> None:
    task = get_task("xor")
    population = task.model.init_params(np.random.default_rng(0), 6)
    losses, spent = task.scored_losses(population)
    np.testing.assert_array_equal(losses, task.losses(population))
    assert spent == 6 * task.n_train


def test_control_tasks_have_no_validation_split() -> None:
    task = get_task("cartpole", eval_episodes=2, test_episodes=2)
    assert not task.has_validation
    with pytest.raises(InvalidParameterError, match="no validation split"):
        task.evaluate(task.model.init_params(np.random.default_rng(0)), "val")
