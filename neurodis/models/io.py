"""Save and load models without pickle: ``config.json`` + ``model.safetensors``.

A model directory holds::

    config.json          {"format": 1, "arch": ..., "config": {...}, "neurodis_version": ...}
    model.safetensors    the state_dict (tensors only; the format cannot carry code)

Both files are written atomically with :func:`neurodis.files.atomic_write`
(temporary file in the same directory, fsync, rename), so an interrupted save never
leaves a half-written file under the final name; the weights' SHA-256 is recorded in
``model.safetensors.sha256`` and checked on load (folders saved before checksums
existed have no sidecar and load unchecked). Loading rebuilds the model from its
registered class and config, then copies the tensors in after checking names, shapes
and finiteness; nothing in the files is executed.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from neurodis._validation import check_type
from neurodis._version import __version__
from neurodis.errors import CorruptFileError
from neurodis.files import atomic_write, check_path, read_json, verify_file, write_json
from neurodis.models.base import SequenceModel, list_models, make_model

__all__ = ["load_model", "save_model"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


def save_model(model: SequenceModel, directory: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``directory`` (created if needed) as config.json + model.safetensors.

    Parameters
    ----------
    model : SequenceModel
        Any registered neurodis model.
    directory : str or path
        Target folder; existing files of the same names are replaced atomically.

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    TypeError
        If ``model`` is not a neurodis model or ``directory`` not a path.
    ValueError
        If ``directory`` is an existing file (or lies below one).

    Examples
    --------
    >>> import tempfile, torch
    >>> from neurodis.models import CTRNN, load_model, save_model
    >>> net = CTRNN(3, 2, n_units=8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     copy = load_model(save_model(net, tmp))
    >>> x = torch.randn(2, 4, 3)
    >>> torch.equal(copy(x)[1], net(x)[1])
    True
    """
    check_type("model", model, SequenceModel, "a neurodis model (see neurodis.models.list_models())")
    directory = check_path("directory", directory, kind="folder")
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in model.state_dict().items()}
    document = {"format": FORMAT_VERSION, "arch": model.arch, "config": model.config, "neurodis_version": __version__}
    atomic_write(directory / WEIGHTS_FILE, lambda tmp: save_file(tensors, str(tmp), metadata={"arch": model.arch}),
                 checksum=True)
    write_json(directory / CONFIG_FILE, document)
    return directory


def _read_config(directory: Path) -> tuple[str, dict]:
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise ValueError(f"directory must contain {CONFIG_FILE}; got none in {directory}")
    document = read_json(path)
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict) or "arch" not in document:
        raise ValueError(f"{path} must hold an object with keys 'arch' and 'config'; got {str(document)[:80]}")
    arch = document["arch"]
    if arch not in list_models():
        raise ValueError(f"arch in {path} must be one of {list_models()!r}; got {arch!r}")
    return arch, document["config"]


def _check_tensors(tensors: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], path: Path) -> None:
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"weights in {path} must match the config's model; missing {missing}, unexpected {unexpected}"
        )
    for name, want in expected.items():
        if tuple(tensors[name].shape) != tuple(want.shape):
            raise ValueError(
                f"weight {name!r} in {path} must have shape {tuple(want.shape)} for the config's model; "
                f"got {tuple(tensors[name].shape)}"
            )
        tensor = tensors[name]
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            count = int((~torch.isfinite(tensor)).sum())
            raise ValueError(
                f"weight {name!r} in {path} must be finite; got {count} NaN or infinite values of "
                f"{tensor.numel()} (saved from a diverged or damaged model); the model was not loaded"
            )


def load_model(directory: str | os.PathLike[str]) -> SequenceModel:
    """Rebuild a model saved by :func:`save_model`.

    The model is built from ``config.json`` by its registered class (so its weights
    are first initialised from the config's seed), then the saved tensors are copied
    in; the model takes the saved floating-point dtype. The default noise/dropout
    stream restarts from the seed (it is not saved). The model is returned in
    training mode, like a freshly built one.

    Parameters
    ----------
    directory : str or path
        A folder written by :func:`save_model`.

    Returns
    -------
    SequenceModel
        A model whose forward pass reproduces the saved one exactly.

    Raises
    ------
    TypeError
        If ``directory`` is not a path.
    ValueError
        If the folder or a file is missing, the arch is unknown, the config is invalid
        for the arch, or the weights' names or shapes do not match or they are not
        finite.
    CorruptFileError
        If ``config.json`` is not JSON, or ``model.safetensors`` fails its SHA-256
        check or is not a readable safetensors file (a ``ValueError`` too).
    """
    directory = check_path("directory", directory, kind="folder")
    if not directory.is_dir():
        raise ValueError(f"directory must be an existing folder written by save_model; got {str(directory)!r}")
    arch, config = _read_config(directory)
    try:
        model = make_model(arch, **config)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"config in {directory / CONFIG_FILE} must be valid for arch {arch!r}; got an error: {err}"
        ) from err
    path = directory / WEIGHTS_FILE
    if not path.is_file():
        raise ValueError(f"directory must contain {WEIGHTS_FILE}; got none in {directory}")
    verify_file(path)
    try:
        tensors = load_file(path)
    except PermissionError:
        raise
    except (SafetensorError, OSError) as err:
        raise CorruptFileError(f"{path} must be a readable safetensors file; got an error: {err}") from err
    _check_tensors(tensors, model.state_dict(), path)
    dtypes = {t.dtype for t in tensors.values() if t.is_floating_point()}
    if len(dtypes) == 1:
        model = model.to(dtypes.pop())
    model.load_state_dict(tensors, strict=True)
    return model
