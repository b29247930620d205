"""Argument checks shared by the whole package, with one wording.

Every message names the argument, what was expected and what arrived::

    n_tasks must be a positive integer; got -3

Bad values raise :class:`ValueError`, bad types :class:`TypeError`.
"""

from __future__ import annotations

import json
import math
import numbers
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
    "check_multiple",
    "check_probability",
    "check_real",
    "check_rng",
    "check_type",
    "describe",
    "rng_provenance",
]

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
    if array.dtype == object:
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
