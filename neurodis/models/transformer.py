"""GPT-2-style causal transformer for continuous inputs, written directly in torch.

Architecture (pre-LayerNorm, as GPT-2)::

    h_0 = dropout(inputs @ W_projᵀ + b_proj + P[:T])       P: positional embeddings
    for each block:
        h = h + dropout(attention(LN_1(h)))                 causal multi-head self-attention
        h = h + dropout(MLP(LN_2(h)))                       d → 4d → d with GELU (tanh form)
    rates = LN_f(h)                                        (batch, time, d_model)

Initialisation follows GPT-2: linear weights N(0, 0.02²) with the residual output
projections scaled by ``1/sqrt(2 · n_layers)``, zero biases, LayerNorms at identity,
learned positional embeddings N(0, 0.01²). With ``positional="zero"`` (the paper's
setting) the embeddings are zero and frozen, which is the same as having none: the
causal mask is then the only source of order information.

All dropout masks (embedding, attention weights, residual) are drawn from the
``generator`` given to ``forward`` (or the model's own stream), never from the global
torch RNG, so a training run is reproducible from its seeds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from neurodis._validation import check_in, check_int, check_probability
from neurodis.models.base import SequenceModel, empty_module, register_model
from neurodis.models.base import dropout as apply_dropout  # the constructor argument is `dropout`
from neurodis.models.readout import Readout

__all__ = ["CausalTransformer"]

POSITIONAL = ("learned", "zero")
_STD = 0.02


def _linear(n_in: int, n_out: int, std: float, generator: torch.Generator) -> nn.Linear:
    layer = empty_module(nn.Linear, n_in, n_out)
    with torch.no_grad():
        nn.init.normal_(layer.weight, 0.0, std, generator=generator)
        layer.bias.zero_()
    return layer


class _Block(nn.Module):
    """One pre-LN transformer block: causal self-attention then MLP, each residual."""

    def __init__(self, d_model: int, n_heads: int, n_layers: int, p: float, generator: torch.Generator) -> None:
        super().__init__()
        residual_std = _STD / math.sqrt(2 * n_layers)
        self.n_heads, self.p = n_heads, p
        self.ln_1 = nn.LayerNorm(d_model)
        self.qkv = _linear(d_model, 3 * d_model, _STD, generator)
        self.attn_proj = _linear(d_model, d_model, residual_std, generator)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp_in = _linear(d_model, 4 * d_model, _STD, generator)
        self.mlp_out = _linear(4 * d_model, d_model, residual_std, generator)

    def attention(self, x_bxtxd: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch, n_steps, d_model = x_bxtxd.shape
        # (batch, heads, time, head_dim) for each of q, k, v
        q, k, v = (
            t.view(batch, n_steps, self.n_heads, d_model // self.n_heads).transpose(1, 2)
            for t in self.qkv(x_bxtxd).split(d_model, dim=-1)
        )
        if self.training and self.p > 0.0:
            out = causal_attention_reference(q, k, v, self.p, generator)
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.attn_proj(out.transpose(1, 2).reshape(batch, n_steps, d_model))

    def forward(self, h_bxtxd: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        attention = self.attention(self.ln_1(h_bxtxd), generator)
        h_bxtxd = h_bxtxd + apply_dropout(attention, self.p, generator, self.training)
        mlp = self.mlp_out(F.gelu(self.mlp_in(self.ln_2(h_bxtxd)), approximate="tanh"))
        return h_bxtxd + apply_dropout(mlp, self.p, generator, self.training)


def causal_attention_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float, generator: torch.Generator
) -> torch.Tensor:
    """Causal softmax attention written out, with dropout on the weights drawn from ``generator``.

    Used in training mode (``scaled_dot_product_attention`` draws its dropout from the
    global RNG); with ``p = 0`` it equals the fused kernel.

    Parameters
    ----------
    q, k, v : torch.Tensor
        ``(batch, heads, time, head_dim)``.
    p : float
        Dropout probability on the attention weights.
    generator : torch.Generator
        Source of the dropout mask.

    Returns
    -------
    torch.Tensor
        ``(batch, heads, time, head_dim)``.
    """
    n_steps = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    future = torch.ones(n_steps, n_steps, dtype=torch.bool, device=q.device).triu(1)
    weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
    return apply_dropout(weights, p, generator, True) @ v


@register_model
class CausalTransformer(SequenceModel):
    """Causal (decoder-only) transformer mapping continuous inputs to rates and logits.

    See :mod:`neurodis.models.transformer` for the architecture and initialisation.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Input channels and readout outputs.
    n_units : int
        Model width ``d_model`` (paper: 64); the rates have this width.
    n_layers : int
        Transformer blocks (paper: 1).
    n_heads : int
        Attention heads (paper: 8); must divide ``n_units``.
    positional : {"zero", "learned"}
        ``"zero"``: zero, frozen positional embeddings (paper); ``"learned"``:
        trainable embeddings for up to ``max_len`` steps.
    max_len : int
        Longest sequence accepted with learned positional embeddings.
    dropout : float
        Dropout probability in [0, 1) on embeddings, attention weights and residual
        branches (paper: 0.1); active only in training mode.
    input_noise : float
        Per-step standard deviation of additive input noise (>= 0).
    recurrent_noise : float
        Must be 0 (accepted so every architecture takes the same arguments).
    readout : {"sigmoid", "tanh", "linear"}
        Readout head.
    bound : float
        Bound of the ``"tanh"`` readout.
    seed : int
        Seeds the weights and the model's default dropout/noise stream.

    Raises
    ------
    ValueError
        If ``n_heads`` does not divide ``n_units``, ``recurrent_noise`` is nonzero, or
        an option is unknown or out of range.

    Examples
    --------
    >>> import torch
    >>> net = CausalTransformer(3, 2, n_units=16, n_heads=4).eval()
    >>> rates, logits = net(torch.zeros(4, 5, 3))
    >>> tuple(rates.shape), tuple(logits.shape)
    ((4, 5, 16), (4, 5, 2))
    """

    arch = "transformer"
    _BLOCKS = 12  # q, k, v, output and a 4x-wide two-layer feed-forward per block

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        n_units: int = 64,
        *,
        n_layers: int = 1,
        n_heads: int = 8,
        positional: str = "zero",
        max_len: int = 256,
        dropout: float = 0.1,
        input_noise: float = 0.0,
        recurrent_noise: float = 0.0,
        readout: str = "sigmoid",
        bound: float = 5.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        n_layers = check_int("n_layers", n_layers, minimum=1)
        n_heads = check_int("n_heads", n_heads, minimum=1)
        check_in("positional", positional, POSITIONAL)
        self.max_len = check_int("max_len", max_len, minimum=1)
        self.p = check_probability("dropout", dropout)
        if self.p == 1.0:
            raise ValueError(f"dropout must be < 1; got {self.p}")
        generator = self._setup(dict(
            n_inputs=n_inputs, n_outputs=n_outputs, n_units=n_units, n_layers=n_layers, n_heads=n_heads,
            positional=positional, max_len=self.max_len, dropout=self.p, input_noise=input_noise,
            recurrent_noise=recurrent_noise, readout=readout, bound=bound, seed=seed,
        ))
        if self.n_units % n_heads:
            raise ValueError(f"n_heads must divide n_units={self.n_units}; got n_heads={n_heads}")
        if self.recurrent_noise != 0.0:
            raise ValueError(
                f"recurrent_noise must be 0 for a transformer (it has no recurrent state); got {self.recurrent_noise}"
            )
        d_model = self.n_units
        self.input_proj = _linear(self.n_inputs, d_model, _STD, generator)
        # "zero" registers no embedding at all: adding a frozen zero tensor changes nothing
        self.positional = nn.Parameter(torch.empty(self.max_len, d_model)) if positional == "learned" else None
        if self.positional is not None:
            with torch.no_grad():
                nn.init.normal_(self.positional, 0.0, 0.01, generator=generator)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, n_layers, self.p, generator) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.readout = Readout(d_model, self.n_outputs, readout, bound, generator=generator)

    @property
    def d_model(self) -> int:
        """Model width (the same as ``n_units``)."""
        return self.n_units

    def forward(
        self,
        inputs: torch.Tensor,
        *,
        initial_state: None = None,
        recurrent_noise: None = None,
        input_noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the transformer over ``inputs`` (output at step t sees steps ≤ t only).

        Parameters
        ----------
        inputs : torch.Tensor
            ``(batch, time, n_inputs)``; cast to the parameters' dtype.
        initial_state, recurrent_noise : None
            Not meaningful for a transformer; anything else is an error.
        input_noise : torch.Tensor, optional
            Standard-normal draws ζ ``(batch, time, n_inputs)``, scaled by the model's
            ``input_noise``; drawn from ``generator`` when omitted and the level is > 0.
        generator : torch.Generator, optional
            Source of noise and dropout masks; ``None`` uses the model's own stream.

        Returns
        -------
        rates : torch.Tensor
            ``(batch, time, n_units)``, the final-LayerNorm hidden state of each token.
        logits : torch.Tensor
            ``(batch, time, n_outputs)``.

        Raises
        ------
        ValueError
            If a tensor has the wrong shape or non-finite values, the sequence exceeds
            ``max_len`` with learned positions, or ``initial_state``/``recurrent_noise``
            is given.
        """
        u_bxtxi = self._check_inputs(inputs)
        generator = self._resolve_generator(generator)
        for name, value in (("initial_state", initial_state), ("recurrent_noise", recurrent_noise)):
            if value is not None:
                raise ValueError(f"{name} must be None for a transformer; got {type(value).__name__}")
        n_steps = u_bxtxi.shape[1]
        u_bxtxi = self._with_input_noise(u_bxtxi, input_noise, generator)
        h_bxtxd = self.input_proj(u_bxtxi)
        if self.positional is not None:
            if n_steps > self.max_len:
                raise ValueError(f"inputs must have at most max_len={self.max_len} time steps; got {n_steps}")
            h_bxtxd = h_bxtxd + self.positional[:n_steps]
        h_bxtxd = apply_dropout(h_bxtxd, self.p, generator, self.training)
        for block in self.blocks:
            h_bxtxd = block(h_bxtxd, generator)
        rates_bxtxd = self.ln_f(h_bxtxd)
        return rates_bxtxd, self.readout(rates_bxtxd)
