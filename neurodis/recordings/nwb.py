"""Recordings from Neurodata Without Borders (NWB) files.

NWB keeps spike times per unit in the ``Units`` table (``nwbfile.units``, column
``spike_times``, seconds) and trial intervals with their labels in the ``trials``
table (``start_time``, ``stop_time`` and any extra columns). :func:`load_nwb` bins the
spikes of every unit around one event per trial into ``counts (trial, time, unit)``
and keeps the trials table's 1-D columns as trial coords. pynwb is an optional
dependency (``pip install neurodis[nwb]``), imported only when a file is read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodis.recordings.arrays import bin_spikes, check_window

__all__ = ["load_nwb"]

_INTERVAL_COLUMNS = ("start_time", "stop_time")


def _import_pynwb() -> Any:
    try:
        import pynwb
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError("load_nwb needs pynwb; install it with `pip install neurodis[nwb]`") from err
    return pynwb


def _trial_labels(trials: Any, columns: Sequence[str] | None, path: Path) -> dict[str, np.ndarray]:
    available = [c for c in trials.colnames if c not in _INTERVAL_COLUMNS]
    if columns is None:
        columns = available
    missing = [c for c in columns if c not in available]
    if missing:
        raise ValueError(
            f"trial_columns {missing} are not columns of the trials table of {str(path)!r}; "
            f"available: {available}"
        )
    labels = {}
    for name in columns:
        values = np.asarray(trials[name].data[:])
        if values.ndim == 1 and values.dtype.kind in "biufUSO":
            labels[name] = values.astype(str) if values.dtype.kind in "SO" else values
    return labels


def load_nwb(
    path: str | os.PathLike,
    *,
    start_ms: float,
    stop_ms: float,
    bin_ms: float,
    align_to: str = "start_time",
    trial_columns: Sequence[str] | None = None,
) -> xr.Dataset:
    """Bin the spikes of an NWB file's units around each trial.

    Parameters
    ----------
    path : path-like
        NWB (HDF5) file with a ``Units`` table holding ``spike_times`` and a ``trials``
        table.
    start_ms, stop_ms, bin_ms : float
        Window around the alignment time and bin width, in ms (see
        :func:`~neurodis.recordings.bin_spikes`).
    align_to : str
        Column of the trials table giving each trial's alignment time in seconds
        (default the trial start).
    trial_columns : sequence of str, optional
        Trial-table columns kept as trial coords (default every 1-D column other than
        the start and stop times).

    Returns
    -------
    xarray.Dataset
        ``counts (trial, time, unit)`` with ``unit`` the Units table ids and attrs
        ``source``, ``identifier``, ``session_description``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If the window (``start_ms``, ``stop_ms``, ``bin_ms``) is invalid (checked before
        the file is read), or the file has no Units table, no ``spike_times`` column, no
        trials table, or lacks the ``align_to`` or requested columns (the message names
        what is missing).

    Examples
    --------
    >>> load_nwb("missing.nwb", start_ms=0, stop_ms=100, bin_ms=10)
    Traceback (most recent call last):
    ...
    FileNotFoundError: path must be an existing NWB file; got 'missing.nwb'
    """
    check_window(start_ms, stop_ms, bin_ms)  # before reading a large file
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path must be an existing NWB file; got {str(path)!r}")
    pynwb = _import_pynwb()
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        units, trials = nwbfile.units, nwbfile.trials
        if units is None or len(units) == 0:
            raise ValueError(f"{str(path)!r} has no Units table with units (nwbfile.units); load_nwb needs spike times")
        if "spike_times" not in units.colnames:
            raise ValueError(
                f"the Units table of {str(path)!r} has no 'spike_times' column; columns: {list(units.colnames)}"
            )
        if trials is None or len(trials) == 0:
            raise ValueError(f"{str(path)!r} has no trials table with trials (nwbfile.trials); "
                             "load_nwb needs trial times")
        if align_to not in trials.colnames:
            raise ValueError(
                f"align_to must be a column of the trials table of {str(path)!r}; got {align_to!r} "
                f"(columns: {list(trials.colnames)})"
            )
        spikes = [np.asarray(units.get_unit_spike_times(i), dtype=np.float64) for i in range(len(units))]
        return bin_spikes(
            spikes,
            np.asarray(trials[align_to].data[:], dtype=np.float64),
            start_ms=start_ms,
            stop_ms=stop_ms,
            bin_ms=bin_ms,
            unit_ids=np.asarray(units.id.data[:]),
            trial_coords=_trial_labels(trials, trial_columns, path),
            attrs={
                "source": str(path),
                "identifier": str(nwbfile.identifier),
                "session_description": str(nwbfile.session_description),
                "align_to": align_to,
            },
        )
