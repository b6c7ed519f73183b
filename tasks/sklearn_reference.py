"""scikit-learn's own MLP on a task's exact split and network: the reference a user knows.

``MLPClassifier(solver="lbfgs")`` is what a practitioner runs first on small tabular data, so the
report puts the benchmark's ``lbfgs`` next to it: same training rows, same test rows, same
hidden layers and activation, same output (softmax for several classes, one logistic unit for
two). What cannot be the same is said here once:

* initialisation: scikit-learn draws Glorot-uniform weights *and biases* from its own generator
  (``random_state``), the benchmark Glorot weights and zero biases from the seed's generator;
* optimizer: SciPy's L-BFGS-B (Fortran, with its More-Thuente line search) against
  ``torch.optim.LBFGS`` with a strong-Wolfe search;
* stopping: scikit-learn runs until its tolerance ``tol`` or ``max_iter`` iterations, the
  benchmark until the task's target is met.

``alpha`` (scikit-learn's L2 penalty, default 1e-4 there) defaults to 0 here so that both minimise
the same unregularised cross-entropy.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from tasks._validation import check_interval, check_options
from tasks.base import Task, accuracy


@dataclass(frozen=True)
class SklearnReference:
    """One fit of scikit-learn's MLP on a task.

    Attributes:
        train_accuracy, test_accuracy: on the task's own splits.
        seconds: wall time of ``fit`` (one thread is the caller's business).
        iterations: scikit-learn's ``n_iter_``.
        converged: whether it stopped on its tolerance rather than on ``max_iter``.
    """

    train_accuracy: float
    test_accuracy: float
    seconds: float
    iterations: int
    converged: bool


def fit_sklearn_mlp(
    task: Task,
    *,
    solver: str = "lbfgs",
    seed: int = 0,
    alpha: float = 0.0,
    max_iter: int = 200,
    tol: float = 1e-4,
) -> SklearnReference:
    """Train ``sklearn.neural_network.MLPClassifier`` on ``task``'s split and network.

    Args:
        task: a classification task with one hidden activation shared by its hidden layers
            (scikit-learn has one ``activation`` for all of them).
        solver: scikit-learn's ``solver``: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        seed: scikit-learn's ``random_state`` (initial weights).
        alpha: L2 penalty, in [0, inf); 0 (not scikit-learn's 1e-4) so the objective is the
            benchmark's.
        max_iter: scikit-learn's ``max_iter`` (its default, 200).
        tol: scikit-learn's ``tol`` (its default, 1e-4).

    Raises:
        InvalidParameterError: a value is out of range, or the task cannot be expressed as a
            scikit-learn MLP.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    owner = "fit_sklearn_mlp"
    check_options(solver, "solver", owner, ("lbfgs", "adam", "sgd"))
    check_interval(seed, "seed", owner, kind=int, low=0)
    check_interval(alpha, "alpha", owner, low=0.0)
    check_interval(max_iter, "max_iter", owner, kind=int, low=1)
    check_interval(tol, "tol", owner, low=0.0)
    check_options(task.kind, "task kind", owner, ("classification",))
    activations = set(task.mlp.hidden_activations)
    check_options(len(activations), "number of distinct hidden activations", owner, (1,))
    (activation,) = activations
    sk_activation = {"identity": "identity", "sigmoid": "logistic", "tanh": "tanh",
                     "relu": "relu"}[activation]
    expected_output = "sigmoid" if task.y_train.shape[1] == 1 else "softmax"
    check_options(task.model.output_activation, "output_activation", owner, (expected_output,))

    def labels(y: np.ndarray) -> np.ndarray:
        return y[:, 0].astype(int) if y.shape[1] == 1 else np.argmax(y, axis=1)

    model = MLPClassifier(
        hidden_layer_sizes=tuple(task.model.layer_sizes[1:-1]),
        activation=sk_activation,
        solver=solver,
        alpha=alpha,
        max_iter=max_iter,
        tol=tol,
        random_state=seed,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(task.x_train, labels(task.y_train))
        seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)

    def score(x: np.ndarray, y: np.ndarray) -> float:
        proba = model.predict_proba(x)
        pred = proba[:, 1:] if y.shape[1] == 1 else proba
        return accuracy(pred, y)

    return SklearnReference(
        train_accuracy=score(task.x_train, task.y_train),
        test_accuracy=score(task.x_test, task.y_test),
        seconds=seconds,
        iterations=int(model.n_iter_),
        converged=converged,
    )
