"""The solver protocol: what the harness asks of every training algorithm.

The harness owns the loop's clock, the budget, evaluation and the stop decision. A solver only
trains: after each iteration it calls ``monitor.report(params, evaluations=..., backward=...)``
with its current best parameters and what that iteration cost, and stops as soon as ``report``
returns ``True``. The first report (iteration 0) is the starting point, made before the first
update, so a task already solved at initialisation scores 0 iterations.

Cost unit: one *evaluation* is one forward pass of one training example; a *backward* is one
backward pass of one example. A full-batch gradient step on N examples costs N + N; a GA
generation of P networks on N examples costs P * N forward passes and no backward pass.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from solvers.space import SearchSpace
from tasks.base import Task
from tasks.mlp import FlatParams


class Monitor(Protocol):
    """The harness side of a run, as a solver sees it."""

    def report(self, params: FlatParams, *, evaluations: int, backward: int = 0) -> bool:
        """Record one iteration; return ``True`` when the solver must stop.

        Args:
            params: the solver's current best parameters (copied by the harness).
            evaluations: forward passes of one example spent since the previous report.
            backward: backward passes of one example spent since the previous report.
        """
        ...


@dataclass(frozen=True)
class Cost:
    """What one iteration costs, in single-example forward and backward passes."""

    forward: int
    backward: int = 0


@dataclass(frozen=True, kw_only=True)
class Solver(ABC):
    """Base class of every solver: frozen hyperparameters plus ``run``.

    Subclasses are frozen keyword-only dataclasses whose fields are the hyperparameters; they
    validate them in ``validate`` (called on construction, and again by ``dataclasses.replace``)
    so bad values fail before any run starts.

    Class attributes:
        name: the registry key.
        iteration: what one iteration is, in words (goes into the report).
        stochastic: whether the solver draws random numbers beyond the shared starting point
            (then different seeds give different traces even from the same start).
        single_start: whether the solver starts from the harness's initial vector ``x0`` (paired
            seeds: every such solver starts from the same weights for a given seed).
        search_space: the hyperparameters a tuning study may vary, and their ranges
            (``solvers/space.py``). Every solver declares one, next to its defaults; the
            conformance suite fails a solver without it. Fields it does not name keep their
            defaults in every trial.
        needs_differentiable: whether the solver needs a differentiable training loss over
            labelled data (gradients, least squares). Solvers that only rank a population by its
            losses (``Task.scored_losses``) set it to ``False`` and so also run control tasks;
            the default ``unsupported_reason`` refuses other tasks with a "not applicable"
            reason.
    """

    name: ClassVar[str]
    iteration: ClassVar[str]
    search_space: ClassVar[SearchSpace]
    stochastic: ClassVar[bool] = False
    single_start: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:  # noqa: B027 - optional hook, most solvers override it
        """Check the hyperparameters; raise ``InvalidParameterError`` naming the bad one."""

    def unsupported_reason(self, task: Task) -> str | None:
        """Why this solver cannot run ``task``, or ``None`` when it can."""
        if self.needs_differentiable and not task.differentiable:
            return (
                f"not applicable: {type(self).__name__} needs a differentiable training loss "
                f"over labelled data, and task {task.name!r} is a {task.kind} task scored by "
                "episodic return"
            )
        return None

    def initial_cost(self, task: Task) -> Cost:
        """Evaluations spent before the first report (e.g. scoring an initial population)."""
        del task
        return Cost(0)

    @abstractmethod
    def iteration_cost(self, task: Task) -> Cost:
        """Upper bound on what one iteration after the first report costs.

        The harness uses it to stop *before* an iteration would exceed an evaluation budget.
        """

    @abstractmethod
    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        """Train on ``task`` from ``x0`` until ``monitor.report`` returns ``True``.

        Args:
            task: the problem (read only).
            x0: the seed's shared initial parameters.
            monitor: the harness; call ``report`` once per iteration, first before any update.
            rng: the run's random generator; the only source of randomness allowed.
        """

    def config(self) -> dict[str, Any]:
        """The full configuration as a JSON-ready dict (the dataclass fields)."""
        return dataclasses.asdict(self)
