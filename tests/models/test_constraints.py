"""Biological constraints of the CTRNN (Dale's law, masks, autapses, frozen groups):
effective weights against an independent numpy construction, forward, Jacobian, the
Numba simulator, fixed points, configs and save/load, and every bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodis.experiments import find_fixed_points
from neurodis.models import CTRNN, load_model, save_model
from neurodis.simulator import simulate_arrays

N_IN, N_OUT, N = 3, 2, 8
RNG = np.random.default_rng(0)
INPUT_MASK = (RNG.random((N, N_IN)) < 0.7).astype(int)
RECURRENT_MASK = (RNG.random((N, N)) < 0.6).astype(int)
OUTPUT_MASK = np.array([[1] * N, [0, 1] * (N // 2)])
FULL = {"dale_ratio": 0.75, "input_mask": INPUT_MASK, "recurrent_mask": RECURRENT_MASK,
        "output_mask": OUTPUT_MASK, "autapses": False}


def _net(**options) -> CTRNN:
    return CTRNN(N_IN, N_OUT, n_units=N, seed=3, **options)


def numpy_effective(net: CTRNN, ratio: float | None, masks: dict, autapses: bool) -> dict[str, np.ndarray]:
    """The effective weights written from the documented convention, in numpy."""
    raw = {"weight_ih": net.weight_ih, "weight_hh": net.weight_hh, "readout_weight": net.readout.linear.weight}
    w = {k: v.detach().double().numpy() for k, v in raw.items()}
    ones = {"weight_ih": np.ones((N, N_IN)), "weight_hh": np.ones((N, N)), "readout_weight": np.ones((N_OUT, N))}
    m = {"weight_ih": masks.get("input_mask"), "weight_hh": masks.get("recurrent_mask"),
         "readout_weight": masks.get("output_mask")}
    m = {k: ones[k] if v is None else np.asarray(v, dtype=float) for k, v in m.items()}
    if not autapses:
        np.fill_diagonal(m["weight_hh"], 0.0)
    if ratio is None:
        return {k: w[k] * m[k] for k in w}
    n_e = math.floor(ratio * N + 0.5)
    sign = np.array([1.0] * n_e + [-1.0] * (N - n_e))
    return {"weight_ih": np.abs(w["weight_ih"]) * m["weight_ih"],
            "weight_hh": np.abs(w["weight_hh"]) * m["weight_hh"] * sign[None, :],
            "readout_weight": w["readout_weight"] * m["readout_weight"] * (sign > 0)[None, :]}


def _numpy_forward(eff: dict[str, np.ndarray], net: CTRNN, u: np.ndarray) -> np.ndarray:
    """α = 1 ReLU rates of the documented equations, one trial at a time."""
    b = net.bias.detach().double().numpy()
    rates = np.zeros(u.shape[:2] + (N,))
    for trial in range(u.shape[0]):
        r = np.zeros(N)
        for t in range(u.shape[1]):
            r = np.maximum(eff["weight_ih"] @ u[trial, t] + eff["weight_hh"] @ r + b, 0.0)
            rates[trial, t] = r
    return rates


@pytest.mark.parametrize(("ratio", "masks", "autapses"), [
    (0.75, {}, True),
    (None, {"input_mask": INPUT_MASK, "recurrent_mask": RECURRENT_MASK, "output_mask": OUTPUT_MASK}, True),
    (None, {}, False),
    (0.5, {"recurrent_mask": RECURRENT_MASK, "output_mask": OUTPUT_MASK}, False),
], ids=["dale", "masks", "no-autapses", "all"])
def test_effective_weights_and_forward_follow_the_documented_convention(ratio, masks, autapses) -> None:
    net = _net(dale_ratio=ratio, autapses=autapses, **masks).double()
    # move the free parameters off their initial values (any signs) so |·| matters
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=p.dtype))
    expected = numpy_effective(net, ratio, masks, autapses)
    for key, value in net.effective_weights().items():
        np.testing.assert_array_equal(value.detach().numpy(), expected[key])
    u = np.random.default_rng(1).normal(size=(2, 5, N_IN))
    rates, logits = net(torch.tensor(u))
    np.testing.assert_allclose(rates.detach().numpy(), _numpy_forward(expected, net, u), rtol=0, atol=1e-12)
    readout = rates.detach().numpy() @ expected["readout_weight"].T + net.readout.linear.bias.detach().numpy()
    np.testing.assert_allclose(logits.detach().numpy(), readout, rtol=0, atol=1e-12)


def test_dale_units_and_signs() -> None:
    net = _net(dale_ratio=0.8)  # 6.4 rounds to 6 excitatory units
    assert net.n_excitatory == 6 and net.unit_signs.tolist() == [1.0] * 6 + [-1.0] * 2
    w = {key: value.detach() for key, value in net.effective_weights().items()}
    assert bool((w["weight_hh"][:, :6] >= 0).all() and (w["weight_hh"][:, 6:] <= 0).all())
    assert bool((w["weight_ih"] >= 0).all())
    # only E units reach the readout, with weights of either sign (a downstream decoder)
    assert float(w["readout_weight"][:, 6:].abs().max()) == 0.0
    assert bool((w["readout_weight"][:, :6] < 0).any() and (w["readout_weight"][:, :6] > 0).any())
    assert _net().unit_signs is None and _net().n_excitatory is None


def test_dale_init_of_a_network_without_recurrent_connections_stays_zero() -> None:
    # nothing to balance and a spectral radius of 0: the init must not divide by zero
    net = _net(dale_ratio=0.75, recurrent_mask=np.zeros((N, N)))
    assert float(net.effective_weights()["weight_hh"].detach().abs().max()) == 0.0
    assert bool(torch.isfinite(net.weight_hh).all())


def test_dale_init_keeps_the_draw_and_its_spectral_radius_and_balances_e_and_i() -> None:
    free, dale = _net(recurrent_mask=RECURRENT_MASK), _net(dale_ratio=0.75, recurrent_mask=RECURRENT_MASK)
    # the same draws: every other parameter is bit-identical to the unconstrained network's
    for name in ("weight_ih", "bias", "readout.linear.weight", "readout.linear.bias"):
        assert torch.equal(free.get_parameter(name), dale.get_parameter(name))
    draw = free.weight_hh.detach().double().numpy()
    eff = dale.effective_weights()["weight_hh"].detach().double().numpy()
    radius = np.abs(np.linalg.eigvals(draw * RECURRENT_MASK)).max()
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(eff)).max(), radius, rtol=1e-5)
    # |W_eff| = c·|draw| on E columns and c·s·|draw| on I columns, s = (E links)/(I links)
    allowed = RECURRENT_MASK.astype(bool)
    scale = np.abs(eff)[allowed] / np.abs(draw)[allowed]
    excitatory = np.broadcast_to(np.arange(N) < 6, (N, N))[allowed]
    s = RECURRENT_MASK[:, :6].sum() / RECURRENT_MASK[:, 6:].sum()
    np.testing.assert_allclose(scale[~excitatory], s * scale[excitatory][0], rtol=1e-5)
    np.testing.assert_allclose(scale[excitatory], scale[excitatory][0], rtol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("leaky", [True, False])
def test_analytic_jacobian_equals_autograd_with_constraints(activation: str, leaky: bool) -> None:
    net = CTRNN(N_IN, N_OUT, n_units=N, seed=1, dt=40.0, activation=activation, leaky=leaky, **FULL).double()
    generator = torch.Generator().manual_seed(2)
    state = torch.rand(N, generator=generator, dtype=torch.float64)
    u = torch.rand(N_IN, generator=generator, dtype=torch.float64)
    numeric = torch.autograd.functional.jacobian(lambda h: net.step(h, u), state)
    torch.testing.assert_close(net.jacobian(state, u), numeric, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_simulator_runs_the_effective_weights(dtype, tol: float) -> None:
    net = CTRNN(N_IN, N_OUT, n_units=N, seed=4, dt=50.0, **FULL)
    net = net.double() if dtype == np.float64 else net
    inputs = np.random.default_rng(5).normal(size=(4, 9, N_IN))
    with torch.no_grad():
        rates, logits = net(torch.tensor(inputs, dtype=net.weight_hh.dtype))
    result = simulate_arrays(net, inputs, dtype=dtype)
    assert np.abs(result.rates - rates.numpy()).max() <= tol
    assert np.abs(result.logits - logits.numpy()).max() <= tol


def test_fixed_points_use_the_effective_weights() -> None:
    # a linear leaky network has one fixed point, h* = (I - W)⁻¹ (W_in u + b)
    net = CTRNN(N_IN, N_OUT, n_units=N, seed=6, activation="linear", dt=50.0, gain=0.5, **FULL)
    u = np.array([0.3, -0.2, 0.5])
    eff = {k: v.detach().double().numpy() for k, v in net.effective_weights().items()}
    expected = np.linalg.solve(np.eye(N) - eff["weight_hh"], eff["weight_ih"] @ u + net.bias.detach().double().numpy())
    found = find_fixed_points(net, u, initial_states=np.random.default_rng(0).uniform(0, 1, (4, N)))
    np.testing.assert_allclose(found["states"].values, np.broadcast_to(expected, found["states"].shape), atol=1e-9)
    jacobian = 0.5 * np.eye(N) + 0.5 * eff["weight_hh"]
    np.testing.assert_allclose(np.sort(np.abs(found["eigenvalues_real"].values[0] + 1j * found["eigenvalues_imag"]
                                              .values[0])), np.sort(np.abs(np.linalg.eigvals(jacobian))), atol=1e-9)


def test_relu_fixed_points_of_a_dale_network_are_fixed_under_its_step() -> None:
    net = CTRNN(N_IN, N_OUT, n_units=N, seed=7, **FULL)
    found = find_fixed_points(net, np.ones(N_IN), initial_states=np.random.default_rng(1).uniform(0, 1, (8, N)))
    exact = found.where(found["kind"] == "exact", drop=True)
    assert exact.sizes["fixed_point"] >= 1
    h = torch.tensor(exact["states"].values)
    with torch.no_grad():
        residual = net.double().step(h, torch.ones(N_IN, dtype=torch.float64)) - h
    assert float(residual.abs().max()) < 1e-8


def test_frozen_groups_need_no_grad() -> None:
    net = _net(freeze=("readout", "input", "input"))
    frozen = {name for name, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {"weight_ih", "readout.linear.weight", "readout.linear.bias"}
    assert net.frozen == ("input", "readout") and net.config["freeze"] == ["input", "readout"]
    assert all(p.requires_grad for p in _net().parameters())


def test_defaults_stay_out_of_the_config_and_constraints_round_trip(tmp_path) -> None:
    plain = _net()
    assert not {"dale_ratio", "input_mask", "recurrent_mask", "output_mask", "autapses", "freeze"} & set(plain.config)
    assert not plain.constrained and plain.effective_weights()["weight_hh"] is plain.weight_hh
    net = _net(**FULL, freeze=["bias"])
    assert net.config["recurrent_mask"] == RECURRENT_MASK.tolist() and net.config["autapses"] is False
    rebuilt = CTRNN(**net.config)
    loaded = load_model(save_model(net, tmp_path))
    u = torch.randn(2, 4, N_IN, generator=torch.Generator().manual_seed(0))
    for copy in (rebuilt, loaded):
        assert copy.config == net.config and not copy.bias.requires_grad
        for key, value in net.effective_weights().items():
            assert torch.equal(copy.effective_weights()[key], value)
        assert torch.equal(copy(u)[1], net(u)[1])
    assert "<8×8 mask" in repr(net)


def test_masked_connections_get_no_gradient() -> None:
    net = _net(**FULL)
    rates, logits = net(torch.randn(3, 5, N_IN, generator=torch.Generator().manual_seed(0)))
    (logits.sum() + rates.sum()).backward()
    hh_absent = torch.tensor(RECURRENT_MASK * (1 - np.eye(N, dtype=int))) == 0
    assert float(net.weight_hh.grad[hh_absent].abs().max()) == 0.0
    assert float(net.weight_ih.grad[torch.tensor(INPUT_MASK) == 0].abs().max()) == 0.0
    assert float(net.readout.linear.weight.grad[:, 6:].abs().max()) == 0.0  # inhibitory units
    assert float(net.readout.linear.weight.grad[torch.tensor(OUTPUT_MASK) == 0].abs().max()) == 0.0


@pytest.mark.parametrize(("options", "error", "match"), [
    ({"dale_ratio": 0.0}, ValueError, r"dale_ratio must be in \(0, 1\) .*; got 0.0"),
    ({"dale_ratio": 1.0}, ValueError, r"dale_ratio must be in \(0, 1\) .*; got 1.0"),
    ({"dale_ratio": -0.5}, ValueError, r"dale_ratio must be in \(0, 1\)"),
    ({"dale_ratio": 0.02}, ValueError,
     "at least one excitatory and one inhibitory unit of n_units=8; got 0.02, which makes 0 excitatory"),
    ({"dale_ratio": "0.8"}, TypeError, "dale_ratio must be a real number"),
    ({"recurrent_mask": np.ones((N, N + 1))}, ValueError,
     r"recurrent_mask must have shape \(n_units, n_units\) = \(8, 8\); got array of shape \(8, 9\)"),
    ({"input_mask": np.ones(N_IN)}, ValueError, r"input_mask must have shape \(n_units, n_inputs\) = \(8, 3\)"),
    ({"output_mask": np.full((N_OUT, N), 2)}, ValueError,
     "output_mask must hold only 0 .absent. and 1 .present connection.; got 16 other values, the first 2"),
    ({"recurrent_mask": np.full((N, N), 0.5)}, ValueError, "recurrent_mask must hold only 0"),
    ({"input_mask": np.full((N, N_IN), np.nan)}, ValueError, "input_mask must be finite"),
    ({"input_mask": [["a"] * N_IN] * N}, TypeError, "input_mask must be a numeric array"),
    ({"autapses": 0}, TypeError, "autapses must be a bool; got int 0"),
    ({"freeze": "input"}, TypeError, r"freeze must be a list or tuple of group names from \['input', "),
    ({"freeze": ["weights"]}, ValueError, r"freeze must name groups from \[.*\]; got 'weights'"),
], ids=["dale-0", "dale-1", "dale-negative", "dale-no-excitatory", "dale-str", "recurrent-shape", "input-ndim",
        "output-values", "recurrent-fraction", "input-nan", "input-str", "autapses-int", "freeze-str",
        "freeze-unknown"])
def test_bad_constraints_are_refused(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        _net(**options)
