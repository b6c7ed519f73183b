"""The ZORB paper's setups: data recipes, splits, preprocessing and networks as the authors'."""

from __future__ import annotations

import numpy as np
import pytest

from tasks import get_task

NETWORKS = {
    "zorb_xor": ((2, 16, 8, 1), ("tanh", "relu", "sigmoid")),
    "zorb_iris": ((4, 8, 3), ("sigmoid", "softmax")),
    "zorb_spirals": ((2, 32, 16, 8, 4, 1), ("tanh", "relu", "tanh", "relu", "sigmoid")),
    "zorb_sinc": ((1, 200, 200, 1), ("sigmoid", "sigmoid", "identity")),
    "zorb_digits": ((64, 256, 128, 10), ("tanh", "tanh", "softmax")),
}
SHAPES = {
    "zorb_xor": (1000, 1000),
    "zorb_iris": (104, 45),
    "zorb_spirals": (280, 120),
    "zorb_sinc": (2001, 6000),
    "zorb_digits": (1257, 540),
}


def _rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.ascontiguousarray(x)}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_authors_network_shapes_and_loss(name: str) -> None:
    task = get_task(name)
    sizes, acts = NETWORKS[name]
    assert task.model.layer_sizes == sizes and task.model.activations == acts
    assert task.model.init == "glorot" and task.loss == "mse"
    assert (task.x_train.shape[0], task.x_test.shape[0]) == SHAPES[name]
    for array in (task.x_train, task.y_train, task.x_test, task.y_test):
        assert array.dtype == np.float64
    assert not _rows(task.x_train) & _rows(task.x_test)  # no test input is a training input


@pytest.mark.parametrize("name", ["zorb_xor", "zorb_iris", "zorb_spirals", "zorb_digits"])
def test_data_seed_is_deterministic_and_matters(name: str) -> None:
    a, b, c = get_task(name), get_task(name, data_seed=0), get_task(name, data_seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_xor_labels_and_global_min_max() -> None:
    task = get_task("zorb_xor")
    x = np.vstack([task.x_train, task.x_test])
    assert x.min() == 0.0 and x.max() == 1.0  # one min and max for the whole matrix
    points = x * 200.0 - 100.0
    np.testing.assert_allclose(points, np.round(points), atol=1e-9)  # the integer grid
    labels = (np.round(points[:, 0]) * np.round(points[:, 1]) <= 0).astype(float)
    np.testing.assert_array_equal(labels, np.concatenate([task.y_train, task.y_test])[:, 0])
    assert len(_rows(x)) == 2000  # distinct points
    assert 0.4 < task.y_train.mean() < 0.6  # x*y <= 0 on about half the square


def test_iris_scaling_uses_training_statistics_and_the_split_is_stratified() -> None:
    from sklearn.datasets import load_iris

    task = get_task("zorb_iris")
    np.testing.assert_allclose(task.x_train.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(task.x_train.max(axis=0), 1.0, atol=1e-12)
    assert task.y_test.sum(axis=0).tolist() == [15.0, 15.0, 15.0]
    # Undo the scaling: train and test together are the 149 distinct flowers, each once.
    data = load_iris().data
    lo, hi = data.min(axis=0), data.max(axis=0)  # the training rows span the full range here
    raw = np.vstack([task.x_train, task.x_test]) * (hi - lo) + lo
    assert len(_rows(np.round(raw, 6))) == 149 == len(_rows(np.round(data, 6)))
    assert _rows(np.round(raw, 6)) == _rows(np.round(data, 6))


def test_spirals_recipe() -> None:
    task = get_task("zorb_spirals")
    x = np.vstack([task.x_train, task.x_test])
    y = np.concatenate([task.y_train, task.y_test])[:, 0]
    # Spiral 1 is spiral 0 negated, point by point.
    assert _rows(np.round(-x[y == 0], 12)) == _rows(np.round(x[y == 1], 12))
    radius = np.linalg.norm(x, axis=1)
    assert radius.max() <= 780.0 * np.pi / 180.0 + 1e-9  # n = sqrt(U) * 780 degrees
    assert task.y_train.sum() == 140 and task.y_test.sum() == 60  # stratified 70/30


def test_sinc_grids_and_values() -> None:
    task = get_task("zorb_sinc")
    np.testing.assert_allclose(np.diff(task.x_train[:, 0]), 0.01, atol=1e-12)
    assert task.x_train[0, 0] == -10.0 and task.x_train[-1, 0] == 10.0
    assert task.x_test.min() < -29.99 and task.x_test.max() > 29.99
    assert task.y_train[1000, 0] == 1.0  # x = 0: the limit
    np.testing.assert_allclose(task.y_test[:, 0], np.sin(task.x_test[:, 0]) / task.x_test[:, 0])
    assert task.target.max_mse == 1e-3


def test_digits_split_covers_the_data_set_once() -> None:
    from sklearn.datasets import load_digits

    task = get_task("zorb_digits")
    x = np.vstack([task.x_train, task.x_test])
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x * 16.0, np.round(x * 16.0))  # X / 16, nothing else
    assert _rows(x * 16.0) == _rows(load_digits().data.astype(np.float64))
    per_class = np.bincount(load_digits().target, minlength=10)
    # Stratified: each class contributes 30 % of its images to the test set, up to rounding.
    assert np.all(np.abs(task.y_test.sum(axis=0) - 0.3 * per_class) <= 1.0)
