"""Conformance of what every solver declares as data: its paradigm and its search space."""

from __future__ import annotations

import pytest

from solvers import SOLVERS
from solvers.base import PARADIGMS, REFERENCE, Solver
from solvers.space import Uniform


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_solver_declares_a_paradigm_and_a_search_space(name: str) -> None:
    cls = SOLVERS[name]
    assert cls.paradigm in (*PARADIGMS, REFERENCE)
    assert cls.search_space, f"{name} declares no search space"
    fields = {f for f in cls().config()}
    assert set(cls.search_space) <= fields, "a searched hyperparameter must be a field"


def test_a_solver_without_a_search_space_fails_conformance() -> None:
    """The check above is real: a class missing the declaration is caught."""

    class Bare(Solver):  # type: ignore[misc]
        name = "bare"
        paradigm = "gradients"
        iteration = "one step"

        def iteration_cost(self, task):  # type: ignore[no-untyped-def]
            raise NotImplementedError

        def run(self, task, x0, monitor, rng):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    assert not hasattr(Bare, "search_space") or not Bare.search_space
    Bare.search_space = {"x": Uniform(0.0, 1.0)}
    assert Bare.search_space


def test_reference_is_not_a_compared_paradigm() -> None:
    assert REFERENCE not in PARADIGMS
