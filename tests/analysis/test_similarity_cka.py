"""Linear and debiased CKA: invariances, sensitivity, chance levels, reference formulas."""

import itertools

import numpy as np
import pytest
import xarray as xr
from scipy.stats import ortho_group
from threadpoolctl import threadpool_limits

from neurodis.analysis.similarity import cca, linear_cka, linear_cka_arrays


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _da(values, dims=("condition", "unit")):
    return xr.DataArray(values, dims=dims)


def _slow_cka(x, y):
    """tr(KHLH) / sqrt(tr(KHKH) tr(LHLH)) with the centring matrix H (Kornblith et al. 2019)."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h)

    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


def _slow_unbiased_hsic(k, l_):
    """Song et al. (2012) U-statistic written as sums over distinct index tuples."""
    n = k.shape[0]
    pairs = sum(k[i, j] * l_[i, j] for i, j in itertools.permutations(range(n), 2))
    triples = sum(k[i, j] * l_[i, q] for i, j, q in itertools.permutations(range(n), 3))
    quads = sum(k[i, j] * l_[q, r] for i, j, q, r in itertools.permutations(range(n), 4))
    return pairs / (n * (n - 1)) + quads / (n * (n - 1) * (n - 2) * (n - 3)) - 2 * triples / (n * (n - 1) * (n - 2))


@pytest.mark.parametrize("debiased", [False, True])
def test_invariant_to_rotation_scaling_and_translation(rng, debiased):
    x = rng.normal(size=(30, 6))
    q = ortho_group.rvs(6, random_state=1)
    res = linear_cka(_da(x), _da(3 * x @ q + 1), debiased=debiased, null=None)
    assert float(res.score) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("shape", [(12, 30), (40, 5)])  # Gram-matrix and feature-space paths
def test_linear_cka_matches_the_centring_matrix_formula(rng, shape):
    x, y = rng.normal(size=shape), rng.normal(size=(shape[0], 7)) + 2.0
    assert linear_cka_arrays(x, y) == pytest.approx(_slow_cka(x, y), rel=1e-10)


def test_debiased_cka_matches_the_u_statistic(rng):
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    k, l_ = x @ x.T, y @ y.T  # the U-statistic is translation invariant, so no centring needed
    expected = _slow_unbiased_hsic(k, l_) / np.sqrt(_slow_unbiased_hsic(k, k) * _slow_unbiased_hsic(l_, l_))
    assert linear_cka_arrays(x, y, debiased=True) == pytest.approx(expected, rel=1e-9)


def test_sensitive_to_invertible_maps_while_cca_is_not(rng):
    # X with orthonormal centred columns: CKA(X, XW) = tr(A) / (sqrt(n) ||A||_F), A = W Wᵀ,
    # whose expectation over Gaussian W is sqrt(n / (2n + 1)) -> 1/sqrt(2) ≈ 0.71
    n = 40
    z = rng.normal(size=(300, n))
    x = np.linalg.qr(z - z.mean(axis=0))[0]  # combinations of centred columns stay centred
    scores = []
    for _ in range(30):
        w = rng.normal(size=(n, n))
        a = w @ w.T
        score = float(linear_cka(_da(x), _da(x @ w), null=None).score)
        assert score == pytest.approx(np.trace(a) / (np.sqrt(n) * np.linalg.norm(a)), rel=1e-9)
        scores.append(score)
    # Monte Carlo: sd over W is ~0.008, so the mean of 30 is within 0.004 of its expectation;
    # the ratio-of-expectations value differs from it by < 0.004 at n = 40
    assert np.mean(scores) == pytest.approx(np.sqrt(n / (2 * n + 1)), abs=0.01)
    assert np.mean(scores) == pytest.approx(1 / np.sqrt(2), abs=0.02)
    w = rng.normal(size=(n, n))
    assert float(cca(_da(x), _da(x @ w), null=None).score) == pytest.approx(1.0, abs=1e-9)


def test_chance_levels_for_independent_wide_matrices(rng):
    # E tr(KL) / sqrt(E tr(K²) E tr(L²)) = n / (S + n) for S × n Gaussian matrices (Wishart moments)
    s, n = 100, 1000
    x, y = rng.normal(size=(s, n)), rng.normal(size=(s, n))
    assert linear_cka_arrays(x, y) == pytest.approx(n / (s + n), abs=0.01)  # ≈ 0.91
    # the debiased estimate has sd ≈ 0.015 across draws
    assert abs(linear_cka_arrays(x, y, debiased=True)) < 0.06


def test_symmetric(rng):
    x, y = _da(rng.normal(size=(20, 4))), _da(rng.normal(size=(20, 9)))
    for debiased in (False, True):
        a = float(linear_cka(x, y, debiased=debiased, null=None).score)
        assert a == pytest.approx(float(linear_cka(y, x, debiased=debiased, null=None).score), rel=1e-12)


def test_works_on_trial_time_unit_arrays(rng):
    x = _da(rng.normal(size=(5, 4, 3)), ("trial", "time", "unit"))
    res = linear_cka(x, x * 2, n_shuffles=10, rng=0)
    assert float(res.score) == pytest.approx(1.0) and res.attrs["null"] == "shuffle:trial"


def test_constant_representation_is_refused(rng):
    # it used to give NaN; a constant representation has no similarity structure
    with pytest.raises(ValueError, match="x must vary across samples; got 6 samples that are all equal"):
        linear_cka_arrays(np.ones((6, 2)), rng.normal(size=(6, 2)))
    with pytest.raises(ValueError, match="y must vary across samples"):
        linear_cka_arrays(rng.normal(size=(6, 2)), np.full((6, 2), 0.1), debiased=True)


def test_array_errors(rng):
    with pytest.raises(ValueError, match="x and y must have the same number of samples; got 5 and 6"):
        linear_cka_arrays(rng.normal(size=(5, 2)), rng.normal(size=(6, 2)))
    with pytest.raises(ValueError, match="x must have at least 4 samples; got 3"):
        linear_cka_arrays(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), debiased=True)
