"""Loaders for the three real datasets kept beside the project (never inside it).

The data live in a folder outside the package (their licences differ from the
project's; the LIP data are GPL-3.0), with one sub-folder per dataset:

=========================  ==========================================================
``yates_lip_pulses/``      macaque LIP spike counts on a 7-pulse motion task
``hatsopoulos_m1_reach/``  macaque M1 condition-averaged rates, 8 reach directions
``golub_bci_m1/``          macaque M1 BCI spike counts, 8 directions, before/after learning
=========================  ==========================================================

Each file is found by :func:`~neurodis.recordings.registry.locate`: in ``path`` when
given, else in the folder of the environment variable ``NEURODIS_DATA``, else in
``shared/data`` beside or inside the repository, else in the user cache, where it is
downloaded (pooch, ``pip install neurodis[data]``) from its pinned source and checked
against its SHA-256. The registry and each folder's README give the provenance; the
returned Datasets carry source, citation and licence in ``attrs``.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from neurodis._validation import check_int
from neurodis.recordings.arrays import validate_recording
from neurodis.recordings.registry import DATA_ENV, local_dirs, locate
from neurodis.trials import CONDITION, TIME, TRIAL, UNIT

__all__ = [
    "DATA_ENV",
    "data_dir",
    "lip_sessions",
    "load_bci",
    "load_lip_behavior",
    "load_lip_session",
    "load_m1_reach",
]

PULSE = "pulse"
LEARNING = "learning"
SAMPLE = "sample"

_LIP = "yates_lip_pulses"
_M1 = "hatsopoulos_m1_reach"
_BCI = "golub_bci_m1"
_LIP_ATTRS = {
    "citation": "Yates JL, Park IM, Katz LN, Pillow JW, Huk AC (2017) Nat Neurosci 20:1285-1292; "
    "shared by Hyafil A et al. (2023) eLife 12:e84045",
    "license": "GPL-3.0 (data folder's LICENSE-GPL-3.0.txt)",
}


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The folder holding the datasets.

    Parameters
    ----------
    path : path-like, optional
        Explicit folder. Default: ``$NEURODIS_DATA`` if set, else ``../shared/data``
        relative to the repository, else ``shared/data`` inside it.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If the folder does not exist; the message lists where it looked.

    Examples
    --------
    >>> data_dir("/no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: recordings data folder not found; looked in ['/no/such/folder'] ...
    """
    candidates = [Path(path)] if path is not None else local_dirs()
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"recordings data folder not found; looked in {[str(c) for c in candidates]} "
        f"(pass path=... or set the environment variable {DATA_ENV})"
    )


def _data_file(folder: str, name: str, path: str | os.PathLike | None) -> Path:
    return locate(folder, name, path=path)


@functools.lru_cache(maxsize=2)
def _read_lip(file: str, mtime: float) -> dict[str, np.ndarray]:
    """Parse LIP.csv once per file version; arrays are read-only.

    Raises
    ------
    ValueError
        Naming the file, if it is not a header followed by rows of a monkey name and 9
        non-negative integer columns (NeuronIndex, 7 pulses, count).
    """
    expected = "a header, then rows of a monkey name and 9 integers (NeuronIndex, 7 pulses, count)"
    try:
        with warnings.catch_warnings():  # an empty file is reported below, with its name
            warnings.filterwarnings("ignore", "loadtxt: input contained no data", UserWarning)
            numbers = np.loadtxt(file, delimiter=",", skiprows=1, usecols=range(1, 10), dtype=np.int64, ndmin=2)
            monkey = np.loadtxt(file, delimiter=",", skiprows=1, usecols=0, dtype=str, ndmin=1)
    except (ValueError, IndexError) as err:  # numpy's parse errors name neither the file nor the format
        raise ValueError(f"LIP.csv at {file!r} must hold {expected}; it could not be parsed: {err}") from err
    if numbers.shape[0] == 0 or numbers.shape[1] != 9 or np.any(numbers[:, 0] < 0):
        raise ValueError(
            f"LIP.csv at {file!r} must hold {expected}; got {numbers.shape[0]} rows"
            + (" with a negative NeuronIndex" if numbers.size and np.any(numbers[:, 0] < 0) else "")
        )
    unit = numbers[:, 0]
    pulses = numbers[:, 1:8]
    groups: dict[bytes, list[int]] = {}
    for u in np.unique(unit):
        groups.setdefault(pulses[unit == u].tobytes(), []).append(int(u))
    # sessions: units sharing the exact pulse sequence, numbered by their smallest unit id
    session_of = np.empty(unit.max() + 1, dtype=np.int64)
    for s, units in enumerate(sorted(groups.values())):
        session_of[units] = s
    out = {"unit": unit, "pulses": pulses, "counts": numbers[:, 8], "monkey": monkey,
           "session": session_of[unit]}
    for array in out.values():
        array.flags.writeable = False
    return out


def _lip(path: str | os.PathLike | None) -> dict[str, np.ndarray]:
    file = _data_file(_LIP, "LIP.csv", path)
    return _read_lip(str(file), file.stat().st_mtime)


def _pulse_coords(pulses_txp: np.ndarray) -> dict[str, tuple[str, np.ndarray]]:
    """Trial coords ``pulse_1`` … ``pulse_7`` and ``pulse_sum``.

    One 1-D coord per pulse (rather than one 2-D coord) so that the labels travel with
    every ``(trial, …)`` DataArray taken from the Dataset and are checked when a model's
    rates on replayed trials are aligned with the recording.
    """
    coords = {f"pulse_{k + 1}": (TRIAL, pulses_txp[:, k]) for k in range(pulses_txp.shape[1])}
    coords["pulse_sum"] = (TRIAL, pulses_txp.sum(axis=1))
    return coords


def lip_sessions(*, path: str | os.PathLike | None = None) -> xr.Dataset:
    """Summary of the 47 LIP sessions (units recorded together on the same trials).

    Returns
    -------
    xarray.Dataset
        Along ``session``: ``n_units``, ``n_trials``, ``first_unit`` and ``monkey``.

    Raises
    ------
    FileNotFoundError
        If the data folder or ``LIP.csv`` is missing.
    """
    lip = _lip(path)
    sessions = np.unique(lip["session"])
    first = np.array([lip["unit"][lip["session"] == s].min() for s in sessions])
    n_units = np.array([np.unique(lip["unit"][lip["session"] == s]).size for s in sessions])
    n_trials = np.array([np.sum(lip["unit"] == u) for u in first])
    monkey = np.array([lip["monkey"][lip["unit"] == u][0] for u in first])
    return xr.Dataset(
        {"n_units": ("session", n_units), "n_trials": ("session", n_trials),
         "first_unit": ("session", first), "monkey": ("session", monkey)},
        coords={"session": sessions}, attrs=dict(_LIP_ATTRS),
    )


def load_lip_session(session: int, *, path: str | os.PathLike | None = None) -> xr.Dataset:
    """Spike counts of one LIP session as ``counts (trial, unit)`` with the pulses as coords.

    Parameters
    ----------
    session : int
        Session index, 0 … 46, numbered by the smallest unit id it contains
        (see :func:`lip_sessions`).
    path : path-like, optional
        Data folder (see :func:`data_dir`).

    Returns
    -------
    xarray.Dataset
        ``counts (trial, unit)`` (one count per trial, in the window after the pulses)
        and ``pulses (trial, pulse)`` (signed strengths of the 7 pulses), with coords
        ``unit`` (the file's NeuronIndex), ``pulse_1`` … ``pulse_7``, ``pulse_sum`` and
        ``evidence_sign`` (sign of the sum, 0 when it is 0) along ``trial``. The file has no
        choices; the monkeys' choices on this task are in :func:`load_lip_behavior`.

    Raises
    ------
    ValueError
        If ``session`` is out of range, or ``LIP.csv`` is malformed (the message names
        the file).
    FileNotFoundError
        If the data are missing.
    """
    lip = _lip(path)
    session = check_int("session", session, minimum=0, maximum=int(lip["session"].max()))
    rows = lip["session"] == session
    units = np.unique(lip["unit"][rows])
    n_trials = {int(np.sum(rows & (lip["unit"] == u))) for u in units}
    if len(n_trials) > 1:  # units of one session share their pulse sequences, so their trials
        raise ValueError(
            f"LIP.csv session {session} must have the same trials for every unit; got units with "
            f"{sorted(n_trials)} trials (is the file complete?)"
        )
    counts = np.stack([lip["counts"][rows & (lip["unit"] == u)] for u in units], axis=1)
    pulses = lip["pulses"][rows & (lip["unit"] == units[0])]
    ds = xr.Dataset(
        {"counts": ((TRIAL, UNIT), counts), "pulses": ((TRIAL, PULSE), pulses)},
        coords={
            TRIAL: np.arange(counts.shape[0]),
            UNIT: units,
            PULSE: np.arange(1, 8),
            **_pulse_coords(pulses),
            "evidence_sign": (TRIAL, np.sign(pulses.sum(axis=1))),
        },
        attrs={
            **_LIP_ATTRS,
            "source": str(_data_file(_LIP, "LIP.csv", path)),
            "session": session,
            "monkey": str(lip["monkey"][rows][0]),
            "window": "one count per trial; the source analysis uses the 500 ms after stimulus offset",
        },
    )
    return validate_recording(ds, f"LIP session {session}")


def load_lip_behavior(*, path: str | os.PathLike | None = None) -> xr.Dataset:
    """The two monkeys' choices on the 7-pulse task (no neural data).

    Returns
    -------
    xarray.Dataset
        ``choice (trial)`` (0/1) and ``pulses (trial, pulse)``, with coords ``target``
        (correct side, 0/1; NaN on the trials whose pulses sum to 0), ``subject``
        ("N"/"P"), ``session``, ``pulse_1`` … ``pulse_7`` and ``pulse_sum`` along ``trial``.

    Raises
    ------
    FileNotFoundError
        If the data are missing.
    """
    file = _data_file(_LIP, "monkey_behavior.csv", path)
    # target is NaN on trials whose pulses sum to 0 (no correct side), so read floats
    numbers = np.loadtxt(file, delimiter=",", skiprows=1, usecols=(0, 1, *range(3, 11)), dtype=np.float64)
    subject = np.loadtxt(file, delimiter=",", skiprows=1, usecols=2, dtype=str)
    pulses = numbers[:, 3:10].astype(np.int64)
    return xr.Dataset(
        {"choice": (TRIAL, numbers[:, 0].astype(np.int64)), "pulses": ((TRIAL, PULSE), pulses)},
        coords={
            TRIAL: np.arange(numbers.shape[0]),
            PULSE: np.arange(1, 8),
            "target": (TRIAL, numbers[:, 1]),
            "subject": (TRIAL, subject),
            "session": (TRIAL, numbers[:, 2].astype(np.int64)),
            **_pulse_coords(pulses),
        },
        attrs={**_LIP_ATTRS, "source": str(file)},
    )


def load_m1_reach(*, path: str | os.PathLike | None = None) -> xr.Dataset:
    """Condition-averaged M1 rates for 8 reach directions, with kinematics.

    Returns
    -------
    xarray.Dataset
        ``rates (condition, time, unit)`` in spikes/s (141 units, 121 bins of 10 ms from
        -800 to +400 ms around movement onset, 25 ms Gaussian smoothing), ``condition``
        the reach direction in degrees; kinematics ``(condition, time)``: ``hand_x``,
        ``hand_y``, ``hand_vx``, ``hand_vy``, ``shoulder_angle``, ``elbow_angle``
        (arbitrary units and frame); ``movement_duration_mean`` / ``_median`` (ms).

    Raises
    ------
    FileNotFoundError
        If the data are missing.
    """
    file = _data_file(_M1, "hatsopoulos2007_m1_reach_psth.npz", path)
    with np.load(file, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    pairs = {"hand_x": "xhandposition", "hand_y": "yhandposition", "hand_vx": "xhandspeed",
             "hand_vy": "yhandspeed", "shoulder_angle": "shoulderangle", "elbow_angle": "elbowangle"}
    ds = xr.Dataset(
        {
            "rates": ((CONDITION, TIME, UNIT), arrays["firing_rate"].transpose(2, 1, 0)),
            **{name: ((CONDITION, TIME), arrays[key]) for name, key in pairs.items()},
            "movement_duration_mean": (CONDITION, arrays["time_startmovement_to_endmovement_mean"]),
            "movement_duration_median": (CONDITION, arrays["time_startmovement_to_endmovement_median"]),
        },
        coords={
            CONDITION: arrays["reach_direction_deg"],
            TIME: arrays["time_ms"].astype(np.float64),
            UNIT: np.arange(arrays["firing_rate"].shape[0]),
        },
        attrs={
            "source": str(file),
            "citation": "preprocessing: Liu YH, Yang RG, Cueva CJ (2025) ICML; data: Dryad "
            "doi:10.5061/dryad.xsj3tx9cm (Hatsopoulos lab, center-out reaching)",
            "license": "derived from CC0 data; source repository unlicensed (see the folder README)",
            "smoothing": "Gaussian, SD 25 ms; averaged over trials of each direction",
        },
    )
    ds[TIME].attrs.update(units="ms", long_name="time from movement onset")
    ds[CONDITION].attrs["long_name"] = "reach direction (deg)"
    return validate_recording(ds, "M1 reach")


def _stack_clouds(clouds: dict[str, Any], key: str) -> np.ndarray:
    """``(condition, sample, feature)`` from MATLAB cells of ``(feature, sample)``."""
    cells = [np.atleast_2d(np.asarray(c)) for c in clouds[key]]
    sizes = {c.shape for c in cells}
    if len(sizes) != 1:
        raise ValueError(f"BCI clouds[{key!r}] must have one shape in every condition; got {sorted(sizes)}")
    return np.stack(cells).transpose(0, 2, 1)


def load_bci(*, path: str | os.PathLike | None = None) -> xr.Dataset:
    """M1 brain-computer-interface spike counts before and after learning (Golub et al. 2018).

    The 69 samples per condition are 45 ms time steps pooled over 50 trials, not an
    ordered time axis, so their dim is ``sample``, not ``time``; compare before and
    after learning on condition means (``ds.counts.mean("sample")``).

    Returns
    -------
    xarray.Dataset
        ``counts (learning, condition, sample, unit)`` (86 units), ``factor_activity``
        (…, ``factor``), ``cursor_to_target (…, xy)``, ``cursor_progress (learning,
        condition, sample)`` and ``window_trials (learning, window_trial)``; ``learning``
        is ``["before", "after"]``, ``condition`` the cursor-to-target direction (deg).

    Raises
    ------
    FileNotFoundError
        If the data are missing.
    """
    import scipy.io  # only this loader reads MATLAB files

    file = _data_file(_BCI, "exampleData.mat", path)
    mat = scipy.io.loadmat(file, simplify_cells=True)
    phases = {"before": mat["beforeLearning"]["clouds"], "after": mat["afterLearning"]["clouds"]}
    stack = {key: np.stack([_stack_clouds(c, key) for c in phases.values()])
             for key in ("spikes", "factorActivity", "cursorToTargetDirection", "cursorProgress")}
    angles = [np.asarray(c["angles"]) for c in phases.values()]
    if not np.array_equal(angles[0], angles[1]):
        raise ValueError(f"BCI condition angles differ before and after learning: {angles[0]} vs {angles[1]}")
    dims = (LEARNING, CONDITION, SAMPLE)
    ds = xr.Dataset(
        {
            "counts": ((*dims, UNIT), stack["spikes"].astype(np.int64)),
            "factor_activity": ((*dims, "factor"), stack["factorActivity"]),
            "cursor_to_target": ((*dims, "xy"), stack["cursorToTargetDirection"]),
            "cursor_progress": (dims, stack["cursorProgress"][..., 0]),
            "window_trials": ((LEARNING, "window_trial"),
                              np.stack([c["windowIdx"] for c in phases.values()]).astype(np.int64)),
        },
        coords={LEARNING: list(phases), CONDITION: angles[0].astype(np.int64),
                UNIT: np.arange(stack["spikes"].shape[-1]), "xy": ["x", "y"]},
        attrs={
            "source": str(file),
            "citation": "Golub MD et al. (2018) Learning by neural reassociation. Nat Neurosci 21:607-616",
            "license": "BSD-3-Clause (data folder's LICENSE-BSD-3-Clause.txt)",
            "monkey": str(mat["expParams"]["monkName"]),
            "date": str(mat["expParams"]["expDate"]),
            "bin_ms": 45.0,
        },
    )
    ds[CONDITION].attrs["long_name"] = "cursor-to-target direction (deg)"
    return validate_recording(ds, "BCI")
