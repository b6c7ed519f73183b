"""scikit-learn's ``MLPClassifier``/``MLPRegressor`` as a reference line, on the task's own network.

A reader of the report wants to know how the benchmark's Adam or L-BFGS compares with what they
would otherwise use: scikit-learn's MLP. This solver trains it on the task's exact training split
(same rows) and network (hidden sizes and hidden activation from ``task.model``; scikit-learn's
output unit must be the task's: softmax for several classes, one logistic unit for two, identity
for regression, otherwise the task is unsupported), with scikit-learn's own defaults, and reports
its weights to the harness after every iteration in the project's flat layout (``tasks/mlp.py``:
per layer ``W`` (fan_in, fan_out) row-major, then ``b``), so the harness scores it exactly like
every other solver. It declares ``paradigm = "reference"``: the verdict and the paired
comparisons leave it out, and the tuning study gives it no trials.

What is scikit-learn's and not the benchmark's:

* initialisation: scikit-learn's Glorot-uniform weights *and biases*, drawn from its own
  ``random_state`` (an integer drawn from the run's generator), not the harness's ``x0``
  (``single_start = False``);
* the loss: scikit-learn's (log-loss or half squared error, plus ``alpha`` times half the squared
  weights), not the task's;
* stopping: scikit-learn's own criterion. ``adam``/``sgd``: the training loss did not improve by
  ``tol`` for more than ``n_iter_no_change`` consecutive epochs (its ``_no_improvement_count``),
  or ``max_iter`` epochs; ``lbfgs``: SciPy's L-BFGS-B tolerances, ``max_iter`` iterations or
  ``max_fun`` loss evaluations. The run then returns on its own (``solver_finished``) unless the
  harness stopped it first.

Accounting (what is counted):

* ``adam``/``sgd``: one iteration is one ``partial_fit`` call, which is one epoch over the
  training split in mini-batches of ``min(200, N)`` (scikit-learn's ``batch_size="auto"``):
  ``N`` forward and ``N`` backward passes.
* ``lbfgs``: one iteration is one complete ``fit`` (SciPy's L-BFGS-B until scikit-learn's
  convergence or its limits). ``fit(max_iter=1, warm_start=True)`` per outer step would restart
  L-BFGS-B and drop its curvature memory at every step, which is no longer scikit-learn's
  L-BFGS, so the whole fit is one iteration and the harness cannot stop it at the target.
  Every loss-and-gradient call scikit-learn makes (its ``_loss_grad_lbfgs``, wrapped to count
  the calls, line-search calls included) is charged ``N`` forward and ``N`` backward passes:
  exact, not estimated. Iteration 0 is scikit-learn's initial weights, before any update.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np

from solvers.base import Cost, Monitor, Solver
from solvers.space import LogUniform, SearchSpace
from tasks._validation import check_interval, check_options
from tasks.base import Task
from tasks.mlp import FlatParams

SKLEARN_SOLVERS: tuple[str, ...] = ("adam", "sgd", "lbfgs")
#: The benchmark's hidden activations, by scikit-learn's name for them.
_ACTIVATIONS = {"identity": "identity", "sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}


@dataclass(frozen=True, kw_only=True)
class SklearnMLPSolver(Solver):
    """scikit-learn's MLP (``MLPClassifier``/``MLPRegressor``) on the task's network and split.

    Iteration: ``adam``/``sgd``: one epoch (one ``partial_fit``); ``lbfgs``: one complete
    ``fit`` (see the module docstring for why).
    Evaluations: ``adam``/``sgd``: ``N`` forward and ``N`` backward passes per epoch;
    ``lbfgs``: ``N`` forward and ``N`` backward passes per loss-and-gradient call scikit-learn
    made (counted).

    Every default is scikit-learn's (1.9), for ``MLPClassifier`` and ``MLPRegressor`` alike.

    Attributes:
        solver: scikit-learn's ``solver``: ``"adam"`` (default), ``"sgd"`` or ``"lbfgs"``.
        learning_rate_init: initial step size for ``adam``/``sgd``, in (0, inf). Default 1e-3.
        alpha: L2 penalty, in [0, inf). Default 1e-4.
        max_iter: epochs (``adam``/``sgd``) or L-BFGS-B iterations, at least 1. Default 200.
        tol: tolerance of the stopping criterion, in [0, inf). Default 1e-4.
        n_iter_no_change: epochs without a ``tol`` improvement before ``adam``/``sgd`` stop, at
            least 1. Default 10.
        max_fun: loss evaluations allowed to ``lbfgs``, at least 1. Default 15000.
        momentum: ``sgd``'s momentum, in [0, 1]. Default 0.9.
    """

    name: ClassVar[str] = "sklearn-mlp"
    paradigm: ClassVar[str] = "reference"
    mlp_only: ClassVar[str] = (
        "trains scikit-learn's own MLP, built from an MLP's layer widths "
        "and hidden activation"
    )
    iteration: ClassVar[str] = (
        "adam/sgd: one epoch (one partial_fit); lbfgs: one complete scikit-learn fit"
    )
    evaluations: ClassVar[str] = (
        "adam/sgd: `N` forward and `N` backward passes per epoch; lbfgs: `N` forward and `N` "
        "backward passes per loss-and-gradient call scikit-learn made (counted)."
    )
    caveat: ClassVar[str] = (
        "`sklearn-mlp` is a reference line, not a competitor: scikit-learn's own initial "
        "weights, loss (with its L2 penalty `alpha`) and stopping rule; with `lbfgs` one "
        "iteration is the whole fit, so it cannot stop at the target."
    )
    stochastic: ClassVar[bool] = True
    single_start: ClassVar[bool] = False
    search_space: ClassVar[SearchSpace] = {"learning_rate_init": LogUniform(1e-4, 1e-1)}

    solver: str = "adam"
    learning_rate_init: float = 1e-3
    alpha: float = 1e-4
    max_iter: int = 200
    tol: float = 1e-4
    n_iter_no_change: int = 10
    max_fun: int = 15000
    momentum: float = 0.9

    def validate(self) -> None:
        owner = type(self).__name__
        check_options(self.solver, "solver", owner, SKLEARN_SOLVERS)
        check_interval(self.learning_rate_init, "learning_rate_init", owner, low=0.0,
                       closed="neither")
        check_interval(self.alpha, "alpha", owner, low=0.0)
        check_interval(self.max_iter, "max_iter", owner, kind=int, low=1)
        check_interval(self.tol, "tol", owner, low=0.0)
        check_interval(self.n_iter_no_change, "n_iter_no_change", owner, kind=int, low=1)
        check_interval(self.max_fun, "max_fun", owner, kind=int, low=1)
        check_interval(self.momentum, "momentum", owner, low=0.0, high=1.0)

    def unsupported_reason(self, task: Task) -> str | None:
        reason = super().unsupported_reason(task)
        if reason is not None:
            return reason
        spec = task.mlp
        activations = set(spec.hidden_activations)
        if not activations:
            return "scikit-learn's MLP needs at least one hidden layer"
        if len(activations) > 1 or next(iter(activations)) not in _ACTIVATIONS:
            return (f"scikit-learn's MLP has one hidden activation out of "
                    f"{sorted(_ACTIVATIONS.values())}; task {task.name!r} has "
                    f"{list(spec.hidden_activations)}")
        expected = sklearn_output(task)
        if spec.output_activation != expected:
            return (f"scikit-learn's output unit for this task is {expected!r}, task "
                    f"{task.name!r} has {spec.output_activation!r}")
        return None

    def iteration_cost(self, task: Task) -> Cost:
        n = task.n_train
        calls = self.max_fun + 1 if self.solver == "lbfgs" else 1
        return Cost(calls * n, calls * n)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> str:
        del x0  # scikit-learn draws its own initial weights (single_start = False)
        seed = int(rng.integers(2**31 - 1))
        model = self.estimator(task, np.random.RandomState(seed))
        if monitor.report(initial_params(model, task, seed), evaluations=0):
            return ""
        x, y = task.x_train, sklearn_targets(task, task.y_train)
        n = task.n_train
        from sklearn.exceptions import ConvergenceWarning

        if self.solver == "lbfgs":
            calls = _count_calls(model)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model.fit(x, y)
            monitor.report(export_params(model), evaluations=calls[0] * n, backward=calls[0] * n)
            hit = any(issubclass(w.category, ConvergenceWarning) for w in caught)
            return (f"scikit-learn lbfgs: {model.n_iter_} iterations, {calls[0]} loss calls"
                    + (", hit max_iter/max_fun" if hit else ", converged"))
        extra: dict[str, Any] = {}
        if task.kind == "classification":
            extra["classes"] = np.arange(max(2, task.y_train.shape[1]))
        for epoch in range(1, self.max_iter + 1):
            model.partial_fit(x, y, **extra)
            extra = {}
            if monitor.report(export_params(model), evaluations=n, backward=n):
                return ""
            if model._no_improvement_count > self.n_iter_no_change:
                return (f"scikit-learn {self.solver}: training loss did not improve by tol="
                        f"{self.tol} for {self.n_iter_no_change} epochs (epoch {epoch})")
        return f"scikit-learn {self.solver}: max_iter={self.max_iter} epochs"

    def estimator(self, task: Task, random_state: np.random.RandomState) -> Any:
        """The scikit-learn estimator for ``task``, unfitted.

        ``random_state`` is a ``RandomState`` instance, not an integer, so successive
        ``partial_fit`` calls continue one stream (shuffling differs per epoch, as in ``fit``).
        """
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        cls = MLPClassifier if task.kind == "classification" else MLPRegressor
        return cls(
            hidden_layer_sizes=tuple(task.mlp.layer_sizes[1:-1]),
            activation=_ACTIVATIONS[task.mlp.hidden_activations[0]],
            solver=self.solver,
            alpha=self.alpha,
            learning_rate_init=self.learning_rate_init,
            max_iter=self.max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            max_fun=self.max_fun,
            momentum=self.momentum,
            random_state=random_state,
        )


def sklearn_output(task: Task) -> str:
    """The output activation scikit-learn's MLP uses for ``task``, in the benchmark's names."""
    if task.kind != "classification":
        return "identity"
    return "sigmoid" if task.y_train.shape[1] == 1 else "softmax"


def sklearn_targets(task: Task, y: np.ndarray) -> np.ndarray:
    """Targets as scikit-learn takes them: class labels, or a vector for one regression output."""
    if task.kind == "classification":
        return y[:, 0].astype(int) if y.shape[1] == 1 else np.argmax(y, axis=1)
    return y[:, 0] if y.shape[1] == 1 else y


def export_params(model: Any) -> FlatParams:
    """scikit-learn's ``coefs_``/``intercepts_`` in the flat layout of ``tasks/mlp.py``."""
    return np.concatenate([np.concatenate([np.asarray(w, dtype=np.float64).ravel(),
                                           np.asarray(b, dtype=np.float64).ravel()])
                           for w, b in zip(model.coefs_, model.intercepts_, strict=True)])


def initial_params(model: Any, task: Task, seed: int) -> FlatParams:
    """The weights scikit-learn's first ``fit``/``partial_fit`` will start from.

    Drawn by scikit-learn's own ``_init_coef`` (Glorot uniform, weights then biases, layer by
    layer) from a fresh ``RandomState(seed)``, the stream ``model`` starts with; a test checks
    the result against the weights of a fit that cannot move them.
    """
    from sklearn.base import clone

    probe = clone(model)
    probe._random_state = np.random.RandomState(seed)
    sizes = task.model.layer_sizes
    layers = [probe._init_coef(a, b, np.float64) for a, b in pairwise(sizes)]
    return np.concatenate([np.concatenate([w.ravel(), b.ravel()]) for w, b in layers])


def _count_calls(model: Any) -> list[int]:
    """Wrap ``model``'s L-BFGS loss-and-gradient function (on the instance) to count calls."""
    calls = [0]
    inner: Callable[..., Any] = model._loss_grad_lbfgs

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return inner(*args, **kwargs)

    model._loss_grad_lbfgs = counted
    return calls
