"""End-to-end comparison of a trained pulse network with LIP recordings, trial by trial.

For each recorded LIP session (Yates et al. 2017; units recorded together on the same
trials) the network is run on the *exact* pulse sequences of that session's trials, in
the recorded order (:func:`network_rates`), and each neuron's spike count is predicted
from the network's rates on the very same trials by the pure scoring of
:func:`neurodis.analysis.recording_predictivity` (cross-validated ridge R² per neuron,
with a shuffle null and an untrained-network null). The untrained null: ``n_untrained``
networks of the same architecture and size, with other seeds and no training,
replayed through the same encoder on the same trials. Beating them means the *trained*
dynamics explain LIP beyond what any random recurrent expansion of the stimulus does.

Which summary of the network rates: the data hold one count per trial and unit, counted (by the
source analysis, ``supplementary/temporal_integration_LIP.m`` of Hyafil et al. 2023)
in the 500 ms after stimulus offset. The default ``summary="window"`` therefore averages
each network unit over the ``window_ms`` after the last pulse ends — an average rate is
proportional to the spike count in the window. The replay keeps the fixation input on
and the stimulus off for that long (the task's ``delay`` is extended to ``window_ms``
when it is shorter; a network trained with that delay replays its training trials
exactly). ``summary="final"`` takes the state at the last step of the trial,
``summary="pulses"`` the mean state within each pulse (``n_pulses × n_units``
features). Rates are noise-free (input and recurrent noise set to zero, no stimulus
noise): the network's expected response to the stimulus, since its noise draws would be
unrelated to the monkey's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import (
    check_in,
    check_int,
    check_multiple,
    check_real,
    check_rng,
    check_type,
    describe,
    rng_provenance,
)
from neurodis._version import __version__
from neurodis.analysis.comparison import check_recording, comparison_summary, recording_predictivity
from neurodis.analysis.similarity.predictivity import DEFAULT_ALPHAS
from neurodis.experiments._replay import replay, replay_task, resolve_network, source_of
from neurodis.experiments.psychophysics import lip_kernels
from neurodis.training import TrainedNetwork
from neurodis.trials import TRIAL, UNIT, save_dataset

__all__ = ["RecordingComparison", "compare_session", "compare_with_recording", "network_rates", "untrained_copy"]

PULSE = "pulse"
SESSION = "session"
SUMMARIES = ("window", "final", "pulses")


@dataclass(frozen=True)
class RecordingComparison:
    """What :func:`compare_with_recording` returns.

    Attributes
    ----------
    sessions : dict of int to xarray.Dataset
        One result per session (see :func:`compare_session`).
    summary : xarray.Dataset
        Per-session scores and nulls along ``session``; attrs hold the medians and the
        numbers of sessions beating each null at ``alpha``.
    kernels : xarray.Dataset or None
        The monkeys' and the network's psychophysical kernels
        (:func:`~neurodis.experiments.lip_kernels`) when asked for.
    """

    sessions: dict[int, xr.Dataset]
    summary: xr.Dataset
    kernels: xr.Dataset | None = None

    def save(self, directory: str | os.PathLike) -> list[Path]:
        """Write ``summary.nc``, ``session_XX.nc`` and ``kernels.nc`` (netCDF) into ``directory``."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [save_dataset(self.summary, folder / "summary.nc")]
        paths += [save_dataset(ds, folder / f"session_{s:02d}.nc") for s, ds in self.sessions.items()]
        if self.kernels is not None:
            paths.append(save_dataset(self.kernels, folder / "kernels.nc"))
        return paths


def network_rates(
    network: Any, pulses: xr.DataArray, *, summary: str = "window", window_ms: float = 500.0, rng: Any = None,
) -> xr.DataArray:
    """Noise-free network rates on exactly the given pulse sequences, one row per trial.

    Parameters
    ----------
    network : path-like or TrainedNetwork
        A run folder or a trained network on a PulsesTask (wrap a bare model as
        ``TrainedNetwork(model, task, encoder)``).
    pulses : xarray.DataArray
        ``(trial, pulse)`` strengths, e.g. ``load_lip_session(i).pulses``.
    summary : {"window", "final", "pulses"}
        Mean over the ``window_ms`` after the last pulse, the last step, or the mean
        within each pulse (see the module docstring).
    window_ms : float
        Length of the post-stimulus window (> 0, a multiple of the task's ``dt``).
    rng : int, Generator, SeedSequence or None
        Tie-breaking coins of the replayed trials (they do not affect the rates).

    Returns
    -------
    xarray.DataArray
        ``(trial, unit)`` float64 with the ``trial`` coord of ``pulses`` and 1-D trial
        coords ``pulse_1`` … built from the replayed strengths, so aligning the rates
        with a recording checks that the very same stimuli are paired.

    Raises
    ------
    TypeError
        If ``network`` is not a run folder path or a TrainedNetwork, or its task is not
        a PulsesTask.
    ValueError
        If ``summary`` is unknown, ``window_ms`` is not a positive multiple of ``dt``, or
        the pulses do not match the task.

    Examples
    --------
    >>> import xarray as xr
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks.pulses import PulsesTask
    >>> from neurodis.training import TrainedNetwork
    >>> net = TrainedNetwork(CTRNN(2, 1, n_units=4, dt=50.0), PulsesTask(n_pulses=3), None)
    >>> pulses = xr.DataArray([[1, 2, 0], [-1, 0, 3]], dims=("trial", "pulse"))
    >>> x = network_rates(net, pulses)
    >>> x.dims, x.shape, [int(v) for v in x["pulse_3"]]
    (('trial', 'unit'), (2, 4), [0, 3])
    """
    check_in("summary", summary, SUMMARIES)
    window_ms = check_real("window_ms", window_ms, minimum=0.0, strict_minimum=True)
    net = resolve_network(network)
    check_type("pulses", pulses, xr.DataArray, "a DataArray with dims ('trial', 'pulse')")
    if set(pulses.dims) != {TRIAL, PULSE}:
        raise ValueError(f"pulses must have dims ('trial', 'pulse'); got {describe(pulses)}")
    n_window = check_multiple("window_ms", window_ms, net.task.dt)
    # the window opens at stimulus offset; a shorter trained delay is extended to cover it
    delay = max(net.task.delay, window_ms) if summary == "window" else None
    task = replay_task(net.task, delay=delay, noise=False)
    pulses_nxk = pulses.transpose(TRIAL, PULSE).values
    generator = check_rng(rng)
    rates_nxtxn = replay(net, task, pulses_nxk, noise=False, input_rng=generator, noise_rng=generator)["rates"].values
    coords: dict[str, Any] = {TRIAL: pulses[TRIAL].values}
    if summary == "window":
        # the delay starts where the last pulse ends, and the window with it
        start = task.decision_index - check_multiple("delay", task.delay, task.dt)
        values = rates_nxtxn[:, start:start + n_window].mean(axis=1)
    elif summary == "final":
        values = rates_nxtxn[:, -1]
    else:
        index_t = task.pulse_index()
        values = np.concatenate([rates_nxtxn[:, index_t == k].mean(axis=1) for k in range(task.n_pulses)], axis=1)
        n_units = rates_nxtxn.shape[2]
        coords["pulse_epoch"] = (UNIT, np.repeat(np.arange(1, task.n_pulses + 1), n_units))
        coords["model_unit"] = (UNIT, np.tile(np.arange(n_units), task.n_pulses))
    coords.update({f"pulse_{k + 1}": (TRIAL, pulses_nxk[:, k]) for k in range(pulses_nxk.shape[1])})
    return xr.DataArray(values, dims=(TRIAL, UNIT), coords=coords, name="rates",
                        attrs={"summary": summary, "window_ms": window_ms if summary == "window" else 0.0,
                               "network": source_of(net)})


def untrained_copy(model: Any, seed: int) -> Any:
    """A fresh, untrained model of the same architecture and size with another ``seed``.

    Raises
    ------
    TypeError
        If ``model`` is not a neurodis model or ``seed`` not an int.
    ValueError
        If ``seed`` < 0.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> twin = untrained_copy(CTRNN(2, 1, n_units=4, seed=0), seed=7)
    >>> twin.config["seed"], twin.n_units
    (7, 4)
    """
    from neurodis.models import SequenceModel, make_model

    check_type("model", model, SequenceModel, "a neurodis model (with arch and config)")
    check_int("seed", seed, minimum=0)
    return make_model(model.arch, **{**model.config, "seed": seed})


def _compare_one(net: TrainedNetwork, twins: Sequence[Any], recording: xr.Dataset, generator: np.random.Generator,
                 settings: dict[str, Any]) -> xr.Dataset:
    """One session: trained rates vs counts, with the shuffle and untrained-network nulls."""
    recording = check_recording(recording)
    pulses = recording["pulses"]
    replay_rng, seed_rng = generator.spawn(2)
    seed = int(seed_rng.integers(2**63))
    options = {"summary": settings["summary"], "window_ms": settings["window_ms"]}
    x = network_rates(net, pulses, rng=replay_rng, **options)
    # each twin is replayed through the trained network's task and encoder
    nulls = [network_rates(TrainedNetwork(t, net.task, net.encoder), pulses, rng=replay_rng, **options)
             for t in twins]
    ds = recording_predictivity(x, recording, nulls=nulls, rng=seed,
                                **{k: settings[k] for k in ("n_folds", "n_shuffles", "alphas")})
    # the settings as asked for (window_ms even when the rates ignore it)
    ds.attrs.update(network=source_of(net), **options)
    if nulls:
        ds = ds.assign_coords(untrained_seed=("untrained", [t.config["seed"] for t in twins]))
    return ds


def compare_session(
    network: Any, recording: xr.Dataset, *, summary: str = "window", window_ms: float = 500.0, n_folds: int = 5,
    n_shuffles: int = 100, n_untrained: int = 20, alphas: Sequence[float] = DEFAULT_ALPHAS, rng: Any = None,
) -> xr.Dataset:
    """Predict one session's spike counts from the network's rates on the same trials.

    Parameters
    ----------
    network : path-like or TrainedNetwork
        As in :func:`network_rates`.
    recording : xarray.Dataset
        ``counts (trial, unit)`` and ``pulses (trial, pulse)``, e.g. from
        :func:`neurodis.recordings.load_lip_session`; trial ``i`` of the counts is paired
        with the network's rates on ``pulses[i]``.
    summary, window_ms : optional
        Which summary of the network rates (see :func:`network_rates`).
    n_folds : int
        Cross-validation folds over trials.
    n_shuffles : int
        Trial shuffles of the recording in the shuffle null.
    n_untrained : int
        Untrained networks of the same architecture and size in the untrained null
        (0 skips it; 20 or more are needed for a p-value below 0.05).
    alphas : sequence of float
        Ridge penalties (chosen per neuron inside each training fold).
    rng : int, Generator, SeedSequence or None
        The one source of randomness (folds, shuffles, untrained seeds).

    Returns
    -------
    xarray.Dataset
        ``r2 (unit)`` per recorded neuron, ``score`` (mean over neurons),
        ``null_shuffle (shuffle_draw)``, ``p_shuffle``, ``null_untrained (untrained)``
        with coord ``untrained_seed``, ``p_untrained``; attrs ``session``, ``monkey``,
        ``n_trials``, sizes, rates, ridge parameters and provenance.

    Raises
    ------
    TypeError, ValueError
        If ``network`` is not a run folder path or a TrainedNetwork on a PulsesTask, the
        recording lacks ``counts``/``pulses`` with the right dims, the pulses do not fit
        the task, or an argument is out of range.
    """
    _check_settings(summary, window_ms, n_folds, n_shuffles, n_untrained)
    check_recording(recording)
    results = compare_with_recording(
        network, recording, summary=summary, window_ms=window_ms, n_folds=n_folds,
        n_shuffles=n_shuffles, n_untrained=n_untrained, alphas=alphas, rng=rng)
    return next(iter(results.sessions.values()))


def _check_settings(summary: str, window_ms: float, n_folds: int, n_shuffles: int, n_untrained: int,
                    sessions: Sequence[int] | None = None) -> None:
    """Refuse bad settings before any network is loaded or simulated."""
    check_in("summary", summary, SUMMARIES)
    check_real("window_ms", window_ms, minimum=0.0, strict_minimum=True)
    check_int("n_folds", n_folds, minimum=2)
    check_int("n_shuffles", n_shuffles, minimum=1)
    check_int("n_untrained", n_untrained, minimum=0)
    if sessions is not None:
        check_type("sessions", sessions, (list, tuple, range, np.ndarray), "a sequence of session indices or None")
        for k, session in enumerate(sessions):
            check_int(f"sessions[{k}]", session, minimum=0)


def _data_folder(recording: Any) -> Path | None:
    """The LIP data folder a path names (``LIP.csv`` itself names its folder), or None."""
    if not isinstance(recording, (str, os.PathLike)):
        return None
    path = Path(recording)
    return path.parent if path.is_file() else path


def _recordings(recording: Any, sessions: Sequence[int] | None) -> dict[int, Any]:
    """Session index -> Dataset or a loader of it, from a path, an int or a Dataset."""
    from neurodis.recordings import lip_sessions, load_lip_session

    if isinstance(recording, xr.Dataset):
        if sessions is not None:
            raise ValueError(f"sessions must be None when recording is a Dataset; got {sessions!r}")
        return {int(recording.attrs.get(SESSION, 0)): recording}
    if isinstance(recording, (int, np.integer)) and not isinstance(recording, bool):
        recording, sessions = None, [int(recording)]
    if recording is not None and not isinstance(recording, (str, os.PathLike)):
        raise TypeError(
            f"recording must be a data folder path, a session index or a Dataset; got {describe(recording)}")
    path = _data_folder(recording)
    if sessions is None:
        sessions = [int(s) for s in lip_sessions(path=path)[SESSION].values]
    return {int(s): (lambda s=s: load_lip_session(s, path=path)) for s in sessions}


def compare_with_recording(
    network: Any,
    recording: Any = None,
    *,
    sessions: Sequence[int] | None = None,
    summary: str = "window",
    window_ms: float = 500.0,
    n_folds: int = 5,
    n_shuffles: int = 100,
    n_untrained: int = 20,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    alpha: float = 0.05,
    rng: Any = 0,
    kernels: bool = False,
    progress: bool = False,
) -> RecordingComparison:
    """Compare a trained pulse network with LIP recordings, session by session.

    Each session's trials are replayed through the network in the recorded order and
    every neuron's spike count is predicted from the network's rates on the same
    trials (see the module docstring and :func:`compare_session`).

    Parameters
    ----------
    network : path-like or TrainedNetwork
        A run folder written by :func:`neurodis.training.train` or a trained network on a
        PulsesTask (wrap a bare model as ``TrainedNetwork(model, task, encoder)``).
    recording : path-like, int, xarray.Dataset or None
        The LIP data folder (or ``LIP.csv``; default: :func:`neurodis.recordings.data_dir`),
        a session index, or one recording Dataset (``counts``, ``pulses``).
    sessions : sequence of int, optional
        Sessions to compare (default all; only with a folder).
    summary, window_ms, n_folds, n_shuffles, n_untrained, alphas
        As in :func:`compare_session`.
    alpha : float
        Significance level for the counts in the summary.
    rng : int, Generator, SeedSequence or None
        The one source of randomness (default 0, so repeated calls agree); sessions get
        independent child streams.
    kernels : bool
        Also compute the monkeys' and the network's psychophysical kernels
        (:func:`~neurodis.experiments.lip_kernels`, from the behavioural data in the
        same folder), before the sessions. They draw from ``rng`` as given: an int
        seeds both the kernels and the sessions; a Generator is drawn from by the
        kernels first.
    progress : bool
        Print one line per session.

    Returns
    -------
    RecordingComparison
        ``sessions`` (one Dataset each) and ``summary`` (along ``session``: ``score``,
        ``p_shuffle``, ``shuffle_median``, ``shuffle_q95``, ``p_untrained``,
        ``untrained_median``, ``untrained_q95`` (medians, as an untrained network can
        give a wildly negative R²), ``n_units``, ``n_trials``, ``monkey``;
        attrs ``median_score``, ``median_unit_r2``, ``median_shuffle``,
        ``median_untrained``, ``n_beat_shuffle``, ``n_beat_untrained``, ``alpha``,
        ``untrained_seeds`` and provenance) and, with ``kernels=True``, ``kernels``.

    Raises
    ------
    TypeError
        If ``network`` or ``recording`` is of an unsupported kind, or the network's task
        is not a PulsesTask.
    ValueError
        If ``sessions`` or ``kernels=True`` is given with a Dataset, a session is out of
        range, the recording lacks ``counts``/``pulses``, or an argument is out of range.
    FileNotFoundError
        If the data folder or a run folder is missing.
    """
    _check_settings(summary, window_ms, n_folds, n_shuffles, n_untrained, sessions)
    check_type("kernels", kernels, bool, "a bool")
    if kernels and isinstance(recording, xr.Dataset):
        raise ValueError("kernels=True needs the LIP data folder (for the behavioural choices); got a recording "
                         "Dataset")
    net = resolve_network(network)
    n_untrained = check_int("n_untrained", n_untrained, minimum=0)
    alpha = check_real("alpha", alpha, minimum=0.0, maximum=1.0, strict_minimum=True)
    generator = check_rng(rng)
    sources = _recordings(recording, sessions)
    # the kernels take seconds and the sessions minutes: a kernel that cannot be fitted
    # (separable choices) fails before the sessions are run, not after
    table = lip_kernels(net, path=_data_folder(recording), rng=rng) if kernels else None
    provenance = rng_provenance(rng, generator)
    seeds = generator.spawn(1)[0].choice(2**31, size=n_untrained + 1, replace=False).tolist()
    seeds = [s for s in seeds if s != net.model.config.get("seed")][:n_untrained]
    twins = [untrained_copy(net.model, s) for s in seeds]
    settings = {"summary": summary, "window_ms": window_ms, "n_folds": n_folds, "n_shuffles": n_shuffles,
                "alphas": alphas}
    results: dict[int, xr.Dataset] = {}
    for (index, source), child in zip(sources.items(), generator.spawn(len(sources))):
        ds = _compare_one(net, twins, source if isinstance(source, xr.Dataset) else source(), child, settings)
        results[index] = ds.assign_attrs(session=index)
        if progress:
            line = f"session {index:2d}: R² {float(ds['score']):.3f} (p_shuffle {float(ds['p_shuffle']):.3f}"
            print(line + (f", p_untrained {float(ds['p_untrained']):.3f})" if "p_untrained" in ds else ")"),
                  flush=True)
    bank = net.task.pulse_sequences
    # the replayed task without its (possibly large) training bank, whose size is noted instead
    attrs = {"network": source_of(net), "task_config": json.dumps(replay_task(net.task).config(), sort_keys=True),
             "training_bank_size": 0 if bank is None else len(bank),
             "model_config": json.dumps(net.model.config, sort_keys=True), "untrained_seeds": json.dumps(seeds),
             "summary": summary, "window_ms": float(window_ms), **provenance, "neurodis_version": __version__}
    return RecordingComparison(results, comparison_summary(results, alpha=alpha).assign_attrs(attrs), table)
