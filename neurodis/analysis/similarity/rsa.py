"""Representational similarity analysis (RSA): RDMs and their rank comparison.

A representational dissimilarity matrix (RDM) holds a dissimilarity for every pair of
*items* (conditions, or condition × time points). Two representations are compared by
the rank correlation of their RDMs' upper triangles (Kriegeskorte et al. 2008):
Spearman's ρ, or Kendall's τ_a, which Nili et al. (2014) recommend when a model RDM
has ties (τ_b and ρ reward tied model predictions).

Items come from the sample dims of the array:

* without a ``trial`` dim, every entry of the stacked sample dims is one item;
* with a ``trial`` dim beside other sample dims, or with ``by`` naming a coord on
  ``trial`` (trials sharing a value form one item), trials are repeated measurements
  of their item and are averaged (or split into folds for the cross-validated
  distance);
* with only a ``trial`` dim and no ``by``, every trial is an item.

Distances between item patterns ``μ_i`` over ``n`` units:

* ``"correlation"``: ``1 - Pearson r`` of the two patterns;
* ``"euclidean"``: ``||μ_i - μ_j||``;
* ``"cv_euclidean"``: the cross-validated squared distance per unit,
  ``mean_{a≠b} (μ_i^a - μ_j^a)·(μ_i^b - μ_j^b) / n`` over independent folds ``a, b`` of
  each item's trials (trial k goes to fold ``k mod n_folds``). Noise shared by no two
  folds cancels, so it estimates ``||μ_i - μ_j||² / n`` without the positive bias of the
  plain distance (and can be negative); it needs trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_int, check_samples, describe
from neurodis.analysis.similarity.nulls import score_with_null
from neurodis.trials import TRIAL, UNIT

__all__ = ["kendall_tau_a", "rdm", "rsa"]

DISTANCES = ("correlation", "euclidean", "cv_euclidean")
COMPARISONS = ("spearman", "kendall_tau_a")
ITEM_I, ITEM_J = "item_i", "item_j"


def kendall_tau_a(a: Any, b: Any) -> float:
    """Kendall's τ_a: (concordant - discordant pairs) / all pairs; ties count as neither.

    Computed in O(n log n) from scipy's τ_b and the tie counts, using
    ``τ_a = τ_b · sqrt((n0 - t_a)(n0 - t_b)) / n0`` with ``n0 = n(n-1)/2`` and ``t_a``,
    ``t_b`` the pairs tied in ``a`` and in ``b``.

    Raises
    ------
    ValueError
        If ``a`` and ``b`` are not 1-D of the same length >= 2.

    Examples
    --------
    >>> kendall_tau_a([1, 2, 3, 4], [1, 1, 2, 2])  # τ_b would be 0.894
    0.6666666666666666
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size < 2:
        raise ValueError(
            f"a and b must be 1-D of the same length >= 2; got shapes {a.shape} and {b.shape}"
        )
    n_pairs = a.size * (a.size - 1) / 2

    def tied_pairs(v: np.ndarray) -> float:
        counts = np.unique(v, return_counts=True)[1].astype(np.float64)
        return float(np.sum(counts * (counts - 1) / 2))

    from scipy import stats  # scipy.stats is slow to import; only RSA needs it

    untied_a, untied_b = n_pairs - tied_pairs(a), n_pairs - tied_pairs(b)
    if untied_a == 0 or untied_b == 0:
        return 0.0  # a constant ranking has no concordant or discordant pairs
    tau_b = stats.kendalltau(a, b, variant="b").statistic
    return float(tau_b * np.sqrt(untied_a * untied_b) / n_pairs)


def _items(da: xr.DataArray, by: str | None) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Split ``da`` into items, each a ``(repeat, unit)`` matrix, with per-item labels."""
    sample_dims = [d for d in da.dims if d != UNIT]
    if by is not None and (by not in da.coords or da.coords[by].dims != (TRIAL,)):
        raise ValueError(
            f"by must name a coord along {TRIAL!r}; got {by!r} for an array with dims "
            f"{tuple(da.dims)} and coords {sorted(da.coords)}"
        )
    repeats = by is not None or (TRIAL in sample_dims and len(sample_dims) > 1)
    rest = [d for d in sample_dims if d != TRIAL] if repeats else sample_dims
    values = da.transpose(*([TRIAL] if repeats else []), *rest, UNIT).values.astype(np.float64)
    if not repeats:
        values = values[None]
    shape_rest = [da.sizes[d] for d in rest]
    values = values.reshape(values.shape[0], -1, values.shape[-1])  # (repeat, rest, unit)
    grid = np.meshgrid(*[np.asarray(da[d].values) for d in rest], indexing="ij") if rest else []
    rest_labels = {d: g.reshape(-1) for d, g in zip(rest, grid)} if rest else {}
    if by is None:
        return [values[:, r] for r in range(values.shape[1])], rest_labels
    groups, inverse = np.unique(da.coords[by].values, return_inverse=True)
    items = [values[inverse == g, r] for g in range(groups.size) for r in range(values.shape[1])]
    labels = {by: np.repeat(groups, int(np.prod(shape_rest)))}
    labels.update({d: np.tile(v, groups.size) for d, v in rest_labels.items()})
    return items, labels


def _cv_sq_distances(items: list[np.ndarray], n_folds: int) -> np.ndarray:
    fold_means = np.stack(
        [np.stack([item[f::n_folds].mean(axis=0) for item in items]) for f in range(n_folds)]
    )  # (fold, item, unit)
    n_items, n_units = fold_means.shape[1:]
    total = np.zeros((n_items, n_items))
    for a in range(n_folds):
        for b in range(n_folds):
            if a != b:
                g = fold_means[a] @ fold_means[b].T
                total += np.diag(g)[:, None] + np.diag(g)[None, :] - g - g.T
    out = total / (n_folds * (n_folds - 1) * n_units)
    np.fill_diagonal(out, 0.0)
    return out


def _rdm_values(items: list[np.ndarray], distance: str, n_folds: int, name: str) -> np.ndarray:
    if distance == "cv_euclidean":
        short = [k for k, item in enumerate(items) if item.shape[0] < n_folds]
        if short:
            raise ValueError(
                f"{name} needs at least n_folds={n_folds} trials per item for distance='cv_euclidean'; "
                f"item {short[0]} has {items[short[0]].shape[0]} (give a 'trial' dim or by=...)"
            )
        return _cv_sq_distances(items, n_folds)
    means = check_samples(name, np.stack([item.mean(axis=0) for item in items]), samples="items", vary=False)
    if distance == "euclidean":
        diff = means[:, None, :] - means[None, :, :]
        return np.sqrt(np.sum(diff**2, axis=-1))
    flat = np.flatnonzero(np.ptp(means, axis=1) == 0)
    if flat.size:
        raise ValueError(
            f"{name} item {int(flat[0])} has the same value in every unit; its correlation distance is undefined"
        )
    out = 1.0 - np.corrcoef(means)
    np.fill_diagonal(out, 0.0)
    return out


def rdm(x: xr.DataArray, *, distance: str = "correlation", by: str | None = None, n_folds: int = 2) -> xr.DataArray:
    """Representational dissimilarity matrix of a labelled representation.

    Parameters
    ----------
    x : xarray.DataArray
        Representation with a ``unit`` dim and at least one sample dim (see the module
        docstring for how items and trials are formed).
    distance : {"correlation", "euclidean", "cv_euclidean"}
        Dissimilarity between item patterns.
    by : str, optional
        Coord along ``trial`` whose values define the items.
    n_folds : int
        Folds of each item's trials for ``"cv_euclidean"``.

    Returns
    -------
    xarray.DataArray
        Dims ``(item_i, item_j)``, with each item's labels as coords ``<label>_i`` and
        ``<label>_j``; attrs ``distance``, ``by`` and ``n_folds``.

    Raises
    ------
    TypeError
        If ``x`` is not a DataArray.
    ValueError
        For an unknown ``distance``, a missing ``unit`` dim, fewer than 2 items, a ``by``
        that is not a trial coord, too few trials per item, or a flat pattern under the
        correlation distance.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = xr.DataArray([[0.0, 0.0], [3.0, 4.0]], dims=("condition", "unit"), coords={"condition": [1, 2]})
    >>> rdm(x, distance="euclidean").values
    array([[0., 5.],
           [5., 0.]])
    """
    check_in("distance", distance, DISTANCES)
    n_folds = check_int("n_folds", n_folds, minimum=2)
    if not isinstance(x, xr.DataArray) or UNIT not in x.dims or x.ndim < 2:
        kind = TypeError if not isinstance(x, xr.DataArray) else ValueError
        raise kind(f"x must be a DataArray with a {UNIT!r} dim and a sample dim; got {describe(x)}")
    items, labels = _items(x, by)
    values = _rdm_values(items, distance, n_folds, "x")
    coords = {f"{k}_i": (ITEM_I, v) for k, v in labels.items()}
    coords.update({f"{k}_j": (ITEM_J, v) for k, v in labels.items()})
    return xr.DataArray(
        values, dims=(ITEM_I, ITEM_J), coords=coords,
        attrs={"distance": distance, "by": by or "", "n_folds": n_folds},
    )


def _upper(matrix: np.ndarray) -> np.ndarray:
    return matrix[np.triu_indices(matrix.shape[0], k=1)]


def rsa(
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    distance: str = "correlation",
    compare: str = "spearman",
    by: str | None = None,
    n_folds: int = 2,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
) -> xr.Dataset:
    """Compare the RDMs of two labelled representations by rank correlation, with a null.

    Parameters
    ----------
    x, y : xarray.DataArray
        Representations with a ``unit`` dim and the same, aligned sample dims.
    distance, by, n_folds
        As in :func:`rdm`; ``by`` may be a coord of only one of the two arrays.
    compare : {"spearman", "kendall_tau_a"}
        Rank correlation of the RDMs' upper triangles.
    null : {"shuffle"}, sequence of DataArray or None
        Null distribution; shuffling ``condition`` permutes items (each keeps its trials);
        shuffling ``trial`` permutes the stacked entries of every sample dim together
        (``condition × trial``, and ``time`` where it labels items), so each measurement
        can land in any item. A permutation along ``trial`` alone would leave every
        item with its own trials and the RDM unchanged: a degenerate null (p = 1).
    n_shuffles, shuffle_dim, rng
        See :func:`~neurodis.analysis.similarity.linear_cka`.

    Returns
    -------
    xarray.Dataset
        ``score``, ``null``, ``p_value``, the two RDMs ``rdm_x`` and ``rdm_y``
        (``item_i``, ``item_j``) and provenance attrs.

    Raises
    ------
    ValueError
        For unknown options, misaligned arrays, constant arrays, fewer than 3 items (3
        RDM entries), RDMs whose entries are all equal, or as :func:`rdm`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = xr.DataArray(np.random.default_rng(0).normal(size=(6, 5)), dims=("condition", "unit"))
    >>> res = rsa(x, 2 * x + 1, null=None)
    >>> float(res.score), res.rdm_x.shape
    (1.0, (6, 6))
    """
    check_in("distance", distance, DISTANCES)
    check_in("compare", compare, COMPARISONS)
    n_folds = check_int("n_folds", n_folds, minimum=2)
    from scipy import stats

    def score_fn(xa: xr.DataArray, ya: xr.DataArray, seed: np.random.SeedSequence) -> tuple[float, dict]:
        if by is not None and by in ya.coords and by not in xa.coords:
            xa = xa.assign_coords({by: ya.coords[by]})
        if by is not None and by in xa.coords and by not in ya.coords:
            ya = ya.assign_coords({by: xa.coords[by]})
        rx, ry = rdm(xa, distance=distance, by=by, n_folds=n_folds), rdm(ya, distance=distance, by=by, n_folds=n_folds)
        # 3 items give the fewest pairs (3) whose ranks can correlate; equal distances have no ranks
        a = check_samples("x", _upper(rx.values), min_samples=3, samples="RDM entries (item pairs)")
        b = check_samples("y", _upper(ry.values), min_samples=3, samples="RDM entries (item pairs)")
        if compare == "spearman":  # Pearson r of average ranks (scipy's spearmanr is slow here)
            score = np.corrcoef(stats.rankdata(a), stats.rankdata(b))[0, 1]
        else:
            score = kendall_tau_a(a, b)
        return float(score), {"rdm_x": rx.drop_attrs(), "rdm_y": ry.drop_attrs()}

    return score_with_null(
        "rsa", score_fn, x, y,
        params={"distance": distance, "compare": compare, "by": by, "n_folds": n_folds},
        higher_is_similar=True, null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim, rng=rng,
        shuffle_together=_shuffle_together,
    )


def _shuffle_together(dim: str, sample_dims: tuple[str, ...]) -> tuple[str, ...]:
    """Dims permuted together by a shuffle of ``dim``: a trial shuffle moves trials between items."""
    return sample_dims if dim == TRIAL else (dim,)
