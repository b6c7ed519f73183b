"""Report sections contributed from outside the core report: studies and the benchmark table.

Each entry says what it is called, which record files it reads and which function writes its
Markdown. :mod:`benchmarks.report.document` appends every entry, in order, after the scaling
section. This module is the only place where the report imports a study (``benchmarks/studies``);
a study never imports the report, so the import graph stays one-way.

To add a study section: write ``lines(inputs) -> list[str]`` in the study's module (Markdown
without the section heading) and add one :class:`ReportSection` line to :data:`REPORT_SECTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.records import RunRecord
from benchmarks.report.benchmark_table import latest_benchmark_markdown
from benchmarks.report.protocol import control_reference_lines
from benchmarks.studies.sklearn_lbfgs import markdown_section as sklearn_lbfgs_section
from benchmarks.studies.writeup import markdown_section as writeup_section
from benchmarks.studies.zorb_claim import markdown_section as zorb_claim_section
from benchmarks.suites import WRITEUP_SUITES


@dataclass(frozen=True, kw_only=True)
class SectionInputs:
    """What a section function gets.

    Attributes:
        records: the records of the entry's ``record_files`` that exist (empty when it reads none).
        root: the repository root (where saved pytest-benchmark runs live).
    """

    records: tuple[RunRecord, ...]
    root: Path


@dataclass(frozen=True, kw_only=True)
class ReportSection:
    """One ``## title`` section of the report.

    Attributes:
        title: the section heading.
        record_files: suites whose records it reads, as ``<report folder>/raw/<name>.jsonl``. When
            it names some and none of them exists, the section is left out (nothing to report).
            Empty: the section reads no records and is always shown.
        lines: the section's Markdown lines, without its heading.
        benchmarks: the section shows saved pytest-benchmark runs, so the report's facts flag
            it when that run comes from another commit or machine than the records.
    """

    title: str
    record_files: tuple[str, ...]
    lines: Callable[[SectionInputs], Sequence[str]]
    benchmarks: bool = False


def _zorb_claim(inputs: SectionInputs) -> list[str]:
    return zorb_claim_section(inputs.records)


def _writeup(inputs: SectionInputs) -> list[str]:
    return writeup_section(inputs.records)


def _sklearn_lbfgs(inputs: SectionInputs) -> list[str]:
    return sklearn_lbfgs_section(inputs.records)


def _control_references(inputs: SectionInputs) -> list[str]:
    return control_reference_lines(inputs.records)


def _benchmark_table(inputs: SectionInputs) -> list[str]:
    return latest_benchmark_markdown(inputs.root)


#: Sections appended to every report, in this order.
REPORT_SECTIONS: tuple[ReportSection, ...] = (
    # The ZORB suite's records and those of `python -m benchmarks.studies.zorb_claim`; the
    # section picks the runs it needs.
    ReportSection(title="The write-up, reproduced",
                  record_files=tuple(s.name for s in WRITEUP_SUITES), lines=_writeup),
    ReportSection(title="ZORB claim", record_files=("zorb", "zorb_claim"), lines=_zorb_claim),
    ReportSection(title="L-BFGS against scikit-learn's L-BFGS", record_files=("lbfgs-sklearn",),
                  lines=_sklearn_lbfgs),
    # The default suite's own control runs (those the verdict's control answer rests on); the
    # control suite's longer runs have their own report (``--suite control``).
    ReportSection(title="Control tasks: published reference points", record_files=("default",),
                  lines=_control_references),
    ReportSection(title="Performance (pytest-benchmark)", record_files=(), lines=_benchmark_table,
                  benchmarks=True),
)

__all__ = ["REPORT_SECTIONS", "ReportSection", "SectionInputs"]
