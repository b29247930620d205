"""Angular Procrustes distance and the generalized shape metrics of Williams et al. (2021).

Each representation ``X`` (samples × n) is column-centred and mapped to a partially
whitened version ``φ_α(X) = X (α I + (1 - α) C^{-1/2})`` with ``C`` its covariance. The
distance is the angle between the two mapped representations after the best
orthogonal alignment (zero-padding the one with fewer units)::

    d_α(X, Y) = arccos( ||φ_α(X)ᵀ φ_α(Y)||_* / (||φ_α(X)||_F ||φ_α(Y)||_F) )

``||·||_*`` is the nuclear norm. ``α = 1`` is the angular Procrustes distance (invariant
to translation, isotropic scaling and rotation); ``α = 0`` whitens fully, so the
distance only sees the column space (``cos d_0`` is the mean canonical correlation
when both have the same number of units) and is invariant to any invertible linear map.
Because ``φ_α`` is fixed per representation and the angle is a metric on the orbits of
the orthogonal group, ``d_α`` is symmetric and satisfies the triangle inequality. The
distance lies in [0, π/2] radians.

Two conventions differ at ``0 < α < 1`` (they agree at ``α = 0`` and ``α = 1``):

* ``"scaled"`` (the default): so that the two terms of ``φ_α`` have comparable size
  for every α, each representation is first scaled to the Frobenius norm of its
  whitened version (``sqrt(S · rank)``). The distance is then invariant to isotropic
  scaling for every α, not only at the ends: a network's rates in arbitrary units and
  a recording in spikes/s compare the same whatever their units. In singular-value
  form, with ``X = U diag(s) Vᵀ``, the map becomes ``φ_α(X) = U diag(α s + (1 - α) √S) Vᵀ``
  on the numerical column space.
* ``"netrep"``: the convention of netrep's ``LinearMetric(alpha=α)`` (Williams et al.
  2021; ``netrep.utils.whiten``): ``C = XᵀX`` without dividing by ``S``, eigenvalues
  clipped below at 1e-7, so ``φ_α(X) = U diag(α s + (1 - α)) Vᵀ`` for singular values
  above ``sqrt(1e-7)``. Its distance changes when one representation is rescaled, and
  matches netrep's numbers.

Either way the distance depends only on ``U`` and the transformed singular values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_probability, check_samples
from neurodis.analysis.similarity._align import stacked_values
from neurodis.analysis.similarity._linalg import centered_svd
from neurodis.analysis.similarity.nulls import score_with_null

__all__ = ["CONVENTIONS", "procrustes_distance", "shape_distance", "shape_distance_arrays"]

#: Conventions for the partial whitening at 0 < α < 1 (see the module docstring).
CONVENTIONS = ("scaled", "netrep")

# netrep.utils.whiten clips the covariance eigenvalues (squared singular values) here,
# and skips whitening altogether for alpha > 1 - this value.
_NETREP_EIGVAL_TOL = 1e-7


def _whitened_factors(x_sxn: np.ndarray, alpha: float, convention: str) -> tuple[np.ndarray, np.ndarray]:
    """``(U, t)`` with ``φ_α(X) = U diag(t) Vᵀ`` after normalisation."""
    u_sxr, s_r = centered_svd(x_sxn)
    if convention == "netrep":
        if alpha > 1.0 - _NETREP_EIGVAL_TOL:
            return u_sxr, s_r
        return u_sxr, s_r * (alpha + (1.0 - alpha) / np.sqrt(np.maximum(s_r**2, _NETREP_EIGVAL_TOL)))
    n_samples = x_sxn.shape[0]
    if s_r.size:
        s_r = s_r * np.sqrt(n_samples * s_r.size) / np.linalg.norm(s_r)
    return u_sxr, alpha * s_r + (1.0 - alpha) * np.sqrt(n_samples)


def shape_distance_arrays(
    x_sxn: np.ndarray, y_sxm: np.ndarray, *, alpha: float = 1.0, convention: str = "scaled"
) -> float:
    """Generalized shape distance (radians) between two sample-matched matrices.

    Parameters
    ----------
    x_sxn, y_sxm : ndarray
        Representations with samples along rows; the numbers of columns may differ.
    alpha : float
        Whitening parameter in [0, 1]: 0 is CCA-like, 1 is angular Procrustes.
    convention : {"scaled", "netrep"}
        Partial whitening at ``0 < alpha < 1`` (see the module docstring): ``"scaled"``
        is invariant to isotropic scaling, ``"netrep"`` reproduces netrep's ``LinearMetric``.

    Returns
    -------
    float
        Angle in [0, π/2].

    Raises
    ------
    ValueError
        If ``alpha`` is outside [0, 1], ``convention`` is unknown, the numbers of samples differ, or either
        representation is constant or has fewer than 2 samples.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(30, 4))
    >>> q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    >>> round(shape_distance_arrays(x, 3 * x @ q + 1), 6)
    0.0
    """
    alpha = check_probability("alpha", alpha)
    check_in("convention", convention, CONVENTIONS)
    check_samples("x", x_sxn)
    check_samples("y", y_sxm)
    if x_sxn.shape[0] != y_sxm.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples; got {x_sxn.shape[0]} and {y_sxm.shape[0]}"
        )
    ux, tx = _whitened_factors(x_sxn, alpha, convention)
    uy, ty = _whitened_factors(y_sxm, alpha, convention)
    norm = np.linalg.norm(tx) * np.linalg.norm(ty)
    # singular values of φ(X)ᵀφ(Y) equal those of diag(tx) UxᵀUy diag(ty)
    core = tx[:, None] * (ux.T @ uy) * ty[None, :]
    cosine = np.linalg.svd(core, compute_uv=False).sum() / norm
    return float(np.arccos(np.clip(cosine, -1.0, 1.0)))


def shape_distance(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    alpha: float = 1.0,
    convention: str = "scaled",
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Generalized shape distance (Williams et al. 2021) between two labelled representations.

    Parameters
    ----------
    x, y : xarray.DataArray
        Representations with a ``unit`` dim and the same, aligned sample dims.
    alpha : float
        0 (full whitening, CCA-like) … 1 (angular Procrustes).
    convention : {"scaled", "netrep"}
        Partial whitening at ``0 < alpha < 1``. The default ``"scaled"`` is invariant to
        isotropic scaling of either representation at every α, which a comparison of
        network rates (arbitrary units) with recorded rates needs; ``"netrep"`` gives
        netrep's ``LinearMetric(alpha=...)`` numbers, which change with the units of the
        data. Both agree at α = 0 and α = 1.
    null, n_shuffles, shuffle_dim, rng
        The null distribution and its randomness, as in
        :func:`~neurodis.analysis.similarity.linear_cka`.

    Returns
    -------
    xarray.Dataset
        ``score`` (angle in radians; smaller is more similar, so the p-value counts null
        draws at most as large), ``null``, ``p_value`` and provenance attrs.

    Raises
    ------
    ValueError
        If ``alpha`` is outside [0, 1], ``convention`` is unknown, the arrays do not align, or either is constant
        or has fewer than 2 samples.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = xr.DataArray(np.random.default_rng(1).normal(size=(10, 3)), dims=("condition", "unit"))
    >>> res = shape_distance(x, -x, alpha=0.5, n_shuffles=10, rng=0)
    >>> round(float(res.score), 6)
    0.0
    """
    alpha = check_probability("alpha", alpha)
    check_in("convention", convention, CONVENTIONS)

    def score_fn(xa: xr.DataArray, ya: xr.DataArray, seed: np.random.SeedSequence) -> tuple[float, dict]:
        return shape_distance_arrays(stacked_values(xa), stacked_values(ya), alpha=alpha, convention=convention), {}

    return score_with_null(
        "shape_distance", score_fn, x, y, params={"alpha": alpha, "convention": convention}, higher_is_similar=False,
        null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim, rng=rng,
    )


def procrustes_distance(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Angular Procrustes distance: :func:`shape_distance` with ``alpha=1``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = xr.DataArray(np.eye(3), dims=("condition", "unit"))
    >>> float(procrustes_distance(x, x[:, ::-1], null=None).score) < 1e-7
    True
    """
    result = shape_distance(x, y, alpha=1.0, null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim, rng=rng)
    result.attrs["metric"] = "procrustes_distance"
    return result
