"""Centred kernel alignment (CKA) with a linear kernel, plain and debiased.

Linear CKA (Kornblith et al. 2019) compares the sample-by-sample similarity structure
of two representations ``X`` (samples × n) and ``Y`` (samples × m), column-centred::

    CKA(X, Y) = ||XᵀY||²_F / (||XᵀX||_F ||YᵀY||_F)

It is invariant to orthogonal transforms, isotropic scaling and translation of either
representation, but not to general invertible linear maps: for ``X`` with orthonormal
columns and a random square Gaussian ``W``, ``CKA(X, XW) → 1/√2 ≈ 0.71``.

Its plug-in HSIC estimator is biased when units outnumber samples: two independent
100 × 1000 Gaussian matrices have CKA ≈ n / (S + n) ≈ 0.91. Debiased CKA replaces each
HSIC by the unbiased U-statistic of Song et al. (2012) (used for CKA by Nguyen et al.
2021 and Murphy et al. 2024), whose value for independent representations is ≈ 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_samples
from neurodis.analysis.similarity._align import stacked_values
from neurodis.analysis.similarity._linalg import center
from neurodis.analysis.similarity.nulls import score_with_null

__all__ = ["linear_cka", "linear_cka_arrays"]


def _unbiased_hsic(k_sxs: np.ndarray, l_sxs: np.ndarray) -> float:
    """Song et al. (2012) U-statistic for HSIC from two Gram matrices."""
    n = k_sxs.shape[0]
    k_sxs = k_sxs.copy()
    l_sxs = l_sxs.copy()
    np.fill_diagonal(k_sxs, 0.0)
    np.fill_diagonal(l_sxs, 0.0)
    k_row, l_row = k_sxs.sum(axis=0), l_sxs.sum(axis=0)
    trace = np.sum(k_sxs * l_sxs)
    sums = k_row.sum() * l_row.sum() / ((n - 1) * (n - 2))
    cross = 2.0 / (n - 2) * (k_row @ l_row)
    return float((trace + sums - cross) / (n * (n - 3)))


def linear_cka_arrays(x_sxn: np.ndarray, y_sxm: np.ndarray, *, debiased: bool = False) -> float:
    """Linear CKA of two sample-matched matrices (plain arrays).

    Parameters
    ----------
    x_sxn, y_sxm : ndarray
        Representations with samples along rows; columns (units) may differ in number.
    debiased : bool
        Use the unbiased HSIC estimator (needs at least 4 samples).

    Returns
    -------
    float
        CKA in [0, 1] (debiased CKA may be slightly negative).

    Raises
    ------
    ValueError
        If the numbers of samples differ, either representation is constant or has
        fewer than 2 samples (4 when ``debiased``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(20, 5))
    >>> round(linear_cka_arrays(x, 3 * x + 1), 12)
    1.0
    """
    min_samples = 4 if debiased else 2  # the unbiased HSIC divides by n (n - 3)
    check_samples("x", x_sxn, min_samples=min_samples)
    check_samples("y", y_sxm, min_samples=min_samples)
    x_sxn, y_sxm = center(x_sxn), center(y_sxm)
    n_samples = x_sxn.shape[0]
    if y_sxm.shape[0] != n_samples:
        raise ValueError(f"x and y must have the same number of samples; got {n_samples} and {y_sxm.shape[0]}")
    if debiased:
        k_sxs, l_sxs = x_sxn @ x_sxn.T, y_sxm @ y_sxm.T
        denom = _unbiased_hsic(k_sxs, k_sxs) * _unbiased_hsic(l_sxs, l_sxs)
        return float(_unbiased_hsic(k_sxs, l_sxs) / np.sqrt(denom)) if denom > 0 else float("nan")
    if n_samples <= max(x_sxn.shape[1], y_sxm.shape[1]):
        # Gram matrices are the smaller objects when units outnumber samples
        k_sxs, l_sxs = x_sxn @ x_sxn.T, y_sxm @ y_sxm.T
        cross, norm_x, norm_y = np.sum(k_sxs * l_sxs), np.linalg.norm(k_sxs), np.linalg.norm(l_sxs)
    else:
        cross = np.linalg.norm(x_sxn.T @ y_sxm) ** 2
        norm_x, norm_y = np.linalg.norm(x_sxn.T @ x_sxn), np.linalg.norm(y_sxm.T @ y_sxm)
    denom = norm_x * norm_y
    return float(cross / denom) if denom > 0 else float("nan")


def linear_cka(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    debiased: bool = False,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Linear (or debiased) CKA between two labelled representations, with a null.

    Parameters
    ----------
    x, y : xarray.DataArray
        Representations with a ``unit`` dim and the same sample dims (e.g.
        ``(condition, unit)`` or ``(trial, time, unit)``), aligned coords; the sample
        dims are stacked into samples.
    debiased : bool
        Use the unbiased HSIC estimator (chance level ≈ 0 instead of ≈ n / (S + n)).
    null : {"shuffle"}, sequence of DataArray or None
        Null distribution: shuffle ``y`` along ``shuffle_dim``, score each given array
        (e.g. untrained networks' rates) against ``y``, or none.
    n_shuffles : int
        Number of shuffles.
    shuffle_dim : str, optional
        Dim to shuffle (default ``condition``, else ``trial``, else the first sample dim).
    rng : int, Generator, SeedSequence or None
        Source of randomness for the null.

    Returns
    -------
    xarray.Dataset
        ``score``, ``null`` (``null_draw``), ``p_value`` and provenance attrs.

    Raises
    ------
    ValueError
        If the arrays do not align (see ``align_pair``), either is constant or has
        fewer than 2 samples (4 when ``debiased``), or the null is misspecified.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = xr.DataArray(np.random.default_rng(0).normal(size=(12, 4)), dims=("condition", "unit"))
    >>> res = linear_cka(x, 2 * x + 5, n_shuffles=20, rng=0)
    >>> round(float(res.score), 6), float(res.p_value) < 0.1
    (1.0, True)
    """
    def score_fn(xa: xr.DataArray, ya: xr.DataArray, seed: np.random.SeedSequence) -> tuple[float, dict]:
        return linear_cka_arrays(stacked_values(xa), stacked_values(ya), debiased=debiased), {}

    return score_with_null(
        "debiased_cka" if debiased else "linear_cka", score_fn, x, y,
        params={"debiased": bool(debiased)}, higher_is_similar=True,
        null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim, rng=rng,
        min_samples=4 if debiased else 2,
    )
