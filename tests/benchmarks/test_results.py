"""Results as data: the runs and trace frames, the CSV export, the README's example, and the
committed reference report rebuilt from its records without drift."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.environment import ROOT
from benchmarks.records import read_records
from benchmarks.report.analysis import group_records
from benchmarks.report.document import _Figures, build_markdown, build_report
from benchmarks.results import (
    CATEGORICAL,
    UnreadableRecordWarning,
    load_runs,
    load_trace,
    runs_frame,
    write_csv,
)

REFERENCE = ROOT / "results" / "reference"
DEFAULT = REFERENCE / "raw" / "default.jsonl"
#: A slice of the default reference records: several tasks, both arms, every solver.
SAMPLE_LINES = slice(0, 1800, 7)


@pytest.fixture(scope="module")
def sample_lines() -> list[str]:
    return DEFAULT.read_text(encoding="utf-8").splitlines()[SAMPLE_LINES]


@pytest.fixture
def sample_file(tmp_path: Path, sample_lines: list[str]) -> Path:
    path = tmp_path / "raw" / "sample.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(sample_lines) + "\n", encoding="utf-8")
    return path


def test_one_row_per_run_with_flattened_fields_and_stable_dtypes(sample_file: Path) -> None:
    runs = load_runs(sample_file)
    records = read_records([sample_file]).records
    assert len(runs) == len(records) > 200
    for column in CATEGORICAL:
        assert isinstance(runs[column].dtype, pd.CategoricalDtype), column
    for column in ("iterations_to_target", "evaluations_to_target", "trial",
                   "cost_to_target.iterations", "cost_to_target.evaluations"):
        assert runs[column].dtype == "Int64", column
    assert runs["seconds_to_target"].dtype == "Float64"
    assert runs["success"].dtype == bool and runs["censored"].dtype == bool
    assert runs["seed"].dtype == "int64" and runs["evaluations"].dtype == "int64"
    # Nested fields become dotted columns; an integer option missing in some rows stays integer.
    assert runs["task.num_bits"].dtype == "Int64"
    assert runs["config.learning_rate"].dtype == "float64"
    for name in ("final_train.mse", "final_test.accuracy", "budget.max_evaluations",
                 "environment.versions.torch", "selected.test.accuracy"):
        assert name in runs, name
    assert "trace" not in runs and "final_params" not in runs
    # Row i is record i, value for value.
    for i, r in enumerate(records):
        row = runs.iloc[i]
        assert row["key"] == r.key and row["seed"] == r.seed and row["solver"] == r.solver
        assert row["stop_reason"] == str(r.stop_reason)
        assert bool(row["success"]) == (r.iterations_to_target is not None)
        expected = r.evaluations_to_target
        assert (pd.isna(row["cost_to_target.evaluations"]) if expected is None
                else row["cost_to_target.evaluations"] == expected)
        assert row["budget.max_evaluations"] == r.budget.get("max_evaluations")
        for metric, value in r.final_train.items():
            assert (math.isnan(row[f"final_train.{metric}"]) if math.isnan(value)
                    else row[f"final_train.{metric}"] == value)
        for option, value in r.task_options.items():
            assert row[f"task.{option}"] == value


def test_the_frame_names_groups_and_labels_as_the_report_does(sample_file: Path) -> None:
    records = read_records([sample_file]).records
    runs = runs_frame(records)
    groups = group_records(records, runs)
    for g in groups:
        mine = runs.loc[g.frame.index]
        assert set(mine["group"].astype(str)) == {g.name}
        assert {str(label) for label in mine["label"]} == set(g.runs)
        for label, rs in g.runs.items():
            assert [r.key for r in rs] == list(g.frame.loc[g.frame["label"] == label, "key"])
    assert runs.loc[runs["arm"] == "tuned", "label"].astype(str).str.endswith(" [tuned]").all()
    assert set(runs["paradigm"].dropna()) <= {"gradients", "evolution", "closed form",
                                              "reference", "baseline"}


def test_latest_record_of_a_key_wins_and_earlier_ones_can_be_kept(
    tmp_path: Path, sample_lines: list[str]
) -> None:
    first = json.loads(sample_lines[0])
    rerun = {**first, "seed": first["seed"], "wall_seconds": 123.0}
    path = tmp_path / "rerun.jsonl"
    path.write_text("\n".join([json.dumps(first), sample_lines[1], json.dumps(rerun)]) + "\n")
    runs = load_runs(path)
    assert len(runs) == 2
    assert runs.loc[runs["key"] == first["key"], "wall_seconds"].tolist() == [123.0]
    assert len(load_runs(path, latest_only=False)) == 3


def test_bad_lines_are_skipped_with_a_warning_naming_file_and_line(
    tmp_path: Path, sample_lines: list[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    torn = sample_lines[2][: len(sample_lines[2]) // 2]
    not_a_record = json.dumps({"key": "x"})
    path.write_text("\n".join([sample_lines[0], torn, not_a_record, sample_lines[1]]) + "\n")
    with pytest.warns(UnreadableRecordWarning) as caught:
        runs = load_runs(path)
    assert len(runs) == 2
    messages = [str(w.message) for w in caught]
    assert any(f"{path}:2" in m and "not JSON" in m for m in messages)
    assert any(f"{path}:3" in m and "'suite'" in m for m in messages)


def test_folders_are_read_through_their_raw_records_and_missing_paths_are_errors(
    tmp_path: Path, sample_file: Path
) -> None:
    assert len(load_runs(sample_file.parent.parent)) == len(load_runs(sample_file))
    with pytest.raises(FileNotFoundError, match="no records"):
        load_runs(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"\*\.jsonl"):
        load_runs(tmp_path / "empty")


def test_trace_is_long_one_row_per_checkpoint(sample_file: Path) -> None:
    records = read_records([sample_file]).records
    trace = load_trace(sample_file)
    assert len(trace) == sum(len(r.trace) for r in records)
    assert list(trace.columns[:9]) == ["key", "suite", "task", "group", "solver", "label", "arm",
                                       "paradigm", "seed"]
    r = max(records, key=lambda rec: len(rec.trace))
    mine = trace[trace["key"] == r.key]
    assert mine["iteration"].tolist() == [p.iteration for p in r.trace]
    assert mine["loss"].tolist() == [p.loss for p in r.trace]
    assert (mine["seed"] == r.seed).all()
    assert trace["accuracy"].dtype == "float64"


def test_csv_holds_every_run_and_reads_back(tmp_path: Path, sample_file: Path) -> None:
    runs = load_runs(sample_file)
    path = write_csv(runs, tmp_path / "sample-runs.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(runs.columns)
    assert len(back) == len(runs)
    assert back["key"].tolist() == runs["key"].tolist()
    assert back["success"].tolist() == runs["success"].tolist()
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, then renamed


def test_report_writes_its_runs_as_csv_next_to_it(
    tmp_path: Path, sample_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = read_records([sample_file]).records[:40]
    monkeypatch.setattr(_Figures, "make", lambda self, name, draw, alt: [])
    files = build_report(records, tmp_path / "report.md", "t", root=tmp_path, sections=())
    csv = tmp_path / "default-runs.csv"
    assert files.markdown.exists() and csv.exists()
    assert pd.read_csv(csv)["key"].tolist() == [r.key for r in records]


@pytest.mark.filterwarnings("ignore:vert. bool was deprecated:DeprecationWarning")
def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"## Analyse the records yourself.*?```python\n(.*?)```", text, re.S)
    assert match is not None, "the README lost its 'Analyse the records yourself' example"
    code = match.group(1)
    assert len(code.strip().splitlines()) <= 5
    (tmp_path / "results").symlink_to(ROOT / "results")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "cost.png").stat().st_size > 0


@pytest.mark.slow
def test_default_reference_report_rebuilds_from_its_records_without_drift(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every line of the committed default report, tables and figure references included,
    comes back from the committed records: only the generation time may differ. (Figures are
    not redrawn here; they are byte-identical PNGs when they are.)"""
    result = read_records([DEFAULT])
    monkeypatch.setattr(_Figures, "make", lambda self, name, draw, alt: [
        f"![{alt}]({(self.folder / f'{name}.png').relative_to(self.base).as_posix()})", ""])
    text, _, failed = build_markdown(
        result.records, "evo-vs-grad report: suite 'default'", REFERENCE / "report.md",
        root=ROOT, superseded=result.superseded)
    assert failed == []
    committed = (REFERENCE / "report.md").read_text(encoding="utf-8").splitlines()
    rebuilt = text.splitlines()
    generated = re.compile(r"^- Report generated \S+; ")
    assert len(rebuilt) == len(committed)
    for n, (new, old) in enumerate(zip(rebuilt, committed, strict=True), 1):
        if generated.match(old):
            assert generated.sub("", new) == generated.sub("", old)
        else:
            assert new == old, f"report.md line {n} drifted"


def test_report_only_rebuilds_the_csv_from_the_records(
    tmp_path: Path, sample_lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks.run_all import main

    raw = tmp_path / "raw" / "default.jsonl"
    raw.parent.mkdir()
    raw.write_text("\n".join(sample_lines[:12]) + "\n", encoding="utf-8")
    monkeypatch.setattr(_Figures, "make", lambda self, name, draw, alt: [])
    assert main(["--report-only", "--out", str(tmp_path), "--no-progress"]) == 0
    csv = tmp_path / "default-runs.csv"
    first = pd.read_csv(csv)
    assert first["key"].tolist() == [json.loads(line)["key"] for line in sample_lines[:12]]
    with raw.open("a", encoding="utf-8") as f:  # a record arrives: the next rebuild has it
        f.write(sample_lines[12] + "\n")
    assert main(["--report-only", "--out", str(tmp_path), "--no-progress"]) == 0
    assert len(pd.read_csv(csv)) == 13


def test_default_options_are_the_options_of_a_task_built_without_any() -> None:
    """Group names compare options with the factory's keyword defaults instead of building
    each task; that is right only while the two agree, for every registered task."""
    from benchmarks.results import DERIVED_OPTIONS, default_options, freeze
    from tasks import TASKS, get_task

    for name in TASKS:
        built = {k: v for k, v in get_task(name).options.items() if k not in DERIVED_OPTIONS}
        assert default_options(name) == dict(freeze(built)), name
    assert default_options("no-such-task") == {}
