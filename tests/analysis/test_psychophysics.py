"""Psychophysical kernels: known logistic weights are recovered within their standard errors."""

import numpy as np
import pytest
import xarray as xr

from neurodis.analysis.psychophysics import compare_kernels, monkey_kernel, psychophysical_kernel
from neurodis.recordings import data_dir, load_lip_behavior

try:
    DATA = data_dir()
except FileNotFoundError:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="the shared LIP data folder is absent")


def _pulses(values):
    values = np.asarray(values, dtype=float)
    return xr.DataArray(values, dims=("trial", "pulse"), coords={"pulse": np.arange(1, values.shape[1] + 1)})


def _simulate(rng, n_trials, weights, bias):
    pulses = _pulses(rng.integers(-4, 5, size=(n_trials, len(weights))))
    p = 1.0 / (1.0 + np.exp(-(bias + pulses.values @ weights)))
    return pulses, (rng.random(n_trials) < p).astype(int)


def test_known_weights_are_recovered_within_their_standard_errors(rng):
    weights, bias = np.array([0.6, 0.4, 0.3, 0.2, 0.1, -0.1, 0.0]), 0.3
    pulses, choices = _simulate(rng, 6000, weights, bias)
    kernel = psychophysical_kernel(pulses, choices)
    z = (kernel.weights.values - weights) / kernel.se.values
    assert np.all(np.abs(z) < 4.5)  # 7 weights: a false alarm has probability ~5e-5
    assert abs(float(kernel.bias) - bias) < 4.5 * float(kernel.bias_se)
    assert kernel.weights.dims == ("pulse",) and kernel.pulse.values.tolist() == list(range(1, 8))


def test_fit_agrees_with_an_independent_solver(rng):
    from sklearn.linear_model import LogisticRegression

    pulses, choices = _simulate(rng, 1000, np.array([0.5, 0.2, -0.3]), -0.2)
    kernel = psychophysical_kernel(pulses, choices)
    reference = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12).fit(pulses.values, choices)
    np.testing.assert_allclose(kernel.weights.values, reference.coef_[0], atol=1e-5)
    np.testing.assert_allclose(float(kernel.bias), reference.intercept_[0], atol=1e-5)


def test_analytic_standard_errors_match_the_monte_carlo_spread(rng):
    weights = np.array([0.5, 0.25, 0.0])
    fits = [psychophysical_kernel(*_simulate(rng, 800, weights, 0.1)) for _ in range(200)]
    spread = np.std([f.weights.values for f in fits], axis=0, ddof=1)
    analytic = np.mean([f.se.values for f in fits], axis=0)
    # the sd of a sample sd over 200 replicates is ~5 % of it: allow 4 of those
    np.testing.assert_allclose(spread, analytic, rtol=0.2)


def test_bootstrap_standard_errors_match_the_analytic_ones(rng):
    pulses, choices = _simulate(rng, 2000, np.array([0.4, 0.2, 0.1]), 0.0)
    analytic = psychophysical_kernel(pulses, choices)
    boot = psychophysical_kernel(pulses, choices, se="bootstrap", n_bootstrap=200, rng=1)
    np.testing.assert_allclose(boot.weights.values, analytic.weights.values)
    np.testing.assert_allclose(boot.se.values, analytic.se.values, rtol=0.25)
    assert boot.attrs["se_method"] == "bootstrap" and boot.attrs["n_bootstrap"] == 200


@needs_data
def test_monkey_kernel_matches_the_reference_fit():
    # README of the data folder: pooled IRLS fit computed there with numpy
    kernel = monkey_kernel(load_lip_behavior())
    np.testing.assert_allclose(kernel.weights.values, [0.083, 0.081, 0.054, 0.048, 0.045, 0.041, 0.039], atol=6e-4)
    assert float(kernel.bias) == pytest.approx(-0.082, abs=6e-4)
    assert kernel.attrs["subject"] == "pooled" and int(kernel.n_trials) == 105553


def test_compare_kernels_reports_shape_and_slope_with_its_error():
    flat = xr.Dataset({"weights": ("pulse", [1.0, 1.0, 1.0]), "se": ("pulse", [0.1] * 3), "bias": 0.0},
                      coords={"pulse": [1, 2, 3]})
    falling = flat.assign(weights=("pulse", [3.0, 2.0, 1.0]))
    table = compare_kernels({"flat": flat, "falling": falling})
    np.testing.assert_allclose(table.slope.values, [0.0, -1.0])
    np.testing.assert_allclose(table.relative_slope.values, [0.0, -0.5])
    np.testing.assert_allclose(table.slope_se.values, 0.1 * np.sqrt(0.5))  # contrast (-1/2, 0, 1/2)
    np.testing.assert_allclose(table.normalized.sel(source="falling").values, [1.5, 1.0, 0.5])


def test_bad_arguments_are_refused(rng):
    pulses, choices = _simulate(rng, 200, np.array([0.5, 0.5]), 0.0)
    with pytest.raises(TypeError, match="pulses must be a DataArray"):
        psychophysical_kernel(pulses.values, choices)
    with pytest.raises(ValueError, match=r"pulses must have dims \('trial', 'pulse'\)"):
        psychophysical_kernel(pulses.rename(pulse="time"), choices)
    with pytest.raises(ValueError, match="choices must have one entry per trial"):
        psychophysical_kernel(pulses, choices[:-1])
    with pytest.raises(ValueError, match="choices must be 0 or 1"):
        psychophysical_kernel(pulses, choices * 2)
    with pytest.raises(ValueError, match="choices must contain both 0 and 1"):
        psychophysical_kernel(pulses, np.ones(200))
    with pytest.raises(ValueError, match="se must be one of"):
        psychophysical_kernel(pulses, choices, se="jackknife")
    with pytest.raises(ValueError, match="n_bootstrap must be an integer >= 2"):
        psychophysical_kernel(pulses, choices, se="bootstrap", n_bootstrap=1)
    with pytest.raises(ValueError, match="perfectly separable"):
        psychophysical_kernel(pulses, (pulses.values.sum(1) + 0.5 > 0).astype(int))


def test_a_bootstrap_without_converged_resamplings_is_refused():
    # two overlapping trials per class: most resamplings are separable or of one class
    pulses = _pulses([[0.0], [0.0], [1.0], [1.0]])
    with pytest.raises(ValueError, match="at least 2 converged resamplings"):
        psychophysical_kernel(pulses, [0, 1, 1, 0], se="bootstrap", n_bootstrap=2, rng=0)


def test_bad_kernel_inputs_are_refused(rng):
    pulses = _pulses(rng.integers(-4, 5, size=(50, 4)))
    with pytest.raises(TypeError, match="kernels must be a non-empty mapping"):
        compare_kernels({})
    with pytest.raises(TypeError, match=r"kernels\['a'\] must be a psychophysical_kernel Dataset"):
        compare_kernels({"a": np.zeros(3)})
    one = xr.Dataset({"weights": ("pulse", [1.0, 1.0]), "se": ("pulse", [0.1] * 2), "bias": 0.0},
                     coords={"pulse": [1, 2]})
    with pytest.raises(ValueError, match="kernels must share one pulse coord"):
        compare_kernels({"a": one, "b": one.assign_coords(pulse=[2, 3])})
    with pytest.raises(TypeError, match="behavior must be a Dataset"):
        monkey_kernel(pulses)
    behavior = xr.Dataset({"choice": ("trial", [0, 1]), "pulses": (("trial", "pulse"), [[1.0], [2.0]])},
                          coords={"subject": ("trial", ["N", "N"])})
    with pytest.raises(ValueError, match="subject must be one of"):
        monkey_kernel(behavior, subject="Q")
