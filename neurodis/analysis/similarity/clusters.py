"""Cluster-mass correction for time-resolved scores (Maris & Oostenveld 2007).

A score computed at every time point (RSA in sliding windows, CKA per time bin, the
paired difference of two families over time) tested point by point makes as many
tests as there are time points. The cluster-mass test controls the family-wise error
over time while keeping the power of effects that last:

1. At every time point a one-sample t statistic across the replicates (sessions,
   seeds) tests the scores against 0 (or the paired differences ``a - b``).
2. Time points beyond the cluster-forming ``threshold`` (``|t|`` for a two-sided test,
   ``t`` for ``"greater"``, ``-t`` for ``"less"``) form clusters: runs of neighbours along
   ``dim`` with the same sign. A cluster's mass is the sum of its t values.
3. Under the null each replicate's whole time course is as likely with its sign
   flipped, which keeps the temporal autocorrelation. Every sign flip gives a largest
   cluster mass (0 without clusters), and a cluster's p-value is the share of these
   maxima at least as large as its mass, counting the observed data as one flip::

       p = (1 + #{max null mass >= |mass|}) / (1 + n_permutations)

   Since every cluster is compared with the distribution of the largest one, the chance
   of any false cluster with ``p <= alpha`` is at most ``alpha``.

The threshold only decides what counts as a cluster, not the error rate; the default is
the t quantile of an uncorrected test at 0.05.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_in,
    check_int,
    check_probability,
    check_real,
    check_rng,
    check_type,
    rng_provenance,
)
from neurodis._version import __version__
from neurodis.analysis.similarity.nulls import NULL_DIM
from neurodis.trials import TIME

__all__ = ["CLUSTER_DIM", "cluster_test", "max_cluster_mass"]

#: Dim of the clusters found in a result.
CLUSTER_DIM = "cluster"

TAILS = ("two-sided", "greater", "less")


def _t_statistic(values_bxnxt: np.ndarray) -> np.ndarray:
    """One-sample t over axis -2; 0 where the replicates do not vary (no evidence either way)."""
    n = values_bxnxt.shape[-2]
    mean = values_bxnxt.mean(axis=-2)
    sd = values_bxnxt.std(axis=-2, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / np.sqrt(n))
    return np.where(sd > 0, t, 0.0)


def _signed(t_bxt: np.ndarray, tail: str) -> list[tuple[int, np.ndarray]]:
    """The statistic in each tested direction, oriented so that clusters lie above the threshold."""
    if tail == "two-sided":
        return [(1, t_bxt), (-1, -t_bxt)]
    return [(1, t_bxt)] if tail == "greater" else [(-1, -t_bxt)]


def _run_labels(supra_bxt: np.ndarray) -> np.ndarray:
    """Label runs of True along the last axis 1, 2, ... in each row (0 outside runs)."""
    starts = supra_bxt & ~np.concatenate([np.zeros_like(supra_bxt[:, :1]), supra_bxt[:, :-1]], axis=1)
    return np.cumsum(starts, axis=1) * supra_bxt


def max_cluster_mass(t_bxt: np.ndarray, threshold: float, tail: str) -> np.ndarray:
    """Largest cluster mass (in the tested direction) of each row; 0 without clusters.

    Examples
    --------
    >>> t = np.array([[0.0, 3.0, 2.5, 0.0, -4.0, -4.0]])
    >>> max_cluster_mass(t, 2.0, "two-sided"), max_cluster_mass(t, 2.0, "greater")
    (array([8.]), array([5.5]))
    """
    t_bxt = np.asarray(t_bxt, dtype=np.float64)
    n_rows, n_time = t_bxt.shape
    best = np.zeros(n_rows)
    for _, oriented in _signed(t_bxt, tail):
        labels = _run_labels(oriented > threshold)
        # one bin per (row, run): a run can be at most every other point, so n_time bins per row suffice
        flat = (labels + np.arange(n_rows)[:, None] * (n_time + 1)).ravel()
        mass = np.bincount(flat, weights=np.where(labels > 0, oriented, 0.0).ravel(), minlength=n_rows * (n_time + 1))
        mass = mass.reshape(n_rows, n_time + 1)[:, 1:]
        best = np.maximum(best, mass.max(axis=1, initial=0.0))
    return best


def _observed_clusters(t_t: np.ndarray, threshold: float, tail: str) -> list[tuple[int, int, int, float]]:
    """``(start, stop, sign, mass)`` of each observed cluster (stop exclusive), by start."""
    found = []
    for sign, oriented in _signed(t_t[None], tail):
        labels = _run_labels(oriented > threshold)[0]
        for label in range(1, int(labels.max(initial=0)) + 1):
            where = np.flatnonzero(labels == label)
            found.append((int(where[0]), int(where[-1]) + 1, sign, float(oriented[0, where].sum())))
    return sorted(found)


def cluster_test(
    a: xr.DataArray,
    b: xr.DataArray | None = None,
    *,
    dim: str = TIME,
    sample_dim: str = "session",
    threshold: float | None = None,
    tail: str = "two-sided",
    alpha: float = 0.05,
    n_permutations: int = 1000,
    rng: Any = None,
) -> xr.Dataset:
    """Cluster-mass sign-flip test of time-resolved scores against 0 (or paired ``a - b``).

    Parameters
    ----------
    a : xarray.DataArray
        Scores ``(sample_dim, dim)``: one time course per replicate (session, seed), e.g.
        a score minus its chance level.
    b : xarray.DataArray, optional
        Scores of a second family on the same replicates and time points; the test is
        then on the paired differences ``a - b``.
    dim : str
        The dim along which neighbours form clusters (``time``).
    sample_dim : str
        The replicates (at least 2), whose signs are flipped.
    threshold : float, optional
        Cluster-forming threshold on the t statistic (> 0); default the ``1 - 0.05/2``
        (two-sided) or ``0.95`` (one-sided) quantile of Student's t with ``n - 1`` degrees
        of freedom.
    tail : {"two-sided", "greater", "less"}
        Direction tested; two-sided clusters of either sign compete with one null of the
        largest ``|mass|``.
    alpha : float
        Family-wise level for the ``significant`` mask, in (0, 1).
    n_permutations : int
        Random sign flips.
    rng : int, Generator, SeedSequence or None
        Source of the sign flips.

    Returns
    -------
    xarray.Dataset
        Along ``dim`` (with its coords): ``statistic`` (t), ``cluster_id`` (index into
        ``cluster``, -1 outside clusters) and ``significant`` (inside a cluster with
        ``p <= alpha``); along ``cluster``: ``cluster_mass`` (signed sum of t),
        ``cluster_p``, ``cluster_start`` and ``cluster_stop`` (the first and last ``dim``
        coords of the cluster); ``null_max_mass`` (``null_draw``). Attrs ``test``,
        ``threshold``, ``tail``, ``alpha``, ``dim``, ``sample_dim``, ``n_samples``,
        ``n_permutations``, ``seed``, ``rng_state``, ``neurodis_version``.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not a DataArray.
    ValueError
        If the arrays do not have exactly the dims ``(sample_dim, dim)``, differ in
        shape or coords, hold non-finite values, have fewer than 2 replicates, or an
        option is unknown or out of range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> gen = np.random.default_rng(0)
    >>> scores = gen.normal(size=(20, 30))
    >>> scores[:, 10:16] += 1.5
    >>> da = xr.DataArray(scores, dims=("session", "time"), coords={"time": np.arange(30) * 10.0})
    >>> res = cluster_test(da, n_permutations=200, rng=0)
    >>> res.time.values[res.significant.values]
    array([100., 110., 120., 130., 140., 150.])
    """
    check_in("tail", tail, TAILS)
    alpha = check_probability("alpha", alpha, open_interval=True)
    n_permutations = check_int("n_permutations", n_permutations, minimum=1)
    values = _scores("a", a, dim, sample_dim)
    if b is not None:
        values_b = _scores("b", b, dim, sample_dim)
        if values_b.shape != values.shape:
            raise ValueError(f"a and b must have the same shape along {(sample_dim, dim)}; "
                             f"got {values.shape} and {values_b.shape}")
        for d in (dim, sample_dim):
            if d in a.coords and d in b.coords and not np.array_equal(a[d].values, b[d].values):
                raise ValueError(f"a and b must have the same {d!r} coords (paired)")
        values = values - values_b
    n = values.shape[0]
    if n < 2:
        raise ValueError(f"a must have at least 2 entries along {sample_dim!r}; got {n}")
    if threshold is None:
        from scipy import stats

        threshold = float(stats.t.ppf(1 - 0.05 / (2 if tail == "two-sided" else 1), n - 1))
    threshold = check_real("threshold", threshold, minimum=0.0, strict_minimum=True)
    gen = check_rng(rng)
    provenance = rng_provenance(rng, gen)
    t_t = _t_statistic(values)
    null = np.empty(n_permutations)
    chunk = max(1, 2**22 // values.size)  # flipped copies held at once (32 MiB)
    for start in range(0, n_permutations, chunk):
        signs = gen.choice([-1.0, 1.0], size=(min(chunk, n_permutations - start), n, 1))
        null[start : start + signs.shape[0]] = max_cluster_mass(_t_statistic(signs * values), threshold, tail)
    clusters = _observed_clusters(t_t, threshold, tail)
    ids = np.full(t_t.size, -1)
    for k, (lo, hi, _, _) in enumerate(clusters):
        ids[lo:hi] = k
    masses = np.array([sign * mass for _, _, sign, mass in clusters])
    p = np.array([(1 + np.sum(null >= abs(m))) / (1 + n_permutations) for m in masses])
    where = a[dim].values
    coords = {dim: a[dim]} if dim in a.coords else {}
    significant = np.isin(ids, np.flatnonzero(p <= alpha))
    return xr.Dataset(
        {
            "statistic": xr.DataArray(t_t, dims=(dim,), coords=coords),
            "cluster_id": xr.DataArray(ids, dims=(dim,), coords=coords),
            "significant": xr.DataArray(significant, dims=(dim,), coords=coords),
            "cluster_mass": ((CLUSTER_DIM,), masses.astype(np.float64)),
            "cluster_p": ((CLUSTER_DIM,), p.astype(np.float64)),
            "cluster_start": ((CLUSTER_DIM,), where[[lo for lo, _, _, _ in clusters]]),
            "cluster_stop": ((CLUSTER_DIM,), where[[hi - 1 for _, hi, _, _ in clusters]]),
            "null_max_mass": ((NULL_DIM,), null),
        },
        attrs={
            "test": "sign_flip_t" + ("_paired" if b is not None else ""),
            "threshold": threshold, "tail": tail, "alpha": alpha, "dim": dim, "sample_dim": sample_dim,
            "n_samples": n, "n_permutations": n_permutations, **provenance, "neurodis_version": __version__,
        },
    )


def _scores(name: str, da: Any, dim: str, sample_dim: str) -> np.ndarray:
    check_type(name, da, xr.DataArray, f"an xarray.DataArray with dims ({sample_dim!r}, {dim!r})")
    if set(da.dims) != {dim, sample_dim} or dim == sample_dim:
        raise ValueError(f"{name} must have dims ({sample_dim!r}, {dim!r}); got {tuple(da.dims)} with shape {da.shape}")
    values = da.transpose(sample_dim, dim).values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite; got {int(np.sum(~np.isfinite(values)))} non-finite scores")
    return values
