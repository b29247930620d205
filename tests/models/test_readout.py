"""Readout heads: nonlinearities, matching losses, seeded initialisation."""

from __future__ import annotations

import math

import pytest
import torch

from neurodis.models import Readout


def test_activations_known_values() -> None:
    z = torch.tensor([-2.0, 0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(Readout(2, 1, "sigmoid").activate(z), 1 / (1 + torch.exp(-z)))
    torch.testing.assert_close(
        Readout(2, 1, "tanh", bound=3.0).activate(z),
        torch.tensor([3 * math.tanh(-2.0), 0.0, 3 * math.tanh(1.0)], dtype=torch.float64),
    )
    assert torch.equal(Readout(2, 1, "linear").activate(z), z)


def test_tanh_outputs_stay_within_bound() -> None:
    outputs = Readout(2, 1, "tanh", bound=5.0).activate(torch.tensor([-100.0, 100.0]))
    assert outputs.abs().max() <= 5.0


def test_losses() -> None:
    assert [Readout(2, 1, kind).loss for kind in ("sigmoid", "tanh", "linear")] == ["bce_with_logits", "mse", "mse"]


def test_seeded_and_global_rng_free() -> None:
    before = torch.get_rng_state()
    a, b = Readout(6, 3), Readout(6, 3)
    other = Readout(6, 3, generator=torch.Generator().manual_seed(9))
    assert torch.equal(before, torch.get_rng_state())
    assert torch.equal(a.linear.weight, b.linear.weight)
    assert not torch.equal(a.linear.weight, other.linear.weight)
    assert a.linear.weight.abs().max() <= 1 / math.sqrt(6)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"readout must be one of \['sigmoid', 'tanh', 'linear'\]; got 'relu'"):
        Readout(2, 1, "relu")
    with pytest.raises(ValueError, match="bound must be > 0.0; got -1.0"):
        Readout(2, 1, "tanh", bound=-1.0)
    with pytest.raises(ValueError, match="n_outputs must be an integer >= 1; got 0"):
        Readout(2, 0)
