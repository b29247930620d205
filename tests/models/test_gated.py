"""LSTM and GRU wrappers: one-step maps, initial states and unsupported options."""

from __future__ import annotations

import math

import pytest
import torch

from neurodis.models import GRU, LSTM

N_IN, N = 3, 5


def _u(batch: int = 2, steps: int = 4) -> torch.Tensor:
    return torch.randn(batch, steps, N_IN, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _state(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def test_lstm_step_iterated_equals_forward() -> None:
    """The hand-written [h, c] map, iterated, reproduces the fused nn.LSTM."""
    net, u = LSTM(N_IN, 2, n_units=N).double(), _u()
    h0, c0 = _state(2, 2 * N).split(N, dim=-1)
    states = net(u, initial_state=(h0, c0))[0]
    hc = torch.cat([h0, c0], dim=-1)
    for t in range(u.shape[1]):
        hc = net.step(hc, u[:, t])
        torch.testing.assert_close(hc[:, :N], states[:, t], rtol=0, atol=1e-12)


def test_gru_step_iterated_equals_forward() -> None:
    net, u = GRU(N_IN, 2, n_units=N).double(), _u()
    h = _state(2, N)
    states = net(u, initial_state=h)[0]
    for t in range(u.shape[1]):
        h = net.step(h, u[:, t])
        torch.testing.assert_close(h, states[:, t], rtol=0, atol=1e-12)


def test_lstm_hidden_only_means_zero_cell() -> None:
    net, u, h0 = LSTM(N_IN, 2, n_units=N).double(), _u(), _state(2, N)
    assert torch.equal(net(u, initial_state=h0)[0], net(u, initial_state=(h0, torch.zeros_like(h0)))[0])


def test_zero_initial_state_is_the_default() -> None:
    net, u = GRU(N_IN, 2, n_units=N).double(), _u()
    assert torch.equal(net(u)[0], net(u, initial_state=torch.zeros(2, N, dtype=torch.float64))[0])


def test_layered_initial_state() -> None:
    net, u = LSTM(N_IN, 2, n_units=N, n_layers=2).double(), _u()
    h0 = _state(2, 2, N)
    assert net(u, initial_state=h0)[0].shape == (2, 4, N)
    with pytest.raises(ValueError, match=r"initial_state must have shape \(n_layers=2, batch=2, n_units=5\); got shape \(2, 5\)"):
        net(u, initial_state=h0[0])


def test_default_init_is_pytorch_uniform() -> None:
    net = LSTM(N_IN, 2, n_units=40)
    bound = 1.0 / math.sqrt(40)
    for name, weight in net.rnn.named_parameters():
        assert weight.abs().max() <= bound, name


def test_state_sizes() -> None:
    assert LSTM(N_IN, 2, n_units=N).state_size == 2 * N
    assert GRU(N_IN, 2, n_units=N).state_size == N


def test_recurrent_noise_level_rejected() -> None:
    with pytest.raises(ValueError, match="recurrent_noise must be 0 for lstm .*; got 0.1"):
        LSTM(N_IN, 2, recurrent_noise=0.1)


def test_recurrent_noise_draws_rejected() -> None:
    with pytest.raises(ValueError, match="recurrent_noise must be None for gru"):
        GRU(N_IN, 2, n_units=N)(_u().float(), recurrent_noise=torch.zeros(2, 4, N))


def test_lstm_initial_state_tuple_length_checked() -> None:
    h = torch.zeros(2, N)
    with pytest.raises(ValueError, match="initial_state must be h or a pair \\(h, c\\); got a tuple of length 3"):
        LSTM(N_IN, 2, n_units=N)(_u().float(), initial_state=(h, h, h))


def test_lstm_cell_state_shape_checked() -> None:
    with pytest.raises(ValueError, match=r"initial_state c must have shape .*; got shape \(2, 4\)"):
        LSTM(N_IN, 2, n_units=N)(_u().float(), initial_state=(torch.zeros(2, N), torch.zeros(2, 4)))


def test_gru_initial_state_must_be_a_tensor() -> None:
    h = torch.zeros(2, N)
    with pytest.raises(TypeError, match="initial_state must be a torch.Tensor"):
        GRU(N_IN, 2, n_units=N)(_u().float(), initial_state=(h, h))


def test_step_checks() -> None:
    with pytest.raises(ValueError, match="step\\(\\) needs n_layers == 1; got n_layers=2"):
        GRU(N_IN, 2, n_units=N, n_layers=2).step(torch.zeros(N), torch.zeros(N_IN))
    with pytest.raises(ValueError, match=r"state must have shape \(..., 10\); got shape \(5,\)"):
        LSTM(N_IN, 2, n_units=N).step(torch.zeros(N), torch.zeros(N_IN))
    with pytest.raises(TypeError, match=r"input must be a torch.Tensor of shape \(..., 3\); got list"):
        GRU(N_IN, 2, n_units=N).step(torch.zeros(N), [0.0, 0.0, 0.0])


def test_n_layers_validated() -> None:
    with pytest.raises(ValueError, match="n_layers must be an integer >= 1; got 0"):
        GRU(N_IN, 2, n_layers=0)
