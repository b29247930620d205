"""The stacked forwards against the models' own forwards, member by member."""

from __future__ import annotations

import pytest
import torch

from neurodis.models import make_model
from neurodis.training._stacked import GatedNetwork, TransformerNetwork, stacked_name


def _stack(models):
    width = max(m.n_outputs for m in models)
    params = {}
    for name, _ in models[0].named_parameters():
        tensors = [m.get_parameter(name).detach() for m in models]
        if name.startswith("readout."):
            tensors = [torch.cat([t, t.new_zeros((width - t.shape[0], *t.shape[1:]))]) for t in tensors]
        params[stacked_name(name)] = torch.stack(tensors)
    return params


@pytest.mark.parametrize(
    ("arch", "options"),
    [
        ("lstm", {"n_layers": 2, "input_noise": 0.1}),
        ("gru", {"n_layers": 2, "input_noise": 0.1}),
        ("transformer", {"n_layers": 2, "n_heads": 2, "dropout": 0.3, "input_noise": 0.1}),
        ("transformer", {"positional": "learned", "dropout": 0.0, "n_heads": 4}),
    ],
)
def test_each_member_computes_its_model_forward(arch, options):
    models = [make_model(arch, n_inputs=3, n_outputs=1 + k, n_units=8, seed=k, **options).train()
              for k in range(3)]
    params = _stack(models)
    network = (TransformerNetwork if arch == "transformer" else GatedNetwork)(lambda: params, models[0])
    inputs_kxtxbxi = torch.randn(3, 6, 5, 3, generator=torch.Generator().manual_seed(0))
    logits = network(inputs_kxtxbxi, [torch.Generator().manual_seed(50 + k) for k in range(3)])
    assert tuple(logits.shape) == (3, 6, 5, 3)
    for k, model in enumerate(models):
        _, expected_bxtxo = model(inputs_kxtxbxi[k].transpose(0, 1), generator=torch.Generator().manual_seed(50 + k))
        torch.testing.assert_close(logits[k, :, :, : k + 1], expected_bxtxo.transpose(0, 1), rtol=1e-5, atol=1e-6)
        assert torch.equal(logits[k, :, :, k + 1:], torch.zeros_like(logits[k, :, :, k + 1:]))  # padded rows


def test_learned_positions_refuse_too_long_inputs():
    model = make_model("transformer", n_inputs=2, n_outputs=1, n_units=8, positional="learned", max_len=4)
    network = TransformerNetwork(lambda: _stack([model]), model)
    with pytest.raises(ValueError, match=r"inputs must have at most max_len=4 time steps; got 5"):
        network(torch.zeros(1, 5, 2, 2), [torch.Generator()])
