"""The four 2-D classification data sets of the TensorFlow Playground.

Circle, XOR quadrants, two Gaussian blobs and two spirals, generated the way the Playground
generates them (``src/dataset.ts`` of https://github.com/tensorflow/playground): points in a
square of half-width 5, labels +-1 (here 1/0), and a ``noise`` option in ``[0, 0.5]`` (the
Playground's 0-50 slider divided by 100) that means, per data set:

* ``circle``: positives at radius ``U(0, 2.5)``, negatives at ``U(3.5, 5)``; each label is
  recomputed (inside radius 2.5 or not) after shifting the point by ``U(-5, 5) * noise`` per
  coordinate, so noise flips labels near the boundary but leaves the points where they are.
* ``quadrants`` (the Playground's "exclusive or"): coordinates ``U(-5, 5)`` pushed 0.3 away from
  the axes; label 1 where ``x y > 0``, again decided after a ``U(-5, 5) * noise`` shift.
* ``blobs``: two Gaussians at ``(2, 2)`` (label 1) and ``(-2, -2)`` with variance
  ``0.5 + 7 noise`` (the Playground maps noise ``[0, 0.5]`` linearly to variance ``[0.5, 4]``).
* ``spirals``: two interleaved arms, ``r = 5 u``, angle ``1.75 * 2 pi u`` (plus ``pi`` for the
  second arm) with ``u ~ U(0, 1)`` (the Playground spaces ``u`` evenly), each coordinate
  shifted by ``U(-1, 1) * noise``.

Half of the points of each set carry each label. Coordinates are divided by 5 (the Playground's
radius), so inputs lie in about ``[-1, 1]`` as the tanh units expect.

Split: ``num_train`` training and ``num_test`` test points are drawn independently from the same
distribution with ``data_seed`` (the Playground also splits one sample, 50/50 by default). The
points are continuous, so no point is in both sets.

Default networks (the Playground's idea of each set's difficulty): ``2-4 tanh-1 sigmoid`` for
circle and quadrants (a closed curve needs at least 3 units; both sets have 4-unit solutions,
built by hand in ``tests/test_task_conformance.py``),
``2-2 tanh-1 sigmoid`` for blobs (linearly separable), ``2-16 tanh-16 tanh-1 sigmoid`` for the
spirals (two hidden layers, as the Playground needs for them from raw coordinates). Glorot init;
the loss is the binary cross-entropy.

Target: train accuracy >= 0.95 for every set. At the default ``noise=0`` all four sets are
separable and 95% is a decision boundary that visibly follows the data's shape while not
demanding the last few points at the spirals' tightly wound centre. Noise flips labels (measured
over 200,000 points: 2.6% for the circle and 0.8% for the quadrants at noise 0.1, 4.1% and 2.7%
at 0.15, 5.7% and 4.8% at 0.2), so up to about 0.15 the target stays reachable without
memorizing flipped points.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tasks._validation import check_interval
from tasks.base import Target, Task
from tasks.mlp import FloatArray, ModelSpec

_RADIUS = 5.0  # the Playground's half-width: data are generated in [-5, 5]^2 and divided by it
Generator = Callable[[np.random.Generator, int, float], tuple[FloatArray, FloatArray]]


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, FloatArray]:
    n_pos = n // 2
    radius = np.concatenate([rng.uniform(0.0, 0.5 * _RADIUS, n_pos),
                             rng.uniform(0.7 * _RADIUS, _RADIUS, n - n_pos)])
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    shifted = points + rng.uniform(-_RADIUS, _RADIUS, (n, 2)) * noise
    labels = np.linalg.norm(shifted, axis=1) < 0.5 * _RADIUS
    return points, labels.astype(np.float64)


def _quadrants(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, FloatArray]:
    padding = 0.3
    points = rng.uniform(-_RADIUS, _RADIUS, (n, 2))
    points += np.where(points > 0.0, padding, -padding)
    shifted = points + rng.uniform(-_RADIUS, _RADIUS, (n, 2)) * noise
    labels = shifted[:, 0] * shifted[:, 1] >= 0.0
    return points, labels.astype(np.float64)


def _blobs(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, FloatArray]:
    n_pos = n // 2
    std = np.sqrt(0.5 + 7.0 * noise)
    centres = np.concatenate([np.full((n_pos, 2), 2.0), np.full((n - n_pos, 2), -2.0)])
    points = centres + std * rng.standard_normal((n, 2))
    labels = np.concatenate([np.ones(n_pos), np.zeros(n - n_pos)])
    return points, labels


def _spirals(rng: np.random.Generator, n: int, noise: float) -> tuple[FloatArray, FloatArray]:
    arms = []
    for offset, count in ((0.0, n // 2), (np.pi, n - n // 2)):
        # The Playground spaces the points evenly along each arm; drawing the position along the
        # arm uniformly instead gives the same distribution and lets the train and test samples
        # be independent draws (evenly spaced points would repeat across the two sets).
        u = rng.uniform(0.0, 1.0, count)
        r = u * _RADIUS
        t = 1.75 * u * 2.0 * np.pi + offset
        arms.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
                    + rng.uniform(-1.0, 1.0, (count, 2)) * noise)
    labels = np.concatenate([np.ones(n // 2), np.zeros(n - n // 2)])
    return np.concatenate(arms), labels


def _playground_task(
    name: str,
    generate: Generator,
    hidden: tuple[int, ...],
    *,
    num_train: int,
    num_test: int,
    noise: float,
    data_seed: int,
    what: str,
) -> Task:
    owner = f"task {name!r}"
    check_interval(num_train, "num_train", owner, kind=int, low=4)
    check_interval(num_test, "num_test", owner, kind=int, low=2)
    check_interval(noise, "noise", owner, low=0.0, high=0.5)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    rng = np.random.default_rng(data_seed)
    x_train, y_train = generate(rng, num_train, float(noise))
    x_test, y_test = generate(rng, num_test, float(noise))
    return Task(
        name=name,
        family="playground",
        kind="classification",
        x_train=x_train / _RADIUS,
        y_train=y_train[:, None],
        x_test=x_test / _RADIUS,
        y_test=y_test[:, None],
        model=ModelSpec.build(2, hidden, 1, hidden_activation="tanh",
                              output_activation="sigmoid", init="glorot"),
        loss="cross_entropy",
        target=Target(min_accuracy=0.95),
        options={"num_train": num_train, "num_test": num_test, "noise": noise,
                 "data_seed": data_seed},
        description=(f"TensorFlow Playground {what}, noise {noise:g}, {num_train} train / "
                     f"{num_test} test points; target train accuracy >= 0.95."),
    )


def make_circle(
    *, num_train: int = 200, num_test: int = 200, noise: float = 0.0, data_seed: int = 0
) -> Task:
    """Playground circle: a disk of positives inside a ring of negatives (2-4 tanh-1).

    Args:
        num_train: training points (>= 4), half of each label.
        num_test: test points (>= 2).
        noise: label noise in [0, 0.5] (the Playground's slider / 100).
        data_seed: seed of both samples.
    """
    return _playground_task("circle", _circle, (4,), num_train=num_train, num_test=num_test,
                            noise=noise, data_seed=data_seed, what="circle")


def make_quadrants(
    *, num_train: int = 200, num_test: int = 200, noise: float = 0.0, data_seed: int = 0
) -> Task:
    """Playground XOR: label 1 in the first and third quadrants (2-4 tanh-1).

    Args:
        num_train: training points (>= 4).
        num_test: test points (>= 2).
        noise: label noise in [0, 0.5] (the Playground's slider / 100).
        data_seed: seed of both samples.
    """
    return _playground_task("quadrants", _quadrants, (4,), num_train=num_train,
                            num_test=num_test, noise=noise, data_seed=data_seed,
                            what="XOR quadrants")


def make_blobs(
    *, num_train: int = 200, num_test: int = 200, noise: float = 0.0, data_seed: int = 0
) -> Task:
    """Playground Gaussian blobs: two clusters on the diagonal (2-2 tanh-1).

    Args:
        num_train: training points (>= 4), half of each label.
        num_test: test points (>= 2).
        noise: in [0, 0.5]; widens the clusters (variance 0.5 + 7 noise).
        data_seed: seed of both samples.
    """
    return _playground_task("blobs", _blobs, (2,), num_train=num_train, num_test=num_test,
                            noise=noise, data_seed=data_seed, what="Gaussian blobs")


def make_spirals(
    *, num_train: int = 200, num_test: int = 200, noise: float = 0.0, data_seed: int = 0
) -> Task:
    """Playground two spirals: two interleaved arms of 1.75 turns (2-16 tanh-16 tanh-1).

    Args:
        num_train: training points (>= 4), half on each arm.
        num_test: test points (>= 2).
        noise: in [0, 0.5]; jitters every point by ``U(-1, 1) * noise`` per coordinate.
        data_seed: seed of both samples.
    """
    return _playground_task("spirals", _spirals, (16, 16), num_train=num_train,
                            num_test=num_test, noise=noise, data_seed=data_seed,
                            what="two spirals")
