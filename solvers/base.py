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
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from solvers.space import Dimension, SearchSpace, describe_space
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, ModelSpec

#: Bytes per float64 number.
FLOAT_BYTES = 8

#: Copies of the parameter vector a single-start solver holds at once (params, gradient,
#: optimizer moments, best-so-far, the harness's copy), for the memory estimate.
PARAM_COPIES = 8


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
    """What one iteration costs, in single-example forward and backward passes.

    ``exact``: the iteration spends exactly this much even on a task whose costs are otherwise
    only bounded (``Task.exact_costs`` false: control episodes end when they end), e.g. PPO's
    fixed rollout of ``n_envs * n_steps`` steps; the harness then stops the run before an
    iteration would pass the budget instead of discarding one that did.
    """

    forward: int
    backward: int = 0
    exact: bool = False


#: The three families the verdict compares.
PARADIGMS: tuple[str, ...] = ("gradients", "evolution", "closed form")
#: The paradigm of a reference line (a library a user knows), never compared in the verdict.
REFERENCE = "reference"
#: The paradigm of a null baseline (random search): shown and tuned like every solver, so each
#: task says how far the others beat it, but never one of the verdict's paradigm picks.
BASELINE = "baseline"


@dataclass(frozen=True, kw_only=True)
class Solver(ABC):
    """Base class of every solver: frozen hyperparameters plus ``run``.

    Subclasses are frozen keyword-only dataclasses whose fields are the hyperparameters; they
    validate them in ``validate`` (called on construction, and again by ``dataclasses.replace``)
    so bad values fail before any run starts.

    Class attributes:
        name: the registry key.
        iteration: what one iteration is, in words (goes into the report).
        evaluations: what one iteration costs, in one sentence of Markdown (single-example
            forward and backward passes; the report's accounting table shows it next to the
            measured cost). The docstring's ``Evaluations:`` line says the same for readers.
        caveat: what a reader of the report must know about this implementation's numbers (one
            Markdown paragraph, shown in the report's caveats when the solver ran); optional.
        stochastic: whether the solver draws random numbers beyond the shared starting point
            (then different seeds give different traces even from the same start).
        single_start: whether the solver starts from the harness's initial vector ``x0`` (paired
            seeds: every such solver starts from the same weights for a given seed).
        paradigm: ``gradients``, ``evolution`` or ``closed form``: the family the verdict
            compares the solver in (a policy gradient counts as gradients); or ``reference``
            (:data:`REFERENCE`) for a library shown next to the others as a reference line
            (``sklearn-mlp``), which the verdict, the paired comparisons and the tuning study
            leave out; or ``baseline`` (:data:`BASELINE`) for a null baseline
            (``random-search``), tuned and compared like any solver but never a paradigm pick.
        search_space: the hyperparameters a tuning study may vary, and their ranges
            (``solvers/space.py``). Every solver declares one, next to its defaults; the
            conformance suite fails a solver without it. Fields it does not name keep their
            defaults in every trial.
        needs_differentiable: whether the solver needs a differentiable training loss over
            labelled data (gradients, least squares). Solvers that only rank a population by its
            losses (``Task.scored_losses``) set it to ``False`` and so also run control tasks;
            the default ``unsupported_reason`` refuses other tasks with a "not applicable"
            reason.
        mlp_only: why the solver needs the network to be an MLP (``tasks.mlp.ModelSpec``), as
            a predicate of its class name, e.g. "backpropagates through an MLP's dense layers,
            written out in NumPy"; empty (default) when it
            runs on any network, a torch module's included (``tasks/network.py``): a solver that
            only reads losses, or follows a gradient through ``solvers._torch.torch_forward``.
            The default ``unsupported_reason`` refuses a module's task with it, before anything
            else reads the MLP's layers.
    """

    name: ClassVar[str]
    paradigm: ClassVar[str]
    iteration: ClassVar[str]
    evaluations: ClassVar[str]
    caveat: ClassVar[str] = ""
    search_space: ClassVar[SearchSpace]
    stochastic: ClassVar[bool] = False
    single_start: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = True
    mlp_only: ClassVar[str] = ""

    def __post_init__(self) -> None:
        self.validate()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every solver's ``run`` checks its ``x0`` first (see ``check_x0``), so a caller of the
        # API gets one clear message instead of a failure deep inside torch, NumPy or PyGAD.
        super().__init_subclass__(**kwargs)
        run = cls.__dict__.get("run")
        if run is not None and not getattr(run, "__isabstractmethod__", False):
            cls.run = _checked_run(run)  # type: ignore[method-assign]

    def check_x0(self, task: Task, x0: Any) -> FlatParams:
        """``x0`` as a float64 vector of the task's parameter count, all finite; else raise."""
        owner = f"{type(self).__name__}.run"
        try:
            vector = np.asarray(x0, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise InvalidParameterError(
                f"The 'x0' parameter of {owner} must be a vector of {task.num_params} floats. "
                f"Got {_short(x0)} instead."
            ) from None
        if vector.shape != (task.num_params,):
            raise InvalidParameterError(
                f"The 'x0' parameter of {owner} must have shape ({task.num_params},) for task "
                f"{task.name!r} ({task.model.describe()}). Got shape {vector.shape} instead."
            )
        if not np.all(np.isfinite(vector)):
            bad = int(np.count_nonzero(~np.isfinite(vector)))
            raise InvalidParameterError(
                f"The 'x0' parameter of {owner} must be finite. Got {bad} NaN or infinite "
                f"entries instead."
            )
        return vector

    def memory_estimate(self, task: Task) -> int:
        """Bytes a run of this solver on ``task`` needs at its peak, roughly (an upper bound).

        The default counts the data, a few copies of the parameters and the activations of one
        forward pass of a population (``population_size``, when the solver has one). Solvers
        with larger state (a covariance matrix) override it.
        """
        population = getattr(self, "population_size", None) or 1
        return FLOAT_BYTES * (
            task_data_size(task)
            + population * (task.num_params + activation_size(task))
            + PARAM_COPIES * task.num_params
        )

    def validate(self) -> None:  # noqa: B027 - optional hook, most solvers override it
        """Check the hyperparameters; raise ``InvalidParameterError`` naming the bad one."""

    def unsupported_reason(self, task: Task) -> str | None:
        """Why this solver cannot run ``task``, or ``None`` when it can."""
        reason = mlp_unsupported_reason(self, task)
        if reason is not None:
            return reason
        if self.needs_differentiable and not task.differentiable:
            why = (  # labelled, but thresholds, quantized weights or a 0-1 loss (issue 23)
                f"whose network or loss has no useful gradient ({task.model.describe()}, loss "
                f"{task.loss!r})" if task.needs_straight_through else "scored by episodic return"
            )
            return (
                f"not applicable: {type(self).__name__} needs a differentiable training loss "
                f"over labelled data, and task {task.name!r} is a {task.kind} task {why}"
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
    def run(
        self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator
    ) -> str | None:
        """Train on ``task`` from ``x0`` until ``monitor.report`` returns ``True``.

        A solver that stops on its own (before the harness says so) may return a short note of
        why, e.g. the library's own stop conditions; the harness records it as ``stop_detail``.
        ``x0`` is checked (shape, finiteness) before any subclass's ``run`` sees it.

        Args:
            task: the problem (read only).
            x0: the seed's shared initial parameters.
            monitor: the harness; call ``report`` once per iteration, first before any update.
            rng: the run's random generator; the only source of randomness allowed.
        """

    #: Search-space entries that act on some tasks only (:meth:`search_space_for` says where).
    conditional_space: ClassVar[SearchSpace] = {}
    #: Where each entry of :attr:`conditional_space` acts, in words ("on a continuous action
    #: space"), for the study's description of what it searched; an entry left out reads "on
    #: some tasks".
    conditional_where: ClassVar[dict[str, str]] = {}

    @classmethod
    def describe_search(cls) -> str:
        """The space a tuning study searches, in one line: :attr:`search_space`, then each
        group of :attr:`conditional_space` entries after the tasks where it acts (so a
        ``tuned.json`` says which options were searched where)."""
        text = describe_space(cls.search_space)
        groups: dict[str, dict[str, Dimension]] = {}
        for name, dim in cls.conditional_space.items():
            groups.setdefault(cls.conditional_where.get(name, "on some tasks"), {})[name] = dim
        for where, space in groups.items():
            text += f"; {where} also {describe_space(space)}"
        return text

    @classmethod
    def search_space_for(cls, task: Task) -> SearchSpace:
        """The space a tuning study draws this solver's trials from on ``task``: its
        :attr:`search_space`, unless a subclass adds options that act on some tasks only."""
        del task
        return cls.search_space

    def config(self) -> dict[str, Any]:
        """The full configuration as a JSON-ready dict (the dataclass fields)."""
        return dataclasses.asdict(self)


def task_data_size(task: Task) -> int:
    """Numbers held by a task's data (train and test, inputs and targets)."""
    return sum(int(a.size) for a in (task.x_train, task.y_train, task.x_test, task.y_test))


def activation_size(task: Task) -> int:
    """Numbers one network's forward pass over the training set holds (every layer's output;
    for a torch module, every submodule's output, measured once on a probe input)."""
    if not isinstance(task.model, ModelSpec):
        return task.n_train * task.model.activation_floats
    return task.n_train * sum(task.model.layer_sizes[1:])


def mlp_unsupported_reason(solver: Solver, task: Task) -> str | None:
    """"not applicable" when ``solver`` needs an MLP (its ``mlp_only`` says why) and ``task``'s
    network is a torch module; ``None`` otherwise."""
    if not solver.mlp_only or isinstance(task.model, ModelSpec):
        return None
    return (
        f"not applicable: {type(solver).__name__} {solver.mlp_only}; task {task.name!r}'s "
        f"network is a torch module ({task.model.describe()}), not an MLP"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _checked_run(run: Callable[..., str | None]) -> Callable[..., str | None]:
    @functools.wraps(run)
    def checked(self: Solver, task: Task, x0: Any, monitor: Monitor,
                rng: np.random.Generator) -> str | None:
        return run(self, task, self.check_x0(task, x0), monitor, rng)

    return checked
