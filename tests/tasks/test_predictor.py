"""The predictor path: a network reported as logits is judged exactly as the flat vector it
computes (``tasks/predictor.py``, ``Task.evaluate_predictor``, ``Monitor._judge_predictor``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from benchmarks.records import RunRecord
from solvers.base import Cost, Monitor, Solver
from tasks import get_task
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, FloatArray
from tasks.predictor import MLPPredictor, is_predictor

# A hand-set 2-2-1 network (sigmoid hidden, linear output) that solves XOR (h1 ~ OR, h2 ~ AND).
XOR_SOLUTION = np.array([20.0, 20.0, 20.0, 20.0, -10.0, -30.0, 1.0, -1.0, 0.0])

#: Supervised tasks covering every loss and output activation, a quantized network included.
TASKS = ["xor", "iris", "parity", "sine", "circle", "circle_zero_one", "parity_sign"]


@dataclass(frozen=True, kw_only=True)
class Replay(Solver):
    """Reports a straight path from ``x0`` to ``goal`` (a test double), each point as ``wrap``
    makes it: the flat vector itself, or a predictor computing it."""

    name: ClassVar[str] = "replay"
    paradigm: ClassVar[str] = "evolution"
    iteration: ClassVar[str] = "one scripted report"
    evaluations: ClassVar[str] = "n_train"
    needs_differentiable: ClassVar[bool] = False
    wrap: ClassVar[Callable[[Task, FlatParams], Any]] = staticmethod(
        lambda task, params: params)
    steps: int = 20

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        goal = XOR_SOLUTION if task.name == "xor" else np.zeros_like(x0)
        k = 0
        while True:
            t = min(1.0, k / self.steps)
            params = x0 + t * (goal - x0)
            if monitor.report(type(self).wrap(task, params), evaluations=task.n_train):
                return
            k += 1


@dataclass(frozen=True, kw_only=True)
class ReplayMLP(Replay):
    """:class:`Replay` reporting each point as an :class:`MLPPredictor`."""

    wrap: ClassVar[Callable[[Task, FlatParams], Any]] = staticmethod(
        lambda task, params: MLPPredictor(task.model, params))


def outcome(record: RunRecord) -> dict[str, Any]:
    """What the harness decided and measured, without clocks, stored vectors or sizes."""
    return {
        "stop_reason": record.stop_reason,
        "iterations": record.iterations,
        "evaluations": record.evaluations,
        "to_target": (record.iterations_to_target, record.evaluations_to_target),
        "final_train": record.final_train,
        "final_test": record.final_test,
        "trace": [(p.iteration, p.evaluations, p.loss, p.mse, p.accuracy, p.val_loss,
                   p.test_loss, p.test_mse, p.test_accuracy) for p in record.trace],
        "selected": record.selected,
    }


@pytest.mark.parametrize("name", TASKS)
def test_evaluate_predictor_is_evaluate_bit_for_bit(name: str) -> None:
    """An MLP as a predictor gets the metrics of its flat vector on every split, through
    ``evaluate_predictor``, ``evaluate`` and the harness's evaluator alike."""
    task = get_task(name)
    rng = np.random.default_rng(0)
    for params in task.model.init_params(rng, 3) * np.array([[0.5], [1.0], [4.0]]):
        predictor = MLPPredictor(task.model, params)
        for split in ("train", "test"):
            expected = task.evaluate(params, split)
            assert task.evaluate_predictor(predictor, split) == expected
            assert task.evaluate(predictor, split) == expected
        assert task.evaluator("train")(predictor) == task.evaluate(params)


@pytest.mark.parametrize("name", TASKS)
def test_scored_predictor_losses_are_the_evaluated_losses(name: str) -> None:
    """A solver ranking predictors sees the harness's training loss, bit for bit, and pays one
    forward pass per predictor and training example."""
    task = get_task(name)
    population = task.model.init_params(np.random.default_rng(1), 5) * 2.0
    predictors = [MLPPredictor(task.model, p) for p in population]
    losses, spent = task.scored_predictor_losses(predictors)
    assert losses.tolist() == [task.evaluate(p)["loss"] for p in population]
    np.testing.assert_array_equal(losses, task.losses(population))
    assert spent == 5 * task.n_train


def test_logits_of_the_wrong_shape_are_refused() -> None:
    class Wrong:
        num_params = 3

        def logits(self, x: FloatArray) -> FloatArray:
            return np.zeros((len(x), 2))

        def model_size(self) -> dict[str, int]:
            return {"params": 3}

    task = get_task("xor")
    assert is_predictor(Wrong()) and not is_predictor(np.zeros(9))
    with pytest.raises(InvalidParameterError, match=r"'predictor' parameter .* shape \(4, 1\)"):
        task.evaluate_predictor(Wrong())
    with pytest.raises(InvalidParameterError, match="'params' parameter"):
        task.evaluate(np.zeros(5))  # a wrong vector is still refused as a vector


def test_mlp_predictor_size_is_the_network_size() -> None:
    task = get_task("iris")
    size = MLPPredictor(task.model, task.model.init_params(np.random.default_rng(0))).model_size()
    assert size == {"nodes": 8 + 3, "connections": 4 * 8 + 8 * 3, "params": task.num_params}


@pytest.mark.parametrize(
    "budget",
    [Budget(max_iterations=40), Budget(max_iterations=40, stop_at_target=False),
     Budget(max_evaluations=37)],
    ids=["stop-at-target", "fixed-budget", "max-evaluations"],
)
def test_harness_judges_a_predictor_as_its_flat_vector(budget: Budget) -> None:
    """The same path reported as vectors (held, batched, screened) and as predictors (judged at
    once) gives the same metrics, trace, target decision and stop reason; only the stored
    parameters differ (none for a predictor) and the predictor's size is recorded."""
    task = get_task("xor")
    flat = run_one(task, Replay(), budget, seed=0, strict=True)
    predicted = run_one(task, ReplayMLP(), budget, seed=0, strict=True)
    assert outcome(predicted) == outcome(flat)
    if budget.stop_at_target and budget.max_iterations:
        assert flat.stop_reason == "target_reached" and flat.iterations_to_target == 19
    assert flat.final_params and flat.model_size is None
    assert predicted.final_params == []
    assert predicted.model_size == {"nodes": 3, "connections": 6, "params": 9}


def test_harness_judges_a_predictor_on_a_validation_split() -> None:
    """The best-validation checkpoint and the held-out metrics come out the same too."""
    task = get_task("iris")
    assert task.has_validation
    flat = run_one(task, Replay(steps=10), Budget(max_iterations=15), seed=2, strict=True)
    predicted = run_one(task, ReplayMLP(steps=10), Budget(max_iterations=15), seed=2, strict=True)
    assert flat.selected is not None and outcome(predicted) == outcome(flat)


def test_control_task_rolls_out_predictors_as_vectors() -> None:
    """On CartPole a predictor's episodes, returns and step counts are its vector's, alone
    (``evaluate``) and in a population (``scored_losses``)."""
    task = get_task("cartpole", train_episodes=3, eval_episodes=4, test_episodes=2)
    population = task.model.init_params(np.random.default_rng(3), 6)
    predictors = [MLPPredictor(task.model, p) for p in population]
    losses, steps = task.scored_predictor_losses(predictors)
    flat_losses, flat_steps = task.scored_losses(population)
    np.testing.assert_array_equal(losses, flat_losses)
    assert steps == flat_steps > 0
    for params, predictor in zip(population[:2], predictors[:2], strict=True):
        for split in ("train", "test"):
            got, want = task.evaluate(predictor, split), task.evaluate(params, split)
            assert got.keys() == want.keys()
            assert all(got[k] == want[k] or math.isnan(want[k]) for k in want)
        assert task.evaluator("train")(predictor)["return"] == task.evaluate(params)["return"]
    with pytest.raises(InvalidParameterError, match="no validation split"):
        task.evaluate_predictor(predictors[0], "val")


def test_control_run_with_predictors_matches_vectors() -> None:
    task = get_task("cartpole", train_episodes=2, eval_episodes=3, test_episodes=2)
    budget = Budget(max_iterations=6, max_evaluations=5_000)
    flat = run_one(task, Replay(steps=4), budget, seed=1, strict=True)
    predicted = run_one(task, ReplayMLP(steps=4), budget, seed=1, strict=True)
    assert flat.stop_reason == "max_evaluations" and flat.model_size is None  # 6th discarded
    assert predicted.model_size == {"nodes": 18, "connections": 96, "params": task.num_params}
    a, b = outcome(flat), outcome(predicted)
    for record in (a, b):  # a return has no MSE: NaN, which never compares equal
        record.pop("trace")
        for split in ("final_train", "final_test"):
            record[split] = {k: v for k, v in record[split].items() if k != "mse"}
    assert a == b
    assert [p.loss for p in flat.trace] == [p.loss for p in predicted.trace]
