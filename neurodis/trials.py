"""The trials schema: one definition of dimension names and trial variables.

A trials Dataset holds a batch of trials of one task::

    inputs     (trial, time, input)    network input channels, named by the ``input`` coord
    targets    (trial, time, output)   desired outputs
    loss_mask  (trial, time, output)   weight of each element in the loss
    latents    (trial, latent)         ground-truth latent x (plural like the others: a
                                       variable may not share the name of the dim)
    rates      (trial, time, unit)     network state (added by simulation)
    outputs    (trial, time, output)   readout (added by simulation)

``time`` is in ms (``time.attrs["units"] == "ms"``), the start of each Euler step, so
step ``i`` is at ``i * dt``. Trial-level conditions (quadrant, labels, ...) are coords on
``trial``. ``attrs`` carry ``dt``, the task name, the task config as JSON, the seed and
the neurodis version. Attributes are always netCDF-native (str, int, float or 1-D
arrays): structured values are stored as JSON strings, never pickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_array, check_dims, check_finite, check_real, describe
from neurodis.errors import CorruptFileError
from neurodis.files import atomic_write, check_path, verify_file

__all__ = [
    "CONDITION",
    "FIXED_POINT",
    "INPUT",
    "LATENT",
    "MODE",
    "OUTPUT",
    "TIME",
    "TRIAL",
    "UNIT",
    "VARIABLE_DIMS",
    "load_dataset",
    "load_trials",
    "make_trials",
    "save_dataset",
    "save_trials",
    "time_coord",
    "validate_trials",
]

TRIAL = "trial"
TIME = "time"
INPUT = "input"
OUTPUT = "output"
LATENT = "latent"
UNIT = "unit"
CONDITION = "condition"
FIXED_POINT = "fixed_point"
MODE = "mode"

#: Dims of every variable the schema knows.
VARIABLE_DIMS: dict[str, tuple[str, ...]] = {
    "inputs": (TRIAL, TIME, INPUT),
    "targets": (TRIAL, TIME, OUTPUT),
    "loss_mask": (TRIAL, TIME, OUTPUT),
    "latents": (TRIAL, LATENT),
    "rates": (TRIAL, TIME, UNIT),
    "outputs": (TRIAL, TIME, OUTPUT),
}

_ATTR_TYPES = (str, int, float, np.integer, np.floating)


def time_coord(n_steps: int, dt: float) -> xr.DataArray:
    """The ``time`` coordinate in ms: the start of each of ``n_steps`` Euler steps.

    Examples
    --------
    >>> time_coord(3, 100.0).values
    array([  0., 100., 200.])
    """
    return xr.DataArray(
        np.arange(n_steps, dtype=np.float64) * float(dt),
        dims=(TIME,),
        attrs={"units": "ms", "long_name": "time from trial start"},
    )


def _clean_attrs(attrs: Mapping[str, Any], name: str = "attrs") -> dict[str, Any]:
    """Return attrs with dicts/lists encoded as JSON; refuse values netCDF cannot hold."""
    clean: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, sort_keys=True)
        if value is None:
            value = ""
        if not isinstance(value, _ATTR_TYPES) and not (
            isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iuf"
        ):
            raise TypeError(
                f"{name}[{key!r}] must be a str, number, JSON-serialisable dict/list or 1-D "
                f"numeric array; got {describe(value)}"
            )
        clean[key] = value
    return clean


def make_trials(
    *,
    inputs: np.ndarray,
    targets: np.ndarray,
    loss_mask: np.ndarray,
    latents: np.ndarray,
    dt: float,
    input_names: Sequence[str],
    output_names: Sequence[str],
    latent_names: Sequence[str] | None = None,
    trial_coords: Mapping[str, np.ndarray] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build and validate a trials Dataset from raw arrays.

    Parameters
    ----------
    inputs : ndarray, shape (trial, time, input)
    targets : ndarray, shape (trial, time, output)
    loss_mask : ndarray, shape (trial, time, output)
        Non-negative weight of each output element in the loss.
    latents : ndarray, shape (trial, latent)
        Ground-truth latent variables.
    dt : float
        Euler step in ms.
    input_names, output_names : sequence of str
        Names of the input channels and outputs.
    latent_names : sequence of str, optional
        Names of the latent dimensions; default ``x0, x1, ...``.
    trial_coords : mapping of str to 1-D array, optional
        Trial-level conditions stored as coords on ``trial``.
    attrs : mapping, optional
        Provenance; dicts and lists are stored as JSON strings.

    Returns
    -------
    xarray.Dataset
        A valid trials Dataset.

    Raises
    ------
    ValueError
        If shapes disagree or values are non-finite.

    Examples
    --------
    >>> import numpy as np
    >>> ds = make_trials(inputs=np.zeros((2, 3, 1)), targets=np.zeros((2, 3, 1)),
    ...                  loss_mask=np.ones((2, 3, 1)), latents=np.zeros((2, 2)), dt=100.0,
    ...                  input_names=["fixation"], output_names=["y0"])
    >>> dict(ds.sizes)
    {'trial': 2, 'time': 3, 'input': 1, 'output': 1, 'latent': 2}
    """
    dt = check_real("dt", dt, minimum=0.0, strict_minimum=True)
    inputs = check_array("inputs", inputs, ndim=3)
    n_trials, n_steps, _ = inputs.shape
    targets = check_array("targets", targets, shape=(n_trials, n_steps, None))
    loss_mask = check_array("loss_mask", loss_mask, shape=targets.shape)
    latents = check_array("latents", latents, shape=(n_trials, None))
    if latent_names is None:
        latent_names = [f"x{i}" for i in range(latents.shape[1])]
    names = {"input_names": (input_names, inputs.shape[2]),
             "output_names": (output_names, targets.shape[2]),
             "latent_names": (latent_names, latents.shape[1])}
    for arg, (labels, size) in names.items():
        if len(labels) != size:
            raise ValueError(f"{arg} must have {size} entries to match the data; got {len(labels)}")
        repeated = sorted({str(x) for x in labels if list(labels).count(x) > 1})
        if repeated:
            raise ValueError(f"{arg} must be unique; got {list(labels)} (repeated: {repeated})")
    coords: dict[str, Any] = {
        TRIAL: np.arange(n_trials),
        TIME: time_coord(n_steps, dt),
        INPUT: list(input_names),
        OUTPUT: list(output_names),
        LATENT: list(latent_names),
    }
    for key, value in (trial_coords or {}).items():
        value = np.asarray(value)
        if value.shape != (n_trials,):
            raise ValueError(
                f"trial_coords[{key!r}] must have shape ({n_trials},); got {describe(value)}"
            )
        coords[key] = (TRIAL, value)
    ds = xr.Dataset(
        {
            "inputs": (VARIABLE_DIMS["inputs"], inputs),
            "targets": (VARIABLE_DIMS["targets"], targets),
            "loss_mask": (VARIABLE_DIMS["loss_mask"], loss_mask),
            "latents": (VARIABLE_DIMS["latents"], latents),
        },
        coords=coords,
        attrs=_clean_attrs({"dt": dt, **(attrs or {})}),
    )
    return validate_trials(ds)


def validate_trials(
    ds: xr.Dataset, required: Sequence[str] = ("inputs", "targets", "loss_mask", "latents")
) -> xr.Dataset:
    """Check that ``ds`` follows the trials schema and return it unchanged.

    Parameters
    ----------
    ds : xarray.Dataset
        Candidate trials Dataset.
    required : sequence of str
        Variables that must be present.

    Raises
    ------
    TypeError
        If ``ds`` is not a Dataset.
    ValueError
        If a required variable is missing, a variable has the wrong dims, ``time`` is not
        in ms on a ``dt`` grid, the loss mask is negative, or values are non-finite.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"trials must be an xarray.Dataset; got {describe(ds)}")
    missing = [name for name in required if name not in ds]
    if missing:
        raise ValueError(
            f"trials must contain variables {list(required)}; missing {missing} "
            f"(have {list(ds.data_vars)})"
        )
    for name, dims in VARIABLE_DIMS.items():
        if name in ds:
            check_dims(f"trials[{name!r}]", ds[name], dims)
            check_finite(f"trials[{name!r}]", ds[name].values)
    if "dt" not in ds.attrs:
        raise ValueError("trials.attrs must contain 'dt' (the Euler step in ms); it is missing")
    dt = check_real("trials.attrs['dt']", ds.attrs["dt"], minimum=0.0, strict_minimum=True)
    if TIME in ds.coords:
        if ds[TIME].attrs.get("units") != "ms":
            raise ValueError(
                f"trials['time'].attrs['units'] must be 'ms'; got {ds[TIME].attrs.get('units')!r}"
            )
        expected = np.arange(ds.sizes[TIME]) * dt
        if not np.allclose(ds[TIME].values - ds[TIME].values[0], expected, rtol=0, atol=1e-9 * dt):
            raise ValueError(f"trials['time'] must be spaced by dt={dt} ms; got {ds[TIME].values[:5]}...")
    if "loss_mask" in ds and bool((ds["loss_mask"] < 0).any()):
        raise ValueError("trials['loss_mask'] must be non-negative; got negative weights")
    return ds


def save_dataset(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write any labelled Dataset to netCDF atomically, with a SHA-256 sidecar.

    The file is written with :func:`neurodis.files.atomic_write` (temporary file,
    fsync, rename) and its digest recorded in ``<path>.sha256``, which
    :func:`load_dataset` checks. Attributes that are dicts or lists are stored as JSON
    strings; no pickle is used.

    Raises
    ------
    TypeError
        If ``ds`` is not a Dataset or ``path`` is not a path.
    ValueError
        If ``path`` is an existing folder (or lies below a file), or an attribute
        cannot be stored in netCDF.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset; got {describe(ds)}")
    path = check_path("path", path, kind="file")
    ds = ds.copy()
    ds.attrs = _clean_attrs(ds.attrs, "ds.attrs")
    for name in ds.variables:
        ds[name].attrs = _clean_attrs(ds[name].attrs, f"ds[{name!r}].attrs")
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"), checksum=True)


def load_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a Dataset written by :func:`save_dataset` fully into memory.

    The file is checked against its SHA-256 sidecar first when it has one (files
    written before neurodis recorded checksums have none and load unchecked).

    Raises
    ------
    TypeError
        If ``path`` is not a path.
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If ``path`` is a folder.
    CorruptFileError
        If the file fails its checksum or is truncated, empty or not netCDF.
    """
    path = check_path("path", path, kind="file")
    if not path.is_file():
        raise FileNotFoundError(f"path must be an existing netCDF file; got {str(path)!r}")
    verify_file(path)
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except PermissionError:
        raise
    except Exception as err:  # h5py, h5netcdf and xarray each raise their own kinds
        raise CorruptFileError(
            f"{path} is truncated, empty or not a netCDF file, and cannot be read "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})"
        ) from err


def save_trials(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Validate and write a trials Dataset to netCDF atomically.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, xarray as xr
    >>> ds = make_trials(inputs=np.ones((2, 3, 1)), targets=np.zeros((2, 3, 1)),
    ...                  loss_mask=np.ones((2, 3, 1)), latents=np.zeros((2, 2)), dt=50.0,
    ...                  input_names=["fixation"], output_names=["y0"],
    ...                  attrs={"config": {"sigma": 0.2}})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trials.nc"
    >>> xr.testing.assert_identical(load_trials(save_trials(ds, path)), ds)
    """
    return save_dataset(validate_trials(ds, required=()), path)


def load_trials(path: str | os.PathLike) -> xr.Dataset:
    """Load and validate a trials Dataset written by :func:`save_trials`."""
    return validate_trials(load_dataset(path), required=())
