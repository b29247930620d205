"""Networks that fit a task, and several of them trained in one call.

:func:`make_network` builds a model whose input width matches the task after its
encoder and whose readout suits the task's targets; :func:`train_networks` trains
``n_networks`` of them with consecutive seeds, at once as a batched ensemble. It is
what ``neurodis train`` calls.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from torch import nn

from neurodis._validation import check_int, check_type
from neurodis.tasks.base import Task
from neurodis.tasks.encoders import Encoder
from neurodis.training.config import TrainConfig
from neurodis.training.ensemble import train_ensemble
from neurodis.training.loop import default_encoder, train
from neurodis.training.network import TrainedNetwork

__all__ = ["make_network", "train_networks"]


def make_network(task: Task, arch: str = "ctrnn", *, encoder: Encoder | None = None, n_units: int = 64,
                 seed: int = 0, **options: Any) -> nn.Module:
    """A freshly initialised model of ``arch`` sized for ``task`` (after ``encoder``).

    The readout kind (and bound) are the task's when it declares them (``readout``,
    ``bound``); a CTRNN's ``dt`` is the task's.

    Parameters
    ----------
    task : Task
    arch : str
        A registered model (``neurodis.models.list_models()``).
    encoder : Encoder, optional
        The network's encoder; ``None`` means the raw channels.
    n_units : int
        Hidden width (paper: 64).
    seed : int
        Seed of the initial weights.
    **options
        Further constructor arguments of the model (they override the defaults
        derived from the task).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError
        If ``arch`` is not registered.
    TypeError
        If ``task`` is not a Task or ``encoder`` not an Encoder.

    Examples
    --------
    >>> from neurodis.tasks import make_task
    >>> net = make_network(make_task("classification", n_tasks=3), n_units=8)
    >>> net.n_inputs, net.n_outputs, net.readout.kind
    (3, 3, 'sigmoid')
    """
    from neurodis.models import make_model

    check_type("task", task, Task, "a neurodis Task")
    if encoder is not None:
        check_type("encoder", encoder, Encoder, "a neurodis Encoder or None")
    n_raw = len(task.input_names)
    kwargs: dict[str, Any] = {
        "n_inputs": n_raw if encoder is None else encoder.n_inputs_after(n_raw),
        "n_outputs": len(task.output_names), "n_units": n_units, "seed": seed,
    }
    for name in ("readout", "bound"):
        if hasattr(task, name):
            kwargs[name] = getattr(task, name)
    if arch == "ctrnn":
        kwargs["dt"] = task.dt
    return make_model(arch, **{**kwargs, **options})


def train_networks(
    task: Task,
    config: TrainConfig,
    *,
    n_networks: int = 1,
    arch: str = "ctrnn",
    n_units: int = 64,
    options: dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
) -> list[TrainedNetwork]:
    """Train ``n_networks`` networks on ``task`` with seeds ``config.seed + k``.

    Each network gets the encoder :func:`~neurodis.training.default_encoder` draws
    for its seed. One network trains in ``out``; several train in ``out/member_000``
    … (as one batched ensemble whose checkpoint is ``out/checkpoint.pt``).

    Parameters
    ----------
    task : Task
    config : TrainConfig
    n_networks : int
        Number of networks (>= 1).
    arch : str
        Model architecture.
    n_units : int
        Hidden width.
    options : dict, optional
        Extra model constructor arguments.
    out : path-like, optional
        Run folder.
    resume : bool
        Continue the run(s) in ``out``.
    progress : bool
        Show progress bars.

    Returns
    -------
    list of TrainedNetwork
        One per network (see :func:`~neurodis.training.train_ensemble`).

    Raises
    ------
    ValueError
        If ``n_networks`` < 1 or ``arch`` is unknown (and as
        :func:`~neurodis.training.train`).

    Examples
    --------
    >>> from neurodis.tasks import make_task
    >>> config = TrainConfig(n_batches=2, batch_size=4, log_every=1, checkpoint_every=2)
    >>> results = train_networks(make_task("classification", n_tasks=2), config, n_networks=2,
    ...                          n_units=8, progress=False)
    >>> [r.config.seed for r in results]
    [0, 1]
    """
    n_networks = check_int("n_networks", n_networks, minimum=1)
    seeds = [config.seed + k for k in range(n_networks)]
    encoders = [default_encoder(task, replace(config, seed=s)) for s in seeds]
    models = [make_network(task, arch, encoder=e, n_units=n_units, seed=s, **(options or {}))
              for e, s in zip(encoders, seeds)]
    if n_networks == 1:
        return [train(task, models[0], config, encoder=encoders[0], out=out, resume=resume, progress=progress)]
    return train_ensemble(task, models, config, seeds=seeds, encoders=encoders, out=out, resume=resume,
                          progress=progress)
