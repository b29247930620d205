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

import functools
import json
import os
import types
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.core.indexes import Index, PandasIndex
from xarray.core.indexing import PandasIndexingAdapter

from neurodis._validation import (
    check_array,
    check_dims,
    check_finite,
    check_real,
    describe,
)
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
    "TIME_ATTRS",
    "TRIAL",
    "UNIT",
    "VARIABLE_ATTRS",
    "VARIABLE_DIMS",
    "assemble_dataset",
    "dataset_parts",
    "dim_coord",
    "load_dataset",
    "load_trials",
    "make_trials",
    "save_dataset",
    "save_trials",
    "shallow_copy",
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

#: CF-style ``units`` and ``long_name`` of every variable neurodis produces for trials.
#: Network signals are dimensionless (CF unit ``"1"``): a CTRNN rate is an activation,
#: not spikes/s. :func:`make_trials` and the simulator give their variables these attrs.
VARIABLE_ATTRS: dict[str, dict[str, str]] = {
    "inputs": {"units": "1", "long_name": "network input"},
    "targets": {"units": "1", "long_name": "target output"},
    "loss_mask": {"units": "1", "long_name": "loss weight"},
    "latents": {"units": "1", "long_name": "ground-truth latent variable"},
    "rates": {"units": "1", "long_name": "network unit rate (dimensionless activation)"},
    "outputs": {"units": "1", "long_name": "network readout"},
    "logits": {"units": "1", "long_name": "readout before its nonlinearity"},
    "final_rates": {"units": "1", "long_name": "network unit rate at the last step"},
    "final_outputs": {"units": "1", "long_name": "network readout at the last step"},
    "final_logits": {"units": "1", "long_name": "readout before its nonlinearity at the last step"},
    "initial_states": {"units": "1", "long_name": "network unit rate at the start of the run"},
    "input_vector": {"units": "1", "long_name": "network input held constant during the run"},
}


_ATTR_TYPES = (str, int, float, np.integer, np.floating)

#: Attributes of the ``time`` coordinate of trials.
TIME_ATTRS = {"units": "ms", "long_name": "time from trial start"}


def time_coord(n_steps: int, dt: float) -> xr.DataArray:
    """The ``time`` coordinate in ms: the start of each of ``n_steps`` Euler steps.

    Examples
    --------
    >>> time_coord(3, 100.0).values
    array([  0., 100., 200.])
    """
    return xr.DataArray(np.arange(n_steps, dtype=np.float64) * float(dt), dims=(TIME,), attrs=dict(TIME_ATTRS))


#: Coordinates of at most this many values have their index cached (a few KiB each).
_CACHED_VALUES = 1024


def _build_index(name: str, values: np.ndarray, attrs: Mapping[str, Any]) -> tuple[PandasIndex, xr.Variable]:
    index = PandasIndex(pd.Index(values), name, coord_dtype=values.dtype)
    return index, index.create_variables({name: xr.Variable((name,), values, dict(attrs))})[name]


@functools.lru_cache(maxsize=128)
def _cached_index(name: str, dtype: str, shape: tuple[int, ...], data: bytes,
                  attrs: tuple[tuple[str, Any], ...]) -> tuple[PandasIndex, xr.Variable]:
    return _build_index(name, np.frombuffer(data, dtype=dtype).reshape(shape), dict(attrs))


def dim_coord(name: str, values: np.ndarray,
              attrs: Mapping[str, Any] | None = None) -> tuple[PandasIndex, xr.Variable]:
    """The index of dimension ``name`` over 1-D ``values`` and its coordinate variable.

    A short coordinate (a task's trial axis and channel names repeat from call to
    call) has its index built once and shared, as ``Dataset.copy`` shares indexes;
    the variable is a fresh shallow copy, so its attrs are the caller's own. A long
    one is built afresh (its data then costs more than the index).

    Examples
    --------
    >>> index, variable = dim_coord("unit", np.arange(3))
    >>> variable.dims, variable.values
    (('unit',), array([0, 1, 2]))
    """
    values = np.ascontiguousarray(values)
    if values.size > _CACHED_VALUES:
        return _build_index(name, values, attrs or {})
    index, variable = _cached_index(name, values.dtype.str, values.shape, values.tobytes(),
                                    tuple((attrs or {}).items()))
    return index, shallow_copy(variable)


def shallow_copy(variable: xr.Variable) -> xr.Variable:
    """``variable.copy(deep=False)``: the same data, with attrs and encoding of its own.

    xarray's copy runs the constructor's checks again on parts that are consistent
    already: a dozen such copies cost more than simulating a small batch. A plain
    in-memory variable (numpy data, or an index's pandas adapter) is copied slot by
    slot here; any other (lazily loaded data, whose cache a copy must not share) takes
    xarray's copy. The tests check both give identical variables.

    Examples
    --------
    >>> original = xr.Variable(("unit",), np.arange(3), {"units": "1"})
    >>> copy = shallow_copy(original)
    >>> copy.attrs["units"] = "ms"
    >>> original.attrs["units"], copy.values is original.values
    ('1', True)
    """
    cls = type(variable)
    if (cls is not xr.Variable and cls is not xr.IndexVariable) or type(variable._data) not in _PLAIN_DATA:
        return variable.copy(deep=False)
    copy = object.__new__(cls)
    # the slots as Variable.__init__ fills them: an empty attrs dict is stored as None there
    copy._dims, copy._data = variable._dims, variable._data
    copy._attrs = dict(variable._attrs) if variable._attrs else None
    copy._encoding = None if variable._encoding is None else dict(variable._encoding)
    return copy


# data that a shallow copy shares as it is (xarray's own copy re-wraps lazily loaded arrays)
_PLAIN_DATA = (np.ndarray, PandasIndexingAdapter)


def assemble_dataset(
    variables: Mapping[str, xr.Variable],
    coord_names: Iterable[str],
    attrs: Mapping[str, Any],
    indexes: Mapping[str, Index],
    encoding: Mapping[str, Any] | None = None,
    sizes: Mapping[str, int] | None = None,
) -> xr.Dataset:
    """A Dataset from finished parts, as the public constructor would build it, faster.

    ``variables`` are in the Dataset's order; ``indexes`` maps each indexed coordinate
    to its index (from :func:`dim_coord` or an existing Dataset's ``xindexes``). The
    caller guarantees what the public constructor checks and merges: consistent
    sizes, one variable per name, an index per dimension coordinate. ``sizes``, when
    the caller knows them, must be what the variables give, in the order in which the
    dims first appear in them; by default they are read from the variables. Building and
    merging the public way costs 1-3 ms, more than sampling or simulating a small
    batch; the tests check the result is identical to the public constructor's.

    Examples
    --------
    >>> index, unit = dim_coord("unit", np.arange(3))
    >>> ds = assemble_dataset({"rates": xr.Variable(("unit",), np.zeros(3)), "unit": unit}, ["unit"],
    ...                       {"dt": 10.0}, {"unit": index})
    >>> dict(ds.sizes), list(ds.coords)
    ({'unit': 3}, ['unit'])
    """
    if sizes is None:
        sizes = {}
        for variable in variables.values():
            sizes.update(zip(variable.dims, variable.shape))
    # xarray's own constructor for finished parts (private, but stable since 0.16): the
    # public one would merge and re-index what is already consistent here
    return xr.Dataset._construct_direct(dict(variables), set(coord_names), dict(sizes), dict(attrs),
                                        dict(indexes), dict(encoding or {}))


def dataset_parts(ds: xr.Dataset) -> tuple[Mapping[str, xr.Variable], AbstractSet[str], Mapping[str, Index]]:
    """The variables, coordinate names and indexes of ``ds``, as :func:`assemble_dataset` takes them.

    Read-only views of the Dataset's own containers: the public ``ds.coords`` and
    ``ds.xindexes`` build wrapper objects on every access (about 5 µs each, a tenth of
    the labelled overhead of simulating a small batch).

    Examples
    --------
    >>> ds = xr.Dataset({"rates": ("unit", np.zeros(2))}, coords={"unit": [0, 1]})
    >>> variables, coord_names, indexes = dataset_parts(ds)
    >>> list(variables), sorted(coord_names), list(indexes)
    (['rates', 'unit'], ['unit'], ['unit'])
    """
    # private since xarray 0.16 but stable, as ``Dataset._construct_direct`` above
    return ds.variables, frozenset(ds._coord_names), types.MappingProxyType(ds._indexes)


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
    inputs = _checked_array("inputs", inputs, ndim=3)
    n_trials, n_steps, _ = inputs.shape
    targets = _checked_array("targets", targets, shape=(n_trials, n_steps, None))
    loss_mask = _checked_array("loss_mask", loss_mask, shape=targets.shape)
    latents = _checked_array("latents", latents, shape=(n_trials, None))
    if latent_names is None:
        latent_names = [f"x{i}" for i in range(latents.shape[1])]
    indexes, coords = _trial_dim_coords(n_trials, n_steps, dt, (input_names, inputs.shape[2]),
                                        (output_names, targets.shape[2]), (latent_names, latents.shape[1]))
    others: dict[str, xr.Variable] = {}
    for key, value in (trial_coords or {}).items():
        value = np.asarray(value)
        if value.shape != (n_trials,):
            raise ValueError(
                f"trial_coords[{key!r}] must have shape ({n_trials},); got {describe(value)}"
            )
        others[key] = xr.Variable((TRIAL,), value)
    # the arrays were checked finite above and every dim is built here: only the sign is left
    if (loss_mask < 0).any():
        raise ValueError("trials['loss_mask'] must be non-negative; got negative weights")
    # fastpath: the checked arrays are plain numeric ndarrays, which xarray would keep as they are
    variables: dict[str, xr.Variable] = {
        name: xr.Variable(VARIABLE_DIMS[name], array, dict(VARIABLE_ATTRS[name]), fastpath=True)
        for name, array in (("inputs", inputs), ("targets", targets), ("loss_mask", loss_mask), ("latents", latents))
    }
    # shallow copies, so that each Dataset's coordinate attrs are its own
    variables.update((name, shallow_copy(variable)) for name, variable in coords.items())
    variables.update(others)
    return assemble_dataset(variables, [*coords, *others], _clean_attrs({"dt": dt, **(attrs or {})}), indexes)


def _checked_array(name: str, value: Any, *, ndim: int | None = None,
                   shape: Sequence[int | None] | None = None) -> np.ndarray:
    """``check_array(name, value, ndim=ndim, shape=shape)``, in a few µs for a valid ndarray.

    A plain finite numeric ndarray of the right shape is returned as it is (what
    ``check_array`` would return); anything else goes through ``check_array``, which
    converts it or raises its usual error.
    """
    if (type(value) is np.ndarray and value.dtype.kind in "biufc"
            and (ndim is None or value.ndim == ndim)
            and (shape is None or (len(shape) == value.ndim
                                   and all(want is None or want == got for want, got in zip(shape, value.shape))))
            and np.isfinite(value).all()):
        return value
    return check_array(name, value, ndim=ndim, shape=shape)


def _trial_dim_coords(
    n_trials: int, n_steps: int, dt: float, *names: tuple[Sequence[Any], int]
) -> tuple[dict[str, Index], dict[str, xr.Variable]]:
    """Indexes and coordinate variables of ``trial``, ``time``, ``input``, ``output`` and ``latent``.

    ``names`` are the (labels, size) of ``input``, ``output`` and ``latent``; they are
    checked against the sizes of the data. Labels that are all ``str`` along axes of at
    most ``_CACHED_VALUES`` steps and trials (a task's batches) are built once and
    shared: the returned variables must be copied before use.
    """
    if max(n_trials, n_steps) <= _CACHED_VALUES and all(
        isinstance(labels, (list, tuple)) and all(type(label) is str for label in labels) for labels, _ in names
    ):
        return _cached_trial_dim_coords(n_trials, n_steps, dt, *((tuple(labels), size) for labels, size in names))
    return _build_trial_dim_coords(n_trials, n_steps, dt, *names)


def _build_trial_dim_coords(
    n_trials: int, n_steps: int, dt: float, *names: tuple[Sequence[Any], int]
) -> tuple[dict[str, Index], dict[str, xr.Variable]]:
    for arg, (labels, size) in zip(("input_names", "output_names", "latent_names"), names):
        if len(labels) != size:
            raise ValueError(f"{arg} must have {size} entries to match the data; got {len(labels)}")
        repeated = sorted({str(x) for x, count in Counter(labels).items() if count > 1})
        if repeated:
            raise ValueError(f"{arg} must be unique; got {list(labels)} (repeated: {repeated})")
    dim_coords = {
        TRIAL: (np.arange(n_trials), {}),
        TIME: (np.arange(n_steps, dtype=np.float64) * dt, TIME_ATTRS),
        **{dim: (np.asarray(list(labels)), {}) for dim, (labels, _) in zip((INPUT, OUTPUT, LATENT), names)},
    }
    indexes: dict[str, Index] = {}
    variables: dict[str, xr.Variable] = {}
    for name, (values, value_attrs) in dim_coords.items():
        indexes[name], variables[name] = _build_index(name, values, value_attrs)
    return indexes, variables


# a task's batches repeat one shape; a failed check raises, and is not cached
_cached_trial_dim_coords = functools.lru_cache(maxsize=64)(_build_trial_dim_coords)


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
    # Variables, not ds[name]: each DataArray built from a Dataset costs ~0.1 ms
    variables = ds.variables
    for name, dims in VARIABLE_DIMS.items():
        if name in variables:
            variable = variables[name]
            if variable.dims != dims:
                check_dims(f"trials[{name!r}]", variable, dims)
            values = variable.values
            # check_finite's test, without its overhead; it words the error
            if values.dtype.kind in "fc" and not np.isfinite(values).all():
                check_finite(f"trials[{name!r}]", values)
    if "dt" not in ds.attrs:
        raise ValueError("trials.attrs must contain 'dt' (the Euler step in ms); it is missing")
    dt = check_real("trials.attrs['dt']", ds.attrs["dt"], minimum=0.0, strict_minimum=True)
    if TIME in ds.coords:
        time = variables[TIME]
        if time.attrs.get("units") != "ms":
            raise ValueError(
                f"trials['time'].attrs['units'] must be 'ms'; got {time.attrs.get('units')!r}"
            )
        index = dataset_parts(ds)[2].get(TIME)
        # a pandas index holds its coordinate's values: reading them there skips a conversion
        time_values = (index.index.to_numpy() if type(index) is PandasIndex and index.index.dtype == time.dtype
                       else time.values)
        expected = _time_grid(ds.sizes[TIME], dt)
        # exactly the grid (as sampled), or np.allclose(..., rtol=0, atol=1e-9·dt) to it from
        # a later origin, without np.allclose's overhead (NaN fails both)
        if not ((time_values == expected).all()
                or (np.abs(time_values - time_values[0] - expected) <= 1e-9 * dt).all()):
            raise ValueError(f"trials['time'] must be spaced by dt={dt} ms; got {time_values[:5]}...")
    if "loss_mask" in variables and bool((variables["loss_mask"].values < 0).any()):
        raise ValueError("trials['loss_mask'] must be non-negative; got negative weights")
    return ds


@functools.lru_cache(maxsize=32)
def _time_grid(n_steps: int, dt: float) -> np.ndarray:
    """``np.arange(n_steps) * dt``, read-only: a task's batches repeat one grid."""
    grid = np.arange(n_steps) * dt
    grid.flags.writeable = False
    return grid


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
