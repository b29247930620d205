"""Forwards of K stacked LSTMs, GRUs or causal transformers, for ensemble training.

Every parameter of the K members is stacked along a leading member axis (see
:func:`stacked_name` for the names) and the members run as one batched model:
inputs are ``(K, time, batch, ·)`` as :class:`~neurodis.training._engine.Engine`
gives them, logits come back in the same layout. Each member draws its noise and
dropout masks from its own generator, in the order and with the shapes its model's
own ``forward`` draws them, so member k computes what the solo model computes (to
float rounding: the tests check it against the models' forwards).

A forward costs a fixed number of small batched matmuls per time step or block
whatever K is, so the per-batch Python and kernel launch overhead that dominates a
single 64-unit network is shared by the ensemble. Autograd does the transformer's
backward pass; the LSTM and GRU recurrences have hand-written ones
(:mod:`neurodis.training._gated_kernels`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from neurodis.models.base import dropout_keep, dropout_multipliers
from neurodis.training._gated_kernels import gru_rates, lstm_rates
from neurodis.training._readout import readout

__all__ = ["GatedNetwork", "TransformerNetwork", "stacked_name"]

#: nn.LayerNorm's default epsilon (the transformer's LayerNorms keep it)
_LN_EPS = 1e-5


def stacked_name(name: str) -> str:
    """Key of a model parameter in a stack (``ParameterDict`` keys hold no dots).

    Examples
    --------
    >>> stacked_name("readout.linear.weight"), stacked_name("rnn.weight_hh_l0")
    ('readout_weight', 'rnn_weight_hh_l0')
    """
    return name.replace("readout.linear.", "readout_").replace(".", "_")


def _linear(x_kx_xi: torch.Tensor, weight_kxoxi: torch.Tensor, bias_kxo: torch.Tensor) -> torch.Tensor:
    """``x Wᵀ + b`` per member, for any middle axes of ``x``."""
    k, n_in = x_kx_xi.shape[0], x_kx_xi.shape[-1]
    flat = torch.baddbmm(bias_kxo.unsqueeze(1), x_kx_xi.reshape(k, -1, n_in), weight_kxoxi.transpose(1, 2))
    return flat.view(*x_kx_xi.shape[:-1], weight_kxoxi.shape[1])


def _broadcast(vector_kxd: torch.Tensor, ndim: int) -> torch.Tensor:
    """``(K, d)`` viewed as ``(K, 1, …, 1, d)`` against a tensor of ``ndim`` axes."""
    return vector_kxd.view(vector_kxd.shape[0], *([1] * (ndim - 2)), vector_kxd.shape[1])


def _draws(generators: Sequence[torch.Generator], like: torch.Tensor,
           draw: Callable[[torch.Generator], torch.Tensor]) -> torch.Tensor:
    """``draw(generator)`` for each member's generator, stacked on ``like``'s device."""
    return torch.stack([draw(g) for g in generators]).to(like.device)


def _matrices(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The stacked parameters that are weight matrices (two or more dims per member)."""
    return {name: value for name, value in params.items() if value.ndim >= 3}


def _input_noise(inputs_kxtxbxi: torch.Tensor, level: float, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """Inputs plus ``level · ζ``, ζ drawn per member as the models draw it: ``(batch, time, input)``."""
    if level == 0.0:
        return inputs_kxtxbxi
    _, n_steps, n_batch, n_inputs = inputs_kxtxbxi.shape
    shape, dtype = (n_batch, n_steps, n_inputs), inputs_kxtxbxi.dtype
    zeta = _draws(generators, inputs_kxtxbxi,
                  lambda g: torch.randn(shape, generator=g, dtype=dtype, device=g.device)).transpose(1, 2)
    return inputs_kxtxbxi + level * zeta


class GatedNetwork:
    """Logits of K stacked LSTMs or GRUs (``torch.nn.LSTM``/``GRU`` equations, zero initial state).

    Parameters
    ----------
    params : callable
        Returns the stacked parameters by :func:`stacked_name` (``rnn_weight_ih_l0``
        ``(K, G·n, n_in)`` … and the readout).
    template : LSTM or GRU
        A member, for the architecture, depth and input-noise level.
    """

    def __init__(self, params: Callable[[], dict[str, torch.Tensor]], template: nn.Module) -> None:
        self.params, self.template = params, template
        self.lstm = template.arch == "lstm"

    def weights(self) -> dict[str, torch.Tensor]:
        """The stacked weight matrices ``(K, ·, ·)`` (for weight penalties)."""
        return _matrices(self.params())

    def __call__(self, inputs_kxtxbxi: torch.Tensor, generators: Sequence[torch.Generator], *,
                 rates: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(K, time, batch, output)``; with ``rates``, ``(rates (K, time, batch, unit), logits)``."""
        p, t = self.params(), self.template
        h_kxtxbxn = _input_noise(inputs_kxtxbxi, t.input_noise, generators)
        for layer in range(t.n_layers):
            weights = [p[f"rnn_{name}_l{layer}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h_kxtxbxn = self._layer(h_kxtxbxn, *weights)
        logits = readout(h_kxtxbxn, p["readout_weight"], p["readout_bias"])
        return (h_kxtxbxn, logits) if rates else logits

    def _layer(self, x_kxtxbxi: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor,
               b_hh: torch.Tensor) -> torch.Tensor:
        if self.lstm:  # both biases enter the gates once: fold them into the input drive
            return lstm_rates(_linear(x_kxtxbxi, w_ih, b_ih + b_hh), w_hh)
        return gru_rates(_linear(x_kxtxbxi, w_ih, b_ih), w_hh, b_hh)


class TransformerNetwork:
    """Logits of K stacked causal transformers in training mode (dropout active).

    Each member's dropout masks come from its own generator in its model's order:
    input noise, embedding, then per block attention weights, attention residual and
    MLP residual.

    Parameters
    ----------
    params : callable
        Returns the stacked parameters by :func:`stacked_name`.
    template : CausalTransformer
        A member, for depth, heads, dropout and input-noise level.
    """

    def __init__(self, params: Callable[[], dict[str, torch.Tensor]], template: nn.Module) -> None:
        self.params, self.template = params, template

    def _dropout(self, x: torch.Tensor, generators: Sequence[torch.Generator]) -> torch.Tensor:
        p = self.template.p
        if p == 0.0:
            return x
        shape = tuple(x.shape[1:])
        keep = _draws(generators, x, lambda g: dropout_keep(shape, p, g))
        return x * dropout_multipliers(keep, p, x.dtype)

    def weights(self) -> dict[str, torch.Tensor]:
        """The stacked weight matrices ``(K, ·, ·)`` (for weight penalties)."""
        return _matrices(self.params())

    def __call__(self, inputs_kxtxbxi: torch.Tensor, generators: Sequence[torch.Generator], *,
                 rates: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits ``(K, time, batch, output)``; with ``rates``, ``(rates (K, batch, time, unit), logits)``."""
        p, t = self.params(), self.template
        u_kxbxtxi = _input_noise(inputs_kxtxbxi, t.input_noise, generators).transpose(1, 2)
        h = _linear(u_kxbxtxi, p["input_proj_weight"], p["input_proj_bias"])
        n_steps = h.shape[2]
        if "positional" in p:
            if n_steps > t.max_len:
                raise ValueError(f"inputs must have at most max_len={t.max_len} time steps; got {n_steps}")
            h = h + p["positional"][:, None, :n_steps]
        h = self._dropout(h, generators)
        for layer in range(len(t.blocks)):
            h = self._block(h, {name.removeprefix(f"blocks_{layer}_"): value for name, value in p.items()
                                if name.startswith(f"blocks_{layer}_")}, generators)
        rates_kxbxtxd = self._layer_norm(h, p["ln_f_weight"], p["ln_f_bias"])
        logits = readout(rates_kxbxtxd, p["readout_weight"], p["readout_bias"]).transpose(1, 2)
        return (rates_kxbxtxd, logits) if rates else logits

    @staticmethod
    def _layer_norm(x: torch.Tensor, weight_kxd: torch.Tensor, bias_kxd: torch.Tensor) -> torch.Tensor:
        normed = F.layer_norm(x, x.shape[-1:], eps=_LN_EPS)
        return normed * _broadcast(weight_kxd, x.ndim) + _broadcast(bias_kxd, x.ndim)

    def _block(self, h_kxbxtxd: torch.Tensor, p: dict[str, torch.Tensor],
               generators: Sequence[torch.Generator]) -> torch.Tensor:
        k, n_batch, n_steps, d_model = h_kxbxtxd.shape
        heads = self.template.blocks[0].n_heads
        x = self._layer_norm(h_kxbxtxd, p["ln_1_weight"], p["ln_1_bias"])
        # (K, batch, heads, time, head_dim) for each of q, k, v
        q, key, v = (part.reshape(k, n_batch, n_steps, heads, d_model // heads).transpose(2, 3)
                     for part in _linear(x, p["qkv_weight"], p["qkv_bias"]).split(d_model, dim=-1))
        scores = q @ key.transpose(-2, -1) / math.sqrt(q.shape[-1])
        future = torch.ones(n_steps, n_steps, dtype=torch.bool, device=q.device).triu(1)
        weights = self._dropout(torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1), generators)
        attended = (weights @ v).transpose(2, 3).reshape(k, n_batch, n_steps, d_model)
        attention = _linear(attended, p["attn_proj_weight"], p["attn_proj_bias"])
        h_kxbxtxd = h_kxbxtxd + self._dropout(attention, generators)
        hidden = F.gelu(_linear(self._layer_norm(h_kxbxtxd, p["ln_2_weight"], p["ln_2_bias"]),
                                p["mlp_in_weight"], p["mlp_in_bias"]), approximate="tanh")
        mlp = _linear(hidden, p["mlp_out_weight"], p["mlp_out_bias"])
        return h_kxbxtxd + self._dropout(mlp, generators)
