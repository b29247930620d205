"""The study jobs of ``reproduce``: decoding against trial duration, and attractor geometry.

Both train their group of networks exactly like the generalization job
(:func:`~neurodis.sweeps.jobs.run_group`) and differ only in what they measure.

Free reaction time (:func:`train_and_time`, :func:`measure_free_rt`). A duration ``T``
follows the free-RT convention of SCIENCE.md §7: ``T`` stimulus steps and a decision
step with the stimulus still on, so the state read at duration ``T`` has integrated
``T + 1`` evidence samples. The paper's ceiling for it is ``r2_ceiling(σ, T,
free_rt=True) = 1 - σ²/((T + 1) Var x)``, the r² of the running mean; the true ceiling,
the posterior mean's r² on the latent box (:func:`~neurodis.analysis.bayes_r2_ceiling`),
is higher at short durations (0.9195 against 0.904 for T = 4, σ = 0.2), so networks may
sit above the paper's value there. A bounded-accumulator network (no fixation channel,
no go cue) is read after ``T + 1`` steps of its own task; any other network is run on
the free-RT regression task (evidence on from the first stimulus step to the end) and
read ``T`` steps after its first stimulus step, which for the paper's ``T = 20`` is its
decision step. One simulation serves every duration; out-of-distribution decoders
(ridge with the penalty chosen on the training quadrants, the primary estimator; least
squares; the authors' early-stopped Adam fit) are fit per duration. Every network is
evaluated ``n_repeats`` times, each with its own trials, noise and decoder fits (a
``repeat`` dim), and beside it two controls on the same trials with the same decoders
(:func:`measure_free_rt_controls`): the untrained network, and the evidence (encoder
output) averaged over the ``T + 1`` steps a network has integrated at duration ``T``.

Attractor geometry (:func:`train_and_find_attractors`, :func:`measure_attractor`).
Fixed and slow points under the zero-evidence input, started from noise-free visited
states; the 2-D attractor signature of SCIENCE.md §6 is a point with at least two
eigenvalues μ of the one-step map within
:data:`~neurodis.analysis.spectra.SLOW_MODE_TOL` of 1 (two eigenvalues of the
difference map near 0; see :func:`~neurodis.analysis.slow_mode_counts`). With them: the
amplification of the leading modes, the PCA spectrum and participation ratio of the
noise-free trajectories, the lifetime sparseness of the rates at the last step and the
fraction of active units. The measurements are those of the ``fixed-points`` and
``geometry`` verbs (:mod:`neurodis.experiments.dynamics`); this job summarises them per
network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int, check_rng
from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.jobs import EVAL_REPEATS, run_group
from neurodis.sweeps.runner import Report

if TYPE_CHECKING:
    from neurodis.training import TrainedNetwork
from neurodis.trials import INPUT, LATENT, TIME, TRIAL, UNIT

__all__ = [
    "DURATIONS",
    "FREE_RT_CONTROLS",
    "FREE_RT_DECODERS",
    "N_INITS",
    "measure_attractor",
    "measure_free_rt",
    "measure_free_rt_controls",
    "train_and_find_attractors",
    "train_and_time",
]

#: Trial durations T (stimulus steps before the decision step) of the free-RT job; the
#: states read have integrated T + 1 samples, 5 to 20: all within the paper's trial.
DURATIONS = (4, 9, 14, 19)
#: The decoders of the free-RT job: variable prefix -> (``method`` of
#: :func:`~neurodis.analysis.fit_ood_decoders`, the variables kept). Least squares keeps
#: the unprefixed names; ridge (penalty chosen by leaving one training quadrant out) is
#: the primary estimator; Adam is the authors' decoder fit.
FREE_RT_DECODERS = {
    "": ("lstsq", ("r2_paper", "r2", "angle", "id_r2_paper", "id_r2")),
    "ridge_": ("ridge_cv", ("r2_paper", "id_r2_paper", "alpha")),
    "adam_": ("adam", ("r2_paper", "id_r2_paper")),
}
#: The controls of every free-RT number: variable prefix -> what it measures.
FREE_RT_CONTROLS = {
    "untrained_": "the untrained network: the run's architecture with its initial weights (the run's seed), "
                  "the same encoder, trials, network noise, decoders and evaluations",
    "encoder_": "no recurrence: the encoder output (the raw stimulus without an encoder) averaged over the "
                "T + 1 stimulus steps read at duration T, the same trials, decoders and evaluations",
}
#: The evaluations' randomness, as recorded in the results.
_STREAMS = ("repeat r: children 2r (trials, then network noise) and 2r+1 (decoder fits) of "
            "SeedSequence(seed).spawn(2 * n_repeats)")
#: Dim of the independent evaluations: :data:`neurodis.experiments.REPEAT`, not imported
#: here because that package loads torch.
_REPEAT = "repeat"
#: Starting points of the fixed-point search of the attractor job.
N_INITS = 128
#: Leading modes (largest |μ|) whose amplification the attractor job summarises.
LEADING_MODES = 3
_QUARTILES = (0.25, 0.5, 0.75)


def _check_durations(durations: Sequence[int]) -> list[int]:
    durations = [check_int(f"durations[{i}]", t, minimum=1) for i, t in enumerate(durations)]
    if not durations or len(set(durations)) != len(durations):
        raise ValueError(f"durations must be distinct stimulus step counts, at least one; got {durations}")
    return sorted(durations)


def _evidence_trials(task: Any, encoder: Any, n_samples: int, n_trials: int, rng: np.random.Generator):
    """Trials with evidence on for at least ``n_samples`` steps from the first stimulus step.

    Returns the trials (encoded) and the index of their first stimulus step.
    """
    from neurodis.tasks import make_task

    dt = task.timing.dt
    if task.name == "accumulation":
        timing = replace(task.timing, stimulus=max(task.timing.stimulus, n_samples * dt))
        evidence = replace(task, timing=timing)
    else:  # free-RT regression: the stimulus stays on through the decision step
        timing = replace(task.timing, stimulus=max(task.timing.stimulus, (n_samples - 1) * dt))
        evidence = make_task("regression", n_dims=task.n_dims, sigma=task.sigma, noise=task.noise,
                             noise_params=task.noise_params, free_rt=True, timing=timing)
    return evidence.sample(n_trials, rng=rng, encoder=encoder), timing.period_slice("stimulus").start


#: What a free-RT measurement features (``(trial, time, unit)`` at the durations) from
#: encoded trials, the index of their first stimulus step and the network-noise stream.
_Features = Callable[[xr.Dataset, int, np.random.Generator], xr.DataArray]


def _network_rates(network: TrainedNetwork, durations: list[int]) -> _Features:
    """The network's rates read ``T`` steps after the first stimulus step, for every duration T."""
    from neurodis.experiments import run

    def features(trials: xr.Dataset, first: int, noise_rng: np.random.Generator) -> xr.DataArray:
        rates = run(network, trials, rng=noise_rng, backend="simulator")["rates"]
        return xr.DataArray(rates.values[:, [first + t for t in durations]], dims=(TRIAL, TIME, UNIT),
                            coords={TIME: durations})

    return features


def _averaged_evidence(durations: list[int]) -> _Features:
    """The evidence channels averaged over stimulus steps ``first .. first + T`` (the ``T + 1``
    samples a network read at duration T has integrated), for every duration T."""

    from neurodis.experiments.ood import evidence_channels

    def features(trials: xr.Dataset, first: int, noise_rng: np.random.Generator) -> xr.DataArray:
        channels = evidence_channels(trials)  # the channels of encoder_generalization
        evidence = trials["inputs"].sel({INPUT: channels}).values[:, first:first + durations[-1] + 1]
        running_mean = np.cumsum(evidence, axis=1) / np.arange(1, evidence.shape[1] + 1)[:, None]
        return xr.DataArray(running_mean[:, durations], dims=(TRIAL, TIME, UNIT), coords={TIME: durations})

    return features


def _evaluations(features: _Features, task: Any, encoder: Any, *, n_trials: int, seed: int, durations: list[int],
                 n_repeats: int) -> xr.Dataset:
    """``n_repeats`` evaluations of ``features`` by every decoder of :data:`FREE_RT_DECODERS`,
    along ``repeat`` (the streams of :func:`measure_free_rt`)."""
    from neurodis.analysis import fit_ood_decoders
    from neurodis.experiments.ood import evaluation_streams

    evaluations = []
    for simulation, fits in evaluation_streams(seed, None, n_repeats):
        trial_rng, noise_rng = check_rng(simulation).spawn(2)
        trials, first = _evidence_trials(task, encoder, durations[-1] + 1, n_trials, trial_rng)
        latents = xr.DataArray(trials["latents"].values, dims=(TRIAL, LATENT),
                               coords={LATENT: trials[LATENT].values})
        featured = features(trials, first, noise_rng)
        # every decoder gets the same SeedSequence, so each starts from the same random state
        scored = {prefix: fit_ood_decoders(featured, latents, method=method, rng=fits)
                  for prefix, (method, _) in FREE_RT_DECODERS.items()}
        evaluations.append(xr.Dataset({prefix + name: scored[prefix][name].reset_coords(drop=True)
                                       for prefix, (_, kept) in FREE_RT_DECODERS.items() for name in kept}))
    result = xr.concat(evaluations, dim=_REPEAT).assign_coords({_REPEAT: np.arange(n_repeats)})
    result = result.rename({TIME: "duration"}).assign_coords(n_samples=("duration", [t + 1 for t in durations]))
    result["duration"].attrs["long_name"] = "stimulus steps T before the decision step (T + 1 samples)"
    result.attrs = {"read_from_step": first}
    return result


def _check_evaluation(durations: Sequence[int], n_trials: Any, seed: Any, n_repeats: Any) -> list[int]:
    """The checked, sorted durations (``n_trials``, ``seed`` and ``n_repeats`` checked too)."""
    durations = _check_durations(durations)
    check_int("n_trials", n_trials, minimum=1)
    check_int("seed", seed, minimum=0)
    check_int("n_repeats", n_repeats, minimum=1)
    return durations


def measure_free_rt(
    network: TrainedNetwork, *, n_trials: int, seed: int, durations: Sequence[int] = DURATIONS,
    n_repeats: int = EVAL_REPEATS,
) -> xr.Dataset:
    """OOD decoder generalization of a CTRNN at several trial durations (free reaction time).

    Parameters
    ----------
    network : TrainedNetwork
        A CTRNN with its trained task: ``"accumulation"`` (read on its own trials) or one
        with a fixation channel such as ``"classification"`` (read on free-RT regression
        trials), and its frozen encoder.
    n_trials : int
        Trials of each evaluation's simulation, uniform over the latent box.
    seed : int
        Seeds every evaluation: repeat ``r`` draws from children ``2r`` (split in two:
        the trials, then the network noise) and ``2r + 1`` (the decoder fits, the same
        stream for every decoder) of ``SeedSequence(seed).spawn(2 * n_repeats)``, so the
        first evaluations do not depend on ``n_repeats``.
    durations : sequence of int
        Durations T (stimulus steps before the decision step, see the module docstring).
    n_repeats : int
        Independent evaluations, each with its own trials, network noise and decoder fits.

    Returns
    -------
    xarray.Dataset
        Along ``repeat``, ``fold`` and ``duration`` (coord ``n_samples`` = T + 1): least
        squares ``r2_paper``, ``r2``, ``angle``; ridge with the penalty chosen on the
        training quadrants ``ridge_r2_paper``, ``ridge_alpha``; the authors' Adam decoder
        ``adam_r2_paper``; along ``repeat`` and ``duration`` the in-distribution
        references ``id_r2_paper``, ``id_r2``, ``ridge_id_r2_paper``,
        ``adam_id_r2_paper``; per duration ``ceiling``; attrs ``sigma``, ``free_rt``
        (1), ``eval_trials``, ``n_repeats``, ``seed``, ``streams``, ``trained_task``,
        ``read_from_step``, ``decoders``.

    Raises
    ------
    ValueError
        If ``durations`` is empty, repeats a value or holds a value below 1, or
        ``n_trials``, ``n_repeats`` is below 1 or ``seed`` below 0.
    TypeError
        If ``n_trials``, ``seed`` or ``n_repeats`` is not an int.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> from neurodis.training import TrainedNetwork
    >>> task = make_task("accumulation", n_tasks=3)
    >>> net = TrainedNetwork(CTRNN(2, 3, n_units=8, readout="tanh"), task, None)
    >>> result = measure_free_rt(net, n_trials=200, seed=0, durations=(4, 19), n_repeats=2)
    >>> result["ridge_r2_paper"].dims, result["n_samples"].values.tolist()
    (('repeat', 'fold', 'duration'), [5, 20])
    """
    from neurodis.analysis import r2_ceiling

    durations = _check_evaluation(durations, n_trials, seed, n_repeats)
    task = network.task
    result = _evaluations(_network_rates(network, durations), task, network.encoder, n_trials=n_trials, seed=seed,
                          durations=durations, n_repeats=n_repeats)
    result["ceiling"] = ("duration", [r2_ceiling(task.sigma, t, free_rt=True) for t in durations])
    result["ceiling"].attrs["long_name"] = "1 - sigma^2 / ((T + 1) Var x): the ideal observer's r2_paper"
    result.attrs.update(sigma=task.sigma, free_rt=1, eval_trials=n_trials, n_repeats=n_repeats, seed=seed,
                        streams=_STREAMS, trained_task=task.name,
                        decoders=json.dumps({prefix: method for prefix, (method, _) in FREE_RT_DECODERS.items()}))
    return result


def measure_free_rt_controls(
    network: TrainedNetwork, untrained: Any, *, n_trials: int, seed: int, durations: Sequence[int] = DURATIONS,
    n_repeats: int = EVAL_REPEATS,
) -> xr.Dataset:
    """The two controls of a network's free-RT numbers, on its trials with its decoder fits.

    ``untrained_*``: :func:`measure_free_rt` of ``untrained`` (the network's
    architecture with its initial weights) behind the network's task and encoder;
    ``encoder_*``: the same decoders of the evidence channels (the encoder's output, or
    the raw stimulus without an encoder; not the fixation input) averaged, at duration
    T, over the T + 1 stimulus steps a network's state has integrated there. Both draw
    from the streams of :func:`measure_free_rt` with the same ``seed``: every evaluation
    scores the trials, network noise and decoder randomness of the trained network's,
    so the numbers compare evaluation by evaluation. Each control keeps every decoder
    variable of :func:`measure_free_rt` under its prefix (``untrained_ridge_r2_paper``,
    ``encoder_adam_id_r2_paper``, ...).

    Parameters
    ----------
    network : TrainedNetwork
        The trained network (its task and encoder).
    untrained : torch.nn.Module
        The same architecture with the weights training started from (in a sweep,
        ``RunConfig.build_network(task, encoder)``).
    n_trials, seed, durations, n_repeats
        As in :func:`measure_free_rt`.

    Returns
    -------
    xarray.Dataset
        The ``untrained_*`` and ``encoder_*`` variables with the dims of
        :func:`measure_free_rt`'s.

    Raises
    ------
    ValueError, TypeError
        As :func:`measure_free_rt`.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> from neurodis.training import TrainedNetwork
    >>> task = make_task("accumulation", n_tasks=3)
    >>> net = TrainedNetwork(CTRNN(2, 3, n_units=8, readout="tanh"), task, None)
    >>> controls = measure_free_rt_controls(net, CTRNN(2, 3, n_units=8, readout="tanh", seed=1), n_trials=200,
    ...                                     seed=0, durations=(4, 19), n_repeats=2)
    >>> controls["encoder_ridge_r2_paper"].dims
    ('repeat', 'fold', 'duration')
    """
    from neurodis.training import TrainedNetwork

    durations = _check_evaluation(durations, n_trials, seed, n_repeats)
    protocol = {"n_trials": n_trials, "seed": seed, "durations": durations, "n_repeats": n_repeats}
    task, encoder = network.task, network.encoder
    controls = {
        "untrained_": _network_rates(TrainedNetwork(untrained, task, encoder), durations),
        "encoder_": _averaged_evidence(durations),
    }
    result = xr.Dataset()
    for prefix, features in controls.items():
        measured = _evaluations(features, task, encoder, **protocol)
        for name, values in measured.data_vars.items():
            result[prefix + name] = values.assign_attrs(long_name=f"{name} of the control: {FREE_RT_CONTROLS[prefix]}")
    return result


def train_and_time(configs: list[dict[str, Any]], run_dirs: list[str], report: Report, *,
                   eval_repeats: int = EVAL_REPEATS, device: str = "cpu") -> list[xr.Dataset]:
    """Train one group of networks and measure each with :func:`measure_free_rt` (a job).

    :func:`~neurodis.sweeps.jobs.run_group` (training on ``device``) with
    ``eval_repeats`` evaluations of ``eval_trials`` trials at :data:`DURATIONS`, and
    beside them :func:`measure_free_rt_controls` (the untrained network rebuilt from
    the run config, and the time-averaged encoder output).
    """
    return run_group(configs, run_dirs, report, partial(_free_rt, eval_repeats=eval_repeats), device=device)


def _free_rt(network: TrainedNetwork, config: RunConfig, *, eval_repeats: int) -> xr.Dataset:
    protocol = {"n_trials": config.eval_trials, "seed": config.seed, "durations": DURATIONS,
                "n_repeats": eval_repeats}
    result = measure_free_rt(network, **protocol)
    untrained = config.build_network(network.task, network.encoder)  # the weights training started from
    result.update(measure_free_rt_controls(network, untrained, **protocol))
    result.attrs["controls"] = json.dumps(FREE_RT_CONTROLS)
    return result


def measure_attractor(network: TrainedNetwork, *, n_trials: int, seed: int, n_inits: int = N_INITS) -> xr.Dataset:
    """Fixed points under the zero-evidence input, their spectra, and the trajectories' geometry.

    A summary of :func:`~neurodis.experiments.attractor` and
    :func:`~neurodis.experiments.geometry` of the network's
    :func:`~neurodis.experiments.visited_states` on ``n_trials`` trials.

    Parameters
    ----------
    network : TrainedNetwork
        A CTRNN with its trained task (trials, and the zero-evidence input) and encoder.
    n_trials : int
        Noise-free trials simulated: the visited states (starting points of the search,
        PCA, sparseness).
    seed : int
        Seeds the trials and the search (two streams spawned from it).
    n_inits : int
        Starting points of the fixed-point search.

    Returns
    -------
    xarray.Dataset
        Per network: ``n_points``, ``n_exact``, ``n_slow`` (points that are slow, not
        exact), ``n_two_slow_modes`` (points with at least two modes of |μ - 1| <
        :data:`~neurodis.analysis.spectra.SLOW_MODE_TOL`),
        ``amplification_quartiles (leading_mode, quartile)`` over the points, ``pc12``
        (variance explained by PC1-2), ``participation_ratio``, ``sparseness_median``
        (lifetime sparseness over trials at the last step, median over non-silent
        units), ``fraction_active``; per point ``q``, ``slow_modes``,
        ``eigenvalues_real``/``eigenvalues_imag``/``amplification`` (fixed_point, mode),
        with ``fixed_point`` padded by NaN rows to ``n_inits`` (points sorted by q
        first); ``explained_variance_ratio (component)``.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> task = make_task("classification", n_tasks=2)
    >>> from neurodis.training import TrainedNetwork
    >>> result = measure_attractor(TrainedNetwork(CTRNN(3, 2, n_units=6), task, None), n_trials=16, seed=0,
    ...                            n_inits=4)
    >>> result.sizes["fixed_point"], int(result["q"].notnull().sum()) == int(result["n_points"])
    (4, True)
    """
    from neurodis.analysis import slow_mode_counts
    from neurodis.experiments.dynamics import attractor, geometry, visited_states

    trial_rng, point_rng = check_rng(seed).spawn(2)
    rates = visited_states(network, network.task.sample(n_trials, rng=trial_rng, encoder=network.encoder))
    found = attractor(network, rates, n_inits=n_inits, eigenvectors=False, rng=point_rng)
    shape = geometry(rates)
    slow_modes = slow_mode_counts(found)
    leading = found["amplification"].isel(mode=slice(0, LEADING_MODES)).values
    quartiles = (np.quantile(leading, _QUARTILES, axis=0).T if leading.shape[0]
                 else np.full((leading.shape[1], len(_QUARTILES)), np.nan))
    sparseness = shape["sparseness"].values
    spectra = found[["q", "eigenvalues_real", "eigenvalues_imag", "amplification"]].reset_coords(drop=True)
    result = spectra.assign(
        slow_modes=slow_modes.astype(float),  # float: padded with NaN where runs found fewer points
        n_points=found.sizes["fixed_point"], n_exact=found.attrs["n_exact"], n_slow=found.attrs["n_slow"],
        n_two_slow_modes=int((slow_modes >= 2).sum()),
        amplification_quartiles=(("leading_mode", "quartile"), quartiles),
        explained_variance_ratio=shape["explained_variance_ratio"],
        pc12=float(shape["explained_variance_ratio"][:2].sum()),
        participation_ratio=shape["participation_ratio"],
        sparseness_median=float(np.nanmedian(sparseness)) if np.isfinite(sparseness).any() else np.nan,
        fraction_active=shape["fraction_active"],
    )
    result = result.assign_coords(fixed_point=np.arange(found.sizes["fixed_point"]),
                                  mode=np.arange(found.sizes["mode"]),
                                  leading_mode=np.arange(1, leading.shape[1] + 1), quartile=list(_QUARTILES))
    # NaN rows up to n_inits (the most points a search can return): every run has the
    # same fixed_point dim, so the runs of a sweep concatenate without alignment
    result = result.reindex(fixed_point=np.arange(n_inits))
    result.attrs.update(alpha=found.attrs["alpha"], slow_mode_tol=slow_modes.attrs["tol"], n_inits=n_inits,
                        eval_trials=n_trials, sparseness_time="last step")
    return result


def train_and_find_attractors(configs: list[dict[str, Any]], run_dirs: list[str], report: Report, *,
                              device: str = "cpu") -> list[xr.Dataset]:
    """Train one group of networks and measure each with :func:`measure_attractor` (a job).

    :func:`~neurodis.sweeps.jobs.run_group` (training on ``device``) with
    ``eval_trials`` trials and :data:`N_INITS` starting points.
    """
    return run_group(configs, run_dirs, report, _attractor, device=device)


def _attractor(network: TrainedNetwork, config: RunConfig) -> xr.Dataset:
    return measure_attractor(network, n_trials=config.eval_trials, seed=config.seed, n_inits=N_INITS)
