"""Plugins: solvers and tasks of other installed packages, through entry points (issue 29, 4).

Fake distributions are written into a temporary folder put on ``sys.path`` (a ``*.dist-info``
folder with ``METADATA`` and ``entry_points.txt``, next to the plugin's module): importlib finds
them exactly as it finds an installed package, so the loader, ``--list`` and the command line
see real entry points. The example plugin (``examples/evo_vs_grad_plugin``) is checked by the
conformance command from its source folder, installed or not; the test that needs it installed
skips without it, except in CI, where ``.ci/run`` installs it and sets
``EVO_VS_GRAD_REQUIRE_PLUGIN=1`` so that the skip becomes a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

import tasks.plugins as plugins
from benchmarks import conformance, run_all
from benchmarks.suites import Suite, TaskEntry
from solvers import SOLVER_ORIGINS, SOLVERS, solver_problem
from tasks import TASK_ORIGINS, TASKS, get_task
from tasks.errors import InvalidParameterError
from tasks.plugins import (
    BUILTIN,
    SOLVER_GROUP,
    TASK_GROUP,
    PluginError,
    check_plugins,
    load_plugins,
    task_factory_problem,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "evo_vs_grad_plugin"
REQUIRE_PLUGIN = os.environ.get("EVO_VS_GRAD_REQUIRE_PLUGIN") == "1"

#: A small, correct solver plugin: random search around the best point, seeded by the harness.
GOOD_SOLVER = '''
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers import Cost, Solver
from solvers.space import LogUniform
from tasks.errors import InvalidParameterError


@dataclass(frozen=True, kw_only=True)
class {cls}(Solver):
    name: ClassVar[str] = "{name}"
    paradigm: ClassVar[str] = "evolution"
    iteration: ClassVar[str] = "one Gaussian step around the best point"
    evaluations: ClassVar[str] = "`n_train` to score `x0`, then `n_train` per iteration."
    search_space: ClassVar = {{"step": LogUniform(1e-3, 1.0)}}
    stochastic: ClassVar[bool] = True
    step: float = 0.1

    def validate(self):
        if {validate}:
            raise InvalidParameterError(
                f"The 'step' parameter of {cls} must be a float in (0, 10]. Got {{self.step!r}}."
            )

    def initial_cost(self, task):
        return Cost(task.n_train)

    def iteration_cost(self, task):
        return Cost(task.n_train)

    def run(self, task, x0, monitor, rng):
        {rng_line}
        best = np.array(x0)
        loss = float(task.losses(best[None, :])[0])
        if monitor.report(best, evaluations=task.n_train):
            return
        while True:
            trial = best + self.step * rng.standard_normal(best.size)
            trial_loss = float(task.losses(trial[None, :])[0])
            if trial_loss <= loss:
                best, loss = trial, trial_loss
            if monitor.report(best, evaluations=task.n_train):
                return
'''

VALIDATES = ("isinstance(self.step, bool) or not isinstance(self.step, (int, float)) "
             "or not 0 < self.step <= 10")
#: The deliberately broken solver: it validates nothing and draws from an unseeded generator.
BROKEN = {"validate": "False", "rng_line": "rng = np.random.default_rng()"}
GOOD = {"validate": VALIDATES, "rng_line": "pass"}


def _fake_distribution(root: Path, dist: str, version: str, entries: dict[str, dict[str, str]],
                       modules: dict[str, str]) -> None:
    """Write an installed-looking distribution: ``<dist>-<version>.dist-info`` and modules."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    groups = "".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in items.items())
        for group, items in entries.items()
    )
    (info / "entry_points.txt").write_text(groups)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def problems(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A fresh problem list, so a test's fake plugins never reach another test's commands."""
    fresh: list[str] = []
    monkeypatch.setattr(plugins, "PLUGIN_PROBLEMS", fresh)
    return fresh


def _load_solvers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: dict[str, str],
                  modules: dict[str, str], dist: str = "fake-plugin") -> tuple[dict[str, Any],
                                                                               dict[str, str]]:
    root = tmp_path / _unique("site")
    _fake_distribution(root, dist, "1.2", {SOLVER_GROUP: entries}, modules)
    monkeypatch.syspath_prepend(str(root))
    registry: dict[str, Any] = {"adam": SOLVERS["adam"]}
    origins = {"adam": BUILTIN}
    load_plugins(SOLVER_GROUP, "solver", registry, origins, solver_problem)
    return registry, origins


# --- Loading entry points ---------------------------------------------------------------------


def test_a_solver_plugin_is_registered_with_its_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problems: list[str]
) -> None:
    module = _unique("goodplug")
    registry, origins = _load_solvers(
        tmp_path, monkeypatch, {"walker": f"{module}:Walker"},
        {module: GOOD_SOLVER.format(cls="Walker", name="walker", **GOOD)})
    assert registry["walker"].__name__ == "Walker"
    assert origins["walker"] == "fake-plugin 1.2" and origins["adam"] == BUILTIN
    assert problems == []
    check_plugins()


def test_a_plugin_that_fails_to_import_is_named_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problems: list[str]
) -> None:
    module = _unique("brokenplug")
    registry, origins = _load_solvers(
        tmp_path, monkeypatch, {"broken": f"{module}:Broken"},
        {module: "import no_such_module_anywhere\n"}, dist="broken-plugin")
    assert "broken" not in registry and "broken" not in origins
    (message,) = problems
    assert message.startswith("Plugin package 'broken-plugin 1.2' (entry point 'broken = ")
    assert "failed to import: ModuleNotFoundError: No module named 'no_such_module_anywhere'" \
        in message
    with pytest.raises(PluginError, match=r"broken-plugin 1\.2") as caught:
        check_plugins()
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "source", "expected"),
    [
        ("{m}:Thing", "class Thing:\n    pass\n",
         r"must name a Solver subclass \(solvers.base.Solver\). Got class \w+\.Thing instead\."),
        ("{m}:thing", "thing = 42\n", r"must name a Solver subclass .* Got int 42 instead\."),
        ("{m}:Walker", GOOD_SOLVER.format(cls="Walker", name="other-name", **GOOD),
         r"whose name must be the entry point's name 'walker'\. Got 'other-name' instead\."),
    ],
    ids=["class", "int", "name"],
)
def test_an_entry_point_that_is_not_a_solver_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problems: list[str], value: str,
    source: str, expected: str,
) -> None:
    module = _unique("notasolver")
    registry, _ = _load_solvers(tmp_path, monkeypatch, {"walker": value.format(m=module)},
                                {module: source})
    assert "walker" not in registry
    (message,) = problems
    assert message.startswith("Plugin package 'fake-plugin 1.2'")
    assert re.search(expected, message), message


def test_a_name_clash_with_a_builtin_names_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, problems: list[str]
) -> None:
    module = _unique("clash")
    registry, origins = _load_solvers(
        tmp_path, monkeypatch, {"adam": f"{module}:Adam2"},
        {module: GOOD_SOLVER.format(cls="Adam2", name="adam", **GOOD)})
    assert registry["adam"] is SOLVERS["adam"] and origins["adam"] == BUILTIN
    (message,) = problems
    assert "registers solver 'adam', which clashes with the built-in solver 'adam'" in message
    assert "'fake-plugin 1.2'" in message


def test_task_entry_points_must_name_a_factory_with_keyword_knobs() -> None:
    def factory(*, a: int = 1) -> None:
        del a

    def needs(a: int) -> None:
        del a

    assert task_factory_problem("t", factory) is None
    assert "must name a task factory" in str(task_factory_problem("t", type("T", (), {})))
    assert "must name a task factory" in str(task_factory_problem("t", 3))
    assert "keyword knobs with defaults" in str(task_factory_problem("t", needs))


def test_a_plugin_factory_that_returns_no_task_is_refused_when_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def make_nothing() -> object:
        return "not a task"

    monkeypatch.setitem(TASKS, "nothing", make_nothing)
    monkeypatch.setitem(TASK_ORIGINS, "nothing", "fake-plugin 1.2")
    with pytest.raises(InvalidParameterError,
                       match=r"task 'nothing' \(fake-plugin 1.2\) must return a Task\. Got str"):
        get_task("nothing")


def test_suites_run_plugins_only_when_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installing a package never changes what a suite of "every solver" measures."""
    monkeypatch.setitem(SOLVERS, "walker", SOLVERS["adam"])
    monkeypatch.setitem(SOLVER_ORIGINS, "walker", "fake-plugin 1.2")
    every = Suite(name="t", description="", seeds=(0,),
                  tasks=(TaskEntry(name="xor", budget=run_all.AD_HOC_BUDGET),))
    solvers = {c.solver for c in every.cells(tuple(SOLVERS))}
    assert "walker" not in solvers and "adam" in solvers
    named = Suite(name="t", description="", seeds=(0,), solvers=("walker",),
                  tasks=(TaskEntry(name="xor", budget=run_all.AD_HOC_BUDGET),))
    assert {c.solver for c in named.cells(tuple(SOLVERS))} == {"walker"}


# --- run_all.py -------------------------------------------------------------------------------


def test_run_all_exits_2_on_a_broken_plugin_before_anything(
    tmp_path: Path, problems: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    problems.append("Plugin package 'broken-plugin 1.2' (entry point 'b = m:B' in group "
                    "evo_vs_grad.solvers) failed to import: ImportError: nope. Fix the package "
                    "or uninstall it.")
    for argv in (["--list"], ["--suite", "smoke", "--out", str(tmp_path / "out")]):
        with pytest.raises(SystemExit) as exited:
            run_all.main(argv)
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "broken-plugin 1.2" in err and "ImportError: nope" in err
    assert not (tmp_path / "out").exists()


def _run_all(args: list[str], pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), str(ROOT)])}
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_list_names_each_plugins_origin(tmp_path: Path) -> None:
    """End to end, in a fresh interpreter: the registries load the entry points on import."""
    module = _unique("listplug")
    _fake_distribution(
        tmp_path, "listed-plugin", "3.4",
        {SOLVER_GROUP: {"walker": f"{module}:Walker"},
         TASK_GROUP: {"xor2": f"{module}:make_xor2"}},
        {module: GOOD_SOLVER.format(cls="Walker", name="walker", **GOOD) + textwrap.dedent('''

            from tasks.logic import make_xor
            import dataclasses


            def make_xor2(*, scale: float = 1.0):
                """XOR again, from a plugin."""
                task = make_xor()
                return dataclasses.replace(task, name="xor2", options={"scale": scale})
            ''')})
    done = _run_all(["--list"], tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  walker [listed-plugin 3.4]: step=0.1" in lines
    assert any(line.startswith("  xor2 [listed-plugin 3.4]: scale  # XOR again") for line in lines)
    assert any(line.startswith("  sgd [built-in]: ") for line in lines)
    assert any(line.startswith("  xor [built-in]: ") for line in lines)


def test_run_all_refuses_a_plugin_that_fails_to_import(tmp_path: Path) -> None:
    module = _unique("deadplug")
    _fake_distribution(tmp_path, "dead-plugin", "0.1", {TASK_GROUP: {"dead": f"{module}:make"}},
                       {module: "raise RuntimeError('the plugin is broken on purpose')\n"})
    out = tmp_path / "out"
    done = _run_all(["--suite", "smoke", "--out", str(out)], tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert ("run_all.py: error: Plugin package 'dead-plugin 0.1' (entry point 'dead = "
            in done.stderr)
    assert "RuntimeError: the plugin is broken on purpose" in done.stderr
    assert not out.exists()


# --- python -m benchmarks.conformance ---------------------------------------------------------


def _module_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    module = _unique("conf")
    root = tmp_path / _unique("src")
    root.mkdir()
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(root))
    return module


def test_conformance_fails_a_broken_plugin_naming_what_it_broke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _module_on_path(tmp_path, monkeypatch,
                             GOOD_SOLVER.format(cls="Sloppy", name="sloppy", **BROKEN))
    assert conformance.main([f"{module}:Sloppy"]) == 1
    out = capsys.readouterr().out
    assert ("  FAIL  every hyperparameter is validated with a message naming it: Sloppy.step "
            "accepted every bad value") in out
    assert ("  FAIL  same seed same trace, other seed other trace on xor(hidden=4): two runs "
            "with seed 3 on xor gave different traces") in out
    assert "  PASS  states its cost as data" in out
    assert out.splitlines()[-1].startswith("FAILED: ")


def test_conformance_passes_the_same_solver_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _module_on_path(tmp_path, monkeypatch,
                             GOOD_SOLVER.format(cls="Tidy", name="tidy", **GOOD))
    assert conformance.main([f"{module}:Tidy"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.splitlines()[-1].startswith("passed: 16 passed, 0 failed")


def test_conformance_fails_a_task_factory_that_breaks_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _module_on_path(tmp_path, monkeypatch, '''
        import dataclasses
        from tasks.sine import make_sine

        def make_wave(*, frequency=1.0, amplitude=1.0):
            """A sine whose amplitude knob is not recorded."""
            task = make_sine(frequency=frequency)
            return dataclasses.replace(task, name="wave", y_train=amplitude * task.y_train)
        ''')
    assert conformance.main([f"{module}:make_wave"]) == 1
    out = capsys.readouterr().out
    assert "  FAIL  every knob is recorded in options: knobs ['amplitude'] are not in " \
        "task.options" in out
    assert "  SKIP  a known-good vector meets the target: no known-good builder" in out


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("no_such_package_xyz.solver:Thing",
         "Module 'no_such_package_xyz.solver' (package 'no_such_package_xyz') failed to import: "
         "ModuleNotFoundError: No module named 'no_such_package_xyz'."),
        ("tasks.sine", "The target must look like PACKAGE.MODULE:CLASS or "
                       "PACKAGE.MODULE:FUNCTION. Got 'tasks.sine' instead."),
        ("tasks.sine:nothing", "Module 'tasks.sine' has no 'nothing'."),
        ("tasks.base:Target", "tasks.base:Target must name a Solver subclass "
                              "(solvers.base.Solver) or a task factory"),
        ("tasks.sine:__doc__", "must name a Solver subclass"),
        ("solvers.base:Solver", "is an abstract Solver subclass: it does not implement "
                                "iteration_cost, run."),
    ],
    ids=["import", "format", "missing", "class", "value", "abstract"],
)
def test_conformance_bad_input_exits_2_with_one_line(
    target: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        conformance.main([target])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("python -m benchmarks.conformance: error: ")
    assert expected in captured.err


def test_conformance_passes_the_example_plugin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """From its source folder, so a clone without the example installed checks it too."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    assert conformance.main(["evo_vs_grad_plugin.solver:PlusESSolver"]) == 0
    assert conformance.main(["evo_vs_grad_plugin.task:make_teacher"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "SKIP  a known-good" not in out


def test_the_installed_example_plugin_is_registered_and_runs() -> None:
    """Needs ``pip install -e examples/evo_vs_grad_plugin`` (CI does it, see .ci/run)."""
    if "plus-es" not in SOLVERS:
        message = ("the example plugin is not installed (pip install -e "
                   "examples/evo_vs_grad_plugin)")
        if REQUIRE_PLUGIN:
            pytest.fail(message + ", and EVO_VS_GRAD_REQUIRE_PLUGIN=1 requires it")
        pytest.skip(message)
    assert SOLVER_ORIGINS["plus-es"] == TASK_ORIGINS["teacher"] == "evo-vs-grad-plugin 0.1.0"
    assert "plus-es [evo-vs-grad-plugin 0.1.0]" in run_all.list_everything()
    from benchmarks.budget import Budget
    from benchmarks.harness import run_one
    from solvers import get_solver

    record = run_one(get_task("teacher"), get_solver("plus-es"),
                     Budget(max_evaluations=200_000), seed=0, strict=True)
    assert record.stop_reason == "target_reached"
