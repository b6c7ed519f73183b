"""scikit-learn's bundled data sets: deduplication, stratified split, train-only scaling."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from tasks import get_task
from tasks.errors import InvalidParameterError

CLASSIFICATION = {"iris": (149, 4, 3), "wine": (178, 13, 3), "cancer": (569, 30, 1),
                  "digits": (1797, 64, 10)}


@pytest.mark.parametrize(("name", "shape"), CLASSIFICATION.items())
def test_rows_features_and_outputs(name: str, shape: tuple[int, int, int]) -> None:
    rows, features, outputs = shape
    task = get_task(name)
    assert task.x_val is not None
    # iris: 150 rows, one exact duplicate; validation rows come out of the training split.
    assert task.n_train + len(task.x_val) + len(task.x_test) == rows
    assert len(task.x_val) == pytest.approx(0.2 * (task.n_train + len(task.x_val)), abs=1)
    assert task.model.layer_sizes[0] == features and task.model.layer_sizes[-1] == outputs
    assert task.model.output_activation == ("sigmoid" if outputs == 1 else "softmax")
    assert len(task.x_test) == pytest.approx(0.25 * rows, abs=1)


@pytest.mark.parametrize("name", [*CLASSIFICATION, "diabetes"])
def test_features_are_standardized_with_training_statistics_only(name: str) -> None:
    task = get_task(name)
    std = task.x_train.std(axis=0)
    np.testing.assert_allclose(task.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(std[std > 0], 1.0)
    # The test split is transformed, not refitted: its own mean is not exactly zero.
    assert np.abs(task.x_test.mean(axis=0)).max() > 1e-6


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_split_is_stratified_and_follows_the_seed(name: str) -> None:
    task = get_task(name, test_fraction=0.3, data_seed=5)

    def counts(y: np.ndarray) -> np.ndarray:
        return y.sum(axis=0) if y.shape[1] > 1 else np.array([y.sum(), len(y) - y.sum()])

    train, test = counts(task.y_train), counts(task.y_test)
    expected = (train + test) * len(task.y_test) / (len(task.y_train) + len(task.y_test))
    assert np.all(np.abs(test - expected) <= 1.0)
    other = get_task(name, test_fraction=0.3, data_seed=6)
    assert not np.array_equal(task.x_test, other.x_test)
    assert task.options == {"test_fraction": 0.3, "val_fraction": 0.2, "data_seed": 5}


def _same_rows_up_to_column_scaling(a: np.ndarray, b: np.ndarray) -> None:
    """Fail unless ``a[:, j] == scale_j * b[:, j] + shift_j`` with ``scale_j > 0`` for every j.

    Two standardizations of the same rows differ by exactly such a map; rows dropped, added or
    reordered do not (the data sets are deduplicated, so no two rows agree in every column).
    """
    assert a.shape == b.shape
    for j in range(a.shape[1]):
        u, v = b[:, j], a[:, j]
        if np.ptp(u) == 0:
            assert np.ptp(v) == 0, f"column {j}: constant in one split only"
            continue
        scale, shift = np.polyfit(u, v, 1)
        assert scale > 0, f"column {j}: decreasing map"
        np.testing.assert_allclose(v, scale * u + shift, rtol=0,
                                   atol=1e-9 * (1 + np.abs(v).max()), err_msg=f"column {j}")


@pytest.mark.parametrize("name", [*CLASSIFICATION, "diabetes"])
def test_validation_is_carved_from_training_and_leaves_the_test_split_alone(name: str) -> None:
    with_val, without = get_task(name, data_seed=3), get_task(name, data_seed=3, val_fraction=0.0)
    assert with_val.has_validation and not without.has_validation
    assert without.n_train == with_val.n_train + len(with_val.x_val)  # type: ignore[arg-type]
    # The same test rows, in the same order: features (and diabetes' target) are standardized
    # with each variant's own training statistics, so they agree up to one increasing affine map
    # per column; class labels are not rescaled and must be equal.
    _same_rows_up_to_column_scaling(with_val.x_test, without.x_test)
    if name == "diabetes":
        _same_rows_up_to_column_scaling(with_val.y_test, without.y_test)
    else:
        np.testing.assert_array_equal(with_val.y_test, without.y_test)
    metrics = with_val.evaluate(with_val.model.init_params(np.random.default_rng(0)), "val")
    assert set(metrics) >= {"loss", "mse"}


def test_diabetes_target_is_ordinary_least_squares_on_the_split() -> None:
    task = get_task("diabetes", data_seed=2)
    np.testing.assert_allclose([task.y_train.mean(), task.y_train.std()], [0.0, 1.0], atol=1e-12)
    fit = LinearRegression().fit(task.x_train, task.y_train)
    ols = np.mean((fit.predict(task.x_train) - task.y_train) ** 2)
    assert task.target.max_mse == pytest.approx(ols, rel=1e-9)
    # Stratified by target quintile: the test split spans the range of the training targets.
    assert task.y_test.min() < -1.0 and task.y_test.max() > 1.5


@pytest.mark.parametrize(("knob", "bad"), [("test_fraction", 0.0), ("test_fraction", 0.95),
                                           ("data_seed", -1), ("data_seed", 1.5),
                                           ("val_fraction", 0.6)])
def test_bad_knob_values_name_the_knob(knob: str, bad: float) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{knob}' parameter of task 'iris'"):
        get_task("iris", **{knob: bad})
