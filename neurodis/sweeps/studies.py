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
(least squares and ridge with the penalty chosen on the training quadrants) are fit per
duration.

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

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int, check_rng
from neurodis.sweeps.config import RunConfig
from neurodis.sweeps.jobs import run_group
from neurodis.sweeps.runner import Report

if TYPE_CHECKING:
    from neurodis.training import TrainedNetwork
from neurodis.trials import LATENT, TIME, TRIAL, UNIT

__all__ = [
    "DURATIONS",
    "N_INITS",
    "measure_attractor",
    "measure_free_rt",
    "train_and_find_attractors",
    "train_and_time",
]

#: Trial durations T (stimulus steps before the decision step) of the free-RT job; the
#: states read have integrated T + 1 samples, 5 to 20: all within the paper's trial.
DURATIONS = (4, 9, 14, 19)
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


def measure_free_rt(
    network: TrainedNetwork, *, n_trials: int, seed: int, durations: Sequence[int] = DURATIONS
) -> xr.Dataset:
    """OOD decoder generalization of a CTRNN at several trial durations (free reaction time).

    Parameters
    ----------
    network : TrainedNetwork
        A CTRNN with its trained task: ``"accumulation"`` (read on its own trials) or one
        with a fixation channel such as ``"classification"`` (read on free-RT regression
        trials), and its frozen encoder.
    n_trials : int
        Trials of the single simulation, uniform over the latent box.
    seed : int
        Seeds the trials, the network noise and the decoder fits.
    durations : sequence of int
        Durations T (stimulus steps before the decision step, see the module docstring).

    Returns
    -------
    xarray.Dataset
        Along ``duration`` (coord ``n_samples`` = T + 1) and ``fold``: ``r2_paper``,
        ``r2``, ``angle`` (least squares), ``ridge_r2_paper``, ``ridge_alpha``; per
        duration ``id_r2_paper``, ``id_r2``, ``ridge_id_r2_paper`` and ``ceiling``; attrs
        ``sigma``, ``free_rt`` (1), ``eval_trials``.

    Raises
    ------
    ValueError
        If ``durations`` is empty, repeats a value or holds a value below 1.

    Examples
    --------
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> from neurodis.training import TrainedNetwork
    >>> task = make_task("accumulation", n_tasks=3)
    >>> net = TrainedNetwork(CTRNN(2, 3, n_units=8, readout="tanh"), task, None)
    >>> result = measure_free_rt(net, n_trials=200, seed=0, durations=(4, 19))
    >>> result["r2_paper"].dims, result["n_samples"].values.tolist()
    (('fold', 'duration'), [5, 20])
    """
    from neurodis.analysis import fit_ood_decoders, r2_ceiling
    from neurodis.experiments import run

    durations = _check_durations(durations)
    task = network.task
    trial_rng, noise_rng = check_rng(seed).spawn(2)
    trials, first = _evidence_trials(task, network.encoder, durations[-1] + 1, n_trials, trial_rng)
    rates = run(network, trials, rng=noise_rng, backend="simulator")["rates"]
    sampled = xr.DataArray(rates.values[:, [first + t for t in durations]], dims=(TRIAL, TIME, UNIT),
                          coords={TIME: durations})
    latents = xr.DataArray(trials["latents"].values, dims=(TRIAL, LATENT), coords={LATENT: trials[LATENT].values})
    fits = {name: fit_ood_decoders(sampled, latents, method=method, rng=seed)
            for name, method in (("", "lstsq"), ("ridge_", "ridge_cv"))}
    names = {"": ("r2_paper", "r2", "angle", "id_r2_paper", "id_r2"), "ridge_": ("r2_paper", "id_r2_paper", "alpha")}
    result = xr.Dataset({prefix + name: fits[prefix][name].reset_coords(drop=True)
                         for prefix, keep in names.items() for name in keep})
    result = result.rename({TIME: "duration"}).assign_coords(n_samples=("duration", [t + 1 for t in durations]))
    result["ceiling"] = ("duration", [r2_ceiling(task.sigma, t, free_rt=True) for t in durations])
    result["ceiling"].attrs["long_name"] = "1 - sigma^2 / ((T + 1) Var x): the ideal observer's r2_paper"
    result["duration"].attrs["long_name"] = "stimulus steps T before the decision step (T + 1 samples)"
    result.attrs.update(sigma=task.sigma, free_rt=1, eval_trials=n_trials, trained_task=task.name,
                        read_from_step=first)
    return result


def train_and_time(configs: list[dict[str, Any]], run_dirs: list[str], report: Report, *,
                   device: str = "cpu") -> list[xr.Dataset]:
    """Train one group of networks and measure each with :func:`measure_free_rt` (a job).

    :func:`~neurodis.sweeps.jobs.run_group` (training on ``device``) with
    ``eval_trials`` trials and :data:`DURATIONS`.
    """
    return run_group(configs, run_dirs, report, _free_rt, device=device)


def _free_rt(network: TrainedNetwork, config: RunConfig) -> xr.Dataset:
    return measure_free_rt(network, n_trials=config.eval_trials, seed=config.seed, durations=DURATIONS)


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
