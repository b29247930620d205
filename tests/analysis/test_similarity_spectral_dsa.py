"""Spectral dynamical similarity: known answers from linear systems."""

import itertools

import numpy as np
import pytest
import xarray as xr
from threadpoolctl import threadpool_limits

from neurodis.analysis.similarity import dmd_eigenvalues, spectral_distance, spectral_dsa


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _system(eigenvalues, rng, n_traj=12, n_steps=25):
    """Trajectories of x_{t+1} = A x_t with A = P diag-block(eigenvalues) P⁻¹ (real A)."""
    blocks = []
    for lam in eigenvalues:
        if np.iscomplex(lam):
            blocks.append(np.array([[lam.real, -lam.imag], [lam.imag, lam.real]]))
        else:
            blocks.append(np.array([[lam.real]]))
    n = sum(b.shape[0] for b in blocks)
    a = np.zeros((n, n))
    k = 0
    for b in blocks:
        a[k : k + b.shape[0], k : k + b.shape[0]] = b
        k += b.shape[0]
    p = rng.normal(size=(n, n))
    a = p @ a @ np.linalg.inv(p)
    x = np.empty((n_traj, n_steps, n))
    x[:, 0] = rng.normal(size=(n_traj, n))
    for t in range(n_steps - 1):
        x[:, t + 1] = x[:, t] @ a.T
    return x


def _spectrum(eigenvalues):
    """All eigenvalues (complex ones with their conjugates)."""
    out = []
    for lam in eigenvalues:
        out += [lam, np.conj(lam)] if np.iscomplex(lam) else [lam]
    return np.array(out, dtype=complex)


def _da(values):
    return xr.DataArray(values, dims=("condition", "time", "unit"))


def _brute_force_distance(a, b):
    return min(np.mean(np.abs(a - b[list(p)])) for p in itertools.permutations(range(len(b))))


EIGS = [0.9 * np.exp(0.3j), 0.7, -0.4]


@pytest.mark.parametrize("n_delays", [1, 3])
def test_recovers_the_eigenvalues_of_a_linear_system(rng, n_delays):
    x = _system(EIGS, rng)
    eig = dmd_eigenvalues(x, n_delays=n_delays, rank=4)
    assert _brute_force_distance(eig, _spectrum(EIGS)) < 1e-8


def test_similarity_transformed_systems_score_zero(rng):
    x = _system(EIGS, rng)
    t = rng.normal(size=(4, 6))  # an injective linear map into 6 units, plus an offset
    res = spectral_dsa(_da(x), _da(x @ t + 3.0), rank=4, n_shuffles=20, rng=0)
    assert float(res.score) < 1e-8
    assert float(res.p_value) == 1 / 21  # shuffling time destroys the dynamics
    eig = res.eigenvalues_x.sel(part="real") + 1j * res.eigenvalues_x.sel(part="imag")
    assert _brute_force_distance(eig.values, _spectrum(EIGS)) < 1e-8


def test_different_eigenvalues_score_their_matching_distance(rng):
    other = [0.8 * np.exp(0.5j), 0.2, 0.95]
    x, y = _system(EIGS, rng), _system(other, rng)
    res = spectral_dsa(_da(x), _da(y), rank=4, null=None)
    expected = _brute_force_distance(_spectrum(EIGS), _spectrum(other))
    assert expected > 0.1
    assert float(res.score) == pytest.approx(expected, abs=1e-8)


def test_symmetric(rng):
    x, y = _da(_system(EIGS, rng)), _da(_system([0.5, 0.1j + 0.3, 0.9], rng))
    assert float(spectral_dsa(x, y, null=None).score) == pytest.approx(float(spectral_dsa(y, x, null=None).score), abs=1e-12)


def test_spectral_distance_by_hand():
    assert spectral_distance(np.array([0.0, 1.0]), np.array([1.0, 0.5])) == pytest.approx(0.25)


def test_errors(rng):
    x = _system(EIGS, rng, n_traj=2, n_steps=4)
    with pytest.raises(ValueError, match=r"x and y must have a 'time' dim for dynamical similarity; got sample dims \('condition',\)"):
        spectral_dsa(xr.DataArray(x[:, 0], dims=("condition", "unit")), xr.DataArray(x[:, 0], dims=("condition", "unit")))
    with pytest.raises(ValueError, match=r"time must have at least n_delays \+ 1 = 5 steps; got 4"):
        dmd_eigenvalues(x, n_delays=4)
    with pytest.raises(ValueError, match=r"the DMD fit needs more snapshot pairs than rank \+ 1 = 5; got 4"):
        dmd_eigenvalues(x, n_delays=2, rank=4)
    with pytest.raises(ValueError, match=r"rank must be an integer in \[1, 4\]; got 9"):
        dmd_eigenvalues(x, rank=9)
    with pytest.raises(ValueError, match="n_delays must be an integer >= 1; got 0"):
        spectral_dsa(_da(x), _da(x), n_delays=0)
    with pytest.raises(ValueError, match="rank must be an integer >= 1; got 0"):
        spectral_dsa(_da(x), _da(x), rank=0)
    with pytest.raises(ValueError, match=r"eigenvalue sets must have the same size; got \(2,\) and \(1,\)"):
        spectral_distance(np.zeros(2), np.zeros(1))
