"""A monitor that records what a solver reports, for the solvers' unit tests."""

from __future__ import annotations

import numpy as np


class RecordingMonitor:
    """Keeps every reported vector and its evaluations; asks to stop after ``stop_after``
    reports (a population solver charges no backward pass)."""

    def __init__(self, stop_after: int) -> None:
        self.params: list[np.ndarray] = []
        self.evaluations: list[int] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        assert backward == 0
        self.params.append(np.array(params, copy=True))
        self.evaluations.append(evaluations)
        return len(self.params) >= self.stop_after

