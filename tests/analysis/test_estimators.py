"""Tests of the scikit-learn forms of the decoders: the `Decoder` estimator (scikit-learn's
own estimator checks, equality with `fit_decoder`) and the `LeaveOneRegionOut` splitter
(equality with `fit_ood_decoders` under `cross_val_score`)."""

import pickle

import numpy as np
import pytest
import xarray as xr
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from neurodis.analysis.decoding import decode, fit_decoder, fit_ood_decoders, make_folds
from neurodis.analysis.estimators import Decoder, LeaveOneRegionOut, expected_failed_checks

METHODS = ("lstsq", "ridge", "ridge_cv", "adam")
TRIAL_ROLE_TRAIN, TRIAL_ROLE_TEST = 1, 2


def _data(rng: np.random.Generator, n: int = 400, d: int = 2, n_units: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Latents uniform in the box and a noisy nonlinear code of them."""
    latents = rng.uniform(-0.5, 0.5, (n, d))
    states = np.tanh(latents @ rng.normal(size=(d, n_units)) + 0.1 * rng.normal(size=(n, n_units)))
    return states, latents


def _labelled(states: np.ndarray, latents: np.ndarray) -> tuple[xr.DataArray, xr.DataArray]:
    return xr.DataArray(states, dims=("trial", "unit")), xr.DataArray(latents, dims=("trial", "latent"))


# ------------------------------------------------------------------ scikit-learn's estimator checks
# Adam with fewer steps: the checks fit dozens of times, the contract does not depend on it.
@parametrize_with_checks(
    [Decoder(method) if method != "adam" else Decoder(method, n_batches=300) for method in METHODS],
    expected_failed_checks=expected_failed_checks,
)
def test_decoder_passes_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_only_ridge_cv_has_expected_failures_and_each_names_its_reason():
    assert all(expected_failed_checks(Decoder(method)) == {} for method in ("lstsq", "ridge", "adam"))
    failures = expected_failed_checks(Decoder("ridge_cv"))
    assert failures and all("one orthant" in reason for reason in failures.values())


def test_ridge_cv_keeps_the_contract_the_expected_failures_skip(rng):
    """What the skipped checks test, on latents from every quadrant."""
    states, latents = _data(rng)
    decoder = Decoder("ridge_cv")
    params = decoder.get_params()
    assert decoder.fit(states, latents) is decoder
    assert decoder.get_params() == params
    assert not hasattr(clone(decoder), "coef_")
    restored = pickle.loads(pickle.dumps(decoder))
    np.testing.assert_array_equal(restored.predict(states), decoder.predict(states))
    order = rng.permutation(len(states))
    np.testing.assert_allclose(decoder.predict(states[order]), decoder.predict(states)[order], rtol=0, atol=1e-12)


# ------------------------------------------------------------------ the same numbers as fit_decoder
@pytest.mark.parametrize("method", METHODS)
def test_decoder_reproduces_fit_decoder(rng, method):
    states, latents = _data(rng)
    test_states, test_latents = _data(np.random.default_rng(1))
    settings = {"alpha": 0.3, "n_batches": 300}
    reference = fit_decoder(*_labelled(states, latents), method=method, rng=7, **settings)
    decoder = Decoder(method, random_state=7, **settings).fit(states, latents)
    np.testing.assert_allclose(decoder.coef_, reference["weights"].values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(decoder.intercept_, reference["bias"].values, rtol=0, atol=1e-12)
    predicted = decode(reference, xr.DataArray(test_states, dims=("trial", "unit"))).values
    np.testing.assert_allclose(decoder.predict(test_states), predicted, rtol=0, atol=1e-12)
    assert decoder.score(test_states, test_latents) == pytest.approx(r2_score(test_latents, predicted), abs=1e-12)
    paper = 1.0 - np.mean((predicted - test_latents) ** 2) * 12.0
    assert decoder.set_params(r2_convention="paper").score(test_states, test_latents) == pytest.approx(paper, abs=1e-12)


def test_alpha_records_the_penalty_of_each_method(rng):
    states, latents = _data(rng)
    assert Decoder("lstsq").fit(states, latents).alpha_ == 0.0
    assert Decoder("ridge", alpha=0.25).fit(states, latents).alpha_ == 0.25
    assert np.isnan(Decoder("adam", n_batches=10).fit(states, latents).alpha_)
    assert Decoder("ridge_cv").fit(states, latents).alpha_ > 0.0


def test_adam_is_seeded_by_random_state(rng):
    states, latents = _data(rng)
    first, again = (Decoder("adam", n_batches=50, random_state=3).fit(states, latents).coef_ for _ in range(2))
    np.testing.assert_array_equal(first, again)
    generator = np.random.default_rng(3)
    advanced = Decoder("adam", n_batches=50, random_state=generator)
    np.testing.assert_array_equal(advanced.fit(states, latents).coef_, first)
    assert not np.array_equal(advanced.fit(states, latents).coef_, first)  # the Generator moved on


def test_one_latent_as_a_1d_target_gives_1d_results(rng):
    states, latents = _data(rng)
    flat = Decoder().fit(states, latents[:, 0])
    column = Decoder().fit(states, latents[:, :1])
    assert flat.coef_.shape == (states.shape[1],) and isinstance(flat.intercept_, float)
    np.testing.assert_array_equal(flat.coef_, column.coef_[0])
    assert flat.predict(states).shape == (len(states),)
    assert flat.score(states, latents[:, 0]) == column.score(states, latents[:, :1])


# ------------------------------------------------------------------ the splitter, under cross_val_score
@pytest.mark.parametrize("method", ("lstsq", "ridge", "ridge_cv"))
@pytest.mark.parametrize(("folds", "d"), [("quadrant", 2), ("orthant", 3), ("halfspace", 2)])
def test_cross_val_score_gives_the_heldout_scores_of_fit_ood_decoders(rng, method, folds, d):
    states, latents = _data(rng, n=600, d=d)
    result = fit_ood_decoders(*_labelled(states, latents), folds=folds, method=method, alpha=0.3, rng=0)
    for convention, name in (("standard", "r2"), ("paper", "r2_paper")):
        decoder = Decoder(method, alpha=0.3, r2_convention=convention)
        scores = cross_val_score(decoder, states, latents, cv=LeaveOneRegionOut(folds))
        np.testing.assert_allclose(scores, result[name].values, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("folds", "d"), [("quadrant", 2), ("orthant", 3), ("halfspace", 3)])
def test_splits_are_the_folds_and_trial_roles_of_fit_ood_decoders(rng, folds, d):
    states, latents = _data(rng, n=600, d=d)
    result = fit_ood_decoders(*_labelled(states, latents), folds=folds, rng=0)
    splitter = LeaveOneRegionOut(folds)
    pairs = list(splitter.split(states, latents))
    assert splitter.get_n_splits(states, latents) == len(pairs) == len(make_folds(folds, d))
    for (train, test), role in zip(pairs, result["trial_role"].values, strict=True):
        np.testing.assert_array_equal(train, np.flatnonzero(role == TRIAL_ROLE_TRAIN))
        np.testing.assert_array_equal(test, np.flatnonzero(role == TRIAL_ROLE_TEST))


def test_grid_search_chooses_a_ridge_penalty_on_heldout_quadrants(rng):
    states, latents = _data(rng)
    search = GridSearchCV(Decoder("ridge"), {"alpha": [1e-3, 1e-1, 10.0]}, cv=LeaveOneRegionOut()).fit(states, latents)
    assert search.best_params_["alpha"] in (1e-3, 1e-1, 10.0)
    assert search.best_estimator_.coef_.shape == (2, states.shape[1])


# ------------------------------------------------------------------ errors
def test_decoder_rejects_bad_hyperparameters(rng):
    states, latents = _data(rng, n=50)
    with pytest.raises(ValueError, match=r"method must be one of \['lstsq', 'ridge', 'ridge_cv', 'adam'\]; got 'svd'"):
        Decoder("svd").fit(states, latents)
    with pytest.raises(ValueError, match="alpha must be > 0.0; got 0.0"):
        Decoder("ridge", alpha=0.0).fit(states, latents)
    with pytest.raises(ValueError, match="n_batches must be an integer >= 1; got 0"):
        Decoder("adam", n_batches=0).fit(states, latents)
    with pytest.raises(ValueError, match=r"r2_convention must be one of \['standard', 'paper'\]; got 'r2'"):
        Decoder(r2_convention="r2").fit(states, latents)
    with pytest.raises(TypeError, match="random_state must be an int, numpy.random.SeedSequence"):
        Decoder(random_state="seed").fit(states, latents)


def test_decoder_rejects_data_with_nothing_to_decode(rng):
    states, latents = _data(rng, n=50)
    with pytest.raises(ValueError, match="X must vary across trials; got 50 trials that are all equal"):
        Decoder().fit(np.ones_like(states), latents)
    with pytest.raises(ValueError, match="y must vary across trials; got 50 trials that are all equal"):
        Decoder().fit(states, np.full_like(latents, 0.2))
    with pytest.raises(ValueError, match="method='ridge_cv' needs training trials from at least 2 orthants"):
        Decoder("ridge_cv").fit(states, np.abs(latents))


def test_decoder_rejects_bad_prediction_input(rng):
    states, latents = _data(rng, n=50)
    with pytest.raises(NotFittedError, match="This Decoder instance is not fitted yet"):
        Decoder().predict(states)
    decoder = Decoder().fit(states, latents)
    with pytest.raises(ValueError, match="X has 3 features, but Decoder is expecting 12 features as input"):
        decoder.predict(states[:, :3])
    with pytest.raises(ValueError, match=r"y must have shape \(50, 2\) to match the predictions; got shape \(50,\)"):
        decoder.score(states, latents[:, 0])
    with pytest.raises(ValueError, match=r"r2_convention must be one of \['standard', 'paper'\]; got 'r2'"):
        decoder.set_params(r2_convention="r2").score(states, latents)


def test_splitter_rejects_bad_input(rng):
    states, latents = _data(rng, n=50)
    with pytest.raises(ValueError, match=r"folds must be one of \['quadrant', 'orthant', 'halfspace'\]; got 'quad'"):
        next(LeaveOneRegionOut("quad").split(states, latents))
    with pytest.raises(ValueError, match=r"folds must be one of .*; got 'quad'"):
        LeaveOneRegionOut("quad").get_n_splits()
    with pytest.raises(ValueError, match="y must be the latents .* got None"):
        next(LeaveOneRegionOut().split(states))
    with pytest.raises(ValueError, match="y must be the latents .* got None"):
        LeaveOneRegionOut("orthant").get_n_splits(states)
    with pytest.raises(ValueError, match=r"y must have shape \(n_trials, n_latents\) or .*; got shape \(50, 2, 1\)"):
        next(LeaveOneRegionOut().split(states, latents[:, :, None]))
    holed = latents.copy()
    holed[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"y must be finite; got 1 non-finite values, the first at index \(3, 1\)"):
        next(LeaveOneRegionOut().split(states, holed))
    with pytest.raises(ValueError, match="folds='quadrant' needs latents with at least 2 dims; got 1"):
        next(LeaveOneRegionOut().split(states, latents[:, :1]))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        next(LeaveOneRegionOut().split(states[:40], latents))
    with pytest.raises(ValueError, match="fold 'Q3' has 50 training and 0 test trials"):
        next(LeaveOneRegionOut().split(states, np.c_[latents[:, 0], np.abs(latents[:, 1])]))  # upper half only
