"""Solvers and tasks from other installed packages, registered through entry points.

A package adds solvers under the entry-point group :data:`SOLVER_GROUP` and tasks under
:data:`TASK_GROUP` (``[project.entry-points."evo_vs_grad.solvers"]`` in its ``pyproject.toml``).
The entry's name is the registry key:

- a solver entry names a :class:`solvers.base.Solver` subclass whose ``name`` is that key;
- a task entry names a task factory, like the values of :data:`tasks.TASKS`: a function that
  takes only keyword knobs, each with a default, and returns a :class:`tasks.base.Task` whose
  ``name`` is that key. It may carry a ``known_good(task) -> params`` attribute: a parameter
  vector built without training that meets the task's target, which the conformance suite uses
  to show the target is reachable.

The registries (``solvers/__init__.py``, ``tasks/__init__.py``) call :func:`load_plugins` when
they are built, so a plugin is in ``SOLVERS`` / ``TASKS`` wherever they are (worker processes
included), and record where each entry comes from (``built-in``, or the distribution's name and
version) in ``SOLVER_ORIGINS`` / ``TASK_ORIGINS``.

Why problems are collected instead of raised: the registries are built on import, and an error
there would turn every command, test and worker into a traceback from a third-party package
that names neither the package nor what to do. Each problem is kept as one line naming the
package (:data:`PLUGIN_PROBLEMS`); ``run_all.py`` refuses to start while there is any
(:func:`check_plugins`, exit 2 before any run), so a broken installed plugin is never silently
left out of a suite either.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, MutableMapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from tasks.errors import BenchmarkError

#: Entry-point group of solver plugins: each entry names a ``Solver`` subclass.
SOLVER_GROUP = "evo_vs_grad.solvers"
#: Entry-point group of task plugins: each entry names a task factory.
TASK_GROUP = "evo_vs_grad.tasks"
#: The origin of a solver or task that ships with this project.
BUILTIN = "built-in"

#: One line per plugin entry that could not be registered, both groups, in load order.
PLUGIN_PROBLEMS: list[str] = []
#: Entries whose module was mid-import when their registry loaded them (:func:`load_pending`).
_PENDING: list[tuple[EntryPoint, str, Any, Any, Callable[[str, object], str | None]]] = []

T = TypeVar("T")


class PluginError(BenchmarkError, ImportError):
    """An installed plugin could not be registered (it failed to import, names the wrong kind
    of object, or clashes with a registered name); the message names the package."""


def origin(entry: EntryPoint) -> str:
    """``name version`` of the distribution that declares ``entry``, as ``--list`` shows it."""
    dist = entry.dist
    if dist is None:  # an entry point built by hand has no distribution
        return f"module {entry.module}"
    return f"{dist.metadata['Name'] or dist.name} {dist.version}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def load_plugins(
    group: str,
    kind: str,
    registry: MutableMapping[str, T],
    origins: MutableMapping[str, str],
    problem: Callable[[str, object], str | None],
) -> None:
    """Add every entry point of ``group`` to ``registry``, its origin to ``origins``.

    An entry that fails to import, that ``problem`` refuses, or whose name is already
    registered (a built-in or another plugin) is left out and described in
    :data:`PLUGIN_PROBLEMS` instead; nothing is raised, so importing the registry never fails
    because of a third-party package.

    Args:
        group: the entry-point group (:data:`SOLVER_GROUP` or :data:`TASK_GROUP`).
        kind: ``solver`` or ``task``, for the messages.
        registry: the registry to extend (a plain dict of name to class or factory).
        origins: the parallel dict of name to origin; built-in entries must be in it already.
        problem: given the entry's name and the object it loaded, why it cannot be registered
            (a sentence completing "entry point ... "), or ``None`` when it can.
    """
    for entry in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
        if _initializing(entry.module):
            # The plugin's module is being imported right now (it imports this registry, or a
            # module that registers both a task and a solver is loading): what it names is not
            # defined yet. Register it once the module is done (:func:`load_pending`).
            _PENDING.append((entry, kind, registry, origins, problem))
            continue
        _register(entry, kind, registry, origins, problem)
    load_pending()


def _register(
    entry: EntryPoint,
    kind: str,
    registry: MutableMapping[str, T],
    origins: MutableMapping[str, str],
    problem: Callable[[str, object], str | None],
) -> None:
    """Load one entry point into ``registry``, or describe why not in PLUGIN_PROBLEMS."""
    group = entry.group
    source = origin(entry)
    where = (f"Plugin package {source!r} (entry point '{entry.name} = {entry.value}' in "
             f"group {group})")
    try:
        loaded = entry.load()
    except Exception as exc:  # noqa: BLE001 - a third-party import may raise anything
        PLUGIN_PROBLEMS.append(
            f"{where} failed to import: {type(exc).__name__}: {_one_line(str(exc))}. Fix "
            f"the package or uninstall it."
        )
        return
    why = problem(entry.name, loaded)
    if why is not None:
        PLUGIN_PROBLEMS.append(f"{where} {why}")
        return
    if entry.name in registry:
        owner = origins.get(entry.name, BUILTIN)
        other = (f"the built-in {kind} {entry.name!r}" if owner == BUILTIN
                 else f"{kind} {entry.name!r} of plugin package {owner!r}")
        PLUGIN_PROBLEMS.append(
            f"{where} registers {kind} {entry.name!r}, which clashes with {other}. "
            f"Rename the entry point (and the {kind}'s name)."
        )
        return
    registry[entry.name] = loaded
    origins[entry.name] = source


def _initializing(module: str) -> bool:
    """Whether ``module`` or a package above it is being imported at this moment."""
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        spec = getattr(sys.modules.get(".".join(parts[:end])), "__spec__", None)
        if getattr(spec, "_initializing", False):
            return True
    return False


def load_pending() -> None:
    """Register the entries deferred because their module was still being imported.

    Called after every registry's loading, by :func:`check_plugins` and on a registry miss, so
    an entry whose module imports the registries (and so was mid-import when they loaded it)
    is registered as soon as that module is complete.
    """
    ready = [p for p in _PENDING if not _initializing(p[0].module)]
    _PENDING[:] = [p for p in _PENDING if all(p is not r for r in ready)]
    for entry, kind, registry, origins, problem in ready:
        _register(entry, kind, registry, origins, problem)


def check_plugins() -> None:
    """Raise :class:`PluginError` (one line, every problem) if an installed plugin is broken.

    Commands call it before they run anything: a broken plugin blocks the command instead of
    being silently left out of the runs.
    """
    load_pending()
    if PLUGIN_PROBLEMS:
        more = len(PLUGIN_PROBLEMS) - 1
        extra = f" (and {more} more plugin problem{'s' * (more > 1)}: " + " ".join(
            PLUGIN_PROBLEMS[1:]) + ")" if more else ""
        raise PluginError(PLUGIN_PROBLEMS[0] + extra)


def task_factory_problem(name: str, loaded: object) -> str | None:
    """Why ``loaded`` is not a task factory (a non-class callable whose parameters are all
    keyword knobs with defaults), or ``None``; the Task it builds is checked where it is built."""
    if isinstance(loaded, type) or not callable(loaded):
        return (f"must name a task factory (a function taking keyword knobs and returning a "
                f"Task). Got {describe(loaded)} instead.")
    try:
        parameters = inspect.signature(loaded).parameters.values()
    except (TypeError, ValueError):
        return f"names {describe(loaded)}, whose parameters cannot be read."
    bad = [p.name for p in parameters
           if p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) or p.default is p.empty]
    if bad:
        return (f"names task factory {describe(loaded)}, whose parameters must all be keyword "
                f"knobs with defaults (task {name!r} is built with none given). Got "
                f"{', '.join(repr(b) for b in bad)} instead.")
    return None


def describe(obj: object) -> str:
    """How a loaded object is named in a message: ``class pkg.mod.Name``, ``function ...``."""
    if isinstance(obj, type):
        return f"class {obj.__module__}.{obj.__qualname__}"
    qualname = getattr(obj, "__qualname__", None)
    if qualname is not None and callable(obj):
        return f"function {getattr(obj, '__module__', '?')}.{qualname}"
    text = repr(obj)
    return f"{type(obj).__name__} {text if len(text) <= 60 else text[:57] + '...'}"
