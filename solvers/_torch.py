"""PyTorch side of the shared network: the same flat layout and forward, differentiable.

Torch solvers keep the whole network in one flat leaf tensor ``theta`` and take views of it per
layer, so handing parameters to the harness is a single copy and the optimizer sees exactly the
vector the rest of the benchmark uses. Element-wise optimizers (SGD, Adam) behave the same on one
flat tensor as on per-layer tensors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from solvers._ste import StraightThrough, plain
from solvers.base import Monitor
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import InvalidParameterError
from tasks.mlp import TERNARY_THRESHOLD, ModelSpec, quantize_weights
from tasks.network import ModuleSpec

#: The report's caveat for every ``torch.optim`` solver (``Solver.caveat``).
TORCH_CAVEAT = (
    "**torch per-step overhead on tiny networks.** `sgd` and `adam` run through "
    "`torch.optim` with autograd; each step costs tens of microseconds of dispatch "
    "whatever the network size. `numpy-backprop` is the same full-batch gradient "
    "descent written in NumPy, so the ratio of their µs per iteration (accounting table) "
    "is that overhead. The first torch run of a process also pays torch's set-up, which "
    "shows as seconds before the first report."
)

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def torch_forward(
    spec: ModelSpec | ModuleSpec, theta: torch.Tensor, x: torch.Tensor,
    estimator: str = "clipped", **forward_kwargs: Any,
) -> torch.Tensor:
    """Forward one flat parameter vector; returns the output layer's *logits*.

    Quantized weights (``spec.weights``) and ``sign``/``step`` units are applied in the forward
    pass exactly as the population forward (``tasks.mlp``) applies them; their backward is the
    straight-through proxy ``estimator`` (``solvers/_ste.py``). Real weights and smooth units
    run the plain operations, so ``estimator`` is inert there.

    A torch module's network (:class:`tasks.network.ModuleSpec`) runs its own forward on views of
    ``theta`` (``ModuleSpec.torch_logits``), with ``forward_kwargs`` (e.g. ``truncation``); an
    MLP takes none.
    """
    if not isinstance(spec, ModelSpec):
        return spec.torch_logits(theta, x, **forward_kwargs)
    h = x
    slices = list(spec.slices())
    for i, ((w, b, fi, fo), act) in enumerate(zip(slices, spec.activations, strict=True)):
        weight = theta[w].view(fi, fo)
        if spec.quantized:
            weight = _quantize(spec.weights, weight, estimator)
        h = h @ weight + theta[b]
        if i < len(slices) - 1:
            h = _activate(act, h, estimator)
    return h


class _StraightThrough(torch.autograd.Function):
    """``hard(x)`` forward; ``g`` (identity) or ``g * 1{|x| <= 1}`` (clipped) backward.

    The same gradient as the textbook ``hard + (x - x.detach()) * mask``, written as one
    autograd node whose value is ``hard(x)`` itself (no ``+ 0`` in the forward). Measured on a
    4-4-1 network: about 65 us per threshold layer, forward and backward, either way; the
    quantizer, which calls ``tasks.mlp.quantize_weights`` through NumPy, about 80 us.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, hard: Callable[[torch.Tensor], torch.Tensor], clipped: bool
    ) -> torch.Tensor:
        if clipped:
            ctx.save_for_backward(x.abs() <= 1.0)
        ctx.clipped = clipped
        return hard(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        if ctx.clipped:
            (mask,) = ctx.saved_tensors
            return grad * mask, None, None
        return grad, None, None


def straight_through(
    x: torch.Tensor, hard: Callable[[torch.Tensor], torch.Tensor], estimator: str
) -> torch.Tensor:
    """``hard(x)`` in the forward pass; in the backward, ``d/dx`` is the proxy's derivative.

    ``identity`` passes the gradient unchanged; ``clipped`` multiplies it by ``1{|x| <= 1}``
    (hardtanh's derivative, with both ends included).
    """
    out: torch.Tensor = _StraightThrough.apply(x, hard, estimator == "clipped")
    return out


def _quantize(kind: str, w: torch.Tensor, estimator: str) -> torch.Tensor:
    """One layer's quantized weights, straight through in backward.

    The forward is :func:`quantize_rule`, a torch twin of ``tasks.mlp.quantize_weights`` (the
    population forward's rule; ``tests/solvers/test_ste.py`` checks the two agree to 1e-12 for
    every option), computed on the tensor itself: a NumPy round trip per layer and step cost
    about 80 us, more than the rule.
    """
    return straight_through(w, functools.partial(quantize_rule, kind), estimator)


def quantize_rule(kind: str, w: torch.Tensor) -> torch.Tensor:
    """``tasks.mlp.quantize_weights`` on one layer's ``(fan_in, fan_out)`` tensor (no grad)."""
    w = w.detach()
    if kind == "binary":
        return _sign(w)
    if kind == "binary_scaled":
        return _sign(w) * w.abs().mean(dim=-2, keepdim=True)
    if kind == "ternary":
        magnitude = w.abs()
        keep = magnitude > TERNARY_THRESHOLD * magnitude.mean()
        count = keep.sum()
        alpha = torch.where(keep, magnitude, 0.0).sum() / torch.clamp(count, min=1)
        alpha = alpha + 0.0 * w.sum()  # a NaN weight makes the layer NaN, as in NumPy
        return torch.where(keep, torch.sign(w), 0.0) * alpha
    if kind.startswith("int"):
        levels = 2.0 ** (int(kind[3:]) - 1) - 1.0
        scale = w.abs().max() / levels
        safe = torch.where(scale == 0.0, 1.0, scale)
        return torch.clamp(torch.round(w / safe), -levels, levels) * safe
    return torch.from_numpy(np.asarray(quantize_weights(kind, w.numpy()))).to(w.dtype)


def _sign(z: torch.Tensor) -> torch.Tensor:
    """+-1 with sign(0) = +1 (also -0.0), NaN kept: as ``tasks.mlp``."""
    hard = torch.sign(z)
    return torch.where(hard == 0.0, 1.0, hard)


def _step(z: torch.Tensor) -> torch.Tensor:
    """Heaviside with step(0) = 1, NaN kept: as ``np.heaviside(z, 1)``."""
    return torch.heaviside(z, torch.ones((), dtype=z.dtype))


def _activate(name: str, z: torch.Tensor, estimator: str = "clipped") -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "softmax":
        return torch.softmax(z, dim=-1)
    if name == "sign":
        return straight_through(z, _sign, estimator)
    if name == "step":
        return straight_through(z, _step, estimator)
    return z


def torch_loss(
    task: Task, logits: torch.Tensor, y: torch.Tensor, loss: str | None = None
) -> torch.Tensor:
    """The loss a gradient descends, from logits, matching ``Task.losses`` exactly.

    ``loss`` is ``mse`` or ``cross_entropy``; ``None`` means the task's ``surrogate_loss``,
    which is its own loss whenever that is differentiable (under ``zero_one``, its default
    surrogate; see ``solvers/_ste.py``).
    """
    act = task.model.output_activation
    if (task.surrogate_loss if loss is None else loss) == "cross_entropy":
        if act == "softmax":
            return -(y * functional.log_softmax(logits, dim=-1)).sum(-1).mean()
        return functional.binary_cross_entropy_with_logits(logits, y)
    return functional.mse_loss(_activate(act, logits), y)


def tensors(task: Task, dtype: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Training data as torch tensors of the solver's dtype."""
    dt = DTYPES[dtype]
    return torch.as_tensor(task.x_train, dtype=dt), torch.as_tensor(task.y_train, dtype=dt)


def to_numpy(theta: torch.Tensor) -> np.ndarray:
    """The flat parameters as float64 for the harness: a view of ``theta`` when it is float64
    already (the harness copies what it is given, so the solver pays for no second copy); hold
    it only until ``theta`` changes."""
    return theta.detach().to(torch.float64).numpy()


class TorchGradientLoop:
    """The training loop shared by the ``torch.optim`` solvers (one iteration = one epoch).

    Full batch by default (one step per epoch); with ``batch_size`` the epoch is split into
    mini-batches over a permutation drawn from the run's generator. The loop reports the current
    parameters after every epoch and stops when the harness says so. ``ste`` (the solver's
    straight-through settings on this task, ``solvers/_ste.py``) picks the backward proxy, the
    loss descended and whether the latent weights are clipped to [-1, 1] after every update.

    Args:
        task, x0, dtype, batch_size, ste: as above.
        clip_norm: when set, the gradient of ``theta`` is rescaled to at most this L2 norm before
            every optimizer step (``torch.nn.utils.clip_grad_norm_``), the usual guard against
            exploding gradients through a recurrent unroll. ``None`` (default) leaves the
            gradient alone.
        forward_kwargs: keywords passed to a torch module's forward at every step (e.g.
            ``{"truncation": 20}`` for truncated backpropagation through time); the module must
            take each (``ModuleSpec.supports``). An MLP takes none.

    Raises:
        InvalidParameterError: ``clip_norm`` is not a positive float, or ``forward_kwargs``
            names a keyword the task's network does not take.
    """

    def __init__(self, task: Task, x0: np.ndarray, dtype: str, batch_size: int | None,
                 ste: StraightThrough | None = None, *, clip_norm: float | None = None,
                 forward_kwargs: Mapping[str, Any] | None = None) -> None:
        owner = "TorchGradientLoop"
        if clip_norm is not None:
            check_interval(clip_norm, "clip_norm", owner, low=0.0, closed="neither")
        kwargs = dict(forward_kwargs or {})
        spec = task.model
        for key, value in kwargs.items():
            if not isinstance(spec, ModuleSpec) or not spec.supports(key):
                raise InvalidParameterError(
                    f"The 'forward_kwargs' parameter of {owner} must name keywords the network "
                    f"of task {task.name!r} ({spec.describe()}) takes in its forward. Got "
                    f"{key}={value!r} instead."
                )
        self.task = task
        self.x, self.y = tensors(task, dtype)
        self.theta = torch.tensor(x0, dtype=DTYPES[dtype], requires_grad=True)
        self.batch_size = batch_size
        self.ste = plain(task) if ste is None else ste
        self.clip_norm = clip_norm
        self.forward_kwargs = kwargs

    def run(
        self, optimizer: torch.optim.Optimizer, monitor: Monitor, rng: np.random.Generator
    ) -> None:
        n = self.task.n_train
        theta, x, y, task, spec = self.theta, self.x, self.y, self.task, self.task.model
        estimator, loss = self.ste.estimator, self.ste.loss
        clip = clip_latent(spec, theta) if self.ste.clip_latent else None
        clip_norm, kwargs = self.clip_norm, self.forward_kwargs
        report = monitor.report
        if not report(to_numpy(theta), evaluations=0):
            while True:
                if self.batch_size is None or self.batch_size >= n:
                    optimizer.zero_grad(set_to_none=True)
                    logits = torch_forward(spec, theta, x, estimator, **kwargs)
                    torch_loss(task, logits, y, loss).backward()
                    if clip_norm is not None:
                        torch.nn.utils.clip_grad_norm_(theta, clip_norm)
                    optimizer.step()
                    if clip is not None:
                        clip()
                else:
                    order = torch.from_numpy(rng.permutation(n))
                    for start in range(0, n, self.batch_size):
                        idx = order[start : start + self.batch_size]
                        optimizer.zero_grad(set_to_none=True)
                        logits = torch_forward(spec, theta, x[idx], estimator, **kwargs)
                        torch_loss(task, logits, y[idx], loss).backward()
                        if clip_norm is not None:
                            torch.nn.utils.clip_grad_norm_(theta, clip_norm)
                        optimizer.step()
                        if clip is not None:
                            clip()
                if report(to_numpy(theta), evaluations=n, backward=n):
                    break


def clip_latent(spec: ModelSpec | ModuleSpec, theta: torch.Tensor) -> Callable[[], None]:
    """A function clipping ``theta``'s weights (not its biases) to [-1, 1] in place, as
    BinaryConnect clips its latent weights after every update."""
    assert isinstance(spec, ModelSpec)  # only quantized weights are clipped; a module has none
    weights = [w for w, _, _, _ in spec.slices()]

    def clip() -> None:
        with torch.no_grad():
            for w in weights:
                theta[w].clamp_(-1.0, 1.0)

    return clip
