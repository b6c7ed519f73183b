"""Control tasks: the batched steppers against gymnasium, episodes, costs, and which solvers run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from benchmarks.records import RunRecord
from benchmarks.run_all import main
from solvers import SOLVERS, get_solver
from tasks import get_task
from tasks.base import Target
from tasks.control import ENVIRONMENTS, ControlTask, rollout, sample_actions
from tasks.errors import InvalidParameterError
from tasks.mlp import forward, forward_each

ENV_IDS = sorted(ENVIRONMENTS)
#: Where uniformly random actions end some episodes (a random walk never reaches a mountain
#: car's flag: those are checked below with actions that pump energy).
RANDOM_WALK_IDS = ["Acrobot-v1", "CartPole-v1"]


def test_every_environment_is_checked_against_gymnasium() -> None:
    assert set(ENV_IDS) == {*RANDOM_WALK_IDS, *MOUNTAIN_CAR_IDS}


@pytest.mark.parametrize("gym_id", RANDOM_WALK_IDS)
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


#: The solvers that declare they need no differentiable loss (population methods, policy
#: gradients, the references): each must run a control task.
GRADIENT_FREE = {name for name, cls in SOLVERS.items() if not cls.needs_differentiable}


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


MOUNTAIN_CAR_IDS = ["MountainCar-v0", "MountainCarContinuous-v0"]


def _mountain_car_actions(
    gym_id: str, states: np.ndarray, style: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Actions that reach the flag (style 2: push with the velocity, with noise), that swing
    the car into the left wall (style 1: the same, pushing right at half strength) or wander
    (style 0: uniformly random). Continuous actions mix draws inside the box, exactly on its
    edges and outside it (gymnasium clips those, and charges the unclipped square)."""
    n = len(states)
    pumping = style > 0
    right = np.where(style == 1, 0.5, 1.0)
    direction = np.where(states[:, 1] >= 0, right, -1.0)
    noise = rng.random(n) < 0.15
    if gym_id == "MountainCar-v0":
        pump = np.where(direction > 0, 2, 0)
        return np.where(pumping & ~noise, pump, rng.integers(0, 3, n))
    kind = rng.integers(0, 4, n)
    size = np.choose(kind, [rng.uniform(0.2, 1.0, n), np.ones(n), rng.uniform(1.0, 3.0, n),
                            np.full(n, 1.0 + 1e-7)])
    random = rng.uniform(-3.0, 3.0, n)
    actions = np.where(pumping & ~noise, direction * size, random)
    return actions.astype(np.float32)[:, None]


@pytest.mark.parametrize("gym_id", MOUNTAIN_CAR_IDS)
def test_mountain_car_steppers_agree_with_gymnasium_step_for_step(gym_id: str) -> None:
    """Same seeds, same actions: same states, observations, rewards, terminations and
    truncations at every step, over thousands of steps; episodes that reach the flag, run out
    of time, and hit the left wall; continuous actions inside, on and outside the box."""
    env = ENVIRONMENTS[gym_id]
    seeds = list(range(200, 210))
    states = env.initial_states(seeds)
    style = np.arange(len(seeds)) % 3
    singles = []
    for i, seed in enumerate(seeds):
        single = gym.make(gym_id)
        obs, _ = single.reset(seed=seed)
        np.testing.assert_array_equal(single.unwrapped.state, states[i, :2])  # type: ignore[attr-defined]
        np.testing.assert_array_equal(obs.astype(np.float64), env.observe(states[i : i + 1])[0])
        singles.append(single)
    running = np.ones(len(seeds), dtype=bool)
    rng = np.random.default_rng(5)
    checked = terminations = truncations = at_wall = outside_box = 0
    for t in range(env.max_steps):
        actions = _mountain_car_actions(gym_id, states, style, rng)
        new, rewards, terminated = env.step(states, actions)
        for i in np.flatnonzero(running).tolist():
            action = actions[i] if env.continuous else int(actions[i])
            obs, reward, term, trunc, _ = singles[i].step(action)
            np.testing.assert_array_equal(
                np.asarray(singles[i].unwrapped.state, dtype=np.float64), new[i, :2])  # type: ignore[attr-defined]
            np.testing.assert_array_equal(obs.astype(np.float64), env.observe(new[i : i + 1])[0])
            assert (reward, term, trunc) == (rewards[i], terminated[i], t + 1 == env.max_steps)
            checked += 1
            at_wall += int(new[i, 0] < -1.1999)  # -1.2, or float32's nearest value to it
            outside_box += int(env.continuous and abs(float(actions[i][0])) > 1.0)
            if term or trunc:
                running[i] = False
                terminations, truncations = terminations + int(term), truncations + int(trunc)
        states = new
        if not running.any():
            break
    assert checked >= 1000 and terminations >= 1 and truncations >= 1 and at_wall >= 1
    assert outside_box >= 10 or not env.continuous


def _velocity_policy(task: ControlTask) -> np.ndarray:
    """A hand-built policy in the task's own 2-16-n network: one hidden unit reads the sign of
    ``v - 0.0175 * (x + 0.45)`` (the velocity, tilted so a car at rest near the valley floor
    starts towards the nearer side), the outputs push that way: energy pumping. On the
    continuous task the action is ``tanh`` of the output, a near-full push; on the discrete one
    the logits are +-h for right/left and 0 for "nothing"."""
    hidden, gain = task.model.layer_sizes[1], 1000.0
    w1, b1 = np.zeros((2, hidden)), np.zeros(hidden)
    w1[:, 0], b1[0] = [-0.0175 * gain, gain], -0.0175 * 0.45 * gain
    n_out = task.model.layer_sizes[-1]
    w2, b2 = np.zeros((hidden, n_out)), np.zeros(n_out)
    if task.action_space == "continuous":
        w2[0, 0] = 3.0
    else:
        w2[0, 0], w2[0, 2] = -1.0, 1.0  # left, (nothing), right
    return task.model.pack([(w1, b1), (w2, b2)])


@pytest.mark.parametrize("name", ["mountaincar", "mountaincar_continuous"])
def test_a_hand_built_energy_pumping_policy_reaches_the_target(name: str) -> None:
    """Each mountain car's target (gymnasium's threshold over 100 evaluation episodes) is
    reachable by the task's own policy network; an untrained network does not reach it."""
    task = get_task(name)
    assert isinstance(task, ControlTask)
    assert task.target.min_return == task.environment.reward_threshold
    good = task.evaluate(_velocity_policy(task), "train")
    assert task.target.is_met(good), good
    assert task.evaluate(_velocity_policy(task), "test")["return"] >= task.target.min_return
    assert not task.target.is_met(task.evaluate(initial_params(task, 0), "train"))


@pytest.mark.parametrize("name", ["mountaincar", "mountaincar_continuous"])
def test_mountain_car_rollouts_match_gymnasiums_loop(name: str) -> None:
    """Batched greedy rollouts of the new tasks score what gymnasium's own loop scores, episode
    by episode: returns and lengths (continuous actions handed over as float32, tanh-squashed)."""
    task = get_task(name)
    assert isinstance(task, ControlTask)
    env = task.environment
    population = np.vstack([_velocity_policy(task), task.model.init_params(
        np.random.default_rng(2), 2) * 3.0])
    seeds = [11, 12, 13]
    result = rollout(env, task.model, population, env.initial_states(seeds))
    for p in range(len(population)):
        for k, seed in enumerate(seeds):
            single = gym.make(env.gym_id)
            obs, _ = single.reset(seed=seed)
            total, length, done = 0.0, 0, False
            while not done:
                out = forward(task.model, population[p], obs.astype(np.float64)[None, :],
                              logits=True)[0]
                action = (np.tanh(out).astype(np.float32) if env.continuous
                          else int(np.argmax(out)))
                obs, reward, term, trunc, _ = single.step(action)
                total, length, done = total + float(reward), length + 1, term or trunc
            assert (result.returns[p, k], result.lengths[p, k]) == (total, length)
    assert (result.lengths[0] < env.max_steps).all()  # the pumping policy reaches the flag


def test_action_space_and_network_shape_follow_the_environment() -> None:
    tasks = {name: get_task(name)
             for name in ("cartpole", "acrobot", "mountaincar", "mountaincar_continuous")}
    shapes = {name: (task.action_space, task.model.layer_sizes) for name, task in tasks.items()
              if isinstance(task, ControlTask)}
    assert shapes == {"cartpole": ("discrete", (4, 16, 2)), "acrobot": ("discrete", (6, 32, 3)),
                      "mountaincar": ("discrete", (2, 16, 3)),
                      "mountaincar_continuous": ("continuous", (2, 16, 1))}
    task = get_task("mountaincar_continuous")
    assert task.model.output_activation == "identity" and "tanh" in task.description
    with pytest.raises(InvalidParameterError, match="to 1 action outputs"):
        ControlTask(**{**vars(task), "model": get_task("mountaincar").model})


def test_gaussian_rollouts_sample_around_the_mean_and_step_inside_the_box() -> None:
    """A stochastic continuous policy records its unclipped samples, spread exp(log_std) around
    max_action * tanh(output); the environment is charged for the clipped action."""
    task = get_task("mountaincar_continuous", train_episodes=4)
    assert isinstance(task, ControlTask)
    env, params = task.environment, task.model.init_params(np.random.default_rng(0))
    result = rollout(env, task.model, params[None, :], task.train_states,
                     rng=np.random.default_rng(1), log_std=np.array([0.5]), record=True)
    first = result.transitions[0]
    mean = np.tanh(forward(task.model, params, first.observations, logits=True))
    samples = np.concatenate([tr.actions for tr in result.transitions])
    means = np.concatenate([np.tanh(forward(task.model, params, tr.observations, logits=True))
                            for tr in result.transitions])
    z = (samples - means) / np.exp(0.5)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05 and (np.abs(samples) > 1).any()
    assert first.actions.shape == mean.shape == (4, 1)
    # Rewards: -0.1 a^2 of the clipped float32 action (no episode reaches the flag this early).
    clipped = np.clip(first.actions[:, 0], -1.0, 1.0).astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(first.rewards, -np.float_power(clipped, 2.0) * 0.1)


@pytest.mark.parametrize(
    ("gym_id", "kwargs", "message"),
    [
        ("MountainCarContinuous-v0", {"rng": np.random.default_rng(0)}, "must be given"),
        ("MountainCarContinuous-v0", {"rng": np.random.default_rng(0), "log_std": [0.0, 1.0]},
         "must be 1 finite floats"),
        ("MountainCarContinuous-v0", {"log_std": np.zeros(1)}, "was given no rng"),
        ("MountainCar-v0", {"rng": np.random.default_rng(0), "log_std": np.zeros(1)},
         "is discrete"),
    ],
)
def test_rollout_refuses_a_log_std_that_does_not_fit(
    gym_id: str, kwargs: dict[str, Any], message: str
) -> None:
    env = ENVIRONMENTS[gym_id]
    task = get_task("mountaincar_continuous" if env.continuous else "mountaincar")
    with pytest.raises(InvalidParameterError, match=rf"'log_std' parameter of rollout.*{message}"):
        rollout(env, task.model, task.model.init_params(np.random.default_rng(0), 1),
                env.initial_states([0]), **kwargs)


@pytest.mark.parametrize("solver", ["ga", "cmaes", "openai-es", "reinforce"])
@pytest.mark.parametrize("name", ["mountaincar", "mountaincar_continuous"])
def test_population_and_policy_gradient_solvers_run_the_new_tasks(name: str, solver: str) -> None:
    """Every solver that runs CartPole runs the mountain cars unchanged (same code path; its
    reproducibility is checked on CartPole above) and is charged the environment steps taken."""
    task = get_task(name, train_episodes=2, eval_episodes=2, test_episodes=2)
    configured = get_solver(solver, **({} if solver == "reinforce" else {"population_size": 4}))
    record = run_one(task, configured, Budget(max_iterations=2), seed=3, strict=True)
    # pycma stops itself (tolfun) on MountainCar's flat -200 plateau: the sparse reward at work.
    assert record.stop_reason in {"max_iterations", "solver_finished"}
    most = configured.initial_cost(task).forward + 2 * configured.iteration_cost(task).forward
    assert 0 < record.evaluations <= most
    assert record.trace[-1]["evaluations"] == record.evaluations  # cumulative
    assert "return" in record.final_test and len(record.final_params) == task.num_params


def test_a_mixed_batch_of_fresh_and_stepped_episodes_steps_each_as_gymnasium_would() -> None:
    """gymnasium holds MountainCarContinuous' state in float64 until the first step and float32
    after; a batch holding both kinds steps each row as it would on its own."""
    env = ENVIRONMENTS["MountainCarContinuous-v0"]
    fresh = env.initial_states([1, 2, 3])
    stepped, _, _ = env.step(env.initial_states([4, 5, 6]), np.full((3, 1), 0.7, np.float32))
    actions = np.array([[0.3], [-2.0], [1.0], [0.9], [-0.4], [5.0]], dtype=np.float32)
    mixed = env.step(np.vstack([fresh, stepped]), actions)
    alone = [env.step(fresh, actions[:3]), env.step(stepped, actions[3:])]
    for got, (a, b) in zip(mixed, zip(*alone, strict=True), strict=True):
        np.testing.assert_array_equal(got, np.concatenate([a, b]))
    assert (fresh[:, 2] == 0).all() and (mixed[0][:, 2] == 1).all()


def test_an_unknown_environment_option_exits_2_naming_the_valid_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", "mountaincar", "--solvers", "ga", "--task-set",
              "mountaincar.goal_velocity=0.01", "--out", str(tmp_path), "--no-progress",
              "--executor", "serial"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "Unknown option 'goal_velocity' for task 'mountaincar'. Available options: " in err
    assert "data_seed" in err and "train_episodes" in err
    assert not (tmp_path / "raw").exists()
