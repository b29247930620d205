"""Conversion to and from pynapple (``TsdFrame``, ``TsGroup``, ``IntervalSet``).

pynapple holds a session on one clock in seconds; neurodis holds ``(trial, time, …)``
arrays with ``time`` in ms from each trial's start. :func:`to_pynapple` lays the trials
on the clock of :func:`~neurodis.recordings.session.session_times` (the layout of
:func:`~neurodis.recordings.save_nwb`, so ``pynapple.load_file`` on a saved session
gives the same objects), with an ``IntervalSet`` of trial epochs carrying the trial
coords and latents as metadata. :func:`from_pynapple` cuts a ``TsdFrame`` (or bins a
``TsGroup``) back into trials, one per epoch.

pynapple is an optional dependency (``pip install neurodis[pynapple]``), imported when a
conversion runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_dims, check_real, check_type
from neurodis.recordings.arrays import bin_spikes
from neurodis.recordings.session import session_times, trial_columns
from neurodis.trials import TIME, TIME_ATTRS, TRIAL, UNIT, time_coord

__all__ = ["from_pynapple", "to_pynapple"]

#: Relative tolerance on sample spacing: pynapple stores times rounded to 1 ns.
_RTOL = 1e-6


def _import_pynapple() -> Any:
    try:
        import pynapple
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("neurodis's pynapple conversions need pynapple; install it with "
                          "`pip install neurodis[pynapple]`") from err
    return pynapple


def to_pynapple(
    trials: xr.Dataset, *, variable: str = "rates", spikes: Sequence[np.ndarray] | None = None
) -> dict[str, Any]:
    """pynapple objects of a trials Dataset, trials laid end to end on one clock in seconds.

    Parameters
    ----------
    trials : xarray.Dataset
        With ``variable (trial, time, channel)`` and ``attrs["dt"]`` in ms.
    variable : str
        The variable to convert (``rates``, ``outputs``, ``inputs``, …).
    spikes : sequence of ndarray, optional
        Spike times in ms on the session clock, one array per unit in the order of the
        ``unit`` coord, e.g. from :func:`~neurodis.recordings.session.poisson_spikes`.

    Returns
    -------
    dict
        ``trials``: ``IntervalSet`` of the trial epochs, with the trial coords and
        ``latent_<name>`` columns as metadata; ``variable``: ``TsdFrame`` (columns: the
        channel coord) restricted to the epochs; ``units``: ``TsGroup`` of the spikes
        (keys: the ``unit`` coord) when ``spikes`` is given. The keys match those
        ``pynapple.load_file`` gives for a file written by :func:`~neurodis.recordings.save_nwb`.

    Raises
    ------
    ValueError
        If ``variable`` is missing or is not ``(trial, time, channel)``, or ``spikes`` does
        not hold one array per unit.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"rates": (("trial", "time", "unit"), np.ones((2, 3, 4)))},
    ...                 coords={"time": [0.0, 10.0, 20.0], "quadrant": ("trial", [1, 3])}, attrs={"dt": 10.0})
    >>> out = to_pynapple(ds)
    >>> out["rates"].shape, out["trials"].start.tolist(), out["trials"]["quadrant"].tolist()
    ((6, 4), [0.0, 0.04], [1, 3])
    """
    check_type("trials", trials, xr.Dataset, "an xarray.Dataset")
    if variable not in trials.data_vars:
        raise ValueError(f"trials must contain the variable {variable!r}; got {list(trials.data_vars)}")
    da = trials[variable]
    check_dims(f"trials[{variable!r}]", da, (TRIAL, TIME), exact=False)
    if da.ndim != 3:
        raise ValueError(f"trials[{variable!r}] must have dims (trial, time, channel); got {da.dims}")
    nap = _import_pynapple()
    start_ms, stop_ms, sample_ms = session_times(trials)
    epochs = nap.IntervalSet(start=start_ms / 1000.0, end=stop_ms / 1000.0, metadata=trial_columns(trials))
    frame = nap.TsdFrame(t=sample_ms.ravel() / 1000.0, d=da.values.reshape(-1, da.shape[2]),
                         columns=list(da[da.dims[2]].values), time_support=epochs)
    out = {"trials": epochs, variable: frame}
    if spikes is not None:
        n_units = trials.sizes.get(UNIT, 0)
        if len(spikes) != n_units:
            raise ValueError(f"spikes must hold one array per unit ({n_units} units in trials); got {len(spikes)}")
        out["units"] = nap.TsGroup(
            {int(u): nap.Ts(t=np.asarray(times, dtype=np.float64) / 1000.0, time_support=epochs)
             for u, times in zip(trials[UNIT].values, spikes)},
            time_support=epochs,
        )
    return out


def _trial_coords(epochs: Any) -> dict[str, np.ndarray]:
    return {str(name): np.asarray(epochs[name]) for name in epochs.metadata_columns}


def from_pynapple(data: Any, epochs: Any, *, bin_ms: float | None = None, name: str | None = None) -> xr.Dataset:
    """Trials from pynapple: a ``TsdFrame`` cut into epochs, or a ``TsGroup`` binned in them.

    Parameters
    ----------
    data : pynapple.TsdFrame or pynapple.TsGroup
        Samples on one clock (s), or spike times per unit.
    epochs : pynapple.IntervalSet
        One interval per trial, all of one duration; their metadata become trial coords.
    bin_ms : float, optional
        Bin width in ms; required for a ``TsGroup``, unused for a ``TsdFrame`` (whose
        sample spacing gives ``dt``).
    name : str, optional
        Name of the returned variable; default ``rates`` for a ``TsdFrame``, ``counts``
        for a ``TsGroup``.

    Returns
    -------
    xarray.Dataset
        ``name (trial, time, unit)`` with ``time`` in ms from each epoch's start and
        ``attrs["dt"]`` the step in ms, or spike counts per bin (see
        :func:`~neurodis.recordings.bin_spikes`) with ``unit`` the ``TsGroup`` keys.

    Raises
    ------
    TypeError
        If ``data`` is neither a ``TsdFrame`` nor a ``TsGroup``, or ``epochs`` is not an
        ``IntervalSet``.
    ValueError
        If the epochs differ in duration or hold different numbers of samples, the
        samples are not evenly spaced, or ``bin_ms`` is missing for a ``TsGroup``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"rates": (("trial", "time", "unit"), np.arange(12.0).reshape(2, 3, 2))},
    ...                 coords={"time": [0.0, 10.0, 20.0]}, attrs={"dt": 10.0})
    >>> out = to_pynapple(ds)
    >>> back = from_pynapple(out["rates"], out["trials"])
    >>> bool((back["rates"] == ds["rates"]).all()), back.attrs["dt"]
    (True, 10.0)
    """
    nap = _import_pynapple()
    check_type("epochs", epochs, nap.IntervalSet, "a pynapple.IntervalSet")
    durations_ms = (np.asarray(epochs.end) - np.asarray(epochs.start)) * 1000.0
    if len(durations_ms) == 0 or not np.allclose(durations_ms, durations_ms[0], rtol=_RTOL, atol=0):
        raise ValueError(f"epochs must be one or more intervals of one duration; got durations (ms) "
                         f"{np.round(durations_ms[:5], 6).tolist()}")
    if isinstance(data, nap.TsGroup):
        if bin_ms is None:
            raise ValueError("bin_ms must be given to bin the spikes of a TsGroup; got None")
        bin_ms = check_real("bin_ms", bin_ms, minimum=0.0, strict_minimum=True)
        n_bins = int(np.floor(durations_ms[0] / bin_ms * (1 + _RTOL)))
        units = list(data.keys())
        ds = bin_spikes([data[k].t for k in units], np.asarray(epochs.start), start_ms=0.0,
                        stop_ms=n_bins * bin_ms, bin_ms=bin_ms, unit_ids=units,
                        trial_coords=_trial_coords(epochs))
        return ds.rename({"counts": name}) if name else ds
    check_type("data", data, nap.TsdFrame, "a pynapple.TsdFrame or TsGroup")
    pieces = [data.restrict(epochs[k]) for k in range(len(epochs))]
    lengths = sorted({len(p) for p in pieces})
    if len(lengths) != 1 or lengths[0] < 2:
        raise ValueError(f"data must hold the same number (at least 2) of samples in every epoch; got {lengths}")
    offsets_ms = (pieces[0].t - epochs.start[0]) * 1000.0
    steps_ms = np.diff(offsets_ms)
    if not np.allclose(steps_ms, steps_ms[0], rtol=_RTOL, atol=0):
        raise ValueError(f"data must be sampled evenly; got steps (ms) {np.round(steps_ms[:5], 6).tolist()}")
    dt = float(np.round(steps_ms[0], 9))  # pynapple keeps times to 1 ns
    ds = xr.Dataset(
        {name or "rates": ((TRIAL, TIME, UNIT), np.stack([p.values for p in pieces]))},
        coords={TRIAL: np.arange(len(pieces)), TIME: time_coord(lengths[0], dt) + float(np.round(offsets_ms[0], 9)),
                UNIT: np.asarray(data.columns), **{k: (TRIAL, v) for k, v in _trial_coords(epochs).items()}},
        attrs={"dt": dt},
    )
    ds[TIME].attrs.update(TIME_ATTRS)
    return ds
