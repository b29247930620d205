"""Training-orthant predictors of the held-out r² (neurodis.analysis.ood_predictors)."""

import itertools
import math

import numpy as np
import pytest
import xarray as xr
from scipy.stats import rankdata, spearmanr

from neurodis.analysis import fit_ood_decoders
from neurodis.analysis.ood_predictors import (
    count_silent_units,
    decoder_variance,
    inner_heldout_r2,
    manifold_linearity,
    ood_predictors,
    rank_association,
)

#: training orthants of each quadrant fold, as masks on the latents (independent of the orthant codes)
QUADRANTS = {
    "Q1": lambda x: (x[:, 0] >= 0) & (x[:, 1] >= 0),
    "Q2": lambda x: (x[:, 0] < 0) & (x[:, 1] >= 0),
    "Q3": lambda x: (x[:, 0] < 0) & (x[:, 1] < 0),
    "Q4": lambda x: (x[:, 0] >= 0) & (x[:, 1] < 0),
}


def _labelled(rates, x):
    return xr.DataArray(rates, dims=("trial", "unit")), xr.DataArray(x, dims=("trial", "latent"))


def _training(x, fold):
    return ~QUADRANTS[fold](x)


@pytest.fixture(scope="module")
def box():
    return np.random.default_rng(0).uniform(-0.5, 0.5, (1200, 2))


@pytest.fixture(scope="module")
def bent(box):
    """Noisy rates with a curved, rectified code: nothing about them is exactly linear."""
    rng = np.random.default_rng(1)
    drive = box @ rng.normal(size=(2, 12)) + 0.3 * box[:, :1] ** 2 + 0.1 * rng.normal(size=(box.shape[0], 12))
    return _labelled(np.maximum(drive, 0.0), box)


def test_silent_units_are_counted_on_the_training_trials_only(box):
    x = box
    q3_only = np.maximum(-x[:, 0], 0) * np.maximum(-x[:, 1], 0)
    in_q1 = np.flatnonzero(QUADRANTS["Q1"](x))
    rare = np.zeros(len(x))
    rare[in_q1[:3]] = 1.0  # active on 3 trials of Q1: under 1 % of any training set
    rates, latents = _labelled(np.c_[x + 1, q3_only, np.zeros(len(x)), rare], x)
    # never active in training: the Q3 unit in fold Q3, the rare unit in fold Q1, the zero unit everywhere
    never = count_silent_units(rates, latents, max_active_fraction=0.0)
    np.testing.assert_array_equal(never.values, [2, 1, 2, 1])
    # under 1 %: the rare unit in every fold as well
    counted = count_silent_units(rates, latents)
    for fold, value in zip(counted.fold.values, counted.values, strict=True):
        train = _training(x, fold)
        expected = sum(np.mean(rates.values[train, u] > 1e-6) < 0.01 for u in range(5))
        assert value == expected
    np.testing.assert_array_equal(counted.values, [2, 2, 3, 2])
    assert counted.attrs["max_active_fraction"] == 0.01


def test_variance_fraction_and_gain_of_a_code_with_a_loud_irrelevant_unit(box):
    x = box
    loud = 3.0 * np.random.default_rng(2).normal(size=len(x))
    rates, latents = _labelled(np.c_[x, loud], x)
    result = decoder_variance(rates, latents)
    for k, fold in enumerate(result.fold.values):
        train = _training(x, fold)
        # least squares reads x0 and x1 off the first two units exactly, the loud one not at all
        var = rates.values[train].var(axis=0)
        np.testing.assert_allclose(result["variance_fraction"][k], var[:2].mean() / var.sum(), rtol=1e-9)
        np.testing.assert_allclose(result["gain"][k], math.sqrt(var.sum() / 3), rtol=1e-9)


def test_ridge_directions_match_the_protocols_ridge_and_are_rotation_invariant(bent):
    rates, latents = bent
    result = decoder_variance(rates, latents, method="ridge")
    protocol = fit_ood_decoders(rates, latents, method="ridge_cv", rng=0)
    for k, fold in enumerate(result.fold.values):
        w = protocol["weights"].sel(fold=fold).transpose("unit", "latent").values
        train = protocol["trial_role"].sel(fold=fold).values == 1
        cov = np.cov(rates.values[train], rowvar=False, bias=True)
        along = [w[:, d] @ cov @ w[:, d] / (w[:, d] @ w[:, d]) for d in range(2)]
        np.testing.assert_allclose(result["variance_fraction"][k], np.mean(along) / np.trace(cov), rtol=1e-8)
    rotation, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(12, 12)))
    rotated = decoder_variance(rates.copy(data=rates.values @ rotation), latents, method="ridge")
    xr.testing.assert_allclose(rotated, result, rtol=1e-7)


def test_a_linear_code_is_linear_and_a_bowl_is_curved(box):
    x = box
    linear = manifold_linearity(*_labelled(x @ [[1.0, -2.0, 0.5], [0.3, 1.0, 2.0]] + 4.0, x))
    np.testing.assert_allclose(linear["linear_r2"], 1.0, atol=1e-12)
    np.testing.assert_allclose(linear["curvature"], 0.0, atol=1e-12)
    rates = np.c_[x, x[:, 0] ** 2]
    bowl = manifold_linearity(*_labelled(rates, x))
    np.testing.assert_allclose(bowl["quadratic_r2"], 1.0, atol=1e-12)
    for k, fold in enumerate(bowl.fold.values):
        train = _training(x, fold)
        # the curved unit's linear fit by the normal equations of its covariance with the latents
        cov = np.cov(np.c_[x[train], rates[train, 2]], rowvar=False, bias=True)
        explained = cov[2, :2] @ np.linalg.solve(cov[:2, :2], cov[:2, 2])
        unexplained = cov[2, 2] - explained
        expected = 1 - unexplained / rates[train].var(axis=0).sum()
        np.testing.assert_allclose(bowl["linear_r2"][k], expected, rtol=1e-10)
        np.testing.assert_allclose(bowl["curvature"][k], 1 - expected, rtol=1e-9)
    assert (bowl["linear_r2"] < 0.99).all()


def test_noise_lowers_linear_and_quadratic_r2_alike(box):
    x = box
    noise = 0.1 * np.random.default_rng(4).normal(size=(len(x), 2))
    result = manifold_linearity(*_labelled(x + noise, x))
    # on the box less one quadrant each latent has mean ±1/12 and variance 1/12 - 1/144 = 11/144;
    # the expected fraction is signal / (signal + noise), and the sample fluctuates by about 1 %
    signal = 2 * 11 / 144
    np.testing.assert_allclose(result["linear_r2"], signal / (signal + 2 * 0.01), rtol=0.02)
    assert float(abs(result["curvature"]).max()) < 0.005


@pytest.fixture(scope="module")
def bent3():
    """As ``bent``, with three latents: quadrant folds are quadrants of x_0, x_1, x_2 free."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-0.5, 0.5, (1600, 3))
    drive = x @ rng.normal(size=(3, 12)) + 0.3 * x[:, :1] ** 2 + 0.1 * rng.normal(size=(x.shape[0], 12))
    return _labelled(np.maximum(drive, 0.0), x)


@pytest.mark.parametrize("data", ["bent", "bent3"])
@pytest.mark.parametrize("method, protocol_method", [("lstsq", "lstsq"), ("ridge", "ridge_cv")])
def test_inner_heldout_r2_is_the_protocol_run_on_the_training_orthants(data, method, protocol_method, request):
    rates, latents = request.getfixturevalue(data)
    x = latents.values
    result = inner_heldout_r2(rates, latents, method=method)
    for k, fold in enumerate(result.fold.values):
        inner = [name for name in QUADRANTS if name != fold]
        splits = {name: (np.flatnonzero(~QUADRANTS[name](x)), np.flatnonzero(QUADRANTS[name](x)))
                  for name in QUADRANTS}
        for left_out in inner:  # train on the fold's other training quadrants only
            keep = _training(x, fold) & ~QUADRANTS[left_out](x)
            splits[left_out] = (np.flatnonzero(keep), np.flatnonzero(QUADRANTS[left_out](x)))
        nested = fit_ood_decoders(rates, latents, splits=splits, method=protocol_method, rng=0).sel(fold=inner)
        pooled = np.sum(nested["r2_paper"] * nested["n_test"]) / np.sum(nested["n_test"])
        np.testing.assert_allclose(result[k], pooled, rtol=1e-9)


def test_inner_ridge_needs_three_training_orthants(bent):
    rates, latents = bent
    halfspace = inner_heldout_r2(rates, latents, folds="halfspace", method="ridge")
    assert np.isnan(halfspace.values).all()
    assert np.isfinite(inner_heldout_r2(rates, latents, folds="halfspace").values).all()


def test_ood_predictors_gathers_every_statistic(bent):
    rates, latents = bent
    table = ood_predictors(rates, latents)
    np.testing.assert_array_equal(table["n_silent"], count_silent_units(rates, latents))
    np.testing.assert_array_equal(table["curvature"], manifold_linearity(rates, latents)["curvature"])
    np.testing.assert_array_equal(table["ridge_gain"], decoder_variance(rates, latents, method="ridge")["gain"])
    np.testing.assert_array_equal(table["lstsq_inner_r2_paper"], inner_heldout_r2(rates, latents))
    np.testing.assert_array_equal(table["n_train"], [np.sum(_training(latents.values, f)) for f in QUADRANTS])


def _pooled_within(x, y, groups):
    """Correlation of ranks centred within each group (ties averaged), written out."""
    rx, ry = np.empty(len(x)), np.empty(len(x))
    for g in np.unique(groups):
        m = groups == g
        rx[m] = rankdata(x[m]) - rankdata(x[m]).mean()
        ry[m] = rankdata(y[m]) - rankdata(y[m]).mean()
    return np.corrcoef(rx, ry)[0, 1]


def test_rank_association_without_groups_is_spearman_with_its_exact_permutation_p():
    x = np.array([0.3, 1.2, 0.7, 2.0, 1.9, 0.1])
    y = np.array([1.0, 2.5, 0.4, 3.0, 2.9, 0.2])
    result = rank_association(x, y)
    np.testing.assert_allclose(result.rho, spearmanr(x, y).statistic, rtol=1e-12)
    null = [spearmanr(x, y[list(p)]).statistic for p in itertools.permutations(range(6))]
    greater = np.mean(np.array(null) >= result.rho - 1e-12)
    less = np.mean(np.array(null) <= result.rho + 1e-12)
    assert result.exact and result.n == 6 and result.n_groups == 1
    np.testing.assert_allclose(result.p_value, min(1, 2 * min(greater, less)), rtol=1e-12)


def test_a_perfect_ranking_has_the_smallest_exact_p():
    assert rank_association(np.arange(5.0), np.arange(5.0) ** 3).p_value == pytest.approx(2 / math.factorial(5))
    within = rank_association(np.arange(6.0), [5, 6, 7, 1, 2, 3], groups=[0, 0, 0, 1, 1, 1])
    assert within.rho == pytest.approx(1.0) and within.p_value == pytest.approx(2 / 36)


def test_the_grouped_test_permutes_within_groups_exactly_and_by_sampling():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=8), rng.normal(size=8)
    y[:4] += x[:4]
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    exact = rank_association(x, y, groups=groups)
    np.testing.assert_allclose(exact.rho, _pooled_within(x, y, groups), rtol=1e-12)
    null = [_pooled_within(x, np.r_[y[list(a)], y[4:][list(b)]], groups)
            for a in itertools.permutations(range(4)) for b in itertools.permutations(range(4))]
    greater = np.mean(np.array(null) >= exact.rho - 1e-12)
    less = np.mean(np.array(null) <= exact.rho + 1e-12)
    assert exact.exact and exact.n_groups == 2
    np.testing.assert_allclose(exact.p_value, min(1, 2 * min(greater, less)), rtol=1e-12)
    sampled = rank_association(x, y, groups=groups, n_resamples=500, rng=0)  # 576 arrangements: sampled
    assert not sampled.exact and sampled.rho == exact.rho
    # a p-value near 0.1 from 500 draws has a standard error of about 0.02
    assert abs(sampled.p_value - exact.p_value) < 0.06


def test_grouping_removes_an_association_made_by_the_groups_alone():
    rng = np.random.default_rng(6)
    level = np.repeat(np.arange(5.0), 6)
    x, y = level + 0.1 * rng.normal(size=30), level + 0.1 * rng.normal(size=30)
    assert rank_association(x, y, rng=0).rho > 0.9
    within = rank_association(x, y, groups=level, rng=0)
    np.testing.assert_allclose(within.rho, _pooled_within(x, y, level), rtol=1e-12)
    assert within.p_value > 0.05


def test_rank_association_is_reproducible_from_its_seed():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=12), rng.normal(size=12)
    groups = np.repeat([0, 1], 6)
    assert rank_association(x, y, groups=groups, n_resamples=200, rng=3) == rank_association(
        x, y, groups=groups, n_resamples=200, rng=3)


def test_bad_inputs_of_the_predictors_are_refused(bent, box):
    rates, latents = bent
    with pytest.raises(TypeError, match="rates must be an xarray.DataArray"):
        count_silent_units(rates.values, latents)
    with pytest.raises(ValueError, match=r"rates must have dims \('trial', 'unit'\)"):
        manifold_linearity(rates.rename(unit="neuron"), latents)
    with pytest.raises(ValueError, match="latents must have 1200 trials"):
        decoder_variance(rates, latents.isel(trial=slice(10)))
    one_side = box[box[:, 0] >= 0]
    with pytest.raises(ValueError, match=r"at least 2 trials in the training orthants.*fold 'x0>0'"):
        inner_heldout_r2(*_labelled(one_side, one_side), folds="halfspace")
    varying_in_q1 = np.where(QUADRANTS["Q1"](box)[:, None], box, 0.0)
    with pytest.raises(ValueError, match="rates must vary across the training trials.*fold 'Q1'"):
        ood_predictors(*_labelled(varying_in_q1, box))
    with pytest.raises(ValueError, match=r"method must be one of \['lstsq', 'ridge'\]; got 'ridge_cv'"):
        decoder_variance(rates, latents, method="ridge_cv")
    with pytest.raises(ValueError, match=r"method must be one of \['lstsq', 'ridge'\]; got 'adam'"):
        inner_heldout_r2(rates, latents, method="adam")
    with pytest.raises(ValueError, match="threshold must be >= 0.0"):
        count_silent_units(rates, latents, threshold=-1.0)
    with pytest.raises(ValueError, match="max_active_fraction must be <= 1.0"):
        count_silent_units(rates, latents, max_active_fraction=1.5)


def test_bad_inputs_of_rank_association_are_refused():
    with pytest.raises(TypeError, match="predictor must be a 1-D array of real numbers"):
        rank_association([[1.0, 2.0]], [1.0, 2.0])
    with pytest.raises(TypeError, match="outcome must be a 1-D array of real numbers"):
        rank_association([1.0, 2.0], ["a", "b"])
    with pytest.raises(ValueError, match="outcome must be finite"):
        rank_association([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(ValueError, match=r"outcome must have as many values as predictor \(3\); got 2"):
        rank_association([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"groups must have one label per pair, shape \(3,\)"):
        rank_association([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], groups=[0, 1])
    with pytest.raises(ValueError, match="every group must hold at least 2 pairs; got group 1 with 1"):
        rank_association([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], groups=[0, 0, 1])
    with pytest.raises(ValueError, match="n_resamples must be an integer >= 1"):
        rank_association([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], n_resamples=0)
