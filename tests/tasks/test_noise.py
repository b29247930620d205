"""Noise models: per-step statistics and the flat-prior posterior."""

import math

import numpy as np
import pytest

from neurodis.tasks.noise import (
    AnisotropicNoise,
    GaussianNoise,
    GumbelNoise,
    coerce_noise,
    make_noise,
)

N_TRIALS, N_STEPS = 4000, 12


def _sd_se(sigma: float, n: int, kurtosis: float = 3.0) -> float:
    """Standard error of a sample sd: sqrt(Var(s²)) / (2σ) with Var(s²) = σ⁴(κ-1)/n."""
    return sigma * math.sqrt((kurtosis - 1.0) / n) / 2.0


@pytest.mark.parametrize("sigma", [0.2, 0.05])
def test_gaussian_noise_has_sd_sigma_on_every_step(rng, sigma):
    noise = make_noise("gaussian", sigma).sample(rng, (N_TRIALS, N_STEPS, 2))
    assert noise.shape == (N_TRIALS, N_STEPS, 2)
    sd = noise.std(axis=0)
    assert np.all(np.abs(sd - sigma) < 5 * _sd_se(sigma, N_TRIALS))
    assert np.all(np.abs(noise.mean(axis=0)) < 5 * sigma / math.sqrt(N_TRIALS))


def test_anisotropic_noise_has_per_dimension_sds(rng):
    model = make_noise("anisotropic", 0.1)
    np.testing.assert_allclose(model.sds(2), [0.1, 0.2])
    np.testing.assert_allclose(model.sds(3), [0.1, 0.1 * math.sqrt(2), 0.2])
    noise = model.sample(rng, (N_TRIALS, N_STEPS, 2))
    sd = noise.std(axis=0)
    for i, sigma in enumerate([0.1, 0.2]):
        assert np.all(np.abs(sd[:, i] - sigma) < 5 * _sd_se(sigma, N_TRIALS))
    explicit = make_noise("anisotropic", 0.1, scales=[1.0, 3.0, 0.5])
    np.testing.assert_allclose(explicit.sds(3), [0.1, 0.3, 0.05])


@pytest.mark.parametrize("ar", [0.5, -0.3, 0.9])
def test_ar1_noise_is_stationary_with_lag_one_correlation_a(rng, ar):
    sigma = 0.2
    noise = make_noise("ar1", sigma, ar=ar).sample(rng, (N_TRIALS, N_STEPS, 2))
    sd = noise.std(axis=0)
    # neighbouring steps are correlated, but each step's sd is over independent trials
    assert np.all(np.abs(sd - sigma) < 5 * _sd_se(sigma, N_TRIALS))
    # E[n_t n_{t+k}]/σ² = a^k; for one pair of steps over n trials the estimate has variance
    # (1 + a^(2k))/n (Gaussian fourth moments); pooling pairs cannot make it larger
    lag1 = np.mean(noise[:, :-1] * noise[:, 1:]) / sigma**2
    lag2 = np.mean(noise[:, :-2] * noise[:, 2:]) / sigma**2
    assert abs(lag1 - ar) < 5 * math.sqrt((1 + ar**2) / N_TRIALS)
    assert abs(lag2 - ar**2) < 5 * math.sqrt((1 + ar**4) / N_TRIALS)


def test_gumbel_noise_is_centred_with_sd_sigma(rng):
    sigma, n = 0.3, N_TRIALS * N_STEPS * 2
    noise = make_noise("gumbel", sigma).sample(rng, (N_TRIALS, N_STEPS, 2)).ravel()
    assert abs(noise.mean()) < 5 * sigma / math.sqrt(n)
    assert abs(noise.std() - sigma) < 5 * _sd_se(sigma, n, kurtosis=5.4)  # Gumbel: κ = 5.4
    assert np.mean((noise - noise.mean()) ** 3) > 0  # right skew, unlike the Gaussian
    assert not GumbelNoise.exact_posterior and GaussianNoise.exact_posterior


def test_gaussian_posterior_is_the_running_mean(rng):
    model = make_noise("anisotropic", 0.1, ratio=3.0)
    stimulus = rng.normal(size=(5, 7, 2))
    mean, var = model.posterior(stimulus)
    t = np.arange(1, 8)[:, None]
    np.testing.assert_allclose(mean, np.cumsum(stimulus, axis=1) / t)
    np.testing.assert_allclose(var, np.array([0.01, 0.09]) / t)


def test_ar1_posterior_equals_generalised_least_squares(rng):
    sigma, ar, n_steps = 0.3, 0.6, 9
    model = make_noise("ar1", sigma, ar=ar)
    stimulus = rng.normal(size=(4, n_steps, 2))
    mean, var = model.posterior(stimulus)
    for t in range(1, n_steps + 1):
        lags = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
        precision = np.linalg.inv(sigma**2 * ar**lags.astype(float))
        ones = np.ones(t)
        gls_var = 1.0 / (ones @ precision @ ones)
        gls_mean = np.einsum("s,bsd->bd", precision @ ones, stimulus[:, :t]) * gls_var
        np.testing.assert_allclose(mean[:, t - 1], gls_mean, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(var[t - 1], gls_var, rtol=1e-10)


def test_config_round_trips_through_make_noise():
    model = make_noise("ar1", 0.25, ar=0.4)
    config = model.config()
    assert config == {"noise": "ar1", "sigma": 0.25, "ar": 0.4}
    assert make_noise(config.pop("noise"), **config) == model
    assert AnisotropicNoise(sigma=0.1, scales=[1, 2]).scales == (1.0, 2.0)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: make_noise("pink", 0.2), ValueError,
         r"noise must be one of \['gaussian', 'anisotropic', 'ar1', 'gumbel'\]; got 'pink'"),
        (lambda: make_noise("gaussian", 0.2, ar=0.5), TypeError, r"noise 'gaussian' accepts parameters \[\]; got unknown \['ar'\]"),
        (lambda: make_noise("gaussian", -0.1), ValueError, r"sigma must be >= 0.0; got -0.1"),
        (lambda: make_noise("gaussian", float("nan")), ValueError, "sigma must be a finite real number; got nan"),
        (lambda: make_noise("gaussian", "0.2"), TypeError, "sigma must be a real number; got str"),
        (lambda: make_noise("ar1", 0.2, ar=1.0), ValueError, r"ar must be < 1.0; got 1.0"),
        (lambda: make_noise("ar1", 0.2, ar=-1.0), ValueError, r"ar must be > -1.0; got -1.0"),
        (lambda: make_noise("anisotropic", 0.2, ratio=0.0), ValueError, r"ratio must be > 0.0; got 0.0"),
        (lambda: make_noise("anisotropic", 0.2, scales=[1.0, -1.0]), ValueError, r"scales entry must be > 0.0"),
        (lambda: make_noise("anisotropic", 0.2, scales=[1.0, 2.0]).sds(3), ValueError,
         r"scales must have one entry per latent dim \(3\); got \[1.0, 2.0\]"),
        (lambda: make_noise("anisotropic", 0.2, scales=[1.0, 2.0]).sample(np.random.default_rng(0), (2, 3, 3)),
         ValueError, r"scales must have one entry per latent dim \(3\)"),
        (lambda: make_noise("gaussian").sample(np.random.default_rng(0), (2, 3)), ValueError,
         r"shape must be a tuple \(n_trials, n_steps, n_dims\) of non-negative integers; got \(2, 3\)"),
        (lambda: make_noise("gaussian").sample(np.random.default_rng(0), (2, -3, 1)), ValueError, "shape must be a tuple"),
        (lambda: make_noise("gaussian").sample(0, (2, 3, 1)), TypeError, "rng must be a numpy.random.Generator; got int"),
        (lambda: coerce_noise("gaussian", 0.2, [("ar", 1)], 2), TypeError, "noise_params must be a mapping"),
        (lambda: coerce_noise("anisotropic", 0.2, {"scales": [1.0]}, 2), ValueError, "scales must have one entry per latent dim"),
    ],
)
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()
