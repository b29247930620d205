"""Known answers of the continuous-time system: Euler convergence to the ODE solution and
the stationary variance of linear networks under the sqrt(2/α) noise scaling."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg

from neurodis.simulator import CTRNNWeights, simulate_autonomous

TAU = 100.0


def _linear(weight_hh: np.ndarray, dt: float, n_inputs: int = 2, weight_ih: np.ndarray | None = None,
            **noise) -> CTRNNWeights:
    n = len(weight_hh)
    return CTRNNWeights(
        weight_ih=np.zeros((n, n_inputs)) if weight_ih is None else weight_ih, weight_hh=weight_hh,
        bias=np.zeros(n), readout_weight=np.zeros((1, n)), readout_bias=np.zeros(1), tau=TAU, dt=dt,
        activation="linear", readout="linear", **noise,
    )


def test_euler_trajectories_converge_to_the_ode_solution_linearly_in_dt() -> None:
    rng = np.random.default_rng(0)
    n, n_inputs, horizon = 5, 2, 300.0
    base = CTRNNWeights.random(n_inputs=n_inputs, n_units=n, n_outputs=1, rng=rng, gain=1.5,
                               activation="tanh", tau=TAU, dt=10.0)
    u, r0 = rng.normal(size=n_inputs), rng.normal(size=n)
    drive = base.weight_ih @ u + base.bias

    def rhs(_t: float, r: np.ndarray) -> np.ndarray:
        return (-r + np.tanh(base.weight_hh @ r + drive)) / TAU  # τ dr/dt = -r + f(W r + W_in u + b)

    exact = scipy.integrate.solve_ivp(rhs, (0.0, horizon), r0, method="DOP853", rtol=1e-12,
                                      atol=1e-12).y[:, -1]
    errors = []
    for dt in (10.0, 5.0, 2.5, 1.25):
        weights = CTRNNWeights(**{k: getattr(base, k) for k in ("weight_ih", "weight_hh", "bias",
                                                                  "readout_weight", "readout_bias")},
                               activation="tanh", tau=TAU, dt=dt)
        ds = simulate_autonomous(weights, u, round(horizon / dt), initial_states=r0,
                                 dtype=np.float64, final_only=True)
        errors.append(np.abs(ds["final_rates"].values[0] - exact).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert errors[0] > 1e-4  # a visible discretisation error to start from
    np.testing.assert_allclose(ratios, 2.0, atol=0.15)  # first order: halving dt halves the error


def _stationary_sample(weights: CTRNNWeights, n_trials: int, n_steps: int, seed: int) -> np.ndarray:
    """States after n_steps from r = 0 (zero input, bias 0), one independent sample per trial."""
    ds = simulate_autonomous(weights, np.zeros(weights.n_inputs), n_steps,
                             initial_states=np.zeros((n_trials, weights.n_units)), rng=seed,
                             dtype=np.float64, final_only=True)
    return ds["final_rates"].values


def _covariance_after(a: np.ndarray, q: np.ndarray, n_steps: int) -> np.ndarray:
    """Exact covariance of x_t = A x_{t-1} + η_t (Cov η = Q) after n_steps from x_0 = 0."""
    sigma = np.zeros_like(q)
    for _ in range(n_steps):
        sigma = a @ sigma @ a.T + q
    return sigma


def _assert_covariance(sample: np.ndarray, expected: np.ndarray) -> None:
    n_trials = len(sample)
    estimate = sample.T @ sample / n_trials  # the mean is exactly 0
    # standard error of each second moment of a Gaussian: sqrt((Σ_ii Σ_jj + Σ_ij²) / n)
    se = np.sqrt((np.outer(np.diag(expected), np.diag(expected)) + expected**2) / n_trials)
    assert np.all(np.abs(estimate - expected) <= 5 * se), np.abs(estimate - expected) / se


@pytest.mark.parametrize("alpha", [1.0, 0.1])
def test_recurrent_noise_variance_of_an_uncoupled_linear_network(alpha: float) -> None:
    sigma, n = 0.5, 4
    weights = _linear(np.zeros((n, n)), dt=alpha * TAU, recurrent_noise=sigma)
    sample = _stationary_sample(weights, 20_000, int(10 / alpha), seed=1)
    # x_t = (1-α) x_{t-1} + α sqrt(2/α) σ ξ_t  →  Var = 2ασ² / (1-(1-α)²) = 2σ²/(2-α)
    _assert_covariance(sample, np.eye(n) * 2 * sigma**2 / (2 - alpha) * (1 - (1 - alpha) ** (2 * int(10 / alpha))))


def test_stationary_covariance_of_a_coupled_linear_network_solves_the_lyapunov_equation() -> None:
    rng = np.random.default_rng(2)
    n, alpha, sigma_r, sigma_u = 5, 0.2, 0.3, 0.4
    w_hh = rng.normal(0, 0.6 / np.sqrt(n), (n, n))
    w_ih = rng.normal(0, 1.0, (n, 3))
    weights = _linear(w_hh, dt=alpha * TAU, n_inputs=3, weight_ih=w_ih, recurrent_noise=sigma_r,
                      input_noise=sigma_u)
    a = (1 - alpha) * np.eye(n) + alpha * w_hh
    assert np.abs(np.linalg.eigvals(a)).max() < 1  # a stable discrete map
    # noise per step: α sqrt(2/α) (σ_r ξ + σ_u W_in ζ)  →  Q = 2α (σ_r² I + σ_u² W_in W_inᵀ)
    q = 2 * alpha * (sigma_r**2 * np.eye(n) + sigma_u**2 * w_ih @ w_ih.T)
    n_steps = 150
    stationary = scipy.linalg.solve_discrete_lyapunov(a, q)
    np.testing.assert_allclose(_covariance_after(a, q, n_steps), stationary, rtol=1e-6)
    _assert_covariance(_stationary_sample(weights, 10_000, n_steps, seed=3), stationary)


def test_noise_variance_becomes_independent_of_dt_as_alpha_shrinks() -> None:
    sigma, n, n_trials = 0.5, 4, 10_000
    variances = {}
    for alpha in (0.1, 0.05):
        weights = _linear(np.zeros((n, n)), dt=alpha * TAU, recurrent_noise=sigma)
        variances[alpha] = _stationary_sample(weights, n_trials, int(12 / alpha), seed=4).var(axis=0).mean()
    se = sigma**2 * np.sqrt(2 / (n_trials * n))  # standard error of the pooled variance
    for alpha, variance in variances.items():
        # the continuous-time value σ² is reached up to O(α): 2σ²/(2-α) - σ² = σ² α/(2-α)
        assert abs(variance - sigma**2) <= sigma**2 * alpha / (2 - alpha) + 5 * se
    assert abs(variances[0.1] - variances[0.05]) <= sigma**2 * 0.1 + 5 * se
