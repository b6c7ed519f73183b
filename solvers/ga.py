"""A genetic algorithm on PyGAD, with a batched fitness and vectorized operators.

``pygad.GA`` is the engine: its generational loop, elitism, fitness cache and callbacks. The
adapter pins what a benchmark needs (see ``shared/STYLE.md`` §3.10):

* fitness is ``-loss`` of the task for the whole population in one batched forward
  (``fitness_batch_size = population_size``), never one network at a time;
* the initial population is the harness's ``x0`` plus draws from the task's own initialisation
  scheme with the run's generator, so runs are reproducible and paired with other solvers;
* selection, crossover and mutation are vectorized NumPy callables (``solvers/_ga_operators.py``)
  unless ``operators="pygad"`` asks for PyGAD's built-ins of the same names;
* the best-so-far is tracked here, inside the fitness wrapper, and reported every generation;
  the harness decides when to stop (``on_generation`` returns ``"stop"``).

References: Holland, *Adaptation in Natural and Artificial Systems*, 1975; Gad, "PyGAD: An
Intuitive Genetic Algorithm Python Library", 2021, https://arxiv.org/abs/2106.06158;
https://pygad.readthedocs.io
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pygad

from solvers._ga_operators import (
    CROSSOVERS,
    MUTATIONS,
    SELECTIONS,
    PyGADCrossover,
    PyGADMutation,
    PyGADSelection,
)
from solvers.base import Cost, Monitor, Solver
from solvers.space import IntLogUniform, LogUniform, SearchSpace, Uniform
from tasks._validation import check_interval, check_options
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, FloatArray

OPERATOR_SETS: tuple[str, ...] = ("vectorized", "pygad")
#: PyGAD's built-in single-objective operators, by the names PyGAD uses. ``none`` is PyGAD's
#: ``crossover_type=None``. Adaptive mutation is left out: it needs a pair of rates and evaluates
#: offspring an extra time.
PYGAD_SELECTIONS: tuple[str, ...] = ("sss", "tournament", "rank", "rws", "sus", "random")
PYGAD_CROSSOVERS: tuple[str, ...] = (
    "single_point", "two_points", "uniform", "scattered", "sbx", "none"
)
PYGAD_MUTATIONS: tuple[str, ...] = ("random", "polynomial", "swap", "inversion", "scramble")

#: PyGAD needs a generation count; this one is never reached in practice, so the harness (budget,
#: target, divergence) decides when a run ends. If PyGAD ever ran out, ``run`` would return
#: without being told to stop, which the harness records as ``solver_finished``.
UNBOUNDED_GENERATIONS = 2**62

# PyGAD's default logger prints every exception (and its traceback) to the console before
# re-raising it. Give it a silent logger of its own: errors still propagate to the harness.
_PYGAD_LOGGER = logging.getLogger(__name__ + ".pygad")
_PYGAD_LOGGER.addHandler(logging.NullHandler())
_PYGAD_LOGGER.propagate = False


class _StopBeforeFirstGeneration(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised from the fitness wrapper when the harness stops at the initial report.

    PyGAD offers no hook between scoring the initial population and the first generation
    (``on_generation`` is not called for generation 0, PyGAD issue #257), so an exception is the
    only way to stop there without evaluating a generation the budget did not allow.
    """


@dataclass(frozen=True, kw_only=True)
class GASolver(Solver):
    """Generational GA with elitism on ``pygad.GA``; one batched forward per generation.

    Defaults and their origin: PyGAD's own defaults wherever PyGAD has one: steady-state
    (``sss``) parent selection, single-point crossover, ``random`` mutation adding U(-1, 1) to
    10% of the genes, one elite (``keep_elitism=1``). PyGAD has no default population or mating
    pool size; 50 members with a pool of 2/5 of them (20) is a conventional size, not chosen on
    this suite. The ``tuned`` arm takes the mutation scale, mutation probability and population
    size the tuning study chose per task. (An earlier version picked tournament selection, 40%
    mutation and two elites by success rate on XOR 2-2-1 over seeds that included the evaluation
    seeds; those values are gone from the defaults for that reason.)

    Iteration: one generation (selection, crossover, mutation, scoring the new population).
    Evaluations: ``population_size * n_train`` forward passes for the initial population, then
    what PyGAD actually scored each generation times ``n_train`` (``Task.scored_losses``; on a
    control task, the environment steps taken): elites (and offspring identical
    to a parent) keep their cached fitness, so usually ``(population_size - keep_elitism) *
    n_train``. No backward passes.

    Attributes:
        population_size: networks per generation, at least 2. Member 0 of the initial population
            is the harness's ``x0``; the others are drawn with the task's initialisation scheme.
        num_parents: size of the mating pool, in [1, population_size]; ``None`` means 2/5 of
            the population (at least 2), i.e. 20 of 50.
        parent_selection: ``sss`` (truncation), ``tournament``, ``rank``, ``rws``, ``sus`` or
            ``random``.
        tournament_size: members per tournament (``tournament`` only), in [1, population_size].
        crossover: ``single_point``, ``two_points``, ``uniform``, ``scattered`` or ``none``
            (``sbx`` too with ``operators="pygad"``).
        crossover_probability: chance that an offspring is recombined rather than copied from a
            parent, in [0, 1]. With ``operators="pygad"``, PyGAD's meaning applies (the chance
            that a parent is eligible for mating), and 1 means PyGAD's default (always recombine).
        mutation: ``random`` (adds U(-scale, scale), PyGAD's operator of that name) or
            ``gaussian`` (adds N(0, scale^2)); ``operators="pygad"`` offers PyGAD's ``random``,
            ``polynomial``, ``swap``, ``inversion`` and ``scramble``.
        mutation_probability: per-gene mutation probability, in [0, 1].
        mutation_scale: mutation step size, in (0, inf).
        keep_elitism: best members copied unchanged into the next generation, in
            [0, population_size - 1]. With 0 the GA is fully generational.
        operators: ``vectorized`` (NumPy operators from ``solvers/_ga_operators.py``) or
            ``pygad`` (PyGAD's built-in Python operators, much slower per generation).
    """

    name: ClassVar[str] = "ga"
    paradigm: ClassVar[str] = "evolution"
    iteration: ClassVar[str] = "one generation (population_size networks scored in one batch)"
    evaluations: ClassVar[str] = (
        "`population_size * n_train` forward passes for the initial population, then what "
        "PyGAD actually scored each generation times `n_train`: elites (and offspring "
        "identical to a parent) keep their cached fitness, so usually "
        "`(population_size - keep_elitism) * n_train`."
    )
    caveat: ClassVar[str] = (
        "**PyGAD overhead.** The genetic algorithm runs on PyGAD's own loop; its "
        "Python-level selection, crossover and mutation dominate the time on tiny networks "
        "even with a batched fitness, so its seconds measure the PyGAD engine as much as the "
        "algorithm."
    )
    search_space: ClassVar[SearchSpace] = {
        "mutation_scale": LogUniform(0.01, 1.0),
        "mutation_probability": Uniform(0.02, 0.5),
        "population_size": IntLogUniform(16, 256),
    }
    stochastic: ClassVar[bool] = True
    # A population method: x0 is member 0 of the initial population (so runs stay paired with the
    # single-start solvers), but the first report is the best of that population, not x0 itself.
    single_start: ClassVar[bool] = False
    needs_differentiable: ClassVar[bool] = False

    population_size: int = 50
    num_parents: int | None = None
    parent_selection: str = "sss"
    tournament_size: int = 3
    crossover: str = "single_point"
    crossover_probability: float = 1.0
    mutation: str = "random"
    mutation_probability: float = 0.1
    mutation_scale: float = 1.0
    keep_elitism: int = 1
    operators: str = "vectorized"

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.population_size, "population_size", owner, kind=int, low=2)
        if self.num_parents is not None:
            check_interval(
                self.num_parents, "num_parents", owner, kind=int, low=1, high=self.population_size
            )
        check_interval(
            self.tournament_size, "tournament_size", owner, kind=int, low=1,
            high=self.population_size,
        )
        check_interval(
            self.crossover_probability, "crossover_probability", owner, low=0.0, high=1.0
        )
        check_interval(self.mutation_probability, "mutation_probability", owner, low=0.0, high=1.0)
        check_interval(self.mutation_scale, "mutation_scale", owner, low=0.0, closed="neither")
        check_interval(
            self.keep_elitism, "keep_elitism", owner, kind=int, low=0,
            high=self.population_size - 1,
        )
        check_options(self.operators, "operators", owner, OPERATOR_SETS)
        vectorized = self.operators == "vectorized"
        other = "pygad" if vectorized else "vectorized"
        for field, value, here, there in (
            ("parent_selection", self.parent_selection, SELECTIONS, PYGAD_SELECTIONS),
            ("crossover", self.crossover, CROSSOVERS, PYGAD_CROSSOVERS),
            ("mutation", self.mutation, MUTATIONS, PYGAD_MUTATIONS),
        ):
            allowed, elsewhere = (here, there) if vectorized else (there, here)
            try:
                check_options(value, field, owner, allowed)
            except InvalidParameterError as error:
                hint = (
                    f" ({value!r} is available with operators={other!r}.)"
                    if value in elsewhere else ""
                )
                raise InvalidParameterError(f"{error}{hint}") from None

    @property
    def mating_pool_size(self) -> int:
        """``num_parents``, or its default for this population size."""
        if self.num_parents is not None:
            return self.num_parents
        return min(self.population_size, max(2, 2 * self.population_size // 5))

    def initial_cost(self, task: Task) -> Cost:
        return Cost(self.population_size * task.n_train)

    def iteration_cost(self, task: Task) -> Cost:
        # An upper bound: PyGAD skips cached members, so a generation usually costs less.
        return Cost(self.population_size * task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        population = np.vstack([x0[None, :], task.model.init_params(rng, self.population_size - 1)])
        tracker = _Tracker(task, monitor)
        ga = pygad.GA(
            num_generations=UNBOUNDED_GENERATIONS,
            num_parents_mating=self.mating_pool_size,
            fitness_func=tracker.fitness,
            # One call scores every member PyGAD has not cached: one batched forward.
            fitness_batch_size=self.population_size,
            initial_population=population,
            gene_type=float,
            keep_elitism=self.keep_elitism,
            # keep_parents only matters without elitism; PyGAD's default (-1) would then carry
            # the whole mating pool over, which is not a generational GA. With elitism it is
            # left unset, which also keeps PyGAD's cache of offspring identical to a parent.
            keep_parents=0 if self.keep_elitism == 0 else None,
            on_generation=tracker.on_generation,
            # PyGAD seeds its own generators only (3.9); they drive its built-in operators.
            random_seed=int(rng.integers(0, 2**32)),
            suppress_warnings=True,
            logger=_PYGAD_LOGGER,
            **self._operator_arguments(rng),
        )
        try:
            ga.run()
        except _StopBeforeFirstGeneration:
            return

    def _operator_arguments(self, rng: np.random.Generator) -> dict[str, Any]:
        """The ``pygad.GA`` keywords that choose and tune the operators."""
        if self.operators == "pygad":
            return {
                "parent_selection_type": self.parent_selection,
                "K_tournament": self.tournament_size,
                "crossover_type": None if self.crossover == "none" else self.crossover,
                # PyGAD's None is "always recombine" with its own mate pairing.
                "crossover_probability": (
                    None if self.crossover_probability == 1.0 else self.crossover_probability
                ),
                "mutation_type": self.mutation,
                "mutation_probability": self.mutation_probability,
                "random_mutation_min_val": -self.mutation_scale,
                "random_mutation_max_val": self.mutation_scale,
            }
        operator_rng = rng.spawn(1)[0]
        return {
            "parent_selection_type": PyGADSelection(
                self.parent_selection, operator_rng, self.tournament_size
            ),
            "crossover_type": PyGADCrossover(
                self.crossover, operator_rng, self.crossover_probability
            ),
            "mutation_type": PyGADMutation(
                self.mutation, operator_rng, self.mutation_probability, self.mutation_scale
            ),
        }


class _Tracker:
    """The fitness wrapper and ``on_generation`` callback: best-so-far, accounting, reports.

    The best-so-far is kept here rather than read from ``ga.best_solution()``: after an early
    stop PyGAD's answer can lag a generation (PyGAD issue #291), and elites aside, a good member
    of one generation may be lost by the next.
    """

    def __init__(self, task: Task, monitor: Monitor) -> None:
        self.task = task
        self.monitor = monitor
        self.best_params: FlatParams | None = None
        self.best_loss = np.inf
        self.spent = 0  # evaluations charged by the task for every batch scored so far
        self.reported = 0  # of those, already charged in a report
        self.started = False

    def fitness(self, ga: Any, solutions: FloatArray, indices: Any) -> FloatArray:
        """PyGAD's batched fitness: ``-loss`` of each row of ``solutions``."""
        del ga, indices
        losses, spent = self.task.scored_losses(solutions)
        self.spent += spent
        # PyGAD rejects NaN fitness; a NaN loss is as bad as it gets, and never "best".
        losses = np.where(np.isnan(losses), np.inf, losses)
        best = int(np.argmin(losses))
        if losses[best] < self.best_loss or self.best_params is None:
            self.best_loss = float(losses[best])
            self.best_params = solutions[best].copy()
        if not self.started:
            # The first call scores the initial population: the starting point, reported before
            # any generation.
            self.started = True
            self.reported = self.spent
            if self.monitor.report(self.best_params, evaluations=self.spent):
                raise _StopBeforeFirstGeneration
        # Fitness is maximised: -loss keeps the loss's scale, where 1/loss would distort
        # selection pressure.
        return -losses

    def on_generation(self, ga: Any) -> str | None:
        """Report the generation PyGAD just finished; ``"stop"`` ends ``ga.run()``."""
        # Only the solutions PyGAD actually scored were charged (cache hits are free).
        spent, self.reported = self.spent - self.reported, self.spent
        assert self.best_params is not None  # the initial population has been scored
        if self.monitor.report(self.best_params, evaluations=spent):
            return "stop"
        return None
