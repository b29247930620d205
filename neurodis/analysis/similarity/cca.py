"""Canonical correlation analysis (CCA) and singular-vector CCA (SVCCA).

The canonical correlations of column-centred ``X`` and ``Y`` are the cosines of the
principal angles between their column spaces: the singular values of ``UxᵀUy``, with
``Ux``, ``Uy`` orthonormal bases of those spaces. They are invariant to any invertible
linear map of either representation, so ``CCA(X, XW) = 1`` for every invertible ``W``.
SVCCA (Raghu et al. 2017) first keeps the leading singular directions of each
representation (enough to explain a fraction ``keep`` of its variance, or a fixed
number), which discards low-variance noise dimensions before the CCA.

When ``rank(X) + rank(Y)`` exceeds the number of samples the column spaces must
intersect and at least ``rank(X) + rank(Y) - S`` correlations equal 1 whatever the data;
a :class:`~neurodis._validation.NeurodisWarning` says so.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import NeurodisWarning, check_int, check_real, check_samples
from neurodis.analysis.similarity._align import stacked_values
from neurodis.analysis.similarity._linalg import centered_svd
from neurodis.analysis.similarity.nulls import score_with_null
from neurodis.trials import MODE

__all__ = ["canonical_correlations", "cca", "svcca"]


def _check_keep(keep: Any) -> float | None:
    if keep is None:
        return None
    if isinstance(keep, numbers.Integral) and not isinstance(keep, bool):
        return check_int("keep", keep, minimum=1)
    return check_real("keep", keep, minimum=0.0, maximum=1.0, strict_minimum=True)


def _keep_columns(u_sxr: np.ndarray, s_r: np.ndarray, keep: float | None) -> np.ndarray:
    """The leading ``keep`` columns (a count, or enough to explain that variance fraction)."""
    if keep is None:
        return u_sxr
    if isinstance(keep, int):
        return u_sxr[:, :keep]
    explained = np.cumsum(s_r**2) / np.sum(s_r**2)
    return u_sxr[:, : int(np.searchsorted(explained, keep - 1e-12) + 1)]


def canonical_correlations(
    x_sxn: np.ndarray, y_sxm: np.ndarray, *, keep: float | None = None, stacklevel: int = 2
) -> np.ndarray:
    """Canonical correlations of two sample-matched matrices, largest first (plain arrays).

    Parameters
    ----------
    x_sxn, y_sxm : ndarray
        Representations with samples along rows.
    keep : float, int or None
        SVCCA step: keep the leading singular directions explaining this fraction of the
        variance (float in (0, 1]) or this many directions (int); ``None`` keeps the whole
        numerical column space (plain CCA).
    stacklevel : int
        Passed to :func:`warnings.warn` so the warning points at user code.

    Returns
    -------
    ndarray
        ``min(r_x, r_y)`` correlations in [0, 1].

    Raises
    ------
    ValueError
        If the numbers of samples differ, ``keep`` is out of range, or a matrix is constant
        or has fewer than 2 samples.

    Warns
    -----
    NeurodisWarning
        When the kept ranks sum to more than the number of samples (correlations of 1
        are then guaranteed).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(50, 3))
    >>> np.round(canonical_correlations(x, x @ rng.normal(size=(3, 3))), 8)
    array([1., 1., 1.])
    """
    if x_sxn.shape[0] != y_sxm.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples; got {x_sxn.shape[0]} and {y_sxm.shape[0]}"
        )
    keep = _check_keep(keep)
    bases = []
    for name, array in (("x", x_sxn), ("y", y_sxm)):
        u_sxr, s_r = centered_svd(check_samples(name, array))
        bases.append(_keep_columns(u_sxr, s_r, keep))
    n_samples = x_sxn.shape[0]
    if bases[0].shape[1] + bases[1].shape[1] > n_samples:
        warnings.warn(
            f"CCA of ranks {bases[0].shape[1]} and {bases[1].shape[1]} on only {n_samples} samples: "
            f"at least {bases[0].shape[1] + bases[1].shape[1] - n_samples} correlations are 1 "
            "whatever the data; use fewer units (SVCCA keep=...) or more samples",
            NeurodisWarning, stacklevel=stacklevel,
        )
    return np.clip(np.linalg.svd(bases[0].T @ bases[1], compute_uv=False), 0.0, 1.0)


def _cca_result(
    metric: str, x: xr.DataArray, y: xr.DataArray, keep: float | None, n_components: int | None,
    null: Any, n_shuffles: int, shuffle_dim: str | None, rng: Any,
) -> xr.Dataset:
    if n_components is not None:
        n_components = check_int("n_components", n_components, minimum=1)
    keep = _check_keep(keep)

    def score_fn(xa: xr.DataArray, ya: xr.DataArray, seed: np.random.SeedSequence) -> tuple[float, dict]:
        rho = canonical_correlations(stacked_values(xa), stacked_values(ya), keep=keep, stacklevel=6)
        rho = rho[:n_components]
        return float(rho.mean()), {"correlations": ((MODE,), rho)}

    return score_with_null(
        metric, score_fn, x, y, params={"keep": keep, "n_components": n_components},
        higher_is_similar=True, null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim, rng=rng,
    )


def cca(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    n_components: int | None = None,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Mean canonical correlation between two labelled representations, with a null.

    Parameters
    ----------
    x, y : xarray.DataArray
        Representations with a ``unit`` dim and the same, aligned sample dims.
    n_components : int, optional
        Average only the leading correlations (default: all ``min(r_x, r_y)``).
    null, n_shuffles, shuffle_dim, rng
        The null distribution and its randomness, as in
        :func:`~neurodis.analysis.similarity.linear_cka`.

    Returns
    -------
    xarray.Dataset
        ``score`` (mean correlation), ``correlations`` (``mode``), ``null``, ``p_value``
        and provenance attrs.

    Raises
    ------
    ValueError
        If the arrays do not align, either is constant, or ``n_components`` < 1.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> x = xr.DataArray(rng.normal(size=(40, 3)), dims=("trial", "unit"))
    >>> y = xr.DataArray(x.values @ rng.normal(size=(3, 5)), dims=("trial", "unit"))
    >>> round(float(cca(x, y, null=None).score), 6)
    1.0
    """
    return _cca_result("cca", x, y, None, n_components, null, n_shuffles, shuffle_dim, rng)


def svcca(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    keep: float = 0.99,
    n_components: int | None = None,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """SVCCA: CCA on each representation's leading singular directions.

    Parameters
    ----------
    x, y : xarray.DataArray
        Representations with a ``unit`` dim and the same, aligned sample dims.
    keep : float or int
        Fraction of variance (float in (0, 1]) or number of directions (int) kept.
    n_components, null, n_shuffles, shuffle_dim, rng
        As in :func:`cca`.

    Returns
    -------
    xarray.Dataset
        As :func:`cca`.

    Raises
    ------
    ValueError
        If ``keep`` is out of range, or as :func:`cca`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> x = xr.DataArray(rng.normal(size=(40, 6)), dims=("trial", "unit"))
    >>> svcca(x, x, keep=2, null=None).sizes["mode"]
    2
    """
    return _cca_result("svcca", x, y, keep, n_components, null, n_shuffles, shuffle_dim, rng)
