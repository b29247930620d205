"""The fused stacked-CTRNN kernel against autograd and against the CTRNN model itself."""

from __future__ import annotations

import math

import pytest
import torch

from neurodis.models import CTRNN
from neurodis.training._engine import CTRNN_PARAMETERS
from neurodis.training._kernels import ctrnn_logits, recurrent_rates, reference_rates

ACTIVATIONS = ["relu", "tanh", "softplus", "linear"]
DYNAMICS = [(1.0, True), (0.3, True), (0.25, False)]


def _drive_and_weights(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    drive = torch.randn(2, 5, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    weight = (0.5 * torch.randn(2, 4, 4, generator=g, dtype=torch.float64)).requires_grad_()
    return drive, weight


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("alpha", "leaky"), DYNAMICS)
def test_backward_passes_gradcheck(activation, alpha, leaky):
    drive, weight = _drive_and_weights()
    assert torch.autograd.gradcheck(
        lambda d, w: recurrent_rates(d, w, alpha=alpha, leaky=leaky, activation=activation), (drive, weight))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(("alpha", "leaky"), DYNAMICS)
def test_rates_and_gradients_match_the_autograd_reference(activation, alpha, leaky):
    drive, weight = _drive_and_weights(1)
    probe = torch.randn(2, 5, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    grads = []
    for fn in (recurrent_rates, reference_rates):
        rates = fn(drive, weight, alpha=alpha, leaky=leaky, activation=activation)
        grads.append((rates, *torch.autograd.grad((rates * probe).sum(), (drive, weight))))
    for fast, slow in zip(*grads):
        torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)


def _stacked(models):
    return {kernel: torch.stack([m.get_parameter(name) for m in models]) for name, kernel in CTRNN_PARAMETERS.items()}


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(("dt", "leaky"), [(100.0, True), (20.0, True), (50.0, False)])
def test_logits_equal_each_models_forward_with_the_same_noise(activation, dt, leaky):
    models = [CTRNN(3, 2, n_units=6, dt=dt, leaky=leaky, activation=activation, seed=s,
                    input_noise=0.1, recurrent_noise=0.2) for s in range(3)]
    g = torch.Generator().manual_seed(0)
    inputs_kxbxtxi = torch.randn(3, 4, 7, 3, generator=g)
    zeta, xi = torch.randn(3, 4, 7, 3, generator=g), torch.randn(3, 4, 7, 6, generator=g)
    scale = math.sqrt(2.0 / models[0].alpha)
    logits = ctrnn_logits(_stacked(models), inputs_kxbxtxi.transpose(1, 2), alpha=models[0].alpha, leaky=leaky,
                          activation=activation, input_noise_kxtxbxi=scale * 0.1 * zeta.transpose(1, 2),
                          recurrent_noise_kxtxbxn=scale * 0.2 * xi.transpose(1, 2))
    for k, model in enumerate(models):
        _, expected = model(inputs_kxbxtxi[k], input_noise=zeta[k], recurrent_noise=xi[k])
        torch.testing.assert_close(logits[k].transpose(0, 1), expected, rtol=1e-5, atol=1e-6)


def test_parameter_gradients_equal_the_models_autograd_gradients():
    model = CTRNN(3, 2, n_units=6, dt=50.0)
    inputs = torch.randn(4, 7, 3, generator=torch.Generator().manual_seed(3))
    params = {k: v.detach().clone().requires_grad_() for k, v in _stacked([model]).items()}
    ctrnn_logits(params, inputs.transpose(0, 1).unsqueeze(0), alpha=0.5, leaky=True,
                 activation="relu").square().sum().backward()
    model(inputs)[1].square().sum().backward()
    for name, kernel in CTRNN_PARAMETERS.items():
        torch.testing.assert_close(params[kernel].grad[0], model.get_parameter(name).grad, rtol=1e-4, atol=1e-5)
