"""Argument checks shared by the whole package, with one wording.

Every message names the argument, what was expected and what arrived::

    n_tasks must be a positive integer; got -3

Bad values raise :class:`ValueError`, bad types :class:`TypeError`.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "NeurodisWarning",
    "check_array",
    "check_dims",
    "check_finite",
    "check_in",
    "check_int",
    "check_memory",
    "check_multiple",
    "check_samples",
    "check_probability",
    "check_real",
    "check_rng",
    "check_type",
    "describe",
    "memory_limit",
    "rng_provenance",
]

#: Spread (max - min of a column) relative to the largest magnitude below which an array
#: counts as constant across samples: centring a constant column leaves rounding noise of
#: about 1e-16 of its magnitude, which an analysis would otherwise read as structure.
CONSTANT_RTOL = 1e-12

#: Allocation limit used when the physical memory cannot be read (1 TiB).
FALLBACK_MEMORY_LIMIT = 2**40

class NeurodisWarning(UserWarning):
    """Warnings issued by neurodis (errors in the test suite)."""


def describe(value: Any) -> str:
    """Short description of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if hasattr(value, "dims") and hasattr(value, "shape"):
        return f"{type(value).__name__} with dims {tuple(value.dims)} and shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_type(name: str, value: Any, types: type | tuple[type, ...], expected: str) -> Any:
    """Raise ``TypeError`` unless ``value`` is an instance of ``types``."""
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {expected}; got {type(value).__name__} {describe(value)}")
    return value


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as ``int`` after checking type and bounds.

    Examples
    --------
    >>> check_int("n_tasks", 24, minimum=1)
    24
    >>> check_int("n_tasks", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: n_tasks must be an integer >= 1; got 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {describe(value)}")
    value = int(value)
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}]; got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}; got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    strict_maximum: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds.

    Examples
    --------
    >>> check_real("sigma", 0.2, minimum=0.0)
    0.2
    >>> check_real("sigma", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: sigma must be a finite real number; got nan
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value}")
    if minimum is not None and (value <= minimum if strict_minimum else value < minimum):
        op = ">" if strict_minimum else ">="
        raise ValueError(f"{name} must be {op} {minimum}; got {value}")
    if maximum is not None and (value >= maximum if strict_maximum else value > maximum):
        op = "<" if strict_maximum else "<="
        raise ValueError(f"{name} must be {op} {maximum}; got {value}")
    return value


def check_probability(name: str, value: Any, *, open_interval: bool = False) -> float:
    """Return ``value`` as a float in [0, 1] (or (0, 1) when ``open_interval``)."""
    return check_real(
        name, value, minimum=0.0, maximum=1.0,
        strict_minimum=open_interval, strict_maximum=open_interval,
    )


def check_multiple(name: str, value: float, step: float, step_name: str = "dt") -> int:
    """Return ``value / step`` as an integer, or raise if it is not a whole multiple.

    Examples
    --------
    >>> check_multiple("stimulus", 2000, 100)
    20
    >>> check_multiple("stimulus", 250, 100)
    Traceback (most recent call last):
    ...
    ValueError: stimulus must be a non-negative multiple of dt=100.0 ms; got 250.0
    """
    value = check_real(name, value)
    ratio = value / step
    count = round(ratio)
    if value < 0 or abs(ratio - count) > 1e-9 * max(1.0, abs(ratio)):
        raise ValueError(
            f"{name} must be a non-negative multiple of {step_name}={float(step)} ms; got {value}"
        )
    return int(count)


def check_in(name: str, value: Any, options: Iterable[Any]) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``options``.

    Examples
    --------
    >>> check_in("noise", "gaussian", ["gaussian", "ar1"])
    'gaussian'
    >>> check_in("noise", "pink", ["gaussian", "ar1"])
    Traceback (most recent call last):
    ...
    ValueError: noise must be one of ['gaussian', 'ar1']; got 'pink'
    """
    options = list(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {options!r}; got {value!r}")
    return value


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    dtype: Any = None,
    finite: bool = True,
) -> np.ndarray:
    """Return ``value`` as a numpy array after checking rank, shape and finiteness.

    ``shape`` entries that are ``None`` match any length.
    """
    try:
        array = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like; got {type(value).__name__}") from err
    if array.dtype.kind not in "biufc":  # objects, strings, bytes, datetimes
        raise TypeError(f"{name} must be a numeric array; got {describe(array)}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got {describe(array)}")
    if shape is not None:
        ok = len(shape) == array.ndim and all(
            want is None or want == got for want, got in zip(shape, array.shape)
        )
        if not ok:
            want = tuple("any" if s is None else s for s in shape)
            raise ValueError(f"{name} must have shape {want}; got {describe(array)}")
    if finite:
        check_finite(name, array)
    return array


def check_finite(name: str, array: np.ndarray) -> np.ndarray:
    """Raise ``ValueError`` if ``array`` holds NaN or infinity, saying where."""
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.number) and not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))
        raise ValueError(
            f"{name} must be finite; got {len(bad)} non-finite values, "
            f"the first at index {tuple(int(i) for i in bad[0])}"
        )
    return array


def check_dims(name: str, obj: Any, dims: Sequence[str], *, exact: bool = True) -> Any:
    """Check that an xarray object has ``dims`` (exactly, or at least when ``exact=False``).

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> da = xr.DataArray(np.zeros((3, 2)), dims=("time", "unit"))
    >>> check_dims("rates", da, ("trial", "time", "unit"))
    Traceback (most recent call last):
    ...
    ValueError: rates must have dims ('trial', 'time', 'unit'); got ('time', 'unit') with shape (3, 2)
    """
    if not hasattr(obj, "dims"):
        raise TypeError(f"{name} must be an xarray object with dims {tuple(dims)}; got {describe(obj)}")
    have = tuple(obj.dims)
    ok = have == tuple(dims) if exact else set(dims) <= set(have)
    if not ok:
        qualifier = "" if exact else "at least "
        raise ValueError(
            f"{name} must have {qualifier}dims {tuple(dims)}; got {have} with shape {tuple(obj.shape)}"
            if hasattr(obj, "shape") and not hasattr(obj, "data_vars")
            else f"{name} must have {qualifier}dims {tuple(dims)}; got {have}"
        )
    return obj


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Normalise ``rng`` (int, SeedSequence, Generator or None) to a Generator.

    An existing Generator is returned as is (so consuming it advances the caller's
    stream); an int or SeedSequence seeds a new PCG64 Generator.

    Examples
    --------
    >>> bool(check_rng(0).integers(100) == check_rng(0).integers(100))
    True
    >>> check_rng("zero")
    Traceback (most recent call last):
    ...
    TypeError: rng must be an int, numpy.random.SeedSequence, numpy.random.Generator or None; got str 'zero'
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name} must be a non-negative integer seed; got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be an int, numpy.random.SeedSequence, numpy.random.Generator or None; "
        f"got {type(rng).__name__} {describe(rng)}"
    )


def rng_provenance(rng: Any, generator: np.random.Generator) -> dict[str, str | int]:
    """Attributes recording how ``generator`` was seeded and its state before use.

    ``seed`` is the integer seed when one was given (else -1); ``rng_state`` is the
    JSON bit-generator state, enough to replay the draws exactly.
    """
    seed = int(rng) if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) else -1
    state = json.dumps(generator.bit_generator.state, default=int)
    return {"seed": seed, "rng_state": state}


def memory_limit() -> int:
    """Bytes one call may ask for: the machine's physical memory (1 TiB if unknown).

    An array larger than the whole physical memory can never be filled, so asking for
    one is a mistake in the arguments (``n_trials=10**13``), not a sizing choice; every
    size a real run uses (8000-trial evaluations, 4096-trial batches, 25-member
    ensembles) is orders of magnitude below it.
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):  # not POSIX, or the value is unavailable
        return FALLBACK_MEMORY_LIMIT


def check_memory(
    name: str, value: Any, n_bytes: float, contents: str, *,
    advice: str | None = None, limit: float | None = None,
) -> None:
    """Raise ``ValueError`` before allocating ``n_bytes`` if that exceeds ``limit``.

    Parameters
    ----------
    name, value : str, object
        The argument that sets the size, and its value (both named in the message).
    n_bytes : float
        Estimated bytes the call would allocate (computed in floats, so it never overflows).
    contents : str
        What would be allocated, e.g. ``"inputs (trial, time, input) float64"``.
    advice : str, optional
        What to do instead (default ``"reduce <name>"``).
    limit : float, optional
        Allowed bytes (default :func:`memory_limit`, the physical memory).

    Examples
    --------
    >>> check_memory("n_trials", 10**13, 9.1e14, "inputs (trial, time, input) float64",
    ...              advice="reduce n_trials or split the sampling", limit=2**40)
    Traceback (most recent call last):
    ...
    ValueError: n_trials=10000000000000 would need about 9.1e+14 bytes (inputs (trial, time, input) float64),
    more than the limit of 1.1e+12 bytes (physical memory); reduce n_trials or split the sampling
    """
    limit = memory_limit() if limit is None else limit
    if float(n_bytes) > limit:
        raise ValueError(
            f"{name}={value} would need about {float(n_bytes):.2g} bytes ({contents}), more than "
            f"the limit of {float(limit):.2g} bytes (physical memory); {advice or 'reduce ' + name}"
        )


def check_samples(
    name: str, values_sxn: np.ndarray, *, min_samples: int = 2, samples: str = "samples", vary: bool = True
) -> np.ndarray:
    """Refuse a degenerate representation: too few samples, or (``vary``) a constant one.

    Every similarity metric (and the decoders) calls this on each of its inputs, so
    degenerate input gets one wording and one exception type everywhere instead of a
    NaN, a warning or a numpy error from deep inside a metric.

    Parameters
    ----------
    name : str
        The argument named in the message (``"x"``, ``"y"``, ``"null[2]"``).
    values_sxn : ndarray
        Samples along the first axis (e.g. the stacked sample dims × units).
    min_samples : int
        Fewest samples the metric can use.
    samples : str
        What the rows are, for the message (``"samples"``, ``"items"``, …).
    vary : bool
        Also refuse rows that are all equal (within :data:`CONSTANT_RTOL`).

    Returns
    -------
    ndarray
        ``values_sxn`` unchanged.

    Raises
    ------
    ValueError
        Naming the argument, the requirement and what arrived.

    Examples
    --------
    >>> import numpy as np
    >>> check_samples("x", np.ones((5, 3)))
    Traceback (most recent call last):
    ...
    ValueError: x must vary across samples; got 5 samples that are all equal (a constant array of shape (5, 3))
    >>> check_samples("y", np.zeros((1, 3)))
    Traceback (most recent call last):
    ...
    ValueError: y must have at least 2 samples; got 1 (an array of shape (1, 3))
    """
    values_sxn = np.asarray(values_sxn)
    n_samples = values_sxn.shape[0] if values_sxn.ndim else 0
    if n_samples < min_samples:
        raise ValueError(
            f"{name} must have at least {min_samples} {samples}; got {n_samples} (an array of shape {values_sxn.shape})"
        )
    if vary:
        flat = values_sxn.reshape(n_samples, -1).astype(np.float64, copy=False)
        spread = float(np.max(np.ptp(flat, axis=0))) if flat.size else 0.0
        scale = float(np.max(np.abs(flat))) if flat.size else 0.0
        if spread <= CONSTANT_RTOL * scale:  # all zeros has spread = scale = 0
            raise ValueError(
                f"{name} must vary across {samples}; got {n_samples} {samples} that are all equal "
                f"(a constant array of shape {values_sxn.shape})"
            )
    return values_sxn
