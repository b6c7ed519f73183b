"""A fresh clone's main command runs on the user's machine, not from the committed reference.

The repository is copied as git would check it out (tracked files only: no ``results/raw`` of
this working tree), and the README's main command runs there on a tiny budget. Its first run
must execute every cell and skip none, write the report into ``results/``, and leave the
committed reference study in ``results/reference/`` untouched.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.suites import SUITES
from solvers import SOLVERS

ROOT = Path(__file__).resolve().parents[1]
SUITE = "smoke"
#: One seed and two iterations per run: the test is about which cells run, not their results.
COMMAND = ("--suite", SUITE, "--seeds", "1", "--max-iterations", "2", "--no-progress")


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout: cannot tell which files a fresh clone has")
    return [name for name in out.decode().split("\0") if name]


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_first_run_of_a_fresh_clone_executes_every_cell(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    for name in _tracked_files():
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in this working tree is skipped
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    assert not (clone / "results" / "raw").exists()
    reference = clone / "results" / "reference"
    before = _digests(reference)
    assert any(name.startswith("raw/") for name in before), "the reference records are committed"

    env = {**os.environ, "PYTHONPATH": str(clone)}
    done = subprocess.run(
        [sys.executable, "benchmarks/run_all.py", *COMMAND],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    suite = SUITES[SUITE]
    cells = len(suite.tasks) * len(suite.solver_names(tuple(SOLVERS)))  # plugins: opt-in
    summary = re.search(r"ran (\d+) runs .*skipped (\d+) already recorded", done.stdout)
    assert summary is not None, done.stdout
    assert (int(summary.group(1)), int(summary.group(2))) == (cells, 0)
    records = (clone / "results" / "raw" / f"{SUITE}.jsonl").read_text().splitlines()
    assert len(records) == cells
    assert (clone / "results" / f"report-{SUITE}.md").is_file()
    assert (clone / "results" / f"report-{SUITE}.html").is_file()
    assert _digests(reference) == before
