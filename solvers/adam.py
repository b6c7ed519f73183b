"""Adam, on ``torch.optim.Adam``.

Reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
https://arxiv.org/abs/1412.6980
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from solvers._torch import DTYPES, TORCH_CAVEAT, TorchGradientLoop
from solvers._unroll import UnrolledGradientSolver
from solvers.base import Cost, Monitor
from solvers.space import LogUniform, SearchSpace
from tasks._validation import check_interval, check_options
from tasks.base import Task
from tasks.mlp import FlatParams


@dataclass(frozen=True, kw_only=True)
class AdamSolver(UnrolledGradientSolver):
    """Adam, full batch unless ``batch_size`` is set.

    Iteration: one epoch, i.e. one full-batch step, or ``ceil(N / batch_size)`` mini-batch steps.
    Evaluations: ``N`` forward and ``N`` backward single-example passes per iteration.

    Defaults and their origin: every default is ``torch.optim.Adam``'s, which are Kingma & Ba's
    (learning rate 1e-3, betas 0.9 and 0.999, eps 1e-8); none was chosen on this suite. The
    ``tuned`` arm takes the learning rate the tuning study chose per task.

    Attributes:
        learning_rate: step size, in (0, inf).
        beta1, beta2: moment decay rates, each in [0, 1).
        eps: denominator guard, in (0, inf).
        weight_decay: L2 penalty, in [0, inf).
        batch_size: mini-batch size; ``None`` means full batch.
        dtype: ``float64`` (matches the harness exactly) or ``float32``.
        estimator, surrogate, clip_latent: the straight-through options of every gradient
            solver (:class:`solvers._ste.GradientSolver`); inert on a task that needs no STE.
        clip_norm, truncation: gradient-norm clipping and truncated BPTT
            (:class:`solvers._unroll.UnrolledGradientSolver`); off by default, tuned only on
            tasks whose network is recurrent or unrolled.
    """

    name: ClassVar[str] = "adam"
    paradigm: ClassVar[str] = "gradients"
    iteration: ClassVar[str] = "one epoch (one full-batch step by default)"
    evaluations: ClassVar[str] = "`N` forward and `N` backward single-example passes per iteration."
    caveat: ClassVar[str] = TORCH_CAVEAT
    search_space: ClassVar[SearchSpace] = {
        "learning_rate": LogUniform(1e-4, 1.0),
    }

    learning_rate: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    batch_size: int | None = None
    dtype: str = "float64"

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.beta1, "beta1", owner, low=0.0, high=1.0, closed="left")
        check_interval(self.beta2, "beta2", owner, low=0.0, high=1.0, closed="left")
        check_interval(self.eps, "eps", owner, low=0.0, closed="neither")
        check_interval(self.weight_decay, "weight_decay", owner, low=0.0)
        if self.batch_size is not None:
            check_interval(self.batch_size, "batch_size", owner, kind=int, low=1)
        check_options(self.dtype, "dtype", owner, DTYPES)
        self.check_straight_through()
        self.check_unroll()

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(task.n_train, task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        loop = TorchGradientLoop(task, x0, self.dtype, self.batch_size,
                                 self.straight_through(task), **self.loop_options())
        optimizer = torch.optim.Adam(
            [loop.theta],
            lr=self.learning_rate,
            betas=(self.beta1, self.beta2),
            eps=self.eps,
            weight_decay=self.weight_decay,
        )
        loop.run(optimizer, monitor, rng)
