"""The conformance suite: every registered solver, on every cheap task, must pass these.

Parametrized over the registries at import time, so a solver added to ``solvers.SOLVERS`` (a
plugin's included) is checked without touching this file. The checks themselves live in
``benchmarks/conformance.py``, which ``python -m benchmarks.conformance PACKAGE:CLASS`` runs
against a plugin, so a plugin author meets exactly these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from benchmarks.conformance import (
    CHEAP_TASKS,
    NotApplicable,
    check_budget,
    check_config_round_trip,
    check_cost_statement,
    check_evaluation_time,
    check_first_report,
    check_hyperparameters_validated,
    check_reproducible,
    check_smoke_record,
    check_solver_name,
)
from solvers import SOLVERS

SOLVER_NAMES = sorted(SOLVERS)
TASK_IDS = [f"{n}{o}" if o else n for n, o in CHEAP_TASKS]


def _check(check: Callable[..., None], *args: Any) -> None:
    """Run a shared check; one that does not apply is a skip with its reason."""
    try:
        check(*args)
    except NotApplicable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_name_is_registry_key(name: str) -> None:
    assert SOLVERS[name].name == name
    _check(check_solver_name, SOLVERS[name], name)


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_states_its_cost_as_data(name: str) -> None:
    """The report's accounting table shows each solver's own statement of what an iteration
    costs; it must be declared on the class, never parsed from the docstring."""
    _check(check_cost_statement, SOLVERS[name])


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_defaults_construct_and_config_round_trips_through_json(name: str) -> None:
    _check(check_config_round_trip, SOLVERS[name])


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_every_hyperparameter_is_validated_with_a_message_naming_it(name: str) -> None:
    """For each field, at least one bad value is rejected, and the message names the field."""
    _check(check_hyperparameters_validated, SOLVERS[name])


@pytest.mark.parametrize("name", SOLVER_NAMES)
@pytest.mark.parametrize(("task_name", "options"), CHEAP_TASKS, ids=TASK_IDS)
def test_same_seed_same_trace_other_seed_other_trace(
    name: str, task_name: str, options: dict[str, Any]
) -> None:
    _check(check_reproducible, SOLVERS[name], task_name, options)


@pytest.mark.parametrize("name", SOLVER_NAMES)
@pytest.mark.parametrize(("task_name", "options"), CHEAP_TASKS, ids=TASK_IDS)
def test_budget_is_never_exceeded(name: str, task_name: str, options: dict[str, Any]) -> None:
    _check(check_budget, SOLVERS[name], task_name, options)


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_first_report_precedes_the_first_update(name: str) -> None:
    """Single-start solvers first report x0 itself; population solvers report after scoring only
    the initial population (exactly their stated initial cost)."""
    _check(check_first_report, SOLVERS[name])


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_evaluation_time_is_not_charged_to_the_solver(name: str) -> None:
    """Make the harness's evaluation slow: solver seconds must not grow with it (the solver
    compared with its own run at normal speed; see ``check_evaluation_time``)."""
    _check(check_evaluation_time, SOLVERS[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_smoke_budget_on_xor_gives_a_clean_record(name: str) -> None:
    """Within the smoke budget every solver produces a record without error; stop reason is one of
    the harness's, and success fields are consistent with it."""
    _check(check_smoke_record, SOLVERS[name])
