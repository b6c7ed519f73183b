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
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_softmax

from tasks._validation import check_options, check_type

if TYPE_CHECKING:  # tasks.network imports torch, which ``import tasks`` does not need
    from tasks.network import ModuleSpec

FloatArray = NDArray[np.float64]
FlatParams = NDArray[np.float64]

ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu", "softmax")
#: Hidden activations. ``sign`` (outputs +-1, ``sign(0) = +1``) and ``step`` (Heaviside, outputs
#: 0/1, ``step(0) = 1``) are hard thresholds: their derivative is zero almost everywhere, so a
#: gradient solver trains them only through a straight-through estimator (issue 23). They are
#: hidden-only: an output threshold would make every loss but the 0-1 loss piecewise constant.
HIDDEN_ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu", "sign", "step")
#: Hidden activations without a useful derivative (a gradient solver needs a straight-through
#: estimator for them).
THRESHOLD_ACTIVATIONS: tuple[str, ...] = ("sign", "step")
INITS: tuple[str, ...] = ("normal", "small_normal", "glorot", "torch")
#: Bit widths of the ``int<k>`` weight quantizations.
INT_BITS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
#: Weight quantizations (see :func:`quantize_weights` for each rule). ``real`` stores and uses
#: the weights as they are; every other value keeps real-valued *latent* weights in the flat
#: vector and quantizes them in every forward pass, so what is judged is the deployed network.
WEIGHTS: tuple[str, ...] = (
    "real", "binary", "binary_scaled", "ternary", *(f"int{k}" for k in INT_BITS)
)
#: TWN's threshold factor: a ternary weight is zero where ``|w| <= 0.7 mean|w|`` (per layer).
TERNARY_THRESHOLD = 0.7
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
        weights: how the stored (latent, real) weights become the weights the forward pass
            uses: ``"real"`` (as stored), ``"binary"``, ``"binary_scaled"``, ``"ternary"`` or
            ``"int2"`` .. ``"int8"``; the rules are :func:`quantize_weights`'s. Biases stay real
            in every case, as in BinaryConnect and XNOR-Net. Quantization applies in every
            forward pass (:func:`quantize`), so the target and metrics are the quantized
            network's: what is deployed is what is judged.
    """

    layer_sizes: tuple[int, ...]
    activations: tuple[str, ...]
    init: str = "glorot"
    weights: str = "real"

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
        check_options(self.weights, "weights", owner, WEIGHTS)

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
        weights: str = "real",
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
            weights=weights,
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

    @property
    def thresholded(self) -> bool:
        """Whether a hidden layer has hard-threshold units (``sign``, ``step``)."""
        return any(a in THRESHOLD_ACTIVATIONS for a in self.hidden_activations)

    @property
    def quantized(self) -> bool:
        """Whether the forward pass quantizes the weights (``weights`` is not ``"real"``)."""
        return self.weights != "real"

    def describe(self) -> str:
        """Short human form, e.g. ``2-2sigmoid-1identity (normal)``.

        A quantized network says so: ``4-4sign-1sigmoid (glorot, binary weights)``.
        """
        parts = [str(self.layer_sizes[0])]
        parts += [f"{n}{a}" for n, a in zip(self.layer_sizes[1:], self.activations, strict=True)]
        extra = f", {self.weights} weights" if self.quantized else ""
        return "-".join(parts) + f" ({self.init}{extra})"

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


def quantize_weights(kind: str, w: FloatArray) -> FloatArray:
    """The weights one dense layer uses in its forward pass, from its latent weights.

    ``w`` is one layer's weight matrix ``(fan_in, fan_out)``, or a population's
    ``(P, fan_in, fan_out)``; "per unit" means per output unit (a column, over its ``fan_in``
    incoming weights), "per layer" over the whole matrix of one network. Rules:

    * ``real``: ``w`` itself (no copy).
    * ``binary``: ``sign(w)`` with ``sign(0) = +1``: deterministic BinaryConnect (Courbariaux,
      Bengio & David 2015, arXiv 1511.00363).
    * ``binary_scaled``: ``alpha_j sign(w_ij)`` with ``alpha_j = mean_i |w_ij|``, one scale per
      output unit, as XNOR-Net's weights (Rastegari et al. 2016, arXiv 1603.05279).
    * ``ternary``: Ternary Weight Networks (Li, Zhang & Liu 2016, arXiv 1605.04711), per layer:
      threshold ``delta = 0.7 mean|w|``; weights with ``|w| > delta`` become ``alpha sign(w)``
      with ``alpha`` the mean of those surviving ``|w|``, the others 0 (all 0 when none
      survives).
    * ``int<k>`` (k in 2..8): symmetric uniform k-bit quantization, per layer: scale
      ``s = max|w| / (2^(k-1) - 1)`` and ``s * round(w / s)``, so the levels are
      ``s * {-(2^(k-1)-1), ..., 0, ..., 2^(k-1)-1}`` (``int2``: ``{-s, 0, s}``; ``int8``: 255
      levels). ``round`` is :func:`numpy.round`, half to even, as ``torch.round``; an all-zero
      layer stays zero.

    Non-finite latent weights give non-finite weights (``sign(NaN)`` is NaN, a NaN scale makes
    its unit or layer NaN), so a diverged run is still seen as diverged. Every rule is
    idempotent: quantizing quantized weights gives them back (up to one rounding of the scale).

    Raises:
        InvalidParameterError: ``kind`` is not one of :data:`WEIGHTS`.
    """
    if kind == "real":
        return w
    if kind == "binary":
        return _sign(w)
    if kind == "binary_scaled":
        return _sign(w) * np.mean(np.abs(w), axis=-2, keepdims=True)
    if kind == "ternary":
        magnitude = np.abs(w)
        keep = magnitude > TERNARY_THRESHOLD * np.mean(magnitude, axis=(-2, -1), keepdims=True)
        count = np.sum(keep, axis=(-2, -1), keepdims=True)
        total = np.sum(magnitude, axis=(-2, -1), keepdims=True, where=keep)
        alpha = total / np.maximum(count, 1)
        # NaN fails every comparison, so a NaN weight would drop out: carry it through alpha.
        alpha = alpha + 0.0 * np.sum(w, axis=(-2, -1), keepdims=True)
        return np.where(keep, np.sign(w), 0.0) * alpha
    if kind.startswith("int") and kind[3:] in {str(k) for k in INT_BITS}:
        levels = 2.0 ** (int(kind[3:]) - 1) - 1.0
        scale = np.max(np.abs(w), axis=(-2, -1), keepdims=True) / levels
        safe = np.where(scale == 0.0, 1.0, scale)  # a NaN scale stays NaN
        return np.clip(np.round(w / safe), -levels, levels) * safe
    check_options(kind, "weights", "quantize_weights", WEIGHTS)
    raise AssertionError("unreachable")  # pragma: no cover


def quantize(spec: ModelSpec, params: FloatArray) -> FloatArray:
    """The effective parameters of a flat vector (or population): what the forward pass uses.

    Each layer's weights go through :func:`quantize_weights` with ``spec.weights``; biases are
    kept as they are. With ``weights="real"`` this is ``params`` itself (no copy). Every forward
    of the shared network calls it (population forward, evaluators, the torch and NumPy-backprop
    forwards must agree with it), so the stored vector holds the latent weights a solver
    updates, and the network judged is the quantized one.
    """
    if not spec.quantized:
        return params
    out = np.array(params, copy=True)  # float32 populations stay float32
    lead = out.shape[:-1]
    for w, _, fan_in, fan_out in spec.slices():
        layer = out[..., w].reshape(*lead, fan_in, fan_out)
        out[..., w] = quantize_weights(spec.weights, layer).reshape(*lead, fan_in * fan_out)
    return out


def _sign(x: FloatArray) -> FloatArray:
    """``sign`` with ``sign(0) = +1`` (also for ``-0.0``), NaN kept."""
    out = np.sign(x)
    out[out == 0.0] = 1.0
    return out


def activate(name: str, z: FloatArray) -> FloatArray:
    """Apply an activation element-wise (softmax over the last axis).

    ``sign`` maps to +-1 with ``sign(0) = +1`` (as BNNs' binarization); ``step`` to 0/1 with
    ``step(0) = 1``. Both keep NaN, so a diverged network's loss stays non-finite.
    """
    if name == "identity":
        return z
    if name == "sign":
        return _sign(z)
    if name == "step":
        return np.heaviside(z, 1.0)
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
    spec: ModelSpec | ModuleSpec, params: FloatArray, x: FloatArray, *, logits: bool = False
) -> FloatArray:
    """Evaluate a population (or one vector) of networks on a batch, in one vectorized call.

    Args:
        spec: the network's shape; a :class:`tasks.network.ModuleSpec` (a torch module) is
            evaluated by its own batched forward (``ModuleSpec.population_logits``).
        params: ``(P, n_params)`` or ``(n_params,)``, the stored (latent) parameters;
            quantized weights are quantized here (:func:`quantize`).
        x: inputs ``(N, n_in)``.
        logits: return the output layer's pre-activation instead of its activation.

    Returns:
        ``(P, N, n_out)`` for a population, ``(N, n_out)`` for a single vector.
    """
    single = params.ndim == 1
    if not isinstance(spec, ModelSpec):  # a torch module's network (tasks/network.py)
        z = spec.population_logits(params[None, :] if single else params, x)
        out = z if logits else activate(spec.output_activation, z)
        return out[0] if single else out
    pop = quantize(spec, params[None, :] if single else params)
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
    params = quantize(spec, params)
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
    if name == "sign":
        np.sign(z, out=z)
        z[z == 0.0] = 1.0
        return z
    if name == "step":
        return np.heaviside(z, 1.0, out=z)
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
