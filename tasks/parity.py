"""n-bit parity: the output is 1 when an odd number of the n input bits are 1.

Parity is the classic hard case for MLPs: every input bit flips the answer, so no subset of the
inputs carries information, and the loss surface is full of plateaus. Cost versus ``num_bits`` is
one of the suite's scaling curves.

Data: all ``2**num_bits`` patterns, inputs in {0, 1}. No split: parity is learning the whole
truth table (there is nothing to generalise from), so test = train.

Default network: ``n - n tanh - 1 sigmoid`` (n hidden units suffice for n-bit parity with a
threshold-like hidden layer), Glorot init, MSE. Target as for the gates: accuracy 1 and train
MSE <= 0.01.
"""

from __future__ import annotations

import itertools

import numpy as np

from tasks._validation import check_interval
from tasks.base import Target, Task
from tasks.mlp import ModelSpec


def make_parity(*, num_bits: int = 3) -> Task:
    """Build the n-bit parity task.

    Args:
        num_bits: number of input bits, 2 to 10 (2 is XOR).
    """
    check_interval(num_bits, "num_bits", "task 'parity'", kind=int, low=2, high=10)
    x = np.array(list(itertools.product((0.0, 1.0), repeat=num_bits)))
    y = (x.sum(axis=1) % 2)[:, None]
    return Task(
        name="parity",
        family="parity",
        kind="classification",
        x_train=x,
        y_train=y,
        x_test=x.copy(),
        y_test=y.copy(),
        model=ModelSpec.build(
            num_bits,
            (num_bits,),
            1,
            hidden_activation="tanh",
            output_activation="sigmoid",
            init="glorot",
        ),
        loss="mse",
        target=Target(min_accuracy=1.0, max_mse=0.01),
        has_split=False,
        options={"num_bits": num_bits},
        description=f"{num_bits}-bit parity over all {2**num_bits} patterns.",
    )
