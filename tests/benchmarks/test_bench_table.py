"""The latest-benchmark table: which saved run it reads and what its Markdown shows."""

from __future__ import annotations

import json
import shlex
import tomllib
from pathlib import Path
from typing import Any

from benchmarks.report.benchmark_table import (
    STORAGE,
    benchmark_markdown,
    latest_benchmark_file,
    latest_benchmark_markdown,
)

ROOT = Path(__file__).resolve().parents[2]


def _bench(name: str, group: str | None, median: float, **extra: Any) -> dict[str, Any]:
    return {
        "group": group,
        "name": name,
        "fullname": f"benchmarks/bench_x.py::{name}",
        "params": None,
        "extra_info": extra,
        "stats": {"median": median, "rounds": 3, "min": median, "max": median},
    }


def _save(root: Path, name: str, when: str, benchmarks: list[dict[str, Any]]) -> Path:
    path = root / STORAGE / "Linux-CPython-3.11-64bit" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    run = {
        "machine_info": {"python_implementation": "CPython", "python_version": "3.11.7",
                         "cpu": {"brand_raw": "Test CPU"}},
        "commit_info": {"id": "0123456789abcdef", "dirty": True},
        "benchmarks": benchmarks,
        "datetime": when,
        "version": "5.3.1",
    }
    path.write_text(json.dumps(run))
    return path


def test_no_saved_run_says_how_to_make_one(tmp_path: Path) -> None:
    assert latest_benchmark_file(tmp_path) is None
    text = "\n".join(latest_benchmark_markdown(tmp_path))
    assert "No saved benchmark run" in text
    assert "--benchmark-autosave" in text


def test_latest_is_chosen_by_the_saved_datetime_not_the_file_name(tmp_path: Path) -> None:
    newer = _save(tmp_path, "0001_a.json", "2026-03-02T10:00:00", [_bench("test_new", "g", 1.0)])
    _save(tmp_path, "0002_b.json", "2026-03-01T10:00:00", [_bench("test_old", "g", 1.0)])
    (tmp_path / STORAGE / "broken.json").write_text("{not json")
    assert latest_benchmark_file(tmp_path) == newer
    text = "\n".join(latest_benchmark_markdown(tmp_path))
    assert "test_new" in text
    assert "test_old" not in text


def test_tables_are_grouped_with_median_and_quality_fields(tmp_path: Path) -> None:
    _save(tmp_path, "0001_a.json", "2026-03-01T10:00:00", [
        _bench("test_solver_to_target[xor-adam]", "xor", 0.25, success=True,
               stop_reason="target_reached", seconds_to_target=0.2, train_accuracy=1.0,
               budget={"max_evaluations": 10}),
        _bench("test_solver_to_target[xor-sgd]", "xor", 1.5, success=False,
               stop_reason="max_evaluations", seconds_to_target=None, train_accuracy=0.75),
        _bench("test_population_forward[P10]", "forward", 2.5e-5, evaluations_per_second=1.6e6),
    ])
    lines = latest_benchmark_markdown(tmp_path, level=4)
    assert "#### xor" in lines
    assert "#### forward" in lines
    xor = lines[lines.index("#### xor") + 2 :]
    header = [c.strip() for c in xor[0].strip("|").split("|")]
    assert header == ["benchmark", "median", "rounds", "success", "stop_reason",
                      "seconds_to_target", "train_accuracy"]  # the dict-valued budget is left out
    adam = [c.strip() for c in xor[2].strip("|").split("|")]
    assert adam == ["test_solver_to_target[xor-adam]", "250 ms", "3", "yes", "target_reached",
                    "0.2", "1"]
    sgd = [c.strip() for c in xor[3].strip("|").split("|")]
    assert sgd[1] == "1.5 s"
    assert sgd[3:6] == ["no", "max_evaluations", "\u2014"]  # a miss has no time to target
    forward = lines[lines.index("#### forward") + 2 :]
    assert "25 \u00b5s" in forward[2]
    assert "1.6e+06" in forward[2]


def test_provenance_names_file_commit_and_machine(tmp_path: Path) -> None:
    path = _save(tmp_path, "0001_a.json", "2026-03-01T10:00:00", [_bench("t", "g", 1.0)])
    first = benchmark_markdown(path, root=tmp_path)[0]
    assert f"`{STORAGE.as_posix()}/Linux-CPython-3.11-64bit/0001_a.json`" in first
    assert "0123456789 with uncommitted changes" in first
    assert "Test CPU" in first


def test_storage_matches_the_pytest_configuration() -> None:
    """``--benchmark-storage`` in pyproject.toml is where the report looks for saved runs."""
    ini = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    options = shlex.split(ini["addopts"])
    storage = [o.split("=", 1)[1] for o in options if o.startswith("--benchmark-storage=")]
    assert storage == [STORAGE.as_posix()]
