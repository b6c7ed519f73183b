"""Control tasks: a policy network scored by episodic return (CartPole-v1, Acrobot-v1,
MountainCar-v0, MountainCarContinuous-v0).

The classic neuroevolution result, that a GA or an evolution strategy matches policy-gradient RL
(Such et al. 2017, https://arxiv.org/abs/1712.06567; Salimans et al. 2017,
https://arxiv.org/abs/1703.03864), lives on control problems, where the objective has no
gradient. These tasks bring that comparison into the benchmark without a special case anywhere
else:

* **Capability, not name.** A :class:`ControlTask` is a :class:`~tasks.base.Task` with
  ``differentiable = False``. Population solvers rank networks by ``Task.scored_losses`` and run
  unchanged; solvers that need a differentiable loss over labelled data report the task as
  unsupported ("not applicable"); policy-gradient solvers use :func:`rollout` directly.
* **One batch for a whole population.** :func:`rollout` steps all ``P`` policies x ``K`` episodes
  in lockstep through one batched NumPy environment, choosing every action with one call of the
  shared population forward (:func:`tasks.mlp.forward_each`). Finished episodes are dropped from
  the batch, so a step costs what is still running.
* **Cost unit.** One environment step of one policy is one evaluation: one forward pass of one
  example, as everywhere else. ``scored_losses`` charges the steps actually taken, so a policy
  that falls after 9 steps costs 9 evaluations, not 500.
* **Episodes.** Every episode starts from the state gymnasium's ``env.reset(seed=s)`` gives for its
  seed ``s``. Three disjoint seed sets, drawn from ``data_seed``: *training* episodes (the loss
  solvers see: minus the mean return over them), *evaluation* episodes (what the harness scores
  each report on, untimed, and the target is checked on: ``evaluate(params, "train")``), and
  *test* episodes (the final held-out score: ``evaluate(params, "test")``).
* **Policy.** On a *discrete* action space the network maps an observation to one logit per
  action. Evaluation is greedy (``argmax``), so a policy is a deterministic function of its
  parameters; a stochastic policy samples from the softmax of the logits (what REINFORCE
  trains). On a *continuous* action space (a box ``[-max_action, max_action]``) the network has
  one identity output per action dimension and the policy is ``a = max_action * tanh(output)``:
  the tanh squash is part of the policy, not of the network, so every population solver's
  vector means a deterministic, in-the-box policy, and the harness judges that policy. A
  stochastic policy (REINFORCE's Gaussian form) samples ``N(a, exp(log_std)^2)`` around it and
  clips the sample to the box before stepping. :attr:`ControlTask.action_space` says which.

Why not gymnasium's own vector environments: ``CartPoleVectorEnv`` draws every sub-environment's
start from one shared generator (so no episode starts where ``reset(seed=s)`` would), resets
finished episodes automatically, and cannot drop them from the batch; Acrobot has none. The
batched steppers below implement gymnasium 1.4's equations with the same floating-point
operations in the same order, and ``tests/tasks/test_control.py`` checks them step for step
against gymnasium's single environments (same seeds, same states, rewards, terminations and
truncations). Continuous actions are handed to the stepper as float32, the dtype of gymnasium's
action box (what an agent that respects the space passes, SB3's included).

Data fields: ``x_train``/``x_test`` hold the first observation of each training/test episode (what
the episodes are, as data), ``y_*`` zero placeholders of the network's output width: there are no
labels, and ``differentiable = False`` keeps solvers that would fit them away.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from tasks._validation import check_interval, check_options, check_params_shape
from tasks.base import Metrics, Split, Target, Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, FloatArray, ModelSpec, forward_each
from tasks.predictor import Predictor, is_predictor

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
#: A batch of actions: indices ``(B,)`` on a discrete action space, ``(B, action_dim)`` floats
#: (any float dtype; the stepper rounds them to float32) on a continuous one.
ActionArray = NDArray[np.int64] | NDArray[np.floating[Any]]
#: ``(new states, rewards, terminated)`` of one batched step.
StepResult = tuple[FloatArray, FloatArray, BoolArray]

#: The values of :attr:`ControlTask.action_space`.
ACTION_SPACES: tuple[str, ...] = ("discrete", "continuous")

#: Seed offsets of the three episode sets inside a data seed's block: disjoint by construction.
_SEED_BLOCK, _EVAL_OFFSET, _TEST_OFFSET, MAX_EPISODES = 100_000, 30_000, 60_000, 30_000


class Environment(ABC):
    """A classic-control environment stepped for a whole batch of episodes at once.

    States are float64 rows ``(B, state_dim)``; observations are what gymnasium returns (float32),
    widened to float64 for the network.
    """

    gym_id: ClassVar[str]
    state_dim: ClassVar[int]
    obs_dim: ClassVar[int]
    #: Whether actions are vectors in a box (``True``) or one of ``n_actions`` choices.
    continuous: ClassVar[bool] = False
    n_actions: ClassVar[int] = 0  # discrete choices (0 for a continuous action space)
    action_dim: ClassVar[int] = 1  # components of a continuous action
    max_action: ClassVar[float] = 1.0  # a continuous action lies in [-max_action, max_action]
    max_steps: ClassVar[int]  # gymnasium's TimeLimit for the registered id
    reward_threshold: ClassVar[float]  # gymnasium's registered reward threshold

    @property
    def n_outputs(self) -> int:
        """Outputs of the policy network: one logit per action, or one per action component."""
        return self.action_dim if self.continuous else self.n_actions

    @abstractmethod
    def initial_state(self, seed: int) -> FloatArray:
        """The state gymnasium's ``reset(seed=seed)`` starts from."""

    def initial_states(self, seeds: Sequence[int]) -> FloatArray:
        """Starting states ``(len(seeds), state_dim)``, one per seed, as gymnasium draws them."""
        return np.array([self.initial_state(s) for s in seeds], dtype=np.float64).reshape(
            len(seeds), self.state_dim
        )

    @abstractmethod
    def observe(self, states: FloatArray) -> FloatArray:
        """Observations ``(B, obs_dim)`` of states ``(B, state_dim)``."""

    @abstractmethod
    def step(self, states: FloatArray, actions: ActionArray) -> StepResult:
        """Advance every episode one step: ``(new states, rewards, terminated)``.

        ``actions`` is ``(B,)`` action indices on a discrete action space, ``(B, action_dim)``
        actions on a continuous one (rounded to float32, the dtype of gymnasium's box).
        """


def _seeded_generator(seed: int) -> np.random.Generator:
    """gymnasium's ``np_random`` for a seed (what ``Env.reset(seed=...)`` installs)."""
    from gymnasium.utils import seeding

    generator, _ = seeding.np_random(seed)
    return generator


class CartPole(Environment):
    """CartPole-v1 (Barto, Sutton & Anderson 1983): push a cart left or right to balance a pole.

    Reward +1 for every step, the failing one included; the episode ends when the pole leans more
    than 12 degrees or the cart leaves [-2.4, 2.4], or after 500 steps. Explicit Euler, tau 0.02 s.
    """

    gym_id = "CartPole-v1"
    state_dim = obs_dim = 4
    n_actions = 2
    max_steps = 500
    reward_threshold = 475.0

    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masspole + masscart
    polemass_length = masspole * length
    theta_threshold = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def initial_state(self, seed: int) -> FloatArray:
        return _seeded_generator(seed).uniform(low=-0.05, high=0.05, size=(4,))

    def observe(self, states: FloatArray) -> FloatArray:
        return states.astype(np.float32).astype(np.float64)

    def step(self, states: FloatArray, actions: ActionArray) -> StepResult:
        x, x_dot, theta, theta_dot = states.T
        force = np.where(actions == 1, self.force_mag, -self.force_mag)
        costheta, sintheta = np.cos(theta), np.sin(theta)
        temp = (force + self.polemass_length * np.square(theta_dot) * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * np.square(costheta) / self.total_mass)
        )
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        new = np.empty_like(states)
        new[:, 0] = x + self.tau * x_dot
        new[:, 1] = x_dot + self.tau * xacc
        new[:, 2] = theta + self.tau * theta_dot
        new[:, 3] = theta_dot + self.tau * thetaacc
        terminated = (
            (new[:, 0] < -self.x_threshold)
            | (new[:, 0] > self.x_threshold)
            | (new[:, 2] < -self.theta_threshold)
            | (new[:, 2] > self.theta_threshold)
        )
        return new, np.ones(len(states)), terminated


class Acrobot(Environment):
    """Acrobot-v1 (Sutton 1996; Sutton & Barto's book dynamics): swing a two-link arm up.

    Torque -1, 0 or +1 on the middle joint; reward -1 per step until the tip rises one link length
    above the pivot (reward 0, episode over), at most 500 steps. Fourth-order Runge-Kutta over
    dt = 0.2 s, angles wrapped to [-pi, pi], velocities clipped to 4 pi and 9 pi.
    """

    gym_id = "Acrobot-v1"
    state_dim = 4
    obs_dim = 6
    n_actions = 3
    max_steps = 500
    reward_threshold = -100.0

    dt = 0.2
    link_length_1 = link_mass_1 = link_mass_2 = link_moi = 1.0
    link_com_pos_1 = link_com_pos_2 = 0.5
    max_vel_1, max_vel_2 = 4 * math.pi, 9 * math.pi
    torques = np.array([-1.0, 0.0, 1.0])

    def initial_state(self, seed: int) -> FloatArray:
        # gymnasium keeps the first state in float32.
        state = _seeded_generator(seed).uniform(low=-0.1, high=0.1, size=(4,)).astype(np.float32)
        return state.astype(np.float64)

    def observe(self, states: FloatArray) -> FloatArray:
        t1, t2 = states[:, 0], states[:, 1]
        obs = np.stack([np.cos(t1), np.sin(t1), np.cos(t2), np.sin(t2), states[:, 2],
                        states[:, 3]], axis=1)
        return obs.astype(np.float32).astype(np.float64)

    def _derivatives(self, s: FloatArray) -> FloatArray:
        """gymnasium's ``_dsdt`` for rows ``[theta1, theta2, dtheta1, dtheta2, torque]``."""
        m1, m2 = self.link_mass_1, self.link_mass_2
        l1, lc1, lc2 = self.link_length_1, self.link_com_pos_1, self.link_com_pos_2
        i1 = i2 = self.link_moi
        g = 9.8
        a, theta1, theta2, dtheta1, dtheta2 = s[:, 4], s[:, 0], s[:, 1], s[:, 2], s[:, 3]
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * np.cos(theta2)) + i1 + i2
        d2 = m2 * (lc2**2 + l1 * lc2 * np.cos(theta2)) + i2
        phi2 = m2 * lc2 * g * np.cos(theta1 + theta2 - math.pi / 2.0)
        phi1 = (
            -m2 * l1 * lc2 * _square(dtheta2) * np.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * np.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * np.cos(theta1 - math.pi / 2)
            + phi2
        )
        ddtheta2 = (
            a + d2 / d1 * phi1 - m2 * l1 * lc2 * _square(dtheta1) * np.sin(theta2) - phi2
        ) / (m2 * lc2**2 + i2 - _square(d2) / d1)
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return np.stack([dtheta1, dtheta2, ddtheta1, ddtheta2, np.zeros_like(a)], axis=1)

    def step(self, states: FloatArray, actions: ActionArray) -> StepResult:
        y0 = np.column_stack([states, self.torques[actions]])
        dt = self.dt
        dt2 = dt / 2.0
        k1 = self._derivatives(y0)
        k2 = self._derivatives(y0 + dt2 * k1)
        k3 = self._derivatives(y0 + dt2 * k2)
        k4 = self._derivatives(y0 + dt * k3)
        new = (y0 + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4))[:, :4]
        for i in (0, 1):
            new[:, i] = _wrap(new[:, i], -math.pi, math.pi)
        new[:, 2] = np.minimum(np.maximum(new[:, 2], -self.max_vel_1), self.max_vel_1)
        new[:, 3] = np.minimum(np.maximum(new[:, 3], -self.max_vel_2), self.max_vel_2)
        terminated = -np.cos(new[:, 0]) - np.cos(new[:, 1] + new[:, 0]) > 1.0
        return new, np.where(terminated, 0.0, -1.0), terminated


def _square(x: FloatArray) -> FloatArray:
    """``x ** 2`` as gymnasium computes it on NumPy scalars: through the C library's ``pow``.

    NumPy's array ``x ** 2`` is ``x * x``, which differs from ``pow(x, 2)`` in the last bit for
    about one value in a thousand; ``float_power`` goes through ``pow`` and agrees. Over a
    chaotic 500-step Acrobot episode one bit is enough to change when the episode ends.
    """
    return np.float_power(x, 2.0)


def _wrap(x: FloatArray, low: float, high: float) -> FloatArray:
    """gymnasium's ``wrap``: add or subtract the period until ``x`` is in [low, high]."""
    diff = high - low
    x = x.copy()
    while np.any(above := x > high):
        x[above] = x[above] - diff
    while np.any(below := x < low):
        x[below] = x[below] + diff
    return x


class MountainCar(Environment):
    """MountainCar-v0 (Moore 1990): drive an underpowered car out of a valley by rocking it.

    Push left, nothing or right; reward -1 per step until the car reaches the flag at x = 0.5
    (episode over), at most 200 steps. The engine alone cannot climb the slope: the car must
    swing back and forth to build up momentum, and until it reaches the flag once every episode
    scores -200, whatever the policy did: the classic exploration failure of policy gradients.
    gymnasium keeps the state in float64 (a tuple of NumPy floats) throughout.
    """

    gym_id = "MountainCar-v0"
    state_dim = obs_dim = 2
    n_actions = 3
    max_steps = 200
    reward_threshold = -110.0

    min_position, max_position, max_speed, goal_position = -1.2, 0.6, 0.07, 0.5
    goal_velocity, force, gravity = 0.0, 0.001, 0.0025

    def initial_state(self, seed: int) -> FloatArray:
        return np.array([_seeded_generator(seed).uniform(low=-0.6, high=-0.4), 0.0])

    def observe(self, states: FloatArray) -> FloatArray:
        return states.astype(np.float32).astype(np.float64)

    def step(self, states: FloatArray, actions: ActionArray) -> StepResult:
        position, velocity = states[:, 0], states[:, 1]
        # ``velocity += (action - 1) * force + math.cos(3 * position) * (-gravity)``; NumPy's
        # float64 cos is the C library's, as math.cos is.
        velocity = velocity + ((actions - 1) * self.force
                               + np.cos(3 * position) * (-self.gravity))
        velocity = np.clip(velocity, -self.max_speed, self.max_speed)
        position = np.clip(position + velocity, self.min_position, self.max_position)
        velocity = np.where((position == self.min_position) & (velocity < 0), 0.0, velocity)
        terminated = (position >= self.goal_position) & (velocity >= self.goal_velocity)
        return np.column_stack([position, velocity]), np.full(len(states), -1.0), terminated


class MountainCarContinuous(Environment):
    """MountainCarContinuous-v0: the mountain car with a continuous engine force in [-1, 1].

    Reward +100 on reaching the flag at x = 0.45 (episode over), minus ``0.1 * a**2`` every
    step for the action given (before gymnasium clips it to the box), at most 999 steps. Doing
    nothing scores 0, so a policy must find the flag before pushing pays.

    gymnasium's arithmetic here mixes precisions, and the stepper reproduces it: the state is
    float64 at reset and float32 after the first step (NumPy 2 then computes ``3 * position``,
    the velocity and position updates and the comparisons with Python constants in float32); a
    float32 action inside the box keeps the force term in float32, while one outside is replaced
    by the Python float -1.0 or 1.0 and its force term is float64. The stepper does the same
    operations on float32 (or float64) arrays, whose promotion rules NumPy 2 shares with its
    scalars. The state's third column says which precision applies: 0 before the first step, 1
    after (observations leave it out).
    """

    gym_id = "MountainCarContinuous-v0"
    state_dim = 3
    obs_dim = 2
    continuous = True
    action_dim = 1
    max_action = 1.0
    max_steps = 999
    reward_threshold = 90.0

    min_action, min_position, max_position, max_speed = -1.0, -1.2, 0.6, 0.07
    goal_position, goal_velocity, power, gravity = 0.45, 0.0, 0.0015, 0.0025

    def initial_state(self, seed: int) -> FloatArray:
        start = _seeded_generator(seed).uniform(low=-0.6, high=-0.4)
        return np.array([start, 0.0, 0.0])

    def observe(self, states: FloatArray) -> FloatArray:
        return states[:, :2].astype(np.float32).astype(np.float64)

    def step(self, states: FloatArray, actions: ActionArray) -> StepResult:
        action = np.asarray(actions, dtype=np.float32).reshape(len(states), self.action_dim)
        fresh = states[:, 2] == 0.0
        new = np.empty_like(states)
        rewards, terminated = np.empty(len(states)), np.empty(len(states), dtype=bool)
        # Episodes in lockstep are all fresh or all stepped; a mixed batch is split.
        for mask, dtype in ((fresh, np.float64), (~fresh, np.float32)):
            if not mask.any():
                continue
            rows = slice(None) if mask.all() else mask  # the common case: no copies
            position, velocity, term = self._advance(
                states[rows, 0].astype(dtype), states[rows, 1].astype(dtype), action[rows, 0]
            )
            new[rows, 0], new[rows, 1] = position.astype(np.float32), velocity.astype(np.float32)
            new[rows, 2] = 1.0
            terminated[rows] = term
            raw = action[rows, 0].astype(np.float64)
            rewards[rows] = np.where(term, 100.0, 0.0) - _square(raw) * 0.1
        return new, rewards, terminated

    def _advance(
        self, position: NDArray[np.floating], velocity: NDArray[np.floating],
        action: NDArray[np.float32],
    ) -> tuple[NDArray[np.floating], NDArray[np.floating], BoolArray]:
        """gymnasium's update on arrays of the state's dtype: the same NumPy operations it does
        on scalars of that dtype, with Python floats as the constants (NumPy 2 promotes both
        alike, NEP 50). Returns ``(position, velocity, terminated)``."""
        # ``force = min(max(action[0], min_action), max_action)``: inside the box the float32
        # action (a float32 product with the power), outside it a Python float (float64).
        outside = (action < self.min_action) | (action > self.max_action)
        slope = self.gravity * np.cos((3 * position).astype(np.float64))  # math.cos: double
        inside_change = action * self.power - slope.astype(np.float32)
        outside_change = np.clip(action, self.min_action, self.max_action).astype(np.float64)
        outside_change = outside_change * self.power - slope
        velocity = velocity + np.where(outside, outside_change.astype(velocity.dtype),
                                       inside_change.astype(velocity.dtype))
        velocity = np.where(velocity > self.max_speed, self.max_speed, velocity)
        velocity = np.where(velocity < -self.max_speed, -self.max_speed, velocity)
        position = position + velocity
        position = np.where(position > self.max_position, self.max_position, position)
        position = np.where(position < self.min_position, self.min_position, position)
        velocity = np.where((position == self.min_position) & (velocity < 0), 0.0, velocity)
        terminated = (position >= self.goal_position) & (velocity >= self.goal_velocity)
        return position, velocity, terminated


ENVIRONMENTS: dict[str, Environment] = {
    env.gym_id: env for env in (CartPole(), Acrobot(), MountainCar(), MountainCarContinuous())
}


@dataclass(frozen=True)
class Transition:
    """One step of a recorded rollout: which episodes were running and what they did."""

    rows: IntArray  # flat episode index ``p * K + k`` of each running episode
    observations: FloatArray
    #: ``(B,)`` action indices, or ``(B, action_dim)`` continuous actions as the policy chose
    #: them (a Gaussian sample before it is clipped to the box: what its likelihood is of).
    actions: IntArray | FloatArray
    rewards: FloatArray


@dataclass(frozen=True)
class Rollout:
    """What :func:`rollout` returns.

    Attributes:
        returns: ``(P, K)`` undiscounted returns.
        lengths: ``(P, K)`` steps each episode lasted.
        transitions: per step, the running episodes' observations, actions and rewards (only
            with ``record=True``).
    """

    returns: FloatArray
    lengths: IntArray
    transitions: list[Transition] = field(default_factory=list)

    @property
    def steps(self) -> int:
        """Environment steps taken, all policies and episodes: the evaluations charged."""
        return int(self.lengths.sum())


def rollout(
    env: Environment,
    spec: ModelSpec,
    population: FloatArray,
    initial_states: FloatArray,
    *,
    rng: np.random.Generator | None = None,
    log_std: FloatArray | None = None,
    record: bool = False,
) -> Rollout:
    """Run every policy of ``population`` on every episode, all in lockstep.

    Args:
        env: the batched environment.
        spec: the policy network (``obs_dim`` inputs; one logit per action, or one output per
            component of a continuous action).
        population: ``(P, n_params)`` policies.
        initial_states: ``(K, state_dim)`` starting states, shared by every policy.
        rng: ``None`` for the deterministic policy (argmax of the logits, or
            ``max_action * tanh(output)``); a generator for the stochastic one: a draw from the
            softmax of the logits, or from the Gaussian ``N(max_action * tanh(output),
            exp(log_std)^2)``, clipped to the box when stepped.
        log_std: ``(action_dim,)`` log standard deviations of the Gaussian policy; needed with
            ``rng`` on a continuous action space, refused on a discrete one.
        record: keep every step's observations, actions and rewards (for policy gradients).

    Raises:
        InvalidParameterError: ``log_std`` is missing for a stochastic continuous policy, given
            for a discrete one, or not ``(action_dim,)``.
    """
    episodes = initial_states.shape[0]

    def policy_outputs(running: IntArray, obs: FloatArray) -> FloatArray:
        return forward_each(spec, population[running // episodes], obs[:, None, :],
                            logits=True)[:, 0, :]

    return _episodes(env, policy_outputs, population.shape[0], initial_states, rng=rng,
                     log_std=log_std, record=record)


def rollout_predictors(
    env: Environment,
    predictors: Sequence[Predictor],
    initial_states: FloatArray,
    *,
    rng: np.random.Generator | None = None,
    log_std: FloatArray | None = None,
    record: bool = False,
) -> Rollout:
    """:func:`rollout` for policies that are predictors (``tasks/predictor.py``).

    The same lockstep episodes, actions and accounting; only the policy outputs differ: each
    predictor's logits for the observations of its own running episodes, one call per predictor
    per step (predictors of different topologies share no batched forward). Cost: a Python call
    per predictor and step, so a population of ``P`` predictors over episodes of ``T`` steps
    makes up to ``P * T`` calls where :func:`rollout` makes ``T``.

    Args:
        env: the batched environment.
        predictors: ``P`` policies: logits for ``obs_dim`` inputs, one per action (or per
            component of a continuous action).
        initial_states: ``(K, state_dim)`` starting states, shared by every policy.
        rng, log_std, record: as for :func:`rollout`.
    """
    episodes, pop_size = initial_states.shape[0], len(predictors)

    def policy_outputs(running: IntArray, obs: FloatArray) -> FloatArray:
        members = running // episodes
        # ``running`` stays in increasing order (it only ever loses entries), so each
        # predictor's running episodes are one contiguous block of rows.
        bounds = np.searchsorted(members, np.arange(pop_size + 1)).tolist()
        out = np.empty((len(running), env.n_outputs))
        for p, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            if hi > lo:
                out[lo:hi] = predictors[p].logits(obs[lo:hi])
        return out

    return _episodes(env, policy_outputs, pop_size, initial_states, rng=rng, log_std=log_std,
                     record=record)


def _episodes(
    env: Environment,
    policy_outputs: Callable[[IntArray, FloatArray], FloatArray],
    pop_size: int,
    initial_states: FloatArray,
    *,
    rng: np.random.Generator | None,
    log_std: FloatArray | None,
    record: bool,
) -> Rollout:
    """The lockstep episodes of :func:`rollout`: ``policy_outputs(running, obs)`` gives the
    network outputs for the running episodes (flat index ``p * K + k``) and their
    observations."""
    std = _gaussian_std(env, rng, log_std)
    episodes = initial_states.shape[0]
    states = np.tile(initial_states, (pop_size, 1))
    running = np.arange(pop_size * episodes)
    returns = np.zeros(pop_size * episodes)
    lengths = np.zeros(pop_size * episodes, dtype=np.int64)
    transitions: list[Transition] = []
    for _ in range(env.max_steps):
        if running.size == 0:
            break
        obs = env.observe(states)
        outputs = policy_outputs(running, obs)
        actions: IntArray | FloatArray
        stepped: IntArray | FloatArray
        if env.continuous:
            actions = deterministic_actions(env, outputs)
            if rng is not None:
                actions = actions + std * rng.standard_normal(actions.shape)
                stepped = np.clip(actions, -env.max_action, env.max_action)
            else:
                stepped = actions
        else:
            actions = stepped = _choose(outputs, rng)
        states, rewards, terminated = env.step(states, stepped)
        returns[running] += rewards
        lengths[running] += 1
        if record:
            transitions.append(Transition(running, obs, actions, rewards))
        if terminated.any():
            keep = ~terminated
            states, running = states[keep], running[keep]
    return Rollout(returns.reshape(pop_size, episodes), lengths.reshape(pop_size, episodes),
                   transitions)


def deterministic_actions(env: Environment, outputs: FloatArray) -> FloatArray:
    """The continuous policy's action for network outputs: ``max_action * tanh(output)``.

    The squash keeps every parameter vector a policy inside the box (no clipping that would
    flatten the loss for population solvers), and it is the mean of REINFORCE's Gaussian.
    """
    return env.max_action * np.tanh(outputs)


def _gaussian_std(
    env: Environment, rng: np.random.Generator | None, log_std: FloatArray | None
) -> FloatArray:
    """``exp(log_std)`` checked against the action space, or an empty array when unused."""
    owner = "rollout"
    if not env.continuous or rng is None:
        if log_std is not None:
            raise InvalidParameterError(
                f"The 'log_std' parameter of {owner} applies to a stochastic policy on a "
                f"continuous action space; {env.gym_id} "
                f"{'is discrete' if not env.continuous else 'was given no rng'}. Got "
                f"{np.asarray(log_std).tolist()!r} instead of None."
            )
        return np.zeros(0)
    if log_std is None:
        raise InvalidParameterError(
            f"The 'log_std' parameter of {owner} must be given ({env.action_dim} values) for a "
            f"stochastic policy on {env.gym_id}'s continuous action space. Got None instead."
        )
    values = np.asarray(log_std, dtype=np.float64)
    if values.shape != (env.action_dim,) or not np.all(np.isfinite(values)):
        raise InvalidParameterError(
            f"The 'log_std' parameter of {owner} must be {env.action_dim} finite floats for "
            f"{env.gym_id}. Got {values.tolist()!r} instead."
        )
    return np.exp(values)


def _choose(logits: FloatArray, rng: np.random.Generator | None) -> IntArray:
    if rng is None:
        return np.argmax(logits, axis=1)
    return sample_actions(softmax(logits), rng)


def softmax(logits: FloatArray) -> FloatArray:
    """Row-wise softmax, stable."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def sample_actions(probabilities: FloatArray, rng: np.random.Generator) -> IntArray:
    """One categorical draw per row (inverse CDF of one uniform each)."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities))[:, None] * cdf[:, -1:]
    return np.minimum((cdf <= u).sum(axis=1), probabilities.shape[1] - 1)


@dataclass(frozen=True, kw_only=True, eq=False)
class ControlTask(Task):
    """A policy-search task: minimise minus the mean return over fixed training episodes.

    Attributes (on top of :class:`~tasks.base.Task`'s):
        environment: the batched environment.
        train_states, eval_states, test_states: starting states of the training, evaluation and
            test episodes (disjoint seed sets).
    """

    differentiable: ClassVar[bool] = False
    #: Episodes end when they end: a solver's declared iteration cost is an upper bound (every
    #: episode at its time limit). The harness lets an iteration run while budget is left and
    #: discards one that passes it (``benchmarks/harness.py``), rather than stopping a run
    #: whenever the bound would not fit: with the bound, OpenAI-ES on CartPole (500k steps an
    #: iteration at worst, 9k in fact) got one generation of a 500k budget.
    exact_costs: ClassVar[bool] = False

    environment: Environment
    train_states: FloatArray
    eval_states: FloatArray
    test_states: FloatArray

    def __post_init__(self) -> None:
        owner = f"task {self.name!r}"
        check_options(self.loss, "loss", owner, ("negative_return",))
        check_options(self.kind, "kind", owner, ("control",))
        env = self.environment
        n_in, n_out = self.model.layer_sizes[0], self.model.layer_sizes[-1]
        if (n_in, n_out) != (env.obs_dim, env.n_outputs):
            outputs = (f"{env.n_outputs} action outputs (squashed by tanh)" if env.continuous
                       else f"{env.n_actions} action logits")
            raise InvalidParameterError(
                f"Task {self.name!r}: the policy network {self.model.describe()} must map "
                f"{env.obs_dim} observations to {outputs}."
            )

    @property
    def action_space(self) -> str:
        """``"discrete"`` (one logit per action, greedy argmax) or ``"continuous"`` (one output
        per action component, ``max_action * tanh``): what a solver's policy form follows."""
        return "continuous" if self.environment.continuous else "discrete"

    @property
    def n_train(self) -> int:
        """Most evaluations (environment steps) scoring one policy on the training episodes."""
        return len(self.train_states) * self.environment.max_steps

    def _states(self, which: str) -> FloatArray:
        return {"train": self.train_states, "eval": self.eval_states,
                "test": self.test_states}[which]

    def returns(self, population: FloatArray, episodes: str = "train") -> Rollout:
        """Greedy rollouts of a population on one episode set (``train``, ``eval``, ``test``)."""
        return rollout(self.environment, self.mlp, population, self._states(episodes))

    def losses(
        self, population: FloatArray, split: Split = "train", *, dtype: str = "float64"
    ) -> FloatArray:
        """Minus the mean return of each policy over the training (or test) episodes.

        ``dtype`` is accepted for the common signature and ignored: episodes always step in
        float64, as gymnasium's own environments do.

        Raises:
            InvalidParameterError: ``population`` is not ``(P, num_params)``.
        """
        del dtype
        self._check_population(population, "losses")
        return -self.returns(population, split).returns.mean(axis=1)

    def evaluator(self, split: Split = "train") -> Callable[[FlatParams | Predictor], Metrics]:
        """The harness's per-report evaluation: :meth:`evaluate` itself (episodes in one batch;
        the supervised :class:`~tasks.base.Evaluator`'s set-up does not apply)."""
        def evaluate(params: FlatParams | Predictor) -> Metrics:
            return self._evaluate(params, split, "evaluator")
        return evaluate

    def batch_evaluator(self, split: Split = "train") -> Callable[[FloatArray], list[Metrics]]:
        """:meth:`evaluate` row by row: each policy's episodes are one batch already."""
        def each(population: FloatArray) -> list[Metrics]:
            self._check_population(population, "batch_evaluator")
            return [self._score(params, split) for params in population]
        return each

    def scored_losses(self, population: FloatArray) -> tuple[FloatArray, int]:
        """Training losses and the environment steps they took.

        Raises:
            InvalidParameterError: ``population`` is not ``(P, num_params)``.
        """
        self._check_population(population, "scored_losses")
        result = self.returns(population, "train")
        return -result.returns.mean(axis=1), result.steps

    def scored_predictor_losses(self, predictors: Sequence[Predictor]) -> tuple[FloatArray, int]:
        """:meth:`scored_losses` for predictors: minus each one's mean return over the training
        episodes (:func:`rollout_predictors`), and the environment steps they took."""
        result = rollout_predictors(self.environment, predictors, self.train_states)
        return -result.returns.mean(axis=1), result.steps

    def evaluate(self, params: FlatParams | Predictor, split: Split = "train") -> Metrics:
        """Mean return of one policy on the evaluation episodes (``train``, the target's) or the
        held-out test episodes (``test``), greedy, in one batch.

        ``mse`` is NaN: a return has no squared error (kept so every trace row has the field).
        A predictor (``tasks/predictor.py``) is judged by :meth:`evaluate_predictor`.

        Raises:
            InvalidParameterError: ``params`` is not a vector of :attr:`num_params` values, or
                ``split`` is ``val`` (control tasks have no validation episodes).
        """
        return self._evaluate(params, split, "evaluate")

    def evaluate_predictor(self, predictor: Predictor, split: Split = "train") -> Metrics:
        """:meth:`evaluate` of a policy that is a predictor: the same episodes and metrics, its
        actions from its own logits (:func:`rollout_predictors`)."""
        if split == "val":
            raise InvalidParameterError(f"Task {self.name!r} has no validation split.")
        states = self._states("eval" if split == "train" else "test")
        return _return_metrics(rollout_predictors(self.environment, [predictor], states))

    def _evaluate(self, params: FlatParams | Predictor, split: Split, method: str) -> Metrics:
        """:meth:`evaluate` for a vector or a predictor (told apart only when the vector check
        would fail, so a vector's path is the one it always was)."""
        if getattr(params, "shape", None) != (self.model.num_params,) and is_predictor(params):
            return self.evaluate_predictor(params, split)  # type: ignore[arg-type]
        self._check_vector(params, method)  # type: ignore[arg-type]
        return self._score(params, split)  # type: ignore[arg-type]

    def _check_vector(self, params: FlatParams, method: str) -> None:
        """The supervised tasks' check (``Task.evaluate``): without it the policy network reads
        its slices of a vector that is too long and ignores the rest, and one too short fails
        in a reshape that names no parameter."""
        if getattr(params, "shape", None) != (self.model.num_params,):
            check_params_shape(params, self.model.num_params, "params", self._owner(method))

    def _check_population(self, population: FloatArray, method: str) -> None:
        """:meth:`_check_vector` for a population ``(P, num_params)`` (``Task.losses``'s check)."""
        shape: tuple[int, ...] = getattr(population, "shape", ())
        if len(shape) != 2 or shape[1] != self.model.num_params:
            check_params_shape(population, self.model.num_params, "population",
                               self._owner(method), population=True)

    def _score(self, params: FlatParams, split: Split) -> Metrics:
        """:meth:`evaluate` of a vector already checked."""
        if split == "val":
            raise InvalidParameterError(f"Task {self.name!r} has no validation split.")
        result = self.returns(params[None, :], "eval" if split == "train" else "test")
        return _return_metrics(result)


def _return_metrics(result: Rollout) -> Metrics:
    """A control task's metrics of one policy's episodes (:meth:`ControlTask.evaluate`)."""
    mean = float(result.returns.mean())
    return {
        "return": mean,
        "loss": -mean,
        "mse": math.nan,
        "min_return": float(result.returns.min()),
        "mean_length": float(result.lengths.mean()),
    }


def make_control_task(
    name: str,
    env: Environment,
    *,
    hidden: int,
    train_episodes: int,
    eval_episodes: int,
    test_episodes: int,
    data_seed: int,
    target: float | None,
    options: Mapping[str, Any],
) -> ControlTask:
    """Build a control task: episode sets, a one-hidden-layer tanh policy, a return target.

    Args:
        name: the registry key.
        env: the batched environment.
        hidden: tanh units of the default policy network (its output layer is identity: logits,
            or the pre-squash action on a continuous action space).
        train_episodes, eval_episodes, test_episodes: sizes of the three disjoint episode sets.
        data_seed: selects the block of episode seeds (``100000 * data_seed`` onwards).
        target: the mean evaluation return to reach, ``None`` for gymnasium's threshold.
        options: the knob values, recorded with every run.

    Raises:
        InvalidParameterError: a knob is out of range; the message names it.
    """
    owner = f"task {name!r}"
    for knob, value, low in (("train_episodes", train_episodes, 1),
                             ("eval_episodes", eval_episodes, 1),
                             ("test_episodes", test_episodes, 1)):
        check_interval(value, knob, owner, kind=int, low=low, high=MAX_EPISODES - 1)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0, high=20_000)
    threshold = env.reward_threshold if target is None else target
    check_interval(threshold, "target", owner)
    base = _SEED_BLOCK * data_seed
    train = env.initial_states(range(base, base + train_episodes))
    evaluation = env.initial_states(range(base + _EVAL_OFFSET, base + _EVAL_OFFSET + eval_episodes))
    test = env.initial_states(range(base + _TEST_OFFSET, base + _TEST_OFFSET + test_episodes))
    model = ModelSpec.build(env.obs_dim, (hidden,), env.n_outputs, hidden_activation="tanh",
                            output_activation="identity", init="glorot")
    policy = (f"deterministic policy {env.max_action:g} * tanh({model.describe()})"
              if env.continuous else f"greedy policy {model.describe()}")
    x_train, x_test = env.observe(train), env.observe(test)
    return ControlTask(
        name=name,
        family="control",
        kind="control",
        x_train=x_train,
        y_train=np.zeros((len(x_train), env.n_outputs)),
        x_test=x_test,
        y_test=np.zeros((len(x_test), env.n_outputs)),
        model=model,
        loss="negative_return",
        target=Target(min_return=threshold),
        options=dict(options),
        description=(
            f"gymnasium {env.gym_id}, {policy}; loss: minus the mean "
            f"return over {train_episodes} fixed training episodes; target: mean return >= "
            f"{threshold:g} over {eval_episodes} evaluation episodes (gymnasium's reward "
            f"threshold is {env.reward_threshold:g}); one evaluation = one environment step."
        ),
        environment=env,
        train_states=train,
        eval_states=evaluation,
        test_states=test,
    )


def make_cartpole(
    *,
    train_episodes: int = 10,
    eval_episodes: int = 100,
    test_episodes: int = 100,
    data_seed: int = 0,
    target: float | None = None,
) -> ControlTask:
    """CartPole-v1: balance a pole for 500 steps (4-16 tanh-2 greedy policy).

    Args:
        train_episodes: fixed episodes in the training loss, in [1, 29999]. Default 10, as in
            the batch of 50 policies x 10 episodes the issue sizes the stepper for.
        eval_episodes: episodes the target is checked on, in [1, 29999]. Default 100: gymnasium
            calls CartPole-v1 solved at a mean of 475 over 100 consecutive episodes.
        test_episodes: held-out episodes for the final score, in [1, 29999].
        data_seed: which block of episode seeds, in [0, 20000].
        target: mean evaluation return to reach; ``None`` means gymnasium's threshold, 475.
    """
    return make_control_task(
        "cartpole", ENVIRONMENTS["CartPole-v1"], hidden=16, train_episodes=train_episodes,
        eval_episodes=eval_episodes, test_episodes=test_episodes, data_seed=data_seed,
        target=target, options=_options(locals()),
    )


def make_acrobot(
    *,
    train_episodes: int = 10,
    eval_episodes: int = 100,
    test_episodes: int = 100,
    data_seed: int = 0,
    target: float | None = None,
) -> ControlTask:
    """Acrobot-v1: swing the arm's tip above the bar fast (6-32 tanh-3 greedy policy).

    Args:
        train_episodes: fixed episodes in the training loss, in [1, 29999].
        eval_episodes: episodes the target is checked on, in [1, 29999]. Default 100.
        test_episodes: held-out episodes for the final score, in [1, 29999].
        data_seed: which block of episode seeds, in [0, 20000].
        target: mean evaluation return to reach; ``None`` means gymnasium's threshold, -100.
    """
    return make_control_task(
        "acrobot", ENVIRONMENTS["Acrobot-v1"], hidden=32, train_episodes=train_episodes,
        eval_episodes=eval_episodes, test_episodes=test_episodes, data_seed=data_seed,
        target=target, options=_options(locals()),
    )


def make_mountaincar(
    *,
    train_episodes: int = 10,
    eval_episodes: int = 100,
    test_episodes: int = 100,
    data_seed: int = 0,
    target: float | None = None,
) -> ControlTask:
    """MountainCar-v0: rock the car up to the flag within 200 steps (2-16 tanh-3 greedy policy).

    The reward is sparse: -1 every step, so every policy that never reaches the flag scores
    exactly -200 and the loss is flat around it; a solver must explore to find any signal.

    Args:
        train_episodes: fixed episodes in the training loss, in [1, 29999].
        eval_episodes: episodes the target is checked on, in [1, 29999]. Default 100: gymnasium
            calls MountainCar-v0 solved at a mean of -110 over 100 consecutive episodes.
        test_episodes: held-out episodes for the final score, in [1, 29999].
        data_seed: which block of episode seeds, in [0, 20000].
        target: mean evaluation return to reach; ``None`` means gymnasium's threshold, -110.
    """
    return make_control_task(
        "mountaincar", ENVIRONMENTS["MountainCar-v0"], hidden=16,
        train_episodes=train_episodes, eval_episodes=eval_episodes,
        test_episodes=test_episodes, data_seed=data_seed, target=target,
        options=_options(locals()),
    )


def make_mountaincar_continuous(
    *,
    train_episodes: int = 10,
    eval_episodes: int = 100,
    test_episodes: int = 100,
    data_seed: int = 0,
    target: float | None = None,
) -> ControlTask:
    """MountainCarContinuous-v0: reach the flag with little engine force (2-16 tanh-1 policy,
    action ``tanh`` of the output).

    Reaching the flag pays +100 and pushing costs ``0.1 * a**2`` a step, so standing still (0)
    is a local optimum that a policy must leave to find the flag.

    Args:
        train_episodes: fixed episodes in the training loss, in [1, 29999].
        eval_episodes: episodes the target is checked on, in [1, 29999]. Default 100: gymnasium
            calls MountainCarContinuous-v0 solved at a mean of 90 over 100 consecutive episodes.
        test_episodes: held-out episodes for the final score, in [1, 29999].
        data_seed: which block of episode seeds, in [0, 20000].
        target: mean evaluation return to reach; ``None`` means gymnasium's threshold, 90.
    """
    return make_control_task(
        "mountaincar_continuous", ENVIRONMENTS["MountainCarContinuous-v0"], hidden=16,
        train_episodes=train_episodes, eval_episodes=eval_episodes,
        test_episodes=test_episodes, data_seed=data_seed, target=target,
        options=_options(locals()),
    )


def _options(knobs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in knobs.items() if k in (
        "train_episodes", "eval_episodes", "test_episodes", "data_seed", "target")}


__all__ = ["ACTION_SPACES", "ENVIRONMENTS", "Acrobot", "CartPole", "ControlTask", "Environment",
           "MountainCar", "MountainCarContinuous", "Rollout", "deterministic_actions",
           "make_acrobot", "make_cartpole", "make_mountaincar", "make_mountaincar_continuous",
           "rollout", "rollout_predictors"]
