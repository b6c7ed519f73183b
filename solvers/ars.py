"""Augmented Random Search (ARS V1-t): finite differences along random directions, top-b kept.

Mania, Guy & Recht (2018) showed that plain random search over a policy's weights, with three
small augmentations, matches the sample efficiency of model-free RL on MuJoCo locomotion. It is
the simplest member of the evolution-strategy family here: no ranks, no covariance, no optimizer
state, only antithetic finite differences. One generation (version V1-t, Algorithm 1 of the
paper):

1. draw ``N`` directions ``delta_k ~ N(0, I)`` and score ``theta + nu delta_k`` and
   ``theta - nu delta_k`` in one batched forward (losses ``l+``, ``l-``);
2. keep the ``b`` directions whose better side is best, i.e. the smallest ``min(l+, l-)``
   (the paper's largest ``max(r+, r-)``, with reward ``r = -loss``);
3. ``theta <- theta - alpha / (b sigma_R) * sum_k (l+_k - l-_k) delta_k`` over the kept ones,
   with ``sigma_R`` the standard deviation of their ``2b`` losses: the paper's
   ``theta + alpha / (b sigma_R) sum (r+ - r-) delta`` in loss terms. Dividing by ``sigma_R``
   makes the step independent of the scale of the loss (which changes by orders of magnitude
   over a run), and dropping the worst directions keeps noise out of the estimate.

There is no maintained pip library of ARS (the authors' code is a Ray script for linear MuJoCo
policies; sb3-contrib's depends on stable-baselines3 policies and environments), so this is our
own vectorized NumPy version: one ``Task.scored_losses`` call and one matrix-vector product per
generation.

Not implemented: V2's online normalisation of the states (each observation is whitened by a
running mean and standard deviation before the linear policy sees it). The observations exist
only inside a control task's rollout (``tasks/control.py``), which returns returns and step
counts, not states; and the normalised policy would be the weights *plus* the running
statistics, while the harness evaluates and records a parameter vector alone. Supervised tasks
have standardised inputs already. So this is V1-t, and the paper's V1 when ``b = N``.

Non-finite losses (a network whose output overflows) count as the worst finite loss of the
generation, so one bad member neither poisons the step with NaN nor dominates it; a generation
whose kept losses are all equal (``sigma_R = 0``: a plateau) takes no step.

Reported parameters: ``theta``, what the method delivers (the paper evaluates the unperturbed
policy). ARS never scores ``theta`` itself and learns nothing from the harness's evaluation of
it, so nothing is charged for it.

Reference: Mania, Guy & Recht, "Simple random search provides a competitive approach to
reinforcement learning", 2018, https://arxiv.org/abs/1803.07055 (NeurIPS 2018: "Simple random
search of static linear policies is competitive for reinforcement learning"); the authors'
code: https://github.com/modestyachts/ARS
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from solvers.base import (
    FLOAT_BYTES,
    PARAM_COPIES,
    Cost,
    Monitor,
    Solver,
    activation_size,
    task_data_size,
)
from solvers.space import Choice, LogUniform, SearchSpace
from tasks._validation import check_interval
from tasks.base import Task
from tasks.mlp import FlatParams, FloatArray


@dataclass(frozen=True, kw_only=True)
class ARSSolver(Solver):
    """Augmented Random Search V1-t: ``2 N`` antithetic perturbations per generation, top ``b``.

    Iteration: one generation (``2 * num_directions`` perturbed networks in one batched forward,
    one step of ``theta``).
    Evaluations: none before the first report (``x0`` itself), then
    ``2 * num_directions * n_train`` per generation, as ``Task.scored_losses`` charges them (on a
    control task: the environment steps taken). No backward passes.

    Defaults: the authors' example in their repository's README, HalfCheetah-v1 with
    ``--n_directions 8 --step_size 0.02 --delta_std 0.03`` (``deltas_used`` is left at its
    default there, which their code clips to ``n_directions``, so ``b = N = 8``). The paper's
    appendix tabulates ``(alpha, nu, N, b)`` per MuJoCo task; that table was not at hand to
    cite number by number, so the README's published command is the source (for scale: the
    argument defaults of their ``code/ars.py``, for Humanoid-v1, are ``alpha = 0.02``,
    ``nu = 0.0075``, ``N = b = 230``).

    Attributes:
        learning_rate: the step size ``alpha``, in (0, inf). Default 0.02.
        sigma: the exploration noise ``nu`` (standard deviation of the perturbations), in
            (0, inf). Default 0.03.
        num_directions: ``N``, directions per generation (each scored on both sides), in
            [1, inf). Default 8.
        num_top_directions: ``b``, the directions kept for the step, in [1, num_directions];
            ``None`` keeps all ``N`` (the paper's V1 and the default, as in the README command).
    """

    name: ClassVar[str] = "ars"
    paradigm: ClassVar[str] = "evolution"
    evaluations: ClassVar[str] = (
        "None before the first report, then `2 * num_directions * n_train` per generation as "
        "the task charges them (on a control task: the environment steps taken). No backward "
        "passes."
    )
    iteration: ClassVar[str] = (
        "one generation (num_directions antithetic pairs in one batch, one step on the top b)"
    )
    caveat: ClassVar[str] = (
        "ARS runs as V1-t: the paper's V2 whitens each observation by running statistics before "
        "its linear policy sees it; control tasks here do not expose observations, and a policy "
        "must be its parameter vector alone, so no normalisation is applied."
    )
    search_space: ClassVar[SearchSpace] = {
        "learning_rate": LogUniform(0.002, 0.2),
        "sigma": LogUniform(0.005, 0.5),
        "num_directions": Choice((4, 8, 16, 32, 64)),
    }
    stochastic: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = False

    learning_rate: float = 0.02
    sigma: float = 0.03
    num_directions: int = 8
    num_top_directions: int | None = None

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.sigma, "sigma", owner, low=0.0, closed="neither")
        check_interval(self.num_directions, "num_directions", owner, kind=int, low=1)
        if self.num_top_directions is not None:
            # The authors' code silently clips b to N; a value above N is a mistake to report.
            check_interval(self.num_top_directions, "num_top_directions", owner, kind=int,
                           low=1, high=self.num_directions)

    @property
    def kept(self) -> int:
        """``b``: how many directions each step uses."""
        return self.num_directions if self.num_top_directions is None else self.num_top_directions

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(2 * self.num_directions * task.n_train)

    def memory_estimate(self, task: Task) -> int:
        population = 2 * self.num_directions
        return FLOAT_BYTES * (
            task_data_size(task)
            + population * (2 * task.num_params + activation_size(task))  # members, directions
            + PARAM_COPIES * task.num_params
        )

    def directions(self, rng: np.random.Generator, num_params: int) -> FloatArray:
        """``(num_directions, n)`` directions ``delta_k ~ N(0, I)``."""
        return rng.standard_normal((self.num_directions, num_params))

    def top_directions(self, plus: FloatArray, minus: FloatArray) -> npt.NDArray[np.intp]:
        """Indices of the ``b`` directions with the smallest ``min(l+, l-)``, best first.

        Ties go to the lower index (a stable sort), so a run is reproducible.
        """
        return np.argsort(np.minimum(plus, minus), kind="stable")[: self.kept]

    def step(self, deltas: FloatArray, losses: FloatArray) -> FloatArray:
        """The change to ``theta`` from the ``2 N`` losses (``+delta`` block, then ``-delta``)."""
        losses = _finite(losses)
        plus, minus = losses[: self.num_directions], losses[self.num_directions:]
        top = self.top_directions(plus, minus)
        spread = float(np.concatenate([plus[top], minus[top]]).std())
        if not spread > 0.0:  # every kept loss equal (or none finite): no direction to prefer
            return np.zeros(deltas.shape[1])
        return -self.learning_rate / (len(top) * spread) * ((plus[top] - minus[top]) @ deltas[top])

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        theta = np.array(x0, dtype=np.float64)
        if monitor.report(theta, evaluations=0):
            return
        while True:
            deltas = self.directions(rng, theta.size)
            scaled = self.sigma * deltas
            losses, spent = task.scored_losses(np.concatenate([theta + scaled, theta - scaled]))
            theta = theta + self.step(deltas, losses)
            if monitor.report(theta, evaluations=spent):
                return


def _finite(losses: FloatArray) -> FloatArray:
    """``losses`` with NaN and infinities replaced by the worst finite loss (or 0 if none)."""
    losses = np.asarray(losses, dtype=np.float64)
    finite = np.isfinite(losses)
    if finite.all():
        return losses
    worst = float(losses[finite].max()) if finite.any() else 0.0
    return np.where(finite, losses, worst)
