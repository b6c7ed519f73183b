"""Task's evaluation entry points refuse a parameter vector of the wrong length (issue 30).

A vector one element too long used to be evaluated as if the extra element were not there, and
one too short failed inside NumPy with a broadcasting error naming no parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tasks import get_task
from tasks.base import Task
from tasks.errors import InvalidParameterError

#: Supervised tasks of each shape the evaluators handle: one output (regression and
#: classification), one-hot outputs, cross-entropy, a validation split.
TASKS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("xor", {}),
    ("sine", {}),
    ("parity", {"num_bits": 3}),
    ("iris", {}),
    ("xor", {"output_activation": "sigmoid", "loss": "cross_entropy"}),
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


def test_a_population_where_a_vector_is_expected_is_refused() -> None:
    task = get_task("xor")
    with pytest.raises(InvalidParameterError, match=r"must be a NumPy vector of shape \(9,\)\. "
                                                    r"Got an array of shape \(1, 9\)"):
        task.evaluate(np.zeros((1, task.num_params)))
