"""Task's evaluation entry points refuse a parameter vector of the wrong length (issue 30).

A vector one element too long used to be evaluated as if the extra element were not there, and
one too short failed inside NumPy with a broadcasting error naming no parameter. Control tasks
(``tasks/control.py``) override every entry point and check the same way, with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tasks import get_task
from tasks.base import Task
from tasks.control import ControlTask
from tasks.errors import InvalidParameterError

#: Supervised tasks of each shape the evaluators handle: one output (regression and
#: classification), one-hot outputs, cross-entropy, a validation split.
TASKS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("xor", {}),
    ("sine", {}),
    ("parity", {"num_bits": 3}),
    ("iris", {}),
    ("xor", {"output_activation": "sigmoid", "loss": "cross_entropy"}),
    # Control tasks override each entry point (episodes, not examples); two episodes per set
    # keep them cheap.
    ("cartpole", {"train_episodes": 2, "eval_episodes": 2, "test_episodes": 2}),
    ("acrobot", {"train_episodes": 2, "eval_episodes": 2, "test_episodes": 2}),
)

#: Each entry point: (its name in the message, the parameter's name, what it is given for a
#: vector (the vector itself, or a population holding it), the call).
ENTRY_POINTS: tuple[tuple[str, str, Callable[[np.ndarray], np.ndarray],
                          Callable[[Task, np.ndarray], object]], ...] = (
    ("Task.evaluate", "params", lambda p: p, lambda task, x: task.evaluate(x)),
    ("Task.evaluate", "params", lambda p: p, lambda task, x: task.evaluate(x, "test")),
    ("Task.evaluator", "params", lambda p: p, lambda task, x: task.evaluator()(x)),
    ("Task.batch_evaluator", "population", lambda p: p[None],
     lambda task, x: task.batch_evaluator()(x)),
    ("Task.losses", "population", lambda p: np.stack([p, p]), lambda task, x: task.losses(x)),
    # A supervised task's scored_losses is its losses (the message names Task.losses); a
    # control task's runs the training episodes itself.
    ("Task.scored_losses", "population", lambda p: np.stack([p, p]),
     lambda task, x: task.scored_losses(x)),
)


@pytest.mark.parametrize(("name", "options"), TASKS)
@pytest.mark.parametrize(("method", "param", "given", "call"), ENTRY_POINTS)
@pytest.mark.parametrize("extra", [1, -1])
def test_a_parameter_vector_of_the_wrong_length_is_refused(
    name: str, options: dict[str, Any], method: str, param: str,
    given: Callable[[np.ndarray], np.ndarray], call: Callable[[Task, np.ndarray], object],
    extra: int,
) -> None:
    task = get_task(name, **options)
    if method == "Task.scored_losses" and not isinstance(task, ControlTask):
        method = "Task.losses"
    n = task.num_params
    call(task, given(np.zeros(n)))  # the right length is evaluated
    wrong = given(np.zeros(n + extra))
    expected = f"vector of shape ({n},)" if param == "params" else f"array of shape (K, {n})"
    with pytest.raises(InvalidParameterError) as exc:
        call(task, wrong)
    message = str(exc.value)
    assert message.startswith(f"The {param!r} parameter of {method} of task {name!r}")
    assert f"must be a NumPy {expected}" in message
    assert f"Got an array of shape {wrong.shape} instead." in message


@pytest.mark.parametrize("name", ["xor", "cartpole"])
def test_a_population_where_a_vector_is_expected_is_refused(name: str) -> None:
    task = get_task(name)
    n = task.num_params
    for evaluate in (task.evaluate, task.evaluator()):
        with pytest.raises(InvalidParameterError, match=rf"must be a NumPy vector of shape "
                                                        rf"\({n},\)\. Got an array of shape "
                                                        rf"\(1, {n}\)"):
            evaluate(np.zeros((1, n)))
