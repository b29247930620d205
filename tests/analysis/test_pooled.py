"""The pooled statistic with a bootstrap interval over networks (neurodis.analysis.pooled)."""

import numpy as np
import pytest
import xarray as xr

from neurodis.analysis import bootstrap_scores
from neurodis.analysis.pooled import pooled_bootstrap


def test_one_value_per_unit_resamples_exactly_as_bootstrap_scores(rng):
    scores = xr.DataArray(rng.uniform(size=(3, 7)), dims=("n_tasks", "seed"), coords={"n_tasks": [2, 3, 6]})
    pooled = pooled_bootstrap(scores, "seed", statistic=np.median, rng=1)
    reference = bootstrap_scores(scores, "seed", statistic=np.median, rng=1)
    for name in ("score", "ci_low", "ci_high"):
        xr.testing.assert_identical(pooled[name], reference[name])
    np.testing.assert_array_equal(pooled["n_units"], 7)


def test_the_score_pools_every_value_and_the_interval_resamples_whole_units(rng):
    # two networks, one far below the other: the draws are {a, a}, {a, b} and {b, b}, so a
    # 95 % interval runs from the median of a's values alone to that of b's alone
    values = np.stack([rng.uniform(0.1, 0.2, (4, 3)), rng.uniform(0.8, 0.9, (4, 3))])
    scores = xr.DataArray(values, dims=("seed", "fold", "repeat"))
    res = pooled_bootstrap(scores, "seed", pool=["fold", "repeat"], n_resamples=4000, rng=0)
    assert float(res["score"]) == np.median(values)
    assert float(res["ci_low"]) == pytest.approx(np.median(values[0]))
    assert float(res["ci_high"]) == pytest.approx(np.median(values[1]))
    assert res.attrs["pooled_dims"] == '["fold", "repeat"]' and res.attrs["resampled_dim"] == "seed"


def test_units_resampled_whole_give_wider_intervals_than_their_values_alone(rng):
    # values of one network move together (a network effect): treating its 16 values as
    # independent would understate the uncertainty over networks
    network = rng.normal(0, 0.05, (6, 1, 1))
    scores = xr.DataArray(0.9 + network + rng.normal(0, 0.005, (6, 4, 4)), dims=("seed", "fold", "repeat"))
    clustered = pooled_bootstrap(scores, "seed", pool=["fold", "repeat"], rng=0)
    flat = scores.stack(entry=("seed", "fold", "repeat")).drop_vars(["entry", "seed", "fold", "repeat"])
    naive = pooled_bootstrap(flat, "entry", rng=0)
    assert float(clustered["ci_high"] - clustered["ci_low"]) > 3 * float(naive["ci_high"] - naive["ci_low"])


def test_missing_values_are_skipped_and_counted(rng):
    values = rng.uniform(size=(2, 5, 4))
    values[1, 0] = np.nan  # condition 1 lacks its first network
    scores = xr.DataArray(values, dims=("n_tasks", "seed", "fold"), coords={"n_tasks": [2, 24]})
    res = pooled_bootstrap(scores, "seed", pool=["fold"], rng=0)
    np.testing.assert_array_equal(res["n_units"], [5, 4])
    assert float(res["score"].sel(n_tasks=24)) == np.median(values[1, 1:])
    assert res["score"].dims == ("n_tasks",) and list(res["n_tasks"].values) == [2, 24]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scores": np.zeros((3, 2))}, TypeError, "scores must be an xarray.DataArray"),
        ({"dim": "network"}, ValueError, r"dim must name a dim of scores \('seed', 'fold'\); got 'network'"),
        ({"pool": ["fold", "fold"]}, ValueError, r"pool must name distinct dims .* other than 'seed'; got"),
        ({"pool": ["seed"]}, ValueError, "pool must name distinct dims"),
        ({"statistic": "median"}, TypeError, "statistic must be callable"),
        ({"statistic": lambda v, axis: v}, ValueError, "statistic must reduce the last axis"),
        ({"n_resamples": 1}, ValueError, "n_resamples must be an integer >= 2"),
        ({"confidence": 1.0}, ValueError, "confidence must be < 1.0"),
    ],
)
def test_pooled_bootstrap_rejects_bad_input(kwargs, error, match):
    call = {"scores": xr.DataArray(np.zeros((3, 2)), dims=("seed", "fold")), "dim": "seed", **kwargs}
    with pytest.raises(error, match=match):
        pooled_bootstrap(call.pop("scores"), call.pop("dim"), **call)


def test_a_single_unit_cannot_be_resampled():
    with pytest.raises(ValueError, match="dim 'seed' must have at least 2 entries to resample; got 1"):
        pooled_bootstrap(xr.DataArray(np.zeros((1, 4)), dims=("seed", "fold")), "seed")
