"""A trained network: the model with the task and frozen encoder it was trained with.

:class:`TrainedNetwork` is the one bundle that crosses the house: :func:`~neurodis.train`
returns it, :func:`~neurodis.train_ensemble` returns one per member, a run folder loads
back into it (:meth:`TrainedNetwork.load`), and every experiment
(:mod:`neurodis.experiments`) takes it.

A run folder holds (see :mod:`neurodis.training.loop`)::

    config.json     train config, task, model and encoder configs, batches done, version
    model/          the model (neurodis.models.save_model: config.json + safetensors)
    encoder.json    the frozen encoder (when the network has one)
    history.nc      the training history (netCDF)
    checkpoint.pt   what resuming needs (written by training only)

A sweep's run folder (``<store>/runs/<run_id>``) holds the sweep's run config instead of a
run description; :func:`neurodis.sweeps.load_network` reads it (:meth:`TrainedNetwork.load`
says so).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr
from torch import nn

from neurodis.errors import CorruptFileError
from neurodis.files import check_path, read_json, write_json
from neurodis.tasks.base import Task, make_task
from neurodis.tasks.encoders import Encoder
from neurodis.training.checkpoint import CHECKPOINT_NAME
from neurodis.training.config import TrainConfig
from neurodis.trials import load_dataset, save_dataset

__all__ = ["RUN_FILES", "TrainedNetwork", "write_run"]

#: The files of a run folder: key of :attr:`TrainedNetwork.paths` -> name in the folder.
RUN_FILES = {"checkpoint": CHECKPOINT_NAME, "config": "config.json", "model": "model",
             "history": "history.nc", "encoder": "encoder.json"}


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))


def model_description(model: nn.Module) -> dict[str, Any]:
    return {"arch": model.arch, "config": jsonable(model.config)}


@dataclass(frozen=True, eq=False)  # compared by identity: models and histories have no plain equality
class TrainedNetwork:
    """A trained model with its task, frozen encoder and training provenance.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model.
    task : Task
        The task it was trained on.
    encoder : Encoder or None
        Its frozen input encoder (``None``: the raw channels).
    config : TrainConfig or None
        The training config (its ``seed`` is this network's); ``None`` for a model
        that was not trained by neurodis (e.g. wrapped to be replayed).
    history : xarray.Dataset or None
        The training history (dims ``batch``, ``output``).
    path : pathlib.Path or None
        The run folder it was trained into, saved to or loaded from.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> net = TrainedNetwork(CTRNN(3, 2, n_units=4), make_task("classification", n_tasks=2), None)
    >>> net.model.n_units, net.task.n_tasks, net.paths
    (4, 2, {})
    """

    model: nn.Module
    task: Task
    encoder: Encoder | None
    config: TrainConfig | None = None
    history: xr.Dataset | None = None
    path: Path | None = None

    @property
    def paths(self) -> dict[str, Path]:
        """The files of the run folder that exist (empty without a folder)."""
        if self.path is None:
            return {}
        return {key: self.path / name for key, name in RUN_FILES.items() if (self.path / name).exists()}

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrainedNetwork:
        """Load a single-network run folder written by :func:`~neurodis.train` (or :meth:`save`).

        Every file is checked as it is read: against its SHA-256 sidecar (the weights,
        history and encoder), and parse errors name the file.

        Parameters
        ----------
        path : path-like
            The run folder (``out`` of :func:`~neurodis.train`, or a member folder of an
            ensemble); a sweep store's ``runs/<run_id>`` loads with
            :func:`neurodis.sweeps.load_network`.

        Returns
        -------
        TrainedNetwork
            The model on the CPU, its task, encoder, config, history and folder.

        Raises
        ------
        TypeError
            If ``path`` is not a path.
        FileNotFoundError
            If ``path`` has no ``config.json``.
        CorruptFileError
            If a file of the run is truncated, garbled or fails its checksum.
        ValueError
            If ``config.json`` is not a run description (a sweep's run config is named as
            such), or a file does not fit it.
        """
        from neurodis.models import load_model

        run = check_path("path", path, kind="folder")
        files = {key: run / name for key, name in RUN_FILES.items()}
        if not files["config"].is_file():
            raise FileNotFoundError(f"path must be a run folder holding config.json; got {str(run)!r}")
        description = read_json(files["config"])
        if isinstance(description, dict) and "network" in description and "train" not in description:
            raise ValueError(f"path must be a training run folder; {str(run)!r} is a sweep's run folder (its "
                             f"config.json is a sweep run config): load it with neurodis.sweeps.load_network(path)")
        if not isinstance(description, dict) or not {"task", "train"} <= set(description):
            raise CorruptFileError(f"{files['config']} must hold a run description with keys 'task' and "
                                   f"'train'; got {str(description)[:80]}")
        try:
            task_config = dict(description["task"])
            task = make_task(task_config.pop("task"), **task_config)
            config = TrainConfig.from_dict(description["train"])
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"{files['config']} must describe the run's task and training config; "
                             f"got an error: {err}") from err
        encoder = Encoder.load(files["encoder"]) if files["encoder"].is_file() else None
        return cls(load_model(files["model"]), task, encoder, config, load_dataset(files["history"]), run)

    def save(self, path: str | os.PathLike) -> TrainedNetwork:
        """Write the network as a run folder that :meth:`load` reads back.

        Parameters
        ----------
        path : path-like
            The folder (created if needed; the files are written atomically).

        Returns
        -------
        TrainedNetwork
            This network with ``path`` set to the folder.

        Raises
        ------
        ValueError
            If the network has no training ``config`` or ``history`` (a run folder
            describes a training run).

        Examples
        --------
        >>> import tempfile
        >>> from neurodis.models import CTRNN
        >>> from neurodis.tasks import make_task
        >>> from neurodis.training import train
        >>> task = make_task("classification", n_tasks=2)
        >>> config = TrainConfig(n_batches=2, batch_size=4, log_every=1, checkpoint_every=2)
        >>> net = train(task, CTRNN(41, 2, n_units=4), config, progress=False)
        >>> folder = tempfile.mkdtemp()
        >>> saved = net.save(folder)
        >>> TrainedNetwork.load(folder).config == net.config, sorted(saved.paths)
        (True, ['config', 'encoder', 'history', 'model'])
        """
        if self.config is None or self.history is None:
            missing = "config" if self.config is None else "history"
            raise ValueError(f"save needs a trained network (with its training config and history); got {missing}"
                             f"=None")
        run = check_path("path", path, kind="folder")
        batches = self.history["batch"].values
        write_run(run, model=self.model, encoder=self.encoder, task=self.task, config=self.config,
                  history=self.history, batches_done=int(batches[-1]) if batches.size else 0)
        return TrainedNetwork(self.model, self.task, self.encoder, self.config, self.history, run)


def write_run(run: Path, *, model: nn.Module, encoder: Encoder | None, task: Task, config: TrainConfig,
              history: xr.Dataset, batches_done: int) -> dict[str, Path]:
    """Write the model, encoder, config and history into the run folder (a snapshot)."""
    from neurodis._version import __version__
    from neurodis.models import save_model

    run.mkdir(parents=True, exist_ok=True)
    description = {"train": config.to_dict(), "task": task.config(), "model": model_description(model),
                   "encoder": None if encoder is None else encoder.config(), "batches_done": int(batches_done),
                   "neurodis_version": __version__}
    files = {key: run / name for key, name in RUN_FILES.items()}
    paths = {"config": write_json(files["config"], description),
             "model": save_model(copy.deepcopy(model).cpu(), files["model"]),
             "history": save_dataset(history, files["history"])}
    if encoder is not None:  # frozen: written once
        path = files["encoder"]
        paths["encoder"] = path if path.is_file() else encoder.save(path)
    return paths
