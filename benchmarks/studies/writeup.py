"""The write-up, reproduced: each of its examples as a named suite, its setup next to our result.

The project grew from a write-up that trains XOR three ways (PyTorch 2-2-1 with SGD and
momentum, Keras with one sigmoid unit, plain NumPy backprop), approximates ``sin``, and points
at logic gates and Adaline. Its author notes that 2000 epochs fail "on some seed values". Each
example here runs over many seeds through the common engine (``--suite writeup``,
``writeup-keras``, ``writeup-numpy``, ``writeup-sine``, ``writeup-gates``,
``writeup-adaline``); this module writes the report section from their records.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence

from scipy.stats import binomtest

from benchmarks.records import RunRecord
from benchmarks.suites import SUITES, WRITEUP_SUITES

#: What each example shows, said once its numbers are in (the sentence is chosen by the data
#: below where the data decide it).
_LESSON = {
    "writeup": "seed sensitivity: the same program, only the seed changed, misses the target on "
    "some seeds (a local minimum of the 2-2-1 network), as the author found.",
    "writeup-keras": "the limit of a single layer: one sigmoid unit draws one line, and no line "
    "separates XOR, so no seed can exceed 3 of 4 points (20 epochs at Keras's default step "
    "barely move it anyway).",
    "writeup-numpy": "the same 2-2-1 network with a ReLU output and tiny initial weights: a "
    "ReLU output stuck at 0 has no gradient, so seeds that start there never move.",
    "writeup-sine": "function approximation: a smooth target is easy for every method here; "
    "the cost differs by orders of magnitude.",
    "writeup-gates": "the linearly separable gates are easy for 2-2-1; XOR and XNOR are where "
    "the seed decides.",
    "writeup-adaline": "Adaline (LMS on one linear unit) classifies the linearly separable gates "
    "but never XOR or XNOR, whatever the seed: the limit of a single layer again. Its MSE target "
    "(<= 0.01) is out of reach by construction: the best linear fit of AND leaves an MSE of "
    "1/16 = 0.0625, which is where LMS ends.",
}


def _accuracy(record: RunRecord) -> float | None:
    value = record.final_train.get("accuracy")
    return float(value) if isinstance(value, int | float) else None


def _rate(k: int, n: int) -> str:
    """``k/n [low–high]`` with the 95% Wilson score interval (as everywhere in the report)."""
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return f"{k}/{n} [{ci.low:.2f}–{ci.high:.2f}]"


def markdown_section(records: Sequence[RunRecord]) -> list[str]:
    """One subsection per write-up suite found in ``records``."""
    by_suite: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_suite[r.suite].append(r)
    names = [s.name for s in WRITEUP_SUITES if by_suite.get(s.name)]
    if not names:
        return []
    lines = [
        "Each example of the write-up the project grew from, run over many seeds by the "
        "common engine (`python benchmarks/run_all.py --suite NAME`). *Target* is the task's "
        "own (XOR: every point right and MSE ≤ 0.01); *all points right* only asks for the "
        "classification.",
        "",
    ]
    for name in names:
        suite = SUITES[name]
        runs = by_suite[name]
        lines += [f"### {name}", "", f"**Setup:** {suite.description}", ""]
        lines += ["| task | solver | runs | reached the target [95% CI] | all points right | "
                  "median iterations to target | median final training MSE |",
                  "|---|---|---|---|---|---|---|"]
        groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
        for r in runs:
            groups[(r.task, r.solver)].append(r)
        for (task, solver), rs in groups.items():
            ok = sum(r.success for r in rs)
            right = sum(1 for r in rs if (_accuracy(r) or 0.0) >= 1.0)
            its = [r.iterations_to_target for r in rs if r.iterations_to_target is not None]
            mse = [float(r.final_train["mse"]) for r in rs if "mse" in r.final_train]
            acc_known = any(_accuracy(r) is not None for r in rs)
            mse_text = f"{statistics.median(mse):.3g}" if mse else "—"
            lines.append(
                f"| {task} | {solver} | {len(rs)} | {_rate(ok, len(rs))} | "
                f"{_rate(right, len(rs)) if acc_known else '—'} | "
                f"{statistics.median(its) if its else '—'} | {mse_text} |"
            )
        lines += ["", f"**What it shows:** {_LESSON.get(name, '')}", ""]
    return lines
