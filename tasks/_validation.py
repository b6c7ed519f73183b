"""One place that validates user-facing values, so every message has the same shape.

The message template follows scikit-learn's parameter validation: name the parameter and its
owner, state what was expected, show what was received. Unknown names list the valid choices.
"""

from __future__ import annotations

import math
import numbers
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tasks.errors import InvalidParameterError, UnknownNameError


def _fmt_interval(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") else "("
    right = "]" if closed in ("both", "right") else ")"
    lo = "-inf" if low is None else repr(low)
    hi = "inf" if high is None else repr(high)
    return f"{left}{lo}, {hi}{right}"


def check_interval(
    value: Any,
    name: str,
    owner: str,
    *,
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> None:
    """Raise ``InvalidParameterError`` unless ``value`` is a ``kind`` inside the interval.

    Args:
        value: the value to check.
        name: the parameter's name, as the user spells it.
        owner: the class or task that owns the parameter.
        kind: ``int`` or ``float``. Booleans are never accepted as numbers.
        low: lower bound, or ``None`` for no bound.
        high: upper bound, or ``None`` for no bound.
        closed: which bounds are included: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.
    """
    kind_name = "an int" if kind is int else "a float"
    interval = _fmt_interval(low, high, closed)
    message = (
        f"The {name!r} parameter of {owner} must be {kind_name} in the range {interval}. "
        f"Got {shown(value)} instead."
    )
    # NumPy scalars count as the numbers they hold (np.int64 as an int, np.float32 as a float),
    # and huge ints are compared exactly, never through float() (which overflows past 1e308).
    if isinstance(value, bool | np.bool_):
        raise InvalidParameterError(message)
    if kind is int:
        if not isinstance(value, numbers.Integral):
            raise InvalidParameterError(message)
    elif not isinstance(value, numbers.Real) or not math.isfinite(_as_float(value)):
        raise InvalidParameterError(message)
    v = int(value) if isinstance(value, numbers.Integral) else float(value)
    if low is not None and (v < low or (v == low and closed in ("right", "neither"))):
        raise InvalidParameterError(message)
    if high is not None and (v > high or (v == high and closed in ("left", "neither"))):
        raise InvalidParameterError(message)


def _as_float(value: numbers.Real) -> float:
    try:
        return float(value)
    except OverflowError:  # an int past 1e308: not a float at all
        return math.inf


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 400-digit int stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


#: Options that set how many examples a task holds, and their ceiling: a task's data is built
#: in memory before anything else can be checked, so a size past this is refused up front.
SIZE_OPTIONS: tuple[str, ...] = ("num_train", "num_test")
MAX_EXAMPLES = 10_000_000


def check_sizes(options: Mapping[str, Any], owner: str) -> None:
    """Refuse a task size that would not fit in memory before the task is built."""
    for name in SIZE_OPTIONS:
        if name in options:
            check_interval(options[name], name, owner, kind=int, low=1, high=MAX_EXAMPLES)


def check_params_shape(
    params: Any, num_params: int, name: str, owner: str, *, population: bool = False
) -> None:
    """Raise unless ``params`` is one parameter vector ``(num_params,)`` (or ``(K, num_params)``).

    Without it a vector one element too long is evaluated as if the extra element were not
    there (the network reads its slices and ignores the rest), and one too short fails deep in
    NumPy with a broadcasting error that names no parameter. It is a shape comparison only, run
    on every evaluation of the harness, so it costs nothing measurable next to the forward pass.

    Args:
        params: the array to check.
        num_params: the network's parameter count.
        name: the parameter's name, as the caller spells it (``params``, ``population``).
        owner: what evaluates it, e.g. ``Task.evaluate of task 'xor' (network 2-2sigmoid-1)``.
        population: expect a 2-D population ``(K, num_params)`` instead of one vector.
    """
    shape = getattr(params, "shape", None)
    if shape is not None and len(shape) == 1 + population and shape[-1] == num_params:
        return
    expected = (f"a NumPy array of shape (K, {num_params}) (K parameter vectors of length "
                f"{num_params})" if population else f"a NumPy vector of shape ({num_params},)")
    got = f"an array of shape {tuple(shape)}" if shape is not None else shown(params)
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {got} instead."
    )


def check_options(value: Any, name: str, owner: str, options: Iterable[Any]) -> None:
    """Raise ``InvalidParameterError`` unless ``value`` is one of ``options``."""
    options = list(options)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be one of {listed}. Got {shown(value)} "
            f"instead."
        )


def check_type(value: Any, name: str, owner: str, kind: type | tuple[type, ...], what: str) -> None:
    """Raise ``InvalidParameterError`` unless ``value`` is an instance of ``kind``."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {what}. Got {shown(value)} instead."
        )


def unknown_name(
    kind: str, name: str, valid: Iterable[str], hint: str = "", *, where: str = ""
) -> UnknownNameError:
    """Build the error for a registry miss, listing the valid names (sorted).

    Example: ``Unknown solver 'adamw'. Available solvers: adam, sgd.``
    """
    listed = ", ".join(sorted(valid))
    plural = kind + ("es" if kind.endswith("s") else "s")
    text = f"Unknown {kind} {name!r}{where}. Available {plural}: {listed}."
    return UnknownNameError(text + (" " + hint if hint else ""))


# --- file paths ------------------------------------------------------------------------------
# A records file, a report or a tuned-configurations file is opened by name. If that name is a
# folder, a device, a named pipe or a socket (or a symbolic link to one), opening it fails late
# with a traceback, writes into the device, or blocks forever (a named pipe with no reader or no
# writer). ``check_file_target`` refuses such a path up front with one line that names it and
# says what it is; ``file_kind`` names a file's type for that message and for the records
# writer, which checks the file it actually opened (a path can change after the check).

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """``st_mode`` in words: ``a regular file``, ``a named pipe``, ``a directory`` ..."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def file_problem(path: Path, *, write: bool) -> str | None:
    """Why ``path`` cannot be used as a regular file to read (or write), or ``None``.

    A missing path is fine for writing (the caller created its folder, or checked that it can);
    for reading, the caller decides what a missing file means. Nothing is opened: a named pipe
    is recognised by its type, never by trying it.
    """
    path = Path(path)
    link = path.is_symlink()
    try:
        info = path.stat()
    except FileNotFoundError:
        if link:
            return f"It is a symbolic link to {str(os.readlink(path))!r}, which does not exist."
        return None
    except OSError as exc:
        return f"It cannot be inspected: {exc.strerror or exc}."
    kind = file_kind(info.st_mode)
    if link:
        kind = f"a symbolic link to {str(path.resolve())!r}, {kind}"
    if not stat.S_ISREG(info.st_mode):
        return f"It is {kind}."
    mode, verb = (os.W_OK, "write") if write else (os.R_OK, "read")
    if not os.access(path, mode):
        return f"It is {kind} this command may not {verb} (permission denied)."
    return None


def check_file_target(path: Path, what: str, *, source: str = "", write: bool = True) -> None:
    """Raise unless ``path`` is a regular file this command can write (or read), or can create.

    Args:
        path: the file.
        what: what the file is, for the message (``"records file"``, ``"report"``).
        source: the option(s) the path comes from (``"--out and --suite"``), if any.
        write: whether the command writes the file (otherwise it only reads it).

    Raises:
        InvalidParameterError: one line naming the path and what it is instead.
    """
    problem = file_problem(path, write=write)
    if problem is None:
        return
    need = (
        "a regular file this command can write, or a path where it can create one"
        if write
        else "a regular file this command can read"
    )
    origin = f" (from {source})" if source else ""
    raise InvalidParameterError(f"The {what} {str(path)!r}{origin} must be {need}. {problem}")
