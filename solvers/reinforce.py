"""REINFORCE: the policy-gradient baseline for the control tasks, on the same policy network.

The policy samples each action from the softmax of the network's logits. One iteration rolls the
current policy out on the task's training episodes (all of them in one batch, through the same
batched environment the evolution solvers are scored with), then takes one Adam step along

    grad = - 1/K sum_episodes sum_t grad log pi(a_t | s_t) * A_t,

where ``A_t`` is the discounted return from step ``t`` on (reward to go), minus a baseline (the
batch mean) and divided by the batch's standard deviation. The mean baseline leaves the gradient
unbiased and lowers its variance; standardising fixes the step's scale whatever the rewards' units
(CartPole's +1 and Acrobot's -1 per step).

The harness scores the *greedy* policy (argmax of the logits) on the evaluation episodes, as for
every other solver, so REINFORCE is judged on the same deterministic policy class.

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
from tasks.mlp import FlatParams, FloatArray

BASELINES: tuple[str, ...] = ("mean", "none")


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
    stochastic: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = False

    learning_rate: float = 0.01
    gamma: float = 0.99
    baseline: str = "mean"
    standardize: bool = True

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.gamma, "gamma", owner, low=0.0, high=1.0)
        check_options(self.baseline, "baseline", owner, BASELINES)
        check_type(self.standardize, "standardize", owner, bool, "a bool")

    def unsupported_reason(self, task: Task) -> str | None:
        if not isinstance(task, ControlTask):
            return (
                f"not applicable: {type(self).__name__} learns a policy from sampled episodes, "
                f"and task {task.name!r} is a {task.kind} task without an environment"
            )
        return None

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
        spec, env, starts = task.model, task.environment, task.train_states
        theta = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([theta], lr=self.learning_rate)
        if monitor.report(to_numpy(theta), evaluations=0):
            return
        while True:
            params = to_numpy(theta)
            result = rollout(env, spec, params[None, :], starts, rng=rng, record=True)
            _, per_step = rewards_to_go(result, self.gamma)
            advantage = torch.from_numpy(np.concatenate(self.advantages(per_step)))
            obs = torch.from_numpy(np.concatenate([tr.observations for tr in result.transitions]))
            actions = torch.from_numpy(np.concatenate([tr.actions for tr in result.transitions]))
            optimizer.zero_grad(set_to_none=True)
            log_probs = torch.log_softmax(torch_forward(spec, theta, obs), dim=-1)
            chosen = log_probs.gather(1, actions[:, None])[:, 0]
            loss = -(chosen * advantage).sum() / len(starts)
            loss.backward()
            optimizer.step()
            steps = result.steps
            if monitor.report(to_numpy(theta), evaluations=steps, backward=steps):
                return
