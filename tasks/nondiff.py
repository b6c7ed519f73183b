"""Where gradients have no purchase: networks and objectives with no useful gradient (issue 23).

Each task exercises one property that makes the true gradient zero almost everywhere, on data
the rest of the suite already uses, so what changes is the property and nothing else:

* ``parity_sign``: 4-bit parity through ``sign`` hidden units with binary weights (a
  Binarized Neural Network in miniature: Hubara et al. 2016, arXiv 1602.02830).
* ``cancer_binary``: breast-cancer diagnosis (real data) with binary weights scaled per output
  unit as XNOR-Net (``weights="binary_scaled"``).
* ``sine_int4``: ``sin(x)`` regression with 4-bit weights (``weights="int4"``: 15 levels per
  layer).
* ``circle_zero_one``: the Playground circle trained on the 0-1 loss itself.

The target and metrics are always the quantized, thresholded network's (``tasks/mlp.py``
quantizes in every forward pass): what is deployed is what is judged. Gradient solvers train
these tasks through a straight-through estimator and a surrogate loss
(:attr:`~tasks.base.Task.needs_straight_through`, :attr:`~tasks.base.Task.surrogate_loss`);
population methods rank the quantized networks directly; ZORB is not applicable where it would
have to invert a threshold or solve for quantized weights, and ELM fits its output layer by least
squares through the deployed hidden layer.

Every target is reachable: each factory carries a ``known_good(task) -> params`` builder (the
conformance suite's hook, ``benchmarks/conformance.py``) whose vector meets the target in the
quantized model, built by hand or in closed form, no training; ``tests/tasks/test_nondiff.py``
and ``tests/test_task_conformance.py`` check it. Each factory's docstring says why its target
is fair.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tasks.base import Target, Task
from tasks.mlp import FlatParams, ModelSpec
from tasks.parity import make_parity
from tasks.playground import make_circle
from tasks.real import VAL_FRACTION, make_cancer
from tasks.sine import make_sine

FAMILY = "non-differentiable"


def _variant(base: Task, *, name: str, model: ModelSpec, target: Target, loss: str | None = None,
             description: str, drop: tuple[str, ...] = ()) -> Task:
    """``base`` with another name, network, target and loss, in this family.

    ``drop`` names the base task's options this task fixes (they are no knobs of its own).
    """
    return dataclasses.replace(
        base, name=name, family=FAMILY, model=model, target=target,
        loss=base.loss if loss is None else loss, description=description,
        options={k: v for k, v in base.options.items() if k not in drop},
    )


def make_parity_sign() -> Task:
    """4-bit parity with ``sign`` hidden units and binary weights: ``4-4 sign-1 sigmoid``.

    All 16 patterns, no split (as ``parity``). Weights are ``sign`` of the latent weights
    (BinaryConnect), biases real; loss MSE on the sigmoid output.

    Target: train accuracy 1 (every pattern right), and no MSE threshold: with weights of
    magnitude 1 and four hidden units the output's logit can only take a few values, so the
    MSE a perfect classifier reaches depends on the biases, not on whether parity was learnt.
    Fair: four ``sign`` units counting the ones (all weights +1, biases ``0.5 - k``) and output
    weights ``(+1, -1, +1, -1)`` compute parity exactly, so the target is reachable with binary
    weights (:func:`parity_sign_known_good`).
    """
    base = make_parity(num_bits=4)
    model = ModelSpec.build(4, (4,), 1, hidden_activation="sign", output_activation="sigmoid",
                            init="glorot", weights="binary")
    return _variant(
        base, name="parity_sign", model=model, target=Target(min_accuracy=1.0), drop=("num_bits",),
        description=(
            "4-bit parity over all 16 patterns through sign hidden units with binary weights "
            "(4-4sign-1sigmoid, biases real); target train accuracy 1."
        ),
    )


def make_cancer_binary(
    *, test_fraction: float = 0.25, val_fraction: float = VAL_FRACTION, data_seed: int = 0
) -> Task:
    """Breast cancer with XNOR-Net weights: ``30-8 tanh-1 sigmoid``, ``weights="binary_scaled"``.

    The ``cancer`` task's data, split and cross-entropy loss (``tasks/real.py``); every weight
    is ``alpha_j sign(w_ij)``, one real scale per unit, biases real.

    Target: train accuracy >= 0.95. Fair: a linear rule with weights ``sign(c)``, ``c`` the
    closed-form ridge-regression coefficients (penalty :data:`RIDGE`) on the +-1 labels,
    scores 0.965-0.976 in training on data seeds 0-2, and the network computes it with every
    hidden unit carrying those signs and output weights +1 (:func:`cancer_binary_known_good`).
    0.95 sits below the real-valued ``cancer`` target (0.97): binarizing costs accuracy, and the
    task asks for a good diagnosis, not for the best the real-valued model can do.

    Args:
        test_fraction: share of rows held out for testing, in [0.05, 0.9].
        val_fraction: share of the training rows held out for validation, in [0, 0.5].
        data_seed: seed of the stratified split.
    """
    base = make_cancer(test_fraction=test_fraction, val_fraction=val_fraction,
                       data_seed=data_seed)
    model = dataclasses.replace(base.mlp, weights="binary_scaled")
    return _variant(
        base, name="cancer_binary", model=model, target=Target(min_accuracy=0.95),
        description=(
            f"Breast cancer (Wisconsin diagnostic, scikit-learn) with XNOR-Net binary weights "
            f"(one scale per unit), {base.n_train} train rows; target train accuracy >= 0.95."
        ),
    )


def make_sine_int4(*, num_train: int = 64, num_test: int = 256, data_seed: int = 0) -> Task:
    """``sin(x)`` on ``[-pi, pi]`` with 4-bit weights: ``1-16 tanh-1``, ``weights="int4"``.

    The ``sine`` task's data (frequency 1) and MSE loss; each layer's weights take the 15
    levels ``s {-7, ..., 7}``, ``s = max|w| / 7`` per layer, biases real.

    Target: train MSE <= 0.01, ``sine``'s own target (98% of the variance explained): the
    question stays the same, only the weights are coarse. Fair: a smoothed 16-step staircase
    (every first-layer weight equal, every output weight +-1/8, so each is a level of its
    layer's grid exactly) reaches a train MSE of 2e-4 (:func:`sine_int4_known_good`). Fitting
    a real network and quantizing it afterwards does not (MSE 0.08-0.47 over five L-BFGS fits
    measured): the grid must be trained for, not rounded to.

    Args:
        num_train: training points (>= 4), drawn uniformly with ``data_seed``.
        num_test: evenly spaced test points (>= 2).
        data_seed: seed of the training sample.
    """
    base = make_sine(frequency=1.0, num_train=num_train, num_test=num_test, data_seed=data_seed)
    model = dataclasses.replace(base.mlp, weights="int4")
    return _variant(
        base, name="sine_int4", model=model, target=Target(max_mse=0.01), drop=("frequency",),
        description=(
            f"sin(x) on [-pi, pi] with 4-bit weights (15 levels per layer, biases real), "
            f"{num_train} training points; target train MSE <= 0.01."
        ),
    )


def make_circle_zero_one(
    *, num_train: int = 200, num_test: int = 200, noise: float = 0.0, data_seed: int = 0
) -> Task:
    """The Playground circle trained on the 0-1 loss: ``2-4 tanh-1 sigmoid``, ``loss="zero_one"``.

    The ``circle`` task's data and network (``tasks/playground.py``); the training loss is the
    error rate itself, piecewise constant in the weights. Gradient solvers descend the
    cross-entropy surrogate (:attr:`~tasks.base.Task.surrogate_loss`).

    Target: train accuracy >= 0.95, the ``circle`` target; the loss changes, the question does
    not. Fair: the hand-built 4-unit solution of ``circle``'s conformance test meets it
    (:func:`circle_zero_one_known_good`).

    Args:
        num_train: training points.
        num_test: test points.
        noise: label noise in [0, 0.5] (the Playground's slider / 100).
        data_seed: seed of the points.
    """
    base = make_circle(num_train=num_train, num_test=num_test, noise=noise, data_seed=data_seed)
    return _variant(
        base, name="circle_zero_one", model=base.mlp, target=Target(min_accuracy=0.95),
        loss="zero_one",
        description=(
            f"Playground circle, {num_train} points, trained on the 0-1 loss (error rate); "
            f"target train accuracy >= 0.95."
        ),
    )


# --- Known-good vectors: the target is reachable in the quantized model ----------------------

#: Ridge penalty of the closed-form linear rule behind :func:`cancer_binary_known_good`.
RIDGE = 100.0


def parity_sign_known_good(task: Task) -> FlatParams:
    """Sign units count the ones; alternating output weights read the count's parity.

    Unit ``k`` (k = 1..4) is ``sign(sum x - k + 1/2)``, +1 when at least ``k`` bits are set. For
    ``s`` bits set, ``h1 - h2 + h3 - h4`` is 2 when ``s`` is odd and 0 when it is even, so
    the output logit ``h1 - h2 + h3 - h4 - 1`` is +-1 with the parity's sign. Every weight is
    +-1 (binary already); biases are real.
    """
    n = task.model.layer_sizes[0]
    w1, b1 = np.ones((n, n)), 0.5 - np.arange(1.0, n + 1.0)
    w2 = np.array([[(-1.0) ** k] for k in range(n)])
    return task.mlp.pack([(w1, b1), (w2, np.array([-1.0]))])


def cancer_binary_known_good(task: Task) -> FlatParams:
    """Every hidden unit is ``tanh(sign(c) . x - t)``; the output adds them with weight +1.

    ``c`` solves ridge regression of the +-1 labels on the standardized features (closed
    form), ``t`` is the training split's best threshold of ``sign(c) . x`` (a sort). Binary
    scaled weights keep ``sign(c)`` exactly (each unit's scale is mean |sign(c)| = 1), so the
    network classifies as the linear rule ``sign(c) . x > t``.
    """
    x, y = task.x_train, task.y_train[:, 0] > 0.5
    design = np.column_stack([x, np.ones(len(x))])
    penalty = RIDGE * np.eye(design.shape[1])
    penalty[-1, -1] = 0.0  # no penalty on the intercept
    coef = np.linalg.solve(design.T @ design + penalty, design.T @ np.where(y, 1.0, -1.0))
    signs = np.where(coef[:-1] >= 0.0, 1.0, -1.0)
    score = x @ signs
    ordered = np.sort(score)
    cuts = (ordered[1:] + ordered[:-1]) / 2.0
    hits = [np.count_nonzero((score > cut) == y) for cut in cuts]
    cut = float(cuts[int(np.argmax(hits))])
    width = task.model.layer_sizes[1]
    w1 = np.repeat(signs[:, None], width, axis=1)
    return task.mlp.pack([(w1, np.full(width, -cut)), (np.ones((width, 1)), np.zeros(1))])


def sine_int4_known_good(task: Task) -> FlatParams:
    """A smoothed staircase: 16 tanh steps of height 1/4 where ``sin`` crosses mid-levels.

    ``sin`` falls by 1 on ``[-pi, -pi/2]``, rises by 2 on ``[-pi/2, pi/2]`` and falls by 1
    again: 4 + 8 + 4 steps of 1/4, each centred where ``sin`` crosses the midpoint between two
    levels (``+-1/8, +-3/8, +-5/8, +-7/8``), all with slope 6. Every first-layer weight is 6
    and every output weight +-1/8, the largest of its layer, so int4 keeps them exactly.
    """
    falling = np.array([-7.0, -5.0, -3.0, -1.0]) / 8.0
    rising = np.concatenate([falling, -falling[::-1]])
    centres = np.concatenate([-np.pi - np.arcsin(falling), np.arcsin(rising),
                              np.pi - np.arcsin(-falling[::-1])])
    heights = np.concatenate([np.full(4, -0.125), np.full(8, 0.125), np.full(4, -0.125)])
    slope = 6.0
    w1 = np.full((1, len(centres)), slope)
    return task.mlp.pack([(w1, -slope * centres), (heights[:, None], np.zeros(1))])


def circle_zero_one_known_good(task: Task) -> FlatParams:
    """``q(x) + q(y)`` with ``q`` an even pair of tanh units, nearly ``C r^2``; cut at r = 0.6.

    The construction of ``circle``'s conformance test: positives lie within radius 0.5 and
    negatives beyond 0.7 (after the /5 scaling).
    """
    a, s, k = 0.5, 1.0, 200.0
    w1 = np.array([[s, -s, 0.0, 0.0], [0.0, 0.0, s, -s]])

    def q(z: float) -> float:
        return float(2.0 * np.tanh(a) - np.tanh(a + s * z) - np.tanh(a - s * z))

    threshold = 2.0 * q(0.6 / np.sqrt(2.0))  # q(x) + q(y) on the circle's diagonal
    b2 = np.array([k * (threshold - 4.0 * np.tanh(a))])
    return task.mlp.pack([(w1, np.full(4, a)), (np.full((4, 1), k), b2)])


make_parity_sign.known_good = parity_sign_known_good  # type: ignore[attr-defined]
make_cancer_binary.known_good = cancer_binary_known_good  # type: ignore[attr-defined]
make_sine_int4.known_good = sine_int4_known_good  # type: ignore[attr-defined]
make_circle_zero_one.known_good = circle_zero_one_known_good  # type: ignore[attr-defined]
