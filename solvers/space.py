"""Search spaces: each solver declares the hyperparameters a tuning study may vary, as data.

A dimension maps a coordinate ``u`` in [0, 1) to a value, so one quasirandom point of the unit
cube (one Sobol point in the tuning study) gives one configuration. Every solver class carries a
``search_space: ClassVar[SearchSpace]`` next to its defaults; the conformance suite fails a solver
without one, so a new solver's space is part of adding it.

Why a mapping from [0, 1) and not a sampler: the study draws one scrambled Sobol sequence per
(task, solver) with a fixed seed, so the same trial index always gives the same configuration
(re-running the study reproduces its choices), and low-discrepancy points cover a space better
than independent draws for the few trials every solver is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tasks.errors import InvalidParameterError


class Dimension(Protocol):
    """One hyperparameter's range."""

    def value(self, u: float) -> Any:
        """The value at coordinate ``u`` in [0, 1)."""
        ...

    def describe(self) -> str:
        """The range in words, for ``--list`` and the report."""
        ...


def _check_u(u: float) -> float:
    if not 0.0 <= u < 1.0:
        raise InvalidParameterError(f"A search-space coordinate must be in [0, 1); got {u!r}.")
    return float(u)


@dataclass(frozen=True)
class Uniform:
    """A float uniform in [low, high)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise InvalidParameterError(f"Uniform needs low < high; got {self.low}, {self.high}.")

    def value(self, u: float) -> float:
        return self.low + (self.high - self.low) * _check_u(u)

    def describe(self) -> str:
        return f"uniform [{self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class LogUniform:
    """A float whose logarithm is uniform: learning rates, step sizes, tolerances."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0.0 < self.low < self.high:
            raise InvalidParameterError(
                f"LogUniform needs 0 < low < high; got {self.low}, {self.high}."
            )

    def value(self, u: float) -> float:
        lo, hi = math.log(self.low), math.log(self.high)
        return float(math.exp(lo + (hi - lo) * _check_u(u)))

    def describe(self) -> str:
        return f"log-uniform [{self.low:g}, {self.high:g})"


@dataclass(frozen=True)
class IntLogUniform:
    """An integer whose logarithm is uniform over [low, high] (both included): sizes."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not 1 <= self.low <= self.high:
            raise InvalidParameterError(
                f"IntLogUniform needs 1 <= low <= high; got {self.low}, {self.high}."
            )

    def value(self, u: float) -> int:
        lo, hi = math.log(self.low), math.log(self.high + 1)
        return int(min(self.high, math.floor(math.exp(lo + (hi - lo) * _check_u(u)))))

    def describe(self) -> str:
        return f"integer log-uniform [{self.low}, {self.high}]"


@dataclass(frozen=True)
class Choice:
    """One of a few options, each with the same share of the unit interval."""

    options: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.options:
            raise InvalidParameterError("Choice needs at least one option.")

    def value(self, u: float) -> Any:
        return self.options[min(len(self.options) - 1, int(_check_u(u) * len(self.options)))]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


#: A solver's search space: hyperparameter name -> range. Hyperparameters not named keep their
#: defaults in every trial.
SearchSpace = Mapping[str, Dimension]


def configuration(space: SearchSpace, point: Sequence[float]) -> dict[str, Any]:
    """The configuration at one point of the unit cube (one coordinate per dimension, in order)."""
    if len(point) != len(space):
        raise InvalidParameterError(
            f"A point for this search space needs {len(space)} coordinates; got {len(point)}."
        )
    return {name: dim.value(float(u)) for (name, dim), u in zip(space.items(), point, strict=True)}


def sobol_points(dimensions: int, count: int, seed: int) -> np.ndarray:
    """``count`` scrambled Sobol points in [0, 1)^dimensions, the same for the same seed.

    ``count`` need not be a power of two: the first ``count`` points of a scrambled sequence of
    the next power of two are taken (balance properties hold best at powers of two; the study's
    trial count is one).
    """
    from scipy.stats import qmc

    if dimensions == 0:
        return np.zeros((count, 0))
    sampler = qmc.Sobol(d=dimensions, scramble=True, seed=np.random.default_rng(seed))
    m = max(0, math.ceil(math.log2(max(count, 1))))
    points = sampler.random_base2(m)[:count]
    return np.minimum(points, np.nextafter(1.0, 0.0))


def describe_space(space: SearchSpace) -> str:
    """A one-line description, for ``--list`` and the report."""
    if not space:
        return "(nothing to tune)"
    return "; ".join(f"{name}: {dim.describe()}" for name, dim in space.items())
