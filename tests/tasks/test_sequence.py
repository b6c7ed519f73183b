"""The adding problem (``tasks/sequence.py``): data, knobs, the recurrent modules, truncation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from solvers import get_solver
from tasks import TASKS, get_task
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.network import ModuleSpec
from tasks.sequence import BASELINE_MSE, CELLS, known_good, make_adding


def spec(task: Task) -> ModuleSpec:
    """The task's network, which is a torch module's."""
    assert isinstance(task.model, ModuleSpec)
    return task.model


def test_registered_as_adding() -> None:
    assert TASKS["adding"] is make_adding
    task = get_task("adding")
    assert task.name == "adding" and task.kind == "regression" and task.loss == "mse"
    assert task.model.layer_sizes == (2 * task.options["length"], 1)


@pytest.mark.parametrize("length", [2, 3, 10, 200])
def test_every_sequence_has_one_marker_in_each_half_and_sums_them(length: int) -> None:
    task = make_adding(length=length, num_train=300, num_test=50)
    for x, y in ((task.x_train, task.y_train), (task.x_test, task.y_test)):
        steps = x.reshape(len(x), length, 2)
        values, markers = steps[:, :, 0], steps[:, :, 1]
        assert set(np.unique(markers)) <= {0.0, 1.0}
        assert np.all(markers.sum(axis=1) == 2)
        assert np.all(markers[:, : length // 2].sum(axis=1) == 1)
        assert np.all((values >= 0.0) & (values < 1.0))
        np.testing.assert_array_equal(y[:, 0], (values * markers).sum(axis=1))


def test_data_are_deterministic_and_follow_the_seed() -> None:
    a, b = make_adding(length=20), make_adding(length=20)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = make_adding(length=20, data_seed=1)
    assert not np.array_equal(a.x_train, c.x_train)
    # The test split does not depend on how many training sequences are drawn.
    np.testing.assert_array_equal(make_adding(length=20, num_train=7).x_test, a.x_test)


def test_predicting_the_mean_gives_the_stated_baseline() -> None:
    task = make_adding(length=10, num_train=20_000)
    assert abs(np.mean((task.y_train - 1.0) ** 2) - BASELINE_MSE) < 0.005
    assert task.target.max_mse is not None and task.target.max_mse <= BASELINE_MSE / 10


@pytest.mark.parametrize("length", [0, 1, -5])
def test_too_short_a_length_is_refused(length: int) -> None:
    with pytest.raises(InvalidParameterError,
                       match=r"The 'length' parameter of task 'adding' must be an int in the "
                             r"range \[2, 10000\]: every sequence holds exactly two markers, one "
                             rf"in each half\. Got {length} instead\."):
        make_adding(length=length)
    for bad in (2.5, "10", 10_001):
        with pytest.raises(InvalidParameterError, match=r"'length' parameter of task 'adding'"):
            make_adding(length=bad)  # type: ignore[arg-type]


def test_unknown_cell_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterError,
                       match=r"The 'cell' parameter of task 'adding' must be one of 'gru', "
                             r"'elman'\. Got 'lstm' instead\."):
        get_task("adding", cell="lstm")
    with pytest.raises(InvalidParameterError, match="'hidden_size' parameter of task 'adding'"):
        make_adding(hidden_size=0)


def test_description_and_options_record_the_knobs_and_the_network() -> None:
    task = make_adding(length=12, cell="elman", hidden_size=5)
    assert {"length": 12, "cell": "elman", "hidden_size": 5}.items() <= task.options.items()
    assert set(task.options) == {"length", "cell", "hidden_size", "num_train", "num_test",
                                 "data_seed"}  # knobs only: the report names groups by them
    record = spec(task).record()
    assert record["class"] == "ElmanAdder" and record["num_params"] == task.num_params
    assert "0.167" in task.description and "0.01" in task.description


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("length", [10, 30, 200])
def test_the_hand_set_network_meets_the_target(cell: str, length: int) -> None:
    task = make_adding(length=length, cell=cell, num_train=256)
    metrics = task.evaluate(known_good(task))
    assert metrics["mse"] < 1e-4 and task.target.is_met(metrics)


@pytest.mark.parametrize("cell", CELLS)
def test_population_forward_equals_a_loop_over_members(cell: str) -> None:
    """vmap over the population gives each member's own forward (float64, to rounding)."""
    task = make_adding(length=15, cell=cell, hidden_size=6, num_train=40)
    pop = task.model.init_params(np.random.default_rng(3), 5)
    batched = spec(task).population_logits(pop, task.x_train)
    x = torch.from_numpy(task.x_train)
    for member, out in zip(pop, batched, strict=True):
        one = spec(task).torch_logits(torch.from_numpy(member), x).detach().numpy()
        np.testing.assert_allclose(out, one, rtol=1e-12, atol=1e-13)
    # And the task's losses are each member's evaluate().
    losses = task.losses(pop)
    for member, loss in zip(pop, losses, strict=True):
        assert loss == pytest.approx(task.evaluate(member)["loss"], rel=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_truncation_cuts_the_gradient_beyond_its_window_only(cell: str) -> None:
    """With truncation k the state is detached at steps k, 2k, ...: inputs before the last
    detach get exactly zero gradient, later ones do not, and the output is unchanged."""
    length, k = 12, 5  # detached at steps 5 and 10: only steps 10 and 11 reach the output
    task = make_adding(length=length, cell=cell, num_train=16)
    theta = torch.from_numpy(task.model.init_params(np.random.default_rng(0)))
    x = torch.from_numpy(task.x_train).requires_grad_(True)
    full = spec(task).torch_logits(theta, x)
    cut = spec(task).torch_logits(theta, x, truncation=k)
    torch.testing.assert_close(cut, full, rtol=0.0, atol=0.0)
    (g_full,) = torch.autograd.grad(full.sum(), x)
    (g_cut,) = torch.autograd.grad(cut.sum(), x)
    per_step_full = g_full.reshape(16, length, 2).abs().sum(dim=(0, 2))
    per_step_cut = g_cut.reshape(16, length, 2).abs().sum(dim=(0, 2))
    assert torch.all(per_step_full > 0)
    assert torch.all(per_step_cut[:10] == 0)
    assert torch.all(per_step_cut[10:] > 0)
    torch.testing.assert_close(g_cut[:, 20:], g_full[:, 20:])  # the window's own gradient
    # A window as long as the sequence is the full gradient.
    (g_long,) = torch.autograd.grad(spec(task).torch_logits(theta, x, truncation=length).sum(), x)
    torch.testing.assert_close(g_long, g_full)


@pytest.mark.parametrize("solver", ["adam", "openai-es"])
def test_a_short_run_lowers_the_loss(solver: str) -> None:
    task = get_task("adding", length=8, hidden_size=4, num_train=64, num_test=32)
    record = run_one(task, get_solver(solver), Budget(max_iterations=30), seed=0, strict=True)
    assert record.stop_reason != "error", record.error
    losses = [p["loss"] for p in record.trace]
    assert min(losses[1:]) < losses[0]


@pytest.mark.parametrize("cell", CELLS)
def test_the_readout_is_declared_on_the_last_hidden_state(cell: str) -> None:
    """ELM's protocol (``tasks.network.LinearReadout``): the read-out is ``w_out`` ``(H, 1)``
    and ``b_out``, last in the vector, and the features are the cell's last hidden state, the
    forward's own: the read-out applied to them is the forward."""
    task = make_adding(length=7, cell=cell, hidden_size=5, num_train=20)
    n = task.num_params
    assert spec(task).readout_slices() == (slice(n - 6, n - 1), slice(n - 1, n))
    theta = task.model.init_params(np.random.default_rng(4))
    h = spec(task).features(theta, task.x_train)
    assert h.shape == (20, 5) and np.all(np.abs(h) < 1.0)  # a tanh-bounded state
    logits = spec(task).population_logits(theta[None], task.x_train)[0]
    np.testing.assert_allclose(h @ theta[n - 6 : n - 1, None] + theta[n - 1], logits,
                               rtol=1e-13, atol=1e-14)
