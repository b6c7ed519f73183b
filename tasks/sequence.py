"""The adding problem: a recurrent network must carry two marked numbers across ``length`` steps.

Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8), 1997, experiment
4; in the form of Le, Jaitly & Hinton 2015 (arXiv 1504.00941) and Arjovsky, Shah & Bengio 2016
(arXiv 1511.06464). Each example is a sequence of ``length`` pairs ``(value, marker)``: the
values are drawn from U[0, 1]; exactly two markers are 1, one at a uniformly drawn step of the
first half and one in the second half (so the first marked value must be remembered for at least
``length // 2`` steps), the others 0. The target is the sum of the two marked values.

Why this task: every other network in the suite is a feed-forward MLP, whose gradient runs
through a few layers. Here the loss reaches an early input only through ``length`` applications
of the same recurrent cell, so gradient descent meets the vanishing/exploding products of
Jacobians (Bengio, Simard & Frasconi 1994) that evolution, which only ranks losses, never
computes. ``length`` is the knob that moves the task from easy to long-horizon.

Data: ``num_train`` training and ``num_test`` test sequences, drawn once from ``data_seed``
(NumPy's PCG64; two independent streams, so the test set does not change with ``num_train``).
Task data stay 2-D: example ``i``'s sequence ``(length, 2)`` is flattened row by row into
``2 * length`` columns ``[v_0, m_0, v_1, m_1, ...]``; the network reshapes it back.

Networks (``cell``), written with explicit tensor operations so that a whole population runs
through ``torch.vmap`` (``tasks/network.py``), and read out linearly from the last hidden state:

* ``"gru"`` (default): the gated recurrent unit of Cho et al. 2014 (arXiv 1406.1078), the
  reset gate applied after the recurrent product, as ``torch.nn.GRU`` does (without its second
  bias). The gated cell is what practitioners use on long sequences.
* ``"elman"``: the simple recurrent network ``h' = tanh(x W + h U + b)`` (Elman 1990).

Both forwards take ``truncation``: the hidden state is detached every ``truncation`` steps, so
the gradient flows back at most that many steps (truncated BPTT, Williams & Peng 1990); the
forward value is unchanged. The gradient solvers pass it as a hyperparameter.

Recorded: ``task.options`` holds the knobs only (the report names a task group by the options
that differ from the factory's defaults, so a derived value there would rename every group);
each run's ``model`` field is ``ModuleSpec.describe()`` (the module's class, knobs and parameter
count), and ``task.model.record()`` adds every parameter's shape.

Loss: MSE. Baseline: always predicting the mean sum 1.0 gives the variance of the sum of two
U[0, 1] values, ``2/12 = 0.167``. Target: train MSE <= 0.01, 6% of that baseline (94% of the
variance explained), the level at which a network is reading both marked values rather than
guessing their mean (predicting one marked value and the mean of the other still leaves
``1/12 = 0.083``). It is reachable: :func:`known_good` builds, by hand, a GRU (or Elman network)
that adds the marked values with train MSE below 1e-4 at every length up to 200. Measured on
the default task (T = 30), seed 0: ``adam`` with learning rate 0.01 meets it in 196 iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from tasks._validation import check_interval, check_options
from tasks.base import Target, Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, FloatArray
from tasks.network import LinearReadout, ModuleSpec

#: The recurrent cells the task offers.
CELLS: tuple[str, ...] = ("gru", "elman")
#: Features per step: the value and the marker.
FEATURES = 2
#: Train MSE the target asks for (see the module docstring).
TARGET_MSE = 0.01
#: MSE of always predicting the mean sum 1.0: the variance of a sum of two U[0, 1] values.
BASELINE_MSE = 2.0 / 12.0


def adding_data(length: int, count: int, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """``count`` adding-problem sequences of ``length`` steps, flattened, and their sums.

    One marker sits at a uniform step of ``[0, length // 2)``, the other at a uniform step of
    ``[length // 2, length)``; at ``length`` 2 or 3 the halves are one and one or two steps.

    Returns:
        ``x`` of shape ``(count, 2 * length)`` (``[v_0, m_0, v_1, m_1, ...]``) and ``y`` of shape
        ``(count, 1)``.
    """
    values = rng.uniform(0.0, 1.0, (count, length))
    half = length // 2
    first = rng.integers(0, half, count)
    second = rng.integers(half, length, count)
    markers = np.zeros((count, length))
    rows = np.arange(count)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=2).reshape(count, FEATURES * length)
    y = (values[rows, first] + values[rows, second])[:, None]
    return x, y


class _Recurrent(nn.Module):
    """What both cells share: the sequence reshaping, truncation and the linear read-out.

    The read-out is declared (:class:`tasks.network.LinearReadout`, ``x W + b`` on the last
    hidden state, :meth:`features`), so an extreme learning machine fits it on the hidden
    states of the random cell: an echo-state-style reservoir read out by least squares.
    """

    linear_readout: ClassVar[LinearReadout] = LinearReadout(weight="w_out", bias="b_out",
                                                            layout="in_out")

    def __init__(self, length: int, hidden_size: int) -> None:
        super().__init__()
        self.length = length
        self.hidden_size = hidden_size

    def cell(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, truncation: int | None = None) -> torch.Tensor:
        """Sums ``(N, 1)`` predicted from flattened sequences ``(N, 2 * length)``.

        Args:
            x: the task's inputs.
            truncation: detach the hidden state every ``truncation`` steps (truncated BPTT);
                ``None`` backpropagates through the whole sequence. The value is the same.
        """
        out: torch.Tensor = self.features(x, truncation) @ self.w_out + self.b_out
        return out

    def features(self, x: torch.Tensor, truncation: int | None = None) -> torch.Tensor:
        """The last hidden state ``(N, hidden_size)``: the linear read-out's input."""
        steps = x.reshape(x.shape[0], self.length, FEATURES)
        h = x.new_zeros(x.shape[0], self.hidden_size)
        for t in range(self.length):
            if truncation is not None and t > 0 and t % truncation == 0:
                h = h.detach()
            h = self.cell(steps[:, t], h)
        return h

    w_x: nn.Parameter
    w_h: nn.Parameter
    b: nn.Parameter
    w_out: nn.Parameter
    b_out: nn.Parameter


def _uniform(shape: tuple[int, ...], bound: float) -> nn.Parameter:
    """A parameter drawn from U(-bound, bound) (``torch.nn.GRU``'s and ``nn.RNN``'s init)."""
    return nn.Parameter(torch.empty(shape, dtype=torch.float64).uniform_(-bound, bound))


class GRUAdder(_Recurrent):
    """A GRU over the sequence, read out linearly from its last hidden state.

    ``r = sigmoid(x W_r + h U_r + b_r)``, ``z = sigmoid(x W_z + h U_z + b_z)``,
    ``n = tanh(x W_n + r * (h U_n) + b_n)``, ``h' = (1 - z) * n + z * h``; the three gates'
    weights are stored side by side (``w_x`` is ``(2, 3H)``, columns r | z | n).
    """

    def __init__(self, length: int, hidden_size: int) -> None:
        super().__init__(length, hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        self.w_x = _uniform((FEATURES, 3 * hidden_size), bound)
        self.w_h = _uniform((hidden_size, 3 * hidden_size), bound)
        self.b = _uniform((3 * hidden_size,), bound)
        self.w_out = _uniform((hidden_size, 1), bound)
        self.b_out = _uniform((1,), bound)

    def cell(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        k = self.hidden_size
        gx = x_t @ self.w_x + self.b
        w_h = self.w_h
        r = torch.sigmoid(gx[:, :k] + h @ w_h[:, :k])
        z = torch.sigmoid(gx[:, k : 2 * k] + h @ w_h[:, k : 2 * k])
        n = torch.tanh(gx[:, 2 * k :] + r * (h @ w_h[:, 2 * k :]))
        return (1.0 - z) * n + z * h


class ElmanAdder(_Recurrent):
    """An Elman network ``h' = tanh(x W + h U + b)``, read out linearly from its last state."""

    def __init__(self, length: int, hidden_size: int) -> None:
        super().__init__(length, hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        self.w_x = _uniform((FEATURES, hidden_size), bound)
        self.w_h = _uniform((hidden_size, hidden_size), bound)
        self.b = _uniform((hidden_size,), bound)
        self.w_out = _uniform((hidden_size, 1), bound)
        self.b_out = _uniform((1,), bound)

    def cell(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x_t @ self.w_x + h @ self.w_h + self.b)


@dataclass(frozen=True)
class AdderFactory:
    """The zero-argument module factory of :class:`ModuleSpec`, compared by value (two builds of
    the same task have equal networks, which a ``functools.partial`` would not give)."""

    cell: str
    length: int
    hidden_size: int

    def __call__(self) -> nn.Module:
        kind = GRUAdder if self.cell == "gru" else ElmanAdder
        return kind(self.length, self.hidden_size)


def make_adding(
    *,
    length: int = 30,
    cell: str = "gru",
    hidden_size: int = 8,
    num_train: int = 512,
    num_test: int = 256,
    data_seed: int = 0,
) -> Task:
    """Build the adding problem.

    Args:
        length: steps per sequence ``T``, in [2, 10000] (two markers need two steps).
        cell: the recurrent cell, ``"gru"`` or ``"elman"``.
        hidden_size: the cell's hidden units (>= 1). (Not ``hidden``: that name is the MLP
            override every task accepts, ``tasks.base.MODEL_OPTIONS``.)
        num_train: training sequences (>= 1).
        num_test: test sequences (>= 1).
        data_seed: seed of both splits.
    """
    owner = "task 'adding'"
    if isinstance(length, int) and not isinstance(length, bool) and length < 2:
        raise InvalidParameterError(
            f"The 'length' parameter of {owner} must be an int in the range [2, 10000]: every "
            f"sequence holds exactly two markers, one in each half. Got {length!r} instead."
        )
    check_interval(length, "length", owner, kind=int, low=2, high=10_000)
    check_options(cell, "cell", owner, CELLS)
    check_interval(hidden_size, "hidden_size", owner, kind=int, low=1, high=4096)
    check_interval(num_train, "num_train", owner, kind=int, low=1)
    check_interval(num_test, "num_test", owner, kind=int, low=1)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    train_seq, test_seq = np.random.SeedSequence(data_seed).spawn(2)
    x_train, y_train = adding_data(length, num_train, np.random.default_rng(train_seq))
    x_test, y_test = adding_data(length, num_test, np.random.default_rng(test_seq))
    knobs = {"length": length, "cell": cell, "hidden_size": hidden_size,
             "num_train": num_train, "num_test": num_test, "data_seed": data_seed}
    model = ModuleSpec(
        module=AdderFactory(cell, length, hidden_size),
        n_in=FEATURES * length,
        n_out=1,
        options={"cell": cell, "length": length, "hidden_size": hidden_size},
    )
    return Task(
        name="adding",
        family="sequence",
        kind="regression",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        model=model,
        loss="mse",
        target=Target(max_mse=TARGET_MSE),
        options=knobs,
        description=(
            f"Adding problem (Hochreiter & Schmidhuber 1997): {num_train} sequences of {length} "
            f"(value, marker) pairs, the target the sum of the two marked values, through a "
            f"{cell.upper() if cell == 'gru' else 'Elman'} cell of {hidden_size} units "
            f"({model.num_params} parameters). Train MSE <= {TARGET_MSE:g}: predicting the mean "
            f"1.0 gives {BASELINE_MSE:.3f}, so the target needs both marked values carried "
            f"across up to {length - 1} steps."
        ),
    )


#: Scale of the hand-set network's running sum (small, so its tanh units stay linear).
_SCALE = 0.003
#: Gate saturation of the hand-set network: sigmoid(20) = 1 - 2e-9.
_SATURATE = 20.0


def known_good(task: Task) -> FlatParams:
    """A hand-set network that adds the two marked values (train MSE < 1e-4 up to T = 200).

    GRU: one unit keeps a running sum. Its update gate is ``sigmoid(20 (1 - m))``: 1 - 2e-9 on
    unmarked steps (the state is kept), 1/2 on marked ones, where the candidate
    ``tanh(2 a v + h)`` averaged with ``h`` adds ``a v`` (``a = 0.003``, so tanh is linear to
    within 1e-5). The read-out divides by ``a``.

    Elman: unit ``p = tanh(a v + 10 m - 10)`` and ``q = tanh(10 m - 10)`` differ by ``a v`` on a
    marked step and by about 1e-9 elsewhere; unit ``s = tanh(s + p - q)`` accumulates that
    difference one step later, and the read-out ``(s + p - q) / a`` adds the last step's.
    Units beyond those are zero.
    """
    opts = task.options
    h, cell, length = int(opts["hidden_size"]), str(opts["cell"]), int(opts["length"])
    module: _Recurrent
    if cell == "gru":
        module = GRUAdder(length, h)
    elif h >= 3:
        module = ElmanAdder(length, h)
    else:
        raise InvalidParameterError(
            f"The 'hidden_size' parameter of the hand-set Elman adder must be at least 3 (one "
            f"running sum and two gate units). Got {h} instead."
        )
    with torch.no_grad():
        for weights in module.parameters():
            weights.zero_()
        w_x, w_h, b, w_out = module.w_x, module.w_h, module.b, module.w_out
        if cell == "gru":
            b[0] = _SATURATE  # reset gate open: r = 1
            w_x[1, h] = -_SATURATE  # update gate sigmoid(20 (1 - m))
            b[h] = _SATURATE
            w_x[0, 2 * h] = 2.0 * _SCALE  # candidate tanh(2 a v + h)
            w_h[0, 2 * h] = 1.0
            w_out[0, 0] = 1.0 / _SCALE
        else:
            s, p, q = 0, 1, 2  # running sum, gated value, gate alone
            w_h[s, s], w_h[p, s], w_h[q, s] = 1.0, 1.0, -1.0
            w_x[0, p], w_x[1, p], b[p] = _SCALE, _SATURATE / 2, -_SATURATE / 2
            w_x[1, q], b[q] = _SATURATE / 2, -_SATURATE / 2
            w_out[s, 0], w_out[p, 0], w_out[q, 0] = 1.0 / _SCALE, 1.0 / _SCALE, -1.0 / _SCALE
    return flat_parameters(module)


def flat_parameters(module: nn.Module) -> FlatParams:
    """A module's parameters as one float64 vector, in ``module.parameters()`` order (each
    row-major): the layout of a :class:`ModuleSpec`'s flat vector."""
    flat = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
    return flat.to(torch.float64).numpy().copy()


make_adding.known_good = known_good  # type: ignore[attr-defined]
