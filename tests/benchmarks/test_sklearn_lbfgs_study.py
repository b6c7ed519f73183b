"""The L-BFGS against scikit-learn section: a table per data set, paired ratio and difference."""

from __future__ import annotations

import dataclasses

from benchmarks.studies.sklearn_lbfgs import markdown_section
from tests.benchmarks.test_report import _record


def test_section_pairs_seeds_and_states_the_time_ratio() -> None:
    records = []
    for s in range(3):
        ours = _record("iris", {}, "lbfgs", s, solved_at=5)
        theirs = _record("iris", {}, "sklearn-mlp", s, solved_at=1, iterations=1)
        records.append(dataclasses.replace(ours, suite="lbfgs-sklearn", solver_seconds=0.3))
        records.append(dataclasses.replace(
            theirs, suite="lbfgs-sklearn", solver_seconds=0.1,
            config={**theirs.config, "solver": "lbfgs"}))
    # an adam-configured sklearn-mlp run is not scikit-learn's L-BFGS: left out
    records.append(dataclasses.replace(_record("iris", {}, "sklearn-mlp", 9, solved_at=1),
                                       suite="lbfgs-sklearn"))
    text = "\n".join(markdown_section(records))
    assert "**iris**" in text
    assert "| `lbfgs` (torch) | 3 | 3/3 |" in text
    assert "| `sklearn-mlp` (scikit-learn lbfgs) | 3 | 3/3 |" in text
    assert "Paired over 3 seeds: `lbfgs` takes 3× scikit-learn's seconds" in text


def test_section_without_records_says_so() -> None:
    assert markdown_section([])[-1] == "No runs of this suite recorded yet."
