"""Contract tests run on every registered model architecture."""

from __future__ import annotations

import json
import math

import pytest
import torch

from neurodis.models import SequenceModel, list_models, make_model, register_model
from tests.models.conftest import N_INPUTS, N_OUTPUTS, N_UNITS, build


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_registry_lists_every_architecture() -> None:
    assert list_models() == ["ctrnn", "gru", "lstm", "transformer"]


def test_unknown_arch_lists_options() -> None:
    with pytest.raises(ValueError, match=r"arch must be one of \['ctrnn', 'gru', 'lstm', 'transformer'\]; got 'rnn'"):
        make_model("rnn", n_inputs=1, n_outputs=1)


def test_register_model_rejects_duplicate_name() -> None:
    class Duplicate(SequenceModel):
        arch = "ctrnn"

    with pytest.raises(ValueError, match="arch must be a new, non-empty name; got 'ctrnn'"):
        register_model(Duplicate)


def test_shapes_and_attributes(arch: str, inputs: torch.Tensor) -> None:
    model = build(arch).eval()
    states, logits = model(inputs)
    assert model.arch == arch
    assert (model.n_inputs, model.n_units, model.n_outputs) == (N_INPUTS, N_UNITS, N_OUTPUTS)
    assert states.shape == (4, 6, N_UNITS)
    assert logits.shape == (4, 6, N_OUTPUTS)
    # logits are the linear readout of the states
    torch.testing.assert_close(logits, states @ model.readout.linear.weight.T + model.readout.linear.bias)


def test_config_is_json_and_rebuilds_the_model(arch: str) -> None:
    model = build(arch, seed=5)
    config = json.loads(json.dumps(model.config))
    rebuilt = type(model)(**config)
    assert rebuilt.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), rebuilt.state_dict().items()):
        assert torch.equal(a, b), name


def test_same_seed_same_model_and_noise(arch: str, inputs: torch.Tensor) -> None:
    a, b = build(arch, seed=3, input_noise=0.3), build(arch, seed=3, input_noise=0.3)
    out_a = a(inputs, generator=_gen(7))
    out_b = b(inputs, generator=_gen(7))
    assert torch.equal(out_a[0], out_b[0]) and torch.equal(out_a[1], out_b[1])
    # the models' own default streams are seeded alike too
    assert torch.equal(a(inputs)[1], b(inputs)[1])


def test_different_seeds_differ(arch: str, inputs: torch.Tensor) -> None:
    a, b = build(arch, seed=0).eval(), build(arch, seed=1).eval()
    assert not torch.equal(a(inputs)[1], b(inputs)[1])
    noisy = build(arch, input_noise=0.3).eval()
    assert not torch.equal(noisy(inputs, generator=_gen(0))[1], noisy(inputs, generator=_gen(1))[1])


def test_no_global_rng_use(arch: str, inputs: torch.Tensor) -> None:
    before = torch.get_rng_state()
    model = build(arch, input_noise=0.2)  # training mode: dropout is active for the transformer
    states, logits = model(inputs)
    logits.sum().backward()
    assert torch.equal(before, torch.get_rng_state())


def test_given_input_noise_equals_noisy_inputs(arch: str, inputs: torch.Tensor) -> None:
    """ζ enters as inputs + scale·σ·ζ, scale = sqrt(2/α) for the CTRNN and 1 otherwise."""
    sigma = 0.25
    noisy, clean = build(arch, input_noise=sigma).eval(), build(arch).eval()
    zeta = torch.randn(inputs.shape, generator=_gen(2))
    scale = math.sqrt(2.0 / noisy.alpha) if arch == "ctrnn" else 1.0
    torch.testing.assert_close(noisy(inputs, input_noise=zeta)[1], clean(inputs + scale * sigma * zeta)[1])


def test_gradients_reach_every_trainable_parameter(arch: str, inputs: torch.Tensor) -> None:
    model = build(arch)
    model(inputs)[1].square().mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_double_precision(arch: str, inputs: torch.Tensor) -> None:
    model = build(arch).double().eval()
    states, logits = model(inputs.double())
    assert states.dtype == logits.dtype == torch.float64


def test_wrong_input_width_names_expected_and_received(arch: str) -> None:
    with pytest.raises(ValueError, match=r"inputs must have shape \(batch, time, n_inputs=3\); got shape \(2, 5, 4\)"):
        build(arch)(torch.zeros(2, 5, 4))


def test_inputs_must_be_three_dimensional(arch: str) -> None:
    with pytest.raises(ValueError, match=r"inputs must have shape .*; got shape \(5, 3\)"):
        build(arch)(torch.zeros(5, 3))


def test_non_finite_inputs_rejected(arch: str) -> None:
    x = torch.zeros(2, 5, 3)
    x[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match=r"inputs must be finite; got 1 non-finite values, the first at index \(1, 2, 0\)"):
        build(arch)(x)


def test_empty_inputs_rejected(arch: str) -> None:
    with pytest.raises(ValueError, match="inputs must have at least one trial and one time step"):
        build(arch)(torch.zeros(2, 0, 3))


def test_inputs_must_be_a_tensor(arch: str) -> None:
    with pytest.raises(TypeError, match="inputs must be a torch.Tensor"):
        build(arch)([[[0.0, 0.0, 0.0]]])


def test_complex_inputs_rejected(arch: str) -> None:
    with pytest.raises(TypeError, match="inputs must be a real tensor; got dtype torch.complex64"):
        build(arch)(torch.zeros(1, 2, 3, dtype=torch.complex64))


def test_generator_type_checked(arch: str, inputs: torch.Tensor) -> None:
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None; got int"):
        build(arch)(inputs, generator=0)


def test_noise_draws_shape_checked(arch: str, inputs: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"input_noise must have shape \(batch=4, time=6, 3\); got shape \(4, 5, 3\)"):
        build(arch, input_noise=0.1)(inputs, input_noise=torch.zeros(4, 5, 3))


def test_common_arguments_validated(arch: str) -> None:
    with pytest.raises(ValueError, match="n_units must be an integer >= 1; got 0"):
        build(arch, n_units=0)
    with pytest.raises(ValueError, match="input_noise must be >= 0.0; got -0.1"):
        build(arch, input_noise=-0.1)
    with pytest.raises(ValueError, match=r"readout must be one of \['sigmoid', 'tanh', 'linear'\]; got 'softmax'"):
        build(arch, readout="softmax")
    with pytest.raises(ValueError, match="bound must be > 0.0; got 0.0"):
        build(arch, bound=0.0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0; got -1"):
        build(arch, seed=-1)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9])
def test_dropout_keeps_each_entry_with_probability_one_minus_p(p: float) -> None:
    from neurodis.models.base import dropout_keep

    n = 400_000
    keep = dropout_keep((n,), p, _gen(3)).double()
    # the binomial mean within 5 standard deviations; the two halves of each 64-bit draw
    # (entries 2i, 2i + 1) and neighbouring draws are uncorrelated to the same precision
    bound = 5 * math.sqrt(p * (1 - p) / n) + 1e-12
    assert abs(keep.mean().item() - (1 - p)) <= bound
    if 0 < p:
        for a, b in ((keep[0::2], keep[1::2]), (keep[:-2], keep[2:])):
            covariance = ((a - a.mean()) * (b - b.mean())).mean().item()
            assert abs(covariance) <= 5 * p * (1 - p) / math.sqrt(len(a))
    assert torch.equal(dropout_keep((7, 5), p, _gen(4)), dropout_keep((7, 5), p, _gen(4)))
