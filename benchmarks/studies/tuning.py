"""The tuning study: one protocol, the same trial count, seeds and objective for every solver.

Modelled on AlgoPerf's external tuning ruleset (quasirandom points of a declared search space,
a miss counts as infinity) and NeuroEvoBench's random search (best configuration re-run on
evaluation seeds), with three changes that serve a cost benchmark:

* **Objective:** ERT in evaluations over the tuning seeds (COCO's expected running time: all
  evaluations spent, successful runs up to the target and failed runs to the end of their
  budget, divided by the number of successes). A configuration that is fast but unreliable pays
  for its misses; one that never succeeds scores infinity.
* **Trials:** the first ``trials`` points of one scrambled Sobol sequence (``scipy.stats.qmc``)
  per solver, from a fixed seed, so re-running the study gives the same configurations and, with
  the same records, the same choices.
* **Seeds:** the tuning seeds are disjoint from the evaluation seeds, and the tasks that draw
  data draw them from the seed, so no configuration is chosen on the seeds or the data splits
  it is judged on.

The study is the suite ``tuning`` (``benchmarks/suites.py``): ordinary cells, run by the common
engine (process pool, Dask, resume) and recorded like any run, with ``arm="trial"`` and the trial
index. :func:`choose` turns its records into ``tuned.json``; the default suite's ``tuned`` arm
reads that file. A (task, solver) pair missing from it has no tuned arm, and the report says so.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.records import RunRecord
from benchmarks.results import write_atomic
from benchmarks.suites import TUNED_FILE, TUNING, Suite, Tuned, entry_key, probe_task
from solvers import get_solver_class
from solvers.space import SearchSpace


@dataclass(frozen=True)
class TrialScore:
    """One trial of one (task, solver) pair, scored on the tuning seeds."""

    trial: int
    config: dict[str, Any]
    runs: int
    successes: int
    evaluations: float
    seconds: float
    median_final_loss: float

    @property
    def ert(self) -> float:
        """ERT in evaluations: everything spent over the number of successes (inf if none)."""
        return self.evaluations / self.successes if self.successes else math.inf

    def rank_key(self) -> tuple[float, float, int]:
        """Lowest ERT first; ties (e.g. every trial missed) by median final loss, then index."""
        loss = self.median_final_loss if math.isfinite(self.median_final_loss) else math.inf
        return (self.ert, loss, self.trial)


def _final_loss(record: RunRecord) -> float:
    value = record.final_train.get("loss")
    return float(value) if isinstance(value, int | float) else math.inf


def score_trials(
    records: Sequence[RunRecord], suite: Suite = TUNING
) -> dict[str, dict[str, list[TrialScore]]]:
    """Trial records grouped by task entry of ``suite`` and solver, each trial scored."""
    runs: dict[tuple[str, str, int], list[RunRecord]] = defaultdict(list)
    for r in records:
        if r.arm != "trial" or r.trial is None or r.stop_reason == "unsupported":
            continue
        entry = _entry_of(r, suite)
        if entry is not None:
            runs[(entry, r.solver, r.trial)].append(r)
    out: dict[str, dict[str, list[TrialScore]]] = defaultdict(dict)
    spaces = _trial_spaces(suite)
    for (entry, solver, trial), rs in sorted(runs.items()):
        spent = sum(_spent(r) for r in rs)
        seconds = sum(float(r.solver_seconds) for r in rs)
        score = TrialScore(
            trial=trial,
            config=_searched(spaces[entry].get(solver) or get_solver_class(solver).search_space,
                             rs[0].config),
            runs=len(rs),
            successes=sum(r.success for r in rs),
            evaluations=spent,
            seconds=seconds,
            median_final_loss=statistics.median(_final_loss(r) for r in rs),
        )
        out[entry].setdefault(solver, []).append(score)
    return dict(out)


def _spent(record: RunRecord) -> float:
    """A run's contribution to ERT: up to the target if it succeeded, everything if not."""
    if record.evaluations_to_target is not None:
        return float(record.evaluations_to_target)
    return float(record.evaluations)


def _entry_of(record: RunRecord, suite: Suite) -> str | None:
    """The ``tuned.json`` name of the suite entry a record ran (``None`` if none matches): the
    entry's own options, as the suite states them, must all be in the record's options."""
    for entry in suite.tasks:
        if entry.name == record.task and all(
            record.task_options.get(k) == v for k, v in entry.options.items()
        ):
            return entry_key(entry.name, entry.options)
    return None


def _trial_spaces(suite: Suite) -> dict[str, dict[str, SearchSpace]]:
    """Per task entry and solver, the space its trials were drawn from (the solver's space on
    that task: options that act on some tasks only are searched only there)."""
    from solvers import SOLVERS

    out: dict[str, dict[str, SearchSpace]] = defaultdict(dict)
    for entry in suite.tasks:
        probe = probe_task(entry.name, suite.entry_options(entry), suite.seeds)
        for name, cls in SOLVERS.items():
            out[entry_key(entry.name, entry.options)][name] = (
                cls.search_space if probe is None else cls.search_space_for(probe))
    return out


def _searched(space: SearchSpace, config: dict[str, Any]) -> dict[str, Any]:
    """The searched hyperparameters of a configuration (the rest are the solver's defaults)."""
    return {k: config[k] for k in space if k in config}


def choose(records: Sequence[RunRecord], suite: Suite = TUNING) -> dict[str, Any]:
    """The study's choices: per task entry and solver, the trial with the lowest ERT.

    Deterministic given the records (ties by median final training loss, then trial index).
    Returns the ``tuned.json`` document: ``tuned`` (the configurations the tuned arm runs) and
    ``trials`` (every trial's score, for the report's sensitivity figure and tuning cost).
    """
    scores = score_trials(records, suite)
    tuned: Tuned = {}
    details: dict[str, dict[str, Any]] = {}
    for entry, by_solver in scores.items():
        for solver, trials in by_solver.items():
            best = min(trials, key=TrialScore.rank_key)
            tuned.setdefault(entry, {})[solver] = best.config
            details.setdefault(entry, {})[solver] = {
                "chosen_trial": best.trial,
                "chosen_ert": _json_float(best.ert),
                "tuning_evaluations": sum(t.evaluations for t in trials),
                "tuning_seconds": round(sum(t.seconds for t in trials), 3),
                "trials": [
                    {
                        "trial": t.trial,
                        "config": t.config,
                        "successes": t.successes,
                        "runs": t.runs,
                        "ert": _json_float(t.ert),
                        "median_final_loss": _json_float(t.median_final_loss),
                    }
                    for t in trials
                ],
            }
    return {"study": study_description(suite), "tuned": tuned, "details": details}


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None


def study_description(suite: Suite) -> dict[str, Any]:
    """What the study was, so ``tuned.json`` states how it was made."""
    return {
        "suite": suite.name,
        "trials": suite.trials,
        "tuning_seeds": list(suite.seeds),
        "sobol_seed": suite.sobol_seed,
        "objective": "ERT in evaluations over the tuning seeds, misses counted (inf if none)",
        "ties": "median final training loss, then trial index",
        "budgets": {entry_key(e.name, e.options): e.budget.describe() for e in suite.tasks},
        "search_spaces": {
            name: get_solver_class(name).describe_search() for name in _solvers_of(suite)
        },
    }


def _solvers_of(suite: Suite) -> tuple[str, ...]:
    """The solvers the study tuned: an installed plugin is not one of them unless named."""
    from solvers import SOLVERS

    return suite.solver_names(tuple(SOLVERS))


def write_tuned(records: Sequence[RunRecord], folder: Path, suite: Suite = TUNING) -> Path:
    """Choose from the study's records and write ``tuned.json`` into ``folder``."""
    document = choose(records, suite)
    path = Path(folder) / TUNED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
