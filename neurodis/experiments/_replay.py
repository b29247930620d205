"""Run a trained network on exact pulse sequences (private helpers of the LIP experiments).

Both the psychophysical kernel of a network and its comparison with LIP recordings
replay given pulse sequences through the network and read its rates and outputs. The
network is named by a run folder (written by :func:`neurodis.training.train`), a
:class:`~neurodis.training.TrainedNetwork`, or a model with its task (and encoder).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_type, describe
from neurodis.experiments.running import run
from neurodis.tasks.encoders import Encoder
from neurodis.tasks.pulses import PulsesTask
from neurodis.training import TrainedNetwork

__all__ = ["replay", "replay_task", "resolve_network", "source_of"]


def resolve_network(
    network: Any, task: PulsesTask | None = None, encoder: Encoder | None = None
) -> TrainedNetwork:
    """The network behind a run folder, a TrainedNetwork or a bare model.

    Parameters
    ----------
    network : path-like, TrainedNetwork or torch.nn.Module
        A run folder, a trained network (:func:`~neurodis.training.train`), or a model.
    task : PulsesTask, optional
        Required with a bare model; overrides the network's task otherwise.
    encoder : Encoder, optional
        The model's encoder when ``network`` is a bare model (``None``: raw channels).

    Returns
    -------
    TrainedNetwork
        With ``path`` set when it came from a run folder.

    Raises
    ------
    TypeError
        If ``network`` is none of the accepted kinds or the task is not a PulsesTask.
    ValueError
        If a bare model comes without ``task``.
    FileNotFoundError
        If a path is not a run folder.
    """
    from torch import nn

    if isinstance(network, (str, os.PathLike)):
        network = TrainedNetwork.load(network)
    elif isinstance(network, nn.Module):
        if task is None:
            raise ValueError("task must be given with a bare model (the PulsesTask it was trained on); got None")
        network = TrainedNetwork(network, task, encoder)
    elif not isinstance(network, TrainedNetwork):
        raise TypeError(
            f"network must be a run folder path, a TrainedNetwork or a torch.nn.Module; got "
            f"{type(network).__name__} {describe(network)}"
        )
    if task is not None:
        network = dataclasses.replace(network, task=task)
    check_type("task", network.task, PulsesTask, "a PulsesTask (the network must be trained on pulses)")
    return network


def source_of(network: TrainedNetwork) -> str:
    """How results name the network: its run folder, or the type of its model."""
    return str(network.path) if network.path is not None else type(network.model).__name__


def replay_task(task: PulsesTask, *, delay: float | None = None, noise: bool = True) -> PulsesTask:
    """``task`` prepared for replay: no sequence bank, optionally another delay, no stimulus noise.

    The bank only matters for sampling; dropping it keeps the replay task light.
    """
    changes: dict[str, Any] = {"pulse_sequences": None}
    if delay is not None:
        changes["delay"] = float(delay)
    if not noise:
        changes["sigma"] = 0.0
    return dataclasses.replace(task, **changes)


def replay(
    network: TrainedNetwork, task: PulsesTask, pulses_nxk: np.ndarray, *, noise: bool,
    input_rng: np.random.Generator, noise_rng: np.random.Generator, batch_size: int = 4096,
) -> xr.Dataset:
    """The network's ``rates`` and ``outputs`` (float64) on trials showing exactly ``pulses_nxk``.

    ``task`` is the replay task (:func:`replay_task`); ``input_rng`` draws its
    tie-breaking coins and stimulus noise, ``noise_rng`` the model's noise. Every
    architecture runs in its own frozen torch pass (``backend="torch"``): the LIP
    results were computed that way, and the Numba simulator's float64 arithmetic would
    change them in the last digits.
    """
    trials = task.trials_from_pulses(pulses_nxk, input_rng, encoder=network.encoder)
    return run(network, trials, noise=noise, rng=noise_rng, backend="torch", batch_size=batch_size)
