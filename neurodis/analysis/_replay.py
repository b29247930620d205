"""Run a trained network on exact pulse sequences (private helpers of the LIP comparison).

Both the psychophysical kernel of a network and its comparison with LIP recordings
replay given pulse sequences through the network and read its states and outputs. The
network is named by a run folder (written by :func:`neurodis.training.train`), a
:class:`~neurodis.training.TrainedNetwork`, or a model with its task (and encoder).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from neurodis._validation import check_int, check_type, describe
from neurodis.tasks.encoders import Encoder
from neurodis.tasks.pulses import PulsesTask

if TYPE_CHECKING:
    from neurodis.training import TrainedNetwork

__all__ = ["resolve_network", "run_network", "source_of"]


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

    from neurodis.training import TrainedNetwork

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


def replay_inputs(
    task: PulsesTask, pulses_nxk: np.ndarray, encoder: Encoder | None, rng: np.random.Generator
) -> np.ndarray:
    """Network inputs ``(trial, time, input)`` showing exactly ``pulses_nxk``, in order."""
    inputs = task.arrays_from_pulses(pulses_nxk, rng).inputs
    if encoder is not None:
        inputs, _ = encoder.encode_inputs(inputs, task.input_names)
    return inputs


def run_network(
    model: Any, inputs_nxtxi: np.ndarray, *, noise: bool, rng: np.random.Generator, batch_size: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Frozen forward pass in chunks: float64 ``states (trial, time, unit)`` and outputs.

    ``noise=False`` passes zero draws for the model's input and recurrent noise (its
    expected trajectory given the stimulus); ``noise=True`` draws them from a torch
    generator seeded from ``rng``. Dropout is off (eval mode, restored afterwards).

    Raises
    ------
    ValueError
        If the inputs do not have the model's number of channels.
    """
    import torch

    batch_size = check_int("batch_size", batch_size, minimum=1)
    if inputs_nxtxi.shape[2] != model.n_inputs:
        raise ValueError(
            f"encoder must give the model's {model.n_inputs} input channels; the replayed trials have "
            f"{inputs_nxtxi.shape[2]} (pass the network's encoder)"
        )
    parameter = next(model.parameters())
    generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
    states, outputs = [], []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, inputs_nxtxi.shape[0], batch_size):
                batch = torch.as_tensor(inputs_nxtxi[start:start + batch_size], dtype=parameter.dtype,
                                        device=parameter.device)
                kwargs: dict[str, Any] = {"generator": generator}
                if not noise:
                    kwargs["input_noise"] = torch.zeros_like(batch)
                    if getattr(model, "recurrent_noise", 0.0) > 0:
                        kwargs["recurrent_noise"] = batch.new_zeros(*batch.shape[:2], model.n_units)
                states_bxtxn, logits_bxtxo = model(batch, **kwargs)
                states.append(states_bxtxn.to("cpu", torch.float64).numpy())
                outputs.append(model.readout.activate(logits_bxtxo).to("cpu", torch.float64).numpy())
    finally:
        model.train(was_training)
    return np.concatenate(states), np.concatenate(outputs)
