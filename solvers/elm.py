"""Extreme Learning Machine: random hidden layers, the output layer by least squares.

This is ZORB's last step on its own: the hidden layers keep the seed's shared initial (random)
weights, and only the output dense layer is solved, by ``pinv([H, 1]) f_out^{-1}(Y)`` on the real
hidden features ``H``, with the same output inverse as ZORB. It is the ablation that shows what
ZORB's hidden-layer solves add. (The authors' ML-ELM baseline also trains each hidden layer as an
ELM auto-encoder; this is the plain ELM, which needs no choice beyond the network.)

Reference: G.-B. Huang, Q.-Y. Zhu and C.-K. Siew, "Extreme learning machine: Theory and
applications", Neurocomputing 70 (2006) 489-501. https://doi.org/10.1016/j.neucom.2005.12.126
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers.base import Cost, Monitor, Solver
from solvers.space import LogUniform, SearchSpace
from solvers.zorb import ZORBNetwork, check_export, closed_form_unsupported_reason
from tasks._validation import check_interval
from tasks.base import Task
from tasks.mlp import FlatParams, quantize, quantize_weights


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

    Iteration: one solve: a forward pass to the last hidden features, then one thin SVD of
    ``N x (d_{K-1} + 1)``. The algorithm is exactly one iteration.
    Evaluations: N forward passes per solve (softmax normalisers from the same pass); no backward.

    Attributes:
        rcond: SVD cut-off relative to the largest singular value, in [0, 1); ``1e-15`` as ZORB
            and as ``numpy.linalg.pinv``'s default.
    """

    name: ClassVar[str] = "elm"
    paradigm: ClassVar[str] = "closed form"
    mlp_only: ClassVar[str] = (
        "fits the last dense layer of an MLP by least squares on its "
        "hidden layers' features"
    )
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
        # A network made non-differentiable by its options still has labels to fit.
        reason = None if task.needs_straight_through else super().unsupported_reason(task)
        return reason or closed_form_unsupported_reason(type(self).__name__, task)

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(forward=task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        if monitor.report(x0, evaluations=0):
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
