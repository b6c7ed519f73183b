"""The command line: clear one-line errors with exit status 2, and the write-up's run."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
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
        # seeds: non-negative integers below 2**32, at most MAX_SEEDS of them
        (["--seed-list", "-1"], "must list integers in the range [0, 4294967295]. Got '-1'"),
        (["--seed-list=-5,3"], "Got '-5' instead"),
        (["--seed-list", "a"], "Got 'a' instead"),
        (["--seed-list", "1,,2"], "none empty. Got '1,,2'"),
        (["--seed-list", "1.5"], "Got '1.5' instead"),
        (["--seed-list", "4294967296"], "Got '4294967296' instead"),
        (["--seeds", "1000000000"], "'--seeds' parameter of run_all.py must be an int in the "
                                    "range [1, 100000]. Got 1000000000"),
        (["--seeds", "1000000"], "range [1, 100000]"),
        (["--seeds", "x"], "Got 'x' instead"),
        (["--arms", "best"], "Unknown arm 'best'"),
        (["--arms", ","], "'--arms' option needs at least one arm"),
        (["--tuned", "/nonexistent/tuned.json"], "'--tuned' option names"),
        (["--seeds", "3", "--seed-list", "1"], "not both"),
        # empty lists are errors, never "all"
        (["--solvers", ""], "The '--solvers' option must be a comma-separated list of solvers"),
        (["--tasks", " "], "The '--tasks' option must be a comma-separated list"),
        (["--seed-list="], "The '--seed-list' option must be a comma-separated list"),
        # sizes checked against memory before any run
        (["--tasks", "xor", "--solvers", "sgd", "--task-set", "xor.hidden=1000000000"],
         "needs about"),
        (["--tasks", "xor", "--solvers", "sgd", "--task-set", "xor.hidden=1000000000000000000"],
         "more than this machine has"),
        (["--tasks", "sine", "--task-set", "sine.num_train=1000000000"],
         "The 'num_train' parameter of task 'sine' must be an int in the range [1, 10000000]"),
        (["--tasks", "xor", "--solvers", "ga", "--set", "ga.population_size=1000000000000"],
         "needs about"),
        (["--tasks", "xor", "--solvers", "cmaes", "--set", "cmaes.population_size=1000000000"],
         "needs about"),
        (["--tasks", "xor", "--solvers", "sgd", "--set", "sgd.learning_rate=1e400"],
         "'learning_rate' parameter of SGDSolver must be a float"),
        (["--tasks", "xor", "--solvers", "sgd", "--set", "sgd.learning_rate=10**400"],
         "'learning_rate' parameter of SGDSolver must be a float"),
        # addresses
        (["--scheduler", "notanaddress"], "The 'scheduler' parameter of ExecutorConfig must be an "
                                          "address like 'tcp://host:8786'"),
        (["--scheduler", "tcp://127.0.0.1:99999"], "a port in 1-65535"),
        # argparse's own errors are one line too
        (["--max-iterations", "abc"], "argument --max-iterations: invalid int value: 'abc'"),
        (["--executor", "gpu"], "argument --executor: invalid choice: 'gpu'"),
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


@pytest.mark.parametrize("target", ["file", "devnull"])
def test_out_must_be_a_writable_folder(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a-file" if target == "file" else Path("/dev/null")
    if target == "file":
        out.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", "xor", "--solvers", "sgd", "--out", str(out), "--executor", "serial"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1
    assert "The '--out' option must be a folder this command can write" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_report_folder_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "raw").mkdir()
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(SystemExit) as exc:
            main(["--tasks", "xor", "--solvers", "sgd", "--out", str(tmp_path)])
    finally:
        tmp_path.chmod(0o700)
    assert exc.value.code == 2 and "is not writable" in capsys.readouterr().err


def test_a_read_only_out_folder_is_refused_even_as_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same check without needing a non-root user: the folder reports itself read-only."""
    from benchmarks import run_all

    (tmp_path / "raw").mkdir()
    real_access = os.access
    monkeypatch.setattr(run_all.os, "access",
                        lambda path, mode: Path(path) != tmp_path and real_access(path, mode))
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", "xor", "--solvers", "sgd", "--out", str(tmp_path), "--report-only"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "is not writable" in err


def test_a_closed_scheduler_port_is_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", "xor", "--solvers", "sgd", "--seeds", "1", "--out", str(tmp_path),
              "--scheduler", f"tcp://127.0.0.1:{port}", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and time.monotonic() - start < 5
    assert "cannot reach the Dask scheduler" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "raw" / "default.jsonl").exists()


@pytest.mark.slow
def test_rerun_leaves_every_success_count_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No tuned arm (the committed tuned.json would double the cells): one record per seed.
    argv = ["--tasks", "xor", "--solvers", "sgd", "--seeds", "3", "--max-iterations", "300",
            "--out", str(tmp_path), "--executor", "serial", "--no-progress",
            "--arms", "defaults"]
    assert main(argv) == 0
    first = (tmp_path / "report.md").read_text()
    assert main([*argv, "--rerun"]) == 0
    err = capsys.readouterr().err
    assert "3 superseded records ignored" in err
    result = read_records([tmp_path / "raw" / "default.jsonl"])
    assert (len(result.records), result.superseded) == (3, 3)
    second = (tmp_path / "report.md").read_text()
    rates = re.findall(r"\d+/\d+ \([^)]*\)", first)  # success rates "k/n (low-high)"
    assert rates and rates == re.findall(r"\d+/\d+ \([^)]*\)", second)
    assert "/6 (" not in second and "3 superseded records ignored" in second
    # --report-only says which lines it could not read, and reads the rest
    raw = tmp_path / "raw" / "default.jsonl"
    lines = raw.read_bytes().count(b"\n")
    with raw.open("ab") as f:
        f.write(b"\xff\xfe\n[1, 2, 3]\n")
    assert main([*argv, "--report-only"]) == 0
    err = capsys.readouterr().err
    assert f"ignoring unreadable record at {raw}:{lines + 1} (not UTF-8" in err
    assert f"ignoring unreadable record at {raw}:{lines + 2} (a record must be a JSON object" in err


@pytest.mark.slow
def test_a_default_task_option_makes_no_new_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--tasks", "xor", "--solvers", "sgd", "--seeds", "2", "--max-iterations", "50",
            "--out", str(tmp_path), "--executor", "serial", "--no-progress"]
    assert main(argv) == 0
    assert main([*argv, "--task-set", "xor.hidden=2"]) == 0
    assert "ran 0 runs" in capsys.readouterr().out.splitlines()[-2]


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
    assert {r.config["momentum"] for r in records} == {0.9}
    assert all(r.iterations <= 2001 for r in records)
    assert all(r.model == "2-2sigmoid-1identity (normal)" for r in records)
    report = (tmp_path / "report-writeup.md").read_text()
    # SGD's default momentum is 0, so the report's label must name both settings; a label
    # without momentum would mean the write-up's momentum was dropped somewhere on the way.
    assert "sgd (learning_rate=0.02, momentum=0.9)" in report
    assert "sgd (learning_rate=0.02)" not in report


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
        "--arms",
        "defaults",
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
