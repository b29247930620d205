"""The dynamics of a trained network: its noise-free states, fixed points and state-space geometry.

Written once for the ``fixed-points`` and ``geometry`` verbs and the sweep's attractor
job (:func:`~neurodis.sweeps.studies.measure_attractor`), which save, plot or summarise
what these functions return:

* :func:`visited_states`: the noise-free trajectories of the network on given trials
  (the expected path given the inputs; the states the search starts from);
* :func:`attractor`: the fixed and slow points under the zero-evidence input, with
  their spectra, started from visited states;
* :func:`geometry`: the PCA of the visited states, the lifetime sparseness of the units
  at the last step and the fraction of active units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import xarray as xr

from neurodis._validation import check_dims, check_int
from neurodis.trials import TIME, TRIAL, UNIT

if TYPE_CHECKING:
    from neurodis.training import TrainedNetwork

__all__ = ["attractor", "geometry", "visited_states"]


def visited_states(network: TrainedNetwork, trials: xr.Dataset) -> xr.DataArray:
    """The network's noise-free rates on ``trials``: ``rates (trial, time, unit)``.

    Parameters
    ----------
    network : TrainedNetwork
        The network; CTRNNs run in the Numba simulator, other models in torch.
    trials : xarray.Dataset
        Trials sampled with the network's encoder.

    Returns
    -------
    xarray.DataArray
        The rates, float64, with the trials' coords; the ``unit`` dim has no coord
        (units stay anonymous in the files written from it).

    Examples
    --------
    >>> from neurodis.experiments import TrainedNetwork
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> task = make_task("classification", n_tasks=2)
    >>> net = TrainedNetwork(CTRNN(3, 2, n_units=6, seed=0), task, None)
    >>> visited_states(net, task.sample(4, rng=0)).dims
    ('trial', 'time', 'unit')
    """
    from neurodis.experiments.running import run

    return run(network, trials, noise=False)["rates"].drop_vars(UNIT)


def attractor(
    network: TrainedNetwork, rates: xr.DataArray, *, n_inits: int = 128, eigenvectors: bool = True, rng: Any = None
) -> xr.Dataset:
    """Fixed and slow points of ``network`` under its zero-evidence input, with their spectra.

    :func:`~neurodis.experiments.find_fixed_points` of the model driven by
    :func:`~neurodis.experiments.zero_evidence_input` of its task and encoder (fixation on,
    evidence at its null value), started from ``n_inits`` of the visited ``rates``.

    Parameters
    ----------
    network : TrainedNetwork
        A network whose model the search supports (a CTRNN).
    rates : xarray.DataArray
        Visited states ``(trial, time, unit)`` (see :func:`visited_states`).
    n_inits : int
        Starting points of the search.
    eigenvectors : bool
        Keep the eigenvectors of every point's Jacobian.
    rng : int, Generator or None
        Draws the starting points.

    Returns
    -------
    xarray.Dataset
        The points along ``fixed_point`` (see :func:`~neurodis.experiments.find_fixed_points`).

    Raises
    ------
    ValueError
        If ``rates`` lacks the dims ``(trial, time, unit)`` or ``n_inits`` is below 1.

    Examples
    --------
    >>> from neurodis.experiments import TrainedNetwork
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> task = make_task("classification", n_tasks=2)
    >>> net = TrainedNetwork(CTRNN(3, 2, n_units=6, seed=0), task, None)
    >>> found = attractor(net, visited_states(net, task.sample(8, rng=0)), n_inits=4, rng=0)
    >>> found.attrs["n_inits"], found["states"].dims
    (4, ('fixed_point', 'unit'))
    """
    from neurodis.experiments.fixed_points import find_fixed_points, zero_evidence_input

    check_dims("rates", rates, (TRIAL, TIME, UNIT))
    n_inits = check_int("n_inits", n_inits, minimum=1)
    return find_fixed_points(network.model, zero_evidence_input(network.task, network.encoder), states=rates,
                             n_inits=n_inits, eigenvectors=eigenvectors, rng=rng)


def geometry(rates: xr.DataArray) -> xr.Dataset:
    """The state-space geometry of visited states: PCA, lifetime sparseness and activity.

    Parameters
    ----------
    rates : xarray.DataArray
        Visited states ``(trial, time, unit)`` (see :func:`visited_states`).

    Returns
    -------
    xarray.Dataset
        The :func:`~neurodis.analysis.pca` over trials and time (``explained_variance_ratio
        (component)``, ``participation_ratio``, ``projections``, ...), with ``sparseness
        (unit)`` and ``mean_sparseness``: the lifetime sparseness over trials of the
        states at the last step (NaN for silent units; attrs ``n_stimuli``,
        ``n_silent``), and ``mean_rate (unit)`` and ``fraction_active`` of
        :func:`~neurodis.analysis.fraction_active`; attrs ``state_time`` = ``"final step"``.

    Raises
    ------
    ValueError
        If ``rates`` lacks the dims ``(trial, time, unit)``.

    Examples
    --------
    >>> from neurodis.experiments import TrainedNetwork
    >>> from neurodis.models import CTRNN
    >>> from neurodis.tasks import make_task
    >>> task = make_task("classification", n_tasks=2)
    >>> net = TrainedNetwork(CTRNN(3, 2, n_units=6, seed=0), task, None)
    >>> result = geometry(visited_states(net, task.sample(8, rng=0)))
    >>> result["sparseness"].dims, float(result["explained_variance_ratio"].sum()) > 0.99
    (('unit',), True)
    """
    from neurodis.analysis import fraction_active, lifetime_sparseness, pca

    check_dims("rates", rates, (TRIAL, TIME, UNIT))
    components = pca(rates)
    sparseness = lifetime_sparseness(rates.isel({TIME: -1}, drop=True), silent="nan")
    active = fraction_active(rates)
    result = components.assign(
        sparseness=sparseness["sparseness"], mean_sparseness=sparseness["mean_sparseness"],
        mean_rate=active["mean_rate"], fraction_active=active["fraction_active"],
    )
    result.attrs.update(n_stimuli=sparseness.attrs["n_stimuli"], n_silent=sparseness.attrs["n_silent"],
                        state_time="final step")
    return result
