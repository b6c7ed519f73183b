"""The root conftest: plain ``pytest`` runs benchmarks once untimed; timing options time them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

#: Each test starts a pytest session in a subprocess (several seconds each).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# Records, per run of the inner session, whether timing was on and how often the code ran.
BENCH = """
import json, pathlib

def test_b(benchmark):
    calls = []
    benchmark(calls.append, 1)
    pathlib.Path(__file__).with_name("seen.json").write_text(
        json.dumps({"enabled": benchmark.enabled, "calls": len(calls)}))
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makepyfile(test_bench=BENCH)
    return pytester


def _seen(pytester: pytest.Pytester) -> dict[str, object]:
    return dict(json.loads((pytester.path / "seen.json").read_text()))


def test_plain_pytest_runs_a_benchmark_once_untimed(project: pytest.Pytester) -> None:
    project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert _seen(project) == {"enabled": False, "calls": 1}


@pytest.mark.parametrize("option", ["--benchmark-only", "--benchmark-enable"])
def test_asking_for_timings_times_it(project: pytest.Pytester, option: str) -> None:
    result = project.runpytest("-p", "no:cacheprovider", option, "--benchmark-max-time=0.01")
    result.assert_outcomes(passed=1)
    seen = _seen(project)
    assert seen["enabled"] is True
    assert isinstance(seen["calls"], int) and seen["calls"] > 1


def test_relative_storage_is_taken_from_the_root(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makeini("[pytest]\naddopts = --benchmark-storage=saved\n")
    sub = project.mkdir("elsewhere")
    monkeypatch.chdir(sub)
    result = project.runpytest(
        str(project.path), "-p", "no:cacheprovider", "--benchmark-only",
        "--benchmark-autosave", "--benchmark-max-time=0.01",
    )
    result.assert_outcomes(passed=1)
    saved = list((project.path / "saved").rglob("*.json"))
    assert len(saved) == 1
    assert not (sub / "saved").exists()
