"""The stacked LSTM and GRU recurrences against autograd through the models' own step."""

from __future__ import annotations

import pytest
import torch

from neurodis.models import make_model
from neurodis.training._gated_kernels import (
    gru_rates,
    lstm_rates,
    reference_gru_rates,
    reference_lstm_rates,
)
from neurodis.training._stacked import GatedNetwork, stacked_name

BLOCKS = {"lstm": 4, "gru": 3}


def _rates(arch, fast):
    if arch == "lstm":
        return lstm_rates if fast else reference_lstm_rates
    return gru_rates if fast else reference_gru_rates


def _arguments(arch, n_members, n_steps, n_batch, n_units, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    width = BLOCKS[arch] * n_units
    args = [torch.randn(n_members, n_steps, n_batch, width, generator=g, dtype=dtype),
            torch.randn(n_members, width, n_units, generator=g, dtype=dtype) / n_units ** 0.5]
    if arch == "gru":
        args.append(torch.randn(n_members, width, generator=g, dtype=dtype))
    return [a.requires_grad_() for a in args]


@pytest.mark.parametrize("arch", ["lstm", "gru"])
@pytest.mark.parametrize("n_members", [1, 3])
def test_backward_passes_gradcheck(arch, n_members):
    args = _arguments(arch, n_members, n_steps=5, n_batch=2, n_units=3, dtype=torch.float64)
    assert torch.autograd.gradcheck(_rates(arch, fast=True), args)


@pytest.mark.parametrize("arch", ["lstm", "gru"])
@pytest.mark.parametrize("n_members", [1, 3])
def test_float32_rates_and_gradients_at_paper_sizes_match_the_reference(arch, n_members):
    args = _arguments(arch, n_members, n_steps=22, n_batch=16, n_units=64, dtype=torch.float32, seed=1)
    probe = torch.randn(n_members, 22, 16, 64, generator=torch.Generator().manual_seed(2))
    results = []
    for fast in (True, False):
        rates = _rates(arch, fast)(*args)
        results.append((rates, *torch.autograd.grad((rates * probe).sum(), args)))
    for fast, slow in zip(*results):
        torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)


def _stack(models):
    return {stacked_name(name): torch.stack([m.get_parameter(name).detach() for m in models]).requires_grad_()
            for name, _ in models[0].named_parameters()}


@pytest.mark.parametrize("arch", ["lstm", "gru"])
@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("n_members", [1, 3])
def test_stacked_gradients_equal_each_models_autograd_gradients(arch, n_layers, n_members):
    models = [make_model(arch, n_inputs=3, n_outputs=2, n_units=8, n_layers=n_layers, seed=k)
              for k in range(n_members)]
    params = _stack(models)
    inputs_kxtxbxi = torch.randn(n_members, 6, 4, 3, generator=torch.Generator().manual_seed(0))
    logits = GatedNetwork(lambda: params, models[0])(inputs_kxtxbxi, [torch.Generator()] * n_members)
    logits.square().sum().backward()
    for k, model in enumerate(models):
        _, expected = model(inputs_kxtxbxi[k].transpose(0, 1))
        expected.square().sum().backward()
        for name, weight in model.named_parameters():
            torch.testing.assert_close(params[stacked_name(name)].grad[k], weight.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: lstm_rates(torch.zeros(2, 3, 4, 12), torch.zeros(2, 12, 4)),
         r"lstm_rates needs drive \(K, time, batch, 4·n\) and .*; got \(2, 3, 4, 12\) and \(2, 12, 4\)"),
        (lambda: gru_rates(torch.zeros(2, 3, 4, 12), torch.zeros(1, 12, 4), torch.zeros(2, 12)),
         r"gru_rates needs drive \(K, time, batch, 3·n\) and .*; got \(2, 3, 4, 12\) and \(1, 12, 4\)"),
        (lambda: gru_rates(torch.zeros(2, 3, 4, 12), torch.zeros(2, 12, 4), torch.zeros(2, 4)),
         r"gru_rates needs bias_hh \(K, 3·n\) = \(2, 12\); got \(2, 4\)"),
    ],
)
def test_mismatched_shapes_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
