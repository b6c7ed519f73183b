"""Stochastic gradient descent with (Nesterov) momentum, on ``torch.optim.SGD``.

Reference: Sutskever et al., "On the importance of initialization and momentum in deep
learning", ICML 2013. https://proceedings.mlr.press/v28/sutskever13.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from solvers._torch import DTYPES, TORCH_CAVEAT, TorchGradientLoop
from solvers._unroll import UnrolledGradientSolver
from solvers.base import Cost, Monitor
from solvers.space import LogUniform, SearchSpace, Uniform
from tasks._validation import check_interval, check_options, check_type
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams


@dataclass(frozen=True, kw_only=True)
class SGDSolver(UnrolledGradientSolver):
    """SGD with momentum (PyTorch's formulation), full batch unless ``batch_size`` is set.

    Iteration: one epoch, i.e. one full-batch step, or ``ceil(N / batch_size)`` mini-batch steps.
    Evaluations: ``N`` forward and ``N`` backward single-example passes per iteration.

    Defaults and their origin: ``torch.optim.SGD`` has no default learning rate; 0.01 is the
    default of Keras's and TensorFlow's SGD. Momentum 0, no Nesterov and no weight decay are
    torch's defaults. None was chosen on this suite; the ``tuned`` arm takes the learning rate and
    momentum the tuning study chose per task.

    Attributes:
        learning_rate: step size, in (0, inf).
        momentum: heavy-ball momentum, in [0, 1).
        nesterov: use Nesterov momentum (needs momentum > 0).
        weight_decay: L2 penalty, in [0, inf).
        batch_size: mini-batch size; ``None`` means full batch.
        dtype: ``float64`` (matches the harness exactly) or ``float32``.
        estimator, surrogate, clip_latent: the straight-through options of every gradient
            solver (:class:`solvers._ste.GradientSolver`); inert on a task that needs no STE.
        clip_norm, truncation: gradient-norm clipping and truncated BPTT
            (:class:`solvers._unroll.UnrolledGradientSolver`); off by default, tuned only on
            tasks whose network is recurrent or unrolled.
    """

    name: ClassVar[str] = "sgd"
    paradigm: ClassVar[str] = "gradients"
    iteration: ClassVar[str] = "one epoch (one full-batch step by default)"
    evaluations: ClassVar[str] = "`N` forward and `N` backward single-example passes per iteration."
    caveat: ClassVar[str] = TORCH_CAVEAT
    search_space: ClassVar[SearchSpace] = {
        "learning_rate": LogUniform(1e-4, 1.0),
        "momentum": Uniform(0.0, 0.99),
    }

    learning_rate: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    batch_size: int | None = None
    dtype: str = "float64"

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.momentum, "momentum", owner, low=0.0, high=1.0, closed="left")
        check_type(self.nesterov, "nesterov", owner, bool, "a bool")
        if self.nesterov and self.momentum == 0:
            raise InvalidParameterError(
                f"The 'nesterov' parameter of {owner} needs 'momentum' > 0. Got momentum=0."
            )
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
        optimizer = torch.optim.SGD(
            [loop.theta],
            lr=self.learning_rate,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
        )
        loop.run(optimizer, monitor, rng)
