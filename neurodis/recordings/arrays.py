"""Recordings in the trials schema: from plain arrays, binning, trial averaging, netCDF.

A recording is a Dataset with a ``counts`` (spike counts per bin or window) and/or a
``rates`` (spikes/s) variable. Their dims are schema names: ``unit`` (recorded neurons,
at least one) plus ``trial`` for single trials or ``condition`` for averages, and
``time`` (ms, bin starts, ``attrs["units"] == "ms"``) where there is a time axis.
Trial-level labels (stimulus, choice, pulse strengths) are coords along ``trial``;
``attrs`` hold the source, citation and licence of the data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_array,
    check_finite,
    check_in,
    check_int,
    check_memory,
    check_multiple,
    check_real,
    check_type,
    describe,
)
from neurodis.trials import CONDITION, TIME, TRIAL, UNIT, load_dataset, save_dataset

__all__ = [
    "RECORDING_VARIABLES",
    "bin_spikes",
    "from_arrays",
    "load_recording",
    "rebin",
    "save_recording",
    "trial_average",
    "validate_recording",
]

#: Variables a recording may hold, and what they mean.
RECORDING_VARIABLES = {"counts": "spike counts per bin", "rates": "firing rates in spikes/s"}


def _check_variable(name: str, da: xr.DataArray) -> None:
    if UNIT not in da.dims:
        raise ValueError(f"{name} must have a {UNIT!r} dim; got dims {tuple(da.dims)}")
    if da.sizes[UNIT] == 0:
        raise ValueError(f"{name} must have at least one unit; got a {UNIT!r} dim of size 0")
    if TRIAL not in da.dims and CONDITION not in da.dims:
        raise ValueError(
            f"{name} must have a {TRIAL!r} or {CONDITION!r} dim; got dims {tuple(da.dims)}"
        )
    if not np.issubdtype(da.dtype, np.number):
        raise TypeError(f"{name} must hold numbers; got dtype {da.dtype}")
    check_finite(name, da.values)
    if bool((da < 0).any()):
        raise ValueError(f"{name} must be non-negative; got a minimum of {float(da.min())}")


def validate_recording(ds: xr.Dataset, name: str = "recording") -> xr.Dataset:
    """Check that ``ds`` follows the recording schema and return it unchanged.

    Parameters
    ----------
    ds : xarray.Dataset
        Candidate recording.
    name : str
        Name used in error messages.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself.

    Raises
    ------
    TypeError
        If ``ds`` is not a Dataset or a variable is not numeric.
    ValueError
        If neither ``counts`` nor ``rates`` is present, or one of them lacks a ``unit``
        dim, has no units, lacks a ``trial``/``condition`` dim, holds NaN, infinite or
        negative values, or ``time`` is not in ms.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"counts": (("trial", "unit"), np.array([[1, 2], [0, np.nan]]))})
    >>> validate_recording(ds)
    Traceback (most recent call last):
    ...
    ValueError: recording['counts'] must be finite; got 1 non-finite values, the first at index (1, 1)
    """
    check_type(name, ds, xr.Dataset, "an xarray.Dataset")
    present = [v for v in RECORDING_VARIABLES if v in ds.data_vars]
    if not present:
        raise ValueError(
            f"{name} must contain one of the variables {list(RECORDING_VARIABLES)}; "
            f"got {list(ds.data_vars)}"
        )
    for var in present:
        _check_variable(f"{name}[{var!r}]", ds[var])
    if TIME in ds.coords and ds[TIME].attrs.get("units") != "ms":
        raise ValueError(f"{name}['time'].attrs['units'] must be 'ms'; got {ds[TIME].attrs.get('units')!r}")
    return ds


def _coord_entry(key: str, value: Any, sizes: Mapping[str, int]) -> tuple[tuple[str, ...], np.ndarray]:
    if isinstance(value, tuple) and len(value) == 2:
        dims, data = (value[0],) if isinstance(value[0], str) else tuple(value[0]), np.asarray(value[1])
    else:
        dims, data = (key,), np.asarray(value)
    unknown = [d for d in dims if d not in sizes]
    if unknown:
        raise ValueError(f"coords[{key!r}] must lie along the data dims {tuple(sizes)}; got dims {dims}")
    want = tuple(sizes[d] for d in dims)
    if data.shape != want:
        raise ValueError(
            f"coords[{key!r}] must have shape {want} to match dims {dims}; got {describe(data)}"
        )
    return dims, data


def from_arrays(
    data: Any,
    *,
    dims: Sequence[str],
    variable: str = "counts",
    coords: Mapping[str, Any] | None = None,
    bin_ms: float | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Wrap a plain array of spike counts or rates as a recording Dataset.

    Parameters
    ----------
    data : array-like
        Counts or rates, one axis per entry of ``dims``.
    dims : sequence of str
        Dim names, e.g. ``("trial", "time", "unit")`` or ``("condition", "unit")``.
    variable : {"counts", "rates"}
        Name of the variable.
    coords : mapping, optional
        ``name -> values`` for a dim coord, or ``name -> (dims, values)`` for labels
        along other dims, e.g. ``{"choice": ("trial", choices)}``.
    bin_ms : float, optional
        Bin width in ms; gives the ``time`` coord (bin starts from 0) when ``coords`` has
        none, and is stored in ``attrs["bin_ms"]``.
    attrs : mapping, optional
        Provenance (source, citation, licence, ...).

    Returns
    -------
    xarray.Dataset
        A valid recording.

    Raises
    ------
    ValueError
        If ``dims`` does not match the data, a coord has the wrong shape, a time axis
        has no ``time`` coord or ``bin_ms``, or the data fail :func:`validate_recording`.

    Examples
    --------
    >>> import numpy as np
    >>> ds = from_arrays(np.ones((4, 3, 2)), dims=("trial", "time", "unit"), bin_ms=50,
    ...                  coords={"stimulus": ("trial", [0, 1, 0, 1])})
    >>> ds.time.values.tolist(), dict(ds.sizes)
    ([0.0, 50.0, 100.0], {'trial': 4, 'time': 3, 'unit': 2})
    >>> from_arrays(np.ones((4, 2)), dims=("trial", "unit"), coords={"stimulus": ("trial", [0, 1])})
    Traceback (most recent call last):
    ...
    ValueError: coords['stimulus'] must have shape (4,) to match dims ('trial',); got array of shape (2,) and dtype int64
    """
    check_in("variable", variable, RECORDING_VARIABLES)
    array = check_array("data", data, finite=False)
    dims = tuple(dims)
    if len(dims) != array.ndim or len(set(dims)) != len(dims):
        raise ValueError(f"dims must name each of the {array.ndim} axes of data once; got {dims} for {describe(array)}")
    sizes = dict(zip(dims, array.shape))
    entries = {key: _coord_entry(key, value, sizes) for key, value in (coords or {}).items()}
    ds_attrs = dict(attrs or {})
    if bin_ms is not None:
        ds_attrs["bin_ms"] = check_real("bin_ms", bin_ms, minimum=0.0, strict_minimum=True)
    if TIME in dims and TIME not in entries:
        if bin_ms is None:
            raise ValueError("data has a 'time' axis, so coords must give 'time' (ms) or bin_ms must be set")
        entries[TIME] = ((TIME,), np.arange(sizes[TIME]) * ds_attrs["bin_ms"])
    ds = xr.Dataset({variable: (dims, array)}, coords=entries, attrs=ds_attrs)
    if TIME in ds.coords:
        ds[TIME].attrs["units"] = "ms"
    return validate_recording(ds, "data")


def check_window(start_ms: Any, stop_ms: Any, bin_ms: Any) -> tuple[float, float, float, int]:
    """Validate a binning window; return ``start_ms, stop_ms, bin_ms`` and the number of bins.

    Raises
    ------
    TypeError
        If a bound is not a real number.
    ValueError
        If ``bin_ms`` <= 0, ``stop_ms`` <= ``start_ms``, the window is not a whole number
        of bins, or its bins would not fit in memory.

    Examples
    --------
    >>> check_window(-100, 300, 50)
    (-100.0, 300.0, 50.0, 8)
    """
    bin_ms = check_real("bin_ms", bin_ms, minimum=0.0, strict_minimum=True)
    start_ms = check_real("start_ms", start_ms)
    stop_ms = check_real("stop_ms", stop_ms, minimum=start_ms, strict_minimum=True)
    n_bins = check_multiple("stop_ms - start_ms", stop_ms - start_ms, bin_ms, "bin_ms")
    check_memory("bin_ms", bin_ms, 16.0 * n_bins, f"bin edges and starts float64 for {n_bins} bins",
                 advice="use wider bins or a shorter window")
    return start_ms, stop_ms, bin_ms, n_bins


def bin_spikes(
    spike_times_s: Sequence[Any],
    event_times_s: Any,
    *,
    start_ms: float,
    stop_ms: float,
    bin_ms: float,
    unit_ids: Sequence[Any] | None = None,
    trial_coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Count spikes in bins around one event per trial.

    Parameters
    ----------
    spike_times_s : sequence of array-like
        One array of spike times (seconds, session clock) per unit.
    event_times_s : array-like
        Alignment time of each trial (seconds, same clock), e.g. stimulus onset.
    start_ms, stop_ms : float
        Window relative to the event in ms; ``stop_ms - start_ms`` must be a multiple
        of ``bin_ms``.
    bin_ms : float
        Bin width in ms. Bins are half-open ``[start, start + bin_ms)``.
    unit_ids : sequence, optional
        Labels of the units (default 0..n-1).
    trial_coords : mapping of str to 1-D array, optional
        Trial labels (conditions, choices) stored as coords on ``trial``.
    attrs : mapping, optional
        Provenance.

    Returns
    -------
    xarray.Dataset
        ``counts (trial, time, unit)`` with ``time`` the bin starts in ms relative to the
        event.

    Raises
    ------
    ValueError
        If there are no units, the window is empty or not a whole number of bins, the
        counts would not fit in memory, times are not finite, or labels do not match the
        numbers of units or trials.

    Examples
    --------
    >>> ds = bin_spikes([[0.01, 0.02, 1.07], [1.2]], [0.0, 1.0], start_ms=0, stop_ms=200, bin_ms=100)
    >>> ds.counts.values[:, :, 0].tolist(), ds.counts.values[:, :, 1].tolist()
    ([[2, 0], [1, 0]], [[0, 0], [0, 0]])
    """
    start_ms, stop_ms, bin_ms, n_bins = check_window(start_ms, stop_ms, bin_ms)
    events = check_array("event_times_s", event_times_s, ndim=1, dtype=np.float64)
    check_memory("event_times_s", f"<{events.size} events>", 8.0 * events.size * n_bins * max(len(spike_times_s), 1),
                 f"counts (trial, time, unit) int64 for {n_bins} bins of {len(spike_times_s)} units",
                 advice="bin fewer trials at once, or use wider bins")
    if len(spike_times_s) == 0:
        raise ValueError("spike_times_s must hold at least one unit; got 0")
    edges_txb = events[:, None] + (start_ms + bin_ms * np.arange(n_bins + 1))[None, :] / 1000.0
    counts_txbxu = np.empty((events.size, n_bins, len(spike_times_s)), dtype=np.int64)
    for u, times in enumerate(spike_times_s):
        times = np.sort(check_array(f"spike_times_s[{u}]", times, ndim=1, dtype=np.float64))
        counts_txbxu[:, :, u] = np.diff(np.searchsorted(times, edges_txb), axis=1)
    coords: dict[str, Any] = {TIME: start_ms + bin_ms * np.arange(n_bins), TRIAL: np.arange(events.size)}
    if unit_ids is not None:
        coords[UNIT] = (UNIT, np.asarray(unit_ids))
    for key, value in (trial_coords or {}).items():
        coords[key] = (TRIAL, value)
    return from_arrays(counts_txbxu, dims=(TRIAL, TIME, UNIT), coords=coords, bin_ms=bin_ms, attrs=attrs)


def rebin(ds: xr.Dataset, factor: int) -> xr.Dataset:
    """Merge every ``factor`` consecutive time bins (counts summed, rates averaged).

    Trailing bins that do not fill a group are dropped; the new ``time`` coord holds the
    start of each merged bin.

    Raises
    ------
    ValueError
        If the recording has no ``time`` dim or ``factor`` is not in [1, n_time].

    Examples
    --------
    >>> import numpy as np
    >>> ds = from_arrays(np.arange(10).reshape(1, 5, 2), dims=("trial", "time", "unit"), bin_ms=10)
    >>> out = rebin(ds, 2)
    >>> out.counts.values[0].tolist(), out.time.values.tolist(), out.attrs["bin_ms"]
    ([[2, 4], [10, 12]], [0.0, 20.0], 20.0)
    """
    validate_recording(ds)
    if TIME not in ds.dims:
        raise ValueError(f"ds must have a {TIME!r} dim to rebin; got dims {tuple(ds.dims)}")
    factor = check_int("factor", factor, minimum=1, maximum=ds.sizes[TIME])
    n_keep = ds.sizes[TIME] // factor * factor
    out = ds.isel({TIME: slice(0, n_keep)})
    merged = {}
    for var in out.data_vars:
        if TIME not in out[var].dims:
            merged[var] = out[var]
            continue
        grouped = out[var].coarsen({TIME: factor})
        merged[var] = grouped.sum() if var == "counts" else grouped.mean()
    result = xr.Dataset(merged, attrs=dict(ds.attrs))
    result = result.assign_coords({TIME: out[TIME].values[::factor]})
    result[TIME].attrs = dict(ds[TIME].attrs)
    if "bin_ms" in ds.attrs:
        result.attrs["bin_ms"] = float(ds.attrs["bin_ms"]) * factor
    return result


def trial_average(ds: xr.Dataset, by: str) -> xr.Dataset:
    """Average trials that share a value of the trial coord ``by``: ``trial`` → ``condition``.

    Parameters
    ----------
    ds : xarray.Dataset
        Recording with a ``trial`` dim.
    by : str
        Name of a 1-D coord along ``trial`` (e.g. ``"direction"``).

    Returns
    -------
    xarray.Dataset
        The averaged variables with a ``condition`` dim whose coord holds the sorted
        unique values of ``by``, plus ``n_trials (condition)``. Other trial coords are
        dropped.

    Raises
    ------
    ValueError
        If ``ds`` has no ``trial`` dim or ``by`` is not a 1-D coord along it.

    Examples
    --------
    >>> import numpy as np
    >>> ds = from_arrays(np.array([[1.0], [3.0], [10.0]]), dims=("trial", "unit"),
    ...                  coords={"direction": ("trial", [90, 90, 0])})
    >>> out = trial_average(ds, "direction")
    >>> out.condition.values.tolist(), out.counts.values.ravel().tolist(), out.n_trials.values.tolist()
    ([0, 90], [10.0, 2.0], [1, 2])
    """
    validate_recording(ds)
    if TRIAL not in ds.dims:
        raise ValueError(f"ds must have a {TRIAL!r} dim to average trials; got dims {tuple(ds.dims)}")
    if by not in ds.coords or ds.coords[by].dims != (TRIAL,):
        labels = sorted(k for k, c in ds.coords.items() if c.dims == (TRIAL,))
        raise ValueError(f"by must name a 1-D coord along 'trial'; got {by!r} (available: {labels})")
    drop = [k for k, c in ds.coords.items() if TRIAL in c.dims and k not in (by, TRIAL)]
    labels = ds[by].values
    reduced = ds.drop_vars([*drop, TRIAL], errors="ignore").groupby(by).mean(TRIAL)
    reduced = reduced.rename({by: CONDITION})
    values, n_trials = np.unique(labels, return_counts=True)
    reduced["n_trials"] = ((CONDITION,), n_trials)
    reduced.attrs = dict(ds.attrs, averaged_by=by)
    return reduced.assign_coords({CONDITION: values})


def save_recording(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Validate and write a recording to netCDF atomically (no pickle)."""
    return save_dataset(validate_recording(ds), path)


def load_recording(path: str | os.PathLike) -> xr.Dataset:
    """Load and validate a recording written by :func:`save_recording` (or any netCDF).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If the file does not hold a valid recording.
    """
    return validate_recording(load_dataset(path), f"recording {str(path)!r}")
