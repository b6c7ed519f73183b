"""The breadth study: every solver on every task of the default suite, and the rule that picks
the default suite's solvers from it.

The verdict's claim about a paradigm is only as strong as the solvers in it (issue 27): the
breadth study runs every built-in solver, both arms (defaults, and tuned by the tuning study
with the same 8 trials as everyone) on the 10 evaluation seeds of every default-suite task.
The default suite then runs, per regime, the solvers the study shows to be the strongest of
each paradigm, so the main command stays affordable while the data, not an assumption, chooses
who represents evolution and gradients.

**The rule** (:func:`choose`): in each regime (smooth supervised, non-differentiable, control)
and each paradigm (gradients, evolution, closed form), rank the paradigm's solvers by the
number of the regime's tasks on which each was the paradigm's best (the verdict's ranking:
success rate, then ERT in evaluations; tuned arm where tuned), then by total successes, then by
the geometric-mean ERT ratio to each task's best (``benchmarks/report/breadth.py``), and keep
the first :data:`KEEP_PER_PARADIGM`: the strongest, and a runner-up so that the default report
still shows a comparison within each paradigm. Reference lines (PPO, scikit-learn's MLP) and
the null baseline (random search) are kept wherever they ran. A solver ranked below the cut is
not lost: its runs stay in the committed breadth records and report.

``choose`` writes ``breadth.json`` beside the study's records (the committed one is
``results/reference/breadth.json``); the default suite reads it (``benchmarks/suites.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.records import RunRecord
from benchmarks.report.analysis import group_records
from benchmarks.report.breadth import standings
from benchmarks.report.verdict import REGIMES, regime_of
from benchmarks.results import write_atomic
from benchmarks.suites import BREADTH, BREADTH_FILE, Suite, entry_key
from solvers import SOLVERS
from solvers.base import BASELINE, PARADIGMS, REFERENCE

#: Solvers of each paradigm the default suite keeps per regime (see the module docstring).
KEEP_PER_PARADIGM = 2

RULE = (
    "Per regime and paradigm, the solvers ranked by the number of the regime's tasks on which "
    "each was its paradigm's best (success rate, then ERT in evaluations; tuned arm where "
    "tuned), then total successes, then the geometric-mean ERT ratio to each task's best; the "
    f"first {KEEP_PER_PARADIGM} are kept. Reference lines and the null baseline are kept "
    "wherever they ran."
)


def choose(records: Sequence[RunRecord], suite: Suite = BREADTH) -> dict[str, Any]:
    """The default suite's solvers per task entry, chosen from the breadth study's records.

    Returns the ``breadth.json`` document: ``rule``, ``standings`` (per regime and paradigm,
    every solver's wins, successes and runs, strongest first) and ``solvers`` (per task entry
    of ``suite``, the solvers the default suite runs there).
    """
    groups = group_records([r for r in records if r.arm in ("defaults", "tuned")])
    by_regime: dict[str, list[Any]] = {r: [] for r in REGIMES}
    for group in groups:
        by_regime[regime_of(group)].append(group)
    keep: dict[str, set[str]] = {}
    table: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for regime, chosen in by_regime.items():
        if not chosen:
            continue
        for paradigm in PARADIGMS:
            ranked = standings(chosen, paradigm)
            if not ranked:
                continue
            table.setdefault(regime, {})[paradigm] = [
                {"solver": s.solver, "wins": s.wins, "tasks": s.tasks,
                 "successes": s.successes, "runs": s.runs} for s in ranked
            ]
            keep.setdefault(regime, set()).update(s.solver for s in ranked[:KEEP_PER_PARADIGM])
    entries = {e.name: entry_key(e.name, e.options) for e in suite.tasks}
    solvers: dict[str, list[str]] = {}
    for group in groups:
        key = entries.get(group.task)
        if key is None:
            continue
        ran = {r.solver for rs in group.runs.values() for r in rs}
        kept = keep.get(regime_of(group), set()) | {
            s for s in ran if SOLVERS.get(s) is not None
            and SOLVERS[s].paradigm in (REFERENCE, BASELINE)
        }
        solvers[key] = [s for s in SOLVERS if s in kept and s in ran]
    return {"rule": RULE, "keep_per_paradigm": KEEP_PER_PARADIGM, "standings": table,
            "solvers": solvers}


def write_breadth(records: Sequence[RunRecord], folder: Path, suite: Suite = BREADTH) -> Path:
    """Choose from the study's records and write ``breadth.json`` into ``folder``."""
    path = Path(folder) / BREADTH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    document = choose(records, suite)
    return write_atomic(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
