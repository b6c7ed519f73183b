"""Tasks: data, a network shape, a training loss and a convergence target.

A task is frozen: solvers and the harness only read it. ``Task.losses`` is the hot path for
population methods (one vectorized forward for the whole population), ``Task.evaluate`` is what
the harness calls, untimed, to decide whether the target is met.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from tasks._validation import (
    check_interval,
    check_options,
    check_params_shape,
    check_type,
)
from tasks.errors import InvalidParameterError
from tasks.mlp import (
    HIDDEN_ACTIVATIONS,
    INITS,
    WEIGHTS,
    FlatParams,
    FloatArray,
    ModelSpec,
    activate,
    activate_inplace,
    cross_entropy_from_logits,
    forward,
    mse,
    quantize,
)
from tasks.predictor import Predictor, is_predictor

if TYPE_CHECKING:  # tasks.network imports torch, which ``import tasks`` does not need
    from tasks.network import ModuleSpec

JSONValue = Any
Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")
Metrics = dict[str, float]
BoolArray = NDArray[np.bool_]
LOSSES: tuple[str, ...] = ("mse", "cross_entropy", "zero_one")
#: The losses a gradient can descend as they are. ``zero_one`` (the classification error rate)
#: is piecewise constant in the parameters: its gradient is zero almost everywhere.
DIFFERENTIABLE_LOSSES: tuple[str, ...] = ("mse", "cross_entropy")


@dataclass(frozen=True, kw_only=True)
class Target:
    """Convergence criterion, checked on the training set after every iteration.

    Every threshold that is set must hold. ``min_accuracy=1.0`` means "every output on the right
    side of the decision threshold".

    Attributes:
        max_mse: the training MSE must be at or below this.
        min_accuracy: the training accuracy must be at or above this.
        max_loss: the training loss (the task's loss) must be at or below this.
        min_return: the mean return over a control task's evaluation episodes must be at or
            above this (``tasks/control.py``).
    """

    max_mse: float | None = None
    min_accuracy: float | None = None
    max_loss: float | None = None
    min_return: float | None = None

    def __post_init__(self) -> None:
        if (self.max_mse is None and self.min_accuracy is None and self.max_loss is None
                and self.min_return is None):
            raise InvalidParameterError(
                "Target needs at least one of max_mse, min_accuracy, max_loss, min_return."
            )

    def is_met(self, metrics: Mapping[str, float]) -> bool:
        if self.max_mse is not None and not metrics["mse"] <= self.max_mse:
            return False
        if self.min_return is not None and not metrics.get("return", -np.inf) >= self.min_return:
            return False
        if self.min_accuracy is not None and not metrics.get("accuracy", -1.0) >= self.min_accuracy:
            return False
        return self.max_loss is None or metrics["loss"] <= self.max_loss

    def describe(self) -> str:
        parts = []
        if self.min_accuracy is not None:
            parts.append(f"train accuracy >= {self.min_accuracy:g}")
        if self.max_mse is not None:
            parts.append(f"train MSE <= {self.max_mse:g}")
        if self.max_loss is not None:
            parts.append(f"train loss <= {self.max_loss:g}")
        if self.min_return is not None:
            parts.append(f"mean evaluation return >= {self.min_return:g}")
        return " and ".join(parts)


@dataclass(frozen=True, kw_only=True, eq=False)
class Rollout:
    """A learned field integrated forward from the held-out orbit's start (:class:`Dynamics`).

    Attributes:
        states: the states reached, ``(k, n_state)``, one per sample time until the rollout stopped.
        completed: the fraction of the time span integrated, in [0, 1].
        finished: whether it covered every sample time with finite states (otherwise it left
            the allowed box, blew up or needed too many field evaluations).
    """

    states: FloatArray
    completed: float
    finished: bool


class Dynamics(Protocol):
    """Capability of a task whose network learns a vector field ``ds/dt = f(s)``.

    The task's inputs are states and its outputs their time derivatives, possibly scaled; this
    object maps them to state units, gives the true field and a held-out orbit, and rolls a
    learned field forward with the one integrator that both the rollout metric and the
    phase-portrait figure use.
    """

    @property
    def state_labels(self) -> tuple[str, ...]:
        """Axis labels of the state components (matplotlib mathtext allowed)."""
        ...

    @property
    def times(self) -> FloatArray:
        """The held-out orbit's sample times ``(T,)``."""
        ...

    @property
    def truth(self) -> FloatArray:
        """The held-out orbit ``(T, n_state)`` in state units; ``truth[0]`` is its start."""
        ...

    def to_state(self, x: FloatArray) -> FloatArray:
        """The task's inputs ``(N, n_state)`` in state units."""
        ...

    def true_field(self, states: FloatArray) -> FloatArray:
        """The true field at states ``(N, n_state)``, in state units per time unit."""
        ...

    def learned_field(self, model: ModelSpec | ModuleSpec, params: FlatParams,
                      states: FloatArray) -> FloatArray:
        """The network's field at states ``(N, n_state)``, in the true field's units."""
        ...

    def rollout(self, model: ModelSpec | ModuleSpec, params: FlatParams) -> Rollout:
        """Integrate the network's field from ``truth[0]`` over ``times``."""
        ...


@dataclass(frozen=True, kw_only=True, eq=False)
class Task:
    """A benchmark problem.

    Attributes:
        name: registry key.
        family: the task family (``logic``, ``parity``, ``function``, ...), for grouping.
        kind: ``classification`` (0/1 or one-hot labels) or ``regression``.
        x_train, y_train, x_test, y_test: float64 arrays; ``y`` is ``(N, n_out)``. Tasks without a
            split (the four points of a logic gate) use the training data as test data and say so
            with ``has_split=False``.
        x_val, y_val: an optional validation split carved from the training data (real data
            sets): the harness picks the best-validation checkpoint with it, so the test split
            never chooses anything. ``None`` when the task has none.
        model: the default network, overridable through :func:`with_options`: an MLP
            (:class:`tasks.mlp.ModelSpec`) or any torch module (:class:`tasks.network.ModuleSpec`,
            evaluated through its own batched forward; only ``loss`` and
            ``output_activation`` can be overridden on it).
        loss: the training loss: ``mse``, ``cross_entropy`` or ``zero_one`` (the classification
            error rate, ``1 - accuracy``; classification tasks only; NaN when an output is
            not finite, so a diverged run is still seen as diverged).
        target: the convergence criterion.
        options: every knob value that built this task (recorded with each run).
        description: what the task is, its target and why that threshold.
        final_metrics: optional extra metrics computed once on the final parameters, called as
            ``final_metrics(task.model, params)`` so a network override needs no rebinding (e.g. a
            dynamics rollout error); never called inside the timed loop.
        dynamics: set by a task whose network learns a vector field (:class:`Dynamics`); the
            report draws its phase portrait.

    Properties :attr:`differentiable`, :attr:`needs_straight_through` and
    :attr:`surrogate_loss` tell solvers whether a plain gradient applies (see each).
    """

    name: str
    family: str
    kind: Literal["classification", "regression", "control"]
    x_train: FloatArray
    y_train: FloatArray
    x_test: FloatArray
    y_test: FloatArray
    model: ModelSpec | ModuleSpec
    loss: str = "mse"
    target: Target
    has_split: bool = True
    options: Mapping[str, JSONValue] = field(default_factory=dict)
    description: str = ""
    final_metrics: Callable[[ModelSpec | ModuleSpec, FlatParams], Metrics] | None = None
    x_val: FloatArray | None = None
    y_val: FloatArray | None = None
    dynamics: Dynamics | None = None

    def __post_init__(self) -> None:
        check_options(self.loss, "loss", f"task {self.name!r}", LOSSES)
        if self.loss == "zero_one" and self.kind != "classification":
            allowed = ", ".join(repr(v) for v in DIFFERENTIABLE_LOSSES)
            raise InvalidParameterError(
                f"The 'loss' parameter of task {self.name!r} must be one of {allowed} on a "
                f"{self.kind} task ('zero_one' is a classification error rate). Got 'zero_one' "
                f"instead."
            )
        if self.loss == "cross_entropy" and self.model.output_activation not in (
            "softmax",
            "sigmoid",
        ):
            raise InvalidParameterError(
                f"The 'loss' parameter of task {self.name!r} is 'cross_entropy', which needs a "
                f"'softmax' or 'sigmoid' output activation. Got "
                f"{self.model.output_activation!r} instead."
            )
        n_in, n_out = self.model.layer_sizes[0], self.model.layer_sizes[-1]
        for split, x, y in (
            ("train", self.x_train, self.y_train),
            ("test", self.x_test, self.y_test),
        ):
            if x.ndim != 2 or x.shape[1] != n_in or y.ndim != 2 or y.shape[1] != n_out:
                raise InvalidParameterError(
                    f"Task {self.name!r}: {split} data shapes {x.shape} -> {y.shape} do not fit "
                    f"the network {self.model.describe()}."
                )

    @property
    def differentiable(self) -> bool:
        """Whether a plain gradient of the training loss trains this task.

        ``True`` for a supervised loss over labelled data through a network with real weights
        and no hard thresholds. ``False`` where the gradient is zero almost everywhere (see
        :attr:`needs_straight_through`), and on control tasks (``tasks/control.py``), which are
        scored by episodic return. Solvers that need it report such a task as unsupported ("not
        applicable"), unless they train through a straight-through estimator.
        """
        return self.loss in DIFFERENTIABLE_LOSSES and not self.needs_straight_through

    @property
    def exact_costs(self) -> bool:
        """Whether an iteration costs what its solver declares (``Solver.iteration_cost``), so
        the harness can stop a run before an iteration would pass the evaluation budget.

        ``True`` for supervised tasks (a pass over ``N`` examples costs ``N``). A control task's
        episodes end when they end, so the declared cost is only an upper bound (every episode
        at its time limit), often 10-50x what the iteration takes; see :class:`ControlTask`.
        """
        return True

    @property
    def needs_straight_through(self) -> bool:
        """Whether a gradient solver can train this task only through a straight-through estimator.

        ``True`` for a supervised task (labelled data) whose network has ``sign`` or ``step``
        hidden units or quantized weights, or whose loss is ``zero_one``: the forward pass is
        piecewise constant in the parameters there, so the true gradient is zero almost
        everywhere. A gradient solver then runs the quantized/thresholded forward, backpropagates
        through a declared proxy, and descends :attr:`surrogate_loss`; the target and metrics
        stay the quantized network's (Bengio, Leonard & Courville 2013, arXiv 1308.3432).
        """
        supervised = self.loss in LOSSES  # a control task's loss is its negative return
        return supervised and (
            self.model.thresholded or self.model.quantized or self.loss == "zero_one"
        )

    @property
    def surrogate_loss(self) -> str:
        """The differentiable loss a gradient solver descends on this task.

        The task's own loss when it is differentiable (``mse``, ``cross_entropy``). Under
        ``zero_one``: ``cross_entropy`` on the output logits for a ``softmax`` or ``sigmoid``
        output (the error rate's usual convex surrogate), ``mse`` on the outputs otherwise;
        the target and metrics stay the 0-1 ones.
        """
        if self.loss != "zero_one":
            return self.loss
        if self.model.output_activation in ("softmax", "sigmoid"):
            return "cross_entropy"
        return "mse"

    @property
    def mlp(self) -> ModelSpec:
        """The network as an MLP, for code that reads its dense layers (ZORB, ELM, LM, ...).

        Such solvers refuse a torch module's task first (``Solver.mlp_only``), so reaching a
        module here is a bug in the caller.

        Raises:
            TypeError: the network is a torch module (``tasks/network.py``), not an MLP.
        """
        if not isinstance(self.model, ModelSpec):
            raise TypeError(
                f"Task {self.name!r}'s network is a torch module ({self.model.describe()}), "
                f"not an MLP: it has no dense layers to read."
            )
        return self.model

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def num_params(self) -> int:
        return self.model.num_params

    @property
    def has_validation(self) -> bool:
        return self.x_val is not None and self.y_val is not None and len(self.x_val) > 0

    def data(self, split: Split) -> tuple[FloatArray, FloatArray]:
        if split == "train":
            return self.x_train, self.y_train
        if split == "test":
            return self.x_test, self.y_test
        if split == "val":
            if self.x_val is None or self.y_val is None:
                raise InvalidParameterError(f"Task {self.name!r} has no validation split.")
            return self.x_val, self.y_val
        check_options(split, "split", f"task {self.name!r}", SPLITS)
        raise AssertionError("unreachable")  # pragma: no cover

    def losses(
        self, population: FloatArray, split: Split = "train", *, dtype: str = "float64"
    ) -> FloatArray:
        """Training loss of every member of a population ``(P, n_params)`` -> ``(P,)``.

        ``dtype="float32"`` runs the forward in single precision (about twice the arithmetic
        rate; see ``benchmarks/bench_hotpaths.py``) and returns the losses as float64. For a
        population method's fitness only: the harness's target check stays in float64.

        Raises:
            InvalidParameterError: ``population`` is not ``(P, num_params)``.
        """
        shape: tuple[int, ...] = getattr(population, "shape", ())
        if len(shape) != 2 or shape[1] != self.model.num_params:
            check_params_shape(population, self.model.num_params, "population",
                               self._owner("losses"), population=True)
        x, y = self.data(split)
        if dtype == "float32":
            population = population.astype(np.float32)
            x, y = x.astype(np.float32), y.astype(np.float32)
        elif dtype != "float64":
            raise InvalidParameterError(
                f"The 'dtype' parameter of Task.losses must be 'float64' or 'float32'. Got "
                f"{dtype!r} instead."
            )
        if self.loss == "cross_entropy":
            z = forward(self.model, population, x, logits=True)
            out = cross_entropy_from_logits(z, y, self.model.output_activation)
        elif self.loss == "zero_one":
            out = error_rates(forward(self.model, population, x), y)
        else:
            out = mse(forward(self.model, population, x), y)
        return out.astype(np.float64, copy=False)

    def scored_losses(self, population: FloatArray) -> tuple[FloatArray, int]:
        """Training losses of a population and the evaluations they cost.

        Population solvers charge what this returns, so a task whose cost per member varies (a
        control task charges the environment steps actually taken) is accounted exactly. Here
        every member costs one forward pass per training example.
        """
        return self.losses(population), len(population) * self.n_train

    def evaluate(self, params: FlatParams | Predictor, split: Split = "train") -> Metrics:
        """Loss, MSE and (for classification) accuracy of one parameter vector on a split.

        A predictor (``tasks/predictor.py``) is accepted too and judged by
        :meth:`evaluate_predictor`, so the harness's later evaluations (validation, test) take
        either; the flat-vector path is untouched by it (the test sits behind the shape check).

        Raises:
            InvalidParameterError: ``params`` is not a vector of :attr:`num_params` values.
        """
        if getattr(params, "shape", None) != (self.model.num_params,):
            if is_predictor(params):
                return self.evaluate_predictor(params, split)  # type: ignore[arg-type]
            check_params_shape(params, self.model.num_params, "params", self._owner("evaluate"))
        x, y = self.data(split)
        z = forward(self.model, params[None, :], x, logits=True)  # type: ignore[index]
        return self._metrics_from_logits(z, y)

    def evaluate_predictor(self, predictor: Predictor, split: Split = "train") -> Metrics:
        """:meth:`evaluate` of a predictor: its logits through the task's output activation,
        loss and metrics, the same code :meth:`evaluate` runs on the MLP's logits.

        Raises:
            InvalidParameterError: the predictor's logits are not ``(n, n_out)`` for the split's
                ``n`` examples and the task's ``n_out`` outputs.
        """
        x, y = self.data(split)
        z = self._predictor_logits(predictor, x)
        return self._metrics_from_logits(z[None], y)

    def scored_predictor_losses(self, predictors: Sequence[Predictor]) -> tuple[FloatArray, int]:
        """Training losses of several predictors and the evaluations they cost.

        :meth:`scored_losses` for solvers whose networks are predictors: each loss is the one
        :meth:`evaluate_predictor` gives on the training split (so a solver ranks by exactly the
        harness's training loss), and each predictor costs one forward pass per training
        example. Predictors of different shapes cannot share a batched forward: one call each.
        """
        x, y = self.x_train, self.y_train
        n_out = self.model.layer_sizes[-1]
        z = np.empty((len(predictors), x.shape[0], n_out))
        for i, predictor in enumerate(predictors):
            z[i] = self._predictor_logits(predictor, x)
        return self._losses_from_logits(z, y), len(predictors) * self.n_train

    def _predictor_logits(self, predictor: Predictor, x: FloatArray) -> FloatArray:
        """A predictor's logits for ``x``, checked: ``(n, n_out)`` float64."""
        z = np.asarray(predictor.logits(x), dtype=np.float64)
        expected = (x.shape[0], self.model.layer_sizes[-1])
        if z.shape != expected:
            raise InvalidParameterError(
                f"The 'predictor' parameter of {self._owner('evaluate_predictor')} must give "
                f"logits of shape {expected}. Got shape {z.shape} instead."
            )
        return z

    def _losses_from_logits(self, z: FloatArray, y: FloatArray) -> FloatArray:
        """Losses ``(P,)`` of networks from their logits ``(P, n, n_out)``: the loss of
        :meth:`_metrics_from_logits`, the same operations on ``P`` rows at once."""
        if self.loss == "cross_entropy":
            return cross_entropy_from_logits(z, y, self.model.output_activation)
        out = activate(self.model.output_activation, z)
        return error_rates(out, y) if self.loss == "zero_one" else mse(out, y)

    def _metrics_from_logits(self, z: FloatArray, y: FloatArray) -> Metrics:
        """The metrics of one network from its logits ``(1, n, n_out)`` on targets ``y``:
        what :meth:`evaluate` and :meth:`evaluate_predictor` share."""
        out = activate(self.model.output_activation, z)
        metrics: Metrics = {"mse": float(mse(out, y)[0])}
        if self.loss == "cross_entropy":
            metrics["loss"] = float(
                cross_entropy_from_logits(z, y, self.model.output_activation)[0]
            )
        elif self.loss == "zero_one":
            metrics["loss"] = float(error_rates(out, y)[0])
        else:
            metrics["loss"] = metrics["mse"]
        if self.kind == "classification":
            metrics["accuracy"] = accuracy(out[0], y)
        return metrics

    def _owner(self, method: str) -> str:
        """``Task.evaluate of task 'xor' (network 2-2sigmoid-1identity (normal))``."""
        return f"Task.{method} of task {self.name!r} (network {self.model.describe()})"

    def evaluator(self, split: Split = "train") -> Callable[[FlatParams | Predictor], Metrics]:
        """A reusable :meth:`evaluate` for one split: same metrics, bit for bit, far less overhead.

        The harness evaluates the target after every iteration; on XOR one call of
        :meth:`evaluate` is ~50 us of Python and NumPy dispatch around ~2 us of arithmetic. The
        evaluator slices the layer views, allocates the activations and precomputes the labels
        once, then runs the same NumPy operations on arrays of the same shapes. A torch module's
        network has no layers to slice: its evaluator is :meth:`evaluate` itself.
        """
        if not isinstance(self.model, ModelSpec):
            return ModuleEvaluator(self, split)
        return Evaluator(self, split)

    def batch_evaluator(self, split: Split = "train") -> Callable[[FloatArray], list[Metrics]]:
        """:meth:`evaluate` for many parameter vectors ``(K, n_params)`` in one vectorized call.

        The harness holds a few reports of a fast solver and evaluates them together (see
        ``benchmarks/harness.py``): on XOR, about 2 us per vector against 20-30 us for one
        call of :meth:`evaluator` (measured inside the harness's benchmark runs). The
        metrics are :meth:`evaluate`'s to the last bit, row by row (``tests/tasks/test_mlp.py``
        checks every registered task).
        """
        return BatchEvaluator(self, split)

    def quiet_screen(self) -> Callable[[FloatArray], BoolArray] | None:
        """A cheap, sound test of which parameter vectors decide nothing on the training split.

        Before the target is met the harness evaluates every report exactly, yet most reports
        only need to be known *quiet*: a finite training loss that does not meet the target.
        The screen proves that from bounds and a fixed eighth of the examples (see
        :class:`QuietScreen`), so the harness evaluates exactly only the reports the screen
        cannot clear. ``None`` where it cannot help: too few examples for an eighth to be cheaper,
        a task that evaluates its own way (a subclass overriding :meth:`evaluate` or the
        evaluators), or a target it has no bound for.
        """
        base = Task
        if not isinstance(self.model, ModelSpec):
            return None  # its bounds are an MLP's, layer by layer
        if (type(self).evaluate is not base.evaluate
                or type(self).evaluator is not base.evaluator
                or type(self).batch_evaluator is not base.batch_evaluator):
            return None
        screen = QuietScreen(self)
        return screen if screen.useful else None


class _MetricSetup:
    """What both evaluators take from the task once: data, labels and loss settings."""

    def __init__(self, task: Task, split: Split) -> None:
        x, y = task.data(split)
        self.spec = task.model
        self.num_params = task.model.num_params
        self.shape = (self.num_params,)
        self._owner = task._owner  # named only when a call is refused
        self.x, self.y = x, y
        self.count = float(y.size)  # np.mean's divisor
        self.n = x.shape[0]
        self.output = task.model.output_activation
        self.cross_entropy = task.loss == "cross_entropy"
        self.zero_one = task.loss == "zero_one"
        self.classification = task.kind == "classification"
        self.one_output = y.shape[1] == 1
        self.labels = (y[:, 0] > 0.5) if self.one_output else np.argmax(y, axis=1)


class BatchEvaluator(_MetricSetup):
    """``[task.evaluate(p, split) for p in population]`` in one population forward.

    The same NumPy operations as :meth:`Task.evaluate` on a population of one, applied to a
    population: the batched matmul runs the same product per member, and every reduction runs
    per member over the same contiguous values, so each row's metrics are bit-identical.
    """

    def __call__(self, population: FloatArray) -> list[Metrics]:
        shape: tuple[int, ...] = getattr(population, "shape", ())
        if len(shape) != 2 or shape[1] != self.num_params:
            check_params_shape(population, self.num_params, "population",
                               self._owner("batch_evaluator"), population=True)
        k = population.shape[0]
        z = forward(self.spec, population, self.x, logits=True)
        out = activate(self.output, z)
        diff = np.subtract(out, self.y)
        np.multiply(diff, diff, out=diff)
        mse_values = diff.reshape(k, -1).sum(axis=1) / self.count
        mses: list[float] = mse_values.tolist()
        if self.cross_entropy:
            losses = cross_entropy_from_logits(z, self.y, self.output).tolist()
        elif self.zero_one:
            losses = error_rates(out, self.y).tolist()
        else:
            losses = mses
        rows: list[Metrics] = [{"mse": m, "loss": v} for m, v in zip(mses, losses, strict=True)]
        if self.classification:
            if self.one_output:
                hits = np.count_nonzero((out[:, :, 0] > 0.5) == self.labels, axis=1)
            else:
                hits = np.count_nonzero(np.argmax(out, axis=2) == self.labels, axis=1)
            for i, (row, hit) in enumerate(zip(rows, (hits / self.n).tolist(), strict=True)):
                # As in ``Evaluator``: a finite MSE means every output is finite.
                finite = math.isfinite(row["mse"]) or bool(np.isfinite(out[i]).all())
                row["accuracy"] = hit if finite else 0.0
        return rows


class ModuleEvaluator(_MetricSetup):
    """``task.evaluate(params, split)`` for a torch module's network (``tasks/network.py``).

    A module's forward (one ``functional_call``) costs far more than the per-call set-up the
    MLP's :class:`Evaluator` saves, so this one is :meth:`Task.evaluate` itself: identical
    metrics by construction.
    """

    def __init__(self, task: Task, split: Split) -> None:
        super().__init__(task, split)
        self.task, self.split = task, split

    def __call__(self, params: Any) -> Metrics:
        return self.task.evaluate(params, self.split)


class Evaluator(_MetricSetup):
    """``task.evaluate(params, split)`` with the per-call set-up done once (see ``evaluator``).

    The same NumPy operations, in the same order, as :meth:`Task.evaluate` on a population of one,
    written on 2-D arrays (NumPy's matmul runs the same inner loop per population member, and a
    mean is a sum divided by the count), into buffers allocated once, so the metrics are identical
    to the last bit: ``tests/tasks/test_mlp.py`` checks every registered task. Not thread-safe: it
    owns its buffers.
    """

    spec: ModelSpec  # Task.evaluator gives a torch module's network a ModuleEvaluator

    def __init__(self, task: Task, split: Split) -> None:
        super().__init__(task, split)  # the data, labels and loss settings, shared
        self.task, self.split = task, split  # for a predictor handed to it
        spec = task.model
        assert isinstance(spec, ModelSpec)  # Task.evaluator gives a module a ModuleEvaluator
        self.spec = spec
        self.params = np.empty(spec.num_params)
        self.layers = [
            (self.params[w].reshape(fi, fo), self.params[b], np.empty((self.n, fo)), act)
            for (w, b, fi, fo), act in zip(spec.slices(), spec.activations, strict=True)
        ]
        self.last = len(self.layers) - 1
        self.diff = np.empty(self.y.shape)

    def __call__(self, params: Any) -> Metrics:  # a vector, or a predictor (Task.evaluate)
        if getattr(params, "shape", None) != self.shape:
            if is_predictor(params):  # judged by its own logits (``Task.evaluate_predictor``)
                return self.task.evaluate_predictor(params, self.split)
            check_params_shape(params, self.num_params, "params", self._owner("evaluator"))
        self.params[:] = quantize(self.spec, params)  # ``params`` itself for real weights
        h: FloatArray = self.x
        for i, (w, b, z, act) in enumerate(self.layers):
            np.matmul(h, w, out=z)
            z += b
            h = z if i == self.last else activate_inplace(act, z)
        out = activate(self.output, h)
        diff = np.subtract(out, self.y, out=self.diff)
        np.multiply(diff, diff, out=diff)
        mse_value = float(diff.sum() / self.count)
        metrics: Metrics = {"mse": mse_value}
        if self.cross_entropy:
            metrics["loss"] = float(cross_entropy_from_logits(h[None], self.y, self.output)[0])
        elif self.zero_one:
            metrics["loss"] = float(error_rates(out[None], self.y)[0])
        else:
            metrics["loss"] = mse_value
        if self.classification:
            # A finite MSE means every output is finite (inf or NaN would propagate), so the
            # scan of ``accuracy`` is needed only when it is not.
            if not math.isfinite(mse_value) and not np.isfinite(out).all():
                metrics["accuracy"] = 0.0
            elif self.one_output:
                hits = np.count_nonzero((out[:, 0] > 0.5) == self.labels)
                metrics["accuracy"] = hits / len(out)
            else:
                hits = np.count_nonzero(np.argmax(out, axis=1) == self.labels)
                metrics["accuracy"] = hits / len(out)
        return metrics


#: Unit roundoff of float64: every correctly rounded operation is exact to ``(1 +- U)``.
_U = 2.0**-53
#: Absolute error allowed per element for NumPy's and SciPy's tanh, expit and softmax, whose
#: values lie in [-1, 1]: about 900 ulps of 1, hundreds of times what they are accurate to.
_ACTIVATION_ERROR = 1e-13
#: What every error bound of the screen is multiplied by before it is trusted.
_SAFETY = 8.0
#: Bounds on activations past which the screen clears nothing (overflow is then possible).
_LARGE = 1e100
#: The screen forwards an eighth of the examples, evenly spread: at least 16, and at most 4,096
#: (its copy of them stays small next to a run's memory on the largest data sets).
_SCREEN_SHARE, _SCREEN_MIN, _SCREEN_MAX = 8, 16, 4096


class QuietScreen(_MetricSetup):
    """Which rows of a population certainly decide nothing: finite training loss, target not met.

    For each row it returns ``True`` only when :meth:`Task.evaluate` on the training split is
    certain to give a finite loss and metrics that do not meet the target, without running it.
    ``False`` means "not proven" and the row is evaluated exactly, so a ``True`` for a row that
    would have met the target (or diverged) is the one error that must never happen. It is
    built from two checks, both rigorous bounds on floating-point arithmetic and then widened
    :data:`_SAFETY` times:

    * **Finite.** Per layer, ``|z| <= max|h| * max_j sum_i |W_ij| + max|b|``; a tanh, sigmoid or
      softmax output is at most 1. While every bound stays below :data:`_LARGE`, no product, sum,
      activation or squared error can overflow, so with finite parameters and data every
      output and the loss are finite.
    * **Not met.** A fixed, evenly spread eighth of the examples (at most 4,096) is forwarded
      the same way as the exact evaluation (the same NumPy operations, on fewer rows). The
      exact evaluation's outputs for those examples may differ from these by rounding only
      (another summation order inside BLAS); a forward-error bound (``gamma_n = n u / (1 - n
      u)`` per dot product of length ``n``, ``u`` the unit roundoff, plus one rounding for the
      bias and :data:`_ACTIVATION_ERROR` per activation, propagated through each layer's
      ``max_j sum_i |W_ij|`` with Lipschitz constant 1) bounds that difference. A target
      condition is then proven unmet when the examples seen already violate it beyond the
      bound: enough of them misclassified whatever the rounding (``min_accuracy``: the other
      examples could all be right), or their squared errors alone, each shrunk by the bound,
      above ``max_mse`` (or ``max_loss`` with the MSE loss; the other examples add
      non-negative terms). Since every set condition must hold for the target to be met, one
      unmet condition suffices. A negative ``max_mse`` (the benchmarks' unreachable target)
      needs no examples at all, and neither does ``min_accuracy`` on a regression task (it has
      no accuracy to meet it with).

    No state between calls. ``tests/tasks/test_quiet_screen.py`` holds it to
    :meth:`Task.evaluate` on six task shapes, with targets at, one ulp around and away from the
    exact metrics.
    """

    spec: ModelSpec  # Task.quiet_screen builds none for a torch module's network

    def __init__(self, task: Task) -> None:
        super().__init__(task, "train")
        assert isinstance(self.spec, ModelSpec)
        target = task.target
        self.layers = [(w, b, fi, fo, act) for (w, b, fi, fo), act
                       in zip(self.spec.slices(), self.spec.activations, strict=True)]
        # Without temporaries the size of the data (a sum is finite only if every value is;
        # one that overflows only turns the screen off).
        data_ok = math.isfinite(float(self.x.sum())) and math.isfinite(float(self.y.sum()))
        self.input_bound = float(max(self.x.max(), -self.x.min())) if self.x.size else 0.0
        self.label_bound = float(max(self.y.max(), -self.y.min())) if self.y.size else 0.0
        # One threshold the MSE must exceed for the target to be unmet (max_loss is the MSE
        # only with the MSE loss; a cross-entropy threshold gets no bound here).
        limits = [target.max_mse]
        if not self.cross_entropy and not self.zero_one:
            limits.append(target.max_loss)
        set_limits = [float(v) for v in limits if v is not None]
        self.mse_limit = min(set_limits) if set_limits else None
        self.min_accuracy = target.min_accuracy
        # A regression task has no accuracy: Target.is_met reads it as -1.
        self.never_met = (target.min_accuracy is not None and not self.classification
                          and target.min_accuracy > -1.0) or (
            self.mse_limit is not None and self.mse_limit < 0.0)
        self.accuracy_bound = self.classification and target.min_accuracy is not None
        m = min(max(_SCREEN_MIN, -(-self.n // _SCREEN_SHARE)), _SCREEN_MAX)
        self.rows = np.unique(np.linspace(0, self.n - 1, m).round().astype(np.intp))
        self.x_sub = np.ascontiguousarray(self.x[self.rows])
        self.y_sub = np.ascontiguousarray(self.y[self.rows])
        self.labels_sub = self.labels[self.rows]
        bounded = self.never_met or self.accuracy_bound or self.mse_limit is not None
        # A hard threshold (sign, step) turns a rounding-level difference in its input into a
        # jump of its output, which no forward-error bound covers: no screen there.
        self.useful = (type(target) is Target and target.min_return is None and data_ok
                       and bounded and self.n >= _SCREEN_SHARE * _SCREEN_MIN
                       and self.label_bound < _LARGE and not self.spec.thresholded)

    def _bounds(self, population: FloatArray) -> tuple[BoolArray, FloatArray]:
        """Per row: whether every activation is bounded below :data:`_LARGE` (so the loss is
        finite), and how far the exact evaluation's outputs may lie from the screen's."""
        k = population.shape[0]
        height = np.full(k, self.input_bound)  # bound on |h| entering the layer
        drift = np.zeros(k)  # bound on |h_exact - h_screen|
        ok = np.ones(k, dtype=bool)
        for w, b, fi, fo, act in self.layers:
            column = np.abs(population[:, w]).reshape(k, fi, fo).sum(axis=1).max(axis=1)
            bias = np.abs(population[:, b]).max(axis=1)
            gamma = fi * _U / (1.0 - fi * _U) + 2.0 * _U
            size = height * column + bias  # |z| without rounding
            drift = drift * column + 2.0 * gamma * ((height + drift) * column + bias)
            drift *= 1.0 + 1e-6  # the bounds' own rounding
            ok &= size < _LARGE
            if act in ("tanh", "sigmoid", "softmax"):
                height = np.ones(k)
                drift = np.minimum(drift, 2.0) + 2.0 * _ACTIVATION_ERROR
            else:  # relu and identity are exact and 1-Lipschitz
                height = size * (1.0 + 1e-6) + drift
        ok &= np.isfinite(drift) & np.isfinite(height) & (height < _LARGE)
        return ok, _SAFETY * drift + 1e-12 * (1.0 + height)

    def __call__(self, population: FloatArray) -> BoolArray:
        shape: tuple[int, ...] = getattr(population, "shape", ())
        if len(shape) != 2 or shape[1] != self.num_params:
            check_params_shape(population, self.num_params, "population",
                               self._owner("quiet_screen"), population=True)
        k = population.shape[0]
        with np.errstate(all="ignore"):  # rows the bounds reject may overflow here
            finite = np.isfinite(population).all(axis=1)
            # The bounds are on the weights the forward uses (forward quantizes by itself).
            ok, drift = self._bounds(quantize(self.spec, population))
            ok &= finite
            if self.never_met or not ok.any():
                return ok if self.never_met else np.zeros(k, dtype=bool)
            out = activate(self.output, forward(self.spec, population, self.x_sub, logits=True))
            unmet = np.zeros(k, dtype=bool)
            d = drift[:, None, None]
            if self.accuracy_bound:
                assert self.min_accuracy is not None
                if self.one_output:
                    o = out[:, :, 0]
                    wrong = np.where(self.labels_sub, o + d[:, :, 0] <= 0.5,
                                     o - d[:, :, 0] > 0.5)
                else:
                    rows = np.arange(len(self.rows))
                    own = out[:, rows, self.labels_sub]
                    other = out.copy()
                    other[:, rows, self.labels_sub] = -np.inf
                    wrong = other.max(axis=2) - own > 2.0 * d[:, :, 0]
                # Accuracy is (hits / n) with hits <= n - wrong: correctly rounded, monotone.
                most = (self.n - np.count_nonzero(wrong, axis=1)) / self.n
                unmet |= most < self.min_accuracy
            if self.mse_limit is not None:
                low = np.maximum(np.abs(out - self.y_sub) - d, 0.0)
                floor = np.square(low).reshape(k, -1).sum(axis=1) * (1.0 - 1e-6) / self.count
                unmet |= floor > self.mse_limit
        return ok & unmet


def error_rates(pred: FloatArray, y: FloatArray) -> FloatArray:
    """The 0-1 loss, ``1 - accuracy``, per member: ``(P, N, k)`` outputs -> ``(P,)``.

    The same decision rule as :func:`accuracy` (threshold 0.5 for one output, argmax for
    one-hot). A member with a non-finite output gets NaN, not an error rate, so that a diverged
    network is reported as diverged rather than as a finite loss.
    """
    if y.shape[1] == 1:
        wrong = (pred[..., 0] > 0.5) != (y[:, 0] > 0.5)
    else:
        wrong = np.argmax(pred, axis=-1) != np.argmax(y, axis=1)
    rates = np.count_nonzero(wrong, axis=-1) / y.shape[0]
    finite = np.isfinite(pred).all(axis=(-2, -1))
    return np.where(finite, rates, np.nan)


def accuracy(pred: FloatArray, y: FloatArray) -> float:
    """Share of examples classified right: argmax for one-hot, threshold 0.5 for one output."""
    if not np.all(np.isfinite(pred)):
        return 0.0
    if y.shape[1] == 1:
        correct = (pred[:, 0] > 0.5) == (y[:, 0] > 0.5)
    else:
        correct = np.argmax(pred, axis=1) == np.argmax(y, axis=1)
    return float(np.mean(correct))


#: Options every task accepts, on top of its own knobs: they override the default network.
MODEL_OPTIONS: tuple[str, ...] = (
    "hidden",
    "hidden_activation",
    "output_activation",
    "init",
    "loss",
    "weights",
)


def with_options(task: Task, **overrides: Any) -> Task:
    """Return ``task`` with its network or loss overridden.

    Args:
        task: the task built with its defaults.
        **overrides: any of ``hidden`` (an int or a tuple of widths), ``hidden_activation`` (a name
            or one per hidden layer), ``output_activation``, ``init``, ``loss``, ``weights``
            (a quantization, :data:`tasks.mlp.WEIGHTS`).

    Raises:
        InvalidParameterError: a value is out of range; the message names it.
    """
    if not overrides:
        return task
    if not isinstance(task.model, ModelSpec):
        return _with_module_options(task, overrides)
    owner = f"task {task.name!r}"
    spec = task.model
    hidden: tuple[int, ...] = tuple(spec.layer_sizes[1:-1])
    if "hidden" in overrides:
        raw = overrides["hidden"]
        raw = (raw,) if isinstance(raw, numbers.Integral) else raw
        check_type(raw, "hidden", owner, (tuple, list), "an int or a tuple of positive ints")
        for width in raw:
            check_interval(width, "hidden", owner, kind=int, low=1)
        hidden = tuple(int(w) for w in raw)
    hidden_act: str | tuple[str, ...] = overrides.get("hidden_activation", spec.hidden_activations)
    if isinstance(hidden_act, str):
        check_options(hidden_act, "hidden_activation", owner, HIDDEN_ACTIVATIONS)
        hidden_act = (hidden_act,) * len(hidden)
    elif len(hidden_act) != len(hidden):
        if len(set(hidden_act)) == 1 and hidden_act:
            hidden_act = (hidden_act[0],) * len(hidden)
        else:
            raise InvalidParameterError(
                f"The 'hidden_activation' parameter of {owner} must be one name or one per hidden "
                f"layer ({len(hidden)}). Got {hidden_act!r} instead."
            )
    output_act = overrides.get("output_activation", spec.output_activation)
    init = overrides.get("init", spec.init)
    check_options(init, "init", owner, INITS)
    weights = overrides.get("weights", spec.weights)
    check_options(weights, "weights", owner, WEIGHTS)
    model = ModelSpec.build(
        spec.layer_sizes[0],
        hidden,
        spec.layer_sizes[-1],
        hidden_activation=tuple(hidden_act),
        output_activation=output_act,
        init=init,
        weights=weights,
    )
    loss = overrides.get("loss", task.loss)
    if model == spec and loss == task.loss:
        return task  # every override equals the default: the same task, the same cell key
    options = dict(task.options)
    options.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in overrides.items()
                    if not _redundant(task, overrides, k, model, loss)})
    return dataclasses.replace(task, model=model, loss=loss, options=options)


#: The overrides that apply to a torch module's network (``tasks/network.py``): they act on its
#: logits, outside the module. The others reshape an MLP's layers, which a module does not have.
MODULE_OPTIONS: tuple[str, ...] = ("output_activation", "loss")


def _with_module_options(task: Task, overrides: dict[str, Any]) -> Task:
    """:func:`with_options` on a task whose network is a torch module.

    ``loss`` and ``output_activation`` apply as on an MLP. ``hidden``, ``hidden_activation``,
    ``init`` and ``weights`` describe an MLP's layers: on a module they would be silently
    meaningless, so they are refused, and the message names the task's own knobs that change
    its network instead.
    """
    from tasks.network import OUTPUT_ACTIVATIONS, ModuleSpec

    spec = task.model
    assert isinstance(spec, ModuleSpec)  # the caller dispatched on it
    owner = f"task {task.name!r}"
    for name, value in overrides.items():
        if name not in MODULE_OPTIONS:
            knobs = ", ".join(spec.options) or "the task's knobs"
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be left unset: the task's network is "
                f"a torch module ({spec.describe()}), not an MLP, and only "
                f"{' and '.join(repr(k) for k in MODULE_OPTIONS)} apply to it; change the "
                f"network through the task's own knobs ({knobs}). Got {value!r} instead."
            )
    model = spec
    if "output_activation" in overrides:
        output = overrides["output_activation"]
        check_options(output, "output_activation", owner, OUTPUT_ACTIVATIONS)
        if output != spec.output_activation:
            model = dataclasses.replace(spec, output_activation=output)
    loss = overrides.get("loss", task.loss)
    if model == spec and loss == task.loss:
        return task  # every override equals the default: the same task, the same cell key
    options = dict(task.options)
    if model != spec:
        options["output_activation"] = model.output_activation
    if loss != task.loss:
        options["loss"] = loss
    return dataclasses.replace(task, model=model, loss=loss, options=options)


def _redundant(task: Task, overrides: dict[str, Any], name: str, model: ModelSpec,
               loss: str) -> bool:
    """Whether dropping override ``name`` builds the same network and loss (a default value).

    Options equal to their defaults are left out of ``task.options``, so they never make a new
    cell key: ``xor.hidden=2`` is the XOR task, and its runs are not repeated.
    """
    rest = {k: v for k, v in overrides.items() if k != name}
    if not rest:
        return False  # handled by the caller (every override is a default)
    try:
        without = with_options(task, **rest)
    except InvalidParameterError:  # the others need this one (a loss needs its activation)
        return False
    return without.model == model and without.loss == loss
