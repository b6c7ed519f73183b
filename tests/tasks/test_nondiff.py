"""The non-differentiable family (issue 23): registration, existence proofs, closed form, input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.budget import Budget, StopReason
from benchmarks.harness import initial_params, run_one
from benchmarks.records import RunRecord
from benchmarks.run_all import main
from solvers import get_solver
from solvers.elm import ELMSolver
from tasks import TASKS, get_task
from tasks.mlp import FlatParams, activate, quantize
from tasks.nondiff import FAMILY

FAMILY_TASKS = ("parity_sign", "cancer_binary", "sine_int4", "circle_zero_one")
#: Which property each task exercises.
PROPERTIES = {
    "parity_sign": lambda t: "sign" in t.model.hidden_activations and t.model.weights == "binary",
    "cancer_binary": lambda t: t.model.weights == "binary_scaled" and t.kind == "classification",
    "sine_int4": lambda t: t.model.weights == "int4" and t.kind == "regression",
    "circle_zero_one": lambda t: t.loss == "zero_one" and not t.model.quantized,
}


@pytest.mark.parametrize("name", FAMILY_TASKS)
def test_family_tasks_are_registered_with_their_property(name: str) -> None:
    task = get_task(name)
    assert task.name == name and task.family == FAMILY
    assert task.needs_straight_through and not task.differentiable
    assert PROPERTIES[name](task)
    assert "target" in task.description


@pytest.mark.parametrize("name", FAMILY_TASKS)
@pytest.mark.parametrize("data_seed", [0, 1, 2])
def test_known_good_vector_meets_the_target_in_the_quantized_model(name: str,
                                                                    data_seed: int) -> None:
    """The existence proof: built by hand or in closed form, judged through the quantization."""
    task = get_task(name) if name == "parity_sign" else get_task(name, data_seed=data_seed)
    params = TASKS[name].known_good(task)  # type: ignore[attr-defined]
    assert params.shape == (task.num_params,)
    metrics = task.evaluate(params)
    assert task.target.is_met(metrics), metrics
    # The quantized network is what meets it: the vector's quantization is itself.
    np.testing.assert_allclose(quantize(task.model, params), params, rtol=1e-15)


def _record(task_name: str, solver: str, evaluations: int = 1000) -> RunRecord:
    task = get_task(task_name)
    return run_one(task, get_solver(solver), Budget(max_evaluations=evaluations * task.n_train),
                   seed=0)


@pytest.mark.parametrize(("name", "why"), [("parity_sign", "sign hidden units"),
                                           ("cancer_binary", "binary_scaled weights"),
                                           ("sine_int4", "int4 weights")])
def test_zorb_is_not_applicable_with_its_reason_in_the_record(name: str, why: str) -> None:
    record = _record(name, "zorb")
    assert record.stop_reason == StopReason.UNSUPPORTED
    assert record.error.startswith("not applicable: ZORBSolver")
    assert why in record.error


def test_zorb_runs_on_a_zero_one_task() -> None:
    """ZORB fits squared error whatever the loss: a 0-1 loss alone does not stop it."""
    record = _record("circle_zero_one", "zorb")
    assert record.stop_reason in (
        StopReason.SOLVER_FINISHED, StopReason.TARGET_REACHED)
    assert record.error == ""


@pytest.mark.parametrize("name", FAMILY_TASKS)
def test_elm_runs_on_every_family_task(name: str) -> None:
    record = _record(name, "elm")
    assert record.stop_reason in (
        StopReason.SOLVER_FINISHED, StopReason.TARGET_REACHED), record.error
    assert np.isfinite(record.final_train["loss"])


class _Keep:
    """A monitor that keeps every reported vector and never stops the solver."""

    def __init__(self) -> None:
        self.reports: list[FlatParams] = []

    def report(self, params: FlatParams, *, evaluations: int, backward: int = 0) -> bool:
        del evaluations, backward
        self.reports.append(params.copy())
        return False


@pytest.mark.parametrize("name", ["parity_sign", "sine_int4", "cancer_binary"])
def test_elm_fits_through_the_deployed_hidden_layer_then_quantizes(name: str) -> None:
    task = get_task(name)
    x0 = initial_params(task, 0)
    monitor = _Keep()
    ELMSolver().run(task, x0, monitor, np.random.default_rng(0))
    flat = monitor.reports[-1]
    spec = task.model
    *hidden, (w_out, b_out, fan_in, fan_out) = list(spec.slices())
    np.testing.assert_array_equal(flat[: w_out.start], x0[: w_out.start])  # hidden latent kept
    del hidden
    if spec.output_activation == "identity":
        # The latent output layer is the least-squares fit on the deployed hidden features.
        (w1, b1), _ = spec.unpack(quantize(spec, flat))
        features = np.column_stack([activate(spec.hidden_activations[0], task.x_train @ w1 + b1),
                                    np.ones(task.n_train)])
        best = np.linalg.lstsq(features, task.y_train, rcond=None)[0]
        ours = np.concatenate([flat[w_out].reshape(fan_in, fan_out), flat[b_out][None]])
        np.testing.assert_allclose(features @ ours, features @ best, atol=1e-6)
    fitted = flat[w_out]
    deployed = quantize(spec, flat)[w_out]
    if spec.weights == "binary":
        np.testing.assert_array_equal(deployed, np.where(fitted >= 0, 1.0, -1.0))
    assert not np.array_equal(deployed, fitted)  # judged quantized, stored as fitted
    np.testing.assert_array_equal(quantize(spec, flat)[b_out], flat[b_out])


def test_evolution_reaches_two_family_targets_in_a_small_budget() -> None:
    """Measured once, seed 0: the GA meets parity_sign's target, CMA-ES circle_zero_one's."""
    parity = _record("parity_sign", "ga", evaluations=5000)
    assert parity.stop_reason == StopReason.TARGET_REACHED
    circle = _record("circle_zero_one", "cmaes", evaluations=5000)
    assert circle.stop_reason == StopReason.TARGET_REACHED


@pytest.mark.parametrize(
    ("task", "option", "fragment"),
    [
        ("parity_sign", "weights=int9", "The 'weights' parameter of task 'parity_sign' must be "
                                        "one of 'real', 'binary', 'binary_scaled', 'ternary', "
                                        "'int2'"),
        ("xor", "weights=int1", "Got 'int1' instead."),
        ("xor", "weights=quaternary", "Got 'quaternary' instead."),
        ("xor", "hidden_activation=heaviside", "must be one of 'identity', 'sigmoid', 'tanh', "
                                               "'relu', 'sign', 'step'. Got 'heaviside'"),
        ("sine", "loss=zero_one", "The 'loss' parameter of task 'sine' must be one of 'mse', "
                                  "'cross_entropy' on a regression task"),
        ("sine_int4", "loss=zero_one", "The 'loss' parameter of task 'sine_int4'"),
    ],
)
def test_bad_non_differentiable_options_exit_2_before_any_run(
    task: str, option: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--tasks", task, "--solvers", "ga", "--task-set", f"{task}.{option}",
              "--out", str(tmp_path), "--no-progress", "--executor", "serial"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "raw").exists()


def test_a_solver_without_straight_through_says_why_not() -> None:
    """scikit-learn's MLP trains real weights by its own backprop: not applicable, and why."""
    reason = get_solver("sklearn-mlp").unsupported_reason(get_task("sine_int4"))
    assert reason is not None and reason.startswith("not applicable: SklearnMLPSolver")
    assert "no useful gradient" in reason and "int4 weights" in reason
    assert "episodic return" not in reason
