"""A teacher-student regression task, as an evo-vs-grad plugin.

The targets are the outputs of a fixed random "teacher" network of the student's own default
shape (``num_inputs``-``teacher_hidden`` tanh-1 linear), so the target is reachable by
construction: the teacher's parameters fit the data exactly. ``make_teacher.known_good`` hands
them to the conformance suite, which checks that they meet the target without any training.

Data: inputs drawn from ``N(0, 1)`` with ``data_seed`` (training and test sets from one stream,
so no input is in both); the teacher is drawn with ``teacher_seed``, so every data seed samples
the same function.

Target: train MSE <= 0.01. The teacher's output weights are ``N(0, 1 / teacher_hidden)``, so
its outputs have a variance of order 0.1-1 and the target asks for most of it explained.
"""

from __future__ import annotations

import numbers

import numpy as np

from tasks import ModelSpec, Target, Task
from tasks.errors import InvalidParameterError

OWNER = "task 'teacher'"


def _check_int(value: object, name: str, low: int, high: int) -> None:
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
            or not low <= value <= high):
        raise InvalidParameterError(
            f"The {name!r} parameter of {OWNER} must be an int in the range [{low}, {high}]. "
            f"Got {value!r} instead."
        )


def _spec(num_inputs: int, teacher_hidden: int) -> ModelSpec:
    return ModelSpec.build(num_inputs, (teacher_hidden,), 1, hidden_activation="tanh",
                           output_activation="identity", init="glorot")


def teacher_params(num_inputs: int, teacher_hidden: int, teacher_seed: int) -> np.ndarray:
    """The teacher network's flat parameters (the student's default layout)."""
    rng = np.random.default_rng(teacher_seed)
    w1 = rng.standard_normal((num_inputs, teacher_hidden)) / np.sqrt(num_inputs)
    b1 = 0.5 * rng.standard_normal(teacher_hidden)
    w2 = rng.standard_normal((teacher_hidden, 1)) / np.sqrt(teacher_hidden)
    return _spec(num_inputs, teacher_hidden).pack([(w1, b1), (w2, np.zeros(1))])


def make_teacher(
    *,
    num_inputs: int = 3,
    teacher_hidden: int = 4,
    num_train: int = 64,
    num_test: int = 256,
    data_seed: int = 0,
    teacher_seed: int = 0,
) -> Task:
    """Teacher-student regression: fit a fixed random 3-4 tanh-1 network from its samples.

    Args:
        num_inputs: input dimension, in [1, 50].
        teacher_hidden: the teacher's (and the student's default) hidden width, in [1, 256].
        num_train: training points (>= 4), drawn with ``data_seed``.
        num_test: test points (>= 2), drawn with ``data_seed`` after the training points.
        data_seed: seed of the inputs.
        teacher_seed: seed of the teacher's weights.
    """
    _check_int(num_inputs, "num_inputs", 1, 50)
    _check_int(teacher_hidden, "teacher_hidden", 1, 256)
    _check_int(num_train, "num_train", 4, 1_000_000)
    _check_int(num_test, "num_test", 2, 1_000_000)
    _check_int(data_seed, "data_seed", 0, 2**32 - 1)
    _check_int(teacher_seed, "teacher_seed", 0, 2**32 - 1)
    spec = _spec(num_inputs, teacher_hidden)
    teacher = teacher_params(num_inputs, teacher_hidden, teacher_seed)
    (w1, b1), (w2, b2) = spec.unpack(teacher)
    rng = np.random.default_rng(data_seed)
    x = rng.standard_normal((num_train + num_test, num_inputs))
    y = np.tanh(x @ w1 + b1) @ w2 + b2
    return Task(
        name="teacher",
        family="function",
        kind="regression",
        x_train=x[:num_train],
        y_train=y[:num_train],
        x_test=x[num_train:],
        y_test=y[num_train:],
        model=spec,
        loss="mse",
        target=Target(max_mse=0.01),
        options={
            "num_inputs": num_inputs,
            "teacher_hidden": teacher_hidden,
            "num_train": num_train,
            "num_test": num_test,
            "data_seed": data_seed,
            "teacher_seed": teacher_seed,
        },
        description=(
            f"Outputs of a random {spec.describe()} teacher network (seed {teacher_seed}) on "
            f"{num_train} N(0, 1) inputs; the student has the teacher's shape."
        ),
    )


def _known_good(task: Task) -> np.ndarray:
    """The teacher itself: a vector that meets the target without training."""
    options = task.options
    return teacher_params(int(options["num_inputs"]), int(options["teacher_hidden"]),
                          int(options["teacher_seed"]))


#: Read by evo-vs-grad's conformance suite (``python -m benchmarks.conformance``).
make_teacher.known_good = _known_good  # type: ignore[attr-defined]
