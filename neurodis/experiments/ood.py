"""The out-of-distribution protocol, once: trained network → regression trials → rates → decoders.

:func:`generalization` is what ``neurodis generalize``, the ``reproduce`` sweep job and
the API all call. It samples the ``"regression"`` task that shares the network's latent
dims, noise and timing once over the whole latent box (:func:`regression_rates`),
runs the network on it (:func:`~neurodis.experiments.run`, its own frozen torch pass
with its configured noise) and scores every decoder on the same rates with
:func:`~neurodis.analysis.fit_ood_decoders`: each fold trains on the trials outside its
held-out region and tests on those inside. With ``n_repeats`` it does so that many
times, each evaluation with its own trials, noise and decoder fits (a ``repeat`` dim):
least-squares held-out r² can move by tenths between two evaluations of one network,
so a reported number is a median over repeats as well as over networks and folds.
Every result names the units the decoders extrapolate on
(:func:`~neurodis.analysis.ood_diagnostics.extrapolating_units`) and where the ridge
penalty landed on its grid.

:func:`encoder_generalization` is its control without recurrence: the same trials and
decoders, scoring each trial's encoder output averaged over the stimulus period. (The
other control, an untrained network of the same architecture, is :func:`generalization`
of that network.)

:func:`ood_generalization` is the protocol of the paper's code instead: every fold
samples its own training and test trials (twice the simulations, one decoder); it is
kept for comparison with that code.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import numbers
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_in, check_int, check_rng, check_type, describe, rng_provenance
from neurodis.analysis import fit_ood_decoders, make_folds
from neurodis.analysis.ood_diagnostics import extrapolating_units, ridge_penalty_position
from neurodis.experiments.running import run
from neurodis.tasks import Task, make_task
from neurodis.tasks.encoders import Encoder
from neurodis.training import TrainedNetwork
from neurodis.trials import INPUT, LATENT, TIME, TRIAL, UNIT

__all__ = [
    "DECODERS", "REPEAT", "encoder_generalization", "evaluation_streams", "evidence_channels", "generalization",
    "ood_generalization", "regression_rates", "regression_task", "sharing_trials",
]

#: The decoders :func:`generalization` scores: name -> (variable prefix, description).
#: ``"authors"`` is the authors' *evaluation* (which folds are tested where), scored with
#: least squares; ``"adam"`` is the authors' *decoder fit* on the true held-out test.
DECODERS = {
    "lstsq": ("", "least squares, held-out test"),
    "ridge": ("ridge_", "ridge, penalty chosen by leaving one training orthant out (method='ridge_cv'), "
                        "held-out test"),
    "authors": ("authors_", "least squares under the authors' default evaluation (folds Q2, Q4 tested on "
                            "Q1/Q3 trials)"),
    "adam": ("adam_", "the authors' decoder fit: Adam (lr 3e-3, 2000 batches of 16 trials, torch's default "
                      "initial weights; method='adam'), held-out test"),
}
#: Solver-dependent variables of the ridge decoders (each also with its ``id_`` reference).
_RIDGE_VARIABLES = ("r2_paper", "r2", "mse", "weights", "bias", "angle", "alpha")
#: Solver-dependent variables of the Adam decoders (each also with its ``id_`` reference).
_ADAM_VARIABLES = ("r2_paper", "r2", "mse", "weights", "bias", "angle")
#: Decoders whose held-out score is also given with the extrapolating units clamped.
_CLAMPED = ("lstsq", "ridge", "adam")
#: Dim of the independent evaluations of :func:`generalization` (``n_repeats``).
REPEAT = "repeat"
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
    regression = regression_task(network.task)
    step = _time_index(time, regression.timing.n_steps, regression.timing.decision_index)
    trials, latents, noise_rng = _regression_trials(network, n_trials, rng)
    ran = run(network, trials, rng=noise_rng, time=step, backend="torch", batch_size=batch_size)
    return _rates(ran, step), latents


def _regression_trials(network: TrainedNetwork, n_trials: int, rng: Any) -> tuple[xr.Dataset, xr.DataArray, Any]:
    """Regression trials over the whole box (encoded), their latents, and the network-noise stream.

    ``rng`` is split in two (trials, then noise): :func:`regression_rates` and
    :func:`encoder_generalization` given one ``rng`` see the same trials. Inside
    :func:`sharing_trials`, a set drawn before is taken from its store.
    """
    regression = dataclasses.replace(regression_task(network.task), orthants=None)
    store = _TRIAL_STORE.get()
    key = None if store is None else _trials_key(regression, network.encoder, n_trials, rng)
    sample_rng, noise_rng = check_rng(rng).spawn(2)  # the noise stream is spawned as without the store
    if key is None or key not in store:
        trials = regression.sample(n_trials, rng=sample_rng, encoder=network.encoder)
        latents = xr.DataArray(trials["latents"].values, dims=(TRIAL, LATENT),
                               coords={LATENT: trials[LATENT].values})
        if key is None:
            return trials, latents, noise_rng
        store[key] = (trials, latents)
        while len(store) > store.max_sets:
            store.popitem(last=False)
    store.move_to_end(key)
    trials, latents = store[key]
    return trials.copy(deep=False), latents, noise_rng


class _TrialSets(OrderedDict):
    """The store of :func:`sharing_trials`: trial sets by :func:`_trials_key`, least recently used first."""

    def __init__(self, max_sets: int) -> None:
        super().__init__()
        self.max_sets = max_sets


#: The open :func:`sharing_trials` store (None outside one).
_TRIAL_STORE: contextvars.ContextVar[_TrialSets | None] = contextvars.ContextVar("neurodis_trial_store", default=None)


@contextlib.contextmanager
def sharing_trials(max_sets: int = 4) -> Iterator[None]:
    """Inside the block, evaluations that draw the same regression trials draw them once.

    An evaluation's trials depend on the regression task (the network's latent dims,
    noise and timing: :func:`regression_task`), the encoder, the number of trials and
    the stream that draws them, not on the network itself. So, given the same stream,
    networks of one seed that differ in their number of tasks, an untrained copy and the
    encoder control (:func:`encoder_generalization`) evaluate on the very same trials,
    and drawing them is mostly encoding them (about 0.2–0.7 s for the
    8,000 trials of the paper's protocol, against a fraction of that to simulate a
    CTRNN on them). Inside the block the ``max_sets`` sets drawn last are kept and
    handed out again: the results are the same numbers as without the block, and the
    noise streams are spawned as before. Only streams given as a
    ``numpy.random.SeedSequence`` are shared (what :func:`evaluation_streams` spawns
    from an int or a SeedSequence); a Generator draws afresh. The evaluations only read
    the trials' arrays; a set of 8,000 fig3 trials holds about 60 MB. The store belongs
    to the thread (the context) that opened the block.

    Parameters
    ----------
    max_sets : int
        Trial sets kept at once (>= 1), the least recently used dropped first: at
        least ``n_repeats`` for the repeats of one evaluation to be shared.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks.encoders import Encoder
    >>> task, encoder = make_task("classification", n_tasks=3), Encoder(n_dims=2, seed=0)
    >>> net = TrainedNetwork(CTRNN(41, 3, n_units=8, seed=0), task, encoder)
    >>> with sharing_trials(max_sets=2):
    ...     shared = generalization(net, n_trials=400, decoders=["lstsq"], n_repeats=2, rng=0)
    ...     control = encoder_generalization(net, n_trials=400, decoders=["lstsq"], n_repeats=2, rng=0)
    >>> plain = generalization(net, n_trials=400, decoders=["lstsq"], n_repeats=2, rng=0)
    >>> bool((shared["r2_paper"] == plain["r2_paper"]).all())
    True
    """
    max_sets = check_int("max_sets", max_sets, minimum=1)
    token = _TRIAL_STORE.set(_TrialSets(max_sets))
    try:
        yield
    finally:
        _TRIAL_STORE.reset(token)


def _trials_key(regression: Task, encoder: Any, n_trials: int, rng: Any) -> str | None:
    """What a regression trial set depends on, or None for a stream that is not a SeedSequence."""
    if not isinstance(rng, np.random.SeedSequence) or not (encoder is None or isinstance(encoder, Encoder)):
        return None
    coder = None
    if encoder is not None:
        weights = hashlib.sha256()
        for array in (*encoder.weights, *encoder.biases):
            weights.update(np.ascontiguousarray(array).tobytes())
        coder = {"class": type(encoder).__qualname__, "config": encoder.config(), "weights": weights.hexdigest()}
    stream = [np.asarray(rng.entropy, dtype=object).tolist(), [int(k) for k in rng.spawn_key], int(rng.pool_size),
              int(rng.n_children_spawned)]
    return json.dumps({"task": regression.config(), "encoder": coder, "n_trials": n_trials, "stream": stream},
                      sort_keys=True, default=str)


def evidence_channels(trials: xr.Dataset) -> list[str]:
    """The input channels that carry evidence: the encoder's output, or the raw stimulus
    without an encoder; never the fixation (go-cue) input.

    Examples
    --------
    >>> from neurodis.tasks import make_task
    >>> evidence_channels(make_task("classification", n_tasks=2).sample(2, rng=0))
    ['stimulus_0', 'stimulus_1']
    """
    return [str(name) for name in trials[INPUT].values if str(name).startswith(("encoded", "stimulus"))]


def _encoder_features(network: TrainedNetwork, n_trials: int, rng: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """The encoder's output (the raw stimulus without one) averaged over each trial's stimulus
    period, as ``(trial, unit)`` rates, and the latents: the trials of :func:`regression_rates`."""
    trials, latents, _ = _regression_trials(network, n_trials, rng)
    channels = evidence_channels(trials)
    period = regression_task(network.task).timing.period_slice("stimulus")
    averaged = trials["inputs"].sel({INPUT: channels}).isel({TIME: period}).mean(TIME)
    return xr.DataArray(averaged.values, dims=(TRIAL, UNIT)), latents


def evaluation_streams(rng: Any, fit_rng: Any, n_evaluations: int) -> list[tuple[Any, Any]]:
    """The (simulation, decoder fits) randomness of each of ``n_evaluations`` evaluations.

    Children ``2r`` and ``2r + 1`` of ``rng``'s SeedSequence (``SeedSequence(rng)`` for an
    int), all spawned at once, so evaluation 0 is the single evaluation of
    ``n_repeats=None``. A given ``fit_rng`` (one evaluation only) keeps ``rng`` whole for
    the simulation. Every OOD measurement of the project draws its evaluations here.

    Examples
    --------
    >>> streams = evaluation_streams(0, None, 2)
    >>> len(streams), [child.spawn_key for pair in streams for child in pair]
    (2, [(0,), (1,), (2,), (3,)])
    >>> evaluation_streams(0, 7, 1)
    [(0, 7)]
    """
    if fit_rng is not None:
        return [(rng, fit_rng)]
    if isinstance(rng, (np.random.Generator, np.random.SeedSequence)):
        children = rng.spawn(2 * n_evaluations)
    else:
        check_rng(rng)  # an int seed or None, or a clear error
        children = np.random.SeedSequence(rng).spawn(2 * n_evaluations)
    return list(zip(children[0::2], children[1::2], strict=True))


def generalization(
    network: TrainedNetwork,
    *,
    n_trials: int = 8000,
    folds: str = "quadrant",
    time: str | int = "decision",
    decoders: Sequence[str] = ("lstsq", "ridge", "authors", "adam"),
    n_repeats: int | None = None,
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
        Trials simulated once (per repeat) over the whole latent box.
    folds : {"quadrant", "orthant", "halfspace"}
        The fold set (see :mod:`neurodis.analysis.decoding`).
    time : "decision", int or "all"
        Step whose state is decoded: the decision step, a step index, or every step
        (a time-resolved curve).
    decoders : sequence of {"lstsq", "ridge", "authors", "adam"}
        ``"lstsq"`` (required): least squares, every variable of
        :func:`~neurodis.analysis.fit_ood_decoders`; ``"ridge"``: ridge with the penalty
        chosen on the training orthants, its solver-dependent variables prefixed
        ``ridge_``; ``"authors"``: least squares under the authors' default evaluation
        (quadrant folds only), its evaluation-dependent variables prefixed
        ``authors_``; ``"adam"``: the authors' decoder fit (Adam on minibatches,
        :func:`~neurodis.analysis.fit_decoder_adam`) on the true held-out test, prefixed
        ``adam_``. They are fit in this order, whatever the order given.
    n_repeats : int, optional
        Independent evaluations (>= 1), each with its own trials, network noise and
        decoder fits, along a ``repeat`` dim of every variable; ``None`` (default): one
        evaluation without that dim, the same numbers as repeat 0.
    rng : int, Generator, SeedSequence or None
        Without ``fit_rng``: ``2 · n_repeats`` children are spawned from it
        (``SeedSequence(rng).spawn`` for an int); repeat ``r`` simulates with child
        ``2r`` (see :func:`regression_rates`) and fits every decoder with child
        ``2r + 1``. With ``fit_rng``: the simulation's randomness itself.
    fit_rng : int, Generator, SeedSequence or None
        Randomness of the decoder fits of a single evaluation (each decoder is passed
        this object); ``None`` with ``n_repeats``.
    batch_size : int
        Trials per forward pass.

    Returns
    -------
    xarray.Dataset
        The least-squares result of :func:`~neurodis.analysis.fit_ood_decoders`
        (``r2_paper``, ``weights``, ``trial_role``, ...) with the ``ridge_*``,
        ``authors_*`` and ``adam_*`` variables asked for; diagnostics of the
        extrapolation (:func:`~neurodis.analysis.ood_diagnostics.extrapolating_units`):
        ``extrapolating (fold, unit)``, ``n_extrapolating (fold)`` and, per decoder
        but the authors' evaluation, ``{prefix}r2_paper_clamped`` (held-out score with
        those units at their training mean); with ridge, ``ridge_alpha_relative`` and
        ``ridge_at_grid_end`` (:func:`~neurodis.analysis.ood_diagnostics.ridge_penalty_position`).
        With ``n_repeats`` every variable has a leading ``repeat`` dim. attrs
        ``decoders`` (prefix -> decoder, JSON), ``n_trials``, ``n_repeats`` (0 for
        ``None``), the network's ``model``/``task``/``encoder`` configs, the
        ``decoded_step`` and ``sigma``, ``n_steps``, ``free_rt`` for
        :func:`~neurodis.analysis.r2_ceiling`.

    Raises
    ------
    TypeError
        If ``network`` is not a TrainedNetwork with a torch model and a Task.
    ValueError
        For a task without continuous latents, a bad ``time``, ``decoders`` or
        ``n_repeats``, ``fit_rng`` with ``n_repeats``, the authors' evaluation with
        other than quadrant folds, or inputs that do not match the model.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> task = make_task("classification", n_tasks=3)
    >>> from neurodis.tasks.encoders import Encoder
    >>> net = TrainedNetwork(CTRNN(41, 3, n_units=8, seed=0), task, Encoder(n_dims=2, seed=0))
    >>> result = generalization(net, n_trials=400, rng=0)
    >>> result["r2_paper"].dims, sorted(json.loads(result.attrs["decoders"]))
    (('fold',), ['', 'adam_', 'authors_', 'ridge_'])
    >>> generalization(net, n_trials=400, decoders=["lstsq"], n_repeats=2, rng=0)["r2_paper"].dims
    ('repeat', 'fold')
    """
    network = _check_network(network)
    decoders, n_trials, n_repeats = _check_protocol(decoders, n_trials, n_repeats, fit_rng)
    regression = regression_task(network.task)
    step = _time_index(time, regression.timing.n_steps, regression.timing.decision_index)

    def simulate(simulation_rng: Any) -> tuple[xr.DataArray, xr.DataArray]:
        return regression_rates(network, n_trials=n_trials, time="all" if step is None else step,
                                batch_size=batch_size, rng=simulation_rng)

    result = _evaluate(simulate, folds=folds, decoders=decoders, n_repeats=n_repeats, rng=rng, fit_rng=fit_rng)
    result.attrs.update(n_trials=n_trials, n_repeats=n_repeats or 0, **_network_attrs(network),
                        decoded_step="all" if step is None else step, **_ceiling_attrs(network.task))
    return result


def encoder_generalization(
    network: TrainedNetwork,
    *,
    n_trials: int = 8000,
    folds: str = "quadrant",
    decoders: Sequence[str] = ("lstsq", "ridge", "authors", "adam"),
    n_repeats: int | None = None,
    rng: Any = None,
    fit_rng: Any = None,
) -> xr.Dataset:
    """The encoder control of :func:`generalization`: decoders of the time-averaged encoder output.

    No recurrence and no network: each trial's encoder output (the network's input
    channels but the fixation; the raw stimulus when the network has no encoder) is
    averaged over the stimulus period, and these features are scored by the decoders
    of :func:`generalization` on the same folds. Given the same ``rng``, every
    evaluation uses the trials that :func:`generalization` simulates the network on,
    and the same decoder randomness: the two results compare trial by trial. Only
    ``network.task`` and ``network.encoder`` are used.

    Parameters
    ----------
    network : TrainedNetwork
        Its task defines the regression trials (:func:`regression_task`); its encoder
        gives the features.
    n_trials, folds, decoders, n_repeats, rng, fit_rng
        As in :func:`generalization` (``rng``'s simulation stream draws the trials).

    Returns
    -------
    xarray.Dataset
        The layout of :func:`generalization` (dims ``fold``, ``repeat`` with
        ``n_repeats``; the same variable names, its ``unit`` dim the averaged channels),
        with attrs ``decoders``, ``n_trials``, ``n_repeats``, the network's
        ``model``/``task``/``encoder`` configs, ``decoded`` (what was decoded),
        ``stimulus_steps`` (the averaged steps, ``[start, stop)``) and ``sigma``,
        ``n_steps``, ``free_rt``.

    Raises
    ------
    TypeError
        If ``network`` is not a TrainedNetwork with a Task.
    ValueError
        For a task without continuous latents, a bad ``decoders`` or ``n_repeats``, or
        ``fit_rng`` with ``n_repeats``.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks.encoders import Encoder
    >>> net = TrainedNetwork(CTRNN(41, 3, n_units=8, seed=0), make_task("classification", n_tasks=3),
    ...                      Encoder(n_dims=2, seed=0))
    >>> control = encoder_generalization(net, n_trials=400, decoders=["lstsq", "ridge"], n_repeats=2, rng=0)
    >>> control["ridge_r2_paper"].dims, control.sizes["unit"]
    (('repeat', 'fold'), 40)
    """
    check_type("network", network, TrainedNetwork, "a TrainedNetwork (e.g. TrainedNetwork.load(run_folder))")
    check_type("network.task", network.task, Task, "a neurodis Task")
    decoders, n_trials, n_repeats = _check_protocol(decoders, n_trials, n_repeats, fit_rng)
    period = regression_task(network.task).timing.period_slice("stimulus")  # tasks refuse an empty one

    def features(simulation_rng: Any) -> tuple[xr.DataArray, xr.DataArray]:
        return _encoder_features(network, n_trials, simulation_rng)

    result = _evaluate(features, folds=folds, decoders=decoders, n_repeats=n_repeats, rng=rng, fit_rng=fit_rng)
    result.attrs.update(
        n_trials=n_trials, n_repeats=n_repeats or 0, **_network_attrs(network),
        decoded="the encoder output (the raw stimulus without an encoder) averaged over the stimulus period",
        stimulus_steps=[period.start, period.stop], **_ceiling_attrs(network.task),
    )
    return result


def _check_protocol(decoders: Sequence[str], n_trials: Any, n_repeats: Any,
                    fit_rng: Any) -> tuple[list[str], int, int | None]:
    """The checked decoders, ``n_trials`` and ``n_repeats`` of an evaluation."""
    decoders = _check_decoders(decoders)
    n_trials = check_int("n_trials", n_trials, minimum=1)
    if n_repeats is not None:
        n_repeats = check_int("n_repeats", n_repeats, minimum=1)
        if fit_rng is not None:
            raise ValueError(f"fit_rng must be None with n_repeats (each repeat's decoder randomness is spawned "
                             f"from rng); got fit_rng={describe(fit_rng)} and n_repeats={n_repeats}")
    return decoders, n_trials, n_repeats


def _evaluate(features: Any, *, folds: str, decoders: list[str], n_repeats: int | None, rng: Any,
              fit_rng: Any) -> xr.Dataset:
    """Every evaluation: ``features(simulation_rng) -> (rates, latents)`` scored by the decoders."""
    evaluations = []
    for simulation_rng, decoder_rng in evaluation_streams(rng, fit_rng, n_repeats or 1):
        rates, latents = features(simulation_rng)
        evaluations.append(_score_decoders(rates, latents, folds=folds, decoders=decoders, rng=decoder_rng))
    return evaluations[0] if n_repeats is None else _stack_repeats(evaluations, rng)


def _ceiling_attrs(task: Task) -> dict[str, Any]:
    """What :func:`~neurodis.analysis.r2_ceiling` needs: ``sigma``, ``n_steps``, ``free_rt``."""
    return {"sigma": task.sigma, "n_steps": task.timing.steps("stimulus"),
            "free_rt": int(getattr(task, "free_rt", False))}


def _stack_repeats(evaluations: list[xr.Dataset], rng: Any) -> xr.Dataset:
    """The evaluations along ``repeat``; attrs of the first but the per-evaluation rng state."""
    stacked = xr.concat(evaluations, dim=REPEAT, coords="minimal", compat="override", combine_attrs="override")
    stacked = stacked.assign_coords({REPEAT: np.arange(len(evaluations))})
    del stacked.attrs["rng_state"]
    stacked.attrs.update(
        seed=int(rng) if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) else -1,
        repeat_streams="repeat r: children 2r (simulation) and 2r+1 (decoder fits) of SeedSequence(seed).spawn",
    )
    return stacked


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
    """Least squares (every variable), ``ridge_*``, ``authors_*`` and ``adam_*`` variables, all from
    the same rates and the same decoder ``rng`` object, fit in that order; then the diagnostics."""
    result = fit_ood_decoders(rates, latents, folds=folds, rng=rng)
    described = {"": DECODERS["lstsq"][1]}
    if "ridge" in decoders:
        ridge = fit_ood_decoders(rates, latents, folds=folds, method="ridge_cv", rng=rng)
        position = ridge_penalty_position(rates, ridge)
        at_end = position["at_grid_end"].assign_attrs(
            long_name="the ridge penalty was the smallest or largest of its grid")
        _merge(result, ridge, "ridge", _RIDGE_VARIABLES + tuple(f"id_{name}" for name in _RIDGE_VARIABLES), described,
               ridge_alpha_relative=position["alpha_relative"], ridge_at_grid_end=at_end)
        result.attrs["ridge_grid_relative"] = ridge.attrs["ridge_grid_relative"]
    if "authors" in decoders:
        slip = fit_ood_decoders(rates, latents, folds=folds, evaluation="authors_default", rng=rng)
        _merge(result, slip, "authors", _AUTHORS_VARIABLES, described)
        result.attrs["authors_evaluation_note"] = slip.attrs["evaluation_note"]
    if "adam" in decoders:
        adam = fit_ood_decoders(rates, latents, folds=folds, method="adam", rng=rng)
        _merge(result, adam, "adam", _ADAM_VARIABLES + tuple(f"id_{name}" for name in _ADAM_VARIABLES), described)
    diagnostics = {}
    for prefix in (DECODERS[name][0] for name in _CLAMPED if name in decoders):
        units = extrapolating_units(rates, result, prefix=prefix)
        diagnostics[f"{prefix}r2_paper_clamped"] = units["r2_paper_clamped"]
        if not prefix:  # which units extrapolate depends on the rates alone, not on the decoder
            diagnostics["extrapolating"] = units["extrapolates"].assign_attrs(long_name=(
                f"active (rate > {units.attrs['threshold']:g}) on at most {units.attrs['max_train_active']} "
                f"training trials and on at least {units.attrs['min_test_fraction']:.0%} of the held-out trials"))
            diagnostics["n_extrapolating"] = units["n_extrapolating"]
    result.update(diagnostics)
    result.attrs["decoders"] = json.dumps(described)
    return result


def _merge(result: xr.Dataset, scored: xr.Dataset, name: str, variables: Sequence[str],
           described: dict[str, str], **extra: xr.DataArray) -> None:
    """Copy a decoder's ``variables`` into ``result`` under its prefix (then any ``extra``
    variables), and describe it."""
    prefix, description = DECODERS[name]
    # one update: each assignment of a variable aligns and merges the whole Dataset again
    result.update({**{f"{prefix}{variable}": scored[variable].reset_coords(drop=True) for variable in variables},
                   **extra})
    result[f"{prefix}r2_paper"].attrs["long_name"] = described[prefix] = description


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
