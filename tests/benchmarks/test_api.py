"""The notebook API (``benchmarks/api.py``): the README's example runs, results as data, and bad
input refused before any run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from benchmarks.api import Protocol, compare, plan
from benchmarks.environment import ROOT
from benchmarks.suites import YOURS_SIZE_LIMITS, yours_budget
from tasks.errors import InvalidParameterError


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Your data.*?```python\n(.*?)```", text, re.S)
    assert match is not None, "the README lost its 'Your data' Python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(match.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "gradients" in printed and "closed form" in printed
    report = (tmp_path / "results" / "yours" / "report.md").read_text(encoding="utf-8")
    assert "## Verdict" in report and "## Choosing a target" in report
    assert (tmp_path / "results" / "yours" / "data.npz").exists()


@pytest.mark.slow
def test_results_hold_the_runs_frame_and_the_verdict_as_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 2))
    y = x[:, 0] - 2.0 * x[:, 1] + 0.05 * rng.normal(size=160)
    results = compare(x, y, hidden=(4,), solvers=["adam", "elm"], seeds=[3, 5], trials=0,
                      target_mse=0.5, max_evaluations=20_000, out=tmp_path, executor="serial",
                      progress=False)
    assert results.task.kind == "regression"
    runs = results.runs
    assert len(runs) == 4 and set(runs["seed"]) == {3, 5} and set(runs["arm"]) == {"defaults"}
    assert set(runs["solver"].astype(str)) == {"adam", "elm"}
    table = results.verdict_table()
    assert set(table["paradigm"]) == {"gradients", "closed form"}
    assert results.verdict is not None
    picked = table[table["pick"]]
    assert list(picked["paradigm"]) == ([results.verdict.pick] if results.verdict.pick else [])
    assert results.target_advice() is None  # it had a target
    # Rebuilt from the records alone, the same runs (the report rebuilds the task from them).
    path = results.report(tmp_path / "elsewhere" / "report.md")
    assert "target: train MSE <= 0.5" in path.read_text(encoding="utf-8")


def test_bad_arrays_are_refused_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"'X' and 'y' parameters of compare .* "
                                                    r"Got X of shape \(10,\) and y"):
        compare(np.zeros(10), np.zeros(10), out=tmp_path)
    x = np.random.default_rng(0).normal(size=(60, 2))
    x[4, 1] = np.inf
    with pytest.raises(InvalidParameterError, match=r"data\.npz' holds 1 missing or infinite "
                                                    r"value \(rows counted from 0\): 1 infinite "
                                                    r"in column 'x1' \(row 4\)"):
        compare(x, np.arange(60) % 2, out=tmp_path, executor="serial", progress=False)
    assert not (tmp_path / "raw").exists()


def test_large_networks_leave_cmaes_out_with_a_note(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(60, 40))
    np.savez(tmp_path / "wide.npz", X=x, y=np.arange(60) % 2)
    hidden = YOURS_SIZE_LIMITS["cmaes"][0] // 40 + 1
    task, entry, tuning, evaluation, notes = plan(
        {"path": str(tmp_path / "wide.npz"), "hidden": [hidden]}, Protocol())
    assert task.num_params > YOURS_SIZE_LIMITS["cmaes"][0]
    assert evaluation.solvers is not None and "cmaes" not in evaluation.solvers
    assert len(notes) == 1 and "left out: solver 'cmaes'" in notes[0]
    assert entry.budget == yours_budget(task.n_train, task.num_params)
    assert tuning is not None and tuning.solvers == evaluation.solvers
    named = plan({"path": str(tmp_path / "wide.npz"), "hidden": [hidden]},
                 Protocol(solvers=("cmaes", "adam")))
    assert named[3].solvers == ("cmaes", "adam") and not named[4]
