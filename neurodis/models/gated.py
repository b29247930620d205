"""LSTM and GRU networks with the neurodis model interface.

Thin wrappers around the fused ``torch.nn.LSTM``/``torch.nn.GRU`` (``batch_first``)
plus a :class:`~neurodis.models.readout.Readout`. The rates returned by ``forward``
are the hidden activations ``h`` of the last layer. Weights start at PyTorch's default
U(-1/sqrt(n_units), 1/sqrt(n_units)), drawn from the model's seed.

Noise: ``input_noise`` adds ``input_noise · ζ_t`` (ζ standard normal, per trial, step
and input) to the inputs — a per-step standard deviation, since these networks have
no time constant. Recurrent (hidden-state) noise is not supported: the fused kernels
expose no hook between steps, so a nonzero ``recurrent_noise`` is an error.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from neurodis._validation import check_int
from neurodis.models.base import (
    SequenceModel,
    check_tensor,
    empty_module,
    fan_in_bound,
    register_model,
    uniform_init,
)
from neurodis.models.readout import Readout

__all__ = ["GRU", "LSTM", "gru_update", "lstm_update"]


def lstm_update(gates: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h, c)`` after one LSTM step from the pre-activations ``gates`` (torch's order i, f, g, o).

    ``c' = σ(f) c + σ(i) tanh(g)`` and ``h' = σ(o) tanh(c')``; ``gates`` is
    ``x W_ihᵀ + b_ih + h W_hhᵀ + b_hh``, ``(..., 4n)``.
    """
    i, f, g, o = gates.chunk(4, dim=-1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def gru_update(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``h`` after one GRU step from the input and hidden pre-activations (torch's order r, z, n).

    ``gi = x W_ihᵀ + b_ih`` and ``gh = h W_hhᵀ + b_hh``, each ``(..., 3n)``; the reset
    gate scales the hidden part of the candidate, as in ``torch.nn.GRU``.
    """
    ri, zi, ni = gi.chunk(3, dim=-1)
    rh, zh, nh = gh.chunk(3, dim=-1)
    reset, update = torch.sigmoid(ri + rh), torch.sigmoid(zi + zh)
    candidate = torch.tanh(ni + reset * nh)
    return (1.0 - update) * candidate + update * h


class _GatedRNN(SequenceModel):
    """Shared body of :class:`LSTM` and :class:`GRU`."""

    _rnn_class: ClassVar[type[nn.RNNBase]]

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        n_units: int = 64,
        *,
        n_layers: int = 1,
        input_noise: float = 0.0,
        recurrent_noise: float = 0.0,
        readout: str = "sigmoid",
        bound: float = 5.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.n_layers = check_int("n_layers", n_layers, minimum=1)
        init_generator = self._setup(dict(
            n_inputs=n_inputs, n_outputs=n_outputs, n_units=n_units, n_layers=self.n_layers,
            input_noise=input_noise, recurrent_noise=recurrent_noise, readout=readout,
            bound=bound, seed=seed,
        ))
        if self.recurrent_noise != 0.0:
            raise ValueError(
                f"recurrent_noise must be 0 for {self.arch} (the fused kernel has no hidden-noise hook; "
                f"use input_noise or a ctrnn); got {self.recurrent_noise}"
            )
        self.rnn = empty_module(
            self._rnn_class, self.n_inputs, self.n_units, num_layers=self.n_layers, batch_first=True
        )
        for weight in self.rnn.parameters():
            uniform_init(weight, fan_in_bound(self.n_units), init_generator)
        self.readout = Readout(self.n_units, self.n_outputs, readout, bound, generator=init_generator)

    def _layered(self, name: str, value: torch.Tensor, batch: int, like: torch.Tensor) -> torch.Tensor:
        """``value`` as ``(n_layers, batch, n_units)``; 2-D input is allowed for one layer."""
        n, layers = self.n_units, self.n_layers
        if layers == 1 and isinstance(value, torch.Tensor) and value.ndim == 2:
            value = check_tensor(name, value, (batch, n), f"(batch={batch}, n_units={n})").unsqueeze(0)
        labels = f"(n_layers={layers}, batch={batch}, n_units={n})" + (
            f" or (batch={batch}, n_units={n})" if layers == 1 else ""
        )
        return check_tensor(name, value, (layers, batch, n), labels).to(like).contiguous()

    def _hidden(self, initial_state: object, batch: int, like: torch.Tensor) -> object:
        raise NotImplementedError

    def forward(
        self,
        inputs: torch.Tensor,
        *,
        initial_state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
        recurrent_noise: torch.Tensor | None = None,
        input_noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the network over ``inputs``.

        Parameters
        ----------
        inputs : torch.Tensor
            ``(batch, time, n_inputs)``; cast to the parameters' dtype.
        initial_state : torch.Tensor or tuple, optional
            Initial hidden state ``h`` of shape ``(batch, n_units)`` (one layer) or
            ``(n_layers, batch, n_units)``; for the LSTM also a pair ``(h, c)`` of such
            tensors (``h`` alone means ``c = 0``). Zeros when omitted.
        recurrent_noise : None
            Not supported; any tensor is an error.
        input_noise : torch.Tensor, optional
            Standard-normal draws ζ ``(batch, time, n_inputs)``, scaled by the model's
            ``input_noise``; drawn from ``generator`` when omitted and the level is > 0.
        generator : torch.Generator, optional
            Noise source; ``None`` uses the model's own stream.

        Returns
        -------
        rates : torch.Tensor
            ``(batch, time, n_units)``, the last layer's hidden activations h_1 … h_T.
        logits : torch.Tensor
            ``(batch, time, n_outputs)``.

        Raises
        ------
        ValueError
            If a tensor has the wrong shape or non-finite values, or recurrent noise
            draws are given.
        """
        u_bxtxi = self._check_inputs(inputs)
        generator = self._resolve_generator(generator)
        if recurrent_noise is not None:
            raise ValueError(
                f"recurrent_noise must be None for {self.arch} (hidden-state noise is not supported); got a tensor"
            )
        u_bxtxi = self._with_input_noise(u_bxtxi, input_noise, generator)
        hidden = None if initial_state is None else self._hidden(initial_state, u_bxtxi.shape[0], u_bxtxi)
        rates_bxtxn, _ = self.rnn(u_bxtxi, hidden)
        return rates_bxtxn, self.readout(rates_bxtxn)

    def _check_step(self, state: torch.Tensor, input: torch.Tensor) -> None:
        if self.n_layers != 1:
            raise ValueError(f"step() needs n_layers == 1; got n_layers={self.n_layers}")
        for name, value, width in (("state", state, self.state_size), ("input", input, self.n_inputs)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor of shape (..., {width}); got {type(value).__name__}")
            if value.ndim == 0 or value.shape[-1] != width:
                raise ValueError(f"{name} must have shape (..., {width}); got shape {tuple(value.shape)}")

    def _gates(self, state_h: torch.Tensor, input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rnn = self.rnn
        gi = nn.functional.linear(input, rnn.weight_ih_l0, rnn.bias_ih_l0)
        gh = nn.functional.linear(state_h, rnn.weight_hh_l0, rnn.bias_hh_l0)
        return gi, gh


@register_model
class LSTM(_GatedRNN):
    """LSTM network (``torch.nn.LSTM``, batch-first) with a readout.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Input channels and readout outputs.
    n_units : int
        Hidden units per layer (paper: 64).
    n_layers : int
        Stacked layers (paper: 1).
    input_noise : float
        Per-step standard deviation of additive input noise (>= 0).
    recurrent_noise : float
        Must be 0 (accepted so every architecture takes the same arguments).
    readout : {"sigmoid", "tanh", "linear"}
        Readout head.
    bound : float
        Bound of the ``"tanh"`` readout.
    seed : int
        Seeds the weights and the model's default noise stream.

    Raises
    ------
    ValueError
        If ``recurrent_noise`` is nonzero or an argument is out of range.

    Examples
    --------
    >>> import torch
    >>> net = LSTM(3, 2, n_units=8)
    >>> rates, logits = net(torch.zeros(4, 5, 3))
    >>> tuple(rates.shape), net.state_size
    ((4, 5, 8), 16)
    """

    arch = "lstm"
    _BLOCKS = 4
    _rnn_class = nn.LSTM

    @property
    def state_size(self) -> int:
        """``2 * n_units``: :meth:`step` acts on the concatenation ``[h, c]``."""
        return 2 * self.n_units

    def _hidden(self, initial_state: object, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(initial_state, tuple):
            if len(initial_state) != 2:
                raise ValueError(
                    f"initial_state must be h or a pair (h, c); got a tuple of length {len(initial_state)}"
                )
            h, c = initial_state
            return self._layered("initial_state h", h, batch, like), self._layered("initial_state c", c, batch, like)
        h = self._layered("initial_state", initial_state, batch, like)
        return h, torch.zeros_like(h)

    def step(self, state: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        """One-step map of the combined state ``[h, c]`` (``(..., 2 * n_units)``).

        Parameters
        ----------
        state : torch.Tensor
            ``(..., 2 * n_units)``: hidden state ``h`` then cell state ``c``.
        input : torch.Tensor
            ``(..., n_inputs)``, broadcast against ``state``.

        Returns
        -------
        torch.Tensor
            The next ``[h, c]``, ``(..., 2 * n_units)``.

        Raises
        ------
        ValueError
            If ``n_layers != 1`` or a last axis has the wrong width.

        Examples
        --------
        >>> import torch
        >>> net = LSTM(2, 1, n_units=4)
        >>> tuple(net.step(torch.zeros(3, 8), torch.ones(2)).shape)
        (3, 8)
        """
        self._check_step(state, input)
        h, c = state.split(self.n_units, dim=-1)
        gi, gh = self._gates(h, input)
        return torch.cat(lstm_update(gi + gh, c), dim=-1)


@register_model
class GRU(_GatedRNN):
    """GRU network (``torch.nn.GRU``, batch-first) with a readout.

    Takes the same arguments as :class:`LSTM`; ``initial_state`` is ``h`` only and
    :meth:`step` acts on ``h`` (``state_size == n_units``).

    Examples
    --------
    >>> import torch
    >>> net = GRU(3, 2, n_units=8)
    >>> rates, logits = net(torch.zeros(4, 5, 3))
    >>> tuple(logits.shape), net.state_size
    ((4, 5, 2), 8)
    """

    arch = "gru"
    _BLOCKS = 3
    _rnn_class = nn.GRU

    def _hidden(self, initial_state: object, batch: int, like: torch.Tensor) -> torch.Tensor:
        return self._layered("initial_state", initial_state, batch, like)

    def step(self, state: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
        """One-step map of the hidden state, ``(..., n_units)``.

        Parameters
        ----------
        state : torch.Tensor
            ``(..., n_units)``.
        input : torch.Tensor
            ``(..., n_inputs)``, broadcast against ``state``.

        Returns
        -------
        torch.Tensor
            The next hidden state.

        Raises
        ------
        ValueError
            If ``n_layers != 1`` or a last axis has the wrong width.

        Examples
        --------
        >>> import torch
        >>> net = GRU(2, 1, n_units=4)
        >>> tuple(net.step(torch.zeros(4), torch.ones(2)).shape)
        (4,)
        """
        self._check_step(state, input)
        gi, gh = self._gates(state, input)
        return gru_update(gi, gh, state)
