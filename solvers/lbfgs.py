"""L-BFGS, on ``torch.optim.LBFGS``, full batch, with a strong-Wolfe line search by default.

L-BFGS is what a practitioner reaches for first on small tabular data: scikit-learn's
``MLPClassifier(solver="lbfgs")`` fits iris-sized problems in milliseconds. A benchmark of
gradient descent against evolution without the quasi-Newton baseline flatters both sides.

Cost accounting. One *iteration* is one outer ``optimizer.step(closure)``. Inside it torch runs up
to ``max_iter`` quasi-Newton updates, and the line search calls the closure as often as it needs;
every closure call is one full-batch forward and backward pass (``N`` forward, ``N`` backward
single-example passes). The solver counts the closure calls that were actually made and reports
``calls * N`` of each, so line-search cost is charged exactly, not estimated.

When torch's own tests stop the step at once (the gradient is below ``tolerance_grad`` at the
first evaluation, or the loss or the step no longer change), another ``step`` would spend one
evaluation and change nothing, so the run ends as ``solver_finished``, as scikit-learn's L-BFGS
ends on convergence.

On a task with no useful gradient (``sign``/``step`` units, quantized weights, the 0-1 loss) the
closure is the straight-through forward and backward (``solvers/_ste.py``): the line search
then evaluates the surrogate loss of the quantized network, whose steps are piecewise constant,
and BinaryConnect's latent-weight clip (``clip_latent``) is applied after each outer step,
outside torch's line search, which has no projection.

References: Liu & Nocedal, "On the limited memory BFGS method for large scale optimization",
Mathematical Programming 45, 1989, https://doi.org/10.1007/BF01589116; Nocedal & Wright,
"Numerical Optimization", 2nd ed., 2006, algorithms 7.4 (two-loop recursion) and 3.5-3.6
(strong-Wolfe line search), which ``torch.optim.LBFGS`` implements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from solvers._ste import GradientSolver
from solvers._torch import DTYPES, clip_latent, tensors, to_numpy, torch_forward, torch_loss
from solvers.base import Cost, Monitor
from solvers.space import IntLogUniform, LogUniform, SearchSpace
from tasks._validation import check_interval, check_options
from tasks.base import Task
from tasks.mlp import FlatParams

LINE_SEARCHES: tuple[str | None, ...] = ("strong_wolfe", None)

#: ``torch.optim.LBFGS``'s strong-Wolfe search allows this many closure calls per line search
#: (``max_ls=25`` in ``torch/optim/lbfgs.py``, not exposed by the optimizer), plus its first one.
_MAX_LINE_SEARCH_CALLS = 26


@dataclass(frozen=True, kw_only=True)
class LBFGSSolver(GradientSolver):
    """Full-batch L-BFGS (``torch.optim.LBFGS``), strong-Wolfe line search by default.

    Iteration: one outer ``step``: up to ``max_iter`` quasi-Newton updates with their line
    searches.
    Evaluations: ``N`` forward and ``N`` backward passes per closure call actually made (counted,
    line-search calls included).

    Defaults are ``torch.optim.LBFGS``'s (torch 2.13) except ``line_search_fn``: torch's default
    (``None``) takes fixed steps of ``learning_rate`` along the quasi-Newton direction, which
    diverges on the benchmark's networks from some seeds; every L-BFGS a user meets in practice
    (scikit-learn's and SciPy's L-BFGS-B, which ``MLPClassifier(solver="lbfgs")`` calls) searches
    for a step satisfying the Wolfe conditions, and torch's only such search is ``strong_wolfe``.

    Attributes:
        learning_rate: torch's ``lr``, in (0, inf): the fixed step without a line search, the
            initial trial step with one. Default 1 (torch; the natural quasi-Newton step).
        max_iter: quasi-Newton updates per outer step, at least 1. Default 20 (torch).
        max_eval: closure calls allowed per outer step before it returns (the line search may
            finish its current search past it); ``None`` means torch's ``max_iter * 5 // 4``.
        tolerance_grad: stop when the largest absolute gradient entry is at or below this, in
            [0, inf). Default 1e-7 (torch).
        tolerance_change: stop when the loss or the step changes by less, in [0, inf). Default
            1e-9 (torch).
        history_size: curvature pairs kept, at least 1. Default 100 (torch).
        line_search_fn: ``"strong_wolfe"`` (default, see above) or ``None`` (fixed steps).
        dtype: ``float64`` (matches the harness exactly) or ``float32``.
        estimator, surrogate, clip_latent: the straight-through options of every gradient
            solver (:class:`solvers._ste.GradientSolver`); inert on a task that needs no STE.
    """

    name: ClassVar[str] = "lbfgs"
    paradigm: ClassVar[str] = "gradients"
    evaluations: ClassVar[str] = (
        "`N` forward and `N` backward passes per closure call actually made (counted, "
        "line-search calls included)."
    )
    iteration: ClassVar[str] = "one outer L-BFGS step (up to max_iter updates with line search)"
    search_space: ClassVar[SearchSpace] = {
        "learning_rate": LogUniform(0.01, 2.0),
        "history_size": IntLogUniform(3, 100),
    }

    learning_rate: float = 1.0
    max_iter: int = 20
    max_eval: int | None = None
    tolerance_grad: float = 1e-7
    tolerance_change: float = 1e-9
    history_size: int = 100
    line_search_fn: str | None = "strong_wolfe"
    dtype: str = "float64"

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.max_iter, "max_iter", owner, kind=int, low=1)
        if self.max_eval is not None:
            check_interval(self.max_eval, "max_eval", owner, kind=int, low=1)
        check_interval(self.tolerance_grad, "tolerance_grad", owner, low=0.0)
        check_interval(self.tolerance_change, "tolerance_change", owner, low=0.0)
        check_interval(self.history_size, "history_size", owner, kind=int, low=1)
        check_options(self.line_search_fn, "line_search_fn", owner, LINE_SEARCHES)
        check_options(self.dtype, "dtype", owner, DTYPES)
        self.check_straight_through()

    @property
    def evaluation_cap(self) -> int:
        """torch's ``max_eval``: its default is ``max_iter * 5 // 4``."""
        return self.max_eval if self.max_eval is not None else self.max_iter * 5 // 4

    def max_calls_per_step(self) -> int:
        """Most closure calls one outer step can make.

        torch checks ``max_eval`` only between updates, so a line search that starts one call
        below the cap may run to its own limit.
        """
        if self.line_search_fn is None:
            return min(self.evaluation_cap, self.max_iter + 1)
        return self.evaluation_cap + _MAX_LINE_SEARCH_CALLS

    def iteration_cost(self, task: Task) -> Cost:
        calls = self.max_calls_per_step()
        return Cost(calls * task.n_train, calls * task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        del rng  # deterministic given x0
        x, y = tensors(task, self.dtype)
        theta = torch.tensor(x0, dtype=DTYPES[self.dtype], requires_grad=True)
        spec, n = task.model, task.n_train
        ste = self.straight_through(task)
        estimator, descended = ste.estimator, ste.loss
        clip = clip_latent(spec, theta) if ste.clip_latent else None
        optimizer = torch.optim.LBFGS(
            [theta],
            lr=self.learning_rate,
            max_iter=self.max_iter,
            max_eval=self.max_eval,
            tolerance_grad=self.tolerance_grad,
            tolerance_change=self.tolerance_change,
            history_size=self.history_size,
            line_search_fn=self.line_search_fn,
        )
        calls = 0

        def closure() -> torch.Tensor:
            nonlocal calls
            calls += 1
            optimizer.zero_grad(set_to_none=True)
            loss = torch_loss(task, torch_forward(spec, theta, x, estimator), y, descended)
            loss.backward()
            return loss

        if monitor.report(to_numpy(theta), evaluations=0):
            return
        while True:
            calls = 0
            before = theta.detach().clone()
            loss = optimizer.step(closure)
            if clip is not None:
                # After the outer step, not inside its line search: torch's L-BFGS has no
                # projection, so its curvature pairs see the unclipped path (declared).
                clip()
            moved = not torch.equal(before, theta.detach())
            if monitor.report(to_numpy(theta), evaluations=calls * n, backward=calls * n):
                return
            if not moved or not math.isfinite(float(loss.detach())):
                # torch's convergence tests fired before any update: another step would spend
                # an evaluation and change nothing.
                return
