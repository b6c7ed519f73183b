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
  the harness decides when to stop (``on_generation`` returns ``"stop"``);
* the engine is :class:`BatchedFitnessGA`, a ``pygad.GA`` subclass whose fitness bookkeeping is
  array code (PyGAD's ``tuple`` cache keys and per-value checks cost more than the GA itself at
  P = 50); it runs the same generations as stock ``pygad.GA``, bit for bit.

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
from numpy.typing import NDArray

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

IntArray = NDArray[np.intp]

OPERATOR_SETS: tuple[str, ...] = ("vectorized", "pygad")
FITNESS_DTYPES: tuple[str, ...] = ("float64", "float32")
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



def _row_fingerprints(rows: FloatArray) -> NDArray[np.uint64]:
    """One integer per row that equal rows (by ``==``, gene by gene) always share.

    ``+ 0.0`` maps -0.0 to 0.0 (the two compare equal); the bits are then summed as unsigned
    integers, which wrap and are exact in any order, so no BLAS kernel or alignment can make two
    equal rows disagree. Rows holding NaN may share a fingerprint, but never pass the exact check.
    """
    canonical = np.ascontiguousarray(rows, dtype=np.float64) + 0.0
    return canonical.view(np.uint64).sum(axis=1, dtype=np.uint64)


def _first_matches(population: FloatArray, pool: FloatArray) -> tuple[IntArray, IntArray]:
    """Rows of ``population`` equal to a row of ``pool``, and the first such pool row of each.

    The same answer as PyGAD's ``tuple(row) in {tuple(p): first index}`` lookup: exact
    gene-by-gene equality, the first matching pool row wins. Fingerprints pick the candidate pairs;
    each candidate is then compared exactly, so the fingerprint only has to be necessary.

    Returns:
        ``(rows, cols)``: ascending population rows, and for each the first equal pool row.
    """
    if pool.shape[0] == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    same = _row_fingerprints(population)[:, None] == _row_fingerprints(pool)[None, :]
    rows, cols = np.nonzero(same)  # row-major: pool rows ascend within each population row
    if rows.size:
        equal = np.all(population[rows] == pool[cols], axis=1)
        rows, cols = rows[equal], cols[equal]
        first = np.ones(rows.size, dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        rows, cols = rows[first], cols[first]
    return rows, cols


class BatchedFitnessGA(pygad.GA):
    """``pygad.GA`` with array-level fitness bookkeeping; the same generations, bit for bit.

    PyGAD documents ``cal_pop_fitness()`` and ``best_solution()`` as methods of ``pygad.GA``;
    this subclass overrides both and keeps everything else (the loop, callbacks, operators,
    stop criteria, ``operators="pygad"``). Stock PyGAD builds a ``tuple`` cache key of every member,
    every pool row and every elite and validates each fitness value in Python, twice per
    generation: at P = 50 that was most of a generation once fitness and operators are arrays
    (PyGAD issues #79 and #341 ask for the same). Here:

    * ``cal_pop_fitness``: the members PyGAD would take from its cache (an elite of the previous
      generation, or with ``keep_parents != 0`` a copy of a mating-pool row) reuse the cached value
      by index, found by :func:`_first_matches` with PyGAD's exact-equality, first-match rules;
      the others are scored in one call of the batched fitness, in population order, and counted
      in ``num_fitness_evaluations`` as PyGAD counts them. NaN is rejected as PyGAD rejects it.
    * ``best_solution``: the best member is ``argmax`` of the fitness array it is given (PyGAD
      passes ``last_generation_fitness``), with no per-value validation loop.

    Any setting this fast path does not cover (saved solution histories, parallel fitness,
    unbatched or multi-objective fitness, calls outside ``run()``) goes to PyGAD's own methods.
    ``tests/solvers/test_ga.py`` checks generation by generation against stock ``pygad.GA``.
    """

    def _fast_path(self) -> bool:
        return (
            bool(getattr(self, "_fitness_run_active", False))
            and self.valid_parameters
            and not self.save_solutions
            and not self.save_best_solutions
            and self.parallel_processing is None
            and self.fitness_batch_size is not None
            and self.fitness_batch_size >= len(self.population)
            and isinstance(self.population, np.ndarray)
            and self.population.dtype == np.float64
        )

    def cal_pop_fitness(self) -> FloatArray:
        if not self._fast_path():
            return super().cal_pop_fitness()
        population = self.population
        size = len(population)
        fitness = np.empty(size)
        unresolved = np.ones(size, dtype=bool)
        # PyGAD looks a member up among the previous generation's elites first, then (with
        # keep_parents != 0) among the mating pool's rows: one pool, elites first, and the first
        # match wins, so its cached value is the one PyGAD would take.
        pools, origins = [], []
        if self.keep_elitism > 0 and self.last_generation_elitism is not None:
            pools.append(self.last_generation_elitism)
            origins.append(self.last_generation_elitism_indices)
        if self.keep_parents != 0 and self.last_generation_parents is not None:
            pools.append(self.last_generation_parents)
            origins.append(self.last_generation_parents_indices)
        if pools:
            pool = np.concatenate([np.asarray(p, dtype=np.float64) for p in pools])
            rows, cols = _first_matches(population, pool)
            previous = np.concatenate([np.asarray(o, dtype=np.intp) for o in origins])
            fitness[rows] = self.previous_generation_fitness[previous[cols]]
            unresolved[rows] = False
        cached = ~unresolved
        if np.isnan(fitness[cached]).any():
            raise ValueError("cached fitness contains an invalid fitness value. NaN is not "
                             "supported.")
        missing = np.flatnonzero(unresolved)
        if missing.size:
            values = self.fitness_func(self, population[missing, :], missing.tolist())
            self.num_fitness_evaluations += int(missing.size)
            values = np.asarray(values)
            if values.dtype.kind not in "fiu":  # PyGAD's per-value checks name the bad value
                values = self._validate_population_fitness(list(values), "fitness_func")
            if values.shape != (missing.size,):
                raise ValueError(f"BatchedFitnessGA expects one number per solution from the "
                                 f"batched fitness_func: {missing.size} values, got shape "
                                 f"{values.shape}.")
            if np.isnan(values).any():
                raise ValueError("fitness_func contains an invalid fitness value. NaN is not "
                                 "supported.")
            fitness[missing] = values
        return fitness

    def best_solution(self, pop_fitness: Any = None) -> tuple[FloatArray, Any, int]:
        if (
            not isinstance(pop_fitness, np.ndarray)
            or pop_fitness.ndim != 1
            or pop_fitness.dtype.kind != "f"
            or len(pop_fitness) != len(self.population)
            or np.isnan(pop_fitness).any()
        ):
            return super().best_solution(pop_fitness)
        index = int(np.argmax(pop_fitness))
        return self.population[index, :].copy(), pop_fitness[index], index

    def steady_state_selection(self, fitness: Any, num_parents: int) -> tuple[FloatArray, Any]:
        """The ``num_parents`` fittest members, best first: PyGAD's elitism and ``sss``.

        PyGAD sorts single-objective fitness with ``sorted(range(P), key=...)`` and reverses the
        result (ties: the later member first); a stable ascending argsort, reversed, is the same
        order without a Python key call per member.
        """
        if (
            not isinstance(fitness, np.ndarray)
            or fitness.ndim != 1
            or fitness.dtype.kind != "f"
            or np.isnan(fitness).any()
            or self.population.dtype != np.float64
        ):
            return super().steady_state_selection(fitness, num_parents)
        indices = np.argsort(fitness, kind="stable")[::-1][:num_parents].astype(np.int64)
        return self.population[indices, :].copy(), indices


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
        dtype: precision of the fitness forward, ``float64`` or ``float32`` (about twice the
            arithmetic rate on large networks; the genes, the operators and the harness's target
            check stay float64).
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
    #: The ``pygad.GA`` class that runs the generations; a class attribute, not a hyperparameter
    #: (it changes speed, never results). Tests swap in stock ``pygad.GA`` to compare.
    engine: ClassVar[type[pygad.GA]] = BatchedFitnessGA
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
    dtype: str = "float64"

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
        check_options(self.dtype, "dtype", owner, FITNESS_DTYPES)
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
        tracker = _Tracker(task, monitor, self.dtype)
        ga = self.engine(
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

    def __init__(self, task: Task, monitor: Monitor, dtype: str = "float64") -> None:
        self.task = task
        self.monitor = monitor
        self.dtype = dtype
        self.best_params: FlatParams | None = None
        self.best_loss = np.inf
        self.spent = 0  # evaluations charged by the task for every batch scored so far
        self.reported = 0  # of those, already charged in a report
        self.started = False

    def fitness(self, ga: Any, solutions: FloatArray, indices: Any) -> FloatArray:
        """PyGAD's batched fitness: ``-loss`` of each row of ``solutions``."""
        del ga, indices
        if self.dtype == "float64":
            losses, spent = self.task.scored_losses(solutions)
        else:  # single-precision fitness (supervised tasks); the same charge per member
            losses = self.task.losses(solutions, dtype=self.dtype)
            spent = len(solutions) * self.task.n_train
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
