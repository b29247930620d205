"""Expanding a grid of configs into runs, each named by the hash of its canonical config."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from neurodis._validation import check_type

__all__ = ["canonical_json", "expand_grid", "run_id"]


def canonical_json(config: Mapping[str, Any]) -> str:
    """The config as JSON with sorted keys and no whitespace: the same config, the same text.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.0, 2]})
    '{"a":[1.0,2],"b":1}'
    """
    check_type("config", config, Mapping, "a mapping of JSON-serialisable values")
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"config must hold only finite JSON-serialisable values; got {config!r} ({err})") from err


def run_id(config: Mapping[str, Any]) -> str:
    """The run's identifier: the first 16 hex digits of the SHA-256 of its canonical JSON.

    Examples
    --------
    >>> run_id({"n_tasks": 24, "seed": 0}) == run_id({"seed": 0, "n_tasks": 24})
    True
    >>> run_id({"n_tasks": 24, "seed": 0}) == run_id({"n_tasks": 24, "seed": 1})
    False
    """
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def expand_grid(base: Mapping[str, Any], grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """All combinations of the ``grid`` values laid over the ``base`` config.

    Parameters
    ----------
    base : mapping
        Values shared by every run.
    grid : mapping of str to sequence
        For each swept key, the values it takes. Keys must not also be in ``base``.

    Returns
    -------
    list of dict
        One config per combination, in the order of ``itertools.product`` over the keys
        as given.

    Raises
    ------
    ValueError
        If a grid key is also a base key or has no values.

    Examples
    --------
    >>> [c["seed"] for c in expand_grid({"n_tasks": 2}, {"seed": [0, 1]})]
    [0, 1]
    """
    clash = sorted(set(base) & set(grid))
    if clash:
        raise ValueError(f"grid keys must not repeat base keys; got {clash} in both")
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values; got {values!r}")
    keys = list(grid)
    return [
        {**base, **dict(zip(keys, combination))}
        for combination in itertools.product(*(grid[k] for k in keys))
    ]
