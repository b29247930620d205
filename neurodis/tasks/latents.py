"""Latent variables: the box prior, correlated latents and orthant restriction.

Every latent-box task draws its ground truth ``x`` from :class:`LatentPrior`:

- the paper's prior: each coordinate i.i.d. uniform on [-0.5, 0.5];
- correlated latents through a Gaussian copula: ``z ~ N(0, R)`` with equal pairwise
  correlation ``rho`` (``R = (1 - rho) I + rho 11ᵀ``), ``x = Φ(z) - 0.5``, so every
  marginal stays uniform while Spearman's rho between any two coordinates is
  ``(6/π) asin(rho/2)``;
- the box restricted to a set of orthants, sampled *exactly*: the magnitudes
  ``|x_i|`` are uniform on (0, 0.5] and the signs are those of an orthant chosen
  uniformly from the allowed set. All orthants have the same volume, so this is the
  uniform distribution on their union, and no draw can land outside it (no rejection
  loop that could under-fill a batch, no per-trial indexing).

Orthants are named by a binary code (bit ``i`` set when ``x_i < 0``); the orthant and
quadrant helpers live in :mod:`neurodis.latents`, where the analyses can reach them too,
and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.special import ndtr

from neurodis._validation import check_int, check_memory, check_real, check_type
from neurodis.latents import (
    QUADRANT_OF_ORTHANT,
    check_orthants,
    orthant_codes,
    orthant_coords,
    orthant_of,
    orthant_signs,
    orthant_to_quadrant,
    quadrant_code,
    quadrant_codes,
    quadrant_of,
    quadrant_to_orthant,
)

__all__ = [
    "QUADRANT_OF_ORTHANT",
    "LatentPrior",
    "check_orthants",
    "copula_factor",
    "orthant_codes",
    "orthant_coords",
    "orthant_of",
    "orthant_signs",
    "orthant_to_quadrant",
    "quadrant_code",
    "quadrant_codes",
    "quadrant_of",
    "quadrant_to_orthant",
    "sample_latents",
]

def copula_factor(n_dims: int, correlation: float) -> np.ndarray:
    """Lower Cholesky factor of the equicorrelation matrix ``(1-ρ)I + ρ11ᵀ``.

    Raises
    ------
    ValueError
        If ``correlation`` is outside (-1/(D-1), 1), where the matrix is not positive
        definite, or the (D, D) matrix would not fit in memory.
    """
    correlation = check_real("latent_correlation", correlation)
    check_memory("n_dims", n_dims, 16.0 * n_dims**2,
                 "the latent correlation matrix and its Cholesky factor (dim, dim) float64",
                 advice="reduce n_dims or use latent_correlation=0")
    if n_dims > 1:
        low = -1.0 / (n_dims - 1)
        if not low < correlation < 1.0:
            raise ValueError(
                f"latent_correlation must lie in ({low:.6g}, 1) for {n_dims} latent dims; "
                f"got {correlation}"
            )
    matrix = np.full((n_dims, n_dims), correlation) + (1.0 - correlation) * np.eye(n_dims)
    return np.linalg.cholesky(matrix)


class LatentPrior:
    """The distribution of the latent ``x``, validated once and sampled fast.

    Parameters
    ----------
    n_dims : int
        Number of latent dimensions D (>= 1).
    correlation : float
        Equal pairwise correlation of the Gaussian copula (0 = independent uniforms).
    orthants : sequence of int, optional
        Orthant codes to restrict the box to; ``None`` means the whole box. Cannot be
        combined with a non-zero correlation (the copula is not symmetric under
        flipping single coordinates, so the magnitude/sign construction would not
        preserve it).

    Examples
    --------
    >>> prior = LatentPrior(2, orthants=[0, 3])
    >>> x = prior.sample(np.random.default_rng(0), 1000)
    >>> sorted(set(orthant_of(x).tolist()))
    [0, 3]
    """

    def __init__(self, n_dims: int, correlation: float = 0.0, orthants: Iterable[int] | None = None):
        self.n_dims = check_int("n_dims", n_dims, minimum=1)
        self.correlation = check_real("latent_correlation", correlation)
        self.orthants = None if orthants is None else check_orthants(orthants, self.n_dims)
        if self.orthants is not None and self.correlation != 0.0:
            raise ValueError(
                f"orthants cannot be combined with latent_correlation != 0; got orthants="
                f"{list(self.orthants)} and latent_correlation={self.correlation}"
            )
        self._factor = None if self.correlation == 0.0 else copula_factor(self.n_dims, self.correlation)
        self._signs = None if self.orthants is None else orthant_signs(self.orthants, self.n_dims)

    def sample(self, rng: np.random.Generator, n_trials: int) -> np.ndarray:
        """Draw ``n_trials`` latents, shape (n_trials, n_dims), float64.

        Raises
        ------
        TypeError
            If ``rng`` is not a numpy Generator or ``n_trials`` not an int.
        ValueError
            If ``n_trials`` < 0.
        """
        check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
        n_trials = check_int("n_trials", n_trials, minimum=0)
        if self._signs is not None:
            # magnitudes on (0, 0.5]: strictly non-zero, so every sign is the orthant's
            magnitude = 0.5 - 0.5 * rng.random((n_trials, self.n_dims))
            return magnitude * self._signs[rng.integers(len(self._signs), size=n_trials)]
        if self._factor is not None:
            z = rng.standard_normal((n_trials, self.n_dims)) @ self._factor.T
            return ndtr(z) - 0.5
        return rng.random((n_trials, self.n_dims)) - 0.5


def sample_latents(
    rng: np.random.Generator,
    n_trials: int,
    n_dims: int,
    *,
    correlation: float = 0.0,
    orthants: Iterable[int] | None = None,
) -> np.ndarray:
    """Draw latents from the box prior, the Gaussian copula or chosen orthants.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_trials, n_dims : int
    correlation : float
        Pairwise correlation of the Gaussian copula.
    orthants : sequence of int, optional
        Allowed orthant codes.

    Returns
    -------
    ndarray, shape (n_trials, n_dims)

    Raises
    ------
    TypeError
        If ``rng`` is not a Generator.
    ValueError
        If a count is not positive, the correlation is out of range, or the orthant
        codes are invalid.

    Examples
    --------
    >>> x = sample_latents(np.random.default_rng(0), 4, 2, orthants=quadrant_to_orthant([2]))
    >>> quadrant_of(x).tolist()
    [2, 2, 2, 2]
    """
    n_trials = check_int("n_trials", n_trials, minimum=1)
    if orthants is not None:
        orthants = np.atleast_1d(orthants).tolist()
    return LatentPrior(n_dims, correlation, orthants).sample(rng, n_trials)
