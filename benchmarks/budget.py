"""Budgets and stop reasons: the harness's side of the stop decision."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from tasks._validation import check_interval
from tasks.errors import InvalidParameterError


class StopReason(StrEnum):
    """Why a run ended. Recorded, never inferred."""

    TARGET_REACHED = "target_reached"
    MAX_ITERATIONS = "max_iterations"
    MAX_EVALUATIONS = "max_evaluations"
    #: The seconds safety net fired: the run is *censored by time*, not an algorithm's failure
    #: (suites state budgets in evaluations; seconds never decide a success count).
    MAX_SECONDS = "max_seconds"
    DIVERGED = "diverged"
    SOLVER_FINISHED = "solver_finished"
    ERROR = "error"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, kw_only=True)
class Budget:
    """Limits on one run; any combination, at least one.

    Suites state their budgets in evaluations (or iterations), which do not depend on the
    machine's speed; ``max_seconds`` is only a safety net against a run that would take far longer
    than planned, and a run it stops is reported as *censored by time*, apart from failures.

    Attributes:
        max_iterations: iterations after the initial report (the write-up's "2001 epochs").
        max_evaluations: single-example forward passes; the harness stops *before* an iteration
            that could exceed it, using the solver's stated per-iteration cost.
        max_seconds: solver-clock seconds (evaluation by the harness is not counted): the safety
            net.
        stop_at_target: stop when the target is met (the fixed-target view). ``False`` lets the
            run continue to the end of its budget, so the same runs also give the fixed-budget
            view (quality after a given cost); the cost to target is still recorded exactly, at
            the first report that meets it.
    """

    max_iterations: int | None = None
    max_evaluations: int | None = None
    max_seconds: float | None = None
    stop_at_target: bool = True

    def __post_init__(self) -> None:
        if (
            self.max_iterations is None
            and self.max_evaluations is None
            and self.max_seconds is None
        ):
            raise InvalidParameterError(
                f"Budget needs at least one limit (max_iterations, max_evaluations or "
                f"max_seconds); got {self!r}."
            )
        if self.max_iterations is not None:
            check_interval(self.max_iterations, "max_iterations", "Budget", kind=int, low=1)
        if self.max_evaluations is not None:
            check_interval(self.max_evaluations, "max_evaluations", "Budget", kind=int, low=1)
        if self.max_seconds is not None:
            check_interval(self.max_seconds, "max_seconds", "Budget", low=0.0, closed="neither")

    def to_dict(self) -> dict[str, Any]:
        """The budget as a JSON-ready dict; ``stop_at_target`` only when it is off, so the keys
        of fixed-target cells recorded before the option existed stay the same."""
        out = asdict(self)
        if self.stop_at_target:
            out.pop("stop_at_target")
        return out

    def describe(self) -> str:
        parts = []
        if self.max_iterations is not None:
            parts.append(f"{self.max_iterations} iterations")
        if self.max_evaluations is not None:
            parts.append(f"{self.max_evaluations:,} evaluations")
        if self.max_seconds is not None and math.isfinite(self.max_seconds):
            parts.append(f"{self.max_seconds:g} s safety net")
        if not self.stop_at_target:
            parts.append("runs continue past the target")
        return ", ".join(parts)
