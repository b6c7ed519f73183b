"""A (1+lambda) evolution strategy with the 1/5th success rule, as an evo-vs-grad plugin.

One generation draws ``population_size`` offspring ``parent + sigma * N(0, I)``, scores them
in one batched forward (``Task.losses``), and keeps the best one if it is no worse than the
parent. The step size follows Rechenberg's 1/5th success rule in the form of Kern et al. (2004):
``sigma *= exp(1/3)`` after a generation that kept an offspring, ``sigma *= exp(-1/12)`` after
one that did not, which leaves ``sigma`` unchanged on average at a success rate of 1/5.

It is deliberately small: what a plugin author writes is a frozen keyword-only dataclass of
hyperparameters (validated with messages that name the parameter), the class attributes the
report and the conformance suite read, ``iteration_cost`` and ``run``.

References: Rechenberg, "Evolutionsstrategie", 1973; Kern, Mueller, Hansen, Buche, Ocenasek &
Koumoutsakos, "Learning probability distributions in continuous evolutionary algorithms - a
comparative review", Natural Computing 3, 2004.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers import Cost, Monitor, Solver
from solvers.space import Choice, LogUniform, SearchSpace
from tasks import Task
from tasks.errors import InvalidParameterError

#: Step-size factors of the 1/5th success rule (Kern et al., 2004).
GROW, SHRINK = math.exp(1.0 / 3.0), math.exp(-1.0 / 12.0)


@dataclass(frozen=True, kw_only=True)
class PlusESSolver(Solver):
    """(1+lambda)-ES: best of ``population_size`` Gaussian offspring replaces a worse parent.

    Iteration: one generation (``population_size`` offspring in one batched forward).
    Evaluations: ``n_train`` to score ``x0`` before the first report, then
    ``population_size * n_train`` per generation. No backward passes.

    Attributes:
        population_size: offspring per generation, an int >= 1. Default 16.
        sigma0: the initial mutation step, a float in (0, 100]. Default 0.1, a tenth of the
            scale of the benchmark's initial weights.
    """

    name: ClassVar[str] = "plus-es"
    paradigm: ClassVar[str] = "evolution"
    iteration: ClassVar[str] = "one generation (population_size offspring in one batched forward)"
    evaluations: ClassVar[str] = (
        "`n_train` to score `x0` before the first report, then `population_size * n_train` per "
        "generation. No backward passes."
    )
    search_space: ClassVar[SearchSpace] = {
        "population_size": Choice((4, 8, 16, 32, 64)),
        "sigma0": LogUniform(1e-3, 1.0),
    }
    stochastic: ClassVar[bool] = True
    # Offspring are ranked by ``Task.losses`` over labelled data, so control tasks (scored by
    # episodes) are left to the built-in population solvers: "not applicable" there.
    needs_differentiable: ClassVar[bool] = True

    population_size: int = 16
    sigma0: float = 0.1

    def validate(self) -> None:
        owner = type(self).__name__
        size = self.population_size
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise InvalidParameterError(
                f"The 'population_size' parameter of {owner} must be an int in the range "
                f"[1, inf). Got {size!r} instead."
            )
        sigma = self.sigma0
        if (isinstance(sigma, bool) or not isinstance(sigma, numbers.Real)
                or not 0.0 < sigma <= 100.0):  # NaN fails the comparison too
            raise InvalidParameterError(
                f"The 'sigma0' parameter of {owner} must be a float in the range (0, 100]. "
                f"Got {sigma!r} instead."
            )

    def initial_cost(self, task: Task) -> Cost:
        return Cost(task.n_train)

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(self.population_size * task.n_train)

    def run(self, task: Task, x0: np.ndarray, monitor: Monitor, rng: np.random.Generator) -> None:
        parent = np.array(x0, dtype=np.float64)
        parent_loss = float(task.losses(parent[None, :])[0])
        if monitor.report(parent, evaluations=task.n_train):
            return
        sigma = float(self.sigma0)
        while True:
            offspring = parent + sigma * rng.standard_normal((self.population_size, parent.size))
            losses = task.losses(offspring)
            best = int(np.argmin(np.nan_to_num(losses, nan=np.inf)))
            if losses[best] <= parent_loss:
                parent, parent_loss = offspring[best], float(losses[best])
                sigma *= GROW
            else:
                sigma *= SHRINK
            if monitor.report(parent, evaluations=self.population_size * task.n_train):
                return
