"""Robustness studies (issue 25): do the verdict's picks survive more tuning, budget and seeds?

The verdict rests on three choices the protocol makes once: 8 Sobol trials per solver and task
(rankings flip with the tuning budget: Sivaprasad et al. 2020, "Optimizer benchmarking needs to
account for hyperparameter tuning"; Dodge et al. 2019, "Show your work"), budgets sized from
Adam's cost (7-63x its median), and 10 evaluation seeds. Each is stressed by a study that runs on
the common engine (``python benchmarks/run_all.py --suite NAME``: resumable, keyed cells):

* ``tuning32`` (:data:`~benchmarks.suites.TUNING32`): the tuning study at 32 trials, its first 8
  trials the committed study's cells; ``tuned32`` runs its choices on the evaluation seeds.
  :func:`expected_best_curve` gives, without re-running anything, the expected best ERT after
  ``k`` trials for every ``k`` (Dodge et al.'s expected validation performance, for a minimised
  score).
* ``budget10x``: each paradigm the verdict reports as ended by the budget, at 10x the budget.
* ``seeds30``: the tasks the verdict marks not decided, on 30 seeds.

Each study writes into its own folder under the main study's folder (``--out
results/reference/tuning32`` for the committed one) and reads the main study's records from
the folder above it: :data:`STUDIES` says what each reuses and how it is narrowed. Cells a study
shares with the main study (``tuning32``'s trials 0-7, ``seeds30``'s seeds 0-9, ``tuned32``'s
unchanged choices) have the same key, and :func:`reuse_records` copies their records instead of
re-running them: a copied record keeps the suite that made it, so a study's cost counts only
its own runs. This module never imports the report; the verdict-based narrowing and the
report's subsection are ``benchmarks/report/robustness.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from benchmarks.records import RecordFormatError, RecordWriter, RunRecord, read_records
from benchmarks.suites import (
    BUDGET10X,
    DEFAULT,
    SEEDS30,
    TUNED32,
    TUNING,
    TUNING32,
    Suite,
    TaskEntry,
)
from tasks.errors import InvalidParameterError

#: The suite whose verdict the studies check (its records: ``<main folder>/raw/default.jsonl``).
MAIN_SUITE = DEFAULT.name
#: A curve "stops improving" at the first ``k`` whose expected best is within this fraction of
#: the expected best at the largest ``k``: more trials then buy less than 5%.
PLATEAU = 0.05


@dataclass(frozen=True, kw_only=True)
class RobustnessStudy:
    """One robustness study: its suite, where it writes, what it reuses and how it is narrowed.

    Attributes:
        suite: the suite ``run_all.py --suite`` runs.
        folder: its folder under the main study's folder (its ``--out``); ``tuned32`` shares
            ``tuning32``'s, where the tuned.json it runs was written.
        check: which of the verdict's choices it stresses: ``tuning``, ``budget`` or ``seeds``.
        reuses: suites of the main study whose records of the same cells (same key) are copied
            into the study's records instead of re-run.
        narrowed: the study runs only what the main study's verdict selects (``budget``: each
            paradigm ended by the budget; ``seeds``: the tasks not decided); empty: all of it.
        own_tuned: its tuned arm reads the tuned.json in its own folder (the 32-trial choices),
            not the committed study's.
    """

    suite: str
    folder: str
    check: str
    reuses: tuple[str, ...] = ()
    narrowed: str = ""
    own_tuned: bool = False

    def records_path(self, main: Path) -> Path:
        """The study's records file, for the main study's folder ``main``."""
        return Path(main) / self.folder / "raw" / f"{self.suite}.jsonl"

    def command(self, main: Path | str) -> str:
        """The command that runs (or resumes) the study for the main study's folder."""
        return (f"python benchmarks/run_all.py --suite {self.suite} "
                f"--out {Path(main) / self.folder}")


#: The studies by suite name, in the order they run (``tuned32`` needs ``tuning32``'s choices).
STUDIES: Mapping[str, RobustnessStudy] = MappingProxyType({
    TUNING32.name: RobustnessStudy(suite=TUNING32.name, folder="tuning32", check="tuning",
                                   reuses=(TUNING.name,)),
    TUNED32.name: RobustnessStudy(suite=TUNED32.name, folder="tuning32", check="tuning",
                                  reuses=(MAIN_SUITE,), own_tuned=True),
    BUDGET10X.name: RobustnessStudy(suite=BUDGET10X.name, folder="budget10x", check="budget",
                                    narrowed="budget"),
    SEEDS30.name: RobustnessStudy(suite=SEEDS30.name, folder="seeds30", check="seeds",
                                  reuses=(MAIN_SUITE,), narrowed="seeds"),
})


def main_folder(out: Path) -> Path:
    """The main study's folder of a study run with ``--out out``: the folder above it."""
    return Path(out).absolute().parent


# --------------------------------------------------------------------------------------------
# Expected best of k trials (Dodge et al. 2019), for a minimised score
# --------------------------------------------------------------------------------------------


def _checked(scores: Iterable[float], owner: str) -> list[float]:
    values = [float(s) for s in scores]
    bad = [s for s in values if math.isnan(s) or s == -math.inf]
    if bad or not values:
        raise InvalidParameterError(
            f"The 'scores' parameter of {owner} must be a non-empty sequence of numbers in "
            f"(-inf, inf] (inf: a trial that never reached the target). Got "
            f"{'an empty sequence' if not values else bad[0]} instead."
        )
    return sorted(values)


def expected_best_of_k(scores: Sequence[float], k: int) -> float:
    """The expected minimum of ``k`` scores drawn without replacement from ``scores``.

    Dodge et al. (2019, "Show your work: improved reporting of experimental results") report
    the expected best validation score after ``k`` hyperparameter trials, estimated from ``n``
    trials already run, instead of the best of all ``n``: how much better more tuning makes a
    method is then visible, and methods tuned with different budgets can be compared at the
    same ``k``. Here the score is minimised (ERT, ``inf`` for a trial that never reached the
    target). Exact, by order statistics: with the scores sorted, ``s_1 <= ... <= s_n``, the
    minimum of a uniformly drawn ``k``-subset is ``s_i`` (the ``i``-th in that order, ties
    broken by position) with probability ``C(n - i, k - 1) / C(n, k)``. Ties need nothing more:
    tied scores share a value, whichever of them is "the" minimum. An ``inf`` with a positive
    probability makes the expectation ``inf`` (some ``k``-subset has no success); the terms of
    zero probability are skipped, never multiplied (``0 * inf`` is undefined).

    Args:
        scores: the ``n`` trials' scores, each in ``(-inf, inf]``.
        k: how many trials are drawn, ``1 <= k <= n``.

    Raises:
        InvalidParameterError: a score is NaN or ``-inf``, there is none, or ``k`` is out of
            range.
    """
    values = _checked(scores, "expected_best_of_k")
    n = len(values)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n:
        raise InvalidParameterError(
            f"The 'k' parameter of expected_best_of_k must be an int in the range [1, {n}] "
            f"(the number of scores). Got {k!r} instead."
        )
    return _expected_min(values, k)


def _expected_min(ordered: Sequence[float], k: int) -> float:
    n = len(ordered)
    total = math.comb(n, k)
    terms = []
    for i, value in enumerate(ordered, start=1):
        weight = math.comb(n - i, k - 1)
        if weight == 0:  # so are all later ones: n - i < k - 1 from here on
            break
        if value == math.inf:
            return math.inf
        terms.append(value * (weight / total))
    return math.fsum(terms)


def expected_best_curve(scores: Sequence[float]) -> list[float]:
    """:func:`expected_best_of_k` for ``k = 1 .. n``: the tuning-budget curve of one solver on
    one task (non-increasing; its last point is the best score of all ``n`` trials)."""
    values = _checked(scores, "expected_best_curve")
    return [_expected_min(values, k) for k in range(1, len(values) + 1)]


def plateau_k(curve: Sequence[float], tolerance: float = PLATEAU) -> int | None:
    """The trial count at which a tuning-budget curve stops improving: the first ``k`` whose
    expected best is within ``tolerance`` of the curve's last point (``None`` when that point
    is ``inf``: no trial ever reached the target, so there is nothing to stop improving)."""
    if not curve or not math.isfinite(curve[-1]):
        return None
    bound = curve[-1] * (1 + tolerance) if curve[-1] >= 0 else curve[-1] * (1 - tolerance)
    return next(k for k, value in enumerate(curve, start=1) if value <= bound)


# --------------------------------------------------------------------------------------------
# Narrowed suites
# --------------------------------------------------------------------------------------------


def entry_for(suite: Suite, task: str, options: Mapping[str, Any]) -> TaskEntry | None:
    """The suite's entry a run of ``task`` with ``options`` belongs to (``None`` if none): the
    entry's own options, as the suite states them, must all be in ``options`` (a record's
    options also hold the task's resolved knobs, such as its data seed)."""
    for entry in suite.tasks:
        if entry.name == task and all(options.get(k) == v for k, v in entry.options.items()):
            return entry
    return None


def budget_suite(pairs: Iterable[tuple[str, Mapping[str, Any], str, str]]) -> Suite:
    """:data:`~benchmarks.suites.BUDGET10X` narrowed to ``(task, options, solver, arm)`` rows:
    each paradigm's representative the verdict reports as ended by the budget, in the arm the
    verdict read (tuned where tuned; a solver the study never tunes, such as nevergrad's rows,
    in its defaults).

    Raises:
        InvalidParameterError: a row names a task the suite does not have.
    """
    solvers: dict[int, list[str]] = {}
    arms: dict[str, list[str]] = {}
    for task, options, solver, arm in pairs:
        entry = entry_for(BUDGET10X, task, options)
        if entry is None:
            raise InvalidParameterError(
                f"The budget study runs the default suite's tasks; {task!r} with options "
                f"{dict(options)} is none of them ({', '.join(e.name for e in BUDGET10X.tasks)})."
            )
        solvers.setdefault(BUDGET10X.tasks.index(entry), []).append(solver)
        arms.setdefault(solver, []).append(arm)
    tasks = tuple(replace(BUDGET10X.tasks[i], solvers=tuple(dict.fromkeys(s)))
                  for i, s in sorted(solvers.items()))
    return replace(
        BUDGET10X, tasks=tasks, solvers=None,
        arms=tuple(a for a in BUDGET10X.arms if any(a in v for v in arms.values())),
        # A solver runs only the arms it is represented in (the union over its tasks).
        solver_arms={**BUDGET10X.solver_arms,
                     **{s: tuple(dict.fromkeys(v)) for s, v in arms.items()}},
    )


def seeds_suite(tasks: Iterable[tuple[str, Mapping[str, Any]]]) -> Suite:
    """:data:`~benchmarks.suites.SEEDS30` narrowed to the ``(task, options)`` the verdict marks
    not decided, every solver and arm there as the default suite runs them.

    Raises:
        InvalidParameterError: a task the suite does not have.
    """
    chosen: list[TaskEntry] = []
    for task, options in tasks:
        entry = entry_for(SEEDS30, task, options)
        if entry is None:
            raise InvalidParameterError(
                f"The seeds study runs the default suite's tasks; {task!r} with options "
                f"{dict(options)} is none of them ({', '.join(e.name for e in SEEDS30.tasks)})."
            )
        if entry not in chosen:
            chosen.append(entry)
    return replace(SEEDS30, tasks=tuple(e for e in SEEDS30.tasks if e in chosen))


# --------------------------------------------------------------------------------------------
# Reuse by key
# --------------------------------------------------------------------------------------------


def reuse_records(keys: Collection[str], sources: Sequence[Path], records_path: Path) -> int:
    """Copy into ``records_path`` the records of ``sources`` whose key is in ``keys`` and not
    in ``records_path`` yet; return how many were copied.

    A key names the task, options, solver, configuration, budget, seed, arm, trial and the
    benchmark's version, so a record with the key is the run the cell asks for: copying it is
    re-running it without the cost (and without the run-to-run noise of the seconds). The
    latest record of a key in a source wins, as the reader counts it; a source that does not
    exist is skipped (there is nothing to reuse), an unreadable line too.

    Raises:
        OSError: ``records_path`` cannot be written (naming the file).
    """
    done = {r.key for r in read_records([records_path]).records} if records_path.exists() else set()
    wanted = set(keys) - done
    if not wanted:
        return 0
    found: dict[str, RunRecord] = {}
    for source in sources:
        if not source.exists():
            continue
        with source.open("rb") as handle:
            for line in handle:
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(data, dict) or data.get("key") not in wanted:
                    continue
                try:
                    found[data["key"]] = RunRecord.from_dict(data)
                except (RecordFormatError, TypeError, ValueError):
                    continue
    if not found:
        return 0
    with RecordWriter(records_path) as writer:
        for record in found.values():
            writer.write(record)
    return len(found)


def reuse_sources(study: RobustnessStudy, out: Path) -> list[Path]:
    """The main study's records files a study run with ``--out out`` reuses."""
    main = main_folder(out)
    return [main / "raw" / f"{name}.jsonl" for name in study.reuses]


def study_cost(records: Sequence[RunRecord], suite: str) -> tuple[int, int, float]:
    """A study's runs: ``(made, reused, core-hours)``; the core-hours add up the wall seconds
    of the runs it made (a reused record keeps the suite that made it and costs nothing)."""
    made = [r for r in records if r.suite == suite]
    return len(made), len(records) - len(made), sum(float(r.wall_seconds) for r in made) / 3600


__all__ = [
    "MAIN_SUITE",
    "PLATEAU",
    "STUDIES",
    "RobustnessStudy",
    "budget_suite",
    "entry_for",
    "expected_best_curve",
    "expected_best_of_k",
    "main_folder",
    "plateau_k",
    "reuse_records",
    "reuse_sources",
    "seeds_suite",
    "study_cost",
]
