"""Backpropagation written by hand in NumPy: forward, backward and update, no framework.

This is the write-up's "no frameworks" route done right: vectorized over the batch, every
activation and both losses, on the project's flat parameter layout. Its gradients are checked
against torch autograd in the tests (to 1e-10 in float64).

Networks with no useful gradient (``sign``/``step`` units, quantized weights, the 0-1 loss) are
trained through the same straight-through estimator as the torch solvers (``solvers/_ste.py``);
``tests/solvers/test_ste.py`` checks its gradients against torch autograd's STE gradients.

Reference: Rumelhart, Hinton & Williams, "Learning representations by back-propagating errors",
Nature 323, 1986. https://doi.org/10.1038/323533a0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers._ste import GradientSolver
from solvers.base import Cost, Monitor
from solvers.space import LogUniform, SearchSpace, Uniform
from tasks._validation import check_interval
from tasks.base import Task
from tasks.mlp import (
    THRESHOLD_ACTIVATIONS,
    FlatParams,
    FloatArray,
    ModelSpec,
    activate,
    cross_entropy_from_logits,
    quantize,
)


def _act_grad(
    name: str, z: FloatArray, a: FloatArray, g: FloatArray, estimator: str = "clipped"
) -> FloatArray:
    """Chain ``g = dL/da`` through ``a = act(z)``; returns ``dL/dz``.

    ``sign`` and ``step`` have no useful derivative: their backward is the straight-through
    proxy ``estimator`` (``solvers/_ste.py``), as in the torch forward.
    """
    if name == "identity":
        return g
    if name == "sigmoid":
        return g * a * (1.0 - a)
    if name == "tanh":
        return g * (1.0 - a * a)
    if name == "relu":
        return g * (z > 0.0)
    if name in THRESHOLD_ACTIVATIONS:
        return _through(z, g, estimator)
    # softmax: the Jacobian diag(a) - a a^T applied row by row.
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))


def _through(x: FloatArray, g: FloatArray, estimator: str) -> FloatArray:
    """The straight-through gradient: ``g`` itself, or ``g * 1{|x| <= 1}`` when clipped."""
    return g * (np.abs(x) <= 1.0) if estimator == "clipped" else g


def forward_layers(
    spec: ModelSpec, params: FlatParams, x: FloatArray
) -> tuple[list[tuple[FloatArray, FloatArray]], list[FloatArray], list[FloatArray]]:
    """The forward pass backprop needs: the effective ``(W, b)`` per layer (quantized weights
    where ``spec`` quantizes them), every layer's input ``hs`` (``hs[0] = x``, ``hs[-1]`` the
    output) and pre-activation ``zs`` (``zs[-1]`` the logits)."""
    layers = spec.unpack(quantize(spec, params))
    hs = [x]
    zs = []
    for (w, b), act in zip(layers, spec.activations, strict=True):
        z = hs[-1] @ w + b
        zs.append(z)
        hs.append(activate(act, z))
    return layers, hs, zs


def loss_and_gradient(
    spec: ModelSpec,
    params: FlatParams,
    x: FloatArray,
    y: FloatArray,
    loss: str = "mse",
    estimator: str = "clipped",
) -> tuple[float, FlatParams]:
    """The training loss and its gradient with respect to the flat parameters.

    Quantized weights (``spec.weights``) and ``sign``/``step`` units are applied in the forward
    pass (``tasks.mlp.quantize`` and ``activate``, the population forward's own functions); in
    the backward pass their derivative is the straight-through proxy ``estimator``, and the
    gradient with respect to a latent weight is the one with respect to its quantized weight
    (masked by ``1{|w| <= 1}`` when clipped), as in BinaryConnect. On real weights and smooth
    units ``estimator`` is inert.

    Args:
        spec: network shape.
        params: flat parameter vector (latent weights when ``spec`` quantizes them).
        x, y: a batch ``(N, n_in)``, ``(N, n_out)``.
        loss: the loss descended: ``mse`` (mean over examples and outputs) or
            ``cross_entropy``.
        estimator: ``clipped`` or ``identity`` (``solvers/_ste.py``).

    Returns:
        ``(loss, gradient)`` with the gradient in the flat layout.
    """
    layers, hs, zs = forward_layers(spec, params, x)
    out_act, out, z_out = spec.output_activation, hs[-1], zs[-1]
    n, k = y.shape
    if loss == "cross_entropy":
        value = float(cross_entropy_from_logits(z_out[None], y, out_act)[0])
        # d/dz of the stable forms: softmax -> (p - y)/N; sigmoid BCE -> (p - y)/(N k).
        dz = (out - y) / (n if out_act == "softmax" else n * k)
    else:
        diff = out - y
        value = float(np.mean(diff**2))
        dz = _act_grad(out_act, z_out, out, 2.0 * diff / (n * k))
    grad = np.empty_like(params)
    slices = list(spec.slices())
    for i in range(len(layers) - 1, -1, -1):
        w_slice, b_slice, _, _ = slices[i]
        grad[w_slice] = (hs[i].T @ dz).ravel()
        grad[b_slice] = dz.sum(axis=0)
        if spec.quantized:
            grad[w_slice] = _through(params[w_slice], grad[w_slice], estimator)
        if i > 0:
            dh = dz @ layers[i][0].T
            dz = _act_grad(spec.activations[i - 1], zs[i - 1], hs[i], dh, estimator)
    return value, grad


@dataclass(frozen=True, kw_only=True)
class NumpyBackpropSolver(GradientSolver):
    """Gradient descent with heavy-ball momentum, gradients by hand-written backprop.

    The update is PyTorch's SGD formulation (``v = momentum * v + g``; ``p -= lr * v``), so with the
    same hyperparameters it follows ``sgd`` up to floating-point round-off.

    Iteration: one epoch, i.e. one full-batch step, or ``ceil(N / batch_size)`` mini-batch steps.
    Evaluations: ``N`` forward and ``N`` backward single-example passes per iteration.

    Defaults and their origin: the same as ``sgd`` (learning rate 0.01, Keras's and TensorFlow's
    SGD default; momentum 0, torch's), so the two follow the same trajectory at defaults. None
    was chosen on this suite.

    Attributes:
        learning_rate: step size, in (0, inf).
        momentum: heavy-ball momentum, in [0, 1).
        batch_size: mini-batch size; ``None`` means full batch.
        estimator, surrogate, clip_latent: the straight-through options of every gradient
            solver (:class:`solvers._ste.GradientSolver`); inert on a task that needs no STE.
    """

    name: ClassVar[str] = "numpy-backprop"
    paradigm: ClassVar[str] = "gradients"
    mlp_only: ClassVar[str] = "backpropagates through an MLP's dense layers, written out in NumPy"
    iteration: ClassVar[str] = "one epoch (one full-batch step by default)"
    evaluations: ClassVar[str] = "`N` forward and `N` backward single-example passes per iteration."
    search_space: ClassVar[SearchSpace] = {
        "learning_rate": LogUniform(1e-4, 1.0),
        "momentum": Uniform(0.0, 0.99),
    }

    learning_rate: float = 0.01
    momentum: float = 0.0
    batch_size: int | None = None

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.learning_rate, "learning_rate", owner, low=0.0, closed="neither")
        check_interval(self.momentum, "momentum", owner, low=0.0, high=1.0, closed="left")
        if self.batch_size is not None:
            check_interval(self.batch_size, "batch_size", owner, kind=int, low=1)
        self.check_straight_through()

    def iteration_cost(self, task: Task) -> Cost:
        return Cost(task.n_train, task.n_train)

    def run(self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator) -> None:
        params = x0.copy()
        velocity = np.zeros_like(params)
        x, y, n, spec = task.x_train, task.y_train, task.n_train, task.mlp
        full = self.batch_size is None or self.batch_size >= n
        ste = self.straight_through(task)
        weights = [w for w, _, _, _ in spec.slices()] if ste.clip_latent else []
        if monitor.report(params, evaluations=0):
            return
        while True:
            batches = (
                [slice(None)]
                if full
                else np.array_split(
                    rng.permutation(n), range(self.batch_size or n, n, self.batch_size or n)
                )
            )
            for idx in batches:
                _, grad = loss_and_gradient(spec, params, x[idx], y[idx], ste.loss,
                                            ste.estimator)
                velocity = self.momentum * velocity + grad
                params = params - self.learning_rate * velocity
                for w in weights:  # BinaryConnect's clip of the latent weights (biases stay)
                    np.clip(params[w], -1.0, 1.0, out=params[w])
            if monitor.report(params, evaluations=n, backward=n):
                return
