"""Straight-through estimators (issue 23): three forwards agree, NumPy STE equals torch's.

For every new model option (``sign``/``step`` units, each weight quantization, the 0-1 loss)
the population forward (``tasks.mlp.forward``), the torch forward (``solvers._torch``) and the
NumPy-backprop forward give the same outputs for the same stored parameters, and the NumPy
straight-through gradient equals the one torch autograd computes through the torch forward, for
both proxies. On tasks that need no STE the options change nothing, bit for bit.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional

from benchmarks.budget import Budget
from benchmarks.harness import initial_params, run_one
from benchmarks.run_all import main
from solvers import get_solver
from solvers._ste import ESTIMATORS, GradientSolver
from solvers._torch import torch_forward, torch_loss
from solvers.adam import AdamSolver
from solvers.numpy_backprop import NumpyBackpropSolver, forward_layers, loss_and_gradient
from tasks import get_task
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import WEIGHTS, ModelSpec, forward

GRADIENT_SOLVERS = ("sgd", "adam", "lbfgs", "numpy-backprop")
HIDDEN = ("sign", "step", "tanh")


def _seed(*parts: object) -> int:
    """A seed fixed by the case's name (CRC-32: the same in every process)."""
    return zlib.crc32("/".join(map(str, parts)).encode())


def _task(spec: ModelSpec, rng: np.random.Generator, loss: str, n: int = 13) -> Task:
    """A classification task on random data around the network ``spec``."""
    k = spec.layer_sizes[-1]
    x = rng.standard_normal((n, spec.layer_sizes[0]))
    if spec.output_activation == "softmax":
        y = np.eye(k)[rng.integers(0, k, n)]
    else:
        y = rng.integers(0, 2, (n, k)).astype(float)
    return replace(get_task("sine"), name="ste-case", model=spec, x_train=x, y_train=y,
                   x_test=x, y_test=y, loss=loss, kind="classification")


def _params(spec: ModelSpec, rng: np.random.Generator) -> np.ndarray:
    """Latent parameters with some weights past +-1, so the clipped proxy masks some."""
    return 1.5 * rng.standard_normal(spec.num_params)


@pytest.mark.parametrize(("hidden", "weights"), list(itertools.product(HIDDEN, WEIGHTS)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_three_forwards_agree(hidden: str, weights: str, seed: int) -> None:
    """Population forward, torch forward and NumPy-backprop forward: the same logits."""
    rng = np.random.default_rng(_seed(hidden, weights, seed))
    spec = ModelSpec.build(3, (5, 4), 2, hidden_activation=hidden, output_activation="sigmoid",
                           weights=weights)
    x = rng.standard_normal((17, 3))
    params = _params(spec, rng)
    population = np.stack([params, _params(spec, rng)])
    expected = forward(spec, population, x, logits=True)[0]
    torch_logits = torch_forward(spec, torch.tensor(params), torch.tensor(x)).numpy()
    numpy_logits = forward_layers(spec, params, x)[2][-1]
    np.testing.assert_allclose(torch_logits, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(numpy_logits, expected, rtol=0, atol=1e-12)
    if hidden in ("sign", "step"):  # the hidden layer really is thresholded in all three
        hidden_out = forward_layers(spec, params, x)[1][1]
        assert set(np.unique(hidden_out)) <= ({-1.0, 1.0} if hidden == "sign" else {0.0, 1.0})


def _ste_cases() -> list[tuple[str, str, str, str]]:
    """(hidden, weights, loss, estimator): every new option, alone and combined."""
    cases = [(h, "real", "mse", e) for h in ("sign", "step") for e in ESTIMATORS]
    cases += [("tanh", w, "mse", e) for w in ("binary", "binary_scaled", "ternary", "int2",
                                              "int4", "int8") for e in ESTIMATORS]
    cases += [("sign", w, "mse", e) for w in ("binary", "binary_scaled") for e in ESTIMATORS]
    cases += [(h, "binary", "zero_one", e) for h in ("sign", "tanh") for e in ESTIMATORS]
    return cases


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
@pytest.mark.parametrize(("hidden", "weights", "loss", "estimator"), _ste_cases())
def test_numpy_ste_gradient_matches_torch_autograd(
    hidden: str, weights: str, loss: str, estimator: str, output: str
) -> None:
    """The NumPy STE gradient equals torch autograd's through the torch STE forward, to 1e-10,
    on the loss each solver descends (under ``zero_one``, each surrogate in turn)."""
    rng = np.random.default_rng(_seed(hidden, weights, loss, estimator, output))
    spec = ModelSpec.build(3, (5, 4), 3, hidden_activation=hidden, output_activation=output,
                           weights=weights)
    task = _task(spec, rng, loss)
    params = _params(spec, rng)
    surrogates = ("cross_entropy", "mse") if loss == "zero_one" else (None,)
    for surrogate in surrogates:
        ste = NumpyBackpropSolver(estimator=estimator, surrogate=surrogate).straight_through(task)
        assert ste.active and ste.estimator == estimator
        descended = ste.loss
        assert descended == (surrogate or loss)
        value, grad = loss_and_gradient(spec, params, task.x_train, task.y_train, descended,
                                        estimator)
        theta = torch.tensor(params, requires_grad=True)
        t_loss = torch_loss(task, torch_forward(spec, theta, torch.tensor(task.x_train),
                                                estimator), torch.tensor(task.y_train), descended)
        t_loss.backward()
        assert theta.grad is not None
        assert abs(value - t_loss.item()) <= 1e-12
        np.testing.assert_allclose(grad, theta.grad.numpy(), rtol=0, atol=1e-10)
        assert np.any(grad != 0.0)  # the estimator passes a gradient: the point of the STE


def test_clipped_proxy_zeroes_the_gradient_outside_one() -> None:
    """Under ``clipped`` a latent weight past +-1 gets no gradient; under ``identity`` it does."""
    rng = np.random.default_rng(3)
    spec = ModelSpec.build(3, (5,), 1, hidden_activation="tanh", output_activation="sigmoid",
                           weights="binary")
    task = _task(spec, rng, "mse")
    params = _params(spec, rng)
    outside = np.zeros(spec.num_params, dtype=bool)
    for w, _, _, _ in spec.slices():
        outside[w] = np.abs(params[w]) > 1.0
    assert outside.any()
    _, clipped = loss_and_gradient(spec, params, task.x_train, task.y_train, "mse", "clipped")
    _, identity = loss_and_gradient(spec, params, task.x_train, task.y_train, "mse", "identity")
    assert np.all(clipped[outside] == 0.0)
    assert np.any(identity[outside] != 0.0)
    np.testing.assert_array_equal(clipped[~outside], identity[~outside])


def test_torch_loss_default_is_the_task_surrogate() -> None:
    """Under ``zero_one`` the torch loss with no ``loss`` named is the task's surrogate."""
    rng = np.random.default_rng(4)
    spec = ModelSpec.build(2, (3,), 1, hidden_activation="sign", output_activation="sigmoid")
    task = _task(spec, rng, "zero_one")
    logits = torch_forward(spec, torch.tensor(_params(spec, rng)), torch.tensor(task.x_train))
    y = torch.tensor(task.y_train)
    assert task.surrogate_loss == "cross_entropy"
    assert torch.equal(torch_loss(task, logits, y), torch_loss(task, logits, y, "cross_entropy"))
    assert not torch.equal(torch_loss(task, logits, y), torch_loss(task, logits, y, "mse"))


@pytest.mark.parametrize("name", GRADIENT_SOLVERS)
def test_gradient_solvers_train_an_ste_task_and_record_their_options(name: str) -> None:
    """A task that needs the STE is supported; the run moves the parameters; the record says
    which estimator and surrogate were configured."""
    task = get_task("xor", hidden=3, hidden_activation="sign", weights="binary")
    assert task.needs_straight_through and not task.differentiable
    solver = get_solver(name, estimator="identity", surrogate="mse")
    assert solver.unsupported_reason(task) is None
    record = run_one(task, solver, Budget(max_iterations=5), 0, strict=True)
    assert record.config["estimator"] == "identity" and record.config["surrogate"] == "mse"
    assert record.config["clip_latent"] is None
    assert record.iterations >= 1 and record.trace[-1].loss == record.final_train["loss"]


@pytest.mark.parametrize("weights", ["binary_scaled", "int4"])
def test_float32_torch_ste_runs_and_stays_float32(weights: str) -> None:
    """``dtype="float32"``: the quantizer's NumPy round trip keeps the solver's precision."""
    task = get_task("xor", hidden=3, hidden_activation="step", weights=weights)
    spec = task.model
    theta = torch.tensor(_params(spec, np.random.default_rng(5)), dtype=torch.float32,
                         requires_grad=True)
    x = torch.tensor(task.x_train, dtype=torch.float32)
    logits = torch_forward(spec, theta, x)
    assert logits.dtype == torch.float32
    torch_loss(task, logits, torch.tensor(task.y_train, dtype=torch.float32)).backward()
    assert theta.grad is not None and theta.grad.dtype == torch.float32
    record = run_one(task, get_solver("adam", dtype="float32"), Budget(max_iterations=3), 0,
                     strict=True)
    assert record.iterations == 3


@pytest.mark.parametrize("name", ["adam", "numpy-backprop", "lbfgs"])
@pytest.mark.parametrize("clip_latent", [None, False])
def test_binaryconnect_clips_latent_weights_not_biases(name: str, clip_latent: bool | None) -> None:
    """Binary weights: latent weights stay in [-1, 1] by default (BinaryConnect), not when
    ``clip_latent=False``; biases are never clipped."""
    task = get_task("xor", hidden=3, hidden_activation="sign", weights="binary")
    lr = {"adam": 0.5, "numpy-backprop": 5.0, "lbfgs": 1.0}[name]
    solver = get_solver(name, learning_rate=lr, clip_latent=clip_latent)
    record = run_one(task, solver, Budget(max_iterations=30), 0, strict=True)
    spec, final = task.model, record.final_params
    weights = np.concatenate([final[w] for w, _, _, _ in spec.slices()])
    if clip_latent is None:
        assert np.all(np.abs(weights) <= 1.0)
    else:
        assert np.any(np.abs(weights) > 1.0)


@pytest.mark.parametrize("name", GRADIENT_SOLVERS)
def test_ste_options_are_inert_on_a_smooth_task(name: str) -> None:
    """On a task that needs no STE, every STE option leaves the run bit for bit as it was."""
    task = get_task("xor", hidden=3)
    assert not task.needs_straight_through
    budget = Budget(max_iterations=40)
    plain = run_one(task, get_solver(name), budget, 1, strict=True)
    varied = run_one(task, get_solver(name, estimator="identity", surrogate="cross_entropy",
                                      clip_latent=True), budget, 1, strict=True)
    np.testing.assert_array_equal(varied.final_params, plain.final_params)
    assert [p.loss for p in varied.trace] == [p.loss for p in plain.trace]


def test_default_adam_path_is_the_pre_ste_loop_bit_for_bit() -> None:
    """Adam at defaults on XOR equals the loop as it was before the STE existed (a plain
    sigmoid MLP, ``torch.optim.Adam``, ``mse_loss``), to the last bit of every parameter."""
    task = get_task("xor", hidden=3)
    steps = 60
    record = run_one(task, get_solver("adam", learning_rate=0.05),
                     Budget(max_iterations=steps), 2, strict=True)
    x0 = initial_params(task, 2)
    theta = torch.tensor(x0, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=0.05)
    x, y = torch.tensor(task.x_train), torch.tensor(task.y_train)
    (w1, b1, fi1, fo1), (w2, b2, fi2, fo2) = list(task.model.slices())
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        hidden = torch.sigmoid(x @ theta[w1].view(fi1, fo1) + theta[b1])
        out = hidden @ theta[w2].view(fi2, fo2) + theta[b2]
        functional.mse_loss(out, y).backward()
        optimizer.step()
    assert task.model.activations == ("sigmoid", "identity")
    np.testing.assert_array_equal(record.final_params, theta.detach().numpy())


def test_bad_surrogate_for_the_task_is_refused_before_any_run() -> None:
    task = get_task("xor", loss="zero_one")
    assert task.model.output_activation == "identity"
    solver = get_solver("adam", surrogate="cross_entropy")
    with pytest.raises(InvalidParameterError, match="'surrogate' parameter of AdamSolver"):
        solver.unsupported_reason(task)
    assert get_solver("adam", surrogate="mse").unsupported_reason(task) is None
    assert AdamSolver().straight_through(task).loss == "mse"  # the task's surrogate


def test_every_gradient_solver_has_the_ste_options_in_its_conditional_space() -> None:
    for name in GRADIENT_SOLVERS:
        solver = get_solver(name)
        assert isinstance(solver, GradientSolver)
        assert {"estimator", "surrogate"} <= set(type(solver).conditional_space)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--solvers", "adam", "--set", "adam.estimator=straight"],
         "The 'estimator' parameter of AdamSolver must be one of 'identity', 'clipped'. "
         "Got 'straight' instead."),
        (["--solvers", "sgd", "--set", "sgd.surrogate=hinge"],
         "The 'surrogate' parameter of SGDSolver must be one of 'cross_entropy', 'mse', None. "
         "Got 'hinge' instead."),
        (["--solvers", "numpy-backprop", "--set", "numpy-backprop.clip_latent=3"],
         "The 'clip_latent' parameter of NumpyBackpropSolver must be a bool or None."),
        # an STE proxy on a solver that has no gradient: not one of its hyperparameters
        (["--solvers", "ga", "--set", "ga.estimator=clipped"],
         "Unknown hyperparameter 'estimator' for solver 'ga'"),
        (["--solvers", "cmaes", "--set", "cmaes.surrogate=mse"],
         "Unknown hyperparameter 'surrogate' for solver 'cmaes'"),
        # a surrogate the task's output cannot take
        (["--solvers", "lbfgs", "--task-set", "xor.loss=zero_one", "--set",
          "lbfgs.surrogate=cross_entropy"],
         "The 'surrogate' parameter of LBFGSSolver must be 'mse' or None on task 'xor'"),
    ],
)
def test_bad_ste_input_exits_2_with_one_line_and_runs_nothing(
    argv: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", "xor", *argv, "--out", str(tmp_path), "--no-progress",
              "--executor", "serial", "--arms", "defaults"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "raw" / "default.jsonl").exists()


def test_the_tuning_study_searches_the_ste_options_only_where_they_act() -> None:
    """A smooth task's trials are the solver's own space (the STE options are inert there);
    a threshold network adds the estimator, and the 0-1 loss with a sigmoid output the
    surrogate."""
    from benchmarks.suites import TUNING
    from solvers import SOLVERS
    from tasks import get_task

    for name in ("sgd", "adam", "lbfgs", "numpy-backprop"):
        cls = SOLVERS[name]
        assert "estimator" not in cls.search_space
        plain = TUNING.trial_configs(name, get_task("xor"))
        assert plain == TUNING.trial_configs(name)
        assert all(set(c) == set(cls.search_space) for c in plain)
        assert {k for c in TUNING.trial_configs(name, get_task("parity_sign")) for k in c} == {
            *cls.search_space, "estimator"}
        assert {k for c in TUNING.trial_configs(name, get_task("circle_zero_one")) for k in c} == {
            *cls.search_space, "estimator", "surrogate"}
