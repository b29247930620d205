"""Accuracy of a classification network relative to the ideal observer, on fresh trials.

The training history's ``relative_accuracy`` reads the ideal observer on the last
window's training trials (128 by default): a ratio near 1 from 128 trials carries
±0.01 of sampling noise, the size of the effects it is used to show. This measurement
samples its own trials, as many as asked (default 8,192), and scores the network and
the observer on the same ones, paired.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int, check_rng, check_type, rng_provenance
from neurodis.experiments.running import run
from neurodis.tasks import Task
from neurodis.training import TrainedNetwork
from neurodis.trials import OUTPUT, TIME

__all__ = ["ACCURACY_TRIALS", "accuracy_vs_ideal"]

#: Default number of fresh trials: the ratio's standard error is then about 0.001.
ACCURACY_TRIALS = 8192


def accuracy_vs_ideal(
    network: TrainedNetwork, *, n_trials: int = ACCURACY_TRIALS, rng: Any = None, batch_size: int = 4096
) -> xr.Dataset:
    """Decision-step accuracy of the network and of its task's ideal observer on the same fresh trials.

    The network runs with its configured noise (its frozen torch pass, as in
    :func:`~neurodis.experiments.generalization`); its choice for a boundary is its
    sigmoid output above 0.5, the observer's its Bayes log-odds above 0 (the task's
    :meth:`~neurodis.tasks.ClassificationTask.ideal_observer`, which reads the raw
    stimulus the encoder hides from the network). Only decision-step outputs inside the
    loss mask count, as in training.

    Parameters
    ----------
    network : TrainedNetwork
        A network whose task has an ideal observer (``"classification"``) and whose
        model has a sigmoid readout.
    n_trials : int
        Fresh trials (>= 1).
    rng : int, Generator, SeedSequence or None
        Two children are spawned from it: the trials, then the network noise.
    batch_size : int
        Trials per forward pass.

    Returns
    -------
    xarray.Dataset
        ``accuracy``, ``ideal_accuracy`` and ``relative_accuracy`` (their ratio, the
        training history's definition) over every boundary, ``relative_accuracy_se``
        (its standard error from the paired per-trial differences), and
        ``task_accuracy`` / ``task_ideal_accuracy`` per ``output``; attrs
        ``n_trials`` and the rng provenance.

    Raises
    ------
    TypeError
        If ``network`` is not a TrainedNetwork with a Task.
    ValueError
        If the task has no ideal observer, the readout is not a sigmoid, or
        ``n_trials`` is not a positive integer.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> net = TrainedNetwork(CTRNN(3, 2, n_units=8, seed=0), make_task("classification", n_tasks=2), None)
    >>> acc = accuracy_vs_ideal(net, n_trials=256, rng=0)
    >>> bool(0.8 < float(acc["ideal_accuracy"]) < 1.0), acc["task_accuracy"].dims
    (True, ('output',))
    """
    check_type("network", network, TrainedNetwork, "a TrainedNetwork (e.g. TrainedNetwork.load(run_folder))")
    task = check_type("network.task", network.task, Task, "a neurodis Task")
    if not callable(getattr(task, "ideal_observer", None)):
        raise ValueError(f"network.task must have an ideal observer (a 'classification' task); got task {task.name!r}")
    readout = getattr(getattr(network.model, "readout", None), "kind", "sigmoid")
    if readout != "sigmoid":
        raise ValueError(f"network.model must have a sigmoid readout (choices at output 0.5); got {readout!r}")
    n_trials = check_int("n_trials", n_trials, minimum=1)
    generator = check_rng(rng)
    provenance = rng_provenance(rng, generator)
    trials_rng, noise_rng = generator.spawn(2)
    raw = task.sample(n_trials, rng=trials_rng)
    encoded = raw if network.encoder is None else network.encoder.encode_trials(raw)
    step = task.timing.decision_index
    outputs = run(network, encoded, rng=noise_rng, time=step, backend="torch", batch_size=batch_size)["outputs"]
    decision = raw.isel({TIME: step})
    truth, valid = decision["targets"].values > 0.5, decision["loss_mask"].values > 0
    hit_nxo = (outputs.values > 0.5) == truth
    ideal_nxo = (task.ideal_observer(raw)["logit"].isel({TIME: step}).values > 0) == truth
    count_o = valid.sum(axis=0)
    hits_o, ideal_o = (hit_nxo & valid).sum(axis=0), (ideal_nxo & valid).sum(axis=0)
    accuracy, ideal = hits_o.sum() / count_o.sum(), ideal_o.sum() / count_o.sum()
    # accuracy - ideal is the mean over trials of (network hits - observer hits) / mean count:
    # paired, so its standard error is that of a mean; the ratio's follows (delta method)
    difference_n = ((hit_nxo & valid).sum(axis=1) - (ideal_nxo & valid).sum(axis=1)) / (count_o.sum() / n_trials)
    se = difference_n.std(ddof=1) / np.sqrt(n_trials) / ideal if n_trials > 1 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        task_accuracy, task_ideal = hits_o / count_o, ideal_o / count_o
    return xr.Dataset(
        {
            "accuracy": ((), float(accuracy)),
            "ideal_accuracy": ((), float(ideal)),
            "relative_accuracy": ((), float(accuracy / ideal)),
            "relative_accuracy_se": ((), float(se)),
            "task_accuracy": ((OUTPUT,), task_accuracy),
            "task_ideal_accuracy": ((OUTPUT,), task_ideal),
        },
        coords={OUTPUT: raw[OUTPUT].values},
        attrs={"n_trials": n_trials, **provenance},
    )
