"""Interchangeable training algorithms and their registry.

``SOLVERS`` maps each registry key to its class; the key is the class's ``name`` by
construction, so the two cannot drift apart. Solvers of other installed packages join it through
the entry-point group ``evo_vs_grad.solvers`` (``tasks/plugins.py``); ``SOLVER_ORIGINS`` says
where each comes from. A suite that runs "every solver" runs the built-in ones
(:func:`builtin_solvers`): a plugin runs when it is named, so an installed package never changes
what the main command measures.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable
from typing import Any

from solvers.adam import AdamSolver
from solvers.ars import ARSSolver
from solvers.base import Cost, Monitor, Solver
from solvers.cmaes import CMAESSolver
from solvers.elm import ELMSolver
from solvers.ga import GASolver
from solvers.lbfgs import LBFGSSolver
from solvers.lm import LMSolver
from solvers.neat import NEATSolver
from solvers.nevergrad_opt import DESolver, NGOptSolver, PSOSolver
from solvers.numpy_backprop import NumpyBackpropSolver
from solvers.openai_es import OpenAIESSolver
from solvers.pgpe import PGPESolver
from solvers.ppo import PPOSolver
from solvers.random_search import RandomSearchSolver
from solvers.reinforce import ReinforceSolver
from solvers.sep_cmaes import SepCMAESSolver
from solvers.sgd import SGDSolver
from solvers.sklearn_mlp import SklearnMLPSolver
from solvers.snes import SNESSolver
from solvers.zorb import ZORBSolver
from tasks._validation import unknown_name
from tasks.plugins import BUILTIN, SOLVER_GROUP, describe, load_pending, load_plugins

SOLVERS: dict[str, type[Solver]] = {
    cls.name: cls
    for cls in (
        SGDSolver,
        AdamSolver,
        LBFGSSolver,
        LMSolver,
        NumpyBackpropSolver,
        ZORBSolver,
        ELMSolver,
        GASolver,
        CMAESSolver,
        SepCMAESSolver,
        OpenAIESSolver,
        ARSSolver,
        SNESSolver,
        PGPESolver,
        NGOptSolver,
        DESolver,
        PSOSolver,
        NEATSolver,
        ReinforceSolver,
        RandomSearchSolver,
        SklearnMLPSolver,
        PPOSolver,
    )
}


def solver_fields(name: str) -> tuple[str, ...]:
    """The hyperparameters a solver accepts."""
    return tuple(f.name for f in dataclasses.fields(get_solver_class(name)))


def get_solver_class(name: str) -> type[Solver]:
    """Look a solver class up by registry key; unknown names list the valid ones."""
    if name not in SOLVERS:
        load_pending()  # a plugin whose module was mid-import when SOLVERS was built
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


def builtin_solvers(names: Iterable[str]) -> tuple[str, ...]:
    """The built-in solvers among ``names``, in order: what "every solver" means in a suite.

    A name with no recorded origin (a solver a test puts in ``SOLVERS`` by hand) counts as
    built-in; only entry-point plugins are left out.
    """
    return tuple(n for n in names if SOLVER_ORIGINS.get(n, BUILTIN) == BUILTIN)


def solver_problem(name: str, loaded: object) -> str | None:
    """Why the object a solver entry point ``name`` loaded cannot be registered, or ``None``.

    It must be a concrete :class:`Solver` subclass whose ``name`` is the entry point's name
    (the registry key is the class's name, as for the built-in solvers).
    """
    if not (isinstance(loaded, type) and issubclass(loaded, Solver)):
        return (f"must name a Solver subclass (solvers.base.Solver). Got {describe(loaded)} "
                f"instead.")
    if inspect.isabstract(loaded):
        missing = ", ".join(sorted(getattr(loaded, "__abstractmethods__", ())))
        return f"names {describe(loaded)}, which does not implement {missing}."
    declared = getattr(loaded, "name", None)
    if declared != name:
        return (f"names {describe(loaded)}, whose name must be the entry point's name {name!r}. "
                f"Got {declared!r} instead.")
    return None


#: Where each solver comes from: ``built-in``, or the plugin's ``distribution version``.
SOLVER_ORIGINS: dict[str, str] = {name: BUILTIN for name in SOLVERS}
# Last, so a plugin module may import anything above from ``solvers`` (tasks/plugins.py).
load_plugins(SOLVER_GROUP, "solver", SOLVERS, SOLVER_ORIGINS, solver_problem)

__all__ = [
    "SOLVERS", "SOLVER_ORIGINS", "Cost", "Monitor", "Solver", "builtin_solvers", "get_solver",
    "solver_fields",
]
