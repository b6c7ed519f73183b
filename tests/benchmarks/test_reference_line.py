"""A reference line (``paradigm = "reference"``: scikit-learn's MLP) is shown, never compared:
the verdict, the paired comparisons and the tuning study leave it out, by what it declares."""

from __future__ import annotations

from benchmarks.report.analysis import group_records
from benchmarks.report.comparisons import arm_labels
from benchmarks.report.verdict import representatives
from benchmarks.results import is_reference
from benchmarks.suites import Suite, TaskEntry, _b
from solvers import SOLVERS
from tests.benchmarks.test_report import _record


def _records() -> list:  # type: ignore[type-arg]
    out = []
    for s in range(4):
        out.append(_record("iris", {}, "adam", s, solved_at=200))
        out.append(_record("iris", {}, "sklearn-mlp", s, solved_at=20))  # better on every seed
    return out


def test_reference_is_a_declared_paradigm_not_a_name() -> None:
    assert is_reference("sklearn-mlp") and is_reference("sklearn-mlp [tuned]")
    assert not any(is_reference(n) for n in SOLVERS if SOLVERS[n].paradigm != "reference")


def test_verdict_and_comparisons_leave_the_reference_out() -> None:
    (group,) = group_records(_records())
    assert "sklearn-mlp" in group.runs
    reps = representatives(group, arm="defaults")
    assert set(reps) == {"gradients"} and reps["gradients"].label == "adam"
    labels, arm = arm_labels([group])
    assert labels == ["adam"] and arm == "defaults"


def test_tuning_study_gives_the_reference_no_trials() -> None:
    suite = Suite(name="t", description="t", tasks=(TaskEntry(name="iris", budget=_b(1000)),),
                  solvers=("adam", "sklearn-mlp"), seeds=(1,), arms=("trial",), trials=2)
    solvers = {c.solver for c in suite.cells(tuple(SOLVERS))}
    assert solvers == {"adam"}
