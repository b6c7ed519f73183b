"""Any ``torch.nn.Module`` as a task's network, over the same flat parameter vectors.

:class:`ModuleSpec` is the counterpart of :class:`tasks.mlp.ModelSpec` for a network given as a
module factory (a CNN, a recurrent cell unrolled in plain tensor ops, ...). The currency stays
one flat float vector: its layout is ``torch.nn.utils.parameters_to_vector`` order (the
module's ``named_parameters()``, each tensor flattened row-major), so every solver that only
reads losses (GA, CMA-ES, the ES family, random search, nevergrad) runs unchanged, and the
gradient solvers get the same vector as one leaf tensor.

Two forwards, the two halves of the MLP's pair (``tasks.mlp.forward`` and
``solvers._torch.torch_forward``):

* :meth:`ModuleSpec.population_logits`: a whole population ``(P, n)`` on one batch, through
  ``torch.func.functional_call`` under ``torch.vmap`` (no Python loop over members), in
  ``torch.no_grad``. Its rows do not depend on which other members share the call: a member's
  logits are bit-identical whether it is evaluated alone or in any population (a loop over
  members gives the same bits), which is what keeps ``Task.batch_evaluator`` equal to
  ``Task.evaluate`` to the last bit.
* :meth:`ModuleSpec.torch_logits`: one flat tensor ``theta``, differentiable (the parameters are
  views of ``theta``), for autograd.

The two agree to rounding only: vmap's convolution batching rule sums in another order than one
module's convolution (measured: 2.5e-14 apart on digits_cnn's logits in float64), as the NumPy
MLP forward and its torch twin do.

Rules a module must follow (checked at construction, each with its own message): every parameter
is a real floating-point tensor; no buffers (the flat vector could not carry their state, e.g.
BatchNorm's running statistics, between a solver and the harness); the forward maps ``(N, n_in)``
to ``(N, n_out)``; and it runs under ``torch.vmap`` (plain tensor ops: no ``.item()``, no data-
dependent Python control flow, no fused ``nn.GRU``/``nn.RNN`` kernels).

A module may also declare that it ends in a linear read-out (:class:`LinearReadout`): a
``linear_readout`` attribute naming its last linear layer's weight and bias parameters, and a
``features(x)`` method giving that layer's input, so that ``forward(x)`` is the read-out applied
to ``features(x)``. Nothing in the forward changes; a solver that fits only the last layer (ELM:
least squares on the features, ``solvers/elm.py``) reads it through :meth:`ModuleSpec.features`,
:meth:`ModuleSpec.readout_layer` and :meth:`ModuleSpec.with_readout`. A module that does not
declare it has no read-out as far as any solver knows, whatever its last layer is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from torch.func import functional_call

from tasks._validation import check_interval, check_options, shown
from tasks.errors import InvalidParameterError
from tasks.mlp import ModelSpec

FloatArray = np.ndarray

#: Output activations a module's logits may go through (the MLP's names, ``tasks/mlp.py``).
OUTPUT_ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "softmax")
#: Population chunks are sized so one block's activations stay near this many floats (64 MiB in
#: float64): a CNN's population forward on a full training set otherwise holds every member's
#: feature maps at once (digits_cnn at P=64: about 0.6 GB).
_CHUNK_FLOATS = 8 * 2**20
#: Rows of the probe input every module is checked on at construction.
_PROBE_ROWS = 2
#: Weight layouts a linear read-out may store: ``nn.Linear``'s ``(out, in)`` (``x W^T + b``), or
#: ``(in, out)`` (``x W + b``, a read-out written as a plain matrix product).
READOUT_LAYOUTS: tuple[str, ...] = ("out_in", "in_out")
#: How far (relative to the logits' largest magnitude, at least 1) a declared read-out applied to
#: the module's features may be from its forward on the probe input. Exact in intent; the slack
#: only admits a forward that sums the same terms in another order.
_READOUT_TOLERANCE = 1e-10


@dataclass(frozen=True)
class LinearReadout:
    """Where a module's last layer, a linear map of its features, keeps its parameters.

    A module declares one as its ``linear_readout`` attribute (a class attribute is enough)
    together with a method ``features(x)`` returning that layer's input ``(N, in_features)``,
    such that ``forward(x)`` equals ``features(x) W^T + b`` (``out_in``) or
    ``features(x) W + b`` (``in_out``). :class:`ModuleSpec` checks the declaration on its probe
    input at construction. An extreme learning machine then fits ``W`` and ``b`` by least
    squares on the features of the other (random) parameters: on a CNN, its random conv
    features; on a recurrent cell, an echo-state-style reservoir read out linearly.

    Attributes:
        weight: the weight's name in ``named_parameters()`` (``"out.weight"``), a 2-D tensor.
        bias: the bias's name (``"out.bias"``), shape ``(n_out,)``. Required: the fit always has
            an intercept column.
        layout: ``"out_in"`` (``nn.Linear``: weight ``(n_out, in_features)``) or ``"in_out"``
            (weight ``(in_features, n_out)``).

    Example:
        >>> LinearReadout.of_linear("out")
        LinearReadout(weight='out.weight', bias='out.bias', layout='out_in')
    """

    weight: str
    bias: str
    layout: str = "out_in"

    def __post_init__(self) -> None:
        owner = "LinearReadout"
        for name in ("weight", "bias"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {owner} must be a parameter name from the "
                    f"module's named_parameters(), a non-empty str. Got {shown(value)} instead."
                )
        check_options(self.layout, "layout", owner, READOUT_LAYOUTS)

    @classmethod
    def of_linear(cls, attribute: str) -> LinearReadout:
        """The read-out of an ``nn.Linear`` submodule named ``attribute`` (with its bias)."""
        return cls(weight=f"{attribute}.weight", bias=f"{attribute}.bias")


@dataclass(frozen=True)
class _ReadoutLayout:
    """Where a declared read-out sits in the flat vector (``parameters_to_vector`` order)."""

    weight: slice
    bias: slice
    in_features: int
    transposed: bool  # stored (n_out, in_features), as nn.Linear


class _Features(torch.nn.Module):
    """``module.features`` as a module's forward, so ``functional_call`` can run it on views of a
    flat vector (its parameters are the wrapped module's, each name prefixed ``module.``)."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = cast(Callable[[torch.Tensor], torch.Tensor], self.module.features)
        return features(x)


@dataclass(frozen=True, kw_only=True)
class ModuleSpec:
    """A network given as a ``torch.nn.Module`` factory, evaluated on flat parameter vectors.

    Attributes:
        module: a zero-argument factory returning the module; it must build the same structure
            (parameter names and shapes) on every call. Its own parameters give the default
            initialisation (:meth:`init_params`); the forward always runs on a flat vector.
        n_in: input width: the forward takes ``(N, n_in)``.
        n_out: output width: the forward returns logits ``(N, n_out)``.
        output_activation: what the task applies to the logits: ``identity``, ``sigmoid`` or
            ``softmax`` (the MLP's names, so losses and metrics are shared code).
        options: the knob values that built the module (``channels=8``); part of the spec's
            identity and of :meth:`describe`.

    One module instance (built at construction) runs every forward, its parameters swapped for
    views of the flat vector by ``functional_call`` for the call: a spec is not thread-safe
    (every run builds its own task, so runs never share one).

    Example:
        >>> spec = ModuleSpec(module=lambda: torch.nn.Linear(3, 2), n_in=3, n_out=2)
        >>> spec.num_params, spec.layer_sizes
        (8, (3, 2))
    """

    module: Callable[[], torch.nn.Module] = field(compare=False)
    n_in: int
    n_out: int
    output_activation: str = "identity"
    options: Mapping[str, Any] = field(default_factory=dict)
    # Derived once from the module (``__post_init__``); the layout is part of equality, so two
    # specs with the same knobs but another structure are different networks.
    class_name: str = field(init=False)
    parameter_shapes: tuple[tuple[str, tuple[int, ...]], ...] = field(init=False)
    _template: torch.nn.Module = field(init=False, repr=False, compare=False)
    _numels: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _activation_floats: int = field(init=False, repr=False, compare=False)
    # Derived from the module's ``linear_readout`` declaration; not part of the identity (the
    # layout already is), so a spec's equality, hash and record are what they were without it.
    _readout: _ReadoutLayout | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = "ModuleSpec"
        if not callable(self.module):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must be a zero-argument callable returning "
                f"a torch.nn.Module. Got {shown(self.module)} instead."
            )
        check_interval(self.n_in, "n_in", owner, kind=int, low=1)
        check_interval(self.n_out, "n_out", owner, kind=int, low=1)
        check_options(self.output_activation, "output_activation", owner, OUTPUT_ACTIVATIONS)
        if not isinstance(self.options, Mapping):
            raise InvalidParameterError(
                f"The 'options' parameter of {owner} must be a mapping of knob names to values. "
                f"Got {shown(self.options)} instead."
            )
        template = self.module()
        if not isinstance(template, torch.nn.Module):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must return a torch.nn.Module. Got "
                f"{type(template).__name__} instead."
            )
        name = type(template).__name__
        named = list(template.named_parameters())
        if not named:
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module with parameters. Got "
                f"{name}, which has none instead."
            )
        bad = [(n, p.dtype) for n, p in named if not p.is_floating_point()]
        if bad:
            listed = ", ".join(f"{n} ({dt})" for n, dt in bad)
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose parameters are all "
                f"real floating-point tensors (the flat vector is float64). Got {name} with "
                f"{listed} instead."
            )
        buffers = [n for n, _ in template.named_buffers()]
        if buffers:
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module without buffers: the "
                f"flat parameter vector is all a solver hands the harness, so a buffer's state "
                f"(e.g. BatchNorm's running statistics) would be lost or silently shared between "
                f"members. Got {name} with buffers {buffers} instead; drop them (a LayerNorm or "
                f"GroupNorm needs none) or make constants plain tensor attributes."
            )
        # Eval mode: a module that behaves differently in training (dropout) must not draw
        # random numbers inside vmap; no gradients on the template (flat views carry them).
        template.eval()
        template.requires_grad_(False)
        object.__setattr__(self, "class_name", name)
        object.__setattr__(self, "parameter_shapes",
                           tuple((n, tuple(int(s) for s in p.shape)) for n, p in named))
        object.__setattr__(self, "_template", template)
        object.__setattr__(self, "_numels", tuple(int(p.numel()) for _, p in named))
        object.__setattr__(self, "_activation_floats", self._probe(template))
        object.__setattr__(self, "_readout", self._probe_readout(template))

    # --- what code reads off ``task.model`` (MLP-neutral) -------------------------------------

    @property
    def num_params(self) -> int:
        return sum(self._numels)

    @property
    def layer_sizes(self) -> tuple[int, int]:
        """``(n_in, n_out)``: what code reading a network's input and output widths needs."""
        return (self.n_in, self.n_out)

    @property
    def thresholded(self) -> bool:
        """No hard-threshold units are declared: a module's forward is taken as differentiable."""
        return False

    @property
    def quantized(self) -> bool:
        """The forward uses the stored weights as they are."""
        return False

    @property
    def weights(self) -> str:
        return "real"

    @property
    def activation_floats(self) -> int:
        """Floats one example's forward holds (the outputs of every submodule, measured once on
        a probe input): the memory estimates' counterpart of the MLP's layer widths."""
        return self._activation_floats

    def __hash__(self) -> int:
        return hash((self.class_name, self.parameter_shapes, self.n_in, self.n_out,
                     self.output_activation, _frozen(self.options)))

    def describe(self) -> str:
        """Short human form, e.g. ``DigitsCNN(channels=8) 64->10softmax (1,954 params)``."""
        knobs = ", ".join(f"{k}={v}" for k, v in self.options.items())
        return (f"{self.class_name}({knobs}) {self.n_in}->{self.n_out}{self.output_activation} "
                f"({self.num_params:,} params)")

    def record(self) -> dict[str, Any]:
        """The module's class, each parameter's name and shape, and the count, JSON-ready.

        Tasks put it in their ``options`` so that every run record says which network ran.
        """
        return {
            "class": self.class_name,
            "parameters": {n: list(s) for n, s in self.parameter_shapes},
            "num_params": self.num_params,
        }

    def supports(self, kwarg: str) -> bool:
        """Whether the module's ``forward`` takes the keyword ``kwarg`` (e.g. ``truncation``)."""
        params = inspect.signature(self._template.forward).parameters
        return kwarg in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
        )

    # --- parameters ---------------------------------------------------------------------------

    def init_params(self, rng: np.random.Generator, size: int | None = None) -> FloatArray:
        """Draw initial parameters: the module's own default initialisation, seeded from ``rng``.

        Each member is a fresh ``module()`` built under a torch generator seeded from one draw
        of ``rng`` (inside ``torch.random.fork_rng``, so torch's global generator is left as it
        was): the same ``rng`` state gives the same vectors.

        Returns:
            float64 ``(num_params,)``, or ``(size, num_params)`` for a population.
        """
        n = 1 if size is None else size
        seed = int(rng.integers(2**63 - 1))
        out = np.empty((n, self.num_params))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for i in range(n):
                fresh = self.module()
                vector = torch.nn.utils.parameters_to_vector(fresh.parameters()).detach()
                if vector.numel() != self.num_params:
                    raise InvalidParameterError(
                        f"The 'module' parameter of ModuleSpec must build the same structure on "
                        f"every call. Got {vector.numel()} parameters instead of "
                        f"{self.num_params}."
                    )
                out[i] = vector.to(torch.float64).numpy()
        return out[0] if size is None else out

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{name: view}`` of a flat tensor ``(num_params,)``, in ``parameters_to_vector``
        order; the views keep ``theta``'s autograd history."""
        return {
            name: part.view(shape)
            for (name, shape), part in zip(self.parameter_shapes, theta.split(self._numels),
                                           strict=True)
        }

    # --- the linear read-out (optional, declared by the module) -------------------------------

    @property
    def has_readout(self) -> bool:
        """Whether the module declares a linear read-out (:class:`LinearReadout`)."""
        return self._readout is not None

    def readout_slices(self) -> tuple[slice, slice] | None:
        """``(weight, bias)`` positions of the declared read-out in the flat vector, or ``None``.

        The weight is stored as the module stores it (``nn.Linear``: ``(n_out, in)``, row-major).
        """
        layout = self._readout
        return None if layout is None else (layout.weight, layout.bias)

    def readout_layer(self) -> ModelSpec | None:
        """The declared read-out as a one-layer MLP over the features, or ``None``.

        ``(in_features, n_out)`` with this spec's output activation: what code written for an
        MLP's last dense layer (ZORB's least squares, its output inverse and its export check's
        round-off bound) runs on, over :meth:`features` instead of an MLP's hidden units. Its flat
        layout is the MLP's (``tasks/mlp.py``): ``W`` ``(in_features, n_out)`` row-major, then
        ``b``; :meth:`readout_params` and :meth:`with_readout` convert.
        """
        layout = self._readout
        if layout is None:
            return None
        return ModelSpec(layer_sizes=(layout.in_features, self.n_out),
                         activations=(self.output_activation,))

    def readout_params(self, params: FloatArray) -> FloatArray:
        """The read-out's weight and bias in :meth:`readout_layer`'s flat layout (a copy)."""
        return _layer_params(self._require_readout("readout_params"), self.n_out, params)

    def with_readout(self, params: FloatArray, layer: FloatArray) -> FloatArray:
        """A float64 copy of ``params`` whose read-out is ``layer`` (:meth:`readout_layer`'s
        flat layout); every other parameter is left exactly as it was."""
        layout = self._require_readout("with_readout")
        d = layout.in_features
        layer = np.asarray(layer, dtype=np.float64)
        expected = d * self.n_out + self.n_out
        if layer.shape != (expected,):
            raise InvalidParameterError(
                f"The 'layer' parameter of ModuleSpec.with_readout must have shape ({expected},) "
                f"(the read-out's {d} x {self.n_out} weights, then its {self.n_out} biases). Got "
                f"shape {layer.shape} instead."
            )
        weight = layer[: d * self.n_out].reshape(d, self.n_out)
        out = np.array(params, dtype=np.float64, copy=True)
        out[layout.weight] = (weight.T if layout.transposed else weight).ravel()
        out[layout.bias] = layer[d * self.n_out :]
        return out

    def features(self, params: FloatArray, x: FloatArray) -> FloatArray:
        """The read-out's input ``(N, in_features)`` under one flat vector, in float64.

        Computed by the population forward's own kernels (a population of one, under
        ``torch.vmap``, as :meth:`population_logits` evaluates ``Task.evaluate``'s vector), so
        these are the very features the population forward feeds its read-out: a read-out fitted
        on them is judged on the same numbers.

        Raises:
            InvalidParameterError: the module declares no read-out.
        """
        self._require_readout("features")
        pop = _tensor(np.asarray(params, dtype=np.float64)[None, :])
        xt = _tensor(np.asarray(x, dtype=np.float64))
        with torch.no_grad():
            out = self._vmapped_features(pop.expand(2, -1), xt.expand(2, *xt.shape))[0]
        return np.array(out.numpy(), dtype=np.float64, order="C")

    def _torch_features(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        params = {f"module.{name}": view for name, view in self.unflatten(theta).items()}
        out: torch.Tensor = functional_call(self._features_module, params, (x,))
        return out

    @functools.cached_property
    def _features_module(self) -> torch.nn.Module:
        return _Features(self._template)

    @functools.cached_property
    def _vmapped_features(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        return torch.vmap(self._torch_features, in_dims=(0, 0))

    def _require_readout(self, method: str) -> _ReadoutLayout:
        if self._readout is None:
            raise InvalidParameterError(
                f"ModuleSpec.{method} needs a module that declares a linear read-out (a "
                f"'linear_readout' attribute, tasks.network.LinearReadout, and a 'features' "
                f"method). Got {self.class_name}, which declares none, instead."
            )
        return self._readout

    def _probe_readout(self, template: torch.nn.Module) -> _ReadoutLayout | None:
        """Check a declared read-out against the forward on the probe input; ``None`` if none.

        The declaration is checked where it is used: the features come from :meth:`features`
        (under vmap), the read-out applied to them must give the population forward's logits.
        """
        owner = "ModuleSpec"
        declared = getattr(template, "linear_readout", None)
        if declared is None:
            return None
        name = self.class_name
        if not isinstance(declared, LinearReadout):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose 'linear_readout' "
                f"attribute, when it has one, is a tasks.network.LinearReadout naming its last "
                f"linear layer's weight and bias. Got {name} with linear_readout="
                f"{shown(declared)} instead."
            )
        if not callable(getattr(template, "features", None)):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module that, declaring a "
                f"linear read-out, has a 'features(x)' method returning the read-out's input. Got "
                f"{name} without one instead."
            )
        shapes = dict(self.parameter_shapes)
        offsets = np.concatenate([[0], np.cumsum(self._numels)])
        position = {n: i for i, (n, _) in enumerate(self.parameter_shapes)}
        for role in ("weight", "bias"):
            param = getattr(declared, role)
            if param not in shapes:
                raise InvalidParameterError(
                    f"The 'module' parameter of {owner} must build a module whose linear read-out "
                    f"names its own parameters. Got {name} with read-out {role} {param!r}, not one "
                    f"of {sorted(shapes)}, instead."
                )
        w_shape, b_shape = shapes[declared.weight], shapes[declared.bias]
        transposed = declared.layout == "out_in"
        if len(w_shape) != 2 or w_shape[0 if transposed else 1] != self.n_out:
            expected = "(n_out, in_features)" if transposed else "(in_features, n_out)"
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose read-out weight "
                f"{declared.weight!r} has shape {expected} with n_out={self.n_out} (layout "
                f"{declared.layout!r}). Got {name} with shape {w_shape} instead."
            )
        if b_shape != (self.n_out,):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose read-out bias "
                f"{declared.bias!r} has shape ({self.n_out},). Got {name} with shape {b_shape} "
                f"instead."
            )
        i, j = position[declared.weight], position[declared.bias]
        layout = _ReadoutLayout(
            weight=slice(int(offsets[i]), int(offsets[i + 1])),
            bias=slice(int(offsets[j]), int(offsets[j + 1])),
            in_features=w_shape[1] if transposed else w_shape[0],
            transposed=transposed,
        )
        theta = torch.nn.utils.parameters_to_vector(template.parameters()).detach().double()
        x = torch.linspace(-1.0, 1.0, _PROBE_ROWS * self.n_in,
                           dtype=torch.float64).reshape(_PROBE_ROWS, self.n_in)
        pair = torch.stack([theta, theta])
        try:
            with torch.no_grad():
                feats = self._vmapped_features(pair, x.expand(2, *x.shape))[0]
                logits = self._batched(pair, x)[0]
        except Exception as exc:  # noqa: BLE001 - a user's module may raise anything
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose 'features' method "
                f"takes the forward's inputs (N, {self.n_in}) and runs under torch.vmap. Got "
                f"{type(exc).__name__}: {exc} on a probe input of shape {tuple(x.shape)} instead."
            ) from None
        if tuple(feats.shape) != (_PROBE_ROWS, layout.in_features):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose 'features' method "
                f"returns the read-out's input, shape (N, {layout.in_features}). Got "
                f"{tuple(feats.shape)} for a probe input of shape {tuple(x.shape)} instead."
            )
        layer = torch.from_numpy(_layer_params(layout, self.n_out, theta.numpy()))
        d = layout.in_features
        rebuilt = feats @ layer[: d * self.n_out].reshape(d, self.n_out) + layer[d * self.n_out :]
        gap = float(torch.max(torch.abs(rebuilt - logits)))
        scale = max(1.0, float(torch.max(torch.abs(logits))))
        if not gap <= _READOUT_TOLERANCE * scale:
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose forward is its "
                f"declared read-out ({declared.weight!r}, {declared.bias!r}, layout "
                f"{declared.layout!r}) applied to features(x). Got {name}, whose forward differs "
                f"from it by {gap:.3g} on a probe input, instead."
            )
        return layout

    # --- forwards -----------------------------------------------------------------------------

    def torch_logits(self, theta: torch.Tensor, x: torch.Tensor,
                     **forward_kwargs: Any) -> torch.Tensor:
        """Logits ``(N, n_out)`` of one flat parameter tensor, differentiable in ``theta``.

        Args:
            theta: ``(num_params,)``, typically a leaf with ``requires_grad``.
            x: ``(N, n_in)``, of ``theta``'s dtype.
            **forward_kwargs: passed to the module's forward (see :meth:`supports`), e.g.
                ``truncation=20`` for truncated backpropagation through time.
        """
        out: torch.Tensor = functional_call(self._template, self.unflatten(theta), (x,),
                                            forward_kwargs)
        return out

    def population_logits(self, population: FloatArray, x: FloatArray) -> FloatArray:
        """Logits of every member on one batch: ``(P, n)`` and ``(N, n_in)`` -> ``(P, N, n_out)``.

        One ``functional_call`` under ``torch.vmap`` per block of members (blocks bound the
        memory, :data:`_CHUNK_FLOATS`), in ``torch.no_grad``. The dtype follows the population
        (float64 or float32; ``x`` is cast to it).
        """
        pop = _tensor(population)
        xt = _tensor(np.asarray(x, dtype=np.float32 if pop.dtype == torch.float32 else np.float64))
        if pop.shape[0] == 0:  # vmap has no batch of zero; an empty population scores nothing
            return np.empty((0, x.shape[0], self.n_out), dtype=pop.numpy().dtype)
        per_member = max(1, x.shape[0] * self._activation_floats)
        chunk = max(1, _CHUNK_FLOATS // per_member)
        with torch.no_grad():
            if pop.shape[0] <= chunk:
                out = self._batched(pop, xt)
            else:
                out = torch.cat([self._batched(pop[i : i + chunk], xt)
                                 for i in range(0, pop.shape[0], chunk)])
        # C order, as the MLP's forward: NumPy's reductions (the losses, the evaluators) sum in
        # an order that follows the memory layout, so a strided result would round differently.
        return out.contiguous().numpy()

    def _batched(self, pop: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        # The batch is handed to every member (an expanded view, no copy) rather than shared
        # (``in_dims=None``): vmap then runs each op as one kernel per member (a grouped
        # convolution, a batched matmul), whose rows do not depend on how many members share
        # the call. Shared, a convolution folds the members into its output channels and
        # rounds a member's logits differently at different population sizes.
        # A population of one is evaluated as two copies: vmap hands a batch of one to the
        # unbatched kernels (a matmul of one matrix is ``mm``, not ``bmm``; a convolution of one
        # group is not a grouped one), which round differently from the batched kernels every
        # larger population runs, and ``Task.evaluate`` is a population of one.
        if pop.shape[0] == 1:
            return self._vmapped(pop.expand(2, -1), x.expand(2, *x.shape))[:1]
        return self._vmapped(pop, x.expand(pop.shape[0], *x.shape))

    @functools.cached_property
    def _vmapped(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        return torch.vmap(self.torch_logits, in_dims=(0, 0))

    def _probe(self, template: torch.nn.Module) -> int:
        """Check the forward on a probe input; return the floats one example's forward holds.

        The probe runs the flat path itself (one vector through :meth:`torch_logits`, then a
        population of two through :meth:`population_logits`), so a module that cannot run
        under vmap is refused here, with the reason, rather than in the first generation.
        """
        owner = "ModuleSpec"
        theta = torch.nn.utils.parameters_to_vector(template.parameters()).detach().double()
        x = torch.linspace(-1.0, 1.0, _PROBE_ROWS * self.n_in,
                           dtype=torch.float64).reshape(_PROBE_ROWS, self.n_in)
        sizes: list[int] = []

        def count(_: torch.nn.Module, __: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor):
                sizes.append(output.numel())

        hooks = [m.register_forward_hook(count) for m in template.modules()]
        try:
            with torch.no_grad():
                out = self.torch_logits(theta, x)
        except Exception as exc:  # noqa: BLE001 - a user's module may raise anything
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose forward takes "
                f"float64 inputs of shape (N, {self.n_in}). Got {type(exc).__name__}: {exc} on "
                f"a probe input of shape {tuple(x.shape)} instead."
            ) from None
        finally:
            for hook in hooks:
                hook.remove()
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        if shape != (_PROBE_ROWS, self.n_out):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose forward returns "
                f"logits of shape (N, {self.n_out}) for inputs (N, {self.n_in}). Got {shape} "
                f"for a probe input of shape {tuple(x.shape)} instead."
            )
        try:
            pair = self._batched(torch.stack([theta, theta]), x)
        except Exception as exc:  # noqa: BLE001 - vmap rejects some ops with various errors
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose forward runs "
                f"under torch.vmap (plain tensor ops: no .item(), no data-dependent Python "
                f"branches, no fused nn.RNN/nn.GRU kernels). Got {type(exc).__name__}: {exc} "
                f"instead."
            ) from None
        if tuple(pair.shape) != (2, _PROBE_ROWS, self.n_out):
            raise InvalidParameterError(
                f"The 'module' parameter of {owner} must build a module whose forward keeps "
                f"its shape under torch.vmap. Got {tuple(pair.shape)} for a population of 2 "
                f"instead."
            )
        return max(self.n_in + self.n_out, (sum(sizes) + self.n_in * _PROBE_ROWS) // _PROBE_ROWS)

    def __getstate__(self) -> dict[str, Any]:
        # The vmapped closure is rebuilt on demand; everything else pickles as is.
        state = dict(self.__dict__)
        for cached in ("_vmapped", "_vmapped_features", "_features_module"):
            state.pop(cached, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _layer_params(layout: _ReadoutLayout, n_out: int, params: FloatArray) -> FloatArray:
    """A read-out's weight and bias out of a flat vector, in the one-layer MLP's layout
    (``W`` ``(in_features, n_out)`` row-major, then ``b``)."""
    flat = np.asarray(params, dtype=np.float64)
    weight = flat[layout.weight]
    weight = (weight.reshape(n_out, layout.in_features).T if layout.transposed
              else weight.reshape(layout.in_features, n_out))
    return np.concatenate([weight.ravel(), flat[layout.bias]])


def _tensor(array: FloatArray) -> torch.Tensor:
    """A torch view of a NumPy float array (a copy when it is read-only or not contiguous)."""
    array = np.asarray(array)
    if array.dtype not in (np.float64, np.float32):
        array = array.astype(np.float64)
    if not (array.flags.c_contiguous and array.flags.writeable):
        array = np.array(array, order="C")
    return torch.from_numpy(array)


def _frozen(value: Any) -> Any:
    """A hashable form of a JSON-shaped value."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value
