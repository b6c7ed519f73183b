"""Run a benchmark suite and write its records and report under ``results/``.

Examples:
    python benchmarks/run_all.py                       # the default suite
    python benchmarks/run_all.py --suite smoke         # a two-minute check
    python benchmarks/run_all.py --tasks xor --solvers sgd --seeds 100 \\
        --set sgd.learning_rate=0.02 --set sgd.momentum=0.9 --max-iterations 2001
    python benchmarks/run_all.py --report-only         # rebuild the report, run nothing
    python benchmarks/run_all.py --executor dask --scheduler tcp://host:8786  # on a cluster
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.budget import Budget
from benchmarks.engine.executors import EXECUTORS, ExecutorConfig
from benchmarks.engine.runner import run_cells
from benchmarks.records import read_records
from benchmarks.report.document import write_report
from benchmarks.studies.tuning import REFERENCE_TUNED, load_tuned, write_tuned
from benchmarks.suites import SUITES, Suite, TaskEntry, get_suite, with_budget
from solvers import SOLVERS, get_solver_class, solver_fields
from tasks import MODEL_OPTIONS, TASKS, get_factory, task_knobs
from tasks.errors import BenchmarkError, InvalidParameterError

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser.add_argument("--seeds", type=int, metavar="N", help="run seeds 0..N-1")
    parser.add_argument("--seed-list", metavar="S,S,...", help="run exactly these seeds")
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
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument("--tuned", type=Path, default=REFERENCE_TUNED, metavar="PATH",
                        help="tuned configurations for the suite's 'tuned' arm (default: the "
                             "committed study, %(default)s); --suite tuning writes a new one "
                             "into --out")
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
    return parser


def list_everything() -> str:
    lines = ["suites:"]
    lines += [f"  {s.name}: {s.description}" for s in SUITES.values()]
    lines.append("solvers (hyperparameters):")
    for name in SOLVERS:
        cls = get_solver_class(name)
        defaults = cls().config()
        lines.append(f"  {name}: " + ", ".join(f"{k}={defaults[k]!r}" for k in solver_fields(name)))
    lines.append(f"tasks (knobs; every task also takes {', '.join(MODEL_OPTIONS)}):")
    for name in TASKS:
        doc = (get_factory(name).__doc__ or "").strip().splitlines()[0]
        lines.append(f"  {name}: {', '.join(task_knobs(name)) or '-'}  # {doc}")
    return "\n".join(lines)


def configure(args: argparse.Namespace) -> Suite:
    """Apply the command line to the named suite; raises on any bad name or value."""
    suite = get_suite(args.suite)
    if args.solvers:
        names = tuple(s.strip() for s in args.solvers.split(",") if s.strip())
        for name in names:
            get_solver_class(name)
        suite = replace(suite, solvers=names)
    if args.tasks:
        names = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
        entries = {e.name: e for e in suite.tasks}
        for name in names:
            get_factory(name)
        suite = replace(
            suite,
            tasks=tuple(entries.get(n, TaskEntry(name=n, budget=AD_HOC_BUDGET)) for n in names),
        )
    if args.seeds is not None or args.seed_list:
        if args.seed_list:
            seeds = tuple(int(s) for s in args.seed_list.split(","))
        else:
            if args.seeds < 1:
                raise InvalidParameterError(
                    f"The '--seeds' option must be an int in the range [1, inf). Got {args.seeds}."
                )
            seeds = tuple(range(args.seeds))
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
    chosen = suite.solvers if suite.solvers is not None else tuple(SOLVERS)
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


def report_path(out: Path, suite: str) -> Path:
    return out / ("report.md" if suite == "default" else f"report-{suite}.md")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        print(list_everything())
        return 0
    try:
        suite = configure(args)
        executor = ExecutorConfig(
            kind=args.executor or ("dask" if args.scheduler else "process"),
            workers=args.workers,
            scheduler=args.scheduler,
            time_limit=args.time_limit,
        )
        records_path = args.out / "raw" / f"{suite.name}.jsonl"
        tuned, _ = load_tuned(args.tuned) if "tuned" in suite.arms else ({}, {})
        if not args.report_only:
            summary = run_cells(
                suite.cells(tuple(SOLVERS), tuned),
                suite=suite.name,
                records_path=records_path,
                rerun=args.rerun,
                progress=not args.no_progress,
                threads=args.threads,
                executor=executor,
            )
            print(summary.describe())
    except BenchmarkError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except KeyboardInterrupt:
        print("interrupted: every finished run is kept; rerun the same command to resume.",
              file=sys.stderr)
        return 130
    if not records_path.exists():
        parser.exit(2, f"{parser.prog}: error: no records at {records_path}; run a suite first.\n")
    result = read_records([records_path])
    if suite.trials:
        tuned_path = write_tuned(result.records, args.out, suite)
        print(f"tuned configurations: {tuned_path} (pass it with --tuned to run the tuned arm)")
    path = write_report(result.records, report_path(args.out, suite.name),
                        f"evo-vs-grad report: suite '{suite.name}'")
    print(f"report: {path} (self-contained copy: {path.with_suffix('.html')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
