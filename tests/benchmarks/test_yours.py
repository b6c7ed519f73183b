"""``run_all.py --data FILE --target COLUMN`` (``--suite yours``): one command from a user's CSV
to a report with a verdict, the budget rule, resume, and every bad input refused before a run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.records import read_records
from benchmarks.run_all import main
from benchmarks.suites import TaskEntry, yours_budget, yours_suites
from tasks import user_data
from tasks.errors import InvalidParameterError

#: A tiny protocol: two solvers, two seeds, two trials, a small budget, in this process.
TINY = ["--solvers", "adam,zorb", "--seeds", "2", "--trials", "2", "--max-evaluations", "20000",
        "--executor", "serial", "--no-progress", "--hidden", "8"]


def _csv(path: Path, n: int = 240, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["label"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    frame.to_csv(path, index=False)
    return path


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("run_all.py: error: "), err
    return err


def test_a_csv_goes_from_one_command_to_a_report_with_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path / "mine.csv")
    out = tmp_path / "out"
    assert main(["--data", str(data), "--target", "label", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "verdict: no target was given, so this is a fixed-budget comparison" in printed
    assert "--target-accuracy" in printed
    report = (out / "report-yours.md").read_text(encoding="utf-8")
    assert "## Verdict" in report and "## Choosing a target" in report
    assert "no target (fixed budget only): compare the quality column" in report
    assert "cannot pick: no paradigm reached the target" not in report
    # No success to compare: no reliability lines, one line saying why.
    assert "- **No target:**" in report and "vs evolution** over" not in report
    assert "Where the data cannot decide" not in report
    # The report says how to rebuild it with the command that works for your data.
    assert "`python benchmarks/run_all.py --report-only --data FILE --target COLUMN`" in report
    assert "## Tuning" in report  # tuned.json beside the report: the study's section
    assert "Not measured with these records" not in report
    records = read_records([out / "raw" / "yours.jsonl"]).records
    assert {r.arm for r in records} == {"defaults", "tuned"}
    assert {r.solver for r in records} == {"adam", "zorb"} and {r.seed for r in records} == {0, 1}
    assert {r.task_options["sha256"] for r in records} == {user_data.file_hash(data)}
    assert all(r.stop_reason == "max_evaluations" or r.solver == "zorb" for r in records)
    tuning = read_records([out / "raw" / "yours-tuning.jsonl"]).records
    assert {r.seed for r in tuning}.isdisjoint({r.seed for r in records})
    tuned = json.loads((out / "tuned.json").read_text(encoding="utf-8"))
    assert set(next(iter(tuned["tuned"].values()))) == {"adam", "zorb"}
    assert (out / "yours-runs.csv").exists() and (out / "report-yours.html").exists()


@pytest.mark.slow
def test_a_bundled_data_set_written_to_csv_with_a_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.to_csv(tmp_path / "cancer.csv", index=False)
    out = tmp_path / "out"
    argv = ["--data", str(tmp_path / "cancer.csv"), "--target", "target", "--out", str(out),
            "--target-accuracy", "0.9", *TINY]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("verdict: ") and "reached the target" in printed
    report = (out / "report-yours.md").read_text(encoding="utf-8")
    assert "target: train accuracy >= 0.9" in report
    assert "## Choosing a target" not in report
    records = read_records([out / "raw" / "yours.jsonl"]).records
    assert any(r.success for r in records)


@pytest.mark.slow
def test_a_rerun_resumes_and_a_changed_file_is_new_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path / "mine.csv")
    out = tmp_path / "out"
    argv = ["--data", str(data), "--target", "label", "--out", str(out), *TINY,
            "--arms", "defaults"]
    assert main(argv) == 0
    first = (out / "raw" / "yours.jsonl").read_bytes()
    assert main(argv) == 0
    assert (out / "raw" / "yours.jsonl").read_bytes() == first  # nothing ran again
    _csv(data, seed=1)
    assert main(argv) == 0
    records = read_records([out / "raw" / "yours.jsonl"]).records
    assert len({r.task_options["sha256"] for r in records}) == 2
    report = (out / "report-yours.md").read_text(encoding="utf-8")
    assert user_data.file_hash(data) in report  # the report is the current file's
    old = {r.task_options["sha256"] for r in records} - {user_data.file_hash(data)}
    assert old.pop() not in report
    capsys.readouterr()


# --- bad input: exit 2, one line naming the file and what is wrong, nothing recorded ---------


def _bad(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


BAD_INPUTS = {
    "missing file": (None, r"The data file '.*nope\.csv' does not exist\."),
    "unknown column": (
        pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]}),
        r"Unknown target column 'label' in the data file '.*bad\.csv'\. Available target "
        r"columns: a, y\."),
    "text features": (
        pd.DataFrame({"a": ["x", "y"] * 20, "label": [0, 1] * 20}),
        r"bad\.csv' has non-numeric feature columns: 'a' \(e\.g\. 'x'\)\. Ask for an "
        r"encoding \(--encode onehot"),
    "nan and inf": (
        pd.DataFrame({"a": [1.0, np.nan, np.inf] + [0.0] * 37, "label": [0, 1] * 20}),
        r"bad\.csv' holds 2 missing or infinite values: 1 missing \(NaN or empty\) in "
        r"column 'a' \(line 3\); 1 infinite in column 'a' \(line 4\)"),
    "one class": (
        pd.DataFrame({"a": np.arange(40.0), "label": ["yes"] * 40}),
        r"bad\.csv' has one class in its target column 'label' \('yes' in all 40 rows\)"),
    "too few rows": (
        pd.DataFrame({"a": np.arange(6.0), "label": [0, 1] * 3}),
        r"bad\.csv' has 6 rows; a train/validation/test split .* needs at least \d+\."),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_before_any_run(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, pattern = BAD_INPUTS[case]
    path = tmp_path / "nope.csv" if frame is None else _bad(tmp_path, frame)
    out = tmp_path / "out"
    err = _refused(["--data", str(path), "--target", "label", "--out", str(out), *TINY],
                   capsys)
    assert re.search(pattern, err), err
    assert not (out / "raw").exists() and not (out / "tuned.json").exists()


def test_a_data_set_larger_than_memory_is_refused_with_the_estimate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _csv(tmp_path / "big.csv")
    monkeypatch.setattr(user_data, "physical_memory", lambda: 4096)
    err = _refused(["--data", str(data), "--target", "label", "--out", str(tmp_path / "o"),
                    *TINY], capsys)
    assert "big.csv' would need about" in err and "more than this machine has" in err


def test_options_that_do_not_apply_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _csv(tmp_path / "mine.csv")
    err = _refused(["--suite", "yours"], capsys)
    assert "give --data FILE" in err
    err = _refused(["--data", str(data), "--target", "label", "--tasks", "xor"], capsys)
    assert "'--tasks' option does not apply with --data" in err
    err = _refused(["--data", str(data), "--target", "label", "--suite", "smoke"], capsys)
    assert "got --suite 'smoke'" in err
    err = _refused(["--data", str(data), "--target", "label", "--hidden", "0"], capsys)
    assert "'hidden' parameter of task 'data'" in err
    err = _refused(["--data", str(data), "--target", "label", "--set",
                    "adam.learning_rate=0.1"], capsys)
    assert "cannot be set with the tuned arm" in err


def test_the_budget_rule() -> None:
    # 2e10 multiply-adds per run: 10^4 rows x 10^4 parameters gets 200 epochs.
    assert yours_budget(10_000, 10_000).max_evaluations == 2_000_000
    assert yours_budget(100, 200).max_evaluations == 2_000 * 100  # capped at 2000 epochs
    assert yours_budget(100_000, 100_000).max_evaluations == 50 * 100_000  # at least 50
    budget = yours_budget(10_000, 10_000)
    assert not budget.stop_at_target and budget.max_seconds == 600.0
    entry = TaskEntry(name="data", budget=budget)
    tuning, evaluation = yours_suites(entry)
    assert tuning is not None and tuning.trials == 4 and tuning.seeds == (10_000, 10_001)
    assert evaluation.arms == ("defaults", "tuned") and evaluation.seeds == tuple(range(5))
    assert yours_suites(entry, trials=0)[0] is None
    with pytest.raises(InvalidParameterError, match="must be disjoint"):
        yours_suites(entry, seeds=(0, 10_000))
