"""Known-answer tests of the ideal observer, closed-form recovery and r² ceilings."""

import numpy as np
import pytest
import xarray as xr
from scipy.special import log_ndtr, ndtr
from threadpoolctl import threadpool_limits

import neurodis
from neurodis.analysis.decoding import fit_ood_decoders
from neurodis.analysis.theory import (
    VAR_UNIFORM,
    bayes_r2_ceiling,
    gaussian_observer,
    logit_to_probit,
    probit_to_logit,
    r2_ceiling,
    recover_latent,
)
from neurodis.tasks.classification import boundary_normals

SIGMA, N_STEPS = 0.2, 20
TASK_COUNTS = (2, 3, 6, 12, 24)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small dense problems: threaded BLAS only adds contention on a shared machine."""
    with threadpool_limits(limits=1):
        yield


def _protocol_trials(n_trials: int, seed: int) -> tuple[np.ndarray, xr.DataArray]:
    """Running means μ(T) at the decision step and latents, from the regression task."""
    task = neurodis.make_task("regression", sigma=SIGMA)
    trials = task.sample(n_trials, rng=seed)
    obs = gaussian_observer(trials, np.eye(2), SIGMA)
    decision = task.timing.decision_index
    assert int(obs["n_samples"][decision]) == N_STEPS
    return obs["mean"].isel(time=decision).values, trials["latents"]


@pytest.fixture(scope="module")
def protocol() -> tuple[np.ndarray, xr.DataArray]:
    return _protocol_trials(8000, seed=11)


def _states(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims=("trial", "unit"))


# ------------------------------------------------------------------ scales and recovery
def test_probit_logit_round_trip_is_exact_far_into_saturation():
    z = np.concatenate([np.linspace(-60, 60, 4001), [0.0, 8.3, -8.3, 38.5, 500.0]])
    logits = probit_to_logit(z)
    assert np.all(np.isfinite(logits))
    np.testing.assert_allclose(logit_to_probit(logits), z, rtol=1e-13, atol=1e-15)


def test_probit_to_logit_matches_direct_formula_where_probabilities_are_exact():
    z = np.linspace(-5, 5, 101)
    p = ndtr(z)
    np.testing.assert_allclose(probit_to_logit(z), np.log(p / (1 - p)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_tasks", TASK_COUNTS)
def test_recovery_is_exact_on_ideal_logits_including_saturated(n_tasks):
    rng = np.random.default_rng(n_tasks)
    mu = rng.uniform(-0.9, 0.9, (500, 2))
    normals = boundary_normals(n_tasks, 2)
    z = np.sqrt(N_STEPS) * mu @ normals.T / SIGMA
    assert np.mean(np.abs(z) > 8.3) > 0.2  # many outputs are saturated in probability
    logits = xr.DataArray(log_ndtr(z) - log_ndtr(-z), dims=("trial", "output"))
    recovered = recover_latent(logits, normals, SIGMA, N_STEPS)
    assert recovered.dims == ("trial", "latent")
    np.testing.assert_allclose(recovered.values, mu, rtol=0, atol=1e-12)


def test_recovery_in_random_normals_for_d3_and_every_scale():
    rng = np.random.default_rng(3)
    mu = rng.uniform(-0.5, 0.5, (200, 3))
    normals = rng.standard_normal((7, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    z = np.sqrt(5) * mu @ normals.T / 1.0  # sigma = 1: unsaturated probabilities
    for scale, values in (("probit", z), ("logit", probit_to_logit(z)), ("probability", ndtr(z))):
        out = recover_latent(xr.DataArray(values, dims=("trial", "output")), normals, 1.0, 5, scale=scale)
        np.testing.assert_allclose(out.values, mu, rtol=0, atol=1e-9 if scale == "probability" else 1e-12)


def test_recovery_from_the_observer_over_time_broadcasts_n_samples():
    task = neurodis.make_task("classification", n_tasks=6, sigma=SIGMA)
    trials = task.sample(50, rng=2)
    obs = gaussian_observer(trials, task.normals, SIGMA)
    steps = (obs["n_samples"] > 0).values
    logits, counts = obs["logit"].isel(time=steps), obs["n_samples"].isel(time=steps)
    recovered = recover_latent(logits, task.normals, SIGMA, counts)
    assert recovered.dims == ("trial", "time", "latent")
    np.testing.assert_allclose(recovered.values, obs["mean"].isel(time=steps).values, rtol=0, atol=1e-12)


def test_saturated_probabilities_recover_to_non_finite_values_not_to_wrong_finite_ones():
    z = np.array([[2.0, -1.0], [2.0, 9.0]])  # Φ(9) rounds to exactly 1
    out = recover_latent(xr.DataArray(ndtr(z), dims=("trial", "output")), np.eye(2), 1.0, 1, scale="probability")
    np.testing.assert_allclose(out.values[0], [2.0, -1.0], rtol=1e-12)
    assert not np.isfinite(out.values[1]).any()


def test_boundary_normals_match_the_paper_and_are_a_tight_frame():
    for n in TASK_COUNTS:
        c = boundary_normals(n, 2)
        phi = (np.arange(n) + 0.5) * np.pi / n
        # boundary k is the line x2 = tan(φ_k) x1: every point on it is orthogonal to c_k
        on_line = np.stack([np.cos(phi), np.sin(phi)], axis=1)
        np.testing.assert_allclose(np.sum(c * on_line, axis=1), 0.0, atol=1e-15)
        np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1.0)
        np.testing.assert_allclose(c.T @ c, n / 2 * np.eye(2), atol=1e-12)
        assert np.all(c[:, 1] * np.sign(np.cos(phi)) * np.cos(phi) >= 0)  # sign(cos φ) orientation


# ------------------------------------------------------------------ the ideal observer
def test_observer_matches_the_task_bayes_log_odds():
    task = neurodis.make_task("classification", n_tasks=12, sigma=SIGMA)
    batch = task.sample_arrays(300, np.random.default_rng(4))
    trials = task.sample(300, rng=4)
    obs = gaussian_observer(trials, task.normals, SIGMA)
    np.testing.assert_allclose(obs["logit"].values, task.ideal_logits(batch), rtol=1e-9, atol=1e-9)


def test_observer_counts_posterior_and_running_mean():
    x = np.array([[[0.1, 0.3], [0.3, -0.1], [0.0, 0.0], [0.2, 0.4]]])  # step 2 carries no sample
    obs = gaussian_observer(xr.DataArray(x, dims=("trial", "time", "latent")), [[1.0, 0.0]], 0.5,
                         evidence=np.array([True, True, False, True]))
    np.testing.assert_array_equal(obs["n_samples"].values, [1, 2, 2, 3])
    np.testing.assert_allclose(obs["mean"].values[0, -1], [0.2, 0.2])
    np.testing.assert_allclose(obs["posterior_sd"].values, 0.5 / np.sqrt([1, 2, 2, 3]))
    np.testing.assert_allclose(obs["probit"].values[0, :, 0], np.sqrt([1, 2, 2, 3]) * [0.1, 0.2, 0.2, 0.2] / 0.5)
    np.testing.assert_allclose(obs["probability"].values, ndtr(obs["probit"].values))


def test_observer_is_silent_before_any_evidence():
    task = neurodis.make_task("classification", n_tasks=3)
    obs = gaussian_observer(task.sample(5, rng=0), task.normals, task.sigma)
    assert int(obs["n_samples"][0]) == 0 and np.isinf(obs["posterior_sd"][0])
    np.testing.assert_array_equal(obs["logit"].isel(time=0).values, 0.0)
    np.testing.assert_array_equal(obs["probability"].isel(time=0).values, 0.5)


# ------------------------------------------------------------------ ceilings
def test_r2_ceiling_closed_form_values():
    assert r2_ceiling(0.2, 20) == pytest.approx(1 - 0.04 * 12 / 20)
    assert r2_ceiling(0.2, 20) == pytest.approx(0.976)
    assert r2_ceiling(0.2, 20, free_rt=True) == pytest.approx(1 - 0.48 / 21)
    assert r2_ceiling(0.3, 10, var_x=1.0) == pytest.approx(1 - 0.09 / 10)
    assert r2_ceiling(0.0, 5) == 1.0


def test_r2_ceiling_is_the_monte_carlo_score_of_the_running_mean(protocol):
    mu, latents = protocol
    mse = np.mean((mu - latents.values) ** 2)
    # sd of the MSE estimate: sqrt(2 / n_values) * σ²/t (chi-square); allow 6 sd
    tolerance = 6 * np.sqrt(2 / mu.size) * SIGMA**2 / N_STEPS / VAR_UNIFORM
    assert 1 - mse / VAR_UNIFORM == pytest.approx(r2_ceiling(SIGMA, N_STEPS), abs=tolerance)


@pytest.mark.parametrize(("sigma", "t"), [(0.2, 5), (0.2, 20), (0.6, 3)])
def test_bayes_ceiling_is_the_monte_carlo_score_of_the_posterior_mean(sigma, t):
    """An independent computation: simulate x ~ U(-0.5, 0.5), m ~ N(x, σ²/t), and score
    the closed-form posterior mean (a normal truncated to the box), E[x | m] = m + s(φ(a) - φ(b))/(Φ(b) - Φ(a))."""
    from scipy.special import ndtr
    from scipy.stats import norm

    rng = np.random.default_rng(3)
    s = sigma / np.sqrt(t)
    x = rng.uniform(-0.5, 0.5, 400_000)
    m = x + s * rng.normal(size=x.size)
    # E[x | m] is odd in m: evaluate at |m|, where a < b <= 0 past the box's edge and
    # Φ(b) - Φ(a) has no cancellation
    a, b = (-0.5 - np.abs(m)) / s, (0.5 - np.abs(m)) / s
    posterior_mean = np.sign(m) * (np.abs(m) + s * (norm.pdf(a) - norm.pdf(b)) / (ndtr(b) - ndtr(a)))
    mse = np.mean((posterior_mean - x) ** 2)
    tolerance = 6 * np.std((posterior_mean - x) ** 2) / np.sqrt(x.size) / VAR_UNIFORM
    assert bayes_r2_ceiling(sigma, t) == pytest.approx(1 - mse / VAR_UNIFORM, abs=tolerance)
    # shrinking towards the box beats the running mean, by less as σ²/t shrinks
    assert bayes_r2_ceiling(sigma, t) > r2_ceiling(sigma, t)


def test_bayes_ceiling_limits_and_free_rt():
    assert bayes_r2_ceiling(0.0, 3) == 1.0
    assert bayes_r2_ceiling(50.0, 1) == pytest.approx(0.0, abs=1e-3)  # no information: the prior mean
    assert bayes_r2_ceiling(0.01, 20) == pytest.approx(r2_ceiling(0.01, 20), abs=1e-6)  # σ²/t → 0
    assert bayes_r2_ceiling(0.2, 19, free_rt=True) == bayes_r2_ceiling(0.2, 20)
    with pytest.raises(ValueError, match=r"n_steps must be an integer >= 1; got 0"):
        bayes_r2_ceiling(0.2, 0)


# ------------------------------------------------------------------ §7 reference values
@pytest.mark.parametrize("n_tasks", TASK_COUNTS)
def test_decoding_ideal_logits_through_the_ood_protocol_gives_0975(protocol, n_tasks):
    """Logits on the probit scale (the pre-activation of the Φ readout) are linear in μ."""
    mu, latents = protocol
    z = np.sqrt(N_STEPS) * mu @ boundary_normals(n_tasks, 2).T / SIGMA
    result = fit_ood_decoders(_states(z), latents, rng=0)
    assert float(result["r2_paper"].mean()) == pytest.approx(0.975, abs=0.005)
    assert float(result["r2_paper"].mean()) < r2_ceiling(SIGMA, N_STEPS)


@pytest.mark.parametrize("n_tasks", (2, 24))
def test_true_log_odds_decode_to_0975_after_recovery_but_not_linearly(protocol, n_tasks):
    mu, latents = protocol
    normals = boundary_normals(n_tasks, 2)
    log_odds = probit_to_logit(np.sqrt(N_STEPS) * mu @ normals.T / SIGMA)
    recovered = recover_latent(xr.DataArray(log_odds, dims=("trial", "output")), normals, SIGMA, N_STEPS)
    through_recovery = float(fit_ood_decoders(recovered.rename(latent="unit"), latents, rng=0)["r2_paper"].mean())
    assert through_recovery == pytest.approx(0.975, abs=0.005)
    # log-odds grow like z²/2 in the tails, so a linear readout of them loses information
    linear = float(fit_ood_decoders(_states(log_odds), latents, rng=0)["r2_paper"].mean())
    assert linear < through_recovery - 0.02


@pytest.mark.parametrize(("n_tasks", "expected"), [(2, 0.51), (3, 0.84), (6, 0.88), (12, 0.887), (24, 0.887)])
def test_decoding_saturated_probabilities_matches_the_reference_values(protocol, n_tasks, expected):
    mu, latents = protocol
    probabilities = ndtr(np.sqrt(N_STEPS) * mu @ boundary_normals(n_tasks, 2).T / SIGMA)
    assert np.mean((probabilities == 0) | (probabilities == 1)) > 0.1  # really saturated
    result = fit_ood_decoders(_states(probabilities), latents, rng=0)
    assert float(result["r2_paper"].mean()) == pytest.approx(expected, abs=0.02)


# ------------------------------------------------------------------ bad input
def test_observer_rejects_bad_input():
    task = neurodis.make_task("classification", n_tasks=2)
    trials = task.sample(4, rng=0)
    with pytest.raises(TypeError, match="trials must be a trials Dataset"):
        gaussian_observer(trials["inputs"].values, task.normals, 0.2)
    with pytest.raises(ValueError, match=r"trials must have dims \('trial', 'time', 'latent'\)"):
        gaussian_observer(trials["inputs"], task.normals, 0.2)
    with pytest.raises(ValueError, match="trials must contain 'inputs'"):
        gaussian_observer(trials.drop_vars("inputs"), task.normals, 0.2)
    encoded = trials.assign_coords(input=["fixation", "encoded_0", "encoded_1"])
    with pytest.raises(ValueError, match="raw stimulus channels"):
        gaussian_observer(encoded, task.normals, 0.2)
    with pytest.raises(ValueError, match=r"normals must have shape \(N, 2\)"):
        gaussian_observer(trials, np.ones((3, 3)), 0.2)
    with pytest.raises(ValueError, match="sigma must be > 0.0"):
        gaussian_observer(trials, task.normals, 0.0)
    with pytest.raises(TypeError, match="evidence must be a boolean array"):
        gaussian_observer(trials, task.normals, 0.2, evidence=np.ones(22))
    with pytest.raises(ValueError, match="evidence must have shape"):
        gaussian_observer(trials, task.normals, 0.2, evidence=np.ones(5, dtype=bool))


def test_recover_latent_rejects_bad_input():
    values = xr.DataArray(np.zeros((3, 2)), dims=("trial", "output"))
    with pytest.raises(TypeError, match="values must be an xarray.DataArray"):
        recover_latent(np.zeros((3, 2)), np.eye(2), 0.2, 20)
    with pytest.raises(ValueError, match="values must have an 'output' dim"):
        recover_latent(values.rename(output="unit"), np.eye(2), 0.2, 20)
    with pytest.raises(ValueError, match="scale must be one of"):
        recover_latent(values, np.eye(2), 0.2, 20, scale="odds")
    with pytest.raises(ValueError, match=r"normals must have one row per output \(2\)"):
        recover_latent(values, np.eye(3), 0.2, 20)
    with pytest.raises(ValueError, match="normals must have full column rank 2"):
        recover_latent(values, [[1.0, 0.0], [2.0, 0.0]], 0.2, 20)
    with pytest.raises(ValueError, match="n_samples must be positive"):
        recover_latent(values, np.eye(2), 0.2, xr.DataArray([0, 1], dims="time"))
    with pytest.raises(ValueError, match="values must be finite"):
        recover_latent(values.where(values.trial > 0), np.eye(2), 0.2, 20)
    with pytest.raises(ValueError, match=r"values must be probabilities in \[0, 1\]"):
        recover_latent(values + 2, np.eye(2), 0.2, 20, scale="probability")


def test_r2_ceiling_rejects_bad_input():
    with pytest.raises(ValueError, match="sigma must be >= 0.0"):
        r2_ceiling(-0.1, 20)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        r2_ceiling(0.2, 0)
    with pytest.raises(ValueError, match="var_x must be > 0.0"):
        r2_ceiling(0.2, 20, var_x=0.0)
