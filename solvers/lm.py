"""Levenberg-Marquardt on the training residuals, the Hagan-Menhaj loop behind MATLAB's ``trainlm``.

On a small network with a squared-error loss, Levenberg-Marquardt is the gradient method a
MATLAB user meets first: ``trainlm`` is the Neural Network Toolbox's default training function,
and Hagan & Menhaj (1994) showed it converging in tens of iterations where backpropagation needs
thousands. A benchmark of gradients against evolution on such networks owes it a line.

The method. The training residuals ``r(x)`` are the network's outputs minus the targets,
flattened over examples and outputs (``N * K`` of them; the MSE is ``r.r / (N K)``). With ``J``
their Jacobian, one trial solves the damped Gauss-Newton system ``(J^T J + mu I) dx = -J^T r``
and scores ``x + dx``. If the sum of squared residuals went down the step is accepted and ``mu``
is multiplied by ``mu_dec`` (towards Gauss-Newton); otherwise it is rejected and ``mu`` is
multiplied by ``mu_inc`` (towards a short gradient step). The run ends on its own when ``mu``
passes ``mu_max``, ``trainlm``'s "maximum mu reached" stop.

Why not ``scipy.optimize.least_squares``. The harness needs a report after every iteration and
must be able to stop the run at any of them. SciPy 1.17.1's ``method="lm"`` calls MINPACK,
which has no callback at all (SciPy warns and ignores one). ``method="trf"`` has a callback
that may raise ``StopIteration``, but it is another algorithm (a trust-region reflective
method, not the ``mu`` schedule), and it calls back once per accepted step, after an inner loop
of rejected trials whose number is not known in advance: no cost bound the harness could stop
on before the budget. So the loop is written here, directly.

The linear solve. Each accepted point's Jacobian is factored once, ``J = U S V^T`` (thin SVD);
then ``dx = -V diag(s / (s^2 + mu)) U^T r`` is exactly the solution of the system above, for
any ``mu``, in ``O(n_params * rank)``. A rejected trial therefore re-solves for its larger
``mu`` without refactoring, the system is never singular (a zero singular value gives a zero
component, even when ``J^T J`` is rank deficient, as on XOR, where 4 residuals meet 9 or more
parameters), and ``J^T J`` is never formed, so its condition number is not squared.

The Jacobian is computed in closed form, vectorized over examples and outputs: one reverse pass
per residual row, all rows at once, in float64 (:func:`residual_jacobian`; checked against
``torch.func.jacrev`` in the tests).

References: K. Levenberg, "A method for the solution of certain non-linear problems in least
squares", Quarterly of Applied Mathematics 2, 1944, https://doi.org/10.1090/qam/10666;
D. W. Marquardt, "An algorithm for least-squares estimation of nonlinear parameters", SIAM J.
Applied Mathematics 11, 1963, https://doi.org/10.1137/0111030; M. T. Hagan & M. B. Menhaj,
"Training feedforward networks with the Marquardt algorithm", IEEE Trans. Neural Networks 5(6),
1994, https://doi.org/10.1109/72.329697; MATLAB Deep Learning Toolbox, ``trainlm``
(``net.trainParam.mu``, ``mu_dec``, ``mu_inc``, ``mu_max``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from solvers.base import (
    FLOAT_BYTES,
    PARAM_COPIES,
    Cost,
    Monitor,
    Solver,
    activation_size,
    task_data_size,
)
from solvers.numpy_backprop import forward_layers
from solvers.space import LogUniform, SearchSpace
from tasks._validation import check_interval
from tasks.base import Task
from tasks.errors import NumericalFailureError
from tasks.mlp import FlatParams, FloatArray, ModelSpec

#: Networks above this many parameters are refused. The Jacobian's SVD costs
#: ``O(N K n_params min(N K, n_params))`` per accepted step and the normal matrix it stands for
#: has ``n_params^2`` entries (128 MB at 4,000): past a few thousand weights a run would spend
#: its budget factoring (MATLAB's ``trainlm`` page warns that it needs more memory than the other
#: training functions; first-order methods take over on large networks).
MAX_PARAMS = 4_000
#: Jacobians above this many entries (``N K n_params``; 256 MiB in float64) are refused: the
#: SVD holds about three matrices of that size at once.
MAX_JACOBIAN_ENTRIES = 2**25
#: ``mu`` never falls below this, so that a rejection after a long run of accepted steps can
#: still raise it (0 times ``mu_inc`` would stay 0).
MU_FLOOR = float(np.finfo(np.float64).tiny)


def _slope(name: str, z: FloatArray, a: FloatArray) -> FloatArray:
    """The derivative of an element-wise activation at ``z`` (``a`` is its value there)."""
    if name == "identity":
        return np.ones_like(z)
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return (z > 0.0).astype(z.dtype)
    raise ValueError(f"no derivative for activation {name!r}")  # thresholds are refused earlier


def residual_jacobian(
    spec: ModelSpec,
    layers: list[tuple[FloatArray, FloatArray]],
    hs: list[FloatArray],
    zs: list[FloatArray],
) -> FloatArray:
    """The Jacobian of the residuals ``(outputs - targets).ravel()`` in the flat parameters.

    One reverse pass per residual row (example ``i``, output ``k``), all ``N K`` of them at once:
    ``delta[i, k, :]`` holds ``d out[i, k] / d z`` for one layer's pre-activations, and each
    layer's rows are the outer product of its input with ``delta``. Reuses the forward pass
    (``solvers.numpy_backprop.forward_layers``) that scored the point, so the Jacobian costs
    ``N K`` backward passes and no forward pass of its own.

    Args:
        spec: the network shape (real weights, smooth units).
        layers, hs, zs: :func:`solvers.numpy_backprop.forward_layers`'s output for one vector.

    Returns:
        ``(N * K, n_params)``, rows example-major (row ``i * K + k``), as ``ravel`` orders the
        residuals.
    """
    out, z_out = hs[-1], zs[-1]
    n, k = out.shape
    if spec.output_activation == "softmax":
        # d a_c / d z_j = a_c (1{c = j} - a_j): a full K x K block per example.
        delta = out[:, :, None] * (np.eye(k) - out[:, None, :])
    else:
        delta = _slope(spec.output_activation, z_out, out)[:, :, None] * np.eye(k)
    jac = np.empty((n, k, spec.num_params))
    slices = list(spec.slices())
    for i in range(len(slices) - 1, -1, -1):
        w_slice, b_slice, fan_in, fan_out = slices[i]
        outer = hs[i][:, None, :, None] * delta[:, :, None, :]
        jac[:, :, w_slice] = outer.reshape(n, k, fan_in * fan_out)
        jac[:, :, b_slice] = delta
        if i > 0:
            hidden = spec.activations[i - 1]
            delta = (delta @ layers[i][0].T) * _slope(hidden, zs[i - 1], hs[i])[:, None, :]
    return jac.reshape(n * k, spec.num_params)


@dataclass(frozen=True, eq=False)
class LMState:
    """Where the run stands: the accepted point, its residuals and its factored Jacobian.

    Replaced by each trial (:meth:`LMSolver.trial`), never mutated.

    Attributes:
        params: the last accepted parameters.
        residuals: their residuals ``(N K,)``.
        sse: the sum of squared residuals there.
        mu: the damping of the next trial.
        singular: the Jacobian's singular values ``s``.
        right: ``V^T``, its right singular vectors as rows.
        projected: ``U^T r``, the residuals in its left singular basis.
    """

    params: FlatParams
    residuals: FloatArray
    sse: float
    mu: float
    singular: FloatArray
    right: FloatArray
    projected: FloatArray


@dataclass(frozen=True, kw_only=True)
class LMSolver(Solver):
    """Levenberg-Marquardt (Hagan & Menhaj 1994, MATLAB ``trainlm``) on MSE tasks, full batch.

    Iteration: one trial of the damped Gauss-Newton step: an accepted step and each rejected
    one count separately. ``trainlm``'s epoch (one accepted step with its rejections) holds a
    number of trials not known in advance, so it has no cost bound the harness could stop on
    before the budget; one trial has an exact one.
    Evaluations: each trial scores its point on the training set, ``N`` forward passes. An
    accepted trial also takes the Jacobian there, ``N K`` backward passes (one reverse pass
    per residual row, ``K`` outputs), reusing that forward pass; a rejected one takes none. The
    first report charges the starting point's forward pass and Jacobian, ``N`` and ``N K``.

    Defaults: ``mu = 1e-3``, ``mu_dec = 0.1``, ``mu_inc = 10``, ``mu_max = 1e10``, all
    ``trainlm``'s (``net.trainParam``); Hagan & Menhaj used the same factor of 10 both ways.
    None was chosen on this suite. ``trainlm``'s other stops (``epochs``, ``goal``, ``time``,
    ``max_fail``, ``min_grad``) are the harness's budget and target here.

    Applies to supervised tasks with the MSE loss and a differentiable network of at most
    :data:`MAX_PARAMS` parameters; other tasks are refused as not applicable
    (:meth:`unsupported_reason`).

    Attributes:
        mu: the initial damping, in (0, inf).
        mu_dec: the factor ``mu`` is multiplied by after an accepted step, in (0, 1).
        mu_inc: the factor ``mu`` is multiplied by after a rejected step, in (1, inf).
        mu_max: the run ends when ``mu`` passes it, in (mu, inf).
    """

    name: ClassVar[str] = "lm"
    paradigm: ClassVar[str] = "gradients"
    mlp_only: ClassVar[str] = (
        "builds its residual Jacobian layer by layer from an MLP's dense "
        "layers"
    )
    iteration: ClassVar[str] = "one damped Gauss-Newton trial (accepted or rejected)"
    evaluations: ClassVar[str] = (
        "`N` forward passes per trial, plus `N K` backward passes (the Jacobian, one reverse "
        "pass per residual) when the trial is accepted; `N` + `N K` before the first report."
    )
    caveat: ClassVar[str] = (
        "**`lm` counts trials, not epochs.** One `lm` iteration is one Levenberg-Marquardt "
        "trial; a rejected trial (damping raised) is an iteration too. An accepted trial pays "
        "for the full Jacobian, `N K` backward passes, against `N` for one gradient step, and "
        "an SVD of it that the pass counts do not show: compare it on evaluations and seconds."
    )
    search_space: ClassVar[SearchSpace] = {
        "mu": LogUniform(1e-6, 10.0),
        "mu_dec": LogUniform(0.01, 0.5),
        "mu_inc": LogUniform(1.5, 100.0),
    }

    mu: float = 1e-3
    mu_dec: float = 0.1
    mu_inc: float = 10.0
    mu_max: float = 1e10

    def validate(self) -> None:
        owner = type(self).__name__
        check_interval(self.mu, "mu", owner, low=0.0, closed="neither")
        check_interval(self.mu_dec, "mu_dec", owner, low=0.0, high=1.0, closed="neither")
        check_interval(self.mu_inc, "mu_inc", owner, low=1.0, closed="neither")
        check_interval(self.mu_max, "mu_max", owner, low=self.mu, closed="neither")

    def unsupported_reason(self, task: Task) -> str | None:
        """``not applicable`` unless ``task`` is a differentiable MSE task of a size it can do.

        Levenberg-Marquardt minimizes a sum of squared residuals; a cross-entropy loss is not
        one, and the 0-1 loss or a control task's return has no Jacobian to take.
        """
        reason = super().unsupported_reason(task)
        if reason is not None:
            return reason
        owner = type(self).__name__
        if task.loss != "mse":
            return (
                f"not applicable: {owner} minimizes a sum of squared residuals (outputs minus "
                f"targets), and task {task.name!r} is trained on the {task.loss!r} loss, which "
                f"is not one"
            )
        if task.num_params > MAX_PARAMS:
            return (
                f"not applicable: {owner} factors the residual Jacobian at every accepted step "
                f"(the damped system J^T J + mu I is n_params x n_params), and task "
                f"{task.name!r} has {task.num_params:,} parameters ({task.model.describe()}), "
                f"over the {MAX_PARAMS:,} past which its memory and time are unreasonable"
            )
        entries = task.n_train * task.model.layer_sizes[-1] * task.num_params
        if entries > MAX_JACOBIAN_ENTRIES:
            return (
                f"not applicable: {owner} holds the full residual Jacobian, and task "
                f"{task.name!r} would need {entries:,} entries ({task.n_train:,} examples x "
                f"{task.model.layer_sizes[-1]} outputs x {task.num_params:,} parameters), over "
                f"the {MAX_JACOBIAN_ENTRIES:,} it allows"
            )
        return None

    def initial_cost(self, task: Task) -> Cost:
        return Cost(task.n_train, task.n_train * task.model.layer_sizes[-1])

    def iteration_cost(self, task: Task) -> Cost:
        # Exact in forward passes (every trial scores one point); the backward count is the
        # accepted trial's, an upper bound for a rejected one.
        return Cost(task.n_train, task.n_train * task.model.layer_sizes[-1])

    def memory_estimate(self, task: Task) -> int:
        # The Jacobian, its outer-product temporary (one layer's block, at most as large), the
        # SVD's U and V^T and LAPACK's workspace (about 4 rank^2), the data, two forward passes
        # (current and trial) and the usual parameter copies.
        rows = task.n_train * task.model.layer_sizes[-1]
        n = task.num_params
        rank = min(rows, n)
        return FLOAT_BYTES * (
            2 * rows * n + rank * (rows + n) + 4 * rank * rank
            + task_data_size(task) + 2 * activation_size(task) + PARAM_COPIES * n
        )

    def start(self, task: Task, x0: FlatParams) -> LMState:
        """The state at ``x0``: its residuals and factored Jacobian (one forward pass of the
        training set and ``N K`` backward passes)."""
        return self._linearize(task, x0, self.mu)

    def trial(self, task: Task, state: LMState) -> tuple[LMState, bool]:
        """One Levenberg-Marquardt trial: solve, score, accept or reject; adjust ``mu``.

        Returns:
            The next state and whether the step was accepted (the sum of squared residuals went
            strictly down, as in ``trainlm``; a non-finite one never does).
        """
        s = state.singular
        denominator = s * s + state.mu
        scale = np.divide(s, denominator, out=np.zeros_like(s), where=denominator > 0.0)
        step = -(state.right.T @ (scale * state.projected))
        candidate = state.params + step
        layers, hs, zs = forward_layers(task.mlp, candidate, task.x_train)
        residuals = (hs[-1] - task.y_train).ravel()
        sse = float(residuals @ residuals)
        if sse < state.sse:
            mu = max(state.mu * self.mu_dec, MU_FLOOR)
            jac = residual_jacobian(task.mlp, layers, hs, zs)
            return self._factored(candidate, residuals, sse, mu, jac), True
        return dataclasses.replace(state, mu=state.mu * self.mu_inc), False

    def run(
        self, task: Task, x0: FlatParams, monitor: Monitor, rng: np.random.Generator
    ) -> str | None:
        del rng  # deterministic given x0
        forward, backward = task.n_train, task.n_train * task.model.layer_sizes[-1]
        state = self.start(task, x0)
        if monitor.report(state.params, evaluations=forward, backward=backward):
            return None
        if not np.isfinite(state.sse):
            return "the residuals at the starting point are not finite"
        while True:
            state, accepted = self.trial(task, state)
            if monitor.report(state.params, evaluations=forward,
                              backward=backward if accepted else 0):
                return None
            if state.mu > self.mu_max:
                return f"mu reached {state.mu:.3g}, past mu_max={self.mu_max:g} (trainlm's stop)"

    def _linearize(self, task: Task, params: FlatParams, mu: float) -> LMState:
        layers, hs, zs = forward_layers(task.mlp, params, task.x_train)
        residuals = (hs[-1] - task.y_train).ravel()
        jac = residual_jacobian(task.mlp, layers, hs, zs)
        sse = float(residuals @ residuals)
        if not np.isfinite(sse):  # nothing to factor; run() stops after its first report
            empty = np.zeros(0)
            return LMState(params=params, residuals=residuals, sse=sse, mu=mu, singular=empty,
                           right=np.zeros((0, params.size)), projected=empty)
        return self._factored(params, residuals, sse, mu, jac)

    @staticmethod
    def _factored(
        params: FlatParams, residuals: FloatArray, sse: float, mu: float, jac: FloatArray
    ) -> LMState:
        try:
            u, s, vt = np.linalg.svd(jac, full_matrices=False)
        except np.linalg.LinAlgError as exc:
            raise NumericalFailureError(
                f"the SVD of the residual Jacobian ({jac.shape[0]} x {jac.shape[1]}) did not "
                f"converge: {exc}"
            ) from None
        return LMState(params=params, residuals=residuals, sse=sse, mu=mu, singular=s,
                       right=vt, projected=u.T @ residuals)

