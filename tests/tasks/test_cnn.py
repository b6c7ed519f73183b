"""digits_cnn: the digits task's rows through a small CNN given as a torch module."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.budget import Budget
from benchmarks.harness import run_one
from solvers import SOLVERS, get_solver
from tasks import get_task
from tasks.cnn import DigitsCNN, known_good, make_digits_cnn, num_params
from tasks.errors import InvalidParameterError
from tasks.network import ModuleSpec


def small() -> object:
    """A cheap digits_cnn for solver runs: 2 channels (388 parameters), 144 training rows."""
    return get_task("digits_cnn", channels=2, test_fraction=0.9)


def test_the_rows_labels_and_target_are_the_digits_tasks() -> None:
    cnn, mlp = get_task("digits_cnn"), get_task("digits")
    for split in ("train", "val", "test"):
        for a, b in zip(cnn.data(split), mlp.data(split), strict=True):  # type: ignore[arg-type]
            np.testing.assert_array_equal(a, b)
    assert cnn.loss == mlp.loss == "cross_entropy"
    assert cnn.target == mlp.target
    assert cnn.model.output_activation == "softmax" and cnn.model.layer_sizes == (64, 10)
    assert cnn.family == mlp.family and cnn.kind == mlp.kind


@pytest.mark.parametrize(("channels", "expected"),
                         [(4, 838), (5, 1_090), (8, 1_954), (16, 5_050), (32, 14_698),
                          (64, 47_818), (100, 107_110)])
def test_parameter_count_per_width_is_the_docstrings(channels: int, expected: int) -> None:
    module = DigitsCNN(channels)
    assert num_params(channels) == expected == sum(p.numel() for p in module.parameters())


def test_options_record_the_module() -> None:
    task = get_task("digits_cnn", channels=4)
    assert task.num_params == 838
    assert task.options["channels"] == 4
    network = task.options["network"]
    assert network["class"] == "DigitsCNN" and network["num_params"] == 838
    assert network["parameters"]["conv2.weight"] == [4, 4, 3, 3]
    assert isinstance(task.model, ModuleSpec) and task.model.describe().startswith(
        "DigitsCNN(channels=4) 64->10softmax")


def test_bad_width_and_mlp_overrides_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'channels' parameter of task 'digits_cnn' "
                       r"must be an int in the range \[1, 128\]\. Got 0 instead"):
        make_digits_cnn(channels=0)
    with pytest.raises(InvalidParameterError, match=r"'hidden' parameter of task 'digits_cnn' "
                       r"must be left unset.*\(channels\)"):
        get_task("digits_cnn", hidden=32)


def test_known_good_meets_the_target_and_init_does_not() -> None:
    task = get_task("digits_cnn")
    assert task.target.is_met(task.evaluate(known_good(task)))
    x0 = task.model.init_params(np.random.default_rng(0))
    assert not task.target.is_met(task.evaluate(x0))


def test_population_forward_on_the_task_matches_the_module() -> None:
    task = small()
    population = task.model.init_params(np.random.default_rng(1), 4)  # type: ignore[attr-defined]
    losses = task.losses(population)  # type: ignore[attr-defined]
    for member, value in zip(population, losses, strict=True):
        assert task.evaluate(member)["loss"] == value  # type: ignore[attr-defined]
        logits = task.model.torch_logits(  # type: ignore[attr-defined]
            torch.from_numpy(member), torch.from_numpy(task.x_train))  # type: ignore[attr-defined]
        y = torch.from_numpy(task.y_train)  # type: ignore[attr-defined]
        plain = -(y * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
        assert float(plain) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(("name", "options", "iterations"), [
    ("ga", {"population_size": 16, "mutation_scale": 0.1}, 6),
    ("openai-es", {"population_size": 8, "sigma": 0.1, "learning_rate": 0.05}, 8),
    ("adam", {"learning_rate": 0.01}, 8),
    ("sgd", {"learning_rate": 0.5}, 8),
])
def test_solvers_train_the_cnn_through_the_harness(name: str, options: dict[str, object],
                                                   iterations: int) -> None:
    """Population methods through the batched forward, gradients through autograd: each run
    reports every iteration and ends below where it started."""
    task = small()
    record = run_one(task, get_solver(name, **options),  # type: ignore[arg-type]
                     Budget(max_iterations=iterations), seed=0, strict=True)
    assert record.stop_reason in ("max_iterations", "target_reached"), record.error
    assert record.iterations == iterations
    losses = [point.loss for point in record.trace]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("name", ["zorb", "lm", "numpy-backprop", "neat", "sklearn-mlp"])
def test_solvers_that_need_an_mlp_say_why_not(name: str) -> None:
    reason = get_solver(name).unsupported_reason(get_task("digits_cnn"))  # type: ignore[arg-type]
    assert reason is not None and reason.startswith("not applicable: ")
    assert "MLP" in reason or "network" in reason
    assert "task 'digits_cnn''s network is a torch module (DigitsCNN(channels=8)" in reason


def test_every_solver_runs_on_the_cnn_or_says_why_not() -> None:
    """Never a crash: one iteration of every registered solver, or a reason."""
    task = small()
    ran, refused = [], []
    for name in sorted(SOLVERS):
        solver = get_solver(name)
        reason = solver.unsupported_reason(task)  # type: ignore[arg-type]
        if reason is not None:
            assert reason.strip()
            refused.append(name)
            continue
        record = run_one(task, solver, Budget(max_iterations=1), seed=0,  # type: ignore[arg-type]
                         strict=True)
        assert record.stop_reason != "error", (name, record.error)
        ran.append(name)
    assert {"sgd", "adam", "lbfgs", "ga", "cmaes", "sep-cmaes", "openai-es", "snes", "pgpe",
            "ars", "random-search", "elm"} <= set(ran)
    assert {"zorb", "lm", "numpy-backprop", "neat", "sklearn-mlp", "reinforce",
            "ppo"} <= set(refused)


def test_the_linear_layer_is_a_declared_readout_of_the_features() -> None:
    """ELM's protocol: the read-out is ``out`` (nn.Linear, (10, 16c) then 10 biases, last in
    the vector) and the features are the pooled maps; declaring it left the record as it was."""
    task = get_task("digits_cnn", channels=4)
    spec = task.model
    assert isinstance(spec, ModuleSpec) and spec.has_readout
    n = task.num_params
    assert spec.readout_slices() == (slice(n - 10 - 640, n - 10), slice(n - 10, n))
    assert task.options["network"] == {
        "class": "DigitsCNN",
        "parameters": {"conv1.weight": [4, 1, 3, 3], "conv1.bias": [4],
                       "conv2.weight": [4, 4, 3, 3], "conv2.bias": [4],
                       "out.weight": [10, 64], "out.bias": [10]},
        "num_params": 838}
    # known_good writes its ridge read-out at these positions, in nn.Linear's (out, in) layout.
    good = known_good(task)
    x0 = spec.init_params(np.random.default_rng(0))
    np.testing.assert_array_equal(good[: n - 650], x0[: n - 650])
    np.testing.assert_array_equal(spec.with_readout(x0, spec.readout_params(good)), good)
