"""The function-approximation family: each function, its knob, its target and its data."""

from __future__ import annotations

import numpy as np
import pytest

from tasks import get_task
from tasks.errors import InvalidParameterError
from tasks.functions import RELATIVE_MSE

ONE_D = ("exp", "poly", "abs", "step", "sinc")


def _grid_values(name: str, **knobs: float) -> tuple[np.ndarray, np.ndarray]:
    task = get_task(name, **knobs)
    return task.x_test[:, 0], task.y_test[:, 0]


def test_exp_is_scaled_into_the_unit_interval() -> None:
    x, y = _grid_values("exp", rate=3.0)
    np.testing.assert_allclose(y, np.exp(3.0 * (x - 1.0)))
    assert y.max() == pytest.approx(1.0) and y.min() == pytest.approx(np.exp(-6.0))


@pytest.mark.parametrize("degree", [1, 3, 7])
def test_poly_is_the_chebyshev_polynomial(degree: int) -> None:
    x, y = _grid_values("poly", degree=degree)
    np.testing.assert_allclose(y, np.cos(degree * np.arccos(np.clip(x, -1.0, 1.0))), atol=1e-9)
    turning = np.sum(np.diff(np.sign(np.diff(y))) != 0)
    assert turning == degree - 1, "the degree knob adds exactly one turning point per step"


def test_abs_at_frequency_one_is_abs_and_higher_frequencies_add_kinks() -> None:
    x, y = _grid_values("abs")
    np.testing.assert_allclose(y, np.abs(x), atol=1e-12)
    for k in (1, 2, 5):
        _, y = _grid_values("abs", frequency=float(k), num_test=4001)
        kinks = np.sum(np.diff(np.sign(np.diff(y))) != 0)
        assert kinks == 2 * k - 1


@pytest.mark.parametrize("num_jumps", [1, 2, 5])
def test_step_has_num_jumps_equal_jumps_from_0_to_1(num_jumps: int) -> None:
    x, y = _grid_values("step", num_jumps=num_jumps, num_test=1000)
    levels = np.unique(y)
    np.testing.assert_allclose(levels, np.arange(num_jumps + 1) / num_jumps)
    assert np.count_nonzero(np.diff(y)) == num_jumps
    if num_jumps == 1:
        np.testing.assert_array_equal(y, (x >= 0.0).astype(float))


def test_sinc_peak_and_zero_crossings() -> None:
    task = get_task("sinc", frequency=4.0, num_test=4001)
    x, y = task.x_test[:, 0], task.y_test[:, 0]
    assert y[np.argmin(np.abs(x))] == pytest.approx(1.0)
    # Zeros at multiples of 1/4; the ones at +-1 are the ends, so 2 * 4 - 2 sign changes.
    assert np.sum(np.diff(np.sign(y[np.abs(y) > 1e-12])) != 0) == 6


def test_sin2d_values_and_grid() -> None:
    task = get_task("sin2d", frequency=2.0, num_test=16)
    assert task.x_test.shape == (256, 2) and task.model.layer_sizes == (2, 16, 1)
    x = task.x_train
    np.testing.assert_allclose(task.y_train[:, 0], np.sin(2.0 * x[:, 0]) * np.cos(2.0 * x[:, 1]))
    assert np.all(np.abs(x) <= np.pi)
    # Whole periods on [-pi, pi]^2: the variance is exactly 1/4, so the target is 0.02 / 4.
    assert task.target.max_mse == pytest.approx(RELATIVE_MSE * 0.25, rel=1e-3)


@pytest.mark.parametrize("name", ONE_D)
def test_one_d_data_layout(name: str) -> None:
    task = get_task(name, num_train=50, num_test=101, data_seed=3)
    assert task.x_train.shape == (50, 1) and task.x_test.shape == (101, 1)
    assert np.all(np.diff(task.x_train[:, 0]) >= 0.0), "training inputs are sorted"
    assert task.x_train.min() >= -1.0 and task.x_train.max() <= 1.0
    np.testing.assert_allclose(task.x_test[:, 0], np.linspace(-1.0, 1.0, 101))
    assert task.model.describe() == "1-16tanh-1identity (glorot)"
    assert task.options["num_train"] == 50 and task.options["data_seed"] == 3


@pytest.mark.parametrize("name", (*ONE_D, "sin2d"))
def test_target_is_two_percent_of_the_function_variance(name: str) -> None:
    """Scale-free target: the threshold moves with the function's variance, not the sample."""
    task = get_task(name)
    variance = np.var(task.y_test)  # the evenly spaced grid approximates the domain average
    assert task.target.max_mse == pytest.approx(RELATIVE_MSE * variance, rel=0.05)
    assert task.target.max_mse == get_task(name, data_seed=7).target.max_mse
    # A constant prediction (the mean) explains nothing and must miss the target.
    assert np.mean((task.y_train - task.y_train.mean()) ** 2) > task.target.max_mse


def test_sine_target_is_the_same_rule() -> None:
    assert get_task("sine").target.max_mse == pytest.approx(RELATIVE_MSE * 0.5)


@pytest.mark.parametrize(
    ("name", "knob", "bad"),
    [("exp", "rate", 0.0), ("exp", "rate", 25.0), ("poly", "degree", 0), ("poly", "degree", 2.5),
     ("abs", "frequency", -1.0), ("step", "num_jumps", 17), ("sinc", "frequency", float("nan")),
     ("sin2d", "frequency", 11.0), ("exp", "num_train", 2), ("poly", "data_seed", -1)],
)
def test_bad_knob_values_name_the_knob(name: str, knob: str, bad: float) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{knob}' parameter of task '{name}'"):
        get_task(name, **{knob: bad})
