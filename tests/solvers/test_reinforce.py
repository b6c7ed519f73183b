"""ReinforceSolver: returns to go, advantages, accounting, the gradient it follows (categorical
and Gaussian), and the policy option refused on a task of the other action space."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from benchmarks.harness import initial_params
from benchmarks.run_all import main
from solvers import reinforce
from solvers.reinforce import ReinforceSolver, gaussian_log_likelihood, rewards_to_go
from tasks import get_task
from tasks.control import ControlTask, Rollout, Transition, rollout
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


@pytest.mark.parametrize(
    ("field", "value"), [("policy", "beta"), ("log_std_init", 6.0), ("learn_log_std", 1)]
)
def test_bad_gaussian_options_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of ReinforceSolver"):
        ReinforceSolver(**{field: value})


def test_the_search_space_keeps_its_entries_and_adds_the_log_std_where_it_acts() -> None:
    from tasks import get_task

    assert set(ReinforceSolver.search_space_for(get_task("cartpole"))) == {
        "learning_rate", "gamma"}
    space = ReinforceSolver.search_space_for(get_task("mountaincar_continuous"))
    assert set(space) == {"learning_rate", "gamma", "log_std_init"}
    for u in (0.0, 0.5, 0.999):  # every point of the space is a valid configuration
        ReinforceSolver(**{name: dim.value(u) for name, dim in space.items()})


def test_gaussian_log_likelihood_is_torchs_normal_log_density() -> None:
    rng = np.random.default_rng(0)
    mean, actions = (torch.from_numpy(rng.standard_normal((50, 2))) for _ in range(2))
    log_std = torch.tensor([-0.7, 0.4], dtype=torch.float64)
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(actions).sum(-1)
    torch.testing.assert_close(gaussian_log_likelihood(mean, log_std, actions), expected)


def _recorded(name: str, solver: ReinforceSolver) -> tuple[ControlTask, np.ndarray, Rollout]:
    task = get_task(name, train_episodes=2)
    assert isinstance(task, ControlTask)
    x0 = initial_params(task, 0) * 2.0
    log_std = np.array([solver.log_std_init]) if task.action_space == "continuous" else None
    result = rollout(task.environment, task.model, x0[None, :], task.train_states,
                     rng=np.random.default_rng(1), log_std=log_std, record=True)
    return task, x0, result


@pytest.mark.parametrize("name", ["cartpole", "mountaincar_continuous"])
def test_the_surrogate_gradient_matches_finite_differences(name: str) -> None:
    """The gradient REINFORCE steps along (autograd through the log-likelihood, categorical or
    Gaussian, network, tanh and log-std) equals central differences of the surrogate loss."""
    solver = ReinforceSolver(log_std_init=-0.3)
    task, x0, result = _recorded(name, solver)
    theta = torch.tensor(x0, requires_grad=True)
    log_std = torch.tensor([solver.log_std_init], dtype=torch.float64, requires_grad=True)
    solver.surrogate_loss(task, theta, log_std, result).backward()
    assert theta.grad is not None

    def loss(params: np.ndarray, log_sigma: float) -> float:
        return float(solver.surrogate_loss(task, torch.from_numpy(params),
                                           torch.tensor([log_sigma], dtype=torch.float64),
                                           result))

    h, rows = 1e-6, np.random.default_rng(2).choice(task.num_params, 12, replace=False)
    for i in rows:
        step = np.zeros_like(x0)
        step[i] = h
        numeric = (loss(x0 + step, solver.log_std_init) - loss(x0 - step, solver.log_std_init))
        assert theta.grad[i].item() == pytest.approx(numeric / (2 * h), rel=1e-5, abs=1e-8)
    numeric = (loss(x0, solver.log_std_init + h) - loss(x0, solver.log_std_init - h)) / (2 * h)
    if task.action_space == "continuous":
        assert log_std.grad is not None and numeric != 0.0
        assert log_std.grad.item() == pytest.approx(numeric, rel=1e-5)
    else:  # the categorical policy does not read the log-std
        assert log_std.grad is None and numeric == 0.0


@pytest.mark.parametrize("learn", [True, False])
def test_the_log_std_is_learned_or_held_fixed_as_declared(
    learn: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Gaussian's log-std (outside the reported vector) moves with Adam when learned and
    stays at log_std_init when fixed; the accounting is the steps taken, forward and backward."""
    seen: list[np.ndarray] = []

    def spy(*args: Any, **kwargs: Any) -> Rollout:
        seen.append(kwargs["log_std"])
        return rollout(*args, **kwargs)

    monkeypatch.setattr(reinforce, "rollout", spy)
    task = get_task("mountaincar_continuous", train_episodes=2, eval_episodes=2)
    monitor = RecordingMonitor(stop_after=4)
    solver = ReinforceSolver(log_std_init=-0.5, learn_log_std=learn)
    solver.run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    assert len(seen) == 3 and seen[0].tolist() == [-0.5]
    assert bool(seen[-1][0] != -0.5) is learn
    assert monitor.backward == monitor.evaluations
    assert all(2 <= e <= task.n_train for e in monitor.evaluations[1:])


@pytest.mark.parametrize(
    ("task", "policy", "fragment"),
    [
        ("cartpole", "gaussian", "must be 'auto' or 'categorical' for task 'cartpole', whose "
                                 "action space is discrete (CartPole-v1). Got 'gaussian'"),
        ("mountaincar_continuous", "categorical",
         "must be 'auto' or 'gaussian' for task 'mountaincar_continuous', whose action space is "
         "continuous (MountainCarContinuous-v0). Got 'categorical'"),
    ],
)
def test_a_policy_of_the_other_action_space_exits_2_before_any_run(
    task: str, policy: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", task, "--solvers", "reinforce", "--set", f"reinforce.policy={policy}",
              "--arms", "defaults", "--out", str(tmp_path), "--no-progress", "--executor",
              "serial"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"The 'policy' parameter of ReinforceSolver {fragment}" in err
    assert not (tmp_path / "raw").exists()


def test_a_matching_policy_runs_and_auto_follows_the_task() -> None:
    continuous = get_task("mountaincar_continuous", train_episodes=1, eval_episodes=1)
    assert isinstance(continuous, ControlTask)
    assert ReinforceSolver().policy_form(continuous) == "gaussian"
    assert ReinforceSolver(policy="gaussian").unsupported_reason(continuous) is None
    cartpole = get_task("cartpole")
    assert isinstance(cartpole, ControlTask)
    assert ReinforceSolver(policy="categorical").policy_form(cartpole) == "categorical"
