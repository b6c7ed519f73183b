"""The latest saved pytest-benchmark run as Markdown, for the generated report.

``pytest --benchmark-only --benchmark-autosave`` saves each run as one JSON file under
``results/benchmarks/<machine>/NNNN_<commit>_<date>.json`` (``--benchmark-storage`` in
``pyproject.toml``). This module turns the newest of those files into Markdown tables, one per
benchmark group, with the median time per round and every scalar ``extra_info`` field: the
solver benchmarks put their quality there (success, stop reason, iterations / evaluations /
seconds to target, final accuracy and MSE), so the table shows speed and quality side by side,
which pytest-benchmark's own terminal table cannot (ionelmc/pytest-benchmark#233, #266).

The file name matches ``bench_*.py`` so pytest collects it with the benchmarks; it holds no
tests, only the reader the report uses.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: Where saved runs live, relative to the repository root; must match ``--benchmark-storage`` in
#: ``pyproject.toml`` (a test checks that it does).
STORAGE = Path("results") / "benchmarks"

_SAVE_COMMAND = "pytest --benchmark-only --benchmark-autosave"


def saved_runs(root: Path) -> list[Path]:
    """Every readable saved run under ``root / STORAGE``, oldest first.

    Runs are ordered by the ``datetime`` pytest-benchmark writes into each file (then by path),
    not by file times, which a git checkout resets. Files that are not a pytest-benchmark run
    (unparsable JSON, no ``benchmarks`` list) are left out.
    """
    storage = root / STORAGE
    if not storage.is_dir():
        return []
    dated: list[tuple[str, str, Path]] = []
    for path in storage.rglob("*.json"):
        run = _load(path)
        if run is not None:
            dated.append((str(run.get("datetime", "")), str(path), path))
    return [path for _, _, path in sorted(dated)]


def latest_benchmark_file(root: Path) -> Path | None:
    """The newest saved run under ``root / STORAGE``, or ``None`` when there is none."""
    runs = saved_runs(root)
    return runs[-1] if runs else None


def latest_benchmark_markdown(root: Path, *, level: int = 3) -> list[str]:
    """Markdown lines for the newest saved pytest-benchmark run of the repository at ``root``.

    Args:
        root: the repository root (saved runs are read from ``root / STORAGE``).
        level: heading level of the per-group headings (3 gives ``### group``).

    Returns:
        An introductory paragraph naming the file, date, commit and machine, then one table per
        benchmark group. Without any saved run, one paragraph saying how to make one.
    """
    path = latest_benchmark_file(root)
    if path is None:
        return [
            f"No saved benchmark run in `{STORAGE.as_posix()}/`; `{_SAVE_COMMAND}` makes one.",
            "",
        ]
    return benchmark_markdown(path, root=root, level=level)


def benchmark_provenance(path: Path) -> tuple[str, str] | None:
    """``(commit, cpu)`` of a saved run (commit as recorded, ``""`` when unknown), or ``None``
    when the file is not a readable run; the report compares them with its records'."""
    run = _load(path)
    if run is None:
        return None
    commit = str((run.get("commit_info") or {}).get("id") or "")
    machine = run.get("machine_info") or {}
    cpu = (machine.get("cpu") or {}).get("brand_raw") or machine.get("processor") or ""
    return commit, str(cpu)


def benchmark_markdown(path: Path, *, root: Path | None = None, level: int = 3) -> list[str]:
    """Markdown lines for one saved pytest-benchmark JSON file (see the module docstring).

    Args:
        path: the saved run.
        root: shown paths are made relative to it when given.
        level: heading level of the per-group headings.
    """
    run = _load(path)
    if run is None:
        return [f"`{path}` is not a readable pytest-benchmark run.", ""]
    shown = path.relative_to(root) if root is not None and path.is_relative_to(root) else path
    lines = [_provenance(run, shown.as_posix()), ""]
    groups: dict[str, list[dict[str, Any]]] = {}
    for bench in run["benchmarks"]:
        groups.setdefault(str(bench.get("group") or "(no group)"), []).append(bench)
    for group, benches in groups.items():
        lines += [f"{'#' * level} {group}", "", *_group_table(benches), ""]
    return lines


def _load(path: Path) -> dict[str, Any] | None:
    try:
        run = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(run, dict) or not isinstance(run.get("benchmarks"), list):
        return None
    return run


def _provenance(run: dict[str, Any], shown: str) -> str:
    commit = run.get("commit_info") or {}
    machine = run.get("machine_info") or {}
    revision = str(commit.get("id") or "unknown")[:10]
    if commit.get("dirty"):
        revision += " with uncommitted changes"
    cpu = (machine.get("cpu") or {}).get("brand_raw") or machine.get("processor") or "unknown CPU"
    python = f"{machine.get('python_implementation', 'Python')} {machine.get('python_version', '')}"
    return (
        f"Latest saved pytest-benchmark run: `{shown}`, {run.get('datetime', 'undated')}, commit "
        f"{revision}, {cpu}, {python.strip()}. *median* is the median wall time of one round "
        f"(one full call of the benchmarked code); the columns after *rounds* are the "
        f"benchmark's `extra_info` (\u2014 = none, e.g. no time to target on a miss)."
    )


def _group_table(benches: list[dict[str, Any]]) -> list[str]:
    # Columns: every extra_info key with a scalar value somewhere in the group, in first-seen
    # order, so each group shows exactly the fields its benchmarks record.
    columns: list[str] = []
    for bench in benches:
        for key, value in (bench.get("extra_info") or {}).items():
            if key not in columns and _is_scalar(value) and value is not None:
                columns.append(key)
    header = ["benchmark", "median", "rounds", *columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for bench in benches:
        stats = bench.get("stats") or {}
        extra = bench.get("extra_info") or {}
        cells = [
            _escape(str(bench.get("name", "?"))),
            _seconds(stats.get("median")),
            _value(stats.get("rounds")),
            *(_value(extra.get(key)) for key in columns),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _value(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2014"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return _escape(value)
    return "\u2014"


def _seconds(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "\u2014"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("\u00b5s", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
