"""Geometry of population activity: PCA, participation ratio, sparseness, tuning maps.

- :func:`pca` of trajectories: explained variance, components and projections that keep
  the sample dims (and their coords, e.g. ``quadrant``) of the rates.
- :func:`participation_ratio` ``(Σλ)² / Σλ²`` of the covariance eigenvalues: how many
  dimensions the activity effectively spans (isotropic in d dims gives d, rank 1 gives 1).
- :func:`lifetime_sparseness` per unit over m stimuli,
  ``S = (1 - (mean r)² / mean(r²)) / (1 - 1/m)``: 0 for a unit that responds equally to
  every stimulus, 1 for a unit that responds to exactly one (a different quantity from
  the participation ratio).
- :func:`fraction_active`: units whose mean rate exceeds a threshold.
- :func:`tuning_maps`: mean rate of every unit over a grid of two latent factors (8 x 8
  by default) and each unit's Pearson correlation with every latent factor.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    NeurodisWarning,
    check_array,
    check_dims,
    check_finite,
    check_in,
    check_int,
    check_real,
    check_samples,
    check_type,
    describe,
)
from neurodis._version import __version__
from neurodis.trials import LATENT, TIME, TRIAL, UNIT

__all__ = ["fraction_active", "lifetime_sparseness", "participation_ratio", "pca", "tuning_maps"]

COMPONENT = "component"
DEFAULT_BINS = 8


def _attrs(analysis: str, **config: Any) -> dict[str, Any]:
    """Provenance of a result (these analyses use no randomness)."""
    return {
        "analysis": analysis,
        "config": json.dumps(config, sort_keys=True),
        "neurodis_version": __version__,
    }


def _samples_by_unit(
    name: str, rates: Any, sample_dims: Sequence[str] | None
) -> tuple[tuple[str, ...], np.ndarray]:
    """Validate ``rates`` and return its sample dims and a (sample, unit) float64 array.

    ``sample_dims=None`` takes every dim except ``unit``.
    """
    check_type(name, rates, xr.DataArray, "an xarray.DataArray with a 'unit' dim")
    dims = tuple(rates.dims)
    if sample_dims is None:
        if UNIT not in dims or len(dims) < 2:
            raise ValueError(
                f"{name} must have a 'unit' dim and at least one other dim; got {describe(rates)}"
            )
        sample_dims = tuple(d for d in dims if d != UNIT)
    sample_dims = tuple(sample_dims)
    if (
        UNIT not in dims
        or not sample_dims
        or set(dims) != {*sample_dims, UNIT}
        or len(dims) != len(sample_dims) + 1
    ):
        raise ValueError(
            f"{name} must have dims {(*sample_dims, UNIT)} (in any order); "
            f"got {dims} with shape {tuple(rates.shape)}"
        )
    x = np.asarray(rates.transpose(*sample_dims, UNIT).values, dtype=np.float64)
    check_finite(name, x)
    return sample_dims, x.reshape(-1, rates.sizes[UNIT])


def _spectrum(x_sxn: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, covariance eigenvalues (descending), right singular vectors and centred data."""
    check_samples(name, x_sxn)  # a covariance needs 2 samples; zero variance has no spectrum
    mean_n = x_sxn.mean(axis=0)
    centred_sxn = x_sxn - mean_n
    _, s, vt_kxn = np.linalg.svd(centred_sxn, full_matrices=False)
    return mean_n, s**2 / (x_sxn.shape[0] - 1), vt_kxn, centred_sxn


def _ratio(eigenvalues: np.ndarray) -> float:
    return float(eigenvalues.sum() ** 2 / np.sum(eigenvalues**2))


def pca(
    rates: xr.DataArray,
    *,
    n_components: int | None = None,
    sample_dims: Sequence[str] = (TRIAL, TIME),
) -> xr.Dataset:
    """Principal component analysis of population rates (trajectories).

    Every element of the sample dims is one sample; units are centred on their mean.
    The sign of every component is fixed so that its largest-magnitude loading is
    positive.

    Parameters
    ----------
    rates : xarray.DataArray, dims (*sample_dims, unit)
        Population rates, e.g. ``rates`` (trial, time, unit).
    n_components : int, optional
        Components kept (default ``min(n_samples, n_units)``).
    sample_dims : sequence of str
        The dims pooled as samples (e.g. ``("condition", "time")`` for recordings).

    Returns
    -------
    xarray.Dataset
        ``explained_variance`` and ``explained_variance_ratio`` (component; the ratio is
        relative to the total variance of all components), ``components`` (component,
        unit), ``mean`` (unit), ``projections`` (*sample_dims, component) with the
        rates' coords on the sample dims, ``participation_ratio`` (scalar, from the
        full spectrum); provenance attrs.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray.
    ValueError
        If its dims are not ``sample_dims`` plus ``unit``, values are non-finite, there
        are fewer than 2 samples, or ``n_components`` is out of range.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = np.array([[1.0, 1.0], [-1.0, -1.0], [2.0, 2.0], [-2.0, -2.0]])
    >>> result = pca(xr.DataArray(x, dims=("trial", "unit")), sample_dims=("trial",))
    >>> result["explained_variance_ratio"].values
    array([1., 0.])
    """
    sample_dims, x_sxn = _samples_by_unit("rates", rates, sample_dims)
    n_max = min(x_sxn.shape)
    n_components = (
        n_max if n_components is None else check_int("n_components", n_components, minimum=1, maximum=n_max)
    )
    mean_n, eigenvalues, vt_kxn, centred_sxn = _spectrum(x_sxn, "rates")
    vt_kxn = vt_kxn[:n_components]
    # deterministic signs: the largest-magnitude loading of every component is positive
    flip_k = np.sign(vt_kxn[np.arange(n_components), np.argmax(np.abs(vt_kxn), axis=1)])
    vt_kxn = vt_kxn * flip_k[:, None]
    shape = tuple(rates.sizes[d] for d in sample_dims)
    sample_coords = {k: v for k, v in rates.coords.items() if v.dims and set(v.dims) <= set(sample_dims)}
    projections = xr.DataArray(
        (centred_sxn @ vt_kxn.T).reshape(*shape, n_components),
        dims=(*sample_dims, COMPONENT),
        coords=sample_coords,
    )
    unit_coords = {k: v for k, v in rates.coords.items() if v.dims == (UNIT,)}
    return xr.Dataset(
        {
            "explained_variance": (COMPONENT, eigenvalues[:n_components]),
            "explained_variance_ratio": (COMPONENT, eigenvalues[:n_components] / eigenvalues.sum()),
            "components": ((COMPONENT, UNIT), vt_kxn),
            "mean": (UNIT, mean_n),
            "projections": projections,
            "participation_ratio": _ratio(eigenvalues),
        },
        coords={COMPONENT: np.arange(n_components), **unit_coords},
        attrs=_attrs("pca", n_components=n_components, sample_dims=list(sample_dims)),
    )


def participation_ratio(rates: xr.DataArray, *, sample_dims: Sequence[str] = (TRIAL, TIME)) -> float:
    """Participation ratio ``(Σλ)² / Σλ²`` of the covariance eigenvalues of ``rates``.

    Parameters
    ----------
    rates : xarray.DataArray, dims (*sample_dims, unit)
        Population rates.
    sample_dims : sequence of str
        The dims pooled as samples.

    Returns
    -------
    float
        Between 1 (all variance in one direction) and the number of units (isotropic).

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray.
    ValueError
        If the dims are wrong, there are fewer than 2 samples, or nothing varies.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> corners = xr.DataArray(np.vstack([np.eye(3), -np.eye(3)]), dims=("trial", "unit"))
    >>> round(participation_ratio(corners, sample_dims=("trial",)), 12)
    3.0
    """
    _, x_sxn = _samples_by_unit("rates", rates, sample_dims)
    return _ratio(_spectrum(x_sxn, "rates")[1])


def lifetime_sparseness(rates: xr.DataArray, *, silent: str = "nan") -> xr.Dataset:
    """Lifetime sparseness of every unit over the m stimuli it responded to.

    ``S = (1 - (mean r)² / mean(r²)) / (1 - 1/m)``, where the means run over every
    element of the non-``unit`` dims (select a time step first to use one response per
    trial). A silent unit (``mean(r²) = 0``) makes the ratio 0/0: ``silent="nan"``
    reports NaN for it and counts it; ``silent="exclude"`` drops it from the result.
    The formula assumes non-negative rates; with negative values S can exceed 1 and a
    :class:`~neurodis._validation.NeurodisWarning` is issued.

    Parameters
    ----------
    rates : xarray.DataArray, dims (..., unit)
        Responses; at least 2 stimuli per unit.
    silent : {"nan", "exclude"}
        Treatment of silent units.

    Returns
    -------
    xarray.Dataset
        ``sparseness`` (unit), ``silent`` (unit, bool), ``mean_sparseness`` (scalar, over
        the non-silent units); attrs ``n_stimuli``, ``n_silent`` and provenance.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray.
    ValueError
        If it lacks a ``unit`` dim, has fewer than 2 stimuli or non-finite values.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> r = xr.DataArray([[1.0, 2.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.0, 0.0]], dims=("trial", "unit"))
    >>> lifetime_sparseness(r)["sparseness"].values
    array([ 1.,  0., nan])
    """
    check_in("silent", silent, ("nan", "exclude"))
    _, r_sxn = _samples_by_unit("rates", rates, None)
    m = r_sxn.shape[0]
    if m < 2:
        raise ValueError(f"rates must have at least 2 stimuli per unit for a sparseness; got {m}")
    if np.any(r_sxn < 0):
        warnings.warn(
            "rates has negative values; lifetime sparseness assumes non-negative rates and can exceed 1",
            NeurodisWarning,
            stacklevel=2,
        )
    mean_sq = r_sxn.mean(axis=0) ** 2
    mean_of_sq = (r_sxn**2).mean(axis=0)
    is_silent = mean_of_sq == 0
    ratio = np.divide(mean_sq, mean_of_sq, out=np.full_like(mean_sq, np.nan), where=~is_silent)
    sparseness = (1.0 - ratio) / (1.0 - 1.0 / m)
    result = xr.Dataset(
        {"sparseness": (UNIT, sparseness), "silent": (UNIT, is_silent)},
        coords={k: v for k, v in rates.coords.items() if v.dims == (UNIT,)},
        attrs={
            **_attrs("lifetime_sparseness", silent=silent),
            "n_stimuli": m,
            "n_silent": int(is_silent.sum()),
        },
    )
    if silent == "exclude":
        result = result.isel({UNIT: ~is_silent})
    mean = float(np.mean(sparseness[~is_silent])) if (~is_silent).any() else float("nan")
    return result.assign(mean_sparseness=mean)


def fraction_active(rates: xr.DataArray, *, threshold: float = 1e-3) -> xr.Dataset:
    """Units whose mean rate (over every non-``unit`` element) exceeds ``threshold``.

    Parameters
    ----------
    rates : xarray.DataArray, dims (..., unit)
        Responses, e.g. ``rates`` (trial, time, unit).
    threshold : float
        Activity threshold (>= 0: a negative one would count silent units as active);
        the default separates silent ReLU units (exactly 0) from active ones.

    Returns
    -------
    xarray.Dataset
        ``mean_rate`` (unit), ``active`` (unit, bool), ``fraction_active`` (scalar);
        provenance attrs.

    Raises
    ------
    TypeError
        If ``rates`` is not a DataArray or ``threshold`` not a number.
    ValueError
        If it lacks a ``unit`` dim, holds non-finite values, or ``threshold`` < 0.

    Examples
    --------
    >>> import xarray as xr
    >>> r = xr.DataArray([[0.0, 1.0, 0.5, 0.0]], dims=("trial", "unit"))
    >>> float(fraction_active(r)["fraction_active"])
    0.5
    """
    threshold = check_real("threshold", threshold, minimum=0.0)
    _, r_sxn = _samples_by_unit("rates", rates, None)
    mean_n = r_sxn.mean(axis=0)
    return xr.Dataset(
        {
            "mean_rate": (UNIT, mean_n),
            "active": (UNIT, mean_n > threshold),
            "fraction_active": float(np.mean(mean_n > threshold)),
        },
        coords={k: v for k, v in rates.coords.items() if v.dims == (UNIT,)},
        attrs=_attrs("fraction_active", threshold=threshold),
    )


def _bin_index(name: str, x_s: np.ndarray, n_bins: int | None, centres: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bin of every trial and the bin centres: equal-width bins, or the nearest grid value."""
    if centres is None:
        lo, hi = float(x_s.min()), float(x_s.max())
        edges = np.linspace(lo, hi, n_bins + 1) if hi > lo else np.linspace(lo - 0.5, lo + 0.5, n_bins + 1)
        index = np.clip(np.searchsorted(edges, x_s, side="right") - 1, 0, n_bins - 1)
        return index, (edges[:-1] + edges[1:]) / 2
    centres = np.sort(check_array(f"grid[{name!r}]", centres, ndim=1))
    if centres.size < 1 or np.any(np.diff(centres) == 0):
        raise ValueError(f"grid[{name!r}] must hold distinct values; got {centres.tolist()}")
    midpoints = (centres[:-1] + centres[1:]) / 2
    return np.searchsorted(midpoints, x_s), centres


def tuning_maps(
    rates: xr.DataArray,
    latents: xr.DataArray,
    *,
    n_bins: int | None = None,
    grid: Sequence[Any] | None = None,
    factors: Sequence[str] | None = None,
) -> xr.Dataset:
    """Mean rate of every unit over a grid of two latent factors, and tuning correlations.

    Trials are binned by two latent factors (equal-width bins over the observed range,
    8 x 8 by default) or assigned to the nearest point of a caller's ``grid`` (exact when
    the trials were run at the grid's latents); each bin holds the mean rate of its
    trials (NaN when empty).

    Parameters
    ----------
    rates : xarray.DataArray, dims (trial, unit)
        Responses at one time step, e.g. ``rates.isel(time=-1)``.
    latents : xarray.DataArray, dims (trial, latent)
        The latents of the same trials, e.g. ``trials["latents"]``.
    n_bins : int, optional
        Bins per factor (default 8); not allowed together with ``grid``.
    grid : pair of 1-D arrays, optional
        Latent values (bin centres) of the two factors.
    factors : pair of str, optional
        Latent names for the two map axes (default the first two).

    Returns
    -------
    xarray.Dataset
        ``tuning`` (unit, <f0>_bin, <f1>_bin), ``count`` (<f0>_bin, <f1>_bin) with the
        bin centres as coords, and ``correlation`` (unit, latent): Pearson correlation
        of every unit with every latent factor over trials (NaN for a constant unit);
        provenance attrs.

    Raises
    ------
    TypeError
        If the inputs are not DataArrays.
    ValueError
        If dims or trial counts disagree, there are fewer than 2 latents, a factor is
        unknown, ``n_bins`` and ``grid`` are both given, or the grid is malformed.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = np.array([[-0.4, -0.4], [-0.4, 0.4], [0.4, -0.4], [0.4, 0.4]])
    >>> lat = xr.DataArray(x, dims=("trial", "latent"), coords={"latent": ["x0", "x1"]})
    >>> r = xr.DataArray(x[:, :1], dims=("trial", "unit"))
    >>> tuning_maps(r, lat, n_bins=2)["tuning"].sel(unit=0).values
    array([[-0.4, -0.4],
           [ 0.4,  0.4]])
    """
    check_dims("rates", rates, (TRIAL, UNIT))
    check_dims("latents", latents, (TRIAL, LATENT))
    if grid is not None and n_bins is not None:
        raise ValueError(f"n_bins and grid are alternatives; got n_bins={n_bins} and a grid")
    n_bins = DEFAULT_BINS if n_bins is None else check_int("n_bins", n_bins, minimum=1)
    r_sxn = check_array("rates", rates.values, dtype=np.float64)
    x_sxl = check_array("latents", latents.values, dtype=np.float64)
    if x_sxl.shape[0] != r_sxn.shape[0]:
        raise ValueError(f"latents must have {r_sxn.shape[0]} trials to match rates; got {x_sxl.shape[0]}")
    names = (
        [str(v) for v in latents[LATENT].values]
        if LATENT in latents.coords
        else [f"x{i}" for i in range(x_sxl.shape[1])]
    )
    factors = names[:2] if factors is None else [str(f) for f in factors]
    if len(names) < 2 or len(factors) != 2 or not set(factors) <= set(names) or factors[0] == factors[1]:
        raise ValueError(f"factors must be two distinct latents of {names}; got {factors}")
    if grid is not None and len(grid) != 2:
        raise ValueError(f"grid must hold two 1-D arrays of latent values; got {describe(grid)}")
    binned = [
        _bin_index(f, x_sxl[:, names.index(f)], n_bins, None if grid is None else grid[i])
        for i, f in enumerate(factors)
    ]
    index, centres = [b[0] for b in binned], [b[1] for b in binned]
    shape = (centres[0].size, centres[1].size)
    flat_s = np.ravel_multi_index(index, shape)
    count = np.bincount(flat_s, minlength=shape[0] * shape[1])
    sums_nxb = np.stack([np.bincount(flat_s, weights=r, minlength=count.size) for r in r_sxn.T])
    with np.errstate(invalid="ignore", divide="ignore"):
        tuning = (sums_nxb / count).reshape(-1, *shape)
    dims = (f"{factors[0]}_bin", f"{factors[1]}_bin")
    return xr.Dataset(
        {
            "tuning": ((UNIT, *dims), tuning),
            "count": (dims, count.reshape(shape)),
            "correlation": ((UNIT, LATENT), _pearson(r_sxn, x_sxl)),
        },
        coords={dims[0]: centres[0], dims[1]: centres[1], LATENT: names, UNIT: rates[UNIT].values},
        attrs=_attrs(
            "tuning_maps",
            n_bins=None if grid is not None else n_bins,
            grid=None if grid is None else [np.asarray(g).tolist() for g in grid],
            factors=factors,
        ),
    )


def _pearson(a_sxn: np.ndarray, b_sxl: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of ``a`` with every column of ``b`` (NaN if constant)."""
    a = a_sxn - a_sxn.mean(axis=0)
    b = b_sxl - b_sxl.mean(axis=0)
    norm = np.outer(np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0))
    return np.divide(a.T @ b, norm, out=np.full(norm.shape, np.nan), where=norm > 0)
