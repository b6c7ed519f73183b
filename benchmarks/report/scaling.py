"""The report's Scaling section: how each paradigm's cost grows with a knob, and what many
workers would change (issue 24).

Three parts, each computed here from the records and nothing else:

1. **Sweeps.** Every task option the records vary one at a time (:func:`varying_knobs`) is a
   sweep. A sweep over the hidden width is a sweep over network *size*: its axis is the
   number of parameters, read from the records. Per sweep and paradigm, the ERT to target (in
   evaluations and in solver seconds) against the knob on log-log axes, with the success counts
   beside it (:func:`~benchmarks.report.figures.scaling.sweep_figure`).
2. **Exponents.** Per sweep and solver, ``b`` in "ERT grows as knob^b": ordinary least squares
   of ``log10 ERT`` on ``log10 knob`` over the knob values where the solver reached the target
   on at least half of its runs (:data:`MIN_SUCCESS`), each value weighing the same; with a 95%
   percentile interval from :data:`N_BOOT` bootstrap resamples that redraw the runs (seeds)
   within each knob value (:func:`fit_exponent`). ERT, not the median of the successes, so that
   the line goes through the points the figures show, and a solver that succeeds only half the
   time pays for it. The fit says nothing beyond the values it used; the table says where each
   solver's data stop and why (refused as not applicable, or not reached within the budget).
3. **Workers.** A model of the wall time to target with ``W`` workers, from each successful run
   (:class:`RoundModel`): a run is a sequence of *rounds* that cannot overlap (a generation of a
   population method, a full-batch pass of a gradient method, a sweep or solve of a closed-form
   one); within a round, its parallel units (a population's members; a step's examples) are
   spread over the workers, and the rest of the round (the solver's own update) is serial::

       T(W) = rounds * (ceil(units / W) * unit_seconds + serial_seconds)

   Every quantity is measured from the run (see :func:`round_model`), so ``T(1)`` is the run's
   own solver seconds to target. Communication is not modelled (zero): it favours data-parallel
   gradients, which would exchange a gradient of every weight each step where evolution
   strategies exchange one number per member (Salimans et al. 2017).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from benchmarks.records import RunRecord
from benchmarks.report.analysis import (
    COST_FLOOR,
    CostAxis,
    TaskGroup,
    bootstrap_seed,
    ert_inputs,
    knob_numeric,
    slugify,
    varying_knobs,
)
from benchmarks.report.figures.common import Palette
from benchmarks.report.figures.scaling import SweepCurve, sweep_figure, workers_figure
from benchmarks.report.stats import ert, ert_bootstrap, resample_blocks
from benchmarks.results import base_solver, default_options
from benchmarks.suites import DATA_SEED, PER_SEED
from solvers import SOLVERS
from solvers.base import BASELINE, PARADIGMS, REFERENCE

#: A knob value is used in a fit when at least this share of its runs reached the target.
MIN_SUCCESS = 0.5
#: Bootstrap resamples of every fitted exponent.
N_BOOT = 2000
#: The worker counts of the parallel view.
WORKERS: tuple[int, ...] = (1, 8, 64, 1024)
#: Knobs that change the network's size: their sweeps are drawn against the parameter count.
SIZE_KNOBS = frozenset({"hidden", "channels"})
#: How a size knob is named in a sweep's title.
_SIZE_NAMES = {"hidden": "hidden width", "channels": "convolution channels"}
#: Paradigms whose iterations are generations of a population (their rounds are generations).
POPULATION_PARADIGMS = frozenset({"evolution", BASELINE})
#: The order paradigms are shown in.
PARADIGM_ORDER: tuple[str, ...] = (*PARADIGMS, BASELINE, REFERENCE, "other")
#: Longest figure file stem (as in the rest of the report).
_MAX_STEM = 120
#: The backward pass of a dense network costs about twice its forward pass (two products per
#: layer against one): how a gradient step's examples are weighed in the workers model.
BACKWARD_FORWARDS = 2.0


class MakeFigure(Protocol):
    """The report's figure maker (``document._Figures.make``)."""

    colours: Palette

    def make(self, name: str, draw: Any, alt: str) -> list[str]: ...


def paradigm_of(label: str) -> str:
    """The paradigm of a solver label (``other`` for a solver no longer registered)."""
    cls = SOLVERS.get(base_solver(label))
    return cls.paradigm if cls is not None else "other"


# --------------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sweep:
    """One knob varied with everything else fixed: its groups in knob order, with the value
    each sits at on the plot's axis (the parameter count for a size knob)."""

    task: str
    knob: str
    fixed: str
    groups: tuple[TaskGroup, ...]
    xs: tuple[float, ...]
    ticks: tuple[str, ...]

    @property
    def size(self) -> bool:
        return self.knob in SIZE_KNOBS

    @property
    def title(self) -> str:
        knob = f"network size ({_SIZE_NAMES.get(self.knob, self.knob)})" if self.size else self.knob
        return f"{self.task}: {knob}" + (f" ({self.fixed})" if self.fixed else "")

    @property
    def x_title(self) -> str:
        return "parameters" if self.size else self.knob

    @property
    def slug(self) -> str:
        parts = ["scaling", slugify(self.task), slugify(self.knob)]
        return "-".join(parts + ([slugify(self.fixed)] if self.fixed else []))[:_MAX_STEM]

    def labels(self, order: Sequence[str]) -> list[str]:
        """The labels of ``order`` with a run at some knob value (refused ones included)."""
        return [lab for lab in order if any(lab in g.runs for g in self.groups)]


def _knob_value(task: str, knob: str, group: TaskGroup) -> float | None:
    if knob in SIZE_KNOBS:
        return float(group.first.num_params)
    # A sweep's default value is left out of the recorded options (the same cell as the
    # task's default): read it from the factory's defaults.
    return knob_numeric(group.options.get(knob, default_options(task).get(knob)))


def _tick(x: float) -> str:
    return f"{int(x):,}" if x == int(x) else f"{x:g}"


def _compact(x: float) -> str:
    """A knob value short enough for a log axis's tick: ``1.2k``, ``102k``."""
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{x / 1e3:.2g}k"
    return _tick(x)


def sweeps(groups: Sequence[TaskGroup]) -> list[Sweep]:
    """The sweeps of the records whose knob values are positive numbers (log axes), knob order.

    A series whose knob is not numeric (an activation name) is left to the per-task sections.
    """
    out: list[Sweep] = []
    for task, knob, members, named in varying_knobs(groups):
        # Data drawn per seed is the suites' default, not a setting of this sweep.
        fixed = ", ".join(p for p in named.split(", ") if p and p != f"{DATA_SEED}={PER_SEED}")
        xs = [_knob_value(task, knob, m) for m in members]
        if any(x is None or x <= 0 for x in xs) or len(set(xs)) < len(xs):
            continue
        order = sorted(range(len(members)), key=lambda i: xs[i])  # type: ignore[arg-type,return-value]
        values = tuple(float(xs[i]) for i in order)  # type: ignore[arg-type]
        out.append(Sweep(task=task, knob=knob, fixed=fixed,
                         groups=tuple(members[i] for i in order), xs=values,
                         ticks=tuple(_compact(x) for x in values)))
    return out


# --------------------------------------------------------------------------------------------
# Exponents
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Fit:
    """``log10 ERT = a + b log10 x`` over ``xs`` (knob values with at least half successes).

    ``b`` is NaN with fewer than two such values; ``low``/``high`` bound its 95% bootstrap
    interval (NaN when too few resamples could be fitted).
    """

    b: float
    a: float
    low: float
    high: float
    xs: tuple[float, ...]

    @property
    def fitted(self) -> bool:
        return math.isfinite(self.b)


def fit_exponent(
    points: Sequence[tuple[float, np.ndarray, np.ndarray]], *, axis: CostAxis = "evaluations",
    n_boot: int = N_BOOT, seed: int = 0,
) -> Fit:
    """Fit ``ERT ~ x^b`` over the knob values where at least half the runs succeeded.

    Args:
        points: per knob value ``x``, its runs' ERT inputs ``(costs, successes)``
            (:func:`~benchmarks.report.analysis.ert_inputs`: the cost to target of a success,
            everything spent by a failure).
        axis: the cost axis, for the floor a log needs (a run solved at initialisation).
        n_boot: bootstrap resamples.
        seed: the bootstrap's seed (stable: the same records give the same interval).

    Returns:
        The least-squares slope ``b`` and intercept ``a`` of ``log10 ERT`` on ``log10 x`` (every
        knob value weighing the same), and a 95% percentile interval for ``b``: each resample
        redraws the runs within each knob value with replacement and refits; a value whose
        resample holds no success (ERT infinite) is left out of that resample's fit, and a
        resample with fewer than two values left is dropped.
    """
    used = [(x, np.asarray(c, dtype=float), np.asarray(k, dtype=bool)) for x, c, k in points
            if len(k) and np.mean(k) >= MIN_SUCCESS]
    xs = tuple(float(x) for x, _, _ in used)
    if len(used) < 2:
        return Fit(b=math.nan, a=math.nan, low=math.nan, high=math.nan, xs=xs)
    floor = COST_FLOOR[axis]
    lx = np.log10(np.array(xs))
    ly = np.log10([max(ert(c, k), floor) for _, c, k in used])
    b, a = np.polyfit(lx, ly, 1)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, len(used)))
    for j, (_, costs, ok) in enumerate(used):
        row = 0
        for draw in resample_blocks(rng, len(costs), n_boot):
            hits = ok[draw].sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                boot[row:row + len(draw), j] = np.where(hits > 0, costs[draw].sum(axis=1) / hits,
                                                        np.nan)
            row += len(draw)
    logs = np.log10(np.maximum(boot, floor))
    valid = np.isfinite(logs)
    count = valid.sum(axis=1)
    # Per resample, the slope of y on x over its valid values (vectorized least squares).
    w = valid.astype(float)
    mx = (w * lx).sum(axis=1) / np.maximum(count, 1)
    my = np.where(valid, logs, 0.0).sum(axis=1) / np.maximum(count, 1)
    dx = np.where(valid, lx - mx[:, None], 0.0)
    dy = np.where(valid, logs - my[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    keep = (count >= 2) & (sxx > 0)
    slopes = (dx * dy).sum(axis=1)[keep] / sxx[keep]
    if slopes.size < n_boot / 2:
        return Fit(b=float(b), a=float(a), low=math.nan, high=math.nan, xs=xs)
    low, high = np.percentile(slopes, [2.5, 97.5])
    return Fit(b=float(b), a=float(a), low=float(low), high=float(high), xs=xs)


@dataclass(frozen=True, kw_only=True)
class SolverSweep:
    """One solver label along one sweep: the numbers of its figure line, its fits, and where
    its data stop."""

    label: str
    paradigm: str
    curve: SweepCurve
    fits: dict[str, Fit]
    #: The largest knob value where at least half its runs reached the target (``None``: none).
    data_max: float | None
    #: Why there is no data beyond ``data_max`` (empty when it reaches the sweep's end).
    stop: str


def _stop_text(x: float, group: TaskGroup, label: str, successes: int, runs: int) -> str:
    """Why a solver's data stop at knob value ``x``: refused, stopped on its own, or missed
    within the budget."""
    if not runs:
        refused = [r for r in group.runs.get(label, []) if r.stop_reason == "unsupported"]
        return f"refused at {_tick(x)}: {refused[0].error}" if refused else \
            f"not run at {_tick(x)}"
    tried = group.attempted(label)
    missed = [r for r in tried if not r.success]
    if missed and all(r.stop_reason == "solver_finished" for r in missed):
        return (f"{successes}/{runs} runs reached the target at {_tick(x)}; the others "
                "stopped on their own")
    budgets = {r.budget.get("max_evaluations") for r in tried}
    budget = next(iter(budgets)) if len(budgets) == 1 else None
    within = f" within {_fmt_count(float(budget))} evaluations" if budget else ""
    return f"{successes}/{runs} runs reached the target at {_tick(x)}{within}"


def solver_sweep(sweep: Sweep, label: str, *, n_boot: int = N_BOOT) -> SolverSweep:
    """The ERTs, success counts and fitted exponents of one solver label along ``sweep``."""
    axes: tuple[CostAxis, CostAxis] = ("evaluations", "seconds")
    ert_values: dict[str, list[float]] = {a: [] for a in axes}
    low: dict[str, list[float]] = {a: [] for a in axes}
    high: dict[str, list[float]] = {a: [] for a in axes}
    inputs: dict[str, list[tuple[float, np.ndarray, np.ndarray]]] = {a: [] for a in axes}
    successes: list[int] = []
    runs: list[int] = []
    for x, group in zip(sweep.xs, sweep.groups, strict=True):
        rows = group.tried(label)
        successes.append(int(rows["success"].sum()) if len(rows) else 0)
        runs.append(len(rows))
        for axis in axes:
            if rows.empty:
                ert_values[axis].append(math.nan)
                low[axis].append(math.nan)
                high[axis].append(math.nan)
                continue
            costs, ok = ert_inputs(rows, axis)
            ert_values[axis].append(ert(costs, ok))
            lo, hi = ert_bootstrap(costs, ok, seed=bootstrap_seed(group.name, label, axis))
            low[axis].append(lo)
            high[axis].append(hi)
            inputs[axis].append((x, costs, ok))
    fits: dict[str, Fit] = {axis: fit_exponent(inputs[axis], axis=axis, n_boot=n_boot,
                               seed=bootstrap_seed(sweep.slug, label, axis, "fit"))
            for axis in axes}
    good = [x for x, k, n in zip(sweep.xs, successes, runs, strict=True)
            if n and k / n >= MIN_SUCCESS]
    data_max = max(good) if good else None
    beyond = [(x, g, k, n) for x, g, k, n in zip(sweep.xs, sweep.groups, successes, runs,
                                                 strict=True)
              if data_max is None or x > data_max]
    if data_max is None:
        tried = [(k / n, x, k, n) for x, k, n in zip(sweep.xs, successes, runs, strict=True)
                 if n]
        stop = (f"below half the runs at every value; best {max(tried)[2]}/{max(tried)[3]} at "
                f"{_tick(max(tried)[1])}" if tried else "never run")
        if tried and not any(k for _, _, k, _ in tried):
            stop = "no run reached the target at any value"
            refused = [x for x, n in zip(sweep.xs, runs, strict=True) if not n]
            if refused:
                stop += f" it ran; refused at {', '.join(_tick(x) for x in refused)}"
    elif beyond:
        stop = _stop_text(beyond[0][0], beyond[0][1], label, beyond[0][2], beyond[0][3])
    else:
        stop = ""
    curve = SweepCurve(
        label=label, ert=ert_values, low=low, high=high, successes=successes, runs=runs,
        fit={a: (f.b, f.a, min(f.xs), max(f.xs)) if f.fitted else None for a, f in fits.items()},
    )
    return SolverSweep(label=label, paradigm=paradigm_of(label), curve=curve, fits=fits,
                       data_max=data_max, stop=stop)


# --------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RoundModel:
    """One successful run, as the workers model sees it.

    ``T(W) = rounds * (ceil(units / W) * unit_seconds + serial_seconds)``.

    Attributes:
        rounds: sequential rounds to target.
        units: parallel units per round: a population's members, or a step's examples.
        unit_seconds: seconds of one unit on one worker.
        serial_seconds: seconds per round that no worker count shortens (the solver's update).
    """

    rounds: float
    units: float
    unit_seconds: float
    serial_seconds: float

    def seconds(self, workers: int) -> float:
        """The modeled wall time to target with ``workers`` workers."""
        per_worker = math.ceil(self.units / workers - 1e-9)
        return self.rounds * (per_worker * self.unit_seconds + self.serial_seconds)


def evaluation_seconds(group: TaskGroup) -> float | None:
    """Seconds of one single-example evaluation in the batched population forward on this
    group's network and data: the smallest, over the population solvers that ran on it, of the
    median solver seconds per evaluation of their runs (``None`` when none ran).

    That solver's own operators are in it too, so it is an upper bound on the forward alone,
    and every serial share the model derives from it a lower bound.
    """
    best = math.inf
    for label in group.runs:
        if paradigm_of(label) not in POPULATION_PARADIGMS:
            continue
        rates = [r.solver_seconds / r.evaluations for r in group.attempted(label)
                 if r.evaluations > 0 and r.solver_seconds > 0]
        if rates:
            best = min(best, float(np.median(rates)))
    return best if math.isfinite(best) else None


def _backward_to_target(record: RunRecord) -> float:
    for point in record.trace:
        if point.iteration == record.iterations_to_target:
            return float(point.backward)
    share = (record.evaluations_to_target or 0) / max(record.evaluations, 1)
    return record.backward * share


def round_model(record: RunRecord, paradigm: str, eval_seconds: float) -> RoundModel | None:
    """A successful run's :class:`RoundModel` (``None`` for a miss), every part measured.

    * Population methods (``evolution``, the ``baseline``): a round is a generation; the
      initial population, when the solver scored one before its first report, is a round too.
      Units are the members (evaluations per round / training rows), each costing ``n_train``
      evaluations at ``eval_seconds`` (:func:`evaluation_seconds`).
    * Gradient methods (and the reference lines): a round is one pass over the examples of a
      step (``batch_size`` of the configuration, else every training row): ``rounds =
      evaluations to target / examples per step``, which counts L-BFGS's line-search
      evaluations as the sequential passes they are. Units are the step's examples, costing
      their forward and backward passes (a backward weighed as :data:`BACKWARD_FORWARDS`
      forwards) at ``eval_seconds``: data parallelism, the only parallelism a gradient step has
      in this model.
    * Closed form: a round is one sweep or solve (an iteration); units are its examples.

    The parallel part is capped at the run's measured seconds to target, and the serial part
    is the rest (the solver's update, framework and Python time), spread evenly over the
    rounds: ``T(1)`` equals the run's solver seconds to target.
    """
    if not record.success or record.seconds_to_target is None:
        return None
    seconds = float(record.seconds_to_target)
    evaluations = float(record.evaluations_to_target or 0)
    n_train = max(int(record.n_train), 1)
    if paradigm in POPULATION_PARADIGMS:
        initial = record.trace[0].evaluations if record.trace else 0
        rounds = float(record.iterations_to_target or 0) + (1.0 if initial > 0 else 0.0)
        work = evaluations
        units = evaluations / max(rounds, 1.0) / n_train
    else:
        if paradigm == "closed form":
            rounds = float(max(record.iterations_to_target or 0, 1))
        else:
            batch = record.config.get("batch_size")
            per_step = min(int(batch), n_train) if isinstance(batch, int) and batch > 0 else n_train
            rounds = evaluations / per_step
        work = evaluations + BACKWARD_FORWARDS * _backward_to_target(record)
        units = evaluations / max(rounds, 1.0)
    if rounds <= 0:
        return RoundModel(rounds=0.0, units=1.0, unit_seconds=0.0, serial_seconds=0.0)
    units = max(round(units), 1)
    parallel = min(work * eval_seconds, seconds)
    return RoundModel(rounds=rounds, units=float(units),
                      unit_seconds=parallel / (rounds * units),
                      serial_seconds=(seconds - parallel) / rounds)


def modeled_seconds(group: TaskGroup, label: str, eval_seconds: float
                    ) -> tuple[list[float], int, int] | None:
    """Median over the label's successful runs of the modeled time at each of :data:`WORKERS`,
    with ``(successes, runs)``; ``None`` below :data:`MIN_SUCCESS` (as the fits)."""
    runs = group.attempted(label)
    models = [m for r in runs if (m := round_model(r, paradigm_of(label), eval_seconds))]
    if not runs or len(models) / len(runs) < MIN_SUCCESS:
        return None
    return ([float(np.median([m.seconds(w) for m in models])) for w in WORKERS],
            len(models), len(runs))


@dataclass(frozen=True, kw_only=True)
class WorkerPoint:
    """One knob value of a sweep in the workers view: each label's modeled times."""

    x: float
    times: dict[str, list[float]]

    def best(self, paradigm: str, w: int) -> tuple[str, float] | None:
        i = WORKERS.index(w)
        cands = [(t[i], lab) for lab, t in self.times.items() if paradigm_of(lab) == paradigm]
        if not cands:
            return None
        seconds, label = min(cands)
        return label, seconds


def worker_points(sweep: Sweep, labels: Sequence[str]) -> list[WorkerPoint]:
    out = []
    for x, group in zip(sweep.xs, sweep.groups, strict=True):
        te = evaluation_seconds(group)
        times: dict[str, list[float]] = {}
        if te is not None:
            for label in labels:
                got = modeled_seconds(group, label, te)
                if got is not None:
                    times[label] = got[0]
        out.append(WorkerPoint(x=x, times=times))
    return out


# --------------------------------------------------------------------------------------------
# The section
# --------------------------------------------------------------------------------------------


def _fmt_count(value: float) -> str:
    if value >= 999_500:
        return f"{value / 1e6:.3g}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:,.0f}"


def _fmt_seconds(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if value >= 100:
        return f"{value:,.0f} s"
    if value >= 1:
        return f"{value:.3g} s"
    return f"{value * 1e3:.3g} ms"


def _b(value: float) -> str:
    """An exponent to two decimals, never ``-0.00``."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _fmt_b(fit: Fit) -> str:
    if not fit.fitted:
        return "—"
    interval = (f" [{_b(fit.low)}, {_b(fit.high)}]" if math.isfinite(fit.low)
                else " [too few resamples]")
    return f"{_b(fit.b)}{interval}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _by_paradigm(items: Sequence[SolverSweep]) -> list[tuple[str, list[SolverSweep]]]:
    out = []
    for paradigm in PARADIGM_ORDER:
        members = [s for s in items if s.paradigm == paradigm]
        if members:
            out.append((paradigm, members))
    return out


def exponent_table(sweep: Sweep, solvers: Sequence[SolverSweep]) -> list[str]:
    """The fitted exponents of one sweep, one row per solver."""
    lines = [
        f"Fitted exponents, {sweep.title}: ERT grows as {sweep.x_title}^b.",
        "",
        "| solver | paradigm | b, evaluations [95% CI] | b, seconds [95% CI] | "
        f"{sweep.x_title} fitted | where the data stop |",
        "|---|---|---|---|---|---|",
    ]
    for s in solvers:
        fit = s.fits["evaluations"]
        fitted = ", ".join(_tick(x) for x in fit.xs) or "none"
        lines.append(
            f"| {_cell(s.label)} | {s.paradigm} | {_fmt_b(fit)} | {_fmt_b(s.fits['seconds'])} | "
            f"{fitted} | {_cell(s.stop or 'at the sweep end (' + _tick(max(sweep.xs)) + ')')} |"
        )
    return [*lines, ""]


def size_paragraph(sweep: Sweep, solvers: Sequence[SolverSweep]) -> list[str]:
    """What the size exponents mean for a user with a bigger network, from the numbers."""
    fitted = [s for s in solvers if s.fits["evaluations"].fitted]
    lines = [f"**What this means for a bigger network ({sweep.title}).** "]
    if not fitted:
        lines[0] += ("No solver reached the target on at least half its runs at two sizes or "
                     "more, so no exponent is fitted.")
        return [lines[0], ""]
    parts = []
    for paradigm, members in _by_paradigm(fitted):
        shown = ", ".join(
            f"{s.label} b = {_b(s.fits['evaluations'].b)} "
            f"(x{10 ** s.fits['evaluations'].b:.2g} per tenfold size)" for s in members)
        parts.append(f"{paradigm}: {shown}")
    text = ("Evaluations to target grow as size^b: a network ten times larger multiplies them "
            "by 10^b, within the fitted range only. " + "; ".join(parts) + ". ")
    by_p = {p: [s.fits["evaluations"].b for s in m] for p, m in _by_paradigm(fitted)}
    if "evolution" in by_p and "gradients" in by_p:
        evo, grad = min(by_p["evolution"]), min(by_p["gradients"])
        text += (f"With each paradigm's lowest exponent (evolution {_b(evo)}, gradients "
                 f"{_b(grad)}), evolution's cost relative to gradients' is multiplied by about "
                 f"x{10 ** (evo - grad):.2g} per tenfold size, as far as both have data. ")
    top = max(sweep.xs)
    stops = []
    for s in solvers:
        # A refusal's first clause is enough here; the table has the solver's whole reason.
        why = ": ".join(s.stop.split(": ")[:2])
        if s.data_max is None:
            stops.append(f"{s.label} has none ({why})")
        elif s.data_max < top:
            stops.append(f"{s.label} at {_tick(s.data_max)} ({why})")
    text += (f"Where the data stop (the largest size with at least half the runs reaching the "
             f"target, of {_tick(top)}): " + ("; ".join(stops) if stops else
                                              "every fitted solver reaches the largest size")
             + ". Beyond the last fitted size the exponents are an extrapolation, and a solver "
             "whose data stop early is not shown to scale at all.")
    return [lines[0] + text, ""]


def memory_table(sweep: Sweep, labels: Sequence[str]) -> list[str]:
    """A size sweep's peak memory per solver and size: the median over its runs of each run's
    peak resident memory (the whole process's, torch and NumPy included; ``RunRecord``'s
    ``peak_memory_bytes``), with the largest in brackets. Empty when no record carries it."""
    rows = []
    for label in labels:
        cells, any_value = [], False
        for group in sweep.groups:
            tried = group.tried(label)
            column = tried.get("peak_memory_bytes")
            values = (pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float)
                      if column is not None else np.empty(0))
            if values.size:
                any_value = True
                cells.append(f"{np.median(values) / 2**20:,.0f} ({values.max() / 2**20:,.0f})")
            else:
                cells.append("—")
        if any_value:
            rows.append(f"| {_cell(label)} | " + " | ".join(cells) + " |")
    if not rows:
        return []
    head = " | ".join(f"{_tick(x)}" for x in sweep.xs)
    return [
        f"Peak memory per run, {sweep.title}: MiB, median (largest) over the runs; the whole "
        "process's resident high-water mark during the run, so about 0.4 GiB of it is Python, "
        "NumPy and torch loaded before any run; — where the solver did not run.",
        "",
        f"| solver | {head} |",
        "|---|" + "---|" * len(sweep.xs),
        *rows,
        "",
    ]


def workers_table(sweep: Sweep, points: Sequence[WorkerPoint]) -> list[str]:
    """Per knob value, the best evolution time over the best gradient time at each W."""
    head = " | ".join(f"W = {w:,}" for w in WORKERS)
    lines = [
        f"| {sweep.x_title} | {head} | evolution vs gradients on one worker at W = "
        f"{WORKERS[-1]:,} |",
        "|---|" + "---|" * (len(WORKERS) + 1),
    ]
    any_row = False
    for p in points:
        cells = []
        for w in WORKERS:
            evo, grad = p.best("evolution", w), p.best("gradients", w)
            if evo is None or grad is None:
                cells.append("—")
                continue
            ratio = evo[1] / grad[1] if grad[1] > 0 else math.inf
            mark = "**" if ratio < 1 else ""
            cells.append(f"{mark}{ratio:.2g}{mark} ({evo[0]} {_fmt_seconds(evo[1])}, "
                         f"{grad[0]} {_fmt_seconds(grad[1])})")
        evo, grad1 = p.best("evolution", WORKERS[-1]), p.best("gradients", 1)
        if evo is not None and grad1 is not None and grad1[1] > 0:
            ratio = evo[1] / grad1[1]
            mark = "**" if ratio < 1 else ""
            cells.append(f"{mark}{ratio:.2g}{mark}")
        else:
            cells.append("—")
        if all(c == "—" for c in cells):
            continue  # no value of both paradigms to compare
        any_row = True
        lines.append(f"| {_tick(p.x)} | " + " | ".join(cells) + " |")
    return [*lines, ""] if any_row else []


def crossover_sentence(sweep: Sweep, points: Sequence[WorkerPoint]) -> str:
    """Where evolution's modeled time first falls below gradients' (or that it never does)."""
    wins = []
    for p in points:
        for w in WORKERS:
            evo, grad = p.best("evolution", w), p.best("gradients", w)
            if evo and grad and evo[1] < grad[1]:
                wins.append((p.x, w))
                break
    compared = [p for p in points if p.best("evolution", 1) and p.best("gradients", 1)]
    if not compared:
        return (f"{sweep.title}: no knob value has both an evolution and a gradient solver "
                "reaching the target on at least half their runs, so there is nothing to "
                "compare.")
    if not wins:
        return (f"{sweep.title}: at no compared value ({', '.join(_tick(p.x) for p in compared)}) "
                f"and no W up to {WORKERS[-1]:,} does evolution's modeled time to target fall "
                "below the data-parallel gradient solvers'.")
    return (f"{sweep.title}: evolution's modeled time falls below gradients' at "
            + "; ".join(f"{_tick(x)} from W = {w:,}" for x, w in wins)
            + f" (of the compared values {', '.join(_tick(p.x) for p in compared)}).")


MODEL_TEXT = (
    "**The workers model, exactly.** From each run that reached the target: *rounds* are the "
    "steps that must run one after another (a generation for population methods, counting the "
    "initial population when the solver scored one; a pass over a step's examples for gradient "
    "methods, so `evaluations to target / examples per step`, which counts L-BFGS's "
    "line-search passes; a sweep or solve for ZORB and ELM). Within a round the parallel units "
    "(a population's members, each on every training row; or a step's examples, their forward "
    "and backward passes, a backward weighed as 2 forwards) are spread over `W` workers, and "
    "the rest of the round is serial: "
    "`T(W) = rounds x (ceil(units / W) x unit seconds + serial seconds)`. The unit cost comes "
    "from the group's fastest population solver's measured solver seconds per evaluation (an "
    "upper bound on the batched forward alone); the serial seconds are the run's solver "
    "seconds to target minus its parallel work (capped at that time), spread over its rounds. "
    "So `T(1)` is the measured time. For a population method the serial part is a lower bound "
    "(its update and operators); for a gradient method it is whatever its step costs beyond "
    "its passes priced at the batched forward's rate (optimizer, autograd bookkeeping, torch "
    "kernels slower than that rate). Gradient methods get data parallelism only (splitting a "
    "step's examples); the last column gives them none at all. "
    "Communication is free in the model, which favours the gradients (a data-parallel step "
    "exchanges every weight's gradient; an evolution strategy one number per member). "
    "Numbers are medians over successful runs, shown where at least half the runs succeeded; "
    "cells are the best evolution time divided by the best gradient time at that `W` (bold: "
    "evolution faster); knob values where the two paradigms cannot both be compared are left "
    "out. `benchmarks/bench_scale.py` checks the model against a population whose members are "
    "scored by two worker processes."
)


def scaling_section(
    groups: Sequence[TaskGroup], labels: Sequence[str], figs: MakeFigure,
    *, n_boot: int = N_BOOT,
) -> list[str]:
    """The report's ``## Scaling`` section (the document calls it in place of its own)."""
    found = sweeps(groups)
    lines = ["## Scaling", ""]
    if not found:
        return [
            *lines,
            "No task in these records varies a numeric knob (e.g. the `scaling` suite's "
            "parity bits, frequency, width, data size or network size), so there is no scaling "
            "plot.",
            "",
        ]
    lines += [
        "How each solver's cost to target grows along each knob the records vary, the other "
        "options fixed; a sweep over the hidden width is drawn against the number of "
        "parameters. Each figure has one row per paradigm: ERT in evaluations and in solver "
        "seconds (log-log, 95% bootstrap intervals; ▼ marks a value where the solver ran and "
        "never reached the target), the fitted power law dotted over the values it was fitted "
        "on, and the success counts beside them.",
        "",
        "**Exponents.** `b` in \"ERT grows as knob^b\": least squares on log ERT against log "
        f"knob over the values where the solver reached the target on at least "
        f"{MIN_SUCCESS:.0%} of its runs, each value weighing the same; 95% percentile interval "
        f"from {n_boot:,} bootstrap resamples of the runs (seeds) within each value. Fewer "
        "than two such values: no fit (—). *Data stop* says what happens at the first value "
        "past the last fitted one: refused as not applicable (with the solver's reason), or "
        "not reached within the budget.",
        "",
    ]
    worker_lines: list[str] = []
    for sweep in found:
        present = sweep.labels(labels)
        solvers = [solver_sweep(sweep, lab, n_boot=n_boot) for lab in present]
        lines += [f"### {sweep.title}", ""]
        rows = [(p, [s.curve for s in members]) for p, members in _by_paradigm(solvers)]
        lines += figs.make(
            sweep.slug,
            lambda path, sw=sweep, rw=rows: sweep_figure(
                sw.title, sw.x_title, sw.xs, sw.ticks, rw, figs.colours, path),
            f"{sweep.title}: ERT in evaluations and seconds against {sweep.x_title} per "
            "paradigm, with the fitted power laws and the success counts",
        )
        lines += exponent_table(sweep, solvers)
        if sweep.size:
            lines += size_paragraph(sweep, solvers)
            lines += memory_table(sweep, present)
        points = worker_points(sweep, present)
        table_lines = workers_table(sweep, points)
        if table_lines:
            worker_lines += [f"#### {sweep.title}", "", crossover_sentence(sweep, points), "",
                             *table_lines]
            if sweep.size:
                panels = [(f"{_tick(p.x)} {sweep.x_title}", p.times) for p in points if p.times]
                styles = {lab: {"evolution": "-", "gradients": "--"}.get(paradigm_of(lab), ":")
                          for lab in present}
                worker_lines += figs.make(
                    f"{sweep.slug}-workers"[:_MAX_STEM],
                    lambda path, pn=panels, st=styles, sw=sweep: workers_figure(
                        f"{sw.title}: modeled seconds to target against workers (evolution "
                        "solid, gradients dashed, closed form dotted)",
                        WORKERS, pn, st, figs.colours, path),
                    f"{sweep.title}: modeled wall time to target against the number of "
                    "workers, one panel per size",
                )
    lines += ["### Parallel workers: modeled time to target", "", MODEL_TEXT, ""]
    lines += worker_lines or ["No sweep has runs that reached the target to model.", ""]
    return lines


__all__ = [
    "MIN_SUCCESS", "N_BOOT", "WORKERS", "Fit", "RoundModel", "Sweep", "evaluation_seconds",
    "fit_exponent", "round_model", "scaling_section", "sweeps",
]
