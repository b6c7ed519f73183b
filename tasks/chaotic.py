"""Chaos control: a small network steers the logistic map to its unstable fixed point for T steps.

The plant is the logistic map in its chaotic regime, ``s' = r s (1 - s)`` with ``r = 3.9``
(Lyapunov exponent about 0.5 per step: nearby orbits separate by ``e`` every two steps). A
controller network ``u(s)`` adds a bounded push every step::

    s_{t+1} = clip(r s_t (1 - s_t) + u(s_t), 0, 1),     u(s) = tanh(MLP(s)),

and the loss is the mean squared distance of the controlled orbit ``s_1 .. s_T`` from the map's
fixed point ``s* = 1 - 1/r = 0.744`` (which is unstable: ``|f'(s*)| = r - 2 = 1.9``), averaged
over a batch of initial states. Stabilizing a chaotic orbit with small state-dependent pushes is
the classic chaos-control problem (Ott, Grebogi & Yorke 1990).

Why this task, and why the logistic map: Metz, Freeman, Schoenholz & Kachman, "Gradients are not
all you need" (2021, arXiv 2111.05803) show that when a loss is computed by unrolling chaotic
dynamics, its gradient through the unroll grows exponentially with the number of steps (the
product of the step Jacobians, whose log-norm grows at the Lyapunov exponent), so gradient
descent sees an ill-conditioned, near-fractal loss while the loss itself stays bounded; an
evolution strategy, which only compares losses of perturbed parameters, smooths it. Their
smallest illustration is the iterated logistic map. We take it rather than a learned Lorenz
field because it is the whole phenomenon in one dimension: exactly known chaos (r = 3.9), a
bounded state, a loss that costs ``T`` scalar steps per example (a whole population runs in
milliseconds), and a closed-form good controller. ``horizon`` (``T``) is the knob: the gradient
at a random controller grows with it (``tests/tasks/test_chaotic.py`` measures the median
gradient norm over draws at T = 5, 10, 20, 40).

Network (``tasks/network.py``'s :class:`ModuleSpec`): the controller is a ``1-H tanh-1`` MLP
(``hidden_size`` H = 8 by default, 25 parameters) whose output goes through ``tanh``, so
``|u| <= 1``; the rollout lives in the module's forward, so the module maps initial states
``(N, 1)`` to the controlled orbit ``(N, T)``, and the task's MSE against ``s*`` is the control
loss. Its read-out layer starts small (U(+-0.1/sqrt(H))), so an untrained controller barely acts
and the closed loop starts out as the chaotic map itself. ``forward(x, truncation=k)`` detaches
the state every ``k`` steps (truncated backpropagation, one of the remedies Metz et al. discuss).

As in ``tasks/sequence.py``, ``task.options`` holds the knobs only; the network is recorded
by each run's ``model`` field (``ModuleSpec.describe()``) and ``task.model.record()``.

Finite for all parameters: the control is bounded by the ``tanh`` and the state is clipped to
[0, 1] after every step (the logistic map sends a state outside [0, 1] to minus infinity), so
every loss is in [0, 1] whatever the parameters (NaN only from NaN parameters). The clip is
active only when a push leaves [0, 1]; it has zero gradient there.

Data: ``num_train`` and ``num_test`` initial states drawn from U(0, 1) with ``data_seed`` (two
independent streams). Targets: ``s*`` at every step, ``(N, T)``.

Target: train MSE <= 1e-3 (the orbit stays within about 0.03 of ``s*`` on average over the
``T`` steps), against about 0.11 for the uncontrolled map (the mean squared distance of a
chaotic orbit from ``s*``). It is reachable: the dead-beat controller ``u(s) = s* - r s (1 - s)``
(every push lands on ``s*``, needing ``|u| <= 0.75``) is representable, and
:func:`known_good` fits it in closed form (tanh units spread over [0, 1], least-squares
read-out) to a train MSE below 1e-4 at every horizon (5e-5 with the default 8 units). Measured
on the default task, seed 0: ``openai-es`` with its defaults meets it in 263 iterations and
``cmaes`` is at 2e-3 after 300, while ``adam`` (learning rate 0.01) is still at 0.06-0.07 after
400 iterations, with or without ``clip_norm=1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tasks._validation import check_interval
from tasks.base import Target, Task
from tasks.mlp import FlatParams
from tasks.network import ModuleSpec
from tasks.sequence import flat_parameters

#: The logistic map's rate: chaotic (the chaotic regime starts at about 3.57; 4 is fully so).
RATE = 3.9
#: The map's nonzero fixed point, unstable for ``RATE > 3``: what the controller aims for.
FIXED_POINT = 1.0 - 1.0 / RATE
#: Train MSE the target asks for (see the module docstring).
TARGET_MSE = 1e-3


def logistic_step(s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """One controlled step ``clip(r s (1 - s) + u, 0, 1)``."""
    return torch.clamp(RATE * s * (1.0 - s) + u, 0.0, 1.0)


class LogisticController(nn.Module):
    """A ``1-H tanh-1`` controller and the rollout it drives: initial states ``(N, 1)`` to the
    controlled orbit ``(N, T)``."""

    def __init__(self, horizon: int, hidden_size: int) -> None:
        super().__init__()
        self.horizon = horizon
        small = 0.1 / math.sqrt(hidden_size)

        def uniform(shape: tuple[int, ...], bound: float) -> nn.Parameter:
            return nn.Parameter(torch.empty(shape, dtype=torch.float64).uniform_(-bound, bound))

        self.w1 = uniform((1, hidden_size), 1.0)
        self.b1 = uniform((hidden_size,), 1.0)
        self.w2 = uniform((hidden_size, 1), small)
        self.b2 = uniform((1,), small)

    def control(self, s: torch.Tensor) -> torch.Tensor:
        """The push ``u(s) = tanh(MLP(s))`` for states ``(N,)``."""
        hidden = torch.tanh(s[:, None] @ self.w1 + self.b1)
        return torch.tanh(hidden @ self.w2 + self.b2)[:, 0]

    def forward(self, x: torch.Tensor, truncation: int | None = None) -> torch.Tensor:
        """The controlled orbit ``s_1 .. s_T`` from the initial states ``x`` ``(N, 1)``.

        Args:
            x: initial states in [0, 1].
            truncation: detach the state every ``truncation`` steps (truncated BPTT); ``None``
                backpropagates through the whole rollout. The value is the same.
        """
        s = x[:, 0]
        orbit = []
        for t in range(self.horizon):
            if truncation is not None and t > 0 and t % truncation == 0:
                s = s.detach()
            s = logistic_step(s, self.control(s))
            orbit.append(s)
        return torch.stack(orbit, dim=1)


@dataclass(frozen=True)
class ControllerFactory:
    """The zero-argument module factory of :class:`ModuleSpec`, compared by value."""

    horizon: int
    hidden_size: int

    def __call__(self) -> nn.Module:
        return LogisticController(self.horizon, self.hidden_size)


def make_logistic_map(
    *,
    horizon: int = 20,
    hidden_size: int = 8,
    num_train: int = 64,
    num_test: int = 64,
    data_seed: int = 0,
) -> Task:
    """Build the chaos-control task on the logistic map.

    Args:
        horizon: controlled steps ``T`` in the loss, in [1, 10000].
        hidden_size: the controller's tanh units (>= 1). (Not ``hidden``: that name is the MLP
            override every task accepts, ``tasks.base.MODEL_OPTIONS``.)
        num_train: training initial states (>= 1).
        num_test: test initial states (>= 1).
        data_seed: seed of both splits.
    """
    owner = "task 'logistic_map'"
    check_interval(horizon, "horizon", owner, kind=int, low=1, high=10_000)
    check_interval(hidden_size, "hidden_size", owner, kind=int, low=1, high=4096)
    check_interval(num_train, "num_train", owner, kind=int, low=1)
    check_interval(num_test, "num_test", owner, kind=int, low=1)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    train_seq, test_seq = np.random.SeedSequence(data_seed).spawn(2)
    x_train = np.random.default_rng(train_seq).uniform(0.0, 1.0, (num_train, 1))
    x_test = np.random.default_rng(test_seq).uniform(0.0, 1.0, (num_test, 1))
    model = ModuleSpec(
        module=ControllerFactory(horizon, hidden_size),
        n_in=1,
        n_out=horizon,
        options={"horizon": horizon, "hidden_size": hidden_size, "rate": RATE},
    )
    knobs = {"horizon": horizon, "hidden_size": hidden_size, "num_train": num_train,
             "num_test": num_test, "data_seed": data_seed}
    return Task(
        name="logistic_map",
        family="chaotic",
        kind="regression",
        x_train=x_train,
        y_train=np.full((num_train, horizon), FIXED_POINT),
        x_test=x_test,
        y_test=np.full((num_test, horizon), FIXED_POINT),
        model=model,
        loss="mse",
        target=Target(max_mse=TARGET_MSE),
        options=knobs,
        description=(
            f"Chaos control (Metz et al. 2021, 'Gradients are not all you need'): a "
            f"{model.num_params}-parameter controller pushes the logistic map s' = "
            f"{RATE:g} s (1 - s) towards its unstable fixed point {FIXED_POINT:.3f} for "
            f"{horizon} steps from {num_train} initial states; the loss unrolls all {horizon} "
            f"chaotic steps, so its gradient grows exponentially with the horizon. Train MSE <= "
            f"{TARGET_MSE:g} (the uncontrolled orbit gives about 0.11): the orbit is held near "
            f"the fixed point."
        ),
    )


def known_good(task: Task) -> FlatParams:
    """The dead-beat controller ``u(s) = s* - r s (1 - s)``, fitted in closed form.

    The hidden units are tanh ridges with centres spread evenly over [0, 1]; the read-out is
    the least-squares fit of ``atanh(u(s))`` on 201 evenly spaced states (``|u| <= 0.75``, so the
    ``atanh`` is finite). Nothing is trained by gradient descent.
    """
    h = int(task.options["hidden_size"])
    module = LogisticController(int(task.options["horizon"]), h)
    grid = np.linspace(0.0, 1.0, 201)
    centres = np.linspace(0.0, 1.0, h) if h > 1 else np.array([0.5])
    slope = 2.0 * max(h - 1, 1)
    hidden = np.tanh(slope * (grid[:, None] - centres[None, :]))
    wanted = np.arctanh(FIXED_POINT - RATE * grid * (1.0 - grid))
    design = np.column_stack([hidden, np.ones(len(grid))])
    coef, *_ = np.linalg.lstsq(design, wanted, rcond=None)
    with torch.no_grad():
        module.w1.copy_(torch.full((1, h), slope))
        module.b1.copy_(torch.from_numpy(-slope * centres))
        module.w2.copy_(torch.from_numpy(coef[:-1, None]))
        module.b2.copy_(torch.from_numpy(coef[-1:]))
    return flat_parameters(module)


make_logistic_map.known_good = known_good  # type: ignore[attr-defined]
