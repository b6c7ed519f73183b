"""The one network every solver and the harness share: an MLP over flat parameter vectors.

Flat layout (documented once, used everywhere): for each dense layer ``l`` with ``fan_in`` inputs
and ``fan_out`` outputs, the vector holds ``W_l`` (shape ``(fan_in, fan_out)``, row-major, so
``W_l[i, j]`` connects input ``i`` to unit ``j``) followed by the bias ``b_l`` (``fan_out``).
Layers follow each other from input to output. A 2-2-1 network therefore has
``[W1 (4), b1 (2), W2 (2), b2 (1)]`` = 9 parameters.

The forward pass evaluates a whole *population* of parameter vectors, shape ``(P, n_params)``,
on a batch ``(N, n_in)`` in one vectorized call and returns ``(P, N, n_out)``. A single vector is
the case ``P = 1``. Batched matrix products replace Python loops over solutions, which is what
makes population methods (GA, CMA-ES) cheap enough to compare fairly with gradient descent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_softmax

from tasks._validation import check_options, check_type

FloatArray = NDArray[np.float64]
FlatParams = NDArray[np.float64]

ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu", "softmax")
HIDDEN_ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu")
INITS: tuple[str, ...] = ("normal", "small_normal", "glorot", "torch")
Activation = Literal["identity", "sigmoid", "tanh", "relu", "softmax"]
Init = Literal["normal", "small_normal", "glorot", "torch"]


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Shape of an MLP: layer sizes, one activation per dense layer, and an init scheme.

    Attributes:
        layer_sizes: ``(n_inputs, *hidden, n_outputs)``.
        activations: one activation per dense layer, the last being the output activation.
            ``softmax`` is only allowed on the output.
        init: initialisation scheme, one of:

            * ``"normal"``: weights ~ N(0, 1), biases as PyTorch's default
              U(-1/sqrt(fan_in), 1/sqrt(fan_in)). This is the write-up's PyTorch XOR, which calls
              ``weight.data.normal_(0, 1)`` and leaves the biases alone.
            * ``"small_normal"``: weights ~ 0.1 * N(0, 1), biases 0 (the write-up's NumPy XOR).
            * ``"glorot"``: Glorot/Xavier uniform weights U(-sqrt(6/(fan_in+fan_out)), +...),
              biases 0.
            * ``"torch"``: PyTorch's ``nn.Linear`` default, weights and biases
              U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """

    layer_sizes: tuple[int, ...]
    activations: tuple[str, ...]
    init: str = "glorot"

    def __post_init__(self) -> None:
        owner = "ModelSpec"
        check_type(self.layer_sizes, "layer_sizes", owner, tuple, "a tuple of at least 2 ints")
        if len(self.layer_sizes) < 2 or any(
            isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1
            for s in self.layer_sizes
        ):
            raise _spec_error(
                "layer_sizes", "a tuple of at least 2 positive ints", self.layer_sizes
            )
        if len(self.activations) != len(self.layer_sizes) - 1:
            raise _spec_error(
                "activations",
                f"one activation per dense layer ({len(self.layer_sizes) - 1})",
                self.activations,
            )
        for act in self.activations[:-1]:
            check_options(act, "hidden_activation", owner, HIDDEN_ACTIVATIONS)
        check_options(self.activations[-1], "output_activation", owner, ACTIVATIONS)
        check_options(self.init, "init", owner, INITS)

    @classmethod
    def build(
        cls,
        n_inputs: int,
        hidden: tuple[int, ...] | list[int],
        n_outputs: int,
        *,
        hidden_activation: str | tuple[str, ...] = "sigmoid",
        output_activation: str = "identity",
        init: str = "glorot",
    ) -> ModelSpec:
        """Build a spec from widths, one hidden activation (or one per hidden layer)."""
        hidden = tuple(hidden)
        if isinstance(hidden_activation, str):
            hidden_acts = (hidden_activation,) * len(hidden)
        else:
            hidden_acts = tuple(hidden_activation)
            if len(hidden_acts) != len(hidden):
                raise _spec_error(
                    "hidden_activation",
                    f"one name or one per hidden layer ({len(hidden)})",
                    hidden_activation,
                )
        return cls(
            layer_sizes=(n_inputs, *hidden, n_outputs),
            activations=(*hidden_acts, output_activation),
            init=init,
        )

    @property
    def hidden_activations(self) -> tuple[str, ...]:
        return self.activations[:-1]

    @property
    def output_activation(self) -> str:
        return self.activations[-1]

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """``(fan_in, fan_out)`` of each dense layer, input to output."""
        return tuple(zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True))

    @property
    def num_params(self) -> int:
        return sum(fi * fo + fo for fi, fo in self.shapes)

    def describe(self) -> str:
        """Short human form, e.g. ``2-2sigmoid-1identity (normal)``."""
        parts = [str(self.layer_sizes[0])]
        parts += [f"{n}{a}" for n, a in zip(self.layer_sizes[1:], self.activations, strict=True)]
        return "-".join(parts) + f" ({self.init})"

    def slices(self) -> Iterator[tuple[slice, slice, int, int]]:
        """Yield ``(weight_slice, bias_slice, fan_in, fan_out)`` per layer in the flat layout."""
        offset = 0
        for fan_in, fan_out in self.shapes:
            w = slice(offset, offset + fan_in * fan_out)
            offset += fan_in * fan_out
            b = slice(offset, offset + fan_out)
            offset += fan_out
            yield w, b, fan_in, fan_out

    def unpack(self, params: FlatParams) -> list[tuple[FloatArray, FloatArray]]:
        """Split a flat vector (or a population) into ``[(W, b), ...]`` views (no copies).

        A vector gives ``W`` of shape ``(fan_in, fan_out)``; a population ``(P, n)`` gives
        ``(P, fan_in, fan_out)`` and biases ``(P, fan_out)``.
        """
        lead = params.shape[:-1]
        return [
            (params[..., w].reshape(*lead, fi, fo), params[..., b])
            for w, b, fi, fo in self.slices()
        ]

    def pack(self, layers: list[tuple[FloatArray, FloatArray]]) -> FlatParams:
        """Inverse of :meth:`unpack` for a single network."""
        return np.concatenate([np.concatenate([w.ravel(), b.ravel()]) for w, b in layers])

    def init_params(self, rng: np.random.Generator, size: int | None = None) -> FloatArray:
        """Draw initial parameters: one vector, or ``(size, n_params)`` for a population."""
        n = 1 if size is None else size
        out = np.empty((n, self.num_params))
        for w, b, fan_in, fan_out in self.slices():
            torch_bound = 1.0 / np.sqrt(fan_in)
            if self.init == "normal":
                out[:, w] = rng.standard_normal((n, fan_in * fan_out))
                out[:, b] = rng.uniform(-torch_bound, torch_bound, (n, fan_out))
            elif self.init == "small_normal":
                out[:, w] = 0.1 * rng.standard_normal((n, fan_in * fan_out))
                out[:, b] = 0.0
            elif self.init == "glorot":
                bound = np.sqrt(6.0 / (fan_in + fan_out))
                out[:, w] = rng.uniform(-bound, bound, (n, fan_in * fan_out))
                out[:, b] = 0.0
            else:  # "torch"
                out[:, w] = rng.uniform(-torch_bound, torch_bound, (n, fan_in * fan_out))
                out[:, b] = rng.uniform(-torch_bound, torch_bound, (n, fan_out))
        return out[0] if size is None else out


def _spec_error(name: str, expected: str, got: object) -> Exception:
    from tasks.errors import InvalidParameterError

    return InvalidParameterError(
        f"The {name!r} parameter of ModelSpec must be {expected}. Got {got!r} instead."
    )


def activate(name: str, z: FloatArray) -> FloatArray:
    """Apply an activation element-wise (softmax over the last axis)."""
    if name == "identity":
        return z
    if name == "sigmoid":
        return expit(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        return np.exp(log_softmax(z, axis=-1))
    raise ValueError(f"unknown activation {name!r}")


#: Population chunks are sized so one layer's activations stay near this many floats (512 KB):
#: small enough to stay in cache and below glibc's mmap threshold. One (P, N, width) block per
#: layer for a large population otherwise page-faults fresh memory on every call and runs several
#: times slower than a loop over members (measured: P=10, N=256, width 100).
_CHUNK_FLOATS = 65_536


def forward(
    spec: ModelSpec, params: FloatArray, x: FloatArray, *, logits: bool = False
) -> FloatArray:
    """Evaluate a population (or one vector) of networks on a batch, in one vectorized call.

    Args:
        spec: the network's shape.
        params: ``(P, n_params)`` or ``(n_params,)``.
        x: inputs ``(N, n_in)``.
        logits: return the output layer's pre-activation instead of its activation.

    Returns:
        ``(P, N, n_out)`` for a population, ``(N, n_out)`` for a single vector.
    """
    single = params.ndim == 1
    pop = params[None, :] if single else params
    widest = max(spec.layer_sizes[1:])
    chunk = max(1, _CHUNK_FLOATS // (x.shape[0] * widest))
    if pop.shape[0] <= chunk:
        out = _forward_block(spec, pop, x, logits)
    else:
        out = np.concatenate(
            [_forward_block(spec, pop[i : i + chunk], x, logits)
             for i in range(0, pop.shape[0], chunk)]
        )
    return out[0] if single else out


def forward_each(
    spec: ModelSpec, params: FloatArray, x: FloatArray, *, logits: bool = False
) -> FloatArray:
    """Evaluate each member of a population on *its own* inputs, in one vectorized call.

    Where :func:`forward` shows one batch to every member, a control rollout gives each policy the
    observations of its own episodes. The same batched products do it: member ``p``'s block is
    ``(N, n_in) @ (n_in, fan_out)``.

    Args:
        spec: the network's shape.
        params: ``(P, n_params)``.
        x: ``(P, N, n_in)``, member ``p`` reading ``x[p]``.
        logits: return the output layer's pre-activation instead of its activation.

    Returns:
        ``(P, N, n_out)``.
    """
    widest = max(spec.layer_sizes[1:])
    chunk = max(1, _CHUNK_FLOATS // (x.shape[1] * widest))
    if params.shape[0] <= chunk:
        return _forward_block(spec, params, x, logits)
    return np.concatenate(
        [_forward_block(spec, params[i : i + chunk], x[i : i + chunk], logits)
         for i in range(0, params.shape[0], chunk)]
    )


def _forward_block(spec: ModelSpec, pop: FloatArray, x: FloatArray, logits: bool) -> FloatArray:
    h: FloatArray = x
    layers = spec.unpack(pop)
    last = len(layers) - 1
    for i, ((w, b), act) in enumerate(zip(layers, spec.activations, strict=True)):
        # (N, fi) @ (P, fi, fo) broadcasts to (P, N, fo); later layers are (P, N, fi) @ (P, fi, fo).
        z = np.matmul(h, w)
        z += b[:, None, :]
        h = z if (i == last and logits) else activate_inplace(act, z)
    return h


def activate_inplace(name: str, z: FloatArray) -> FloatArray:
    """``activate`` writing into ``z`` (a fresh temporary) to save an allocation per layer."""
    if name == "sigmoid":
        return expit(z, out=z)
    if name == "tanh":
        return np.tanh(z, out=z)
    if name == "relu":
        return np.maximum(z, 0.0, out=z)
    return activate(name, z)


def mse(pred: FloatArray, y: FloatArray) -> FloatArray:
    """Mean squared error over examples and outputs; ``(P, N, k)`` -> ``(P,)``."""
    return np.mean((pred - y) ** 2, axis=(-2, -1))


def cross_entropy_from_logits(z: FloatArray, y: FloatArray, output_activation: str) -> FloatArray:
    """Mean cross-entropy computed stably from logits; ``(P, N, k)`` -> ``(P,)``.

    Softmax outputs use the categorical form with one-hot targets; sigmoid outputs the binary
    form per output unit (averaged over units).
    """
    if output_activation == "softmax":
        return -np.mean(np.sum(y * log_softmax(z, axis=-1), axis=-1), axis=-1)
    if output_activation == "sigmoid":
        # log(1 + e^z) - y z  ==  BCE(sigmoid(z), y), without overflow.
        return np.mean(np.logaddexp(0.0, z) - y * z, axis=(-2, -1))
    raise ValueError("cross-entropy needs a 'softmax' or 'sigmoid' output activation")
