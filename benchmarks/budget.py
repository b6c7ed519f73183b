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
    MAX_SECONDS = "max_seconds"
    DIVERGED = "diverged"
    NUMERICAL_FAILURE = "numerical_failure"
    SOLVER_FINISHED = "solver_finished"
    ERROR = "error"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, kw_only=True)
class Budget:
    """Limits on one run; any combination, at least one.

    Attributes:
        max_iterations: iterations after the initial report (the write-up's "2001 epochs").
        max_evaluations: single-example forward passes; the harness stops *before* an iteration
            that could exceed it, using the solver's stated per-iteration cost.
        max_seconds: solver-clock seconds (evaluation by the harness is not counted).
    """

    max_iterations: int | None = None
    max_evaluations: int | None = None
    max_seconds: float | None = None

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
        return asdict(self)

    def describe(self) -> str:
        parts = []
        if self.max_iterations is not None:
            parts.append(f"{self.max_iterations} iterations")
        if self.max_evaluations is not None:
            parts.append(f"{self.max_evaluations:,} evaluations")
        if self.max_seconds is not None and math.isfinite(self.max_seconds):
            parts.append(f"{self.max_seconds:g} s")
        return ", ".join(parts)
