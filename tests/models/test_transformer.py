"""Causal transformer: causality, a reference built from torch.nn, positions and dropout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from neurodis.models import CausalTransformer
from neurodis.models.transformer import causal_attention_reference

N_IN, D, HEADS = 3, 16, 4


def _net(**kwargs) -> CausalTransformer:
    return CausalTransformer(N_IN, 2, n_units=D, n_heads=HEADS, **kwargs).double()


def _u(batch: int = 2, steps: int = 6) -> torch.Tensor:
    return torch.randn(batch, steps, N_IN, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("training", [False, True])
def test_causality(training: bool) -> None:
    """Changing the input at step t leaves every output before t unchanged."""
    net, u, t = _net(positional="learned", n_layers=2).train(training), _u(), 3
    changed = u.clone()
    changed[:, t] += 1.0
    before, after = net(u, generator=_gen(5))[1], net(changed, generator=_gen(5))[1]
    assert torch.equal(before[:, :t], after[:, :t])
    assert not torch.allclose(before[:, t:], after[:, t:])


def test_matches_torch_encoder_layer_reference() -> None:
    """One block equals nn.TransformerEncoderLayer (pre-LN, GELU-tanh, causal mask) with copied weights."""
    net, u = _net(positional="learned").eval(), _u()
    block = net.blocks[0]
    layer = nn.TransformerEncoderLayer(
        D, HEADS, dim_feedforward=4 * D, dropout=0.0, batch_first=True, norm_first=True,
        activation=lambda x: F.gelu(x, approximate="tanh"), dtype=torch.float64,
    ).eval()
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(block.qkv.weight)
        layer.self_attn.in_proj_bias.copy_(block.qkv.bias)
        layer.self_attn.out_proj.weight.copy_(block.attn_proj.weight)
        layer.self_attn.out_proj.bias.copy_(block.attn_proj.bias)
        for ours, theirs in ((block.mlp_in, layer.linear1), (block.mlp_out, layer.linear2),
                             (block.ln_1, layer.norm1), (block.ln_2, layer.norm2)):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
        h = net.input_proj(u) + net.positional[: u.shape[1]]
        mask = nn.Transformer.generate_square_subsequent_mask(u.shape[1], dtype=torch.float64)
        expected = net.ln_f(layer(h, src_mask=mask, is_causal=True))
        torch.testing.assert_close(net(u)[0], expected, rtol=0, atol=1e-12)


def test_reference_attention_equals_fused_kernel_without_dropout() -> None:
    g = _gen(0)
    q, k, v = (torch.randn(2, HEADS, 5, 4, generator=g, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(
        causal_attention_reference(q, k, v, 0.0, g), F.scaled_dot_product_attention(q, k, v, is_causal=True),
        rtol=0, atol=1e-12,
    )


def test_zero_positions_make_constant_sequences_time_invariant() -> None:
    """Without positions, identical tokens attend to identical tokens: every step has the same state."""
    u = _u(steps=1).expand(-1, 5, -1)
    states = _net(positional="zero").eval()(u)[0]
    torch.testing.assert_close(states, states[:, :1].expand_as(states), rtol=0, atol=1e-12)
    learned = _net(positional="learned").eval()(u)[0]
    assert not torch.allclose(learned[:, 0], learned[:, -1])


def test_zero_positions_have_no_trainable_embedding() -> None:
    names = [name for name, _ in _net(positional="zero").named_parameters()]
    assert not any("positional" in name for name in names)
    assert "positional" in dict(_net(positional="learned").named_parameters())


def test_dropout_only_in_training_and_reproducible() -> None:
    net, u = _net(dropout=0.5), _u()
    train_a, train_b = net(u, generator=_gen(1))[1], net(u, generator=_gen(1))[1]
    assert torch.equal(train_a, train_b)
    assert not torch.allclose(train_a, net(u, generator=_gen(2))[1])
    net.eval()
    assert torch.equal(net(u, generator=_gen(1))[1], net(u, generator=_gen(2))[1])


def test_zero_dropout_training_equals_eval() -> None:
    net, u = _net(dropout=0.0), _u()
    torch.testing.assert_close(net.train()(u)[1], net.eval()(u)[1], rtol=0, atol=1e-12)


def test_paper_configuration() -> None:
    net = CausalTransformer(41, 24)
    assert (net.d_model, len(net.blocks), net.blocks[0].n_heads, net.p) == (64, 1, 8, 0.1)
    assert net.positional is None


def test_sequence_longer_than_max_len_rejected() -> None:
    with pytest.raises(ValueError, match="inputs must have at most max_len=4 time steps; got 6"):
        _net(positional="learned", max_len=4)(_u())


def test_initial_state_rejected() -> None:
    with pytest.raises(ValueError, match="initial_state must be None for a transformer; got Tensor"):
        _net()(_u(), initial_state=torch.zeros(2, D))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_heads": 3}, "n_heads must divide n_units=16; got n_heads=3"),
        ({"recurrent_noise": 0.1}, "recurrent_noise must be 0 for a transformer .*; got 0.1"),
        ({"dropout": 1.0}, "dropout must be < 1; got 1.0"),
        ({"positional": "sinusoidal"}, r"positional must be one of \['learned', 'zero'\]; got 'sinusoidal'"),
        ({"max_len": 0}, "max_len must be an integer >= 1; got 0"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    config = {"n_heads": HEADS, **kwargs}
    with pytest.raises(ValueError, match=message):
        CausalTransformer(N_IN, 2, n_units=D, **config)
