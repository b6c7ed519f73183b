"""The report's memory grows by a few kilobytes a record (issue 30: 10^5 records in 2 GB)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from benchmarks import run_all
from benchmarks.record_table import read_table
from benchmarks.report.analysis import group_records, solver_order
from benchmarks.report.figures import palette
from benchmarks.report.figures.fixed_budget import quality_curves_figure
from benchmarks.report.figures.outcomes import task_ecdf_figure
from benchmarks.report.figures.per_task import convergence_figure
from benchmarks.report.verdict import verdict_section
from benchmarks.results import runs_frame
from tests.benchmarks.test_record_table import synthetic


def _report_data_peak(out: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Peak traced memory (bytes) of ``--report-only`` on ``out`` up to the report's figures:
    reading the records, their runs frame, task groups with target levels, and the verdict,
    which reads every group's traces and costs."""

    def data_layer(records: Any, path: Path, *args: Any, **kwargs: Any) -> Path:
        frame = runs_frame(records)
        verdict_section(group_records(records, frame))
        return path

    monkeypatch.setattr(run_all, "write_report", data_layer)
    tracemalloc.start()
    try:
        assert run_all.main(["--report-only", "--out", str(out)]) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_report_memory_grows_by_a_few_kilobytes_per_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 30: the report over 10^5 records fits in 2 GB. Holding every trace as point
    objects cost about 29 kB a record for the records alone (15 GB at 2*10^5 with the rest);
    the table holds a record in about 3 kB, its row of the runs frame in about 1 kB more."""
    small, large = 300, 1500
    paths = [synthetic(tmp_path, n) for n in (small, large)]
    peaks = [_report_data_peak(path.parent.parent, monkeypatch) for path in paths]
    per_record = (peaks[1] - peaks[0]) / (large - small)
    assert per_record < 9_000, f"{per_record:,.0f} bytes per record"


def _figure_peak(path: Path, draw: Any) -> tuple[int, int]:
    """Peak traced memory (bytes) above the start of drawing ``draw``'s figure for the
    records' largest task group, and that group's run count."""
    records = read_table([path]).records
    groups = group_records(records, runs_frame(records))
    group = max(groups, key=lambda g: len(g.frame))
    colours = palette(solver_order(groups))
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        draw(group, colours, path.parent / "figure.png")
        return tracemalloc.get_traced_memory()[1] - start, len(group.frame)
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("draw", [convergence_figure, quality_curves_figure, task_ecdf_figure])
def test_a_figure_over_every_run_grows_by_a_few_kilobytes_per_run(
    tmp_path: Path, draw: Any
) -> None:
    """Issue 30: the figures that summarise every run of a task (medians, quartiles, ECDFs)
    read the runs' traces as columns, all runs at once: a trace per run built as objects cost
    about 30 kB a run while drawing. What remains per run is the step curves on the figure's
    grid (a few floats per grid point, for one solver at a time)."""
    small, large = 300, 1500
    peaks = [_figure_peak(synthetic(tmp_path, n), draw) for n in (small, large)]
    per_run = (peaks[1][0] - peaks[0][0]) / (peaks[1][1] - peaks[0][1])
    assert per_run < 12_000, f"{per_run:,.0f} bytes per run of the group"
