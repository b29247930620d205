"""A score pooled over networks and their repeated evaluations, with a bootstrap interval over networks.

A network's held-out r² is measured on several folds and in several independent
evaluations. They are not independent draws of the quantity a reader generalises over:
a new experiment trains new networks. :func:`pooled_bootstrap` therefore reports the
statistic (default the median) of every value of every network pooled together, and an
interval from resampling whole networks, each with all its folds and evaluations (a
cluster bootstrap). With one value per network it resamples exactly as
:func:`~neurodis.analysis.bootstrap_scores` does over that dim.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int, check_probability, check_rng, check_type, describe, rng_provenance
from neurodis._version import __version__
from neurodis.analysis.similarity.bootstrap import confidence_interval

__all__ = ["pooled_bootstrap"]

#: Resampled values held at once (float64 entries, 32 MiB).
_CHUNK_ENTRIES = 2**22


def pooled_bootstrap(
    scores: xr.DataArray,
    dim: str,
    *,
    pool: Sequence[str] = (),
    statistic: Callable[..., Any] = np.nanmedian,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    rng: Any = None,
) -> xr.Dataset:
    """Statistic of scores pooled over ``dim`` × ``pool``, with a percentile interval over ``dim``.

    Parameters
    ----------
    scores : xarray.DataArray
        Scores with the resampled ``dim`` (e.g. ``seed``: one entry per network) and
        the ``pool`` dims (e.g. ``fold``, ``repeat``); every other dim is kept (one
        result per condition, all resampled with the same draws).
    dim : str
        The dim whose entries are the independent units (>= 2 entries).
    pool : sequence of str
        Dims pooled within each unit and resampled with it.
    statistic : callable
        ``statistic(values, axis=-1)``: a reduction such as :func:`numpy.nanmedian`
        (the default; NaN values, e.g. a variable a stored result lacks, are skipped).
    n_resamples : int
        Bootstrap draws (>= 2).
    confidence : float
        Coverage of the interval, in (0, 1).
    rng : int, Generator, SeedSequence or None
        Source of the draws.

    Returns
    -------
    xarray.Dataset
        ``score`` (the statistic of all pooled values), ``ci_low``, ``ci_high`` (the
        percentile interval) and ``n_units`` (units with at least one finite value)
        over the kept dims; attrs ``statistic``, ``resampled_dim``, ``pooled_dims``,
        ``n_resamples``, ``confidence``, the rng provenance and the version.

    Raises
    ------
    TypeError
        If ``scores`` is not a DataArray or ``statistic`` is not callable.
    ValueError
        If ``dim`` is not a dim with >= 2 entries, a ``pool`` entry is not another dim
        of ``scores`` (or is given twice), the statistic does not reduce the last axis,
        or an option is out of range.

    Examples
    --------
    >>> r2 = xr.DataArray([[0.90, 0.91], [0.80, 0.82], [0.95, 0.96]], dims=("seed", "repeat"))
    >>> res = pooled_bootstrap(r2, "seed", pool=["repeat"], n_resamples=500, rng=0)
    >>> round(float(res["score"]), 3), float(res["ci_low"]) <= 0.905 <= float(res["ci_high"])
    (0.905, True)
    """
    check_type("scores", scores, xr.DataArray, "an xarray.DataArray of scores")
    if not isinstance(dim, str) or dim not in scores.dims:
        raise ValueError(f"dim must name a dim of scores {tuple(scores.dims)}; got {dim!r}")
    if scores.sizes[dim] < 2:
        raise ValueError(f"dim {dim!r} must have at least 2 entries to resample; got {scores.sizes[dim]}")
    pool = [pool] if isinstance(pool, str) else list(pool)
    if len(set(pool)) != len(pool) or any(p not in scores.dims or p == dim for p in pool):
        raise ValueError(f"pool must name distinct dims of scores {tuple(scores.dims)} other than {dim!r}; "
                         f"got {pool}")
    if not callable(statistic):
        raise TypeError(f"statistic must be callable like numpy.nanmedian; got {describe(statistic)}")
    n_resamples = check_int("n_resamples", n_resamples, minimum=2)
    confidence = check_probability("confidence", confidence, open_interval=True)
    kept = [d for d in scores.dims if d != dim and d not in pool]
    n_units = scores.sizes[dim]
    n_pooled = int(np.prod([scores.sizes[p] for p in pool]))
    values_kxnxp = scores.transpose(*kept, dim, *pool).values.astype(np.float64).reshape(-1, n_units, n_pooled)
    n_kept = values_kxnxp.shape[0]
    generator = check_rng(rng)
    provenance = rng_provenance(rng, generator)
    observed_k = _reduce(statistic, values_kxnxp.reshape(n_kept, -1))
    draws_bxk = np.empty((n_resamples, n_kept))
    chunk = max(1, _CHUNK_ENTRIES // values_kxnxp.size)
    for start in range(0, n_resamples, chunk):
        index_bxn = generator.integers(n_units, size=(min(chunk, n_resamples - start), n_units))
        resampled = values_kxnxp[:, index_bxn].reshape(n_kept, index_bxn.shape[0], -1)
        draws_bxk[start:start + index_bxn.shape[0]] = _reduce(statistic, resampled).T
    low_k, high_k = confidence_interval(draws_bxk, confidence=confidence)
    template = scores.isel({d: 0 for d in (dim, *pool)}, drop=True).transpose(*kept)
    template = template.drop_vars([c for c in template.coords if c not in template.dims and
                                   not set(template[c].dims) <= set(kept)])

    def kept_var(values_k: np.ndarray) -> xr.DataArray:
        return template.copy(data=values_k.reshape(template.shape)).drop_attrs()

    return xr.Dataset(
        {"score": kept_var(observed_k), "ci_low": kept_var(low_k), "ci_high": kept_var(high_k),
         "n_units": kept_var(np.any(np.isfinite(values_kxnxp), axis=2).sum(axis=1))},
        attrs={"statistic": str(getattr(statistic, "__name__", repr(statistic))), "resampled_dim": dim,
               "pooled_dims": json.dumps(pool), "n_resamples": n_resamples, "confidence": confidence,
               **provenance, "neurodis_version": __version__},
    )


def _reduce(statistic: Callable[..., Any], values: np.ndarray) -> np.ndarray:
    """``statistic(values, axis=-1)`` as float64, checked to reduce exactly the last axis."""
    with warnings.catch_warnings():  # a unit or condition with no finite value gives NaN, said by n_units
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        out = np.asarray(statistic(values, axis=-1), dtype=np.float64)
    if out.shape != values.shape[:-1]:
        raise ValueError(f"statistic must reduce the last axis like numpy.nanmedian(values, axis=-1); got shape "
                         f"{out.shape} from values of shape {values.shape}")
    return out
