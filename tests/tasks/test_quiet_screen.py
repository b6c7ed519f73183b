"""Task.quiet_screen: it may clear a report only if the exact evaluation finds it quiet.

The harness skips the exact evaluation of a held report the screen clears (benchmarks/harness.py),
so one wrong "quiet" would let a run miss its target or a divergence. These tests hold the
screen to ``Task.evaluate`` on tasks of every shape it serves (one sigmoid output, softmax
outputs with mse or cross-entropy, regression with several outputs, relu layers), with parameters
from ordinary to overflowing and targets set exactly at, one ulp around, and far from what the
exact evaluation gives: wherever the screen says quiet, the loss must be finite and the target
unmet.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np
import pytest

from benchmarks.harness import initial_params
from tasks import get_task
from tasks.base import Target, Task
from tasks.mlp import ModelSpec

#: Tasks the screen serves (at least 128 examples), one of each shape.
SCREENED: tuple[tuple[str, dict[str, Any]], ...] = (
    ("parity", {"num_bits": 8, "hidden": 100}),  # one sigmoid output, mse, accuracy 1.0
    ("digits", {}),  # softmax, cross-entropy: accuracy only
    ("zorb_digits", {"hidden": 32}),  # softmax with the mse loss, two tanh layers
    ("lotka", {}),  # regression, two outputs
    ("cancer", {}),  # one sigmoid output, cross-entropy
    ("zorb_xor", {}),  # tanh and relu layers
)


def _rows(task: Task) -> np.ndarray:
    """Ordinary, shrunk (outputs at the decision threshold), zero (exact ties), saturated,
    huge-but-finite, overflowing and non-finite parameter vectors."""
    start = [initial_params(task, seed) for seed in range(3)]
    rng = np.random.default_rng(0)
    rows = [*start, 1e-3 * start[0], 1e-9 * start[1], np.zeros(task.num_params),
            5.0 * start[2], 3.0 * rng.standard_normal(task.num_params),
            1e30 * start[0], np.full(task.num_params, 1e200)]
    nan = start[0].copy()
    nan[1] = np.nan
    inf = start[1].copy()
    inf[-1] = np.inf
    return np.stack([*rows, nan, inf])


def _targets(task: Task, metrics: dict[str, float]) -> list[Target]:
    """Targets exactly at, one ulp either side of, and away from one row's exact metrics."""
    mse, loss = metrics["mse"], metrics["loss"]
    targets = [task.target, Target(max_mse=-1.0), Target(max_mse=1e-12)]
    if math.isfinite(mse):
        for value in (mse, np.nextafter(mse, np.inf), np.nextafter(mse, -np.inf), 0.5 * mse):
            targets.append(Target(max_mse=float(value)))
    if math.isfinite(loss):
        for value in (loss, np.nextafter(loss, -np.inf)):
            targets.append(Target(max_loss=float(value)))
    if "accuracy" in metrics:
        acc = metrics["accuracy"]
        step = 1.0 / task.n_train
        for value in (acc, acc + step, min(1.0, acc + 0.5 * step), max(0.0, acc - step)):
            targets.append(Target(min_accuracy=float(value)))
            targets.append(Target(min_accuracy=float(value), max_mse=10.0))
    return targets


@pytest.mark.parametrize(("name", "options"), SCREENED)
def test_the_screen_clears_only_reports_the_exact_evaluation_finds_quiet(
    name: str, options: dict[str, Any]
) -> None:
    task = get_task(name, **options)
    rows = _rows(task)
    with np.errstate(all="ignore"):
        exact = [task.evaluate(row) for row in rows]
    cleared_somewhere = 0
    for metrics in exact:
        for target in _targets(task, metrics):
            screen = dataclasses.replace(task, target=target).quiet_screen()
            if screen is None:  # a target it has no bound for (cross-entropy max_loss)
                assert target.max_loss is not None and task.loss == "cross_entropy"
                continue
            quiet = screen(rows)
            for i in np.flatnonzero(quiet):
                assert math.isfinite(exact[i]["loss"]), (i, target)
                assert not target.is_met(exact[i]), (i, target, exact[i])
            cleared_somewhere += int(quiet.sum())
    assert cleared_somewhere > 0


@pytest.mark.parametrize(("name", "options"), SCREENED)
def test_the_screen_clears_what_it_is_for(name: str, options: dict[str, Any]) -> None:
    """Every finite, moderate row under an unreachable target, and the starting points under the
    task's own target (far from it); never a non-finite or overflowing row."""
    task = get_task(name, **options)
    rows = _rows(task)
    endless = dataclasses.replace(task, target=Target(max_mse=-1.0)).quiet_screen()
    assert endless is not None
    quiet = endless(rows)
    assert quiet[:9].all()  # up to 1e30 times a starting point
    assert not quiet[9:].any()  # 1e200, NaN, inf
    screen = task.quiet_screen()
    assert screen is not None
    assert screen(rows[:3]).all()


def test_tasks_it_cannot_serve_have_no_screen() -> None:
    assert get_task("xor").quiet_screen() is None  # four examples: an eighth saves nothing
    assert get_task("cartpole").quiet_screen() is None  # episodes, not examples
    digits = get_task("digits")
    # A cross-entropy threshold has no bound here, and accuracy is not asked.
    assert dataclasses.replace(digits, target=Target(max_loss=0.1)).quiet_screen() is None


def _probe(kind: Literal["classification", "regression"],
           target: Target) -> tuple[Task, np.ndarray]:
    """A 1-1-1 net on 256 examples, and a parameter vector that gets every example right but
    the ones the screen forwards (an evenly spread eighth), which it gets wrong by a wide margin:
    what the screen sees then is all there is to see, and its verdict must still be "not
    proven" when the target sits exactly at the exact metrics."""
    n = 256
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    if kind == "classification":  # z = x, sigmoid output, label 1 where x > 0
        x, y = sign[:, None], (sign[:, None] > 0).astype(float)
        model = ModelSpec.build(1, (1,), 1, hidden_activation="identity",
                                output_activation="sigmoid")
    else:  # z = x, identity output, y = x
        x, y = sign[:, None], sign[:, None].copy()
        model = ModelSpec.build(1, (1,), 1, hidden_activation="identity",
                                output_activation="identity")
    task = Task(name="probe", family="test", kind=kind, x_train=x, y_train=y, x_test=x,
                y_test=y, model=model, target=target)
    screen = task.quiet_screen()
    assert screen is not None
    seen = screen.rows  # type: ignore[attr-defined]
    flipped = y.copy()
    if kind == "classification":
        flipped[seen] = 1.0 - flipped[seen]
    else:
        flipped[seen] += 1.0
    task = dataclasses.replace(task, y_train=flipped, y_test=flipped)
    # w1, b1, w2, b2: z = 8 x (a wide margin around 0.5), or the output x itself.
    return task, np.array([[8.0 if kind == "classification" else 1.0, 0.0, 1.0, 0.0]])


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_a_target_met_by_what_the_screen_did_not_see_is_never_cleared(
    kind: Literal["classification", "regression"],
) -> None:
    """Every error lies in the screen's eighth: the exact metrics equal the screen's best case,
    so a target exactly at them is met, and the screen must not clear the row."""
    task, row = _probe(kind, Target(max_mse=1.0))
    metrics = task.evaluate(row[0])
    at_metrics = [Target(max_mse=metrics["mse"])]
    if kind == "classification":
        assert metrics["accuracy"] == 1.0 - 1.0 / 8
        at_metrics += [Target(min_accuracy=metrics["accuracy"]),
                       Target(min_accuracy=metrics["accuracy"], max_mse=metrics["mse"])]
    for target in at_metrics:
        assert target.is_met(metrics)
        screen = dataclasses.replace(task, target=target).quiet_screen()
        assert screen is not None
        assert not screen(row)[0], target
    # One example more than it can vouch for, and it clears the row.
    beyond = (Target(min_accuracy=1.0 - 1.0 / 8 + 1.0 / 256) if kind == "classification"
              else Target(max_mse=metrics["mse"] * 0.999))
    screen = dataclasses.replace(task, target=beyond).quiet_screen()
    assert screen is not None and screen(row)[0]
