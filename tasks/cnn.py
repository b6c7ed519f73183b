"""digits_cnn: a small convolutional network on scikit-learn's 8x8 digits (issue 28).

The ``digits`` task (``tasks/real.py``) with its MLP swapped for a CNN given as a
``torch.nn.Module`` (:class:`tasks.network.ModuleSpec`), so the two are comparable: the same
rows in the same train / validation / test splits, standardized the same way (each pixel with
the training split's statistics), the same cross-entropy loss on a softmax output and the same
target (train accuracy >= 0.97, what a linear model reaches; ``tasks/real.py``).

Network (:class:`DigitsCNN`), ``c = channels``::

    image 1x8x8 -> conv 3x3 (1 -> c, padding 1) -> ReLU -> conv 3x3 (c -> c, padding 1) -> ReLU
                -> max-pool 2x2 -> c x 4 x 4 -> linear (16c -> 10) -> softmax

Parameters: ``10c`` (first convolution) + ``9c^2 + c`` (second) + ``160c + 10`` (linear), i.e.
``9c^2 + 171c + 10``:

========  =========
channels  parameters
========  =========
4             838
5           1,090
8 (default) 1,954
16          5,050
32         14,698
64         47,818
100       107,110
========  =========

so ``channels`` spans about 10^3 to 10^5 parameters (the digits MLP has 2,410). The width is the
knob a scaling study sweeps: population methods pay for every parameter, gradients hardly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from tasks._validation import check_interval
from tasks.base import Target, Task
from tasks.mlp import FlatParams
from tasks.network import LinearReadout, ModuleSpec
from tasks.real import VAL_FRACTION, _split

#: Side of the square images and number of classes of scikit-learn's digits.
SIDE, CLASSES = 8, 10
#: The digits task's target (tasks/real.py): what logistic regression reaches, rounded down.
MIN_ACCURACY = 0.97
#: Widest network the knob allows (about 1.5e5 parameters).
MAX_CHANNELS = 128


def num_params(channels: int) -> int:
    """Parameters of :class:`DigitsCNN` with ``channels`` channels: ``9c^2 + 171c + 10``."""
    return 9 * channels**2 + 171 * channels + 10


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions with ReLU, a 2x2 max-pool and a linear layer to 10 logits.

    Plain tensor ops (``torch.func.vmap`` batches them over a population). The input is a
    flattened image ``(N, 64)`` in scikit-learn's row-major pixel order. The linear layer is a
    declared read-out (:class:`tasks.network.LinearReadout`) of :meth:`features`, so an extreme
    learning machine fits it on the random convolutions' features.
    """

    linear_readout: ClassVar[LinearReadout] = LinearReadout.of_linear("out")

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.out = nn.Linear(channels * (SIDE // 2) ** 2, CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled feature maps, flattened: ``(N, 16c)``, the linear layer's input."""
        h = x.reshape(-1, 1, SIDE, SIDE)
        h = torch.relu(self.conv1(h))
        h = torch.relu(self.conv2(h))
        return functional.max_pool2d(h, 2).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


@dataclass(frozen=True)
class DigitsCNNFactory:
    """:class:`ModuleSpec`'s zero-argument module factory, compared and pickled by value."""

    channels: int

    def __call__(self) -> DigitsCNN:
        return DigitsCNN(self.channels)


def make_digits_cnn(
    *,
    channels: int = 8,
    test_fraction: float = 0.25,
    val_fraction: float = VAL_FRACTION,
    data_seed: int = 0,
) -> Task:
    """Digits (8x8) through a small CNN: the ``digits`` task's rows, loss and target.

    Args:
        channels: channels of both convolutions, in [1, 128]; ``9c^2 + 171c + 10`` parameters
            (the module docstring's table: 838 at 4, 1,954 at 8, 47,818 at 64, 107,110 at 100).
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the stratified split (the ``digits`` task's, so the rows match).
    """
    name = "digits_cnn"
    check_interval(channels, "channels", f"task {name!r}", kind=int, low=1, high=MAX_CHANNELS)
    x_train, x_val, x_test, y_train, y_val, y_test = _split(
        name, "load_digits", test_fraction, data_seed, classes=True, val_fraction=val_fraction
    )
    eye = np.eye(CLASSES)
    y_tr, y_va, y_te = (eye[y.astype(int)] for y in (y_train, y_val, y_test))
    knobs = {"channels": int(channels), "test_fraction": test_fraction,
             "val_fraction": val_fraction, "data_seed": data_seed}
    model = ModuleSpec(module=DigitsCNNFactory(int(channels)), n_in=SIDE * SIDE, n_out=CLASSES,
                       output_activation="softmax", options={"channels": int(channels)})
    return Task(
        name=name,
        family="real",
        kind="classification",
        x_train=x_train,
        y_train=y_tr,
        x_test=x_test,
        y_test=y_te,
        x_val=x_val,
        y_val=y_va,
        model=model,
        loss="cross_entropy",
        target=Target(min_accuracy=MIN_ACCURACY),
        options={**knobs, "network": model.record()},
        description=(
            f"Digits (8x8, scikit-learn) through a CNN of {channels} channels "
            f"({model.num_params:,} parameters: two 3x3 convolutions, ReLU, 2x2 max-pool, "
            f"linear to 10, softmax): the digits task's {len(x_train)} train / {len(x_val)} "
            f"validation / {len(x_test)} test rows, standardized with train statistics; target "
            f"train accuracy >= {MIN_ACCURACY:g}, as digits."
        ),
    )


def known_good(task: Task) -> FlatParams:
    """A parameter vector meeting the target, built in closed form (no training).

    The convolutions keep the module's own initialisation (seed 0): random ReLU features. The
    linear layer is the ridge-regression fit of its logits to the centred one-hot labels on
    those features (one solve), the extreme learning machine's readout (Huang et al. 2006).
    """
    spec = task.model
    assert isinstance(spec, ModuleSpec)
    theta = torch.from_numpy(spec.init_params(np.random.default_rng(0)))
    module = spec.module().double()
    assert isinstance(module, DigitsCNN)
    nn.utils.vector_to_parameters(theta, module.parameters())  # the flat layout's own order
    with torch.no_grad():
        feats = module.features(torch.from_numpy(task.x_train)).numpy()
    design = np.column_stack([feats, np.ones(len(feats))])
    targets = task.y_train - 1.0 / CLASSES
    ridge = 1e-3 * np.eye(design.shape[1])
    coef = np.linalg.solve(design.T @ design + ridge, design.T @ targets)  # (16c + 1, 10)
    out = theta.numpy().copy()
    n_out_weight = CLASSES * (design.shape[1] - 1)
    out[-(n_out_weight + CLASSES) : -CLASSES] = coef[:-1].T.ravel()  # nn.Linear: (out, in)
    out[-CLASSES:] = coef[-1]
    return out


make_digits_cnn.known_good = known_good  # type: ignore[attr-defined]
