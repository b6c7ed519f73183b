"""PGPESolver (EvoTorch's functional PGPE + ClipUp): sampling, the update, accounting, solves."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from solvers.pgpe import PGPESolver
from tasks import get_task
from tasks.base import Target
from tasks.errors import InvalidParameterError
from tests.solvers.recording import RecordingMonitor


def linear(a: np.ndarray) -> Any:
    """A stand-in task: loss ``a . z``, one evaluation per member."""
    return SimpleNamespace(name="linear", num_params=a.size, n_train=1,
                           scored_losses=lambda pop: (pop @ a, len(pop)))


@pytest.mark.parametrize(
    ("field", "value"),
    [("population_size", 7), ("population_size", 0), ("max_speed", 0.0),
     ("center_learning_rate", -0.1), ("momentum", 1.0), ("radius_init", float("nan")),
     ("stdev_learning_rate", -0.1), ("stdev_max_change", 0.0)],
)
def test_bad_hyperparameters_are_rejected_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'{field}' parameter of PGPESolver"):
        PGPESolver(**{field: value})


def test_defaults_follow_the_clipup_rules() -> None:
    """Step size ``max_speed / 2`` and radius ``15 * max_speed``, as in the ClipUp paper."""
    solver = PGPESolver()
    assert solver.resolved_center_learning_rate == solver.max_speed / 2
    assert solver.radius_init == pytest.approx(15 * solver.max_speed)
    state = solver.initial_state(np.zeros(100))
    np.testing.assert_allclose(state.stdev.numpy(), np.full(100, solver.radius_init / 10))
    assert state.optimizer_state.center.dtype == torch.float64


def test_population_is_symmetric_pairs_scaled_by_stdev() -> None:
    solver = PGPESolver(population_size=6)
    center, stdev = np.arange(4.0), np.array([1.0, 2.0, 0.5, 0.0])
    members = solver.population(np.random.default_rng(0), center, stdev)
    assert members.shape == (6, 4)
    np.testing.assert_allclose(members[0::2] + members[1::2], np.tile(2 * center, (3, 1)))
    np.testing.assert_array_equal(members[:, 3], np.full(6, center[3]))  # zero stdev: no noise


def test_first_step_is_clipup_normalised_and_points_down_a_linear_loss() -> None:
    """From rest, ClipUp moves the center by exactly ``center_learning_rate`` (the gradient is
    normalised), along ``-a`` on the loss ``a . z``; a larger step is clipped to ``max_speed``."""
    a = np.random.default_rng(1).standard_normal(20)
    for lr, expected in ((0.05, 0.05), (0.5, PGPESolver().max_speed)):
        monitor = RecordingMonitor(stop_after=2)
        PGPESolver(population_size=2000, center_learning_rate=lr).run(
            linear(a), np.zeros(20), monitor, np.random.default_rng(0))
        step = monitor.params[1] - monitor.params[0]
        assert np.linalg.norm(step) == pytest.approx(expected)
        assert step @ -a / (np.linalg.norm(step) * np.linalg.norm(a)) > 0.95


def test_stdev_changes_by_at_most_stdev_max_change() -> None:
    solver = PGPESolver(population_size=10, stdev_learning_rate=100.0)
    state = solver.initial_state(np.zeros(5))
    members = solver.population(np.random.default_rng(0), np.zeros(5), state.stdev.numpy())
    after = solver.tell(state, members, np.arange(10.0))
    ratio = after.stdev.numpy() / state.stdev.numpy()
    assert np.all(np.abs(ratio - 1) <= solver.stdev_max_change + 1e-12)


def test_nan_losses_rank_worst() -> None:
    """A NaN member (an overflowing network) is treated as the highest loss."""
    solver = PGPESolver(population_size=4)
    state = solver.initial_state(np.zeros(3))
    members = solver.population(np.random.default_rng(0), np.zeros(3), state.stdev.numpy())
    with_nan = solver.tell(state, members, np.array([0.0, np.nan, 1.0, 2.0]))
    with_inf = solver.tell(state, members, np.array([0.0, np.inf, 1.0, 2.0]))
    np.testing.assert_array_equal(with_nan.optimizer_state.center.numpy(),
                                  with_inf.optimizer_state.center.numpy())
    assert np.all(np.isfinite(with_nan.optimizer_state.center.numpy()))


def test_charges_the_population_per_generation_and_reports_the_center() -> None:
    task = dataclasses.replace(get_task("xor", hidden=4), target=Target(max_mse=-1.0))
    solver = PGPESolver(population_size=10)
    monitor = RecordingMonitor(stop_after=5)
    x0 = initial_params(task, 0)
    solver.run(task, x0, monitor, np.random.default_rng(0))
    assert monitor.evaluations == [0] + [10 * task.n_train] * 4
    np.testing.assert_array_equal(monitor.params[0], x0)
    # Replaying the generator gives the same members, so the reported centers can be rebuilt.
    rng, state = np.random.default_rng(0), solver.initial_state(x0)
    for reported in monitor.params[1:]:
        members = solver.population(rng, state.optimizer_state.center.numpy(),
                                    state.stdev.numpy())
        state = solver.tell(state, members, task.losses(members))
        np.testing.assert_array_equal(reported, state.optimizer_state.center.numpy())


def test_same_seed_same_trace_and_torch_global_generator_untouched() -> None:
    """Every random number comes from the run's rng: torch's global generator is neither read
    (another global seed gives the same trace) nor advanced."""
    task = get_task("and")
    solver, x0 = PGPESolver(population_size=20), initial_params(task, 0)
    traces = []
    for torch_seed in (0, 1):
        torch.manual_seed(torch_seed)
        before = torch.get_rng_state()
        monitor = RecordingMonitor(stop_after=10)
        solver.run(task, x0, monitor, np.random.default_rng(3))
        assert torch.equal(torch.get_rng_state(), before)
        traces.append(np.stack(monitor.params))
    np.testing.assert_array_equal(traces[0], traces[1])
    other = RecordingMonitor(stop_after=10)
    solver.run(task, x0, other, np.random.default_rng(4))
    assert not np.array_equal(np.stack(other.params), traces[0])


def test_solves_xor_from_most_seeds() -> None:
    task = get_task("xor", hidden=4)
    records = [run_one(task, PGPESolver(), Budget(max_evaluations=80_000), seed=s, strict=True)
               for s in range(5)]
    assert sum(r.success for r in records) >= 4


def test_runs_a_few_generations_on_cartpole() -> None:
    """On a control task the losses are negated returns and the cost is the steps taken."""
    task = get_task("cartpole")
    solver = PGPESolver(population_size=8)
    monitor = RecordingMonitor(stop_after=4)
    solver.run(task, initial_params(task, 0), monitor, np.random.default_rng(0))
    assert monitor.evaluations[0] == 0
    bound = solver.iteration_cost(task).forward
    assert all(0 < e <= bound for e in monitor.evaluations[1:])
    assert all(np.all(np.isfinite(p)) for p in monitor.params)
    assert not np.array_equal(monitor.params[-1], monitor.params[0])
    assert math.isclose(np.linalg.norm(monitor.params[1] - monitor.params[0]),
                        solver.resolved_center_learning_rate)
