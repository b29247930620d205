"""CCA and SVCCA: invariance to invertible maps, reference formula, known correlations."""

import numpy as np
import pytest
import xarray as xr
from scipy.linalg import sqrtm
from threadpoolctl import threadpool_limits

from neurodis._validation import NeurodisWarning
from neurodis.analysis.similarity import canonical_correlations, cca, svcca


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _da(values):
    return xr.DataArray(values, dims=("trial", "unit"))


def _slow_cca(x, y):
    """Singular values of Σxx^{-1/2} Σxy Σyy^{-1/2} (Hotelling 1936)."""
    x, y = x - x.mean(axis=0), y - y.mean(axis=0)

    def inv_sqrt(c):
        return np.linalg.inv(np.real(sqrtm(c)))

    return np.linalg.svd(inv_sqrt(x.T @ x) @ x.T @ y @ inv_sqrt(y.T @ y), compute_uv=False)


def test_matches_the_covariance_formula(rng):
    x, y = rng.normal(size=(60, 4)), rng.normal(size=(60, 6)) + rng.normal(size=(60, 1))
    np.testing.assert_allclose(canonical_correlations(x, y), _slow_cca(x, y), rtol=1e-9)


def test_invertible_maps_give_correlations_of_one(rng):
    x = rng.normal(size=(80, 5))
    res = cca(_da(x), _da(3 * x @ rng.normal(size=(5, 5)) + 2), null=None)
    np.testing.assert_allclose(res.correlations, 1.0, atol=1e-9)
    assert res.correlations.dims == ("mode",) and float(res.score) == pytest.approx(1.0)


def test_recovers_known_canonical_correlations(rng):
    # y_k = ρ_k z_k + sqrt(1 - ρ_k²) e_k; the sample correlation has sd ≈ (1 - ρ²)/sqrt(S)
    s, rho = 20000, np.array([0.9, 0.6, 0.3])
    z = rng.normal(size=(s, 3))
    y = rho * z + np.sqrt(1 - rho**2) * rng.normal(size=(s, 3))
    mixed_x, mixed_y = z @ rng.normal(size=(3, 3)), y @ rng.normal(size=(3, 3))
    np.testing.assert_allclose(canonical_correlations(mixed_x, mixed_y), rho, atol=4 / np.sqrt(s))


def test_symmetric(rng):
    x, y = _da(rng.normal(size=(30, 3))), _da(rng.normal(size=(30, 5)))
    assert float(cca(x, y, null=None).score) == pytest.approx(float(cca(y, x, null=None).score), rel=1e-12)


def test_svcca_drops_low_variance_noise_directions(rng):
    signal = rng.normal(size=(40, 2))
    x = np.hstack([signal, 1e-3 * rng.normal(size=(40, 3))])
    y = np.hstack([signal @ rng.normal(size=(2, 2)), 1e-3 * rng.normal(size=(40, 3))])
    assert float(svcca(_da(x), _da(y), keep=0.99, null=None).score) == pytest.approx(1.0, abs=1e-5)
    assert float(svcca(_da(x), _da(y), keep=2, null=None).score) == pytest.approx(1.0, abs=1e-5)
    assert float(cca(_da(x), _da(y), null=None).score) < 0.9


def test_n_components_averages_the_leading_correlations(rng):
    x, y = _da(rng.normal(size=(50, 4))), _da(rng.normal(size=(50, 4)))
    res = cca(x, y, n_components=2, null=None)
    assert res.sizes["mode"] == 2
    assert float(res.score) == pytest.approx(canonical_correlations(x.values, y.values)[:2].mean())


def test_warns_when_ranks_exceed_the_samples(rng):
    with pytest.warns(NeurodisWarning, match="CCA of ranks 6 and 6 on only 10 samples: at least 2 correlations are 1") as record:
        cca(_da(rng.normal(size=(10, 6))), _da(rng.normal(size=(10, 6))), null=None)
    assert record[0].filename == __file__  # points at the caller


@pytest.mark.parametrize(
    ("keep", "error", "match"),
    [
        (0, ValueError, "keep must be an integer >= 1; got 0"),
        (1.5, ValueError, "keep must be <= 1.0; got 1.5"),
        (0.0, ValueError, "keep must be > 0.0; got 0.0"),
        ("all", TypeError, "keep must be a real number; got str"),
    ],
)
def test_bad_keep(rng, keep, error, match):
    with pytest.raises(error, match=match):
        svcca(_da(rng.normal(size=(10, 2))), _da(rng.normal(size=(10, 2))), keep=keep)


def test_other_errors(rng):
    x = _da(rng.normal(size=(10, 2)))
    with pytest.raises(ValueError, match="x must vary across samples"):
        cca(_da(np.ones((10, 2))), x, null=None)
    with pytest.raises(ValueError, match="n_components must be an integer >= 1; got 0"):
        cca(x, x, n_components=0)
    with pytest.raises(ValueError, match="x and y must have the same number of samples; got 10 and 9"):
        canonical_correlations(x.values, x.values[:9])
