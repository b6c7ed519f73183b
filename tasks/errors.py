"""Error types shared by every layer of the benchmark.

This module sits in ``tasks/``, the bottom layer, so that solvers and the harness can import it
without a package importing "upwards". Each error subclasses the matching builtin as well, so
callers may catch either ``BenchmarkError`` or the familiar ``ValueError``/``RuntimeError``.
"""

from __future__ import annotations


class BenchmarkError(Exception):
    """Base class for errors raised by this project."""


class InvalidParameterError(BenchmarkError, ValueError):
    """A hyperparameter, task option or budget value is out of its allowed range."""


class UnknownNameError(BenchmarkError, ValueError):
    """A registry lookup (solver, task, suite, option) missed; the message lists valid names."""


class BudgetOverrunError(BenchmarkError, RuntimeError):
    """A solver kept going after the harness told it to stop: a bug in the solver."""


class RunTimeoutError(BenchmarkError, RuntimeError):
    """A run exceeded the per-run wall-clock limit set by the experiment engine."""


class NumericalFailureError(BenchmarkError, ArithmeticError):
    """A solver's result is numerically meaningless (e.g. its exported parameters do not
    reproduce its own forward pass); the run is recorded as ``numerical_failure``."""
