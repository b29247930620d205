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
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from neurodis._validation import check_in, check_probability, check_real
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

    Raises
    ------
    ValueError
        If ``dt/tau`` is not in (0, 1], or any option is unknown or out of range.

    Examples
    --------
    >>> import torch
    >>> net = CTRNN(3, 2, n_units=8, tau=100.0, dt=20.0)
    >>> rates, logits = net(torch.zeros(4, 5, 3))
    >>> tuple(rates.shape), tuple(logits.shape), net.alpha
    ((4, 5, 8), (4, 5, 2), 0.2)
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
        self.weight_ih = nn.Parameter(torch.empty(n, self.n_inputs))
        self.weight_hh = nn.Parameter(torch.empty(n, n))
        self.bias = nn.Parameter(torch.empty(n))
        self._init_weights(init, gain, density, init_generator)
        self.readout = Readout(n, self.n_outputs, readout, bound, generator=init_generator)

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
        # the input drive of every step in one matmul; the loop only adds the recurrence
        drive_bxtxn = F.linear(u_bxtxi, self.weight_ih, self.bias)
        if xi is not None:
            drive_bxtxn = drive_bxtxn + (scale * self.recurrent_noise) * xi
        r_bxn = self._initial_state(initial_state, u_bxtxi.shape[0], u_bxtxi)
        w_hh_t = self.weight_hh.t()
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
        return F.linear(input, self.weight_ih, self.bias) + F.linear(state, self.weight_hh)

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
        (non-leaky), with ``pre = W_in u + W r + b``.

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
        return decay * eye + self.alpha * slope.unsqueeze(-1) * self.weight_hh


def _check_last_axis(name: str, value: object, width: int, label: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (..., {label}={width}); got {type(value).__name__}")
    if value.ndim == 0 or value.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {label}={width}); got shape {tuple(value.shape)}")
