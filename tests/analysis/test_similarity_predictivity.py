"""Cross-validated ridge predictivity and the split-half noise ceiling."""

import numpy as np
import pytest
import xarray as xr
from threadpoolctl import threadpool_limits

from neurodis.analysis.similarity import ridge_predictivity, split_half_reliability


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _linear_recording(rng, n_cond=300, n_trials=6, sigma=1.0):
    """Model units x, recorded trials = x W + noise; returns x, trials and the true ceilings."""
    x = rng.normal(size=(n_cond, 8))
    signal = x @ (0.5 * rng.normal(size=(8, 4)))
    trials = signal[:, None, :] + sigma * rng.normal(size=(n_cond, n_trials, 4))
    ceiling = signal.var(axis=0) / (signal.var(axis=0) + sigma**2 / n_trials)
    return (
        xr.DataArray(x, dims=("condition", "unit")),
        xr.DataArray(trials, dims=("condition", "trial", "unit"), coords={"unit": [11, 12, 13, 14]}),
        ceiling,
    )


def test_recovers_a_known_linear_map_up_to_the_noise_ceiling(rng):
    x, y, ceiling = _linear_recording(rng)
    res = ridge_predictivity(x, y, n_shuffles=5, rng=0)
    # 300 conditions: sampling error of R² and of the ceiling is ≈ 0.01 each
    np.testing.assert_allclose(res.ceiling, ceiling, atol=0.04)
    np.testing.assert_allclose(res.r2, ceiling, atol=0.05)
    np.testing.assert_allclose(res.r2_normalized, 1.0, atol=0.06)
    assert res.r2.unit.values.tolist() == [11, 12, 13, 14]
    assert float(res.score) == pytest.approx(float(res.r2.mean()))
    assert float(res.score_normalized) == pytest.approx(float(res.r2.mean() / res.ceiling.mean()))
    assert float(res.p_value) == 1 / 6 and np.all(np.abs(res.null) < 0.05)


def test_noise_free_linear_map_is_predicted_almost_perfectly(rng):
    x = xr.DataArray(rng.normal(size=(80, 5)), dims=("trial", "unit"))
    y = xr.DataArray(x.values @ rng.normal(size=(5, 3)) + 4.0, dims=("trial", "unit"))
    res = ridge_predictivity(x, y, null=None, rng=1)
    assert np.all(res.r2 > 0.999) and "ceiling" not in res and res.attrs["seed"] == 1


def test_shuffled_model_predicts_nothing(rng):
    x, y, _ = _linear_recording(rng)
    shuffled = x.copy(data=rng.permutation(x.values))
    res = ridge_predictivity(shuffled, y, null=None, rng=0)
    # cross-validated R² of an unrelated predictor is ≤ 0 up to ≈ 8/300 of overfitting noise
    assert abs(float(res.score)) < 0.05


def test_folds_hold_out_whole_entries_of_cv_dim(rng):
    # x identifies the condition (a random 12-d code, constant over time) and y is an
    # arbitrary value per condition: predicting a held-out condition is impossible, but
    # if other time points of that condition were in training it would be memorised
    code = rng.normal(size=(12, 1, 12))
    x = xr.DataArray(np.repeat(code, 10, axis=1) + 0.01 * rng.normal(size=(12, 10, 12)),
                     dims=("condition", "time", "unit"))
    y = xr.DataArray(np.repeat(rng.normal(size=(12, 1, 2)), 10, axis=1), dims=("condition", "time", "unit"))
    by_condition = ridge_predictivity(x, y, n_folds=4, null=None, rng=0)
    by_time = ridge_predictivity(x, y, n_folds=4, cv_dim="time", null=None, rng=0)
    assert by_condition.attrs["params"].count('"cv_dim": "condition"') == 1
    assert float(by_condition.score) < 0.3
    assert float(by_time.score) > 0.9


def test_split_half_reliability_matches_its_closed_form(rng):
    signal = rng.normal(size=(400, 1, 3)) * np.array([1.0, 0.5, 0.2])
    y = xr.DataArray(signal + rng.normal(size=(400, 10, 3)), dims=("condition", "trial", "unit"))
    expected = np.array([1.0, 0.25, 0.04]) / (np.array([1.0, 0.25, 0.04]) + 1 / 10)
    np.testing.assert_allclose(split_half_reliability(y, rng=0), expected, atol=0.05)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cv_dim": "time"}, r"cv_dim must be one of the sample dims \('condition',\); got 'time'"),
        ({"n_folds": 400}, r"n_folds must be <= the size of cv_dim 'condition' \(300\); got 400"),
        ({"n_folds": 1}, "n_folds must be an integer >= 2; got 1"),
        ({"alphas": [1.0, -1.0]}, r"alphas must be a non-empty sequence of positive penalties; got \[1.0, -1.0\]"),
    ],
)
def test_errors(rng, kwargs, match):
    x, y, _ = _linear_recording(rng)
    with pytest.raises(ValueError, match=match):
        ridge_predictivity(x, y, null=None, **kwargs)


def test_nan_in_repeated_trials_is_refused(rng):
    x, y, _ = _linear_recording(rng, n_cond=20)
    y[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match=r"y must be finite; got 1 non-finite values, the first at index \(3, 1\)"):
        ridge_predictivity(x, y, null=None)


def test_split_half_errors(rng):
    one_trial = xr.DataArray(rng.normal(size=(5, 1, 2)), dims=("condition", "trial", "unit"))
    with pytest.raises(ValueError, match="y must have at least 2 trials along 'trial' for a split-half ceiling; got 1"):
        split_half_reliability(one_trial)
    with pytest.raises(ValueError, match="y must be a DataArray with dims 'trial', 'unit' and a sample dim"):
        split_half_reliability(xr.DataArray(rng.normal(size=(5, 2)), dims=("condition", "unit")))


def test_a_unit_silent_in_training_but_active_on_a_test_fold_does_not_blow_up(rng):
    # unit 4 is 0 except on one trial, where it is huge: it always lands in one test fold,
    # and standardised by its (tiny) training spread it used to dominate that fold's prediction
    n = 60
    signal = rng.normal(size=(n, 3))
    silent = np.zeros((n, 1))
    silent[0] = 1e3
    silent[1:4] = 1e-9 * rng.normal(size=(3, 1))  # near-constant in every training set
    x = xr.DataArray(np.c_[signal, silent], dims=("trial", "unit"))
    y = xr.DataArray(signal @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(n, 2)), dims=("trial", "unit"))
    with_unit = ridge_predictivity(x, y, null=None, n_folds=5, rng=0)
    without = ridge_predictivity(x.isel(unit=slice(0, 3)), y, null=None, n_folds=5, rng=0)
    assert float(with_unit["score"]) > 0.9
    np.testing.assert_allclose(float(with_unit["score"]), float(without["score"]), atol=0.05)
