"""Angular Procrustes and generalized shape metrics (Williams et al. 2021)."""

import numpy as np
import pytest
import xarray as xr
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group
from threadpoolctl import threadpool_limits

from neurodis.analysis.similarity import (
    canonical_correlations,
    procrustes_distance,
    shape_distance,
    shape_distance_arrays,
)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _da(values):
    return xr.DataArray(values, dims=("condition", "unit"))


def _slow_shape_distance(x, y, alpha):
    """Covariance-based partial whitening, explicit zero padding and scipy's Procrustes."""
    mapped = []
    for a in (x, y):
        a = a - a.mean(axis=0)
        a = a * np.sqrt(a.shape[0] * a.shape[1]) / np.linalg.norm(a)  # full column rank here
        evals, evecs = np.linalg.eigh(a.T @ a / a.shape[0])
        z = alpha * np.eye(a.shape[1]) + (1 - alpha) * evecs @ np.diag(evals**-0.5) @ evecs.T
        mapped.append(a @ z)
    width = max(m.shape[1] for m in mapped)
    a, b = (np.pad(m, ((0, 0), (0, width - m.shape[1]))) for m in mapped)
    rotation, _ = orthogonal_procrustes(b, a)
    return np.arccos(np.sum(a * (b @ rotation)) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_zero_for_rotated_scaled_translated_copies(rng, alpha):
    x = rng.normal(size=(25, 5))
    q = ortho_group.rvs(5, random_state=2)
    assert shape_distance_arrays(x, 3 * x @ q + 1, alpha=alpha) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.7, 1.0])
def test_matches_an_explicit_whitening_and_procrustes_fit(rng, alpha):
    x, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    assert shape_distance_arrays(x, y, alpha=alpha) == pytest.approx(_slow_shape_distance(x, y, alpha), rel=1e-9)


def test_full_whitening_ignores_invertible_maps_and_equals_mean_cca(rng):
    x, y = rng.normal(size=(50, 5)), rng.normal(size=(50, 5))
    w = rng.normal(size=(5, 5))
    assert shape_distance_arrays(x, x @ w, alpha=0.0) == pytest.approx(0.0, abs=1e-6)
    assert shape_distance_arrays(x, x @ w, alpha=1.0) > 0.1
    rho = canonical_correlations(x, y)
    assert shape_distance_arrays(x, y, alpha=0.0) == pytest.approx(np.arccos(rho.mean()), rel=1e-9)


@pytest.mark.parametrize("alpha", [0.2, 0.5, 1.0])
def test_symmetric_and_satisfies_the_triangle_inequality(rng, alpha):
    arrays = [rng.normal(size=(15, k)) for k in (3, 4, 6)] + [rng.normal(size=(15, 3)) @ rng.normal(size=(3, 5))]
    d = np.array([[shape_distance_arrays(a, b, alpha=alpha) for b in arrays] for a in arrays])
    np.testing.assert_allclose(d, d.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-6)
    assert np.all((d >= 0) & (d <= np.pi / 2 + 1e-12))
    for i, j, k in np.ndindex(4, 4, 4):
        assert d[i, k] <= d[i, j] + d[j, k] + 1e-9


def test_procrustes_distance_is_alpha_one_and_reports_a_distance(rng):
    x, y = _da(rng.normal(size=(12, 3))), _da(rng.normal(size=(12, 4)))
    res = procrustes_distance(x, y, n_shuffles=15, rng=0)
    assert float(res.score) == pytest.approx(shape_distance_arrays(x.values, y.values, alpha=1.0))
    assert res.attrs["higher_is_similar"] == 0 and '"alpha": 1.0' in res.attrs["params"]
    assert res.attrs["metric"] == "procrustes_distance"


def test_rank_deficient_and_constant_inputs(rng):
    # 6 units spanning 2 dimensions: whitening acts on the numerical column space only
    low_rank = rng.normal(size=(20, 2)) @ rng.normal(size=(2, 6))
    assert shape_distance_arrays(low_rank, low_rank @ rng.normal(size=(6, 6)), alpha=0.0) == pytest.approx(0.0, abs=1e-6)
    assert shape_distance_arrays(low_rank, low_rank @ ortho_group.rvs(6, random_state=0)) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="x must vary across samples"):  # it used to give NaN
        shape_distance_arrays(np.ones((5, 2)), rng.normal(size=(5, 2)))


def test_errors(rng):
    with pytest.raises(ValueError, match="alpha must be <= 1.0; got 1.5"):
        shape_distance(_da(rng.normal(size=(5, 2))), _da(rng.normal(size=(5, 2))), alpha=1.5)
    with pytest.raises(ValueError, match="x and y must have the same number of samples; got 5 and 4"):
        shape_distance_arrays(rng.normal(size=(5, 2)), rng.normal(size=(4, 2)))


# netrep (github.com/ahwillia/netrep, commit 0186b8a, 2024-07-30; not on PyPI) run on
# the arrays of _netrep_pair: LinearMetric(alpha=a, center_columns=True, zero_pad=True,
# score_method="angular").fit_score(X, Y)
NETREP_REFERENCE = {0.0: 1.0684389763738884, 0.3: 0.8547817062643124, 0.5: 0.8374628946992324,
                    1.0: 0.8282843110716943}


def _netrep_pair():
    gen = np.random.default_rng(2021)
    x = gen.normal(size=(20, 4)) @ np.diag([3.0, 1.0, 0.5, 0.2]) + 1.0
    y = gen.normal(size=(20, 6)) * 2.0 + x[:, [0, 1, 2, 3, 0, 1]]
    return x, y


@pytest.mark.parametrize("alpha", sorted(NETREP_REFERENCE))
def test_netrep_convention_reproduces_netrep(alpha):
    x, y = _netrep_pair()
    assert shape_distance_arrays(x, y, alpha=alpha, convention="netrep") == pytest.approx(
        NETREP_REFERENCE[alpha], abs=1e-8
    )
    labelled = [xr.DataArray(v, dims=("condition", "unit")) for v in (x, y)]
    res = shape_distance(*labelled, alpha=alpha, convention="netrep", null=None)
    assert float(res.score) == pytest.approx(NETREP_REFERENCE[alpha], abs=1e-8)
    assert '"convention": "netrep"' in res.attrs["params"]


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
def test_conventions_agree_at_the_ends_and_only_scaled_ignores_units(rng, alpha):
    x, y = rng.normal(size=(25, 4)), rng.normal(size=(25, 3))
    scaled = shape_distance_arrays(x, y, alpha=alpha)
    netrep = shape_distance_arrays(x, y, alpha=alpha, convention="netrep")
    assert shape_distance_arrays(10 * x, y, alpha=alpha) == pytest.approx(scaled, abs=1e-12)
    if alpha in (0.0, 1.0):
        assert netrep == pytest.approx(scaled, abs=1e-12)
        assert shape_distance_arrays(10 * x, y, alpha=alpha, convention="netrep") == pytest.approx(netrep, abs=1e-12)
    else:  # netrep's whitening adds (1 - α) to singular values in the data's own units
        assert abs(shape_distance_arrays(10 * x, y, alpha=alpha, convention="netrep") - netrep) > 1e-3


def test_unknown_convention_is_refused(rng):
    x = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="convention must be one of .*; got 'williams'"):
        shape_distance_arrays(x, x, convention="williams")
    with pytest.raises(ValueError, match="convention must be one of"):
        shape_distance(xr.DataArray(x, dims=("condition", "unit")), xr.DataArray(x, dims=("condition", "unit")),
                       convention="williams")
