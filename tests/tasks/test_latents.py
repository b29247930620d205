"""Latent priors: box, Gaussian copula and exact orthant restriction."""

import itertools

import numpy as np
import pytest
from scipy import stats

from neurodis.tasks.latents import (
    QUADRANT_OF_ORTHANT,
    LatentPrior,
    check_orthants,
    copula_factor,
    orthant_of,
    orthant_signs,
    orthant_to_quadrant,
    quadrant_of,
    quadrant_to_orthant,
    sample_latents,
)

N = 20_000


def test_the_orthant_geometry_is_defined_once_in_the_low_layer():
    import neurodis.latents
    import neurodis.tasks.latents

    for name in neurodis.latents.__all__:
        assert getattr(neurodis.tasks.latents, name) is getattr(neurodis.latents, name), name


def test_orthant_and_quadrant_codes_follow_the_conventions():
    x = np.array([[0.3, 0.2], [-0.3, 0.2], [-0.3, -0.2], [0.3, -0.2]])
    assert quadrant_of(x).tolist() == [1, 2, 3, 4]
    assert orthant_of(x).tolist() == [0, 1, 3, 2]
    x3 = np.array([[0.1, -0.1, -0.1], [-0.1, 0.1, -0.1]])
    assert orthant_of(x3).tolist() == [0b110, 0b101]


def test_quadrant_orthant_conversion_round_trips():
    quadrants = np.array([1, 2, 3, 4])
    assert orthant_to_quadrant(quadrant_to_orthant(quadrants)).tolist() == quadrants.tolist()
    assert quadrant_to_orthant(3) == 3 and orthant_to_quadrant(2) == 4
    signs = orthant_signs(quadrant_to_orthant(quadrants), 2)
    assert quadrant_of(0.1 * signs).tolist() == [1, 2, 3, 4]
    assert QUADRANT_OF_ORTHANT.tolist() == [1, 2, 4, 3]


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: quadrant_to_orthant([0, 1]), ValueError, r"quadrants must hold integers in \[1, 4\]; got \[0, 1\]"),
        (lambda: quadrant_to_orthant([1.0]), TypeError, "quadrants must be integers"),
        (lambda: orthant_to_quadrant(4), ValueError, r"orthants must hold integers in \[0, 3\]"),
        (lambda: quadrant_of(np.zeros((3, 3))), ValueError, r"latents must have shape \('any', 2\)"),
        (lambda: orthant_of(np.zeros(3)), ValueError, "latents must have 2 dimensions"),
        (lambda: orthant_of(np.full((2, 2), np.nan)), ValueError, "latents must be finite"),
        (lambda: check_orthants([], 2), ValueError, "orthants must hold at least one orthant code"),
        (lambda: check_orthants([1, 1], 2), ValueError, r"orthants must hold distinct orthant codes; got \[1, 1\]"),
        (lambda: check_orthants([4], 2), ValueError, r"orthants entry must be an integer in \[0, 3\]; got 4"),
        (lambda: check_orthants(3, 2), TypeError, "orthants must be a sequence of orthant codes; got 3"),
        (lambda: check_orthants("01", 2), TypeError, "orthants must be a sequence of orthant codes"),
        (lambda: copula_factor(3, -0.6), ValueError, r"latent_correlation must lie in \(-0.5, 1\) for 3 latent dims"),
        (lambda: copula_factor(2, 1.0), ValueError, r"latent_correlation must lie in \(-1, 1\)"),
        (lambda: copula_factor(2, float("nan")), ValueError, "latent_correlation must be a finite real number"),
        (lambda: LatentPrior(2, 0.3, [0]), ValueError, "orthants cannot be combined with latent_correlation"),
        (lambda: LatentPrior(0), ValueError, "n_dims must be an integer >= 1; got 0"),
        (lambda: sample_latents(0, 3, 2), TypeError, "rng must be a numpy.random.Generator; got int"),
        (lambda: sample_latents(np.random.default_rng(0), 0, 2), ValueError, "n_trials must be an integer >= 1"),
    ],
)
def test_bad_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_box_prior_has_uniform_independent_marginals(rng):
    x = sample_latents(rng, N, 3)
    assert x.min() >= -0.5 and x.max() < 0.5
    for i in range(3):
        assert stats.kstest(x[:, i], "uniform", args=(-0.5, 1.0)).pvalue > 1e-3
    rho = np.corrcoef(x.T)[np.triu_indices(3, 1)]
    assert np.all(np.abs(rho) < 5 / np.sqrt(N))  # 5 standard errors of a null correlation


@pytest.mark.parametrize("n_dims, rho", [(2, 0.6), (2, -0.4), (3, 0.3), (4, -0.2)])
def test_copula_gives_uniform_marginals_and_the_spearman_correlation(rng, n_dims, rho):
    x = sample_latents(rng, N, n_dims, correlation=rho)
    for i in range(n_dims):
        assert stats.kstest(x[:, i], "uniform", args=(-0.5, 1.0)).pvalue > 1e-3
    ranks = stats.rankdata(x, axis=0)
    spearman = np.corrcoef(ranks.T)[np.triu_indices(n_dims, 1)]
    expected = 6 / np.pi * np.arcsin(rho / 2)
    # the sd of Spearman's rho is below 1/sqrt(n-1) for any true correlation
    np.testing.assert_allclose(spearman, expected, atol=5 / np.sqrt(N - 1))


def test_copula_factor_reproduces_the_equicorrelation_matrix():
    factor = copula_factor(4, -0.25)
    np.testing.assert_allclose(factor @ factor.T, 1.25 * np.eye(4) - 0.25, atol=1e-14)


QUADRANT_SUBSETS = [s for r in range(1, 5) for s in itertools.combinations((1, 2, 3, 4), r)]


@pytest.mark.parametrize("quadrants", QUADRANT_SUBSETS, ids=lambda q: "Q" + "".join(map(str, q)))
def test_orthant_sampling_never_leaves_the_allowed_quadrants(quadrants):
    prior = LatentPrior(2, orthants=quadrant_to_orthant(list(quadrants)).tolist())
    seen = []
    for seed in range(25):
        x = prior.sample(np.random.default_rng(seed), 200)
        assert set(quadrant_of(x).tolist()) <= set(quadrants)
        assert np.all(np.abs(x) > 0) and np.all(np.abs(x) <= 0.5)
        seen.append(quadrant_of(x))
    counts = np.bincount(np.concatenate(seen), minlength=5)[list(quadrants)]
    # each allowed quadrant equally likely: binomial counts within 5 standard errors
    n, p = 25 * 200, 1 / len(quadrants)
    assert np.all(np.abs(counts - n * p) < 5 * np.sqrt(n * p * (1 - p)) + 1e-9)


@pytest.mark.parametrize("orthants", [(0,), (1, 6), (0, 3, 5, 7), tuple(range(8))])
def test_orthant_sampling_in_three_dims_is_exact_and_uniform(orthants):
    x = sample_latents(np.random.default_rng(sum(orthants)), N, 3, orthants=orthants)
    assert set(orthant_of(x).tolist()) == set(orthants)
    magnitudes = 2 * np.abs(x)
    for i in range(3):  # |x_i| uniform on (0, 0.5] inside every orthant
        assert stats.kstest(magnitudes[:, i], "uniform").pvalue > 1e-3
