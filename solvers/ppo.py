"""PPO from stable-baselines3 as a reference row on the control tasks, with the zoo's settings.

A reader who would otherwise reach for stable-baselines3 (SB3) wants to know how evolution and the
benchmark's REINFORCE compare with what they would use: SB3's ``PPO("MlpPolicy", ...)`` at the
hyperparameters rl-baselines3-zoo publishes for the environment. This solver trains exactly that
on gymnasium's own environment (``gymnasium.make(task.environment.gym_id)``, ``n_envs`` copies in
SB3's ``DummyVecEnv`` via ``make_vec_env``, seeded from the run's generator), and reports its
policy network to the harness after every update in the project's flat layout (``tasks/mlp.py``),
so the harness scores it exactly like every other solver: the greedy policy on the task's own
evaluation episodes, its training environment steps counted as evaluations. It declares
``paradigm = "reference"``: the verdict and the paired comparisons leave it out.

The network is the task's: SB3's policy network ``pi`` has the task's hidden layers (width and
activation, ``net_arch=dict(pi=hidden, vf=hidden)``), so the exported vector *is* a policy of
the task's shape. What is SB3's and not the benchmark's:

* **a value network** ``vf``, of the same hidden widths and activation plus one linear output,
  separate from the policy network (SB3's ``MlpExtractor``; nothing shared but the identity
  feature extractor). It is trained with the policy, never exported, and its parameters are not
  counted in the task's ``num_params``;
* initial weights: SB3's own (orthogonal, gain sqrt(2) for hidden layers and 0.01 for the
  action head, unless the zoo sets ``ortho_init=False``), drawn from the run's seed, not the
  harness's ``x0`` (``single_start = False``);
* episodes: gymnasium's ``reset(seed=s + i)`` for environment ``i`` and then its own resets,
  not the task's training episodes (the task's evaluation and test episodes still judge it);
* the loss: PPO's clipped surrogate, value loss and entropy bonus on sampled actions.

**Observation normalisation.** Where the zoo sets ``normalize: true`` (Acrobot, MountainCar,
MountainCarContinuous), SB3 trains behind ``VecNormalize`` (observations and rewards, with the
zoo's ``gamma``), so its policy sees ``clip((obs - mean) / sqrt(var + 1e-8), -10, 10)``. The
harness runs the task's policy on raw observations, so the export folds the running mean and
standard deviation into the first layer: ``W' = W / std`` per input row and
``b' = b - (mean / std) @ W``. VecNormalize's clip at +-10 standard deviations is *not* folded (a
linear layer cannot clip): an observation further than 10 running standard deviations from the
running mean would get a different action from the exported policy than from SB3's. Reward
normalisation only scales PPO's training signal and needs nothing.

**Continuous actions** (MountainCarContinuous-v0). The task's deterministic policy is
``a = max_action * tanh(output)`` (``tasks/control.py``), with ``max_action = 1`` here (an
environment whose box is not [-1, 1] is unsupported); SB3's Gaussian policy has a linear mean.
The adapter's policy class is SB3's ``ActorCriticPolicy`` with the action head followed by
``nn.Tanh`` (:func:`tanh_policy_class`), so PPO's Gaussian mean, and so SB3's deterministic
action, is ``tanh(linear)``, the task's policy; exploration noise (gSDE where the zoo uses
it, as it does here, with its ``log_std_init``) is added around it and the sum clipped to the
action bounds, as SB3 does. This is a change from the
zoo's policy (a linear mean clipped by the environment), declared.

**Reporting and stopping.** The first report (iteration 0) is SB3's initial policy, before any
environment step. Then one iteration is one rollout (``n_envs * n_steps`` environment steps)
followed by its ``n_epochs`` epochs of minibatch updates, and the report after it carries the
updated policy. SB3's callbacks cannot stop training between an update and the next rollout:
the return values of ``on_rollout_start`` and ``on_rollout_end`` are ignored, and ``on_step``
runs after the environments have already stepped, so a stop decided there would take
``n_envs`` environment steps that no report accounts for. The adapter's PPO subclass
(:func:`harness_ppo_class`) therefore reports at the top of SB3's ``collect_rollouts`` (after the
previous update, before any step) and returns ``False`` there when the harness says stop, which is
SB3's own signal that ends ``learn``. Nothing else of PPO is changed: every reported evaluation is
an environment step SB3 took, and every step SB3 took is reported (tested against
``model.num_timesteps``).

**Budget and schedules.** ``learn`` is given no limit of its own: the harness's budget (in
environment steps) ends the run, at the last rollout that still fits it. The zoo's linear
schedules (``lin_`` in its file: CartPole's learning rate and clip range) decay to zero over the
zoo's training budget ``n_timesteps``, so the subclass computes SB3's "progress remaining" against
``n_timesteps`` instead of ``learn``'s limit; past it they stay at zero (the zoo's agent is done
training), and the harness goes on judging that policy until its budget ends.

**Threads and seeds.** The harness pins torch's threads for every run (as for the other torch
solvers); this module never calls ``torch.set_num_threads``. SB3 seeds Python's ``random``, NumPy's
global generator and torch's from the run's seed (its ``set_random_seed``).

References: Schulman et al., "Proximal Policy Optimization Algorithms", 2017,
https://arxiv.org/abs/1707.06347; Raffin et al., "Stable-Baselines3: Reliable Reinforcement
Learning Implementations", JMLR 22(268), 2021; rl-baselines3-zoo, ``hyperparams/ppo.yml``
(https://github.com/DLR-RM/rl-baselines3-zoo, read at commit :data:`ZOO_COMMIT`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np

from solvers.base import FLOAT_BYTES, Cost, Monitor, Solver
from solvers.space import IntLogUniform, LogUniform, SearchSpace, Uniform
from tasks._validation import check_interval, check_options, check_type
from tasks.base import Task
from tasks.control import ControlTask
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams

#: The rl-baselines3-zoo commit whose ``hyperparams/ppo.yml`` the table below copies.
ZOO_COMMIT = "00128b5d46d497b772f3bd891ae9f520919e8971"

#: rl-baselines3-zoo's PPO hyperparameters per gymnasium id, as in its ``hyperparams/ppo.yml``
#: (keys are the file's; ``learning_rate: lin_0.001`` and ``clip_range: lin_0.2`` are written
#: as the start value plus ``schedule: "linear"``; ``policy_kwargs`` as ``log_std_init`` and
#: ``ortho_init``; ``policy: MlpPolicy`` everywhere). A setting an entry leaves out takes SB3's
#: default (:data:`SB3_DEFAULTS`), as the zoo does. MountainCarContinuous's ``batch_size: 256``
#: exceeds its rollout of 1 x 8 steps: SB3 then trains on one minibatch of all 8 samples per
#: epoch, which is what a ``batch_size`` of ``None`` resolves to here (see ``PPOSolver``).
ZOO: dict[str, dict[str, Any]] = {
    "CartPole-v1": {
        "n_envs": 8, "n_timesteps": 100_000, "n_steps": 32, "batch_size": 256,
        "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20, "ent_coef": 0.0,
        "learning_rate": 1e-3, "clip_range": 0.2, "schedule": "linear",
    },
    "Acrobot-v1": {
        "normalize": True, "n_envs": 16, "n_timesteps": 1_000_000, "n_steps": 256,
        "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0,
    },
    "MountainCar-v0": {
        "normalize": True, "n_envs": 16, "n_timesteps": 1_000_000, "n_steps": 16,
        "gae_lambda": 0.98, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0,
    },
    "MountainCarContinuous-v0": {
        "normalize": True, "n_envs": 1, "n_timesteps": 20_000, "batch_size": 256, "n_steps": 8,
        "gamma": 0.9999, "learning_rate": 7.77e-05, "ent_coef": 0.00429, "clip_range": 0.1,
        "n_epochs": 10, "gae_lambda": 0.9, "max_grad_norm": 5.0, "vf_coef": 0.19,
        "use_sde": True, "log_std_init": -3.29, "ortho_init": False,
    },
}

#: SB3 2.9's defaults for what a zoo entry leaves out (``PPO.__init__``, ``ActorCriticPolicy``;
#: ``normalize`` and ``schedule`` are the zoo's: no ``VecNormalize``, constant values).
SB3_DEFAULTS: dict[str, Any] = {
    "n_envs": 1, "n_steps": 2048, "batch_size": 64, "n_epochs": 10, "gamma": 0.99,
    "gae_lambda": 0.95, "learning_rate": 3e-4, "schedule": "constant", "clip_range": 0.2,
    "ent_coef": 0.0, "vf_coef": 0.5, "max_grad_norm": 0.5, "normalize": False,
    "use_sde": False, "log_std_init": 0.0, "ortho_init": True,
}

SCHEDULES: tuple[str, ...] = ("constant", "linear")
#: Hidden activations SB3's ``MlpPolicy`` is given, by the benchmark's names.
_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")
#: ``learn``'s own limit: never reached, so the harness's budget ends every run.
_UNBOUNDED = 2**62
#: VecNormalize's ``epsilon`` (SB3's default): ``std = sqrt(var + epsilon)``.
_NORM_EPSILON = 1e-8


@dataclass(frozen=True, kw_only=True)
class PPOSolver(Solver):
    """stable-baselines3's PPO with rl-baselines3-zoo's settings, on the task's policy network.

    Iteration: one rollout of ``n_envs * n_steps`` environment steps, then ``n_epochs`` epochs of
    minibatch updates on it.
    Evaluations: ``n_envs * n_steps`` per iteration (the environment steps, one policy forward
    each), and ``n_epochs * n_envs * n_steps`` backward passes (every sample once per epoch,
    through the policy and the value network); the updates' own forward passes are not counted
    (on control tasks an evaluation is an environment step).

    Every field defaults to ``None``: rl-baselines3-zoo's value for the task's environment
    (:data:`ZOO`), or SB3 2.9's default where the zoo sets none (:data:`SB3_DEFAULTS`). A value
    given explicitly replaces it on every task.

    Attributes:
        n_envs: environments stepped in parallel, in [1, 256].
        n_steps: steps per environment per rollout, in [2, 1048576].
        batch_size: minibatch size, in [2, n_envs * n_steps]. ``None``: the zoo's, capped at
            the rollout size (what SB3 does with a larger one: one minibatch of all of it).
        n_epochs: passes over each rollout, in [1, 1000].
        gamma: discount, in (0, 1].
        gae_lambda: GAE's lambda, in [0, 1].
        learning_rate: Adam's step size (at the start, with a linear schedule), in (0, 1].
        schedule: ``"constant"``, or ``"linear"``: learning rate and clip range decay linearly to
            0 over ``n_timesteps`` environment steps (the zoo's ``lin_`` values).
        clip_range: PPO's clip on the probability ratio, in (0, 1].
        ent_coef: entropy bonus weight, in [0, inf).
        vf_coef: value loss weight, in [0, inf).
        max_grad_norm: gradient norm clip, in (0, inf).
        normalize: train behind ``VecNormalize`` (observations and rewards; folded into the
            exported first layer, see the module docstring).
        use_sde: generalized state-dependent exploration (continuous actions only).
        log_std_init: initial log standard deviation of the action noise, in [-20, 2]
            (continuous actions only; ignored for discrete ones).
        ortho_init: SB3's orthogonal initialisation of the networks.
        n_timesteps: the zoo's training budget, the horizon of the linear schedules, at least
            1.
        stop_at_horizon: stop after the first rollout that reaches ``n_timesteps`` environment
            steps (default ``True``): the zoo's agent trains that long, and the reference row
            is that agent, so a task's larger budget does not run PPO on past its recipe (on
            CartPole its schedules are at zero by then anyway). The run then ends as the
            solver's own stop, with the note "zoo training length reached". ``False`` trains
            until the harness's budget ends the run.
        min_report_steps: report to the harness after the rollouts that cover at least this
            many environment steps since the last report (default 1,024). The harness scores
            every report on the task's evaluation episodes until the target is met; the zoo's
            MountainCarContinuous rollout is 8 steps, and scoring 100 episodes of up to 999
            steps after each cost the harness four times PPO's own training (measured: 130 s
            of evaluation for 30 s of training to 12,400 steps). The cost to target is then
            known to within one report (at most this many steps plus one rollout). 1 reports
            after every rollout.
    """

    name: ClassVar[str] = "ppo"
    paradigm: ClassVar[str] = "reference"
    iteration: ClassVar[str] = (
        "the rollouts (n_envs x n_steps environment steps each, then n_epochs epochs of "
        "minibatch updates on each) that cover at least `min_report_steps` environment steps"
    )
    evaluations: ClassVar[str] = (
        "`k * n_envs * n_steps` per iteration, `k` the rollouts it covers: the environment "
        "steps (one policy forward each); `n_epochs` backward passes per step (each sample "
        "once per epoch, policy and value network); the updates' forward passes are not "
        "counted."
    )
    caveat: ClassVar[str] = (
        "`ppo` is a reference line, not a competitor: stable-baselines3's PPO with "
        "rl-baselines3-zoo's settings, trained on gymnasium's own environments (its own "
        "episodes, initial weights and a value network of the policy's width that the task's "
        "parameter count leaves out); the harness scores its greedy policy on the task's "
        "evaluation episodes. With observation normalisation the running statistics are folded "
        "into the exported first layer, without VecNormalize's clip at 10 standard deviations."
    )
    stochastic: ClassVar[bool] = True
    single_start: ClassVar[bool] = False
    needs_differentiable: ClassVar[bool] = False
    search_space: ClassVar[SearchSpace] = {
        "learning_rate": LogUniform(1e-4, 3e-3),
        "n_epochs": IntLogUniform(4, 20),
        "gae_lambda": Uniform(0.8, 0.99),
        "clip_range": Uniform(0.1, 0.3),
        "ent_coef": Uniform(0.0, 0.01),
    }

    n_envs: int | None = None
    n_steps: int | None = None
    batch_size: int | None = None
    n_epochs: int | None = None
    gamma: float | None = None
    gae_lambda: float | None = None
    learning_rate: float | None = None
    schedule: str | None = None
    clip_range: float | None = None
    ent_coef: float | None = None
    vf_coef: float | None = None
    max_grad_norm: float | None = None
    normalize: bool | None = None
    use_sde: bool | None = None
    log_std_init: float | None = None
    ortho_init: bool | None = None
    n_timesteps: int | None = None
    stop_at_horizon: bool = True
    min_report_steps: int = 1024

    def validate(self) -> None:
        owner = type(self).__name__

        def interval(name: str, **bounds: Any) -> None:
            value = getattr(self, name)
            if value is not None:
                check_interval(value, name, owner, **bounds)

        interval("n_envs", kind=int, low=1, high=256)
        interval("n_steps", kind=int, low=2, high=2**20)
        interval("n_epochs", kind=int, low=1, high=1000)
        interval("gamma", low=0.0, high=1.0, closed="right")
        interval("gae_lambda", low=0.0, high=1.0)
        interval("learning_rate", low=0.0, high=1.0, closed="right")
        interval("clip_range", low=0.0, high=1.0, closed="right")
        interval("ent_coef", low=0.0)
        interval("vf_coef", low=0.0)
        interval("max_grad_norm", low=0.0, closed="neither")
        interval("log_std_init", low=-20.0, high=2.0)
        interval("n_timesteps", kind=int, low=1)
        interval("min_report_steps", kind=int, low=1, high=2**31)
        if self.schedule is not None:
            check_options(self.schedule, "schedule", owner, SCHEDULES)
        check_type(self.stop_at_horizon, "stop_at_horizon", owner, bool, "True or False")
        for name in ("normalize", "use_sde", "ortho_init"):
            value = getattr(self, name)
            if value is not None:
                check_type(value, name, owner, bool, "True, False or None (the zoo's value)")
        if self.batch_size is not None:
            # SB3 asserts batch_size > 1 (advantage normalisation of a single sample is NaN); a
            # minibatch larger than the rollout only means "all of it", so it is refused as a
            # mistake rather than silently truncated.
            rollout = (None if self.n_envs is None or self.n_steps is None
                       else self.n_envs * self.n_steps)
            check_interval(self.batch_size, "batch_size", owner, kind=int, low=2, high=rollout)

    def unsupported_reason(self, task: Task) -> str | None:
        if not isinstance(task, ControlTask):
            return (
                f"not applicable: {type(self).__name__} trains on a gymnasium environment, and "
                f"task {task.name!r} is a {task.kind} task without one"
            )
        gym_id = task.environment.gym_id
        if gym_id not in ZOO:
            return (f"rl-baselines3-zoo has no PPO settings for {gym_id} here (known: "
                    f"{', '.join(sorted(ZOO))})")
        activations = set(task.mlp.hidden_activations)
        if len(activations) > 1 or not activations <= set(_ACTIVATIONS):
            return (f"SB3's MlpPolicy has one hidden activation out of {list(_ACTIVATIONS)}; "
                    f"task {task.name!r} has {list(task.mlp.hidden_activations)}")
        if (task.action_space == "continuous") != is_continuous(task):
            return (f"task {task.name!r} declares {task.action_space} actions; gymnasium's "
                    f"{gym_id}, which SB3 trains on, has the other kind")
        if is_continuous(task):
            space = _action_space(gym_id)
            if not (np.all(space.low == -1.0) and np.all(space.high == 1.0)):
                return (f"the adapter's tanh-mean policy acts in [-1, 1]; {gym_id}'s actions lie "
                        f"in [{space.low.min():g}, {space.high.max():g}]")
        return None

    def resolved(self, task: Task) -> PPOSolver:
        """This configuration with every ``None`` replaced by the zoo's (or SB3's) value for the
        task's environment; validated again as a whole.

        Raises:
            InvalidParameterError: the combination does not hold for this task (a ``batch_size``
                larger than the zoo's rollout, gSDE on discrete actions); the message names the
                option, its range and the value.
            TypeError: ``task`` is not a control task this solver supports.
        """
        reason = self.unsupported_reason(task)
        if reason is not None or not isinstance(task, ControlTask):
            raise TypeError(reason)
        zoo = {**SB3_DEFAULTS, **ZOO[task.environment.gym_id]}
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        filled = {k: zoo[k] if v is None else v for k, v in values.items() if k != "batch_size"}
        rollout = filled["n_envs"] * filled["n_steps"]
        batch = self.batch_size if self.batch_size is not None else min(zoo["batch_size"], rollout)
        if self.batch_size is not None and self.batch_size > rollout:
            raise InvalidParameterError(
                f"The 'batch_size' parameter of {type(self).__name__} must be an int in the range "
                f"[2, {rollout}] on task {task.name!r} (at most one rollout, n_envs * n_steps = "
                f"{filled['n_envs']} * {filled['n_steps']}). Got {self.batch_size!r} instead."
            )
        if self.use_sde and not is_continuous(task):
            raise InvalidParameterError(
                f"The 'use_sde' parameter of {type(self).__name__} must be False or None on task "
                f"{task.name!r}: SB3's gSDE needs continuous actions, and "
                f"{task.environment.gym_id} has discrete ones. Got True instead."
            )
        if not is_continuous(task):
            filled["use_sde"] = False
        return replace(self, **filled, batch_size=batch)

    def iteration_cost(self, task: Task) -> Cost:
        cfg = self._settings(task)
        rollout = cfg["n_envs"] * cfg["n_steps"]
        steps = -(-int(cfg["min_report_steps"]) // rollout) * rollout
        return Cost(steps, cfg["n_epochs"] * steps, exact=True)

    def memory_estimate(self, task: Task) -> int:
        """The default estimate plus SB3's rollout buffer and the value network (about 8 numbers
        per sample besides the observation, and one copy of everything for Adam's moments).

        Resolving the settings here is what makes a bad combination (``batch_size`` larger than
        the zoo's rollout on this task) fail before any run: the suite plans every cell's memory
        first.
        """
        base = super().memory_estimate(task)
        if self.unsupported_reason(task) is not None:
            return base
        cfg = self._settings(task)
        obs = task.model.layer_sizes[0]
        buffer = cfg["n_envs"] * cfg["n_steps"] * (obs + task.model.layer_sizes[-1] + 8)
        return base + FLOAT_BYTES * (buffer + 4 * task.num_params)

    def _settings(self, task: Task) -> dict[str, Any]:
        return self.resolved(task).config()

    def run(self, task: Task, x0: FlatParams, monitor: Monitor,
            rng: np.random.Generator) -> str | None:
        del x0  # SB3 draws its own initial weights (single_start = False)
        if not isinstance(task, ControlTask):
            raise TypeError(self.unsupported_reason(task))
        cfg = self.resolved(task).config()
        seed = int(rng.integers(2**31 - 1))
        model = build_model(cfg, task, seed)
        taken = [0]  # environment steps reported so far

        every = int(cfg["min_report_steps"])

        def report() -> bool:
            steps = model.num_timesteps - taken[0]
            if 0 < steps < every and model.num_timesteps < model.stop_at:
                return False  # not yet a whole iteration (min_report_steps)
            taken[0] = model.num_timesteps
            backward = steps * int(cfg["n_epochs"])
            return monitor.report(export_params(model, task), evaluations=steps,
                                  backward=backward)

        model.report_hook = report
        model.stop_at = int(cfg["n_timesteps"]) if self.stop_at_horizon else _UNBOUNDED
        try:
            model.learn(total_timesteps=_UNBOUNDED, log_interval=None)
        finally:
            model.get_env().close()
        if model.num_timesteps >= model.stop_at and taken[0] == model.num_timesteps:
            return f"zoo training length reached ({cfg['n_timesteps']:,} environment steps)"
        return None


def is_continuous(task: ControlTask) -> bool:
    """Whether gymnasium's environment for the task takes continuous actions (a ``Box``).

    Asked of gymnasium itself, since SB3 trains on that environment and picks its action
    distribution from that space.
    """
    from gymnasium import spaces

    return isinstance(_action_space(task.environment.gym_id), spaces.Box)


@functools.cache
def _action_space(gym_id: str) -> Any:
    import gymnasium

    env = gymnasium.make(gym_id)
    try:
        return env.action_space
    finally:
        env.close()


def build_model(cfg: dict[str, Any], task: ControlTask, seed: int) -> Any:
    """SB3's PPO (the harness-reporting subclass) for a resolved configuration, not yet trained.

    Args:
        cfg: the settings of a configuration from :meth:`PPOSolver.resolved` (its
            ``config()``, no ``None`` left).
        task: the control task (environment id and policy network).
        seed: seeds SB3 (``PPO(seed=...)``) and the environments (``make_vec_env(seed=...)``).
    """
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
    from torch import nn

    venv = make_vec_env(task.environment.gym_id, n_envs=cfg["n_envs"], seed=seed,
                        vec_env_cls=DummyVecEnv)
    if cfg["normalize"]:
        venv = VecNormalize(venv, gamma=cfg["gamma"])  # the zoo passes its gamma (exp_manager)
    hidden = list(task.model.layer_sizes[1:-1])
    activation = task.mlp.hidden_activations[0] if hidden else "tanh"
    policy_kwargs: dict[str, Any] = {
        "net_arch": {"pi": hidden, "vf": hidden},
        "activation_fn": {"tanh": nn.Tanh, "relu": nn.ReLU}[activation],
        "ortho_init": cfg["ortho_init"],
    }
    continuous = is_continuous(task)
    if continuous:
        policy_kwargs["log_std_init"] = cfg["log_std_init"]
    try:
        model = _construct(cfg, task, venv, seed, policy_kwargs)
    except BaseException:
        venv.close()
        raise
    return model


def _construct(cfg: dict[str, Any], task: ControlTask, venv: Any, seed: int,
               policy_kwargs: dict[str, Any]) -> Any:
    from stable_baselines3.common.utils import LinearSchedule

    continuous = is_continuous(task)

    def scheduled(value: float) -> Any:
        return LinearSchedule(value, 0.0, 1.0) if cfg["schedule"] == "linear" else value

    model = harness_ppo_class()(
        tanh_policy_class() if continuous else "MlpPolicy",
        venv,
        learning_rate=scheduled(cfg["learning_rate"]),
        n_steps=cfg["n_steps"],
        batch_size=cfg["batch_size"],
        n_epochs=cfg["n_epochs"],
        gamma=cfg["gamma"],
        gae_lambda=cfg["gae_lambda"],
        clip_range=scheduled(cfg["clip_range"]),
        ent_coef=cfg["ent_coef"],
        vf_coef=cfg["vf_coef"],
        max_grad_norm=cfg["max_grad_norm"],
        use_sde=cfg["use_sde"],
        policy_kwargs=policy_kwargs,
        seed=seed,
        device="cpu",
        verbose=0,
    )
    model.horizon = cfg["n_timesteps"]
    n_out = task.model.layer_sizes[-1]
    space = model.action_space
    width = int(space.shape[0]) if continuous else int(space.n)
    if width != n_out:
        raise InvalidParameterError(
            f"Task {task.name!r}: its policy network has {n_out} outputs, and gymnasium's "
            f"{task.environment.gym_id} has {width} actions."
        )
    return model


def export_params(model: Any, task: ControlTask) -> FlatParams:
    """SB3's policy network as the task's flat vector (``tasks/mlp.py``), observation
    normalisation folded into the first layer.

    torch's ``Linear`` stores ``weight`` as ``(out, in)``; the flat layout holds ``W`` as
    ``(in, out)`` row-major, hence the transposes. The value network is not exported.
    """
    from torch import nn

    policy = model.policy
    head = policy.action_net
    head = head if isinstance(head, nn.Linear) else head[0]
    linears = [m for m in policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)]
    layers = [(layer.weight.detach().cpu().double().numpy().T,
               layer.bias.detach().cpu().double().numpy()) for layer in [*linears, head]]
    env = model.get_env()
    from stable_baselines3.common.vec_env import VecNormalize

    if isinstance(env, VecNormalize) and env.norm_obs:
        stats: Any = env.obs_rms
        mean = np.asarray(stats.mean, dtype=np.float64)
        std = np.sqrt(np.asarray(stats.var, dtype=np.float64) + env.epsilon)
        w, b = layers[0]
        layers[0] = (w / std[:, None], b - (mean / std) @ w)
    flat = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in layers])
    if flat.size != task.num_params:  # a guard on the layout, not user input
        raise InvalidParameterError(
            f"SB3's policy network has {flat.size} parameters; task {task.name!r} "
            f"({task.model.describe()}) has {task.num_params}."
        )
    return flat


@functools.cache
def harness_ppo_class() -> type:
    """SB3's ``PPO``, reporting to the harness before each rollout (see the module docstring).

    Built on first use so that importing the solver registry does not import SB3.
    """
    from stable_baselines3 import PPO

    class HarnessPPO(PPO):
        """``PPO`` whose loop is stopped by the harness between an update and the next rollout,
        with its schedules' progress measured against the zoo's ``n_timesteps``."""

        report_hook: Any = None
        horizon: int = 1
        stop_at: int = 2**62

        def collect_rollouts(self, env: Any, callback: Any, rollout_buffer: Any,
                             n_rollout_steps: int) -> bool:
            # The policy the last update produced (or the initial one), before any step of
            # this rollout: report it; False is SB3's own "stop" for ``learn``.
            if self.report_hook() or self.num_timesteps >= self.stop_at:
                return False
            return bool(super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps))

        def _update_current_progress_remaining(self, num_timesteps: int,
                                               total_timesteps: int) -> None:
            del total_timesteps  # ``learn``'s limit is unbounded; the zoo's budget is not
            self._current_progress_remaining = 1.0 - float(num_timesteps) / float(self.horizon)

    return HarnessPPO


@functools.cache
def tanh_policy_class() -> type:
    """SB3's ``ActorCriticPolicy`` whose Gaussian mean is ``tanh`` of the action head.

    The task's deterministic continuous policy is ``a = tanh(output)``; with ``nn.Tanh`` after
    SB3's linear head, SB3's deterministic action (the mean) is exactly that, and the exported
    head is the linear layer. The optimizer built in ``_build`` already holds the head's
    parameters (``nn.Tanh`` has none).
    """
    from stable_baselines3.common.policies import ActorCriticPolicy
    from torch import nn

    class TanhMeanPolicy(ActorCriticPolicy):
        def _build(self, lr_schedule: Any) -> None:
            super()._build(lr_schedule)
            self.action_net = nn.Sequential(self.action_net, nn.Tanh())

    return TanhMeanPolicy


__all__ = ["SB3_DEFAULTS", "ZOO", "PPOSolver", "build_model", "export_params"]
