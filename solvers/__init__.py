"""Interchangeable training algorithms and their registry.

``SOLVERS`` maps each registry key to its class; the key is the class's ``name`` by
construction, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from solvers.adam import AdamSolver
from solvers.base import Cost, Monitor, Solver
from solvers.cmaes import CMAESSolver
from solvers.elm import ELMSolver
from solvers.ga import GASolver
from solvers.lbfgs import LBFGSSolver
from solvers.numpy_backprop import NumpyBackpropSolver
from solvers.openai_es import OpenAIESSolver
from solvers.reinforce import ReinforceSolver
from solvers.sgd import SGDSolver
from solvers.sklearn_mlp import SklearnMLPSolver
from solvers.zorb import ZORBSolver
from tasks._validation import unknown_name

SOLVERS: dict[str, type[Solver]] = {
    cls.name: cls
    for cls in (
        SGDSolver,
        AdamSolver,
        LBFGSSolver,
        NumpyBackpropSolver,
        ZORBSolver,
        ELMSolver,
        GASolver,
        CMAESSolver,
        OpenAIESSolver,
        ReinforceSolver,
        SklearnMLPSolver,
    )
}


def solver_fields(name: str) -> tuple[str, ...]:
    """The hyperparameters a solver accepts."""
    return tuple(f.name for f in dataclasses.fields(get_solver_class(name)))


def get_solver_class(name: str) -> type[Solver]:
    """Look a solver class up by registry key; unknown names list the valid ones."""
    try:
        return SOLVERS[name]
    except KeyError:
        raise unknown_name("solver", name, SOLVERS) from None


def get_solver(name: str, **hyperparameters: Any) -> Solver:
    """Build a solver from its registry key and hyperparameters.

    Raises:
        UnknownNameError: unknown solver or hyperparameter (the message lists the valid ones).
        InvalidParameterError: a value is out of range (the message names it).
    """
    cls = get_solver_class(name)
    valid = solver_fields(name)
    for key in hyperparameters:
        if key not in valid:
            raise unknown_name("hyperparameter", key, valid, where=f" for solver {name!r}")
    return cls(**hyperparameters)


__all__ = ["SOLVERS", "Cost", "Monitor", "Solver", "get_solver", "solver_fields"]
