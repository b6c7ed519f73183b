"""REINFORCE: the policy-gradient baseline for the control tasks, on the same policy network.

The policy's form follows the task's action space (``ControlTask.action_space``):

* **discrete**: a categorical policy, each action drawn from the softmax of the network's logits;
* **continuous**: a Gaussian policy, each action drawn from ``N(mu, sigma^2)`` per component,
  with mean ``mu = max_action * tanh(output)`` (the task's own deterministic policy) and
  ``sigma = exp(log_std)``, one state-independent log-std per action component, fixed or
  learned (``log_std_init``, ``learn_log_std``), as in stable-baselines3's Gaussian policies.
  A sample is clipped to the action box when it is stepped; its likelihood is that of the
  unclipped sample (SB3 does the same), so the gradient is the Gaussian's.

One iteration rolls the current policy out on the task's training episodes (all of them in one
batch, through the same batched environment the evolution solvers are scored with), then takes
one Adam step along

    grad = - 1/K sum_episodes sum_t grad log pi(a_t | s_t) * A_t,

where ``A_t`` is the discounted return from step ``t`` on (reward to go), minus a baseline (the
batch mean) and divided by the batch's standard deviation. The mean baseline leaves the gradient
unbiased and lowers its variance; standardising fixes the step's scale whatever the rewards' units
(CartPole's +1 and Acrobot's -1 per step).

with ``log pi`` the categorical log-probability or the Gaussian log-density

    log pi(a | s) = sum_i [ -(a_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i - log(2 pi) / 2 ],

differentiated by torch's autograd through ``mu`` (the network and the tanh) and, when learned,
``log sigma``.

The harness scores the *deterministic* policy (argmax of the logits, or the Gaussian's mean
``max_action * tanh(output)``) on the evaluation episodes, as for every other solver, so
REINFORCE is judged on the same deterministic policy class. The log-std is not part of the flat
parameter vector the solver reports: it only shapes the exploration during training, and the
policy the harness judges has none.

Cost: one environment step of the policy is one evaluation (its forward pass), and the update is
one backward pass per step taken; the forward is recomputed in torch for the update, an
implementation detail not charged (a framework that kept the rollout's activations would not pay
it).

References: Williams, "Simple statistical gradient-following algorithms for connectionist
reinforcement learning", Machine Learning 8, 1992, https://doi.org/10.1007/BF00992696; Sutton &
Barto, "Reinforcement Learning: An Introduction", 2nd ed., 2018, section 13.4 (REINFORCE with
baseline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from solvers._torch import to_numpy, torch_forward
from solvers.base import Cost, Monitor, Solver
from solvers.space import LogUniform, SearchSpace, Uniform
from tasks._validation import check_interval, check_options, check_type
from tasks.base import Task
from tasks.control import ControlTask, Rollout, rollout
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, FloatArray

BASELINES: tuple[str, ...] = ("mean", "none")
#: ``auto`` follows the task's action space; the other two name the form they require.
POLICIES: tuple[str, ...] = ("auto", "categorical", "gaussian")
#: The policy form each action space takes (``ControlTask.action_space`` -> form).
POLICY_FOR: dict[str, str] = {"discrete": "categorical", "continuous": "gaussian"}
#: Widest log-std accepted: exp(5) is 148 box widths, already uniform noise over the box.
MAX_LOG_STD = 5.0


def gaussian_log_likelihood(
    mean: torch.Tensor, log_std: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """``log N(actions; mean, exp(log_std)^2)`` summed over action components, one per row.

    Args:
        mean: ``(B, action_dim)`` means.
        log_std: ``(action_dim,)`` log standard deviations (shared by every row).
        actions: ``(B, action_dim)`` sampled actions (before clipping to the box).
    """
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z * z - log_std - 0.5 * math.log(2.0 * math.pi)).sum(dim=-1)


def rewards_to_go(result: Rollout, gamma: float) -> tuple[FloatArray, list[FloatArray]]:
    """Discounted return from each step on, per step of a recorded rollout of one policy.

    Returns:
        The ``(K, T)`` matrix ``G`` (zero after an episode ended) and, for each recorded step
        ``t``, ``G[rows_t, t]``: the return to go of the episodes that were running.
    """
    steps = len(result.transitions)
    episodes = result.returns.size
    rewards = np.zeros((episodes, steps + 1))
    for t, tr in enumerate(result.transitions):
        rewards[tr.rows, t] = tr.rewards
    to_go = np.zeros_like(rewards)
    for t in range(steps - 1, -1, -1):
        to_go[:, t] = rewards[:, t] + gamma * to_go[:, t + 1]
    per_step = [to_go[tr.rows, t] for t, tr in enumerate(result.transitions)]
    return to_go[:, :steps], per_step


@dataclass(frozen=True, kw_only=True)
class ReinforceSolver(Solver):
    """REINFORCE with a mean baseline and Adam, one batch of the task's training episodes per step.

    A categorical policy on a discrete action space, a Gaussian one on a continuous action space
    (see the module docstring).

    Iteration: one batch of episodes (the task's ``train_episodes``, sampled actions) and one
    Adam step.
    Evaluations: the environment steps taken (one forward each), and as many backward passes.

    Defaults follow PyTorch's own REINFORCE example (``pytorch/examples``,
    ``reinforcement_learning/reinforce.py``): Adam with learning rate 1e-2, discount 0.99,
    returns standardised.

    Attributes:
        learning_rate: Adam's step size, in (0, inf). Default 0.01 (PyTorch's example).
        gamma: discount of the returns to go, in [0, 1]. Default 0.99 (PyTorch's example).
        baseline: ``"mean"`` subtracts the batch mean of the returns to go; ``"none"`` keeps the
            raw returns (plain REINFORCE).
        standardize: divide the advantages by their batch standard deviation. Default ``True``
            (PyTorch's example).
        policy: ``"auto"`` (default) takes the form of the task's action space; ``"categorical"``
            or ``"gaussian"`` requires that form, and a task of the other action space is
            refused before any run (exit 2 on the command line), never recorded.
        log_std_init: the Gaussian policy's starting log standard deviation, the same for every
            action component, in [-10, 5]. Default 0.0 (standard deviation 1, the half-width of
            a [-1, 1] box, so the first episodes explore all of it): stable-baselines3's default
            ``log_std_init``. Unused on a discrete action space.
        learn_log_std: learn the log-std with the network (Adam, same learning rate), as SB3's
            Gaussian policies do; ``False`` keeps it at ``log_std_init``. Default ``True``.
            Unused on a discrete action space. Either way the log-std stays outside the flat
            vector the harness evaluates: it judges the deterministic (mean) policy.
    """

    name: ClassVar[str] = "reinforce"
    paradigm: ClassVar[str] = "gradients"
    evaluations: ClassVar[str] = (
        "The environment steps taken (one forward each), and as many backward passes."
    )
    iteration: ClassVar[str] = "one batch of training episodes (sampled actions), one Adam step"
    search_space: ClassVar[SearchSpace] = {
        "learning_rate": LogUniform(1e-4, 0.1),
        "gamma": Uniform(0.9, 1.0),
    }
    # ``log_std_init`` only matters on a continuous action space, so the tuning study searches
    # it there only (:meth:`search_space_for`). Its range runs from a little above SB3's default
    # (0, std 1: the box's half-width) down to std 0.14. (rl-zoo's PPO on MountainCarContinuous
    # sets -3.29, but for gSDE's state-dependent noise, not a plain Gaussian's std.)
    conditional_space: ClassVar[SearchSpace] = {"log_std_init": Uniform(-2.0, 0.5)}
    conditional_where: ClassVar[dict[str, str]] = {"log_std_init": "on a continuous action space"}

    @classmethod
    def search_space_for(cls, task: Task) -> SearchSpace:
        """The learning rate and discount everywhere; the Gaussian's starting log-std on a
        continuous action space, where it acts."""
        if getattr(task, "action_space", None) == "continuous":
            return {**cls.search_space, **cls.conditional_space}
        return cls.search_space

    stochastic: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = False

    learning_rate: float = 0.01
    gamma: float = 0.99
    baseline: str = "mean"
    standardize: bool = True
    policy: str = "auto"
    log_std_init: float = 0.0
    learn_log_std: bool = True

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.gamma, "gamma", owner, low=0.0, high=1.0)
        check_options(self.baseline, "baseline", owner, BASELINES)
        check_type(self.standardize, "standardize", owner, bool, "a bool")
        check_options(self.policy, "policy", owner, POLICIES)
        check_interval(self.log_std_init, "log_std_init", owner, low=-10.0, high=MAX_LOG_STD)
        check_type(self.learn_log_std, "learn_log_std", owner, bool, "a bool")

    def unsupported_reason(self, task: Task) -> str | None:
        """``not applicable`` for a task without an environment (recorded as unsupported).

        Raises:
            InvalidParameterError: ``policy`` names the form of the other action space: a bad
                configuration, refused before any run (the planner calls this for every cell
                first), not a task the solver cannot do.
        """
        if not isinstance(task, ControlTask):
            return (
                f"not applicable: {type(self).__name__} learns a policy from sampled episodes, "
                f"and task {task.name!r} is a {task.kind} task without an environment"
            )
        self.policy_form(task)
        return None

    def policy_form(self, task: ControlTask) -> str:
        """``"categorical"`` or ``"gaussian"``: the form this configuration uses on ``task``.

        Raises:
            InvalidParameterError: ``policy`` requires the form of the other action space.
        """
        form = POLICY_FOR[task.action_space]
        if self.policy not in ("auto", form):
            raise InvalidParameterError(
                f"The 'policy' parameter of {type(self).__name__} must be 'auto' or {form!r} "
                f"for task {task.name!r}, whose action space is {task.action_space} "
                f"({task.environment.gym_id}). Got {self.policy!r} instead."
            )
        return form

    def log_likelihood(
        self,
        task: ControlTask,
        theta: torch.Tensor,
        log_std: torch.Tensor,
        observations: torch.Tensor,
        actions: torch.Tensor,
    ) -> torch.Tensor:
        """``log pi(a | s)`` of each recorded step under the policy ``theta`` (and ``log_std``,
        read only by the Gaussian form), differentiable in both."""
        outputs = torch_forward(task.model, theta, observations)
        if self.policy_form(task) == "categorical":
            log_probs = torch.log_softmax(outputs, dim=-1)
            return log_probs.gather(1, actions[:, None])[:, 0]
        mean = task.environment.max_action * torch.tanh(outputs)
        return gaussian_log_likelihood(mean, log_std, actions)

    def surrogate_loss(
        self,
        task: ControlTask,
        theta: torch.Tensor,
        log_std: torch.Tensor,
        result: Rollout,
    ) -> torch.Tensor:
        """``- 1/K sum_t log pi(a_t | s_t) * A_t`` over a recorded rollout of one policy: its
        gradient is REINFORCE's estimate of minus the policy gradient."""
        _, per_step = rewards_to_go(result, self.gamma)
        advantage = torch.from_numpy(np.concatenate(self.advantages(per_step)))
        obs = torch.from_numpy(np.concatenate([tr.observations for tr in result.transitions]))
        actions = torch.from_numpy(np.concatenate([tr.actions for tr in result.transitions]))
        chosen = self.log_likelihood(task, theta, log_std, obs, actions)
        return -(chosen * advantage).sum() / result.returns.size

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(task.n_train, task.n_train)

    def advantages(self, per_step: list[FloatArray]) -> list[FloatArray]:
        """Returns to go, minus the baseline, standardised if asked."""
        flat = np.concatenate(per_step)
        shift = flat.mean() if self.baseline == "mean" else 0.0
        scale = flat.std() + 1e-8 if self.standardize else 1.0
        return [(g - shift) / scale for g in per_step]

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        if not isinstance(task, ControlTask):
            raise TypeError(self.unsupported_reason(task))
        spec, env, starts = task.mlp, task.environment, task.train_states
        gaussian = self.policy_form(task) == "gaussian"
        theta = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        learned = gaussian and self.learn_log_std
        log_std = torch.full((env.action_dim,), float(self.log_std_init), dtype=torch.float64,
                             requires_grad=learned)
        optimizer = torch.optim.Adam([theta, log_std] if learned else [theta],
                                     lr=self.learning_rate)
        if monitor.report(to_numpy(theta), evaluations=0):
            return
        while True:
            params = to_numpy(theta)
            result = rollout(env, spec, params[None, :], starts, rng=rng, record=True,
                             log_std=log_std.detach().numpy().copy() if gaussian else None)
            optimizer.zero_grad(set_to_none=True)
            loss = self.surrogate_loss(task, theta, log_std, result)
            loss.backward()
            optimizer.step()
            steps = result.steps
            if monitor.report(to_numpy(theta), evaluations=steps, backward=steps):
                return
