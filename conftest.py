"""Repository-wide pytest configuration: benchmarks are smoke tests unless timing is asked for.

Plain ``pytest`` (what CI runs) collects the pytest-benchmark files in ``benchmarks/`` with the
tests and runs every benchmark exactly once, untimed (pytest-benchmark's ``--benchmark-disable``
mode), so the benchmarks cannot rot without slowing the test suite down. Asking for timings in
any way -- ``--benchmark-only``, ``--benchmark-enable``, saving, comparing, a JSON or histogram
report -- turns timing back on. The switch lives here rather than as ``--benchmark-disable`` in
``addopts`` because pytest-benchmark refuses ``--benchmark-only`` together with
``--benchmark-disable``, and ``pytest --benchmark-only`` must work as typed.

Relative ``--benchmark-storage`` paths (``addopts`` sets ``results/benchmarks``) are taken from
the repository root, like ``testpaths``, so saved runs land in one place whichever directory
pytest is started from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: pytest-benchmark options (their ``dest`` names) that mean "I want timings".
TIMING_OPTIONS: tuple[str, ...] = (
    "benchmark_only",
    "benchmark_enable",
    "benchmark_save",
    "benchmark_autosave",
    "benchmark_json",
    "benchmark_compare",
    "benchmark_compare_fail",
    "benchmark_histogram",
    "benchmark_cprofile",
    "benchmark_csv",
)


def timing_requested(config: pytest.Config) -> bool:
    """Whether the command line asks pytest-benchmark for timings (see the module docstring)."""
    return any(config.getoption(name, default=None) for name in TIMING_OPTIONS)


# tryfirst: pytest-benchmark builds its session in its own (trylast) pytest_configure, from the
# options as they stand then, so they must be settled before it runs.
@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("benchmark_disable", default=None) is None:
        return  # pytest-benchmark is not loaded (e.g. ``-p no:benchmark``): nothing to set
    if not timing_requested(config):
        config.option.benchmark_disable = True
    storage = str(config.getoption("benchmark_storage"))
    path = storage.removeprefix("file://")
    if "://" not in path and not Path(path).is_absolute():
        config.option.benchmark_storage = "file://" + str(config.rootpath / path)
