"""Simulated sessions out to Neurodata Without Borders (NWB) files.

:func:`save_nwb` writes a trials Dataset as one NWB session on the clock of
:func:`~neurodis.recordings.session.session_times` (seconds in the file, one empty step
between trials):

- ``processing["network"]``: one ``TimeSeries`` per ``(trial, time, channel)`` variable
  (``rates``, ``outputs``, ``inputs``, ``targets``). They are derived data (a model's
  state, not a measurement), hence a processing module rather than ``acquisition``;
  ``rates`` holds the explicit sample timestamps and the others link to them.
- ``units`` (optional): Poisson spikes drawn from the rates with a seeded ``rng``
  (:func:`~neurodis.recordings.session.poisson_spikes`), readable by
  :func:`~neurodis.recordings.load_nwb` and pynapple.
- ``trials``: start and stop times, the trial coords (conditions) and one
  ``latent_<name>`` column per latent dimension.
- Provenance: ``was_generated_by`` names neurodis and its version; ``notes`` holds JSON
  with the task name, task config, seeds and the spike parameters.

pynwb is an optional dependency (``pip install neurodis[nwb]``), imported when a file is
written.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_dims, check_rng, check_type, rng_provenance
from neurodis._version import __version__
from neurodis.files import atomic_write, check_path
from neurodis.recordings.nwb import _import_pynwb
from neurodis.recordings.session import poisson_spikes, session_times, trial_columns
from neurodis.trials import LATENT, TIME, TRIAL, UNIT

__all__ = ["save_nwb"]

#: Variables written as TimeSeries, with their descriptions.
_SERIES = {
    "rates": "network unit rates (trial, time, unit) laid end to end on the session clock",
    "outputs": "network readout",
    "inputs": "network input channels",
    "targets": "target outputs of the task",
}


def _column_values(values: np.ndarray) -> np.ndarray:
    """Trial-table values NWB can hold: numbers as they are, anything else as str."""
    return values if values.dtype.kind in "biuf" else values.astype(str)


def _provenance(trials: xr.Dataset, spikes: dict[str, Any] | None) -> str:
    keys = ("task", "config", "seed", "rng_state", "dt", "tau", "neurodis_version")
    record = {key: trials.attrs[key] for key in keys if key in trials.attrs}
    record = {key: value.item() if isinstance(value, np.generic) else value for key, value in record.items()}
    record.update(writer=f"neurodis {__version__}", layout="trial k starts at k*(n_steps+1)*dt; one empty step "
                  "separates trials", spikes=spikes or "none")
    return json.dumps(record, sort_keys=True)


def save_nwb(
    trials: xr.Dataset,
    path: str | os.PathLike,
    *,
    spikes: bool = False,
    rate_scale_hz: float = 50.0,
    rng: Any = None,
    session_start_time: datetime | None = None,
    identifier: str | None = None,
    session_description: str | None = None,
) -> Path:
    """Write simulated trials as an NWB session.

    Parameters
    ----------
    trials : xarray.Dataset
        A simulated trials Dataset with ``rates (trial, time, unit)`` (for instance from
        :func:`neurodis.simulate`); ``outputs``, ``inputs``, ``targets`` and ``latents``
        are written too when present.
    path : path-like
        Target ``.nwb`` file, written atomically.
    spikes : bool
        Also write Poisson spikes drawn from the rates to the ``units`` table.
    rate_scale_hz : float
        Spikes/s of a unit at rate 1 (see :func:`~neurodis.recordings.session.poisson_spikes`).
    rng : int, Generator or None
        Randomness of the spikes; its seed is recorded in the file's ``notes``.
    session_start_time : datetime, optional
        Timezone-aware start of the session; default now (UTC).
    identifier : str, optional
        Unique identifier of the file; default a random UUID.
    session_description : str, optional
        Default names the task.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``trials`` is not a Dataset or ``session_start_time`` is not a datetime.
    ValueError
        If ``rates`` is missing or has other dims, ``session_start_time`` has no timezone,
        ``path`` is a folder, or ``rate_scale_hz`` is not positive.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from neurodis.simulator import CTRNNWeights, simulate
    >>> weights = CTRNNWeights.random(n_inputs=2, n_units=4, n_outputs=1, rng=0)
    >>> rates = simulate(weights, np.ones((3, 5, 2)))
    >>> save_nwb(rates, pathlib.Path(tempfile.mkdtemp()) / "run.nwb", spikes=True, rng=0).name
    'run.nwb'
    """
    check_type("trials", trials, xr.Dataset, "an xarray.Dataset")
    if "rates" not in trials.data_vars:
        raise ValueError(f"trials must contain 'rates' (simulate the trials first); got {list(trials.data_vars)}")
    check_dims("trials['rates']", trials["rates"], (TRIAL, TIME, UNIT))
    path = check_path("path", path, kind="file")
    if session_start_time is None:
        session_start_time = datetime.now(UTC)
    check_type("session_start_time", session_start_time, datetime, "a datetime")
    if session_start_time.tzinfo is None:
        raise ValueError(f"session_start_time must be timezone-aware (NWB requires it); got {session_start_time}")
    start_ms, stop_ms, sample_ms = session_times(trials)
    spike_record = None
    if spikes:
        generator = check_rng(rng)
        seeds = rng_provenance(rng, generator)
        spike_times = poisson_spikes(trials, rate_scale_hz=rate_scale_hz, rng=generator)
        spike_record = {"rate_scale_hz": float(rate_scale_hz), **seeds}
    pynwb = _import_pynwb()
    task = str(trials.attrs.get("task", "unknown task"))
    nwbfile = pynwb.NWBFile(
        session_description=session_description or f"neurodis simulation of the {task} task",
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=session_start_time,
        notes=_provenance(trials, spike_record),
        was_generated_by=[("neurodis", __version__)],
        experiment_description=f"rate network simulated by neurodis {__version__}",
        keywords=["neurodis", "simulation", "recurrent neural network"],
        # NWB and DANDI require a subject with a sex and an age: here the simulated network,
        # sex "O" (other: not an animal), created at the start of the session; no species
        subject=pynwb.file.Subject(subject_id="network", description="simulated rate network, no animal",
                                   sex="O", date_of_birth=session_start_time),
    )
    module = nwbfile.create_processing_module(name="network", description="simulated network activity")
    timestamps_s = sample_ms.ravel() / 1000.0
    first = None
    for name, description in _SERIES.items():
        if name not in trials.data_vars:
            continue
        da = trials[name]
        data = da.values.reshape(-1, da.shape[2])
        channel_names = ", ".join(str(c) for c in da[da.dims[2]].values)
        series = pynwb.TimeSeries(
            name=name, data=data, unit=str(da.attrs.get("units", "n/a")), timestamps=timestamps_s if first is None else first,
            description=f"{description}; columns: {da.dims[2]} {channel_names}",
        )
        module.add(series)
        first = series if first is None else first
    if spikes:
        # spike times are continuous draws (float64 seconds): no acquisition clock limits them
        nwbfile.units = pynwb.misc.Units(name="units", description="Poisson spikes drawn from the rates",
                                         resolution=1e-9)
        nwbfile.add_unit_column(name="unit_label", description="the neurodis unit coord of the simulated unit")
        for label, times_ms in zip(trials[UNIT].values, spike_times):
            nwbfile.add_unit(spike_times=times_ms / 1000.0, unit_label=str(label))
    _add_trials(nwbfile, trials, start_ms / 1000.0, stop_ms / 1000.0)
    return atomic_write(path, lambda tmp: _write(pynwb, nwbfile, tmp))


def _add_trials(nwbfile: Any, trials: xr.Dataset, start_s: np.ndarray, stop_s: np.ndarray) -> None:
    if "latents" in trials.data_vars:
        check_dims("trials['latents']", trials["latents"], (TRIAL, LATENT))
    columns = {name: _column_values(values) for name, values in trial_columns(trials).items()}
    descriptions = {
        name: str(trials[name].attrs.get("long_name", f"trial condition {name}")) if name in trials.coords
        else f"ground-truth latent variable {name.removeprefix('latent_')}" for name in columns
    }
    for name, description in descriptions.items():
        nwbfile.add_trial_column(name=name, description=description)
    for k in range(len(start_s)):
        nwbfile.add_trial(start_time=float(start_s[k]), stop_time=float(stop_s[k]),
                          **{name: values[k] for name, values in columns.items()})


def _write(pynwb: Any, nwbfile: Any, tmp: Path) -> None:
    with warnings.catch_warnings():  # atomic_write's temporary name ends in .tmp, not .nwb
        warnings.filterwarnings("ignore", "The file path provided", UserWarning)
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
