"""The out-of-distribution protocol, once: trained network → regression trials → rates → decoders.

:func:`generalization` is what ``neurodis generalize``, the ``reproduce`` sweep job and
the API all call. It samples the ``"regression"`` task that shares the network's latent
dims, noise and timing once over the whole latent box (:func:`regression_rates`),
runs the network on it (:func:`~neurodis.experiments.run`, its own frozen torch pass
with its configured noise) and scores every decoder on the same rates with
:func:`~neurodis.analysis.fit_ood_decoders`: each fold trains on the trials outside its
held-out region and tests on those inside.

:func:`ood_generalization` is the protocol of the paper's code instead: every fold
samples its own training and test trials (twice the simulations, one decoder); it is
kept for comparison with that code.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_int, check_rng, check_type, rng_provenance
from neurodis.analysis import fit_ood_decoders, make_folds
from neurodis.experiments.running import run
from neurodis.tasks import Task, make_task
from neurodis.training import TrainedNetwork
from neurodis.trials import INPUT, LATENT, TIME, TRIAL, UNIT

__all__ = ["DECODERS", "generalization", "ood_generalization", "regression_rates", "regression_task"]

#: The decoders :func:`generalization` scores: name -> (variable prefix, description).
DECODERS = {
    "lstsq": ("", "least squares, held-out test"),
    "ridge": ("ridge_", "ridge, penalty chosen by leaving one training orthant out (method='ridge_cv'), "
                        "held-out test"),
    "authors": ("authors_", "least squares under the authors' default evaluation (folds Q2, Q4 tested on "
                            "Q1/Q3 trials)"),
}
#: Solver-dependent variables of the ridge decoders (each also with its ``id_`` reference).
_RIDGE_VARIABLES = ("r2_paper", "r2", "mse", "weights", "bias", "angle", "alpha")
#: Evaluation-dependent variables of the authors' evaluation.
_AUTHORS_VARIABLES = ("r2_paper", "r2", "mse", "weights", "bias", "angle", "n_train", "n_test", "test_in_heldout",
                      "trial_role", "test_region", "test_is_heldout")


def regression_task(task: Task) -> Task:
    """The regression task sharing ``task``'s latent dims, noise and timing.

    Raises
    ------
    ValueError
        If ``task`` has no continuous latents read from noisy evidence.

    Examples
    --------
    >>> regression_task(make_task("classification", n_tasks=3, sigma=0.3)).sigma
    0.3
    """
    if task.name == "regression":
        return task
    if not {"n_dims", "timing"} <= {f.name for f in dataclasses.fields(task)}:
        raise ValueError(
            "task must have continuous latents read from noisy evidence (fields n_dims and timing, "
            f"e.g. 'classification', 'regression' or 'accumulation'); got task {task.name!r}"
        )
    fields = {f.name for f in dataclasses.fields(make_task("regression"))} - {"orthants"}
    shared = {name: getattr(task, name) for name in fields if hasattr(task, name)}
    return make_task("regression", **shared)


def _time_index(time: Any, n_steps: int, decision_index: int) -> int | None:
    """Step index to decode (None: every step)."""
    if isinstance(time, str):
        check_in("time", time, ["decision", "all"])
        return decision_index if time == "decision" else None
    return check_int("time", time, minimum=0, maximum=n_steps - 1)


def _check_network(network: Any) -> TrainedNetwork:
    import torch

    check_type("network", network, TrainedNetwork, "a TrainedNetwork (e.g. TrainedNetwork.load(run_folder))")
    check_type("network.model", network.model, torch.nn.Module, "a torch.nn.Module (a neurodis model)")
    check_type("network.task", network.task, Task, "a neurodis Task")
    return network


def _rates(ds: xr.Dataset, step: int | None) -> xr.DataArray:
    """The decoded rates as bare ``(trial, [time,] unit)`` (no trial or unit labels)."""
    if step is None:
        return xr.DataArray(ds["rates"].values, dims=(TRIAL, TIME, UNIT), coords={TIME: ds[TIME]})
    return xr.DataArray(ds["rates"].values, dims=(TRIAL, UNIT), attrs=ds["rates"].attrs)


def regression_rates(
    network: TrainedNetwork,
    *,
    n_trials: int = 8000,
    time: str | int = "decision",
    batch_size: int = 4096,
    rng: Any = None,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Rates of a network on regression trials spread over the whole latent box.

    One simulation serves every fold and evaluation: :func:`generalization` passes it
    to :func:`~neurodis.analysis.fit_ood_decoders`, which partitions the trials by
    orthant.

    Parameters
    ----------
    network : TrainedNetwork
        The network; its task defines the regression task (:func:`regression_task`).
    n_trials : int
        Trials, uniform over the box.
    time : "decision", int or "all"
        Step whose state is decoded: the decision step, a step index, or every step.
    batch_size : int
        Trials per forward pass.
    rng : int, Generator, SeedSequence or None
        Two streams are spawned from it: the trials, then the network noise.

    Returns
    -------
    rates : DataArray (trial, unit) or (trial, time, unit)
    latents : DataArray (trial, latent)

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> net = TrainedNetwork(CTRNN(3, 3, n_units=8, seed=0), make_task("classification", n_tasks=3), None)
    >>> rates, latents = regression_rates(net, n_trials=40, rng=0)
    >>> rates.dims, latents.dims
    (('trial', 'unit'), ('trial', 'latent'))
    """
    network = _check_network(network)
    n_trials = check_int("n_trials", n_trials, minimum=1)
    regression = dataclasses.replace(regression_task(network.task), orthants=None)
    step = _time_index(time, regression.timing.n_steps, regression.timing.decision_index)
    sample_rng, noise_rng = check_rng(rng).spawn(2)
    trials = regression.sample(n_trials, rng=sample_rng, encoder=network.encoder)
    ran = run(network, trials, rng=noise_rng, time=step, backend="torch", batch_size=batch_size)
    latents = xr.DataArray(trials["latents"].values, dims=(TRIAL, LATENT), coords={LATENT: trials[LATENT].values})
    return _rates(ran, step), latents


def _two_streams(rng: Any) -> tuple[Any, Any]:
    """The simulation's and the decoder fits' randomness: two children of ``rng``."""
    if isinstance(rng, (np.random.Generator, np.random.SeedSequence)):
        return tuple(rng.spawn(2))
    check_rng(rng)  # an int seed or None, or a clear error
    return tuple(np.random.SeedSequence(rng).spawn(2))


def generalization(
    network: TrainedNetwork,
    *,
    n_trials: int = 8000,
    folds: str = "quadrant",
    time: str | int = "decision",
    decoders: Sequence[str] = ("lstsq", "ridge", "authors"),
    rng: Any = None,
    fit_rng: Any = None,
    batch_size: int = 4096,
) -> xr.Dataset:
    """Out-of-distribution decoder generalization of a trained network (the one protocol).

    Parameters
    ----------
    network : TrainedNetwork
        The network; its task defines the regression trials (:func:`regression_task`).
    n_trials : int
        Trials simulated once over the whole latent box.
    folds : {"quadrant", "orthant", "halfspace"}
        The fold set (see :mod:`neurodis.analysis.decoding`).
    time : "decision", int or "all"
        Step whose state is decoded: the decision step, a step index, or every step
        (a time-resolved curve).
    decoders : sequence of {"lstsq", "ridge", "authors"}
        ``"lstsq"`` (required): least squares, every variable of
        :func:`~neurodis.analysis.fit_ood_decoders`; ``"ridge"``: ridge with the penalty
        chosen on the training orthants, its solver-dependent variables prefixed
        ``ridge_``; ``"authors"``: least squares under the authors' default evaluation
        (quadrant folds only), its evaluation-dependent variables prefixed
        ``authors_``. They are fit in this order, whatever the order given.
    rng : int, Generator, SeedSequence or None
        Without ``fit_rng``: two children are spawned from it
        (``SeedSequence(rng).spawn(2)`` for an int), the first for the simulation (see
        :func:`regression_rates`), the second for every decoder fit. With ``fit_rng``:
        the simulation's randomness itself.
    fit_rng : int, Generator, SeedSequence or None
        Randomness of the decoder fits (each decoder is passed this object); the
        ``reproduce`` sweep passes its run seed as both ``rng`` and ``fit_rng``.
    batch_size : int
        Trials per forward pass.

    Returns
    -------
    xarray.Dataset
        The least-squares result of :func:`~neurodis.analysis.fit_ood_decoders`
        (``r2_paper``, ``weights``, ``trial_role``, ...) with the ``ridge_*`` and
        ``authors_*`` variables asked for; attrs ``decoders`` (prefix -> decoder,
        JSON), ``n_trials``, the network's ``model``/``task``/``encoder`` configs, the
        ``decoded_step`` and ``sigma``, ``n_steps``, ``free_rt`` for
        :func:`~neurodis.analysis.r2_ceiling`.

    Raises
    ------
    TypeError
        If ``network`` is not a TrainedNetwork with a torch model and a Task.
    ValueError
        For a task without continuous latents, a bad ``time`` or ``decoders``, the
        authors' evaluation with other than quadrant folds, or inputs that do not match
        the model.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> task = make_task("classification", n_tasks=3)
    >>> from neurodis.tasks.encoders import Encoder
    >>> net = TrainedNetwork(CTRNN(41, 3, n_units=8, seed=0), task, Encoder(n_dims=2, seed=0))
    >>> result = generalization(net, n_trials=400, rng=0)
    >>> result["r2_paper"].dims, sorted(json.loads(result.attrs["decoders"]))
    (('fold',), ['', 'authors_', 'ridge_'])
    """
    network = _check_network(network)
    decoders = _check_decoders(decoders)
    regression = regression_task(network.task)
    step = _time_index(time, regression.timing.n_steps, regression.timing.decision_index)
    if fit_rng is None:
        rng, fit_rng = _two_streams(rng)
    rates, latents = regression_rates(network, n_trials=n_trials, time="all" if step is None else step,
                                        batch_size=batch_size, rng=rng)
    result = _score_decoders(rates, latents, folds=folds, decoders=decoders, rng=fit_rng)
    timing = network.task.timing
    result.attrs.update(
        n_trials=n_trials, **_network_attrs(network),
        decoded_step="all" if step is None else step,
        sigma=network.task.sigma, n_steps=timing.steps("stimulus"),
        free_rt=int(getattr(network.task, "free_rt", False)),
    )
    return result


def _check_decoders(decoders: Sequence[str]) -> list[str]:
    if isinstance(decoders, str) or not isinstance(decoders, Sequence):
        raise TypeError(f"decoders must be a sequence of names from {list(DECODERS)}; got "
                        f"{type(decoders).__name__} {decoders!r}")
    for name in decoders:
        check_in("decoders", name, DECODERS)
    if "lstsq" not in decoders:
        raise ValueError(f"decoders must include 'lstsq' (its result carries the folds and trials); got "
                         f"{list(decoders)}")
    return [name for name in DECODERS if name in decoders]


def _network_attrs(network: TrainedNetwork) -> dict[str, str]:
    model, encoder = network.model, network.encoder
    return {
        "model": json.dumps({"arch": getattr(model, "arch", type(model).__name__), **getattr(model, "config", {})},
                            sort_keys=True),
        "task": json.dumps(network.task.config(), sort_keys=True),
        "encoder": json.dumps(encoder.config(), sort_keys=True) if encoder is not None else "",
    }


def _score_decoders(rates: xr.DataArray, latents: xr.DataArray, *, folds: str, decoders: list[str],
                    rng: Any) -> xr.Dataset:
    """Least squares (every variable), ``ridge_*`` and ``authors_*`` variables, all from the
    same rates and the same decoder ``rng`` object, fit in that order."""
    result = fit_ood_decoders(rates, latents, folds=folds, rng=rng)
    described = {"": DECODERS["lstsq"][1]}
    if "ridge" in decoders:
        ridge = fit_ood_decoders(rates, latents, folds=folds, method="ridge_cv", rng=rng)
        for name in _RIDGE_VARIABLES + tuple(f"id_{name}" for name in _RIDGE_VARIABLES):
            result[f"ridge_{name}"] = ridge[name].reset_coords(drop=True)
        result["ridge_r2_paper"].attrs["long_name"] = described["ridge_"] = DECODERS["ridge"][1]
        result.attrs["ridge_grid_relative"] = ridge.attrs["ridge_grid_relative"]
    if "authors" in decoders:
        slip = fit_ood_decoders(rates, latents, folds=folds, evaluation="authors_default", rng=rng)
        for name in _AUTHORS_VARIABLES:
            result[f"authors_{name}"] = slip[name].reset_coords(drop=True)
        result["authors_r2_paper"].attrs["long_name"] = described["authors_"] = DECODERS["authors"][1]
        result.attrs["authors_evaluation_note"] = slip.attrs["evaluation_note"]
    result.attrs["decoders"] = json.dumps(described)
    return result


def ood_generalization(
    network: TrainedNetwork,
    *,
    folds: str = "quadrant",
    n_trials: int = 2000,
    n_test: int = 1000,
    time: str | int = "decision",
    evaluation: str = "heldout",
    method: str = "lstsq",
    alpha: float = 1.0,
    n_batches: int = 2000,
    id_splits: int = 4,
    min_trials_per_fold: int = 20,
    batch_size: int = 4096,
    rng: Any = None,
) -> xr.Dataset:
    """Out-of-distribution decoder generalization with trials sampled per fold (the paper's code).

    For each fold the regression task is sampled twice: ``n_trials`` trials from the
    fold's training orthants and ``n_test`` from its test orthants (the held-out one;
    under ``evaluation="authors_default"``, Q1 and Q3 for folds Q2 and Q4). The network
    runs once on all of them (:func:`~neurodis.experiments.run`, torch, its configured
    noise), the rates at ``time`` are read out and
    :func:`~neurodis.analysis.fit_ood_decoders` fits and scores one decoder on these
    explicit splits, which it checks lie in their regions. :func:`generalization`
    reaches the same scores from one simulation; use it unless comparing with the
    paper's code.

    Parameters
    ----------
    network : TrainedNetwork
    folds : {"quadrant", "orthant", "halfspace"}
    n_trials, n_test : int
        Training and test trials sampled per fold.
    time : "decision", int or "all"
    evaluation : {"heldout", "authors_default"}
    method, alpha, n_batches, id_splits, min_trials_per_fold
        As in :func:`~neurodis.analysis.fit_ood_decoders`.
    batch_size : int
        Trials per forward pass.
    rng : int, Generator, SeedSequence or None
        Seeds the trials, the network noise and the decoder fits.

    Returns
    -------
    xarray.Dataset
        As :func:`~neurodis.analysis.fit_ood_decoders`, with ``attrs`` naming the
        model, the regression task, the encoder, the decoded step, and ``sigma``,
        ``n_steps``, ``free_rt``, ``n_trials_per_fold``, ``n_test_per_fold``.

    Raises
    ------
    TypeError
        If ``network`` is not a TrainedNetwork with a torch model and a Task.
    ValueError
        For a task without continuous latents, a bad ``time``, or inputs that do not
        match the model.
    """
    network = _check_network(network)
    n_trials = check_int("n_trials", n_trials, minimum=1)
    n_test = check_int("n_test", n_test, minimum=1)
    regression = regression_task(network.task)
    fold_set = make_folds(folds, regression.n_dims, evaluation=evaluation)
    step = _time_index(time, regression.timing.n_steps, regression.timing.decision_index)
    generator = check_rng(rng)
    provenance = rng_provenance(rng, generator)
    noise_rng, fit_rng, *sample_rngs = generator.spawn(2 + 2 * len(fold_set))
    inputs, latents, splits, offset = [], [], {}, 0
    for k, fold in enumerate(fold_set):
        for orthants, count, part_rng in (
            (fold.train, n_trials, sample_rngs[2 * k]), (fold.test, n_test, sample_rngs[2 * k + 1])
        ):
            part = dataclasses.replace(regression, orthants=orthants).sample(count, rng=part_rng,
                                                                             encoder=network.encoder)
            inputs.append(part["inputs"].values)
            latents.append(part["latents"].values)
        end = offset + n_trials + n_test
        splits[fold.name] = (np.arange(offset, offset + n_trials), np.arange(offset + n_trials, end))
        offset = end
    trials = xr.Dataset({"inputs": ((TRIAL, TIME, INPUT), np.concatenate(inputs))}, coords={TIME: part[TIME]})
    ran = run(network, trials, rng=noise_rng, time=step, backend="torch", batch_size=batch_size)
    result = fit_ood_decoders(
        _rates(ran, step),
        xr.DataArray(np.concatenate(latents), dims=(TRIAL, LATENT), coords={LATENT: part[LATENT].values}),
        folds=folds, evaluation=evaluation, splits=splits, method=method, alpha=alpha, n_batches=n_batches,
        id_splits=id_splits, min_trials_per_fold=min_trials_per_fold, rng=fit_rng,
    )
    result.attrs.update(
        provenance,
        **{**_network_attrs(network), "task": json.dumps(regression.config(), sort_keys=True)},
        decoded_step="all" if step is None else step,
        sigma=regression.sigma,  # with n_steps and free_rt: what the r² ceiling needs
        n_steps=regression.timing.steps("stimulus"),
        free_rt=int(regression.free_rt),
        n_trials_per_fold=n_trials,
        n_test_per_fold=n_test,
    )
    return result
