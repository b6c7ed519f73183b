"""PGPE with ClipUp: symmetric parameter-exploring policy gradients on EvoTorch's functional API.

PGPE (Sehnke et al. 2010) searches with a diagonal Gaussian ``N(center, diag(stdev^2))`` over the
weights, like SNES, but estimates the gradient of the expected loss from *symmetric* pairs
``center + e``, ``center - e``: the mean's gradient uses the difference of a pair's shaped
fitnesses and the step sizes' gradient their average, so a pair tells the mean which way to go
and the step sizes whether exploring that far paid off. ClipUp (Toklu, Liskowski & Srivastava
2020) then moves the center: heavy-ball momentum on the *normalised* gradient, with the velocity
clipped to a maximum speed, so the step length is set in parameter space (``max_speed``) whatever
the scale of the loss or of the gradient estimate. PGPE+ClipUp is EvoTorch's recommended setting
for neuroevolution on control tasks; NeuroEvoBench's aggregate puts PGPE at 0.92 of OpenAI-ES.

One generation:

1. draw ``population_size / 2`` directions ``e_i ~ N(0, diag(stdev^2))`` from the run's rng and
   score ``center + e_i`` and ``center - e_i`` (interleaved) in one batched forward;
2. EvoTorch's ``pgpe_tell``: centered ranks of the losses (lowest loss +0.5, highest -0.5),
   ``grad_center = sum_i (u_i+ - u_i-) / 2 * e_i / (P/2)`` and
   ``grad_stdev = sum_i (u_i+ + u_i-) / 2 * (e_i^2 - stdev^2) / stdev / (P/2)``;
   a ClipUp step of the center (``v <- momentum v + lr g/|g|``, ``|v|`` clipped to
   ``max_speed``, ``center <- center + v``); ``stdev <- stdev + stdev_learning_rate *
   grad_stdev``, each entry kept within ``stdev_max_change`` (a fraction) of its old value.

EvoTorch (0.6.1, pinned) works with torch 2.13 here, and its functional ``pgpe`` / ``pgpe_tell``
do the update. Its ``pgpe_ask`` is not used: it samples with ``torch.normal`` from torch's
*global* generator and takes no generator argument, so the run's rng could drive it only by
reseeding global torch state. The population is drawn here from the run's rng instead, in
``pgpe_ask``'s layout (``+e_0, -e_0, +e_1, -e_1, ...``), which ``pgpe_tell`` reads back; so the
same seed gives the same trace and no global generator is read or written. EvoTorch is imported
on first use (it brings Ray and pandas, about 1.3 s), not with the registry, so that ``import
solvers`` stays light for every other solver; :meth:`PGPESolver.iteration_cost` triggers it, and
the harness asks for that cost before it starts the solver's clock, so no run is charged for the
import.

Reported parameters: the center, what the method delivers (as for ``openai-es``; pgpelib and the
ClipUp paper evaluate and save the center too). PGPE never scores the center itself and the
harness's evaluation of it is not fed back, so nothing is charged for it. Why not the best member
seen (``cmaes`` reports pycma's ``xbest``): a member is the center plus noise, and on a control
task a lucky member that hits the maximum return on the training episodes could never be
replaced by a later, more robust one.

References: Sehnke, Osendorfer, Rückstieß, Graves, Peters & Schmidhuber, "Parameter-exploring
policy gradients", Neural Networks 23(4), 2010, https://doi.org/10.1016/j.neunet.2009.12.004;
Toklu, Liskowski & Srivastava, "ClipUp: A Simple and Powerful Optimizer for Distribution-based
Policy Evolution", PPSN 2020, https://arxiv.org/abs/2008.02387; pgpelib (the paper's code),
https://github.com/nnaisense/pgpelib; EvoTorch, https://docs.evotorch.ai.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import torch

from solvers.base import Cost, Monitor, Solver
from solvers.space import Choice, LogUniform, SearchSpace
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, FloatArray


@functools.cache
def evotorch_functional() -> ModuleType:
    """``evotorch.algorithms.functional``, imported once, on first use."""
    with warnings.catch_warnings():
        # EvoTorch 0.6.1 decorates a helper with ``torch.jit.script`` at import, which torch 2.13
        # deprecates; it says nothing about this solver's runs.
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=r".*torch\.jit\.script.*")
        import evotorch.algorithms.functional as functional
    return functional


@dataclass(frozen=True, kw_only=True)
class PGPESolver(Solver):
    """PGPE with symmetric sampling and ClipUp (EvoTorch's functional ``pgpe_tell``).

    Iteration: one generation (``population_size`` members, in symmetric pairs, in one batched
    forward; one ClipUp step of the center and one update of the step sizes).
    Evaluations: none before the first report (``x0``, the initial center), then
    ``population_size * n_train`` per generation, as ``Task.scored_losses`` charges them (on a
    control task: the environment steps taken). No backward passes.

    Attributes:
        population_size: members per generation, an even number >= 2 (symmetric pairs).
            Default 100: the population of the ClipUp paper's Walker2d-v2 runs (pgpelib's
            example; its LunarLander script uses 200 and the Humanoid runs 10,000), and the same
            as ``openai-es``'s default, so the two read side by side.
        max_speed: ClipUp's largest step of the center, the norm of the velocity, in (0, inf).
            Default 0.15: the default of the ClipUp paper's training script (pgpelib
            ``train_agents/train.py``, PyBullet Humanoid); its scripts use 0.015 to 0.3.
        center_learning_rate: ClipUp's step size ``alpha``, in (0, inf); ``None`` (default)
            means ``max_speed / 2``, the ClipUp paper's rule (every pgpelib script sets
            ``center_lr = max_speed / 2``, and EvoTorch's ``clipup`` derives it the same way).
        momentum: ClipUp's heavy-ball momentum, in [0, 1). Default 0.9 (the paper's, and
            EvoTorch's default).
        radius_init: the Euclidean norm of the initial standard-deviation vector, in (0, inf):
            every ``stdev_i`` starts at ``radius_init / sqrt(n)``. Default 2.25 = 15 x 0.15, the
            ClipUp paper's rule ``radius = 15 * max_speed`` (pgpelib's scripts).
        stdev_learning_rate: learning rate of the step sizes, in [0, inf) (0 keeps them fixed).
            Default 0.1: every configuration of the ClipUp paper (pgpelib's scripts).
        stdev_max_change: the largest relative change of any ``stdev_i`` in one generation, in
            (0, inf). Default 0.2: pgpelib's and EvoTorch's default.
    """

    name: ClassVar[str] = "pgpe"
    paradigm: ClassVar[str] = "evolution"
    iteration: ClassVar[str] = (
        "one generation (population_size members in symmetric pairs in one batch, one ClipUp "
        "step of the center, one update of the step sizes)"
    )
    evaluations: ClassVar[str] = (
        "None before the first report, then `population_size * n_train` per generation as the "
        "task charges them (on a control task: the environment steps taken). No backward "
        "passes."
    )
    search_space: ClassVar[SearchSpace] = {
        "max_speed": LogUniform(0.01, 1.0),
        "radius_init": LogUniform(0.1, 20.0),
        "stdev_learning_rate": LogUniform(0.01, 0.5),
        "population_size": Choice((16, 32, 64, 128, 256)),
    }
    stochastic: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = False

    population_size: int = 100
    max_speed: float = 0.15
    center_learning_rate: float | None = None
    momentum: float = 0.9
    radius_init: float = 2.25
    stdev_learning_rate: float = 0.1
    stdev_max_change: float = 0.2

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.population_size, "population_size", owner, kind=int, low=2)
        if self.population_size % 2:
            raise InvalidParameterError(
                f"The 'population_size' parameter of {owner} must be an even int (symmetric "
                f"pairs). Got {self.population_size!r} instead."
            )
        check_interval(self.max_speed, "max_speed", owner, low=0.0, closed="neither")
        if self.center_learning_rate is not None:
            check_interval(self.center_learning_rate, "center_learning_rate", owner, low=0.0,
                           closed="neither")
        check_interval(self.momentum, "momentum", owner, low=0.0, high=1.0, closed="left")
        check_interval(self.radius_init, "radius_init", owner, low=0.0, closed="neither")
        check_interval(self.stdev_learning_rate, "stdev_learning_rate", owner, low=0.0)
        check_interval(self.stdev_max_change, "stdev_max_change", owner, low=0.0,
                       closed="neither")

    @property
    def resolved_center_learning_rate(self) -> float:
        """ClipUp's step size: ``center_learning_rate``, or ``max_speed / 2`` when unset."""
        if self.center_learning_rate is not None:
            return self.center_learning_rate
        return self.max_speed / 2.0

    def iteration_cost(self, task: Task) -> Cost:
        # Import EvoTorch here: the harness asks for this cost before it starts the solver's
        # clock, so the one-off import is never charged to a run (see the module docstring).
        evotorch_functional()
        return Cost(self.population_size * task.n_train)

    def initial_state(self, x0: FlatParams) -> Any:
        """EvoTorch's ``PGPEState`` centred on ``x0`` (float64), with this configuration."""
        return evotorch_functional().pgpe(
            center_init=torch.from_numpy(np.array(x0, dtype=np.float64)),
            center_learning_rate=self.resolved_center_learning_rate,
            stdev_learning_rate=self.stdev_learning_rate,
            objective_sense="min",
            ranking_method="centered",
            optimizer="clipup",
            optimizer_config={"max_speed": self.max_speed, "momentum": self.momentum},
            radius_init=self.radius_init,
            stdev_max_change=self.stdev_max_change,
            symmetric=True,
        )

    def population(self, rng: np.random.Generator, center: FloatArray,
                   stdev: FloatArray) -> FloatArray:
        """``(population_size, n)`` members ``+e_0, -e_0, +e_1, -e_1, ...`` (``pgpe_ask``'s
        layout), ``e_i ~ N(0, diag(stdev^2))`` drawn from ``rng``."""
        e = rng.standard_normal((self.population_size // 2, center.size)) * stdev
        members = np.empty((self.population_size, center.size))
        members[0::2] = center + e
        members[1::2] = center - e
        return members

    @staticmethod
    def tell(state: Any, members: FloatArray, losses: FloatArray) -> Any:
        """The next ``PGPEState`` after ``members`` scored ``losses`` (NaN ranks worst)."""
        shaped = np.nan_to_num(np.asarray(losses, dtype=np.float64), nan=np.inf)
        return evotorch_functional().pgpe_tell(state, torch.from_numpy(members),
                                               torch.from_numpy(shaped))

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        state = self.initial_state(x0)
        if monitor.report(np.array(x0, dtype=np.float64), evaluations=0):
            return
        while True:
            members = self.population(rng, state.optimizer_state.center.numpy(),
                                      state.stdev.numpy())
            losses, spent = task.scored_losses(members)
            state = self.tell(state, members, losses)
            if monitor.report(state.optimizer_state.center.numpy(), evaluations=spent):
                return
