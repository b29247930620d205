"""The sweep jobs of ``reproduce``: train a group of networks, then measure each one.

A group is the runs of one ensemble (see :func:`~neurodis.sweeps.presets.ensemble_key`),
trained at once as a batched ensemble that checkpoints into the store (so a killed job
resumes; a group that is new because the runs were grouped differently, say split over
more workers, starts from any stored ensemble checkpoint that trains all its members).
Each trained network is saved into its run folder (weights, encoder) and measured.
:func:`run_group` does the training and saving for every kind of job; a job differs
only in its measurement. The job of this module, :func:`train_and_generalize`, measures
out-of-distribution decoder generalization on truly held-out quadrants in several
independent evaluations, with three decoders (ridge, least squares, the authors' Adam
fit), the same under the authors' default evaluation for comparison, the
in-distribution reference, decoder angles, the units the decoders extrapolate on, and
the accuracy relative to the ideal observer on fresh trials; beside them two controls
on the same trials (:func:`measure_controls`): the untrained network and the
time-averaged encoder output (the other jobs are in :mod:`neurodis.sweeps.studies`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int
from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.runner import Report

if TYPE_CHECKING:
    from neurodis.training import TrainedNetwork

__all__ = ["CONTROLS", "EVAL_REPEATS", "measure_controls", "measure_network", "run_group", "train_and_generalize"]

#: Training-history variables whose final value is kept in the run's result.
_FINAL_HISTORY = ("loss", "accuracy", "relative_accuracy")


#: Independent evaluations of every network by default (each its own trials, noise and
#: decoder fits; SCIENCE.md §9 asks for at least 4).
EVAL_REPEATS = 4

#: What the sweep keeps of a generalization result: least squares (the variables the
#: table and figures read), then per decoder prefix its own.
_KEEP = ("r2_paper", "r2", "angle", "id_r2_paper", "id_r2", "id_angle", "r2_paper_clamped", "n_extrapolating")
_KEEP_PREFIXED = {
    "ridge_": ("r2_paper", "angle", "id_r2_paper", "alpha", "alpha_relative", "at_grid_end", "r2_paper_clamped"),
    "authors_": ("r2_paper",),
    "adam_": ("r2_paper", "angle", "id_r2_paper", "r2_paper_clamped"),
}
#: What the sweep keeps of accuracy_vs_ideal.
_ACCURACY = ("accuracy", "ideal_accuracy", "relative_accuracy", "relative_accuracy_se")

#: The controls of every OOD number: variable prefix -> what it measures.
CONTROLS = {
    "untrained_": "the untrained network: the run's architecture with its initial weights (the run's seed), "
                  "the same encoder, trials, decoders and evaluations",
    "encoder_": "no recurrence: the encoder output averaged over the stimulus period (the raw stimulus without "
                "an encoder), the same decoders and evaluations on trials of its own drawn the same way "
                "(the next children of the evaluation stream)",
}
#: The decoders of the controls (the authors' evaluation is a comparison of trained networks only).
_CONTROL_DECODERS = ("lstsq", "ridge", "adam")
#: What the sweep keeps of each control's result (under the control's prefix).
_CONTROL_KEEP = ("r2_paper", "id_r2_paper", "angle", "ridge_r2_paper", "ridge_id_r2_paper", "ridge_angle",
                 "adam_r2_paper", "adam_id_r2_paper")


def measure_network(
    network: TrainedNetwork, *, n_trials: int, seed: int, n_repeats: int = EVAL_REPEATS,
    accuracy_trials: int | None = None,
) -> xr.Dataset:
    """OOD generalization of one trained network, ``n_repeats`` evaluations of ``n_trials`` trials.

    :func:`~neurodis.experiments.generalization` with every decoder, cut to what the
    sweep keeps, each variable along ``repeat``: least squares (``r2_paper``, ``r2``,
    ``angle`` and their in-distribution references), ridge with the penalty chosen on
    the training quadrants (``ridge_r2_paper``, ``ridge_angle``, ``ridge_id_r2_paper``,
    ``ridge_alpha``, and ``ridge_alpha_relative``, ``ridge_at_grid_end``: where the
    penalty landed on its grid), least squares under the authors' default evaluation
    (``authors_r2_paper``), the authors' Adam decoder (``adam_r2_paper``,
    ``adam_angle``, ``adam_id_r2_paper``) and the extrapolation diagnostics
    (``n_extrapolating`` per fold, ``r2_paper_clamped`` and its ridge and Adam
    versions). For a task with an ideal observer, also
    :func:`~neurodis.experiments.accuracy.accuracy_vs_ideal` on ``accuracy_trials``
    fresh trials (default 8,192): ``accuracy``, ``ideal_accuracy``,
    ``relative_accuracy``, ``relative_accuracy_se``.

    The two measurements draw from the children of ``SeedSequence(seed).spawn(2)``:
    the evaluations (see ``rng`` of :func:`~neurodis.experiments.generalization`), then
    the accuracy trials.
    """
    from neurodis.experiments import generalization
    from neurodis.experiments.accuracy import ACCURACY_TRIALS, accuracy_vs_ideal

    evaluation_rng, accuracy_rng = np.random.SeedSequence(seed).spawn(2)
    full = generalization(network, n_trials=n_trials, n_repeats=n_repeats, rng=evaluation_rng)
    kept = [*_KEEP, *(prefix + name for prefix, names in _KEEP_PREFIXED.items() for name in names)]
    result = full[kept].drop_vars([c for c in full[kept].coords if c not in ("fold", "heldout", "repeat")])
    result.attrs = {key: value for key, value in full.attrs.items() if key not in _PROTOCOL_ATTRS}
    result["ridge_r2_paper"].attrs["long_name"] = (
        "r2_paper of ridge decoders whose penalty was chosen by leaving one training quadrant out"
    )
    result["authors_r2_paper"].attrs["long_name"] = (
        "r2_paper under the authors' default evaluation (folds Q2 and Q4 tested on Q1/Q3 trials)"
    )
    result.attrs.update(eval_trials=n_trials, seed=seed,
                        streams="SeedSequence(seed).spawn(2): the evaluations, then the accuracy trials")
    if callable(getattr(network.task, "ideal_observer", None)):
        trials = ACCURACY_TRIALS if accuracy_trials is None else accuracy_trials
        accuracy = accuracy_vs_ideal(network, n_trials=trials, rng=accuracy_rng)
        for name in _ACCURACY:
            result[name] = accuracy[name]
        result["relative_accuracy"].attrs["long_name"] = f"accuracy / ideal observer's, on {trials} fresh trials"
        result.attrs.update(accuracy_trials=trials)
    return result


def measure_controls(
    network: TrainedNetwork, untrained: Any, *, n_trials: int, seed: int, n_repeats: int = EVAL_REPEATS,
    cache: dict[str, xr.Dataset] | None = None,
) -> xr.Dataset:
    """The two controls of a network's OOD numbers, measured as :func:`measure_network` measures it.

    ``untrained_*``: :func:`~neurodis.experiments.generalization` of ``untrained`` (the
    network's architecture with its initial weights) behind the network's task and
    encoder; ``encoder_*``: :func:`~neurodis.experiments.encoder_generalization`, the
    decoders of the time-averaged encoder output. Both draw from one object, the
    evaluation stream of :func:`measure_network` (the first child of
    ``SeedSequence(seed).spawn(2)``), the untrained network first: its evaluations take
    the children the trained network's take (its trials, noise and decoder fits: the
    numbers compare evaluation by evaluation), and the encoder control's the next
    ``2 · n_repeats`` children of that object, so it scores trials of its own, drawn
    the same way. Each keeps ``r2_paper``, ``id_r2_paper`` and ``angle`` of least
    squares, ridge and Adam (``untrained_ridge_r2_paper``, ...).

    Parameters
    ----------
    network : TrainedNetwork
        The trained network (its task and encoder).
    untrained : torch.nn.Module
        The same architecture with the weights training started from (in a sweep,
        ``RunConfig.build_network(task, encoder)``).
    n_trials, seed, n_repeats
        As in :func:`measure_network`.
    cache : dict, optional
        Controls already measured, updated in place. An untrained network's rates do not
        depend on its readout (the number of tasks), nor the encoder control on the
        network, so runs that share the seed, the weights before the readout, the encoder
        and the input settings share their controls: each is measured once.

    Returns
    -------
    xarray.Dataset
        The ``untrained_*`` and ``encoder_*`` variables along ``repeat`` and ``fold``.
    """
    from neurodis.experiments import encoder_generalization, generalization
    from neurodis.training import TrainedNetwork

    cache = {} if cache is None else cache
    evaluation_rng = np.random.SeedSequence(seed).spawn(2)[0]
    protocol = {"n_trials": n_trials, "n_repeats": n_repeats, "decoders": _CONTROL_DECODERS, "rng": evaluation_rng}
    controls = {
        "untrained_": (partial(generalization, TrainedNetwork(untrained, network.task, network.encoder), **protocol),
                       _control_key(network, untrained, n_trials, seed, n_repeats)),
        "encoder_": (partial(encoder_generalization, network, **protocol),
                     _control_key(network, None, n_trials, seed, n_repeats)),
    }
    result = xr.Dataset()
    for prefix, (measure, key) in controls.items():
        if key not in cache:
            kept = measure()[list(_CONTROL_KEEP)]
            cache[key] = kept.drop_vars([c for c in kept.coords if c not in ("fold", "heldout", "repeat")])
        for name in _CONTROL_KEEP:
            described = f"{name} of the control: {CONTROLS[prefix]}"
            result[prefix + name] = cache[key][name].assign_attrs(long_name=described)
    return result


def _control_key(network: TrainedNetwork, untrained: Any, n_trials: int, seed: int, n_repeats: int) -> str:
    """What a control's numbers depend on: the input settings, the encoder, the evaluation and,
    for the untrained network, its config and weights before the readout (which does not feed back)."""
    from neurodis.experiments import regression_task

    encoder = network.encoder
    key = {"trials": regression_task(network.task).config(), "encoder": None if encoder is None else encoder.config(),
           "n_trials": n_trials, "seed": seed, "n_repeats": n_repeats}
    if untrained is not None:
        config = {k: v for k, v in untrained.config.items() if k not in ("n_outputs", "readout", "bound")}
        weights = hashlib.sha256()
        for name, value in untrained.state_dict().items():
            if not name.startswith("readout."):
                weights.update(name.encode() + value.detach().cpu().numpy().tobytes())
        key.update(model={"arch": untrained.arch, **config}, weights=weights.hexdigest())
    return json.dumps(key, sort_keys=True)


#: What a sweep result leaves out of the generalization attrs (the run config records it).
_PROTOCOL_ATTRS = ("decoders", "ridge_grid_relative", "authors_evaluation_note", "n_trials", "model", "task",
                   "encoder", "decoded_step", "repeat_streams")

#: A measurement: one trained network and its run config in, its result Dataset out.
Measure = Callable[["TrainedNetwork", RunConfig], xr.Dataset]


def _ensemble_dir(run_dirs: list[str]) -> Path:
    digest = hashlib.sha256("\n".join(sorted(Path(d).name for d in run_dirs)).encode()).hexdigest()[:16]
    return Path(run_dirs[0]).parent.parent / "ensembles" / digest


def run_group(
    configs: list[dict[str, Any]], run_dirs: list[str], report: Report, measure: Measure, *, device: str = "cpu"
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
        Their run folders; each receives ``model/``, ``encoder.json`` and ``history.nc``
        (:func:`~neurodis.sweeps.store.load_network` reads the folder back).
    report : callable
        Receives progress messages (``batch``, ``loss``).
    measure : callable
        Module-level ``measure(network, config) -> Dataset`` of a
        :class:`~neurodis.training.TrainedNetwork` (``path``: its run folder) and its
        :class:`~neurodis.sweeps.config.RunConfig`.
    device : {"cpu", "cuda"}
        Where the ensemble trains (the trained networks come back on the CPU and are
        measured there).

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
        return _train_and_measure([RunConfig.from_dict(c) for c in configs], run_dirs, report, measure, device)


def train_and_generalize(
    configs: list[dict[str, Any]], run_dirs: list[str], report: Report, *, eval_repeats: int = EVAL_REPEATS,
    accuracy_trials: int | None = None, device: str = "cpu",
) -> list[xr.Dataset]:
    """Train the networks of one group and measure their OOD generalization (a job).

    :func:`run_group` (training on ``device``) with :func:`measure_network`:
    ``eval_repeats`` evaluations of ``eval_trials`` trials each, and the accuracy
    relative to the ideal observer on ``accuracy_trials`` fresh trials (default 8,192);
    then :func:`measure_controls`, the untrained network and the encoder output, each
    measured once per seed (every run of one seed in the group shares them). The runs
    are measured seed by seed inside :func:`~neurodis.experiments.sharing_trials`: the
    evaluations of one seed's runs and their controls draw and encode each of their
    trial sets once (the same numbers as drawing them per evaluation): the networks'
    ``eval_repeats`` sets, and the encoder control's as many others (see
    :func:`measure_controls`).
    """
    from neurodis.experiments import sharing_trials

    eval_repeats = check_int("eval_repeats", eval_repeats, minimum=1)
    # one cache per group: its runs of one seed share their controls (see measure_controls),
    # and, measured one after another, their evaluation trials: the networks' sets and the
    # encoder control's (the store is empty while the group trains)
    measure = partial(_generalization, eval_repeats=eval_repeats, accuracy_trials=accuracy_trials, controls={})
    with sharing_trials(max_sets=2 * eval_repeats):
        return run_group(configs, run_dirs, report, measure, device=device)


def _generalization(network: TrainedNetwork, config: RunConfig, *, eval_repeats: int,
                    accuracy_trials: int | None, controls: dict[str, xr.Dataset]) -> xr.Dataset:
    result = measure_network(network, n_trials=config.eval_trials, seed=config.seed, n_repeats=eval_repeats,
                             accuracy_trials=accuracy_trials)
    untrained = config.build_network(network.task, network.encoder)  # the weights training started from
    result.update(measure_controls(network, untrained, n_trials=config.eval_trials, seed=config.seed,
                                   n_repeats=eval_repeats, cache=controls))
    result.attrs["controls"] = json.dumps(CONTROLS)
    return result


def _train_and_measure(
    configs: list[RunConfig], run_dirs: list[str], report: Report, measure: Measure, device: str
) -> list[xr.Dataset]:
    from neurodis.models import save_model
    from neurodis.training import adopt_members, default_encoder, train_ensemble
    from neurodis.training.checkpoint import CHECKPOINT_NAME
    from neurodis.trials import save_dataset

    tasks = [c.build_task() for c in configs]
    # the members share every training setting but the seed (ensemble_key)
    config = replace(configs[0].train_config(), device=device)
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
    results: dict[int, xr.Dataset] = {}
    # seed by seed: the runs of one seed share what the measurement may reuse (controls, trials)
    for index in sorted(range(len(configs)), key=lambda i: configs[i].seed):
        member, run_config, run_dir = trained[index], configs[index], run_dirs[index]
        member.model.to("cpu")  # measured on the CPU whatever it trained on (the Numba simulator runs CTRNNs)
        # the store's run folder holds its own config.json (load_network rebuilds the task and
        # training config from it): the weights, encoder and history go in
        save_model(member.model, Path(run_dir) / "model")
        if member.encoder is not None:
            member.encoder.save(Path(run_dir) / "encoder.json")
        save_dataset(member.history, Path(run_dir) / "history.nc")
        result = measure(replace(member, path=Path(run_dir)), run_config)
        for name in _FINAL_HISTORY:
            result[f"final_{name}"] = ((), float(member.history[name].values[-1]))
        result["train_seconds"] = ((), seconds)
        results[index] = result
    return [results[index] for index in range(len(configs))]
