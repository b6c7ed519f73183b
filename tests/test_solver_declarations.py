"""Conformance of what every solver declares as data: its paradigm and its search space."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from benchmarks.conformance import check_declarations
from solvers import SOLVERS
from solvers.base import PARADIGMS, REFERENCE, Solver
from solvers.space import Uniform


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_solver_declares_a_paradigm_and_a_search_space(name: str) -> None:
    check_declarations(name, SOLVERS[name])


def _bare_solver() -> type[Solver]:
    """A solver complete in every way except the ``search_space`` declaration (a fresh class
    each call, so a test may give it one without touching another test's class)."""

    @dataclass(frozen=True, kw_only=True)
    class Bare(Solver):  # type: ignore[misc]
        name = "bare"
        paradigm = "gradients"
        iteration = "one step"
        evaluations = "nothing"
        rate: float = 0.1

        def iteration_cost(self, task):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def run(self, task, x0, monitor, rng):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    return Bare


def test_a_solver_without_a_search_space_fails_conformance() -> None:
    """The registry check catches a class missing the declaration, and only for that reason:
    the same class with a space over its field passes."""
    with pytest.raises(AssertionError, match=re.escape("bare declares no search space")):
        check_declarations("bare", _bare_solver())
    empty = _bare_solver()
    empty.search_space = {}
    with pytest.raises(AssertionError, match=re.escape("bare declares no search space")):
        check_declarations("bare", empty)
    declared = _bare_solver()
    declared.search_space = {"rate": Uniform(0.0, 1.0)}
    check_declarations("bare", declared)


def test_a_search_space_over_a_non_field_fails_conformance() -> None:
    """A declared space naming a hyperparameter the solver lacks is caught too."""
    stray = _bare_solver()
    stray.search_space = {"x": Uniform(0.0, 1.0)}
    with pytest.raises(AssertionError, match="must be a field"):
        check_declarations("bare", stray)


def test_an_unknown_paradigm_fails_conformance() -> None:
    stray = _bare_solver()
    stray.search_space = {"rate": Uniform(0.0, 1.0)}
    stray.paradigm = "magic"
    with pytest.raises(AssertionError, match="declares paradigm 'magic'"):
        check_declarations("bare", stray)


def test_reference_is_not_a_compared_paradigm() -> None:
    assert REFERENCE not in PARADIGMS
