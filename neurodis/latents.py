"""Orthant and quadrant geometry of latent vectors, shared by tasks and analyses.

Orthants are named by a binary code: bit ``i`` is set when ``x_i < 0``, so the codes
run over ``0 .. 2**D - 1``. For D = 2 the math-convention quadrants are
Q1 (x>0, y>0) = code 0, Q2 (x<0, y>0) = code 1, Q3 (x<0, y<0) = code 3 and
Q4 (x>0, y<0) = code 2.

This module sits low (beside :mod:`neurodis.trials`) because both the tasks (which
sample latents in chosen orthants) and the pure analyses (which split trials by
quadrant for out-of-distribution decoding) need it, and analyses may not import tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from neurodis._validation import check_array, check_int, describe

__all__ = [
    "QUADRANT_OF_ORTHANT",
    "check_orthants",
    "orthant_codes",
    "orthant_coords",
    "orthant_of",
    "orthant_signs",
    "orthant_to_quadrant",
    "quadrant_code",
    "quadrant_codes",
    "quadrant_of",
    "quadrant_to_orthant",
]

# value of bit i of an orthant code (codes fit int64 up to 63 dims)
_BIT_VALUES = np.int64(1) << np.arange(63, dtype=np.int64)
#: index = 2-D orthant code (bit 0: x < 0, bit 1: y < 0) -> quadrant number
QUADRANT_OF_ORTHANT = np.array([1, 2, 4, 3])
QUADRANT_OF_ORTHANT.setflags(write=False)
# index = quadrant number (entry 0 unused) -> orthant code
_ORTHANT_OF_QUADRANT = np.array([-1, 0, 1, 3, 2])


def _as_codes(name: str, values: Any, low: int, high: int) -> np.ndarray:
    """Integer array of ``values`` after checking every entry lies in [low, high]."""
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers; got {describe(values)}")
    if array.size and (array.min() < low or array.max() > high):
        raise ValueError(f"{name} must hold integers in [{low}, {high}]; got {array.tolist()}")
    return array.astype(np.int64)


def quadrant_to_orthant(quadrants: int | Iterable[int]) -> int | np.ndarray:
    """Orthant codes of quadrant numbers 1..4 (math convention).

    Examples
    --------
    >>> quadrant_to_orthant([1, 2, 3, 4])
    array([0, 1, 3, 2])
    >>> quadrant_to_orthant(5)
    Traceback (most recent call last):
    ...
    ValueError: quadrants must hold integers in [1, 4]; got 5
    """
    codes = _ORTHANT_OF_QUADRANT[_as_codes("quadrants", quadrants, 1, 4)]
    return int(codes) if codes.ndim == 0 else codes


def quadrant_code(orthants: Any) -> Any:
    """The 2-D orthant code (0..3) of the quadrant of ``x_0, x_1`` that each orthant lies in (any D).

    Examples
    --------
    >>> quadrant_code(np.array([0, 1, 5, 7]))  # D = 3: 5 is x_0 < 0 <= x_1 with x_2 < 0
    array([0, 1, 1, 3])
    """
    return orthants & 3


def orthant_to_quadrant(orthants: int | Iterable[int]) -> int | np.ndarray:
    """Quadrant numbers 1..4 of 2-D orthant codes 0..3.

    Examples
    --------
    >>> orthant_to_quadrant([0, 1, 2, 3])
    array([1, 2, 4, 3])
    """
    quadrants = QUADRANT_OF_ORTHANT[_as_codes("orthants", orthants, 0, 3)]
    return int(quadrants) if quadrants.ndim == 0 else quadrants


def orthant_of(latents: np.ndarray) -> np.ndarray:
    """Orthant code of each row of ``latents`` (bit ``i`` set when ``x_i < 0``).

    Parameters
    ----------
    latents : ndarray, shape (trial, latent)

    Returns
    -------
    ndarray of int64, shape (trial,)

    Examples
    --------
    >>> orthant_of(np.array([[0.1, 0.2], [-0.1, 0.2], [0.1, -0.2], [-0.1, -0.2]]))
    array([0, 1, 2, 3])
    """
    return orthant_codes(check_array("latents", latents, ndim=2))


def orthant_codes(latents_bxd: np.ndarray) -> np.ndarray:
    """:func:`orthant_of` without argument checks (the tasks' fast path)."""
    return np.dot(latents_bxd < 0, _BIT_VALUES[: latents_bxd.shape[1]])


def quadrant_codes(latents_bx2: np.ndarray) -> np.ndarray:
    """:func:`quadrant_of` without argument checks (the tasks' fast path)."""
    return QUADRANT_OF_ORTHANT[orthant_codes(latents_bx2)]


def quadrant_of(latents: np.ndarray) -> np.ndarray:
    """Quadrant number 1..4 of each row of 2-D ``latents`` (Q1 x>0,y>0; Q2 x<0,y>0; ...).

    Examples
    --------
    >>> quadrant_of(np.array([[0.1, 0.2], [-0.1, 0.2], [-0.1, -0.2], [0.1, -0.2]]))
    array([1, 2, 3, 4])
    >>> quadrant_of(np.zeros((2, 3)))
    Traceback (most recent call last):
    ...
    ValueError: latents must have shape ('any', 2) for quadrants; got array of shape (2, 3) and dtype float64
    """
    latents = np.asarray(latents)
    if latents.ndim != 2 or latents.shape[1] != 2:
        raise ValueError(f"latents must have shape ('any', 2) for quadrants; got {describe(latents)}")
    return quadrant_codes(check_array("latents", latents))


def check_orthants(orthants: Any, n_dims: int, name: str = "orthants") -> tuple[int, ...]:
    """Validate a non-empty collection of distinct orthant codes for ``n_dims`` dims."""
    if isinstance(orthants, (str, bytes)) or not isinstance(orthants, Iterable):
        raise TypeError(f"{name} must be a sequence of orthant codes; got {describe(orthants)}")
    codes = [check_int(f"{name} entry", code, minimum=0, maximum=2**n_dims - 1) for code in orthants]
    if not codes:
        raise ValueError(f"{name} must hold at least one orthant code; got an empty sequence")
    if len(set(codes)) != len(codes):
        raise ValueError(f"{name} must hold distinct orthant codes; got {codes}")
    return tuple(codes)


def orthant_signs(orthants: Iterable[int], n_dims: int) -> np.ndarray:
    """Sign pattern (+1 / -1) of each orthant code, shape (orthant, n_dims).

    Examples
    --------
    >>> orthant_signs([0, 1, 3], 2)
    array([[ 1.,  1.],
           [-1.,  1.],
           [-1., -1.]])
    """
    codes = np.asarray(check_orthants(orthants, n_dims))
    bits = (codes[:, None] >> np.arange(n_dims)) & 1
    return 1.0 - 2.0 * bits


def orthant_coords(x_mxd: np.ndarray, n_trials: int, k: int) -> dict[str, np.ndarray]:
    """Trial coords ``orthant`` (and ``quadrant`` for D = 2) of ``n_trials`` sequences of ``k`` latents.

    ``x_mxd`` holds the ``m = n_trials · k`` latents sequence by sequence. With ``k = 1``
    the coords are ``orthant`` (and ``quadrant``); with ``k > 1`` the ``j``-th latent of
    each sequence gets ``orthant_j`` (``orthant`` for ``j = 0``).

    Examples
    --------
    >>> x = np.array([[0.2, 0.3], [-0.2, 0.3], [-0.1, -0.4], [0.3, -0.1]])
    >>> {name: codes.tolist() for name, codes in orthant_coords(x, 2, 2).items()}
    {'orthant': [0, 3], 'orthant_1': [1, 2], 'quadrant': [1, 3], 'quadrant_1': [2, 4]}
    """
    codes = {"orthant": orthant_codes(x_mxd)}
    if x_mxd.shape[1] == 2:
        codes["quadrant"] = QUADRANT_OF_ORTHANT[codes["orthant"]]
    if k == 1:
        return codes
    return {name if j == 0 else f"{name}_{j}": value.reshape(n_trials, k)[:, j]
            for name, value in codes.items() for j in range(k)}
