"""SNES: Separable Natural Evolution Strategies, a diagonal Gaussian moved by natural gradients.

SNES keeps a search distribution ``N(mu, diag(sigma^2))`` over the weights and follows the
*natural* gradient of the expected (shaped) fitness with respect to ``mu`` and ``sigma``. With a
diagonal covariance the natural gradient has a closed form that costs O(P n) per generation, so
SNES scales to networks far larger than full-covariance CMA-ES (O(n^2) memory), while still
adapting one step size per weight. NeuroEvoBench's aggregate ranks it first of its evolution
strategies (Lange, Tang & Tian 2023).

One generation (Schaul, Glasmachers & Schmidhuber 2011, algorithm 2):

1. draw ``s_k ~ N(0, I)`` for ``k = 1..P`` and score ``z_k = mu + sigma * s_k`` in one batched
   forward (optionally mirrored: ``s`` and ``-s`` in pairs);
2. sort by loss and give the k-th best the utility
   ``u_k = max(0, ln(P/2 + 1) - ln k) / sum_j max(0, ln(P/2 + 1) - ln j) - 1/P`` (fitness
   shaping: only ranks count, the better half pulls and the worse half pushes, and the
   utilities sum to zero);
3. ``grad_mu = sum_k u_k s_k`` and ``grad_sigma = sum_k u_k (s_k^2 - 1)``;
4. ``mu <- mu + eta_mu * sigma * grad_mu`` and ``sigma <- sigma * exp(eta_sigma / 2 * grad_sigma)``
   (the multiplicative update keeps every ``sigma_i`` positive).

Why our own NumPy code and not EvoTorch's ``SNES``: EvoTorch 0.6.1 works with torch 2.13 here
(its functional PGPE runs ``pgpe``), but it ships SNES only as a class that owns a ``Problem``
and a ``SolutionBatch``. Under the harness that means a ``Problem`` subclass whose
``_evaluate_batch`` smuggles the cost out to ``monitor.report``, INFO log lines on every
construction, and no mirrored sampling. Measured on one core at n = 10,000 weights and its
default P = 31 (a cheap quadratic fitness), one ``SNES.step()`` took about 11.8 ms against
4.0 ms for the same generation written here in NumPy, about 3.6x the update overhead; and
importing it adds about 1.3 s (Ray, pandas) to every process. The update above is a few lines
of array code, so it is written from the paper.

Reported parameters: the mean ``mu``, what the method delivers (as for ``openai-es``). SNES never
scores ``mu`` itself and the harness's evaluation of it is not fed back, so nothing is charged
for it. Why not the best member seen (``cmaes`` reports pycma's ``xbest``): a member is ``mu``
plus noise of scale ``sigma``, and on a control task a lucky member that hits the maximum return
on the training episodes could never be replaced by a later, more robust one.

References: Schaul, Glasmachers & Schmidhuber, "High Dimensions and Heavy Tails for Natural
Evolution Strategies", GECCO 2011, https://doi.org/10.1145/2001576.2001692; Wierstra et al.,
"Natural Evolution Strategies", JMLR 15, 2014 (utilities, learning rates); Brockhoff et al.,
"Mirrored Sampling and Sequential Selection for Evolution Strategies", PPSN 2010 (mirroring).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers.base import (
    FLOAT_BYTES,
    PARAM_COPIES,
    Cost,
    Monitor,
    Solver,
    activation_size,
    task_data_size,
)
from solvers.space import Choice, IntLogUniform, LogUniform, SearchSpace
from tasks._validation import check_interval, check_type
from tasks.base import Task
from tasks.mlp import FlatParams, FloatArray


def default_population_size(num_params: int) -> int:
    """The paper's population size, ``4 + floor(3 ln n)`` (12 for XOR's 17-weight 2-4-1 net)."""
    return 4 + int(3 * math.log(num_params))


def default_sigma_learning_rate(num_params: int) -> float:
    """The paper's step-size learning rate, ``(3 + ln n) / (5 sqrt n)``."""
    return (3.0 + math.log(num_params)) / (5.0 * math.sqrt(num_params))


def utilities(population_size: int) -> FloatArray:
    """NES utilities of the ranks 1 (best) .. P (worst): decreasing, summing to zero.

    ``u_k = max(0, ln(P/2 + 1) - ln k) / sum_j max(0, ln(P/2 + 1) - ln j) - 1/P``.
    """
    ranks = np.arange(1, population_size + 1)
    raw = np.maximum(0.0, math.log(population_size / 2 + 1) - np.log(ranks))
    return raw / raw.sum() - 1.0 / population_size


@dataclass(frozen=True, kw_only=True)
class SNESSolver(Solver):
    """SNES (own NumPy implementation): diagonal natural ES; one batched forward per generation.

    Iteration: one generation (``population_size`` samples in one batched forward, one update of
    ``mu`` and ``sigma``).
    Evaluations: none before the first report (``x0``, the initial mean), then
    ``population_size * n_train`` per generation, as ``Task.scored_losses`` charges them (on a
    control task: the environment steps taken). No backward passes.

    Attributes:
        population_size: samples per generation, at least 2; ``None`` (default) means the
            paper's ``4 + floor(3 ln n)`` for ``n`` weights (Schaul et al. 2011, table 1; the
            same rule as pycma's default).
        radius_init: the Euclidean norm of the initial standard-deviation vector, in (0, inf):
            every ``sigma_i`` starts at ``radius_init / sqrt(n)``, so the initial cloud has the
            same overall size whatever the network's width. Default 2.25: EvoTorch's documented
            SNES setting for a supervised network (``SNES(problem, popsize=50,
            radius_init=2.25)``, its ``SupervisedNE`` example), which is also PGPE+ClipUp's
            ``15 * max_speed`` at ClipUp's ``max_speed = 0.15``. (The paper starts benchmark
            functions at ``sigma = 1``; on a network of thousands of weights that would drown
            the Glorot initialisation, whose scale is about ``1 / sqrt(fan_in)``.)
        learning_rate_mean: ``eta_mu``, in (0, inf). Default 1.0 (the paper's).
        learning_rate_sigma: ``eta_sigma``, in (0, inf); ``None`` (default) means the paper's
            ``(3 + ln n) / (5 sqrt n)`` (also EvoTorch's default).
        mirrored: draw the samples in mirrored pairs ``s, -s`` (Brockhoff et al. 2010) instead of
            independently. Default ``False``, as in the paper; mirroring halves the random draws
            and cancels the even part of the loss in the mean's update (an odd population leaves
            its last sample unpaired).
    """

    name: ClassVar[str] = "snes"
    paradigm: ClassVar[str] = "evolution"
    iteration: ClassVar[str] = (
        "one generation (population_size samples in one batch, one natural-gradient update of "
        "the mean and the per-weight step sizes)"
    )
    evaluations: ClassVar[str] = (
        "None before the first report, then `population_size * n_train` per generation as the "
        "task charges them (on a control task: the environment steps taken). No backward "
        "passes."
    )
    search_space: ClassVar[SearchSpace] = {
        "radius_init": LogUniform(0.1, 20.0),
        "population_size": IntLogUniform(6, 200),
        "mirrored": Choice((False, True)),
    }
    stochastic: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = False

    population_size: int | None = None
    radius_init: float = 2.25
    learning_rate_mean: float = 1.0
    learning_rate_sigma: float | None = None
    mirrored: bool = False

    def validate(self) -> None:
        owner = type(self).__name__
        if self.population_size is not None:
            check_interval(self.population_size, "population_size", owner, kind=int, low=2)
        check_interval(self.radius_init, "radius_init", owner, low=0.0, closed="neither")
        check_interval(self.learning_rate_mean, "learning_rate_mean", owner, low=0.0,
                       closed="neither")
        if self.learning_rate_sigma is not None:
            check_interval(self.learning_rate_sigma, "learning_rate_sigma", owner, low=0.0,
                           closed="neither")
        check_type(self.mirrored, "mirrored", owner, bool, "a bool (True or False)")

    def resolved_population_size(self, task: Task) -> int:
        """Samples per generation on ``task`` (the paper's default when unset)."""
        if self.population_size is not None:
            return self.population_size
        return default_population_size(task.num_params)

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(self.resolved_population_size(task) * task.n_train)

    def memory_estimate(self, task: Task) -> int:
        # The samples, their noise and one forward pass of the whole population.
        population = self.resolved_population_size(task)
        return FLOAT_BYTES * (
            task_data_size(task)
            + population * (2 * task.num_params + activation_size(task))
            + PARAM_COPIES * task.num_params
        )

    def noise(self, rng: np.random.Generator, population_size: int, num_params: int) -> FloatArray:
        """``(population_size, n)`` standard normal directions (mirrored: ``s_1..s_k, -s_1..``)."""
        if not self.mirrored:
            return rng.standard_normal((population_size, num_params))
        half = rng.standard_normal(((population_size + 1) // 2, num_params))
        return np.concatenate([half, -half])[:population_size]

    @staticmethod
    def gradients(noise: FloatArray, losses: FloatArray,
                  weights: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Natural gradients ``(grad_mu, grad_sigma)`` in the standardised coordinates ``s``.

        ``weights`` are the utilities of ranks 1..P (:func:`utilities`); the lowest loss gets the
        first. Ties keep their order in the population; NaN ranks as the worst loss.
        """
        order = np.argsort(np.nan_to_num(losses, nan=np.inf), kind="stable")
        u = np.empty_like(weights)
        u[order] = weights
        return u @ noise, u @ (noise * noise - 1.0)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        n = task.num_params
        population_size = self.resolved_population_size(task)
        eta_sigma = (self.learning_rate_sigma if self.learning_rate_sigma is not None
                     else default_sigma_learning_rate(n))
        weights = utilities(population_size)
        mu = np.array(x0, dtype=np.float64)
        sigma = np.full(n, self.radius_init / math.sqrt(n))
        if monitor.report(mu, evaluations=0):
            return
        while True:
            s = self.noise(rng, population_size, n)
            losses, spent = task.scored_losses(mu + sigma * s)
            grad_mu, grad_sigma = self.gradients(s, losses, weights)
            mu = mu + self.learning_rate_mean * sigma * grad_mu
            sigma = sigma * np.exp(0.5 * eta_sigma * grad_sigma)
            if monitor.report(mu, evaluations=spent):
                return
