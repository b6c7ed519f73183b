"""Extreme Learning Machine: random hidden layers, the output layer by least squares.

This is ZORB's last step on its own: the hidden layers keep the seed's shared initial (random)
weights, and only the output dense layer is solved, by ``pinv([H, 1]) f_out^{-1}(Y)`` on the real
hidden features ``H``, with the same output inverse as ZORB. It is the ablation that shows what
ZORB's hidden-layer solves add. (The authors' ML-ELM baseline also trains each hidden layer as an
ELM auto-encoder; this is the plain ELM, which needs no choice beyond the network.)

On a network given as a torch module (``tasks/network.py``) the same solve applies wherever the
module ends in a declared linear read-out (``tasks.network.LinearReadout``): the read-out is
fitted on the features of the module's other, random, parameters (a CNN's random convolutions on
``digits_cnn``; on ``adding``, the last hidden state of a random recurrent cell, an echo state
network's reservoir read out by least squares, Jaeger 2001). A module without one (the chaos
controller of ``logistic_map``, whose output is a rollout) is not applicable, with the reason.

Reference: G.-B. Huang, Q.-Y. Zhu and C.-K. Siew, "Extreme learning machine: Theory and
applications", Neurocomputing 70 (2006) 489-501. https://doi.org/10.1016/j.neucom.2005.12.126
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from solvers.base import Cost, Monitor, Solver
from solvers.space import LogUniform, SearchSpace
from solvers.zorb import (
    FittedReadout,
    ZORBNetwork,
    check_export,
    closed_form_unsupported_reason,
)
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import FlatParams, ModelSpec, quantize, quantize_weights

if TYPE_CHECKING:  # tasks.network imports torch; dispatch is on ModelSpec
    from tasks.network import ModuleSpec


@dataclass(frozen=True, kw_only=True)
class ELMSolver(Solver):
    """ELM: one least-squares solve of the output layer on random hidden features.

    Non-differentiable networks (issue 23): the solve needs labelled data, not a gradient, so
    an ELM runs wherever the task has labels. Its hidden features are those of the deployed
    network: the hidden layers' weights quantized as the task says and their units thresholded
    (``sign``, ``step``). With quantized weights the output layer is *fit, then quantized*: the
    least-squares solution is stored as the output layer's latent weights, and the network
    judged (and checked against ELM's own forward) uses their quantization, which can lose
    much of the fit (binary weights keep only the signs). A ``zero_one`` loss changes nothing:
    the fit is least squares on the labels, as always.

    Torch modules (issue 28): where the module declares a linear read-out
    (``tasks.network.LinearReadout``), the read-out is the "output layer" and the module's
    ``features`` are the hidden features: every other parameter keeps ``x0``'s value exactly,
    the read-out is ``pinv([H, 1]) f_out^{-1}(Y)`` with the MLP path's output inverse and
    ``rcond``, and the export check runs the whole module's forward on the result. Elsewhere a
    module is not applicable: the solve needs the last layer to be linear in its parameters.

    Iteration: one solve: a forward pass to the last hidden features (a module's: to its
    read-out's input), then one thin SVD of ``N x (d_{K-1} + 1)``. The algorithm is exactly one
    iteration.
    Evaluations: N forward passes per solve (softmax normalisers from the same pass); no backward.

    Attributes:
        rcond: SVD cut-off relative to the largest singular value, in [0, 1); ``1e-15`` as ZORB
            and as ``numpy.linalg.pinv``'s default.
    """

    name: ClassVar[str] = "elm"
    paradigm: ClassVar[str] = "closed form"
    iteration: ClassVar[str] = "one least-squares solve of the output layer"
    evaluations: ClassVar[str] = (
        "N forward passes per solve (softmax normalisers from the same pass); "
        "no backward."
    )
    search_space: ClassVar[SearchSpace] = {"rcond": LogUniform(1e-15, 1e-2)}

    rcond: float = 1e-15

    def validate(self) -> None:
        check_interval(self.rcond, "rcond", type(self).__name__, low=0.0, high=1.0, closed="left")

    def unsupported_reason(self, task: Task) -> str | None:
        owner = type(self).__name__
        # A network made non-differentiable by its options still has labels to fit.
        reason = None if task.needs_straight_through else super().unsupported_reason(task)
        if reason is not None or isinstance(task.model, ModelSpec):
            return reason or closed_form_unsupported_reason(owner, task)
        layer = task.model.readout_layer()
        if layer is None:
            return (
                f"not applicable: {owner} fits a network's last layer by least squares on the "
                f"features before it, so the last layer must be linear in its parameters; task "
                f"{task.name!r}'s network is a torch module ({task.model.describe()}) that "
                f"declares no linear read-out (a 'linear_readout' attribute, "
                f"tasks.network.LinearReadout, naming that layer's weight and bias, and a "
                f"'features(x)' method giving its input)"
            )
        return closed_form_unsupported_reason(owner, task, fit_width=layer.layer_sizes[0])

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(forward=task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        if monitor.report(x0, evaluations=0):
            return
        if not isinstance(task.model, ModelSpec):
            self._fit_readout(task.model, task, x0, monitor, rng)
            return
        # The only inverse used is the output's; a ReLU output clamps negatives to 0 so that the
        # ELM stays deterministic given x0 (no draws from rng).
        spec = task.mlp
        net = ZORBNetwork(spec, quantize(spec, x0), rcond=self.rcond, relu_fill="clamp")
        net.sweep(task.x_train, task.y_train, rng, layers=[net.depth - 1])
        if spec.quantized:
            # Fit, then quantize: the latent output weights are the least-squares solution,
            # the hidden layers keep x0's latent weights, and every forward quantizes both.
            fitted = net.weights[-1]
            flat = x0.copy()
            w, b, _, _ = list(spec.slices())[-1]
            flat[w], flat[b] = fitted[:-1].ravel(), fitted[-1]
            net.weights[-1] = np.vstack([quantize_weights(spec.weights, fitted[:-1]),
                                         fitted[-1:]])
        else:
            flat = net.to_flat()
        check_export(type(self).__name__, task, net.forward(task.x_train), flat)
        monitor.report(flat, evaluations=task.n_train)

    def _fit_readout(self, spec: ModuleSpec, task: Task, x0: FlatParams, monitor: Monitor,
                     rng: np.random.Generator) -> None:
        """ELM on a torch module: the declared read-out by least squares on ``x0``'s features.

        The read-out is solved as a one-layer MLP over the features (``readout_layer``), by the
        MLP path's own code: the same output inverse (softmax normalisers from ``x0``'s read-out
        on the same features), least squares and ``rcond``. Only the read-out's entries of the
        exported vector change.
        """
        layer = spec.readout_layer()
        if layer is None:  # unsupported_reason refuses such a task; a direct call says why
            raise InvalidParameterError(
                f"{type(self).__name__}.run cannot run task {task.name!r}: "
                f"{self.unsupported_reason(task)}."
            )
        features = spec.features(x0, task.x_train)
        net = ZORBNetwork(layer, spec.readout_params(x0), rcond=self.rcond, relu_fill="clamp")
        net.sweep(features, task.y_train, rng, layers=[0])
        fitted = net.to_flat()
        flat = spec.with_readout(x0, fitted)
        check_export(type(self).__name__, task, net.forward(features), flat,
                     readout=FittedReadout(layer=layer, params=fitted, features=features))
        monitor.report(flat, evaluations=task.n_train)
