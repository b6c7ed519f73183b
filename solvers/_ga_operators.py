"""Vectorized NumPy genetic operators, plugged into ``pygad.GA`` through its callable hooks.

Why this module exists: once fitness is one batched forward, PyGAD's own operators set the pace
of a generation. Its built-in mutation loops in Python over every offspring and every gene (about
62% of a generation on XOR at P = 50, and ~1.1 us x population x genes in general; see
``shared/reference/neuroevolution.md``). PyGAD accepts callables for ``parent_selection_type``,
``crossover_type`` and ``mutation_type``, so the operators below replace the hot loops with a few
whole-array NumPy calls while PyGAD stays the engine (its loop, elitism, fitness cache and
callbacks).

What these operators cannot remove is PyGAD's fitness bookkeeping: each generation it builds a
``tuple`` cache key of every member (and of the pool and the elites) and validates every fitness
value twice in Python. ``solvers/ga.py``'s ``BatchedFitnessGA`` overrides PyGAD's documented
``cal_pop_fitness()``, ``best_solution()`` and ``steady_state_selection()`` with array code that
gives the same generations bit for bit (tested against stock ``pygad.GA``).

Every operator draws from one ``numpy.random.Generator`` that the solver derives from the run's
seed, never from global state, so runs are reproducible and independent of each other.

Operator semantics (where they differ from PyGAD's built-ins of the same name, it is said here):

* Selection returns ``num_parents`` rows of the population and their indices.

  - ``sss`` (steady state): the ``num_parents`` fittest, best first (truncation selection).
  - ``tournament``: each parent is the fittest of ``tournament_size`` members drawn uniformly
    with replacement.
  - ``rank``: drawn with replacement, probability proportional to rank (worst = 1).
  - ``rws`` (roulette wheel) and ``sus`` (stochastic universal sampling): probability
    proportional to fitness shifted so the worst finite member has weight 0, as PyGAD does for
    negative fitness; all-equal fitness means uniform.
  - ``random``: uniform with replacement.

* Crossover builds each offspring from two *distinct* mates drawn uniformly from the mating pool
  (PyGAD pairs pool rows ``k`` and ``k + 1``). With probability ``1 - crossover_probability`` the
  offspring is a plain copy of its first mate (the textbook meaning; PyGAD's
  ``crossover_probability`` instead filters which parents are eligible).

  - ``single_point``: genes before a cut in ``[1, n_genes)`` from the first mate, the rest from
    the second.
  - ``two_points``: genes in ``[c1, c2)`` from the second mate, the rest from the first.
  - ``uniform`` / ``scattered``: each gene from either mate with probability 1/2 (PyGAD's two
    names for the same mechanism).
  - ``none``: no crossover; offspring are copies of the pool rows in turn, so ``sss`` + ``none``
    + ``gaussian`` is the truncation-selection GA of Such et al. (2017).

* Mutation changes each gene independently with probability ``mutation_probability``.

  - ``random``: adds U(-``mutation_scale``, ``mutation_scale``): PyGAD's ``random`` mutation
    with ``mutation_probability`` and ``random_mutation_min_val = -scale``,
    ``random_mutation_max_val = scale``.
  - ``gaussian``: adds N(0, ``mutation_scale``^2) (not a PyGAD built-in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tasks.mlp import FloatArray

IntArray = NDArray[np.intp]

SELECTIONS: tuple[str, ...] = ("sss", "tournament", "rank", "rws", "sus", "random")
CROSSOVERS: tuple[str, ...] = ("single_point", "two_points", "uniform", "scattered", "none")
MUTATIONS: tuple[str, ...] = ("random", "gaussian")


def select(
    kind: str,
    fitness: FloatArray,
    num_parents: int,
    rng: np.random.Generator,
    *,
    tournament_size: int = 3,
) -> IntArray:
    """Indices of ``num_parents`` parents chosen from a population by its fitness (higher wins).

    Args:
        kind: one of :data:`SELECTIONS`.
        fitness: ``(P,)`` fitness values; ``-inf`` marks a member that must not be preferred.
        num_parents: how many indices to return.
        rng: the source of randomness.
        tournament_size: members per tournament (``tournament`` only).

    Returns:
        ``(num_parents,)`` indices into the population.
    """
    size = fitness.shape[0]
    if kind == "sss":
        # Stable sort keeps ties in population order, like PyGAD's steady-state selection.
        return np.argsort(-fitness, kind="stable")[:num_parents]
    if kind == "tournament":
        entrants = rng.integers(0, size, (num_parents, tournament_size))
        winners = np.argmax(fitness[entrants], axis=1)
        return entrants[np.arange(num_parents), winners]
    if kind == "random":
        return rng.integers(0, size, num_parents)
    if kind == "rank":
        ranks = np.empty(size)
        ranks[np.argsort(fitness, kind="stable")] = np.arange(1, size + 1)
        return _draw(ranks, num_parents, rng, universal=False)
    if kind in ("rws", "sus"):
        return _draw(_shifted_weights(fitness), num_parents, rng, universal=kind == "sus")
    raise ValueError(f"unknown selection {kind!r}")


def _shifted_weights(fitness: FloatArray) -> FloatArray:
    """Fitness-proportional weights: shift so the worst finite value weighs 0; -inf/NaN weigh 0."""
    finite = np.isfinite(fitness)
    if not finite.any():
        return np.ones_like(fitness)
    weights = np.where(finite, fitness - fitness[finite].min(), 0.0)
    if weights.sum() <= 0.0:
        return finite.astype(np.float64)
    return weights


def _draw(
    weights: FloatArray, count: int, rng: np.random.Generator, *, universal: bool
) -> IntArray:
    """Draw ``count`` indices with probability proportional to ``weights``."""
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    if universal:
        # One random offset, then equally spaced pointers: the lowest-variance sampler.
        pointers = (rng.uniform(0.0, 1.0) + np.arange(count)) * (total / count)
    else:
        pointers = rng.uniform(0.0, total, count)
    # side="right" skips zero-weight members whose cumulative sum equals a pointer.
    picked = np.searchsorted(cumulative, pointers, side="right")
    return np.minimum(picked, weights.shape[0] - 1).astype(np.intp)


def crossover(
    kind: str,
    parents: FloatArray,
    num_offspring: int,
    rng: np.random.Generator,
    *,
    probability: float = 1.0,
) -> FloatArray:
    """Recombine a mating pool into ``num_offspring`` new rows (see the module docstring).

    Args:
        kind: one of :data:`CROSSOVERS`.
        parents: ``(M, G)`` mating pool.
        num_offspring: rows to produce.
        rng: the source of randomness.
        probability: chance that an offspring is recombined rather than copied from its first mate.

    Returns:
        ``(num_offspring, G)`` new array (the pool is not modified).
    """
    pool, genes = parents.shape
    if kind == "none" or pool < 2:
        return parents[np.arange(num_offspring) % pool].copy()
    first = rng.integers(0, pool, num_offspring)
    # Adding a non-zero offset modulo the pool size draws the second mate uniformly among the
    # others, so an offspring never "crosses" a parent with itself.
    second = (first + rng.integers(1, pool, num_offspring)) % pool
    if kind == "single_point":
        cut = rng.integers(1, genes, num_offspring) if genes > 1 else np.ones(num_offspring, int)
        from_second = np.arange(genes)[None, :] >= cut[:, None]
    elif kind == "two_points":
        ends = np.sort(rng.integers(0, genes + 1, (num_offspring, 2)), axis=1)
        position = np.arange(genes)[None, :]
        from_second = (position >= ends[:, :1]) & (position < ends[:, 1:])
    elif kind in ("uniform", "scattered"):
        # Random bits are several times cheaper than comparing uniform floats with 0.5.
        from_second = rng.integers(0, 2, (num_offspring, genes), dtype=np.bool_)
    else:
        raise ValueError(f"unknown crossover {kind!r}")
    if probability < 1.0:
        from_second &= (rng.random(num_offspring) < probability)[:, None]
    return np.where(from_second, parents[second], parents[first])


def mutate(
    kind: str,
    offspring: FloatArray,
    rng: np.random.Generator,
    *,
    probability: float,
    scale: float,
) -> FloatArray:
    """Perturb each gene independently with probability ``probability``.

    Args:
        kind: one of :data:`MUTATIONS`.
        offspring: ``(K, G)`` rows to mutate (modified in place when C-contiguous).
        rng: the source of randomness.
        probability: per-gene mutation probability.
        scale: half-width of the uniform step (``random``) or standard deviation (``gaussian``).

    Returns:
        The mutated rows (``offspring`` itself when it is C-contiguous).
    """
    # Flat integer positions: ``flat[chosen] += steps`` is far cheaper than a boolean-mask update,
    # and steps are drawn only for the chosen genes, so the cost follows what actually changes.
    chosen = np.flatnonzero(rng.random(offspring.size) < probability)
    if kind == "random":
        steps = rng.uniform(-scale, scale, chosen.size)
    elif kind == "gaussian":
        steps = rng.normal(0.0, scale, chosen.size)
    else:
        raise ValueError(f"unknown mutation {kind!r}")
    out = np.ascontiguousarray(offspring)  # a no-op for PyGAD's arrays: the update is in place
    out.reshape(-1)[chosen] += steps
    return out


@dataclass(frozen=True, eq=False)
class PyGADSelection:
    """``parent_selection_type`` callable: ``(fitness, num_parents, ga) -> (parents, indices)``."""

    kind: str
    rng: np.random.Generator
    tournament_size: int = 3

    def __call__(self, fitness: Any, num_parents: int, ga: Any) -> tuple[FloatArray, IntArray]:
        values = np.asarray(fitness, dtype=np.float64)
        indices = select(
            self.kind, values, num_parents, self.rng, tournament_size=self.tournament_size
        )
        return ga.population[indices], indices


@dataclass(frozen=True, eq=False)
class PyGADCrossover:
    """``crossover_type`` callable: ``(parents, offspring_size, ga) -> offspring``."""

    kind: str
    rng: np.random.Generator
    probability: float = 1.0

    def __call__(self, parents: FloatArray, offspring_size: tuple[int, int], ga: Any) -> FloatArray:
        del ga  # everything needed is in the pool
        return crossover(
            self.kind, parents, offspring_size[0], self.rng, probability=self.probability
        )


@dataclass(frozen=True, eq=False)
class PyGADMutation:
    """``mutation_type`` callable: ``(offspring, ga) -> offspring``."""

    kind: str
    rng: np.random.Generator
    probability: float
    scale: float

    def __call__(self, offspring: FloatArray, ga: Any) -> FloatArray:
        del ga
        return mutate(
            self.kind, offspring, self.rng, probability=self.probability, scale=self.scale
        )
