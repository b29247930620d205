"""Paired comparison of two model families scored on the same recordings.

"Do networks trained on 24 tasks match LIP better than networks trained on 2?" Both
families are scored on the same sessions (or conditions), so the comparison is paired
over them; each family may hold several networks (training seeds), which are not
paired across families. The effect is the mean over sessions of the paired difference
of the two families' seed-averaged scores::

    difference = mean_s ( mean_i a[i, s] - mean_j b[j, s] )

Two tests, by the unit the conclusion generalizes over:

* ``"sign_flip"`` — over sessions: under the null each session's difference is
  symmetric about 0, so flipping its sign gives an equally likely dataset. The networks
  are taken as fixed (the conclusion is about these networks, on new sessions).
* ``"seed_permutation"`` — over networks: under the null the seeds of the two families
  are exchangeable, so their labels are permuted (sessions stay paired). The
  conclusion is about the families (new seeds); it needs a few seeds per family.

The p-value counts the observed difference as one draw, ``(1 + k) / (1 + n)``. The
confidence interval is a percentile bootstrap of the same difference, resampling the
sessions (the same ones for both families) and, when seeds are given, the seeds of each
family independently (a two-level bootstrap).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_int, check_probability, check_rng, check_type, rng_provenance
from neurodis._version import __version__
from neurodis.analysis.similarity.bootstrap import BOOTSTRAP_DIM, confidence_interval
from neurodis.analysis.similarity.nulls import NULL_DIM, permutation_p_value

__all__ = ["ALTERNATIVES", "compare_families"]

TESTS = ("sign_flip", "seed_permutation")
ALTERNATIVES = ("two-sided", "greater", "less")


def _family(name: str, scores: Any, dim: str, seed_dim: str | None) -> np.ndarray:
    """``(seed, session)`` float64 values of one family (one seed row without ``seed_dim``)."""
    check_type(name, scores, xr.DataArray, f"an xarray.DataArray of scores along {dim!r}")
    allowed = {dim} | ({seed_dim} if seed_dim else set())
    if dim not in scores.dims or not set(scores.dims) <= allowed:
        raise ValueError(
            f"{name} must have dim {dim!r}" + (f" and optionally {seed_dim!r}" if seed_dim else "")
            + f" and no other; got dims {tuple(scores.dims)}"
        )
    values = scores.transpose(*[d for d in (seed_dim, dim) if d in scores.dims]).values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite; got {int(np.sum(~np.isfinite(values)))} non-finite scores")
    return values.reshape(-1, scores.sizes[dim])


def _p_value(observed: float, null: np.ndarray, alternative: str) -> float:
    if alternative == "two-sided":
        return permutation_p_value(abs(observed), np.abs(null))
    return permutation_p_value(observed, null, greater=alternative == "greater")


def compare_families(
    a: xr.DataArray,
    b: xr.DataArray,
    *,
    dim: str = "session",
    seed_dim: str | None = None,
    test: str = "sign_flip",
    alternative: str = "two-sided",
    n_permutations: int = 2000,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    rng: Any = None,
) -> xr.Dataset:
    """Paired test and interval for the difference between two families' scores.

    Parameters
    ----------
    a, b : xarray.DataArray
        Scores of the two families along ``dim`` (the paired unit: sessions or
        conditions, with the same coords in both) and, for families of several networks,
        ``seed_dim`` (sizes may differ between families).
    dim : str
        The paired dim.
    seed_dim : str, optional
        The dim of each family's networks; a family without it is one network.
    test : {"sign_flip", "seed_permutation"}
        Null distribution (see the module docstring); ``"seed_permutation"`` needs
        ``seed_dim`` in both families.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests ``a`` better than ``b`` (a larger score).
    n_permutations : int
        Draws of the null.
    n_resamples : int
        Bootstrap draws of the interval.
    confidence : float
        Coverage of the interval, in (0, 1).
    rng : int, Generator, SeedSequence or None
        Source of the null and of the bootstrap (independent streams).

    Returns
    -------
    xarray.Dataset
        ``difference`` (mean paired difference), ``ci_low``, ``ci_high``, ``p_value``,
        ``mean_a``, ``mean_b``, ``paired_difference`` (along ``dim``), ``null``
        (``null_draw``), ``bootstrap`` (``bootstrap_draw``); attrs ``test``,
        ``alternative``, ``dim``, ``seed_dim``, ``n_paired``, ``n_seeds_a``,
        ``n_seeds_b``, ``n_permutations``, ``n_resamples``, ``confidence``, ``seed``,
        ``rng_state``, ``neurodis_version``.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not a DataArray.
    ValueError
        If a family lacks ``dim`` or has other dims, scores are not finite, the
        families differ along ``dim`` (size or coords), ``dim`` has fewer than 2 entries,
        ``"seed_permutation"`` lacks seeds, or an option is unknown or out of range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> gen = np.random.default_rng(0)
    >>> base = gen.normal(size=47)
    >>> a = xr.DataArray(base + 0.5 + 0.3 * gen.normal(size=47), dims=("session",))
    >>> b = xr.DataArray(base + 0.3 * gen.normal(size=47), dims=("session",))
    >>> res = compare_families(a, b, n_permutations=500, n_resamples=500, rng=0)
    >>> bool(res.p_value < 0.01), bool(res.ci_low < 0.5 < res.ci_high)
    (True, True)
    """
    check_in("test", test, TESTS)
    check_in("alternative", alternative, ALTERNATIVES)
    n_permutations = check_int("n_permutations", n_permutations, minimum=1)
    n_resamples = check_int("n_resamples", n_resamples, minimum=2)
    confidence = check_probability("confidence", confidence, open_interval=True)
    a_sxn, b_sxn = _family("a", a, dim, seed_dim), _family("b", b, dim, seed_dim)
    n = a_sxn.shape[1]
    if b_sxn.shape[1] != n:
        raise ValueError(f"a and b must have the same size along {dim!r}; got {n} and {b_sxn.shape[1]}")
    if n < 2:
        raise ValueError(f"a and b must have at least 2 entries along {dim!r}; got {n}")
    if dim in a.coords and dim in b.coords and not np.array_equal(a[dim].values, b[dim].values):
        raise ValueError(f"a and b must have the same {dim!r} coords (paired); got {a[dim].values} and {b[dim].values}")
    if test == "seed_permutation" and not (seed_dim and seed_dim in a.dims and seed_dim in b.dims):
        raise ValueError(f"test='seed_permutation' needs seed_dim in both families; got seed_dim={seed_dim!r}")
    gen = check_rng(rng)
    provenance = rng_provenance(rng, gen)
    null_gen, boot_gen = (np.random.default_rng(s) for s in np.random.SeedSequence(gen.integers(2**63, size=2)).spawn(2))
    paired = a_sxn.mean(axis=0) - b_sxn.mean(axis=0)
    observed = float(paired.mean())
    if test == "sign_flip":
        signs = null_gen.choice([-1.0, 1.0], size=(n_permutations, n))
        null = signs @ paired / n
    else:
        pooled, n_a = np.concatenate([a_sxn, b_sxn]), a_sxn.shape[0]
        perms = null_gen.permuted(np.broadcast_to(np.arange(pooled.shape[0]), (n_permutations, pooled.shape[0])),
                                  axis=1)
        null = pooled[perms[:, :n_a]].mean(axis=(1, 2)) - pooled[perms[:, n_a:]].mean(axis=(1, 2))
    sessions = boot_gen.integers(n, size=(n_resamples, n))
    seeds_a = boot_gen.integers(a_sxn.shape[0], size=(n_resamples, a_sxn.shape[0]))
    seeds_b = boot_gen.integers(b_sxn.shape[0], size=(n_resamples, b_sxn.shape[0]))
    # (draw, seed, session): the same sessions for both families, seeds drawn per family
    boot = (a_sxn[seeds_a[:, :, None], sessions[:, None, :]].mean(axis=(1, 2))
            - b_sxn[seeds_b[:, :, None], sessions[:, None, :]].mean(axis=(1, 2)))
    low, high = confidence_interval(boot, confidence=confidence)
    coords = {dim: a[dim].values} if dim in a.coords else {}
    return xr.Dataset(
        {
            "difference": observed,
            "ci_low": float(low),
            "ci_high": float(high),
            "p_value": _p_value(observed, null, alternative),
            "mean_a": float(a_sxn.mean()),
            "mean_b": float(b_sxn.mean()),
            "paired_difference": xr.DataArray(paired, dims=(dim,), coords=coords),
            "null": ((NULL_DIM,), null),
            "bootstrap": ((BOOTSTRAP_DIM,), boot),
        },
        attrs={
            "test": test, "alternative": alternative, "dim": dim, "seed_dim": seed_dim or "",
            "n_paired": n, "n_seeds_a": a_sxn.shape[0], "n_seeds_b": b_sxn.shape[0],
            "n_permutations": n_permutations, "n_resamples": n_resamples, "confidence": confidence,
            **provenance, "neurodis_version": __version__,
            "resampled_dims": json.dumps([dim, seed_dim] if seed_dim else [dim]),
        },
    )
