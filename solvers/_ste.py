"""Straight-through estimators: how the gradient solvers train networks that have no gradient.

A network with ``sign``/``step`` hidden units or quantized weights, or a task scored by the 0-1
loss, is piecewise constant in its parameters: the true gradient is zero almost everywhere
(``Task.needs_straight_through``). Practitioners train such networks anyway, with a
*straight-through estimator* (STE): the forward pass uses the thresholded units and quantized
weights, and the backward pass replaces each threshold's or quantizer's zero derivative by the
derivative of a declared proxy (Bengio, Leonard & Courville 2013, arXiv 1308.3432):

* ``identity``: the gradient passes unchanged (Bengio et al.'s straight-through estimator; for
  the weights, BinaryConnect's rule that the gradient with respect to the latent weight is the
  gradient with respect to the binary weight, Courbariaux, Bengio & David 2015, arXiv
  1511.00363).
* ``clipped``: the gradient passes where the proxy's input is in [-1, 1] and is zero elsewhere,
  ``1{|x| <= 1}``: hardtanh's derivative, the Binarized Neural Networks' rule (Hubara,
  Courbariaux et al. 2016, arXiv 1602.02830). For a weight, where ``|w| > 1``.

The solver descends the task's differentiable :attr:`Task.surrogate_loss`, or the surrogate
it names (``cross_entropy`` on the output logits, or ``mse`` on the outputs) under the 0-1 loss;
the target and every metric stay the thresholded, quantized network's (the harness evaluates
the stored latent parameters through ``tasks.mlp.forward``, which quantizes). BinaryConnect
clips its latent weights to [-1, 1] after every update, so that a latent weight cannot drift
far from the point where its sign flips; ``clip_latent`` does the same.

On a task that does not need the STE (real weights, smooth units, a differentiable loss) every
option here is inert: the forward, the loss and the updates are the plain ones, bit for bit.
The torch forward is in ``solvers/_torch.py``, the NumPy one in ``solvers/numpy_backprop.py``;
``tests/solvers/test_ste.py`` holds the two (and the population forward) to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from solvers.base import Solver
from solvers.space import Choice, SearchSpace
from tasks._validation import check_options, check_type
from tasks.base import Task
from tasks.errors import InvalidParameterError

#: Backward proxies of a hard threshold or weight quantizer (see the module docstring).
ESTIMATORS: tuple[str, ...] = ("identity", "clipped")
#: Differentiable losses a gradient solver may descend in place of the 0-1 loss.
SURROGATES: tuple[str, ...] = ("cross_entropy", "mse")
#: Output activations ``cross_entropy`` is defined on (from the logits, as ``Task.losses``).
CROSS_ENTROPY_OUTPUTS: tuple[str, ...] = ("softmax", "sigmoid")
#: Weight quantizations whose latent weights are clipped to [-1, 1] when ``clip_latent`` is
#: ``None``: BinaryConnect's (and so the BNNs' and XNOR-Net's) binary weights. TWN and k-bit
#: uniform quantizers scale by the layer's own magnitude, and their papers do not clip.
CLIPPED_BY_DEFAULT: tuple[str, ...] = ("binary", "binary_scaled")

#: The search-space entries a gradient solver adds to its own on a task that needs the STE
#: (:meth:`GradientSolver.search_space_for`): the tuning study chooses the proxy and the
#: surrogate like any other hyperparameter, where they matter and nowhere else.
STE_SPACE: SearchSpace = {
    "estimator": Choice(ESTIMATORS),
    "surrogate": Choice(SURROGATES),
}
#: Where each STE entry acts (:meth:`GradientSolver.search_space_for`).
STE_WHERE: dict[str, str] = {
    "estimator": "on tasks that need the straight-through estimator",
    "surrogate": "on those of them trained on the 0-1 loss",
}


@dataclass(frozen=True, kw_only=True)
class StraightThrough:
    """What a gradient solver does on one task: resolved from its options and the task.

    Attributes:
        estimator: the backward proxy of every threshold unit and weight quantizer.
        loss: the loss descended: ``mse`` or ``cross_entropy``.
        clip_latent: clip the weights (not the biases) to [-1, 1] after every update.
        active: whether the task needs the STE at all; when ``False`` the estimator and the
            clipping are inert and ``loss`` is the task's own.
    """

    estimator: str
    loss: str
    clip_latent: bool
    active: bool


def plain(task: Task) -> StraightThrough:
    """The settings of a task that needs no STE: its own loss, nothing clipped."""
    return StraightThrough(estimator="identity", loss=task.loss, clip_latent=False, active=False)


@dataclass(frozen=True, kw_only=True)
class GradientSolver(Solver):
    """A solver that follows a gradient: the straight-through options every such solver has.

    Gradient solvers (``sgd``, ``adam``, ``lbfgs``, ``numpy-backprop``) inherit these fields, so
    a solver without a gradient cannot take them by construction: ``--set ga.estimator=...``
    is an unknown hyperparameter. Each field is inert on a task that needs no STE. Each
    subclass declares its own ``search_space``; :meth:`search_space_for` adds the STE entries
    on the tasks that need them, so a study of a smooth task spends no dimension on options that
    are inert there (and its trials are those of a solver without the STE).

    Attributes:
        estimator: the straight-through proxy for ``sign``/``step`` units and quantized weights:
            ``"clipped"`` (default; ``1{|x| <= 1}``, the BNNs' choice, Hubara et al. 2016) or
            ``"identity"`` (Bengio et al. 2013).
        surrogate: the loss descended under the ``zero_one`` loss: ``"cross_entropy"`` (on the
            output logits; needs a ``sigmoid`` or ``softmax`` output), ``"mse"`` (on the
            outputs), or ``None`` (default): the task's ``surrogate_loss``.
        clip_latent: clip the latent weights to [-1, 1] after every update (BinaryConnect).
            ``None`` (default) clips for ``binary`` and ``binary_scaled`` weights only, as
            BinaryConnect does; ``True``/``False`` force it for any quantized weights. Real
            weights are never clipped.
    """

    estimator: str = "clipped"
    surrogate: str | None = None
    clip_latent: bool | None = None

    conditional_space: ClassVar[SearchSpace] = STE_SPACE
    conditional_where: ClassVar[dict[str, str]] = STE_WHERE

    @classmethod
    def search_space_for(cls, task: Task) -> SearchSpace:
        """The solver's space, plus the STE entries that act on ``task``.

        ``estimator`` joins on a task that needs the STE; ``surrogate`` only under the 0-1 loss,
        and only with the surrogates the task's output admits (a trial never draws a value its
        task refuses).
        """
        if not task.needs_straight_through:
            return cls.search_space
        space = {**cls.search_space, "estimator": cls.conditional_space["estimator"]}
        if task.loss == "zero_one" and task.model.output_activation in CROSS_ENTROPY_OUTPUTS:
            space["surrogate"] = cls.conditional_space["surrogate"]
        return space

    def check_straight_through(self) -> None:
        """Check the STE options; called by each gradient solver's ``validate``."""
        owner = type(self).__name__
        check_options(self.estimator, "estimator", owner, ESTIMATORS)
        check_options(self.surrogate, "surrogate", owner, (*SURROGATES, None))
        if self.clip_latent is not None:
            check_type(self.clip_latent, "clip_latent", owner, bool, "a bool or None")

    def straight_through(self, task: Task) -> StraightThrough:
        """The STE settings on ``task``.

        Raises:
            InvalidParameterError: the surrogate does not fit the task (``cross_entropy`` under
                the 0-1 loss on an output that is neither ``sigmoid`` nor ``softmax``).
        """
        if not task.needs_straight_through:
            return plain(task)
        loss = task.surrogate_loss
        if task.loss == "zero_one" and self.surrogate is not None:
            output = task.model.output_activation
            if self.surrogate == "cross_entropy" and output not in CROSS_ENTROPY_OUTPUTS:
                raise InvalidParameterError(
                    f"The 'surrogate' parameter of {type(self).__name__} must be 'mse' or None "
                    f"on task {task.name!r}, whose {output!r} output has no cross-entropy "
                    f"(it needs a 'sigmoid' or 'softmax' output). Got 'cross_entropy' instead."
                )
            loss = self.surrogate
        clip = (task.model.weights in CLIPPED_BY_DEFAULT if self.clip_latent is None
                else self.clip_latent)
        return StraightThrough(estimator=self.estimator, loss=loss,
                               clip_latent=clip and task.model.quantized, active=True)

    def unsupported_reason(self, task: Task) -> str | None:
        """``None`` on a task a straight-through gradient trains; the base reason otherwise.

        Raises:
            InvalidParameterError: an option contradicts the task (see :meth:`straight_through`):
                bad input, refused before any run, rather than a task this solver cannot do.
        """
        if task.needs_straight_through:
            self.straight_through(task)
            return None
        return super().unsupported_reason(task)
