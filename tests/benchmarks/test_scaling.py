"""The Scaling section (issue 24): exponent fits, the workers model, the size sweep's suite, and a
solver refusing a network too large for it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.budget import Budget, StopReason
from benchmarks.harness import run_one
from benchmarks.records import RunRecord, TracePoint
from benchmarks.report.analysis import group_records, solver_order
from benchmarks.report.document import _Figures
from benchmarks.report.figures import palette
from benchmarks.report.scaling import (
    WORKERS,
    RoundModel,
    evaluation_seconds,
    fit_exponent,
    memory_table,
    round_model,
    scaling_section,
    solver_sweep,
    sweeps,
)
from benchmarks.suites import HORIZON, SCALING, SCALING_SIZE, TaskEntry, _b
from solvers import SOLVERS, get_solver
from tasks import get_task
from tasks.errors import InvalidParameterError

# -- synthetic records ------------------------------------------------------------------------


def _record(
    task_name: str, options: dict[str, Any], solver: str, seed: int, *,
    evaluations_to_target: int | None, budget: int = 10**7, per_iteration: int | None = None,
    seconds_per_evaluation: float = 1e-6, initial: int = 0, backward: bool = False,
) -> RunRecord:
    """A record whose cost to target is given: iterations of ``per_iteration`` evaluations (one
    training pass by default), a run that misses spends the whole ``budget``."""
    task = get_task(task_name, **options)
    n = task.n_train
    step = per_iteration or n
    spent = evaluations_to_target if evaluations_to_target is not None else budget
    iterations = max((spent - initial) // step, 1)
    seconds = spent * seconds_per_evaluation
    trace = [
        TracePoint(iteration=0, evaluations=initial, backward=0, solver_seconds=0.0, loss=1.0,
                   mse=1.0),
        TracePoint(iteration=iterations, evaluations=spent, backward=spent if backward else 0,
                   solver_seconds=seconds, loss=0.001 if evaluations_to_target else 0.5,
                   mse=0.001 if evaluations_to_target else 0.5),
    ]
    hit = evaluations_to_target is not None
    return RunRecord(
        key=f"{task_name}-{sorted(options.items())}-{solver}-{seed}", suite="synthetic",
        task=task_name, family=task.family, task_options=dict(task.options),
        model=task.model.describe(), num_params=task.num_params, n_train=n,
        target=task.target.describe(), solver=solver, config=SOLVERS[solver]().config(),
        iteration_unit=SOLVERS[solver].iteration, seed=seed,
        budget={"max_iterations": None, "max_evaluations": budget, "max_seconds": 100.0},
        stop_reason=StopReason.TARGET_REACHED if hit else StopReason.MAX_EVALUATIONS,
        iterations=iterations, evaluations=spent, backward=spent if backward else 0,
        solver_seconds=seconds, eval_seconds=0.0, wall_seconds=seconds,
        iterations_to_target=iterations if hit else None,
        evaluations_to_target=spent if hit else None,
        seconds_to_target=seconds if hit else None,
        final_train={"loss": trace[-1].loss, "mse": trace[-1].mse},
        final_test={"loss": trace[-1].loss, "mse": trace[-1].mse},
        trace=trace,
    )


#: Sine widths: 13 to 385 parameters (one input, one output: 3 * width + 1).
WIDTHS = (4, 16, 64, 128)
TRUE_B = 0.7


def _size_sweep_records(seeds: int = 10) -> list[RunRecord]:
    """``adam`` whose evaluations to target grow as size^0.7 (log-normal noise, every run a
    success), and ``snes`` that succeeds on the two smallest widths only."""
    rng = np.random.default_rng(3)
    out = []
    for width in WIDTHS:
        params = 3 * width + 1
        for seed in range(seeds):
            cost = int(2_000 * params**TRUE_B * math.exp(rng.normal(0.0, 0.2)))
            out.append(_record("sine", {"frequency": 3.0, "hidden": width}, "adam", seed,
                               evaluations_to_target=cost, backward=True))
            ok = width <= 16 or (width == 64 and seed < 3)  # 3/10 at 64: below half
            out.append(_record("sine", {"frequency": 3.0, "hidden": width}, "snes", seed,
                               evaluations_to_target=200_000 * width if ok else None,
                               per_iteration=64 * 10))
    return out


def _sweep_of(records: list[RunRecord]) -> tuple[Any, list[str]]:
    groups = group_records(records)
    found = sweeps(groups)
    assert len(found) == 1
    return found[0], solver_order(groups)


# -- exponent fits ----------------------------------------------------------------------------


def test_fit_recovers_a_known_exponent_from_records() -> None:
    """Evaluations to target drawn as size^0.7: the fit over the sweep's sizes recovers b, and
    the bootstrap interval holds the true value."""
    sweep, _ = _sweep_of(_size_sweep_records())
    assert sweep.size and sweep.x_title == "parameters"
    assert sweep.xs == tuple(float(3 * w + 1) for w in WIDTHS)
    fit = solver_sweep(sweep, "adam", n_boot=500).fits["evaluations"]
    assert fit.xs == sweep.xs
    assert fit.low <= TRUE_B <= fit.high
    assert abs(fit.b - TRUE_B) < 0.1
    assert fit.high - fit.low < 0.3


def test_fit_uses_only_values_where_half_the_runs_succeed() -> None:
    """SNES succeeds on all seeds at widths 4 and 16, 3/10 at 64, none at 128: the fit uses the
    first two; its data stop at 49 parameters with the miss said."""
    sweep, _ = _sweep_of(_size_sweep_records())
    snes = solver_sweep(sweep, "snes", n_boot=200)
    fit = snes.fits["evaluations"]
    assert fit.xs == (13.0, 49.0)
    # Two points: the exact slope of ERT = 200k * width against 3 * width + 1 parameters.
    assert fit.b == pytest.approx(math.log(16 / 4) / math.log(49 / 13))
    assert snes.data_max == 49.0
    assert snes.stop.startswith("3/10 runs reached the target at 193")


def test_fit_needs_two_values_and_resamples_within_each_value() -> None:
    one = fit_exponent([(10.0, np.array([5.0, 6.0]), np.array([True, True]))])
    assert not one.fitted and math.isnan(one.low)
    # Exact power law, no noise: every resample gives the same slope.
    points = [(x, np.full(6, 3.0 * x**1.5), np.ones(6, dtype=bool)) for x in (10.0, 100.0, 1e3)]
    exact = fit_exponent(points, n_boot=200)
    assert exact.b == pytest.approx(1.5)
    assert exact.low == pytest.approx(1.5) and exact.high == pytest.approx(1.5)
    # A failure costs what it spent (ERT), so a value with half failures costs more.
    mixed = [(10.0, np.array([10.0, 10.0]), np.array([True, True])),
             (100.0, np.array([100.0, 300.0]), np.array([True, False]))]
    assert fit_exponent(mixed, n_boot=100).b == pytest.approx(math.log10(400 / 10))


# -- the workers model ------------------------------------------------------------------------


def test_round_model_of_a_population_run_hand_computed() -> None:
    """10 generations of 20 members on 100 rows (20,000 evaluations) in 2.0 s, at 50 us per
    evaluation: 1.0 s of members, 0.1 s of update per generation, 5 ms per member."""
    base = _record("sine", {}, "snes", 0, evaluations_to_target=20_000, per_iteration=2_000)
    record = dataclasses.replace(base, n_train=100, seconds_to_target=2.0)
    model = round_model(record, "evolution", 50e-6)
    assert model is not None
    assert (model.rounds, model.units) == (10, 20)
    assert model.unit_seconds == pytest.approx(5e-3)
    assert model.serial_seconds == pytest.approx(0.1)
    assert model.seconds(1) == pytest.approx(2.0)  # the measured time
    assert model.seconds(8) == pytest.approx(10 * (3 * 5e-3 + 0.1))  # ceil(20/8) = 3
    assert model.seconds(64) == pytest.approx(10 * (5e-3 + 0.1))


def test_round_model_counts_the_initial_population_as_a_round() -> None:
    base = _record("sine", {}, "ga", 0, evaluations_to_target=22_000, per_iteration=2_000,
                   initial=2_000)
    record = dataclasses.replace(base, n_train=100, seconds_to_target=1.0)
    model = round_model(record, "evolution", 1e-6)
    assert model is not None and model.rounds == 11 and model.units == 20


def test_round_model_of_a_gradient_run_hand_computed() -> None:
    """50 full-batch steps on 100 rows (5,000 forward + 5,000 backward) in 1.0 s at 40 us per
    evaluation: (5,000 + 2 x 5,000) x 40 us = 0.6 s of examples spread over the workers, 8 ms
    of serial update per step."""
    base = _record("sine", {}, "adam", 0, evaluations_to_target=5_000, per_iteration=100,
                   backward=True)
    record = dataclasses.replace(base, n_train=100, seconds_to_target=1.0)
    model = round_model(record, "gradients", 40e-6)
    assert model is not None
    assert (model.rounds, model.units) == (50, 100)
    assert model.unit_seconds == pytest.approx(0.6 / 5_000)
    assert model.serial_seconds == pytest.approx(0.008)
    assert model.seconds(1) == pytest.approx(1.0)
    assert model.seconds(8) == pytest.approx(50 * (13 * 0.6 / 5_000 + 0.008))
    assert model.seconds(1024) == pytest.approx(50 * (0.6 / 5_000 + 0.008))


def test_round_model_never_exceeds_the_measured_time_and_skips_misses() -> None:
    base = _record("sine", {}, "adam", 0, evaluations_to_target=5_000, backward=True)
    # Evaluations priced above the whole run: all of it is parallel, none serial.
    model = round_model(dataclasses.replace(base, seconds_to_target=0.01), "gradients", 1.0)
    assert model is not None and model.serial_seconds == 0.0
    assert model.seconds(1) == pytest.approx(0.01)
    miss = _record("sine", {}, "adam", 0, evaluations_to_target=None)
    assert round_model(miss, "gradients", 1e-6) is None
    assert RoundModel(rounds=2, units=3, unit_seconds=1.0, serial_seconds=0.5).seconds(2) == 5.0


def test_evaluation_seconds_is_the_fastest_population_solvers_median() -> None:
    records = [
        _record("sine", {}, "snes", s, evaluations_to_target=1_000, seconds_per_evaluation=r)
        for s, r in enumerate((2e-6, 3e-6, 4e-6))
    ] + [
        _record("sine", {}, "ga", s, evaluations_to_target=1_000, seconds_per_evaluation=r)
        for s, r in enumerate((1e-6, 5e-6, 6e-6))
    ] + [_record("sine", {}, "adam", 0, evaluations_to_target=1_000,
                 seconds_per_evaluation=1e-9)]  # a gradient solver's rate is not used
    (group,) = group_records(records)
    assert evaluation_seconds(group) == pytest.approx(3e-6)


# -- the section ------------------------------------------------------------------------------


def test_section_has_figures_exponents_and_the_workers_view(tmp_path: Path) -> None:
    records = _size_sweep_records(seeds=4)
    groups = group_records(records)
    labels = solver_order(groups)
    figs = _Figures(folder=tmp_path / "figures", base=tmp_path, colours=palette(labels))
    text = "\n".join(scaling_section(groups, labels, figs, n_boot=100))
    assert figs.failed == []
    assert {p.name for p in figs.made} == {"scaling-sine-hidden-frequency-3-0.png",
                                           "scaling-sine-hidden-frequency-3-0-workers.png"}
    assert "ERT grows as parameters^b" in text
    assert "| adam | gradients | 0." in text
    assert "What this means for a bigger network" in text
    assert "The workers model, exactly." in text
    assert all(f"W = {w:,}" in text for w in WORKERS)


def test_section_says_when_nothing_varies() -> None:
    records = [_record("sine", {}, "adam", 0, evaluations_to_target=1_000)]
    groups = group_records(records)
    lines = scaling_section(groups, solver_order(groups), _Figures(folder=Path("."),
                                                                   base=Path(".")))
    assert "no scaling plot" in "\n".join(lines)


# -- the size sweep and what refuses it -------------------------------------------------------


def test_scaling_suite_sweeps_digits_from_10_2_to_10_5_parameters() -> None:
    digits = [e for e in SCALING.tasks if e.name == "digits"]
    sizes = [get_task("digits", **e.options).num_params for e in digits]
    assert min(sizes) < 300 and max(sizes) > 100_000
    assert {round(math.log10(s)) for s in sizes} == {2, 3, 4, 5}
    assert [e.options["hidden"] for e in digits] == list(SCALING_SIZE)
    largest = max(digits, key=lambda e: e.options["hidden"])
    cells = [c for c in SCALING.cells(tuple(SOLVERS)) if c.task == "digits"
             and c.task_options.get("hidden") == largest.options["hidden"]]
    assert largest.max_seeds == 5
    assert {c.seed for c in cells} == set(range(5))
    assert {c.solver for c in cells} == set(SCALING.solvers or ())


def test_task_entry_max_seeds_is_checked() -> None:
    with pytest.raises(InvalidParameterError, match="'max_seeds' parameter of TaskEntry"):
        TaskEntry(name="xor", budget=_b(1_000), max_seeds=0)


def test_full_cmaes_refuses_a_network_over_3000_parameters_and_names_sep_cmaes() -> None:
    """At 9,610 parameters the run is recorded as not applicable, with the reason and the fix,
    before anything runs; sep-cmaes takes the same network."""
    task = get_task("digits", hidden=128)
    record = run_one(task, get_solver("cmaes"), Budget(max_evaluations=10_000), seed=0)
    assert record.stop_reason == StopReason.UNSUPPORTED
    assert "not applicable beyond 3,000 parameters" in record.error
    assert "sep-cmaes" in record.error
    assert get_solver("sep-cmaes").unsupported_reason(task) is None
    assert get_solver("cmaes").unsupported_reason(get_task("digits", hidden=32)) is None


def test_every_horizon_solver_trains_every_horizon_task() -> None:
    """Issue 28: the long-horizon suite lists only solvers that can train a torch module, so
    none of its cells is recorded as not applicable (a run would be a wasted row)."""
    for entry in HORIZON.tasks:
        task = get_task(entry.name, **entry.options)
        for name in entry.solvers or HORIZON.solvers or ():
            reason = SOLVERS[name]().unsupported_reason(task)
            assert reason is None, f"{name} on {entry.name} {entry.options}: {reason}"
    knobs = {(e.name, k) for e in HORIZON.tasks for k in e.options if k != "num_train"}
    assert knobs == {("logistic_map", "horizon"), ("adding", "length")}
    # ELM, the closed form, runs wherever a module declares a linear read-out over labels.
    assert {e.name for e in HORIZON.tasks if "elm" in (e.solvers or HORIZON.solvers or ())} == {
        "digits_cnn", "adding"}


def test_the_size_sweep_states_each_solvers_peak_memory_per_size() -> None:
    """Issue 24: the peak memory in the records reaches the report, per solver and size, as
    the median (largest) in MiB; a solver without the field shows none."""
    records = []
    for r in _size_sweep_records(seeds=3):
        mib = (100 if r.solver == "adam" else 400) + 3 * r.seed + r.num_params // 10
        records.append(dataclasses.replace(r, peak_memory_bytes=mib * 2**20))
    sweep, labels = _sweep_of(records)
    text = "\n".join(memory_table(sweep, labels))
    adam = next(line for line in text.splitlines() if line.startswith("| adam |"))
    # Width 4 (13 parameters): 100 + {0, 3, 6} + 1 MiB -> median 104, largest 107.
    assert adam.split(" | ")[1] == "104 (107)"
    assert "| snes | 404 (407)" in text
    bare = [dataclasses.replace(r, peak_memory_bytes=None) for r in records]
    assert memory_table(*_sweep_of(bare)) == []


def test_a_cnn_channels_sweep_is_a_size_sweep_despite_its_network_record() -> None:
    """Issue 28: digits_cnn records carry the module's parameter shapes as a derived option;
    it neither splits the channels sweep nor names the groups, and the sweep is drawn against
    the parameter count."""
    records = [_record("digits_cnn", {"channels": c}, "adam", s, evaluations_to_target=10_000)
               for c in (2, 4) for s in range(2)]
    assert all("network" in r.task_options for r in records)
    groups = group_records(records)
    assert [g.name for g in groups] == ["digits_cnn (channels=2)", "digits_cnn (channels=4)"]
    (sweep,) = sweeps(groups)
    assert sweep.size and sweep.xs == (388.0, 838.0)
    assert all(not isinstance(g.task_obj, str) and g.task_obj is not None for g in groups)


def test_the_horizon_suites_tuned_arm_reads_its_own_tuning_study(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default tuning study never tuned the horizon tasks: the horizon suite's tuned arm
    reads ``<out>/horizon-tuning/tuned.json``, which the ``horizon-tuning`` suite writes with
    the default protocol on exactly the horizon grid, and says how to make it when absent."""
    from benchmarks.run_all import main
    from benchmarks.suites import HORIZON_TUNING, TUNING, get_suite

    assert get_suite("horizon-tuning") is HORIZON_TUNING
    assert HORIZON_TUNING.tasks == HORIZON.tasks and HORIZON_TUNING.solvers == HORIZON.solvers
    assert (HORIZON_TUNING.trials, HORIZON_TUNING.seeds, HORIZON_TUNING.arms,
            HORIZON_TUNING.sobol_seed) == (TUNING.trials, TUNING.seeds, TUNING.arms,
                                           TUNING.sobol_seed)
    assert HORIZON.tuned_by == "horizon-tuning" and "tuned" in HORIZON.arms
    with pytest.raises(SystemExit) as exc:
        main(["--suite", "horizon", "--out", str(tmp_path), "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "horizon-tuning" / "tuned.json") in err
    assert f"--suite horizon-tuning --out {tmp_path / 'horizon-tuning'}" in err
    # The file it names is the one read: a malformed one is refused by its path.
    (tmp_path / "horizon-tuning").mkdir()
    (tmp_path / "horizon-tuning" / "tuned.json").write_text("[1, 2]\n")
    with pytest.raises(SystemExit) as exc:
        main(["--suite", "horizon", "--out", str(tmp_path), "--no-progress"])
    assert exc.value.code == 2
    assert "horizon-tuning" in capsys.readouterr().err


def test_naming_a_swept_task_keeps_every_entry_of_its_sweep() -> None:
    """``--tasks logistic_map`` on the horizon suite runs the four horizons, not only the last
    entry of that name (which is all it ran before: the entries were keyed by task name)."""
    from benchmarks.run_all import build_parser, configure

    args = build_parser().parse_args(["--suite", "horizon", "--tasks", "logistic_map,adding"])
    suite = configure(args)
    assert [(e.name, e.options) for e in suite.tasks] == [
        (e.name, e.options) for e in HORIZON.tasks if e.name in ("logistic_map", "adding")]
    assert len(suite.tasks) == 7
    args = build_parser().parse_args(["--suite", "horizon", "--tasks", "xor"])
    assert [e.name for e in configure(args).tasks] == ["xor"]  # not in the suite: ad hoc
