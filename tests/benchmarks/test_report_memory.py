"""The report's memory grows by a few kilobytes a record (issue 30: 10^5 records in 2 GB)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from benchmarks import run_all
from benchmarks.report.analysis import group_records
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
