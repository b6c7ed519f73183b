"""The conformance suite as functions, and a command that runs it against one solver or task.

Every registered solver and task must pass these checks; ``tests/test_conformance.py``,
``tests/test_task_conformance.py`` and ``tests/test_solver_declarations.py`` run them over the
registries, and this command runs the same functions against a plugin, installed or not::

    python -m benchmarks.conformance PACKAGE.MODULE:CLASS      # a Solver subclass
    python -m benchmarks.conformance PACKAGE.MODULE:FUNCTION   # a task factory

It prints each check with PASS, FAIL (and what it broke) or SKIP (and why it does not apply),
then a summary. Exit status: 0 every check passed, 1 a check failed, 2 bad input (the module
does not import, the name is missing, or it is neither a ``Solver`` subclass nor a task
factory), one line and no run. The runs are short: the cheap tasks, 7-15 iterations each.

Why one set of functions: a plugin author sees exactly the checks the project's own solvers and
tasks pass, and a check strengthened for one is strengthened for the other. Each check raises
:class:`ConformanceError` (an ``AssertionError``, so pytest reports it as a failure) with a
message that names what broke, and :class:`NotApplicable` when it does not apply (the tests
skip it with the reason).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.budget import Budget, StopReason
from benchmarks.harness import initial_params, run_one
from benchmarks.records import RunRecord
from solvers import SOLVERS, Solver
from solvers.base import BASELINE, PARADIGMS, REFERENCE
from tasks import TASKS, get_task
from tasks.base import BatchEvaluator, Evaluator, Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams
from tasks.plugins import SOLVER_GROUP, TASK_GROUP, describe, origin, task_factory_problem

#: Cheap tasks every solver is run on: (registry key, options).
CHEAP_TASKS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("xor", {"hidden": 4}),
    ("and", {}),
    ("parity", {"num_bits": 3}),
    ("sine", {}),
)

TaskFactory = Callable[..., Task]
KnownGood = Callable[[Task], FlatParams]


class ConformanceError(AssertionError):
    """A conformance check failed; the message says what broke."""


class NotApplicable(Exception):  # noqa: N818 - a skip, not an error
    """A check does not apply to this solver or task; the message says why."""


def require(condition: object, message: str) -> None:
    """Raise :class:`ConformanceError` with ``message`` unless ``condition`` holds.

    Not ``assert``: ``python -O`` strips asserts, and the command must not pass a broken plugin.
    """
    if not condition:
        raise ConformanceError(message)


# --- Solver checks ----------------------------------------------------------------------------


def check_solver_name(cls: type[Solver], key: str) -> None:
    """The class's ``name`` is its registry key (or entry-point name) and clashes with no
    built-in solver of another class."""
    name = getattr(cls, "name", None)
    require(isinstance(name, str) and name.strip(), f"{cls.__name__}.name must be a non-empty "
            f"string (the registry key). Got {name!r} instead.")
    require(name == key, f"{cls.__name__}.name is {name!r}, but it is registered as {key!r}.")
    other = SOLVERS.get(key)
    require(other is None or other is cls,
            f"{cls.__name__}.name {key!r} is the name of another registered solver "
            f"({describe(other)}).")


def check_cost_statement(cls: type[Solver]) -> None:
    """The report's accounting table shows each solver's own statement of what an iteration
    costs; it must be declared on the class, never parsed from the docstring."""
    require("evaluations" in vars(cls), f"{cls.__name__} must declare "
            f"`evaluations: ClassVar[str]` on the class itself.")
    require(isinstance(cls.evaluations, str) and cls.evaluations.strip(),
            f"{cls.__name__}.evaluations must be a non-empty string.")
    iteration = getattr(cls, "iteration", None)
    require(isinstance(iteration, str) and iteration.strip(),
            f"{cls.__name__}.iteration must be a non-empty string (what one iteration is).")


def check_declarations(name: str, cls: type[Solver]) -> None:
    """Fail unless ``cls`` declares a known paradigm and a non-empty search space of its fields.

    One function serves the registry sweep, the test that a bare class fails it and the
    command, so the latter two exercise the very check the registry passes.
    """
    paradigm = getattr(cls, "paradigm", None)
    require(paradigm in (*PARADIGMS, REFERENCE, BASELINE),
            f"{name} declares paradigm {paradigm!r}; it must be one of "
            f"{', '.join(repr(p) for p in (*PARADIGMS, REFERENCE, BASELINE))}.")
    require(getattr(cls, "search_space", None), f"{name} declares no search space")
    fields = {f.name for f in dataclasses.fields(cls)}  # config() may leave unset ones out
    searched = {*cls.search_space, *getattr(cls, "conditional_space", {})}
    stray = sorted(searched - fields)
    require(not stray, f"a searched hyperparameter must be a field of {name}; "
            f"{', '.join(stray)} is not")


def check_config_round_trip(cls: type[Solver]) -> None:
    """The defaults construct, and the configuration survives JSON and rebuilds the solver."""
    solver = cls()
    config = solver.config()
    try:
        text = json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise ConformanceError(f"{cls.__name__}().config() is not JSON-ready: {exc}") from None
    require(json.loads(text) == config,
            f"{cls.__name__}().config() changes through JSON: {config} -> {json.loads(text)}")
    require(cls(**config) == solver,
            f"{cls.__name__}(**config) does not rebuild the same solver from {config}")


def bad_values(default: Any) -> list[Any]:
    """Values a hyperparameter with this default must reject (at least one of them)."""
    if isinstance(default, bool):
        return ["yes", 3]
    if isinstance(default, int | float):
        return [-1e9, float("nan"), "not-a-number"]
    if isinstance(default, str):
        return ["no-such-option", 7]
    if default is None:
        return [-1e9, "not-a-number"]
    return [object()]


def check_hyperparameters_validated(cls: type[Solver]) -> None:
    """For each field, at least one bad value is rejected, and the message names the field."""
    solver = cls()  # the fields' defaults (config() may leave unset options out)
    defaults = {f.name: getattr(solver, f.name) for f in dataclasses.fields(cls)}
    for field in dataclasses.fields(cls):
        messages = []
        for bad in bad_values(defaults[field.name]):
            try:
                cls(**{field.name: bad})
            except InvalidParameterError as exc:
                messages.append(str(exc))
        require(messages, f"{cls.__name__}.{field.name} accepted every bad value "
                f"({', '.join(repr(b) for b in bad_values(defaults[field.name]))}); validate() "
                f"must raise InvalidParameterError")
        named = f"'{field.name}' parameter of {cls.__name__}"
        require(any(named in m for m in messages),
                f"no message rejecting {cls.__name__}.{field.name} names it as {named!r}: "
                f"{messages}")


def _runnable(solver: Solver, task: Task) -> None:
    reason = solver.unsupported_reason(task)
    if reason is not None:
        require(reason.strip(), "an unsupported task must come with a reason")
        raise NotApplicable(f"{solver.name} does not run {task.name}: {reason}")


def check_reproducible(cls: type[Solver], task_name: str, options: dict[str, Any]) -> None:
    """The same seed gives the same trace and result; another seed another result."""
    task, solver = get_task(task_name, **options), cls()
    _runnable(solver, task)
    budget = Budget(max_iterations=15, max_seconds=20.0)
    first = run_one(task, solver, budget, seed=3, strict=True)
    second = run_one(task, solver, budget, seed=3, strict=True)
    other = run_one(task, solver, budget, seed=4, strict=True)
    require(first.stop_reason != "error", f"the run ended in an error: {first.error}")
    require([p["loss"] for p in first.trace] == [p["loss"] for p in second.trace],
            f"two runs with seed 3 on {task_name} gave different traces: the solver must draw "
            f"every random number from the rng it is given")
    # What a run ended on: its parameters, or for a solver that reports its own predictor
    # (NEAT: no flat vector to store) the evolved topology's size and the loss path.
    def ended(record: RunRecord) -> tuple[Any, ...]:
        return (record.final_params, record.model_size, [p["loss"] for p in record.trace])

    require(ended(first) == ended(second),
            f"two runs with seed 3 on {task_name} ended on different parameters")
    require(ended(first) != ended(other),
            f"seeds 3 and 4 on {task_name} ended on the same parameters")


def check_budget(cls: type[Solver], task_name: str, options: dict[str, Any]) -> None:
    """An iteration budget and an evaluation budget are never exceeded."""
    task, solver = get_task(task_name, **options), cls()
    _runnable(solver, task)
    it = run_one(task, solver, Budget(max_iterations=7), seed=0, strict=True)
    require(it.iterations <= 7, f"{it.iterations} iterations ran on a budget of 7")
    if it.stop_reason not in ("target_reached", "solver_finished"):
        require(it.stop_reason == "max_iterations",
                f"a budget of 7 iterations ended with {it.stop_reason!r}, not max_iterations")
    cap = solver.initial_cost(task).forward + 5 * solver.iteration_cost(task).forward + 1
    ev = run_one(task, solver, Budget(max_evaluations=cap), seed=0, strict=True)
    require(ev.evaluations <= cap, f"{ev.evaluations} evaluations on a budget of {cap}: "
            f"initial_cost and iteration_cost must bound what each report charges")
    require(ev.stop_reason in ("max_evaluations", "target_reached", "solver_finished"),
            f"a budget of {cap} evaluations ended with {ev.stop_reason!r}")


class RecordingMonitor:
    """Stands in for the harness: records what the solver reports, stops after a few reports."""

    def __init__(self, stop_after: int) -> None:
        self.reports: list[tuple[np.ndarray, int]] = []
        self.stop_after = stop_after

    def report(self, params: np.ndarray, *, evaluations: int, backward: int = 0) -> bool:
        self.reports.append((np.array(params, copy=True), evaluations))
        return len(self.reports) >= self.stop_after


def check_first_report(cls: type[Solver]) -> None:
    """Single-start solvers first report x0 itself; population solvers report after scoring only
    the initial population (exactly their stated initial cost)."""
    task, solver = get_task("xor", hidden=4), cls()
    _runnable(solver, task)
    x0 = initial_params(task, 0)
    monitor = RecordingMonitor(stop_after=3)
    solver.run(task, x0.copy(), monitor, np.random.default_rng(0))
    require(monitor.reports, "run() returned without a single report")
    params, evaluations = monitor.reports[0]
    expected = solver.initial_cost(task).forward
    require(evaluations == expected, f"the first report charged {evaluations} evaluations; "
            f"initial_cost() states {expected}")
    if solver.single_start:
        require(np.array_equal(params, x0), "a single-start solver's first report must be x0 "
                "itself, before any update (set single_start = False otherwise)")
    else:
        # The initial report may be any member of the initial population, and costs exactly it.
        require(evaluations > 0, "a population solver's first report must charge the "
                "scoring of its initial population")


@contextmanager
def _slow_evaluation(delay: float) -> Iterator[None]:
    """Make every harness evaluation (one report or a held batch) take ``delay`` per vector."""
    original, original_batch = Evaluator.__call__, BatchEvaluator.__call__

    def slow_evaluate(self: Evaluator, params: np.ndarray) -> dict[str, float]:
        time.sleep(delay)
        return original(self, params)

    def slow_batch(self: BatchEvaluator, population: np.ndarray) -> list[dict[str, float]]:
        time.sleep(delay * len(population))
        return original_batch(self, population)

    Evaluator.__call__ = slow_evaluate  # type: ignore[method-assign]
    BatchEvaluator.__call__ = slow_batch  # type: ignore[method-assign]
    try:
        yield
    finally:
        Evaluator.__call__ = original  # type: ignore[method-assign]
        BatchEvaluator.__call__ = original_batch  # type: ignore[method-assign]


def check_evaluation_time(cls: type[Solver]) -> None:
    """Make the harness's evaluation slow: solver seconds must not grow with it.

    The solver's own time comes from a first run at normal speed (it also pays any one-off
    start-up cost), so a solver whose iteration is heavy (an L-BFGS step is up to 45 loss
    evaluations) is compared with itself, not with a fixed allowance.
    """
    task, solver = get_task("xor", hidden=4), cls()
    _runnable(solver, task)
    baseline = run_one(task, solver, Budget(max_iterations=10), seed=0, strict=True)
    delay = 0.02
    with _slow_evaluation(delay):
        record = run_one(task, solver, Budget(max_iterations=10), seed=0, strict=True)
    reports = record.iterations + 1
    require(record.eval_seconds >= reports * delay * 0.9,
            f"the harness spent {record.eval_seconds:.3f} s evaluating {reports} reports "
            f"slowed by {delay} s each: the solver's reports bypass the harness's evaluation")
    allowed = 2 * baseline.solver_seconds + reports * delay * 0.5
    require(record.solver_seconds < allowed,
            f"with slow evaluation the solver was charged {record.solver_seconds:.3f} s, over "
            f"{allowed:.3f} s (twice its {baseline.solver_seconds:.3f} s at normal speed plus "
            f"slack): it evaluates outside monitor.report, on its own clock")


def check_smoke_record(cls: type[Solver]) -> None:
    """Within the smoke budget on XOR the solver produces a record without error; the stop
    reason is one of the harness's, and the success fields are consistent with it."""
    task, solver = get_task("xor", hidden=4), cls()
    _runnable(solver, task)
    record = run_one(
        task, solver, Budget(max_evaluations=40_000, max_seconds=5.0), seed=0, strict=True
    )
    allowed = {s.value for s in StopReason} - {"error", "unsupported"}
    require(record.stop_reason in allowed, f"the run ended with {record.stop_reason!r}")
    require((record.stop_reason == "target_reached") == record.success,
            f"success is {record.success} with stop reason {record.stop_reason!r}")
    if record.success:
        require(record.final_train["accuracy"] == 1.0, "a success without accuracy 1.0")
        require(record.iterations_to_target == record.iterations,
                "a success must stop at the iteration that reached the target")


# --- Task checks ------------------------------------------------------------------------------


def build(factory: TaskFactory, **knobs: Any) -> Task:
    """``factory(**knobs)``, which must return a :class:`Task`."""
    task = factory(**knobs)
    require(isinstance(task, Task), f"the factory returned {type(task).__name__}, not a Task")
    return task


def factory_knobs(factory: TaskFactory) -> tuple[str, ...]:
    """The knobs a task factory takes (its parameters)."""
    return tuple(inspect.signature(factory).parameters)


def _tasks_equal(a: Task, b: Task) -> bool:
    arrays = ("x_train", "y_train", "x_test", "y_test")
    return (
        all(np.array_equal(getattr(a, k), getattr(b, k)) for k in arrays)
        and a.model == b.model
        and a.target == b.target
        and dict(a.options) == dict(b.options)
        and a.loss == b.loss
    )


def check_task_data(name: str, factory: TaskFactory) -> None:
    """The default task is named by its key, and its data have the network's shapes, float64
    dtype, finite values and (classification) 0/1 or one-hot labels."""
    task = build(factory)
    require(task.name == name, f"the task's name must be its registry key {name!r}. Got "
            f"{task.name!r} instead.")
    n_in, n_out = task.model.layer_sizes[0], task.model.layer_sizes[-1]
    for split, (x, y) in (("train", (task.x_train, task.y_train)),
                          ("test", (task.x_test, task.y_test))):
        require(x.dtype == np.float64 and y.dtype == np.float64,
                f"the {split} data must be float64. Got {x.dtype} and {y.dtype} instead.")
        require(x.ndim == 2 and y.ndim == 2 and x.shape[0] == y.shape[0] > 0,
                f"the {split} inputs and targets must be 2-d with the same number of rows "
                f"(> 0). Got shapes {x.shape} and {y.shape} instead.")
        require(x.shape[1] == n_in and y.shape[1] == n_out,
                f"the {split} data must have {n_in} input and {n_out} target columns "
                f"({task.model.describe()}). Got {x.shape[1]} and {y.shape[1]} instead.")
        require(np.all(np.isfinite(x)) and np.all(np.isfinite(y)),
                f"the {split} data hold NaN or infinite values")
    if task.kind == "classification":
        labels = np.concatenate([task.y_train, task.y_test])
        require(set(np.unique(labels)) <= {0.0, 1.0}, "classification labels must be 0 or 1")
        if n_out > 1:
            require(np.array_equal(labels.sum(axis=1), np.ones(len(labels))),
                    "multi-class labels must be one-hot")
    require(task.description, "the task needs a description")
    require(task.target.describe(), "the task's target describes nothing")


def check_knobs_recorded(name: str, factory: TaskFactory) -> None:
    """Records carry ``task.options``; a knob missing there would be lost from every record."""
    task = build(factory)
    missing = set(factory_knobs(factory)) - set(task.options)
    require(not missing, f"knobs {sorted(missing)} are not in task.options")


def check_same_task(name: str, factory: TaskFactory) -> None:
    """The same options build the same task (data, network, target, options, loss)."""
    require(_tasks_equal(build(factory), build(factory)),
            f"two builds of {name!r} with the same options differ")


def check_data_seed(name: str, factory: TaskFactory) -> None:
    """A ``data_seed`` knob changes the data, and the same data seed gives the same data."""
    if "data_seed" not in factory_knobs(factory):
        raise NotApplicable(f"{name} has no data seed: its data are fixed")
    a, b = build(factory, data_seed=0), build(factory, data_seed=1)
    require(not np.array_equal(a.x_train, b.x_train),
            "data_seed 0 and 1 give the same training inputs")
    require(_tasks_equal(build(factory, data_seed=1), b), "data_seed 1 twice gives two tasks")


def check_split(name: str, factory: TaskFactory) -> None:
    """No test input is also a training input (unless the task says it has no split)."""
    task = build(factory)
    if not task.has_split:
        raise NotApplicable(f"{name} has no split: the whole domain is the training set")
    train = {row.tobytes() for row in np.ascontiguousarray(task.x_train)}
    shared = sum(row.tobytes() in train for row in np.ascontiguousarray(task.x_test))
    require(shared == 0, f"{shared} test inputs also appear in the training set")


def known_good_builder(factory: TaskFactory) -> KnownGood | None:
    """A task factory's own ``known_good(task) -> params`` builder, if it declares one."""
    builder = getattr(factory, "known_good", None)
    return builder if callable(builder) else None


def check_known_good(name: str, factory: TaskFactory, builder: KnownGood | None,
                     why_none: str = "") -> None:
    """The target is reachable in principle: a vector built by hand or in closed form (no
    training) for the task's default network meets the task's target."""
    if builder is None:
        raise NotApplicable(why_none or (
            f"no known-good builder for {name!r}: give the factory a "
            f"`known_good(task) -> params` attribute to check that its target is reachable"))
    task = build(factory)
    params = np.asarray(builder(task), dtype=np.float64)
    require(params.shape == (task.num_params,), f"the known-good vector has shape "
            f"{params.shape}; the network {task.model.describe()} has {task.num_params}")
    metrics = task.evaluate(params, "train")
    require(task.target.is_met(metrics), f"{task.target.describe()} not met: {metrics}")


# --- The command ------------------------------------------------------------------------------

Check = tuple[str, Callable[[], None]]


def solver_checks(cls: type[Solver], key: str) -> list[Check]:
    """Every solver check, labelled, in the order the command runs them."""
    checks: list[Check] = [
        ("name is the registry key", lambda: check_solver_name(cls, key)),
        ("states its cost as data", lambda: check_cost_statement(cls)),
        ("declares a paradigm and a search space", lambda: check_declarations(key, cls)),
        ("defaults construct; config round-trips through JSON",
         lambda: check_config_round_trip(cls)),
        ("every hyperparameter is validated with a message naming it",
         lambda: check_hyperparameters_validated(cls)),
        ("first report precedes the first update", lambda: check_first_report(cls)),
    ]
    for task_name, options in CHEAP_TASKS:
        shown = task_name + ("(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
                             if options else "")
        checks.append((f"same seed same trace, other seed other trace on {shown}",
                       functools.partial(check_reproducible, cls, task_name, options)))
        checks.append((f"budget is never exceeded on {shown}",
                       functools.partial(check_budget, cls, task_name, options)))
    checks += [
        ("evaluation time is not charged to the solver", lambda: check_evaluation_time(cls)),
        ("smoke budget on xor gives a clean record", lambda: check_smoke_record(cls)),
    ]
    return checks


def task_checks(factory: TaskFactory, key: str) -> list[Check]:
    """Every task check, labelled, in the order the command runs them."""
    return [
        ("shapes, dtypes and finite data; named by its key",
         lambda: check_task_data(key, factory)),
        ("every knob is recorded in options", lambda: check_knobs_recorded(key, factory)),
        ("same options give the same task", lambda: check_same_task(key, factory)),
        ("data_seed changes the data", lambda: check_data_seed(key, factory)),
        ("no example is in both splits", lambda: check_split(key, factory)),
        ("a known-good vector meets the target",
         lambda: check_known_good(key, factory, known_good_builder(factory))),
    ]


def run_checks(checks: list[Check], out: Any = None) -> tuple[int, int, int]:
    """Run each check, print ``PASS``/``FAIL``/``SKIP`` as it ends; return the three counts."""
    out = out or sys.stdout
    passed = failed = skipped = 0
    for label, check in checks:
        try:
            check()
        except NotApplicable as exc:
            skipped += 1
            print(f"  SKIP  {label}: {exc}", file=out, flush=True)
        except AssertionError as exc:
            failed += 1
            print(f"  FAIL  {label}: {exc or 'a check failed'}", file=out, flush=True)
        except Exception as exc:  # noqa: BLE001 - the plugin's code may raise anything
            failed += 1
            print(f"  FAIL  {label}: raised {type(exc).__name__}: {exc}", file=out, flush=True)
        else:
            passed += 1
            print(f"  PASS  {label}", file=out, flush=True)
    return passed, failed, skipped


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line like every other rejected input."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _installed_as(target: str, group: str) -> tuple[str, str] | None:
    """(entry-point name, origin) of an installed entry point naming ``target``, if any."""
    for entry in entry_points(group=group):
        if entry.value.replace(" ", "") == target:
            return entry.name, origin(entry)
    return None


def load_target(target: str) -> object:
    """Import ``PACKAGE.MODULE:NAME`` and return the object.

    Raises:
        InvalidParameterError: malformed, the module fails to import, or the name is missing;
            the message names the module and the error.
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidParameterError(
            f"The target must look like PACKAGE.MODULE:CLASS or PACKAGE.MODULE:FUNCTION. "
            f"Got {target!r} instead."
        )
    package = module_name.split(".")[0]
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - a third-party import may raise anything
        raise InvalidParameterError(
            f"Module {module_name!r} (package {package!r}) failed to import: "
            f"{type(exc).__name__}: {' '.join(str(exc).split())}."
        ) from None
    obj: object = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InvalidParameterError(
                f"Module {module_name!r} has no {attr!r}. Got {target!r}."
            )
        obj = getattr(obj, part)
    return obj


def main(argv: list[str] | None = None) -> int:
    """The command line; returns its exit status (0 pass, 1 a check failed, 2 bad input)."""
    parser = _Parser(
        prog="python -m benchmarks.conformance",
        description=(
            "Run evo-vs-grad's conformance suite against one solver class or task factory "
            "(e.g. a plugin's) and say which checks it breaks."
        ),
    )
    parser.add_argument("target", metavar="PACKAGE.MODULE:NAME",
                        help="a Solver subclass or a task factory, e.g. mypkg.solver:MySolver")
    args = parser.parse_args(argv)

    def fail(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {message}\n")

    target = args.target.replace(" ", "")
    try:
        obj = load_target(target)
    except InvalidParameterError as exc:
        fail(str(exc))
    if isinstance(obj, type) and issubclass(obj, Solver):
        if inspect.isabstract(obj):
            missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
            fail(f"{target} is an abstract Solver subclass: it does not implement {missing}.")
        installed = _installed_as(target, SOLVER_GROUP)
        key = installed[0] if installed else str(getattr(obj, "name", ""))
        where = f"from {installed[1]}" if installed else "not installed as a plugin"
        print(f"Conformance of solver {key!r} ({target}, {where}):", flush=True)
        checks = solver_checks(obj, key)
    elif isinstance(obj, type) or not callable(obj):
        fail(f"{target} must name a Solver subclass (solvers.base.Solver) or a task factory "
             f"(a function taking keyword knobs and returning a Task). Got {describe(obj)} "
             f"instead.")
    else:
        problem = task_factory_problem("", obj)
        if problem is not None:
            fail(f"{target} {problem}")
        installed = _installed_as(target, TASK_GROUP)
        try:
            built = obj()
        except Exception as exc:  # noqa: BLE001 - the plugin's code may raise anything
            fail(f"{target} failed to build a task with its defaults: {type(exc).__name__}: "
                 f"{exc}")
        if not isinstance(built, Task):
            fail(f"{target} must return a Task (tasks.base.Task). Got {describe(built)} "
                 f"instead.")
        key = installed[0] if installed else built.name
        where = f"from {installed[1]}" if installed else "not installed as a plugin"
        print(f"Conformance of task {key!r} ({target}, {where}):", flush=True)
        other = TASKS.get(key)
        checks = task_checks(obj, key)
        if other is not None and other is not obj:
            checks.insert(0, ("name is free", lambda: require(
                False, f"task {key!r} is the name of another registered task "
                       f"({describe(other)})")))
    passed, failed, skipped = run_checks(checks)
    verdict = "FAILED" if failed else "passed"
    print(f"{verdict}: {passed} passed, {failed} failed, {skipped} skipped.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
