"""The stable-baselines3 PPO reference row: exact export, exact step accounting, clean failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import pinned_threads, run_one
from benchmarks.run_all import main
from solvers import SOLVERS, get_solver
from solvers import ppo as ppo_module
from solvers.base import REFERENCE
from solvers.ppo import (
    ZOO,
    PPOSolver,
    build_model,
    export_params,
    harness_ppo_class,
    is_continuous,
)
from tasks import get_task
from tasks.control import ControlTask
from tasks.errors import InvalidParameterError
from tasks.mlp import forward


class _Keep:
    """A monitor that keeps every report and stops after ``stop_after`` of them."""

    def __init__(self, stop_after: int) -> None:
        self.reports: list[tuple[np.ndarray, int, int]] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.reports.append((np.array(params, copy=True), evaluations, backward))
        return len(self.reports) >= self.stop_after


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every SB3 model the solver builds during the test (to read ``num_timesteps``)."""
    models: list[Any] = []

    def keep(*args: Any, **kwargs: Any) -> Any:
        models.append(build_model(*args, **kwargs))
        return models[-1]

    monkeypatch.setattr(ppo_module, "build_model", keep)
    return models


def _trained(task: ControlTask, updates: int, seed: int = 0, **options: Any) -> Any:
    """An SB3 model after ``updates`` rollouts and their updates (stopped before the next)."""
    cfg = PPOSolver(**options).resolved(task).config()
    model = build_model(cfg, task, seed)
    calls = [0]

    def hook() -> bool:
        calls[0] += 1
        return calls[0] > updates

    model.report_hook = hook
    with pinned_threads(1):  # as the harness runs it: two torch threads fight on a busy machine
        model.learn(total_timesteps=2**62, log_interval=None)
    return model


def _observations(gym_id: str, count: int, seed: int) -> np.ndarray:
    """Raw gymnasium observations along episodes of random actions."""
    import gymnasium

    env = gymnasium.make(gym_id)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    rows = []
    for _ in range(count):
        rows.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    return np.array(rows)


def test_registered_as_a_reference_row() -> None:
    assert SOLVERS["ppo"] is PPOSolver
    assert PPOSolver.paradigm == REFERENCE


@pytest.mark.parametrize(("options", "field"), [
    ({"n_steps": 1}, "n_steps"),
    ({"gamma": 0.0}, "gamma"),
    ({"gamma": 1.5}, "gamma"),
    ({"batch_size": 1}, "batch_size"),
    ({"n_envs": 2, "n_steps": 4, "batch_size": 16}, "batch_size"),
    ({"n_envs": 0}, "n_envs"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"clip_range": 0.0}, "clip_range"),
    ({"schedule": "cosine"}, "schedule"),
    ({"normalize": 1}, "normalize"),
    ({"use_sde": "yes"}, "use_sde"),
])
def test_bad_options_fail_on_construction_naming_the_option(
    options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of PPOSolver"):
        PPOSolver(**options)


def test_none_means_the_zoos_value_for_the_environment() -> None:
    cartpole = PPOSolver().resolved(get_task("cartpole")).config()
    assert {k: cartpole[k] for k in ZOO["CartPole-v1"]} == ZOO["CartPole-v1"]
    assert cartpole["max_grad_norm"] == 0.5 and cartpole["normalize"] is False  # SB3 / zoo
    acrobot = PPOSolver(learning_rate=1e-3).resolved(get_task("acrobot")).config()
    assert (acrobot["n_envs"], acrobot["n_steps"], acrobot["batch_size"]) == (16, 256, 64)
    assert acrobot["normalize"] is True and acrobot["learning_rate"] == 1e-3
    # The zoo's minibatch of 256 on a rollout of 1 x 8 steps: SB3 trains on all 8 at once.
    car = PPOSolver().resolved(get_task("mountaincar_continuous")).config()
    assert (car["n_envs"], car["n_steps"], car["batch_size"]) == (1, 8, 8)
    assert car["use_sde"] is True and car["log_std_init"] == -3.29 and car["ortho_init"] is False


def test_combinations_checked_against_the_tasks_zoo_settings() -> None:
    """``batch_size`` alone is fine until the zoo's rollout on the task is known; gSDE needs
    continuous actions."""
    solver = PPOSolver(batch_size=1000)  # fine on its own: n_envs and n_steps are the zoo's
    with pytest.raises(InvalidParameterError,
                       match=r"'batch_size' parameter of PPOSolver must be an int in the range "
                             r"\[2, 256\] on task 'cartpole'.*Got 1000 instead"):
        solver.resolved(get_task("cartpole"))
    assert solver.resolved(get_task("acrobot")).batch_size == 1000  # 16 x 256 = 4096
    with pytest.raises(InvalidParameterError, match=r"'use_sde' parameter of PPOSolver"):
        PPOSolver(use_sde=True).resolved(get_task("cartpole"))


def test_supervised_tasks_are_not_applicable() -> None:
    reason = get_solver("ppo").unsupported_reason(get_task("xor"))
    assert reason is not None and reason.startswith("not applicable")
    assert get_solver("ppo").unsupported_reason(get_task("cartpole")) is None


@pytest.mark.parametrize(("name", "updates"), [
    ("cartpole", 6), ("acrobot", 1), ("mountaincar", 3), ("mountaincar_continuous", 30),
])
def test_exported_vector_acts_as_sb3_deterministic_policy(name: str, updates: int) -> None:
    """The task's policy on the exported vector acts as SB3's ``predict(deterministic=True)``:
    the argmax of the logits (discrete), ``tanh`` of the output (continuous; SB3's Gaussian mean
    through the adapter's tanh head). SB3 sees VecNormalize's normalised observations where the
    zoo normalises, whose statistics the export folds into the first layer."""
    import torch

    task = get_task(name)
    assert isinstance(task, ControlTask)
    model = _trained(task, updates)
    params = export_params(model, task)
    obs = _observations(task.environment.gym_id, 3000, seed=11)
    normalized = PPOSolver().resolved(task).normalize
    seen = model.get_env().normalize_obs(obs) if normalized else obs
    theirs, _ = model.predict(seen, deterministic=True)
    outputs = forward(task.model, params, obs.astype(np.float64))
    # VecNormalize's +-10 std clip is not folded (declared): leave out what it clipped.
    clear = np.all(np.abs(seen) < 10.0, axis=1)
    assert clear.sum() >= 1000
    if is_continuous(task):
        np.testing.assert_allclose(np.tanh(outputs[clear]), theirs[clear], atol=1e-5)
        return
    top2 = np.sort(outputs, axis=1)[:, -2:]
    clear &= top2[:, 1] - top2[:, 0] > 1e-4  # float32 (SB3) vs float64 (ours) ties
    assert clear.sum() >= 1000
    np.testing.assert_array_equal(np.argmax(outputs, axis=1)[clear], theirs[clear])
    # The logits themselves, not just their argmax: float32 rounding only.
    with torch.no_grad():
        sb3 = model.policy.get_distribution(
            torch.as_tensor(seen, dtype=torch.float32)).distribution.logits.numpy()
    shift = outputs - outputs.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(shift[clear], (sb3 - sb3.mean(axis=1, keepdims=True))[clear],
                               atol=1e-4)


def test_reported_evaluations_are_exactly_the_steps_sb3_took(built: list[Any]) -> None:
    task = get_task("cartpole")
    monitor = _Keep(stop_after=5)
    with pinned_threads(1):
        PPOSolver(min_report_steps=1).run(task, np.zeros(task.num_params), monitor,
                                          np.random.default_rng(3))
    (model,) = built
    evaluations = [r[1] for r in monitor.reports]
    assert evaluations == [0, 256, 256, 256, 256]
    assert sum(evaluations) == model.num_timesteps
    assert [r[2] for r in monitor.reports] == [0] + [20 * 256] * 4  # 20 epochs a sample


def test_an_iteration_covers_min_report_steps(built: list[Any]) -> None:
    """By default a report covers the rollouts that reach 1,024 steps: four of cartpole's 256,
    and every step is still charged once."""
    task = get_task("cartpole")
    monitor = _Keep(stop_after=3)
    with pinned_threads(1):
        PPOSolver().run(task, np.zeros(task.num_params), monitor, np.random.default_rng(3))
    (model,) = built
    assert [r[1] for r in monitor.reports] == [0, 1024, 1024]
    assert sum(r[1] for r in monitor.reports) == model.num_timesteps
    assert PPOSolver().iteration_cost(task).forward == 1024
    assert PPOSolver(min_report_steps=1000).iteration_cost(task).forward == 1024


@pytest.mark.parametrize(("name", "budget", "rollout", "epochs"), [
    ("cartpole", 1000, 256, 20),                # 8 envs x 32 steps
    ("mountaincar_continuous", 100, 8, 10),     # 1 env x 8 steps, gSDE, tanh head
])
def test_harness_budget_ends_the_run_and_counts_every_step(
    built: list[Any], name: str, budget: int, rollout: int, epochs: int
) -> None:
    """The last rollout that fits the budget is the last one taken (cartpole: the fourth of
    256 steps would pass 1000), and every step SB3 took is charged, none beyond."""
    task = get_task(name)
    record = run_one(task, PPOSolver(min_report_steps=1), Budget(max_evaluations=budget),
                     seed=0, strict=True)
    (model,) = built
    rollouts = budget // rollout
    assert record.stop_reason == "max_evaluations"
    assert record.evaluations == model.num_timesteps == rollouts * rollout
    assert record.iterations == rollouts and record.backward == rollouts * epochs * rollout


def test_linear_schedule_runs_over_the_zoos_n_timesteps(built: list[Any]) -> None:
    """The learning rate after k updates is 1e-3 * (1 - 256 k / n_timesteps), clamped at 0:
    past the horizon the policy no longer moves."""
    task = get_task("cartpole")
    monitor = _Keep(stop_after=4)
    with pinned_threads(1):
        PPOSolver(min_report_steps=1).run(task, np.zeros(task.num_params), monitor,
                                          np.random.default_rng(0))
    lr = built[-1].policy.optimizer.param_groups[0]["lr"]
    assert lr == pytest.approx(1e-3 * (1 - 3 * 256 / 100_000))
    monitor = _Keep(stop_after=5)
    with pinned_threads(1):
        PPOSolver(n_timesteps=512, stop_at_horizon=False, min_report_steps=1).run(
            task, np.zeros(task.num_params), monitor, np.random.default_rng(0))
    assert built[-1].policy.optimizer.param_groups[0]["lr"] == 0.0
    params = [r[0] for r in monitor.reports]
    assert not np.array_equal(params[0], params[1])
    np.testing.assert_array_equal(params[2], params[3])
    np.testing.assert_array_equal(params[3], params[4])


def test_same_seed_same_trace_other_seed_other_trace() -> None:
    task, budget = get_task("cartpole"), Budget(max_iterations=3)
    first = run_one(task, PPOSolver(), budget, seed=1, strict=True)
    again = run_one(task, PPOSolver(), budget, seed=1, strict=True)
    other = run_one(task, PPOSolver(), budget, seed=2, strict=True)
    assert first.final_params == again.final_params
    assert first.final_params != other.final_params


def test_an_error_inside_sb3_is_a_recorded_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite goes on: the record says error, with SB3's own message."""
    def broken(self: Any) -> None:
        raise ValueError("Expected parameter logits to satisfy the constraint (from SB3)")

    monkeypatch.setattr(harness_ppo_class(), "train", broken)
    record = run_one(get_task("cartpole"), PPOSolver(), Budget(max_iterations=5), seed=0)
    assert record.stop_reason == "error"
    assert "ValueError: Expected parameter logits" in record.error
    assert record.iterations == 0  # the initial policy was reported, then SB3 raised


@pytest.mark.parametrize(("setting", "fragment"), [
    ("ppo.batch_size=1000", "The 'batch_size' parameter of PPOSolver must be an int in the "
                            "range [2, 256] on task 'cartpole'"),
    ("ppo.n_steps=1", "The 'n_steps' parameter of PPOSolver must be an int in the range "
                      "[2, 1048576]. Got 1 instead."),
    ("ppo.gamma=0", "The 'gamma' parameter of PPOSolver must be a float in the range (0.0, 1.0]"),
    ("ppo.use_sde=true", "The 'use_sde' parameter of PPOSolver must be False or None on task "
                         "'cartpole'"),
])
def test_cli_exits_2_before_any_run(
    setting: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", "cartpole", "--solvers", "ppo", "--set", setting, "--out",
              str(tmp_path), "--no-progress", "--executor", "serial"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "raw").exists()


def test_the_reference_stops_at_the_zoos_training_length() -> None:
    """PPO's recipe is n_timesteps of training: a larger budget does not run it on, and the
    record says why it stopped; with stop_at_horizon=False the budget ends it."""
    from benchmarks.budget import Budget
    from benchmarks.harness import run_one
    from tasks import get_task

    task = get_task("cartpole", train_episodes=1, eval_episodes=2, test_episodes=2,
                    target=1e9)
    short = {"n_timesteps": 512, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1}
    done = run_one(task, get_solver("ppo", **short), Budget(max_evaluations=5_000), seed=0,
                   strict=True)
    assert done.stop_reason == "solver_finished"
    assert "zoo training length reached" in (done.stop_detail or "")
    assert 512 <= done.evaluations < 512 + 128
    on = run_one(task, get_solver("ppo", **short, stop_at_horizon=False),
                 Budget(max_evaluations=2_000), seed=0, strict=True)
    assert on.stop_reason == "max_evaluations" and on.evaluations > 512
