"""Checkpoints: atomic writes of plain tensors, dicts and strings, loaded without pickle.

A checkpoint is a dict holding only what ``torch.load(weights_only=True)`` accepts
(tensors, numbers, strings, lists, tuples, dicts): the weights, the optimizer state,
the configs as JSON strings, each member's encoder (config plus float64 weight
tensors), the random states (numpy bit-generator state as JSON, the torch
generator's state tensor) and the history. Nothing in it can execute code on load.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodis._validation import check_type
from neurodis.tasks.encoders import Encoder

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT",
    "check_same",
    "decode_encoder",
    "encode_encoder",
    "load_checkpoint",
    "restore_generators",
    "save_checkpoint",
    "snapshot_generators",
]

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "neurodis.train.checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` with ``torch.save`` atomically (temporary file, then rename).

    A run killed while writing leaves the previous checkpoint intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint written by the trainer, with ``weights_only=True`` (no pickle).

    Parameters
    ----------
    path : path-like
        A ``checkpoint.pt`` file, or the run folder holding one.

    Returns
    -------
    dict
        The checkpoint; tensors are on the CPU.

    Raises
    ------
    FileNotFoundError
        If there is no checkpoint at ``path``.
    ValueError
        If the file is not a neurodis training checkpoint.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"path must be a checkpoint file or a run folder holding one; got {str(path)!r}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"path must hold a {FORMAT!r} checkpoint; {str(path)!r} does not")
    return state


def snapshot_generators(rng: np.random.Generator, generator: torch.Generator) -> dict[str, Any]:
    """The states of a member's data and noise streams, as checkpoint values."""
    return {"numpy": json.dumps(rng.bit_generator.state), "torch": generator.get_state()}


def restore_generators(state: dict[str, Any], rng: np.random.Generator, generator: torch.Generator) -> None:
    """Put the streams back in the state captured by :func:`snapshot_generators`."""
    rng.bit_generator.state = json.loads(state["numpy"])
    generator.set_state(state["torch"])


def encode_encoder(encoder: Encoder | None) -> dict[str, Any] | None:
    """An encoder as checkpoint values: its config and exact float64 weight tensors."""
    if encoder is None:
        return None
    data = encoder.to_dict()
    data["weights"] = [torch.from_numpy(np.array(w)) for w in encoder.weights]
    data["biases"] = [torch.from_numpy(np.array(b)) for b in encoder.biases]
    return data


def decode_encoder(data: dict[str, Any] | None) -> Encoder | None:
    """Rebuild the encoder stored by :func:`encode_encoder` (bit-identical weights)."""
    if data is None:
        return None
    data = dict(data)
    data["weights"] = [w.numpy() for w in data["weights"]]
    data["biases"] = [b.numpy() for b in data["biases"]]
    return Encoder.from_dict(data)


def check_same(what: str, saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to resume when ``current`` differs from ``saved``, listing the fields.

    Examples
    --------
    >>> check_same("config", {"lr": 0.001, "seed": 0}, {"lr": 0.01, "seed": 0})
    Traceback (most recent call last):
    ...
    ValueError: cannot resume: the config differs from the checkpoint's in lr (checkpoint 0.001, now 0.01); use the same config or another folder
    """
    check_type(what, current, dict, "a dict")
    keys = sorted(set(saved) | set(current))
    missing = object()
    diffs = [
        f"{key} (checkpoint {saved.get(key, '<absent>')!r}, now {current.get(key, '<absent>')!r})"
        for key in keys
        if saved.get(key, missing) != current.get(key, missing)
    ]
    if diffs:
        raise ValueError(
            f"cannot resume: the {what} differs from the checkpoint's in {', '.join(diffs)}; "
            "use the same config or another folder"
        )
