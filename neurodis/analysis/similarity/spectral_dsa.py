"""Spectral dynamical similarity: the distance between two systems' DMD eigenvalues.

A cheap relative of dynamical similarity analysis (DSA, Ostrow et al. 2023; the
published method is :func:`~neurodis.analysis.similarity.dsa`). Each system's
trajectories ``(…, time, unit)`` are delay-embedded (``n_delays`` consecutive states
per row, a Hankel matrix), centred, projected on their leading ``rank`` principal
components, and an affine one-step map ``z_{t+1} = z_t A + c`` is fitted by least
squares across all trajectories (dynamic mode decomposition, DMD, with an intercept so
that a constant offset does not appear as a mode). The score is the Wasserstein-1
distance between the two eigenvalue sets as uniform measures on the complex plane:
the mean ``|λ - μ|`` under the optimal one-to-one matching.

This is not dsa-metric's ``score_method="wasserstein"``, which fits its DMD without
centring or intercept, in whitened principal-component coordinates, and returns the
*squared* Wasserstein-2 distance (POT's ``emd2`` with squared Euclidean cost: the mean
``|λ - μ|²`` under the optimal matching); nor is it DSA's angular Procrustes distance
between the operators. Eigenvalues are invariant to every similarity transform
``A → T A T⁻¹``, so two linear systems ``x_{t+1} = A x_t`` and ``y = T x + b`` score 0,
while systems with different eigenvalues score the matching distance between them. The
score is blind to everything but the eigenvalues: two systems with the same spectrum
and different non-normal structure (different eigenvectors' angles) score 0, where
DSA's Procrustes distance does not. Eigenvalues are per time step, so both arrays must
share the time grid (enforced by the alignment of their ``time`` coords).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int
from neurodis.analysis.similarity._align import align_trajectories, trajectories
from neurodis.analysis.similarity.nulls import score_with_null
from neurodis.trials import MODE, TIME, UNIT

__all__ = ["dmd_eigenvalues", "spectral_distance", "spectral_dsa"]


def dmd_eigenvalues(x_rxtxn: np.ndarray, *, n_delays: int = 1, rank: int | None = None) -> np.ndarray:
    """Eigenvalues of the affine DMD operator fitted to delay-embedded trajectories.

    Parameters
    ----------
    x_rxtxn : ndarray
        Trajectories ``(trajectory, time, unit)``.
    n_delays : int
        Consecutive states per delay-embedded row.
    rank : int, optional
        Principal components kept (default all ``n_delays * n_units``).

    Returns
    -------
    ndarray of complex
        ``rank`` eigenvalues, largest modulus first.

    Raises
    ------
    ValueError
        If there are too few time steps or snapshot pairs for the requested fit.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[0.9, 0.0], [0.0, 0.5]])
    >>> x = np.empty((4, 10, 2)); x[:, 0] = np.random.default_rng(0).normal(size=(4, 2))
    >>> for t in range(9): x[:, t + 1] = x[:, t] @ a.T
    >>> np.round(dmd_eigenvalues(x).real, 8)
    array([0.9, 0.5])
    """
    n_delays = check_int("n_delays", n_delays, minimum=1)
    n_traj, n_steps, n_units = x_rxtxn.shape
    n_windows = n_steps - n_delays + 1
    if n_windows < 2:
        raise ValueError(f"time must have at least n_delays + 1 = {n_delays + 1} steps; got {n_steps}")
    rank = n_delays * n_units if rank is None else check_int("rank", rank, minimum=1, maximum=n_delays * n_units)
    n_pairs = n_traj * (n_windows - 1)
    if n_pairs <= rank:
        raise ValueError(
            f"the DMD fit needs more snapshot pairs than rank + 1 = {rank + 1}; got {n_pairs} "
            f"({n_traj} trajectories × {n_windows - 1} steps)"
        )
    hankel = np.concatenate([x_rxtxn[:, k : k + n_windows] for k in range(n_delays)], axis=-1)
    mean = hankel.reshape(-1, hankel.shape[-1]).mean(axis=0)
    _, _, vt = np.linalg.svd(hankel.reshape(-1, hankel.shape[-1]) - mean, full_matrices=False)
    z = (hankel - mean) @ vt[:rank].T  # (trajectory, window, rank)
    before = z[:, :-1].reshape(-1, rank)
    after = z[:, 1:].reshape(-1, rank)
    design = np.hstack([before, np.ones((before.shape[0], 1))])
    coef = np.linalg.lstsq(design, after, rcond=None)[0]
    eig = np.linalg.eigvals(coef[:rank])
    return eig[np.argsort(-np.abs(eig), kind="stable")]


def spectral_distance(eig_a: np.ndarray, eig_b: np.ndarray) -> float:
    """Mean |λ - μ| under the optimal one-to-one matching of two eigenvalue sets.

    Examples
    --------
    >>> spectral_distance(np.array([1.0, 0.5j]), np.array([0.5j, 0.9]))
    0.05
    """
    if eig_a.shape != eig_b.shape:
        raise ValueError(f"eigenvalue sets must have the same size; got {eig_a.shape} and {eig_b.shape}")
    from scipy.optimize import linear_sum_assignment

    cost = np.abs(eig_a[:, None] - eig_b[None, :])
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def _as_parts(eig: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        np.stack([eig.real, eig.imag], axis=-1), dims=(MODE, "part"), coords={"part": ["real", "imag"]}
    )


def spectral_dsa(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    n_delays: int = 1,
    rank: int | None = None,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Wasserstein-1 distance between two systems' DMD eigenvalues, with a null.

    Parameters
    ----------
    x, y : xarray.DataArray
        Trajectories with dims ``(…, time, unit)`` (e.g. ``(condition, time, unit)``),
        aligned on the sample dims; each entry of the non-time dims is one trajectory.
    n_delays : int
        Delay-embedding depth.
    rank : int, optional
        Principal components kept for each system (default
        ``min(10, n_delays * n_units)`` over both systems), so both spectra have the
        same size.
    null : {"shuffle"}, sequence of DataArray or None
        Null distribution; the default shuffles ``y`` along ``time`` (destroying its
        dynamics while keeping its states), which tests only that ``y`` has dynamics at
        all: two systems with different eigenvalues get a small p too. Other systems
        (e.g. untrained networks) can be given as a sequence.
    n_shuffles, shuffle_dim, rng
        As in :func:`~neurodis.analysis.similarity.linear_cka` (default shuffle dim ``time``).

    Returns
    -------
    xarray.Dataset
        ``score`` (W1 distance between the eigenvalue sets; smaller is more similar), ``null``, ``p_value``,
        ``eigenvalues_x`` and ``eigenvalues_y`` (``mode``, ``part``: real, imag) and
        provenance attrs.

    Raises
    ------
    ValueError
        If the arrays lack a ``time`` dim, do not align, are constant, or are too short
        for the fit.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> x = np.cumsum(rng.normal(size=(5, 30, 2)), axis=1)
    >>> dims = ("condition", "time", "unit")
    >>> mixed = x @ rng.normal(size=(2, 3)) + 4.0  # 3 units: an invertible map of x, shifted
    >>> res = spectral_dsa(xr.DataArray(x, dims=dims), xr.DataArray(mixed, dims=dims), null=None)
    >>> round(float(res.score), 8)
    0.0
    """
    n_delays = check_int("n_delays", n_delays, minimum=1)
    x, y, dims = align_trajectories(x, y)
    if rank is None:
        rank = min(10, n_delays * x.sizes[UNIT], n_delays * y.sizes[UNIT])
    rank = check_int("rank", rank, minimum=1)

    def score_fn(xa: xr.DataArray, ya: xr.DataArray, seed: np.random.SeedSequence) -> tuple[float, dict]:
        ex = dmd_eigenvalues(trajectories(xa), n_delays=n_delays, rank=rank)
        ey = dmd_eigenvalues(trajectories(ya), n_delays=n_delays, rank=rank)
        return spectral_distance(ex, ey), {"eigenvalues_x": _as_parts(ex), "eigenvalues_y": _as_parts(ey)}

    return score_with_null(
        "spectral_dsa", score_fn, x, y,
        params={"n_delays": n_delays, "rank": rank, "method": "eigenvalue_wasserstein", "affine": True},
        higher_is_similar=False, null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim, rng=rng,
        preferred_shuffle_dims=(TIME,),
    )
