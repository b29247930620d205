"""Run a trained network on exact pulse sequences (private helpers of the LIP experiments).

Both the psychophysical kernel of a network and its comparison with LIP recordings
replay given pulse sequences through the network and read its rates and outputs. The
network is named by a run folder (written by :func:`neurodis.training.train`) or a
:class:`~neurodis.training.TrainedNetwork` (a bare model is wrapped with its task and
encoder first).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_type, describe
from neurodis.experiments.running import run
from neurodis.tasks.pulses import PulsesTask
from neurodis.training import TrainedNetwork

__all__ = ["replay", "replay_task", "resolve_network", "source_of"]


def resolve_network(network: Any) -> TrainedNetwork:
    """The trained pulse network a run folder or a TrainedNetwork names.

    Parameters
    ----------
    network : path-like or TrainedNetwork
        A run folder (written by :func:`~neurodis.training.train`) or a trained network;
        a bare model is wrapped first: ``TrainedNetwork(model, task, encoder)``.

    Returns
    -------
    TrainedNetwork
        With ``path`` set when it came from a run folder.

    Raises
    ------
    TypeError
        If ``network`` is neither a path nor a TrainedNetwork (a bare torch model gets the
        wrapping to use), or its task is not a PulsesTask.
    FileNotFoundError
        If a path is not a run folder.
    """
    from torch import nn

    if isinstance(network, (str, os.PathLike)):
        network = TrainedNetwork.load(network)
    elif not isinstance(network, TrainedNetwork):
        hint = (" (wrap a bare model with the PulsesTask it was trained on and its encoder: "
                "TrainedNetwork(model, task, encoder))") if isinstance(network, nn.Module) else ""
        raise TypeError(f"network must be a run folder path or a TrainedNetwork{hint}; got "
                        f"{type(network).__name__} {describe(network)}")
    check_type("network.task", network.task, PulsesTask, "a PulsesTask (the network must be trained on pulses)")
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
