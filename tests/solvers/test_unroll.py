"""``sgd`` and ``adam``'s gradient clipping and truncated BPTT (``solvers/_unroll.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from solvers._unroll import UnrolledGradientSolver
from solvers.adam import AdamSolver
from solvers.sgd import SGDSolver
from solvers.space import Choice, LogUniform
from tasks import get_task
from tasks.errors import InvalidParameterError
from tasks.network import ModuleSpec
from tests.solvers.recording import RecordingMonitor

SOLVER_CLASSES = (AdamSolver, SGDSolver)
SolverClass = type[UnrolledGradientSolver]

#: The default configurations before the options existed (commit 1fc5ae1), keys in order: every
#: recorded run's key hashes its configuration, so these must never change.
ADAM_DEFAULTS = {
    "estimator": "clipped", "surrogate": None, "clip_latent": None, "learning_rate": 0.001,
    "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.0, "batch_size": None,
    "dtype": "float64",
}
SGD_DEFAULTS = {
    "estimator": "clipped", "surrogate": None, "clip_latent": None, "learning_rate": 0.01,
    "momentum": 0.0, "nesterov": False, "weight_decay": 0.0, "batch_size": None,
    "dtype": "float64",
}


def test_default_configs_are_exactly_what_they_were() -> None:
    """Keys, values and order: the record keys of every committed adam and sgd run hold."""
    for cls, expected in ((AdamSolver, ADAM_DEFAULTS), (SGDSolver, SGD_DEFAULTS)):
        config = cls().config()
        assert config == expected
        assert list(config) == list(expected)
        # A tuned configuration that leaves the options off is also unchanged.
        assert cls(learning_rate=0.05).config() == {**expected, "learning_rate": 0.05}


@pytest.mark.parametrize("cls", SOLVER_CLASSES)
def test_set_options_enter_the_config_and_rebuild_the_solver(cls: SolverClass) -> None:
    solver = cls(clip_norm=2.5, truncation=7)
    config = solver.config()
    assert config["clip_norm"] == 2.5 and config["truncation"] == 7
    assert cls(**config) == solver
    assert cls(**cls(clip_norm=1.0).config()) == cls(clip_norm=1.0)
    assert "truncation" not in cls(clip_norm=1.0).config()


@pytest.mark.parametrize("cls", SOLVER_CLASSES)
@pytest.mark.parametrize(
    ("field", "bad"),
    [("clip_norm", 0.0), ("clip_norm", -1.0), ("clip_norm", float("nan")),
     ("clip_norm", float("inf")), ("clip_norm", "big"), ("truncation", 0),
     ("truncation", -3), ("truncation", 2.5), ("truncation", True)],
)
def test_bad_values_are_refused_with_a_message_naming_them(cls: SolverClass, field: str,
                                                          bad: object) -> None:
    with pytest.raises(InvalidParameterError,
                       match=rf"The '{field}' parameter of {cls.__name__} must be .* Got .* "
                             rf"instead\."):
        cls(**{field: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", SOLVER_CLASSES)
@pytest.mark.parametrize("name", ["xor", "sine", "digits", "parity_sign", "sine_int4"])
def test_search_space_is_unchanged_on_existing_tasks(cls: SolverClass, name: str) -> None:
    """No clip_norm or truncation dimension on a feed-forward task, so the tuning study's Sobol
    points (one coordinate per dimension, in order) and its trials stay what they were."""
    from solvers._ste import GradientSolver

    task = get_task(name)
    space = cls.search_space_for(task)
    before = GradientSolver.search_space_for.__func__(cls, task)  # type: ignore[attr-defined]
    assert list(space) == list(before)
    assert "clip_norm" not in space and "truncation" not in space


@pytest.mark.parametrize("cls", SOLVER_CLASSES)
def test_search_space_adds_the_options_on_unrolled_tasks(cls: SolverClass) -> None:
    for task in (get_task("adding", length=10), get_task("logistic_map", horizon=5)):
        space = cls.search_space_for(task)
        assert list(space) == [*cls.search_space, "clip_norm", "truncation"]
        assert isinstance(space["clip_norm"], LogUniform)
        assert isinstance(space["truncation"], Choice) and None in space["truncation"].options
        assert {"clip_norm", "truncation"} <= set(cls.conditional_space)


@pytest.mark.parametrize("cls", SOLVER_CLASSES)
def test_truncation_on_a_feed_forward_network_is_not_applicable(
    cls: SolverClass,
) -> None:
    reason = cls(truncation=5).unsupported_reason(get_task("xor"))
    assert reason is not None and reason.startswith("not applicable")
    assert "truncation=5" in reason
    assert cls(clip_norm=1.0).unsupported_reason(get_task("xor")) is None
    assert cls(truncation=5).unsupported_reason(get_task("adding", length=10)) is None


def _first_step(solver: UnrolledGradientSolver, task_name: str,
                **options: object) -> tuple[np.ndarray, np.ndarray]:
    task = get_task(task_name, **options)
    x0 = task.model.init_params(np.random.default_rng(0))
    monitor = RecordingMonitor(stop_after=2)
    monitor.report = _allow_backward(monitor)  # type: ignore[method-assign]
    solver.run(task, x0, monitor, np.random.default_rng(1))
    return monitor.params[0], monitor.params[1]


def _allow_backward(monitor: RecordingMonitor):  # type: ignore[no-untyped-def]
    """``RecordingMonitor.report`` for a gradient solver (which charges backward passes)."""

    def report(params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        monitor.params.append(np.array(params, copy=True))
        monitor.evaluations.append(evaluations)
        return len(monitor.params) >= monitor.stop_after

    return report


def _gradient(task_name: str, theta0: np.ndarray, **forward_kwargs: object) -> np.ndarray:
    from solvers._torch import torch_loss

    task = get_task(task_name, horizon=20) if task_name == "logistic_map" else get_task(
        task_name, length=10, num_train=32)
    assert isinstance(task.model, ModuleSpec)
    theta = torch.tensor(theta0, requires_grad=True)
    x, y = torch.from_numpy(task.x_train), torch.from_numpy(task.y_train)
    loss = torch_loss(task, task.model.torch_logits(theta, x, **forward_kwargs), y)
    (grad,) = torch.autograd.grad(loss, theta)
    return grad.numpy()


def test_sgd_steps_along_the_clipped_gradient() -> None:
    """With clip_norm c and a gradient longer than c, one SGD step moves exactly lr * c."""
    lr, c = 0.5, 1e-3
    x0, x1 = _first_step(SGDSolver(learning_rate=lr, clip_norm=c), "logistic_map", horizon=20)
    grad = _gradient("logistic_map", x0)
    assert np.linalg.norm(grad) > 10 * c  # the clip acts
    np.testing.assert_allclose(np.linalg.norm(x1 - x0), lr * c, rtol=1e-6)
    np.testing.assert_allclose(x1 - x0, -lr * c * grad / np.linalg.norm(grad), atol=1e-12)
    # Without the clip, the same step is lr times the whole gradient.
    x0b, x1b = _first_step(SGDSolver(learning_rate=lr), "logistic_map", horizon=20)
    np.testing.assert_allclose(x1b - x0b, -lr * grad, rtol=1e-9, atol=1e-12)


def test_adam_clips_before_its_update() -> None:
    """Adam's first step is about ``lr * g / |g|`` per coordinate whatever the gradient's size,
    unless the gradient is clipped below ``eps``: with ``clip_norm = 1e-12`` (and eps 1e-8)
    every coordinate moves at most ``lr * 1e-4``, which shows the clip acts before the update."""
    lr = 0.01
    x0, x1 = _first_step(AdamSolver(learning_rate=lr, clip_norm=1e-12), "logistic_map",
                         horizon=20)
    assert np.max(np.abs(x1 - x0)) <= lr * 1e-4
    x0, x1 = _first_step(AdamSolver(learning_rate=lr), "logistic_map", horizon=20)
    assert np.max(np.abs(x1 - x0)) > 0.5 * lr


def test_sgd_truncation_reaches_the_network() -> None:
    """The step SGD takes with ``truncation`` is the truncated gradient, not the full one."""
    lr = 0.1
    x0, x1 = _first_step(SGDSolver(learning_rate=lr, truncation=2), "adding", length=10,
                         num_train=32)
    truncated = _gradient("adding", x0, truncation=2)
    full = _gradient("adding", x0)
    np.testing.assert_allclose(x1 - x0, -lr * truncated, rtol=1e-9, atol=1e-14)
    assert not np.allclose(truncated, full)


def test_the_solver_list_shows_the_options_while_they_are_off() -> None:
    """``--list`` reads the fields, not the configuration (which leaves them out)."""
    from benchmarks.run_all import list_everything

    line = next(t for t in list_everything().splitlines() if t.startswith("  adam "))
    assert "clip_norm=None" in line and "truncation=None" in line
