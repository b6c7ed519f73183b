"""PyTorch side of the shared network: the same flat layout and forward, differentiable.

Torch solvers keep the whole network in one flat leaf tensor ``theta`` and take views of it per
layer, so handing parameters to the harness is a single copy and the optimizer sees exactly the
vector the rest of the benchmark uses. Element-wise optimizers (SGD, Adam) behave the same on one
flat tensor as on per-layer tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional

from solvers.base import Monitor
from tasks.base import Task
from tasks.mlp import ModelSpec

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


def torch_forward(spec: ModelSpec, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Forward one flat parameter vector; returns the output layer's *logits*."""
    h = x
    slices = list(spec.slices())
    for i, ((w, b, fi, fo), act) in enumerate(zip(slices, spec.activations, strict=True)):
        h = h @ theta[w].view(fi, fo) + theta[b]
        if i < len(slices) - 1:
            h = _activate(act, h)
    return h


def _activate(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "softmax":
        return torch.softmax(z, dim=-1)
    return z


def torch_loss(task: Task, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The task's training loss from logits, matching ``Task.losses`` exactly."""
    act = task.model.output_activation
    if task.loss == "cross_entropy":
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
    parameters after every epoch and stops when the harness says so.
    """

    def __init__(self, task: Task, x0: np.ndarray, dtype: str, batch_size: int | None) -> None:
        self.task = task
        self.x, self.y = tensors(task, dtype)
        self.theta = torch.tensor(x0, dtype=DTYPES[dtype], requires_grad=True)
        self.batch_size = batch_size

    def run(
        self, optimizer: torch.optim.Optimizer, monitor: Monitor, rng: np.random.Generator
    ) -> None:
        n = self.task.n_train
        theta, x, y, task, spec = self.theta, self.x, self.y, self.task, self.task.model
        report = monitor.report
        if not report(to_numpy(theta), evaluations=0):
            while True:
                if self.batch_size is None or self.batch_size >= n:
                    optimizer.zero_grad(set_to_none=True)
                    torch_loss(task, torch_forward(spec, theta, x), y).backward()
                    optimizer.step()
                else:
                    order = torch.from_numpy(rng.permutation(n))
                    for start in range(0, n, self.batch_size):
                        idx = order[start : start + self.batch_size]
                        optimizer.zero_grad(set_to_none=True)
                        torch_loss(task, torch_forward(spec, theta, x[idx]), y[idx]).backward()
                        optimizer.step()
                if report(to_numpy(theta), evaluations=n, backward=n):
                    break
