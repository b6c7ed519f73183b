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
        TaskEntry(name="xor", options={"hidden": 4}, budget=_b(40_000, 1.0)),
        TaskEntry(name="sine", budget=_b(200_000, 1.0)),
    ),
    seeds=(0, 1, 2),
)

#: Every family at a representative (small) size. The seconds caps add up to 14 s per solver
#: and seed. Wall time per capped run, measured, is the cap times 2.1 for NumPy backprop (the
#: harness's evaluation costs as much as its step on 16 examples), 1.33 for torch, 1.05 for
#: GA/CMA-ES; ZORB and ELM finish in milliseconds. So even if every run of 8 solvers (the 8th
#: counted at 2.1) x 10 seeds hit its cap, the serial suite takes about 14 x 10 x 11 s = 26 min.
#: Measured with 7 solvers: under 5 minutes.
DEFAULT = Suite(
    name="default",
    description="Every solver on a representative task of each family, 10 seeds.",
    tasks=(
        TaskEntry(name="xor", budget=_b(200_000, 1.0)),
        TaskEntry(name="parity", options={"num_bits": 4}, budget=_b(2_000_000, 2.0)),
        TaskEntry(name="sine", options={"frequency": 2.0}, budget=_b(5_000_000, 2.0)),
        TaskEntry(name="step", budget=_b(5_000_000, 1.5)),
        TaskEntry(name="lotka", options={"derivatives": "numerical"},
                  budget=_b(5_000_000, 1.5)),
        TaskEntry(name="circle", budget=_b(2_000_000, 1.0)),
        TaskEntry(name="spirals", budget=_b(5_000_000, 2.5)),
        TaskEntry(name="iris", budget=_b(1_000_000, 1.0)),
        TaskEntry(name="diabetes", budget=_b(5_000_000, 1.5)),
    ),
)


def _sweep(name: str, knob: str, values: tuple[Any, ...], seconds: tuple[float, ...],
           evaluations: int, **fixed: Any) -> tuple[TaskEntry, ...]:
    """One entry per knob value (the value lands in ``task.options`` and so in every record)."""
    return tuple(
        TaskEntry(name=name, options={**fixed, knob: v}, budget=_b(evaluations, s))
        for v, s in zip(values, seconds, strict=True)
    )


SCALING = Suite(
    name="scaling",
    description=(
        "Cost against difficulty: parity bits 2-10, sine frequency, hidden width (sine at "
        "frequency 3), data set size (circle), sampling density of numerically differentiated "
        "Lotka-Volterra trajectories; every solver, 10 seeds."
    ),
    tasks=(
        *_sweep("parity", "num_bits", tuple(range(2, 11)),
                (1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0), 20_000_000),
        *_sweep("sine", "frequency", (1.0, 2.0, 3.0, 4.0, 6.0), (2.0,) * 5, 10_000_000),
        *_sweep("sine", "hidden", (2, 4, 8, 16, 32), (2.0,) * 5, 10_000_000, frequency=3.0),
        *_sweep("circle", "num_train", (25, 50, 100, 200, 400, 800),
                (1.0, 1.0, 1.0, 1.5, 2.0, 3.0), 10_000_000),
        *_sweep("lotka", "points_per_trajectory", (25, 50, 100, 200), (1.5,) * 4, 10_000_000,
                derivatives="numerical"),
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

ZORB = Suite(
    name="zorb",
    description=(
        "The ZORB paper's fully connected setups (continuous XOR, Iris, two spirals, sinc, "
        "digits standing in for MNIST), every solver, 10 seeds, against each task's own target. "
        "The paper's comparison (time for Adam to reach ZORB's training error) is "
        "`python -m benchmarks.zorb_claim`, which uses these tasks and budgets."
    ),
    # Budgets: a few thousand full-batch epochs for gradient descent (Adam reaches ZORB's
    # training error within a few hundred), and a solver-clock cap so slow solvers stay bounded.
    tasks=(
        TaskEntry(name="zorb_xor", budget=_b(5_000_000, 30.0)),
        TaskEntry(name="zorb_iris", budget=_b(2_000_000, 30.0)),
        TaskEntry(name="zorb_spirals", budget=_b(5_000_000, 30.0)),
        TaskEntry(name="zorb_sinc", budget=_b(10_000_000, 60.0)),
        TaskEntry(name="zorb_digits", budget=_b(2_500_000, 60.0)),
    ),
)

#: Control tasks (``tasks/control.py``): evolution against policy gradient where the objective
#: has no gradient. Budgets are environment steps (one step of one policy = one evaluation).
#: Published reference points: tuned PPO solves CartPole-v1 in about 1e5 steps (RL Baselines3
#: Zoo's hyperparameters); OpenAI-ES with a population of 100 reaches 500 (gymnax-blines).
#: Measured here (2 shared cores, load about 4; one run at a time, seeds 0-2, these budgets),
#: wall seconds per run: CartPole, GA 0.2-1.3 (3/3 solved), CMA-ES 0.7-7.4 (3/3), REINFORCE
#: 9-18 (3/3, most of it the harness's 100 evaluation episodes after every iteration, off the
#: solver clock), OpenAI-ES with its library defaults 14-27 (0/3: the budget runs out at mean
#: returns of 210-400). Acrobot (seeds 0-1): GA 2-14, CMA-ES 8-16 (pycma stops at once when
#: every policy scores -500), REINFORCE 13-14, OpenAI-ES up to the seconds cap. So the suite
#: takes about half an hour serially (80 runs), under 2 hours if every run hit its cap.
CONTROL = Suite(
    name="control",
    description=(
        "Neuroevolution (GA, CMA-ES, OpenAI-ES) against policy gradient (REINFORCE) on "
        "gymnasium's CartPole-v1 and Acrobot-v1, 10 seeds; budgets in environment steps."
    ),
    tasks=(
        TaskEntry(name="cartpole", budget=_b(5_000_000, 60.0)),
        TaskEntry(name="acrobot", budget=_b(5_000_000, 60.0)),
    ),
    solvers=("ga", "cmaes", "openai-es", "reinforce"),
)

SUITES: dict[str, Suite] = {
    s.name: s for s in (SMOKE, DEFAULT, SCALING, WRITEUP, ZORB, CONTROL)
}


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
