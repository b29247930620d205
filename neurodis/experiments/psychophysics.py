"""Psychophysical kernels of trained networks on replayed pulse sequences.

A network's choices on exactly the given pulse sequences (:func:`network_choices`)
are fitted by the pure :func:`neurodis.analysis.psychophysical_kernel`
(:func:`network_kernel`); :func:`lip_kernels` sets a network's kernel beside the LIP
monkeys' (:func:`neurodis.recordings.load_lip_behavior`, then
:func:`neurodis.analysis.monkey_kernel`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_rng, check_type, describe
from neurodis.analysis.psychophysics import PULSE, compare_kernels, monkey_kernel, psychophysical_kernel
from neurodis.experiments._replay import replay, replay_task, resolve_network, source_of
from neurodis.trials import TRIAL

__all__ = ["lip_kernels", "network_choices", "network_kernel"]


def network_choices(
    network: Any,
    pulses: xr.DataArray,
    *,
    choice: str = "threshold",
    rng: Any = None,
    batch_size: int = 4096,
) -> xr.DataArray:
    """A trained network's choices on exactly the given pulse sequences, in order.

    The network sees each sequence as in training, with the task's stimulus noise
    (``sigma``) and the model's own noise drawn afresh for every trial; its choice
    probability ``p`` is the sigmoid readout averaged over the decision period.

    Parameters
    ----------
    network : path-like or TrainedNetwork
        A run folder or a trained network on a PulsesTask (wrap a bare model as
        ``TrainedNetwork(model, task, encoder)``).
    pulses : xarray.DataArray
        ``(trial, pulse)`` strengths in the units of the task's ``gain``.
    choice : {"threshold", "sample"}
        ``p > 0.5`` (choice noise comes from the stimulus and network noise only) or a
        Bernoulli draw with probability ``p`` (the readout read as a choice probability).
    rng : int, Generator, SeedSequence or None
        Source of the stimulus and network noise and of the sampled choices.
    batch_size : int
        Trials per forward pass.

    Returns
    -------
    xarray.DataArray
        ``choice (trial)`` (0/1) with coord ``probability (trial)``.

    Raises
    ------
    TypeError
        If ``network`` is not a run folder path or a TrainedNetwork, or its task is not
        a PulsesTask.
    ValueError
        If the readout is not a sigmoid, ``choice`` is unknown, or the pulses do not fit
        the task (see :func:`psychophysical_kernel` for the kernel's own errors).

    Examples
    --------
    >>> import xarray as xr
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks.pulses import PulsesTask
    >>> from neurodis.training import TrainedNetwork
    >>> net = TrainedNetwork(CTRNN(2, 1, n_units=4, dt=50.0), PulsesTask(n_pulses=3), None)
    >>> pulses = xr.DataArray([[1, 2, 0], [-1, 0, 3]], dims=("trial", "pulse"))
    >>> choices = network_choices(net, pulses, rng=0)
    >>> choices.dims, choices.sizes["trial"], choices.attrs["choice"]
    (('trial',), 2, 'threshold')
    """
    check_in("choice", choice, ["threshold", "sample"])
    net = resolve_network(network)
    if net.model.readout.kind != "sigmoid":
        raise ValueError(f"network must have a sigmoid readout (a choice probability); got {net.model.readout.kind!r}")
    check_type("pulses", pulses, xr.DataArray, "a DataArray with dims ('trial', 'pulse')")
    if set(pulses.dims) != {TRIAL, PULSE}:
        raise ValueError(f"pulses must have dims ('trial', 'pulse'); got {describe(pulses)}")
    input_rng, noise_rng, choice_rng = check_rng(rng).spawn(3)
    task = replay_task(net.task)
    outputs_nxtxo = replay(net, task, pulses.transpose(TRIAL, PULSE).values, noise=True, input_rng=input_rng,
                           noise_rng=noise_rng, batch_size=batch_size)["outputs"].values
    p_n = outputs_nxtxo[:, task.decision_index:, 0].mean(axis=1)
    chosen = p_n > 0.5 if choice == "threshold" else choice_rng.random(len(p_n)) < p_n
    return xr.DataArray(chosen.astype(np.int64), dims=(TRIAL,),
                        coords={TRIAL: pulses[TRIAL].values, "probability": (TRIAL, p_n)},
                        name="choice", attrs={"choice": choice, "network": source_of(net)})


def network_kernel(network: Any, pulses: xr.DataArray, *, choice: str = "threshold", rng: Any = None,
                   **options: Any) -> xr.Dataset:
    """Psychophysical kernel of a network from its choices on the given pulse sequences.

    Parameters
    ----------
    network, pulses, choice
        As in :func:`network_choices`.
    rng : int, Generator, SeedSequence or None
        One source for the choices and the bootstrap (independent child streams).
    **options
        Passed to :func:`psychophysical_kernel`.

    Returns
    -------
    xarray.Dataset
        As :func:`psychophysical_kernel`, with attrs ``network``, ``choice`` and
        ``accuracy`` (agreement with the sign of the summed pulses, ties excluded).

    Raises
    ------
    TypeError, ValueError
        As :func:`network_choices` and :func:`psychophysical_kernel`.
    """
    choice_rng, fit_rng = check_rng(rng).spawn(2)
    choices = network_choices(network, pulses, choice=choice, rng=choice_rng)
    kernel = psychophysical_kernel(pulses, choices, rng=fit_rng, **options)
    total_n = pulses.sum(PULSE).values
    decided = total_n != 0
    kernel.attrs.update(network=choices.attrs["network"], choice=choice,
                        accuracy=float(np.mean(choices.values[decided] == (total_n[decided] > 0))))
    return kernel


def lip_kernels(network: Any, *, path: Any = None, rng: Any = None) -> xr.Dataset:
    """The LIP monkeys' kernel (pooled) beside the network's on the monkeys' own sequences.

    Parameters
    ----------
    network : path-like or TrainedNetwork
        As in :func:`network_choices`.
    path : path-like, optional
        The LIP data folder (default: :func:`neurodis.recordings.data_dir`).
    rng : int, Generator, SeedSequence or None
        Source of the network's choices and of its kernel fit.

    Returns
    -------
    xarray.Dataset
        :func:`~neurodis.analysis.compare_kernels` of ``"monkeys"`` and ``"network"``.

    Raises
    ------
    TypeError, ValueError
        As :func:`network_kernel`.
    FileNotFoundError
        If the behavioural data are missing.
    """
    from neurodis.recordings import load_lip_behavior

    net = resolve_network(network)  # a wrong network fails before the data are read
    behavior = load_lip_behavior(path=path)
    return compare_kernels({"monkeys": monkey_kernel(behavior),
                            "network": network_kernel(net, behavior["pulses"], rng=rng)})
