"""Gradient clipping and truncated BPTT: how practitioners run a gradient solver through an unroll.

On a recurrent network or a loss unrolled through dynamics (``tasks/sequence.py``,
``tasks/chaotic.py``) the gradient is a product of one Jacobian per step, so its norm can explode
with the length of the unroll (Bengio, Simard & Frasconi 1994; Metz et al. 2021, arXiv
2111.05803). Nobody trains such a network with a bare optimizer; the two standard remedies are

* ``clip_norm``: rescale the whole gradient to at most this L2 norm before each step (Pascanu,
  Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML 2013), as
  ``torch.nn.utils.clip_grad_norm_`` does; and
* ``truncation``: backpropagate through at most ``truncation`` steps of the unroll (truncated
  BPTT, Williams & Peng 1990): the network's forward detaches its state every ``truncation``
  steps, so the forward value is unchanged and only the gradient is cut.

So that the comparison with evolution is against gradient descent as it is run, ``sgd`` and
``adam`` take both, and the tuning study tunes both on the tasks where they act: a task whose
network's forward takes ``truncation`` (``ModuleSpec.supports("truncation")``, a recurrent or
unrolled network). Everywhere else the search space, and so every tuning trial's Sobol draw, is
what it was before these options existed.

Both default to ``None`` (off). A configuration leaves an option out while it is ``None``
(:meth:`UnrolledGradientSolver.config`): a run's record key hashes the configuration, and the
keys of every run recorded before the options existed must not change.

``truncation`` on a network whose forward does not take it is refused by
:meth:`UnrolledGradientSolver.unsupported_reason` with a "not applicable" reason (the harness
records the run as not applicable, as for any solver/task mismatch), not silently ignored:
the run would otherwise be recorded under a configuration that did nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from solvers._ste import STE_SPACE, STE_WHERE, GradientSolver
from solvers.space import Choice, LogUniform, SearchSpace
from tasks._validation import check_interval
from tasks.base import Task

#: The options' names, in the order they join a search space.
UNROLL_OPTIONS: tuple[str, ...] = ("clip_norm", "truncation")

#: The entries a gradient solver adds to its search space on an unrolled task. ``clip_norm``
#: spans the thresholds used in practice (Pascanu et al. 2013 pick one near the average gradient
#: norm; 1 to 10 is the usual range), a decade each side. ``truncation`` offers no truncation
#: and the window lengths of common practice; a window at least as long as the unroll is the
#: full gradient again, so short tasks lose nothing by the larger choices.
UNROLL_SPACE: SearchSpace = {
    "clip_norm": LogUniform(0.1, 100.0),
    "truncation": Choice((None, 5, 10, 20, 50)),
}


def takes_truncation(task: Task) -> bool:
    """Whether ``task``'s network forward takes ``truncation`` (a recurrent or unrolled one)."""
    supports = getattr(task.model, "supports", None)
    return bool(callable(supports) and supports("truncation"))


@dataclass(frozen=True, kw_only=True)
class UnrolledGradientSolver(GradientSolver):
    """A ``torch.optim`` gradient solver with gradient-norm clipping and truncated BPTT.

    Attributes:
        clip_norm: rescale the gradient to at most this L2 norm before every step (Pascanu et
            al. 2013); ``None`` (default): no clipping. In (0, inf).
        truncation: backpropagate through at most this many steps of a recurrent or unrolled
            network (truncated BPTT); ``None`` (default): through the whole unroll. An int
            >= 1; only on a task whose network takes it (otherwise the task is "not
            applicable").
    """

    clip_norm: float | None = None
    truncation: int | None = None

    conditional_space: ClassVar[SearchSpace] = {**STE_SPACE, **UNROLL_SPACE}
    conditional_where: ClassVar[dict[str, str]] = {
        **STE_WHERE, **dict.fromkeys(UNROLL_SPACE, "on unrolled or recurrent networks")}

    @classmethod
    def search_space_for(cls, task: Task) -> SearchSpace:
        """The solver's space (with the STE entries where they act), plus ``clip_norm`` and
        ``truncation`` on a task whose network takes ``truncation``; unchanged elsewhere."""
        space = super().search_space_for(task)
        if not takes_truncation(task):
            return space
        return {**space, **{k: cls.conditional_space[k] for k in UNROLL_OPTIONS}}

    def check_unroll(self) -> None:
        """Check ``clip_norm`` and ``truncation``; called by each subclass's ``validate``."""
        owner = type(self).__name__
        if self.clip_norm is not None:
            check_interval(self.clip_norm, "clip_norm", owner, low=0.0, closed="neither")
        if self.truncation is not None:
            check_interval(self.truncation, "truncation", owner, kind=int, low=1)

    def unsupported_reason(self, task: Task) -> str | None:
        """The base reasons, and ``truncation`` on a network whose forward does not take it."""
        reason = super().unsupported_reason(task)
        if reason is None and self.truncation is not None and not takes_truncation(task):
            return (
                f"not applicable: {type(self).__name__}(truncation={self.truncation}) truncates "
                f"backpropagation through a recurrent or unrolled network, and the network of "
                f"task {task.name!r} ({task.model.describe()}) has no unroll to truncate"
            )
        return reason

    def forward_kwargs(self) -> dict[str, Any]:
        """The keywords the network's forward gets: ``truncation`` when it is set, else none
        (a feed-forward network's forward takes no keyword)."""
        return {} if self.truncation is None else {"truncation": int(self.truncation)}

    def loop_options(self) -> dict[str, Any]:
        """``TorchGradientLoop``'s keywords for these options: only those that are set."""
        options: dict[str, Any] = {}
        if self.clip_norm is not None:
            options["clip_norm"] = float(self.clip_norm)
        if self.truncation is not None:
            options["forward_kwargs"] = self.forward_kwargs()
        return options

    def config(self) -> dict[str, Any]:
        """The configuration, without ``clip_norm`` and ``truncation`` while they are ``None``:
        record keys hash it, and runs recorded before the options existed keep their keys."""
        config = super().config()
        for name in UNROLL_OPTIONS:
            if config[name] is None:
                del config[name]
        return config
