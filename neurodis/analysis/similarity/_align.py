"""Align two labelled arrays on their shared dims before comparing them.

Two representations are compared sample by sample: the network and the brain must
describe the same trials, conditions and time points, in the same order, while their
``unit`` dims (network units, recorded neurons) may differ in size and labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_finite, check_type
from neurodis.trials import TIME, UNIT

__all__ = ["align_pair", "align_trajectories", "stacked_values", "trajectories"]


def _check_one(name: str, da: Any) -> xr.DataArray:
    check_type(name, da, xr.DataArray, "an xarray.DataArray with a 'unit' dim")
    if UNIT not in da.dims:
        raise ValueError(f"{name} must have a {UNIT!r} dim; got dims {tuple(da.dims)} with shape {da.shape}")
    if da.sizes[UNIT] == 0:
        raise ValueError(f"{name} must have at least one unit; got a {UNIT!r} dim of size 0")
    if len(da.dims) < 2:
        raise ValueError(
            f"{name} must have at least one sample dim (e.g. 'trial', 'condition', 'time') "
            f"besides {UNIT!r}; got dims {tuple(da.dims)}"
        )
    if not np.issubdtype(da.dtype, np.number) or np.issubdtype(da.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers; got dtype {da.dtype}")
    check_finite(name, da.values)
    return da


def _first_mismatch(a: np.ndarray, b: np.ndarray) -> int | None:
    if a.shape != b.shape:
        return 0
    equal = a == b
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        equal |= np.isnan(a) & np.isnan(b)
    bad = np.flatnonzero(~equal.ravel())
    return int(bad[0]) if bad.size else None


def _check_coords(x: xr.DataArray, y: xr.DataArray, dims: tuple[str, ...], names: tuple[str, str]) -> None:
    """Refuse coords that both arrays carry along the shared dims but that disagree."""
    for coord in sorted(set(x.coords) & set(y.coords)):
        cx, cy = x.coords[coord], y.coords[coord]
        if UNIT in cx.dims or UNIT in cy.dims or not cx.dims:
            continue  # unit labels may differ; scalar coords are provenance
        if not set(cx.dims) & set(dims):
            continue
        if cx.dims != cy.dims or cx.shape != cy.shape:
            raise ValueError(
                f"{names[0]} and {names[1]} must agree on coord {coord!r}; got dims {cx.dims} "
                f"shape {cx.shape} in {names[0]} and dims {cy.dims} shape {cy.shape} in {names[1]}"
            )
        a, b = np.asarray(cx.values), np.asarray(cy.values)
        where = _first_mismatch(a, b)
        if where is not None:
            index = np.unravel_index(where, a.shape)
            raise ValueError(
                f"{names[0]} and {names[1]} must agree on coord {coord!r}; they first differ at "
                f"index {tuple(int(i) for i in index)}: {a[index]!r} in {names[0]} vs "
                f"{b[index]!r} in {names[1]} (select or reorder with .sel/.reindex first)"
            )


def align_pair(
    x: xr.DataArray, y: xr.DataArray, names: tuple[str, str] = ("x", "y")
) -> tuple[xr.DataArray, xr.DataArray, tuple[str, ...]]:
    """Check that ``x`` and ``y`` describe the same samples and put both in one order.

    Parameters
    ----------
    x, y : xarray.DataArray
        Representations with a ``unit`` dim and the same other dims (e.g.
        ``(condition, unit)`` or ``(trial, time, unit)``). Sizes along ``unit`` may differ.
    names : tuple of str
        Names used in error messages.

    Returns
    -------
    x, y : xarray.DataArray
        Both transposed to ``(*shared_dims, unit)`` with the shared dims in the order of
        ``x``.
    shared_dims : tuple of str
        The sample dims, stacked into samples by the metrics.

    Raises
    ------
    TypeError
        If an argument is not a real-valued DataArray.
    ValueError
        If a ``unit`` dim is missing or empty, there is no sample dim, values are not
        finite, the sample dims or their sizes differ, or a coord on the shared dims
        disagrees (the message names the coord and the first differing entry).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = xr.DataArray(np.zeros((4, 3)), dims=("condition", "unit"), coords={"condition": [0, 1, 2, 3]})
    >>> y = xr.DataArray(np.zeros((5, 4)), dims=("unit", "condition"), coords={"condition": [0, 1, 2, 3]})
    >>> xa, ya, dims = align_pair(x, y)
    >>> ya.dims, dims
    (('condition', 'unit'), ('condition',))
    >>> align_pair(x, y.assign_coords(condition=[0, 1, 3, 2]))
    Traceback (most recent call last):
    ...
    ValueError: x and y must agree on coord 'condition'; they first differ at index (2,): ...
    """
    _check_one(names[0], x)
    _check_one(names[1], y)
    dims = tuple(d for d in x.dims if d != UNIT)
    other = tuple(d for d in y.dims if d != UNIT)
    if set(dims) != set(other):
        missing_y = [d for d in dims if d not in other]
        missing_x = [d for d in other if d not in dims]
        what = "; ".join(
            f"{names[i]} lacks {m}" for i, m in ((1, missing_y), (0, missing_x)) if m
        )
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same sample dims apart from {UNIT!r}; "
            f"got {dims} and {other} ({what})"
        )
    for dim in dims:
        if x.sizes[dim] != y.sizes[dim]:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same size along {dim!r}; "
                f"got {x.sizes[dim]} and {y.sizes[dim]}"
            )
    x = x.transpose(*dims, UNIT)
    y = y.transpose(*dims, UNIT)
    _check_coords(x, y, dims, names)
    return x, y, dims


def stacked_values(da: xr.DataArray) -> np.ndarray:
    """Values of a ``(*sample_dims, unit)`` array as a float64 ``(sample, unit)`` matrix."""
    values = np.asarray(da.values, dtype=np.float64)
    return values.reshape(-1, values.shape[-1])



def align_trajectories(x: Any, y: Any) -> tuple[xr.DataArray, xr.DataArray, tuple[str, ...]]:
    """:func:`align_pair` for dynamical similarity: the sample dims must include ``time``."""
    x, y, dims = align_pair(x, y)
    if TIME not in dims:
        raise ValueError(f"x and y must have a {TIME!r} dim for dynamical similarity; got sample dims {dims}")
    return x, y, dims


def trajectories(da: xr.DataArray) -> np.ndarray:
    """``(trajectory, time, unit)`` float64 values; every entry of the other dims is one trajectory."""
    others = [d for d in da.dims if d not in (TIME, UNIT)]
    values = da.transpose(*others, TIME, UNIT).values.astype(np.float64)
    return values.reshape(-1, da.sizes[TIME], da.sizes[UNIT])
