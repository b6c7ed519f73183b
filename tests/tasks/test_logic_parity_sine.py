"""Known-good hand-set vectors for the core tasks: logic gates, n-bit parity and the sine."""

from __future__ import annotations

import numpy as np
import pytest

from tasks import get_task
from tasks.logic import GATES
from tasks.mlp import FlatParams
from tasks.sine import make_sine

OR_AND_HIDDEN = (np.full((2, 2), 20.0), np.array([-10.0, -30.0]))  # OR unit, AND unit


def test_hand_set_2_2_1_xor_meets_its_target() -> None:
    """XOR = OR - AND: the textbook 2-2-1 solution, in the write-up's exact network."""
    task = get_task("xor")
    assert task.model.layer_sizes == (2, 2, 1)
    params = task.model.pack([OR_AND_HIDDEN, (np.array([[1.0], [-1.0]]), np.zeros(1))])
    metrics = task.evaluate(params)
    assert metrics["accuracy"] == 1.0 and metrics["mse"] < 1e-6
    assert task.target.is_met(metrics)


def test_xor_target_needs_more_than_the_right_side_of_one_half() -> None:
    """Outputs 0.45 / 0.55 classify every point right yet miss the MSE <= 0.01 target."""
    task = get_task("xor")
    params = task.model.pack([OR_AND_HIDDEN, (np.array([[0.1], [-0.1]]), np.array([0.45]))])
    metrics = task.evaluate(params)
    assert metrics["accuracy"] == 1.0
    assert not task.target.is_met(metrics)


@pytest.mark.parametrize("gate", sorted(GATES))
def test_every_gate_has_its_truth_table_and_a_hand_set_solution(gate: str) -> None:
    task = get_task(gate)
    np.testing.assert_array_equal(task.x_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(task.y_train[:, 0], GATES[gate])
    assert not task.has_split
    c, at_01, at_11 = GATES[gate][0], GATES[gate][1], GATES[gate][3]
    # output = c + u OR + v AND reproduces any gate symmetric in its inputs.
    u, v = at_01 - c, at_11 - at_01
    params = task.model.pack([OR_AND_HIDDEN, (np.array([[u], [v]], float), np.array([float(c)]))])
    assert task.target.is_met(task.evaluate(params))


def _parity_network(num_bits: int) -> FlatParams:
    """Unit k fires when at least k bits are on; alternating output weights give the parity."""
    task = get_task("parity", num_bits=num_bits)
    k = np.arange(1, num_bits + 1)
    signs = np.where(k % 2 == 1, 1.0, -1.0)
    hidden = (np.full((num_bits, num_bits), 10.0), -10.0 * (k - 0.5))
    out = (10.0 * signs[:, None], np.array([10.0 * signs.sum() - 10.0]))
    return task.model.pack([hidden, out])


@pytest.mark.parametrize("num_bits", range(2, 11))
def test_parity_truth_table_and_hand_set_network(num_bits: int) -> None:
    task = get_task("parity", num_bits=num_bits)
    assert task.n_train == 2**num_bits
    assert len({row.tobytes() for row in task.x_train}) == 2**num_bits
    np.testing.assert_array_equal(task.y_train[:, 0], task.x_train.sum(axis=1) % 2)
    assert task.options["num_bits"] == num_bits
    assert task.target.is_met(task.evaluate(_parity_network(num_bits)))


def test_parity_network_with_a_missing_unit_fails() -> None:
    """The target really needs every threshold: drop the top unit and some patterns go wrong."""
    task = get_task("parity", num_bits=4)
    params = _parity_network(4)
    (w1, b1), (w2, b2) = task.model.unpack(params.copy())
    w2 = w2.copy()
    w2[-1] = 0.0
    broken = task.model.pack([(w1, b1), (w2, b2)])
    assert task.evaluate(broken)["accuracy"] < 1.0


@pytest.mark.parametrize("frequency", [0.5, 1.0, 3.0])
def test_sine_data_and_least_squares_fit(frequency: float) -> None:
    """sin(k x) on [-pi, pi]; evenly spaced tanh units + least-squares output meet the target."""
    task = make_sine(frequency=frequency)
    np.testing.assert_allclose(task.y_train, np.sin(frequency * task.x_train))
    assert task.x_train.min() >= -np.pi and task.x_train.max() <= np.pi
    assert task.options["frequency"] == frequency
    centres = np.linspace(-np.pi, np.pi, 16)
    slope = 1.5 / (centres[1] - centres[0])
    w1, b1 = np.full((1, 16), slope), -slope * centres
    design = np.column_stack([np.tanh(task.x_train @ w1 + b1), np.ones(task.n_train)])
    coef, *_ = np.linalg.lstsq(design, task.y_train, rcond=None)
    params = task.model.pack([(w1, b1), (coef[:-1], coef[-1])])
    assert task.target.is_met(task.evaluate(params))
