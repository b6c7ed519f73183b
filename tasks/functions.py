"""Function approximation: ``exp``, a polynomial, ``|x|``, a step, ``sinc`` and ``sin(x) cos(y)``.

The write-up asks which functions a network can approximate and how the cost grows as the
function gets harder. Each task here is one function with one difficulty knob (a rate, a degree,
a frequency, a number of jumps) so that cost can be plotted against it, and all of them share
the rest of their setup with ``sine`` (:mod:`tasks.sine`), which keeps its own ``frequency`` knob:

* Data: ``num_train`` inputs drawn uniformly from the domain with ``data_seed``; the test set is
  an evenly spaced grid over the same domain (interpolation, not extrapolation). The two sets
  share no point (a sampled point on the grid has probability zero and is checked by the tests).
* Domain: ``x in [-1, 1]`` for the 1-D functions, so the input scale never adds difficulty of its
  own; ``[-pi, pi]^2`` for ``sin2d``, a whole number of periods at integer frequencies.
* Default network: ``1-16 tanh-1 linear`` (``2-16 tanh-1 linear`` for ``sin2d``), Glorot init,
  MSE: the same network as ``sine``, so the functions are compared at a fixed width; the width
  is the ``hidden`` option.
* Target: train MSE <= 2% of the function's variance over its domain (R^2 >= 0.98). This is the
  ``sine`` target (0.01 = 2% of sin's variance 0.5) made scale-free, so that every function and
  every knob value asks for the same quality of fit: a curve that visibly follows the function.
  The variance is that of the function on a dense grid, not of the sample, so the threshold does
  not move with ``data_seed``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.polynomial import chebyshev

from tasks._validation import check_interval
from tasks.base import Target, Task
from tasks.mlp import FloatArray, ModelSpec

#: Share of the function's variance the training MSE must get under (R^2 >= 0.98).
RELATIVE_MSE = 0.02
_DENSE = 4097  # grid points used to measure a 1-D function's variance over its domain


def _regression_task(
    *,
    name: str,
    fn: Callable[[FloatArray], FloatArray],
    low: float,
    high: float,
    n_in: int,
    num_train: int,
    num_test: int,
    data_seed: int,
    hidden: int,
    knobs: dict[str, float | int],
    description: str,
) -> Task:
    """Build a regression task on the box ``[low, high]^n_in`` (see the module docstring).

    ``fn`` maps inputs ``(N, n_in)`` to outputs ``(N,)``. For ``n_in = 2`` the test set is a
    ``num_test`` x ``num_test`` grid.
    """
    owner = f"task {name!r}"
    check_interval(num_train, "num_train", owner, kind=int, low=4)
    check_interval(num_test, "num_test", owner, kind=int, low=2)
    check_interval(data_seed, "data_seed", owner, kind=int, low=0)
    rng = np.random.default_rng(data_seed)
    x_train = rng.uniform(low, high, (num_train, n_in))
    if n_in == 1:
        x_train = np.sort(x_train, axis=0)
        x_test = np.linspace(low, high, num_test)[:, None]
        dense = np.linspace(low, high, _DENSE)[:, None]
    else:
        axis = np.linspace(low, high, num_test)
        x_test = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
        fine = np.linspace(low, high, 257)
        dense = np.stack(np.meshgrid(fine, fine, indexing="ij"), axis=-1).reshape(-1, 2)
    variance = float(np.var(fn(dense)))
    max_mse = RELATIVE_MSE * variance
    options: dict[str, float | int] = {**knobs, "num_train": num_train, "num_test": num_test,
                                       "data_seed": data_seed}
    return Task(
        name=name,
        family="function",
        kind="regression",
        x_train=x_train,
        y_train=fn(x_train)[:, None],
        x_test=x_test,
        y_test=fn(x_test)[:, None],
        model=ModelSpec.build(n_in, (hidden,), 1, hidden_activation="tanh",
                              output_activation="identity", init="glorot"),
        loss="mse",
        target=Target(max_mse=max_mse),
        options=options,
        description=(
            f"{description}; {num_train} random training points; target train MSE <= "
            f"{max_mse:.4g} (2% of the function's variance {variance:.4g})."
        ),
    )


def make_exp(
    *, rate: float = 2.0, num_train: int = 64, num_test: int = 256, data_seed: int = 0
) -> Task:
    """Exponential ``y = exp(rate (x - 1))`` on ``[-1, 1]``: a smooth, convex rise.

    The output is scaled into ``(0, 1]`` so it never blows up; a higher ``rate`` packs the rise
    into a narrower region near ``x = 1`` and spreads the values over more orders of magnitude
    (``exp(-2 rate)`` to 1), so the fit needs more curvature in less room.

    Args:
        rate: the knob, in (0, 20].
        num_train: training points (>= 4), uniform with ``data_seed``.
        num_test: evenly spaced test points (>= 2).
        data_seed: seed of the training sample.
    """
    check_interval(rate, "rate", "task 'exp'", low=0.0, high=20.0, closed="right")
    return _regression_task(
        name="exp", fn=lambda x: np.exp(rate * (x[:, 0] - 1.0)), low=-1.0, high=1.0, n_in=1,
        num_train=num_train, num_test=num_test, data_seed=data_seed, hidden=16,
        knobs={"rate": rate}, description=f"exp({rate:g} (x - 1)) on [-1, 1]",
    )


def make_poly(
    *, degree: int = 3, num_train: int = 64, num_test: int = 256, data_seed: int = 0
) -> Task:
    """Chebyshev polynomial ``y = T_degree(x)`` on ``[-1, 1]``.

    The Chebyshev polynomial of the first kind stays within ``[-1, 1]`` on the interval at every
    degree and has ``degree - 1`` turning points there, so the degree adds wiggles without
    adding scale: a clean difficulty knob (a monomial ``x^n`` would only get flatter).

    Args:
        degree: the knob, 1 to 30.
        num_train: training points (>= 4), uniform with ``data_seed``.
        num_test: evenly spaced test points (>= 2).
        data_seed: seed of the training sample.
    """
    check_interval(degree, "degree", "task 'poly'", kind=int, low=1, high=30)
    basis = chebyshev.Chebyshev.basis(degree)
    return _regression_task(
        name="poly", fn=lambda x: basis(x[:, 0]), low=-1.0, high=1.0, n_in=1,
        num_train=num_train, num_test=num_test, data_seed=data_seed, hidden=16,
        knobs={"degree": degree}, description=f"Chebyshev T_{degree}(x) on [-1, 1]",
    )


def make_abs(
    *, frequency: float = 1.0, num_train: int = 64, num_test: int = 256, data_seed: int = 0
) -> Task:
    """``|x|`` and its periodic repetition, a triangle wave, on ``[-1, 1]``.

    ``y = |((frequency (x + 1)) mod 2) - 1|``: at ``frequency = 1`` this is exactly ``|x|``
    (one kink, not differentiable at 0); frequency ``k`` repeats the V ``k`` times, giving
    ``2k - 1`` kinks in the interval. Kinks are what smooth units find hard.

    Args:
        frequency: the knob, in (0, 20].
        num_train: training points (>= 4), uniform with ``data_seed``.
        num_test: evenly spaced test points (>= 2).
        data_seed: seed of the training sample.
    """
    check_interval(frequency, "frequency", "task 'abs'", low=0.0, high=20.0, closed="right")
    return _regression_task(
        name="abs", fn=lambda x: np.abs(np.mod(frequency * (x[:, 0] + 1.0), 2.0) - 1.0),
        low=-1.0, high=1.0, n_in=1, num_train=num_train, num_test=num_test,
        data_seed=data_seed, hidden=16, knobs={"frequency": frequency},
        description=f"triangle wave |((({frequency:g} (x + 1)) mod 2) - 1| on [-1, 1]",
    )


def make_step(
    *, num_jumps: int = 1, num_train: int = 64, num_test: int = 256, data_seed: int = 0
) -> Task:
    """A staircase of ``num_jumps`` unit-free jumps from 0 to 1 on ``[-1, 1]`` (not continuous).

    ``y = min(floor((num_jumps + 1) (x + 1) / 2), num_jumps) / num_jumps``: ``num_jumps + 1``
    equal flat levels from 0 to 1. One jump is the Heaviside step at 0. A smooth network can only
    meet a jump with a steep unit, i.e. large weights, which is where gradient methods slow down.

    Args:
        num_jumps: the knob, 1 to 16.
        num_train: training points (>= 4), uniform with ``data_seed``.
        num_test: evenly spaced test points (>= 2).
        data_seed: seed of the training sample.
    """
    check_interval(num_jumps, "num_jumps", "task 'step'", kind=int, low=1, high=16)

    def staircase(x: FloatArray) -> FloatArray:
        level = np.floor((num_jumps + 1) * (x[:, 0] + 1.0) / 2.0)
        return np.minimum(level, num_jumps) / num_jumps

    return _regression_task(
        name="step", fn=staircase, low=-1.0, high=1.0, n_in=1, num_train=num_train,
        num_test=num_test, data_seed=data_seed, hidden=16, knobs={"num_jumps": num_jumps},
        description=f"staircase with {num_jumps} jump(s) from 0 to 1 on [-1, 1]",
    )


def make_sinc(
    *, frequency: float = 4.0, num_train: int = 64, num_test: int = 256, data_seed: int = 0
) -> Task:
    """``y = sinc(frequency x) = sin(pi f x) / (pi f x)`` on ``[-1, 1]``.

    A tall central lobe and decaying side lobes: the function has both a large and small scale.
    ``frequency`` sets the number of lobes: the zeros sit at multiples of ``1 / f``, so an
    integer ``f`` gives ``f - 1`` side lobes on each side; the default 4 shows three.

    Args:
        frequency: the knob, in (0, 20].
        num_train: training points (>= 4), uniform with ``data_seed``.
        num_test: evenly spaced test points (>= 2).
        data_seed: seed of the training sample.
    """
    check_interval(frequency, "frequency", "task 'sinc'", low=0.0, high=20.0, closed="right")
    return _regression_task(
        name="sinc", fn=lambda x: np.sinc(frequency * x[:, 0]), low=-1.0, high=1.0, n_in=1,
        num_train=num_train, num_test=num_test, data_seed=data_seed, hidden=16,
        knobs={"frequency": frequency}, description=f"sinc({frequency:g} x) on [-1, 1]",
    )


def make_sin2d(
    *, frequency: float = 1.0, num_train: int = 256, num_test: int = 32, data_seed: int = 0
) -> Task:
    """``y = sin(k x1) cos(k x2)`` on ``[-pi, pi]^2``: the 2-D member of the family.

    An egg-crate surface of ``2k x 2k`` bumps at integer ``k``; in two dimensions the number of
    bumps, and of points needed to pin them down, grows with ``k^2``. Default network
    ``2-16 tanh-1 linear``.

    Args:
        frequency: ``k``, the knob, in (0, 10].
        num_train: training points (>= 4), uniform over the square with ``data_seed``.
        num_test: test grid points per axis (>= 2); the test set is the ``num_test^2`` grid.
        data_seed: seed of the training sample.
    """
    check_interval(frequency, "frequency", "task 'sin2d'", low=0.0, high=10.0, closed="right")
    return _regression_task(
        name="sin2d",
        fn=lambda x: np.sin(frequency * x[:, 0]) * np.cos(frequency * x[:, 1]),
        low=-np.pi, high=np.pi, n_in=2, num_train=num_train, num_test=num_test,
        data_seed=data_seed, hidden=16, knobs={"frequency": frequency},
        description=f"sin({frequency:g} x1) cos({frequency:g} x2) on [-pi, pi]^2",
    )
