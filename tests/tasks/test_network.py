"""ModuleSpec: any torch module as a task's network, over flat parameter vectors."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional

from solvers._torch import TorchGradientLoop, torch_forward, torch_loss
from tasks.base import Target, Task, with_options
from tasks.errors import InvalidParameterError
from tasks.mlp import forward
from tasks.network import LinearReadout, ModuleSpec


class TinyCNN(nn.Module):
    """A convolution, a tanh, a pooling and a linear layer on 4x4 images (smooth: tanh)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.out = nn.Linear(3 * 4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv(x.reshape(-1, 1, 4, 4)))
        return self.out(functional.avg_pool2d(h, 2).flatten(1))


class Recorder(nn.Module):
    """A linear map whose forward takes a ``truncation`` keyword and remembers it."""

    seen: list[Any] = []  # noqa: RUF012 - shared on purpose: the factory builds fresh modules

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor, truncation: int | None = None) -> torch.Tensor:
        Recorder.seen.append(truncation)
        return self.lin(x)


def cnn_spec(**kwargs: Any) -> ModuleSpec:
    return ModuleSpec(module=TinyCNN, n_in=16, n_out=2, options={"width": 3}, **kwargs)


def module_task(spec: ModuleSpec | None = None, loss: str = "cross_entropy") -> Task:
    spec = spec or cnn_spec(output_activation="softmax")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 16))
    labels = (x[:, :8].sum(axis=1) > 0).astype(int)
    y = np.eye(2)[labels]
    return Task(name="tiny_cnn", family="test", kind="classification", x_train=x[:16],
                y_train=y[:16], x_test=x[16:], y_test=y[16:], model=spec, loss=loss,
                target=Target(min_accuracy=1.0), options={"network": spec.record()})


def test_flat_layout_is_parameters_to_vector_order() -> None:
    spec = cnn_spec()
    module = TinyCNN()
    theta = nn.utils.parameters_to_vector(module.parameters()).detach().double()
    x = torch.randn(5, 16, dtype=torch.float64)
    expected = functional.linear(
        functional.avg_pool2d(torch.tanh(functional.conv2d(
            x.reshape(-1, 1, 4, 4), module.conv.weight.double(), module.conv.bias.double(),
            padding=1)), 2).flatten(1), module.out.weight.double(), module.out.bias.double())
    torch.testing.assert_close(spec.torch_logits(theta, x), expected, rtol=0, atol=1e-14)
    assert spec.num_params == 3 * 9 + 3 + 12 * 2 + 2 == theta.numel()
    assert spec.layer_sizes == (16, 2)
    assert not spec.thresholded and not spec.quantized and spec.weights == "real"


def test_population_forward_equals_a_loop_over_members_bit_for_bit_in_float64() -> None:
    """vmap over the population gives each member exactly what that member gets alone (so the
    batched evaluator equals ``Task.evaluate`` to the last bit), and what a plain module call
    gives to rounding (vmap's convolution batching rule sums in another order)."""
    spec = cnn_spec()
    rng = np.random.default_rng(1)
    population = spec.init_params(rng, 7)
    x = rng.standard_normal((11, 16))
    batched = spec.population_logits(population, x)
    assert batched.shape == (7, 11, 2) and batched.dtype == np.float64
    alone = np.stack([spec.population_logits(population[i : i + 1], x)[0] for i in range(7)])
    assert batched.tobytes() == alone.tobytes()
    pairs = np.concatenate([spec.population_logits(population[i : i + 2], x)
                            for i in range(0, 7, 2)])
    assert batched.tobytes() == pairs.tobytes()
    plain = np.stack([spec.torch_logits(torch.from_numpy(p), torch.from_numpy(x)).numpy()
                      for p in population])
    np.testing.assert_allclose(batched, plain, rtol=1e-12, atol=1e-13)
    # Chunked blocks (a tiny block budget) give the same bits.
    import tasks.network as network

    saved = network._CHUNK_FLOATS
    network._CHUNK_FLOATS = 1
    try:
        assert spec.population_logits(population, x).tobytes() == batched.tobytes()
    finally:
        network._CHUNK_FLOATS = saved


def test_population_forward_follows_the_populations_dtype() -> None:
    spec = cnn_spec()
    population = spec.init_params(np.random.default_rng(2), 3)
    x = np.random.default_rng(3).standard_normal((4, 16))
    assert spec.population_logits(population[:0], x).shape == (0, 4, 2)
    out32 = spec.population_logits(population.astype(np.float32), x)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, spec.population_logits(population, x), rtol=1e-4,
                               atol=1e-5)
    # tasks.mlp.forward dispatches, one vector or a population, logits or outputs.
    softmax = cnn_spec(output_activation="softmax")
    single = forward(softmax, population[0], x)
    assert single.shape == (4, 2)
    np.testing.assert_allclose(single.sum(axis=1), 1.0)
    np.testing.assert_array_equal(forward(softmax, population, x, logits=True),
                                  spec.population_logits(population, x))


def test_gradients_through_the_module_equal_central_finite_differences() -> None:
    task = module_task()
    spec = task.model
    assert isinstance(spec, ModuleSpec)
    x, y = torch.from_numpy(task.x_train), torch.from_numpy(task.y_train)
    theta = torch.from_numpy(spec.init_params(np.random.default_rng(4))).requires_grad_(True)
    torch_loss(task, torch_forward(spec, theta, x), y).backward()
    assert theta.grad is not None
    grad = theta.grad.numpy()
    base = theta.detach().numpy()

    def loss(params: np.ndarray) -> float:
        return float(task.losses(params[None, :])[0])

    h = 1e-6
    for i in np.random.default_rng(5).choice(spec.num_params, 12, replace=False):
        step = np.zeros_like(base)
        step[i] = h
        numeric = (loss(base + step) - loss(base - step)) / (2 * h)
        assert numeric == pytest.approx(grad[i], rel=1e-6, abs=1e-9)
    # The loss the gradient descends is the task's loss.
    assert float(torch_loss(task, spec.torch_logits(theta, x), y).detach()) == pytest.approx(
        loss(base), rel=1e-12)


def test_init_is_the_modules_own_deterministic_in_the_rng_and_leaves_torch_alone() -> None:
    spec = cnn_spec()
    state = torch.random.get_rng_state()
    a = spec.init_params(np.random.default_rng(6), 4)
    b = spec.init_params(np.random.default_rng(6), 4)
    c = spec.init_params(np.random.default_rng(7), 4)
    assert torch.equal(state, torch.random.get_rng_state())
    assert a.shape == (4, spec.num_params) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.any(a != 0.0, axis=1)) and len({row.tobytes() for row in a}) == 4
    single = spec.init_params(np.random.default_rng(6))
    assert single.shape == (spec.num_params,)
    # PyTorch's default: conv and linear weights within +-1/sqrt(fan_in).
    conv = single[:27]
    assert np.max(np.abs(conv)) <= 1.0 / 3.0


def test_a_parameter_that_is_not_floating_point_is_refused() -> None:
    class IntWeights(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(2, 2, dtype=torch.int64), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.w

    with pytest.raises(InvalidParameterError, match=r"'module' parameter of ModuleSpec must build "
                       r"a module whose parameters are all real floating-point.*w \(torch.int64"):
        ModuleSpec(module=IntWeights, n_in=2, n_out=2)


def test_a_module_with_buffers_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidParameterError, match=r"without buffers.*running statistics.*"
                       r"'1.running_mean'"):
        ModuleSpec(module=lambda: nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)),
                   n_in=3, n_out=2)


def test_a_module_with_the_wrong_output_shape_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"logits of shape \(N, 3\).*Got \(2, 2\)"):
        ModuleSpec(module=lambda: nn.Linear(4, 2), n_in=4, n_out=3)
    with pytest.raises(InvalidParameterError, match=r"inputs of shape \(N, 5\).*RuntimeError"):
        ModuleSpec(module=lambda: nn.Linear(4, 2), n_in=5, n_out=2)


def test_other_bad_specs_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"must return a torch.nn.Module"):
        ModuleSpec(module=lambda: "linear", n_in=2, n_out=2)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidParameterError, match=r"'output_activation' parameter of ModuleSpec"):
        ModuleSpec(module=lambda: nn.Linear(2, 2), n_in=2, n_out=2, output_activation="tanh")
    with pytest.raises(InvalidParameterError, match=r"'n_out' parameter of ModuleSpec"):
        ModuleSpec(module=lambda: nn.Linear(2, 2), n_in=2, n_out=0)

    class Scalar(nn.Module):  # .item() has no vmap rule
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x) * float(self.lin.weight.sum().item() > 0)

    with pytest.raises(InvalidParameterError, match=r"runs under torch.vmap"):
        ModuleSpec(module=Scalar, n_in=2, n_out=2)


def test_specs_compare_and_hash_by_structure_and_knobs() -> None:
    assert cnn_spec() == cnn_spec() and hash(cnn_spec()) == hash(cnn_spec())
    assert cnn_spec() != cnn_spec(output_activation="softmax")
    other = ModuleSpec(module=TinyCNN, n_in=16, n_out=2, options={"width": 4})
    assert other != cnn_spec()
    record = cnn_spec().record()
    assert record == {"class": "TinyCNN",
                      "parameters": {"conv.weight": [3, 1, 3, 3], "conv.bias": [3],
                                     "out.weight": [2, 12], "out.bias": [2]},
                      "num_params": 56}
    assert cnn_spec().describe() == "TinyCNN(width=3) 16->2identity (56 params)"
    import json
    import pickle

    json.dumps(record)
    copy = pickle.loads(pickle.dumps(cnn_spec()))
    x = np.ones((2, 16))
    params = copy.init_params(np.random.default_rng(0), 2)
    np.testing.assert_array_equal(copy.population_logits(params, x),
                                  cnn_spec().population_logits(params, x))


def test_task_losses_and_evaluate_on_a_module_task() -> None:
    task = module_task()
    population = task.model.init_params(np.random.default_rng(8), 5)
    losses = task.losses(population)
    assert losses.shape == (5,) and losses.dtype == np.float64 and np.all(np.isfinite(losses))
    assert task.losses(population, dtype="float32") == pytest.approx(losses, rel=1e-5)
    metrics = task.evaluate(population[2], "test")
    assert set(metrics) == {"mse", "loss", "accuracy"}
    assert task.evaluate(population[2])["loss"] == losses[2]
    rows = task.batch_evaluator("train")(population)
    assert [r["loss"] for r in rows] == [task.evaluate(p)["loss"] for p in population]
    assert task.evaluator("test")(population[2]) == metrics
    assert task.quiet_screen() is None
    n = task.num_params
    with pytest.raises(InvalidParameterError, match=rf"'population' parameter of Task.losses.*"
                       rf"shape \(K, {n}\).*Got an array of shape \(5, {n - 1}\)"):
        task.losses(population[:, 1:])
    with pytest.raises(InvalidParameterError, match=rf"'params' parameter of Task.evaluate.*"
                       rf"TinyCNN.*\({n},\)"):
        task.evaluate(population[:2])


def test_network_overrides_on_a_module_task() -> None:
    """``loss`` and ``output_activation`` act on the logits and apply; the MLP's layer options
    are refused with the task's own knobs named."""
    task = module_task()
    for name, value in (("hidden", 8), ("hidden_activation", "relu"), ("init", "torch"),
                        ("weights", "binary")):
        with pytest.raises(InvalidParameterError,
                           match=rf"'{name}' parameter of task 'tiny_cnn' must be left unset: "
                                 rf"the task's network is a torch module.*\(width\)"):
            with_options(task, **{name: value})
    assert with_options(task, output_activation="softmax", loss="cross_entropy") is task
    mse = with_options(task, loss="mse")
    assert mse.loss == "mse" and mse.options["loss"] == "mse" and mse.model == task.model
    sigmoid = with_options(task, output_activation="sigmoid")
    assert sigmoid.model.output_activation == "sigmoid"
    assert sigmoid.model.num_params == task.num_params


class _Stop:
    """A monitor that records every report and stops after ``limit`` iterations."""

    def __init__(self, limit: int) -> None:
        self.limit, self.params = limit, []  # type: list[np.ndarray]

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.params.append(np.array(params))
        return len(self.params) > self.limit


def _run_loop(task: Task, **options: Any) -> list[np.ndarray]:
    x0 = task.model.init_params(np.random.default_rng(9))
    loop = TorchGradientLoop(task, x0, "float64", None, **options)
    monitor = _Stop(4)
    loop.run(torch.optim.SGD([loop.theta], lr=0.5), monitor, np.random.default_rng(0))
    return monitor.params


def test_gradient_loop_clip_norm_bounds_each_step_and_is_inert_when_loose() -> None:
    from tasks import get_task

    for task in (module_task(), get_task("xor")):
        free = _run_loop(task)
        loose = _run_loop(task, clip_norm=1e300)  # never binds: the same bits
        assert all(a.tobytes() == b.tobytes() for a, b in zip(free, loose, strict=True))
        clipped = _run_loop(task, clip_norm=1e-3)
        steps = [np.linalg.norm(b - a) for a, b in itertools.pairwise(clipped)]
        assert max(steps) <= 0.5 * 1e-3 * (1 + 1e-9)
    with pytest.raises(InvalidParameterError, match=r"'clip_norm' parameter of TorchGradientLoop"):
        _run_loop(module_task(), clip_norm=0.0)


def test_gradient_loop_passes_forward_kwargs_to_the_module() -> None:
    spec = ModuleSpec(module=Recorder, n_in=16, n_out=2, output_activation="softmax")
    assert spec.supports("truncation") and not spec.supports("dropout")
    task = module_task(spec)
    Recorder.seen.clear()
    _run_loop(task, forward_kwargs={"truncation": 20})
    assert Recorder.seen and set(Recorder.seen) == {20}
    with pytest.raises(InvalidParameterError, match=r"'forward_kwargs' parameter of "
                       r"TorchGradientLoop.*dropout=0.5"):
        _run_loop(task, forward_kwargs={"dropout": 0.5})
    from tasks import get_task

    with pytest.raises(InvalidParameterError, match=r"'forward_kwargs'.*task 'xor'"):
        _run_loop(get_task("xor"), forward_kwargs={"truncation": 20})


# --- the optional linear read-out (ELM's protocol, issue 28) ------------------------------------


class ReadoutCNN(TinyCNN):
    """TinyCNN declaring its nn.Linear as the read-out of its pooled features."""

    linear_readout = LinearReadout.of_linear("out")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv(x.reshape(-1, 1, 4, 4)))
        return functional.avg_pool2d(h, 2).flatten(1)


class MatrixReadout(nn.Module):
    """A read-out written as ``h W + b`` with W stored ``(in, out)``, first in the vector."""

    linear_readout = LinearReadout(weight="w_out", bias="b_out", layout="in_out")

    def __init__(self) -> None:
        super().__init__()
        self.w_out = nn.Parameter(torch.randn(5, 2, dtype=torch.float64))
        self.b_out = nn.Parameter(torch.randn(2, dtype=torch.float64))
        self.hidden = nn.Linear(3, 5)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.hidden(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x) @ self.w_out + self.b_out


def test_a_declared_readout_is_located_in_the_flat_vector_and_round_trips() -> None:
    """Slices in parameters_to_vector order, the (out, in) and (in, out) layouts both read as
    the one-layer MLP's (in, out), and with_readout changes nothing else."""
    rng = np.random.default_rng(0)
    for module, n_in, (w, b), layout in (
        (ReadoutCNN, 16, (slice(30, 54), slice(54, 56)), "out_in"),
        (MatrixReadout, 3, (slice(0, 10), slice(10, 12)), "in_out"),
    ):
        spec = ModuleSpec(module=module, n_in=n_in, n_out=2)
        assert spec.has_readout and spec.readout_slices() == (w, b)
        layer = spec.readout_layer()
        assert layer is not None and layer.layer_sizes == ((w.stop - w.start) // 2, 2)
        assert layer.output_activation == "identity"
        theta = spec.init_params(rng)
        stored = theta[w].reshape((2, -1) if layout == "out_in" else (-1, 2))
        params = spec.readout_params(theta)
        np.testing.assert_array_equal(params[:-2].reshape(-1, 2),
                                      stored.T if layout == "out_in" else stored)
        np.testing.assert_array_equal(params[-2:], theta[b])
        np.testing.assert_array_equal(spec.with_readout(theta, params), theta)
        fresh = rng.standard_normal(params.shape)
        out = spec.with_readout(theta, fresh)
        np.testing.assert_array_equal(spec.readout_params(out), fresh)
        keep = np.ones(theta.shape, dtype=bool)
        keep[w], keep[b] = False, False
        np.testing.assert_array_equal(out[keep], theta[keep])


def test_features_are_the_population_forwards_own_to_the_last_bit() -> None:
    """A read-out that copies feature k to output 0 gives back exactly features(:, k): the
    features are what the population forward feeds its read-out, not a rounding away."""
    spec = ModuleSpec(module=ReadoutCNN, n_in=16, n_out=2)
    theta = spec.init_params(np.random.default_rng(1))
    x = np.random.default_rng(2).standard_normal((7, 16))
    h = spec.features(theta, x)
    assert h.shape == (7, 12) and h.dtype == np.float64
    for k in range(12):
        w = np.zeros((12, 2))
        w[k, 0] = 1.0
        flat = spec.with_readout(theta, np.concatenate([w.ravel(), np.zeros(2)]))
        np.testing.assert_array_equal(forward(spec, flat[None], x, logits=True)[0][:, 0], h[:, k])


def test_a_module_without_a_readout_declares_none_and_keeps_its_identity() -> None:
    """No declaration, no read-out (even ending in nn.Linear); declaring one changes neither the
    record nor the forward."""
    plain, declared = cnn_spec(), ModuleSpec(module=ReadoutCNN, n_in=16, n_out=2,
                                             options={"width": 3})
    assert not plain.has_readout and plain.readout_slices() is None
    assert plain.readout_layer() is None
    with pytest.raises(InvalidParameterError, match=r"ModuleSpec.features needs a module that "
                       r"declares a linear read-out.*Got TinyCNN"):
        plain.features(plain.init_params(np.random.default_rng(0)), np.ones((1, 16)))
    assert {**declared.record(), "class": "TinyCNN"} == plain.record()
    theta = plain.init_params(np.random.default_rng(3))
    x = np.random.default_rng(4).standard_normal((5, 16))
    np.testing.assert_array_equal(declared.population_logits(theta[None], x),
                                  plain.population_logits(theta[None], x))
    import pickle

    copy = pickle.loads(pickle.dumps(declared))
    np.testing.assert_array_equal(copy.features(theta, x), declared.features(theta, x))


def _declaring(readout: object, *, features: bool = True, off: float = 0.0) -> type[nn.Module]:
    class Declaring(TinyCNN):
        linear_readout = readout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) + off

    if features:
        Declaring.features = ReadoutCNN.features  # type: ignore[attr-defined]
    return Declaring


@pytest.mark.parametrize(("module", "message"), [
    (_declaring("out"), r"'linear_readout' attribute, when it has one, is a "
                        r"tasks.network.LinearReadout.*linear_readout='out'"),
    (_declaring(LinearReadout.of_linear("out"), features=False),
     r"has a 'features\(x\)' method.*Got Declaring without one"),
    (_declaring(LinearReadout.of_linear("head")),
     r"names its own parameters.*read-out weight 'head.weight', not one of \['conv.bias'"),
    (_declaring(LinearReadout(weight="conv.weight", bias="out.bias")),
     r"read-out weight 'conv.weight' has shape \(n_out, in_features\) with n_out=2.*"
     r"\(3, 1, 3, 3\)"),
    (_declaring(LinearReadout(weight="out.weight", bias="conv.bias")),
     r"read-out bias 'conv.bias' has shape \(2,\).*\(3,\)"),
    (_declaring(LinearReadout(weight="out.weight", bias="out.bias", layout="in_out")),
     r"read-out weight 'out.weight' has shape \(in_features, n_out\)"),
    (_declaring(LinearReadout.of_linear("out"), off=1e-3),
     r"forward is its declared read-out.*differs from it by 0.001"),
])
def test_a_wrong_readout_declaration_is_refused_with_the_reason(module: type[nn.Module],
                                                                message: str) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        ModuleSpec(module=module, n_in=16, n_out=2)


def test_bad_readout_names_and_layouts_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'layout' parameter of LinearReadout"):
        LinearReadout(weight="w", bias="b", layout="transposed")
    with pytest.raises(InvalidParameterError, match=r"'bias' parameter of LinearReadout must be "
                       r"a parameter name"):
        LinearReadout(weight="w", bias="")
