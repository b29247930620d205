"""Null distributions and p-values shared by every similarity metric.

A similarity score means little on its own: CKA between two unrelated 100 × 1000
matrices is about 0.91. Each metric therefore reports its score beside a null
distribution, drawn either by shuffling the second array's samples along one dim (a
condition or trial shuffle: the pairing of samples is broken, each array's own
structure is kept) or from a user-supplied sample of representations that should not
match, such as the rates of untrained networks of the same size. The p-value counts
the observed score itself as one draw, so it is never 0::

    p = (1 + #{null at least as similar as observed}) / (1 + n_null)

:func:`score_with_null` is the driver every metric calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int, check_rng, check_samples, describe, rng_provenance
from neurodis._version import __version__
from neurodis.analysis.similarity._align import align_pair, stacked_values
from neurodis.trials import CONDITION, TRIAL

__all__ = ["NULL_DIM", "permutation_p_value", "score_with_null", "shuffle_along"]

#: Dim of the null distribution in every result.
NULL_DIM = "null_draw"

#: ``score_fn(x, y, seed) -> (score, extra variables)``; ``seed`` fixes any randomness
#: inside the metric (e.g. cross-validation folds) identically for the observed score and
#: every null draw, so only the shuffle differs between them.
ScoreFn = Callable[[xr.DataArray, xr.DataArray, np.random.SeedSequence], tuple[float, Mapping[str, Any]]]

#: ``null_fn(x, y, n_draws, metric_seed, null_seed) -> scores``: a metric's own null
#: (e.g. DSA's surrogate systems), drawn from ``null_seed``.
NullFn = Callable[
    [xr.DataArray, xr.DataArray, int, np.random.SeedSequence, np.random.SeedSequence], np.ndarray
]


def permutation_p_value(observed: float, null: Any, *, greater: bool = True) -> float:
    """One-sided permutation p-value, counting the observed score as one draw.

    Parameters
    ----------
    observed : float
        The observed score.
    null : array-like of float
        Scores under the null; non-finite draws are ignored.
    greater : bool
        ``True`` when larger scores mean more similar (p counts null >= observed),
        ``False`` for distances (p counts null <= observed).

    Returns
    -------
    float
        ``(1 + k) / (1 + n)``; NaN when ``observed`` is not finite or ``null`` is empty.

    Examples
    --------
    >>> permutation_p_value(0.9, [0.1, 0.95, 0.3, 0.2])
    0.4
    >>> permutation_p_value(0.2, [0.1, 0.95, 0.3, 0.2], greater=False)
    0.6
    """
    null = np.asarray(null, dtype=np.float64).ravel()
    null = null[np.isfinite(null)]
    if not np.isfinite(observed) or null.size == 0:
        return float("nan")
    hits = np.sum(null >= observed) if greater else np.sum(null <= observed)
    return float((1 + hits) / (1 + null.size))


def shuffle_along(da: xr.DataArray, dim: str | Sequence[str], rng: Any = None) -> xr.DataArray:
    """Permute the values of ``da`` along ``dim``; coords stay where they were.

    With several dims, their entries are stacked and permuted together: every
    ``(condition, trial)`` cell may land in any other, so a trial can move to another
    condition (one permutation along ``trial`` alone would keep each condition's trials).

    Raises
    ------
    ValueError
        If ``dim`` names no dim of ``da``, or names one twice.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.arange(6).reshape(3, 2), dims=("condition", "unit"))
    >>> sorted(shuffle_along(da, "condition", rng=0).values[:, 0].tolist())
    [0, 2, 4]
    >>> cells = xr.DataArray(np.arange(6).reshape(2, 3, 1), dims=("condition", "trial", "unit"))
    >>> sorted(shuffle_along(cells, ("condition", "trial"), rng=0).values.ravel().tolist())
    [0, 1, 2, 3, 4, 5]
    """
    dims = (dim,) if isinstance(dim, str) else tuple(dim)
    bad = [d for d in dims if d not in da.dims]
    if bad or not dims or len(set(dims)) != len(dims):
        raise ValueError(f"dim must be one of the dims {tuple(da.dims)} (or several distinct ones); got {dim!r}")
    rest = [d for d in da.dims if d not in dims]
    values = da.transpose(*dims, *rest).values
    flat = values.reshape(-1, *values.shape[len(dims):])
    flat = flat[check_rng(rng).permutation(flat.shape[0])]
    shuffled = xr.DataArray(flat.reshape(values.shape), dims=(*dims, *rest)).transpose(*da.dims)
    return da.copy(data=shuffled.values)


def _shuffle_dim(dims: tuple[str, ...], shuffle_dim: str | None, preferred: Sequence[str]) -> str:
    if shuffle_dim is None:
        return next((d for d in preferred if d in dims), dims[0])
    if shuffle_dim not in dims:
        raise ValueError(f"shuffle_dim must be one of the sample dims {dims}; got {shuffle_dim!r}")
    return shuffle_dim


def _null_scores(
    score_fn: ScoreFn, x: xr.DataArray, y: xr.DataArray, dims: tuple[str, ...], *,
    null: Any, n_shuffles: int, shuffle_dim: str | None, preferred: Sequence[str],
    shuffle_together: Callable[[str, tuple[str, ...]], tuple[str, ...]] | None,
    own_nulls: Mapping[str, NullFn], metric_seed: np.random.SeedSequence, null_seed: np.random.SeedSequence,
    min_samples: int,
) -> tuple[np.ndarray, str]:
    kinds = ", ".join(repr(k) for k in ("shuffle", *own_nulls))
    if shuffle_dim is not None:  # refused whatever the null, so that a typo never passes silently
        _shuffle_dim(dims, shuffle_dim, preferred)
    if null is None:
        return np.empty(0), "none"
    if isinstance(null, str):
        if null != "shuffle" and null not in own_nulls:
            raise ValueError(f"null must be {kinds}, None or a sequence of DataArrays; got {null!r}")
        n_shuffles = check_int("n_shuffles", n_shuffles, minimum=1)
        if null in own_nulls:
            return np.asarray(own_nulls[null](x, y, n_shuffles, metric_seed, null_seed), dtype=np.float64), null
        dim = _shuffle_dim(dims, shuffle_dim, preferred)
        if y.sizes[dim] < 2:
            raise ValueError(f"shuffle_dim {dim!r} must have at least 2 entries to shuffle; got {y.sizes[dim]}")
        group = (dim,) if shuffle_together is None else shuffle_together(dim, dims)
        gen = np.random.default_rng(null_seed)
        scores = [score_fn(x, shuffle_along(y, group, gen), metric_seed)[0] for _ in range(n_shuffles)]
        return np.asarray(scores, dtype=np.float64), "shuffle:" + "+".join(group)
    if isinstance(null, xr.DataArray) or not isinstance(null, Sequence) or len(null) == 0:
        raise TypeError(
            f"null must be {kinds}, None or a non-empty sequence of DataArrays (e.g. untrained "
            f"networks' rates); got {describe(null)}"
        )
    scores = []
    for k, other in enumerate(null):
        xk, yk, _ = align_pair(other, y, names=(f"null[{k}]", "y"))
        check_samples(f"null[{k}]", stacked_values(xk), min_samples=min_samples)
        scores.append(score_fn(xk, yk, metric_seed)[0])
    return np.asarray(scores, dtype=np.float64), "sample"


def score_with_null(
    metric: str,
    score_fn: ScoreFn,
    x: xr.DataArray,
    y: xr.DataArray,
    *,
    params: Mapping[str, Any],
    higher_is_similar: bool,
    null: str | Sequence[xr.DataArray] | None = "shuffle",
    n_shuffles: int = 100,
    shuffle_dim: str | None = None,
    rng: Any = None,
    preferred_shuffle_dims: Sequence[str] = (CONDITION, TRIAL),
    shuffle_together: Callable[[str, tuple[str, ...]], tuple[str, ...]] | None = None,
    own_nulls: Mapping[str, NullFn] | None = None,
    min_samples: int = 2,
) -> xr.Dataset:
    """Align ``x`` and ``y``, score them, draw the null and assemble the result.

    Parameters
    ----------
    metric : str
        Name stored in ``attrs["metric"]``.
    score_fn : callable
        ``score_fn(x, y, seed) -> (score, extras)`` on aligned arrays of dims
        ``(*sample_dims, unit)``; ``extras`` maps names to extra result variables.
    x, y : xarray.DataArray
        The two representations (see :func:`align_pair`).
    params : mapping
        The metric's parameters, stored as JSON in ``attrs["params"]``.
    higher_is_similar : bool
        Direction of the score (``False`` for distances).
    null : {"shuffle"}, a key of ``own_nulls``, sequence of DataArray or None
        ``"shuffle"`` permutes ``y`` along ``shuffle_dim`` ``n_shuffles`` times (``attrs["null"]``
        is ``"shuffle:<dims permuted together, joined by '+'>"``); a
        sequence of arrays (e.g. untrained networks' rates, each aligned with ``y``)
        is scored against ``y`` in place of ``x``; ``None`` skips the null.
    n_shuffles : int
        Number of shuffles.
    shuffle_dim : str, optional
        Sample dim to shuffle; default the first of ``preferred_shuffle_dims`` present,
        else the first sample dim.
    rng : int, Generator, SeedSequence or None
        The one source of randomness (shuffles and the metric's own randomness).
    preferred_shuffle_dims : sequence of str
        Order in which the default shuffle dim is chosen.
    shuffle_together : callable, optional
        ``shuffle_together(shuffle_dim, sample_dims) -> dims``: the dims whose stacked
        entries are permuted together when ``shuffle_dim`` is shuffled (default: that dim
        alone). RSA uses it so that a trial shuffle moves trials between items.
    own_nulls : mapping of str to callable, optional
        The metric's own kinds of null, by name (accepted as ``null``; ``n_shuffles``
        draws each): ``null_fn(x, y, n_draws, metric_seed, null_seed) -> scores``.
    min_samples : int
        Fewest samples (entries of the stacked sample dims) the metric can use; every
        representation (``x``, ``y``, each null array) must have that many and must vary
        across them (see :func:`neurodis._validation.check_samples`).

    Returns
    -------
    xarray.Dataset
        ``score`` (scalar), ``null`` (``null_draw``), ``p_value`` (scalar), the extras, and
        provenance attrs: ``metric``, ``params``, ``null``, ``higher_is_similar``,
        ``sample_dims``, ``n_samples``, ``n_units_x``, ``n_units_y``, ``seed``,
        ``rng_state``, ``neurodis_version``.

    Raises
    ------
    TypeError
        If ``null`` is neither a string, ``None`` nor a sequence of DataArrays.
    ValueError
        If the arrays do not align, have fewer than ``min_samples`` samples or are
        constant, ``null`` is another string, or ``shuffle_dim`` is not a sample dim or
        has fewer than 2 entries.
    """
    x, y, dims = align_pair(x, y)
    check_samples("x", stacked_values(x), min_samples=min_samples)
    check_samples("y", stacked_values(y), min_samples=min_samples)
    gen = check_rng(rng)
    provenance = rng_provenance(rng, gen)
    metric_seed, null_seed = np.random.SeedSequence(gen.integers(2**63, size=2)).spawn(2)
    score, extras = score_fn(x, y, metric_seed)
    draws, kind = _null_scores(
        score_fn, x, y, dims, null=null, n_shuffles=n_shuffles, shuffle_dim=shuffle_dim,
        preferred=preferred_shuffle_dims, shuffle_together=shuffle_together, own_nulls=own_nulls or {},
        metric_seed=metric_seed, null_seed=null_seed, min_samples=min_samples,
    )
    result = xr.Dataset(
        {
            "score": float(score),
            "null": ((NULL_DIM,), draws),
            "p_value": permutation_p_value(score, draws, greater=higher_is_similar),
            **extras,
        },
        attrs={
            "metric": metric,
            "params": json.dumps(dict(params), sort_keys=True, default=str),
            "null": kind,
            "higher_is_similar": int(higher_is_similar),
            "sample_dims": json.dumps(list(dims)),
            "n_samples": int(np.prod([x.sizes[d] for d in dims])),
            "n_units_x": int(x.sizes["unit"]),
            "n_units_y": int(y.sizes["unit"]),
            **provenance,
            "neurodis_version": __version__,
        },
    )
    return result
