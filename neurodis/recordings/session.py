"""Simulated trials laid out on one session clock, for the formats that expect a session.

NWB and pynapple hold a session: one time axis in seconds with trials as intervals on
it. neurodis holds trials as a ``(trial, time, …)`` array with ``time`` in ms from each
trial's start. :func:`session_times` fixes one layout used by every export: trial ``k``
starts at ``k · (n_steps + 1) · dt`` ms, so one empty step separates consecutive trials
(pynapple shortens intervals that touch, and a gap keeps each trial its full length).
:func:`poisson_spikes` draws spike times from the rates on that clock.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_dims, check_real, check_rng, check_type
from neurodis.trials import LATENT, TIME, TRIAL, UNIT

__all__ = ["poisson_spikes", "session_times", "trial_columns"]


def session_times(trials: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each trial and each sample of ``trials`` lies on the session clock, in ms.

    Parameters
    ----------
    trials : xarray.Dataset
        A trials Dataset: ``time`` in ms on a ``dt`` grid and ``attrs["dt"]``.

    Returns
    -------
    start_ms, stop_ms : ndarray, shape (trial,)
        Trial ``k`` spans ``[start_ms[k], stop_ms[k])``, ``n_steps · dt`` long.
    sample_ms : ndarray, shape (trial, time)
        Session time of each sample: its trial's start plus ``time`` from the trial start.

    Raises
    ------
    TypeError
        If ``trials`` is not a Dataset.
    ValueError
        If it lacks ``dt`` or a ``trial``/``time`` dim.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(coords={"trial": [0, 1], "time": [0.0, 10.0, 20.0]}, attrs={"dt": 10.0})
    >>> start, stop, sample = session_times(ds)
    >>> start.tolist(), stop.tolist(), sample[1].tolist()
    ([0.0, 40.0], [30.0, 70.0], [40.0, 50.0, 60.0])
    """
    check_type("trials", trials, xr.Dataset, "an xarray.Dataset")
    check_dims("trials", trials, (TRIAL, TIME), exact=False)
    if "dt" not in trials.attrs:
        raise ValueError("trials.attrs must contain 'dt' (the Euler step in ms); it is missing")
    dt = check_real("trials.attrs['dt']", trials.attrs["dt"], minimum=0.0, strict_minimum=True)
    n_trials, n_steps = trials.sizes[TRIAL], trials.sizes[TIME]
    start_ms = np.arange(n_trials, dtype=np.float64) * (n_steps + 1) * dt
    offsets = trials[TIME].values.astype(np.float64) - float(trials[TIME].values[0])
    return start_ms, start_ms + n_steps * dt, start_ms[:, None] + offsets[None, :]


def poisson_spikes(
    trials: xr.Dataset, *, rate_scale_hz: float = 50.0, rng: Any = None, variable: str = "rates"
) -> list[np.ndarray]:
    """Poisson spike times of every unit, drawn from the rates, on the session clock.

    In step ``i`` of trial ``k`` unit ``n`` fires ``Poisson(max(r, 0) · rate_scale_hz · dt /
    1000)`` spikes, each at a uniform time within the step. Network rates are
    dimensionless activations, so ``rate_scale_hz`` sets the firing rate of a unit at
    rate 1; negative rates (of tanh units) fire no spikes.

    Parameters
    ----------
    trials : xarray.Dataset
        With ``variable (trial, time, unit)`` and ``attrs["dt"]`` in ms.
    rate_scale_hz : float
        Spikes/s at rate 1 (> 0).
    rng : int, Generator or None
        Randomness; the same seed gives the same spikes.
    variable : str
        The variable holding the rates.

    Returns
    -------
    list of ndarray
        One sorted float64 array of spike times (ms, session clock of
        :func:`session_times`) per unit, in the order of the ``unit`` coord.

    Raises
    ------
    ValueError
        If ``variable`` is missing or does not have dims ``(trial, time, unit)``, or
        ``rate_scale_hz`` is not positive.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"rates": (("trial", "time", "unit"), np.ones((2, 5, 3)))},
    ...                 coords={"time": np.arange(5) * 10.0}, attrs={"dt": 10.0})
    >>> spikes = poisson_spikes(ds, rate_scale_hz=20.0, rng=0)
    >>> len(spikes), all(np.all(np.diff(s) >= 0) for s in spikes)
    (3, True)
    """
    rate_scale_hz = check_real("rate_scale_hz", rate_scale_hz, minimum=0.0, strict_minimum=True)
    _, _, sample_ms = session_times(trials)
    if variable not in trials.data_vars:
        raise ValueError(f"trials must contain the variable {variable!r}; got {list(trials.data_vars)}")
    check_dims(f"trials[{variable!r}]", trials[variable], (TRIAL, TIME, UNIT))
    generator = check_rng(rng)
    dt = float(trials.attrs["dt"])
    rates_bxtxn = np.clip(trials[variable].values.astype(np.float64), 0.0, None)
    counts_bxtxn = generator.poisson(rates_bxtxn * rate_scale_hz * dt / 1000.0)
    spikes = []
    for n in range(counts_bxtxn.shape[2]):
        counts = counts_bxtxn[:, :, n].ravel()
        times = np.repeat(sample_ms.ravel(), counts) + generator.uniform(0.0, dt, size=int(counts.sum()))
        spikes.append(np.sort(times))
    return spikes


def trial_columns(trials: xr.Dataset) -> dict[str, np.ndarray]:
    """One value per trial for a trials table: every coord on ``trial`` (but ``trial``
    itself) and ``latent_<name>`` for each column of ``latents (trial, latent)``."""
    columns = {str(name): c.values for name, c in trials.coords.items() if c.dims == (TRIAL,) and name != TRIAL}
    if "latents" in trials.data_vars and trials["latents"].dims == (TRIAL, LATENT):
        for j, latent in enumerate(trials[LATENT].values):
            columns[f"latent_{latent}"] = trials["latents"].values[:, j]
    return columns
