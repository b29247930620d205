"""A content-addressed run store: one folder per run, named by the hash of its config.

Layout::

    ROOT/store.json              neurodis version and config schema of every run here
    ROOT/runs/<run_id>/config.json
    ROOT/runs/<run_id>/result.nc  written last and atomically: its presence means "done"
    ROOT/runs/<run_id>/claim.lock the claim of the process training it (see neurodis.sweeps.locks)
    ROOT/runs/<run_id>/attempts.log one line per claim that went on to run it (host, pid, time)
    ROOT/runs/<run_id>/error.log  the traceback of a run that failed
    ROOT/runs/<run_id>/...        anything else the job keeps (checkpoints, weights)

A run interrupted at any point leaves either no ``result.nc`` (it is run again, and a
job that checkpoints into its folder resumes) or a complete one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from neurodis._validation import check_int
from neurodis._version import __version__
from neurodis.errors import CorruptFileError
from neurodis.files import read_json, write_json
from neurodis.sweeps.grid import canonical_json, run_id
from neurodis.sweeps.locks import RunLock
from neurodis.trials import load_dataset

__all__ = ["RunStore", "load_network"]

RESULT = "result.nc"
CONFIG = "config.json"
LOCK = "claim.lock"


class RunStore:
    """Folder of runs keyed by the hash of their canonical config.

    Parameters
    ----------
    root : path
        The store's folder (created if missing).
    schema : int
        Version of the config schema of the runs kept here. Opening a store written by
        another neurodis version or schema raises, so results of different code are
        never mixed.

    Raises
    ------
    ValueError
        If ``root`` holds a store of another neurodis version or config schema.

    Examples
    --------
    >>> import tempfile
    >>> store = RunStore(tempfile.mkdtemp())
    >>> store.is_done({"seed": 0})
    False
    """

    def __init__(self, root: str | os.PathLike, *, schema: int = 1) -> None:
        self.root = Path(root)
        self.schema = check_int("schema", schema, minimum=1)
        meta = {"neurodis_version": __version__, "schema": self.schema}
        meta_path = self.root / "store.json"
        if meta_path.exists():
            found = read_json(meta_path)
            if not isinstance(found, dict):
                raise CorruptFileError(f"{meta_path} must hold a JSON object; got {str(found)[:80]}")
            differ = {k: (found.get(k), v) for k, v in meta.items() if found.get(k) != v}
            if differ:
                detail = ", ".join(f"{k}: store has {a!r}, this code {b!r}" for k, (a, b) in differ.items())
                raise ValueError(
                    f"store {str(self.root)!r} holds runs of another neurodis version or config "
                    f"schema ({detail}); use a new --out folder"
                )
        else:
            write_json(meta_path, meta)

    def run_dir(self, config: Mapping[str, Any]) -> Path:
        """The folder of the run with ``config`` (not created)."""
        return self.root / "runs" / run_id(config)

    def result_path(self, config: Mapping[str, Any]) -> Path:
        """Where the run's result Dataset is (or will be) written."""
        return self.run_dir(config) / RESULT

    def lock(self, config: Mapping[str, Any]) -> RunLock:
        """The lock file by which one process claims the run (see :mod:`neurodis.sweeps.locks`)."""
        return RunLock(self.run_dir(config) / LOCK)

    def is_done(self, config: Mapping[str, Any]) -> bool:
        """Whether the run with ``config`` has finished (its result file exists)."""
        return self.result_path(config).is_file()

    def prepare(self, config: Mapping[str, Any]) -> Path:
        """Create the run's folder with its ``config.json`` and return the folder.

        Raises
        ------
        ValueError
            If the folder exists with a different config (a hash collision).
        """
        folder = self.run_dir(config)
        path = folder / CONFIG
        if path.exists():
            found = read_json(path)
            if canonical_json(found) != canonical_json(config):
                raise ValueError(f"run folder {str(folder)!r} holds another config: {found!r}")
        else:
            write_json(path, dict(config))
        return folder

    def pending(self, configs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The configs whose runs have not finished."""
        return [config for config in configs if not self.is_done(config)]

    def load_result(self, config: Mapping[str, Any]) -> xr.Dataset:
        """The finished run's result Dataset, checked against its SHA-256 sidecar.

        Raises
        ------
        FileNotFoundError
            If the run has not finished.
        CorruptFileError
            If ``result.nc`` fails its checksum or cannot be read (the message names
            the run and the file).
        """
        if not self.is_done(config):
            raise FileNotFoundError(f"run {run_id(config)} with config {dict(config)!r} has not finished")
        path = self.result_path(config)
        try:
            return load_dataset(path)
        except CorruptFileError as err:
            raise CorruptFileError(f"the result of run {run_id(config)} is unusable: {err}; delete {path} "
                                   "to run it again") from err

    def collect(self, configs: Sequence[Mapping[str, Any]], dims: Sequence[str]) -> xr.Dataset:
        """Concatenate the results of ``configs`` into one Dataset along the config keys ``dims``.

        Each run's result gains one length-1 dim per key in ``dims`` (its config value);
        the runs are then combined by coordinates, so the configs must form a grid.

        Raises
        ------
        ValueError
            If a key in ``dims`` is missing from a config.
        """
        pieces = []
        for config in configs:
            missing = [d for d in dims if d not in config]
            if missing:
                raise ValueError(f"dims {missing} are not keys of config {dict(config)!r}")
            result = self.load_result(config)
            pieces.append(result.expand_dims({d: [config[d]] for d in dims}))
        combined = xr.combine_by_coords(pieces, combine_attrs="drop_conflicts")
        combined.attrs["store"] = str(self.root)
        return combined


def load_network(path: str | os.PathLike) -> Any:
    """The trained network of a sweep store's run folder (``<store>/runs/<run_id>``).

    The folder's ``config.json`` is the sweep's run config, from which the task and the
    training config are rebuilt (:meth:`~neurodis.sweeps.config.RunConfig.build_task`,
    :meth:`~neurodis.sweeps.config.RunConfig.train_config`); the weights, frozen encoder
    and training history are the files the job wrote beside it.

    Parameters
    ----------
    path : path-like
        The run folder.

    Returns
    -------
    neurodis.training.TrainedNetwork
        With ``path`` the folder; ``history`` is ``None`` for runs stored before the
        history was kept there.

    Raises
    ------
    FileNotFoundError
        If the folder has no ``config.json``, or its run has not been trained (no ``model/``).
    ValueError
        If ``config.json`` is not a run config.
    CorruptFileError
        If a file is truncated, garbled or fails its checksum.
    """
    from neurodis.files import check_path
    from neurodis.models import load_model
    from neurodis.sweeps.config import RunConfig
    from neurodis.tasks.encoders import Encoder
    from neurodis.training import TrainedNetwork

    run = check_path("path", path, kind="folder")
    if not (run / CONFIG).is_file():
        raise FileNotFoundError(f"path must be a sweep run folder holding {CONFIG}; got {str(run)!r}")
    try:
        config = RunConfig.from_dict(read_json(run / CONFIG))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{run / CONFIG} must hold a sweep's run config; got an error: {err}") from err
    if not (run / "model").is_dir():
        raise FileNotFoundError(f"path must be a sweep run that has been trained (with model/); got {str(run)!r}, "
                                f"which has no model yet")
    encoder = Encoder.load(run / "encoder.json") if (run / "encoder.json").is_file() else None
    history = load_dataset(run / "history.nc") if (run / "history.nc").is_file() else None
    return TrainedNetwork(load_model(run / "model"), config.build_task(), encoder, config.train_config(), history, run)
