"""OpenAI-ES: a gradient estimate from population fitness alone, followed by Adam.

Salimans et al. (2017) showed that this plain evolution strategy, scaled out, trains policies as
well as policy-gradient RL. It is also the bridge between the benchmark's two worlds: each
generation estimates the gradient of the *Gaussian-smoothed* loss
``E[L(theta + sigma eps)]`` from the losses of a population, then takes a gradient step with it.

One generation:

1. draw ``population_size / 2`` directions ``eps_i ~ N(0, I)`` and score the antithetic pairs
   ``theta + sigma eps_i`` and ``theta - sigma eps_i`` in one batched forward (mirrored sampling
   cancels the even part of the loss around ``theta`` and lowers the estimate's variance);
2. replace the losses by their *centered ranks* in [-0.5, 0.5] (fitness shaping: the update is
   invariant to monotone transformations of the loss, and one outlier cannot dominate it);
3. ``g = sum_i u_i eps_i / (population_size * sigma)`` over all members, with ``u`` the shaped
   losses and the mirrored direction counted with its sign, plus ``weight_decay * theta``;
4. an Adam step ``theta <- theta - learning_rate * adam(g)``.

Reported parameters: the mean ``theta``, what the method delivers (Salimans et al. evaluate the
unperturbed policy; evosax's ``mean``). The solver never scores ``theta`` itself and learns
nothing from the harness's evaluation of it, so nothing is charged for it. Why not the best member
seen, as ``cmaes`` reports pycma's ``xbest``: a member is ``theta`` plus noise of scale ``sigma``,
and on a control task a lucky member that scores the maximum on the training episodes could
never be replaced by a later, more robust one (a tie is not an improvement).

References: Salimans, Ho, Chen, Sidor & Sutskever, "Evolution Strategies as a Scalable
Alternative to Reinforcement Learning", 2017, https://arxiv.org/abs/1703.03864; Wierstra et al.,
"Natural Evolution Strategies", JMLR 15, 2014 (the search-gradient view and fitness shaping);
Kingma & Ba, "Adam", ICLR 2015, https://arxiv.org/abs/1412.6980.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers.base import Cost, Monitor, Solver
from solvers.space import Choice, LogUniform, SearchSpace
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, FloatArray


def centered_ranks(values: FloatArray) -> FloatArray:
    """Ranks of ``values`` scaled to [-0.5, 0.5]: the smallest -0.5, the largest +0.5.

    Ties are broken by position (the order ``argsort`` gives), as in Salimans et al.'s code. NaN
    ranks as the largest value (the worst loss).
    """
    n = len(values)
    if n == 1:
        return np.zeros(1)
    ranks = np.empty(n)
    ranks[np.argsort(np.nan_to_num(values, nan=np.inf), kind="stable")] = np.arange(n)
    return ranks / (n - 1) - 0.5


@dataclass
class AdamState:
    """Adam's moment estimates and step count (Kingma & Ba, 2015, algorithm 1)."""

    m: FloatArray
    v: FloatArray
    t: int = 0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def step(self, gradient: FloatArray, learning_rate: float) -> FloatArray:
        """The bias-corrected update to *subtract* from the parameters."""
        self.t += 1
        self.m = self.beta1 * self.m + (1.0 - self.beta1) * gradient
        self.v = self.beta2 * self.v + (1.0 - self.beta2) * gradient**2
        m_hat = self.m / (1.0 - self.beta1**self.t)
        v_hat = self.v / (1.0 - self.beta2**self.t)
        return learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)


@dataclass(frozen=True, kw_only=True)
class OpenAIESSolver(Solver):
    """OpenAI-ES: antithetic sampling, centered-rank shaping, Adam; one batch per generation.

    Iteration: one generation (``population_size`` perturbed networks in one batched forward, one
    Adam step).
    Evaluations: none before the first report (``x0`` itself), then ``population_size * n_train``
    per generation, as ``Task.scored_losses`` charges them (on a control task: the environment
    steps taken). No backward passes.

    Attributes:
        population_size: perturbed networks per generation, an even number >= 2 (antithetic
            pairs). Default 100: the population of gymnax-blines' OpenAI-ES configurations, which
            solve CartPole-v1, and within the 40-1000 range of EvoJAX's and evosax's examples.
        sigma: standard deviation of the perturbations, in (0, inf). Default 0.04: evosax's
            ``OpenES`` ``sigma_init`` (Salimans et al. used 0.02 on MuJoCo, with observation
            normalisation; the benchmark's networks see raw or standardised inputs).
        learning_rate: Adam's step size, in (0, inf). Default 0.01: Salimans et al.'s MuJoCo
            setting and evosax's ``lrate_init``.
        beta1, beta2, eps: Adam's moment decays, each in [0, 1), and denominator guard, in
            (0, inf). Defaults 0.9, 0.999, 1e-8 (Kingma & Ba; evosax's too).
        weight_decay: L2 coefficient added to the gradient estimate, in [0, inf). Default 0 (evosax
            has none); Salimans et al. used 0.005 on MuJoCo to keep weights small.
    """

    name: ClassVar[str] = "openai-es"
    paradigm: ClassVar[str] = "evolution"
    evaluations: ClassVar[str] = (
        "None before the first report, then `population_size * n_train` per generation as "
        "the task charges them (on a control task: the environment steps taken). No backward "
        "passes."
    )
    iteration: ClassVar[str] = (
        "one generation (population_size antithetic perturbations in one batch, one Adam step)"
    )
    search_space: ClassVar[SearchSpace] = {
        "sigma": LogUniform(0.005, 0.5),
        "learning_rate": LogUniform(1e-3, 0.3),
        "population_size": Choice((16, 32, 64, 128, 256)),
    }
    stochastic: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = False

    population_size: int = 100
    sigma: float = 0.04
    learning_rate: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.population_size, "population_size", owner, kind=int, low=2)
        if self.population_size % 2:
            raise InvalidParameterError(
                f"The 'population_size' parameter of {owner} must be an even int (antithetic "
                f"pairs). Got {self.population_size!r} instead."
            )
        check_interval(self.sigma, "sigma", owner, low=0.0, closed="neither")
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.beta1, "beta1", owner, low=0.0, high=1.0, closed="left")
        check_interval(self.beta2, "beta2", owner, low=0.0, high=1.0, closed="left")
        check_interval(self.eps, "eps", owner, low=0.0, closed="neither")
        check_interval(self.weight_decay, "weight_decay", owner, low=0.0)

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(self.population_size * task.n_train)

    def perturbations(self, rng: np.random.Generator, num_params: int) -> FloatArray:
        """``(population_size, n)`` directions: ``eps_1..eps_k`` then ``-eps_1..-eps_k``."""
        half = rng.standard_normal((self.population_size // 2, num_params))
        return np.concatenate([half, -half])

    def gradient(self, eps: FloatArray, losses: FloatArray, theta: FloatArray) -> FloatArray:
        """The search-gradient estimate of the smoothed loss at ``theta`` (plus weight decay)."""
        shaped = centered_ranks(losses)
        estimate = shaped @ eps / (len(losses) * self.sigma)
        return estimate + self.weight_decay * theta

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        theta = np.array(x0, dtype=np.float64)
        if monitor.report(theta, evaluations=0):
            return
        adam = AdamState(np.zeros_like(theta), np.zeros_like(theta), beta1=self.beta1,
                         beta2=self.beta2, eps=self.eps)
        while True:
            eps = self.perturbations(rng, theta.size)
            losses, spent = task.scored_losses(theta + self.sigma * eps)
            theta = theta - adam.step(self.gradient(eps, losses, theta), self.learning_rate)
            if monitor.report(theta, evaluations=spent):
                return
