"""The import graph stays one-way (README, "Layout"), checked on the source without importing it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


#: (package folder, module prefixes it must never import).
RULES = (
    ("tasks", ("solvers", "benchmarks")),
    ("solvers", ("benchmarks",)),
    ("benchmarks/engine", ("benchmarks.report", "benchmarks.studies")),
    ("benchmarks/studies", ("benchmarks.report",)),
)


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_imports_go_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    for path in _modules(folder):
        bad = sorted(n for n in _imports(path) if n.startswith(forbidden))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


#: Modules a user runs or calls, not the contract: the CLI, the notebook API and the compare
#: command run suites and build reports, so they import the engine and the report.
ENTRY_POINTS = frozenset({"run_all.py", "api.py", "compare.py"})


def test_the_contract_imports_neither_engine_nor_report() -> None:
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        if path.name in ENTRY_POINTS or path.name.startswith("bench_"):
            continue  # the entry points and the pytest-benchmark files sit on top of everything
        bad = sorted(
            n
            for n in _imports(path)
            if n.startswith(("benchmarks.engine", "benchmarks.report", "benchmarks.studies"))
        )
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


#: The report modules that read a study: the section registry, and the verdict's Robustness
#: subsection, which needs the robustness studies' suites and estimator next to the verdict.
STUDY_READERS = {"sections.py", "robustness.py"}


def test_only_the_study_readers_import_a_study() -> None:
    readers = set()
    for path in _modules("benchmarks/report"):
        if any(n.startswith("benchmarks.studies") for n in _imports(path)):
            assert path.name in STUDY_READERS, f"{path.relative_to(ROOT)} imports a study"
            readers.add(path.name)
    assert readers == STUDY_READERS  # a reader that stopped reading leaves the list


def test_no_study_imports_the_report() -> None:
    for path in _modules("benchmarks/studies"):
        bad = sorted(n for n in _imports(path) if n.startswith("benchmarks.report"))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}: the graph must stay one-way"
