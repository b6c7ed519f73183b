"""Lotka-Volterra dynamics: learn the predator-prey vector field from sampled trajectories.

The system (prey ``x``, predators ``y``)::

    dx/dt = a x - b x y        dy/dt = d x y - c y

with ``a, b, c, d = 1.5, 1, 3, 1``, the example of ``scipy.integrate.solve_ivp``'s documentation;
the equilibrium is ``(c/d, a/b) = (3, 1.5)`` and every other orbit is closed.

Data: ``num_trajectories`` initial conditions are drawn with ``data_seed`` around the equilibrium
(``(3 (1 + r cos t), 1.5 (1 + r sin t))`` with ``r ~ U(0.2, 0.7)``, ``t ~ U(0, 2 pi)``) and
integrated with ``solve_ivp`` (DOP853, tolerances 1e-10) over ``[0, t_end]``, sampled at
``points_per_trajectory`` evenly spaced times. Each sample is one example: input the state
``(x, y)``, output its derivative ``(dx/dt, dy/dt)``. The derivatives are either

* ``derivatives="analytic"``: the right-hand side above, evaluated at the samples; or
* ``derivatives="numerical"``: ``numpy.gradient`` (second-order central differences, second
  order at the ends) of the sampled trajectories, as one would do with measured data. Its error
  against the analytic derivatives is measured on the training samples: ``numdiff_rmse`` (state
  units per time unit) and ``numdiff_mse`` (in the task's scaled output units, directly
  comparable with the target). Both are in the description and in every run's extra metrics
  (``final_metrics`` returns them with the rollout). They are measurements, not knobs, so they
  stay out of ``options``, where they would split a sweep over ``points_per_trajectory``.

Split: one more initial condition, drawn from the same distribution, is held out. Its trajectory
is the test set, always with the *analytic* derivatives (the test measures the true field, not
the training labels). Distinct initial conditions lie on distinct closed orbits (different
values of the conserved quantity), so no state is shared between the splits.

Scaling: inputs and outputs are standardized per component with the training set's mean and
standard deviation, so a tanh network starts in its useful range and both outputs weigh the same
in the MSE. The rollout undoes the scaling.

Default network: ``2-16 tanh-2 linear``, Glorot init, MSE.

Target: train MSE <= 0.01 on the standardized derivatives, i.e. 99% of the variance explained
(averaged over the two components). Rolling a field forward compounds its errors, so the bar
is tighter than the function tasks' 98%; the numerical-differentiation error at the default
sampling is about 1e-4 in the same units, far below the threshold, so the numerical variant can
meet it.

Evaluation: ``Task.final_metrics`` rolls the learned field forward from the held-out initial
condition with ``solve_ivp`` over the test trajectory's times and returns ``rollout_rmse``
(state units) and ``rollout_rel_rmse`` (divided by the true trajectory's standard deviation),
plus the numerical-differentiation error for that variant.
A rollout that leaves a box of 10x the data range or needs more than 20,000 field evaluations
(a field so stiff it would stall the suite) is reported as ``inf`` with ``rollout_completed``
giving the fraction of the time span integrated. The harness passes the task's network to the
hook, so a ``hidden=`` override needs no rebinding (parameters of another shape are reported as
a failed rollout, never an exception).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.integrate import solve_ivp

from tasks._validation import check_interval, check_options
from tasks.base import Metrics, Rollout, Target, Task
from tasks.mlp import FlatParams, FloatArray, ModelSpec, forward

if TYPE_CHECKING:  # tasks.network imports torch, which ``import tasks`` does not need
    from tasks.network import ModuleSpec

#: (a, b, c, d) of ``dx/dt = a x - b x y``, ``dy/dt = d x y - c y`` (scipy's example).
PARAMETERS: tuple[float, float, float, float] = (1.5, 1.0, 3.0, 1.0)
DERIVATIVES: tuple[str, ...] = ("analytic", "numerical")
MAX_ROLLOUT_CALLS = 20_000
_BOX = 10.0  # a rollout leaving 10x the data's range has diverged


def vector_field(states: FloatArray) -> FloatArray:
    """The analytic Lotka-Volterra field at states ``(N, 2)`` -> ``(N, 2)``."""
    a, b, c, d = PARAMETERS
    x, y = states[:, 0], states[:, 1]
    return np.stack([a * x - b * x * y, d * x * y - c * y], axis=1)


def simulate(initial: FloatArray, times: FloatArray) -> FloatArray:
    """Integrate the true system from ``initial`` ``(2,)``; the states at ``times``, ``(T, 2)``."""
    sol = solve_ivp(
        lambda _t, s: vector_field(s[None, :])[0],
        (float(times[0]), float(times[-1])),
        initial,
        t_eval=times,
        method="DOP853",
        rtol=1e-10,
        atol=1e-10,
    )
    return np.ascontiguousarray(sol.y.T)


def _initial_conditions(rng: np.random.Generator, count: int) -> FloatArray:
    a, b, c, d = PARAMETERS
    radius = rng.uniform(0.2, 0.7, count)
    angle = rng.uniform(0.0, 2.0 * np.pi, count)
    return np.stack(
        [c / d * (1.0 + radius * np.cos(angle)), a / b * (1.0 + radius * np.sin(angle))], axis=1
    )


class _RolloutAbortedError(Exception):
    """The learned field needed more evaluations than ``MAX_ROLLOUT_CALLS``."""


@dataclass(frozen=True, kw_only=True, eq=False)
class LotkaRollout:
    """The Lotka-Volterra task's dynamics (:class:`tasks.base.Dynamics`) and ``final_metrics``.

    Attributes:
        in_mean, in_std, out_mean, out_std: the standardization of inputs and outputs.
        times: the held-out trajectory's sample times.
        truth: the held-out trajectory ``(T, 2)``; ``truth[0]`` is the initial condition.
        numdiff: the training labels' numerical-differentiation error (empty for analytic
            labels), returned with every rollout so that it reaches the records.
    """

    in_mean: FloatArray
    in_std: FloatArray
    out_mean: FloatArray
    out_std: FloatArray
    times: FloatArray
    truth: FloatArray
    numdiff: Mapping[str, float] = dataclasses.field(default_factory=dict)
    state_labels: tuple[str, ...] = ("prey $x$", "predator $y$")

    def to_state(self, x: FloatArray) -> FloatArray:
        """Standardized task inputs ``(N, 2)`` in state units."""
        return x * self.in_std + self.in_mean

    def true_field(self, states: FloatArray) -> FloatArray:
        """The analytic field at states ``(N, 2)``."""
        return vector_field(states)

    def learned_field(
        self, model: ModelSpec | ModuleSpec, params: FlatParams, states: FloatArray
    ) -> FloatArray:
        """The learned field in state units at states ``(N, 2)``."""
        scaled = forward(model, params, (states - self.in_mean) / self.in_std)
        return scaled * self.out_std + self.out_mean

    def rollout(self, model: ModelSpec | ModuleSpec, params: FlatParams) -> Rollout:
        """Integrate the learned field from the held-out initial condition (RK45, rtol 1e-6).

        Stops where the state leaves a box of ``_BOX`` times the held-out orbit's range or after
        ``MAX_ROLLOUT_CALLS`` field evaluations; parameters that do not fit the network or are
        not finite give an empty rollout rather than an exception.
        """
        start = self.truth[:1]
        if params.shape != (model.num_params,) or not np.all(np.isfinite(params)):
            return Rollout(states=start, completed=0.0, finished=False)
        limit = _BOX * float(np.max(np.abs(self.truth)))
        calls = 0

        def rhs(_t: float, s: FloatArray) -> FloatArray:
            nonlocal calls
            calls += 1
            if calls > MAX_ROLLOUT_CALLS:
                raise _RolloutAbortedError
            return self.learned_field(model, params, s[None, :])[0]

        def escaped(_t: float, s: FloatArray) -> float:
            return limit - float(np.max(np.abs(s)))

        escaped.terminal = True  # type: ignore[attr-defined]
        t0, t1 = float(self.times[0]), float(self.times[-1])
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                sol = solve_ivp(rhs, (t0, t1), self.truth[0], t_eval=self.times, method="RK45",
                                rtol=1e-6, atol=1e-8, events=escaped)
        except _RolloutAbortedError:
            return Rollout(states=start, completed=0.0, finished=False)
        reached = float(sol.t[-1]) if sol.t.size else t0
        states = np.ascontiguousarray(sol.y.T) if sol.t.size else start
        finished = (sol.status == 0 and sol.t.size == self.times.size
                    and bool(np.all(np.isfinite(sol.y))))
        return Rollout(states=states, completed=(reached - t0) / (t1 - t0), finished=finished)

    def __call__(self, model: ModelSpec | ModuleSpec, params: FlatParams) -> Metrics:
        """Rollout error of the learned field from the held-out initial condition."""
        rolled = self.rollout(model, params)
        if not rolled.finished:
            return {"rollout_rmse": float("inf"), "rollout_rel_rmse": float("inf"),
                    "rollout_completed": rolled.completed, **self.numdiff}
        rmse = float(np.sqrt(np.mean((rolled.states - self.truth) ** 2)))
        return {"rollout_rmse": rmse, "rollout_rel_rmse": rmse / float(np.std(self.truth)),
                "rollout_completed": 1.0, **self.numdiff}


def make_lotka(
    *,
    derivatives: str = "analytic",
    num_trajectories: int = 4,
    points_per_trajectory: int = 100,
    t_end: float = 8.0,
    data_seed: int = 0,
) -> Task:
    """Build the Lotka-Volterra vector-field task (see the module docstring).

    Args:
        derivatives: ``"analytic"`` or ``"numerical"`` training targets.
        num_trajectories: training trajectories, 1 to 50.
        points_per_trajectory: samples per trajectory, 5 to 10,000; fewer samples make the
            numerical derivatives worse (their error grows with the step squared).
        t_end: length of every trajectory, in (0, 100]; the default 8 covers two to three
            periods of the orbits drawn.
        data_seed: seed of the initial conditions.
    """
    owner = "task 'lotka'"
    check_options(derivatives, "derivatives", owner, DERIVATIVES)
    check_interval(num_trajectories, "num_trajectories", owner, kind=int, low=1, high=50)
    check_interval(points_per_trajectory, "points_per_trajectory", owner, kind=int, low=5,
                   high=10_000)
    check_interval(t_end, "t_end", owner, low=0.0, high=100.0, closed="right")
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    rng = np.random.default_rng(data_seed)
    initial = _initial_conditions(rng, num_trajectories + 1)  # the last one is held out
    times = np.linspace(0.0, t_end, points_per_trajectory)
    paths = [simulate(s0, times) for s0 in initial]
    states = np.concatenate(paths[:-1])
    analytic = vector_field(states)
    numerical = np.concatenate([np.gradient(p, times, axis=0, edge_order=2) for p in paths[:-1]])
    labels = analytic if derivatives == "analytic" else numerical
    in_mean, in_std = states.mean(axis=0), states.std(axis=0)
    out_mean, out_std = labels.mean(axis=0), labels.std(axis=0)
    held_out = paths[-1]
    model = ModelSpec.build(2, (16,), 2, hidden_activation="tanh", output_activation="identity",
                            init="glorot")
    options: dict[str, str | int | float] = {
        "derivatives": derivatives,
        "num_trajectories": num_trajectories,
        "points_per_trajectory": points_per_trajectory,
        "t_end": t_end,
        "data_seed": data_seed,
    }
    numdiff: dict[str, float] = {}
    error_note = ""
    if derivatives == "numerical":
        numdiff["numdiff_rmse"] = float(np.sqrt(np.mean((numerical - analytic) ** 2)))
        numdiff["numdiff_mse"] = float(np.mean(((numerical - analytic) / out_std) ** 2))
        error_note = (f"; numpy.gradient error vs analytic: RMSE {numdiff['numdiff_rmse']:.3g} "
                      f"(scaled MSE {numdiff['numdiff_mse']:.3g})")
    dynamics = LotkaRollout(in_mean=in_mean, in_std=in_std, out_mean=out_mean, out_std=out_std,
                            times=times, truth=held_out, numdiff=numdiff)
    return Task(
        name="lotka",
        family="dynamics",
        kind="regression",
        x_train=(states - in_mean) / in_std,
        y_train=(labels - out_mean) / out_std,
        x_test=(held_out - in_mean) / in_std,
        y_test=(vector_field(held_out) - out_mean) / out_std,
        model=model,
        loss="mse",
        target=Target(max_mse=0.01),
        options=options,
        description=(
            f"Lotka-Volterra field (x, y) -> (dx/dt, dy/dt), {derivatives} derivatives, "
            f"{num_trajectories} trajectories x {points_per_trajectory} points over "
            f"[0, {t_end:g}], standardized; held-out trajectory for test and rollout"
            f"{error_note}."
        ),
        final_metrics=dynamics,
        dynamics=dynamics,
    )
