"""Named suites: explicit grids of tasks x solvers x seeds, each task with its own budget.

Budgets are stated per task in *evaluations* (single-example forward passes), the one unit every
solver shares, with a solver-clock cap in seconds so that a slow solver cannot hold a suite
hostage. Which limit ended a run is recorded with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from benchmarks.budget import Budget
from tasks._validation import unknown_name


@dataclass(frozen=True, kw_only=True)
class TaskEntry:
    """One task of a suite, with its options and budget."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    budget: Budget


@dataclass(frozen=True, kw_only=True)
class Cell:
    """One run to do: a task with options, a solver with hyperparameters, a budget, a seed."""

    task: str
    task_options: dict[str, Any]
    solver: str
    solver_options: dict[str, Any]
    budget: Budget
    seed: int


@dataclass(frozen=True, kw_only=True)
class Suite:
    """A named grid. ``solvers=None`` means every registered solver."""

    name: str
    description: str
    tasks: tuple[TaskEntry, ...]
    solvers: tuple[str, ...] | None = None
    solver_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeds: tuple[int, ...] = tuple(range(10))

    def cells(self, registered: tuple[str, ...]) -> Iterator[Cell]:
        """Expand the grid, task-major, seeds innermost."""
        solvers = self.solvers if self.solvers is not None else registered
        for entry in self.tasks:
            for solver in solvers:
                for seed in self.seeds:
                    yield Cell(
                        task=entry.name,
                        task_options=dict(entry.options),
                        solver=solver,
                        solver_options=dict(self.solver_options.get(solver, {})),
                        budget=entry.budget,
                        seed=seed,
                    )


def _b(evaluations: int, seconds: float) -> Budget:
    return Budget(max_evaluations=evaluations, max_seconds=seconds)


SMOKE = Suite(
    name="smoke",
    description="Every solver on XOR and a sine, 3 seeds, small budgets: a check, not a study.",
    tasks=(
        TaskEntry(name="xor", options={"hidden": 4}, budget=_b(40_000, 2.0)),
        TaskEntry(name="sine", budget=_b(200_000, 2.0)),
    ),
    seeds=(0, 1, 2),
)

DEFAULT = Suite(
    name="default",
    description="Every solver on a representative task of each family, 10 seeds.",
    tasks=(
        TaskEntry(name="xor", budget=_b(200_000, 10.0)),
        TaskEntry(name="and", budget=_b(100_000, 5.0)),
        TaskEntry(name="parity", options={"num_bits": 4}, budget=_b(2_000_000, 15.0)),
        TaskEntry(name="sine", options={"frequency": 2.0}, budget=_b(5_000_000, 15.0)),
    ),
)

WRITEUP = Suite(
    name="writeup",
    description=(
        "The write-up's PyTorch XOR: 2-2-1, sigmoid hidden, linear output, N(0,1) weights, MSE, "
        "SGD lr 0.02 momentum 0.9 for 2001 epochs, over 100 seeds."
    ),
    tasks=(TaskEntry(name="xor", budget=Budget(max_iterations=2001)),),
    solvers=("sgd",),
    solver_options={"sgd": {"learning_rate": 0.02, "momentum": 0.9}},
    seeds=tuple(range(100)),
)

SUITES: dict[str, Suite] = {s.name: s for s in (SMOKE, DEFAULT, WRITEUP)}


def get_suite(name: str) -> Suite:
    """Look a suite up by name; unknown names list the valid ones."""
    try:
        return SUITES[name]
    except KeyError:
        raise unknown_name("suite", name, SUITES) from None


def with_budget(suite: Suite, budget: Budget | None) -> Suite:
    """Give every task of the suite ``budget`` instead of its own (``None``: keep the suite's)."""
    if budget is None:
        return suite
    tasks = tuple(replace(e, budget=budget) for e in suite.tasks)
    return replace(suite, tasks=tasks)
