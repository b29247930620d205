"""Shared machinery of the torch models: the common interface, input checks, seeded
generators, noise draws and the model registry.

Every model maps ``inputs (batch, time, input)`` to ``(rates, logits)`` with
``rates (batch, time, unit)`` the activity of the units after each step (the
project's one word for network activity, for every architecture) and ``logits
(batch, time, output)`` the readout before its nonlinearity. Models never touch the
global torch random generator: weights are drawn from a generator seeded by the
model's ``seed``, and noise/dropout from the ``generator`` passed to ``forward`` or,
when none is passed, from a second stream owned by the model (also seeded from
``seed``, independent of the first, not saved with the weights).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import nn

from neurodis._validation import check_in, check_int, check_memory, check_real, describe

__all__ = ["SequenceModel", "list_models", "make_model", "register_model"]

READOUT_KINDS = ("sigmoid", "tanh", "linear")

_MODELS: dict[str, type[SequenceModel]] = {}

S = TypeVar("S", bound="SequenceModel")


def seeded_generators(seed: int, n_streams: int) -> list[torch.Generator]:
    """``n_streams`` independent CPU torch generators derived from ``seed``.

    The streams come from ``numpy.random.SeedSequence(seed).spawn``, so they never
    share state even though a single integer seeds them all.
    """
    children = np.random.SeedSequence(seed).spawn(n_streams)
    return [torch.Generator().manual_seed(int(c.generate_state(1, np.uint64)[0])) for c in children]


def empty_module(cls: type[nn.Module], *args: Any, **kwargs: Any) -> nn.Module:
    """Build ``cls`` with uninitialised parameters (no draws from the global RNG).

    The module is created on the meta device, so its default ``reset_parameters``
    allocates and draws nothing; the caller must initialise every parameter.
    """
    return cls(*args, device="meta", **kwargs).to_empty(device="cpu")


def randn_like_on(shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """Standard-normal draws of ``shape`` from ``generator``, with ``like``'s dtype and device.

    Draws happen on the generator's device (a CPU generator can serve a GPU model).
    """
    draws = torch.randn(shape, generator=generator, dtype=like.dtype, device=generator.device)
    return draws.to(like.device)


def dropout_keep(shape: tuple[int, ...], p: float, generator: torch.Generator) -> torch.Tensor:
    """Boolean mask of ``shape``, each entry True with probability ``1 - p`` (to 2⁻³²).

    Each entry compares 32 raw random bits from ``generator`` with a threshold (half a
    64-bit draw per entry): about twice as fast as ``bernoulli_``, which draws a float
    per entry.

    Examples
    --------
    >>> keep = dropout_keep((1000, 100), 0.25, torch.Generator().manual_seed(0))
    >>> keep.dtype, round(keep.float().mean().item(), 2)
    (torch.bool, 0.75)
    """
    n = math.prod(shape)
    bits = torch.empty((n + 1) // 2, dtype=torch.int64, device=generator.device)
    bits.random_(-(2**63), None, generator=generator)  # the full 64-bit range: both halves uniform
    threshold = min(-(2**31) + round(p * 2**32), 2**31 - 1)
    return (bits.view(torch.int32)[:n] >= threshold).view(shape)


def dropout_multipliers(keep: torch.Tensor, p: float, dtype: torch.dtype) -> torch.Tensor:
    """Inverted dropout's factors: ``1 / (1 - p)`` where ``keep``, 0 elsewhere.

    A float tensor, so that applying it is one multiplication forward and one backward
    (a product with the boolean mask itself would cast it on every use).
    """
    return keep.to(dtype).mul_(1.0 / (1.0 - p))


def dropout(x: torch.Tensor, p: float, generator: torch.Generator, training: bool) -> torch.Tensor:
    """Inverted dropout whose mask is drawn from ``generator`` (not the global RNG), see :func:`dropout_keep`."""
    if not training or p == 0.0:
        return x
    return x * dropout_multipliers(dropout_keep(tuple(x.shape), p, generator).to(x.device), p, x.dtype)


def check_tensor(name: str, value: Any, shape: tuple[int | None, ...], labels: str) -> torch.Tensor:
    """Check that ``value`` is a finite real tensor of ``shape`` (``None`` matches any length).

    ``labels`` names the axes for the message, e.g. ``"(batch, time, n_inputs=3)"``.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {labels}; got {type(value).__name__} {describe(value)}"
        )
    if value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f"{name} must be a real tensor; got dtype {value.dtype}")
    ok = value.ndim == len(shape) and all(w is None or w == g for w, g in zip(shape, value.shape))
    if not ok:
        raise ValueError(f"{name} must have shape {labels}; got shape {tuple(value.shape)}")
    if value.is_floating_point():
        bad = ~torch.isfinite(value)
        if bool(bad.any()):
            first = tuple(int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"{name} must be finite; got {int(bad.sum())} non-finite values, the first at index {first}"
            )
    return value


class SequenceModel(nn.Module):
    """Base class of all neurodis models (see the module docstring for the interface).

    Subclasses set the class attribute ``arch``, call :meth:`_setup` with their
    validated constructor arguments, and implement ``forward``.
    """

    arch: ClassVar[str] = ""

    def _setup(self, config: dict[str, Any]) -> torch.Generator:
        """Validate the arguments shared by every model; return the weight-init generator."""
        self.n_inputs = check_int("n_inputs", config["n_inputs"], minimum=1)
        self.n_outputs = check_int("n_outputs", config["n_outputs"], minimum=1)
        self.n_units = check_int("n_units", config["n_units"], minimum=1)
        self._check_memory(config)
        seed = check_int("seed", config["seed"], minimum=0)
        self.input_noise = check_real("input_noise", config["input_noise"], minimum=0.0)
        self.recurrent_noise = check_real("recurrent_noise", config["recurrent_noise"], minimum=0.0)
        check_in("readout", config["readout"], READOUT_KINDS)
        bound = check_real("bound", config["bound"], minimum=0.0, strict_minimum=True)
        # store validated builtin values so the config is always JSON-able
        self._config = {
            **config, "n_inputs": self.n_inputs, "n_outputs": self.n_outputs, "n_units": self.n_units,
            "seed": seed, "input_noise": self.input_noise, "recurrent_noise": self.recurrent_noise, "bound": bound,
        }
        init_generator, self._generator = seeded_generators(seed, 2)
        return init_generator

    #: float32 (unit, unit) blocks per layer (gates, attention and feed-forward), for the memory estimate
    _BLOCKS: ClassVar[int] = 1

    def _check_memory(self, config: dict[str, Any]) -> None:
        """Refuse, before allocating them, weights that would not fit in memory."""
        n_layers, max_len = config.get("n_layers", 1), config.get("max_len", 0)  # validated by subclasses
        n, n_in, n_out = self.n_units, self.n_inputs, self.n_outputs
        n_bytes = 4.0 * (self._BLOCKS * n_layers * n * (n + n_in + 2) + n_out * (n + 1) + max_len * n)
        contents = f"float32 weights of {n_layers} layer(s) with {n_in} inputs and {n_out} outputs"
        sizes = [("n_units", n), ("n_inputs", n_in), ("n_outputs", n_out), ("max_len", max_len)]
        name, value = max(sizes, key=lambda item: item[1])  # name the size that dominates
        check_memory(name, value, n_bytes, contents)

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-able); ``type(m)(**m.config)`` rebuilds the model."""
        return dict(self._config)

    @property
    def state_size(self) -> int:
        """Length of the state vector used by :meth:`step` (``n_units`` unless overridden)."""
        return self.n_units

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._config.items())

    def _resolve_generator(self, generator: torch.Generator | None) -> torch.Generator:
        if generator is None:
            return self._generator
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None; got {type(generator).__name__}")
        return generator

    def _check_inputs(self, inputs: Any) -> torch.Tensor:
        """Validated inputs, cast to the dtype of the model's parameters."""
        inputs = check_tensor("inputs", inputs, (None, None, self.n_inputs), f"(batch, time, n_inputs={self.n_inputs})")
        if inputs.shape[0] == 0 or inputs.shape[1] == 0:
            raise ValueError(f"inputs must have at least one trial and one time step; got shape {tuple(inputs.shape)}")
        return inputs.to(dtype=self.readout.linear.weight.dtype)

    def _noise(
        self,
        name: str,
        draws: torch.Tensor | None,
        level: float,
        width: int,
        generator: torch.Generator,
        like: torch.Tensor,
    ) -> torch.Tensor | None:
        """Standard-normal noise draws ``(batch, time, width)`` matching ``like``: the given ones, or fresh draws.

        Returns ``None`` when ``level`` is 0 (given draws are still validated: they
        would be multiplied by 0 in the equations).
        """
        shape = (like.shape[0], like.shape[1], width)
        if draws is not None:
            labels = f"(batch={shape[0]}, time={shape[1]}, {shape[2]})"
            draws = check_tensor(name, draws, shape, labels).to(dtype=like.dtype, device=like.device)
        if level == 0.0:
            return None
        return draws if draws is not None else randn_like_on(shape, generator, like)

    def _with_input_noise(
        self, u_bxtxi: torch.Tensor, draws: torch.Tensor | None, generator: torch.Generator, scale: float = 1.0
    ) -> torch.Tensor:
        """``u + scale · input_noise · ζ``, with ζ the given draws or fresh ones (``u`` when the level is 0)."""
        zeta = self._noise("input_noise", draws, self.input_noise, self.n_inputs, generator, u_bxtxi)
        return u_bxtxi if zeta is None else u_bxtxi + (scale * self.input_noise) * zeta


def register_model(cls: type[S]) -> type[S]:
    """Class decorator adding a :class:`SequenceModel` subclass to the registry under ``cls.arch``."""
    if not cls.arch or cls.arch in _MODELS:
        raise ValueError(f"model arch must be a new, non-empty name; got {cls.arch!r}")
    _MODELS[cls.arch] = cls
    return cls


def list_models() -> list[str]:
    """Names of the registered model architectures.

    Examples
    --------
    >>> from neurodis.models import list_models
    >>> list_models()
    ['ctrnn', 'gru', 'lstm', 'transformer']
    """
    return sorted(_MODELS)


def make_model(arch: str, **config: Any) -> SequenceModel:
    """Build the model registered as ``arch`` from its constructor arguments.

    Parameters
    ----------
    arch : str
        One of :func:`list_models`.
    **config
        Constructor arguments of that model (``n_inputs`` and ``n_outputs`` at least).

    Returns
    -------
    SequenceModel
        A freshly initialised model.

    Raises
    ------
    ValueError
        If ``arch`` is not registered (the message lists the options).

    Examples
    --------
    >>> from neurodis.models import make_model
    >>> model = make_model("ctrnn", n_inputs=3, n_outputs=2, n_units=8)
    >>> model.arch, model.n_units
    ('ctrnn', 8)
    """
    check_in("arch", arch, list_models())
    return _MODELS[arch](**config)


def uniform_init(tensor: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    """Fill ``tensor`` with U(-bound, bound) draws from ``generator`` (in place, no grad)."""
    with torch.no_grad():
        nn.init.uniform_(tensor, -bound, bound, generator=generator)


def fan_in_bound(fan_in: int) -> float:
    """PyTorch's default ``nn.Linear``/``nn.LSTM`` bound ``1/sqrt(fan_in)``."""
    return 1.0 / math.sqrt(fan_in)
