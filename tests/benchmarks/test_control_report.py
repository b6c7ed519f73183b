"""Control tasks in the report: mean return instead of MSE, environment steps, not applicable
solvers never counted as failures, and the published reference points quoted with sources."""

from __future__ import annotations

import json

import pytest

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from benchmarks.records import RunRecord, TracePoint
from benchmarks.report.analysis import data_sentence, final_columns, group_records, quality_metric
from benchmarks.report.protocol import control_reference_lines
from benchmarks.report.verdict import representatives
from solvers import get_solver
from tasks import get_task


@pytest.fixture(scope="module")
def records() -> list[RunRecord]:
    task = get_task("cartpole", train_episodes=2, eval_episodes=3, test_episodes=3)
    budget = Budget(max_iterations=2)
    out = [run_one(task, get_solver(name, **opts), budget, seed=0, strict=True)
           for name, opts in (("ga", {}), ("sgd", {}), ("sklearn-mlp", {}))]
    # Round trip through JSON, as the report reads them.
    return [RunRecord.from_dict(json.loads(r.to_json())) for r in out]


def test_trace_exposes_the_return_as_minus_the_loss() -> None:
    point = TracePoint(iteration=0, evaluations=0, backward=0, solver_seconds=0.0, loss=-42.0,
                       mse=float("nan"), test_loss=-40.0)
    assert point.get("return") == 42.0 and point["test_return"] == 40.0
    assert TracePoint(iteration=0, evaluations=0, backward=0, solver_seconds=0.0, loss=1.0,
                      mse=1.0).get("test_return") is None


def test_quality_is_the_mean_return_and_unsupported_solvers_are_not_failures(
    records: list[RunRecord],
) -> None:
    (group,) = group_records(records)
    assert group.kind == "control"
    assert quality_metric(group) == ("test_return", "test mean return", True)
    columns = final_columns(group, True)
    assert [c[0] for c in columns] == [
        "mean return, evaluation episodes", "mean return, test episodes"]
    ga = group.attempted("ga")[0]
    row = group.frame.loc[group.frame["key"] == ga.key].iloc[0]
    assert row[columns[1][1]] == ga.final_test["return"] > 0
    assert "environment steps" in data_sentence(group, ga.n_train)
    assert group.attempted("sgd") == [] and group.attempted("sklearn-mlp") == []
    assert set(representatives(group, arm="defaults")) == {"evolution"}


def test_reference_points_are_quoted_with_sources(records: list[RunRecord]) -> None:
    text = "\n".join(control_reference_lines(records))
    assert "| `ga` |" in text and "`sgd`" not in text
    assert "1e5 environment steps" in text and "RL Baselines3 Zoo" in text
    assert "gymnax-blines" in text


def test_the_control_return_figure_is_drawn_for_control_tasks_only(
    records: list[RunRecord], tmp_path: pytest.TempPathFactory
) -> None:
    from pathlib import Path

    from benchmarks.report.figures import TASK_FIGURES
    from benchmarks.report.figures.fixed_budget import control_return_figure

    (group,) = group_records(records)
    figure = next(f for f in TASK_FIGURES if f.name == "control-return")
    assert figure.applies_to(group)
    out = control_return_figure(group, None, Path(str(tmp_path)) / "ret.png")
    assert out is not None and out.stat().st_size > 1000
    assert "environment steps" in figure.caption(group)
