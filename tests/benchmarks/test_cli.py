"""The command line: clear one-line errors with exit status 2, and the write-up's run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.records import read_records
from benchmarks.run_all import main, parse_value

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--solvers", "adamw"], "Unknown solver 'adamw'. Available solvers: "),
        (["--tasks", "xr"], "Unknown task 'xr'. Available tasks: "),
        (["--suite", "huge"], "Unknown suite 'huge'. Available suites: "),
        (
            ["--tasks", "xor", "--solvers", "sgd", "--set", "sgd.learning_rate=-1"],
            "The 'learning_rate' parameter of SGDSolver must be a float in the range (0.0, inf). "
            "Got -1 instead.",
        ),
        (
            ["--tasks", "xor", "--solvers", "sgd", "--set", "sgd.lr=0.1"],
            "Unknown hyperparameter 'lr' for solver 'sgd'",
        ),
        (["--tasks", "xor", "--max-iterations", "0"], "'max_iterations' parameter of Budget"),
        (["--tasks", "parity", "--task-set", "parity.num_bits=30"], "'num_bits' parameter"),
        (["--tasks", "xor", "--task-set", "xor.depth=3"], "Unknown option 'depth' for task 'xor'"),
        (["--set", "learning_rate=3"], "NAME.PARAMETER=VALUE"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_runs_nothing(
    argv: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path), "--no-progress", "--executor", "serial"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err
    assert not (tmp_path / "raw").exists()


@pytest.mark.slow
def test_error_path_has_no_traceback_as_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/run_all.py", "--solvers", "nope", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("run_all.py: error: Unknown solver 'nope'")
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_writeup_configuration_runs_from_the_command_line(tmp_path: Path) -> None:
    argv = [
        "--tasks",
        "xor",
        "--solvers",
        "sgd",
        "--seeds",
        "3",
        "--max-iterations",
        "2001",
        "--set",
        "sgd.learning_rate=0.02",
        "--set",
        "sgd.momentum=0.9",
        "--out",
        str(tmp_path),
        "--no-progress",
        "--suite",
        "writeup",
    ]
    assert main(argv) == 0
    records = read_records([tmp_path / "raw" / "writeup.jsonl"]).records
    assert len(records) == 3
    assert {r.config["learning_rate"] for r in records} == {0.02}
    assert all(r.iterations <= 2001 for r in records)
    assert all(r.model == "2-2sigmoid-1identity (normal)" for r in records)
    report = (tmp_path / "report-writeup.md").read_text()
    assert (
        "sgd (learning_rate=0.02, momentum=0.9)" in report or "sgd (learning_rate=0.02)" in report
    )


@pytest.mark.slow
def test_rerun_skips_recorded_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "--tasks",
        "xor",
        "--solvers",
        "numpy-backprop",
        "--seeds",
        "2",
        "--max-iterations",
        "50",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    main(argv)
    main(argv)
    out = capsys.readouterr().out
    assert "ran 0 runs" in out and "skipped 2 already recorded" in out
    assert len(read_records([tmp_path / "raw" / "default.jsonl"]).records) == 2


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.02", 0.02),
        ("2001", 2001),
        ("true", True),
        ("none", None),
        ("4,4", (4, 4)),
        ("relu", "relu"),
        ("1e-3", 0.001),
    ],
)
def test_parse_value(text: str, value: object) -> None:
    assert parse_value(text) == value
