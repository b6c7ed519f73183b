"""The shared network: layout, population forward, inits and losses."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

from tasks import TASKS, get_task
from tasks.errors import InvalidParameterError
from tasks.mlp import ModelSpec, forward


def test_flat_layout_is_weights_then_bias_per_layer() -> None:
    spec = ModelSpec.build(2, (2,), 1)
    assert spec.num_params == 9
    params = np.arange(9.0)
    (w1, b1), (w2, b2) = spec.unpack(params)
    np.testing.assert_array_equal(w1, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b1, [4, 5])
    np.testing.assert_array_equal(w2, [[6], [7]])
    np.testing.assert_array_equal(b2, [8])
    np.testing.assert_array_equal(spec.pack(spec.unpack(params)), params)


def test_population_forward_equals_one_network_at_a_time(rng: np.random.Generator) -> None:
    spec = ModelSpec.build(
        3, (7, 5), 2, hidden_activation=("tanh", "relu"), output_activation="softmax"
    )
    pop = spec.init_params(rng, size=6)
    x = rng.standard_normal((10, 3))
    batched = forward(spec, pop, x)
    assert batched.shape == (6, 10, 2)
    for i in range(6):
        np.testing.assert_allclose(batched[i], forward(spec, pop[i], x), rtol=1e-13)


def test_forward_matches_torch_linear_layers(rng: np.random.Generator) -> None:
    spec = ModelSpec.build(2, (3,), 1, hidden_activation="sigmoid")
    params = spec.init_params(rng)
    (w1, b1), (w2, b2) = spec.unpack(params)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
    net = net.double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(w1.T))
        net[0].bias.copy_(torch.tensor(b1))
        net[2].weight.copy_(torch.tensor(w2.T))
        net[2].bias.copy_(torch.tensor(b2))
    x = rng.standard_normal((5, 2))
    expected = net(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(forward(spec, params, x), expected, rtol=1e-12)


def _init_laws(init: str, fan_in: int, fan_out: int) -> tuple[Any, Any]:
    """The weight and bias distributions ``tasks/mlp.py`` documents for ``init`` (``None``: 0)."""
    torch_bound = fan_in**-0.5
    torch_uniform = stats.uniform(loc=-torch_bound, scale=2 * torch_bound)
    if init == "normal":
        return stats.norm(0.0, 1.0), torch_uniform
    if init == "small_normal":
        return stats.norm(0.0, 0.1), None
    if init == "glorot":
        bound = np.sqrt(6 / (fan_in + fan_out))
        return stats.uniform(loc=-bound, scale=2 * bound), None
    assert init == "torch"
    return torch_uniform, torch_uniform


def _follows(sample: np.ndarray, law: Any) -> None:
    """Fail unless ``sample`` lies in ``law``'s support and a KS test does not reject ``law``.

    Bounds alone let all-zero (or any too-narrow) weights through; the KS test compares the
    whole empirical distribution, so a wrong scale, a constant or a wrong family fails it.
    """
    low, high = law.support()
    assert np.all((sample >= low) & (sample <= high)), "a draw outside the stated range"
    result = stats.kstest(sample, law.cdf)
    assert result.pvalue > 1e-3, f"KS rejects the stated law (D={result.statistic:.4f})"


@pytest.mark.parametrize("init", ["normal", "small_normal", "glorot", "torch"])
def test_init_schemes(init: str, rng: np.random.Generator) -> None:
    """Every layer's weights and biases follow the distribution the scheme documents.

    A population of 20 networks gives enough draws for the small output layer too; its
    members must differ (independent draws, not one network copied).
    """
    spec = ModelSpec.build(50, (40,), 3, init=init)
    pop = spec.init_params(rng, size=20)
    assert len({row.tobytes() for row in pop}) == 20
    for (w, b), (fan_in, fan_out) in zip(spec.unpack(pop), spec.shapes, strict=True):
        weight_law, bias_law = _init_laws(init, fan_in, fan_out)
        _follows(w.ravel(), weight_law)
        if bias_law is None:
            assert np.all(b == 0)
        else:
            _follows(b.ravel(), bias_law)


def test_writeup_xor_setups_are_expressible() -> None:
    torch_xor = get_task("xor")
    assert torch_xor.model.describe() == "2-2sigmoid-1identity (normal)"
    assert torch_xor.loss == "mse"
    numpy_xor = get_task("xor", output_activation="relu", init="small_normal")
    assert numpy_xor.model.describe() == "2-2sigmoid-1relu (small_normal)"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"hidden": 0}, "'hidden' parameter of task 'xor'"),
        ({"init": "zeros"}, "'init' parameter of task 'xor'"),
        ({"hidden_activation": "softmax"}, "'hidden_activation' parameter"),
        ({"loss": "cross_entropy"}, "'loss' parameter of task 'xor'"),
        ({"num_bits": 3}, "Unknown option 'num_bits' for task 'xor'"),
    ],
)
def test_bad_task_options_are_rejected_with_their_name(options: dict, fragment: str) -> None:
    with pytest.raises(
        InvalidParameterError if "Unknown" not in fragment else ValueError,
        match=fragment.replace("(", r"\("),
    ):
        get_task("xor", **options)


def test_cross_entropy_losses_match_torch(rng: np.random.Generator) -> None:
    task = get_task("xor", output_activation="sigmoid", loss="cross_entropy")
    pop = task.model.init_params(rng, size=4)
    logits = forward(task.model, pop, task.x_train, logits=True)
    expected = [
        torch.nn.functional.binary_cross_entropy_with_logits(
            torch.tensor(z), torch.tensor(task.y_train)
        ).item()
        for z in logits
    ]
    np.testing.assert_allclose(task.losses(pop), expected, rtol=1e-12)


def test_chunked_population_forward_equals_member_by_member(rng: np.random.Generator) -> None:
    """A population too large for one block is evaluated in chunks, with identical results."""
    spec = ModelSpec.build(8, (100,), 2, hidden_activation="relu", output_activation="softmax")
    pop = spec.init_params(rng, size=7)
    x = rng.standard_normal((256, 8))  # 65_536 // (256 * 100) = 2 members per chunk
    batched = forward(spec, pop, x, logits=True)
    for i in range(7):
        np.testing.assert_allclose(batched[i], forward(spec, pop[i], x, logits=True), rtol=1e-13)


# --- Task.evaluator: the harness's per-iteration evaluation, identical to Task.evaluate -------


#: Every registered task; the control tasks' evaluation is a batch of rollouts, seconds each.
ALL_TASKS = [pytest.param(name, marks=pytest.mark.slow) if name == "acrobot" else name
             for name in sorted(TASKS)]


@pytest.mark.parametrize("name", ALL_TASKS)
def test_evaluator_gives_the_metrics_of_evaluate_bit_for_bit(name: str) -> None:
    """Every registered task, both splits, ordinary, huge and non-finite parameters."""
    from benchmarks.harness import initial_params

    task = get_task(name)
    rng = np.random.default_rng(0)
    cases = [initial_params(task, seed) for seed in range(3)]
    cases += [10.0 * rng.standard_normal(task.num_params), np.full(task.num_params, 1e200)]
    nan = cases[0].copy()
    nan[0] = np.nan
    inf = cases[1].copy()
    inf[-1] = np.inf
    cases += [nan, inf]
    for split in ("train", "test"):
        evaluator = task.evaluator(split)
        for params in cases:
            with np.errstate(all="ignore"):
                expected, got = task.evaluate(params, split), evaluator(params)
            assert list(got) == list(expected)
            for key in expected:
                assert np.float64(got[key]).tobytes() == np.float64(expected[key]).tobytes(), key


@pytest.mark.parametrize("name", ALL_TASKS)
def test_batch_evaluator_gives_each_rows_metrics_of_evaluate_bit_for_bit(name: str) -> None:
    """The harness evaluates held reports together; every row must be ``evaluate``'s, exactly,
    or a batched run could meet its target one iteration apart from an unbatched one."""
    from benchmarks.harness import initial_params

    task = get_task(name)
    rng = np.random.default_rng(1)
    rows = [initial_params(task, seed) for seed in range(3)]
    rows += [3.0 * rng.standard_normal(task.num_params) for _ in range(2)]
    rows += [np.full(task.num_params, 1e200), np.full(task.num_params, np.nan)]
    inf = rows[0].copy()
    inf[-1] = np.inf
    rows.append(inf)
    population = np.stack(rows)
    for split in ("train", "test"):
        with np.errstate(all="ignore"):
            got = task.batch_evaluator(split)(population)
            expected = [task.evaluate(params, split) for params in population]
        assert len(got) == len(expected)
        for row, want in zip(got, expected, strict=True):
            assert list(row) == list(want)
            for key in want:
                assert np.float64(row[key]).tobytes() == np.float64(want[key]).tobytes(), key


# --- Non-differentiable options (issue 23): threshold units, quantized weights, 0-1 loss ------


def test_sign_and_step_threshold_at_zero_and_keep_nan() -> None:
    from tasks.mlp import activate, activate_inplace

    z = np.array([-2.0, -0.0, 0.0, 1e-300, 3.0, np.nan])
    expected = {"sign": [-1, 1, 1, 1, 1, np.nan], "step": [0, 1, 1, 1, 1, np.nan]}
    for name, values in expected.items():
        np.testing.assert_array_equal(activate(name, z.copy()), values)
        np.testing.assert_array_equal(activate_inplace(name, z.copy()), values)


def test_sign_network_forward_by_hand() -> None:
    """Two sign units and an identity output: XOR as (x1 OR x2) AND NOT (x1 AND x2)."""
    spec = ModelSpec.build(2, (2,), 1, hidden_activation="sign")
    params = spec.pack([(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([-0.5, -1.5])),
                        (np.array([[0.5], [-0.5]]), np.array([0.0]))])
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(forward(spec, params, x)[:, 0], [0, 1, 1, 0])


W_EXAMPLE = np.array([[0.0, -0.5, 0.3], [-2.0, 0.1, 1.0]])


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("real", W_EXAMPLE),
        ("binary", [[1, -1, 1], [-1, 1, 1]]),  # sign(0) = +1
        # one scale per output unit (column): mean |w| over its incoming weights
        ("binary_scaled", [[1.0, -0.3, 0.65], [-1.0, 0.3, 0.65]]),
        # per layer: delta = 0.7 * mean|w| = 0.455; survivors 0.5, 2, 1 -> alpha = 3.5 / 3
        ("ternary", [[0, -3.5 / 3, 0], [-3.5 / 3, 0, 3.5 / 3]]),
        # levels {-2, 0, 2}: 1.0 / 2 = 0.5 rounds half to even (0), -0.5 / 2 to -0
        ("int2", [[0, 0, 0], [-2, 0, 0]]),
        # scale 2 / 3: 0.3 -> 0.45 -> 0; -0.5 -> -0.75 -> -1; 1.0 -> 1.5 -> 2
        ("int3", [[0, -2 / 3, 0], [-2, 0, 4 / 3]]),
        ("int4", [[0, -4 / 7, 2 / 7], [-2, 0, 8 / 7]]),
    ],
)
def test_quantize_weights_rules(kind: str, expected: Any) -> None:
    from tasks.mlp import quantize_weights

    np.testing.assert_allclose(quantize_weights(kind, W_EXAMPLE), expected, rtol=1e-15)


@pytest.mark.parametrize("kind", ["binary", "binary_scaled", "ternary", "int2", "int5", "int8"])
def test_quantize_is_per_member_idempotent_and_leaves_biases(
    kind: str, rng: np.random.Generator
) -> None:
    from tasks.mlp import quantize, quantize_weights

    spec = ModelSpec.build(3, (5, 4), 2, hidden_activation=("sign", "tanh"), weights=kind)
    pop = rng.standard_normal((6, spec.num_params)) * rng.uniform(0.1, 10.0, (6, 1))
    q = quantize(spec, pop)
    for member, row in zip(pop, q, strict=True):  # scales belong to one network, not the population
        np.testing.assert_array_equal(quantize(spec, member), row)
        for (w, b), (qw, qb) in zip(spec.unpack(member), spec.unpack(row), strict=True):
            np.testing.assert_array_equal(qb, b)
            np.testing.assert_array_equal(qw, quantize_weights(kind, w))
    np.testing.assert_allclose(quantize(spec, q), q, rtol=1e-12, atol=0)
    assert len(np.unique(np.round(q[0, : 3 * 5], 12))) <= {"binary": 2, "binary_scaled": 10,
                                                            "ternary": 3}.get(kind, 255)
    real = ModelSpec.build(3, (5, 4), 2)
    assert quantize(real, pop) is pop


@pytest.mark.parametrize("kind", ["binary", "ternary", "int4"])
def test_quantized_forward_is_the_real_forward_of_the_quantized_vector(
    kind: str, rng: np.random.Generator
) -> None:
    from tasks.mlp import quantize

    spec = ModelSpec.build(3, (6,), 2, hidden_activation="step", output_activation="softmax",
                           weights=kind)
    real = ModelSpec.build(3, (6,), 2, hidden_activation="step", output_activation="softmax")
    pop = spec.init_params(rng, size=5)
    x = rng.standard_normal((20, 3))
    np.testing.assert_array_equal(forward(spec, pop, x), forward(real, quantize(spec, pop), x))
    single = np.stack([forward(spec, p, x) for p in pop])
    np.testing.assert_allclose(forward(spec, pop, x), single, rtol=1e-13)
    f32 = forward(spec, pop.astype(np.float32), x.astype(np.float32))
    assert f32.dtype == np.float32


def test_non_finite_latent_weights_stay_non_finite() -> None:
    from tasks.mlp import quantize_weights

    w = W_EXAMPLE.copy()
    w[0, 0] = np.nan
    assert np.isnan(quantize_weights("binary", w)[0, 0])
    assert np.isnan(quantize_weights("binary_scaled", w)[:, 0]).all()
    for kind in ("ternary", "int4"):
        assert np.isnan(quantize_weights(kind, w)).all()


def test_describe_names_the_quantization() -> None:
    spec = ModelSpec.build(4, (4,), 1, hidden_activation="sign", weights="binary")
    assert spec.describe() == "4-4sign-1identity (glorot, binary weights)"
    assert ModelSpec.build(2, (2,), 1).describe() == "2-2sigmoid-1identity (glorot)"


@pytest.mark.parametrize(
    ("task", "options", "fragment"),
    [
        ("xor", {"weights": "int9"}, "The 'weights' parameter of task 'xor' must be one of "
                                     "'real', 'binary', 'binary_scaled', 'ternary', 'int2', "),
        ("xor", {"weights": "int1"}, "'int8'. Got 'int1' instead."),
        ("xor", {"weights": "bnn"}, "Got 'bnn' instead"),
        ("xor", {"hidden_activation": "sgn"}, "'relu', 'sign', 'step'. Got 'sgn'"),
        ("xor", {"output_activation": "sign"}, "'output_activation' parameter of ModelSpec"),
        ("sine", {"loss": "zero_one"}, "The 'loss' parameter of task 'sine' must be one of "
                                       "'mse', 'cross_entropy' on a regression task"),
    ],
)
def test_bad_non_differentiable_options_are_refused(task: str, options: dict,
                                                    fragment: str) -> None:
    with pytest.raises(InvalidParameterError) as exc:
        get_task(task, **options)
    assert fragment in str(exc.value)


def test_model_spec_refuses_an_unknown_quantization() -> None:
    with pytest.raises(InvalidParameterError, match="'weights' parameter of ModelSpec"):
        ModelSpec.build(2, (2,), 1, weights="int16")


def test_differentiability_flags() -> None:
    plain = get_task("xor")
    assert plain.differentiable and not plain.needs_straight_through
    assert plain.surrogate_loss == "mse"
    for options in ({"hidden_activation": "sign"}, {"hidden_activation": "step"},
                    {"weights": "binary"}, {"weights": "int8"}, {"loss": "zero_one"}):
        task = get_task("xor", **options)
        assert not task.differentiable and task.needs_straight_through, options
        assert task.options == {"gate": "xor", **options}  # recorded with every run
    assert get_task("xor", loss="zero_one", output_activation="sigmoid").surrogate_loss == (
        "cross_entropy")
    assert get_task("xor", loss="zero_one").surrogate_loss == "mse"
    assert get_task("iris", loss="zero_one").surrogate_loss == "cross_entropy"
    assert get_task("sine", weights="int4").surrogate_loss == "mse"
    control = get_task("cartpole")
    assert not control.differentiable and not control.needs_straight_through


def test_zero_one_loss_is_the_error_rate_and_nan_when_diverged(rng: np.random.Generator) -> None:
    task = get_task("iris", loss="zero_one")
    pop = task.model.init_params(rng, size=4)
    losses = task.losses(pop)
    for params, loss in zip(pop, losses, strict=True):
        metrics = task.evaluate(params)
        assert loss == metrics["loss"] == pytest.approx(1.0 - metrics["accuracy"], abs=1e-15)
    bad = pop[0].copy()
    bad[0] = np.nan
    assert np.isnan(task.losses(bad[None])[0]) and np.isnan(task.evaluate(bad)["loss"])


def test_quiet_screen_is_off_for_threshold_units_and_sound_on_quantized_weights(
    rng: np.random.Generator,
) -> None:
    assert get_task("circle", hidden_activation="sign").quiet_screen() is None
    task = get_task("circle", weights="int3")
    screen = task.quiet_screen()
    assert screen is not None
    pop = task.model.init_params(rng, size=40) * rng.uniform(0.1, 5.0, (40, 1))
    quiet = screen(pop)
    for params, is_quiet in zip(pop, quiet, strict=True):
        if is_quiet:
            metrics = task.evaluate(params)
            assert np.isfinite(metrics["loss"]) and not task.target.is_met(metrics)
