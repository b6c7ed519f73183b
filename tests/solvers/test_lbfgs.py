"""LBFGSSolver (torch.optim.LBFGS adapter) and its scikit-learn reference, one test each."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

import solvers.lbfgs as lbfgs_module
from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.lbfgs import LBFGSSolver
from tasks import get_task
from tasks.base import Target, Task
from tasks.errors import InvalidParameterError
from tasks.sklearn_reference import fit_sklearn_mlp


class RecordingMonitor:
    """Stands in for the harness: keeps every report, asks to stop after ``stop_after``."""

    def __init__(self, stop_after: int) -> None:
        self.evaluations: list[int] = []
        self.backward: list[int] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.evaluations.append(evaluations)
        self.backward.append(backward)
        return len(self.evaluations) >= self.stop_after


def unreachable(task: Task) -> Task:
    return dataclasses.replace(task, target=Target(max_mse=-1.0))


@pytest.mark.parametrize(
    ("field", "value"),
    [("learning_rate", 0.0), ("max_iter", 0), ("max_eval", 0), ("history_size", 0),
     ("tolerance_grad", -1.0), ("line_search_fn", "backtracking"), ("dtype", "float16")],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of LBFGSSolver"):
        LBFGSSolver(**{field: value})


def test_defaults_are_torchs_except_the_line_search() -> None:
    solver = LBFGSSolver()
    torch_defaults = torch.optim.LBFGS([torch.zeros(1, requires_grad=True)]).defaults
    assert solver.learning_rate == torch_defaults["lr"]
    assert solver.max_iter == torch_defaults["max_iter"]
    assert solver.evaluation_cap == torch_defaults["max_eval"]
    assert solver.history_size == torch_defaults["history_size"]
    assert solver.tolerance_grad == torch_defaults["tolerance_grad"]
    assert solver.tolerance_change == torch_defaults["tolerance_change"]
    assert torch_defaults["line_search_fn"] is None and solver.line_search_fn == "strong_wolfe"


@pytest.mark.parametrize("line_search_fn", ["strong_wolfe", None])
def test_every_closure_call_is_charged(
    monkeypatch: pytest.MonkeyPatch, line_search_fn: str | None
) -> None:
    """Reported evaluations are exactly N forward + N backward per loss evaluation made."""
    task = unreachable(get_task("xor", hidden=4))
    calls: list[int] = []
    original = lbfgs_module.torch_loss

    def counting(*args: Any) -> torch.Tensor:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(lbfgs_module, "torch_loss", counting)
    solver = LBFGSSolver(line_search_fn=line_search_fn, learning_rate=0.5)
    monitor = RecordingMonitor(stop_after=6)
    solver.run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    n = task.n_train
    assert monitor.evaluations[0] == 0
    assert sum(monitor.evaluations) == len(calls) * n
    assert monitor.backward == monitor.evaluations
    # With the line search a step costs more than its quasi-Newton updates: that is the point.
    assert max(monitor.evaluations) <= solver.iteration_cost(task).forward
    assert max(monitor.evaluations) > n


def test_a_converged_run_finishes_instead_of_spinning() -> None:
    task = unreachable(get_task("and"))
    record = run_one(task, LBFGSSolver(tolerance_grad=1e9), Budget(max_iterations=50), seed=0,
                     strict=True)
    assert record.stop_reason == "solver_finished"
    assert record.iterations == 1 and record.evaluations == task.n_train


def test_matches_scikit_learn_lbfgs_on_iris() -> None:
    """Same network and split as ``MLPClassifier(solver="lbfgs")``: test accuracy within noise.

    Both reach about 0.96-1.0 on iris's 38 test rows (one row is 0.026); the means over five
    seeds must agree within two rows.
    """
    task = get_task("iris")
    budget = Budget(max_evaluations=2_000_000, max_seconds=120.0)  # time is not the point here
    ours = [run_one(task, LBFGSSolver(), budget, seed=s, strict=True) for s in range(5)]
    theirs = [fit_sklearn_mlp(task, seed=s) for s in range(5)]
    assert all(r.success for r in ours)
    ours_acc = np.mean([r.final_test["accuracy"] for r in ours])
    theirs_acc = np.mean([r.test_accuracy for r in theirs])
    assert ours_acc >= 0.9 and theirs_acc >= 0.9
    assert abs(ours_acc - theirs_acc) <= 2 / len(task.x_test)


def test_sklearn_reference_rejects_what_it_cannot_express() -> None:
    with pytest.raises(InvalidParameterError, match="'task kind' parameter of fit_sklearn_mlp"):
        fit_sklearn_mlp(get_task("sine"))
    with pytest.raises(InvalidParameterError, match="'alpha' parameter of fit_sklearn_mlp"):
        fit_sklearn_mlp(get_task("iris"), alpha=-1.0)
