"""Nevergrad's ask/tell optimizers as three solvers: ``ngopt`` (its wizard), ``de`` and ``pso``.

Nevergrad is Meta's gradient-free optimization platform. Its ``NGOpt`` "wizard" picks an
algorithm from the problem's description (dimension, budget, parallelism, noise, variable types)
using a competence map built from large benchmark campaigns (Meunier et al., 2021); ``TwoPointsDE``
(differential evolution with two-point crossover) and ``PSO`` (particle swarm optimization) are
two of the population methods it draws on, run here on their own. One adapter,
:class:`NevergradSolver`, drives all three; each registered row is a small subclass that fixes
the nevergrad optimizer and its own defaults and search space.

One generation:

1. ask ``population_size`` candidates. The optimizer is built with
   ``num_workers=population_size``, nevergrad's declaration that this many points are evaluated
   at once, so it is designed for exactly this batch (DE and PSO keep a population of at least
   that many members; NGOpt takes the parallelism into its choice);
2. stack them into one ``(P, n)`` float64 array and score it with ONE ``task.scored_losses`` call
   (the benchmark's batched forward, or a batch of episodes on a control task);
3. tell each candidate its loss, in ask order;
4. report the recommendation (below), charging exactly what ``scored_losses`` returned.

The ask and tell steps are nevergrad's per-candidate API, so they are a Python loop over the
population; the scoring is not (``benchmarks/bench_nevergrad.py`` measures what the loop costs
next to a fully vectorized NumPy DE).

Pinned behaviours (``shared/STYLE.md`` §3.10):

* starting point: the parametrization is ``ng.p.Array(init=x0)`` with mutation scale ``sigma``,
  so nevergrad's standardized space is ``(x - x0) / sigma``: every optimizer samples its first
  points around the harness's shared ``x0`` (DE's and PSO's initial populations are
  ``x0 + sigma N(0, I)``; CMA-ES, when NGOpt picks it, starts its mean at ``x0`` with step
  ``sigma``), as every single-start solver starts from the same weights for a given seed;
* randomness: nevergrad's optimizers draw from their parametrization's ``random_state``, which
  would be seeded from the global ``numpy.random`` on first use. Here it is a
  ``numpy.random.RandomState`` seeded from the run's generator before the optimizer exists, so a
  run is reproducible and leaves the global generator alone (a test checks both on all three).
  One corner stays nevergrad's: its meta-model minimizes the surrogate with an inner optimizer on
  an unseeded parametrization, and if that Powell search fails, its DE backup seeds itself from
  the global generator;
* budget: NGOpt chooses its algorithm from the budget, in asks. It is derived from the harness's
  budget when the monitor carries one (``monitor.budget``, :meth:`NevergradSolver.budget_in_asks`),
  else the ``budget`` hyperparameter. ``run`` returns a note naming the algorithm NGOpt chose
  (``nevergrad NGOpt chose CMA (budget ... asks, ... workers, dimension ...)``). The harness keeps
  a note as ``stop_detail`` only when a run ends on its own, which these never do (nevergrad has
  no stop of its own in ask/tell), so the choice is also a method: the wizard's rules are a
  deterministic function of dimension, budget and workers, and
  :meth:`NGOptSolver.chosen_optimizer` gives the name for any task and budget without evaluating
  anything;
* non-finite losses (an overflowing network; a PSO particle at the edge of its bounded image,
  see :class:`PSOSolver`) are told as :data:`LOSS_CEILING`, so they rank last. Nevergrad would
  clip them itself at ``5e20``, with a ``LossTooLargeWarning`` in every run where a member
  overflows. ``InefficientSettingsWarning`` (nevergrad's advice about budget and parallelism) is
  silenced, since the harness fixes both, and so are the overflow warnings of SciPy's line search
  inside NGOpt's meta-model (its surrogate, not the benchmark's network). Every other warning and
  every error goes through;
* NumPy 2.4: nevergrad 1.0.12's meta-model, which NGOpt picks on budgets under 600 asks (and
  on small networks with many workers), dies on ``float()`` of a one-element array; this module
  gives that one call ``.item()`` semantics (see ``_item``).

Reported parameters: nevergrad's recommendation (``optimizer.provide_recommendation()``) when it
is a point that was evaluated, else the best point evaluated so far. A recommendation never costs
an evaluation: in ask/tell mode the optimizer has no access to the loss function, so it can only
pick among what it was told or compute a point (a tested fact: ``scored_losses`` is called once
per generation, no more). DE's recommendation is its best evaluated member and PSO's the best
point told; NGOpt's depends on the algorithm it picks, and CMA-ES recommends its distribution
mean, which is never evaluated. Reporting that mean would let the harness judge the target on a
point the solver never paid for, so the best evaluated point is reported instead (as ``cmaes``
reports pycma's ``xbest``).

References: Meunier, Rakotoarison, Wong, Roziere, Rapin, Teytaud, Moreau & Doerr, "Black-Box
Optimization Revisited: Improving Algorithm Selection Wizards Through Massive Benchmarking", IEEE
TEVC 26(3), 2022 (arXiv 2010.04542, 2021), https://doi.org/10.1109/TEVC.2021.3108185; Storn &
Price, "Differential Evolution", J. Global Optimization 11, 1997,
https://doi.org/10.1023/A:1008202821328; Kennedy & Eberhart, "Particle Swarm Optimization", ICNN
1995, https://doi.org/10.1109/ICNN.1995.488968; Zambrano-Bigiarini, Clerc & Rojas, "Standard
Particle Swarm Optimisation 2011 at CEC-2013", https://doi.org/10.1109/CEC.2013.6557848
(nevergrad's PSO); nevergrad: https://github.com/facebookresearch/nevergrad
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import nevergrad as ng
import numpy as np
from nevergrad.common import errors as ng_errors
from nevergrad.optimization import metamodel as _metamodel

from solvers.base import FLOAT_BYTES, Cost, Monitor, Solver, activation_size, task_data_size
from solvers.space import IntLogUniform, LogUniform, SearchSpace
from tasks._validation import check_interval, unknown_name
from tasks.base import Task
from tasks.mlp import FlatParams, FloatArray

#: Our registry name -> nevergrad's registry name. The three rows are fixed; a lookup of any
#: other name lists these.
NEVERGRAD_OPTIMIZERS: dict[str, str] = {"ngopt": "NGOpt", "de": "TwoPointsDE", "pso": "PSO"}

#: What a non-finite or huge loss is told as, so a diverged member ranks last. Below nevergrad's
#: own clip (``Optimizer.tell`` replaces any loss not below 5e20 by 5e20, with a warning).
LOSS_CEILING = 1.0e20

#: Nevergrad's own population floors: ``_DE`` keeps ``max(30, num_workers)`` members with the
#: "standard" population, ``_PSO`` ``max(40, num_workers)`` particles.
DE_POPULATION = 30
PSO_POPULATION = 40


#: What one iteration is and costs, the same for the three rows (each declares it, as data).
ITERATION = "one generation (population_size asks scored in one batch, then told)"
EVALUATIONS = (
    "None before the first report, then `population_size * n_train` per generation as the task "
    "charges them (on a control task: the environment steps taken). No backward passes."
)


def nevergrad_name(name: str) -> str:
    """Nevergrad's registry name for one of our rows (``ngopt``, ``de``, ``pso``).

    Raises:
        UnknownNameError: ``name`` is not one of ours; the message lists them.
    """
    try:
        return NEVERGRAD_OPTIMIZERS[name]
    except KeyError:
        raise unknown_name("nevergrad optimizer", name, NEVERGRAD_OPTIMIZERS) from None


def cma_population_size(num_params: int) -> int:
    """pycma's default population ``4 + floor(3 ln n)``, which nevergrad's CMA also uses."""
    return 4 + int(3 * math.log(num_params))


def archive_length(num_workers: int, num_params: int) -> int:
    """Most points a nevergrad archive holds (``utils.Pruning.sensible_default``)."""
    min_len = max(100, 7 * num_workers)
    one_gib = 1024**3 // (num_params * 8 * 2)
    return max(3 * min_len, min(10 * min_len, one_gib))


def _item(value: object) -> float:
    """``float`` for nevergrad's meta-model: a one-element array converts to its element."""
    return float(np.asarray(value).item())


# Nevergrad 1.0.12's meta-model (``metamodel.learn_on_k_best``, which NGOpt picks on small
# budgets) calls ``float()`` on the one-element array a scikit-learn model predicts. NumPy 2.4
# (the project's pin) raises ``TypeError`` there, and the meta-model catches only its own
# failure, so the whole run dies. (Nevergrad issue #1612 reported the same call when NumPy only
# warned; 1.0.12 is the newest release.) That module's only ``float`` call resolves the name
# through the module's globals first, so giving it ``_item`` runs the meta-model as nevergrad
# wrote it; the rest of nevergrad and every other ``float`` are untouched. Harmless once a
# release passes a scalar there.
_metamodel.float = _item


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence nevergrad's settings advice (the harness fixes budget and parallelism) and its
    meta-model's line-search overflows, around nevergrad's own calls only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ng_errors.InefficientSettingsWarning)
        # The meta-model minimizes its quadratic surrogate with SciPy's Powell; an unbounded
        # surrogate overflows the line search (a hundred warnings a run on ``and``), and
        # nevergrad then drops the surrogate's point. Nothing of the benchmark's networks.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy\.optimize")
        yield


@dataclass(frozen=True, kw_only=True)
class NevergradSolver(Solver):
    """The shared ask/tell adapter; each registered subclass fixes the optimizer (see module).

    Iteration: one generation (``population_size`` asks scored in one batch, then told).
    Evaluations: none before the first report (``x0`` itself), then ``population_size * n_train``
    per generation, as ``Task.scored_losses`` charges them (on a control task: the environment
    steps taken). No backward passes.

    Attributes:
        population_size: candidates asked per generation and nevergrad's ``num_workers``, at
            least 2; ``None`` means the subclass's default (:meth:`default_population_size`).
        sigma: nevergrad's mutation scale of the parametrization (the standard deviation of the
            initial samples around ``x0``, the unit of its standardized space), in (0, inf).
        budget: nevergrad's budget in asks when the harness states no evaluation or iteration
            limit (a bare monitor, or a seconds-only budget), at least 1.
    """

    paradigm: ClassVar[str] = "evolution"
    iteration: ClassVar[str] = ITERATION
    evaluations: ClassVar[str] = EVALUATIONS
    stochastic: ClassVar[bool] = True
    needs_differentiable: ClassVar[bool] = False
    #: How many archives the optimizer keeps (NGOpt: its own and the chosen optimizer's).
    archives: ClassVar[int] = 1

    population_size: int | None = None
    sigma: float = 0.5
    budget: int = 10_000

    def validate(self) -> None:
        owner = type(self).__name__
        if self.population_size is not None:
            check_interval(self.population_size, "population_size", owner, kind=int, low=2)
        check_interval(self.sigma, "sigma", owner, low=0.0, closed="neither")
        check_interval(self.budget, "budget", owner, kind=int, low=1)

    def default_population_size(self, task: Task) -> int:
        """The population when ``population_size`` is ``None`` (subclasses say which)."""
        return cma_population_size(task.num_params)

    def workers(self, task: Task) -> int:
        """Candidates per generation on ``task``."""
        if self.population_size is not None:
            return self.population_size
        return self.default_population_size(task)

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(self.workers(task) * task.n_train)

    def memory_estimate(self, task: Task) -> int:
        # On top of the default (data, one population's forward pass): nevergrad's archive of
        # evaluated points, each held twice (key and Parameter), and the members, parents and
        # trials it keeps. Measured: ``de`` on the 10,401-weight sine grew 354 MiB in 80
        # generations (its archive full); this says 364 MiB.
        n, workers = task.num_params, self.workers(task)
        kept = self.archives * 2 * archive_length(workers, n) + 8 * max(workers, PSO_POPULATION)
        return FLOAT_BYTES * (task_data_size(task) + workers * (n + activation_size(task))
                              + kept * n)

    def budget_in_asks(self, task: Task, monitor: object) -> int:
        """Nevergrad's budget for a run: how many candidates the harness's budget pays for.

        ``max_evaluations // n_train`` (on a control task ``n_train`` is a member's most
        environment steps, so the asks may run past this when episodes end early) and
        ``max_iterations * population_size``, the smaller when both are set, at least one
        generation. Without either (a monitor with no ``budget``, a seconds-only budget), the
        ``budget`` hyperparameter.
        """
        limits = getattr(monitor, "budget", None)
        workers = self.workers(task)
        asks = []
        max_evaluations = getattr(limits, "max_evaluations", None)
        if max_evaluations is not None:
            asks.append(int(max_evaluations) // task.n_train)
        max_iterations = getattr(limits, "max_iterations", None)
        if max_iterations is not None:
            asks.append(int(max_iterations) * workers)
        return max(workers, min(asks)) if asks else self.budget

    def optimizer(
        self, x0: FlatParams, budget: int, workers: int, rng: np.random.Generator
    ) -> ng.optimizers.base.Optimizer:
        """The nevergrad optimizer around ``x0``, seeded from ``rng`` (no ask made yet)."""
        parametrization = ng.p.Array(init=np.array(x0, dtype=np.float64)).set_mutation(
            sigma=self.sigma
        )
        # Before the optimizer exists: an unset random_state would be seeded from the global
        # numpy.random on first use.
        parametrization.random_state = np.random.RandomState(int(rng.integers(2**32)))
        factory = ng.optimizers.registry[nevergrad_name(self.name)]
        with _quiet():
            return factory(parametrization, budget=budget, num_workers=workers)

    def note(self, optimizer: ng.optimizers.base.Optimizer, budget: int, workers: int) -> str:
        """One line naming the nevergrad optimizer that ran and the settings it was given."""
        return (f"nevergrad {nevergrad_name(self.name)} (budget {budget} asks, {workers} "
                f"workers, dimension {optimizer.dimension})")

    def run(
        self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator
    ) -> str | None:
        workers = self.workers(task)
        budget = self.budget_in_asks(task, monitor)
        optimizer = self.optimizer(x0, budget, workers, rng)
        note = self.note(optimizer, budget, workers)
        if monitor.report(x0, evaluations=0):
            return note
        best_loss, best = math.inf, x0
        while True:
            with _quiet():
                candidates = [optimizer.ask() for _ in range(workers)]
            population = np.stack([c.value for c in candidates]).astype(np.float64, copy=False)
            losses, spent = task.scored_losses(population)
            told = told_losses(losses)
            with _quiet():
                for candidate, loss in zip(candidates, told.tolist(), strict=True):
                    optimizer.tell(candidate, loss)
                recommended = optimizer.provide_recommendation()
            i = int(np.argmin(told))
            if told[i] < best_loss:
                best_loss, best = float(told[i]), population[i].copy()
            if monitor.report(self.reported(recommended, best), evaluations=spent):
                return note

    @staticmethod
    def reported(recommended: ng.p.Parameter, best: FlatParams) -> FlatParams:
        """The recommendation when nevergrad was told its loss (it was evaluated), else ``best``.

        A told candidate carries its loss; a point the optimizer computed (CMA-ES's mean, a
        meta-model's optimum) has none.
        """
        if recommended.loss is None:
            return best
        return np.asarray(recommended.value, dtype=np.float64)


def told_losses(losses: FloatArray) -> FloatArray:
    """Losses as nevergrad is told them: non-finite ones as :data:`LOSS_CEILING` (rank last)."""
    clipped = np.nan_to_num(np.asarray(losses, dtype=np.float64), nan=LOSS_CEILING,
                            posinf=LOSS_CEILING, neginf=-LOSS_CEILING)
    return np.minimum(clipped, LOSS_CEILING)


@dataclass(frozen=True, kw_only=True)
class NGOptSolver(NevergradSolver):
    """Nevergrad's NGOpt wizard: picks an algorithm from dimension, budget and parallelism.

    Iteration: one generation (``population_size`` asks scored in one batch, then told).
    Evaluations: none before the first report (``x0`` itself), then ``population_size * n_train``
    per generation, as ``Task.scored_losses`` charges them (on a control task: the environment
    steps taken). No backward passes.

    On the benchmark's continuous, deterministic, unbounded problems NGOpt (nevergrad 1.0.12's
    ``NGOpt39`` rules) mostly picks CMA-ES for up to 2,000 weights and DE above; a meta-model
    (quadratic surrogate) variant when the budget is only a few generations. The run's note names
    the choice (:meth:`chosen_optimizer`).

    Attributes:
        population_size: asks per generation (``num_workers``), at least 2. Default ``None``:
            pycma's ``4 + floor(3 ln n)``, which is also the population of nevergrad's CMA
            (``max(that, num_workers)``), NGOpt's usual pick: one generation is then one CMA-ES
            generation, and NGOpt is told the parallelism it actually gets.
        sigma: mutation scale around ``x0``, in (0, inf). Default 0.5, the ``cmaes`` solver's
            ``sigma0`` (pycma's advice of a quarter of the region where the optimum is expected;
            the initial weights have a scale of about 1), so the evolution arm's samplers start
            with the same spread; nevergrad's own ``Array`` default is 1.0.
        budget: NGOpt's budget in asks when the harness states no evaluation or iteration limit,
            at least 1. Default 10,000: the smoke suite's XOR budget (40,000 evaluations over 4
            examples), a stated middle of the project's budgets, not a tuned value.
    """

    name: ClassVar[str] = "ngopt"
    evaluations: ClassVar[str] = EVALUATIONS
    archives: ClassVar[int] = 2
    search_space: ClassVar[SearchSpace] = {
        "sigma": LogUniform(0.01, 2.0),
        "population_size": IntLogUniform(4, 200),
    }

    population_size: int | None = None

    def memory_estimate(self, task: Task) -> int:
        # NGOpt may pick CMA-ES up to 2,000 weights: its covariance matrix and eigenvectors.
        n = task.num_params
        cma = 3 * n * n if n <= 2000 else 0
        return super().memory_estimate(task) + FLOAT_BYTES * cma

    def note(self, optimizer: ng.optimizers.base.Optimizer, budget: int, workers: int) -> str:
        return (f"nevergrad NGOpt chose {optimizer.optim.name} (budget {budget} asks, {workers} "
                f"workers, dimension {optimizer.dimension})")

    def chosen_optimizer(self, task: Task, budget: int) -> str:
        """The algorithm NGOpt picks on ``task`` with ``budget`` asks (nothing is evaluated)."""
        check_interval(budget, "budget", "NGOptSolver.chosen_optimizer", kind=int, low=1)
        x0 = np.zeros(task.num_params)
        optimizer = self.optimizer(x0, budget, self.workers(task), np.random.default_rng(0))
        return str(optimizer.optim.name)


@dataclass(frozen=True, kw_only=True)
class DESolver(NevergradSolver):
    """Nevergrad's TwoPointsDE: differential evolution with two-point crossover.

    Iteration: one generation (``population_size`` asks scored in one batch, then told).
    Evaluations: none before the first report (``x0`` itself), then ``population_size * n_train``
    per generation, as ``Task.scored_losses`` charges them (on a control task: the environment
    steps taken). No backward passes.

    Nevergrad's DE is current-to-best/1: each member's trial is
    ``x + 0.8 (a - b) + 0.8 (best - x)``, two-point crossed with ``x``, and replaces ``x`` when
    not worse. The first ``max(30, population_size)`` asks are the initial population.

    Attributes:
        population_size: asks per generation (``num_workers``), at least 2. Default 30:
            nevergrad's DE population (``max(30, num_workers)``), so one generation is one pass
            over the population. Below 30 nevergrad still keeps 30 members and a generation
            renews ``population_size`` of them.
        sigma: spread of the initial population around ``x0``, in (0, inf). Default 0.5, as for
            ``ngopt`` (the ``cmaes`` solver's ``sigma0``); nevergrad's ``Array`` default is 1.0.
        budget: nevergrad's budget in asks without a harness limit, at least 1; DE does not
            use it. Default 10,000, as for ``ngopt``.
    """

    name: ClassVar[str] = "de"
    evaluations: ClassVar[str] = EVALUATIONS
    search_space: ClassVar[SearchSpace] = {
        "sigma": LogUniform(0.01, 2.0),
        "population_size": IntLogUniform(DE_POPULATION, 300),
    }

    population_size: int | None = DE_POPULATION

    def default_population_size(self, task: Task) -> int:
        del task
        return DE_POPULATION


@dataclass(frozen=True, kw_only=True)
class PSOSolver(NevergradSolver):
    """Nevergrad's PSO: particle swarm optimization (SPSO-2011 coefficients).

    Iteration: one generation (``population_size`` asks scored in one batch, then told).
    Evaluations: none before the first report (``x0`` itself), then ``population_size * n_train``
    per generation, as ``Task.scored_losses`` charges them (on a control task: the environment
    steps taken). No backward passes.

    Each particle moves with inertia ``1 / (2 ln 2)`` and pulls ``0.5 + ln 2`` towards its own
    and the swarm's best, in nevergrad's ``arctan`` image of the standardized space, the interval
    (0, 1) per weight. The particles start at ``x0 + sigma N(0, I)``, but their velocities start
    uniform in (-1, 1) in that image, so the first moves already reach far points; a particle
    that overshoots the image is clipped to its edge, which maps back to weights of about
    ``1.6e16 * sigma``. Such a network saturates, or overflows and ranks last
    (:data:`LOSS_CEILING`); nevergrad's behaviour, kept as it is.

    Attributes:
        population_size: asks per generation (``num_workers``), at least 2. Default 40:
            nevergrad's swarm size (``max(40, num_workers)``), so one generation moves every
            particle once. Below 40 nevergrad still keeps 40 particles.
        sigma: the standardized space's unit around ``x0``, in (0, inf). Default 0.5, as for
            ``ngopt``; nevergrad's ``Array`` default is 1.0.
        budget: nevergrad's budget in asks without a harness limit, at least 1; PSO does not
            use it. Default 10,000, as for ``ngopt``.
    """

    name: ClassVar[str] = "pso"
    evaluations: ClassVar[str] = EVALUATIONS
    search_space: ClassVar[SearchSpace] = {
        "sigma": LogUniform(0.01, 2.0),
        "population_size": IntLogUniform(PSO_POPULATION, 400),
    }

    population_size: int | None = PSO_POPULATION

    def default_population_size(self, task: Task) -> int:
        del task
        return PSO_POPULATION
