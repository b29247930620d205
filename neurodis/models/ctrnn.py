"""Continuous-time rate RNN (CTRNN) discretised by Euler–Maruyama.

The network obeys ``τ dr/dt = -r + f(W r + W_in u + b + σ_r sqrt(2τ) ξ(t))`` (leaky) or
``τ dr/dt = f(...)`` (non-leaky), with input ``u(t) + σ_u sqrt(2τ) ζ(t)`` and ξ, ζ
white noise. One Euler step of length ``dt`` with ``α = dt/τ`` gives::

    u_t   = inputs_t + sqrt(2/α) · input_noise · ζ_t
    pre_t = u_t @ weight_ihᵀ + r_{t-1} @ weight_hhᵀ + bias + sqrt(2/α) · recurrent_noise · ξ_t
    leaky:      r_t = (1-α) r_{t-1} + α f(pre_t)
    non-leaky:  r_t = r_{t-1} + α f(pre_t)

with ξ_t, ζ_t standard normal, drawn independently per trial, step and unit/input.
The ``sqrt(2/α)`` factor is white noise integrated over one step (σ sqrt(2τ)/sqrt(dt));
it makes the noise a property of the continuous system, so results do not depend on
``dt``: for a linear leaky network with ``W = 0`` the stationary variance of ``r`` is
``σ² · 2/(2-α)``, which tends to σ² as dt → 0.

Reproducing the paper (α = 1): the authors added one draw of recurrent noise per step,
*shared by every trial of the batch* and *unscaled*, with per-step sd σ_paper. The
per-step sd here is ``recurrent_noise · sqrt(2/α)``, so set ``recurrent_noise =
σ_paper · sqrt(α/2)``; to share the draw across trials, pass
``recurrent_noise=xi_1xtxn.expand(batch, -1, -1)`` to ``forward``.

Biological constraints (all off by default, and then nothing below applies: the
parameters are the weights). The parameters ``weight_ih``, ``weight_hh`` and
``readout.linear.weight`` stay free; the equations above use the *effective* weights
(:meth:`CTRNN.effective_weights`)::

    weight_ih_eff      = g(weight_ih) ⊙ input_mask
    weight_hh_eff      = g(weight_hh) ⊙ recurrent_mask ⊙ (1 - I if autapses=False) · D
    readout_weight_eff = weight_out   ⊙ output_mask ⊙ E

with ``g = |·|`` when ``dale_ratio`` is set (identity otherwise). Dale's law
(``dale_ratio``): the first ``floor(dale_ratio · n_units + ½)`` units are excitatory,
the rest inhibitory; ``D = diag(±1)`` gives every unit's outgoing recurrent weights its
sign; afferent input weights are excitatory (non-negative); only excitatory units
project to the readout (``E`` is 1 on their columns, 0 on the inhibitory ones). This
follows PsychRNN and Song, Yang & Wang (2016, PLoS Comput Biol 12:e1004792) for the
recurrent and input weights and for which units are read out, but leaves the readout
weights' sign free: the readout stands for a downstream linear decoder, not for
synapses of the circuit, and with non-negative readout weights (PsychRNN's choice)
networks trained on the paper's task with its 0.5 targets before the decision stalled
(measured at N = 6, 64 units, seed 0, 2000 batches: decision accuracy 0.71 with
non-negative readout weights, 0.87 with signed ones). ``|·|`` rather than a rectification keeps a
gradient for weights that cross zero. Masks are fixed 0/1 arrays; an absent connection
has an effective weight of exactly 0 (its parameter is never updated).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neurodis._validation import (
    check_array,
    check_in,
    check_probability,
    check_real,
    describe,
)
from neurodis.models.base import (
    SequenceModel,
    check_tensor,
    fan_in_bound,
    register_model,
    uniform_init,
)
from neurodis.models.readout import Readout

__all__ = ["CTRNN"]

INITS = ("default", "sparse", "orthogonal")

#: Parameter groups that ``freeze`` can name -> their parameters.
GROUPS: dict[str, tuple[str, ...]] = {
    "input": ("weight_ih",), "recurrent": ("weight_hh",), "bias": ("bias",),
    "readout": ("readout.linear.weight", "readout.linear.bias"),
}


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _relu_slope(pre: torch.Tensor) -> torch.Tensor:
    # slope 0 at pre == 0, as autograd's relu
    return (pre > 0).to(pre.dtype)


def _tanh_slope(pre: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.tanh(pre) ** 2


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu, "tanh": torch.tanh, "softplus": F.softplus, "linear": _identity,
}
SLOPES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": _relu_slope, "tanh": _tanh_slope, "softplus": torch.sigmoid, "linear": torch.ones_like,
}


def _constrained(weight: torch.Tensor, factor: torch.Tensor | None, rectify: bool) -> torch.Tensor:
    """``g(weight) ⊙ factor`` with ``g = |·|`` when ``rectify``; ``weight`` itself when nothing applies.

    ``factor`` broadcasts against the last two axes, so a stack ``(K, rows, cols)`` of
    members is constrained as each member alone.
    """
    if rectify:
        weight = weight.abs()
    return weight if factor is None else weight * factor.to(weight)


#: The weights that Dale's law makes non-negative before their signs and masks
RECTIFIED = ("weight_ih", "weight_hh")


def _apply_factors(weights: Mapping[str, torch.Tensor], factors: Mapping[str, torch.Tensor | None],
                   dale: bool) -> dict[str, torch.Tensor]:
    """``weights`` with every key of ``factors`` constrained (others unchanged)."""
    out = dict(weights)
    for key, factor in factors.items():
        if key in out:
            out[key] = _constrained(out[key], factor, dale and key in RECTIFIED)
    return out


def stacked_constraint(
    models: Sequence[CTRNN], shapes: Mapping[str, tuple[int, int]]
) -> Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]] | None:
    """The ``constrain`` of a stack of members: member k's signs and masks on entry k.

    Parameters
    ----------
    models : sequence of CTRNN
        The members, sharing ``dale_ratio`` (their masks may differ).
    shapes : mapping of str to (int, int)
        Per-member shape of each stacked weight (``weight_ih``, ``weight_hh``,
        ``readout_weight``), readouts padded to the widest member.

    Returns
    -------
    callable or None
        Maps stacked weights ``(K, rows, cols)`` to their effective values; ``None``
        when no member is constrained.

    Examples
    --------
    >>> members = [CTRNN(2, 1, n_units=3, seed=k, recurrent_mask=[[k, 1, 1]] * 3) for k in range(2)]
    >>> constrain = stacked_constraint(members, {"weight_hh": (3, 3)})
    >>> constrain({"weight_hh": torch.ones(2, 3, 3)})["weight_hh"][:, 0].tolist()
    [[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    if not any(model.constrained for model in models):
        return None
    stacks: dict[str, torch.Tensor | None] = {}
    for key, (rows, cols) in shapes.items():
        per_member = [model.factors()[key] for model in models]
        if all(factor is None for factor in per_member):
            stacks[key] = None
            continue
        full = []
        for factor in per_member:
            factor = torch.ones(1, cols) if factor is None else factor
            # a member narrower than the stack: its padded readout rows are zero weights anyway
            padding = factor.new_ones(rows - factor.shape[0], cols) if 1 < factor.shape[0] < rows else None
            full.append((factor if padding is None else torch.cat([factor, padding])).expand(rows, cols))
        stacks[key] = torch.stack(full)
    dale = models[0].dale_ratio is not None

    def constrain(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return _apply_factors(weights, stacks, dale)

    return constrain


class _MaskedReadout(Readout):
    """A :class:`Readout` whose logits use the effective weight ``W ⊙ factor``.

    The parameters keep :class:`Readout`'s names, so state dicts are those of an
    unconstrained readout. ``factor`` is a fixed, non-persistent buffer (rebuilt from
    the model's config).
    """

    def __init__(self, *args: Any, factor: torch.Tensor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("factor", factor, persistent=False)

    def constrain(self, weight: torch.Tensor) -> torch.Tensor:
        """The effective weight of ``weight`` (``(..., n_outputs or 1, n_units)``)."""
        return _constrained(weight, self.factor, False)

    def forward(self, rates: torch.Tensor) -> torch.Tensor:
        """Logits ``(..., n_outputs)`` of ``rates (..., n_units)`` through the effective weight."""
        return F.linear(rates, self.constrain(self.linear.weight), self.linear.bias)


def _check_mask(name: str, mask: Any, shape: tuple[int, int], labels: str) -> np.ndarray | None:
    """``mask`` as a 0/1 int array of ``shape``, or None."""
    if mask is None:
        return None
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    array = check_array(name, mask)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {labels} = {shape}; got {describe(array)}")
    other = array[(array != 0) & (array != 1)]
    if other.size:
        raise ValueError(f"{name} must hold only 0 (absent) and 1 (present connection); got {other.size} other "
                         f"values, the first {other.flat[0].item()!r}")
    return array.astype(np.int64)


def _check_dale_ratio(dale_ratio: Any, n_units: int) -> tuple[float | None, int | None]:
    """The validated ratio and the number of excitatory units (None, None when off)."""
    if dale_ratio is None:
        return None, None
    ratio = check_real("dale_ratio", dale_ratio)
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"dale_ratio must be in (0, 1) (the fraction of excitatory units) or None; got {ratio}")
    n_excitatory = math.floor(ratio * n_units + 0.5)
    if not 1 <= n_excitatory <= n_units - 1:
        raise ValueError(f"dale_ratio must leave at least one excitatory and one inhibitory unit of n_units="
                         f"{n_units}; got {ratio}, which makes {n_excitatory} excitatory")
    return ratio, n_excitatory


def _check_freeze(freeze: Any) -> tuple[str, ...]:
    """The frozen groups, deduplicated, in the order of :data:`GROUPS`."""
    if isinstance(freeze, str) or not isinstance(freeze, (list, tuple)):
        raise TypeError(f"freeze must be a list or tuple of group names from {list(GROUPS)}; "
                        f"got {type(freeze).__name__} {describe(freeze)}")
    for group in freeze:
        if group not in GROUPS:
            raise ValueError(f"freeze must name groups from {list(GROUPS)}; got {group!r}")
    return tuple(group for group in GROUPS if group in freeze)


@register_model
class CTRNN(SequenceModel):
    """Leaky or non-leaky rate network with explicit time constant, step and noise.

    The update equations and the noise convention are in the module docstring
    (:mod:`neurodis.models.ctrnn`); ``r(0) = 0`` unless ``initial_state`` is given.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Input channels and readout outputs.
    n_units : int
        Recurrent units (paper: 64).
    tau, dt : float
        Time constant and Euler step in ms; ``α = dt/tau`` must lie in (0, 1].
    activation : {"relu", "tanh", "softplus", "linear"}
        Rate nonlinearity f.
    leaky : bool
        ``True``: ``r ← (1-α) r + α f``; ``False``: ``r ← r + α f``.
    init : {"default", "sparse", "orthogonal"}
        Recurrent weights. ``"default"``: U(-gain/sqrt(n), gain/sqrt(n)), which for
        gain 1 is PyTorch's ``nn.Linear`` default — the paper's networks were built
        from ``nn.Linear`` layers, so this reproduces their initial statistics
        (spectral radius ≈ gain/sqrt(3)). ``"sparse"``: each unit receives exactly
        ``max(1, round(density·n))`` nonzero weights, N(0, gain²/k), so the spectral
        radius is ≈ gain. ``"orthogonal"``: gain times a Haar-random orthogonal matrix
        (W Wᵀ = gain² I). Input weights are U(±1/sqrt(n_inputs)) and the bias is
        the sum of U(±1/sqrt(n_inputs)) and U(±1/sqrt(n)) draws (the two
        ``nn.Linear`` biases of the paper's network) for every ``init``.
    gain : float
        Scale of the recurrent weights (> 0).
    density : float
        Fraction of nonzero recurrent weights per unit for ``init="sparse"``, in (0, 1].
    input_noise, recurrent_noise : float
        Noise levels σ_u, σ_r (>= 0) of the continuous-time equations.
    readout : {"sigmoid", "tanh", "linear"}
        Readout head (see :class:`~neurodis.models.readout.Readout`).
    bound : float
        Bound of the ``"tanh"`` readout.
    seed : int
        Seeds the initial weights and the model's default noise stream.
    dale_ratio : float or None
        Fraction of excitatory units, in (0, 1), for Dale's law (sign-constrained
        recurrent and input weights, a readout of the excitatory units; see the module
        docstring); ``None`` (default): no signs. The
        initial recurrent magnitudes are ``|W|`` of the draw above with the inhibitory
        ones scaled by (allowed E entries)/(allowed I entries), so that excitation and
        inhibition balance in expectation, then all scaled to keep the spectral radius
        of the (masked) unconstrained draw (Song et al. 2016 also start balanced).
    input_mask, recurrent_mask, output_mask : array-like of 0/1 or None
        Fixed connectivity, shapes ``(n_units, n_inputs)``, ``(n_units, n_units)`` (row =
        post-synaptic unit) and ``(n_outputs, n_units)``; ``None``: all connections.
    autapses : bool
        ``False`` removes self-connections (the diagonal of the recurrent weights).
    freeze : sequence of {"input", "recurrent", "bias", "readout"}
        Parameter groups that training leaves unchanged (``requires_grad=False``).

    Raises
    ------
    ValueError
        If ``dt/tau`` is not in (0, 1], or any option is unknown or out of range
        (a mask of the wrong shape or with values other than 0 and 1, a ``dale_ratio``
        outside (0, 1) or leaving no unit of a kind).
    TypeError
        If ``leaky`` or ``autapses`` is not a bool, ``freeze`` not a list or tuple, or a
        mask not numeric.

    Notes
    -----
    Options at their defaults are left out of :attr:`config`, so an unconstrained
    network has the config (and the files) it had before constraints existed.

    Examples
    --------
    >>> import torch
    >>> net = CTRNN(3, 2, n_units=8, tau=100.0, dt=20.0)
    >>> rates, logits = net(torch.zeros(4, 5, 3))
    >>> tuple(rates.shape), tuple(logits.shape), net.alpha
    ((4, 5, 8), (4, 5, 2), 0.2)
    >>> ei = CTRNN(3, 2, n_units=10, dale_ratio=0.8, autapses=False, freeze=["input"])
    >>> w = ei.effective_weights()["weight_hh"].detach()
    >>> bool((w[:, :8] >= 0).all() and (w[:, 8:] <= 0).all()), float(w.diagonal().abs().max())
    (True, 0.0)
    >>> ei.weight_ih.requires_grad, ei.config["freeze"]
    (False, ['input'])
    """

    arch = "ctrnn"

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        n_units: int = 64,
        *,
        tau: float = 100.0,
        dt: float = 100.0,
        activation: str = "relu",
        leaky: bool = True,
        init: str = "default",
        gain: float = 1.0,
        density: float = 0.1,
        input_noise: float = 0.0,
        recurrent_noise: float = 0.0,
        readout: str = "sigmoid",
        bound: float = 5.0,
        seed: int = 0,
        dale_ratio: float | None = None,
        input_mask: Any = None,
        recurrent_mask: Any = None,
        output_mask: Any = None,
        autapses: bool = True,
        freeze: Sequence[str] = (),
    ) -> None:
        super().__init__()
        tau = check_real("tau", tau, minimum=0.0, strict_minimum=True)
        dt = check_real("dt", dt, minimum=0.0, strict_minimum=True)
        if dt > tau:
            raise ValueError(f"alpha = dt/tau must be in (0, 1]; got dt={dt} and tau={tau} (alpha={dt / tau})")
        self.activation = check_in("activation", activation, list(ACTIVATIONS))
        if not isinstance(leaky, bool):
            raise TypeError(f"leaky must be a bool; got {type(leaky).__name__} {leaky!r}")
        check_in("init", init, INITS)
        gain = check_real("gain", gain, minimum=0.0, strict_minimum=True)
        density = check_probability("density", density)
        if density == 0.0:
            raise ValueError(f"density must be in (0, 1]; got {density}")
        init_generator = self._setup(dict(
            n_inputs=n_inputs, n_outputs=n_outputs, n_units=n_units, tau=tau, dt=dt,
            activation=activation, leaky=leaky, init=init, gain=gain, density=density,
            input_noise=input_noise, recurrent_noise=recurrent_noise, readout=readout,
            bound=bound, seed=seed,
        ))
        self.tau, self.dt, self.leaky = tau, dt, leaky
        self._f = ACTIVATIONS[activation]
        n = self.n_units
        factors = self._setup_constraints(dale_ratio, input_mask, recurrent_mask, output_mask, autapses, freeze)
        self.weight_ih = nn.Parameter(torch.empty(n, self.n_inputs))
        self.weight_hh = nn.Parameter(torch.empty(n, n))
        self.bias = nn.Parameter(torch.empty(n))
        self._init_weights(init, gain, density, init_generator)
        self.register_buffer("input_factor", factors["input"], persistent=False)
        self.register_buffer("recurrent_factor", factors["recurrent"], persistent=False)
        if self.dale_ratio is not None:
            self._balance_dale()
        if factors["readout"] is None:
            self.readout = Readout(n, self.n_outputs, readout, bound, generator=init_generator)
        else:
            self.readout = _MaskedReadout(n, self.n_outputs, readout, bound, generator=init_generator,
                                          factor=factors["readout"])
        for group in self.frozen:
            for name in GROUPS[group]:
                self.get_parameter(name).requires_grad_(False)

    def _setup_constraints(self, dale_ratio: Any, input_mask: Any, recurrent_mask: Any, output_mask: Any,
                           autapses: Any, freeze: Any) -> dict[str, torch.Tensor | None]:
        """Validate the constraints, record the non-default ones in the config; return the fixed factors."""
        n, n_in, n_out = self.n_units, self.n_inputs, self.n_outputs
        self.dale_ratio, self.n_excitatory = _check_dale_ratio(dale_ratio, n)
        masks = {
            "input_mask": _check_mask("input_mask", input_mask, (n, n_in), "(n_units, n_inputs)"),
            "recurrent_mask": _check_mask("recurrent_mask", recurrent_mask, (n, n), "(n_units, n_units)"),
            "output_mask": _check_mask("output_mask", output_mask, (n_out, n), "(n_outputs, n_units)"),
        }
        if not isinstance(autapses, bool):
            raise TypeError(f"autapses must be a bool; got {type(autapses).__name__} {describe(autapses)}")
        self.autapses = autapses
        self.frozen = _check_freeze(freeze)
        options = {"dale_ratio": self.dale_ratio, **{k: None if m is None else m.tolist() for k, m in masks.items()},
                   "autapses": autapses, "freeze": list(self.frozen)}
        defaults = {"dale_ratio": None, "input_mask": None, "recurrent_mask": None, "output_mask": None,
                    "autapses": True, "freeze": []}
        # defaults stay out of the config: unconstrained configs are those of earlier versions
        self._config.update({k: v for k, v in options.items() if v != defaults[k]})

        def tensor(array: np.ndarray | None) -> torch.Tensor | None:
            return None if array is None else torch.tensor(array, dtype=torch.float32)

        recurrent = masks["recurrent_mask"]
        if not autapses:
            no_self = 1 - np.eye(n, dtype=np.int64)
            recurrent = no_self if recurrent is None else recurrent * no_self
        readout = masks["output_mask"]
        if self.dale_ratio is not None:
            signs = np.where(np.arange(n) < self.n_excitatory, 1, -1)[None, :]
            recurrent = signs if recurrent is None else recurrent * signs
            excitatory = (signs > 0).astype(np.int64)  # only E units reach the readout
            readout = excitatory if readout is None else readout * excitatory
        return {"input": tensor(masks["input_mask"]), "recurrent": tensor(recurrent), "readout": tensor(readout)}

    @property
    def constrained(self) -> bool:
        """Whether any sign or mask makes the effective weights differ from the parameters."""
        return (self.dale_ratio is not None or self.input_factor is not None or self.recurrent_factor is not None
                or isinstance(self.readout, _MaskedReadout))

    @property
    def unit_signs(self) -> torch.Tensor | None:
        """``(n_units,)`` +1 for excitatory, -1 for inhibitory units; ``None`` without ``dale_ratio``."""
        if self.n_excitatory is None:
            return None
        return torch.where(torch.arange(self.n_units) < self.n_excitatory, 1.0, -1.0)

    def constrain(self, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Effective weights of ``weights`` keyed ``weight_ih``, ``weight_hh``, ``readout_weight``.

        Other keys pass unchanged, as do all keys of an unconstrained model. Tensors may
        carry leading axes (a stack of members): the signs and masks apply to the last two.

        Parameters
        ----------
        weights : mapping of str to torch.Tensor
            Free weights with the shapes of this model's (plus leading axes).

        Returns
        -------
        dict of str to torch.Tensor
        """
        if not self.constrained:
            return dict(weights)
        return _apply_factors(weights, self.factors(), self.dale_ratio is not None)

    def factors(self) -> dict[str, torch.Tensor | None]:
        """The fixed 0/±1 factors of ``weight_ih``, ``weight_hh`` and ``readout_weight`` (``None``: all ones).

        Shapes broadcast against the weights: ``(n_units, n_inputs)``, ``(n_units,
        n_units)`` or ``(1, n_units)`` (Dale signs alone), ``(n_outputs, n_units)`` or
        ``(1, n_units)`` (excitatory units alone).
        """
        readout = self.readout.factor if isinstance(self.readout, _MaskedReadout) else None
        return {"weight_ih": self.input_factor, "weight_hh": self.recurrent_factor, "readout_weight": readout}

    def effective_weights(self) -> dict[str, torch.Tensor]:
        """The weights the equations use: ``weight_ih``, ``weight_hh`` and ``readout_weight``.

        The parameters themselves for an unconstrained network; otherwise the signed and
        masked weights of the module docstring (differentiable functions of them).

        Examples
        --------
        >>> net = CTRNN(2, 1, n_units=4)
        >>> net.effective_weights()["weight_hh"] is net.weight_hh
        True
        >>> masked = CTRNN(2, 1, n_units=4, input_mask=[[1, 0]] * 4)
        >>> masked.effective_weights()["weight_ih"].detach()[:, 1].abs().max().item()
        0.0
        """
        return self.constrain({"weight_ih": self.weight_ih, "weight_hh": self.weight_hh,
                               "readout_weight": self.readout.linear.weight})

    def _balance_dale(self) -> None:
        """Initial Dale magnitudes: E/I balanced, at the spectral radius of the masked draw."""
        with torch.no_grad():
            draw = self.weight_hh.double()
            factor = self.recurrent_factor.double()
            allowed = (factor != 0).expand_as(draw).double()
            target = torch.linalg.eigvals(draw * allowed).abs().max()
            magnitudes = draw.abs()
            n_e = self.n_excitatory
            n_e_links, n_i_links = allowed[:, :n_e].sum(), allowed[:, n_e:].sum()
            if n_e_links > 0 and n_i_links > 0:
                magnitudes[:, n_e:] *= n_e_links / n_i_links
            radius = torch.linalg.eigvals(magnitudes * factor).abs().max()
            if radius > 0:
                magnitudes *= target / radius
            self.weight_hh.copy_(magnitudes)

    @property
    def alpha(self) -> float:
        """``dt / tau``, the fraction of the time constant covered by one step."""
        return self.dt / self.tau

    def _init_weights(self, init: str, gain: float, density: float, generator: torch.Generator) -> None:
        n = self.n_units
        uniform_init(self.weight_ih, fan_in_bound(self.n_inputs), generator)
        with torch.no_grad():
            self.bias.copy_(
                torch.empty(n).uniform_(-fan_in_bound(self.n_inputs), fan_in_bound(self.n_inputs), generator=generator)
                + torch.empty(n).uniform_(-fan_in_bound(n), fan_in_bound(n), generator=generator)
            )
            if init == "default":
                nn.init.uniform_(self.weight_hh, -gain * fan_in_bound(n), gain * fan_in_bound(n), generator=generator)
            elif init == "orthogonal":
                nn.init.orthogonal_(self.weight_hh, gain=gain, generator=generator)
            else:
                k = max(1, round(density * n))
                # k distinct presynaptic partners per unit: the first k of a random permutation
                columns = torch.rand(n, n, generator=generator).argsort(dim=1)[:, :k]
                values = torch.randn(n, k, generator=generator) * (gain / math.sqrt(k))
                self.weight_hh.zero_().scatter_(1, columns, values)

    def _update(self, r: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        rate = self._f(pre)
        if not self.leaky:
            return torch.add(r, rate, alpha=self.alpha)
        if self.alpha == 1.0:
            return rate  # (1-α) r vanishes; skipping it saves a kernel per step
        return torch.add(r * (1.0 - self.alpha), rate, alpha=self.alpha)

    def _initial_state(self, initial_state: torch.Tensor | None, batch: int, like: torch.Tensor) -> torch.Tensor:
        n = self.n_units
        if initial_state is None:
            return like.new_zeros(batch, n)
        if isinstance(initial_state, torch.Tensor) and initial_state.ndim == 1:
            initial_state = check_tensor("initial_state", initial_state, (n,), f"(n_units={n},)")
            return initial_state.to(like).expand(batch, n)
        state = check_tensor("initial_state", initial_state, (batch, n), f"(batch={batch}, n_units={n}) or ({n},)")
        return state.to(like)

    def forward(
        self,
        inputs: torch.Tensor,
        *,
        initial_state: torch.Tensor | None = None,
        recurrent_noise: torch.Tensor | None = None,
        input_noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the network over ``inputs``.

        Parameters
        ----------
        inputs : torch.Tensor
            ``(batch, time, n_inputs)``; cast to the parameters' dtype.
        initial_state : torch.Tensor, optional
            r(0), ``(batch, n_units)`` or ``(n_units,)`` shared by all trials; zeros
            when omitted.
        recurrent_noise, input_noise : torch.Tensor, optional
            Standard-normal draws ξ ``(batch, time, n_units)`` and ζ ``(batch, time,
            n_inputs)``, scaled by ``sqrt(2/α)`` times the model's noise levels. When
            omitted and the level is > 0 they are drawn from ``generator`` (ζ first).
        generator : torch.Generator, optional
            Noise source; ``None`` uses the model's own stream.

        Returns
        -------
        rates : torch.Tensor
            ``(batch, time, n_units)``, r_1 … r_T.
        logits : torch.Tensor
            ``(batch, time, n_outputs)``, the readout before its nonlinearity.

        Raises
        ------
        ValueError
            If a tensor has the wrong shape or holds non-finite values.
        TypeError
            If an argument is not a tensor (or ``generator`` not a torch.Generator).
        """
        u_bxtxi = self._check_inputs(inputs)
        generator = self._resolve_generator(generator)
        scale = math.sqrt(2.0 / self.alpha)
        u_bxtxi = self._with_input_noise(u_bxtxi, input_noise, generator, scale)  # ζ is drawn before ξ
        xi = self._noise("recurrent_noise", recurrent_noise, self.recurrent_noise, self.n_units, generator, u_bxtxi)
        weights = self.effective_weights()
        # the input drive of every step in one matmul; the loop only adds the recurrence
        drive_bxtxn = F.linear(u_bxtxi, weights["weight_ih"], self.bias)
        if xi is not None:
            drive_bxtxn = drive_bxtxn + (scale * self.recurrent_noise) * xi
        r_bxn = self._initial_state(initial_state, u_bxtxi.shape[0], u_bxtxi)
        w_hh_t = weights["weight_hh"].t()
        rates = []
        # unbind gives views whose backward is cheap (indexing x[:, t] would scatter
        # into a full zero tensor at every step)
        for drive_bxn in drive_bxtxn.unbind(1):
            r_bxn = self._update(r_bxn, torch.addmm(drive_bxn, r_bxn, w_hh_t))
            rates.append(r_bxn)
        rates_bxtxn = torch.stack(rates, dim=1)
        return rates_bxtxn, self.readout(rates_bxtxn)

    def _preactivation(self, state: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        _check_last_axis("state", state, self.n_units, "n_units")
        _check_last_axis("input", input, self.n_inputs, "n_inputs")
        weights = self.effective_weights()
        return F.linear(input, weights["weight_ih"], self.bias) + F.linear(state, weights["weight_hh"])

    def step(self, state: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        """Noise-free one-step map ``r_t = F(r_{t-1}, u_t)``.

        Parameters
        ----------
        state : torch.Tensor
            ``(..., n_units)``, e.g. ``(batch, n_units)``.
        input : torch.Tensor
            ``(..., n_inputs)``, broadcast against ``state``.

        Returns
        -------
        torch.Tensor
            The next state, ``(..., n_units)``.

        Raises
        ------
        ValueError
            If the last axis of ``state`` or ``input`` has the wrong width.

        Examples
        --------
        >>> import torch
        >>> net = CTRNN(2, 1, n_units=4)
        >>> tuple(net.step(torch.zeros(3, 4), torch.ones(2)).shape)
        (3, 4)
        """
        return self._update(state, self._preactivation(state, input))

    def jacobian(self, state: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        """Analytic Jacobian ``∂r_t/∂r_{t-1}`` of :meth:`step`.

        ``(1-α) I + α diag(f'(pre)) W`` (leaky) or ``I + α diag(f'(pre)) W``
        (non-leaky), with ``pre = W_in u + W r + b`` and W, W_in the effective weights
        (:meth:`effective_weights`).

        Parameters
        ----------
        state : torch.Tensor
            ``(n_units,)`` (or ``(..., n_units)`` for a batch of Jacobians).
        input : torch.Tensor
            ``(n_inputs,)`` (or broadcastable ``(..., n_inputs)``).

        Returns
        -------
        torch.Tensor
            ``(n_units, n_units)`` (or ``(..., n_units, n_units)``); row i holds the
            derivatives of unit i.

        Raises
        ------
        ValueError
            If the last axis of ``state`` or ``input`` has the wrong width.

        Examples
        --------
        >>> import torch
        >>> net = CTRNN(2, 1, n_units=4, activation="linear", dt=50.0)
        >>> J = net.jacobian(torch.zeros(4), torch.zeros(2))
        >>> bool(torch.allclose(J, 0.5 * torch.eye(4) + 0.5 * net.weight_hh))
        True
        """
        slope = SLOPES[self.activation](self._preactivation(state, input))
        eye = torch.eye(self.n_units, dtype=slope.dtype, device=slope.device)
        decay = (1.0 - self.alpha) if self.leaky else 1.0
        return decay * eye + self.alpha * slope.unsqueeze(-1) * self.effective_weights()["weight_hh"]

    def extra_repr(self) -> str:
        # masks print as their shape and number of connections, not as nested lists
        return ", ".join(f"{k}={_summary(v) if k.endswith('_mask') else repr(v)}" for k, v in self._config.items())


def _summary(mask: list) -> str:
    array = np.asarray(mask)
    return f"<{array.shape[0]}×{array.shape[1]} mask, {int(array.sum())} connections>"


def _check_last_axis(name: str, value: object, width: int, label: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (..., {label}={width}); got {type(value).__name__}")
    if value.ndim == 0 or value.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {label}={width}); got shape {tuple(value.shape)}")
