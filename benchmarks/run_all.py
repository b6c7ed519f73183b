"""Run a benchmark suite and write its records and report under ``results/``.

Examples:
    python benchmarks/run_all.py                       # the default suite
    python benchmarks/run_all.py --suite smoke         # a two-minute check
    python benchmarks/run_all.py --tasks xor --solvers sgd --seeds 100 --arms defaults \\
        --set sgd.learning_rate=0.02 --set sgd.momentum=0.9 --max-iterations 2001
    python benchmarks/run_all.py --report-only         # rebuild the report, run nothing
    python benchmarks/run_all.py --executor dask --scheduler tcp://host:8786  # on a cluster
"""

from __future__ import annotations

import argparse
import ast
import errno
import math
import os
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.api import DEFAULT_OUT, Protocol, Results, run_protocol
from benchmarks.api import plan as plan_protocol
from benchmarks.budget import Budget
from benchmarks.engine.executors import EXECUTORS, ExecutorConfig
from benchmarks.engine.runner import (
    MAX_SEED,
    MAX_SEEDS,
    PlannedCell,
    build_task,
    plan_cells,
    run_cells,
    stop_on_signals,
)
from benchmarks.record_table import read_table
from benchmarks.report.breadth import write_breadth
from benchmarks.report.document import figures_dir_for, write_report
from benchmarks.report.robustness import narrow_study
from benchmarks.studies.robustness import STUDIES, reuse_records, reuse_sources
from benchmarks.studies.tuning import write_tuned
from benchmarks.suites import (
    ARMS,
    BREADTH,
    BREADTH_FILE,
    PER_SEED,
    REFERENCE_TUNED,
    SUITES,
    TUNED_FILE,
    YOURS,
    YOURS_SAFETY_SECONDS,
    YOURS_SEEDS,
    YOURS_TRIALS,
    YOURS_TUNING,
    Cell,
    Suite,
    TaskEntry,
    TunedGap,
    get_suite,
    load_tuned,
    with_budget,
)
from solvers import SOLVER_ORIGINS, SOLVERS, get_solver, get_solver_class, solver_fields
from solvers.base import REFERENCE
from tasks import MODEL_OPTIONS, TASK_ORIGINS, TASKS, get_factory, task_knobs
from tasks._validation import check_file_target, check_interval, unknown_name
from tasks.errors import BenchmarkError, InvalidParameterError
from tasks.plugins import BUILTIN, PluginError, check_plugins

AD_HOC_BUDGET = Budget(max_evaluations=1_000_000, max_seconds=10.0)


def parse_value(text: str) -> Any:
    """``"0.02"`` -> 0.02, ``"true"`` -> True, ``"none"`` -> None, ``"4,4"`` -> (4, 4), else str."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    if "," in text:
        return tuple(parse_value(part) for part in text.split(",") if part.strip())
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, int | float | tuple) else text


def parse_assignments(items: list[str], flag: str) -> dict[str, dict[str, Any]]:
    """``["sgd.learning_rate=0.02"]`` -> ``{"sgd": {"learning_rate": 0.02}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, value = item.partition("=")
        owner, dot, key = target.partition(".")
        if not sep or not dot or not owner or not key:
            raise InvalidParameterError(
                f"The {flag} option must look like NAME.PARAMETER=VALUE. Got {item!r} instead."
            )
        out.setdefault(owner, {})[key] = parse_value(value)
    return out


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line like every other rejected input (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="run_all.py",
        description=(
            "Run interchangeable training algorithms (gradient descent, neuroevolution, "
            "closed form) on a common task suite over many seeds; write one JSON record per run "
            "to results/raw/<suite>.jsonl and a report to results/. Cells already recorded are "
            "skipped, so an interrupted suite resumes."
        ),
        epilog=(
            f"suites: {', '.join(SUITES)}. solvers: {', '.join(SOLVERS)}. "
            f"tasks: {', '.join(TASKS)}. Use --list for every knob."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suite", default="default", help="named suite (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list suites, solvers, tasks, knobs")
    parser.add_argument("--solvers", help="comma-separated solvers (default: the suite's)")
    parser.add_argument("--tasks", help="comma-separated tasks (default: the suite's)")
    parser.add_argument("--seeds", metavar="N",
                        help=f"run seeds 0..N-1 (N at most {MAX_SEEDS:,})")
    parser.add_argument("--seed-list", metavar="S,S,...",
                        help=f"run exactly these seeds (integers in [0, {MAX_SEED}])")
    budget = parser.add_argument_group(
        "budget", "any of these replaces the suite's per-task budgets entirely"
    )
    budget.add_argument("--max-iterations", type=int, metavar="N")
    budget.add_argument("--max-evaluations", type=int, metavar="N")
    budget.add_argument("--max-seconds", type=float, metavar="S")
    parser.add_argument("--set", action="append", default=[], metavar="SOLVER.PARAM=VALUE",
                        help="set a solver hyperparameter, e.g. sgd.learning_rate=0.02")
    parser.add_argument("--task-set", action="append", default=[], metavar="TASK.OPTION=VALUE",
                        help="set a task option, e.g. xor.hidden=4 or parity.num_bits=6")
    parser.add_argument("--out", type=Path, help="output folder (default: results; "
                        "results/yours with --data)")
    parser.add_argument("--tuned", type=Path, default=REFERENCE_TUNED, metavar="PATH",
                        help="tuned configurations for the suite's 'tuned' arm (default: the "
                             "committed study, %(default)s); --suite tuning writes a new one "
                             "into --out")
    parser.add_argument("--arms", metavar="ARM,ARM",
                        help="which arms to run: defaults, tuned or both (default: the suite's)")
    parser.add_argument("--rerun", action="store_true", help="re-run cells already recorded")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild the report from the records; run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=int, default=1, help="torch/BLAS threads per run")
    engine = parser.add_argument_group(
        "execution", "where runs execute; a killed or interrupted suite resumes when rerun"
    )
    engine.add_argument("--executor", choices=EXECUTORS,
                        help="serial (in this process, for debugging), process (local worker "
                             "processes; the default) or dask (default with --scheduler)")
    engine.add_argument("--workers", type=int, metavar="N",
                        help="worker processes (default: one per core / --threads)")
    engine.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on an existing Dask cluster, e.g. tcp://host:8786")
    engine.add_argument("--time-limit", type=float, metavar="SECONDS",
                        help="wall-clock limit per run; a run past it is killed and recorded "
                             "as a timeout")
    add_data_arguments(parser)
    return parser


def list_everything() -> str:
    """Suites, solvers and tasks, each solver and task with its origin in brackets.

    The origin is ``built-in`` or the plugin's ``distribution version`` (``tasks/plugins.py``),
    so a name that came from another installed package says which one.
    """
    lines = ["suites:"]
    lines += [f"  {s.name}: {s.description}" for s in SUITES.values()]
    lines.append("solvers [origin] (hyperparameters; plugins run only when named with --solvers):")
    for name in SOLVERS:
        cls = get_solver_class(name)
        defaults = cls()  # its fields, not config(): that leaves options that are off out
        lines.append(f"  {name} [{SOLVER_ORIGINS.get(name, BUILTIN)}]: "
                     + ", ".join(f"{k}={getattr(defaults, k)!r}" for k in solver_fields(name)))
        lines.append(f"    one iteration: {cls.iteration}; cost: {cls.evaluations}")
    lines.append(f"tasks [origin] (knobs; every task also takes {', '.join(MODEL_OPTIONS)}):")
    for name in TASKS:
        doc = ((get_factory(name).__doc__ or "").strip().splitlines() or ["-"])[0]
        lines.append(f"  {name} [{TASK_ORIGINS.get(name, BUILTIN)}]: "
                     f"{', '.join(task_knobs(name)) or '-'}  # {doc}")
    return "\n".join(lines)


_INT = re.compile(r"[+]?\d+")


def parse_list(text: str, flag: str, what: str) -> tuple[str, ...]:
    """``"a, b"`` -> ``("a", "b")``; an empty list or an empty item is an error."""
    items = tuple(part.strip() for part in text.split(","))
    if not text.strip() or any(not item for item in items):
        raise InvalidParameterError(
            f"The '{flag}' option must be a comma-separated list of {what}, none empty. "
            f"Got {text!r} instead."
        )
    return items


def parse_seeds(seeds: str | None, seed_list: str | None) -> tuple[int, ...] | None:
    """The seeds the command line asks for, checked: ``None`` keeps the suite's seeds."""
    if seeds is not None and seed_list is not None:
        raise InvalidParameterError("Give either '--seeds' or '--seed-list', not both.")
    if seeds is not None:
        count = int(seeds) if _INT.fullmatch(seeds.strip()) else seeds
        check_interval(count, "--seeds", "run_all.py", kind=int, low=1, high=MAX_SEEDS)
        return tuple(range(int(count)))
    if seed_list is None:
        return None
    values: list[int] = []
    for item in parse_list(seed_list, "--seed-list", f"seeds (integers in [0, {MAX_SEED}])"):
        if not _INT.fullmatch(item) or int(item) > MAX_SEED:
            raise InvalidParameterError(
                f"The '--seed-list' option must list integers in the range [0, {MAX_SEED}]. "
                f"Got {item!r} instead."
            )
        values.append(int(item))
    if len(values) > MAX_SEEDS:
        raise InvalidParameterError(
            f"The '--seed-list' option may list at most {MAX_SEEDS:,} seeds. "
            f"Got {len(values):,} instead."
        )
    return tuple(dict.fromkeys(values))


def check_writable_folder(path: Path, flag: str) -> None:
    """Raise unless ``path`` is a folder this process can write, or can be created as one."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "is a file" if probe.is_file() else "is not a folder"
        raise InvalidParameterError(
            f"The '{flag}' option must be a folder this command can write. {str(probe)!r} "
            f"{what}; got {str(path)!r}."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InvalidParameterError(
            f"The '{flag}' option must be a folder this command can write. {str(probe)!r} is "
            f"not writable; got {str(path)!r}."
        )


def configure(args: argparse.Namespace) -> Suite:
    """Apply the command line to the named suite; raises on any bad name or value."""
    # A robustness study runs what the main study's verdict selects (its records are in the
    # folder above --out); every other suite is unchanged.
    suite = narrow_study(get_suite(args.suite), args.out if args.out is not None else Path())
    if args.solvers is not None:
        names = parse_list(args.solvers, "--solvers", "solvers")
        for name in names:
            get_solver_class(name)
        # Named solvers run on every task, whatever the breadth study kept for the suite.
        suite = replace(suite, solvers=names,
                        tasks=tuple(replace(e, solvers=None) for e in suite.tasks))
    if args.tasks is not None:
        names = parse_list(args.tasks, "--tasks", "tasks")
        for name in names:
            get_factory(name)
        # Every entry of a named task: a sweep lists one task many times, once per knob value.
        suite = replace(
            suite,
            tasks=tuple(
                e for n in names
                for e in ([e for e in suite.tasks if e.name == n]
                          or [TaskEntry(name=n, budget=AD_HOC_BUDGET)])
            ),
        )
    seeds = parse_seeds(args.seeds, args.seed_list)
    if seeds is not None:
        suite = replace(suite, seeds=seeds)
    limits = {
        k: v
        for k, v in (("max_iterations", args.max_iterations),
                     ("max_evaluations", args.max_evaluations),
                     ("max_seconds", args.max_seconds))
        if v is not None
    }
    suite = with_budget(suite, Budget(**limits) if limits else None)
    solver_sets = parse_assignments(args.set, "--set")
    chosen = suite.solver_names(tuple(SOLVERS))  # plugins run only when named
    options = {k: dict(v) for k, v in suite.solver_options.items()}
    for solver, params in solver_sets.items():
        get_solver_class(solver)
        if solver not in chosen:
            raise InvalidParameterError(
                f"--set names solver {solver!r}, which is not in this run ({', '.join(chosen)})."
            )
        options.setdefault(solver, {}).update(params)
    task_sets = parse_assignments(args.task_set, "--task-set")
    updated = tuple(
        replace(e, options={**e.options, **task_sets.get(e.name, {})}) for e in suite.tasks
    )
    for task in task_sets:
        get_factory(task)
        if task not in {e.name for e in suite.tasks}:
            raise InvalidParameterError(
                f"--task-set names task {task!r}, which is not in this run "
                f"({', '.join(e.name for e in suite.tasks)})."
            )
    return replace(suite, solver_options=options, tasks=updated)


def parse_arms(text: str) -> tuple[str, ...]:
    """``--arms defaults,tuned`` as a tuple: at least one arm, each a known one."""
    arms = tuple(a.strip() for a in text.split(",") if a.strip())
    if not arms:
        raise InvalidParameterError("The '--arms' option needs at least one arm.")
    for arm in arms:
        if arm not in ARMS:
            raise unknown_name("arm", arm, ARMS)
    return arms


def report_path(out: Path, suite: str) -> Path:
    return out / ("report.md" if suite == "default" else f"report-{suite}.md")


def _tuned_solver_expected(entry: TaskEntry, solver: str, suite: Suite) -> bool:
    """Whether a tuning study would have a configuration for ``solver`` on ``entry``.

    It never tunes a reference line (scikit-learn's MLP is shown, not tuned) nor a solver that
    does not apply to the task (recorded as unsupported in the defaults arm), so neither is a
    gap in the tuned arm worth a word.
    """
    if get_solver_class(solver).paradigm == REFERENCE:
        return False
    cell = Cell(task=entry.name, task_options=suite.entry_options(entry), solver=solver,
                solver_options={}, budget=entry.budget, seed=suite.seeds[0])
    return get_solver(solver).unsupported_reason(build_task(cell)) is None


def _gap_text(gap: TunedGap, tuned: dict[str, Any], path: Path) -> str:
    """Why the tuned arm skips (part of) a task, naming what is missing and what exists."""
    if not gap.has_entry:
        options = {k: v for k, v in gap.entry.options.items() if v != PER_SEED}
        shown = f" with options {options}" if options else ""
        have = ", ".join(sorted(tuned)) or "no task"
        return (f"no entry for task {gap.entry.name!r}{shown} (key {gap.key!r}) in {path}; "
                f"entries exist for {have}")
    return (f"the entry {gap.key!r} in {path} has no configuration for "
            f"{', '.join(repr(s) for s in gap.solvers)}")


def check_tuned_arm(
    suite: Suite, cells: list[Cell], tuned: dict[str, Any], path: Path,
    solver_sets: dict[str, dict[str, Any]],
) -> list[str]:
    """Check what the tuned arm will run; return one note per task it skips (wholly or partly).

    Raises:
        InvalidParameterError: ``--set`` names a solver the tuned arm runs (the tuned
            configuration would silently win over it, or the set value would change what the
            study tuned), or the run asks for the tuned arm alone and it has nothing to run.
    """
    if "tuned" not in suite.arms:
        return []
    tuned_cells = [c for c in cells if c.arm == "tuned"]
    for solver, params in solver_sets.items():
        tasks = sorted({c.task for c in tuned_cells if c.solver == solver})
        if tasks:
            raise InvalidParameterError(
                f"The '--set' option cannot set {solver}.{', '.join(params)} in a run with the "
                f"tuned arm: the tuned arm runs {solver!r} on {', '.join(tasks)} with the "
                f"configuration in {path}, which would override the set value or be changed by "
                f"it. Run the defaults arm alone to set it (--arms defaults)."
            )
    gaps = suite.tuned_gaps(
        tuple(SOLVERS), tuned, lambda entry, solver: _tuned_solver_expected(entry, solver, suite)
    )
    if not tuned_cells and suite.arms == ("tuned",):
        why = "; ".join(_gap_text(g, tuned, path) for g in gaps) or f"{path} has no entries"
        raise InvalidParameterError(
            f"The '--arms' option asks for the tuned arm only, which has nothing to run: {why}. "
            f"Give a --tuned file with these entries (--suite tuning writes one) or add the "
            f"defaults arm."
        )
    return [f"tuned arm: {_gap_text(g, tuned, path)}; the tuned arm skips {_skipped(g)}."
            for g in gaps]


def _skipped(gap: TunedGap) -> str:
    if not gap.has_entry:
        return "this task"
    return "it on this task" if len(gap.solvers) == 1 else "them on this task"


def _os_error(exc: OSError, what: str, path: Path) -> str:
    """``cannot write the report '/x/report.md': No space left on device (ENOSPC)``."""
    where = exc.filename if exc.filename is not None else path
    code = errno.errorcode.get(exc.errno or 0, "")
    cause = (exc.strerror or str(exc)) + (f" ({code})" if code else "")
    return f"cannot write the {what} {str(where)!r}: {cause}."


@dataclass
class _Doing:
    """What the command is doing: what an interrupt at this moment says was kept."""

    interrupted: str = "interrupted before any run started; nothing was written."


def main(argv: list[str] | None = None) -> int:
    """The command line; returns (or exits with) its status.

    Statuses: 0 done; 2 a bad input or a file that cannot be written (one line, no traceback);
    130 or 143 stopped by SIGINT or SIGTERM at any point, with a line saying what was kept.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:  # a broken installed plugin blocks every command, before anything runs or is listed
        check_plugins()
    except PluginError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    if args.list:
        print(list_everything())
        return 0
    doing = _Doing()
    # One signal handler for the whole command (checks, runs, report): the runner's block
    # nests inside it, so Ctrl-C or SIGTERM while the report is written stops the same way.
    with stop_on_signals():
        try:
            return _command(parser, args, doing)
        except KeyboardInterrupt as exc:
            print(doing.interrupted, file=sys.stderr)
            # Stop signals stay ignored until the process exits: stopping the workers can
            # still signal this process group on the way out, and the summary is printed.
            return 128 + getattr(exc, "signum", signal.SIGINT)  # 130 for Ctrl-C, 143 SIGTERM


def _command(parser: argparse.ArgumentParser, args: argparse.Namespace, doing: _Doing) -> int:
    def fail(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {message}\n")

    if args.data is not None or args.suite == YOURS:
        return _yours_command(args, doing, fail)
    if args.out is None:
        args.out = Path("results")
    try:
        suite = configure(args)
        executor = ExecutorConfig(
            kind=args.executor or ("dask" if args.scheduler else "process"),
            workers=args.workers,
            scheduler=args.scheduler,
            time_limit=args.time_limit,
        )
        check_writable_folder(args.out, "--out")
        check_writable_folder(args.out / "raw", "--out")
        report = report_path(args.out, suite.name)
        check_writable_folder(figures_dir_for(report), "--out")
        records_path = args.out / "raw" / f"{suite.name}.jsonl"
        # Every file the command opens by name is a regular file (or creatable), checked
        # before anything runs: a folder, a device or a named pipe fails here in one line.
        check_file_target(records_path, "records file", source="--out and --suite",
                          write=not args.report_only)
        for target in (report, report.with_suffix(".html")):
            check_file_target(target, "report", source="--out and --suite")
        if suite.trials:
            check_file_target(args.out / TUNED_FILE, "tuned configurations file", source="--out")
        if args.arms is not None:
            suite = replace(suite, arms=parse_arms(args.arms))
        study = STUDIES.get(suite.name)
        if study is not None and study.own_tuned and args.tuned == REFERENCE_TUNED:
            # The 32-trial choices, which the tuning32 study wrote into this folder.
            args.tuned = args.out / TUNED_FILE
            if not os.path.lexists(args.tuned):
                raise InvalidParameterError(
                    f"The {suite.name} study runs the choices of the 32-trial tuning study, "
                    f"read from {str(args.tuned)!r}, which does not exist: run "
                    f"`python benchmarks/run_all.py --suite tuning32 --out {args.out}` first."
                )
        if (suite.tuned_by and "tuned" in suite.arms and args.tuned == REFERENCE_TUNED
                and not args.report_only):
            # A suite whose tasks the default tuning study never saw reads its own study's.
            args.tuned = args.out / suite.tuned_by / TUNED_FILE
            if not os.path.lexists(args.tuned):
                raise InvalidParameterError(
                    f"The {suite.name} suite's tuned arm runs the choices of the "
                    f"{suite.tuned_by} study, read from {str(args.tuned)!r}, which does not "
                    f"exist: run `python benchmarks/run_all.py --suite {suite.tuned_by} --out "
                    f"{args.out / suite.tuned_by}` first, or run --arms defaults."
                )
        if args.tuned != REFERENCE_TUNED and not os.path.lexists(args.tuned):
            raise InvalidParameterError(
                f"The '--tuned' option names {str(args.tuned)!r}, which does not exist; give the "
                f"tuned.json a tuning study wrote (python benchmarks/run_all.py --suite tuning)."
            )
        tuned, _ = load_tuned(args.tuned) if "tuned" in suite.arms else ({}, {})
        planned: list[PlannedCell] = []
        if not args.report_only:
            cells = list(suite.cells(tuple(SOLVERS), tuned))
            planned = plan_cells(cells)  # every name and value, before the arms are judged
            notes = check_tuned_arm(suite, cells, tuned, args.tuned,
                                    parse_assignments(args.set, "--set"))
            for note in notes:
                print(note, file=sys.stderr)
    except BenchmarkError as exc:
        fail(str(exc))
    except (ValueError, TypeError, OverflowError) as exc:  # a value no check anticipated
        fail(f"invalid input: {type(exc).__name__}: {exc}")
    kept = f"every record already in {str(records_path)!r} is kept"
    study = STUDIES.get(suite.name)
    if study is not None and study.reuses and not args.report_only and not args.rerun:
        # Cells the study shares with the main study (same key) are copied, not re-run.
        sources = reuse_sources(study, args.out)
        try:
            reused = reuse_records({p.key for p in planned}, sources, records_path)
        except OSError as exc:
            fail(_os_error(exc, "records file", records_path))
        if reused:
            print(f"reused {reused:,} records of the same cells from "
                  f"{', '.join(str(p) for p in sources)}", file=sys.stderr)
    if not args.report_only:
        doing.interrupted = f"interrupted: {kept}; rerun the same command to resume."
        try:
            summary = run_cells(
                planned,
                suite=suite.name,
                records_path=records_path,
                rerun=args.rerun,
                progress=not args.no_progress,
                threads=args.threads,
                executor=executor,
            )
        except BenchmarkError as exc:
            fail(str(exc))
        except OSError as exc:
            if exc.filename is not None and Path(exc.filename) in (records_path,
                                                                   records_path.parent):
                why = _os_error(exc, "records file", records_path)
            else:
                named = f" ({exc.filename})" if exc.filename is not None else ""
                why = (f"the suite stopped on an operating-system error: "
                       f"{exc.strerror or exc}{named}.")
            fail(f"{why} Every record written before it is kept in {str(records_path)!r}; fix "
                 f"the cause and rerun the same command to resume.")
        print(summary.describe())
    doing.interrupted = (f"interrupted while writing the report: {kept}; rerun with "
                         f"--report-only to write the report.")
    if not records_path.exists():
        fail(f"no records at {records_path}; run a suite first.")
    # Into columns: the report holds every record at once, 10^5 of them in a large study.
    result = read_table([records_path])
    if not result.records:
        # Nothing to report: writing would replace a good report with an empty one.
        if result.bad_lines:
            _, lineno, why = result.bad_lines[0]
            what = (f"none of its {len(result.bad_lines)} non-empty lines is a record "
                    f"(line {lineno}: {why})" if lineno else why)
        else:
            what = "it holds no records"
        fail(f"no records to report in {str(records_path)!r}: {what}. The report "
             f"{str(report)!r} was left as it was.")
    for line in result.warnings():
        print(line, file=sys.stderr)
    if result.superseded:
        print(f"{result.superseded} superseded records ignored (a later record of the same "
              f"cell wins)", file=sys.stderr)
    if suite.trials:
        try:
            tuned_path = write_tuned(result.records, args.out, suite)
        except OSError as exc:
            fail(f"{_os_error(exc, 'tuned configurations', args.out / TUNED_FILE)} The study's "
                 f"records in {str(records_path)!r} are kept; rerun with --report-only to write "
                 f"it and the report.")
        print(f"tuned configurations: {tuned_path} (pass it with --tuned to run the tuned arm)")
    if suite.name == BREADTH.name:
        try:
            breadth_path = write_breadth(result.records, args.out)
        except OSError as exc:
            fail(f"{_os_error(exc, 'breadth choice', args.out / BREADTH_FILE)} The study's "
                 f"records in {str(records_path)!r} are kept; rerun with --report-only to write "
                 f"it and the report.")
        print(f"default-suite solvers: {breadth_path} (the breadth study's choice)")
    try:
        path = write_report(result.records, report, f"evo-vs-grad report: suite '{suite.name}'",
                            superseded=result.superseded, records_file=records_path)
    except OSError as exc:
        fail(f"{_os_error(exc, 'report', report)} The records in {str(records_path)!r} are "
             f"kept; rerun with --report-only to write the report.")
    except BenchmarkError as exc:  # e.g. a tuned.json beside the report that is not one
        fail(f"cannot write the report {str(report)!r}: {exc}")
    print(f"report: {path} (self-contained copy: {path.with_suffix('.html')})")
    return 0


# --------------------------------------------------------------------------------------------
# Your data: --data FILE --target COLUMN (--suite yours), the protocol of benchmarks/api.py
# --------------------------------------------------------------------------------------------


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``--data``: your file, its target, the network and the target to reach."""
    data = parser.add_argument_group(
        "your data (--suite yours)",
        "run the whole protocol on your data: a short tuning study, both arms over the "
        "evaluation seeds, the report and its verdict (README: Your data)",
    )
    data.add_argument("--data", metavar="FILE",
                      help="a CSV, Parquet or NPZ (arrays X and y) file; implies --suite yours")
    data.add_argument("--target", metavar="COLUMN", default="",
                      help="the column to predict (CSV, Parquet)")
    data.add_argument("--kind", default="auto", metavar="KIND",
                      help="auto (from the target column), classification or regression")
    data.add_argument("--encode", default="none", metavar="ENCODING",
                      help="none (non-numeric features are refused) or onehot")
    data.add_argument("--hidden", default="32", metavar="W,W",
                      help="hidden layer widths (default: %(default)s)")
    data.add_argument("--activation", default="tanh", metavar="NAME",
                      help="hidden activation (default: %(default)s)")
    data.add_argument("--target-accuracy", type=float, metavar="A",
                      help="target: training accuracy >= A (classification)")
    data.add_argument("--target-mse", type=float, metavar="M",
                      help="target: training MSE of the standardized target <= M (regression); "
                           "with no target the runs are fixed-budget only")
    data.add_argument("--trials", type=int, default=YOURS_TRIALS, metavar="N",
                      help="tuning trials per solver (default: %(default)s; 0: no tuned arm)")


def _yours_inputs(args: argparse.Namespace) -> tuple[dict[str, Any], Protocol, Path]:
    """The task options, the protocol and the output folder of a ``--data`` run.

    Raises:
        InvalidParameterError: an option that does not apply, or a bad value.
    """
    if args.data is None:
        raise InvalidParameterError(
            "The yours suite runs on your data: give --data FILE (a CSV, Parquet or NPZ file) "
            "and --target COLUMN."
        )
    if args.suite not in ("default", YOURS):
        raise InvalidParameterError(
            f"The '--data' option runs the yours suite; got --suite {args.suite!r}. Leave "
            f"--suite out (or give --suite yours)."
        )
    for flag, given in (("--tasks", args.tasks is not None), ("--task-set", bool(args.task_set)),
                        ("--tuned", args.tuned != REFERENCE_TUNED)):
        if given:
            raise InvalidParameterError(
                f"The '{flag}' option does not apply with --data: the task is your file (set it "
                f"up with --target, --kind, --encode, --hidden, --activation, --target-accuracy "
                f"and --target-mse), and the yours suite tunes on it."
            )
    hidden = parse_value(args.hidden)
    options: dict[str, Any] = {
        "path": str(Path(args.data).absolute()), "target_column": args.target,
        "kind": args.kind, "encode": args.encode,
        "target_accuracy": args.target_accuracy, "target_mse": args.target_mse,
        "hidden": list(hidden) if isinstance(hidden, tuple) else hidden,
        "hidden_activation": args.activation,
    }
    arms = ARMS if args.arms is None else parse_arms(args.arms)
    limits = {k: v for k, v in (("max_iterations", args.max_iterations),
                                ("max_evaluations", args.max_evaluations),
                                ("max_seconds", args.max_seconds)) if v is not None}
    if limits:
        limits.setdefault("max_seconds", YOURS_SAFETY_SECONDS)
    solvers = None
    if args.solvers is not None:
        solvers = parse_list(args.solvers, "--solvers", "solvers")
        for name in solvers:
            get_solver_class(name)
    protocol = Protocol(
        solvers=solvers,
        solver_options=parse_assignments(args.set, "--set"),
        seeds=parse_seeds(args.seeds, args.seed_list) or YOURS_SEEDS,
        trials=args.trials,
        arms=arms,
        budget=Budget(**limits, stop_at_target=False) if limits else None,
    )
    return options, protocol, args.out if args.out is not None else DEFAULT_OUT


def _yours_command(args: argparse.Namespace, doing: _Doing,
                   fail: Callable[[str], NoReturn]) -> int:
    """``--data FILE``: plan and check everything, run the protocol, write the report."""
    try:
        options, protocol, out = _yours_inputs(args)
        executor = ExecutorConfig(
            kind=args.executor or ("dask" if args.scheduler else "process"),
            workers=args.workers, scheduler=args.scheduler, time_limit=args.time_limit,
        )
        report = report_path(out, YOURS)
        for folder in (out, out / "raw", figures_dir_for(report)):
            check_writable_folder(folder, "--out")
        for name in (YOURS, YOURS_TUNING):
            check_file_target(out / "raw" / f"{name}.jsonl", "records file", source="--out",
                              write=not args.report_only)
        for target in (report, report.with_suffix(".html"), out / TUNED_FILE):
            check_file_target(target, "report", source="--out")
        task, entry, tuning, evaluation, notes = plan_protocol(options, protocol)
    except BenchmarkError as exc:
        fail(str(exc))
    except (ValueError, TypeError, OverflowError) as exc:  # a value no check anticipated
        fail(f"invalid input: {type(exc).__name__}: {exc}")
    for note in notes:
        print(note, file=sys.stderr)
    arms = ", ".join(evaluation.arms)
    print(f"{task.description}\nnetwork {task.model.describe()} "
          f"({task.num_params:,} parameters); budget per run: {entry.budget.describe()}"
          + (" (the rule: benchmarks.suites.yours_budget)" if protocol.budget is None else "")
          + (f"; tuning: {tuning.trials} trials per solver on seeds "
             f"{', '.join(map(str, tuning.seeds))}" if tuning is not None else "")
          + f"; arms {arms} on seeds {', '.join(map(str, evaluation.seeds))}.", file=sys.stderr)
    records_path = out / "raw" / f"{YOURS}.jsonl"
    doing.interrupted = (f"interrupted: every record already in {str(out / 'raw')!r} is kept; "
                         f"rerun the same command to resume.")
    try:
        results = run_protocol(options, protocol, out=out, executor=executor,
                               threads=args.threads, progress=not args.no_progress,
                               rerun=args.rerun, run=not args.report_only)
    except BenchmarkError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{_os_error(exc, 'records file', records_path)} Every record written before it "
             f"is kept; fix the cause and rerun the same command to resume.")
    if not results.records:
        fail(f"no records of this data file in {str(records_path)!r}; run it without "
             f"--report-only first.")
    doing.interrupted = (f"interrupted while writing the report: the records in "
                         f"{str(out / 'raw')!r} are kept; rerun with --report-only to write it.")
    try:
        path = results.report(report)
    except OSError as exc:
        fail(f"{_os_error(exc, 'report', report)} The records are kept; rerun with "
             f"--report-only to write the report.")
    print(verdict_sentence(results))
    print(f"report: {path} (self-contained copy: {path.with_suffix('.html')})")
    return 0


def verdict_sentence(results: Results) -> str:
    """The verdict in one or two lines, for the terminal (the report has the rest)."""
    table = results.verdict_table()
    quality = "; ".join(f"{r.paradigm} {r.quality:.3g} ({r.label})"
                        for r in table.itertuples() if math.isfinite(r.quality))
    advice = results.target_advice()
    if advice is not None:
        return (f"verdict: no target was given, so this is a fixed-budget comparison; held-out "
                f"quality at the budget: {quality or 'none'}. To choose a target: "
                f"{advice.option} {advice.best_median:g} (what the best solver, "
                f"{advice.best_label}, reached on half its seeds) or {advice.all_median:g} "
                f"(half of all runs); see 'Choosing a target' in the report.")
    verdict = results.verdict
    if verdict is None or verdict.pick is None:
        return f"verdict: no paradigm reached the target; held-out quality: {quality or 'none'}."
    entry = verdict.entries[verdict.pick]
    return (f"verdict: {verdict.pick} ({entry.label}, {entry.success_text()} reached the "
            f"target)" + (", not decided: no rival is significantly worse" if verdict.decided ==
                          "open" else ", decided") + f"; held-out quality: {quality}.")


if __name__ == "__main__":
    sys.exit(main())
