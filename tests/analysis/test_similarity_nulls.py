"""Null distributions, p-values and the result format shared by every metric."""

import itertools
import json

import numpy as np
import pytest
import xarray as xr
from threadpoolctl import threadpool_limits

from neurodis.analysis.similarity import (
    linear_cka,
    linear_cka_arrays,
    permutation_p_value,
    procrustes_distance,
    shuffle_along,
)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # many tiny matrix products: threaded BLAS only adds contention on a shared machine
    with threadpool_limits(1):
        yield


def _pair(rng, n_cond=10, related=False):
    x = xr.DataArray(rng.normal(size=(n_cond, 4, 5)), dims=("condition", "time", "unit"),
                     coords={"condition": np.arange(n_cond)})
    noise = rng.normal(size=(n_cond, 4, 3))
    y_values = x.values[..., :3] + 0.3 * noise if related else noise
    return x, xr.DataArray(y_values, dims=x.dims, coords={"condition": x.condition})


def _slow_p(observed, null, greater):
    hits = sum(1 for v in null if (v >= observed if greater else v <= observed))
    return (1 + hits) / (1 + len(null))


def test_p_value_counts_the_observed_score_as_one_draw(rng):
    null = rng.normal(size=50)
    for observed in (-3.0, 0.0, 0.4, 5.0):
        assert permutation_p_value(observed, null) == _slow_p(observed, null, True)
        assert permutation_p_value(observed, null, greater=False) == _slow_p(observed, null, False)
    assert permutation_p_value(10.0, null) == 1 / 51


def test_p_value_ignores_non_finite_draws_and_is_nan_without_a_score_or_null():
    assert permutation_p_value(0.5, [np.nan, 0.6, 0.1]) == 2 / 3
    assert np.isnan(permutation_p_value(np.nan, [0.1, 0.2]))
    assert np.isnan(permutation_p_value(0.1, []))


def test_shuffle_permutes_values_and_keeps_coords(rng):
    da = xr.DataArray(rng.normal(size=(6, 3)), dims=("condition", "unit"), coords={"condition": np.arange(6) * 45})
    out = shuffle_along(da, "condition", rng=1)
    np.testing.assert_array_equal(out.condition, da.condition)
    assert sorted(map(tuple, out.values)) == sorted(map(tuple, da.values))
    assert not np.array_equal(out.values, da.values)
    with pytest.raises(ValueError, match=r"dim must be one of the dims \('condition', 'unit'\) \(or several"):
        shuffle_along(da, "trial")


def test_result_holds_score_null_p_value_and_provenance(rng):
    x, y = _pair(rng, related=True)
    res = linear_cka(x, y, n_shuffles=30, rng=7)
    assert res.null.dims == ("null_draw",) and res.sizes["null_draw"] == 30
    assert float(res.score) == pytest.approx(linear_cka_arrays(x.values.reshape(-1, 5), y.values.reshape(-1, 3)))
    assert float(res.p_value) == _slow_p(float(res.score), res.null.values, True)
    assert res.attrs["metric"] == "linear_cka" and res.attrs["seed"] == 7
    assert res.attrs["null"] == "shuffle:condition" and res.attrs["higher_is_similar"] == 1
    assert json.loads(res.attrs["params"]) == {"debiased": False}
    assert json.loads(res.attrs["sample_dims"]) == ["condition", "time"]
    assert (res.attrs["n_samples"], res.attrs["n_units_x"], res.attrs["n_units_y"]) == (40, 5, 3)
    assert "neurodis_version" in res.attrs and "rng_state" in res.attrs


def test_condition_shuffle_is_a_block_permutation_of_conditions(rng):
    # every null draw must equal the score of y with its conditions permuted as blocks
    x, y = _pair(rng, n_cond=4)
    res = linear_cka(x, y, n_shuffles=12, shuffle_dim="condition", rng=3)
    x_flat = x.values.reshape(-1, 5)
    possible = np.array([
        linear_cka_arrays(x_flat, y.values[list(perm)].reshape(-1, 3))
        for perm in itertools.permutations(range(4))
    ])
    assert all(np.min(np.abs(possible - draw)) < 1e-12 for draw in res.null.values)


def test_same_seed_same_null_and_other_seed_other_null(rng):
    x, y = _pair(rng)
    a, b, c = (linear_cka(x, y, n_shuffles=10, rng=s).null.values for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_distances_count_null_draws_at_most_as_large(rng):
    x, y = _pair(rng, related=True)
    res = procrustes_distance(x, y, n_shuffles=20, rng=0)
    assert res.attrs["higher_is_similar"] == 0
    assert float(res.p_value) == _slow_p(float(res.score), res.null.values, False)
    assert float(res.p_value) == 1 / 21  # the related pair is closer than every shuffle


def test_p_values_are_calibrated_for_independent_data():
    # under independence the observed score is exchangeable with the shuffles, so
    # P(p <= 0.1) = 0.1 exactly for 19 shuffles; 120 datasets give a binomial sd of 0.027
    gen = np.random.default_rng(11)
    p = np.array([float(linear_cka(*_pair(gen), n_shuffles=19, rng=k).p_value) for k in range(120)])
    assert abs(np.mean(p <= 0.1) - 0.1) < 4 * np.sqrt(0.1 * 0.9 / 120)
    assert abs(np.mean(p <= 0.5) - 0.5) < 4 * np.sqrt(0.25 / 120)


def test_user_supplied_null_sample_is_scored_against_y(rng):
    x, y = _pair(rng, related=True)
    untrained = [x.copy(data=rng.normal(size=x.shape)) for _ in range(4)]
    res = linear_cka(x, y, null=untrained)
    expected = [linear_cka_arrays(u.values.reshape(-1, 5), y.values.reshape(-1, 3)) for u in untrained]
    np.testing.assert_allclose(res.null.values, expected)
    assert res.attrs["null"] == "sample"
    assert float(res.p_value) == _slow_p(float(res.score), expected, True)


def test_no_null_gives_an_empty_null_and_nan_p_value(rng):
    res = linear_cka(*_pair(rng), null=None)
    assert res.sizes["null_draw"] == 0 and np.isnan(float(res.p_value)) and res.attrs["null"] == "none"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"null": "permute"}, ValueError, "null must be 'shuffle', None or a sequence of DataArrays; got 'permute'"),
        ({"null": []}, TypeError, "null must be 'shuffle', None or a non-empty sequence"),
        ({"null": 3}, TypeError, "null must be 'shuffle', None or a non-empty sequence"),
        ({"shuffle_dim": "trial"}, ValueError, r"shuffle_dim must be one of the sample dims \('condition', 'time'\)"),
        ({"n_shuffles": 0}, ValueError, "n_shuffles must be an integer >= 1; got 0"),
    ],
)
def test_bad_null_arguments_are_refused(rng, kwargs, error, match):
    with pytest.raises(error, match=match):
        linear_cka(*_pair(rng), **kwargs)


def test_a_data_array_is_not_a_null_sample(rng):
    x, y = _pair(rng)
    with pytest.raises(TypeError, match="null must be 'shuffle', None or a non-empty sequence"):
        linear_cka(x, y, null=x)


def test_null_sample_must_align_with_y(rng):
    x, y = _pair(rng)
    with pytest.raises(ValueError, match="null\\[0\\] and y must have the same size along 'condition'"):
        linear_cka(x, y, null=[x[:5]])


def test_shuffle_dim_needs_two_entries(rng):
    x, y = _pair(rng, n_cond=1)
    with pytest.raises(ValueError, match="shuffle_dim 'condition' must have at least 2 entries to shuffle; got 1"):
        linear_cka(x, y)
