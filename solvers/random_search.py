"""Random search: the null baseline every training algorithm has to beat.

Draw parameter vectors from the task's own initialisation distribution (the one every solver's
``x0`` comes from, ``ModelSpec.init_params``), score them in batches through the population
forward (``Task.scored_losses``), keep the best so far. Nothing is learnt from one batch for the
next, so a solver that needs more evaluations than this to reach a target has gained nothing
from its gradient, its selection or its covariance on that task. A task that random search
solves as cheaply as the others tests nothing (Mania, Guy & Recht 2018 found simple random search
competitive with deep RL on MuJoCo; CartPole is the classic case).

Why sample the *initialisation* distribution and not a box: it is the one distribution every
solver in the benchmark starts from, with the scale each task chose for its network, so random
search explores exactly the region the others begin in, and ``scale`` widens or narrows it.

References: Rastrigin, "The convergence of the random search method in the extremal control of a
many-parameter system", Automation and Remote Control 24, 1963; Bergstra & Bengio, "Random Search
for Hyper-Parameter Optimization", JMLR 13, 2012; Mania, Guy & Recht, "Simple random search
provides a competitive approach to reinforcement learning", 2018,
https://arxiv.org/abs/1803.07055.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers.base import BASELINE, Cost, Monitor, Solver
from solvers.space import IntLogUniform, LogUniform, SearchSpace
from tasks._validation import check_interval
from tasks.base import Task
from tasks.mlp import FlatParams, FloatArray


@dataclass(frozen=True, kw_only=True)
class RandomSearchSolver(Solver):
    """Best of independent draws from the initialisation distribution, one batch per iteration.

    The first batch holds the harness's ``x0`` (times ``scale``) as member 0, so the runs stay
    paired with the single-start solvers of the same seed, and its best is the first report
    (iteration 0): random search has no starting point of its own to report before it scores
    anything. Every later batch is ``batch_size`` fresh draws.

    Ties: a member whose training loss *equals* the best so far replaces it. On a control task
    many policies tie at the maximum training return (500 on CartPole's training episodes) while
    the harness judges the target on other, evaluation episodes; keeping the first of them
    forever would never try the others.

    Iteration: one batch (``batch_size`` networks drawn and scored in one batched forward).
    Evaluations: ``batch_size * n_train`` forward passes per batch, the first (iteration 0)
    included, as ``Task.scored_losses`` charges them (on a control task: the environment steps
    taken). No backward passes.

    Attributes:
        batch_size: networks drawn and scored per iteration, at least 1. Default 50: the GA's
            default population, so one iteration of either costs the same and the two read side
            by side. The batch changes nothing in what is drawn, only how often the harness
            sees the best so far: a run's cost to target is rounded up to a whole batch, and a
            smaller batch pays more Python and evaluation overhead per network.
        scale: factor on every drawn vector, in (0, inf). Default 1: the task's own
            initialisation distribution. Below 1 searches nearer the origin (smaller weights,
            less saturated units), above 1 further out.
    """

    name: ClassVar[str] = "random-search"
    paradigm: ClassVar[str] = BASELINE
    iteration: ClassVar[str] = (
        "one batch (batch_size networks drawn from the initialisation distribution, scored in "
        "one batch)"
    )
    evaluations: ClassVar[str] = (
        "`batch_size * n_train` forward passes per batch, the first batch (iteration 0, which "
        "holds `x0`) included, as the task charges them (on a control task: the environment "
        "steps taken). No backward passes."
    )
    search_space: ClassVar[SearchSpace] = {
        "batch_size": IntLogUniform(8, 512),
        "scale": LogUniform(0.25, 4.0),
    }
    stochastic: ClassVar[bool] = True
    # A population method: x0 is member 0 of the first batch, but the first report is that
    # batch's best, not x0 itself.
    single_start: ClassVar[bool] = False
    needs_differentiable: ClassVar[bool] = False

    batch_size: int = 50
    scale: float = 1.0

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.batch_size, "batch_size", owner, kind=int, low=1)
        check_interval(self.scale, "scale", owner, low=0.0, closed="neither")

    def initial_cost(self, task: Task) -> Cost:
        return Cost(self.batch_size * task.n_train)

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(self.batch_size * task.n_train)

    def draw(self, task: Task, rng: np.random.Generator) -> FloatArray:
        """``(batch_size, n_params)`` vectors from the task's initialisation, times ``scale``."""
        return self.scale * task.model.init_params(rng, self.batch_size)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        batch = self.draw(task, rng)
        batch[0] = self.scale * x0
        best, best_loss = batch[0], np.inf
        while True:
            losses, spent = task.scored_losses(batch)
            # A NaN loss is as bad as it gets, never "best".
            losses = np.where(np.isnan(losses), np.inf, losses)
            # The last of the batch's best: ties go to the newest draw (see the class docstring).
            i = len(losses) - 1 - int(np.argmin(losses[::-1]))
            if losses[i] <= best_loss:
                best, best_loss = batch[i].copy(), float(losses[i])
            if monitor.report(best, evaluations=spent):
                return
            batch = self.draw(task, rng)
