"""Checkpoints: atomic writes of plain tensors, dicts and strings, loaded without pickle.

A checkpoint is a dict holding only what ``torch.load(weights_only=True)`` accepts
(tensors, numbers, strings, lists, tuples, dicts): the weights, the optimizer state,
the configs as JSON strings, each member's encoder (config plus float64 weight
tensors), the random states (numpy bit-generator state as JSON, the torch
generator's state tensor) and the history. Nothing in it can execute code on load.

Checkpoints are written with :func:`neurodis.files.atomic_write` and a SHA-256
sidecar (``checkpoint.pt.sha256``); :func:`load_checkpoint` refuses a file that fails
it, or that is truncated or garbled, with :class:`~neurodis.errors.CorruptFileError`,
so a resumed run never continues from damaged weights.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodis._validation import check_type
from neurodis.errors import CorruptFileError
from neurodis.files import atomic_write, check_path, verify_file
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
    """Write ``state`` with ``torch.save`` atomically, with a SHA-256 sidecar.

    A run killed while writing leaves the previous checkpoint intact.

    Raises
    ------
    TypeError
        If ``path`` is not a path.
    ValueError
        If ``path`` is an existing folder (or lies below a file).
    """
    path = check_path("path", path, kind="file")
    return atomic_write(path, lambda tmp: torch.save(state, tmp), checksum=True)


def _reason(err: Exception) -> str:
    """A one-line account of a ``torch.load`` failure, without torch's advice to unpickle."""
    lines = str(err).strip().splitlines()
    # torch's message for refused objects suggests weights_only=False, which would run
    # arbitrary code from a file that is damaged or not ours: never pass that on
    if isinstance(err, pickle.UnpicklingError) or "weights_only" in str(err):
        return (f"{type(err).__name__}: it holds objects other than tensors, numbers, strings, lists and "
                "dicts, which are refused because loading them could run code")
    if not lines:
        return type(err).__name__
    return f"{type(err).__name__}: {lines[0][:200]}"


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint written by the trainer, with ``weights_only=True`` (no pickle).

    The file is checked against its SHA-256 sidecar first (checkpoints written before
    neurodis recorded checksums have none and are only parsed).

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
    TypeError
        If ``path`` is not a path.
    FileNotFoundError
        If there is no checkpoint at ``path``.
    CorruptFileError
        If the file fails its checksum, is truncated, empty or garbled, or holds
        non-finite weights.
    ValueError
        If the file is not a neurodis training checkpoint.
    """
    path = check_path("path", path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"path must be a checkpoint file or a run folder holding one; got {str(path)!r}")
    verify_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise
    except Exception as err:  # zip, pickle and tensor errors of every kind
        raise CorruptFileError(f"{path} is truncated, garbled or not a torch checkpoint and was not used "
                               f"({_reason(err)})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"path must hold a {FORMAT!r} checkpoint; {str(path)!r} does not")
    # the trainer stops before it would checkpoint a diverged loss, so NaN weights mean damage
    # (this also catches flipped bits in checkpoints written before checksums existed)
    for name, tensor in state.get("weights", {}).items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            count = int((~torch.isfinite(tensor)).sum())
            raise CorruptFileError(f"{path} holds non-finite weights ({name!r} has {count} NaN or infinite values: "
                                   "damaged, or saved from a diverged run) and was not used")
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
