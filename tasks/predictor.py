"""Predictors: networks a solver reports that are not the task's flat MLP vector.

Most solvers train the task's own network (``tasks/mlp.py``) and report a flat parameter vector.
A solver that evolves its own topology (NEAT, ``solvers/neat.py``) has no such vector: each
network it reports has a shape of its own. It reports a *predictor* instead, an object that
computes the network's output-layer pre-activations (logits) for a batch of inputs. The task
then applies its own output activation and loss to those logits, exactly as it does to the MLP's
(``Task.evaluate_predictor``), so a predictor and a flat vector with the same outputs get the
same metrics and the same target decision.

Why logits and not outputs: the task owns its output activation (identity, sigmoid, softmax)
and computes cross-entropy stably from logits; a predictor that applied its own would be judged
on a different function from the one the MLP solvers are.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import numpy as np

from tasks.mlp import FlatParams, FloatArray, ModelSpec, forward


class Predictor(Protocol):
    """A network the harness can judge in place of a flat parameter vector.

    A predictor is immutable once reported: the harness keeps the object (not a copy) as the
    run's current best and evaluates it again later (validation, test, the final record).
    """

    @property
    def num_params(self) -> int:
        """Weights and biases it uses: its size, comparable with ``ModelSpec.num_params``."""
        ...

    def logits(self, x: FloatArray) -> FloatArray:
        """Output-layer pre-activations ``(n, n_out)`` float64 for inputs ``x`` ``(n, n_in)``,
        all rows in one vectorized call (the task applies its output activation)."""
        ...

    def model_size(self) -> dict[str, int]:
        """Its size for the run record: at least ``params``; a topology adds ``nodes`` and
        ``connections``."""
        ...


def is_predictor(value: Any) -> bool:
    """Whether ``value`` is a predictor rather than a flat parameter vector.

    A duck-typed attribute check, not a runtime ``Protocol`` isinstance (which looks up every
    member): callers reach it only after a cheaper test has ruled out a float array.
    """
    return not isinstance(value, np.ndarray) and callable(getattr(value, "logits", None))


class MLPPredictor:
    """The task's own MLP with one flat parameter vector, as a predictor.

    It exists so the predictor path can be checked against the flat-vector path: its logits are
    :func:`tasks.mlp.forward`'s for a population of one, the very call ``Task.evaluate`` makes,
    so ``evaluate_predictor(MLPPredictor(spec, p))`` equals ``evaluate(p)`` bit for bit.
    """

    def __init__(self, spec: ModelSpec, params: FlatParams) -> None:
        self.spec = spec
        self.params = np.array(params, dtype=np.float64, copy=True)
        self.params.setflags(write=False)

    @property
    def num_params(self) -> int:
        return self.spec.num_params

    def logits(self, x: FloatArray) -> FloatArray:
        return forward(self.spec, self.params[None, :], x, logits=True)[0]

    def model_size(self) -> dict[str, int]:
        sizes = self.spec.layer_sizes
        return {
            "nodes": sum(sizes[1:]),
            "connections": sum(a * b for a, b in itertools.pairwise(sizes)),
            "params": self.num_params,
        }
