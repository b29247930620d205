"""The sweep jobs of ``reproduce``: train a group of networks, then measure each one.

A group is the runs of one ensemble (see :func:`~neurodis.sweeps.presets.ensemble_key`),
trained at once as a batched ensemble that checkpoints into the store (so a killed job
resumes; a group that is new because the runs were grouped differently, say split over
more workers, starts from any stored ensemble checkpoint that trains all its members).
Each trained network is saved into its run folder (weights, encoder) and measured.
:func:`run_group` does the training and saving for every kind of job; a job differs
only in its measurement. The job of this module, :func:`train_and_generalize`, measures
out-of-distribution decoder generalization on truly held-out quadrants, the same under
the authors' default evaluation for comparison, the in-distribution reference, decoder
angles and the final training accuracy relative to the ideal observer (the other jobs
are in :mod:`neurodis.sweeps.studies`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.runner import Report

if TYPE_CHECKING:
    from neurodis.training import TrainedNetwork

__all__ = ["measure_network", "run_group", "train_and_generalize"]

#: Training-history variables whose final value is kept in the run's result.
_FINAL_HISTORY = ("loss", "accuracy", "relative_accuracy")


def measure_network(network: TrainedNetwork, *, n_trials: int, seed: int) -> xr.Dataset:
    """OOD generalization of one trained network from one simulation of ``n_trials`` trials.

    :func:`~neurodis.experiments.generalization` with every decoder, the run ``seed``
    seeding both the simulation and the decoder fits, cut to what the sweep keeps:
    least squares (``r2_paper``, the paper's estimator, ``r2``, ``angle`` and their
    in-distribution references), ridge with the penalty chosen on the training
    quadrants (``ridge_r2_paper``, ``ridge_angle``, ``ridge_id_r2_paper``,
    ``ridge_alpha``), and least squares under the authors' default evaluation
    (``authors_r2_paper``).
    """
    from neurodis.experiments import generalization

    full = generalization(network, n_trials=n_trials, rng=seed, fit_rng=seed)
    keep = ["r2_paper", "r2", "angle", "id_r2_paper", "id_r2", "id_angle"]
    result = full[keep].drop_vars([c for c in full[keep].coords if c not in ("fold", "heldout")])
    result.attrs = {key: value for key, value in full.attrs.items() if key not in _PROTOCOL_ATTRS}
    for name in ("r2_paper", "angle", "id_r2_paper", "alpha"):
        result[f"ridge_{name}"] = full[f"ridge_{name}"].reset_coords(drop=True)
    result["ridge_r2_paper"].attrs["long_name"] = (
        "r2_paper of ridge decoders whose penalty was chosen by leaving one training quadrant out"
    )
    result["authors_r2_paper"] = ("fold", full["authors_r2_paper"].values)
    result["authors_r2_paper"].attrs["long_name"] = (
        "r2_paper under the authors' default evaluation (folds Q2 and Q4 tested on Q1/Q3 trials)"
    )
    result.attrs.update(eval_trials=n_trials)
    return result


#: What a sweep result leaves out of the generalization attrs (the run config records it).
_PROTOCOL_ATTRS = ("decoders", "ridge_grid_relative", "authors_evaluation_note", "n_trials", "model", "task",
                   "encoder", "decoded_step")

#: A measurement: one trained network and its run config in, its result Dataset out.
Measure = Callable[["TrainedNetwork", RunConfig], xr.Dataset]


def _ensemble_dir(run_dirs: list[str]) -> Path:
    digest = hashlib.sha256("\n".join(sorted(Path(d).name for d in run_dirs)).encode()).hexdigest()[:16]
    return Path(run_dirs[0]).parent.parent / "ensembles" / digest


def run_group(
    configs: list[dict[str, Any]], run_dirs: list[str], report: Report, measure: Measure
) -> list[xr.Dataset]:
    """Train the networks of one group, save each into its run folder and measure it.

    The shared body of every :func:`~neurodis.sweeps.runner.run_sweep` job of
    ``reproduce``; runs single-threaded (one worker process per core).

    Parameters
    ----------
    configs : list of dict
        Run configs (flat dicts of :class:`~neurodis.sweeps.config.RunConfig`) of one
        :func:`~neurodis.sweeps.presets.ensemble_key` group (networks of one kind that
        may differ in seed, number of tasks and noise).
    run_dirs : list of str
        Their run folders; each receives ``model/`` and ``encoder.json``.
    report : callable
        Receives progress messages (``batch``, ``loss``).
    measure : callable
        Module-level ``measure(network, config) -> Dataset`` of a
        :class:`~neurodis.training.TrainedNetwork` (``path``: its run folder) and its
        :class:`~neurodis.sweeps.config.RunConfig`.

    Returns
    -------
    list of xarray.Dataset
        One result per run: the measurement, with the final training ``final_loss``,
        ``final_accuracy`` and ``final_relative_accuracy`` (to the ideal observer) and
        ``train_seconds``: the ensemble's wall time of training over every call that
        trained it (its checkpointed clock, which a regrouped ensemble takes over from the
        one it continues), shared equally among its members.
    """
    import torch
    from threadpoolctl import threadpool_limits

    # one worker process per core: a second BLAS or torch thread only oversubscribes
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        return _train_and_measure([RunConfig.from_dict(c) for c in configs], run_dirs, report, measure)


def train_and_generalize(configs: list[dict[str, Any]], run_dirs: list[str], report: Report) -> list[xr.Dataset]:
    """Train the networks of one group and measure their OOD generalization (a job).

    :func:`run_group` with :func:`measure_network` on ``eval_trials`` trials.
    """
    return run_group(configs, run_dirs, report, _generalization)


def _generalization(network: TrainedNetwork, config: RunConfig) -> xr.Dataset:
    return measure_network(network, n_trials=config.eval_trials, seed=config.seed)


def _train_and_measure(
    configs: list[RunConfig], run_dirs: list[str], report: Report, measure: Measure
) -> list[xr.Dataset]:
    from neurodis.models import save_model
    from neurodis.training import adopt_members, default_encoder, train_ensemble
    from neurodis.training.checkpoint import CHECKPOINT_NAME

    tasks = [c.build_task() for c in configs]
    # the members share every training setting but the seed (ensemble_key)
    config = configs[0].train_config()
    seeds = [c.seed for c in configs]
    encoders = [default_encoder(t, replace(config, seed=s)) for t, s in zip(tasks, seeds)]
    models = [c.build_network(t, e) for t, e, c in zip(tasks, encoders, configs)]
    every = max(1, config.n_batches // 50)

    def callback(batch: int, losses: Any) -> None:
        if batch % every == 0 or batch == config.n_batches:
            report({"batch": f"{batch}/{config.n_batches}", "loss": f"{float(np.mean(losses)):.4f}"})

    folder = _ensemble_dir(run_dirs)
    if not (folder / CHECKPOINT_NAME).exists():  # regrouped runs continue from their old ensemble, the newest
        for source in sorted(folder.parent.glob(f"*/{CHECKPOINT_NAME}"), key=lambda p: p.stat().st_mtime, reverse=True):
            if adopt_members(source, tasks, models, config, seeds=seeds, encoders=encoders, out=folder):
                break
    trained = train_ensemble(tasks, models, config, seeds=seeds, encoders=encoders, out=folder,
                             resume=(folder / CHECKPOINT_NAME).exists(), progress=False, callback=callback)
    seconds = float(trained[0].history["elapsed"].values[-1]) / len(configs)
    results = []
    for member, run_config, run_dir in zip(trained, configs, run_dirs):
        # the store's run folder holds its own config.json: only the weights and encoder go in
        save_model(member.model, Path(run_dir) / "model")
        if member.encoder is not None:
            member.encoder.save(Path(run_dir) / "encoder.json")
        result = measure(replace(member, path=Path(run_dir)), run_config)
        for name in _FINAL_HISTORY:
            result[f"final_{name}"] = ((), float(member.history[name].values[-1]))
        result["train_seconds"] = ((), seconds)
        results.append(result)
    return results
