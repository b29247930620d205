"""Conditions and dichotomies of labelled rates, shared by the abstraction metrics.

Rates are flattened to samples (``trial`` and/or ``condition`` dims), every sample gets
an integer condition code, and every dichotomy becomes a boolean side per condition.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_finite, check_type, describe
from neurodis.trials import CONDITION, TIME, TRIAL, UNIT

SAMPLE_DIMS = (CONDITION, TRIAL)
Labels = Any  # str (coord name) | xarray.DataArray | array-like


@dataclass(frozen=True)
class Design:
    """Rates flattened to samples, with condition codes and dichotomy sides."""

    x_sxtxn: np.ndarray
    cond_s: np.ndarray
    labels: np.ndarray
    names: list[Any]
    sides_dxk: np.ndarray
    time: xr.DataArray | None


def _flatten_rates(rates: Any) -> tuple[tuple[str, ...], np.ndarray, xr.DataArray | None]:
    """Validate ``rates``; return its sample dims and the (sample, time, unit) array."""
    check_type(
        "rates", rates, xr.DataArray, "an xarray.DataArray with dims (trial|condition, [time], unit)"
    )
    dims = tuple(rates.dims)
    sample_dims = tuple(d for d in dims if d in SAMPLE_DIMS)
    extra = [d for d in dims if d not in (*SAMPLE_DIMS, TIME, UNIT)]
    if UNIT not in dims or not sample_dims or extra:
        raise ValueError(
            "rates must have dims (trial and/or condition, optional time, unit); "
            f"got {dims} with shape {tuple(rates.shape)}"
        )
    has_time = TIME in dims
    order = (*sample_dims, *((TIME,) if has_time else ()), UNIT)
    x = np.asarray(rates.transpose(*order).values, dtype=np.float64)
    check_finite("rates", x)
    n_samples = int(np.prod([rates.sizes[d] for d in sample_dims]))
    x_sxtxn = x.reshape(n_samples, rates.sizes[TIME] if has_time else 1, rates.sizes[UNIT])
    return sample_dims, x_sxtxn, (rates[TIME] if has_time else None)


def _per_sample(name: str, value: Labels, rates: xr.DataArray, sample_dims: tuple[str, ...]) -> np.ndarray:
    """Labels broadcast over the sample dims and flattened to one value per sample."""
    shape = tuple(rates.sizes[d] for d in sample_dims)
    if isinstance(value, str):
        if value not in rates.coords:
            raise ValueError(
                f"{name} names the coord {value!r}, which rates lacks; "
                f"rates has coords {list(rates.coords)}"
            )
        value = rates.coords[value]
    if isinstance(value, xr.DataArray):
        if not value.dims or not set(value.dims) <= set(sample_dims):
            raise ValueError(
                f"{name} must have dims within the sample dims {sample_dims}; got {describe(value)}"
            )
        for dim in value.dims:
            if value.sizes[dim] != rates.sizes[dim]:
                raise ValueError(
                    f"{name} must have length {rates.sizes[dim]} along {dim!r} to match rates; "
                    f"got {value.sizes[dim]}"
                )
        kept = [d for d in sample_dims if d in value.dims]
        expanded = value.transpose(*kept).values.reshape(
            [rates.sizes[d] if d in value.dims else 1 for d in sample_dims]
        )
        return np.broadcast_to(expanded, shape).ravel()
    array = np.asarray(value)
    if len(sample_dims) != 1 or array.shape != shape:
        raise ValueError(
            f"{name} must be a coord name, a DataArray over {sample_dims}, or an array of shape {shape}; "
            f"got {describe(array)}"
        )
    return array


def _binary(name: str, values_s: np.ndarray) -> np.ndarray:
    """Boolean side of every sample; the larger of the two distinct values is True."""
    unique = np.unique(values_s)
    if unique.size != 2:
        shown = unique[:5].tolist()
        raise ValueError(f"{name} must take exactly 2 distinct values; got {unique.size}: {shown}")
    return values_s == unique[1]


def _dichotomy_values(
    dichotomies: Any, rates: xr.DataArray, sample_dims: tuple[str, ...]
) -> dict[Any, np.ndarray]:
    """Per-sample boolean sides of the named dichotomies."""
    if isinstance(dichotomies, str):
        dichotomies = [dichotomies]
    if isinstance(dichotomies, Mapping):
        items = list(dichotomies.items())
    elif isinstance(dichotomies, Sequence) and all(isinstance(d, str) for d in dichotomies):
        items = [(d, d) for d in dichotomies]
    else:
        raise TypeError(
            "dichotomies must be a coord name, a sequence of coord names or a mapping of name to labels; "
            f"got {type(dichotomies).__name__} {describe(dichotomies)}"
        )
    if not items:
        raise ValueError("dichotomies must name at least one dichotomy; got none")
    return {
        key: _binary(
            f"dichotomies[{key!r}]", _per_sample(f"dichotomies[{key!r}]", value, rates, sample_dims)
        )
        for key, value in items
    }


def _condition_codes(
    conditions: Any, rates: xr.DataArray, sample_dims: tuple[str, ...], values: dict[Any, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer condition code of every sample, and the condition labels."""
    if conditions is None and CONDITION in sample_dims:
        conditions = xr.DataArray(rates[CONDITION].values, dims=(CONDITION,))
    if isinstance(conditions, Mapping):
        values = {
            key: _binary(f"conditions[{key!r}]", _per_sample(f"conditions[{key!r}]", v, rates, sample_dims))
            for key, v in conditions.items()
        }
        conditions = None
    if conditions is None:
        if not values:
            raise ValueError(
                "conditions must be given (a coord name, labels, or a mapping of binary variables) "
                "when rates has no 'condition' dim and no dichotomies are given; got None"
            )
        rows = np.stack(list(values.values()), axis=1)
        _, cond_s = np.unique(rows, axis=0, return_inverse=True)
        cond_s = cond_s.ravel()
        labels = np.arange(cond_s.max() + 1)
    else:
        labels, cond_s = np.unique(
            _per_sample("conditions", conditions, rates, sample_dims), return_inverse=True
        )
    if labels.size < 2:
        raise ValueError(
            f"conditions must define at least 2 distinct conditions; got {labels.size}: {labels.tolist()}"
        )
    return cond_s.ravel(), labels


def _sides(name: Any, side_s: np.ndarray, cond_s: np.ndarray, n_conditions: int) -> np.ndarray:
    """Side of each condition; a dichotomy must be constant within every condition."""
    count = np.bincount(cond_s, minlength=n_conditions)
    true = np.bincount(cond_s, weights=side_s, minlength=n_conditions)
    if np.any((true > 0) & (true < count)):
        raise ValueError(f"dichotomies[{name!r}] must be constant within each condition; it is not")
    return true > 0  # both sides are occupied: the labels took two values


def balanced_sides(n_conditions: int, max_dichotomies: int, rng: np.random.Generator) -> np.ndarray:
    """Balanced dichotomies of ``n_conditions`` (bool, dichotomy x condition).

    Each dichotomy is listed once (for even counts the side holding condition 0 is
    True). When there are more than ``max_dichotomies``, a seeded random subset is drawn.
    """
    half = n_conditions // 2
    even = n_conditions % 2 == 0
    total = math.comb(n_conditions, half) // (2 if even else 1)
    if total <= max_dichotomies:
        pool = range(1, n_conditions) if even else range(n_conditions)
        first = (0,) if even else ()
        subsets = [first + c for c in itertools.combinations(pool, half - len(first))]
    else:
        chosen: set[tuple[int, ...]] = set()
        while len(chosen) < max_dichotomies:
            side = np.sort(rng.permutation(n_conditions)[:half])
            if even and side[0] != 0:
                side = np.setdiff1d(np.arange(n_conditions), side)
            chosen.add(tuple(int(i) for i in side))
        subsets = sorted(chosen)
    sides = np.zeros((len(subsets), n_conditions), dtype=bool)
    for row, subset in enumerate(subsets):
        sides[row, list(subset)] = True
    return sides


def make_design(
    rates: Any, dichotomies: Any, conditions: Any, max_dichotomies: int, rng: np.random.Generator
) -> Design:
    """Flatten ``rates`` and resolve its conditions and dichotomies.

    Conditions default to the ``condition`` dim, else to the combinations of the
    dichotomies; dichotomies default to the balanced ones of the conditions.
    """
    sample_dims, x_sxtxn, time = _flatten_rates(rates)
    values = {} if dichotomies is None else _dichotomy_values(dichotomies, rates, sample_dims)
    cond_s, labels = _condition_codes(conditions, rates, sample_dims, values)
    if values:
        names = list(values)
        sides = np.stack([_sides(k, v, cond_s, labels.size) for k, v in values.items()])
    else:
        sides = balanced_sides(labels.size, max_dichotomies, rng)
        names = list(range(len(sides)))
    return Design(x_sxtxn, cond_s, labels, names, sides, time)
