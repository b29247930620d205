"""Known-answer tests of the fixed-point finder: closed-form linear and ReLU networks, a
line attractor, analytic slow points, a trained 3-bit flip-flop, and bad input."""

import copy

import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

from neurodis.analysis import slow_mode_counts
from neurodis.experiments import find_fixed_points, zero_evidence_input
from neurodis.experiments._fixed_point_solvers import cluster
from neurodis.models import CTRNN, LSTM, CausalTransformer
from neurodis.tasks import Encoder, make_task
from neurodis.trials import load_dataset, save_dataset


def _set_weights(net, w_hh, w_ih, bias):
    with torch.no_grad():
        net.weight_hh.copy_(torch.as_tensor(w_hh))
        net.weight_ih.copy_(torch.as_tensor(w_ih))
        net.bias.copy_(torch.as_tensor(bias))
    return net


def _weights64(net):
    return [p.detach().double().numpy() for p in (net.weight_hh, net.weight_ih, net.bias)]


def _contracting_linear(rng, n=6, alpha=0.5, leaky=True):
    """A linear CTRNN whose recurrent matrix has spectral radius 0.8."""
    net = CTRNN(2, 1, n_units=n, activation="linear", dt=alpha * 100.0, leaky=leaky, seed=1)
    w = rng.normal(size=(n, n))
    w *= 0.8 / np.max(np.abs(np.linalg.eigvals(w)))
    return _set_weights(net, w, rng.normal(size=(n, 2)), rng.normal(size=n))


# ------------------------------------------------------------------ linear networks
def test_linear_leaky_network_has_the_closed_form_fixed_point_and_spectrum(rng):
    net = _contracting_linear(rng)
    u = np.array([0.3, -1.2])
    ds = find_fixed_points(net, u, states=rng.normal(size=(50, 6)), n_inits=20, jitter=1.0, rng=0)
    w, w_in, b = _weights64(net)
    expected = np.linalg.solve(np.eye(6) - w, w_in @ u + b)  # h = (1-α)h + α(Wh + c)
    assert ds.sizes["fixed_point"] == 1
    assert int(ds["cluster_size"][0]) == 20
    assert str(ds["kind"].values[0]) == "exact"
    np.testing.assert_allclose(ds["states"][0], expected, rtol=1e-12, atol=1e-12)
    assert float(ds["q"][0]) < 1e-28
    mu = np.linalg.eigvals(0.5 * np.eye(6) + 0.5 * w)  # map spectrum (1-α)I + αW
    mu = mu[np.lexsort((-mu.imag, -np.abs(mu)))]
    found = ds["eigenvalues_real"][0].values + 1j * ds["eigenvalues_imag"][0].values
    np.testing.assert_allclose(found, mu, atol=1e-12)
    lam = ds["lambda_real"][0].values + 1j * ds["lambda_imag"][0].values
    np.testing.assert_allclose(np.sort_complex(lam), np.sort_complex(np.linalg.eigvals(w - np.eye(6))), atol=1e-12)
    np.testing.assert_allclose(ds["amplification"][0], 0.5 / np.abs(np.log(np.abs(mu))), rtol=1e-10)
    assert bool(ds["stable_discrete"][0]) and bool(ds["stable_continuous"][0])
    # every stored column is a unit eigenvector of the map's Jacobian
    v = ds["eigenvectors_real"][0].values + 1j * ds["eigenvectors_imag"][0].values
    jac = 0.5 * np.eye(6) + 0.5 * w
    np.testing.assert_allclose(jac @ v, v * found, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(v, axis=0), 1.0, rtol=1e-12)


def test_linear_non_leaky_network_and_adam_reach_the_same_point(rng):
    net = _contracting_linear(rng, alpha=0.2, leaky=False)
    u = np.array([1.0, 0.5])
    w, w_in, b = _weights64(net)
    expected = -np.linalg.solve(w, w_in @ u + b)  # h = h + α(Wh + c)  ⇔  Wh = -c
    # Adam (then Newton) from near the point: Adam alone creeps at ~lr per step
    starts = expected + 0.1 * rng.normal(size=(5, 6))
    for method, max_iter in (("lm", 100), ("adam", 300)):
        ds = find_fixed_points(net, u, initial_states=starts, method=method, max_iter=max_iter)
        assert ds.sizes["fixed_point"] == 1, method
        np.testing.assert_allclose(ds["states"][0], expected, rtol=1e-10, atol=1e-10)
        assert str(ds["kind"].values[0]) == "exact"
        assert ds.attrs["method"] == method


def test_relu_network_with_a_planted_fixed_point(rng):
    n, alpha = 8, 0.25
    h_star = np.where(np.arange(n) % 2 == 0, rng.uniform(0.5, 2.0, n), 0.0)
    w = rng.normal(size=(n, n))
    w *= 0.7 / np.linalg.norm(w, 2)  # ‖W‖ < 1: relu(Wh + c) is a contraction, one fixed point
    pre_star = np.where(h_star > 0, h_star, -1.0)
    c = pre_star - w @ h_star
    net = _set_weights(CTRNN(1, 2, n_units=n, activation="relu", dt=alpha * 100.0), w, np.zeros((n, 1)), c)
    ds = find_fixed_points(net, [0.0], initial_states=rng.normal(scale=3.0, size=(40, n)))
    assert ds.sizes["fixed_point"] == 1
    np.testing.assert_allclose(ds["states"][0], h_star, atol=1e-12)
    assert str(ds["kind"].values[0]) == "exact"
    jac = (1 - alpha) * np.eye(n) + alpha * (h_star > 0)[:, None] * w
    mu = np.linalg.eigvals(jac)
    found = ds["eigenvalues_real"][0].values + 1j * ds["eigenvalues_imag"][0].values
    np.testing.assert_allclose(np.sort(np.abs(found)), np.sort(np.abs(mu)), atol=1e-12)
    # the readout at the point is computed like the model's
    readout = net.readout.linear
    expected = 1 / (1 + np.exp(-(readout.weight.detach().double().numpy() @ h_star
                                 + readout.bias.detach().double().numpy())))
    np.testing.assert_allclose(ds["outputs"][0], expected, rtol=1e-6)


def test_line_attractor_points_lie_on_the_line_with_one_unit_mode(rng):
    n, alpha = 5, 0.5
    q_mat, _ = np.linalg.qr(rng.normal(size=(n, n)))
    w = q_mat @ np.diag([1.0, 0.6, 0.3, -0.2, -0.5]) @ q_mat.T  # one eigenvalue exactly 1
    direction, h_p = q_mat[:, 0], rng.normal(size=n)
    c = (np.eye(n) - w) @ h_p  # consistent: the fixed points are h_p + t·direction
    # float64 weights: float32 rounding would move the unit eigenvalue by ~1e-7 (no exact line)
    net = CTRNN(1, 1, n_units=n, activation="linear", dt=alpha * 100.0).double()
    _set_weights(net, w, np.zeros((n, 1)), c)
    starts = h_p + np.linspace(-3, 3, 30)[:, None] * direction + 0.3 * rng.normal(size=(30, n))
    ds = find_fixed_points(net, [0.0], initial_states=starts, dedup_tol=1e-6)
    points = ds["states"].values
    offsets = (points - h_p) @ direction
    off_line = points - h_p - offsets[:, None] * direction
    assert np.max(np.linalg.norm(off_line, axis=1)) < 1e-9
    assert ds.sizes["fixed_point"] > 10  # a line of distinct points, not one
    assert np.ptp(offsets) > 2.0
    assert set(ds["kind"].values) == {"exact"}
    modulus = np.hypot(ds["eigenvalues_real"], ds["eigenvalues_imag"]).values
    np.testing.assert_allclose(modulus[:, 0], 1.0, atol=1e-12)
    assert np.all(modulus[:, 1] < 0.9)
    assert np.all(ds["amplification"].values[:, 0] > 1e9)
    assert not ds["stable_discrete"].values.any()
    # one-step map μ = 1 - α + α·λ(W): 1, 0.8, 0.65, 0.4, 0.25 -> one mode within 0.05 of 1
    assert slow_mode_counts(ds).values.tolist() == [1] * ds.sizes["fixed_point"]
    assert (slow_mode_counts(ds, tol=0.21) == 2).all()
    with pytest.raises(ValueError, match=r"tol must be .*got 0.0"):
        slow_mode_counts(ds, tol=0.0)
    with pytest.raises(ValueError, match=r"found must hold the spectra of find_fixed_points; missing"):
        slow_mode_counts(ds.drop_vars("eigenvalues_imag"))


def test_relu_slow_point_on_a_kink_is_reached_along_the_kink():
    # F(h) = relu(W h + c), α = 1: r₁ = relu(2h₁ + 1) − h₁ has no root and |r₁| is least (0.5) at the
    # kink h₁ = −½; r₂ = relu(½h₁ + ½h₂ + 1) − h₂ vanishes at h₂ = h₁ + 2. So q has one minimum,
    # q = ⅛ at (−½, 3/2), on the kink. Starting on the kink, a step that moves h₂ also crosses
    # it (the one-sided model is wrong there): plain LM refuses every step and stalls at h₂ = 0.
    w, c = np.array([[2.0, 0.0], [0.5, 0.5]]), np.array([1.0, 1.0])
    net = _set_weights(CTRNN(1, 1, n_units=2, activation="relu", dt=100.0), w, np.zeros((2, 1)), c)
    starts = np.array([[-0.5, 0.0], [-3.0, -2.0], [2.0, 4.0], [0.3, -1.0]])
    ds = find_fixed_points(net, [0.0], initial_states=starts, dedup_tol=1e-6)
    assert ds.sizes["fixed_point"] == 1 and int(ds["cluster_size"][0]) == 4
    # q = ⅛ + ½r₂² resolves r₂ only to ~sqrt(eps·q) (q itself is at round-off): h is known to ~1e-8
    np.testing.assert_allclose(ds["states"][0], [-0.5, 1.5], atol=1e-7)
    np.testing.assert_allclose(float(ds["q"][0]), 0.125, rtol=1e-12)
    assert str(ds["kind"].values[0]) == "slow" and str(ds["stop"].values[0]) == "no_descent"


def test_basin_hopping_leaves_a_shallow_slow_point_for_the_root():
    # r(h) = (h − 3)(h² + ½)/3 has one root, h = 3, and |r| has a local minimum at
    # h* = 1 − √30/6: a slow point with q = ½ r(h*)² that a local search from −1 cannot leave
    net = _Map(lambda h, u: h + (h - 3) * (h**2 + 0.5) / 3 + u, n_units=1)
    h_star = 1 - np.sqrt(30) / 6
    local = find_fixed_points(net, [0.0], initial_states=[[-1.0]])
    np.testing.assert_allclose(local["states"][0], [h_star], atol=1e-7)  # q resolves h to ~sqrt(eps)
    np.testing.assert_allclose(float(local["q"][0]), 0.5 * ((h_star - 3) * (h_star**2 + 0.5) / 3) ** 2, rtol=1e-12)
    assert str(local["kind"].values[0]) == "slow" and int(local["hops_improved"][0]) == 0
    hopped = find_fixed_points(net, [0.0], initial_states=[[-1.0]], hops=20, hop_scale=3.0, rng=1)
    np.testing.assert_allclose(hopped["states"][0], [3.0], rtol=1e-14)
    assert str(hopped["kind"].values[0]) == "exact" and int(hopped["hops_improved"][0]) >= 1
    assert hopped.attrs["hops"] == 20


# ------------------------------------------------------------------ generic one-step maps
class _Map(nn.Module):
    """A model exposing only ``step``: F(h) = step(h, u) given elementwise by ``fn``."""

    def __init__(self, fn, n_units=2):
        super().__init__()
        self.fn, self.n_inputs, self.n_units = fn, 1, n_units
        self.scale = nn.Parameter(torch.ones(1))

    def step(self, state, input):
        return self.fn(state * self.scale, input)


class _StepOnly(nn.Module):
    """A CTRNN seen only through its ``step`` (no analytic ``jacobian``)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.n_inputs, self.n_units = inner, inner.n_inputs, inner.n_units

    def step(self, state, input):
        return self.inner.step(state, input)


def test_slow_point_of_a_map_without_fixed_points_is_kept_and_labelled():
    # F(h) = h + h² + 0.1 (per unit) never equals h; q = ½Σ(h²+0.1)² is least at h = 0
    net = _Map(lambda h, u: h + h**2 + 0.1 + u)
    ds = find_fixed_points(net, [0.0], initial_states=np.array([[1.0, -0.7], [0.4, 2.0]]), dedup_tol=1e-4)
    assert ds.sizes["fixed_point"] == 1
    np.testing.assert_allclose(ds["states"][0], 0.0, atol=1e-7)
    np.testing.assert_allclose(float(ds["q"][0]), 0.5 * 2 * 0.1**2, rtol=1e-10)
    assert str(ds["kind"].values[0]) == "slow"
    assert ds.attrs["jacobian"] == "autograd" and ds.attrs["amplification_units"] == "step"
    dropped = find_fixed_points(net, [0.0], initial_states=np.ones((3, 2)), tol_q=1e-3)
    assert dropped.sizes["fixed_point"] == 0 and dropped.attrs["n_above_tol_q"] == 3


def test_diverging_points_are_dropped_and_counted():
    # sqrt is NaN for h < 0: those starts never become finite; the others reach h = 4
    net = _Map(lambda h, u: 0.5 * h + torch.sqrt(h) + u)
    starts = np.array([[2.0, 9.0], [-1.0, 2.0], [3.0, -5.0], [6.0, 2.5]])
    ds = find_fixed_points(net, [0.0], initial_states=starts)
    assert ds.attrs["n_diverged"] == 2
    assert ds.sizes["fixed_point"] == 1 and int(ds["cluster_size"][0]) == 2
    np.testing.assert_allclose(ds["states"][0], [4.0, 4.0], rtol=1e-13)
    assert np.all(np.isfinite(ds["q"]))


def test_autograd_jacobians_match_the_analytic_ctrnn_path(rng):
    net = CTRNN(2, 1, n_units=6, activation="tanh", dt=50.0, gain=1.8, init="orthogonal", seed=3)
    u = [0.1, 0.0]
    starts = rng.normal(size=(24, 6))
    analytic = find_fixed_points(net, u, initial_states=starts)
    generic = find_fixed_points(_StepOnly(net), u, initial_states=starts)
    assert analytic.attrs["jacobian"] == "analytic" and generic.attrs["jacobian"] == "autograd"
    assert analytic.sizes["fixed_point"] == generic.sizes["fixed_point"] > 1
    # exact points have q at round-off, so their order may differ: pair each with its nearest
    a, g = analytic["states"].values, generic["states"].values
    match = np.argmin(np.linalg.norm(a[:, None] - g[None], axis=-1), axis=1)
    np.testing.assert_array_equal(np.sort(match), np.arange(len(a)))
    generic, g = generic.isel(fixed_point=match), g[match]
    np.testing.assert_array_equal(analytic["kind"].values, generic["kind"].values)
    exact = analytic["kind"].values == "exact"
    assert exact.any() and not exact.all()  # both kinds are compared
    # exact points are simple roots that Newton polishes to round-off: the paths agree to it
    np.testing.assert_allclose(a[exact], g[exact], rtol=0, atol=1e-12)
    for part in ("eigenvalues_real", "eigenvalues_imag"):
        np.testing.assert_allclose(analytic[part].values[exact], generic[part].values[exact], rtol=0, atol=1e-12)
    # a slow point is a minimum of q > 0, so it is located only to where q stops changing in
    # float64: q rises by ½ λ ‖δ‖² away from it (λ: least curvature of q there) but carries a
    # round-off of about ε ‖r‖ ‖h‖, so any point within sqrt(2 ε ‖r‖ ‖h‖ / λ) is as low, and
    # the two paths' differently rounded Jacobians stop at different ones (1.3e-8 apart of a
    # radius 7.7e-8 here). q itself, second order in the offset, agrees to round-off.
    net64 = copy.deepcopy(net).double().requires_grad_(False)
    u64 = torch.tensor(u, dtype=torch.float64)

    def q(h):
        r = net64.step(h, u64) - h
        return 0.5 * (r @ r)

    for k in np.flatnonzero(~exact):
        np.testing.assert_allclose(generic["q"].values[k], analytic["q"].values[k], rtol=1e-12)
        h = torch.from_numpy(a[k])
        curvature = float(torch.linalg.eigvalsh(torch.autograd.functional.hessian(q, h))[0])
        assert curvature > 0  # a strict minimum
        speed, size = np.sqrt(2.0 * analytic["q"].values[k]), float(h.norm())
        radius = np.sqrt(2.0 * np.finfo(float).eps * speed * size / curvature)
        assert np.linalg.norm(a[k] - g[k]) <= radius
        # the spectra differ by the offset; at the same state, the analytic Jacobian's agree
        mu = np.linalg.eigvals(net64.jacobian(torch.from_numpy(g[k]), u64).numpy())
        mu_generic = generic["eigenvalues_real"].values[k] + 1j * generic["eigenvalues_imag"].values[k]
        np.testing.assert_allclose(np.sort_complex(mu_generic), np.sort_complex(mu), rtol=0, atol=1e-12)


def test_lstm_fixed_points_of_the_combined_state_with_finite_difference_spectra(rng):
    net = LSTM(2, 1, n_units=4, seed=2)
    u = np.array([0.5, -0.5])
    ds = find_fixed_points(net, u, states=rng.normal(size=(30, 8)), n_inits=10, rng=1)
    assert ds.sizes["unit"] == 8 and ds.attrs["n_exact"] >= 1
    h = torch.tensor(ds["states"].values[0])
    model64 = LSTM(2, 1, n_units=4, seed=2).double()

    def step(x):
        return model64.step(x, torch.tensor(u)).detach().numpy()

    assert np.max(np.abs(step(h) - h.numpy())) < 1e-12
    eps = 1e-6
    jac = np.stack([(step(h + eps * e) - step(h - eps * e)) / (2 * eps) for e in torch.eye(8, dtype=torch.float64)], 1)
    found = np.abs(ds["eigenvalues_real"][0] + 1j * ds["eigenvalues_imag"][0]).values
    np.testing.assert_allclose(found, np.sort(np.abs(np.linalg.eigvals(jac)))[::-1], atol=1e-6)


# ------------------------------------------------------------------ bookkeeping
def test_the_model_is_never_changed(rng):
    net = CTRNN(2, 1, n_units=5, activation="tanh", seed=4)
    net.weight_ih.requires_grad_(False)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    flags = {k: p.requires_grad for k, p in net.named_parameters()}
    find_fixed_points(net, [0.0, 1.0], states=rng.normal(size=(10, 5)), n_inits=4, rng=0)
    find_fixed_points(net, [0.0, 1.0], states=rng.normal(size=(10, 5)), n_inits=4, method="adam", max_iter=5)
    assert {k: p.requires_grad for k, p in net.named_parameters()} == flags
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net.training and net.weight_hh.dtype == torch.float32
    assert all(p.grad is None for p in net.parameters())


def test_same_seed_same_result_and_netcdf_round_trip(rng, tmp_path):
    net = CTRNN(2, 2, n_units=6, activation="tanh", gain=2.0, init="orthogonal", seed=5)
    states = xr.DataArray(rng.normal(size=(4, 5, 6)), dims=("trial", "time", "unit"))
    first = find_fixed_points(net, [0.0, 0.0], states=states, n_inits=16, rng=7)
    second = find_fixed_points(net, [0.0, 0.0], states=states, n_inits=16, rng=7)
    xr.testing.assert_identical(first, second)
    assert first.attrs["seed"] == 7 and first.attrs["n_inits"] == 16
    assert int(first["cluster_size"].sum()) == 16 - first.attrs["n_diverged"]
    np.testing.assert_array_equal(np.diff(first["q"]) >= 0, True)  # sorted by q
    loaded = load_dataset(save_dataset(first, tmp_path / "fp.nc"))
    xr.testing.assert_allclose(loaded, first)
    assert loaded.attrs["alpha"] == 1.0


def test_cluster_keeps_lowest_q_and_covers_every_point(rng):
    points = rng.normal(size=(60, 3))
    q = rng.uniform(size=60)
    reps, sizes = cluster(points, q, 0.8)
    assert sizes.sum() == 60
    assert np.all(np.diff(q[reps]) >= 0)
    gaps = np.linalg.norm(points[reps][:, None] - points[reps][None], axis=-1)
    assert np.all(gaps[~np.eye(len(reps), dtype=bool)] > 0.8)
    # the brute-force assignment: each point goes to the first representative (by q) within tol
    nearest = np.linalg.norm(points[:, None] - points[reps][None], axis=-1) <= 0.8
    assert np.all(nearest.any(1))
    np.testing.assert_array_equal(np.bincount(np.argmax(nearest, axis=1), minlength=len(reps)), sizes)


def test_zero_evidence_input_is_fixation_and_the_encoder_offset():
    task = make_task("classification", n_tasks=2)
    encoder = Encoder(seed=3)
    u = zero_evidence_input(task, encoder)
    assert u.dims == ("input",) and u.sizes["input"] == 41
    np.testing.assert_array_equal(u.values, np.concatenate([[1.0], encoder.offset()]))
    assert list(u["input"].values[:2]) == ["fixation", "encoded_0"]
    np.testing.assert_array_equal(zero_evidence_input(make_task("flipflop")).values, [0.0, 0.0, 0.0])


# ------------------------------------------------------------------ bad input
@pytest.fixture
def small_net():
    return CTRNN(2, 1, n_units=3, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"inputs": [0.0, 0.0, 0.0]}, ValueError, r"inputs must have shape \(n_inputs=2,\); got array of shape \(3,\)"),
        ({"inputs": xr.DataArray([0.0, 0.0], dims=("time",))}, ValueError, r"inputs must have dims \('input',\)"),
        ({"initial_states": np.zeros((0, 3))}, ValueError, r"initial_states must hold at least one state; got"),
        ({"initial_states": np.zeros((2, 4))}, ValueError, r"initial_states must have shape \(\.\.\., 3\)"),
        ({"initial_states": [[0.0, np.nan, 0.0]]}, ValueError, "initial_states must be finite"),
        ({"initial_states": None, "states": xr.DataArray(np.zeros((2, 3)), dims=("trial", "neuron"))}, ValueError,
         "states must have a 'unit' dim"),
        ({"initial_states": None}, ValueError, "exactly one of initial_states .* and states"),
        ({"states": np.zeros((4, 3))}, ValueError, "exactly one of initial_states .* and states"),
        ({"exact_rtol": 0.0}, ValueError, r"exact_rtol must be > 0.0; got 0.0"),
        ({"exact_rtol": 1.0}, ValueError, r"exact_rtol must be < 1.0; got 1.0"),
        ({"dedup_tol": -1e-3}, ValueError, r"dedup_tol must be >= 0.0; got -0.001"),
        ({"tol_q": -1.0}, ValueError, r"tol_q must be >= 0.0; got -1.0"),
        ({"tol_q": float("inf")}, ValueError, "tol_q must be a finite real number"),
        ({"method": "newton"}, ValueError, r"method must be one of \['lm', 'adam'\]; got 'newton'"),
        ({"max_iter": -1}, ValueError, "max_iter must be an integer >= 0; got -1"),
        ({"lr": 0.0}, ValueError, r"lr must be > 0.0; got 0.0"),
        ({"n_inits": 0}, ValueError, "n_inits must be an integer >= 1; got 0"),
        ({"jitter": -0.1}, ValueError, r"jitter must be >= 0.0; got -0.1"),
        ({"eigenvectors": "yes"}, TypeError, "eigenvectors must be a bool; got str"),
        ({"rng": "seed"}, TypeError, "rng must be an int"),
        ({"hops": -1}, ValueError, "hops must be an integer >= 0; got -1"),
        ({"hop_scale": 0.0}, ValueError, r"hop_scale must be > 0.0; got 0.0"),
    ],
)
def test_bad_arguments_raise_clear_errors(small_net, kwargs, error, match):
    arguments = {"inputs": [0.0, 0.0], "initial_states": np.zeros((2, 3)), **kwargs}
    with pytest.raises(error, match=match):
        find_fixed_points(small_net, arguments.pop("inputs"), **arguments)


def test_models_without_a_one_step_map_are_refused():
    transformer = CausalTransformer(2, 1, n_units=8, n_heads=2)
    with pytest.raises(TypeError, match="model must expose a one-step map step\\(state, input\\).*CausalTransformer"):
        find_fixed_points(transformer, [0.0, 0.0], initial_states=np.zeros((1, 8)))
    with pytest.raises(TypeError, match="model must be a neurodis model \\(torch.nn.Module\\); got str"):
        find_fixed_points("ctrnn", [0.0], initial_states=np.zeros((1, 1)))


def test_zero_evidence_input_needs_a_task():
    with pytest.raises(TypeError, match="task must be a neurodis Task with input_names; got 3"):
        zero_evidence_input(3)


def test_adam_kernel_matches_torch_optim_adam(rng):
    from neurodis.experiments._fixed_point_solvers import OneStepMap, adam

    net = CTRNN(2, 1, n_units=4, activation="tanh", seed=6).double()
    u = torch.tensor([0.2, -0.4], dtype=torch.float64)
    h0 = torch.tensor(rng.normal(size=(3, 4)))
    reference = h0.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([reference], lr=0.05)
    for _ in range(50):
        optimizer.zero_grad()
        r = net.step(reference, u) - reference
        (0.5 * (r * r).sum()).backward()
        optimizer.step()
    net.zero_grad(set_to_none=True)
    for p in net.parameters():
        p.requires_grad_(False)
    mine = adam(OneStepMap(net, u), h0, max_iter=50, lr=0.05)
    np.testing.assert_allclose(mine.h_pxn.numpy(), reference.detach().numpy(), rtol=1e-12, atol=1e-14)
