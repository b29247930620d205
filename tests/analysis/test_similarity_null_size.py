"""Size of every null scheme: on data where the null holds, p-values are uniform.

Each test scores 200 independent datasets with 9 shuffles (or 9 null members) and
checks the p-values with a Kolmogorov–Smirnov test against U(0, 1). The reported
p-value ``(1 + k) / (1 + n)`` takes 10 values; it is spread uniformly over its atom,
``p - u / (n + 1)`` with ``u ~ U(0, 1)``, which is exactly U(0, 1) when the observed score
is exchangeable with the null draws. A degenerate null (draws equal to the observed
score, as RSA's old trial shuffle gave) puts every p in [0.9, 1] and fails at once.
Everything is seeded, so each test is deterministic; the KS threshold 0.001 leaves a
correct null a 1-in-1000 chance of failing for a given seed.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from neurodis.analysis import similarity as S

N_DATASETS, N_SHUFFLES = 200, 9


def _ks_p(results) -> float:
    """KS p-value of the within-atom-uniformised p-values against U(0, 1)."""
    gen = np.random.default_rng(0)
    p = np.array([float(r.p_value) for r in results])
    n = np.array([r.sizes["null_draw"] for r in results])
    return float(stats.kstest(p - gen.random(p.size) / (n + 1), "uniform").pvalue)


def _noise(gen, shape, dims, **coords):
    return xr.DataArray(gen.normal(size=shape), dims=dims, coords=coords)


def _cells(gen, n_cond=6, n_trials=4, n_units=5):
    return _noise(gen, (n_cond, n_trials, n_units), ("condition", "trial", "unit"))


# name -> (draw the arrays of one dataset where the null holds, score them with seed k)
CASES = {
    "linear_cka-condition": (
        lambda g: (_noise(g, (8, 5), ("condition", "unit")), _noise(g, (8, 3), ("condition", "unit"))),
        lambda d, k: S.linear_cka(*d, n_shuffles=N_SHUFFLES, rng=k),
    ),
    "linear_cka-trial-within-conditions": (
        lambda g: (_cells(g), _cells(g, n_units=3)),
        lambda d, k: S.linear_cka(*d, shuffle_dim="trial", n_shuffles=N_SHUFFLES, rng=k),
    ),
    "shape_distance-alpha-0.5": (
        lambda g: (_noise(g, (10, 3), ("condition", "unit")), _noise(g, (10, 4), ("condition", "unit"))),
        lambda d, k: S.shape_distance(*d, alpha=0.5, n_shuffles=N_SHUFFLES, rng=k),
    ),
    "shape_distance-netrep": (
        lambda g: (_noise(g, (10, 3), ("condition", "unit")), _noise(g, (10, 4), ("condition", "unit"))),
        lambda d, k: S.shape_distance(*d, alpha=0.5, convention="netrep", n_shuffles=N_SHUFFLES, rng=k),
    ),
    "cca": (
        lambda g: (_noise(g, (12, 3), ("condition", "unit")), _noise(g, (12, 3), ("condition", "unit"))),
        lambda d, k: S.cca(*d, n_shuffles=N_SHUFFLES, rng=k),
    ),
    "svcca": (
        lambda g: (_noise(g, (12, 4), ("condition", "unit")), _noise(g, (12, 4), ("condition", "unit"))),
        lambda d, k: S.svcca(*d, keep=2, n_shuffles=N_SHUFFLES, rng=k),
    ),
    "rsa-condition": (
        lambda g: (_cells(g), _cells(g)),
        lambda d, k: S.rsa(*d, n_shuffles=N_SHUFFLES, rng=k),
    ),
    "rsa-trial-correlation": (
        lambda g: (_cells(g), _cells(g)),
        lambda d, k: S.rsa(*d, shuffle_dim="trial", n_shuffles=N_SHUFFLES, rng=k),
    ),
    "rsa-trial-cv_euclidean": (
        lambda g: (_cells(g), _cells(g)),
        lambda d, k: S.rsa(*d, distance="cv_euclidean", shuffle_dim="trial", n_shuffles=N_SHUFFLES, rng=k),
    ),
    "rsa-trial-by": (
        lambda g: tuple(
            _noise(g, (24, 4), ("trial", "unit"), stimulus=("trial", np.repeat(np.arange(6), 4))) for _ in "xy"
        ),
        lambda d, k: S.rsa(*d, by="stimulus", n_shuffles=N_SHUFFLES, rng=k),
    ),
    "ridge_predictivity": (
        lambda g: (_noise(g, (16, 3), ("trial", "unit")), _noise(g, (16, 2), ("trial", "unit"))),
        lambda d, k: S.ridge_predictivity(*d, n_folds=2, n_shuffles=N_SHUFFLES, rng=k),
    ),
    "sample-null": (
        # x is one more member of the population the null sample is drawn from
        lambda g: tuple(_noise(g, (8, 3), ("condition", "unit")) for _ in range(N_SHUFFLES + 2)),
        lambda d, k: S.linear_cka(d[0], d[1], null=list(d[2:])),
    ),
    "spectral_dsa-time": (
        # y has no dynamics (white in time), which is what the time shuffle assumes
        lambda g: (
            xr.DataArray(np.cumsum(g.normal(size=(3, 12, 2)), axis=1), dims=("condition", "time", "unit")),
            _noise(g, (3, 12, 2), ("condition", "time", "unit")),
        ),
        lambda d, k: S.spectral_dsa(*d, n_shuffles=N_SHUFFLES, rng=k),
    ),
    "dsa-time": (
        lambda g: (
            xr.DataArray(np.cumsum(g.normal(size=(3, 12, 2)), axis=1), dims=("condition", "time", "unit")),
            _noise(g, (3, 12, 2), ("condition", "time", "unit")),
        ),
        lambda d, k: S.dsa(*d, null="shuffle", n_shuffles=N_SHUFFLES, rng=k),
    ),
    # dsa's "spectrum" null: tests/analysis/test_similarity_dsa.py, where its null holds exactly
}


# several seconds each (2000 metric calls with xarray overhead): marked slow
SLOW = {"rsa-condition", "rsa-trial-correlation", "rsa-trial-cv_euclidean", "rsa-trial-by", "ridge_predictivity",
        "spectral_dsa-time", "dsa-time"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CASES])
def test_null_has_the_right_size_on_independent_data(name):
    draw, metric = CASES[name]
    gen = np.random.default_rng(zlib.crc32(name.encode()))
    results = [metric(draw(gen), k) for k in range(N_DATASETS)]
    assert _ks_p(results) > 1e-3


def test_a_degenerate_null_fails_the_size_check():
    # a null whose draws equal the observed score (RSA's old per-condition trial shuffle)
    flat = [xr.Dataset({"p_value": 1.0, "null": ("null_draw", np.zeros(N_SHUFFLES))}) for _ in range(N_DATASETS)]
    assert _ks_p(flat) < 1e-10


def test_rsa_trial_shuffle_moves_trials_between_conditions(rng):
    x = _cells(rng)
    res = S.rsa(x, x + 0.1 * rng.normal(size=x.shape), shuffle_dim="trial", n_shuffles=30, rng=0)
    assert res.attrs["null"] == "shuffle:condition+trial"
    assert np.unique(np.round(res.null.values, 12)).size > 20  # not the observed score 30 times
    assert float(res.p_value) == 1 / 31
