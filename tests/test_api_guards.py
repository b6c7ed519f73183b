"""API guards: a wrong call gets one clear message, never a traceback from deep inside a library.

Issue 16's Python API probes: ``x0`` of the wrong length or with NaN, unknown split names, NumPy
scalar types, huge ints, warnings over the progress bar, pycma's own stop reasons, and exported
parameters that do not reproduce a closed-form solver's own forward pass.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.budget import Budget, StopReason
from benchmarks.harness import run_one
from solvers import SOLVERS, get_solver
from tasks import get_task
from tasks.errors import InvalidParameterError


@pytest.mark.parametrize("name", sorted(SOLVERS))
@pytest.mark.parametrize(
    ("x0", "message"),
    [
        (np.zeros(5), r"'x0' parameter of \w+\.run must have shape \(9,\)"),
        (np.full(9, np.nan), r"'x0' parameter of \w+\.run must be finite"),
        (np.zeros((9, 1)), r"must have shape \(9,\)"),
        ("abc", r"must be a vector of 9 floats"),
    ],
)
def test_every_solver_checks_x0_before_running(name: str, x0: object, message: str) -> None:
    task = get_task("xor")
    with pytest.raises(InvalidParameterError, match=message):
        get_solver(name).run(task, x0, None, np.random.default_rng(0))  # type: ignore[arg-type]


def test_an_unknown_split_is_refused() -> None:
    task = get_task("xor")
    with pytest.raises(InvalidParameterError, match=r"'split' parameter .* 'train', 'val', 'test'"):
        task.evaluate(np.zeros(task.num_params), "nosuch")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [np.float32(0.05), np.float64(0.05), np.int64(1), 1, 0.05])
def test_numpy_scalars_are_numbers_like_any_other(value: object) -> None:
    solver = get_solver("sgd", learning_rate=value)
    record = run_one(get_task("xor"), solver, Budget(max_iterations=2), 0, strict=True)
    assert record.stop_reason == "max_iterations"
    assert get_task("xor", hidden=np.int64(3)).model.layer_sizes == (2, 3, 1)


def test_a_huge_int_is_out_of_range_not_an_overflow() -> None:
    with pytest.raises(InvalidParameterError, match=r"'learning_rate' .* Got 1000.*\.\.\. inst"):
        get_solver("sgd", learning_rate=10**400)


def test_warnings_are_counted_in_the_record_not_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = run_one(get_task("xor"), get_solver("cmaes", sigma0=1e-300),
                     Budget(max_iterations=50), 0)
    assert record.warnings >= 1 and record.first_warning.startswith("RuntimeWarning")
    assert "Warning" not in capsys.readouterr().err


def test_pycma_says_why_it_stopped() -> None:
    record = run_one(get_task("xor"), get_solver("cmaes", sigma0=1e-300),
                     Budget(max_iterations=50), 0, strict=True)
    assert record.stop_reason == StopReason.SOLVER_FINISHED
    assert record.stop_detail.startswith("pycma stop: ") and "tolx" in record.stop_detail


def test_a_closed_form_export_that_does_not_reproduce_its_forward_is_a_numerical_failure() -> None:
    record = run_one(get_task("zorb_sinc"), get_solver("zorb"), Budget(max_iterations=1), 0)
    assert record.stop_reason == StopReason.NUMERICAL_FAILURE
    assert "exported parameters do not reproduce its own forward pass" in record.error
    assert not record.success


def test_a_well_conditioned_export_is_checked_and_kept() -> None:
    record = run_one(get_task("zorb_iris"), get_solver("zorb"), Budget(max_iterations=1), 0,
                     strict=True)
    assert record.stop_reason in (StopReason.SOLVER_FINISHED, StopReason.TARGET_REACHED)
