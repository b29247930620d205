"""CTRNN: known answers against independent numpy references and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodis.models import CTRNN

N_IN, N_OUT, N = 3, 2, 6

NUMPY_F = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "softplus": lambda x: np.log1p(np.exp(x)),
    "linear": lambda x: x,
}


def reference(net: CTRNN, u, xi=None, zeta=None, r0=None) -> np.ndarray:
    """Slow float64 numpy loop of the documented equations, one trial at a time."""
    w_ih, w_hh, b = (p.detach().double().numpy() for p in (net.weight_ih, net.weight_hh, net.bias))
    a, f, scale = net.alpha, NUMPY_F[net.activation], math.sqrt(2.0 / net.alpha)
    u = np.asarray(u, dtype=float)
    out = np.zeros(u.shape[:2] + (net.n_units,))
    for trial in range(u.shape[0]):
        r = np.zeros(net.n_units) if r0 is None else np.asarray(r0[trial], dtype=float)
        for t in range(u.shape[1]):
            ut = u[trial, t] + (0.0 if zeta is None else scale * net.input_noise * zeta[trial, t])
            pre = w_ih @ ut + w_hh @ r + b
            if xi is not None:
                pre = pre + scale * net.recurrent_noise * xi[trial, t]
            r = ((1 - a) * r if net.leaky else r) + a * f(pre)
            out[trial, t] = r
    return out


def _net(**kwargs) -> CTRNN:
    return CTRNN(N_IN, N_OUT, n_units=N, **kwargs).double()


def _u(batch: int = 3, steps: int = 7, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, steps, N_IN, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_alpha_one_relu_equals_numpy_loop() -> None:
    net, u = _net(tau=100.0, dt=100.0), _u()
    states, logits = net(u)
    np.testing.assert_allclose(states.detach().numpy(), reference(net, u.numpy()), rtol=0, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus", "linear"])
@pytest.mark.parametrize("leaky", [True, False])
def test_forward_equals_numpy_reference(activation: str, leaky: bool) -> None:
    net, u = _net(tau=100.0, dt=30.0, activation=activation, leaky=leaky, gain=0.5), _u()
    np.testing.assert_allclose(net(u)[0].detach().numpy(), reference(net, u.numpy()), rtol=0, atol=1e-12)


def test_leaky_linear_network_matches_closed_form() -> None:
    """r_t = Σ_{s≤t} A^{t-s} α (W_in u_s + b) with A = (1-α) I + α W, for α = 0.5."""
    net, u = _net(tau=100.0, dt=50.0, activation="linear"), _u(batch=2, steps=6)
    w_ih, w_hh, b = (p.detach().numpy() for p in (net.weight_ih, net.weight_hh, net.bias))
    a = 0.5
    transition = (1 - a) * np.eye(N) + a * w_hh
    drive = a * (u.numpy() @ w_ih.T + b)  # (trial, time, unit)
    expected = np.stack(
        [sum(np.linalg.matrix_power(transition, t - s) @ drive[:, s].T for s in range(t + 1)).T for t in range(6)],
        axis=1,
    )
    np.testing.assert_allclose(net(u)[0].detach().numpy(), expected, rtol=0, atol=1e-12)


def test_given_noise_follows_euler_maruyama_scaling() -> None:
    net = _net(tau=100.0, dt=25.0, activation="tanh", recurrent_noise=0.3, input_noise=0.2)
    u, g = _u(), torch.Generator().manual_seed(4)
    xi = torch.randn(3, 7, N, generator=g, dtype=torch.float64)
    zeta = torch.randn(3, 7, N_IN, generator=g, dtype=torch.float64)
    states = net(u, recurrent_noise=xi, input_noise=zeta)[0]
    expected = reference(net, u.numpy(), xi=xi.numpy(), zeta=zeta.numpy())
    np.testing.assert_allclose(states.detach().numpy(), expected, rtol=0, atol=1e-12)


def test_noise_draws_are_independent_per_trial() -> None:
    net = _net(recurrent_noise=0.1)
    u = _u(batch=1).expand(2, -1, -1)
    states = net(u, generator=torch.Generator().manual_seed(0))[0]
    assert not torch.allclose(states[0], states[1])


def test_shared_noise_draw_reproduces_batch_shared_noise() -> None:
    """The paper's convention (one draw for the whole batch) via an expanded ξ."""
    net = _net(recurrent_noise=0.1)
    u = _u(batch=1).expand(3, -1, -1)
    xi = torch.randn(1, 7, N, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).expand(3, -1, -1)
    states = net(u, recurrent_noise=xi)[0]
    assert torch.equal(states[0], states[1]) and torch.equal(states[0], states[2])


def test_noise_with_zero_level_has_no_effect() -> None:
    net, u = _net(), _u()
    xi = torch.ones(3, 7, N, dtype=torch.float64)
    assert torch.equal(net(u, recurrent_noise=xi)[0], net(u)[0])


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.1])
def test_stationary_noise_variance_monte_carlo(alpha: float) -> None:
    """Linear network with W = 0, no input: Var r_∞ = σ² · 2/(2-α) (independent of dt as α → 0)."""
    sigma, n_trials, steps = 0.5, 4000, int(12 / alpha)
    net = CTRNN(1, 1, n_units=8, tau=100.0, dt=100.0 * alpha, activation="linear", recurrent_noise=sigma)
    with torch.no_grad():
        for parameter in (net.weight_hh, net.weight_ih, net.bias):
            parameter.zero_()
        final = net(torch.zeros(n_trials, steps, 1), generator=torch.Generator().manual_seed(1))[0][:, -1]
    samples = final.double().numpy().ravel()  # 32,000 independent draws (units and trials)
    expected = sigma**2 * 2 / (2 - alpha)
    # standard error of a Gaussian sample variance: var · sqrt(2/(n-1)); allow 5 of them
    assert abs(samples.var() - expected) < 5 * expected * math.sqrt(2 / (samples.size - 1))


def test_initial_state_shared_or_per_trial() -> None:
    net, u = _net(tau=100.0, dt=40.0), _u()
    r0 = torch.randn(3, N, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    np.testing.assert_allclose(net(u, initial_state=r0)[0].detach().numpy(), reference(net, u.numpy(), r0=r0.numpy()), atol=1e-12)
    shared = net(u, initial_state=r0[0])[0]
    assert torch.equal(shared, net(u, initial_state=r0[0].expand(3, N))[0])


def test_initial_state_shape_checked() -> None:
    with pytest.raises(ValueError, match=r"initial_state must have shape \(batch=3, n_units=6\) or \(6,\); got shape \(2, 6\)"):
        _net()(_u(), initial_state=torch.zeros(2, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"initial_state must have shape \(n_units=6,\); got shape \(5,\)"):
        _net()(_u(), initial_state=torch.zeros(5, dtype=torch.float64))


def test_step_equals_one_forward_step() -> None:
    net = _net(tau=100.0, dt=20.0, activation="softplus", leaky=False)
    r0, u = torch.randn(3, N, dtype=torch.float64), _u(steps=1)
    torch.testing.assert_close(net.step(r0, u[:, 0]), net(u, initial_state=r0)[0][:, 0], rtol=0, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus", "linear"])
@pytest.mark.parametrize("leaky", [True, False])
def test_jacobian_matches_autograd(activation: str, leaky: bool) -> None:
    net = _net(tau=100.0, dt=30.0, activation=activation, leaky=leaky)
    g = torch.Generator().manual_seed(3)
    r, u = torch.randn(N, dtype=torch.float64, generator=g), torch.randn(N_IN, dtype=torch.float64, generator=g)
    expected = torch.autograd.functional.jacobian(lambda s: net.step(s, u), r)
    torch.testing.assert_close(net.jacobian(r, u), expected, rtol=0, atol=1e-12)


def test_jacobian_batched() -> None:
    net = _net(activation="tanh", dt=50.0)
    r, u = torch.randn(4, N, dtype=torch.float64), torch.randn(N_IN, dtype=torch.float64)
    batched = net.jacobian(r, u)
    assert batched.shape == (4, N, N)
    torch.testing.assert_close(batched[2], net.jacobian(r[2], u))


def test_step_and_jacobian_check_widths() -> None:
    net = _net()
    with pytest.raises(ValueError, match=r"state must have shape \(..., n_units=6\); got shape \(5,\)"):
        net.step(torch.zeros(5), torch.zeros(3))
    with pytest.raises(ValueError, match=r"input must have shape \(..., n_inputs=3\); got shape \(2,\)"):
        net.jacobian(torch.zeros(6), torch.zeros(2))
    with pytest.raises(TypeError, match=r"state must be a torch.Tensor of shape \(..., n_units=6\); got ndarray"):
        net.step(np.zeros(6), torch.zeros(3))


def test_orthogonal_init() -> None:
    w = CTRNN(N_IN, N_OUT, n_units=10, init="orthogonal", gain=1.5).weight_hh.detach().double()
    torch.testing.assert_close(w @ w.T, 2.25 * torch.eye(10, dtype=torch.float64), rtol=0, atol=1e-5)


def test_sparse_init_density_and_scale() -> None:
    n, density = 200, 0.1
    w = CTRNN(N_IN, N_OUT, n_units=n, init="sparse", density=density, gain=2.0).weight_hh.detach().double()
    k = round(density * n)
    assert ((w != 0).sum(dim=1) == k).all()
    # nonzeros are N(0, gain²/k): the mean row sum of squares is gain² (n rows of k draws)
    row_power = (w**2).sum(dim=1).mean().item()
    assert abs(row_power - 4.0) < 5 * 4.0 * math.sqrt(2 / (n * k))


def test_default_init_is_pytorch_uniform() -> None:
    net = CTRNN(N_IN, N_OUT, n_units=50, gain=2.0)
    assert net.weight_hh.abs().max() <= 2.0 / math.sqrt(50)
    assert net.weight_ih.abs().max() <= 1.0 / math.sqrt(N_IN)
    assert net.bias.abs().max() <= 1.0 / math.sqrt(N_IN) + 1.0 / math.sqrt(50)
    # U(-b, b) has variance b²/3
    var = net.weight_hh.detach().double().var().item()
    assert abs(var - 4.0 / 50 / 3) < 5 * (4.0 / 150) * math.sqrt(2 / 2500)


def test_alpha_above_one_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"alpha = dt/tau must be in \(0, 1\]; got dt=200.0 and tau=100.0 \(alpha=2.0\)"):
        CTRNN(1, 1, tau=100.0, dt=200.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tau": 0.0}, ValueError, "tau must be > 0.0; got 0.0"),
        ({"dt": -1.0}, ValueError, "dt must be > 0.0; got -1.0"),
        ({"activation": "sigmoid"}, ValueError, r"activation must be one of \['relu', 'tanh', 'softplus', 'linear'\]; got 'sigmoid'"),
        ({"init": "xavier"}, ValueError, r"init must be one of \['default', 'sparse', 'orthogonal'\]; got 'xavier'"),
        ({"density": 0.0}, ValueError, r"density must be in \(0, 1\]; got 0.0"),
        ({"density": 1.5}, ValueError, "density must be <= 1.0; got 1.5"),
        ({"gain": 0.0}, ValueError, "gain must be > 0.0; got 0.0"),
        ({"leaky": 1}, TypeError, "leaky must be a bool; got int 1"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        CTRNN(1, 1, **kwargs)
