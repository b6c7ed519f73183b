"""Sine regression ``y = sin(k x)`` on ``x in [-pi, pi]``, with the frequency ``k`` as the knob.

Higher ``k`` packs more oscillations into the same interval: the function gets harder to fit
with a fixed width, which is the write-up's question of how the cost grows as the function gets
harder.

Data: ``num_train`` points drawn uniformly from the interval with the data seed, and a test set
of ``num_test`` evenly spaced points over the same interval (interpolation, not extrapolation).

Default network: 1-16 tanh-1 linear, Glorot init, MSE.

Target: train MSE <= 0.01. ``sin`` has variance 0.5 on a whole number of periods, so this is
about 98% of the variance explained, a fit that visibly follows the curve.
"""

from __future__ import annotations

import numpy as np

from tasks._validation import check_interval
from tasks.base import Target, Task
from tasks.mlp import ModelSpec


def make_sine(
    *, frequency: float = 1.0, num_train: int = 64, num_test: int = 256, data_seed: int = 0
) -> Task:
    """Build the ``sin(k x)`` regression task.

    Args:
        frequency: ``k``, in (0, 50].
        num_train: training points (>= 4), drawn uniformly with ``data_seed``.
        num_test: evenly spaced test points (>= 2).
        data_seed: seed of the training sample.
    """
    owner = "task 'sine'"
    check_interval(frequency, "frequency", owner, low=0.0, high=50.0, closed="right")
    check_interval(num_train, "num_train", owner, kind=int, low=4)
    check_interval(num_test, "num_test", owner, kind=int, low=2)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    rng = np.random.default_rng(data_seed)
    x_train = np.sort(rng.uniform(-np.pi, np.pi, num_train))[:, None]
    x_test = np.linspace(-np.pi, np.pi, num_test)[:, None]
    return Task(
        name="sine",
        family="function",
        kind="regression",
        x_train=x_train,
        y_train=np.sin(frequency * x_train),
        x_test=x_test,
        y_test=np.sin(frequency * x_test),
        model=ModelSpec.build(
            1, (16,), 1, hidden_activation="tanh", output_activation="identity", init="glorot"
        ),
        loss="mse",
        target=Target(max_mse=0.01),
        options={
            "frequency": frequency,
            "num_train": num_train,
            "num_test": num_test,
            "data_seed": data_seed,
        },
        description=f"sin({frequency:g} x) on [-pi, pi], {num_train} random training points.",
    )
