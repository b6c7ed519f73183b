"""Fixtures shared by the pytest-benchmark files in this folder."""

from __future__ import annotations

import pytest

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from solvers import get_solver
from tasks import get_task


def timing_enabled(config: pytest.Config) -> bool:
    """Whether this session times benchmarks (pytest-benchmark's own rule for the switch)."""
    return not config.getoption("benchmark_disable") or bool(config.getoption("benchmark_enable"))


@pytest.fixture(scope="session", autouse=True)
def warm_torch(request: pytest.FixtureRequest) -> None:
    """Pay torch's one-off start-up cost before the first timed round.

    The first autograd step of a process costs about a second here (lazy initialisation of
    torch's kernels and thread pools), which would otherwise land in whichever benchmark
    happens to run first. Untimed smoke runs do not need it.
    """
    if not timing_enabled(request.config):
        return
    for name in ("sgd", "adam"):
        run_one(get_task("xor"), get_solver(name), Budget(max_iterations=3), seed=0, strict=True)
